//! `modules::firewall` over real captured firewalls: each scenario of
//! `tests/fixtures/modules/firewall/` (made by its `capture.sh` in a scratch
//! network namespace with the real nft 1.0.6 / iptables 1.8.9) is put into a
//! real facts-script capture, the facts model is built from it, and the
//! module's proposal is snapshot (diffs and commands) and checked.
//!
//! `real_*` tests do it all again against the real tools, each in its own
//! throwaway network namespace: load the scenario, capture, propose, check
//! every candidate file with its validator (`nft -c -f`,
//! `iptables-restore --test`) and load it alone in a second namespace
//! (where the clients must then pass), run the live commands, re-capture
//! and evaluate (every client passes, and the module now proposes nothing),
//! run the undo commands and compare the ruleset with the original byte for
//! byte (and ufw's `user*.rules`, firewalld's `zones/public.xml`). ufw and
//! firewalld (with a private dbus-daemon) run on copies of their `/etc`
//! directories bind-mounted in private mount namespaces; the daemons are
//! killed by pid and the namespaces deleted even when a test fails. They
//! need root and nft/iptables (ufw, firewalld): without them they say loudly
//! that they skipped, and fail when `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use sshfix::change::{Op, Validator};
use sshfix::facts::firewall::Packet;
use sshfix::facts::frame::{Frames, Item};
use sshfix::modules::{firewall, Host, Proposal};
use sshfix::report::diff::unified;

#[allow(dead_code)]
#[path = "common/captured.rs"]
mod captured;
use captured::Built;

const FINDING: &str = "firewall-blocks-ssh";

/// Items of the facts script a scenario replaces.
const KEYS: [&str; 6] = [
    "nft-json",
    "nft-text",
    "iptables-nft-save",
    "ip6tables-nft-save",
    "iptables-legacy-save",
    "ip6tables-legacy-save",
];

