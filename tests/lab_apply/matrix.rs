//! The fault table: every fault injected just before every apply step, on a
//! host of its own, and the invariant checked afterwards — each file sshfix
//! touches is the original, the validated new version, or (for a concurrent
//! edit) the other editor's version, never partial; `sshd -t` passes; the
//! direct path answers at least as well as before and the working path still
//! works. The outcomes are written as the table in `docs/reliability.md`
//! (between its `fault-table` markers): the test fails when the committed
//! table differs from the run; `SSHFIX_BLESS=1` rewrites it.
//!
//! Every matrix host starts with the same faults: TCP wrappers deny the
//! controller (so the working path is the jump host), a missing Banner file
//! (an sshd_config edit and an sshd reload), and small filesystems (4 MB
//! tmpfs on `/etc/ssh`, `/var/backups` and `/tmp`, so that the disk can be
//! filled at any moment). A playbook of the test's own adds a command step
//! (`touch /etc/ssh/matrix-marker`, undone by `rm`), so every step of the
//! protocol runs: lock (with the stale check), backup, stage, arm, commands,
//! validate, install, services, verify, confirm.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use libtest_mimic::Failed;
use serde_json::Value;

use super::failures::{clean_after_kill, descendants, sfx_dirs_for, wait_until};
use super::{
    check, expect_fails, host_outcome, resume, spawn_sshfix, ssh_direct, ssh_with, wait_paused,
    Ctx, RESET, RUN_LIMIT,
};

/// One kind of fault: how the lab injects it and how it is undone before the
/// host is judged.
pub struct Fault {
    /// The row name in the table.
    pub name: &'static str,
    /// The trial name part.
    pub key: &'static str,
    /// What it does, for the table's legend.
    pub what: &'static str,
    /// The lab fault kind that injects it; `None`: the controller is killed.
    pub inject: Option<&'static str>,
    /// Lab fault kinds that undo it once the run is over.
    pub undo: &'static [&'static str],
}

pub const FAULTS: &[Fault] = &[
    Fault {
        name: "connection drop",
        key: "drop",
        what: "every SSH connection to the host is killed (`pkill -KILL` of sshd's session processes); the listener stays",
        inject: Some("drop-sessions"),
        undo: &[],
    },
    Fault {
        name: "controller SIGKILL",
        key: "kill",
        what: "sshfix and everything it started are killed with SIGKILL; nothing on the controller finishes the run",
        inject: None,
        undo: &[],
    },
    Fault {
        name: "sshd restarted",
        key: "sshd_restart",
        what: "every sshd process on the host is killed (listener and sessions, as in a reboot of the daemon) and sshd starts again",
        inject: Some("sshd-bounce"),
        undo: &[],
    },
    Fault {
        name: "disk full",
        key: "disk_full",
        what: "`/etc/ssh`, `/var/backups` and `/tmp` are filled to ENOSPC, and stay full until the run is over",
        inject: Some("disk-fill"),
        undo: &["disk-unfill"],
    },
    Fault {
        name: "read-only filesystem",
        key: "read_only",
        what: "`/etc` and `/etc/ssh` are remounted read-only (EROFS) until the run is over",
        inject: Some("etc-readonly"),
        undo: &["etc-rw"],
    },
    Fault {
        name: "concurrent edit",
        key: "concurrent_edit",
        what: "someone else appends a line to `/etc/hosts.allow`, a file the plan changes",
        inject: Some("edit-hosts-allow"),
        undo: &[],
    },
    Fault {
        name: "clock skew",
        key: "clock_skew",
        what: "the host's clock, as `date` tells every script there, jumps a day ahead",
        inject: Some("clock-skew"),
        undo: &["clock-unskew"],
    },
];

/// The apply steps in the order a run takes them with this plan.
pub const STEPS: &[&str] = &[
    "lock", "backup", "stage", "arm", "commands", "validate", "install", "services", "verify",
    "confirm",
];

/// The first matrix host is h{FIRST_HOST}; cell (fault f, step s) is
/// h{FIRST_HOST + f * STEPS.len() + s}.
pub const FIRST_HOST: usize = 33;

/// Hosts the matrix needs.
pub const HOSTS: usize = 70;

