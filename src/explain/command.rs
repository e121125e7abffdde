//! The `sshfix explain` command: arguments, reading stdin, choosing the
//! output look from the terminal, printing. The only I/O of [`super`].

use std::collections::HashMap;
use std::io::{IsTerminal, Read};

use clap::Args;

use super::render::{self, Look};
use super::{classify, diagnose, Docs};
use crate::checks::{Catalogue, Severity};
use crate::cli::{print_stdout, Format, GlobalArgs};
use crate::error::{Exit, Fatal};

/// `sshfix explain` arguments.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A finding ID, or what ssh printed (quoted or not); `-` or nothing with
    /// a pipe: read an error message or a whole `ssh -vvv` log from stdin
    #[arg(value_name = "FINDING-ID | MESSAGE | -")]
    pub input: Vec<String>,
}

/// Examples under `sshfix explain --help`.
pub const AFTER_HELP: &str = "Examples:
  sshfix explain tcp-wrappers-deny
  sshfix explain \"kex_exchange_identification: read: Connection reset by peer\"
  sshfix explain Connection closed by 10.0.0.1 port 22
  ssh -vvv user@web1 true 2>&1 | sshfix explain -
  sshfix explain maxstartups-exhausted --format json

A finding ID prints its documentation (what the client sees, evidence,
cause, fix, how to check by hand). Anything else is read as what ssh
printed; the likely causes are listed most likely first, each with the
command that confirms it. Exit status: 0, or 1 for an unknown ID or text
that holds no ssh error.";

/// The widest human output, even on a wider terminal.
pub const MAX_WIDTH: usize = 100;

/// Stdin larger than this is refused (a log is a few kilobytes).
const MAX_STDIN: u64 = 8 << 20;

/// What the user asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// One word that looks like a finding ID.
    Finding(String),
    /// Anything else: a message or a log.
    Message(String),
    /// `-`, or no argument: read stdin.
    Stdin,
}

/// Reads the positional arguments. Pure.
pub fn query(input: &[String]) -> Query {
    match input {
        [] => Query::Stdin,
        [one] if one == "-" => Query::Stdin,
        [one] if looks_like_id(one) => Query::Finding(one.to_ascii_lowercase()),
        many => Query::Message(many.join(" ")),
    }
}

/// Lowercase (or uppercase) words joined by single hyphens, e.g. `tcp-wrappers-deny`.
fn looks_like_id(s: &str) -> bool {
    !s.is_empty()
        && s.split('-')
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Runs `sshfix explain`.
pub fn run(global: &GlobalArgs, args: &ExplainArgs) -> Result<Exit, Fatal> {
    let docs = Docs::builtin().map_err(|e| Fatal::input(format!("internal error: {e}")))?;
    let catalogue = Catalogue::load(&global.playbook).map_err(|e| Fatal::input(e.to_string()))?;
    let severities: HashMap<String, Severity> = catalogue
        .checks()
        .iter()
        .map(|c| (c.id.clone(), c.severity))
        .collect();
    let text = match query(&args.input) {
        Query::Finding(id) => return explain_finding(global, docs, &catalogue, &severities, &id),
        Query::Message(text) => text,
        Query::Stdin => read_stdin()?,
    };
    let found = classify::classify(&text).ok_or_else(|| {
        Fatal::input("no SSH client error recognised in the input")
            .hint("pass what ssh printed, e.g. `sshfix explain \"kex_exchange_identification: read: Connection reset by peer\"`")
            .hint("or a whole log: `ssh -vvv HOST true 2>&1 | sshfix explain -`")
    })?;
    let diagnosis = diagnose(docs, &severities, found)
        .map_err(|e| Fatal::input(format!("internal error: {e}")))?;
    match global.format {
        Format::Json => print_json(&render::diagnosis_json(&diagnosis))?,
        Format::Human => print_stdout(&render::diagnosis_human(&diagnosis, look()))?,
    }
    Ok(Exit::Success)
}

fn explain_finding(
    global: &GlobalArgs,
    docs: &Docs,
    catalogue: &Catalogue,
    severities: &HashMap<String, Severity>,
    id: &str,
) -> Result<Exit, Fatal> {
    let Some(doc) = docs.finding(id) else {
        if let Some(check) = catalogue.checks().iter().find(|c| c.id == id) {
            return Err(Fatal::input(format!(
                "finding `{id}` comes from `{}`, which does not document it for `sshfix explain`",
                check.source
            ))
            .hint("its summary and evidence appear in `sshfix plan`"));
        }
        let close = docs.suggest(id);
        let err = Fatal::input(format!("unknown finding ID `{id}`"));
        let err = if close.is_empty() {
            let all: Vec<&str> = docs.findings.iter().map(|f| f.id.as_str()).collect();
            err.hint(format!("the finding IDs are: {}", all.join(", ")))
        } else {
            let close: Vec<String> = close.iter().map(|c| format!("`{c}`")).collect();
            err.hint(format!("did you mean {}?", close.join(" or ")))
        };
        return Err(err.hint(
            "to explain an error message, pass it whole: `sshfix explain \"Connection refused\"`",
        ));
    };
    let severity = severities.get(id).copied();
    match global.format {
        Format::Json => print_json(&render::finding_json(docs, doc, severity))?,
        Format::Human => print_stdout(&render::finding_human(docs, doc, severity, look()))?,
    }
    Ok(Exit::Success)
}

fn read_stdin() -> Result<String, Fatal> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(
            Fatal::input("`sshfix explain` needs a finding ID, an error message, or a log on stdin")
                .hint("e.g. `sshfix explain tcp-wrappers-deny`, `sshfix explain \"Connection refused\"`, or `ssh -vvv HOST true 2>&1 | sshfix explain -`"),
        );
    }
    let mut bytes = Vec::new();
    stdin
        .lock()
        .take(MAX_STDIN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Fatal::input(format!("reading stdin: {e}")))?;
    if bytes.len() as u64 > MAX_STDIN {
        return Err(Fatal::input(format!(
            "stdin is larger than {} MiB; pass only the ssh output",
            MAX_STDIN >> 20
        )));
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Wrapped as all prose sshfix prints ([`crate::report::width`]), at most
/// [`MAX_WIDTH`]; bold where colour is on.
fn look() -> Look {
    Look {
        width: Some(crate::report::width().min(MAX_WIDTH)),
        bold: crate::report::color_stdout(),
    }
}

fn print_json(value: &serde_json::Value) -> Result<(), Fatal> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Fatal::input(format!("rendering JSON: {e}")))?;
    text.push('\n');
    print_stdout(&text)
}
