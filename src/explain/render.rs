//! Renders `sshfix explain` output: a finding's documentation or a
//! diagnosis, for people (wrapped, optionally bold) or as JSON. Pure.

use serde_json::{json, Value};

use super::{Diagnosis, Docs, FindingDoc, HOST_PLACEHOLDER};
use crate::checks::Severity;
use crate::report::wrap::fill;

/// How human output looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    /// Wrap prose at this many columns; `None`: one line per paragraph.
    pub width: Option<usize>,
    /// `**bold**` as terminal bold; otherwise the asterisks are dropped.
    pub bold: bool,
}

impl Look {
    /// What `sshfix explain` prints to a pipe or file: no styling, 80 columns.
    pub const PLAIN: Look = Look {
        width: Some(80),
        bold: false,
    };
}

const BOLD_ON: &str = "\x1b[1m";
const BOLD_OFF: &str = "\x1b[0m";

/// Applies `**…**` to finished lines (a span may cross lines).
fn emphasis(lines: Vec<String>, look: Look) -> Vec<String> {
    let mut open = false;
    lines
        .into_iter()
        .map(|line| {
            let mut out = String::new();
            if open && look.bold {
                out.push_str(BOLD_ON);
            }
            let mut parts = line.split("**").peekable();
            while let Some(part) = parts.next() {
                out.push_str(part);
                if parts.peek().is_some() {
                    open = !open;
                    if look.bold {
                        out.push_str(if open { BOLD_ON } else { BOLD_OFF });
                    }
                }
            }
            if open && look.bold {
                out.push_str(BOLD_OFF);
            }
            out
        })
        .collect()
}

