//! Listening sockets from `ss -Htlnp` (or `netstat -tlnp`): who owns which TCP port.
//!
//! Both parsers are pure and line-oriented: a line that is not a listener (a header,
//! an error message, garbage) is kept in [`Listeners::unparsed`] with its line number
//! rather than failing the whole parse.
//!
//! Address forms seen in real output (see `tests/fixtures/facts/ss/README.md`):
//! `0.0.0.0:22`, `127.0.0.1:8080`, `[::]:22`, `*:8443` (ss, a dual-stack socket),
//! `:::22` (netstat), and `127.0.0.53%lo:53` / `[fe80::1]%eth0:22` (ss, a socket bound
//! to an interface with `SO_BINDTODEVICE` or a scoped address).

use serde::Serialize;
use std::net::IpAddr;

/// Which command produced the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListenerSource {
    /// `ss -Htlnp` (iproute2).
    Ss,
    /// `netstat -tlnp` (net-tools) or busybox `netstat -tln[p]`.
    Netstat,
}

/// One process holding a listening socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketProcess {
    /// Process name as the tool printed it: ss prints the `comm` (`sshd`); netstat prints
    /// the start of the command line, truncated (`sshd: /usr/sb`).
    pub name: String,
    /// Process id, when the tool printed one.
    pub pid: Option<u32>,
    /// File descriptor number (ss only).
    pub fd: Option<u32>,
}

/// Which family of clients a listening address accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressScope {
    /// `0.0.0.0`: every IPv4 address of the host.
    AnyIpv4,
    /// `::` / `[::]` / `:::`: every IPv6 address. `ss` prints a wildcard IPv6 socket
    /// that also takes IPv4 (not `IPV6_V6ONLY`) as `*` instead, so `[::]` from ss is
    /// IPv6 only (sshd sets `IPV6_V6ONLY` on its sockets); netstat's `:::` does not tell
    /// (see [`Listener::v6_only`]).
    AnyIpv6,
    /// `*` (ss): a dual-stack wildcard socket, IPv4 and IPv6.
    Any,
    /// One specific address.
    Specific,
}

/// One TCP listening socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listener {
    /// Local address without brackets or interface suffix: `0.0.0.0`, `::`, `*`, `127.0.0.1`.
    pub address: String,
    /// Local port.
    pub port: u16,
    /// What the address covers.
    pub scope: AddressScope,
    /// For an IPv6 wildcard: `Some(true)` when known to be IPv6-only (ss `[::]`),
    /// `Some(false)` for ss `*`, `None` when the tool cannot tell (netstat `:::`).
    pub v6_only: Option<bool>,
    /// Interface from a `%iface` suffix, if any.
    pub interface: Option<String>,
    /// Processes holding the socket (empty when the tool could not tell, e.g. not root
    /// or busybox netstat without `-p`).
    pub processes: Vec<SocketProcess>,
    /// 1-based line number in the input.
    pub line: usize,
    /// The original line (evidence).
    pub text: String,
}

pub use super::UnparsedLine;

/// All listeners found in one `ss`/`netstat` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listeners {
    /// Which tool's format was parsed.
    pub source: ListenerSource,
    /// Listening sockets in input order.
    pub listeners: Vec<Listener>,
    /// Lines that could not be read (garbage, error messages).
    pub unparsed: Vec<UnparsedLine>,
}

impl Listeners {
    /// Listeners on `port`, whatever their address (IPv4, IPv6, wildcard or specific).
    pub fn owners_of_port(&self, port: u16) -> Vec<&Listener> {
        self.listeners.iter().filter(|l| l.port == port).collect()
    }

    /// Names of the processes owning `port`, deduplicated, in input order.
    pub fn process_names_on_port(&self, port: u16) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for l in self.owners_of_port(port) {
            for p in &l.processes {
                if !names.contains(&p.name.as_str()) {
                    names.push(p.name.as_str());
                }
            }
        }
        names
    }

    /// Listeners on `port` that accept a connection addressed to `dest` (a wildcard of
    /// the right family, or exactly that address). IPv4-mapped IPv6 is treated as IPv4.
    pub fn accepting(&self, port: u16, dest: IpAddr) -> Vec<&Listener> {
        self.owners_of_port(port)
            .into_iter()
            .filter(|l| l.accepts(dest))
            .collect()
    }
}

