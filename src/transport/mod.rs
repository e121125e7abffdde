//! Transports: one small trait to run scripts and move files on a host, with
//! implementations for each working path — `ssh` (direct or through a shared
//! jump-host master), `console-exec` (a command whose stdin is a shell) and
//! `local` — and [`paths`], which tries a host's paths in order.
//!
//! Layers, as in Ansible's connection plugins:
//! 1. [`command`] turns a script into one POSIX shell command line (remote
//!    `timeout`, `sudo` for become) — pure, every word quoted by [`quote`];
//! 2. an [`Exec`] implementation runs such a line over its medium;
//! 3. [`Connection`] adds what every medium shares (timeouts, output cap,
//!    become errors, file transfer) and is the [`Transport`] the rest uses.

pub mod command;
pub mod console;
pub mod io;
pub mod local;
pub mod paths;
pub mod quote;
pub mod serial;
pub mod ssh;
pub mod sshconfig;

use std::fmt;
use std::time::{Duration, Instant};

use async_trait::async_trait;

pub use crate::inventory::vars::PathKind;
use command::{BecomeAuth, Invocation};

/// Ctrl-C (SIGINT) arrived while [`until_interrupted`] was waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

/// Runs `work` until it ends or the user presses Ctrl-C. On Ctrl-C, every ssh
/// master and helper of every open run is stopped and the runs' private
/// directories removed before returning `Err(Interrupted)`; the caller exits
/// (130 by convention). Commands that open transports run under this.
pub async fn until_interrupted<F: std::future::Future>(work: F) -> Result<F::Output, Interrupted> {
    tokio::select! {
        out = work => Ok(out),
        _ = tokio::signal::ctrl_c() => {
            ssh::cleanup_after_interrupt();
            Err(Interrupted)
        }
    }
}

/// What a finished script left behind.
#[derive(Clone, PartialEq, Eq)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The exit status; `None` when the process was killed by a signal.
    pub status: Option<i32>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// The last line of stderr, for error messages.
    pub fn stderr_tail(&self) -> String {
        tail(&self.stderr)
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("status", &self.status)
            .field("stdout", &format_args!("<{} bytes>", self.stdout.len()))
            .field("stderr", &String::from_utf8_lossy(&self.stderr))
            .finish()
    }
}

/// The last non-empty lines of some output (at most 3, 400 characters), for messages.
pub fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let start = lines.len().saturating_sub(3);
    let mut s = lines[start..].join(" / ");
    if s.chars().count() > 400 {
        s = s.chars().take(400).collect::<String>() + "…";
    }
    s
}

/// The class of a transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The path could not be opened (connection, authentication, console command).
    Connect,
    /// The host key is unknown or changed: never routed around.
    HostKey,
    /// ssh failed without saying why: a host-key failure cannot be ruled out,
    /// so this is not routed around either.
    Unexplained,
    /// `sudo` refused.
    Become,
    /// A command did not finish in time.
    Timeout,
    /// A command printed more than the output limit.
    OutputTooLarge,
    /// The remote side failed to run a transfer (e.g. `cat` of a missing file).
    Remote,
    /// The session broke, or a local I/O error.
    Io,
    /// Asked for something this transport cannot do.
    Unsupported,
}

/// A transport failure: which host, over which path, what happened, what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    pub host: String,
    pub via: Option<PathKind>,
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

