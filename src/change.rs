//! The changes a plan proposes, as data: file edits and service actions. A
//! leaf every stage can name (fix modules produce them, the plan renders and
//! saves them, apply carries them out); nothing here does I/O.

use serde::{Deserialize, Serialize};

/// One file's new content, with what it must have been before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    /// Absolute path on the host.
    pub path: String,
    /// The original bytes; `None` when the file does not exist yet.
    pub before: Option<Vec<u8>>,
    /// sha256 (hex) of `before`; `None` for a new file. `apply` refuses the
    /// host when the file no longer has it (a stale plan).
    pub before_sha256: Option<String>,
    /// The complete new content.
    pub after: Vec<u8>,
    /// How `apply` checks the candidate before it is installed.
    pub validator: Validator,
    /// The finding this edit fixes.
    pub finding: String,
    /// One sentence for the reviewer: what changes and why.
    pub reason: String,
}

/// How a candidate file is validated on the host before it replaces the original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Validator {
    /// The whole sshd configuration tree rooted at `config` (the main file,
    /// `/etc/ssh/sshd_config`), with every candidate of that tree in place —
    /// an edited drop-in is never checked on its own — must pass
    /// `sshd -t -f CONFIG`, and `sshd -T -f CONFIG` must then show each
    /// `(keyword, value)` (lowercase keyword, as `sshd -T` prints it).
    SshdConfig {
        config: String,
        expect: Vec<(String, String)>,
    },
    /// `nft -c -f CANDIDATE`.
    Nft,
    /// `haproxy -c -f CANDIDATE`.
    Haproxy,
    /// `iptables-restore --test CANDIDATE` for `family` `ipv4`,
    /// `ip6tables-restore --test CANDIDATE` for `ipv6`: the save-format file
    /// (`/etc/iptables/rules.v4`, `rules.v6`) parses and the kernel would
    /// accept it; nothing is loaded.
    IptablesRestore { family: String },
    /// Nothing to run (hosts.allow has no checker of its own).
    None,
}

/// Something `apply` does besides installing files: a service action, a
/// command, a file's attributes. Serialises flat, as the plan JSON's
/// `actions` entries: `{"kind": "reload", "target": "sshd", "finding": …,
/// "reason": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    #[serde(flatten)]
    pub op: Op,
    /// The finding it belongs to (several, comma-separated, when the plan
    /// merged identical actions of several findings).
    pub finding: String,
    /// Why it is needed, for the reviewer.
    pub reason: String,
}

/// What an [`Action`] does. Service names are logical (`sshd`, `haproxy`,
/// `inetd`, `xinetd`): `apply` maps them to the host's service manager and
/// unit (`ssh.service` on Debian, `sshd` under OpenRC, a pid file when there
/// is no service manager).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Op {
    /// Make the running service re-read its configuration (start it when it
    /// is not running).
    Reload { target: String },
    /// Stop and start the service (start it when it is not running).
    Restart { target: String },
    /// Start the service, which is not running.
    Start { target: String },
    /// Run a shell command on the host, as root.
    Command {
        /// The command line, run by `sh -c`.
        command: String,
        /// Skip the command when this path exists (an idempotency guard).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        creates: Option<String>,
        /// The command that undoes it (run on rollback); `None` when the
        /// effect is covered by restoring the edited files, or cannot be
        /// undone (then the reason says so).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        undo: Option<String>,
    },
    /// Make a path exist with the given attributes (the content of files is
    /// changed only by an [`Edit`]).
    File {
        path: String,
        state: FileState,
        /// Octal mode, e.g. `0600`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        /// What the facts saw before (`missing`, or `mode 0644 uid 0`), so
        /// rollback knows what to restore.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        was: Option<String>,
    },
}

/// The kind of path an [`Op::File`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileState {
    /// An existing file (attributes only).
    File,
    /// A directory (created when missing).
    Directory,
}

impl Op {
    /// The service a service action names, if it is one.
    pub fn service(&self) -> Option<&str> {
        match self {
            Op::Reload { target } | Op::Restart { target } | Op::Start { target } => Some(target),
            _ => None,
        }
    }

