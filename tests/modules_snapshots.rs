//! Snapshots of the unified diffs (`report::diff::unified`) the `sshd_config` and `hosts_access` fix modules propose on real-world inputs, each one proven with the real tool.
//!
//! * `sshd_*`: the candidate tree (edits applied) must pass `/usr/sbin/sshd -t`, and
//!   `sshd -T` (with `-C user=…,host=…,addr=…` where a Match block matters) must print
//!   the intended value for every expectation of the case, where the original printed
//!   the stated other value (or the original failed `sshd -t`, for the cases that
//!   disable a line sshd refuses). The validator's own `(keyword, value)` pairs must be
//!   printed too. sshd runs in a private mount namespace (`tests/common/sshd_ns.rs`).
//! * `hosts_access_*`: after the edit, the project's evaluator
//!   (`facts::hosts_access::evaluate`) AND the real `tcpdmatch` (`tests/common/tcpdmatch.rs`)
//!   grant sshd to every client; before it, both denied at least one; for every client
//!   and every bystander address the two agree, and bystanders keep their verdict.
//!
//! Every case also checks that the edit keeps the file's line endings (an LF file gets
//! no `\r`, a CRLF file no bare `\n`). insta compares snapshots with CRLF folded to LF,
//! so the snapshot text shows each carriage return as `␍`.
//!
//! Needs root (mount namespaces), `/usr/sbin/sshd` and `/usr/sbin/tcpdmatch`: without
//! them each test says loudly that it skipped, and fails when `CI=true`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::json;
use sshfix::change::{Edit, Validator};
use sshfix::facts::frame::Frames;
use sshfix::facts::hosts_access::{self as ha, Query, HOSTS_ALLOW, HOSTS_DENY};
use sshfix::facts::model::{self, HostFacts};
use sshfix::modules::{hosts_access, sshd_config, Host};
use sshfix::report::diff::unified;

#[path = "common/sshd_ns.rs"]
mod sshd_ns;
#[path = "common/tcpdmatch.rs"]
mod tcpdmatch;

use sshd_ns::{effective, fixtures, skip_or_fail, Files, MAIN};

/// `OpenSSH_9.2p1` of Debian 12, as `sshd -V` / the banner says.
const DEBIAN12: &str = "OpenSSH_9.2p1 Debian-2+deb12u10";
/// The connection `sshd -T -C` evaluates Match blocks for.
const ALICE: &str = "user=alice,host=client.example.org,addr=192.0.2.10";
const BACKUP: &str = "user=backup,host=client.example.org,addr=192.0.2.10";
const SFTP_BOB: &str = "user=sftp-bob,host=client.example.org,addr=192.0.2.10";

// ------------------------------------------------------------------ shared

/// The text of a snapshot: the diffs of `edits` one after the other, `\r` shown as `␍`.
fn shown(edits: &[Edit]) -> String {
    edits
        .iter()
        .map(unified)
        .collect::<String>()
        .replace('\r', "␍")
}

/// The edit keeps the line endings of the file: no `\r` in an LF file, no bare `\n`
/// in a CRLF file.
fn assert_eol_kept(case: &str, e: &Edit) {
    let Some(before) = &e.before else { return };
    let lf = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
    let crlf = |b: &[u8]| b.windows(2).filter(|w| w == b"\r\n").count();
    let cr = |b: &[u8]| b.iter().filter(|&&c| c == b'\r').count();
    if cr(before) == 0 {
        assert_eq!(cr(&e.after), 0, "{case}: {} got a \\r", e.path);
    }
    if lf(before) > 0 && crlf(before) == lf(before) {
        assert_eq!(
            crlf(&e.after),
            lf(&e.after),
            "{case}: {} (CRLF) got a bare \\n",
            e.path
        );
    }
}

fn snapshot(name: &str, description: String, edits: &[Edit]) {
    insta::with_settings!({ description => description, omit_expression => true }, {
        insta::assert_snapshot!(name, shown(edits));
    });
}

/// Facts of a host running `version`, main config `/etc/ssh/sshd_config`: what the
/// modules' `task` functions read besides the files.
fn facts(version: &str) -> HostFacts {
    let mut f = model::build(
        &Frames::default(),
        &model::Input {
            port: 22,
            clients: &[],
            server_addr: None,
        },
    );
    f.sshd.version = Some(version.to_string());
    f.sshd.config_files = vec![MAIN.to_string()];
    f
}

