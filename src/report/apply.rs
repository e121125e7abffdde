//! The outcome of `apply` and `rollback`: the final table for people (host,
//! path, findings fixed, result, time; under a failed host its failed step
//! and reason; new host-key fingerprints) and the JSON outcome.

use serde_json::{json, Value};

use crate::apply::outcome::{HostOutcome, HostStatus};

use crate::report::Align;

const HEADERS: [&str; 5] = ["HOST", "PATH", "FIXED", "RESULT", "TIME"];
const ALIGN: [Align; 5] = [
    Align::Left,
    Align::Left,
    Align::Left,
    Align::Left,
    Align::Right,
];

/// The human table and notes (a host's reason filled to `width`).
pub fn render_human(command: &str, run_id: &str, hosts: &[HostOutcome], width: usize) -> String {
    let rows: Vec<[String; 5]> = hosts
        .iter()
        .map(|o| {
            let fixed = if o.findings_fixed.is_empty() || o.result != HostStatus::Repaired {
                "-".to_string()
            } else {
                o.findings_fixed.join(", ")
            };
            let mut result = o.result.as_str().to_string();
            if o.result == HostStatus::Failed {
                match o.reverted {
                    Some(true) => result.push_str(" (reverted)"),
                    Some(false) => result.push_str(" (NOT reverted)"),
                    None => {}
                }
            }
            [
                o.host.clone(),
                o.reached_via.clone().unwrap_or_else(|| "-".into()),
                fixed,
                result,
                // 6 columns (`  9.9s`, ` 12.3s`): the column keeps its width
                format!("{:>6}", format!("{:.1}s", o.seconds)),
            ]
        })
        .collect();
    let mut out = String::new();
    for (n, line) in super::table_lines(HEADERS, ALIGN, &rows)
        .into_iter()
        .enumerate()
    {
        out.push_str(&line);
        out.push('\n');
        let Some(o) = n.checked_sub(1).and_then(|i| hosts.get(i)) else {
            continue;
        };
        if let Some(reason) = &o.reason {
            let step = o
                .failed_step
                .as_deref()
                .map(|s| format!("[{s}] "))
                .unwrap_or_default();
            super::wrap::push_filled(
                &mut out,
                &format!("{step}{}", one_line(reason)),
                width,
                "  └ ",
                "    ",
            );
        }
        for fp in &o.new_host_keys {
            out.push_str(&format!("  new host key: {fp}\n"));
        }
        if let Some(cmd) = o
            .known_hosts_command
            .as_ref()
            .filter(|_| !o.known_hosts_updated)
        {
            out.push_str(&format!(
                "  known_hosts still holds the old keys; replace them with:\n    {cmd}\n"
            ));
        }
    }
    let count = |s: HostStatus| hosts.iter().filter(|o| o.result == s).count();
    let mut summary = Vec::new();
    for s in [
        HostStatus::Repaired,
        HostStatus::Restored,
        HostStatus::Unchanged,
        HostStatus::Failed,
        HostStatus::Refused,
        HostStatus::Unreachable,
    ] {
        let n = count(s);
        if n > 0 {
            summary.push(format!("{n} {}", s.as_str()));
        }
    }
    let run = if run_id == NO_RUN {
        String::new()
    } else {
        format!(" {run_id}")
    };
    out.push_str(&format!("\n{command}{run}: {}\n", summary.join(", ")));
    if hosts.iter().any(|o| o.result == HostStatus::Repaired) && command == "apply" {
        out.push_str(&format!("undo with: sshfix rollback --run {run_id}\n"));
    }
    out
}

/// What `apply` prints when no host has anything to do: no run was
/// recorded, so there is no run id, and hosts that are merely `unchanged`
/// are not listed (the plan's path and a zero time would say nothing); hosts
/// with another result (unreachable when the plan was made, refused) get the
/// table with their reasons.
pub fn render_nothing_to_do(hosts: &[HostOutcome], width: usize) -> String {
    let mut out = String::from("nothing to do: no host needs a change; no run was recorded\n");
    let others: Vec<HostOutcome> = hosts
        .iter()
        .filter(|o| o.result != HostStatus::Unchanged)
        .cloned()
        .collect();
    if !others.is_empty() {
        out.push('\n');
        out.push_str(&render_human("apply", NO_RUN, &others, width));
    }
    out
}

