//! The serial console transport against real shells on local
//! pseudo-terminals: echo, CRLF, prompts, a scripted `login:` exchange,
//! noise written to the terminal while output is in flight, a line that
//! never answers and one that drops mid-command.

use std::time::Duration;

use super::protocol::Timeouts;
use super::session::{Login, SerialExec};
use crate::transport::command::Secret;
use crate::transport::{Connection, ErrorKind, PathKind, Transport};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn quick() -> Timeouts {
    Timeouts {
        wake: Duration::from_secs(6),
        login: Duration::from_secs(8),
        step: Duration::from_secs(10),
        settle: Duration::from_millis(300),
    }
}

async fn open(command: &str, login: Login) -> Result<Box<dyn Transport>, (ErrorKind, String)> {
    let exec = SerialExec::open(command, login, quick()).await?;
    Ok(Box::new(Connection::new(
        "tty1",
        PathKind::Console,
        exec,
        None,
    )))
}

/// An interactive `sh` on a terminal of its own in the usual cooked mode
/// (echo, CRLF, Ctrl-C), as a getty leaves a serial line: `script` makes the
/// terminal (copying the mode of sshfix's raw one, hence `stty sane`).
const SHELL: &str = "script -qfc 'stty sane; exec sh -i' /dev/null";

fn fake_login() -> String {
    format!(
        "script -qfc {} /dev/null",
        crate::transport::quote::quote(FAKE_LOGIN, "t").unwrap()
    )
}

/// A pretend `login` in front of an interactive `sh`: prompts like Debian's
/// (an empty name gets the `login:` prompt again, as agetty does, so sshfix's
/// waking Enter may arrive before or after the prompt), echo off for the
/// password, "Login incorrect" and a new prompt on failure.
const FAKE_LOGIN: &str = r#"stty sane; printf '\r\nDebian GNU/Linux 12 box ttyS0\r\n\r\n'; u=; while [ -z "$u" ]; do printf 'box login: '; read u || exit; u=$(printf %s "$u" | tr -d '\r'); done; stty -echo; printf 'Password: '; read p; stty echo; printf '\r\n'; if [ "$u" = ops ] && [ "$p" = 'pa$$ word' ]; then printf 'Linux box 6.1.0\r\nNote: ssh says Permission denied for old keys\r\n'; PS1='ops@box:~$ ' exec sh -i; fi; sleep 1; printf '\r\nLogin incorrect\r\nbox login: '; read u; sleep 30"#;

fn login(pw: &str) -> Login {
    Login {
        user: Some("ops".into()),
        password: Some(Secret::new(pw)),
    }
}

