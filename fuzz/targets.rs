//! Fuzz target bodies, one per parser: each takes arbitrary bytes, runs the parser and checks the cheap invariants it promises (no panic, renderings that read back, editors whose rerun is a no-op).
//!
//! Shared by the libFuzzer binaries (`fuzz/fuzz_targets/NAME.rs`, one line
//! each) and by `tests/fuzz_regressions.rs`, which runs every committed
//! corpus and regression input through [`TARGETS`] in the normal
//! `cargo test`. A target panics when an invariant breaks; returning is a
//! pass, whatever the parser made of the input.
//!
//! Several targets read more than one file. Their input is then split into
//! files the way `head` prints several files: a line `==> PATH <==` starts
//! the file PATH; text before the first such line is the target's main file
//! (see [`split_files`]).

// Each fuzz binary uses one target of this file; the regression test uses all.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::OnceLock;

use serde_json::Value;
use sshfix::checks::Catalogue;
use sshfix::facts::firewall::{Family, HostRules, Packet};
use sshfix::facts::frame::{self, Frames};
use sshfix::facts::gather::{ClientsFrom, Gathered};
use sshfix::facts::model::{self, HostFacts};
use sshfix::facts::script::ITEM_CAP;
use sshfix::facts::{
    files, haproxy, hosts_access, inetd, iptables, kernel, logs, nft, procs, security, ss, sshd,
    sshd_config,
};
use sshfix::inventory::vars::HostSettings;
use sshfix::inventory::Inventory;
use sshfix::probe::classify::{self, Connect, Exchange, ExchangeEnd, Observation, OsError, Scan};
use sshfix::probe::{ProbeResult, Symptom, Timings};
use sshfix::transport::serial::{line, screen};
use sshfix::transport::PathKind;

/// A target: its name (the binary, and the directory under `fuzz/corpus/`
/// and `fuzz/regressions/`) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("inventory_ini", inventory_ini),
    ("inventory_yaml", inventory_yaml),
    ("inventory_json", inventory_json),
    ("playbook", playbook),
    ("facts_frame", facts_frame),
    ("facts_model", facts_model),
    ("facts_plan", facts_plan),
    ("sshd_config", sshd_config),
    ("sshd_dump", sshd_dump),
    ("sshd_test", sshd_test),
    ("hosts_access", hosts_access),
    ("nft", nft),
    ("iptables", iptables),
    ("haproxy", haproxy),
    ("logs", logs),
    ("ss", ss),
    ("procs", procs),
    ("files", files),
    ("inetd", inetd),
    ("kernel", kernel),
    ("security", security),
    ("plan_load", plan_load),
    ("probe_classify", probe_classify),
    ("serial_line", serial_line),
    ("serial_screen", serial_screen),
];

/// The marker of the captured facts (`tests/fixtures/facts/frames/`).
pub const MARKER: &str = "sshfix-fixture-0123456789abcdef";

// ------------------------------------------------------------------ helpers

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Splits `data` into `(path, bytes)` files at lines `==> PATH <==`; bytes
/// before the first header belong to `main`. A file's bytes end before the
/// newline that ends its last line only when the next header follows, so a
/// file keeps its own last newline (or lack of one) in the text.
pub fn split_files(data: &[u8], main: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = vec![(main.to_string(), Vec::new())];
    let mut pos = 0;
    while pos < data.len() {
        let end = data[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| pos + i + 1);
        let line = &data[pos..end];
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        let header = bare
            .strip_prefix(b"==> ")
            .and_then(|r| r.strip_suffix(b" <=="))
            .and_then(|p| std::str::from_utf8(p).ok());
        match header {
            Some(path) => {
                // the newline before a header separates files: not content
                let last = &mut out.last_mut().unwrap().1;
                if last.ends_with(b"\n\n") || last == b"\n" {
                    last.pop();
                }
                out.push((path.to_string(), Vec::new()));
            }
            None => out.last_mut().unwrap().1.extend_from_slice(line),
        }
        pos = end;
    }
    out
}

