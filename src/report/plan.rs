//! A plan for people: per host the path, the probe's symptom and the findings
//! with their evidence, then a summary table (terminal); and the same as a
//! Markdown review document (`--markdown`). No colour; data only.

use std::fmt::Write;

use crate::checks::{Finding, Severity};
use crate::plan::{HostPlan, Plan};

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

/// The terminal rendering.
pub fn render_human(plan: &Plan) -> String {
    let mut out = String::new();
    for h in &plan.hosts {
        let _ = writeln!(
            out,
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
        if let Some(e) = &h.error {
            for line in e.lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
        for f in &h.findings {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                f.severity.as_str().to_uppercase(),
                f.id,
                f.summary
            );
            for e in &f.evidence {
                let _ = writeln!(out, "      {e}");
            }
        }
        for e in &h.check_errors {
            let _ = writeln!(out, "  check error: {e}");
        }
        if h.error.is_none() && h.findings.is_empty() {
            let _ = writeln!(out, "  no findings");
        }
        out.push('\n');
    }
    out.push_str(&summary_table(plan));
    out
}

fn summary_table(plan: &Plan) -> String {
    let rows: Vec<[String; 4]> = plan
        .hosts
        .iter()
        .map(|h| {
            let ids: Vec<&str> = h
                .findings
                .iter()
                .filter(|f| f.severity != Severity::Info)
                .map(|f| f.id.as_str())
                .collect();
            [
                h.host.clone(),
                h.reached_via.clone().unwrap_or_else(|| "-".into()),
                status(h),
                if ids.is_empty() {
                    "-".into()
                } else {
                    ids.join(", ")
                },
            ]
        })
        .collect();
    let headers = ["HOST", "VIA", "STATUS", "CAUSES"].map(String::from);
    let mut widths = headers.clone().map(|h| h.len());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&headers).chain(&rows) {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let count = |p: &dyn Fn(&HostPlan) -> bool| plan.hosts.iter().filter(|h| p(h)).count();
    let _ = writeln!(
        out,
        "\n{} hosts: {} with critical findings, {} with warnings only, {} without problems, {} not reached",
        plan.hosts.len(),
        count(&|h| worst(&h.findings) == Some(Severity::Critical)),
        count(&|h| worst(&h.findings) == Some(Severity::Warning)),
        count(&|h| h.reached_via.is_some()
            && h.error.is_none()
            && worst(&h.findings).is_none_or(|s| s == Severity::Info)),
        count(&|h| h.reached_via.is_none()),
    );
    out
}

/// The Markdown review document.
pub fn render_markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# sshfix plan ({})\n", plan.created);
    let _ = writeln!(
        out,
        "{} hosts. This plan changes nothing by itself; `sshfix apply --plan FILE` carries out the saved JSON plan.\n",
        plan.hosts.len()
    );
    for h in &plan.hosts {
        let _ = writeln!(out, "## {}\n", h.host);
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
            let _ = writeln!(out, "- Facts could not be gathered:\n\n```text\n{e}\n```");
        }
        out.push('\n');
        if h.findings.is_empty() && h.error.is_none() {
            out.push_str("No findings.\n\n");
        }
        for f in &h.findings {
            let _ = writeln!(
                out,
                "### {} `{}`\n\n{}\n\n```text",
                f.severity.as_str(),
                f.id,
                md_inline(&f.summary)
            );
            for e in &f.evidence {
                let _ = writeln!(out, "{e}");
            }
            out.push_str("```\n\n");
        }
        out.push_str("Changes: none proposed (fix modules are not part of this release).\n\n");
    }
    out
}

/// Text safe inside a Markdown paragraph (no HTML, no stray emphasis).
fn md_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '<' | '>' | '*' | '_' | '[' | ']' | '\\' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
