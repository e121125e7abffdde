//! What sshfix types into a serial console's shell, built as data: the
//! session set-up, the helper functions that receive data, run one command
//! and send its output back in base64 frames, and the per-command lines.
//! Pure: strings in, strings out.
//!
//! Every sentinel the host prints is `<NONCE:…>`, written by `printf` from a
//! format and arguments, so a line echoed back (echo may stay on) never
//! contains one: the echo shows `'<%s:%s>'`, never `<NONCE:`.
//!
//! Typed lines are short printable ASCII without `!` (bash history expansion)
//! or tabs (completion), and end in `\n`; bulk data only ever goes to `read`
//! in a loop (`sfx_rx`), never to the shell's parser.

use std::time::Duration;

use super::super::command::Invocation;
use super::super::quote::{quote, QuoteError};

/// Lines of base64 sent before the host must acknowledge them: 32 × 77 bytes
/// stays below the 4096-byte line-discipline buffer of a terminal.
pub const WINDOW: usize = 32;

/// Prints a sentinel on the terminal (fd 3) whatever the function's stdout
/// is, in one write, so that other writers to the terminal cannot split it.
const MARK: &str = r#"sfx_m() { sfx_mo="<$sfx_n"; for sfx_a; do sfx_mo="$sfx_mo:$sfx_a"; done; printf '%s>\n' "$sfx_mo" >&3; }"#;

/// `sfx_rx TAG`: says it is ready, then reads base64 lines from the terminal
/// until a line `.`, acknowledging every WINDOW lines, and decodes them to stdout.
fn rx() -> String {
    format!(
        r#"sfx_rx() {{ sfx_m "$1" rx; sfx_k=0; while IFS= read -r sfx_l; do case $sfx_l in .) break;; esac; printf '%s\n' "$sfx_l"; sfx_k=$((sfx_k+1)); case $((sfx_k % {WINDOW})) in 0) sfx_m "$1" ack "$sfx_k";; esac; done | base64 -d; }}"#
    )
}

/// `sfx_tx ID NAME`: one output file as a frame: begin, base64, end with the
/// length and sha256.
const TX: &str = r#"sfx_tx() { sfx_f="$sfx_b/$1/$2"; sfx_m "$1" begin "$2"; base64 <"$sfx_f"; sfx_m "$1" end "$2" "$(($(wc -c <"$sfx_f")))" "$(sha256sum <"$sfx_f" | cut -c1-64)"; }"#;

/// `sfx_run ID PROGRAM_SHA STDIN(0|1) STDIN_SHA CAP`: receives the program
/// (kept in a variable: it may hold a sudo password, never written to disk)
/// and the stdin file, checks both hashes (nothing runs on a mismatch), runs
/// the program with stdout and stderr each capped at CAP bytes, reports the
/// status and sizes, and sends both outputs when they are within CAP.
const RUN: &str = r#"sfx_run() { sfx_d="$sfx_b/$1"; mkdir -m 700 "$sfx_d" || { sfx_m "$1" bad mkdir; return; }; sfx_p=$(sfx_rx "$1.p"; printf x); sfx_p=${sfx_p%x}; if [ "$3" = 1 ]; then sfx_rx "$1.i" >"$sfx_d/i"; else : >"$sfx_d/i"; fi; if [ "$(printf '%s' "$sfx_p" | sha256sum | cut -c1-64)" = "$2" ] && [ "$(sha256sum <"$sfx_d/i" | cut -c1-64)" = "$4" ]; then :; else sfx_p=; sfx_m "$1" bad hash; return; fi; { { printf '%s' "$sfx_p" | sfx_in="$sfx_d/i" sfx_pf="$sfx_d/pid" sh 2>&1 1>&4 4>&- 3>&-; echo "$?" >"$sfx_d/s"; } | head -c "$5" >"$sfx_d/e"; } 4>&1 | head -c "$5" >"$sfx_d/o"; rm -f "$sfx_d/i"; sfx_p=; sfx_o=$(($(wc -c <"$sfx_d/o"))); sfx_e=$(($(wc -c <"$sfx_d/e"))); sfx_m "$1" res "$(cat "$sfx_d/s" 2>/dev/null)" "$sfx_o" "$sfx_e"; if [ $((sfx_o + sfx_e)) -lt "$5" ]; then sfx_tx "$1" o; sfx_tx "$1" e; fi; }"#;

