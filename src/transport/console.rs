//! `console-exec`: the host's `sshfix_console` command (`docker exec -i web1 sh`,
//! `kubectl exec -i pod -- sh`, `nsenter -t PID -a sh`) is started for every
//! script, and its stdin — a shell — is fed a program that stages the script's
//! stdin and runs it (see [`super::command::console_program`]).

use async_trait::async_trait;

use super::command::{console_program, Invocation};
use super::local::run_local_sh;
use super::{ErrorKind, Exec, RawOutput};

/// A console command whose stdin/stdout is a shell on the host.
pub struct ConsoleExec {
    /// The command line, run by the controller's `sh -c`.
    pub command: String,
}

/// The console command itself could not run (as opposed to the script failing
/// on the host): `sh` says `not found`, docker/kubectl print their errors with
/// status 125/126/127 or 1 and nothing on stdout.
pub const CONSOLE_START_FAILED: [i32; 3] = [125, 126, 127];

#[async_trait]
impl Exec for ConsoleExec {
    fn kind(&self) -> &'static str {
        "console-exec"
    }

    async fn exec(
        &self,
        invocation: &Invocation,
        stdin: &[u8],
        limit: usize,
    ) -> Result<RawOutput, (ErrorKind, String)> {
        let program = console_program(invocation, stdin);
        run_local_sh(&self.command, &program, limit).await
    }

    async fn close(&mut self) -> Result<(), String> {
        Ok(())
    }
}
