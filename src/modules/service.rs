//! The `service` fix module: start, reload or restart a service by its logical name (`sshd`, `haproxy`, `inetd`), as an [`Op::Start`]/[`Op::Reload`]/[`Op::Restart`] action.
//!
//! Arguments: `name` (a plain service name, `[A-Za-z0-9@._-]+`, not starting
//! with `-`; `apply` maps logical names such as `sshd` to the host's unit),
//! `state` (`started`, `reloaded` or `restarted`; default `started`).
//!
//! `started` for a stopped `sshd` is refused while another program holds
//! sshd's port (the facts name it): sshd could not bind the port, and which
//! of the two should have it is a human's decision.
//!
//! For `sshd` run per connection by inetd/xinetd (`sshd -i`), `reloaded` and
//! `restarted` are nothing to do (each connection reads the configuration)
//! and `started` is refused (a standalone daemon would compete for the port).
//!
//! `started` is nothing to do when the facts show the service running; the
//! facts know the processes of `sshd`, `haproxy`, `inetd`/`xinetd`
//! ([`crate::facts::model::HostFacts`]), so for any other name, and for
//! `reloaded`/`restarted` (asked for because something changed), the action
//! is always proposed.

use serde::Deserialize;
use serde_json::Value;

use super::{FixError, Host, Proposal};
use crate::change::{Action, Op};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    Started,
    Reloaded,
    Restarted,
}

/// The arguments of a `service` fix task.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskArgs {
    name: String,
    #[serde(default)]
    state: Option<State>,
}

/// Whether the facts saw service `name` running (`None`: they cannot tell).
fn running(host: &Host, name: &str) -> Option<bool> {
    let f = host.facts;
    match name {
        "sshd" | "ssh" => Some(f.sshd.running),
        "haproxy" => Some(f.haproxy.running),
        // known only when an inetd entry serves ssh
        "inetd" | "xinetd" | "openbsd-inetd" if f.inetd.serves_ssh => Some(f.inetd.running_for_ssh),
        _ => None,
    }
}

/// Runs a `service` fix task.
pub fn task(host: &Host, args: &Value, finding: &str) -> Result<Proposal, FixError> {
    let a: TaskArgs = super::args("service", args)?;
    let name = a.name.as_str();
    let plain = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '_' | '-'));
    if !plain {
        return Err(FixError::new(format!(
            "`service`: `name: {name}` is not a plain service name (letters, digits, `@`, `.`, `_`, `-`)"
        )));
    }
    let state = a.state.unwrap_or(State::Started);
    let target = name.to_string();
    // sshd run per connection by inetd/xinetd (`sshd -i`) reads its
    // configuration on every connection: nothing to reload, and a
    // standalone daemon must not be started next to the super-server
    let f = host.facts;
    if matches!(name, "sshd" | "ssh") && f.inetd.serves_ssh && !f.sshd.running {
        return match state {
            State::Reloaded | State::Restarted => Ok(Proposal::default()),
            State::Started => Err(FixError::new(format!(
                "`service`: sshd is started per connection by {} here; starting a standalone sshd would compete for the port, so start the super-server (or switch to a standalone sshd) by hand",
                f.inetd
                    .entries
                    .iter()
                    .filter(|e| e.enabled)
                    .map(|e| e.server.as_str())
                    .collect::<Vec<_>>()
                    .join(" and ")
            ))),
        };
    }
    // a stopped sshd cannot start while another program holds its port
    let holders = &f.sshd.port_other_owners;
    if matches!(name, "sshd" | "ssh")
        && state == State::Started
        && !f.sshd.running
        && !holders.is_empty()
    {
        let names: Vec<String> = holders
            .iter()
            .map(|o| match o.pid {
                Some(pid) => format!("`{}` (pid {pid})", o.process),
                None => format!("`{}`", o.process),
            })
            .collect();
        return Err(FixError::new(format!(
                "`service`: port {port} is held by {}, not sshd, so sshd cannot start there; find out what that program is for, then stop it or move it to another port (or give sshd another `Port`) and start sshd by hand",
                names.join(" and "),
                port = f.sshd.port,
            )));
    }
    let (op, reason) = match state {
        State::Started => {
            if running(host, name) == Some(true) {
                return Ok(Proposal::default());
            }
            let why = match running(host, name) {
                Some(_) => "the facts show it is not running",
                None => "the facts cannot tell whether it runs; starting a running service changes nothing",
            };
            (Op::Start { target }, format!("start `{name}`: {why}"))
        }
        State::Reloaded => (
            Op::Reload { target },
            format!("reload `{name}` so it reads its changed configuration"),
        ),
        State::Restarted => (
            Op::Restart { target },
            format!("restart `{name}` so the change takes effect"),
        ),
    };
    Ok(Proposal {
        edits: Vec::new(),
        actions: vec![Action::new(op, finding, reason)],
    })
}

