//! Tests of the playbook loader and evaluator, over the sample playbooks in
//! `tests/fixtures/playbooks/`.

use super::*;
use pretty_assertions::assert_eq;
use serde_json::json;

const GOOD: &str = include_str!("../../tests/fixtures/playbooks/good.yml");
const FACTS: &str = include_str!("../../tests/fixtures/playbooks/facts.json");

fn one(name: &str, text: &str) -> Result<Catalogue, PlaybookError> {
    Catalogue::from_texts(&[(name.to_string(), text.to_string())])
}

/// The problems of a playbook that must not load, as displayed.
fn problems(name: &str, text: &str) -> Vec<String> {
    match one(name, text) {
        Ok(c) => panic!("{name} loaded: {c:?}"),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

fn facts() -> Value {
    serde_json::from_str(FACTS).unwrap()
}

#[test]
fn builtin_catalogue_loads() {
    let c = Catalogue::builtin().unwrap_or_else(|e| panic!("{e}"));
    // Ids are unique and every check says where it came from.
    let mut ids: Vec<&str> = c.checks().iter().map(|c| c.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), c.checks().len());
    assert!(c.checks().iter().all(|ch| ch.source.file == BUILTIN_NAME));
}

#[test]
fn load_with_user_files_puts_builtin_first() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("site.yml");
    std::fs::write(&p, GOOD).unwrap();
    let c = Catalogue::load(std::slice::from_ref(&p)).unwrap_or_else(|e| panic!("{e}"));
    let builtin = Catalogue::builtin().unwrap().checks().len();
    assert_eq!(c.checks().len(), builtin + 6);
    assert_eq!(c.checks()[builtin].id, "site-wrappers-deny");
    assert_eq!(c.checks()[builtin].source.file, p.display().to_string());

    let missing = dir.path().join("nope.yml");
    let e = Catalogue::load(std::slice::from_ref(&missing)).unwrap_err();
    assert_eq!(e.problems.len(), 1);
    assert!(
        e.to_string().starts_with(&format!(
            "{}: cannot read the playbook: ",
            missing.display()
        )),
        "{e}"
    );
}

#[test]
fn good_playbook_loads_with_places() {
    let c = one("site.yml", GOOD).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = c.checks().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "site-wrappers-deny",
            "site-old-openssh",
            "site-usedns",
            "site-always",
            "site-never",
            "site-optional"
        ]
    );
    let first = &c.checks()[0];
    assert_eq!(first.source.to_string(), "site.yml:4:5");
    assert_eq!(first.severity, Severity::Critical);
    assert_eq!(
        first.when,
        vec![
            Condition::Expr {
                expr: "sshd.libwrap".into(),
                source: Source {
                    file: "site.yml".into(),
                    line: 7,
                    column: 9
                }
            },
            Condition::Expr {
                expr: "hosts_access.denied | length > 0".into(),
                source: Source {
                    file: "site.yml".into(),
                    line: 8,
                    column: 9
                }
            },
        ]
    );
    // A quoted summary: at its opening quote.
    assert_eq!(first.summary.source.to_string(), "site.yml:9:14");
    // A double-quoted template with `\n`: the reader has no offset; the locator finds it.
    assert_eq!(
        first.evidence[0].template,
        "{% for d in hosts_access.denied %}{{ d.rule }}\n{% endfor %}"
    );
    assert_eq!(first.evidence[0].source.to_string(), "site.yml:11:9");
    assert_eq!(first.fix.len(), 1);
    assert_eq!(first.fix[0].module, "hosts_access");
    assert_eq!(
        first.fix[0].args,
        json!({"allow": "{{ hosts_access.denied | map(attribute='client') | list }}"})
    );
    assert_eq!(first.fix[0].source.to_string(), "site.yml:13:9");
    // A block scalar: at its `|`.
    assert_eq!(
        c.checks()[1].evidence[0].source.to_string(),
        "site.yml:21:9"
    );
    assert_eq!(
        c.checks()[4].when,
        vec![
            Condition::Bool {
                value: false,
                source: Source {
                    file: "site.yml".into(),
                    line: 38,
                    column: 12
                }
            },
            Condition::Expr {
                expr: "undefined_variable".into(),
                source: Source {
                    file: "site.yml".into(),
                    line: 38,
                    column: 19
                }
            },
        ]
    );
}

