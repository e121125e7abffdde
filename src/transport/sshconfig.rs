//! The ssh client configuration sshfix generates for a run (passed as `ssh -F`):
//! inventory settings first (first value wins, as `-o` would), then the user's
//! own configuration included, so `~/.ssh/config`, agents, certificates and
//! known_hosts keep working.
//!
//! One file per host and path: the target is matched with `Match originalhost`
//! on its address, each jump hop likewise, and every hop carries a fixed
//! `ControlPath` in the run's private directory so that all targets behind one
//! jump host share ONE master connection (warmed before the targets; see
//! `lab.md`: one connection per target overruns the jump host's MaxStartups).
//! OpenSSH hands `-F` on to the `ssh -W` it runs for `ProxyJump`, so the hops
//! read this same file. Pure: settings in, text out.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::inventory::vars::{HostSettings, JumpHop, PathKind};

/// Run-wide ssh settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshRun {
    /// The run's private directory (mode 0700, short path: socket paths max ~108 bytes).
    pub dir: PathBuf,
    /// `--ssh-config FILE`; `None` means the user's normal files.
    pub user_config: Option<PathBuf>,
    /// `--accept-new-hostkeys`.
    pub accept_new: bool,
    pub connect_timeout: Duration,
    /// How long an idle jump master lives (it also dies if sshfix is killed).
    pub master_idle: Duration,
}

impl SshRun {
    /// `StrictHostKeyChecking` value: never `no`.
    pub fn strict_host_key_checking(&self) -> &'static str {
        if self.accept_new {
            "accept-new"
        } else {
            "yes"
        }
    }
}

/// Why a config could not be generated for a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    pub message: String,
}

fn err(message: impl Into<String>) -> ConfigError {
    ConfigError {
        message: message.into(),
    }
}

/// The control socket of the master for `hops[..=index]` (the chain up to that hop).
pub fn hop_control_path(dir: &Path, hops: &[JumpHop], index: usize) -> PathBuf {
    let chain: Vec<String> = hops[..=index].iter().map(JumpHop::spec).collect();
    let digest = Sha256::digest(chain.join(",").as_bytes());
    dir.join(format!("j-{}", &hex::encode(digest)[..12]))
}

/// A value for an ssh_config line, always in double quotes so that `'`, `#`
/// and spaces stay literal; with `tokens`, `%` is doubled because ssh expands
/// `%` tokens there. Refused when ssh could not read it back (`"`, `\`,
/// control characters).
fn value(v: &str, what: &str, tokens: bool) -> Result<String, ConfigError> {
    if v.is_empty() || v.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
        return Err(err(format!(
            "{what} `{v}` cannot be written to an ssh configuration"
        )));
    }
    Ok(if tokens {
        format!("\"{}\"", v.replace('%', "%%"))
    } else {
        format!("\"{v}\"")
    })
}

