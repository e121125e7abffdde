//! The expect-style driver of one serial console: wake the line, log in,
//! switch to a known `/bin/sh` with echo off, then run each command by
//! uploading it in acknowledged base64 windows, reading its status and
//! output back in hashed base64 frames (asking again when noise on the line
//! corrupted one), and logging out at the end. Every wait has a deadline and
//! its error says what was expected and the last bytes seen.
//!
//! One command at a time per line; a command whose caller gave up (its
//! future was dropped) leaves the session marked, and the next command first
//! interrupts it (Ctrl-C) and waits for the shell to answer a sync sentinel.

use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::line::{self, Line, Writer};
use super::protocol::{self, Timeouts, WINDOW};
use super::screen::{self, Screen, Tail};
use crate::transport::command::{fill_random, Invocation, Secret};
use crate::transport::{ErrorKind, Exec, RawOutput};

/// How long a line that has not answered an Enter at all gets before the
/// next one (a console command may take that long to start).
const FIRST_ANSWER: Duration = Duration::from_secs(2);

/// How to log in when the line shows `login:`.
#[derive(Debug, Clone, Default)]
pub struct Login {
    pub user: Option<String>,
    pub password: Option<Secret>,
}

type Fail = (ErrorKind, String);

/// A serial console as an [`Exec`] medium.
pub struct SerialExec {
    session: tokio::sync::Mutex<Session>,
}

impl SerialExec {
    /// Opens `console` (`unix:…`, `tcp:…` or a command), logs in if asked,
    /// and prepares the shell. Errors are [`ErrorKind::Connect`] unless the
    /// settings are at fault.
    pub async fn open(console: &str, login: Login, timeouts: Timeouts) -> Result<SerialExec, Fail> {
        let address = line::parse(console).map_err(|m| (ErrorKind::Unsupported, m))?;
        let line = line::open(&address)
            .await
            .map_err(|m| (ErrorKind::Connect, m))?;
        let mut session = Session::new(line, timeouts);
        if let Some(p) = &login.password {
            session.screen.add_secret(p.expose().as_bytes());
        }
        let ready = async {
            session.wake(&login).await?;
            session.start_shell().await
        }
        .await;
        if let Err(e) = ready {
            // a shell reached (logged in) must not stay open on the console
            session.logout().await;
            session.shutdown().await;
            return Err(e);
        }
        Ok(SerialExec {
            session: tokio::sync::Mutex::new(session),
        })
    }
}

#[async_trait]
impl Exec for SerialExec {
    fn kind(&self) -> &'static str {
        "console-serial"
    }

    async fn exec(
        &self,
        invocation: &Invocation,
        stdin: &[u8],
        limit: usize,
    ) -> Result<RawOutput, Fail> {
        self.session
            .lock()
            .await
            .run(invocation, stdin, limit)
            .await
    }

    async fn close(&mut self) -> Result<(), String> {
        let session = self.session.get_mut();
        session.logout().await;
        session.shutdown().await;
        Ok(())
    }
}

struct Session {
    writer: Writer,
    incoming: mpsc::Receiver<Vec<u8>>,
    reader: tokio::task::JoinHandle<()>,
    child: Option<tokio::process::Child>,
    screen: Screen,
    timeouts: Timeouts,
    /// Random per session: every sentinel starts `<NONCE:`.
    nonce: String,
    /// Numbers commands and sync probes.
    counter: u32,
    /// A command that did not finish talking (its caller gave up).
    dirty: Option<String>,
    /// A shell was reached (logged in, or found): log out at the end.
    shell: bool,
    /// Why the session can no longer be trusted (a failed resync).
    broken: Option<String>,
}

