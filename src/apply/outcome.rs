//! What `apply` and `rollback` report and journal per host: the result, the
//! steps taken, the files touched. Pure data, serialised as the JSON outcome
//! (`--format json`) and inside the run journal.

use serde::{Deserialize, Serialize};

/// How one host ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostStatus {
    /// apply: the changes are in place and the broken path was verified.
    Repaired,
    /// rollback: the run's backups are back in place.
    Restored,
    /// Nothing to do on this host.
    Unchanged,
    /// A step failed after the host was touched; `reverted` says whether the
    /// host was put back as it was.
    Failed,
    /// Refused before anything was changed (stale plan, lock held, bad input).
    Refused,
    /// No working path reached the host; nothing was changed.
    Unreachable,
}

impl HostStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::Repaired => "repaired",
            HostStatus::Restored => "restored",
            HostStatus::Unchanged => "unchanged",
            HostStatus::Failed => "failed",
            HostStatus::Refused => "refused",
            HostStatus::Unreachable => "unreachable",
        }
    }

    /// Whether the host counts as a failure for the exit status.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            HostStatus::Failed | HostStatus::Refused | HostStatus::Unreachable
        )
    }
}

/// One step of the protocol on one host (`lock`, `stale-check`, `backup`,
/// `stage`, `validate`, `arm`, `commands`, `install`, `services`, `verify`,
/// `confirm`, `revert`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub step: String,
    pub ok: bool,
    pub seconds: f64,
    /// What happened, in one line (empty when there is nothing to say).
    #[serde(default)]
    pub detail: String,
}

/// One file the run touched on a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: String,
    /// `None`: the file did not exist before the run.
    pub before_sha256: Option<String>,
    pub after_sha256: String,
    /// The backup copy in the local state directory, relative to the run's
    /// directory (`backups/HOST/N`); `None` for a file that did not exist.
    #[serde(default)]
    pub local_backup: Option<String>,
    /// The backup copy on the host (`/var/backups/sshfix/RUN/files/N`).
    #[serde(default)]
    pub remote_backup: Option<String>,
}

/// One host's outcome of `apply` or `rollback`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostOutcome {
    pub host: String,
    /// The working path used (`direct`, `jump`, `console`, `local`).
    pub reached_via: Option<String>,
    pub result: HostStatus,
    /// Why the host failed or was refused (operator-readable, names the
    /// file/step and what to do).
    pub reason: Option<String>,
    /// The step that failed.
    pub failed_step: Option<String>,
    /// For a failed host: whether it was put back as it was (files verified
    /// by hash). `None` when nothing had been changed.
    pub reverted: Option<bool>,
    /// The path that was verified from the controller (`direct 10.77.1.4:22`).
    pub verified: Option<String>,
    pub findings_fixed: Vec<String>,
    /// The run's backup directory on the host.
    pub backup_dir: Option<String>,
    pub files: Vec<FileRecord>,
    /// Fingerprints of host keys a fix regenerated (`ssh-keygen -l` lines).
    pub new_host_keys: Vec<String>,
    /// Whether the new host keys were written to the user's known_hosts.
    pub known_hosts_updated: bool,
    /// When they were not: the command that replaces the old keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_hosts_command: Option<String>,
    pub steps: Vec<Step>,
    pub seconds: f64,
}

impl HostOutcome {
    pub fn new(host: &str) -> HostOutcome {
        HostOutcome {
            host: host.to_string(),
            reached_via: None,
            result: HostStatus::Unchanged,
            reason: None,
            failed_step: None,
            reverted: None,
            verified: None,
            findings_fixed: Vec::new(),
            backup_dir: None,
            files: Vec::new(),
            new_host_keys: Vec::new(),
            known_hosts_updated: false,
            known_hosts_command: None,
            steps: Vec::new(),
            seconds: 0.0,
        }
    }
}
