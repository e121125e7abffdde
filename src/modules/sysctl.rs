//! The `sysctl` fix module: a kernel parameter set now (`sysctl -w`, undone on rollback) and persisted in a sysctl.d file (`net.netfilter.nf_conntrack_max` for a full conntrack table).
//!
//! Arguments: `name` (dotted, e.g. `net.netfilter.nf_conntrack_max`),
//! `value` (an integer or a string; several numbers separated by spaces are
//! compared as words), `file` (default `/etc/sysctl.d/90-sshfix.conf`; a
//! `.conf` file in `/etc/sysctl.d/`, or `/etc/sysctl.conf`).
//!
//! Live: when `/proc/sys/<name with . → />` (read by the facts script) holds
//! another value, an [`Op::Command`] `sysctl -w name=value` whose undo is
//! `sysctl -w name=OLD`; when the facts did not read it, the command has no
//! undo and the reason says so.
//!
//! Persisted: an [`Edit`] of `file` (no validator): every line of that file
//! setting `name` gets the new value in place (indentation, key spelling,
//! line ending kept); otherwise `name = value` is appended (a new file gets a
//! comment line first). Nothing to do when both the live and the persisted
//! value already equal `value`.
//!
//! Refusal instead of a warning: when another sysctl file the facts read
//! sets `name` to something else and is applied after `file` (sysctl.d files
//! run in the order of their file names over `/etc`, `/run`,
//! `/usr/local/lib`, `/usr/lib` and `/lib`, an `/etc` file hiding a
//! same-named one elsewhere, and `/etc/sysctl.conf` last), the value written
//! would be lost at the next boot; the [`FixError`] names that file:line and
//! suggests `file:` pointing at it. `file` is refused too when a line of it
//! has a `\r` or NUL inside: systemd-sysctl ends a line there, so editing
//! the line as one could lose the setting after it.

use serde::Deserialize;
use serde_json::Value;

use super::file::check_path;
use super::{FixError, Host, Proposal};
use crate::change::{Action, Edit, Op, Validator};

/// Where the persisted value goes by default: late in the order, so it wins
/// over distribution files (`50-…`) but leaves `99-…` to the admin.
pub const DEFAULT_FILE: &str = "/etc/sysctl.d/90-sshfix.conf";

const SYSCTL_DIRS: &[&str] = &[
    "/etc/sysctl.d/",
    "/run/sysctl.d/",
    "/usr/local/lib/sysctl.d/",
    "/usr/lib/sysctl.d/",
    "/lib/sysctl.d/",
];
const SYSCTL_CONF: &str = "/etc/sysctl.conf";

/// The arguments of a `sysctl` fix task.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskArgs {
    name: String,
    value: Value,
    #[serde(default)]
    file: Option<String>,
}

/// The blanks systemd-sysctl strips around keys and values (its
/// `WHITESPACE`); anything else, a vertical tab or a no-break space, is part
/// of the key or value.
const BLANKS: &[char] = &[' ', '\t', '\n', '\r'];

/// A value compared as sysctl prints it: words joined by one space.
fn normalise(v: &str) -> String {
    v.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// A key as written in a sysctl file, in dotted form (one `-` prefix dropped; when
/// the first separator is `/`, `/` and `.` swap, as systemd-sysctl does).
fn normalise_key(k: &str) -> String {
    let k = k.trim_matches(BLANKS);
    let k = k.strip_prefix('-').unwrap_or(k).trim_matches(BLANKS);
    match k.find(['.', '/']) {
        Some(p) if k.as_bytes()[p] == b'/' => k
            .chars()
            .map(|c| match c {
                '/' => '.',
                '.' => '/',
                c => c,
            })
            .collect(),
        _ => k.to_string(),
    }
}

/// A `key = value` line: (key as written, value), or `None` for comments and blanks.
fn assignment(body: &str) -> Option<(&str, &str)> {
    let t = body.trim_start_matches(BLANKS);
    if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
        return None;
    }
    let (k, v) = t.split_once('=')?;
    Some((k.trim_matches(BLANKS), v.trim_matches(BLANKS)))
}