/// The run id of an outcome that recorded no run (`--format json` too).
pub const NO_RUN: &str = "-";

fn one_line(s: &str) -> String {
    s.lines().map(str::trim).collect::<Vec<_>>().join(" / ")
}

/// The JSON outcome (`--format json`).
pub fn to_json(run_id: &str, hosts: &[HostOutcome]) -> Value {
    json!({
        "version": 1,
        "run_id": run_id,
        "hosts": hosts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::outcome::Step;

    fn host(name: &str, result: HostStatus) -> HostOutcome {
        let mut o = HostOutcome::new(name);
        o.result = result;
        o.reached_via = Some("jump".into());
        o.findings_fixed = vec!["tcp-wrappers-deny".into()];
        o.seconds = 1.25;
        o
    }

    #[test]
    fn table_names_failures_with_reason_and_step() {
        let ok = host("h4", HostStatus::Repaired);
        let mut bad = host("h6", HostStatus::Failed);
        bad.failed_step = Some("validate".into());
        bad.reverted = Some(true);
        bad.reason = Some(
            "the new /etc/ssh/sshd_config failed `sshd -t`: line 3: Bad\nconfiguration option"
                .into(),
        );
        let mut keys = host("h12", HostStatus::Repaired);
        keys.new_host_keys = vec!["256 SHA256:abc root@h12 (ED25519)".into()];
        keys.known_hosts_command = Some("ssh-keygen -R 10.77.1.12 -f kh".into());
        let text = render_human("apply", "RUN1", &[ok, bad, keys], 80);
        assert!(text.starts_with("HOST "), "{text}");
        assert!(
            text.contains("h4    jump  tcp-wrappers-deny  repaired"),
            "{text}"
        );
        assert!(text.contains("failed (reverted)"), "{text}");
        // the reason on one line of at most 80 columns, then continued
        assert!(
            text.contains("  └ [validate] the new /etc/ssh/sshd_config failed `sshd -t`: line 3: Bad /\n    configuration option\n"),
            "{text}"
        );
        assert!(text.contains("new host key: 256 SHA256:abc"), "{text}");
        assert!(
            text.contains("replace them with:\n    ssh-keygen -R 10.77.1.12 -f kh\n"),
            "{text}"
        );
        assert!(text.contains("apply RUN1: 2 repaired, 1 failed"), "{text}");
        assert!(text.contains("sshfix rollback --run RUN1"), "{text}");
        assert!(
            text.lines().all(|l| l == l.trim_end()),
            "trailing spaces:\n{text}"
        );
    }

    #[test]
    fn nothing_to_do_lists_only_hosts_that_are_not_unchanged() {
        let same = host("h6", HostStatus::Unchanged);
        assert_eq!(
            render_nothing_to_do(std::slice::from_ref(&same), 80),
            "nothing to do: no host needs a change; no run was recorded\n"
        );
        let mut gone = host("h1", HostStatus::Unreachable);
        gone.reached_via = None;
        gone.reason = Some("no working path when the plan was made: host `h1`: no working path\n  direct: timed out".into());
        let text = render_nothing_to_do(&[same, gone], 80);
        assert!(!text.contains("h6"), "{text}");
        assert!(text.contains("\nh1    -     -      unreachable"), "{text}");
        assert!(
            text.contains("  └ no working path when the plan was made"),
            "{text}"
        );
        assert!(text.ends_with("\napply: 1 unreachable\n"), "{text}");
        assert!(!text.contains("rollback"), "{text}");
    }

    #[test]
    fn json_outcome_has_the_documented_fields() {
        let mut o = host("h4", HostStatus::Repaired);
        o.steps.push(Step {
            step: "lock".into(),
            ok: true,
            seconds: 0.1,
            detail: String::new(),
        });
        let v = to_json("RUN1", &[o]);
        assert_eq!(v["run_id"], "RUN1");
        let h = &v["hosts"][0];
        for key in [
            "host",
            "reached_via",
            "result",
            "reason",
            "failed_step",
            "reverted",
            "verified",
            "findings_fixed",
            "backup_dir",
            "files",
            "new_host_keys",
            "known_hosts_updated",
            "steps",
            "seconds",
        ] {
            assert!(h.get(key).is_some(), "no {key} in {h}");
        }
        assert_eq!(h["result"], "repaired");
        assert_eq!(h["steps"][0]["step"], "lock");
    }
}