fn file_map(data: &[u8], main: &str) -> BTreeMap<String, Vec<u8>> {
    // later files of the same path win, as a later read would
    split_files(data, main).into_iter().collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The clients the targets ask about: IPv4, IPv6, an IPv4-mapped address.
fn clients() -> Vec<IpAddr> {
    ["10.77.0.1", "192.0.2.10", "2001:db8::5", "::ffff:10.0.0.5"]
        .into_iter()
        .map(ip)
        .collect()
}

/// SSH packets to judge against firewall rules.
fn packets() -> Vec<Packet> {
    vec![
        Packet::new(ip("10.77.0.1"), 22),
        Packet::new(ip("192.0.2.10"), 2222)
            .with_dst(ip("10.77.1.9"))
            .with_iif("eth0"),
        Packet::new(ip("2001:db8::5"), 22).with_iif("lo"),
    ]
}

// ---------------------------------------------------------------- inventory

/// A parsed inventory: select with a few patterns, type each host's
/// variables, and `--list` JSON that reads back to the same hosts (unless
/// a host has a group's name).
fn inventory_checks(inv: &Inventory) {
    for pattern in ["all", "web*", "~^d", "g1:&g2:!h1", "h[0:2]", "ungrouped"] {
        let _ = inv.select(Some(pattern));
    }
    for host in inv.hosts().iter().take(20) {
        let _ = HostSettings::from_host(host, inv);
        let _ = inv.host_json(&host.name);
    }
    let list = inv.to_list_json();
    let back = Inventory::from_list_json(&list)
        .unwrap_or_else(|e| panic!("--list JSON does not read back: {e}\n{list:#}"));
    // A host named like a group gets its `_meta.hostvars` put on the group
    // when read back (Ansible's `InventoryData.set_variable`: the group
    // wins, and ansible-inventory does the same), so only the others must
    // come back with the same variables.
    let groups: std::collections::HashSet<&str> = inv.group_names().into_iter().collect();
    if inv.hosts().iter().any(|h| groups.contains(h.name.as_str())) {
        return;
    }
    let mine: BTreeMap<&str, &serde_json::Map<String, Value>> = inv
        .hosts()
        .iter()
        .map(|h| (h.name.as_str(), &h.vars))
        .collect();
    let theirs: BTreeMap<&str, &serde_json::Map<String, Value>> = back
        .hosts()
        .iter()
        .map(|h| (h.name.as_str(), &h.vars))
        .collect();
    assert_eq!(mine, theirs, "--list JSON reads back as other hosts");
}

/// INI inventory text (`Inventory::from_str_ini`, including its Python
/// literal values).
pub fn inventory_ini(data: &[u8]) {
    if let Ok(inv) = Inventory::from_str_ini(&text(data), "fuzz.ini") {
        inventory_checks(&inv);
    }
}

/// YAML inventory text (`Inventory::from_str_yaml`).
pub fn inventory_yaml(data: &[u8]) {
    if let Ok(inv) = Inventory::from_str_yaml(&text(data), "fuzz.yml") {
        inventory_checks(&inv);
    }
}

/// `--list` JSON of an executable inventory (`Inventory::from_list_json`).
pub fn inventory_json(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(inv) = Inventory::from_list_json(&v) {
        inventory_checks(&inv);
    }
}

// ---------------------------------------------------------------- playbooks

/// One host as the plan sees it, from a capture of the facts script.
struct Capture {
    frames: Frames,
    facts: HostFacts,
    files: BTreeMap<String, Vec<u8>>,
    context: Value,
    clients: Vec<IpAddr>,
}

fn capture(frames: Frames, symptom: Symptom) -> Capture {
    let clients = vec![ip("10.77.0.1"), ip("2001:db8::5")];
    let facts = model::build(
        &frames,
        &model::Input {
            port: 22,
            clients: &clients,
            server_addr: Some(ip("10.77.1.9")),
        },
    );
    let gathered = gathered(&frames, &clients);
    let context = model::context(&gathered, Some(&probe_result(symptom)), &facts);
    let files = model::files_map(&frames);
    Capture {
        frames,
        facts,
        files,
        context,
        clients,
    }
}

fn gathered(frames: &Frames, clients: &[IpAddr]) -> Gathered {
    Gathered {
        host: "h1".into(),
        reached_via: Some(PathKind::Console),
        attempts: Vec::new(),
        clients: clients.to_vec(),
        clients_from: ClientsFrom::Controller,
        outcome: Ok(frames.clone()),
        seconds: 0.0,
    }
}

fn probe_result(symptom: Symptom) -> ProbeResult {
    ProbeResult {
        host: "h1".into(),
        address: "10.77.1.9".into(),
        port: 22,
        symptom,
        detail: "kex_exchange_identification: read: Connection reset by peer".into(),
        evidence: Some("HTTP/1.1 400 Bad Request\\r\\n".into()),
        banner: None,
        peer: Some("10.77.1.9:22".into()),
        timings: Timings::default(),
    }
}

/// A capture with findings (hosts.deny denies the controller), for the
/// playbook target's evaluations and fix tasks.
fn wrappers_deny() -> &'static Capture {
    static C: OnceLock<Capture> = OnceLock::new();
    C.get_or_init(|| {
        let bytes = include_bytes!("../tests/fixtures/facts/frames/wrappers-deny.out");
        let frames = frame::parse(bytes, MARKER, ITEM_CAP).unwrap();
        capture(frames, Symptom::ResetBeforeBanner)
    })
}

