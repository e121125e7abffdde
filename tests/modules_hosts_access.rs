//! Oracle test for `modules::hosts_access::allow`: the proposed hosts.allow, with the unchanged hosts.deny, given to the real `tcpdmatch` (Debian tcpd 7.6.q), must grant sshd to every client by the added line and decide every other address exactly as before.
//!
//! Each case writes the original files into one directory and the candidate
//! hosts.allow (plus the same hosts.deny) into another, and runs
//! `tcpdmatch -d sshd CLIENT` in both inside `unshare -m` with our own
//! `/etc/hosts`, `/etc/resolv.conf` (no DNS), `/etc/nsswitch.conf` and a
//! tmpfs `/dev` whose `/dev/log` is a datagram socket this test reads, so that
//! libwrap's `matched: hosts.allow line N` message shows which line decided.
//! Needs root and `tcpdmatch` (`apt-get install -y tcpd`): without them the
//! test says loudly what it skipped, and fails when `CI=true`.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sshfix::modules::hosts_access::{allow, client_pattern};
use std::net::IpAddr;

#[path = "common/tcpdmatch.rs"]
mod tcpdmatch;
use tcpdmatch::{unavailable, Answer, Oracle};

/// Random cases in `random_files_against_tcpdmatch`.
const RANDOM_CASES: u32 = 100;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/modules/hosts_access/",
            $name
        ))
    };
}

struct Case {
    name: &'static str,
    allow: Option<String>,
    deny: String,
    clients: &'static [&'static str],
    strangers: &'static [&'static str],
    /// `false`: the module must answer `Ok(None)` (already allowed).
    edit: bool,
}

fn cases() -> Vec<Case> {
    let debian_allow = fixture!("debian.allow").to_string();
    let deny_sshd_all = fixture!("deny-sshd-all.deny").to_string();
    let long = format!("sshd: {} : deny\n", "10.9.0.1 ".repeat(300));
    let case = |name, allow: Option<&str>, deny: &str, clients, strangers| Case {
        name,
        allow: allow.map(str::to_string),
        deny: deny.to_string(),
        clients,
        strangers,
        edit: true,
    };
    vec![
        case(
            "debian allow, sshd: ALL in deny",
            Some(&debian_allow),
            &deny_sshd_all,
            &["192.0.2.10"],
            &["192.0.2.11", "192.0.2.1", "10.1.2.3", "2001:db8::99"],
        ),
        case(
            "ALL: ALL in deny, several clients, IPv6 and IPv4-mapped",
            Some(&debian_allow),
            fixture!("deny-all-all.deny"),
            &[
                "192.0.2.10",
                "198.51.100.7",
                "2001:db8::1",
                "::ffff:192.0.2.20",
            ],
            &[
                "192.0.2.11",
                "198.51.100.70",
                "2001:db8::10",
                "2001:db8::",
                "::ffff:192.0.2.21",
            ],
        ),
        case(
            "hosts.allow missing",
            None,
            &deny_sshd_all,
            &["192.0.2.10"],
            &["192.0.2.100", "2001:db8::1"],
        ),
        case(
            "sshd: ALL : deny in hosts.allow",
            Some(fixture!("sshd-deny.allow")),
            fixture!("debian.deny"),
            &["192.0.2.10", "2001:db8::1"],
            &["10.1.2.3", "192.0.2.11", "2001:db8::2"],
        ),
        case(
            "hosts_options(5) single file: ALLOW then ALL: ALL: DENY",
            Some(fixture!("single-file.allow")),
            "",
            &["192.0.2.10", "2001:db8::1"],
            &["192.0.2.11", "2001:db8::2", "127.0.0.1"],
        ),
        case(
            "CRLF hosts.allow",
            Some(fixture!("crlf.allow")),
            &deny_sshd_all,
            &["192.0.2.10"],
            &["10.1.2.3", "192.0.2.11"],
        ),
        case(
            "unterminated last rule stays ignored",
            Some(fixture!("nonewline-rule.allow")),
            &deny_sshd_all,
            &["192.0.2.10"],
            &["10.1.2.3", "192.0.2.11"],
        ),
        case(
            "unterminated last comment",
            Some(fixture!("nonewline-comment.allow")),
            &deny_sshd_all,
            &["192.0.2.10"],
            &["10.1.2.3"],
        ),
        case(
            "twist in hosts.allow",
            Some("in.telnetd: ALL : deny\nsshd: 192.0.2.0/24 : twist /bin/echo go away\n"),
            "sshd: ALL\n",
            &["192.0.2.10"],
            &["192.0.2.11", "198.51.100.1"],
        ),
        case(
            "twist in hosts.deny",
            Some(&debian_allow),
            "sshd: ALL : twist /bin/echo go away\n",
            &["192.0.2.10"],
            &["192.0.2.11"],
        ),
        case(
            "name-based deny before ALLOW",
            Some("ALL: .bad.domain: DENY\nALL: ALL: ALLOW\n"),
            "",
            &["192.0.2.10"],
            &["192.0.2.11"],
        ),
        case(
            "too long line in hosts.allow",
            Some(&format!("sshd: 10.1.0.0/16\n{long}sshd: 192.0.2.11\n")),
            &deny_sshd_all,
            &["192.0.2.10"],
            &["10.1.2.3", "192.0.2.11", "10.9.0.1"],
        ),
        Case {
            edit: false,
            ..case(
                "client already allowed",
                Some(fixture!("sshd-deny.allow")),
                &deny_sshd_all,
                &["10.1.7.7", "::ffff:10.1.0.1"],
                &[],
            )
        },
    ]
}