/// `sfx_kill ID`: stops what an interrupted command left running (nothing
/// once its status file exists: then it has ended, and its pid may be
/// another process's by now): the
/// program recorded its pid, and exec'd into the command line, whose remote
/// `timeout` leads a process group of its own (Ctrl-C, sent to the
/// terminal's foreground group, does not reach it).
const KILL: &str = r#"sfx_kill() { [ -e "$sfx_b/$1/s" ] && return 0; sfx_k=$(cat "$sfx_b/$1/pid" 2>/dev/null) || return 0; kill -TERM -- "-$sfx_k" 2>/dev/null || kill -TERM "$sfx_k" 2>/dev/null; sleep 1; kill -KILL -- "-$sfx_k" 2>/dev/null || kill -KILL "$sfx_k" 2>/dev/null; return 0; }"#;

/// The tools the helpers need on the host.
pub const NEEDED: [&str; 6] = ["base64", "sha256sum", "head", "mktemp", "cut", "wc"];

/// Lines that set up a fresh `/bin/sh` for the session: echo off, no
/// prompts, fd 3 on the terminal, the nonce and a private directory, the
/// helpers, then a `ready` sentinel listing missing tools.
pub fn setup_lines(nonce: &str) -> Vec<String> {
    let needed = NEEDED.join(" ");
    vec![
        "stty -echo 2>/dev/null; PS1=; PS2=; exec 3>&1".into(),
        "command set +o emacs 2>/dev/null; command set +o vi 2>/dev/null; command set +H 2>/dev/null; unset PROMPT_COMMAND HISTFILE".into(),
        format!("sfx_n={nonce}; umask 077; sfx_b=$(mktemp -d \"${{TMPDIR:-/tmp}}/sshfix-console.XXXXXXXX\")"),
        MARK.into(),
        rx(),
        TX.into(),
        RUN.into(),
        r#"sfx_rm() { rm -rf -- "$sfx_b/$1"; }"#.into(),
        KILL.into(),
        format!(
            r#"sfx_x=; for sfx_c in {needed}; do command -v "$sfx_c" >/dev/null 2>&1 || sfx_x="$sfx_x $sfx_c"; done; [ -d "$sfx_b" ] || sfx_x="$sfx_x mktemp-dir"; sfx_m ready $sfx_x"#
        ),
    ]
}

/// A line that prints `<NONCE:sync:K>` with nothing defined (the first
/// contact, and after an interrupted command).
pub fn sync_line(nonce: &str, k: u32) -> String {
    format!("printf '<%s:%s:%s>\\n' {nonce} sync {k}")
}

/// The sentinel [`sync_line`] prints.
pub fn sync_marker(nonce: &str, k: u32) -> String {
    format!("<{nonce}:sync:{k}>")
}

/// The program run for one invocation: the command line with its stdin from
/// the staged file; a sudo password (the invocation's prefix) is piped in
/// front by a builtin `printf`, so it is in no file and no argv.
pub fn program(invocation: &Invocation) -> Result<String, QuoteError> {
    if invocation.stdin_prefix.is_empty() {
        return Ok(format!(
            "echo $$ >\"$sfx_pf\"; exec {} <\"$sfx_in\"\n",
            invocation.command_line
        ));
    }
    let prefix = String::from_utf8_lossy(&invocation.stdin_prefix);
    let prefix = prefix.strip_suffix('\n').unwrap_or(&prefix);
    Ok(format!(
        "echo $$ >\"$sfx_pf\"; {{ printf '%s\\n' {}; cat \"$sfx_in\"; }} | {}\n",
        quote(prefix, "the sudo password")?,
        invocation.command_line
    ))
}

