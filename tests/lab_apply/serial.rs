//! Repairs over the lab's serial console (a real `agetty`/`login` on a pty
//! behind a unix socket), the only working path of these hosts: sshd dead
//! for lack of host keys is planned and repaired and the direct path works
//! again; a wrong password, a line that never shows a prompt and a line cut
//! mid-apply end in clear errors with the host as it was.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use serde_json::Value;

use super::failures::{expect_failed, expect_self_revert, left_as_it_was};
use super::{
    check, expect_fails, expect_result, host_outcome, resume, ssh_any_key, sshfix_cmd_with,
    wait_paused, Ctx, Run, Running, REFUSED, RESET, RUN_LIMIT,
};

pub const TRIALS: &[(&str, super::TrialFn)] = &[
    (
        "serial::hostkeys_missing_planned_and_repaired_over_the_console",
        hostkeys_missing,
    ),
    ("serial::wrong_password_refused_once", wrong_password),
    ("serial::silent_line_gives_up_clearly", silent_line),
    (
        "serial::line_cut_mid_apply_host_reverts_by_itself",
        line_cut_mid_apply,
    ),
];

/// Trials that wait for the dead-man timer or the wake timeout.
pub const SLOW: &[&str] = &[
    "serial::line_cut_mid_apply_host_reverts_by_itself",
    "serial::silent_line_gives_up_clearly",
];

/// The environment variable the serial inventories name for the password.
const PW_ENV: &str = "SSHFIX_LAB_CONSOLE_PW";
const PASSWORD: &str = "console-secret";

/// An inventory with `host` reached over `console` only (`direct` first, as
/// the default would, but no jump host), logging in as root.
fn inventory(
    ctx: &Ctx,
    dir: &Path,
    host: &str,
    console: &str,
    paths: &str,
) -> Result<PathBuf, Failed> {
    let path = dir.join("serial.ini");
    std::fs::write(
        &path,
        format!(
            "[serial]\n{host} ansible_host={} sshfix_console=\"{console}\"\n\n[serial:vars]\nansible_user=root\nsshfix_console_kind=serial\nsshfix_console_login=root\nsshfix_console_password_env={PW_ENV}\nsshfix_paths={paths}\n",
            ctx.addr(host)
        ),
    )?;
    Ok(path)
}

fn lab_console(ctx: &Ctx, host: &str) -> String {
    format!(
        "unix:{}",
        ctx.env
            .get(&format!("LAB_CONSOLE_{host}"))
            .map(String::as_str)
            .unwrap_or_else(|| panic!("lab.env has no LAB_CONSOLE_{host}"))
    )
}

fn run(
    inventory: &Path,
    ctx: &Ctx,
    state: &Path,
    sub: &str,
    args: &[&str],
    pw: &str,
) -> Result<Running, Failed> {
    let mut cmd = sshfix_cmd_with(inventory, &ctx.ssh_config(), state, sub, args);
    cmd.env(PW_ENV, pw);
    Running::spawn(cmd, format!("sshfix {sub} {} (serial)", args.join(" ")))
}

/// sshd is dead (no host keys) and no SSH path works: `plan` reaches the
/// host over the serial console and finds `host-keys-missing`; `apply` of
/// that plan generates keys, starts sshd, and verifies the direct path.
fn hostkeys_missing(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h30";
    expect_fails(ctx, h, REFUSED, "before apply")?;
    let tmp = tempfile::tempdir()?;
    let inv = inventory(ctx, tmp.path(), h, &lab_console(ctx, h), "direct,console")?;
    let state = tmp.path().join("state");
    let plan_path = tmp.path().join("plan.json");
    let plan_arg = plan_path.to_str().unwrap();
    let planned = run(
        &inv,
        ctx,
        &state,
        "plan",
        &["-l", h, "--out", plan_arg],
        PASSWORD,
    )?
    .wait(RUN_LIMIT)?;
    planned.expect_code(0)?;
    let plan: Value = serde_json::from_slice(&std::fs::read(&plan_path)?)?;
    let host = &plan["hosts"][0];
    check(host["reached_via"] == "console", || {
        format!(
            "{h}: reached via {} (want console)\n{}",
            host["reached_via"],
            planned.show()
        )
    })?;
    let ids: Vec<&str> = host["findings"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f["id"].as_str()).collect())
        .unwrap_or_default();
    check(ids.contains(&"host-keys-missing"), || {
        format!(
            "{h}: findings {ids:?} lack host-keys-missing\n{}",
            planned.show()
        )
    })?;
    let applied = run(
        &inv,
        ctx,
        &state,
        "apply",
        &["-l", h, "--plan", plan_arg, "--yes", "--format", "json"],
        PASSWORD,
    )?
    .wait(RUN_LIMIT)?;
    applied.expect_code(0)?;
    let out = host_outcome(&applied.json()?, h)?.clone();
    expect_result(&applied, &out, &["repaired"])?;
    check(out["reached_via"] == "console", || {
        format!("{h}: apply reached via {}", out["reached_via"])
    })?;
    // the host's new key, printed for the operator to check
    let fp = super::fixes::fingerprint(ctx, h)?;
    check(out["new_host_keys"].to_string().contains(&fp), || {
        format!("{h}: new_host_keys {} lack {fp}", out["new_host_keys"])
    })?;
    // the direct path works (with any key: the keys are new)
    let a = ssh_any_key(ctx, h)?;
    check(a.ok, || {
        format!("{h}: direct ssh fails after apply: {}", a.stderr)
    })?;
    ctx.sshd_t(h)
}

