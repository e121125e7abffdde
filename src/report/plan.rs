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

#[cfg(test)]
mod tests {
    use super::*;
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
        Plan {
            created: "2026-11-24T10:00:00Z".into(),
            hosts: vec![
                host(
                    "web1",
                    Some("jump"),
                    Symptom::ResetBeforeBanner,
                    vec![
                        finding("tcp-wrappers-deny", Severity::Critical),
                        finding("banner-file-missing", Severity::Info),
                    ],
                ),
                host("web2", Some("direct"), Symptom::Ok, vec![]),
                host("web3", None, Symptom::ConnectTimeout, vec![]),
            ],
        }
    }

    #[test]
    fn human_rendering() {
        let text = render_human(&plan());
        let want = "\
web1: reached via jump (probe: reset-before-banner — kex_exchange_identification: read: Connection reset by peer)
  CRITICAL tcp-wrappers-deny: tcp-wrappers-deny <summary> *x*
      /etc/hosts.deny:3: sshd: ALL
  INFO banner-file-missing: banner-file-missing <summary> *x*
      /etc/hosts.deny:3: sshd: ALL

web2: reached via direct (probe: ok)
  no findings

web3: not reached (probe: connect-timeout — kex_exchange_identification: read: Connection reset by peer)
  host `web3`: no working path

HOST  VIA     STATUS       CAUSES
web1  jump    1 critical   tcp-wrappers-deny
web2  direct  ok           -
web3  -       unreachable  -

3 hosts: 1 with critical findings, 0 with warnings only, 1 without problems, 1 not reached
";
        pretty_assertions::assert_eq!(text, want);
    }

    #[test]
    fn markdown_escapes_and_sections() {
        let md = render_markdown(&plan());
        assert!(md.starts_with("# sshfix plan (2026-11-24T10:00:00Z)\n"));
        assert!(md.contains("## web1\n"));
        assert!(md.contains(
            "### critical `tcp-wrappers-deny`\n\ntcp-wrappers-deny \\<summary\\> \\*x\\*\n"
        ));
        assert!(md.contains("```text\n/etc/hosts.deny:3: sshd: ALL\n```"));
        assert!(md.contains("## web2\n\n- Symptom (probe from the controller): `ok`"));
        assert!(md.contains("No findings."));
        assert!(md.contains("- Working path: none (host not reached)"));
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
        assert_eq!(h["changes"], serde_json::json!([]));
        assert_eq!(h["actions"], serde_json::json!([]));
        assert_eq!(v["hosts"][2]["reached_via"], serde_json::Value::Null);
        assert!(v["hosts"][2]["error"]
            .as_str()
            .unwrap()
            .contains("no working path"));
    }
}
