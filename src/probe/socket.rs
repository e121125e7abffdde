//! The I/O half of the probe: resolve, connect, send our identification and read
//! until the bytes are decisive, recording what happened as an [`Observation`].
//!
//! It does what `ssh` does before key exchange, and nothing more:
//! - resolve the name (bounded by the connect timeout; the resolver's own
//!   message is kept);
//! - try each address in the resolver's order with the connect timeout, like
//!   ssh's `ssh_connect_direct()`;
//! - right after connecting, write [`CLIENT_IDENTIFICATION`] — a server that
//!   closes without reading it then sends a reset, which is what OpenSSH
//!   clients see behind TCP wrappers;
//! - read until [`scan`] finds an identification or an invalid line, the peer
//!   closes or resets, [`MAX_BYTES`] arrive, or the banner timeout (one deadline
//!   for write and reads, counted from the connection) passes.
//!
//! Nothing here decides a symptom; [`super::classify`] does.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};

use super::classify::{
    scan, Attempt, Connect, Exchange, ExchangeEnd, Observation, OsError, Scan, MAX_BYTES,
};
use super::{ProbeOptions, ProbeTarget};

/// What the probe says about itself (RFC 4253 §4.2).
pub use super::classify::CLIENT_IDENTIFICATION;

/// Probes one target; every step is bounded by `options`' timeouts.
pub async fn observe(target: &ProbeTarget, options: ProbeOptions) -> Observation {
    let start = Instant::now();
    let (connect, first_byte, connect_time) = connect_and_exchange(target, options, start).await;
    Observation {
        address: target.address.clone(),
        port: target.port,
        connect,
        connect_time,
        first_byte,
        total: start.elapsed(),
    }
}

async fn connect_and_exchange(
    target: &ProbeTarget,
    options: ProbeOptions,
    start: Instant,
) -> (Connect, Option<Duration>, Duration) {
    let addrs = match resolve(target, options.connect_timeout).await {
        Ok(addrs) => addrs,
        Err(message) => return (Connect::ResolveFailed(message), None, start.elapsed()),
    };
    let mut attempts = Vec::new();
    for addr in addrs {
        match timeout(options.connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let connect_time = start.elapsed();
                let peer = stream.peer_addr().unwrap_or(addr);
                let (exchange, first_byte) = exchange(stream, options.banner_timeout).await;
                return (
                    Connect::Connected { peer, exchange },
                    first_byte,
                    connect_time,
                );
            }
            Ok(Err(e)) => attempts.push(Attempt {
                addr,
                error: os_error(&e),
            }),
            Err(_) => attempts.push(Attempt {
                addr,
                error: OsError::TimedOut,
            }),
        }
    }
    (Connect::Failed(attempts), None, start.elapsed())
}

/// The target's addresses in the resolver's order, or the resolver's message.
async fn resolve(target: &ProbeTarget, limit: Duration) -> Result<Vec<SocketAddr>, String> {
    // `[::1]` as written in URLs and ssh's `-J` syntax means `::1`.
    let host = target
        .address
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&target.address);
    match timeout(limit, tokio::net::lookup_host((host, target.port))).await {
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err("No address associated with hostname".to_string())
            } else {
                Ok(addrs)
            }
        }
        Ok(Err(e)) => Err(resolver_message(&e)),
        Err(_) => Err(format!(
            "name resolution timed out after {:.1}s",
            limit.as_secs_f64()
        )),
    }
}

