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
