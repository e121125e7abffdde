//! SELinux mode and AVC denials for sshd; fail2ban and sshguard ban state.
//!
//! Every function reads the raw text of one item (a command's output or one file):
//!
//! - SELinux mode: `getenforce` (`Enforcing`/`Permissive`/`Disabled`),
//!   `/sys/fs/selinux/enforce` (`1`/`0`), and the `SELINUX=` line of
//!   `/etc/selinux/config` (what the next boot will use);
//! - AVC denials from `/var/log/audit/audit.log`, `ausearch -m avc` (raw or `-i`
//!   interpreted) or the journal (`audit[PID]: AVC avc:  denied …`); only denials whose
//!   `comm` is sshd (`sshd`, `sshd-session`, `sshd-auth`) or whose source context is an
//!   sshd domain (`sshd_t`, `sshd_net_t`, `sshd_session_t`, `sshd_auth_t`) are kept;
//! - `fail2ban-client status` (jail list) and `fail2ban-client status JAIL` (banned IPs);
//! - sshguard's blocklist file (`-b THRESHOLD:FILE`): `TIMESTAMP|SERVICE|ADDRKIND|ADDRESS`.

use serde::Serialize;
use std::net::IpAddr;

/// SELinux mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SelinuxMode {
    /// Denials are enforced.
    Enforcing,
    /// Denials are only logged.
    Permissive,
    /// No policy loaded.
    Disabled,
}

/// `getenforce` output (`Enforcing`, `Permissive`, `Disabled`; case-insensitive).
/// `None` for anything else (command missing, error text).
pub fn parse_getenforce(text: &str) -> Option<SelinuxMode> {
    match text.trim().to_ascii_lowercase().as_str() {
        "enforcing" => Some(SelinuxMode::Enforcing),
        "permissive" => Some(SelinuxMode::Permissive),
        "disabled" => Some(SelinuxMode::Disabled),
        _ => None,
    }
}

/// `/sys/fs/selinux/enforce`: `1` enforcing, `0` permissive. (When the file does not
/// exist SELinux is disabled or absent; the caller knows that, this text does not.)
pub fn parse_enforce_file(text: &str) -> Option<SelinuxMode> {
    match text.trim() {
        "1" => Some(SelinuxMode::Enforcing),
        "0" => Some(SelinuxMode::Permissive),
        _ => None,
    }
}

/// The `SELINUX=` setting of `/etc/selinux/config`, with its line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelinuxConfig {
    /// Mode the next boot uses (`None` when the value is not one of the three).
    pub mode: Option<SelinuxMode>,
    /// The value as written.
    pub value: String,
    /// 1-based line.
    pub line: usize,
}

/// Read `/etc/selinux/config`. The last `SELINUX=` line wins (the file is sourced as
/// shell by some tools and read line by line by libselinux, both take the last one).
pub fn parse_selinux_config(text: &str) -> Option<SelinuxConfig> {
    let mut found = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(v) = line.strip_prefix("SELINUX=") {
            let value = v.trim().trim_matches(['"', '\'']).to_string();
            found = Some(SelinuxConfig {
                mode: parse_getenforce(&value),
                value,
                line: i + 1,
            });
        }
    }
    found
}

/// One AVC denial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AvcDenial {
    /// 1-based line.
    pub line: usize,
    /// The original line (evidence).
    pub text: String,
    /// Denied permissions (`name_bind`, `read`, …).
    pub permissions: Vec<String>,
    /// `comm=` (quotes removed).
    pub comm: Option<String>,
    /// `pid=`.
    pub pid: Option<u32>,
    /// `scontext=` (the process).
    pub scontext: Option<String>,
    /// `tcontext=` (the object).
    pub tcontext: Option<String>,
    /// Type part of `tcontext` (`unreserved_port_t`), for `semanage`/`restorecon` advice.
    pub ttype: Option<String>,
    /// `tclass=` (`tcp_socket`, `file`, `dir`…).
    pub tclass: Option<String>,
    /// `path=` (quotes removed).
    pub path: Option<String>,
    /// `name=` (quotes removed).
    pub name: Option<String>,
    /// `src=` (the port of a `name_bind`).
    pub src_port: Option<u16>,
    /// `lport=` (local port of a socket operation).
    pub local_port: Option<u16>,
    /// `permissive=1` (logged only) / `permissive=0` (enforced); absent on old kernels.
    pub permissive: Option<bool>,
}

