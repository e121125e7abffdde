//! The pure half of the probe: what the socket did ([`Observation`]) in, the
//! symptom, the OpenSSH message and the evidence ([`Verdict`]) out.
//!
//! No I/O happens here; [`super::socket`] produces the observations and the
//! tests below feed hand-written ones.
//!
//! # How the bytes are read
//!
//! [`scan`] follows OpenSSH's `kex_exchange_identification()` byte for byte:
//! lines end at `\n`, a `\r` may only be followed by `\r` or `\n`, a NUL byte or
//! a byte after a lone `\r` is "invalid characters", the first line longer than
//! four bytes that starts with `SSH-` is the identification, and other lines
//! before it are allowed (RFC 4253 §4.2). Two limits are stricter than
//! OpenSSH's (8192 bytes per line): a line longer than [`MAX_LINE`] bytes
//! (RFC 4253's 255) is "banner line too long", and the socket stops reading after
//! [`MAX_BYTES`] bytes without an identification.
//!
//! # Classification rules
//!
//! 1. Name resolution failed → `unreachable`,
//!    `ssh: Could not resolve hostname NAME: MESSAGE`.
//! 2. Every address failed to connect (ssh tries them in order and reports the
//!    last error): `ECONNREFUSED` → `refused`; our connect timer or `ETIMEDOUT`
//!    → `connect-timeout`; anything else (`EHOSTUNREACH`, `ENETUNREACH`,
//!    `EADDRNOTAVAIL`, …) → `unreachable`; detail
//!    `ssh: connect to host ADDRESS port PORT: STRERROR`. With more than one
//!    address, the evidence lists every attempt.
//! 3. Connected, and the bytes hold an identification line:
//!    `SSH-2.0-…` or `SSH-1.99-…` → `ok` (banner kept; lines before it are the
//!    evidence); a line that does not parse as `SSH-N.M-SOFTWARE` → `not-ssh`
//!    `Bad remote protocol version identification: '…'`; any other protocol
//!    version (e.g. `SSH-1.5-`, a protocol-1-only server) → `not-ssh`
//!    `Protocol major versions differ: 2 vs. 1`. These are OpenSSH's messages.
//!    Our own identification coming back is an echo service or a forwarding
//!    loop, not sshd → `not-ssh` (a real client would hang there).
//! 4. Connected, and OpenSSH would reject the bytes (NUL, lone `\r`, line too
//!    long, 1024 lines without identification) → `not-ssh` with OpenSSH's
//!    message, e.g. `kex_exchange_identification: banner line contains invalid
//!    characters`, whatever happened to the connection afterwards.
//! 5. Connected, no identification yet, and the exchange ended:
//!    - EOF → `closed-before-banner`,
//!      `kex_exchange_identification: Connection closed by remote host`;
//!    - `ECONNRESET` (also `ECONNABORTED`, `EPIPE`, other read errors) on read →
//!      `reset-before-banner`, `kex_exchange_identification: read: STRERROR`;
//!      the same on writing our identification → `… write: STRERROR`;
//!    - our banner timer → `banner-timeout`,
//!      `Connection timed out during banner exchange` (`ETIMEDOUT` from the
//!      kernel is also `banner-timeout`, with the `read:` message);
//!    - `EHOSTUNREACH`/`ENETUNREACH` after connecting → `unreachable`;
//!    - [`MAX_BYTES`] read without an identification → `not-ssh`.
//!
//!    - sshd's own `Exceeded MaxStartups\r\n` (OpenSSH 9.8 and later:
//!      `Not allowed at this time\r\n`, for MaxStartups and
//!      PerSourcePenalties alike) and then EOF *or reset* →
//!      `closed-before-banner` with the close message: sshd writes it and
//!      closes without reading, so a reset only means our identification
//!      (sent at once) crossed the close; `ssh`, which sends its identification
//!      a few milliseconds later, sees the close (`lab.md`). A read error
//!      `EPIPE` (a reset after the FIN) is also a close, as in OpenSSH.
//!
//!    If bytes arrived first, they are the evidence, and when they look like
//!    another protocol ([`looks_foreign`]: an HTTP status line, an SMTP/FTP
//!    `220 ` greeting, POP3 `+OK`, IMAP `* OK`, VNC `RFB `, HTML, a TLS record,
//!    control bytes) the symptom becomes `not-ssh` while the detail stays what
//!    ssh prints for the ending. Plain text that is not a known protocol — sshd's
//!    own `Exceeded MaxStartups\r\n`, a TCP-wrappers `banners` file — keeps the
//!    ending's symptom: HTTP then reset is `not-ssh`, `Exceeded MaxStartups`
//!    then EOF is `closed-before-banner`, a partial `SSH-2.0-Op` then silence is
//!    `banner-timeout`.
//!
//! The evidence is at most [`EVIDENCE_BYTES`] bytes, escaped by [`escape`] so
//! that it is printable ASCII and never ambiguous.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use super::Symptom;

