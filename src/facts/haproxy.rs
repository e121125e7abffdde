//! haproxy.cfg: sections, binds and modes, and which frontend/listen serves a given port.
//!
//! The parser keeps the file line (1-based) of every section header and directive it
//! records, so a finding can say `haproxy.cfg:20: bind 0.0.0.0:22` and
//! `haproxy.cfg:9: mode http`. Only what SSH reachability needs is interpreted:
//! `bind`, `mode`, `option tcplog|httplog`, `default_backend`, `use_backend`, `server`
//! and `server-template`; other directives are skipped.
//!
//! Mode inheritance follows haproxy 2.6 (Debian 12): a proxy section takes its
//! defaults from the `defaults` section named by `from NAME` if given, otherwise from
//! the last `defaults` section (named or not) above it; a defaults section may itself
//! say `from NAME`. When nothing sets a mode, haproxy's built-in default is `tcp`.
//! (haproxy 2.6 also refuses a config where a named defaults section is both
//! referenced with `from` and used implicitly by a later section; `haproxy -c` catches
//! that, this parser does not.)

use serde::Serialize;

/// Kind of a configuration section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SectionKind {
    /// `global`.
    Global,
    /// `defaults [NAME] [from NAME]`.
    Defaults,
    /// `frontend NAME`.
    Frontend,
    /// `backend NAME`.
    Backend,
    /// `listen NAME` (frontend and backend in one).
    Listen,
    /// Any other section (`peers`, `resolvers`, `userlist`, `program`, `ring`, …).
    Other,
}

/// A proxy mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// `mode tcp`: bytes are relayed; right for SSH.
    Tcp,
    /// `mode http`: haproxy parses HTTP; an SSH client gets `HTTP/1.1 400` back.
    Http,
    /// Anything else (`health`, `log`, a typo): kept as written.
    Other(String),
}

impl Mode {
    fn parse(s: &str) -> Mode {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Mode::Tcp,
            "http" => Mode::Http,
            _ => Mode::Other(s.to_string()),
        }
    }
}

/// One address:port-range from a `bind` line (a `bind` may list several, comma-separated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bind {
    /// Address as written without brackets or `ipv4@`-style prefix; empty or `*` means
    /// every address; `::` (from `:::22`) every IPv6 (and IPv4 with `v4v6`).
    pub address: String,
    /// First port of the range (`None` for UNIX sockets, `fd@`, or `${VAR}` ports).
    pub port_start: Option<u16>,
    /// Last port of the range (equal to `port_start` for a single port).
    pub port_end: Option<u16>,
    /// 1-based line of the `bind` directive.
    pub line: usize,
    /// The directive line as written (trimmed).
    pub text: String,
}

impl Bind {
    /// Whether this bind listens on `port`.
    pub fn covers(&self, port: u16) -> bool {
        match (self.port_start, self.port_end) {
            (Some(a), Some(b)) => a <= port && port <= b,
            _ => false,
        }
    }
}

/// Port of a `server` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum ServerPort {
    /// `addr:22`.
    Fixed(u16),
    /// No port: the port the client connected to is used.
    SameAsClient,
    /// `addr:+N` / `addr:-N`: the client's port plus an offset.
    Offset(i32),
    /// Could not be read (`${VAR}` etc.).
    Unknown,
}

/// A `server` (or `server-template`) line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Server {
    /// Server name (template prefix for `server-template`).
    pub name: String,
    /// Address or host name as written, brackets removed.
    pub address: String,
    /// Port.
    pub port: ServerPort,
    /// 1-based line.
    pub line: usize,
    /// The directive as written (trimmed).
    pub text: String,
}

/// A value with the line that set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// 1-based line.
    pub line: usize,
}

/// One section of haproxy.cfg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    /// Section kind.
    pub kind: SectionKind,
    /// The section keyword as written (`frontend`, `peers`, …).
    pub keyword: String,
    /// Name (absent for `global` and anonymous `defaults`).
    pub name: Option<String>,
    /// `from NAME` on the header.
    pub from: Option<String>,
    /// 1-based line of the header.
    pub line: usize,
    /// Binds (frontend/listen).
    pub binds: Vec<Bind>,
    /// `mode` set in this section (the last one wins, as in haproxy).
    pub mode: Option<Located<Mode>>,
    /// `option tcplog` / `option httplog` set in this section (last wins).
    pub log_option: Option<Located<String>>,
    /// `default_backend NAME`.
    pub default_backend: Option<Located<String>>,
    /// `use_backend NAME [if|unless …]`, in order.
    pub use_backends: Vec<Located<String>>,
    /// `server` / `server-template` lines.
    pub servers: Vec<Server>,
}

