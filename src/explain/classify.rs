//! Reads what an OpenSSH client printed (one message, or a whole `ssh -vvv`
//! log) and says what kind of failure it is. Pure: text in, [`Classification`] out.
//!
//! Each line is matched against the forms OpenSSH has printed over the years
//! (`tests/fixtures/explain/` holds captured ones):
//!
//! - before the identification (`kex_exchange_identification:` since 8.0,
//!   `ssh_exchange_identification:` before): `read: Connection reset by
//!   peer`, `Connection closed by remote host`, `banner line contains invalid
//!   characters`, and with `-v` the non-SSH lines that came first
//!   (`banner line 0: …`; older clients: `debug1: ssh_exchange_identification: …`);
//! - after them, `sshpkt_fatal`'s summary: `Connection reset by ADDR port N`,
//!   `Connection closed by ADDR port N`, `Connection to ADDR port N timed out`,
//!   `banner exchange: Connection to ADDR port N: invalid format`;
//! - `Connection timed out during banner exchange`, `Bad remote protocol
//!   version identification: '…'`, `Protocol major versions differ`;
//! - connecting: `ssh: connect to host H port N: Connection refused | Connection
//!   timed out | No route to host …`, `ssh: Could not resolve hostname H: …`;
//! - sshd's own log line `Bad protocol version identification '…' from …`
//!   (a client that does not speak SSH reached sshd);
//! - `debug1: Remote protocol version …` (the identification arrived) and
//!   errors that only come after it (`Permission denied`, `Unable to
//!   negotiate`, `Host key verification failed`).
//!
//! The lines specific to the identification exchange decide over the summary
//! lines (which ssh also prints after key exchange); text the server sent
//! before closing decides over the close itself (`Exceeded MaxStartups`,
//! `Not allowed at this time`, an HTTP response).

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::Target;

/// The kinds of client message `docs/findings/findings.yml` explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageKind {
    Refused,
    ConnectTimeout,
    ResetBeforeBanner,
    ClosedBeforeBanner,
    /// Closed after sshd wrote `Exceeded MaxStartups`.
    ClosedMaxstartupsText,
    /// Closed after sshd (9.8+) wrote `Not allowed at this time`.
    ClosedNotAllowedText,
    BannerTimeout,
    /// An HTTP response instead of an identification.
    NotSshHttp,
    NotSsh,
    /// sshd's log: a client that does not speak SSH connected.
    ServerSawNonSsh,
    Unreachable,
    /// The identification arrived; the failure came later.
    AfterIdentification,
}

impl MessageKind {
    /// Every kind, in the order of the source file.
    pub const ALL: [MessageKind; 12] = [
        MessageKind::Refused,
        MessageKind::ConnectTimeout,
        MessageKind::ResetBeforeBanner,
        MessageKind::ClosedBeforeBanner,
        MessageKind::ClosedMaxstartupsText,
        MessageKind::ClosedNotAllowedText,
        MessageKind::BannerTimeout,
        MessageKind::NotSshHttp,
        MessageKind::NotSsh,
        MessageKind::ServerSawNonSsh,
        MessageKind::Unreachable,
        MessageKind::AfterIdentification,
    ];

    /// The kebab-case name used in the source file and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Refused => "refused",
            MessageKind::ConnectTimeout => "connect-timeout",
            MessageKind::ResetBeforeBanner => "reset-before-banner",
            MessageKind::ClosedBeforeBanner => "closed-before-banner",
            MessageKind::ClosedMaxstartupsText => "closed-maxstartups-text",
            MessageKind::ClosedNotAllowedText => "closed-not-allowed-text",
            MessageKind::BannerTimeout => "banner-timeout",
            MessageKind::NotSshHttp => "not-ssh-http",
            MessageKind::NotSsh => "not-ssh",
            MessageKind::ServerSawNonSsh => "server-saw-non-ssh",
            MessageKind::Unreachable => "unreachable",
            MessageKind::AfterIdentification => "after-identification",
        }
    }
}

/// What the input says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub kind: MessageKind,
    /// The input lines that decided it (trimmed, at most [`MAX_MATCHED`]).
    pub matched: Vec<String>,
    pub target: Target,
}

/// At most this many deciding lines are kept.
pub const MAX_MATCHED: usize = 6;

