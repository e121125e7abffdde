//! The real `tcpdmatch` (package tcpd) as an oracle for hosts_access(5):
//! each question runs it in a private mount namespace with its own
//! `/etc/hosts`, a resolver that fails at once, and a `/dev/log` socket that
//! catches libwrap's `matched: FILE line N` message. Needs root.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TCPDMATCH: &str = "/usr/sbin/tcpdmatch";

const RUNNER: &str = r#"#!/bin/sh
# usage: runner.sh ENVDIR CASEDIR DAEMON CLIENT  (inside unshare -m)
set -e
E=$1; C=$2; shift 2
mount --bind "$E/hosts" /etc/hosts
mount --bind "$E/resolv.conf" /etc/resolv.conf
mount --bind "$E/nsswitch.conf" /etc/nsswitch.conf
mount --bind /dev/null "$E/devnull"
mount -t tmpfs -o size=64k sshfix-oracle-dev /dev
touch /dev/log /dev/null
mount --bind "$E/log.sock" /dev/log
mount --bind "$E/devnull" /dev/null
cd "$C"
exec /usr/sbin/tcpdmatch -d "$@"
"#;

pub struct Oracle {
    env: PathBuf,
    log: UnixDatagram,
}

/// What tcpdmatch said.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// `granted`, `denied`, `delegated`, … (its `access:` line).
    pub verdict: String,
    pub hostname: Option<String>,
    pub address: Option<String>,
    /// The `(file, line)` libwrap logged as matching.
    pub matched: Option<(String, usize)>,
    pub stdout: String,
    pub log: Vec<String>,
}

impl Oracle {
    /// An oracle whose name lookups answer from `etc_hosts` only.
    pub fn new(dir: &Path, etc_hosts: &str) -> Oracle {
        let env = dir.join("env");
        std::fs::create_dir_all(&env).unwrap();
        std::fs::write(env.join("hosts"), etc_hosts).unwrap();
        std::fs::write(
            env.join("resolv.conf"),
            "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
        )
        .unwrap();
        std::fs::write(
            env.join("nsswitch.conf"),
            "hosts: files\nnetgroup: files\npasswd: files\ngroup: files\n",
        )
        .unwrap();
        std::fs::write(env.join("devnull"), "").unwrap();
        std::fs::write(env.join("runner.sh"), RUNNER).unwrap();
        let log = UnixDatagram::bind(env.join("log.sock")).unwrap();
        log.set_nonblocking(true).unwrap();
        Oracle { env, log }
    }

    fn drain(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.log.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        out
    }

    /// `tcpdmatch -d DAEMON CLIENT` with the hosts.allow/hosts.deny of `case_dir`.
    pub fn ask(&self, case_dir: &Path, daemon: &str, client: &str) -> Answer {
        self.drain();
        let out = Command::new("unshare")
            .arg("-m")
            .arg("sh")
            .arg(self.env.join("runner.sh"))
            .arg(&self.env)
            .arg(case_dir)
            .arg(daemon)
            .arg(client)
            .output()
            .expect("run unshare");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "tcpdmatch failed: {}\nstdout: {stdout}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let log = self.drain();
        let field = |key: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_string())
        };
        let matched = log.iter().find_map(|m| {
            let rest = &m[m.find("matched:")? + "matched:".len()..];
            let mut w = rest.split_whitespace();
            let file = w.next()?.to_string();
            let _ = w.next()?;
            let line = w.next()?.parse().ok()?;
            Some((file, line))
        });
        Answer {
            verdict: field("access:").unwrap_or_default(),
            hostname: field("client:   hostname"),
            address: field("client:   address"),
            matched,
            stdout,
            log,
        }
    }
}

/// Why the oracle cannot run here, if it cannot.
pub fn unavailable() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("it needs root (for `unshare -m` and bind mounts)".to_string());
    }
    if !Path::new(TCPDMATCH).exists() {
        return Some(format!(
            "`{TCPDMATCH}` is missing (install it: `apt-get install -y tcpd`)"
        ));
    }
    let ok = Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .map(|s| s.success());
    if !matches!(ok, Ok(true)) {
        return Some("`unshare -m true` does not work here (no mount namespaces)".to_string());
    }
    None
}
