//! Reading playbooks: YAML (through the inventory's YAML 1.1 reader) into
//! validated [`Check`]s, with every problem located at `file:line:column`.

use std::path::Path;
use std::sync::LazyLock;

use minijinja::Environment;
use regex::Regex;

use super::jinja;
use super::locate::{locate, Step};
use super::{Check, Condition, FixTask, Problem, Severity, Source, TemplateText};
use crate::inventory::yaml::{self, Kind, Node};
use crate::modules::MODULES;
use serde_json::Value;

const TOP_KEYS: &[&str] = &["name", "checks"];
const CHECK_KEYS: &[&str] = &["id", "severity", "when", "summary", "evidence", "fix"];
/// The keys of a fix task besides its module.
const FIX_TASK_KEYS: &[&str] = &["name", "when", "loop"];

/// `expr` when `s` is exactly one `{{ expr }}` (Ansible then keeps the
/// expression's type: a list stays a list).
pub(super) fn whole_expression(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") {
        return None;
    }
    Some(inner.trim())
}

static ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9-]*$").expect("valid regex"));

/// The environment's name for a check's template (`summary`, `evidence[0]`).
/// Ids cannot contain `.`, so names never collide.
pub(super) fn template_name(id: &str, what: &str) -> String {
    format!("{id}.{what}")
}

/// Collects checks and problems over several files.
pub(super) struct Loader {
    env: Environment<'static>,
    checks: Vec<Check>,
    problems: Vec<Problem>,
}

/// One file being read.
struct File<'a> {
    name: &'a str,
    text: &'a str,
}

impl File<'_> {
    /// Where a node starts: its own offset, its first key's, or (for nodes
    /// the reader has no offset for) the locator's answer.
    fn pos(&self, node: &Node, path: &[Step]) -> (usize, usize) {
        if let Some(o) = node.at {
            // A quoted scalar's offset is its first character inside the
            // quotes; point at the opening quote, as the locator does.
            let quoted = o > 0 && matches!(self.text.as_bytes().get(o - 1), Some(b'"' | b'\''));
            return yaml::line_col(self.text, if quoted { o - 1 } else { o });
        }
        if let Kind::Map(pairs) = &node.kind {
            if let Some(o) = pairs.first().and_then(|(k, _)| k.at) {
                // A flow mapping starts at its `{`, a block mapping at its first key.
                let before = self.text.get(..o).unwrap_or("").trim_end();
                let o = if before.ends_with('{') {
                    before.len() - 1
                } else {
                    o
                };
                return yaml::line_col(self.text, o);
            }
        }
        locate(self.text, path).unwrap_or((1, 1))
    }

    fn source(&self, node: &Node, path: &[Step]) -> Source {
        let (line, column) = self.pos(node, path);
        Source {
            file: self.name.to_string(),
            line,
            column,
        }
    }

    fn problem(&self, node: &Node, path: &[Step], message: String) -> Problem {
        let (l, c) = self.pos(node, path);
        Problem {
            file: self.name.to_string(),
            line: Some(l),
            column: Some(c),
            message,
            hint: None,
        }
    }
}

/// A type name with its article: `a list`, `an integer`.
fn a(type_name: &str) -> String {
    match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {type_name}"),
        _ => format!("a {type_name}"),
    }
}

fn with_hint(mut p: Problem, hint: impl Into<String>) -> Problem {
    p.hint = Some(hint.into());
    p
}

fn push(path: &[Step], step: Step) -> Vec<Step> {
    let mut p = path.to_vec();
    p.push(step);
    p
}