/// Where an effective mode comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "from")]
pub enum ModeSource {
    /// The section's own `mode` line.
    Section {
        /// Line of `mode`.
        line: usize,
    },
    /// A `defaults` section's `mode` line.
    Defaults {
        /// Name of the defaults section, if it has one.
        name: Option<String>,
        /// Line of `mode`.
        line: usize,
    },
    /// Nothing sets it: haproxy's built-in `mode tcp`.
    Builtin,
}

/// The mode a proxy section really runs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveMode {
    /// The mode.
    pub mode: Mode,
    /// Where it comes from.
    pub source: ModeSource,
}

/// A frontend/listen section that serves a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortService {
    /// Index into [`HaproxyConfig::sections`].
    pub section: usize,
    /// Section name.
    pub name: Option<String>,
    /// Frontend or listen.
    pub kind: SectionKind,
    /// Header line of the section.
    pub section_line: usize,
    /// The matching bind.
    pub bind: Bind,
    /// The effective mode and where it is set.
    pub mode: EffectiveMode,
}

/// A backend/listen section with a server on the queried port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forwarding {
    /// Index into [`HaproxyConfig::sections`].
    pub section: usize,
    /// Section name.
    pub name: Option<String>,
    /// Backend or listen.
    pub kind: SectionKind,
    /// Header line.
    pub section_line: usize,
    /// The servers on that port.
    pub servers: Vec<Server>,
    /// Frontends that route to this backend (`default_backend`/`use_backend`), by name.
    pub used_by: Vec<String>,
    /// The section's effective mode.
    pub mode: EffectiveMode,
}

/// A parsed haproxy.cfg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HaproxyConfig {
    /// Sections in file order.
    pub sections: Vec<Section>,
    /// Directives found before any section header (haproxy rejects them), by line.
    pub stray_lines: Vec<usize>,
}

fn section_kind(keyword: &str) -> Option<SectionKind> {
    Some(match keyword {
        "global" => SectionKind::Global,
        "defaults" => SectionKind::Defaults,
        "frontend" => SectionKind::Frontend,
        "backend" => SectionKind::Backend,
        "listen" => SectionKind::Listen,
        "peers" | "resolvers" | "userlist" | "mailers" | "program" | "http-errors" | "ring"
        | "cache" | "log-forward" | "fcgi-app" | "crt-store" | "traces" | "acme" => {
            SectionKind::Other
        }
        _ => return None,
    })
}

/// Split a line into words: `#` starts a comment outside quotes, `"…"`/`'…'` group,
/// backslash escapes the next character.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    in_word = true;
                }
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"') | (None, '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '#') => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// Parse haproxy.cfg text. Never fails: unknown directives are skipped, malformed
/// `bind`/`server` values are kept with unknown ports.
pub fn parse(text: &str) -> HaproxyConfig {
    let mut cfg = HaproxyConfig {
        sections: Vec::new(),
        stray_lines: Vec::new(),
    };
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let w = words(raw);
        let Some(first) = w.first() else {
            continue;
        };
        if let Some(kind) = section_kind(first) {
            let (mut name, mut from) = (None, None);
            let mut rest = w[1..].iter();
            while let Some(t) = rest.next() {
                if t == "from" {
                    from = rest.next().cloned();
                } else if name.is_none() {
                    name = Some(t.clone());
                }
            }
            cfg.sections.push(Section {
                kind,
                keyword: first.clone(),
                name,
                from,
                line,
                binds: Vec::new(),
                mode: None,
                log_option: None,
                default_backend: None,
                use_backends: Vec::new(),
                servers: Vec::new(),
            });
            continue;
        }
        let Some(section) = cfg.sections.last_mut() else {
            cfg.stray_lines.push(line);
            continue;
        };
        let text = raw.trim().to_string();
        match first.as_str() {
            "bind" => {
                if let Some(spec) = w.get(1) {
                    for part in spec.split(',').filter(|p| !p.is_empty()) {
                        section.binds.push(parse_bind(part, line, &text));
                    }
                }
            }
            "mode" => {
                if let Some(m) = w.get(1) {
                    section.mode = Some(Located {
                        value: Mode::parse(m),
                        line,
                    });
                }
            }
            "option" => {
                if let Some(o) = w.get(1).filter(|o| *o == "tcplog" || *o == "httplog") {
                    section.log_option = Some(Located {
                        value: o.clone(),
                        line,
                    });
                }
            }
            "default_backend" => {
                if let Some(b) = w.get(1) {
                    section.default_backend = Some(Located {
                        value: b.clone(),
                        line,
                    });
                }
            }
            "use_backend" => {
                if let Some(b) = w.get(1) {
                    section.use_backends.push(Located {
                        value: b.clone(),
                        line,
                    });
                }
            }
            "server" => {
                if let (Some(name), Some(addr)) = (w.get(1), w.get(2)) {
                    section.servers.push(parse_server(name, addr, line, &text));
                }
            }
            "server-template" => {
                if let (Some(name), Some(addr)) = (w.get(1), w.get(3)) {
                    section.servers.push(parse_server(name, addr, line, &text));
                }
            }
            _ => {}
        }
    }
    cfg
}

