//! `sshfix apply` and `rollback` against real OpenSSH hosts in the namespace
//! lab (`tests/lab/lab.sh`): every fixable fault is repaired (the direct path
//! works afterwards, backups exist, a second apply changes nothing), new host
//! keys are printed and written to known_hosts on request, rollback restores
//! bytes and symptom, and injected failures (invalid candidate, failing
//! reload, failing verification, controller killed, working path cut, full or
//! read-only `/etc`, stale plan, concurrent applies, a partly failing fleet)
//! leave each host exactly as it was.
//!
//! One lab for the whole binary (custom harness); each trial owns its hosts,
//! so the trials run in parallel. Without root the suite says loudly that it
//! skipped; with `CI=true` that is a failure.

mod common;
#[path = "lab_apply/failures.rs"]
mod failures;
#[path = "lab_apply/fixes.rs"]
mod fixes;
#[path = "lab_apply/matrix.rs"]
mod matrix;
#[path = "lab_apply/output.rs"]
mod output;
#[path = "lab_apply/serial.rs"]
mod serial;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::lab::{self, Lab};
pub use common::process::{check, leaked_sfx_dirs, sfx_dirs, Run, Running};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

/// Targets h1..h32 (what each one carries is in [`FAULTS`]), then the fault
/// matrix's hosts ([`matrix::setup`]).
const HOSTS: usize = 32 + matrix::HOSTS + 1;

/// The faults injected before the trials, in order (host, kind, target).
/// Each trial works on its own hosts (named in its module).
const FAULTS: &[(&str, &str, Option<&str>)] = &[
    // fixes.rs: one fault per host
    ("h1", "wrappers-deny", None),
    ("h2", "sshd-stopped", None),
    ("h3", "maxstartups", None),
    ("h4", "nft-drop", None),
    ("h5", "iptables-drop", None),
    ("h6", "hostkey-perms", None),
    ("h7", "inetd", None),
    ("h8", "privsep-missing", None),
    ("h9", "maxstartups-trap", None),
    ("h10", "config-invalid-trap", None),
    ("h11", "lb-http", Some("h12")),
    ("h13", "dns-slow", None),
    ("h14", "no-initscripts", None),
    ("h14", "sshd-stopped", None),
    ("h15", "hostkeys-missing", None),
    ("h16", "hostkeys-missing", None),
    // failures.rs
    ("h17", "wrappers-deny", None),
    ("h18", "maxstartups", None),
    ("h19", "maxstartups", None),
    ("h19", "reload-fails", None),
    ("h20", "maxstartups", None),
    ("h21", "maxstartups", None),
    ("h22", "wrappers-deny", None),
    // a reload in the fix, so that apply pauses after its services
    ("h22", "banner-missing", None),
    ("h23", "maxstartups", None),
    ("h23", "etc-full", None),
    ("h24", "wrappers-deny", None),
    ("h24", "etc-readonly", None),
    ("h25", "wrappers-deny", None),
    ("h26", "wrappers-deny", None),
    ("h27", "wrappers-deny", None),
    ("h28", "wrappers-deny", None),
    ("h28", "etc-readonly", None),
    ("h29", "wrappers-deny", None),
    // serial.rs: reached over the serial console only
    ("h30", "hostkeys-missing", None),
    ("h31", "wrappers-deny", None),
    ("h31", "banner-missing", None),
    ("h32", "sshd-stopped", None),
    // output.rs: after the matrix's hosts
    (output::HOST, "wrappers-deny", None),
];

/// Trials run at once unless `--test-threads` says otherwise: they mostly
/// wait (for ssh timeouts, libwrap's 5 s, the dead-man timer), not compute
/// (the 70 matrix cells used 85 s of CPU in 330 s with 8 at once).
const DEFAULT_THREADS: usize = 16;

/// The longest any one sshfix run may take before the trial calls it a hang.
const RUN_LIMIT: Duration = Duration::from_secs(150);

pub struct Ctx {
    pub lab_dir: PathBuf,
    pub env: HashMap<String, String>,
}

