//! `sshfix apply`, `rollback` and `runs` refusing bad input before any host is
//! contacted (no lab needed): a damaged plan, an out-of-range confirm
//! timeout, a run that does not exist, no confirmation on a pipe. Each must
//! exit 1 with a message naming what is wrong, and record no run.

mod common;

use std::path::Path;
use std::process::Output;

fn sshfix(state: &Path, args: &[&str]) -> Output {
    common::isolate::sshfix()
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn inventory(dir: &Path) -> String {
    let p = dir.join("hosts.ini");
    // an address nothing listens on: a test that reached the network would fail
    std::fs::write(&p, "h4 ansible_host=192.0.2.4\n").unwrap();
    p.to_string_lossy().into_owned()
}

fn runs_recorded(state: &Path) -> usize {
    std::fs::read_dir(state.join("runs"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_hand_edited_plan_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let inv = inventory(dir.path());
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plans/wrappers-deny.json");
    let mut plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture).unwrap()).unwrap();
    let after = plan["hosts"][0]["changes"][0]["after"]
        .as_str()
        .unwrap()
        .to_string();
    plan["hosts"][0]["changes"][0]["after"] = format!("{after}sshd: ALL\n").into();
    let file = dir.path().join("plan.json");
    std::fs::write(&file, plan.to_string()).unwrap();
    let o = sshfix(
        &state,
        &["-i", &inv, "apply", "--plan", &file.to_string_lossy()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("after_sha256") && e.contains("/etc/hosts.allow"),
        "{e}"
    );
    assert_eq!(runs_recorded(&state), 0, "no run may be recorded");
}

#[test]
fn confirm_timeout_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let inv = inventory(dir.path());
    for t in ["0", "4", "86401"] {
        let o = sshfix(
            &state,
            &["-i", &inv, "apply", "--yes", "--confirm-timeout", t],
        );
        assert_eq!(o.status.code(), Some(1), "{t}: {}", stderr(&o));
        assert!(stderr(&o).contains("--confirm-timeout"), "{}", stderr(&o));
    }
    assert_eq!(runs_recorded(&state), 0);
}

#[test]
fn rollback_without_runs_and_of_an_unknown_run() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let inv = inventory(dir.path());
    let o = sshfix(&state, &["-i", &inv, "rollback"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("no runs"), "{}", stderr(&o));
    let o = sshfix(
        &state,
        &["-i", &inv, "rollback", "--run", "20200101T000000Z-000000"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("20200101T000000Z-000000"),
        "{}",
        stderr(&o)
    );
    let o = sshfix(&state, &["runs"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no runs recorded"));
    let o = sshfix(&state, &["runs", "--format", "json"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
}

/// Regression: `apply` without `--plan`, without `--yes` and without a
/// terminal printed the plan ending `; applying it now`, then refused to
/// apply it. The plan ends with the normal review footer and the error says
/// what to do. A local host with a check that always fires gives a plan with
/// something to do, without any network.
#[test]
fn apply_without_a_terminal_or_yes_does_not_say_it_is_applying() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let inv = dir.path().join("hosts.ini");
    std::fs::write(
        &inv,
        "local1 ansible_connection=local ansible_host=127.0.0.1\n",
    )
    .unwrap();
    let playbook = dir.path().join("always.yml");
    std::fs::write(
        &playbook,
        "name: test\nchecks:\n  - id: always-fires\n    severity: warning\n    when: true\n    summary: fires on every host\n    fix:\n      - command: {cmd: \"true\"}\n",
    )
    .unwrap();
    let o = sshfix(
        &state,
        &[
            "-i",
            &inv.to_string_lossy(),
            "-p",
            &playbook.to_string_lossy(),
            "apply",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{e}");
    assert!(out.contains("always-fires"), "the plan is shown: {out}");
    assert!(!out.contains("applying it now"), "{out}");
    // the footer may be wrapped over two lines
    let words = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains(sshfix::report::plan::REVIEW_FOOTER),
        "the normal footer: {out}"
    );
    assert!(
        e.contains("stdin is not a terminal") && e.contains("`--yes`"),
        "{e}"
    );
    assert_eq!(runs_recorded(&state), 0, "no run may be recorded");
}

/// Regression: a saved plan in which no host has anything to do recorded a
/// run (`sshfix runs`: `1 unchanged`); a fresh plan with nothing to do
/// records none. Neither does now, and no host is contacted.
#[test]
fn a_saved_plan_with_nothing_to_do_records_no_run() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let inv = inventory(dir.path());
    let plan = serde_json::json!({
        "version": 1,
        "created": "2026-11-24T10:00:00Z",
        "hosts": [{
            "host": "h4",
            "reached_via": "direct",
            "probe": {"symptom": "ok", "detail": "SSH-2.0-OpenSSH_9.2p1"},
            "findings": [],
            "changes": [],
            "actions": [],
            "needs_human": []
        }]
    });
    let file = dir.path().join("plan.json");
    std::fs::write(&file, plan.to_string()).unwrap();
    let o = sshfix(
        &state,
        &["-i", &inv, "apply", "--plan", &file.to_string_lossy()],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", stderr(&o));
    // no table of `unchanged` hosts, no run id: there is no run
    assert_eq!(
        out,
        "nothing to do: no host needs a change; no run was recorded\n"
    );
    assert_eq!(runs_recorded(&state), 0, "no run may be recorded");
}
