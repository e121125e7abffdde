//! The real `/usr/sbin/sshd` run on a configuration tree held in memory: the tree is
//! written to a temp dir with throwaway host keys and bind-mounted as `/etc/ssh` in a
//! private mount namespace (`unshare -m`, tmpfs `/run` with `/run/sshd`), so the
//! machine's own `/etc/ssh` and `/run` are never touched. Needs root.
//!
//! The approach of `tests/modules_sshd_config.rs`, as helpers other test files can
//! include with `#[path = "common/sshd_ns.rs"] mod sshd_ns;`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The main configuration file, where sshd reads it in the namespace.
pub const MAIN: &str = "/etc/ssh/sshd_config";
pub const SSHD: &str = "/usr/sbin/sshd";

/// Path → bytes, as the facts script reads a host's files.
pub type Files = BTreeMap<String, Vec<u8>>;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A tree directory as the map sshd reads (the directory mounted at /etc/ssh).
pub fn tree(dir: &Path) -> Files {
    fn walk(dir: &Path, rel: &str, out: &mut Files) {
        for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let e = e.unwrap();
            let path = e.path();
            let rel = format!("{rel}/{}", e.file_name().to_string_lossy());
            if path.is_dir() {
                walk(&path, &rel, out);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, "/etc/ssh", &mut out);
    out
}

/// `None` when the real sshd can run here; otherwise why not.
pub fn cannot_run() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not root (mount namespaces need it)".into());
    }
    if !Path::new(SSHD).exists() {
        return Some(format!(
            "{SSHD} is missing (apt-get install openssh-server)"
        ));
    }
    None
}

/// `true` (after saying so loudly on stderr) when `test` cannot run the real sshd;
/// panics instead when `CI=true`.
pub fn skip_or_fail(test: &str) -> bool {
    match cannot_run() {
        None => false,
        Some(why) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true: {test} must run against the real sshd, but {why}");
            }
            // Straight to fd 2: libtest captures `eprintln!` of passing tests.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!!!!! SKIPPED {test}: {why}; the edits were NOT checked against the real sshd !!!!!!!!\n"
            );
            true
        }
    }
}

/// Throwaway host keys (rsa, ecdsa, ed25519), generated once per test run.
fn host_keys() -> &'static Path {
    static KEYS: OnceLock<tempfile::TempDir> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        for t in ["rsa", "ecdsa", "ed25519"] {
            let st = Command::new("ssh-keygen")
                .args(["-q", "-t", t, "-N", "", "-C", "sshfix-test", "-f"])
                .arg(dir.path().join(format!("ssh_host_{t}_key")))
                .status()
                .unwrap();
            assert!(st.success(), "ssh-keygen -t {t} failed");
        }
        dir
    })
    .path()
}

/// What one sshd run printed.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run sshd with `args` on `files` mounted as /etc/ssh.
pub fn sshd(files: &Files, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    for k in std::fs::read_dir(host_keys()).unwrap() {
        let k = k.unwrap();
        std::fs::copy(k.path(), dir.path().join(k.file_name())).unwrap();
    }
    for (path, bytes) in files {
        let rel = path.strip_prefix("/etc/ssh/").expect("tree under /etc/ssh");
        let dest = dir.path().join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, bytes).unwrap();
    }
    let out = Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount -t tmpfs none /run && mkdir -m 0755 /run/sshd && mount --bind \"$0\" /etc/ssh && cd / && exec /usr/sbin/sshd \"$@\"",
        ])
        .arg(dir.path())
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `sshd -t -f MAIN` on `files`.
pub fn test(files: &Files) -> Run {
    sshd(files, &["-t", "-f", MAIN])
}

/// `sshd -T -f MAIN` (with `-C conn` when given, e.g. `user=a,host=h,addr=192.0.2.1`),
/// parsed; panics with sshd's message when it fails.
pub fn effective(files: &Files, conn: Option<&str>, what: &str) -> sshfix::facts::sshd::SshdDump {
    let mut args = vec!["-T", "-f", MAIN];
    if let Some(c) = conn {
        args.extend(["-C", c]);
    }
    let r = sshd(files, &args);
    assert_eq!(
        r.code,
        0,
        "{what}: sshd {} failed: {}",
        args.join(" "),
        r.stderr
    );
    sshfix::facts::sshd::parse_dump(&r.stdout)
}
