//! The command line: argument definitions (clap derive), validation, and the
//! dispatch from a parsed command to the library. `main.rs` only calls [`main`].

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::error::{Exit, Fatal};
use crate::inventory::vars::HostSettings;
use crate::inventory::Inventory;
use crate::probe::{self, ProbeOptions, ProbeTarget};
use crate::report;

pub mod config;
pub mod generate;

use config::Defaults;

/// Repair SSH servers that fail before authentication.
///
/// sshfix reaches each broken host through a path that still works (a jump
/// host or a console), finds why the SSH identification exchange fails, and
/// repairs it with backups, validation and automatic rollback.
#[derive(Debug, Parser)]
#[command(
    name = "sshfix",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_long_help = LONG_EPILOGUE
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The end of `sshfix --help` and of `sshfix(1)`: where defaults come from,
/// examples, exit codes (`interface.md`).
const LONG_EPILOGUE: &str = "\
Defaults:
  An option not on the command line comes from its environment variable,
  else from the defaults file, else it is the built-in default:
    -i, --inventory          SSHFIX_INVENTORY (comma-separated)
    -p, --playbook           SSHFIX_PLAYBOOK (comma-separated)
    -f, --forks              SSHFIX_FORKS
    --ssh-config             SSHFIX_SSH_CONFIG
    --state-dir              SSHFIX_STATE_DIR
    --format                 SSHFIX_FORMAT
    --accept-new-hostkeys    SSHFIX_ACCEPT_NEW_HOSTKEYS
    --color                  SSHFIX_COLOR
    apply --confirm-timeout  SSHFIX_CONFIRM_TIMEOUT
  The defaults file is TOML; its keys are the long option names with `_`
  for `-`, for example:
    inventory = [\"~/fleet/inventory.ini\"]
    forks = 20
    confirm_timeout = 300
  It is `--config FILE`, else $SSHFIX_CONFIG, else
  $XDG_CONFIG_HOME/sshfix/config.toml (~/.config/sshfix/config.toml).
  Relative paths in it are taken from its directory. An unknown key or a
  wrong value stops sshfix before it does anything; `--config /dev/null`
  ignores the file.

Examples:
  sshfix probe -i inventory
  sshfix plan -i inventory --out plan.json --markdown plan.md
  sshfix apply -i inventory --plan plan.json
  sshfix rollback
  SSHFIX_FORKS=10 sshfix facts -i inventory -l 'web*'

Exit status:
  0    success; plan --detailed-exitcode: nothing to change
  1    usage, input or internal error (nothing was changed)
  2    some host failed; plan --detailed-exitcode: changes pending
  4    some host could not be reached by any path
  130  interrupted (every ssh process of the run is stopped)";

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Inventory file, directory or executable (repeatable) [default: ./inventory] [env: SSHFIX_INVENTORY]
    #[arg(short = 'i', long = "inventory", value_name = "PATH", global = true)]
    pub inventory: Vec<PathBuf>,
    /// Host/group pattern, Ansible syntax (`web:&prod`, `!db1`, `h*`, `~re`)
    #[arg(short = 'l', long, value_name = "PATTERN", global = true)]
    pub limit: Option<String>,
    /// Extra playbook file(s) with checks; the built-in catalogue always loads first [env: SSHFIX_PLAYBOOK]
    #[arg(short = 'p', long = "playbook", value_name = "PATH", global = true)]
    pub playbook: Vec<PathBuf>,
    /// Hosts worked on at once [env: SSHFIX_FORKS]
    #[arg(short = 'f', long, value_name = "N", default_value_t = 50, global = true,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub forks: u16,
    /// Passed to ssh as `-F FILE` [default: the user's normal ssh configuration] [env: SSHFIX_SSH_CONFIG]
    #[arg(long, value_name = "FILE", global = true)]
    pub ssh_config: Option<PathBuf>,
    /// Accept and record host keys of hosts not yet in known_hosts (changed keys are still refused) [env: SSHFIX_ACCEPT_NEW_HOSTKEYS]
    #[arg(long, global = true)]
    pub accept_new_hostkeys: bool,
    /// Output format; json goes to stdout, progress and logs to stderr [env: SSHFIX_FORMAT]
    #[arg(long, value_enum, default_value_t = Format::Human, global = true)]
    pub format: Format,
    /// Where run journals and local backup copies live [default: $XDG_STATE_HOME/sshfix] [env: SSHFIX_STATE_DIR]
    #[arg(long, value_name = "DIR", global = true)]
    pub state_dir: Option<PathBuf>,
    /// Defaults file (TOML); `/dev/null` for none [default: $XDG_CONFIG_HOME/sshfix/config.toml] [env: SSHFIX_CONFIG]
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// More output (repeat for more); `SSHFIX_LOG` takes a tracing filter
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Less output
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "verbose")]
    pub quiet: u8,
    /// When to colour output: `auto` colours a terminal unless `NO_COLOR` is set [env: SSHFIX_COLOR]
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = report::ColorChoice::Auto, global = true)]
    pub color: report::ColorChoice,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect to each host's SSH port the way a user would and classify the symptom
    #[command(after_help = "\