/// Text for a `#` comment line: control characters escaped, so that a
/// newline in an inventory name cannot start an option line of its own.
fn comment(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Lines that hold for every connection of a run, including hops that come
/// from the user's own configuration (a `ProxyJump` of theirs): ssh always
/// says why it failed (a `LogLevel QUIET` would hide a changed host key and
/// make sshfix try the next path), never prompts, never skips host keys.
fn enforced(out: &mut String, run: &SshRun) {
    let _ = writeln!(out, "  LogLevel ERROR");
    let _ = writeln!(out, "  BatchMode yes");
    let _ = writeln!(
        out,
        "  StrictHostKeyChecking {}",
        run.strict_host_key_checking()
    );
}

/// Turns `ansible_ssh_common_args` into ssh_config lines. `-o` arguments are
/// config lines already (ssh parses them with the config-file parser).
pub fn common_args_lines(args: &[String]) -> Result<Vec<String>, ConfigError> {
    let mut lines = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut with_value = |flag: &str, key: &str, tokens: bool| -> Result<(), ConfigError> {
            let v = match arg.strip_prefix(flag) {
                Some("") => it
                    .next()
                    .ok_or_else(|| err(format!("`{flag}` needs a value")))?
                    .clone(),
                Some(rest) => rest.to_string(),
                None => unreachable!("flag checked by caller"),
            };
            if key.is_empty() {
                if v.chars().any(char::is_control) {
                    return Err(err(format!("`{flag} {v}` has control characters")));
                }
                lines.push(v);
            } else {
                lines.push(format!("{key} {}", value(&v, flag, tokens)?));
            }
            Ok(())
        };
        match arg.as_str() {
            a if a.starts_with("-o") => with_value("-o", "", false)?,
            a if a.starts_with("-J") => with_value("-J", "ProxyJump", false)?,
            a if a.starts_with("-p") => with_value("-p", "Port", false)?,
            a if a.starts_with("-l") => with_value("-l", "User", false)?,
            a if a.starts_with("-i") => with_value("-i", "IdentityFile", true)?,
            "-4" => lines.push("AddressFamily inet".into()),
            "-6" => lines.push("AddressFamily inet6".into()),
            "-C" => lines.push("Compression yes".into()),
            "-A" => lines.push("ForwardAgent yes".into()),
            "-a" => lines.push("ForwardAgent no".into()),
            // `-q` would silence the messages sshfix reads (host-key failures among them).
            "-q" | "-T" | "-t" | "-tt" | "-n" | "-N" | "-v" | "-vv" | "-vvv" => {}
            other => {
                return Err(err(format!(
                    "`{other}` is not supported in ansible_ssh_common_args; write ssh options as `-o Option=value`"
                )))
            }
        }
    }
    Ok(lines)
}

/// Writes the `Match` block of one jump hop. Host names and users are
/// validated in `vars.rs` (no pattern or shell characters): OpenSSH turns a
/// `ProxyJump` into a command line for `sh -c`.
fn hop_block(
    out: &mut String,
    run: &SshRun,
    hops: &[JumpHop],
    index: usize,
) -> Result<(), ConfigError> {
    let hop = &hops[index];
    let from = hop
        .inventory_name
        .as_ref()
        .map(|n| format!(" (inventory host `{}`)", comment(n)))
        .unwrap_or_default();
    let _ = writeln!(out, "# jump hop {}{from}", index + 1);
    let _ = writeln!(out, "Match originalhost {}", hop.host);
    enforced(out, run);
    if let Some(u) = &hop.user {
        let _ = writeln!(out, "  User {}", value(u, "jump user", false)?);
    }
    if let Some(p) = hop.port {
        let _ = writeln!(out, "  Port {p}");
    }
    if let Some(k) = &hop.identity_file {
        let _ = writeln!(
            out,
            "  IdentityFile {}",
            value(&k.to_string_lossy(), "identity file", true)?
        );
    }
    if index > 0 {
        let _ = writeln!(out, "  ProxyJump {}", hops[index - 1].spec());
    }
    let control = hop_control_path(&run.dir, hops, index);
    let _ = writeln!(out, "  ControlMaster auto");
    let _ = writeln!(
        out,
        "  ControlPath {}",
        value(&control.to_string_lossy(), "control path", true)?
    );
    let _ = writeln!(out, "  ControlPersist {}", run.master_idle.as_secs().max(1));
    let _ = writeln!(
        out,
        "  ConnectTimeout {}",
        run.connect_timeout.as_secs().max(1)
    );
    Ok(())
}

