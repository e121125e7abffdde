//! Probe results as a human table or JSON.
//!
//! STUB: the probe work fills this in.

use crate::probe::ProbeResult;

/// The human table.
pub fn render_human(results: &[ProbeResult]) -> String {
    let _ = results;
    String::new()
}

/// `{"version":1,"hosts":[...]}` for `--format json`.
pub fn to_json(results: &[ProbeResult]) -> serde_json::Value {
    serde_json::json!({"version": 1, "hosts": results})
}
