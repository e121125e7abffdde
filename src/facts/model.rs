//! The facts of one host: every parser applied to the script's frames, plus
//! the derived facts the checks read (which client hosts_access denies and by
//! which line, which firewall rule drops it, MaxStartups against the current
//! startups, whether the effective Banner file exists, …). Pure.
//!
//! Field names here are the variables of the check playbooks
//! (`docs/playbooks.md`, `docs/findings.md`); `sshfix facts --format json`
//! prints them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;
use serde_json::{json, Value};

use super::frame::{Frames, Item};
use super::gather::Gathered;
use super::{
    files, firewall, haproxy, hosts_access, inetd, iptables, kernel, logs, nft, procs, security,
    ss, sshd, sshd_config,
};
use crate::probe::ProbeResult;

/// What the model needs besides the frames.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The SSH port clients use.
    pub port: u16,
    /// The clients that must get in.
    pub clients: &'a [IpAddr],
    /// The host's address as clients dial it, when the inventory gives an IP
    /// (for `sshd@addr` patterns in hosts.allow/hosts.deny).
    pub server_addr: Option<IpAddr>,
}

/// Everything known about one host.
#[derive(Debug, Clone, Serialize)]
pub struct HostFacts {
    pub env: Env,
    pub sshd: Sshd,
    pub clients: Vec<Client>,
    pub hosts_access: HostsAccess,
    pub firewall: Firewall,
    pub logs: Logs,
    pub conntrack: Conntrack,
    pub inetd: Inetd,
    pub selinux: Selinux,
    pub fail2ban: Fail2ban,
    pub haproxy: Haproxy,
    /// Facts that could not be gathered, and why (not root, a tool missing,
    /// output cut off): a check that needs them cannot conclude.
    pub gaps: Vec<String>,
    /// Each item of the script run: key, exit status, seconds, bytes.
    pub items: Vec<ItemSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemSummary {
    pub key: String,
    pub rc: Option<i32>,
    pub seconds: Option<f64>,
    pub bytes: usize,
    pub truncated: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Env {
    pub uid: Option<u32>,
    pub root: bool,
    pub hostname: Option<String>,
    pub uname: Option<String>,
    /// `PRETTY_NAME` of /etc/os-release.
    pub os: Option<String>,
    /// `ID` of /etc/os-release (`debian`, `rhel`, `alpine`, …).
    pub os_id: Option<String>,
    /// `systemd`, `openrc`, `sysvinit` or `none`.
    pub init: String,
    /// Which of the tools the script looks for exist.
    pub tools: BTreeMap<String, bool>,
    /// Seconds since boot when the script ran (dates kernel-log lines).
    pub uptime: Option<f64>,
    /// The sshd binary the script found (shown as `sshd.path`).
    #[serde(skip)]
    pub sshd_path: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sshd {
    /// An sshd binary exists.
    pub installed: bool,
    pub path: Option<String>,
    /// `OpenSSH_9.2p1`.
    pub version: Option<String>,
    /// sshd serves the port: a listener process runs, or systemd holds the
    /// socket for it (socket activation, `ssh.socket`).
    pub running: bool,
    /// systemd owns the SSH port and starts sshd per connection (Ubuntu ≥ 22.10).
    pub socket_activated: bool,
    pub listeners: Vec<procs::SshdListener>,
    /// Command lines of every sshd process.
    pub processes: Vec<String>,
    /// Unauthenticated connections against MaxStartups, from the listener's title.
    pub startups: Startups,
    /// sshd is linked with libwrap (hosts.allow/hosts.deny apply).
    pub libwrap: bool,
    pub libwrap_evidence: String,
    pub test: SshdTest,
    /// `sshd -T`: keyword → value (a list for keywords that repeat); `None`
    /// when it failed (see `effective_error`).
    pub effective: Option<BTreeMap<String, Value>>,
    pub effective_error: Option<String>,
    /// The configuration files read (main first, then Includes in order).
    pub config_files: Vec<String>,
    /// Problems the configuration parser found (file:line: message).
    pub config_problems: Vec<String>,
    /// For a few keywords: the lines that set them (`file:line: text`), winner first.
    pub sources: BTreeMap<String, Vec<String>>,
    pub max_startups: Option<MaxStartups>,
    pub banner: Option<Banner>,
    pub use_dns: UseDns,
    pub host_keys: Vec<HostKey>,
    /// No host key file sshd could load exists.
    pub host_keys_missing: bool,
    /// The privilege separation directory sshd reports missing.
    pub privsep_missing: Option<String>,
    /// The SSH port clients use.
    pub port: u16,
    /// sshd's listening sockets on that port (`ss: 0.0.0.0:22 sshd pid 45`).
    pub port_listeners: Vec<String>,
    /// sshd's listening sockets on other ports.
    pub listening_elsewhere: Vec<String>,
    /// Other processes holding the SSH port.
    pub port_other_owners: Vec<PortOwner>,
    /// The listening sockets (and their owners) are known.
    pub listeners_known: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Startups {
    pub current: Option<u32>,
    pub begin: Option<u32>,
    pub full: Option<u32>,
    /// The listener's process title.
    pub title: Option<String>,
    /// New connections are being dropped now (current ≥ begin).
    pub exhausted: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SshdTest {
    /// `sshd -t` ran.
    pub ran: bool,
    pub ok: bool,
    pub output: Vec<String>,
    pub errors: Vec<TestError>,
    /// The errors about the configuration text itself.
    pub config_errors: Vec<TestError>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestError {
    /// `bad-option`, `bad-value`, `not-allowed-in-match`, `no-host-keys`, `privsep-missing`, …
    pub kind: String,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    /// `file:line: the line's text (sshd -t: message)`, or the message.
    pub evidence: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MaxStartups {
    pub start: u32,
    pub rate: u32,
    pub full: u32,
    /// `10:30:100`.
    pub text: String,
    /// The line that sets it (`file:line: text`); `None` = sshd's default.
    pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Banner {
    pub path: String,
    pub exists: bool,
    pub source: Option<String>,
    /// The file and line of the `Banner` line sshd uses, when a line sets it.
    pub file: Option<String>,
    pub line: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UseDns {
    pub enabled: bool,
    pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostKey {
    pub path: String,
    pub exists: bool,
    /// Octal mode as `stat` prints it (`600`).
    pub mode: Option<String>,
    pub uid: Option<u32>,
    /// Why sshd refuses to load it, when it does.
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PortOwner {
    pub process: String,
    pub pid: Option<u32>,
    pub evidence: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Client {
    pub addr: IpAddr,
    /// The reverse lookup's name, when it returned one.
    pub name: Option<String>,
    pub lookup_seconds: Option<f64>,
    /// The reverse lookup took over a second or timed out.
    pub lookup_slow: bool,
    pub lookup_note: String,
    pub hosts_access: hosts_access::Decision,
    pub firewall: firewall::Verdict,
    /// Settings a `Match` block changes for this client (`sshd -T -C`):
    /// keyword → the client's value, where it differs from the global one.
    pub match_overrides: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostsAccess {
    /// allow_from clients that hosts.allow/hosts.deny refuse.
    pub denied: Vec<Denied>,
    /// Evaluating the rules needs client host names (DNS at connect time).
    pub needs_names: bool,
    /// Rules that made a name lookup necessary (`file:line: text`).
    pub name_rules: Vec<String>,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Denied {
    pub client: IpAddr,
    /// `/etc/hosts.deny:21: sshd: 10.77.0.1`.
    pub evidence: String,
    pub uncertain: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Firewall {
    /// Which rule sets were read (`nft`, `iptables-nft`, `iptables-legacy`, …).
    pub views: Vec<String>,
    pub blocked: Vec<Blocked>,
    /// Clients a rule sshfix cannot evaluate might block.
    pub uncertain: Vec<Blocked>,
    /// Clients blocked by fail2ban's or sshguard's own rules: reported as
    /// bans (`fail2ban.banned`), not as firewall policy, since removing the
    /// rule by hand would not stop the next ban.
    pub bans: Vec<Blocked>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Blocked {
    pub client: IpAddr,
    pub action: firewall::Action,
    /// The live rule, then where it is persisted (`/etc/nftables.conf:12: …`).
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Logs {
    /// The logs read (`/var/log/sshd.log`, `journal`, …).
    pub sources: Vec<String>,
    pub refused: Vec<LogLine>,
    pub maxstartups: Vec<LogLine>,
    pub penalty: Vec<LogLine>,
    /// sshd's fatal errors (no host keys, bind failures, missing directories, …).
    pub fatal: Vec<LogLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    /// `/var/log/sshd.log:12` (the line within what the script read).
    #[serde(rename = "where")]
    pub at: String,
    pub line: String,
    pub client: Option<IpAddr>,
    pub kind: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Conntrack {
    pub count: Option<u64>,
    pub max: Option<u64>,
    pub ratio: Option<f64>,
    pub full: bool,
    pub kernel_lines: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Inetd {
    pub entries: Vec<InetdEntry>,
    /// An enabled inetd/xinetd entry starts sshd.
    pub serves_ssh: bool,
    /// The super-server of such an entry runs.
    pub running_for_ssh: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct InetdEntry {
    pub server: String,
    pub enabled: bool,
    pub evidence: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Selinux {
    /// `enforcing`, `permissive`, `disabled`, or `None` (no SELinux).
    pub mode: Option<String>,
    pub denials: Vec<AvcDenial>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AvcDenial {
    pub line: String,
    pub summary: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Fail2ban {
    pub running: bool,
    /// allow_from clients a jail has banned.
    pub banned: Vec<Banned>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Banned {
    pub client: IpAddr,
    pub jail: String,
    pub evidence: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Haproxy {
    pub config: Option<String>,
    pub running: bool,
    /// Sections that carry SSH (bind the SSH port, or forward to port 22) in `mode http`.
    pub http_ssh_sections: Vec<HaproxySection>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HaproxySection {
    pub name: String,
    pub kind: String,
    pub evidence: Vec<String>,
}

// ---------------------------------------------------------------- building

/// Line `n` (1-based) of `text`, without its line ending.
fn line_of(text: &str, n: usize) -> Option<&str> {
    text.lines()
        .nth(n.checked_sub(1)?)
        .map(|l| l.trim_end_matches('\r'))
}

/// `file:line: text` for evidence.
fn at(file: &str, line: usize, text: &str) -> String {
    format!("{file}:{line}: {}", text.trim())
}

fn keep_last<T>(mut v: Vec<T>, n: usize) -> Vec<T> {
    if v.len() > n {
        v.drain(..v.len() - n);
    }
    v
}

struct Ctx<'a> {
    frames: &'a Frames,
    input: Input<'a>,
    gaps: Vec<String>,
}

impl<'a> Ctx<'a> {
    fn item(&self, key: &str) -> Option<&'a Item> {
        self.frames.get(key)
    }
    /// The text of a command that ran (any exit status), noting a cut-off.
    fn text(&mut self, key: &str) -> Option<String> {
        let item = self.frames.get(key)?;
        if item.truncated {
            self.gaps
                .push(format!("`{key}`: output cut off at the size limit"));
        }
        Some(item.text())
    }
    fn ok_text(&mut self, key: &str) -> Option<String> {
        let item = self.frames.get(key)?;
        if item.truncated {
            self.gaps.push(format!(
                "`{key}`: output cut off at the size limit; not used"
            ));
            return None;
        }
        if !item.ok() {
            return None;
        }
        self.text(key)
    }
    fn file(&self, path: &str) -> Option<String> {
        self.frames.file(path).map(Item::text)
    }
}

/// Builds one host's facts from its frames.
pub fn build(frames: &Frames, input: &Input) -> HostFacts {
    let mut cx = Ctx {
        frames,
        input: *input,
        gaps: Vec::new(),
    };
    let env = env(&mut cx);
    if !env.root {
        cx.gaps.push(
            "the facts script did not run as root: `sshd -T`, firewall rules and process owners may be missing (set `ansible_become`)"
                .into(),
        );
    }
    let table = cx
        .text("ps")
        .map(|t| procs::parse(&t))
        .unwrap_or_else(|| procs::parse(""));
    let pf = table.facts();
    let listeners = match (cx.ok_text("ss"), cx.ok_text("netstat")) {
        (Some(t), _) => Some(ss::parse_ss(&t)),
        (None, Some(t)) => Some(ss::parse_netstat(&t)),
        _ => None,
    };
    // sshd listeners in another network namespace (a container's) do not
    // serve this host
    let mut pf = pf;
    let foreign = foreign_netns_pids(cx.text("netns").as_deref());
    if !foreign.is_empty() {
        pf.sshd_listeners.retain(|l| !foreign.contains(&l.pid));
    }
    let inetd = inetd_facts(&mut cx, &pf);
    // `sshd -T`, read by the sshd facts and by each client's Match overrides
    let dump = cx
        .item("sshd-T")
        .filter(|i| i.ok())
        .map(|i| sshd::parse_dump(&i.text()));
    let sshd = sshd_facts(
        &mut cx,
        &table,
        &pf,
        listeners.as_ref(),
        &inetd,
        &env,
        dump.as_ref(),
    );
    let (clients, hosts_access, firewall) = client_facts(&mut cx, dump.as_ref());
    let logs = log_facts(&mut cx);
    let conntrack = conntrack_facts(&mut cx, env.uptime);
    let selinux = selinux_facts(&mut cx);
    let fail2ban = fail2ban_facts(&mut cx, &pf, &firewall);
    let haproxy = haproxy_facts(&mut cx, &pf);
    let items = frames
        .items
        .iter()
        .map(|i| ItemSummary {
            key: i.key.clone(),
            rc: i.rc,
            seconds: i.seconds,
            bytes: i.body.len(),
            truncated: i.truncated,
        })
        .collect();
    if !frames.done {
        cx.gaps
            .push("the facts script stopped before its end: later facts are missing".into());
    }
    HostFacts {
        env,
        sshd,
        clients,
        hosts_access,
        firewall,
        logs,
        conntrack,
        inetd,
        selinux,
        fail2ban,
        haproxy,
        gaps: cx.gaps,
        items,
    }
}

/// Pids of sshd processes whose network namespace is not the script's own
/// (from the `netns` item: `self net:[…]`, then `PID net:[…]` lines).
fn foreign_netns_pids(text: Option<&str>) -> Vec<u32> {
    let Some(text) = text else {
        return Vec::new();
    };
    let mut own = None;
    let mut others = Vec::new();
    for line in text.lines() {
        let mut w = line.split_whitespace();
        match (w.next(), w.next()) {
            (Some("self"), Some(ns)) => own = Some(ns.to_string()),
            (Some(pid), Some(ns)) => {
                if let Ok(pid) = pid.parse::<u32>() {
                    others.push((pid, ns.to_string()));
                }
            }
            _ => {}
        }
    }
    let Some(own) = own else {
        return Vec::new();
    };
    others
        .into_iter()
        .filter(|(_, ns)| *ns != own)
        .map(|(pid, _)| pid)
        .collect()
}

fn env(cx: &mut Ctx) -> Env {
    let text = cx.text("env").unwrap_or_default();
    let mut kv = BTreeMap::new();
    let mut tools = BTreeMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('=') {
            if let Some(tool) = k.strip_prefix("tool.") {
                tools.insert(tool.to_string(), v == "yes");
            } else {
                kv.insert(k.to_string(), v.to_string());
            }
        }
    }
    let uid = kv.get("uid").and_then(|u| u.parse().ok());
    let os_release = cx.file("/etc/os-release").unwrap_or_default();
    let os_field = |name: &str| {
        os_release.lines().find_map(|l| {
            l.strip_prefix(name)
                .and_then(|r| r.strip_prefix('='))
                .map(|v| v.trim().trim_matches('"').to_string())
        })
    };
    let nonempty = |v: Option<&String>| v.filter(|s| !s.is_empty()).cloned();
    Env {
        uid,
        root: uid == Some(0),
        hostname: nonempty(kv.get("hostname")),
        uname: nonempty(kv.get("uname")),
        os: os_field("PRETTY_NAME"),
        os_id: os_field("ID"),
        init: kv.get("init").cloned().unwrap_or_else(|| "unknown".into()),
        tools,
        uptime: kv.get("uptime").and_then(|u| u.parse().ok()),
        sshd_path: nonempty(kv.get("sshd")),
    }
}

/// Files whose content the script sent, by path.
pub fn files_map(frames: &Frames) -> BTreeMap<String, Vec<u8>> {
    frames
        .with_prefix("file ")
        .filter(|(_, i)| i.whole())
        .map(|(p, i)| (p.to_string(), i.body.clone()))
        .collect()
}

fn test_error(m: &sshd::SshdMessage, config: &BTreeMap<String, Vec<u8>>) -> TestError {
    let kind = serde_json::to_value(&m.kind)
        .ok()
        .and_then(|v| v.get("kind").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| "other".into());
    let kind = match kind.as_str() {
        "missing-privsep-dir" => "privsep-missing".to_string(),
        "no-hostkeys" => "no-host-keys".to_string(),
        _ => kind,
    };
    let evidence = match (&m.file, m.line) {
        (Some(f), Some(l)) => {
            let text = config
                .get(f)
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .and_then(|t| line_of(&t, l).map(str::to_string))
                .unwrap_or_default();
            format!("{f}:{l}: {} (sshd -t: {})", text.trim(), m.text.trim())
        }
        _ => format!("sshd -t: {}", m.text.trim()),
    };
    TestError {
        kind,
        message: m.text.trim().to_string(),
        file: m.file.clone(),
        line: m.line,
        evidence,
    }
}

/// An `sshd -t` message that only says the caller may not read a file.
fn denied_to_non_root(m: &sshd::SshdMessage) -> bool {
    use sshd::SshdMessageKind as K;
    match &m.kind {
        K::NoHostKeys | K::HostKeyLoad { .. } => true,
        K::ConfigUnreadable { reason, .. } => reason.contains("Permission denied"),
        _ => m.text.contains("Permission denied"),
    }
}

fn is_config_error(kind: &sshd::SshdMessageKind) -> bool {
    use sshd::SshdMessageKind as K;
    matches!(
        kind,
        K::BadOption { .. }
            | K::BadValue { .. }
            | K::NotAllowedInMatch { .. }
            | K::BadMatch
            | K::IncludeProblem
            | K::ConfigUnreadable { .. }
    )
}

fn sshd_facts(
    cx: &mut Ctx,
    table: &procs::ProcessTable,
    pf: &procs::ProcessFacts,
    listeners: Option<&ss::Listeners>,
    inetd: &Inetd,
    env: &Env,
    dump: Option<&sshd::SshdDump>,
) -> Sshd {
    let init = env.init.as_str();
    let root = env.root;
    let port = cx.input.port;
    let path = env.sshd_path.clone();
    // `sshd -V` (9.2: `OpenSSH_9.2, OpenSSL …`) then `ssh -V` (`OpenSSH_9.2p1
    // Debian-2+deb12u10, …`): the most precise line wins
    let version_text = cx.text("sshd-version").unwrap_or_default();
    let versions: Vec<sshd::OpenSshVersion> =
        version_text.lines().filter_map(sshd::version).collect();
    let version = versions
        .iter()
        .find(|v| v.portable.is_some())
        .or(versions.first())
        .map(|v| v.raw.split(',').next().unwrap_or(&v.raw).trim().to_string());
    let version_pair = versions.first().map(sshd::OpenSshVersion::pair);
    let config = files_map(cx.frames);
    let main = "/etc/ssh/sshd_config";
    let tree = sshd_config::parse_tree(main, &config);
    // which line wins depends on the release (MaxStartups: last in 9.2, first later)
    let effective_line = |key: &str| match version_pair {
        Some(v) => tree.effective_in(key, v),
        None => tree.effective(key),
    };

    // sshd -t
    let test = match cx.item("sshd-t") {
        None => SshdTest {
            ran: false,
            ok: false,
            output: Vec::new(),
            errors: Vec::new(),
            config_errors: Vec::new(),
        },
        Some(item) => {
            let text = item.text();
            let mut messages = sshd::parse_test_errors(&text);
            if !root {
                // without root sshd cannot read the host keys (or a 0600
                // sshd_config): its complaints are about us, not the host
                let before = messages.len();
                messages.retain(|m| !denied_to_non_root(m));
                if messages.len() < before {
                    cx.gaps.push(
                        "`sshd -t` ran without root: host keys (and maybe sshd_config) were unreadable, so it could not check them"
                            .into(),
                    );
                }
            }
            let errors: Vec<TestError> = messages
                .iter()
                .filter(|m| !matches!(m.kind, sshd::SshdMessageKind::Terminating { .. }))
                .map(|m| test_error(m, &config))
                .collect();
            let config_errors = messages
                .iter()
                .filter(|m| is_config_error(&m.kind))
                .map(|m| test_error(m, &config))
                .collect();
            SshdTest {
                ran: item.rc != Some(127),
                ok: item.ok(),
                output: text.lines().map(str::to_string).take(50).collect(),
                errors,
                config_errors,
            }
        }
    };

    // sshd -T
    let effective_error = match (dump, cx.item("sshd-T")) {
        (Some(_), _) => None,
        (None, Some(i)) => Some(i.text().trim().to_string()),
        (None, None) => Some("sshd -T did not run (no sshd binary)".into()),
    };
    let effective = dump.map(|d| {
        d.values
            .iter()
            .map(|(k, v)| {
                let value = if v.len() == 1 { json!(v[0]) } else { json!(v) };
                (k.clone(), value)
            })
            .collect::<BTreeMap<_, _>>()
    });

    let source_of = |key: &str| -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        if let Some(d) = effective_line(key) {
            v.push(at(&d.file, d.line, &d.raw));
        }
        for d in tree.all_lines(key) {
            let s = at(&d.file, d.line, &d.raw);
            if !v.contains(&s) {
                v.push(s);
            }
        }
        v
    };
    let mut sources = BTreeMap::new();
    for key in [
        "maxstartups",
        "usedns",
        "banner",
        "port",
        "listenaddress",
        "hostkey",
        "gssapiauthentication",
        "persourcepenalties",
        "persourcepenaltyexemptlist",
    ] {
        let s = source_of(key);
        if !s.is_empty() {
            sources.insert(key.to_string(), s);
        }
    }
    let winning = |key: &str| effective_line(key).map(|d| at(&d.file, d.line, &d.raw));

    // MaxStartups: sshd -T, else the files, else sshd's default
    let ms_text = dump
        .and_then(|d| d.get("maxstartups").map(str::to_string))
        .or_else(|| effective_line("maxstartups").map(|d| d.value()))
        .unwrap_or_else(|| "10:30:100".into());
    let max_startups = sshd::MaxStartups::parse(&ms_text).map(|m| MaxStartups {
        start: m.start,
        rate: m.rate,
        full: m.full,
        text: format!("{}:{}:{}", m.start, m.rate, m.full),
        source: winning("maxstartups"),
    });

    // Banner
    let banner_path = dump.and_then(|d| d.banner()).or_else(|| {
        effective_line("banner")
            .map(|d| d.value())
            .filter(|v| !v.eq_ignore_ascii_case("none"))
    });
    let stats = cx
        .text("stat")
        .map(|t| files::parse(&t).entries)
        .unwrap_or_default();
    let stat_of = |p: &str| stats.iter().find(|e| e.path == p);
    let banner_line = effective_line("banner");
    let banner = banner_path.map(|p| Banner {
        exists: stat_of(&p).is_some_and(|e| e.exists),
        source: winning("banner"),
        file: banner_line.map(|d| d.file.clone()),
        line: banner_line.map(|d| d.line),
        path: p,
    });

    let use_dns = UseDns {
        enabled: dump
            .and_then(|d| d.use_dns())
            .or_else(|| effective_line("usedns").map(|d| d.value().eq_ignore_ascii_case("yes")))
            .unwrap_or(false),
        source: winning("usedns"),
    };

    // host keys: sshd -T's list, else the HostKey lines, else the defaults
    let mut key_paths: Vec<String> = dump.map(|d| d.host_keys()).unwrap_or_default();
    if key_paths.is_empty() {
        key_paths = tree
            .all_global("hostkey")
            .iter()
            .map(|d| d.value())
            .collect();
    }
    if key_paths.is_empty() {
        key_paths = ["rsa", "ecdsa", "ed25519"]
            .iter()
            .map(|t| format!("/etc/ssh/ssh_host_{t}_key"))
            .collect();
    }
    let host_keys: Vec<HostKey> = key_paths
        .iter()
        .map(|p| {
            let e = stat_of(p);
            let exists = e.is_some_and(|e| e.exists);
            // sshd refuses a private key owned by its own uid (root) whose mode
            // gives group/other any access. Fedora and RHEL ship 0640 keys of
            // group `ssh_keys`, which their patched sshd accepts: not a fault.
            let problem = e.filter(|e| e.exists).and_then(|e| {
                let mode = e.mode?;
                let fedora_style = mode & 0o077 == 0o040 && e.gid.is_some_and(|g| g != 0);
                (e.sshd_accepts_private_key(0) == Some(false) && !fedora_style).then(|| {
                    format!(
                        "mode {mode:04o}, owner uid {}: group/other may access it, so sshd refuses to load it (it needs 0600 or stricter)",
                        e.uid.unwrap_or_default()
                    )
                })
            });
            HostKey {
                path: p.clone(),
                exists,
                mode: e.and_then(|e| e.mode).map(|m| format!("{m:o}")),
                uid: e.and_then(|e| e.uid),
                problem,
            }
        })
        .collect();
    let any_problem = host_keys.iter().any(|k| k.problem.is_some());
    let no_keys_msg = test.errors.iter().any(|e| e.kind == "no-host-keys");
    // without the `stat` item (script cut off) existence is unknown: no claim
    let host_keys_missing = cx.item("stat").is_some()
        && (!host_keys.iter().any(|k| k.exists) || (no_keys_msg && !any_problem));
    // systemd's unit (RuntimeDirectory=), Debian's init script and OpenRC's
    // create the directory when they start sshd: its absence while sshd is
    // stopped is a fault only where nothing starts sshd but sshd itself.
    let privsep_missing = test
        .errors
        .iter()
        .find(|e| e.kind == "privsep-missing")
        .map(|e| {
            e.message
                .rsplit(": ")
                .next()
                .unwrap_or(&e.message)
                .trim()
                .to_string()
        })
        .filter(|_| init == "none");

    // processes and sockets
    let running = !pf.sshd_listeners.is_empty();
    let first = pf.sshd_listeners.first();
    let startups = match first.and_then(|l| l.startups) {
        Some(s) => Startups {
            current: Some(s.current),
            begin: Some(s.begin),
            full: Some(s.full),
            title: first.map(|l| l.args.clone()),
            exhausted: s.throttling(),
        },
        None => Startups {
            title: first.map(|l| l.args.clone()),
            ..Startups::default()
        },
    };
    let processes: Vec<String> = table
        .processes
        .iter()
        .filter(|p| p.comm.starts_with("sshd"))
        .map(|p| p.args.clone())
        .collect();
    let mut port_listeners = Vec::new();
    let mut listening_elsewhere = Vec::new();
    let mut port_other_owners = Vec::new();
    let mut socket_activated = false;
    let mut owner_unknown = Vec::new();
    let dialed = cx.input.server_addr;
    if let Some(ls) = listeners {
        for l in &ls.listeners {
            let names: Vec<String> = l
                .processes
                .iter()
                .map(|p| match p.pid {
                    Some(pid) => format!("{} (pid {pid})", p.name),
                    None => p.name.clone(),
                })
                .collect();
            let is_sshd = l.processes.iter().any(|p| p.name.starts_with("sshd"));
            // a socket bound to another address (127.0.0.1) does not serve clients
            let serves = dialed.is_none_or(|a| l.accepts(a));
            let elsewhere = |e: String| match dialed {
                Some(a) if !serves => {
                    format!("{e} (not reachable at {a}, the address clients dial)")
                }
                _ => e,
            };
            let evidence = format!("ss: {}:{} {}", l.address, l.port, names.join(", "));
            if l.port != port {
                if is_sshd {
                    listening_elsewhere.push(evidence);
                }
                continue;
            }
            if l.processes.is_empty() {
                // no owner shown (not root, or busybox netstat without -p):
                // sshd's when ps shows sshd's listener, or systemd holds it
                let text = format!("ss: {}:{} (owner not shown)", l.address, l.port);
                if running || init == "systemd" {
                    if !serves {
                        listening_elsewhere.push(elsewhere(text));
                    } else {
                        socket_activated |= !running;
                        port_listeners.push(text);
                    }
                } else {
                    owner_unknown.push(l.text.trim().to_string());
                }
                continue;
            }
            if is_sshd {
                if serves {
                    port_listeners.push(evidence);
                } else {
                    listening_elsewhere.push(elsewhere(evidence));
                }
                continue;
            }
            for p in &l.processes {
                let super_server = matches!(p.name.as_str(), "inetd" | "xinetd");
                if super_server && inetd.serves_ssh {
                    continue;
                }
                if p.name == "systemd" && init == "systemd" {
                    socket_activated = true;
                    port_listeners.push(format!("{evidence} (socket activation)"));
                    continue;
                }
                port_other_owners.push(PortOwner {
                    process: p.name.clone(),
                    pid: p.pid,
                    evidence: format!(
                        "ss: port {}:{} is held by {} ({})",
                        l.address,
                        l.port,
                        p.name,
                        l.text.trim()
                    ),
                });
            }
        }
        if !owner_unknown.is_empty() {
            cx.gaps.push(format!(
                "port {port} is held by a process the socket list does not name (not root?): {}",
                owner_unknown.join("; ")
            ));
        }
    } else {
        cx.gaps.push(
            "no listening-socket list (`ss` and `netstat` missing or failed): who holds the SSH port is unknown"
                .into(),
        );
    }
    // libwrap
    let ldd = cx.ok_text("ldd-sshd");
    let (libwrap, libwrap_evidence) = match ldd.as_deref().and_then(|t| {
        t.lines()
            .find(|l| l.contains("libwrap"))
            .map(|l| l.trim().to_string())
    }) {
        Some(line) => (true, format!("ldd: {line}")),
        None => match cx.text("sshd-libwrap") {
            Some(t) if t.trim().parse::<u32>().is_ok_and(|n| n > 0) && ldd.is_none() => {
                (true, "the sshd binary names libwrap".into())
            }
            _ => (false, "sshd is not linked with libwrap".into()),
        },
    };
    let libwrap = libwrap
        || inetd
            .entries
            .iter()
            .any(|e| e.enabled && e.evidence.contains("tcpd"));
    Sshd {
        installed: path.is_some(),
        path,
        version,
        running: running || socket_activated,
        socket_activated,
        listeners: pf.sshd_listeners.clone(),
        processes,
        startups,
        libwrap,
        libwrap_evidence,
        test,
        effective,
        effective_error,
        config_files: tree.files_read.clone(),
        config_problems: tree
            .problems
            .iter()
            .map(|p| format!("{}:{}: {}", p.file, p.line, p.message))
            .collect(),
        sources,
        max_startups,
        banner,
        use_dns,
        host_keys,
        host_keys_missing,
        privsep_missing,
        port,
        port_listeners,
        listening_elsewhere,
        port_other_owners,
        listeners_known: listeners.is_some() && owner_unknown.is_empty(),
    }
}

fn client_facts(
    cx: &mut Ctx,
    global_dump: Option<&sshd::SshdDump>,
) -> (Vec<Client>, HostsAccess, Firewall) {
    let allow_text = cx.file("/etc/hosts.allow");
    let deny_text = cx.file("/etc/hosts.deny");
    let allow = allow_text
        .as_deref()
        .map(|t| hosts_access::parse("/etc/hosts.allow", t))
        .unwrap_or_else(|| hosts_access::parse("/etc/hosts.allow", ""));
    let deny = deny_text
        .as_deref()
        .map(|t| hosts_access::parse("/etc/hosts.deny", t))
        .unwrap_or_else(|| hosts_access::parse("/etc/hosts.deny", ""));
    let frames = cx.frames;
    let lists = |path: &str| frames.file(path).map(Item::text);

    let rules = firewall_rules(cx);
    let mut views = Vec::new();
    if rules.nft.is_some() {
        views.push("nft".to_string());
    }
    for (name, present) in [
        ("iptables-nft", rules.iptables_nft.is_some()),
        ("ip6tables-nft", rules.ip6tables_nft.is_some()),
        ("iptables-legacy", rules.iptables_legacy.is_some()),
        ("ip6tables-legacy", rules.ip6tables_legacy.is_some()),
    ] {
        if present {
            views.push(name.to_string());
        }
    }

    let mut clients = Vec::new();
    let mut ha = HostsAccess {
        denied: Vec::new(),
        // set by the evaluation of sshd's own rules (a name pattern for
        // another daemon makes no lookup for sshd)
        needs_names: false,
        name_rules: Vec::new(),
        problems: allow
            .problems
            .iter()
            .chain(&deny.problems)
            .map(|p| format!("{}:{}: {}", p.file, p.line, p.message))
            .collect(),
    };
    let mut fw = Firewall {
        views,
        blocked: Vec::new(),
        uncertain: Vec::new(),
        bans: Vec::new(),
    };
    for &addr in cx.input.clients {
        let mut match_overrides = BTreeMap::new();
        if let (Some(global), Some(own)) = (
            global_dump,
            cx.ok_text(&format!("sshd-T-C {addr}"))
                .map(|t| sshd::parse_dump(&t)),
        ) {
            for (k, v) in &own.values {
                if global.values.get(k) != Some(v) {
                    match_overrides.insert(k.clone(), v.join(" "));
                }
            }
        }
        let key = format!("dns {addr}");
        let dns = cx.item(&key);
        let (name, seconds, rc) = match dns {
            Some(i) => (
                i.text()
                    .lines()
                    .next()
                    .and_then(|l| l.split_whitespace().nth(1))
                    .map(str::to_string),
                i.seconds,
                i.rc,
            ),
            None => (None, None, None),
        };
        // GNU timeout exits 124, busybox's 143 (SIGTERM)
        let timed_out = matches!(rc, Some(124 | 143));
        let lookup_slow = timed_out || seconds.is_some_and(|s| s > 1.0);
        let lookup_note = match (rc, seconds) {
            (None, _) => "not looked up (no `getent` on the host)".to_string(),
            (Some(124 | 143), s) => format!(
                "no answer within {} s (timed out)",
                s.map_or("5".into(), |s| format!("{s:.2}"))
            ),
            (Some(0), s) => format!(
                "{} in {} s",
                name.as_deref().unwrap_or("?"),
                s.map_or("?".into(), |s| format!("{s:.2}"))
            ),
            (Some(_), s) => format!(
                "no name (lookup failed) after {} s",
                s.map_or("?".into(), |s| format!("{s:.2}"))
            ),
        };
        let client_name = match (&name, rc) {
            (Some(n), _) => {
                let verified = cx.item(&format!("dns-forward {addr}")).is_some_and(|f| {
                    f.ok()
                        && f.text().lines().any(|l| {
                            l.split_whitespace()
                                .next()
                                .and_then(|a| a.parse::<IpAddr>().ok())
                                == Some(addr)
                        })
                });
                hosts_access::ClientName::Name {
                    name: n.clone(),
                    verified,
                }
            }
            (None, Some(_)) => hosts_access::ClientName::Unknown,
            (None, None) => hosts_access::ClientName::NotLookedUp,
        };
        let mut query = hosts_access::Query::sshd(addr);
        query.client_name = client_name;
        query.server_port = Some(cx.input.port);
        query.server_addr = cx.input.server_addr;
        let decision = hosts_access::evaluate(&allow, &deny, &query, &lists);
        if decision.needs_name {
            ha.needs_names = true;
            if let Some(r) = &decision.rule {
                ha.name_rules.push(at(&r.file, r.line, &r.text));
            }
        }
        if !decision.allowed {
            let evidence = match &decision.rule {
                Some(r) => at(&r.file, r.line, &r.text),
                None => format!("{} ({})", decision.reason, addr),
            };
            ha.denied.push(Denied {
                client: addr,
                evidence: format!("{evidence} (refuses {addr})"),
                uncertain: decision.uncertain.clone(),
            });
        }
        let verdict = rules.evaluate(&firewall::Packet::new(addr, cx.input.port));
        if verdict.blocks() || verdict.may_block() {
            let mut evidence = Vec::new();
            if let Some(r) = &verdict.decided_by {
                evidence.push(format!("{} (blocks {addr})", r.evidence()));
                if let Some(p) = persisted_line(cx.frames, &rules, r) {
                    evidence.push(p);
                }
            }
            evidence.extend(verdict.uncertain.iter().map(|u| format!("uncertain: {u}")));
            let b = Blocked {
                client: addr,
                action: verdict.action,
                evidence,
            };
            if verdict.blocks() && verdict.decided_by.as_ref().is_some_and(is_ban_rule) {
                fw.bans.push(b);
            } else if verdict.blocks() {
                fw.blocked.push(b);
            } else {
                fw.uncertain.push(b);
            }
        }
        clients.push(Client {
            addr,
            name,
            lookup_seconds: seconds,
            lookup_slow,
            lookup_note,
            hosts_access: decision,
            firewall: verdict,
            match_overrides,
        });
    }
    if ha.needs_names {
        // the rules for sshd whose patterns need the client's name
        for rules in [&allow, &deny] {
            for r in &rules.rules {
                let for_sshd = r
                    .daemons
                    .iter()
                    .any(|d| d.eq_ignore_ascii_case("sshd") || d.eq_ignore_ascii_case("ALL"));
                let single = hosts_access::Rules {
                    rules: vec![r.clone()],
                    problems: Vec::new(),
                    stop: None,
                    file: r.file.clone(),
                };
                if for_sshd && single.mentions_names() {
                    ha.name_rules.push(at(&r.file, r.line, &r.text));
                }
            }
        }
    }
    ha.name_rules.sort();
    ha.name_rules.dedup();
    (clients, ha, fw)
}

/// A rule of fail2ban (`inet f2b-table`, chain `f2b-sshd`) or sshguard.
fn is_ban_rule(r: &firewall::RuleRef) -> bool {
    [&r.table, &r.chain].iter().any(|n| {
        let n = n.to_ascii_lowercase();
        n.starts_with("f2b") || n.contains("fail2ban") || n.contains("sshguard")
    })
}

fn firewall_rules(cx: &mut Ctx) -> firewall::HostRules {
    let (rules, gaps) = host_rules(cx.frames);
    cx.gaps.extend(gaps);
    rules
}

/// The host's firewall as the facts see it, from the script's rulesets (nft,
/// the iptables saves, legacy saves only when they hold a table), and why a
/// ruleset was left out (cut off, or not parsed). The derived facts and the
/// `firewall` fix module both evaluate this.
pub fn host_rules(frames: &Frames) -> (firewall::HostRules, Vec<String>) {
    // reading the rulesets needs no port or clients
    let mut cx = Ctx {
        frames,
        input: Input {
            port: 0,
            clients: &[],
            server_addr: None,
        },
        gaps: Vec::new(),
    };
    let nft = cx.ok_text("nft-json").and_then(|t| match nft::parse(&t) {
        Ok(mut rs) => {
            if let Some(text) = cx.frames.get("nft-text").filter(|i| i.ok()) {
                nft::attach_text(&mut rs, &text.text());
            }
            Some(rs)
        }
        Err(e) => {
            cx.gaps.push(format!("`nft -j list ruleset`: {e}"));
            None
        }
    });
    let mut save = |keys: &[&str]| {
        keys.iter().find_map(|k| {
            let t = cx.ok_text(k)?;
            match iptables::parse(&t) {
                Ok(s) => Some(s),
                Err(e) => {
                    cx.gaps.push(format!("`{k}`: {e}"));
                    None
                }
            }
        })
    };
    let v4 = save(&["iptables-nft-save", "iptables-save"]);
    let v6 = save(&["ip6tables-nft-save", "ip6tables-save"]);
    let legacy4 = save(&["iptables-legacy-save"]);
    let legacy6 = save(&["ip6tables-legacy-save"]);
    // legacy saves with no table are empty: nothing to evaluate
    let nonempty = |s: Option<iptables::Save>| s.filter(|s| !s.tables.is_empty());
    let rules = firewall::HostRules::new(nft, v4, v6, nonempty(legacy4), nonempty(legacy6));
    (rules, cx.gaps)
}

/// Where a blocking rule is persisted (`/etc/nftables.conf:12: …`).
fn persisted_line(
    frames: &Frames,
    rules: &firewall::HostRules,
    r: &firewall::RuleRef,
) -> Option<String> {
    if r.is_policy {
        return None;
    }
    if r.source == "nft" && r.iptables_text.is_none() {
        for path in ["/etc/nftables.conf", "/etc/sysconfig/nftables.conf"] {
            if let Some(text) = frames.file(path).map(Item::text) {
                if let Some(n) = nft::find_rule_in_file(&text, r) {
                    return Some(at(path, n as usize, line_of(&text, n as usize)?));
                }
            }
        }
        return None;
    }
    let v6 = r.family.contains('6') || r.source == "ip6tables";
    let save = if v6 {
        rules
            .ip6tables_nft
            .as_ref()
            .or(rules.ip6tables_legacy.as_ref())
    } else {
        rules
            .iptables_nft
            .as_ref()
            .or(rules.iptables_legacy.as_ref())
    }?;
    let rule = save.rule(r)?;
    let candidates: &[&str] = if v6 {
        &[
            "/etc/iptables/rules.v6",
            "/etc/sysconfig/ip6tables",
            "/etc/ufw/user6.rules",
        ]
    } else {
        &[
            "/etc/iptables/rules.v4",
            "/etc/sysconfig/iptables",
            "/etc/ufw/user.rules",
        ]
    };
    for path in candidates {
        if let Some(text) = frames.file(path).map(Item::text) {
            if let Some(n) = iptables::find_rule_line(&text, &r.table, &r.chain, rule) {
                return Some(at(path, n as usize, line_of(&text, n as usize)?));
            }
        }
    }
    None
}

fn log_facts(cx: &mut Ctx) -> Logs {
    let mut out = Logs::default();
    let sources: Vec<(String, String)> = cx
        .frames
        .items
        .iter()
        .filter_map(|i| {
            let name = i
                .key
                .strip_prefix("log ")
                .map(str::to_string)
                .or_else(|| (i.key == "journal").then(|| "journal".to_string()))?;
            Some((name, i.text()))
        })
        .collect();
    for (name, text) in sources {
        out.sources.push(name.clone());
        let scan = logs::parse(&text);
        for e in scan.events {
            let kind = serde_json::to_value(&e.kind)
                .ok()
                .and_then(|v| v.get("kind").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            let line = LogLine {
                at: format!("{name}:{}", e.line),
                line: e.text.trim().to_string(),
                client: e.client,
                kind: kind.clone(),
            };
            use logs::EventKind as K;
            match e.kind {
                K::RefusedConnect => out.refused.push(line),
                K::MaxStartupsDrop { .. } | K::ExceededMaxStartups | K::MaxStartupsThrottling => {
                    out.maxstartups.push(line)
                }
                K::PenaltyDrop { .. } => out.penalty.push(line),
                K::NoHostkeys
                | K::HostKeyUnloadable { .. }
                | K::KeyPermissionsTooOpen { .. }
                | K::MissingPrivsepDir { .. }
                | K::BindFailed { .. }
                | K::CannotBindAnyAddress
                | K::Fatal { .. } => out.fatal.push(line),
                _ => {}
            }
        }
    }
    // only allow_from clients matter for refusals and penalties
    let clients = cx.input.clients;
    out.refused
        .retain(|l| l.client.is_none_or(|c| clients.contains(&c)));
    out.penalty
        .retain(|l| l.client.is_none_or(|c| clients.contains(&c)));
    out.refused = keep_last(out.refused, 20);
    out.maxstartups = keep_last(out.maxstartups, 20);
    out.penalty = keep_last(out.penalty, 20);
    out.fatal = keep_last(out.fatal, 20);
    out
}

/// How recent a kernel-log line must be to count as happening now.
const KERNEL_LINE_RECENT_SECS: f64 = 900.0;

/// The `[seconds]` stamp of a dmesg line.
fn dmesg_seconds(line: &str) -> Option<f64> {
    let rest = line.trim_start().strip_prefix('[')?;
    rest[..rest.find(']')?].trim().parse().ok()
}

fn conntrack_facts(cx: &mut Ctx, uptime: Option<f64>) -> Conntrack {
    let read = |p: &str| -> Option<u64> { cx.file(p).and_then(|t| t.trim().parse().ok()) };
    let count = read("/proc/sys/net/netfilter/nf_conntrack_count");
    let max = read("/proc/sys/net/netfilter/nf_conntrack_max");
    // only lines from the last quarter hour: an old burst is not today's cause
    let kernel_lines: Vec<String> = cx
        .text("dmesg")
        .map(|t| {
            kernel::parse_kernel_log(&t)
                .into_iter()
                .map(|l| l.text)
                .filter(|l| match (dmesg_seconds(l), uptime) {
                    (Some(at), Some(now)) => (-5.0..=KERNEL_LINE_RECENT_SECS).contains(&(now - at)),
                    _ => false,
                })
                .collect()
        })
        .unwrap_or_default();
    let ratio = match (count, max) {
        (Some(c), Some(m)) if m > 0 => Some((c as f64 / m as f64 * 1000.0).round() / 1000.0),
        _ => None,
    };
    Conntrack {
        count,
        max,
        ratio,
        full: ratio.is_some_and(|r| r >= 0.9) || !kernel_lines.is_empty(),
        kernel_lines: keep_last(kernel_lines, 10),
    }
}

fn inetd_facts(cx: &mut Ctx, pf: &procs::ProcessFacts) -> Inetd {
    let mut entries: Vec<inetd::SuperServerEntry> = Vec::new();
    if let Some(t) = cx.file("/etc/inetd.conf") {
        entries.extend(inetd::parse_inetd_conf("/etc/inetd.conf", &t));
    }
    let mut xfiles: Vec<inetd::XinetdFile> = cx
        .frames
        .with_prefix("file ")
        .filter(|(p, i)| i.whole() && (*p == "/etc/xinetd.conf" || p.starts_with("/etc/xinetd.d/")))
        .map(|(p, i)| inetd::parse_xinetd(p, &i.text()))
        .collect();
    inetd::apply_xinetd_defaults(&mut xfiles);
    for f in xfiles {
        entries.extend(f.services);
    }
    let file_text = |path: &str| cx.file(path);
    let ssh: Vec<InetdEntry> = inetd::sshd_entries(&entries)
        .into_iter()
        .map(|e| {
            let text = file_text(&e.file)
                .and_then(|t| line_of(&t, e.line).map(str::to_string))
                .unwrap_or_else(|| e.service.clone());
            InetdEntry {
                server: match e.daemon {
                    inetd::SuperServer::Inetd => "inetd".into(),
                    inetd::SuperServer::Xinetd => "xinetd".into(),
                },
                enabled: e.enabled,
                evidence: at(&e.file, e.line, &text),
            }
        })
        .collect();
    let serves_ssh = ssh.iter().any(|e| e.enabled);
    let running_for_ssh = ssh.iter().filter(|e| e.enabled).any(|e| {
        if e.server == "inetd" {
            pf.runs(procs::Daemon::Inetd)
        } else {
            pf.runs(procs::Daemon::Xinetd)
        }
    });
    Inetd {
        entries: ssh,
        serves_ssh,
        running_for_ssh,
    }
}

fn selinux_facts(cx: &mut Ctx) -> Selinux {
    let mode = cx
        .file("/sys/fs/selinux/enforce")
        .and_then(|t| security::parse_enforce_file(&t))
        .or_else(|| {
            cx.file("/etc/selinux/config")
                .and_then(|t| security::parse_selinux_config(&t))
                .and_then(|c| c.mode)
        });
    let denials = cx
        .text("avc")
        .map(|t| security::parse_avc(&t))
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d.permissive != Some(true))
        .map(|d| AvcDenial {
            summary: format!(
                "denied {{ {} }} for {}{}{}",
                d.permissions.join(" "),
                d.comm.as_deref().unwrap_or("?"),
                d.tclass
                    .as_deref()
                    .map(|c| format!(" on {c}"))
                    .unwrap_or_default(),
                d.tcontext
                    .as_deref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default()
            ),
            line: d.text.clone(),
        })
        .collect();
    Selinux {
        mode: mode.map(|m| {
            serde_json::to_value(m)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        }),
        denials: keep_last(denials, 10),
    }
}

fn fail2ban_facts(cx: &mut Ctx, pf: &procs::ProcessFacts, fw: &Firewall) -> Fail2ban {
    let mut banned = Vec::new();
    for b in &fw.bans {
        banned.push(Banned {
            client: b.client,
            jail: String::new(),
            evidence: b.evidence.join("; "),
        });
    }
    if let Some(jail) = cx
        .ok_text("fail2ban-sshd")
        .and_then(|t| security::parse_fail2ban_jail(&t))
    {
        for &c in cx.input.clients {
            if jail.banned.contains(&c) {
                let said = format!(
                    "fail2ban-client status {}: {c} is in the banned IP list",
                    jail.jail
                );
                match banned.iter_mut().find(|b| b.client == c) {
                    Some(b) => {
                        b.jail = jail.jail.clone();
                        b.evidence = format!("{said}; {}", b.evidence);
                    }
                    None => banned.push(Banned {
                        client: c,
                        jail: jail.jail.clone(),
                        evidence: said,
                    }),
                }
            }
        }
    }
    Fail2ban {
        running: pf.runs(procs::Daemon::Fail2banServer),
        banned,
    }
}

fn haproxy_facts(cx: &mut Ctx, pf: &procs::ProcessFacts) -> Haproxy {
    let path = "/etc/haproxy/haproxy.cfg";
    let Some(text) = cx.file(path) else {
        return Haproxy {
            running: pf.runs(procs::Daemon::Haproxy),
            ..Haproxy::default()
        };
    };
    let cfg = haproxy::parse(&text);
    let mut sections: Vec<HaproxySection> = Vec::new();
    let mode_evidence = |mode: &haproxy::EffectiveMode| -> Option<String> {
        match &mode.source {
            haproxy::ModeSource::Section { line } | haproxy::ModeSource::Defaults { line, .. } => {
                Some(at(path, *line, line_of(&text, *line)?))
            }
            haproxy::ModeSource::Builtin => None,
        }
    };
    let mut push = |index: usize,
                    name: Option<String>,
                    kind: String,
                    line: usize,
                    why: String,
                    mode: &haproxy::EffectiveMode| {
        if mode.mode != haproxy::Mode::Http
            || sections
                .iter()
                .any(|s| s.name == name.clone().unwrap_or_default() && s.kind == kind)
        {
            return;
        }
        let _ = index;
        let mut evidence = vec![format!(
            "{} ({why})",
            at(path, line, line_of(&text, line).unwrap_or_default())
        )];
        evidence.extend(mode_evidence(mode));
        sections.push(HaproxySection {
            name: name.unwrap_or_default(),
            kind,
            evidence,
        });
    };
    let kind_name = |k: &haproxy::SectionKind| {
        serde_json::to_value(k)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    for s in cfg.serving_port(22) {
        push(
            s.section,
            s.name.clone(),
            kind_name(&s.kind),
            s.section_line,
            format!("binds port 22: {}", s.bind.text.trim()),
            &s.mode,
        );
    }
    for f in cfg.forwarding_to_port(22) {
        let servers: Vec<&str> = f.servers.iter().map(|s| s.text.trim()).collect();
        push(
            f.section,
            f.name.clone(),
            kind_name(&f.kind),
            f.section_line,
            format!("forwards to SSH: {}", servers.join("; ")),
            &f.mode,
        );
    }
    Haproxy {
        config: Some(path.into()),
        running: pf.runs(procs::Daemon::Haproxy),
        http_ssh_sections: sections,
    }
}

/// The variables the checks see for one host: the facts, plus `host`,
/// `reached_via` and `probe` (`none` for `sshfix facts`).
pub fn context(g: &Gathered, probe: Option<&ProbeResult>, facts: &HostFacts) -> Value {
    let mut v = serde_json::to_value(facts).unwrap_or_else(|_| json!({}));
    if let Some(map) = v.as_object_mut() {
        map.insert("host".into(), json!(g.host));
        map.insert(
            "reached_via".into(),
            json!(g.reached_via.map(|p| p.to_string())),
        );
        map.insert(
            "probe".into(),
            match probe {
                Some(p) => json!({
                    "symptom": p.symptom.as_str(),
                    "detail": p.detail,
                    "evidence": p.evidence,
                }),
                None => Value::Null,
            },
        );
    }
    v
}
