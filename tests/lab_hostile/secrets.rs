//! Secrets: a sudo password (become as `ops` on h3) and a serial-console
//! login password (root on h4's console), each a distinctive value with
//! quotes, `$` and spaces, used by `plan` and `apply --plan` (also at
//! `-vvv` with `SSHFIX_LOG=trace`) and given wrong once. While sshfix runs,
//! every process on the machine but sshfix itself — its ssh masters and
//! helpers, and every process of the lab hosts, sudo's included — is sampled
//! every 50 ms: no argv and no environment may hold a password. Afterwards
//! no stdout, stderr, plan, review document, state directory (journal, plan
//! copy, backups) or file the host wrote holds one, and the wrong password's
//! error does not echo it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::Failed;
use serde_json::Value;

use super::{check, host_outcome, record, Ctx, Run, Sshfix};

pub const TRIALS: &[(&str, super::TrialFn)] = &[
    (
        "secrets::become_password_stays_out_of_argv_environment_outputs_and_files",
        become_password,
    ),
    (
        "secrets::console_password_stays_out_of_argv_environment_outputs_and_files",
        console_password,
    ),
];

/// Samples `/proc/*/cmdline` and `/proc/*/environ` every 50 ms in a thread
/// of its own, skipping this test process, its direct children (the sshfix
/// runs, whose environment is where the user puts the password) and any
/// process whose program is sshfix (a child between fork and exec).
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<(BTreeSet<String>, u64)>,
}

impl Sampler {
    pub fn start(secrets: Vec<String>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let sshfix = std::fs::canonicalize(env!("CARGO_BIN_EXE_sshfix")).unwrap_or_default();
        let handle = std::thread::spawn(move || {
            let mut hits = BTreeSet::new();
            let mut rounds = 0;
            while !flag.load(Ordering::Relaxed) {
                scan(&secrets, &sshfix, &mut hits);
                rounds += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            scan(&secrets, &sshfix, &mut hits);
            (hits, rounds + 1)
        });
        Sampler { stop, handle }
    }

    /// Stops sampling; fails if any process held a secret.
    pub fn finish(self) -> Result<(), Failed> {
        self.stop.store(true, Ordering::Relaxed);
        let (hits, rounds) = self
            .handle
            .join()
            .map_err(|_| "the /proc sampler panicked")?;
        check(rounds >= 5, || {
            format!("the sampler ran only {rounds} rounds")
        })?;
        check(hits.is_empty(), || {
            format!(
                "a password was visible in other processes:\n{}",
                hits.into_iter().collect::<Vec<_>>().join("\n")
            )
        })
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The parent pid from `/proc/PID/stat` (the field after the `(comm)`).
fn ppid(pid: &str) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn scan(secrets: &[String], sshfix: &Path, hits: &mut BTreeSet<String>) {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(pid) = name.parse::<u32>() else {
            continue;
        };
        if pid == me || ppid(&name) == Some(me) {
            continue;
        }
        if std::fs::read_link(e.path().join("exe")).is_ok_and(|x| x == sshfix) {
            continue;
        }
        for (what, file) in [("argv", "cmdline"), ("environment", "environ")] {
            let Ok(bytes) = std::fs::read(e.path().join(file)) else {
                continue;
            };
            for (i, s) in secrets.iter().enumerate() {
                if contains(&bytes, s.as_bytes()) {
                    let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
                    // argv whole; of the environment only the variables holding it
                    let shown = String::from_utf8_lossy(&bytes)
                        .split('\0')
                        .filter(|a| file == "cmdline" || a.contains(s.as_str()))
                        .collect::<Vec<_>>()
                        .join(" ")
                        .replace(s.as_str(), &format!("<SECRET {i}>"));
                    hits.insert(format!("pid {pid} ({}) {what}: {shown}", comm.trim()));
                }
            }
        }
    }
}

/// Every regular file under `root` (not following symlinks) that holds one
/// of `secrets`, as `PATH: secret N`.
pub fn files_holding(root: &Path, secrets: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(d) = std::fs::read_dir(&p) {
                stack.extend(d.flatten().map(|e| e.path()));
            }
        } else if meta.is_file() && meta.len() < 64 << 20 {
            if let Ok(bytes) = std::fs::read(&p) {
                for (i, s) in secrets.iter().enumerate() {
                    if contains(&bytes, s.as_bytes()) {
                        found.push(format!("{}: secret {i}", p.display()));
                    }
                }
            }
        }
    }
    found
}