/// Strip `ipv4@`-style prefixes; return (address, rest-is-network).
fn strip_family(s: &str) -> Option<&str> {
    match s.split_once('@') {
        Some((fam, rest)) => match fam {
            "ipv4" | "ipv6" | "tcp" | "tcp4" | "tcp6" => Some(rest),
            _ => None, // unix@, abns@, fd@, sockpair@, udp@, quic4@ …
        },
        None if s.starts_with('/') => None,
        None => Some(s),
    }
}

fn parse_bind(part: &str, line: usize, text: &str) -> Bind {
    let mut bind = Bind {
        address: part.to_string(),
        port_start: None,
        port_end: None,
        line,
        text: text.to_string(),
    };
    let Some(spec) = strip_family(part) else {
        return bind;
    };
    let Some((addr, ports)) = spec.rsplit_once(':') else {
        bind.address = spec.to_string();
        return bind;
    };
    bind.address = addr
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let (a, b) = ports.split_once('-').unwrap_or((ports, ports));
    if let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>()) {
        if a <= b {
            bind.port_start = Some(a);
            bind.port_end = Some(b);
        }
    }
    bind
}

fn parse_server(name: &str, addr: &str, line: usize, text: &str) -> Server {
    let spec = addr.split_once('@').map(|(_, r)| r).unwrap_or(addr);
    // `[v6]:port`, `v6` alone (more than one colon, no brackets), `v4:port`, `host:port`.
    let (address, port) = if let Some(rest) = spec.strip_prefix('[') {
        match rest.split_once(']') {
            Some((a, p)) => (a.to_string(), p.strip_prefix(':').unwrap_or("")),
            None => (rest.to_string(), ""),
        }
    } else if spec.matches(':').count() > 1 {
        // Unbracketed IPv6: haproxy reads the part after the last colon as the port.
        match spec.rsplit_once(':') {
            Some((a, p)) => (a.to_string(), p),
            None => (spec.to_string(), ""),
        }
    } else {
        match spec.split_once(':') {
            Some((a, p)) => (a.to_string(), p),
            None => (spec.to_string(), ""),
        }
    };
    let port = if port.is_empty() {
        ServerPort::SameAsClient
    } else if port.starts_with('+') || port.starts_with('-') {
        port.parse()
            .map(ServerPort::Offset)
            .unwrap_or(ServerPort::Unknown)
    } else {
        port.parse()
            .map(ServerPort::Fixed)
            .unwrap_or(ServerPort::Unknown)
    };
    Server {
        name: name.to_string(),
        address,
        port,
        line,
        text: text.to_string(),
    }
}

impl HaproxyConfig {
    /// The defaults section a section inherits from (index), per the rules in the module doc.
    pub fn defaults_for(&self, index: usize) -> Option<usize> {
        let section = self.sections.get(index)?;
        match &section.from {
            Some(name) => (0..index).rev().find(|&i| {
                self.sections[i].kind == SectionKind::Defaults
                    && self.sections[i].name.as_deref() == Some(name.as_str())
            }),
            None if section.kind == SectionKind::Defaults => None,
            None => (0..index)
                .rev()
                .find(|&i| self.sections[i].kind == SectionKind::Defaults),
        }
    }

    /// The mode section `index` runs in, and the line that sets it.
    pub fn effective_mode(&self, index: usize) -> EffectiveMode {
        let mut current = Some(index);
        let mut hops = 0;
        while let Some(i) = current {
            let Some(s) = self.sections.get(i) else {
                break;
            };
            if let Some(m) = &s.mode {
                let source = if i == index {
                    ModeSource::Section { line: m.line }
                } else {
                    ModeSource::Defaults {
                        name: s.name.clone(),
                        line: m.line,
                    }
                };
                return EffectiveMode {
                    mode: m.value.clone(),
                    source,
                };
            }
            hops += 1;
            if hops > self.sections.len() {
                break; // a `from` loop; haproxy rejects it
            }
            current = self.defaults_for(i);
        }
        EffectiveMode {
            mode: Mode::Tcp,
            source: ModeSource::Builtin,
        }
    }