fn host<'a>(
    facts: &'a HostFacts,
    frames: &'a Frames,
    files: &'a Files,
    clients: &'a [IpAddr],
) -> Host<'a> {
    Host {
        name: "h",
        facts,
        frames,
        files,
        gathered: files,
        port: 22,
        clients,
    }
}

// ------------------------------------------------------------- sshd_config

fn facts_tree(name: &str) -> Files {
    sshd_ns::tree(&fixtures().join("facts/sshd/trees").join(name))
}

fn module_tree(name: &str) -> Files {
    sshd_ns::tree(&fixtures().join("modules/sshd_config/trees").join(name))
}

/// One value `sshd -T` prints: for the connection `conn` (`None`: no `-C`), keyword
/// `key` was `before` on the original tree (`None`: the original fails `sshd -t`, so
/// there is nothing to print) and must be `after` on the candidate.
struct Expect {
    conn: Option<&'static str>,
    key: &'static str,
    before: Option<&'static str>,
    after: &'static str,
}

fn expect(
    conn: Option<&'static str>,
    key: &'static str,
    before: Option<&'static str>,
    after: &'static str,
) -> Expect {
    Expect {
        conn,
        key,
        before,
        after,
    }
}

/// 1-based number of the line of `files[path]` that is exactly `text`.
fn line_no(files: &Files, path: &str, text: &str) -> usize {
    let s = String::from_utf8_lossy(&files[path]).into_owned();
    s.split('\n')
        .position(|l| l.trim_end_matches('\r') == text)
        .unwrap_or_else(|| panic!("{path} has no line `{text}`"))
        + 1
}

/// The checks of the module docs against the real sshd, then the snapshot.
/// `original_error`: the original tree must fail `sshd -t` with this text.
fn check_sshd(
    name: &str,
    files: &Files,
    edits: &[Edit],
    paths: &[&str],
    expects: &[Expect],
    original_error: Option<&str>,
) {
    let got: Vec<&str> = edits.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(got, paths, "{name}: edited files");
    let mut candidate = files.clone();
    for e in edits {
        assert_eq!(
            e.before.as_ref(),
            files.get(&e.path),
            "{name}: {} before",
            e.path
        );
        assert_eol_kept(name, e);
        candidate.insert(e.path.clone(), e.after.clone());
    }
    let t = sshd_ns::test(&candidate);
    assert_eq!(
        t.code, 0,
        "{name}: sshd -t fails on the candidate: {}",
        t.stderr
    );
    let t0 = sshd_ns::test(files);
    match original_error {
        Some(msg) => {
            assert_ne!(t0.code, 0, "{name}: the original passes sshd -t");
            assert!(t0.stderr.contains(msg), "{name}: {}", t0.stderr);
        }
        None => assert_eq!(t0.code, 0, "{name}: original: {}", t0.stderr),
    }
    assert!(
        expects.iter().any(|x| x.before != Some(x.after)),
        "{name}: no expectation says what changed"
    );
    let mut seen = Vec::new();
    for x in expects {
        let conn = x.conn.map(|c| format!(" -C {c}")).unwrap_or_default();
        let now = effective(&candidate, x.conn, name);
        assert_eq!(
            now.get(x.key),
            Some(x.after),
            "{name}: after the edit, sshd -T{conn} prints {} {:?}",
            x.key,
            now.get(x.key)
        );
        match x.before {
            Some(b) => {
                let was = effective(files, x.conn, name);
                assert_eq!(was.get(x.key), Some(b), "{name}: original sshd -T{conn}");
            }
            None => assert!(
                original_error.is_some(),
                "{name}: no `before` for {}",
                x.key
            ),
        }
        let was = x.before.unwrap_or("(sshd -t failed)");
        seen.push(format!("sshd -T{conn}: {} {was} -> {}", x.key, x.after));
    }
    // What the validator will ask of sshd -T on the host.
    let global = effective(&candidate, None, name);
    for e in edits {
        let Validator::SshdConfig { expect, .. } = &e.validator else {
            panic!("{name}: {} has validator {:?}", e.path, e.validator);
        };
        for (k, v) in expect {
            assert_eq!(global.get(k), Some(v.as_str()), "{name}: validator {k} {v}");
        }
    }
    let reasons: Vec<&str> = edits.iter().map(|e| e.reason.as_str()).collect();
    snapshot(
        name,
        format!(
            "{}\nchecked with the real sshd: {}",
            reasons.join("\n"),
            seen.join("; ")
        ),
        edits,
    );
}

