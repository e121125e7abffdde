//! Firewall verdicts common to nftables and iptables: what happens to a new TCP connection from a client to the SSH port, and which rule decides.
//!
//! [`super::nft`] and [`super::iptables`] each evaluate one view of the host's
//! rules for a [`Packet`] (a SYN from the client) and return a [`Verdict`]. A
//! host may have several views active at once (an nftables ruleset and
//! iptables-legacy rules): the packet must pass all of them, so combine the
//! verdicts with [`Verdict::combine`].
//!
//! Honesty rule: a match we cannot evaluate (a set we don't have, a mark, an
//! `xt` match, a rate limit...) is treated as "does not match" on the main path,
//! and is recorded in [`Verdict::uncertain`]; when such a rule could have
//! dropped or rejected the packet, [`Verdict::could_block`] is set, so that an
//! "accept" with `could_block` reads as "may block", never as "accepts".

use serde::Serialize;
use std::net::IpAddr;

/// IP family of a packet or rule set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Family {
    /// IPv4 (`ip` in nftables, `iptables`).
    #[serde(rename = "ipv4")]
    V4,
    /// IPv6 (`ip6` in nftables, `ip6tables`).
    #[serde(rename = "ipv6")]
    V6,
}

impl Family {
    /// The family of an address (an IPv4-mapped IPv6 address counts as IPv6,
    /// as the kernel sees it on an IPv6 socket path).
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// The packet whose fate we decide: the first SYN of a new TCP connection
/// from `src` to port `dport` (connection tracking state `new`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Packet {
    /// Derived from `src`.
    pub family: Family,
    /// The client's address as the server sees it.
    pub src: IpAddr,
    /// The server address the client connects to, when known; rules on the
    /// destination address are uncertain without it.
    pub dst: Option<IpAddr>,
    /// Destination TCP port (the SSH port).
    pub dport: u16,
    /// Input interface name, when known. Unknown means "some interface that
    /// is not `lo`" (the client is outside the host).
    pub iif: Option<String>,
}

impl Packet {
    /// A SYN from `src` to `dport`, destination and interface unknown.
    pub fn new(src: IpAddr, dport: u16) -> Packet {
        Packet {
            family: Family::of(&src),
            src,
            dst: None,
            dport,
            iif: None,
        }
    }

    /// The same packet with a known destination address.
    pub fn with_dst(mut self, dst: IpAddr) -> Packet {
        self.dst = Some(dst);
        self
    }

    /// The same packet with a known input interface.
    pub fn with_iif(mut self, iif: impl Into<String>) -> Packet {
        self.iif = Some(iif.into());
        self
    }
}

/// What finally happens to the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// It reaches the socket (sshd sees the connection).
    Accept,
    /// Silently dropped: the client times out.
    Drop,
    /// Rejected: the client gets a RST or an ICMP error ("connection refused"
    /// or "no route to host"/"administratively prohibited").
    Reject,
}

/// One rule (or a chain policy) that can be quoted as evidence and used as an
/// anchor to insert an accept rule before.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleRef {
    /// `nft`, `iptables` or `ip6tables`.
    pub source: String,
    /// nft table family (`ip`, `ip6`, `inet`, `netdev`) or `ipv4`/`ipv6` for
    /// iptables/ip6tables.
    pub family: String,
    /// Table name (`filter`, `raw`, ...).
    pub table: String,
    /// Chain name.
    pub chain: String,
    /// nft rule handle (`None` for iptables and for a chain policy).
    pub handle: Option<u64>,
    /// 0-based index of the rule in its chain. For a chain policy: the number
    /// of rules in the chain (the policy acts after the last rule).
    pub position: usize,
    /// 1-based line in the text it was parsed from (iptables-save output),
    /// when known.
    pub line: Option<u32>,
    /// The rule as an operator writes it: nft rule text (from `nft -a list
    /// ruleset`, see [`super::nft::attach_text`]), the iptables-save `-A` line,
    /// or `policy drop` for a chain policy.
    pub text: String,
    /// True when this is the chain's policy rather than a rule.
    pub is_policy: bool,
    /// For a rule of an iptables-nft table evaluated from nft (see
    /// [`super::nft::Ruleset::attach_iptables`]): the same rule as
    /// `iptables-save` prints it; `line` is then its line in that output.
    pub iptables_text: Option<String>,
}

