//! Plans from real captured facts: each lab fault's script output
//! (`tests/fixtures/facts/frames/`) run through the built-in catalogue and the
//! fix modules, as `sshfix plan` does. The rendered plan of each capture is a
//! snapshot (reviewed by eye); the assertions say what must be in it; and
//! planning again on the files the plan produces proposes no edit
//! (idempotency).

use std::net::IpAddr;

#[path = "common/captured.rs"]
mod captured;
// the sshd helpers are shared with tests that use more of them
#[allow(dead_code)]
#[path = "common/sshd_ns.rs"]
mod sshd_ns;

use sshfix::checks::Catalogue;
use sshfix::facts::frame::{Frames, Item};
use sshfix::facts::gather::{ClientsFrom, Gathered};
use sshfix::facts::model;
use sshfix::modules::Host;
use sshfix::plan::{self, HostPlan, Plan};
use sshfix::probe::{ProbeResult, Symptom, Timings};
use sshfix::report;
use sshfix::transport::PathKind;

const CONTROLLER: &str = "10.77.0.1";

use captured::{frames as fixture, Built};

fn probe(symptom: Symptom) -> ProbeResult {
    ProbeResult {
        host: "h".into(),
        address: "10.77.1.9".into(),
        port: 22,
        symptom,
        detail: "(probe detail)".into(),
        evidence: None,
        banner: None,
        peer: None,
        timings: Timings::default(),
    }
}

/// The plan of one host from its frames, as `sshfix plan` makes it.
fn plan_of(frames: &Frames, symptom: Symptom) -> HostPlan {
    let clients: Vec<IpAddr> = vec![CONTROLLER.parse().unwrap()];
    let facts = model::build(
        frames,
        &model::Input {
            port: 22,
            clients: &clients,
            server_addr: Some("10.77.1.9".parse().unwrap()),
        },
    );
    let gathered = Gathered {
        host: "h".into(),
        reached_via: Some(PathKind::Console),
        attempts: Vec::new(),
        clients: clients.clone(),
        clients_from: ClientsFrom::Controller,
        outcome: Ok(frames.clone()),
        seconds: 0.0,
    };
    let p = probe(symptom);
    let context = model::context(&gathered, Some(&p), &facts);
    let eval = Catalogue::builtin().unwrap().evaluate(&context);
    assert!(eval.errors.is_empty(), "check errors: {:#?}", eval.errors);
    let files = model::files_map(frames);
    let host = Host {
        name: "h",
        facts: &facts,
        frames,
        files: &files,
        gathered: &files,
        port: 22,
        clients: &clients,
    };
    let (proposal, human) = plan::propose(&host, &eval.findings);
    let mut hp = HostPlan::new(&gathered, &p);
    hp.findings = eval.findings;
    hp.changes = proposal.edits;
    hp.actions = proposal.actions;
    hp.needs_human = human;
    hp
}

fn rendered(hp: &HostPlan) -> String {
    let plan = Plan {
        created: "2026-11-24T10:00:00Z".into(),
        hosts: vec![hp.clone()],
    };
    report::plan::render_human(
        &plan,
        false,
        report::DEFAULT_WIDTH,
        report::plan::REVIEW_FOOTER,
    )
}

/// The frames with every edit of the plan installed (what the facts script
/// would read after `apply`).
fn after_apply(frames: &Frames, hp: &HostPlan) -> Frames {
    let mut out = frames.clone();
    for e in &hp.changes {
        let key = format!("file {}", e.path);
        match out.items.iter_mut().find(|i| i.key == key) {
            Some(i) => {
                i.body = e.after.clone();
                i.rc = Some(0);
            }
            None => out.items.push(Item {
                key,
                body: e.after.clone(),
                rc: Some(0),
                truncated: false,
                seconds: None,
            }),
        }
    }
    out
}

fn ids<T>(list: &[T], f: impl Fn(&T) -> &str) -> Vec<String> {
    list.iter().map(|x| f(x).to_string()).collect()
}