/// Physical line `n` (1-based) of `text`, without its line ending.
fn line_of(text: &str, n: usize) -> String {
    text.split('\n')
        .nth(n.saturating_sub(1))
        .unwrap_or("")
        .trim_end_matches('\r')
        .to_string()
}

/// The text of the line tcpdmatch says matched, in the files of `dir`.
fn matched_text(a: &Answer, allow: &str, deny: &str) -> Option<String> {
    a.matched.as_ref().map(|(file, n)| {
        let text = if file == "hosts.allow" { allow } else { deny };
        format!("{file}: {}", line_of(text, *n))
    })
}

#[test]
fn candidates_are_granted_by_tcpdmatch_and_strangers_unchanged() {
    if let Some(why) = unavailable() {
        let msg = format!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !! SKIPPED modules::hosts_access oracle test (candidates vs real tcpdmatch): {why}\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        eprintln!("{msg}");
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true: the modules::hosts_access oracle test must run, but {why}");
        }
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let oracle = Oracle::new(tmp.path(), "127.0.0.1 localhost\n");
    let mut asked = 0;
    for (i, case) in cases().into_iter().enumerate() {
        let clients: Vec<IpAddr> = case.clients.iter().map(|c| c.parse().unwrap()).collect();
        let result = allow(
            case.allow.as_deref(),
            Some(&case.deny),
            &clients,
            &|_| None,
            "tcp-wrappers-deny",
        );
        let before_dir = tmp.path().join(format!("{i}-before"));
        let after_dir = tmp.path().join(format!("{i}-after"));
        for d in [&before_dir, &after_dir] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("hosts.deny"), &case.deny).unwrap();
        }
        if let Some(a) = &case.allow {
            std::fs::write(before_dir.join("hosts.allow"), a).unwrap();
        }
        let before_allow = case.allow.clone().unwrap_or_default();
        let edit = match result {
            Ok(Some(e)) => {
                assert!(case.edit, "{}: unexpected edit {e:#?}", case.name);
                e
            }
            Ok(None) => {
                assert!(!case.edit, "{}: no edit proposed", case.name);
                for c in case.clients {
                    let a = oracle.ask(&before_dir, "sshd", c);
                    asked += 1;
                    assert_eq!(a.verdict, "granted", "{}: {c} {a:?}", case.name);
                }
                continue;
            }
            Err(e) => panic!("{}: {e}", case.name),
        };
        assert_eq!(edit.path, "/etc/hosts.allow");
        let after_allow = String::from_utf8(edit.after.clone()).unwrap();
        std::fs::write(after_dir.join("hosts.allow"), &after_allow).unwrap();
        let ctx = || {
            format!(
                "{}\n--- hosts.allow before\n{before_allow}\n--- after\n{after_allow}\n--- hosts.deny\n{}",
                case.name, case.deny
            )
        };
        for (c, addr) in case.clients.iter().zip(&clients) {
            let a = oracle.ask(&after_dir, "sshd", c);
            asked += 1;
            assert_eq!(a.verdict, "granted", "{c}: {a:?}\n{}", ctx());
            let (file, n) = a
                .matched
                .clone()
                .unwrap_or_else(|| panic!("{c}: nothing matched\n{}", ctx()));
            assert_eq!(file, "hosts.allow", "{c}\n{}", ctx());
            let line = line_of(&after_allow, n);
            let tokens: Vec<&str> = line
                .strip_prefix("sshd: ")
                .unwrap_or_else(|| panic!("{c}: matched line {n} `{line}` is not ours\n{}", ctx()))
                .split(", ")
                .collect();
            assert!(
                tokens.contains(&client_pattern(*addr).as_str()),
                "{c}: line {n} `{line}`\n{}",
                ctx()
            );
            assert!(
                !line_of(&before_allow, n).eq(&line)
                    || before_allow.is_empty()
                    || n > before_allow.lines().count(),
                "{c}: line {n} was already there\n{}",
                ctx()
            );
        }
        for s in case.strangers {
            let was = oracle.ask(&before_dir, "sshd", s);
            let now = oracle.ask(&after_dir, "sshd", s);
            asked += 2;
            assert_eq!(
                was.verdict,
                now.verdict,
                "{s}: {was:?} -> {now:?}\n{}",
                ctx()
            );
            assert_eq!(
                matched_text(&was, &before_allow, &case.deny),
                matched_text(&now, &after_allow, &case.deny),
                "{s}: {was:?} -> {now:?}\n{}",
                ctx()
            );
        }
    }
    eprintln!("modules::hosts_access oracle: {asked} tcpdmatch answers checked");
    assert!(asked >= 50, "only {asked} answers");
}

