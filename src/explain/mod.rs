//! `sshfix explain`: the documentation of each finding, and what a client error means.
//!
//! The text lives in one file, `docs/findings/findings.yml`, embedded here
//! ([`Docs::builtin`]); it also feeds the generated `docs/findings.md`
//! ([`page::render`]). Two questions are answered from it, both pure:
//!
//! - `sshfix explain FINDING-ID`: [`Docs::finding`] (or [`Docs::suggest`] for
//!   an unknown ID), rendered by [`render`];
//! - `sshfix explain "MESSAGE"` or an `ssh -vvv` log: [`classify::classify`]
//!   reads what `ssh` printed into a [`classify::MessageKind`], and
//!   [`diagnose`] turns it into the likely causes, most likely first, with the
//!   commands that confirm each.
//!
//! [`command`] is the only part that does I/O (stdin, the terminal, stdout).

pub mod classify;
pub mod command;
pub mod page;
pub mod render;

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::checks::Severity;
use classify::{Classification, MessageKind};

/// The embedded source of every finding's documentation.
pub const SOURCE_TEXT: &str = include_str!("../../docs/findings/findings.yml");

/// The name the source has in messages.
pub const SOURCE_NAME: &str = "docs/findings/findings.yml";

/// The documentation of one finding ID.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FindingDoc {
    pub id: String,
    /// One line, without this host's particulars.
    pub title: String,
    /// A paragraph shown before the fields, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What the client sees (the symptom).
    pub client_sees: String,
    pub evidence: String,
    pub cause: String,
    /// What sshfix proposes.
    pub fix: String,
    /// What sshfix never does about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub never: Option<String>,
    /// The one command (on the server unless it says otherwise) that confirms it.
    pub confirm: String,
    /// The by-hand session, one command per line.
    pub check: String,
}

/// A finding to look for when a client prints a message of some kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CauseRef {
    /// The finding ID.
    pub id: String,
    /// A word or two for the table of `docs/findings.md` (`reject`, `drop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Why it fits, or what tells it apart.
    pub why: String,
}

/// What one kind of client message means, and its causes in order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MessageDoc {
    pub class: MessageKind,
    /// The probe symptom (`interface.md`) this corresponds to.
    pub symptom: String,
    /// Examples of what `ssh` prints.
    pub ssh_prints: Vec<String>,
    pub meaning: String,
    /// Most likely first.
    pub causes: Vec<CauseRef>,
}

/// The whole source file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Docs {
    pub messages: Vec<MessageDoc>,
    pub findings: Vec<FindingDoc>,
}

static BUILTIN: LazyLock<Result<Docs, String>> = LazyLock::new(|| Docs::parse(SOURCE_TEXT));

impl Docs {
    /// Parses a source text (the format of `docs/findings/findings.yml`).
    pub fn parse(text: &str) -> Result<Docs, String> {
        serde_yaml::from_str(text).map_err(|e| format!("{SOURCE_NAME}: {e}"))
    }

    /// The embedded documentation (parsed once).
    pub fn builtin() -> Result<&'static Docs, String> {
        BUILTIN.as_ref().map_err(Clone::clone)
    }

    /// The documentation of `id`.
    pub fn finding(&self, id: &str) -> Option<&FindingDoc> {
        self.findings.iter().find(|f| f.id == id)
    }

    /// What a kind of message means.
    pub fn message(&self, kind: MessageKind) -> Option<&MessageDoc> {
        self.messages.iter().find(|m| m.class == kind)
    }

    /// Known IDs close to `id` (edit distance at most a third of its length,
    /// at least 2, or one contains the other), closest first.
    pub fn suggest(&self, id: &str) -> Vec<&str> {
        let id = id.to_ascii_lowercase();
        let limit = (id.chars().count() / 3).max(2);
        let mut close: Vec<(usize, &str)> = self
            .findings
            .iter()
            .filter_map(|f| {
                let d = edit_distance(&id, &f.id);
                let contains = id.len() >= 4 && (f.id.contains(&id) || id.contains(&f.id));
                (d <= limit || contains).then_some((d, f.id.as_str()))
            })
            .collect();
        close.sort();
        close.into_iter().map(|(_, id)| id).collect()
    }

    /// The message kinds whose causes include `id`, with the cause entry.
    pub fn kinds_pointing_to(&self, id: &str) -> Vec<(&MessageDoc, &CauseRef)> {
        self.messages
            .iter()
            .filter_map(|m| m.causes.iter().find(|c| c.id == id).map(|c| (m, c)))
            .collect()
    }
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Where the failing connection went, for the suggested commands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Target {
    /// The name ssh was asked to connect to (`debug1: Connecting to NAME …`,
    /// `connect to host NAME`), else the address it printed.
    pub host: Option<String>,
    /// The address ssh connected to, when it printed one.
    pub address: Option<String>,
    pub port: Option<u16>,
}

