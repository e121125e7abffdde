//! Fix modules: pure functions from a host's facts and a fix task's arguments to proposed edits and actions, never executing anything.
//!
//! A check's `fix:` tasks (`docs/playbooks.md`) name a module and give it
//! arguments, e.g. `hosts_access: {allow: [192.0.2.10]}`. The plan renders
//! the arguments' templates over the host's facts, then calls [`run`]. Each
//! module reads [`Host`] — the derived facts, the raw script output, and the
//! files as they will be when the task runs (earlier tasks' edits included,
//! so two fixes of one file compose) — and returns a [`Proposal`]: the
//! [`Edit`]s of files and the [`Action`]s to take. "Nothing to change" is an
//! empty proposal; a fix that cannot be made safely is a [`FixError`] that
//! says why, which the plan lists as "needs a human".

pub mod command;
pub mod file;
pub mod firewall;
pub mod haproxy;
pub mod hosts_access;
pub mod service;
pub mod sshd_config;
pub mod sysctl;

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::change::{Action, Edit};
use crate::facts::frame::Frames;
use crate::facts::model::HostFacts;

/// The module names a fix task may use, in the order the docs list them.
pub const MODULES: &[&str] = &[
    "sshd_config",
    "hosts_access",
    "firewall",
    "haproxy",
    "sysctl",
    "file",
    "command",
    "service",
];

/// What a fix module reads about one host.
#[derive(Debug, Clone, Copy)]
pub struct Host<'a> {
    /// The inventory name.
    pub name: &'a str,
    /// The derived facts (what `sshfix facts --format json` prints).
    pub facts: &'a HostFacts,
    /// The facts script's raw items (command outputs such as `nft-json`,
    /// `iptables-save`), for modules that need more than the derived facts.
    pub frames: &'a Frames,
    /// Absolute path → content of every file the facts script read, with the
    /// edits of earlier fix tasks of this plan applied. A path that is absent
    /// was missing or unreadable on the host.
    pub files: &'a BTreeMap<String, Vec<u8>>,
    /// The files exactly as the facts script read them: line numbers in the
    /// facts (`sshd.test.config_errors`, `sshd.banner.line`, …) refer to
    /// these, not to `files` (see [`map_line`]).
    pub gathered: &'a BTreeMap<String, Vec<u8>>,
    /// The SSH port clients use.
    pub port: u16,
    /// The clients that must get in (`sshfix_allow_from`, or the controller).
    pub clients: &'a [IpAddr],
}

/// What one fix task proposes. Empty when there is nothing to change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proposal {
    pub edits: Vec<Edit>,
    pub actions: Vec<Action>,
}

impl Proposal {
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty() && self.actions.is_empty()
    }
}

/// Why a module proposes no change although the finding needs one: a
/// sentence naming the file and line (or the argument) concerned and what a
/// human should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixError {
    pub message: String,
}

impl FixError {
    pub fn new(message: impl Into<String>) -> FixError {
        FixError {
            message: message.into(),
        }
    }
}

impl fmt::Display for FixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FixError {}

impl From<sshd_config::ModuleError> for FixError {
    fn from(e: sshd_config::ModuleError) -> FixError {
        FixError::new(e.to_string())
    }
}

impl From<hosts_access::ModuleError> for FixError {
    fn from(e: hosts_access::ModuleError) -> FixError {
        FixError::new(e.to_string())
    }
}

/// Where line `line` (1-based) of `path` as gathered is in the files as
/// they are now (`host.files`, after earlier fix tasks): `Ok(Some(n))`, or
/// `Ok(None)` when that line was itself changed or removed by an earlier
/// edit. Lines are compared as bytes, so an insertion above shifts the
/// number and nothing else.
pub fn map_line(host: &Host, path: &str, line: usize) -> Result<Option<usize>, FixError> {
    let (Some(old), Some(new)) = (host.gathered.get(path), host.files.get(path)) else {
        return Err(FixError::new(format!(
            "{path} is not among the files read from the host"
        )));
    };
    if old == new {
        return Ok(Some(line));
    }
    let split = |b: &[u8]| -> Vec<Vec<u8>> {
        b.split_inclusive(|c| *c == b'\n')
            .map(<[u8]>::to_vec)
            .collect()
    };
    let (a, b) = (split(old), split(new));
    let Some(want) = line.checked_sub(1).filter(|i| *i < a.len()) else {
        return Ok(None);
    };
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &a, &b) {
        if let similar::DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            if (old_index..old_index + len).contains(&want) {
                return Ok(Some(new_index + (want - old_index) + 1));
            }
        }
    }
    Ok(None)
}

/// The content of `path` as text. Modules rewrite a file whole, so bytes
/// that are not UTF-8 (a Latin-1 comment) would not survive: such a file is
/// refused, naming its first bad line and what to do `instead`.
pub fn utf8_text<'a>(path: &str, bytes: &'a [u8], instead: &str) -> Result<&'a str, FixError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|c| **c == b'\n')
            .count()
            + 1;
        FixError::new(format!(
            "{path}:{line} is not UTF-8 text; sshfix rewrites the file whole and would change those bytes, so {instead}"
        ))
    })
}

