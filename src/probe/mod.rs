//! Outside-in probe: connect to a host's SSH port the way an OpenSSH client does
//! and classify what came back.
//!
//! Two halves: [`socket`] does the I/O and records an [`classify::Observation`]
//! (connect outcome, bytes received, how reading ended, timings);
//! [`classify`] turns that into a [`Symptom`], OpenSSH's message and the
//! evidence, without any I/O. Its module documentation lists the rules.
//! [`probe_all`] runs many probes at once, at most `forks` in flight, each
//! bounded by the [`ProbeOptions`] timeouts, so one hanging host never stalls
//! the others.

pub mod classify;
pub mod socket;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use classify::{Connect, Observation};

/// Where to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    /// Inventory name.
    pub host: String,
    /// Address or DNS name to connect to.
    pub address: String,
    pub port: u16,
}

impl ProbeTarget {
    /// The inventory host's address and SSH port, as the probe dials them.
    pub fn of(host: &crate::inventory::vars::HostSettings) -> ProbeTarget {
        ProbeTarget {
            host: host.name.clone(),
            address: host.address.clone(),
            port: host.ssh_port(),
        }
    }
}

/// Timeouts of one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeOptions {
    /// For name resolution, and for each address tried.
    pub connect_timeout: Duration,
    /// From the connection until the identification line has arrived.
    pub banner_timeout: Duration,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            connect_timeout: Duration::from_secs(5),
            banner_timeout: Duration::from_secs(10),
        }
    }
}

/// The classes of `interface.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Symptom {
    Ok,
    Refused,
    ConnectTimeout,
    ResetBeforeBanner,
    ClosedBeforeBanner,
    BannerTimeout,
    NotSsh,
    Unreachable,
}

impl Symptom {
    /// Every symptom, in the order summaries list them.
    pub const ALL: [Symptom; 8] = [
        Symptom::Ok,
        Symptom::Refused,
        Symptom::ConnectTimeout,
        Symptom::ResetBeforeBanner,
        Symptom::ClosedBeforeBanner,
        Symptom::BannerTimeout,
        Symptom::NotSsh,
        Symptom::Unreachable,
    ];

    /// The kebab-case name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Symptom::Ok => "ok",
            Symptom::Refused => "refused",
            Symptom::ConnectTimeout => "connect-timeout",
            Symptom::ResetBeforeBanner => "reset-before-banner",
            Symptom::ClosedBeforeBanner => "closed-before-banner",
            Symptom::BannerTimeout => "banner-timeout",
            Symptom::NotSsh => "not-ssh",
            Symptom::Unreachable => "unreachable",
        }
    }
}

impl fmt::Display for Symptom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long the steps of one probe took, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Timings {
    /// Start of the probe until TCP was established or given up (name
    /// resolution included).
    pub connect_ms: u64,
    /// TCP established until the first byte arrived; `None` if none did.
    pub first_byte_ms: Option<u64>,
    /// The whole probe.
    pub total_ms: u64,
}

/// What one probe saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeResult {
    pub host: String,
    pub address: String,
    pub port: u16,
    pub symptom: Symptom,
    /// The message an OpenSSH client would print, or the banner for `ok`.
    pub detail: String,
    /// Bytes the server sent (escaped, at most 256), or, when several
    /// addresses failed to connect, each attempt.
    pub evidence: Option<String>,
    /// The server's identification line (escaped).
    pub banner: Option<String>,
    /// The `ip:port` actually connected to.
    pub peer: Option<String>,
    pub timings: Timings,
}

