//! Diagnosis in the lab: each injected fault gives its finding, with evidence
//! naming the file:line or log line, through the right working path; healthy
//! hosts give no critical or warning finding; `facts` costs one SSH
//! connection and one remote command.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use libtest_mimic::Failed;
use serde_json::Value;

use super::{check, Ctx};

/// Faults beyond the transport and probe hosts (h1–h9), one per host.
pub const FAULTS: [(&str, &str); 12] = [
    ("h10", "banner-missing"),
    ("h11", "iptables-drop"),
    ("h12", "hostkeys-missing"),
    ("h13", "hostkey-perms"),
    ("h14", "config-invalid"),
    ("h15", "dns-slow"),
    ("h16", "inetd"),
    ("h18", "privsep-missing"),
    ("h19", "maxstartups-trap"),
    ("h20", "banner-trap"),
    ("h21", "config-invalid-trap"),
    ("h22", "debug-log"),
];

/// h17 is a load balancer in front of h1 (`lab.sh fault DIR h17 lb-http h1`).
pub const LB: (&str, &str) = ("h17", "h1");

/// Hosts with no fault: no critical or warning finding allowed.
pub(super) const HEALTHY: [&str; 5] = ["jump", "h1", "h2", "h3", "h22"];

/// What one faulty host must show: the path it is reached through, the
/// finding, and text every one of which some evidence line must contain.
struct Expect {
    host: &'static str,
    via: &'static str,
    id: &'static str,
    severity: &'static str,
    evidence: &'static [&'static str],
}

const EXPECT: &[Expect] = &[
    Expect {
        host: "h4",
        via: "jump",
        id: "tcp-wrappers-deny",
        severity: "critical",
        evidence: &["/etc/hosts.deny:", "10.77.0.1"],
    },
    Expect {
        host: "h5",
        via: "console",
        id: "sshd-not-running",
        severity: "critical",
        evidence: &["sshd"],
    },
    Expect {
        host: "h6",
        via: "console",
        id: "maxstartups-exhausted",
        severity: "critical",
        evidence: &["1 of 1-1 startups"],
    },
    Expect {
        host: "h6",
        via: "console",
        id: "maxstartups-exhausted",
        severity: "critical",
        evidence: &["/etc/ssh/sshd_config:", "MaxStartups 1:100:1"],
    },
    Expect {
        host: "h7",
        via: "jump",
        id: "firewall-blocks-ssh",
        severity: "critical",
        evidence: &["nft", "10.77.0.1", "drop"],
    },
    Expect {
        host: "h8",
        via: "console",
        id: "port-wrong-service",
        severity: "critical",
        evidence: &["socat"],
    },
    Expect {
        host: "h9",
        via: "console",
        id: "port-wrong-service",
        severity: "critical",
        evidence: &["socat"],
    },
    Expect {
        host: "h10",
        via: "direct",
        id: "banner-file-missing",
        severity: "info",
        evidence: &["/etc/ssh/sshd_config:", "/etc/ssh/no-such-banner"],
    },
    Expect {
        host: "h11",
        via: "jump",
        id: "firewall-blocks-ssh",
        severity: "critical",
        evidence: &["/etc/iptables/rules.v4:", "-j DROP"],
    },
    Expect {
        host: "h12",
        via: "console",
        id: "host-keys-missing",
        severity: "critical",
        evidence: &["/etc/ssh/ssh_host_"],
    },
    Expect {
        host: "h13",
        via: "console",
        id: "host-key-permissions",
        severity: "critical",
        evidence: &["/etc/ssh/ssh_host_", "644"],
    },
    Expect {
        host: "h14",
        via: "console",
        id: "sshd-config-invalid",
        severity: "critical",
        evidence: &["/etc/ssh/sshd_config:"],
    },
    Expect {
        host: "h15",
        via: "direct",
        id: "use-dns-slow",
        severity: "warning",
        evidence: &["10.77.0.1"],
    },
    Expect {
        host: "h15",
        via: "direct",
        id: "use-dns-slow",
        severity: "warning",
        evidence: &["UseDNS"],
    },
    Expect {
        host: "h16",
        via: "console",
        id: "inetd-not-running",
        severity: "critical",
        evidence: &["/etc/inetd.conf:"],
    },
    Expect {
        host: "h17",
        via: "direct",
        id: "lb-http-mode",
        severity: "critical",
        evidence: &["/etc/haproxy/haproxy.cfg:", "mode http"],
    },
    Expect {
        host: "h18",
        via: "console",
        id: "privsep-dir-missing",
        severity: "critical",
        evidence: &["/run/sshd"],
    },
    // traps: the same faults where a naive reading of sshd_config goes wrong
    Expect {
        host: "h19",
        via: "console",
        id: "maxstartups-exhausted",
        severity: "critical",
        evidence: &[
            "/etc/ssh/sshd_config.d/10-trap.conf:2",
            "maxstartups=1:100:1",
        ],
    },
    Expect {
        host: "h20",
        via: "direct",
        id: "banner-file-missing",
        severity: "info",
        evidence: &["/etc/ssh/sshd_config.d/", "missing-banner"],
    },
    Expect {
        host: "h21",
        via: "console",
        id: "sshd-config-invalid",
        severity: "critical",
        evidence: &["/etc/ssh/sshd_config.d/"],
    },
];