const SSHD_COMMS: [&str; 3] = ["sshd", "sshd-session", "sshd-auth"];
const SSHD_DOMAINS: [&str; 4] = ["sshd_t", "sshd_net_t", "sshd_session_t", "sshd_auth_t"];

fn context_type(ctx: &str) -> Option<String> {
    ctx.split(':').nth(2).map(str::to_string)
}

/// Read AVC denials for sshd from an audit log, `ausearch` output or the journal.
pub fn parse_avc(text: &str) -> Vec<AvcDenial> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let Some(at) = raw.find("avc:") else {
            continue;
        };
        let rest = &raw[at + 4..];
        let Some(open) = rest.find('{') else {
            continue;
        };
        if !rest[..open].contains("denied") {
            continue;
        }
        let Some(close) = rest[open..].find('}') else {
            continue;
        };
        let permissions = rest[open + 1..open + close]
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let fields = &rest[open + close + 1..];
        let get = |key: &str| field(fields, key);
        let comm = get("comm");
        let scontext = get("scontext");
        let is_sshd = comm.as_deref().is_some_and(|c| SSHD_COMMS.contains(&c))
            || scontext
                .as_deref()
                .and_then(context_type)
                .is_some_and(|t| SSHD_DOMAINS.contains(&t.as_str()));
        if !is_sshd {
            continue;
        }
        let tcontext = get("tcontext");
        out.push(AvcDenial {
            line: i + 1,
            text: raw.to_string(),
            permissions,
            pid: get("pid").and_then(|p| p.parse().ok()),
            ttype: tcontext.as_deref().and_then(context_type),
            tcontext,
            scontext,
            comm,
            tclass: get("tclass"),
            path: get("path"),
            name: get("name"),
            src_port: get("src").and_then(|p| p.parse().ok()),
            local_port: get("lport").and_then(|p| p.parse().ok()),
            permissive: get("permissive").map(|p| p == "1"),
        });
    }
    out
}

/// `key=value` or `key="value"` from an audit record (first occurrence after the
/// permission list; a key must start a word).
fn field(fields: &str, key: &str) -> Option<String> {
    let pat = format!("{key}=");
    let mut search = fields;
    loop {
        let at = search.find(&pat)?;
        let before_ok = at == 0 || search[..at].ends_with(char::is_whitespace);
        let after = &search[at + pat.len()..];
        if before_ok {
            let value = if let Some(q) = after.strip_prefix('"') {
                q.split('"').next().unwrap_or("")
            } else {
                after.split_whitespace().next().unwrap_or("")
            };
            return Some(value.to_string());
        }
        search = after;
    }
}

