//! Command lines for running a script on a host, built as data: the remote
//! `timeout` that bounds it, `sudo` for become (password on stdin, never in
//! argv), and the staging of stdin for consoles whose own stdin is the shell.
//!
//! Pure: strings in, strings out; every word passes through [`quote`].

use std::fmt;
use std::time::Duration;

use super::quote::{quote, QuoteError};

/// A secret (a sudo password); never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// How to become another user on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BecomeAuth {
    /// `sudo -n`: fails at once if sudo wants a password.
    NoPassword { user: String },
    /// `sudo -S`: the password is the first line on stdin.
    Password { user: String, password: Secret },
}

/// What a transport executes: one POSIX shell command line plus bytes that go
/// on stdin before the caller's own stdin.
#[derive(Clone, PartialEq, Eq)]
pub struct Invocation {
    pub command_line: String,
    /// Holds the sudo password when there is one: never log it.
    pub stdin_prefix: Vec<u8>,
}

impl fmt::Debug for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invocation")
            .field("command_line", &self.command_line)
            .field(
                "stdin_prefix",
                &format_args!("<{} bytes>", self.stdin_prefix.len()),
            )
            .finish()
    }
}

impl Invocation {
    /// What goes on the command's stdin: the prefix, then the caller's bytes.
    pub fn input(&self, stdin: &[u8]) -> Vec<u8> {
        let mut input = Vec::with_capacity(self.stdin_prefix.len() + stdin.len());
        input.extend_from_slice(&self.stdin_prefix);
        input.extend_from_slice(stdin);
        input
    }
}

/// Runs `$2` under the host's `timeout` with a limit of `$1` seconds. GNU
/// coreutils (and recent busybox) take `-k` and stop the whole process group;
/// old busybox only knows `-t SECS`; without any `timeout` the script runs
/// unbounded on the host and only the controller stops waiting.
const RUNNER: &str = r#"if timeout -k 1 1 true 2>/dev/null; then exec timeout -k 5 "$1" sh -c "$2"; fi; if timeout -t 1 true 2>/dev/null; then exec timeout -t "$1" sh -c "$2"; fi; if timeout 1 true 2>/dev/null; then exec timeout "$1" sh -c "$2"; fi; exec sh -c "$2""#;

/// Discards stdin up to the marker line `$3` (used only after the password is
/// known to be right: sudo then reads exactly one line, or none when its
/// credentials are cached, and whatever it left is dropped here so the script
/// sees exactly its own stdin). `read` takes one line from a pipe without
/// reading ahead.
const SKIP_TO_MARKER: &str =
    r#"while IFS= read -r sshfix_line; do [ "$sshfix_line" = "$3" ] && break; done; "#;

/// Becomes `$1` with the password on the first stdin line, then runs `$3` with
/// a limit of `$2` seconds and the rest of stdin (`$4` is a fresh marker).
///
/// 1. `sudo -S -v` checks the password reading from a pipe that holds only
///    that line: a wrong password cannot make sudo read the script's stdin as
///    further attempts, and PAM sees one failure, not three.
/// 2. The script then runs through sudo's cached credentials (`sudo -n`, not
///    `exec`: the timestamp record belongs to this shell as sudo's parent).
/// 3. Where nothing is cached (`timestamp_timeout=0`), the now-checked password
///    goes in front of the marker framing instead.
///
/// The password lives only in this shell's memory: `printf` is a builtin, so
/// it is never in any process's argv.
fn become_with_password(runner_q: &str, skip_runner_q: &str) -> String {
    format!(
        r#"IFS= read -r sshfix_pw || exit 125
printf '%s\n' "$sshfix_pw" | sudo -S -p '' -v -u "$1" || exit 1
if sudo -n -u "$1" -- sh -c : 2>/dev/null; then sudo -n -u "$1" -- sh -c {runner_q} sshfix "$2" "$3"; exit $?; fi
{{ printf '%s\n%s\n' "$sshfix_pw" "$4"; exec cat; }} | sudo -S -p '' -u "$1" -- sh -c {skip_runner_q} sshfix "$2" "$3" "$4""#
    )
}

/// The exit status GNU `timeout` returns when it had to stop the command.
pub const TIMEOUT_STATUS: i32 = 124;