impl Listener {
    /// Whether a connection to `dest` on this listener's port would reach it.
    /// An IPv6 wildcard of unknown `v6_only` (netstat) is assumed dual-stack (Linux
    /// default `bindv6only=0`); ss's `[::]` is IPv6-only.
    pub fn accepts(&self, dest: IpAddr) -> bool {
        let dest = match dest {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        match self.scope {
            AddressScope::Any => true,
            AddressScope::AnyIpv6 => dest.is_ipv6() || self.v6_only != Some(true),
            AddressScope::AnyIpv4 => dest.is_ipv4(),
            AddressScope::Specific => self.address.parse::<IpAddr>().ok() == Some(dest),
        }
    }
}

/// Parse either format: `netstat` output is recognised by its `Proto`/`Active Internet`
/// header or `tcp`/`tcp6` first column; anything else is read as `ss`.
pub fn parse(text: &str) -> Listeners {
    let looks_netstat = text.lines().any(|l| {
        let t = l.trim_start();
        t.starts_with("Active Internet")
            || t.starts_with("Proto ")
            || t.starts_with("tcp ")
            || t.starts_with("tcp6 ")
    });
    if looks_netstat {
        parse_netstat(text)
    } else {
        parse_ss(text)
    }
}

/// Parse `ss -Htlnp` (a header line `State Recv-Q …`, from `ss -tlnp`, is skipped too).
pub fn parse_ss(text: &str) -> Listeners {
    let mut out = Listeners {
        source: ListenerSource::Ss,
        listeners: Vec::new(),
        unparsed: Vec::new(),
    };
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with("State ") || trimmed.starts_with("Netid ") {
            continue;
        }
        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        // LISTEN Recv-Q Send-Q Local Peer [Process]; `ss -a` output may carry a
        // leading Netid column (`tcp`), which is tolerated.
        let start = if fields.first() == Some(&"tcp") { 1 } else { 0 };
        let parsed = fields
            .get(start + 3)
            .filter(|_| fields.get(start).is_some_and(|s| *s == "LISTEN"))
            .and_then(|local| split_local(local));
        match parsed {
            Some((address, port, interface)) => {
                let processes = trimmed
                    .find("users:(")
                    .map(|at| parse_ss_users(&trimmed[at..]))
                    .unwrap_or_default();
                out.listeners.push(Listener {
                    scope: scope_of(&address),
                    v6_only: match address.as_str() {
                        "::" => Some(true),
                        "*" => Some(false),
                        _ => None,
                    },
                    address,
                    port,
                    interface,
                    processes,
                    line,
                    text: raw.to_string(),
                });
            }
            None => out.unparsed.push(UnparsedLine {
                line,
                text: raw.to_string(),
            }),
        }
    }
    out
}

/// Parse `netstat -tlnp` (net-tools) or busybox `netstat -tln[p]`: columns
/// `Proto Recv-Q Send-Q Local Foreign State [PID/Program name]`.
pub fn parse_netstat(text: &str) -> Listeners {
    let mut out = Listeners {
        source: ListenerSource::Netstat,
        listeners: Vec::new(),
        unparsed: Vec::new(),
    };
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with("Active ") || trimmed.starts_with("Proto ") {
            continue;
        }
        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        let is_tcp = matches!(fields.first(), Some(&"tcp") | Some(&"tcp6"));
        let is_listen = fields.get(5) == Some(&"LISTEN");
        let parsed = fields
            .get(3)
            .filter(|_| is_tcp && is_listen)
            .and_then(|local| split_local(local));
        match parsed {
            Some((address, port, interface)) => {
                let processes = netstat_program(trimmed).into_iter().collect();
                out.listeners.push(Listener {
                    scope: scope_of(&address),
                    v6_only: None,
                    address,
                    port,
                    interface,
                    processes,
                    line,
                    text: raw.to_string(),
                });
            }
            None => out.unparsed.push(UnparsedLine {
                line,
                text: raw.to_string(),
            }),
        }
    }
    out
}

/// The `PID/Program name` column: everything after the 6th whitespace-separated field
/// (the program name may itself contain spaces: `15348/sshd: /usr/sb`). `-` means unknown.
fn netstat_program(line: &str) -> Option<SocketProcess> {
    let mut rest = line;
    for _ in 0..6 {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace)?;
        rest = &rest[end..];
    }
    let col = rest.trim();
    if col.is_empty() || col == "-" {
        return None;
    }
    let (pid, name) = col.split_once('/')?;
    Some(SocketProcess {
        name: name.trim().to_string(),
        pid: pid.parse().ok(),
        fd: None,
    })
}

