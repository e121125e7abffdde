//! Facts: what one remote script run tells about a host, parsed on the controller.
//!
//! The script (`script.sh`, built by [`script`]) runs once per host over the
//! working path and prints raw material in frames ([`frame`]); every other
//! module here is a pure parser of one kind of raw material, tested with output
//! captured from the real commands (`tests/fixtures/facts/`).

/// A line of command output a parser could not read (kept, with its number,
/// so that nothing the host printed is silently dropped).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnparsedLine {
    /// 1-based line number.
    pub line: usize,
    /// The line as it was.
    pub text: String,
}

pub mod files;
pub mod firewall;
pub mod frame;
pub mod gather;
pub mod haproxy;
pub mod hosts_access;
pub mod inetd;
pub mod iptables;
pub mod kernel;
pub mod logs;
pub mod model;
pub mod nft;
pub mod procs;
pub mod script;
pub mod security;
pub mod ss;
pub mod sshd;
pub mod sshd_config;
