//! Driving a child's pipes: write its stdin while reading stdout and stderr
//! (so neither side can block the other), with a cap on how much output is
//! kept, and waiting for its exit alongside, so that a background process that
//! keeps the pipes open cannot hold sshfix until the timeout.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::ErrorKind;

/// Output beyond this many bytes (stdout + stderr of every command on one
/// host's connection together) fails the command that crosses it: a broken
/// or hostile host cannot make sshfix hold more than this for it.
pub const DEFAULT_OUTPUT_LIMIT: usize = 16 * 1024 * 1024;

/// Why the pipes could not be driven to the end.
#[derive(Debug)]
pub enum PipeError {
    /// The child printed more than the limit.
    TooMuchOutput {
        limit: usize,
    },
    Io(std::io::Error),
}

/// Writes `input` to `stdin` (then closes it) while collecting `stdout` and
/// `stderr` until both end, counting bytes read in `progress`. A child that
/// exits without reading all its input is not an error (a broken pipe on
/// stdin is ignored).
pub async fn drive<W, O, E>(
    stdin: Option<W>,
    input: &[u8],
    stdout: Option<O>,
    stderr: Option<E>,
    limit: usize,
    progress: &AtomicUsize,
) -> Result<(Vec<u8>, Vec<u8>), PipeError>
where
    W: AsyncWrite + Unpin,
    O: AsyncRead + Unpin,
    E: AsyncRead + Unpin,
{
    let write = async move {
        if let Some(mut w) = stdin {
            match w.write_all(input).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                Err(e) => return Err(PipeError::Io(e)),
            }
            // Closing stdin is what tells the remote side that input ended.
            let _ = w.shutdown().await;
        }
        Ok(())
    };
    let read_out = read_capped(stdout, progress, limit);
    let read_err = read_capped(stderr, progress, limit);
    let (w, out, err) = tokio::join!(write, read_out, read_err);
    let out = out?;
    let err = err?;
    w?;
    Ok((out, err))
}

async fn read_capped<R: AsyncRead + Unpin>(
    reader: Option<R>,
    total: &AtomicUsize,
    limit: usize,
) -> Result<Vec<u8>, PipeError> {
    let mut buf = Vec::new();
    let Some(mut r) = reader else {
        return Ok(buf);
    };
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut chunk).await.map_err(PipeError::Io)?;
        if n == 0 {
            return Ok(buf);
        }
        let seen = total.fetch_add(n, Ordering::Relaxed) + n;
        if seen > limit {
            return Err(PipeError::TooMuchOutput { limit });
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// How long output may pause after the child exited before sshfix decides
/// that something the child left running holds the pipes.
pub const DRAIN_IDLE: Duration = Duration::from_secs(2);

/// How a command ended.
pub enum Finished<S> {
    /// Exited, and its output ended: `(stdout, stderr)` and the exit.
    Done((Vec<u8>, Vec<u8>), S),
    /// Exited, but a process it started (`cmd &`) keeps its output open.
    HeldOpen(S),
}

/// Runs `drive` (the pipes) and `wait` (the exit) together. Output that is
/// still flowing after the exit is read to the end; output that stops for
/// [`DRAIN_IDLE`] while the pipes stay open ends the wait.
pub async fn collect<D, W, S>(
    drive: D,
    wait: W,
    progress: &AtomicUsize,
) -> Result<Finished<S>, PipeError>
where
    D: Future<Output = Result<(Vec<u8>, Vec<u8>), PipeError>>,
    W: Future<Output = S>,
{
    tokio::pin!(drive);
    tokio::pin!(wait);
    tokio::select! {
        pipes = &mut drive => {
            let pipes = pipes?;
            Ok(Finished::Done(pipes, wait.await))
        }
        status = &mut wait => loop {
            let before = progress.load(Ordering::Relaxed);
            match tokio::time::timeout(DRAIN_IDLE, &mut drive).await {
                Ok(pipes) => return Ok(Finished::Done(pipes?, status)),
                Err(_) if progress.load(Ordering::Relaxed) == before => return Ok(Finished::HeldOpen(status)),
                Err(_) => continue,
            }
        },
    }
}

/// When to collect a command's exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitMode {
    /// While reading: for local processes, whose exit says nothing about the
    /// pipes, so a background job holding them is noticed at once.
    Alongside,
    /// After the output ended: with ssh's native multiplexing, collecting the
    /// exit ends the session's control connection, and the master then drops
    /// output still in flight (seen in the lab: the last bytes of stdout and
    /// all of stderr lost in 60 of 300 runs).
    AfterOutput,
}

/// Feeds `input` to a command's stdin, reads its stdout and stderr (the
/// `pipes`) and waits for its exit (`wait`, at the time `mode` says), mapping what can go wrong to transport errors; `code` reads the
/// exit code out of a status for messages, `medium` names the other side.
pub async fn finish<W, O, E, F, S>(
    (stdin, stdout, stderr): (Option<W>, Option<O>, Option<E>),
    input: &[u8],
    wait: F,
    limit: usize,
    code: impl Fn(&S) -> Option<i32>,
    medium: &str,
    mode: WaitMode,
) -> Result<((Vec<u8>, Vec<u8>), S), (ErrorKind, String)>
where
    W: AsyncWrite + Unpin,
    O: AsyncRead + Unpin,
    E: AsyncRead + Unpin,
    F: Future<Output = S>,
{
    let progress = AtomicUsize::new(0);
    let pipes = drive(stdin, input, stdout, stderr, limit, &progress);
    let finished = match mode {
        WaitMode::Alongside => collect(pipes, wait, &progress).await,
        WaitMode::AfterOutput => match pipes.await {
            Ok(pipes) => Ok(Finished::Done(pipes, wait.await)),
            Err(e) => Err(e),
        },
    };
    match finished {
        Ok(Finished::Done(pipes, status)) => Ok((pipes, status)),
        Ok(Finished::HeldOpen(status)) => Err(held_open(code(&status))),
        Err(PipeError::TooMuchOutput { limit }) => Err((
            ErrorKind::OutputTooLarge,
            format!("more than {limit} bytes"),
        )),
        Err(PipeError::Io(e)) => Err((ErrorKind::Io, format!("talking to {medium}: {e}"))),
    }
}

/// The error for a command that exited while something it started still holds
/// its output open (`daemon &` without redirecting its output).
fn held_open(status: Option<i32>) -> (ErrorKind, String) {
    (
        ErrorKind::Remote,
        format!(
            "the command exited ({}) but a process it started still holds its output open; sshfix stopped reading",
            status.map_or("by signal".to_string(), |s| format!("status {s}"))
        ),
    )
}
