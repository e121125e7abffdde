//! sshd log lines (journal, auth.log, `sshd -E` file): classify the messages that explain identification-exchange failures.
//!
//! Three line shapes are read, line by line, and may be mixed:
//!
//! - RFC 3339 prefix, as rsyslog writes on Debian 12 by default and `journalctl -o short-iso`
//!   prints: `2026-11-24T04:45:40.979473+00:00 host sshd[42]: MESSAGE`;
//! - traditional syslog prefix: `Nov 24 04:45:40 host sshd[42]: MESSAGE`
//!   (also `journalctl -o short`);
//! - no prefix at all: an `sshd -E FILE` log, where every line is sshd's message.
//!
//! A prefixed line from another program (`CRON[12]: …`) is skipped; `sshd`,
//! `sshd-session` and `sshd-auth` (OpenSSH 9.8+/10) count as sshd. Journal decoration
//! (`-- No entries --`, `-- Boot … --`) is ignored. Only messages that explain
//! connection failures become [`LogEvent`]s; everything else is counted.
//!
//! Message texts are those of OpenSSH 9.2p1 as captured on Debian 12, plus the
//! OpenSSH 9.8+ `drop connection … penalty: …` / `… past Maxstartups` forms taken
//! from upstream `sshd.c`/`srclimit.c` (see `tests/fixtures/facts/logs/README.md`).
//! Note: at the default `LogLevel INFO`, sshd logs only the FIRST `drop connection …
//! past MaxStartups` of a throttling period (then one line every 5 minutes); later
//! drops are logged at VERBOSE. One such line can stand for many dropped clients.

use regex::Regex;
use serde::Serialize;
use std::net::IpAddr;
use std::sync::LazyLock;

/// How a line was prefixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineFormat {
    /// `2026-11-24T04:45:40.979473+00:00 host prog[pid]: …` (rsyslog on Debian 12,
    /// `journalctl -o short-iso`).
    Rfc3339,
    /// `Nov 24 04:45:40 host prog[pid]: …`.
    Traditional,
    /// No prefix (`sshd -E` file).
    Bare,
}

/// What a log line says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum EventKind {
    /// libwrap (hosts.allow/hosts.deny) refused the client: `refused connect from …`.
    RefusedConnect,
    /// `drop connection #N from [A]:P on [L]:P past MaxStartups` (9.8+: `past Maxstartups`).
    MaxStartupsDrop {
        /// Unauthenticated connections at the time (`#N`).
        startups: Option<u32>,
    },
    /// `beginning MaxStartups throttling` / `in MaxStartups throttling for …`.
    MaxStartupsThrottling,
    /// `exited MaxStartups throttling after …, N connections dropped`.
    MaxStartupsThrottlingEnded {
        /// Connections dropped during the period.
        dropped: Option<u32>,
    },
    /// `exceeded MaxStartups` (any case; older releases and the client-visible text).
    ExceededMaxStartups,
    /// OpenSSH 9.8+ PerSourcePenalties: `drop connection #N … penalty: REASON`, or
    /// `… too many penalised addresses`.
    PenaltyDrop {
        /// The reason text after the address pair (`penalty: failed authentication`).
        reason: String,
    },
    /// `sshd: no hostkeys available -- exiting.`
    NoHostkeys,
    /// `Unable to load host key: PATH` or `Unable to load host key "PATH": REASON`.
    HostKeyUnloadable {
        /// Key file.
        path: String,
        /// The reason, when given (`bad permissions`).
        reason: Option<String>,
    },
    /// `Permissions 0644 for 'PATH' are too open.`
    KeyPermissionsTooOpen {
        /// Key file.
        path: String,
        /// Mode as printed (`0644`).
        mode: String,
    },
    /// `Missing privilege separation directory: /run/sshd`.
    MissingPrivsepDir {
        /// The directory.
        path: String,
    },
    /// `Bind to port 22 on 0.0.0.0 failed: Address already in use.`
    BindFailed {
        /// Address.
        address: String,
        /// Port.
        port: Option<u16>,
        /// The system error text.
        error: String,
    },
    /// `Cannot bind any address.`
    CannotBindAnyAddress,
    /// `kex_exchange_identification: …` (server side).
    KexExchangeIdentification {
        /// The text after the colon.
        detail: String,
    },
    /// `banner exchange: Connection from A port P: invalid format` (or another reason).
    BannerExchange {
        /// The text after the last colon (`invalid format`).
        detail: String,
    },
    /// `Connection closed by A port P` (before any key exchange) or `… [preauth]`.
    ConnectionClosed {
        /// Whether the line ends in `[preauth]`.
        preauth: bool,
    },
    /// `Connection reset by A port P [preauth]`.
    ConnectionReset {
        /// Whether the line ends in `[preauth]`.
        preauth: bool,
    },
    /// `fatal: …` or a line sshd ends with `-- exiting.` not otherwise classified.
    Fatal {
        /// The message after `fatal: `.
        message: String,
    },
    /// `Server listening on ADDR port PORT.`
    ServerListening {
        /// Address.
        address: String,
        /// Port.
        port: Option<u16>,
    },
}