/// Builds the command line that runs `script` with a remote time limit and,
/// when asked, through sudo. `marker` must be unique per call;
/// [`random_marker`] makes one.
pub fn build(
    script: &str,
    timeout: Duration,
    become_: Option<&BecomeAuth>,
    marker: &str,
) -> Result<Invocation, QuoteError> {
    let secs = timeout.as_secs().max(1) + u64::from(timeout.subsec_nanos() > 0);
    let script_q = quote(script, "the script")?;
    let runner_q = quote(RUNNER, "runner")?;
    Ok(match become_ {
        None => Invocation {
            command_line: format!("sh -c {runner_q} sshfix {secs} {script_q}"),
            stdin_prefix: Vec::new(),
        },
        Some(BecomeAuth::NoPassword { user }) => Invocation {
            command_line: format!(
                "sudo -n -u {} -- sh -c {runner_q} sshfix {secs} {script_q}",
                quote(user, "the become user")?
            ),
            stdin_prefix: Vec::new(),
        },
        Some(BecomeAuth::Password { user, password }) => {
            let skip_runner = format!("{SKIP_TO_MARKER}{RUNNER}");
            let wrapper = become_with_password(&runner_q, &quote(&skip_runner, "runner")?);
            let mut prefix = password.expose().as_bytes().to_vec();
            prefix.push(b'\n');
            Invocation {
                command_line: format!(
                    "sh -c {} sshfix {} {secs} {script_q} {}",
                    quote(&wrapper, "become wrapper")?,
                    quote(user, "the become user")?,
                    quote(marker, "marker")?
                ),
                stdin_prefix: prefix,
            }
        }
    })
}

/// A fresh marker line for [`build`]: random, so no password or data line can equal it.
pub fn random_marker() -> String {
    let mut bytes = [0u8; 12];
    fill_random(&mut bytes);
    format!("sshfix-stdin-{}", hex::encode(bytes))
}

/// Fills `buf` from the kernel's random source (falls back to time and pid,
/// which is enough for a marker's uniqueness).
pub fn fill_random(buf: &mut [u8]) {
    use std::io::Read;
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .is_err()
    {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
            ^ u128::from(std::process::id());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed >> ((i % 16) * 8)) as u8;
        }
    }
}

/// The program fed to a console whose stdin is a shell (`docker exec -i … sh`):
/// it writes the caller's stdin bytes to a private temporary file with
/// `printf` (POSIX, exact for every byte value), runs the command line with
/// that file as its stdin, removes the file and exits with the command's
/// status. The invocation's prefix (a sudo password) is never written to a
/// file: a builtin `printf` in the program text pipes it in front.
pub fn console_program(invocation: &Invocation, stdin: &[u8]) -> Vec<u8> {
    let mut out = String::new();
    let source = if stdin.is_empty() {
        "/dev/null".to_string()
    } else {
        out.push_str("umask 077\n");
        out.push_str("sshfix_in=$(mktemp \"${TMPDIR:-/tmp}/sshfix-in.XXXXXXXX\") || exit 125\n");
        out.push_str("trap 'rm -f \"$sshfix_in\"' EXIT\n");
        for chunk in stdin.chunks(3072) {
            out.push_str("printf '");
            push_printf_escaped(&mut out, chunk);
            out.push_str("' >>\"$sshfix_in\" || exit 125\n");
        }
        "\"$sshfix_in\"".to_string()
    };
    if invocation.stdin_prefix.is_empty() {
        out.push_str(&format!("{} <{source}\nexit $?\n", invocation.command_line));
    } else {
        out.push_str("{ printf '");
        push_printf_escaped(&mut out, &invocation.stdin_prefix);
        out.push_str(&format!(
            "'; cat {source}; }} | {}\nexit $?\n",
            invocation.command_line
        ));
    }
    out.into_bytes()
}

