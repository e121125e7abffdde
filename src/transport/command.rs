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

/// Runs `$2` under the host's `timeout` (limit `$1` seconds, then KILL 5 s
/// later) when the host has one; GNU and busybox `timeout` both kill the whole
/// process group, so children of the script go too.
const RUNNER: &str = r#"if command -v timeout >/dev/null 2>&1; then exec timeout -k 5 "$1" sh -c "$2"; fi; exec sh -c "$2""#;

/// Discards stdin up to the marker line `$3`. With `sudo -S`, sudo reads the
/// password line only when it needs one; whatever it left (the password, when
/// credentials were cached) is dropped here so the script sees exactly its own
/// stdin. `read` takes one line from a pipe without reading ahead.
const SKIP_TO_MARKER: &str =
    r#"while IFS= read -r sshfix_line; do [ "$sshfix_line" = "$3" ] && break; done; "#;

/// The exit status `timeout` returns when it had to stop the command.
pub const TIMEOUT_STATUS: i32 = 124;

/// Builds the command line that runs `script` with a remote time limit and,
/// when asked, through sudo. `marker` must be unique per call (it frames the
/// password on stdin); `random_marker()` makes one.
pub fn build(
    script: &str,
    timeout: Duration,
    become_: Option<&BecomeAuth>,
    marker: &str,
) -> Result<Invocation, QuoteError> {
    let secs = timeout.as_secs().max(1) + u64::from(timeout.subsec_nanos() > 0);
    let script_q = quote(script, "the script")?;
    let runner_args = format!("sshfix {secs} {script_q}");
    Ok(match become_ {
        None => Invocation {
            command_line: format!("sh -c {} {runner_args}", quote(RUNNER, "runner")?),
            stdin_prefix: Vec::new(),
        },
        Some(BecomeAuth::NoPassword { user }) => Invocation {
            command_line: format!(
                "sudo -n -u {} -- sh -c {} {runner_args}",
                quote(user, "the become user")?,
                quote(RUNNER, "runner")?
            ),
            stdin_prefix: Vec::new(),
        },
        Some(BecomeAuth::Password { user, password }) => {
            let mut prefix = Vec::with_capacity(password.expose().len() + marker.len() + 2);
            prefix.extend_from_slice(password.expose().as_bytes());
            prefix.push(b'\n');
            prefix.extend_from_slice(marker.as_bytes());
            prefix.push(b'\n');
            Invocation {
                command_line: format!(
                    "sudo -S -p '' -u {} -- sh -c {} {runner_args} {}",
                    quote(user, "the become user")?,
                    quote(&format!("{SKIP_TO_MARKER}{RUNNER}"), "runner")?,
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
/// it writes the stdin bytes to a private temporary file with `printf` (POSIX,
/// exact for every byte value), runs the command line with that file as its
/// stdin, removes the file and exits with the command's status.
pub fn console_program(invocation: &Invocation, stdin: &[u8]) -> Vec<u8> {
    let data = invocation.input(stdin);
    let mut out = String::new();
    if data.is_empty() {
        out.push_str(&invocation.command_line);
        out.push_str(" </dev/null\nexit $?\n");
        return out.into_bytes();
    }
    out.push_str("umask 077\n");
    out.push_str("sshfix_in=$(mktemp \"${TMPDIR:-/tmp}/sshfix-in.XXXXXXXX\") || exit 125\n");
    out.push_str("trap 'rm -f \"$sshfix_in\"' EXIT\n");
    for chunk in data.chunks(3072) {
        out.push_str("printf '");
        push_printf_escaped(&mut out, chunk);
        out.push_str("' >>\"$sshfix_in\" || exit 125\n");
    }
    out.push_str(&invocation.command_line);
    out.push_str(" <\"$sshfix_in\"\nexit $?\n");
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
        assert!(inv
            .command_line
            .starts_with("sudo -S -p '' -u root -- sh -c "));
        assert!(!inv.command_line.contains("hunter2"));
        assert_eq!(inv.stdin_prefix, b"hunter2\nsshfix-stdin-abc\n");
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
        let empty = console_program(&inv, b"");
        let out = sh("sh", &empty);
        assert_eq!(out.status.code(), Some(4));
        assert!(out.stdout.is_empty());
    }
}
