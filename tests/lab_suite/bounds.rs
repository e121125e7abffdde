//! Hosts that misbehave without end: one that accepts TCP and never speaks
//! (h9, `silent-22`), one whose port 22 speaks forever without a line end
//! (`banner-flood`), one that starts an identification and stalls mid-line
//! (`banner-stall`), one whose sshd works but every command prints
//! without end (`exec-flood`), and one where a command of the facts script
//! stalls mid-output (`ps-stall`: `ps` prints part of a line and hangs;
//! `sshfix_command_timeout=5` for it). Each must fail alone, with a message
//! naming what happened, within its timeout, while a good host in the same
//! run completes.

use std::time::{Duration, Instant};

use libtest_mimic::Failed;

use super::{check, sshfix, Ctx};

/// The hosts of this trial and their faults (injected when the lab starts).
pub const FAULTS: [(&str, &str); 4] = [
    ("h24", "banner-flood"),
    ("h25", "banner-stall"),
    ("h26", "exec-flood"),
    ("h27", "ps-stall"),
];

/// `sshfix_command_timeout` of the `ps-stall` host, in seconds, wherever
/// it is in an inventory.
const STALL_SECS: u32 = 5;

/// Gives the `ps-stall` host `sshfix_command_timeout` [`STALL_SECS`] in the lab
/// inventory `inv` (a group of its own, so its host line stays as it is).
pub fn shorten_stall(inv: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    let stalled = FAULTS
        .iter()
        .filter(|(_, f)| *f == "ps-stall")
        .map(|(h, _)| *h)
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::OpenOptions::new()
        .append(true)
        .open(inv)?
        .write_all(
            format!(
                "\n[stalled]\n{stalled}\n\n[stalled:vars]\nsshfix_command_timeout={STALL_SECS}\n"
            )
            .as_bytes(),
        )
}

/// `sshfix facts` over the direct path only (no jump host, no console, so
/// nothing else can save a host) on a good host and the four hostile ones.
pub fn each_hostile_host_fails_alone(ctx: &Ctx) -> Result<(), Failed> {
    let hosts = ["h1", "h9", "h24", "h25", "h26", "h27"];
    let mut inv = String::from("[targets]\n");
    for h in hosts {
        inv.push_str(&format!("{h} ansible_host={}\n", ctx.addr(h)));
    }
    inv.push_str(&format!(
        "[targets:vars]\nsshfix_command_timeout={STALL_SECS}\n"
    ));
    inv.push_str("[all:vars]\nansible_user=root\n");
    let path = ctx.lab_dir.join("test-bounds.ini");
    std::fs::write(&path, inv)?;
    let t0 = Instant::now();
    let out = sshfix(&[
        "facts",
        "-i",
        &path.to_string_lossy(),
        "--ssh-config",
        &ctx.lab_dir.join("ssh_config").to_string_lossy(),
        "--format",
        "json",
    ]);
    let took = t0.elapsed();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let of = |h: &str| {
        json["hosts"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["host"] == h))
            .cloned()
            .unwrap_or_default()
    };
    check(of("h1")["facts"].is_object(), || {
        format!("the good host h1 got no facts: {}", of("h1"))
    })?;
    // each hostile host: no facts, and an error saying what happened
    let stalled_for = format!("did not finish within {STALL_SECS}s");
    for (h, any) in [
        ("h9", &["banner exchange", "timed out"][..]),
        (
            "h24",
            &["banner", "identification", "too long", "more than"][..],
        ),
        ("h25", &["banner exchange", "timed out"][..]),
        ("h26", &["more than 16 MiB"][..]),
        ("h27", &[stalled_for.as_str()][..]),
    ] {
        let v = of(h);
        let err = v["error"].as_str().unwrap_or_default();
        check(
            v["facts"].is_null() && any.iter().any(|w| err.contains(w)),
            || format!("{h}: want an error containing one of {any:?}, got: {v}"),
        )?;
        check(err.contains(&format!("`{h}`")), || {
            format!("{h}: the error does not name the host: {err}")
        })?;
    }
    let stalled = of("h27")["error"].as_str().unwrap_or_default().to_string();
    check(stalled.contains("sshfix_command_timeout"), || {
        format!("h27: the error does not say how to wait longer: {stalled}")
    })?;
    // the hosts run side by side: the run takes about the longest single
    // wait (ssh's ConnectTimeout of the lab's ssh_config, 10 s, covers the
    // identification), not the sum
    check(took < Duration::from_secs(40), || {
        format!("facts took {:.1} s", took.as_secs_f64())
    })?;
    check(out.status.code() == Some(4), || {
        format!(
            "exit {:?} (want 4: some host unreachable)\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