/// `fail2ban-client status`: the jail names. Empty when the text is not a status
/// (server not running: `Failed to access socket path …`).
pub fn parse_fail2ban_status(text: &str) -> Vec<String> {
    text.lines()
        .find_map(|l| l.split_once("Jail list:").map(|(_, v)| v))
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `fail2ban-client status JAIL`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fail2banJail {
    /// Jail name from `Status for the jail: NAME`.
    pub jail: String,
    /// `Currently banned:` count.
    pub currently_banned: Option<u32>,
    /// `Total banned:` count.
    pub total_banned: Option<u32>,
    /// `Banned IP list:` entries that are addresses.
    pub banned: Vec<IpAddr>,
    /// Entries of the list that are not plain addresses (kept as text).
    pub banned_other: Vec<String>,
    /// 1-based line of `Banned IP list:` (evidence).
    pub banned_line: Option<usize>,
}

/// Read `fail2ban-client status JAIL`. `None` when the text is not a jail status
/// (e.g. `Sorry but the jail 'x' does not exist`).
pub fn parse_fail2ban_jail(text: &str) -> Option<Fail2banJail> {
    let mut jail = None;
    let mut out = Fail2banJail {
        jail: String::new(),
        currently_banned: None,
        total_banned: None,
        banned: Vec::new(),
        banned_other: Vec::new(),
        banned_line: None,
    };
    for (i, l) in text.lines().enumerate() {
        if let Some((_, v)) = l.split_once("Status for the jail:") {
            jail = Some(v.trim().to_string());
        } else if let Some((_, v)) = l.split_once("Currently banned:") {
            out.currently_banned = v.trim().parse().ok();
        } else if let Some((_, v)) = l.split_once("Total banned:") {
            out.total_banned = v.trim().parse().ok();
        } else if let Some((_, v)) = l.split_once("Banned IP list:") {
            out.banned_line = Some(i + 1);
            for w in v.split_whitespace() {
                match w.parse::<IpAddr>() {
                    Ok(a) => out.banned.push(a),
                    Err(_) => out.banned_other.push(w.to_string()),
                }
            }
        }
    }
    out.jail = jail?;
    Some(out)
}

/// One sshguard blocklist entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshguardEntry {
    /// 1-based line.
    pub line: usize,
    /// Unix time of the block.
    pub timestamp: Option<i64>,
    /// sshguard service code (100 = sshd).
    pub service: Option<u32>,
    /// The blocked address.
    pub address: IpAddr,
}

