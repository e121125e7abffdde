//! Every fixable fault repaired by `apply --yes`: before, the direct path
//! fails with the client error the fault causes; after, a real `ssh` works,
//! the backups are on the host, `sshd -t` passes and a second apply changes
//! nothing. Hosts whose keys were regenerated: the new fingerprints are
//! printed, and `--update-known-hosts` makes a strict `ssh` work.

use libtest_mimic::Failed;
use serde_json::Value;

use super::{
    apply_json, check, expect_fails, expect_result, ssh_any_key, ssh_with, sshfix, sshfix_cmd,
    Answer, Ctx, Running, MAXSTARTUPS, REFUSED, RESET, RUN_LIMIT, TIMED_OUT,
};

/// How the fault shows from the controller before the repair.
enum Before {
    /// `ssh ADDR true` fails with one of these errors.
    Fails(&'static [&'static str]),
    /// It works, but takes at least 2 s (reverse DNS lookup).
    Slow,
}

/// One fault host to repair.
struct Fix {
    host: &'static str,
    before: Before,
    /// For a load balancer: the host behind it (ssh goes to port 2222 and
    /// checks the backend's host key).
    backend: Option<&'static str>,
    /// Files the repair must touch (and back up).
    files: &'static [&'static str],
}

fn fix(ctx: &Ctx, f: &Fix) -> Result<(), Failed> {
    let h = f.host;
    let ssh = |when: &str| -> Result<Answer, Failed> {
        match f.backend {
            Some(b) => ssh_with(
                &ctx.ssh_config(),
                &ctx.addr(h),
                &["-p", "2222", "-o", &format!("HostKeyAlias={}", ctx.addr(b))],
            ),
            None => ssh_with(&ctx.ssh_config(), &ctx.addr(h), &[]),
        }
        .map_err(|e| format!("{when}: {}", e.message().unwrap_or("")).into())
    };
    let a = ssh("before apply")?;
    let before_secs = a.secs;
    match f.before {
        Before::Fails(errors) => check(a.says(errors), || {
            format!(
                "before apply: ssh to {h} should fail with one of {errors:?}; ok={} after {:.1} s: {}",
                a.ok, a.secs, a.stderr
            )
        })?,
        Before::Slow => check(a.ok && a.secs >= 2.0, || {
            format!(
                "before apply: ssh to {h} should work slowly; ok={} after {:.1} s: {}",
                a.ok, a.secs, a.stderr
            )
        })?,
    }

    let state = tempfile::tempdir()?;
    let (run, out) = apply_json(ctx, state.path(), h, &[])?;
    run.expect_code(0)?;
    expect_result(&run, &out, &["repaired"])?;
    check(
        out["findings_fixed"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        || format!("{h}: no findings_fixed\n{}", run.show()),
    )?;
    let files: Vec<&str> = out["files"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["path"].as_str()).collect())
        .unwrap_or_default();
    for want in f.files {
        check(files.contains(want), || {
            format!(
                "{h}: {want} not among the touched files {files:?}\n{}",
                run.show()
            )
        })?;
    }

    let a = ssh("after apply")?;
    check(a.ok, || {
        format!(
            "after apply: ssh to {h} fails after {:.1} s: {}",
            a.secs, a.stderr
        )
    })?;
    if matches!(f.before, Before::Slow) {
        // the resolver's 2 s timeout is gone; the rest of a login varies
        // with the machine's load (up to 1.5 s with 16 trials at once)
        check(a.secs + 1.0 < before_secs, || {
            format!(
                "after apply: ssh to {h} still slow ({:.1} s; {before_secs:.1} s before)",
                a.secs
            )
        })?;
    }
    backups_exist(ctx, h, &run.json()?, &out)?;
    ctx.sshd_t(h)?;
    check(!ctx.lock_held(h)?, || {
        format!("{h}: /run/sshfix/lock left behind")
    })?;

    let (run2, out2) = apply_json(ctx, state.path(), h, &[])?;
    run2.expect_code(0)?;
    expect_result(&run2, &out2, &["unchanged"])?;
    check(
        out2["files"].as_array().is_some_and(|a| a.is_empty()),
        || format!("{h}: the second apply touched files\n{}", run2.show()),
    )
}