/// A site's own check, as an operator would add one with `-p`.
const USER_PLAYBOOK: &str = r#"
name: site checks
checks:
  - id: site-banner-configured
    severity: info
    when: sshd.banner is not none
    summary: "this site wants no Banner ({{ sshd.banner.path }})"
    evidence:
      - "{{ sshd.banner.source }}"
"#;

/// `sshfix COMMAND -i INVENTORY --ssh-config LAB/ssh_config ARGS…`.
pub(super) fn sshfix_lab(
    ctx: &Ctx,
    command: &str,
    inventory: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    sshfix_lab_cmd(ctx, command, inventory, args)
        .output()
        .expect("running sshfix")
}

/// `sshfix COMMAND -i INVENTORY --ssh-config LAB/ssh_config ARGS…`, not started.
pub(super) fn sshfix_lab_cmd(
    ctx: &Ctx,
    command: &str,
    inventory: &std::path::Path,
    args: &[&str],
) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sshfix"));
    c.arg(command)
        .arg("-i")
        .arg(inventory)
        .arg("--ssh-config")
        .arg(ctx.lab_dir.join("ssh_config"))
        .args(args);
    c
}

static PLAN: OnceLock<Result<Value, String>> = OnceLock::new();

/// `sshfix plan --format json` over the whole lab, run once for every trial here.
pub(super) fn plan(ctx: &Ctx) -> Result<&'static Value, Failed> {
    PLAN.get_or_init(|| {
        let inv = ctx.lab_dir.join("inventory.ini");
        // a user playbook rides along: its check must fire where its condition holds
        let extra = ctx.lab_dir.join("extra-checks.yml");
        if let Err(e) = std::fs::write(&extra, USER_PLAYBOOK) {
            return Err(e.to_string());
        }
        let out = sshfix_lab(
            ctx,
            "plan",
            &inv,
            &["-p", &extra.to_string_lossy(), "--format", "json"],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(0) {
            return Err(format!("plan exited {:?}: {stderr}", out.status));
        }
        serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("{e}: {} {stderr}", String::from_utf8_lossy(&out.stdout)))
    })
    .as_ref()
    .map_err(|e| e.clone().into())
}