/// The commands that confirm a cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confirm {
    /// Shows the symptom as sshfix's probe sees it.
    pub probe: String,
    /// Lists the findings that apply, with evidence and fix.
    pub plan: String,
    /// By hand, on the server unless the command says otherwise.
    pub by_hand: String,
}

/// One likely cause of a client message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    /// 1 for the most likely.
    pub rank: usize,
    pub id: String,
    pub severity: Option<Severity>,
    pub title: String,
    pub why: String,
    pub confirm: Confirm,
}

/// What a client message means: its kind, the lines that decided it, and
/// the likely causes in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    pub class: MessageKind,
    /// The probe symptom it corresponds to.
    pub symptom: String,
    pub meaning: String,
    /// The lines of the input that decided the class.
    pub matched: Vec<String>,
    pub target: Target,
    pub causes: Vec<Cause>,
}

/// The placeholder for the server in commands when the input names none.
pub const HOST_PLACEHOLDER: &str = "HOST";

/// Turns a classification into the causes to look for, most likely first,
/// each with the commands that confirm it. `severities` maps finding IDs to
/// the catalogue's severity. Pure.
pub fn diagnose(
    docs: &Docs,
    severities: &HashMap<String, Severity>,
    found: Classification,
) -> Result<Diagnosis, String> {
    let message = docs.message(found.kind).ok_or_else(|| {
        format!(
            "{SOURCE_NAME} has no entry for messages of class `{}`",
            found.kind.as_str()
        )
    })?;
    let host = found
        .target
        .host
        .as_deref()
        .map(|h| shlex::try_quote(h).map_or_else(|_| h.to_string(), |q| q.into_owned()))
        .unwrap_or_else(|| HOST_PLACEHOLDER.to_string());
    let mut causes = Vec::new();
    for (i, c) in message.causes.iter().enumerate() {
        let doc = docs.finding(&c.id).ok_or_else(|| {
            format!(
                "{SOURCE_NAME}: message class `{}` names `{}`, which has no documentation",
                found.kind.as_str(),
                c.id
            )
        })?;
        causes.push(Cause {
            rank: i + 1,
            id: c.id.clone(),
            severity: severities.get(&c.id).copied(),
            title: doc.title.clone(),
            why: c.why.clone(),
            confirm: Confirm {
                probe: format!("sshfix probe -l {host}"),
                plan: format!("sshfix plan -l {host}"),
                by_hand: replace_host(&doc.confirm, &host),
            },
        });
    }
    Ok(Diagnosis {
        class: found.kind,
        symptom: message.symptom.clone(),
        meaning: message.meaning.clone(),
        matched: found.matched,
        target: found.target,
        causes,
    })
}

/// Replaces the word `HOST` (not part of a longer word) with `host`.
fn replace_host(command: &str, host: &str) -> String {
    static WORD: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\bHOST\b").expect("valid regex"));
    WORD.replace_all(command, regex::NoExpand(host))
        .into_owned()
}

#[cfg(test)]
mod tests;
