//! Defaults for the global options: the defaults file (`config.toml`) and the
//! `SSHFIX_*` environment variables, and the order in which they apply:
//! command line > environment > defaults file > built-in default.
//!
//! Everything here is pure — [`parse_file`] and [`parse_env`] turn text into
//! [`Defaults`], [`Defaults::or`] merges layers, [`locate`] picks the file —
//! except [`read_file`], the one function that touches the filesystem.

use std::ffi::OsString;
use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use super::Format;
use crate::report::ColorChoice;

/// One setting that the command line, the environment and the file can all give.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The key in `config.toml` (the long option with `_` for `-`).
    pub name: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// The command-line option.
    pub flag: &'static str,
    /// What the value must be, for error messages.
    pub takes: &'static str,
}

/// Every key the defaults file accepts, in the order the docs list them.
pub const KEYS: &[Key] = &[
    Key {
        name: "inventory",
        env: "SSHFIX_INVENTORY",
        flag: "--inventory",
        takes: "a path or a list of paths",
    },
    Key {
        name: "playbook",
        env: "SSHFIX_PLAYBOOK",
        flag: "--playbook",
        takes: "a path or a list of paths",
    },
    Key {
        name: "forks",
        env: "SSHFIX_FORKS",
        flag: "--forks",
        takes: "a whole number from 1 to 65535",
    },
    Key {
        name: "ssh_config",
        env: "SSHFIX_SSH_CONFIG",
        flag: "--ssh-config",
        takes: "a path",
    },
    Key {
        name: "state_dir",
        env: "SSHFIX_STATE_DIR",
        flag: "--state-dir",
        takes: "a path",
    },
    Key {
        name: "format",
        env: "SSHFIX_FORMAT",
        flag: "--format",
        takes: "`human` or `json`",
    },
    Key {
        name: "accept_new_hostkeys",
        env: "SSHFIX_ACCEPT_NEW_HOSTKEYS",
        flag: "--accept-new-hostkeys",
        takes: "true or false",
    },
    Key {
        name: "color",
        env: "SSHFIX_COLOR",
        flag: "--color",
        takes: "`auto`, `always` or `never`",
    },
    Key {
        name: "confirm_timeout",
        env: "SSHFIX_CONFIRM_TIMEOUT",
        flag: "--confirm-timeout",
        takes: "a whole number of seconds from 5 to 86400",
    },
];

/// The environment variable naming the defaults file (as `--config`).
pub const CONFIG_ENV: &str = "SSHFIX_CONFIG";

/// `apply --confirm-timeout`'s range, as `pipeline::apply` enforces it.
const CONFIRM_TIMEOUT: std::ops::RangeInclusive<u64> = 5..=86_400;

/// Values for the settings of [`KEYS`]; `None` leaves the setting to the next layer.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    #[serde(default, deserialize_with = "one_or_many")]
    pub inventory: Option<Vec<PathBuf>>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub playbook: Option<Vec<PathBuf>>,
    pub forks: Option<u16>,
    pub ssh_config: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub format: Option<Format>,
    pub accept_new_hostkeys: Option<bool>,
    pub color: Option<ColorChoice>,
    pub confirm_timeout: Option<u64>,
}

impl Defaults {
    /// Each setting from `self` when it has one, else from `lower`.
    pub fn or(self, lower: Defaults) -> Defaults {
        Defaults {
            inventory: self.inventory.or(lower.inventory),
            playbook: self.playbook.or(lower.playbook),
            forks: self.forks.or(lower.forks),
            ssh_config: self.ssh_config.or(lower.ssh_config),
            state_dir: self.state_dir.or(lower.state_dir),
            format: self.format.or(lower.format),
            accept_new_hostkeys: self.accept_new_hostkeys.or(lower.accept_new_hostkeys),
            color: self.color.or(lower.color),
            confirm_timeout: self.confirm_timeout.or(lower.confirm_timeout),
        }
    }

    /// The value of a range-checked setting that is out of range, if any.
    fn out_of_range(&self) -> Option<(&'static str, String)> {
        if self.forks == Some(0) {
            return Some(("forks", "0".into()));
        }
        match self.confirm_timeout {
            Some(t) if !CONFIRM_TIMEOUT.contains(&t) => Some(("confirm_timeout", t.to_string())),
            _ => None,
        }
    }

