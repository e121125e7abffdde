//! Opening a terminal line: `unix:PATH` and `tcp:HOST:PORT` are connected
//! directly; anything else is a command (`virsh console web1`, `ipmitool …
//! sol activate`) run by `sh -c` on a local pseudo-terminal in raw mode, as
//! expect does, so tools that insist on a terminal work and every byte sshfix
//! sends (Enter, Ctrl-C) reaches the line unchanged.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

/// Where `sshfix_console` points for a serial console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Unix(String),
    Tcp { host: String, port: u16 },
    Command(String),
}

/// Parses `sshfix_console` for `sshfix_console_kind: serial`.
pub fn parse(console: &str) -> Result<Address, String> {
    let console = console.trim();
    if let Some(path) = console.strip_prefix("unix:") {
        if path.is_empty() {
            return Err("`unix:` needs a socket path (`unix:/run/web1.console`)".into());
        }
        return Ok(Address::Unix(path.into()));
    }
    if let Some(rest) = console.strip_prefix("tcp:") {
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("`tcp:{rest}` needs a port (`tcp:HOST:PORT`)"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("`tcp:{rest}`: `{port}` is not a port number"))?;
        if host.is_empty() {
            return Err(format!("`tcp:{rest}` needs a host"));
        }
        return Ok(Address::Tcp {
            host: host.into(),
            port,
        });
    }
    Ok(Address::Command(console.into()))
}

pub type Reader = Box<dyn AsyncRead + Send + Unpin>;
pub type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// An open line: its two directions and, for a command, the process.
pub struct Line {
    pub reader: Reader,
    pub writer: Writer,
    pub child: Option<tokio::process::Child>,
}

/// How long connecting to a socket may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Opens the line.
pub async fn open(address: &Address) -> Result<Line, String> {
    match address {
        Address::Unix(path) => {
            let s = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::UnixStream::connect(path))
                .await
                .map_err(|_| format!("connecting to `unix:{path}` timed out"))?
                .map_err(|e| format!("connecting to `unix:{path}`: {e}"))?;
            let (r, w) = s.into_split();
            Ok(Line {
                reader: Box::new(r),
                writer: Box::new(w),
                child: None,
            })
        }
        Address::Tcp { host, port } => {
            let s = tokio::time::timeout(
                CONNECT_TIMEOUT,
                tokio::net::TcpStream::connect((host.as_str(), *port)),
            )
            .await
            .map_err(|_| format!("connecting to `tcp:{host}:{port}` timed out"))?
            .map_err(|e| format!("connecting to `tcp:{host}:{port}`: {e}"))?;
            let _ = s.set_nodelay(true);
            let (r, w) = s.into_split();
            Ok(Line {
                reader: Box::new(r),
                writer: Box::new(w),
                child: None,
            })
        }
        Address::Command(command) => spawn(command),
    }
}

/// Runs `command` on a fresh pseudo-terminal (its own session, the terminal
/// as its controlling one) in raw mode.
fn spawn(command: &str) -> Result<Line, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{what} for `{command}`: {e}");
    let (pty, pts) = pty_process::open().map_err(|e| fail("opening a pseudo-terminal", &e))?;
    let mut mode =
        nix::sys::termios::tcgetattr(&pts).map_err(|e| fail("reading the terminal mode", &e))?;
    nix::sys::termios::cfmakeraw(&mut mode);
    nix::sys::termios::tcsetattr(&pts, nix::sys::termios::SetArg::TCSANOW, &mode)
        .map_err(|e| fail("setting the terminal to raw mode", &e))?;
    // wide, so that echoed lines wrap less
    let _ = pty.resize(pty_process::Size::new(50, 250));
    let child = with_default_interrupt(
        pty_process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .kill_on_drop(true),
    )
    .spawn(pts)
    .map_err(|e| fail("starting the console command", &e))?;
    let (r, w) = pty.into_split();
    Ok(Line {
        reader: Box::new(r),
        writer: Box::new(w),
        child: Some(child),
    })
}

/// Gives the console command the default action for Ctrl-C and Ctrl-\\.
///
/// sshfix started from a script with `&` (or by a supervisor that ignores
/// them) inherits SIGINT and SIGQUIT ignored, and so would the command and a
/// shell it starts locally (`lxc-attach`, `ip netns exec … sh`): a shell keeps
/// ignoring signals ignored at its start, so the Ctrl-C sshfix types to stop
/// an abandoned command would reach processes that ignore it, and the
/// console's shell would stay busy.
#[allow(unsafe_code)]
fn with_default_interrupt(command: pty_process::Command) -> pty_process::Command {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // SAFETY: runs in the forked child before exec; `signal` (sigaction) is
    // async-signal-safe, and the closure neither allocates nor locks.
    unsafe {
        command.pre_exec(|| {
            for s in [Signal::SIGINT, Signal::SIGQUIT] {
                signal(s, SigHandler::SigDfl).map_err(std::io::Error::from)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse() {
        assert_eq!(
            parse("unix:/run/vm/web1.serial"),
            Ok(Address::Unix("/run/vm/web1.serial".into()))
        );
        assert_eq!(
            parse("tcp:ts1.example.net:7012"),
            Ok(Address::Tcp {
                host: "ts1.example.net".into(),
                port: 7012
            })
        );
        assert_eq!(
            parse("tcp:[fd00::5]:7001"),
            Ok(Address::Tcp {
                host: "fd00::5".into(),
                port: 7001
            })
        );
        assert_eq!(
            parse("virsh console --force web1"),
            Ok(Address::Command("virsh console --force web1".into()))
        );
        for (bad, want) in [
            ("unix:", "needs a socket path"),
            ("tcp:ts1", "needs a port"),
            ("tcp:ts1:0", "is not a port number"),
            ("tcp:ts1:x", "is not a port number"),
            ("tcp::23", "needs a host"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }
}