/// One classified sshd line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEvent {
    /// 1-based line number in the input.
    pub line: usize,
    /// The original line (evidence).
    pub text: String,
    /// Prefix shape.
    pub format: LineFormat,
    /// Timestamp text, if the line had one.
    pub timestamp: Option<String>,
    /// Host name from the prefix.
    pub host: Option<String>,
    /// Program name from the prefix (`sshd`).
    pub program: Option<String>,
    /// Process id from the prefix.
    pub pid: Option<u32>,
    /// What happened.
    pub kind: EventKind,
    /// The client address, when the message names one.
    pub client: Option<IpAddr>,
    /// The client's source port, when the message names one.
    pub client_port: Option<u16>,
}

/// Result of reading one log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogScan {
    /// Classified events in input order.
    pub events: Vec<LogEvent>,
    /// Lines attributed to sshd (classified or not).
    pub sshd_lines: usize,
    /// Non-empty lines read.
    pub lines: usize,
}

impl LogScan {
    /// Events of one kind (compared by variant, ignoring fields).
    pub fn of_kind<'a>(&'a self, sample: &EventKind) -> Vec<&'a LogEvent> {
        let want = std::mem::discriminant(sample);
        self.events
            .iter()
            .filter(|e| std::mem::discriminant(&e.kind) == want)
            .collect()
    }

    /// Events that name `client` as their client address.
    pub fn for_client(&self, client: IpAddr) -> Vec<&LogEvent> {
        self.events
            .iter()
            .filter(|e| e.client == Some(client))
            .collect()
    }
}

struct Prefix<'a> {
    format: LineFormat,
    timestamp: Option<&'a str>,
    host: Option<&'a str>,
    program: Option<&'a str>,
    pid: Option<u32>,
    message: &'a str,
}

static RFC3339: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s+(\S+)\s+([^\s\[:]+)(?:\[(\d+)\])?:\s?(.*)$",
    )
    .unwrap()
});
static TRADITIONAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^([A-Z][a-z]{2}\s+\d{1,2}\s+\d{2}:\d{2}:\d{2})\s+(\S+)\s+([^\s\[:]+)(?:\[(\d+)\])?:\s?(.*)$",
    )
    .unwrap()
});
static DROP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"drop connection #(\d+) from \[([^\]]*)\]:(\d+) on \[([^\]]*)\]:(\d+) (.*)$")
        .unwrap()
});
static PERMS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Permissions (\d+) for '(.*)' are too open").unwrap());
static BIND: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Bind to port (\S+) on (\S+) failed: (.*?)\.?$").unwrap());
static LISTENING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Server listening on (\S+) port (\d+)").unwrap());
static REFUSED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"refused connect from (\S+?)(?: \(([^)]*)\))?\s*$").unwrap());
static EXITED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"exited MaxStartups throttling after .*?, (\d+) connections dropped").unwrap()
});