#[test]
fn evaluation_of_the_sample_playbook() {
    let c = one("site.yml", GOOD).unwrap();
    let ev = c.evaluate(&facts());
    assert_eq!(ev.errors, vec![]);
    let got: Vec<(&str, Severity)> = ev
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.severity))
        .collect();
    // Ordered by severity, then catalogue order; `site-never` (false first,
    // so the undefined variable is never evaluated) and `site-optional` do not fire.
    assert_eq!(
        got,
        [
            ("site-wrappers-deny", Severity::Critical),
            ("site-usedns", Severity::Warning),
            ("site-always", Severity::Warning),
            ("site-old-openssh", Severity::Info),
        ]
    );
    let f = &ev.findings[0];
    assert_eq!(f.summary, "hosts_access denies 10.0.0.5, 10.0.0.6");
    // Rendered, split into lines, blank lines dropped.
    assert_eq!(
        f.evidence,
        [
            "/etc/hosts.deny:3: sshd: ALL",
            "/etc/hosts.deny:3: sshd: ALL"
        ]
    );
    assert_eq!(f.source.to_string(), "site.yml:4:5");
    assert_eq!(
        serde_json::to_value(f).unwrap(),
        json!({"id": "site-wrappers-deny", "severity": "critical",
               "summary": "hosts_access denies 10.0.0.5, 10.0.0.6",
               "evidence": ["/etc/hosts.deny:3: sshd: ALL", "/etc/hosts.deny:3: sshd: ALL"]})
    );
    let old = ev
        .findings
        .iter()
        .find(|f| f.id == "site-old-openssh")
        .unwrap();
    assert_eq!(old.summary, "OpenSSH 9.2p1 predates PerSourcePenalties");
    assert_eq!(
        old.evidence,
        ["drop connection #0 from [10.0.0.5]:51234 on [10.0.0.1]:22 penalty: failed authentication"]
    );
    assert!(ev.findings.iter().all(|f| f.id != "site-optional"));
}

#[test]
fn nothing_found_on_healthy_facts() {
    let c = one("site.yml", GOOD).unwrap();
    let healthy = json!({
        "sshd": {"libwrap": true, "version": "9.9p1", "config": {"usedns": "no"}},
        "hosts_access": {"denied": []},
        "logs": {"lines": []}
    });
    let ev = c.evaluate(&healthy);
    assert_eq!(ev.errors, vec![]);
    let ids: Vec<&str> = ev.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["site-always"]);
}

const EVAL: &str = r#"checks:
  - id: undefined-var
    severity: critical
    when: nosuch.thing
    summary: x
  - id: undefined-attr
    severity: critical
    when:
      - sshd.libwrap
      - sshd.nosuch
    summary: x
  - id: not-boolean
    severity: warning
    when: hosts_access.denied
    summary: x
  - id: is-defined
    severity: warning
    when: nosuch is not defined and sshd.nosuch is undefined and (sshd.nosuch | default(true))
    summary: "{{ nosuch | default('fallback') }}{{ sshd.nosuch | default('') }}"
  - id: bad-summary
    severity: info
    when: true
    summary: "{{ sshd.nosuch }}"
  - id: empty-summary
    severity: info
    when: true
    summary: "{% if false %}x{% endif %}"
  - id: bad-evidence
    severity: info
    when: true
    summary: ok
    evidence:
      - "fine"
      - "{{ sshd.version | regex_search('(') }}"
  - id: runaway
    severity: info
    when: true
    summary: "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
  - id: huge
    severity: info
    when: true
    summary: "{% for i in range(100) %}{{ 'x' * 100000 }}{% endfor %}"
  - id: last
    severity: critical
    when: sshd.version is version('9.2', '>=')
    summary: still evaluated after the errors
"#;

