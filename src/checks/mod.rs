//! Checks: the catalogue of causes as playbooks (YAML with Jinja `when:`), evaluated over a host's facts into findings.
//!
//! A playbook (format: `docs/playbooks.md`) is a list of checks. The built-in
//! one (`playbooks/catalogue.yml`) is embedded in the binary; users add their
//! own with `-p FILE`. [`Catalogue::load`] reads and validates them all —
//! YAML, keys, types, ids, and every Jinja expression and template is compiled
//! — so a broken playbook is reported, with `file:line:column`, before any
//! host is touched. [`Catalogue::evaluate`] then turns one host's facts (a
//! JSON object; its keys are the variables) into [`Finding`]s, pure and
//! without I/O. An error in one check ([`CheckError`]) does not stop the others.

mod jinja;
mod load;
mod locate;

use std::fmt;
use std::path::PathBuf;

use minijinja::{Environment, Value as JValue};
use serde::Serialize;
use serde_json::Value;

/// The built-in catalogue's text, embedded at build time.
pub const BUILTIN_TEXT: &str = include_str!("../../playbooks/catalogue.yml");

/// The name the built-in catalogue has in messages.
pub const BUILTIN_NAME: &str = "playbooks/catalogue.yml";

/// How bad a finding is. Orders `Critical < Warning < Info`, the order
/// findings are reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks access.
    Critical,
    /// Can block under load, or delays connections.
    Warning,
    /// Worth knowing; not a cause.
    Info,
}

impl Severity {
    /// The word used in playbooks and JSON (`critical`, `warning`, `info`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place in a playbook: file as shown to the user, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Source {
    /// `file:line:column`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One entry of a check's `when:` (all entries must be true).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Condition {
    /// A YAML boolean (`when: true`).
    Bool { value: bool, source: Source },
    /// A Jinja expression, without `{{ }}`.
    Expr { expr: String, source: Source },
}

impl Condition {
    /// Where the condition is written.
    pub fn source(&self) -> &Source {
        match self {
            Condition::Bool { source, .. } | Condition::Expr { source, .. } => source,
        }
    }
}

/// A Jinja template (`summary`, an `evidence` entry) and where it is written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateText {
    pub template: String,
    pub source: Source,
}

/// A fix task as written: which fix module, with which arguments (strings
/// may be Jinja templates), under which conditions, for which items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixTask {
    /// The task's `name`, if any (shown to people).
    pub name: Option<String>,
    /// The fix module (one of [`crate::modules::MODULES`]).
    pub module: String,
    /// The arguments as JSON (YAML 1.1 types, as Ansible reads them); a
    /// string holding `{{ }}`/`{% %}` is rendered per host, and a string that
    /// is exactly `{{ expr }}` becomes the expression's value (a list stays a
    /// list).
    pub args: Value,
    /// All must be true for the task to run (evaluated per loop item).
    pub when: Vec<Condition>,
    /// An expression giving the list of items; the task runs once per item,
    /// with the item as the variable `item`.
    pub loop_over: Option<TemplateText>,
    /// Where the task starts (its first key, or `{` of a flow mapping).
    pub source: Source,
}

/// A fix task rendered for one host (and one loop item): the module and its
/// final arguments, ready for [`crate::modules::run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixCall {
    pub module: String,
    pub args: Value,
    /// The task's name, if any.
    pub name: Option<String>,
    /// Where the task is written.
    pub source: Source,
}

/// What a finding's `fix:` gives on one host.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Fix {
    /// The check has no fix tasks: a human must act.
    #[default]
    None,
    /// The calls to make (may be empty when every task's `when` was false).
    Calls(Vec<FixCall>),
    /// A task could not be rendered; the message names it.
    Error(String),
}

/// One check of a playbook, validated and with its templates compiled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub id: String,
    pub severity: Severity,
    /// All must be true for the check to fire.
    pub when: Vec<Condition>,
    pub summary: TemplateText,
    pub evidence: Vec<TemplateText>,
    pub fix: Vec<FixTask>,
    /// Where the check starts (its first key).
    pub source: Source,
}

/// A check that fired on a host. Serialises exactly as the plan JSON's
/// findings: `{"id", "severity", "summary", "evidence"}`; `source` is not
/// serialised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    pub summary: String,
    /// Rendered evidence, one entry per non-blank line.
    pub evidence: Vec<String>,
    /// The check that produced it.
    #[serde(skip)]
    pub source: Source,
    /// Its fix tasks rendered for this host.
    #[serde(skip)]
    pub fix: Fix,
}

/// A check that could not be evaluated on a host (its condition failed, was
/// not a boolean, or its summary/evidence did not render).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckError {
    pub id: String,
    /// Where the check starts.
    pub source: Source,
    /// What went wrong, naming the failing condition or template and its place.
    pub message: String,
}

impl fmt::Display for CheckError {
    /// `file:line:column: check `id`: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: check `{}`: {}", self.source, self.id, self.message)
    }
}