/// The run's backup directory is on the host (mode 0700) and holds each
/// touched file's original content.
fn backups_exist(ctx: &Ctx, h: &str, outcome: &Value, out: &Value) -> Result<(), Failed> {
    let files = out["files"].as_array().cloned().unwrap_or_default();
    if files.is_empty() {
        return Ok(());
    }
    let run_id = outcome["run_id"]
        .as_str()
        .ok_or("no run_id in the outcome")?;
    let dir = format!("/var/backups/sshfix/{run_id}");
    check(out["backup_dir"] == dir.as_str(), || {
        format!("{h}: backup_dir {} (want {dir})", out["backup_dir"])
    })?;
    let mode = ctx.console(h, &format!("stat -c %a '{dir}'"))?;
    check(mode.trim() == "700", || {
        format!("{h}: {dir} has mode {} (want 700)", mode.trim())
    })?;
    for f in &files {
        let Some(before) = f["before_sha256"].as_str() else {
            continue;
        };
        let backup = f["remote_backup"]
            .as_str()
            .ok_or_else(|| format!("{h}: no remote_backup for {}", f["path"]))?;
        check(backup.starts_with(&dir), || {
            format!("{h}: remote backup {backup} outside {dir}")
        })?;
        let sha = ctx.sha(h, backup)?;
        check(sha.as_deref() == Some(before), || {
            format!(
                "{h}: backup {backup} of {} has sha256 {sha:?}, the original had {before}",
                f["path"]
            )
        })?;
    }
    Ok(())
}

macro_rules! fixes {
    ($($name:ident: $fix:expr;)*) => {
        $(fn $name(ctx: &Ctx) -> Result<(), Failed> { fix(ctx, &$fix) })*
        pub const TRIALS: &[(&str, super::TrialFn)] = &[
            $((concat!("fix::", stringify!($name)), $name),)*
            ("hostkeys::new_fingerprints_printed", new_fingerprints_printed),
            ("hostkeys::update_known_hosts_then_strict_ssh_works", update_known_hosts),
        ];
    };
}

fixes! {
    wrappers_deny: Fix { host: "h1", before: Before::Fails(RESET), backend: None, files: &["/etc/hosts.allow"] };
    sshd_stopped: Fix { host: "h2", before: Before::Fails(REFUSED), backend: None, files: &[] };
    maxstartups: Fix { host: "h3", before: Before::Fails(MAXSTARTUPS), backend: None, files: &["/etc/ssh/sshd_config"] };
    nft_drop: Fix { host: "h4", before: Before::Fails(TIMED_OUT), backend: None, files: &["/etc/nftables.conf"] };
    iptables_drop: Fix { host: "h5", before: Before::Fails(TIMED_OUT), backend: None, files: &["/etc/iptables/rules.v4"] };
    hostkey_perms: Fix { host: "h6", before: Before::Fails(REFUSED), backend: None, files: &[] };
    inetd: Fix { host: "h7", before: Before::Fails(REFUSED), backend: None, files: &[] };
    privsep_missing: Fix { host: "h8", before: Before::Fails(REFUSED), backend: None, files: &[] };
    maxstartups_trap: Fix { host: "h9", before: Before::Fails(MAXSTARTUPS), backend: None, files: &["/etc/ssh/sshd_config.d/10-trap.conf"] };
    config_invalid_trap: Fix { host: "h10", before: Before::Fails(REFUSED), backend: None, files: &["/etc/ssh/sshd_config.d/20-match.conf"] };
    lb_http: Fix { host: "h11", before: Before::Fails(&["Connection closed"]), backend: Some("h12"), files: &["/etc/haproxy/haproxy.cfg"] };
    dns_slow: Fix { host: "h13", before: Before::Slow, backend: None, files: &["/etc/ssh/sshd_config"] };
    sshd_stopped_without_initscripts: Fix { host: "h14", before: Before::Fails(REFUSED), backend: None, files: &[] };
}

