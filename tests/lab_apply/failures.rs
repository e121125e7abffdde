//! Rollback, injected failures, concurrency and a partly failing fleet: a
//! host apply cannot repair is left exactly as it was (files byte-identical
//! with their modes, no candidate left beside a target, sshd answering as
//! before, no lock), whether sshfix notices the failure itself or dies and
//! the host's dead-man timer reverts it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{
    apply_json, check, expect_fails, expect_result, expect_works, host_outcome, resume,
    spawn_sshfix, sshfix, wait_paused, Ctx, Run, MAXSTARTUPS, RESET, RUN_LIMIT,
};

pub const TRIALS: &[(&str, super::TrialFn)] = &[
    ("rollback::restores_bytes_and_symptom", rollback_restores),
    ("fail::candidate_fails_sshd_t", candidate_fails_sshd_t),
    ("fail::reload_fails", reload_fails),
    ("fail::verification_fails", verification_fails),
    (
        "fail::controller_killed_host_reverts_by_itself",
        controller_killed,
    ),
    (
        "fail::working_path_cut_host_reverts_by_itself",
        working_path_cut,
    ),
    ("fail::etc_full", etc_full),
    ("fail::etc_readonly", etc_readonly),
    ("fail::stale_plan_refused", stale_plan),
    ("concurrent::two_applies_on_one_host", concurrent_applies),
    ("fleet::some_hosts_fail_others_repaired", fleet_some_fail),
];

/// The trials that take longest (they wait for the dead-man timer or for
/// sshfix to give up on a cut path).
pub const SLOW: &[&str] = &[
    "fail::working_path_cut_host_reverts_by_itself",
    "fail::controller_killed_host_reverts_by_itself",
    "fail::verification_fails",
];

/// The dead-man timer of the trials that let it fire.
pub const CONFIRM_TIMEOUT: u64 = 15;
/// Slack on top of the timer: polling, the restore and the reload.
const REVERT_SLACK: Duration = Duration::from_secs(12);

/// What differs between two snapshots, one line per file.
fn diff(before: &BTreeMap<String, String>, now: &BTreeMap<String, String>) -> String {
    let mut out = Vec::new();
    for (k, v) in before {
        match now.get(k) {
            None => out.push(format!("  gone: {k} (was {v})")),
            Some(n) if n != v => out.push(format!("  changed: {k}: {v} -> {n}")),
            _ => {}
        }
    }
    for (k, v) in now {
        if !before.contains_key(k) {
            out.push(format!("  new: {k} {v}"));
        }
    }
    out.join("\n")
}

/// The host is exactly as it was: same files, sshd answering with the same
/// error, no lock.
pub fn left_as_it_was(
    ctx: &Ctx,
    h: &str,
    before: &BTreeMap<String, String>,
    errors: &[&str],
) -> Result<(), Failed> {
    let now = ctx.snapshot(h)?;
    check(now == *before, || {
        format!(
            "{h}: files differ from before the apply:\n{}",
            diff(before, &now)
        )
    })?;
    if errors == MAXSTARTUPS {
        // A reload makes sshd forget the connections it counted; the lab's
        // idle holder re-connects within a moment (as a flood would): wait
        // for it, or the first ssh slips through. With the revert missing,
        // the limit is not 1-1 and this waits in vain.
        wait_until(Duration::from_secs(5), || {
            Ok(ctx
                .console(h, "ps -eo args | grep -c '[1] of 1-1 startups' || true")?
                .trim()
                != "0")
        })?;
    }
    expect_fails(ctx, h, errors, "after the failed apply")?;
    check(!ctx.lock_held(h)?, || {
        format!("{h}: /run/sshfix/lock left behind")
    })
}

/// Exit 2, the host failed or refused, with a reason.
pub fn expect_failed(run: &Run, out: &Value, want: &[&str]) -> Result<(), Failed> {
    run.expect_code(2)?;
    expect_result(run, out, want)?;
    check(
        out["reason"].as_str().is_some_and(|r| !r.trim().is_empty()),
        || format!("{}: no reason given\n{}", out["host"], run.show()),
    )
}