impl Ctx {
    fn var(&self, k: &str) -> &str {
        self.env
            .get(k)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("lab.env has no {k}"))
    }

    pub fn addr(&self, host: &str) -> String {
        self.var(&format!("LAB_ADDR_{host}")).to_string()
    }

    pub fn ssh_config(&self) -> PathBuf {
        self.lab_dir.join("ssh_config")
    }

    /// `sh -c CMD` inside the host; fails unless it exits 0.
    pub fn console(&self, host: &str, cmd: &str) -> Result<String, Failed> {
        let out = lab::console_at(&self.lab_dir, host, cmd);
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "{host}: `{cmd}` failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .into())
        }
    }

    pub fn fault(&self, host: &str, kind: &str) -> Result<(), Failed> {
        lab::fault_at(&self.lab_dir, host, kind, &[]).map_err(Failed::from)
    }

    /// sha256 (hex) of a file on the host; `None` when it does not exist.
    pub fn sha(&self, host: &str, path: &str) -> Result<Option<String>, Failed> {
        let out = self.console(
            host,
            &format!(
                "if [ -e '{path}' ]; then sha256sum <'{path}' | cut -c1-64; else echo absent; fi"
            ),
        )?;
        let out = out.trim();
        Ok((out != "absent").then(|| out.to_string()))
    }

    /// Every file apply could touch on the host (sshd, TCP wrappers,
    /// firewall, haproxy, inetd, init scripts) with its sha256, mode and
    /// owner, plus any stray `*sshfix*` name (a candidate left beside its
    /// target) in `/etc`, `/etc/ssh`, `/etc/ssh/sshd_config.d`.
    pub fn snapshot(&self, host: &str) -> Result<BTreeMap<String, String>, Failed> {
        let out = self.console(
            host,
            r#"find /etc/ssh /etc/hosts.allow /etc/hosts.deny /etc/nftables.conf /etc/iptables \
                /etc/haproxy /etc/inetd.conf /etc/init.d/ssh -type f 2>/dev/null | sort |
              while IFS= read -r f; do
                printf '%s %s %s\n' "$f" "$(sha256sum <"$f" | cut -c1-64)" "$(stat -c '%a:%U:%G' "$f")"
              done
              ls -a /etc /etc/ssh /etc/ssh/sshd_config.d 2>/dev/null | grep -i sshfix | sed 's/^/stray: /'
              true"#,
        )?;
        Ok(out
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    /// Whether `/run/sshfix/lock` exists on the host.
    pub fn lock_held(&self, host: &str) -> Result<bool, Failed> {
        Ok(self
            .console(
                host,
                "if [ -e /run/sshfix/lock ]; then echo held; else echo free; fi",
            )?
            .trim()
            == "held")
    }

    /// `sshd -t` on the host: `Ok(())` when it passes.
    pub fn sshd_t(&self, host: &str) -> Result<(), Failed> {
        let out = lab::console_at(&self.lab_dir, host, "sshd -t 2>&1");
        check(out.status.success(), || {
            format!(
                "{host}: sshd -t fails: {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

// ---------------------------------------------------------------- sshfix

/// `sshfix SUB -i LAB/inventory.ini --ssh-config CFG --state-dir STATE ARGS…`.
pub fn sshfix_cmd(ctx: &Ctx, cfg: &Path, state: &Path, sub: &str, args: &[&str]) -> Command {
    sshfix_cmd_with(&ctx.lab_dir.join("inventory.ini"), cfg, state, sub, args)
}

/// `sshfix SUB -i INVENTORY --ssh-config CFG --state-dir STATE ARGS…`.
pub fn sshfix_cmd_with(
    inventory: &Path,
    cfg: &Path,
    state: &Path,
    sub: &str,
    args: &[&str],
) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sshfix"));
    c.arg(sub)
        .arg("-i")
        .arg(inventory)
        .arg("--ssh-config")
        .arg(cfg)
        .arg("--state-dir")
        .arg(state)
        .args(args);
    c
}

/// Runs sshfix with the lab's ssh_config to its end.
pub fn sshfix(ctx: &Ctx, state: &Path, sub: &str, args: &[&str]) -> Result<Run, Failed> {
    spawn_sshfix(ctx, state, sub, args, &[])?.wait(RUN_LIMIT)
}

/// Starts sshfix with the lab's ssh_config and extra environment.
pub fn spawn_sshfix(
    ctx: &Ctx,
    state: &Path,
    sub: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<Running, Failed> {
    let mut c = sshfix_cmd(ctx, &ctx.ssh_config(), state, sub, args);
    c.envs(env.iter().copied());
    Running::spawn(c, format!("sshfix {sub} {}", args.join(" ")))
}

/// The outcome of one host in an apply/rollback JSON outcome.
pub fn host_outcome<'a>(outcome: &'a Value, host: &str) -> Result<&'a Value, Failed> {
    outcome["hosts"]
        .as_array()
        .and_then(|a| a.iter().find(|h| h["host"] == host))
        .ok_or_else(|| format!("{host} is not in the outcome: {outcome}").into())
}

/// `apply --yes -l HOST --format json` (plus ARGS): the run, and the host's
/// outcome.
pub fn apply_json(
    ctx: &Ctx,
    state: &Path,
    host: &str,
    args: &[&str],
) -> Result<(Run, Value), Failed> {
    let mut all = vec!["--yes", "-l", host, "--format", "json"];
    all.extend_from_slice(args);
    let run = sshfix(ctx, state, "apply", &all)?;
    let v = run.json()?;
    let h = host_outcome(&v, host)?.clone();
    Ok((run, h))
}

/// The host's `result` in its outcome, failing with the run when it is not
/// one of `want`.
pub fn expect_result(run: &Run, h: &Value, want: &[&str]) -> Result<(), Failed> {
    check(want.iter().any(|w| h["result"] == *w), || {
        format!(
            "{}: result {} (want one of {want:?}), reason {}\n{}",
            h["host"],
            h["result"],
            h["reason"],
            run.show()
        )
    })
}

// ---------------------------------------------------------------- the direct path

/// What a real `ssh` from the controller saw.
pub struct Answer {
    pub ok: bool,
    pub stderr: String,
    pub secs: f64,
}

impl Answer {
    pub fn says(&self, any: &[&str]) -> bool {
        !self.ok && any.iter().any(|w| self.stderr.contains(w))
    }
}

/// `ssh -F CFG -o ConnectTimeout=8 EXTRA… ADDR true` from the controller.
pub fn ssh_with(cfg: &Path, addr: &str, extra: &[&str]) -> Result<Answer, Failed> {
    let mut c = Command::new("ssh");
    c.arg("-F")
        .arg(cfg)
        .args(["-o", "ConnectTimeout=8"])
        .args(extra)
        .args([addr, "true"]);
    let r = Running::spawn(c, format!("ssh {addr}"))?.wait(Duration::from_secs(60))?;
    Ok(Answer {
        ok: r.code == Some(0),
        stderr: r.stderr.trim().to_string(),
        secs: r.secs,
    })
}

/// The direct path of a host, accepting any host key (after apply made new ones).
pub fn ssh_any_key(ctx: &Ctx, host: &str) -> Result<Answer, Failed> {
    ssh_with(
        &ctx.ssh_config(),
        &ctx.addr(host),
        &[
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=no",
        ],
    )
}

/// The direct path of a host with the lab's configuration.
pub fn ssh_direct(ctx: &Ctx, host: &str) -> Result<Answer, Failed> {
    ssh_with(&ctx.ssh_config(), &ctx.addr(host), &[])
}

/// The errors a fault makes the client print.
pub const RESET: &[&str] = &["Connection reset by peer"];
pub const REFUSED: &[&str] = &["Connection refused"];
pub const TIMED_OUT: &[&str] = &["timed out"];
/// MaxStartups refusal is racy on the client side (see tests/lab/README.md).
pub const MAXSTARTUPS: &[&str] = &["Connection closed", "Connection reset by peer"];

/// The direct path of `host` fails with one of `errors`.
pub fn expect_fails(ctx: &Ctx, host: &str, errors: &[&str], when: &str) -> Result<(), Failed> {
    let a = ssh_direct(ctx, host)?;
    check(a.says(errors), || {
        format!(
            "{when}: ssh to {host} should fail with one of {errors:?}; ok={} after {:.1} s: {}",
            a.ok, a.secs, a.stderr
        )
    })
}

/// The direct path of `host` works.
pub fn expect_works(ctx: &Ctx, host: &str, when: &str) -> Result<(), Failed> {
    let a = ssh_direct(ctx, host)?;
    check(a.ok, || {
        format!(
            "{when}: ssh to {host} fails after {:.1} s: {}",
            a.secs, a.stderr
        )
    })
}

// ---------------------------------------------------------------- the pause hook

/// `SSHFIX_TEST_PAUSE=services:DIR`: waits until apply paused on `host`
/// (right after its service actions), failing if the run ended first.
pub fn wait_paused(
    run: &mut Running,
    dir: &Path,
    host: &str,
    limit: Duration,
) -> Result<(), Failed> {
    let flag = dir.join(format!("{host}.paused"));
    let t0 = Instant::now();
    while !flag.exists() {
        if run.finished() {
            return Err(
                format!("sshfix ended before pausing on {host} ({})", flag.display()).into(),
            );
        }
        if t0.elapsed() > limit {
            run.kill_group();
            return Err(format!(
                "sshfix did not pause on {host} within {} s",
                limit.as_secs()
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Lets the paused apply go on.
pub fn resume(dir: &Path, host: &str) -> Result<(), Failed> {
    std::fs::write(dir.join(format!("{host}.go")), b"")?;
    Ok(())
}

// ---------------------------------------------------------------- main

type TrialFn = fn(&Ctx) -> Result<(), Failed>;
/// A trial made at run time (the matrix's cells).
type BoxedTrial = Box<dyn Fn(&Ctx) -> Result<(), Failed> + Send + Sync>;

fn all_trials() -> Vec<(String, BoxedTrial)> {
    // The trials that wait for a dead-man timer or a cut path go first, so
    // that the rest runs beside them.
    let mut v: Vec<(String, BoxedTrial)> = Vec::new();
    for (name, f) in failures::TRIALS
        .iter()
        .chain(fixes::TRIALS)
        .chain(serial::TRIALS)
        .chain(output::TRIALS)
    {
        v.push((name.to_string(), Box::new(*f)));
    }
    // the matrix first: its cells that wait for a dead-man timer are many
    v.extend(matrix::trials());
    v.sort_by_key(|(name, _)| {
        !(name.starts_with("matrix::")
            || failures::SLOW.contains(&name.as_str())
            || serial::SLOW.contains(&name.as_str()))
    });
    v
}

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    if args.list {
        let names: Vec<Trial> = all_trials()
            .into_iter()
            .map(|(n, _)| Trial::test(n, || Ok(())))
            .collect();
        return libtest_mimic::run(&args, names).exit_code();
    }
    if let Some(why) = lab::unavailable() {
        if std::env::var("CI").as_deref() == Ok("true") {
            eprintln!("error: the lab apply tests must run in CI, but cannot: {why}");
            return ExitCode::FAILURE;
        }
        eprintln!("\n*** SKIPPED: every namespace-lab apply test ({why}). Run the suite as root to include them. ***\n");
        return ExitCode::SUCCESS;
    }
    if args.test_threads.is_none() {
        args.test_threads = Some(DEFAULT_THREADS);
    }
    let sfx_before = sfx_dirs();
    let mut lab = Lab::up(HOSTS);
    inject_faults(&lab);
    lab.enter_controller();
    let ctx = Arc::new(Ctx {
        lab_dir: lab.dir.clone(),
        env: lab.env.clone(),
    });
    let trials = all_trials()
        .into_iter()
        .map(|(name, f)| {
            let ctx = ctx.clone();
            Trial::test(name.clone(), move || {
                let t0 = Instant::now();
                let r = f(&ctx);
                eprintln!("lab_apply: {name} took {:.1} s", t0.elapsed().as_secs_f64());
                r
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    let doc = matrix::check_doc();
    drop(ctx);
    let lab_dir = lab.dir.clone();
    lab.down();
    let leaked = leaked_sfx_dirs(&sfx_before, &lab_dir);
    if !leaked.is_empty() {
        eprintln!(
            "error: ssh run directories were left behind: /tmp/{}",
            leaked.join(", /tmp/")
        );
        return ExitCode::FAILURE;
    }
    if let Err(e) = doc {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    conclusion.exit_code()
}

/// Injects [`FAULTS`], hosts in parallel (each host's faults in order). The
/// threads end before the process enters the controller's namespace.
fn inject_faults(lab: &Lab) {
    let matrix = matrix::setup();
    let mut per_host: BTreeMap<&str, Vec<(&str, Option<&str>)>> = BTreeMap::new();
    for (h, kind, target) in FAULTS {
        per_host.entry(h).or_default().push((kind, *target));
    }
    for (h, kind) in &matrix {
        per_host.entry(h.as_str()).or_default().push((kind, None));
    }
    let hosts: Vec<_> = per_host.into_iter().collect();
    std::thread::scope(|s| {
        for chunk in hosts.chunks(hosts.len().div_ceil(6)) {
            s.spawn(move || {
                for (h, faults) in chunk {
                    for (kind, target) in faults {
                        match target {
                            Some(t) => lab.fault_with(h, kind, &[t]),
                            None => lab.fault(h, kind),
                        }
                    }
                }
            });
        }
    });
}
