//! Typed host settings: the inventory variables sshfix understands
//! (`ansible_*` connection variables and `sshfix_*` working-path variables),
//! validated once so that later stages never see a malformed value.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::{Host, Inventory};

/// A way to reach a host, tried in `sshfix_paths` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathKind {
    /// ssh straight from the controller (or `local` for `ansible_connection=local`).
    Direct,
    /// ssh through the host's `sshfix_jump`.
    Jump,
    /// the host's `sshfix_console` command.
    Console,
}

impl PathKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PathKind::Direct => "direct",
            PathKind::Jump => "jump",
            PathKind::Console => "console",
        }
    }
}

impl fmt::Display for PathKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `ansible_connection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Ssh,
    Local,
}

/// One hop of a jump chain (`[user@]host[:port]`), possibly taken from an inventory host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JumpHop {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub identity_file: Option<PathBuf>,
    /// The inventory host this hop was resolved from, if any.
    pub inventory_name: Option<String>,
}

impl JumpHop {
    /// The hop in `-J` syntax.
    pub fn spec(&self) -> String {
        let mut s = String::new();
        if let Some(u) = &self.user {
            s.push_str(u);
            s.push('@');
        }
        if self.host.contains(':') {
            s.push('[');
            s.push_str(&self.host);
            s.push(']');
        } else {
            s.push_str(&self.host);
        }
        if let Some(p) = self.port {
            s.push(':');
            s.push_str(&p.to_string());
        }
        s
    }
}

/// `sshfix_console_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleKind {
    /// The command's stdin/stdout is a shell (`docker exec -i`, `kubectl exec -i`, `nsenter`).
    Exec,
    /// A terminal line with prompts and echo (not available yet).
    Serial,
}

/// `sshfix_console*` variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Console {
    pub command: String,
    pub kind: ConsoleKind,
    pub login: Option<String>,
    pub password_env: Option<String>,
}

/// `ansible_become*`: run remote work through sudo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    pub user: String,
    /// Name of the environment variable holding the sudo password
    /// (`sshfix_become_password_env`); `None` means `sudo -n`.
    pub password_env: Option<String>,
}

/// Everything sshfix needs to know to reach one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSettings {
    pub name: String,
    /// `ansible_host`, else the inventory name.
    pub address: String,
    /// `ansible_port`; `None` leaves it to the ssh configuration (22 for the probe).
    pub port: Option<u16>,
    pub user: Option<String>,
    pub identity_file: Option<PathBuf>,
    /// `ansible_ssh_common_args`, split like a shell would.
    pub common_args: Vec<String>,
    pub connection: Connection,
    pub become_: Option<Become>,
    /// `sshfix_jump`, resolved to hops.
    pub jump: Vec<JumpHop>,
    pub console: Option<Console>,
    /// `sshfix_allow_from`: addresses or CIDRs (empty: the controller's own address).
    pub allow_from: Vec<ipnet::IpNet>,
    /// `sshfix_paths`, in order.
    pub paths: Vec<PathKind>,
    /// `sshfix_command_timeout`: how long the facts script may run on the
    /// host (`None`: [`DEFAULT_COMMAND_TIMEOUT`]).
    pub command_timeout: Option<Duration>,
}

/// How long the facts script may run on a host unless
/// `sshfix_command_timeout` says otherwise.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// A variable with a value sshfix cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("host `{host}`: variable `{var}`: {message}")]
pub struct VarError {
    pub host: String,
    pub var: String,
    pub message: String,
}

impl HostSettings {
    /// The port the probe connects to.
    pub fn ssh_port(&self) -> u16 {
        self.port.unwrap_or(22)
    }

    /// How long the facts script may run on this host.
    pub fn command_timeout(&self) -> Duration {
        self.command_timeout.unwrap_or(DEFAULT_COMMAND_TIMEOUT)
    }