/// What one line says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Signal {
    /// `kex_exchange_identification: read: …` and the like.
    Reset {
        specific: bool,
    },
    Closed {
        specific: bool,
    },
    BannerTimeout {
        specific: bool,
    },
    /// A line the server sent before its identification (`-v` output).
    BannerText(String),
    /// Not an SSH-2 server; the offending text when ssh quoted it.
    NotSsh(Option<String>),
    ServerNonSsh,
    Refused,
    ConnectTimeout,
    Unreachable,
    IdentificationOk,
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid regex")
}

static CONNECTING: LazyLock<Regex> =
    LazyLock::new(|| re(r"Connecting to (\S+) \[([^\]]+)\] port (\d+)"));
static BANNER_LINE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:kex|ssh)_exchange_identification: banner line \d+: ?(.*)$"));
static OLD_DEBUG_LINE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^debug\d?: ssh_exchange_identification: (.*)$"));
static IDENT_IO: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:kex|ssh)_exchange_identification: (?:read|write): (.*)$"));
static IDENT_CLOSED: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:kex|ssh)_exchange_identification: Connection closed by remote host"));
static IDENT_BAD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:kex|ssh)_exchange_identification: (?:banner line contains invalid characters|banner line too long|No SSH identification|.*too many)",
    )
});
static SERVER_BAD: LazyLock<Regex> =
    LazyLock::new(|| re(r"Bad protocol version identification '(.*)'"));
static CLIENT_BAD: LazyLock<Regex> =
    LazyLock::new(|| re(r"Bad remote protocol version identification:? '(.*)'"));
static MAJOR_DIFFER: LazyLock<Regex> = LazyLock::new(|| re(r"Protocol major versions differ"));
static DURING_BANNER: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)Connection timed out during banner exchange"));
static BANNER_EXCHANGE: LazyLock<Regex> =
    LazyLock::new(|| re(r"banner exchange: Connection to (\S+) port (\d+): (.*)$"));
static CONNECT_TO_HOST: LazyLock<Regex> =
    LazyLock::new(|| re(r"connect to host (\S+) port (\d+): (.*)$"));
static RESOLVE: LazyLock<Regex> = LazyLock::new(|| re(r"Could not resolve hostname ([^\s:]+)"));
static CLOSED_BY: LazyLock<Regex> = LazyLock::new(|| re(r"Connection closed by (\S+) port (\d+)"));
static RESET_BY: LazyLock<Regex> = LazyLock::new(|| re(r"Connection reset by (\S+) port (\d+)"));
static TIMED_OUT_TO: LazyLock<Regex> =
    LazyLock::new(|| re(r"Connection to (\S+) port (\d+) timed out"));
static IDENT_OK: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"Remote protocol version \d+\.\d+, remote software version|Permission denied \(|Unable to negotiate with|Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|Authenticated to ",
    )
});
static BARE_REFUSED: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bConnection refused\b"));
static BARE_TIMEOUT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:Connection|Operation) timed out\b"));
static BARE_RESET: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bConnection reset by peer\b"));
static BARE_CLOSED: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\bConnection closed by remote host\b"));
static UNREACHABLE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)No route to host|Network is unreachable|Name or service not known|nodename nor servname|Temporary failure in name resolution|Host is unreachable",
    )
});

/// What a `connect to host` or `banner exchange` error text says.
fn connect_error(text: &str) -> Signal {
    if BARE_REFUSED.is_match(text) {
        Signal::Refused
    } else if BARE_TIMEOUT.is_match(text) {
        Signal::ConnectTimeout
    } else {
        Signal::Unreachable
    }
}

