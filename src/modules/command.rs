//! The `command` fix module: one shell command run as root (`ssh-keygen -A` for missing host keys), guarded by `creates`, with an optional undo.
//!
//! Arguments: `cmd` (required, one non-empty line, run by `sh -c`),
//! `creates` (an absolute path: `apply` skips the command when it exists),
//! `undo` (one line run on rollback). Nothing to do when the facts show that
//! `creates` exists (the `stat` item, or a file the facts script read). The
//! reason says when there is no undo: the command's effect then stays after a
//! rollback.

use serde::Deserialize;
use serde_json::Value;

use super::file::{check_path, stat_of};
use super::{FixError, Host, Proposal};
use crate::change::{Action, Op};

/// The arguments of a `command` fix task.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskArgs {
    cmd: String,
    #[serde(default)]
    creates: Option<String>,
    #[serde(default)]
    undo: Option<String>,
}

/// A command line: non-empty, one line.
fn check_line(arg: &str, s: &str) -> Result<String, FixError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(FixError::new(format!("`command`: `{arg}` is empty")));
    }
    if t.contains(['\n', '\r', '\0']) {
        return Err(FixError::new(format!(
            "`command`: `{arg}` must be a single line (got {:?}); join the steps with `&&` or use several tasks",
            t
        )));
    }
    Ok(t.to_string())
}

/// Runs a `command` fix task.
pub fn task(host: &Host, args: &Value, finding: &str) -> Result<Proposal, FixError> {
    let a: TaskArgs = super::args("command", args)?;
    let cmd = check_line("cmd", &a.cmd)?;
    let undo = a
        .undo
        .as_deref()
        .map(|u| check_line("undo", u))
        .transpose()?;
    if let Some(c) = &a.creates {
        check_path("command", "creates", c)?;
        if c.contains(['*', '?', '[']) {
            return Err(FixError::new(format!(
                "`command`: `creates: {c}` is a pattern; give one path the command makes"
            )));
        }
        let exists = stat_of(host, c).is_some_and(|e| e.exists) || host.files.contains_key(c);
        if exists {
            return Ok(Proposal::default());
        }
    }
    let mut reason = format!("run `{cmd}` as root");
    if let Some(c) = &a.creates {
        reason.push_str(&format!(" (skipped if `{c}` exists by then)"));
    }
    match &undo {
        Some(u) => reason.push_str(&format!("; rollback runs `{u}`")),
        None => reason.push_str("; no undo given: a rollback leaves its effect in place"),
    }
    Ok(Proposal {
        edits: Vec::new(),
        actions: vec![Action::new(
            Op::Command {
                command: cmd,
                creates: a.creates,
                undo,
            },
            finding,
            reason,
        )],
    })
}

#[cfg(test)]
mod tests {
    use super::test_host::Fixture;
    use super::*;
    use serde_json::json;

    const KEY: &str = "/etc/ssh/ssh_host_ed25519_key";

    #[test]
    fn generates_missing_host_keys() {
        let f = Fixture::load("hostkeys-missing");
        let p = task(
            &f.host(),
            &json!({"cmd": " ssh-keygen -A ", "creates": KEY}),
            "host-keys-missing",
        )
        .unwrap();
        assert!(p.edits.is_empty());
        assert_eq!(
            p.actions,
            vec![Action::new(
                Op::Command {
                    command: "ssh-keygen -A".into(),
                    creates: Some(KEY.into()),
                    undo: None
                },
                "host-keys-missing",
                "run `ssh-keygen -A` as root (skipped if `/etc/ssh/ssh_host_ed25519_key` exists by then); no undo given: a rollback leaves its effect in place"
            )]
        );
    }

    #[test]
    fn nothing_to_do_when_creates_exists() {
        let f = Fixture::load("healthy");
        let p = task(
            &f.host(),
            &json!({"cmd": "ssh-keygen -A", "creates": KEY}),
            "f",
        )
        .unwrap();
        assert!(p.is_empty());
        // a file the facts script read counts too
        let p = task(
            &f.host(),
            &json!({"cmd": "touch /etc/hosts.allow", "creates": "/etc/hosts.allow"}),
            "f",
        )
        .unwrap();
        assert!(p.is_empty());
    }