/// The resolver's own words (`gai_strerror`), without Rust's prefix.
fn resolver_message(e: &io::Error) -> String {
    let text = e.to_string();
    match text.strip_prefix("failed to lookup address information: ") {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

/// Sends our identification and reads until the bytes are decisive or the
/// exchange ends. Returns the exchange and when the first byte came.
async fn exchange(mut stream: TcpStream, banner_timeout: Duration) -> (Exchange, Option<Duration>) {
    let connected = Instant::now();
    let deadline = connected + banner_timeout;
    let mut received = Vec::new();
    let mut first_byte = None;

    let write_error = match timeout_at(deadline, stream.write_all(CLIENT_IDENTIFICATION)).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(os_error(&e)),
        Err(_) => {
            let exchange = Exchange {
                received,
                end: ExchangeEnd::Timeout,
            };
            return (exchange, first_byte);
        }
    };

    // After a failed write, still read what the server sent before it went
    // away: that is the evidence.
    let mut buf = [0u8; 1024];
    let read_end = loop {
        if received.len() >= MAX_BYTES {
            break ExchangeEnd::Limit;
        }
        let room = buf.len().min(MAX_BYTES - received.len());
        match timeout_at(deadline, stream.read(&mut buf[..room])).await {
            Err(_) => break ExchangeEnd::Timeout,
            Ok(Ok(0)) => break ExchangeEnd::Eof,
            Ok(Ok(n)) => {
                first_byte.get_or_insert_with(|| connected.elapsed());
                received.extend_from_slice(&buf[..n]);
                if scan(&received) != Scan::Incomplete {
                    break ExchangeEnd::Decided;
                }
            }
            Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Ok(Err(e)) => break ExchangeEnd::ReadError(os_error(&e)),
        }
    };
    let end = match (write_error, read_end) {
        (_, ExchangeEnd::Decided) => ExchangeEnd::Decided,
        (Some(error), _) => ExchangeEnd::WriteError(error),
        (None, end) => end,
    };
    (Exchange { received, end }, first_byte)
}

fn os_error(e: &io::Error) -> OsError {
    match e.raw_os_error() {
        Some(code) => OsError::Errno(code),
        None if e.kind() == io::ErrorKind::TimedOut => OsError::TimedOut,
        None => OsError::Other(e.to_string()),
    }
}

/// The controller's own source address toward `address:port` (what the host
/// sees as the client address of a direct connection), found by connecting a
/// UDP socket, which sends nothing. `None` when the name does not resolve in
/// time or no route exists.
pub async fn source_address(address: &str, port: u16, limit: Duration) -> Option<std::net::IpAddr> {
    let target = ProbeTarget {
        host: String::new(),
        address: address.to_string(),
        port,
    };
    let addrs = resolve(&target, limit).await.ok()?;
    for addr in addrs {
        let bind: SocketAddr = if addr.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let Ok(socket) = tokio::net::UdpSocket::bind(bind).await else {
            continue;
        };
        if socket.connect(addr).await.is_ok() {
            if let Ok(local) = socket.local_addr() {
                return Some(local.ip());
            }
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    //! Loopback servers that misbehave the way real ones do.

    use super::*;
    use crate::probe::{classify::classify, Symptom};
    use tokio::net::TcpListener;

    /// How a test server treats each connection.
    #[derive(Debug, Clone)]
    pub(crate) enum Behaviour {
        /// Write these bytes, then read until the client closes.
        Greet(&'static [u8]),
        /// Write these bytes and close at once (reading nothing).
        WriteAndClose(&'static [u8]),
        /// Wait until the client's identification arrived, then close without
        /// reading it: the kernel answers with a reset (TCP wrappers).
        ResetAfterClientData,
        /// Read what the client sends, answer like a web server, close.
        Http400,
        /// Accept and never write.
        Silent,
        /// Send back whatever arrives (an echo service, a forwarding loop).
        Echo,
    }

    /// Starts a server on 127.0.0.1 and returns its port.
    pub(crate) async fn serve(behaviour: Behaviour) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(handle(stream, behaviour.clone()));
            }
        });
        port
    }

    async fn handle(mut stream: TcpStream, behaviour: Behaviour) {
        let mut buf = [0u8; 512];
        match behaviour {
            Behaviour::Greet(bytes) => {
                let _ = stream.write_all(bytes).await;
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
            }
            Behaviour::WriteAndClose(bytes) => {
                let _ = stream.write_all(bytes).await;
            }
            Behaviour::ResetAfterClientData => {
                let _ = stream.peek(&mut buf).await;
            }
            Behaviour::Http400 => {
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request")
                    .await;
            }
            Behaviour::Silent => while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {},
            Behaviour::Echo => {
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
    }

    pub(crate) fn target(host: &str, address: &str, port: u16) -> ProbeTarget {
        ProbeTarget {
            host: host.to_string(),
            address: address.to_string(),
            port,
        }
    }

    fn options() -> ProbeOptions {
        ProbeOptions {
            connect_timeout: Duration::from_secs(5),
            banner_timeout: Duration::from_secs(5),
        }
    }

    async fn probe(behaviour: Behaviour) -> (Observation, Symptom, String, Option<String>) {
        let port = serve(behaviour).await;
        let obs = observe(&target("t", "127.0.0.1", port), options()).await;
        let verdict = classify(&obs);
        (obs, verdict.symptom, verdict.detail, verdict.evidence)
    }

    #[tokio::test]
    async fn ok_from_an_openssh_banner() {
        let (obs, symptom, detail, evidence) = probe(Behaviour::Greet(
            b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
        ))
        .await;
        assert_eq!(symptom, Symptom::Ok);
        assert_eq!(detail, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3");
        assert_eq!(evidence, None);
        let Connect::Connected { peer, exchange } = &obs.connect else {
            panic!("not connected: {obs:?}");
        };
        assert_eq!(peer.ip().to_string(), "127.0.0.1");
        assert_eq!(exchange.end, ExchangeEnd::Decided);
        assert!(obs.first_byte.is_some());
    }

    #[tokio::test]
    async fn ok_after_pre_banner_lines() {
        let (_, symptom, detail, evidence) = probe(Behaviour::Greet(
            b"Authorized users only\r\n\r\nSSH-2.0-OpenSSH_9.2p1\r\n",
        ))
        .await;
        assert_eq!(symptom, Symptom::Ok);
        assert_eq!(detail, "SSH-2.0-OpenSSH_9.2p1");
        assert_eq!(
            evidence.as_deref(),
            Some("Authorized users only\\r\\n\\r\\n")
        );
    }

    /// An echo service returns our own identification: that is not sshd,
    /// whatever the line says (a real client would hang there).
    #[tokio::test]
    async fn echo_service_is_not_ssh() {
        let (_, symptom, detail, evidence) = probe(Behaviour::Echo).await;
        assert_eq!(symptom, Symptom::NotSsh);
        assert_eq!(
            detail,
            "the server echoed our own identification back (an echo service or a forwarding loop, not sshd)"
        );
        assert_eq!(evidence.as_deref(), Some("SSH-2.0-sshfix_probe"));
    }

    #[tokio::test]
    async fn closed_before_banner_after_openssh_9_8_drop() {
        let (_, symptom, _, evidence) =
            probe(Behaviour::WriteAndClose(b"Not allowed at this time\r\n")).await;
        assert_eq!(symptom, Symptom::ClosedBeforeBanner);
        assert_eq!(evidence.as_deref(), Some("Not allowed at this time\\r\\n"));
    }

    #[tokio::test]
    async fn closed_before_banner_after_maxstartups() {
        let (_, symptom, detail, evidence) =
            probe(Behaviour::WriteAndClose(b"Exceeded MaxStartups\r\n")).await;
        // sshd closes without reading; EOF or reset, it is the same symptom.
        assert_eq!(symptom, Symptom::ClosedBeforeBanner);
        assert_eq!(
            detail,
            "kex_exchange_identification: Connection closed by remote host"
        );
        assert_eq!(evidence.as_deref(), Some("Exceeded MaxStartups\\r\\n"));
    }

    #[tokio::test]
    async fn closed_before_banner_when_the_server_reads_first() {
        // Reads our identification, then writes MaxStartups' text and closes.
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            tokio::spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; CLIENT_IDENTIFICATION.len()];
                stream.read_exact(&mut buf).await.unwrap();
                assert_eq!(buf, CLIENT_IDENTIFICATION);
                stream.write_all(b"Exceeded MaxStartups\r\n").await.unwrap();
            });
            port
        };
        let obs = observe(&target("t", "127.0.0.1", port), options()).await;
        let verdict = classify(&obs);
        assert_eq!(verdict.symptom, Symptom::ClosedBeforeBanner);
        assert_eq!(
            verdict.detail,
            "kex_exchange_identification: Connection closed by remote host"
        );
        assert_eq!(
            verdict.evidence.as_deref(),
            Some("Exceeded MaxStartups\\r\\n")
        );
    }

    #[tokio::test]
    async fn reset_before_banner_when_our_identification_is_unread() {
        let (obs, symptom, detail, evidence) = probe(Behaviour::ResetAfterClientData).await;
        assert_eq!(symptom, Symptom::ResetBeforeBanner, "{obs:?}");
        assert_eq!(
            detail,
            "kex_exchange_identification: read: Connection reset by peer"
        );
        assert_eq!(evidence, None);
        assert_eq!(obs.first_byte, None);
    }

    #[tokio::test]
    async fn not_ssh_from_a_web_server() {
        let (_, symptom, detail, evidence) = probe(Behaviour::Http400).await;
        assert_eq!(symptom, Symptom::NotSsh);
        // The web server read our line, so it closes cleanly.
        assert_eq!(
            detail,
            "kex_exchange_identification: Connection closed by remote host"
        );
        assert!(
            evidence
                .as_deref()
                .unwrap()
                .starts_with("HTTP/1.1 400 Bad Request\\r\\n"),
            "{evidence:?}"
        );
    }

    #[tokio::test]
    async fn banner_timeout_from_a_silent_server() {
        let port = serve(Behaviour::Silent).await;
        let options = ProbeOptions {
            connect_timeout: Duration::from_secs(5),
            banner_timeout: Duration::from_millis(300),
        };
        let obs = observe(&target("t", "127.0.0.1", port), options).await;
        let verdict = classify(&obs);
        assert_eq!(verdict.symptom, Symptom::BannerTimeout);
        assert_eq!(
            verdict.detail,
            "Connection timed out during banner exchange"
        );
        assert!(obs.total >= Duration::from_millis(300), "{:?}", obs.total);
        assert!(obs.total < Duration::from_secs(5), "{:?}", obs.total);
    }

    #[tokio::test]
    async fn refused_on_a_closed_port() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let obs = observe(&target("t", "127.0.0.1", port), options()).await;
        let verdict = classify(&obs);
        assert_eq!(verdict.symptom, Symptom::Refused);
        assert_eq!(
            verdict.detail,
            format!("ssh: connect to host 127.0.0.1 port {port}: Connection refused")
        );
    }

    #[tokio::test]
    async fn connect_timeout_when_syns_are_dropped() {
        // A listener whose accept queue is full drops new SYNs (Linux), which
        // looks like a firewall `drop` to the client.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut fillers = Vec::new();
        for _ in 0..4 {
            if let Ok(Ok(stream)) =
                timeout(Duration::from_millis(200), TcpStream::connect(addr)).await
            {
                fillers.push(stream);
            }
        }
        let options = ProbeOptions {
            connect_timeout: Duration::from_millis(300),
            banner_timeout: Duration::from_secs(5),
        };
        let obs = observe(&target("t", "127.0.0.1", addr.port()), options).await;
        let verdict = classify(&obs);
        assert_eq!(verdict.symptom, Symptom::ConnectTimeout, "{obs:?}");
        assert_eq!(
            verdict.detail,
            format!(
                "ssh: connect to host 127.0.0.1 port {}: Connection timed out",
                addr.port()
            )
        );
        assert!(obs.total < Duration::from_secs(2), "{:?}", obs.total);
        drop((listener, fillers));
    }

    #[tokio::test]
    async fn unreachable_when_the_name_does_not_resolve() {
        let obs = observe(&target("t", "does-not-exist.invalid", 22), options()).await;
        assert!(matches!(obs.connect, Connect::ResolveFailed(_)), "{obs:?}");
        let verdict = classify(&obs);
        assert_eq!(verdict.symptom, Symptom::Unreachable);
        let message = verdict
            .detail
            .strip_prefix("ssh: Could not resolve hostname does-not-exist.invalid: ")
            .unwrap_or_else(|| panic!("{}", verdict.detail));
        assert!(!message.starts_with("failed to lookup"), "{message}");
        assert!(!message.is_empty());
    }

    #[tokio::test]
    async fn bracketed_ipv6_literal_is_accepted() {
        // `[::1]` must reach the resolver as `::1`; with or without IPv6 on
        // this machine the result is a connect outcome, never a DNS failure.
        let obs = observe(&target("t", "[::1]", 9), options()).await;
        assert!(!matches!(obs.connect, Connect::ResolveFailed(_)), "{obs:?}");
    }
}