fn set(files: &Files, version: (u32, u32), key: &str, value: &str) -> Vec<Edit> {
    sshd_config::set(files, MAIN, version, key, value, "test")
        .unwrap_or_else(|e| panic!("set {key} {value}: {e}"))
}

#[test]
fn sshd_debian12_maxstartups() {
    if skip_or_fail("sshd_debian12_maxstartups") {
        return;
    }
    // Debian 12's pristine sshd_config (only `#MaxStartups 10:30:100`), last-wins in 9.2.
    let files = module_tree("debian12");
    let edits = set(&files, (9, 2), "MaxStartups", "100:30:200");
    check_sshd(
        "sshd_debian12_maxstartups",
        &files,
        &edits,
        &[MAIN],
        &[expect(None, "maxstartups", Some("10:30:100"), "100:30:200")],
        None,
    );
}

#[test]
fn sshd_debian12_usedns() {
    if skip_or_fail("sshd_debian12_usedns") {
        return;
    }
    // `UseDNS yes` in a drop-in read before anything else: the drop-in is edited.
    let files = module_tree("debian12");
    let edits = set(&files, (9, 2), "UseDNS", "no");
    check_sshd(
        "sshd_debian12_usedns",
        &files,
        &edits,
        &["/etc/ssh/sshd_config.d/20-site.conf"],
        &[expect(None, "usedns", Some("yes"), "no")],
        None,
    );
}

#[test]
fn sshd_debian12_gssapiauthentication() {
    if skip_or_fail("sshd_debian12_gssapiauthentication") {
        return;
    }
    let files = module_tree("debian12");
    let edits = set(&files, (9, 2), "GSSAPIAuthentication", "no");
    check_sshd(
        "sshd_debian12_gssapiauthentication",
        &files,
        &edits,
        &["/etc/ssh/sshd_config.d/20-site.conf"],
        &[expect(None, "gssapiauthentication", Some("yes"), "no")],
        None,
    );
}

#[test]
fn sshd_debian12_task_usedns_maxstartups() {
    if skip_or_fail("sshd_debian12_task_usedns_maxstartups") {
        return;
    }
    // The task as a playbook gives it: two keywords, two files, one proposal.
    let files = module_tree("debian12");
    let f = facts(DEBIAN12);
    let frames = Frames::default();
    let h = host(&f, &frames, &files, &[]);
    let p = sshd_config::task(
        &h,
        &json!({"set": {"UseDNS": false, "MaxStartups": "100:30:200"}}),
        "maxstartups-exhausted",
    )
    .unwrap();
    assert!(p.actions.is_empty());
    check_sshd(
        "sshd_debian12_task_usedns_maxstartups",
        &files,
        &p.edits,
        &["/etc/ssh/sshd_config.d/20-site.conf", MAIN],
        &[
            expect(None, "usedns", Some("yes"), "no"),
            expect(None, "maxstartups", Some("10:30:100"), "100:30:200"),
        ],
        None,
    );
}

#[test]
fn sshd_rhel9_gssapiauthentication() {
    if skip_or_fail("sshd_rhel9_gssapiauthentication") {
        return;
    }
    // RHEL 9: the Include is the first line, 50-redhat.conf says `GSSAPIAuthentication yes`.
    let files = module_tree("rhel9");
    let edits = set(&files, (8, 7), "GSSAPIAuthentication", "no");
    check_sshd(
        "sshd_rhel9_gssapiauthentication",
        &files,
        &edits,
        &["/etc/ssh/sshd_config.d/50-redhat.conf"],
        &[expect(None, "gssapiauthentication", Some("yes"), "no")],
        None,
    );
}