/// What a catalogue found on one host.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evaluation {
    /// Ordered by severity (critical, warning, info), then catalogue order.
    pub findings: Vec<Finding>,
    /// In catalogue order.
    pub errors: Vec<CheckError>,
}

/// One problem found while loading playbooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file as shown to the user.
    pub file: String,
    /// 1-based line and column; `None` when the problem is the whole file.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// What to do about it, shown as a `hint:` line.
    pub hint: Option<String>,
}

impl fmt::Display for Problem {
    /// `file:line:column: message` and, when there is one, `\nhint: …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file, self.message)?,
            (Some(l), None) => write!(f, "{}:{l}: {}", self.file, self.message)?,
            _ => write!(f, "{}: {}", self.file, self.message)?,
        }
        if let Some(h) = &self.hint {
            write!(f, "\nhint: {h}")?;
        }
        Ok(())
    }
}

/// Every problem found in the playbooks (all files are checked, not only up
/// to the first problem).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for PlaybookError {
    /// One problem per line (hints on their own lines).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PlaybookError {}

/// The loaded checks of all playbooks, with their templates compiled.
pub struct Catalogue {
    checks: Vec<Check>,
    env: Environment<'static>,
}

impl fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalogue")
            .field("checks", &self.checks)
            .finish_non_exhaustive()
    }
}

impl Catalogue {
    /// The built-in catalogue alone.
    pub fn builtin() -> Result<Catalogue, PlaybookError> {
        Catalogue::from_texts(&[(BUILTIN_NAME.to_string(), BUILTIN_TEXT.to_string())])
    }

    /// The built-in catalogue, then each user playbook in order. Ids must be
    /// unique across all of them.
    pub fn load(extra: &[PathBuf]) -> Result<Catalogue, PlaybookError> {
        let mut texts = vec![(BUILTIN_NAME.to_string(), BUILTIN_TEXT.to_string())];
        let mut problems = Vec::new();
        for path in extra {
            let name = path.display().to_string();
            match std::fs::read_to_string(path) {
                Ok(text) => texts.push((name, text)),
                Err(e) => problems.push(Problem {
                    file: name,
                    line: None,
                    column: None,
                    message: format!("cannot read the playbook: {e}"),
                    hint: None,
                }),
            }
        }
        match Catalogue::from_texts(&texts) {
            Ok(c) if problems.is_empty() => Ok(c),
            Ok(_) => Err(PlaybookError { problems }),
            Err(mut e) => {
                e.problems.extend(problems);
                Err(e)
            }
        }
    }

    /// Playbooks given as `(name shown in messages, text)`, in order. Pure.
    pub fn from_texts(files: &[(String, String)]) -> Result<Catalogue, PlaybookError> {
        let mut loader = load::Loader::new(jinja::environment());
        for (name, text) in files {
            loader.file(name, text);
        }
        let (checks, env, problems) = loader.finish();
        if problems.is_empty() {
            Ok(Catalogue { checks, env })
        } else {
            Err(PlaybookError { problems })
        }
    }

    /// The checks, in catalogue order.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// Evaluates every check over one host's facts (a JSON object whose keys
    /// are the top-level variables). Pure.
    pub fn evaluate(&self, facts: &Value) -> Evaluation {
        let ctx = jinja::to_value(facts);
        let mut out = Evaluation::default();
        for check in &self.checks {
            match self.evaluate_check(check, &ctx) {
                Ok(Some(f)) => out.findings.push(f),
                Ok(None) => {}
                Err(message) => out.errors.push(CheckError {
                    id: check.id.clone(),
                    source: check.source.clone(),
                    message,
                }),
            }
        }
        // Stable: catalogue order within a severity.
        out.findings.sort_by_key(|f| f.severity);
        out
    }