impl Session {
    fn new(line: Line, timeouts: Timeouts) -> Session {
        let Line {
            mut reader,
            writer,
            child,
        } = line;
        let (tx, incoming) = mpsc::channel(64);
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            // a pty says EIO once the other side is gone: the line closed
            while let Ok(n) = reader.read(&mut buf).await {
                if n == 0 || tx.send(buf[..n].to_vec()).await.is_err() {
                    break;
                }
            }
        });
        let mut nonce = [0u8; 8];
        fill_random(&mut nonce);
        Session {
            writer,
            incoming,
            reader,
            child,
            screen: Screen::new(),
            timeouts,
            nonce: format!("sfx{}", hex::encode(nonce)),
            counter: 0,
            dirty: None,
            shell: false,
            broken: None,
        }
    }

    fn next(&mut self) -> u32 {
        self.counter += 1;
        self.counter
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), Fail> {
        let step = self.timeouts.step;
        let io = async {
            self.writer.write_all(bytes).await?;
            self.writer.flush().await
        };
        let io = tokio::time::timeout(step, io).await.unwrap_or_else(|_| {
            Err(std::io::Error::other(format!(
                "the line took no input for {}s",
                step.as_secs()
            )))
        });
        io.map_err(|e| {
            (
                ErrorKind::Io,
                format!(
                    "writing to the serial console failed ({e}); last bytes seen: {}",
                    self.screen.last_seen(300)
                ),
            )
        })
    }

    async fn send_line(&mut self, line: &str) -> Result<(), Fail> {
        self.send(format!("{line}\n").as_bytes()).await
    }

    /// Reads what arrives until the line has been quiet for `quiet`, at most `max`.
    async fn settle(&mut self, quiet: Duration, max: Duration) -> Result<(), Fail> {
        let end = Instant::now() + max;
        loop {
            let until = (Instant::now() + quiet).min(end);
            match tokio::time::timeout_at(until, self.incoming.recv()).await {
                Ok(Some(bytes)) => self.screen.feed(&bytes),
                Ok(None) => return Err(self.closed(ErrorKind::Connect, "login or shell prompt")),
                Err(_) => return Ok(()),
            }
            if Instant::now() >= end {
                return Ok(());
            }
        }
    }

    /// Waits up to `max` for the line to send anything at all.
    async fn first_answer(&mut self, max: Duration) -> Result<(), Fail> {
        match tokio::time::timeout(max, self.incoming.recv()).await {
            Ok(Some(bytes)) => {
                self.screen.feed(&bytes);
                Ok(())
            }
            Ok(None) => Err(self.closed(ErrorKind::Connect, "login or shell prompt")),
            Err(_) => Ok(()),
        }
    }

    fn closed(&self, kind: ErrorKind, what: &str) -> Fail {
        (
            kind,
            format!(
                "the serial console line closed while sshfix waited for the {what}; last bytes seen: {}",
                self.screen.last_seen(300)
            ),
        )
    }

    /// Waits until `f` finds what it looks for; `within: None` waits as long
    /// as the caller does (a running command, bounded by the transport).
    async fn wait<T>(
        &mut self,
        within: Option<Duration>,
        kind: ErrorKind,
        what: &str,
        mut f: impl FnMut(&mut Screen) -> Option<T>,
    ) -> Result<T, Fail> {
        let deadline = within.map(|d| Instant::now() + d);
        loop {
            if let Some(t) = f(&mut self.screen) {
                return Ok(t);
            }
            let got = match deadline {
                Some(d) => match tokio::time::timeout_at(d, self.incoming.recv()).await {
                    Ok(got) => got,
                    Err(_) => {
                        return Err((
                            kind,
                            format!(
                                "no {what} on the serial console within {}s; last bytes seen: {}",
                                within.unwrap_or_default().as_secs_f64(),
                                self.screen.last_seen(300)
                            ),
                        ))
                    }
                },
                None => self.incoming.recv().await,
            };
            match got {
                Some(bytes) => self.screen.feed(&bytes),
                None => return Err(self.closed(kind, what)),
            }
        }
    }

    /// Types a sync probe and waits up to `within` for its answer. With
    /// `clear`, a Ctrl-U first drops anything half-typed on the line — not
    /// right after `exec`, when the old shell's line editor may still hold
    /// the terminal in raw mode and the new shell would read it literally.
    async fn probe(&mut self, within: Duration, clear: bool) -> Result<bool, Fail> {
        let k = self.next();
        let clear = if clear { "\x15" } else { "" };
        let line = format!("{clear}{}", protocol::sync_line(&self.nonce, k));
        self.send_line(&line).await?;
        let marker = protocol::sync_marker(&self.nonce, k);
        match self
            .wait(Some(within), ErrorKind::Connect, "shell", |s| {
                s.take_until(marker.as_bytes())
            })
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.1.starts_with("no shell") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Presses Enter until a login prompt (then logs in) or a shell shows.
    async fn wake(&mut self, login: &Login) -> Result<(), Fail> {
        let t = self.timeouts;
        let started = Instant::now();
        let mut round = 0u32;
        let mut interrupted_password = false;
        let mut at_enter = 0;
        while started.elapsed() < t.wake {
            // a slow line may show its prompt only after the last look: look
            // again before another Enter (at a password prompt each Enter is a
            // failed attempt), and give a line that has not answered the last
            // Enter at all (a console command still starting) a while longer
            let press = round == 0 || {
                if self.screen.received() == at_enter {
                    let left = t.wake.saturating_sub(started.elapsed());
                    self.first_answer(left.min(FIRST_ANSWER)).await?;
                }
                self.settle(t.settle, Duration::from_secs(3)).await?;
                !matches!(self.screen.tail(), Tail::Password | Tail::Login)
            };
            if press {
                at_enter = self.screen.received();
                self.send(b"\r").await?;
                self.settle(t.settle, Duration::from_secs(3)).await?;
            }
            match self.screen.tail() {
                Tail::Login => return self.login(login).await,
                // a password prompt sshfix did not cause (a half-typed login,
                // a `sudo` waiting): every Enter there would be a failed
                // attempt, so Ctrl-C it once, and give up if it stays
                Tail::Password => {
                    if interrupted_password {
                        return Err(self.foreign_password_prompt());
                    }
                    interrupted_password = true;
                    let seen = self.screen.unread().len();
                    self.send(b"\x03").await?;
                    self.settle(t.settle, Duration::from_secs(3)).await?;
                    // nothing new but the terminal's echo of Ctrl-C, or the
                    // prompt again: no Enter may follow
                    let after = &self.screen.unread()[seen..];
                    if screen::only_ctrl_c_echo(after) || self.screen.tail() == Tail::Password {
                        return Err(self.foreign_password_prompt());
                    }
                    continue;
                }
                tail => {
                    // something that is not a prompt may be a busy shell or one
                    // with an empty prompt (an earlier sshfix session): probe,
                    // after a Ctrl-C from the third round on
                    if tail == Tail::Prompt || round >= 1 {
                        if round >= 2 {
                            self.send(b"\x03").await?;
                            self.settle(t.settle, Duration::from_secs(2)).await?;
                        }
                        let left = t.wake.saturating_sub(started.elapsed());
                        if self.probe(left.min(Duration::from_secs(3)), true).await? {
                            self.shell = true;
                            return Ok(());
                        }
                        if self.screen.tail() == Tail::Login {
                            return self.login(login).await;
                        }
                    }
                }
            }
            round += 1;
        }
        Err((
            ErrorKind::Connect,
            format!(
                "the serial console showed no login or shell prompt within {}s (Enter pressed {round} times); last bytes seen: {}",
                t.wake.as_secs(),
                self.screen.last_seen(300)
            ),
        ))
    }

    fn foreign_password_prompt(&self) -> Fail {
        (
            ErrorKind::Connect,
            format!(
                "the serial console is at a password prompt sshfix did not start, and Ctrl-C did not end it; sshfix sends no more Enter there (each would be a failed attempt); end it by hand; last bytes seen: {}",
                self.screen.last_seen(200)
            ),
        )
    }

    /// At a `login:` prompt: user, password, and a shell — or a clear refusal.
    async fn login(&mut self, login: &Login) -> Result<(), Fail> {
        let t = self.timeouts;
        let Some(user) = login.user.clone() else {
            return Err((
                ErrorKind::Unsupported,
                format!(
                    "the serial console asks for a login but `sshfix_console_login` is not set; last bytes seen: {}",
                    self.screen.last_seen(200)
                ),
            ));
        };
        self.screen.skip_all();
        self.send(format!("{user}\r").as_bytes()).await?;
        let asked = self
            .wait(
                Some(t.step),
                ErrorKind::Connect,
                "password prompt or shell prompt",
                |s| match s.tail() {
                    Tail::Password | Tail::Prompt => Some(s.tail()),
                    _ if screen::login_failed(s.unread()) => Some(Tail::Login),
                    _ => None,
                },
            )
            .await?;
        if asked == Tail::Password {
            let Some(password) = &login.password else {
                return Err((
                    ErrorKind::Unsupported,
                    format!("the serial console asks for the password of `{user}` but `sshfix_console_password_env` is not set"),
                ));
            };
            let typed = format!("{}\r", password.expose());
            self.screen.skip_all();
            self.send(typed.as_bytes()).await?;
            let outcome = self
                .wait(
                    Some(t.login),
                    ErrorKind::Connect,
                    "shell prompt after logging in",
                    |s| {
                        // the prompt first: a motd may say "permission denied"
                        match s.tail() {
                            Tail::Login => Some(false),
                            Tail::Prompt => Some(true),
                            _ if s.contains_ci("login incorrect") => Some(false),
                            _ => None,
                        }
                    },
                )
                .await?;
            if !outcome {
                return Err(
                    self.refused(&user, "wrong password, or the account may not log in there")
                );
            }
        } else if asked == Tail::Login {
            return Err(self.refused(&user, "the console did not ask for a password"));
        }
        // motd and the prompt may still be coming
        self.settle(t.settle, Duration::from_secs(3)).await?;
        if self.probe(Duration::from_secs(5), true).await? {
            return Ok(());
        }
        Err((
            ErrorKind::Connect,
            format!(
                "logged in as `{user}` but the serial console gave no working shell; last bytes seen: {}",
                self.screen.last_seen(300)
            ),
        ))
    }

    fn refused(&self, user: &str, why: &str) -> Fail {
        (
            ErrorKind::Connect,
            format!(
                "the serial console refused the login of `{user}` ({why}); sshfix does not try again, so the account is not locked out; last bytes seen: {}",
                self.screen.last_seen(200)
            ),
        )
    }

    /// Switches to `/bin/sh`, sets it up, and checks the tools it needs.
    async fn start_shell(&mut self) -> Result<(), Fail> {
        let step = self.timeouts.step;
        self.send_line("exec /bin/sh").await?;
        if !self.probe(step, false).await? {
            return Err((
                ErrorKind::Connect,
                format!(
                    "`/bin/sh` did not answer on the serial console; last bytes seen: {}",
                    self.screen.last_seen(300)
                ),
            ));
        }
        self.shell = true;
        for line in protocol::setup_lines(&self.nonce) {
            self.send_line(&line).await?;
        }
        let prefix = format!("<{}:", self.nonce);
        let fields = self
            .wait(
                Some(step),
                ErrorKind::Connect,
                "ready sentinel after setting up the shell",
                |s| s.take_marker(&prefix),
            )
            .await?;
        let missing: Vec<String> = fields
            .first()
            .filter(|f| *f == "ready")
            .map(|_| {
                fields[1..]
                    .join(" ")
                    .split_whitespace()
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_else(|| vec![format!("(unexpected answer {fields:?})")]);
        if !missing.is_empty() {
            return Err((
                ErrorKind::Connect,
                format!(
                    "the host lacks {} (the serial console transport needs {})",
                    missing.join(", "),
                    protocol::NEEDED.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// Runs one invocation (see [`protocol`] for what the host does).
    async fn run(
        &mut self,
        invocation: &Invocation,
        stdin: &[u8],
        limit: usize,
    ) -> Result<RawOutput, Fail> {
        if let Some(why) = &self.broken {
            return Err((ErrorKind::Io, why.clone()));
        }
        // cleared only once the resync is complete: a caller giving up
        // during it leaves the next one to do it again
        if let Some(old) = self.dirty.clone() {
            if let Err(e) = self.resync(&old).await {
                self.broken = Some(e.1.clone());
                return Err(e);
            }
            self.dirty = None;
        }
        let program =
            protocol::program(invocation).map_err(|e| (ErrorKind::Unsupported, e.to_string()))?;
        let program_sha = screen::sha256_hex(program.as_bytes());
        let stdin_sha = (!stdin.is_empty()).then(|| screen::sha256_hex(stdin));
        for attempt in 1..=3 {
            let id = format!("c{}", self.next());
            self.dirty = Some(id.clone());
            let line = protocol::run_line(&id, &program_sha, stdin_sha.as_deref(), limit + 1);
            self.send_line(&line).await?;
            self.upload(&format!("{id}.p"), program.as_bytes()).await?;
            if stdin_sha.is_some() {
                self.upload(&format!("{id}.i"), stdin).await?;
            }
            let prefix = format!("<{}:{id}:", self.nonce);
            let fields = self
                .wait(None, ErrorKind::Io, "result of the command", |s| {
                    s.take_marker(&prefix)
                })
                .await?;
            match fields.first().map(String::as_str) {
                Some("bad") if attempt < 3 => {
                    tracing::info!("serial console: {id} arrived corrupted ({fields:?}); sending it again");
                    self.finish(&id).await?;
                    continue;
                }
                Some("res") if fields.len() == 4 => {
                    let status = fields[1].parse::<i32>().ok();
                    let sizes = (fields[2].parse::<usize>(), fields[3].parse::<usize>());
                    let (Ok(olen), Ok(elen)) = sizes else {
                        return Err((ErrorKind::Io, format!("the serial console gave a garbled result {fields:?}")));
                    };
                    if olen + elen > limit {
                        self.finish(&id).await?;
                        return Err((ErrorKind::OutputTooLarge, "too much output".into()));
                    }
                    let stdout = self.frame(&id, "o", olen).await?;
                    let stderr = self.frame(&id, "e", elen).await?;
                    self.finish(&id).await?;
                    return Ok(RawOutput { stdout, stderr, status });
                }
                Some("bad") => {
                    self.finish(&id).await?;
                    return Err((
                        ErrorKind::Io,
                        format!(
                            "the command's data arrived corrupted over the serial console 3 times ({}); nothing was run",
                            fields.join(" ")
                        ),
                    ));
                }
                // a result sentinel broken by noise on the line: the command
                // may well have run, so never say it did not
                _ => {
                    return Err((
                        ErrorKind::Io,
                        format!(
                            "the serial console garbled the result of a command ({}); whether it ran is unknown; last bytes seen: {}",
                            fields.join(" "),
                            self.screen.last_seen(200)
                        ),
                    ))
                }
            }
        }
        unreachable!("the loop returns on its last attempt")
    }

    /// The command is over: its files go, the session is clean.
    async fn finish(&mut self, id: &str) -> Result<(), Fail> {
        self.send_line(&protocol::remove_line(id)).await?;
        self.dirty = None;
        Ok(())
    }

    /// Sends `data` to `sfx_rx TAG` in windows, each acknowledged.
    async fn upload(&mut self, tag: &str, data: &[u8]) -> Result<(), Fail> {
        let step = Some(self.timeouts.step);
        let prefix = format!("<{}:{tag}:", self.nonce);
        self.wait(
            step,
            ErrorKind::Io,
            "sign that the host is ready to receive data",
            |s| s.take_marker_where(&prefix, |f| f.first().is_some_and(|f| f == "rx")),
        )
        .await?;
        let lines = screen::encode_lines(data);
        let mut sent = 0;
        for window in lines.chunks(WINDOW) {
            let mut text = window.join("\n");
            text.push('\n');
            self.send(text.as_bytes()).await?;
            sent += window.len();
            if window.len() == WINDOW {
                let want = ["ack".to_string(), sent.to_string()];
                self.wait(step, ErrorKind::Io, "acknowledgement of sent data", |s| {
                    s.take_marker_where(&prefix, |f| f[..] == want[..])
                })
                .await?;
            }
        }
        self.send_line(".").await
    }

    /// Receives output `name` of command `id`, asking again if it arrives corrupted.
    async fn frame(&mut self, id: &str, name: &str, len: usize) -> Result<Vec<u8>, Fail> {
        let step = Some(
            self.timeouts
                .step
                .max(Duration::from_secs(len as u64 / 100_000)),
        );
        let prefix = format!("<{}:{id}:", self.nonce);
        for attempt in 1..=3 {
            self.wait(step, ErrorKind::Io, "start of the command's output", |s| {
                s.take_marker_where(&prefix, |f| f.len() == 2 && f[0] == "begin" && f[1] == name)
            })
            .await?;
            let (body, fields) = self
                .wait(step, ErrorKind::Io, "end of the command's output", |s| {
                    s.take_frame(&prefix)
                })
                .await?;
            let (want_len, sha) = match &fields[..] {
                [end, n, l, sha] if end == "end" && n == name => {
                    (l.parse::<usize>().ok(), sha.clone())
                }
                _ => (None, String::new()),
            };
            if want_len == Some(len) {
                match screen::decode_frame(&body, len, &sha) {
                    Ok(data) => return Ok(data),
                    Err(e) => tracing::info!("serial console: output {name} of {id} corrupted ({e:?}), attempt {attempt}"),
                }
            }
            if attempt < 3 {
                self.send_line(&protocol::resend_line(id, name)).await?;
            }
        }
        Err((
            ErrorKind::Io,
            format!("the command's output arrived corrupted 3 times over the serial console (noise on the line?); last bytes seen: {}", self.screen.last_seen(200)),
        ))
    }

    /// After a command whose caller gave up: interrupt it, wait for the shell.
    async fn resync(&mut self, old: &str) -> Result<(), Fail> {
        for _ in 0..2 {
            self.send(b"\x03").await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            if self.probe(Duration::from_secs(5), true).await? {
                self.screen.skip_all();
                self.send_line(&protocol::kill_line(old)).await?;
                return Ok(());
            }
        }
        Err((
            ErrorKind::Io,
            format!(
                "the serial console did not come back after an interrupted command; last bytes seen: {}",
                self.screen.last_seen(300)
            ),
        ))
    }

    /// Logs out (only a shell sshfix set up), briefly waiting for the line to say so.
    async fn logout(&mut self) {
        if !self.shell {
            return;
        }
        if self.dirty.is_some() {
            let _ = self.send(b"\x03").await;
        }
        if self
            .send_line(&format!("\x15{}", protocol::LOGOUT))
            .await
            .is_ok()
        {
            let _ = self
                .wait(Some(Duration::from_secs(3)), ErrorKind::Io, "logout", |s| {
                    (s.tail() == Tail::Login).then_some(())
                })
                .await;
        }
        self.shell = false;
    }

    /// Closes the line and ends the console command (SIGHUP by the closing
    /// terminal, then SIGKILL to its process group after 1.5 s).
    async fn shutdown(&mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.writer.shutdown()).await;
        // dropping both halves closes a pty: the command gets SIGHUP
        self.writer = Box::new(tokio::io::sink());
        self.reader.abort();
        let _ = (&mut self.reader).await;
        self.incoming.close();
        if let Some(mut child) = self.child.take() {
            let pid = child.id().and_then(|p| i32::try_from(p).ok());
            let exited = tokio::time::timeout(Duration::from_millis(1500), child.wait()).await;
            // what the command started in its session (script, socat) goes
            // too; its process group id stays reserved while any member lives
            if let Some(pid) = pid {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            if exited.is_err() {
                let _ = child.kill().await;
            }
        }
    }
}
