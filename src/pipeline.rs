//! The I/O driver behind `facts` and `plan`: load the inventory and the
//! catalogue, probe, reach each host and gather its facts, run the checks,
//! and hand the results to `report`. Everything it calls for decisions is pure.

use std::path::Path;
use std::sync::Arc;

use crate::checks::Catalogue;
use crate::cli::{self, Format, GlobalArgs, PlanArgs};
use crate::error::{Exit, Fatal};
use crate::facts::gather::{self, Gathered};
use crate::facts::model::{self, HostFacts};
use crate::inventory::vars::HostSettings;
use crate::plan::{HostPlan, Plan};
use crate::probe::{self, ProbeOptions, ProbeResult, ProbeTarget};
use crate::report;
use crate::transport::paths::Reacher;
use crate::transport::ssh::SshOptions;
use crate::transport::{until_interrupted, Interrupted};

/// One host after gathering: its facts, when the script ran.
pub struct HostResult {
    pub gathered: Gathered,
    pub facts: Option<HostFacts>,
}

fn ssh_options(global: &GlobalArgs) -> SshOptions {
    SshOptions {
        user_config: global.ssh_config.clone(),
        accept_new: global.accept_new_hostkeys,
        ..SshOptions::default()
    }
}

fn interrupted(_: Interrupted) -> Fatal {
    let mut f = Fatal::input(
        "interrupted: every ssh process of this run was stopped; nothing was changed on any host",
    );
    f.exit = Exit::Interrupted;
    f
}

/// Reaches every host and gathers its facts (under Ctrl-C handling).
fn gather_hosts(
    rt: &tokio::runtime::Runtime,
    global: &GlobalArgs,
    hosts: &[HostSettings],
) -> Result<Vec<HostResult>, Fatal> {
    let reacher = Reacher::new(ssh_options(global))
        .map_err(|e| Fatal::input(format!("creating the ssh run directory: {e}")))?;
    let reacher = Arc::new(reacher);
    let gathered = rt
        .block_on(until_interrupted(gather::gather_all(
            reacher.clone(),
            hosts,
            global.forks.into(),
        )))
        .map_err(interrupted)?;
    if let Ok(r) = Arc::try_unwrap(reacher) {
        rt.block_on(r.close());
    }
    Ok(gathered
        .into_iter()
        .zip(hosts)
        .map(|(g, h)| {
            let facts = g.outcome.as_ref().ok().map(|frames| {
                model::build(
                    frames,
                    &model::Input {
                        port: h.ssh_port(),
                        clients: &g.clients,
                        server_addr: h.address.parse().ok(),
                    },
                )
            });
            HostResult { gathered: g, facts }
        })
        .collect())
}

/// The exit status after gathering: 4 when a host was not reached, 2 when a
/// reached host's facts could not be gathered.
fn gather_exit(results: &[HostResult]) -> Exit {
    if results.iter().any(|r| r.gathered.reached_via.is_none()) {
        Exit::Unreachable
    } else if results.iter().any(|r| r.facts.is_none()) {
        Exit::HostFailed
    } else {
        Exit::Success
    }
}

/// Prints each unreachable or failed host to stderr, so that a JSON consumer
/// on stdout and a person on the terminal both learn about it.
fn warn_failures(results: &[HostResult]) {
    for r in results {
        if let Err(e) = &r.gathered.outcome {
            eprintln!("warning: {e}");
        }
    }
}

/// `sshfix facts`.
pub fn facts(global: &GlobalArgs) -> Result<Exit, Fatal> {
    let inventory = cli::load_inventory(global)?;
    let hosts = cli::selected_hosts(global, &inventory)?;
    let rt = cli::runtime()?;
    let results = gather_hosts(&rt, global, &hosts)?;
    warn_failures(&results);
    let text = match global.format {
        Format::Json => json_text(&report::facts::to_json(&results))?,
        Format::Human => report::facts::render_human(&results),
    };
    cli::print_stdout(&text)?;
    Ok(gather_exit(&results))
}

fn json_text(value: &serde_json::Value) -> Result<String, Fatal> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Fatal::input(format!("rendering JSON: {e}")))?;
    text.push('\n');
    Ok(text)
}

fn write_file(path: &Path, text: &str, what: &str) -> Result<(), Fatal> {
    std::fs::write(path, text)
        .map_err(|e| Fatal::input(format!("writing the {what} to `{}`: {e}", path.display())))
}

/// `sshfix plan`: findings, proposed changes and actions, what needs a human.
pub fn plan(global: &GlobalArgs, args: &PlanArgs) -> Result<Exit, Fatal> {
    let inventory = cli::load_inventory(global)?;
    let hosts = cli::selected_hosts(global, &inventory)?;
    // a broken playbook is reported before any host is touched
    let catalogue = Catalogue::load(&global.playbook).map_err(|e| Fatal::input(e.to_string()))?;
    let rt = cli::runtime()?;
    let targets: Vec<ProbeTarget> = hosts.iter().map(ProbeTarget::of).collect();
    let probes: Vec<ProbeResult> = rt
        .block_on(until_interrupted(probe::probe_all(
            targets,
            global.forks.into(),
            ProbeOptions::default(),
        )))
        .map_err(interrupted)?;
    let results = gather_hosts(&rt, global, &hosts)?;
    warn_failures(&results);
    let mut plan = Plan::new(now_rfc3339());
    for ((r, p), h) in results.iter().zip(&probes).zip(&hosts) {
        let mut hp = HostPlan::new(&r.gathered, p);
        if let (Some(facts), Ok(frames)) = (&r.facts, &r.gathered.outcome) {
            let context = model::context(&r.gathered, Some(p), facts);
            let evaluation = catalogue.evaluate(&context);
            for e in &evaluation.errors {
                eprintln!("warning: host `{}`: {e}", r.gathered.host);
            }
            let files = model::files_map(frames);
            let host = crate::modules::Host {
                name: &r.gathered.host,
                facts,
                frames,
                files: &files,
                gathered: &files,
                port: h.ssh_port(),
                clients: &r.gathered.clients,
            };
            let (proposal, human) = crate::plan::propose(&host, &evaluation.findings);
            hp.findings = evaluation.findings;
            hp.check_errors = evaluation.errors.iter().map(ToString::to_string).collect();
            hp.changes = proposal.edits;
            hp.actions = proposal.actions;
            hp.needs_human = human;
        }
        plan.hosts.push(hp);
    }
    if let Some(path) = &args.out {
        write_file(path, &json_text(&plan.to_json())?, "plan")?;
    }
    if let Some(path) = &args.markdown {
        write_file(
            path,
            &report::plan::render_markdown(&plan),
            "review document",
        )?;
    }
    let text = match global.format {
        Format::Json => json_text(&plan.to_json())?,
        Format::Human => report::plan::render_human(&plan, report::color_stdout()),
    };
    cli::print_stdout(&text)?;
    let exit = gather_exit(&results);
    Ok(match exit {
        Exit::Success if args.detailed_exitcode && plan.has_changes() => Exit::HostFailed,
        // findings alone are not a failure of `plan`; an unreached host is
        Exit::HostFailed => Exit::Success,
        other => other,
    })
}

/// The current UTC time as `2026-11-24T10:00:00Z`.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0);
    now.ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}