Examples:
  sshfix probe -i inventory
  sshfix probe -i inventory -l 'web*' --format json
  sshfix probe -i inventory --connect-timeout 2 --banner-timeout 20

Exit status:
  0  every host answered with an SSH identification
  2  some host did not")]
    Probe(ProbeArgs),
    /// Reach each host over its working path and gather diagnostic facts
    #[command(after_help = "\
Examples:
  sshfix facts -i inventory -l web1
  sshfix facts -i inventory --format json > facts.json
  sshfix facts -i inventory --ssh-config ~/.ssh/fleet_config -f 10

Exit status:
  0  every host was reached and its facts gathered
  2  a host was reached but its facts could not be gathered
  4  some host could not be reached by any path")]
    Facts,
    /// Probe + facts + checks -> findings and proposed changes (diffs); changes nothing
    #[command(after_help = "\
Examples:
  sshfix plan -i inventory
  sshfix plan -i inventory -l 'h2:h3' --out plan.json --markdown plan.md
  sshfix plan -i inventory -p site-checks.yml --detailed-exitcode

Exit status:
  0  the plan was made (with --detailed-exitcode: nothing to change)
  2  with --detailed-exitcode: changes are pending
  4  some host could not be reached by any path")]
    Plan(PlanArgs),
    /// Carry out a plan with backup, validation, reload, verification and auto-rollback
    #[command(after_help = "\
Examples:
  sshfix apply -i inventory --plan plan.json
  sshfix apply -i inventory -l h3            (plans, shows the plan, asks)
  sshfix apply -i inventory -l h3 --yes --confirm-timeout 300
  sshfix apply -i inventory --plan plan.json --update-known-hosts

Exit status:
  0  every host was repaired (or needed nothing)
  1  nothing was changed: bad input, or the confirmation was refused
  2  some host failed; each failed host was put back as it was
  4  some host could not be reached by any path")]
    Apply(ApplyArgs),
    /// Restore the files a past run changed, from its backups
    #[command(after_help = "\
Examples:
  sshfix rollback                            (the latest run)
  sshfix rollback --run 20261124T081636Z-59b94e -l h3
  sshfix runs && sshfix rollback --run RUN_ID --state-dir /var/lib/sshfix

Exit status:
  0  every host's files were restored
  2  some host failed
  4  some host could not be reached by any path")]
    Rollback(RollbackArgs),
    /// List past runs recorded in the state directory
    #[command(after_help = "\
Examples:
  sshfix runs
  sshfix runs --format json
  sshfix runs --state-dir /var/lib/sshfix")]
    Runs,
    /// Print the resolved inventory as `ansible-inventory` does
    #[command(after_help = "\
