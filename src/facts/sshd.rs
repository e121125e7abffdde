//! Output of the sshd binary itself: `sshd -T` (the effective configuration) and the errors of `sshd -t` (file:line when it names one).
//!
//! Formats as OpenSSH 9.2 (Debian 12) prints them, captured in
//! `tests/fixtures/facts/sshd/out/`. sshd writes its log lines to stderr ending in
//! `\r\n`, with non-printable bytes escaped as `\ooo` (so a keyword with odd bytes
//! appears escaped in the messages). `sshd -V` prints only `OpenSSH_9.2, OpenSSL …`
//! (no `p1`, no Debian revision); the usage text (any bad option) and `ssh -V` carry
//! the full `OpenSSH_9.2p1 Debian-2+deb12u10`.

use indexmap::IndexMap;
use serde::Serialize;

/// `sshd -T` output: lowercase keyword → values, in the order printed. Multi-valued
/// settings (`port`, `hostkey`, `listenaddress`, `acceptenv`, `subsystem`, …) repeat the keyword.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SshdDump {
    /// Keyword (lowercased) → every value printed for it, in order.
    pub values: IndexMap<String, Vec<String>>,
}

/// `MaxStartups start:rate:full`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MaxStartups {
    /// Unauthenticated connections before random early drop starts.
    pub start: u32,
    /// Drop probability (percent) at `start`.
    pub rate: u32,
    /// Unauthenticated connections at which every new one is refused.
    pub full: u32,
}

impl MaxStartups {
    /// Parse `a:b:c` or the single-number form `n`, which sshd reads as `n:30:n`
    /// (30 being the default rate; in a config file a single number keeps the rate of an
    /// earlier MaxStartups line, and `sshd -T` always prints the three-part form).
    /// Like sshd's `sscanf("%d:%d:%d")`, trailing garbage after the numbers is ignored;
    /// two numbers, zero values, `start > full` or a rate outside 1..=100 are rejected.
    pub fn parse(s: &str) -> Option<MaxStartups> {
        let nums = leading_numbers(s.trim());
        let m = match nums.as_slice() {
            [n] => MaxStartups {
                start: *n,
                rate: 30,
                full: *n,
            },
            [a, b, c, ..] => MaxStartups {
                start: *a,
                rate: *b,
                full: *c,
            },
            _ => return None,
        };
        if nums.len() >= 3 && (m.start > m.full || m.rate > 100 || m.rate < 1) {
            return None;
        }
        if m.start == 0 || m.full == 0 {
            return None;
        }
        Some(m)
    }
}

/// Up to three `:`-separated decimal numbers at the start of `s`, as `sscanf("%d:%d:%d")`.
fn leading_numbers(s: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let mut rest = s;
    for i in 0..3 {
        if i > 0 {
            match rest.strip_prefix(':') {
                Some(r) => rest = r,
                None => break,
            }
        }
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        match digits.parse::<u32>() {
            Ok(n) => out.push(n),
            Err(_) => break,
        }
        rest = &rest[digits.len()..];
    }
    out
}

/// Parse `sshd -T` output. Lines are `keyword value…`; blank lines are skipped and a
/// keyword without value gets an empty value.
pub fn parse_dump(text: &str) -> SshdDump {
    let mut values: IndexMap<String, Vec<String>> = IndexMap::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let (k, v) = match line.split_once(' ') {
            Some((k, v)) => (k, v),
            None => (line, ""),
        };
        values
            .entry(k.to_ascii_lowercase())
            .or_default()
            .push(v.to_string());
    }
    SshdDump { values }
}

