//! The `haproxy` fix module: puts the proxies that carry SSH into `mode tcp` (with `option tcplog`), never touching `defaults` or unrelated proxies.
//!
//! Which sections change (all read with [`crate::facts::haproxy`]):
//!
//! - every frontend/listen with a `bind` on the SSH port (`port`) whose
//!   effective mode is `http`, and every backend (`default_backend`,
//!   `use_backend`) such a section routes to;
//! - every backend/listen with a `server` on the SSH port (SSH on the far side,
//!   as the `lb-http-mode` facts see it), and every frontend/listen that routes
//!   to such a backend (the lab's `frontend :2222` → `backend server h1:22`);
//!
//! of those, the ones whose effective mode is `http`. In each: its own
//! `mode http` lines become `mode tcp` in place (indentation, separators and
//! comments kept); a mode inherited from `defaults` gets a `mode tcp` line
//! inserted right after the section header (the `defaults` section is never
//! edited: other proxies inherit it). Likewise a section's own
//! `option httplog`/`httpslog` becomes `option tcplog` (haproxy 2.6 warns
//! about httplog in a tcp proxy, backends included), and a frontend/listen
//! that inherits `option httplog` gets `option tcplog` added (a backend does
//! not: haproxy is silent about an inherited one there, and warns that it
//! ignores an added one).
//! New lines use the section's indentation and the header line's ending.
//!
//! Refusals (a [`FixError`] naming file:line):
//! - a section to switch that also binds something other than the SSH port
//!   (`mode tcp` would break the HTTP it serves there; split the section);
//! - a frontend to switch that also routes to a backend that does not carry
//!   SSH. The frontend must be tcp (haproxy 2.6 refuses an http frontend
//!   with a tcp backend, checked with `-c`), and in tcp its HTTP rules no
//!   longer apply to the web traffic. This is also how a backend shared by
//!   SSH and a web frontend is caught: that frontend routes to both;
//! - a run-time `use_backend %[…]` in a section to switch.
//!
//! HTTP-only directives (`http-request`, `redirect`, `cookie`,
//! `option forwardfor`, …) left in a switched section are not a refusal:
//! haproxy 2.6 `-c` accepts them in `mode tcp` with a warning and ignores
//! them, and they never applied to SSH connections anyway (an SSH client
//! speaking to an HTTP proxy only ever got `400 Bad Request`). The edit's
//! reason lists them, file:line, so the reviewer can delete them.
//!
//! The edit is validated with `haproxy -c -f` ([`Validator::Haproxy`]), and
//! haproxy is reloaded. Nothing in `mode http` → empty proposal.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use super::{FixError, Host, Proposal};
use crate::change::{Action, Edit, Op, Validator};
use crate::facts::haproxy::{self as hp, HaproxyConfig, Mode, SectionKind};

/// Where Debian, RHEL and Alpine keep the configuration.
pub const DEFAULT_CONFIG: &str = "/etc/haproxy/haproxy.cfg";

/// The arguments of a `haproxy` fix task.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskArgs {
    /// The SSH port (default: the host's SSH port).
    #[serde(default)]
    port: Option<u16>,
    /// The configuration file (default [`DEFAULT_CONFIG`]).
    #[serde(default)]
    config: Option<String>,
}

/// Directives (first word) that only act in `mode http`.
const HTTP_ONLY: &[&str] = &[
    "http-request",
    "http-response",
    "http-after-response",
    "http-reuse",
    "http-error",
    "redirect",
    "cookie",
    "capture",
    "compression",
    "stats",
    "errorfile",
    "errorloc",
    "errorloc302",
    "errorloc303",
];

/// `option` names that only act in `mode http`.
const HTTP_ONLY_OPTIONS: &[&str] = &[
    "forwardfor",
    "originalto",
    "http-server-close",
    "httpclose",
    "http-keep-alive",
    "http-pretend-keepalive",
    "http-buffer-request",
    "http-no-delay",
    "http-ignore-probes",
    "http_proxy",
    "accept-invalid-http-request",
    "accept-invalid-http-response",
];

