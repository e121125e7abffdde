//! Trust: a host whose keys really changed (lab fault `hostkey-change`) is
//! refused through the CLI with the new key's fingerprint, without trying
//! another path and without a single command reaching the host, even with
//! `--accept-new-hostkeys` (the library-level twins, with a known_hosts that
//! names another key, are `hostkeys::changed_key_refused_with_fingerprint`
//! and `hostkeys::unknown_key_refused_without_fallback` in
//! `tests/lab_suite.rs`); and `apply`, run with umask 000, keeps its state
//! directory private (directories 0700, files 0600) and the host's backup
//! tree root-owned with every directory 0700 (the copies keep their
//! originals' modes inside it), tightening an existing `/var/backups/sshfix`
//! that was 0755, and `/run/sshfix` 0700.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use libtest_mimic::Failed;

use super::{check, host_outcome, record, Ctx, Running, Sshfix, RUN_LIMIT};

pub const TRIALS: &[(&str, super::TrialFn)] = &[
    (
        "trust::changed_host_key_refused_with_its_fingerprint_and_nothing_runs",
        changed_host_key,
    ),
    (
        "trust::state_and_backup_directories_are_private",
        private_directories,
    ),
];

fn changed_host_key(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h5";
    let addr = ctx.addr(h);
    let known_hosts = ctx.lab_dir.join("known_hosts");
    let kh_before = std::fs::read(&known_hosts)?;
    ctx.fault(h, "hostkey-change")?;
    record::clear(ctx, h)?;
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(
            ctx.lab_dir
                .join(format!("hosts/{h}/ssh/ssh_host_ed25519_key.pub")),
        )
        .output()?;
    let fp = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .filter(|f| f.starts_with("SHA256:"))
        .map(str::to_string)
        .ok_or("ssh-keygen -l printed no fingerprint")?;
    let dir = tempfile::tempdir()?;
    let cwd = dir.path().join("cwd");
    std::fs::create_dir(&cwd)?;
    // the lab's inventory: direct, then jump, then console (nsenter) — none
    // but the first may be tried
    let inv = ctx.lab_dir.join("inventory.ini");
    for extra in [&[][..], &["--accept-new-hostkeys"][..]] {
        let mut args = vec!["-l", h];
        args.extend_from_slice(extra);
        let run = Sshfix {
            sub: "plan",
            inventory: &inv,
            ssh_config: &ctx.ssh_config(),
            state: &dir.path().join("state"),
            cwd: &cwd,
            args: &args,
            env: &[],
        }
        .run()?;
        let text = run.all();
        check(run.code == Some(4), || {
            format!("want exit 4:\n{}", run.show())
        })?;
        check(
            text.contains(&format!(
                "the host key of `{addr}` has CHANGED; it now presents {fp}"
            )) && text.contains(&format!("ssh-keygen -R {addr}")),
            || {
                format!(
                    "{extra:?}: want the new fingerprint {fp} and the ssh-keygen -R hint:\n{}",
                    run.show()
                )
            },
        )?;
        check(
            !text.contains("\n  jump:") && !text.contains("\n  console:"),
            || {
                format!(
                    "{extra:?}: another path was tried after the host-key refusal:\n{}",
                    run.show()
                )
            },
        )?;
    }
    let recorded = record::read(ctx, h)?;
    check(recorded.is_empty(), || {
        format!("{h}: commands reached the host despite its changed key: {recorded:?}")
    })?;
    check(std::fs::read(&known_hosts)? == kh_before, || {
        "known_hosts was changed".into()
    })
}

/// Every directory under `root` (itself included) is 0700 and every file
/// 0600, as `PATH MODE` lines of what is not.
fn not_private(root: &Path) -> Vec<String> {
    let mut bad = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            bad.push(format!("{} unreadable", p.display()));
            continue;
        };
        let mode = meta.permissions().mode() & 0o7777;
        if meta.is_dir() {
            if mode != 0o700 {
                bad.push(format!("{} {mode:o}", p.display()));
            }
            if let Ok(d) = std::fs::read_dir(&p) {
                stack.extend(d.flatten().map(|e| e.path()));
            }
        } else if mode != 0o600 {
            bad.push(format!("{} {mode:o}", p.display()));
        }
    }
    bad
}

fn private_directories(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h8";
    ctx.sh(
        h,
        "mkdir -p /var/backups/sshfix && chmod 0755 /var/backups/sshfix",
        b"",
        &[],
    )?;
    let dir = tempfile::tempdir()?;
    let cwd = dir.path().join("cwd");
    std::fs::create_dir(&cwd)?;
    // parents that do not exist yet are created private too
    let state = dir.path().join("deep/state");
    let inv = ctx.lab_dir.join("inventory.ini");
    let args = ["--yes", "-l", h, "--format", "json"];
    let sshfix = Sshfix {
        sub: "apply",
        inventory: &inv,
        ssh_config: &ctx.ssh_config(),
        state: &state,
        cwd: &cwd,
        args: &args,
        env: &[],
    };
    let inner = sshfix.command();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 000 && exec \"$0\" \"$@\"")
        .arg(inner.get_program())
        .args(inner.get_args())
        .current_dir(&cwd)
        .env("NO_COLOR", "1");
    let run = Running::spawn(cmd, format!("umask 000; {}", sshfix.what()))?.wait(RUN_LIMIT)?;
    run.expect_code(0)?;
    let out = host_outcome(&run.json()?, h)?.clone();
    check(out["result"] == "repaired", || {
        format!("{h}: {} ({})\n{}", out["result"], out["reason"], run.show())
    })?;
    let run_id = run.json()?["run_id"]
        .as_str()
        .ok_or("no run_id")?
        .to_string();
    let local = not_private(&dir.path().join("deep"));
    check(local.is_empty(), || {
        format!("the state directory is not private: {local:?}")
    })?;
    check(
        state
            .join("runs")
            .join(&run_id)
            .join("journal.json")
            .is_file(),
        || format!("no journal for {run_id} in {}", state.display()),
    )?;
    let root = ctx.host_path(h, "/var/backups/sshfix");
    let mut remote = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p)?;
        let mode = meta.permissions().mode() & 0o7777;
        // files keep their original's mode (`cp -p`) inside the 0700 tree
        if meta.uid() != 0 {
            remote.push(format!("{} {mode:o} uid {}", p.display(), meta.uid()));
        }
        if meta.is_dir() {
            if mode != 0o700 {
                remote.push(format!("{} is a directory of mode {mode:o}", p.display()));
            }
            stack.extend(std::fs::read_dir(&p)?.flatten().map(|e| e.path()));
        }
    }
    check(remote.is_empty(), || {
        format!("{h}: backups are not private: {remote:?}")
    })?;
    check(root.join(&run_id).join("manifest").is_file(), || {
        format!("{h}: no backup of run {run_id}")
    })?;
    let lock_dir = std::fs::metadata(ctx.host_path(h, "/run/sshfix"))?;
    check(lock_dir.permissions().mode() & 0o7777 == 0o700, || {
        format!(
            "{h}: /run/sshfix has mode {:o}",
            lock_dir.permissions().mode() & 0o7777
        )
    })
}
