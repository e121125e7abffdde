//! inetd.conf and xinetd configuration: whether ssh is served by a super-server.
//!
//! Each parser reads one file (`path` is kept for evidence). The result of interest is
//! [`SuperServerEntry`]: a service line/block, its port, whether it is enabled, and
//! whether it starts sshd (`serves_sshd`).
//!
//! - inetd.conf (openbsd-inetd, the Debian default; same columns in inetutils and
//!   busybox inetd): `SERVICE SOCKTYPE PROTO WAIT[.max] USER[:group] SERVER ARGS…`.
//!   `SERVICE` is a name from /etc/services, a port number, or `ADDR:SERVICE`; a line
//!   `ADDR:` alone sets the address for the lines after it. `update-inetd --disable`
//!   comments a line out as `#<off># …`: such lines are returned with `enabled: false`.
//!   Ordinary `#` comments are not entries. Verified with openbsd-inetd 0.20221205 on
//!   Debian 12: `ssh stream tcp` listens on both `0.0.0.0:22` and `[::]:22`.
//! - xinetd (`/etc/xinetd.conf`, `/etc/xinetd.d/*`): `service NAME { attr = value … }`
//!   blocks, `defaults { … }`, `includedir DIR`, `include FILE`. `disable = yes`
//!   disables a service; `defaults` may list `disabled = NAME…` or `enabled = NAME…`
//!   (then only those run); [`apply_xinetd_defaults`] applies those lists.

use serde::Serialize;

/// Which super-server a configuration belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuperServer {
    /// inetd (`/etc/inetd.conf`).
    Inetd,
    /// xinetd.
    Xinetd,
}

/// One service of a super-server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuperServerEntry {
    /// inetd or xinetd.
    pub daemon: SuperServer,
    /// File the entry is in.
    pub file: String,
    /// 1-based line (inetd: the entry line; xinetd: the `service` line).
    pub line: usize,
    /// Service name or number as written (`ssh`, `2222`).
    pub service: String,
    /// Address restriction (`127.0.0.1:ssh` in inetd, `bind`/`interface` in xinetd).
    pub address: Option<String>,
    /// TCP port: the number, `port =`, or 22 for the service name `ssh`; `None` when a
    /// name cannot be resolved without /etc/services.
    pub port: Option<u16>,
    /// Protocol (`tcp`, `tcp6`, `tcp4`, `udp`…).
    pub protocol: Option<String>,
    /// Server program (`/usr/sbin/sshd`, `/usr/sbin/tcpd`, `internal`).
    pub server: Option<String>,
    /// Arguments (inetd: argv including argv\[0\]; xinetd: `server_args` words).
    pub args: Vec<String>,
    /// False when disabled (`#<off>#`, `disable = yes`, a defaults list).
    pub enabled: bool,
    /// True when the service starts sshd (directly or through tcpd).
    pub serves_sshd: bool,
    /// True when wrapped by tcpd (inetd) — hosts.allow/hosts.deny apply.
    pub via_tcpd: bool,
}

/// Parse result of an xinetd file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XinetdFile {
    /// Service blocks.
    pub services: Vec<SuperServerEntry>,
    /// `includedir DIR` lines: (directory, line).
    pub includedirs: Vec<(String, usize)>,
    /// `include FILE` lines: (file, line).
    pub includes: Vec<(String, usize)>,
    /// Names listed in `defaults { disabled = … }`.
    pub defaults_disabled: Vec<String>,
    /// Names listed in `defaults { enabled = … }` (when present, only these run).
    pub defaults_enabled: Option<Vec<String>>,
}

/// Port for a service name or number. Only `ssh` is resolved by name; others need
/// /etc/services, which the parser does not read.
pub fn service_port(service: &str) -> Option<u16> {
    if let Ok(p) = service.parse() {
        return Some(p);
    }
    match service {
        "ssh" => Some(22),
        _ => None,
    }
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn is_sshd_program(p: &str) -> bool {
    matches!(basename(p), "sshd" | "sshd-session")
}

/// Parse an inetd.conf. Returns every service entry, including `#<off>#` ones.
pub fn parse_inetd_conf(path: &str, text: &str) -> Vec<SuperServerEntry> {
    let mut out = Vec::new();
    let mut default_addr: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let mut line = raw.trim();
        let mut enabled = true;
        if let Some(rest) = line.strip_prefix("#<off>#") {
            line = rest.trim();
            enabled = false;
        } else if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 1 && f[0].ends_with(':') {
            let a = f[0].trim_end_matches(':');
            default_addr = (a != "*").then(|| a.to_string());
            continue;
        }
        if f.len() < 6 {
            continue;
        }
        let (address, service) = match f[0].rsplit_once(':') {
            Some((a, s)) => (Some(a.trim_matches(['[', ']']).to_string()), s),
            None => (default_addr.clone(), f[0]),
        };
        let server = f[5];
        let args: Vec<String> = f[6..].iter().map(|s| s.to_string()).collect();
        let via_tcpd = basename(server) == "tcpd";
        let serves_sshd = is_sshd_program(server)
            || (via_tcpd && args.first().is_some_and(|a| is_sshd_program(a)));
        out.push(SuperServerEntry {
            daemon: SuperServer::Inetd,
            file: path.to_string(),
            line: i + 1,
            service: service.to_string(),
            address: address.filter(|a| a != "*"),
            port: service_port(service),
            protocol: Some(f[2].to_string()),
            server: Some(server.to_string()),
            args,
            enabled,
            serves_sshd,
            via_tcpd,
        });
    }
    out
}