/// Runs a `haproxy` fix task.
pub fn task(host: &Host, args: &Value, finding: &str) -> Result<Proposal, FixError> {
    let a: TaskArgs = super::args("haproxy", args)?;
    let port = a.port.unwrap_or(host.port);
    let path = a.config.unwrap_or_else(|| DEFAULT_CONFIG.to_string());
    let Some(bytes) = host.files.get(&path) else {
        return Err(FixError::new(format!(
            "`haproxy`: `{path}` was not read on the host (missing or unreadable); give the configuration file with `config:`"
        )));
    };
    let text = super::utf8_text(&path, bytes, "edit it by hand")?;
    match tcp_for_ssh(&path, text, port)? {
        None => Ok(Proposal::default()),
        Some((after, reason)) => Ok(Proposal {
            edits: vec![Edit::new(
                path,
                Some(bytes),
                after.into_bytes(),
                Validator::Haproxy,
                finding,
                reason,
            )],
            actions: vec![Action::new(
                Op::Reload {
                    target: "haproxy".into(),
                },
                finding,
                "haproxy reads its configuration only at (re)load",
            )],
        }),
    }
}

/// A section's display name: `frontend ssh_in`.
fn label(cfg: &HaproxyConfig, i: usize) -> String {
    let s = &cfg.sections[i];
    match &s.name {
        Some(n) => format!("{} {n}", s.keyword),
        None => s.keyword.clone(),
    }
}

/// The backend/listen sections named `name` (a listen is a backend too).
fn backend_named(cfg: &HaproxyConfig, name: &str) -> Option<usize> {
    cfg.sections.iter().position(|s| {
        matches!(s.kind, SectionKind::Backend | SectionKind::Listen)
            && s.name.as_deref() == Some(name)
    })
}

/// The backends frontend/listen `i` routes to. A name chosen at run time
/// (`%[…]`) is an error when `strict` (the section is to be switched), and
/// skipped otherwise (an unrelated frontend must not block the fix).
fn backends_of(
    path: &str,
    cfg: &HaproxyConfig,
    i: usize,
    strict: bool,
) -> Result<Vec<usize>, FixError> {
    let s = &cfg.sections[i];
    let mut out = Vec::new();
    for b in s.default_backend.iter().chain(s.use_backends.iter()) {
        if b.value.contains("%[") {
            if !strict {
                continue;
            }
            return Err(FixError::new(format!(
                "{path}:{}: `{}` picks its backend at run time (`{}`), so which backends carry SSH cannot be known; set `mode tcp` by hand",
                b.line,
                label(cfg, i),
                b.value
            )));
        }
        if let Some(j) = backend_named(cfg, &b.value) {
            if !out.contains(&j) {
                out.push(j);
            }
        }
    }
    Ok(out)
}

fn is_http(cfg: &HaproxyConfig, i: usize) -> bool {
    cfg.effective_mode(i).mode == Mode::Http
}

fn is_front(cfg: &HaproxyConfig, i: usize) -> bool {
    matches!(
        cfg.sections[i].kind,
        SectionKind::Frontend | SectionKind::Listen
    )
}