/// Reads one line: the signal it carries, and what it says about the target.
fn read_line(line: &str, target: &mut Target, from_connecting: &mut bool) -> Option<Signal> {
    let set_addr = |target: &mut Target, addr: &str, port: &str| {
        if target.address.is_none() {
            target.address = Some(addr.to_string());
        }
        if target.port.is_none() {
            target.port = port.parse().ok();
        }
    };
    if let Some(c) = CONNECTING.captures(line) {
        // the last attempt wins (a log may hold several)
        target.host = Some(c[1].to_string());
        target.address = Some(c[2].to_string());
        target.port = c[3].parse().ok();
        *from_connecting = true;
        return None;
    }
    if let Some(c) = BANNER_LINE.captures(line) {
        return Some(Signal::BannerText(c[1].trim().to_string()));
    }
    if let Some(c) = OLD_DEBUG_LINE.captures(line) {
        return Some(Signal::BannerText(c[1].trim().to_string()));
    }
    if let Some(c) = IDENT_IO.captures(line) {
        return Some(if BARE_TIMEOUT.is_match(&c[1]) {
            Signal::BannerTimeout { specific: true }
        } else {
            Signal::Reset { specific: true }
        });
    }
    if IDENT_CLOSED.is_match(line) {
        return Some(Signal::Closed { specific: true });
    }
    if IDENT_BAD.is_match(line) {
        return Some(Signal::NotSsh(None));
    }
    if let Some(c) = CLIENT_BAD.captures(line) {
        return Some(Signal::NotSsh(Some(c[1].to_string())));
    }
    if SERVER_BAD.is_match(line) {
        return Some(Signal::ServerNonSsh);
    }
    if MAJOR_DIFFER.is_match(line) {
        return Some(Signal::NotSsh(None));
    }
    if DURING_BANNER.is_match(line) {
        return Some(Signal::BannerTimeout { specific: true });
    }
    if let Some(c) = BANNER_EXCHANGE.captures(line) {
        set_addr(target, &c[1], &c[2]);
        let err = c[3].to_ascii_lowercase();
        return Some(if err.contains("reset") {
            Signal::Reset { specific: false }
        } else if err.contains("closed") {
            Signal::Closed { specific: false }
        } else if err.contains("timed out") {
            Signal::BannerTimeout { specific: false }
        } else {
            Signal::NotSsh(None)
        });
    }
    if let Some(c) = CONNECT_TO_HOST.captures(line) {
        if !*from_connecting {
            target.host = Some(c[1].to_string());
        }
        if target.port.is_none() {
            target.port = c[2].parse().ok();
        }
        return Some(connect_error(&c[3]));
    }
    if let Some(c) = RESOLVE.captures(line) {
        if !*from_connecting {
            target.host = Some(c[1].to_string());
        }
        return Some(Signal::Unreachable);
    }
    if let Some(c) = CLOSED_BY.captures(line) {
        set_addr(target, &c[1], &c[2]);
        return Some(Signal::Closed { specific: false });
    }
    if let Some(c) = RESET_BY.captures(line) {
        set_addr(target, &c[1], &c[2]);
        return Some(Signal::Reset { specific: false });
    }
    if let Some(c) = TIMED_OUT_TO.captures(line) {
        set_addr(target, &c[1], &c[2]);
        return Some(Signal::BannerTimeout { specific: false });
    }
    if IDENT_OK.is_match(line) {
        return Some(Signal::IdentificationOk);
    }
    if BARE_RESET.is_match(line) {
        return Some(Signal::Reset { specific: false });
    }
    if BARE_CLOSED.is_match(line) {
        return Some(Signal::Closed { specific: false });
    }
    if UNREACHABLE.is_match(line) {
        return Some(Signal::Unreachable);
    }
    if BARE_REFUSED.is_match(line) {
        return Some(Signal::Refused);
    }
    if BARE_TIMEOUT.is_match(line) {
        return Some(Signal::ConnectTimeout);
    }
    None
}

fn is_http(text: &str) -> bool {
    text.starts_with("HTTP/") || text.starts_with("<html") || text.starts_with("<!DOCTYPE")
}