/// The host's current ed25519 key fingerprint (`SHA256:…`).
pub fn fingerprint(ctx: &Ctx, h: &str) -> Result<String, Failed> {
    let out = ctx.console(h, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub")?;
    out.split_whitespace()
        .nth(1)
        .filter(|f| f.starts_with("SHA256:"))
        .map(str::to_string)
        .ok_or_else(|| format!("{h}: ssh-keygen -l printed {out:?}").into())
}

/// hostkeys-missing: apply regenerates the keys, passes verification against
/// them and prints their fingerprints; known_hosts is left alone.
fn new_fingerprints_printed(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h15";
    expect_fails(ctx, h, REFUSED, "before apply")?;
    let state = tempfile::tempdir()?;
    let run = sshfix(ctx, state.path(), "apply", &["--yes", "-l", h])?;
    run.expect_code(0)?;
    let fp = fingerprint(ctx, h)?;
    check(run.stdout.contains(&fp), || {
        format!("{h}: the new key {fp} is not printed\n{}", run.show())
    })?;
    // the key changed and known_hosts was not updated: strict checking refuses
    let a = ssh_with(&ctx.ssh_config(), &ctx.addr(h), &[])?;
    check(a.says(&["Host key verification failed"]), || {
        format!(
            "{h}: strict ssh with the old known_hosts should refuse the new key; ok={}: {}",
            a.ok, a.stderr
        )
    })?;
    let a = ssh_any_key(ctx, h)?;
    check(a.ok, || {
        format!("{h}: ssh (any key) fails after apply: {}", a.stderr)
    })?;
    ctx.sshd_t(h)
}

/// hostkeys-missing with `--update-known-hosts`: the new keys replace the old
/// ones in the user's known_hosts (a copy of the lab's, through a copy of its
/// ssh_config, so other trials keep the original), and a plain strict `ssh`
/// works.
fn update_known_hosts(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h16";
    let addr = ctx.addr(h);
    expect_fails(ctx, h, REFUSED, "before apply")?;
    let tmp = tempfile::tempdir()?;
    let kh = tmp.path().join("known_hosts");
    let lab_kh = std::fs::read_to_string(ctx.lab_dir.join("known_hosts"))?;
    std::fs::write(&kh, &lab_kh)?;
    let cfg = tmp.path().join("ssh_config");
    let lab_cfg = std::fs::read_to_string(ctx.ssh_config())?;
    let lab_kh_path = ctx.lab_dir.join("known_hosts");
    let text = lab_cfg.replace(
        &format!("UserKnownHostsFile {}", lab_kh_path.display()),
        &format!("UserKnownHostsFile {}", kh.display()),
    );
    check(text != lab_cfg, || {
        "could not point the ssh_config copy at the known_hosts copy".into()
    })?;
    std::fs::write(&cfg, text)?;
    let old_keys: Vec<&str> = lab_kh
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(addr.as_str()))
        .collect();
    check(!old_keys.is_empty(), || {
        format!("no known_hosts line for {addr}")
    })?;

    let state = tmp.path().join("state");
    let cmd = sshfix_cmd(
        ctx,
        &cfg,
        &state,
        "apply",
        &["--yes", "-l", h, "--update-known-hosts", "--format", "json"],
    );
    let run = Running::spawn(cmd, format!("sshfix apply -l {h} --update-known-hosts"))?
        .wait(RUN_LIMIT)?;
    run.expect_code(0)?;
    let out = super::host_outcome(&run.json()?, h)?.clone();
    expect_result(&run, &out, &["repaired"])?;
    let keys: Vec<&str> = out["new_host_keys"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let fp = fingerprint(ctx, h)?;
    check(keys.iter().any(|k| k.contains(&fp)), || {
        format!("{h}: new_host_keys {keys:?} lack the host's key {fp}")
    })?;
    check(out["known_hosts_updated"] == true, || {
        format!("{h}: known_hosts_updated is {}", out["known_hosts_updated"])
    })?;
    let now = std::fs::read_to_string(&kh)?;
    for old in &old_keys {
        check(!now.contains(old), || {
            format!("{h}: the old key is still in known_hosts: {old}")
        })?;
    }
    let a = ssh_with(&cfg, &addr, &[])?;
    check(a.ok, || {
        format!(
            "{h}: strict ssh with the updated known_hosts fails: {}",
            a.stderr
        )
    })?;
    // the known_hosts of every other host is intact
    let others_before = lab_kh.lines().filter(|l| !old_keys.contains(l)).count();
    let others_now = now
        .lines()
        .filter(|l| lab_kh.lines().any(|o| o == *l))
        .count();
    check(others_now == others_before, || {
        format!(
            "{h}: other hosts' known_hosts lines changed ({others_now} of {others_before} kept)"
        )
    })?;
    Ok(())
}