impl RuleRef {
    /// Evidence line, e.g.
    /// `nft: table inet filter chain input handle 7: ip saddr 10.77.0.1 tcp dport 22 drop`
    /// or `iptables: table filter chain INPUT rule 4: -A INPUT -s 10.77.0.1/32 ... -j DROP`.
    pub fn evidence(&self) -> String {
        if self.source == "nft" {
            let at = match self.handle {
                Some(h) => format!(" handle {h}"),
                None => String::new(),
            };
            let ipt = match &self.iptables_text {
                Some(t) => format!(" (iptables-save: {t})"),
                None => String::new(),
            };
            format!(
                "nft: table {} {} chain {}{}: {}{}",
                self.family, self.table, self.chain, at, self.text, ipt
            )
        } else if self.is_policy {
            format!(
                "{}: table {} chain {}: {}",
                self.source, self.table, self.chain, self.text
            )
        } else {
            format!(
                "{}: table {} chain {} rule {}: {}",
                self.source,
                self.table,
                self.chain,
                self.position + 1,
                self.text
            )
        }
    }
}

/// The fate of the packet in one view (or several combined).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// What happens, assuming every unevaluable match does not match.
    pub action: Action,
    /// The rule (or chain policy) that dropped or rejected the packet; for an
    /// accept, the first rule that explicitly accepted it (`None` when only
    /// accept policies or no firewall at all let it through).
    pub decided_by: Option<RuleRef>,
    /// Rules on the path whose matches could not be evaluated, each as
    /// "<evidence> (cannot evaluate: <what>; if it matches: <effect>)".
    pub uncertain: Vec<String>,
    /// True when one of the `uncertain` rules could drop or reject the packet
    /// (directly or in a chain it jumps to): an `Accept` then means "may be
    /// blocked".
    pub could_block: bool,
}

impl Verdict {
    /// No firewall (or nothing on the path): accepted, no rule.
    pub fn open() -> Verdict {
        Verdict {
            action: Action::Accept,
            decided_by: None,
            uncertain: Vec::new(),
            could_block: false,
        }
    }

    /// True when the packet is definitely dropped or rejected.
    pub fn blocks(&self) -> bool {
        self.action != Action::Accept
    }

    /// True when the packet is dropped/rejected, or may be.
    pub fn may_block(&self) -> bool {
        self.blocks() || self.could_block
    }

    /// Combine the verdicts of views the packet crosses one after the other
    /// (nft tables and iptables-legacy tables both hook into the kernel):
    /// the first block wins; uncertainties add up.
    pub fn combine(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        let mut out = Verdict::open();
        let mut blocked = false;
        for v in verdicts {
            out.uncertain.extend(v.uncertain);
            out.could_block |= v.could_block;
            if blocked {
                continue;
            }
            if v.action != Action::Accept {
                blocked = true;
                out.action = v.action;
                out.decided_by = v.decided_by;
            } else if out.decided_by.is_none() {
                out.decided_by = v.decided_by;
            }
        }
        out
    }
}

/// Everything one host's firewall consists of, as captured by the facts
/// script, and the one way to evaluate it without counting a rule twice.
///
/// Which view is authoritative:
/// - `nft -j list ruleset` is the kernel's whole nf_tables ruleset: native
///   tables and the tables iptables-nft (Debian's `iptables`, ufw on top of
///   it) created. It is the authority when present. Its `xt` expressions
///   (iptables `-m` matches) are opaque, so the iptables-nft tables are
///   paired with `iptables-save`/`ip6tables-save` (nft backend) rule by rule
///   ([`super::nft::Ruleset::attach_iptables`]) and those are NOT evaluated on
///   their own. (iptables-nft-save is not faithful the other way round: it
///   prints a native `ip saddr { a, b } tcp dport 22 drop` added to its table
///   as `-A INPUT -p tcp -m tcp --dport 22 -j DROP`, without the addresses.)
/// - Without `nft` output, the iptables(-nft)-save outputs are evaluated.
/// - iptables-legacy rules live in x_tables, which nft never shows: they are
///   always evaluated on their own, and the packet must pass both.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HostRules {
    /// `nft -j list ruleset`, with [`super::nft::attach_text`] applied.
    pub nft: Option<super::nft::Ruleset>,
    /// `iptables-nft-save` (or `iptables-save` when it is the nft variant).
    pub iptables_nft: Option<super::iptables::Save>,
    /// `ip6tables-nft-save`.
    pub ip6tables_nft: Option<super::iptables::Save>,
    /// `iptables-legacy-save`.
    pub iptables_legacy: Option<super::iptables::Save>,
    /// `ip6tables-legacy-save`.
    pub ip6tables_legacy: Option<super::iptables::Save>,
}