/// Classifies what `ssh` printed: one message or a whole log. `None` when no
/// line is a known SSH client error.
pub fn classify(text: &str) -> Option<Classification> {
    let mut target = Target::default();
    let mut from_connecting = false;
    let mut signals: Vec<(String, Signal)> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(s) = read_line(line, &mut target, &mut from_connecting) {
            signals.push((line.to_string(), s));
        }
    }
    if target.host.is_none() {
        target.host.clone_from(&target.address);
    }
    let any = |f: &dyn Fn(&Signal) -> bool| signals.iter().any(|(_, s)| f(s));
    let texts: Vec<&str> = signals
        .iter()
        .filter_map(|(_, s)| match s {
            Signal::BannerText(t) | Signal::NotSsh(Some(t)) if !t.is_empty() => Some(t.as_str()),
            _ => None,
        })
        .collect();
    let said = |needle: &str| texts.iter().any(|t| t.contains(needle));
    let http = texts.iter().any(|t| is_http(t));
    let ended = any(&|s| matches!(s, Signal::Reset { .. } | Signal::Closed { .. }));
    // lines before an identification that did arrive are allowed (RFC 4253)
    let identified = any(&|s| matches!(s, Signal::IdentificationOk));

    use MessageKind as K;
    // each rule: the kind, and which signals are the evidence for it
    type Pick = fn(&Signal) -> bool;
    let (kind, evidence): (MessageKind, Pick) = if any(&|s| matches!(s, Signal::NotSsh(_))) {
        let kind = if http { K::NotSshHttp } else { K::NotSsh };
        (kind, |s| {
            matches!(s, Signal::NotSsh(_) | Signal::BannerText(_))
        })
    } else if !identified && said("Exceeded MaxStartups") {
        (K::ClosedMaxstartupsText, |s| {
            matches!(
                s,
                Signal::BannerText(_)
                    | Signal::Closed { specific: true }
                    | Signal::Reset { specific: true }
            )
        })
    } else if !identified && said("Not allowed at this time") {
        (K::ClosedNotAllowedText, |s| {
            matches!(
                s,
                Signal::BannerText(_)
                    | Signal::Closed { specific: true }
                    | Signal::Reset { specific: true }
            )
        })
    } else if !identified && !texts.is_empty() && (ended || http) {
        let kind = if http { K::NotSshHttp } else { K::NotSsh };
        (kind, |s| {
            matches!(
                s,
                Signal::BannerText(_)
                    | Signal::Closed { specific: true }
                    | Signal::Reset { specific: true }
            )
        })
    } else if any(&|s| matches!(s, Signal::Reset { specific: true })) {
        (K::ResetBeforeBanner, |s| matches!(s, Signal::Reset { .. }))
    } else if any(&|s| matches!(s, Signal::Closed { specific: true })) {
        (K::ClosedBeforeBanner, |s| {
            matches!(s, Signal::Closed { .. })
        })
    } else if any(&|s| matches!(s, Signal::BannerTimeout { specific: true })) {
        (K::BannerTimeout, |s| {
            matches!(s, Signal::BannerTimeout { .. })
        })
    } else if any(&|s| matches!(s, Signal::Refused)) {
        (K::Refused, |s| matches!(s, Signal::Refused))
    } else if any(&|s| matches!(s, Signal::ConnectTimeout)) {
        (K::ConnectTimeout, |s| matches!(s, Signal::ConnectTimeout))
    } else if any(&|s| matches!(s, Signal::Unreachable)) {
        (K::Unreachable, |s| matches!(s, Signal::Unreachable))
    } else if any(&|s| matches!(s, Signal::IdentificationOk)) {
        (K::AfterIdentification, |s| {
            matches!(
                s,
                Signal::IdentificationOk
                    | Signal::Reset { .. }
                    | Signal::Closed { .. }
                    | Signal::BannerTimeout { .. }
            )
        })
    } else if any(&|s| matches!(s, Signal::Reset { .. })) {
        (K::ResetBeforeBanner, |s| matches!(s, Signal::Reset { .. }))
    } else if any(&|s| matches!(s, Signal::Closed { .. })) {
        (K::ClosedBeforeBanner, |s| {
            matches!(s, Signal::Closed { .. })
        })
    } else if any(&|s| matches!(s, Signal::BannerTimeout { .. })) {
        (K::BannerTimeout, |s| {
            matches!(s, Signal::BannerTimeout { .. })
        })
    } else if any(&|s| matches!(s, Signal::ServerNonSsh)) {
        (K::ServerSawNonSsh, |s| matches!(s, Signal::ServerNonSsh))
    } else {
        return None;
    };
    // the server's first lines, then the lines that say how it ended
    let mut texts: Vec<&String> = Vec::new();
    let mut others: Vec<&String> = Vec::new();
    for (line, s) in &signals {
        let list = if matches!(s, Signal::BannerText(_)) {
            &mut texts
        } else {
            &mut others
        };
        if evidence(s) && !list.contains(&line) {
            list.push(line);
        }
    }
    let keep_others = others.len().min(MAX_MATCHED / 2);
    let keep_texts = texts.len().min(MAX_MATCHED - keep_others);
    let matched: Vec<String> = texts[..keep_texts]
        .iter()
        .chain(&others[others.len() - keep_others..])
        .map(|l| l.to_string())
        .collect();
    Some(Classification {
        kind,
        matched,
        target,
    })
}