/// The plan for a capture: snapshot, then the checks `check` makes, then
/// idempotency.
fn case(name: &str, symptom: Symptom, check: impl Fn(&HostPlan)) {
    let frames = fixture(name);
    let hp = plan_of(&frames, symptom);
    insta::assert_snapshot!(format!("plan_{name}"), rendered(&hp));
    check(&hp);
    // every fired critical/warning finding is covered: changed, or for a human
    for f in &hp.findings {
        if f.severity == sshfix::checks::Severity::Info {
            continue;
        }
        let covered = hp.changes.iter().any(|c| c.finding.contains(&f.id))
            || hp.actions.iter().any(|a| a.finding.contains(&f.id))
            || hp.needs_human.iter().any(|n| n.finding == f.id);
        assert!(covered, "{name}: `{}` is silently dropped", f.id);
    }
    prove_sshd_edits(name, &frames, &hp);
    if !hp.changes.is_empty() {
        let again = plan_of(&after_apply(&frames, &hp), symptom);
        assert!(
            again.changes.is_empty(),
            "{name}: planning on the edited files proposes more edits:\n{}",
            rendered(&again)
        );
    }
}

/// The plan's sshd_config edits, installed into the capture's configuration
/// tree and run through the real sshd: `sshd -t` passes and `sshd -T` prints
/// every value the edit's validator expects.
fn prove_sshd_edits(name: &str, frames: &Frames, hp: &HostPlan) {
    use sshfix::change::Validator;
    let edits: Vec<_> = hp
        .changes
        .iter()
        .filter(|e| matches!(e.validator, Validator::SshdConfig { .. }))
        .collect();
    if edits.is_empty() || sshd_ns::skip_or_fail(name) {
        return;
    }
    let mut tree: sshd_ns::Files = model::files_map(frames)
        .into_iter()
        .filter(|(p, _)| p == sshd_ns::MAIN || p.starts_with("/etc/ssh/sshd_config.d/"))
        .collect();
    for e in &edits {
        tree.insert(e.path.clone(), e.after.clone());
    }
    let r = sshd_ns::test(&tree);
    assert_eq!(r.code, 0, "{name}: sshd -t on the candidate: {}", r.stderr);
    let dump = sshd_ns::effective(&tree, None, name);
    for e in &edits {
        let Validator::SshdConfig { expect, .. } = &e.validator else {
            continue;
        };
        for (k, v) in expect {
            assert_eq!(
                dump.get(k),
                Some(v.as_str()),
                "{name}: sshd -T on the candidate, `{k}`"
            );
        }
    }
}

fn edit<'a>(hp: &'a HostPlan, path: &str) -> &'a sshfix::change::Edit {
    hp.changes
        .iter()
        .find(|e| e.path == path)
        .unwrap_or_else(|| panic!("no edit of {path}:\n{}", rendered(hp)))
}

fn diff_of(hp: &HostPlan, path: &str) -> String {
    report::diff::unified(edit(hp, path))
}

fn actions(hp: &HostPlan) -> Vec<String> {
    hp.actions.iter().map(|a| a.op.describe()).collect()
}

#[test]
fn healthy_host_gets_no_changes() {
    case("healthy", Symptom::Ok, |hp| {
        assert!(
            hp.changes.is_empty() && hp.actions.is_empty(),
            "{}",
            rendered(hp)
        );
        assert!(hp.needs_human.is_empty(), "{:?}", hp.needs_human);
    });
}

#[test]
fn wrappers_deny_adds_the_client_to_hosts_allow() {
    case("wrappers-deny", Symptom::ResetBeforeBanner, |hp| {
        let d = diff_of(hp, "/etc/hosts.allow");
        assert!(d.contains("\n+sshd: 10.77.0.1\n"), "{d}");
        assert_eq!(ids(&hp.changes, |c| &c.path), ["/etc/hosts.allow"]);
        // libwrap reads hosts.allow per connection: nothing to reload
        assert!(hp.actions.is_empty(), "{:?}", actions(hp));
    });
}

