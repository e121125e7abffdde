//! The plan: per host, how it was reached, what the probe saw, the findings,
//! the proposed changes and actions, and what needs a human. Pure data,
//! serialised as `interface.md`'s plan JSON (schema version 1).
//!
//! [`propose`] runs the fired findings' fix tasks through the fix modules
//! (`crate::modules`), one finding at a time on a [`Workspace`] so that two
//! fixes of one file compose into one edit. A finding's tasks are all or
//! nothing: if one cannot be proposed, none of that finding's are kept and
//! the finding is listed as needing a human, with the reason.

pub mod load;

use serde::Serialize;
use serde_json::{json, Value};

use crate::change::{Action, Edit, Op};
use crate::checks::{Finding, Fix};
use crate::facts::gather::Gathered;
use crate::modules::{self, Host, Proposal, Workspace};
use crate::probe::ProbeResult;
use crate::report::diff;

/// The plan JSON schema version.
pub const VERSION: u32 = 1;

/// All hosts' plans.
#[derive(Debug, Clone)]
pub struct Plan {
    /// When the plan was made (RFC 3339, UTC).
    pub created: String,
    pub hosts: Vec<HostPlan>,
}

/// One host's part of the plan.
#[derive(Debug, Clone)]
pub struct HostPlan {
    pub host: String,
    /// `direct`, `jump`, `console`; `None` when no path worked.
    pub reached_via: Option<String>,
    /// Why the facts are missing (no path, or the script failed).
    pub error: Option<String>,
    pub probe: ProbeResult,
    pub findings: Vec<Finding>,
    /// Checks that could not be evaluated on this host (named, with the reason).
    pub check_errors: Vec<String>,
    /// File edits, one per path.
    pub changes: Vec<Edit>,
    /// Actions in the order `apply` takes them: commands and file
    /// attributes first, then service actions.
    pub actions: Vec<Action>,
    /// Findings no change is proposed for, and why.
    pub needs_human: Vec<NeedsHuman>,
    /// Seconds spent reaching the host and gathering its facts.
    pub seconds: f64,
}

impl HostPlan {
    pub fn new(gathered: &Gathered, probe: &ProbeResult) -> HostPlan {
        HostPlan {
            host: gathered.host.clone(),
            reached_via: gathered.reached_via.map(|v| v.to_string()),
            error: gathered.outcome.as_ref().err().cloned(),
            probe: probe.clone(),
            findings: Vec::new(),
            check_errors: Vec::new(),
            changes: Vec::new(),
            actions: Vec::new(),
            needs_human: Vec::new(),
            seconds: gathered.seconds,
        }
    }

    /// Whether this host has edits or actions.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty() || !self.actions.is_empty()
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "host": self.host,
            "reached_via": self.reached_via,
            "probe": {
                "symptom": self.probe.symptom.as_str(),
                "detail": self.probe.detail,
            },
            "findings": self.findings,
            "changes": self.changes.iter().map(change_json).collect::<Vec<_>>(),
            "actions": self.actions,
            "needs_human": self.needs_human,
        });
        if let Some(e) = &self.probe.evidence {
            v["probe"]["evidence"] = json!(e);
        }
        if let Some(e) = &self.error {
            v["error"] = json!(e);
        }
        if !self.check_errors.is_empty() {
            v["check_errors"] = json!(self.check_errors);
        }
        v
    }
}

impl Plan {
    pub fn new(created: String) -> Plan {
        Plan {
            created,
            hosts: Vec::new(),
        }
    }

    /// Whether applying the plan would change anything (`--detailed-exitcode`).
    pub fn has_changes(&self) -> bool {
        self.hosts.iter().any(HostPlan::has_changes)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "version": VERSION,
            "created": self.created,
            "hosts": self.hosts.iter().map(HostPlan::to_json).collect::<Vec<_>>(),
        })
    }
}

/// A finding the plan proposes no change for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NeedsHuman {
    /// The finding's id.
    pub finding: String,
    /// Why no change is proposed, and what to look at.
    pub reason: String,
}