#[test]
fn sshd_rhel9_x11forwarding() {
    if skip_or_fail("sshd_rhel9_x11forwarding") {
        return;
    }
    let files = module_tree("rhel9");
    let edits = set(&files, (8, 7), "X11Forwarding", "no");
    check_sshd(
        "sshd_rhel9_x11forwarding",
        &files,
        &edits,
        &["/etc/ssh/sshd_config.d/50-redhat.conf"],
        &[expect(None, "x11forwarding", Some("yes"), "no")],
        None,
    );
}

#[test]
fn sshd_rhel9_maxstartups() {
    if skip_or_fail("sshd_rhel9_maxstartups") {
        return;
    }
    let files = module_tree("rhel9");
    let edits = set(&files, (8, 7), "MaxStartups", "100:30:200");
    check_sshd(
        "sshd_rhel9_maxstartups",
        &files,
        &edits,
        &[MAIN],
        &[expect(None, "maxstartups", Some("10:30:100"), "100:30:200")],
        None,
    );
}

#[test]
fn sshd_rhel9_permitrootlogin() {
    if skip_or_fail("sshd_rhel9_permitrootlogin") {
        return;
    }
    // First-wins and set nowhere: the new line goes before the Include, so that no
    // drop-in added later can undo it.
    let files = module_tree("rhel9");
    let edits = set(&files, (8, 7), "PermitRootLogin", "no");
    check_sshd(
        "sshd_rhel9_permitrootlogin",
        &files,
        &edits,
        &[MAIN],
        &[expect(
            None,
            "permitrootlogin",
            Some("without-password"),
            "no",
        )],
        None,
    );
}

#[test]
fn sshd_trailing_match_maxstartups() {
    if skip_or_fail("sshd_trailing_match_maxstartups") {
        return;
    }
    // The file ends in `Match User backup` with unindented lines appended by a script:
    // an appended MaxStartups would be inside the block (sshd -t refuses it).
    let files = facts_tree("trailing-match");
    let edits = set(&files, (9, 2), "MaxStartups", "100:30:200");
    check_sshd(
        "sshd_trailing_match_maxstartups",
        &files,
        &edits,
        &[MAIN],
        &[
            expect(None, "maxstartups", Some("10:30:100"), "100:30:200"),
            expect(Some(BACKUP), "maxstartups", Some("10:30:100"), "100:30:200"),
        ],
        None,
    );
}

#[test]
fn sshd_trailing_match_passwordauthentication() {
    if skip_or_fail("sshd_trailing_match_passwordauthentication") {
        return;
    }
    // Set only inside the trailing Match block: the global line goes before the
    // Include; the backup user's value (from the block) stays.
    let files = facts_tree("trailing-match");
    let edits = set(&files, (9, 2), "PasswordAuthentication", "no");
    check_sshd(
        "sshd_trailing_match_passwordauthentication",
        &files,
        &edits,
        &[MAIN],
        &[
            expect(Some(ALICE), "passwordauthentication", Some("yes"), "no"),
            expect(Some(BACKUP), "passwordauthentication", Some("no"), "no"),
            expect(
                Some(BACKUP),
                "forcecommand",
                Some("internal-sftp"),
                "internal-sftp",
            ),
        ],
        None,
    );
}

#[test]
fn sshd_dropin_first_usedns() {
    if skip_or_fail("sshd_dropin_first_usedns") {
        return;
    }
    // `UseDNS yes` in 50-hardening.conf wins over `UseDNS no` later in sshd_config.
    let files = facts_tree("dropin-first");
    let edits = set(&files, (9, 2), "UseDNS", "no");
    check_sshd(
        "sshd_dropin_first_usedns",
        &files,
        &edits,
        &["/etc/ssh/sshd_config.d/50-hardening.conf"],
        &[expect(None, "usedns", Some("yes"), "no")],
        None,
    );
}

#[test]
fn sshd_crlf_case_eq_maxstartups() {
    if skip_or_fail("sshd_crlf_case_eq_maxstartups") {
        return;
    }
    // CRLF file, `MAXSTARTUPS = 7:40:30`, keyword asked for in lowercase.
    let files = facts_tree("crlf-case-eq");
    let edits = set(&files, (9, 2), "maxstartups", "10:30:100");
    check_sshd(
        "sshd_crlf_case_eq_maxstartups",
        &files,
        &edits,
        &[MAIN],
        &[expect(None, "maxstartups", Some("7:40:30"), "10:30:100")],
        None,
    );
}

