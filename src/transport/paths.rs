//! Working-path selection: try a host's paths in `sshfix_paths` order
//! (`direct`, `jump`, `console`), prove each with a command that must echo a
//! sentinel, and keep the first that works (`reached_via`).
//!
//! A host-key problem or a sudo refusal ends the search: routing around a
//! changed host key would defeat its purpose, and sudo fails the same way on
//! every path.

use std::fmt;
use std::time::Duration;

use super::command::{BecomeAuth, Secret};
use super::console::ConsoleExec;
use super::local::Local;
use super::serial::protocol::Timeouts;
use super::serial::session::{Login, SerialExec};
use super::ssh::{SshContext, SshOptions};
use super::{Connection, ErrorKind, PathKind, Transport, TransportError};
use crate::inventory::vars::{Connection as ConnKind, Console, ConsoleKind, HostSettings};

/// How long the sentinel command of a fresh path may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);
const SENTINEL: &str = "sshfix-path-ok";

/// Passwords moved out of the process environment by
/// [`withhold_from_children`] (`None`: the variable was not set).
static WITHHELD: std::sync::Mutex<std::collections::BTreeMap<String, Option<String>>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Moves the environment variables `names` (those `sshfix_become_password_env`
/// and `sshfix_console_password_env` name) out of the process environment
/// into sshfix's memory, where [`Reacher`] reads them. Every process sshfix
/// starts inherits its environment — ssh masters that outlive a command, a
/// user's `ProxyCommand`, a console command — and a password has no place in
/// theirs. Call it before any thread is started.
pub fn withhold_from_children<'a>(names: impl IntoIterator<Item = &'a str>) {
    let mut withheld = WITHHELD.lock().unwrap_or_else(|p| p.into_inner());
    for name in names {
        if name.is_empty() || name.contains(['=', '\0']) || withheld.contains_key(name) {
            continue;
        }
        let value = std::env::var(name).ok();
        if std::env::var_os(name).is_some() {
            std::env::remove_var(name);
        }
        withheld.insert(name.to_string(), value);
    }
}

/// A variable withheld from children, else the environment's.
fn withheld_or_env(name: &str) -> Option<String> {
    let withheld = WITHHELD.lock().unwrap_or_else(|p| p.into_inner());
    match withheld.get(name) {
        Some(value) => value.clone(),
        None => std::env::var(name).ok(),
    }
}

/// Opens working paths to hosts; owns the run's ssh context.
pub struct Reacher {
    ssh: std::sync::Arc<SshContext>,
    env: fn(&str) -> Option<String>,
}

/// A host reached over one of its paths.
pub struct Reached {
    pub transport: Box<dyn Transport>,
    /// Paths tried before the one that worked, with why they failed or were skipped.
    pub attempts: Vec<Attempt>,
    /// The result of the [`FirstRun`] given to [`Reacher::reach_and_run`]
    /// (its stdout without the sentinel line); `None` from [`Reacher::reach`].
    pub first: Option<Result<super::Output, TransportError>>,
}

/// A script that proves the path and does the host's first piece of work in
/// the same remote command: one session, one run (e.g. the facts script).
#[derive(Debug, Clone)]
pub struct FirstRun {
    pub script: String,
    pub timeout: Duration,
}

impl Reached {
    pub fn via(&self) -> PathKind {
        self.transport.via()
    }
}

/// One path that did not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub via: PathKind,
    /// `None` when the path was skipped (not configured).
    pub error: Option<TransportError>,
    pub note: String,
}

/// A host no path reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreached {
    pub host: String,
    pub attempts: Vec<Attempt>,
}

impl Unreached {
    /// True when the search stopped on a host-key problem or an input error,
    /// rather than every path being down.
    pub fn is_fatal(&self) -> bool {
        self.attempts.iter().any(|a| {
            a.error.as_ref().is_some_and(|e| {
                matches!(
                    e.kind,
                    ErrorKind::HostKey
                        | ErrorKind::Unexplained
                        | ErrorKind::Become
                        | ErrorKind::Unsupported
                )
            })
        })
    }
}

