//! The run journal and local backups in the state directory: where it is,
//! one directory per run (`STATE/runs/RUN_ID/`) holding the plan that was
//! applied (`plan.json`), the journal of what happened on each host
//! (`journal.json`, rewritten atomically after every step) and a copy of
//! every file the run replaced (`backups/HOST/N`). Everything is private to
//! the user (directories 0700, files 0600): backups hold server
//! configuration.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::outcome::HostOutcome;

/// The journal schema version.
pub const VERSION: u32 = 1;

/// The journal's file name in a run directory.
const JOURNAL: &str = "journal.json";
/// The applied plan's file name in a run directory.
const PLAN: &str = "plan.json";
/// How many run ids an unknown-run error lists.
const LIST_LATEST: usize = 5;

/// What went wrong in the state directory; each names the path and what to do.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file system operation failed.
    #[error("cannot {op} `{}`: {source}{}", path.display(), hint.as_deref().map(|h| format!("\nhint: {h}")).unwrap_or_default())]
    Io {
        /// What was being done (`create the state directory`).
        op: String,
        path: PathBuf,
        source: std::io::Error,
        hint: Option<String>,
    },
    /// Something in the state directory is not as it must be.
    #[error("{message}")]
    Invalid { path: PathBuf, message: String },
    /// `rollback` without `--run`, and no run recorded.
    #[error("no runs recorded in `{}`; nothing to roll back", dir.display())]
    NoRuns { dir: PathBuf },
    /// `--run ID` names no recorded run.
    #[error("no run `{id}` in `{}`; {}", dir.display(), if latest.is_empty() { "no runs are recorded there".to_string() } else { format!("the latest are: {} (`sshfix runs` lists all)", latest.join(", ")) })]
    UnknownRun {
        id: String,
        dir: PathBuf,
        /// The latest ids, newest first (at most five).
        latest: Vec<String>,
    },
}

fn io(
    op: impl Into<String>,
    path: &Path,
    hint: Option<&str>,
) -> impl FnOnce(std::io::Error) -> JournalError {
    let op = op.into();
    let path = path.to_path_buf();
    let hint = hint.map(str::to_string);
    move |source| JournalError::Io {
        op,
        path,
        source,
        hint,
    }
}

const HINT_STATE_DIR: &str = "choose a directory you own with `--state-dir DIR`";

/// The state directory: `explicit` (`--state-dir`), else
/// `$XDG_STATE_HOME/sshfix`, else `$HOME/.local/state/sshfix`; created
/// when missing, mode 0700.
pub fn state_dir(explicit: Option<&Path>) -> Result<PathBuf, JournalError> {
    state_dir_with(explicit, |key| std::env::var_os(key))
}

/// [`state_dir`] with the environment given by `env` (for tests).
pub fn state_dir_with(
    explicit: Option<&Path>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<PathBuf, JournalError> {
    // XDG: an empty or relative $XDG_STATE_HOME is ignored
    let absolute = |key: &str| env(key).map(PathBuf::from).filter(|p| p.is_absolute());
    let dir = match explicit {
        Some(d) => d.to_path_buf(),
        None => match (absolute("XDG_STATE_HOME"), absolute("HOME")) {
            (Some(x), _) => x.join("sshfix"),
            (None, Some(home)) => home.join(".local/state/sshfix"),
            (None, None) => {
                return Err(JournalError::Invalid {
                    path: PathBuf::new(),
                    message: format!(
                        "no state directory: neither `XDG_STATE_HOME` nor `HOME` is set to an absolute path\nhint: {HINT_STATE_DIR}"
                    ),
                })
            }
        },
    };
    private_dir(&dir, "create the state directory")?;
    Ok(dir)
}

/// Makes `dir` (and its parents) exist, as a directory only its owner can
/// enter: created 0700; an existing one open to others is tightened, or
/// refused when it is not ours.
fn private_dir(dir: &Path, op: &str) -> Result<(), JournalError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(op, dir, Some(HINT_STATE_DIR)))?;
    let meta = fs::metadata(dir).map_err(io("read the attributes of", dir, None))?;
    if !meta.is_dir() {
        return Err(JournalError::Invalid {
            path: dir.to_path_buf(),
            message: format!(
                "`{}` is not a directory\nhint: {HINT_STATE_DIR}",
                dir.display()
            ),
        });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        let me = nix::unistd::geteuid().as_raw();
        if meta.uid() != me {
            return Err(JournalError::Invalid {
                path: dir.to_path_buf(),
                message: format!(
                    "`{}` belongs to uid {} and others can read it (mode {mode:04o}); run journals and backups of server files must be private\nhint: {HINT_STATE_DIR}",
                    dir.display(),
                    meta.uid()
                ),
            });
        }
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(
            "make private (mode 0700)",
            dir,
            Some(HINT_STATE_DIR),
        ))?;
    }
    Ok(())
}