Examples:
  sshfix inventory -i hosts.ini --list
  sshfix inventory -i inventory/ --host web1")]
    Inventory(InventoryArgs),
    /// Explain a finding ID, or what an ssh error message (or `ssh -vvv` log) points to
    #[command(after_help = crate::explain::command::AFTER_HELP)]
    Explain(crate::explain::command::ExplainArgs),
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Seconds to wait for the TCP connection
    #[arg(long, value_name = "SECS", default_value_t = 5.0, value_parser = positive_secs)]
    pub connect_timeout: f64,
    /// Seconds to wait for the SSH identification after connecting
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = positive_secs)]
    pub banner_timeout: f64,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Save the plan (JSON)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write a review document (Markdown)
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Exit 2 when changes are pending
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Apply exactly this saved plan
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
    /// Seconds after which a host reverts by itself unless the repair is confirmed
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub confirm_timeout: u64,
    /// Write regenerated host keys into known_hosts
    #[arg(long)]
    pub update_known_hosts: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The run to undo [default: the latest run]
    #[arg(long = "run", value_name = "RUN_ID")]
    pub run: Option<String>,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct InventoryArgs {
    /// Print every group and host with its variables
    #[arg(long)]
    pub list: bool,
    /// Print one host's variables
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
}

fn positive_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err(format!(
            "`{s}` is not a number of seconds between 0 and 3600"
        )),
    }
}

/// A parsed command line.
#[derive(Debug)]
pub enum Parsed {
    /// A command, with the settings given on the command line itself (the
    /// highest layer of [`config`]).
    Run(Box<Cli>, Defaults),
    /// The hidden `sshfix generate` (man pages, completions).
    Generate(generate::Request),
}

/// Parses `args` (with the program name first).
pub fn parse<I, T>(args: I) -> Result<Parsed, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut cmd = Cli::command().subcommand(generate::command());
    let matches = cmd.try_get_matches_from_mut(args)?;
    if let Some(("generate", m)) = matches.subcommand() {
        return Ok(Parsed::Generate(generate::Request::from_matches(m)));
    }
    let cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))?;
    let given = given_on_command_line(&cli, &matches);
    Ok(Parsed::Run(Box::new(cli), given))
}

/// The [`config::KEYS`] settings typed on the command line (not clap's defaults).
fn given_on_command_line(cli: &Cli, matches: &ArgMatches) -> Defaults {
    let given = |m: &ArgMatches, id: &str| m.value_source(id) == Some(ValueSource::CommandLine);
    let g = &cli.global;
    Defaults {
        inventory: given(matches, "inventory").then(|| g.inventory.clone()),
        playbook: given(matches, "playbook").then(|| g.playbook.clone()),
        forks: given(matches, "forks").then_some(g.forks),
        ssh_config: given(matches, "ssh_config")
            .then(|| g.ssh_config.clone())
            .flatten(),
        state_dir: given(matches, "state_dir")
            .then(|| g.state_dir.clone())
            .flatten(),
        format: given(matches, "format").then_some(g.format),
        accept_new_hostkeys: given(matches, "accept_new_hostkeys").then_some(g.accept_new_hostkeys),
        color: given(matches, "color").then_some(g.color),
        confirm_timeout: match (&cli.command, matches.subcommand()) {
            (Command::Apply(a), Some((_, m))) if given(m, "confirm_timeout") => {
                Some(a.confirm_timeout)
            }
            _ => None,
        },
    }
}

/// `cli` with every setting taken from `settings` where it has one (the
/// layers already merged: command line, environment, defaults file).
pub fn with_settings(mut cli: Cli, settings: Defaults) -> Cli {
    let g = &mut cli.global;
    if let Some(v) = settings.inventory {
        g.inventory = v;
    }
    if let Some(v) = settings.playbook {
        g.playbook = v;
    }
    if let Some(v) = settings.forks {
        g.forks = v;
    }
    if let Some(v) = settings.ssh_config {
        g.ssh_config = Some(v);
    }
    if let Some(v) = settings.state_dir {
        g.state_dir = Some(v);
    }
    if let Some(v) = settings.format {
        g.format = v;
    }
    if let Some(v) = settings.accept_new_hostkeys {
        g.accept_new_hostkeys = v;
    }
    if let Some(v) = settings.color {
        g.color = v;
    }
    if let (Command::Apply(a), Some(v)) = (&mut cli.command, settings.confirm_timeout) {
        a.confirm_timeout = v;
    }
    cli
}

