//! A plan for people: per host the path, the probe's symptom, the findings
//! with their evidence, the proposed changes as unified diffs, the actions and
//! what needs a human, then a summary table (terminal, coloured when asked);
//! and the same as a Markdown review document (`--markdown`).

use std::fmt::Write;

use crate::change::{Action, Edit, Op, Validator};
use crate::checks::{Finding, Severity};
use crate::plan::{HostPlan, Plan};
use crate::report::{diff, wrap, Align};

/// The end of the plan summary when changes are pending (`sshfix apply`
/// shows the plan with its own ending instead).
pub const REVIEW_FOOTER: &str = "; nothing was changed: review, then `sshfix apply --plan FILE`";

fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).min()
}

fn status(h: &HostPlan) -> String {
    if h.reached_via.is_none() {
        return "unreachable".into();
    }
    if h.error.is_some() {
        return "facts failed".into();
    }
    match worst(&h.findings) {
        None => "ok".into(),
        Some(s) => {
            let n = h.findings.iter().filter(|f| f.severity == s).count();
            format!("{n} {s}")
        }
    }
}

/// The ids of a host's critical and warning findings (info findings are not
/// causes), in report order.
fn causes(h: &HostPlan) -> impl Iterator<Item = &str> {
    h.findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .map(|f| f.id.as_str())
}