#[test]
fn evaluation_errors_are_per_check() {
    let c = one("eval.yml", EVAL).unwrap_or_else(|e| panic!("{e}"));
    let ev = c.evaluate(&facts());
    let found: Vec<(&str, &str)> = ev
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.summary.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("last", "still evaluated after the errors"),
            ("is-defined", "fallback")
        ]
    );
    let errs: Vec<String> = ev.errors.iter().map(ToString::to_string).collect();
    let ids: Vec<&str> = ev.errors.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "undefined-var",
            "undefined-attr",
            "not-boolean",
            "bad-summary",
            "empty-summary",
            "bad-evidence",
            "runaway",
            "huge"
        ]
    );
    let want = [
        "eval.yml:2:5: check `undefined-var`: `when` `nosuch.thing` at eval.yml:4:11: undefined value: `nosuch` is undefined",
        "eval.yml:6:5: check `undefined-attr`: `when` `sshd.nosuch` at eval.yml:10:9: undefined value: `sshd.nosuch` is undefined",
        "eval.yml:12:5: check `not-boolean`: `when` `hosts_access.denied` at eval.yml:14:11: the result is a sequence",
        "eval.yml:20:5: check `bad-summary`: the condition is true, but `summary` at eval.yml:23:14 failed: undefined value",
        "eval.yml:24:5: check `empty-summary`: `summary` at eval.yml:27:14 rendered empty text",
        "eval.yml:28:5: check `bad-evidence`: the condition is true, but `evidence[1]` at eval.yml:34:9 failed: invalid operation: `regex_search`: invalid regular expression `(`: unclosed group",
        "eval.yml:35:5: check `runaway`: the condition is true, but `summary` at eval.yml:38:14 failed: engine ran out of fuel",
        "eval.yml:39:5: check `huge`: the condition is true, but `summary` at eval.yml:42:14 failed: failed to write output: ",
    ];
    for (got, want) in errs.iter().zip(want) {
        assert!(got.starts_with(want), "\n got: {got}\nwant: {want}…");
    }
    assert!(errs[2].contains("| length > 0"), "{}", errs[2]);
    assert!(
        errs[7].contains("output longer than 1048576 bytes"),
        "{}",
        errs[7]
    );
}

#[test]
fn when_forms() {
    let text = "checks:\n  - {id: t, severity: info, when: true, summary: t}\n  - {id: f, severity: info, when: no, summary: f}\n  - {id: l, severity: info, when: [yes, '1 < 2', 'sshd.libwrap'], summary: l}\n  - {id: lf, severity: info, when: ['1 < 2', '2 < 1'], summary: lf}\n";
    let c = one("w.yml", text).unwrap_or_else(|e| panic!("{e}"));
    let ev = c.evaluate(&facts());
    assert_eq!(ev.errors, vec![]);
    let ids: Vec<&str> = ev.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["t", "l"]);
    // A flow mapping's place is its `{`.
    assert_eq!(c.checks()[0].source.to_string(), "w.yml:2:5");
}

#[test]
fn error_yaml_syntax() {
    let p = problems(
        "e.yml",
        include_str!("../../tests/fixtures/playbooks/errors/yaml-syntax.yml"),
    );
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with("e.yml:5:12: invalid YAML: did not find expected ',' or ']'"),
        "{p:?}"
    );
}

#[test]
fn error_unknown_key_suggests() {
    let p = problems(
        "e.yml",
        include_str!("../../tests/fixtures/playbooks/errors/unknown-key.yml"),
    );
    assert_eq!(
        p,
        ["e.yml:3:5: unknown key `sevrity` in a check\nhint: did you mean `severity`?"]
    );
    let p = problems("e.yml", "checks: []\nchecsk: []\n");
    assert_eq!(
        p,
        ["e.yml:2:1: unknown key `checsk` in a playbook\nhint: did you mean `checks`?"]
    );
    let p = problems(
        "e.yml",
        "checks:\n  - id: a\n    severity: info\n    when: true\n    summary: x\n    remedy: []\n",
    );
    assert_eq!(
        p,
        ["e.yml:6:5: unknown key `remedy` in a check\nhint: the keys of a check are `id`, `severity`, `when`, `summary`, `evidence`, `fix`"]
    );
}

