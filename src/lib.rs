//! sshfix: repair SSH servers that fail before authentication.
//!
//! The crate is one pipeline, one direction (see `docs/architecture.md`):
//!
//! ```text
//! inventory ──► transport ──► facts ──► checks ──► plan ──► apply ──► report
//! ```
//!
//! - [`inventory`] parses Ansible inventories (pure, apart from reading files and
//!   running executable inventories) into hosts with merged variables, and
//!   [`inventory::vars`] turns those variables into typed [`inventory::vars::HostSettings`].
//! - [`transport`] reaches a host over a working path (`direct` ssh, `jump`,
//!   `console`, `local`) behind one small trait; [`transport::paths`] tries the
//!   paths in order and remembers which one worked.
//! - [`probe`] connects to each host's SSH port from the controller the way an
//!   OpenSSH client does and classifies what came back.
//! - [`report`] renders results for humans and machines.
//!
//! Only `transport` (and `probe`'s socket) touch the network; everything else is
//! pure and tested without one.

pub mod apply;
pub mod change;
pub mod checks;
pub mod cli;
pub mod error;
pub mod explain;
pub mod facts;
pub mod inventory;
pub mod modules;
pub mod pipeline;
pub mod plan;
pub mod probe;
pub mod report;
pub mod transport;
