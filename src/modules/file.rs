//! The `file` fix module: a path's kind, mode and owner (`/run/sshd` as a directory, host keys `0600`) as an [`Op::File`] action, from what the facts' `stat` saw.
//!
//! Arguments: `path` (absolute, normalised: no `.`, `..`, `//` or trailing
//! `/`), `state` (`file`, the default: an existing file whose attributes
//! change; `directory`: created when missing), `mode` (a quoted octal string,
//! `"0600"` or `"600"`), `owner`, `group` (names or numeric ids).
//!
//! `mode` must be a string: an unquoted `0600` is 384 in YAML 1.1 (Ansible)
//! and 600 in YAML 1.2, so an integer is refused rather than guessed (Ansible
//! itself and ansible-lint tell users to quote modes).
//!
//! What the facts saw decides (the `stat` item of the facts script, see
//! [`crate::facts::files`]): already so → nothing to do; `state: file` for a
//! missing path, or a path of the other kind → a [`FixError`] (file content
//! is only ever created by an edit; a file in the way of a directory is for a
//! human). The action's `was` records the old attributes (`missing`, or
//! `mode 0644 uid 0 gid 0`) so a rollback can restore them; when the facts
//! did not stat the path, `was` is empty and the reason says so. An owner or
//! group given by name other than `root` cannot be compared with the numeric
//! ids `stat` prints, so it is set without claiming it differs.

use serde::Deserialize;
use serde_json::Value;

use super::{FixError, Host, Proposal};
use crate::change::{Action, FileState, Op};
use crate::facts::files::{self, FileEntry, FileKind};

/// The arguments of a `file` fix task.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskArgs {
    path: String,
    #[serde(default)]
    state: Option<FileState>,
    #[serde(default)]
    mode: Option<Value>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    group: Option<String>,
}

/// What the facts script's `stat` item says about `path`, if it statted it.
pub fn stat_of(host: &Host, path: &str) -> Option<FileEntry> {
    let text = host.frames.get("stat")?.text();
    files::parse(&text).get(path).cloned()
}

/// `path` is absolute and normalised (a module never guesses what `a/../b` means on the host).
pub fn check_path(module: &str, arg: &str, path: &str) -> Result<(), FixError> {
    let bad = |why: &str| Err(FixError::new(format!("`{module}`: `{arg}: {path}` {why}")));
    if !path.starts_with('/') {
        return bad("is not an absolute path");
    }
    if path == "/" {
        return bad("is the root directory");
    }
    if path.chars().any(|c| c.is_control()) {
        return bad("contains a control character");
    }
    if path.ends_with('/')
        || path[1..]
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return bad("is not a normalised path (no `.`, `..`, `//` or trailing `/`)");
    }
    Ok(())
}

/// A mode argument as four octal digits (`0600`).
fn parse_mode(v: &Value) -> Result<u32, FixError> {
    let s = match v {
        Value::String(s) => s.trim(),
        Value::Number(n) => {
            return Err(FixError::new(format!(
                "`file`: `mode: {n}` is a number; write it as a quoted octal string such as \"0600\" (an unquoted 0600 is 384 in YAML 1.1 and 600 in YAML 1.2)"
            )))
        }
        other => {
            return Err(FixError::new(format!(
                "`file`: `mode: {other}` is not an octal string such as \"0600\""
            )))
        }
    };
    let digits = s.strip_prefix("0o").unwrap_or(s);
    if !(3..=4).contains(&digits.len()) || !digits.chars().all(|c| ('0'..='7').contains(&c)) {
        return Err(FixError::new(format!(
            "`file`: `mode: {s}` is not an octal mode of 3 or 4 digits such as \"0600\" (symbolic modes are not supported)"
        )));
    }
    Ok(u32::from_str_radix(digits, 8).expect("octal digits"))
}

/// A user or group name (or numeric id) as `chown` takes it.
pub fn check_name(module: &str, arg: &str, name: &str) -> Result<(), FixError> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(FixError::new(format!(
            "`{module}`: `{arg}: {name}` is not a user or group name (letters, digits, `.`, `_`, `-`) or numeric id"
        )))
    }
}

/// Whether the owner/group `want` is the id `have`: `Some(true/false)` when
/// comparable (numeric, or `root`), `None` for other names.
fn same_id(want: &str, have: Option<u32>) -> Option<bool> {
    let want_id = if want == "root" {
        0
    } else {
        want.parse::<u32>().ok()?
    };
    Some(have == Some(want_id))
}

/// `was` for an existing entry.
fn describe(e: &FileEntry) -> String {
    match (e.mode, e.uid, e.gid) {
        (Some(m), Some(u), Some(g)) => format!("mode {m:04o} uid {u} gid {g}"),
        _ => "missing".into(),
    }
}

