//! Gathered facts for people (a short summary per host) and machines (the
//! whole model as JSON, `interface.md`: `{"version":1,"hosts":[…]}`).

use std::fmt::Write;

use serde_json::{json, Value};

use crate::pipeline::HostResult;

/// `sshfix facts --format json`.
pub fn to_json(results: &[HostResult]) -> Value {
    let hosts: Vec<Value> = results
        .iter()
        .map(|r| {
            let g = &r.gathered;
            let mut v = json!({
                "host": g.host,
                "reached_via": g.reached_via.map(|p| p.to_string()),
                "attempts": g.attempts.iter().map(|a| json!({"via": a.via.to_string(), "note": a.note})).collect::<Vec<_>>(),
                "clients_from": g.clients_from,
                "seconds": g.seconds,
            });
            match (&r.facts, &g.outcome) {
                (Some(f), _) => v["facts"] = serde_json::to_value(f).unwrap_or(Value::Null),
                (None, Err(e)) => v["error"] = json!(e),
                (None, Ok(_)) => v["error"] = json!("no facts"),
            }
            v
        })
        .collect();
    json!({"version": 1, "hosts": hosts})
}

/// The terminal summary: what matters for the identification exchange.
pub fn render_human(results: &[HostResult]) -> String {
    let mut out = String::new();
    for r in results {
        let g = &r.gathered;
        let via = g
            .reached_via
            .map_or("not reached".to_string(), |v| format!("via {v}"));
        let _ = writeln!(out, "{} ({via}, {:.2} s)", g.host, g.seconds);
        let Some(f) = &r.facts else {
            if let Err(e) = &g.outcome {
                for line in e.lines() {
                    let _ = writeln!(out, "  {line}");
                }
            }
            out.push('\n');
            continue;
        };
        let s = &f.sshd;
        let _ = writeln!(
            out,
            "  os: {} (init: {}, uid {})",
            f.env.os.as_deref().unwrap_or("?"),
            f.env.init,
            f.env.uid.map_or("?".into(), |u| u.to_string())
        );
        let _ = writeln!(
            out,
            "  sshd: {}{}, {}{}",
            s.version.as_deref().unwrap_or("version ?"),
            if s.libwrap { " (libwrap)" } else { "" },
            if s.running { "running" } else { "NOT running" },
            match &s.startups.title {
                Some(t) if s.running => format!(" — {t}"),
                _ => String::new(),
            }
        );
        let _ = writeln!(
            out,
            "  port {}: {}",
            s.port,
            if s.port_listeners.is_empty() && s.port_other_owners.is_empty() {
                "nothing listens".to_string()
            } else {
                s.port_listeners
                    .iter()
                    .cloned()
                    .chain(s.port_other_owners.iter().map(|o| o.evidence.clone()))
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        );
        let _ = writeln!(
            out,
            "  sshd -t: {}",
            if s.test.ok {
                "ok".to_string()
            } else {
                s.test
                    .output
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "failed".into())
            }
        );
        if let Some(m) = &s.max_startups {
            let _ = writeln!(
                out,
                "  MaxStartups {} ({})",
                m.text,
                m.source.as_deref().unwrap_or("default")
            );
        }
        for c in &f.clients {
            let _ = writeln!(
                out,
                "  client {}: hosts_access {}, firewall {}, reverse DNS {}",
                c.addr,
                if c.hosts_access.allowed {
                    "allows".to_string()
                } else {
                    match &c.hosts_access.rule {
                        Some(rule) => format!("DENIES ({}:{})", rule.file, rule.line),
                        None => "DENIES".to_string(),
                    }
                },
                match &c.firewall.decided_by {
                    Some(rule) if c.firewall.blocks() => format!("BLOCKS ({})", rule.evidence()),
                    _ if c.firewall.may_block() => "may block".to_string(),
                    _ => "accepts".to_string(),
                },
                c.lookup_note
            );
        }
        for gap in &f.gaps {
            let _ = writeln!(out, "  note: {gap}");
        }
        out.push('\n');
    }
    out
}
