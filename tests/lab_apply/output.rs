//! What people see of a repair, in the lab: the human output of `plan`,
//! `apply`, `runs` and `rollback` for one host with TCP wrappers in the way,
//! kept as snapshots (what changes from run to run replaced first, see
//! `common::stable`). Update them with `INSTA_UPDATE=always` after a
//! deliberate change and review the diff.

use std::path::Path;

use libtest_mimic::Failed;

use super::{check, sshfix_cmd, Ctx, Run, Running, RUN_LIMIT};

/// The host this module repairs and rolls back (the fleet's last).
pub const HOST: &str = "h103";

/// `sshfix SUB … ARGS` with the lab's ssh_config and `state`, at the
/// default width (no `COLUMNS`), no colour.
fn sshfix(ctx: &Ctx, state: &Path, sub: &str, args: &[&str]) -> Result<Run, Failed> {
    let mut c = sshfix_cmd(ctx, &ctx.ssh_config(), state, sub, args);
    c.env_remove("COLUMNS").env_remove("NO_COLOR");
    Running::spawn(c, format!("sshfix {sub} {}", args.join(" ")))?.wait(RUN_LIMIT)
}

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