/// `sshfix facts -l LIMIT --format json` over the lab inventory; exit 0 required.
fn facts_json(ctx: &Ctx, limit: &str) -> Result<Value, Failed> {
    let inv = ctx.lab_dir.join("inventory.ini");
    let out = sshfix_lab(ctx, "facts", &inv, &["-l", limit, "--format", "json"]);
    check(out.status.code() == Some(0), || {
        format!(
            "exit {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    Ok(serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?)
}

pub(super) fn host<'a>(plan: &'a Value, name: &str) -> Result<&'a Value, Failed> {
    plan["hosts"]
        .as_array()
        .and_then(|a| a.iter().find(|h| h["host"] == name))
        .ok_or_else(|| format!("host {name} is not in the plan").into())
}

/// Every fault host: reached through the expected path, with the finding and
/// evidence that names where the cause is.
pub fn each_fault_gives_its_finding(ctx: &Ctx) -> Result<(), Failed> {
    let plan = plan(ctx)?;
    let mut problems = Vec::new();
    for e in EXPECT {
        let h = host(plan, e.host)?;
        if h["reached_via"] != e.via {
            problems.push(format!(
                "{}: reached via {} (want {})",
                e.host, h["reached_via"], e.via
            ));
        }
        let finding = h["findings"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["id"] == e.id));
        let Some(f) = finding else {
            problems.push(format!(
                "{}: no `{}` finding; findings: {}",
                e.host,
                e.id,
                serde_json::to_string_pretty(&h["findings"]).unwrap_or_default()
            ));
            continue;
        };
        if f["severity"] != e.severity {
            problems.push(format!(
                "{}: `{}` has severity {} (want {})",
                e.host, e.id, f["severity"], e.severity
            ));
        }
        let lines: Vec<&str> = f["evidence"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !lines
            .iter()
            .any(|l| e.evidence.iter().all(|want| l.contains(want)))
        {
            problems.push(format!(
                "{}: `{}` has no evidence line containing all of {:?}: {lines:#?}",
                e.host, e.id, e.evidence
            ));
        }
    }
    check(problems.is_empty(), || problems.join("\n"))
}

/// `-p` adds the user's checks to the built-in ones.
pub fn user_playbook_checks_run(ctx: &Ctx) -> Result<(), Failed> {
    let plan = plan(ctx)?;
    let fired = |name: &str| -> Result<bool, Failed> {
        Ok(host(plan, name)?["findings"]
            .as_array()
            .is_some_and(|a| a.iter().any(|f| f["id"] == "site-banner-configured")))
    };
    check(fired("h10")? && fired("h20")?, || {
        format!("h10: {:#}", plan["hosts"])
    })?;
    check(!fired("h1")?, || "fired on h1, which has no Banner".into())
}

/// The healthy hosts of the lab yield no critical or warning finding (info is
/// allowed), and the summaries of fault hosts do not blame a healthy cause.
pub fn healthy_hosts_have_no_findings(ctx: &Ctx) -> Result<(), Failed> {
    let plan = plan(ctx)?;
    let mut bad = BTreeMap::new();
    for name in HEALTHY {
        let h = host(plan, name)?;
        let serious: Vec<&Value> = h["findings"]
            .as_array()
            .map(|a| a.iter().filter(|f| f["severity"] != "info").collect())
            .unwrap_or_default();
        if !serious.is_empty() || h["reached_via"] != "direct" {
            bad.insert(name, h.clone());
        }
    }
    check(bad.is_empty(), || format!("{bad:#?}"))
}

/// A fault host's findings stay about its fault: none of them reports a
/// cause that another host was given (e.g. the wrappers host shows no
/// firewall finding).
pub fn no_false_causes_on_fault_hosts(ctx: &Ctx) -> Result<(), Failed> {
    let plan = plan(ctx)?;
    let allowed: BTreeMap<&str, &[&str]> = [
        ("h4", &["tcp-wrappers-deny"][..]),
        ("h7", &["firewall-blocks-ssh"][..]),
        ("h11", &["firewall-blocks-ssh"][..]),
        ("h10", &[][..]),
        ("h15", &["use-dns-slow"][..]),
        ("h17", &["lb-http-mode"][..]),
    ]
    .into_iter()
    .collect();
    let mut bad = Vec::new();
    for (name, ids) in allowed {
        let h = host(plan, name)?;
        for f in h["findings"].as_array().into_iter().flatten() {
            let id = f["id"].as_str().unwrap_or("?");
            if f["severity"] != "info" && !ids.contains(&id) {
                bad.push(format!("{name}: unexpected {id}: {f}"));
            }
        }
    }
    check(bad.is_empty(), || bad.join("\n"))
}

/// `sshfix facts` for one host: one SSH connection and one remote command,
/// counted in the host's own sshd log (LogLevel DEBUG1).
pub fn facts_costs_one_session_and_one_run(ctx: &Ctx) -> Result<(), Failed> {
    let log_path = ctx.lab_dir.join("hosts/h22/log/sshd.log");
    let before = std::fs::read_to_string(&log_path).map_err(|e| e.to_string())?;
    let json = facts_json(ctx, "h22")?;
    let h = &json["hosts"][0];
    check(h["reached_via"] == "direct", || format!("{h:#}"))?;
    check(h["facts"]["sshd"]["running"] == true, || {
        format!("{:#}", h["facts"]["sshd"])
    })?;
    // sshd writes its log lines as the session ends; give it a moment
    let mut new = String::new();
    for _ in 0..50 {
        let after = std::fs::read_to_string(&log_path).map_err(|e| e.to_string())?;
        new = after.get(before.len()..).unwrap_or_default().to_string();
        if new.contains("Close session") || new.contains("session_close") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let accepted = new.matches("Accepted publickey").count();
    let execs = new.matches("req exec").count();
    check(accepted == 1 && execs == 1, || {
        format!("want 1 connection and 1 exec, got {accepted} and {execs}:\n{new}")
    })
}

/// h23's sshd_config gains a Match block for the controller (appended: the
/// host's /etc/ssh is its own copy).
pub const MATCH_BLOCK: &str =
    "printf 'Match Address 10.77.0.1\\n\\tBanner /etc/issue.net\\n' >> /etc/ssh/sshd_config && sshd -t";

/// The client's own configuration (`sshd -T -C`) reaches the facts where a
/// Match block changes it (h23), and a host without one (h2) shows none.
/// (Not h22: `facts_costs_one_session_and_one_run` counts its connections.)
pub fn match_block_overrides_reach_the_facts(ctx: &Ctx) -> Result<(), Failed> {
    let json = facts_json(ctx, "h2:h23")?;
    let overrides = |name: &str| -> Result<Value, Failed> {
        let h = host(&json, name)?;
        check(h["facts"]["sshd"]["test"]["ok"] == true, || {
            format!("{name}: sshd -t: {:#}", h["facts"]["sshd"]["test"])
        })?;
        Ok(h["facts"]["clients"][0]["match_overrides"].clone())
    };
    let h23 = overrides("h23")?;
    check(h23["banner"] == "/etc/issue.net", || {
        format!("h23 overrides: {h23:#}")
    })?;
    let h2 = overrides("h2")?;
    check(h2.as_object().is_some_and(|o| o.is_empty()), || {
        format!("h2 overrides: {h2:#}")
    })
}

/// A host no path reaches: exit 4, and the JSON says why for each path.
pub fn unreachable_host_exits_4_with_each_path_explained(ctx: &Ctx) -> Result<(), Failed> {
    let base =
        std::fs::read_to_string(ctx.lab_dir.join("inventory.ini")).map_err(|e| e.to_string())?;
    let inv = ctx.lab_dir.join("test-ghost.ini");
    std::fs::write(
        &inv,
        format!("{base}\n[ghosts]\nghost ansible_host=10.77.250.250 sshfix_jump=jump\n"),
    )
    .map_err(|e| e.to_string())?;
    let out = sshfix_lab(ctx, "facts", &inv, &["-l", "ghost:h1", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    check(out.status.code() == Some(4), || {
        format!("exit {:?}: {stderr}", out.status)
    })?;
    let json: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    let ghost = host(&json, "ghost")?;
    check(ghost["reached_via"].is_null(), || format!("{ghost:#}"))?;
    let vias: Vec<&str> = ghost["attempts"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["via"].as_str()).collect())
        .unwrap_or_default();
    check(vias == ["direct", "jump", "console"], || {
        format!("{ghost:#}")
    })?;
    check(
        ghost["error"]
            .as_str()
            .is_some_and(|e| e.contains("no working path")),
        || format!("{ghost:#}"),
    )?;
    check(stderr.contains("ghost"), || stderr.to_string())?;
    // the other host was gathered all the same
    let h1 = host(&json, "h1")?;
    check(h1["facts"]["sshd"]["running"] == true, || format!("{h1:#}"))
}
