//! The runs recorded in the state directory (`sshfix runs`) as a human table
//! or JSON.
//!
//! The table has one row per run, oldest first — RUN (its id), COMMAND
//! (`apply`, `rollback of RUN`), CREATED, HOSTS, RESULT (hosts per result,
//! `unfinished` for a run that did not end, the error for a journal that
//! cannot be read) — with column widths computed from the data, then a
//! one-line count. No colour, no trailing spaces.

use serde_json::{json, Map, Value};

use crate::apply::journal::Summary;

use super::Align;

const HEADERS: [&str; 5] = ["RUN", "COMMAND", "CREATED", "HOSTS", "RESULT"];
const ALIGN: [Align; 5] = [
    Align::Left,
    Align::Left,
    Align::Left,
    Align::Right,
    Align::Left,
];

/// The human table.
pub fn render_human(list: &[Summary]) -> String {
    if list.is_empty() {
        return "no runs recorded in the state directory\n".to_string();
    }
    let rows: Vec<[String; 5]> = list.iter().map(row).collect();
    let mut out = String::new();
    for line in super::table_lines(HEADERS, ALIGN, &rows) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push('\n');
    let noun = if list.len() == 1 { "run" } else { "runs" };
    out.push_str(&format!("{} {noun}\n", list.len()));
    out
}

fn row(s: &Summary) -> [String; 5] {
    let or_dash = |v: &str| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.to_string()
        }
    };
    let command = match &s.of_run {
        Some(of) => format!("{} of {of}", s.command),
        None => or_dash(&s.command),
    };
    let (hosts, result) = match &s.error {
        // one line: the first of the message
        Some(e) => (
            "-".to_string(),
            format!("error: {}", e.lines().next().unwrap_or_default()),
        ),
        None => (s.hosts.to_string(), result(s)),
    };
    [
        s.run_id.clone(),
        command,
        or_dash(&s.created),
        hosts,
        result,
    ]
}

/// `3 repaired, 1 failed`; `unfinished`; `no hosts`.
fn result(s: &Summary) -> String {
    if s.finished.is_none() {
        "unfinished".to_string()
    } else if s.counts.is_empty() {
        "no hosts".to_string()
    } else {
        s.counts
            .iter()
            .map(|(name, n)| format!("{n} {name}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// An array of `{run_id, command, created, finished, of_run, hosts,
/// results: {result: count}, error}` for `--format json`.
pub fn to_json(list: &[Summary]) -> Value {
    Value::Array(
        list.iter()
            .map(|s| {
                let results: Map<String, Value> = s
                    .counts
                    .iter()
                    .map(|(name, n)| (name.clone(), json!(n)))
                    .collect();
                json!({
                    "run_id": s.run_id,
                    "command": s.command,
                    "created": s.created,
                    "finished": s.finished,
                    "of_run": s.of_run,
                    "hosts": s.hosts,
                    "results": results,
                    "error": s.error,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn summary(id: &str, command: &str, finished: bool, counts: &[(&str, usize)]) -> Summary {
        Summary {
            run_id: id.into(),
            command: command.into(),
            created: "2026-11-24T08:00:00Z".into(),
            finished: finished.then(|| "2026-11-24T08:02:00Z".to_string()),
            of_run: None,
            hosts: counts.iter().map(|(_, n)| n).sum(),
            counts: counts.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
            error: None,
        }
    }

    fn list() -> Vec<Summary> {
        let mut rollback = summary(
            "20261124T090000Z-0a1b2c",
            "rollback",
            true,
            &[("restored", 2)],
        );
        rollback.of_run = Some("20261124T080000Z-a1b2c3".into());
        vec![
            summary(
                "20261124T080000Z-a1b2c3",
                "apply",
                true,
                &[("repaired", 3), ("failed", 1)],
            ),
            rollback,
            summary(
                "20261124T100000Z-ffffff",
                "apply",
                false,
                &[("unchanged", 12)],
            ),
            Summary {
                run_id: "20261124T110000Z-dddddd".into(),
                command: String::new(),
                created: String::new(),
                finished: None,
                of_run: None,
                hosts: 0,
                counts: vec![],
                error: Some(
                    "the journal `/s/runs/x/journal.json` is damaged: not JSON\nsecond line".into(),
                ),
            },
        ]
    }

    #[test]
    fn table() {
        insta::assert_snapshot!(render_human(&list()));
    }

    #[test]
    fn table_cells() {
        let out = render_human(&list());
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("RUN  "));
        assert!(
            lines[1].ends_with("  4  3 repaired, 1 failed"),
            "{}",
            lines[1]
        );
        assert!(lines[2].contains("rollback of 20261124T080000Z-a1b2c3"));
        assert!(lines[3].ends_with(" 12  unfinished"), "{}", lines[3]);
        assert!(
            lines[4]
                .ends_with("  -  error: the journal `/s/runs/x/journal.json` is damaged: not JSON"),
            "{}",
            lines[4]
        );
        assert_eq!(lines.last(), Some(&"4 runs"));
        assert!(out.lines().all(|l| l == l.trim_end()));
    }

    #[test]
    fn no_runs() {
        assert_eq!(
            render_human(&[]),
            "no runs recorded in the state directory\n"
        );
        assert_eq!(to_json(&[]), json!([]));
    }

    #[test]
    fn json() {
        let v = to_json(&list());
        assert_eq!(
            v[0],
            json!({
                "run_id": "20261124T080000Z-a1b2c3",
                "command": "apply",
                "created": "2026-11-24T08:00:00Z",
                "finished": "2026-11-24T08:02:00Z",
                "of_run": null,
                "hosts": 4,
                "results": {"repaired": 3, "failed": 1},
                "error": null,
            })
        );
        assert_eq!(v[1]["of_run"], "20261124T080000Z-a1b2c3");
        assert_eq!(v[2]["finished"], Value::Null);
        assert!(v[3]["error"].as_str().unwrap().contains("is damaged"));
        assert_eq!(v[3]["results"], json!({}));
    }
}