#[test]
fn runs_commands_with_exact_stdin_stdout_stderr_and_status() {
    rt().block_on(async {
        let t = open(SHELL, Login::default()).await.unwrap();
        assert_eq!(t.kind(), "console-serial");
        let stdin = b"hello\x00world\r\n\xff\xfe no newline";
        let out = t
            .run(
                "printf 'out:'; cat; printf 'err-line\\n' >&2; exit 7",
                stdin,
                Duration::from_secs(20),
            )
            .await
            .unwrap();
        let mut want = b"out:".to_vec();
        want.extend_from_slice(stdin);
        assert_eq!(out.stdout, want);
        assert_eq!(out.stderr, b"err-line\n");
        assert_eq!(out.status, Some(7));
        // many commands, output without a final newline
        for i in 0..30 {
            let out = t
                .run(
                    "printf 'line-%s\\n' 1 2; echo err >&2; printf tail",
                    b"",
                    Duration::from_secs(20),
                )
                .await
                .unwrap();
            assert_eq!(
                (out.stdout.as_slice(), out.stderr.as_slice(), out.status),
                (&b"line-1\nline-2\ntail"[..], &b"err\n"[..], Some(0)),
                "run {i}"
            );
        }
        // a larger transfer both ways (several acknowledged windows)
        let data: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
        let out = t
            .run("cat; cat >&2", &data, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(out.stdout, data);
        assert_eq!(out.stdout.len(), 300_000);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a 'file' $(x)");
        let path = path.to_str().unwrap();
        t.write_file(path, &data[..5000], Duration::from_secs(20))
            .await
            .unwrap();
        assert_eq!(
            t.read_file(path, Duration::from_secs(20)).await.unwrap(),
            &data[..5000]
        );
        t.close().await.unwrap();
    });
}

#[test]
fn a_timed_out_command_is_interrupted_and_the_session_goes_on() {
    if std::env::var_os(INT_IGNORED).is_some() {
        assert!(
            ignores_int_and_quit(),
            "the set-up did not ignore SIGINT and SIGQUIT"
        );
    }
    // sleeps no other test process runs (a copy of this test may run at the
    // same time, see below), found afterwards by their arguments
    let id = std::process::id();
    let (first, second) = (format!("sleep 37.{id}"), format!("sleep 31.{id}"));
    rt().block_on(async {
        let t = open(SHELL, Login::default()).await.unwrap();
        let err = t
            .run(&first, b"", Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
        // a local give-up (the future dropped mid-command) is recovered too
        let gave_up = tokio::time::timeout(
            Duration::from_millis(1500),
            t.run(
                &format!("echo started; exec {second}"),
                b"",
                Duration::from_secs(60),
            ),
        )
        .await;
        assert!(gave_up.is_err());
        let out = t
            .run("echo after", b"", Duration::from_secs(20))
            .await
            .unwrap();
        assert_eq!(out.stdout, b"after\n");
        let out = t
            .run(
                &format!("pgrep -x -f 'sleep (37|31)\\.{id}' || echo none"),
                b"",
                Duration::from_secs(20),
            )
            .await
            .unwrap();
        assert_eq!(
            out.stdout, b"none\n",
            "the interrupted commands must not run on"
        );
        t.close().await.unwrap();
    });
}

#[test]
fn logs_in_at_a_login_prompt_and_refuses_a_wrong_password_once() {
    rt().block_on(async {
        let t = open(&fake_login(), login("pa$$ word")).await.unwrap();
        let out = t
            .run(
                "echo $PS1 | tr -d '\\n'; id -u >/dev/null",
                b"",
                Duration::from_secs(20),
            )
            .await
            .unwrap();
        assert!(out.success(), "{out:?}");
        t.close().await.unwrap();

        let started = std::time::Instant::now();
        let err = open(&fake_login(), login("Wr0ngPw")).await.err().unwrap();
        assert_eq!(err.0, ErrorKind::Connect);
        assert!(err.1.contains("refused the login of `ops`"), "{}", err.1);
        assert!(err.1.contains("does not try again"), "{}", err.1);
        assert!(
            !err.1.contains("Wr0ngPw"),
            "the password must never show: {}",
            err.1
        );
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{:?}",
            started.elapsed()
        );

        let err = open(&fake_login(), Login::default()).await.err().unwrap();
        assert_eq!(err.0, ErrorKind::Unsupported);
        assert!(
            err.1.contains("`sshfix_console_login` is not set"),
            "{}",
            err.1
        );
    });
}

/// Whether this process ignores both SIGINT and SIGQUIT (`SigIgn` of
/// /proc/self/status).
fn ignores_int_and_quit() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .expect("a SigIgn line");
    let int_and_quit = (1 << (2 - 1)) | (1 << (3 - 1));
    mask & int_and_quit == int_and_quit
}

/// sshfix started with `&` from a script inherits Ctrl-C (SIGINT) and
/// Ctrl-\ ignored. The console command must not: the shell there would pass
/// the ignoring on to the pipeline of a command, the Ctrl-C that stops an
/// abandoned command would reach nobody, and the console would stay busy.
/// Runs the test above again in a copy of this test binary started under
/// `trap '' INT QUIT` (ignored dispositions survive exec).
#[test]
fn an_interrupted_command_is_recovered_when_sshfix_ignores_ctrl_c() {
    let me = std::env::current_exe().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"trap '' INT QUIT; exec "$0" --exact "$1""#)
        .arg(me)
        .arg("transport::serial::tests::a_timed_out_command_is_interrupted_and_the_session_goes_on")
        .env(INT_IGNORED, "1")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
}