/// The configuration for reaching `host` over `via` (`Direct` or `Jump`).
pub fn render(host: &HostSettings, via: PathKind, run: &SshRun) -> Result<String, ConfigError> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# sshfix: ssh settings for inventory host `{}` via {via}; generated for one run and removed after it",
        comment(&host.name)
    );
    if via == PathKind::Jump {
        if host.jump.is_empty() {
            return Err(err("no `sshfix_jump` is set"));
        }
        for i in 0..host.jump.len() {
            hop_block(&mut out, run, &host.jump, i)?;
        }
    }
    let _ = writeln!(out, "# the target");
    // The address is validated in `vars.rs` (no pattern characters), so it
    // matches exactly itself.
    let _ = writeln!(out, "Match originalhost {}", host.address);
    enforced(&mut out, run);
    if let Some(p) = host.port {
        let _ = writeln!(out, "  Port {p}");
    }
    if let Some(u) = &host.user {
        let _ = writeln!(out, "  User {}", value(u, "user", false)?);
    }
    if let Some(k) = &host.identity_file {
        let _ = writeln!(
            out,
            "  IdentityFile {}",
            value(&k.to_string_lossy(), "identity file", true)?
        );
    }
    if via == PathKind::Jump {
        if let Some(last) = host.jump.last() {
            let _ = writeln!(out, "  ProxyJump {}", last.spec());
        }
    }
    for line in common_args_lines(&host.common_args)
        .map_err(|e| err(format!("ansible_ssh_common_args: {e}")))?
    {
        let _ = writeln!(out, "  {line}");
    }
    user_config_tail(&mut out, run)?;
    Ok(out)
}

/// The configuration that starts and stops the master of `hops[..=index]`:
/// the hops alone, never a target's file, so that stopping one target's ssh
/// processes (say, after its timeout) cannot stop a master other targets share.
pub fn render_hops(hops: &[JumpHop], index: usize, run: &SshRun) -> Result<String, ConfigError> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# sshfix: the shared master of jump hop {} ({}); generated for one run and removed after it",
        index + 1,
        hops[index].spec()
    );
    for i in 0..=index {
        hop_block(&mut out, run, hops, i)?;
    }
    user_config_tail(&mut out, run)?;
    Ok(out)
}

