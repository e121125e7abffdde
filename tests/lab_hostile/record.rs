//! The recorder's log (lab fault `record-shell`): every command string sshd
//! received on a host, and the check that each one is exactly what sshfix's
//! quoting function builds (`sshfix::transport::command::build`) around one
//! script — or the fixed `echo sshfix-verified` of verification — so that a
//! value could only have reached the host inside a quoted word.

use std::time::Duration;

use libtest_mimic::Failed;
use sshfix::transport::command::{build, BecomeAuth, Secret};
use sshfix::transport::quote::quote;

use super::Ctx;

/// The command verification runs over a fresh `ssh` (not a script).
pub const VERIFY: &str = "echo sshfix-verified";

/// One invocation of the login shell: who ran it and its arguments.
#[derive(Debug)]
pub struct Record {
    pub user: String,
    pub args: Vec<Vec<u8>>,
}

/// Removes what the recorder logged so far on `host`.
pub fn clear(ctx: &Ctx, host: &str) -> Result<(), Failed> {
    let dir = ctx.host_path(host, "/run/lab/rec");
    for e in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        std::fs::remove_file(e?.path())?;
    }
    Ok(())
}

/// Everything the recorder logged on `host`, oldest first.
pub fn read(ctx: &Ctx, host: &str) -> Result<Vec<Record>, Failed> {
    let dir = ctx.host_path(host, "/run/lab/rec");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".tmp"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for n in names {
        let bytes = std::fs::read(dir.join(&n))?;
        let mut fields: Vec<Vec<u8>> = bytes.split(|b| *b == 0).map(<[u8]>::to_vec).collect();
        // the last field is what follows the final NUL: nothing
        if fields.pop().as_deref() != Some(&[][..]) || fields.len() < 2 {
            return Err(format!("{host}: recorder file {n} is malformed: {bytes:?}").into());
        }
        let user = String::from_utf8_lossy(&fields[0]).into_owned();
        let argc: usize = String::from_utf8_lossy(&fields[1])
            .parse()
            .map_err(|_| format!("{host}: recorder file {n}: bad argc"))?;
        let args = fields.split_off(2);
        if args.len() != argc {
            return Err(format!(
                "{host}: recorder file {n}: {argc} arguments announced, {} found",
                args.len()
            )
            .into());
        }
        out.push(Record { user, args });
    }
    Ok(out)
}

/// How sshfix was to become root on the host.
#[derive(Debug, Clone, Copy)]
pub enum Become<'a> {
    No,
    /// `ansible_become` without a password: `sudo -n -u USER`.
    NoPassword(&'a str),
}

/// What one recorded command carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// A script run through the remote runner, with its time limit.
    Script { secs: u64, script: String },
    /// Verification's `echo sshfix-verified`.
    Verify,
}

impl Sent {
    pub fn script(&self) -> &str {
        match self {
            Sent::Script { script, .. } => script,
            Sent::Verify => VERIFY,
        }
    }
}

/// The one command string sshd handed to the shell (`SHELL -c COMMAND`).
fn command_of(r: &Record) -> Result<String, String> {
    match r.args.as_slice() {
        [c, cmd] if c == b"-c" => String::from_utf8(cmd.clone())
            .map_err(|_| format!("a command that is not UTF-8: {cmd:?}")),
        other => Err(format!(
            "the shell was not run as `SHELL -c COMMAND`: {:?}",
            other
                .iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        )),
    }
}

