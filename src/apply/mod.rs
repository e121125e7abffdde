//! `sshfix apply` and `sshfix rollback`: carry out a plan on each host over its
//! working path — lock, stale check, backups, validated candidates installed
//! atomically, a dead-man timer on the host, service actions, verification of
//! the broken path from the controller, and revert on any failure — and
//! journal the run in the state directory.

pub mod journal;
pub mod outcome;