/// Split `ADDR:PORT` in any of the forms listed in the module doc.
/// Returns (address without brackets, port, interface).
fn split_local(local: &str) -> Option<(String, u16, Option<String>)> {
    let (host, port) = local.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let (host, mut interface) = match host.split_once('%') {
        Some((h, iface)) => (h, Some(iface.trim_end_matches(']').to_string())),
        None => (host, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return None;
    }
    if interface.as_deref() == Some("") {
        interface = None;
    }
    let valid = host == "*" || host.parse::<IpAddr>().is_ok();
    valid.then(|| (host.to_string(), port, interface))
}

fn scope_of(address: &str) -> AddressScope {
    match address {
        "*" => AddressScope::Any,
        "0.0.0.0" => AddressScope::AnyIpv4,
        "::" => AddressScope::AnyIpv6,
        _ => AddressScope::Specific,
    }
}

/// Parse `users:(("sshd",pid=123,fd=3),("sshd",pid=456,fd=3))`.
fn parse_ss_users(s: &str) -> Vec<SocketProcess> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("(\"") {
        let after = &rest[start + 2..];
        let Some(name_end) = after.find('"') else {
            break;
        };
        let name = &after[..name_end];
        let tail = &after[name_end + 1..];
        let close = tail.find(')').unwrap_or(tail.len());
        let attrs = &tail[..close];
        let mut pid = None;
        let mut fd = None;
        for kv in attrs.split(',') {
            if let Some(v) = kv.strip_prefix("pid=") {
                pid = v.parse().ok();
            } else if let Some(v) = kv.strip_prefix("fd=") {
                fd = v.parse().ok();
            }
        }
        out.push(SocketProcess {
            name: name.to_string(),
            pid,
            fd,
        });
        rest = &tail[close..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SS_SSHD: &str = include_str!("../../tests/fixtures/facts/ss/ss-Htlnp-sshd.txt");
    const SS_MIXED: &str = include_str!("../../tests/fixtures/facts/ss/ss-Htlnp-mixed.txt");
    const SS_NC22: &str = include_str!("../../tests/fixtures/facts/ss/ss-Htlnp-nc-on-22.txt");
    const NETSTAT_MIXED: &str =
        include_str!("../../tests/fixtures/facts/ss/netstat-tlnp-mixed.txt");
    const NETSTAT_NC22: &str =
        include_str!("../../tests/fixtures/facts/ss/netstat-tlnp-nc-on-22.txt");
    const BUSYBOX_NETSTAT: &str =
        include_str!("../../tests/fixtures/facts/ss/busybox-netstat-tln.txt");
    const SS_SCOPED: &str = include_str!("../../tests/fixtures/facts/ss/ss-Htlnp-scoped.txt");

    #[test]
    fn ss_real_sshd_dual_stack() {
        let l = parse(SS_SSHD);
        assert_eq!(l.source, ListenerSource::Ss);
        assert!(l.unparsed.is_empty());
        let owners = l.owners_of_port(22);
        assert_eq!(owners.len(), 2);
        assert_eq!(owners[0].address, "0.0.0.0");
        assert_eq!(owners[0].scope, AddressScope::AnyIpv4);
        assert_eq!(owners[1].address, "::");
        assert_eq!(owners[1].scope, AddressScope::AnyIpv6);
        assert_eq!(
            owners[0].processes,
            vec![SocketProcess {
                name: "sshd".into(),
                pid: Some(8),
                fd: Some(5)
            }]
        );
        assert_eq!(l.process_names_on_port(22), vec!["sshd"]);
        assert!(l.owners_of_port(2222).is_empty());
    }

    #[test]
    fn ss_real_mixed_star_and_specific() {
        let l = parse_ss(SS_MIXED);
        assert_eq!(l.listeners.len(), 4);
        let p8443 = l.owners_of_port(8443);
        assert_eq!(p8443[0].address, "*");
        assert_eq!(p8443[0].scope, AddressScope::Any);
        assert_eq!(p8443[0].processes[0].name, "nc");
        let p8080 = &l.owners_of_port(8080)[0];
        assert!(p8080.accepts("127.0.0.1".parse().unwrap()));
        assert!(!p8080.accepts("10.0.0.1".parse().unwrap()));
        // sshd's `[::]:22` is IPv6-only (ss would print `*` otherwise): only 0.0.0.0 takes IPv4.
        assert_eq!(l.accepting(22, "10.0.0.1".parse().unwrap()).len(), 1);
        assert_eq!(l.owners_of_port(22)[1].v6_only, Some(true));
        assert_eq!(p8443[0].v6_only, Some(false));
        assert_eq!(l.accepting(8443, "10.0.0.1".parse().unwrap()).len(), 1);
        assert_eq!(l.accepting(22, "fd00::1".parse().unwrap()).len(), 1);
        assert_eq!(l.accepting(8080, "10.0.0.1".parse().unwrap()).len(), 0);
    }

    #[test]
    fn ss_real_other_process_on_22() {
        let l = parse(SS_NC22);
        assert_eq!(l.process_names_on_port(22), vec!["nc"]);
    }

    #[test]
    fn ss_interface_suffixes_and_several_processes() {
        let l = parse_ss(SS_SCOPED);
        assert!(l.unparsed.is_empty(), "{:?}", l.unparsed);
        let dns = &l.owners_of_port(53)[0];
        assert_eq!(dns.address, "127.0.0.53");
        assert_eq!(dns.interface.as_deref(), Some("lo"));
        let v6 = &l.owners_of_port(2222)[0];
        assert_eq!(v6.address, "fe80::1");
        assert_eq!(v6.interface.as_deref(), Some("eth0"));
        let multi = &l.owners_of_port(22)[0];
        assert_eq!(multi.processes.len(), 2);
        assert_eq!(multi.processes[1].pid, Some(24597));
        assert_eq!(multi.processes[0].name, "python3");
    }

    #[test]
    fn ss_real_super_servers_and_haproxy_on_22() {
        let inetd = parse(include_str!(
            "../../tests/fixtures/facts/ss/ss-Htlnp-inetd.txt"
        ));
        assert_eq!(inetd.process_names_on_port(22), vec!["inetd"]);
        assert_eq!(inetd.owners_of_port(22).len(), 2);
        let x = parse(include_str!(
            "../../tests/fixtures/facts/ss/ss-Htlnp-xinetd.txt"
        ));
        assert_eq!(x.owners_of_port(22)[0].scope, AddressScope::Any);
        assert_eq!(x.process_names_on_port(22), vec!["xinetd"]);
        let h = parse(include_str!(
            "../../tests/fixtures/facts/ss/ss-Htlnp-haproxy-inetd.txt"
        ));
        assert_eq!(h.process_names_on_port(22), vec!["haproxy"]);
        assert_eq!(h.process_names_on_port(2222), vec!["inetd"]);
        let both = parse(include_str!(
            "../../tests/fixtures/facts/ss/ss-Htlnp-sshd-inetd.txt"
        ));
        assert_eq!(both.process_names_on_port(22), vec!["sshd", "inetd"]);
    }

    #[test]
    fn netstat_real_net_tools() {
        let l = parse(NETSTAT_MIXED);
        assert_eq!(l.source, ListenerSource::Netstat);
        assert!(l.unparsed.is_empty());
        let o = l.owners_of_port(22);
        assert_eq!(o.len(), 2);
        assert_eq!(o[1].address, "::");
        assert_eq!(o[1].scope, AddressScope::AnyIpv6);
        assert_eq!(o[1].v6_only, None, "netstat cannot tell");
        assert!(o[1].accepts("10.0.0.1".parse().unwrap()));
        assert_eq!(o[0].processes[0].name, "sshd: /usr/sb");
        assert_eq!(o[0].processes[0].pid, Some(15348));
        assert_eq!(parse(NETSTAT_NC22).process_names_on_port(22), vec!["nc"]);
    }

    #[test]
    fn v6only_visible_in_ss_not_in_netstat() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let s = parse(include_str!(
            "../../tests/fixtures/facts/ss/ss-Htln-v6only.txt"
        ));
        assert!(s.owners_of_port(1002)[0].accepts(v4));
        assert!(!s.owners_of_port(1001)[0].accepts(v4));
        assert!(s.owners_of_port(1001)[0].accepts("2001:db8::1".parse().unwrap()));
        let n = parse(include_str!(
            "../../tests/fixtures/facts/ss/netstat-tln-v6only.txt"
        ));
        assert_eq!(n.owners_of_port(1001)[0].v6_only, None);
        assert_eq!(n.owners_of_port(1002)[0].v6_only, None);
    }

    #[test]
    fn netstat_real_busybox_without_pids() {
        let l = parse(BUSYBOX_NETSTAT);
        assert_eq!(l.source, ListenerSource::Netstat);
        assert_eq!(l.owners_of_port(22).len(), 1);
        assert!(l.owners_of_port(22)[0].processes.is_empty());
        assert_eq!(l.owners_of_port(2222)[0].address, "::");
    }

    #[test]
    fn empty_and_garbage() {
        let l = parse("");
        assert!(l.listeners.is_empty() && l.unparsed.is_empty());
        let g = parse("ss: command not found\nLISTEN 0 1 nonsense:xx *:*\n\u{0}\u{1}(\"\nLISTEN 0 1 1.2.3.4:99999 *:*\n");
        assert!(g.listeners.is_empty());
        assert_eq!(g.unparsed.len(), 4);
        assert_eq!(g.unparsed[0].line, 1);
        let users = parse_ss("LISTEN 0 1 0.0.0.0:22 0.0.0.0:* users:((\"sshd\",pid=x");
        assert_eq!(users.listeners[0].processes[0].pid, None);
    }
}
