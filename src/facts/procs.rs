//! The process table as the facts script prints it: sshd listener title (`[listener] N of A-B startups`), inetd/xinetd/haproxy/fail2ban processes.
//!
//! Input: one process per line, `PID PPID COMM ARGS…`, as printed by
//! `ps -eo pid=,ppid=,comm=,args=` (procps: right-aligned numbers), busybox
//! `ps -o pid=,ppid=,comm=,args=` (same columns; `comm` is cut at 15 bytes, kernel
//! threads show `[comm]`), or the script's `/proc` loop (`PID PPID COMM ARGS`, single
//! spaces, NUL bytes of the command line turned into spaces). `comm` never contains
//! whitespace on the processes we look for, so the fourth field onwards is `args`.
//!
//! sshd rewrites its own command line (`setproctitle`). Titles captured from OpenSSH
//! 9.2p1 (see `tests/fixtures/facts/procs/README.md`):
//!
//! - listener: `sshd: /usr/sbin/sshd -f CONFIG -E LOG [listener] 2 of 2-2 startups`
//!   (the original command line, then the MaxStartups counters: current unauthenticated
//!   connections, then `begin-full` of `MaxStartups begin:rate:full`);
//! - a connection before the client sent anything useful: `sshd: [accepted]`, its
//!   unprivileged child: `sshd: [net]`; after authentication `sshd: root@notty`,
//!   `sshd: alice@pts/0` and the monitor `sshd: alice [priv]`.
//!
//! Older OpenSSH releases had no `[listener]` title (the listener shows its plain command
//! line, e.g. `/usr/sbin/sshd -D`): then [`SshdListener::startups`] is `None`.
//! OpenSSH 9.8+ runs connections as `sshd-session` (and 10.0 adds `sshd-auth`); both
//! names are recognised.

use serde::Serialize;

/// One row of the process table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Process {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Kernel `comm` (at most 15 bytes).
    pub comm: String,
    /// Command line or title, trailing padding removed.
    pub args: String,
    /// 1-based line in the input.
    pub line: usize,
}

pub use super::UnparsedLine;

/// The parsed process table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessTable {
    /// Processes in input order.
    pub processes: Vec<Process>,
    /// Lines that were not processes (headers, errors, garbage).
    pub unparsed: Vec<UnparsedLine>,
}

/// MaxStartups counters from the listener title `[listener] N of A-B startups`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Startups {
    /// Unauthenticated connections now.
    pub current: u32,
    /// `begin` of `MaxStartups begin:rate:full`: random drops start here.
    pub begin: u32,
    /// `full`: every new connection is dropped from here on.
    pub full: u32,
}

impl Startups {
    /// True when sshd is dropping (some or all) new connections: `current >= begin`.
    pub fn throttling(&self) -> bool {
        self.current >= self.begin
    }

    /// True when every new connection is dropped: `current >= full`.
    pub fn full(&self) -> bool {
        self.current >= self.full
    }
}

/// A running sshd listener (the daemon that accepts connections).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshdListener {
    /// Process id.
    pub pid: u32,
    /// The whole title/command line as shown.
    pub args: String,
    /// MaxStartups counters, when the title carries them (absent on older releases).
    pub startups: Option<Startups>,
    /// `-f FILE`: the configuration file it was started with.
    pub config_file: Option<String>,
    /// `-E FILE`: where it logs instead of syslog.
    pub log_file: Option<String>,
    /// `-p PORT` arguments.
    pub ports: Vec<String>,
    /// `-o KEY=VALUE` arguments, in order.
    pub options: Vec<String>,
    /// `-i`: started by inetd for one connection (no listening socket of its own).
    pub inetd_mode: bool,
    /// 1-based input line (evidence).
    pub line: usize,
}

/// The state a per-connection sshd process is in, from its title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum ConnectionState {
    /// `sshd: [accepted]`: connected, identification/key exchange not finished.
    Accepted,
    /// `sshd: [net]` (or `sshd: unknown [net]` on old versions): the unprivileged
    /// pre-authentication child.
    Net,
    /// `sshd: USER [priv]`: the privileged monitor (`unknown` before authentication on
    /// old versions).
    Priv {
        /// User name as shown.
        user: String,
    },
    /// `sshd: USER [preauth]`-style titles and anything else in brackets.
    Other {
        /// The text after `sshd: `.
        title: String,
    },
    /// `sshd: USER@TTY` / `sshd: USER@notty`: an authenticated session.
    Session {
        /// User name.
        user: String,
        /// `notty` or the terminal (`pts/0`).
        tty: String,
    },
}