#[test]
fn maxstartups_is_raised_where_it_takes_effect() {
    case("maxstartups", Symptom::ClosedBeforeBanner, |hp| {
        let d = diff_of(hp, "/etc/ssh/sshd_config");
        assert!(d.contains("+MaxStartups 100:30:200"), "{d}");
        assert_eq!(actions(hp), ["reload sshd"]);
    });
    // the trap: a CRLF drop-in sets it, and in 9.2 the last line wins
    case("maxstartups-trap", Symptom::ClosedBeforeBanner, |hp| {
        let d = diff_of(hp, "/etc/ssh/sshd_config.d/10-trap.conf");
        assert!(d.contains("+maxstartups=100:30:200\r\n"), "{d}");
        assert_eq!(hp.changes.len(), 1);
    });
}

#[test]
fn invalid_config_line_is_commented_out() {
    case("config-invalid-trap", Symptom::Refused, |hp| {
        let e = hp
            .changes
            .iter()
            .find(|e| e.path.starts_with("/etc/ssh/sshd_config.d/"))
            .unwrap_or_else(|| panic!("{}", rendered(hp)));
        // a drop-in is validated in its tree, from the main file
        assert!(
            matches!(&e.validator, sshfix::change::Validator::SshdConfig { config, .. } if config == "/etc/ssh/sshd_config"),
            "{:?}",
            e.validator
        );
        let d = report::diff::unified(e);
        assert!(
            d.contains("+\t# sshfix: disabled (Directive 'MaxStartups' is not allowed within a Match block): MaxStartups 5\r\n"),
            "{d}"
        );
        assert!(
            actions(hp).iter().any(|a| a == "start sshd"),
            "{:?}",
            actions(hp)
        );
    });
}

#[test]
fn banner_line_is_commented_out() {
    case("banner-missing", Symptom::Ok, |hp| {
        let d = diff_of(hp, "/etc/ssh/sshd_config");
        assert!(
            d.contains(
                "+# sshfix: disabled (Banner file /etc/ssh/no-such-banner does not exist): "
            ),
            "{d}"
        );
    });
}

#[test]
fn use_dns_is_turned_off() {
    case("dns-slow", Symptom::Ok, |hp| {
        let d = diff_of(hp, "/etc/ssh/sshd_config");
        assert!(d.contains("UseDNS no"), "{d}");
        assert_eq!(actions(hp), ["reload sshd"]);
    });
}

#[test]
fn host_keys_are_generated_and_sshd_started() {
    case("hostkeys-missing", Symptom::Refused, |hp| {
        let a = actions(hp);
        assert!(a.iter().any(|a| a.contains("ssh-keygen -A")), "{a:?}");
        assert_eq!(a.last().map(String::as_str), Some("start sshd"), "{a:?}");
    });
}

#[test]
fn host_key_modes_are_fixed() {
    case("hostkey-perms", Symptom::Refused, |hp| {
        let a = actions(hp);
        assert!(
            a.iter()
                .any(|a| a.starts_with("/etc/ssh/ssh_host_") && a.contains("mode 0600")),
            "{a:?}"
        );
    });
}

#[test]
fn privsep_directory_is_created() {
    case("privsep-missing", Symptom::Refused, |hp| {
        let a = actions(hp);
        assert!(
            a.iter().any(|a| a.starts_with("/run/sshd: directory")),
            "{a:?}"
        );
    });
}

#[test]
fn inetd_is_started() {
    case("inetd", Symptom::Refused, |hp| {
        assert_eq!(actions(hp), ["start inetd"]);
    });
}

#[test]
fn wrong_service_needs_a_human() {
    case("http-on-22", Symptom::NotSsh, |hp| {
        let human: Vec<&str> = hp.needs_human.iter().map(|n| n.finding.as_str()).collect();
        assert_eq!(human, ["sshd-not-running", "port-wrong-service"]);
        // the reason names the program on the port and what to do (it
        // talked about the fix's `when` conditions)
        let why = &hp.needs_human[0].reason;
        assert!(
            why.contains("port 22 is held by `socat` (pid 280)")
                && why.contains("stop it or move it to another port"),
            "{why}"
        );
        assert!(!why.contains("`when`"), "{why}");
        // starting sshd while another process holds the port cannot work
        assert!(hp.actions.is_empty(), "{:?}", actions(hp));
    });
}