/// Checks that `r` is exactly a command sshfix builds — the runner (through
/// sudo when `become_` says so) around one script, rebuilt byte for byte by
/// the quoting function, or verification's echo — and returns what it
/// carried.
pub fn classify(r: &Record, login: &str, become_: Become) -> Result<Sent, String> {
    if r.user != login {
        return Err(format!("ran as `{}`, not `{login}`", r.user));
    }
    let cmd = command_of(r)?;
    if cmd == VERIFY {
        return Ok(Sent::Verify);
    }
    let words = shlex::split(&cmd).ok_or_else(|| format!("unbalanced quotes in: {cmd}"))?;
    let (secs, script, auth) = match (become_, words.as_slice()) {
        (Become::No, [sh, c, _runner, name, secs, script])
            if sh == "sh" && c == "-c" && name == "sshfix" =>
        {
            (secs, script, None)
        }
        (Become::NoPassword(user), [sudo, n, u, who, dash, sh, c, _runner, name, secs, script])
            if sudo == "sudo"
                && n == "-n"
                && u == "-u"
                && who == user
                && dash == "--"
                && sh == "sh"
                && c == "-c"
                && name == "sshfix" =>
        {
            (
                secs,
                script,
                Some(BecomeAuth::NoPassword {
                    user: user.to_string(),
                }),
            )
        }
        _ => {
            return Err(format!(
                "not a command sshfix builds ({} words): {cmd}",
                words.len()
            ))
        }
    };
    let secs: u64 = secs
        .parse()
        .map_err(|_| format!("time limit `{secs}` is not a number in: {cmd}"))?;
    let rebuilt = build(script, Duration::from_secs(secs), auth.as_ref(), "unused")
        .map_err(|e| e.to_string())?;
    if rebuilt.command_line != cmd {
        return Err(format!(
            "the command is not exactly what the quoting function builds for its script:\n{cmd}\n--- rebuilt\n{}",
            rebuilt.command_line
        ));
    }
    Ok(Sent::Script {
        secs,
        script: script.clone(),
    })
}

/// A password-become invocation (`sh -c WRAPPER sshfix USER SECS SCRIPT
/// MARKER`) rebuilt exactly; the password itself is never in it.
pub fn classify_with_password(r: &Record, login: &str, user: &str) -> Result<Sent, String> {
    if r.user != login {
        return Err(format!("ran as `{}`, not `{login}`", r.user));
    }
    let cmd = command_of(r)?;
    if cmd == VERIFY {
        return Ok(Sent::Verify);
    }
    let words = shlex::split(&cmd).ok_or_else(|| format!("unbalanced quotes in: {cmd}"))?;
    let [sh, c, _wrapper, name, who, secs, script, marker] = words.as_slice() else {
        return Err(format!(
            "not a command sshfix builds ({} words): {cmd}",
            words.len()
        ));
    };
    if sh != "sh" || c != "-c" || name != "sshfix" || who != user {
        return Err(format!("not a password-become command: {cmd}"));
    }
    let secs: u64 = secs
        .parse()
        .map_err(|_| format!("time limit `{secs}` is not a number in: {cmd}"))?;
    let auth = BecomeAuth::Password {
        user: user.to_string(),
        password: Secret::new("never-in-the-command-line"),
    };
    let rebuilt =
        build(script, Duration::from_secs(secs), Some(&auth), marker).map_err(|e| e.to_string())?;
    if rebuilt.command_line != cmd {
        return Err(format!(
            "the command is not exactly what the quoting function builds:\n{cmd}\n--- rebuilt\n{}",
            rebuilt.command_line
        ));
    }
    Ok(Sent::Script {
        secs,
        script: script.clone(),
    })
}

/// Every record of `host` classified (see [`classify`]); the first that is
/// not a command sshfix builds fails the trial.
pub fn sent(ctx: &Ctx, host: &str, login: &str, become_: Become) -> Result<Vec<Sent>, Failed> {
    read(ctx, host)?
        .iter()
        .enumerate()
        .map(|(i, r)| {
            classify(r, login, become_)
                .map_err(|e| format!("{host}: recorded command #{i}: {e}").into())
        })
        .collect()
}

/// `value` as the quoting function writes it into a script.
pub fn quoted(value: &str) -> String {
    quote(value, "value").expect("no NUL").into_owned()
}

/// Some script of `sent` holds `value` in exactly its quoted form.
pub fn expect_quoted(sent: &[Sent], value: &str, what: &str) -> Result<(), Failed> {
    let q = quoted(value);
    super::check(sent.iter().any(|s| s.script().contains(&q)), || {
        format!(
            "{what} `{value}` does not reach the host quoted as {q}; scripts:\n{}",
            sent.iter()
                .map(|s| s.script().lines().next().unwrap_or("").to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}