/// The last value `text` gives `name`, with its 1-based line. systemd-sysctl
/// also ends a line at a `\r` or NUL inside it.
fn value_in(text: &str, name: &str) -> Option<(usize, String)> {
    text.split('\n')
        .enumerate()
        .flat_map(|(i, l)| l.split(['\r', '\0']).map(move |part| (i, part)))
        .filter_map(|(i, l)| {
            let (k, v) = assignment(l)?;
            (normalise_key(k) == name).then(|| (i + 1, normalise(v)))
        })
        .last()
}

/// The first line (1-based) of `text` with a `\r` or NUL inside it, which
/// systemd-sysctl reads as two lines where an edit of the line sees one.
fn inner_break(text: &str) -> Option<usize> {
    text.split('\n')
        .position(|l| {
            let l = l.strip_suffix('\r').unwrap_or(l);
            l.contains(['\r', '\0'])
        })
        .map(|i| i + 1)
}

/// Where `path` comes in sysctl's order, or `None` if sysctl does not read it.
/// `(0, basename)` for sysctl.d files, `(1, "")` for /etc/sysctl.conf.
fn order_key(path: &str) -> Option<(u8, String)> {
    if path == SYSCTL_CONF {
        return Some((1, String::new()));
    }
    SYSCTL_DIRS.iter().find_map(|d| {
        let base = path.strip_prefix(d)?;
        (base.ends_with(".conf") && !base.contains('/')).then(|| (0, base.to_string()))
    })
}

/// A sysctl.d file hidden by a same-named file in a directory read before it.
fn masked(host: &Host, path: &str, target: &str) -> bool {
    let Some((0, base)) = order_key(path) else {
        return false;
    };
    let dir_rank = |p: &str| SYSCTL_DIRS.iter().position(|d| p.starts_with(d));
    let rank = dir_rank(path);
    let hidden_by =
        |p: &str| p != path && order_key(p) == Some((0, base.clone())) && dir_rank(p) < rank;
    hidden_by(target) || host.files.keys().any(|p| hidden_by(p))
}

fn value_arg(v: &Value) -> Result<String, FixError> {
    let s = match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::String(s) => normalise(s),
        other => {
            return Err(FixError::new(format!(
                "`sysctl`: `value: {other}` is not an integer or a string"
            )))
        }
    };
    if s.is_empty()
        || !s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '_' | ':' | '/' | '+' | '-' | ',')
        })
    {
        return Err(FixError::new(format!(
            "`sysctl`: `value: {s:?}` must be non-empty words of letters, digits and `. _ : / + - ,`"
        )));
    }
    Ok(s)
}

/// `sysctl -w name=value`, quoted for `sh -c` when the value has spaces.
fn sysctl_w(name: &str, value: &str) -> Result<String, FixError> {
    let arg = format!("{name}={value}");
    let q = crate::transport::quote::quote(&arg, "a sysctl setting")
        .map_err(|e| FixError::new(format!("`sysctl`: {e}")))?;
    Ok(format!("sysctl -w {q}"))
}