    /// Reads the settings of `host`; `inventory` resolves `sshfix_jump` names.
    pub fn from_host(host: &Host, inventory: &Inventory) -> Result<HostSettings, VarError> {
        check_inventory_name(&host.name)?;
        let v = VarReader { host };
        let connection = match v.string("ansible_connection")?.as_deref() {
            None | Some("ssh") | Some("smart") | Some("paramiko") => Connection::Ssh,
            Some("local") => Connection::Local,
            Some(other) => {
                return Err(v.err(
                    "ansible_connection",
                    format!("`{other}` is not supported; use `ssh` or `local`"),
                ))
            }
        };
        let become_ = if v.boolean("ansible_become")?.unwrap_or(false) {
            if let Some(method) = v.string("ansible_become_method")? {
                if method != "sudo" {
                    return Err(v.err(
                        "ansible_become_method",
                        format!("`{method}` is not supported; sshfix becomes through `sudo`"),
                    ));
                }
            }
            Some(Become {
                user: v
                    .string("ansible_become_user")?
                    .unwrap_or_else(|| "root".into()),
                password_env: v.env_name("sshfix_become_password_env")?,
            })
        } else {
            None
        };
        let mut common_args = Vec::new();
        for var in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
            if let Some(s) = v.string(var)? {
                common_args.extend(shlex::split(&s).ok_or_else(|| {
                    v.err(
                        var,
                        "unbalanced quotes; write it as you would on a shell command line",
                    )
                })?);
            }
        }
        // Validated even when `sshfix_console` is unset: a typo should not wait
        // for the day the console is needed.
        let console_kind = match v.string("sshfix_console_kind")?.as_deref() {
            None | Some("exec") => ConsoleKind::Exec,
            Some("serial") => ConsoleKind::Serial,
            Some(other) => {
                return Err(v.err(
                    "sshfix_console_kind",
                    format!("`{other}` is not a console kind; use `exec` or `serial`"),
                ))
            }
        };
        let console_login = v.string("sshfix_console_login")?;
        if let Some(u) = &console_login {
            // typed at a `login:` prompt: nothing that a terminal interprets
            check_user_name(u).map_err(|m| v.err("sshfix_console_login", m))?;
        }
        let console_password_env = v.env_name("sshfix_console_password_env")?;
        let console = match v.string("sshfix_console")? {
            None => None,
            Some(command) if command.trim().is_empty() => {
                return Err(v.err("sshfix_console", "is empty"))
            }
            Some(command) => Some(Console {
                command,
                kind: console_kind,
                login: console_login,
                password_env: console_password_env,
            }),
        };
        let jump = match v.string("sshfix_jump")? {
            None => Vec::new(),
            Some(spec) => {
                parse_jump(&spec, host, inventory).map_err(|m| v.err("sshfix_jump", m))?
            }
        };
        let paths = match v.list("sshfix_paths")? {
            None => vec![PathKind::Direct, PathKind::Jump, PathKind::Console],
            Some(items) => {
                let mut paths = Vec::new();
                for item in items {
                    let kind = match item.as_str() {
                        "direct" => PathKind::Direct,
                        "jump" => PathKind::Jump,
                        "console" => PathKind::Console,
                        other => {
                            return Err(v.err(
                                "sshfix_paths",
                                format!(
                                "`{other}` is not a path; use any of `direct`, `jump`, `console`"
                            ),
                            ))
                        }
                    };
                    if !paths.contains(&kind) {
                        paths.push(kind);
                    }
                }
                if paths.is_empty() {
                    return Err(v.err("sshfix_paths", "names no path"));
                }
                paths
            }
        };
        let allow_from = match v.list("sshfix_allow_from")? {
            None => Vec::new(),
            Some(items) => items
                .iter()
                .map(|s| parse_net(s).map_err(|m| v.err("sshfix_allow_from", m)))
                .collect::<Result<_, _>>()?,
        };
        // Ansible's names first, then the older aliases its ssh plugin still reads.
        let (address, address_var) = match v.first_string(&["ansible_host", "ansible_ssh_host"])? {
            Some((a, var)) => (a, var),
            None => (host.name.clone(), "ansible_host"),
        };
        check_host_name(&address).map_err(|m| v.err(address_var, m))?;
        let user = match v.first_string(&["ansible_user", "ansible_ssh_user"])? {
            Some((u, var)) => {
                check_user_name(&u).map_err(|m| v.err(var, m))?;
                Some(u)
            }
            None => None,
        };
        let port = match v.port("ansible_port")? {
            Some(p) => Some(p),
            None => v.port("ansible_ssh_port")?,
        };
        let identity_file = v
            .first_string(&["ansible_ssh_private_key_file", "ansible_private_key_file"])?
            .map(|(k, _)| PathBuf::from(k));
        if jump.iter().any(|hop| hop.host == address) {
            return Err(v.err(
                "sshfix_jump",
                format!("the jump chain goes through `{address}`, the host's own address"),
            ));
        }
        Ok(HostSettings {
            name: host.name.clone(),
            address,
            port,
            user,
            identity_file,
            common_args,
            connection,
            become_,
            jump,
            console,
            allow_from,
            paths,
            command_timeout: v.seconds("sshfix_command_timeout")?,
        })
    }
}