fn builtin() -> &'static Catalogue {
    static C: OnceLock<Catalogue> = OnceLock::new();
    C.get_or_init(|| Catalogue::builtin().unwrap())
}

/// Plans one host: the findings' fix tasks run through the fix modules;
/// every edit renders as plan JSON, and the plan reads back as a saved plan.
fn plan_host(c: &Capture, catalogue: &Catalogue, symptom: Symptom) -> Vec<String> {
    let eval = catalogue.evaluate(&c.context);
    let host = sshfix::modules::Host {
        name: "h1",
        facts: &c.facts,
        frames: &c.frames,
        files: &c.files,
        gathered: &c.files,
        port: 22,
        clients: &c.clients,
    };
    let (proposal, human) = sshfix::plan::propose(&host, &eval.findings);
    let mut hp =
        sshfix::plan::HostPlan::new(&gathered(&c.frames, &c.clients), &probe_result(symptom));
    hp.findings = eval.findings;
    hp.check_errors = eval.errors.iter().map(ToString::to_string).collect();
    hp.changes = proposal.edits;
    hp.actions = proposal.actions;
    hp.needs_human = human;
    let mut plan = sshfix::plan::Plan::new("2025-01-01T00:00:00Z".into());
    plan.hosts.push(hp);
    let json = plan.to_json();
    let bytes = serde_json::to_vec(&json).unwrap();
    if let Err(e) = sshfix::plan::load::parse(&bytes, "fuzz-plan.json") {
        panic!("a plan sshfix made does not load: {e}\n{json:#}");
    }
    let _ =
        sshfix::report::plan::render_human(&plan, false, 40, sshfix::report::plan::REVIEW_FOOTER);
    let _ = sshfix::report::plan::render_markdown(&plan);
    plan.hosts[0].check_errors.clone()
}

/// A user playbook (`Catalogue::from_texts`): loaded, evaluated on a real
/// capture, its fix tasks run, and the plan rendered and read back.
pub fn playbook(data: &[u8]) {
    let files = [("fuzz.yml".to_string(), text(data))];
    if let Ok(cat) = Catalogue::from_texts(&files) {
        plan_host(wrappers_deny(), &cat, Symptom::ResetBeforeBanner);
    }
}

// -------------------------------------------------------------------- facts