/// Entry point of the binary: parse, run, print the error, return the exit code.
pub fn main() -> ExitCode {
    let (cli, given) = match parse(std::env::args_os()) {
        Ok(Parsed::Run(cli, given)) => (*cli, given),
        Ok(Parsed::Generate(request)) => return finish(generate::run(&request)),
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Exit::Input.code()
            } else {
                0
            });
        }
    };
    // colour and logging follow the merged settings (`color` may come from
    // the defaults file); when those cannot be read, the command line's
    let (color, verbose, quiet) = (cli.global.color, cli.global.verbose, cli.global.quiet);
    let resolved = config::load(cli.global.config.as_deref())
        .map(|layers| with_settings(cli, given.or(layers)))
        .map_err(|e| {
            let mut fatal = Fatal::input(e.message);
            fatal.hints = e.hints;
            fatal
        });
    report::init_color(resolved.as_ref().map_or(color, |c| c.global.color));
    init_logging(verbose, quiet);
    finish(resolved.and_then(run))
}

fn finish(result: Result<Exit, Fatal>) -> ExitCode {
    let exit = match result {
        Ok(exit) => exit,
        Err(fatal) => {
            let _ = writeln!(std::io::stderr(), "{fatal}");
            fatal.exit
        }
    };
    ExitCode::from(exit.code())
}

