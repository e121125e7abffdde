//! `sshfix explain` from the command line, and the generated `docs/findings.md`.
//!
//! The page is generated from `docs/findings/page.md` and
//! `docs/findings/findings.yml`; `committed_findings_page_is_current` fails
//! while the committed page differs. `SSHFIX_BLESS=1 cargo test --test
//! explain` rewrites it.

use std::collections::HashMap;
use std::path::Path;

use assert_cmd::Command;
use sshfix::checks::Catalogue;
use sshfix::explain::{page, Docs};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sshfix() -> Command {
    let mut cmd = Command::cargo_bin("sshfix").unwrap();
    cmd.env_remove("NO_COLOR").env_remove("SSHFIX_LOG");
    cmd
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[test]
fn committed_findings_page_is_current() {
    let template = std::fs::read_to_string(root().join("docs/findings/page.md")).unwrap();
    let severities: HashMap<_, _> = Catalogue::builtin()
        .unwrap()
        .checks()
        .iter()
        .map(|c| (c.id.clone(), c.severity))
        .collect();
    let generated = page::render(&template, Docs::builtin().unwrap(), &severities).unwrap();
    let path = root().join("docs/findings.md");
    if std::env::var_os("SSHFIX_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "docs/findings.md is stale (first difference at line {}); it is generated from \
             docs/findings/page.md and docs/findings/findings.yml: run `{}` and commit the result",
            first + 1,
            page::REGENERATE
        );
    }
}

#[test]
fn explain_a_finding_id() {
    let out = sshfix()
        .args(["explain", "tcp-wrappers-deny"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("tcp-wrappers-deny (critical): TCP wrappers"),
        "{text}"
    );
    for part in [
        "Client sees: after exactly 5 seconds,",
        "Evidence: ",
        "Cause: ",
        "Proposed fix: ",
        "sshfix never: ",
        "Confirms it",
        "    tcpdmatch sshd",
        "Check by hand:",
        "    ldd $(command -v sshd) | grep libwrap",
        "`kex_exchange_identification: read: Connection reset by peer` (after 5 s)",
    ] {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
    // a pipe gets plain text: no escape codes, no Markdown bold
    assert!(!text.contains('\x1b') && !text.contains("**"), "{text}");
}

#[test]
fn explain_a_finding_as_json() {
    let out = sshfix()
        .args(["explain", "maxstartups-exhausted", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["finding"]["id"], "maxstartups-exhausted");
    assert_eq!(v["finding"]["severity"], "critical");
    assert!(v["finding"]["fix"]
        .as_str()
        .unwrap()
        .contains("MaxStartups"));
}

#[test]
fn an_unknown_id_is_a_usage_error_naming_close_ids() {
    let out = sshfix()
        .args(["explain", "tcp-wrapper-deny"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.contains("error: unknown finding ID `tcp-wrapper-deny`"),
        "{err}"
    );
    assert!(
        err.contains("hint: did you mean `tcp-wrappers-deny`?"),
        "{err}"
    );
    // nothing close: every ID is listed
    let out = sshfix().args(["explain", "qqqq"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("lb-http-mode"), "{}", stderr(&out));
}

#[test]
fn explain_a_message_argument() {
    let out = sshfix()
        .args([
            "explain",
            "kex_exchange_identification: read: Connection reset by peer",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let wrappers = text
        .find("\n 1. tcp-wrappers-deny (critical)")
        .expect(&text);
    let maxstartups = text.find("\n 2. maxstartups-exhausted").expect(&text);
    assert!(wrappers < maxstartups);
    assert!(text.contains("sshfix plan -l HOST"), "{text}");
    assert!(
        text.contains("probe calls this `reset-before-banner`"),
        "{text}"
    );
    // unquoted words are one message
    let out = sshfix()
        .args(["explain", "Connection", "refused"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("\n 1. sshd-not-running"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn explain_a_vvv_log_on_stdin() {
    let log = std::fs::read(root().join("tests/fixtures/explain/http-400-vvv.log")).unwrap();
    for args in [vec!["explain", "-"], vec!["explain"]] {
        let out = sshfix()
            .args(&args)
            .write_stdin(log.clone())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains("banner line 0: HTTP/1.1 400 Bad request"),
            "{text}"
        );
        assert!(text.contains("\n 1. lb-http-mode"), "{text}");
        // the host from `debug1: Connecting to localhost [127.0.0.1] port N.`
        assert!(text.contains("sshfix probe -l localhost"), "{text}");
        assert!(text.contains("sshfix plan -l localhost"), "{text}");
    }
    let out = sshfix()
        .args(["explain", "-", "--format", "json"])
        .write_stdin(log)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["class"], "not-ssh-http");
    assert_eq!(v["symptom"], "not-ssh");
    assert_eq!(v["target"]["host"], "localhost");
    assert_eq!(v["causes"][0]["id"], "lb-http-mode");
    assert_eq!(v["causes"][0]["rank"], 1);
    assert_eq!(
        v["causes"][0]["confirm"]["plan"],
        "sshfix plan -l localhost"
    );
}

#[test]
fn text_without_an_ssh_error_is_refused() {
    let out = sshfix()
        .args(["explain", "-"])
        .write_stdin("hello\nworld\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no SSH client error recognised"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_has_examples() {
    let out = sshfix().args(["explain", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.contains("Examples:"), "{text}");
    assert!(text.contains("sshfix explain tcp-wrappers-deny"), "{text}");
    assert!(text.contains("| sshfix explain -"), "{text}");
}

/// `color` in the defaults file colours explain's headings even into a pipe;
/// `SSHFIX_COLOR` beats the file and `--color` beats both.
#[test]
fn color_comes_from_the_defaults_file_the_environment_and_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "color = \"always\"\n").unwrap();
    let run = |env: Option<&str>, flag: Option<&str>| {
        let mut cmd = sshfix();
        cmd.arg("--config").arg(&config);
        match env {
            Some(v) => cmd.env("SSHFIX_COLOR", v),
            None => cmd.env_remove("SSHFIX_COLOR"),
        };
        if let Some(f) = flag {
            cmd.arg("--color").arg(f);
        }
        let out = cmd.args(["explain", "tcp-wrappers-deny"]).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out).contains('\u{1b}')
    };
    assert!(run(None, None), "the file's `color = \"always\"`");
    assert!(
        !run(Some("never"), None),
        "SSHFIX_COLOR=never over the file"
    );
    assert!(
        run(Some("never"), Some("always")),
        "--color over the variable"
    );
}

/// What a person reads: `explain` of a finding, and of a client error, as
/// printed into a pipe (the 80-column default, no colour), kept as
/// snapshots (prose wrapped at 80 columns; commands to type and code spans
/// are never broken, so they may run longer).
#[test]
fn human_output_snapshots() {
    for (name, args) in [
        ("explain_finding", &["explain", "tcp-wrappers-deny"][..]),
        (
            "explain_message",
            &[
                "explain",
                "kex_exchange_identification: read: Connection reset by peer",
            ][..],
        ),
    ] {
        let out = sshfix()
            .env_remove("COLUMNS")
            .env_remove("SSHFIX_COLOR")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(!text.contains('\u{1b}'), "{text}");
        insta::assert_snapshot!(name, text);
    }
}
