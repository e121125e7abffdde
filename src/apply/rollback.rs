//! `sshfix rollback`: put back what a past apply run changed on each host,
//! from its backups (the copy on the host, or the local one when the host
//! lost it), verified by hash; the same `restore.sh` the dead-man timer
//! uses, rebuilt from the journal. A file changed since the run by someone
//! else is never overwritten.

use std::sync::Arc;
use std::time::Instant;

use super::journal::{HostJournal, Run};
use super::outcome::{HostOutcome, HostStatus};
use super::remote::{self, HostSpec};
use super::{probe_direct, release, HostRun, Shared, STEP_TIMEOUT};
use crate::change::sha256_hex;
use crate::inventory::vars::HostSettings;

/// Rolls back every host of `work`, at most `forks` at once.
pub async fn rollback_all(
    shared: Arc<Shared>,
    of: Run,
    work: Vec<(HostSettings, HostJournal)>,
) -> Vec<HostOutcome> {
    let of = Arc::new(of);
    super::each_host(&shared, work, move |shared, (settings, entry)| {
        let of = of.clone();
        async move { rollback_host(&shared, &of, &settings, &entry).await }
    })
    .await
}

async fn rollback_host(
    shared: &Shared,
    of: &Run,
    h: &HostSettings,
    entry: &HostJournal,
) -> HostOutcome {
    let mut r = HostRun::new(shared, h);
    let past = &entry.outcome;
    let left_changes = match past.result {
        HostStatus::Repaired => true,
        HostStatus::Failed => past.reverted != Some(true),
        _ => false,
    };
    let spec: Option<HostSpec> = entry
        .restore
        .clone()
        .and_then(|v| serde_json::from_value(v).ok());
    let Some(spec) = spec.filter(|_| left_changes) else {
        return r.finish(
            HostStatus::Unchanged,
            Some(format!(
                "run {} left no change on this host (it ended `{}`)",
                of.id,
                past.result.as_str()
            )),
        );
    };
    r.out.backup_dir = Some(spec.backup_dir());
    r.out.files = past.files.clone();
    r.spec = Some(spec.clone());
    let t = match r.reach().await {
        Ok(t) => t,
        Err(e) => return r.finish(HostStatus::Unreachable, Some(e)),
    };
    let res = restore(&mut r, t.as_ref(), of, &spec, past).await;
    let _ = t.close().await;
    match res {
        Ok(status) => {
            let p = probe_direct(h).await;
            r.out.verified = Some(format!(
                "{}: {} after the rollback",
                super::direct_name(h),
                p.symptom.as_str()
            ));
            r.finish(status, None)
        }
        Err((status, why)) => r.finish(status, Some(why)),
    }
}