/// Everything sshfix printed, for searching.
fn all_output(run: &Run) -> String {
    format!("{}\n{}", run.stdout, run.stderr)
}

/// A wrong console password: the host is unreachable (exit 4) with the
/// console's refusal, tried once, the password never shown, nothing changed.
fn wrong_password(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h32";
    let before = ctx.snapshot(h)?;
    let tmp = tempfile::tempdir()?;
    let inv = inventory(ctx, tmp.path(), h, &lab_console(ctx, h), "console")?;
    let t0 = Instant::now();
    let r = run(
        &inv,
        ctx,
        &tmp.path().join("state"),
        "plan",
        &["-l", h],
        "Wr0ng-Pa55",
    )?
    .wait(RUN_LIMIT)?;
    let took = t0.elapsed();
    r.expect_code(4)?;
    let text = all_output(&r);
    check(
        text.contains("refused the login of `root`") && text.contains("does not try again"),
        || format!("{h}: no clear refusal\n{}", r.show()),
    )?;
    check(!text.contains("Wr0ng-Pa55"), || {
        format!("the password was printed\n{}", r.show())
    })?;
    check(took < Duration::from_secs(40), || format!("took {took:?}"))?;
    check(ctx.snapshot(h)? == before, || format!("{h}: files changed"))?;
    expect_fails(ctx, h, REFUSED, "after the refused login")
}

/// A console that accepts the connection and never says anything (a stuck
/// BMC): sshfix presses Enter, waits out the wake timeout (20 s) and reports
/// what it expected and saw; no hang.
fn silent_line(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h32";
    let tmp = tempfile::tempdir()?;
    let sock = tmp.path().join("mute.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock)?;
    listener.set_nonblocking(true)?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let mute = std::thread::spawn(move || {
        let mut conns = Vec::new();
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok((c, _)) = listener.accept() {
                let _ = c.set_nonblocking(true);
                conns.push(c);
            }
            for c in &mut conns {
                let mut buf = [0u8; 4096];
                let _ = c.read(&mut buf);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let inv = inventory(
        ctx,
        tmp.path(),
        h,
        &format!("unix:{}", sock.display()),
        "console",
    )?;
    let t0 = Instant::now();
    let r = run(
        &inv,
        ctx,
        &tmp.path().join("state"),
        "plan",
        &["-l", h],
        PASSWORD,
    )
    .and_then(|r| r.wait(RUN_LIMIT));
    let took = t0.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = mute.join();
    let r = r?;
    r.expect_code(4)?;
    check(
        all_output(&r).contains("showed no login or shell prompt within 20s"),
        || format!("no clear timeout\n{}", r.show()),
    )?;
    check(took < Duration::from_secs(45), || format!("took {took:?}"))
}

/// The serial line is cut right after the services of an apply (the fix is
/// in place, the timer armed): sshfix cannot confirm over it, reports the
/// host failed, and the host reverts by itself within `--confirm-timeout`.
fn line_cut_mid_apply(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h31";
    expect_fails(ctx, h, RESET, "before apply")?;
    let before = ctx.snapshot(h)?;
    let tmp = tempfile::tempdir()?;
    let inv = inventory(ctx, tmp.path(), h, &lab_console(ctx, h), "console")?;
    let pause = tmp.path().join("pause");
    std::fs::create_dir(&pause)?;
    let timeout = super::failures::CONFIRM_TIMEOUT.to_string();
    let mut cmd = sshfix_cmd_with(
        &inv,
        &ctx.ssh_config(),
        &tmp.path().join("state"),
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
    );
    cmd.env(PW_ENV, PASSWORD)
        .env("SSHFIX_TEST_PAUSE", format!("services:{}", pause.display()));
    let mut running = Running::spawn(cmd, format!("sshfix apply -l {h} (serial, paused)"))?;
    wait_paused(&mut running, &pause, h, RUN_LIMIT)?;
    if ctx.snapshot(h)? == before {
        running.kill_group();
        return Err(format!("{h}: paused after the services, but no file changed").into());
    }
    let dropped = super::lab::console_drop_at(&ctx.lab_dir, h);
    let cut = Instant::now();
    resume(&pause, h)?;
    dropped?;
    if let Err(e) = expect_self_revert(ctx, h, &before, cut) {
        running.kill_group();
        return Err(e);
    }
    let run = running.wait(RUN_LIMIT)?;
    let out = host_outcome(&run.json()?, h)?.clone();
    expect_failed(&run, &out, &["failed"])?;
    check(
        out["reason"]
            .as_str()
            .unwrap_or("")
            .contains("serial console"),
        || {
            format!(
                "{h}: the reason does not name the serial console: {}",
                out["reason"]
            )
        },
    )?;
    left_as_it_was(ctx, h, &before, RESET)
}