/// A new run id for a run started at `now`: `20261124T080000Z-a1b2c3` (UTC,
/// then 6 random hex digits). Ids of runs started in different seconds sort
/// by time.
pub fn new_run_id(now: time::OffsetDateTime) -> String {
    let t = now.to_offset(time::UtcOffset::UTC);
    let mut random = [0u8; 3];
    crate::transport::command::fill_random(&mut random);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z-{}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        hex::encode(random)
    )
}

/// Whether `id` can name a run directory: ASCII letters, digits, `-`, `_`,
/// `.`, not starting with `.`.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// One run's directory, `STATE/runs/ID/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: String,
    pub dir: PathBuf,
}

fn runs_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("runs")
}

/// The ids of the recorded runs, oldest first; none when there is no runs
/// directory.
fn run_ids(state_dir: &Path) -> Result<Vec<String>, JournalError> {
    let dir = runs_dir(state_dir);
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("list the runs in", &dir, None)(e)),
    };
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io("list the runs in", &dir, None))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if valid_id(&name) && entry.file_type().is_ok_and(|t| t.is_dir()) {
            ids.push(name);
        }
    }
    ids.sort();
    Ok(ids)
}

impl Run {
    /// Makes the directory of a new run; refuses an id already recorded.
    pub fn create(state_dir: &Path, id: &str) -> Result<Run, JournalError> {
        if !valid_id(id) {
            return Err(JournalError::Invalid {
                path: runs_dir(state_dir),
                message: format!("`{id}` cannot name a run (letters, digits, `-`, `_`, `.` only)"),
            });
        }
        let runs = runs_dir(state_dir);
        private_dir(&runs, "create the runs directory")?;
        let dir = runs.join(id);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| {
                let hint = (e.kind() == std::io::ErrorKind::AlreadyExists).then_some(
                    "a run with this id is recorded already; start the run again for a new id",
                );
                io("create the run directory", &dir, hint)(e)
            })?;
        Ok(Run {
            id: id.to_string(),
            dir,
        })
    }

    /// The run `id`, or the latest run (the greatest id) when `None`.
    pub fn open(state_dir: &Path, id: Option<&str>) -> Result<Run, JournalError> {
        let ids = run_ids(state_dir)?;
        let runs = runs_dir(state_dir);
        let id = match id {
            Some(id) if valid_id(id) && ids.iter().any(|have| have == id) => id.to_string(),
            Some(id) => {
                return Err(JournalError::UnknownRun {
                    id: id.to_string(),
                    dir: runs,
                    latest: ids.iter().rev().take(LIST_LATEST).cloned().collect(),
                })
            }
            None => match ids.last() {
                Some(id) => id.clone(),
                None => return Err(JournalError::NoRuns { dir: runs }),
            },
        };
        Ok(Run {
            dir: runs.join(&id),
            id,
        })
    }

    /// Saves the plan the run carries out as `plan.json`.
    pub fn save_plan(&self, plan: &serde_json::Value) -> Result<(), JournalError> {
        let mut bytes = serde_json::to_vec_pretty(plan).map_err(|e| JournalError::Invalid {
            path: self.dir.join(PLAN),
            message: format!("cannot serialise the plan: {e}"),
        })?;
        bytes.push(b'\n');
        write_atomic(&self.dir, &self.dir.join(PLAN), &bytes)
    }

    /// Keeps a copy of file number `index` of `host` as it was before the
    /// run; returns its path relative to the run directory
    /// (`backups/HOST/N`, the host name encoded by [`encode_host`]).
    pub fn save_backup(
        &self,
        host: &str,
        index: usize,
        bytes: &[u8],
    ) -> Result<String, JournalError> {
        let rel = format!("backups/{}/{index}", encode_host(host));
        let path = self.dir.join(&rel);
        let parent = path.parent().unwrap_or(&self.dir).to_path_buf();
        private_dir(&parent, "create the backup directory")?;
        write_atomic(&parent, &path, bytes)?;
        Ok(rel)
    }

    /// Reads a backup by the path [`Run::save_backup`] returned; refuses a
    /// path that leads out of the run directory.
    pub fn read_backup(&self, rel: &str) -> Result<Vec<u8>, JournalError> {
        let p = Path::new(rel);
        let inside = !rel.is_empty()
            && !rel.contains('\0')
            && p.components().all(|c| matches!(c, Component::Normal(_)));
        let outside = || {
            JournalError::Invalid {
            path: self.dir.join(rel),
            message: format!(
                "the journal names the backup `{rel}`, which is not inside the run directory `{}`; the journal was edited by hand — restore the file from the host's backup directory instead",
                self.dir.display()
            ),
        }
        };
        if !inside {
            return Err(outside());
        }
        let path = self.dir.join(p);
        // a symlink in the run directory must not lead out of it either
        let real = fs::canonicalize(&path).map_err(io("read the backup", &path, None))?;
        let base =
            fs::canonicalize(&self.dir).map_err(io("read the run directory", &self.dir, None))?;
        if !real.starts_with(&base) {
            return Err(outside());
        }
        fs::read(&real).map_err(io("read the backup", &path, None))
    }

    /// Writes the journal atomically (a temporary file in the run directory,
    /// flushed to disk, renamed over `journal.json`; mode 0600). Safe to
    /// call after every step; callers on several tasks serialise the calls.
    pub fn write_journal(&self, journal: &Journal) -> Result<(), JournalError> {
        let path = self.dir.join(JOURNAL);
        let mut bytes = serde_json::to_vec_pretty(journal).map_err(|e| JournalError::Invalid {
            path: path.clone(),
            message: format!("cannot serialise the journal: {e}"),
        })?;
        bytes.push(b'\n');
        write_atomic(&self.dir, &path, &bytes)
    }

    /// Reads the run's journal; refuses a journal of another version.
    pub fn read_journal(&self) -> Result<Journal, JournalError> {
        let path = self.dir.join(JOURNAL);
        let bytes = fs::read(&path).map_err(|e| {
            let hint = (e.kind() == std::io::ErrorKind::NotFound)
                .then_some("the run stopped before it recorded anything; nothing of it can be rolled back from here");
            io("read the journal", &path, hint)(e)
        })?;
        let broken = |what: String| JournalError::Invalid {
            path: path.clone(),
            message: format!(
                "the journal `{}` is damaged: {what}; roll back by hand from the backups in `{}`",
                path.display(),
                self.dir.join("backups").display()
            ),
        };
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| broken(format!("not JSON ({e})")))?;
        match v.get("version") {
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(u64::from(VERSION)) => {}
            other => {
                let found = other.map_or("none".to_string(), |v| v.to_string());
                return Err(JournalError::Invalid {
                    path: path.clone(),
                    message: format!(
                        "the journal `{}` has version {found}; this sshfix reads version {VERSION} only — use the sshfix that made the run",
                        path.display()
                    ),
                });
            }
        }
        serde_json::from_value(v).map_err(|e| broken(e.to_string()))
    }
}

