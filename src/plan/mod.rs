//! The plan: per host, how it was reached, what the probe saw, the findings,
//! and (with the fix modules) the proposed changes and actions. Pure data,
//! serialised as `interface.md`'s plan JSON (schema version 1).

use serde_json::{json, Value};

use crate::checks::Finding;
use crate::facts::gather::Gathered;
use crate::probe::ProbeResult;

/// The plan JSON schema version.
pub const VERSION: u32 = 1;

/// All hosts' plans.
#[derive(Debug, Clone)]
pub struct Plan {
    /// When the plan was made (RFC 3339, UTC).
    pub created: String,
    pub hosts: Vec<HostPlan>,
}

/// One host's part of the plan.
#[derive(Debug, Clone)]
pub struct HostPlan {
    pub host: String,
    /// `direct`, `jump`, `console`; `None` when no path worked.
    pub reached_via: Option<String>,
    /// Why the facts are missing (no path, or the script failed).
    pub error: Option<String>,
    pub probe: ProbeResult,
    pub findings: Vec<Finding>,
    /// Checks that could not be evaluated on this host (named, with the reason).
    pub check_errors: Vec<String>,
    /// Seconds spent reaching the host and gathering its facts.
    pub seconds: f64,
}

impl HostPlan {
    pub fn new(gathered: &Gathered, probe: &ProbeResult) -> HostPlan {
        HostPlan {
            host: gathered.host.clone(),
            reached_via: gathered.reached_via.map(|v| v.to_string()),
            error: gathered.outcome.as_ref().err().cloned(),
            probe: probe.clone(),
            findings: Vec::new(),
            check_errors: Vec::new(),
            seconds: gathered.seconds,
        }
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "host": self.host,
            "reached_via": self.reached_via,
            "probe": {
                "symptom": self.probe.symptom.as_str(),
                "detail": self.probe.detail,
            },
            "findings": self.findings,
            "changes": [],
            "actions": [],
        });
        if let Some(e) = &self.probe.evidence {
            v["probe"]["evidence"] = json!(e);
        }
        if let Some(e) = &self.error {
            v["error"] = json!(e);
        }
        if !self.check_errors.is_empty() {
            v["check_errors"] = json!(self.check_errors);
        }
        v
    }
}

impl Plan {
    pub fn new(created: String) -> Plan {
        Plan {
            created,
            hosts: Vec::new(),
        }
    }

    /// Whether applying the plan would change anything (`--detailed-exitcode`).
    pub fn has_changes(&self) -> bool {
        false
    }

    pub fn to_json(&self) -> Value {
        json!({
            "version": VERSION,
            "created": self.created,
            "hosts": self.hosts.iter().map(HostPlan::to_json).collect::<Vec<_>>(),
        })
    }
}