#[derive(Default)]
struct Block {
    kind: String,
    name: String,
    line: usize,
    attrs: Vec<(String, String)>,
}

/// Parse one xinetd file (xinetd.conf or a file in xinetd.d).
pub fn parse_xinetd(path: &str, text: &str) -> XinetdFile {
    let mut file = XinetdFile {
        services: Vec::new(),
        includedirs: Vec::new(),
        includes: Vec::new(),
        defaults_disabled: Vec::new(),
        defaults_enabled: None,
    };
    let mut pending: Option<Block> = None; // header seen, waiting for `{`
    let mut open: Option<Block> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(mut block) = open.take() {
            if line.starts_with('}') {
                finish_block(path, block, &mut file);
                continue;
            }
            if let Some((key, op, value)) = split_attr(line) {
                match op {
                    "+=" | "-=" => block.attrs.push((format!("{key}{op}"), value)),
                    _ => block.attrs.push((key, value)),
                }
            }
            open = Some(block);
            continue;
        }
        if line.starts_with('{') {
            if let Some(b) = pending.take() {
                open = Some(b);
            }
            continue;
        }
        let mut words = line.split_whitespace();
        let kw = words.next().unwrap_or("");
        let arg = words.collect::<Vec<_>>().join(" ");
        match kw {
            "service" | "defaults" => {
                let block = Block {
                    kind: kw.to_string(),
                    name: arg.trim_end_matches('{').trim().to_string(),
                    line: line_no,
                    attrs: Vec::new(),
                };
                if line.ends_with('{') {
                    open = Some(block);
                } else {
                    pending = Some(block);
                }
            }
            "includedir" => file.includedirs.push((arg, line_no)),
            "include" => file.includes.push((arg, line_no)),
            _ => {}
        }
    }
    // An unterminated block is still reported (xinetd itself would refuse the file).
    if let Some(block) = open {
        finish_block(path, block, &mut file);
    }
    file
}

fn split_attr(line: &str) -> Option<(String, &'static str, String)> {
    for op in ["+=", "-=", "="] {
        if let Some((k, v)) = line.split_once(op) {
            let k = k.trim();
            if !k.is_empty() && !k.contains(char::is_whitespace) {
                return Some((k.to_string(), op, v.trim().to_string()));
            }
        }
    }
    None
}