/// `bytes` into `path` as a whole or not at all: a temporary file (mode
/// 0600) in `dir`, flushed to disk, renamed over `path`, then the directory
/// flushed so the rename survives a crash.
fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), JournalError> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(io("create a temporary file in", dir, None))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io("write", tmp.path(), None))?;
    tmp.persist(path)
        .map_err(|e| io("replace", path, None)(e.error))?;
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("flush the directory", dir, None))?;
    Ok(())
}

/// A host name as one path component: ASCII letters, digits, `-`, `_` and
/// (not first) `.` stay; every other byte becomes `%XX`. No encoded name is
/// `.`, `..` or contains `/` or NUL, and distinct names stay distinct. The
/// empty name is `%`; a name whose encoding is longer than 200 bytes is cut
/// to 100 and gets `~` and the sha256 of the whole name.
pub fn encode_host(host: &str) -> String {
    if host.is_empty() {
        return "%".to_string();
    }
    let mut out = String::new();
    for (i, b) in host.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.len() > 200 {
        out.truncate(100);
        out.push('~');
        out.push_str(&crate::change::sha256_hex(host.as_bytes()));
    }
    out
}

/// The journal of one run (`journal.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    /// Always [`VERSION`].
    pub version: u32,
    pub run_id: String,
    /// `apply` or `rollback`.
    pub command: String,
    /// When the run started (RFC 3339, UTC).
    pub created: String,
    /// When it ended; `None` while running (or when it was killed).
    pub finished: Option<String>,
    /// apply: the dead-man timer, seconds.
    pub confirm_timeout: Option<u64>,
    /// rollback: the run it undid.
    pub of_run: Option<String>,
    pub hosts: Vec<HostJournal>,
}