/// Longest line accepted before the identification, without its line ending
/// (RFC 4253 §4.2 allows 255 bytes for the identification).
pub const MAX_LINE: usize = 255;
/// Lines OpenSSH accepts before the identification (`SSH_MAX_PRE_BANNER_LINES`).
pub const MAX_PRE_BANNER_LINES: usize = 1024;
/// Bytes the socket reads at most while waiting for the identification.
pub const MAX_BYTES: usize = 8192;
/// Bytes of evidence kept (escaped) in a result.
pub const EVIDENCE_BYTES: usize = 256;

/// What the socket did during one probe; the only input of [`classify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The name or address as the user gave it (for ssh-style messages).
    pub address: String,
    pub port: u16,
    pub connect: Connect,
    /// From the start of the probe until TCP was established or given up
    /// (name resolution included).
    pub connect_time: Duration,
    /// From TCP established until the first byte arrived.
    pub first_byte: Option<Duration>,
    /// The whole probe.
    pub total: Duration,
}

/// How connecting went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connect {
    /// The name did not resolve; the resolver's message.
    ResolveFailed(String),
    /// Every address failed, in the order tried (never empty).
    Failed(Vec<Attempt>),
    /// TCP connected to `peer`, then the identification exchange happened.
    Connected {
        peer: SocketAddr,
        exchange: Exchange,
    },
}

/// One failed connection attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub addr: SocketAddr,
    pub error: OsError,
}

/// A system-call failure, kept as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OsError {
    /// Our own timer fired.
    TimedOut,
    /// `errno` from the kernel.
    Errno(i32),
    /// An error without an `errno` (its message).
    Other(String),
}

/// The identification exchange on a connected socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// Every byte read, in order (at most [`MAX_BYTES`] plus one read).
    pub received: Vec<u8>,
    pub end: ExchangeEnd,
}

/// Why reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeEnd {
    /// [`scan`] found the bytes decisive (an identification or an invalid line).
    Decided,
    /// The peer closed (read returned 0).
    Eof,
    /// Reading failed (usually `ECONNRESET`).
    ReadError(OsError),
    /// Sending our identification failed.
    WriteError(OsError),
    /// The banner timeout passed.
    Timeout,
    /// [`MAX_BYTES`] arrived without an identification.
    Limit,
}

/// The outcome of [`classify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub symptom: Symptom,
    /// What an OpenSSH client prints, or the banner for `ok`.
    pub detail: String,
    /// Bytes seen (escaped), or the connection attempts.
    pub evidence: Option<String>,
    /// The server's identification line (escaped) for `ok`.
    pub banner: Option<String>,
}

/// How far [`scan`] got through the bytes received so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan<'a> {
    /// More bytes are needed.
    Incomplete,
    /// An identification line (without its line ending) starting at byte
    /// `offset`, after `pre_banner_lines` other lines.
    Identification {
        line: &'a [u8],
        offset: usize,
        pre_banner_lines: usize,
    },
    /// OpenSSH would give up here.
    Invalid(Invalid),
}

/// Why OpenSSH rejects a stream before the identification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// NUL, or a byte other than `\r`/`\n` after `\r`.
    Characters,
    /// A line longer than [`MAX_LINE`].
    LineTooLong,
    /// [`MAX_PRE_BANNER_LINES`] lines without an identification.
    TooManyLines,
}

/// Scans received bytes the way OpenSSH's `kex_exchange_identification()` reads
/// them one at a time.
pub fn scan(bytes: &[u8]) -> Scan<'_> {
    let mut lines = 0;
    let mut start = 0;
    let mut len = 0; // bytes of content in the current line
    let mut expect_nl = false;
    for (i, &c) in bytes.iter().enumerate() {
        if lines >= MAX_PRE_BANNER_LINES {
            return Scan::Invalid(Invalid::TooManyLines);
        }
        match c {
            b'\r' => expect_nl = true,
            b'\n' => {
                let line = trim_cr(&bytes[start..i]);
                if line.len() > 4 && line.starts_with(b"SSH-") {
                    return Scan::Identification {
                        line,
                        offset: start,
                        pre_banner_lines: lines,
                    };
                }
                lines += 1;
                start = i + 1;
                len = 0;
                expect_nl = false;
            }
            _ if c == 0 || expect_nl => return Scan::Invalid(Invalid::Characters),
            _ => {
                len += 1;
                if len > MAX_LINE {
                    return Scan::Invalid(Invalid::LineTooLong);
                }
            }
        }
    }
    if lines >= MAX_PRE_BANNER_LINES {
        return Scan::Invalid(Invalid::TooManyLines);
    }
    Scan::Incomplete
}