/// A host name or IP address as ssh and `Match originalhost` take it: letters,
/// digits, `.`, `-`, `_`, `:` (IPv6) and `%` (IPv6 zone), not starting with `-`.
/// Anything else (spaces, `,`, `*`, `!`, `@`, shell characters) can only be a
/// mistake here, and some would change what the generated ssh configuration
/// matches or what OpenSSH's `ProxyJump` hands to a shell.
fn check_host_name(s: &str) -> Result<(), String> {
    if s.is_empty()
        || s.starts_with('-')
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%'))
    {
        return Err(format!(
            "`{s}` is not a host name or address (letters, digits, `.`, `-`, `_`, `:`)"
        ));
    }
    Ok(())
}

/// An inventory host name may hold anything but control characters: a
/// newline or an escape sequence would end up in the generated ssh
/// configuration (where a newline starts a new option line, `ProxyCommand`
/// among them) and on the user's terminal.
fn check_inventory_name(name: &str) -> Result<(), VarError> {
    match name.chars().find(|c| c.is_control()) {
        None => Ok(()),
        Some(c) => Err(VarError {
            host: name.escape_debug().to_string(),
            var: "inventory_hostname".into(),
            message: format!(
                "the host name contains the control character U+{:04X}; rename the host",
                u32::from(c)
            ),
        }),
    }
}

/// A login name: letters, digits, `.`, `_`, `-`, `@` (directory users), not
/// starting with `-`.
fn check_user_name(s: &str) -> Result<(), String> {
    if s.is_empty()
        || s.starts_with('-')
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
    {
        return Err(format!(
            "`{s}` is not a user name (letters, digits, `.`, `-`, `_`, `@`)"
        ));
    }
    Ok(())
}

/// Parses an address or CIDR of `sshfix_allow_from`; a bare address is a /32 or /128.
fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    if let Ok(net) = s.parse::<ipnet::IpNet>() {
        return Ok(net);
    }
    s.parse::<std::net::IpAddr>()
        .map(ipnet::IpNet::from)
        .map_err(|_| {
            format!("`{s}` is not an IP address or CIDR (e.g. `192.0.2.7` or `10.0.0.0/8`)")
        })
}