fn split_prefix(line: &str) -> Prefix<'_> {
    for (re, format) in [
        (&*RFC3339, LineFormat::Rfc3339),
        (&*TRADITIONAL, LineFormat::Traditional),
    ] {
        if let Some(c) = re.captures(line) {
            let get = |i| c.get(i).map(|m| m.as_str());
            return Prefix {
                format,
                timestamp: get(1),
                host: get(2),
                program: get(3),
                pid: get(4).and_then(|p| p.parse().ok()),
                message: get(5).unwrap_or(""),
            };
        }
    }
    Prefix {
        format: LineFormat::Bare,
        timestamp: None,
        host: None,
        program: None,
        pid: None,
        message: line,
    }
}

fn is_sshd_program(p: &str) -> bool {
    matches!(p, "sshd" | "sshd-session" | "sshd-auth")
}

/// Read a log (any mix of the shapes in the module doc).
pub fn parse(text: &str) -> LogScan {
    let mut scan = LogScan {
        events: Vec::new(),
        sshd_lines: 0,
        lines: 0,
    };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        scan.lines += 1;
        if line.starts_with("-- ") {
            continue; // journalctl decoration
        }
        let prefix = split_prefix(line);
        if let Some(p) = prefix.program {
            if !is_sshd_program(p) {
                continue;
            }
        }
        scan.sshd_lines += 1;
        let Some(kind) = classify(prefix.message) else {
            continue;
        };
        let (client, client_port) = client_of(prefix.message, &kind);
        scan.events.push(LogEvent {
            line: i + 1,
            text: line.to_string(),
            format: prefix.format,
            timestamp: prefix.timestamp.map(str::to_string),
            host: prefix.host.map(str::to_string),
            program: prefix.program.map(str::to_string),
            pid: prefix.pid,
            kind,
            client,
            client_port,
        });
    }
    scan
}

/// Classify one sshd message (without any syslog prefix).
pub fn classify(message: &str) -> Option<EventKind> {
    // Level prefixes appear in syslog (`error: beginning MaxStartups throttling`) but
    // not in `sshd -E` files.
    let m = message.trim();
    let body = ["error: ", "fatal: "]
        .iter()
        .find_map(|p| m.strip_prefix(p))
        .unwrap_or(m);
    if let Some(c) = DROP.captures(body) {
        let startups = c.get(1).and_then(|x| x.as_str().parse().ok());
        let reason = c.get(6).map(|x| x.as_str().trim()).unwrap_or("");
        if reason.eq_ignore_ascii_case("past MaxStartups") {
            return Some(EventKind::MaxStartupsDrop { startups });
        }
        return Some(EventKind::PenaltyDrop {
            reason: reason.to_string(),
        });
    }
    if REFUSED.is_match(body) {
        return Some(EventKind::RefusedConnect);
    }
    if body.contains("beginning MaxStartups throttling")
        || body.contains("in MaxStartups throttling for")
    {
        return Some(EventKind::MaxStartupsThrottling);
    }
    if let Some(c) = EXITED.captures(body) {
        return Some(EventKind::MaxStartupsThrottlingEnded {
            dropped: c.get(1).and_then(|x| x.as_str().parse().ok()),
        });
    }
    if body.to_ascii_lowercase().contains("exceeded maxstartups") {
        return Some(EventKind::ExceededMaxStartups);
    }
    if body.contains("no hostkeys available") {
        return Some(EventKind::NoHostkeys);
    }
    if let Some(c) = PERMS.captures(body) {
        return Some(EventKind::KeyPermissionsTooOpen {
            mode: c[1].to_string(),
            path: c[2].to_string(),
        });
    }
    if let Some(rest) = body.strip_prefix("Unable to load host key") {
        // `Unable to load host key "PATH": REASON` or `Unable to load host key: PATH`.
        let rest = rest.trim();
        if let Some(quoted) = rest.strip_prefix('"') {
            let (path, after) = quoted.split_once('"').unwrap_or((quoted, ""));
            let reason = after.trim_start_matches(':').trim();
            return Some(EventKind::HostKeyUnloadable {
                path: path.to_string(),
                reason: (!reason.is_empty()).then(|| reason.to_string()),
            });
        }
        return Some(EventKind::HostKeyUnloadable {
            path: rest.trim_start_matches(':').trim().to_string(),
            reason: None,
        });
    }
    if let Some(path) = body.strip_prefix("Missing privilege separation directory:") {
        return Some(EventKind::MissingPrivsepDir {
            path: path.trim().to_string(),
        });
    }
    if let Some(c) = BIND.captures(body) {
        return Some(EventKind::BindFailed {
            port: c[1].parse().ok(),
            address: c[2].to_string(),
            error: c[3].to_string(),
        });
    }
    if body.starts_with("Cannot bind any address") {
        return Some(EventKind::CannotBindAnyAddress);
    }
    if let Some(detail) = body.strip_prefix("kex_exchange_identification:") {
        return Some(EventKind::KexExchangeIdentification {
            detail: detail.trim().to_string(),
        });
    }
    if body.starts_with("banner exchange:") {
        let detail = body.rsplit(':').next().unwrap_or("").trim();
        return Some(EventKind::BannerExchange {
            detail: detail.to_string(),
        });
    }
    let preauth = body.ends_with("[preauth]");
    if body.starts_with("Connection closed by ") {
        return Some(EventKind::ConnectionClosed { preauth });
    }
    if body.starts_with("Connection reset by ") {
        return Some(EventKind::ConnectionReset { preauth });
    }
    if let Some(c) = LISTENING.captures(body) {
        return Some(EventKind::ServerListening {
            address: c[1].to_string(),
            port: c[2].parse().ok(),
        });
    }
    if m.starts_with("fatal: ") || body.ends_with("-- exiting.") {
        return Some(EventKind::Fatal {
            message: body.to_string(),
        });
    }
    None
}

