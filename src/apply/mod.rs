//! `sshfix apply` and `sshfix rollback`: carry out a plan on each host over its
//! working path — lock, stale check, backups, validated candidates installed
//! atomically, a dead-man timer on the host, service actions, verification of
//! the broken path from the controller, and revert on any failure — and
//! journal the run in the state directory.
//!
//! The scripts themselves are built by [`remote`] (pure); this module runs
//! them in order, decides, and records. See `docs/safety.md`.

pub mod journal;
pub mod outcome;
pub mod progress;
pub mod remote;
pub mod rollback;
pub mod verify;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::change::{sha256_hex, Validator};
use crate::inventory::vars::{Connection, HostSettings, PathKind};
use crate::plan::load::HostWork;
use crate::probe::{self, ProbeOptions, ProbeResult, ProbeTarget, Symptom};
use crate::transport::paths::Reacher;
use crate::transport::Transport;
use journal::{HostJournal, Journal, Run};
use outcome::{FileRecord, HostOutcome, HostStatus, Step};
use progress::Progress;
use remote::{HostSpec, SpecStep};

/// Options of one apply run.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--confirm-timeout`: seconds before the dead-man timer reverts a host.
    pub confirm_timeout: u64,
    pub update_known_hosts: bool,
    pub forks: usize,
    /// Seconds to wait for another run's lock on a host.
    pub lock_wait: u64,
    /// Test hook (`SSHFIX_TEST_PAUSE=POINT:DIR`): at POINT on each host
    /// (`STEP`: after STEP succeeded, `arm` or `services`; `before-STEP`:
    /// just before STEP starts), create `DIR/HOST.paused` and wait for
    /// `DIR/HOST.go`.
    pub pause: Option<(String, PathBuf)>,
}

impl Options {
    /// Reads the test hook from the environment.
    pub fn pause_from_env() -> Option<(String, PathBuf)> {
        let v = std::env::var("SSHFIX_TEST_PAUSE").ok()?;
        let (step, dir) = v.split_once(':')?;
        eprintln!(
            "warning: SSHFIX_TEST_PAUSE is set (a test hook): apply waits after `{step}` on each host until {dir}/HOST.go exists"
        );
        Some((step.to_string(), PathBuf::from(dir)))
    }
}

/// What every host task shares.
pub struct Shared {
    pub reacher: Arc<Reacher>,
    pub run: Run,
    pub journal: Mutex<Journal>,
    pub options: Options,
    pub progress: Progress,
}

impl Shared {
    /// Puts `entry` into the journal (replacing the host's earlier entry)
    /// and writes it to disk.
    fn record(&self, entry: HostJournal) {
        let mut j = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        match j
            .hosts
            .iter_mut()
            .find(|h| h.outcome.host == entry.outcome.host)
        {
            Some(h) => *h = entry,
            None => j.hosts.push(entry),
        }
        if let Err(e) = self.run.write_journal(&j) {
            tracing::error!("{e}");
        }
    }
}

/// Seconds since `t`, rounded to milliseconds.
fn secs(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

const STEP_TIMEOUT: Duration = Duration::from_secs(60);
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(25);

/// One host's run in progress: the outcome being built and the spec.
struct HostRun<'a> {
    shared: &'a Shared,
    settings: &'a HostSettings,
    out: HostOutcome,
    spec: Option<HostSpec>,
    started: Instant,
    /// When the host's dead-man timer fires: steps after arming must end
    /// before it (a step that would outlive it proves nothing).
    timer_fires: Option<Instant>,
}

/// Why a host stopped; the state decides what is left to do.
struct Stop {
    step: &'static str,
    reason: String,
}

fn stop(step: &'static str, reason: impl Into<String>) -> Stop {
    Stop {
        step,
        reason: reason.into(),
    }
}

impl<'a> HostRun<'a> {
    fn new(shared: &'a Shared, settings: &'a HostSettings) -> Self {
        HostRun {
            shared,
            settings,
            out: HostOutcome::new(&settings.name),
            spec: None,
            started: Instant::now(),
            timer_fires: None,
        }
    }

    fn host(&self) -> &str {
        &self.settings.name
    }

    fn step(&mut self, step: &str, ok: bool, t: Instant, detail: impl Into<String>) {
        let detail = detail.into();
        self.shared.progress.step(self.host(), step, ok, &detail);
        self.out.steps.push(Step {
            step: step.to_string(),
            ok,
            seconds: secs(t),
            detail,
        });
    }

    /// Journals the host as it stands, still unfinished: what the journal
    /// says if this process dies before [`HostRun::finish`].
    fn record(&self) {
        self.journal(true);
    }

    fn journal(&self, unfinished: bool) {
        self.shared.record(HostJournal {
            outcome: self.out.clone(),
            restore: self
                .spec
                .as_ref()
                .and_then(|s| serde_json::to_value(s).ok()),
            unfinished,
        });
    }

    fn finish(mut self, status: HostStatus, reason: Option<String>) -> HostOutcome {
        self.out.result = status;
        self.out.reason = reason;
        self.out.seconds = secs(self.started);
        self.journal(false);
        self.shared.progress.done(&self.out);
        self.out
    }

    /// Opens the host's working path (the `reach` step); `Err` says why no
    /// path worked.
    async fn reach(&mut self) -> Result<Box<dyn Transport>, String> {
        let t0 = Instant::now();
        match self.shared.reacher.reach(self.settings).await {
            Ok(reached) => {
                let via = reached.via().to_string();
                self.out.reached_via = Some(via.clone());
                self.step("reach", true, t0, via);
                Ok(reached.transport)
            }
            Err(e) => {
                self.step("reach", false, t0, e.to_string());
                Err(e.to_string())
            }
        }
    }