    #[test]
    fn without_creates_always_runs_and_keeps_undo() {
        let f = Fixture::load("healthy");
        let p = task(&f.host(), &json!({"cmd": "fail2ban-client unban 10.77.0.1", "undo": "fail2ban-client set sshd banip 10.77.0.1"}), "f").unwrap();
        match &p.actions[0].op {
            Op::Command { creates, undo, .. } => {
                assert_eq!(*creates, None);
                assert_eq!(
                    undo.as_deref(),
                    Some("fail2ban-client set sshd banip 10.77.0.1")
                );
            }
            o => panic!("{o:?}"),
        }
        assert!(p.actions[0]
            .reason
            .ends_with("rollback runs `fail2ban-client set sshd banip 10.77.0.1`"));
    }

    #[test]
    fn refusals() {
        let f = Fixture::load("healthy");
        let err = |a: Value| task(&f.host(), &a, "f").unwrap_err().message;
        assert_eq!(err(json!({"cmd": "  "})), "`command`: `cmd` is empty");
        assert!(err(json!({"cmd": "a\nb"})).contains("single line"));
        assert!(err(json!({"cmd": "a", "undo": "x\r\ny"})).contains("`undo` must be a single line"));
        assert!(err(json!({"cmd": "a", "undo": ""})).contains("`undo` is empty"));
        assert!(err(json!({"cmd": "a", "creates": "etc/x"})).contains("not an absolute path"));
        assert!(err(json!({"cmd": "a", "creates": "/etc/ssh/ssh_host_*"})).contains("is a pattern"));
        assert!(err(json!({"cmd": "a", "chdir": "/"})).contains("bad arguments"));
        assert!(err(json!({})).contains("bad arguments"));
    }
}

/// Hosts for the fix modules' unit tests, from the real captures of the facts
/// script in `tests/fixtures/facts/frames/` (lab hosts, port 22, client
/// 10.77.0.1). Lives here because the modules may not change `mod.rs`.
#[cfg(test)]
pub(super) mod test_host {
    use std::collections::BTreeMap;
    use std::net::{IpAddr, Ipv4Addr};

    use crate::facts::frame::{self, Frames};
    use crate::facts::model::{self, HostFacts};
    use crate::facts::script::ITEM_CAP;
    use crate::modules::Host;

    const CLIENTS: &[IpAddr] = &[IpAddr::V4(Ipv4Addr::new(10, 77, 0, 1))];

    /// One capture: frames, facts built from them, and the files read.
    pub struct Fixture {
        pub frames: Frames,
        pub facts: HostFacts,
        pub files: BTreeMap<String, Vec<u8>>,
    }

    impl Fixture {
        /// `tests/fixtures/facts/frames/NAME.out`.
        pub fn load(name: &str) -> Fixture {
            let path = format!(
                "{}/tests/fixtures/facts/frames/{name}.out",
                env!("CARGO_MANIFEST_DIR")
            );
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let frames = frame::parse(&bytes, "sshfix-fixture-0123456789abcdef", ITEM_CAP).unwrap();
            assert!(frames.done, "{name}: the capture did not finish");
            let mut f = Fixture {
                facts: build(&frames),
                files: model::files_map(&frames),
                frames,
            };
            f.rebuild();
            f
        }

        /// Replaces the body of item `key` (e.g. `stat`) and rebuilds the facts.
        pub fn set_item(&mut self, key: &str, body: &str) {
            let item = self
                .frames
                .items
                .iter_mut()
                .find(|i| i.key == key)
                .unwrap_or_else(|| panic!("no item {key}"));
            item.body = body.as_bytes().to_vec();
            self.rebuild();
        }

        fn rebuild(&mut self) {
            self.facts = build(&self.frames);
        }

        /// The host as a fix module sees it (port 22).
        pub fn host(&self) -> Host<'_> {
            Host {
                name: "h",
                facts: &self.facts,
                frames: &self.frames,
                files: &self.files,
                gathered: &self.files,
                port: 22,
                clients: CLIENTS,
            }
        }
    }

    fn build(frames: &Frames) -> HostFacts {
        model::build(
            frames,
            &model::Input {
                port: 22,
                clients: CLIENTS,
                server_addr: None,
            },
        )
    }
}
