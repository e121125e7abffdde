//! Round-trip properties of every fix module that changes a file (or a file's attributes): on generated, hostile files and arguments an edit is refused, or it changes only the lines it targets, the facts parser reads the intended result back, a second run changes nothing, and no argument can inject a line.
//!
//! One section per module (`sshd_config`, `hosts_access`, `firewall`,
//! `haproxy`, `sysctl`, `file`). The files are built from realistic lines
//! mixed with hostile ones: odd case and separators, tabs, trailing blanks,
//! CRLF (where the module takes it; refused where it must be), no final
//! newline, unicode, very long lines, NUL bytes, duplicated keywords, Match
//! blocks and Includes, hosts_access `\` continuations, quoted values. The
//! arguments mix good values with hostile ones (quotes, `$()`, backticks,
//! newlines, leading dashes, unicode).
//!
//! The numbered comments in the checks are the four claims each property
//! makes where it applies: 1. every line the edit did not target is
//! byte-identical and in the same order (new lines only at the documented
//! place); 2. the facts parser reads the intended result back (for sysctl,
//! which has no facts parser, systemd-sysctl's reading, modelled here);
//! 3. a second run changes nothing; 4. no argument can add a line or a
//! directive. And nothing may panic.
//!
//! What the unit proptests next to the modules already check (no panics on
//! token soup, the sshd value is effective, hosts.allow clients are allowed)
//! is not repeated; these add the line-level diff, the documented place of
//! inserted lines, "nothing else changed" (other keywords, other clients),
//! idempotence and injection.
//!
//! Case counts are small so the file runs in a few seconds in a debug
//! build; `PROPTEST_CASES=N` runs every property N times instead.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::RangeInclusive;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

#[allow(dead_code)]
#[path = "common/captured.rs"]
mod captured;

// ---------------------------------------------------------------- shared helpers

/// The configuration of each property: `default` cases, or `PROPTEST_CASES`.
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // a failure becomes a named regression test, not a file in the tree
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Physical lines, each with its `\n` (the last one may have none).
fn lines(b: &[u8]) -> Vec<&[u8]> {
    b.split_inclusive(|c| *c == b'\n').collect()
}

fn show(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

/// `after` is `before` with a block of lines inserted at one place.
#[derive(Debug)]
struct Insertion {
    /// The 0-based indexes of `before` the block may stand before (more
    /// than one when it sits among identical lines).
    at: RangeInclusive<usize>,
    /// How many lines were inserted.
    count: usize,
    /// The line ending given to a last line that had none (`""`: none given).
    ended_last: &'static str,
}

impl Insertion {
    /// The inserted lines when the block stands before line `k` of `before`.
    fn new_lines<'a>(&self, after: &'a [u8], k: usize) -> Vec<&'a [u8]> {
        lines(after)[k..k + self.count].to_vec()
    }
}

/// Reads `after` as `before` plus one inserted block of lines, every
/// other line byte-identical and in the same order. A last line without a
/// newline may have been given one.
fn insertion(before: &[u8], after: &[u8]) -> Result<Insertion, String> {
    let ends: &[&'static str] = if before.is_empty() || before.ends_with(b"\n") {
        &[""]
    } else {
        &["", "\n", "\r\n"]
    };
    for &end in ends {
        let mut b2 = before.to_vec();
        b2.extend_from_slice(end.as_bytes());
        let (b, a) = (lines(&b2), lines(after));
        if a.len() <= b.len() {
            continue;
        }
        let prefix = b.iter().zip(&a).take_while(|(x, y)| x == y).count();
        let suffix = b
            .iter()
            .rev()
            .zip(a.iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        if b.len() - suffix <= prefix {
            return Ok(Insertion {
                at: b.len() - suffix..=prefix,
                count: a.len() - b.len(),
                ended_last: end,
            });
        }
    }
    Err(format!(
        "not a pure insertion of lines:\nbefore {}\nafter  {}",
        show(before),
        show(after)
    ))
}

/// `after` has the lines of `before` in order, every one byte-identical,
/// and the lines between them all satisfy `added` (several blocks at
/// several places). A last line without a newline may have been given one.
fn only_added_lines(
    before: &[u8],
    after: &[u8],
    added: &dyn Fn(&[u8]) -> bool,
) -> Result<Vec<usize>, String> {
    let b = lines(before);
    let a = lines(after);
    let mut j = 0;
    let mut new = Vec::new();
    for (i, l) in a.iter().enumerate() {
        let same = b.get(j).is_some_and(|x| {
            x == l
                || (j + 1 == b.len() && !x.ends_with(b"\n") && l.starts_with(x) && {
                    let eol = &l[x.len()..];
                    eol == b"\n" || eol == b"\r\n"
                })
        });
        if same && !(added(l) && b.get(j) != Some(l)) {
            j += 1;
        } else if added(l) {
            new.push(i);
        } else {
            return Err(format!(
                "line {} of the result, {}, is neither an original line nor an added one:\nbefore {}\nafter  {}",
                i + 1,
                show(l),
                show(before),
                show(after)
            ));
        }
    }
    if j != b.len() {
        return Err(format!(
            "line {} of the original, {}, is gone:\nbefore {}\nafter  {}",
            j + 1,
            show(b[j]),
            show(before),
            show(after)
        ));
    }
    Ok(new)
}

/// `after` has the same lines as `before` except the 0-based `targets`.
fn only_lines_changed(before: &[u8], after: &[u8], targets: &[usize]) -> Result<(), String> {
    let (b, a) = (lines(before), lines(after));
    if b.len() != a.len() {
        return Err(format!(
            "{} lines became {}:\nbefore {}\nafter  {}",
            b.len(),
            a.len(),
            show(before),
            show(after)
        ));
    }
    for (i, (x, y)) in b.iter().zip(&a).enumerate() {
        if x != y && !targets.contains(&i) {
            return Err(format!(
                "line {} changed from {} to {} (only {:?} were to change)",
                i + 1,
                show(x),
                show(y),
                targets.iter().map(|t| t + 1).collect::<Vec<_>>()
            ));
        }
    }
    Ok(())
}

/// The line ending of a physical line: `\r\n`, `\n` or none.
fn eol_of(l: &[u8]) -> &[u8] {
    if l.ends_with(b"\r\n") {
        b"\r\n"
    } else if l.ends_with(b"\n") {
        b"\n"
    } else {
        b""
    }
}

/// Files by path, shown as text when a case fails.
#[derive(Clone)]
struct Files(BTreeMap<String, Vec<u8>>);

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.0 {
            m.entry(k, &String::from_utf8_lossy(v));
        }
        m.finish()
    }
}

/// One file's bytes, shown as text when a case fails.
#[derive(Clone)]
struct Text(Vec<u8>);

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

fn fail(msg: impl Into<String>) -> TestCaseError {
    TestCaseError::fail(msg.into())
}

/// One string with its case changed: as written, lower, upper, or alternating.
fn recased(s: &str, how: u8) -> String {
    match how % 4 {
        0 => s.to_string(),
        1 => s.to_ascii_lowercase(),
        2 => s.to_ascii_uppercase(),
        _ => s
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect(),
    }
}

/// Lines joined into a file: each line gets `\n` or `\r\n` (per `crlf`),
/// the last one none when `final_newline` is false.
fn join(lines: &[(Vec<u8>, bool)], final_newline: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (l, crlf)) in lines.iter().enumerate() {
        out.extend_from_slice(l);
        if i + 1 < lines.len() || final_newline {
            out.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
        }
    }
    out
}

/// A file of `line`s: all LF, all CRLF or mixed, with or without a final newline.
fn file_of(line: BoxedStrategy<Vec<u8>>, count: std::ops::Range<usize>) -> BoxedStrategy<Vec<u8>> {
    (
        proptest::collection::vec((line, any::<bool>()), count),
        0u8..3,
        proptest::bool::weighted(0.85),
    )
        .prop_map(|(ls, mode, final_newline)| {
            let ls: Vec<(Vec<u8>, bool)> = ls
                .into_iter()
                .map(|(l, r)| {
                    let crlf = match mode {
                        0 => false,
                        1 => true,
                        _ => r,
                    };
                    (l, crlf)
                })
                .collect();
            join(&ls, final_newline)
        })
        .boxed()
}

/// Arguments a hostile (or careless) playbook may pass where a word is expected.
const HOSTILE: &[&str] = &[
    "no\nPort 2222",
    "no\r\nPort 2222",
    "no\rPort 2222",
    "$(reboot)",
    "`id`",
    "yes; Port 2222",
    "-oPort=2222",
    "--",
    "\"unbalanced",
    "'",
    "no # comment",
    "#no",
    "=no",
    " no",
    "no ",
    "",
    "a\0b",
    "no\u{2028}Port 1",
    "no\u{85}Port 1",
    "no\x0cPort 1",
    "no\x0bPort 1",
    "\\",
    "e\u{301}t\u{e9} \u{2603}",
    "no\tPort 2222",
    "Match all",
    "10.0.0.1\nALL: ALL",
    "10.0.0.1, ALL",
    "ALL",
    "\u{feff}no",
];

fn hostile() -> BoxedStrategy<String> {
    prop_oneof![
        8 => select(HOSTILE).prop_map(str::to_string),
        1 => "\\PC{0,12}",
        1 => "[\\x00-\\x1f \"'`$()\\\\#=;a-z0-9]{0,12}",
        1 => Just("x".repeat(5000)),
    ]
    .boxed()
}

// ---------------------------------------------------------------- sshd_config

mod sshd_config {
    use super::*;
    use sshfix::facts::sshd_config::{
        canonical_key, is_known_keyword, parse_tree, precedence_in, ConfigTree, Precedence,
    };
    use sshfix::modules::sshd_config::{
        comment_out, parse_disabled, set, ModuleError, DISABLED_PREFIX, POLICY_KEYWORDS,
    };

    const MAIN: &str = "/etc/ssh/sshd_config";
    const DROPINS: [&str; 2] = [
        "/etc/ssh/sshd_config.d/10-a.conf",
        "/etc/ssh/sshd_config.d/20-b.conf",
    ];
    const VERSIONS: [(u32, u32); 2] = [(9, 2), (10, 1)];

    /// Keywords in the files and the ones `set` is asked for: first-wins,
    /// last-wins (in 9.2), allowed in Match or not, policy, accumulating,
    /// aliases, and ones sshd does not know.
    const KEYWORDS: &[&str] = &[
        "UseDNS",
        "X11Forwarding",
        "MaxStartups",
        "LoginGraceTime",
        "Banner",
        "PermitRootLogin",
        "ClientAliveInterval",
        "PerSourceMaxStartups",
        "ChallengeResponseAuthentication",
        "KbdInteractiveAuthentication",
        "Port",
        "ListenAddress",
        "AcceptEnv",
        "ForceCommand",
        "Protocol",
        "Bogus",
    ];

    /// Values that are one plain argument (or a quoted one) for some keyword.
    const VALUES: &[&str] = &[
        "yes",
        "no",
        "No",
        "YES",
        "10:30:100",
        "3:50:10",
        "5",
        "10",
        "2m",
        "120",
        "1m30s",
        "/etc/issue",
        "\"/etc/issue net\"",
        "'/etc/issue'",
        "none",
        "prohibit-password",
        "internal-sftp",
        "a\\ b",
        "\u{e9}t\u{e9}",
        "LANG LC_*",
    ];

    fn keyword() -> BoxedStrategy<String> {
        (select(KEYWORDS), any::<u8>())
            .prop_map(|(k, how)| recased(k, how))
            .boxed()
    }

    fn directive() -> BoxedStrategy<Vec<u8>> {
        (
            select(&["", "", " ", "\t", "  \t"][..]),
            keyword(),
            select(&[" ", " ", "\t", "=", " = ", "\t=\t", "  "][..]),
            select(VALUES),
            select(&["", "", "", " # was yes", "\t#c", " #\u{2603}"][..]),
            select(&["", "", " ", "\t", "  \t", "\x0c"][..]),
        )
            .prop_map(|(i, k, s, v, c, t)| format!("{i}{k}{s}{v}{c}{t}").into_bytes())
            .boxed()
    }