/// Edits and actions over all hosts.
fn totals(plan: &Plan) -> (usize, usize) {
    plan.hosts.iter().fold((0, 0), |(e, a), h| {
        (e + h.changes.len(), a + h.actions.len())
    })
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What the plan does on a host, in a few words: `1 edit, 2 actions`,
/// `1 needs a human`, `-`.
fn plan_cell(h: &HostPlan) -> String {
    let mut parts = Vec::new();
    if !h.changes.is_empty() {
        parts.push(plural(h.changes.len(), "edit", "edits"));
    }
    if !h.actions.is_empty() {
        parts.push(plural(h.actions.len(), "action", "actions"));
    }
    if !h.needs_human.is_empty() {
        parts.push(format!("{} needs a human", h.needs_human.len()));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

/// How `apply` checks a candidate, for people.
pub fn validator_text(v: &Validator) -> String {
    match v {
        Validator::SshdConfig { config, expect } => {
            let mut t = format!("`sshd -t -f {config}` with the candidate in place");
            if !expect.is_empty() {
                let want: Vec<String> = expect.iter().map(|(k, v)| format!("`{k} {v}`")).collect();
                let _ = write!(t, ", and `sshd -T` must show {}", want.join(", "));
            }
            t
        }
        Validator::Nft => "`nft -c -f` on the candidate".into(),
        Validator::Haproxy => "`haproxy -c -f` on the candidate".into(),
        Validator::IptablesRestore { family } if family == "ipv6" => {
            "`ip6tables-restore --test` on the candidate".into()
        }
        Validator::IptablesRestore { .. } => "`iptables-restore --test` on the candidate".into(),
        Validator::None => "none (no checker exists for this file)".into(),
    }
}

/// An action with its undo, for people.
fn action_text(op: &Op) -> String {
    match op {
        Op::Command {
            undo: Some(undo), ..
        } => format!("{} (undo: `{undo}`)", op.describe()),
        _ => op.describe(),
    }
}

/// The terminal rendering: prose filled to `width` (diffs, evidence and the
/// table never wrap, so they stay exact and copyable); `color` styles the
/// diffs; `footer` ends the last line when changes are pending
/// ([`REVIEW_FOOTER`], or what `apply` says instead).
pub fn render_human(plan: &Plan, color: bool, width: usize, footer: &str) -> String {
    let mut out = String::new();
    for h in &plan.hosts {
        let head = format!(
            "{}: {} (probe: {}{})",
            h.host,
            match &h.reached_via {
                Some(v) => format!("reached via {v}"),
                None => "not reached".into(),
            },
            h.probe.symptom,
            if h.probe.symptom.as_str() == "ok" {
                String::new()
            } else {
                format!(" — {}", h.probe.detail)
            }
        );
        wrap::push_filled(&mut out, &head, width, "", "    ");
        if let Some(e) = &h.error {
            // the error's own lines keep their nesting (the paths tried
            // under "no working path", a hint under its path)
            for line in e.lines() {
                let body = line.trim_start();
                let first = format!("  {}", &line[..line.len() - body.len()]);
                let rest = format!("{first}  ");
                wrap::push_filled(&mut out, body, width, &first, &rest);
            }
        }
        for f in &h.findings {
            let head = format!(
                "{} {}: {}",
                f.severity.as_str().to_uppercase(),
                f.id,
                f.summary
            );
            wrap::push_filled(&mut out, &head, width, "  ", "    ");
            for e in &f.evidence {
                let _ = writeln!(out, "      {e}");
            }
        }
        for e in &h.check_errors {
            wrap::push_filled(&mut out, &format!("check error: {e}"), width, "  ", "    ");
        }
        if h.error.is_none() && h.findings.is_empty() {
            let _ = writeln!(out, "  no findings");
        }
        if !h.changes.is_empty() {
            let _ = writeln!(out, "  changes:");
            for e in &h.changes {
                human_edit(&mut out, e, color, width);
            }
        }
        if !h.actions.is_empty() {
            let _ = writeln!(out, "  actions:");
            for (i, a) in h.actions.iter().enumerate() {
                human_action(&mut out, i + 1, a, width);
            }
        }
        if !h.needs_human.is_empty() {
            let _ = writeln!(out, "  needs a human:");
            for n in &h.needs_human {
                wrap::push_filled(
                    &mut out,
                    &format!("{}: {}", n.finding, n.reason),
                    width,
                    "    ",
                    "      ",
                );
            }
        }
        out.push('\n');
    }
    out.push_str(&summary_table(plan, width, footer));
    out
}

/// Action `n`: what it does, its finding and reason as prose; a command
/// and its undo each on a line of their own that never wraps, like a
/// diff, so they stay exact and copyable.
fn human_action(out: &mut String, n: usize, a: &Action, width: usize) {
    match &a.op {
        Op::Command {
            command,
            creates,
            undo,
        } => {
            let text = format!("{n}. run a command [{}]: {}", a.finding, a.reason);
            wrap::push_filled(out, &text, width, "    ", "       ");
            let _ = writeln!(out, "       run:  {command}");
            if let Some(c) = creates {
                let _ = writeln!(out, "       unless {c} exists");
            }
            if let Some(u) = undo {
                let _ = writeln!(out, "       undo: {u}");
            }
        }
        op => {
            let text = format!("{n}. {} [{}]: {}", op.describe(), a.finding, a.reason);
            wrap::push_filled(out, &text, width, "    ", "       ");
        }
    }
}

fn human_edit(out: &mut String, e: &Edit, color: bool, width: usize) {
    let _ = writeln!(
        out,
        "    {}{} [{}]",
        e.path,
        if e.before.is_none() {
            " (new file)"
        } else {
            ""
        },
        e.finding
    );
    for line in e.reason.lines() {
        wrap::push_filled(out, line, width, "      ", "        ");
    }
    let validate = format!("validate: {}", validator_text(&e.validator));
    wrap::push_filled(out, &validate, width, "      ", "        ");
    for line in diff::for_terminal(e, color).lines() {
        let _ = writeln!(out, "      {line}");
    }
}

fn summary_table(plan: &Plan, width: usize, footer: &str) -> String {
    let rows: Vec<[String; 5]> = plan
        .hosts
        .iter()
        .map(|h| {
            let ids: Vec<&str> = causes(h).collect();
            [
                h.host.clone(),
                h.reached_via.clone().unwrap_or_else(|| "-".into()),
                status(h),
                if ids.is_empty() {
                    "-".into()
                } else {
                    ids.join(", ")
                },
                plan_cell(h),
            ]
        })
        .collect();
    let mut out = String::new();
    for line in super::table_lines(
        ["HOST", "VIA", "STATUS", "CAUSES", "PLAN"],
        [Align::Left; 5],
        &rows,
    ) {
        let _ = writeln!(out, "{line}");
    }
    let count = |p: &dyn Fn(&HostPlan) -> bool| plan.hosts.iter().filter(|h| p(h)).count();
    out.push('\n');
    let hosts = format!(
        "{}: {} with critical findings, {} with warnings only, {} without problems, {} not reached",
        plural(plan.hosts.len(), "host", "hosts"),
        count(&|h| worst(&h.findings) == Some(Severity::Critical)),
        count(&|h| worst(&h.findings) == Some(Severity::Warning)),
        count(&|h| h.reached_via.is_some()
            && h.error.is_none()
            && worst(&h.findings).is_none_or(|s| s == Severity::Info)),
        count(&|h| h.reached_via.is_none()),
    );
    wrap::push_filled(&mut out, &hosts, width, "", "  ");
    let (edits, actions) = totals(plan);
    let human: usize = plan.hosts.iter().map(|h| h.needs_human.len()).sum();
    let total = format!(
        "plan: {} on {}, {}{}",
        [
            plural(edits, "edit", "edits"),
            plural(actions, "action", "actions")
        ]
        .join(" and "),
        plural(count(&HostPlan::has_changes), "host", "hosts"),
        plural(human, "finding needs a human", "findings need a human"),
        if plan.has_changes() {
            footer
        } else {
            "; nothing to change"
        }
    );
    wrap::push_filled(&mut out, &total, width, "", "  ");
    out
}

/// The Markdown review document: one section per host with the symptom,
/// the findings and their evidence, each change as a `diff` block, the
/// actions, what needs a human, and how to roll back.
pub fn render_markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# sshfix plan ({})\n", plan.created);
    let (edits, actions) = totals(plan);
    let _ = writeln!(
        out,
        "{} hosts, {} and {} proposed. This document changes nothing by itself; `sshfix apply --plan FILE` carries out exactly the saved JSON plan, and refuses a host whose files changed since.\n",
        plan.hosts.len(),
        plural(edits, "file edit", "file edits"),
        plural(actions, "action", "actions"),
    );
    let _ = writeln!(
        out,
        "| host | status | causes | plan |\n| --- | --- | --- | --- |"
    );
    for h in &plan.hosts {
        let ids: Vec<String> = causes(h).map(|id| format!("`{id}`")).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            md_inline(&h.host),
            status(h),
            if ids.is_empty() {
                "-".into()
            } else {
                ids.join(", ")
            },
            plan_cell(h)
        );
    }
    out.push('\n');
    for h in &plan.hosts {
        let _ = writeln!(out, "## {}\n", md_inline(&h.host));
        let _ = writeln!(
            out,
            "- Symptom (probe from the controller): `{}` — {}",
            h.probe.symptom,
            md_inline(&h.probe.detail)
        );
        let _ = writeln!(
            out,
            "- Working path: {}",
            h.reached_via
                .as_deref()
                .unwrap_or("none (host not reached)")
        );
        if let Some(e) = &h.error {
            let _ = writeln!(
                out,
                "- Facts could not be gathered:\n\n{}",
                fenced("text", e)
            );
        }
        out.push('\n');
        if h.findings.is_empty() && h.error.is_none() {
            out.push_str("No findings.\n\n");
        }
        for f in &h.findings {
            let _ = writeln!(
                out,
                "### {} `{}`\n\n{}\n",
                f.severity.as_str(),
                f.id,
                md_code_spans(&f.summary)
            );
            if !f.evidence.is_empty() {
                let _ = writeln!(out, "{}", fenced("text", &f.evidence.join("\n")));
            }
        }
        if h.error.is_some() {
            continue;
        }
        if h.changes.is_empty() && h.actions.is_empty() {
            out.push_str("### Changes\n\nNone.\n\n");
        }
        if !h.changes.is_empty() {
            out.push_str("### Changes\n\n");
            for e in &h.changes {
                let _ =
                    writeln!(
                    out,
                    "#### {}{} (fixes `{}`)\n\n{}\n\nValidated before it is installed: {}.\n\n{}",
                    code(&e.path),
                    if e.before.is_none() { ", a new file" } else { "" },
                    e.finding,
                    md_code_spans(&e.reason.replace('\n', " ")),
                    md_code_spans(&validator_text(&e.validator)),
                    fenced("diff", &diff::unified(e)),
                );
            }
        }
        if !h.actions.is_empty() {
            out.push_str("### Actions\n\nIn this order, after the files are in place:\n\n");
            for (i, a) in h.actions.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{}. {} (for `{}`): {}",
                    i + 1,
                    md_code_spans(&action_text(&a.op)),
                    a.finding,
                    md_code_spans(&a.reason)
                );
            }
            out.push('\n');
        }
        if !h.needs_human.is_empty() {
            out.push_str("### Needs a human\n\n");
            for n in &h.needs_human {
                let _ = writeln!(out, "- `{}`: {}", n.finding, md_code_spans(&n.reason));
            }
            out.push('\n');
        }
        if h.has_changes() {
            out.push_str("### How to roll back\n\n");
            out.push_str("`sshfix apply` backs up every file it touches (on the host under `/var/backups/sshfix/RUN-ID/`, and in the local state directory), validates each candidate before installing it, and arms a dead-man timer on the host that restores the backups unless the repaired SSH path is verified in time. After a run, `sshfix rollback --run RUN-ID -l ");
            out.push_str(&md_inline(&h.host));
            out.push_str(
                "` restores the backups (checked by hash) and reloads the services. On the host, `sh /var/backups/sshfix/RUN-ID/restore.sh rollback` does the same. By hand (`manifest` in that directory lists each copy with its hash):\n\n",
            );
            for (i, e) in h.changes.iter().enumerate() {
                match e.before {
                    Some(_) => {
                        let _ = writeln!(
                            out,
                            "- {}: copy back {} (`cp -p`, then `mv` over the file)",
                            code(&e.path),
                            code(&format!("/var/backups/sshfix/RUN-ID/files/{i}"))
                        );
                    }
                    None => {
                        let _ = writeln!(out, "- {}: new file, remove it", code(&e.path));
                    }
                }
            }
            for a in &h.actions {
                match &a.op {
                    Op::Command { undo: Some(u), .. } => {
                        let _ = writeln!(out, "- run {}", code(u));
                    }
                    Op::Command {
                        command,
                        undo: None,
                        ..
                    } => {
                        let _ = writeln!(out, "- {} has no automatic undo", code(command));
                    }
                    Op::File {
                        path, was: Some(w), ..
                    } => {
                        let _ = writeln!(out, "- {}: was {}", code(path), md_inline(w));
                    }
                    _ => {}
                }
            }
            if h.actions.iter().any(|a| a.op.service().is_some()) {
                out.push_str("- then reload the services named above\n");
            }
            out.push('\n');
        }
    }
    out
}