#[test]
fn sshd_crlf_case_eq_usedns() {
    if skip_or_fail("sshd_crlf_case_eq_usedns") {
        return;
    }
    // CRLF, `  usedns<TAB>=<TAB>yes   ` (indented, tabs around `=`, trailing blanks).
    let files = facts_tree("crlf-case-eq");
    let edits = set(&files, (9, 2), "USEDNS", "no");
    check_sshd(
        "sshd_crlf_case_eq_usedns",
        &files,
        &edits,
        &[MAIN],
        &[expect(None, "usedns", Some("yes"), "no")],
        None,
    );
}

#[test]
fn sshd_keyeq_case_maxstartups() {
    if skip_or_fail("sshd_keyeq_case_maxstartups") {
        return;
    }
    // `maxStartUps=10:30:60<TAB># comment` (LF): keyword, `=` and comment kept.
    let files = module_tree("keyeq-case");
    let edits = set(&files, (9, 2), "MaxStartups", "100:30:200");
    check_sshd(
        "sshd_keyeq_case_maxstartups",
        &files,
        &edits,
        &[MAIN],
        &[expect(None, "maxstartups", Some("10:30:60"), "100:30:200")],
        None,
    );
}

#[test]
fn sshd_keyeq_case_usedns() {
    if skip_or_fail("sshd_keyeq_case_usedns") {
        return;
    }
    let files = module_tree("keyeq-case");
    let edits = set(&files, (9, 2), "UseDNS", "no");
    check_sshd(
        "sshd_keyeq_case_usedns",
        &files,
        &edits,
        &[MAIN],
        &[expect(None, "usedns", Some("yes"), "no")],
        None,
    );
}

#[test]
fn sshd_match_banner_comment_out() {
    if skip_or_fail("sshd_match_banner_comment_out") {
        return;
    }
    // A Banner inside `Match User sftp-*`: disabling it gives those users the global
    // banner; other users are unaffected.
    let files = module_tree("match-banner");
    let line = line_no(&files, MAIN, "\tBanner /etc/ssh/sftp-banner.txt");
    let edit = sshd_config::comment_out(
        &files,
        MAIN,
        line,
        "banner-missing: /etc/ssh/sftp-banner.txt does not exist",
        "banner-missing",
    )
    .unwrap();
    assert_eq!(
        edit.validator,
        Validator::SshdConfig {
            config: MAIN.into(),
            expect: vec![]
        },
        "comment_out expects nothing beyond sshd -t"
    );
    check_sshd(
        "sshd_match_banner_comment_out",
        &files,
        &[edit],
        &[MAIN],
        &[
            expect(
                Some(SFTP_BOB),
                "banner",
                Some("/etc/ssh/sftp-banner.txt"),
                "/etc/issue.net",
            ),
            expect(
                Some(SFTP_BOB),
                "forcecommand",
                Some("internal-sftp"),
                "internal-sftp",
            ),
            expect(
                Some(ALICE),
                "banner",
                Some("/etc/issue.net"),
                "/etc/issue.net",
            ),
        ],
        None,
    );
}

