//! Tests of `sshfix explain`'s pure parts: the source file against the
//! catalogue, classification of captured client output, ordering, lookups.

use std::collections::HashMap;

use super::classify::{classify, MessageKind};
use super::render::{self, Look};
use super::*;
use crate::checks::Catalogue;

fn docs() -> &'static Docs {
    Docs::builtin().unwrap()
}

fn severities() -> HashMap<String, Severity> {
    Catalogue::builtin()
        .unwrap()
        .checks()
        .iter()
        .map(|c| (c.id.clone(), c.severity))
        .collect()
}

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../tests/fixtures/explain/", $name))
    };
}

fn kind_of(text: &str) -> MessageKind {
    classify(text)
        .unwrap_or_else(|| panic!("not recognised: {text:?}"))
        .kind
}

// ---- the source file and the catalogue agree ----

#[test]
fn every_catalogue_finding_is_documented_and_nothing_else() {
    let catalogue: Vec<String> = Catalogue::builtin()
        .unwrap()
        .checks()
        .iter()
        .map(|c| c.id.clone())
        .collect();
    let documented: Vec<String> = docs().findings.iter().map(|f| f.id.clone()).collect();
    let missing: Vec<&String> = catalogue
        .iter()
        .filter(|id| !documented.contains(id))
        .collect();
    let extra: Vec<&String> = documented
        .iter()
        .filter(|id| !catalogue.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "catalogue findings without documentation in {SOURCE_NAME}: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "{SOURCE_NAME} documents findings the catalogue does not have: {extra:?}"
    );
    assert_eq!(
        catalogue, documented,
        "{SOURCE_NAME} lists the findings in catalogue order"
    );
}

#[test]
fn every_documentation_field_is_filled() {
    for f in &docs().findings {
        for (name, text) in [
            ("title", &f.title),
            ("client_sees", &f.client_sees),
            ("evidence", &f.evidence),
            ("cause", &f.cause),
            ("fix", &f.fix),
            ("confirm", &f.confirm),
            ("check", &f.check),
        ] {
            assert!(!text.trim().is_empty(), "{}: `{name}` is empty", f.id);
        }
        assert!(
            !f.confirm.contains('\n'),
            "{}: confirm is one command",
            f.id
        );
    }
}

#[test]
fn every_message_kind_has_exactly_one_entry_with_known_findings() {
    let known: Vec<&str> = crate::probe::Symptom::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    for kind in MessageKind::ALL {
        let n = docs().messages.iter().filter(|m| m.class == kind).count();
        assert_eq!(n, 1, "{SOURCE_NAME}: message class `{}`", kind.as_str());
    }
    assert_eq!(docs().messages.len(), MessageKind::ALL.len());
    for m in &docs().messages {
        assert!(
            known.contains(&m.symptom.as_str()),
            "{}: unknown probe symptom `{}`",
            m.class.as_str(),
            m.symptom
        );
        for c in &m.causes {
            assert!(
                docs().finding(&c.id).is_some(),
                "{}: cause `{}` is not a documented finding",
                m.class.as_str(),
                c.id
            );
        }
        // each example of what ssh prints is classified as this class
        for example in &m.ssh_prints {
            assert_eq!(kind_of(example), m.class, "example {example:?}");
        }
    }
}

#[test]
fn info_findings_are_never_a_likely_cause_of_an_identification_failure() {
    let sev = severities();
    for m in &docs().messages {
        if m.class == MessageKind::AfterIdentification {
            continue;
        }
        for c in &m.causes {
            assert_ne!(
                sev.get(&c.id),
                Some(&Severity::Info),
                "{} lists info finding {}",
                m.class.as_str(),
                c.id
            );
        }
    }
}

// ---- classification of captured client output ----

