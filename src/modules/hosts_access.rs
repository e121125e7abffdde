//! Edits of hosts.allow: the narrowest `sshd: <clients>` line that lets every allowed client in, checked with the hosts_access evaluator.
//!
//! libwrap reads hosts.allow first and the first matching rule decides, so
//! the new line is placed before the first hosts.allow rule that could deny
//! (or `twist`) one of the clients, and otherwise at the end of the file.
//! hosts.deny is never edited: a line in hosts.allow is read before it.
//!
//! The line names each client by address only, never by name, `ALL` or a
//! network: `sshd: 192.0.2.10, [2001:db8::1]/128`. An IPv4 client is
//! `a.b.c.d` (it also matches the IPv4-mapped `::ffff:a.b.c.d`, as libwrap
//! strips that prefix), an IPv6 client `[addr]/128`. The `/128` is deliberate:
//! libwrap compares a plain `[addr]` token with the client's address AND, as
//! the token is not purely numeric, with its host name, so `[addr]` would make
//! sshd look up the name of every other client that reaches the line; the
//! masked form compares addresses only (both forms checked with `tcpdmatch`).
//!
//! Where the line goes, for each client that is not certainly allowed today:
//! before the first hosts.allow rule that matches it (or might: host names,
//! netgroups, ident, unreadable `/file` lists, `daemon@host` and port
//! patterns all depend on things this pure module cannot see) unless that
//! rule certainly grants when it matches; else before the line where libwrap
//! stops reading hosts.allow with an error; else at the end. The earliest such
//! place over all clients wins. A client counts as already allowed only when
//! that is certain: some hosts.allow rule certainly matches and grants it with
//! no possible blocker before it, or nothing in hosts.allow may block it and
//! hosts.deny certainly does not match it (a hosts.deny `ALL: PARANOID` or
//! `.domain` rule may deny it at connect time, so such a client gets a line).
//!
//! File shape: comments and every existing line are kept byte for byte; the
//! new line uses the file's line ending (CRLF if most lines end in CRLF). A
//! last line without newline makes libwrap stop reading the file with an
//! error: when that line is a comment or blank, its newline is added
//! (harmless); when it is a rule, it is left as it is (ending it would make a
//! rule take effect that never did) and the new line goes before it. The new
//! line never follows a line libwrap joins to the next (one ending in a
//! backslash, or holding a NUL byte: libwrap drops the rest of that line and
//! reads on): it moves up to before the joined lines.
//!
//! Every candidate is checked before it is returned: the existing rules must
//! parse exactly as before (only moved down), and every client must now be
//! certainly allowed, by the new line or by an earlier rule that can only
//! grant; otherwise a [`ModuleError`] says what blocks it and that a human must
//! look. With the placement above this check is a safety net: no input found
//! so far (unit, property and tcpdmatch tests) makes it fire.

use crate::change::{Edit, Validator};
use crate::facts::hosts_access::{
    self as ha, DecidedBy, Decision, Query, Rule, Rules, HOSTS_ALLOW, HOSTS_DENY,
};
use serde::Serialize;
use std::fmt;
use std::net::IpAddr;

/// The daemon name sshd gives libwrap (its `__progname`).
const DAEMON: &str = "sshd";
/// Longest added line, well below libwrap's 2047-byte logical-line limit.
const MAX_LINE: usize = 1000;

/// Why no safe hosts.allow edit can be proposed; a human must look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleError {
    /// The file the problem is in.
    pub path: String,
    /// 1-based line of the candidate (or of the original file) concerned, if any.
    pub line: Option<usize>,
    /// What blocks the fix and what to do, as a sentence.
    pub message: String,
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl std::error::Error for ModuleError {}

/// The arguments of a `hosts_access` fix task.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskArgs {
    /// The clients to let in: addresses (strings). Defaults to the host's
    /// allowed clients.
    #[serde(default)]
    allow: Option<Vec<String>>,
}

