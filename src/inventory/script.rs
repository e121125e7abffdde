//! Executable inventories: run `PROGRAM --list` (and `--host NAME` when the
//! output has no `_meta.hostvars`) with a time limit, and read Ansible's
//! inventory JSON as Ansible's `script` plugin does.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use indexmap::IndexSet;
use serde_json::{Map, Value};

use super::data::Data;
use super::InventoryError;

/// How long an inventory program may run.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);

/// Why a program could not be used as an inventory.
pub(crate) enum RunError {
    /// It could not be started at all (not a program: try it as a file).
    NotRunnable(std::io::Error),
    /// It ran and failed, or printed something unusable.
    Failed(InventoryError),
}

fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(10);
    lines[start..].join("\n")
}

fn with_stderr(mut msg: String, stderr: &[u8]) -> String {
    let t = tail(stderr);
    if !t.is_empty() {
        msg.push_str("\nstandard error (last lines):\n");
        for l in t.lines() {
            msg.push_str("  ");
            msg.push_str(l);
            msg.push('\n');
        }
        msg.pop();
    }
    msg
}

/// Most an inventory program may print on stdout.
pub(crate) const MAX_OUTPUT: usize = 256 * 1024 * 1024;
/// How much of its stderr is kept (only the last lines are shown).
const STDERR_TAIL: usize = 16 * 1024;

/// What a reader thread saw.
enum Stream {
    Out(Result<Vec<u8>, ()>),
    Err(Vec<u8>),
}

/// Runs `program args…`, returns stdout; fails on timeout, non-zero exit or
/// more than [`MAX_OUTPUT`] bytes of output.
///
/// The program is named by an absolute path (a bare `inventory` means the file
/// in the current directory, never a program found on `$PATH`), runs in a
/// process group of its own, and the whole group is killed at the time limit,
/// so a wrapper script's children cannot stretch it.
pub(crate) fn run(program: &Path, args: &[&str], timeout: Duration) -> Result<Vec<u8>, RunError> {
    use std::os::unix::process::CommandExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc};

    let shown = format!(
        "`{}{}`",
        program.display(),
        args.iter().map(|a| format!(" {a}")).collect::<String>()
    );
    let program = std::path::absolute(program).map_err(RunError::NotRunnable)?;
    let mut child = Command::new(&program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(RunError::NotRunnable)?;
    let group = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let kill_group = || {
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
    };
    let failed = |msg: String, stderr: &[u8]| {
        RunError::Failed(InventoryError::new(with_stderr(msg, stderr)))
    };
    let too_much = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    {
        let tx = tx.clone();
        let too_much = too_much.clone();
        std::thread::spawn(move || {
            let mut b = Vec::new();
            let capped = (&mut out).take(MAX_OUTPUT as u64 + 1).read_to_end(&mut b);
            let result = if b.len() > MAX_OUTPUT {
                too_much.store(true, Ordering::Relaxed);
                Err(())
            } else {
                capped.map(|_| b).map_err(|_| ())
            };
            let _ = tx.send(Stream::Out(result));
        });
    }
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut chunk = [0u8; 8192];
        while let Ok(n) = err.read(&mut chunk) {
            if n == 0 {
                break;
            }
            kept.extend_from_slice(&chunk[..n]);
            if kept.len() > 2 * STDERR_TAIL {
                kept.drain(..kept.len() - STDERR_TAIL);
            }
        }
        let _ = tx.send(Stream::Err(kept));
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if too_much.load(Ordering::Relaxed) {
            kill_group();
            let _ = child.wait();
            return Err(failed(
                format!(
                    "inventory program {shown} printed more than {} MiB",
                    MAX_OUTPUT / (1024 * 1024)
                ),
                &[],
            ));
        }
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                kill_group();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                kill_group();
                let _ = child.wait();
                return Err(failed(
                    format!("inventory program {shown}: waiting for it failed: {e}"),
                    &[],
                ));
            }
        }
    };
    // The output ends when every process holding the pipes is gone: wait for
    // that until the deadline (a little longer once the group was killed).
    let (mut stdout, mut stderr) = (None, None);
    let collect_until = deadline.max(Instant::now()) + Duration::from_secs(2);
    while stdout.is_none() || stderr.is_none() {
        match rx.recv_timeout(collect_until.saturating_duration_since(Instant::now())) {
            Ok(Stream::Out(o)) => stdout = Some(o),
            Ok(Stream::Err(e)) => stderr = Some(e),
            Err(_) => break,
        }
    }
    let stderr = stderr.unwrap_or_default();
    let timed_out = || {
        failed(
            format!(
                "inventory program {shown} did not finish within {} seconds and was stopped",
                timeout.as_secs()
            ),
            &stderr,
        )
    };
    let Some(status) = status else {
        return Err(timed_out());
    };
    let stdout = match stdout {
        None => {
            // Exited, but something it started keeps the output open.
            kill_group();
            return Err(timed_out());
        }
        Some(Err(())) if too_much.load(Ordering::Relaxed) => {
            return Err(failed(
                format!(
                    "inventory program {shown} printed more than {} MiB",
                    MAX_OUTPUT / (1024 * 1024)
                ),
                &stderr,
            ))
        }
        Some(Err(())) => {
            return Err(failed(
                format!("inventory program {shown}: reading its output failed"),
                &stderr,
            ))
        }
        Some(Ok(o)) => o,
    };
    if !status.success() {
        let how = match status.code() {
            Some(c) => format!("exited with status {c}"),
            None => {
                use std::os::unix::process::ExitStatusExt;
                format!("was killed by signal {}", status.signal().unwrap_or(0))
            }
        };
        return Err(failed(format!("inventory program {shown} {how}"), &stderr));
    }
    Ok(stdout)
}