/// One edit as the plan JSON's `changes` entry: `path`, `before_sha256`
/// (`null` for a new file), `after` (the whole new content; `after_hex`
/// instead when it is not UTF-8), `after_sha256`, `diff`, `validator`,
/// `finding`, `reason`.
pub fn change_json(e: &Edit) -> Value {
    let mut v = json!({
        "path": e.path,
        "before_sha256": e.before_sha256,
        "after_sha256": crate::change::sha256_hex(&e.after),
        "diff": diff::unified(e),
        "validator": e.validator,
        "finding": e.finding,
        "reason": e.reason,
    });
    match std::str::from_utf8(&e.after) {
        Ok(text) => v["after"] = json!(text),
        Err(_) => v["after_hex"] = json!(hex::encode(&e.after)),
    }
    v
}

/// One pass of [`propose`]; findings in `held` are listed for a human with
/// the given reason. Also returns the findings whose fix has a service
/// action on sshd.
fn propose_once(
    host: &Host,
    findings: &[Finding],
    held: &[(String, String)],
) -> (Proposal, Vec<NeedsHuman>, Vec<String>) {
    let mut ws = Workspace::new(host.files.clone());
    let mut human = Vec::new();
    let mut touch_sshd = Vec::new();
    for f in findings {
        if let Some((_, reason)) = held.iter().find(|(id, _)| *id == f.id) {
            human.push(NeedsHuman {
                finding: f.id.clone(),
                reason: reason.clone(),
            });
            continue;
        }
        let serious = f.severity != crate::checks::Severity::Info;
        let calls = match &f.fix {
            // info findings are not causes: reported, not listed for a human
            Fix::None if !serious => continue,
            Fix::None => {
                human.push(NeedsHuman {
                    finding: f.id.clone(),
                    reason: "sshfix has no automatic fix for this finding; see the evidence".into(),
                });
                continue;
            }
            Fix::Calls(c) if c.is_empty() => {
                if serious {
                    human.push(NeedsHuman {
                        finding: f.id.clone(),
                        reason: "none of the check's fix tasks applies on this host (their `when` conditions are false); see the evidence".into(),
                    });
                }
                continue;
            }
            Fix::Error(e) => {
                human.push(NeedsHuman {
                    finding: f.id.clone(),
                    reason: e.clone(),
                });
                continue;
            }
            Fix::Calls(c) => c,
        };
        let mut trial = ws.clone();
        let actions_before = trial.actions().len();
        let mut failed = None;
        let mut proposed_any = false;
        for call in calls {
            let h = Host {
                files: trial.files(),
                gathered: host.files,
                ..*host
            };
            match modules::run(&call.module, &h, &call.args, &f.id) {
                Ok(p) => {
                    proposed_any |= !p.is_empty();
                    trial.add(p);
                }
                Err(e) => {
                    // modules start their refusals with "`module`: " so they
                    // read alone; here the task already names the module
                    let own = format!("`{}`: ", call.module);
                    let why = e.message.strip_prefix(&own).unwrap_or(&e.message);
                    failed = Some(format!(
                        "fix task `{}` ({}): {why}",
                        call.module, call.source
                    ));
                    break;
                }
            }
        }
        match failed {
            Some(reason) => human.push(NeedsHuman {
                finding: f.id.clone(),
                reason,
            }),
            None if !proposed_any && serious => {
                human.push(NeedsHuman {
                    finding: f.id.clone(),
                    reason: "the fix tasks found nothing to change although the check fired; the facts and the fix disagree, look by hand".into(),
                })
            }
            None => {
                if trial.actions()[actions_before..]
                    .iter()
                    .any(|a| a.op.service() == Some("sshd"))
                {
                    touch_sshd.push(f.id.clone());
                }
                ws = trial;
            }
        }
    }
    let mut p = ws.finish();
    p.actions = order_actions(p.actions);
    (p, human, touch_sshd)
}