impl ConnectionState {
    /// True for states before authentication finished (these count toward MaxStartups).
    pub fn is_preauth(&self) -> bool {
        match self {
            ConnectionState::Accepted | ConnectionState::Net => true,
            ConnectionState::Priv { user } => user == "unknown",
            ConnectionState::Other { .. } | ConnectionState::Session { .. } => false,
        }
    }
}

/// A per-connection sshd process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SshdConnection {
    /// Process id.
    pub pid: u32,
    /// Parent (the listener, or the monitor for `[net]` children).
    pub ppid: u32,
    /// What the title says.
    pub state: ConnectionState,
    /// The title as shown.
    pub args: String,
    /// 1-based input line.
    pub line: usize,
}

/// Other daemons that matter for SSH reachability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Daemon {
    /// openbsd-inetd / inetutils-inetd / busybox inetd.
    Inetd,
    /// xinetd.
    Xinetd,
    /// haproxy.
    Haproxy,
    /// fail2ban-server.
    Fail2banServer,
    /// sshguard.
    Sshguard,
}

/// A running daemon of interest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaemonProcess {
    /// Which daemon.
    pub daemon: Daemon,
    /// Process id.
    pub pid: u32,
    /// Command line.
    pub args: String,
    /// 1-based input line.
    pub line: usize,
}

/// Everything this module derives from the process table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessFacts {
    /// sshd listeners (usually one).
    pub sshd_listeners: Vec<SshdListener>,
    /// Per-connection sshd processes.
    pub sshd_connections: Vec<SshdConnection>,
    /// sshd processes started by a super-server (`sshd -i`), one per connection;
    /// they are not listeners.
    pub sshd_inetd: Vec<SshdListener>,
    /// inetd, xinetd, haproxy, fail2ban-server, sshguard processes.
    pub daemons: Vec<DaemonProcess>,
}

impl ProcessFacts {
    /// Whether a daemon of this kind runs.
    pub fn runs(&self, daemon: Daemon) -> bool {
        self.daemons.iter().any(|d| d.daemon == daemon)
    }

    /// Number of per-connection processes that are still before authentication.
    pub fn preauth_connections(&self) -> usize {
        self.sshd_connections
            .iter()
            .filter(|c| c.state.is_preauth() && c.state != ConnectionState::Net)
            .count()
    }
}

/// Parse the process table (any of the three formats in the module doc).
pub fn parse(text: &str) -> ProcessTable {
    let mut table = ProcessTable {
        processes: Vec::new(),
        unparsed: Vec::new(),
    };
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        match parse_row(raw, line) {
            Some(p) => table.processes.push(p),
            None => table.unparsed.push(UnparsedLine {
                line,
                text: raw.to_string(),
            }),
        }
    }
    table
}

fn parse_row(raw: &str, line: usize) -> Option<Process> {
    let (pid, rest) = next_field(raw)?;
    let (ppid, rest) = next_field(rest)?;
    let (comm, rest) = next_field(rest)?;
    Some(Process {
        pid: pid.parse().ok()?,
        ppid: ppid.parse().ok()?,
        comm: comm.to_string(),
        args: rest.trim().to_string(),
        line,
    })
}