    fn odd_line() -> BoxedStrategy<Vec<u8>> {
        prop_oneof![
            select(
                &[
                    "UseDNS",
                    "=UseDNS no",
                    "UseDNS = = no",
                    "UseDNS \"unbalanced",
                    "\u{feff}UseDNS no",
                    "UseDNS\u{a0}no",
                    "Banner /x\\",
                    "\r",
                    "UseDNS\ryes",
                    "MaxStartups 10:30:100\r\r",
                    "Banner \"\"",
                    "X11Forwarding yes yes",
                ][..]
            )
            .prop_map(|s| s.as_bytes().to_vec()),
            Just(b"usedns yes\0tail".to_vec()),
            Just(b"MaxStartups 4\0".to_vec()),
            Just(b"# caf\xe9 (Latin-1)".to_vec()),
            Just(b"Banner /etc/caf\xe9".to_vec()),
            Just(format!("# {}", "long ".repeat(700)).into_bytes()),
            Just(format!("Banner /{}", "a".repeat(3000)).into_bytes()),
        ]
        .boxed()
    }

    fn comment() -> BoxedStrategy<Vec<u8>> {
        select(
            &[
                "#UseDNS no",
                "#MaxStartups 10:30:100",
                "# Match User anoncvs",
                "#Match User anoncvs",
                "#\tX11Forwarding no",
                "# \u{2603} unicode \u{e9}",
                "#",
                "   # indented",
            ][..],
        )
        .prop_map(|s| s.as_bytes().to_vec())
        .boxed()
    }

    fn match_line() -> BoxedStrategy<Vec<u8>> {
        select(
            &[
                "Match all",
                "Match User bob",
                "match address 10.0.0.0/8",
                "  Match Group admins # c",
                "MATCH ALL",
                "Match=User x",
            ][..],
        )
        .prop_map(|s| s.as_bytes().to_vec())
        .boxed()
    }

    fn include_line() -> BoxedStrategy<Vec<u8>> {
        select(
            &[
                "Include /etc/ssh/sshd_config.d/*.conf",
                "include sshd_config.d/*.conf",
                "Include /etc/ssh/sshd_config.d/20-b.conf",
                "Include /nonexistent/*.conf",
                "Include sshd_config.d/10-a.conf sshd_config.d/20-b.conf",
            ][..],
        )
        .prop_map(|s| s.as_bytes().to_vec())
        .boxed()
    }

    fn blank() -> BoxedStrategy<Vec<u8>> {
        select(&["", "", " ", "\t", "  \t "][..])
            .prop_map(|s| s.as_bytes().to_vec())
            .boxed()
    }

    fn main_line() -> BoxedStrategy<Vec<u8>> {
        prop_oneof![
            8 => directive(),
            3 => comment(),
            2 => blank(),
            2 => match_line(),
            2 => include_line(),
            1 => odd_line(),
        ]
        .boxed()
    }

    /// Drop-ins have no Include lines (a drop-in including `*.conf` is an
    /// Include loop, refused on its own).
    fn dropin_line() -> BoxedStrategy<Vec<u8>> {
        prop_oneof![
            6 => directive(),
            2 => comment(),
            1 => blank(),
            1 => match_line(),
            1 => odd_line(),
        ]
        .boxed()
    }

    /// The main file and up to two drop-ins.
    fn tree() -> BoxedStrategy<Files> {
        (
            file_of(main_line(), 0..22),
            proptest::option::weighted(0.6, file_of(dropin_line(), 0..6)),
            proptest::option::weighted(0.4, file_of(dropin_line(), 0..6)),
            any::<bool>(),
        )
            .prop_map(|(main, a, b, debian)| {
                let mut m = BTreeMap::new();
                // Debian and RHEL include the drop-ins first
                let main = if debian {
                    [&b"Include /etc/ssh/sshd_config.d/*.conf\n"[..], &main].concat()
                } else {
                    main
                };
                m.insert(MAIN.to_string(), main);
                for (path, f) in DROPINS.iter().zip([a, b]) {
                    if let Some(f) = f {
                        m.insert(path.to_string(), f);
                    }
                }
                Files(m)
            })
            .boxed()
    }

    /// The arguments sshd makes of `value` on a `key` line, read with the
    /// facts parser from a one-line file; `None` when that is not exactly
    /// one directive with non-empty arguments.
    fn args_of(key: &str, value: &str) -> Option<Vec<String>> {
        let m: BTreeMap<String, Vec<u8>> =
            [("/v".to_string(), format!("{key} {value}\n").into_bytes())].into();
        let t = parse_tree("/v", &m);
        match t.directives.as_slice() {
            [d] if t.problems.is_empty()
                && !d.args.is_empty()
                && d.args.iter().all(|a| !a.is_empty()) =>
            {
                Some(d.args.clone())
            }
            _ => None,
        }
    }

    /// Each directive as sshd reads it, without line numbers, except the
    /// one at `skip` (file, line).
    fn directives(
        t: &ConfigTree,
        skip: Option<(&str, usize)>,
    ) -> Vec<(String, String, Vec<String>, String, bool)> {
        t.directives
            .iter()
            .filter(|d| skip != Some((d.file.as_str(), d.line)))
            .map(|d| {
                (
                    d.file.clone(),
                    d.key.clone(),
                    d.args.clone(),
                    d.raw.clone(),
                    d.match_block.is_some(),
                )
            })
            .collect()
    }

    /// The effective words of every keyword the generator uses except `key`.
    fn other_effective(
        t: &ConfigTree,
        key: &str,
        version: (u32, u32),
    ) -> Vec<(String, Option<Vec<String>>)> {
        KEYWORDS
            .iter()
            .filter(|k| canonical_key(k) != canonical_key(key))
            .map(|k| {
                (
                    k.to_string(),
                    t.effective_in(k, version).map(|d| d.args.clone()),
                )
            })
            .collect()
    }

    fn is_comment_or_blank(l: &[u8]) -> bool {
        let t: Vec<u8> = l
            .iter()
            .copied()
            .skip_while(|b| b" \t\r\n".contains(b))
            .collect();
        t.is_empty() || t[0] == b'#'
    }

    fn settable(key: &str, version: (u32, u32)) -> bool {
        is_known_keyword(key)
            && matches!(
                precedence_in(key, version),
                Precedence::First | Precedence::FirstLine | Precedence::Last
            )
    }

    /// A refusal `set` may give for this input, and only then.
    fn refusal_is_expected(
        files: &BTreeMap<String, Vec<u8>>,
        key: &str,
        value: &str,
        version: (u32, u32),
        e: &ModuleError,
    ) -> Result<(), TestCaseError> {
        let before = parse_tree(MAIN, files);
        match e {
            ModuleError::UnknownKeyword { .. } => prop_assert!(!is_known_keyword(key), "{e}"),
            ModuleError::UnsupportedKeyword { .. } => {
                prop_assert!(is_known_keyword(key) && !settable(key, version), "{e}")
            }
            ModuleError::BadValue { .. } => prop_assert!(
                !VALUES.contains(&value) || args_of(key, value).is_none(),
                "a plain value was refused: {e}"
            ),
            ModuleError::IncludeLoop { .. } => prop_assert!(before.stopped_early, "{e}"),
            ModuleError::Line { file, line, .. } => {
                // the line sshd uses, when it has a NUL byte or is not UTF-8;
                // or, when none does, the line with a NUL byte the new line
                // would have to follow
                let w = before.effective_in(key, version);
                let l = lines(&files[file])[line - 1];
                match w {
                    Some(w) => prop_assert!(
                        w.file == *file
                            && w.line == *line
                            && (l.contains(&0) || std::str::from_utf8(l).is_err()),
                        "{e}: {}",
                        show(l)
                    ),
                    None => prop_assert!(file == MAIN && l.contains(&0), "{e}: {}", show(l)),
                }
            }
            _ => prop_assert!(false, "unexpected refusal: {e}"),
        }
        Ok(())
    }

    /// The whole `set` property for one input.
    fn check_set(
        files: &BTreeMap<String, Vec<u8>>,
        key: &str,
        value: &str,
        version: (u32, u32),
    ) -> Result<(), TestCaseError> {
        let before = parse_tree(MAIN, files);
        let edits = match set(files, MAIN, version, key, value, "f") {
            Err(e) => return refusal_is_expected(files, key, value, version, &e),
            Ok(edits) => edits,
        };
        prop_assert!(settable(key, version), "`{key}` was accepted");
        let want = args_of(key, value)
            .ok_or_else(|| fail(format!("accepted {value:?}, which is not one line's words")))?;
        let Some(e) = edits.first() else {
            // nothing to do: a line decides already (compared like sshd -T
            // prints it; for yes/no keywords that is the words in lowercase)
            let w = before.effective_in(key, version);
            prop_assert!(w.is_some(), "no edit, but no line sets `{key}`");
            let k = canonical_key(key);
            if ["usedns", "x11forwarding", "kbdinteractiveauthentication"].contains(&k.as_str()) {
                let lower = |a: &[String]| a.join(" ").to_ascii_lowercase();
                prop_assert_eq!(lower(&w.unwrap().args), lower(&want));
            }
            return Ok(());
        };
        prop_assert_eq!(edits.len(), 1);
        prop_assert_eq!(e.before.as_deref(), files.get(&e.path).map(Vec::as_slice));
        let old_bytes = &files[&e.path];
        let mut next = files.clone();
        next.insert(e.path.clone(), e.after.clone());
        let after = parse_tree(MAIN, &next);

        // 2. sshd now uses the new words, from the edited line
        let Some(now) = after.effective_in(key, version) else {
            return Err(fail(format!("after the edit no line sets `{key}`")));
        };
        prop_assert_eq!(&now.args, &want);
        prop_assert_eq!(&now.file, &e.path);
        prop_assert!(
            now.match_block.is_none_or(|i| after.matches[i].all),
            "the new value is in a Match block that is not `Match all`"
        );

        let (old, new) = (lines(old_bytes), lines(&e.after));
        let ours = directives(&after, Some((&now.file, now.line)));
        let theirs = if old.len() == new.len() {
            // 1. in place: only the line that decided before
            let Some(w) = before.effective_in(key, version) else {
                return Err(fail("a line was replaced although none set the keyword"));
            };
            prop_assert_eq!((&w.file, w.line), (&now.file, now.line));
            only_lines_changed(old_bytes, &e.after, &[w.line - 1]).map_err(fail)?;
            // indentation, keyword spelling, separator and line ending kept
            let (o, n) = (old[w.line - 1], new[w.line - 1]);
            let text = std::str::from_utf8(o).unwrap();
            let body = text.trim_end_matches(['\n', '\r', ' ', '\t', '\x0c']);
            let head = &body[..body.len() - w.rest.len()];
            prop_assert!(n.starts_with(head.as_bytes()), "{} → {}", show(o), show(n));
            prop_assert!(n.ends_with(&o[body.len()..]), "{} → {}", show(o), show(n));
            directives(&before, Some((&w.file, w.line)))
        } else {
            // 1. inserted: one line into the main file, where no line set it
            prop_assert!(before.effective_in(key, version).is_none());
            prop_assert_eq!(&e.path, MAIN);
            let ins = insertion(old_bytes, &e.after).map_err(fail)?;
            prop_assert_eq!(ins.count, 1);
            prop_assert!(
                now.match_block.is_none(),
                "the new line is in a Match block"
            );
            let k = now.line - 1;
            prop_assert!(ins.at.contains(&k), "{ins:?} vs line {}", now.line);
            // a last line without newline gets one only when the new line goes after it
            let unended = !old_bytes.is_empty() && !old_bytes.ends_with(b"\n");
            prop_assert_eq!(!ins.ended_last.is_empty(), unended && k == old.len());
            // documented place: before the global Include (first-wins), else
            // above the comments of the first Match (or of a commented-out
            // example at the end), else the end; only comments between
            let include = before
                .includes
                .iter()
                .find(|i| i.file == MAIN && i.match_block.is_none());
            let anchor = match (precedence_in(key, version), include) {
                (Precedence::First | Precedence::FirstLine, Some(i)) => i.line - 1,
                _ => before.first_match_line().map_or(old.len(), |(_, l)| l - 1),
            };
            prop_assert!(
                k <= anchor && old[k..anchor].iter().all(|l| is_comment_or_blank(l)),
                "new line {} is not right above line {} with only comments between: {}",
                k + 1,
                anchor + 1,
                show(&e.after)
            );
            directives(&before, None)
        };
        // 4. no directive, Match or Include appeared or vanished
        prop_assert_eq!(theirs, ours, "other directives changed");
        prop_assert_eq!(before.matches.len(), after.matches.len());
        prop_assert_eq!(before.includes.len(), after.includes.len());
        // 2. every other keyword keeps its effective value
        prop_assert_eq!(
            other_effective(&before, key, version),
            other_effective(&after, key, version)
        );
        // 3. idempotent
        prop_assert_eq!(set(&next, MAIN, version, key, value, "f"), Ok(vec![]));
        Ok(())
    }