impl SshdDump {
    /// The first value of `key` (any case), if printed.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.all(key).first().map(String::as_str)
    }

    /// Every value of `key`, in order (empty when not printed).
    pub fn all(&self, key: &str) -> &[String] {
        self.values
            .get(&key.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// `maxstartups`.
    pub fn max_startups(&self) -> Option<MaxStartups> {
        self.get("maxstartups").and_then(MaxStartups::parse)
    }

    /// `usedns` as a boolean.
    pub fn use_dns(&self) -> Option<bool> {
        yes_no(self.get("usedns")?)
    }

    /// `banner` path; `None` when unset (`banner none`) or absent.
    pub fn banner(&self) -> Option<String> {
        self.get("banner")
            .filter(|b| !b.eq_ignore_ascii_case("none") && !b.is_empty())
            .map(str::to_string)
    }

    /// `hostkey` paths, in order.
    pub fn host_keys(&self) -> Vec<String> {
        self.all("hostkey").to_vec()
    }

    /// `port` numbers, in order (unparsable values skipped).
    pub fn ports(&self) -> Vec<u16> {
        self.all("port")
            .iter()
            .filter_map(|p| p.trim().parse().ok())
            .collect()
    }

    /// `listenaddress` entries as printed (`0.0.0.0:22`, `[::]:22`, with ` rdomain X` if any).
    pub fn listen_addresses(&self) -> Vec<String> {
        self.all("listenaddress").to_vec()
    }

    /// `persourcepenalties` (OpenSSH ≥ 9.8), raw.
    pub fn per_source_penalties(&self) -> Option<&str> {
        self.get("persourcepenalties")
    }

    /// `persourcepenaltyexemptlist` (OpenSSH ≥ 9.8), raw.
    pub fn per_source_penalty_exempt_list(&self) -> Option<&str> {
        self.get("persourcepenaltyexemptlist")
    }

    /// `persourcemaxstartups`: `Some(None)` for `none` (no limit).
    pub fn per_source_max_startups(&self) -> Option<Option<u32>> {
        let v = self.get("persourcemaxstartups")?;
        if v.eq_ignore_ascii_case("none") {
            Some(None)
        } else {
            v.trim().parse().ok().map(Some)
        }
    }
}

fn yes_no(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// What an sshd message is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum SshdMessageKind {
    /// `FILE: line N: Bad configuration option: KEYWORD`.
    BadOption {
        /// The keyword as sshd printed it.
        keyword: String,
    },
    /// A value sshd rejected (`missing …`, `unsupported option "x"`, `Invalid … spec`,
    /// `Badly formatted port number`, `no argument after keyword`, `extra arguments`, `invalid quotes`, …).
    BadValue {
        /// The keyword, when the message names it.
        keyword: Option<String>,
    },
    /// `FILE line N: Directive 'KEYWORD' is not allowed within a Match block`.
    NotAllowedInMatch {
        /// The keyword.
        keyword: String,
    },
    /// `FILE line N: Bad Match condition` and the sentence before it
    /// (`Missing Match criteria for User`, `Unsupported Match attribute X`).
    BadMatch,
    /// Include trouble: `Too many recursive configuration includes`, a glob failure, or a
    /// missing Include argument.
    IncludeProblem,
    /// A configuration file sshd could not open: `PATH: No such file or directory` (also a
    /// dangling symlink matched by an Include glob, or a missing main file).
    ConfigUnreadable {
        /// The file.
        path: String,
        /// strerror text.
        reason: String,
    },
    /// `sshd: no hostkeys available -- exiting.`
    NoHostKeys,
    /// `Unable to load host key "PATH": REASON` or `Unable to load host key: PATH`.
    HostKeyLoad {
        /// The key file.
        path: String,
        /// The reason when given (`bad permissions`, `error in libcrypto`, …).
        reason: Option<String>,
    },
    /// `Permissions 0644 for 'PATH' are too open.`
    KeyPermissions {
        /// The key file.
        path: String,
        /// The mode as printed (octal, e.g. `0644`).
        mode: String,
    },
    /// `Missing privilege separation directory: /run/sshd`.
    MissingPrivsepDir {
        /// The directory.
        path: String,
    },
    /// `/run/sshd must be owned by root and not group or world-writable.`
    PrivsepDirUnsafe {
        /// The directory.
        path: String,
    },
    /// `FILE line N: Deprecated option X` / `Unsupported option X` (a warning; sshd goes on).
    IgnoredOption {
        /// The keyword.
        keyword: String,
    },
    /// `FILE: terminating, N bad configuration options` (the trailer after non-fatal errors).
    Terminating {
        /// N.
        count: u32,
    },
    /// `'Match LocalPort' in configuration but 'lport' not in connection test specification.`:
    /// `sshd -T` needs `-C …,lport=N` for this configuration (not a configuration error;
    /// `sshd -t` passes).
    MatchSpecMissing {
        /// The Match criterion (`LocalPort`).
        criterion: String,
        /// The `-C` field it needs (`lport`).
        field: String,
    },
    /// Anything else.
    Other,
}

/// One message of `sshd -t`/`sshd -T` failure output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SshdMessage {
    /// The configuration file the message names, if any.
    pub file: Option<String>,
    /// The 1-based line it names, if any.
    pub line: Option<usize>,
    /// The message text (without `file line N:` prefix, level prefix and `\r`).
    pub text: String,
    /// What it is about.
    pub kind: SshdMessageKind,
}

