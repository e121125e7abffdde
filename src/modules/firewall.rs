//! The `firewall` fix module: lets each allowed client reach the SSH port past the rule (or chain policy) that blocks it, with the narrowest accept rule placed right before that rule, in the running firewall and in its persisted ruleset.
//!
//! Arguments: `{allow: [addresses], port: N}`, both optional (default: the
//! host's clients and SSH port); single addresses only, an IPv4-mapped one
//! taken as the IPv4 address it arrives as. Pure: the proposal is data,
//! nothing runs.
//!
//! What it proposes, per client the firewall blocks (the rules are rebuilt
//! from the facts script's raw output, `nft-json`/`nft-text` and the
//! `iptables*-save` items, exactly as the facts model does, and evaluated
//! with [`HostRules::evaluate`]):
//!
//! - **nftables** (a native table): live, an [`Op::Command`]
//!   `nft 'insert rule FAMILY TABLE CHAIN position HANDLE ip saddr A tcp dport P accept comment "sshfix: allow A port P"'`
//!   (`add rule …` at the end of the chain for a chain policy; `ip6 saddr`
//!   for an IPv6 client in an `inet`/`ip6`/`netdev` table), undone by
//!   deleting the rule that carries that comment. Persisted: the same rule on
//!   the line before the blocking rule in `/etc/nftables.conf` (or
//!   `/etc/sysconfig/nftables.conf`, `/etc/nftables.d/*`, whichever holds it,
//!   in its table and chain), same indentation and line ending; for a policy,
//!   on the line before the chain's closing `}`. Validator [`Validator::Nft`].
//! - **iptables / ip6tables** (legacy, or a table iptables-nft made, which
//!   nft shows with the rule's `iptables-save` form attached): live,
//!   `iptables -t TABLE -I CHAIN POS -s A/32 -p tcp -m tcp --dport P -m comment --comment 'sshfix: allow A port P' -j ACCEPT`
//!   (`-A` for a policy; `ip6tables` and `/128` for IPv6; `iptables-legacy`
//!   when the rule is in the legacy x_tables, `iptables-nft` when the facts
//!   show the nft variant's own save), undone by `-D` with the same rule
//!   spec. Persisted: the `-A` line before the blocking `-A` line of the same
//!   table and chain in `/etc/iptables/rules.v4`/`rules.v6` (or
//!   `/etc/sysconfig/iptables`/`ip6tables`); for a policy, after the chain's
//!   last `-A` line (before the table's `COMMIT` when it has none).
//!   Validator [`Validator::IptablesRestore`].
//! - **ufw** (the blocking rule is in ufw's chains `ufw-*`/`ufw6-*`, or it is
//!   the `INPUT` policy while ufw is enabled): `ufw prepend allow proto tcp
//!   from A to any port P` (top of the user rules of the client's family;
//!   unlike `ufw insert 1` it also works for IPv6), undone by `ufw delete
//!   allow …`. ufw persists its rules itself, so no file is edited. A rule
//!   in ufw's `before` chains runs before the user rules and is refused, and
//!   so is ufw's own `deny proto tcp from A to any port P`: ufw takes an
//!   allow of the same client, port and protocol for the same rule and
//!   silently skips `ufw prepend` (exit 0), so only changing that deny would
//!   help, which this module never does.
//! - **firewalld** (running, and the blocking rule is in its `inet
//!   firewalld` table or its iptables chains): a rich rule
//!   `rule priority="-32768" family="ipv4" source address="A" port port="P" protocol="tcp" accept`
//!   in the zone the rule belongs to, live and `--permanent` (two actions,
//!   each undone by `--remove-rich-rule`). A negative priority puts it in the
//!   zone's `_pre` chain, before the zone's deny rules; a plain accept rich
//!   rule would land in `_allow`, after them, and change nothing.
//!
//! Every insert before a rule is guarded against a ruleset that changed
//! since the plan: `if CHECK; then INSERT; else echo 'sshfix: …' >&2; exit
//! 1; fi`, where CHECK is that handle still listing the same rule text (`nft
//! -a list chain`; handles restart when a ruleset is reloaded) or position N
//! still holding the same `-A` line (`iptables -S CHAIN`). Appends for a
//! policy need no guard.
//!
//! One accept rule per client (never a set, never a network): each rule can
//! be undone on its own and reads as "this client, this port". After each
//! proposed rule the module inserts it into its copy of the rules and
//! evaluates again, so a client blocked twice (an nft drop and a legacy
//! iptables policy) gets both fixes, positions of later iptables inserts
//! account for the earlier ones, and a rule that would not take effect is a
//! [`FixError`] rather than a false fix. Clients the firewall lets through get
//! nothing: all clients fine is an empty proposal, and so is a rerun on facts
//! gathered after the fix. A persisted file that already has the exact
//! sshfix line in that chain is not edited again.
//!
//! Refused, with the evidence and "a human must look": a verdict that only
//! *may* block (a rule sshfix cannot evaluate) without a definite blocking
//! rule; a fail2ban/sshguard ban (the `fail2ban-ban` finding); table or chain
//! names that cannot be written safely on a command line; a table
//! iptables-nft manages whose rules could not be paired with `iptables-save`;
//! a persisted file sshfix cannot parse or whose chain block it cannot find
//! the end of. When the blocking rule is not in any persisted file (added
//! live only), only the live change is proposed and the reason says so.
//!
//! Never widened: no accept for all, no edit or removal of the blocking rule,
//! no flush.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;
use serde_json::{json, Value};

use super::{FixError, Host, Proposal};
use crate::change::{Action, Edit, Op, Validator};
use crate::facts::firewall::{Family, HostRules, Packet, RuleRef, Verdict};
use crate::facts::frame::Item;
use crate::facts::{iptables, nft};

const MODULE: &str = "firewall";

/// Rules one client may need before it gets through (each view and hook
/// can block once); more means something sshfix does not model.
const MAX_STEPS: usize = 8;

/// The rich-rule priority that puts an accept first in a zone's `_pre` chain.
const FIREWALLD_PRIORITY: i32 = -32768;

