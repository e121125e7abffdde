//! Builds the facts script for one host: a generated prelude (marker, SSH
//! port, clients, login user) in front of the fixed body `script.sh`.
//!
//! Pure: the only inputs are validated values, and each goes through
//! [`crate::transport::quote::quote`].

use std::net::IpAddr;

use crate::transport::quote::{quote, QuoteError};

/// The fixed part of the script (POSIX sh; runs under dash, bash and busybox).
pub const BODY: &str = include_str!("script.sh");

/// Bytes kept of any one item (file or command output); more is cut off and
/// the item marked truncated.
pub const ITEM_CAP: usize = 1024 * 1024;

/// What the script needs to know about the host and the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptInput {
    /// This run's frame marker (see [`super::frame`]); `[A-Za-z0-9-]` only.
    pub marker: String,
    /// The SSH port clients use.
    pub port: u16,
    /// The addresses that must be able to reach sshd (`sshfix_allow_from`
    /// hosts, or the controller's own address).
    pub clients: Vec<IpAddr>,
    /// The login user clients use (for `sshd -T -C user=…`).
    pub user: String,
}

/// A fresh marker: random, so no byte sequence on the host can forge a frame line.
pub fn random_marker() -> String {
    let mut bytes = [0u8; 16];
    crate::transport::command::fill_random(&mut bytes);
    format!("sshfix-{}", hex::encode(bytes))
}

/// The whole script text.
///
/// The marker is assembled from two halves at run time so that its full text
/// never appears in the script's command line (`ps` output is one of the
/// items, and a line there must not look like a frame line).
pub fn build(input: &ScriptInput) -> Result<String, QuoteError> {
    let m = &input.marker;
    if m.len() < 16 || !m.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(QuoteError {
            what: "the frame marker (at least 16 characters of [A-Za-z0-9-])".into(),
        });
    }
    let (a, b) = m.split_at(m.len() / 2);
    let clients: Vec<String> = input.clients.iter().map(IpAddr::to_string).collect();
    Ok(format!(
        "N={}\nN=\"$N\"{}\nSSHFIX_CAP={}\nSSHFIX_PORT={}\nSSHFIX_CLIENTS={}\nSSHFIX_USER={}\n{BODY}",
        quote(a, "the frame marker")?,
        quote(b, "the frame marker")?,
        ITEM_CAP,
        input.port,
        quote(&clients.join(" "), "the client list")?,
        quote(&input.user, "the login user")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::frame;
    use std::process::Command;

    fn input() -> ScriptInput {
        ScriptInput {
            marker: random_marker(),
            port: 22,
            clients: vec!["10.77.0.1".parse().unwrap(), "::1".parse().unwrap()],
            user: "ops".into(),
        }
    }

    #[test]
    fn the_full_marker_never_appears_in_the_script_text() {
        let i = input();
        let s = build(&i).unwrap();
        assert!(!s.contains(&i.marker));
        assert!(s.contains("SSHFIX_CLIENTS='10.77.0.1 ::1'"), "{s:.400}");
    }

    #[test]
    fn bad_markers_are_refused() {
        let mut i = input();
        i.marker = "short".into();
        assert!(build(&i).is_err());
        i.marker = "sshfix-'; rm -rf / #0123456789".into();
        assert!(build(&i).is_err());
    }

    /// Runs the real script here under each available POSIX shell and checks
    /// that the frames parse and the script reached its end. The machine's
    /// own state is only read.
    #[test]
    fn runs_under_dash_bash_and_busybox_and_frames_parse() {
        let i = input();
        let script = build(&i).unwrap();
        let mut shells = vec![vec!["sh"], vec!["bash", "--posix"]];
        if std::path::Path::new("/bin/busybox").exists() {
            shells.push(vec!["busybox", "sh"]);
        } else if std::env::var("CI").as_deref() == Ok("true") {
            panic!("busybox is not installed (tests/lab/lab.sh deps installs it)");
        } else {
            eprintln!("SKIPPED: facts script under busybox sh (busybox not installed)");
        }
        for shell in shells {
            let out = Command::new(shell[0])
                .args(&shell[1..])
                .arg("-c")
                .arg(&script)
                .output()
                .unwrap();
            let f = frame::parse(&out.stdout, &i.marker, ITEM_CAP).unwrap();
            assert!(f.done, "{shell:?}: script did not finish: {:?}", f.noise);
            let env = f.get("env").unwrap().text();
            assert!(env.contains("uid="), "{shell:?}: {env}");
            assert!(f.get("ps").unwrap().ok(), "{shell:?}");
            assert!(f.items.iter().all(|i| !i.truncated), "{shell:?}");
            assert!(
                f.noise.is_empty(),
                "{shell:?}: output outside frames: {}",
                String::from_utf8_lossy(&f.noise)
            );
        }
    }

    /// A busybox-only userland (Alpine, minimal containers): every tool the
    /// script finds first on PATH is a busybox applet, and each one it uses
    /// must work (no usage text, no rc 127) or be replaced by a fallback.
    #[test]
    fn works_with_busybox_applets_only() {
        let Some(busybox) = ["/usr/bin/busybox", "/bin/busybox"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
        else {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("busybox is not installed (tests/lab/lab.sh deps installs it)");
            }
            eprintln!("SKIPPED: facts script with busybox applets (busybox not installed)");
            return;
        };
        let list = Command::new(busybox).arg("--list").output().unwrap();
        let dir = tempfile::tempdir().unwrap();
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            let _ = std::os::unix::fs::symlink(busybox, dir.path().join(applet));
        }
        // no iproute2: an `ss` that fails, so busybox netstat must stand in
        std::fs::write(dir.path().join("ss"), "#!/bin/sh\nexit 1\n").unwrap();
        std::fs::set_permissions(
            dir.path().join("ss"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let i = input();
        let out = Command::new(dir.path().join("sh"))
            .arg("-c")
            .arg(build(&i).unwrap())
            .env_clear()
            .env("PATH", dir.path())
            .output()
            .unwrap();
        let f = frame::parse(&out.stdout, &i.marker, ITEM_CAP).unwrap();
        assert!(
            f.done,
            "did not finish: {}",
            String::from_utf8_lossy(&f.noise)
        );
        assert!(f.noise.is_empty(), "{}", String::from_utf8_lossy(&f.noise));
        for key in ["env", "ps", "stat", "netns"] {
            let item = f.get(key).unwrap_or_else(|| panic!("no `{key}`"));
            assert!(item.ok(), "`{key}` failed: {}", item.text());
        }
        // procps is not used: busybox ps gives the same columns
        let ps = f.get("ps").unwrap().text();
        assert!(
            ps.lines().all(|l| l.split_whitespace().count() >= 4),
            "{ps}"
        );
        // busybox netstat has no -p: the script falls back to -tln
        assert!(f.get("ss").is_none());
        let sockets = f.get("netstat").expect("no netstat item");
        assert!(sockets.ok(), "{}", sockets.text());
    }
}
