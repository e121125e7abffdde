//! Verification from the controller after a repair: the path that was broken
//! must give an SSH identification and run a command over a fresh,
//! non-multiplexed connection (a reused master would prove nothing), with
//! strict host-key checking — against the host's new keys when a fix
//! regenerated them (read over the working path, never by trusting what the
//! network offers). Also the known_hosts update of `--update-known-hosts`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::facts::haproxy;
use crate::inventory::vars::HostSettings;
use crate::probe::{self, ProbeOptions, ProbeTarget, Symptom};

/// How long verification keeps trying (a reloaded daemon needs a moment).
pub const PATIENCE: Duration = Duration::from_secs(12);

/// A host public key as read from `/etc/ssh/ssh_host_*_key.pub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubKey {
    pub path: String,
    /// `TYPE BASE64` (the comment dropped).
    pub key: String,
}

impl PubKey {
    /// Parses a `.pub` line; `None` when it is not `TYPE BASE64 [COMMENT]`.
    pub fn parse(path: &str, line: &str) -> Option<PubKey> {
        let mut it = line.split_whitespace();
        let kind = it.next()?;
        let b64 = it.next()?;
        let plausible =
            (kind.starts_with("ssh-") || kind.starts_with("ecdsa-") || kind.starts_with("sk-"))
                && b64
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
        plausible.then(|| PubKey {
            path: path.to_string(),
            key: format!("{kind} {b64}"),
        })
    }
}

/// The name known_hosts uses for `address:port`.
pub fn known_hosts_name(address: &str, port: u16) -> String {
    if port == 22 {
        address.to_string()
    } else {
        format!("[{address}]:{port}")
    }
}

/// known_hosts lines pinning `keys` for `address:port`.
pub fn known_hosts_lines(address: &str, port: u16, keys: &[PubKey]) -> String {
    let name = known_hosts_name(address, port);
    keys.iter().map(|k| format!("{name} {}\n", k.key)).collect()
}