const FILES: [&str; 9] = [
    "/etc/nftables.conf",
    "/etc/sysconfig/nftables.conf",
    "/etc/iptables/rules.v4",
    "/etc/iptables/rules.v6",
    "/etc/sysconfig/iptables",
    "/etc/sysconfig/ip6tables",
    "/etc/ufw/user.rules",
    "/etc/ufw/user6.rules",
    "/etc/ufw/ufw.conf",
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn scenario_dir(name: &str) -> PathBuf {
    dir().join("modules/firewall").join(name)
}

/// The healthy lab capture with its firewall items removed.
fn base() -> Frames {
    let mut f = captured::frames("healthy");
    f.items.retain(|i| {
        !KEYS.contains(&i.key.as_str())
            && !i
                .key
                .strip_prefix("file ")
                .is_some_and(|p| FILES.contains(&p))
    });
    f
}

fn set(frames: &mut Frames, key: &str, body: &[u8]) {
    frames.items.retain(|i| i.key != key);
    frames.items.push(Item {
        key: key.into(),
        body: body.to_vec(),
        rc: Some(0),
        truncated: false,
        seconds: Some(0.01),
    });
}

/// Files under `root` (a directory standing for `/`) as `file /PATH` items.
fn add_files(frames: &mut Frames, root: &Path) {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd {
            let e = e.unwrap();
            let rel = format!("{rel}/{}", e.file_name().to_string_lossy());
            if e.path().is_dir() {
                walk(&e.path(), &rel, out);
            } else {
                out.push((rel, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    let mut files = Vec::new();
    walk(&root.join("etc"), "/etc", &mut files);
    for (p, b) in files {
        set(frames, &format!("file {p}"), &b);
    }
}

/// A scenario's captured items and persisted files in a real capture.
fn frames(name: &str) -> Frames {
    let d = scenario_dir(name);
    let mut f = base();
    for k in KEYS.iter().chain(&["firewalld-state", "firewalld-list"]) {
        if let Ok(b) = std::fs::read(d.join("captured").join(k)) {
            set(&mut f, k, &b);
        }
    }
    add_files(&mut f, &d);
    f
}

/// Frames whose firewall is the facts fixtures' `name` (`.nft.json` and
/// `.nft.txt`, plus save files given as (key, fixture file)).
fn facts_fixture_frames(name: &str, saves: &[(&str, &str)]) -> Frames {
    let fw = dir().join("facts/firewall");
    let mut f = base();
    set(
        &mut f,
        "nft-json",
        &std::fs::read(fw.join(format!("{name}.nft.json"))).unwrap(),
    );
    set(
        &mut f,
        "nft-text",
        &std::fs::read(fw.join(format!("{name}.nft.txt"))).unwrap(),
    );
    for (k, file) in saves {
        set(&mut f, k, &std::fs::read(fw.join(file)).unwrap());
    }
    f
}

impl Built {
    fn run(&self, args: serde_json::Value) -> Result<Proposal, String> {
        firewall::task(&self.host(), &args, FINDING).map_err(|e| e.message)
    }

    fn propose(&self) -> Proposal {
        self.run(json!({}))
            .unwrap_or_else(|e| panic!("refused: {e}"))
    }

    /// Every client passes the (rebuilt) rules.
    fn all_pass(&self) -> Vec<String> {
        let (rules, _) = sshfix::facts::model::host_rules(&self.frames);
        self.clients
            .iter()
            .filter_map(|c| {
                let v = rules.evaluate(&Packet::new(*c, 22));
                v.blocks().then(|| {
                    format!(
                        "{c} blocked by {}",
                        v.decided_by.map(|r| r.evidence()).unwrap_or_default()
                    )
                })
            })
            .collect()
    }
}

/// The proposal as a reviewer reads it: diffs, validators, commands, reasons.
fn render(p: &Proposal) -> String {
    let mut out = String::new();
    for e in &p.edits {
        out.push_str(&format!(
            "=== edit {} (validator {:?}; finding {})\n{}\nreason:\n{}\n\n",
            e.path,
            e.validator,
            e.finding,
            unified(e),
            e.reason
        ));
    }
    for a in &p.actions {
        let Op::Command { command, undo, .. } = &a.op else {
            panic!("unexpected action {a:?}");
        };
        out.push_str(&format!(
            "=== run ({})\n$ {command}\nundo: {}\nreason: {}\n\n",
            a.finding,
            undo.as_deref().unwrap_or("-"),
            a.reason
        ));
    }
    out
}

/// The commands exactly as `apply` runs them.
fn full_commands(p: &Proposal) -> Vec<String> {
    p.actions
        .iter()
        .map(|a| match &a.op {
            Op::Command { command, .. } => command.clone(),
            other => panic!("{other:?}"),
        })
        .collect()
}

/// The commands without their "still as planned" guard
/// (`if CHECK; then COMMAND; else …; fi`).
fn commands(p: &Proposal) -> Vec<String> {
    full_commands(p)
        .into_iter()
        .map(|c| match c.strip_prefix("if ") {
            Some(rest) => {
                let (_, then) = rest.split_once("; then ").unwrap();
                then.split_once("; else echo 'sshfix: ")
                    .unwrap()
                    .0
                    .to_string()
            }
            None => c,
        })
        .collect()
}

/// Applies the proposal's edits to the facts' files and feeds them back as
/// the persisted files (live rules unchanged).
fn with_edits(b: &Built, p: &Proposal) -> Frames {
    let mut f = b.frames.clone();
    for e in &p.edits {
        set(&mut f, &format!("file {}", e.path), &e.after);
    }
    f
}

// ---- scenarios from real captures

#[test]
fn nft_inet_and_ip_tables_with_a_drop_in_a_jumped_to_chain() {
    let b = Built::new(
        frames("nft-inet-ip"),
        &["10.77.0.1", "2001:db8:77::1", "10.88.0.5", "192.0.2.1"],
    );
    assert_eq!(b.facts.firewall.blocked.len(), 3);
    let p = b.propose();
    insta::assert_snapshot!("nft_inet_ip", render(&p));
    let cmds = commands(&p);
    // 10.77.0.1 needs two rules: the named chain of inet filter, then ip extra.
    assert_eq!(cmds.len(), 4, "{cmds:#?}");
    assert!(cmds[0].starts_with("nft 'insert rule inet filter ssh_in position "));
    assert!(cmds[0].contains(" ip saddr 10.77.0.1 tcp dport 22 accept "));
    assert!(cmds[1].starts_with("nft 'insert rule ip extra input position "));
    assert!(
        cmds[2].contains("inet filter ssh_in") && cmds[2].contains("ip6 saddr 2001:db8:77::1 ")
    );
    assert!(cmds[3].contains("ip extra input") && cmds[3].contains("ip saddr 10.88.0.5 "));
    assert_eq!(p.edits.len(), 1);
    assert_eq!(p.edits[0].validator, Validator::Nft);
    let after = String::from_utf8(p.edits[0].after.clone()).unwrap();
    // each accept on the line right before its drop, same indentation
    let lines: Vec<&str> = after.lines().collect();
    let at = |needle: &str| lines.iter().position(|l| l.contains(needle)).unwrap();
    assert_eq!(
        at("ip saddr 10.77.0.0/24 counter drop"),
        at("ip saddr 10.77.0.1 tcp dport 22 accept") + 1
    );
    assert_eq!(
        at("ip6 saddr 2001:db8:77::/64 drop"),
        at("ip6 saddr 2001:db8:77::1 tcp dport 22 accept") + 1
    );
    assert!(lines[at("ip saddr 10.77.0.1 tcp dport 22 accept")].starts_with("\t\tip saddr"));
    // the persisted file alone now lets every client in (evaluated by loading
    // the file is the real test's job; here: idempotency on the file)
    let again = Built::new(
        with_edits(&b, &p),
        &["10.77.0.1", "2001:db8:77::1", "10.88.0.5"],
    );
    let p2 = again.propose();
    assert!(
        p2.edits.is_empty(),
        "the file was edited twice: {}",
        render(&p2)
    );
}

#[test]
fn nft_policy_drop_appends_at_the_end_of_the_chain() {
    let b = Built::new(
        frames("nft-policy"),
        &["10.77.0.1", "2001:db8::5", "192.0.2.7"],
    );
    let p = b.propose();
    insta::assert_snapshot!("nft_policy", render(&p));
    let cmds = commands(&p);
    assert_eq!(cmds.len(), 2);
    assert!(cmds[0].starts_with(
        "nft 'add rule inet filter input ip saddr 10.77.0.1 tcp dport 22 accept comment"
    ));
    assert!(cmds[1].starts_with("nft 'add rule inet filter input ip6 saddr 2001:db8::5 "));
    let after = String::from_utf8(p.edits[0].after.clone()).unwrap();
    assert!(after.contains(
        "        ip saddr 192.0.2.0/24 tcp dport 22 accept\n        ip saddr 10.77.0.1 tcp dport 22 accept comment \"sshfix: allow 10.77.0.1 port 22\"\n        ip6 saddr 2001:db8::5 tcp dport 22 accept comment \"sshfix: allow 2001:db8::5 port 22\"\n    }\n    chain output {"
    ), "{after}");
}

#[test]
fn nft_file_without_a_final_newline() {
    let b = Built::new(frames("nft-nonewline"), &["10.77.0.1"]);
    let p = b.propose();
    insta::assert_snapshot!("nft_nonewline", render(&p));
    let after = String::from_utf8(p.edits[0].after.clone()).unwrap();
    assert!(
        after.ends_with("\t\tip saddr 10.77.0.1 tcp dport 22 drop\n\t}\n}"),
        "{after:?}"
    );
}

#[test]
fn crlf_persisted_file_is_refused_and_live_rules_untouched() {
    let mut f = frames("nft-nonewline");
    let crlf = std::fs::read_to_string(scenario_dir("nft-nonewline").join("etc/nftables.conf"))
        .unwrap()
        .replace('\n', "\r\n");
    set(&mut f, "file /etc/nftables.conf", crlf.as_bytes());
    let b = Built::new(f, &["10.77.0.1"]);
    let e = b.run(json!({})).unwrap_err();
    assert!(e.contains("/etc/nftables.conf:1 ends with CRLF"), "{e}");
    assert!(
        e.contains("`nft -c -f` fails") && e.ends_with("a human must look"),
        "{e}"
    );
    // the same for a save file
    let mut f = frames("ipt-rule");
    let crlf = std::fs::read_to_string(scenario_dir("ipt-rule").join("etc/iptables/rules.v4"))
        .unwrap()
        .replace('\n', "\r\n");
    set(&mut f, "file /etc/iptables/rules.v4", crlf.as_bytes());
    let e = Built::new(f, &["10.77.0.1"]).run(json!({})).unwrap_err();
    assert!(e.contains("rules.v4:1 ends with CRLF"), "{e}");
}

#[test]
fn iptables_policy_drop_v4_and_v6() {
    let b = Built::new(
        frames("ipt-policy"),
        &["10.77.0.1", "2001:db8::5", "192.0.2.7"],
    );
    let p = b.propose();
    insta::assert_snapshot!("ipt_policy", render(&p));
    assert_eq!(
        commands(&p),
        [
            "iptables-nft -t filter -A INPUT -s 10.77.0.1/32 -p tcp -m tcp --dport 22 -m comment --comment 'sshfix: allow 10.77.0.1 port 22' -j ACCEPT",
            "ip6tables-nft -t filter -A INPUT -s 2001:db8::5/128 -p tcp -m tcp --dport 22 -m comment --comment 'sshfix: allow 2001:db8::5 port 22' -j ACCEPT",
        ]
    );
    let v4 = p
        .edits
        .iter()
        .find(|e| e.path == "/etc/iptables/rules.v4")
        .unwrap();
    assert_eq!(
        v4.validator,
        Validator::IptablesRestore {
            family: "ipv4".into()
        }
    );
    let v6 = p
        .edits
        .iter()
        .find(|e| e.path == "/etc/iptables/rules.v6")
        .unwrap();
    assert_eq!(
        v6.validator,
        Validator::IptablesRestore {
            family: "ipv6".into()
        }
    );
    // a chain without rules: the accept goes right before COMMIT
    assert!(String::from_utf8_lossy(&v6.after).contains(":OUTPUT ACCEPT [0:0]\n-A INPUT -s 2001:db8::5/128 -p tcp -m tcp --dport 22 -m comment --comment \"sshfix: allow 2001:db8::5 port 22\" -j ACCEPT\nCOMMIT\n"));
}

#[test]
fn iptables_rule_drop_several_clients_one_rule_each() {
    let b = Built::new(
        frames("ipt-rule"),
        &["10.77.0.1", "10.77.0.2", "10.88.1.1", "192.0.2.1"],
    );
    let p = b.propose();
    insta::assert_snapshot!("ipt_rule", render(&p));
    let cmds = commands(&p);
    // positions account for the rules inserted before
    assert!(cmds[0].starts_with("iptables-nft -t filter -I INPUT 3 -s 10.77.0.1/32 "));
    assert!(cmds[1].starts_with("iptables-nft -t filter -I INPUT 4 -s 10.77.0.2/32 "));
    assert!(cmds[2].starts_with("iptables-nft -t filter -I INPUT 6 -s 10.88.1.1/32 "));
    assert_eq!(cmds.len(), 3);
    for (a, command) in p.actions.iter().zip(&cmds) {
        let Op::Command { undo, .. } = &a.op else {
            unreachable!()
        };
        // the undo deletes by the identical rule spec
        let spec = command.split_once(" -s ").unwrap().1;
        assert_eq!(undo.as_deref().unwrap().split_once(" -s ").unwrap().1, spec);
        assert!(undo.as_deref().unwrap().contains(" -D INPUT -s "));
    }
}

#[test]
fn ip6tables_drop_in_a_user_chain() {
    let b = Built::new(frames("ip6tables"), &["2001:db8:77::1", "2001:db8:88::1"]);
    let p = b.propose();
    insta::assert_snapshot!("ip6tables", render(&p));
    let cmds = commands(&p);
    assert!(cmds[0].starts_with("ip6tables-nft -t filter -I SSH 1 -s 2001:db8:77::1/128 "));
    assert!(cmds[1].starts_with("ip6tables-nft -t filter -I SSH 3 -s 2001:db8:88::1/128 "));
}

#[test]
fn iptables_legacy_rule_next_to_an_nft_ruleset() {
    let b = Built::new(frames("legacy"), &["10.77.0.1"]);
    let p = b.propose();
    insta::assert_snapshot!("legacy", render(&p));
    assert!(commands(&p)[0].starts_with("iptables-legacy -t filter -I INPUT 1 "));
    assert_eq!(p.edits[0].path, "/etc/iptables/rules.v4");
}

#[test]
fn inserts_are_guarded_against_a_changed_ruleset() {
    let p = Built::new(frames("nft-nonewline"), &["10.77.0.1"]).propose();
    assert_eq!(
        full_commands(&p)[0],
        format!(
            "if nft -a list chain ip filter input | sed -e 's/^[[:space:]]*//' -e 's/ counter packets [0-9]* bytes [0-9]*/ counter/' | grep -qxF -- 'ip saddr 10.77.0.1 tcp dport 22 drop # handle 2'; then {}; else echo 'sshfix: chain ip filter input no longer has rule handle 2 as planned; re-run sshfix plan' >&2; exit 1; fi",
            commands(&p)[0]
        )
    );
    let p = Built::new(frames("ipt-rule"), &["10.88.1.1"]).propose();
    assert!(full_commands(&p)[0].starts_with(
        "if [ \"$(iptables-nft -t filter -S INPUT | sed -n '5p')\" = '-A INPUT -s 10.88.0.0/16 -p tcp -m multiport --dports 21:23 -j REJECT --reject-with tcp-reset' ]; then iptables-nft -t filter -I INPUT 4 "
    ), "{}", full_commands(&p)[0]);
    // appends (policies) need no guard
    let p = Built::new(frames("ipt-policy"), &["10.77.0.1"]).propose();
    assert!(full_commands(&p)[0].starts_with("iptables-nft -t filter -A INPUT "));
}

#[test]
fn nothing_blocked_is_an_empty_proposal() {
    let b = Built::new(frames("nft-inet-ip"), &["192.0.2.1", "2001:db8:99::1"]);
    assert_eq!(b.propose(), Proposal::default());
    // the healthy lab host (Debian's default nft ruleset)
    let healthy = captured::frames("healthy");
    assert_eq!(
        Built::new(healthy, &["10.77.0.1"]).propose(),
        Proposal::default()
    );
    // another port than the one blocked
    let b = Built::new(frames("nft-nonewline"), &["10.77.0.1"]);
    assert_eq!(b.run(json!({"port": 2222})).unwrap(), Proposal::default());
}

#[test]
fn rule_added_live_only_gets_a_live_fix_and_says_so() {
    let mut f = frames("nft-inet-ip");
    set(
        &mut f,
        "file /etc/nftables.conf",
        b"#!/usr/sbin/nft -f\nflush ruleset\n",
    );
    let b = Built::new(f, &["10.88.0.5"]);
    let p = b.propose();
    assert!(p.edits.is_empty());
    assert_eq!(p.actions.len(), 1);
    assert!(
        p.actions[0].reason.contains("in the running ruleset only: `ip saddr 10.88.0.5 tcp dport 22 reject with tcp reset` is not in /etc/nftables.conf (added live?), so a human must persist it"),
        "{}",
        p.actions[0].reason
    );
    // no persisted file at all
    let mut f = frames("ipt-rule");
    f.items.retain(|i| i.key != "file /etc/iptables/rules.v4");
    let p = Built::new(f, &["10.77.0.1"]).propose();
    assert!(p.edits.is_empty());
    assert!(
        p.actions[0]
            .reason
            .contains("no persisted rules file was found"),
        "{}",
        p.actions[0].reason
    );
}

#[test]
fn arguments() {
    let b = Built::new(frames("ipt-rule"), &["192.0.2.1"]);
    // default: the host's clients (not blocked)
    assert!(b.propose().is_empty());
    let p = b.run(json!({"allow": ["10.77.0.2"], "port": 22})).unwrap();
    assert_eq!(p.actions.len(), 1);
    // an IPv4-mapped client is the IPv4 packet it arrives as
    let p = b.run(json!({"allow": ["::ffff:10.77.0.2"]})).unwrap();
    assert!(commands(&p)[0].contains("iptables-nft -t filter -I INPUT 3 -s 10.77.0.2/32 "));
    let e = b.run(json!({"allow": ["10.77.0.0/24"]})).unwrap_err();
    assert!(
        e.contains("`10.77.0.0/24` in `allow` is not an IP address"),
        "{e}"
    );
    let e = b
        .run(json!({"allow": ["10.77.0.2"], "ports": 22}))
        .unwrap_err();
    assert!(e.contains("unknown field `ports`"), "{e}");
    let e = b.run(json!({"port": 0})).unwrap_err();
    assert!(e.contains("`port` 0"), "{e}");
}

// ---- refusals

#[test]
fn uncertain_verdict_without_a_blocking_rule_is_refused() {
    // jump-chains: 10.77.0.3 is accepted, but a `meta mark` drop may hit it
    let b = Built::new(facts_fixture_frames("jump-chains", &[]), &["10.77.0.3"]);
    assert_eq!(b.facts.firewall.uncertain.len(), 1);
    let e = b.run(json!({})).unwrap_err();
    assert!(
        e.contains("may block 10.77.0.3 on port 22, but no rule definitely does"),
        "{e}"
    );
    assert!(
        e.contains("meta mark") && e.ends_with("a human must look"),
        "{e}"
    );
}

#[test]
fn a_fail2ban_ban_is_refused() {
    let fw = dir().join("facts/firewall");
    let text = std::fs::read_to_string(fw.join("fail2ban-nftables.nft.txt")).unwrap();
    let banned = text
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|w| w.matches('.').count() == 3)
        .unwrap()
        .to_string();
    let b = Built::new(facts_fixture_frames("fail2ban-nftables", &[]), &[&banned]);
    assert_eq!(b.facts.firewall.bans.len(), 1);
    let e = b.run(json!({})).unwrap_err();
    assert!(
        e.contains("fail2ban/sshguard ban (finding `fail2ban-ban`)"),
        "{e}"
    );
}

#[test]
fn unsafe_names_and_unparsable_files_are_refused() {
    // a chain name with a space (nft allows it quoted)
    let mut f = frames("nft-nonewline");
    let json_text = String::from_utf8(f.get("nft-json").unwrap().body.clone()).unwrap();
    let txt = String::from_utf8(f.get("nft-text").unwrap().body.clone()).unwrap();
    let json_text = json_text
        .replace("\"name\": \"input\"", "\"name\": \"in put\"")
        .replace("\"chain\": \"input\"", "\"chain\": \"in put\"");
    set(&mut f, "nft-json", json_text.as_bytes());
    set(
        &mut f,
        "nft-text",
        txt.replace("chain input", "chain \"in put\"").as_bytes(),
    );
    let e = Built::new(f, &["10.77.0.1"]).run(json!({})).unwrap_err();
    assert!(e.contains("cannot be written safely"), "{e}");
    // a rules.v4 the save parser rejects
    let mut f = frames("ipt-rule");
    set(
        &mut f,
        "file /etc/iptables/rules.v4",
        b"-A INPUT -j ACCEPT\n",
    );
    let e = Built::new(f, &["10.77.0.1"]).run(json!({})).unwrap_err();
    assert!(
        e.contains("/etc/iptables/rules.v4: line 1: rule outside a `*table` block"),
        "{e}"
    );
    assert!(e.contains("does not understand this file"), "{e}");
    // a policy chain whose block closes on a rule line
    let mut f = frames("nft-policy");
    let conf = std::fs::read_to_string(scenario_dir("nft-policy").join("etc/nftables.conf"))
        .unwrap()
        .replace("tcp dport 22 accept\n    }", "tcp dport 22 accept }");
    set(&mut f, "file /etc/nftables.conf", conf.as_bytes());
    let e = Built::new(f, &["10.77.0.1"]).run(json!({})).unwrap_err();
    assert!(
        e.contains("/etc/nftables.conf:7: the block of chain input ends with"),
        "{e}"
    );
}

#[test]
fn iptables_nft_rule_unpaired_with_iptables_save_is_refused() {
    let mut f = frames("ipt-rule");
    f.items.retain(|i| i.key != "iptables-nft-save");
    let b = Built::new(f, &["10.77.0.1"]);
    // without iptables-save the nft view alone still finds the drop...
    assert_eq!(b.facts.firewall.blocked.len(), 1);
    // ...but sshfix will not write into an iptables-nft table with nft
    let e = b.run(json!({})).unwrap_err();
    assert!(e.contains("belongs to iptables-nft"), "{e}");
}

// ---- ufw and firewalld (real captures from the facts fixtures)

#[test]
fn ufw_uses_its_own_command() {
    let mut f = facts_fixture_frames(
        "ufw",
        &[
            ("iptables-nft-save", "ufw.rules.v4"),
            ("ip6tables-nft-save", "ufw.rules.v6"),
        ],
    );
    set(
        &mut f,
        "file /etc/ufw/user.rules",
        &std::fs::read(dir().join("facts/firewall/ufw.user.rules")).unwrap(),
    );
    set(
        &mut f,
        "file /etc/ufw/ufw.conf",
        b"ENABLED=yes\nLOGLEVEL=low\n",
    );
    // ufw's own `deny from 10.77.0.1 to any port 22 proto tcp`: an allow for
    // the same tuple is "the same rule" to ufw, so only a human can change it
    let b = Built::new(f.clone(), &["10.77.0.1"]);
    let e = b.run(json!({})).unwrap_err();
    assert!(
        e.contains("ufw treats an allow for the same client and port as the same rule"),
        "{e}"
    );
    assert!(
        e.contains("`ufw delete deny proto tcp from 10.77.0.1 to any port 22`"),
        "{e}"
    );
    // the default deny (INPUT policy) and a client ufw already allows
    let b = Built::new(f, &["192.0.2.1", "10.77.0.2"]);
    let p = b.propose();
    insta::assert_snapshot!("ufw", render(&p));
    assert_eq!(
        commands(&p),
        ["ufw prepend allow proto tcp from 192.0.2.1 to any port 22"]
    );
    assert!(p.edits.is_empty(), "ufw saves its own rules");
}

#[test]
fn ufw_captured_in_a_namespace() {
    let b = Built::new(
        frames("ufw"),
        &["10.77.0.1", "2001:db8:77::1", "192.0.2.1", "10.77.1.1"],
    );
    let p = b.propose();
    insta::assert_snapshot!("ufw_netns", render(&p));
    assert_eq!(
        commands(&p),
        [
            "ufw prepend allow proto tcp from 10.77.0.1 to any port 22",
            "ufw prepend allow proto tcp from 2001:db8:77::1 to any port 22",
            "ufw prepend allow proto tcp from 192.0.2.1 to any port 22",
        ]
    );
}

#[test]
fn firewalld_captured_in_a_namespace() {
    let b = Built::new(
        frames("firewalld"),
        &["10.77.0.1", "2001:db8:77::1", "10.99.0.1"],
    );
    let p = b.propose();
    insta::assert_snapshot!("firewalld_netns", render(&p));
    let cmds = commands(&p);
    assert_eq!(cmds.len(), 4, "live and --permanent for two clients");
    assert!(cmds[2].contains("family=\"ipv6\" source address=\"2001:db8:77::1\""));
    assert!(p.edits.is_empty(), "firewalld writes its own zone files");
}

#[test]
fn firewalld_uses_a_rich_rule_in_the_zone_pre_chain() {
    let mut f = facts_fixture_frames("firewalld", &[]);
    set(&mut f, "firewalld-state", b"running\n");
    let b = Built::new(f.clone(), &["10.77.0.1", "10.88.1.1"]);
    let p = b.propose();
    insta::assert_snapshot!("firewalld", render(&p));
    let cmds = commands(&p);
    assert_eq!(cmds.len(), 4);
    assert_eq!(
        cmds[0],
        "firewall-cmd --zone=public --add-rich-rule='rule priority=\"-32768\" family=\"ipv4\" source address=\"10.77.0.1\" port port=\"22\" protocol=\"tcp\" accept'"
    );
    assert!(cmds[1].starts_with("firewall-cmd --permanent --zone=public --add-rich-rule="));
    // firewalld not running: its table is left to nft like any other
    let b = Built::new(facts_fixture_frames("firewalld", &[]), &["10.77.0.1"]);
    assert!(commands(&b.propose())[0]
        .starts_with("nft 'insert rule inet firewalld filter_IN_public_deny position "));
}

// ---- against the real tools

mod real {
    use super::*;
    use std::io::Write;

    fn cannot_run() -> Option<String> {
        if !nix::unistd::geteuid().is_root() {
            return Some("not root (network namespaces need it)".into());
        }
        for tool in ["ip", "nft", "iptables-nft-save", "iptables-legacy-save"] {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success());
            if !found {
                return Some(format!(
                    "`{tool}` is missing (apt-get install nftables iptables iproute2)"
                ));
            }
        }
        None
    }

    fn skip_or_fail(test: &str) -> bool {
        match cannot_run() {
            None => false,
            Some(why) => {
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("CI=true: {test} must run against the real nft/iptables, but {why}");
                }
                let _ = writeln!(
                    std::io::stderr(),
                    "\n!!!!!!!! SKIPPED {test}: {why}; the firewall fixes were NOT checked against the real tools !!!!!!!!\n"
                );
                true
            }
        }
    }

    /// A network namespace deleted on drop (also when the test panics).
    /// With `binds` (a scenario's `binds` file: `FROM TO` per line, FROM
    /// relative to the scenario), every command runs in a private mount
    /// namespace with those bind mounts (ufw's and firewalld's state); the
    /// processes in `pids` (firewalld and its dbus-daemon, started by the
    /// scenario's setup) are killed by id on drop.
    struct Netns {
        name: String,
        binds: Vec<(PathBuf, String)>,
        pids: Vec<String>,
    }

    impl Netns {
        fn new(tag: &str) -> Netns {
            let name = format!("sshfix-fwt-{tag}-{}", std::process::id());
            let _ = Command::new("ip").args(["netns", "delete", &name]).output();
            let o = Command::new("ip")
                .args(["netns", "add", &name])
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "ip netns add: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            Netns {
                name,
                binds: Vec::new(),
                pids: Vec::new(),
            }
        }

        /// Takes the scenario's bind mounts and daemons after its setup ran.
        fn adopt(&mut self, root: &Path) {
            if let Ok(text) = std::fs::read_to_string(root.join("binds")) {
                for l in text.lines() {
                    if let Some((from, to)) = l.split_once(' ') {
                        self.binds.push((root.join(from), to.to_string()));
                    }
                }
            }
            if let Ok(pids) = std::fs::read_to_string(root.join("state/pids")) {
                self.pids = pids.split_whitespace().map(str::to_string).collect();
            }
        }

        /// `sh -c script` in the namespace, in `cwd`; (status, stdout+stderr).
        fn sh(&self, script: &str, cwd: &Path) -> (bool, String) {
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", &self.name]);
            if self.binds.is_empty() {
                cmd.args(["sh", "-c", script]);
            } else {
                // mount --bind "$1" TO1 && mount --bind "$2" TO2 && exec sh -c "$N"
                let mut wrap = String::new();
                for (i, (_, to)) in self.binds.iter().enumerate() {
                    wrap.push_str(&format!("mount --bind \"${}\" {to} && ", i + 1));
                }
                wrap.push_str(&format!("exec sh -c \"${}\"", self.binds.len() + 1));
                cmd.args(["unshare", "-m", "sh", "-c", &wrap, "sh"]);
                for (from, _) in &self.binds {
                    cmd.arg(from);
                }
                cmd.arg(script);
            }
            let o = cmd.current_dir(cwd).output().unwrap();
            let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
            s.push_str(&String::from_utf8_lossy(&o.stderr));
            (o.status.success(), s)
        }

        fn ok(&self, script: &str, cwd: &Path) -> String {
            let (ok, out) = self.sh(script, cwd);
            assert!(ok, "in {}: `{script}` failed:\n{out}", self.name);
            out
        }

        /// The facts script's firewall items, as `capture.sh` takes them.
        fn capture(&self, root: &Path) -> Frames {
            let mut f = base();
            for (key, cmd) in [
                ("nft-json", "nft -j list ruleset"),
                ("nft-text", "nft -a list ruleset"),
                ("iptables-nft-save", "iptables-nft-save"),
                ("ip6tables-nft-save", "ip6tables-nft-save"),
                ("iptables-legacy-save", "iptables-legacy-save"),
                ("ip6tables-legacy-save", "ip6tables-legacy-save"),
            ] {
                let out = self.ok(&format!("{cmd} 2>&1"), root);
                set(&mut f, key, out.as_bytes());
            }
            if !self.pids.is_empty() {
                for (key, cmd) in [
                    ("firewalld-state", "firewall-cmd --state"),
                    ("firewalld-list", "firewall-cmd --list-all"),
                ] {
                    let out = self.ok(cmd, root);
                    set(&mut f, key, out.as_bytes());
                }
            }
            add_files(&mut f, root);
            f
        }

        /// Everything loaded, for byte comparison (legacy saves without
        /// their date comments).
        fn state(&self) -> String {
            let tmp = std::env::temp_dir();
            let mut s = self.ok("nft list ruleset", &tmp);
            // the state ufw and firewalld persist themselves
            for (from, to) in &self.binds {
                for f in ["user.rules", "user6.rules", "zones/public.xml"] {
                    if let Ok(text) = std::fs::read_to_string(from.join(f)) {
                        s.push_str(&format!("--- {to}/{f}\n{text}"));
                    }
                }
            }
            for cmd in ["iptables-legacy-save", "ip6tables-legacy-save"] {
                let out = self.ok(cmd, &tmp);
                s.push_str(&format!("--- {cmd}\n"));
                for l in out.lines().filter(|l| !l.starts_with("# ")) {
                    s.push_str(l);
                    s.push('\n');
                }
            }
            s
        }
    }

    impl Drop for Netns {
        fn drop(&mut self) {
            for pid in &self.pids {
                let _ = Command::new("kill").arg(pid).output();
            }
            let _ = Command::new("ip")
                .args(["netns", "delete", &self.name])
                .output();
        }
    }

    /// A copy of the scenario directory (setup.sh and etc/) in a temp dir,
    /// with `files` (absolute path → content) written over its etc/.
    /// A temporary directory removed on drop (also when the test panics).
    struct Scratch(PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn copy_scenario(name: &str, files: &[(String, Vec<u8>)], tag: &str) -> Scratch {
        let to =
            std::env::temp_dir().join(format!("sshfix-fwt-{name}-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&to);
        let from = scenario_dir(name);
        let st = Command::new("cp")
            .args(["-r"])
            .arg(&from)
            .arg(&to)
            .status()
            .unwrap();
        assert!(st.success());
        let _ = std::fs::remove_dir_all(to.join("captured"));
        for (p, b) in files {
            let dst = to.join(p.trim_start_matches('/'));
            std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
            std::fs::write(dst, b).unwrap();
        }
        Scratch(to)
    }

    fn check(name: &str, clients: &[&str]) {
        let test = format!("real_{name}");
        if skip_or_fail(&test) {
            return;
        }
        // declared before the namespaces, so dropped after them
        let scratch = copy_scenario(name, &[], "orig");
        let root = scratch.0.clone();
        let cand = Scratch(
            std::env::temp_dir().join(format!("sshfix-fwt-cand-{name}-{}", std::process::id())),
        );
        let cand_dir = cand.0.clone();
        let mut ns = Netns::new(&format!("{name}-a"));
        ns.ok("sh -e setup.sh", &root);
        ns.adopt(&root);
        let before = ns.state();
        let b = Built::new(ns.capture(&root), clients);
        assert!(
            !b.all_pass().is_empty(),
            "{name}: nothing blocked to begin with"
        );
        let p = b.propose();
        assert!(!p.actions.is_empty(), "{name}: no live change proposed");

        // 1. each candidate file passes its validator
        std::fs::create_dir_all(&cand_dir).unwrap();
        for (i, e) in p.edits.iter().enumerate() {
            let file = cand_dir.join(format!("candidate-{i}"));
            std::fs::write(&file, &e.after).unwrap();
            let f = file.display();
            let cmd = match &e.validator {
                Validator::Nft => format!("nft -c -f {f}"),
                Validator::IptablesRestore { family } if family == "ipv6" => {
                    format!("ip6tables-restore --test {f}")
                }
                Validator::IptablesRestore { .. } => format!("iptables-restore --test {f}"),
                v => panic!("{name}: unexpected validator {v:?}"),
            };
            ns.ok(&cmd, &cand_dir);
        }
        // 2. the persisted files alone (loaded in a fresh namespace) let the
        // clients in, unless the scenario persists nothing
        if !p.edits.is_empty() {
            let files: Vec<(String, Vec<u8>)> = p
                .edits
                .iter()
                .map(|e| (e.path.clone(), e.after.clone()))
                .collect();
            let scratch2 = copy_scenario(name, &files, "persisted");
            let root2 = scratch2.0.clone();
            let mut ns2 = Netns::new(&format!("{name}-b"));
            ns2.ok("sh -e setup.sh", &root2);
            ns2.adopt(&root2);
            let b2 = Built::new(ns2.capture(&root2), clients);
            assert_eq!(
                b2.all_pass(),
                Vec::<String>::new(),
                "{name}: persisted files do not fix it"
            );
            assert!(
                b2.propose().is_empty(),
                "{name}: proposal after loading the persisted fix"
            );
        }
        // 3. the live commands, then evaluate and propose again
        for c in full_commands(&p) {
            ns.ok(&c, &root);
        }
        let after = Built::new(ns.capture(&root), clients);
        assert_eq!(
            after.all_pass(),
            Vec::<String>::new(),
            "{name}: live commands do not fix it"
        );
        let again = after.run(json!({})).unwrap();
        assert!(
            again.is_empty(),
            "{name}: not idempotent: {}",
            render(&again)
        );
        // 4. undo, in reverse order, restores the ruleset byte for byte
        for a in p.actions.iter().rev() {
            let Op::Command { undo: Some(u), .. } = &a.op else {
                panic!("no undo")
            };
            ns.ok(u, &root);
        }
        assert_eq!(
            ns.state(),
            before,
            "{name}: undo did not restore the ruleset"
        );
    }

    /// Between plan and apply the rules change: the guarded inserts refuse
    /// (exit 1, with the reason on stderr) and change nothing.
    #[test]
    fn real_guards_refuse_a_changed_ruleset() {
        if skip_or_fail("real_guards_refuse_a_changed_ruleset") {
            return;
        }
        // iptables: a rule inserted at the top shifts the positions
        let scratch = copy_scenario("ipt-rule", &[], "guard");
        let root = scratch.0.clone();
        let ns = Netns::new("guard-ipt");
        ns.ok("sh -e setup.sh", &root);
        let p = Built::new(ns.capture(&root), &["10.77.0.1"]).propose();
        ns.ok("iptables -I INPUT 1 -p tcp --dport 81 -j ACCEPT", &root);
        let changed = ns.state();
        let (ok, out) = ns.sh(&full_commands(&p)[0], &root);
        assert!(!ok, "{out}");
        assert!(out.contains("sshfix: rule 3 of chain INPUT (table filter) is no longer the one planned; re-run sshfix plan"), "{out}");
        assert_eq!(ns.state(), changed);
        // nft: the ruleset reloaded, handle 2 is now another rule
        let scratch2 = copy_scenario("nft-nonewline", &[], "guard");
        let root2 = scratch2.0.clone();
        let ns2 = Netns::new("guard-nft");
        ns2.ok("sh -e setup.sh", &root2);
        let p = Built::new(ns2.capture(&root2), &["10.77.0.1"]).propose();
        ns2.ok(
            "printf 'flush ruleset\ntable ip filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\ttcp dport 80 accept\n\t\tip saddr 10.77.0.1 tcp dport 22 drop\n\t}\n}\n' | nft -f -",
            &root2,
        );
        let changed = ns2.state();
        assert!(ns2
            .ok("nft -a list ruleset", &root2)
            .contains("tcp dport 80 accept # handle 2"));
        let (ok, out) = ns2.sh(&full_commands(&p)[0], &root2);
        assert!(!ok, "{out}");
        assert!(
            out.contains("sshfix: chain ip filter input no longer has rule handle 2 as planned"),
            "{out}"
        );
        assert_eq!(ns2.state(), changed);
    }

    #[test]
    fn real_nft_inet_ip() {
        check(
            "nft-inet-ip",
            &["10.77.0.1", "2001:db8:77::1", "10.88.0.5", "192.0.2.1"],
        );
    }

    #[test]
    fn real_nft_policy() {
        check("nft-policy", &["10.77.0.1", "2001:db8::5", "192.0.2.7"]);
    }

    #[test]
    fn real_nft_nonewline() {
        check("nft-nonewline", &["10.77.0.1"]);
    }

    #[test]
    fn real_ipt_policy() {
        check("ipt-policy", &["10.77.0.1", "2001:db8::5", "192.0.2.7"]);
    }

    #[test]
    fn real_ipt_rule() {
        check(
            "ipt-rule",
            &["10.77.0.1", "10.77.0.2", "10.88.1.1", "192.0.2.1"],
        );
    }

    #[test]
    fn real_ip6tables() {
        check("ip6tables", &["2001:db8:77::1", "2001:db8:88::1"]);
    }

    #[test]
    fn real_ufw() {
        let has_ufw = Command::new("sh")
            .args(["-c", "command -v ufw && command -v unshare"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_ufw && cannot_run().is_none() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true: real_ufw needs `ufw` (apt-get install ufw)");
            }
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!!!!! SKIPPED real_ufw: `ufw` is missing; the ufw fix was NOT checked against the real ufw !!!!!!!!\n"
            );
            return;
        }
        check(
            "ufw",
            &["10.77.0.1", "2001:db8:77::1", "192.0.2.1", "10.77.1.1"],
        );
    }

    #[test]
    fn real_firewalld() {
        let has = Command::new("sh")
            .args(["-c", "command -v firewalld && command -v firewall-cmd && command -v dbus-daemon && command -v unshare"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !has && cannot_run().is_none() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "CI=true: real_firewalld needs firewalld and dbus (apt-get install firewalld)"
                );
            }
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!!!!! SKIPPED real_firewalld: firewalld or dbus-daemon is missing; the rich rule was NOT checked against the real firewalld !!!!!!!!\n"
            );
            return;
        }
        check("firewalld", &["10.77.0.1", "2001:db8:77::1", "10.99.0.1"]);
    }

    #[test]
    fn real_legacy() {
        check("legacy", &["10.77.0.1"]);
    }
}

// ---- more branches, on hand-made variants of the real captures

/// Frames with only an nft-backend `iptables-save` (no nft output), the
/// way a host without the `nft` tool looks.
fn save_only(v4: &str) -> Frames {
    let mut f = base();
    set(&mut f, "iptables-nft-save", v4.as_bytes());
    f
}

#[test]
fn ufw_before_rules_and_an_allow_that_comes_too_late_are_refused() {
    let v4 = "*filter\n:INPUT DROP [0:0]\n:ufw-before-input - [0:0]\n:ufw-user-input - [0:0]\n-A INPUT -j ufw-before-input\n-A ufw-before-input -s 10.77.0.1/32 -j DROP\n-A ufw-before-input -j ufw-user-input\n-A ufw-user-input -s 10.77.0.2/32 -p tcp -m tcp --dport 22 -j DROP\n-A ufw-user-input -s 10.77.0.2/32 -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    let b = Built::new(save_only(v4), &["10.77.0.1"]);
    let e = b.run(json!({})).unwrap_err();
    assert!(e.contains("in ufw's `before` rules"), "{e}");
    let mut f = save_only(v4);
    set(
        &mut f,
        "file /etc/ufw/user.rules",
        b"*filter\n:ufw-user-input - [0:0]\n-A ufw-user-input -p tcp --dport 22 -s 10.77.0.2 -j DROP\n-A ufw-user-input -p tcp --dport 22 -s 10.77.0.2 -j ACCEPT\nCOMMIT\n",
    );
    let e = Built::new(f, &["10.77.0.2"]).run(json!({})).unwrap_err();
    assert!(e.contains("/etc/ufw/user.rules:4 already allows it"), "{e}");
    // without nft output, the save view decides and `iptables-nft` writes
    let v4 = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.77.0.3/32 -j DROP\nCOMMIT\n";
    let p = Built::new(save_only(v4), &["10.77.0.3"]).propose();
    assert!(commands(&p)[0].starts_with("iptables-nft -t filter -I INPUT 1 -s 10.77.0.3/32 "));
}

#[test]
fn persisted_policy_that_differs_from_the_live_one_is_left_alone() {
    let mut f = frames("ipt-policy");
    let v4 = std::fs::read_to_string(scenario_dir("ipt-policy").join("etc/iptables/rules.v4"))
        .unwrap()
        .replace(":INPUT DROP", ":INPUT ACCEPT");
    set(&mut f, "file /etc/iptables/rules.v4", v4.as_bytes());
    let p = Built::new(f, &["10.77.0.1"]).propose();
    assert!(p.edits.is_empty());
    assert!(
        p.actions[0]
            .reason
            .contains("in the running rules only: /etc/iptables/rules.v4:3 gives chain INPUT policy ACCEPT, not DROP as in the running rules, so the file is left alone"),
        "{}",
        p.actions[0].reason
    );
}

#[test]
fn command_form_nft_files() {
    // a rule: `add rule` before the blocking `add rule`
    let mut f = frames("nft-nonewline");
    let conf = "flush ruleset\nadd table ip filter\nadd chain ip filter input { type filter hook input priority 0; policy accept; }\nadd rule ip filter input ip saddr 10.77.0.1 tcp dport 22 drop\n";
    set(&mut f, "file /etc/nftables.conf", conf.as_bytes());
    let p = Built::new(f, &["10.77.0.1"]).propose();
    assert_eq!(
        String::from_utf8(p.edits[0].after.clone()).unwrap(),
        conf.replace(
            "add rule ip filter input ip saddr 10.77.0.1 tcp dport 22 drop",
            "add rule ip filter input ip saddr 10.77.0.1 tcp dport 22 accept comment \"sshfix: allow 10.77.0.1 port 22\"\nadd rule ip filter input ip saddr 10.77.0.1 tcp dport 22 drop"
        )
    );
    // a policy: after the chain's last `add rule`
    let mut f = frames("nft-policy");
    let conf = "flush ruleset\nadd table inet filter\nadd chain inet filter input { type filter hook input priority 0; policy drop; }\nadd rule inet filter input iif lo accept\nadd rule inet filter input ip saddr 192.0.2.0/24 tcp dport 22 accept\nadd chain inet filter output { type filter hook output priority 0; policy accept; }\n";
    set(&mut f, "file /etc/nftables.conf", conf.as_bytes());
    let p = Built::new(f, &["10.77.0.1"]).propose();
    let after = String::from_utf8(p.edits[0].after.clone()).unwrap();
    assert!(after.contains("22 accept\nadd rule inet filter input ip saddr 10.77.0.1 tcp dport 22 accept comment \"sshfix: allow 10.77.0.1 port 22\"\nadd chain inet filter output"), "{after}");
}

#[test]
fn firewalld_with_the_iptables_backend() {
    // the chains firewalld's iptables backend makes (no nft output)
    let v4 = "*filter\n:INPUT ACCEPT [0:0]\n:INPUT_ZONES - [0:0]\n:IN_public - [0:0]\n:IN_public_pre - [0:0]\n:IN_public_deny - [0:0]\n:IN_public_allow - [0:0]\n-A INPUT -j INPUT_ZONES\n-A INPUT_ZONES -g IN_public\n-A IN_public -j IN_public_pre\n-A IN_public -j IN_public_deny\n-A IN_public -j IN_public_allow\n-A IN_public -j REJECT --reject-with icmp-host-prohibited\n-A IN_public_deny -s 10.77.0.1/32 -p tcp -m tcp --dport 22 -j DROP\n-A IN_public_allow -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    let mut f = save_only(v4);
    set(&mut f, "firewalld-state", b"running\n");
    let p = Built::new(f.clone(), &["10.77.0.1"]).propose();
    assert_eq!(p.actions.len(), 2);
    assert!(commands(&p)[0].starts_with("firewall-cmd --zone=public --add-rich-rule='rule priority=\"-32768\" family=\"ipv4\" source address=\"10.77.0.1\""));
    // the zone's final reject (port 2222 is not open), zone from its chain
    let b = Built::new(f.clone(), &["192.0.2.1"]);
    assert!(b.facts.firewall.blocked.is_empty());
    let p = b.run(json!({"port": 2222})).unwrap();
    assert!(
        p.actions[0]
            .reason
            .starts_with("`iptables: table filter chain IN_public rule 4: -A IN_public -j REJECT"),
        "{}",
        p.actions[0].reason
    );
    assert!(
        commands(&p)[1].contains("--permanent --zone=public")
            && commands(&p)[1].contains("port port=\"2222\"")
    );
    // no `_pre` chain: sshfix cannot show the rich rule would work
    let mut f = save_only(
        &v4.replace(":IN_public_pre - [0:0]\n", "")
            .replace("-A IN_public -j IN_public_pre\n", ""),
    );
    set(&mut f, "firewalld-state", b"running\n");
    let e = Built::new(f, &["10.77.0.1"]).run(json!({})).unwrap_err();
    assert!(
        e.contains("chain IN_public_pre of table filter is not in the iptables rules"),
        "{e}"
    );
}

#[test]
fn a_definite_block_with_uncertain_rules_before_it_is_fixed_and_says_so() {
    // iptables-nft fixture: a `-m recent` drop (unevaluable) in SSH_CHECK
    // may hit 10.77.0.1 before the definite `-s 10.77.0.1/32 ... -j DROP`
    let f = facts_fixture_frames(
        "iptables-nft",
        &[
            ("iptables-nft-save", "iptables-nft.rules.v4"),
            ("ip6tables-nft-save", "iptables-nft.rules.v6"),
        ],
    );
    let b = Built::new(f, &["10.77.0.1"]);
    let p = b.propose();
    assert_eq!(p.actions.len(), 1);
    let r = &p.actions[0].reason;
    assert!(
        r.contains("rules sshfix cannot evaluate are on the way too and may still block it"),
        "{r}"
    );
    assert!(r.contains("-m recent"), "{r}");
    assert!(commands(&p)[0].starts_with("iptables-nft -t filter -I INPUT 4 -s 10.77.0.1/32 "));
}

#[test]
fn facts_that_disagree_with_the_raw_rules_are_refused() {
    let b = Built::new(frames("nft-nonewline"), &["10.77.0.1"]);
    // the same facts, but raw items from a host without that drop
    let other = frames("nft-policy");
    let host = Host {
        frames: &other,
        ..b.host()
    };
    let e = firewall::task(&host, &json!({}), FINDING)
        .unwrap_err()
        .message;
    assert!(
        e.contains(
            "the facts say 10.77.0.1 is dropped by nft: table ip filter chain input handle 2"
        ),
        "{e}"
    );
    assert!(e.contains("re-gather the facts"), "{e}");
}