    fn healthy() -> &'static captured::Built {
        static B: std::sync::OnceLock<captured::Built> = std::sync::OnceLock::new();
        B.get_or_init(|| captured::Built::new(captured::frames("healthy"), &["10.77.0.1"]))
    }

    fn marker() -> BoxedStrategy<String> {
        prop_oneof![
            4 => select(&["sshd -t: Bad configuration option: FooBar", "m", "(nested [brackets", "\u{e9} \u{2603}", "$(reboot) `id`", "# x", "\\"][..]).prop_map(str::to_string),
            1 => hostile(),
            1 => select(&["a)b", "):", "x\rPort 22", "x\nPort 22", "\0"][..]).prop_map(str::to_string),
        ]
        .boxed()
    }

    fn check_comment_out(
        files: &BTreeMap<String, Vec<u8>>,
        file: &str,
        line: usize,
        marker: &str,
    ) -> Result<(), TestCaseError> {
        let result = comment_out(files, file, line, marker, "f");
        let bad_marker = marker.is_empty() || marker.contains([')', '\n', '\r', '\0']);
        let Some(bytes) = files.get(file) else {
            prop_assert!(result.is_err());
            return Ok(());
        };
        let old = lines(bytes);
        let alone: BTreeMap<String, Vec<u8>> = [(file.to_string(), bytes.clone())].into();
        let t = parse_tree(file, &alone);
        let d = t.directives.iter().find(|d| d.line == line);
        let e = match result {
            Err(ModuleError::BadMarker { .. }) => {
                prop_assert!(bad_marker);
                return Ok(());
            }
            Err(ModuleError::NoSuchLine { .. }) => {
                prop_assert!(!bad_marker && (line == 0 || line > old.len()));
                return Ok(());
            }
            Err(ModuleError::Line { why, .. }) => {
                // not a directive, a Match line, a policy keyword, or a NUL byte
                prop_assert!(!bad_marker);
                let l = old[line - 1];
                prop_assert!(
                    d.is_none_or(|d| d.key == "match"
                        || POLICY_KEYWORDS.contains(&d.key.as_str())
                        || l.contains(&0)),
                    "{why}: {}",
                    show(l)
                );
                return Ok(());
            }
            Err(other) => return Err(fail(format!("unexpected refusal: {other}"))),
            Ok(e) => e,
        };
        prop_assert!(!bad_marker);
        d.ok_or_else(|| fail("commented out a line that is not a directive"))?;
        prop_assert_eq!(e.before.as_deref(), Some(&bytes[..]));
        // 1. only that line, in the documented format, line ending kept
        only_lines_changed(bytes, &e.after, &[line - 1]).map_err(fail)?;
        let (o, n) = (old[line - 1], lines(&e.after)[line - 1]);
        prop_assert_eq!(eol_of(o), eol_of(n));
        let o_body = &o[..o.len() - eol_of(o).len()];
        let n_body = &n[..n.len() - eol_of(n).len()];
        let indent = o_body
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        let mut want = o_body[..indent].to_vec();
        want.extend_from_slice(format!("{DISABLED_PREFIX}{marker}): ").as_bytes());
        want.extend_from_slice(&o_body[indent..]);
        prop_assert_eq!(show(n_body), show(&want));
        if let Ok(n_text) = std::str::from_utf8(n_body) {
            let back =
                parse_disabled(n_text).ok_or_else(|| fail(format!("not read back: {n_text:?}")))?;
            prop_assert_eq!(&back.marker, marker);
            let cr = if o_body.ends_with(b"\r") { "\r" } else { "" };
            let read_back = format!("{}{}{cr}", back.indent, back.original);
            prop_assert_eq!(read_back.as_bytes(), o_body);
        }
        // 2. and 4. sshd reads one directive fewer, nothing else changes
        let mut next = alone.clone();
        next.insert(file.to_string(), e.after.clone());
        let t2 = parse_tree(file, &next);
        prop_assert_eq!(directives(&t, Some((file, line))), directives(&t2, None));
        prop_assert!(t2.directives.iter().all(|x| x.line != line));
        prop_assert_eq!(t.matches.len(), t2.matches.len());
        // 3. a second time it is a comment, refused as such
        let again = comment_out(&next, file, line, marker, "f");
        prop_assert!(matches!(again, Err(ModuleError::Line { .. })), "{again:?}");
        Ok(())
    }

    proptest! {
        #![proptest_config(cases(800))]

        /// `set` on a generated tree, for keywords of every kind and good
        /// or hostile values: refused as documented, or one line replaced in
        /// place (or one inserted at the documented place), read back by the
        /// facts parser as the line sshd uses with the new words, nothing
        /// else changed, and a second `set` changes nothing.
        #[test]
        fn set_changes_one_line_and_sshd_then_uses_the_new_value(
            (files, key, value) in tree().prop_flat_map(|files| {
                // half the time a keyword the files have, with its value or another
                let have: Vec<(String, String)> = parse_tree(MAIN, &files.0)
                    .directives
                    .iter()
                    .filter(|d| d.key != "match" && d.key != "include")
                    .map(|d| (d.keyword.clone(), d.value()))
                    .collect();
                let mine = if have.is_empty() {
                    keyword().prop_map(|k| (k, None)).boxed()
                } else {
                    prop_oneof![
                        keyword().prop_map(|k| (k, None)),
                        select(have).prop_map(|(k, v)| (k, Some(v))),
                    ]
                    .boxed()
                };
                let value = prop_oneof![
                    3 => select(VALUES).prop_map(str::to_string),
                    2 => hostile(),
                ];
                (Just(files), mine, value, any::<bool>()).prop_map(|(f, (k, same), v, keep)| {
                    let v = match same {
                        Some(same) if keep && !same.is_empty() => same,
                        _ => v,
                    };
                    (f, k, v)
                })
            }),
            version in select(&VERSIONS[..]),
        ) {
            check_set(&files.0, &key, &value, version)?;
        }

        /// `comment_out` of any line with any marker: refused as documented,
        /// or exactly that line becomes `# sshfix: disabled (marker): …`,
        /// read back byte for byte, one directive fewer, and commenting it
        /// out again is refused (it is a comment now).
        #[test]
        fn comment_out_disables_exactly_that_line(
            (files, file, line) in tree().prop_flat_map(|files| {
                let file = select(&[MAIN, MAIN, DROPINS[0], DROPINS[1]][..]);
                (Just(files), file).prop_flat_map(|(files, file)| {
                    let n = files.0.get(file).map_or(0, |b| lines(b).len());
                    (Just(files), Just(file), 0..n + 2)
                })
            }),
            marker in marker(),
        ) {
            check_comment_out(&files.0, file, line, &marker)?;
        }

        /// The task's JSON, any shape: a `set` value that is not a string,
        /// number or boolean is refused; a `comment_out` reason (`why`) with
        /// parentheses, line breaks or NUL is made into a usable marker, so
        /// it is never refused for it and the disabled line stays one line.
        #[test]
        fn task_arguments_of_any_json_shape_are_refused_or_stay_on_one_line(
            files in tree(),
            key in keyword(),
            value in prop_oneof![
                2 => select(VALUES).prop_map(|v| json!(v)),
                2 => hostile().prop_map(Value::String),
                1 => select(vec![json!(100), json!(-1), json!(1.5), json!(true), json!(false), Value::Null, json!(["no"]), json!({"v": "no"})]),
            ],
            line in 1usize..12,
            why in prop_oneof![hostile(), "[()\\n\\r\\x00a-z ]{0,20}", Just("x".repeat(500))],
        ) {
            let h = healthy();
            let host = sshfix::modules::Host { files: &files.0, gathered: &files.0, ..h.host() };
            let r = sshfix::modules::sshd_config::task(&host, &json!({"set": {&key: value}}), "f");
            if !(value.is_string() || value.is_number() || value.is_boolean()) {
                prop_assert!(r.as_ref().is_err_and(|e| e.message.contains("must be a string or number")), "{r:?}");
            }
            let args = json!({"comment_out": [{"file": MAIN, "line": line, "why": why}]});
            match sshfix::modules::sshd_config::task(&host, &args, "f") {
                Err(e) => prop_assert!(!e.message.contains("is not usable"), "{e}"),
                Ok(p) => {
                    prop_assert_eq!(p.edits.len(), 1);
                    let e = &p.edits[0];
                    only_lines_changed(&files.0[MAIN], &e.after, &[line - 1]).map_err(fail)?;
                    let n = lines(&e.after)[line - 1];
                    let body = &n[..n.len() - eol_of(n).len()];
                    prop_assert!(!body.contains(&b'\n') && !body.contains(&0), "{}", show(n));
                }
            }
        }
    }
}

// ---------------------------------------------------------------- hosts_access

mod hosts_access {
    use super::*;
    use sshfix::facts::hosts_access::{
        self as ha, Decision, Query, Rules, HOSTS_ALLOW, HOSTS_DENY,
    };
    use sshfix::modules::hosts_access::{allow, client_pattern};

    /// Rules of every shape the evaluator knows, in odd spellings.
    const RULES: &[&str] = &[
        "sshd: ALL",
        "sshd: ALL : deny",
        "sshd: 10.0.0.0/8 : deny",
        "ALL: ALL",
        "ALL : ALL : DENY",
        "sshd : 192.0.2.10",
        "sshd:\t192.0.2.11\t",
        "SSHD: all",
        "sshd: .example.com",
        "sshd: ALL EXCEPT 192.0.2.10",
        "sshd: ALL EXCEPT 192.0.2.0/24 : deny",
        "sshd: [2001:db8::]/32",
        "sshd: [2001:db8::1]",
        "sshd, portmap: 10.",
        "sshd: 192.0.2. : deny",
        "sshd: ALL: spawn /bin/true",
        "sshd: ALL : twist /bin/echo no",
        "sshd: ALL : severity auth.info : allow",
        "sshd: @netgroup : deny",
        "sshd: /etc/ssh/list",
        "sshd@10.0.0.1: ALL: deny",
        "22: ALL: deny",
        "sshd: 192.0.2.0/255.255.255.0",
        "sshd: LOCAL",
        "sshd: KNOWN : deny",
        "sshd: PARANOID : deny",
        "sshd: UNKNOWN",
        "in.telnetd: ALL",
        "sshd: user@10.0.0.1",
        "sshd: ::ffff:192.0.2.10",
        "sshd: 10.0.0.1, \\",
        "sshd: ALL : deny \\",
        "sshd ALL",
        "sshd: ALL :",
        "sshd: 192.0.2.10 : unknown_option",
        "ALL EXCEPT sshd: ALL: deny",
        "sshd: caf\u{e9}.example",
    ];

    fn line() -> BoxedStrategy<Vec<u8>> {
        prop_oneof![
            6 => (select(&["", "", " ", "\t"][..]), select(RULES), select(&["", "", " ", "\t "][..]))
                .prop_map(|(i, r, t)| format!("{i}{r}{t}").into_bytes()),
            2 => select(&["# /etc/hosts.allow", "#sshd: ALL", "  # indented", "# \u{2603} unicode", "#"][..])
                .prop_map(|s| s.as_bytes().to_vec()),
            2 => select(&["", " ", "\t"][..]).prop_map(|s| s.as_bytes().to_vec()),
            1 => Just(format!("sshd: {}", "10.9.9.9, ".repeat(250)).into_bytes()),
            1 => Just(format!("# {}", "x".repeat(3000)).into_bytes()),
        ]
        .boxed()
    }

    fn text() -> BoxedStrategy<Text> {
        file_of(line(), 0..12).prop_map(Text).boxed()
    }

    const CLIENTS: &[&str] = &[
        "192.0.2.10",
        "192.0.2.11",
        "10.0.0.1",
        "2001:db8::1",
        "::ffff:192.0.2.10",
        "203.0.113.5",
        "2001:db8:1::5",
        "127.0.0.1",
    ];

    /// Addresses that are never clients: their treatment must not change.
    const STRANGERS: &[&str] = &[
        "192.0.2.12",
        "192.0.2.1",
        "10.0.0.2",
        "10.9.9.9",
        "2001:db8::2",
        "2001:db8::",
        "203.0.113.6",
        "127.0.0.2",
        "198.51.100.1",
        "::1",
        "::ffff:10.0.0.2",
    ];

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn no_lists(_: &str) -> Option<String> {
        None
    }

    /// What a decision says, without line numbers.
    fn gist(d: &Decision) -> (bool, String, String, Option<String>, bool, usize) {
        (
            d.allowed,
            format!("{:?}", d.verdict),
            format!("{:?}", d.decided_by),
            d.rule.as_ref().map(|r| r.text.clone()),
            d.needs_name,
            d.uncertain.len(),
        )
    }