/// Waits for an SSH identification on `address:port`; `Err` says what the
/// probe saw last.
pub async fn identification(host: &str, address: &str, port: u16) -> Result<(), String> {
    let target = ProbeTarget {
        host: host.to_string(),
        address: address.to_string(),
        port,
    };
    let start = Instant::now();
    loop {
        let r = probe::probe(&target, ProbeOptions::default()).await;
        if r.symptom == Symptom::Ok {
            return Ok(());
        }
        if start.elapsed() > PATIENCE {
            return Err(format!(
                "{address}:{port} still fails: {} ({})",
                r.symptom.as_str(),
                r.detail
            ));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Runs `true` over a fresh ssh connection with `config` (the host's direct
/// configuration), never through a master; `known_hosts` replaces the
/// user's known_hosts files (pinned new keys).
pub async fn ssh_runs(
    config: &Path,
    host: &HostSettings,
    known_hosts: Option<&Path>,
) -> Result<(), String> {
    let start = Instant::now();
    loop {
        let mut cmd = tokio::process::Command::new("ssh");
        cmd.arg("-F")
            .arg(config)
            .args(["-o", "ControlMaster=no", "-o", "ControlPath=none"])
            .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
            .args(["-o", "ConnectTimeout=10"]);
        if let Some(k) = known_hosts {
            cmd.arg("-o")
                .arg(format!("UserKnownHostsFile={}", k.display()))
                .args(["-o", "GlobalKnownHostsFile=/dev/null"]);
        }
        cmd.arg("--")
            .arg(&host.address)
            .arg("echo sshfix-verified")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(40), cmd.output()).await;
        let why = match out {
            Err(_) => "ssh did not finish within 40 s".to_string(),
            Ok(Err(e)) => format!("running ssh: {e}"),
            Ok(Ok(o)) if o.status.success() && o.stdout.starts_with(b"sshfix-verified") => {
                return Ok(())
            }
            Ok(Ok(o)) => {
                let tail = crate::transport::tail(&o.stderr);
                format!(
                    "ssh {} exited with {}: {}",
                    host.address,
                    o.status.code().map_or("a signal".into(), |c| c.to_string()),
                    if tail.is_empty() {
                        "no message".into()
                    } else {
                        tail
                    }
                )
            }
        };
        // a host-key mismatch does not heal by waiting
        if start.elapsed() > PATIENCE
            || why.contains("HOST IDENTIFICATION")
            || why.contains("Host key verification failed")
        {
            return Err(why);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The ports of the load-balancer frontends in `haproxy_cfg` that forward
/// to an SSH port (22): verification goes through them too.
pub fn lb_ports(haproxy_cfg: &str) -> Vec<u16> {
    let cfg = haproxy::parse(haproxy_cfg);
    let mut ports = Vec::new();
    let mut add = |section: &haproxy::Section| {
        for b in &section.binds {
            if let (Some(s), Some(e)) = (b.port_start, b.port_end.or(b.port_start)) {
                if s == e && !ports.contains(&s) {
                    ports.push(s);
                }
            }
        }
    };
    for f in cfg.forwarding_to_port(22) {
        let backend = &cfg.sections[f.section];
        if backend.kind == haproxy::SectionKind::Listen {
            add(backend);
        }
        if let Some(name) = &backend.name {
            for front in cfg.frontends_using(name) {
                for s in cfg
                    .sections
                    .iter()
                    .filter(|s| s.name.as_deref() == Some(front.as_str()))
                {
                    add(s);
                }
            }
        }
    }
    ports
}

/// `ssh-keygen -l` fingerprints of `keys` (`256 SHA256:… (ED25519)`).
pub async fn fingerprints(dir: &Path, keys: &[PubKey]) -> Vec<String> {
    let file = dir.join(format!("fp-{}.pub", std::process::id()));
    let text: String = keys.iter().map(|k| format!("{}\n", k.key)).collect();
    if std::fs::write(&file, text).is_err() {
        return Vec::new();
    }
    let out = tokio::process::Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(&file)
        .output()
        .await;
    let _ = std::fs::remove_file(&file);
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        _ => keys.iter().map(|k| k.key.clone()).collect(),
    }
}

/// The user's known_hosts file for `host` as ssh itself resolves it
/// (`ssh -G`: the first `UserKnownHostsFile`).
pub async fn user_known_hosts(config: &Path, host: &HostSettings) -> Result<PathBuf, String> {
    let out = tokio::process::Command::new("ssh")
        .arg("-G")
        .arg("-F")
        .arg(config)
        .arg(&host.address)
        .output()
        .await
        .map_err(|e| format!("running ssh -G: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text
        .lines()
        .find_map(|l| l.strip_prefix("userknownhostsfile "))
        .and_then(|v| v.split_whitespace().next())
        .ok_or_else(|| "ssh -G names no UserKnownHostsFile".to_string())?;
    Ok(match first.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(rest),
        None => PathBuf::from(first),
    })
}

/// Replaces `address:port`'s entries in `file` by `keys`: `ssh-keygen -R`
/// (which also finds hashed entries and keeps `FILE.old`), then appends.
pub async fn update_known_hosts(
    file: &Path,
    address: &str,
    port: u16,
    keys: &[PubKey],
) -> Result<(), String> {
    let name = known_hosts_name(address, port);
    if file.exists() {
        let out = tokio::process::Command::new("ssh-keygen")
            .arg("-R")
            .arg(&name)
            .arg("-f")
            .arg(file)
            .output()
            .await
            .map_err(|e| format!("running ssh-keygen -R: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "ssh-keygen -R {name} -f {}: {}",
                file.display(),
                crate::transport::tail(&out.stderr)
            ));
        }
    }
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .map_err(|e| format!("opening {}: {e}", file.display()))?;
    f.write_all(known_hosts_lines(address, port, keys).as_bytes())
        .map_err(|e| format!("writing {}: {e}", file.display()))
}

/// The shell command that does what `--update-known-hosts` would.
pub fn update_command(file: &Path, address: &str, port: u16, keys: &[PubKey]) -> String {
    let q = |s: &str| {
        crate::transport::quote::quote(s, "known_hosts value")
            .map(|c| c.into_owned())
            .unwrap_or_default()
    };
    let f = q(&file.display().to_string());
    let lines: Vec<String> = known_hosts_lines(address, port, keys)
        .lines()
        .map(q)
        .collect();
    format!(
        "ssh-keygen -R {} -f {f} && printf '%s\\n' {} >> {f}",
        q(&known_hosts_name(address, port)),
        lines.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pub_key_lines() {
        let k = PubKey::parse(
            "/etc/ssh/ssh_host_ed25519_key.pub",
            "ssh-ed25519 AAAAC3Nza+/= root@h12",
        )
        .unwrap();
        assert_eq!(k.key, "ssh-ed25519 AAAAC3Nza+/=");
        assert!(PubKey::parse("/x", "garbage").is_none());
        assert!(PubKey::parse("/x", "ssh-rsa AAA$(x)").is_none());
        assert_eq!(
            known_hosts_lines("10.0.0.1", 2222, std::slice::from_ref(&k)),
            "[10.0.0.1]:2222 ssh-ed25519 AAAAC3Nza+/=\n"
        );
        assert_eq!(
            known_hosts_lines("10.0.0.1", 22, &[k]),
            "10.0.0.1 ssh-ed25519 AAAAC3Nza+/=\n"
        );
    }

    #[test]
    fn load_balancer_ports_forwarding_to_ssh() {
        let cfg = "frontend ssh_front\n\tbind :2222\n\tmode tcp\n\tdefault_backend ssh_back\n\n\
                   frontend web\n\tbind :80\n\tdefault_backend web_back\n\n\
                   backend ssh_back\n\tserver target 10.77.1.1:22\n\n\
                   backend web_back\n\tserver w 10.0.0.5:8080\n\n\
                   listen direct\n\tbind :2200\n\tserver s 10.0.0.6:22\n";
        let mut ports = lb_ports(cfg);
        ports.sort();
        assert_eq!(ports, vec![2200, 2222]);
    }
}