/// The longest run of backticks in `s` (a fence must be longer).
fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// A fenced code block that no backtick run inside `text` can close early.
fn fenced(lang: &str, text: &str) -> String {
    let longest = longest_backtick_run(text);
    let fence = "`".repeat(longest.max(2) + 1);
    let body = text.strip_suffix('\n').unwrap_or(text);
    format!("{fence}{lang}\n{body}\n{fence}\n")
}

/// `s` as one Markdown code span, whatever it holds: the fence is longer
/// than any run of backticks inside, padded when `s` starts or ends with a
/// backtick, line breaks as spaces. Nothing in a code span is HTML.
fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    let longest = longest_backtick_run(&s);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// Text with `code spans` kept and everything else escaped.
fn md_code_spans(s: &str) -> String {
    s.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("`{part}`")
            } else {
                md_inline(part)
            }
        })
        .collect()
}

/// Text safe inside a Markdown paragraph (no HTML, no stray emphasis).
fn md_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '<' | '>' | '*' | '_' | '[' | ']' | '\\' | '|' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Validator;
    use crate::checks::Source;
    use crate::probe::{ProbeResult, Symptom, Timings};

    fn host(name: &str, via: Option<&str>, symptom: Symptom, findings: Vec<Finding>) -> HostPlan {
        HostPlan {
            host: name.into(),
            reached_via: via.map(String::from),
            error: via
                .is_none()
                .then(|| format!("host `{name}`: no working path")),
            probe: ProbeResult {
                host: name.into(),
                address: "10.0.0.9".into(),
                port: 22,
                symptom,
                detail: "kex_exchange_identification: read: Connection reset by peer".into(),
                evidence: None,
                banner: None,
                peer: None,
                timings: Timings::default(),
            },
            findings,
            check_errors: Vec::new(),
            changes: Vec::new(),
            actions: Vec::new(),
            needs_human: Vec::new(),
            seconds: 0.5,
        }
    }

    fn finding(id: &str, severity: Severity) -> Finding {
        Finding {
            id: id.into(),
            severity,
            summary: format!("{id} <summary> *x*"),
            evidence: vec!["/etc/hosts.deny:3: sshd: ALL".into()],
            source: Source {
                file: "playbooks/catalogue.yml".into(),
                line: 1,
                column: 1,
            },
            fix: Default::default(),
        }
    }

    fn plan() -> Plan {
        let mut web1 = host(
            "web1",
            Some("jump"),
            Symptom::ResetBeforeBanner,
            vec![
                finding("tcp-wrappers-deny", Severity::Critical),
                finding("port-wrong-service", Severity::Critical),
                finding("banner-file-missing", Severity::Info),
            ],
        );
        web1.changes = vec![Edit::new(
            "/etc/hosts.allow",
            Some(b"# hosts.allow\nALL: LOCAL\n"),
            b"# hosts.allow\nsshd: 10.0.0.1\nALL: LOCAL\n".to_vec(),
            Validator::None,
            "tcp-wrappers-deny",
            "add `sshd: 10.0.0.1` before /etc/hosts.allow:2",
        )];
        web1.actions = vec![crate::change::Action::new(
            Op::Reload {
                target: "sshd".into(),
            },
            "banner-file-missing",
            "sshd reads its configuration on reload",
        )];
        web1.needs_human = vec![crate::plan::NeedsHuman {
            finding: "port-wrong-service".into(),
            reason: "sshfix has no automatic fix for this finding; see the evidence".into(),
        }];
        Plan {
            created: "2026-11-24T10:00:00Z".into(),
            hosts: vec![
                web1,
                host("web2", Some("direct"), Symptom::Ok, vec![]),
                host("web3", None, Symptom::ConnectTimeout, vec![]),
            ],
        }
    }

    #[test]
    fn human_rendering() {
        let text = render_human(&plan(), false, 80, REVIEW_FOOTER);
        assert!(!text.contains('\u{1b}'));
        insta::assert_snapshot!("plan_human", text);
        // prose fits; evidence and diffs (6 spaces in) and the table do not wrap
        let (hosts, table) = text.split_once("\nHOST ").unwrap();
        let (_, totals) = table.split_once("\n\n").unwrap();
        for line in hosts.lines().chain(totals.lines()) {
            if !line.starts_with("      ") {
                assert!(line.chars().count() <= 80, "{line:?}");
            }
        }
        let colored = render_human(&plan(), true, 80, REVIEW_FOOTER);
        assert!(colored.contains("\u{1b}[32m+sshd: 10.0.0.1"), "{colored}");
    }

    /// An unreached host's error keeps its nesting when wrapped: the paths
    /// tried under "no working path", each hint under its path (the text of
    /// a real run: the host key changed).
    #[test]
    fn an_unreached_host_keeps_the_nesting_of_its_error() {
        let mut h = host("h2", None, Symptom::Ok, Vec::new());
        h.error = Some(
            "host `h2`: no working path\n  direct: the host key of `10.77.1.2` has CHANGED; it now presents SHA256:4JqZgdCCWopwLC5vYWbE38sQ9gFLOU43dfZ5+qf0Uqg\n    hint: this can be an attack; sshfix will not connect. If the host was reinstalled, check the new fingerprint out of band, then remove the old key with `ssh-keygen -R 10.77.1.2 -f /tmp/docslab/known_hosts`\n  console: not configured (no `sshfix_console`)"
                .into(),
        );
        let plan = Plan {
            hosts: vec![h],
            ..plan()
        };
        let text = render_human(&plan, false, 80, REVIEW_FOOTER);
        let error: Vec<&str> = text.lines().skip(1).take_while(|l| !l.is_empty()).collect();
        assert_eq!(
            error,
            [
                "  host `h2`: no working path",
                "    direct: the host key of `10.77.1.2` has CHANGED; it now presents",
                "      SHA256:4JqZgdCCWopwLC5vYWbE38sQ9gFLOU43dfZ5+qf0Uqg",
                "      hint: this can be an attack; sshfix will not connect. If the host was",
                "        reinstalled, check the new fingerprint out of band, then remove the old",
                "        key with `ssh-keygen -R 10.77.1.2 -f /tmp/docslab/known_hosts`",
                "    console: not configured (no `sshfix_console`)",
            ],
            "{text}"
        );
    }

    /// A command and its undo stay whole on lines of their own, however
    /// long; the prose around them wraps.
    #[test]
    fn a_command_action_shows_its_command_and_undo_whole() {
        let long = format!("echo {}", "x".repeat(100));
        let a = Action::new(
            Op::Command {
                command: long.clone(),
                creates: Some("/etc/ssh/ssh_host_ed25519_key".into()),
                undo: Some("rm -f /etc/ssh/ssh_host_ed25519_key".into()),
            },
            "host-keys-missing",
            "run it as root, because the host has no host keys at all and sshd refuses to start",
        );
        let mut out = String::new();
        human_action(&mut out, 2, &a, 60);
        assert_eq!(
            out,
            format!(
                "    2. run a command [host-keys-missing]: run it as root,\n       because the host has no host keys at all and sshd\n       refuses to start\n       run:  {long}\n       unless /etc/ssh/ssh_host_ed25519_key exists\n       undo: rm -f /etc/ssh/ssh_host_ed25519_key\n"
            )
        );
    }

    #[test]
    fn markdown_document() {
        let md = render_markdown(&plan());
        insta::assert_snapshot!("plan_markdown", md);
    }

    /// The review document parsed by a real Markdown parser: one level-2
    /// section per host, the findings as level-3 headings, each change's
    /// diff as a `diff` code block holding exactly the unified diff, and no
    /// raw HTML (escaped summaries stay text).
    #[test]
    fn markdown_parses_into_the_expected_sections() {
        use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};
        let p = plan();
        let md = render_markdown(&p);
        let mut headings: Vec<(HeadingLevel, String)> = Vec::new();
        let mut code: Vec<(String, String)> = Vec::new();
        let mut cur_heading: Option<(HeadingLevel, String)> = None;
        let mut cur_code: Option<(String, String)> = None;
        let mut tables = 0;
        for ev in Parser::new_ext(&md, pulldown_cmark::Options::ENABLE_TABLES) {
            match ev {
                Event::Start(Tag::Heading { level, .. }) => {
                    cur_heading = Some((level, String::new()))
                }
                Event::End(TagEnd::Heading(_)) => headings.extend(cur_heading.take()),
                Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang))) => {
                    cur_code = Some((lang.to_string(), String::new()))
                }
                Event::End(TagEnd::CodeBlock) => code.extend(cur_code.take()),
                Event::Start(Tag::Table(_)) => tables += 1,
                Event::Text(t) | Event::Code(t) => {
                    if let Some((_, h)) = cur_heading.as_mut() {
                        h.push_str(&t);
                    }
                    if let Some((_, c)) = cur_code.as_mut() {
                        c.push_str(&t);
                    }
                }
                Event::Html(h) | Event::InlineHtml(h) => panic!("raw HTML in the document: {h}"),
                _ => {}
            }
        }
        let h2: Vec<&str> = headings
            .iter()
            .filter(|(l, _)| *l == HeadingLevel::H2)
            .map(|(_, t)| t.as_str())
            .collect();
        assert_eq!(h2, ["web1", "web2", "web3"]);
        let h3: Vec<&str> = headings
            .iter()
            .filter(|(l, _)| *l == HeadingLevel::H3)
            .map(|(_, t)| t.as_str())
            .collect();
        assert_eq!(
            h3,
            [
                "critical tcp-wrappers-deny",
                "critical port-wrong-service",
                "info banner-file-missing",
                "Changes",
                "Actions",
                "Needs a human",
                "How to roll back",
                "Changes",
            ]
        );
        assert_eq!(tables, 1);
        let diffs: Vec<&str> = code
            .iter()
            .filter(|(l, _)| l == "diff")
            .map(|(_, c)| c.as_str())
            .collect();
        assert_eq!(diffs, [diff::unified(&p.hosts[0].changes[0]).as_str()]);
    }

    /// Regression (review): a path holding a backtick and HTML cannot end
    /// its code span early and inject markup.
    #[test]
    fn paths_with_backticks_stay_code() {
        let mut p = plan();
        let nasty = "/etc/ssh/sshd_config.d/a`<img src=x onerror=alert(1)>`.conf";
        p.hosts[0].changes[0].path = nasty.into();
        let md = render_markdown(&p);
        for ev in pulldown_cmark::Parser::new(&md) {
            if let pulldown_cmark::Event::Html(h) | pulldown_cmark::Event::InlineHtml(h) = ev {
                panic!("raw HTML: {h}\n{md}");
            }
        }
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
    }

    #[test]
    fn fences_outlast_backticks_in_the_content() {
        assert_eq!(fenced("text", "a\n"), "```text\na\n```\n");
        assert_eq!(fenced("diff", "+x ```` y"), "`````diff\n+x ```` y\n`````\n");
    }

    #[test]
    fn plan_json_matches_the_interface() {
        let v = plan().to_json();
        assert_eq!(v["version"], 1);
        assert_eq!(v["created"], "2026-11-24T10:00:00Z");
        let h = &v["hosts"][0];
        assert_eq!(h["host"], "web1");
        assert_eq!(h["reached_via"], "jump");
        assert_eq!(h["probe"]["symptom"], "reset-before-banner");
        assert_eq!(
            h["findings"][0],
            serde_json::json!({"id": "tcp-wrappers-deny", "severity": "critical",
                "summary": "tcp-wrappers-deny <summary> *x*",
                "evidence": ["/etc/hosts.deny:3: sshd: ALL"]})
        );
        let c = &h["changes"][0];
        assert_eq!(c["path"], "/etc/hosts.allow");
        assert_eq!(
            c["before_sha256"],
            crate::change::sha256_hex(b"# hosts.allow\nALL: LOCAL\n")
        );
        assert_eq!(c["after"], "# hosts.allow\nsshd: 10.0.0.1\nALL: LOCAL\n");
        assert!(c["diff"]
            .as_str()
            .unwrap()
            .starts_with("--- a/etc/hosts.allow\n+++ b/etc/hosts.allow\n"));
        assert_eq!(c["validator"], serde_json::json!({"kind": "none"}));
        assert_eq!(
            h["actions"][0],
            serde_json::json!({"kind": "reload", "target": "sshd",
                "finding": "banner-file-missing", "reason": "sshd reads its configuration on reload"})
        );
        assert_eq!(h["needs_human"][0]["finding"], "port-wrong-service");
        assert_eq!(v["hosts"][1]["changes"], serde_json::json!([]));
        assert_eq!(v["hosts"][2]["reached_via"], serde_json::Value::Null);
        assert!(v["hosts"][2]["error"]
            .as_str()
            .unwrap()
            .contains("no working path"));
        // a file that is not UTF-8 travels as hex
        let e = Edit::new("/x", None, vec![0xff, b'\n'], Validator::None, "f", "r");
        let j = crate::plan::change_json(&e);
        assert_eq!(j["after_hex"], "ff0a");
        assert!(j.get("after").is_none());
    }
}
