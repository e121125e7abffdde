//! The command line: argument definitions (clap derive), validation, and the
//! dispatch from a parsed command to the library. `main.rs` only calls [`main`].

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Exit, Fatal};
use crate::inventory::vars::HostSettings;
use crate::inventory::Inventory;
use crate::probe::{self, ProbeOptions, ProbeTarget};
use crate::report;

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
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Inventory file, directory or executable (repeatable) [default: ./inventory]
    #[arg(short = 'i', long = "inventory", value_name = "PATH", global = true)]
    pub inventory: Vec<PathBuf>,
    /// Host/group pattern, Ansible syntax (`web:&prod`, `!db1`, `h*`, `~re`)
    #[arg(short = 'l', long, value_name = "PATTERN", global = true)]
    pub limit: Option<String>,
    /// Extra playbook file(s) with checks
    #[arg(short = 'p', long = "playbook", value_name = "PATH", global = true)]
    pub playbook: Vec<PathBuf>,
    /// Hosts worked on at once
    #[arg(short = 'f', long, value_name = "N", default_value_t = 50, global = true,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub forks: u16,
    /// Passed to ssh as `-F FILE` [default: the user's normal ssh configuration]
    #[arg(long, value_name = "FILE", global = true)]
    pub ssh_config: Option<PathBuf>,
    /// Accept and record host keys of hosts not yet in known_hosts (changed keys are still refused)
    #[arg(long, global = true)]
    pub accept_new_hostkeys: bool,
    /// Output format; json goes to stdout, progress and logs to stderr
    #[arg(long, value_enum, default_value_t = Format::Human, global = true)]
    pub format: Format,
    /// Where run journals and local backup copies live [default: $XDG_STATE_HOME/sshfix]
    #[arg(long, value_name = "DIR", global = true)]
    pub state_dir: Option<PathBuf>,
    /// More output (repeat for more)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Less output
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "verbose")]
    pub quiet: u8,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect to each host's SSH port the way a user would and classify the symptom
    #[command(
        after_help = "Examples:\n  sshfix probe -i inventory\n  sshfix probe -i inventory -l 'web*' --format json\n\n\
Exit status: 0 when every host answered with an SSH identification, 2 when some did not."
    )]
    Probe(ProbeArgs),
    /// Reach each host over its working path and gather diagnostic facts
    Facts,
    /// Probe + facts + checks -> findings and proposed changes (diffs); changes nothing
    Plan(PlanArgs),
    /// Carry out a plan with backup, validation, reload, verification and auto-rollback
    Apply(ApplyArgs),
    /// Restore the files a past run changed, from its backups
    Rollback(RollbackArgs),
    /// List past runs recorded in the state directory
    Runs,
    /// Print the resolved inventory as `ansible-inventory` does
    #[command(
        after_help = "Examples:\n  sshfix inventory -i hosts.ini --list\n  sshfix inventory -i inventory/ --host web1"
    )]
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

/// Entry point of the binary: parse, run, print the error, return the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
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
    init_logging(&cli.global);
    let exit = match run(cli) {
        Ok(exit) => exit,
        Err(fatal) => {
            let _ = writeln!(std::io::stderr(), "{fatal}");
            fatal.exit
        }
    };
    ExitCode::from(exit.code())
}

fn init_logging(global: &GlobalArgs) {
    let level = match (global.verbose, global.quiet) {
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
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
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
