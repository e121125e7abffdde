//! What the packages ship, made by the real binary: the man pages render with
//! groff without warnings and name every command, the bash completion is valid
//! bash and completes commands, options and values, the zsh and fish scripts
//! pass their shells' syntax check; and the defaults file and `SSHFIX_*`
//! variables reach a real run in the documented order (flag > environment >
//! file), while a bad file stops sshfix with file, line and key.
//!
//! groff, zsh and fish are installed by `scripts/test.sh` when it runs as root;
//! elsewhere a missing tool is a loud skip, and with `CI=true` a failure.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use clap::CommandFactory;
use sshfix::cli::Cli;

fn visible_commands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect()
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawning");
    assert!(
        out.status.success(),
        "{cmd:?} exited {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Whether `tool` can run here; without it, skips loudly (fails in CI).
fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "`{tool}` is needed in CI (scripts/test.sh installs it)"
        );
        eprintln!("\n*** SKIPPED: `{tool}` is not installed; part of this test did not run ***\n");
    }
    found
}

fn generate(args: &[&str], dir: &Path) {
    run(common::isolate::sshfix()
        .arg("generate")
        .args(args)
        .arg(dir));
}

#[test]
fn man_pages_render_and_name_every_command() {
    let dir = tempfile::tempdir().unwrap();
    generate(&["man"], dir.path());
    let mut pages = vec!["sshfix.1".to_string()];
    pages.extend(visible_commands().iter().map(|c| format!("sshfix-{c}.1")));
    let mut found: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut want = pages.clone();
    want.sort();
    assert_eq!(found, want);
    if !have("groff") {
        return;
    }
    for page in &pages {
        let out = run(Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-P-cbou"])
            .arg(dir.path().join(page)));
        assert!(
            out.stderr.is_empty(),
            "groff warns about {page}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        for section in ["NAME", "SYNOPSIS", "OPTIONS", "EXAMPLES", "SEE ALSO"] {
            assert!(text.contains(section), "{page} has no {section}:\n{text}");
        }
    }
    let top = run(Command::new("groff")
        .args(["-man", "-Tutf8", "-P-cbou"])
        .arg(dir.path().join("sshfix.1")));
    // plain text (no bold, no underline); COMMANDS has one `sshfix-X(1)` per line
    let text = String::from_utf8_lossy(&top.stdout);
    for cmd in visible_commands() {
        assert!(
            text.contains(&format!("sshfix-{cmd}(1)")),
            "sshfix(1) does not list `{cmd}`"
        );
    }
    for heading in ["DEFAULTS", "EXIT STATUS", "SSHFIX_FORKS", "config.toml"] {
        assert!(
            text.contains(heading),
            "sshfix(1) has no `{heading}`:\n{text}"
        );
    }
}