/// The dead-man timer of a matrix run: long enough that a run slowed by
/// seven others on two cores and a fault injected mid-way still confirms in
/// time, so the outcome does not depend on the machine's load.
const CONFIRM_TIMEOUT: u64 = 20;

/// The files the plan changes on every matrix host.
const FILES: &[&str] = &["/etc/hosts.allow", "/etc/ssh/sshd_config"];

const _: () = assert!(FAULTS.len() * STEPS.len() == HOSTS);

pub fn host(fault: usize, step: usize) -> String {
    format!("h{}", FIRST_HOST + fault * STEPS.len() + step)
}

/// The lab faults every matrix host starts with.
pub fn setup() -> Vec<(String, &'static str)> {
    let mut v = Vec::new();
    for f in 0..FAULTS.len() {
        for s in 0..STEPS.len() {
            for kind in ["wrappers-deny", "banner-missing", "small-disk"] {
                v.push((host(f, s), kind));
            }
        }
    }
    v
}

/// The playbook that adds a command step to every matrix host's plan.
const PLAYBOOK: &str = "name: fault matrix
checks:
  - id: matrix-command-step
    severity: info
    when: hosts_access.denied | length > 0
    summary: the fault matrix adds a command step
    fix:
      - command: {cmd: touch /etc/ssh/matrix-marker, creates: /etc/ssh/matrix-marker, undo: rm -f /etc/ssh/matrix-marker}
";

/// Outcomes of the cells that ran: (fault, step) → the table's cell.
static RESULTS: Mutex<BTreeMap<(usize, usize), String>> = Mutex::new(BTreeMap::new());

pub fn trials() -> Vec<(String, super::BoxedTrial)> {
    let mut v: Vec<(String, super::BoxedTrial)> = Vec::new();
    for (f, fault) in FAULTS.iter().enumerate() {
        for (s, step) in STEPS.iter().enumerate() {
            v.push((
                format!("matrix::{}::before_{step}", fault.key),
                Box::new(move |ctx: &Ctx| {
                    let cell = cell(ctx, f, s)?;
                    RESULTS.lock().unwrap().insert((f, s), cell);
                    Ok(())
                }),
            ));
        }
    }
    v
}

/// sha256 of each of [`FILES`] on the host (`None`: missing).
fn hashes(ctx: &Ctx, h: &str) -> Result<Vec<Option<String>>, Failed> {
    FILES.iter().map(|p| ctx.sha(h, p)).collect()
}

/// The after_sha256 the run's plan gives each of [`FILES`].
fn planned(state: &Path, h: &str) -> Result<Vec<Option<String>>, Failed> {
    let runs = state.join("runs");
    let dir = std::fs::read_dir(&runs)
        .map_err(|e| format!("{}: {e}", runs.display()))?
        .flatten()
        .next()
        .ok_or_else(|| format!("no run in {}", runs.display()))?;
    let text = std::fs::read_to_string(dir.path().join("plan.json"))?;
    let plan: Value = serde_json::from_str(&text)?;
    let hp = plan["hosts"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["host"] == h))
        .ok_or_else(|| format!("{h} is not in the run's plan.json"))?;
    Ok(FILES
        .iter()
        .map(|p| {
            hp["changes"].as_array().and_then(|c| {
                c.iter()
                    .find(|x| x["path"] == *p)
                    .and_then(|x| x["after_sha256"].as_str().map(String::from))
            })
        })
        .collect())
}