/// A paragraph, filled, with `first`/`rest` prefixes, then a newline.
fn para(out: &mut String, text: &str, look: Look, first: &str, rest: &str) {
    for line in emphasis(fill(text, look.width, first, rest), look) {
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// A heading, filled, bold on a terminal.
fn heading(out: &mut String, text: &str, look: Look) {
    for line in fill(text, look.width, "", "  ") {
        if look.bold {
            out.push_str(&format!("{BOLD_ON}{line}{BOLD_OFF}\n"));
        } else {
            out.push_str(&format!("{line}\n"));
        }
    }
}

fn severity_word(severity: Option<Severity>) -> &'static str {
    severity.map_or("no severity", Severity::as_str)
}

/// `sshfix explain ID` for people.
pub fn finding_human(
    docs: &Docs,
    doc: &FindingDoc,
    severity: Option<Severity>,
    look: Look,
) -> String {
    let mut out = String::new();
    heading(
        &mut out,
        &format!("{} ({}): {}", doc.id, severity_word(severity), doc.title),
        look,
    );
    out.push('\n');
    if let Some(note) = &doc.note {
        para(&mut out, note, look, "", "");
        out.push('\n');
    }
    let fields = [
        ("Client sees: ", Some(&doc.client_sees)),
        ("Evidence: ", Some(&doc.evidence)),
        ("Cause: ", Some(&doc.cause)),
        ("Proposed fix: ", Some(&doc.fix)),
        ("sshfix never: ", doc.never.as_ref()),
    ];
    for (label, text) in fields {
        if let Some(text) = text {
            para(&mut out, &format!("{label}{text}"), look, "", "  ");
        }
    }
    out.push('\n');
    heading(
        &mut out,
        "Confirms it (on the server unless it says otherwise):",
        look,
    );
    out.push_str(&format!("    {}\n\n", doc.confirm));
    heading(&mut out, "Check by hand:", look);
    for line in doc.check.lines() {
        out.push_str(&format!("    {line}\n").replace("    \n", "\n"));
    }
    let pointing = docs.kinds_pointing_to(&doc.id);
    if !pointing.is_empty() {
        out.push('\n');
        let list: Vec<String> = pointing
            .iter()
            .map(|(m, c)| {
                let example = m.ssh_prints.first().map_or("", String::as_str);
                match &c.tag {
                    Some(tag) => format!("`{example}` ({tag})"),
                    None => format!("`{example}`"),
                }
            })
            .collect();
        para(
            &mut out,
            &format!("Client messages that point here: {}.", list.join(", ")),
            look,
            "",
            "  ",
        );
    }
    out
}

/// `sshfix explain ID --format json`.
pub fn finding_json(docs: &Docs, doc: &FindingDoc, severity: Option<Severity>) -> Value {
    let messages: Vec<Value> = docs
        .kinds_pointing_to(&doc.id)
        .iter()
        .map(|(m, c)| json!({"class": m.class, "symptom": m.symptom, "rank": m.causes.iter().position(|x| x.id == c.id).map(|i| i + 1), "why": c.why}))
        .collect();
    json!({
        "version": 1,
        "finding": {
            "id": doc.id,
            "severity": severity,
            "title": doc.title,
            "note": doc.note,
            "client_sees": doc.client_sees,
            "evidence": doc.evidence,
            "cause": doc.cause,
            "fix": doc.fix,
            "never": doc.never,
            "confirm": doc.confirm,
            "check": doc.check.lines().collect::<Vec<_>>(),
            "messages": messages,
        }
    })
}

/// `sshfix explain "MESSAGE"` for people.
pub fn diagnosis_human(d: &Diagnosis, look: Look) -> String {
    let mut out = String::new();
    heading(&mut out, "ssh printed:", look);
    for line in &d.matched {
        out.push_str(&format!("    {line}\n"));
    }
    out.push('\n');
    para(
        &mut out,
        &format!("{} sshfix's probe calls this `{}`.", d.meaning, d.symptom),
        look,
        "",
        "",
    );
    out.push('\n');
    if d.causes.is_empty() {
        para(
            &mut out,
            "No sshfix finding explains this; the paragraph above says where to look.",
            look,
            "",
            "",
        );
        out.push('\n');
    } else {
        heading(&mut out, "Likely causes, most likely first:", look);
        out.push('\n');
        for c in &d.causes {
            let n = format!("{:>2}. ", c.rank);
            let pad = " ".repeat(n.len());
            para(
                &mut out,
                &format!("{} ({}): {}", c.id, severity_word(c.severity), c.title),
                look,
                &n,
                &pad,
            );
            para(
                &mut out,
                &format!("Why: {}", c.why),
                look,
                &pad,
                &format!("{pad}  "),
            );
            out.push_str(&format!(
                "{pad}Confirm: `{}` reports `{}`\n{pad}By hand: {}\n\n",
                c.confirm.plan, c.id, c.confirm.by_hand
            ));
        }
    }
    let host = d.target.host.as_deref().unwrap_or(HOST_PLACEHOLDER);
    let probe = d
        .causes
        .first()
        .map(|c| c.confirm.probe.clone())
        .unwrap_or_else(|| format!("sshfix probe -l {host}"));
    let mut next = vec![(probe, "the symptom and its timing, as sshfix sees it")];
    if let Some(c) = d.causes.first() {
        next.push((
            c.confirm.plan.clone(),
            "the findings that apply, with evidence and fix",
        ));
    }
    next.push(("sshfix explain ID".to_string(), "one cause in full"));
    let w = next
        .iter()
        .map(|(c, _)| c.chars().count())
        .max()
        .unwrap_or(0);
    heading(&mut out, "Next:", look);
    for (command, what) in &next {
        out.push_str(&format!("    {command:<w$}   # {what}\n"));
    }
    let mut notes = Vec::new();
    if d.target.host.is_none() {
        notes
            .push("`HOST` is the server's inventory name (the input did not name it).".to_string());
    } else {
        notes.push(format!(
            "`-l` takes the inventory name; `{host}` is the name ssh connected to."
        ));
    }
    if d.causes
        .iter()
        .any(|c| c.confirm.by_hand.contains("CLIENT"))
    {
        notes.push("`CLIENT` is your address as the server sees it.".to_string());
    }
    out.push('\n');
    para(&mut out, &notes.join(" "), look, "", "");
    out
}

/// `sshfix explain "MESSAGE" --format json`.
pub fn diagnosis_json(d: &Diagnosis) -> Value {
    json!({
        "version": 1,
        "class": d.class,
        "symptom": d.symptom,
        "meaning": d.meaning,
        "matched": d.matched,
        "target": d.target,
        "causes": d.causes,
    })
}
