//! Gathering: reach each host over its working path and run the facts script
//! there exactly once (the same remote command also proves the path), at most
//! `forks` hosts at a time.
//!
//! The only I/O is through [`Reacher`] (transports) and the probe's socket
//! helper; what comes back is parsed by [`super::frame`].

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::frame::{self, Frames};
use super::script::{self, ScriptInput, ITEM_CAP};
use crate::inventory::vars::HostSettings;
use crate::transport::paths::{Attempt, FirstRun, Reacher};
use crate::transport::PathKind;

/// One host's gathering: how it was reached and what the script printed.
#[derive(Debug)]
pub struct Gathered {
    pub host: String,
    /// `None` when no path worked.
    pub reached_via: Option<PathKind>,
    /// Paths that failed or were skipped before the working one (all of them
    /// when none worked).
    pub attempts: Vec<Attempt>,
    /// The clients whose access was examined (`sshfix_allow_from`, or the
    /// controller's own address toward the host).
    pub clients: Vec<IpAddr>,
    /// Where the client list came from, for the report.
    pub clients_from: ClientsFrom,
    /// The script's frames, or why there are none.
    pub outcome: Result<Frames, String>,
    /// Wall time for this host, from the start of path selection.
    pub seconds: f64,
}

/// Where [`Gathered::clients`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientsFrom {
    AllowFrom,
    Controller,
    /// Neither: no `sshfix_allow_from` and the controller has no route to the host.
    Unknown,
}

/// The addresses to examine for `host`: each `sshfix_allow_from` entry (a
/// network stands for its first address), or else the controller's source
/// address toward the host.
pub async fn clients_of(host: &HostSettings) -> (Vec<IpAddr>, ClientsFrom) {
    if !host.allow_from.is_empty() {
        let mut v: Vec<IpAddr> = Vec::new();
        for net in &host.allow_from {
            let a = net.hosts().next().unwrap_or(net.addr());
            if !v.contains(&a) {
                v.push(a);
            }
        }
        return (v, ClientsFrom::AllowFrom);
    }
    match crate::probe::socket::source_address(
        &host.address,
        host.ssh_port(),
        Duration::from_secs(5),
    )
    .await
    {
        Some(a) => (vec![a], ClientsFrom::Controller),
        None => (Vec::new(), ClientsFrom::Unknown),
    }
}