    /// Runs one script; a transport failure or non-zero exit is an `Err`
    /// with the reason.
    async fn run(
        &self,
        t: &dyn Transport,
        script: &str,
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<String, String> {
        let timeout = match self.timer_fires {
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                timeout.min(
                    left.saturating_sub(Duration::from_secs(1))
                        .max(Duration::from_secs(2)),
                )
            }
            None => timeout,
        };
        match t.run(script, stdin, timeout).await {
            Ok(o) if o.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
            Ok(o) => Err(match o.stderr_tail() {
                s if s.is_empty() => format!("exit status {:?}", o.status),
                s => s,
            }),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn pause_after(&self, step: &str) {
        self.pause_at(step).await
    }

    /// The pause point `before-STEP`: the fault-matrix tests inject a fault
    /// here, so that STEP is the first to meet it.
    async fn pause_before(&self, step: &str) {
        self.pause_at(&format!("before-{step}")).await
    }

    async fn pause_at(&self, point: &str) {
        let Some((at, dir)) = &self.shared.options.pause else {
            return;
        };
        if at != point {
            return;
        }
        let _ = std::fs::write(dir.join(format!("{}.paused", self.host())), b"");
        let go = dir.join(format!("{}.go", self.host()));
        while !go.exists() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Runs `one` for every item of `work`, at most `forks` hosts at once; a
/// host's task never stops the others.
pub(crate) async fn each_host<T, F, Fut>(
    shared: &Arc<Shared>,
    work: Vec<T>,
    one: F,
) -> Vec<HostOutcome>
where
    T: Send + 'static,
    F: Fn(Arc<Shared>, T) -> Fut,
    Fut: std::future::Future<Output = HostOutcome> + Send + 'static,
{
    let sem = Arc::new(tokio::sync::Semaphore::new(shared.options.forks.max(1)));
    let mut tasks = Vec::new();
    for item in work {
        let sem = sem.clone();
        let fut = one(shared.clone(), item);
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await;
            fut.await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        match t.await {
            Ok(o) => out.push(o),
            Err(e) => tracing::error!("a host task failed: {e}"),
        }
    }
    out
}

/// Applies every host's work, at most `forks` at once.
pub async fn apply_all(
    shared: Arc<Shared>,
    work: Vec<(HostSettings, HostWork)>,
) -> Vec<HostOutcome> {
    each_host(&shared, work, |shared, (settings, w)| async move {
        apply_host(&shared, &settings, &w).await
    })
    .await
}

/// The direct path as people write it: `direct 10.77.1.4:22`.
fn direct_name(h: &HostSettings) -> String {
    format!("direct {}:{}", h.address, h.ssh_port())
}

async fn probe_direct(h: &HostSettings) -> ProbeResult {
    probe::probe(&ProbeTarget::of(h), ProbeOptions::default()).await
}

/// One host: the whole protocol. Never panics on a host's behalf; every
/// failure becomes the outcome's reason.
pub async fn apply_host(shared: &Shared, h: &HostSettings, w: &HostWork) -> HostOutcome {
    let mut r = HostRun::new(shared, h);
    if let Some(e) = &w.error {
        return r.finish(
            HostStatus::Unreachable,
            Some(format!("no working path when the plan was made: {e}")),
        );
    }
    if !w.has_work() {
        return r.finish(HostStatus::Unchanged, None);
    }
    r.out.findings_fixed = w.findings_fixed();
    let files: Vec<(String, Option<String>, String)> = w
        .changes
        .iter()
        .map(|c| {
            (
                c.path.clone(),
                c.before_sha256.clone(),
                c.after_sha256.clone(),
            )
        })
        .collect();
    let ops: Vec<_> = w.actions.iter().map(|a| a.op.clone()).collect();
    match remote::spec(&shared.run.id, &files, &ops) {
        Ok(s) => r.spec = Some(s),
        Err(e) => {
            return r.finish(
                HostStatus::Refused,
                Some(format!(
                    "the plan cannot be carried out safely: {e}; nothing was changed"
                )),
            )
        }
    }
    let before = probe_direct(h).await;
    let t = match r.reach().await {
        Ok(t) => t,
        Err(e) => return r.finish(HostStatus::Unreachable, Some(e)),
    };
    let result = protocol(&mut r, t.as_ref(), w, &before).await;
    let _ = t.close().await;
    match result {
        Ok(()) => r.finish(HostStatus::Repaired, None),
        Err((status, why)) => r.finish(status, Some(why)),
    }
}

type Outcome = Result<(), (HostStatus, String)>;

/// Steps 1–8 on a reached host.
async fn protocol(
    r: &mut HostRun<'_>,
    t: &dyn Transport,
    w: &HostWork,
    before: &ProbeResult,
) -> Outcome {
    let opts = r.shared.options.clone();
    let mut spec = r
        .spec
        .clone()
        .ok_or((HostStatus::Refused, "no spec".to_string()))?;
    let refuse = |s: Stop| (HostStatus::Refused, s.reason);

    // 1. lock + stale check
    r.pause_before("lock").await;
    let t0 = Instant::now();
    let lease = opts.confirm_timeout + 600;
    let script = remote::prepare(&spec, opts.lock_wait, lease)
        .map_err(|e| refuse(stop("lock", e.to_string())))?;
    // what the journal says if this process dies from here until the backup:
    // the host counts as started (`sshfix runs`), and its lock may be held
    r.out.reason = Some(format!(
        "sshfix stopped while taking this host's lock or soon after, before changing anything; nothing was changed, but the lock {} may stay on the host until its lease ends ({lease} s after it was taken)",
        remote::LOCK_DIR
    ));
    r.record();
    let reply = match r
        .run(
            t,
            &script,
            b"",
            STEP_TIMEOUT + Duration::from_secs(opts.lock_wait),
        )
        .await
    {
        Ok(x) => x,
        Err(e) => {
            r.step("lock", false, t0, &e);
            r.out.failed_step = Some("lock".into());
            return Err((
                HostStatus::Refused,
                format!("preparing the host failed: {e}; nothing was changed"),
            ));
        }
    };
    if let Some(l) = remote::tagged(&reply, "lock").first() {
        if l.get(1) == Some(&"held") {
            let why = format!(
                "another sshfix run ({}) holds the lock {} on the host (since {}, lease until {}); nothing was changed. Wait for it to finish; if it died, its lease expires at the time shown, or remove {} on the host",
                l.get(2).unwrap_or(&"?"),
                remote::LOCK_DIR,
                epoch_text(l.get(3)),
                epoch_text(l.get(4)),
                remote::LOCK_DIR
            );
            r.step("lock", false, t0, &why);
            r.out.failed_step = Some("lock".into());
            return Err((HostStatus::Refused, why));
        }
    } else {
        r.step("lock", false, t0, "no reply");
        return Err((
            HostStatus::Refused,
            format!("the prepare script gave no lock reply: {}", reply.trim()),
        ));
    }
    r.step("lock", true, t0, "");
    let t0 = Instant::now();
    if already_applied(&spec, &reply) {
        let why = "already applied: every file already has the plan's new content and every service it touches is running; nothing was changed".to_string();
        r.step("stale-check", true, t0, &why);
        release(r, t, &spec, false).await;
        return Err((HostStatus::Unchanged, why));
    }
    if let Err(why) = read_prepare(&mut spec, &reply) {
        r.step("stale-check", false, t0, &why);
        r.out.failed_step = Some("stale-check".into());
        release(r, t, &spec, false).await;
        return Err((HostStatus::Refused, format!("{why}; nothing was changed")));
    }
    let keys_before = keys(&reply);
    let unshare = remote::tagged(&reply, "unshare")
        .first()
        .and_then(|f| f.get(1).copied())
        == Some("1");
    r.step(
        "stale-check",
        true,
        t0,
        format!("{} file(s) as planned", spec.files.len()),
    );
    r.spec = Some(spec.clone());

    // 2. backup
    r.pause_before("backup").await;
    // every script of the run, built before anything changes
    let sc = match Scripts::build(&spec, opts.confirm_timeout) {
        Ok(sc) => sc,
        Err(e) => {
            release(r, t, &spec, false).await;
            return Err((
                HostStatus::Refused,
                format!(
                    "the plan cannot be carried out safely on this host: {e}; nothing was changed"
                ),
            ));
        }
    };
    let t0 = Instant::now();
    match r
        .run(t, &sc.backup, sc.restore.as_bytes(), STEP_TIMEOUT)
        .await
    {
        Ok(reply) => {
            for f in remote::tagged(&reply, "backup") {
                let i: usize = f.get(1).and_then(|x| x.parse().ok()).unwrap_or(usize::MAX);
                let want = spec.files.get(i).and_then(|s| s.before_sha256.clone());
                if want.as_deref() != f.get(2).copied() {
                    let why = format!("the backup copy of {} does not match the file (sha256 {}); nothing was changed", spec.files.get(i).map_or("?", |s| s.path.as_str()), f.get(2).unwrap_or(&"?"));
                    r.step("backup", false, t0, &why);
                    release(r, t, &spec, true).await;
                    return Err((HostStatus::Refused, why));
                }
            }
        }
        Err(e) => {
            let why = format!("backing up failed: {e}; nothing was changed");
            r.step("backup", false, t0, &why);
            r.out.failed_step = Some("backup".into());
            release(r, t, &spec, false).await;
            return Err((HostStatus::Refused, why));
        }
    }
    r.out.backup_dir = Some(spec.backup_dir());
    // local copies, verified by hash
    for (i, f) in spec.files.iter().enumerate() {
        let mut rec = FileRecord {
            path: f.path.clone(),
            before_sha256: f.before_sha256.clone(),
            after_sha256: f.after_sha256.clone(),
            local_backup: None,
            remote_backup: None,
        };
        if f.before_sha256.is_some() {
            let remote = format!("{}/files/{i}", spec.backup_dir());
            let data = t.read_file(&remote, STEP_TIMEOUT).await;
            let saved = match data {
                Ok(d) if Some(sha256_hex(&d)) == f.before_sha256 => r
                    .shared
                    .run
                    .save_backup(r.host(), i, &d)
                    .map_err(|e| e.to_string()),
                Ok(d) => Err(format!("the copy read back has sha256 {}", sha256_hex(&d))),
                Err(e) => Err(e.to_string()),
            };
            match saved {
                Ok(rel) => rec.local_backup = Some(rel),
                Err(e) => {
                    let why = format!(
                        "keeping a local copy of {} failed: {e}; nothing was changed",
                        f.path
                    );
                    r.step("backup", false, t0, &why);
                    release(r, t, &spec, true).await;
                    r.out.backup_dir = None;
                    return Err((HostStatus::Refused, why));
                }
            }
            rec.remote_backup = Some(remote);
        }
        r.out.files.push(rec);
    }
    r.step("backup", true, t0, spec.backup_dir());
    // what the journal says if this process dies from here on
    r.out.result = HostStatus::Failed;
    r.out.reason = Some(
        "sshfix stopped before this host finished; its dead-man timer (if armed) puts it back, and `sshfix rollback` restores what is left"
            .into(),
    );
    r.record();

    // 3. stage the candidates beside their targets
    r.pause_before("stage").await;
    let t0 = Instant::now();
    for (i, c) in w.changes.iter().enumerate() {
        if let Err(e) = r.run(t, &sc.candidates[i], &c.after, STEP_TIMEOUT).await {
            let why = format!(
                "writing the new {} beside it failed: {e}; nothing was changed",
                c.path
            );
            r.step("stage", false, t0, &why);
            r.out.failed_step = Some("stage".into());
            release(r, t, &spec, true).await;
            r.out.backup_dir = None;
            return Err((HostStatus::Refused, why));
        }
    }
    let staged = match r.run(t, &sc.stage, b"", STEP_TIMEOUT).await {
        Ok(x) => x,
        Err(e) => {
            let why = format!("preparing the new files failed: {e}; nothing was changed");
            r.step("stage", false, t0, &why);
            release(r, t, &spec, true).await;
            r.out.backup_dir = None;
            return Err((HostStatus::Refused, why));
        }
    };
    for (i, f) in spec.files.iter().enumerate() {
        let got = remote::tagged(&staged, "staged")
            .into_iter()
            .find(|x| x.get(1) == Some(&i.to_string().as_str()))
            .and_then(|x| x.get(2).map(|s| s.to_string()));
        if got.as_deref() != Some(f.after_sha256.as_str()) {
            let why = format!(
                "the new {} arrived damaged (sha256 {}); nothing was changed",
                f.path,
                got.unwrap_or_default()
            );
            r.step("stage", false, t0, &why);
            release(r, t, &spec, true).await;
            r.out.backup_dir = None;
            return Err((HostStatus::Refused, why));
        }
    }
    r.step("stage", true, t0, format!("{} file(s)", spec.files.len()));

    // 4. validate now, unless commands must run first (host keys, /run/sshd)
    let validators: Vec<Validator> = w.changes.iter().map(|c| c.validator.clone()).collect();
    let checks = remote::checks(&validators);
    let early = spec.steps.is_empty();
    if early {
        if let Err(why) = validate(r, t, &spec, &checks, unshare).await {
            r.out.failed_step = Some("validate".into());
            release(r, t, &spec, true).await;
            r.out.backup_dir = None;
            return Err((HostStatus::Refused, format!("{why}; nothing was changed")));
        }
    }

    // 5. the dead-man timer
    r.pause_before("arm").await;
    let t0 = Instant::now();
    let deadline = match r.run(t, &sc.arm, b"", STEP_TIMEOUT).await {
        Ok(x) => remote::tagged(&x, "armed")
            .first()
            .and_then(|f| f.get(1).map(|s| s.to_string())),
        Err(e) => {
            let why = format!("arming the dead-man timer failed: {e}; nothing was changed");
            r.step("arm", false, t0, &why);
            r.out.failed_step = Some("arm".into());
            release(r, t, &spec, true).await;
            r.out.backup_dir = None;
            return Err((HostStatus::Refused, why));
        }
    };
    r.timer_fires = Some(t0 + Duration::from_secs(opts.confirm_timeout));
    let deadline = epoch_text(deadline.as_deref().map(|s| s as &str).as_ref());
    r.step(
        "arm",
        true,
        t0,
        format!("reverts by itself at {deadline} unless confirmed"),
    );
    r.pause_after("arm").await;

    // from here on, any failure reverts
    let mut failed: Option<Stop> = None;

    // 6. commands and file attributes
    if !spec.steps.is_empty() {
        r.pause_before("commands").await;
        let t0 = Instant::now();
        match r.run(t, &sc.commands, b"", STEP_TIMEOUT * 2).await {
            Ok(reply) => {
                for f in remote::tagged(&reply, "step") {
                    let k: usize = f.get(1).and_then(|x| x.parse().ok()).unwrap_or(usize::MAX);
                    if let Some(st) = spec.steps.get_mut(k) {
                        let ran = f.get(2) != Some(&"skipped");
                        match st {
                            SpecStep::Command { ran: x, .. } | SpecStep::File { ran: x, .. } => {
                                *x = ran
                            }
                        }
                    }
                    if f.get(2) == Some(&"failed") {
                        let out: Vec<&str> = remote::tagged(&reply, "out")
                            .into_iter()
                            .filter(|o| o.get(1) == f.get(1))
                            .filter_map(|o| o.get(2).copied())
                            .collect();
                        failed = Some(stop(
                            "commands",
                            format!(
                                "`{}` failed: {}",
                                describe_step(&spec.steps[k]),
                                last_lines(&out)
                            ),
                        ));
                    }
                }
                r.spec = Some(spec.clone());
                r.record();
            }
            Err(e) => {
                failed = Some(stop(
                    "commands",
                    format!("running the commands failed: {e}"),
                ))
            }
        }
        match &failed {
            None => r.step(
                "commands",
                true,
                t0,
                format!("{} step(s)", spec.steps.len()),
            ),
            Some(s) => r.step("commands", false, t0, s.reason.clone()),
        }
        if failed.is_none() {
            if let Err(why) = validate(r, t, &spec, &checks, unshare).await {
                failed = Some(stop("validate", why));
            }
        }
    }

    // 7. install
    if failed.is_none() && !spec.files.is_empty() {
        r.pause_before("install").await;
        let t0 = Instant::now();
        match r.run(t, &sc.install, b"", STEP_TIMEOUT).await {
            Ok(reply) => {
                let n = remote::tagged(&reply, "installed").len();
                r.step(
                    "install",
                    true,
                    t0,
                    format!("{n} file(s) renamed into place"),
                );
            }
            Err(e) => {
                r.step("install", false, t0, &e);
                failed = Some(stop(
                    "install",
                    format!("installing the new files failed: {e}"),
                ));
            }
        }
    }

    // 8. services
    if failed.is_none() && !spec.services.is_empty() {
        r.pause_before("services").await;
        let t0 = Instant::now();
        match r.run(t, &sc.services, b"", STEP_TIMEOUT * 2).await {
            Ok(reply) => {
                let bad: Vec<Vec<&str>> = remote::tagged(&reply, "svc")
                    .into_iter()
                    .filter(|f| f.get(3) != Some(&"0"))
                    .collect();
                if let Some(f) = bad.first() {
                    let name = f.get(1).copied().unwrap_or("?");
                    let out: Vec<&str> = remote::tagged(&reply, "out")
                        .into_iter()
                        .filter(|o| o.get(1) == Some(&name))
                        .filter_map(|o| o.get(2).copied())
                        .collect();
                    let why = format!(
                        "{} {name} failed: {}",
                        f.get(2).unwrap_or(&"?"),
                        last_lines(&out)
                    );
                    r.step("services", false, t0, &why);
                    failed = Some(stop("services", why));
                } else {
                    let done: Vec<String> = remote::tagged(&reply, "svc")
                        .iter()
                        .map(|f| {
                            format!("{} {}", f.get(2).unwrap_or(&"?"), f.get(1).unwrap_or(&"?"))
                        })
                        .collect();
                    r.step("services", true, t0, done.join(", "));
                }
            }
            Err(e) => {
                r.step("services", false, t0, &e);
                failed = Some(stop("services", format!("the service actions failed: {e}")));
            }
        }
    }
    if failed.is_none() {
        r.pause_after("services").await;
    }

    // 9. verify the path that was broken
    let mut pinned: Option<PathBuf> = None;
    let mut new_keys: Vec<verify::PubKey> = Vec::new();
    if failed.is_none() {
        r.pause_before("verify").await;
        let t0 = Instant::now();
        let ran_command = spec
            .steps
            .iter()
            .any(|s| matches!(s, SpecStep::Command { ran: true, .. }));
        if let Some(script) = remote::read_keys(&spec).ok().filter(|_| ran_command) {
            if let Ok(reply) = r.run(t, &script, b"", STEP_TIMEOUT).await {
                let after = keys(&reply);
                if after
                    .iter()
                    .map(|k| (&k.0, &k.1))
                    .ne(keys_before.iter().map(|k| (&k.0, &k.1)))
                {
                    new_keys = after
                        .iter()
                        .filter_map(|(p, _, text)| verify::PubKey::parse(p, text))
                        .collect();
                }
            }
        }
        if !new_keys.is_empty() {
            let file = r
                .shared
                .reacher
                .run_dir()
                .join(format!("known_hosts-{}", sha256_hex(r.host().as_bytes())));
            let lines =
                verify::known_hosts_lines(&r.settings.address, r.settings.ssh_port(), &new_keys);
            if std::fs::write(&file, lines).is_ok() {
                pinned = Some(file);
            }
            r.out.new_host_keys = verify::fingerprints(r.shared.reacher.run_dir(), &new_keys).await;
        }
        match verify_host(r, w, pinned.as_deref()).await {
            Ok(what) => {
                r.out.verified = Some(what.clone());
                r.step("verify", true, t0, what);
            }
            Err(why) => {
                r.step("verify", false, t0, &why);
                failed = Some(stop("verify", why));
            }
        }
    }

    if let Some(s) = failed {
        r.out.failed_step = Some(s.step.into());
        r.out.new_host_keys.clear();
        let note = revert(r, t, &spec, before).await;
        return Err((HostStatus::Failed, format!("{}; {note}", s.reason)));
    }

    // 10. confirm: disarm the timer, release the lock
    r.pause_before("confirm").await;
    let t0 = Instant::now();
    match r.run(t, &sc.confirm, b"", CONFIRM_TIMEOUT).await {
        Ok(reply) if reply.lines().any(|l| l == "confirmed") => {
            r.step("confirm", true, t0, "dead-man timer disarmed");
        }
        Ok(reply)
            if remote::tagged(&reply, "decided")
                .first()
                .and_then(|f| f.get(1))
                != Some(&"timer") =>
        {
            let why = format!(
                "the confirmation got an unexpected answer from the host ({}); the state of the run there is unknown: on the host, `cat {}/decided/by` and {}/restored tell",
                crate::transport::tail(reply.as_bytes()),
                spec.backup_dir(),
                spec.backup_dir()
            );
            r.step("confirm", false, t0, &why);
            r.out.failed_step = Some("confirm".into());
            r.out.new_host_keys.clear();
            return Err((HostStatus::Failed, why));
        }
        Ok(_) => {
            // the timer decided first: read what its restore did
            r.step("confirm", false, t0, "the dead-man timer fired first");
            r.out.failed_step = Some("confirm".into());
            r.out.new_host_keys.clear();
            let note = revert(r, t, &spec, before).await;
            return Err((
                HostStatus::Failed,
                format!(
                    "the dead-man timer fired before the repair was confirmed (the run took longer than --confirm-timeout {} s); {note}",
                    opts.confirm_timeout
                ),
            ));
        }
        Err(e) => {
            let why = format!(
                "the repair was verified, but confirming it over the working path failed ({e}): unless the confirmation reached the host, its dead-man timer puts it back as it was at {deadline} (on the host, `cat {}/decided/by` says `confirmed` or `timer`)",
                spec.backup_dir()
            );
            r.step("confirm", false, t0, &why);
            r.out.failed_step = Some("confirm".into());
            r.out.reverted = None;
            r.out.new_host_keys.clear();
            return Err((HostStatus::Failed, why));
        }
    }

    // known_hosts, only once the new keys are confirmed
    if !new_keys.is_empty() && !r.shared.options.update_known_hosts {
        if let Ok(cfg) = r
            .shared
            .reacher
            .ssh_config_for(r.settings, PathKind::Direct)
        {
            if let Ok(file) = verify::user_known_hosts(&cfg, r.settings).await {
                r.out.known_hosts_command = Some(verify::update_command(
                    &file,
                    &r.settings.address,
                    r.settings.ssh_port(),
                    &new_keys,
                ));
            }
        }
    }
    if !new_keys.is_empty() && r.shared.options.update_known_hosts {
        {
            let t0 = Instant::now();
            let res = match r
                .shared
                .reacher
                .ssh_config_for(r.settings, PathKind::Direct)
            {
                Ok(cfg) => match verify::user_known_hosts(&cfg, r.settings).await {
                    Ok(file) => verify::update_known_hosts(
                        &file,
                        &r.settings.address,
                        r.settings.ssh_port(),
                        &new_keys,
                    )
                    .await
                    .map(|()| file.display().to_string()),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e.to_string()),
            };
            match res {
                Ok(file) => {
                    r.out.known_hosts_updated = true;
                    r.step(
                        "known-hosts",
                        true,
                        t0,
                        format!("new keys written to {file}"),
                    );
                }
                Err(e) => r.step(
                    "known-hosts",
                    false,
                    t0,
                    format!("updating known_hosts failed: {e}"),
                ),
            }
        }
    }
    Ok(())
}

/// Every script one host's run needs, built (and so checked) before the
/// host is touched: a value that cannot be scripted stops the run while
/// nothing has changed, never halfway.
struct Scripts {
    restore: String,
    backup: String,
    candidates: Vec<String>,
    stage: String,
    arm: String,
    commands: String,
    install: String,
    services: String,
    confirm: String,
}

impl Scripts {
    fn build(spec: &HostSpec, confirm_timeout: u64) -> Result<Scripts, remote::SpecError> {
        Ok(Scripts {
            restore: remote::restore_script(spec)?,
            backup: remote::backup(spec)?,
            candidates: (0..spec.files.len())
                .map(|i| remote::write_candidate(spec, i))
                .collect::<Result<_, _>>()?,
            stage: remote::stage(spec)?,
            arm: remote::run_restore(spec, &format!("arm {confirm_timeout}"))?,
            commands: remote::commands(spec)?,
            install: remote::install(spec)?,
            services: remote::services(spec)?,
            confirm: remote::run_restore(spec, "confirm")?,
        })
    }
}

/// Runs the validations; `Err` is the reason (which file, what the checker said).
async fn validate(
    r: &mut HostRun<'_>,
    t: &dyn Transport,
    spec: &HostSpec,
    checks: &[remote::Check],
    unshare: bool,
) -> Result<(), String> {
    if checks.is_empty() {
        return Ok(());
    }
    r.pause_before("validate").await;
    let t0 = Instant::now();
    let script = remote::validate(spec, checks, unshare).map_err(|e| e.to_string())?;
    let reply = match r.run(t, &script, b"", STEP_TIMEOUT).await {
        Ok(x) => x,
        Err(e) => {
            let why = format!("validating the new files failed to run: {e}");
            r.step("validate", false, t0, &why);
            return Err(why);
        }
    };
    for (k, c) in checks.iter().enumerate() {
        let ks = k.to_string();
        let rc = remote::tagged(&reply, "rc")
            .into_iter()
            .find(|f| f.get(1) == Some(&ks.as_str()))
            .and_then(|f| f.get(2).map(|s| s.to_string()));
        let out: Vec<&str> = remote::tagged(&reply, "out")
            .into_iter()
            .filter(|f| f.get(1) == Some(&ks.as_str()))
            .map(|f| f.get(2).copied().unwrap_or(""))
            .collect();
        let names: Vec<&str> = c
            .files
            .iter()
            .map(|&i| spec.files[i].path.as_str())
            .collect();
        let what = validator_name(&c.validator);
        if rc.as_deref() != Some("0") {
            let why = format!(
                "the new {} failed `{what}`: {}",
                names.join(", "),
                last_lines(&out)
            );
            r.step("validate", false, t0, &why);
            return Err(why);
        }
        if let Validator::SshdConfig { expect, .. } = &c.validator {
            let missing = remote::missing_expectations(&out.join("\n"), expect);
            if !missing.is_empty() {
                let m: Vec<String> = missing.iter().map(|(k, v)| format!("{k} {v}")).collect();
                let why = format!(
                    "with the new {}, `sshd -T` does not show the intended {} (something else overrides it)",
                    names.join(", "),
                    m.join(", ")
                );
                r.step("validate", false, t0, &why);
                return Err(why);
            }
        }
    }
    r.step(
        "validate",
        true,
        t0,
        format!("{} check(s) passed", checks.len()),
    );
    Ok(())
}

fn validator_name(v: &Validator) -> &'static str {
    match v {
        Validator::SshdConfig { .. } => "sshd -t",
        Validator::Nft => "nft -c -f",
        Validator::Haproxy => "haproxy -c -f",
        Validator::IptablesRestore { .. } => "iptables-restore --test",
        Validator::None => "none",
    }
}

/// Verifies the direct path (and load-balancer frontends a fix changed).
async fn verify_host(
    r: &HostRun<'_>,
    w: &HostWork,
    pinned: Option<&std::path::Path>,
) -> Result<String, String> {
    let h = r.settings;
    if h.connection == Connection::Local {
        return Ok("local host (no SSH path to verify)".into());
    }
    verify::identification(&h.name, &h.address, h.ssh_port()).await?;
    let cfg = r
        .shared
        .reacher
        .ssh_config_for(h, PathKind::Direct)
        .map_err(|e| e.to_string())?;
    verify::ssh_runs(&cfg, h, pinned).await?;
    let mut what = format!("{}: identification and a command", direct_name(h));
    for c in &w.changes {
        if c.validator == Validator::Haproxy {
            let text = String::from_utf8_lossy(&c.after);
            for port in verify::lb_ports(&text) {
                verify::identification(&h.name, &h.address, port)
                    .await
                    .map_err(|e| format!("through the load balancer: {e}"))?;
                what.push_str(&format!(
                    "; load balancer {}:{port}: identification",
                    h.address
                ));
            }
        }
    }
    if pinned.is_some() {
        what.push_str(" (against the new host keys)");
    }
    Ok(what)
}

/// Reverts now (the controller decides), then checks the host is back as it
/// was. Returns the sentence for the reason.
async fn revert(
    r: &mut HostRun<'_>,
    t: &dyn Transport,
    spec: &HostSpec,
    before: &ProbeResult,
) -> String {
    r.timer_fires = None;
    let t0 = Instant::now();
    let script = match remote::run_restore(spec, "now") {
        Ok(s) => s,
        Err(e) => {
            return format!(
                "reverting could not be scripted ({e}); the dead-man timer restores the host"
            )
        }
    };
    let reply = match r.run(t, &script, b"", STEP_TIMEOUT * 2).await {
        Ok(x) => x,
        Err(e) => {
            let why = format!(
                "reverting over the working path failed ({e}); the restore on the host goes on by itself if it started (its output: {}/restored), otherwise the dead-man timer restores the host within {} s — check before using the host",
                spec.backup_dir(),
                r.shared.options.confirm_timeout
            );
            r.step("revert", false, t0, &why);
            r.out.reverted = Some(false);
            return why;
        }
    };
    let (mut problems, notes) = judge_restore(spec, &reply);
    // answering where it answered before?
    if before.symptom == Symptom::Ok && r.settings.connection != Connection::Local {
        let after =
            verify::identification(&r.settings.name, &r.settings.address, r.settings.ssh_port())
                .await;
        if let Err(e) = after {
            problems.push(format!(
                "sshd answered before the run but not after the revert: {e}"
            ));
        }
    }
    if problems.is_empty() {
        let note = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        r.step(
            "revert",
            true,
            t0,
            format!("files restored and verified by hash{note}"),
        );
        r.out.reverted = Some(true);
        format!("the host was put back as it was (files verified by hash){note}")
    } else {
        let why = format!("REVERT INCOMPLETE: {}", problems.join("; "));
        r.step("revert", false, t0, &why);
        r.out.reverted = Some(false);
        why
    }
}

/// Reads what `restore.sh` printed: every file back by hash (or removed),
/// every attribute and undo done, every touched service ending as it was
/// before the run, and the closing `done` line. Returns the problems, and
/// notes (a reload that failed while the service still ended as before).
pub(crate) fn judge_restore(spec: &HostSpec, reply: &str) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    if let Some(d) = remote::tagged(reply, "decided").first() {
        if d.get(1) != Some(&"timer") {
            problems.push(format!(
                "the run was already decided `{}` on the host, so nothing was restored",
                d.get(1).unwrap_or(&"?")
            ));
        }
    }
    if !reply.lines().any(|l| l.starts_with("done\t")) {
        problems.push(format!(
            "the restore did not finish (no `done` line; see {}/restored and restore.log on the host)",
            spec.backup_dir()
        ));
    }
    for (i, f) in spec.files.iter().enumerate() {
        let is = i.to_string();
        let restored = remote::tagged(reply, "restored")
            .into_iter()
            .find(|x| x.get(1) == Some(&is.as_str()))
            .and_then(|x| x.get(2).map(|s| s.to_string()));
        let removed = remote::tagged(reply, "removed")
            .iter()
            .any(|x| x.get(1) == Some(&is.as_str()));
        let kept = remote::tagged(reply, "kept")
            .into_iter()
            .find(|x| x.get(1) == Some(&is.as_str()))
            .and_then(|x| x.get(2).map(|s| s.to_string()));
        if let Some(sha) = kept {
            // neither the original nor the run's version: someone else
            // changed it during the run, and their version stays
            notes.push(format!(
                "{} was changed by someone else during the run (sha256 {sha}) and was left as they made it; the original is in {}/files/{i}",
                f.path,
                spec.backup_dir()
            ));
            continue;
        }
        let ok = match &f.before_sha256 {
            Some(b) => restored.as_deref() == Some(b.as_str()),
            None => removed,
        };
        if !ok {
            problems.push(format!(
                "{} was not restored (backup {}/files/{i})",
                f.path,
                spec.backup_dir()
            ));
        }
    }
    for f in remote::tagged(reply, "attr") {
        if f.get(2) != Some(&"0") {
            let what = f
                .get(1)
                .and_then(|k| k.parse::<usize>().ok())
                .and_then(|k| spec.steps.get(k))
                .map(describe_step)
                .unwrap_or_default();
            problems.push(format!("putting back the attributes ({what}) failed"));
        }
    }
    for f in remote::tagged(reply, "undo") {
        if f.get(2) != Some(&"0") {
            problems.push(format!(
                "undoing `{}` failed",
                f.get(1)
                    .and_then(|k| k.parse::<usize>().ok())
                    .and_then(|k| spec.steps.get(k))
                    .map(describe_step)
                    .unwrap_or_default()
            ));
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for sv in &spec.services {
        if seen.contains(&sv.name.as_str()) {
            continue;
        }
        seen.push(&sv.name);
        let name = sv.name.as_str();
        let svc = remote::tagged(reply, "svc")
            .into_iter()
            .find(|x| x.get(1) == Some(&name));
        let state = remote::tagged(reply, "state")
            .into_iter()
            .find(|x| x.get(1) == Some(&name))
            .and_then(|x| x.get(2).map(|s| *s == "running"));
        let action_failed = svc.as_ref().is_none_or(|f| f.get(3) != Some(&"0"));
        match (state, sv.was_running) {
            (Some(now), Some(was)) if now != was => problems.push(format!(
                "{name} was {} before the run but is {} after the restore",
                if was { "running" } else { "stopped" },
                if now { "running" } else { "stopped" }
            )),
            (Some(now), Some(_)) if action_failed => notes.push(format!(
                "{} {name} failed while restoring, but {name} is {} as before",
                svc.as_ref()
                    .and_then(|f| f.get(2))
                    .unwrap_or(&"the action on"),
                if now { "running" } else { "stopped" }
            )),
            (None, _) | (_, None) if action_failed => problems.push(format!(
                "{name}: its state after the restore is unknown (the action failed or did not run)"
            )),
            _ => {}
        }
    }
    (problems, notes)
}

/// Releases the lock after a refusal (and removes the backup directory and
/// staged files when nothing was changed).
async fn release(r: &mut HostRun<'_>, t: &dyn Transport, spec: &HostSpec, remove_backup: bool) {
    if let Ok(s) = remote::release(spec, remove_backup) {
        if let Err(e) = r.run(t, &s, b"", STEP_TIMEOUT).await {
            let t0 = Instant::now();
            r.step(
                "release",
                false,
                t0,
                format!("releasing the lock failed: {e}"),
            );
        }
    }
}

/// Fills `spec` from the prepare reply; `Err` when the host no longer
/// matches the plan (stale) or a file cannot be handled.
fn read_prepare(spec: &mut HostSpec, reply: &str) -> Result<(), String> {
    for f in remote::tagged(reply, "file") {
        let i: usize = f
            .get(1)
            .and_then(|x| x.parse().ok())
            .ok_or("bad prepare reply")?;
        let Some(sf) = spec.files.get_mut(i) else {
            return Err("bad prepare reply".into());
        };
        let state = f.get(2).copied().unwrap_or("");
        match (state, &sf.before_sha256) {
            ("missing", None) => {}
            ("missing", Some(_)) => {
                return Err(format!("stale plan: {} no longer exists on the host (the plan was made for its earlier content); make a new plan", sf.path))
            }
            ("symlink", _) => {
                return Err(format!("{} is a symbolic link: sshfix replaces regular files only (edit the file it points to)", sf.path))
            }
            ("not-a-file", _) => return Err(format!("{} is not a regular file", sf.path)),
            (_, None) => {
                return Err(format!("stale plan: {} exists now but did not when the plan was made; make a new plan", sf.path))
            }
            (sha, Some(want)) if sha != want => {
                return Err(format!(
                    "stale plan: {} changed since the plan was made (sha256 {}…, the plan expects {}…); make a new plan with `sshfix plan`",
                    sf.path,
                    &sha.get(..12).unwrap_or(sha),
                    &want.get(..12).unwrap_or(want)
                ))
            }
            _ => sf.attrs = remote::parse_attrs(&f[3..]),
        }
    }
    if remote::tagged(reply, "file").len() != spec.files.len() {
        return Err("the prepare reply does not cover every file".into());
    }
    for f in remote::tagged(reply, "attr") {
        let k: usize = f.get(1).and_then(|x| x.parse().ok()).unwrap_or(usize::MAX);
        if let Some(SpecStep::File { was, .. }) = spec.steps.get_mut(k) {
            *was = if f.get(2) == Some(&"missing") {
                None
            } else {
                remote::parse_attrs(&f[2..])
            };
        }
    }
    for f in remote::tagged(reply, "svc") {
        let running = f.get(2) == Some(&"running");
        for s in spec
            .services
            .iter_mut()
            .filter(|s| Some(&s.name.as_str()) == f.get(1))
        {
            s.was_running = Some(running);
        }
    }
    Ok(())
}

/// Whether a saved plan was already carried out on this host: every file
/// has its new content, there is no command or attribute step (those cannot
/// be checked from here), and every service the plan touches runs.
fn already_applied(spec: &HostSpec, reply: &str) -> bool {
    if spec.files.is_empty() || !spec.steps.is_empty() {
        return false;
    }
    let files = remote::tagged(reply, "file");
    let all_new = files.len() == spec.files.len()
        && files.iter().all(|f| {
            f.get(1)
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| spec.files.get(i))
                .is_some_and(|sf| f.get(2) == Some(&sf.after_sha256.as_str()))
        });
    let services_up = spec.services.iter().all(|s| {
        remote::tagged(reply, "svc")
            .iter()
            .any(|f| f.get(1) == Some(&s.name.as_str()) && f.get(2) == Some(&"running"))
    });
    all_new && services_up
}

/// `(path, sha, text)` of the host keys in a reply.
fn keys(reply: &str) -> Vec<(String, String, String)> {
    let mut k: Vec<_> = remote::tagged(reply, "key")
        .into_iter()
        .map(|f| {
            (
                f.get(1).unwrap_or(&"").to_string(),
                f.get(2).unwrap_or(&"").to_string(),
                f.get(3).unwrap_or(&"").to_string(),
            )
        })
        .collect();
    k.sort();
    k
}

fn describe_step(s: &SpecStep) -> String {
    match s {
        SpecStep::Command { command, .. } => command.clone(),
        SpecStep::File { path, .. } => format!("set attributes of {path}"),
    }
}

/// The last lines of some output, for a reason.
fn last_lines(lines: &[&str]) -> String {
    let l: Vec<&str> = lines
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    let start = l.len().saturating_sub(3);
    if l.is_empty() {
        "no message".into()
    } else {
        l[start..].join(" / ")
    }
}

/// A host's epoch seconds as UTC time (`2026-11-24 10:02:00 UTC`).
fn epoch_text(v: Option<&&str>) -> String {
    let Some(s) = v else { return "?".into() };
    match s
        .parse::<i64>()
        .ok()
        .and_then(|n| time::OffsetDateTime::from_unix_timestamp(n).ok())
    {
        Some(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        None => (*s).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{Action, Op};
    use crate::inventory::vars::Connection;
    use crate::transport::{ErrorKind, Output, TransportError};
    use async_trait::async_trait;

    /// A transport whose first script (the prepare script, which takes the
    /// lock) sees the state directory as a `sshfix runs` started at that
    /// moment would, then dies with the controller (SIGKILL).
    struct KilledAtLock {
        state: PathBuf,
        seen: Mutex<Option<Vec<journal::Summary>>>,
    }

    #[async_trait]
    impl Transport for KilledAtLock {
        fn host(&self) -> &str {
            "web1"
        }
        fn via(&self) -> PathKind {
            PathKind::Direct
        }
        fn kind(&self) -> &'static str {
            "test"
        }
        async fn run(&self, _: &str, _: &[u8], _: Duration) -> Result<Output, TransportError> {
            let runs = journal::list(&self.state).unwrap();
            *self.seen.lock().unwrap() = Some(runs);
            Err(self.error(ErrorKind::Connect, "killed".into()))
        }
        async fn close(self: Box<Self>) -> Result<(), TransportError> {
            Ok(())
        }
    }

    fn settings() -> HostSettings {
        HostSettings {
            name: "web1".into(),
            address: "192.0.2.1".into(),
            port: None,
            user: None,
            identity_file: None,
            common_args: Vec::new(),
            connection: Connection::Ssh,
            become_: None,
            jump: Vec::new(),
            console: None,
            allow_from: Vec::new(),
            paths: vec![PathKind::Direct],
            command_timeout: None,
        }
    }

    /// Regression: a run killed while it held a host's lock (before the
    /// backup) had journaled no host, so `sshfix runs` showed it with
    /// `0` hosts. The host is journaled, unfinished, before the lock is
    /// taken, and counts as `unfinished` until it ends.
    #[tokio::test]
    async fn a_host_being_locked_is_journaled_as_unfinished() {
        let tmp = tempfile::tempdir().unwrap();
        let state = tmp.path().to_path_buf();
        let run = Run::create(&state, "20261124T080000Z-aaaaaa").unwrap();
        let j = Journal {
            version: journal::VERSION,
            run_id: run.id.clone(),
            command: "apply".into(),
            created: "2026-11-24T08:00:00Z".into(),
            finished: None,
            confirm_timeout: Some(120),
            of_run: None,
            hosts: Vec::new(),
        };
        run.write_journal(&j).unwrap();
        let shared = Shared {
            reacher: Arc::new(Reacher::new(Default::default()).unwrap()),
            run,
            journal: Mutex::new(j),
            options: Options {
                confirm_timeout: 120,
                update_known_hosts: false,
                forks: 1,
                lock_wait: 0,
                pause: None,
            },
            progress: Progress::Quiet,
        };
        let h = settings();
        let start = Op::Start {
            target: "sshd".into(),
        };
        let w = HostWork {
            host: "web1".into(),
            reached_via: Some("direct".into()),
            error: None,
            symptom: "refused".into(),
            findings: vec!["sshd-not-running".into()],
            changes: Vec::new(),
            actions: vec![Action::new(start.clone(), "sshd-not-running", "start")],
        };
        let mut r = HostRun::new(&shared, &h);
        r.spec = Some(remote::spec(&shared.run.id, &[], &[start]).unwrap());
        let before = ProbeResult {
            host: "web1".into(),
            address: "192.0.2.1".into(),
            port: 22,
            symptom: Symptom::Refused,
            detail: "Connection refused".into(),
            evidence: None,
            banner: None,
            peer: None,
            timings: Default::default(),
        };
        let t = KilledAtLock {
            state: state.clone(),
            seen: Mutex::new(None),
        };
        let err = protocol(&mut r, &t, &w, &before).await.unwrap_err();
        let seen = t.seen.lock().unwrap().take().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].finished, None);
        assert_eq!(seen[0].hosts, 1, "{seen:?}");
        assert_eq!(seen[0].counts, vec![("unfinished".to_string(), 1)]);
        let entry = shared.run.read_journal().unwrap().hosts.remove(0);
        assert!(entry.unfinished);
        let why = entry.outcome.reason.unwrap();
        assert!(
            why.contains(remote::LOCK_DIR) && why.contains("nothing was changed"),
            "{why}"
        );
        // once the host ends, it counts by its result
        r.finish(err.0, Some(err.1));
        let now = journal::list(&state).unwrap();
        assert_eq!(now[0].hosts, 1);
        assert_eq!(now[0].counts, vec![("refused".to_string(), 1)]);
        assert!(!shared.run.read_journal().unwrap().hosts[0].unfinished);
    }
}