    /// Whether every entry of a `when` holds, evaluated in order and
    /// stopping at the first false one (as Ansible does). An entry that fails,
    /// is undefined or is not a boolean is an error naming it and its place.
    fn conditions_hold(&self, when: &[Condition], ctx: &JValue) -> Result<bool, String> {
        for cond in when {
            let (expr, source) = match cond {
                Condition::Bool { value: true, .. } => continue,
                Condition::Bool { value: false, .. } => return Ok(false),
                Condition::Expr { expr, source } => (expr, source),
            };
            let compiled = self.env.compile_expression(expr).map_err(|e| {
                format!("`when` `{expr}` at {source}: {}", jinja::describe(&e, expr))
            })?;
            let v = compiled.eval(ctx.clone()).map_err(|e| {
                format!("`when` `{expr}` at {source}: {}", jinja::describe(&e, expr))
            })?;
            if v.is_undefined() {
                return Err(format!(
                    "`when` `{expr}` at {source}: undefined value: `{expr}` is undefined"
                ));
            }
            if v.kind() != minijinja::value::ValueKind::Bool {
                return Err(format!(
                    "`when` `{expr}` at {source}: the result is a {} ({}), not a boolean; conditions must be true or false (as in Ansible 2.19), e.g. `{expr} | length > 0`, `{expr} is defined` or `{expr} | bool`",
                    v.kind(),
                    short(&v)
                ));
            }
            if !v.is_true() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn evaluate_check(&self, check: &Check, ctx: &JValue) -> Result<Option<Finding>, String> {
        if !self.conditions_hold(&check.when, ctx)? {
            return Ok(None);
        }
        let summary = self
            .render(&check.id, "summary", &check.summary, ctx)?
            .trim()
            .to_string();
        if summary.is_empty() {
            return Err(format!(
                "`summary` at {} rendered empty text",
                check.summary.source
            ));
        }
        let mut evidence = Vec::new();
        for (i, t) in check.evidence.iter().enumerate() {
            let text = self.render(&check.id, &format!("evidence[{i}]"), t, ctx)?;
            evidence.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string),
            );
        }
        let fix = if check.fix.is_empty() {
            Fix::None
        } else {
            match self.fix_calls(check, ctx) {
                Ok(calls) => Fix::Calls(calls),
                Err(e) => Fix::Error(e),
            }
        };
        Ok(Some(Finding {
            id: check.id.clone(),
            severity: check.severity,
            summary,
            evidence,
            source: check.source.clone(),
            fix,
        }))
    }

    /// Renders a fired check's fix tasks over the host's facts: each task's
    /// `loop` (if any), then per item its `when`, then its arguments.
    fn fix_calls(&self, check: &Check, ctx: &JValue) -> Result<Vec<FixCall>, String> {
        let mut out = Vec::new();
        for task in &check.fix {
            let at = |m: String| format!("fix task `{}` at {}: {m}", task.module, task.source);
            let items: Vec<Option<JValue>> = match &task.loop_over {
                None => vec![None],
                Some(l) => {
                    let v = self
                        .env
                        .compile_expression(&l.template)
                        .and_then(|e| e.eval(ctx.clone()))
                        .map_err(|e| at(format!("`loop`: {}", jinja::describe(&e, &l.template))))?;
                    if v.kind() != minijinja::value::ValueKind::Seq {
                        return Err(at(format!(
                            "`loop` `{}` gave a {}, not a list",
                            l.template,
                            v.kind()
                        )));
                    }
                    v.try_iter()
                        .map_err(|e| at(e.to_string()))?
                        .map(Some)
                        .collect()
                }
            };
            for item in items {
                let scope = match &item {
                    Some(i) => minijinja::context! { item => i.clone(), ..ctx.clone() },
                    None => ctx.clone(),
                };
                if !self.conditions_hold(&task.when, &scope).map_err(at)? {
                    continue;
                }
                let args = self.render_args(&task.args, &scope).map_err(at)?;
                out.push(FixCall {
                    module: task.module.clone(),
                    args,
                    name: task.name.clone(),
                    source: task.source.clone(),
                });
            }
        }
        Ok(out)
    }

    /// Renders every template string in fix arguments.
    fn render_args(&self, v: &Value, scope: &JValue) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) if s.contains("{{") || s.contains("{%") => {
                match load::whole_expression(s) {
                    Some(expr) => {
                        let r = self
                            .env
                            .compile_expression(expr)
                            .and_then(|e| e.eval(scope.clone()))
                            .map_err(|e| format!("`{s}`: {}", jinja::describe(&e, expr)))?;
                        if r.is_undefined() {
                            return Err(format!("`{s}`: `{expr}` is undefined"));
                        }
                        serde_json::to_value(&r).map_err(|e| format!("`{s}`: {e}"))?
                    }
                    None => Value::String(
                        self.env
                            .render_str(s, scope.clone())
                            .map_err(|e| format!("`{s}`: {}", jinja::describe(&e, s)))?,
                    ),
                }
            }
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.render_args(x, scope))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| Ok((k.clone(), self.render_args(x, scope)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    fn render(
        &self,
        id: &str,
        what: &str,
        t: &TemplateText,
        ctx: &JValue,
    ) -> Result<String, String> {
        let fail = |e: &minijinja::Error| {
            format!(
                "the condition is true, but `{what}` at {} failed: {}",
                t.source,
                jinja::describe(e, &t.template)
            )
        };
        let tmpl = self
            .env
            .get_template(&load::template_name(id, what))
            .map_err(|e| fail(&e))?;
        let mut w = jinja::CappedWriter { buf: Vec::new() };
        tmpl.render_captured_to(ctx.clone(), &mut w)
            .map_err(|e| fail(&e))?;
        Ok(String::from_utf8_lossy(&w.buf).into_owned())
    }
}

/// A value shortened for a message.
fn short(v: &JValue) -> String {
    let s = format!("{v:?}");
    if s.chars().count() > 60 {
        let mut t: String = s.chars().take(57).collect();
        t.push_str("...");
        t
    } else {
        s
    }
}

#[cfg(test)]
mod tests;