    /// Each rule as libwrap reads it, without line numbers, except those on `skip` lines.
    type RuleGist = (String, Vec<String>, Vec<String>, Vec<String>);
    fn rules(r: &Rules, skip: &std::ops::Range<usize>) -> Vec<RuleGist> {
        r.rules
            .iter()
            .filter(|x| !skip.contains(&x.line))
            .map(|x| {
                (
                    x.text.clone(),
                    x.daemons.clone(),
                    x.clients.clone(),
                    x.options.iter().map(|o| format!("{o:?}")).collect(),
                )
            })
            .collect()
    }

    /// `sshd: p1, p2` (+ the file's line ending) → the patterns, or `None`.
    fn patterns_of(l: &[u8], eol: &str) -> Option<Vec<String>> {
        let l = std::str::from_utf8(l).ok()?.strip_suffix(eol)?;
        let rest = l.strip_prefix("sshd: ")?;
        Some(rest.split(", ").map(str::to_string).collect())
    }

    fn check_allow(
        allow_text: Option<&[u8]>,
        deny_text: Option<&[u8]>,
        clients: &[IpAddr],
    ) -> Result<(), TestCaseError> {
        // the task refuses text that is not UTF-8; the generator makes UTF-8
        let a = allow_text.map(|b| std::str::from_utf8(b).unwrap());
        let d = deny_text.map(|b| std::str::from_utf8(b).unwrap());
        let deny = ha::parse(HOSTS_DENY, d.unwrap_or(""));
        let before = ha::parse(HOSTS_ALLOW, a.unwrap_or(""));
        let decide =
            |rules: &Rules, c: IpAddr| ha::evaluate(rules, &deny, &Query::sshd(c), &no_lists);
        let result = allow(a, d, clients, &no_lists, "f").map_err(|e| {
            fail(format!(
                "the safety net fired (the module says no input makes it): {e}"
            ))
        })?;
        let Some(e) = result else {
            // nothing to do: every client gets in today
            for &c in clients {
                prop_assert!(decide(&before, c).allowed, "{c} is denied, yet no edit");
            }
            return Ok(());
        };
        prop_assert_eq!(&e.path, HOSTS_ALLOW);
        prop_assert_eq!(e.before.as_deref(), allow_text);
        let old = allow_text.unwrap_or(b"");
        let eol = sshfix::modules::dominant_eol(old);
        // 1. one block of `sshd: <addresses>` lines inserted, nothing else
        // changed (a comment or blank last line may have got its newline)
        let ins = insertion(old, &e.after).map_err(fail)?;
        if !ins.ended_last.is_empty() {
            let last = lines(old).last().copied().unwrap_or(b"");
            prop_assert!(
                last.iter().all(|b| b" \t\r".contains(b)) || last.starts_with(b"#"),
                "a rule line was ended: {}",
                show(last)
            );
        }
        let want: Vec<String> = clients.iter().map(|c| client_pattern(*c)).collect();
        let found = ins.at.clone().find_map(|k| {
            let new = ins.new_lines(&e.after, k);
            let pats: Option<Vec<Vec<String>>> = new.iter().map(|l| patterns_of(l, eol)).collect();
            pats.map(|p| (k, p.concat()))
        });
        let Some((k, pats)) = found else {
            return Err(fail(format!(
                "the new lines are not `sshd: <addresses>`: {}",
                show(&e.after)
            )));
        };
        let mut unique = pats.clone();
        unique.sort();
        unique.dedup();
        prop_assert_eq!(unique.len(), pats.len(), "a client twice: {:?}", pats);
        prop_assert!(
            pats.iter().all(|p| want.contains(p)),
            "{pats:?} not among {want:?}"
        );
        // 2. the old rules read exactly as before; every client is let in;
        // no stranger is treated differently
        let text = std::str::from_utf8(&e.after).unwrap();
        let after = ha::parse(HOSTS_ALLOW, text);
        let new_lines = k + 1..k + 1 + ins.count;
        // (a comment or blank last line given its newline no longer stops libwrap)
        let ended = ha::parse(
            HOSTS_ALLOW,
            &format!("{}{}", a.unwrap_or(""), ins.ended_last),
        );
        prop_assert_eq!(rules(&ended, &(0..0)), rules(&after, &new_lines));
        prop_assert_eq!(
            ended.stop.as_ref().map(|s| &s.text),
            after.stop.as_ref().map(|s| &s.text)
        );
        for &c in clients {
            prop_assert!(decide(&after, c).allowed, "{c} is still denied: {text:?}");
        }
        for s in STRANGERS.iter().map(|s| ip(s)) {
            if want.contains(&client_pattern(s)) {
                continue;
            }
            prop_assert_eq!(
                gist(&decide(&before, s)),
                gist(&decide(&after, s)),
                "stranger {}",
                s
            );
        }
        // 3. idempotent
        prop_assert_eq!(allow(Some(text), d, clients, &no_lists, "f"), Ok(None));
        Ok(())
    }

    /// The `hosts_access` task over a capture, with these files.
    fn task(
        allow_text: Option<&[u8]>,
        deny_text: &[u8],
        args: Value,
    ) -> Result<sshfix::modules::Proposal, String> {
        let b = built();
        let mut files = b.files.clone();
        files.remove(HOSTS_ALLOW);
        if let Some(a) = allow_text {
            files.insert(HOSTS_ALLOW.into(), a.to_vec());
        }
        files.insert(HOSTS_DENY.into(), deny_text.to_vec());
        let host = sshfix::modules::Host {
            files: &files,
            gathered: &files,
            ..b.host()
        };
        sshfix::modules::hosts_access::task(&host, &args, "tcp-wrappers-deny")
            .map_err(|e| e.message)
    }