/// Set for the copy of the test binary that must start with SIGINT and
/// SIGQUIT ignored.
const INT_IGNORED: &str = "SSHFIX_TEST_INT_IGNORED";

/// A console left at somebody's `sudo` password prompt: sshfix presses
/// Enter once (it cannot see the line before), then sends Ctrl-C — which the
/// prompt here ignores — and stops: at most one attempt, not one per wake
/// round. (Only lines read count: the loop ends when the line closes. On a
/// slow machine the first Enter may arrive before the fake prompt reads, and
/// then no attempt is made at all.)
#[test]
fn a_foreign_password_prompt_gets_one_enter_and_a_clear_error() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("attempts");
        let cmd = format!(
            "script -qfc \"stty sane; trap '' INT; while printf '[sudo] password for ops: ' && read p; do echo x >>{}; done\" /dev/null",
            log.display()
        );
        let err = open(&cmd, Login::default()).await.err().unwrap();
        assert_eq!(err.0, ErrorKind::Connect);
        assert!(err.1.contains("password prompt sshfix did not start"), "{}", err.1);
        let attempts = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(attempts.lines().count() <= 1, "attempts made: {attempts:?}");
    });
}

#[test]
fn a_silent_line_fails_after_the_wake_timeout_with_what_it_saw() {
    rt().block_on(async {
        let started = std::time::Instant::now();
        let err = open("script -qfc \"stty sane; trap '' INT; printf 'BMC SOL ready\\r\\n'; exec cat >/dev/null\" /dev/null", Login::default())
            .await
            .err()
            .unwrap();
        let took = started.elapsed();
        assert_eq!(err.0, ErrorKind::Connect);
        assert!(err.1.starts_with("the serial console showed no login or shell prompt within 6s"), "{}", err.1);
        assert!(err.1.contains("BMC SOL ready"), "{}", err.1);
        assert!(took < Duration::from_secs(15), "{took:?}");
    });
}

#[test]
fn a_line_that_drops_mid_command_is_an_error_not_a_hang() {
    rt().block_on(async {
        let t = open(SHELL, Login::default()).await.unwrap();
        let started = std::time::Instant::now();
        let err = t
            .run(
                "sleep 0.3; pkill -9 -s \"$(ps -o sid= -p $$ | tr -d ' ')\"",
                b"",
                Duration::from_secs(60),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Io, "{err}");
        assert!(
            err.to_string().contains(
                "the serial console line closed while sshfix waited for the result of the command"
            ),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        t.close().await.unwrap();
    });
}

#[test]
fn noise_on_the_terminal_during_transfers_is_survived() {
    rt().block_on(async {
        let t = open(SHELL, Login::default()).await.unwrap();
        // kernel-like messages written straight to the terminal while the
        // next commands' output is in flight
        let out = t
            .run(
                "tty=$(readlink /proc/$$/fd/0 2>/dev/null); for p in $(ps -o sid= -p $$); do :; done; \
                 t=$(ls -l /proc/$PPID/fd/0 2>/dev/null); echo ok",
                b"",
                Duration::from_secs(20),
            )
            .await
            .unwrap();
        assert_eq!(out.stdout, b"ok\n");
        let noisy = "term=$(readlink /proc/$(ps -o sid= -p $$ | tr -d ' ')/fd/0); \
             [ -w \"$term\" ] || exit 9; (i=0; while [ $i -lt 200 ]; do printf '\\r\\n[ 4%03d.123456] usb 1-1: reset high-speed USB device\\r\\n' $i >\"$term\"; i=$((i+1)); sleep 0.01; done) >/dev/null 2>&1 & echo started";
        let out = t.run(noisy, b"", Duration::from_secs(20)).await.unwrap();
        assert_eq!(out.stdout, b"started\n");
        let data: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
        for _ in 0..3 {
            let out = t.run("cat", &data, Duration::from_secs(60)).await.unwrap();
            assert!(out.stdout == data, "{} bytes back", out.stdout.len());
        }
        t.close().await.unwrap();
    });
}