#[test]
fn error_wrong_types() {
    let p = problems(
        "e.yml",
        include_str!("../../tests/fixtures/playbooks/errors/wrong-type.yml"),
    );
    assert_eq!(
        p,
        [
            "e.yml:4:11: `when` must be an expression, a list of them, or a boolean; found an integer\nhint: quote it if it is meant as an expression: `when: \"x == 1\"`",
            "e.yml:5:14: `summary` must be a string (a Jinja template), found a list\nhint: quote it: `\"...\"`",
        ]
    );
    let p = problems(
        "e.yml",
        "name: [a]\nchecks:\n  - id: 0755\n    severity: info\n    when: true\n    summary: x\n",
    );
    assert_eq!(
        p,
        [
            "e.yml:1:7: `name` must be a string, found a list",
            "e.yml:3:9: a check id must be a string, found an integer\nhint: quote it (`id: \"...\"`): YAML reads an unquoted number as a number",
        ]
    );
    let p = problems("e.yml", "- id: a\n");
    assert_eq!(
        p,
        ["e.yml:1:1: a playbook must be a mapping with `checks:`, found a list\nhint: start the file with `checks:` and list the checks under it (docs/playbooks.md)"]
    );
    let p = problems("e.yml", "checks:\n  id: a\n");
    assert_eq!(
        p,
        ["e.yml:2:3: `checks` must be a list of checks, found a mapping"]
    );
    let p = problems("e.yml", "name: x\n");
    assert_eq!(p, ["e.yml:1:1: the playbook has no `checks:` list\nhint: write `checks: []` for a playbook without checks"]);
    let p = problems("e.yml", "checks:\n  - id: a\n    severity: info\n    summary: x\n    evidence: x\n    fix: {a: 1}\n");
    assert_eq!(
        p,
        [
            "e.yml:2:5: the check has no `when`\nhint: write `when: true` for a check that always applies",
            "e.yml:5:15: `evidence` must be a list of templates, found a string\nhint: write each template as a list item: `evidence: [\"{{ x }}\"]`",
            "e.yml:6:10: `fix` must be a list of tasks, found a mapping",
        ]
    );
    let p = problems(
        "e.yml",
        "checks:\n  - id: a\n    id: b\n    severity: info\n    when: []\n    summary: x\n",
    );
    assert_eq!(
        p,
        [
            "e.yml:3:5: duplicate key `id` in a check (first at e.yml:2:5)",
            "e.yml:5:11: `when` is an empty list\nhint: write `when: true` for a check that always applies",
        ]
    );
}

#[test]
fn error_bad_id() {
    let p = problems(
        "e.yml",
        include_str!("../../tests/fixtures/playbooks/errors/bad-id.yml"),
    );
    assert_eq!(
        p,
        ["e.yml:2:9: bad check id `Bad_Id`\nhint: an id is lowercase letters, digits and `-`, starting with a letter or digit (e.g. `tcp-wrappers-deny`)"]
    );
}

#[test]
fn error_bad_severity() {
    let p = problems(
        "e.yml",
        include_str!("../../tests/fixtures/playbooks/errors/bad-severity.yml"),
    );
    assert_eq!(
        p,
        ["e.yml:3:15: bad severity `Critical`\nhint: severity is one of `critical`, `warning`, `info`"]
    );
}

#[test]
fn error_duplicate_id_names_both_places() {
    let p = problems(
        "e.yml",
        include_str!("../../tests/fixtures/playbooks/errors/duplicate-id.yml"),
    );
    assert_eq!(
        p,
        ["e.yml:12:9: duplicate check id `dup`: already defined at e.yml:2:5"]
    );
    // Across files.
    let files = [
        (
            "a.yml".to_string(),
            "checks:\n  - {id: x, severity: info, when: true, summary: x}\n".to_string(),
        ),
        (
            "b.yml".to_string(),
            "checks:\n  - id: x\n    severity: info\n    when: true\n    summary: x\n".to_string(),
        ),
    ];
    let e = Catalogue::from_texts(&files).unwrap_err();
    assert_eq!(
        e.to_string(),
        "b.yml:2:9: duplicate check id `x`: already defined at a.yml:2:5"
    );
}

#[test]
fn error_jinja_in_when() {
    let p = problems(
        "e.yml",
        include_str!("../../tests/fixtures/playbooks/errors/jinja-when.yml"),
    );
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with(
            "e.yml:6:9: invalid Jinja expression in `when`: syntax error: unexpected end of input"
        ),
        "{p:?}"
    );
}