/// Parses `sshfix_jump`: an inventory host name, or a `-J` chain `[user@]host[:port],…`.
fn parse_jump(spec: &str, host: &Host, inventory: &Inventory) -> Result<Vec<JumpHop>, String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err("is empty".into());
    }
    if spec == host.name {
        return Err("names the host itself".into());
    }
    if let Some(jump_host) = inventory.host(spec) {
        check_inventory_name(&jump_host.name).map_err(|e| format!("jump host: {e}"))?;
        let v = VarReader { host: jump_host };
        let err = |e: VarError| format!("jump host `{}`: {}", jump_host.name, e);
        let bad =
            |var: &str, m: String| format!("jump host `{}`: variable `{var}`: {m}", jump_host.name);
        let host = match v
            .first_string(&["ansible_host", "ansible_ssh_host"])
            .map_err(err)?
        {
            Some((h, var)) => {
                check_host_name(&h).map_err(|m| bad(var, m))?;
                h
            }
            None => {
                check_host_name(&jump_host.name).map_err(|m| bad("ansible_host", m))?;
                jump_host.name.clone()
            }
        };
        let user = match v
            .first_string(&["ansible_user", "ansible_ssh_user"])
            .map_err(err)?
        {
            Some((u, var)) => {
                check_user_name(&u).map_err(|m| bad(var, m))?;
                Some(u)
            }
            None => None,
        };
        let port = match v.port("ansible_port").map_err(err)? {
            Some(p) => Some(p),
            None => v.port("ansible_ssh_port").map_err(err)?,
        };
        return Ok(vec![JumpHop {
            user,
            host,
            port,
            identity_file: v
                .first_string(&["ansible_ssh_private_key_file", "ansible_private_key_file"])
                .map_err(err)?
                .map(|(k, _)| PathBuf::from(k)),
            inventory_name: Some(jump_host.name.clone()),
        }]);
    }
    spec.split(',').map(parse_hop).collect()
}

/// Parses one `[user@]host[:port]` hop (IPv6 addresses in brackets).
fn parse_hop(hop: &str) -> Result<JumpHop, String> {
    let hop = hop.trim();
    let bad = |why: &str| format!("`{hop}` is not a jump host ({why}); write `[user@]host[:port]`");
    if hop.is_empty() {
        return Err(bad("empty hop"));
    }
    if hop.starts_with('-') || hop.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("it may not start with `-` or contain spaces"));
    }
    let (user, rest) = match hop.rsplit_once('@') {
        Some((u, r)) if !u.is_empty() => (Some(u.to_string()), r),
        Some(_) => return Err(bad("empty user")),
        None => (None, hop),
    };
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (h, after) = inner.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
        match after {
            "" => (h.to_string(), None),
            p => (
                h.to_string(),
                Some(p.strip_prefix(':').ok_or_else(|| bad("junk after `]`"))?),
            ),
        }
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_string(), Some(p)),
            Some(_) => return Err(bad("IPv6 addresses go in brackets")),
            None => (rest.to_string(), None),
        }
    };
    check_host_name(&host).map_err(|_| bad("not a host name or address"))?;
    if let Some(u) = &user {
        check_user_name(u).map_err(|_| bad("not a user name"))?;
    }
    let port = match port {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("bad port"))?,
        ),
    };
    Ok(JumpHop {
        user,
        host,
        port,
        identity_file: None,
        inventory_name: None,
    })
}

/// Reads one host's variables with Ansible's loose typing.
struct VarReader<'a> {
    host: &'a Host,
}

