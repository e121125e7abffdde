//! Proof that `modules::sshd_config` edits take effect in the real sshd: each candidate
//! tree is bind-mounted as `/etc/ssh` in a private mount namespace (`unshare -m`, with a
//! tmpfs `/run` holding `/run/sshd` and throwaway host keys generated for the run), then
//! `/usr/sbin/sshd -t` must pass and `sshd -T` must print every `(keyword, value)` the
//! edit's validator expects — and, unless the module said "nothing to do", the original
//! tree must print something else (so the edit is what made the difference).
//!
//! Needs root (mount namespaces) and `/usr/sbin/sshd`. Without them the tests say loudly
//! that they skipped; with `CI=true` that is a failure. The machine's own `/etc/ssh` and
//! `/run` are never touched.

use std::collections::BTreeMap;

use sshfix::change::{Edit, Validator};
use sshfix::facts::sshd::parse_dump;
use sshfix::modules::sshd_config::{comment_out, set};

// shared with the other sshd-backed tests, which use more of it
#[allow(dead_code)]
#[path = "common/sshd_ns.rs"]
mod sshd_ns;

use sshd_ns::{fixtures, skip_or_fail, tree, MAIN};

fn facts_tree(name: &str) -> BTreeMap<String, Vec<u8>> {
    tree(&fixtures().join("facts/sshd/trees").join(name))
}

fn module_tree(name: &str) -> BTreeMap<String, Vec<u8>> {
    tree(&fixtures().join("modules/sshd_config/trees").join(name))
}

/// Run sshd with `args` on `files` mounted as /etc/ssh: (exit code, stdout, stderr).
fn sshd(files: &BTreeMap<String, Vec<u8>>, args: &[&str]) -> (i32, String, String) {
    let r = sshd_ns::sshd(files, args);
    (r.code, r.stdout, r.stderr)
}

fn applied(files: &BTreeMap<String, Vec<u8>>, edits: &[Edit]) -> BTreeMap<String, Vec<u8>> {
    let mut f = files.clone();
    for e in edits {
        assert_eq!(
            f.get(&e.path),
            e.before.as_ref(),
            "{}: stale before",
            e.path
        );
        f.insert(e.path.clone(), e.after.clone());
    }
    f
}

/// `sshd -T` of `files` as a map of key → first value (asserting sshd -t passes first).
fn effective(files: &BTreeMap<String, Vec<u8>>, what: &str) -> sshfix::facts::sshd::SshdDump {
    let (rc, _, err) = sshd(files, &["-t", "-f", MAIN]);
    assert_eq!(rc, 0, "{what}: sshd -t failed: {err}");
    let (rc, out, err) = sshd(files, &["-T", "-f", MAIN]);
    assert_eq!(rc, 0, "{what}: sshd -T failed: {err}");
    parse_dump(&out)
}

/// `files` with one more file.
fn with(mut files: BTreeMap<String, Vec<u8>>, path: &str, text: &str) -> BTreeMap<String, Vec<u8>> {
    files.insert(path.to_string(), text.as_bytes().to_vec());
    files
}

struct Case {
    name: &'static str,
    files: BTreeMap<String, Vec<u8>>,
    key: &'static str,
    value: &'static str,
    /// The file the module must edit (`None`: no edit, the value is already in effect).
    edits: Option<&'static str>,
}

fn case(
    name: &'static str,
    files: BTreeMap<String, Vec<u8>>,
    key: &'static str,
    value: &'static str,
    edits: Option<&'static str>,
) -> Case {
    Case {
        name,
        files,
        key,
        value,
        edits,
    }
}