#[test]
fn error_jinja_in_templates() {
    let p = problems(
        "e.yml",
        include_str!("../../tests/fixtures/playbooks/errors/jinja-template.yml"),
    );
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].starts_with("e.yml:5:14: invalid Jinja template in `summary`: syntax error: unexpected end of input"),
        "{p:?}"
    );
    assert!(
        p[1].starts_with("e.yml:8:9: invalid Jinja template in `evidence`: syntax error: unexpected end of input"),
        "{p:?}"
    );
    assert!(p[1].contains("(template line 2)"), "{p:?}");
}

#[test]
fn error_braces_in_when() {
    let p = problems(
        "e.yml",
        include_str!("../../tests/fixtures/playbooks/errors/braces-in-when.yml"),
    );
    assert_eq!(
        p,
        ["e.yml:4:11: `when` is already a Jinja expression; it must not contain `{{ }}` or `{% %}`: `{{ sshd.libwrap }}`\nhint: drop the braces: `when: sshd.libwrap`"]
    );
}

#[test]
fn all_problems_of_all_files_are_reported() {
    let files = [
        ("a.yml".to_string(), "checks:\n  - {id: A, severity: info, when: true, summary: x}\n  - {id: b, severity: low, when: true, summary: x}\n".to_string()),
        ("b.yml".to_string(), "checks: [\n".to_string()),
    ];
    let e = Catalogue::from_texts(&files).unwrap_err();
    let files_lines: Vec<(String, Option<usize>)> = e
        .problems
        .iter()
        .map(|p| (p.file.clone(), p.line))
        .collect();
    assert_eq!(
        files_lines,
        [
            ("a.yml".into(), Some(2)),
            ("a.yml".into(), Some(3)),
            ("b.yml".into(), Some(2))
        ]
    );
}

#[test]
fn merge_keys_are_refused_but_aliases_work() {
    let p = problems(
        "e.yml",
        "checks:\n  - <<: {severity: info}\n    id: a\n    when: true\n    summary: x\n",
    );
    assert_eq!(
        p[0],
        "e.yml:2:5: merge keys (`<<`) are not supported in a check\nhint: write the keys out; anchors and aliases (`&x`, `*x`) on values do work"
    );
    let c = one(
        "a.yml",
        "checks:\n  - {id: a, severity: &s info, when: &w 'sshd.libwrap', summary: a}\n  - {id: b, severity: *s, when: *w, summary: b}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.checks()[1].severity, Severity::Info);
    assert_eq!(c.evaluate(&facts()).findings.len(), 2);
}

#[test]
fn undefined_parent_is_an_error_even_with_is_defined() {
    // Unlike Ansible (whose undefined values chain), minijinja's strict mode
    // fails on an attribute of an undefined value: test the parent first.
    let text = "checks:\n  - {id: a, severity: info, when: 'nosuch.x is defined', summary: a}\n  - {id: b, severity: info, when: 'nosuch is defined and nosuch.x is defined', summary: b}\n";
    let c = one("u.yml", text).unwrap();
    let ev = c.evaluate(&facts());
    assert_eq!(ev.findings, vec![]);
    assert_eq!(ev.errors.len(), 1);
    assert_eq!(ev.errors[0].id, "a");
    assert!(
        ev.errors[0]
            .message
            .ends_with("undefined value: `nosuch` is undefined"),
        "{}",
        ev.errors[0]
    );
}

#[test]
fn facts_that_are_not_an_object_make_every_check_fail() {
    let c = one("site.yml", GOOD).unwrap();
    let ev = c.evaluate(&json!([1, 2]));
    // `site-always` and `site-never` need no variables.
    let ids: Vec<&str> = ev.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["site-always"]);
    assert_eq!(ev.errors.len(), 4);
}

#[test]
fn catalogue_can_be_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Catalogue>();
}