/// Lines that only decorate the unprotected-key warning; the `Permissions … are too open.`
/// line carries the facts.
fn is_decoration(line: &str) -> bool {
    line.starts_with("@@@@")
        || line.starts_with("@ ")
        || line == "It is required that your private key files are NOT accessible by others."
        || line == "This private key will be ignored."
}

/// Split `FILE line N: rest` or `FILE: line N: rest` (the two forms servconf.c uses).
fn split_location(line: &str) -> Option<(String, usize, &str)> {
    for sep in [": line ", " line "] {
        let mut search = 0;
        while let Some(off) = line[search..].find(sep) {
            let at = search + off;
            let after = &line[at + sep.len()..];
            let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
            if !digits.is_empty() && after[digits.len()..].starts_with(": ") {
                let file = &line[..at];
                if !file.is_empty() && !file.contains(' ') {
                    let n = digits.parse().ok()?;
                    return Some((file.to_string(), n, &after[digits.len() + 2..]));
                }
            }
            search = at + sep.len();
        }
    }
    None
}

/// Text between the first pair of `open`/`close` after `prefix`.
fn between<'a>(s: &'a str, prefix: &str, close: char) -> Option<&'a str> {
    let rest = s.strip_prefix(prefix)?;
    let end = rest.find(close)?;
    Some(&rest[..end])
}

/// Parse the stderr of a failing `sshd -t` or `sshd -T` (or any sshd log text) into
/// messages. Blank lines, the decorative lines of the key-permission warning, and
/// `error: `/`fatal: ` level prefixes (present when logging to syslog) are dropped.
pub fn parse_test_errors(output: &str) -> Vec<SshdMessage> {
    let mut out = Vec::new();
    for raw in output.lines() {
        let mut line = raw.trim_end_matches('\r').trim_end();
        for p in ["error: ", "fatal: "] {
            if let Some(r) = line.strip_prefix(p) {
                line = r;
            }
        }
        if line.is_empty() || is_decoration(line) {
            continue;
        }
        out.push(classify(line));
    }
    out
}