#[test]
fn captured_client_messages_are_classified() {
    use MessageKind as K;
    for (name, text, kind) in [
        ("reset.txt", fixture!("reset.txt"), K::ResetBeforeBanner),
        ("closed.txt", fixture!("closed.txt"), K::ClosedBeforeBanner),
        // without -v an HTTP answer looks like any close
        (
            "http-400.txt",
            fixture!("http-400.txt"),
            K::ClosedBeforeBanner,
        ),
        (
            "invalid-characters.txt",
            fixture!("invalid-characters.txt"),
            K::NotSsh,
        ),
        (
            "invalid-format.txt",
            fixture!("invalid-format.txt"),
            K::NotSsh,
        ),
        ("protocol-1.txt", fixture!("protocol-1.txt"), K::NotSsh),
        (
            "banner-timeout.txt",
            fixture!("banner-timeout.txt"),
            K::BannerTimeout,
        ),
        ("refused.txt", fixture!("refused.txt"), K::Refused),
        (
            "connect-timeout.txt",
            fixture!("connect-timeout.txt"),
            K::ConnectTimeout,
        ),
        (
            "unresolvable.txt",
            fixture!("unresolvable.txt"),
            K::Unreachable,
        ),
        (
            "reset-vvv.log",
            fixture!("reset-vvv.log"),
            K::ResetBeforeBanner,
        ),
        ("refused-vvv.log", fixture!("refused-vvv.log"), K::Refused),
        (
            "http-400-vvv.log",
            fixture!("http-400-vvv.log"),
            K::NotSshHttp,
        ),
        (
            "exceeded-maxstartups-vvv.log",
            fixture!("exceeded-maxstartups-vvv.log"),
            K::ClosedMaxstartupsText,
        ),
        (
            "not-allowed-vvv.log",
            fixture!("not-allowed-vvv.log"),
            K::ClosedNotAllowedText,
        ),
        (
            "ident-then-closed-vvv.log",
            fixture!("ident-then-closed-vvv.log"),
            K::AfterIdentification,
        ),
    ] {
        assert_eq!(kind_of(text), kind, "{name}");
    }
}

#[test]
fn each_line_of_a_captured_pair_is_classified_alone() {
    use MessageKind as K;
    // users often paste only one of the two lines ssh prints
    for (text, kind) in [
        (
            "kex_exchange_identification: read: Connection reset by peer",
            K::ResetBeforeBanner,
        ),
        (
            "Connection reset by 127.0.0.1 port 39965",
            K::ResetBeforeBanner,
        ),
        (
            "kex_exchange_identification: Connection closed by remote host",
            K::ClosedBeforeBanner,
        ),
        (
            "Connection closed by 127.0.0.1 port 46335",
            K::ClosedBeforeBanner,
        ),
        (
            "Connection timed out during banner exchange",
            K::BannerTimeout,
        ),
        (
            "Connection to 127.0.0.1 port 41219 timed out",
            K::BannerTimeout,
        ),
        (
            "banner exchange: Connection to 127.0.0.1 port 42891: invalid format",
            K::NotSsh,
        ),
        (
            "kex_exchange_identification: banner line contains invalid characters",
            K::NotSsh,
        ),
        (
            "Bad remote protocol version identification: 'SSH-garbage'",
            K::NotSsh,
        ),
        ("Protocol major versions differ: 2 vs. 1", K::NotSsh),
        (
            "banner exchange: Connection to 127.0.0.1 port 41317: could not read protocol version",
            K::NotSsh,
        ),
        (
            "ssh: connect to host 127.0.0.1 port 44341: Connection refused",
            K::Refused,
        ),
        (
            "ssh: connect to host 127.0.0.1 port 53087: Connection timed out",
            K::ConnectTimeout,
        ),
        ("Connection refused", K::Refused),
        ("Connection timed out", K::ConnectTimeout),
    ] {
        assert_eq!(kind_of(text), kind, "{text}");
    }
}

#[test]
fn older_and_other_platform_forms_are_classified() {
    use MessageKind as K;
    // OpenSSH before 8.0 (sshconnect.c ssh_exchange_identification()), its
    // -v output of non-SSH lines, sshd's log line for a non-SSH client, and
    // the BSD/macOS strerror texts; quoted, as no such client is installed here
    for (text, kind) in [
        ("ssh_exchange_identification: read: Connection reset by peer", K::ResetBeforeBanner),
        ("ssh_exchange_identification: Connection closed by remote host", K::ClosedBeforeBanner),
        (
            "debug1: ssh_exchange_identification: HTTP/1.1 400 Bad Request\r\n\
             ssh_exchange_identification: Connection closed by remote host",
            K::NotSshHttp,
        ),
        (
            "debug1: ssh_exchange_identification: Exceeded MaxStartups\r\n\
             ssh_exchange_identification: read: Connection reset by peer",
            K::ClosedMaxstartupsText,
        ),
        (
            "Oct 12 10:01:02 web1 sshd[4121]: Bad protocol version identification 'GET / HTTP/1.1' from 10.77.0.9 port 50514",
            K::ServerSawNonSsh,
        ),
        ("Bad protocol version identification '\\026\\003\\001'", K::ServerSawNonSsh),
        ("ssh: connect to host web1 port 22: Operation timed out", K::ConnectTimeout),
        ("ssh: Could not resolve hostname web1: nodename nor servname provided, or not known", K::Unreachable),
        ("ssh: connect to host 10.0.0.1 port 22: No route to host", K::Unreachable),
        ("kex_exchange_identification: read: Connection timed out", K::BannerTimeout),
        ("Connection closed by remote host", K::ClosedBeforeBanner),
        ("Connection reset by peer", K::ResetBeforeBanner),
    ] {
        assert_eq!(kind_of(text), kind, "{text}");
    }
}

