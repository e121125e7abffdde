//! Plans in the lab: every fixable finding of the faulty fleet gets its
//! change (a diff of the file that decides, or an action), findings without a
//! safe fix are listed as needing a human, healthy hosts get nothing, and
//! `--detailed-exitcode`, `--out` and `--markdown` behave as `interface.md`
//! says.

use serde_json::Value;

use super::diagnosis::{host, plan, sshfix_lab, HEALTHY};
use super::{check, Ctx};
use libtest_mimic::Failed;

/// What the plan must propose for one finding on one host.
enum Want {
    /// An edit of `path` for the finding whose diff contains every string.
    Edit(&'static str, &'static [&'static str]),
    /// An action for the finding whose `kind` is the first string and whose
    /// JSON text contains the others.
    Action(&'static str, &'static [&'static str]),
    /// Listed under `needs_human`.
    Human,
}

const WANT: &[(&str, &str, Want)] = &[
    (
        "h4",
        "tcp-wrappers-deny",
        Want::Edit("/etc/hosts.allow", &["+sshd: 10.77.0.1"]),
    ),
    (
        "h5",
        "sshd-not-running",
        Want::Action("start", &["\"target\":\"sshd\""]),
    ),
    (
        "h6",
        "maxstartups-exhausted",
        Want::Edit(
            "/etc/ssh/sshd_config",
            &["-MaxStartups 1:100:1", "+MaxStartups 100:30:200"],
        ),
    ),
    (
        "h6",
        "maxstartups-exhausted",
        Want::Action("reload", &["sshd"]),
    ),
    (
        "h7",
        "firewall-blocks-ssh",
        Want::Action("command", &["nft", "10.77.0.1", "accept"]),
    ),
    ("h8", "port-wrong-service", Want::Human),
    // sshd cannot start while socat holds the port: no `start sshd`
    ("h8", "sshd-not-running", Want::Human),
    ("h9", "port-wrong-service", Want::Human),
    (
        "h10",
        "banner-file-missing",
        Want::Edit(
            "/etc/ssh/sshd_config",
            &["+# sshfix: disabled (", "/etc/ssh/no-such-banner"],
        ),
    ),
    (
        "h11",
        "firewall-blocks-ssh",
        Want::Action("command", &["iptables", "10.77.0.1", "ACCEPT"]),
    ),
    (
        "h11",
        "firewall-blocks-ssh",
        Want::Edit("/etc/iptables/rules.v4", &["+-A", "10.77.0.1", "ACCEPT"]),
    ),
    (
        "h12",
        "host-keys-missing",
        Want::Action("command", &["ssh-keygen -A"]),
    ),
    (
        "h13",
        "host-key-permissions",
        Want::Action("file", &["/etc/ssh/ssh_host_", "0600"]),
    ),
    // `PermitRootLogin maybe`: a policy line is never commented out (the
    // default may allow more); and sshd cannot start until a human fixes it
    ("h14", "sshd-config-invalid", Want::Human),
    ("h14", "sshd-not-running", Want::Human),
    (
        "h15",
        "use-dns-slow",
        Want::Edit("/etc/ssh/sshd_config", &["UseDNS no"]),
    ),
    (
        "h16",
        "inetd-not-running",
        Want::Action("start", &["inetd"]),
    ),
    (
        "h17",
        "lb-http-mode",
        Want::Edit("/etc/haproxy/haproxy.cfg", &["+", "mode tcp"]),
    ),
    ("h17", "lb-http-mode", Want::Action("reload", &["haproxy"])),
    (
        "h18",
        "privsep-dir-missing",
        Want::Action("file", &["/run/sshd", "directory", "0755"]),
    ),
    // traps: the edit goes where the value takes effect, not at the end of sshd_config
    (
        "h19",
        "maxstartups-exhausted",
        Want::Edit(
            "/etc/ssh/sshd_config.d/10-trap.conf",
            &["-maxstartups=1:100:1", "+maxstartups=100:30:200"],
        ),
    ),
    (
        "h20",
        "banner-file-missing",
        Want::Edit("/etc/ssh/sshd_config.d/", &["# sshfix: disabled ("]),
    ),
    (
        "h21",
        "sshd-config-invalid",
        Want::Edit("/etc/ssh/sshd_config.d/", &["# sshfix: disabled ("]),
    ),
];

fn for_finding<'a>(list: &'a Value, id: &str) -> Vec<&'a Value> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter(|x| {
                    x["finding"]
                        .as_str()
                        .is_some_and(|f| f.split(", ").any(|g| g == id))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Each fault host's plan holds the change its finding needs.
pub fn every_fixable_finding_has_its_change(ctx: &Ctx) -> Result<(), Failed> {
    let plan = plan(ctx)?;
    let mut problems = Vec::new();
    for (name, id, want) in WANT {
        let h = host(plan, name)?;
        let ok = match want {
            Want::Edit(path, parts) => for_finding(&h["changes"], id).iter().any(|c| {
                c["path"].as_str().is_some_and(|p| p.starts_with(path))
                    && parts
                        .iter()
                        .all(|w| c["diff"].as_str().is_some_and(|d| d.contains(w)))
            }),
            Want::Action(kind, parts) => for_finding(&h["actions"], id).iter().any(|a| {
                let text = a.to_string();
                a["kind"] == *kind && parts.iter().all(|w| text.contains(w))
            }),
            Want::Human => !for_finding(&h["needs_human"], id).is_empty(),
        };
        if !ok {
            problems.push(format!(
                "{name} `{id}`: no {} in\n  changes: {}\n  actions: {}\n  needs_human: {}",
                match want {
                    Want::Edit(p, w) => format!("edit of {p} with {w:?}"),
                    Want::Action(k, w) => format!("{k} action with {w:?}"),
                    Want::Human => "needs-a-human entry".into(),
                },
                h["changes"]
                    .as_array()
                    .map(|a| a
                        .iter()
                        .map(|c| format!(
                            "{} [{}]\n{}",
                            c["path"],
                            c["finding"],
                            c["diff"].as_str().unwrap_or("")
                        ))
                        .collect::<Vec<_>>()
                        .join("\n"))
                    .unwrap_or_default(),
                h["actions"],
                h["needs_human"]
            ));
        }
    }
    check(problems.is_empty(), || problems.join("\n\n"))
}

/// No fired critical or warning finding is silently dropped: each has a
/// change, an action or a needs-a-human entry naming it.
pub fn no_finding_is_silently_dropped(ctx: &Ctx) -> Result<(), Failed> {
    let plan = plan(ctx)?;
    let mut problems = Vec::new();
    for h in plan["hosts"].as_array().into_iter().flatten() {
        for f in h["findings"].as_array().into_iter().flatten() {
            if f["severity"] == "info" {
                continue;
            }
            let id = f["id"].as_str().unwrap_or("");
            if id.starts_with("site-") {
                continue;
            }
            let covered = !for_finding(&h["changes"], id).is_empty()
                || !for_finding(&h["actions"], id).is_empty()
                || !for_finding(&h["needs_human"], id).is_empty();
            if !covered {
                problems.push(format!(
                    "{} `{id}`: neither changed nor listed for a human",
                    h["host"]
                ));
            }
        }
    }
    check(problems.is_empty(), || problems.join("\n"))
}

/// Healthy hosts: no changes, no actions, nothing for a human.
pub fn healthy_hosts_get_no_changes(ctx: &Ctx) -> Result<(), Failed> {
    let plan = plan(ctx)?;
    let mut problems = Vec::new();
    for name in HEALTHY {
        let h = host(plan, name)?;
        for key in ["changes", "actions", "needs_human"] {
            if h[key].as_array().is_none_or(|a| !a.is_empty()) {
                problems.push(format!("{name}: {key} = {}", h[key]));
            }
        }
    }
    check(problems.is_empty(), || problems.join("\n"))
}

/// `--detailed-exitcode`: 0 on the healthy hosts (and `--out` says no
/// changes), 2 on a faulty one, with `--out` and `--markdown` written.
pub fn detailed_exitcode_out_and_markdown(ctx: &Ctx) -> Result<(), Failed> {
    let inv = ctx.lab_dir.join("inventory.ini");
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("plan.json");
    let md = dir.path().join("plan.md");
    let healthy = HEALTHY.join(",");
    let o = sshfix_lab(
        ctx,
        "plan",
        &inv,
        &[
            "-l",
            &healthy,
            "--detailed-exitcode",
            "--out",
            &out.to_string_lossy(),
        ],
    );
    check(o.status.code() == Some(0), || {
        format!(
            "healthy hosts: exit {:?}, want 0\n{}{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })?;
    let saved: Value = serde_json::from_slice(&std::fs::read(&out)?)?;
    check(
        saved["hosts"].as_array().is_some_and(|a| {
            a.len() == HEALTHY.len() && a.iter().all(|h| h["changes"] == serde_json::json!([]))
        }),
        || format!("saved plan of the healthy hosts: {saved}"),
    )?;

    let o = sshfix_lab(
        ctx,
        "plan",
        &inv,
        &[
            "-l",
            "h4,h6",
            "--detailed-exitcode",
            "--out",
            &out.to_string_lossy(),
            "--markdown",
            &md.to_string_lossy(),
        ],
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    check(o.status.code() == Some(2), || {
        format!(
            "h4,h6: exit {:?}, want 2\n{stdout}{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        )
    })?;
    // the terminal output (not a TTY here: no colour) shows the diffs
    check(
        stdout.contains("+++ b/etc/hosts.allow") && !stdout.contains('\u{1b}'),
        || format!("terminal output without the hosts.allow diff, or coloured:\n{stdout}"),
    )?;
    let saved: Value = serde_json::from_slice(&std::fs::read(&out)?)?;
    let h4 = host(&saved, "h4")?;
    let change = &h4["changes"][0];
    check(
        change["path"] == "/etc/hosts.allow"
            && change["before_sha256"]
                .as_str()
                .is_some_and(|s| s.len() == 64)
            && change["after"]
                .as_str()
                .is_some_and(|a| a.contains("sshd: 10.77.0.1")),
        || format!("h4's change in the saved plan: {change}"),
    )?;
    let doc = std::fs::read_to_string(&md)?;
    check(
        doc.contains("## h4")
            && doc.contains("## h6")
            && doc.contains("```diff\n--- a/etc/hosts.allow"),
        || format!("review document:\n{doc}"),
    )
}
