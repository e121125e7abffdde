//! A saved plan (`sshfix plan --out FILE`) read back for `apply --plan FILE`,
//! and the in-memory plan of a fresh `apply` turned into the same types, so
//! that `apply` has one input. Reading is strict: a plan with anything wrong
//! (a hand-edited content whose hash no longer matches, an unsafe path, an
//! unknown validator) is refused whole, so nothing is applied from it.

use std::collections::HashSet;
use std::path::Path;

use serde_json::{Map, Value};

use super::{HostPlan, Plan, VERSION};
use crate::change::{sha256_hex, Action, Op, Validator};

/// One file the plan replaces on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Absolute path on the host (no `..`, NUL or newline).
    pub path: String,
    /// The hash the file must have before it is replaced; `None`: it must
    /// not exist.
    pub before_sha256: Option<String>,
    /// The complete new content.
    pub after: Vec<u8>,
    /// sha256 of `after` (checked against it on load).
    pub after_sha256: String,
    pub validator: Validator,
    /// The finding(s) it fixes (several joined by `, `).
    pub finding: String,
    pub reason: String,
}

/// One host's part of a plan, as `apply` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostWork {
    pub host: String,
    /// `direct`, `jump`, `console`; `None` when the plan reached no path.
    pub reached_via: Option<String>,
    /// Why the plan has no facts for the host.
    pub error: Option<String>,
    /// The probe's symptom when the plan was made (`reset-before-banner`).
    pub symptom: String,
    /// The ids of all findings on the host, in plan order.
    pub findings: Vec<String>,
    pub changes: Vec<FileChange>,
    /// In the order `apply` takes them.
    pub actions: Vec<Action>,
}

/// A whole plan, as `apply` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedPlan {
    /// When the plan was made (RFC 3339).
    pub created: String,
    pub hosts: Vec<HostWork>,
}

/// Why a plan file cannot be used. Displays the file, the place in it and
/// what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the plan file `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// `origin: [at: ]problem`.
    #[error("{origin}: {}{problem}", at.as_deref().map(|a| format!("{a}: ")).unwrap_or_default())]
    Invalid {
        /// The file (or where the bytes came from).
        origin: String,
        /// `host `h4`, change 1 (/etc/hosts.allow)`; `None` at the top level.
        at: Option<String>,
        /// What is wrong, and what to do.
        problem: String,
    },
}

/// What to do about a damaged plan, appended to most problems.
const REMAKE: &str = "make a new plan with `sshfix plan --out FILE`";

/// Reads and checks a saved plan file.
pub fn load(path: &Path) -> Result<SavedPlan, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&bytes, &path.display().to_string())
}

/// Checks a saved plan's bytes; `origin` names them in errors (the file name).
pub fn parse(bytes: &[u8], origin: &str) -> Result<SavedPlan, LoadError> {
    let top = Ctx { origin, at: None };
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| top.err(format!("not a plan file: it is not valid JSON ({e})")))?;
    let obj = v.as_object().ok_or_else(|| {
        top.err(format!(
            "not a plan file: the top level is not a JSON object; {REMAKE}"
        ))
    })?;
    match obj.get("version") {
        None => {
            return Err(top.err(format!(
                "not a plan file: `version` is missing (this sshfix reads plan files of version {VERSION})"
            )))
        }
        Some(Value::Number(n)) if n.as_u64() == Some(u64::from(VERSION)) => {}
        Some(other) => {
            return Err(top.err(format!(
                "plan file version {other} is not supported: this sshfix reads version {VERSION} only; make the plan again with this sshfix (`sshfix plan --out FILE`)"
            )))
        }
    }
    let created = top.string(obj, "created")?;
    let hosts_v = top.array(obj, "hosts")?;
    let mut hosts = Vec::with_capacity(hosts_v.len());
    let mut seen = HashSet::new();
    for (i, hv) in hosts_v.iter().enumerate() {
        let h = parse_host(origin, i, hv)?;
        if !seen.insert(h.host.clone()) {
            return Err(top.err(format!(
                "host `{}` appears twice; a plan has one entry per host; {REMAKE}",
                h.host
            )));
        }
        hosts.push(h);
    }
    Ok(SavedPlan { created, hosts })
}