impl HostRules {
    /// Gather the views and pair the iptables-nft tables of `nft` with the
    /// nft-backend saves.
    pub fn new(
        mut nft: Option<super::nft::Ruleset>,
        iptables_nft: Option<super::iptables::Save>,
        ip6tables_nft: Option<super::iptables::Save>,
        iptables_legacy: Option<super::iptables::Save>,
        ip6tables_legacy: Option<super::iptables::Save>,
    ) -> HostRules {
        if let Some(rs) = nft.as_mut() {
            if let Some(s4) = &iptables_nft {
                rs.attach_iptables(Family::V4, s4);
            }
            if let Some(s6) = &ip6tables_nft {
                rs.attach_iptables(Family::V6, s6);
            }
        }
        HostRules {
            nft,
            iptables_nft,
            ip6tables_nft,
            iptables_legacy,
            ip6tables_legacy,
        }
    }

    /// The fate of `packet` across all views (each rule judged once).
    pub fn evaluate(&self, packet: &Packet) -> Verdict {
        let mut views = Vec::new();
        match &self.nft {
            Some(rs) => views.push(rs.evaluate(packet)),
            None => {
                if let Some(s) = &self.iptables_nft {
                    views.push(s.evaluate(Family::V4, packet));
                }
                if let Some(s) = &self.ip6tables_nft {
                    views.push(s.evaluate(Family::V6, packet));
                }
            }
        }
        if let Some(s) = &self.iptables_legacy {
            views.push(s.evaluate(Family::V4, packet));
        }
        if let Some(s) = &self.ip6tables_legacy {
            views.push(s.evaluate(Family::V6, packet));
        }
        Verdict::combine(views)
    }
}

/// Three-valued result of evaluating a match against the packet.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tri {
    Yes,
    No,
    /// Cannot tell; the string says what could not be evaluated.
    Unknown(String),
}

impl Tri {
    pub(crate) fn from_bool(b: bool) -> Tri {
        if b {
            Tri::Yes
        } else {
            Tri::No
        }
    }

    /// Logical negation (`!=`, `!`).
    pub(crate) fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            u @ Tri::Unknown(_) => u,
        }
    }

    /// Any of: Yes if one is Yes, else Unknown if one is Unknown, else No.
    pub(crate) fn any(items: impl IntoIterator<Item = Tri>) -> Tri {
        let mut unknown = None;
        for t in items {
            match t {
                Tri::Yes => return Tri::Yes,
                Tri::Unknown(s) => {
                    unknown.get_or_insert(s);
                }
                Tri::No => {}
            }
        }
        match unknown {
            Some(s) => Tri::Unknown(s),
            None => Tri::No,
        }
    }
}