fn parse_json(program: &Path, args: &str, stdout: &[u8]) -> Result<Value, InventoryError> {
    let text = std::str::from_utf8(stdout).map_err(|_| {
        InventoryError::new(format!(
            "inventory program `{} {args}` printed output that is not UTF-8",
            program.display()
        ))
    })?;
    serde_json::from_str(text).map_err(|e| {
        InventoryError::new(format!(
            "inventory program `{} {args}` printed invalid JSON at line {} column {}: {e}",
            program.display(),
            e.line(),
            e.column()
        ))
    })
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

/// Loads an executable inventory into `data`.
pub(crate) fn load(data: &mut Data, program: &Path, timeout: Duration) -> Result<(), RunError> {
    let stdout = run(program, &["--list"], timeout)?;
    let parsed = parse_json(program, "--list", &stdout).map_err(RunError::Failed)?;
    parse_list(data, program, &parsed, |host| {
        let out = run(program, &["--host", host], timeout).map_err(|e| match e {
            RunError::NotRunnable(e) => InventoryError::new(format!(
                "inventory program `{}` could not be run: {e}",
                program.display()
            )),
            RunError::Failed(e) => e,
        })?;
        if String::from_utf8_lossy(&out).trim().is_empty() {
            return Ok(Value::Object(Map::new()));
        }
        parse_json(program, &format!("--host {host}"), &out)
    })
    .map_err(RunError::Failed)
}

/// Reads `--list` output; `host_vars` is asked for hosts when there is no `_meta.hostvars`.
pub(crate) fn parse_list(
    data: &mut Data,
    program: &Path,
    parsed: &Value,
    mut host_vars: impl FnMut(&str) -> Result<Value, InventoryError>,
) -> Result<(), InventoryError> {
    let shown = program.display();
    let bad =
        |what: String| InventoryError::new(format!("inventory program `{shown}` --list: {what}"));
    let Value::Object(top) = parsed else {
        return Err(bad(format!(
            "expected a JSON object of groups, found a {}",
            type_name(parsed)
        )));
    };
    let mut meta: Option<&Map<String, Value>> = None;
    let mut hosts: IndexSet<String> = IndexSet::new();
    for (group, gdata) in top {
        if group == "_meta" {
            let hv = match gdata {
                Value::Object(m) => m.get("hostvars"),
                other => {
                    return Err(bad(format!(
                        "`_meta` is a {}, not a mapping",
                        type_name(other)
                    )))
                }
            };
            match hv {
                Some(Value::Object(m)) => meta = Some(m),
                Some(other) => {
                    return Err(bad(format!(
                        "`_meta.hostvars` is a {}, not a mapping",
                        type_name(other)
                    )))
                }
                None => return Err(bad("`_meta` has no `hostvars`".into())),
            }
            continue;
        }
        if group.is_empty() {
            return Err(bad("a group has an empty name".into()));
        }
        data.add_group(group);
        let normalized;
        let gmap = match gdata {
            Value::Object(m)
                if ["hosts", "vars", "children"]
                    .iter()
                    .any(|k| m.contains_key(*k)) =>
            {
                m
            }
            Value::Object(m) => {
                // An old-style group: the group name is its only host, the mapping its variables.
                let mut n = Map::new();
                n.insert(
                    "hosts".into(),
                    Value::Array(vec![Value::String(group.clone())]),
                );
                n.insert("vars".into(), Value::Object(m.clone()));
                normalized = n;
                &normalized
            }
            other => {
                let mut n = Map::new();
                n.insert("hosts".into(), other.clone());
                normalized = n;
                &normalized
            }
        };
        if let Some(h) = gmap.get("hosts") {
            let Value::Array(list) = h else {
                return Err(bad(format!(
                    "`{group}.hosts` is a {}, not a list",
                    type_name(h)
                )));
            };
            for host in list {
                let Value::String(name) = host else {
                    return Err(bad(format!(
                        "`{group}.hosts` contains {host}, which is not a host name string"
                    )));
                };
                hosts.insert(name.clone());
                data.add_host(name, Some(group), None).map_err(bad)?;
            }
        }
        if let Some(v) = gmap.get("vars") {
            let Value::Object(vars) = v else {
                return Err(bad(format!(
                    "`{group}.vars` is a {}, not a mapping",
                    type_name(v)
                )));
            };
            for (k, val) in vars {
                data.set_variable(group, k, val.clone()).map_err(bad)?;
            }
        }
        if let Some(c) = gmap.get("children") {
            let names: Vec<String> = match c {
                Value::Array(items) => items
                    .iter()
                    .map(|i| match i {
                        Value::String(s) => Ok(s.clone()),
                        other => Err(bad(format!(
                            "`{group}.children` contains {other}, which is not a group name string"
                        ))),
                    })
                    .collect::<Result<_, _>>()?,
                Value::Object(m) => m.keys().cloned().collect(),
                other => {
                    return Err(bad(format!(
                        "`{group}.children` is a {}, not a list",
                        type_name(other)
                    )))
                }
            };
            for child in names {
                if child.is_empty() {
                    return Err(bad(format!("`{group}.children` contains an empty name")));
                }
                data.add_group(&child);
                data.add_child(group, &child).map_err(bad)?;
            }
        }
    }
    for host in &hosts {
        let vars = match meta {
            Some(m) => m
                .get(host)
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new())),
            None => host_vars(host)?,
        };
        let Value::Object(vars) = vars else {
            return Err(bad(format!(
                "the variables of host `{host}` are a {}, not a mapping",
                type_name(&vars)
            )));
        };
        for (k, v) in vars {
            data.set_variable(host, &k, v).map_err(bad)?;
        }
    }
    Ok(())
}