/// Findings that, left to a human, keep sshd from starting or reloading:
/// a plan that starts or reloads sshd anyway could only fail.
const BLOCKS_SSHD: &[&str] = &[
    "sshd-config-invalid",
    "host-keys-missing",
    "host-key-permissions",
    "privsep-dir-missing",
    "port-wrong-service",
];

/// Runs each finding's fix tasks for one host (see the module docs). Pure:
/// `host.files` are the files as gathered; the modules see them with the
/// earlier findings' edits applied. When a finding that keeps sshd from
/// starting needs a human, the findings whose fix starts, reloads or
/// restarts sshd need one too (planned again without them).
pub fn propose(host: &Host, findings: &[Finding]) -> (Proposal, Vec<NeedsHuman>) {
    let (p, human, touch_sshd) = propose_once(host, findings, &[]);
    let blockers: Vec<&str> = human
        .iter()
        .map(|n| n.finding.as_str())
        .filter(|id| BLOCKS_SSHD.contains(id))
        .collect();
    if blockers.is_empty() || touch_sshd.is_empty() {
        return (p, human);
    }
    let why = format!(
        "its fix starts or reloads sshd, which cannot work until {} is fixed by hand",
        blockers
            .iter()
            .map(|b| format!("`{b}`"))
            .collect::<Vec<_>>()
            .join(" and ")
    );
    let held: Vec<(String, String)> = touch_sshd.into_iter().map(|id| (id, why.clone())).collect();
    let (p, human, _) = propose_once(host, findings, &held);
    (p, human)
}

/// Merges and orders actions: identical commands and file actions once;
/// per service one action, the strongest asked for (restart > start >
/// reload); commands and file actions first, then services.
fn order_actions(actions: Vec<Action>) -> Vec<Action> {
    fn rank(op: &Op) -> u8 {
        match op {
            Op::Reload { .. } => 1,
            Op::Start { .. } => 2,
            Op::Restart { .. } => 3,
            _ => 0,
        }
    }
    let mut other: Vec<Action> = Vec::new();
    let mut services: Vec<Action> = Vec::new();
    for a in actions {
        let list = if a.op.service().is_some() {
            &mut services
        } else {
            &mut other
        };
        let same = list
            .iter_mut()
            .find(|x| match (x.op.service(), a.op.service()) {
                (Some(s1), Some(s2)) => s1 == s2,
                _ => x.op == a.op,
            });
        match same {
            None => list.push(a),
            Some(x) => {
                crate::change::add_findings(&mut x.finding, &a.finding);
                // the stronger action subsumes the weaker one, and its
                // reason is the one that holds
                if rank(&a.op) > rank(&x.op) {
                    x.op = a.op;
                    x.reason = a.reason;
                } else if rank(&a.op) == rank(&x.op) && !x.reason.contains(&a.reason) {
                    x.reason = format!("{}; {}", x.reason, a.reason);
                }
            }
        }
    }
    other.extend(services);
    other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(op: Op, f: &str) -> Action {
        Action::new(op, f, format!("because {f}"))
    }

    #[test]
    fn actions_merge_per_service_and_services_come_last() {
        let reload = |t: &str| Op::Reload { target: t.into() };
        let cmd = Op::Command {
            command: "ssh-keygen -A".into(),
            creates: None,
            undo: None,
        };
        let out = order_actions(vec![
            svc(reload("sshd"), "a"),
            svc(cmd.clone(), "k"),
            svc(
                Op::Start {
                    target: "sshd".into(),
                },
                "b",
            ),
            svc(reload("haproxy"), "c"),
            svc(reload("sshd"), "d"),
            svc(cmd.clone(), "k2"),
        ]);
        let got: Vec<(String, String)> = out
            .iter()
            .map(|a| (a.op.describe(), a.finding.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("run `ssh-keygen -A`".to_string(), "k, k2".to_string()),
                ("start sshd".to_string(), "a, b, d".to_string()),
                ("reload haproxy".to_string(), "c".to_string()),
            ]
        );
    }
}
