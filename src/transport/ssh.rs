//! The `ssh` transport (direct, or through jump hosts): the system OpenSSH
//! client driven through the `openssh` crate's native multiplexing, one master
//! connection per host, and one shared master per jump chain.
//!
//! [`SshContext`] owns a run's private directory (generated configs, control
//! sockets, logs). Closing it — or dropping it on an error path — ends every
//! master it started and removes the directory, so no ssh process or socket
//! outlives sshfix; masters also carry an idle timeout in case sshfix is
//! killed. A master that did go away (idle timeout, killed) is replaced on the
//! next command: a target's session reconnects when a command cannot even
//! start, and a jump chain's master is checked through its control socket and
//! started again before another target uses it.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder};

use super::command::Invocation;
use super::io::{finish, WaitMode};
use super::sshconfig::{self, SshRun};
use super::{ErrorKind, Exec, RawOutput, TransportError};
use crate::inventory::vars::{HostSettings, PathKind};

/// How long an idle master (target or jump) lives on its own.
const MASTER_IDLE: Duration = Duration::from_secs(300);
/// How long a failed jump master is not tried again.
const WARM_RETRY: Duration = Duration::from_secs(30);

/// The state of one jump chain's shared master.
enum Warm {
    Cold,
    Up,
    Failed { at: Instant, log: String },
}

/// Everything ssh connections of one run share.
pub struct SshContext {
    run: SshRun,
    /// Removes the private directory when dropped or closed.
    dir: Mutex<Option<tempfile::TempDir>>,
    next_id: AtomicUsize,
    /// Jump chains by the control path of their last hop; the async mutex
    /// makes concurrent targets wait for one warm-up instead of each opening
    /// their own connection to the jump host.
    jumps: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<Warm>>>>,
    /// Started jump masters to stop at the end: (config file, hop host).
    masters: Mutex<Vec<(PathBuf, String)>>,
}

/// Options of [`SshContext::new`].
#[derive(Debug, Clone)]
pub struct SshOptions {
    pub user_config: Option<PathBuf>,
    pub accept_new: bool,
    pub connect_timeout: Duration,
}