fn trim_cr(line: &[u8]) -> &[u8] {
    let end = line.iter().rposition(|&c| c != b'\r').map_or(0, |p| p + 1);
    &line[..end]
}

/// Turns an observation into a symptom, OpenSSH's message and the evidence.
pub fn classify(obs: &Observation) -> Verdict {
    match &obs.connect {
        Connect::ResolveFailed(message) => Verdict {
            symptom: Symptom::Unreachable,
            detail: format!("ssh: Could not resolve hostname {}: {message}", obs.address),
            evidence: None,
            banner: None,
        },
        Connect::Failed(attempts) => classify_connect_failure(obs, attempts),
        Connect::Connected { exchange, .. } => classify_exchange(exchange),
    }
}

fn classify_connect_failure(obs: &Observation, attempts: &[Attempt]) -> Verdict {
    let Some(last) = attempts.last() else {
        return Verdict {
            symptom: Symptom::Unreachable,
            detail: format!(
                "ssh: Could not resolve hostname {}: no address",
                obs.address
            ),
            evidence: None,
            banner: None,
        };
    };
    let symptom = match &last.error {
        OsError::Errno(libc::ECONNREFUSED) => Symptom::Refused,
        OsError::TimedOut | OsError::Errno(libc::ETIMEDOUT) => Symptom::ConnectTimeout,
        _ => Symptom::Unreachable,
    };
    let evidence = (attempts.len() > 1).then(|| {
        attempts
            .iter()
            .map(|a| format!("{}: {}", a.addr, strerror(&a.error)))
            .collect::<Vec<_>>()
            .join("; ")
    });
    Verdict {
        symptom,
        detail: format!(
            "ssh: connect to host {} port {}: {}",
            obs.address,
            obs.port,
            strerror(&last.error)
        ),
        evidence,
        banner: None,
    }
}

fn classify_exchange(exchange: &Exchange) -> Verdict {
    let received = &exchange.received;
    let evidence = (!received.is_empty()).then(|| escape(received));
    match scan(received) {
        Scan::Identification { line, offset, .. } => {
            classify_identification(line, &received[..offset], evidence)
        }
        Scan::Invalid(invalid) => Verdict {
            symptom: Symptom::NotSsh,
            detail: format!("kex_exchange_identification: {}", invalid_message(invalid)),
            evidence,
            banner: None,
        },
        Scan::Incomplete if is_sshd_drop(received) => Verdict {
            symptom: Symptom::ClosedBeforeBanner,
            detail: "kex_exchange_identification: Connection closed by remote host".to_string(),
            evidence,
            banner: None,
        },
        Scan::Incomplete => {
            let (symptom, detail) = ending(&exchange.end);
            let symptom = if symptom != Symptom::Unreachable && looks_foreign(received) {
                Symptom::NotSsh
            } else {
                symptom
            };
            Verdict {
                symptom,
                detail,
                evidence,
                banner: None,
            }
        }
    }
}

fn classify_identification(line: &[u8], before: &[u8], evidence: Option<String>) -> Verdict {
    let banner = escape_all(line);
    // Our own line coming back is an echo service or a forwarding loop, not
    // sshd: a real client would hang there waiting for the key exchange.
    if CLIENT_IDENTIFICATION.strip_suffix(b"\r\n") == Some(line) {
        return Verdict {
            symptom: Symptom::NotSsh,
            detail: "the server echoed our own identification back (an echo service or a forwarding loop, not sshd)".into(),
            evidence: Some(escape_all(line)),
            banner: None,
        };
    }
    match parse_version(line) {
        Some((2, _)) | Some((1, 99)) => Verdict {
            symptom: Symptom::Ok,
            detail: banner.clone(),
            evidence: (!before.is_empty()).then(|| escape(before)),
            banner: Some(banner),
        },
        Some((major, _)) => Verdict {
            symptom: Symptom::NotSsh,
            detail: format!("Protocol major versions differ: 2 vs. {major}"),
            evidence,
            banner: Some(banner),
        },
        None => Verdict {
            symptom: Symptom::NotSsh,
            detail: format!(
                "Bad remote protocol version identification: '{}'",
                escape_all(&line[..line.len().min(100)])
            ),
            evidence,
            banner: None,
        },
    }
}