    /// Relative paths taken relative to `base` (the defaults file's directory),
    /// and `~/` expanded with `home`.
    fn anchored(mut self, base: &Path, home: Option<&Path>) -> Defaults {
        let fix = |p: &mut PathBuf| {
            if let (Ok(rest), Some(home)) = (p.strip_prefix("~"), home) {
                *p = home.join(rest);
            } else if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        for list in [&mut self.inventory, &mut self.playbook]
            .into_iter()
            .flatten()
        {
            list.iter_mut().for_each(fix);
        }
        for path in [&mut self.ssh_config, &mut self.state_dir]
            .into_iter()
            .flatten()
        {
            fix(path);
        }
        self
    }
}

/// `inventory = "hosts.ini"` or `inventory = ["a.ini", "b/"]`.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<PathBuf>>, D::Error> {
    struct Paths;
    impl<'de> serde::de::Visitor<'de> for Paths {
        type Value = Vec<PathBuf>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a path or a list of paths")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(vec![PathBuf::from(v)])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(p) = seq.next_element::<String>()? {
                out.push(PathBuf::from(p));
            }
            Ok(out)
        }
    }
    d.deserialize_any(Paths).map(Some)
}

/// A defaults file or environment variable sshfix cannot use; nothing runs then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub message: String,
    pub hints: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        for hint in &self.hints {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

fn valid_keys() -> String {
    let names: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
    format!("valid keys: {}", names.join(", "))
}

fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses the defaults file `path` (for messages; relative paths in it are
/// taken from its directory) holding `text`. `home` expands `~/`.
pub fn parse_file(path: &Path, text: &str, home: Option<&Path>) -> Result<Defaults, ConfigError> {
    let shown = path.display();
    let at_line = |at: usize| format!("`{shown}` line {}", line_of(text, at));
    let fix_hint =
        format!("fix or remove the line, or run with `--config /dev/null` to ignore `{shown}`");
    let table = toml::de::DeTable::parse(text).map_err(|e| ConfigError {
        message: format!(
            "{}: not valid TOML: {}",
            e.span()
                .map_or_else(|| format!("`{shown}`"), |s| at_line(s.start)),
            e.message().trim_end()
        ),
        hints: vec![fix_hint.clone()],
    })?;
    // keys in file order, so the first mistake is the one reported
    let mut entries: Vec<_> = table.get_ref().iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    if let Some((k, _)) = entries.iter().find(|(k, _)| key(k.get_ref()).is_none()) {
        return Err(ConfigError {
            message: format!("{}: unknown key `{}`", at_line(k.span().start), k.get_ref()),
            hints: vec![valid_keys(), fix_hint],
        });
    }
    let defaults: Defaults = toml::from_str(text).map_err(|e| {
        // the key whose value holds the error's position
        let owner = e.span().and_then(|s| {
            entries
                .iter()
                .find(|(k, v)| k.span().start <= s.start && s.start <= v.span().end)
        });
        match owner {
            Some((k, _)) => {
                let takes = key(k.get_ref()).map_or("", |k| k.takes);
                ConfigError {
                    message: format!(
                        "{}: key `{}`: {}",
                        at_line(k.span().start),
                        k.get_ref(),
                        e.message().trim_end()
                    ),
                    hints: vec![format!("`{}` takes {takes}", k.get_ref()), fix_hint.clone()],
                }
            }
            None => ConfigError {
                message: format!("`{shown}`: {}", e.message().trim_end()),
                hints: vec![valid_keys(), fix_hint.clone()],
            },
        }
    })?;
    if let Some((name, value)) = defaults.out_of_range() {
        let line = entries
            .iter()
            .find(|(k, _)| k.get_ref() == name)
            .map_or_else(|| format!("`{shown}`"), |(k, _)| at_line(k.span().start));
        let takes = key(name).map_or("", |k| k.takes);
        return Err(ConfigError {
            message: format!("{line}: key `{name}`: {value} is out of range"),
            hints: vec![format!("`{name}` takes {takes}"), fix_hint],
        });
    }
    let base = path.parent().unwrap_or(Path::new(""));
    Ok(defaults.anchored(base, home))
}

/// Reads the `SSHFIX_*` variables of [`KEYS`] through `var`. An empty variable
/// counts as unset; list variables are comma-separated, as `ANSIBLE_INVENTORY`.
pub fn parse_env(var: impl Fn(&str) -> Option<OsString>) -> Result<Defaults, ConfigError> {
    let get = |name: &str| var(name).filter(|v| !v.is_empty());
    let text = |name: &str| -> Result<Option<String>, ConfigError> {
        get(name)
            .map(|v| {
                v.into_string().map_err(|v| ConfigError {
                    message: format!("environment variable `{name}` is not UTF-8: {v:?}"),
                    hints: vec![],
                })
            })
            .transpose()
    };
    let bad = |name: &str, value: &str| {
        let k = KEYS.iter().find(|k| k.env == name);
        ConfigError {
            message: format!("environment variable `{name}={value}` is not valid"),
            hints: vec![format!(
                "`{name}` takes {}; unset it or fix it",
                k.map_or("", |k| k.takes)
            )],
        }
    };
    let list = |name: &str| -> Result<Option<Vec<PathBuf>>, ConfigError> {
        Ok(text(name)?.map(|v| {
            v.split(',')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect()
        }))
    };
    let forks = match text("SSHFIX_FORKS")? {
        None => None,
        Some(v) => match v.trim().parse::<u16>() {
            Ok(n) if n >= 1 => Some(n),
            _ => return Err(bad("SSHFIX_FORKS", &v)),
        },
    };
    let format = match text("SSHFIX_FORMAT")? {
        None => None,
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "human" => Some(Format::Human),
            "json" => Some(Format::Json),
            _ => return Err(bad("SSHFIX_FORMAT", &v)),
        },
    };
    let accept_new_hostkeys = match text("SSHFIX_ACCEPT_NEW_HOSTKEYS")? {
        None => None,
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Some(true),
            "0" | "false" | "no" | "off" => Some(false),
            _ => return Err(bad("SSHFIX_ACCEPT_NEW_HOSTKEYS", &v)),
        },
    };
    let color = match text("SSHFIX_COLOR")? {
        None => None,
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(ColorChoice::Auto),
            "always" => Some(ColorChoice::Always),
            "never" => Some(ColorChoice::Never),
            _ => return Err(bad("SSHFIX_COLOR", &v)),
        },
    };
    let confirm_timeout = match text("SSHFIX_CONFIRM_TIMEOUT")? {
        None => None,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if CONFIRM_TIMEOUT.contains(&n) => Some(n),
            _ => return Err(bad("SSHFIX_CONFIRM_TIMEOUT", &v)),
        },
    };
    Ok(Defaults {
        inventory: list("SSHFIX_INVENTORY")?,
        playbook: list("SSHFIX_PLAYBOOK")?,
        forks,
        ssh_config: get("SSHFIX_SSH_CONFIG").map(PathBuf::from),
        state_dir: get("SSHFIX_STATE_DIR").map(PathBuf::from),
        format,
        accept_new_hostkeys,
        color,
        confirm_timeout,
    })
}