    /// The `kind` word of the plan JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Reload { .. } => "reload",
            Op::Restart { .. } => "restart",
            Op::Start { .. } => "start",
            Op::Command { .. } => "command",
            Op::File { .. } => "file",
        }
    }

    /// One line for people: `reload sshd`, `run: ssh-keygen -A`,
    /// `file /run/sshd: directory, mode 0755, owner root`.
    pub fn describe(&self) -> String {
        match self {
            Op::Reload { target } => format!("reload {target}"),
            Op::Restart { target } => format!("restart {target}"),
            Op::Start { target } => format!("start {target}"),
            Op::Command {
                command, creates, ..
            } => match creates {
                Some(c) => format!("run `{command}` (unless {c} exists)"),
                None => format!("run `{command}`"),
            },
            Op::File {
                path,
                state,
                mode,
                owner,
                group,
                ..
            } => {
                let mut parts = vec![match state {
                    FileState::File => "file".to_string(),
                    FileState::Directory => "directory".to_string(),
                }];
                if let Some(m) = mode {
                    parts.push(format!("mode {m}"));
                }
                if let Some(o) = owner {
                    parts.push(format!("owner {o}"));
                }
                if let Some(g) = group {
                    parts.push(format!("group {g}"));
                }
                format!("{path}: {}", parts.join(", "))
            }
        }
    }
}

impl Action {
    pub fn new(op: Op, finding: impl Into<String>, reason: impl Into<String>) -> Action {
        Action {
            op,
            finding: finding.into(),
            reason: reason.into(),
        }
    }
}

/// Adds the finding ids of `more` (one id, or several joined with `, `) to
/// the list `to` (the same form), each once: how an edit or action that
/// serves several findings names them.
pub fn add_findings(to: &mut String, more: &str) {
    for id in more.split(", ") {
        if !to.split(", ").any(|have| have == id) {
            to.push_str(", ");
            to.push_str(id);
        }
    }
}

/// sha256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

impl Edit {
    /// An edit of an existing file (`before`) or a new one (`None`).
    pub fn new(
        path: impl Into<String>,
        before: Option<&[u8]>,
        after: Vec<u8>,
        validator: Validator,
        finding: impl Into<String>,
        reason: impl Into<String>,
    ) -> Edit {
        Edit {
            path: path.into(),
            before_sha256: before.map(sha256_hex),
            before: before.map(<[u8]>::to_vec),
            after,
            validator,
            finding: finding.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_new_files() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let e = Edit::new("/etc/x", None, b"a\n".to_vec(), Validator::None, "f", "r");
        assert_eq!(e.before_sha256, None);
        let e = Edit::new(
            "/etc/x",
            Some(b""),
            b"a\n".to_vec(),
            Validator::Nft,
            "f",
            "r",
        );
        assert_eq!(e.before.as_deref(), Some(&b""[..]));
        assert!(e.before_sha256.unwrap().starts_with("e3b0c442"));
    }

    #[test]
    fn finding_lists_name_each_id_once() {
        let mut to = "a".to_string();
        add_findings(&mut to, "b");
        add_findings(&mut to, "a");
        add_findings(&mut to, "b, c");
        assert_eq!(to, "a, b, c");
    }

    #[test]
    fn actions_serialise_flat_as_the_plan_json_says() {
        let a = Action::new(
            Op::Reload {
                target: "sshd".into(),
            },
            "tcp-wrappers-deny",
            "r",
        );
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"kind": "reload", "target": "sshd", "finding": "tcp-wrappers-deny", "reason": "r"})
        );
        let back: Action = serde_json::from_value(v).unwrap();
        assert_eq!(back, a);
        let c = Action::new(
            Op::Command {
                command: "ssh-keygen -A".into(),
                creates: Some("/etc/ssh/ssh_host_ed25519_key".into()),
                undo: None,
            },
            "host-keys-missing",
            "r",
        );
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["kind"], "command");
        assert!(v.get("undo").is_none());
        assert_eq!(serde_json::from_value::<Action>(v).unwrap(), c);
        assert_eq!(
            c.op.describe(),
            "run `ssh-keygen -A` (unless /etc/ssh/ssh_host_ed25519_key exists)"
        );
    }
}