/// The line that starts command `id`.
pub fn run_line(id: &str, program_sha: &str, stdin_sha: Option<&str>, cap: usize) -> String {
    let (has, sha) = match stdin_sha {
        Some(s) => ("1", s.to_string()),
        None => ("0", super::screen::sha256_hex(b"")),
    };
    format!("sfx_run {id} {program_sha} {has} {sha} {cap}")
}

/// Asks for output `name` (`o`/`e`) of command `id` again.
pub fn resend_line(id: &str, name: &str) -> String {
    format!("sfx_tx {id} {name}")
}

/// Stops what interrupted command `id` left running, then removes its files.
pub fn kill_line(id: &str) -> String {
    format!("sfx_kill {id}; sfx_rm {id}")
}

/// Removes what command `id` left in the session directory.
pub fn remove_line(id: &str) -> String {
    format!("sfx_rm {id}")
}

/// Ends the session: removes the directory and logs out.
pub const LOGOUT: &str = "rm -rf -- \"$sfx_b\"; exit";

/// How long to wait at each step of the conversation.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Waking the line until a login or shell prompt shows.
    pub wake: Duration,
    /// From sending the password to a shell prompt (PAM delays failures ~3 s).
    pub login: Duration,
    /// One step of the conversation (a sentinel after a typed line, an
    /// acknowledgement of a window of data).
    pub step: Duration,
    /// Quiet time that says the line has finished printing.
    pub settle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            wake: Duration::from_secs(20),
            login: Duration::from_secs(30),
            step: Duration::from_secs(30),
            settle: Duration::from_millis(700),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything typed is safe for any shell's line editor on a terminal.
    #[test]
    fn typed_lines_are_short_printable_and_free_of_history_and_tabs() {
        let mut lines = setup_lines("n0123456789abcdef");
        lines.push(sync_line("n0123456789abcdef", 3));
        lines.push(run_line(
            "c1",
            &"a".repeat(64),
            Some(&"b".repeat(64)),
            1 << 26,
        ));
        lines.push(resend_line("c1", "o"));
        lines.push(remove_line("c1"));
        lines.push(kill_line("c1"));
        lines.push(LOGOUT.into());
        for l in lines {
            assert!(l.len() < 1024, "{} bytes: {l}", l.len());
            assert!(
                l.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'!'),
                "{l}"
            );
        }
    }

    /// The helpers parse in `sh` (dash here) and in `bash --posix`.
    #[test]
    fn helpers_are_valid_posix_shell() {
        let text = setup_lines("nX").join("\n");
        for shell in ["sh", "bash"] {
            let out = std::process::Command::new(shell)
                .args(["-n", "-c", &text])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{shell}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    #[test]
    fn program_stages_stdin_and_pipes_a_password_in_front() {
        let plain = Invocation {
            command_line: "sh -c 'cat'".into(),
            stdin_prefix: Vec::new(),
        };
        assert_eq!(
            program(&plain).unwrap(),
            "echo $$ >\"$sfx_pf\"; exec sh -c 'cat' <\"$sfx_in\"\n"
        );
        let sudo = Invocation {
            command_line: "sh -c 'x'".into(),
            stdin_prefix: b"pa'ss\n".to_vec(),
        };
        let prog = program(&sudo).unwrap();
        assert!(
            prog.ends_with("; cat \"$sfx_in\"; } | sh -c 'x'\n"),
            "{prog}"
        );
        // run it for real: the password line, then stdin
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("i");
        std::fs::write(&input, b"data").unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(prog.replace("sh -c 'x'", "cat"))
            .env("sfx_in", &input)
            .env("sfx_pf", dir.path().join("pid"))
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"pa'ss\ndata");
    }
}