/// Runs a `file` fix task.
pub fn task(host: &Host, args: &Value, finding: &str) -> Result<Proposal, FixError> {
    let a: TaskArgs = super::args("file", args)?;
    check_path("file", "path", &a.path)?;
    let state = a.state.unwrap_or(FileState::File);
    let mode = a.mode.as_ref().map(parse_mode).transpose()?;
    for (arg, v) in [("owner", &a.owner), ("group", &a.group)] {
        if let Some(v) = v {
            check_name("file", arg, v)?;
        }
    }
    let seen = stat_of(host, &a.path);
    let kind_word = match state {
        FileState::File => "file",
        FileState::Directory => "directory",
    };
    let was = match &seen {
        None => None,
        Some(e) if !e.exists => {
            if state == FileState::File {
                return Err(FixError::new(format!(
                    "`file`: `{}` does not exist on the host (facts: `stat` line {}); `state: file` only changes an existing file's attributes — its content must come from an edit or a command (for host keys: `ssh-keygen -A`)",
                    a.path, e.line
                )));
            }
            Some("missing".to_string())
        }
        Some(e) => {
            let right_kind = match state {
                FileState::File => e.kind == FileKind::File,
                FileState::Directory => e.kind == FileKind::Dir,
            };
            if !right_kind {
                return Err(FixError::new(format!(
                    "`file`: `{}` is a {} on the host, not a {kind_word} (facts: `stat` line {}); a human must decide what to do with it",
                    a.path, e.type_text, e.line
                )));
            }
            let mode_ok = mode.is_none_or(|m| e.mode == Some(m));
            let owner_ok = a
                .owner
                .as_deref()
                .is_none_or(|o| same_id(o, e.uid) == Some(true));
            let group_ok = a
                .group
                .as_deref()
                .is_none_or(|g| same_id(g, e.gid) == Some(true));
            if mode_ok && owner_ok && group_ok {
                return Ok(Proposal::default());
            }
            Some(describe(e))
        }
    };
    let op = Op::File {
        path: a.path.clone(),
        state,
        mode: mode.map(|m| format!("{m:04o}")),
        owner: a.owner.clone(),
        group: a.group.clone(),
        was: was.clone(),
    };
    let now = match &was {
        Some(w) if w == "missing" => "it is missing".to_string(),
        Some(w) => format!("it has {w}"),
        None => "the facts did not stat it, so its old attributes are unknown and a rollback cannot restore them".to_string(),
    };
    let mut attrs = Vec::new();
    if let Some(m) = mode {
        attrs.push(format!("mode {m:04o}"));
    }
    attrs.extend(a.owner.as_ref().map(|o| format!("owner {o}")));
    attrs.extend(a.group.as_ref().map(|g| format!("group {g}")));
    let with = if attrs.is_empty() {
        String::new()
    } else {
        format!(" with {}", attrs.join(", "))
    };
    let reason = format!("make `{}` a {kind_word}{with}; {now}", a.path);
    Ok(Proposal {
        edits: Vec::new(),
        actions: vec![Action::new(op, finding, reason)],
    })
}

#[cfg(test)]
mod tests {
    use super::super::command::test_host::Fixture;
    use super::*;
    use serde_json::json;

    fn run(f: &Fixture, args: Value) -> Result<Proposal, FixError> {
        task(&f.host(), &args, "f")
    }

    fn op(p: &Proposal) -> &Op {
        assert!(p.edits.is_empty());
        assert_eq!(p.actions.len(), 1);
        &p.actions[0].op
    }

    #[test]
    fn creates_the_missing_privsep_dir() {
        let f = Fixture::load("privsep-missing");
        let p = run(
            &f,
            json!({"path": "/run/sshd", "state": "directory", "mode": "0755", "owner": "root"}),
        )
        .unwrap();
        assert_eq!(
            op(&p),
            &Op::File {
                path: "/run/sshd".into(),
                state: FileState::Directory,
                mode: Some("0755".into()),
                owner: Some("root".into()),
                group: None,
                was: Some("missing".into()),
            }
        );
        assert_eq!(
            p.actions[0].reason,
            "make `/run/sshd` a directory with mode 0755, owner root; it is missing"
        );
        assert_eq!(p.actions[0].finding, "f");
    }