/// Levenshtein distance, for "did you mean" on keys.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn suggest(key: &str, known: &[&str]) -> Option<String> {
    known
        .iter()
        .map(|k| (distance(&key.to_ascii_lowercase(), k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k.to_string())
}

/// A mapping's entries as `(key, key node, value node, value path)`, with
/// unknown, duplicate, merge (`<<`) and non-string keys reported.
fn entries<'n>(
    f: &File,
    node: &'n Node,
    path: &[Step],
    known: &[&str],
    what: &str,
    problems: &mut Vec<Problem>,
) -> Vec<(String, &'n Node, Vec<Step>)> {
    let Kind::Map(pairs) = &node.kind else {
        return Vec::new();
    };
    let mut out: Vec<(String, &Node, Vec<Step>)> = Vec::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        let kpath = push(path, Step::Key(i));
        if k.kind == Kind::Merge {
            problems.push(with_hint(
                f.problem(
                    k,
                    &kpath,
                    format!("merge keys (`<<`) are not supported in {what}"),
                ),
                "write the keys out; anchors and aliases (`&x`, `*x`) on values do work",
            ));
            continue;
        }
        let Kind::Str(name) = &k.kind else {
            problems.push(f.problem(
                k,
                &kpath,
                format!("key `{}` of {what} must be a string", k.key_text()),
            ));
            continue;
        };
        if !known.contains(&name.as_str()) {
            let mut p = f.problem(k, &kpath, format!("unknown key `{name}` in {what}"));
            p.hint = Some(match suggest(name, known) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "the keys of {what} are {}",
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
            problems.push(p);
            continue;
        }
        if out.iter().any(|(n, _, _)| n == name) {
            let earlier = pairs
                .iter()
                .enumerate()
                .find(|(_, (ek, _))| ek.as_str() == Some(name))
                .map(|(j, (ek, _))| f.source(ek, &push(path, Step::Key(j))));
            problems.push(f.problem(
                k,
                &kpath,
                format!(
                    "duplicate key `{name}` in {what}{}",
                    earlier.map_or(String::new(), |s| format!(" (first at {s})"))
                ),
            ));
            continue;
        }
        out.push((name.clone(), v, push(path, Step::Value(i))));
    }
    out
}

impl Loader {
    pub(super) fn new(env: Environment<'static>) -> Loader {
        Loader {
            env,
            checks: Vec::new(),
            problems: Vec::new(),
        }
    }

    pub(super) fn finish(self) -> (Vec<Check>, Environment<'static>, Vec<Problem>) {
        (self.checks, self.env, self.problems)
    }

    /// Reads one playbook; its checks follow those already read.
    pub(super) fn file(&mut self, name: &str, text: &str) {
        let f = File { name, text };
        // Syntax first, with yaml_serde's own location.
        if let Err(e) = serde_yaml::from_str::<serde::de::IgnoredAny>(text) {
            let loc = e.location();
            let msg = e.to_string();
            // yaml_serde appends " at line L column C"; the location is in front.
            let msg = match msg.find(" at line ") {
                Some(i) if loc.is_some() => msg[..i].to_string(),
                _ => msg,
            };
            self.problems.push(Problem {
                file: name.to_string(),
                line: loc.as_ref().map(|l| l.line()),
                column: loc.as_ref().map(|l| l.column()),
                message: format!("invalid YAML: {msg}"),
                hint: None,
            });
            return;
        }
        let root = match yaml::load(text, Path::new(name)) {
            Ok(n) => n,
            Err(e) => {
                // "name:line:column: message" — split the location back out.
                let rest = e.message.strip_prefix(&format!("{name}:"));
                let mut parts = rest.unwrap_or("").splitn(3, ':');
                let l = parts.next().and_then(|s| s.parse().ok());
                let c = parts.next().and_then(|s| s.parse().ok());
                let m = parts.next().map(str::trim);
                self.problems.push(Problem {
                    file: name.to_string(),
                    line: l,
                    column: c,
                    message: match (l, c, m) {
                        (Some(_), Some(_), Some(m)) => m.to_string(),
                        _ => e.message.clone(),
                    },
                    hint: None,
                });
                return;
            }
        };
        if root.kind == Kind::Null {
            self.problems.push(Problem {
                file: name.to_string(),
                line: None,
                column: None,
                message: "the playbook is empty".into(),
                hint: Some("write `checks: []` for a playbook without checks".into()),
            });
            return;
        }
        if !matches!(root.kind, Kind::Map(_)) {
            self.problems.push(with_hint(
                f.problem(
                    &root,
                    &[],
                    format!(
                        "a playbook must be a mapping with `checks:`, found {}",
                        a(root.type_name())
                    ),
                ),
                "start the file with `checks:` and list the checks under it (docs/playbooks.md)",
            ));
            return;
        }
        let mut problems = Vec::new();
        let top = entries(&f, &root, &[], TOP_KEYS, "a playbook", &mut problems);
        let mut saw_checks = false;
        for (key, value, path) in &top {
            match key.as_str() {
                "name" if !matches!(value.kind, Kind::Str(_)) => {
                    problems.push(f.problem(
                        value,
                        path,
                        format!("`name` must be a string, found {}", a(value.type_name())),
                    ));
                }
                "checks" => {
                    saw_checks = true;
                    let Kind::Seq(items) = &value.kind else {
                        problems.push(f.problem(
                            value,
                            path,
                            format!(
                                "`checks` must be a list of checks, found {}",
                                a(value.type_name())
                            ),
                        ));
                        continue;
                    };
                    for (i, item) in items.iter().enumerate() {
                        self.check(&f, item, &push(path, Step::Item(i)), &mut problems);
                    }
                }
                _ => {}
            }
        }
        if !saw_checks && problems.is_empty() {
            problems.push(with_hint(
                f.problem(&root, &[], "the playbook has no `checks:` list".into()),
                "write `checks: []` for a playbook without checks",
            ));
        }
        self.problems.extend(problems);
    }