/// The sections to switch to `mode tcp` (sorted), after the refusals in the module doc.
pub fn sections_to_switch(
    path: &str,
    cfg: &HaproxyConfig,
    port: u16,
) -> Result<Vec<usize>, FixError> {
    // entry sections bind the SSH port; ssh backends carry it to servers
    let entries: BTreeSet<usize> = cfg.serving_port(port).iter().map(|s| s.section).collect();
    let mut ssh_backends: BTreeSet<usize> = cfg
        .forwarding_to_port(port)
        .iter()
        .map(|f| f.section)
        .collect();
    for &e in &entries {
        ssh_backends.extend(backends_of(path, cfg, e, true)?);
    }
    // every frontend routing to an ssh backend carries SSH too
    let mut fronts: BTreeSet<usize> = entries.clone();
    for (i, _) in cfg.sections.iter().enumerate() {
        if is_front(cfg, i)
            && backends_of(path, cfg, i, false)?
                .iter()
                .any(|b| ssh_backends.contains(b))
        {
            fronts.insert(i);
        }
    }
    let mut switch: BTreeSet<usize> = BTreeSet::new();
    for &f in &fronts {
        if !is_http(cfg, f) {
            continue;
        }
        switch.insert(f);
        for b in backends_of(path, cfg, f, false)? {
            if is_http(cfg, b) {
                switch.insert(b);
            }
        }
    }
    for &b in &ssh_backends {
        if is_http(cfg, b) {
            switch.insert(b);
        }
    }
    if switch.is_empty() {
        return Ok(Vec::new());
    }
    for &i in &switch {
        let s = &cfg.sections[i];
        // a switched entry must not serve other ports
        if entries.contains(&i) {
            if let Some(b) = s.binds.iter().find(|b| !b.covers(port)) {
                return Err(FixError::new(format!(
                    "{path}:{}: `{}` serves SSH port {port} but also `{}`; `mode tcp` would break the HTTP it serves there — move the SSH `bind` into a `listen` or `frontend` of its own",
                    b.line,
                    label(cfg, i),
                    b.text
                )));
            }
        }
        // a switched frontend must not route to an HTTP backend that does not carry SSH
        if is_front(cfg, i) && !entries.contains(&i) {
            // strict: a run-time choice may pick an HTTP backend
            for b in backends_of(path, cfg, i, true)? {
                if b != i && !ssh_backends.contains(&b) && is_http(cfg, b) {
                    return Err(FixError::new(format!(
                        "{path}:{}: `{}` routes to SSH and also to `{}`, which serves HTTP; the frontend must be `mode tcp` for SSH (haproxy refuses an http frontend with a tcp backend), which would end its HTTP processing (`http-request` rules, HTTP conditions) for the web traffic too — give SSH a frontend of its own",
                        cfg.sections[i].line,
                        label(cfg, i),
                        label(cfg, b)
                    )));
                }
            }
        }
    }
    Ok(switch.into_iter().collect())
}

/// The `option tcplog|httplog` section `i` runs with (own or inherited) and whether it is its own.
fn effective_log(cfg: &HaproxyConfig, i: usize) -> Option<(String, bool)> {
    let mut current = Some(i);
    let mut hops = 0;
    while let Some(k) = current {
        if let Some(l) = &cfg.sections.get(k)?.log_option {
            return Some((l.value.clone(), k == i));
        }
        hops += 1;
        if hops > cfg.sections.len() {
            return None;
        }
        current = cfg.defaults_for(k);
    }
    None
}

/// The text up to the comment of a line without quotes (mode/option lines).
fn split_comment(body: &str) -> (&str, &str) {
    match body.find('#') {
        Some(p) => (&body[..p], &body[p..]),
        None => (body, ""),
    }
}

/// `body` (no line ending) with its directive replaced by `new`, keeping the
/// indentation, the separator after the first word and a trailing comment.
fn replace_directive(body: &str, new_second: &str) -> String {
    let (code, comment) = split_comment(body);
    let indent_len = code.len() - code.trim_start().len();
    let rest = &code[indent_len..];
    let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let after_word = &rest[word_end..];
    let sep_len = after_word.len() - after_word.trim_start().len();
    let tail_ws = &code[code.trim_end().len()..];
    let tail_ws = if comment.is_empty() { "" } else { tail_ws };
    format!(
        "{}{}{}{}{}{}",
        &code[..indent_len],
        &rest[..word_end],
        &after_word[..sep_len],
        new_second,
        if comment.is_empty() {
            ""
        } else if tail_ws.is_empty() {
            " "
        } else {
            tail_ws
        },
        comment
    )
}

/// One line split into its body and its ending (`\n`, `\r\n` or none).
fn split_ending(line: &str) -> (&str, &str) {
    if let Some(b) = line.strip_suffix("\r\n") {
        (b, "\r\n")
    } else if let Some(b) = line.strip_suffix('\n') {
        (b, "\n")
    } else {
        (line, "")
    }
}