/// One host in the journal: its outcome, and what apply needs to rebuild
/// its restore script (opaque here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostJournal {
    #[serde(flatten)]
    pub outcome: HostOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<serde_json::Value>,
    /// The run started on this host (it was about to take or held the
    /// host's lock) and had not finished it when this entry was written;
    /// the outcome is what holds if the run dies here.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unfinished: bool,
}

/// One run as `sshfix runs` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub run_id: String,
    /// `apply`, `rollback`; empty when the journal cannot be read.
    pub command: String,
    pub created: String,
    pub finished: Option<String>,
    /// rollback: the run it undid.
    pub of_run: Option<String>,
    pub hosts: usize,
    /// Hosts per result (`repaired`, `failed`, …), in [`HostStatus`] order,
    /// then `unfinished` (hosts the run started and did not finish, whatever
    /// their entry says would hold); only results that occur.
    ///
    /// [`HostStatus`]: super::outcome::HostStatus
    pub counts: Vec<(String, usize)>,
    /// Why the journal could not be read.
    pub error: Option<String>,
}

impl Summary {
    fn of(journal: &Journal) -> Summary {
        use super::outcome::HostStatus as S;
        let counts = [
            S::Repaired,
            S::Restored,
            S::Unchanged,
            S::Failed,
            S::Refused,
            S::Unreachable,
        ]
        .into_iter()
        .filter_map(|status| {
            let n = journal
                .hosts
                .iter()
                .filter(|h| !h.unfinished && h.outcome.result == status)
                .count();
            (n > 0).then(|| (status.as_str().to_string(), n))
        })
        .chain({
            let n = journal.hosts.iter().filter(|h| h.unfinished).count();
            (n > 0).then(|| ("unfinished".to_string(), n))
        })
        .collect();
        Summary {
            run_id: journal.run_id.clone(),
            command: journal.command.clone(),
            created: journal.created.clone(),
            finished: journal.finished.clone(),
            of_run: journal.of_run.clone(),
            hosts: journal.hosts.len(),
            counts,
            error: None,
        }
    }

    fn broken(id: &str, error: String) -> Summary {
        Summary {
            run_id: id.to_string(),
            command: String::new(),
            created: String::new(),
            finished: None,
            of_run: None,
            hosts: 0,
            counts: Vec::new(),
            error: Some(error),
        }
    }
}

/// The recorded runs, oldest first; a run whose journal cannot be read is
/// listed with its error. No runs directory: an empty list.
pub fn list(state_dir: &Path) -> Result<Vec<Summary>, JournalError> {
    Ok(run_ids(state_dir)?
        .into_iter()
        .map(|id| {
            let run = Run {
                dir: runs_dir(state_dir).join(&id),
                id: id.clone(),
            };
            match run.read_journal() {
                Ok(j) => Summary::of(&j),
                Err(e) => Summary::broken(&id, e.to_string()),
            }
        })
        .collect())
}