/// No run's output and no file under `roots` holds a secret.
fn nothing_holds(runs: &[&Run], roots: &[PathBuf], secrets: &[String]) -> Result<(), Failed> {
    for r in runs {
        for (i, s) in secrets.iter().enumerate() {
            check(!r.all().contains(s.as_str()), || {
                format!("secret {i} is in the output of `{}`", r.what)
            })?;
        }
    }
    let mut found = Vec::new();
    for root in roots {
        found.extend(files_holding(root, secrets));
    }
    check(found.is_empty(), || format!("secrets in files: {found:?}"))
}

/// Where a lab host wrote anything: its trees in the lab directory (`/etc`
/// and `/var` upper layers, `/etc/ssh`, `/var/log`, `/root`, `/home`,
/// console log) and its private `/tmp` and `/run`.
fn host_roots(ctx: &Ctx, h: &str) -> Vec<PathBuf> {
    vec![
        ctx.lab_dir.join("hosts").join(h),
        ctx.host_path(h, "/tmp"),
        ctx.host_path(h, "/run"),
    ]
}

/// The runs both trials make: `plan` (saved, with a review document), the
/// same at `-vvv` with tracing, `apply --plan` at `-vvv` with tracing, and
/// `plan` with the wrong password. Returns them and the plan files.
struct Runs {
    plan: Run,
    plan_verbose: Run,
    apply: Run,
    wrong: Run,
}

fn runs(
    ctx: &Ctx,
    h: &str,
    inv: &Path,
    dir: &Path,
    var: &str,
    password: &str,
    wrong: &str,
) -> Result<Runs, Failed> {
    let state = dir.join("state");
    let cwd = dir.join("cwd");
    std::fs::create_dir_all(&cwd)?;
    let plan_file = dir.join("plan.json");
    let md = dir.join("plan.md");
    let cfg = ctx.ssh_config();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        Sshfix {
            sub: args[0],
            inventory: inv,
            ssh_config: &cfg,
            state: &state,
            cwd: &cwd,
            args: &args[1..],
            env,
        }
        .run()
    };
    let trace = [(var, password), ("SSHFIX_LOG", "trace")];
    let plan = run(
        &[
            "plan",
            "-l",
            h,
            "--out",
            plan_file.to_str().ok_or("path")?,
            "--markdown",
            md.to_str().ok_or("path")?,
        ],
        &[(var, password)],
    )?;
    plan.expect_code(0)?;
    let plan_verbose = run(&["plan", "-l", h, "--format", "json", "-vvv"], &trace)?;
    plan_verbose.expect_code(0)?;
    let apply = run(
        &[
            "apply",
            "--plan",
            plan_file.to_str().ok_or("path")?,
            "--format",
            "json",
            "-vvv",
        ],
        &trace,
    )?;
    apply.expect_code(0)?;
    let outcome = apply.json()?;
    let out = host_outcome(&outcome, h)?;
    check(out["result"] == "repaired", || {
        format!(
            "{h}: {} ({})\n{}",
            out["result"],
            out["reason"],
            apply.show()
        )
    })?;
    let wrong = run(&["plan", "-l", h], &[(var, wrong)])?;
    wrong.expect_code(4)?;
    Ok(Runs {
        plan,
        plan_verbose,
        apply,
        wrong,
    })
}

