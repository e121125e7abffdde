//! Probe results as a human table or JSON.
//!
//! The table has one row per host in target order — HOST, ADDRESS
//! (`address:port`), SYMPTOM, TIME (whole probe), DETAIL (OpenSSH's message,
//! plus the bytes the server sent or the addresses tried) — with column widths
//! computed from the data, then a one-line summary. No colour, no trailing
//! spaces.

use crate::probe::{ProbeResult, Symptom};

use super::Align;

const HEADERS: [&str; 5] = ["HOST", "ADDRESS", "SYMPTOM", "TIME", "DETAIL"];
const ALIGN: [Align; 5] = [
    Align::Left,
    Align::Left,
    Align::Left,
    Align::Right,
    Align::Left,
];

/// The human table.
pub fn render_human(results: &[ProbeResult]) -> String {
    let rows: Vec<[String; 5]> = results
        .iter()
        .map(|r| {
            [
                r.host.clone(),
                host_port(&r.address, r.port),
                r.symptom.to_string(),
                seconds(r.timings.total_ms),
                detail(r),
            ]
        })
        .collect();
    let mut out = String::new();
    if !rows.is_empty() {
        for line in super::table_lines(HEADERS, ALIGN, &rows) {
            out.push_str(&line);
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&summary(results));
    out.push('\n');
    out
}

/// `5 hosts: 3 ok, 1 reset-before-banner, 1 not-ssh`.
pub fn summary(results: &[ProbeResult]) -> String {
    let noun = if results.len() == 1 { "host" } else { "hosts" };
    let counts: Vec<String> = Symptom::ALL
        .iter()
        .filter_map(|&symptom| {
            let n = results.iter().filter(|r| r.symptom == symptom).count();
            (n > 0).then(|| format!("{n} {symptom}"))
        })
        .collect();
    if counts.is_empty() {
        format!("{} {noun}", results.len())
    } else {
        format!("{} {noun}: {}", results.len(), counts.join(", "))
    }
}

/// `address:port`, with brackets around an IPv6 address.
fn host_port(address: &str, port: u16) -> String {
    if address.contains(':') && !address.starts_with('[') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}

/// Milliseconds as seconds with two decimals, rounded, right-aligned in 6
/// columns (` 5.01s`, `10.00s`), so the column keeps its width whether or
/// not some host took 10 s or more.
fn seconds(ms: u64) -> String {
    let centis = ms.saturating_add(5) / 10;
    format!("{:>6}", format!("{}.{:02}s", centis / 100, centis % 100))
}

fn detail(r: &ProbeResult) -> String {
    match (&r.evidence, r.symptom) {
        (None, _) | (Some(_), Symptom::Ok) => r.detail.clone(),
        // Bytes the server sent.
        (Some(evidence), _) if r.peer.is_some() => format!("{} (got \"{evidence}\")", r.detail),
        // Several addresses failed to connect.
        (Some(evidence), _) => format!("{} (tried {evidence})", r.detail),
    }
}

/// `{"version":1,"hosts":[...]}` for `--format json`.
pub fn to_json(results: &[ProbeResult]) -> serde_json::Value {
    serde_json::json!({"version": 1, "hosts": results})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Timings;
    use pretty_assertions::assert_eq;

    fn result(
        host: &str,
        address: &str,
        symptom: Symptom,
        detail: &str,
        evidence: Option<&str>,
        peer: Option<&str>,
        total_ms: u64,
    ) -> ProbeResult {
        ProbeResult {
            host: host.to_string(),
            address: address.to_string(),
            port: 22,
            symptom,
            detail: detail.to_string(),
            evidence: evidence.map(str::to_string),
            banner: (symptom == Symptom::Ok).then(|| detail.to_string()),
            peer: peer.map(str::to_string),
            timings: Timings {
                connect_ms: 1,
                first_byte_ms: (symptom == Symptom::Ok).then_some(3),
                total_ms,
            },
        }
    }

    fn fleet() -> Vec<ProbeResult> {
        vec![
            result(
                "web1",
                "10.0.0.11",
                Symptom::Ok,
                "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
                None,
                Some("10.0.0.11:22"),
                4,
            ),
            result(
                "web2",
                "10.0.0.12",
                Symptom::ResetBeforeBanner,
                "kex_exchange_identification: read: Connection reset by peer",
                None,
                Some("10.0.0.12:22"),
                5_006,
            ),
            result(
                "db1",
                "db1.example",
                Symptom::ClosedBeforeBanner,
                "kex_exchange_identification: Connection closed by remote host",
                Some("Exceeded MaxStartups\\r\\n"),
                Some("10.0.0.21:22"),
                2,
            ),
            result(
                "lb",
                "fd00::1",
                Symptom::NotSsh,
                "kex_exchange_identification: Connection closed by remote host",
                Some("HTTP/1.1 400 Bad Request\\r\\n"),
                Some("[fd00::1]:22"),
                12,
            ),
            result(
                "gone",
                "gone.example",
                Symptom::Refused,
                "ssh: connect to host gone.example port 22: Connection refused",
                Some("10.0.0.31:22: No route to host; 10.0.0.32:22: Connection refused"),
                None,
                10_000,
            ),
        ]
    }

    #[test]
    fn human_table() {
        let expected = "\
HOST  ADDRESS          SYMPTOM                 TIME  DETAIL
web1  10.0.0.11:22     ok                     0.00s  SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3
web2  10.0.0.12:22     reset-before-banner    5.01s  kex_exchange_identification: read: Connection reset by peer
db1   db1.example:22   closed-before-banner   0.00s  kex_exchange_identification: Connection closed by remote host (got \"Exceeded MaxStartups\\r\\n\")
lb    [fd00::1]:22     not-ssh                0.01s  kex_exchange_identification: Connection closed by remote host (got \"HTTP/1.1 400 Bad Request\\r\\n\")
gone  gone.example:22  refused               10.00s  ssh: connect to host gone.example port 22: Connection refused (tried 10.0.0.31:22: No route to host; 10.0.0.32:22: Connection refused)

5 hosts: 1 ok, 1 refused, 1 reset-before-banner, 1 closed-before-banner, 1 not-ssh
";
        assert_eq!(render_human(&fleet()), expected);
    }

    #[test]
    fn human_table_without_hosts_and_with_one() {
        assert_eq!(render_human(&[]), "0 hosts\n");
        let one = &fleet()[..1];
        assert_eq!(
            render_human(one),
            "\
HOST  ADDRESS       SYMPTOM    TIME  DETAIL
web1  10.0.0.11:22  ok        0.00s  SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3

1 host: 1 ok
"
        );
    }

    #[test]
    fn seconds_round_to_hundredths() {
        assert_eq!(seconds(0), " 0.00s");
        assert_eq!(seconds(4), " 0.00s");
        assert_eq!(seconds(5), " 0.01s");
        assert_eq!(seconds(5_006), " 5.01s");
        assert_eq!(seconds(61_999), "62.00s");
        // the width holds up to 99.99 s, beyond any banner timeout in use
        assert_eq!(seconds(99_994).len(), 6);
    }

    #[test]
    fn json() {
        let results = &fleet()[..3];
        let expected = serde_json::json!({
            "version": 1,
            "hosts": [
                {
                    "host": "web1",
                    "address": "10.0.0.11",
                    "port": 22,
                    "symptom": "ok",
                    "detail": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
                    "evidence": null,
                    "banner": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
                    "peer": "10.0.0.11:22",
                    "timings": {"connect_ms": 1, "first_byte_ms": 3, "total_ms": 4}
                },
                {
                    "host": "web2",
                    "address": "10.0.0.12",
                    "port": 22,
                    "symptom": "reset-before-banner",
                    "detail": "kex_exchange_identification: read: Connection reset by peer",
                    "evidence": null,
                    "banner": null,
                    "peer": "10.0.0.12:22",
                    "timings": {"connect_ms": 1, "first_byte_ms": null, "total_ms": 5006}
                },
                {
                    "host": "db1",
                    "address": "db1.example",
                    "port": 22,
                    "symptom": "closed-before-banner",
                    "detail": "kex_exchange_identification: Connection closed by remote host",
                    "evidence": "Exceeded MaxStartups\\r\\n",
                    "banner": null,
                    "peer": "10.0.0.21:22",
                    "timings": {"connect_ms": 1, "first_byte_ms": null, "total_ms": 2}
                }
            ]
        });
        let value = to_json(results);
        assert_eq!(value, expected);
        // Key order is part of the output people read.
        let text = serde_json::to_string(&value["hosts"][0]).unwrap();
        assert_eq!(
            text,
            r#"{"host":"web1","address":"10.0.0.11","port":22,"symptom":"ok","detail":"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3","evidence":null,"banner":"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3","peer":"10.0.0.11:22","timings":{"connect_ms":1,"first_byte_ms":3,"total_ms":4}}"#
        );
    }
}