    fn built() -> &'static captured::Built {
        static B: std::sync::OnceLock<captured::Built> = std::sync::OnceLock::new();
        B.get_or_init(|| captured::Built::new(captured::frames("wrappers-deny"), &["10.77.0.1"]))
    }

    proptest! {
        #![proptest_config(cases(800))]

        /// `allow` on generated hosts.allow/deny for some clients: nothing
        /// to do only when each is let in already; otherwise one block of
        /// `sshd: <address>` lines inserted and nothing else touched, the
        /// old rules read the same, every client is now let in, no other
        /// address is treated differently, and a second run adds nothing.
        #[test]
        fn allow_inserts_only_address_lines_and_changes_no_one_elses_access(
            allow_text in proptest::option::weighted(0.9, text()),
            deny_text in proptest::option::weighted(0.9, text()),
            picks in proptest::collection::vec(select(CLIENTS), 1..4),
        ) {
            let clients: Vec<IpAddr> = picks.iter().map(|c| ip(c)).collect();
            check_allow(allow_text.as_ref().map(|t| &t.0[..]), deny_text.as_ref().map(|t| &t.0[..]), &clients)?;
        }

        /// The task's `allow` strings, hostile ones included: anything but
        /// an IP address is refused; otherwise the added lines name only
        /// those addresses. A hosts.allow that is not UTF-8 is refused.
        #[test]
        fn task_writes_only_addresses_whatever_allow_says(
            allow_text in text(),
            deny_text in text(),
            latin1 in proptest::bool::weighted(0.1),
            list in proptest::collection::vec(
                prop_oneof![2 => select(CLIENTS).prop_map(str::to_string), 1 => select(&[" 192.0.2.10 ", "[2001:db8::1]", "192.0.2.10/32", "010.0.0.1", "fe80::1%eth0", "::ffff:0:1.2.3.4"][..]).prop_map(str::to_string), 1 => hostile()],
                1..4,
            ),
        ) {
            let mut allow_bytes = allow_text.0.clone();
            if latin1 {
                allow_bytes.extend_from_slice(b"# caf\xe9\n");
            }
            let parsed: Option<Vec<IpAddr>> = list.iter().map(|s| s.trim().parse().ok()).collect();
            match (task(Some(&allow_bytes), &deny_text.0, json!({"allow": list})), parsed) {
                (Err(e), None) => prop_assert!(e.contains("is not an IP address"), "{e}"),
                (Err(e), Some(_)) => prop_assert!(latin1 && e.contains("is not UTF-8"), "{e}"),
                (Ok(p), None) => prop_assert!(false, "accepted {list:?}: {p:?}"),
                (Ok(p), Some(clients)) => {
                    prop_assert!(!latin1);
                    let want: Vec<String> = clients.iter().map(|c| client_pattern(*c)).collect();
                    for e in &p.edits {
                        let eol = sshfix::modules::dominant_eol(&allow_bytes);
                        only_added_lines(&allow_bytes, &e.after, &|l| {
                            patterns_of(l, eol).is_some_and(|ps| ps.iter().all(|p| want.contains(p)))
                        })
                        .map_err(fail)?;
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- firewall

mod firewall {
    use super::*;
    use sshfix::facts::firewall::{Family, HostRules, Packet, RuleRef};
    use sshfix::facts::frame::{Frames, Item};
    use sshfix::facts::{iptables, nft};
    use sshfix::modules::{firewall, Host};

    const FINDING: &str = "firewall-blocks-ssh";

    /// A real capture of a firewall (`tests/fixtures/modules/firewall/NAME`)
    /// with the persisted files the module edits.
    struct Scenario {
        name: &'static str,
        built: captured::Built,
        persisted: Vec<String>,
        live: HostRules,
    }

    /// The scenarios whose persisted files the module edits (ufw and
    /// firewalld persist their own rules: no file edit to check).
    const SCENARIOS: &[&str] = &[
        "nft-inet-ip",
        "nft-policy",
        "nft-nonewline",
        "ipt-policy",
        "ipt-rule",
        "ip6tables",
        "legacy",
    ];

    /// Clients the scenarios block, and some they let through.
    const CLIENTS: &[&str] = &[
        "10.77.0.1",
        "10.77.0.2",
        "10.88.0.5",
        "10.88.1.1",
        "192.0.2.1",
        "192.0.2.7",
        "2001:db8:77::1",
        "2001:db8:88::1",
        "2001:db8::5",
        "::ffff:10.77.0.1",
    ];

    fn set_item(frames: &mut Frames, key: &str, body: &[u8]) {
        frames.items.retain(|i| i.key != key);
        frames.items.push(Item {
            key: key.into(),
            body: body.to_vec(),
            rc: Some(0),
            truncated: false,
            seconds: Some(0.01),
        });
    }

    /// The healthy capture with the scenario's firewall items and files,
    /// as `tests/modules_firewall.rs` builds it.
    fn scenario_frames(name: &str) -> (Frames, Vec<String>) {
        const KEYS: [&str; 6] = [
            "nft-json",
            "nft-text",
            "iptables-nft-save",
            "ip6tables-nft-save",
            "iptables-legacy-save",
            "ip6tables-legacy-save",
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/modules/firewall")
            .join(name);
        let mut f = captured::frames("healthy");
        f.items.retain(|i| {
            let persisted = [
                "/etc/nftables",
                "/etc/iptables/",
                "/etc/sysconfig/",
                "/etc/ufw/",
            ]
            .iter()
            .any(|p| i.key.starts_with(&format!("file {p}")));
            !KEYS.contains(&i.key.as_str()) && !persisted
        });
        for k in KEYS {
            if let Ok(b) = std::fs::read(dir.join("captured").join(k)) {
                set_item(&mut f, k, &b);
            }
        }
        let mut persisted = Vec::new();
        for p in [
            "etc/nftables.conf",
            "etc/iptables/rules.v4",
            "etc/iptables/rules.v6",
        ] {
            if let Ok(b) = std::fs::read(dir.join(p)) {
                set_item(&mut f, &format!("file /{p}"), &b);
                persisted.push(format!("/{p}"));
            }
        }
        (f, persisted)
    }

    fn scenarios() -> &'static [Scenario] {
        static S: std::sync::OnceLock<Vec<Scenario>> = std::sync::OnceLock::new();
        S.get_or_init(|| {
            SCENARIOS
                .iter()
                .map(|name| {
                    let (frames, persisted) = scenario_frames(name);
                    let live = sshfix::facts::model::host_rules(&frames).0;
                    Scenario {
                        name,
                        built: captured::Built::new(frames, CLIENTS),
                        persisted,
                        live,
                    }
                })
                .collect()
        })
    }

    /// The address as the firewall sees the packet (IPv4-mapped → IPv4).
    fn on_the_wire(c: IpAddr) -> IpAddr {
        match c {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(c, IpAddr::V4),
            v4 => v4,
        }
    }

    fn nft_accept(c: IpAddr, port: u16) -> String {
        let kw = if c.is_ipv4() { "ip saddr" } else { "ip6 saddr" };
        format!("{kw} {c} tcp dport {port} accept comment \"sshfix: allow {c} port {port}\"")
    }

    fn ipt_accept(c: IpAddr, port: u16) -> String {
        let len = if c.is_ipv4() { 32 } else { 128 };
        format!("-s {c}/{len} -p tcp -m tcp --dport {port} -m comment --comment \"sshfix: allow {c} port {port}\" -j ACCEPT")
    }

    /// A line the module may add: the accept of one client on `port`.
    fn is_accept_line(l: &[u8], clients: &[IpAddr], port: u16) -> bool {
        let Ok(t) = std::str::from_utf8(l) else {
            return false;
        };
        let t = t
            .trim_end_matches(['\n', '\r'])
            .trim_start_matches([' ', '\t']);
        clients.iter().any(|&c| {
            let nft = nft_accept(c, port);
            let ipt = ipt_accept(c, port);
            let one_word = |w: &str| !w.is_empty() && !w.contains([' ', '\t']);
            t == nft
                || t.strip_prefix("add rule ")
                    .and_then(|r| r.strip_suffix(&format!(" {nft}")))
                    .is_some_and(|ftc| ftc.split(' ').count() == 3)
                || t.strip_prefix("-A ")
                    .and_then(|r| r.strip_suffix(&format!(" {ipt}")))
                    .is_some_and(one_word)
        })
    }

    /// An iptables `-A` line as the parser reads it.
    fn ipt_rule(table: &str, line: &str) -> iptables::Rule {
        iptables::parse(&format!("*{table}\n{line}\nCOMMIT\n"))
            .unwrap()
            .tables[0]
            .chains[0]
            .rules[0]
            .clone()
    }

    /// A persisted file with noise that changes nothing for the firewall:
    /// comments (braces in them too), blank lines, trailing blanks, a decoy
    /// table holding the same rule texts in a chain nothing jumps to. (Not
    /// a comment after a tab on a rule line, `…drop\t# }`: the facts
    /// parser's `nft::find_rule_in_file` only strips ` #` comments and then
    /// counts the brace, loses the chain, and the module safely reports the
    /// rule as "not in the file".)
    #[derive(Debug, Clone)]
    struct Noise {
        lines: Vec<(prop::sample::Index, &'static str)>,
        trailing: Vec<(prop::sample::Index, &'static str)>,
        decoy_first: Option<bool>,
        crlf: bool,
        latin1: bool,
    }

    fn noise() -> impl Strategy<Value = Noise> {
        (
            proptest::collection::vec(
                (
                    any::<prop::sample::Index>(),
                    select(
                        &[
                            "",
                            "   ",
                            "# note",
                            "\t# { brace in a comment }",
                            "# }",
                            "# \u{2603} caf\u{e9}",
                            "#",
                        ][..],
                    ),
                ),
                0..6,
            ),
            proptest::collection::vec(
                (
                    any::<prop::sample::Index>(),
                    select(&[" ", "\t", "  \t", " # trailing"][..]),
                ),
                0..3,
            ),
            proptest::option::weighted(0.4, any::<bool>()),
            proptest::bool::weighted(0.08),
            proptest::bool::weighted(0.08),
        )
            .prop_map(|(lines, trailing, decoy_first, crlf, latin1)| Noise {
                lines,
                trailing,
                decoy_first,
                crlf,
                latin1,
            })
    }

    const NFT_DECOY: &str = "table ip decoy {\n\tchain c {\n\t\tip saddr 10.77.0.0/24 counter drop\n\t\tip saddr 10.77.0.1 tcp dport ssh drop # old block\n\t\tip saddr 10.77.0.1 tcp dport 22 drop\n\t\tip6 saddr 2001:db8:77::/64 drop\n\t}\n}\n";
    const IPT4_DECOY: &str = "*mangle\n:DECOY - [0:0]\n-A DECOY -s 10.77.0.0/24 -p tcp -m tcp --dport 22 -j DROP\n-A DECOY -s 10.77.0.1/32 -p tcp -m tcp --dport 22 -j DROP\nCOMMIT\n";
    const IPT6_DECOY: &str =
        "*mangle\n:DECOY - [0:0]\n-A DECOY -s 2001:db8:77::/64 -j DROP\nCOMMIT\n";

    fn with_noise(path: &str, text: &[u8], n: &Noise) -> Vec<u8> {
        let text = String::from_utf8(text.to_vec()).unwrap();
        let mut ls: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
        for (i, t) in &n.trailing {
            if ls.is_empty() {
                break;
            }
            let k = i.index(ls.len());
            // nft reads ` # …` as a comment anywhere; iptables-restore does not
            if path.contains("iptables") && t.contains('#') {
                continue;
            }
            let l = &mut ls[k];
            let body_len = l.trim_end_matches('\n').len();
            l.insert_str(body_len, t);
        }
        for (i, t) in &n.lines {
            let k = i.index(ls.len() + 1);
            // a comment after a last line without newline would join it
            if k == ls.len() && ls.last().is_some_and(|l| !l.ends_with('\n')) {
                continue;
            }
            ls.insert(k, format!("{t}\n"));
        }
        if let Some(first) = n.decoy_first {
            let decoy = if path.contains("nftables") {
                NFT_DECOY
            } else if path.ends_with("v6") {
                IPT6_DECOY
            } else {
                IPT4_DECOY
            };
            if first {
                ls.insert(0, decoy.to_string());
            } else if ls.last().is_none_or(|l| l.ends_with('\n')) {
                ls.push(decoy.to_string());
            }
        }
        let mut out = ls.concat().into_bytes();
        if n.latin1 {
            out.splice(0..0, b"# caf\xe9\n".iter().copied());
        }
        if n.crlf {
            out = String::from_utf8_lossy(&out)
                .replace('\n', "\r\n")
                .into_bytes();
            if n.latin1 {
                out.splice(0..0, b"# \xe9\r\n".iter().copied());
            }
        }
        out
    }

    fn task(
        s: &Scenario,
        files: &BTreeMap<String, Vec<u8>>,
        args: &Value,
    ) -> Result<sshfix::modules::Proposal, String> {
        let host = Host {
            files,
            gathered: files,
            ..s.built.host()
        };
        firewall::task(&host, args, FINDING).map_err(|e| e.message)
    }

    /// Checks the accept for `c` stands at the documented place in the
    /// persisted file `after`: on the line right before the rule `r` that
    /// blocks it (in its table and chain), or at the end of the chain for a
    /// policy.
    fn at_documented_place(
        after: &str,
        r: &RuleRef,
        iptables_file: bool,
        c: IpAddr,
        port: u16,
    ) -> Result<(), TestCaseError> {
        let ls: Vec<&str> = after.lines().collect();
        // the 0-based index of the first line from `i` on that sshfix did
        // not add (accepts of several clients stand together)
        let past_accepts = |mut i: usize| {
            while ls
                .get(i)
                .is_some_and(|l| l.contains("comment \"sshfix: allow "))
            {
                i += 1;
            }
            i
        };
        if !iptables_file {
            let accept = RuleRef {
                text: nft_accept(c, port),
                ..r.clone()
            };
            let n = nft::find_rule_in_file(after, &accept).ok_or_else(|| {
                fail(format!(
                    "no accept for {c} in chain {} {} {}",
                    r.family, r.table, r.chain
                ))
            })? as usize;
            let next = past_accepts(n);
            if r.is_policy {
                let close = ls
                    .get(next)
                    .map(|l| l.split('#').next().unwrap_or("").trim());
                prop_assert_eq!(close, Some("}"), "{}: not at the end of the chain", c);
            } else {
                prop_assert_eq!(
                    nft::find_rule_in_file(after, r),
                    Some(next as u32 + 1),
                    "{}: not right before `{}`",
                    c,
                    r.text
                );
            }
        } else {
            let chain = &r.chain;
            let accept = ipt_rule(&r.table, &format!("-A {chain} {}", ipt_accept(c, port)));
            let n = iptables::find_rule_line(after, &r.table, chain, &accept).ok_or_else(|| {
                fail(format!(
                    "no accept for {c} in table {} chain {chain}",
                    r.table
                ))
            })? as usize;
            let next = past_accepts(n);
            if r.is_policy {
                let next = ls.get(next).map(|l| l.trim()).unwrap_or("");
                let prev = ls.get(n.wrapping_sub(2)).map(|l| l.trim()).unwrap_or("");
                prop_assert!(
                    next == "COMMIT" || prev.starts_with(&format!("-A {chain} ")),
                    "{c}: not at the end of chain {chain}"
                );
            } else {
                let blocking = ipt_rule(&r.table, r.iptables_text.as_deref().unwrap_or(&r.text));
                prop_assert_eq!(
                    iptables::find_rule_line(after, &r.table, chain, &blocking),
                    Some(next as u32 + 1),
                    "{}: not right before `{}`",
                    c,
                    r.text
                );
            }
        }
        Ok(())
    }

    fn check_firewall(
        s: &Scenario,
        files: &BTreeMap<String, Vec<u8>>,
        clients: &[IpAddr],
        port: u16,
    ) -> Result<(), TestCaseError> {
        let args = json!({"allow": clients.iter().map(|c| c.to_string()).collect::<Vec<_>>(), "port": port});
        let unreadable = |p: &str| {
            files.get(p).is_some_and(|b| {
                std::str::from_utf8(b).is_err() || b.windows(2).any(|w| w == b"\r\n")
            })
        };
        let p = match task(s, files, &args) {
            Err(e) => {
                // only a persisted file the loader cannot read is refused
                prop_assert!(
                    s.persisted.iter().any(|p| unreadable(p))
                        && (e.contains("ends with CRLF") || e.contains("is not UTF-8")),
                    "{}: {e}",
                    s.name
                );
                return Ok(());
            }
            Ok(p) => p,
        };
        let wire: Vec<IpAddr> = clients.iter().map(|c| on_the_wire(*c)).collect();
        for e in &p.edits {
            prop_assert!(
                s.persisted.contains(&e.path),
                "{} is not a persisted ruleset",
                e.path
            );
            prop_assert!(!unreadable(&e.path));
            let before = files.get(&e.path).map(Vec::as_slice);
            prop_assert_eq!(e.before.as_deref(), before);
            // 1. only accept lines for the clients added, every other line kept
            only_added_lines(before.unwrap_or(b""), &e.after, &|l| {
                is_accept_line(l, &wire, port)
            })
            .map_err(fail)?;
            // 2. the iptables file alone now lets every client of its family in
            if e.path.contains("/iptables/") {
                let fam = if e.path.ends_with("v6") {
                    Family::V6
                } else {
                    Family::V4
                };
                let save = iptables::parse(std::str::from_utf8(&e.after).unwrap())
                    .map_err(|x| fail(format!("{}: {x}", e.path)))?;
                for &c in wire.iter().filter(|c| Family::of(c) == fam) {
                    let v = save.evaluate(fam, &Packet::new(c, port));
                    prop_assert!(!v.blocks(), "{}: {} still blocks {}", s.name, e.path, c);
                }
            }
        }
        // 2. each blocked client's first blocking rule got its accept right before it
        for &c in &wire {
            let v = s.live.evaluate(&Packet::new(c, port));
            let blocks = v.blocks();
            let Some(r) = v.decided_by.filter(|_| blocks) else {
                continue;
            };
            // the policy of a chain iptables-nft made is iptables' to save
            let managed = s.live.nft.as_ref().is_some_and(|rs| {
                rs.iptables_nft_tables()
                    .contains(&(r.family.clone(), r.table.clone()))
            });
            let iptables_file =
                r.source != "nft" || r.iptables_text.is_some() || (managed && r.is_policy);
            let path = match (iptables_file, Family::of(&c)) {
                (false, _) => "/etc/nftables.conf",
                (true, Family::V4) => "/etc/iptables/rules.v4",
                (true, Family::V6) => "/etc/iptables/rules.v6",
            };
            let Some(e) = p.edits.iter().find(|e| e.path == path) else {
                return Err(fail(format!(
                    "{}: {c} is blocked by `{}`, but {path} was not edited",
                    s.name, r.text
                )));
            };
            at_documented_place(
                std::str::from_utf8(&e.after).unwrap(),
                &r,
                iptables_file,
                c,
                port,
            )?;
        }
        // 3. a second run edits nothing (the live rules still need their commands)
        let mut next = files.clone();
        for e in &p.edits {
            next.insert(e.path.clone(), e.after.clone());
        }
        let p2 = task(s, &next, &args).map_err(|e| fail(format!("second run refused: {e}")))?;
        prop_assert!(p2.edits.is_empty(), "edited twice: {:?}", p2.edits);
        prop_assert_eq!(p2.actions.len(), p.actions.len());
        Ok(())
    }

    proptest! {
        #![proptest_config(cases(300))]

        /// The firewall task on a real capture whose persisted rulesets got
        /// harmless noise (comments, blanks, trailing blanks, a decoy table
        /// with the same rule texts), or CRLF / Latin-1 bytes (refused):
        /// only accept lines are added, each right before the rule that
        /// blocks its client (or at the end of the chain for a policy), an
        /// iptables file alone then lets every client in, and a second run
        /// edits nothing.
        #[test]
        fn persisted_rulesets_only_gain_accept_lines_before_the_blocking_rule(
            which in 0..SCENARIOS.len(),
            noises in proptest::collection::vec(noise(), 3),
            picks in proptest::collection::vec(select(CLIENTS), 1..4),
            port in select(&[22u16, 22, 22, 2222, 23][..]),
        ) {
            let s = &scenarios()[which];
            let mut files = s.built.files.clone();
            for (path, n) in s.persisted.iter().zip(&noises) {
                let noisy = with_noise(path, &files[path], n);
                files.insert(path.clone(), noisy);
            }
            let clients: Vec<IpAddr> = picks.iter().map(|c| c.parse().unwrap()).collect();
            check_firewall(s, &files, &clients, port)?;
        }

        /// Hostile `allow` and `port` arguments: refused unless every
        /// client is an IP address and the port a TCP port; otherwise every
        /// command is one line and the files gain only accept lines for
        /// those addresses.
        #[test]
        fn hostile_arguments_are_refused_or_written_as_addresses(
            which in 0..SCENARIOS.len(),
            list in proptest::collection::vec(
                prop_oneof![2 => select(CLIENTS).prop_map(str::to_string), 1 => select(&[" 10.77.0.1 ", "10.77.0.0/24", "[2001:db8::1]", "010.77.0.1", "10.77.0.1 ; reboot"][..]).prop_map(str::to_string), 1 => hostile()],
                0..3,
            ),
            port in select(vec![json!(22), json!(0), json!(65536), json!(-1), json!("22"), json!("22; reboot"), json!(null), json!(22.5), json!(true), json!(2222)]),
        ) {
            let s = &scenarios()[which];
            let parsed: Option<Vec<IpAddr>> = list.iter().map(|x| x.trim().parse().ok()).collect();
            let port_ok = port.is_null() || port.as_u64().is_some_and(|p| (1..=65535).contains(&p));
            let args = json!({"allow": list, "port": port});
            match (task(s, &s.built.files, &args), parsed) {
                (Err(e), parsed) => prop_assert!(parsed.is_none() || !port_ok, "{e}"),
                (Ok(p), None) => prop_assert!(false, "accepted {list:?}: {p:?}"),
                (Ok(p), Some(clients)) => {
                    prop_assert!(port_ok);
                    let port = port.as_u64().map_or(22, |p| p as u16);
                    let wire: Vec<IpAddr> = clients.iter().map(|c| on_the_wire(*c)).collect();
                    for a in &p.actions {
                        if let sshfix::change::Op::Command { command, undo, .. } = &a.op {
                            for c in std::iter::once(command).chain(undo) {
                                prop_assert!(!c.contains(['\n', '\r', '\0']), "{c:?}");
                            }
                        }
                    }
                    for e in &p.edits {
                        only_added_lines(&s.built.files[&e.path], &e.after, &|l| is_accept_line(l, &wire, port)).map_err(fail)?;
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- haproxy

mod haproxy {
    use super::*;
    use sshfix::facts::haproxy::{self as hp, HaproxyConfig, Mode, SectionKind};
    use sshfix::modules::haproxy::tcp_for_ssh;

    const P: &str = "/etc/haproxy/haproxy.cfg";
    const PORTS: [u16; 4] = [22, 22, 2222, 80];

    const BINDS: &[&str] = &[
        "bind :22",
        "bind *:22",
        "bind :::22 v4v6",
        "bind 0.0.0.0:2222",
        "bind :80",
        "bind :443 ssl crt /etc/ssl/x.pem",
        "bind 10.0.0.1:22,10.0.0.1:80",
        "bind ipv4@:22",
        "bind :21-23",
    ];
    const MODES: &[&str] = &[
        "mode http",
        "mode http",
        "mode tcp",
        "mode\thttp   # was web",
        "mode http#x",
        "mode HTTP",
        "mode \"http\"",
        "option httplog",
        "option httpslog",
        "option httplog clf",
        "option tcplog",
        "option forwardfor",
    ];
    const ROUTES: &[&str] = &[
        "default_backend b_ssh",
        "default_backend b_web",
        "use_backend b_ssh if { path /ssh }",
        "use_backend %[req.hdr(host),lower]",
        "server s1 10.0.0.1:22",
        "server s2 10.0.0.2:8080",
        "server s3 10.0.0.3",
        "server s4 h1:22 check",
    ];
    const OTHER: &[&str] = &[
        "http-request deny if { path /x }",
        "cookie SRV insert",
        "timeout client 30s",
        "# comment",
        "# caf\u{e9} \u{2603}",
        "",
    ];

    const HEADERS: &[&str] = &[
        "frontend ssh",
        "frontend web",
        "listen ssh_l",
        "listen web_l # bastion",
        "backend b_ssh",
        "backend b_web",
        "frontend f2 from web",
    ];

    fn body_line() -> BoxedStrategy<String> {
        prop_oneof![
            8 => (
                select(&["\t", "    ", "  ", ""][..]),
                prop_oneof![3 => select(BINDS), 3 => select(MODES), 3 => select(ROUTES), 2 => select(OTHER)],
                select(&["", "", " ", "\t"][..]),
            )
                .prop_map(|(i, l, t)| format!("{i}{l}{t}")),
            1 => Just(format!("\t# {}", "long ".repeat(500))),
        ]
        .boxed()
    }

    fn section(headers: &'static [&'static str]) -> BoxedStrategy<Vec<String>> {
        (
            select(headers),
            proptest::collection::vec(body_line(), 0..6),
        )
            .prop_map(|(h, body)| std::iter::once(h.to_string()).chain(body).collect())
            .boxed()
    }

    fn config() -> BoxedStrategy<Text> {
        (
            any::<bool>(),
            proptest::collection::vec(
                (
                    select(&["defaults", "defaults web", "defaults plain"][..]),
                    proptest::collection::vec(
                        select(
                            &[
                                "\tmode http",
                                "\tmode http",
                                "\tmode tcp",
                                "\toption httplog",
                                "\toption tcplog",
                                "\ttimeout connect 5s",
                                "\tlog global",
                            ][..],
                        ),
                        0..4,
                    ),
                ),
                0..3,
            ),
            proptest::collection::vec(section(HEADERS), 1..5),
            // most files have a proxy that serves SSH over http
            proptest::option::weighted(
                0.6,
                (
                    any::<prop::sample::Index>(),
                    select(
                        &[
                            "listen ssh_x\n\tbind :22\n\tmode http\n\tserver h1 10.0.0.9:22",
                            "frontend ssh_y\n  bind *:22\n  default_backend b_ssh",
                        ][..],
                    ),
                ),
            ),
            0u8..3,
            proptest::bool::weighted(0.85),
        )
            .prop_map(|(global, defaults, mut proxies, ssh, eol, final_newline)| {
                if let Some((at, p)) = ssh {
                    let at = at.index(proxies.len() + 1);
                    proxies.insert(at, p.split('\n').map(str::to_string).collect());
                }
                let mut ls: Vec<String> = Vec::new();
                if global {
                    ls.extend(
                        ["global", "\tlog /dev/log local0", "\tmaxconn 4096", ""].map(String::from),
                    );
                }
                for (h, body) in defaults {
                    ls.push(h.to_string());
                    ls.extend(body.iter().map(|b| b.to_string()));
                }
                for p in proxies {
                    ls.extend(p);
                }
                let ls: Vec<(Vec<u8>, bool)> = ls
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| (l.into_bytes(), eol == 1 || (eol == 2 && i % 3 == 0)))
                    .collect();
                Text(join(&ls, final_newline))
            })
            .boxed()
    }

    /// The words of a line as haproxy reads them (comment cut off, quotes
    /// and backslashes removed).
    fn words(l: &str) -> Vec<String> {
        l.split('#')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .map(|w| w.replace(['"', '\''], ""))
            .collect()
    }

    fn is_header(l: &str) -> bool {
        words(l).first().is_some_and(|w| {
            ["global", "defaults", "frontend", "backend", "listen"].contains(&w.as_str())
        })
    }

    /// `old` → `new` is `mode http` → `mode tcp` or `option httplog|httpslog`
    /// → `option tcplog` with indentation, comment and line ending kept.
    fn switched(old: &str, new: &str) -> bool {
        let (ow, nw) = (words(old), words(new));
        let ow: Vec<&str> = ow.iter().map(String::as_str).collect();
        let nw: Vec<&str> = nw.iter().map(String::as_str).collect();
        let ok = matches!(
            (ow.as_slice(), nw.as_slice()),
            (["mode", m], ["mode", "tcp"]) if m.eq_ignore_ascii_case("http")
        ) || matches!(
            // `option httplog clf`: tcplog takes no format argument
            (ow.as_slice(), nw.as_slice()),
            (["option", "httplog" | "httpslog", ..], ["option", "tcplog"])
        );
        let indent = |l: &str| l.len() - l.trim_start().len();
        let comment = |l: &str| l.find('#').map(|i| l[i..].to_string());
        ok && old[..indent(old)] == new[..indent(new)]
            && comment(old) == comment(new)
            && old.ends_with('\n') == new.ends_with('\n')
            && old.ends_with("\r\n") == new.ends_with("\r\n")
    }

    /// `after` is `before` with lines switched in place and `mode tcp` /
    /// `option tcplog` inserted right after section headers. Returns the
    /// 1-based lines of `after` that changed or were added.
    fn only_switched_or_inserted(before: &str, after: &str) -> Result<Vec<usize>, String> {
        let b: Vec<&str> = before.split_inclusive('\n').collect();
        let a: Vec<&str> = after.split_inclusive('\n').collect();
        let (mut i, mut j) = (0, 0);
        let mut touched = Vec::new();
        let mut after_header = false;
        while i < a.len() {
            let same = b.get(j).is_some_and(|x| {
                *x == a[i]
                    || (j + 1 == b.len()
                        && !x.ends_with('\n')
                        && a[i].trim_end_matches(['\r', '\n']) == *x)
            });
            let inserted = after_header
                && [["mode", "tcp"], ["option", "tcplog"]]
                    .iter()
                    .any(|w| words(a[i]) == w[..])
                && !a[i].contains('#');
            if same {
                after_header = is_header(a[i]);
                i += 1;
                j += 1;
            } else if b.get(j).is_some_and(|x| switched(x, a[i])) {
                touched.push(i + 1);
                after_header = false;
                i += 1;
                j += 1;
            } else if inserted {
                touched.push(i + 1);
                i += 1;
            } else {
                return Err(format!("line {} of the result, {:?}, is neither kept, switched nor inserted after a header:\n{after:?}", i + 1, a[i]));
            }
        }
        if j != b.len() {
            return Err(format!(
                "line {} of the original, {:?}, is gone",
                j + 1,
                b[j]
            ));
        }
        Ok(touched)
    }

    /// Sections that carry SSH on `port`, as the module docs define them:
    /// the frontends/listens binding it and the backends they route to;
    /// the backends/listens with a server on it and the frontends/listens
    /// routing to those (and their backends).
    fn carrying_ssh(cfg: &HaproxyConfig, port: u16) -> Vec<usize> {
        let routes = |i: usize| -> Vec<usize> {
            let s = &cfg.sections[i];
            s.default_backend
                .iter()
                .chain(&s.use_backends)
                .filter_map(|b| {
                    cfg.sections.iter().position(|x| {
                        x.name.as_deref() == Some(b.value.as_str())
                            && matches!(x.kind, SectionKind::Backend | SectionKind::Listen)
                    })
                })
                .collect()
        };
        let is_front = |i: usize| {
            matches!(
                cfg.sections[i].kind,
                SectionKind::Frontend | SectionKind::Listen
            )
        };
        let entries: Vec<usize> = cfg.serving_port(port).iter().map(|s| s.section).collect();
        let mut backends: Vec<usize> = cfg
            .forwarding_to_port(port)
            .iter()
            .map(|f| f.section)
            .collect();
        backends.extend(entries.iter().flat_map(|&e| routes(e)));
        let mut fronts = entries.clone();
        fronts.extend(
            (0..cfg.sections.len())
                .filter(|&i| is_front(i) && routes(i).iter().any(|b| backends.contains(b))),
        );
        let mut all = fronts.clone();
        all.extend(fronts.iter().flat_map(|&f| routes(f)));
        all.extend(backends);
        all.sort();
        all.dedup();
        all
    }

    /// What a section is, without line numbers: kind, name, binds, routes, servers.
    fn shape(cfg: &HaproxyConfig) -> Vec<String> {
        cfg.sections
            .iter()
            .map(|s| {
                format!(
                    "{:?} {:?} {:?} {:?} {:?} {:?}",
                    s.kind,
                    s.name,
                    s.binds.iter().map(|b| &b.text).collect::<Vec<_>>(),
                    s.default_backend.as_ref().map(|b| &b.value),
                    s.use_backends.iter().map(|b| &b.value).collect::<Vec<_>>(),
                    s.servers.iter().map(|x| &x.text).collect::<Vec<_>>(),
                )
            })
            .collect()
    }

    fn check_haproxy(text: &str, port: u16) -> Result<(), TestCaseError> {
        let before = hp::parse(text);
        let carrying = carrying_ssh(&before, port);
        let result = match tcp_for_ssh(P, text, port) {
            Err(e) => {
                let m = e.message;
                prop_assert!(
                    m.contains("serves SSH port")
                        || m.contains("routes to SSH and also to")
                        || m.contains("picks its backend at run time"),
                    "{m}"
                );
                return Ok(());
            }
            Ok(r) => r,
        };
        let Some((after, _reason)) = result else {
            // nothing to do: nothing carrying SSH runs in mode http
            for &i in &carrying {
                prop_assert_ne!(
                    before.effective_mode(i).mode,
                    Mode::Http,
                    "section {} is http",
                    i
                );
            }
            return Ok(());
        };
        // 1. only mode/log lines switched in place and lines added after headers
        let touched = only_switched_or_inserted(text, &after).map_err(fail)?;
        prop_assert!(!touched.is_empty());
        // 2. read back: everything carrying SSH is tcp; nothing else changed
        // mode; defaults untouched; binds, routes and servers the same
        let cfg = hp::parse(&after);
        prop_assert_eq!(shape(&before), shape(&cfg));
        for &i in &carrying_ssh(&cfg, port) {
            prop_assert_eq!(
                cfg.effective_mode(i).mode,
                Mode::Tcp,
                "section {} ({:?})",
                i,
                cfg.sections[i].name
            );
        }
        for i in 0..cfg.sections.len() {
            let (m0, m1) = (before.effective_mode(i).mode, cfg.effective_mode(i).mode);
            if m0 != m1 {
                prop_assert!(
                    carrying.contains(&i),
                    "section {i} ({:?}) does not carry SSH but went {m0:?} → {m1:?}",
                    cfg.sections[i].name
                );
                prop_assert_eq!(m1, Mode::Tcp);
            }
            if cfg.sections[i].kind == SectionKind::Defaults {
                let start = cfg.sections[i].line;
                let end = cfg.sections.get(i + 1).map_or(usize::MAX, |s| s.line);
                prop_assert!(
                    touched.iter().all(|t| *t < start || *t >= end),
                    "defaults edited"
                );
            }
        }
        // 3. idempotent
        prop_assert!(
            matches!(tcp_for_ssh(P, &after, port), Ok(None)),
            "a second run changes more"
        );
        Ok(())
    }

    proptest! {
        #![proptest_config(cases(800))]

        /// `mode tcp` for the proxies carrying SSH on a generated
        /// haproxy.cfg: refused as documented, or only `mode http` /
        /// `option httplog` lines switched in place and `mode tcp` /
        /// `option tcplog` added right after headers; read back, every
        /// section carrying SSH runs tcp, no other section changes mode,
        /// `defaults` is untouched, and a second run changes nothing.
        #[test]
        fn only_proxies_carrying_ssh_switch_to_tcp(cfg in config(), port in select(&PORTS[..])) {
            check_haproxy(std::str::from_utf8(&cfg.0).unwrap(), port)?;
        }

        /// Hostile `port` and `config` arguments are refused (a wrong type,
        /// a file that was not read) or change only the file given.
        #[test]
        fn hostile_task_arguments_are_refused(
            cfg in config(),
            port in select(vec![json!(22), json!(0), json!(65536), json!(-1), json!("22"), json!(null), json!(22.5)]),
            config in prop_oneof![Just(Value::Null), Just(json!(P)), hostile().prop_map(Value::String)],
        ) {
            static LB: std::sync::OnceLock<captured::Built> = std::sync::OnceLock::new();
            let lb = LB.get_or_init(|| captured::Built::new(captured::frames("lb-http"), &["10.77.0.1"]));
            let mut files = lb.files.clone();
            files.insert(P.into(), cfg.0.clone());
            let host = sshfix::modules::Host { files: &files, gathered: &files, ..lb.host() };
            let mut args = json!({"port": port});
            if !config.is_null() {
                args["config"] = config.clone();
            }
            let port_ok = port.is_null() || port.as_u64().is_some_and(|p| p <= 65535);
            let r = sshfix::modules::haproxy::task(&host, &args, "lb-http-mode");
            if !port_ok {
                prop_assert!(r.as_ref().is_err_and(|e| e.message.contains("bad arguments")), "{r:?}");
            }
            if config.as_str().is_some_and(|c| c != P) {
                prop_assert!(r.as_ref().is_err_and(|e| e.message.contains("bad arguments") || e.message.contains("was not read on the host")), "{r:?}");
            }
            if let Ok(p) = r {
                prop_assert!(p.edits.iter().all(|e| e.path == P));
            }
        }
    }
}

// ---------------------------------------------------------------- sysctl

mod sysctl {
    use super::*;
    use sshfix::modules::sysctl::{task, DEFAULT_FILE};

    const MAX: &str = "net.netfilter.nf_conntrack_max";
    const SYSCTL_CONF: &str = "/etc/sysctl.conf";
    const FILES: &[&str] = &[
        DEFAULT_FILE,
        "/etc/sysctl.d/60-conntrack.conf",
        SYSCTL_CONF,
        "/etc/sysctl.d/10-early.conf",
    ];

    /// systemd-sysctl's view of one file (`sysctl.d(5)`, systemd 252's
    /// `parse_file`): lines end at `\n`, `\r\n`, `\r` or NUL; each is
    /// stripped of ` \t\n\r`; `#`/`;` lines are comments; a line without
    /// `=` is not an assignment; one leading `-` is dropped before the key
    /// is stripped again; a key whose first separator is `/` has `/` and
    /// `.` swapped. Returns (key, value) in order.
    fn systemd_assignments(bytes: &[u8]) -> Vec<(String, String)> {
        let text = String::from_utf8_lossy(bytes).replace("\r\n", "\n");
        let ws: &[char] = &[' ', '\t', '\n', '\r'];
        let mut out = Vec::new();
        for l in text.split(['\n', '\r', '\0']) {
            let p = l.trim_matches(ws);
            if p.is_empty() || p.starts_with(['#', ';']) {
                continue;
            }
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            let k = k.strip_prefix('-').unwrap_or(k).trim_matches(ws);
            let k = match k.find(['.', '/']) {
                Some(i) if k.as_bytes()[i] == b'/' => k
                    .chars()
                    .map(|c| match c {
                        '/' => '.',
                        '.' => '/',
                        c => c,
                    })
                    .collect(),
                _ => k.to_string(),
            };
            out.push((k, v.trim_matches(ws).to_string()));
        }
        out
    }

    /// The value `name` gets at boot from these files (sysctl.d files in
    /// the order of their names, `/etc/sysctl.conf` last; last line wins),
    /// words joined by one space.
    fn at_boot(files: &BTreeMap<String, Vec<u8>>, name: &str) -> Option<String> {
        let mut order: Vec<&String> = files
            .keys()
            .filter(|p| p.starts_with("/etc/sysctl.d/") && p.ends_with(".conf"))
            .collect();
        order.sort_by_key(|p| p.rsplit('/').next().unwrap().to_string());
        let conf = SYSCTL_CONF.to_string();
        if files.contains_key(SYSCTL_CONF) {
            order.push(&conf);
        }
        order
            .iter()
            .flat_map(|p| systemd_assignments(&files[*p]))
            .rfind(|(k, _)| k == name)
            .map(|(_, v)| v.split_ascii_whitespace().collect::<Vec<_>>().join(" "))
    }

    fn assignment_line() -> BoxedStrategy<Vec<u8>> {
        (
            select(&["", "", " ", "\t", "\x0b", "\u{a0}"][..]),
            select(&["", "", "", "-", "--", "- "][..]),
            select(
                &[
                    MAX,
                    MAX,
                    "net/netfilter/nf_conntrack_max",
                    "net.ipv4.ip_forward",
                    "net.ipv4.ip_local_port_range",
                    "kernel.pid_max",
                ][..],
            ),
            select(&["=", " = ", "\t=\t", " =", "= "][..]),
            select(
                &[
                    "1",
                    "65536",
                    "262144",
                    "1024 65000",
                    "1 # not a comment",
                    "",
                    "caf\u{e9}",
                ][..],
            ),
            select(&["", "", " ", "\t"][..]),
        )
            .prop_map(|(i, d, k, s, v, t)| format!("{i}{d}{k}{s}{v}{t}").into_bytes())
            .boxed()
    }

    fn line() -> BoxedStrategy<Vec<u8>> {
        prop_oneof![
            12 => assignment_line(),
            4 => select(&["# comment", "; comment", "  # indented", "#net.netfilter.nf_conntrack_max = 1", "# \u{2603}", MAX, "-net.netfilter.nf_conntrack_max", ""][..])
                .prop_map(|s| s.as_bytes().to_vec()),
            1 => select(&["kernel.x = 1\rnet.netfilter.nf_conntrack_max = 5", "a.b = 1\0net.netfilter.nf_conntrack_max = 7", "net.netfilter.nf_conntrack_max = 9\rkernel.y = 2"][..])
                .prop_map(|s| s.as_bytes().to_vec()),
            1 => Just(format!("# {}", "x".repeat(4000)).into_bytes()),
        ]
        .boxed()
    }

    fn conf() -> BoxedStrategy<Text> {
        file_of(line(), 0..8).prop_map(Text).boxed()
    }

    fn healthy() -> &'static captured::Built {
        static B: std::sync::OnceLock<captured::Built> = std::sync::OnceLock::new();
        B.get_or_init(|| captured::Built::new(captured::frames("healthy"), &["10.77.0.1"]))
    }

    fn run(
        files: &BTreeMap<String, Vec<u8>>,
        args: &Value,
    ) -> Result<sshfix::modules::Proposal, String> {
        let h = healthy();
        let host = sshfix::modules::Host {
            files,
            gathered: files,
            ..h.host()
        };
        task(&host, args, "conntrack-full").map_err(|e| e.message)
    }

    /// What `value` becomes: words joined by one space (as the module writes it).
    fn words(v: &Value) -> String {
        match v {
            Value::String(s) => s.split_whitespace().collect::<Vec<_>>().join(" "),
            other => other.to_string(),
        }
    }

    fn check_sysctl(
        files: &BTreeMap<String, Vec<u8>>,
        name: &str,
        value: &Value,
        file: &str,
    ) -> Result<(), TestCaseError> {
        let args = json!({"name": name, "value": value, "file": file});
        // the task takes the name without surrounding blanks
        let name = name.trim();
        let p = match run(files, &args) {
            Err(e) => {
                const DOCUMENTED: &[&str] = &[
                    "is not a dotted kernel parameter",
                    "must be non-empty words",
                    "is not an integer or a string",
                    "is not read at boot",
                    "is not a normalised path",
                    "contains a control character",
                    "is not an absolute path",
                    "is not UTF-8",
                ];
                if e.contains("has a carriage return or NUL inside it") {
                    let t = String::from_utf8_lossy(&files[file]).replace("\r\n", "\n");
                    let t = t.strip_suffix('\r').unwrap_or(&t);
                    prop_assert!(t.contains(['\r', '\0']), "{e}");
                    return Ok(());
                }
                if e.contains("would be lost at the next boot") {
                    // only when a file read later really sets another value
                    let later = files.get(SYSCTL_CONF).filter(|_| file != SYSCTL_CONF);
                    let v = later
                        .and_then(|b| systemd_assignments(b).into_iter().rfind(|(k, _)| k == name));
                    prop_assert!(
                        v.is_some_and(|(_, v)| v
                            .split_ascii_whitespace()
                            .collect::<Vec<_>>()
                            .join(" ")
                            != words(value)),
                        "{e}"
                    );
                } else {
                    prop_assert!(DOCUMENTED.iter().any(|d| e.contains(d)), "{e}");
                }
                return Ok(());
            }
            Ok(p) => p,
        };
        let value = words(value);
        // 4. the command is one line
        for a in &p.actions {
            if let sshfix::change::Op::Command { command, undo, .. } = &a.op {
                for c in std::iter::once(command).chain(undo) {
                    prop_assert!(!c.contains(['\n', '\r', '\0']), "{c:?}");
                }
            }
        }
        let mut next = files.clone();
        for e in &p.edits {
            prop_assert_eq!(&e.path, file);
            let before = files.get(file).map(Vec::as_slice);
            prop_assert_eq!(e.before.as_deref(), before);
            let old = before.unwrap_or(b"");
            // 1. in place (only lines systemd reads as setting `name`), or
            // one line appended
            let (o, n) = (lines(old), lines(&e.after));
            if before.is_some() && o.len() == n.len() {
                for (x, y) in o.iter().zip(&n) {
                    if x == y {
                        continue;
                    }
                    let sets = systemd_assignments(x);
                    prop_assert!(
                        sets.len() == 1 && sets[0].0 == name,
                        "line {} does not set `{}` for systemd, yet was changed to {}",
                        show(x),
                        name,
                        show(y)
                    );
                    prop_assert_eq!(eol_of(x), eol_of(y));
                }
            } else if before.is_some() {
                let ins = insertion(old, &e.after).map_err(fail)?;
                prop_assert_eq!(*ins.at.end(), o.len(), "not appended");
                prop_assert_eq!(ins.count, 1);
            }
            // 4. no line added or lost for systemd except `name`'s
            let others = |b: &[u8]| -> Vec<(String, String)> {
                systemd_assignments(b)
                    .into_iter()
                    .filter(|(k, _)| k != name)
                    .collect()
            };
            prop_assert_eq!(others(old), others(&e.after), "other settings changed");
            next.insert(file.to_string(), e.after.clone());
        }
        // 2. after a reboot the kernel gets `value`
        prop_assert_eq!(
            at_boot(&next, name),
            Some(value.clone()),
            "files: {:?}",
            Files(next.clone())
        );
        // 3. with the command run and the file written, nothing is left to do
        next.insert(
            format!("/proc/sys/{}", name.replace('.', "/")),
            format!("{value}\n").into_bytes(),
        );
        let again = run(&next, &args).map_err(fail)?;
        prop_assert!(again.is_empty(), "{again:?}");
        Ok(())
    }

    proptest! {
        #![proptest_config(cases(1000))]

        /// The sysctl task on generated sysctl.d files (odd whitespace,
        /// `-` prefixes, slash keys, CR and NUL inside lines, duplicates,
        /// CRLF) with good and hostile name, value and file: refused as
        /// documented, or only lines systemd reads as setting the name are
        /// changed (or one is appended), no other setting changes, the value
        /// systemd-sysctl applies at boot is the new one, the command is one
        /// line, and nothing is left to do afterwards.
        #[test]
        fn sysctl_files_keep_every_other_setting_and_boot_with_the_new_value(
            target in conf(),
            sysctl_conf in proptest::option::weighted(0.3, conf()),
            early in proptest::option::weighted(0.3, conf()),
            name in prop_oneof![6 => Just(MAX.to_string()), 1 => Just("net.ipv4.ip_local_port_range".to_string()), 1 => hostile()],
            value in prop_oneof![
                3 => Just(json!(524288)),
                3 => Just(json!("262144")),
                1 => Just(json!("1024  65000")),
                1 => Just(json!(1.5)),
                2 => hostile().prop_map(Value::String),
            ],
            file in prop_oneof![6 => select(&FILES[..3]).prop_map(str::to_string), 1 => select(&["/etc/sysctl.d/x.txt", "/etc/sysctl.d/../x.conf", "/etc/sysctl.d/a\nb.conf", "etc/sysctl.d/x.conf", "/usr/lib/sysctl.d/x.conf"][..]).prop_map(str::to_string)],
            latin1 in proptest::bool::weighted(0.05),
        ) {
            let mut files = healthy().files.clone();
            let mut t = target.0.clone();
            if latin1 {
                t.extend_from_slice(b"# caf\xe9\n");
            }
            files.insert(file.clone(), t);
            if let Some(c) = sysctl_conf.filter(|_| file != SYSCTL_CONF) {
                files.insert(SYSCTL_CONF.into(), c.0);
            }
            if let Some(c) = early {
                files.insert(FILES[3].into(), c.0);
            }
            check_sysctl(&files, &name, &value, &file)?;
        }
    }
}

// ---------------------------------------------------------------- file

mod file {
    use super::*;
    use sshfix::change::{FileState, Op};
    use sshfix::facts::frame::Frames;

    const PATHS: &[&str] = &[
        "/run/sshd",
        "/etc/ssh/ssh_host_ed25519_key",
        "/etc/ssh/key with spaces",
        "/etc/ssh/caf\u{e9}",
        "/tmp/$(reboot)",
        "/tmp/-rf",
        "run/sshd",
        "/",
        "/run/../etc",
        "/run//sshd",
        "/run/sshd/",
        "/run/./sshd",
        "/a\nb",
        "/a\tb",
        "/a\u{85}b",
    ];

    const NAMES: &[&str] = &[
        "root",
        "0",
        "1000",
        "ssh_keys",
        "-rf",
        "a b",
        "$(id)",
        "`id`",
        "r\u{f6}t",
        "x\nroot",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "",
    ];

    fn healthy() -> &'static captured::Built {
        static B: std::sync::OnceLock<captured::Built> = std::sync::OnceLock::new();
        B.get_or_init(|| captured::Built::new(captured::frames("healthy"), &["10.77.0.1"]))
    }

    /// What `stat` saw: nothing, missing, or a file/directory with attributes.
    #[derive(Debug, Clone)]
    enum Seen {
        NotStatted,
        Missing,
        Entry {
            dir: bool,
            mode: u32,
            uid: u32,
            gid: u32,
        },
    }

    fn seen() -> impl Strategy<Value = Seen> {
        prop_oneof![
            1 => Just(Seen::NotStatted),
            1 => Just(Seen::Missing),
            4 => (any::<bool>(), select(&[0o600u32, 0o644, 0o755, 0o4755, 0o700][..]), select(&[0u32, 1000][..]), select(&[0u32, 4][..]))
                .prop_map(|(dir, mode, uid, gid)| Seen::Entry { dir, mode, uid, gid }),
        ]
    }

    fn frames_with(path: &str, seen: &Seen) -> Frames {
        let mut f = healthy().frames.clone();
        let line = match seen {
            Seen::NotStatted => String::new(),
            Seen::Missing => format!("-\t-\t-\t-\tmissing\t{path}\n"),
            Seen::Entry {
                dir,
                mode,
                uid,
                gid,
            } => {
                let t = if *dir { "directory" } else { "regular file" };
                format!("{mode:o}\t{uid}\t{gid}\t40\t{t}\t{path}\n")
            }
        };
        let item = f.items.iter_mut().find(|i| i.key == "stat").unwrap();
        item.body = line.into_bytes();
        f
    }

    fn run(path: &str, seen: &Seen, args: &Value) -> Result<sshfix::modules::Proposal, String> {
        let frames = frames_with(path, seen);
        let host = sshfix::modules::Host {
            frames: &frames,
            ..healthy().host()
        };
        sshfix::modules::file::task(&host, args, "f").map_err(|e| e.message)
    }

    fn clean_name(n: &str) -> bool {
        !n.is_empty()
            && n.len() <= 32
            && !n.starts_with('-')
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    }

    proptest! {
        #![proptest_config(cases(600))]

        /// The `file` task with good and hostile path, state, mode, owner
        /// and group over what `stat` saw: refused, or one action carrying
        /// exactly the arguments (mode as four octal digits, no control
        /// character anywhere, names that cannot be options); nothing to do
        /// only when the path already is so; and once the action's
        /// attributes are what `stat` sees, nothing is left to do (unless an
        /// owner or group is a name `stat`'s ids cannot confirm).
        #[test]
        fn file_attributes_are_the_arguments_exactly_and_settle(
            path in prop_oneof![
                6 => select(&PATHS[..6]).prop_map(str::to_string),
                2 => select(&PATHS[6..]).prop_map(str::to_string),
                1 => hostile().prop_map(|h| format!("/tmp/{h}")),
            ],
            state in prop_oneof![
                3 => Just(Value::Null),
                2 => Just(json!("file")),
                3 => Just(json!("directory")),
                1 => select(vec![json!("socket"), json!("directory\n")]),
            ],
            mode in prop_oneof![
                2 => Just(Value::Null),
                6 => select(vec![json!("0600"), json!("600"), json!("0o750"), json!("4755"), json!(" 0644 ")]),
                2 => select(vec![json!("0800"), json!("u=rw"), json!("06000"), json!(600), json!(true), json!("0600; chmod 777 /")]),
            ],
            owner in proptest::option::weighted(0.5, prop_oneof![4 => select(&NAMES[..4]), 1 => select(&NAMES[4..])]),
            group in proptest::option::weighted(0.3, prop_oneof![4 => select(&NAMES[..4]), 1 => select(&NAMES[4..])]),
            seen in seen(),
        ) {
            let mut args = json!({"path": path});
            for (k, v) in [("state", state.clone()), ("mode", mode.clone())] {
                if !v.is_null() {
                    args[k] = v;
                }
            }
            if let Some(o) = owner { args["owner"] = json!(o); }
            if let Some(g) = group { args["group"] = json!(g); }
            let p = match run(&path, &seen, &args) {
                Err(e) => {
                    prop_assert!(e.starts_with("`file`: ") || e.contains("bad arguments"), "{e}");
                    return Ok(());
                }
                Ok(p) => p,
            };
            // the arguments were all acceptable
            prop_assert!(!path.chars().any(char::is_control) && path.starts_with('/') && path != "/");
            prop_assert!(path[1..].split('/').all(|c| !c.is_empty() && c != "." && c != ".."));
            for n in owner.iter().chain(&group) {
                prop_assert!(clean_name(n), "name {n:?} accepted");
            }
            let want_mode = mode.as_str().map(|m| {
                let d = m.trim();
                let d = d.strip_prefix("0o").unwrap_or(d);
                format!("{:04o}", u32::from_str_radix(d, 8).unwrap())
            });
            prop_assert!(p.edits.is_empty());
            let Some(a) = p.actions.first() else {
                // nothing to do: stat shows exactly that
                let Seen::Entry { dir, mode: m, uid, gid } = seen else {
                    return Err(fail(format!("nothing to do, but stat saw {seen:?}")));
                };
                prop_assert_eq!(dir, state == json!("directory"));
                let have = format!("{m:04o}");
                prop_assert!(want_mode.as_ref().is_none_or(|w| *w == have));
                let id = |n: &str| if n == "root" { Some(0) } else { n.parse::<u32>().ok() };
                prop_assert!(owner.is_none_or(|o| id(o) == Some(uid)));
                prop_assert!(group.is_none_or(|g| id(g) == Some(gid)));
                return Ok(());
            };
            prop_assert_eq!(p.actions.len(), 1);
            let Op::File { path: ap, state: st, mode: am, owner: ao, group: ag, was } = &a.op else {
                return Err(fail(format!("not a file action: {:?}", a.op)));
            };
            // 1. and 4. the action carries exactly the arguments
            prop_assert_eq!(ap, &path);
            prop_assert_eq!(*st == FileState::Directory, state == json!("directory"));
            prop_assert_eq!(am, &want_mode);
            prop_assert_eq!(ao.as_deref(), owner);
            prop_assert_eq!(ag.as_deref(), group);
            for field in [Some(ap), am.as_ref(), ao.as_ref(), ag.as_ref(), was.as_ref()].into_iter().flatten() {
                prop_assert!(!field.chars().any(char::is_control), "{field:?}");
            }
            // 3. with those attributes in place, nothing is left to do
            let id = |n: &Option<String>, had: u32| match n.as_deref() {
                Some("root") => 0,
                Some(n) => n.parse().unwrap_or(had),
                None => had,
            };
            let (old_mode, old_uid, old_gid) = match seen {
                Seen::Entry { mode, uid, gid, .. } => (mode, uid, gid),
                _ => (0o644, 1000, 1000),
            };
            let now = Seen::Entry {
                dir: *st == FileState::Directory,
                mode: am.as_deref().map_or(old_mode, |m| u32::from_str_radix(m, 8).unwrap()),
                uid: id(ao, old_uid),
                gid: id(ag, old_gid),
            };
            let named = |n: &Option<String>| n.as_deref().is_some_and(|n| n != "root" && n.parse::<u32>().is_err());
            let again = run(&path, &now, &args).map_err(fail)?;
            prop_assert_eq!(again.is_empty(), !named(ao) && !named(ag), "{:?}", again);
        }
    }
}