/// Runs a `sysctl` fix task.
pub fn task(host: &Host, args: &Value, finding: &str) -> Result<Proposal, FixError> {
    let a: TaskArgs = super::args("sysctl", args)?;
    let name = a.name.trim().to_string();
    // a leading `-` would make `sysctl -w -p=…` read an option, and
    // systemd-sysctl drop it from the key
    if name.is_empty()
        || name.starts_with('-')
        || !name.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
    {
        return Err(FixError::new(format!(
            "`sysctl`: `name: {name}` is not a dotted kernel parameter such as `net.netfilter.nf_conntrack_max`"
        )));
    }
    let value = value_arg(&a.value)?;
    let file = a.file.unwrap_or_else(|| DEFAULT_FILE.to_string());
    check_path("sysctl", "file", &file)?;
    let Some(our_order) =
        order_key(&file).filter(|_| file == SYSCTL_CONF || file.starts_with("/etc/sysctl.d/"))
    else {
        return Err(FixError::new(format!(
            "`sysctl`: `file: {file}` is not read at boot; use a `.conf` file in `/etc/sysctl.d/` or `/etc/sysctl.conf`"
        )));
    };

    // a later file that sets another value would undo the persisted one
    let mut later: Vec<(String, usize, String)> = Vec::new();
    for (path, bytes) in host.files {
        if *path == file || masked(host, path, &file) {
            continue;
        }
        let Some(order) = order_key(path) else {
            continue;
        };
        if order <= our_order {
            continue;
        }
        if let Some((line, v)) = value_in(&String::from_utf8_lossy(bytes), &name) {
            if v != value {
                later.push((path.clone(), line, v));
            }
        }
    }
    if let Some((path, line, v)) = later.first() {
        return Err(FixError::new(format!(
            "{path}:{line}: sets `{name} = {v}` and is applied after `{file}`, so `{value}` would be lost at the next boot; give `file: {path}` to change it there, or remove that line"
        )));
    }

    let proc_path = format!("/proc/sys/{}", name.replace('.', "/"));
    let live = host
        .files
        .get(&proc_path)
        .map(|b| normalise(&String::from_utf8_lossy(b)))
        .filter(|v| !v.is_empty());
    let mut proposal = Proposal::default();
    if live.as_deref() != Some(value.as_str()) {
        let (undo, was) = match &live {
            Some(old) => (
                Some(sysctl_w(&name, old)?),
                format!("it is {old} now; rollback sets it back"),
            ),
            None => (
                None,
                format!("the facts did not read `{proc_path}`, so the old value is unknown and a rollback cannot restore it"),
            ),
        };
        proposal.actions.push(Action::new(
            Op::Command {
                command: sysctl_w(&name, &value)?,
                creates: None,
                undo,
            },
            finding,
            format!("set `{name}` to {value} in the running kernel; {was}"),
        ));
    }

    let before = host.files.get(&file);
    let text = match before {
        Some(b) => Some(super::utf8_text(
            &file,
            b,
            &format!("set `{name}` there by hand"),
        )?),
        None => None,
    };
    if let Some(line) = text.and_then(inner_break) {
        return Err(FixError::new(format!(
            "{file}:{line} has a carriage return or NUL inside it, which systemd-sysctl reads as a line break; set `{name}` there by hand"
        )));
    }
    if text
        .and_then(|t| value_in(t, &name))
        .map(|x| x.1)
        .as_deref()
        != Some(value.as_str())
    {
        let (after, how) = persist(text, &name, &value, finding);
        proposal.edits.push(Edit::new(
            &file,
            before.map(Vec::as_slice),
            after.into_bytes(),
            Validator::None,
            finding,
            format!("keep `{name} = {value}` across reboots: {how} `{file}`"),
        ));
    }
    Ok(proposal)
}

/// The file with `name = value`: existing lines of `name` changed in place, else appended.
fn persist(text: Option<&str>, name: &str, value: &str, finding: &str) -> (String, &'static str) {
    let Some(text) = text else {
        return (
            format!("# written by sshfix ({finding})\n{name} = {value}\n"),
            "a new file",
        );
    };
    let mut changed = false;
    let mut lines: Vec<String> = Vec::new();
    for l in text.split_inclusive('\n') {
        let (body, eol) = match l.strip_suffix("\r\n") {
            Some(b) => (b, "\r\n"),
            None => match l.strip_suffix('\n') {
                Some(b) => (b, "\n"),
                None => (l, ""),
            },
        };
        match assignment(body) {
            Some((k, _)) if normalise_key(k) == name => {
                let indent = &body[..body.len() - body.trim_start_matches(BLANKS).len()];
                lines.push(format!("{indent}{k} = {value}{eol}"));
                changed = true;
            }
            _ => lines.push(l.to_string()),
        }
    }
    if changed {
        return (lines.concat(), "the line in");
    }
    let eol = super::dominant_eol(text.as_bytes());
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(eol);
    }
    out.push_str(&format!("{name} = {value}{eol}"));
    (out, "a line appended to")
}

#[cfg(test)]
mod tests {
    use super::super::command::test_host::Fixture;
    use super::*;
    use serde_json::json;

