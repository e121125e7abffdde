//! The `haproxy` fix module (not written yet).

use serde_json::Value;

use super::{FixError, Host, Proposal};

/// Runs a `haproxy` fix task.
pub fn task(_host: &Host, _args: &Value, _finding: &str) -> Result<Proposal, FixError> {
    Err(FixError::new("the `haproxy` fix module is not written yet"))
}