/// Where in the plan a check is made, for the error.
struct Ctx<'a> {
    origin: &'a str,
    at: Option<String>,
}

impl Ctx<'_> {
    fn err(&self, problem: String) -> LoadError {
        LoadError::Invalid {
            origin: self.origin.to_string(),
            at: self.at.clone(),
            problem,
        }
    }

    fn field<'v>(&self, obj: &'v Map<String, Value>, key: &str) -> Result<&'v Value, LoadError> {
        obj.get(key)
            .ok_or_else(|| self.err(format!("`{key}` is missing; {REMAKE}")))
    }

    fn mistyped(&self, key: &str, want: &str, got: &Value) -> LoadError {
        self.err(format!(
            "`{key}` must be {want}, not {}; {REMAKE}",
            type_name(got)
        ))
    }

    fn string(&self, obj: &Map<String, Value>, key: &str) -> Result<String, LoadError> {
        match self.field(obj, key)? {
            Value::String(s) => Ok(s.clone()),
            other => Err(self.mistyped(key, "a string", other)),
        }
    }

    /// A key that must be present, as a string or `null`.
    fn string_or_null(
        &self,
        obj: &Map<String, Value>,
        key: &str,
    ) -> Result<Option<String>, LoadError> {
        match self.field(obj, key)? {
            Value::String(s) => Ok(Some(s.clone())),
            Value::Null => Ok(None),
            other => Err(self.mistyped(key, "a string or null", other)),
        }
    }

    /// A key that may be absent, else a string or `null`.
    fn optional_string(
        &self,
        obj: &Map<String, Value>,
        key: &str,
    ) -> Result<Option<String>, LoadError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.mistyped(key, "a string", other)),
        }
    }

    fn array<'v>(
        &self,
        obj: &'v Map<String, Value>,
        key: &str,
    ) -> Result<&'v Vec<Value>, LoadError> {
        match self.field(obj, key)? {
            Value::Array(a) => Ok(a),
            other => Err(self.mistyped(key, "an array", other)),
        }
    }

    fn object<'v>(&self, v: &'v Value, what: &str) -> Result<&'v Map<String, Value>, LoadError> {
        v.as_object().ok_or_else(|| {
            self.err(format!(
                "{what} must be a JSON object, not {}; {REMAKE}",
                type_name(v)
            ))
        })
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_host(origin: &str, index: usize, hv: &Value) -> Result<HostWork, LoadError> {
    let mut ctx = Ctx {
        origin,
        at: Some(format!("host {}", index + 1)),
    };
    let obj = ctx.object(hv, "the entry")?;
    let host = ctx.string(obj, "host")?;
    if host.is_empty() {
        return Err(ctx.err(format!("`host` is empty; {REMAKE}")));
    }
    ctx.at = Some(format!("host `{host}`"));
    let reached_via = ctx.string_or_null(obj, "reached_via")?;
    let error = ctx.optional_string(obj, "error")?;
    let probe = ctx.object(ctx.field(obj, "probe")?, "`probe`")?;
    let symptom = ctx.string(probe, "symptom").map_err(|_| {
        ctx.err(format!(
            "`probe.symptom` is missing or not a string; {REMAKE}"
        ))
    })?;
    let mut findings = Vec::new();
    for (i, f) in ctx.array(obj, "findings")?.iter().enumerate() {
        let fctx = Ctx {
            origin,
            at: Some(format!("host `{host}`, finding {}", i + 1)),
        };
        let fo = fctx.object(f, "the entry")?;
        findings.push(fctx.string(fo, "id")?);
    }
    let mut changes: Vec<FileChange> = Vec::new();
    for (i, c) in ctx.array(obj, "changes")?.iter().enumerate() {
        let change = parse_change(origin, &host, i, c)?;
        if changes.iter().any(|have| have.path == change.path) {
            return Err(ctx.err(format!(
                "`{}` is changed twice; a plan has one change per file; {REMAKE}",
                change.path
            )));
        }
        changes.push(change);
    }
    let mut actions = Vec::new();
    for (i, a) in ctx.array(obj, "actions")?.iter().enumerate() {
        let actx = Ctx {
            origin,
            at: Some(format!("host `{host}`, action {}", i + 1)),
        };
        let action: Action = serde_json::from_value(a.clone())
            .map_err(|e| actx.err(format!("not a valid action ({e}); {REMAKE}")))?;
        match &action.op {
            Op::File { path, .. } => check_path(&actx, "path", path)?,
            Op::Command {
                creates: Some(c), ..
            } => check_path(&actx, "creates", c)?,
            _ => {}
        }
        actions.push(action);
    }
    Ok(HostWork {
        host,
        reached_via,
        error,
        symptom,
        findings,
        changes,
        actions,
    })
}