    const MAX: &str = "net.netfilter.nf_conntrack_max";
    const PROC: &str = "/proc/sys/net/netfilter/nf_conntrack_max";

    fn run(f: &Fixture, args: Value) -> Result<Proposal, FixError> {
        task(&f.host(), &args, "conntrack-full")
    }

    #[test]
    fn sets_live_with_undo_and_creates_the_file() {
        // the healthy capture read nf_conntrack_max = 262144
        let f = Fixture::load("healthy");
        let p = run(&f, json!({"name": MAX, "value": 524288})).unwrap();
        assert_eq!(
            p.actions,
            vec![Action::new(
                Op::Command {
                    command: "sysctl -w 'net.netfilter.nf_conntrack_max=524288'".into(),
                    creates: None,
                    undo: Some("sysctl -w 'net.netfilter.nf_conntrack_max=262144'".into()),
                },
                "conntrack-full",
                "set `net.netfilter.nf_conntrack_max` to 524288 in the running kernel; it is 262144 now; rollback sets it back"
            )]
        );
        assert_eq!(p.edits.len(), 1);
        let e = &p.edits[0];
        assert_eq!(e.path, DEFAULT_FILE);
        assert_eq!(e.before, None);
        assert_eq!(e.validator, Validator::None);
        assert_eq!(
            String::from_utf8_lossy(&e.after),
            "# written by sshfix (conntrack-full)\nnet.netfilter.nf_conntrack_max = 524288\n"
        );
        assert_eq!(
            e.reason,
            "keep `net.netfilter.nf_conntrack_max = 524288` across reboots: a new file `/etc/sysctl.d/90-sshfix.conf`"
        );
    }

    #[test]
    fn nothing_to_do_when_live_and_persisted_agree() {
        let mut f = Fixture::load("healthy");
        f.files.insert(
            DEFAULT_FILE.into(),
            b"net/netfilter/nf_conntrack_max=262144\n".to_vec(),
        );
        assert!(run(&f, json!({"name": MAX, "value": "262144"}))
            .unwrap()
            .is_empty());
        // only the live value differs: only the command
        let p = run(&f, json!({"name": MAX, "value": 262145})).unwrap();
        assert_eq!(p.actions.len(), 1);
        assert_eq!(p.edits.len(), 1, "the file says 262144 too");
        // only the file differs: only the edit
        f.files.insert(PROC.into(), b"262145\n".to_vec());
        let p = run(&f, json!({"name": MAX, "value": 262145})).unwrap();
        assert!(p.actions.is_empty());
        assert_eq!(
            String::from_utf8_lossy(&p.edits[0].after),
            "net/netfilter/nf_conntrack_max = 262145\n"
        );
    }

    #[test]
    fn unknown_live_value_has_no_undo() {
        let mut f = Fixture::load("healthy");
        f.files.remove(PROC);
        let p = run(&f, json!({"name": MAX, "value": 524288})).unwrap();
        match &p.actions[0].op {
            Op::Command { undo, .. } => assert_eq!(*undo, None),
            o => panic!("{o:?}"),
        }
        assert!(p.actions[0].reason.contains("old value is unknown"));
    }