#[test]
fn set_takes_effect_in_the_real_sshd() {
    if skip_or_fail("set_takes_effect_in_the_real_sshd") {
        return;
    }
    let d50 = Some("/etc/ssh/sshd_config.d/50-hardening.conf");
    let main = Some(MAIN);
    let cases = vec![
        // A drop-in sets the value first (first-wins): the drop-in is edited.
        case(
            "dropin-first UseDNS",
            facts_tree("dropin-first"),
            "UseDNS",
            "no",
            d50,
        ),
        case(
            "dropin-first LoginGraceTime",
            facts_tree("dropin-first"),
            "LoginGraceTime",
            "45",
            d50,
        ),
        // Last-wins MaxStartups in 9.2 with lines in the drop-in and the main file.
        case(
            "dropin-first MaxStartups",
            facts_tree("dropin-first"),
            "MaxStartups",
            "10:30:100",
            main,
        ),
        case(
            "last-wins MaxStartups",
            facts_tree("last-wins"),
            "MaxStartups",
            "10:30:60",
            main,
        ),
        case(
            "last-wins MaxStartups one number",
            facts_tree("last-wins"),
            "MaxStartups",
            "50",
            main,
        ),
        case(
            "last-wins PerSourceMaxStartups",
            facts_tree("last-wins"),
            "PerSourceMaxStartups",
            "7",
            main,
        ),
        // A trailing Match block: new lines go before it (or before the Include).
        case(
            "trailing-match MaxStartups",
            facts_tree("trailing-match"),
            "MaxStartups",
            "20:30:60",
            main,
        ),
        case(
            "trailing-match UseDNS",
            facts_tree("trailing-match"),
            "UseDNS",
            "yes",
            main,
        ),
        case(
            "trailing-match ClientAliveInterval",
            facts_tree("trailing-match"),
            "ClientAliveInterval",
            "2m",
            main,
        ),
        // CRLF, upper/lower case keywords, Key=value, Key = value, quotes.
        case(
            "crlf-case-eq MaxStartups",
            facts_tree("crlf-case-eq"),
            "maxstartups",
            "10:30:100",
            main,
        ),
        case(
            "crlf-case-eq UseDNS",
            facts_tree("crlf-case-eq"),
            "USEDNS",
            "no",
            main,
        ),
        case(
            "crlf-case-eq LoginGraceTime",
            facts_tree("crlf-case-eq"),
            "LoginGraceTime",
            "30",
            Some("/etc/ssh/sshd_config.d/a.conf"),
        ),
        case(
            "crlf-case-eq Banner",
            facts_tree("crlf-case-eq"),
            "Banner",
            "\"/etc/ssh/other banner\"",
            main,
        ),
        case(
            "crlf-case-eq new line",
            facts_tree("crlf-case-eq"),
            "ClientAliveCountMax",
            "5",
            main,
        ),
        // CRLF without a trailing newline, a trailing Match block, a lowercase drop-in.
        case(
            "crlf-noeol MaxStartups",
            module_tree("crlf-noeol"),
            "MaxStartups",
            "10:30:100",
            main,
        ),
        case(
            "crlf-noeol LoginGraceTime",
            module_tree("crlf-noeol"),
            "LoginGraceTime",
            "1m30s",
            main,
        ),
        case(
            "crlf-noeol UseDNS",
            module_tree("crlf-noeol"),
            "UseDNS",
            "no",
            Some("/etc/ssh/sshd_config.d/10-dns.conf"),
        ),
        case(
            "crlf-noeol PerSourceMaxStartups",
            module_tree("crlf-noeol"),
            "PerSourceMaxStartups",
            "3",
            main,
        ),
        case(
            "crlf-noeol MaxAuthTries",
            module_tree("crlf-noeol"),
            "MaxAuthTries",
            "4",
            main,
        ),
        case(
            "noeol-plain UseDNS",
            module_tree("noeol-plain"),
            "UseDNS",
            "no",
            main,
        ),
        case(
            "noeol-plain MaxStartups",
            module_tree("noeol-plain"),
            "MaxStartups",
            "20:30:60",
            main,
        ),
        // Match all overrides the global value; an alias spelling decides.
        case(
            "match-all X11Forwarding",
            facts_tree("match-all"),
            "X11Forwarding",
            "no",
            main,
        ),
        case(
            "aliases KbdInteractiveAuthentication",
            facts_tree("aliases"),
            "KbdInteractiveAuthentication",
            "no",
            main,
        ),
        // Values sshd -T prints in another form than written.
        case(
            "debian-default + drop-in PermitRootLogin",
            with(
                facts_tree("debian-default"),
                "/etc/ssh/sshd_config.d/50-root.conf",
                "PermitRootLogin yes\n",
            ),
            "PermitRootLogin",
            "prohibit-password",
            Some("/etc/ssh/sshd_config.d/50-root.conf"),
        ),
        case(
            "debian-default LogLevel",
            facts_tree("debian-default"),
            "LogLevel",
            "verbose",
            main,
        ),
        case(
            "debian-default + drop-in Compression",
            with(
                facts_tree("debian-default"),
                "/etc/ssh/sshd_config.d/50-compression.conf",
                "Compression no\n",
            ),
            "Compression",
            "delayed",
            Some("/etc/ssh/sshd_config.d/50-compression.conf"),
        ),
        case(
            "debian-default AddressFamily",
            facts_tree("debian-default"),
            "AddressFamily",
            "INET",
            main,
        ),
        case(
            "debian-default MaxAuthTries",
            facts_tree("debian-default"),
            "MaxAuthTries",
            "03",
            main,
        ),
        case(
            "debian-default UnusedConnectionTimeout",
            facts_tree("debian-default"),
            "UnusedConnectionTimeout",
            "1m",
            main,
        ),
        case(
            "debian-default PrintMotd",
            facts_tree("debian-default"),
            "PrintMotd",
            "Yes",
            main,
        ),
        // Already in effect: no edit.
        case(
            "debian-default KbdInteractiveAuthentication",
            facts_tree("debian-default"),
            "KbdInteractiveAuthentication",
            "No",
            None,
        ),
        case(
            "dropin-first LoginGraceTime 20",
            facts_tree("dropin-first"),
            "LoginGraceTime",
            "20",
            None,
        ),
        case(
            "dropin-first UseDNS YES",
            facts_tree("dropin-first"),
            "UseDNS",
            "YES",
            None,
        ),
        case(
            "last-wins MaxStartups 40",
            facts_tree("last-wins"),
            "MaxStartups",
            "40",
            None,
        ),
        case(
            "crlf-noeol LoginGraceTime 120",
            module_tree("crlf-noeol"),
            "LoginGraceTime",
            "120",
            None,
        ),
    ];
    let mut checked = 0;
    for c in &cases {
        let edits = set(&c.files, MAIN, (9, 2), c.key, c.value, "test")
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let original = effective(&c.files, &format!("{} (original)", c.name));
        let Some(path) = c.edits else {
            assert_eq!(edits, vec![], "{}: expected no edit", c.name);
            // The module says it is in effect: sshd agrees, in the form it prints.
            let (k, v) = (c.key.to_ascii_lowercase(), c.value.to_ascii_lowercase());
            let printed = original.get(&k).unwrap_or_default().to_string();
            let agrees =
                printed == v || (k == "maxstartups" && printed.starts_with(&format!("{v}:")));
            assert!(agrees, "{}: sshd -T prints {k} {printed}", c.name);
            checked += 1;
            continue;
        };
        assert_eq!(edits.len(), 1, "{}: {edits:?}", c.name);
        assert_eq!(edits[0].path, path, "{}: edited the wrong file", c.name);
        let Validator::SshdConfig { expect, .. } = &edits[0].validator else {
            panic!("{}: wrong validator", c.name);
        };
        assert_eq!(expect.len(), 1, "{}", c.name);
        let candidate = effective(&applied(&c.files, &edits), c.name);
        for (k, v) in expect {
            assert_eq!(
                candidate.get(k),
                Some(v.as_str()),
                "{}: after the edit sshd -T does not print `{k} {v}` ({})",
                c.name,
                edits[0].reason
            );
            assert_ne!(
                original.get(k),
                Some(v.as_str()),
                "{}: the original already printed `{k} {v}`, the edit proves nothing",
                c.name
            );
        }
        checked += 1;
    }
    assert_eq!(checked, cases.len());
}