/// The facts script's framed stream (`frame::parse`): items re-framed the
/// way the script prints them read back the same.
pub fn facts_frame(data: &[u8]) {
    let cap = 4096;
    let Ok(frames) = frame::parse(data, MARKER, cap) else {
        return;
    };
    assert!(frames.noise.len() <= 4096, "noise is kept up to 4 KiB");
    let mut again = Vec::new();
    let mut kept = Vec::new();
    for item in &frames.items {
        assert!(item.body.len() <= data.len());
        assert!(!item.key.contains('\n'));
        let marker_inside = item
            .body
            .windows(MARKER.len())
            .any(|w| w == MARKER.as_bytes());
        let Some(rc) = item.rc else { continue };
        if marker_inside || item.key.contains('\r') {
            continue;
        }
        again.extend_from_slice(format!("{MARKER} begin {}\n", item.key).as_bytes());
        again.extend_from_slice(&item.body);
        again.extend_from_slice(format!("\n{MARKER} rc {rc}\n\n{MARKER} end 1.5 2\n").as_bytes());
        kept.push(item);
    }
    again.extend_from_slice(format!("{MARKER} done\n").as_bytes());
    let back = frame::parse(&again, MARKER, cap).expect("re-framed items parse");
    assert!(back.done);
    assert_eq!(back.items.len(), kept.len());
    for (a, b) in kept.iter().zip(&back.items) {
        assert_eq!((&a.key, &a.body, a.rc), (&b.key, &b.body, b.rc));
        assert_eq!(b.seconds, Some(0.5));
        assert_eq!(a.truncated, b.truncated, "{:?}", a.key);
    }
}

/// The whole facts model from a framed stream, as `sshfix facts` builds and
/// prints it.
pub fn facts_model(data: &[u8]) {
    let Ok(frames) = frame::parse(data, MARKER, ITEM_CAP) else {
        return;
    };
    let c = capture(frames, Symptom::NotSsh);
    let _ = serde_json::to_string(&c.context).unwrap();
    let _ = model::host_rules(&c.frames);
    let result = sshfix::pipeline::HostResult {
        gathered: gathered(&c.frames, &c.clients),
        facts: Some(c.facts),
    };
    let _ = sshfix::report::facts::render_human(std::slice::from_ref(&result));
    let _ = sshfix::report::facts::to_json(std::slice::from_ref(&result));
}

/// A framed stream through the whole plan: facts model, the built-in
/// catalogue (which must evaluate without errors on any facts), every fix
/// module the findings call, plan JSON that loads back.
pub fn facts_plan(data: &[u8]) {
    let Ok(frames) = frame::parse(data, MARKER, ITEM_CAP) else {
        return;
    };
    let symptom = Symptom::ALL[usize::from(data.last().copied().unwrap_or(0)) % Symptom::ALL.len()];
    let c = capture(frames, symptom);
    let errors = plan_host(&c, builtin(), symptom);
    assert!(errors.is_empty(), "built-in checks failed: {errors:#?}");
}

/// An sshd_config tree (`sshd_config::parse_tree`) and the sshd_config fix
/// module's editors on it: a value set is in effect (setting it again
/// changes nothing), a commented-out line reads back.
pub fn sshd_config(data: &[u8]) {
    const MAIN: &str = "/etc/ssh/sshd_config";
    let files = file_map(data, MAIN);
    let tree = sshd_config::parse_tree(MAIN, &files);
    for key in [
        "usedns",
        "maxstartups",
        "banner",
        "port",
        "hostkey",
        "include",
    ] {
        let _ = tree.effective(key);
        let _ = tree.effective_in(key, (9, 8));
        let _ = tree.all_global(key);
        let _ = tree.in_match(key);
        let _ = tree.all_lines(key);
    }
    let _ = tree.first_match_line();
    for d in tree.directives.iter().take(64) {
        let _ = tree.block_of(d);
        let _ = d.value();
    }
    use sshfix::modules::sshd_config as m;
    for (key, value) in [
        ("UseDNS", "no"),
        ("MaxStartups", "10:30:100"),
        ("Banner", "none"),
    ] {
        let Ok(edits) = m::set(&files, MAIN, (9, 2), key, value, "fuzz") else {
            continue;
        };
        if edits.is_empty() {
            continue;
        }
        let mut after = files.clone();
        for e in &edits {
            after.insert(e.path.clone(), e.after.clone());
        }
        match m::set(&after, MAIN, (9, 2), key, value, "fuzz") {
            Ok(again) => assert!(
                again.is_empty(),
                "setting {key} twice edits twice: {again:#?}"
            ),
            Err(e) => panic!("setting {key} again fails after the first edit: {e}"),
        }
    }
    if let Some(d) = tree.directives.iter().find(|d| d.file == MAIN) {
        if let Ok(e) = m::comment_out(&files, MAIN, d.line, "fuzz marker", "fuzz") {
            let after = String::from_utf8_lossy(&e.after).into_owned();
            let line = after
                .split('\n')
                .nth(d.line - 1)
                .expect("the line is still there");
            let disabled = m::parse_disabled(line).expect("the commented-out line reads back");
            assert_eq!(disabled.marker, "fuzz marker");
        }
    }
}