fn parse_change(
    origin: &str,
    host: &str,
    index: usize,
    cv: &Value,
) -> Result<FileChange, LoadError> {
    let mut ctx = Ctx {
        origin,
        at: Some(format!("host `{host}`, change {}", index + 1)),
    };
    let obj = ctx.object(cv, "the entry")?;
    let path = ctx.string(obj, "path")?;
    check_path(&ctx, "path", &path)?;
    ctx.at = Some(format!("host `{host}`, change {} ({path})", index + 1));
    let before_sha256 = ctx.string_or_null(obj, "before_sha256")?;
    if let Some(h) = &before_sha256 {
        check_sha(&ctx, "before_sha256", h)?;
    }
    let after_sha256 = ctx.string(obj, "after_sha256")?;
    check_sha(&ctx, "after_sha256", &after_sha256)?;
    let after = match (obj.get("after"), obj.get("after_hex")) {
        (Some(_), Some(_)) => {
            return Err(ctx.err(format!(
                "has both `after` and `after_hex`; a change has exactly one of them; {REMAKE}"
            )))
        }
        (None, None) => {
            return Err(ctx.err(format!(
                "has neither `after` nor `after_hex` (the new content); {REMAKE}"
            )))
        }
        (Some(Value::String(s)), None) => s.as_bytes().to_vec(),
        (Some(other), None) => return Err(ctx.mistyped("after", "a string", other)),
        (None, Some(Value::String(h))) => hex::decode(h)
            .map_err(|e| ctx.err(format!("`after_hex` is not hexadecimal ({e}); {REMAKE}")))?,
        (None, Some(other)) => return Err(ctx.mistyped("after_hex", "a string", other)),
    };
    if sha256_hex(&after) != after_sha256 {
        return Err(ctx.err(
            "`after_sha256` does not match the content — the plan was edited by hand; make a new one with `sshfix plan --out`".to_string(),
        ));
    }
    let validator: Validator = serde_json::from_value(ctx.field(obj, "validator")?.clone())
        .map_err(|e| ctx.err(format!("`validator` is not valid ({e}); {REMAKE}")))?;
    if let Some(want) = required_validator(&path) {
        if validator_kind(&validator) != want {
            return Err(ctx.err(format!(
                "`validator` is `{}`, but {path} must be checked by `{want}` before it is installed; {REMAKE}",
                validator_kind(&validator)
            )));
        }
    }
    if let Validator::SshdConfig { config, .. } = &validator {
        check_path(&ctx, "validator.config", config)?;
    }
    let finding = ctx.string(obj, "finding")?;
    let reason = ctx.string(obj, "reason")?;
    Ok(FileChange {
        path,
        before_sha256,
        after,
        after_sha256,
        validator,
        finding,
        reason,
    })
}

/// An absolute path with no NUL, line break or `..` component.
fn check_path(ctx: &Ctx, key: &str, path: &str) -> Result<(), LoadError> {
    let problem = if !path.starts_with('/') {
        Some("is not an absolute path")
    } else if path.contains('\0') {
        Some("contains a NUL byte")
    } else if path.contains(['\n', '\r']) {
        Some("contains a line break")
    } else if path.split('/').any(|c| c == "..") {
        Some("contains a `..` component")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(p) => Err(ctx.err(format!(
            "`{key}` {:?} {p}; sshfix never writes such a path — the plan was edited by hand; {REMAKE}",
            path
        ))),
    }
}