    /// Frontend/listen sections with a bind covering `port`, each with its effective mode.
    pub fn serving_port(&self, port: u16) -> Vec<PortService> {
        let mut out = Vec::new();
        for (i, s) in self.sections.iter().enumerate() {
            if !matches!(s.kind, SectionKind::Frontend | SectionKind::Listen) {
                continue;
            }
            for b in s.binds.iter().filter(|b| b.covers(port)) {
                out.push(PortService {
                    section: i,
                    name: s.name.clone(),
                    kind: s.kind.clone(),
                    section_line: s.line,
                    bind: b.clone(),
                    mode: self.effective_mode(i),
                });
            }
        }
        out
    }

    /// Backend/listen sections with servers on `port` (a fixed `:port`; for a listen
    /// section that itself binds `port`, also servers without a port, which inherit
    /// the client's destination port).
    pub fn forwarding_to_port(&self, port: u16) -> Vec<Forwarding> {
        let mut out = Vec::new();
        for (i, s) in self.sections.iter().enumerate() {
            if !matches!(s.kind, SectionKind::Backend | SectionKind::Listen) {
                continue;
            }
            let binds_port =
                s.kind == SectionKind::Listen && s.binds.iter().any(|b| b.covers(port));
            let servers: Vec<Server> = s
                .servers
                .iter()
                .filter(|sv| match sv.port {
                    ServerPort::Fixed(p) => p == port,
                    ServerPort::SameAsClient => binds_port,
                    _ => false,
                })
                .cloned()
                .collect();
            if servers.is_empty() {
                continue;
            }
            out.push(Forwarding {
                section: i,
                name: s.name.clone(),
                kind: s.kind.clone(),
                section_line: s.line,
                servers,
                used_by: self.frontends_using(s.name.as_deref().unwrap_or("")),
                mode: self.effective_mode(i),
            });
        }
        out
    }

    /// Names of frontend/listen sections whose `default_backend` or `use_backend` names `backend`.
    pub fn frontends_using(&self, backend: &str) -> Vec<String> {
        self.sections
            .iter()
            .filter(|s| matches!(s.kind, SectionKind::Frontend | SectionKind::Listen))
            .filter(|s| {
                s.default_backend
                    .as_ref()
                    .is_some_and(|d| d.value == backend)
                    || s.use_backends.iter().any(|u| u.value == backend)
            })
            .filter_map(|s| s.name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN: &str = include_str!("../../tests/fixtures/facts/haproxy/debian-default.cfg");
    const HTTP: &str = include_str!("../../tests/fixtures/facts/haproxy/lb-ssh-http.cfg");
    const TCP: &str = include_str!("../../tests/fixtures/facts/haproxy/lb-ssh-tcp.cfg");
    const NODEF: &str = include_str!("../../tests/fixtures/facts/haproxy/no-defaults.cfg");

    #[test]
    fn debian_default_has_http_defaults_and_no_proxies() {
        let c = parse(DEBIAN);
        assert_eq!(c.sections.len(), 2);
        assert_eq!(c.sections[0].kind, SectionKind::Global);
        assert_eq!(c.sections[1].kind, SectionKind::Defaults);
        assert_eq!(
            c.sections[1].mode,
            Some(Located {
                value: Mode::Http,
                line: 22
            })
        );
        assert!(c.serving_port(22).is_empty());
        assert!(c.forwarding_to_port(22).is_empty());
    }

    #[test]
    fn ssh_frontend_inherits_http_from_defaults() {
        let c = parse(HTTP);
        let s = c.serving_port(22);
        assert_eq!(s.len(), 2, "0.0.0.0:22 and :::22");
        assert_eq!(s[0].name.as_deref(), Some("ssh_in"));
        assert_eq!(s[0].section_line, 19);
        assert_eq!(s[0].bind.line, 20);
        assert_eq!(s[0].bind.address, "0.0.0.0");
        assert_eq!(s[1].bind.address, "::");
        assert_eq!(
            s[0].mode,
            EffectiveMode {
                mode: Mode::Http,
                source: ModeSource::Defaults {
                    name: None,
                    line: 9
                }
            }
        );
        let f = c.forwarding_to_port(22);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].name.as_deref(), Some("ssh_servers"));
        assert_eq!(f[0].used_by, vec!["ssh_in"]);
        assert_eq!(f[0].servers.len(), 2);
        assert_eq!(f[0].servers[1].address, "fd00::22");
        assert_eq!(f[0].servers[1].line, 30);
        assert!(c.serving_port(81).is_empty());
        assert_eq!(c.serving_port(80)[0].name.as_deref(), Some("web"));
    }