const NFT_FILES: [&str; 2] = ["/etc/nftables.conf", "/etc/sysconfig/nftables.conf"];
const IPT4_FILES: [&str; 2] = ["/etc/iptables/rules.v4", "/etc/sysconfig/iptables"];
const IPT6_FILES: [&str; 2] = ["/etc/iptables/rules.v6", "/etc/sysconfig/ip6tables"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskArgs {
    #[serde(default)]
    allow: Option<Vec<String>>,
    #[serde(default)]
    port: Option<u16>,
}

/// Runs a `firewall` fix task.
pub fn task(host: &Host, args: &Value, finding: &str) -> Result<Proposal, FixError> {
    let a: TaskArgs = super::args(MODULE, args)?;
    let clients: Vec<IpAddr> = match a.allow {
        None => host.clients.to_vec(),
        Some(list) => list
            .iter()
            .map(|s| {
                s.trim().parse::<IpAddr>().map_err(|_| {
                    FixError::new(format!(
                        "`firewall`: `{s}` in `allow` is not an IP address (the module opens the port to single addresses only, never to names or networks)"
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    // an IPv4-mapped address (`::ffff:10.0.0.1`) reaches the firewall as an
    // IPv4 packet
    let clients: Vec<IpAddr> = clients
        .into_iter()
        .map(|c| match c {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(c, IpAddr::V4),
            v4 => v4,
        })
        .collect();
    let port = a.port.unwrap_or(host.port);
    if port == 0 {
        return Err(FixError::new("`firewall`: `port` 0 is not a TCP port"));
    }
    let mut p = Planner::new(host, port, finding);
    for addr in clients {
        p.client(addr)?;
    }
    Ok(p.finish())
}

/// The comment every rule sshfix adds carries (unique per client and port,
/// so the undo finds exactly that rule).
pub fn comment(addr: IpAddr, port: u16) -> String {
    format!("sshfix: allow {addr} port {port}")
}

/// Which set of rules a blocking rule lives in, for the simulation.
#[derive(Debug, Clone, Copy, PartialEq)]
enum View {
    /// The nft ruleset (native tables and iptables-nft ones).
    Nft,
    /// The nft-backend save, evaluated on its own when nft printed nothing.
    NftSave(Family),
    /// iptables-legacy / ip6tables-legacy.
    Legacy(Family),
}

struct Planner<'a> {
    host: &'a Host<'a>,
    port: u16,
    finding: &'a str,
    rules: HostRules,
    /// The rules as captured, without the proposal's simulated inserts.
    pristine: HostRules,
    /// Current content of the files edited so far (path → text).
    files: BTreeMap<String, Vec<u8>>,
    /// Edited paths in order, with their validator and reasons.
    edited: Vec<(String, Validator, Vec<String>)>,
    actions: Vec<Action>,
    /// Handles given to simulated nft rules (never seen by the host).
    next_handle: u64,
}

fn refuse(msg: String) -> FixError {
    FixError::new(format!("`firewall`: {msg}; a human must look"))
}

/// Same rule, wherever later inserts moved it.
fn same_rule(a: &RuleRef, b: &RuleRef) -> bool {
    a.source == b.source
        && a.family == b.family
        && a.table == b.table
        && a.chain == b.chain
        && a.handle == b.handle
        && a.text == b.text
        && a.is_policy == b.is_policy
}

/// A rule of fail2ban or sshguard (as the facts model recognises them).
fn is_ban_rule(r: &RuleRef) -> bool {
    [&r.table, &r.chain].iter().any(|n| {
        let n = n.to_ascii_lowercase();
        n.starts_with("f2b") || n.contains("fail2ban") || n.contains("sshguard")
    })
}

/// A table or chain name that needs no quoting in nft, iptables and sh.
fn safe_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && !n.starts_with('-')
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn family_of(addr: IpAddr) -> Family {
    Family::of(&addr)
}

fn is_v6(addr: IpAddr) -> bool {
    family_of(addr) == Family::V6
}

/// Where the blocking rule is, for a reason sentence.
fn quote(r: &RuleRef) -> String {
    format!("`{}`", r.evidence())
}

impl<'a> Planner<'a> {
    fn new(host: &'a Host<'a>, port: u16, finding: &'a str) -> Planner<'a> {
        let (rules, _) = crate::facts::model::host_rules(host.frames);
        Planner {
            host,
            port,
            finding,
            pristine: rules.clone(),
            rules,
            files: BTreeMap::new(),
            edited: Vec::new(),
            actions: Vec::new(),
            next_handle: u64::MAX / 2,
        }
    }

    fn finish(self) -> Proposal {
        let mut edits = Vec::new();
        for (path, validator, reasons) in self.edited {
            let after = self.files.get(&path).cloned().unwrap_or_default();
            let before = self.host.files.get(&path).map(Vec::as_slice);
            if before == Some(&after[..]) {
                continue;
            }
            edits.push(Edit::new(
                path,
                before,
                after,
                validator,
                self.finding,
                reasons.join("\n"),
            ));
        }
        Proposal {
            edits,
            actions: self.actions,
        }
    }

    /// The file as it is now in this proposal (earlier edits applied).
    fn file(&self, path: &str) -> Option<&Vec<u8>> {
        self.files.get(path).or_else(|| self.host.files.get(path))
    }

    fn set_file(&mut self, path: &str, text: String, validator: Validator, reason: String) {
        self.files.insert(path.to_string(), text.into_bytes());
        match self.edited.iter_mut().find(|(p, _, _)| p == path) {
            Some((_, _, reasons)) => reasons.push(reason),
            None => self
                .edited
                .push((path.to_string(), validator, vec![reason])),
        }
    }

    fn action(&mut self, command: String, undo: String, reason: String) {
        self.actions.push(Action::new(
            Op::Command {
                command,
                creates: None,
                undo: Some(undo),
            },
            self.finding,
            reason,
        ));
    }

    fn frame_text(&self, key: &str) -> Option<String> {
        self.host.frames.get(key).filter(|i| i.ok()).map(Item::text)
    }

    fn firewalld_running(&self) -> bool {
        self.frame_text("firewalld-state")
            .is_some_and(|t| t.trim() == "running")
    }

    fn ufw_enabled(&self) -> bool {
        let text = self
            .host
            .files
            .get("/etc/ufw/ufw.conf")
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .or_else(|| self.host.frames.file("/etc/ufw/ufw.conf").map(Item::text));
        text.is_some_and(|t| {
            t.lines().any(|l| {
                let l = l.trim();
                l.strip_prefix("ENABLED=")
                    .is_some_and(|v| v.trim().trim_matches('"').eq_ignore_ascii_case("yes"))
            })
        })
    }

    /// Propose what `addr` needs to get through.
    fn client(&mut self, addr: IpAddr) -> Result<(), FixError> {
        let packet = Packet::new(addr, self.port);
        // as the facts saw it (the working copy has this proposal's rules)
        let first = self.pristine.evaluate(&packet);
        if self.port == self.host.port {
            if let Some(c) = self.host.facts.clients.iter().find(|c| c.addr == addr) {
                if c.firewall.action != first.action || c.firewall.decided_by != first.decided_by {
                    return Err(refuse(format!(
                        "the facts say {addr} is {} by {}, but the raw rules the facts script captured say {} by {} (re-gather the facts)",
                        done_by(c.firewall.action),
                        c.firewall.decided_by.as_ref().map_or("no rule".into(), RuleRef::evidence),
                        done_by(first.action),
                        first.decided_by.as_ref().map_or("no rule".into(), RuleRef::evidence),
                    )));
                }
            }
        }
        if !first.blocks() {
            if first.could_block {
                return Err(refuse(format!(
                    "the firewall may block {addr} on port {}, but no rule definitely does: {}",
                    self.port,
                    first.uncertain.join("; ")
                )));
            }
            return Ok(());
        }
        let note = uncertain_note(&first);
        let mut done: Vec<RuleRef> = Vec::new();
        for _ in 0..MAX_STEPS {
            let v = self.rules.evaluate(&packet);
            if !v.blocks() {
                return Ok(());
            }
            let Some(r) = v.decided_by.clone() else {
                return Err(refuse(format!(
                    "the firewall blocks {addr} on port {} but sshfix cannot tell which rule does",
                    self.port
                )));
            };
            if is_ban_rule(&r) {
                return Err(refuse(format!(
                    "{} blocks {addr}: that is a fail2ban/sshguard ban (finding `fail2ban-ban`), not firewall policy — unban the client there",
                    quote(&r)
                )));
            }
            if done.iter().any(|d| same_rule(d, &r)) {
                return Err(refuse(format!(
                    "an accept rule for {addr} right before {} would not let it through (sshfix's evaluation still ends at that rule)",
                    quote(&r)
                )));
            }
            let note = if done.is_empty() { note.as_str() } else { "" };
            self.fix(addr, &r, note)?;
            done.push(r);
        }
        Err(refuse(format!(
            "{addr} is still blocked after {MAX_STEPS} accept rules"
        )))
    }

    fn fix(&mut self, addr: IpAddr, r: &RuleRef, note: &str) -> Result<(), FixError> {
        if !safe_name(&r.table) || !safe_name(&r.chain) {
            return Err(refuse(format!(
                "{} blocks {addr}, but its table or chain name cannot be written safely on a command line",
                quote(r)
            )));
        }
        let firewalld = self.firewalld_running();
        let managed = self.rules.nft.as_ref().is_some_and(|rs| {
            rs.iptables_nft_tables()
                .contains(&(r.family.clone(), r.table.clone()))
        });
        // the policy of an iptables-nft chain is iptables' to set and save,
        // so it is handled like the iptables rules below
        if r.source == "nft" && r.iptables_text.is_none() && !(managed && r.is_policy) {
            if firewalld && r.table == "firewalld" {
                return self.firewalld(addr, r, note);
            }
            if managed {
                return Err(refuse(format!(
                    "{} blocks {addr}; table {} {} belongs to iptables-nft but its rules could not be paired with `iptables-save`, so sshfix cannot tell how to insert before it",
                    quote(r),
                    r.family,
                    r.table
                )));
            }
            return self.nft(addr, r, note);
        }
        let chain = r.chain.as_str();
        if chain.starts_with("ufw-") || chain.starts_with("ufw6-") {
            return self.ufw(addr, r, note);
        }
        if self.ufw_enabled() && r.is_policy && r.table == "filter" && chain == "INPUT" {
            return self.ufw(addr, r, note);
        }
        if firewalld && firewalld_zone_of_chain(chain).is_some() {
            return self.firewalld(addr, r, note);
        }
        self.iptables(addr, r, note)
    }

    // ---- nftables

    fn nft(&mut self, addr: IpAddr, r: &RuleRef, note: &str) -> Result<(), FixError> {
        let kw = match (r.family.as_str(), family_of(addr)) {
            ("ip", Family::V4) => "ip saddr",
            ("ip6", Family::V6) => "ip6 saddr",
            ("inet" | "netdev", Family::V4) => "ip saddr",
            ("inet" | "netdev", Family::V6) => "ip6 saddr",
            _ => {
                return Err(refuse(format!(
                "{} blocks {addr}, but sshfix does not write rules for an nft table of family {}",
                quote(r),
                r.family
            )))
            }
        };
        let port = self.port;
        let c = comment(addr, port);
        let body = format!("{kw} {addr} tcp dport {port} accept comment \"{c}\"");
        let at = format!("{} {} {}", r.family, r.table, r.chain);
        let (command, placed) = match (r.is_policy, r.handle) {
            (true, _) => (
                format!("nft {}", sh_quote(&format!("add rule {at} {body}"))?),
                format!("at the end of chain {}", r.chain),
            ),
            (false, Some(h)) => {
                // insert only while handle h is still the rule the plan saw
                // (handles restart when the ruleset is reloaded)
                let listed = sh_quote(&format!("{} # handle {h}", r.text))?;
                (
                    guarded(
                        &format!("nft -a list chain {at} | {}", listing_has(&listed)),
                        &format!(
                            "nft {}",
                            sh_quote(&format!("insert rule {at} position {h} {body}"))?
                        ),
                        &format!("chain {at} no longer has rule handle {h} as planned; re-run sshfix plan"),
                    )?,
                    format!("right before it (handle {h})"),
                )
            }
            (false, None) => {
                return Err(refuse(format!(
                    "{} blocks {addr}, but the nft output gives no handle to insert before",
                    quote(r)
                )))
            }
        };
        let pattern = c.replace('.', "\\.");
        let script = sh_quote(&format!(
            "s/.* comment \"{pattern}\" # handle \\([0-9][0-9]*\\)$/\\1/p"
        ))?;
        let undo = format!(
            "h=$(nft -a list chain {at} | sed -n {script} | head -n 1) && [ -n \"$h\" ] && nft delete rule {at} handle \"$h\""
        );
        let rule_text = format!("{kw} {addr} tcp dport {port} accept comment \"{c}\"");
        let persisted = self.nft_persist(addr, r, &rule_text)?;
        let reason = format!(
            "{} blocks {addr} from port {port}; accept tcp port {port} from {addr} only, {placed}, in the running ruleset{}{note}",
            quote(r),
            persisted
        );
        self.action(command, undo, reason);
        // simulate
        let expr = accept_expr(kw.split(' ').next().unwrap_or("ip"), addr, port);
        let pos = (!r.is_policy).then_some(r.position);
        self.sim_nft(&r.family, &r.table, &r.chain, pos, expr, rule_text, None)
    }

    /// Insert the accept rule into the persisted nft file that holds the
    /// blocking rule (or the chain, for a policy). Returns the reason's tail.
    fn nft_persist(
        &mut self,
        addr: IpAddr,
        r: &RuleRef,
        rule_text: &str,
    ) -> Result<String, FixError> {
        let mut paths: Vec<String> = NFT_FILES.iter().map(|p| p.to_string()).collect();
        paths.extend(
            self.host
                .files
                .keys()
                .filter(|p| p.starts_with("/etc/nftables.d/") || p.starts_with("/etc/nftables/"))
                .cloned(),
        );
        let mut looked = Vec::new();
        for path in paths {
            let Some(bytes) = self.file(&path) else {
                continue;
            };
            looked.push(path.clone());
            let text = persisted_text(&path, bytes, "nft -c -f")?;
            let scopes = nft_scopes(&text);
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            let in_chain = |i: usize| {
                scopes
                    .get(i)
                    .and_then(Option::as_ref)
                    .is_some_and(|(f, t, c)| f == &r.family && t == &r.table && c == &r.chain)
            };
            let c = comment(addr, self.port);
            let cmd_prefix = format!("add rule {} {} {} ", r.family, r.table, r.chain);
            let already = lines.iter().enumerate().any(|(i, l)| {
                l.contains(&format!("comment \"{c}\""))
                    && (in_chain(i) || l.trim_start().starts_with(&cmd_prefix))
            });
            if already {
                return Ok(format!(
                    "; {path} already has this rule (`comment \"{c}\"`), so it is not edited again"
                ));
            }
            // (index to insert at, line to insert)
            let spot: Option<(usize, String)> = if !r.is_policy {
                nft::find_rule_in_file(&text, r).map(|n| {
                    let i = n as usize - 1;
                    let anchor = lines[i];
                    let indent: String = anchor
                        .chars()
                        .take_while(|c| c.is_whitespace() && *c != '\n' && *c != '\r')
                        .collect();
                    let t = anchor.trim_start();
                    let line = if t.starts_with("add rule ") || t.starts_with("insert rule ") {
                        format!("{indent}{cmd_prefix}{rule_text}")
                    } else {
                        format!("{indent}{rule_text}")
                    };
                    (i, line)
                })
            } else {
                self.nft_policy_spot(&path, &lines, &scopes, r, rule_text, &cmd_prefix)?
            };
            let Some((i, line)) = spot else { continue };
            let new = insert_line(&lines, i, &line);
            let what = if r.is_policy {
                format!("at the end of chain {} in {path}", r.chain)
            } else {
                let orig = self
                    .host
                    .files
                    .get(&path)
                    .and_then(|b| nft::find_rule_in_file(&String::from_utf8_lossy(b), r));
                format!(
                    "on the line before it ({path}:{}: `{}`)",
                    orig.map_or("?".to_string(), |n| n.to_string()),
                    lines[i].trim()
                )
            };
            self.set_file(
                &path,
                new,
                Validator::Nft,
                format!(
                    "{} blocks {addr} from port {}; the same accept for {addr} only goes {what}, so the fix survives a reload or reboot",
                    quote(r),
                    self.port
                ),
            );
            return Ok(format!("; {path} gets the same rule (see its edit)"));
        }
        Ok(if looked.is_empty() {
            format!(
                " only: no persisted nftables ruleset was found ({}), so a human must persist it",
                NFT_FILES.join(", ")
            )
        } else {
            format!(
                " only: {} is not in {} (added live?), so a human must persist it",
                if r.is_policy {
                    format!("chain {} {} {}", r.family, r.table, r.chain)
                } else {
                    format!("`{}`", r.text)
                },
                looked.join(", ")
            )
        })
    }

    /// Where an accept goes at the end of a chain of a persisted nft file:
    /// before the chain block's closing `}` line, or after the last
    /// `add rule F T C` line of a command-form file.
    fn nft_policy_spot(
        &self,
        path: &str,
        lines: &[&str],
        scopes: &[Option<Scope>],
        r: &RuleRef,
        rule_text: &str,
        cmd_prefix: &str,
    ) -> Result<Option<(usize, String)>, FixError> {
        let in_chain = |i: usize| {
            scopes
                .get(i)
                .and_then(Option::as_ref)
                .is_some_and(|(f, t, c)| f == &r.family && t == &r.table && c == &r.chain)
        };
        if let Some(last) = (0..lines.len()).rev().find(|&i| in_chain(i)) {
            // the last in-scope line is the chain's closing brace
            let close = lines[last];
            if strip_comment(close).trim() != "}" {
                return Err(refuse(format!(
                    "{path}:{}: the block of chain {} ends with `{}`, not a lone `}}`; sshfix cannot add a rule at its end",
                    last + 1,
                    r.chain,
                    close.trim()
                )));
            }
            let body_indent = (0..last)
                .rev()
                .take_while(|&i| in_chain(i))
                .map(|i| lines[i])
                .find(|l| {
                    let t = l.trim();
                    !t.is_empty() && !t.starts_with("chain ") && !t.starts_with('#')
                })
                .map(|l| leading_ws(l).to_string());
            let indent = body_indent.unwrap_or_else(|| {
                let close_ws = leading_ws(close);
                if close_ws.contains('\t') || close_ws.is_empty() {
                    format!("{close_ws}\t")
                } else {
                    format!("{close_ws}{close_ws}")
                }
            });
            return Ok(Some((last, format!("{indent}{rule_text}"))));
        }
        let last_cmd = (0..lines.len())
            .rev()
            .find(|&i| lines[i].trim_start().starts_with(cmd_prefix));
        Ok(last_cmd.map(|i| (i + 1, format!("{cmd_prefix}{rule_text}"))))
    }

    #[allow(clippy::too_many_arguments)]
    fn sim_nft(
        &mut self,
        family: &str,
        table: &str,
        chain: &str,
        pos: Option<usize>,
        expr: Vec<Value>,
        text: String,
        ipt: Option<iptables::Rule>,
    ) -> Result<(), FixError> {
        self.next_handle += 1;
        let rule = nft::Rule {
            handle: self.next_handle,
            expr,
            comment: None,
            text: Some(text),
            iptables: ipt,
        };
        let c = self
            .rules
            .nft
            .as_mut()
            .and_then(|rs| {
                rs.tables
                    .iter_mut()
                    .find(|t| t.family == family && t.name == table)
            })
            .and_then(|t| t.chains.iter_mut().find(|c| c.name == chain))
            .ok_or_else(|| {
                refuse(format!(
                    "chain {family} {table} {chain} is not in the nft ruleset sshfix read"
                ))
            })?;
        match pos {
            Some(p) if p <= c.rules.len() => c.rules.insert(p, rule),
            _ => c.rules.push(rule),
        }
        Ok(())
    }

    // ---- iptables

    /// Which view an iptables-style rule is in, and the command for it.
    fn iptables_view(&self, addr: IpAddr, r: &RuleRef) -> Result<(View, String), FixError> {
        let fam = family_of(addr);
        let base = if fam == Family::V6 {
            "ip6tables"
        } else {
            "iptables"
        };
        let nft_save_key = if fam == Family::V6 {
            "ip6tables-nft-save"
        } else {
            "iptables-nft-save"
        };
        let nft_bin = if self.host.frames.get(nft_save_key).is_some() {
            format!("{base}-nft")
        } else {
            base.to_string()
        };
        if r.source == "nft" {
            return Ok((View::Nft, nft_bin));
        }
        let packet = Packet::new(addr, self.port);
        let (nft_save, legacy) = match fam {
            Family::V4 => (&self.rules.iptables_nft, &self.rules.iptables_legacy),
            Family::V6 => (&self.rules.ip6tables_nft, &self.rules.ip6tables_legacy),
        };
        let in_nft_save = self.rules.nft.is_none()
            && nft_save.as_ref().is_some_and(|s| {
                s.evaluate(fam, &packet)
                    .decided_by
                    .is_some_and(|d| same_rule(&d, r))
            });
        if in_nft_save {
            return Ok((View::NftSave(fam), nft_bin));
        }
        if legacy.is_some() {
            return Ok((View::Legacy(fam), format!("{base}-legacy")));
        }
        Err(refuse(format!(
            "sshfix cannot tell which iptables ruleset holds {}",
            quote(r)
        )))
    }

    fn save_mut(&mut self, view: View) -> Option<&mut iptables::Save> {
        match view {
            View::Nft => None,
            View::NftSave(Family::V4) => self.rules.iptables_nft.as_mut(),
            View::NftSave(Family::V6) => self.rules.ip6tables_nft.as_mut(),
            View::Legacy(Family::V4) => self.rules.iptables_legacy.as_mut(),
            View::Legacy(Family::V6) => self.rules.ip6tables_legacy.as_mut(),
        }
    }

    /// The blocking rule in save form (for finding it in a persisted file).
    fn blocking_save_rule(&self, view: View, r: &RuleRef) -> Option<iptables::Rule> {
        match view {
            View::Nft => self
                .rules
                .nft
                .as_ref()?
                .tables
                .iter()
                .find(|t| t.family == r.family && t.name == r.table)?
                .chains
                .iter()
                .find(|c| c.name == r.chain)?
                .rules
                .iter()
                .find(|x| Some(x.handle) == r.handle)?
                .iptables
                .clone(),
            View::NftSave(Family::V4) => self.rules.iptables_nft.as_ref()?.rule(r).cloned(),
            View::NftSave(Family::V6) => self.rules.ip6tables_nft.as_ref()?.rule(r).cloned(),
            View::Legacy(Family::V4) => self.rules.iptables_legacy.as_ref()?.rule(r).cloned(),
            View::Legacy(Family::V6) => self.rules.ip6tables_legacy.as_ref()?.rule(r).cloned(),
        }
    }

    fn iptables(&mut self, addr: IpAddr, r: &RuleRef, note: &str) -> Result<(), FixError> {
        let (view, bin) = self.iptables_view(addr, r)?;
        let port = self.port;
        let c = comment(addr, port);
        let src = format!("{addr}/{}", if is_v6(addr) { 128 } else { 32 });
        let spec = format!("-s {src} -p tcp -m tcp --dport {port} -m comment --comment");
        let spec_file = format!("{spec} \"{c}\" -j ACCEPT");
        let spec_sh = format!("{spec} {} -j ACCEPT", sh_quote(&c)?);
        let (table, chain) = (&r.table, &r.chain);
        let (command, placed) = if r.is_policy {
            (
                format!("{bin} -t {table} -A {chain} {spec_sh}"),
                format!("at the end of chain {chain}"),
            )
        } else {
            let n = r.position + 1;
            // `-S` prints the chain's `-P`/`-N` line first, then its rules
            // as iptables-save does: insert only while rule n is the one the
            // plan saw
            let want = sh_quote(r.iptables_text.as_deref().unwrap_or(&r.text))?;
            (
                guarded(
                    &format!(
                        "[ \"$({bin} -t {table} -S {chain} | sed -n '{}p')\" = {want} ]",
                        n + 1
                    ),
                    &format!("{bin} -t {table} -I {chain} {n} {spec_sh}"),
                    &format!("rule {n} of chain {chain} (table {table}) is no longer the one planned; re-run sshfix plan"),
                )?,
                format!("right before it (as rule {n} of {chain})"),
            )
        };
        let undo = format!("{bin} -t {table} -D {chain} {spec_sh}");
        let line = format!("-A {chain} {spec_file}");
        let persisted = self.ipt_persist(addr, r, view, &line)?;
        let reason = format!(
            "{} blocks {addr} from port {port}; accept tcp port {port} from {addr} only, {placed}, with `{bin}` in the running rules{}{note}",
            quote(r),
            persisted
        );
        self.action(command, undo, reason);
        let rule = parse_rule(table, &line)?;
        let pos = (!r.is_policy).then_some(r.position);
        self.sim_ipt(view, addr, table, chain, pos, rule)
    }

    fn sim_ipt(
        &mut self,
        view: View,
        addr: IpAddr,
        table: &str,
        chain: &str,
        pos: Option<usize>,
        rule: iptables::Rule,
    ) -> Result<(), FixError> {
        if view == View::Nft {
            let family = if is_v6(addr) { "ip6" } else { "ip" };
            let expr = accept_expr(family, addr, self.port);
            let text = rule.text.clone();
            return self.sim_nft(family, table, chain, pos, expr, text, Some(rule));
        }
        let c = self
            .save_mut(view)
            .and_then(|s| s.tables.iter_mut().find(|t| t.name == table))
            .and_then(|t| t.chains.iter_mut().find(|c| c.name == chain))
            .ok_or_else(|| {
                refuse(format!(
                    "chain {chain} of table {table} is not in the iptables rules sshfix read"
                ))
            })?;
        match pos {
            Some(p) if p <= c.rules.len() => c.rules.insert(p, rule),
            _ => c.rules.push(rule),
        }
        Ok(())
    }

    /// Insert `-A CHAIN …` into the persisted save file that holds the
    /// blocking rule (or declares the chain, for a policy).
    fn ipt_persist(
        &mut self,
        addr: IpAddr,
        r: &RuleRef,
        view: View,
        line: &str,
    ) -> Result<String, FixError> {
        let paths = if is_v6(addr) { IPT6_FILES } else { IPT4_FILES };
        let family = if is_v6(addr) { "ipv6" } else { "ipv4" };
        let blocking = if r.is_policy {
            None
        } else {
            match self.blocking_save_rule(view, r) {
                Some(b) => Some(b),
                None => {
                    return Ok(format!(
                        " only: sshfix has no iptables-save form of the rule to find it in {}, so a human must persist it",
                        paths.join(", ")
                    ))
                }
            }
        };
        let mut looked = Vec::new();
        for path in paths {
            let Some(bytes) = self.file(path) else {
                continue;
            };
            looked.push(path);
            let text = persisted_text(path, bytes, "iptables-restore --test")?;
            let save = iptables::parse(&text).map_err(|e| {
                refuse(format!(
                    "{path}: {e}: sshfix does not understand this file, so it cannot persist the accept rule for {addr}"
                ))
            })?;
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            let want = parse_rule(&r.table, line)?;
            if iptables::find_rule_line(&text, &r.table, &r.chain, &want).is_some() {
                return Ok(format!(
                    "; {path} already has `{line}`, so it is not edited again"
                ));
            }
            let spot = match &blocking {
                Some(b) => {
                    iptables::find_rule_line(&text, &r.table, &r.chain, b).map(|n| n as usize - 1)
                }
                None => {
                    let Some(t) = save.tables.iter().find(|t| t.name == r.table) else {
                        continue;
                    };
                    let Some(ch) = t.chains.iter().find(|c| c.name == r.chain) else {
                        continue;
                    };
                    if ch.policy.as_deref() != Some("DROP") {
                        return Ok(format!(
                            " only: {path}:{} gives chain {} policy {}, not DROP as in the running rules, so the file is left alone",
                            ch.line,
                            r.chain,
                            ch.policy.as_deref().unwrap_or("-")
                        ));
                    }
                    match ch.rules.last() {
                        Some(last) => Some(last.line as usize),
                        None => {
                            (t.line as usize..lines.len()).find(|&i| lines[i].trim() == "COMMIT")
                        }
                    }
                }
            };
            let Some(i) = spot else { continue };
            let new = insert_line(&lines, i, line);
            let what = match &blocking {
                Some(b) => {
                    let orig = self.host.files.get(path).and_then(|o| {
                        iptables::find_rule_line(&String::from_utf8_lossy(o), &r.table, &r.chain, b)
                    });
                    format!(
                        "on the line before it in table {} ({path}:{}: `{}`)",
                        r.table,
                        orig.map_or("?".to_string(), |n| n.to_string()),
                        lines[i].trim()
                    )
                }
                None => format!(
                    "after the last rule of chain {} in table {} of {path}",
                    r.chain, r.table
                ),
            };
            self.set_file(
                path,
                new,
                Validator::IptablesRestore {
                    family: family.into(),
                },
                format!(
                    "{} blocks {addr} from port {}; `{line}` goes {what}, so the fix survives a reboot",
                    quote(r),
                    self.port,
                ),
            );
            return Ok(format!("; {path} gets the same rule (see its edit)"));
        }
        Ok(if looked.is_empty() {
            format!(
                " only: no persisted rules file was found ({}), so a human must persist it",
                paths.join(", ")
            )
        } else {
            format!(
                " only: {} is not in {}, so a human must persist it",
                if r.is_policy {
                    format!("chain {} with policy DROP", r.chain)
                } else {
                    format!("`{}`", r.text)
                },
                looked.join(", ")
            )
        })
    }

    // ---- ufw

    fn ufw(&mut self, addr: IpAddr, r: &RuleRef, note: &str) -> Result<(), FixError> {
        let user_chain = if is_v6(addr) {
            "ufw6-user-input"
        } else {
            "ufw-user-input"
        };
        if r.chain.contains("-before-") {
            return Err(refuse(format!(
                "{} blocks {addr} in ufw's `before` rules (/etc/ufw/before.rules or before6.rules), which run before any `ufw allow`",
                quote(r)
            )));
        }
        let port = self.port;
        let spec = format!("allow proto tcp from {addr} to any port {port}");
        let user_rules = if is_v6(addr) {
            "/etc/ufw/user6.rules"
        } else {
            "/etc/ufw/user.rules"
        };
        let ufw_line = format!("-A {user_chain} -p tcp --dport {port} -s {addr} -j ACCEPT");
        let want = parse_rule("filter", &ufw_line)?;
        if let Some(text) = self
            .file(user_rules)
            .map(|b| String::from_utf8_lossy(b).into_owned())
        {
            if let Some(n) = iptables::find_rule_line(&text, "filter", user_chain, &want) {
                return Err(refuse(format!(
                    "{} blocks {addr}, yet {user_rules}:{n} already allows it (`ufw {spec}` comes too late); reorder ufw's rules",
                    quote(r)
                )));
            }
        }
        // ufw counts an allow with the same addresses, port and protocol as
        // a deny as the same rule: `ufw prepend` would skip it (exit 0)
        let blocking = r.iptables_text.as_deref().unwrap_or(&r.text);
        let own_deny = ["DROP", "REJECT", "REJECT --reject-with tcp-reset"]
            .iter()
            .any(|target| {
                let deny = format!("-A {user_chain} -p tcp --dport {port} -s {addr} -j {target}");
                parse_rule("filter", &deny).is_ok_and(|d| {
                    iptables::find_rule_line(
                        &format!("*filter\n{blocking}\nCOMMIT\n"),
                        "filter",
                        user_chain,
                        &d,
                    )
                    .is_some()
                })
            });
        if own_deny {
            return Err(refuse(format!(
                "{} blocks {addr}: it is ufw's own `deny proto tcp from {addr} to any port {port}`, and ufw treats an allow for the same client and port as the same rule (`ufw prepend` skips it), so only changing that deny would help (`ufw delete deny proto tcp from {addr} to any port {port}`), which sshfix never does by itself",
                quote(r)
            )));
        }
        let (view, _) = self.iptables_view(addr, r)?;
        let reason = format!(
            "{} blocks {addr} from port {port}; `ufw prepend` puts an allow for {addr} only at the top of ufw's user rules, which ufw also saves in {user_rules}{note}",
            quote(r)
        );
        self.action(
            format!("ufw prepend {spec}"),
            format!("ufw delete {spec}"),
            reason,
        );
        self.sim_ipt(view, addr, "filter", user_chain, Some(0), want)
    }

    // ---- firewalld

    fn firewalld(&mut self, addr: IpAddr, r: &RuleRef, note: &str) -> Result<(), FixError> {
        let zone = firewalld_zone_of_chain(&r.chain)
            .or_else(|| {
                self.frame_text("firewalld-list").and_then(|t| {
                    t.lines()
                        .next()
                        .and_then(|l| l.split_whitespace().next())
                        .map(str::to_string)
                })
            })
            .filter(|z| safe_name(z))
            .ok_or_else(|| {
                refuse(format!(
                    "{} blocks {addr} in firewalld's rules, but sshfix cannot tell which zone",
                    quote(r)
                ))
            })?;
        let port = self.port;
        let fam = if is_v6(addr) { "ipv6" } else { "ipv4" };
        let rich = format!(
            "rule priority=\"{FIREWALLD_PRIORITY}\" family=\"{fam}\" source address=\"{addr}\" port port=\"{port}\" protocol=\"tcp\" accept"
        );
        let reason = format!(
            "{} blocks {addr} from port {port}; a rich rule in zone {zone} accepts tcp port {port} from {addr} only, at priority {FIREWALLD_PRIORITY} (the zone's `_pre` chain, before its deny rules)",
            quote(r)
        );
        for permanent in [false, true] {
            let flag = if permanent { " --permanent" } else { "" };
            self.action(
                format!("firewall-cmd{flag} --zone={zone} --add-rich-rule={}", sh_quote(&rich)?),
                format!("firewall-cmd{flag} --zone={zone} --remove-rich-rule={}", sh_quote(&rich)?),
                if permanent {
                    format!("{reason}; `--permanent` writes it to the zone's file in /etc/firewalld/zones so it survives a reload or reboot{note}")
                } else {
                    format!("{reason}, in the running firewall{note}")
                },
            );
        }
        // simulate in the zone's _pre chain: `filter_IN_ZONE_pre` in the nft
        // backend's own table, `IN_ZONE_pre` in the iptables backend's
        if r.source == "nft" && r.table == "firewalld" {
            let pre = format!("filter_IN_{zone}_pre");
            let kw = if is_v6(addr) { "ip6" } else { "ip" };
            let expr = accept_expr(kw, addr, port);
            let text = format!("{kw} saddr {addr} tcp dport {port} accept");
            self.sim_nft(&r.family, &r.table, &pre, Some(0), expr, text, None)
        } else {
            let (view, _) = self.iptables_view(addr, r)?;
            let pre = format!("IN_{zone}_pre");
            let src = format!("{addr}/{}", if is_v6(addr) { 128 } else { 32 });
            let rule = parse_rule(
                "filter",
                &format!("-A {pre} -s {src} -p tcp -m tcp --dport {port} -j ACCEPT"),
            )?;
            self.sim_ipt(view, addr, "filter", &pre, Some(0), rule)
        }
    }
}

/// firewalld's zone from one of its chain names: `filter_IN_public_deny`
/// (nft backend), `IN_public_allow` (iptables backend).
fn firewalld_zone_of_chain(chain: &str) -> Option<String> {
    let rest = chain
        .strip_prefix("filter_IN_")
        .or_else(|| chain.strip_prefix("IN_"))?;
    let zone = ["_pre", "_log", "_deny", "_allow", "_post"]
        .iter()
        .find_map(|s| rest.strip_suffix(s))
        .unwrap_or(rest);
    (!zone.is_empty()).then(|| zone.to_string())
}

/// nft JSON of `PROTO saddr ADDR tcp dport PORT accept` (`PROTO`: `ip` or
/// `ip6`), as `nft -j` prints it, for the simulation.
fn accept_expr(proto: &str, addr: IpAddr, port: u16) -> Vec<Value> {
    vec![
        json!({"match": {"op": "==", "left": {"payload": {"protocol": proto, "field": "saddr"}}, "right": addr.to_string()}}),
        json!({"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": port}}),
        json!({"accept": null}),
    ]
}

/// `accepted`, `dropped`, `rejected`.
fn done_by(a: crate::facts::firewall::Action) -> &'static str {
    use crate::facts::firewall::Action as A;
    match a {
        A::Accept => "accepted",
        A::Drop => "dropped",
        A::Reject => "rejected",
    }
}

/// What the reviewer must know when rules sshfix cannot evaluate might
/// block the client too (empty when none can).
fn uncertain_note(v: &Verdict) -> String {
    if !v.could_block {
        return String::new();
    }
    format!(
        " (rules sshfix cannot evaluate are on the way too and may still block it: {})",
        v.uncertain.join("; ")
    )
}

/// A persisted ruleset as text, refusing what its loader cannot read
/// (`checker` names the tool that would reject it).
fn persisted_text(path: &str, bytes: &[u8], checker: &str) -> Result<String, FixError> {
    let text = super::utf8_text(path, bytes, "edit it by hand")
        .map_err(|e| refuse(e.message))?
        .to_string();
    if let Some(i) = text.find("\r\n") {
        let line = text[..i].matches('\n').count() + 1;
        return Err(refuse(format!(
            "{path}:{line} ends with CRLF, which the loader cannot read (`{checker}` fails on the file as it is), so the persisted rules are broken already"
        )));
    }
    Ok(text)
}

/// `s` as one word for `sh`, through sshfix's one quoting function.
fn sh_quote(s: &str) -> Result<String, FixError> {
    crate::transport::quote::quote(s, "a firewall command argument")
        .map(std::borrow::Cow::into_owned)
        .map_err(|e| refuse(format!("{e}")))
}

/// The end of a pipeline that reads `nft -a list` output and succeeds when
/// one rule line is exactly `listed` (already quoted): indentation dropped,
/// counters' values ignored, the whole line compared — so `# handle 4` does
/// not match `# handle 41`.
fn listing_has(listed: &str) -> String {
    format!(
        "sed -e 's/^[[:space:]]*//' -e 's/ counter packets [0-9]* bytes [0-9]*/ counter/' | grep -qxF -- {listed}"
    )
}

/// `command` run only when `check` succeeds; otherwise `message` on stderr
/// and exit status 1 (the host changed since the plan).
fn guarded(check: &str, command: &str, message: &str) -> Result<String, FixError> {
    Ok(format!(
        "if {check}; then {command}; else echo {} >&2; exit 1; fi",
        sh_quote(&format!("sshfix: {message}"))?
    ))
}

/// One `-A` line as a parsed rule.
fn parse_rule(table: &str, line: &str) -> Result<iptables::Rule, FixError> {
    iptables::parse(&format!("*{table}\n{line}\nCOMMIT\n"))
        .ok()
        .and_then(|s| s.tables.into_iter().next())
        .and_then(|t| t.chains.into_iter().next())
        .and_then(|c| c.rules.into_iter().next())
        .ok_or_else(|| refuse(format!("sshfix built a rule it cannot parse: `{line}`")))
}

fn leading_ws(l: &str) -> &str {
    let t = l.trim_start_matches([' ', '\t']);
    &l[..l.len() - t.len()]
}

/// `lines` (each with its ending) with `new` inserted before index `at`
/// (at the end when `at == lines.len()`), ended like its neighbours.
fn insert_line(lines: &[&str], at: usize, new: &str) -> String {
    let eol = match lines.get(at) {
        Some(l) if l.ends_with("\r\n") => "\r\n",
        Some(l) if l.ends_with('\n') => "\n",
        _ => super::dominant_eol(lines.concat().as_bytes()),
    };
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i == at {
            out.push_str(new);
            out.push_str(eol);
        }
        out.push_str(l);
        if i + 1 == lines.len() && at == lines.len() {
            if !l.ends_with('\n') {
                out.push_str(eol);
            }
            out.push_str(new);
            out.push_str(eol);
        }
    }
    if lines.is_empty() {
        out.push_str(new);
        out.push_str(eol);
    }
    out
}

/// (family, table, chain) of a line in an nft ruleset file.
type Scope = (String, String, String);

/// For each line of an nft file (as split by `split_inclusive('\n')`), the
/// table and chain block it is in (the `chain … {` line and its closing `}`
/// included), `None` outside a chain.
fn nft_scopes(text: &str) -> Vec<Option<Scope>> {
    let mut out = Vec::new();
    let mut table: Option<(i32, String, String)> = None;
    let mut chain: Option<(i32, String)> = None;
    let mut depth: i32 = 0;
    for line in text.split_inclusive('\n') {
        let l = strip_comment(line).trim();
        let words: Vec<&str> = l.split_whitespace().collect();
        match words.as_slice() {
            ["table", f, n, ..] if l.ends_with('{') => {
                table = Some((depth, f.to_string(), n.to_string()));
            }
            ["chain", n, ..] if l.ends_with('{') && table.is_some() => {
                chain = Some((depth, n.to_string()))
            }
            _ => {}
        }
        let scope = match (&table, &chain) {
            (Some((_, f, t)), Some((_, c))) => Some((f.clone(), t.clone(), c.clone())),
            _ => None,
        };
        out.push(scope);
        depth += braces(l);
        if chain.as_ref().is_some_and(|(d, _)| depth <= *d) {
            chain = None;
        }
        if table.as_ref().is_some_and(|(d, _, _)| depth <= *d) {
            table = None;
            chain = None;
        }
    }
    out
}

/// `{` minus `}` outside double quotes.
fn braces(l: &str) -> i32 {
    let mut quoted = false;
    let mut n = 0;
    for c in l.chars() {
        match c {
            '"' => quoted = !quoted,
            '{' if !quoted => n += 1,
            '}' if !quoted => n -= 1,
            _ => {}
        }
    }
    n
}

/// A line without its `#` comment (outside double quotes).
fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted => return &line[..i],
            _ => {}
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_from_firewalld_chains() {
        assert_eq!(
            firewalld_zone_of_chain("filter_IN_public_deny").as_deref(),
            Some("public")
        );
        assert_eq!(
            firewalld_zone_of_chain("IN_internal").as_deref(),
            Some("internal")
        );
        assert_eq!(firewalld_zone_of_chain("INPUT"), None);
        assert_eq!(firewalld_zone_of_chain("filter_INPUT"), None);
    }

    #[test]
    fn names_safe_on_a_command_line() {
        assert!(safe_name("filter") && safe_name("ufw-user-input") && safe_name("IN_public"));
        for bad in ["", "a b", "x;rm", "-j", "a'b", "a\"b", "$x"] {
            assert!(!safe_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn insert_line_keeps_endings() {
        let t = "a\r\nb\r\nc";
        let lines: Vec<&str> = t.split_inclusive('\n').collect();
        assert_eq!(insert_line(&lines, 1, "x"), "a\r\nx\r\nb\r\nc");
        assert_eq!(insert_line(&lines, 2, "x"), "a\r\nb\r\nx\r\nc");
        assert_eq!(insert_line(&lines, 3, "x"), "a\r\nb\r\nc\r\nx\r\n");
        let t = "a\nb\n";
        let lines: Vec<&str> = t.split_inclusive('\n').collect();
        assert_eq!(insert_line(&lines, 2, "x"), "a\nb\nx\n");
        assert_eq!(insert_line(&[], 0, "x"), "x\n");
    }

    #[test]
    fn scopes_of_an_nft_file() {
        let t = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; # x { \n\t\tip saddr 1.2.3.4 drop comment \"a # {\"\n\t}\n\tchain fwd {\n\t}\n}\n";
        let s = nft_scopes(t);
        let c = |i: usize| s[i].as_ref().map(|x| x.2.as_str());
        assert_eq!(c(0), None);
        assert_eq!(c(1), Some("input"));
        assert_eq!(c(3), Some("input"));
        assert_eq!(c(4), Some("input"));
        assert_eq!(c(5), Some("fwd"));
        assert_eq!(c(6), Some("fwd"));
        assert_eq!(c(7), None);
    }

    #[test]
    fn simulated_rule_is_what_nft_prints() {
        // `nft -j list chain` after `nft insert rule inet filter ssh_in ...
        // ip saddr 10.77.0.1 tcp dport 22 accept comment "..."` (nft 1.0.6)
        let real: Value = serde_json::from_str(r#"[{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "10.77.0.1"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}, {"accept": null}]"#).unwrap();
        assert_eq!(
            Value::Array(accept_expr("ip", "10.77.0.1".parse().unwrap(), 22)),
            real
        );
    }

    /// Regression (review): the nft guard compares whole lines, so rule
    /// handle 4 is not found in a chain that only has handle 41.
    #[test]
    fn the_nft_guard_matches_the_whole_line() {
        let listed = sh_quote("ip saddr 10.77.0.1 tcp dport 22 counter drop # handle 4").unwrap();
        let run = |handle: &str| {
            let script = format!(
                "printf '\\tip saddr 10.77.0.1 tcp dport 22 counter packets 3 bytes 180 drop # handle {handle}\\n' | {}",
                listing_has(&listed)
            );
            std::process::Command::new("sh")
                .args(["-c", &script])
                .status()
                .unwrap()
                .code()
        };
        assert_eq!(run("4"), Some(0));
        assert_eq!(run("41"), Some(1));
    }

    #[test]
    fn shell_quoting_goes_through_the_one_quoting_function() {
        assert_eq!(
            sh_quote("a b").unwrap(),
            crate::transport::quote::quote("a b", "x").unwrap()
        );
        // the quoting function's own tests run hostile strings through a
        // real shell; a NUL cannot be quoted, so the fix is refused
        assert!(sh_quote("a\0b").is_err());
        let g = guarded("true", "echo hi", "it changed").unwrap();
        let out = std::process::Command::new("sh")
            .args(["-c", &g])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
        let g = guarded("false", "echo hi", "it's changed").unwrap();
        let out = std::process::Command::new("sh")
            .args(["-c", &g])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "sshfix: it's changed\n"
        );
    }

    /// Regression (tests/edit_properties.rs): a chain closed by `}` with a
    /// comment after it (`} # input`) was refused as "ends with `} # …`,
    /// not a lone `}`"; the accept for a policy goes before that line.
    #[test]
    fn a_policy_chain_closed_by_a_commented_brace_gets_the_accept_before_it() {
        use super::super::command::test_host::Fixture;
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/modules/firewall/nft-policy"
        );
        let mut f = Fixture::load("healthy");
        for k in [
            "nft-json",
            "nft-text",
            "iptables-nft-save",
            "ip6tables-nft-save",
            "iptables-legacy-save",
            "ip6tables-legacy-save",
        ] {
            f.set_item(
                k,
                &std::fs::read_to_string(format!("{dir}/captured/{k}")).unwrap(),
            );
        }
        let conf = std::fs::read_to_string(format!("{dir}/etc/nftables.conf"))
            .unwrap()
            .replace(
                "tcp dport 22 accept\n    }",
                "tcp dport 22 accept\n    } # input",
            );
        f.files
            .insert("/etc/nftables.conf".into(), conf.clone().into_bytes());
        let p = task(&f.host(), &json!({"allow": ["10.77.0.1"]}), "f").unwrap();
        assert_eq!(p.edits.len(), 1, "{p:?}");
        assert_eq!(
            String::from_utf8(p.edits[0].after.clone()).unwrap(),
            conf.replace(
                "tcp dport 22 accept\n    } # input",
                "tcp dport 22 accept\n        ip saddr 10.77.0.1 tcp dport 22 accept comment \"sshfix: allow 10.77.0.1 port 22\"\n    } # input"
            )
        );
    }

    #[test]
    fn uncertainty_is_spelled_out() {
        let mut v = Verdict::open();
        assert_eq!(uncertain_note(&v), "");
        v.uncertain.push("u".into());
        assert_eq!(uncertain_note(&v), "", "harmless uncertainty is not noise");
        v.could_block = true;
        assert!(uncertain_note(&v).contains("may still block it: u"));
    }
}