/// The traps are real: the naive edit (append to the end of sshd_config) fails or is
/// ignored by the real sshd where the module's edit works.
#[test]
fn naive_appends_fail_where_the_module_works() {
    if skip_or_fail("naive_appends_fail_where_the_module_works") {
        return;
    }
    let append = |files: &BTreeMap<String, Vec<u8>>, line: &str| {
        let mut f = files.clone();
        f.get_mut(MAIN).unwrap().extend_from_slice(line.as_bytes());
        f
    };
    // Trailing Match block: an appended MaxStartups is inside it, sshd -t refuses.
    let files = facts_tree("trailing-match");
    let (rc, _, err) = sshd(
        &append(&files, "MaxStartups 10:30:100\n"),
        &["-t", "-f", MAIN],
    );
    assert_ne!(rc, 0);
    assert!(err.contains("not allowed within a Match block"), "{err}");
    // First-wins drop-in: an appended UseDNS is ignored.
    let files = facts_tree("dropin-first");
    let d = effective(&append(&files, "UseDNS no\n"), "dropin-first append");
    assert_eq!(d.get("usedns"), Some("yes"));
    // Last-wins MaxStartups, 10.1+ thinking (edit the first line): ignored by 9.2.
    let files = facts_tree("last-wins");
    let edits = set(&files, MAIN, (10, 1), "MaxStartups", "10:30:60", "t").unwrap();
    assert_eq!(edits[0].path, "/etc/ssh/sshd_config.d/10-first.conf");
    let d = effective(&applied(&files, &edits), "last-wins with 10.1 rules");
    assert_eq!(d.get("maxstartups"), Some("40:30:40"));
}

#[test]
fn comment_out_makes_sshd_t_pass() {
    if skip_or_fail("comment_out_makes_sshd_t_pass") {
        return;
    }
    // Two bad options: both lines disabled one after the other.
    let files = facts_tree("errors/bad-option");
    let (rc, _, _) = sshd(&files, &["-t", "-f", MAIN]);
    assert_ne!(rc, 0);
    let e1 = comment_out(
        &files,
        MAIN,
        2,
        "sshd -t: Bad configuration option: FooBar",
        "t",
    )
    .unwrap();
    let step = applied(&files, &[e1]);
    let e2 = comment_out(
        &step,
        MAIN,
        3,
        "sshd -t: Bad configuration option: maxstartup",
        "t",
    )
    .unwrap();
    let fixed = applied(&step, &[e2]);
    let d = effective(&fixed, "bad-option disabled");
    assert_eq!(d.ports(), vec![22]);
    // A global-only keyword inside a Match block.
    let files = facts_tree("errors/not-in-match");
    let (rc, _, err) = sshd(&files, &["-t", "-f", MAIN]);
    assert_ne!(rc, 0, "{err}");
    let e = comment_out(
        &files,
        MAIN,
        3,
        "sshd -t: UseDNS is not allowed within a Match block",
        "t",
    )
    .unwrap();
    effective(&applied(&files, &[e]), "not-in-match disabled");
}