    #[test]
    fn named_defaults_from_and_port_ranges() {
        let c = parse(TCP);
        let p = c.serving_port(2222);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].kind, SectionKind::Listen);
        assert_eq!(
            p[0].mode.source,
            ModeSource::Defaults {
                name: Some("tcp_defaults".into()),
                line: 16
            }
        );
        assert_eq!(p[0].mode.mode, Mode::Tcp);
        let api = c.serving_port(8005);
        assert_eq!(api[0].name.as_deref(), Some("api"));
        assert_eq!(api[0].mode.mode, Mode::Http);
        assert!(c.serving_port(8011).is_empty());
        let explicit = &c.serving_port(2200)[0];
        assert_eq!(explicit.mode.source, ModeSource::Section { line: 36 });
        assert_eq!(explicit.mode.mode, Mode::Tcp);
        let f = c.forwarding_to_port(22);
        let names: Vec<_> = f.iter().filter_map(|x| x.name.clone()).collect();
        assert_eq!(names, vec!["ssh_pool", "ssh_hidden"]);
        assert_eq!(f[1].used_by, vec!["explicit_tcp"]);
        // A section without `from` takes the last defaults above it (checked with
        // haproxy 2.6: `haproxy -c` then calls `late` an http frontend).
        let mut text = TCP.to_string();
        text.push_str("\ndefaults\n\tmode http\n\nfrontend late\n\tbind :2300\n");
        let c2 = parse(&text);
        let late = &c2.serving_port(2300)[0];
        assert_eq!(late.mode.mode, Mode::Http);
        assert_eq!(
            late.mode.source,
            ModeSource::Defaults {
                name: None,
                line: 47
            }
        );
    }

    #[test]
    fn no_defaults_means_builtin_tcp() {
        let c = parse(NODEF);
        let s = &c.serving_port(22)[0];
        assert_eq!(s.bind.address, "");
        assert_eq!(
            s.mode,
            EffectiveMode {
                mode: Mode::Tcp,
                source: ModeSource::Builtin
            }
        );
    }

    #[test]
    fn bind_and_server_forms() {
        let c = parse(
            "listen x\n bind ipv6@:::22,unix@/run/x.sock,/run/y.sock v4v6 # c\n bind \"*:22\"\n server a 10.0.0.1\n server b [2001:db8::1]:22\n server c 2001:db8::2:22\n server d 10.0.0.4:+1\n server e 10.0.0.5:${P}\n server-template s 3 ssh.example.org:22 check\n",
        );
        let s = &c.sections[0];
        assert_eq!(s.binds.len(), 4);
        assert_eq!(s.binds[0].address, "::");
        assert!(s.binds[0].covers(22));
        assert_eq!(s.binds[1].port_start, None);
        assert_eq!(s.binds[2].port_start, None);
        assert_eq!(s.binds[3].address, "*");
        let ports: Vec<_> = s.servers.iter().map(|x| x.port.clone()).collect();
        assert_eq!(
            ports,
            vec![
                ServerPort::SameAsClient,
                ServerPort::Fixed(22),
                ServerPort::Fixed(22),
                ServerPort::Offset(1),
                ServerPort::Unknown,
                ServerPort::Fixed(22)
            ]
        );
        assert_eq!(s.servers[2].address, "2001:db8::2");
        assert_eq!(s.servers[5].address, "ssh.example.org");
        // the port-less server inherits 22 because the listen binds 22
        assert_eq!(c.forwarding_to_port(22)[0].servers.len(), 4);
    }

    #[test]
    fn empty_and_garbage() {
        let c = parse("");
        assert!(c.sections.is_empty());
        let g = parse("bind :22\nmode http\n\u{0}\"unterminated\nfrontend\n bind\n bind :99999\n bind :30-20\n mode\n server x\nbackend loop from loop\n");
        assert_eq!(g.stray_lines, vec![1, 2, 3]);
        assert!(g.serving_port(22).is_empty());
        assert!(g.serving_port(30).is_empty());
        assert_eq!(g.effective_mode(1).source, ModeSource::Builtin);
        assert_eq!(g.effective_mode(99).source, ModeSource::Builtin);
    }
}