#[test]
fn sshd_t_error_dropin_match_comment_out() {
    if skip_or_fail("sshd_t_error_dropin_match_comment_out") {
        return;
    }
    // Debian 12 + a drop-in whose Match block holds `UseDNS no`: sshd -t refuses the
    // whole configuration (sshd will not start). The line comes from the real sshd -t,
    // read with the project's parser, and is passed to the task as facts list it.
    let files = module_tree("dropin-match-error");
    let t = sshd_ns::test(&files);
    assert_ne!(t.code, 0);
    let errors = sshfix::facts::sshd::parse_test_errors(&t.stderr);
    let e = errors
        .iter()
        .find(|e| e.file.is_some())
        .unwrap_or_else(|| panic!("sshd -t named no file:line: {}", t.stderr));
    let (file, line) = (e.file.clone().unwrap(), e.line.unwrap());
    assert_eq!(
        (file.as_str(), line),
        ("/etc/ssh/sshd_config.d/30-sftp.conf", 5)
    );
    let f = facts(DEBIAN12);
    let frames = Frames::default();
    let h = host(&f, &frames, &files, &[]);
    let p = sshd_config::task(
        &h,
        &json!({"comment_out": [{"file": file, "line": line, "message": e.text}]}),
        "sshd-config-invalid",
    )
    .unwrap();
    check_sshd(
        "sshd_t_error_dropin_match_comment_out",
        &files,
        &p.edits,
        &["/etc/ssh/sshd_config.d/30-sftp.conf"],
        &[
            expect(Some(SFTP_BOB), "forcecommand", None, "internal-sftp"),
            expect(Some(SFTP_BOB), "chrootdirectory", None, "/srv/sftp/%u"),
            expect(None, "usedns", None, "no"),
        ],
        Some("Directive 'UseDNS' is not allowed within a Match block"),
    );
}

// ------------------------------------------------------------ hosts_access

fn ha_fixture(name: &str) -> String {
    let p = fixtures().join("modules/hosts_access").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `true` (after saying so loudly) when tcpdmatch cannot run; panics when `CI=true`.
fn ha_skip(test: &str) -> bool {
    let Some(why) = tcpdmatch::unavailable() else {
        return false;
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true: {test} must run against the real tcpdmatch, but {why}");
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!! SKIPPED {test}: {why}; the edit was NOT checked against the real tcpdmatch !!!!!!!!\n"
    );
    true
}

/// The evaluator's and tcpdmatch's verdicts for `addr` with these two files; they
/// must agree. Returns whether sshd is granted.
fn both_verdicts(
    case: &str,
    oracle: &tcpdmatch::Oracle,
    dir: &std::path::Path,
    allow: &str,
    deny: &str,
    addr: &str,
) -> bool {
    let d = ha::evaluate(
        &ha::parse(HOSTS_ALLOW, allow),
        &ha::parse(HOSTS_DENY, deny),
        &Query::sshd(addr.parse().unwrap()),
        &|_| None,
    );
    let a = oracle.ask(dir, "sshd", addr);
    let granted = a.verdict == "granted";
    assert_eq!(
        d.allowed, granted,
        "{case}: {addr}: evaluator says {:?} ({}), tcpdmatch {a:?}\n--- hosts.allow\n{allow}",
        d.verdict, d.reason
    );
    granted
}

/// After `edit`, every client is granted (evaluator and tcpdmatch); before, at least
/// one was not; bystanders keep their verdict. Then the snapshot.
fn check_hosts_access(
    name: &str,
    allow: Option<&str>,
    deny: &str,
    clients: &[&str],
    bystanders: &[&str],
    edit: &Edit,
) {
    assert_eq!(edit.path, "/etc/hosts.allow", "{name}");
    assert_eq!(edit.before.as_deref(), allow.map(str::as_bytes), "{name}");
    assert_eq!(edit.validator, Validator::None, "{name}");
    assert_eol_kept(name, edit);
    let after = String::from_utf8(edit.after.clone()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let oracle = tcpdmatch::Oracle::new(tmp.path(), "127.0.0.1 localhost\n");
    let (before_dir, after_dir) = (tmp.path().join("before"), tmp.path().join("after"));
    for d in [&before_dir, &after_dir] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("hosts.deny"), deny).unwrap();
    }
    if let Some(a) = allow {
        std::fs::write(before_dir.join("hosts.allow"), a).unwrap();
    }
    std::fs::write(after_dir.join("hosts.allow"), &after).unwrap();
    let before_text = allow.unwrap_or("");
    let mut refused = Vec::new();
    for c in clients {
        if !both_verdicts(name, &oracle, &before_dir, before_text, deny, c) {
            refused.push(*c);
        }
        assert!(
            both_verdicts(name, &oracle, &after_dir, &after, deny, c),
            "{name}: {c} is not granted after the edit\n{after}"
        );
    }
    assert!(
        !refused.is_empty(),
        "{name}: every client was granted before"
    );
    for s in bystanders {
        let was = both_verdicts(name, &oracle, &before_dir, before_text, deny, s);
        let now = both_verdicts(name, &oracle, &after_dir, &after, deny, s);
        assert_eq!(was, now, "{name}: bystander {s} changed");
    }
    snapshot(
        name,
        format!(
            "{}\nchecked with tcpdmatch and the evaluator: granted after the edit: {}; refused before: {}; bystanders unchanged: {}",
            edit.reason,
            clients.join(", "),
            refused.join(", "),
            bystanders.join(", ")
        ),
        std::slice::from_ref(edit),
    );
}