/// Where the defaults file is, and whether it must exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    /// Named by `--config` or `SSHFIX_CONFIG`: a missing file is an error.
    pub explicit: bool,
}

/// The defaults file: `--config`, else `$SSHFIX_CONFIG`, else
/// `$XDG_CONFIG_HOME/sshfix/config.toml` (an absolute `XDG_CONFIG_HOME`, as the
/// XDG spec requires), else `~/.config/sshfix/config.toml`; none without a home.
pub fn locate(flag: Option<&Path>, var: impl Fn(&str) -> Option<OsString>) -> Option<Location> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(path) = flag.map(Path::to_path_buf).or_else(|| set(CONFIG_ENV)) {
        return Some(Location {
            path,
            explicit: true,
        });
    }
    let config_home = set("XDG_CONFIG_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| set("HOME").map(|h| h.join(".config")))?;
    Some(Location {
        path: config_home.join("sshfix").join("config.toml"),
        explicit: false,
    })
}

/// Reads the defaults file: `Ok(None)` when an implicit one does not exist.
pub fn read_file(at: &Location) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(&at.path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == ErrorKind::NotFound && !at.explicit => Ok(None),
        Err(e) => Err(ConfigError {
            message: format!("reading the defaults file `{}`: {e}", at.path.display()),
            hints: vec![if at.explicit {
                "check the path given with `--config` or `SSHFIX_CONFIG`".into()
            } else {
                "make it readable, or run with `--config /dev/null` to ignore it".into()
            }],
        }),
    }
}

