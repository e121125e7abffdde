//! What people see, in the lab: the human output of `probe`, `facts` and
//! `plan` on a few hosts with well-known faults is kept as snapshots (prose
//! wrapped at 80 columns when nothing says otherwise, and at `COLUMNS`;
//! tables aligned; diffs and evidence whole), and with `--format json` stdout
//! holds exactly one JSON document and nothing else.
//!
//! What changes from run to run is replaced first (`common::stable`).
//! Update the snapshots with `INSTA_UPDATE=always` after a
//! deliberate change and review the diff.

use std::process::Output;

use libtest_mimic::Failed;
use serde_json::Value;

use super::diagnosis::sshfix_lab_cmd;
use super::{check, Ctx};

/// Hosts with stable output: healthy (h3, which the other trials only read
/// from), TCP wrappers (h4, via the jump host), sshd stopped (h5, via the
/// console), a web server on port 22 in place of sshd (h8), a missing Banner
/// file (h10).
const HOSTS: &str = "h3:h4:h5:h8:h10";

/// `sshfix SUB -i INVENTORY --ssh-config CFG ARGS…` with `COLUMNS` as given
/// (unset: the 80-column default, stdout being a pipe; the lab binary
/// removes the developer's `COLUMNS` and `NO_COLOR`, `common::isolate`).
fn run(ctx: &Ctx, columns: Option<&str>, sub: &str, args: &[&str]) -> Output {
    let mut c = sshfix_lab_cmd(ctx, sub, &ctx.lab_dir.join("inventory.ini"), args);
    if let Some(cols) = columns {
        c.env("COLUMNS", cols);
    }
    c.output().expect("running sshfix")
}

/// What differs between runs replaced by placeholders of the same width.
fn stable(text: &str, ctx: &Ctx) -> String {
    crate::common::stable::stable(text, &ctx.lab_dir.to_string_lossy(), &[])
}

/// The output of a command with `--format json`: exactly one JSON document
/// on stdout, nothing of it on stderr.
fn json_only(out: &Output, what: &str) -> Result<Value, Failed> {
    let value: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "{what} --format json: stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    check(
        !stderr
            .lines()
            .any(|l| l.trim_start().starts_with(['{', '['])),
        || format!("{what} --format json printed JSON on stderr: {stderr}"),
    )?;
    Ok(value)
}

pub fn human_output_of_probe_facts_and_plan(ctx: &Ctx) -> Result<(), Failed> {
    let probe = run(ctx, None, "probe", &["-l", HOSTS]);
    check(probe.status.code() == Some(2), || {
        format!("probe exit {:?}", probe.status)
    })?;
    insta::assert_snapshot!(
        "probe",
        stable(&String::from_utf8_lossy(&probe.stdout), ctx)
    );

    let facts = run(ctx, None, "facts", &["-l", "h3:h4"]);
    check(facts.status.success(), || {
        format!(
            "facts exit {:?}: {}",
            facts.status,
            String::from_utf8_lossy(&facts.stderr)
        )
    })?;
    insta::assert_snapshot!(
        "facts",
        stable(&String::from_utf8_lossy(&facts.stdout), ctx)
    );

    let plan = run(ctx, None, "plan", &["-l", HOSTS]);
    check(plan.status.success(), || {
        format!(
            "plan exit {:?}: {}",
            plan.status,
            String::from_utf8_lossy(&plan.stderr)
        )
    })?;
    let text = String::from_utf8_lossy(&plan.stdout);
    insta::assert_snapshot!("plan", stable(&text, ctx));
    // nothing of the plan goes to stderr
    let stderr = String::from_utf8_lossy(&plan.stderr);
    check(
        !stderr.contains("HOST ") && !stderr.contains("+++ "),
        || format!("plan printed its report on stderr: {stderr}"),
    )?;

    // a narrow terminal: the prose follows COLUMNS
    let narrow = run(ctx, Some("60"), "plan", &["-l", "h5"]);
    check(narrow.status.success(), || {
        format!("plan exit {:?}", narrow.status)
    })?;
    insta::assert_snapshot!(
        "plan_60_columns",
        stable(&String::from_utf8_lossy(&narrow.stdout), ctx)
    );
    Ok(())
}

pub fn json_goes_to_stdout_only(ctx: &Ctx) -> Result<(), Failed> {
    let probe = run(ctx, None, "probe", &["-l", HOSTS, "--format", "json"]);
    let v = json_only(&probe, "probe")?;
    check(v.to_string().contains("reset-before-banner"), || {
        format!("probe JSON: {v}")
    })?;
    let facts = run(ctx, None, "facts", &["-l", "h3:h4", "--format", "json"]);
    json_only(&facts, "facts")?;
    let plan = run(ctx, None, "plan", &["-l", HOSTS, "--format", "json"]);
    let v = json_only(&plan, "plan")?;
    let want = HOSTS.split(':').count();
    check(
        v["hosts"].as_array().is_some_and(|h| h.len() == want),
        || format!("plan JSON hosts: {}", v["hosts"]),
    )?;
    Ok(())
}