/// Escapes bytes for a single-quoted `printf` format: printable ASCII stays,
/// everything else (and `'`, `\`, `%`) becomes a three-digit octal escape.
fn push_printf_escaped(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'\'' | b'\\' | b'%' => out.push_str(&format!("\\{b:03o}")),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    fn sh(command_line: &str, stdin: &[u8]) -> std::process::Output {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command_line)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    }

    #[test]
    fn plain_invocation_runs_script_with_args_intact() {
        let inv = build(
            "printf '%s|' \"$0\"; cat; exit 3",
            Duration::from_secs(5),
            None,
            "m",
        )
        .unwrap();
        assert!(inv.stdin_prefix.is_empty());
        let out = sh(&inv.command_line, b"in\x00put");
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout, b"sh|in\x00put");
    }

    #[test]
    fn remote_timeout_stops_a_hanging_script() {
        let inv = build("sleep 30", Duration::from_secs(1), None, "m").unwrap();
        let start = std::time::Instant::now();
        let out = sh(&inv.command_line, b"");
        assert_eq!(out.status.code(), Some(TIMEOUT_STATUS));
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    /// A directory whose only programs are busybox applets (and, with
    /// `with_timeout`, its `timeout`), like a minimal container.
    fn busybox_path(with_timeout: bool) -> Option<tempfile::TempDir> {
        let busybox = ["/usr/bin/busybox", "/bin/busybox"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists());
        let Some(busybox) = busybox else {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("busybox is not installed (tests/lab/lab.sh deps installs it)");
            }
            eprintln!("SKIPPED: busybox runner test (busybox not installed)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let mut applets = vec!["sh", "sleep", "true", "cat", "echo"];
        if with_timeout {
            applets.push("timeout");
        }
        for applet in applets {
            std::os::unix::fs::symlink(busybox, dir.path().join(applet)).unwrap();
        }
        Some(dir)
    }

    fn run_in(path: &std::path::Path, command_line: &str) -> (std::process::Output, Duration) {
        let start = std::time::Instant::now();
        let out = Command::new(path.join("sh"))
            .arg("-c")
            .arg(command_line)
            .env_clear()
            .env("PATH", path)
            .output()
            .unwrap();
        (out, start.elapsed())
    }

    #[test]
    fn busybox_timeout_stops_a_hanging_script() {
        let Some(dir) = busybox_path(true) else {
            return;
        };
        let hang = build("echo started; sleep 30", Duration::from_secs(1), None, "m").unwrap();
        let (out, took) = run_in(dir.path(), &hang.command_line);
        assert_eq!(out.stdout, b"started\n");
        assert!(took < Duration::from_secs(8), "took {took:?}");
        assert!(
            matches!(out.status.code(), Some(124) | Some(137) | Some(143) | None),
            "{:?}",
            out.status
        );
        let quick = build("echo ok; exit 3", Duration::from_secs(5), None, "m").unwrap();
        let (out, _) = run_in(dir.path(), &quick.command_line);
        assert_eq!(
            (out.stdout.as_slice(), out.status.code()),
            (&b"ok\n"[..], Some(3))
        );
    }

    #[test]
    fn hosts_without_timeout_still_run_scripts() {
        let Some(dir) = busybox_path(false) else {
            return;
        };
        let inv = build("echo ok; exit 3", Duration::from_secs(5), None, "m").unwrap();
        let (out, _) = run_in(dir.path(), &inv.command_line);
        assert_eq!(
            (out.stdout.as_slice(), out.status.code()),
            (&b"ok\n"[..], Some(3)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn sudo_command_lines_keep_password_out_of_argv() {
        let pw = BecomeAuth::Password {
            user: "root".into(),
            password: Secret::new("hunter2"),
        };
        let inv = build(
            "id -u",
            Duration::from_secs(60),
            Some(&pw),
            "sshfix-stdin-abc",
        )
        .unwrap();
        assert!(inv.command_line.starts_with("sh -c "));
        assert!(
            inv.command_line
                .ends_with(" sshfix root 60 'id -u' sshfix-stdin-abc"),
            "{}",
            inv.command_line
        );
        assert!(!inv.command_line.contains("hunter2"));
        assert_eq!(inv.stdin_prefix, b"hunter2\n");
        assert!(!format!("{inv:?}").contains("hunter2"));
        assert!(!format!("{pw:?}").contains("hunter2"));
        let nopw = build(
            "id -u",
            Duration::from_secs(60),
            Some(&BecomeAuth::NoPassword {
                user: "it's".into(),
            }),
            "m",
        )
        .unwrap();
        assert!(
            nopw.command_line
                .starts_with("sudo -n -u \"it's\" -- sh -c "),
            "{}",
            nopw.command_line
        );
    }

    /// A stand-in for sudo that behaves like the real one where the wrapper
    /// depends on it: `-v` reads one password line; a right password is cached
    /// unless `FAKE_SUDO_NOCACHE`; `-n` needs the cache (or `FAKE_SUDO_NOPASSWD`);
    /// `-S` reads a line when nothing is cached. A wrong password makes it try
    /// to read a second line, like sudo's retries; anything it gets is recorded
    /// in `leak`.
    const FAKE_SUDO: &str = r#"#!/bin/sh
mode=run; nonint=no
while [ $# -gt 0 ]; do
  case $1 in -S) ;; -p|-u) shift ;; -v) mode=validate ;; -n) nonint=yes ;; --) shift; break ;; esac
  shift
done
cache=$FAKE_SUDO_DIR/cached
if [ $mode = validate ]; then
  [ -n "$FAKE_SUDO_NOPASSWD" ] && exit 0
  IFS= read -r pw || { echo "sudo: no password was provided" >&2; exit 1; }
  if [ "$pw" = "$FAKE_SUDO_PW" ]; then [ -n "$FAKE_SUDO_NOCACHE" ] || : > "$cache"; exit 0; fi
  echo "Sorry, try again." >&2
  IFS= read -r again && printf '%s\n' "$again" >> "$FAKE_SUDO_DIR/leak"
  echo "sudo: 1 incorrect password attempt" >&2; exit 1
fi
if [ $nonint = yes ]; then
  [ -e "$cache" ] || [ -n "$FAKE_SUDO_NOPASSWD" ] || { echo "sudo: a password is required" >&2; exit 1; }
  exec "$@"
fi
if [ ! -e "$cache" ] && [ -z "$FAKE_SUDO_NOPASSWD" ]; then
  IFS= read -r pw; [ "$pw" = "$FAKE_SUDO_PW" ] || { echo "Sorry, try again." >&2; exit 1; }
fi
exec "$@"
"#;

    /// Runs a password-become invocation against the fake sudo.
    fn with_fake_sudo(
        env: &[(&str, &str)],
        password: &str,
        stdin: &[u8],
    ) -> (std::process::Output, String) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let sudo = dir.path().join("sudo");
        std::fs::write(&sudo, FAKE_SUDO).unwrap();
        std::fs::set_permissions(&sudo, std::fs::Permissions::from_mode(0o755)).unwrap();
        let auth = BecomeAuth::Password {
            user: "root".into(),
            password: Secret::new(password),
        };
        let inv = build(
            "printf 'ran:'; cat",
            Duration::from_secs(20),
            Some(&auth),
            &random_marker(),
        )
        .unwrap();
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(&inv.command_line)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    dir.path().display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("FAKE_SUDO_DIR", dir.path())
            .env("FAKE_SUDO_PW", "right")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&inv.input(stdin))
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let leak = std::fs::read_to_string(dir.path().join("leak")).unwrap_or_default();
        (out, leak)
    }

    #[test]
    fn become_wrapper_gives_the_script_exactly_its_stdin() {
        let data: &[u8] = b"line1\n\x00\xffno-newline";
        let mut want = b"ran:".to_vec();
        want.extend_from_slice(data);
        for env in [
            &[][..],                            // password checked, then cached credentials
            &[("FAKE_SUDO_NOCACHE", "1")][..],  // nothing cached: the marker framing
            &[("FAKE_SUDO_NOPASSWD", "1")][..], // sudo never reads the password
        ] {
            let (out, leak) = with_fake_sudo(env, "right", data);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{env:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.stdout, want, "{env:?}");
            assert_eq!(leak, "", "{env:?}");
        }
        let (out, _) = with_fake_sudo(&[], "right", b"");
        assert_eq!(out.stdout, b"ran:");
    }

    #[test]
    fn wrong_password_never_reaches_the_script_or_its_stdin() {
        let (out, leak) = with_fake_sudo(&[], "wrong", b"secret data line\nmore\n");
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty(), "the script ran: {:?}", out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("incorrect password attempt"), "{stderr}");
        assert_eq!(leak, "", "sudo read the script's stdin as another attempt");
    }

    /// The marker framing, without sudo: whatever precedes the marker (a
    /// password sudo did not need) is dropped; the script's stdin is exact.
    #[test]
    fn skip_to_marker_drops_unread_password() {
        let script = "cat";
        let program = format!("{SKIP_TO_MARKER}{RUNNER}");
        let cmd = format!(
            "sh -c {} sshfix 5 {} MARK",
            quote(&program, "p").unwrap(),
            quote(script, "s").unwrap()
        );
        let out = sh(&cmd, b"hunter2\nMARK\nline1\n\x00\xffno-newline");
        assert_eq!(out.stdout, b"line1\n\x00\xffno-newline");
    }

    #[test]
    fn console_program_delivers_every_byte() {
        let all: Vec<u8> = (0..=255u8).chain(b"'%\\\r\n%s%%".iter().copied()).collect();
        let inv = build("cat; exit 4", Duration::from_secs(5), None, "m").unwrap();
        let program = console_program(&inv, &all);
        // The console is a shell reading its program on stdin.
        let out = sh("sh", &program);
        assert_eq!(out.status.code(), Some(4));
        assert_eq!(out.stdout, all);
        // A prefix (a sudo password) is piped in front, never written to the file.
        let secret = Invocation {
            command_line: "cat".into(),
            stdin_prefix: b"s3cret\n".to_vec(),
        };
        let program = console_program(&secret, b"data");
        let text = String::from_utf8_lossy(&program);
        // The program travels over the console's stdin pipe; what must never
        // hold the secret is the temporary file on the host.
        assert!(text
            .lines()
            .filter(|l| l.contains(">>\"$sshfix_in\""))
            .all(|l| !l.contains("s3cret")));
        assert!(
            text.contains("{ printf 's3cret\\012'; cat \"$sshfix_in\"; } | cat"),
            "{text}"
        );
        let out = sh("sh", &program);
        assert_eq!(out.stdout, b"s3cret\ndata");
        let empty = console_program(&inv, b"");
        let out = sh("sh", &empty);
        assert_eq!(out.status.code(), Some(4));
        assert!(out.stdout.is_empty());
    }
}
