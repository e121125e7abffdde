//! Test-side handle on the namespace lab built by `tests/lab/lab.sh`: bring a
//! fleet up, read its `lab.env`, inject faults, join the controller's network
//! namespace, and tear everything down (also on panic).

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running lab.
pub struct Lab {
    pub dir: PathBuf,
    pub env: HashMap<String, String>,
    down: bool,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/lab.sh")
}

/// Why the lab cannot run here, if it cannot (not root, no `ip`).
pub fn unavailable() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("the namespace lab needs root (network namespaces, bind mounts)".into());
    }
    for tool in ["ip", "unshare", "nsenter", "sshd", "nft"] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).exists()))
            .unwrap_or(false)
            || Path::new("/usr/sbin").join(tool).exists();
        if !found {
            return Some(format!(
                "`{tool}` is not installed (run `tests/lab/lab.sh deps`)"
            ));
        }
    }
    None
}

impl Lab {
    /// Brings up a lab with `hosts` targets, owned by this process.
    pub fn up(hosts: usize) -> Lab {
        // the sshfix runs of a lab test must not pick up the user's defaults
        super::isolate::isolate_this_process();
        // Labs of earlier runs that died without cleaning up go first.
        let _ = Command::new("bash").arg(script()).arg("gc").status();
        let out = Command::new("bash")
            .arg(script())
            .args([
                "up",
                "--hosts",
                &hosts.to_string(),
                "--owner",
                &std::process::id().to_string(),
            ])
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("running tests/lab/lab.sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "lab.sh up failed ({}): {stdout}",
            out.status
        );
        let dir = stdout
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("LAB_DIR="))
            .unwrap_or_else(|| panic!("lab.sh up printed no LAB_DIR= line: {stdout}"));
        let dir = PathBuf::from(dir.trim());
        let env =
            parse_env(&std::fs::read_to_string(dir.join("lab.env")).expect("reading lab.env"));
        Lab {
            dir,
            env,
            down: false,
        }
    }

    pub fn var(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("lab.env has no {key}"))
    }

    pub fn addr(&self, host: &str) -> String {
        self.var(&format!("LAB_ADDR_{host}")).to_string()
    }

    pub fn pid(&self, host: &str) -> String {
        self.var(&format!("LAB_PID_{host}")).to_string()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Injects a fault (`wrappers-deny`, `maxstartups`, `nft-drop`, …).
    pub fn fault(&self, host: &str, kind: &str) {
        self.fault_with(host, kind, &[]);
    }

    /// Injects a fault that takes arguments (e.g. `lb-http TARGET`).
    pub fn fault_with(&self, host: &str, kind: &str, args: &[&str]) {
        let status = Command::new("bash")
            .arg(script())
            .arg("fault")
            .arg(&self.dir)
            .args([host, kind])
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("running lab.sh fault");
        assert!(
            status.success(),
            "lab.sh fault {host} {kind} {args:?} failed"
        );
    }

    /// Runs a shell command inside a host (its console), returning stdout.
    pub fn console(&self, host: &str, cmd: &str) -> String {
        let out = Command::new("bash")
            .arg(script())
            .arg("console")
            .arg(&self.dir)
            .args([host, "sh", "-c", cmd])
            .output()
            .expect("running lab.sh console");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Moves this whole process into the controller's network namespace. Must
    /// run before any thread is started (setns applies to the calling thread;
    /// threads created later inherit it).
    pub fn enter_controller(&self) {
        let ns = PathBuf::from("/run/netns").join(self.var("LAB_CTL_NS"));
        let f =
            std::fs::File::open(&ns).unwrap_or_else(|e| panic!("opening {}: {e}", ns.display()));
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
            .expect("setns into the controller namespace");
    }

    /// Tears the lab down; also done on drop.
    pub fn down(&mut self) {
        if let Some(status) = self.run_down() {
            assert!(
                matches!(status, Ok(s) if s.success()),
                "lab.sh down failed: {status:?}"
            );
        }
    }

    /// Runs `lab.sh down` once; `None` when it already ran.
    fn run_down(&mut self) -> Option<std::io::Result<std::process::ExitStatus>> {
        if self.down {
            return None;
        }
        self.down = true;
        Some(
            Command::new("bash")
                .arg(script())
                .arg("down")
                .arg(&self.dir)
                .stdout(std::process::Stdio::null())
                .status(),
        )
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.run_down();
    }
}

/// Parses `KEY=value` / `KEY="value"` / `KEY='value'` lines.
pub fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim().trim_start_matches("export ");
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

/// Runs `lab.sh fault DIR HOST KIND [ARGS…]` on a lab known by its directory
/// (for trials, which do not own the [`Lab`]); the error carries lab.sh's
/// stderr.
pub fn fault_at(dir: &Path, host: &str, kind: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new("bash")
        .arg(script())
        .arg("fault")
        .arg(dir)
        .args([host, kind])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("running lab.sh fault {host} {kind}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "lab.sh fault {host} {kind} {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `lab.sh console-drop DIR HOST`: cuts every open connection of the host's
/// serial console, like a terminal server dropping the line.
pub fn console_drop_at(dir: &Path, host: &str) -> Result<(), String> {
    let out = Command::new("bash")
        .arg(script())
        .arg("console-drop")
        .arg(dir)
        .arg(host)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("running lab.sh console-drop {host}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "lab.sh console-drop {host} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs `sh -c CMD` inside a host through `lab.sh console` (status, stdout
/// and stderr), for a lab known by its directory.
pub fn console_at(dir: &Path, host: &str, cmd: &str) -> std::process::Output {
    Command::new("bash")
        .arg(script())
        .arg("console")
        .arg(dir)
        .args([host, "sh", "-c", cmd])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running lab.sh console")
}