/// Logs to stderr at the level `-v`/`-q` give (`SSHFIX_LOG` wins).
fn init_logging(verbose: u8, quiet: u8) {
    let level = match (verbose, quiet) {
        (_, q) if q > 0 => "error",
        (0, _) => "warn",
        (1, _) => "info",
        (2, _) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SSHFIX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("sshfix={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(report::color_stderr())
        .with_target(false)
        .without_time()
        .try_init();
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<Exit, Fatal> {
    match &cli.command {
        Command::Inventory(args) => inventory_cmd(&cli.global, args),
        Command::Probe(args) => probe_cmd(&cli.global, args),
        Command::Facts => crate::pipeline::facts(&cli.global),
        Command::Plan(args) => crate::pipeline::plan(&cli.global, args),
        Command::Apply(args) => crate::pipeline::apply(&cli.global, args),
        Command::Rollback(args) => crate::pipeline::rollback(&cli.global, args),
        Command::Runs => crate::pipeline::runs(&cli.global),
        Command::Explain(args) => crate::explain::command::run(&cli.global, args),
    }
}

/// Loads the inventory sources of `-i` (default `./inventory`).
pub fn load_inventory(global: &GlobalArgs) -> Result<Inventory, Fatal> {
    let sources = if global.inventory.is_empty() {
        let default = PathBuf::from("inventory");
        if !default.exists() {
            return Err(
                Fatal::input("no inventory given and `./inventory` does not exist").hint(
                    "pass one with `-i PATH` (an INI/YAML file, a directory, or an executable)",
                ),
            );
        }
        vec![default]
    } else {
        global.inventory.clone()
    };
    Inventory::load(&sources).map_err(|e| Fatal::input(e.to_string()))
}

/// The hosts `--limit` selects, with their typed settings; any bad variable stops the run.
pub fn selected_hosts(
    global: &GlobalArgs,
    inventory: &Inventory,
) -> Result<Vec<HostSettings>, Fatal> {
    let hosts = inventory
        .select(global.limit.as_deref())
        .map_err(|e| Fatal::input(e.to_string()))?;
    if hosts.is_empty() {
        return Err(match &global.limit {
            Some(limit) => Fatal::input(format!(
                "`--limit {limit}` matches no host in the inventory"
            )),
            None => Fatal::input("the inventory has no hosts"),
        });
    }
    let hosts = hosts
        .into_iter()
        .map(|h| HostSettings::from_host(h, inventory).map_err(|e| Fatal::input(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    // before any thread or child process exists
    crate::transport::paths::withhold_from_children(hosts.iter().flat_map(|h| {
        [
            h.become_.as_ref().and_then(|b| b.password_env.as_deref()),
            h.console.as_ref().and_then(|c| c.password_env.as_deref()),
        ]
        .into_iter()
        .flatten()
    }));
    Ok(hosts)
}

pub(crate) fn print_stdout(text: &str) -> Result<(), Fatal> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`sshfix ... | head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Fatal::input(format!("writing to stdout: {e}"))),
    }
}

fn inventory_cmd(global: &GlobalArgs, args: &InventoryArgs) -> Result<Exit, Fatal> {
    // ansible-inventory prunes groups and hosts by a limit; printing the whole
    // inventory instead would mislead, so a limit is refused until that is built.
    if let Some(limit) = &global.limit {
        return Err(Fatal::input(format!(
            "`sshfix inventory` does not take `--limit` (`{limit}`); it prints the whole inventory"
        ))
        .hint("`sshfix probe -l PATTERN` shows which hosts a pattern selects"));
    }
    let inventory = load_inventory(global)?;
    let value = if args.list {
        inventory.to_list_json()
    } else {
        let name = args.host.as_deref().unwrap_or_default();
        inventory.host_json(name).ok_or_else(|| {
            Fatal::input(format!("host `{name}` is not in the inventory"))
                .hint("`sshfix inventory --list` shows every host")
        })?
    };
    let mut text = serde_json::to_string_pretty(&value)
        .map_err(|e| Fatal::input(format!("rendering JSON: {e}")))?;
    text.push('\n');
    print_stdout(&text)?;
    Ok(Exit::Success)
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Fatal> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Fatal::input(format!("starting the async runtime: {e}")))
}

fn probe_cmd(global: &GlobalArgs, args: &ProbeArgs) -> Result<Exit, Fatal> {
    let inventory = load_inventory(global)?;
    let hosts = selected_hosts(global, &inventory)?;
    let targets: Vec<ProbeTarget> = hosts.iter().map(ProbeTarget::of).collect();
    let options = ProbeOptions {
        connect_timeout: Duration::from_secs_f64(args.connect_timeout),
        banner_timeout: Duration::from_secs_f64(args.banner_timeout),
    };
    let results = runtime()?.block_on(probe::probe_all(targets, global.forks.into(), options));
    match global.format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&report::probe::to_json(&results))
                .map_err(|e| Fatal::input(format!("rendering JSON: {e}")))?;
            text.push('\n');
            print_stdout(&text)?;
        }
        Format::Human => print_stdout(&report::probe::render_human(&results))?,
    }
    Ok(if results.iter().all(|r| r.symptom == probe::Symptom::Ok) {
        Exit::Success
    } else {
        Exit::HostFailed
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_parse_after_subcommand() {
        let cli = Cli::try_parse_from([
            "sshfix",
            "probe",
            "-i",
            "a.ini",
            "-i",
            "b",
            "-l",
            "web*:!web3",
            "-f",
            "7",
            "--format",
            "json",
            "--banner-timeout",
            "2.5",
        ])
        .unwrap();
        assert_eq!(
            cli.global.inventory,
            vec![PathBuf::from("a.ini"), PathBuf::from("b")]
        );
        assert_eq!(cli.global.limit.as_deref(), Some("web*:!web3"));
        assert_eq!(cli.global.forks, 7);
        assert_eq!(cli.global.format, Format::Json);
        match cli.command {
            Command::Probe(p) => assert_eq!(p.banner_timeout, 2.5),
            other => panic!("parsed as {other:?}"),
        }
    }

    fn parsed(argv: &[&str]) -> (Cli, Defaults) {
        match parse(argv).unwrap() {
            Parsed::Run(cli, given) => (*cli, given),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn only_options_typed_count_as_given() {
        let (_, given) = parsed(&["sshfix", "apply"]);
        assert_eq!(given, Defaults::default());
        // global options before and after the command, and a command's own option
        for argv in [
            &[
                "sshfix",
                "-f",
                "9",
                "--format",
                "json",
                "apply",
                "--confirm-timeout",
                "60",
            ][..],
            &[
                "sshfix",
                "apply",
                "-f",
                "9",
                "--confirm-timeout",
                "60",
                "--format",
                "json",
            ][..],
        ] {
            let (_, given) = parsed(argv);
            assert_eq!(
                given,
                Defaults {
                    forks: Some(9),
                    format: Some(Format::Json),
                    confirm_timeout: Some(60),
                    ..Defaults::default()
                },
                "{argv:?}"
            );
        }
        // typing the built-in default is still typing it
        let (_, given) = parsed(&[
            "sshfix",
            "runs",
            "-f",
            "50",
            "-i",
            "a",
            "--accept-new-hostkeys",
        ]);
        assert_eq!(given.forks, Some(50));
        assert_eq!(given.inventory, Some(vec![PathBuf::from("a")]));
        assert_eq!(given.accept_new_hostkeys, Some(true));
    }

    /// The whole chain on a parsed command line: flag > environment > file > built-in.
    #[test]
    fn flag_beats_environment_beats_file_beats_builtin() {
        let env = Defaults {
            forks: Some(20),
            state_dir: Some("/env/state".into()),
            ..Defaults::default()
        };
        let file = Defaults {
            forks: Some(30),
            state_dir: Some("/file/state".into()),
            ssh_config: Some("/file/ssh_config".into()),
            confirm_timeout: Some(600),
            inventory: Some(vec!["/file/inventory".into()]),
            ..Defaults::default()
        };
        let (cli, given) = parsed(&["sshfix", "apply", "-f", "10", "-i", "cli.ini"]);
        let cli = with_settings(cli, given.or(env.clone().or(file.clone())));
        assert_eq!(cli.global.forks, 10);
        assert_eq!(cli.global.inventory, vec![PathBuf::from("cli.ini")]);
        assert_eq!(cli.global.state_dir, Some(PathBuf::from("/env/state")));
        assert_eq!(
            cli.global.ssh_config,
            Some(PathBuf::from("/file/ssh_config"))
        );
        assert_eq!(cli.global.format, Format::Human);
        match &cli.command {
            Command::Apply(a) => assert_eq!(a.confirm_timeout, 600),
            other => panic!("parsed as {other:?}"),
        }
        // nothing anywhere: clap's built-in defaults stay
        let (cli, given) = parsed(&["sshfix", "apply"]);
        let cli = with_settings(cli, given.or(Defaults::default()));
        assert_eq!(cli.global.forks, 50);
        assert!(cli.global.inventory.is_empty());
        match &cli.command {
            Command::Apply(a) => assert_eq!(a.confirm_timeout, 120),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn generate_is_parsed_but_hidden() {
        match parse(["sshfix", "generate", "completions", "zsh", "out"]).unwrap() {
            Parsed::Generate(r) => assert_eq!(
                r,
                generate::Request::Completions {
                    shell: clap_complete::Shell::Zsh,
                    dir: "out".into()
                }
            ),
            other => panic!("parsed as {other:?}"),
        }
        assert!(Cli::command().find_subcommand("generate").is_none());
    }

    #[test]
    fn every_command_has_examples() {
        // the hidden `generate` (for packagers) too
        let cmd = Cli::command().subcommand(generate::command());
        let mut missing: Vec<&str> = cmd
            .get_subcommands()
            .filter(|s| {
                !s.get_after_help()
                    .is_some_and(|h| h.to_string().starts_with("Examples:\n  sshfix "))
            })
            .map(|s| s.get_name())
            .collect();
        if !cmd
            .get_after_long_help()
            .is_some_and(|h| h.to_string().contains("\nExamples:\n  sshfix "))
        {
            missing.push("sshfix");
        }
        assert!(missing.is_empty(), "no Examples in --help of {missing:?}");
    }

    /// `sshfix --help` names every setting's option and variable.
    #[test]
    fn help_lists_every_default() {
        for key in config::KEYS {
            let row = LONG_EPILOGUE
                .lines()
                .find(|l| l.contains(key.flag))
                .unwrap_or_else(|| panic!("no row for {}", key.flag));
            assert!(row.contains(key.env), "{row:?} lacks {}", key.env);
            assert_eq!(
                key.flag.trim_start_matches("--").replace('-', "_"),
                key.name
            );
        }
    }

    #[test]
    fn bad_usage_rejected() {
        for argv in [
            vec!["sshfix", "probe", "-f", "0"],
            vec!["sshfix", "probe", "--banner-timeout", "-1"],
            vec!["sshfix", "inventory"],
            vec!["sshfix", "inventory", "--list", "--host", "a"],
            vec!["sshfix", "probe", "-v", "-q"],
        ] {
            assert!(
                Cli::try_parse_from(&argv).is_err(),
                "{argv:?} should be refused"
            );
        }
    }
}