/// The line ending a file mostly uses, for the lines a module adds: `\r\n`
/// when more of its newline-terminated lines end in CRLF than in a bare LF,
/// else `\n` (also for a file without any newline).
pub fn dominant_eol(bytes: &[u8]) -> &'static str {
    let all = bytes.iter().filter(|b| **b == b'\n').count();
    let crlf = bytes.windows(2).filter(|w| w == b"\r\n").count();
    if crlf * 2 > all {
        "\r\n"
    } else {
        "\n"
    }
}

/// Reads a module's arguments (rendered JSON) into its typed form; unknown
/// keys and wrong types are errors naming the module and argument.
pub fn args<T: DeserializeOwned>(module: &str, args: &Value) -> Result<T, FixError> {
    serde_json::from_value(args.clone())
        .map_err(|e| FixError::new(format!("`{module}`: bad arguments: {e}")))
}

/// Runs fix module `module` with its (rendered) arguments for `finding`.
pub fn run(module: &str, host: &Host, args: &Value, finding: &str) -> Result<Proposal, FixError> {
    match module {
        "sshd_config" => sshd_config::task(host, args, finding),
        "hosts_access" => hosts_access::task(host, args, finding),
        "firewall" => firewall::task(host, args, finding),
        "haproxy" => haproxy::task(host, args, finding),
        "sysctl" => sysctl::task(host, args, finding),
        "file" => file::task(host, args, finding),
        "command" => command::task(host, args, finding),
        "service" => service::task(host, args, finding),
        other => Err(FixError::new(format!(
            "no fix module `{other}` (there are: {})",
            MODULES.join(", ")
        ))),
    }
}

/// The files of one host as a plan's fix tasks change them one after the
/// other: each task reads the files with the earlier tasks' edits applied,
/// and all edits of one path end up as one [`Edit`] from the original to the
/// final content.
#[derive(Debug, Clone)]
pub struct Workspace {
    original: BTreeMap<String, Vec<u8>>,
    current: BTreeMap<String, Vec<u8>>,
    edits: Vec<Edit>,
    actions: Vec<Action>,
}

impl Workspace {
    /// Starts from the files the facts script read.
    pub fn new(files: BTreeMap<String, Vec<u8>>) -> Workspace {
        Workspace {
            current: files.clone(),
            original: files,
            edits: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// The files as they are after the proposals added so far.
    pub fn files(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.current
    }

    /// Adds a proposal: its edits are applied to the files (merged with
    /// earlier edits of the same path), its actions kept in order.
    pub fn add(&mut self, proposal: Proposal) {
        for e in proposal.edits {
            self.current.insert(e.path.clone(), e.after.clone());
            match self.edits.iter_mut().find(|x| x.path == e.path) {
                Some(x) => merge_into(x, e),
                None => {
                    // `before` is what the host has, even when a module was
                    // shown an already edited file
                    let before = self.original.get(&e.path);
                    let mut e = e;
                    e.before_sha256 = before.map(|b| crate::change::sha256_hex(b));
                    e.before = before.cloned();
                    self.edits.push(e);
                }
            }
        }
        self.actions.extend(proposal.actions);
    }

    /// The actions added so far, in order.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// Everything proposed: one edit per path (edits that change nothing
    /// dropped), actions in order.
    pub fn finish(self) -> Proposal {
        Proposal {
            edits: self
                .edits
                .into_iter()
                .filter(|e| e.before.as_deref() != Some(&e.after[..]))
                .collect(),
            actions: self.actions,
        }
    }
}

/// Folds a later edit of the same path into `x`.
fn merge_into(x: &mut Edit, e: Edit) {
    use crate::change::Validator;
    x.after = e.after;
    crate::change::add_findings(&mut x.finding, &e.finding);
    x.reason = format!("{}\n{}", x.reason, e.reason);
    x.validator = match (
        std::mem::replace(&mut x.validator, Validator::None),
        e.validator,
    ) {
        (
            Validator::SshdConfig { config, mut expect },
            Validator::SshdConfig { expect: more, .. },
        ) => {
            for (k, v) in more {
                expect.retain(|(k2, _)| *k2 != k);
                expect.push((k, v));
            }
            Validator::SshdConfig { config, expect }
        }
        (Validator::None, v) => v,
        (v, _) => v,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dominant_line_ending_counts_terminated_lines() {
        assert_eq!(dominant_eol(b""), "\n");
        assert_eq!(dominant_eol(b"a"), "\n");
        assert_eq!(dominant_eol(b"a\r\nb\r\nc\n"), "\r\n");
        assert_eq!(dominant_eol(b"a\r\nb\n"), "\n");
        // an unterminated last line does not count
        assert_eq!(dominant_eol(b"a\r\nb"), "\r\n");
    }

    #[test]
    fn text_that_is_not_utf8_names_its_line() {
        let e = utf8_text("/etc/x", b"ok\n# Ge\xe4ndert\n", "do it by hand").unwrap_err();
        assert!(
            e.message.starts_with("/etc/x:2 is not UTF-8 text;")
                && e.message.ends_with("so do it by hand"),
            "{e}"
        );
        assert_eq!(utf8_text("/etc/x", b"fine\n", "-").unwrap(), "fine\n");
    }
}