/// The `hosts_access` fix task: [`allow`] over the host's hosts.allow and
/// hosts.deny (with earlier edits), for `allow` or the host's clients.
pub fn task(
    host: &super::Host,
    args: &serde_json::Value,
    finding: &str,
) -> Result<super::Proposal, super::FixError> {
    let a: TaskArgs = super::args("hosts_access", args)?;
    let clients: Vec<IpAddr> = match a.allow {
        None => host.clients.to_vec(),
        Some(list) => list
            .iter()
            .map(|s| {
                s.trim().parse::<IpAddr>().map_err(|_| {
                    super::FixError::new(format!(
                        "`hosts_access`: `{s}` in `allow` is not an IP address (only single addresses are written, never names or networks)"
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let text = |p: &str| {
        host.files
            .get(p)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    if let Some(b) = host.files.get(HOSTS_ALLOW) {
        super::utf8_text(HOSTS_ALLOW, b, "add the `sshd:` line by hand")?;
    }
    let allow_text = text(HOSTS_ALLOW);
    let deny_text = text(HOSTS_DENY);
    let lists = |p: &str| text(p);
    let edit = allow(
        allow_text.as_deref(),
        deny_text.as_deref(),
        &clients,
        &lists,
        finding,
    )?;
    Ok(super::Proposal {
        edits: edit.into_iter().collect(),
        actions: Vec::new(),
    })
}

/// The hosts.allow pattern for one client: `a.b.c.d` for IPv4 (and for an
/// IPv4-mapped IPv6 address, which libwrap matches as IPv4), `[addr]/128` for
/// IPv6.
pub fn client_pattern(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => format!("[{a}]/128"),
        },
    }
}

/// Propose the edit of `/etc/hosts.allow` that makes libwrap grant sshd to
/// every one of `clients`, given the current hosts.allow (`None`: missing, the
/// edit creates it) and hosts.deny (`None`: missing). `lists` gives the
/// content of `/file` pattern lists (`None`: unknown). `finding` is the id of
/// the finding the edit fixes.
///
/// Returns `Ok(None)` when every client is already certainly allowed (or
/// `clients` is empty), `Ok(Some(edit))` with [`Validator::None`] otherwise,
/// and an error when the candidate would still not allow every client.
pub fn allow(
    allow_text: Option<&str>,
    deny_text: Option<&str>,
    clients: &[IpAddr],
    lists: &dyn Fn(&str) -> Option<String>,
    finding: &str,
) -> Result<Option<Edit>, ModuleError> {
    let original = allow_text.unwrap_or("");
    let eol = super::dominant_eol(original.as_bytes());
    let deny = ha::parse(HOSTS_DENY, deny_text.unwrap_or(""));
    let (base, ended_tail) = end_harmless_last_line(original, eol);
    let rules = ha::parse(HOSTS_ALLOW, &base);

    // The clients that are not certainly allowed, with today's decision.
    let mut blocked: Vec<(IpAddr, String, String)> = Vec::new();
    let mut allowed: Vec<IpAddr> = Vec::new();
    for &client in clients {
        let pattern = client_pattern(client);
        if blocked.iter().any(|(_, p, _)| *p == pattern) {
            continue;
        }
        if certainly_allowed(&rules, &deny, client, lists) {
            allowed.push(client);
        } else {
            let d = ha::evaluate(&rules, &deny, &Query::sshd(client), lists);
            let why = blocker(&d, first_possible_blocker(&rules, client, lists));
            blocked.push((client, pattern, why));
        }
    }
    if blocked.is_empty() {
        return Ok(None);
    }

    // Where the new line goes (1-based physical line it becomes; None = end).
    let before_rule = blocked
        .iter()
        .filter_map(|(c, _, _)| first_possible_blocker(&rules, *c, lists))
        .min_by_key(|r| r.line);
    let at: Option<usize> = match (&before_rule, &rules.stop) {
        (Some(r), _) => Some(r.line),
        (None, Some(stop)) => Some(stop.line),
        (None, None) => None,
    };
    let at = not_joined(&base, at);

    let patterns: Vec<&str> = blocked.iter().map(|(_, p, _)| p.as_str()).collect();
    let new_lines = render_lines(&patterns, eol);
    let offset = match at {
        Some(line) => line_offset(&base, line).ok_or_else(|| internal(line, "no such line"))?,
        None => {
            if !base.is_empty() && !base.ends_with('\n') {
                return Err(internal(0, "the file does not end in a newline"));
            }
            base.len()
        }
    };
    let mut after = String::with_capacity(base.len() + new_lines.len());
    after.push_str(&base[..offset]);
    after.push_str(&new_lines);
    after.push_str(&base[offset..]);

    let first_new = at.unwrap_or_else(|| base.matches('\n').count() + 1);
    let added = new_lines.matches('\n').count();
    check_candidate(
        &rules,
        &after,
        &deny,
        &blocked.iter().map(|(c, _, _)| *c).collect::<Vec<_>>(),
        &allowed,
        first_new..first_new + added,
        lists,
    )?;

    let reason = reason(
        &new_lines,
        first_new,
        added,
        at.map(|line| what_is_at(&rules, line)),
        &blocked,
        ended_tail,
    );
    Ok(Some(Edit::new(
        HOSTS_ALLOW,
        allow_text.map(str::as_bytes),
        after.into_bytes(),
        Validator::None,
        finding,
        reason,
    )))
}

/// Adds the missing final newline when the unterminated last line is a
/// comment or blank (libwrap stops there with an error either way, and the
/// line has no effect once ended). Returns the text and whether it did.
fn end_harmless_last_line(text: &str, eol: &str) -> (String, bool) {
    if text.is_empty() || text.ends_with('\n') {
        return (text.to_string(), false);
    }
    let rules = ha::parse(HOSTS_ALLOW, text);
    let Some(stop) = &rules.stop else {
        return (text.to_string(), false);
    };
    let missing_newline = rules
        .problems
        .iter()
        .any(|p| p.line == stop.line && p.kind == ha::ProblemKind::MissingNewline);
    if !missing_newline {
        return (text.to_string(), false);
    }
    let Some(start) = line_offset(text, stop.line) else {
        return (text.to_string(), false);
    };
    let tail = &text[start..];
    let harmless = tail.starts_with('#') || tail.bytes().all(|b| b" \t\r".contains(&b));
    if harmless && !tail.contains('\n') {
        (format!("{text}{eol}"), true)
    } else {
        (text.to_string(), false)
    }
}

/// Moves the place for the new lines (1-based physical line they become;
/// None = the end) up until libwrap does not join them to the line before:
/// a line holding a NUL byte is joined to the next (libwrap drops the rest of
/// it), and so is one ending in a backslash. Moving up is safe: the new
/// lines grant only the blocked clients, and earlier is where they are sure
/// to decide.
fn not_joined(text: &str, at: Option<usize>) -> Option<usize> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut line = at.unwrap_or(lines.len() + 1);
    let joins =
        |l: &str| l.contains('\0') || l.strip_suffix('\n').is_some_and(|l| l.ends_with('\\'));
    while line > 1 && joins(lines[line - 2]) {
        line -= 1;
    }
    match at {
        None if line == lines.len() + 1 => None,
        _ => Some(line),
    }
}

/// Byte offset where 1-based physical `line` starts.
fn line_offset(text: &str, line: usize) -> Option<usize> {
    if line == 0 {
        return None;
    }
    if line == 1 {
        return Some(0);
    }
    text.match_indices('\n')
        .nth(line - 2)
        .map(|(i, _)| i + 1)
        .filter(|&i| i < text.len())
}

/// `sshd: p1, p2` lines, split so that no line exceeds [`MAX_LINE`] bytes.
fn render_lines(patterns: &[&str], eol: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for p in patterns {
        if !line.is_empty() && line.len() + 2 + p.len() > MAX_LINE {
            out.push_str(&line);
            out.push_str(eol);
            line.clear();
        }
        if line.is_empty() {
            line = format!("{DAEMON}: {p}");
        } else {
            line.push_str(", ");
            line.push_str(p);
        }
    }
    out.push_str(&line);
    out.push_str(eol);
    out
}

fn single(file: &str, rule: Rule) -> Rules {
    Rules {
        file: file.to_string(),
        rules: vec![rule],
        problems: Vec::new(),
        stop: None,
    }
}

/// A daemon pattern whose match depends on the server's address or port,
/// which `Query::sshd` does not know (`sshd@host`, `22`).
fn depends_on_server(tok: &str) -> bool {
    let digits = tok.strip_prefix(['+', '-']).unwrap_or(tok);
    tok.get(1..).is_some_and(|t| t.contains('@'))
        || (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Evaluates one rule alone (as the only line of hosts.allow) for `client`.
fn alone(rule: Rule, client: IpAddr, lists: &dyn Fn(&str) -> Option<String>) -> Decision {
    let nothing = ha::parse(HOSTS_DENY, "");
    ha::evaluate(
        &single(HOSTS_ALLOW, rule),
        &nothing,
        &Query::sshd(client),
        lists,
    )
}

/// Whether `rule` matches `client` for sshd, or might (host names,
/// netgroups, ident, unknown `/file` lists, `daemon@host` and port patterns
/// depend on what this module cannot see).
fn may_match(rule: &Rule, client: IpAddr, lists: &dyn Fn(&str) -> Option<String>) -> bool {
    let matches_or_might = |r: Rule| {
        let d = alone(r, client, lists);
        d.decided_by == DecidedBy::Rule || !d.uncertain.is_empty()
    };
    matches_or_might(rule.clone())
        || (rule.daemons.iter().any(|t| depends_on_server(t)) && {
            let mut any_daemon = rule.clone();
            any_daemon.daemons = vec!["ALL".to_string()];
            matches_or_might(any_daemon)
        })
}

/// Whether `rule`, in hosts.allow, certainly grants when it matches (no
/// `deny`, `twist`, bad option, `aclexec`, `user`/`group`).
fn grants_when_matching(
    rule: &Rule,
    client: IpAddr,
    lists: &dyn Fn(&str) -> Option<String>,
) -> bool {
    let mut everyone = rule.clone();
    everyone.daemons = vec!["ALL".to_string()];
    everyone.clients = vec!["ALL".to_string()];
    let d = alone(everyone, client, lists);
    d.allowed && d.uncertain.is_empty()
}

/// The first hosts.allow rule that matches `client` for sshd, or might,
/// unless it certainly grants when it matches.
fn first_possible_blocker<'r>(
    rules: &'r Rules,
    client: IpAddr,
    lists: &dyn Fn(&str) -> Option<String>,
) -> Option<&'r Rule> {
    rules
        .rules
        .iter()
        .find(|r| may_match(r, client, lists) && !grants_when_matching(r, client, lists))
}

/// Whether libwrap certainly grants sshd to `client`: a hosts.allow rule
/// certainly matches and grants it with no possible blocker before it, or
/// nothing in hosts.allow may block it and hosts.deny certainly does not.
fn certainly_allowed(
    rules: &Rules,
    deny: &Rules,
    client: IpAddr,
    lists: &dyn Fn(&str) -> Option<String>,
) -> bool {
    for r in &rules.rules {
        if may_match(r, client, lists) && !grants_when_matching(r, client, lists) {
            return false;
        }
        let d = alone(r.clone(), client, lists);
        let certain_match = d.decided_by == DecidedBy::Rule
            && d.uncertain.is_empty()
            && !r.daemons.iter().any(|t| depends_on_server(t));
        if certain_match && d.allowed {
            return true;
        }
    }
    // Nothing in hosts.allow decides for certain: hosts.deny does.
    let d = ha::evaluate(
        &ha::parse(HOSTS_ALLOW, ""),
        deny,
        &Query::sshd(client),
        lists,
    );
    d.allowed
        && d.uncertain.is_empty()
        && !deny
            .rules
            .iter()
            .any(|r| r.daemons.iter().any(|t| depends_on_server(t)) && may_match(r, client, lists))
}

fn internal(line: usize, what: &str) -> ModuleError {
    ModuleError {
        path: HOSTS_ALLOW.to_string(),
        line: (line > 0).then_some(line),
        message: format!("internal error building the hosts.allow edit ({what}); no change proposed, a human must look"),
    }
}

/// The safety net: the candidate `after` must keep every existing rule as
/// libwrap reads it (only shifted below the new lines `new`), grant every
/// `blocked` client by one of the new lines with no uncertainty, and still
/// grant every `allowed` one.
fn check_candidate(
    before: &Rules,
    after: &str,
    deny: &Rules,
    blocked: &[IpAddr],
    allowed: &[IpAddr],
    new: std::ops::Range<usize>,
    lists: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ModuleError> {
    let cand = ha::parse(HOSTS_ALLOW, after);
    let shift = |line: usize| {
        if line >= new.start {
            line + new.len()
        } else {
            line
        }
    };
    let kept: Vec<&Rule> = cand
        .rules
        .iter()
        .filter(|r| !new.contains(&r.line))
        .collect();
    let same_rules = kept.len() == before.rules.len()
        && kept.iter().zip(&before.rules).all(|(k, b)| {
            (
                k.line, k.end_line, &k.text, &k.daemons, &k.clients, &k.options,
            ) == (
                shift(b.line),
                shift(b.end_line),
                &b.text,
                &b.daemons,
                &b.clients,
                &b.options,
            )
        });
    let same_stop = match (&before.stop, &cand.stop) {
        (None, None) => true,
        (Some(b), Some(c)) => shift(b.line) == c.line && b.text == c.text,
        _ => false,
    };
    if !same_rules || !same_stop {
        return Err(internal(
            new.start,
            "the candidate would change how libwrap reads the existing lines",
        ));
    }
    for &client in blocked {
        let d = ha::evaluate(&cand, deny, &Query::sshd(client), lists);
        let still = if !d.allowed {
            Some((
                d.rule.as_ref().map(|r| (r.file.clone(), r.line)),
                d.reason.clone(),
            ))
        } else if let Some(b) =
            first_possible_blocker(&cand, client, lists).filter(|b| b.line < new.start)
        {
            let a = alone(b.clone(), client, lists);
            let why = if !a.uncertain.is_empty() {
                a.uncertain.join("; ")
            } else if a.decided_by == DecidedBy::Rule {
                a.reason
            } else {
                "its daemon list depends on the server address or port".to_string()
            };
            Some((
                Some((b.file.clone(), b.line)),
                format!(
                    "{}:{} `{}` comes first and may deny it: {why}",
                    b.file,
                    b.line,
                    short(&b.text)
                ),
            ))
        } else if !certainly_allowed(&cand, deny, client, lists) {
            Some((None, "the new line is not certainly reached".to_string()))
        } else {
            None
        };
        if let Some((at, why)) = still {
            let (path, line) = at.unwrap_or((HOSTS_ALLOW.to_string(), 0));
            return Err(ModuleError {
                path,
                line: (line > 0).then_some(line),
                message: format!(
                    "even with the new line, libwrap would not certainly grant sshd to {client} ({why}); no change proposed, a human must look at hosts.allow/hosts.deny"
                ),
            });
        }
    }
    for &client in allowed {
        if !ha::evaluate(&cand, deny, &Query::sshd(client), lists).allowed {
            return Err(internal(new.start, "an allowed client would be denied"));
        }
    }
    Ok(())
}

/// One line of a file, shortened for a sentence.
fn short(text: &str) -> String {
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 60 {
        format!("{}…", one.chars().take(60).collect::<String>())
    } else {
        one
    }
}

/// What is at `line` of the current hosts.allow (a rule or the line where
/// libwrap stops), for the reason.
fn what_is_at(rules: &Rules, line: usize) -> String {
    if let Some(r) = rules.rules.iter().find(|r| r.line == line) {
        return format!("`{}`", short(&r.text));
    }
    match &rules.stop {
        Some(s) if s.line == line => format!(
            "`{}`, where libwrap stops reading the file with an error",
            short(&s.text)
        ),
        _ => "it".to_string(),
    }
}

/// What decides today for a blocked client (`d`), or, when it is allowed
/// but not certainly, the hosts.allow rule that may block it.
fn blocker(d: &Decision, may_block: Option<&Rule>) -> String {
    let at = |file: &str, line: usize, text: &str| {
        if line == 0 {
            file.to_string()
        } else {
            format!("`{}` (`{file}:{line}`)", short(text))
        }
    };
    if let (true, Some(r)) = (d.allowed, may_block) {
        return format!(
            "`{}` (`{}:{}`, which may deny it)",
            short(&r.text),
            r.file,
            r.line
        );
    }
    match (d.decided_by, &d.rule) {
        (DecidedBy::FileError, Some(r)) => {
            format!("the read error at {}", at(&r.file, r.line, &r.text))
        }
        (_, Some(r)) if !d.allowed => at(&r.file, r.line, &r.text),
        _ => match d.uncertain.first() {
            Some(u) => format!("an uncertain answer ({u})"),
            None => d.reason.clone(),
        },
    }
}

/// `a, b, c` or `a, b, c and 7 more`.
fn list_some(items: &[&str]) -> String {
    const SHOWN: usize = 4;
    if items.len() <= SHOWN + 1 {
        items.join(", ")
    } else {
        format!(
            "{} and {} more",
            items[..SHOWN].join(", "),
            items.len() - SHOWN
        )
    }
}

fn reason(
    new_lines: &str,
    first_new: usize,
    added: usize,
    before: Option<String>,
    blocked: &[(IpAddr, String, String)],
    ended_tail: bool,
) -> String {
    let lines: Vec<&str> = new_lines
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    let what = match lines.as_slice() {
        [one] => format!("line `{one}` as line {first_new}"),
        _ => format!(
            "{added} `sshd:` lines for {} clients as lines {first_new}-{}",
            blocked.len(),
            first_new + added - 1
        ),
    };
    let place = match before {
        Some(b) => format!("before today's line {first_new} ({b})"),
        None => "at the end".to_string(),
    };
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for (_, pattern, b) in blocked {
        match groups.iter_mut().find(|(g, _)| g == b) {
            Some((_, ps)) => ps.push(pattern),
            None => groups.push((b.clone(), vec![pattern])),
        }
    }
    let overrides: Vec<String> = groups
        .iter()
        .map(|(b, ps)| format!("{b} for {}", list_some(ps)))
        .collect();
    let tail = if ended_tail {
        " (and ends the last line, a comment or blank, with the newline libwrap needs)"
    } else {
        ""
    };
    format!(
        "Add {what} of `{HOSTS_ALLOW}`, {place}{tail}, so that libwrap grants sshd there instead of {}; `{HOSTS_DENY}` is not changed.",
        overrides.join(" and ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::hosts_access::Verdict;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../tests/fixtures/modules/hosts_access/", $name))
        };
    }

    const DEBIAN_ALLOW: &str = fixture!("debian.allow");
    const DEBIAN_DENY: &str = fixture!("debian.deny");
    const DENY_SSHD_ALL: &str = fixture!("deny-sshd-all.deny");
    const DENY_ALL_ALL: &str = fixture!("deny-all-all.deny");
    const SINGLE_FILE: &str = fixture!("single-file.allow");
    const SSHD_DENY: &str = fixture!("sshd-deny.allow");
    const CRLF: &str = fixture!("crlf.allow");
    const NONEWLINE_RULE: &str = fixture!("nonewline-rule.allow");
    const NONEWLINE_COMMENT: &str = fixture!("nonewline-comment.allow");

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn no_lists(_: &str) -> Option<String> {
        None
    }

    /// Addresses next to `c` (which a too-wide line would also let in).
    fn neighbours(c: IpAddr) -> Vec<IpAddr> {
        match c {
            IpAddr::V4(a) => {
                let n = u32::from(a);
                vec![
                    IpAddr::from(std::net::Ipv4Addr::from(n.wrapping_add(1))),
                    IpAddr::from(std::net::Ipv4Addr::from(n.wrapping_sub(1))),
                    IpAddr::from(std::net::Ipv4Addr::from(n ^ 0x0100)),
                ]
            }
            IpAddr::V6(a) => {
                let n = u128::from(a);
                vec![
                    IpAddr::from(std::net::Ipv6Addr::from(n.wrapping_add(1))),
                    IpAddr::from(std::net::Ipv6Addr::from(n.wrapping_sub(1))),
                    IpAddr::from(std::net::Ipv6Addr::from(n ^ (1 << 64))),
                ]
            }
        }
    }

    const STRANGERS: &[&str] = &[
        "10.1.2.3",
        "10.9.9.9",
        "127.0.0.1",
        "192.0.2.99",
        "203.0.113.1",
        "2001:db8::99",
        "2001:db8:1::1",
        "::1",
        "::ffff:10.1.2.3",
    ];

    /// Runs `allow` and checks with the evaluator: every client certainly
    /// granted by an added line afterwards, every other address (strangers
    /// and each client's neighbours) decided exactly as before, hosts.allow
    /// is the path, the original lines are all still there in order.
    fn fixes(allow_text: Option<&str>, deny_text: &str, clients: &[&str]) -> Edit {
        let clients: Vec<IpAddr> = clients.iter().map(|c| ip(c)).collect();
        let edit = allow(
            allow_text,
            Some(deny_text),
            &clients,
            &no_lists,
            "tcp-wrappers-deny",
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("an edit");
        assert_eq!(edit.path, "/etc/hosts.allow");
        assert_eq!(edit.before.as_deref(), allow_text.map(str::as_bytes));
        assert_eq!(edit.validator, Validator::None);
        assert_eq!(edit.finding, "tcp-wrappers-deny");
        let after = String::from_utf8(edit.after.clone()).unwrap();
        let before_rules = ha::parse(HOSTS_ALLOW, allow_text.unwrap_or(""));
        let after_rules = ha::parse(HOSTS_ALLOW, &after);
        let deny = ha::parse(HOSTS_DENY, deny_text);
        assert!(
            after_rules.stop.is_none() || before_rules.stop.is_some(),
            "{after}"
        );
        for &c in &clients {
            let d = ha::evaluate(&after_rules, &deny, &Query::sshd(c), &no_lists);
            assert!(d.allowed, "{c}: {d:#?}\n{after}");
            assert!(
                certainly_allowed(&after_rules, &deny, c, &no_lists),
                "{c}\n{after}"
            );
            assert!(
                !certainly_allowed(&before_rules, &deny, c, &no_lists),
                "{c} was allowed"
            );
            let r = d.rule.unwrap();
            assert_eq!(r.file, HOSTS_ALLOW);
            let line = after.split('\n').nth(r.line - 1).unwrap();
            assert!(line.starts_with("sshd: "), "{line}");
            assert!(!line.contains("ALL"), "{line}");
        }
        let mut others: Vec<IpAddr> = STRANGERS.iter().map(|s| ip(s)).collect();
        others.extend(clients.iter().flat_map(|&c| neighbours(c)));
        for o in others {
            if clients
                .iter()
                .any(|&c| client_pattern(c) == client_pattern(o))
            {
                continue;
            }
            let q = Query::sshd(o);
            let was = ha::evaluate(&before_rules, &deny, &q, &no_lists);
            let now = ha::evaluate(&after_rules, &deny, &q, &no_lists);
            let key = |d: &Decision| {
                (
                    d.allowed,
                    d.verdict,
                    d.decided_by,
                    d.rule.as_ref().map(|r| (r.file.clone(), r.text.clone())),
                    d.needs_name,
                    d.uncertain.len(),
                )
            };
            assert_eq!(key(&was), key(&now), "{o} changed\n{after}");
        }
        // Every original line is still there, in order; the rest are ours.
        let orig: Vec<&str> = allow_text.unwrap_or("").split_inclusive('\n').collect();
        let mut rest = orig.iter().peekable();
        for l in after.split_inclusive('\n') {
            if rest
                .peek()
                .is_some_and(|o| **o == l || format!("{o}\n") == l || format!("{o}\r\n") == l)
            {
                rest.next();
            } else {
                assert!(l.starts_with("sshd: "), "unexpected line {l:?}\n{after}");
            }
        }
        assert_eq!(rest.next(), None, "lost lines\n{after}");
        edit
    }

    fn after(e: &Edit) -> String {
        String::from_utf8(e.after.clone()).unwrap()
    }

    #[test]
    fn nul_bytes_never_swallow_the_new_line() {
        // libwrap drops the rest of a line after a NUL byte and joins the
        // next line to it: a line appended after `# x\0` would be part of
        // the comment. The new line goes before the joining lines.
        for (allow_text, expected) in [
            ("# nul:\0:end\n", "sshd: 192.0.2.10\n# nul:\0:end\n"),
            ("\0\n", "sshd: 192.0.2.10\n\0\n"),
            ("# a\n# b \\\n\0\n", "# a\nsshd: 192.0.2.10\n# b \\\n\0\n"),
            (
                "sshd: 10.9.9.9\0 x\n",
                "sshd: 192.0.2.10\nsshd: 10.9.9.9\0 x\n",
            ),
        ] {
            let e = fixes(Some(allow_text), DENY_SSHD_ALL, &["192.0.2.10"]);
            assert_eq!(after(&e), expected);
        }
    }

    #[test]
    fn debian_defaults_already_allow_everyone() {
        let clients = [ip("192.0.2.10"), ip("2001:db8::7")];
        let r = allow(
            Some(DEBIAN_ALLOW),
            Some(DEBIAN_DENY),
            &clients,
            &no_lists,
            "f",
        );
        assert_eq!(r, Ok(None));
        assert_eq!(allow(None, None, &clients, &no_lists, "f"), Ok(None));
        assert_eq!(
            allow(Some(DEBIAN_ALLOW), Some(DENY_SSHD_ALL), &[], &no_lists, "f"),
            Ok(None)
        );
    }

    #[test]
    fn uncertainty_that_cannot_deny_needs_no_edit() {
        // `.friendly.domain` needs the client's name, but either way the
        // client is granted (by it or by the next line).
        let allow_text = "sshd: .friendly.domain\nsshd: 192.0.2.0/24\n";
        let clients = [ip("192.0.2.10")];
        let r = allow(
            Some(allow_text),
            Some(DENY_SSHD_ALL),
            &clients,
            &no_lists,
            "f",
        );
        assert_eq!(r, Ok(None));
    }

    #[test]
    fn a_grant_only_rule_that_matches_uncertainly_may_stay_before_the_line() {
        // Found by the property test: lines 1-2 are one rule whose client
        // list is `10.0.0.1 sshd ALL`; `sshd` needs the name, `ALL` matches:
        // it can only grant. hosts.deny `sshd: KNOWN` makes today's answer
        // uncertain, so a line is added, after it; the client is then
        // granted by line 1-2 or by the new line, either way.
        let e = fixes(
            Some("sshd: 10.0.0.1 \\\nsshd ALL\n"),
            "sshd: KNOWN\n",
            &["192.0.2.10"],
        );
        assert_eq!(after(&e), "sshd: 10.0.0.1 \\\nsshd ALL\nsshd: 192.0.2.10\n");
    }

    #[test]
    fn allowed_only_if_dns_agrees_gets_a_line() {
        // `ALL: PARANOID` (Debian's commented-out suggestion) denies a client
        // whose reverse name does not verify: not certainly allowed.
        let deny = format!("{DEBIAN_DENY}ALL: PARANOID\n");
        let e = fixes(Some(DEBIAN_ALLOW), &deny, &["192.0.2.10"]);
        assert_eq!(after(&e), format!("{DEBIAN_ALLOW}sshd: 192.0.2.10\n"));
        assert!(
            e.reason.contains(
                "instead of an uncertain answer (pattern `PARANOID` needs the client host name"
            ),
            "{}",
            e.reason
        );
    }

    #[test]
    fn client_allowed_by_an_existing_line_needs_no_edit() {
        let clients = [ip("10.1.7.7"), ip("::ffff:10.1.0.1")];
        assert_eq!(
            allow(
                Some(SSHD_DENY),
                Some(DENY_SSHD_ALL),
                &clients,
                &no_lists,
                "f"
            ),
            Ok(None)
        );
    }

    #[test]
    fn sshd_all_in_deny_appends_at_the_end_of_debian_allow() {
        let e = fixes(Some(DEBIAN_ALLOW), DENY_SSHD_ALL, &["192.0.2.10"]);
        assert_eq!(after(&e), format!("{DEBIAN_ALLOW}sshd: 192.0.2.10\n"));
        assert_eq!(
            e.reason,
            "Add line `sshd: 192.0.2.10` as line 11 of `/etc/hosts.allow`, at the end, so that libwrap grants sshd there instead of `sshd: ALL` (`/etc/hosts.deny:18`) for 192.0.2.10; `/etc/hosts.deny` is not changed."
        );
    }

    #[test]
    fn all_all_in_deny_with_several_clients_one_line() {
        let e = fixes(
            Some(DEBIAN_ALLOW),
            DENY_ALL_ALL,
            &["192.0.2.10", "198.51.100.7", "2001:db8::1", "192.0.2.10"],
        );
        assert_eq!(
            after(&e),
            format!("{DEBIAN_ALLOW}sshd: 192.0.2.10, 198.51.100.7, [2001:db8::1]/128\n")
        );
        assert!(
            e.reason.contains(
                "`ALL: ALL` (`/etc/hosts.deny:2`) for 192.0.2.10, 198.51.100.7, [2001:db8::1]/128"
            ),
            "{}",
            e.reason
        );
    }

    #[test]
    fn missing_hosts_allow_is_created() {
        let e = fixes(None, DENY_SSHD_ALL, &["192.0.2.10"]);
        assert_eq!(e.before, None);
        assert_eq!(e.before_sha256, None);
        assert_eq!(after(&e), "sshd: 192.0.2.10\n");
        // An empty existing file is edited, not created.
        let e = fixes(Some(""), DENY_SSHD_ALL, &["192.0.2.10"]);
        assert_eq!(e.before.as_deref(), Some(&b""[..]));
    }

    #[test]
    fn goes_before_the_sshd_all_deny_rule_of_hosts_allow() {
        let e = fixes(Some(SSHD_DENY), DEBIAN_DENY, &["192.0.2.10"]);
        let lines: Vec<&str> = after(&e)
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
            .leak()
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(
            &lines[10..],
            &[
                "sshd: 10.1.0.0/16",
                "sshd: 192.0.2.10",
                "sshd: ALL : deny",
                "in.tftpd: LOCAL, .my.domain"
            ]
        );
        assert_eq!(
            e.reason,
            "Add line `sshd: 192.0.2.10` as line 12 of `/etc/hosts.allow`, before today's line 12 (`sshd: ALL : deny`), so that libwrap grants sshd there instead of `sshd: ALL : deny` (`/etc/hosts.allow:12`) for 192.0.2.10; `/etc/hosts.deny` is not changed."
        );
    }

    #[test]
    fn goes_before_the_all_all_deny_option_rule_not_before_the_allow_rule() {
        // `.friendly.domain: ALLOW` might match (names) but only ever grants:
        // the new line goes after it, before `ALL: ALL: DENY`.
        let e = fixes(Some(SINGLE_FILE), "", &["192.0.2.10", "2001:db8::1"]);
        let a = after(&e);
        let tail: Vec<&str> = a.lines().skip(10).collect();
        assert_eq!(
            tail,
            [
                "# all rules in one file, hosts_options(5) EXAMPLES",
                "ALL: .friendly.domain: ALLOW",
                "sshd: 192.0.2.10, [2001:db8::1]/128",
                "ALL: ALL: DENY"
            ]
        );
        assert!(
            e.reason
                .contains("instead of `ALL: ALL: DENY` (`/etc/hosts.allow:13`)"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn a_deny_rule_that_might_match_by_name_goes_after_the_new_line() {
        // hosts_options(5): `ALL: .bad.domain: DENY` then `ALL: ALL: ALLOW`.
        // Without the client's name the client is allowed only if its name is
        // not in .bad.domain: not certain, so the line goes before line 1.
        let allow_text = "ALL: .bad.domain: DENY\nALL: ALL: ALLOW\n";
        let e = fixes(Some(allow_text), "", &["192.0.2.10"]);
        assert_eq!(after(&e), format!("sshd: 192.0.2.10\n{allow_text}"));
        assert!(e.reason.contains("instead of `ALL: .bad.domain: DENY` (`/etc/hosts.allow:1`, which may deny it) for 192.0.2.10"), "{}", e.reason);
    }

    #[test]
    fn netgroup_twist_and_server_dependent_rules_are_overridden() {
        for (allow_text, want_first) in [
            ("sshd: 10.0.0.0/8\nsshd: @blocked : deny\nsshd: ALL\n", 2),
            (
                "in.telnetd: ALL : deny\nsshd: 192.0.2.0/24 : twist /bin/echo go away\n",
                2,
            ),
            ("sshd@203.0.113.5: ALL : deny\n", 1),
            ("22: 192.0.2.10 : deny\n", 1),
            (
                "sshd: 192.0.2.10 : severity auth.info : spawn /bin/true : deny\n",
                1,
            ),
        ] {
            let e = fixes(Some(allow_text), "sshd: ALL\n", &["192.0.2.10"]);
            let a = after(&e);
            assert_eq!(
                a.lines().nth(want_first - 1),
                Some("sshd: 192.0.2.10"),
                "{a}"
            );
        }
        // A port pattern that cannot match the client leaves the line at the end.
        let e = fixes(
            Some("22: 10.0.0.1 : deny\n"),
            "sshd: ALL\n",
            &["192.0.2.10"],
        );
        assert_eq!(after(&e), "22: 10.0.0.1 : deny\nsshd: 192.0.2.10\n");
    }

    #[test]
    fn twist_in_hosts_deny() {
        let e = fixes(
            Some(DEBIAN_ALLOW),
            "sshd: ALL : twist /bin/echo go away\n",
            &["192.0.2.10"],
        );
        assert!(
            e.reason
                .contains("`sshd: ALL : twist /bin/echo go away` (`/etc/hosts.deny:1`)"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn crlf_file_keeps_crlf() {
        let e = fixes(Some(CRLF), DENY_SSHD_ALL, &["192.0.2.10"]);
        let a = after(&e);
        assert!(
            a.contains("\r\nsshd: 192.0.2.10\r\nsshd: ALL : deny\r\n"),
            "{a:?}"
        );
        assert_eq!(a.matches("\r\n").count(), a.matches('\n').count());
    }

    #[test]
    fn unterminated_last_rule_is_left_alone_and_the_line_goes_before_it() {
        // libwrap ignores `sshd: 10.1.0.0/16` (no newline): 10.1.2.3 stays denied.
        let e = fixes(Some(NONEWLINE_RULE), DENY_SSHD_ALL, &["192.0.2.10"]);
        let a = after(&e);
        assert!(
            a.ends_with("#\n\nsshd: 192.0.2.10\nsshd: 10.1.0.0/16"),
            "{a:?}"
        );
        assert!(e.reason.contains("before today's line 11 (`sshd: 10.1.0.0/16`, where libwrap stops reading the file with an error)"), "{}", e.reason);
    }

    #[test]
    fn unterminated_last_comment_gets_its_newline() {
        let e = fixes(Some(NONEWLINE_COMMENT), DENY_SSHD_ALL, &["192.0.2.10"]);
        assert_eq!(
            after(&e),
            format!("{NONEWLINE_COMMENT}\nsshd: 192.0.2.10\n")
        );
        assert!(
            e.reason.contains("ends the last line, a comment or blank"),
            "{}",
            e.reason
        );
        // A blank last line without newline too.
        let e = fixes(Some("sshd: 10.0.0.1\n  "), DENY_SSHD_ALL, &["192.0.2.10"]);
        assert_eq!(after(&e), "sshd: 10.0.0.1\n  \nsshd: 192.0.2.10\n");
    }

    #[test]
    fn too_long_line_in_hosts_allow_goes_before_it() {
        let long = format!("sshd: {} : deny\n", "10.9.0.1 ".repeat(300));
        let allow_text = format!("sshd: 10.1.0.0/16\n{long}sshd: 192.0.2.10\n");
        let e = fixes(Some(&allow_text), DENY_SSHD_ALL, &["192.0.2.10"]);
        assert_eq!(
            after(&e),
            format!("sshd: 10.1.0.0/16\nsshd: 192.0.2.10\n{long}sshd: 192.0.2.10\n")
        );
    }

    #[test]
    fn ipv6_and_mapped_clients() {
        let e = fixes(
            Some(DEBIAN_ALLOW),
            DENY_ALL_ALL,
            &["2001:db8::1", "::ffff:192.0.2.10", "fe80::1"],
        );
        assert!(after(&e).ends_with("\nsshd: [2001:db8::1]/128, 192.0.2.10, [fe80::1]/128\n"));
        assert_eq!(client_pattern(ip("::ffff:10.0.0.5")), "10.0.0.5");
        // The plain `[addr]` form would make libwrap look up every other
        // client's host name; the `/128` form does not.
        let deny = ha::parse(HOSTS_DENY, DENY_SSHD_ALL);
        let stranger = Query::sshd(ip("192.0.2.99"));
        let plain = ha::parse(HOSTS_ALLOW, "sshd: [2001:db8::1]\n");
        assert!(ha::evaluate(&plain, &deny, &stranger, &no_lists).needs_name);
        let masked = ha::parse(HOSTS_ALLOW, "sshd: [2001:db8::1]/128\n");
        assert!(!ha::evaluate(&masked, &deny, &stranger, &no_lists).needs_name);
    }

    #[test]
    fn many_clients_are_split_below_libwraps_line_limit() {
        let clients: Vec<String> = (1..=120)
            .map(|i| format!("2001:db8:aaaa:bbbb:cccc:dddd:eeee:{i:x}"))
            .collect();
        let refs: Vec<&str> = clients.iter().map(String::as_str).collect();
        let e = fixes(Some(DEBIAN_ALLOW), DENY_SSHD_ALL, &refs);
        let a = after(&e);
        let added: Vec<&str> = a.lines().filter(|l| l.starts_with("sshd: ")).collect();
        assert!(added.len() > 1);
        assert!(added.iter().all(|l| l.len() <= MAX_LINE));
        assert!(
            e.reason.contains("lines for 120 clients as lines 11-"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn lists_are_consulted() {
        let allow_text = "sshd: /etc/ssh/blocked : deny\n";
        let clients = [ip("192.0.2.10")];
        let lists = |p: &str| (p == "/etc/ssh/blocked").then(|| "10.0.0.1\n".to_string());
        // The list does not name the client: the line goes at the end.
        let e = allow(Some(allow_text), Some("sshd: ALL\n"), &clients, &lists, "f")
            .unwrap()
            .unwrap();
        assert_eq!(
            after(&e),
            "sshd: /etc/ssh/blocked : deny\nsshd: 192.0.2.10\n"
        );
        // An unknown list might: before it.
        let e = allow(
            Some(allow_text),
            Some("sshd: ALL\n"),
            &clients,
            &no_lists,
            "f",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            after(&e),
            "sshd: 192.0.2.10\nsshd: /etc/ssh/blocked : deny\n"
        );
    }

    const PIECES: &[&str] = &[
        "sshd: ALL : deny\n",
        "ALL: ALL\n",
        "ALL: ALL: DENY\n",
        "ALL: ALL: ALLOW\n",
        "sshd: 192.0.2.0/24\n",
        "sshd: 192.0.2.10 : twist /bin/echo no\n",
        "sshd: .example.com : deny\n",
        "sshd: @ng\n",
        "sshd@10.0.0.1: ALL : deny\n",
        "22: ALL : deny\n",
        "sshd: [2001:db8::]/32 : deny\n",
        "sshd: ALL EXCEPT 192.0.2.10 : deny\n",
        "sshd: KNOWN\n",
        "sshd: ALL : user nobody\n",
        "sshd: 10.0.0.1 \\\n",
        "# comment\n",
        "# comment \\\n",
        "\n",
        "\r\n",
        "sshd: ALL: deny\r\n",
        "sshd ALL\n",
        "  # sshd: ALL\n",
        "sshd: ALL :\n",
        "sshd: ALL",
        "# no newline",
    ];

    fn file_strategy() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            3 => prop::collection::vec(prop::sample::select(PIECES), 0..6).prop_map(|v| v.concat()),
            1 => "(?s).{0,120}",
        ]
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_every_edit_certainly_allows(
            allow_text in proptest::option::weighted(0.9, file_strategy()),
            deny_text in file_strategy(),
            picks in proptest::collection::vec(0usize..5, 1..4),
        ) {
            let pool = ["192.0.2.10", "192.0.2.11", "2001:db8::1", "::ffff:192.0.2.10", "10.0.0.1"];
            let clients: Vec<IpAddr> = picks.iter().map(|&i| ip(pool[i])).collect();
            let r = allow(allow_text.as_deref(), Some(&deny_text), &clients, &no_lists, "f");
            let deny = ha::parse(HOSTS_DENY, &deny_text);
            match r {
                Ok(Some(e)) => {
                    let a = ha::parse(HOSTS_ALLOW, std::str::from_utf8(&e.after).unwrap());
                    for &c in &clients {
                        proptest::prop_assert!(certainly_allowed(&a, &deny, c, &no_lists), "{c}: {e:#?}");
                    }
                }
                Ok(None) => {
                    let a = ha::parse(HOSTS_ALLOW, allow_text.as_deref().unwrap_or(""));
                    for &c in &clients {
                        proptest::prop_assert!(certainly_allowed(&a, &deny, c, &no_lists));
                    }
                }
                Err(e) => proptest::prop_assert!(false, "{e}"),
            }
        }
    }

    /// The safety net on candidates built the naive way (appended at the end).
    fn naive(allow_text: &str, deny_text: &str, client: &str) -> Result<(), ModuleError> {
        let before = ha::parse(HOSTS_ALLOW, allow_text);
        let after = format!("{allow_text}sshd: {client}\n");
        let n = allow_text.matches('\n').count() + 1;
        check_candidate(
            &before,
            &after,
            &ha::parse(HOSTS_DENY, deny_text),
            &[ip(client)],
            &[],
            n..n + 1,
            &no_lists,
        )
    }

    #[test]
    fn safety_net_refuses_candidates_that_do_not_allow() {
        let e = naive("sshd: ALL : deny\n", "", "192.0.2.10").unwrap_err();
        assert_eq!((e.path.as_str(), e.line), ("/etc/hosts.allow", Some(1)));
        assert!(
            e.message
                .contains("would not certainly grant sshd to 192.0.2.10"),
            "{e}"
        );
        assert!(e.message.contains("with option `deny`"), "{e}");
        assert!(e.to_string().contains("a human must look"));
        let e = naive(
            "sshd: ALL : spawn /bin/true : twist /bin/echo no\n",
            "",
            "192.0.2.10",
        )
        .unwrap_err();
        assert!(e.message.contains("twist"), "{e}");
        let e = naive("sshd: @blocked : deny\n", "", "192.0.2.10").unwrap_err();
        assert!(
            e.message
                .contains("`sshd: @blocked : deny` comes first and may deny it"),
            "{e}"
        );
        assert!(
            e.message.contains("netgroup `@blocked` was consulted"),
            "{e}"
        );
        let e = naive("sshd@203.0.113.5: ALL : deny\n", "", "192.0.2.10").unwrap_err();
        assert!(
            e.message.contains("depends on the server address or port"),
            "{e}"
        );
        // A candidate that changes how an existing line is read.
        let before = ha::parse(HOSTS_ALLOW, "sshd: 10.0.0.1 \\\n");
        let e = check_candidate(
            &before,
            "sshd: 10.0.0.1 \\\nsshd: 192.0.2.10\n",
            &ha::parse(HOSTS_DENY, ""),
            &[ip("192.0.2.10")],
            &[],
            2..3,
            &no_lists,
        )
        .unwrap_err();
        assert!(e.message.contains("internal error"), "{e}");
        // And passes a good one.
        assert_eq!(
            naive("sshd: 10.0.0.1 : deny\n", "ALL: ALL\n", "192.0.2.10"),
            Ok(())
        );
    }

    #[test]
    fn the_evaluator_agrees_the_new_line_decides() {
        let e = fixes(Some(SSHD_DENY), DENY_ALL_ALL, &["192.0.2.10"]);
        let d = ha::evaluate(
            &ha::parse(HOSTS_ALLOW, &after(&e)),
            &ha::parse(HOSTS_DENY, DENY_ALL_ALL),
            &Query::sshd(ip("192.0.2.10")),
            &no_lists,
        );
        assert_eq!((d.verdict, d.rule.unwrap().line), (Verdict::Granted, 12));
    }
}