/// `SSH-<major>.<minor>-<software>` with a non-empty software part, as OpenSSH's
/// `sscanf("SSH-%d.%d-%[^\n]")` accepts it (digits only here).
fn parse_version(line: &[u8]) -> Option<(u32, u32)> {
    let rest = line.strip_prefix(b"SSH-")?;
    let (major, rest) = leading_number(rest)?;
    let rest = rest.strip_prefix(b".")?;
    let (minor, rest) = leading_number(rest)?;
    let software = rest.strip_prefix(b"-")?;
    (!software.is_empty()).then_some((major, minor))
}

fn leading_number(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let digits = bytes.iter().take_while(|c| c.is_ascii_digit()).count();
    let number = std::str::from_utf8(&bytes[..digits]).ok()?.parse().ok()?;
    Some((number, &bytes[digits..]))
}

fn invalid_message(invalid: Invalid) -> String {
    match invalid {
        Invalid::Characters => "banner line contains invalid characters".to_string(),
        Invalid::LineTooLong => "banner line too long".to_string(),
        Invalid::TooManyLines => {
            format!("No SSH version received in first {MAX_PRE_BANNER_LINES} lines from server")
        }
    }
}

/// Symptom and OpenSSH message for an exchange that ended without identification.
fn ending(end: &ExchangeEnd) -> (Symptom, String) {
    match end {
        ExchangeEnd::Eof | ExchangeEnd::Decided => (
            Symptom::ClosedBeforeBanner,
            "kex_exchange_identification: Connection closed by remote host".to_string(),
        ),
        // After the peer's FIN a late RST reads as EPIPE, which OpenSSH reports
        // as a close.
        ExchangeEnd::ReadError(OsError::Errno(libc::EPIPE)) => (
            Symptom::ClosedBeforeBanner,
            "kex_exchange_identification: Connection closed by remote host".to_string(),
        ),
        ExchangeEnd::ReadError(error) => (
            io_symptom(error),
            format!("kex_exchange_identification: read: {}", strerror(error)),
        ),
        ExchangeEnd::WriteError(error) => (
            io_symptom(error),
            format!("kex_exchange_identification: write: {}", strerror(error)),
        ),
        ExchangeEnd::Timeout => (
            Symptom::BannerTimeout,
            "Connection timed out during banner exchange".to_string(),
        ),
        ExchangeEnd::Limit => (
            Symptom::NotSsh,
            format!(
                "kex_exchange_identification: no SSH identification in the first {MAX_BYTES} bytes"
            ),
        ),
    }
}

/// sshd's own refusal before the identification: it writes one of these lines
/// and closes without reading, so whether the close reaches us as EOF or as a
/// reset only depends on whether our identification crossed it.
fn is_sshd_drop(received: &[u8]) -> bool {
    received == SSHD_MAXSTARTUPS || received == SSHD_NOT_ALLOWED
}

/// What sshd (before 9.8) writes when it drops a connection past `MaxStartups`.
pub const SSHD_MAXSTARTUPS: &[u8] = b"Exceeded MaxStartups\r\n";

/// What sshd 9.8 and later write when they drop a connection, past
/// `MaxStartups` or for `PerSourcePenalties` alike.
pub const SSHD_NOT_ALLOWED: &[u8] = b"Not allowed at this time\r\n";

/// The identification line the probe sends (as an OpenSSH client sends its own
/// right after connecting).
pub const CLIENT_IDENTIFICATION: &[u8] = b"SSH-2.0-sshfix_probe\r\n";

/// The symptom of a read or write error on an established connection.
fn io_symptom(error: &OsError) -> Symptom {
    match error {
        OsError::TimedOut | OsError::Errno(libc::ETIMEDOUT) => Symptom::BannerTimeout,
        OsError::Errno(
            libc::EHOSTUNREACH | libc::ENETUNREACH | libc::EHOSTDOWN | libc::ENETDOWN,
        ) => Symptom::Unreachable,
        _ => Symptom::ResetBeforeBanner,
    }
}