/// The candidate text and the reason, or `None` when nothing carries SSH in `mode http`.
pub fn tcp_for_ssh(
    path: &str,
    text: &str,
    port: u16,
) -> Result<Option<(String, String)>, FixError> {
    let cfg = hp::parse(text);
    let switch = sections_to_switch(path, &cfg, port)?;
    if switch.is_empty() {
        return Ok(None);
    }
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let dominant_crlf = lines.iter().filter(|l| l.ends_with("\r\n")).count() * 2 > lines.len();
    let file_eol = if dominant_crlf { "\r\n" } else { "\n" };
    // insertions after header lines: (0-based header index, lines to insert)
    let mut inserts: Vec<(usize, Vec<String>)> = Vec::new();
    let mut what: Vec<String> = Vec::new();
    let mut inherited = false;
    let mut http_only: Vec<String> = Vec::new();
    for &i in &switch {
        let s = &cfg.sections[i];
        let start = s.line; // header, 1-based
        let end = cfg
            .sections
            .get(i + 1)
            .map(|n| n.line - 1)
            .unwrap_or(lines.len());
        let mut indent: Option<String> = None;
        let mut own_mode = false;
        let mut own_log = false;
        let mut log_changed = false;
        // an inherited httplog is silent in a tcp backend, an added tcplog
        // would make haproxy warn that it ignores log options in backends
        let front = is_front(&cfg, i);
        for n in start + 1..=end {
            let (body, eol) = split_ending(&lines[n - 1]);
            let w = words_of(body);
            let Some(first) = w.first() else { continue };
            if indent.is_none() {
                indent = Some(body[..body.len() - body.trim_start().len()].to_string());
            }
            let second = w.get(1).map(|x| x.to_ascii_lowercase());
            match (first.as_str(), second.as_deref()) {
                ("mode", Some("http")) => {
                    lines[n - 1] = format!("{}{eol}", replace_directive(body, "tcp"));
                    own_mode = true;
                }
                ("mode", _) => own_mode = true,
                ("option", Some("httplog" | "httpslog")) => {
                    lines[n - 1] = format!("{}{eol}", replace_directive(body, "tcplog"));
                    own_log = true;
                    log_changed = true;
                }
                ("option", Some("tcplog")) => own_log = true,
                ("option", Some(o)) if HTTP_ONLY_OPTIONS.contains(&o) => {
                    http_only.push(format!("{path}:{n}: {}", body.trim()));
                }
                (f, _) if HTTP_ONLY.contains(&f) => {
                    http_only.push(format!("{path}:{n}: {}", body.trim()));
                }
                _ => {}
            }
        }
        let indent = indent.unwrap_or_else(|| file_indent(text));
        let mut new_lines = Vec::new();
        let mode = cfg.effective_mode(i);
        if !own_mode {
            new_lines.push(format!("{indent}mode tcp"));
        }
        let inherited_httplog = front
            && !own_log
            && matches!(effective_log(&cfg, i), Some((ref l, false)) if l == "httplog");
        if inherited_httplog {
            new_lines.push(format!("{indent}option tcplog"));
        }
        if !new_lines.is_empty() {
            inserts.push((start - 1, new_lines));
        }
        let mut change = match &mode.source {
            hp::ModeSource::Defaults { line, .. } => {
                inherited = true;
                format!("`mode tcp` added (it inherits `mode http` from line {line})")
            }
            _ => "`mode http` → `mode tcp`".to_string(),
        };
        if inherited_httplog {
            change.push_str(", `option tcplog` added");
        } else if log_changed {
            change.push_str(", `option httplog` → `option tcplog`");
        }
        what.push(format!("`{}` (line {}: {change})", label(&cfg, i), s.line));
    }
    // apply insertions from the bottom up so indexes stay valid
    for (h, new_lines) in inserts.into_iter().rev() {
        let (body, eol) = split_ending(&lines[h]);
        let eol = if eol.is_empty() { file_eol } else { eol }.to_string();
        lines[h] = format!("{body}{eol}");
        for (k, l) in new_lines.into_iter().enumerate() {
            lines.insert(h + 1 + k, format!("{l}{eol}"));
        }
    }
    let after: String = lines.concat();
    let mut reason = format!(
        "SSH through haproxy needs `mode tcp` (in `mode http` haproxy answers SSH clients with `400 Bad Request`): {}",
        what.join("; ")
    );
    if inherited {
        reason.push_str("; `defaults` stays as it is for the other proxies");
    }
    if !http_only.is_empty() {
        reason.push_str(&format!(
            "; haproxy ignores these HTTP-only lines in `mode tcp` (they never applied to SSH) — delete them if you like: {}",
            http_only.join("; ")
        ));
    }
    // safety net: the candidate must carry SSH in tcp everywhere
    let check = hp::parse(&after);
    let still: Vec<usize> = sections_to_switch(path, &check, port)?;
    if !still.is_empty() {
        return Err(FixError::new(format!(
            "{path}: after the edit `{}` would still run in `mode http`; set `mode tcp` by hand",
            label(&check, still[0])
        )));
    }
    Ok(Some((after, reason)))
}