impl VarReader<'_> {
    fn err(&self, var: &str, message: impl Into<String>) -> VarError {
        VarError {
            host: self.host.name.clone(),
            var: var.into(),
            message: message.into(),
        }
    }

    /// The value of `var`, unless unset or null. A vault-encrypted value is an
    /// error here, where sshfix needs it (it cannot decrypt vault values, and
    /// the ciphertext stays out of the message).
    fn get(&self, var: &str) -> Result<Option<&Value>, VarError> {
        match self.host.vars.get(var).filter(|v| !v.is_null()) {
            Some(Value::Object(m)) if m.contains_key("__ansible_vault") => Err(self.err(
                var,
                "is vault-encrypted, and sshfix cannot decrypt vault values; keep it in plain text (for a sudo password, use `sshfix_become_password_env`)",
            )),
            other => Ok(other),
        }
    }

    /// A string; numbers are accepted and rendered (Ansible does the same).
    fn string(&self, var: &str) -> Result<Option<String>, VarError> {
        match self.get(var)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(other) => Err(self.err(var, format!("expected a string, found `{other}`"))),
        }
    }

    /// The first of `vars` that is set, with its name (for messages).
    fn first_string<'v>(&self, vars: &[&'v str]) -> Result<Option<(String, &'v str)>, VarError> {
        for var in vars {
            if let Some(s) = self.string(var)? {
                return Ok(Some((s, var)));
            }
        }
        Ok(None)
    }

    /// A boolean as Ansible reads one (`yes`, `true`, `1`, `on`, …).
    fn boolean(&self, var: &str) -> Result<Option<bool>, VarError> {
        match self.get(var)? {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(Some(true)),
            Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(Some(false)),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "yes" | "y" | "true" | "t" | "on" | "1" => Ok(Some(true)),
                "no" | "n" | "false" | "f" | "off" | "0" | "" => Ok(Some(false)),
                _ => Err(self.err(
                    var,
                    format!("`{s}` is not a boolean; use `true` or `false`"),
                )),
            },
            Some(other) => Err(self.err(var, format!("`{other}` is not a boolean"))),
        }
    }

    /// Seconds, 1 to 86400, as a number or a numeric string (fractions allowed).
    fn seconds(&self, var: &str) -> Result<Option<Duration>, VarError> {
        let (secs, shown) = match self.get(var)? {
            None => return Ok(None),
            Some(Value::Number(n)) => (n.as_f64(), n.to_string()),
            Some(Value::String(s)) => (s.trim().parse::<f64>().ok(), s.clone()),
            Some(other) => (None, other.to_string()),
        };
        match secs {
            Some(s) if (1.0..=86400.0).contains(&s) => Ok(Some(Duration::from_secs_f64(s))),
            _ => Err(self.err(
                var,
                format!("`{shown}` is not a number of seconds from 1 to 86400"),
            )),
        }
    }

    /// A TCP port, 1–65535, as a number or a numeric string.
    fn port(&self, var: &str) -> Result<Option<u16>, VarError> {
        let bad =
            |shown: String| self.err(var, format!("`{shown}` is not a port number (1-65535)"));
        match self.get(var)? {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p != 0)
                .map(Some)
                .ok_or_else(|| bad(n.to_string())),
            Some(Value::String(s)) => s
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .map(Some)
                .ok_or_else(|| bad(s.clone())),
            Some(other) => Err(bad(other.to_string())),
        }
    }

    /// A list: a YAML list of strings, or a string separated by commas and/or spaces.
    fn list(&self, var: &str) -> Result<Option<Vec<String>>, VarError> {
        match self.get(var)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(
                s.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect(),
            )),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.trim().to_string()),
                    other => Err(self.err(var, format!("list item `{other}` is not a string"))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.err(var, format!("expected a list, found `{other}`"))),
        }
    }

    /// The name of an environment variable (never its value: secrets stay out of inventories).
    fn env_name(&self, var: &str) -> Result<Option<String>, VarError> {
        match self.string(var)? {
            None => Ok(None),
            Some(name)
                if !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !name.starts_with(|c: char| c.is_ascii_digit()) =>
            {
                Ok(Some(name))
            }
            Some(name) => Err(self.err(
                var,
                format!("`{name}` is not an environment variable name (letters, digits, `_`)"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn host(name: &str, vars: Value) -> Host {
        Host {
            name: name.into(),
            vars: vars.as_object().cloned().unwrap_or_default(),
        }
    }

    fn settings(vars: Value) -> Result<HostSettings, VarError> {
        HostSettings::from_host(&host("web1", vars), &Inventory::default())
    }

    #[test]
    fn defaults_when_no_variables() {
        let s = settings(json!({})).unwrap();
        assert_eq!(s.address, "web1");
        assert_eq!(s.port, None);
        assert_eq!(s.ssh_port(), 22);
        assert_eq!(s.connection, Connection::Ssh);
        assert_eq!(
            s.paths,
            vec![PathKind::Direct, PathKind::Jump, PathKind::Console]
        );
        assert!(s.jump.is_empty() && s.console.is_none() && s.become_.is_none());
        assert_eq!(s.command_timeout(), Duration::from_secs(120));
    }

    #[test]
    fn command_timeout_in_seconds() {
        for (v, want) in [
            (json!(5), 5.0),
            (json!("7.5"), 7.5),
            (json!(" 30 "), 30.0),
            (json!(86400), 86400.0),
        ] {
            let s = settings(json!({ "sshfix_command_timeout": v })).unwrap();
            assert_eq!(s.command_timeout(), Duration::from_secs_f64(want), "{v}");
        }
    }

    #[test]
    fn connection_variables_typed() {
        let s = settings(json!({
            "ansible_host": "10.0.0.5", "ansible_port": "2222", "ansible_user": "ops",
            "ansible_ssh_private_key_file": "~/.ssh/id", "ansible_become": "yes",
            "ansible_ssh_common_args": "-o 'ProxyCommand=nc %h %p' -o Compression=yes",
            "sshfix_become_password_env": "SUDO_PW",
        }))
        .unwrap();
        assert_eq!(s.address, "10.0.0.5");
        assert_eq!(s.port, Some(2222));
        assert_eq!(s.user.as_deref(), Some("ops"));
        assert_eq!(
            s.common_args,
            vec!["-o", "ProxyCommand=nc %h %p", "-o", "Compression=yes"]
        );
        assert_eq!(
            s.become_,
            Some(Become {
                user: "root".into(),
                password_env: Some("SUDO_PW".into())
            })
        );
    }

    #[test]
    fn bad_values_name_host_variable_and_fix() {
        let cases = [
            (json!({"ansible_host": "-oProxyCommand=touch /tmp/x"}), "host `web1`: variable `ansible_host`: `-oProxyCommand=touch /tmp/x` is not a host name or address (letters, digits, `.`, `-`, `_`, `:`)"),
            (json!({"ansible_host": "a b"}), "host `web1`: variable `ansible_host`: `a b` is not a host name or address (letters, digits, `.`, `-`, `_`, `:`)"),
            (json!({"ansible_port": 70000}), "host `web1`: variable `ansible_port`: `70000` is not a port number (1-65535)"),
            (json!({"ansible_port": "ssh"}), "host `web1`: variable `ansible_port`: `ssh` is not a port number (1-65535)"),
            (json!({"sshfix_command_timeout": "2m"}), "host `web1`: variable `sshfix_command_timeout`: `2m` is not a number of seconds from 1 to 86400"),
            (json!({"sshfix_command_timeout": 0}), "host `web1`: variable `sshfix_command_timeout`: `0` is not a number of seconds from 1 to 86400"),
            (json!({"sshfix_command_timeout": [5]}), "host `web1`: variable `sshfix_command_timeout`: `[5]` is not a number of seconds from 1 to 86400"),
            (json!({"ansible_connection": "winrm"}), "host `web1`: variable `ansible_connection`: `winrm` is not supported; use `ssh` or `local`"),
            (json!({"ansible_become": "maybe"}), "host `web1`: variable `ansible_become`: `maybe` is not a boolean; use `true` or `false`"),
            (json!({"sshfix_paths": "direct,ssh"}), "host `web1`: variable `sshfix_paths`: `ssh` is not a path; use any of `direct`, `jump`, `console`"),
            (json!({"sshfix_allow_from": "10.0.0.0/33"}), "host `web1`: variable `sshfix_allow_from`: `10.0.0.0/33` is not an IP address or CIDR (e.g. `192.0.2.7` or `10.0.0.0/8`)"),
            (json!({"sshfix_console": "virsh console web1", "sshfix_console_login": "ro ot"}), "host `web1`: variable `sshfix_console_login`: `ro ot` is not a user name (letters, digits, `.`, `-`, `_`, `@`)"),
            (json!({"sshfix_console_password_env": "MY PW"}), "host `web1`: variable `sshfix_console_password_env`: `MY PW` is not an environment variable name (letters, digits, `_`)"),
            (json!({"sshfix_jump": "web1"}), "host `web1`: variable `sshfix_jump`: names the host itself"),
            (json!({"sshfix_jump": "-oProxyCommand=x"}), "host `web1`: variable `sshfix_jump`: `-oProxyCommand=x` is not a jump host (it may not start with `-` or contain spaces); write `[user@]host[:port]`"),
            (json!({"sshfix_jump": "b1:99999"}), "host `web1`: variable `sshfix_jump`: `b1:99999` is not a jump host (bad port); write `[user@]host[:port]`"),
            (json!({"ansible_ssh_common_args": "-o 'Foo"}), "host `web1`: variable `ansible_ssh_common_args`: unbalanced quotes; write it as you would on a shell command line"),
            (json!({"sshfix_console": "nsenter", "sshfix_console_kind": "tty"}), "host `web1`: variable `sshfix_console_kind`: `tty` is not a console kind; use `exec` or `serial`"),
        ];
        for (vars, want) in cases {
            assert_eq!(
                settings(vars.clone()).unwrap_err().to_string(),
                want,
                "{vars}"
            );
        }
    }

    #[test]
    fn jump_chain_parsed() {
        let s = settings(json!({"sshfix_jump": "ops@b1:2222, b2,[2001:db8::1]:22"})).unwrap();
        let specs: Vec<_> = s.jump.iter().map(JumpHop::spec).collect();
        assert_eq!(specs, vec!["ops@b1:2222", "b2", "[2001:db8::1]:22"]);
        assert_eq!(s.jump[0].user.as_deref(), Some("ops"));
        assert_eq!(s.jump[2].host, "2001:db8::1");
    }

    #[test]
    fn allow_from_and_paths_lists() {
        let s = settings(json!({
            "sshfix_allow_from": ["192.0.2.7", "10.0.0.0/8"],
            "sshfix_paths": "console, direct,console",
        }))
        .unwrap();
        let nets: Vec<_> = s.allow_from.iter().map(ToString::to_string).collect();
        assert_eq!(nets, vec!["192.0.2.7/32", "10.0.0.0/8"]);
        assert_eq!(s.paths, vec![PathKind::Console, PathKind::Direct]);
    }

    #[test]
    fn ansible_aliases_read() {
        let s = settings(json!({
            "ansible_ssh_host": "10.0.0.9", "ansible_ssh_port": 2200, "ansible_ssh_user": "admin",
            "ansible_private_key_file": "/k", "ansible_ssh_common_args": "-o A=1",
            "ansible_ssh_extra_args": "-o B=2",
        }))
        .unwrap();
        assert_eq!(
            (s.address.as_str(), s.port, s.user.as_deref()),
            ("10.0.0.9", Some(2200), Some("admin"))
        );
        assert_eq!(s.identity_file, Some(PathBuf::from("/k")));
        assert_eq!(s.common_args, vec!["-o", "A=1", "-o", "B=2"]);
        // The documented names win over the aliases.
        let s = settings(json!({"ansible_host": "a", "ansible_ssh_host": "b", "ansible_user": "u", "ansible_ssh_user": "v"})).unwrap();
        assert_eq!((s.address.as_str(), s.user.as_deref()), ("a", Some("u")));
    }

    #[test]
    fn addresses_users_and_hops_that_would_change_meaning_are_refused() {
        for addr in [
            "10.0.0.1,evil",
            "!foo",
            "web*",
            "root@10.0.0.1",
            "a$(x)",
            "`x`",
            "a;b",
        ] {
            let err = settings(json!({"ansible_host": addr}))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("is not a host name or address"),
                "{addr}: {err}"
            );
        }
        let err = settings(json!({"ansible_ssh_user": "a$(touch /tmp/x)"})).unwrap_err();
        assert_eq!(err.var, "ansible_ssh_user");
        for hop in ["a$(touch${IFS}/tmp/pwn)@b1", "`id`@b1", "u@b1;id", "u@b*"] {
            let err = settings(json!({"sshfix_jump": hop}))
                .unwrap_err()
                .to_string();
            assert!(err.contains("is not a jump host"), "{hop}: {err}");
        }
        assert_eq!(
            settings(json!({"ansible_host": "10.0.0.5", "sshfix_jump": "10.0.0.5"})).unwrap_err().to_string(),
            "host `web1`: variable `sshfix_jump`: the jump chain goes through `10.0.0.5`, the host's own address"
        );
        assert_eq!(
            settings(json!({"ansible_host": "fe80::1%eth0"}))
                .unwrap()
                .address,
            "fe80::1%eth0"
        );
    }

    /// A newline in a name would start a new line (`ProxyCommand …`) in the
    /// generated ssh configuration; the error shows the name escaped.
    #[test]
    fn control_characters_in_host_names_are_refused() {
        let name = "x\nMatch all\n  ProxyCommand touch /tmp/pwned #";
        let err = HostSettings::from_host(
            &host(name, json!({"ansible_host": "10.0.0.5"})),
            &Inventory::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "host `x\\nMatch all\\n  ProxyCommand touch /tmp/pwned #`: variable `inventory_hostname`: the host name contains the control character U+000A; rename the host"
        );
        assert!(HostSettings::from_host(
            &host("esc\u{1b}[2J", json!({"ansible_host": "10.0.0.5"})),
            &Inventory::default()
        )
        .is_err());
        // quotes, `$()`, backticks and unicode stay allowed: the name never reaches a shell
        let odd = "web '$(x)' `y` \"q\" ünï ✓";
        let s = HostSettings::from_host(
            &host(odd, json!({"ansible_host": "10.0.0.5"})),
            &Inventory::default(),
        )
        .unwrap();
        assert_eq!(s.name, odd);
        // a jump host named by the inventory is checked too
        let inv = Inventory::from_str_yaml(
            "all:\n  hosts:\n    \"j\\nMatch all\":\n      ansible_host: 10.0.0.2\n",
            "inv.yml",
        )
        .unwrap();
        let err = HostSettings::from_host(
            &host(
                "web1",
                json!({"ansible_host": "10.0.0.5", "sshfix_jump": "j\nMatch all"}),
            ),
            &inv,
        )
        .unwrap_err();
        assert_eq!(err.var, "sshfix_jump");
        assert!(err.message.contains("control character U+000A"), "{err}");
    }

    #[test]
    fn jump_resolved_from_inventory_host_and_validated() {
        let inv = Inventory::from_str_ini(
            "[jumps]\nbastion ansible_host=10.0.0.2 ansible_port=2222 ansible_user=ops ansible_ssh_private_key_file=/k\n\
             [web]\nweb1 ansible_host=10.0.1.1 sshfix_jump=bastion\n\
             bad ansible_host=10.0.1.2 sshfix_jump=evil\n\
             evil ansible_host='x$(id)'\n",
            "inv.ini",
        )
        .unwrap();
        let s = HostSettings::from_host(inv.host("web1").unwrap(), &inv).unwrap();
        assert_eq!(
            s.jump,
            vec![JumpHop {
                user: Some("ops".into()),
                host: "10.0.0.2".into(),
                port: Some(2222),
                identity_file: Some(PathBuf::from("/k")),
                inventory_name: Some("bastion".into()),
            }]
        );
        assert_eq!(s.jump[0].spec(), "ops@10.0.0.2:2222");
        let err = HostSettings::from_host(inv.host("bad").unwrap(), &inv).unwrap_err();
        assert_eq!(
            err.to_string(),
            "host `bad`: variable `sshfix_jump`: jump host `evil`: variable `ansible_host`: `x$(id)` is not a host name or address (letters, digits, `.`, `-`, `_`, `:`)"
        );
    }

    #[test]
    fn vault_values_refused_only_where_used_and_never_shown() {
        let vaulted = json!({"__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256\n6231336539"});
        // An unused vaulted variable (a become password sshfix never reads) is fine.
        assert!(settings(json!({"ansible_become_password": vaulted.clone()})).is_ok());
        let err = settings(json!({"ansible_user": vaulted}))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "host `web1`: variable `ansible_user`: is vault-encrypted, and sshfix cannot decrypt vault values; keep it in plain text (for a sudo password, use `sshfix_become_password_env`)"
        );
        assert!(!err.contains("ANSIBLE_VAULT"));
    }

    #[test]
    fn console_settings() {
        let s = settings(json!({"sshfix_console": "docker exec -i web1 sh"})).unwrap();
        assert_eq!(
            s.console,
            Some(Console {
                command: "docker exec -i web1 sh".into(),
                kind: ConsoleKind::Exec,
                login: None,
                password_env: None
            })
        );
    }
}