impl fmt::Display for Unreached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host `{}`: no working path", self.host)?;
        for a in &self.attempts {
            write!(f, "\n  {}: {}", a.via, a.note)?;
            if let Some(hint) = a.error.as_ref().and_then(|e| e.hint.as_ref()) {
                write!(f, "\n    hint: {hint}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Unreached {}

impl Reacher {
    pub fn new(options: SshOptions) -> std::io::Result<Reacher> {
        Ok(Reacher {
            ssh: SshContext::new(options)?,
            env: withheld_or_env,
        })
    }

    /// Replaces how environment variables are read (tests).
    pub fn with_env(mut self, env: fn(&str) -> Option<String>) -> Self {
        self.env = env;
        self
    }

    /// The sudo settings of `host`, reading the password from the environment.
    fn become_auth(&self, host: &HostSettings) -> Result<Option<BecomeAuth>, TransportError> {
        let Some(b) = &host.become_ else {
            return Ok(None);
        };
        let Some(var) = &b.password_env else {
            return Ok(Some(BecomeAuth::NoPassword {
                user: b.user.clone(),
            }));
        };
        let password = self.password_from_env(
            host,
            None,
            "sshfix_become_password_env",
            var,
            "sudo password",
            (|c| c == '\n' || c == '\0', "a newline or NUL"),
        )?;
        Ok(Some(BecomeAuth::Password {
            user: b.user.clone(),
            password,
        }))
    }

    /// The password in the environment variable `var`, which the host
    /// setting `setting` names. Refused: an unset variable, an empty value,
    /// and a value with a character `refuse.0` rejects (`refuse.1` says which).
    fn password_from_env(
        &self,
        host: &HostSettings,
        via: Option<PathKind>,
        setting: &str,
        var: &str,
        what: &str,
        refuse: (fn(char) -> bool, &str),
    ) -> Result<Secret, TransportError> {
        match (self.env)(var) {
            Some(pw) if !pw.is_empty() && !pw.chars().any(refuse.0) => Ok(Secret::new(pw)),
            Some(_) => Err(TransportError::new(
                &host.name,
                via,
                ErrorKind::Unsupported,
                format!("the {what} in `${var}` is empty or contains {}", refuse.1),
            )),
            None => Err(TransportError::new(
                &host.name,
                via,
                ErrorKind::Unsupported,
                format!("`{setting}` names `${var}`, which is not set"),
            )
            .with_hint(format!(
                "export {var}=… before running sshfix (the value never appears in output)"
            ))),
        }
    }

    /// The login for `host`'s serial console, reading its password from the
    /// environment.
    fn serial_login(
        &self,
        host: &HostSettings,
        console: &Console,
    ) -> Result<Login, TransportError> {
        let password = match &console.password_env {
            None => None,
            Some(var) => Some(self.password_from_env(
                host,
                Some(PathKind::Console),
                "sshfix_console_password_env",
                var,
                "console password",
                (
                    |c| c.is_ascii_control(),
                    "a control character (a terminal would act on it)",
                ),
            )?),
        };
        Ok(Login {
            user: console.login.clone(),
            password,
        })
    }

    /// Tries `host`'s paths in order; the first that runs the sentinel wins.
    pub async fn reach(&self, host: &HostSettings) -> Result<Reached, Unreached> {
        self.reach_inner(host, None).await
    }

    /// Like [`Reacher::reach`], but the sentinel is printed by `first`'s own
    /// remote command, so proving the path and running `first` cost one
    /// command. A path whose command starts but then times out (or prints too
    /// much) is confirmed with the plain sentinel before it counts as working.
    pub async fn reach_and_run(
        &self,
        host: &HostSettings,
        first: &FirstRun,
    ) -> Result<Reached, Unreached> {
        self.reach_inner(host, Some(first)).await
    }

    async fn reach_inner(
        &self,
        host: &HostSettings,
        first: Option<&FirstRun>,
    ) -> Result<Reached, Unreached> {
        let mut attempts = Vec::new();
        let unreached = |attempts| Unreached {
            host: host.name.clone(),
            attempts,
        };
        let become_ = match self.become_auth(host) {
            Ok(b) => b,
            Err(e) => {
                attempts.push(Attempt {
                    via: host.paths.first().copied().unwrap_or(PathKind::Direct),
                    note: e.message.clone(),
                    error: Some(e),
                });
                return Err(unreached(attempts));
            }
        };
        if host.connection == ConnKind::Local {
            let transport = Box::new(Connection::new(
                &host.name,
                PathKind::Direct,
                Local,
                become_,
            ));
            return match check(transport, first).await {
                Ok((t, first)) => Ok(Reached {
                    transport: t,
                    attempts,
                    first,
                }),
                Err(e) => {
                    attempts.push(Attempt {
                        via: PathKind::Direct,
                        note: e.message.clone(),
                        error: Some(e),
                    });
                    Err(unreached(attempts))
                }
            };
        }
        for &via in &host.paths {
            let opened: Result<Box<dyn Transport>, TransportError> = match via {
                PathKind::Direct | PathKind::Jump => {
                    if via == PathKind::Jump && host.jump.is_empty() {
                        attempts.push(Attempt {
                            via,
                            error: None,
                            note: "not configured (no `sshfix_jump`)".into(),
                        });
                        continue;
                    }
                    match self.ssh.connect(host, via).await {
                        Ok(exec) => Ok(Box::new(Connection::new(
                            &host.name,
                            via,
                            exec,
                            become_.clone(),
                        ))),
                        Err(e) => Err(e),
                    }
                }
                PathKind::Console => match &host.console {
                    None => {
                        attempts.push(Attempt {
                            via,
                            error: None,
                            note: "not configured (no `sshfix_console`)".into(),
                        });
                        continue;
                    }
                    Some(c) if c.kind == ConsoleKind::Serial => match self.serial_login(host, c) {
                        Ok(login) => SerialExec::open(&c.command, login, Timeouts::default())
                            .await
                            .map(|exec| -> Box<dyn Transport> {
                                Box::new(Connection::new(&host.name, via, exec, become_.clone()))
                            })
                            .map_err(|(kind, m)| {
                                TransportError::new(&host.name, Some(via), kind, m)
                            }),
                        Err(e) => Err(e),
                    },
                    Some(c) => Ok(Box::new(Connection::new(
                        &host.name,
                        via,
                        ConsoleExec {
                            command: c.command.clone(),
                        },
                        become_.clone(),
                    ))),
                },
            };
            let checked = match opened {
                Ok(t) => check(t, first).await,
                Err(e) => Err(e),
            };
            match checked {
                Ok((transport, first)) => {
                    return Ok(Reached {
                        transport,
                        attempts,
                        first,
                    })
                }
                Err(e) => {
                    let e = explain_by_refusal(&attempts, e);
                    let stop = matches!(
                        e.kind,
                        ErrorKind::HostKey | ErrorKind::Unexplained | ErrorKind::Become
                    );
                    tracing::info!("{e}");
                    attempts.push(Attempt {
                        via,
                        note: e.message.clone(),
                        error: Some(e),
                    });
                    if stop {
                        break;
                    }
                }
            }
        }
        Err(unreached(attempts))
    }

    /// The run's private ssh directory (generated configs, control sockets).
    /// Writes the ssh configuration of `host` over `via` (for a fresh `ssh -F`
    /// connection outside the run's masters, e.g. verification after apply).
    pub fn ssh_config_for(
        &self,
        host: &HostSettings,
        via: PathKind,
    ) -> Result<std::path::PathBuf, TransportError> {
        self.ssh.write_config(host, via)
    }

    pub fn run_dir(&self) -> &std::path::Path {
        self.ssh.dir()
    }

    /// Closes the run's shared ssh masters and removes its private directory.
    pub async fn close(self) {
        self.ssh.close().await;
    }
}

/// An ssh failure without a message normally ends the search (it could hide
/// a host-key failure). But when the direct path was *refused*, nothing
/// listens on the host's SSH port, so no host key can be presented on any
/// SSH path to it: a silent failure through the jump host is that same
/// refusal (ssh through a jump master sometimes prints nothing for it), and
/// the search may go on to the console.
fn explain_by_refusal(before: &[Attempt], e: TransportError) -> TransportError {
    let refused = before.iter().any(|a| {
        a.via == PathKind::Direct
            && a.error.as_ref().is_some_and(|d| {
                d.kind == ErrorKind::Connect && d.message.contains("Connection refused")
            })
    });
    if e.kind == ErrorKind::Unexplained && e.via == Some(PathKind::Jump) && refused {
        let mut e = e;
        e.kind = ErrorKind::Connect;
        e.message = "ssh through the jump host failed without a message; the direct path was refused, so nothing listens on the SSH port (no host key to check)".into();
        e.hint = None;
        return e;
    }
    e
}

type Checked = (
    Box<dyn Transport>,
    Option<Result<super::Output, TransportError>>,
);

/// Proves a fresh path gives a working shell (and sudo, when asked for); with
/// `first`, that script runs in the same command, after the sentinel.
async fn check(
    transport: Box<dyn Transport>,
    first: Option<&FirstRun>,
) -> Result<Checked, TransportError> {
    let sentinel_line = format!("{SENTINEL}\n");
    if let Some(first) = first {
        let script = format!("echo {SENTINEL}\n{}", first.script);
        match transport.run(&script, b"", first.timeout).await {
            Ok(mut out) if out.stdout.starts_with(sentinel_line.as_bytes()) => {
                out.stdout.drain(..sentinel_line.len());
                return Ok((transport, Some(Ok(out))));
            }
            Err(e) if matches!(e.kind, ErrorKind::Timeout | ErrorKind::OutputTooLarge) => {
                // the command started: is it the path or the script?
                return match check_plain(transport).await {
                    Ok(t) => Ok((t, Some(Err(e)))),
                    Err(path_error) => Err(path_error),
                };
            }
            // no sentinel (or a failure to run): the plain check tells a
            // broken path from a script that went wrong, whose output is kept
            Ok(out) => {
                let first_error = transport.error(
                    ErrorKind::Remote,
                    format!("the script printed no sentinel line ({})", what_came(&out)),
                );
                return check_plain(transport)
                    .await
                    .map(|t| (t, Some(Err(first_error))));
            }
            Err(_) => {}
        }
    }
    check_plain(transport).await.map(|t| (t, None))
}

/// `exit N: <stderr, or stdout when stderr is empty>` of a failed check.
fn what_came(out: &super::Output) -> String {
    format!(
        "exit {}: {}",
        out.status
            .map_or("by signal".to_string(), |s| s.to_string()),
        if out.stderr.is_empty() {
            crate::transport::tail(&out.stdout)
        } else {
            out.stderr_tail()
        }
    )
}

/// The sentinel alone.
async fn check_plain(transport: Box<dyn Transport>) -> Result<Box<dyn Transport>, TransportError> {
    let sentinel_line = format!("{SENTINEL}\n");
    let result = transport
        .run(&format!("echo {SENTINEL}"), b"", CHECK_TIMEOUT)
        .await;
    let failure = match result {
        Ok(out) if out.success() && out.stdout == sentinel_line.as_bytes() => return Ok(transport),
        Ok(out) => transport.error(
            ErrorKind::Connect,
            format!(
                "`{}` gave no working shell ({})",
                transport.kind(),
                what_came(&out)
            ),
        ),
        Err(e) => e,
    };
    let _ = transport.close().await;
    Err(failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A withheld password is still read by sshfix, but no child process
    /// inherits it.
    #[test]
    fn withheld_passwords_stay_out_of_child_environments() {
        let name = "SSHFIX_TEST_WITHHELD_PW_8C1F";
        std::env::set_var(name, "hunter2-withheld");
        withhold_from_children([name, "SSHFIX_TEST_WITHHELD_UNSET_8C1F"]);
        assert_eq!(withheld_or_env(name).as_deref(), Some("hunter2-withheld"));
        assert_eq!(withheld_or_env("SSHFIX_TEST_WITHHELD_UNSET_8C1F"), None);
        assert!(std::env::var_os(name).is_none());
        let child = std::process::Command::new("sh")
            .args([
                "-c",
                "printf '%s' \"${SSHFIX_TEST_WITHHELD_PW_8C1F-unset}\"",
            ])
            .output()
            .unwrap();
        assert_eq!(child.stdout, b"unset");
        // withholding twice keeps the value
        withhold_from_children([name]);
        assert_eq!(withheld_or_env(name).as_deref(), Some("hunter2-withheld"));
    }

    fn attempt(via: PathKind, kind: ErrorKind, message: &str) -> Attempt {
        Attempt {
            via,
            note: message.into(),
            error: Some(TransportError::new("h5", Some(via), kind, message)),
        }
    }

    #[test]
    fn a_silent_jump_failure_after_a_refused_direct_path_is_a_connect_error() {
        let silent = TransportError::new(
            "h5",
            Some(PathKind::Jump),
            ErrorKind::Unexplained,
            "ssh failed without saying why",
        );
        let refused = attempt(
            PathKind::Direct,
            ErrorKind::Connect,
            "connect to host 10.77.1.5 port 22: Connection refused",
        );
        let e = explain_by_refusal(std::slice::from_ref(&refused), silent.clone());
        assert_eq!(e.kind, ErrorKind::Connect);
        assert!(e.message.contains("nothing listens"), "{}", e.message);
        // a timeout (a firewall in front of the controller only) proves nothing
        let timeout = attempt(
            PathKind::Direct,
            ErrorKind::Connect,
            "connect to host 10.77.1.7 port 22: Connection timed out",
        );
        assert_eq!(
            explain_by_refusal(&[timeout], silent.clone()).kind,
            ErrorKind::Unexplained
        );
        // nor does a refusal with no direct attempt before it
        assert_eq!(
            explain_by_refusal(&[], silent.clone()).kind,
            ErrorKind::Unexplained
        );
        // and a host-key failure stays one
        let hostkey =
            TransportError::new("h5", Some(PathKind::Jump), ErrorKind::HostKey, "changed");
        assert_eq!(
            explain_by_refusal(&[refused], hostkey).kind,
            ErrorKind::HostKey
        );
    }
}