/// `sshd -T` output (`sshd::parse_dump`), its accessors, `MaxStartups`
/// values and the `-V` version line.
pub fn sshd_dump(data: &[u8]) {
    let t = text(data);
    let dump = sshd::parse_dump(&t);
    let _ = dump.max_startups();
    let _ = dump.use_dns();
    let _ = dump.banner();
    let _ = dump.host_keys();
    let _ = dump.ports();
    let _ = dump.listen_addresses();
    let _ = dump.per_source_penalties();
    let _ = dump.per_source_penalty_exempt_list();
    let _ = dump.per_source_max_startups();
    for l in t.lines().take(256) {
        if let Some(m) = sshd::MaxStartups::parse(l) {
            assert!(m.start >= 1 && m.full >= 1, "{m:?}");
        }
    }
    if let Some(v) = sshd::version(&t) {
        let _ = v.pair();
    }
}

/// `sshd -t` messages (`sshd::parse_test_errors`).
pub fn sshd_test(data: &[u8]) {
    let _ = sshd::parse_test_errors(&text(data));
}

/// hosts.allow / hosts.deny (`hosts_access::parse`, `evaluate`) and the
/// hosts_access fix module: once its edit is made, every client is allowed
/// and a rerun proposes nothing.
pub fn hosts_access(data: &[u8]) {
    const ALLOW: &str = "/etc/hosts.allow";
    const DENY: &str = "/etc/hosts.deny";
    let files = file_map(data, ALLOW);
    let get = |p: &str| files.get(p).map(|b| text(b));
    let allow_text = get(ALLOW).unwrap_or_default();
    let deny_text = get(DENY);
    let allow = hosts_access::parse(ALLOW, &allow_text);
    let deny = hosts_access::parse(DENY, deny_text.as_deref().unwrap_or(""));
    let _ = allow.referenced_files();
    let _ = allow.mentions_names();
    let _ = hosts_access::list_references(&allow_text);
    let lists = |p: &str| files.get(p).map(|b| text(b));
    for client in clients() {
        let mut q = hosts_access::Query::sshd(client);
        let _ = hosts_access::evaluate(&allow, &deny, &q, &lists);
        q.server_addr = Some(ip("10.77.1.9"));
        q.server_port = Some(22);
        q.client_name = hosts_access::ClientName::Name {
            name: "web1.example.com".into(),
            verified: true,
        };
        q.user = Some("root".into());
        let _ = hosts_access::evaluate(&allow, &deny, &q, &lists);
    }
    use sshfix::modules::hosts_access as m;
    let cl = clients();
    if let Ok(Some(edit)) = m::allow(Some(&allow_text), deny_text.as_deref(), &cl, &lists, "fuzz") {
        let after = text(&edit.after);
        match m::allow(Some(&after), deny_text.as_deref(), &cl, &lists, "fuzz") {
            Ok(None) => {}
            Ok(Some(e)) => panic!(
                "allowing twice edits twice:\n{after}\n---\n{}",
                text(&e.after)
            ),
            Err(e) => panic!("allowing again fails after the first edit: {e}"),
        }
    }
}

/// `nft -j list ruleset` (`nft::parse`), with the `nft -a list ruleset`
/// text after a `==> nft-text <==` line and a persisted ruleset after
/// `==> /etc/nftables.conf <==`; packets evaluated, the deciding rule found
/// in the file.
pub fn nft(data: &[u8]) {
    let files = file_map(data, "nft-json");
    let json = text(&files["nft-json"]);
    let Ok(mut rs) = nft::parse(&json) else {
        return;
    };
    if let Some(t) = files.get("nft-text") {
        nft::attach_text(&mut rs, &text(t));
    }
    let _ = rs.iptables_nft_tables();
    let conf = files.get("/etc/nftables.conf").map(|b| text(b));
    for p in packets() {
        let v = rs.evaluate(&p);
        if let (Some(r), Some(conf)) = (&v.decided_by, &conf) {
            let _ = r.evidence();
            let _ = nft::find_rule_in_file(conf, r);
            let _ = nft::find_in_file(conf, &r.text);
        }
        let _ = rs.without_iptables_nft().evaluate(&p);
    }
}