    #[test]
    fn an_existing_privsep_dir_needs_nothing() {
        // hostkey-perms has /run/sshd 755 root
        let f = Fixture::load("hostkey-perms");
        let p = run(
            &f,
            json!({"path": "/run/sshd", "state": "directory", "mode": "755", "owner": "0", "group": "root"}),
        )
        .unwrap();
        assert!(p.is_empty());
        // but another mode is a change, recorded with what was there
        let p = run(
            &f,
            json!({"path": "/run/sshd", "state": "directory", "mode": "0711"}),
        )
        .unwrap();
        match op(&p) {
            Op::File { was, mode, .. } => {
                assert_eq!(was.as_deref(), Some("mode 0755 uid 0 gid 0"));
                assert_eq!(mode.as_deref(), Some("0711"));
            }
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn world_readable_host_key_gets_0600() {
        let f = Fixture::load("hostkey-perms");
        let p = run(
            &f,
            json!({"path": "/etc/ssh/ssh_host_ed25519_key", "mode": "0600"}),
        )
        .unwrap();
        match op(&p) {
            Op::File {
                state, mode, was, ..
            } => {
                assert_eq!(*state, FileState::File);
                assert_eq!(mode.as_deref(), Some("0600"));
                assert_eq!(was.as_deref(), Some("mode 0644 uid 0 gid 0"));
            }
            o => panic!("{o:?}"),
        }
        // the healthy host's key is already 0600 root
        let h = Fixture::load("healthy");
        let p = run(
            &h,
            json!({"path": "/etc/ssh/ssh_host_ed25519_key", "mode": "0600", "owner": "root"}),
        )
        .unwrap();
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn wrong_owner_is_a_change() {
        let mut f = Fixture::load("healthy");
        f.set_item("stat", "755\t1000\t0\t40\tdirectory\t/run/sshd\n");
        let p = run(
            &f,
            json!({"path": "/run/sshd", "state": "directory", "mode": "0755", "owner": "root"}),
        )
        .unwrap();
        match op(&p) {
            Op::File { was, .. } => assert_eq!(was.as_deref(), Some("mode 0755 uid 1000 gid 0")),
            o => panic!("{o:?}"),
        }
        let p = run(
            &f,
            json!({"path": "/run/sshd", "state": "directory", "owner": "1000"}),
        )
        .unwrap();
        assert!(p.is_empty());
    }

    #[test]
    fn names_other_than_root_are_set_without_comparing() {
        let h = Fixture::load("healthy");
        let p = run(
            &h,
            json!({"path": "/etc/ssh/ssh_host_ed25519_key", "mode": "0600", "group": "ssh_keys"}),
        )
        .unwrap();
        assert_eq!(p.actions.len(), 1);
        // a numeric group that differs is a change too
        let p = run(
            &h,
            json!({"path": "/etc/ssh/ssh_host_ed25519_key", "group": "4"}),
        )
        .unwrap();
        assert_eq!(p.actions.len(), 1);
    }

    #[test]
    fn unknown_to_the_facts_is_proposed_and_says_so() {
        let h = Fixture::load("healthy");
        let p = run(&h, json!({"path": "/etc/ssh/other_key", "mode": "0600"})).unwrap();
        match op(&p) {
            Op::File { was, .. } => assert_eq!(*was, None),
            o => panic!("{o:?}"),
        }
        assert!(p.actions[0]
            .reason
            .contains("a rollback cannot restore them"));
    }

    #[test]
    fn refusals() {
        let h = Fixture::load("privsep-missing");
        let err = |args: Value| run(&h, args).unwrap_err().message;
        assert!(err(json!({"path": "/run/sshd"})).contains("does not exist on the host"));
        assert!(err(json!({"path": "/etc/ssh", "mode": "0755"}))
            .contains("is a directory on the host, not a file"));
        assert!(
            err(json!({"path": "/etc/ssh/sshd_config", "state": "directory"}))
                .contains("is a regular file on the host, not a directory")
        );
        assert!(
            err(json!({"path": "run/sshd", "state": "directory"})).contains("not an absolute path")
        );
        assert!(err(json!({"path": "/run/../etc", "state": "directory"}))
            .contains("not a normalised path"));
        assert!(err(json!({"path": "/run//sshd", "state": "directory"}))
            .contains("not a normalised path"));
        assert!(err(json!({"path": "/run/sshd/", "state": "directory"}))
            .contains("not a normalised path"));
        assert!(err(json!({"path": "/", "state": "directory"})).contains("root directory"));
        assert!(err(json!({"path": "/a\nb", "state": "directory"})).contains("control character"));
        assert!(
            err(json!({"path": "/x", "state": "directory", "mode": 600}))
                .contains("quoted octal string")
        );
        assert!(
            err(json!({"path": "/x", "state": "directory", "mode": "u=rw"})).contains("symbolic")
        );
        assert!(
            err(json!({"path": "/x", "state": "directory", "mode": "0800"}))
                .contains("not an octal mode")
        );
        assert!(
            err(json!({"path": "/x", "state": "directory", "mode": true}))
                .contains("not an octal string")
        );
        assert!(
            err(json!({"path": "/x", "state": "directory", "owner": "-rf"}))
                .contains("not a user or group name")
        );
        assert!(
            err(json!({"path": "/x", "state": "directory", "group": "a b"}))
                .contains("`group: a b`")
        );
        assert!(err(json!({"path": "/x", "state": "socket"})).contains("bad arguments"));
        assert!(err(json!({"path": "/x", "recurse": true})).contains("bad arguments"));
    }

    #[test]
    fn mode_forms() {
        assert_eq!(parse_mode(&json!("0600")).unwrap(), 0o600);
        assert_eq!(parse_mode(&json!("600")).unwrap(), 0o600);
        assert_eq!(parse_mode(&json!("0o750")).unwrap(), 0o750);
        assert_eq!(parse_mode(&json!("4755")).unwrap(), 0o4755);
        assert!(parse_mode(&json!("06000")).is_err());
    }
}