/// The client address and port a message names: `from [A]:P` (drops), the address in
/// parentheses of libwrap's `refused connect from NAME (ADDR)`, or `ADDR port P`.
fn client_of(message: &str, kind: &EventKind) -> (Option<IpAddr>, Option<u16>) {
    if let Some(c) = DROP.captures(message) {
        return (c[2].parse().ok(), c[3].parse().ok());
    }
    if matches!(kind, EventKind::RefusedConnect) {
        if let Some(c) = REFUSED.captures(message) {
            let addr = c
                .get(2)
                .and_then(|m| m.as_str().parse().ok())
                .or_else(|| c[1].rsplit('@').next().and_then(|s| s.parse().ok()));
            return (addr, None);
        }
    }
    if matches!(
        kind,
        EventKind::BindFailed { .. } | EventKind::ServerListening { .. }
    ) {
        return (None, None); // those name local addresses
    }
    let words: Vec<&str> = message.split_whitespace().collect();
    for w in words.windows(3) {
        if w[1] == "port" {
            if let Ok(addr) = w[0].parse::<IpAddr>() {
                let port = w[2].trim_end_matches([':', '.', ',']).parse().ok();
                return (Some(addr), port);
            }
        }
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const E_MAXSTARTUPS: &str =
        include_str!("../../tests/fixtures/facts/logs/sshd-E-maxstartups.log");
    const E_CONNECTIONS: &str =
        include_str!("../../tests/fixtures/facts/logs/sshd-E-connections.log");
    const E_BIND: &str = include_str!("../../tests/fixtures/facts/logs/sshd-E-bind-fail.log");
    const E_NOKEYS: &str = include_str!("../../tests/fixtures/facts/logs/sshd-E-no-hostkeys.log");
    const E_PERMS: &str = include_str!("../../tests/fixtures/facts/logs/sshd-E-bad-perms.log");
    const E_PRIVSEP: &str = include_str!("../../tests/fixtures/facts/logs/sshd-E-privsep.log");
    const E_LIBWRAP: &str =
        include_str!("../../tests/fixtures/facts/logs/sshd-E-libwrap-port2022.log");
    const AUTH_RFC3339: &str = include_str!("../../tests/fixtures/facts/logs/auth.log-rfc3339");
    const AUTH_TRAD: &str = include_str!("../../tests/fixtures/facts/logs/auth.log-traditional");
    const STDERR: &str =
        include_str!("../../tests/fixtures/facts/logs/sshd-stderr-startup-failures.txt");
    const JOURNAL: &str = include_str!("../../tests/fixtures/facts/logs/journal-short-iso.txt");
    const UPSTREAM_98: &str =
        include_str!("../../tests/fixtures/facts/logs/upstream-9.8-drops.log");

    fn kinds(scan: &LogScan) -> Vec<EventKind> {
        scan.events.iter().map(|e| e.kind.clone()).collect()
    }

    #[test]
    fn real_sshd_e_maxstartups() {
        let s = parse(E_MAXSTARTUPS);
        let drops = s.of_kind(&EventKind::MaxStartupsDrop { startups: None });
        assert_eq!(drops.len(), 1);
        assert_eq!(drops[0].line, 4);
        assert_eq!(drops[0].format, LineFormat::Bare);
        assert_eq!(
            drops[0].kind,
            EventKind::MaxStartupsDrop { startups: Some(2) }
        );
        assert_eq!(drops[0].client, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(drops[0].client_port, Some(49320));
        assert_eq!(s.of_kind(&EventKind::MaxStartupsThrottling).len(), 1);
        assert_eq!(
            s.of_kind(&EventKind::ServerListening {
                address: String::new(),
                port: None
            })
            .len(),
            2
        );
    }

    #[test]
    fn real_sshd_e_connections() {
        let s = parse(E_CONNECTIONS);
        let k = kinds(&s);
        assert!(k.contains(&EventKind::KexExchangeIdentification {
            detail: "client sent invalid protocol identifier \"GET / HTTP/1.0\"".into()
        }));
        assert!(k.contains(&EventKind::BannerExchange {
            detail: "invalid format".into()
        }));
        assert!(k.contains(&EventKind::KexExchangeIdentification {
            detail: "Connection closed by remote host".into()
        }));
        let closed = s.of_kind(&EventKind::ConnectionClosed { preauth: false });
        assert_eq!(closed.len(), 2);
        assert_eq!(
            closed[0].kind,
            EventKind::ConnectionClosed { preauth: false }
        );
        assert_eq!(closed[0].client_port, Some(39902));
        assert_eq!(
            closed[1].kind,
            EventKind::ConnectionClosed { preauth: true }
        );
        let banner = &s.of_kind(&EventKind::BannerExchange {
            detail: String::new(),
        })[0];
        assert_eq!(banner.client, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(banner.client_port, Some(39888));
        // "Accepted publickey" and "Received disconnect" are not failure events.
        assert_eq!(s.sshd_lines, 10);
        assert_eq!(s.events.len(), 6);
    }

    #[test]
    fn real_startup_failures() {
        let b = parse(E_BIND);
        assert_eq!(
            kinds(&b),
            vec![
                EventKind::BindFailed {
                    address: "0.0.0.0".into(),
                    port: Some(22),
                    error: "Address already in use".into()
                },
                EventKind::CannotBindAnyAddress
            ]
        );
        assert_eq!(b.events[0].client, None);
        let n = parse(E_NOKEYS);
        assert_eq!(n.events.len(), 3);
        assert_eq!(n.events[2].kind, EventKind::NoHostkeys);
        assert_eq!(
            n.events[0].kind,
            EventKind::HostKeyUnloadable {
                path: "/tmp/sp2/nonexistent_rsa".into(),
                reason: None
            }
        );
        let p = parse(E_PERMS);
        assert_eq!(
            p.events[0].kind,
            EventKind::KeyPermissionsTooOpen {
                path: "/tmp/sp2/badkey".into(),
                mode: "0644".into()
            }
        );
        assert!(kinds(&p).contains(&EventKind::HostKeyUnloadable {
            path: "/tmp/sp2/badkey".into(),
            reason: Some("bad permissions".into())
        }));
        assert_eq!(
            kinds(&parse(E_PRIVSEP)),
            vec![EventKind::MissingPrivsepDir {
                path: "/run/sshd".into()
            }]
        );
        let st = parse(STDERR);
        assert_eq!(st.events.len(), 4);
        assert_eq!(st.events[3].kind, EventKind::NoHostkeys);
    }

    #[test]
    fn real_libwrap_line_only_in_syslog() {
        for (text, format) in [
            (AUTH_RFC3339, LineFormat::Rfc3339),
            (AUTH_TRAD, LineFormat::Traditional),
        ] {
            let s = parse(text);
            let r = s.of_kind(&EventKind::RefusedConnect);
            assert_eq!(r.len(), 1, "{format:?}");
            assert_eq!(r[0].client, Some("10.99.0.2".parse().unwrap()));
            assert_eq!(r[0].pid, Some(42));
            assert_eq!(r[0].host.as_deref(), Some("lab-host"));
            assert_eq!(r[0].format, format);
            assert_eq!(r[0].line, 2);
            // `error: ` level prefix in syslog is understood.
            assert_eq!(s.of_kind(&EventKind::MaxStartupsThrottling).len(), 1);
            assert_eq!(s.for_client("127.0.0.1".parse().unwrap()).len(), 1);
        }
        assert_eq!(
            parse(AUTH_RFC3339).events[1].timestamp.as_deref(),
            Some("2026-11-24T04:45:40.979473+00:00")
        );
        // The `sshd -E` daemon that libwrap refused a client for logged no such line.
        assert!(parse(E_LIBWRAP)
            .of_kind(&EventKind::RefusedConnect)
            .is_empty());
    }

    #[test]
    fn journal_and_other_programs() {
        let s = parse(JOURNAL);
        assert_eq!(s.of_kind(&EventKind::RefusedConnect).len(), 1);
        assert_eq!(s.events[0].format, LineFormat::Rfc3339);
        // CRON and systemd lines are not sshd's.
        assert!(s
            .events
            .iter()
            .all(|e| e.program.as_deref() == Some("sshd")));
        assert_eq!(parse("-- No entries --\n").events.len(), 0);
    }

    #[test]
    fn upstream_98_penalty_and_maxstartups_forms() {
        let s = parse(UPSTREAM_98);
        let pen = s.of_kind(&EventKind::PenaltyDrop {
            reason: String::new(),
        });
        assert_eq!(pen.len(), 2);
        assert_eq!(
            pen[0].kind,
            EventKind::PenaltyDrop {
                reason: "penalty: failed authentication".into()
            }
        );
        assert_eq!(pen[0].client, Some("192.0.2.7".parse().unwrap()));
        assert_eq!(pen[0].program.as_deref(), Some("sshd"));
        let ms = s.of_kind(&EventKind::MaxStartupsDrop { startups: None });
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].client, Some("2001:db8::5".parse().unwrap()));
        assert_eq!(
            s.of_kind(&EventKind::MaxStartupsThrottlingEnded { dropped: None })[0].kind,
            EventKind::MaxStartupsThrottlingEnded { dropped: Some(17) }
        );
    }

    #[test]
    fn refused_with_hostname_and_user() {
        assert_eq!(
            client_of(
                "refused connect from client.example.org (192.0.2.9)",
                &EventKind::RefusedConnect
            ),
            (Some("192.0.2.9".parse().unwrap()), None)
        );
        assert_eq!(
            client_of("refused connect from 192.0.2.9", &EventKind::RefusedConnect).0,
            Some("192.0.2.9".parse().unwrap())
        );
        assert_eq!(
            classify("Exceeded MaxStartups"),
            Some(EventKind::ExceededMaxStartups)
        );
    }

    #[test]
    fn json_shape() {
        let s = parse(E_MAXSTARTUPS);
        let v = serde_json::to_value(&s.events[3]).unwrap();
        assert_eq!(v["kind"]["kind"], "max-startups-drop");
        assert_eq!(v["kind"]["startups"], 2);
        assert_eq!(v["format"], "bare");
        assert_eq!(v["client"], "127.0.0.1");
    }

    #[test]
    fn empty_and_garbage() {
        let s = parse("");
        assert!(s.events.is_empty());
        assert_eq!(s.lines, 0);
        let g = parse("\u{0}\u{1}garbage\nNov 99 xx host sshd[: \ndrop connection #x from [\nBind to port\n2026-13-45T99:99:99 h sshd[1]: random text\n");
        assert!(g.events.is_empty(), "{:?}", g.events);
        assert_eq!(g.lines, 5);
    }
}