/// `iptables-save` output (`iptables::parse`): packets evaluated, the
/// deciding rule found back in the same text.
pub fn iptables(data: &[u8]) {
    let t = text(data);
    let Ok(save) = iptables::parse(&t) else {
        return;
    };
    for p in packets() {
        for fam in [Family::V4, Family::V6] {
            let v = save.evaluate(fam, &p);
            if let Some(r) = &v.decided_by {
                let _ = r.evidence();
                if let Some(rule) = save.rule(r) {
                    let line = iptables::find_rule_line(&t, &r.table, &r.chain, rule);
                    assert!(line.is_some(), "rule {r:?} not found in its own save");
                }
            }
        }
    }
    let rules = HostRules::new(None, None, None, Some(save), None);
    for p in packets() {
        let _ = rules.evaluate(&p);
    }
}

/// haproxy.cfg (`haproxy::parse`) and the haproxy fix module: once its
/// edit is made, a rerun proposes nothing.
pub fn haproxy(data: &[u8]) {
    let t = text(data);
    let cfg = haproxy::parse(&t);
    for i in 0..cfg.sections.len().min(64) {
        let _ = cfg.defaults_for(i);
        let _ = cfg.effective_mode(i);
        if let Some(name) = &cfg.sections[i].name {
            let _ = cfg.frontends_using(name);
        }
    }
    for port in [22, 2222] {
        let _ = cfg.serving_port(port);
        let _ = cfg.forwarding_to_port(port);
    }
    use sshfix::modules::haproxy as m;
    const PATH: &str = "/etc/haproxy/haproxy.cfg";
    if let Ok(Some((after, _))) = m::tcp_for_ssh(PATH, &t, 22) {
        match m::tcp_for_ssh(PATH, &after, 22) {
            Ok(None) => {}
            Ok(Some((again, _))) => panic!("switching twice edits twice:\n{after}\n---\n{again}"),
            Err(e) => panic!("switching again fails after the first edit: {e}\n{after}"),
        }
    }
}

/// Log lines (`logs::parse`, `logs::classify`).
pub fn logs(data: &[u8]) {
    let t = text(data);
    let scan = logs::parse(&t);
    for c in clients() {
        let _ = scan.for_client(c);
    }
    for l in t.lines().take(256) {
        let _ = logs::classify(l);
    }
}

/// `ss -Htlnp` / `netstat -tlnp` (`ss::parse`).
pub fn ss(data: &[u8]) {
    let t = text(data);
    for l in [ss::parse(&t), ss::parse_ss(&t), ss::parse_netstat(&t)] {
        for port in [22, 2222] {
            let _ = l.owners_of_port(port);
            let _ = l.process_names_on_port(port);
            for c in clients() {
                let _ = l.accepting(port, c);
            }
        }
    }
}

/// The process list (`procs::parse`) and what it says about daemons.
pub fn procs(data: &[u8]) {
    let table = procs::parse(&text(data));
    let f = table.facts();
    let _ = f.preauth_connections();
}

/// `stat` output (`files::parse`).
pub fn files(data: &[u8]) {
    let list = files::parse(&text(data));
    for e in &list.entries {
        let _ = e.is_group_or_world_readable();
        let _ = e.is_private_key_ok(0);
        let _ = e.sshd_accepts_private_key(0);
    }
}

/// inetd.conf and xinetd files (`inetd::parse_inetd_conf`, `parse_xinetd`);
/// the first file is `/etc/inetd.conf`, then `==> /etc/xinetd.d/NAME <==`.
pub fn inetd(data: &[u8]) {
    let parts = split_files(data, "/etc/inetd.conf");
    let entries = inetd::parse_inetd_conf(&parts[0].0, &text(&parts[0].1));
    let _ = inetd::sshd_entries(&entries);
    let mut x: Vec<inetd::XinetdFile> = parts
        .iter()
        .map(|(p, b)| inetd::parse_xinetd(p, &text(b)))
        .collect();
    inetd::apply_xinetd_defaults(&mut x);
    let _ = inetd::service_port(&text(data));
}