impl TransportError {
    pub fn new(
        host: &str,
        via: Option<PathKind>,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Self {
        TransportError {
            host: host.into(),
            via,
            kind,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.via {
            Some(via) => write!(f, "host `{}` (via {via}): {}", self.host, self.message)?,
            None => write!(f, "host `{}`: {}", self.host, self.message)?,
        }
        if let Some(h) = &self.hint {
            write!(f, "\nhint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for TransportError {}

/// A working path to one host.
#[async_trait]
pub trait Transport: Send + Sync {
    /// The inventory name of the host.
    fn host(&self) -> &str;
    /// The path this transport goes through (`reached_via`).
    fn via(&self) -> PathKind;
    /// The implementation: `ssh`, `jump`, `console-exec` or `local`.
    fn kind(&self) -> &'static str;
    /// Runs a POSIX `sh` script with `stdin`; stopped (on the host too) after `timeout`.
    /// A non-zero exit is a normal [`Output`]; only failures to run are errors.
    async fn run(
        &self,
        script: &str,
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<Output, TransportError>;
    /// Reads a whole file.
    async fn read_file(&self, path: &str, timeout: Duration) -> Result<Vec<u8>, TransportError> {
        let q = quote::quote(path, &format!("path `{path}`"))
            .map_err(|e| self.error(ErrorKind::Unsupported, e.to_string()))?;
        let out = self.run(&format!("exec cat -- {q}"), b"", timeout).await?;
        if out.success() {
            Ok(out.stdout)
        } else {
            Err(self.error(
                ErrorKind::Remote,
                format!("reading `{path}` failed: {}", out.stderr_tail()),
            ))
        }
    }
    /// Writes a whole file (created with mode 0600 if new; an existing file keeps its mode).
    async fn write_file(
        &self,
        path: &str,
        data: &[u8],
        timeout: Duration,
    ) -> Result<(), TransportError> {
        let q = quote::quote(path, &format!("path `{path}`"))
            .map_err(|e| self.error(ErrorKind::Unsupported, e.to_string()))?;
        let out = self
            .run(&format!("umask 077 && exec cat > {q}"), data, timeout)
            .await?;
        if out.success() {
            Ok(())
        } else {
            Err(self.error(
                ErrorKind::Remote,
                format!("writing `{path}` failed: {}", out.stderr_tail()),
            ))
        }
    }
    /// Ends the session and releases its processes and sockets.
    async fn close(self: Box<Self>) -> Result<(), TransportError>;

    /// An error about this host and path.
    fn error(&self, kind: ErrorKind, message: String) -> TransportError {
        TransportError::new(self.host(), Some(self.via()), kind, message)
    }
}

/// Raw result of one executed command line.
pub struct RawOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: Option<i32>,
}

/// One medium that can execute a shell command line on the host.
#[async_trait]
pub trait Exec: Send + Sync {
    fn kind(&self) -> &'static str;
    /// Runs `invocation` with `stdin` after its prefix. Dropping the future must
    /// stop the local side (kill the child / close the channel).
    async fn exec(
        &self,
        invocation: &Invocation,
        stdin: &[u8],
        limit: usize,
    ) -> Result<RawOutput, (ErrorKind, String)>;
    /// Releases the medium.
    async fn close(&mut self) -> Result<(), String>;
}

/// A [`Transport`] over any [`Exec`]: adds the time limit, the output cap and
/// become handling that every path shares.
pub struct Connection<E: Exec> {
    host: String,
    via: PathKind,
    exec: E,
    become_: Option<BecomeAuth>,
    /// The cap on output of all commands together (see
    /// [`io::DEFAULT_OUTPUT_LIMIT`]).
    output_limit: usize,
    /// Output received so far on this connection.
    spent: std::sync::atomic::AtomicUsize,
}

/// Extra time the local side waits beyond the remote `timeout` (which also has a
/// 5 s kill grace) before giving up on the channel itself.
const LOCAL_GRACE: Duration = Duration::from_secs(10);

impl<E: Exec> Connection<E> {
    pub fn new(host: &str, via: PathKind, exec: E, become_: Option<BecomeAuth>) -> Self {
        Connection {
            host: host.into(),
            via,
            exec,
            become_,
            output_limit: io::DEFAULT_OUTPUT_LIMIT,
            spent: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Sets the output cap (stdout + stderr of all commands together).
    pub fn with_output_limit(mut self, limit: usize) -> Self {
        self.output_limit = limit;
        self
    }
}

#[async_trait]
impl<E: Exec> Transport for Connection<E> {
    fn host(&self) -> &str {
        &self.host
    }

    fn via(&self) -> PathKind {
        self.via
    }

    fn kind(&self) -> &'static str {
        self.exec.kind()
    }

    async fn run(
        &self,
        script: &str,
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<Output, TransportError> {
        let invocation = command::build(
            script,
            timeout,
            self.become_.as_ref(),
            &command::random_marker(),
        )
        .map_err(|e| self.error(ErrorKind::Unsupported, e.to_string()))?;
        let started = Instant::now();
        use std::sync::atomic::Ordering;
        let spent = self.spent.load(Ordering::Relaxed);
        let limit = self.output_limit.saturating_sub(spent);
        let raw = match tokio::time::timeout(
            timeout + LOCAL_GRACE,
            self.exec.exec(&invocation, stdin, limit),
        )
        .await
        {
            Err(_) => return Err(self.timeout_error(timeout)),
            Ok(Err((ErrorKind::OutputTooLarge, _))) => {
                self.spent.store(self.output_limit, Ordering::Relaxed);
                let mib = |n: usize| n as f64 / (1024.0 * 1024.0);
                let message = if spent == 0 {
                    format!(
                        "the command printed more than {} MiB; stopped it",
                        mib(self.output_limit)
                    )
                } else {
                    format!(
                        "the host printed more than {} MiB in all ({:.1} MiB before this command); stopped the command",
                        mib(self.output_limit),
                        mib(spent)
                    )
                };
                return Err(self.error(ErrorKind::OutputTooLarge, message));
            }
            Ok(Err((kind, message))) => return Err(self.error(kind, message)),
            Ok(Ok(raw)) => raw,
        };
        // 124: GNU timeout; 137/143: KILL/TERM (busybox, `-k`); None: killed
        // by a signal. Only a timeout once the limit has passed.
        if matches!(
            raw.status,
            Some(command::TIMEOUT_STATUS) | Some(137) | Some(143) | None
        ) && started.elapsed() + Duration::from_millis(50) >= timeout
        {
            return Err(self.error(
                ErrorKind::Timeout,
                format!(
                    "the command did not finish within {}s and was stopped on the host",
                    timeout.as_secs_f64()
                ),
            ));
        }
        if let Some(b) = &self.become_ {
            check_become(b, &raw)
                .map_err(|(m, h)| self.error(ErrorKind::Become, m).with_hint(h))?;
        }
        self.spent
            .fetch_add(raw.stdout.len() + raw.stderr.len(), Ordering::Relaxed);
        Ok(Output {
            stdout: raw.stdout,
            stderr: raw.stderr,
            status: raw.status,
        })
    }

    async fn close(mut self: Box<Self>) -> Result<(), TransportError> {
        self.exec
            .close()
            .await
            .map_err(|m| self.error(ErrorKind::Io, format!("closing the session: {m}")))
    }
}

impl<E: Exec> Connection<E> {
    fn timeout_error(&self, timeout: Duration) -> TransportError {
        self.error(
            ErrorKind::Timeout,
            format!(
                "the command did not finish within {}s; sshfix stopped waiting (a host without `timeout` may still be running it)",
                timeout.as_secs_f64()
            ),
        )
    }
}

/// Recognises sudo's own refusals (as opposed to the script failing). sudo
/// 1.9 prints some of them without its `sudo: ` prefix, so all of stderr is
/// searched; the messages name what to do, never the script.
fn check_become(b: &BecomeAuth, raw: &RawOutput) -> Result<(), (String, String)> {
    if !matches!(raw.status, Some(1) | Some(127)) {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&raw.stderr);
    let user = match b {
        BecomeAuth::NoPassword { user } | BecomeAuth::Password { user, .. } => user,
    };
    if raw.status == Some(127) {
        if stderr.contains("sudo: not found") || stderr.contains("sudo: command not found") {
            return Err((
                "`sudo` is not installed on the host".into(),
                "install sudo there, or log in as the user to become".into(),
            ));
        }
        return Ok(());
    }
    if stderr.contains("a password is required") {
        return Err((
            format!("`sudo -n -u {user}` needs a password"),
            "set `sshfix_become_password_env` to the name of an environment variable holding the sudo password".into(),
        ));
    }
    if stderr.contains("incorrect password attempt")
        || stderr.contains("Sorry, try again")
        || stderr.contains("no password was provided")
    {
        return Err((
            format!("sudo rejected the password for becoming `{user}`"),
            "check the password in the environment variable named by `sshfix_become_password_env`"
                .into(),
        ));
    }
    if stderr.contains("is not in the sudoers file")
        || stderr.contains("is not allowed to execute")
        || stderr.contains("may not run sudo")
    {
        return Err((
            format!("the login user may not use sudo to become `{user}` on this host"),
            "check the login user's rights in the host's sudoers".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(limit: usize) -> Box<dyn Transport> {
        Box::new(
            Connection::new("here", PathKind::Direct, local::Local, None).with_output_limit(limit),
        )
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn output_cap_stops_a_flood() {
        let t = local(1024 * 1024);
        let err = rt()
            .block_on(t.run("yes flood", b"", Duration::from_secs(30)))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::OutputTooLarge);
        assert_eq!(
            err.to_string(),
            "host `here` (via direct): the command printed more than 1 MiB; stopped it"
        );
    }

    /// The cap counts every command on the connection: a host cannot get
    /// past it with many commands that each stay under it.
    #[test]
    fn output_cap_counts_all_commands_of_a_host() {
        let t = local(1024 * 1024);
        let rt = rt();
        let half = "head -c 600000 /dev/zero";
        let first = rt.block_on(t.run(half, b"", Duration::from_secs(30)));
        assert_eq!(first.unwrap().stdout.len(), 600_000);
        let err = rt
            .block_on(t.run(half, b"", Duration::from_secs(30)))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::OutputTooLarge);
        assert_eq!(
            err.to_string(),
            "host `here` (via direct): the host printed more than 1 MiB in all (0.6 MiB before this command); stopped the command"
        );
        // and stays spent
        let err = rt
            .block_on(t.run("echo hi", b"", Duration::from_secs(30)))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::OutputTooLarge);
    }

    #[test]
    fn timeout_reported_and_exit_statuses_kept() {
        let t = local(io::DEFAULT_OUTPUT_LIMIT);
        let rt = rt();
        let err = rt
            .block_on(t.run("sleep 20", b"", Duration::from_secs(1)))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Timeout);
        assert_eq!(
            err.to_string(),
            "host `here` (via direct): the command did not finish within 1s and was stopped on the host"
        );
        // A script that exits 124 by itself, quickly, is not a timeout.
        let out = rt
            .block_on(t.run("exit 124", b"", Duration::from_secs(10)))
            .unwrap();
        assert_eq!(out.status, Some(124));
        let out = rt
            .block_on(t.run("kill -9 $$", b"", Duration::from_secs(10)))
            .unwrap();
        assert_eq!(
            out.status,
            Some(137),
            "sh -c reports its child's death by signal as 128+9"
        );
    }

    #[test]
    fn background_job_holding_output_does_not_hold_sshfix() {
        let t = local(io::DEFAULT_OUTPUT_LIMIT);
        let started = std::time::Instant::now();
        let err = rt()
            .block_on(t.run("sleep 29.71 & echo done", b"", Duration::from_secs(60)))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Remote);
        assert_eq!(
            err.to_string(),
            "host `here` (via direct): the command exited (status 0) but a process it started still holds its output open; sshfix stopped reading"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        // A job that redirects its output is fine, and so is output still
        // flowing after the exit.
        let out = rt()
            .block_on(t.run(
                "sleep 30 >/dev/null 2>&1 & echo done",
                b"",
                Duration::from_secs(60),
            ))
            .unwrap();
        assert_eq!(out.stdout, b"done\n");
        // The jobs were left running on purpose; end them.
        let _ = std::process::Command::new("pkill")
            .args(["-x", "-f", "sleep 29.71"])
            .status();
    }

    #[test]
    fn file_round_trip_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd 'name' $(x)");
        let path = path.to_str().unwrap();
        let data: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        let t = local(io::DEFAULT_OUTPUT_LIMIT);
        let rt = rt();
        rt.block_on(t.write_file(path, &data, Duration::from_secs(10)))
            .unwrap();
        assert_eq!(std::fs::read(path).unwrap(), data);
        assert_eq!(
            rt.block_on(t.read_file(path, Duration::from_secs(10)))
                .unwrap(),
            data
        );
        let err = rt
            .block_on(t.read_file("/nonexistent/x", Duration::from_secs(10)))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Remote);
        assert!(
            err.to_string()
                .starts_with("host `here` (via direct): reading `/nonexistent/x` failed: "),
            "{err}"
        );
    }

    #[test]
    fn tail_keeps_last_lines_short() {
        assert_eq!(tail(b"a\n\nb\nc\nd\n"), "b / c / d");
        assert_eq!(tail(b""), "");
        assert!(tail(&[b'x'; 1000]).ends_with('…'));
    }
}
