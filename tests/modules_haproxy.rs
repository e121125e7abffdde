//! `modules::haproxy` on real configuration shapes: snapshots of the proposed
//! diffs, and proof with the real `haproxy -c -f` (haproxy 2.6, Debian 12)
//! that every candidate is valid, that the SSH sections ran in `mode http`
//! before and in `mode tcp` after (re-parsed with `facts::haproxy`), and that
//! running the module on the candidate proposes nothing.
//!
//! The host is the real capture of the lab's load balancer
//! (`tests/fixtures/facts/frames/lb-http.out`) with `/etc/haproxy/haproxy.cfg`
//! replaced by each fixture. Without `/usr/sbin/haproxy` the validation test
//! says loudly that it skipped; with `CI=true` that is a failure.

use std::path::Path;
use std::process::Command;

use serde_json::json;
use sshfix::change::{Op, Validator};
use sshfix::facts::haproxy::{self as hp, Mode};
use sshfix::modules::{self, Host, Proposal};

#[allow(dead_code)]
#[path = "common/captured.rs"]
mod captured;
use captured::Built;

const CFG: &str = "/etc/haproxy/haproxy.cfg";
const HAPROXY: &str = "/usr/sbin/haproxy";

/// The lab's load balancer capture, seen by the controller.
fn lb() -> Built {
    Built::new(captured::frames("lb-http"), &["10.77.0.1"])
}

fn fixture(name: &str) -> Vec<u8> {
    let p = format!(
        "{}/tests/fixtures/modules/haproxy/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// The module on `cfg` as the host's haproxy.cfg, for SSH port `port`.
fn propose(cfg: &[u8], port: u16) -> Proposal {
    let mut lb = lb();
    lb.files.insert(CFG.into(), cfg.to_vec());
    let host = Host {
        name: "lb",
        port,
        ..lb.host()
    };
    modules::run("haproxy", &host, &json!({}), "lb-http-mode").unwrap()
}

/// The fixtures: (file, SSH port, names of the sections that must end in tcp).
const CASES: &[(&str, u16, &[&str])] = &[
    ("defaults-http-listen22.cfg", 22, &["ssh"]),
    ("lab-2222.cfg", 22, &["ssh_front", "ssh_back"]),
    ("web-and-ssh.cfg", 22, &["ssh_in", "ssh_servers"]),
    ("crlf.cfg", 22, &["ssh"]),
];

fn mode_of(text: &str, name: &str) -> Mode {
    let c = hp::parse(text);
    let i = c
        .sections
        .iter()
        .position(|s| s.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no section {name}"));
    c.effective_mode(i).mode
}

#[test]
fn snapshots_of_the_diffs() {
    for (name, port, _) in CASES {
        let p = propose(&fixture(name), *port);
        assert_eq!(p.edits.len(), 1, "{name}");
        let e = &p.edits[0];
        assert_eq!(e.validator, Validator::Haproxy);
        assert_eq!(
            p.actions.iter().map(|a| a.op.clone()).collect::<Vec<_>>(),
            vec![Op::Reload {
                target: "haproxy".into()
            }]
        );
        let shown = format!(
            "{}\nreason: {}\n",
            sshfix::report::diff::unified(e),
            e.reason
        );
        insta::assert_snapshot!(name.replace('.', "_"), shown);
    }
}

#[test]
fn crlf_is_kept_on_every_line() {
    let p = propose(&fixture("crlf.cfg"), 22);
    let after = String::from_utf8(p.edits[0].after.clone()).unwrap();
    assert!(after.contains("\tmode tcp\r\n"));
    assert!(after.contains("\toption tcplog\r\n"));
    assert_eq!(after.matches('\n').count(), after.matches("\r\n").count());
    // the same edit as the LF file, line for line
    let lf = propose(&fixture("defaults-http-listen22.cfg"), 22);
    assert_eq!(
        after.replace("\r\n", "\n").into_bytes(),
        lf.edits[0].after,
        "CRLF and LF candidates differ beyond line endings"
    );
}

#[test]
fn the_web_frontend_and_defaults_stay_untouched() {
    let before = String::from_utf8(fixture("web-and-ssh.cfg")).unwrap();
    let p = propose(before.as_bytes(), 22);
    let after = String::from_utf8(p.edits[0].after.clone()).unwrap();
    for name in ["web", "webfarm"] {
        assert_eq!(mode_of(&after, name), Mode::Http, "{name}");
    }
    let section = |t: &str, header: &str| -> String {
        let start = t.find(header).unwrap();
        let end = t[start + 1..]
            .find("\nfrontend ")
            .or_else(|| t[start + 1..].find("\nbackend "))
            .map(|e| start + 1 + e)
            .unwrap_or(t.len());
        t[start..end].to_string()
    };
    for header in ["defaults\n", "frontend web\n", "backend webfarm\n"] {
        assert_eq!(
            section(&before, header),
            section(&after, header),
            "{header}"
        );
    }
}

/// `None` when the real haproxy can run here; otherwise why not.
fn cannot_run() -> Option<String> {
    if !Path::new(HAPROXY).exists() {
        return Some(format!("{HAPROXY} is missing (apt-get install haproxy)"));
    }
    None
}

fn skip_or_fail(test: &str) -> bool {
    match cannot_run() {
        None => false,
        Some(why) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true: {test} must run the real haproxy, but {why}");
            }
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!!!!! SKIPPED {test}: {why}; the candidates were NOT checked with `haproxy -c` !!!!!!!!\n"
            );
            true
        }
    }
}