fn addrs(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|c| c.parse().unwrap()).collect()
}

fn allow_edit(allow: Option<&str>, deny: &str, clients: &[&str]) -> Edit {
    hosts_access::allow(
        allow,
        Some(deny),
        &addrs(clients),
        &|_| None,
        "tcp-wrappers-deny",
    )
    .unwrap()
    .expect("an edit")
}

#[test]
fn hosts_access_except_grant_all_all() {
    if ha_skip("hosts_access_except_grant_all_all") {
        return;
    }
    // `sshd: ALL EXCEPT 10.0.0.0/255.0.0.0` grants everyone but 10/8, hosts.deny has
    // `ALL: ALL`: 10.77.0.1 gets a line (at the end: the EXCEPT rule can only grant),
    // 192.0.2.10 is already allowed and is not written.
    let allow = ha_fixture("snapshots/except-grant.allow");
    let deny = ha_fixture("deny-all-all.deny");
    let clients = ["10.77.0.1", "192.0.2.10"];
    let edit = allow_edit(Some(&allow), &deny, &clients);
    check_hosts_access(
        "hosts_access_except_grant_all_all",
        Some(&allow),
        &deny,
        &clients,
        &["10.9.9.9", "198.51.100.7", "2001:db8::5"],
        &edit,
    );
}

#[test]
fn hosts_access_task_except_deny_ipv6() {
    if ha_skip("hosts_access_task_except_deny_ipv6") {
        return;
    }
    // hosts_options(5) style rules with `: DENY` and EXCEPT lists for IPv4 and IPv6,
    // run as the task does (clients from the host, files from the facts).
    let allow = ha_fixture("snapshots/except-deny.allow");
    let deny = ha_fixture("debian.deny");
    let clients = ["10.1.2.3", "2001:db8:1::5", "10.77.0.9"];
    let files: Files = BTreeMap::from([
        (HOSTS_ALLOW.to_string(), allow.clone().into_bytes()),
        (HOSTS_DENY.to_string(), deny.clone().into_bytes()),
    ]);
    let f = facts(DEBIAN12);
    let frames = Frames::default();
    let client_addrs = addrs(&clients);
    let h = host(&f, &frames, &files, &client_addrs);
    let p = hosts_access::task(&h, &json!({}), "tcp-wrappers-deny").unwrap();
    assert_eq!(p.edits.len(), 1, "{p:?}");
    assert!(p.actions.is_empty());
    check_hosts_access(
        "hosts_access_task_except_deny_ipv6",
        Some(&allow),
        &deny,
        &clients,
        &[
            "10.9.9.9",
            "10.77.0.5",
            "2001:db8:77::1",
            "2001:db8:2::1",
            "198.51.100.7",
        ],
        &p.edits[0],
    );
}

#[test]
fn hosts_access_debian_all_all_ipv6() {
    if ha_skip("hosts_access_debian_all_all_ipv6") {
        return;
    }
    // Debian's comment-only hosts.allow (ends in an empty line), `ALL: ALL` in
    // hosts.deny, an IPv6 client and an IPv4-mapped one (the same as its IPv4 client).
    let allow = ha_fixture("debian.allow");
    let deny = ha_fixture("deny-all-all.deny");
    let clients = ["192.0.2.10", "2001:db8::1", "::ffff:192.0.2.10"];
    let edit = allow_edit(Some(&allow), &deny, &clients);
    check_hosts_access(
        "hosts_access_debian_all_all_ipv6",
        Some(&allow),
        &deny,
        &clients,
        &["192.0.2.11", "2001:db8::2", "::ffff:192.0.2.11"],
        &edit,
    );
}