/// 64 lowercase hex digits.
fn check_sha(ctx: &Ctx, key: &str, h: &str) -> Result<(), LoadError> {
    if h.len() == 64
        && h.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(ctx.err(format!(
            "`{key}` {h:?} is not a sha256 (64 lowercase hex digits); {REMAKE}"
        )))
    }
}

impl FileChange {
    fn from_edit(e: &crate::change::Edit) -> FileChange {
        FileChange {
            path: e.path.clone(),
            before_sha256: e.before_sha256.clone(),
            after: e.after.clone(),
            after_sha256: sha256_hex(&e.after),
            validator: e.validator.clone(),
            finding: e.finding.clone(),
            reason: e.reason.clone(),
        }
    }
}

impl HostWork {
    /// The host's part of an in-memory plan (a fresh `apply`).
    pub fn from_plan(hp: &HostPlan) -> HostWork {
        HostWork {
            host: hp.host.clone(),
            reached_via: hp.reached_via.clone(),
            error: hp.error.clone(),
            symptom: hp.probe.symptom.as_str().to_string(),
            findings: hp.findings.iter().map(|f| f.id.clone()).collect(),
            changes: hp.changes.iter().map(FileChange::from_edit).collect(),
            actions: hp.actions.clone(),
        }
    }

    /// Whether the plan changes anything on the host.
    pub fn has_work(&self) -> bool {
        !self.changes.is_empty() || !self.actions.is_empty()
    }

    /// The finding ids some change or action names (their `finding` may
    /// join several with `, `), each once: in the order of the host's
    /// findings, then any id the findings do not list, in the order the
    /// changes and actions name it.
    pub fn findings_fixed(&self) -> Vec<String> {
        let named: Vec<&str> = self
            .changes
            .iter()
            .map(|c| c.finding.as_str())
            .chain(self.actions.iter().map(|a| a.finding.as_str()))
            .flat_map(|f| f.split(", "))
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .collect();
        let mut out: Vec<String> = Vec::new();
        let ordered = self
            .findings
            .iter()
            .map(String::as_str)
            .filter(|id| named.contains(id))
            .chain(named.iter().copied());
        for id in ordered {
            if !out.iter().any(|have| have == id) {
                out.push(id.to_string());
            }
        }
        out
    }
}

impl SavedPlan {
    /// An in-memory plan (a fresh `apply` without `--plan`) as `apply`'s input.
    pub fn from_plan(p: &Plan) -> SavedPlan {
        SavedPlan {
            created: p.created.clone(),
            hosts: p.hosts.iter().map(HostWork::from_plan).collect(),
        }
    }
}

/// The validator a file the tool knows must have, whatever the plan says: a
/// hand-edited plan cannot skip `sshd -t` for an sshd configuration file.
pub fn required_validator(path: &str) -> Option<&'static str> {
    let ssh = path == "/etc/ssh/sshd_config" || path.starts_with("/etc/ssh/sshd_config.d/");
    if ssh {
        Some("sshd-config")
    } else if path == "/etc/nftables.conf" {
        Some("nft")
    } else if path == "/etc/haproxy/haproxy.cfg" {
        Some("haproxy")
    } else if path == "/etc/iptables/rules.v4" || path == "/etc/iptables/rules.v6" {
        Some("iptables-restore")
    } else {
        None
    }
}