#[cfg(test)]
mod tests {
    use super::super::command::test_host::Fixture;
    use super::*;
    use serde_json::json;

    fn run(f: &Fixture, args: Value) -> Result<Proposal, FixError> {
        task(&f.host(), &args, "sshd-not-running")
    }

    fn op(p: &Proposal) -> &Op {
        assert!(p.edits.is_empty());
        assert_eq!(p.actions.len(), 1, "{p:?}");
        &p.actions[0].op
    }

    #[test]
    fn starts_a_stopped_sshd_and_not_a_running_one() {
        let stopped = Fixture::load("hostkeys-missing");
        assert!(!stopped.facts.sshd.running);
        let p = run(&stopped, json!({"name": "sshd"})).unwrap();
        assert_eq!(
            op(&p),
            &Op::Start {
                target: "sshd".into()
            }
        );
        assert_eq!(
            p.actions[0].reason,
            "start `sshd`: the facts show it is not running"
        );
        let healthy = Fixture::load("healthy");
        assert!(healthy.facts.sshd.running);
        assert!(run(&healthy, json!({"name": "sshd", "state": "started"}))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn inetd_and_haproxy_from_the_facts() {
        let inetd = Fixture::load("inetd");
        assert!(inetd.facts.inetd.serves_ssh && !inetd.facts.inetd.running_for_ssh);
        let p = run(&inetd, json!({"name": "inetd"})).unwrap();
        assert_eq!(
            op(&p),
            &Op::Start {
                target: "inetd".into()
            }
        );
        let lb = Fixture::load("lb-http");
        assert!(lb.facts.haproxy.running);
        assert!(run(&lb, json!({"name": "haproxy"})).unwrap().is_empty());
        // the healthy host has no inetd entry for ssh: cannot tell, so start
        let h = Fixture::load("healthy");
        let p = run(&h, json!({"name": "inetd"})).unwrap();
        assert!(p.actions[0].reason.contains("cannot tell"));
    }

    /// Regression (review): on a host where inetd runs sshd per connection,
    /// a config fix's `reload sshd` must not become a standalone daemon.
    #[test]
    fn sshd_under_inetd_is_never_started_standalone() {
        let inetd = Fixture::load("inetd");
        assert!(inetd.facts.inetd.serves_ssh && !inetd.facts.sshd.running);
        for state in ["reloaded", "restarted"] {
            assert!(run(&inetd, json!({"name": "sshd", "state": state}))
                .unwrap()
                .is_empty());
        }
        let e = run(&inetd, json!({"name": "sshd", "state": "started"})).unwrap_err();
        assert!(e.message.contains("started per connection by inetd"), "{e}");
    }

    /// Regression: with port 22 held by another program, the plan said
    /// sshd-not-running needs a human because the fix's `when` conditions
    /// were false, naming neither the program nor what to do.
    #[test]
    fn sshd_is_not_started_while_another_program_holds_its_port() {
        let held = Fixture::load("http-on-22");
        assert!(!held.facts.sshd.running);
        let e = run(&held, json!({"name": "sshd", "state": "started"})).unwrap_err();
        assert_eq!(
            e.message,
            "`service`: port 22 is held by `socat` (pid 280), not sshd, so sshd cannot start there; find out what that program is for, then stop it or move it to another port (or give sshd another `Port`) and start sshd by hand"
        );
    }

    #[test]
    fn reload_and_restart_are_always_proposed() {
        let h = Fixture::load("healthy");
        let p = run(&h, json!({"name": "sshd", "state": "reloaded"})).unwrap();
        assert_eq!(
            op(&p),
            &Op::Reload {
                target: "sshd".into()
            }
        );
        let p = run(
            &h,
            json!({"name": "getty@tty1.service", "state": "restarted"}),
        )
        .unwrap();
        assert_eq!(
            op(&p),
            &Op::Restart {
                target: "getty@tty1.service".into()
            }
        );
        assert_eq!(p.actions[0].finding, "sshd-not-running");
    }

    #[test]
    fn refusals() {
        let h = Fixture::load("healthy");
        let err = |a: Value| run(&h, a).unwrap_err().message;
        assert!(err(json!({"name": "ssh; reboot"})).contains("not a plain service name"));
        assert!(err(json!({"name": "-sshd"})).contains("not a plain service name"));
        assert!(err(json!({"name": ""})).contains("not a plain service name"));
        assert!(err(json!({"name": "a/b"})).contains("not a plain service name"));
        assert!(err(json!({"name": "sshd", "state": "stopped"})).contains("bad arguments"));
        assert!(err(json!({"name": "sshd", "enabled": true})).contains("bad arguments"));
    }
}