/// What every generated file ends with: the enforced settings for every
/// connection, then the user's own configuration.
fn user_config_tail(out: &mut String, run: &SshRun) -> Result<(), ConfigError> {
    let _ = writeln!(out, "# every connection, then the user's own configuration");
    let _ = writeln!(out, "Match all");
    enforced(out, run);
    match &run.user_config {
        Some(path) => {
            let _ = writeln!(
                out,
                "  Include {}",
                value(&path.to_string_lossy(), "ssh config", false)?
            );
        }
        None => {
            let _ = writeln!(out, "  Include ~/.ssh/config");
            let _ = writeln!(out, "  Include /etc/ssh/ssh_config");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::vars::Connection;

    fn run() -> SshRun {
        SshRun {
            dir: PathBuf::from("/tmp/sfx-test"),
            user_config: None,
            accept_new: false,
            connect_timeout: Duration::from_secs(5),
            master_idle: Duration::from_secs(60),
        }
    }

    fn host() -> HostSettings {
        HostSettings {
            name: "web1".into(),
            address: "10.77.1.1".into(),
            port: Some(2222),
            user: Some("ops".into()),
            identity_file: Some(PathBuf::from("/keys/my key")),
            common_args: vec!["-o".into(), "ServerAliveInterval=5".into(), "-C".into()],
            connection: Connection::Ssh,
            become_: None,
            jump: vec![
                JumpHop {
                    user: Some("root".into()),
                    host: "10.77.0.2".into(),
                    port: None,
                    identity_file: None,
                    inventory_name: Some("jump".into()),
                },
                JumpHop {
                    user: None,
                    host: "inner".into(),
                    port: Some(2200),
                    identity_file: None,
                    inventory_name: None,
                },
            ],
            console: None,
            allow_from: vec![],
            paths: vec![PathKind::Direct],
            command_timeout: None,
        }
    }

    #[test]
    fn direct_config() {
        let text = render(&host(), PathKind::Direct, &run()).unwrap();
        assert_eq!(
            text,
            "# sshfix: ssh settings for inventory host `web1` via direct; generated for one run and removed after it
# the target
Match originalhost 10.77.1.1
  LogLevel ERROR
  BatchMode yes
  StrictHostKeyChecking yes
  Port 2222
  User \"ops\"
  IdentityFile \"/keys/my key\"
  ServerAliveInterval=5
  Compression yes
# every connection, then the user's own configuration
Match all
  LogLevel ERROR
  BatchMode yes
  StrictHostKeyChecking yes
  Include ~/.ssh/config
  Include /etc/ssh/ssh_config
"
        );
    }

    /// Inventory names are checked in `vars.rs`; the comment lines that
    /// name them stay single lines even so.
    #[test]
    fn names_in_comments_cannot_add_option_lines() {
        let mut h = host();
        h.name = "x\nMatch all\n  ProxyCommand touch /tmp/pwned #".into();
        h.jump[0].inventory_name = Some("j\r\nProxyCommand touch /tmp/pwned".into());
        let text = render(&h, PathKind::Jump, &run()).unwrap();
        assert!(
            text.lines()
                .filter(|l| l.contains("ProxyCommand"))
                .all(|l| l.starts_with('#')),
            "{text}"
        );
        assert!(text.starts_with("# sshfix: ssh settings for inventory host `x\\nMatch all\\n  ProxyCommand touch /tmp/pwned #` via jump;"), "{text}");
        assert!(
            text.contains("# jump hop 1 (inventory host `j\\r\\nProxyCommand touch /tmp/pwned`)\n"),
            "{text}"
        );
    }

    #[test]
    fn jump_config_chains_hops_with_shared_control_paths() {
        let mut r = run();
        r.user_config = Some(PathBuf::from("/lab/ssh_config"));
        r.accept_new = true;
        let h = host();
        let text = render(&h, PathKind::Jump, &r).unwrap();
        let c0 = hop_control_path(&r.dir, &h.jump, 0);
        let c1 = hop_control_path(&r.dir, &h.jump, 1);
        assert_ne!(c0, c1);
        assert!(c0.to_string_lossy().len() < 40);
        let expected = format!(
            "# sshfix: ssh settings for inventory host `web1` via jump; generated for one run and removed after it
# jump hop 1 (inventory host `jump`)
Match originalhost 10.77.0.2
  LogLevel ERROR
  BatchMode yes
  StrictHostKeyChecking accept-new
  User \"root\"
  ControlMaster auto
  ControlPath \"{}\"
  ControlPersist 60
  ConnectTimeout 5
# jump hop 2
Match originalhost inner
  LogLevel ERROR
  BatchMode yes
  StrictHostKeyChecking accept-new
  Port 2200
  ProxyJump root@10.77.0.2
  ControlMaster auto
  ControlPath \"{}\"
  ControlPersist 60
  ConnectTimeout 5
# the target
Match originalhost 10.77.1.1
  LogLevel ERROR
  BatchMode yes
  StrictHostKeyChecking accept-new
  Port 2222
  User \"ops\"
  IdentityFile \"/keys/my key\"
  ProxyJump inner:2200
  ServerAliveInterval=5
  Compression yes
# every connection, then the user's own configuration
Match all
  LogLevel ERROR
  BatchMode yes
  StrictHostKeyChecking accept-new
  Include \"/lab/ssh_config\"
",
            c0.display(),
            c1.display()
        );
        assert_eq!(text, expected);
        // Another target behind the same chain shares the same masters.
        let mut other = host();
        other.name = "web2".into();
        other.address = "10.77.1.2".into();
        let text2 = render(&other, PathKind::Jump, &r).unwrap();
        assert!(text2.contains(&format!("ControlPath \"{}\"", c0.display())));
    }

    #[test]
    fn common_args_translation() {
        let args: Vec<String> = [
            "-oProxyCommand=nc %h %p",
            "-J",
            "b1",
            "-p2200",
            "-l",
            "x",
            "-4",
            "-q",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            common_args_lines(&args).unwrap(),
            vec![
                "ProxyCommand=nc %h %p",
                "ProxyJump \"b1\"",
                "Port \"2200\"",
                "User \"x\"",
                "AddressFamily inet"
            ]
        );
        for (bad, msg) in [
            (vec!["-F", "x"], "`-F` is not supported in ansible_ssh_common_args; write ssh options as `-o Option=value`"),
            (vec!["-o"], "`-o` needs a value"),
            (vec!["-o", "A=b\nProxyCommand=x"], "`-o A=b\nProxyCommand=x` has control characters"),
        ] {
            let args: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
            assert_eq!(common_args_lines(&args).unwrap_err().to_string(), msg);
        }
    }

    #[test]
    fn jump_without_hops_and_bad_values_refused() {
        let mut h = host();
        h.jump.clear();
        assert_eq!(
            render(&h, PathKind::Jump, &run()).unwrap_err().to_string(),
            "no `sshfix_jump` is set"
        );
        let mut h = host();
        h.user = Some("a\"b".into());
        assert_eq!(
            render(&h, PathKind::Direct, &run())
                .unwrap_err()
                .to_string(),
            "user `a\"b` cannot be written to an ssh configuration"
        );
    }

    /// What the real OpenSSH client makes of a generated file (`ssh -G` resolves
    /// the configuration for a destination without connecting).
    fn ssh_g(config: &str, dest: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, config).unwrap();
        let out = std::process::Command::new("ssh")
            .arg("-G")
            .arg("-F")
            .arg(&path)
            .arg(dest)
            .output()
            .expect("running ssh -G (openssh-client must be installed)");
        assert!(
            out.status.success(),
            "ssh -G rejected the config: {}\n{config}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn real_ssh_reads_generated_configs_as_intended() {
        let mut h = host();
        h.identity_file = Some(PathBuf::from("/keys/o'neil %d #1/key"));
        h.common_args = vec![
            "-o".into(),
            "LogLevel=QUIET".into(),
            "-q".into(),
            "-o".into(),
            "ProxyCommand=nc %h %p".into(),
        ];
        let mut r = run();
        r.user_config = Some(PathBuf::from("/nonexistent/sshfix-user-config"));
        let text = render(&h, PathKind::Jump, &r).unwrap();
        let target = ssh_g(&text, "10.77.1.1");
        for want in [
            "user ops",
            "port 2222",
            // `ssh -G` shows the path before token expansion: `%%` becomes `%` on use.
            "identityfile /keys/o'neil %%d #1/key",
            "proxyjump inner:2200",
            "loglevel ERROR",
            "batchmode yes",
            "stricthostkeychecking true",
        ] {
            assert!(
                target.lines().any(|l| l == want),
                "missing `{want}` in:\n{target}"
            );
        }
        let hop1 = ssh_g(&text, "10.77.0.2");
        let c0 = hop_control_path(&r.dir, &h.jump, 0);
        for want in [
            "user root".to_string(),
            "controlmaster auto".to_string(),
            format!("controlpath {}", c0.display()),
            "controlpersist 60".to_string(),
            "stricthostkeychecking true".to_string(),
        ] {
            assert!(
                hop1.lines().any(|l| l == want),
                "missing `{want}` in:\n{hop1}"
            );
        }
        // The target's settings do not leak onto the hop.
        assert!(
            !hop1
                .lines()
                .any(|l| l == "port 2222" || l.starts_with("proxyjump")),
            "{hop1}"
        );
        // Any other host (a hop from the user's own config) is still strict and quiet-proof.
        let other = ssh_g(&text, "bastion.example");
        assert!(
            other.lines().any(|l| l == "stricthostkeychecking true"),
            "{other}"
        );
        assert!(other.lines().any(|l| l == "loglevel ERROR"), "{other}");
    }
}