impl ProbeResult {
    /// Classifies an observation of `target` (pure).
    pub fn from_observation(target: &ProbeTarget, obs: &Observation) -> ProbeResult {
        let verdict = classify::classify(obs);
        let peer = match &obs.connect {
            Connect::Connected { peer, .. } => Some(peer.to_string()),
            _ => None,
        };
        ProbeResult {
            host: target.host.clone(),
            address: target.address.clone(),
            port: target.port,
            symptom: verdict.symptom,
            detail: verdict.detail,
            evidence: verdict.evidence,
            banner: verdict.banner,
            peer,
            timings: Timings {
                connect_ms: millis(obs.connect_time),
                first_byte_ms: obs.first_byte.map(millis),
                total_ms: millis(obs.total),
            },
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Probes one target.
pub async fn probe(target: &ProbeTarget, options: ProbeOptions) -> ProbeResult {
    let obs = socket::observe(target, options).await;
    ProbeResult::from_observation(target, &obs)
}

/// Probes every target, at most `forks` at once; results in target order.
pub async fn probe_all(
    targets: Vec<ProbeTarget>,
    forks: usize,
    options: ProbeOptions,
) -> Vec<ProbeResult> {
    let permits = Arc::new(Semaphore::new(forks.max(1)));
    let mut tasks = JoinSet::new();
    let mut index_of = HashMap::new();
    for (index, target) in targets.iter().cloned().enumerate() {
        let permits = Arc::clone(&permits);
        let handle = tasks.spawn(async move {
            // The semaphore is never closed, so this always gets a permit.
            let _permit = permits.acquire_owned().await.ok();
            probe(&target, options).await
        });
        index_of.insert(handle.id(), index);
    }
    let mut results: Vec<Option<ProbeResult>> = vec![None; targets.len()];
    while let Some(joined) = tasks.join_next_with_id().await {
        match joined {
            Ok((id, result)) => results[index_of[&id]] = Some(result),
            Err(error) => {
                let index = index_of[&error.id()];
                results[index] = Some(internal_error(&targets[index], &error.to_string()));
            }
        }
    }
    results
        .into_iter()
        .zip(&targets)
        .map(|(result, target)| {
            result.unwrap_or_else(|| internal_error(target, "the probe did not finish"))
        })
        .collect()
}

/// A probe that failed inside sshfix (a panic): reported, never hidden.
fn internal_error(target: &ProbeTarget, message: &str) -> ProbeResult {
    ProbeResult {
        host: target.host.clone(),
        address: target.address.clone(),
        port: target.port,
        symptom: Symptom::Unreachable,
        detail: format!("sshfix: internal error while probing: {message}"),
        evidence: None,
        banner: None,
        peer: None,
        timings: Timings::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::socket::tests::{serve, target, Behaviour};
    use super::*;
    use tokio::time::Instant;

    #[test]
    fn symptom_names_match_serde() {
        for symptom in Symptom::ALL {
            assert_eq!(
                serde_json::to_value(symptom).unwrap(),
                serde_json::Value::from(symptom.as_str())
            );
        }
    }

    #[tokio::test]
    async fn probe_all_keeps_order_and_bounds_hanging_hosts() {
        let banner_timeout = Duration::from_millis(1000);
        let ok = serve(Behaviour::Greet(b"SSH-2.0-OpenSSH_9.2p1\r\n")).await;
        let silent = serve(Behaviour::Silent).await;
        let reset = serve(Behaviour::ResetAfterClientData).await;
        // 20 targets: 8 ok, 4 reset, 8 silent until the banner timeout.
        let targets: Vec<ProbeTarget> = (0..20)
            .map(|i| {
                let port = match i % 5 {
                    0 | 3 => ok,
                    4 => reset,
                    _ => silent,
                };
                target(&format!("host{i:02}"), "127.0.0.1", port)
            })
            .collect();
        let hanging = targets.iter().filter(|t| t.port == silent).count();
        assert_eq!(hanging, 8);
        let options = ProbeOptions {
            connect_timeout: Duration::from_secs(2),
            banner_timeout,
        };
        let start = Instant::now();
        let results = probe_all(targets.clone(), 4, options).await;
        let elapsed = start.elapsed();

        let names: Vec<&str> = results.iter().map(|r| r.host.as_str()).collect();
        let expected: Vec<String> = (0..20).map(|i| format!("host{i:02}")).collect();
        assert_eq!(names, expected);
        for (result, target) in results.iter().zip(&targets) {
            let want = if target.port == ok {
                Symptom::Ok
            } else if target.port == reset {
                Symptom::ResetBeforeBanner
            } else {
                Symptom::BannerTimeout
            };
            assert_eq!(result.symptom, want, "{result:?}");
            assert_eq!(result.port, target.port);
        }
        // At most 4 in flight: 8 hanging probes need at least 2 rounds of the
        // banner timeout; in parallel they need far less than 8 in a row.
        assert!(elapsed >= banner_timeout * 2, "{elapsed:?}");
        assert!(elapsed < banner_timeout * 6, "{elapsed:?}");
    }

    #[tokio::test]
    async fn probe_all_with_nothing_to_do() {
        assert!(probe_all(Vec::new(), 4, ProbeOptions::default())
            .await
            .is_empty());
    }

    #[test]
    fn result_from_observation_carries_peer_and_timings() {
        let obs = Observation {
            address: "web1".to_string(),
            port: 2222,
            connect: Connect::Connected {
                peer: "192.0.2.1:2222".parse().unwrap(),
                exchange: classify::Exchange {
                    received: b"SSH-2.0-OpenSSH_9.2p1\r\n".to_vec(),
                    end: classify::ExchangeEnd::Decided,
                },
            },
            connect_time: Duration::from_micros(1_500),
            first_byte: Some(Duration::from_millis(12)),
            total: Duration::from_millis(14),
        };
        let result = ProbeResult::from_observation(&target("web1", "web1", 2222), &obs);
        assert_eq!(result.symptom, Symptom::Ok);
        assert_eq!(result.peer.as_deref(), Some("192.0.2.1:2222"));
        assert_eq!(result.banner.as_deref(), Some("SSH-2.0-OpenSSH_9.2p1"));
        assert_eq!(
            result.timings,
            Timings {
                connect_ms: 1,
                first_byte_ms: Some(12),
                total_ms: 14
            }
        );
    }
}
