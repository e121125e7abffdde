//! Processes for the lab test binaries: a run's outcome ([`Run`]), a process
//! started with its output going to files in its own process group
//! ([`Running`]), `check` for trial assertions, and the `/tmp/sfx-*` ssh run
//! directories a lab run must not leave behind.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use serde_json::Value;

pub fn check(cond: bool, msg: impl FnOnce() -> String) -> Result<(), Failed> {
    if cond {
        Ok(())
    } else {
        Err(msg().into())
    }
}

// ---------------------------------------------------------------- processes

/// A finished process.
pub struct Run {
    pub what: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub secs: f64,
}

impl Run {
    /// The run in a few lines, for a failure message.
    pub fn show(&self) -> String {
        fn cut(s: &str) -> &str {
            let n = s.len().min(6000);
            let mut n = n;
            while !s.is_char_boundary(n) {
                n -= 1;
            }
            &s[..n]
        }
        format!(
            "`{}` exited {:?} after {:.1} s\n--- stdout\n{}\n--- stderr\n{}",
            self.what,
            self.code,
            self.secs,
            cut(&self.stdout),
            cut(&self.stderr)
        )
    }

    /// The JSON outcome on stdout.
    pub fn json(&self) -> Result<Value, Failed> {
        serde_json::from_str(&self.stdout)
            .map_err(|e| format!("no JSON outcome ({e}):\n{}", self.show()).into())
    }

    pub fn expect_code(&self, want: i32) -> Result<(), Failed> {
        check(self.code == Some(want), || {
            format!("want exit {want}:\n{}", self.show())
        })
    }

    /// stdout and stderr together (for searching).
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// A process started with stdout and stderr going to files (no pipe can
/// fill up), in its own process group (a hang is killed with its children).
pub struct Running {
    child: Child,
    what: String,
    started: Instant,
    dir: tempfile::TempDir,
}

impl Running {
    pub fn spawn(mut cmd: Command, what: String) -> Result<Running, Failed> {
        let dir = tempfile::tempdir()?;
        cmd.stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.path().join("stdout"))?)
            .stderr(std::fs::File::create(dir.path().join("stderr"))?)
            .process_group(0);
        let child = cmd.spawn().map_err(|e| format!("starting {what}: {e}"))?;
        Ok(Running {
            child,
            what,
            started: Instant::now(),
            dir,
        })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn finished(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// SIGKILL to the whole process group.
    pub fn kill_group(&mut self) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.pid()),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.child.wait();
    }

    fn read(&self, name: &str) -> String {
        String::from_utf8_lossy(&std::fs::read(self.dir.path().join(name)).unwrap_or_default())
            .into_owned()
    }

    /// Waits for the end; past `limit` the process group is killed and the
    /// trial fails (a hang).
    pub fn wait(mut self, limit: Duration) -> Result<Run, Failed> {
        let status = loop {
            if let Some(s) = self.child.try_wait()? {
                break s;
            }
            if self.started.elapsed() > limit {
                self.kill_group();
                return Err(format!(
                    "`{}` did not finish within {} s (killed)\n--- stdout\n{}\n--- stderr\n{}",
                    self.what,
                    limit.as_secs(),
                    self.read("stdout"),
                    self.read("stderr")
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Ok(Run {
            what: self.what.clone(),
            code: status.code(),
            stdout: self.read("stdout"),
            stderr: self.read("stderr"),
            secs: self.started.elapsed().as_secs_f64(),
        })
    }
}

pub fn sfx_dirs() -> BTreeSet<String> {
    std::fs::read_dir("/tmp")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("sfx-"))
                .collect()
        })
        .unwrap_or_default()
}

/// The `/tmp/sfx-*` run directories that appeared since `before` and belong
/// to this lab (their generated ssh configurations include the lab's
/// ssh_config). Other sshfix runs on the machine (another lab) are not ours
/// to judge.
pub fn leaked_sfx_dirs(before: &BTreeSet<String>, lab_dir: &Path) -> Vec<String> {
    let mark = lab_dir.to_string_lossy().into_owned();
    sfx_dirs()
        .difference(before)
        .filter(|name| {
            std::fs::read_dir(Path::new("/tmp").join(name))
                .map(|d| {
                    d.flatten().any(|e| {
                        std::fs::read(e.path())
                            .is_ok_and(|b| String::from_utf8_lossy(&b).contains(&mark))
                    })
                })
                .unwrap_or(false)
        })
        .cloned()
        .collect()
}