/// Reaches `host` and runs the facts script once.
pub async fn gather_one(reacher: &Reacher, host: &HostSettings) -> Gathered {
    let start = Instant::now();
    let (clients, clients_from) = clients_of(host).await;
    let marker = script::random_marker();
    let input = ScriptInput {
        marker: marker.clone(),
        port: host.ssh_port(),
        clients: clients.clone(),
        user: host.user.clone().unwrap_or_else(|| "root".into()),
    };
    let mut g = Gathered {
        host: host.name.clone(),
        reached_via: None,
        attempts: Vec::new(),
        clients,
        clients_from,
        outcome: Err(String::new()),
        seconds: 0.0,
    };
    let script = match script::build(&input) {
        Ok(s) => s,
        Err(e) => {
            g.outcome = Err(format!(
                "host `{}`: building the facts script failed: {e}",
                host.name
            ));
            return g;
        }
    };
    let first = FirstRun {
        script,
        timeout: host.command_timeout(),
    };
    match reacher.reach_and_run(host, &first).await {
        Err(unreached) => {
            g.attempts = unreached.attempts.clone();
            g.outcome = Err(unreached.to_string());
        }
        Ok(reached) => {
            g.reached_via = Some(reached.via());
            g.attempts = reached.attempts;
            g.outcome = match reached.first {
                Some(Ok(out)) => interpret(&host.name, &out, &marker),
                Some(Err(mut e)) => {
                    if e.kind == crate::transport::ErrorKind::Timeout {
                        e.hint = Some(format!(
                            "a command of the facts script hangs on the host (a stalled disk or NFS mount, a `ps` or `ss` that blocks), or the host is slow: look there, or raise the inventory variable `sshfix_command_timeout` (now {} s)",
                            host.command_timeout().as_secs_f64()
                        ));
                    }
                    Err(format!("the facts script failed: {e}"))
                }
                None => Err(format!(
                    "host `{}`: the facts script did not run (internal error)",
                    host.name
                )),
            };
            if let Err(e) = reached.transport.close().await {
                tracing::debug!("closing {}: {e}", host.name);
            }
        }
    }
    g.seconds = (start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    g
}

/// Turns the script's output into frames, or a clear error for output that is
/// not what the script prints.
fn interpret(host: &str, out: &crate::transport::Output, marker: &str) -> Result<Frames, String> {
    match frame::parse(&out.stdout, marker, ITEM_CAP) {
        Ok(f) if f.done => Ok(f),
        Ok(f) if f.items.is_empty() => Err(format!(
            "host `{host}`: the facts script printed no facts (exit {}); output: {}; stderr: {}",
            out.status.map_or("by signal".into(), |s| s.to_string()),
            crate::transport::tail(&f.noise),
            out.stderr_tail()
        )),
        Ok(f) => {
            // stopped part-way: keep what arrived, the parsers see truncation
            tracing::warn!(
                "host `{host}`: the facts script stopped after {} items (exit {}): {}",
                f.items.len(),
                out.status.map_or("by signal".into(), |s| s.to_string()),
                out.stderr_tail()
            );
            Ok(f)
        }
        Err(e) => Err(format!(
            "host `{host}`: the facts script's output is garbled ({e}); is the login shell POSIX?"
        )),
    }
}

/// Gathers from every host, at most `forks` at once, in inventory order.
pub async fn gather_all(
    reacher: Arc<Reacher>,
    hosts: &[HostSettings],
    forks: usize,
) -> Vec<Gathered> {
    let permits = Arc::new(Semaphore::new(forks.max(1)));
    let mut tasks = JoinSet::new();
    for (index, host) in hosts.iter().cloned().enumerate() {
        let reacher = reacher.clone();
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (index, gather_one(&reacher, &host).await)
        });
    }
    let mut done: Vec<Option<Gathered>> = (0..hosts.len()).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, g)) => done[index] = Some(g),
            Err(e) => tracing::error!("a gathering task failed: {e}"),
        }
    }
    done.into_iter()
        .zip(hosts)
        .map(|(g, h)| {
            g.unwrap_or_else(|| Gathered {
                host: h.name.clone(),
                reached_via: None,
                attempts: Vec::new(),
                clients: Vec::new(),
                clients_from: ClientsFrom::Unknown,
                outcome: Err("internal error: the gathering task ended abnormally".into()),
                seconds: 0.0,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Output;

    fn out(stdout: &[u8], status: i32) -> Output {
        Output {
            stdout: stdout.to_vec(),
            stderr: b"some stderr".to_vec(),
            status: Some(status),
        }
    }

    const M: &str = "sshfix-0123456789abcdef0123";

    #[test]
    fn a_host_that_prints_no_frames_gets_a_clear_error() {
        let e = interpret("web1", &out(b"Welcome!\n%\n", 1), M).unwrap_err();
        assert!(e.contains("host `web1`"), "{e}");
        assert!(e.contains("printed no facts (exit 1)"), "{e}");
        assert!(e.contains("Welcome!"), "{e}");
    }

    #[test]
    fn garbled_frames_are_an_error_naming_the_likely_cause() {
        let e = interpret("web1", &out(format!("{M} nonsense\n").as_bytes(), 0), M).unwrap_err();
        assert!(e.contains("garbled"), "{e}");
        assert!(e.contains("POSIX"), "{e}");
    }

    #[test]
    fn a_script_stopped_midway_keeps_what_arrived() {
        let s = format!("{M} begin env\nuid=0\n\n{M} rc 0\n\n{M} end 1 2\n{M} begin ps\n1 0 init");
        let f = interpret("web1", &out(s.as_bytes(), 137), M).unwrap();
        assert!(!f.done);
        assert!(f.get("env").unwrap().ok());
        assert!(f.get("ps").unwrap().truncated);
    }
}