fn become_password(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h3";
    let pid = std::process::id();
    let password = format!("Qx7 s'u\"d$o zebra{pid}");
    let core = format!("zebra{pid}");
    let wrong = format!("W'r\"o$ng lynx{pid}");
    ctx.sh(h, "chpasswd", format!("ops:{password}\n").as_bytes(), &[])?;
    let dir = tempfile::tempdir()?;
    let inv = dir.path().join("become.ini");
    let var = "SFX_HOSTILE_SUDO_PW";
    std::fs::write(
        &inv,
        format!(
            "[t]\n{h} ansible_host={} ansible_user=ops ansible_become=true sshfix_become_password_env={var} sshfix_paths=direct\n",
            ctx.addr(h)
        ),
    )?;
    let secrets = vec![password.clone(), core, wrong.clone()];
    record::clear(ctx, h)?;
    let sampler = Sampler::start(secrets.clone());
    let r = runs(ctx, h, &inv, dir.path(), var, &password, &wrong);
    let sampled = sampler.finish();
    let r = r?;
    sampled?;
    let out = host_outcome(&r.apply.json()?, h)?.clone();
    check(out["reached_via"] == "direct", || {
        format!(
            "{h}: reached via {} (want direct, as ops through sudo)",
            out["reached_via"]
        )
    })?;
    // what sshd ran for ops: each a password-become command exactly as the
    // quoting function builds it (the password went on stdin)
    let recorded = record::read(ctx, h)?;
    check(recorded.len() >= 5, || {
        format!("{h}: only {} commands recorded", recorded.len())
    })?;
    for (i, rec) in recorded.iter().enumerate() {
        record::classify_with_password(rec, "ops", "root")
            .map_err(|e| format!("{h}: recorded command #{i}: {e}"))?;
    }
    check(
        r.wrong.stderr.contains("sudo rejected the password"),
        || {
            format!(
                "the wrong password's error does not say so:\n{}",
                r.wrong.show()
            )
        },
    )?;
    let mut roots = host_roots(ctx, h);
    roots.push(dir.path().to_path_buf());
    nothing_holds(
        &[&r.plan, &r.plan_verbose, &r.apply, &r.wrong],
        &roots,
        &secrets,
    )
}

fn console_password(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h4";
    let pid = std::process::id();
    let password = format!("Cq9 c'o\"n$s zebu{pid}");
    let core = format!("zebu{pid}");
    let wrong = format!("W'r\"o$ng ibex{pid}");
    ctx.sh(h, "chpasswd", format!("root:{password}\n").as_bytes(), &[])?;
    let dir = tempfile::tempdir()?;
    let inv = dir.path().join("serial.ini");
    let var = "SFX_HOSTILE_CONSOLE_PW";
    std::fs::write(
        &inv,
        format!(
            "[t]\n{h} ansible_host={} sshfix_console=\"unix:{}\" sshfix_console_kind=serial sshfix_console_login=root sshfix_console_password_env={var} sshfix_paths=console\n",
            ctx.addr(h),
            ctx.var(&format!("LAB_CONSOLE_{h}"))
        ),
    )?;
    let secrets = vec![password.clone(), core, wrong.clone()];
    let sampler = Sampler::start(secrets.clone());
    let r = runs(ctx, h, &inv, dir.path(), var, &password, &wrong);
    let sampled = sampler.finish();
    let r = r?;
    sampled?;
    let out: Value = host_outcome(&r.apply.json()?, h)?.clone();
    check(out["reached_via"] == "console", || {
        format!("{h}: reached via {} (want console)", out["reached_via"])
    })?;
    check(r.wrong.all().contains("wrong password"), || {
        format!(
            "the wrong password's error does not say so:\n{}",
            r.wrong.show()
        )
    })?;
    // the console sessions removed their private directories
    let left: Vec<String> = std::fs::read_dir(ctx.host_path(h, "/tmp"))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("sshfix"))
        .collect();
    check(left.is_empty(), || format!("{h}: left in /tmp: {left:?}"))?;
    let mut roots = host_roots(ctx, h);
    roots.push(dir.path().to_path_buf());
    nothing_holds(
        &[&r.plan, &r.plan_verbose, &r.apply, &r.wrong],
        &roots,
        &secrets,
    )
}