/// The C library's wording for an error, as ssh prints it.
pub fn strerror(error: &OsError) -> String {
    match error {
        OsError::TimedOut => "Connection timed out".to_string(),
        OsError::Errno(code) => nix::errno::Errno::from_raw(*code).desc().to_string(),
        OsError::Other(message) => message.clone(),
    }
}

/// Whether bytes that came instead of an identification look like another
/// protocol: a known greeting or response on the first line, a TLS record, or
/// control bytes (anything below 0x20 except tab, CR and LF, and DEL).
pub fn looks_foreign(bytes: &[u8]) -> bool {
    if let [0x14..=0x17, 0x03, ..] = bytes {
        return true; // TLS record: alert, handshake, …
    }
    let first_line = bytes.split(|&c| c == b'\n').next().unwrap_or_default();
    const PREFIXES: &[&[u8]] = &[
        b"HTTP/",
        b"+OK",
        b"-ERR",
        b"* OK",
        b"* PREAUTH",
        b"* BYE",
        b"RFB ",
        b"<",
    ];
    let greeting = PREFIXES.iter().any(|p| first_line.starts_with(p));
    let reply_code = matches!(
        first_line,
        [a, b, c, b' ' | b'-', ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit()
    );
    let binary = bytes
        .iter()
        .any(|&c| (c < 0x20 && !matches!(c, b'\t' | b'\r' | b'\n')) || c == 0x7f);
    greeting || reply_code || binary
}

/// Printable, unambiguous form of at most [`EVIDENCE_BYTES`] bytes: printable
/// ASCII as is, `\\`, `\r`, `\n`, `\t`, other bytes as `\xNN`, and
/// ` [+N bytes]` when cut.
pub fn escape(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(EVIDENCE_BYTES)];
    let mut out = escape_all(shown);
    if bytes.len() > shown.len() {
        let _ = write!(out, " [+{} bytes]", bytes.len() - shown.len());
    }
    out
}