/// The run `sshfix rollback` undoes: `id`, or the latest `apply` run whose
/// journal can be read (a rollback run is never the default target).
pub fn latest_apply(state_dir: &Path, id: Option<&str>) -> Result<Run, JournalError> {
    if id.is_some() {
        return Run::open(state_dir, id);
    }
    let latest = list(state_dir)?
        .into_iter()
        .rev()
        .find(|s| s.error.is_none() && s.command == "apply");
    match latest {
        Some(s) => Run::open(state_dir, Some(&s.run_id)),
        None => Err(JournalError::NoRuns {
            dir: runs_dir(state_dir),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::outcome::{FileRecord, HostStatus, Step};
    use pretty_assertions::assert_eq;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    fn journal(id: &str, results: &[HostStatus]) -> Journal {
        Journal {
            version: VERSION,
            run_id: id.into(),
            command: "apply".into(),
            created: "2026-11-24T08:00:00Z".into(),
            finished: Some("2026-11-24T08:01:00Z".into()),
            confirm_timeout: Some(120),
            of_run: None,
            hosts: results
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let mut o = HostOutcome::new(&format!("h{i}"));
                    o.result = *r;
                    HostJournal {
                        outcome: o,
                        restore: None,
                        unfinished: false,
                    }
                })
                .collect(),
        }
    }

    #[test]
    fn state_dir_is_explicit_then_xdg_then_home_and_private() {
        let tmp = tempfile::tempdir().unwrap();
        let explicit = tmp.path().join("a/b/state");
        assert_eq!(state_dir_with(Some(&explicit), no_env).unwrap(), explicit);
        assert_eq!(mode(&explicit), 0o700);

        let xdg = tmp.path().join("xdg");
        let home = tmp.path().join("home");
        let env = |k: &str| match k {
            "XDG_STATE_HOME" => Some(xdg.clone().into_os_string()),
            "HOME" => Some(home.clone().into_os_string()),
            _ => None,
        };
        assert_eq!(state_dir_with(None, env).unwrap(), xdg.join("sshfix"));
        assert_eq!(mode(&xdg.join("sshfix")), 0o700);

        // an empty or relative XDG_STATE_HOME is ignored (XDG base dir spec)
        for bad in ["", "relative/state"] {
            let env = |k: &str| match k {
                "XDG_STATE_HOME" => Some(OsString::from(bad)),
                "HOME" => Some(home.clone().into_os_string()),
                _ => None,
            };
            assert_eq!(
                state_dir_with(None, env).unwrap(),
                home.join(".local/state/sshfix")
            );
        }
        assert_eq!(mode(&home.join(".local/state/sshfix")), 0o700);

        let e = state_dir_with(None, no_env).unwrap_err().to_string();
        assert!(e.contains("neither `XDG_STATE_HOME` nor `HOME`"), "{e}");
        assert!(e.contains("--state-dir DIR"), "{e}");
    }

    #[test]
    fn an_open_state_dir_is_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        state_dir_with(Some(&dir), no_env).unwrap();
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn a_state_dir_that_is_a_file_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("state");
        fs::write(&file, "x").unwrap();
        let e = state_dir_with(Some(&file), no_env).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "cannot create the state directory `{}`",
                file.display()
            )),
            "{e}"
        );
    }

    #[test]
    fn run_ids_are_utc_with_random_suffix_and_sort_by_time() {
        let t = time::OffsetDateTime::from_unix_timestamp(1_795_500_000)
            .unwrap()
            .to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap());
        let id = new_run_id(t);
        let re = regex::Regex::new(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$").unwrap();
        assert!(re.is_match(&id), "{id}");
        let utc = t.to_offset(time::UtcOffset::UTC);
        assert!(id.starts_with(&format!(
            "{:04}{:02}{:02}T{:02}",
            utc.year(),
            u8::from(utc.month()),
            utc.day(),
            utc.hour()
        )));
        let later = new_run_id(t + time::Duration::seconds(1));
        assert!(later > id);
        // the suffix is random: 20 ids of one second are not all the same
        let ids: std::collections::HashSet<String> = (0..20).map(|_| new_run_id(t)).collect();
        assert!(ids.len() > 1);
    }

    #[test]
    fn runs_are_created_private_once_and_the_latest_is_opened() {
        let tmp = tempfile::tempdir().unwrap();
        let state = tmp.path();
        let e = Run::open(state, None).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "no runs recorded in `{}`; nothing to roll back",
                state.join("runs").display()
            )
        );
        let ids = [
            "20261124T080000Z-aaaaaa",
            "20261124T090000Z-000000",
            "20261123T230000Z-ffffff",
            "20261124T070000Z-111111",
            "20261124T060000Z-222222",
            "20261124T050000Z-333333",
        ];
        for id in ids {
            let run = Run::create(state, id).unwrap();
            assert_eq!(run.dir, state.join("runs").join(id));
            assert_eq!(mode(&run.dir), 0o700);
        }
        assert_eq!(mode(&state.join("runs")), 0o700);
        let e = Run::create(state, ids[0]).unwrap_err().to_string();
        assert!(e.contains("a run with this id is recorded already"), "{e}");
        assert!(Run::create(state, "../evil").is_err());

        assert_eq!(
            Run::open(state, None).unwrap().id,
            "20261124T090000Z-000000"
        );
        assert_eq!(Run::open(state, Some(ids[2])).unwrap().id, ids[2]);
        let e = Run::open(state, Some("20200101T000000Z-000000"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "no run `20200101T000000Z-000000` in `{}`; the latest are: 20261124T090000Z-000000, 20261124T080000Z-aaaaaa, 20261124T070000Z-111111, 20261124T060000Z-222222, 20261124T050000Z-333333 (`sshfix runs` lists all)",
                state.join("runs").display()
            )
        );
        // a path is not an id, even when it leads to a run
        assert!(matches!(
            Run::open(state, Some(&format!("../runs/{}", ids[0]))),
            Err(JournalError::UnknownRun { .. })
        ));
    }

    #[test]
    fn backups_are_private_and_host_names_cannot_escape() {
        let tmp = tempfile::tempdir().unwrap();
        let run = Run::create(tmp.path(), "r1").unwrap();
        let hosts = [
            "web1",
            "../x",
            "a/b",
            ".",
            "..",
            "",
            "a%2Fb",
            "a\0b",
            ".hidden",
            "h.example.org",
        ];
        let mut rels = Vec::new();
        for (i, h) in hosts.iter().enumerate() {
            let content = format!("backup of {h:?}");
            let rel = run.save_backup(h, 0, content.as_bytes()).unwrap();
            let comps: Vec<Component> = Path::new(&rel).components().collect();
            assert_eq!(comps.len(), 3, "{h:?} -> {rel}");
            assert!(
                comps.iter().all(|c| matches!(c, Component::Normal(_))),
                "{h:?} -> {rel}"
            );
            assert!(rel.starts_with("backups/") && rel.ends_with("/0"), "{rel}");
            let path = run.dir.join(&rel);
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
            assert_eq!(run.read_backup(&rel).unwrap(), content.as_bytes(), "{i}");
            rels.push(rel);
        }
        assert_eq!(mode(&run.dir.join("backups")), 0o700);
        assert_eq!(rels[0], "backups/web1/0");
        assert_eq!(rels[9], "backups/h.example.org/0");
        let distinct: std::collections::HashSet<&String> = rels.iter().collect();
        assert_eq!(distinct.len(), hosts.len(), "{rels:?}");
        // nothing was written outside the run's backups
        let mut top: Vec<String> = fs::read_dir(tmp.path().join("runs"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        top.sort();
        assert_eq!(top, ["r1"]);
        // long names stay distinct and short enough for a file name
        let long1 = "x".repeat(300);
        let long2 = format!("{}y", "x".repeat(299));
        assert_ne!(encode_host(&long1), encode_host(&long2));
        assert!(encode_host(&long1).len() < 255);
        // a second index of one host
        assert_eq!(run.save_backup("web1", 1, b"b").unwrap(), "backups/web1/1");
    }

    #[test]
    fn reading_a_backup_outside_the_run_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let run = Run::create(tmp.path(), "r1").unwrap();
        fs::write(tmp.path().join("secret"), "s").unwrap();
        for rel in [
            "../../secret",
            "/etc/passwd",
            "backups/../../../secret",
            "",
            "./x",
        ] {
            let e = run.read_backup(rel).unwrap_err().to_string();
            assert!(
                e.contains("which is not inside the run directory"),
                "{rel}: {e}"
            );
        }
        // nor through a symlink
        fs::create_dir(run.dir.join("backups")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("secret"), run.dir.join("backups/link"))
            .unwrap();
        let e = run.read_backup("backups/link").unwrap_err().to_string();
        assert!(e.contains("which is not inside the run directory"), "{e}");
        let e = run.read_backup("backups/missing").unwrap_err().to_string();
        assert!(e.starts_with("cannot read the backup `"), "{e}");
    }

    #[test]
    fn the_journal_round_trips_and_is_rewritten_atomically() {
        let tmp = tempfile::tempdir().unwrap();
        let run = Run::create(tmp.path(), "r1").unwrap();
        let mut j = journal("r1", &[HostStatus::Repaired]);
        let o = &mut j.hosts[0].outcome;
        o.reached_via = Some("jump".into());
        o.files.push(FileRecord {
            path: "/etc/hosts.allow".into(),
            before_sha256: Some("a".repeat(64)),
            after_sha256: "b".repeat(64),
            local_backup: Some("backups/h0/0".into()),
            remote_backup: Some("/var/backups/sshfix/r1/files/0".into()),
        });
        o.steps.push(Step {
            step: "lock".into(),
            ok: true,
            seconds: 0.25,
            detail: String::new(),
        });
        j.hosts[0].restore = Some(serde_json::json!({"script": "x"}));
        run.write_journal(&j).unwrap();
        assert_eq!(mode(&run.dir.join(JOURNAL)), 0o600);
        assert_eq!(run.read_journal().unwrap(), j);
        // the outcome is flat in the host entry
        let v: serde_json::Value =
            serde_json::from_slice(&fs::read(run.dir.join(JOURNAL)).unwrap()).unwrap();
        assert_eq!(v["hosts"][0]["host"], "h0");
        assert_eq!(v["hosts"][0]["result"], "repaired");
        assert_eq!(v["hosts"][0]["restore"]["script"], "x");

        for i in 0..50 {
            j.hosts[0].outcome.seconds = f64::from(i);
            run.write_journal(&j).unwrap();
        }
        assert_eq!(run.read_journal().unwrap(), j);
        // no temporary file is left behind
        let names: Vec<String> = fs::read_dir(&run.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [JOURNAL]);

        run.save_plan(&serde_json::json!({"version": 1})).unwrap();
        assert_eq!(mode(&run.dir.join(PLAN)), 0o600);
    }

    #[test]
    fn a_journal_of_another_version_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let run = Run::create(tmp.path(), "r1").unwrap();
        let mut v = serde_json::to_value(journal("r1", &[])).unwrap();
        v["version"] = serde_json::json!(2);
        fs::write(run.dir.join(JOURNAL), v.to_string()).unwrap();
        let e = run.read_journal().unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "the journal `{}` has version 2; this sshfix reads version 1 only — use the sshfix that made the run",
                run.dir.join(JOURNAL).display()
            )
        );
        v.as_object_mut().unwrap().remove("version");
        fs::write(run.dir.join(JOURNAL), v.to_string()).unwrap();
        assert!(run
            .read_journal()
            .unwrap_err()
            .to_string()
            .contains("has version none"));
    }

    #[test]
    fn list_summarises_runs_oldest_first_and_keeps_broken_ones() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(list(tmp.path()).unwrap(), []);
        let b = Run::create(tmp.path(), "20261124T090000Z-bbbbbb").unwrap();
        let mut jb = journal(
            &b.id,
            &[
                HostStatus::Failed,
                HostStatus::Repaired,
                HostStatus::Repaired,
            ],
        );
        jb.finished = None;
        b.write_journal(&jb).unwrap();
        let a = Run::create(tmp.path(), "20261124T080000Z-aaaaaa").unwrap();
        let mut ja = journal(&a.id, &[HostStatus::Restored]);
        ja.command = "rollback".into();
        ja.of_run = Some("20261120T000000Z-000000".into());
        a.write_journal(&ja).unwrap();
        let c = Run::create(tmp.path(), "20261124T100000Z-cccccc").unwrap();
        fs::write(c.dir.join(JOURNAL), "{\"version\": 1, \"run_id\": ").unwrap();
        let d = Run::create(tmp.path(), "20261124T110000Z-dddddd").unwrap();
        // stray entries are not runs
        fs::write(tmp.path().join("runs/.tmp-x"), "").unwrap();
        fs::write(tmp.path().join("runs/notes.txt"), "").unwrap();

        let got = list(tmp.path()).unwrap();
        let ids: Vec<&str> = got.iter().map(|s| s.run_id.as_str()).collect();
        assert_eq!(ids, [&a.id, &b.id, &c.id, &d.id]);
        assert_eq!(
            got[0],
            Summary {
                run_id: a.id.clone(),
                command: "rollback".into(),
                created: "2026-11-24T08:00:00Z".into(),
                finished: Some("2026-11-24T08:01:00Z".into()),
                of_run: Some("20261120T000000Z-000000".into()),
                hosts: 1,
                counts: vec![("restored".into(), 1)],
                error: None,
            }
        );
        assert_eq!(got[1].finished, None);
        assert_eq!(got[1].hosts, 3);
        assert_eq!(
            got[1].counts,
            vec![("repaired".to_string(), 2), ("failed".to_string(), 1)]
        );
        let e = got[2].error.as_deref().unwrap();
        assert!(e.contains("is damaged: not JSON"), "{e}");
        let e = got[3].error.as_deref().unwrap();
        assert!(e.starts_with("cannot read the journal"), "{e}");
        assert!(
            e.contains("the run stopped before it recorded anything"),
            "{e}"
        );
    }
}
