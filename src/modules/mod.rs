//! Fix modules: pure functions from facts and arguments to proposed edits and
//! actions (`crate::change`), never executing anything. Groundwork for the plan
//! issue (#4): not yet called by `plan`.

pub mod hosts_access;
pub mod sshd_config;