fn validator_kind(v: &Validator) -> &'static str {
    match v {
        Validator::SshdConfig { .. } => "sshd-config",
        Validator::Nft => "nft",
        Validator::Haproxy => "haproxy",
        Validator::IptablesRestore { .. } => "iptables-restore",
        Validator::None => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{Edit, FileState};
    use crate::checks::{Finding, Fix, Severity, Source};
    use crate::plan::NeedsHuman;
    use crate::probe::{ProbeResult, Symptom, Timings};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn finding(id: &str) -> Finding {
        Finding {
            id: id.into(),
            severity: Severity::Critical,
            summary: format!("{id} summary"),
            evidence: vec![format!("{id} evidence")],
            source: Source {
                file: "builtin".into(),
                line: 1,
                column: 1,
            },
            fix: Fix::None,
        }
    }

    fn host_plan(name: &str) -> HostPlan {
        HostPlan {
            host: name.into(),
            reached_via: Some("jump".into()),
            error: None,
            probe: ProbeResult {
                host: name.into(),
                address: "10.77.1.4".into(),
                port: 22,
                symptom: Symptom::ResetBeforeBanner,
                detail: "kex_exchange_identification: read: Connection reset by peer".into(),
                evidence: None,
                banner: None,
                peer: Some("10.77.1.4:22".into()),
                timings: Timings::default(),
            },
            findings: vec![
                finding("tcp-wrappers-deny"),
                finding("maxstartups-exhausted"),
                finding("port-wrong-service"),
            ],
            check_errors: vec![],
            changes: vec![
                Edit::new(
                    "/etc/hosts.allow",
                    Some(b"# allow\n"),
                    b"# allow\nsshd: 10.77.0.1\n".to_vec(),
                    Validator::None,
                    "tcp-wrappers-deny",
                    "allow the controller",
                ),
                Edit::new(
                    "/etc/ssh/sshd_config",
                    Some(b"MaxStartups 1\n"),
                    b"MaxStartups 100:30:200\n".to_vec(),
                    Validator::SshdConfig {
                        config: "/etc/ssh/sshd_config".into(),
                        expect: vec![("maxstartups".into(), "100:30:200".into())],
                    },
                    "maxstartups-exhausted",
                    "raise MaxStartups",
                ),
                // not UTF-8, and a new file
                Edit::new(
                    "/etc/sshfix-binary",
                    None,
                    vec![0xff, 0x00, b'\n'],
                    Validator::Nft,
                    "maxstartups-exhausted, tcp-wrappers-deny",
                    "binary",
                ),
            ],
            actions: vec![
                Action::new(
                    Op::File {
                        path: "/run/sshd".into(),
                        state: FileState::Directory,
                        mode: Some("0755".into()),
                        owner: Some("root".into()),
                        group: None,
                        was: Some("missing".into()),
                    },
                    "privsep-dir-missing",
                    "make it",
                ),
                Action::new(
                    Op::Reload {
                        target: "sshd".into(),
                    },
                    "maxstartups-exhausted",
                    "re-read",
                ),
            ],
            needs_human: vec![NeedsHuman {
                finding: "port-wrong-service".into(),
                reason: "look".into(),
            }],
            seconds: 1.5,
        }
    }

    fn plan() -> Plan {
        let mut unreachable = host_plan("h5");
        unreachable.reached_via = None;
        unreachable.error = Some("no path worked".into());
        unreachable.findings.clear();
        unreachable.changes.clear();
        unreachable.actions.clear();
        unreachable.needs_human.clear();
        Plan {
            created: "2026-11-24T10:00:00Z".into(),
            hosts: vec![host_plan("h4"), unreachable],
        }
    }

    fn bytes(v: &Value) -> Vec<u8> {
        serde_json::to_vec_pretty(v).unwrap()
    }

    /// The error message of parsing `v` (which must fail).
    fn refusal(v: &Value) -> String {
        match parse(&bytes(v), "plan.json") {
            Ok(p) => panic!("accepted: {p:#?}"),
            Err(e) => e.to_string(),
        }
    }

    /// The plan JSON with `f` applied to host 1's change `i`.
    fn with_change(i: usize, f: impl FnOnce(&mut Map<String, Value>)) -> Value {
        let mut v = plan().to_json();
        f(v["hosts"][0]["changes"][i].as_object_mut().unwrap());
        v
    }

    #[test]
    fn a_saved_plan_reads_back_as_the_plan_it_was() {
        let p = plan();
        let json = serde_json::to_string_pretty(&p.to_json()).unwrap();
        let back = parse(json.as_bytes(), "plan.json").unwrap();
        assert_eq!(back, SavedPlan::from_plan(&p));
        // the non-UTF-8 content travelled as after_hex and came back as bytes
        assert!(json.contains("\"after_hex\": \"ff000a\""));
        assert_eq!(back.hosts[0].changes[2].after, vec![0xff, 0x00, b'\n']);
        assert_eq!(back.hosts[0].changes[2].before_sha256, None);
        assert_eq!(back.hosts[0].symptom, "reset-before-banner");
        assert!(back.hosts[0].has_work());
        assert!(!back.hosts[1].has_work());
        assert_eq!(back.hosts[1].error.as_deref(), Some("no path worked"));
        assert_eq!(back.hosts[1].reached_via, None);
    }

    #[test]
    fn load_reads_a_file_and_names_it_when_it_cannot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, bytes(&plan().to_json())).unwrap();
        assert_eq!(load(&path).unwrap(), SavedPlan::from_plan(&plan()));
        let missing = dir.path().join("nope.json");
        let e = load(&missing).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "cannot read the plan file `{}`: ",
                missing.display()
            )),
            "{e}"
        );
    }

    #[test]
    fn findings_fixed_names_each_id_once_in_finding_order() {
        let w = HostWork::from_plan(&host_plan("h4"));
        // port-wrong-service needs a human; privsep-dir-missing is named by
        // an action only (not among the findings): last
        assert_eq!(
            w.findings_fixed(),
            vec![
                "tcp-wrappers-deny",
                "maxstartups-exhausted",
                "privsep-dir-missing"
            ]
        );
    }

    #[test]
    fn refuses_what_is_not_a_plan() {
        let e = parse(b"{\"version\": 1,", "plan.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("plan.json: not a plan file: it is not valid JSON ("),
            "{e}"
        );
        assert_eq!(
            refusal(&json!([1])),
            format!("plan.json: not a plan file: the top level is not a JSON object; {REMAKE}")
        );
        assert_eq!(
            refusal(&json!({"created": "x", "hosts": []})),
            "plan.json: not a plan file: `version` is missing (this sshfix reads plan files of version 1)"
        );
        assert_eq!(
            refusal(&json!({"version": 2, "created": "x", "hosts": []})),
            "plan.json: plan file version 2 is not supported: this sshfix reads version 1 only; make the plan again with this sshfix (`sshfix plan --out FILE`)"
        );
        assert!(
            refusal(&json!({"version": "1", "created": "x", "hosts": []}))
                .contains("plan file version \"1\" is not supported")
        );
        assert_eq!(
            refusal(&json!({"version": 1, "hosts": []})),
            format!("plan.json: `created` is missing; {REMAKE}")
        );
        assert_eq!(
            refusal(&json!({"version": 1, "created": "x", "hosts": {}})),
            format!("plan.json: `hosts` must be an array, not an object; {REMAKE}")
        );
    }

    #[test]
    fn refuses_damaged_hosts() {
        let mut v = plan().to_json();
        v["hosts"][1]["host"] = json!("h4");
        assert_eq!(
            refusal(&v),
            format!("plan.json: host `h4` appears twice; a plan has one entry per host; {REMAKE}")
        );
        let mut v = plan().to_json();
        v["hosts"][1].as_object_mut().unwrap().remove("host");
        assert_eq!(
            refusal(&v),
            format!("plan.json: host 2: `host` is missing; {REMAKE}")
        );
        let mut v = plan().to_json();
        v["hosts"][0]["reached_via"] = json!(3);
        assert_eq!(
            refusal(&v),
            format!("plan.json: host `h4`: `reached_via` must be a string or null, not a number; {REMAKE}")
        );
        let mut v = plan().to_json();
        v["hosts"][0]["probe"]
            .as_object_mut()
            .unwrap()
            .remove("symptom");
        assert_eq!(
            refusal(&v),
            format!("plan.json: host `h4`: `probe.symptom` is missing or not a string; {REMAKE}")
        );
        let mut v = plan().to_json();
        v["hosts"][0]["findings"][1] = json!({"severity": "critical"});
        assert_eq!(
            refusal(&v),
            format!("plan.json: host `h4`, finding 2: `id` is missing; {REMAKE}")
        );
        let mut v = plan().to_json();
        v["hosts"][0].as_object_mut().unwrap().remove("actions");
        assert_eq!(
            refusal(&v),
            format!("plan.json: host `h4`: `actions` is missing; {REMAKE}")
        );
    }

    #[test]
    fn refuses_a_content_edited_by_hand() {
        let v = with_change(0, |c| {
            c["after"] = json!("sshd: ALL\n");
        });
        assert_eq!(
            refusal(&v),
            "plan.json: host `h4`, change 1 (/etc/hosts.allow): `after_sha256` does not match the content — the plan was edited by hand; make a new one with `sshfix plan --out`"
        );
        // the same for hex content
        let v = with_change(2, |c| {
            c["after_hex"] = json!("ff00");
        });
        assert!(
            refusal(&v).contains("change 3 (/etc/sshfix-binary): `after_sha256` does not match")
        );
    }

    #[test]
    fn refuses_bad_content_fields() {
        let both = with_change(0, |c| {
            c.insert("after_hex".into(), json!("0a"));
        });
        assert_eq!(
            refusal(&both),
            format!("plan.json: host `h4`, change 1 (/etc/hosts.allow): has both `after` and `after_hex`; a change has exactly one of them; {REMAKE}")
        );
        let neither = with_change(0, |c| {
            c.remove("after");
        });
        assert!(refusal(&neither).contains("has neither `after` nor `after_hex`"));
        let bad_hex = with_change(2, |c| {
            c["after_hex"] = json!("zz");
        });
        assert!(
            refusal(&bad_hex)
                .contains("change 3 (/etc/sshfix-binary): `after_hex` is not hexadecimal ("),
            "{}",
            refusal(&bad_hex)
        );
        let number = with_change(0, |c| {
            c["after"] = json!(5);
        });
        assert!(refusal(&number).contains("`after` must be a string, not a number"));
        let upper = with_change(0, |c| {
            let h = c["after_sha256"].as_str().unwrap().to_uppercase();
            c["after_sha256"] = json!(h);
        });
        assert!(
            refusal(&upper).contains("`after_sha256` \""),
            "{}",
            refusal(&upper)
        );
        assert!(refusal(&upper).contains("is not a sha256 (64 lowercase hex digits)"));
        let short = with_change(0, |c| {
            c["before_sha256"] = json!("abc");
        });
        assert_eq!(
            refusal(&short),
            format!("plan.json: host `h4`, change 1 (/etc/hosts.allow): `before_sha256` \"abc\" is not a sha256 (64 lowercase hex digits); {REMAKE}")
        );
        let missing_before = with_change(0, |c| {
            c.remove("before_sha256");
        });
        assert!(refusal(&missing_before).contains("`before_sha256` is missing"));
        let no_reason = with_change(1, |c| {
            c.remove("reason");
        });
        assert!(
            refusal(&no_reason).contains("change 2 (/etc/ssh/sshd_config): `reason` is missing")
        );
    }

    #[test]
    fn refuses_unsafe_paths() {
        for (path, problem) in [
            ("etc/hosts.allow", "is not an absolute path"),
            (
                "/etc/../root/.ssh/authorized_keys",
                "contains a `..` component",
            ),
            ("/etc/..", "contains a `..` component"),
            ("/etc/a\nb", "contains a line break"),
            ("/etc/a\0b", "contains a NUL byte"),
        ] {
            let v = with_change(0, |c| {
                c["path"] = json!(path);
            });
            assert_eq!(
                refusal(&v),
                format!(
                    "plan.json: host `h4`, change 1: `path` {path:?} {problem}; sshfix never writes such a path — the plan was edited by hand; {REMAKE}"
                )
            );
        }
        // `..` inside a name is fine
        let v = with_change(0, |c| {
            c["path"] = json!("/etc/a..b");
        });
        assert_eq!(
            parse(&bytes(&v), "p").unwrap().hosts[0].changes[0].path,
            "/etc/a..b"
        );
        let mut v = plan().to_json();
        v["hosts"][0]["actions"][0]["path"] = json!("/run/../etc");
        assert!(refusal(&v).starts_with(
            "plan.json: host `h4`, action 1: `path` \"/run/../etc\" contains a `..` component"
        ));
    }

    #[test]
    fn refuses_a_file_changed_twice() {
        let mut v = plan().to_json();
        let first = v["hosts"][0]["changes"][0].clone();
        v["hosts"][0]["changes"].as_array_mut().unwrap().push(first);
        assert_eq!(
            refusal(&v),
            format!("plan.json: host `h4`: `/etc/hosts.allow` is changed twice; a plan has one change per file; {REMAKE}")
        );
    }

    #[test]
    fn a_known_file_keeps_its_validator() {
        // change 2 is the sshd_config edit: a plan may not turn `sshd -t` off
        let v = with_change(1, |c| {
            c["validator"] = json!({"kind": "none"});
        });
        let e = refusal(&v);
        assert!(
            e.contains(
                "`validator` is `none`, but /etc/ssh/sshd_config must be checked by `sshd-config`"
            ),
            "{e}"
        );
        assert_eq!(
            required_validator("/etc/ssh/sshd_config.d/10-x.conf"),
            Some("sshd-config")
        );
        assert_eq!(
            required_validator("/etc/iptables/rules.v6"),
            Some("iptables-restore")
        );
        assert_eq!(required_validator("/etc/hosts.allow"), None);
    }

    #[test]
    fn refuses_unknown_validators_and_actions() {
        let v = with_change(0, |c| {
            c["validator"] = json!({"kind": "visudo"});
        });
        let e = refusal(&v);
        assert!(
            e.starts_with("plan.json: host `h4`, change 1 (/etc/hosts.allow): `validator` is not valid (unknown variant `visudo`"),
            "{e}"
        );
        let v = with_change(1, |c| {
            c["validator"] = json!({"kind": "sshd-config", "config": "sshd_config", "expect": []});
        });
        assert!(refusal(&v).contains("`validator.config` \"sshd_config\" is not an absolute path"));
        let mut v = plan().to_json();
        v["hosts"][0]["actions"][1] = json!({"kind": "reboot", "finding": "x", "reason": "y"});
        let e = refusal(&v);
        assert!(
            e.starts_with(
                "plan.json: host `h4`, action 2: not a valid action (unknown variant `reboot`"
            ),
            "{e}"
        );
        let mut v = plan().to_json();
        v["hosts"][0]["actions"][1]
            .as_object_mut()
            .unwrap()
            .remove("finding");
        assert!(refusal(&v).contains("action 2: not a valid action (missing field `finding`"));
    }

    #[test]
    fn reads_the_saved_plan_fixture() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plans/wrappers-deny.json");
        let p = load(&path).unwrap();
        assert_eq!(p.hosts.len(), 1);
        let h = &p.hosts[0];
        assert!(h.has_work());
        assert!(h
            .findings_fixed()
            .contains(&"tcp-wrappers-deny".to_string()));
        let allow = h
            .changes
            .iter()
            .find(|c| c.path == "/etc/hosts.allow")
            .expect("the fixture edits /etc/hosts.allow");
        assert_eq!(sha256_hex(&allow.after), allow.after_sha256);
        assert!(String::from_utf8_lossy(&allow.after).contains("10.77.0.1"));
    }

    #[test]
    fn reads_a_saved_plan_with_actions_and_validators() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plans/two-hosts.json");
        let p = load(&path).unwrap();
        let names: Vec<&str> = p.hosts.iter().map(|h| h.host.as_str()).collect();
        assert_eq!(names, ["hostkeys-missing", "maxstartups"]);
        let keys = &p.hosts[0];
        assert!(keys.changes.is_empty());
        assert_eq!(
            keys.actions.iter().map(|a| a.op.kind()).collect::<Vec<_>>(),
            ["command", "start"]
        );
        assert_eq!(
            keys.findings_fixed(),
            ["sshd-not-running", "host-keys-missing"]
        );
        let max = &p.hosts[1];
        assert_eq!(max.symptom, "closed-before-banner");
        assert!(matches!(
            &max.changes[0].validator,
            Validator::SshdConfig { config, expect } if config == "/etc/ssh/sshd_config" && !expect.is_empty()
        ));
        assert_eq!(max.findings_fixed(), ["maxstartups-exhausted"]);
    }
}
