//! The check catalogue over real captured facts: each capture of the facts
//! script on a broken lab host (`tests/fixtures/facts/frames/`, made by its
//! `capture.sh`) gives exactly the expected findings with evidence, the
//! healthy capture gives none, and the faults the lab cannot make (SELinux,
//! conntrack, fail2ban, PerSourcePenalties, …) are covered by putting real
//! captured or upstream text into a healthy capture. No network, no root.

mod common;

use std::net::IpAddr;

use serde_json::Value;
use sshfix::checks::{Catalogue, Finding, Severity};
use sshfix::facts::frame::{self, Frames, Item};
use sshfix::facts::gather::{ClientsFrom, Gathered};
use sshfix::facts::model;
use sshfix::facts::script::ITEM_CAP;
use sshfix::probe::{ProbeResult, Symptom, Timings};
use sshfix::transport::PathKind;

const MARKER: &str = "sshfix-fixture-0123456789abcdef";
const CONTROLLER: &str = "10.77.0.1";

fn fixture(name: &str) -> Frames {
    let path = format!(
        "{}/tests/fixtures/facts/frames/{name}.out",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let f = frame::parse(&bytes, MARKER, ITEM_CAP).unwrap();
    assert!(f.done, "{name}: the capture did not finish");
    f
}

fn text(rel: &str) -> String {
    let path = format!("{}/tests/fixtures/facts/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn probe(symptom: Symptom, detail: &str) -> ProbeResult {
    ProbeResult {
        host: "h".into(),
        address: "10.77.1.9".into(),
        port: 22,
        symptom,
        detail: detail.into(),
        evidence: None,
        banner: None,
        peer: None,
        timings: Timings::default(),
    }
}

fn ok_probe() -> ProbeResult {
    probe(Symptom::Ok, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10")
}

/// Findings of the built-in catalogue for one capture.
fn findings(frames: &Frames, clients: &[&str], probe: &ProbeResult) -> (Vec<Finding>, Value) {
    findings_on(
        frames,
        clients,
        probe,
        22,
        Some("10.77.1.9".parse().unwrap()),
    )
}

/// The same for an inventory port and address other than the lab's.
fn findings_on(
    frames: &Frames,
    clients: &[&str],
    probe: &ProbeResult,
    port: u16,
    server_addr: Option<IpAddr>,
) -> (Vec<Finding>, Value) {
    let clients: Vec<IpAddr> = clients.iter().map(|c| c.parse().unwrap()).collect();
    let facts = model::build(
        frames,
        &model::Input {
            port,
            clients: &clients,
            server_addr,
        },
    );
    let gathered = Gathered {
        host: "h".into(),
        reached_via: Some(PathKind::Console),
        attempts: Vec::new(),
        clients,
        clients_from: ClientsFrom::Controller,
        outcome: Ok(frames.clone()),
        seconds: 0.0,
    };
    let context = model::context(&gathered, Some(probe), &facts);
    let eval = Catalogue::builtin().unwrap().evaluate(&context);
    assert!(eval.errors.is_empty(), "check errors: {:#?}", eval.errors);
    (eval.findings, context)
}

/// The non-info finding ids, and the info ones, of a capture.
fn ids(f: &[Finding]) -> (Vec<&str>, Vec<&str>) {
    let serious = f
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .map(|f| f.id.as_str())
        .collect();
    let info = f
        .iter()
        .filter(|f| f.severity == Severity::Info)
        .map(|f| f.id.as_str())
        .collect();
    (serious, info)
}

/// `id` is among `findings`, and one of its evidence lines contains every `want`.
fn assert_evidence(findings: &[Finding], id: &str, want: &[&str]) {
    let f = findings
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no `{id}` in {findings:#?}"));
    assert!(
        f.evidence
            .iter()
            .any(|l| want.iter().all(|w| l.contains(w))),
        "`{id}`: no evidence line with all of {want:?}: {:#?}",
        f.evidence
    );
}

/// Sets `key=value` in the `env` item.
fn set_env(frames: &mut Frames, key: &str, value: &str) {
    let mut found = false;
    let mut env: String = frames
        .get("env")
        .unwrap()
        .text()
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{key}=")) {
                found = true;
                format!("{key}={value}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    if !found {
        env.push_str(&format!("{key}={value}\n"));
    }
    set_item(frames, "env", &env, 0);
}

/// The process list without any sshd (socket activation: none runs until a client comes).
fn drop_sshd_from_ps(frames: &mut Frames) {
    let ps: String = frames
        .get("ps")
        .unwrap()
        .text()
        .lines()
        .filter(|l| !l.contains("sshd"))
        .map(|l| format!("{l}\n"))
        .collect();
    set_item(frames, "ps", &ps, 0);
}

fn set_item(frames: &mut Frames, key: &str, body: &str, rc: i32) {
    frames.items.retain(|i| i.key != key);
    frames.items.push(Item {
        key: key.into(),
        body: body.as_bytes().to_vec(),
        rc: Some(rc),
        truncated: false,
        seconds: Some(0.01),
    });
}

#[test]
fn healthy_host_has_no_findings_at_all() {
    let (f, facts) = findings(&fixture("healthy"), &[CONTROLLER], &ok_probe());
    assert!(f.is_empty(), "{f:#?}");
    // and the facts say why: sshd runs, listens, is reachable
    assert_eq!(facts["sshd"]["running"], true);
    assert_eq!(facts["sshd"]["libwrap"], true);
    assert_eq!(facts["sshd"]["test"]["ok"], true);
    assert_eq!(facts["sshd"]["max_startups"]["text"], "10:30:100");
    assert_eq!(facts["clients"][0]["hosts_access"]["allowed"], true);
    assert_eq!(facts["clients"][0]["firewall"]["action"], "accept");
    // 0.0.0.0:22 serves; [::]:22 is IPv6-only (ss prints `[::]` for
    // IPV6_V6ONLY), so it does not serve the IPv4 address clients dial
    assert_eq!(facts["sshd"]["port_listeners"].as_array().unwrap().len(), 1);
    assert!(
        facts["gaps"].as_array().unwrap().is_empty(),
        "{}",
        facts["gaps"]
    );
}

#[test]
fn wrappers_deny_names_the_hosts_deny_line() {
    let p = probe(
        Symptom::ResetBeforeBanner,
        "kex_exchange_identification: read: Connection reset by peer",
    );
    let (f, _) = findings(&fixture("wrappers-deny"), &[CONTROLLER], &p);
    assert_eq!(ids(&f).0, ["tcp-wrappers-deny"]);
    assert_evidence(
        &f,
        "tcp-wrappers-deny",
        &["/etc/hosts.deny:18:", "sshd: 10.77.0.1"],
    );
    assert_evidence(&f, "tcp-wrappers-deny", &["libwrap.so.0"]);
    // another client is not refused by that line
    let (f, _) = findings(&fixture("wrappers-deny"), &["10.77.0.2"], &p);
    assert!(ids(&f).0.is_empty(), "{f:#?}");
}

#[test]
fn maxstartups_in_a_crlf_dropin_with_a_trailing_match() {
    let p = probe(
        Symptom::ClosedBeforeBanner,
        "kex_exchange_identification: Connection closed by remote host",
    );
    let (f, facts) = findings(&fixture("maxstartups-trap"), &[CONTROLLER], &p);
    assert_eq!(ids(&f).0, ["maxstartups-exhausted"]);
    assert_evidence(
        &f,
        "maxstartups-exhausted",
        &[
            "/etc/ssh/sshd_config.d/10-trap.conf:2:",
            "maxstartups=1:100:1",
        ],
    );
    assert_evidence(
        &f,
        "maxstartups-exhausted",
        &["[listener] 1 of 1-1 startups"],
    );
    // the ignored main-file line is still listed as a source, after the winner
    let sources = facts["sshd"]["sources"]["maxstartups"].as_array().unwrap();
    assert!(
        sources[0].as_str().unwrap().contains("10-trap.conf:2"),
        "{sources:?}"
    );
    assert!(sources.len() >= 2, "{sources:?}");
}

#[test]
fn plain_maxstartups() {
    let p = probe(
        Symptom::ClosedBeforeBanner,
        "kex_exchange_identification: Connection closed by remote host",
    );
    let (f, _) = findings(&fixture("maxstartups"), &[CONTROLLER], &p);
    assert_eq!(ids(&f).0, ["maxstartups-exhausted"]);
    assert_evidence(
        &f,
        "maxstartups-exhausted",
        &["/etc/ssh/sshd_config:", "MaxStartups 1:100:1"],
    );
}

#[test]
fn iptables_drop_names_the_live_rule_and_the_persisted_line() {
    let p = probe(
        Symptom::ConnectTimeout,
        "ssh: connect to host 10.77.1.4 port 22: Connection timed out",
    );
    let (f, _) = findings(&fixture("iptables-drop"), &[CONTROLLER], &p);
    assert_eq!(ids(&f).0, ["firewall-blocks-ssh"]);
    assert_evidence(
        &f,
        "firewall-blocks-ssh",
        &["/etc/iptables/rules.v4:", "-j DROP"],
    );
    assert_evidence(
        &f,
        "firewall-blocks-ssh",
        &["nft: table ip filter chain INPUT", "10.77.0.1"],
    );
}

#[test]
fn nft_drop_names_the_rule_and_its_line_in_nftables_conf() {
    let p = probe(
        Symptom::ConnectTimeout,
        "ssh: connect to host 10.77.1.5 port 22: Connection timed out",
    );
    let (f, _) = findings(&fixture("nft-drop"), &[CONTROLLER], &p);
    assert_eq!(ids(&f).0, ["firewall-blocks-ssh"]);
    assert_evidence(
        &f,
        "firewall-blocks-ssh",
        &["nft: table inet filter chain input", "drop"],
    );
    assert_evidence(
        &f,
        "firewall-blocks-ssh",
        &["/etc/nftables.conf:", "ip saddr 10.77.0.1"],
    );
}

#[test]
fn host_key_permissions() {
    let p = probe(Symptom::Refused, "Connection refused");
    let (f, _) = findings(&fixture("hostkey-perms"), &[CONTROLLER], &p);
    assert_eq!(ids(&f).0, ["sshd-not-running", "host-key-permissions"]);
    assert_evidence(
        &f,
        "host-key-permissions",
        &["/etc/ssh/ssh_host_ed25519_key", "mode 0644"],
    );
}

#[test]
fn host_keys_missing() {
    let p = probe(Symptom::Refused, "Connection refused");
    let (f, _) = findings(&fixture("hostkeys-missing"), &[CONTROLLER], &p);
    assert_eq!(ids(&f).0, ["sshd-not-running", "host-keys-missing"]);
    assert_evidence(
        &f,
        "host-keys-missing",
        &["/etc/ssh/ssh_host_ed25519_key: missing"],
    );
    assert_evidence(&f, "host-keys-missing", &["no hostkeys available"]);
}

#[test]
fn config_invalid_inside_a_match_block_of_a_dropin() {
    let p = probe(Symptom::Refused, "Connection refused");
    let (f, _) = findings(&fixture("config-invalid-trap"), &[CONTROLLER], &p);
    assert_eq!(ids(&f).0, ["sshd-not-running", "sshd-config-invalid"]);
    assert_evidence(
        &f,
        "sshd-config-invalid",
        &[
            "/etc/ssh/sshd_config.d/20-match.conf:6:",
            "MaxStartups",
            "not allowed within a Match block",
        ],
    );
}

#[test]
fn privsep_dir_missing_outside_systemd() {
    let p = probe(Symptom::Refused, "Connection refused");
    let frames = fixture("privsep-missing");
    let (f, _) = findings(&frames, &[CONTROLLER], &p);
    assert_eq!(ids(&f).0, ["sshd-not-running", "privsep-dir-missing"]);
    assert_evidence(&f, "privsep-dir-missing", &["/run/sshd"]);
    // under systemd the unit creates it when sshd starts: not a fault there
    let mut frames = frames;
    set_env(&mut frames, "init", "systemd");
    let (f, _) = findings(&frames, &[CONTROLLER], &p);
    assert_eq!(ids(&f).0, ["sshd-not-running"]);
}

#[test]
fn inetd_configured_but_not_running() {
    let p = probe(Symptom::Refused, "Connection refused");
    let (f, _) = findings(&fixture("inetd"), &[CONTROLLER], &p);
    assert_eq!(ids(&f).0, ["inetd-not-running"]);
    assert_evidence(
        &f,
        "inetd-not-running",
        &["/etc/inetd.conf:", "/usr/sbin/sshd"],
    );
}

#[test]
fn http_server_on_the_ssh_port() {
    let p = probe(
        Symptom::NotSsh,
        "kex_exchange_identification: Connection closed by remote host",
    );
    let (f, _) = findings(&fixture("http-on-22"), &[CONTROLLER], &p);
    assert_eq!(ids(&f).0, ["sshd-not-running", "port-wrong-service"]);
    assert_evidence(&f, "port-wrong-service", &["socat"]);
}

#[test]
fn dns_slow_with_usedns_yes() {
    let (f, facts) = findings(&fixture("dns-slow"), &[CONTROLLER], &ok_probe());
    assert_eq!(ids(&f).0, ["use-dns-slow"]);
    assert_evidence(&f, "use-dns-slow", &["getent hosts 10.77.0.1", "2.0"]);
    assert_evidence(&f, "use-dns-slow", &["/etc/ssh/sshd_config:", "UseDNS yes"]);
    assert_eq!(facts["clients"][0]["lookup_slow"], true);
}

#[test]
fn banner_file_missing_is_info_only() {
    let (f, _) = findings(&fixture("banner-missing"), &[CONTROLLER], &ok_probe());
    let (serious, info) = ids(&f);
    assert!(serious.is_empty(), "{f:#?}");
    assert_eq!(info, ["banner-file-missing"]);
    assert_evidence(
        &f,
        "banner-file-missing",
        &["/etc/ssh/sshd_config:", "no-such-banner"],
    );
}

#[test]
fn load_balancer_in_http_mode() {
    let (f, _) = findings(&fixture("lb-http"), &[CONTROLLER], &ok_probe());
    assert_eq!(ids(&f).0, ["lb-http-mode"]);
    assert_evidence(
        &f,
        "lb-http-mode",
        &["/etc/haproxy/haproxy.cfg:", "mode http"],
    );
}

// ---- faults the lab cannot make: real text put into a healthy capture

#[test]
fn selinux_enforcing_with_sshd_denials() {
    let mut frames = fixture("healthy");
    set_item(&mut frames, "file /sys/fs/selinux/enforce", "1\n", 0);
    set_item(&mut frames, "avc", &text("security/avc-sshd.log"), 0);
    let (f, _) = findings(&frames, &[CONTROLLER], &ok_probe());
    assert_eq!(ids(&f).0, ["selinux-denial"]);
    assert_evidence(&f, "selinux-denial", &["name_bind", "sshd"]);
    // permissive mode: the same denials are not a cause
    set_item(&mut frames, "file /sys/fs/selinux/enforce", "0\n", 0);
    let (f, _) = findings(&frames, &[CONTROLLER], &ok_probe());
    assert!(ids(&f).0.is_empty(), "{f:#?}");
}

#[test]
fn conntrack_table_full() {
    let mut frames = fixture("healthy");
    set_item(
        &mut frames,
        "file /proc/sys/net/netfilter/nf_conntrack_count",
        "262000\n",
        0,
    );
    set_item(
        &mut frames,
        "file /proc/sys/net/netfilter/nf_conntrack_max",
        &text("kernel/nf_conntrack_max.txt"),
        0,
    );
    let (f, _) = findings(&frames, &[CONTROLLER], &ok_probe());
    assert_eq!(ids(&f).0, ["conntrack-full"]);
    assert_evidence(&f, "conntrack-full", &["262000", "262144"]);
    // the kernel's own complaint within the last quarter hour is enough
    // (the capture has lines at 1694413 s and 38775494 s after boot)
    let mut frames = fixture("healthy");
    set_item(
        &mut frames,
        "dmesg",
        &text("kernel/kernel-log-mixed.txt"),
        0,
    );
    set_env(&mut frames, "uptime", "1694500.00");
    let (f, _) = findings(&frames, &[CONTROLLER], &ok_probe());
    assert_eq!(ids(&f).0, ["conntrack-full"]);
    assert_evidence(&f, "conntrack-full", &["table full, dropping packet"]);
    // the same lines an hour old are history
    set_env(&mut frames, "uptime", "1698100.00");
    let (f, _) = findings(&frames, &[CONTROLLER], &ok_probe());
    assert!(ids(&f).0.is_empty(), "{f:#?}");
}

#[test]
fn fail2ban_ban_of_an_allowed_client_only() {
    let mut frames = fixture("healthy");
    set_item(
        &mut frames,
        "fail2ban-sshd",
        &text("security/fail2ban-client-status-sshd.txt"),
        0,
    );
    let (f, _) = findings(&frames, &["192.0.2.7"], &ok_probe());
    assert_eq!(ids(&f).0, ["fail2ban-ban"]);
    assert_evidence(&f, "fail2ban-ban", &["192.0.2.7", "sshd"]);
    // a banned stranger is not our business
    let (f, _) = findings(&frames, &[CONTROLLER], &ok_probe());
    assert!(ids(&f).0.is_empty(), "{f:#?}");
}

#[test]
fn per_source_penalty_for_an_allowed_client() {
    let mut frames = fixture("healthy");
    set_item(
        &mut frames,
        "log /var/log/auth.log",
        &text("logs/upstream-9.8-drops.log"),
        0,
    );
    let closed = probe(
        Symptom::ClosedBeforeBanner,
        "kex_exchange_identification: Connection closed by remote host",
    );
    let (f, _) = findings(&frames, &["192.0.2.7"], &closed);
    assert!(ids(&f).0.contains(&"per-source-penalty"), "{f:#?}");
    assert_evidence(&f, "per-source-penalty", &["192.0.2.7", "penalty"]);
    // another client's penalty is not ours
    let (f, _) = findings(&frames, &[CONTROLLER], &closed);
    assert!(!ids(&f).0.contains(&"per-source-penalty"), "{f:#?}");
    // a logged penalty while the client gets in is history, not a cause
    let (f, _) = findings(&frames, &["192.0.2.7"], &ok_probe());
    assert!(!ids(&f).0.contains(&"per-source-penalty"), "{f:#?}");
}

#[test]
fn sshd_listening_on_another_port_only() {
    let mut frames = fixture("healthy");
    let ss = frames.get("ss").unwrap().text().replace(":22 ", ":2222 ");
    set_item(&mut frames, "ss", &ss, 0);
    let (f, _) = findings(
        &frames,
        &[CONTROLLER],
        &probe(Symptom::Refused, "Connection refused"),
    );
    assert_eq!(ids(&f).0, ["not-listening"]);
    assert_evidence(&f, "not-listening", &[":2222", "sshd"]);
}

#[test]
fn gssapi_enabled_is_info() {
    let mut frames = fixture("healthy");
    let dump = frames
        .get("sshd-T")
        .unwrap()
        .text()
        .replace("gssapiauthentication no", "gssapiauthentication yes");
    set_item(&mut frames, "sshd-T", &dump, 0);
    let (f, _) = findings(&frames, &[CONTROLLER], &ok_probe());
    let (serious, info) = ids(&f);
    assert!(serious.is_empty(), "{f:#?}");
    assert_eq!(info, ["gssapi-enabled"]);
}

#[test]
fn a_script_cut_off_midway_reports_gaps_not_false_causes() {
    let full = std::fs::read(format!(
        "{}/tests/fixtures/facts/frames/healthy.out",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    // stop inside the `sshd-T` item: nothing after it arrived
    let text = String::from_utf8_lossy(&full);
    let cut = text.find(&format!("{MARKER} begin sshd-T\n")).unwrap() + 200;
    let frames = frame::parse(&full[..cut], MARKER, ITEM_CAP).unwrap();
    assert!(!frames.done);
    let (f, facts) = findings(&frames, &[CONTROLLER], &ok_probe());
    assert!(ids(&f).0.is_empty(), "{f:#?}");
    assert!(
        facts["gaps"].to_string().contains("stopped before its end"),
        "{}",
        facts["gaps"]
    );
}

/// The built-in catalogue has exactly the stable finding IDs of
/// `interface.md`, in its order (each one is asserted by a test above).
#[test]
fn the_catalogue_has_exactly_the_contract_ids() {
    let covered = [
        "sshd-not-running",
        "sshd-config-invalid",
        "host-keys-missing",
        "host-key-permissions",
        "privsep-dir-missing",
        "not-listening",
        "port-wrong-service",
        "tcp-wrappers-deny",
        "maxstartups-exhausted",
        "per-source-penalty",
        "banner-file-missing",
        "use-dns-slow",
        "gssapi-enabled",
        "firewall-blocks-ssh",
        "conntrack-full",
        "inetd-not-running",
        "selinux-denial",
        "fail2ban-ban",
        "lb-http-mode",
    ];
    let catalogue = Catalogue::builtin().unwrap();
    let ids: Vec<&str> = catalogue.checks().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, covered);
}

/// Ubuntu ≥ 22.10: systemd holds port 22 (`ssh.socket`) and no sshd runs
/// until a client connects. That is a healthy host, not a dead sshd or a
/// foreign service on the port.
#[test]
fn systemd_socket_activation_is_healthy() {
    let mut frames = fixture("healthy");
    set_env(&mut frames, "init", "systemd");
    set_item(
        &mut frames,
        "ss",
        "LISTEN 0      4096         *:22       *:*    users:((\"systemd\",pid=1,fd=66))\n",
        0,
    );
    drop_sshd_from_ps(&mut frames);
    let (f, facts) = findings(&frames, &[CONTROLLER], &ok_probe());
    assert!(f.is_empty(), "{f:#?}");
    assert_eq!(facts["sshd"]["socket_activated"], true);
    // the same socket held by systemd on a host without systemd as init is foreign
    set_env(&mut frames, "init", "none");
    let p = probe(Symptom::Refused, "Connection refused");
    let (f, _) = findings(&frames, &[CONTROLLER], &p);
    assert_eq!(ids(&f).0, ["sshd-not-running", "port-wrong-service"]);
}

/// A broken `-p` playbook is reported with file:line:column before any host
/// is probed or reached (the inventory's host would take seconds to time out).
#[test]
fn a_broken_user_playbook_stops_plan_before_any_host_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("hosts.ini");
    std::fs::write(&inv, "ghost ansible_host=192.0.2.1\n").unwrap();
    let bad = dir.path().join("site.yml");
    std::fs::write(
        &bad,
        "checks:\n  - id: site-check\n    severity: critical\n    when: sshd.running and\n    summary: s\n",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = common::isolate::sshfix()
        .arg("plan")
        .arg("-i")
        .arg(&inv)
        .arg("-p")
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:4:", bad.display())),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "took {:?}: a host was probed first",
        started.elapsed()
    );
}

/// fail2ban's own nftables rule blocking a client is a ban (its rule would
/// come back), not a firewall policy to edit.
#[test]
fn a_fail2ban_rule_is_a_ban_not_firewall_policy() {
    let mut frames = fixture("healthy");
    set_item(
        &mut frames,
        "nft-json",
        &text("firewall/fail2ban-nftables.nft.json"),
        0,
    );
    set_item(
        &mut frames,
        "nft-text",
        &text("firewall/fail2ban-nftables.nft.txt"),
        0,
    );
    let p = probe(Symptom::Refused, "Connection refused");
    let (f, _) = findings(&frames, &[CONTROLLER], &p);
    assert_eq!(ids(&f).0, ["fail2ban-ban"]);
    assert_evidence(&f, "fail2ban-ban", &["f2b-table", "addr-set-sshd"]);
    // with fail2ban's own word for it as well, both are evidence
    set_item(
        &mut frames,
        "fail2ban-sshd",
        &text("security/fail2ban-client-status-sshd.txt").replace("192.0.2.7", CONTROLLER),
        0,
    );
    let (f, _) = findings(&frames, &[CONTROLLER], &p);
    assert_eq!(ids(&f).0, ["fail2ban-ban"]);
    assert_evidence(&f, "fail2ban-ban", &["banned IP list", "f2b-table"]);
}

// ---- healthy hosts that naive checks get wrong (found in review)

/// As a non-root user, `sshd -t` cannot read the host keys and `ss` shows no
/// socket owners: none of that is a fault of the host.
#[test]
fn non_root_facts_of_a_healthy_host_give_no_findings() {
    let mut frames = fixture("healthy");
    set_env(&mut frames, "uid", "1000");
    set_item(
        &mut frames,
        "sshd-t",
        "sshd: no hostkeys available -- exiting.\n",
        1,
    );
    set_item(
        &mut frames,
        "sshd-T",
        "sshd: no hostkeys available -- exiting.\n",
        1,
    );
    set_item(
        &mut frames,
        "ss",
        "LISTEN 0      128    0.0.0.0:22 0.0.0.0:*\nLISTEN 0      128       [::]:22    [::]:*\n",
        0,
    );
    let (f, facts) = findings(&frames, &[CONTROLLER], &ok_probe());
    assert!(f.is_empty(), "{f:#?}");
    assert!(
        facts["gaps"].to_string().contains("root"),
        "{}",
        facts["gaps"]
    );
    // and with the probe failing, still no invented cause
    let p = probe(Symptom::Refused, "Connection refused");
    let (f, _) = findings(&frames, &[CONTROLLER], &p);
    assert!(ids(&f).0.is_empty(), "{f:#?}");
    // RHEL ships sshd_config 0600: unreadable to non-root, not invalid
    set_item(
        &mut frames,
        "sshd-t",
        "/etc/ssh/sshd_config: Permission denied\n",
        255,
    );
    let (f, _) = findings(&frames, &[CONTROLLER], &ok_probe());
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn non_root_socket_activation_gives_no_findings() {
    let mut frames = fixture("healthy");
    set_env(&mut frames, "uid", "1000");
    set_env(&mut frames, "init", "systemd");
    set_item(
        &mut frames,
        "ss",
        "LISTEN 0      4096         *:22       *:*\n",
        0,
    );
    drop_sshd_from_ps(&mut frames);
    let (f, facts) = findings(&frames, &[CONTROLLER], &ok_probe());
    assert!(f.is_empty(), "{f:#?}");
    assert_eq!(facts["sshd"]["running"], true);
}

/// A slim container without `ss` or `netstat`: who holds the port is
/// unknown, which is a gap, not "sshd does not listen".
#[test]
fn no_socket_list_is_a_gap_not_a_finding() {
    let mut frames = fixture("healthy");
    frames.items.retain(|i| i.key != "ss");
    set_item(&mut frames, "netstat", "sh: 1: netstat: not found\n", 127);
    let p = probe(Symptom::Refused, "Connection refused");
    let (f, facts) = findings(&frames, &[CONTROLLER], &p);
    assert!(ids(&f).0.is_empty(), "{f:#?}");
    assert!(
        facts["gaps"].to_string().contains("ss"),
        "{}",
        facts["gaps"]
    );
}

#[test]
fn sshd_listening_on_loopback_only_is_not_listening() {
    let mut frames = fixture("healthy");
    set_item(
        &mut frames,
        "ss",
        "LISTEN 0      128    127.0.0.1:22 0.0.0.0:* users:((\"sshd\",pid=16,fd=4))\n",
        0,
    );
    let p = probe(Symptom::Refused, "Connection refused");
    let (f, _) = findings(&frames, &[CONTROLLER], &p);
    assert_eq!(ids(&f).0, ["not-listening"]);
    assert_evidence(&f, "not-listening", &["127.0.0.1:22", "10.77.1.9"]);
}

/// hosts.allow names a domain for another daemon, sshd has no libwrap, the
/// reverse lookup is slow: sshd never asks, so no warning.
#[test]
fn name_rules_without_libwrap_do_not_make_dns_slow() {
    let mut frames = fixture("healthy");
    set_item(
        &mut frames,
        "ldd-sshd",
        "\tlinux-vdso.so.1\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6\n",
        0,
    );
    set_item(&mut frames, "sshd-libwrap", "0\n", 1);
    set_item(
        &mut frames,
        "file /etc/hosts.allow",
        "vsftpd: .example.com\n",
        0,
    );
    let key = format!("dns {CONTROLLER}");
    let mut dns = frames.get(&key).cloned().unwrap();
    dns.seconds = Some(3.0);
    frames.items.retain(|i| i.key != key);
    frames.items.push(dns);
    let (f, facts) = findings(&frames, &[CONTROLLER], &ok_probe());
    assert!(f.is_empty(), "{f:#?}");
    assert_eq!(facts["clients"][0]["lookup_slow"], true);
    // with libwrap and a name rule for sshd, the lookup is on the path
    set_item(
        &mut frames,
        "file /etc/hosts.allow",
        "sshd: .example.com\n",
        0,
    );
    set_item(
        &mut frames,
        "ldd-sshd",
        "\tlibwrap.so.0 => /lib/x86_64-linux-gnu/libwrap.so.0 (0x00007f0c518c1000)\n",
        0,
    );
    let (f, _) = findings(&frames, &[CONTROLLER], &ok_probe());
    assert_eq!(ids(&f).0, ["use-dns-slow"]);
    assert_evidence(&f, "use-dns-slow", &["/etc/hosts.allow:1:", ".example.com"]);
}

#[test]
fn a_busybox_timeout_counts_as_a_timed_out_lookup() {
    let mut frames = fixture("healthy");
    let key = format!("dns {CONTROLLER}");
    set_item(&mut frames, &key, "", 143);
    let (_, facts) = findings(&frames, &[CONTROLLER], &ok_probe());
    assert_eq!(facts["clients"][0]["lookup_slow"], true);
    assert!(
        facts["clients"][0]["lookup_note"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{}",
        facts["clients"][0]
    );
}

/// A NAT-ed port (inventory 2222, sshd on 22) with a working probe.
#[test]
fn a_mapped_port_with_a_working_probe_gives_no_findings() {
    let (f, _) = findings_on(&fixture("healthy"), &[CONTROLLER], &ok_probe(), 2222, None);
    assert!(f.is_empty(), "{f:#?}");
}

/// On a container host `ps` shows the sshd of every container: only one in
/// the host's own network namespace serves it.
#[test]
fn an_sshd_in_another_network_namespace_does_not_count() {
    let mut frames = fixture("healthy");
    set_item(
        &mut frames,
        "netns",
        "self net:[4026531840]\n16 net:[4026532999]\n",
        0,
    );
    set_item(&mut frames, "ss", "", 0);
    let p = probe(Symptom::Refused, "Connection refused");
    let (f, facts) = findings(&frames, &[CONTROLLER], &p);
    assert_eq!(facts["sshd"]["running"], false);
    assert_eq!(ids(&f).0, ["sshd-not-running"]);
    // the same pid in our own namespace is our sshd
    set_item(
        &mut frames,
        "netns",
        "self net:[4026531840]\n16 net:[4026531840]\n",
        0,
    );
    let (_, facts) = findings(&frames, &[CONTROLLER], &p);
    assert_eq!(facts["sshd"]["running"], true);
}