/// The environment and defaults-file layers together (environment first), as
/// the process sees them.
pub fn load(flag: Option<&Path>) -> Result<Defaults, ConfigError> {
    let var = |name: &str| std::env::var_os(name);
    let env = parse_env(var)?;
    let file = match locate(flag, var) {
        None => Defaults::default(),
        Some(at) => match read_file(&at)? {
            None => Defaults::default(),
            Some(text) => {
                let home = var("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
                parse_file(&at.path, &text, home.as_deref())?
            }
        },
    };
    Ok(env.or(file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn file(text: &str) -> Result<Defaults, ConfigError> {
        parse_file(
            Path::new("/home/op/.config/sshfix/config.toml"),
            text,
            Some(Path::new("/home/op")),
        )
    }

    #[test]
    fn full_file_parses_with_paths_anchored() {
        let d = file(
            "# fleet defaults\n\
             inventory = [\"inventory\", \"/etc/ansible/hosts\", \"~/fleet/extra.ini\"]\n\
             playbook = \"checks.yml\"\n\
             forks = 20\n\
             ssh_config = \"~/.ssh/fleet_config\"\n\
             state_dir = \"/var/lib/sshfix\"\n\
             format = \"json\"\n\
             accept_new_hostkeys = true\n\
             color = \"never\"\n\
             confirm_timeout = 300\n",
        )
        .unwrap();
        assert_eq!(
            d,
            Defaults {
                inventory: Some(vec![
                    PathBuf::from("/home/op/.config/sshfix/inventory"),
                    PathBuf::from("/etc/ansible/hosts"),
                    PathBuf::from("/home/op/fleet/extra.ini"),
                ]),
                playbook: Some(vec![PathBuf::from("/home/op/.config/sshfix/checks.yml")]),
                forks: Some(20),
                ssh_config: Some(PathBuf::from("/home/op/.ssh/fleet_config")),
                state_dir: Some(PathBuf::from("/var/lib/sshfix")),
                format: Some(Format::Json),
                accept_new_hostkeys: Some(true),
                color: Some(ColorChoice::Never),
                confirm_timeout: Some(300),
            }
        );
    }

    #[test]
    fn empty_file_sets_nothing() {
        assert_eq!(file("").unwrap(), Defaults::default());
        assert_eq!(file("# only a comment\n\n").unwrap(), Defaults::default());
    }

    #[test]
    fn unknown_key_names_file_line_key_and_valid_keys() {
        let e = file("forks = 10\n\n# typo below\nforkz = 20\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "`/home/op/.config/sshfix/config.toml` line 4: unknown key `forkz`\n\
             hint: valid keys: inventory, playbook, forks, ssh_config, state_dir, format, accept_new_hostkeys, color, confirm_timeout\n\
             hint: fix or remove the line, or run with `--config /dev/null` to ignore `/home/op/.config/sshfix/config.toml`"
        );
    }

    #[test]
    fn first_unknown_key_in_file_order_is_reported() {
        let e = file("zzz = 1\naaa = 2\n").unwrap_err();
        assert!(e.message.ends_with("line 1: unknown key `zzz`"), "{e}");
    }

    #[test]
    fn a_table_is_an_unknown_key() {
        let e = file("forks = 3\n[apply]\nconfirm_timeout = 30\n").unwrap_err();
        assert!(e.message.ends_with("line 2: unknown key `apply`"), "{e}");
    }

    #[test]
    fn wrong_types_name_line_and_key() {
        for (text, line, key, takes) in [
            (
                "forks = \"many\"\n",
                1,
                "forks",
                "a whole number from 1 to 65535",
            ),
            (
                "\nforks = 70000\n",
                2,
                "forks",
                "a whole number from 1 to 65535",
            ),
            ("format = \"xml\"\n", 1, "format", "`human` or `json`"),
            (
                "forks = 2\naccept_new_hostkeys = \"yes\"\n",
                2,
                "accept_new_hostkeys",
                "true or false",
            ),
            (
                "inventory = 3\n",
                1,
                "inventory",
                "a path or a list of paths",
            ),
            (
                "inventory = [\"a\", 3]\n",
                1,
                "inventory",
                "a path or a list of paths",
            ),
            ("state_dir = [\"a\"]\n", 1, "state_dir", "a path"),
            (
                "confirm_timeout = -5\n",
                1,
                "confirm_timeout",
                "a whole number of seconds from 5 to 86400",
            ),
        ] {
            let e = file(text).unwrap_err();
            let want = format!("`/home/op/.config/sshfix/config.toml` line {line}: key `{key}`: ");
            assert!(e.message.starts_with(&want), "{text:?}: {e}");
            assert_eq!(e.hints[0], format!("`{key}` takes {takes}"), "{text:?}");
        }
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let e = file("forks = 0\n").unwrap_err();
        assert!(
            e.message
                .ends_with("line 1: key `forks`: 0 is out of range"),
            "{e}"
        );
        let e = file("forks = 3\nconfirm_timeout = 2\n").unwrap_err();
        assert!(
            e.message
                .ends_with("line 2: key `confirm_timeout`: 2 is out of range"),
            "{e}"
        );
        assert!(file("confirm_timeout = 86400\n").is_ok());
    }

    #[test]
    fn syntax_error_names_the_line() {
        let e = file("forks = 3\nssh_config = \"unterminated\n").unwrap_err();
        assert!(
            e.message
                .starts_with("`/home/op/.config/sshfix/config.toml` line 2: not valid TOML: "),
            "{e}"
        );
        let e = file("forks = 3\nforks = 4\n").unwrap_err();
        assert!(e.message.contains("line 2: not valid TOML"), "{e}");
    }

    #[test]
    fn env_parses_every_variable() {
        let d = parse_env(env(&[
            ("SSHFIX_INVENTORY", "a.ini,inv/,"),
            ("SSHFIX_PLAYBOOK", "x.yml"),
            ("SSHFIX_FORKS", "7"),
            ("SSHFIX_SSH_CONFIG", "ssh.cfg"),
            ("SSHFIX_STATE_DIR", "/tmp/st"),
            ("SSHFIX_FORMAT", "JSON"),
            ("SSHFIX_ACCEPT_NEW_HOSTKEYS", "yes"),
            ("SSHFIX_COLOR", "Always"),
            ("SSHFIX_CONFIRM_TIMEOUT", "60"),
            ("SSHFIX_LOG", "debug"),
        ]))
        .unwrap();
        assert_eq!(
            d,
            Defaults {
                inventory: Some(vec![PathBuf::from("a.ini"), PathBuf::from("inv/")]),
                playbook: Some(vec![PathBuf::from("x.yml")]),
                forks: Some(7),
                ssh_config: Some(PathBuf::from("ssh.cfg")),
                state_dir: Some(PathBuf::from("/tmp/st")),
                format: Some(Format::Json),
                accept_new_hostkeys: Some(true),
                color: Some(ColorChoice::Always),
                confirm_timeout: Some(60),
            }
        );
    }

    #[test]
    fn empty_env_variables_are_unset() {
        let d = parse_env(env(&[("SSHFIX_FORKS", ""), ("SSHFIX_STATE_DIR", "")])).unwrap();
        assert_eq!(d, Defaults::default());
    }

    #[test]
    fn bad_env_values_are_refused_with_what_they_take() {
        for (name, value) in [
            ("SSHFIX_FORKS", "0"),
            ("SSHFIX_FORKS", "lots"),
            ("SSHFIX_FORMAT", "xml"),
            ("SSHFIX_ACCEPT_NEW_HOSTKEYS", "maybe"),
            ("SSHFIX_COLOR", "rainbow"),
            ("SSHFIX_CONFIRM_TIMEOUT", "1"),
        ] {
            let e = parse_env(env(&[(name, value)])).unwrap_err();
            assert_eq!(
                e.message,
                format!("environment variable `{name}={value}` is not valid")
            );
            assert!(e.hints[0].starts_with(&format!("`{name}` takes ")), "{e}");
        }
    }

    /// Layers present (command line, environment, file), then the expected
    /// forks, state_dir and confirm_timeout.
    type Case = (
        bool,
        bool,
        bool,
        Option<u16>,
        Option<&'static str>,
        Option<u64>,
    );

    /// Each layer alone, and each pair: the higher layer wins, per setting.
    #[test]
    fn precedence_matrix() {
        let cli = Defaults {
            forks: Some(1),
            ..Defaults::default()
        };
        let env = Defaults {
            forks: Some(2),
            state_dir: Some("/env".into()),
            ..Defaults::default()
        };
        let file = Defaults {
            forks: Some(3),
            state_dir: Some("/file".into()),
            confirm_timeout: Some(300),
            ..Defaults::default()
        };
        let none = Defaults::default;
        let cases: [Case; 8] = [
            (false, false, false, None, None, None),
            (true, false, false, Some(1), None, None),
            (false, true, false, Some(2), Some("/env"), None),
            (false, false, true, Some(3), Some("/file"), Some(300)),
            (true, true, false, Some(1), Some("/env"), None),
            (true, false, true, Some(1), Some("/file"), Some(300)),
            (false, true, true, Some(2), Some("/env"), Some(300)),
            (true, true, true, Some(1), Some("/env"), Some(300)),
        ];
        for (c, e, f, forks, state, timeout) in cases {
            let pick = |on: bool, d: &Defaults| if on { d.clone() } else { none() };
            let got = pick(c, &cli).or(pick(e, &env)).or(pick(f, &file));
            assert_eq!(got.forks, forks, "cli={c} env={e} file={f}");
            assert_eq!(
                got.state_dir.as_deref(),
                state.map(Path::new),
                "cli={c} env={e} file={f}"
            );
            assert_eq!(got.confirm_timeout, timeout, "cli={c} env={e} file={f}");
        }
    }

    #[test]
    fn locate_order() {
        let flag = Path::new("/flag.toml");
        let all = env(&[
            ("SSHFIX_CONFIG", "/env.toml"),
            ("XDG_CONFIG_HOME", "/xdg"),
            ("HOME", "/home/op"),
        ]);
        assert_eq!(
            locate(Some(flag), &all),
            Some(Location {
                path: flag.into(),
                explicit: true
            })
        );
        assert_eq!(
            locate(None, &all),
            Some(Location {
                path: "/env.toml".into(),
                explicit: true
            })
        );
        let xdg = env(&[("XDG_CONFIG_HOME", "/xdg"), ("HOME", "/home/op")]);
        assert_eq!(
            locate(None, xdg),
            Some(Location {
                path: "/xdg/sshfix/config.toml".into(),
                explicit: false
            })
        );
        // a relative XDG_CONFIG_HOME is ignored, as the XDG spec says
        let rel = env(&[("XDG_CONFIG_HOME", "cfg"), ("HOME", "/home/op")]);
        assert_eq!(
            locate(None, rel),
            Some(Location {
                path: "/home/op/.config/sshfix/config.toml".into(),
                explicit: false
            })
        );
        assert_eq!(locate(None, env(&[])), None);
    }

    #[test]
    fn missing_implicit_file_is_fine_missing_explicit_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.toml");
        let implicit = Location {
            path: path.clone(),
            explicit: false,
        };
        assert_eq!(read_file(&implicit), Ok(None));
        let explicit = Location {
            path,
            explicit: true,
        };
        let e = read_file(&explicit).unwrap_err();
        assert!(e.message.starts_with("reading the defaults file `"), "{e}");
        assert!(e.hints[0].contains("--config"), "{e}");
    }

    #[test]
    fn unreadable_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        // a directory where the file should be cannot be read, even by root
        let path = dir.path().join("config.toml");
        std::fs::create_dir(&path).unwrap();
        let e = read_file(&Location {
            path: path.clone(),
            explicit: false,
        })
        .unwrap_err();
        assert!(
            e.message
                .starts_with(&format!("reading the defaults file `{}`: ", path.display())),
            "{e}"
        );
        assert!(e.hints[0].contains("--config /dev/null"), "{e}");
    }

    #[test]
    fn dev_null_is_an_empty_file() {
        let at = Location {
            path: "/dev/null".into(),
            explicit: true,
        };
        let text = read_file(&at).unwrap().unwrap();
        assert_eq!(
            parse_file(&at.path, &text, None).unwrap(),
            Defaults::default()
        );
    }
}