#[test]
fn text_without_an_ssh_error_is_not_classified() {
    for text in [
        "",
        "hello world",
        "tcp-wrappers",
        "debug1: Reading configuration data /etc/ssh/ssh_config",
    ] {
        assert_eq!(classify(text), None, "{text:?}");
    }
}

#[test]
fn the_log_names_the_host_address_and_port() {
    let port = |log: &str| {
        let c = classify(log).unwrap();
        (c.target.host, c.target.address, c.target.port)
    };
    let (host, addr, p) = port(fixture!("reset-vvv.log"));
    assert_eq!(host.as_deref(), Some("localhost"));
    assert_eq!(addr.as_deref(), Some("127.0.0.1"));
    // the port the log names, not a constant
    let log = fixture!("reset-vvv.log");
    let connecting = log.lines().find(|l| l.contains("Connecting to")).unwrap();
    assert!(
        connecting.contains(&format!("port {}.", p.unwrap())),
        "{connecting}"
    );
    // a single summary line names only the address
    let (host, addr, p) = port("Connection closed by 10.0.0.1 port 2222");
    assert_eq!(
        (host.as_deref(), addr.as_deref(), p),
        (Some("10.0.0.1"), Some("10.0.0.1"), Some(2222))
    );
    let (host, _, p) = port("ssh: connect to host web1.example.com port 22: Connection refused");
    assert_eq!((host.as_deref(), p), (Some("web1.example.com"), Some(22)));
}

#[test]
fn the_deciding_lines_are_kept() {
    let c = classify(fixture!("http-400-vvv.log")).unwrap();
    assert!(
        c.matched[0].ends_with("banner line 0: HTTP/1.1 400 Bad request"),
        "{:?}",
        c.matched
    );
    assert!(c.matched.len() <= classify::MAX_MATCHED);
    let c = classify(fixture!("reset-vvv.log")).unwrap();
    assert_eq!(
        c.matched,
        vec![
            "kex_exchange_identification: read: Connection reset by peer".to_string(),
            c.matched[1].clone()
        ]
    );
    assert!(c.matched[1].starts_with("Connection reset by 127.0.0.1 port "));
}

// ---- diagnosis: causes in order, commands with the host ----

#[test]
fn causes_come_in_the_documented_order_with_the_logs_host() {
    let d = diagnose(
        docs(),
        &severities(),
        classify(fixture!("reset-vvv.log")).unwrap(),
    )
    .unwrap();
    let ids: Vec<&str> = d.causes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "tcp-wrappers-deny",
            "maxstartups-exhausted",
            "per-source-penalty"
        ]
    );
    assert_eq!(
        d.causes.iter().map(|c| c.rank).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let first = &d.causes[0];
    assert_eq!(first.confirm.probe, "sshfix probe -l localhost");
    assert_eq!(first.confirm.plan, "sshfix plan -l localhost");
    assert_eq!(
        first.confirm.by_hand,
        docs().finding("tcp-wrappers-deny").unwrap().confirm
    );
    assert_eq!(first.severity, Some(Severity::Critical));
    assert_eq!(d.symptom, "reset-before-banner");
}

#[test]
fn the_servers_own_text_reorders_the_causes_of_a_close() {
    let ids = |text: &str| -> Vec<String> {
        diagnose(docs(), &severities(), classify(text).unwrap())
            .unwrap()
            .causes
            .into_iter()
            .map(|c| c.id)
            .collect()
    };
    let plain = ids(fixture!("closed.txt"));
    assert_eq!(plain[0], "maxstartups-exhausted");
    assert!(plain.len() > 3);
    assert_eq!(
        ids(fixture!("exceeded-maxstartups-vvv.log")),
        ["maxstartups-exhausted"]
    );
    assert_eq!(
        ids(fixture!("not-allowed-vvv.log")),
        ["per-source-penalty", "maxstartups-exhausted"]
    );
    assert_eq!(ids(fixture!("http-400-vvv.log"))[0], "lb-http-mode");
    assert_eq!(
        ids(fixture!("invalid-characters.txt"))[0],
        "port-wrong-service"
    );
}