/// Interface name match with iptables/nft wildcard (`eth+`, `eth*`); an
/// unknown input interface is "not lo".
pub(crate) fn iif_matches(packet: &Packet, pattern: &str) -> Tri {
    match &packet.iif {
        Some(name) => {
            let p = pattern.trim_matches('"');
            if let Some(prefix) = p.strip_suffix('+').or_else(|| p.strip_suffix('*')) {
                Tri::from_bool(name.starts_with(prefix))
            } else {
                Tri::from_bool(name == p)
            }
        }
        None => {
            let p = pattern.trim_matches('"');
            if p == "lo" {
                Tri::No
            } else {
                Tri::Unknown(format!("input interface {p} (client interface unknown)"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(action_text: &str) -> RuleRef {
        RuleRef {
            source: "nft".into(),
            family: "inet".into(),
            table: "filter".into(),
            chain: "input".into(),
            handle: Some(7),
            position: 1,
            line: None,
            text: action_text.into(),
            is_policy: false,
            iptables_text: None,
        }
    }

    #[test]
    fn packet_family_follows_address() {
        let p = Packet::new("10.77.0.1".parse().unwrap(), 22);
        assert_eq!(p.family, Family::V4);
        let p = Packet::new("2001:db8::1".parse().unwrap(), 22);
        assert_eq!(p.family, Family::V6);
    }

    #[test]
    fn evidence_reads_like_the_brief() {
        assert_eq!(
            rule("ip saddr 10.77.0.1 tcp dport 22 drop").evidence(),
            "nft: table inet filter chain input handle 7: ip saddr 10.77.0.1 tcp dport 22 drop"
        );
    }

    #[test]
    fn combine_first_block_wins_and_uncertainty_adds_up() {
        let acc = Verdict {
            action: Action::Accept,
            decided_by: Some(rule("tcp dport 22 accept")),
            uncertain: vec!["u1".into()],
            could_block: true,
        };
        let drop = Verdict {
            action: Action::Drop,
            decided_by: Some(rule("drop")),
            uncertain: vec![],
            could_block: false,
        };
        let c = Verdict::combine([acc.clone(), drop.clone(), Verdict::open()]);
        assert_eq!(c.action, Action::Drop);
        assert_eq!(c.decided_by.unwrap().text, "drop");
        assert_eq!(c.uncertain, vec!["u1".to_string()]);
        assert!(c.could_block);
        let c = Verdict::combine([Verdict::open(), acc]);
        assert_eq!(c.action, Action::Accept);
        assert!(c.may_block() && !c.blocks());
        assert_eq!(Verdict::combine([]), Verdict::open());
    }

    const DIR_NFT_JSON: &str =
        include_str!("../../tests/fixtures/facts/firewall/iptables-nft.nft.json");
    const DIR_NFT_TXT: &str =
        include_str!("../../tests/fixtures/facts/firewall/iptables-nft.nft.txt");
    const V4: &str = include_str!("../../tests/fixtures/facts/firewall/iptables-nft.rules.v4");
    const V6: &str = include_str!("../../tests/fixtures/facts/firewall/iptables-nft.rules.v6");
    const LEGACY: &str =
        include_str!("../../tests/fixtures/facts/firewall/iptables-legacy.rules.v4");
    const MIXED_JSON: &str =
        include_str!("../../tests/fixtures/facts/firewall/mixed-ip-filter.nft.json");
    const MIXED_TXT: &str =
        include_str!("../../tests/fixtures/facts/firewall/mixed-ip-filter.nft.txt");
    const MIXED_V4: &str =
        include_str!("../../tests/fixtures/facts/firewall/mixed-ip-filter.rules.v4");

    fn nft(json: &str, text: &str) -> super::super::nft::Ruleset {
        let mut rs = super::super::nft::parse(json).unwrap();
        super::super::nft::attach_text(&mut rs, text);
        rs
    }

    fn save(t: &str) -> super::super::iptables::Save {
        super::super::iptables::parse(t).unwrap()
    }

    fn pkt(s: &str) -> Packet {
        Packet::new(s.parse().unwrap(), 22)
    }

    #[test]
    fn host_rules_judge_each_iptables_nft_rule_once() {
        let host = HostRules::new(
            Some(nft(DIR_NFT_JSON, DIR_NFT_TXT)),
            Some(save(V4)),
            Some(save(V6)),
            None,
            None,
        );
        let v = host.evaluate(&pkt("10.77.0.1"));
        assert_eq!(v.action, Action::Drop);
        let r = v.decided_by.unwrap();
        assert_eq!(r.handle, Some(9));
        assert_eq!(r.line, Some(10));
        assert_eq!(
            r.evidence(),
            "nft: table ip filter chain INPUT handle 9: ip saddr 10.77.0.1 tcp dport 22 counter drop \
             (iptables-save: -A INPUT -s 10.77.0.1/32 -p tcp -m tcp --dport 22 -j DROP)"
        );
        // `-m conntrack --ctstate RELATED,ESTABLISHED` is now known not to match;
        // `-m recent` stays uncertain, reported once.
        assert_eq!(v.uncertain.len(), 1, "{:?}", v.uncertain);
        assert!(v.uncertain[0].contains("-m recent"));
        let v = host.evaluate(&pkt("192.0.2.9"));
        assert_eq!(v.action, Action::Accept);
        assert!(v.uncertain.is_empty() && !v.could_block);
        assert_eq!(
            v.decided_by.unwrap().iptables_text.as_deref(),
            Some("-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT")
        );
        // multiport (xt) decided by iptables-save, REJECT (xt target) rejects.
        assert_eq!(host.evaluate(&pkt("10.99.0.1")).action, Action::Reject);
        // IPv6 policy drop from the ip6 filter table.
        let v = host.evaluate(&pkt("2001:db9::1"));
        assert_eq!(
            v.decided_by.unwrap().evidence(),
            "nft: table ip6 filter chain INPUT: policy drop"
        );

        // Without nft output, the saves decide (same answers).
        let only_saves = HostRules::new(None, Some(save(V4)), Some(save(V6)), None, None);
        assert_eq!(
            only_saves
                .evaluate(&pkt("10.77.0.1"))
                .decided_by
                .unwrap()
                .line,
            Some(10)
        );
        assert_eq!(
            only_saves.evaluate(&pkt("10.99.0.1")).action,
            Action::Reject
        );
        // Nothing at all: open.
        assert_eq!(
            HostRules::default().evaluate(&pkt("10.77.0.1")),
            Verdict::open()
        );
    }

    #[test]
    fn legacy_rules_are_added_to_the_nft_view() {
        let empty = include_str!("../../tests/fixtures/facts/firewall/empty.nft.json");
        let host = HostRules::new(Some(nft(empty, "")), None, None, Some(save(LEGACY)), None);
        let v = host.evaluate(&pkt("10.77.0.1"));
        assert_eq!(v.decided_by.unwrap().source, "iptables");
        assert_eq!(host.evaluate(&pkt("10.77.0.9")).action, Action::Reject);
        assert_eq!(host.evaluate(&pkt("2001:db8::1")), Verdict::open());
    }

    #[test]
    fn nft_is_authoritative_when_iptables_save_mistranslates() {
        let s = save(MIXED_V4);
        // The legacy warning goes to stderr; parsed when the script merges it in.
        assert!(!s.legacy_tables_present);
        let warn =
            include_str!("../../tests/fixtures/facts/firewall/mixed-ip-filter.rules.v4.stderr");
        assert!(save(&format!("{warn}{MIXED_V4}")).legacy_tables_present);
        // iptables-save lost `ip saddr { 10.77.0.3, 10.77.0.4 }` and claims
        // everyone is dropped...
        assert_eq!(
            s.evaluate(Family::V4, &pkt("10.77.0.5")).action,
            Action::Drop
        );
        // ...the kernel's ruleset says 10.77.0.5 passes (may be blocked only by mark).
        let host = HostRules::new(Some(nft(MIXED_JSON, MIXED_TXT)), Some(s), None, None, None);
        let v = host.evaluate(&pkt("10.77.0.5"));
        assert_eq!(v.action, Action::Accept);
        assert!(v.could_block);
        let v = host.evaluate(&pkt("10.77.0.4"));
        assert_eq!(
            v.decided_by.unwrap().text,
            "tcp dport 22 ip saddr { 10.77.0.3, 10.77.0.4 } drop"
        );
        let v = host.evaluate(&pkt("10.77.0.2"));
        assert_eq!(v.decided_by.unwrap().line, Some(7));
    }

    #[test]
    fn iif_unknown_is_never_lo() {
        let p = Packet::new("10.0.0.1".parse().unwrap(), 22);
        assert_eq!(iif_matches(&p, "lo"), Tri::No);
        assert!(matches!(iif_matches(&p, "eth0"), Tri::Unknown(_)));
        let p = p.with_iif("eth0");
        assert_eq!(iif_matches(&p, "eth+"), Tri::Yes);
        assert_eq!(iif_matches(&p, "\"lo\""), Tri::No);
    }
}