#[test]
fn hosts_access_crlf() {
    if ha_skip("hosts_access_crlf") {
        return;
    }
    // CRLF hosts.allow with `sshd: ALL : deny`: the new line goes before it, in CRLF.
    let allow = ha_fixture("crlf.allow");
    let deny = ha_fixture("deny-sshd-all.deny");
    let clients = ["192.0.2.10", "2001:db8::1"];
    let edit = allow_edit(Some(&allow), &deny, &clients);
    assert!(
        String::from_utf8_lossy(&edit.after)
            .contains("\r\nsshd: 192.0.2.10, [2001:db8::1]/128\r\n"),
        "the new line ends in CRLF"
    );
    check_hosts_access(
        "hosts_access_crlf",
        Some(&allow),
        &deny,
        &clients,
        &["10.1.2.3", "192.0.2.11", "2001:db8::2"],
        &edit,
    );
}

#[test]
fn hosts_access_new_file() {
    if ha_skip("hosts_access_new_file") {
        return;
    }
    // No hosts.allow at all: the edit creates it (`--- /dev/null`).
    let deny = ha_fixture("deny-all-all.deny");
    let clients = ["192.0.2.10"];
    let edit = allow_edit(None, &deny, &clients);
    assert!(unified(&edit).starts_with("--- /dev/null\n+++ b/etc/hosts.allow\n"));
    check_hosts_access(
        "hosts_access_new_file",
        None,
        &deny,
        &clients,
        &["192.0.2.11", "2001:db8::1"],
        &edit,
    );
}

#[test]
fn hosts_access_trailing_backslash_comment() {
    if ha_skip("hosts_access_trailing_backslash_comment") {
        return;
    }
    // A last comment ending in `\` continues onto the next line for libwrap: a line
    // appended after it would be part of the comment. The new line goes before it.
    let allow = format!(
        "{}# sshd: 10.0.0.0/255.0.0.0 \\\n",
        ha_fixture("debian.allow")
    );
    let deny = ha_fixture("deny-sshd-all.deny");
    let clients = ["192.0.2.10"];
    let edit = allow_edit(Some(&allow), &deny, &clients);
    check_hosts_access(
        "hosts_access_trailing_backslash_comment",
        Some(&allow),
        &deny,
        &clients,
        &["10.0.0.1", "192.0.2.11"],
        &edit,
    );
}

#[test]
fn hosts_access_continued_deny_rule() {
    if ha_skip("hosts_access_continued_deny_rule") {
        return;
    }
    // A `: DENY` rule continued over two lines with `\`: the new line goes before its
    // first line, not between the two.
    let allow = format!(
        "{}sshd: 10.1.1.1, \\\n\t10.1.1.2 : DENY\nsshd: ALL : ALLOW\n",
        ha_fixture("debian.allow")
    );
    let deny = ha_fixture("deny-all-all.deny");
    let clients = ["10.1.1.2"];
    let edit = allow_edit(Some(&allow), &deny, &clients);
    check_hosts_access(
        "hosts_access_continued_deny_rule",
        Some(&allow),
        &deny,
        &clients,
        &["10.1.1.1", "10.1.1.3"],
        &edit,
    );
}

#[test]
fn sshd_debian12_lowercase_match_maxstartups() {
    if skip_or_fail("sshd_debian12_lowercase_match_maxstartups") {
        return;
    }
    // Debian 12 with a lowercase `match user backup` block appended after the
    // commented `#Match User anoncvs` example: the global line goes above the comment
    // lines attached to the Match (the example), not between them and the block.
    let mut files = module_tree("debian12");
    files
        .get_mut(MAIN)
        .unwrap()
        .extend_from_slice(b"match user backup\n\tX11Forwarding no\n");
    let edits = set(&files, (9, 2), "MaxStartups", "100:30:200");
    check_sshd(
        "sshd_debian12_lowercase_match_maxstartups",
        &files,
        &edits,
        &[MAIN],
        &[
            expect(None, "maxstartups", Some("10:30:100"), "100:30:200"),
            expect(Some(BACKUP), "maxstartups", Some("10:30:100"), "100:30:200"),
            expect(Some(BACKUP), "x11forwarding", Some("no"), "no"),
        ],
        None,
    );
}
