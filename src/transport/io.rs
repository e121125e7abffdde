//! Driving a child's pipes: write its stdin while reading stdout and stderr
//! (so neither side can block the other), with a cap on how much output is kept.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Output beyond this many bytes (stdout + stderr) fails the command.
pub const DEFAULT_OUTPUT_LIMIT: usize = 64 * 1024 * 1024;

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
/// `stderr` until both end. A child that exits without reading all its input
/// is not an error (a broken pipe on stdin is ignored).
pub async fn drive<W, O, E>(
    stdin: Option<W>,
    input: &[u8],
    stdout: Option<O>,
    stderr: Option<E>,
    limit: usize,
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
    let total = std::sync::atomic::AtomicUsize::new(0);
    let read_out = read_capped(stdout, &total, limit);
    let read_err = read_capped(stderr, &total, limit);
    let (w, out, err) = tokio::join!(write, read_out, read_err);
    let out = out?;
    let err = err?;
    w?;
    Ok((out, err))
}

async fn read_capped<R: AsyncRead + Unpin>(
    reader: Option<R>,
    total: &std::sync::atomic::AtomicUsize,
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
        let seen = total.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
        if seen > limit {
            return Err(PipeError::TooMuchOutput { limit });
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