/// `haproxy -c -f` on `text`: (valid, output).
fn haproxy_check(text: &[u8]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("candidate.cfg");
    std::fs::write(&f, text).unwrap();
    let out = Command::new(HAPROXY)
        .arg("-c")
        .arg("-f")
        .arg(&f)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn candidates_pass_haproxy_c_and_carry_ssh_in_tcp() {
    if skip_or_fail("candidates_pass_haproxy_c_and_carry_ssh_in_tcp") {
        return;
    }
    for (name, port, ssh_sections) in CASES {
        let before = fixture(name);
        let (ok, out) = haproxy_check(&before);
        assert!(ok, "{name}: the fixture itself is invalid:\n{out}");
        let p = propose(&before, *port);
        let after = &p.edits[0].after;
        let (ok, out) = haproxy_check(after);
        assert!(ok, "{name}: haproxy -c refuses the candidate:\n{out}");
        // haproxy itself must not fall back from http logging in a switched proxy
        assert!(
            !out.contains("'option httplog' not usable"),
            "{name}: haproxy still sees httplog in a tcp proxy:\n{out}"
        );
        let (b, a) = (
            String::from_utf8(before.clone()).unwrap(),
            String::from_utf8(after.clone()).unwrap(),
        );
        for s in *ssh_sections {
            assert_eq!(mode_of(&b, s), Mode::Http, "{name}: {s} before");
            assert_eq!(mode_of(&a, s), Mode::Tcp, "{name}: {s} after");
        }
        // idempotent: the candidate needs nothing more
        assert!(propose(after, *port).is_empty(), "{name}: not idempotent");
    }
}

#[test]
fn a_tcp_config_needs_nothing() {
    let tcp = fixture("defaults-http-listen22.cfg");
    let tcp = String::from_utf8(tcp)
        .unwrap()
        .replace("mode\thttp", "mode\ttcp");
    let tcp = tcp.replace("option\thttplog", "option\ttcplog");
    assert!(propose(tcp.as_bytes(), 22).is_empty());
}

/// Why a frontend that sends traffic to an SSH backend is switched with it:
/// haproxy refuses an http frontend with a tcp backend, so switching the
/// backend alone would make the config invalid. The module switches both;
/// with a web backend behind the same frontend it refuses instead.
#[test]
fn a_backend_is_never_switched_without_its_frontends() {
    if skip_or_fail("a_backend_is_never_switched_without_its_frontends") {
        return;
    }
    let shared = "defaults\n\tmode http\n\ttimeout connect 5s\n\ttimeout client 5s\n\ttimeout server 5s\n\nfrontend f\n\tbind :2222\n\tdefault_backend ssh\n\nbackend ssh\n\tserver s 10.0.0.1:22\n";
    let backend_only = shared.replace("\nbackend ssh\n", "\nbackend ssh\n\tmode tcp\n");
    let (ok, out) = haproxy_check(backend_only.as_bytes());
    assert!(
        !ok,
        "haproxy accepted an http frontend with a tcp backend:\n{out}"
    );
    assert!(out.contains("incompatible tcp backend"), "{out}");
    let p = propose(shared.as_bytes(), 22);
    let after = String::from_utf8(p.edits[0].after.clone()).unwrap();
    assert_eq!(mode_of(&after, "f"), Mode::Tcp);
    assert_eq!(mode_of(&after, "ssh"), Mode::Tcp);
    assert!(haproxy_check(after.as_bytes()).0);
    // the same frontend also routing to a web backend: refused
    let mixed = shared.replace(
        "\tdefault_backend ssh\n",
        "\tdefault_backend ssh\n\tuse_backend web if { dst_port 80 }\n\nbackend web\n\tserver w 10.0.0.2:80\n",
    );
    assert!(haproxy_check(mixed.as_bytes()).0);
    let mut lb = lb();
    lb.files.insert(CFG.into(), mixed.into_bytes());
    let host = Host {
        name: "lb",
        ..lb.host()
    };
    let e = modules::run("haproxy", &host, &json!({}), "lb-http-mode").unwrap_err();
    assert!(
        e.message.starts_with(
            "/etc/haproxy/haproxy.cfg:7: `frontend f` routes to SSH and also to `backend web`"
        ),
        "{e}"
    );
}