fn escape_all(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &c in bytes {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(c)),
            _ => {
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const OPENSSH: &[u8] = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";
    const CLOSED: &str = "kex_exchange_identification: Connection closed by remote host";
    const RESET: &str = "kex_exchange_identification: read: Connection reset by peer";
    const INVALID: &str = "kex_exchange_identification: banner line contains invalid characters";
    const TIMEOUT: &str = "Connection timed out during banner exchange";

    fn peer() -> SocketAddr {
        "192.0.2.10:22".parse().unwrap()
    }

    fn observation(connect: Connect) -> Observation {
        Observation {
            address: "web1.example".to_string(),
            port: 22,
            connect,
            connect_time: Duration::from_millis(3),
            first_byte: None,
            total: Duration::from_millis(4),
        }
    }

    fn exchanged(received: &[u8], end: ExchangeEnd) -> Observation {
        observation(Connect::Connected {
            peer: peer(),
            exchange: Exchange {
                received: received.to_vec(),
                end,
            },
        })
    }

    fn failed(errors: &[(&str, OsError)]) -> Observation {
        observation(Connect::Failed(
            errors
                .iter()
                .map(|(addr, error)| Attempt {
                    addr: addr.parse().unwrap(),
                    error: error.clone(),
                })
                .collect(),
        ))
    }

    fn reset() -> ExchangeEnd {
        ExchangeEnd::ReadError(OsError::Errno(libc::ECONNRESET))
    }

    /// (name, observation, symptom, detail, evidence)
    fn table() -> Vec<(
        &'static str,
        Observation,
        Symptom,
        String,
        Option<&'static str>,
    )> {
        use ExchangeEnd::*;
        let s = |t: &str| t.to_string();
        vec![
            (
                "openssh banner",
                exchanged(OPENSSH, Decided),
                Symptom::Ok,
                s("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"),
                None,
            ),
            (
                "banner after other lines",
                exchanged(b"Welcome\r\nplease wait\r\nSSH-2.0-X_1\r\n", Decided),
                Symptom::Ok,
                s("SSH-2.0-X_1"),
                Some("Welcome\\r\\nplease wait\\r\\n"),
            ),
            (
                "SSH-1.99 counts as protocol 2",
                exchanged(b"SSH-1.99-Cisco-1.25\r\n", Decided),
                Symptom::Ok,
                s("SSH-1.99-Cisco-1.25"),
                None,
            ),
            (
                "banner without \\r",
                exchanged(b"SSH-2.0-dropbear_2022.83\n", Decided),
                Symptom::Ok,
                s("SSH-2.0-dropbear_2022.83"),
                None,
            ),
            (
                "banner followed by KEXINIT bytes in the same read",
                exchanged(b"SSH-2.0-Go\r\n\x00\x00\x01\x14\x0a\x14", Decided),
                Symptom::Ok,
                s("SSH-2.0-Go"),
                None,
            ),
            (
                "protocol 1 only",
                exchanged(b"SSH-1.5-OldServer\r\n", Decided),
                Symptom::NotSsh,
                s("Protocol major versions differ: 2 vs. 1"),
                Some("SSH-1.5-OldServer\\r\\n"),
            ),
            (
                "identification without software version",
                exchanged(b"SSH-2.0-\r\n", Decided),
                Symptom::NotSsh,
                s("Bad remote protocol version identification: 'SSH-2.0-'"),
                Some("SSH-2.0-\\r\\n"),
            ),
            (
                "MaxStartups then EOF",
                exchanged(b"Exceeded MaxStartups\r\n", Eof),
                Symptom::ClosedBeforeBanner,
                s(CLOSED),
                Some("Exceeded MaxStartups\\r\\n"),
            ),
            (
                "empty EOF",
                exchanged(b"", Eof),
                Symptom::ClosedBeforeBanner,
                s(CLOSED),
                None,
            ),
            (
                "reset with nothing (TCP wrappers)",
                exchanged(b"", reset()),
                Symptom::ResetBeforeBanner,
                s(RESET),
                None,
            ),
            (
                "reset while sending our identification",
                exchanged(b"", WriteError(OsError::Errno(libc::EPIPE))),
                Symptom::ResetBeforeBanner,
                s("kex_exchange_identification: write: Broken pipe"),
                None,
            ),
            (
                "MaxStartups then reset (our identification crossed the close)",
                exchanged(b"Exceeded MaxStartups\r\n", reset()),
                Symptom::ClosedBeforeBanner,
                s(CLOSED),
                Some("Exceeded MaxStartups\\r\\n"),
            ),
            (
                "OpenSSH 9.8+ drop (MaxStartups or penalty) then reset",
                exchanged(b"Not allowed at this time\r\n", reset()),
                Symptom::ClosedBeforeBanner,
                s(CLOSED),
                Some("Not allowed at this time\\r\\n"),
            ),
            (
                "our own identification echoed back",
                exchanged(b"SSH-2.0-sshfix_probe\r\n", Eof),
                Symptom::NotSsh,
                s("the server echoed our own identification back (an echo service or a forwarding loop, not sshd)"),
                Some("SSH-2.0-sshfix_probe"),
            ),
            (
                "other plain text then reset keeps the reset",
                exchanged(b"You are not welcome here.\r\n", reset()),
                Symptom::ResetBeforeBanner,
                s(RESET),
                Some("You are not welcome here.\\r\\n"),
            ),
            (
                "EPIPE on read is a close, as in OpenSSH",
                exchanged(b"", ReadError(OsError::Errno(libc::EPIPE))),
                Symptom::ClosedBeforeBanner,
                s(CLOSED),
                None,
            ),
            (
                "HTTP response then EOF",
                exchanged(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    Eof,
                ),
                Symptom::NotSsh,
                s(CLOSED),
                Some("HTTP/1.1 400 Bad Request\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n"),
            ),
            (
                "HTTP then reset",
                exchanged(b"HTTP/1.0 400 Bad request\r\n", reset()),
                Symptom::NotSsh,
                s(RESET),
                Some("HTTP/1.0 400 Bad request\\r\\n"),
            ),
            (
                "SMTP greeting then silence",
                exchanged(b"220 mail.example ESMTP Postfix\r\n", Timeout),
                Symptom::NotSsh,
                s(TIMEOUT),
                Some("220 mail.example ESMTP Postfix\\r\\n"),
            ),
            (
                "TLS alert (NUL byte)",
                exchanged(b"\x15\x03\x01\x00\x02\x02\x28", Eof),
                Symptom::NotSsh,
                s(INVALID),
                Some("\\x15\\x03\\x01\\x00\\x02\\x02("),
            ),
            (
                "binary junk without NUL then EOF",
                exchanged(b"\x16\x03\x03\xff\xfe", Eof),
                Symptom::NotSsh,
                s(CLOSED),
                Some("\\x16\\x03\\x03\\xff\\xfe"),
            ),
            (
                "control bytes then EOF",
                exchanged(b"\x1b[2Jhello", Eof),
                Symptom::NotSsh,
                s(CLOSED),
                Some("\\x1b[2Jhello"),
            ),
            (
                "lone CR inside a line",
                exchanged(b"hello\rworld\r\n", Eof),
                Symptom::NotSsh,
                s(INVALID),
                Some("hello\\rworld\\r\\n"),
            ),
            (
                "timeout with nothing",
                exchanged(b"", Timeout),
                Symptom::BannerTimeout,
                s(TIMEOUT),
                None,
            ),
            (
                "timeout with partial identification",
                exchanged(b"SSH-2.0-OpenSSH_9", Timeout),
                Symptom::BannerTimeout,
                s(TIMEOUT),
                Some("SSH-2.0-OpenSSH_9"),
            ),
            (
                "identification ends with \\r but no \\n before EOF",
                exchanged(b"SSH-2.0-OpenSSH_9.2\r", Eof),
                Symptom::ClosedBeforeBanner,
                s(CLOSED),
                Some("SSH-2.0-OpenSSH_9.2\\r"),
            ),
            (
                "kernel ETIMEDOUT while reading",
                exchanged(b"", ReadError(OsError::Errno(libc::ETIMEDOUT))),
                Symptom::BannerTimeout,
                s("kex_exchange_identification: read: Connection timed out"),
                None,
            ),
            (
                "no route after connecting",
                exchanged(b"", ReadError(OsError::Errno(libc::EHOSTUNREACH))),
                Symptom::Unreachable,
                s("kex_exchange_identification: read: No route to host"),
                None,
            ),
            (
                "read limit without identification",
                exchanged(&b"x\n".repeat(10), Limit),
                Symptom::NotSsh,
                s("kex_exchange_identification: no SSH identification in the first 8192 bytes"),
                Some("x\\nx\\nx\\nx\\nx\\nx\\nx\\nx\\nx\\nx\\n"),
            ),
            (
                "refused",
                failed(&[("192.0.2.10:22", OsError::Errno(libc::ECONNREFUSED))]),
                Symptom::Refused,
                s("ssh: connect to host web1.example port 22: Connection refused"),
                None,
            ),
            (
                "connect timeout (our timer)",
                failed(&[("192.0.2.10:22", OsError::TimedOut)]),
                Symptom::ConnectTimeout,
                s("ssh: connect to host web1.example port 22: Connection timed out"),
                None,
            ),
            (
                "connect timeout (kernel)",
                failed(&[("192.0.2.10:22", OsError::Errno(libc::ETIMEDOUT))]),
                Symptom::ConnectTimeout,
                s("ssh: connect to host web1.example port 22: Connection timed out"),
                None,
            ),
            (
                "no route to host",
                failed(&[("192.0.2.10:22", OsError::Errno(libc::EHOSTUNREACH))]),
                Symptom::Unreachable,
                s("ssh: connect to host web1.example port 22: No route to host"),
                None,
            ),
            (
                "two addresses: the last error decides, all are evidence",
                failed(&[
                    ("[2001:db8::1]:22", OsError::Errno(libc::ENETUNREACH)),
                    ("192.0.2.10:22", OsError::Errno(libc::ECONNREFUSED)),
                ]),
                Symptom::Refused,
                s("ssh: connect to host web1.example port 22: Connection refused"),
                Some("[2001:db8::1]:22: Network is unreachable; 192.0.2.10:22: Connection refused"),
            ),
            (
                "name does not resolve",
                observation(Connect::ResolveFailed(s("Name or service not known"))),
                Symptom::Unreachable,
                s("ssh: Could not resolve hostname web1.example: Name or service not known"),
                None,
            ),
        ]
    }

    #[test]
    fn classifies_every_observation_in_the_table() {
        for (name, obs, symptom, detail, evidence) in table() {
            let verdict = classify(&obs);
            assert_eq!(
                (
                    verdict.symptom,
                    verdict.detail.as_str(),
                    verdict.evidence.as_deref()
                ),
                (symptom, detail.as_str(), evidence),
                "case: {name}"
            );
        }
    }

    #[test]
    fn ok_keeps_the_banner_and_nothing_else_does() {
        for (name, obs, symptom, _, _) in table() {
            let verdict = classify(&obs);
            if symptom == Symptom::Ok {
                assert_eq!(
                    verdict.banner.as_deref(),
                    Some(verdict.detail.as_str()),
                    "{name}"
                );
            } else if !name.starts_with("protocol 1") {
                assert_eq!(verdict.banner, None, "{name}");
            }
        }
    }

    #[test]
    fn overlong_line_is_too_long() {
        let mut bytes = vec![b'a'; MAX_LINE];
        assert_eq!(scan(&bytes), Scan::Incomplete);
        bytes.push(b'a');
        assert_eq!(scan(&bytes), Scan::Invalid(Invalid::LineTooLong));
        let verdict = classify(&exchanged(&bytes, ExchangeEnd::Decided));
        assert_eq!(verdict.symptom, Symptom::NotSsh);
        assert_eq!(
            verdict.detail,
            "kex_exchange_identification: banner line too long"
        );
        assert_eq!(verdict.evidence, Some("a".repeat(256)));
    }

    #[test]
    fn too_many_pre_banner_lines() {
        let bytes = b"\r\n".repeat(MAX_PRE_BANNER_LINES);
        assert_eq!(scan(&bytes), Scan::Invalid(Invalid::TooManyLines));
        let verdict = classify(&exchanged(&bytes, ExchangeEnd::Decided));
        assert_eq!(verdict.symptom, Symptom::NotSsh);
        assert_eq!(
            verdict.detail,
            "kex_exchange_identification: No SSH version received in first 1024 lines from server"
        );
        assert_eq!(
            scan(&b"\r\n".repeat(MAX_PRE_BANNER_LINES - 1)),
            Scan::Incomplete
        );
    }

    #[test]
    fn scan_reports_where_the_identification_is() {
        assert_eq!(
            scan(b"a\r\n\nSSH-2.0-x\r\nrest"),
            Scan::Identification {
                line: b"SSH-2.0-x",
                offset: 4,
                pre_banner_lines: 2
            }
        );
        // "SSH-" alone is not an identification (OpenSSH wants more than 4 bytes).
        assert_eq!(scan(b"SSH-\r\n"), Scan::Incomplete);
        assert_eq!(scan(b"SSH-2.0-x"), Scan::Incomplete);
        // "\r\r\n" is accepted by OpenSSH.
        assert!(matches!(
            scan(b"SSH-2.0-x\r\r\n"),
            Scan::Identification {
                line: b"SSH-2.0-x",
                ..
            }
        ));
    }

    #[test]
    fn evidence_is_escaped_and_cut() {
        assert_eq!(
            escape(b"a\\b\t\x00\x7f\xc3\xa9"),
            "a\\\\b\\t\\x00\\x7f\\xc3\\xa9"
        );
        let long = vec![b'z'; 300];
        assert_eq!(escape(&long), format!("{} [+44 bytes]", "z".repeat(256)));
    }

    #[test]
    fn no_panic_on_any_bytes() {
        // Every 1- and 2-byte input and some longer patterns, with every ending.
        let ends = [
            ExchangeEnd::Decided,
            ExchangeEnd::Eof,
            reset(),
            ExchangeEnd::Timeout,
            ExchangeEnd::Limit,
        ];
        let mut inputs: Vec<Vec<u8>> = (0..=255u8).map(|a| vec![a]).collect();
        for a in [0u8, b'\r', b'\n', b'S', b'-', 0x80, 0xff] {
            for b in 0..=255u8 {
                inputs.push(vec![a, b]);
                inputs.push([b"SSH-2.0".as_slice(), &[a, b], b"\n"].concat());
                inputs.push([b"SSH-".as_slice(), &[a, b], b".", &[b], b"-x\n"].concat());
            }
        }
        inputs.push(b"SSH-99999999999999999999.0-x\n".to_vec());
        for input in inputs {
            for end in &ends {
                let verdict = classify(&exchanged(&input, end.clone()));
                assert!(verdict.evidence.as_deref().is_none_or(|e| e.is_ascii()));
            }
        }
    }

    #[test]
    fn foreign_protocols_are_recognised_and_ssh_text_is_not() {
        for foreign in [
            b"HTTP/1.1 400 Bad Request".as_slice(),
            b"220 mail ESMTP",
            b"220-ftp welcome",
            b"+OK POP3 ready",
            b"* OK IMAP4rev1",
            b"RFB 003.008\n",
            b"<html>",
            b"\x15\x03\x03",
            b"\x01\x02",
        ] {
            assert!(looks_foreign(foreign), "{}", escape(foreign));
        }
        for text in [
            b"Exceeded MaxStartups\r\n".as_slice(),
            b"SSH-2.0-Open",
            b"Access denied\r\n",
            b"caf\xc3\xa9\n",
        ] {
            assert!(!looks_foreign(text), "{}", escape(text));
        }
    }
}