/// Who decided the run on the host (`confirmed`, `revert`, `timer`), `-`
/// when no run got that far; and whether an armed timer is still pending
/// or its restore still going.
fn decided(ctx: &Ctx, h: &str) -> Result<(String, bool), Failed> {
    let out = ctx.console(
        h,
        r#"by=-; busy=0
           for b in /var/backups/sshfix/*/; do
             [ -d "$b" ] || continue
             if [ -d "$b/decided" ]; then
               by=$(cat "$b/decided/by" 2>/dev/null)
               # a full disk can leave the decision without its record
               [ -n "$by" ] || by=unrecorded
               if [ "$by" = timer ] && ! grep -q '^done' "$b/restored" 2>/dev/null && [ -e /run/sshfix/lock ]; then busy=1; fi
             elif [ -e "$b/timer.pid" ] || [ -e "$b/timer.unit" ]; then busy=1; fi
           done
           echo "$by $busy""#,
    )?;
    let mut w = out.split_whitespace();
    let by = w.next().unwrap_or("-").to_string();
    Ok((by, w.next() == Some("1")))
}

/// What one file ended as.
fn state_of(
    now: &Option<String>,
    before: &Option<String>,
    new: &Option<String>,
    theirs: &[String],
) -> &'static str {
    if now.as_ref().is_some_and(|n| theirs.contains(n)) {
        "theirs"
    } else if now == before {
        "original"
    } else if now.is_some() && now == new {
        "new"
    } else {
        "OTHER"
    }
}

/// One cell: fault `f` just before step `s` on its own host; returns the
/// table's text for it after checking the invariant.
fn cell(ctx: &Ctx, f: usize, s: usize) -> Result<String, Failed> {
    let fault = &FAULTS[f];
    let step = STEPS[s];
    let h = host(f, s);
    let h = h.as_str();
    expect_fails(ctx, h, RESET, "before apply")?;
    let before = hashes(ctx, h)?;
    let state = tempfile::tempdir()?;
    let pause = tempfile::tempdir()?;
    let playbook = state.path().join("matrix.yml");
    std::fs::write(&playbook, PLAYBOOK)?;
    let sfx_before = super::sfx_dirs();
    let point = format!("before-{step}:{}", pause.path().display());
    let timeout = CONFIRM_TIMEOUT.to_string();
    let pb = playbook.to_string_lossy().into_owned();
    let mut running = spawn_sshfix(
        ctx,
        state.path(),
        "apply",
        &[
            "--yes",
            "-l",
            h,
            "-p",
            &pb,
            "--confirm-timeout",
            &timeout,
            "--format",
            "json",
        ],
        &[("SSHFIX_TEST_PAUSE", &point)],
    )?;
    wait_paused(&mut running, pause.path(), h, RUN_LIMIT)?;
    // inject
    let mut theirs = Vec::new();
    let result = match fault.inject {
        None => {
            let family = descendants(running.pid());
            running.kill_group();
            for p in family {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            clean_after_kill(&sfx_dirs_for(ctx, &sfx_before, h));
            "killed".to_string()
        }
        Some(kind) => {
            let injected = ctx.fault(h, kind);
            if kind == "edit-hosts-allow" {
                theirs.extend(ctx.sha(h, FILES[0])?);
            }
            resume(pause.path(), h)?;
            if let Err(e) = injected {
                running.kill_group();
                return Err(e);
            }
            let run = running.wait(RUN_LIMIT)?;
            let out = host_outcome(&run.json()?, h)?.clone();
            let r = out["result"].as_str().unwrap_or("?").to_string();
            check(
                matches!(
                    r.as_str(),
                    "repaired" | "refused" | "failed" | "unreachable"
                ),
                || format!("{h}: result {r}\n{}", run.show()),
            )?;
            r
        }
    };
    // a timer still armed, or its restore under way: let it finish
    let settled = wait_until(Duration::from_secs(CONFIRM_TIMEOUT + 30), || {
        Ok(!decided(ctx, h)?.1)
    })?;
    check(settled.is_some(), || {
        format!(
            "{h}: the dead-man timer did not finish within {} s",
            CONFIRM_TIMEOUT + 30
        )
    })?;
    let (by, _) = decided(ctx, h)?;
    for kind in fault.undo {
        ctx.fault(h, kind)?;
    }
    // the invariant
    let new = planned(state.path(), h)?;
    let now = hashes(ctx, h)?;
    if fault.key == "concurrent_edit" {
        // their line on top of whichever version was there when they wrote
        // it; the new version when it went in before them
        let text = ctx.console(h, "cat /etc/hosts.allow")?;
        check(
            text.ends_with("# edited by someone else during the run\n"),
            || format!("{h}: the other editor's line is gone from /etc/hosts.allow:\n{text}"),
        )?;
        theirs.extend(now[0].clone());
    }
    let states: Vec<&str> = (0..FILES.len())
        .map(|i| state_of(&now[i], &before[i], &new[i], &theirs))
        .collect();
    for (i, st) in states.iter().enumerate() {
        check(*st != "OTHER", || {
            format!(
                "{h}: {} is neither the original ({:?}) nor the new version ({:?}): {:?}",
                FILES[i], before[i], new[i], now[i]
            )
        })?;
    }
    ctx.sshd_t(h)?;
    let direct = ssh_direct(ctx, h)?;
    check(direct.ok || direct.says(RESET), || {
        format!(
            "{h}: the direct path answers worse than before (it reset the connection): {}",
            direct.stderr
        )
    })?;
    let jump = format!("root@{}", ctx.addr("jump"));
    let via_jump = ssh_with(&ctx.ssh_config(), &ctx.addr(h), &["-J", &jump])?;
    check(via_jump.ok, || {
        format!(
            "{h}: the working path (jump host) no longer works: {}",
            via_jump.stderr
        )
    })?;
    // the cell
    let files = if states.iter().all(|s| *s == states[0]) {
        states[0].to_string()
    } else {
        FILES
            .iter()
            .zip(&states)
            .map(|(p, s)| format!("{} {s}", p.rsplit('/').next().unwrap_or(p)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!("{result} · {} · {files}", if by == "-" { "—" } else { &by });
    if direct.ok {
        text.push_str(" · ssh works");
    }
    if ctx.lock_held(h)? {
        text.push_str(" · lock held");
    }
    let strays = ctx
        .snapshot(h)?
        .into_iter()
        .filter(|(k, _)| k == "stray:")
        .count();
    if strays > 0 {
        text.push_str(" · candidates left");
    }
    Ok(text)
}

/// The markers around the generated table in `docs/reliability.md`.
const START: &str = "<!-- fault-table:start (generated by tests/lab_apply/matrix.rs; SSHFIX_BLESS=1 cargo test --test lab_apply -- matrix:: rewrites it) -->";
const END: &str = "<!-- fault-table:end -->";

/// The table of every cell (`None` when some cell did not run).
fn table() -> Option<String> {
    let results = RESULTS.lock().unwrap();
    let mut t = String::from("| fault ↓ / just before → |");
    for s in STEPS {
        t.push_str(&format!(" `{s}` |"));
    }
    t.push_str("\n|---|");
    t.push_str(&"---|".repeat(STEPS.len()));
    t.push('\n');
    for (f, fault) in FAULTS.iter().enumerate() {
        t.push_str(&format!("| {} |", fault.name));
        for s in 0..STEPS.len() {
            t.push_str(&format!(" {} |", results.get(&(f, s))?));
        }
        t.push('\n');
    }
    t.push_str("\nThe faults:\n\n");
    for fault in FAULTS {
        t.push_str(&format!("- **{}**: {}.\n", fault.name, fault.what));
    }
    Some(t)
}

/// After the trials: when every cell ran, the committed table must be the
/// one this run produced (or is rewritten with `SSHFIX_BLESS=1`). Returns
/// an error message when it is stale.
pub fn check_doc() -> Result<(), String> {
    let Some(table) = table() else {
        let n = RESULTS.lock().unwrap().len();
        if n > 0 {
            eprintln!(
                "matrix: {n} of {} cells ran; docs/reliability.md is checked only when all run",
                FAULTS.len() * STEPS.len()
            );
        }
        return Ok(());
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reliability.md");
    let doc = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (Some(a), Some(b)) = (doc.find(START), doc.find(END)) else {
        return Err(format!(
            "{} has no fault-table markers ({START} … {END})",
            path.display()
        ));
    };
    let fresh = format!("{}{START}\n{table}{}", &doc[..a], &doc[b..]);
    if fresh == doc {
        eprintln!("matrix: docs/reliability.md matches this run");
        return Ok(());
    }
    if std::env::var("SSHFIX_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, fresh).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("matrix: wrote the fault table to docs/reliability.md");
        return Ok(());
    }
    let _ = std::fs::write(std::env::temp_dir().join("reliability.md.new"), &fresh);
    Err(format!(
        "docs/reliability.md is stale: this run's fault table differs (written to {}); review it and rerun with SSHFIX_BLESS=1",
        std::env::temp_dir().join("reliability.md.new").display()
    ))
}