#[test]
fn firewall_drops_get_an_accept_rule_before_them() {
    case("iptables-drop", Symptom::ConnectTimeout, |hp| {
        let d = diff_of(hp, "/etc/iptables/rules.v4");
        assert!(d.contains("10.77.0.1") && d.contains("ACCEPT"), "{d}");
        assert!(
            actions(hp).iter().any(|a| a.contains("iptables")),
            "{:?}",
            actions(hp)
        );
    });
    case("nft-drop", Symptom::ConnectTimeout, |hp| {
        assert!(
            actions(hp)
                .iter()
                .any(|a| a.contains("nft") && a.contains("10.77.0.1")),
            "{:?}",
            actions(hp)
        );
    });
}

#[test]
fn load_balancer_gets_mode_tcp() {
    case("lb-http", Symptom::Ok, |hp| {
        let d = diff_of(hp, "/etc/haproxy/haproxy.cfg");
        assert!(d.contains("mode tcp"), "{d}");
        assert_eq!(actions(hp), ["reload haproxy"]);
    });
}

/// A fix call as a playbook task would render it.
fn call(module: &str, args: serde_json::Value) -> sshfix::checks::FixCall {
    sshfix::checks::FixCall {
        module: module.into(),
        args,
        name: None,
        source: test_source(),
    }
}

/// A fired finding with the given fix.
fn finding(
    id: &str,
    severity: sshfix::checks::Severity,
    fix: sshfix::checks::Fix,
) -> sshfix::checks::Finding {
    sshfix::checks::Finding {
        id: id.into(),
        severity,
        summary: id.into(),
        evidence: Vec::new(),
        source: test_source(),
        fix,
    }
}

fn test_source() -> sshfix::checks::Source {
    sshfix::checks::Source {
        file: "t.yml".into(),
        line: 1,
        column: 1,
    }
}

/// `propose` on hand-made findings over the healthy capture: a finding's
/// tasks are all or nothing; two findings editing one file give one edit;
/// a critical finding whose tasks do not apply, or without tasks, needs a
/// human; an info finding without tasks is only reported.
#[test]
fn propose_is_all_or_nothing_per_finding_and_merges_edits_per_file() {
    use serde_json::json;
    use sshfix::change::Validator;
    use sshfix::checks::{Fix, Severity};

    let built = Built::new(fixture("healthy"), &[CONTROLLER]);
    let files = &built.files;
    let host = built.host();
    let findings = vec![
        finding(
            "a",
            Severity::Critical,
            Fix::Calls(vec![
                call("sshd_config", json!({"set": {"LoginGraceTime": "30"}})),
                call("hosts_access", json!({"allow": ["not-an-ip"]})),
            ]),
        ),
        finding(
            "d",
            Severity::Warning,
            Fix::Calls(vec![call("sshd_config", json!({"set": {"UseDNS": "yes"}}))]),
        ),
        finding(
            "e",
            Severity::Warning,
            Fix::Calls(vec![call(
                "sshd_config",
                json!({"set": {"MaxStartups": "100:30:200"}}),
            )]),
        ),
        finding("b", Severity::Info, Fix::None),
        finding("c", Severity::Critical, Fix::Calls(Vec::new())),
        finding("f", Severity::Critical, Fix::None),
    ];
    let (p, human) = plan::propose(&host, &findings);
    // a's first task worked, its second did not: nothing of a is kept
    assert_eq!(p.edits.len(), 1, "{:#?}", p.edits);
    let e = &p.edits[0];
    assert_eq!(e.path, "/etc/ssh/sshd_config");
    assert_eq!(e.finding, "d, e");
    let text = String::from_utf8_lossy(&e.after);
    assert!(!text.contains("LoginGraceTime 30"), "{text}");
    assert!(
        text.contains("UseDNS yes") && text.contains("MaxStartups 100:30:200"),
        "{text}"
    );
    assert_eq!(
        e.before_sha256.as_deref(),
        Some(sshfix::change::sha256_hex(&files["/etc/ssh/sshd_config"]).as_str())
    );
    match &e.validator {
        Validator::SshdConfig { expect, .. } => {
            let keys: Vec<&str> = expect.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(keys, ["usedns", "maxstartups"]);
        }
        other => panic!("{other:?}"),
    }
    let h: Vec<(&str, &str)> = human
        .iter()
        .map(|n| (n.finding.as_str(), n.reason.as_str()))
        .collect();
    assert_eq!(h.len(), 3, "{h:#?}");
    assert_eq!(h[0].0, "a");
    assert!(
        h[0].1.contains("not-an-ip") && h[0].1.contains("t.yml:1:1"),
        "{}",
        h[0].1
    );
    assert_eq!(h[1].0, "c");
    assert!(h[1].1.contains("none of the check's fix tasks applies"));
    assert_eq!(h[2].0, "f");
}