fn reason(out: &Value) -> String {
    out["reason"].as_str().unwrap_or("").to_lowercase()
}

/// Polls until `f` holds or `limit` passed; returns the time it took.
pub fn wait_until(
    limit: Duration,
    mut f: impl FnMut() -> Result<bool, Failed>,
) -> Result<Option<Duration>, Failed> {
    let t0 = Instant::now();
    loop {
        if f()? {
            return Ok(Some(t0.elapsed()));
        }
        if t0.elapsed() > limit {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

// ---------------------------------------------------------------- rollback

/// apply on a wrappers-deny host, then `rollback -l HOST` (latest run):
/// hosts.allow byte-identical to before and the reset is back.
fn rollback_restores(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h17";
    expect_fails(ctx, h, RESET, "before apply")?;
    let before = ctx.snapshot(h)?;
    let sha_before = ctx.sha(h, "/etc/hosts.allow")?;
    let state = tempfile::tempdir()?;
    let (run, out) = apply_json(ctx, state.path(), h, &[])?;
    run.expect_code(0)?;
    expect_result(&run, &out, &["repaired"])?;
    let run_id = run.json()?["run_id"]
        .as_str()
        .ok_or("no run_id")?
        .to_string();
    expect_works(ctx, h, "after apply")?;
    check(ctx.sha(h, "/etc/hosts.allow")? != sha_before, || {
        format!("{h}: apply did not change /etc/hosts.allow")
    })?;

    let runs = sshfix(ctx, state.path(), "runs", &["--format", "json"])?;
    runs.expect_code(0)?;
    check(runs.stdout.contains(&run_id), || {
        format!("`runs` does not list {run_id}\n{}", runs.show())
    })?;

    let rb = sshfix(
        ctx,
        state.path(),
        "rollback",
        &["-l", h, "--format", "json"],
    )?;
    rb.expect_code(0)?;
    let rb_out = host_outcome(&rb.json()?, h)?.clone();
    expect_result(&rb, &rb_out, &["restored"])?;
    check(ctx.sha(h, "/etc/hosts.allow")? == sha_before, || {
        format!("{h}: /etc/hosts.allow is not byte-identical after rollback")
    })?;
    left_as_it_was(ctx, h, &before, RESET)
}

// ---------------------------------------------------------------- injected failures

/// A saved plan whose sshd_config candidate fails `sshd -t`.
fn candidate_fails_sshd_t(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h18";
    expect_fails(ctx, h, MAXSTARTUPS, "before apply")?;
    let before = ctx.snapshot(h)?;
    let state = tempfile::tempdir()?;
    let plan_file = state.path().join("plan.json");
    let plan_arg = plan_file.to_string_lossy().to_string();
    let p = sshfix(ctx, state.path(), "plan", &["-l", h, "--out", &plan_arg])?;
    p.expect_code(0)?;
    let mut plan: Value = serde_json::from_slice(&std::fs::read(&plan_file)?)?;
    let change = plan["hosts"]
        .as_array_mut()
        .and_then(|a| a.iter_mut().find(|x| x["host"] == h))
        .and_then(|x| x["changes"].as_array_mut())
        .and_then(|c| c.iter_mut().find(|c| c["path"] == "/etc/ssh/sshd_config"))
        .ok_or_else(|| format!("{h}: no sshd_config change in the plan\n{}", p.show()))?;
    let mut after = change["after"]
        .as_str()
        .ok_or("the sshd_config change has no text `after`")?
        .to_string();
    if !after.ends_with('\n') {
        after.push('\n');
    }
    after.push_str("NoSuchKeyword yes\n");
    change["after_sha256"] = Value::from(hex::encode(Sha256::digest(after.as_bytes())));
    change["after"] = Value::from(after);
    std::fs::write(&plan_file, serde_json::to_vec_pretty(&plan)?)?;

    let run = sshfix(
        ctx,
        state.path(),
        "apply",
        &["--yes", "--plan", &plan_arg, "--format", "json"],
    )?;
    let out = host_outcome(&run.json()?, h)?.clone();
    expect_failed(&run, &out, &["failed", "refused"])?;
    check(reason(&out).contains("nosuchkeyword"), || {
        format!(
            "{h}: the reason does not quote sshd -t's complaint: {}",
            out["reason"]
        )
    })?;
    left_as_it_was(ctx, h, &before, MAXSTARTUPS)
}

/// The service manager fails the reload (`reload-fails`).
fn reload_fails(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h19";
    expect_fails(ctx, h, MAXSTARTUPS, "before apply")?;
    let before = ctx.snapshot(h)?;
    let state = tempfile::tempdir()?;
    let (run, out) = apply_json(ctx, state.path(), h, &[])?;
    expect_failed(&run, &out, &["failed"])?;
    check(out["failed_step"] == "services", || {
        format!(
            "{h}: failed_step {} (want services)\n{}",
            out["failed_step"],
            run.show()
        )
    })?;
    // (the revert's own reload fails the same way; sshd never loaded the
    // candidate, so the host is back as it was all the same)
    check(out["reverted"] == true, || {
        format!("{h}: reverted is {}\n{}", out["reverted"], run.show())
    })?;
    left_as_it_was(ctx, h, &before, MAXSTARTUPS)
}

/// The lab blocks the direct path right after the reload: verification
/// fails, apply reverts.
fn verification_fails(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h20";
    expect_fails(ctx, h, MAXSTARTUPS, "before apply")?;
    let before = ctx.snapshot(h)?;
    let state = tempfile::tempdir()?;
    let pause = tempfile::tempdir()?;
    let env = format!("services:{}", pause.path().display());
    let mut running = spawn_sshfix(
        ctx,
        state.path(),
        "apply",
        &["--yes", "-l", h, "--format", "json"],
        &[("SSHFIX_TEST_PAUSE", &env)],
    )?;
    wait_paused(&mut running, pause.path(), h, RUN_LIMIT)?;
    let blocked = ctx.fault(h, "block-ctl");
    resume(pause.path(), h)?;
    blocked?;
    let run = running.wait(RUN_LIMIT);
    let unblocked = ctx.fault(h, "unblock");
    let run = run?;
    unblocked?;
    let out = host_outcome(&run.json()?, h)?.clone();
    expect_failed(&run, &out, &["failed"])?;
    check(out["reverted"] == true, || {
        format!("{h}: reverted is {}\n{}", out["reverted"], run.show())
    })?;
    left_as_it_was(ctx, h, &before, MAXSTARTUPS)
}

/// Pids of `pid` and every process below it.
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut parent = Vec::new();
    if let Ok(d) = std::fs::read_dir("/proc") {
        for e in d.flatten() {
            let Ok(p) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            let ppid = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|s| s.parse::<i32>().ok());
            if let Some(pp) = ppid {
                parent.push((p, pp));
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        out.extend(parent.iter().filter(|(_, pp)| *pp == cur).map(|(p, _)| *p));
        i += 1;
    }
    out
}

fn cmdline(pid: i32) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default())
        .replace('\0', " ")
}

/// The `/tmp/sfx-*` run directories that appeared since `before` and were
/// made for host `h` of this lab (their generated ssh configurations name
/// the inventory host and include the lab's ssh_config).
pub fn sfx_dirs_for(ctx: &Ctx, before: &BTreeSet<String>, h: &str) -> Vec<PathBuf> {
    let host_mark = format!("inventory host `{h}`");
    let lab_mark = ctx.lab_dir.to_string_lossy().into_owned();
    super::sfx_dirs()
        .difference(before)
        .map(|n| Path::new("/tmp").join(n))
        .filter(|d| {
            let text: String = std::fs::read_dir(d)
                .map(|rd| {
                    rd.flatten()
                        .filter_map(|e| std::fs::read(e.path()).ok())
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .collect()
                })
                .unwrap_or_default();
            text.contains(&host_mark) && text.contains(&lab_mark)
        })
        .collect()
}

/// After SIGKILL of sshfix: ends what still uses its run directories (a
/// detached ssh master) and removes them, as the dead controller could not.
pub fn clean_after_kill(dirs: &[PathBuf]) {
    for d in dirs {
        let d = d.to_string_lossy().to_string();
        if let Ok(rd) = std::fs::read_dir("/proc") {
            for e in rd.flatten() {
                if let Ok(p) = e.file_name().to_string_lossy().parse::<i32>() {
                    if cmdline(p).contains(&d) {
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(p),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(&d);
    }
}

/// Applies with the pause hook and a short dead-man timer, waits for the
/// pause on `h` and checks that the fix is in place and the lock held.
fn paused_apply(
    ctx: &Ctx,
    h: &str,
    before: &BTreeMap<String, String>,
    state: &Path,
    pause: &Path,
) -> Result<super::Running, Failed> {
    let env = format!("services:{}", pause.display());
    let timeout = CONFIRM_TIMEOUT.to_string();
    let mut running = spawn_sshfix(
        ctx,
        state,
        "apply",
        &[
            "--yes",
            "-l",
            h,
            "--confirm-timeout",
            &timeout,
            "--format",
            "json",
        ],
        &[("SSHFIX_TEST_PAUSE", &env)],
    )?;
    wait_paused(&mut running, pause, h, RUN_LIMIT)?;
    let now = ctx.snapshot(h)?;
    if now == *before {
        running.kill_group();
        return Err(format!("{h}: paused after the services, but no file changed").into());
    }
    if !ctx.lock_held(h)? {
        running.kill_group();
        return Err(format!("{h}: paused mid-apply, but /run/sshfix/lock is not held").into());
    }
    Ok(running)
}

/// Waits for the host to revert by itself: files as before and the lock
/// gone, within the timer and some slack from `since`.
pub fn expect_self_revert(
    ctx: &Ctx,
    h: &str,
    before: &BTreeMap<String, String>,
    since: Instant,
) -> Result<(), Failed> {
    let limit = Duration::from_secs(CONFIRM_TIMEOUT) + REVERT_SLACK;
    let left = limit.saturating_sub(since.elapsed());
    let done = wait_until(left, || {
        Ok(ctx.snapshot(h)? == *before && !ctx.lock_held(h)?)
    })?;
    if done.is_none() {
        let now = ctx.snapshot(h)?;
        return Err(format!(
            "{h}: not reverted {} s after the controller lost it (timer {CONFIRM_TIMEOUT} s); lock held: {}; files:\n{}",
            since.elapsed().as_secs(),
            ctx.lock_held(h)?,
            diff(before, &now)
        )
        .into());
    }
    Ok(())
}

/// sshfix is SIGKILLed right after the reload: the dead-man timer reverts
/// the host within `--confirm-timeout`.
fn controller_killed(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h21";
    expect_fails(ctx, h, MAXSTARTUPS, "before apply")?;
    let before = ctx.snapshot(h)?;
    let state = tempfile::tempdir()?;
    let pause = tempfile::tempdir()?;
    let sfx_before = super::sfx_dirs();
    let mut running = paused_apply(ctx, h, &before, state.path(), pause.path())?;
    // the controller dies with everything it started (ssh masters, console
    // shells), also those in process groups of their own
    let family = descendants(running.pid());
    running.kill_group();
    for p in family {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let killed = Instant::now();
    clean_after_kill(&sfx_dirs_for(ctx, &sfx_before, h));
    expect_self_revert(ctx, h, &before, killed)?;
    left_as_it_was(ctx, h, &before, MAXSTARTUPS)
}

/// The working path (through the jump host: TCP wrappers deny the
/// controller; the banner fault adds an sshd reload to the fix) is cut right
/// after the reload:
/// sshfix cannot confirm, reports the host failed, and the host reverts by
/// itself within `--confirm-timeout`.
fn working_path_cut(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h22";
    expect_fails(ctx, h, RESET, "before apply")?;
    let before = ctx.snapshot(h)?;
    let state = tempfile::tempdir()?;
    let pause = tempfile::tempdir()?;
    let mut running = paused_apply(ctx, h, &before, state.path(), pause.path())?;
    let blocked = ctx.fault(h, "block-jump");
    let cut = Instant::now();
    resume(pause.path(), h)?;
    let result = (|| -> Result<(), Failed> {
        blocked?;
        // watched while sshfix still runs: the host must not wait for it
        if let Err(e) = expect_self_revert(ctx, h, &before, cut) {
            running.kill_group();
            return Err(e);
        }
        let run = running.wait(RUN_LIMIT)?;
        let out = host_outcome(&run.json()?, h)?.clone();
        expect_failed(&run, &out, &["failed"])
    })();
    let unblocked = ctx.fault(h, "unblock");
    result?;
    unblocked?;
    left_as_it_was(ctx, h, &before, RESET)
}

/// `/etc/ssh` is full (ENOSPC for any new file): the candidate cannot be
/// written.
fn etc_full(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h23";
    expect_fails(ctx, h, MAXSTARTUPS, "before apply")?;
    let before = ctx.snapshot(h)?;
    let state = tempfile::tempdir()?;
    let (run, out) = apply_json(ctx, state.path(), h, &[])?;
    expect_failed(&run, &out, &["failed", "refused"])?;
    let r = reason(&out);
    check(r.contains("space") || r.contains("full"), || {
        format!(
            "{h}: the reason does not say the disk is full: {}",
            out["reason"]
        )
    })?;
    left_as_it_was(ctx, h, &before, MAXSTARTUPS)
}

/// `/etc` is read-only: hosts.allow cannot be replaced.
fn etc_readonly(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h24";
    expect_fails(ctx, h, RESET, "before apply")?;
    let before = ctx.snapshot(h)?;
    let state = tempfile::tempdir()?;
    let (run, out) = apply_json(ctx, state.path(), h, &[])?;
    expect_failed(&run, &out, &["failed", "refused"])?;
    check(reason(&out).contains("read-only"), || {
        format!(
            "{h}: the reason does not say /etc is read-only: {}",
            out["reason"]
        )
    })?;
    left_as_it_was(ctx, h, &before, RESET)
}

/// A saved plan whose file changed on the host since: refused, and the
/// host's change stays.
fn stale_plan(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h25";
    expect_fails(ctx, h, RESET, "before apply")?;
    let state = tempfile::tempdir()?;
    let plan_file = state.path().join("plan.json");
    let plan_arg = plan_file.to_string_lossy().to_string();
    let p = sshfix(ctx, state.path(), "plan", &["-l", h, "--out", &plan_arg])?;
    p.expect_code(0)?;
    let marker = "# sshfix lab: changed after the plan was made";
    ctx.console(h, &format!("echo '{marker}' >> /etc/hosts.allow"))?;
    let before = ctx.snapshot(h)?;
    let run = sshfix(
        ctx,
        state.path(),
        "apply",
        &["--yes", "--plan", &plan_arg, "--format", "json"],
    )?;
    let out = host_outcome(&run.json()?, h)?.clone();
    expect_failed(&run, &out, &["refused"])?;
    let r = reason(&out);
    check(r.contains("stale") || r.contains("changed"), || {
        format!(
            "{h}: the reason does not say the plan is stale: {}",
            out["reason"]
        )
    })?;
    let text = ctx.console(h, "cat /etc/hosts.allow")?;
    check(text.contains(marker), || {
        format!("{h}: the line added after the plan is gone:\n{text}")
    })?;
    left_as_it_was(ctx, h, &before, RESET)
}

// ---------------------------------------------------------------- concurrency

/// Two applies at once on one host: both end, one repairs, the other
/// repairs, finds nothing to do or is refused with a reason; hosts.allow ends
/// as one fixed version.
fn concurrent_applies(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h26";
    expect_fails(ctx, h, RESET, "before apply")?;
    let s1 = tempfile::tempdir()?;
    let s2 = tempfile::tempdir()?;
    let args = ["--yes", "-l", h, "--format", "json"];
    let a = spawn_sshfix(ctx, s1.path(), "apply", &args, &[])?;
    let b = spawn_sshfix(ctx, s2.path(), "apply", &args, &[])?;
    let (a, b) = (a.wait(RUN_LIMIT), b.wait(RUN_LIMIT));
    let (a, b) = (a?, b?);
    let mut results = Vec::new();
    for run in [&a, &b] {
        let out = host_outcome(&run.json()?, h)?.clone();
        let res = out["result"].as_str().unwrap_or("").to_string();
        let want_code = if res == "refused" { 2 } else { 0 };
        run.expect_code(want_code)?;
        check(
            ["repaired", "unchanged", "refused"].contains(&res.as_str()),
            || format!("{h}: result {res}\n{}", run.show()),
        )?;
        if res == "refused" {
            check(!reason(&out).trim().is_empty(), || {
                format!("{h}: refused without a reason\n{}", run.show())
            })?;
        }
        results.push(res);
    }
    check(results.iter().any(|r| r == "repaired"), || {
        format!(
            "{h}: neither apply repaired ({results:?})\n{}\n{}",
            a.show(),
            b.show()
        )
    })?;
    let text = ctx.console(h, "cat /etc/hosts.allow")?;
    let allow = text
        .lines()
        .filter(|l| l.trim_start().starts_with("sshd") && l.contains("10.77.0.1"))
        .count();
    check(allow == 1, || {
        format!("{h}: {allow} allow lines for the controller in hosts.allow:\n{text}")
    })?;
    expect_works(ctx, h, "after both applies")?;
    ctx.sshd_t(h)?;
    check(!ctx.lock_held(h)?, || {
        format!("{h}: /run/sshfix/lock left behind")
    })
}

// ---------------------------------------------------------------- fleet

/// `apply -l A,B,C` where B's `/etc` is read-only: exit 2, A and C
/// repaired, the table names B with its reason.
fn fleet_some_fail(ctx: &Ctx) -> Result<(), Failed> {
    let (a, b, c) = ("h27", "h28", "h29");
    for h in [a, b, c] {
        expect_fails(ctx, h, RESET, "before apply")?;
    }
    let before_b = ctx.snapshot(b)?;
    let state = tempfile::tempdir()?;
    let list = format!("{a},{b},{c}");
    let run = sshfix(ctx, state.path(), "apply", &["--yes", "-l", &list])?;
    run.expect_code(2)?;
    for h in [a, c] {
        expect_works(ctx, h, "after the fleet apply")?;
        check(
            run.stdout
                .lines()
                .any(|l| l.contains(h) && l.contains("repaired")),
            || format!("the table has no `repaired` row for {h}\n{}", run.show()),
        )?;
    }
    check(
        run.stdout
            .lines()
            .any(|l| l.contains(b) && (l.contains("failed") || l.contains("refused"))),
        || format!("the table does not say {b} failed\n{}", run.show()),
    )?;
    check(run.stdout.to_lowercase().contains("read-only"), || {
        format!(
            "the output does not give {b}'s reason (read-only /etc)\n{}",
            run.show()
        )
    })?;
    left_as_it_was(ctx, b, &before_b, RESET)
}