/// Calls the bash completion function the way bash does for `words` with the
/// cursor on the last word, and returns the candidates.
fn complete_bash(script: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let code = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={cword}\nCOMP_LINE='{}'\nCOMP_POINT=${{#COMP_LINE}}\n\
         _sshfix sshfix '{}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.join(" "),
        words[cword],
    );
    let out = run(Command::new("bash").arg("-c").arg(code));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completion_is_valid_and_completes() {
    let dir = tempfile::tempdir().unwrap();
    generate(&["completions", "bash"], dir.path());
    let script = dir.path().join("sshfix");
    run(Command::new("bash").arg("-n").arg(&script));

    let all = complete_bash(&script, &["sshfix", ""]);
    for cmd in visible_commands() {
        assert!(all.contains(&cmd), "`sshfix <TAB>` lacks `{cmd}`: {all:?}");
    }
    assert!(all.contains(&"--forks".to_string()), "{all:?}");
    assert!(
        !all.contains(&"generate".to_string()),
        "the hidden `generate` is offered"
    );
    assert_eq!(complete_bash(&script, &["sshfix", "pr"]), ["probe"]);
    assert_eq!(complete_bash(&script, &["sshfix", "ro"]), ["rollback"]);
    let apply = complete_bash(&script, &["sshfix", "apply", "--confirm"]);
    assert_eq!(apply, ["--confirm-timeout"]);
    assert_eq!(
        complete_bash(&script, &["sshfix", "plan", "--format", ""]),
        ["human", "json"]
    );
}

#[test]
fn zsh_and_fish_completions_pass_their_shells() {
    let dir = tempfile::tempdir().unwrap();
    generate(&["completions", "zsh"], dir.path());
    generate(&["completions", "fish"], dir.path());
    let zsh = std::fs::read_to_string(dir.path().join("_sshfix")).unwrap();
    let fish = std::fs::read_to_string(dir.path().join("sshfix.fish")).unwrap();
    assert!(zsh.starts_with("#compdef sshfix"), "{zsh}");
    for cmd in visible_commands() {
        assert!(
            zsh.contains(&format!("'{cmd}:")),
            "zsh completion lacks `{cmd}`"
        );
        assert!(
            fish.contains(&format!(" -a \"{cmd}\"")),
            "fish completion lacks `{cmd}`"
        );
    }
    if have("zsh") {
        run(Command::new("zsh")
            .arg("-n")
            .arg(dir.path().join("_sshfix")));
    }
    if have("fish") {
        run(Command::new("fish")
            .arg("--no-execute")
            .arg(dir.path().join("sshfix.fish")));
        // and fish itself completes a command from it
        let out = run(Command::new("fish")
            .arg("--no-config")
            .arg("-c")
            .arg(format!(
                "source '{}'; complete -C 'sshfix inv'",
                dir.path().join("sshfix.fish").display()
            )));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.starts_with("inventory"),
            "fish completes `sshfix inv` as {text:?}"
        );
    }
}

/// A temp XDG_CONFIG_HOME with `sshfix/config.toml` holding `config`, and
/// three inventories whose only host says where it came from.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(config: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("xdg/sshfix")).unwrap();
        std::fs::write(dir.path().join("xdg/sshfix/config.toml"), config).unwrap();
        for name in ["file", "env", "flag"] {
            std::fs::write(
                dir.path().join(format!("{name}.ini")),
                format!("from-{name} ansible_host=127.0.0.1\n"),
            )
            .unwrap();
        }
        // the file's relative path is taken from its own directory
        std::fs::copy(
            dir.path().join("file.ini"),
            dir.path().join("xdg/sshfix/file.ini"),
        )
        .unwrap();
        Setup { dir }
    }

    fn sshfix(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = common::isolate::sshfix();
        cmd.current_dir(self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg"))
            .envs(env.iter().copied())
            .args(args);
        cmd.output().unwrap()
    }

    fn hosts(&self, env: &[(&str, &str)], args: &[&str]) -> Vec<String> {
        let out = self.sshfix(env, args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut hosts: Vec<String> = v["_meta"]["hostvars"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        hosts.sort();
        hosts
    }
}

#[test]
fn inventory_comes_from_flag_then_environment_then_file() {
    let s = Setup::new("# defaults for the test\ninventory = \"file.ini\"\nforks = 5\n");
    let list = ["inventory", "--list"];
    assert_eq!(s.hosts(&[], &list), ["from-file"]);
    assert_eq!(
        s.hosts(&[("SSHFIX_INVENTORY", "env.ini")], &list),
        ["from-env"]
    );
    assert_eq!(
        s.hosts(&[("SSHFIX_INVENTORY", "env.ini,flag.ini")], &list),
        ["from-env", "from-flag"]
    );
    let flag = ["inventory", "--list", "-i", "flag.ini"];
    assert_eq!(
        s.hosts(&[("SSHFIX_INVENTORY", "env.ini")], &flag),
        ["from-flag"]
    );
    // `--config /dev/null` (or SSHFIX_CONFIG) leaves the file out
    let out = s.sshfix(&[], &["--config", "/dev/null", "inventory", "--list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no inventory given"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_defaults_file_stops_everything_with_file_line_and_key() {
    let s = Setup::new("inventory = \"file.ini\"\n\nforkz = 5\n");
    let out = s.sshfix(&[], &["inventory", "--list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "printed {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let config = s.dir.path().join("xdg/sshfix/config.toml");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.lines().next().unwrap(),
        format!("error: `{}` line 3: unknown key `forkz`", config.display())
    );
    assert!(
        stderr.contains("hint: valid keys: inventory, playbook, forks, ssh_config, state_dir, format, accept_new_hostkeys, color, confirm_timeout"),
        "{stderr}"
    );
    // ignoring the file works
    let out = s.sshfix(
        &[],
        &[
            "--config",
            "/dev/null",
            "inventory",
            "--list",
            "-i",
            "flag.ini",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let s = Setup::new("forks = \"ten\"\n");
    let out = s.sshfix(&[], &["inventory", "--list", "-i", "flag.ini"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 1: key `forks`: "), "{stderr}");
    assert!(
        stderr.contains("`forks` takes a whole number from 1 to 65535"),
        "{stderr}"
    );
}

#[test]
fn bad_environment_value_and_missing_explicit_file_stop_everything() {
    let s = Setup::new("");
    let out = s.sshfix(
        &[("SSHFIX_FORKS", "0")],
        &["inventory", "--list", "-i", "flag.ini"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("error: environment variable `SSHFIX_FORKS=0` is not valid"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // a defaults file named explicitly must exist
    let out = s.sshfix(
        &[("SSHFIX_CONFIG", "nope.toml")],
        &["inventory", "--list", "-i", "flag.ini"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("reading the defaults file `nope.toml`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The examples the .deb ships in /usr/share/doc/sshfix/examples load cleanly.
#[test]
fn shipped_examples_are_valid() {
    use sshfix::inventory::{vars::HostSettings, Inventory};
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for name in ["inventory.ini", "inventory.yml"] {
        let inventory = Inventory::load(&[examples.join(name)]).unwrap();
        assert!(inventory.hosts().len() >= 3, "{name}");
        for host in inventory.hosts() {
            if let Err(e) = HostSettings::from_host(host, &inventory) {
                panic!("{name}: {}: {e}", host.name);
            }
        }
    }
    let catalogue = sshfix::checks::Catalogue::load(&[examples.join("site-checks.yml")]);
    assert!(catalogue.is_ok(), "{:?}", catalogue.err());
    let path = examples.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let d = sshfix::cli::config::parse_file(&path, &text, Some(Path::new("/home/op"))).unwrap();
    // every key is shown in the example
    let shown = [
        d.inventory.is_some(),
        d.playbook.is_some(),
        d.forks.is_some(),
        d.ssh_config.is_some(),
        d.state_dir.is_some(),
        d.format.is_some(),
        d.accept_new_hostkeys.is_some(),
        d.color.is_some(),
        d.confirm_timeout.is_some(),
    ];
    assert_eq!(shown.len(), sshfix::cli::config::KEYS.len());
    assert!(shown.iter().all(|s| *s), "{d:?}");
}