fn finish_block(path: &str, block: Block, file: &mut XinetdFile) {
    let get = |k: &str| {
        block
            .attrs
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    if block.kind == "defaults" {
        if let Some(d) = get("disabled") {
            file.defaults_disabled
                .extend(d.split_whitespace().map(str::to_string));
        }
        if let Some(e) = get("enabled") {
            file.defaults_enabled = Some(e.split_whitespace().map(str::to_string).collect());
        }
        return;
    }
    let server = get("server");
    let args: Vec<String> = get("server_args")
        .map(|a| a.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let port = get("port")
        .and_then(|p| p.parse().ok())
        .or_else(|| service_port(&block.name));
    let disabled = get("disable").is_some_and(|d| d.eq_ignore_ascii_case("yes"));
    let serves_sshd = server.as_deref().is_some_and(is_sshd_program);
    file.services.push(SuperServerEntry {
        daemon: SuperServer::Xinetd,
        file: path.to_string(),
        line: block.line,
        service: block.name,
        address: get("bind").or_else(|| get("interface")),
        port,
        protocol: get("protocol"),
        server,
        args,
        enabled: !disabled,
        serves_sshd,
        via_tcpd: false,
    });
}

/// Apply `defaults { disabled = … / enabled = … }` lists (from any of the files) to
/// the services of all files.
pub fn apply_xinetd_defaults(files: &mut [XinetdFile]) {
    let disabled: Vec<String> = files
        .iter()
        .flat_map(|f| f.defaults_disabled.clone())
        .collect();
    let enabled: Option<Vec<String>> = files
        .iter()
        .filter_map(|f| f.defaults_enabled.clone())
        .reduce(|mut a, b| {
            a.extend(b);
            a
        });
    for f in files.iter_mut() {
        for s in &mut f.services {
            if disabled.contains(&s.service) {
                s.enabled = false;
            }
            if let Some(en) = &enabled {
                if !en.contains(&s.service) {
                    s.enabled = false;
                }
            }
        }
    }
}

/// Entries that start sshd.
pub fn sshd_entries(entries: &[SuperServerEntry]) -> Vec<&SuperServerEntry> {
    entries.iter().filter(|e| e.serves_sshd).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INETD_DEFAULT: &str =
        include_str!("../../tests/fixtures/facts/inetd/openbsd-inetd-default.conf");
    const INETD_SSH: &str = include_str!("../../tests/fixtures/facts/inetd/inetd-ssh.conf");
    const XINETD_CONF: &str = include_str!("../../tests/fixtures/facts/inetd/xinetd.conf");
    const XINETD_DAYTIME: &str = include_str!("../../tests/fixtures/facts/inetd/xinetd.d/daytime");
    const XINETD_SSH: &str = include_str!("../../tests/fixtures/facts/inetd/xinetd.d/ssh");

    #[test]
    fn debian_default_inetd_conf_has_no_entries() {
        assert!(parse_inetd_conf("/etc/inetd.conf", INETD_DEFAULT).is_empty());
    }

    #[test]
    fn inetd_ssh_entries_from_update_inetd() {
        let all = parse_inetd_conf("/etc/inetd.conf", INETD_SSH);
        assert_eq!(all.len(), 4);
        let ssh = sshd_entries(&all);
        assert_eq!(ssh.len(), 3);
        assert_eq!(ssh[0].line, 40);
        assert_eq!(ssh[0].service, "ssh");
        assert_eq!(ssh[0].port, Some(22));
        assert!(ssh[0].via_tcpd && ssh[0].enabled);
        assert_eq!(ssh[0].args, vec!["/usr/sbin/sshd", "-i"]);
        assert_eq!(ssh[1].port, Some(2222));
        assert_eq!(ssh[1].protocol.as_deref(), Some("tcp6"));
        assert!(!ssh[1].via_tcpd);
        assert_eq!(ssh[2].address.as_deref(), Some("127.0.0.1"));
        assert_eq!(ssh[2].port, Some(2022));
        assert!(!ssh[2].enabled, "#<off># line");
        assert!(!all[3].serves_sshd && !all[3].enabled, "telnet");
    }

    #[test]
    fn xinetd_debian_files_and_ssh_service() {
        let conf = parse_xinetd("/etc/xinetd.conf", XINETD_CONF);
        assert!(conf.services.is_empty());
        assert_eq!(conf.includedirs, vec![("/etc/xinetd.d".to_string(), 14)]);
        let day = parse_xinetd("/etc/xinetd.d/daytime", XINETD_DAYTIME);
        assert_eq!(day.services.len(), 2);
        assert!(day.services.iter().all(|s| !s.enabled && !s.serves_sshd));
        let ssh = parse_xinetd("/etc/xinetd.d/ssh", XINETD_SSH);
        let e = sshd_entries(&ssh.services);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].line, 2);
        assert_eq!(e[0].port, Some(22));
        assert!(e[0].enabled);
        assert_eq!(e[0].args, vec!["-i"]);
        assert_eq!(e[1].service, "ssh-alt");
        assert_eq!(e[1].port, Some(2223));
        assert!(!e[1].enabled);
    }

    #[test]
    fn xinetd_defaults_lists_and_brace_styles() {
        let conf = "defaults {\n disabled = ssh\n}\n";
        let svc = "service ssh {\n server = /usr/sbin/sshd\n server_args = -i\n}\nservice other\n{\nserver=/bin/cat\n}\n";
        let mut files = vec![parse_xinetd("a", conf), parse_xinetd("b", svc)];
        assert!(files[1].services[0].enabled);
        apply_xinetd_defaults(&mut files);
        assert!(!files[1].services[0].enabled);
        assert!(files[1].services[1].enabled);
        let mut only = vec![
            parse_xinetd("a", "defaults\n{\nenabled = other\n}\n"),
            parse_xinetd("b", svc),
        ];
        apply_xinetd_defaults(&mut only);
        assert!(!only[1].services[0].enabled);
        assert!(only[1].services[1].enabled);
    }

    #[test]
    fn inetd_host_default_line_and_busybox_style() {
        let t = "10.0.0.1:\nssh stream tcp nowait root /usr/sbin/sshd sshd -i\n*:\n22 stream tcp nowait root /usr/sbin/dropbear dropbear -i\n";
        let e = parse_inetd_conf("f", t);
        assert_eq!(e[0].address.as_deref(), Some("10.0.0.1"));
        assert_eq!(e[1].address, None);
        assert!(!e[1].serves_sshd);
    }

    #[test]
    fn empty_and_garbage() {
        assert!(parse_inetd_conf("f", "").is_empty());
        assert!(parse_inetd_conf("f", "ssh stream\n\u{0}\n#<off>#\n::::\n").is_empty());
        let x = parse_xinetd("f", "");
        assert!(x.services.is_empty());
        let g = parse_xinetd("f", "service\n{\n= = =\nserver = /usr/sbin/sshd\n");
        assert_eq!(g.services.len(), 1, "unterminated block still reported");
        assert!(g.services[0].serves_sshd);
        assert_eq!(g.services[0].port, None);
        assert!(parse_xinetd("f", "}\n{\n}\nfoo = bar\n")
            .services
            .is_empty());
    }
}
