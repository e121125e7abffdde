//! Local processes: the `local` transport (`ansible_connection=local`) and the
//! child-process plumbing that `console-exec` shares.

use std::process::Stdio;

use async_trait::async_trait;

use super::command::Invocation;
use super::io::{finish, WaitMode};
use super::{ErrorKind, Exec, RawOutput};

/// Runs `sh -c <line>` with `input` on stdin, in its own process group; the
/// whole group is killed if the future is dropped (timeout) before it ends.
pub async fn run_local_sh(
    line: &str,
    input: &[u8],
    limit: usize,
) -> Result<RawOutput, (ErrorKind, String)> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(line)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| (ErrorKind::Connect, format!("starting `sh`: {e}")))?;
    let guard = GroupGuard(child.id());
    let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let code =
        |s: &std::io::Result<std::process::ExitStatus>| s.as_ref().ok().and_then(|s| s.code());
    let ((out, err), status) = finish(
        pipes,
        input,
        child.wait(),
        limit,
        code,
        "the local process",
        WaitMode::Alongside,
    )
    .await?;
    let status =
        status.map_err(|e| (ErrorKind::Io, format!("waiting for the local process: {e}")))?;
    std::mem::forget(guard);
    Ok(RawOutput {
        stdout: out,
        stderr: err,
        status: status.code(),
    })
}

/// Kills a process group when dropped (a timed-out run), so no child outlives it.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// `ansible_connection=local`: scripts run on the controller itself.
pub struct Local;

#[async_trait]
impl Exec for Local {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn exec(
        &self,
        invocation: &Invocation,
        stdin: &[u8],
        limit: usize,
    ) -> Result<RawOutput, (ErrorKind, String)> {
        run_local_sh(&invocation.command_line, &invocation.input(stdin), limit).await
    }

    async fn close(&mut self) -> Result<(), String> {
        Ok(())
    }
}
