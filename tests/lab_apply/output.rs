//! What people see of a repair, in the lab: the human output of `plan`,
//! `apply`, `runs` and `rollback` for one host with TCP wrappers in the way,
//! kept as snapshots (what changes from run to run replaced first, see
//! `common::stable`). Update them with `INSTA_UPDATE=always` after a
//! deliberate change and review the diff. The lab binary removes the
//! developer's `COLUMNS` and `NO_COLOR` (`common::isolate`), so this is the
//! piped default: 80 columns, no colour.

use libtest_mimic::Failed;

use std::path::Path;

use super::{check, sshfix, Ctx};

/// The host this module repairs and rolls back (the fleet's last).
pub const HOST: &str = "h103";

fn apply_runs_rollback(ctx: &Ctx) -> Result<(), Failed> {
    let state = tempfile::tempdir()?;
    let lab = ctx.lab_dir.to_string_lossy().into_owned();
    let plan = sshfix(ctx, state.path(), "plan", &["-l", HOST])?;
    plan.expect_code(0)?;
    let stable = |text: &str, ids: &[&str]| crate::common::stable::stable(text, &lab, ids);
    insta::assert_snapshot!("plan", stable(&plan.stdout, &[]));

    let apply = sshfix(ctx, state.path(), "apply", &["--yes", "-l", HOST])?;
    apply.expect_code(0)?;
    let ids = run_ids(ctx, state.path())?;
    check(ids.len() == 1, || format!("runs after apply: {ids:?}"))?;
    let id = ids[0].clone();
    insta::assert_snapshot!("apply", stable(&apply.stdout, &[&id]));

    let rollback = sshfix(ctx, state.path(), "rollback", &["--run", &id])?;
    rollback.expect_code(0)?;
    // the rollback is a run of its own
    let ids = run_ids(ctx, state.path())?;
    check(ids.len() == 2, || format!("runs after rollback: {ids:?}"))?;
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    insta::assert_snapshot!("rollback", stable(&rollback.stdout, &ids));

    let runs = sshfix(ctx, state.path(), "runs", &[])?;
    runs.expect_code(0)?;
    insta::assert_snapshot!("runs", stable(&runs.stdout, &ids));
    Ok(())
}

/// The ids of the runs recorded in `state` (`sshfix runs --format json`).
fn run_ids(ctx: &Ctx, state: &Path) -> Result<Vec<String>, Failed> {
    let runs = sshfix(ctx, state, "runs", &["--format", "json"])?;
    runs.expect_code(0)?;
    let list = runs.json()?;
    Ok(list
        .as_array()
        .ok_or_else(|| format!("runs --format json is not an array: {list}"))?
        .iter()
        .filter_map(|r| r["run_id"].as_str().map(String::from))
        .collect())
}

pub const TRIALS: &[(&str, super::TrialFn)] = &[(
    "output::apply_runs_rollback_human_output",
    apply_runs_rollback,
)];