fn classify(line: &str) -> SshdMessage {
    let msg = |file: Option<String>, n: Option<usize>, text: &str, kind| SshdMessage {
        file,
        line: n,
        text: text.to_string(),
        kind,
    };
    if let Some((file, n, text)) = split_location(line) {
        let kind = if let Some(k) = text.strip_prefix("Bad configuration option: ") {
            SshdMessageKind::BadOption {
                keyword: k.to_string(),
            }
        } else if let Some(k) = between(text, "Directive '", '\'') {
            SshdMessageKind::NotAllowedInMatch {
                keyword: k.to_string(),
            }
        } else if text == "Bad Match condition" {
            SshdMessageKind::BadMatch
        } else if let Some(k) = text
            .strip_prefix("Deprecated option ")
            .or_else(|| text.strip_prefix("Unsupported option "))
        {
            SshdMessageKind::IgnoredOption {
                keyword: k.to_string(),
            }
        } else if text.starts_with("include ") || text.contains("missing filename argument") {
            SshdMessageKind::IncludeProblem
        } else {
            SshdMessageKind::BadValue {
                keyword: value_keyword(text),
            }
        };
        return msg(Some(file), Some(n), text, kind);
    }
    if let Some((file, rest)) = line.split_once(": terminating, ") {
        if let Some(count) = rest
            .strip_suffix(" bad configuration options")
            .and_then(|c| c.parse().ok())
        {
            return msg(
                Some(file.to_string()),
                None,
                line,
                SshdMessageKind::Terminating { count },
            );
        }
    }
    if line.starts_with("sshd: no hostkeys available") {
        return msg(None, None, line, SshdMessageKind::NoHostKeys);
    }
    if let Some(rest) = line.strip_prefix("Unable to load host key \"") {
        if let Some((path, reason)) = rest.split_once("\": ") {
            return msg(
                None,
                None,
                line,
                SshdMessageKind::HostKeyLoad {
                    path: path.to_string(),
                    reason: Some(reason.to_string()),
                },
            );
        }
    }
    if let Some(path) = line.strip_prefix("Unable to load host key: ") {
        return msg(
            None,
            None,
            line,
            SshdMessageKind::HostKeyLoad {
                path: path.to_string(),
                reason: None,
            },
        );
    }
    if let Some(rest) = line.strip_prefix("Permissions ") {
        if let Some((mode, rest)) = rest.split_once(" for '") {
            if let Some(path) = rest.strip_suffix("' are too open.") {
                return msg(
                    None,
                    None,
                    line,
                    SshdMessageKind::KeyPermissions {
                        path: path.to_string(),
                        mode: mode.to_string(),
                    },
                );
            }
        }
    }
    if let Some(path) = line.strip_prefix("Missing privilege separation directory: ") {
        return msg(
            None,
            None,
            line,
            SshdMessageKind::MissingPrivsepDir {
                path: path.to_string(),
            },
        );
    }
    if let Some(path) = line.strip_suffix(" must be owned by root and not group or world-writable.")
    {
        return msg(
            None,
            None,
            line,
            SshdMessageKind::PrivsepDirUnsafe {
                path: path.to_string(),
            },
        );
    }
    if let Some(rest) = line.strip_prefix("'Match ") {
        if let Some((criterion, rest)) = rest.split_once("' in configuration but '") {
            if let Some(field) = rest.strip_suffix("' not in connection test specification.") {
                return msg(
                    None,
                    None,
                    line,
                    SshdMessageKind::MatchSpecMissing {
                        criterion: criterion.to_string(),
                        field: field.to_string(),
                    },
                );
            }
        }
    }
    if line == "Too many recursive configuration includes" {
        return msg(None, None, line, SshdMessageKind::IncludeProblem);
    }
    if line.starts_with("Missing Match criteria for ")
        || line.starts_with("Unsupported Match attribute ")
        || line == "'all' cannot be combined with other Match attributes"
        || line == "One or more attributes required for Match"
    {
        return msg(None, None, line, SshdMessageKind::BadMatch);
    }
    // perror(filename): "PATH: strerror" for a config file sshd could not open.
    if line.starts_with('/') {
        if let Some((path, reason)) = line.split_once(": ") {
            if !path.contains(' ') {
                return msg(
                    Some(path.to_string()),
                    None,
                    line,
                    SshdMessageKind::ConfigUnreadable {
                        path: path.to_string(),
                        reason: reason.to_string(),
                    },
                );
            }
        }
    }
    msg(None, None, line, SshdMessageKind::Other)
}

/// The keyword a value error names, for the message forms that do.
fn value_keyword(text: &str) -> Option<String> {
    if let Some(k) = between(text, "no argument after keyword \"", '"') {
        return Some(k.to_string());
    }
    if let Some(rest) = text.strip_prefix("keyword ") {
        return rest.split_whitespace().next().map(str::to_string);
    }
    for (prefix, suffix) in [("Invalid ", " spec."), ("Bad ", " value")] {
        if let Some(r) = text.strip_prefix(prefix) {
            if let Some(end) = r.find(suffix) {
                return Some(r[..end].to_string());
            }
        }
    }
    None
}

/// An OpenSSH version string such as `OpenSSH_9.2p1 Debian-2+deb12u10`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenSshVersion {
    /// The whole version string (up to the `,` before the OpenSSL version).
    pub raw: String,
    /// Major version (9).
    pub major: u32,
    /// Minor version (2).
    pub minor: u32,
    /// Portable release (`p1` → 1), absent in `sshd -V` output of 9.2.
    pub portable: Option<u32>,
    /// Distribution suffix (`Debian-2+deb12u10`), if any.
    pub distro: Option<String>,
}

impl OpenSshVersion {
    /// `(major, minor)`, for [`crate::facts::sshd_config::precedence_in`].
    pub fn pair(&self) -> (u32, u32) {
        (self.major, self.minor)
    }
}