    fn check(&mut self, f: &File, node: &Node, path: &[Step], problems: &mut Vec<Problem>) {
        let source = f.source(node, path);
        if !matches!(node.kind, Kind::Map(_)) {
            problems.push(f.problem(
                node,
                path,
                format!(
                    "a check must be a mapping (`- id: …`), found {}",
                    a(node.type_name())
                ),
            ));
            return;
        }
        let before = problems.len();
        let fields = entries(f, node, path, CHECK_KEYS, "a check", problems);
        let get = |k: &str| {
            fields
                .iter()
                .find(|(n, _, _)| n == k)
                .map(|(_, v, p)| (*v, p.as_slice()))
        };
        // A typo already reported with "did you mean `k`?" is not reported
        // again as a missing `k`.
        let typo_of = |k: &str, problems: &[Problem]| {
            let hint = format!("did you mean `{k}`?");
            problems[before..]
                .iter()
                .any(|p| p.hint.as_deref() == Some(hint.as_str()))
        };
        let missing = |k: &str| {
            with_hint(
                Problem {
                    file: f.name.to_string(),
                    line: Some(source.line),
                    column: Some(source.column),
                    message: format!("the check has no `{k}`"),
                    hint: None,
                },
                match k {
                    "when" => "write `when: true` for a check that always applies",
                    _ => "every check needs `id`, `severity`, `when` and `summary` (docs/playbooks.md)",
                },
            )
        };

        // id
        let id = match get("id") {
            None => {
                if !typo_of("id", problems) {
                    problems.push(missing("id"));
                }
                None
            }
            Some((v, p)) => match &v.kind {
                Kind::Str(s) if ID.is_match(s) => {
                    if let Some(other) = self.checks.iter().find(|c| c.id == *s) {
                        problems.push(f.problem(
                            v,
                            p,
                            format!(
                                "duplicate check id `{s}`: already defined at {}",
                                other.source
                            ),
                        ));
                        None
                    } else {
                        Some(s.clone())
                    }
                }
                Kind::Str(_) => {
                    problems.push(with_hint(
                        f.problem(v, p, format!("bad check id `{}`", v.key_text())),
                        "an id is lowercase letters, digits and `-`, starting with a letter or digit (e.g. `tcp-wrappers-deny`)",
                    ));
                    None
                }
                _ => {
                    problems.push(with_hint(
                        f.problem(
                            v,
                            p,
                            format!("a check id must be a string, found {}", a(v.type_name())),
                        ),
                        "quote it (`id: \"...\"`): YAML reads an unquoted number as a number",
                    ));
                    None
                }
            },
        };

        // severity
        let severity = match get("severity") {
            None => {
                if !typo_of("severity", problems) {
                    problems.push(missing("severity"));
                }
                None
            }
            Some((v, p)) => match v.as_str() {
                Some("critical") => Some(Severity::Critical),
                Some("warning") => Some(Severity::Warning),
                Some("info") => Some(Severity::Info),
                _ => {
                    problems.push(with_hint(
                        f.problem(v, p, format!("bad severity `{}`", v.key_text())),
                        "severity is one of `critical`, `warning`, `info`",
                    ));
                    None
                }
            },
        };

        // when
        let mut when = Vec::new();
        match get("when") {
            None => {
                if !typo_of("when", problems) {
                    problems.push(missing("when"));
                }
            }
            Some((v, p)) => match &v.kind {
                Kind::Seq(items) if items.is_empty() => problems.push(with_hint(
                    f.problem(v, p, "`when` is an empty list".into()),
                    "write `when: true` for a check that always applies",
                )),
                _ => when = self.conditions(f, v, p, problems),
            },
        }

        // summary, evidence: templates, added to the environment once the id is known.
        let summary = match get("summary") {
            None => {
                if !typo_of("summary", problems) {
                    problems.push(missing("summary"));
                }
                None
            }
            Some((v, p)) => self.template_text(f, v, p, "summary", problems),
        };
        let mut evidence = Vec::new();
        if let Some((v, p)) = get("evidence") {
            match &v.kind {
                Kind::Null => {}
                Kind::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(t) = self.template_text(
                            f,
                            item,
                            &push(p, Step::Item(i)),
                            "evidence",
                            problems,
                        ) {
                            evidence.push(t);
                        }
                    }
                }
                _ => problems.push(with_hint(
                    f.problem(
                        v,
                        p,
                        format!(
                            "`evidence` must be a list of templates, found {}",
                            a(v.type_name())
                        ),
                    ),
                    "write each template as a list item: `evidence: [\"{{ x }}\"]`",
                )),
            }
        }

        // fix: tasks naming a fix module, with their templates checked.
        let mut fix = Vec::new();
        if let Some((v, p)) = get("fix") {
            match &v.kind {
                Kind::Null => {}
                Kind::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(t) = self.fix_task(f, item, &push(p, Step::Item(i)), problems) {
                            fix.push(t);
                        }
                    }
                }
                _ => problems.push(f.problem(
                    v,
                    p,
                    format!("`fix` must be a list of tasks, found {}", a(v.type_name())),
                )),
            }
        }

        if problems.len() != before {
            return;
        }
        let (Some(id), Some(severity), Some(summary)) = (id, severity, summary) else {
            return;
        };
        // Templates are compiled into the environment under the check's id.
        let mut ok = true;
        let mut add = |what: String, t: &TemplateText, problems: &mut Vec<Problem>| {
            if let Err(e) = self
                .env
                .add_template_owned(template_name(&id, &what), t.template.clone())
            {
                ok = false;
                problems.push(Problem {
                    file: t.source.file.clone(),
                    line: Some(t.source.line),
                    column: Some(t.source.column),
                    message: format!(
                        "invalid Jinja template in `{}`: {}",
                        what.split('[').next().unwrap_or(&what),
                        jinja::describe(&e, &t.template)
                    ),
                    hint: None,
                });
            }
        };
        add("summary".into(), &summary, problems);
        for (i, t) in evidence.iter().enumerate() {
            add(format!("evidence[{i}]"), t, problems);
        }
        if !ok {
            return;
        }
        self.checks.push(Check {
            id,
            severity,
            when,
            summary,
            evidence,
            fix,
            source,
        });
    }

    /// One fix task: exactly one module key (its arguments a mapping, or
    /// empty), and optionally `name`, `when` and `loop`. Every template in
    /// the arguments must compile.
    fn fix_task(
        &self,
        f: &File,
        node: &Node,
        path: &[Step],
        problems: &mut Vec<Problem>,
    ) -> Option<FixTask> {
        let source = f.source(node, path);
        if !matches!(node.kind, Kind::Map(_)) {
            problems.push(with_hint(
                f.problem(
                    node,
                    path,
                    format!(
                        "a fix task must be a mapping (`- hosts_access: {{allow: [...]}}`), found {}",
                        a(node.type_name())
                    ),
                ),
                format!("the fix modules are {}", MODULES.join(", ")),
            ));
            return None;
        }
        let before = problems.len();
        let mut known: Vec<&str> = FIX_TASK_KEYS.to_vec();
        known.extend_from_slice(MODULES);
        let fields = entries(f, node, path, &known, "a fix task", problems);
        let modules: Vec<&(String, &Node, Vec<Step>)> = fields
            .iter()
            .filter(|(k, _, _)| MODULES.contains(&k.as_str()))
            .collect();
        let (module, args) = match modules.as_slice() {
            [(m, v, p)] => {
                if !matches!(v.kind, Kind::Map(_) | Kind::Null) {
                    problems.push(f.problem(
                        v,
                        p,
                        format!(
                            "the arguments of `{m}` must be a mapping, found {}",
                            a(v.type_name())
                        ),
                    ));
                }
                self.check_arg_templates(f, v, p, problems);
                let args = match v.kind {
                    Kind::Null => Value::Object(Default::default()),
                    _ => v.to_json(),
                };
                (m.clone(), args)
            }
            [] => {
                if problems.len() == before {
                    problems.push(with_hint(
                        f.problem(node, path, "the fix task names no fix module".into()),
                        format!("the fix modules are {}", MODULES.join(", ")),
                    ));
                }
                return None;
            }
            [_, (m, v, p), ..] => {
                problems.push(with_hint(
                    f.problem(
                        v,
                        p,
                        format!("a fix task names one module; `{m}` is a second one"),
                    ),
                    "write one task per module",
                ));
                return None;
            }
        };
        let get = |k: &str| {
            fields
                .iter()
                .find(|(n, _, _)| n == k)
                .map(|(_, v, p)| (*v, p.as_slice()))
        };
        let name = match get("name") {
            None => None,
            Some((v, p)) => match v.as_str() {
                Some(s) => Some(s.to_string()),
                None => {
                    problems.push(f.problem(
                        v,
                        p,
                        format!("`name` must be a string, found {}", a(v.type_name())),
                    ));
                    None
                }
            },
        };
        let when = match get("when") {
            Some((v, p)) => self.conditions(f, v, p, problems),
            None => Vec::new(),
        };
        let loop_over = match get("loop") {
            None => None,
            Some((v, p)) => match &v.kind {
                Kind::Str(s) => {
                    let expr = whole_expression(s).unwrap_or(s.as_str()).trim();
                    match self.env.compile_expression(expr) {
                        Ok(_) => Some(TemplateText {
                            template: expr.to_string(),
                            source: f.source(v, p),
                        }),
                        Err(e) => {
                            problems.push(f.problem(
                                v,
                                p,
                                format!(
                                    "invalid Jinja expression in `loop`: {}",
                                    jinja::describe(&e, expr)
                                ),
                            ));
                            None
                        }
                    }
                }
                _ => {
                    problems.push(with_hint(
                        f.problem(
                            v,
                            p,
                            format!(
                                "`loop` must be an expression giving a list, found {}",
                                a(v.type_name())
                            ),
                        ),
                        "e.g. `loop: \"{{ sshd.host_keys | selectattr('problem') | list }}\"`",
                    ));
                    None
                }
            },
        };
        if problems.len() != before {
            return None;
        }
        Some(FixTask {
            name,
            module,
            args,
            when,
            loop_over,
            source,
        })
    }

    /// Every string in a fix task's arguments that holds `{{`/`{%` must
    /// compile (a whole `{{ expr }}` as an expression).
    fn check_arg_templates(&self, f: &File, v: &Node, p: &[Step], problems: &mut Vec<Problem>) {
        match &v.kind {
            Kind::Str(s) if s.contains("{{") || s.contains("{%") => {
                let err = match whole_expression(s) {
                    Some(expr) => self.env.compile_expression(expr).err(),
                    None => self.env.template_from_str(s).err(),
                };
                if let Some(e) = err {
                    problems.push(f.problem(
                        v,
                        p,
                        format!(
                            "invalid Jinja template in fix arguments: {}",
                            jinja::describe(&e, s)
                        ),
                    ));
                }
            }
            Kind::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.check_arg_templates(f, item, &push(p, Step::Item(i)), problems);
                }
            }
            Kind::Map(pairs) => {
                for (i, (_, item)) in pairs.iter().enumerate() {
                    self.check_arg_templates(f, item, &push(p, Step::Value(i)), problems);
                }
            }
            _ => {}
        }
    }

    /// A `when`: one entry, or a list of them (each checked by
    /// [`Self::condition`]; the ones with problems are left out).
    fn conditions(
        &self,
        f: &File,
        v: &Node,
        p: &[Step],
        problems: &mut Vec<Problem>,
    ) -> Vec<Condition> {
        match &v.kind {
            Kind::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.condition(f, item, &push(p, Step::Item(i)), problems))
                .collect(),
            _ => self.condition(f, v, p, problems).into_iter().collect(),
        }
    }

    /// One `when` entry: a boolean, or an expression that compiles.
    fn condition(
        &self,
        f: &File,
        v: &Node,
        p: &[Step],
        problems: &mut Vec<Problem>,
    ) -> Option<Condition> {
        let source = f.source(v, p);
        match &v.kind {
            Kind::Bool(b) => Some(Condition::Bool { value: *b, source }),
            Kind::Str(s) => {
                if s.trim().is_empty() {
                    problems.push(f.problem(v, p, "`when` is an empty expression".into()));
                    return None;
                }
                if s.contains("{{") || s.contains("{%") {
                    let bare = s
                        .trim()
                        .trim_start_matches("{{")
                        .trim_end_matches("}}")
                        .trim();
                    problems.push(with_hint(
                        f.problem(v, p, format!("`when` is already a Jinja expression; it must not contain `{{{{ }}}}` or `{{% %}}`: `{s}`")),
                        format!("drop the braces: `when: {bare}`"),
                    ));
                    return None;
                }
                if let Err(e) = self.env.compile_expression(s) {
                    problems.push(f.problem(
                        v,
                        p,
                        format!(
                            "invalid Jinja expression in `when`: {}",
                            jinja::describe(&e, s)
                        ),
                    ));
                    return None;
                }
                Some(Condition::Expr {
                    expr: s.clone(),
                    source,
                })
            }
            _ => {
                problems.push(with_hint(
                    f.problem(
                        v,
                        p,
                        format!(
                            "`when` must be an expression, a list of them, or a boolean; found {}",
                            a(v.type_name())
                        ),
                    ),
                    "quote it if it is meant as an expression: `when: \"x == 1\"`",
                ));
                None
            }
        }
    }

    /// A template's text (syntax is checked when it is added to the environment).
    fn template_text(
        &self,
        f: &File,
        v: &Node,
        p: &[Step],
        what: &str,
        problems: &mut Vec<Problem>,
    ) -> Option<TemplateText> {
        match &v.kind {
            Kind::Str(s) => {
                if let Err(e) = self.env.template_from_str(s) {
                    problems.push(f.problem(
                        v,
                        p,
                        format!(
                            "invalid Jinja template in `{what}`: {}",
                            jinja::describe(&e, s)
                        ),
                    ));
                    return None;
                }
                Some(TemplateText {
                    template: s.clone(),
                    source: f.source(v, p),
                })
            }
            _ => {
                problems.push(with_hint(
                    f.problem(
                        v,
                        p,
                        format!(
                            "`{what}` must be a string (a Jinja template), found {}",
                            a(v.type_name())
                        ),
                    ),
                    "quote it: `\"...\"`",
                ));
                None
            }
        }
    }
}