/// Conntrack counters and kernel log lines (`kernel`).
pub fn kernel(data: &[u8]) {
    let t = text(data);
    let mut lines = t.lines();
    let c = kernel::Conntrack::parse(lines.next(), lines.next());
    let _ = c.usage_ratio();
    let _ = c.is_near_full(0.9);
    let _ = kernel::parse_kernel_log(&t);
}

/// SELinux, audit, fail2ban and sshguard outputs (`security`).
pub fn security(data: &[u8]) {
    let t = text(data);
    let _ = security::parse_getenforce(&t);
    let _ = security::parse_enforce_file(&t);
    let _ = security::parse_selinux_config(&t);
    let _ = security::parse_avc(&t);
    let _ = security::parse_fail2ban_status(&t);
    let _ = security::parse_fail2ban_jail(&t);
    let _ = security::parse_sshguard_blocklist(&t);
}

// --------------------------------------------------------------- plan, probe

/// A saved plan file (`plan::load::parse`).
pub fn plan_load(data: &[u8]) {
    if let Ok(p) = sshfix::plan::load::parse(data, "fuzz-plan.json") {
        for h in &p.hosts {
            let _ = h.has_work();
            let _ = h.findings_fixed();
        }
    }
}

/// What a server sent before its identification (`classify::scan`,
/// `classify::classify`): the first byte picks how reading ended, the rest
/// is what arrived. Evidence is printable ASCII.
pub fn probe_classify(data: &[u8]) {
    let Some((&how, received)) = data.split_first() else {
        return;
    };
    if let Scan::Identification { line, offset, .. } = classify::scan(received) {
        assert!(offset + line.len() <= received.len());
    }
    let end = match how % 6 {
        0 => ExchangeEnd::Decided,
        1 => ExchangeEnd::Eof,
        2 => ExchangeEnd::ReadError(OsError::Errno(104)),
        3 => ExchangeEnd::WriteError(OsError::Errno(32)),
        4 => ExchangeEnd::Timeout,
        _ => ExchangeEnd::Limit,
    };
    let obs = Observation {
        address: "h1".into(),
        port: 22,
        connect: Connect::Connected {
            peer: "10.77.1.9:22".parse().unwrap(),
            exchange: Exchange {
                received: received.to_vec(),
                end,
            },
        },
        connect_time: std::time::Duration::from_millis(3),
        first_byte: Some(std::time::Duration::from_millis(1)),
        total: std::time::Duration::from_millis(5),
    };
    let v = classify::classify(&obs);
    for s in v.evidence.iter().chain(&v.banner) {
        assert!(s.bytes().all(|b| (0x20..0x7f).contains(&b)), "{s:?}");
    }
    let _ = classify::looks_foreign(received);
    let e = classify::escape(received);
    assert!(e.bytes().all(|b| (0x20..0x7f).contains(&b)), "{e:?}");
}

/// `sshfix_console` for a serial console (`serial::line::parse`).
pub fn serial_line(data: &[u8]) {
    let _ = line::parse(&text(data));
}

/// Bytes from a serial console (`serial::screen::Screen`): fed in pieces,
/// searched for sentinels and frames, base64 frames decoded.
pub fn serial_screen(data: &[u8]) {
    let mut s = screen::Screen::new();
    s.add_secret(b"hunter2");
    for chunk in data.chunks(61) {
        s.feed(chunk);
        let _ = s.tail();
        let _ = s.contains_ci("login:");
        if let Some((body, fields)) = s.take_frame("<N0:f:") {
            if let Some(len) = fields.first().and_then(|f| f.parse::<usize>().ok()) {
                let sha = fields.get(1).cloned().unwrap_or_default();
                let _ = screen::decode_frame(&body, len, &sha);
            }
        }
        let _ = s.take_marker("<N0:r:");
        let _ = s.take_until(b"<N0:sync>");
    }
    let seen = s.last_seen(200);
    assert!(!seen.contains("hunter2"), "a secret shows: {seen}");
    let _ = screen::classify_tail(data);
    let _ = screen::login_failed(data);
}