impl Default for SshOptions {
    /// The user's own ssh configuration, strict host keys, and a 10 s connect
    /// timeout: ssh applies it to the identification exchange too, and it must
    /// stay above libwrap's 5 s refusal delay or a TCP-wrappers denial shows up
    /// as a banner timeout instead of its own `Connection reset by peer`.
    fn default() -> Self {
        SshOptions {
            user_config: None,
            accept_new: false,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Private directories of the runs still open in this process, for
/// [`cleanup_after_interrupt`].
static OPEN_RUNS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Ends every ssh process of every open run and removes their directories:
/// what an interrupted sshfix must do before it exits (masters run detached
/// from the terminal, so Ctrl-C alone does not reach them).
pub fn cleanup_after_interrupt() {
    let runs = std::mem::take(&mut *lock(&OPEN_RUNS));
    for dir in runs {
        kill_strays(&dir, None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

impl SshContext {
    /// Creates the run's private directory (`/tmp/sfx-XXXXXX`, mode 0700: control
    /// socket paths must stay short).
    pub fn new(options: SshOptions) -> std::io::Result<Arc<SshContext>> {
        let dir = tempfile::Builder::new().prefix("sfx-").tempdir_in("/tmp")?;
        let user_config = match options.user_config {
            Some(p) => Some(std::path::absolute(&p)?),
            None => None,
        };
        lock(&OPEN_RUNS).push(dir.path().to_path_buf());
        Ok(Arc::new(SshContext {
            run: SshRun {
                dir: dir.path().to_path_buf(),
                user_config,
                accept_new: options.accept_new,
                connect_timeout: options.connect_timeout,
                master_idle: MASTER_IDLE,
            },
            dir: Mutex::new(Some(dir)),
            next_id: AtomicUsize::new(0),
            jumps: Mutex::new(HashMap::new()),
            masters: Mutex::new(Vec::new()),
        }))
    }

    /// How long starting a master may take in all: ssh's ConnectTimeout
    /// bounds the TCP connect and the identification exchange; this bounds
    /// everything else (authentication, a jump chain).
    fn connect_limit(&self) -> Duration {
        self.run.connect_timeout * 3 + Duration::from_secs(10)
    }

    /// The private directory of this run.
    pub fn dir(&self) -> &Path {
        &self.run.dir
    }

    /// Opens a master connection to `host` over `via` (`Direct` or `Jump`).
    pub async fn connect(
        self: &Arc<Self>,
        host: &HostSettings,
        via: PathKind,
    ) -> Result<SshExec, TransportError> {
        let session = self.open(host, via).await?;
        Ok(SshExec {
            ctx: self.clone(),
            host: host.clone(),
            via,
            session: Mutex::new(Some(Arc::new(session))),
        })
    }

    /// Writes the ssh configuration of `host` over `via` into the run's
    /// directory and returns its path (for `ssh -F`).
    pub fn write_config(
        &self,
        host: &HostSettings,
        via: PathKind,
    ) -> Result<PathBuf, TransportError> {
        let fail =
            |kind, message: String| TransportError::new(&host.name, Some(via), kind, message);
        let text = sshconfig::render(host, via, &self.run)
            .map_err(|e| fail(ErrorKind::Unsupported, e.to_string()))?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let config = self.run.dir.join(format!("h{id}.conf"));
        std::fs::write(&config, text).map_err(|e| {
            fail(
                ErrorKind::Io,
                format!("writing `{}`: {e}", config.display()),
            )
        })?;
        Ok(config)
    }

    /// Writes the host's config, makes sure its jump chain is up, and starts
    /// the host's own master.
    async fn open(&self, host: &HostSettings, via: PathKind) -> Result<Session, TransportError> {
        let fail = |kind, message: String, hint: Option<String>| {
            let e = TransportError::new(&host.name, Some(via), kind, message);
            match hint {
                Some(h) => e.with_hint(h),
                None => e,
            }
        };
        let config = self.write_config(host, via)?;
        if via == PathKind::Jump {
            self.ensure_jump(host)
                .await
                .map_err(|(kind, m, hint)| fail(kind, m, hint))?;
        }
        let mut builder = SessionBuilder::default();
        builder
            .config_file(&config)
            .known_hosts_check(if self.run.accept_new {
                KnownHosts::Add
            } else {
                KnownHosts::Strict
            })
            .control_directory(&self.run.dir)
            .connect_timeout(self.run.connect_timeout)
            .server_alive_interval(Duration::from_secs(15))
            .control_persist(ControlPersist::IdleFor(
                NonZeroUsize::new(self.run.master_idle.as_secs().max(1) as usize)
                    .unwrap_or(NonZeroUsize::MIN),
            ));
        let limit = self.connect_limit();
        match tokio::time::timeout(limit, builder.connect_mux(&host.address)).await {
            Err(_) => {
                // Only this target's processes: they are the ones naming its config.
                kill_strays(&self.run.dir, Some(&config));
                Err(fail(
                    ErrorKind::Connect,
                    format!("ssh did not connect within {}s", limit.as_secs()),
                    None,
                ))
            }
            Ok(Err(e)) => {
                let (kind, message, hint) = interpret(&error_text(&e), &host.address);
                Err(fail(kind, message, hint))
            }
            Ok(Ok(s)) => Ok(s),
        }
    }

    /// Makes sure every hop of `host`'s jump chain has a live shared master,
    /// starting (or restarting) it once however many targets ask at once.
    async fn ensure_jump(
        &self,
        host: &HostSettings,
    ) -> Result<(), (ErrorKind, String, Option<String>)> {
        for index in 0..host.jump.len() {
            let hop = &host.jump[index];
            let name = hop
                .inventory_name
                .as_deref()
                .unwrap_or(&hop.host)
                .to_string();
            let explain = |log: &str| {
                let (kind, message, hint) = interpret(log, &hop.host);
                (kind, format!("jump host `{name}`: {message}"), hint)
            };
            let control = sshconfig::hop_control_path(&self.run.dir, &host.jump, index);
            let cell = lock(&self.jumps)
                .entry(control.clone())
                .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(Warm::Cold)))
                .clone();
            let mut state = cell.lock().await;
            match &*state {
                Warm::Up if tokio::net::UnixStream::connect(&control).await.is_ok() => continue,
                Warm::Failed { at, log } if at.elapsed() < WARM_RETRY => return Err(explain(log)),
                _ => {}
            }
            // Cold, failed a while ago, or a master that went away: (re)start it.
            let _ = std::fs::remove_file(&control);
            let config = control.with_extension("conf");
            let text = sshconfig::render_hops(&host.jump, index, &self.run).map_err(|e| {
                (
                    ErrorKind::Unsupported,
                    format!("jump host `{name}`: {e}"),
                    None,
                )
            })?;
            std::fs::write(&config, text).map_err(|e| {
                (
                    ErrorKind::Io,
                    format!("writing `{}`: {e}", config.display()),
                    None,
                )
            })?;
            match self
                .start_master(&config, &hop.host, &control.with_extension("log"))
                .await
            {
                Ok(()) => {
                    *state = Warm::Up;
                    let mut masters = lock(&self.masters);
                    if !masters.iter().any(|(c, _)| *c == config) {
                        masters.push((config, hop.host.clone()));
                    }
                }
                Err(log) => {
                    let e = explain(&log);
                    *state = Warm::Failed {
                        at: Instant::now(),
                        log,
                    };
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// `ssh -F config -M -f -N host`: returns once the master is up (ssh forks).
    async fn start_master(&self, config: &Path, hop_host: &str, log: &Path) -> Result<(), String> {
        let _ = std::fs::remove_file(log);
        let mut cmd = tokio::process::Command::new("ssh");
        cmd.arg("-F")
            .arg(config)
            .arg("-E")
            .arg(log)
            .args(["-M", "-f", "-N", "-o", "BatchMode=yes", "-o"])
            .arg(format!(
                "StrictHostKeyChecking={}",
                self.run.strict_host_key_checking()
            ))
            .arg("--")
            .arg(hop_host)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let limit = self.connect_limit();
        let status = match tokio::time::timeout(limit, cmd.status()).await {
            Err(_) => {
                kill_strays(&self.run.dir, Some(config));
                return Err(format!("ssh did not connect within {}s", limit.as_secs()));
            }
            Ok(Err(e)) => return Err(format!("starting `ssh`: {e}")),
            Ok(Ok(s)) => s,
        };
        if status.success() {
            Ok(())
        } else {
            Err(std::fs::read_to_string(log)
                .unwrap_or_else(|_| format!("ssh exited with {status}")))
        }
    }

    /// Ends the jump masters, any ssh process still using the directory, and
    /// removes the directory. Sessions still open lose their masters.
    pub async fn close(&self) {
        let masters = std::mem::take(&mut *lock(&self.masters));
        for (config, host) in masters.into_iter().rev() {
            let _ = tokio::time::timeout(
                Duration::from_secs(10),
                tokio::process::Command::new("ssh")
                    .arg("-F")
                    .arg(&config)
                    .args(["-O", "exit", "--"])
                    .arg(&host)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status(),
            )
            .await;
        }
        kill_strays(&self.run.dir, None);
        if let Some(dir) = lock(&self.dir).take() {
            let _ = dir.close();
        }
        lock(&OPEN_RUNS).retain(|d| *d != self.run.dir);
    }
}

impl Drop for SshContext {
    fn drop(&mut self) {
        // An error path that skipped `close`: no master may outlive the run.
        if lock(&self.dir).is_some() {
            kill_strays(&self.run.dir, None);
        }
        lock(&OPEN_RUNS).retain(|d| *d != self.run.dir);
    }
}

/// Sends SIGTERM to every `ssh` process whose arguments name `dir` (optionally
/// only those naming `only`): masters and `ssh -W` helpers of this run.
fn kill_strays(dir: &Path, only: Option<&Path>) {
    let dir = dir.to_string_lossy().into_owned();
    let only = only.map(|p| p.to_string_lossy().into_owned());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        // A master renames itself `ssh: <control path> [mux]`.
        let is_ssh = args
            .first()
            .is_some_and(|a| a == "ssh" || a.ends_with("/ssh") || a.starts_with("ssh: "));
        let ours = args.iter().any(|a| a.contains(&dir));
        let selected = only.as_ref().is_none_or(|o| args.iter().any(|a| a == o));
        if is_ssh && ours && selected {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
    }
}

/// `ssh-keygen -R NAME [-f FILE]` for ssh's changed-host-key message `log`:
/// NAME as ssh named the host (`Host key for [10.0.0.1]:2222 has changed`,
/// else `address`), and `-f FILE` whenever the offending key is in a file
/// other than `HOME/.ssh/known_hosts` (`Offending … key in FILE:LINE`), the
/// only one `ssh-keygen -R` edits by default. Each word is quoted.
fn remove_key_command(log: &str, address: &str, home: Option<&Path>) -> String {
    let q = |s: &str| {
        crate::transport::quote::quote(s, "known_hosts value")
            .map(|c| c.into_owned())
            .unwrap_or_default()
    };
    let name = log
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Host key for ")?
                .split_once(" has changed")
                .map(|(n, _)| n.to_string())
        })
        .unwrap_or_else(|| address.to_string());
    let file = log.lines().find_map(|l| {
        let (_, rest) = l.trim().split_once(" key in ")?;
        l.trim()
            .starts_with("Offending ")
            .then(|| rest.rsplit_once(':').map_or(rest, |(f, _)| f).to_string())
    });
    let default = home.map(|h| h.join(".ssh/known_hosts"));
    match file {
        Some(f) if default.as_deref() != Some(Path::new(&f)) => {
            format!("ssh-keygen -R {} -f {}", q(&name), q(&f))
        }
        _ => format!("ssh-keygen -R {}", q(&name)),
    }
}

/// The text of an openssh error, including ssh's own log (the source).
fn error_text(e: &openssh::Error) -> String {
    use std::error::Error as _;
    match e.source() {
        Some(src) => format!("{e}: {src}"),
        None => e.to_string(),
    }
}

/// Classifies ssh's error output: host-key problems are never "just another
/// failed path"; everything else is a connection failure with a hint.
pub fn interpret(log: &str, address: &str) -> (ErrorKind, String, Option<String>) {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Warning: Permanently added"))
        .collect();
    let text = lines.join("\n");
    if text.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || text.contains("Host key for") && text.contains("has changed")
    {
        let fingerprint = text
            .split_whitespace()
            .find(|w| w.starts_with("SHA256:"))
            .map(|w| w.trim_end_matches('.').to_string());
        let message = match &fingerprint {
            Some(fp) => format!("the host key of `{address}` has CHANGED; it now presents {fp}"),
            None => format!("the host key of `{address}` has CHANGED"),
        };
        let home = std::env::var_os("HOME").map(PathBuf::from);
        return (
            ErrorKind::HostKey,
            message,
            Some(format!(
                "this can be an attack; sshfix will not connect. If the host was reinstalled, check the new fingerprint out of band, then remove the old key with `{}`",
                remove_key_command(&text, address, home.as_deref())
            )),
        );
    }
    if text.contains("Host key verification failed") || text.contains("host key is known for") {
        return (
            ErrorKind::HostKey,
            format!("the host key of `{address}` is not in known_hosts (strict host-key checking)"),
            Some(format!(
                "check the host's fingerprint out of band and add it (`ssh-keyscan {address}`), or rerun with `--accept-new-hostkeys` to trust keys of new hosts on first use"
            )),
        );
    }
    // ssh's own lines, without the openssh crate's wrapper prefixes; the
    // first ones carry the cause (`kex_exchange_identification: …`).
    let own: Vec<String> = lines
        .iter()
        .map(|l| {
            let mut l = *l;
            for prefix in [
                "failed to connect to the remote host:",
                "the master connection failed:",
                "ssh:",
            ] {
                l = l.strip_prefix(prefix).unwrap_or(l).trim_start();
            }
            l.to_string()
        })
        .filter(|l| !l.is_empty())
        .take(3)
        .collect();
    let last = own.join("; ");
    let hint = if text.contains("Permission denied") {
        Some("authentication failed: check `ansible_user`, `ansible_ssh_private_key_file` and your ssh agent".to_string())
    } else if text.contains("Could not resolve hostname") {
        Some("check `ansible_host` or your DNS".to_string())
    } else {
        None
    };
    if last.is_empty() {
        // sshfix forces `LogLevel ERROR`, so silence means something it cannot
        // see (a ProxyCommand's own failure, a user config it cannot override).
        return (
            ErrorKind::Unexplained,
            "ssh failed without saying why; not trying other paths, since a host-key failure cannot be ruled out".into(),
            Some(format!("run `ssh -vv {address}` by hand to see what happens")),
        );
    }
    (ErrorKind::Connect, last, hint)
}

/// An open ssh master to one host; reconnects when the master went away.
pub struct SshExec {
    ctx: Arc<SshContext>,
    host: HostSettings,
    via: PathKind,
    session: Mutex<Option<Arc<Session>>>,
}

impl SshExec {
    fn session(&self) -> Result<Arc<Session>, (ErrorKind, String)> {
        lock(&self.session)
            .clone()
            .ok_or((ErrorKind::Io, "the session is closed".to_string()))
    }

    /// Starts the command; when it cannot even start because the master is
    /// gone (idle timeout, killed), connects again and starts it once more —
    /// safe, since it never ran.
    async fn spawn(
        &self,
        command_line: &str,
    ) -> Result<openssh::Child<Arc<Session>>, (ErrorKind, String)> {
        let start = |session: Arc<Session>| async move {
            session
                .arc_raw_command(command_line)
                .stdin(openssh::Stdio::piped())
                .stdout(openssh::Stdio::piped())
                .stderr(openssh::Stdio::piped())
                .spawn()
                .await
        };
        let session = self.session()?;
        let first = match start(session.clone()).await {
            Ok(child) => return Ok(child),
            Err(e) => e,
        };
        if session.check().await.is_ok() {
            return Err((
                ErrorKind::Io,
                format!("starting the command over ssh: {}", error_text(&first)),
            ));
        }
        tracing::info!(
            "host `{}`: the ssh master went away; connecting again",
            self.host.name
        );
        let fresh = Arc::new(
            self.ctx
                .open(&self.host, self.via)
                .await
                .map_err(|e| (e.kind, e.message))?,
        );
        *lock(&self.session) = Some(fresh.clone());
        start(fresh).await.map_err(|e| {
            (
                ErrorKind::Io,
                format!("starting the command over ssh: {}", error_text(&e)),
            )
        })
    }
}

#[async_trait]
impl Exec for SshExec {
    fn kind(&self) -> &'static str {
        if self.via == PathKind::Jump {
            "jump"
        } else {
            "ssh"
        }
    }

    async fn exec(
        &self,
        invocation: &Invocation,
        stdin: &[u8],
        limit: usize,
    ) -> Result<RawOutput, (ErrorKind, String)> {
        let mut child = self.spawn(&invocation.command_line).await?;
        let input = invocation.input(stdin);
        let pipes = (
            child.stdin().take(),
            child.stdout().take(),
            child.stderr().take(),
        );
        let code = |s: &Result<std::process::ExitStatus, openssh::Error>| {
            s.as_ref().ok().and_then(|s| s.code())
        };
        let (pipes, status) = finish(
            pipes,
            &input,
            child.wait(),
            limit,
            code,
            "ssh",
            WaitMode::AfterOutput,
        )
        .await?;
        let status = match status {
            Ok(s) => s.code(),
            // Killed by a signal (e.g. `timeout -k`) or the connection went away;
            // the multiplex protocol cannot tell the two apart.
            Err(openssh::Error::RemoteProcessTerminated) => None,
            Err(e) => {
                return Err((
                    ErrorKind::Io,
                    format!("the ssh session failed: {}", error_text(&e)),
                ))
            }
        };
        Ok(RawOutput {
            stdout: pipes.0,
            stderr: pipes.1,
            status,
        })
    }

    async fn close(&mut self) -> Result<(), String> {
        let session = lock(&self.session).take();
        match session.map(Arc::try_unwrap) {
            Some(Ok(s)) => s.close().await.map_err(|e| error_text(&e)),
            // A command still holds it: its master goes when that ends.
            Some(Err(_)) | None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: the changed-host-key hint said `ssh-keygen -R ADDR`,
    /// which edits only `~/.ssh/known_hosts`, also when the old key was in
    /// another file; and it named a host on another port without its port.
    #[test]
    fn the_remove_key_command_names_the_known_hosts_file_unless_default() {
        let home = Path::new("/home/ops");
        // the lines OpenSSH 9.2p1 prints, for port 2222 and a UserKnownHostsFile in a directory with a space
        let log = "Host key for [10.77.1.1]:2222 has changed and you have requested strict checking.\nOffending ED25519 key in /srv/lab dir/known_hosts:3\nHost key verification failed.";
        assert_eq!(
            remove_key_command(log, "10.77.1.1", Some(home)),
            "ssh-keygen -R '[10.77.1.1]:2222' -f '/srv/lab dir/known_hosts'"
        );
        let default = "Offending ECDSA key in /home/ops/.ssh/known_hosts:12\nHost key for web1.example.org has changed and you have requested strict checking.";
        assert_eq!(
            remove_key_command(default, "10.0.0.9", Some(home)),
            "ssh-keygen -R web1.example.org"
        );
        // another user's default file is not ours: named
        assert_eq!(
            remove_key_command(default, "10.0.0.9", Some(Path::new("/root"))),
            "ssh-keygen -R web1.example.org -f /home/ops/.ssh/known_hosts"
        );
        // ssh named neither: the address alone
        assert_eq!(
            remove_key_command("REMOTE HOST IDENTIFICATION HAS CHANGED", "10.0.0.9", None),
            "ssh-keygen -R 10.0.0.9"
        );
    }

    #[test]
    fn interprets_real_ssh_messages() {
        // Captured from OpenSSH 9.2p1 (Debian 12) with strict checking and an empty known_hosts.
        let unknown = "the master connection failed: No ED25519 host key is known for 10.77.1.1 and you have requested strict checking.\nHost key verification failed.";
        let (k, m, h) = interpret(unknown, "10.77.1.1");
        assert_eq!(k, ErrorKind::HostKey);
        assert_eq!(
            m,
            "the host key of `10.77.1.1` is not in known_hosts (strict host-key checking)"
        );
        assert!(h.unwrap().contains("--accept-new-hostkeys"));

        let changed = "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\nIT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\nSomeone could be eavesdropping on you right now (man-in-the-middle attack)!\nIt is also possible that a host key has just been changed.\nThe fingerprint for the ED25519 key sent by the remote host is\nSHA256:2mZzB9bq0f0G4Q0Z9m7yKQ1J2vZ0aXx8YdKp3h5G1nE.\nPlease contact your system administrator.\nAdd correct host key in /tmp/kh to get rid of this message.\nOffending ED25519 key in /tmp/kh:1\nHost key for 10.77.1.1 has changed and you have requested strict checking.\nHost key verification failed.";
        let (k, m, h) = interpret(changed, "10.77.1.1");
        assert_eq!(k, ErrorKind::HostKey);
        assert_eq!(
            m,
            "the host key of `10.77.1.1` has CHANGED; it now presents SHA256:2mZzB9bq0f0G4Q0Z9m7yKQ1J2vZ0aXx8YdKp3h5G1nE"
        );
        // the key is in a file of its own (`--ssh-config`, `UserKnownHostsFile`)
        assert!(
            h.as_deref()
                .unwrap()
                .contains("`ssh-keygen -R 10.77.1.1 -f /tmp/kh`"),
            "{h:?}"
        );

        let reset = "the master connection failed: kex_exchange_identification: read: Connection reset by peer\nConnection reset by 10.77.1.1 port 22";
        let (k, m, _) = interpret(reset, "10.77.1.1");
        assert_eq!(k, ErrorKind::Connect);
        assert_eq!(m, "kex_exchange_identification: read: Connection reset by peer; Connection reset by 10.77.1.1 port 22");

        let denied = "root@10.77.1.1: Permission denied (publickey,password).";
        let (k, _, h) = interpret(denied, "10.77.1.1");
        assert_eq!(k, ErrorKind::Connect);
        assert!(h.unwrap().contains("ansible_user"));

        // Nothing at all (a `LogLevel QUIET` somewhere): never a reason to try the next path.
        let (k, m, _) = interpret("failed to connect to the remote host: ", "10.77.1.1");
        assert_eq!(k, ErrorKind::Unexplained);
        assert!(m.contains("a host-key failure cannot be ruled out"));
    }
}