/// Read sshguard's blocklist file (`TIMESTAMP|SERVICE|ADDRKIND|ADDRESS` per line).
/// Lines whose address does not parse are skipped.
pub fn parse_sshguard_blocklist(text: &str) -> Vec<SshguardEntry> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let parts: Vec<&str> = l.trim().split('|').collect();
            if parts.len() != 4 {
                return None;
            }
            Some(SshguardEntry {
                line: i + 1,
                timestamp: parts[0].parse().ok(),
                service: parts[1].parse().ok(),
                address: parts[3].parse().ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SELINUX_CONFIG: &str =
        include_str!("../../tests/fixtures/facts/security/selinux-config-rhel.txt");
    const AVC: &str = include_str!("../../tests/fixtures/facts/security/avc-sshd.log");
    const F2B_STATUS: &str =
        include_str!("../../tests/fixtures/facts/security/fail2ban-client-status.txt");
    const F2B_SSHD: &str =
        include_str!("../../tests/fixtures/facts/security/fail2ban-client-status-sshd.txt");
    const F2B_SSHD_EMPTY: &str =
        include_str!("../../tests/fixtures/facts/security/fail2ban-client-status-sshd-empty.txt");
    const F2B_NOJAIL: &str =
        include_str!("../../tests/fixtures/facts/security/fail2ban-client-status-nojail.txt");
    const SSHGUARD: &str =
        include_str!("../../tests/fixtures/facts/security/sshguard-blacklist.db");

    #[test]
    fn selinux_modes() {
        assert_eq!(
            parse_getenforce("Enforcing\n"),
            Some(SelinuxMode::Enforcing)
        );
        assert_eq!(
            parse_getenforce("Permissive"),
            Some(SelinuxMode::Permissive)
        );
        assert_eq!(parse_getenforce("Disabled\n"), Some(SelinuxMode::Disabled));
        assert_eq!(parse_getenforce("sh: getenforce: not found"), None);
        assert_eq!(parse_enforce_file("1\n"), Some(SelinuxMode::Enforcing));
        assert_eq!(parse_enforce_file("0"), Some(SelinuxMode::Permissive));
        assert_eq!(parse_enforce_file(""), None);
        let c = parse_selinux_config(SELINUX_CONFIG).unwrap();
        assert_eq!(c.mode, Some(SelinuxMode::Enforcing));
        assert_eq!(c.line, 7);
        assert_eq!(
            parse_selinux_config("SELINUX=permissive\nSELINUX=\"disabled\"\n")
                .unwrap()
                .mode,
            Some(SelinuxMode::Disabled)
        );
        assert_eq!(parse_selinux_config("# nothing\n"), None);
    }

    #[test]
    fn avc_denials_for_sshd_from_upstream_reports() {
        let d = parse_avc(AVC);
        // ssh-agent's denial and the SYSCALL record are not sshd AVCs.
        assert_eq!(d.len(), 7);
        let bind = &d[0];
        assert_eq!(bind.permissions, vec!["name_bind"]);
        assert_eq!(bind.src_port, Some(1122));
        assert_eq!(bind.ttype.as_deref(), Some("unreserved_port_t"));
        assert_eq!(bind.tclass.as_deref(), Some("tcp_socket"));
        assert_eq!(bind.permissive, None);
        assert_eq!(bind.comm.as_deref(), Some("sshd"));
        let open = &d[3];
        assert_eq!(open.path.as_deref(), Some("/proc/sys/crypto/fips_enabled"));
        assert_eq!(open.permissive, Some(true));
        assert_eq!(d[1].name.as_deref(), Some("crypto"));
        assert_eq!(d[4].local_port, Some(22));
        assert_eq!(d[4].pid, Some(1239));
        // journal form, sshd-auth comm
        assert_eq!(d[5].comm.as_deref(), Some("sshd-auth"));
        assert_eq!(d[5].line, 8);
        // ausearch -i form: unquoted comm
        assert_eq!(d[6].comm.as_deref(), Some("sshd-session"));
        assert_eq!(d[6].ttype.as_deref(), Some("cockpit_var_run_t"));
    }

    #[test]
    fn fail2ban_real_output() {
        assert_eq!(parse_fail2ban_status(F2B_STATUS), vec!["sshd"]);
        assert_eq!(
            parse_fail2ban_status("Status\n|- Number of jail:\t2\n`- Jail list:\tsshd, recidive\n"),
            vec!["sshd", "recidive"]
        );
        let j = parse_fail2ban_jail(F2B_SSHD).unwrap();
        assert_eq!(j.jail, "sshd");
        assert_eq!(j.currently_banned, Some(2));
        assert_eq!(
            j.banned,
            vec![
                "192.0.2.7".parse::<IpAddr>().unwrap(),
                "198.51.100.23".parse().unwrap()
            ]
        );
        assert_eq!(j.banned_line, Some(9));
        let e = parse_fail2ban_jail(F2B_SSHD_EMPTY).unwrap();
        assert!(e.banned.is_empty());
        assert_eq!(e.currently_banned, Some(0));
        assert_eq!(e.total_banned, Some(2));
        assert_eq!(parse_fail2ban_jail(F2B_NOJAIL), None);
        assert!(parse_fail2ban_status(F2B_NOJAIL).is_empty());
    }

    #[test]
    fn sshguard_real_blocklist() {
        let b = parse_sshguard_blocklist(SSHGUARD);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].address, "192.0.2.50".parse::<IpAddr>().unwrap());
        assert_eq!(b[0].service, Some(100));
        assert_eq!(b[1].address, "2001:db8::77".parse::<IpAddr>().unwrap());
        assert_eq!(b[1].timestamp, Some(1795495826));
    }

    #[test]
    fn empty_and_garbage() {
        assert!(parse_avc("").is_empty());
        assert!(
            parse_avc("avc: denied { read\navc: granted { x } comm=\"sshd\"\navc:\n").is_empty()
        );
        assert!(parse_fail2ban_status("").is_empty());
        assert_eq!(parse_fail2ban_jail(""), None);
        assert!(parse_sshguard_blocklist("a|b|c|d\n||||\n\u{0}\n").is_empty());
        assert_eq!(parse_getenforce(""), None);
        assert_eq!(parse_selinux_config(""), None);
        assert_eq!(parse_selinux_config("SELINUX=bogus").unwrap().mode, None);
    }
}