async fn restore(
    r: &mut HostRun<'_>,
    t: &dyn crate::transport::Transport,
    of: &Run,
    spec: &HostSpec,
    past: &HostOutcome,
) -> Result<HostStatus, (HostStatus, String)> {
    // lock, and where each file stands now
    let t0 = Instant::now();
    let script = remote::prepare(spec, r.shared.options.lock_wait, 600)
        .map_err(|e| (HostStatus::Refused, e.to_string()))?;
    let reply = r.run(t, &script, b"", STEP_TIMEOUT).await.map_err(|e| {
        (
            HostStatus::Refused,
            format!("preparing the host failed: {e}"),
        )
    })?;
    match remote::tagged(&reply, "lock").first() {
        Some(l) if l.get(1) == Some(&"acquired") => r.step("lock", true, t0, ""),
        other => {
            let why = format!(
                "another sshfix run ({}) holds the lock {} on the host; nothing was rolled back",
                other.and_then(|l| l.get(2)).unwrap_or(&"?"),
                remote::LOCK_DIR
            );
            r.step("lock", false, t0, &why);
            return Err((HostStatus::Refused, why));
        }
    }
    let t0 = Instant::now();
    let mut pending = 0;
    let mut conflicts = Vec::new();
    for f in remote::tagged(&reply, "file") {
        let i: usize = f.get(1).and_then(|x| x.parse().ok()).unwrap_or(usize::MAX);
        let Some(sf) = spec.files.get(i) else {
            continue;
        };
        let now = f.get(2).copied().unwrap_or("");
        let is_before = match &sf.before_sha256 {
            Some(b) => now == b,
            None => now == "missing",
        };
        if is_before {
            continue;
        }
        if now == sf.after_sha256 {
            pending += 1;
        } else {
            let local = past
                .files
                .get(i)
                .and_then(|x| x.local_backup.clone())
                .map(|l| format!(", local copy {}", of.dir.join(l).display()))
                .unwrap_or_default();
            conflicts.push(format!(
                "{} changed since run {} (it is neither the run's version nor the original; backup {}/files/{i}{local})",
                sf.path,
                of.id,
                spec.backup_dir()
            ));
        }
    }
    if !conflicts.is_empty() {
        let why = format!(
            "{}; nothing was rolled back: restore by hand, or re-plan",
            conflicts.join("; ")
        );
        r.step("check", false, t0, &why);
        release(r, t, spec, false).await;
        return Err((HostStatus::Refused, why));
    }
    let ran_any = spec.steps.iter().any(|s| {
        matches!(
            s,
            remote::SpecStep::Command { ran: true, .. } | remote::SpecStep::File { ran: true, .. }
        )
    });
    if pending == 0 && !ran_any && spec.services.is_empty() {
        r.step("check", true, t0, "every file is already as before the run");
        release(r, t, spec, false).await;
        return Ok(HostStatus::Unchanged);
    }
    r.step("check", true, t0, format!("{pending} file(s) to restore"));
    let undone_before = pending == 0;

    // the backups on the host, re-sent from the local copies when missing
    let t0 = Instant::now();
    let restore_sh =
        remote::restore_script(spec).map_err(|e| (HostStatus::Refused, e.to_string()))?;
    let prep = remote::rollback_prepare(spec).map_err(|e| (HostStatus::Refused, e.to_string()))?;
    let have = match r.run(t, &prep, restore_sh.as_bytes(), STEP_TIMEOUT).await {
        Ok(x) => x,
        Err(e) => {
            let why = format!("preparing the backups failed: {e}; nothing was rolled back");
            r.step("backups", false, t0, &why);
            release(r, t, spec, false).await;
            return Err((HostStatus::Refused, why));
        }
    };
    let undone_mark = remote::tagged(&have, "undone")
        .first()
        .and_then(|f| f.get(1).copied())
        == Some("1");
    if undone_before && undone_mark {
        // the timer, a revert or an earlier rollback already ran the undo
        // commands and service actions: running them again could remove what
        // someone set up since
        r.step(
            "backups",
            true,
            t0,
            "the host was already restored; nothing to do",
        );
        release(r, t, spec, false).await;
        return Ok(HostStatus::Unchanged);
    }
    for (i, sf) in spec.files.iter().enumerate() {
        let Some(before) = &sf.before_sha256 else {
            continue;
        };
        let is = i.to_string();
        let ok = remote::tagged(&have, "have")
            .iter()
            .any(|f| f.get(1) == Some(&is.as_str()) && f.get(2) == Some(&before.as_str()));
        if ok {
            continue;
        }
        let local = past.files.get(i).and_then(|x| x.local_backup.clone());
        let data = local
            .ok_or_else(|| "no local copy was recorded".to_string())
            .and_then(|rel| of.read_backup(&rel).map_err(|e| e.to_string()))
            .and_then(|d| {
                if sha256_hex(&d) == *before {
                    Ok(d)
                } else {
                    Err("the local copy does not match the original's hash".into())
                }
            });
        let sent = match data {
            Ok(d) => {
                let put = remote::put_backup(spec, i).map_err(|e| e.to_string());
                match put {
                    Ok(s) => r.run(t, &s, &d, STEP_TIMEOUT).await.map(|_| ()),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            let why = format!(
                "the backup of {} is missing or damaged on the host and cannot be re-sent ({e}); nothing was rolled back",
                sf.path
            );
            r.step("backups", false, t0, &why);
            release(r, t, spec, false).await;
            return Err((HostStatus::Refused, why));
        }
    }
    r.step("backups", true, t0, spec.backup_dir());

    // restore
    let t0 = Instant::now();
    let script =
        remote::run_restore(spec, "rollback").map_err(|e| (HostStatus::Failed, e.to_string()))?;
    let reply = r.run(t, &script, b"", STEP_TIMEOUT * 2).await;
    release(r, t, spec, false).await;
    let reply = match reply {
        Ok(x) => x,
        Err(e) => {
            let why = format!(
                "restoring failed: {e}; the backups are in {} on the host",
                spec.backup_dir()
            );
            r.step("restore", false, t0, &why);
            return Err((HostStatus::Failed, why));
        }
    };
    let (problems, notes) = super::judge_restore(spec, &reply);
    if problems.is_empty() {
        let note = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        r.step(
            "restore",
            true,
            t0,
            format!("files restored and verified by hash{note}"),
        );
        Ok(HostStatus::Restored)
    } else {
        let why = problems.join("; ");
        r.step("restore", false, t0, &why);
        Err((HostStatus::Failed, why))
    }
}