/// The first OpenSSH version in `text`: `ssh -V`, `sshd -V` (`OpenSSH_9.2, OpenSSL …`
/// on 9.2), sshd's usage text (`OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL …`) or a
/// server banner (`SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10`).
pub fn version(text: &str) -> Option<OpenSshVersion> {
    let at = text.find("OpenSSH_")?;
    let rest = &text[at..];
    let end = rest.find([',', '\n', '\r']).unwrap_or(rest.len());
    let raw = rest[..end].trim_end().to_string();
    let body = raw.strip_prefix("OpenSSH_")?;
    let (ver, distro) = match body.split_once(' ') {
        Some((v, d)) => (v, Some(d.trim().to_string()).filter(|d| !d.is_empty())),
        None => (body, None),
    };
    let (mm, portable) = match ver.split_once('p') {
        Some((mm, p)) => (mm, p.parse().ok()),
        None => (ver, None),
    };
    let (major, minor) = mm.split_once('.')?;
    let minor: String = minor.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some(OpenSshVersion {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
        portable,
        distro,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! out {
        ($name:literal) => {
            include_str!(concat!("../../tests/fixtures/facts/sshd/out/", $name))
        };
    }

    #[test]
    fn debian_default_dump() {
        let d = parse_dump(out!("debian-default.T.stdout"));
        assert_eq!(d.ports(), vec![22]);
        assert_eq!(d.listen_addresses(), vec!["[::]:22", "0.0.0.0:22"]);
        assert_eq!(
            d.host_keys(),
            vec![
                "/etc/ssh/ssh_host_rsa_key",
                "/etc/ssh/ssh_host_ecdsa_key",
                "/etc/ssh/ssh_host_ed25519_key"
            ]
        );
        assert_eq!(
            d.max_startups(),
            Some(MaxStartups {
                start: 10,
                rate: 30,
                full: 100
            })
        );
        assert_eq!(d.use_dns(), Some(false));
        assert_eq!(d.banner(), None);
        assert_eq!(d.get("UsePAM"), Some("yes"));
        assert_eq!(d.all("acceptenv"), ["LANG", "LC_*"]);
        assert_eq!(
            d.get("subsystem"),
            Some("sftp /usr/lib/openssh/sftp-server")
        );
        assert_eq!(d.per_source_max_startups(), Some(None));
        // 9.2 has no penalties.
        assert_eq!(d.per_source_penalties(), None);
        assert_eq!(d.per_source_penalty_exempt_list(), None);
        assert_eq!(d.all("nosuchkey"), [] as [String; 0]);
    }

    #[test]
    fn dumps_with_changed_values() {
        let d = parse_dump(out!("dropin-first.T.stdout"));
        assert_eq!(d.ports(), vec![2200, 2222]);
        assert_eq!(d.use_dns(), Some(true));
        assert_eq!(
            d.max_startups(),
            Some(MaxStartups {
                start: 20,
                rate: 30,
                full: 60
            })
        );
        let d = parse_dump(out!("crlf-case-eq.T.stdout"));
        assert_eq!(d.banner().as_deref(), Some("/etc/ssh/my banner"));
        let d = parse_dump(out!("last-wins.T.stdout"));
        assert_eq!(d.per_source_max_startups(), Some(Some(5)));
        assert_eq!(
            d.max_startups(),
            Some(MaxStartups {
                start: 40,
                rate: 30,
                full: 40
            })
        );
        // Later OpenSSH prints penalties; the generic accessors see them.
        let d = parse_dump("persourcepenalties crash:90s authfail:5s max:600s\r\npersourcepenaltyexemptlist 10.0.0.0/8\n");
        assert_eq!(
            d.per_source_penalties(),
            Some("crash:90s authfail:5s max:600s")
        );
        assert_eq!(d.per_source_penalty_exempt_list(), Some("10.0.0.0/8"));
        assert_eq!(parse_dump(""), SshdDump::default());
    }

    #[test]
    fn max_startups_forms() {
        let p = MaxStartups::parse;
        assert_eq!(
            p("10:30:100"),
            Some(MaxStartups {
                start: 10,
                rate: 30,
                full: 100
            })
        );
        assert_eq!(
            p("40"),
            Some(MaxStartups {
                start: 40,
                rate: 30,
                full: 40
            })
        );
        // sscanf ignores trailing garbage (verified: `MaxStartups 10x` → 10:30:10).
        assert_eq!(
            p("10x"),
            Some(MaxStartups {
                start: 10,
                rate: 30,
                full: 10
            })
        );
        assert_eq!(
            p("10:30:100abc"),
            Some(MaxStartups {
                start: 10,
                rate: 30,
                full: 100
            })
        );
        // sshd rejects these ("Invalid MaxStartups spec.").
        assert_eq!(p("10:30"), None);
        assert_eq!(p("60:30:10"), None);
        assert_eq!(p("10:0:100"), None);
        assert_eq!(p("0"), None);
        assert_eq!(p("none"), None);
    }

    fn kinds(text: &str) -> Vec<(Option<String>, Option<usize>, SshdMessageKind)> {
        parse_test_errors(text)
            .into_iter()
            .map(|m| (m.file, m.line, m.kind))
            .collect()
    }

    fn main_at(n: usize) -> (Option<String>, Option<usize>) {
        (Some("/etc/ssh/sshd_config".into()), Some(n))
    }

    #[test]
    fn config_errors() {
        use SshdMessageKind::*;
        let (f, _) = main_at(0);
        assert_eq!(
            kinds(out!("bad-option.t.stderr")),
            vec![
                (
                    main_at(2).0,
                    main_at(2).1,
                    BadOption {
                        keyword: "FooBar".into()
                    }
                ),
                (
                    main_at(3).0,
                    main_at(3).1,
                    BadOption {
                        keyword: "maxstartup".into()
                    }
                ),
                (f.clone(), None, Terminating { count: 2 }),
            ]
        );
        assert_eq!(
            kinds(out!("bad-value.t.stderr")),
            vec![(f.clone(), Some(1), BadValue { keyword: None })]
        );
        assert_eq!(
            kinds(out!("not-in-match.t.stderr")),
            vec![(
                f.clone(),
                Some(3),
                NotAllowedInMatch {
                    keyword: "UseDNS".into()
                }
            )]
        );
        assert_eq!(
            kinds(out!("trailing-match-global.t.stderr")),
            vec![(
                f.clone(),
                Some(125),
                NotAllowedInMatch {
                    keyword: "MaxStartups".into()
                }
            )]
        );
        assert_eq!(
            kinds(out!("include-in-match-global.t.stderr")),
            vec![(
                Some("/etc/ssh/inmatch.conf".into()),
                Some(2),
                NotAllowedInMatch {
                    keyword: "UseDNS".into()
                }
            )]
        );
        assert_eq!(
            kinds(out!("bad-match.t.stderr")),
            vec![(None, None, BadMatch), (f.clone(), Some(1), BadMatch)]
        );
        assert_eq!(
            kinds(out!("missing-argument.t.stderr")),
            vec![
                (
                    f.clone(),
                    Some(2),
                    BadValue {
                        keyword: Some("Banner".into())
                    }
                ),
                (
                    f.clone(),
                    Some(3),
                    BadValue {
                        keyword: Some("ListenAddress".into())
                    }
                ),
                (f.clone(), None, Terminating { count: 2 }),
            ]
        );
        assert_eq!(
            kinds(out!("extra-arguments.t.stderr"))[0],
            (
                f.clone(),
                Some(1),
                BadValue {
                    keyword: Some("UseDNS".into())
                }
            )
        );
        assert_eq!(
            kinds(out!("invalid-quotes.t.stderr"))[0],
            (f.clone(), Some(1), BadValue { keyword: None })
        );
        assert_eq!(
            kinds(out!("unsupported-deprecated.t.stderr")),
            vec![
                (
                    f.clone(),
                    Some(1),
                    IgnoredOption {
                        keyword: "UsePrivilegeSeparation".into()
                    }
                ),
                (
                    f.clone(),
                    Some(2),
                    IgnoredOption {
                        keyword: "KerberosGetAFSToken".into()
                    }
                ),
            ]
        );
        let m = parse_test_errors(out!("bad-option.t.stderr"));
        assert_eq!(m[0].text, "Bad configuration option: FooBar");
    }

    #[test]
    fn include_and_file_errors() {
        use SshdMessageKind::*;
        assert_eq!(
            kinds(out!("include-recursion.t.stderr")),
            vec![(None, None, IncludeProblem)]
        );
        let path = "/etc/ssh/sshd_config.d/broken.conf".to_string();
        assert_eq!(
            kinds(out!("include-dangling.t.stderr")),
            vec![(
                Some(path.clone()),
                None,
                ConfigUnreadable {
                    path,
                    reason: "No such file or directory".into()
                }
            )]
        );
        let path = "/etc/ssh/nonexistent".to_string();
        assert_eq!(
            kinds(out!("missing-main.t.stderr")),
            vec![(
                Some(path.clone()),
                None,
                ConfigUnreadable {
                    path,
                    reason: "No such file or directory".into()
                }
            )]
        );
    }

    #[test]
    fn host_key_and_privsep_errors() {
        use SshdMessageKind::*;
        let rsa = "/etc/ssh/ssh_host_rsa_key".to_string();
        assert_eq!(
            kinds(out!("key-permissions.t.stderr")),
            vec![
                (
                    None,
                    None,
                    KeyPermissions {
                        path: rsa.clone(),
                        mode: "0644".into()
                    }
                ),
                (
                    None,
                    None,
                    HostKeyLoad {
                        path: rsa.clone(),
                        reason: Some("bad permissions".into())
                    }
                ),
                (
                    None,
                    None,
                    HostKeyLoad {
                        path: rsa,
                        reason: None
                    }
                ),
            ]
        );
        let k = kinds(out!("hostkey-load.t.stderr"));
        assert_eq!(
            k[0].2,
            HostKeyLoad {
                path: "/etc/ssh/ssh_host_ecdsa_key".into(),
                reason: Some("error in libcrypto".into())
            }
        );
        assert_eq!(
            k[2].2,
            HostKeyLoad {
                path: "/etc/ssh/ssh_host_ed25519_key".into(),
                reason: None
            }
        );
        assert_eq!(
            kinds(out!("no-hostkeys.t.stderr")),
            vec![(None, None, NoHostKeys)]
        );
        for text in [
            out!("no-privsep-dir.t.stderr"),
            out!("no-privsep-dir.T.stderr"),
        ] {
            assert_eq!(
                kinds(text),
                vec![(
                    None,
                    None,
                    MissingPrivsepDir {
                        path: "/run/sshd".into()
                    }
                )]
            );
        }
        // Syslog form (level prefix) and the unsafe-directory message (sshd.c wording).
        assert_eq!(
            kinds("fatal: /run/sshd must be owned by root and not group or world-writable.\n"),
            vec![(
                None,
                None,
                PrivsepDirUnsafe {
                    path: "/run/sshd".into()
                }
            )]
        );
        assert_eq!(kinds("Something unexpected\r\n"), vec![(None, None, Other)]);
        assert_eq!(
            kinds(out!("match-localport.T.stderr")),
            vec![(
                None,
                None,
                MatchSpecMissing {
                    criterion: "LocalPort".into(),
                    field: "lport".into()
                }
            )]
        );
        assert!(parse_test_errors("").is_empty());
        assert!(parse_test_errors("\r\n\n").is_empty());
    }

    #[test]
    fn stderr_lines_end_in_crlf() {
        // The fixtures are raw captures: sshd's log lines end in \r\n.
        assert!(out!("bad-option.t.stderr").contains("FooBar\r\n"));
        assert_eq!(
            parse_test_errors(out!("bad-option.t.stderr"))[0].text,
            "Bad configuration option: FooBar"
        );
    }

    #[test]
    fn versions() {
        let v = version(out!("ssh-V.stderr")).unwrap();
        assert_eq!(
            v,
            OpenSshVersion {
                raw: "OpenSSH_9.2p1 Debian-2+deb12u10".into(),
                major: 9,
                minor: 2,
                portable: Some(1),
                distro: Some("Debian-2+deb12u10".into()),
            }
        );
        // sshd -V on 9.2 prints SSH_VERSION only.
        let v = version(out!("sshd-V.stderr")).unwrap();
        assert_eq!(
            (v.raw.as_str(), v.pair(), v.portable, v.distro),
            ("OpenSSH_9.2", (9, 2), None, None)
        );
        // The usage text (any unknown option) has the full release.
        let v = version(out!("sshd-usage.stderr")).unwrap();
        assert_eq!(v.distro.as_deref(), Some("Debian-2+deb12u10"));
        let v = version("SSH-2.0-OpenSSH_10.0p2 Ubuntu-5\r\n").unwrap();
        assert_eq!((v.major, v.minor, v.portable), (10, 0, Some(2)));
        assert_eq!(version("sshd: command not found"), None);
        assert_eq!(version("OpenSSH_x"), None);
    }
}