/// Regression (review of the plans change): a line number from the facts
/// refers to the file as gathered. After an earlier finding inserted a line
/// above it, `comment_out` must still disable that line, not the one now at
/// its old number.
#[test]
fn comment_out_follows_its_line_after_an_insertion_above() {
    use serde_json::json;
    use sshfix::checks::{Fix, Severity};

    let built = Built::new(fixture("banner-missing"), &[CONTROLLER]);
    let (facts, files) = (&built.facts, &built.files);
    let banner = facts.sshd.banner.clone().unwrap();
    let (file, line) = (banner.file.unwrap(), banner.line.unwrap());
    let original_line = String::from_utf8_lossy(&files[&file])
        .lines()
        .nth(line - 1)
        .unwrap()
        .to_string();
    assert!(original_line.starts_with("Banner"), "{original_line}");
    let host = built.host();
    let finding = |id: &str, args: serde_json::Value| {
        finding(
            id,
            Severity::Warning,
            Fix::Calls(vec![call("sshd_config", args)]),
        )
    };
    let findings = vec![
        // first-wins and unset: inserted before the Include, near the top
        finding("a", json!({"set": {"LoginGraceTime": "30"}})),
        finding(
            "b",
            json!({"comment_out": [{"file": file, "line": line, "why": "test"}]}),
        ),
    ];
    let (p, human) = plan::propose(&host, &findings);
    assert!(human.is_empty(), "{human:?}");
    let after = String::from_utf8_lossy(&p.edits[0].after).into_owned();
    let disabled: Vec<&str> = after
        .lines()
        .filter(|l| l.contains("# sshfix: disabled ("))
        .collect();
    assert_eq!(
        disabled,
        [format!("# sshfix: disabled (test): {original_line}").as_str()]
    );
    assert!(after.contains("LoginGraceTime 30"), "{after}");
}

/// Regression (review): when the finding that keeps sshd from starting
/// needs a human, a fix that reloads or starts sshd is not proposed either
/// (it could only fail), and says why.
#[test]
fn sshd_reloads_wait_for_a_blocker_left_to_a_human() {
    use serde_json::json;
    use sshfix::checks::{Fix, Severity};

    let built = Built::new(fixture("healthy"), &[CONTROLLER]);
    let host = built.host();
    let finding = |id: &str, fix: Fix| finding(id, Severity::Critical, fix);
    let fixes = |blocker_fix: Fix| {
        vec![
            finding(
                "maxstartups-exhausted",
                Fix::Calls(vec![
                    call("sshd_config", json!({"set": {"MaxStartups": "100:30:200"}})),
                    call("service", json!({"name": "sshd", "state": "reloaded"})),
                ]),
            ),
            // a fix without an sshd service action stays
            finding(
                "use-dns-slow",
                Fix::Calls(vec![call("sshd_config", json!({"set": {"UseDNS": "yes"}}))]),
            ),
            finding("sshd-config-invalid", blocker_fix),
        ]
    };
    // the blocker needs a human: the sshd reload goes with its finding's
    // edit; the other edit stays
    let (p, human) = plan::propose(&host, &fixes(Fix::None));
    assert_eq!(p.edits.len(), 1);
    assert_eq!(p.edits[0].finding, "use-dns-slow");
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    let h: Vec<(&str, &str)> = human
        .iter()
        .map(|n| (n.finding.as_str(), n.reason.as_str()))
        .collect();
    assert_eq!(h[0].0, "maxstartups-exhausted");
    assert!(
        h[0].1
            .contains("until `sshd-config-invalid` is fixed by hand"),
        "{}",
        h[0].1
    );
    assert_eq!(h[1].0, "sshd-config-invalid");
    // the blocker has its own fix: everything is proposed
    let (p, human) = plan::propose(
        &host,
        &fixes(Fix::Calls(vec![call(
            "service",
            json!({"name": "sshd", "state": "restarted"}),
        )])),
    );
    assert!(human.is_empty(), "{human:?}");
    assert_eq!(p.edits.len(), 1);
    assert_eq!(p.edits[0].finding, "maxstartups-exhausted, use-dns-slow");
    assert_eq!(
        p.actions
            .iter()
            .map(|a| a.op.describe())
            .collect::<Vec<_>>(),
        ["restart sshd"]
    );
}