#[test]
fn empty_and_odd_files() {
    for text in ["", "# only a comment\n", "---\n"] {
        assert_eq!(
            problems("e.yml", text),
            ["e.yml: the playbook is empty\nhint: write `checks: []` for a playbook without checks"]
        );
    }
    let p = problems("e.yml", "checks: []\n---\nchecks: []\n");
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("e.yml: invalid YAML: "), "{p:?}");
    let p = problems(
        "e.yml",
        "checks:\n  - id: a\n    severity: info\n    when:\n    summary:\n",
    );
    assert_eq!(
        p,
        [
            "e.yml:4:10: `when` must be an expression, a list of them, or a boolean; found a null\nhint: quote it if it is meant as an expression: `when: \"x == 1\"`",
            "e.yml:5:13: `summary` must be a string (a Jinja template), found a null\nhint: quote it: `\"...\"`",
        ]
    );
}

#[test]
fn fix_tasks_are_checked_when_loaded() {
    let p = problems(
        "f.yml",
        "checks:\n  - id: a\n    severity: info\n    when: true\n    summary: s\n    fix:\n      - hosts_acess: {}\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("f.yml:7:9: unknown key `hosts_acess` in a fix task"));
    assert!(p[0].contains("did you mean `hosts_access`?"), "{p:?}");

    let p = problems(
        "f.yml",
        "checks:\n  - id: a\n    severity: info\n    when: true\n    summary: s\n    fix:\n      - service: {name: sshd}\n        file: {path: /x}\n",
    );
    assert_eq!(
        p,
        vec!["f.yml:8:15: a fix task names one module; `file` is a second one\nhint: write one task per module"]
    );

    let p = problems(
        "f.yml",
        "checks:\n  - id: a\n    severity: info\n    when: true\n    summary: s\n    fix:\n      - service: {name: \"{{ x\"}\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("f.yml:7:25: invalid Jinja template in fix arguments"),
        "{p:?}"
    );

    let p = problems(
        "f.yml",
        "checks:\n  - id: a\n    severity: info\n    when: true\n    summary: s\n    fix:\n      - name: x\n",
    );
    assert!(p[0].contains("the fix task names no fix module"), "{p:?}");
    let p = problems(
        "f.yml",
        "checks:\n  - id: a\n    severity: info\n    when: true\n    summary: s\n    fix:\n      - file: {}\n        loop: [1, 2]\n",
    );
    assert!(
        p[0].contains("`loop` must be an expression giving a list"),
        "{p:?}"
    );
}

#[test]
fn fix_tasks_render_per_host_with_loop_when_and_native_values() {
    let c = one(
        "f.yml",
        r#"checks:
  - id: a
    severity: info
    when: true
    summary: s
    fix:
      - hosts_access:
          allow: "{{ clients | map(attribute='addr') | list }}"
      - file:
          path: "{{ item.path }}"
          mode: "0600"
          note: "key {{ item.path }} of {{ sshd.port }}"
        loop: "{{ keys }}"
        when: item.bad
      - service: {name: sshd, state: reloaded}
        when: false
"#,
    )
    .unwrap();
    let facts = json!({
        "clients": [{"addr": "10.0.0.1"}, {"addr": "10.0.0.2"}],
        "keys": [{"path": "/k1", "bad": true}, {"path": "/k2", "bad": false}],
        "sshd": {"port": 22},
    });
    let e = c.evaluate(&facts);
    let Fix::Calls(calls) = &e.findings[0].fix else {
        panic!("{:?}", e.findings[0].fix)
    };
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].module, "hosts_access");
    // a whole `{{ expr }}` keeps its type: a list
    assert_eq!(calls[0].args, json!({"allow": ["10.0.0.1", "10.0.0.2"]}));
    assert_eq!(
        calls[1].args,
        json!({"path": "/k1", "mode": "0600", "note": "key /k1 of 22"})
    );
    assert_eq!(calls[1].source.to_string(), "f.yml:9:9");

    // an undefined variable in the arguments: the finding stands, the fix is an error
    let e = c.evaluate(&json!({"clients": [], "keys": "nope", "sshd": {"port": 22}}));
    match &e.findings[0].fix {
        Fix::Error(m) => assert!(m.contains("`loop` `keys` gave a string, not a list"), "{m}"),
        other => panic!("{other:?}"),
    }
    // a check without fix tasks has Fix::None
    let c = one(
        "f.yml",
        "checks:\n  - id: a\n    severity: info\n    when: true\n    summary: s\n",
    )
    .unwrap();
    assert_eq!(c.evaluate(&json!({})).findings[0].fix, Fix::None);
}