#[test]
fn host_in_commands_is_quoted_and_placeholder_without_one() {
    let d = diagnose(
        docs(),
        &severities(),
        classify("kex_exchange_identification: read: Connection reset by peer").unwrap(),
    )
    .unwrap();
    assert_eq!(d.causes[0].confirm.plan, "sshfix plan -l HOST");
    let d = diagnose(
        docs(),
        &severities(),
        classify("debug1: Connecting to web$1 [10.0.0.1] port 22.\nkex_exchange_identification: read: Connection reset by peer").unwrap(),
    )
    .unwrap();
    assert_eq!(d.causes[0].confirm.plan, "sshfix plan -l 'web$1'");
    // HOST inside a by-hand command is replaced too, but not inside words
    assert_eq!(
        replace_host("nc -vz HOST 22; echo HOSTS", "web1"),
        "nc -vz web1 22; echo HOSTS"
    );
}

#[test]
fn unreachable_has_no_finding_but_says_where_to_look() {
    let d = diagnose(
        docs(),
        &severities(),
        classify(fixture!("unresolvable.txt")).unwrap(),
    )
    .unwrap();
    assert!(d.causes.is_empty());
    assert_eq!(d.target.host.as_deref(), Some("nosuchhost.invalid"));
    let out = render::diagnosis_human(&d, Look::PLAIN);
    assert!(out.contains("No sshfix finding explains this"), "{out}");
    assert!(out.contains("sshfix probe -l nosuchhost.invalid"), "{out}");
}

// ---- finding lookups ----

#[test]
fn unknown_ids_get_close_suggestions() {
    assert_eq!(docs().suggest("tcp-wrapper-deny"), ["tcp-wrappers-deny"]);
    assert_eq!(docs().suggest("maxstartups"), ["maxstartups-exhausted"]);
    assert_eq!(
        docs().suggest("firewall-block-ssh")[0],
        "firewall-blocks-ssh"
    );
    assert!(docs().suggest("zzzzzzzz").is_empty());
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("", "abc"), 3);
}

#[test]
fn a_finding_renders_every_part_plain_and_in_json() {
    let doc = docs().finding("tcp-wrappers-deny").unwrap();
    let out = render::finding_human(docs(), doc, Some(Severity::Critical), Look::PLAIN);
    for part in [
        "tcp-wrappers-deny (critical)",
        "Client sees: ",
        "Evidence: ",
        "Cause: ",
        "Proposed fix: ",
        "sshfix never: ",
        "Check by hand:",
        "tcpdmatch sshd",
    ] {
        assert!(out.contains(part), "missing {part:?} in\n{out}");
    }
    assert!(!out.contains("**"), "no Markdown bold in plain output");
    assert!(!out.contains('\x1b'), "no escape codes in plain output");
    for line in out.lines().filter(|l| !l.starts_with("    ")) {
        // prose wraps at 80; only an unbreakable code span may stick out
        assert!(
            line.chars().count() <= 80 || !line.contains(' ') || line.contains('`'),
            "{line}"
        );
    }
    let bold = render::finding_human(
        docs(),
        doc,
        None,
        Look {
            width: Some(60),
            bold: true,
        },
    );
    assert!(bold.contains("\x1b[1mexactly"), "bold on a terminal");
    let json = render::finding_json(docs(), doc, Some(Severity::Critical));
    assert_eq!(json["finding"]["id"], "tcp-wrappers-deny");
    assert_eq!(json["finding"]["severity"], "critical");
    assert!(json["finding"]["check"].as_array().unwrap().len() > 2);
    assert_eq!(
        json["finding"]["messages"][0]["class"],
        "reset-before-banner"
    );
    assert_eq!(json["finding"]["messages"][0]["rank"], 1);
}

#[test]
fn page_generation_needs_both_markers_and_known_severities() {
    let err = page::render("no markers", docs(), &severities()).unwrap_err();
    assert!(err.contains("<!-- generated: symptom table -->"), "{err}");
    let template = format!("{}\n{}\n", page::TABLE_MARKER, page::FINDINGS_MARKER);
    let err = page::render(&template, docs(), &HashMap::new()).unwrap_err();
    assert!(err.contains("not in the catalogue"), "{err}");
    let out = page::render(&template, docs(), &severities()).unwrap();
    assert!(out.contains("## `tcp-wrappers-deny` — critical"));
    assert!(out.contains("| `kex_exchange_identification: read: Connection reset by peer`<br>"));
}
