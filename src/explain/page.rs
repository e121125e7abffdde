//! Generates `docs/findings.md` from `docs/findings/page.md` (the prose) and
//! `docs/findings/findings.yml` (each finding and each client message). Pure;
//! `tests/explain.rs` compares the result with the committed page.

use std::collections::HashMap;

use super::Docs;
use crate::checks::Severity;
use crate::report::wrap::fill;

/// Where the table of client messages goes in the template.
pub const TABLE_MARKER: &str = "<!-- generated: symptom table -->";
/// Where the finding sections go in the template.
pub const FINDINGS_MARKER: &str = "<!-- generated: findings -->";
/// How to regenerate the page (said at its top and by the staleness test).
pub const REGENERATE: &str = "SSHFIX_BLESS=1 cargo test --test explain";

const WIDTH: usize = 80;

/// The whole page. Fails when the template lacks a marker or a finding has
/// no severity in the catalogue.
pub fn render(
    template: &str,
    docs: &Docs,
    severities: &HashMap<String, Severity>,
) -> Result<String, String> {
    for marker in [TABLE_MARKER, FINDINGS_MARKER] {
        if template.matches(marker).count() != 1 {
            return Err(format!(
                "docs/findings/page.md must contain `{marker}` exactly once"
            ));
        }
    }
    let mut sections = String::new();
    for (i, f) in docs.findings.iter().enumerate() {
        let severity = severities
            .get(&f.id)
            .ok_or_else(|| format!("finding `{}` is documented but not in the catalogue", f.id))?;
        if i > 0 {
            sections.push('\n');
        }
        sections.push_str(&format!("## `{}` — {severity}\n\n", f.id));
        if let Some(note) = &f.note {
            push_filled(&mut sections, note, "", "");
            sections.push('\n');
        }
        let fields = [
            ("Client sees", Some(&f.client_sees)),
            ("Evidence", Some(&f.evidence)),
            ("Cause", Some(&f.cause)),
            ("Proposed fix", Some(&f.fix)),
            ("Never", f.never.as_ref()),
        ];
        for (label, text) in fields {
            if let Some(text) = text {
                push_filled(&mut sections, &format!("**{label}:** {text}"), "- ", "  ");
            }
        }
        sections.push_str(&format!("- **Confirms it:** {}\n", code_span(&f.confirm)));
        sections.push_str("\n```\n");
        sections.push_str(f.check.trim_end_matches('\n'));
        sections.push_str("\n```\n");
    }
    let page = template
        .replace(TABLE_MARKER, table(docs).trim_end())
        .replace(FINDINGS_MARKER, sections.trim_end());
    Ok(format!(
        "<!-- Generated from docs/findings/page.md and docs/findings/findings.yml;\n     edit those, then run `{REGENERATE}`. -->\n{}\n",
        page.trim_end()
    ))
}

fn push_filled(out: &mut String, text: &str, first: &str, rest: &str) {
    for line in fill(text, Some(WIDTH), first, rest) {
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// A Markdown code span holding `text` exactly.
fn code_span(text: &str) -> String {
    let ticks = if text.contains('`') { "``" } else { "`" };
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// The table of client messages: what ssh prints, the probe symptom, the findings.
fn table(docs: &Docs) -> String {
    let mut out = String::from(
        "| `ssh` prints | probe symptom | findings, most likely first |\n| --- | --- | --- |\n",
    );
    for m in &docs.messages {
        let prints: Vec<String> = m.ssh_prints.iter().map(|p| code_span(p)).collect();
        let causes: Vec<String> = m
            .causes
            .iter()
            .map(|c| match &c.tag {
                Some(tag) => format!("`{}` ({tag})", c.id),
                None => format!("`{}`", c.id),
            })
            .collect();
        let causes = if causes.is_empty() {
            "none: DNS or the network, not the server".to_string()
        } else {
            causes.join(", ")
        };
        out.push_str(&format!(
            "| {} | `{}` | {} |\n",
            prints.join("<br>"),
            m.symptom,
            causes
        ));
    }
    out
}
