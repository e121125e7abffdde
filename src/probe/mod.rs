//! Outside-in probe: connect to a host's SSH port the way an OpenSSH client does
//! and classify what came back.
//!
//! STUB: the probe work fills this in; the types and signatures are the contract.

use std::time::Duration;

use serde::Serialize;

/// Where to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    /// Inventory name.
    pub host: String,
    /// Address or DNS name to connect to.
    pub address: String,
    pub port: u16,
}

/// Timeouts of one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeOptions {
    pub connect_timeout: Duration,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// What one probe saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeResult {
    pub host: String,
    pub address: String,
    pub port: u16,
    pub symptom: Symptom,
    /// The message an OpenSSH client would print, or the banner for `ok`.
    pub detail: String,
}

/// Probes every target, at most `forks` at once; results in target order.
pub async fn probe_all(
    targets: Vec<ProbeTarget>,
    forks: usize,
    options: ProbeOptions,
) -> Vec<ProbeResult> {
    let _ = (targets, forks, options);
    Vec::new()
}