/// Regression (review): a hosts.allow with a Latin-1 comment is not
/// rewritten (its bytes would be replaced); the finding goes to a human.
#[test]
fn a_hosts_allow_that_is_not_utf8_is_left_to_a_human() {
    let mut frames = fixture("wrappers-deny");
    let item = frames
        .items
        .iter_mut()
        .find(|i| i.key == "file /etc/hosts.allow")
        .unwrap();
    item.body = b"# Ge\xe4ndert von Hand\n".to_vec();
    let hp = plan_of(&frames, Symptom::ResetBeforeBanner);
    assert!(hp.changes.is_empty(), "{}", rendered(&hp));
    let n = &hp.needs_human[0];
    assert_eq!(n.finding, "tcp-wrappers-deny");
    assert!(
        n.reason.contains("/etc/hosts.allow:1 is not UTF-8 text"),
        "{}",
        n.reason
    );
}

/// Regression (review): `ssh-keygen -A` only creates keys at the default
/// paths, so a missing key configured elsewhere is left to a human.
#[test]
fn host_keys_at_other_paths_are_left_to_a_human() {
    let mut frames = fixture("hostkeys-missing");
    let item = frames
        .items
        .iter_mut()
        .find(|i| i.key == "file /etc/ssh/sshd_config")
        .unwrap();
    item.body
        .extend_from_slice(b"HostKey /srv/keys/ssh_host_ed25519_key\n");
    let hp = plan_of(&frames, Symptom::Refused);
    let ids: Vec<&str> = hp.findings.iter().map(|f| f.id.as_str()).collect();
    assert!(ids.contains(&"host-keys-missing"), "{}", rendered(&hp));
    assert!(
        !actions(&hp).iter().any(|a| a.contains("ssh-keygen")),
        "{}",
        rendered(&hp)
    );
    assert!(
        hp.needs_human
            .iter()
            .any(|n| n.finding == "host-keys-missing"),
        "{:?}",
        hp.needs_human
    );
}

/// Regression (review): the MaxStartups fix never lowers `full`.
#[test]
fn maxstartups_fix_keeps_a_higher_full() {
    let mut frames = fixture("maxstartups");
    for i in frames.items.iter_mut() {
        if i.key == "sshd-T"
            || i.key == "file /etc/ssh/sshd_config"
            || i.key.starts_with("sshd-T-C")
        {
            let t = String::from_utf8_lossy(&i.body)
                .replace("maxstartups 1:100:1", "maxstartups 50:30:500")
                .replace("MaxStartups 1:100:1", "MaxStartups 50:30:500");
            i.body = t.into_bytes();
        }
    }
    let hp = plan_of(&frames, Symptom::ClosedBeforeBanner);
    let d = diff_of(&hp, "/etc/ssh/sshd_config");
    assert!(
        d.contains("-MaxStartups 50:30:500") && d.contains("+MaxStartups 100:30:500"),
        "{d}"
    );
}