/// The indentation of the file's first indented directive (a tab if none).
fn file_indent(text: &str) -> String {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .find(|l| {
            !l.trim().is_empty() && !l.trim_start().starts_with('#') && l.starts_with([' ', '\t'])
        })
        .map(|l| l[..l.len() - l.trim_start().len()].to_string())
        .unwrap_or_else(|| "\t".into())
}

/// The words of a line, as the facts parser splits them (first two only matter here):
/// quotes and backslashes removed as haproxy reads them (`mode "http"` is `mode http`).
fn words_of(body: &str) -> Vec<String> {
    let (code, _) = split_comment(body);
    code.split_whitespace()
        .map(|w| {
            let mut out = String::new();
            let mut chars = w.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.extend(chars.next()),
                    '"' | '\'' => {}
                    c => out.push(c),
                }
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::command::test_host::Fixture;
    use super::*;
    use serde_json::json;

    const P: &str = "/etc/haproxy/haproxy.cfg";
    const DEF: &str = "defaults\n\tmode http\n\toption httplog\n\n";

    fn fix(text: &str) -> Result<Option<(String, String)>, FixError> {
        tcp_for_ssh(P, text, 22)
    }

    fn after(text: &str) -> String {
        fix(text).unwrap().expect("a change").0
    }

    #[test]
    fn own_mode_line_changes_in_place_with_its_comment() {
        let t = "frontend ssh\n  bind :22\n  mode\thttp   # was web\n  option httplog clf\n  default_backend b\nbackend b\n  mode HTTP\n  server s 10.0.0.1:22\n";
        assert_eq!(
            after(t),
            "frontend ssh\n  bind :22\n  mode\ttcp   # was web\n  option tcplog\n  default_backend b\nbackend b\n  mode tcp\n  server s 10.0.0.1:22\n"
        );
    }

    #[test]
    fn inherited_mode_gets_a_line_after_the_header() {
        let t = format!("{DEF}listen ssh # bastion\n    bind :22\n    server s 10.0.0.1\n");
        let a = after(&t);
        assert_eq!(
            a,
            format!("{DEF}listen ssh # bastion\n    mode tcp\n    option tcplog\n    bind :22\n    server s 10.0.0.1\n")
        );
        assert!(fix(&a).unwrap().is_none(), "idempotent");
    }

    #[test]
    fn an_empty_last_section_without_newline() {
        // the backend has no lines: the file's first indentation (the tab of
        // `defaults`), and a newline added
        let t = format!("{DEF}frontend f\n  bind :22\n  default_backend b\nbackend b");
        assert_eq!(
            after(&t),
            format!("{DEF}frontend f\n  mode tcp\n  option tcplog\n  bind :22\n  default_backend b\nbackend b\n\tmode tcp\n")
        );
    }

    #[test]
    fn httpslog_and_a_backend_own_httplog() {
        let t = "frontend f\n\tbind :22\n\tmode http\n\toption httpslog\n\tdefault_backend b\nbackend b\n\tmode http\n\toption httplog\n\tserver s 10.0.0.1:22\n";
        let a = after(t);
        assert_eq!(a.matches("option tcplog").count(), 2, "{a}");
        assert!(!a.contains("httpslog"));
    }

    /// Regression (tests/edit_properties.rs): a quoted `mode "http"`, which
    /// haproxy and the facts parser read as `mode http`, was left as it was
    /// and the fix refused ("would still run in `mode http`").
    #[test]
    fn quoted_mode_and_option_words_are_switched() {
        let t = "listen ssh\n\tserver s1 10.0.0.1:22\n\tmode \"http\"\n\toption 'httplog'\n";
        assert_eq!(
            after(t),
            "listen ssh\n\tserver s1 10.0.0.1:22\n\tmode tcp\n\toption tcplog\n"
        );
    }

    #[test]
    fn nothing_to_do() {
        // tcp already, by builtin default or own line
        assert!(fix("listen ssh\n bind :22\n server s 10.0.0.1:22\n")
            .unwrap()
            .is_none());
        assert!(fix(&format!("{DEF}listen ssh\n mode tcp\n bind :22\n"))
            .unwrap()
            .is_none());
        // http proxies not carrying SSH are left alone
        assert!(fix(&format!("{DEF}frontend web\n bind :80\n default_backend w\nbackend w\n server a 10.0.0.1:8080\n")).unwrap().is_none());
        // an empty file
        assert!(fix("").unwrap().is_none());
    }

    #[test]
    fn another_port_serves_ssh_when_asked() {
        let t = format!("{DEF}listen ssh\n bind :2200\n server s 10.0.0.1:2200\n");
        assert!(tcp_for_ssh(P, &t, 22).unwrap().is_none());
        assert!(tcp_for_ssh(P, &t, 2200).unwrap().is_some());
    }

    #[test]
    fn http_only_lines_are_listed_not_refused() {
        let t = format!("{DEF}listen ssh\n bind :22\n http-request deny if {{ path /x }}\n option forwardfor\n cookie SRV insert\n server s 10.0.0.1:22\n");
        let (_, reason) = fix(&t).unwrap().unwrap();
        assert!(reason.contains(&format!("{P}:7: http-request deny if {{ path /x }}; {P}:8: option forwardfor; {P}:9: cookie SRV insert")), "{reason}");
    }

    #[test]
    fn refuses_a_section_that_also_serves_other_ports() {
        let t = format!("{DEF}listen mixed\n bind :22\n bind :80\n server s 10.0.0.1\n");
        let e = fix(&t).unwrap_err().message;
        assert_eq!(
            e,
            format!("{P}:7: `listen mixed` serves SSH port 22 but also `bind :80`; `mode tcp` would break the HTTP it serves there — move the SSH `bind` into a `listen` or `frontend` of its own")
        );
    }

    #[test]
    fn refuses_a_frontend_routing_to_ssh_and_to_web() {
        let t = format!("{DEF}frontend web\n bind :80\n use_backend ssh if {{ path /ssh }}\n default_backend w\nbackend w\n server a 10.0.0.1:8080\nbackend ssh\n server b 10.0.0.2:22\n");
        let e = fix(&t).unwrap_err().message;
        assert!(
            e.starts_with(&format!(
                "{P}:5: `frontend web` routes to SSH and also to `backend w`"
            )),
            "{e}"
        );
    }

    #[test]
    fn refuses_a_dynamic_backend() {
        let t = format!("{DEF}frontend f\n bind :22\n use_backend %[req.hdr(host),lower]\n");
        let e = fix(&t).unwrap_err().message;
        assert!(
            e.starts_with(&format!(
                "{P}:7: `frontend f` picks its backend at run time"
            )),
            "{e}"
        );
    }

    #[test]
    fn task_reads_the_host_and_its_arguments() {
        // the real lab load balancer: frontend :2222 → backend server h1:22
        let mut f = Fixture::load("lb-http");
        let p = task(&f.host(), &json!({}), "lb-http-mode").unwrap();
        assert_eq!(p.edits.len(), 1);
        assert_eq!(p.edits[0].validator, Validator::Haproxy);
        assert_eq!(p.edits[0].finding, "lb-http-mode");
        assert_eq!(
            p.actions[0].op,
            Op::Reload {
                target: "haproxy".into()
            }
        );
        // port 2222 alone: the frontend binds it, its backend follows
        let p2 = task(&f.host(), &json!({"port": 2222}), "lb-http-mode").unwrap();
        assert_eq!(p2.edits[0].after, p.edits[0].after);
        // another config path
        let text = f.files.remove(P).unwrap();
        let e = task(&f.host(), &json!({}), "x").unwrap_err().message;
        assert!(
            e.contains("`/etc/haproxy/haproxy.cfg` was not read on the host"),
            "{e}"
        );
        f.files.insert("/etc/haproxy/lb.cfg".into(), text);
        assert_eq!(
            task(&f.host(), &json!({"config": "/etc/haproxy/lb.cfg"}), "x")
                .unwrap()
                .edits[0]
                .path,
            "/etc/haproxy/lb.cfg"
        );
        f.files
            .insert("/etc/haproxy/bad.cfg".into(), vec![0xff, 0xfe]);
        assert!(
            task(&f.host(), &json!({"config": "/etc/haproxy/bad.cfg"}), "x")
                .unwrap_err()
                .message
                .contains("not UTF-8")
        );
        assert!(task(&f.host(), &json!({"ports": [22]}), "x")
            .unwrap_err()
            .message
            .contains("bad arguments"));
    }
}