    #[test]
    fn existing_lines_change_in_place_and_others_are_kept() {
        let mut f = Fixture::load("healthy");
        let file = "/etc/sysctl.d/60-conntrack.conf";
        f.files.insert(
            file.into(),
            b"# conntrack\r\n  -net.netfilter.nf_conntrack_max = 65536\r\nnet.ipv4.ip_forward=1\r\n".to_vec(),
        );
        let p = run(&f, json!({"name": MAX, "value": 524288, "file": file})).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&p.edits[0].after),
            "# conntrack\r\n  -net.netfilter.nf_conntrack_max = 524288\r\nnet.ipv4.ip_forward=1\r\n"
        );
        assert_eq!(p.edits[0].before.as_deref(), Some(&f.files[file][..]));
        // appended, with the file's CRLF, after a last line without newline
        f.files.insert(file.into(), b"a.b = 1\r\nc.d = 2".to_vec());
        let p = run(&f, json!({"name": MAX, "value": 524288, "file": file})).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&p.edits[0].after),
            "a.b = 1\r\nc.d = 2\r\nnet.netfilter.nf_conntrack_max = 524288\r\n"
        );
    }

    #[test]
    fn multi_word_values_are_compared_as_words_and_quoted() {
        let mut f = Fixture::load("healthy");
        f.files.insert(
            "/proc/sys/net/ipv4/ip_local_port_range".into(),
            b"32768\t60999\n".to_vec(),
        );
        f.files.insert(
            DEFAULT_FILE.into(),
            b"net.ipv4.ip_local_port_range = 32768  60999\n".to_vec(),
        );
        let range = "net.ipv4.ip_local_port_range";
        assert!(run(&f, json!({"name": range, "value": "32768 60999"}))
            .unwrap()
            .is_empty());
        let p = run(&f, json!({"name": range, "value": "1024 65000"})).unwrap();
        match &p.actions[0].op {
            Op::Command { command, undo, .. } => {
                assert_eq!(
                    command,
                    "sysctl -w 'net.ipv4.ip_local_port_range=1024 65000'"
                );
                assert_eq!(
                    undo.as_deref(),
                    Some("sysctl -w 'net.ipv4.ip_local_port_range=32768 60999'")
                );
            }
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn a_later_file_with_another_value_is_refused() {
        let mut f = Fixture::load("healthy");
        f.files.insert(
            "/usr/lib/sysctl.d/95-vendor.conf".into(),
            b"# vendor\nnet.netfilter.nf_conntrack_max = 65536\n".to_vec(),
        );
        assert_eq!(
            run(&f, json!({"name": MAX, "value": 524288})).unwrap_err().message,
            "/usr/lib/sysctl.d/95-vendor.conf:2: sets `net.netfilter.nf_conntrack_max = 65536` and is applied after `/etc/sysctl.d/90-sshfix.conf`, so `524288` would be lost at the next boot; give `file: /usr/lib/sysctl.d/95-vendor.conf` to change it there, or remove that line"
        );
        // the same value later is fine; an /etc file of the same name hides it
        f.files
            .insert("/etc/sysctl.d/95-vendor.conf".into(), b"\n".to_vec());
        assert!(run(&f, json!({"name": MAX, "value": 524288})).is_ok());
        f.files.insert(
            SYSCTL_CONF.into(),
            b"net.netfilter.nf_conntrack_max=524288\n".to_vec(),
        );
        assert!(run(&f, json!({"name": MAX, "value": 524288})).is_ok());
        f.files.insert(
            SYSCTL_CONF.into(),
            b"net.netfilter.nf_conntrack_max=1\n".to_vec(),
        );
        assert!(run(&f, json!({"name": MAX, "value": 524288}))
            .unwrap_err()
            .message
            .starts_with("/etc/sysctl.conf:1: "));
        // an earlier file loses to ours
        let mut f = Fixture::load("healthy");
        f.files.insert(
            "/etc/sysctl.d/10-early.conf".into(),
            b"net.netfilter.nf_conntrack_max=1\n".to_vec(),
        );
        assert!(run(&f, json!({"name": MAX, "value": 524288})).is_ok());
    }

    #[test]
    fn refusals() {
        let f = Fixture::load("healthy");
        let err = |a: Value| run(&f, a).unwrap_err().message;
        assert!(
            err(json!({"name": "net..x", "value": 1})).contains("not a dotted kernel parameter")
        );
        assert!(err(json!({"name": "net.x; reboot", "value": 1}))
            .contains("not a dotted kernel parameter"));
        assert!(err(json!({"name": MAX, "value": 1.5})).contains("not an integer or a string"));
        assert!(err(json!({"name": MAX, "value": "1; reboot"})).contains("must be non-empty words"));
        assert!(err(json!({"name": MAX, "value": ""})).contains("must be non-empty words"));
        assert!(
            err(json!({"name": MAX, "value": 1, "file": "/etc/sysctl.d/x.txt"}))
                .contains("is not read at boot")
        );
        assert!(
            err(json!({"name": MAX, "value": 1, "file": "/usr/lib/sysctl.d/x.conf"}))
                .contains("is not read at boot")
        );
        assert!(
            err(json!({"name": MAX, "value": 1, "file": "/etc/sysctl.d/../x.conf"}))
                .contains("not a normalised path")
        );
        assert!(err(json!({"name": MAX})).contains("bad arguments"));
        assert!(err(json!({"name": MAX, "value": 1, "persist": false})).contains("bad arguments"));
    }

    /// Regression (tests/edit_properties.rs): a line systemd-sysctl does not
    /// read as setting the name (a vertical tab or no-break space before the
    /// key, two `-`) was changed in place, so the value was not set at boot;
    /// and a line with a `\r` inside, two lines for systemd, was replaced
    /// whole, losing the setting after the `\r`.
    #[test]
    fn only_lines_systemd_reads_as_the_name_change_and_hidden_line_breaks_are_refused() {
        let mut f = Fixture::load("healthy");
        let file = "/etc/sysctl.d/60-conntrack.conf";
        for odd in [
            "\x0bnet.netfilter.nf_conntrack_max = 1\n",
            "\u{a0}net.netfilter.nf_conntrack_max = 1\n",
            "--net.netfilter.nf_conntrack_max = 1\n",
        ] {
            f.files.insert(file.into(), odd.as_bytes().to_vec());
            let p = run(&f, json!({"name": MAX, "value": 524288, "file": file})).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&p.edits[0].after),
                format!("{odd}net.netfilter.nf_conntrack_max = 524288\n"),
                "{odd:?}"
            );
        }
        // `- key` is the key for systemd (stripped after the `-`)
        f.files.insert(
            file.into(),
            b"- net.netfilter.nf_conntrack_max = 1\n".to_vec(),
        );
        let p = run(&f, json!({"name": MAX, "value": 524288, "file": file})).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&p.edits[0].after),
            "- net.netfilter.nf_conntrack_max = 524288\n"
        );
        for hidden in [
            &b"net.netfilter.nf_conntrack_max = 9\rkernel.y = 2\n"[..],
            b"kernel.y = 2\0net.netfilter.nf_conntrack_max = 9\n",
        ] {
            f.files.insert(file.into(), hidden.to_vec());
            assert_eq!(
                run(&f, json!({"name": MAX, "value": 524288, "file": file})).unwrap_err().message,
                "/etc/sysctl.d/60-conntrack.conf:1 has a carriage return or NUL inside it, which systemd-sysctl reads as a line break; set `net.netfilter.nf_conntrack_max` there by hand"
            );
        }
        // a later file setting it after a `\r` is seen
        f.files.insert(file.into(), b"\n".to_vec());
        f.files.insert(
            SYSCTL_CONF.into(),
            b"kernel.y = 2\rnet.netfilter.nf_conntrack_max = 9\n".to_vec(),
        );
        assert!(run(&f, json!({"name": MAX, "value": 524288, "file": file}))
            .unwrap_err()
            .message
            .starts_with("/etc/sysctl.conf:1: sets `net.netfilter.nf_conntrack_max = 9`"));
    }

    /// Regression (tests/edit_properties.rs): a name starting with `-` was
    /// accepted, so the command became `sysctl -w '-p=1'` (an option of
    /// sysctl, not a setting) and the file line `-p = 1` a key `p` with
    /// failures ignored.
    #[test]
    fn a_name_with_a_leading_dash_is_refused() {
        let f = Fixture::load("healthy");
        for name in ["-p", "--", "-net.ipv4.ip_forward"] {
            assert!(
                run(&f, json!({"name": name, "value": 1}))
                    .unwrap_err()
                    .message
                    .contains("is not a dotted kernel parameter"),
                "{name}"
            );
        }
    }

    #[test]
    fn keys_as_systemd_reads_them() {
        assert_eq!(
            normalise_key("-net/ipv4/conf/eth0.1/rp_filter"),
            "net.ipv4.conf.eth0/1.rp_filter"
        );
        assert_eq!(
            normalise_key(" net.ipv4.ip_forward "),
            "net.ipv4.ip_forward"
        );
        assert_eq!(order_key("/etc/sysctl.d/a/b.conf"), None);
    }
}