/// Lines random hosts.allow/hosts.deny files are made of.
const PIECES: &[&str] = &[
    "sshd: ALL : deny\n",
    "ALL: ALL\n",
    "ALL: ALL: DENY\n",
    "ALL: ALL: ALLOW\n",
    "sshd: 192.0.2.0/24\n",
    "sshd: 192.0.2.10 : twist /bin/echo no\n",
    "sshd: .example.com : deny\n",
    "sshd: @ng : deny\n",
    "sshd@10.0.0.1: ALL : deny\n",
    "22: ALL : deny\n",
    "sshd: [2001:db8::]/32 : deny\n",
    "sshd: ALL EXCEPT 192.0.2.10 : deny\n",
    "sshd: KNOWN\n",
    "sshd: ALL : spawn /bin/true : deny\n",
    "sshd: 10.0.0.1 \\\n",
    "# comment\n",
    "# comment \\\n",
    "\n",
    "sshd: ALL: deny\r\n",
    "sshd ALL\n",
    "  # sshd: ALL\n",
    "sshd: ALL :\n",
    "in.telnetd: ALL : deny\n",
    "sshd: 192.0.2.11, 2001:db8::1\n",
    "sshd: ALL",
    "# no newline",
];

const POOL: &[&str] = &[
    "192.0.2.10",
    "192.0.2.11",
    "2001:db8::1",
    "2001:db8::2",
    "::ffff:192.0.2.10",
    "10.0.0.1",
    "198.51.100.1",
];

fn file_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..6).prop_map(|v| v.concat())
}

#[test]
fn random_files_against_tcpdmatch() {
    if let Some(why) = unavailable() {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !! SKIPPED modules::hosts_access random oracle test: {why}\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true: the modules::hosts_access oracle test must run, but {why}");
        }
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let oracle = Oracle::new(tmp.path(), "127.0.0.1 localhost\n");
    let before_dir = tmp.path().join("before");
    let after_dir = tmp.path().join("after");
    let mut runner = TestRunner::new(Config {
        cases: RANDOM_CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let edits = std::cell::Cell::new(0u32);
    let strategy = (
        prop::option::weighted(0.9, file_strategy()),
        file_strategy(),
        prop::sample::subsequence(POOL, 1..4),
    );
    let result = runner.run(&strategy, |(allow_text, deny_text, picked)| {
        let clients: Vec<IpAddr> = picked.iter().map(|c| c.parse().unwrap()).collect();
        let r = allow(allow_text.as_deref(), Some(&deny_text), &clients, &|_| None, "f");
        let edit = match r {
            Ok(e) => e,
            Err(e) => return Err(TestCaseError::fail(format!("module refused: {e}"))),
        };
        for d in [&before_dir, &after_dir] {
            let _ = std::fs::remove_dir_all(d);
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("hosts.deny"), &deny_text).unwrap();
        }
        let before_allow = allow_text.clone().unwrap_or_default();
        if let Some(a) = &allow_text {
            std::fs::write(before_dir.join("hosts.allow"), a).unwrap();
        }
        let Some(edit) = edit else {
            for c in &picked {
                let a = oracle.ask(&before_dir, "sshd", c);
                prop_assert_eq!(a.verdict.as_str(), "granted", "{} (no edit proposed)", c);
            }
            return Ok(());
        };
        edits.set(edits.get() + 1);
        let after_allow = String::from_utf8(edit.after.clone()).unwrap();
        std::fs::write(after_dir.join("hosts.allow"), &after_allow).unwrap();
        let ctx = format!(
            "--- hosts.allow before\n{before_allow:?}\n--- after\n{after_allow:?}\n--- hosts.deny\n{deny_text:?}"
        );
        for c in &picked {
            let a = oracle.ask(&after_dir, "sshd", c);
            prop_assert_eq!(a.verdict.as_str(), "granted", "{}: {:?}\n{}", c, a, ctx);
        }
        for s in POOL.iter().filter(|s| !picked.contains(s)) {
            let addr: IpAddr = s.parse().unwrap();
            if clients.iter().any(|&c| client_pattern(c) == client_pattern(addr)) {
                continue;
            }
            let was = oracle.ask(&before_dir, "sshd", s);
            let now = oracle.ask(&after_dir, "sshd", s);
            prop_assert_eq!(&was.verdict, &now.verdict, "{}: {:?} -> {:?}\n{}", s, was, now, ctx);
            prop_assert_eq!(
                matched_text(&was, &before_allow, &deny_text),
                matched_text(&now, &after_allow, &deny_text),
                "{}\n{}",
                s,
                ctx
            );
        }
        Ok(())
    });
    eprintln!(
        "modules::hosts_access random oracle: {} edits checked against tcpdmatch",
        edits.get()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(
        edits.get() >= RANDOM_CASES / 4,
        "only {} edits",
        edits.get()
    );
}