/// Next whitespace-separated field and the rest of the string after it.
fn next_field(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    if s.is_empty() {
        return None;
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

const SSHD_PREFIXES: [&str; 3] = ["sshd: ", "sshd-session: ", "sshd-auth: "];

fn is_sshd(p: &Process) -> bool {
    matches!(p.comm.as_str(), "sshd" | "sshd-session" | "sshd-auth")
        || SSHD_PREFIXES.iter().any(|pre| p.args.starts_with(pre))
        || first_word_basename(&p.args) == "sshd"
}

fn first_word_basename(args: &str) -> &str {
    let first = args.split_whitespace().next().unwrap_or("");
    first.rsplit('/').next().unwrap_or(first)
}

impl ProcessTable {
    /// Derive sshd listeners, connections and daemons.
    pub fn facts(&self) -> ProcessFacts {
        let mut facts = ProcessFacts {
            sshd_listeners: Vec::new(),
            sshd_connections: Vec::new(),
            sshd_inetd: Vec::new(),
            daemons: Vec::new(),
        };
        for p in &self.processes {
            if is_sshd(p) {
                match classify_sshd(p) {
                    SshdKind::Listener(l) if l.inetd_mode => facts.sshd_inetd.push(l),
                    SshdKind::Listener(l) => facts.sshd_listeners.push(l),
                    SshdKind::Connection(c) => facts.sshd_connections.push(c),
                    SshdKind::OneShot => {}
                }
            } else if let Some(daemon) = daemon_of(p) {
                facts.daemons.push(DaemonProcess {
                    daemon,
                    pid: p.pid,
                    args: p.args.clone(),
                    line: p.line,
                });
            }
        }
        facts
    }
}

enum SshdKind {
    Listener(SshdListener),
    Connection(SshdConnection),
    /// `sshd -t` / `sshd -T` checking a configuration, `sshd -V` printing
    /// its version (another sshfix run, configuration management, a person):
    /// it ends by itself and serves nothing, so it says nothing about
    /// whether sshd runs.
    OneShot,
}

fn classify_sshd(p: &Process) -> SshdKind {
    let title = SSHD_PREFIXES
        .iter()
        .find_map(|pre| p.args.strip_prefix(pre));
    if let Some(t) = title {
        if !t.contains("[listener]") {
            return SshdKind::Connection(SshdConnection {
                pid: p.pid,
                ppid: p.ppid,
                state: connection_state(t.trim()),
                args: p.args.clone(),
                line: p.line,
            });
        }
    }
    // A listener: either `sshd: CMDLINE [listener] …` or the plain command line.
    let (cmdline, startups) = match title {
        Some(t) => match t.split_once("[listener]") {
            Some((cmd, counters)) => (cmd.trim(), parse_startups(counters)),
            None => (t.trim(), None),
        },
        None => (p.args.as_str(), None),
    };
    let mut listener = SshdListener {
        pid: p.pid,
        args: p.args.clone(),
        startups,
        config_file: None,
        log_file: None,
        ports: Vec::new(),
        options: Vec::new(),
        inetd_mode: false,
        line: p.line,
    };
    if apply_sshd_flags(cmdline, &mut listener) {
        return SshdKind::OneShot;
    }
    SshdKind::Listener(listener)
}

/// ` 3 of 10-100 startups` → Startups.
fn parse_startups(s: &str) -> Option<Startups> {
    let mut words = s.split_whitespace();
    let current = words.next()?.parse().ok()?;
    if words.next()? != "of" {
        return None;
    }
    let (begin, full) = words.next()?.split_once('-')?;
    if words.next()? != "startups" {
        return None;
    }
    Some(Startups {
        current,
        begin: begin.parse().ok()?,
        full: full.parse().ok()?,
    })
}

/// sshd's getopt string (OpenSSH 9.x): options that take an argument.
const SSHD_ARG_FLAGS: &str = "CEbcfghkopu";

/// Read `-f`, `-E`, `-p`, `-o` and `-i` from the command line (clustered flags such as
/// `-DE /log` and attached values such as `-E/log` included). The title is sshd's
/// argv joined by spaces, so a path containing spaces cannot be told apart; such
/// paths are read up to the first space. True when it only checks or prints
/// and exits (`-t`, `-T`, `-V`), not a daemon.
fn apply_sshd_flags(cmdline: &str, l: &mut SshdListener) -> bool {
    let mut check = false;
    let words: Vec<&str> = cmdline.split_whitespace().collect();
    let mut i = 1; // words[0] is the program
    while i < words.len() {
        let w = words[i];
        i += 1;
        let Some(flags) = w.strip_prefix('-') else {
            continue;
        };
        for (pos, c) in flags.char_indices() {
            if SSHD_ARG_FLAGS.contains(c) {
                let attached = &flags[pos + c.len_utf8()..];
                let value = if attached.is_empty() {
                    let v = words.get(i).map(|s| s.to_string());
                    i += 1;
                    v
                } else {
                    Some(attached.to_string())
                };
                if let Some(v) = value {
                    match c {
                        'f' => l.config_file = Some(v),
                        'E' => l.log_file = Some(v),
                        'p' => l.ports.push(v),
                        'o' => l.options.push(v),
                        _ => {}
                    }
                }
                break;
            }
            match c {
                'i' => l.inetd_mode = true,
                't' | 'T' | 'V' => check = true,
                _ => {}
            }
        }
    }
    check
}

fn connection_state(t: &str) -> ConnectionState {
    match t {
        "[accepted]" => return ConnectionState::Accepted,
        "[net]" => return ConnectionState::Net,
        _ => {}
    }
    if let Some(user) = t.strip_suffix(" [priv]") {
        return ConnectionState::Priv {
            user: user.trim().to_string(),
        };
    }
    if t.strip_suffix(" [net]").is_some() {
        return ConnectionState::Net;
    }
    if !t.contains(' ') && !t.starts_with('[') {
        if let Some((user, tty)) = t.split_once('@') {
            return ConnectionState::Session {
                user: user.to_string(),
                tty: tty.to_string(),
            };
        }
    }
    ConnectionState::Other {
        title: t.to_string(),
    }
}

fn daemon_of(p: &Process) -> Option<Daemon> {
    let by_name = |name: &str| match name {
        "inetd" => Some(Daemon::Inetd),
        "xinetd" => Some(Daemon::Xinetd),
        "haproxy" => Some(Daemon::Haproxy),
        "fail2ban-server" => Some(Daemon::Fail2banServer),
        "sshguard" => Some(Daemon::Sshguard),
        _ => None,
    };
    if let Some(d) = by_name(&p.comm) {
        return Some(d);
    }
    // Interpreted daemons (fail2ban-server under python3, sshguard under sh): look at
    // the first two words of the command line.
    let mut words = p.args.split_whitespace();
    for _ in 0..2 {
        let w = words.next()?;
        let base = w.rsplit('/').next().unwrap_or(w);
        if let Some(d) = by_name(base) {
            return Some(d);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROCPS: &str = include_str!("../../tests/fixtures/facts/procs/ps-procps-maxstartups.txt");
    const BUSYBOX: &str =
        include_str!("../../tests/fixtures/facts/procs/ps-busybox-maxstartups.txt");
    const PROCLOOP: &str =
        include_str!("../../tests/fixtures/facts/procs/proc-loop-maxstartups.txt");
    const SESSION: &str = include_str!("../../tests/fixtures/facts/procs/ps-procps-session.txt");
    const DAEMONS: &str = include_str!("../../tests/fixtures/facts/procs/ps-procps-daemons.txt");
    const HAPROXY: &str = include_str!("../../tests/fixtures/facts/procs/ps-procps-haproxy.txt");
    const XINETD: &str = include_str!("../../tests/fixtures/facts/procs/ps-procps-xinetd.txt");

    fn check_maxstartups_capture(text: &str) {
        let table = parse(text);
        assert!(table.unparsed.is_empty(), "{:?}", table.unparsed);
        let f = table.facts();
        assert_eq!(f.sshd_listeners.len(), 1);
        let l = &f.sshd_listeners[0];
        assert_eq!(l.pid, 8);
        let s = l.startups.unwrap();
        assert_eq!(
            s,
            Startups {
                current: 2,
                begin: 2,
                full: 2
            }
        );
        assert!(s.throttling() && s.full());
        assert_eq!(l.config_file.as_deref(), Some("/tmp/sp2/sshd_config"));
        assert_eq!(l.log_file.as_deref(), Some("/tmp/sp2/sshd-E.log"));
        assert_eq!(l.options, vec!["MaxStartups=2:100:2"]);
        assert!(!l.inetd_mode);
        let states: Vec<_> = f.sshd_connections.iter().map(|c| c.state.clone()).collect();
        assert_eq!(
            states,
            vec![
                ConnectionState::Accepted,
                ConnectionState::Accepted,
                ConnectionState::Net
            ]
        );
        assert_eq!(f.preauth_connections(), 2);
        assert!(f.daemons.is_empty());
    }

    /// `sshd -T` and `sshd -t` caught while they ran (blocked opening a FIFO
    /// as their configuration; procps `ps -eo pid=,ppid=,comm=,args=`), next
    /// to no listener: they serve nothing, so sshd does not run. (`sshd -V`,
    /// which another sshfix run's facts script starts, ends too fast to catch;
    /// its line has the same form.)
    #[test]
    fn a_configuration_check_is_not_a_listener() {
        let ps = "    1     0 bash            bash /tmp/Y/host-init.sh h2\n23425     1 sshd            /usr/sbin/sshd -T -f /tmp/cfgfifo\n23427     1 sshd            /usr/sbin/sshd -t -f /tmp/cfgfifo\n";
        let f = parse(ps).facts();
        assert!(f.sshd_listeners.is_empty(), "{f:?}");
        let f = parse("   40    39 sshd            /usr/sbin/sshd -V\n").facts();
        assert!(f.sshd_listeners.is_empty(), "{f:?}");
        assert!(f.sshd_connections.is_empty() && f.sshd_inetd.is_empty());
        // a daemon started with -D (or options) still is one
        let f = parse("   16     1 sshd            sshd: /usr/sbin/sshd -D -E /var/log/sshd.log [listener] 0 of 10-100 startups\n").facts();
        assert_eq!(f.sshd_listeners.len(), 1);
    }

    #[test]
    fn real_procps_busybox_and_proc_loop_agree() {
        check_maxstartups_capture(PROCPS);
        check_maxstartups_capture(BUSYBOX);
        check_maxstartups_capture(PROCLOOP);
    }

    #[test]
    fn real_authenticated_root_session() {
        let f = parse(SESSION).facts();
        assert_eq!(
            f.sshd_listeners[0].startups,
            Some(Startups {
                current: 0,
                begin: 10,
                full: 100
            })
        );
        assert!(!f.sshd_listeners[0].startups.unwrap().throttling());
        assert_eq!(
            f.sshd_connections[0].state,
            ConnectionState::Session {
                user: "root".into(),
                tty: "notty".into()
            }
        );
        assert_eq!(f.preauth_connections(), 0);
    }

    #[test]
    fn real_daemons() {
        let f = parse(DAEMONS).facts();
        assert!(!f.runs(Daemon::Haproxy), "{f:?}");
        assert_eq!(
            f.sshd_listeners[0].log_file.as_deref(),
            Some("/tmp/sp2/d-sshd.log")
        );
        assert!(f.runs(Daemon::Fail2banServer), "{f:?}");
        assert!(f.runs(Daemon::Inetd), "{f:?}");
        assert!(!f.runs(Daemon::Xinetd));
        assert!(!f.runs(Daemon::Sshguard));
        let h = parse(HAPROXY).facts();
        assert!(h.runs(Daemon::Haproxy) && h.runs(Daemon::Inetd));
        assert!(!h.runs(Daemon::Fail2banServer));
        assert!(h.sshd_listeners.is_empty());
        let x = parse(XINETD).facts();
        assert!(x.runs(Daemon::Xinetd) && !x.runs(Daemon::Inetd));
        assert_eq!(x.daemons.len(), 1);
    }

    #[test]
    fn titles_of_other_versions() {
        let text = "  100     1 sshd            /usr/sbin/sshd -D\n\
                    200     1 sshd            sshd: /usr/sbin/sshd -D -E/var/log/x -f /etc/ssh/alt [listener] 3 of 10-100 startups\n\
                    201   200 sshd            sshd: alice [priv]\n\
                    202   201 sshd            sshd: alice@pts/0\n\
                    203   200 sshd            sshd: unknown [priv]\n\
                    204   203 sshd            sshd: unknown [net]\n\
                    205   200 sshd-session    sshd-session: [accepted]\n\
                    300   299 sshd            sshd -i\n\
                    301     1 sshd            /usr/sbin/sshd -DEfoo\n";
        let f = parse(text).facts();
        assert_eq!(f.sshd_listeners.len(), 3);
        assert_eq!(f.sshd_inetd.len(), 1);
        assert!(f.sshd_inetd[0].inetd_mode);
        assert_eq!(f.sshd_listeners[0].startups, None);
        let l = &f.sshd_listeners[1];
        assert_eq!(
            l.startups,
            Some(Startups {
                current: 3,
                begin: 10,
                full: 100
            })
        );
        assert_eq!(l.log_file.as_deref(), Some("/var/log/x"));
        assert_eq!(l.config_file.as_deref(), Some("/etc/ssh/alt"));
        assert_eq!(f.sshd_listeners[2].log_file.as_deref(), Some("foo"));
        assert_eq!(
            f.sshd_connections[0].state,
            ConnectionState::Priv {
                user: "alice".into()
            }
        );
        assert!(f.sshd_connections[2].state.is_preauth());
        assert_eq!(f.sshd_connections[3].state, ConnectionState::Net);
        assert_eq!(f.sshd_connections[4].state, ConnectionState::Accepted);
        assert_eq!(f.preauth_connections(), 2);
    }

    #[test]
    fn empty_and_garbage() {
        let f = parse("").facts();
        assert!(f.sshd_listeners.is_empty() && f.sshd_connections.is_empty());
        let t = parse("PID PPID COMMAND\nps: unknown option\n12 x sshd\n\u{0}\n  7 1\n");
        assert!(t.processes.is_empty());
        assert_eq!(t.unparsed.len(), 5);
        // Malformed counters give no startups, not a panic.
        let f = parse("1 0 sshd sshd: /usr/sbin/sshd [listener] x of 1- startups").facts();
        assert_eq!(f.sshd_listeners[0].startups, None);
        let f = parse("1 0 sshd /usr/sbin/sshd -E").facts();
        assert_eq!(f.sshd_listeners[0].log_file, None);
    }
}
