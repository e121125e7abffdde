//! The I/O driver behind `facts` and `plan`: load the inventory and the
//! catalogue, probe, reach each host and gather its facts, run the checks,
//! and hand the results to `report`. Everything it calls for decisions is pure.

use std::path::Path;
use std::sync::Arc;

use crate::apply::journal::{Journal, Run};
use crate::apply::outcome::{HostOutcome, HostStatus};
use crate::apply::progress::Progress;
use crate::apply::{Options, Shared};
use crate::checks::Catalogue;
use crate::cli::{self, ApplyArgs, Format, GlobalArgs, PlanArgs, RollbackArgs};
use crate::error::{Exit, Fatal};
use crate::facts::gather::{self, Gathered};
use crate::facts::model::{self, HostFacts};
use crate::inventory::vars::HostSettings;
use crate::plan::load::HostWork;
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

/// Probes, gathers and plans every selected host: what `plan` prints and
/// what `apply` without `--plan` carries out. The exit status is the
/// gathering's (4 when a host was not reached).
fn make_plan(
    global: &GlobalArgs,
    rt: &tokio::runtime::Runtime,
    hosts: &[HostSettings],
) -> Result<(Plan, Exit), Fatal> {
    // a broken playbook is reported before any host is touched
    let catalogue = Catalogue::load(&global.playbook).map_err(|e| Fatal::input(e.to_string()))?;
    let targets: Vec<ProbeTarget> = hosts.iter().map(ProbeTarget::of).collect();
    let probes: Vec<ProbeResult> = rt
        .block_on(until_interrupted(probe::probe_all(
            targets,
            global.forks.into(),
            ProbeOptions::default(),
        )))
        .map_err(interrupted)?;
    let results = gather_hosts(rt, global, hosts)?;
    warn_failures(&results);
    let mut plan = Plan::new(now_rfc3339());
    for ((r, p), h) in results.iter().zip(&probes).zip(hosts) {
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
    Ok((plan, gather_exit(&results)))
}

/// `sshfix plan`: findings, proposed changes and actions, what needs a human.
pub fn plan(global: &GlobalArgs, args: &PlanArgs) -> Result<Exit, Fatal> {
    let inventory = cli::load_inventory(global)?;
    let hosts = cli::selected_hosts(global, &inventory)?;
    let rt = cli::runtime()?;
    let (plan, exit) = make_plan(global, &rt, &hosts)?;
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
        Format::Human => report::plan::render_human(
            &plan,
            report::color_stdout(),
            report::width(),
            report::plan::REVIEW_FOOTER,
        ),
    };
    cli::print_stdout(&text)?;
    Ok(match exit {
        Exit::Success if args.detailed_exitcode && plan.has_changes() => Exit::HostFailed,
        // findings alone are not a failure of `plan`; an unreached host is
        Exit::HostFailed => Exit::Success,
        other => other,
    })
}

/// The exit status of `apply`/`rollback` from the hosts' outcomes.
fn outcome_exit(hosts: &[HostOutcome]) -> Exit {
    if hosts.iter().any(|o| o.result == HostStatus::Unreachable) {
        Exit::Unreachable
    } else if hosts.iter().any(|o| o.result.is_failure()) {
        Exit::HostFailed
    } else {
        Exit::Success
    }
}

fn journal_error(e: crate::apply::journal::JournalError) -> Fatal {
    Fatal::input(e.to_string())
}

/// How `apply` without `--plan` goes on once it has shown the fresh plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Go {
    /// `--yes`: apply without asking.
    Apply,
    /// Ask on the terminal first.
    Ask,
}

/// Decides, before the plan is shown, whether `apply` without `--plan` may
/// apply it (`--yes`), must ask (a terminal), or must refuse: JSON output
/// shows no plan to confirm, and without a terminal nobody can answer.
fn decide_go(yes: bool, format: Format, terminal: bool) -> Result<Go, Fatal> {
    if yes {
        Ok(Go::Apply)
    } else if format == Format::Json {
        Err(Fatal::input(
            "`sshfix apply --format json` does not show the plan, so it cannot ask to confirm it; nothing was changed",
        )
        .hint("pass `--yes`, or save and review the plan first (`sshfix plan --out plan.json`) and apply it with `--plan plan.json`"))
    } else if !terminal {
        Err(Fatal::input(
            "`sshfix apply` needs a confirmation, but stdin is not a terminal; nothing was changed",
        )
        .hint("run it from a terminal to answer the question, or pass `--yes`; or review the plan (`sshfix plan --out plan.json`) and apply the saved plan with `--plan plan.json`"))
    } else {
        Ok(Go::Ask)
    }
}

/// The end of the plan summary `apply` prints in place of
/// [`report::plan::REVIEW_FOOTER`]; `None` keeps that footer (the plan will
/// not be applied).
fn apply_footer(go: &Result<Go, Fatal>) -> Option<&'static str> {
    match go {
        Ok(Go::Apply) => Some("; applying it now"),
        Ok(Go::Ask) => Some("; nothing was changed yet: confirm below to apply it"),
        Err(_) => None,
    }
}

/// Asks on the terminal whether to go on; only `yes` is yes (as Terraform).
fn confirmed(question: &str) -> Result<bool, Fatal> {
    use std::io::{BufRead, Write};
    eprint!("{question} Only 'yes' will be accepted: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Fatal::input(format!("reading the answer: {e}")))?;
    Ok(line.trim() == "yes")
}

/// `sshfix apply`.
pub fn apply(global: &GlobalArgs, args: &ApplyArgs) -> Result<Exit, Fatal> {
    if !(5..=86_400).contains(&args.confirm_timeout) {
        return Err(Fatal::input(format!(
            "--confirm-timeout {} is out of range: give 5 to 86400 seconds",
            args.confirm_timeout
        )));
    }
    let inventory = cli::load_inventory(global)?;
    let hosts = cli::selected_hosts(global, &inventory)?;
    let rt = cli::runtime()?;
    // the work: a saved plan, or a fresh one shown and confirmed
    let mut go: Option<Result<Go, Fatal>> = None;
    let (plan_json, mut work, mut early): (
        serde_json::Value,
        Vec<(HostSettings, HostWork)>,
        Vec<HostOutcome>,
    ) = match &args.plan {
        Some(path) => {
            let saved = crate::plan::load::load(path).map_err(|e| Fatal::input(e.to_string()))?;
            let text = std::fs::read(path)
                .map_err(|e| Fatal::input(format!("reading `{}`: {e}", path.display())))?;
            let value: serde_json::Value = serde_json::from_slice(&text)
                .map_err(|e| Fatal::input(format!("`{}`: {e}", path.display())))?;
            let mut work = Vec::new();
            let mut early = Vec::new();
            for w in saved.hosts {
                // -l narrows the plan; a plan host outside the inventory is refused
                match hosts.iter().find(|h| h.name == w.host) {
                    Some(h) => work.push((h.clone(), w)),
                    None if global.limit.is_some() => {}
                    None => {
                        let mut o = HostOutcome::new(&w.host);
                        o.result = HostStatus::Refused;
                        o.reason = Some(format!(
                                "host `{}` is in the plan but not in the inventory; nothing was changed",
                                w.host
                            ));
                        early.push(o);
                    }
                }
            }
            (value, work, early)
        }
        None => {
            let (plan, _) = make_plan(global, &rt, &hosts)?;
            // decided before the plan is shown: its last line must not say
            // it is being applied when it will not be
            go = Some(decide_go(
                args.yes,
                global.format,
                std::io::IsTerminal::is_terminal(&std::io::stdin()),
            ));
            if global.format == Format::Human {
                let footer = go
                    .as_ref()
                    .and_then(apply_footer)
                    .unwrap_or(report::plan::REVIEW_FOOTER);
                let text = report::plan::render_human(
                    &plan,
                    report::color_stdout(),
                    report::width(),
                    footer,
                );
                cli::print_stdout(&text)?;
            }
            let saved = crate::plan::load::SavedPlan::from_plan(&plan);
            let work: Vec<(HostSettings, HostWork)> = saved
                .hosts
                .into_iter()
                .filter_map(|w| {
                    hosts
                        .iter()
                        .find(|h| h.name == w.host)
                        .map(|h| (h.clone(), w))
                })
                .collect();
            (plan.to_json(), work, Vec::new())
        }
    };
    let pending = work.iter().filter(|(_, w)| w.has_work()).count();
    if pending == 0 {
        // nothing to change, fresh or saved plan: no run is recorded, no
        // host is touched
        let mut outcomes: Vec<HostOutcome> = work
            .iter()
            .map(|(h, w)| {
                let mut o = HostOutcome::new(&h.name);
                o.reached_via = w.reached_via.clone();
                if let Some(e) = &w.error {
                    o.result = HostStatus::Unreachable;
                    o.reason = Some(match args.plan {
                        Some(_) => format!("no working path when the plan was made: {e}"),
                        None => e.clone(),
                    });
                }
                o
            })
            .collect();
        outcomes.append(&mut early);
        print_outcome(global, "apply", report::apply::NO_RUN, &outcomes)?;
        return Ok(outcome_exit(&outcomes));
    }
    match go {
        None | Some(Ok(Go::Apply)) => {}
        Some(Err(refused)) => return Err(refused),
        Some(Ok(Go::Ask)) => {
            let question = format!("Apply the changes above to {pending} host(s)?");
            if !confirmed(&question)? {
                eprintln!("apply cancelled; nothing was changed");
                return Ok(Exit::Input);
            }
        }
    }
    let state =
        crate::apply::journal::state_dir(global.state_dir.as_deref()).map_err(journal_error)?;
    let run_id = crate::apply::journal::new_run_id(time::OffsetDateTime::now_utc());
    let run = Run::create(&state, &run_id).map_err(journal_error)?;
    run.save_plan(&plan_json).map_err(journal_error)?;
    let journal = Journal {
        version: crate::apply::journal::VERSION,
        run_id: run_id.clone(),
        command: "apply".into(),
        created: now_rfc3339(),
        finished: None,
        confirm_timeout: Some(args.confirm_timeout),
        of_run: None,
        hosts: Vec::new(),
    };
    run.write_journal(&journal).map_err(journal_error)?;
    let reacher = Reacher::new(ssh_options(global))
        .map_err(|e| Fatal::input(format!("creating the ssh run directory: {e}")))?;
    let shared = Arc::new(Shared {
        reacher: Arc::new(reacher),
        run,
        journal: std::sync::Mutex::new(journal),
        options: Options {
            confirm_timeout: args.confirm_timeout,
            update_known_hosts: args.update_known_hosts,
            forks: global.forks.into(),
            lock_wait: 20,
            pause: Options::pause_from_env(),
        },
        progress: Progress::for_stderr(global.quiet > 0),
    });
    work.sort_by_key(|(h, _)| hosts.iter().position(|x| x.name == h.name));
    let result = rt.block_on(until_interrupted(crate::apply::apply_all(
        shared.clone(),
        work,
    )));
    let mut outcomes = match result {
        Ok(o) => o,
        Err(_) => {
            let mut f = Fatal::input(format!(
                "interrupted: hosts whose dead-man timer was armed put themselves back within {} s; hosts stopped before that were not changed but may keep their lock (/run/sshfix/lock) until its lease ends; the journal of run {run_id} says how far each got",
                args.confirm_timeout
            ));
            f.exit = Exit::Interrupted;
            return Err(f);
        }
    };
    outcomes.append(&mut early);
    finish_run(&rt, shared)?;
    print_outcome(global, "apply", &run_id, &outcomes)?;
    Ok(outcome_exit(&outcomes))
}

/// Marks the run's journal finished and closes its ssh masters.
fn finish_run(rt: &tokio::runtime::Runtime, shared: Arc<Shared>) -> Result<(), Fatal> {
    {
        let mut j = shared.journal.lock().unwrap_or_else(|p| p.into_inner());
        j.finished = Some(now_rfc3339());
        shared.run.write_journal(&j).map_err(journal_error)?;
    }
    if let Ok(s) = Arc::try_unwrap(shared) {
        if let Ok(r) = Arc::try_unwrap(s.reacher) {
            rt.block_on(r.close());
        }
    }
    Ok(())
}

/// The outcome of run `run_id` (`NO_RUN`: nothing was to do, no run was
/// recorded) as JSON or as the human table.
fn print_outcome(
    global: &GlobalArgs,
    command: &str,
    run_id: &str,
    outcomes: &[HostOutcome],
) -> Result<(), Fatal> {
    let text = match global.format {
        Format::Json => json_text(&report::apply::to_json(run_id, outcomes))?,
        Format::Human if run_id == report::apply::NO_RUN => {
            report::apply::render_nothing_to_do(outcomes, report::width())
        }
        Format::Human => report::apply::render_human(command, run_id, outcomes, report::width()),
    };
    cli::print_stdout(&text)
}

/// `sshfix rollback`.
pub fn rollback(global: &GlobalArgs, args: &RollbackArgs) -> Result<Exit, Fatal> {
    let inventory = cli::load_inventory(global)?;
    let state =
        crate::apply::journal::state_dir(global.state_dir.as_deref()).map_err(journal_error)?;
    let of =
        crate::apply::journal::latest_apply(&state, args.run.as_deref()).map_err(journal_error)?;
    let past = of.read_journal().map_err(journal_error)?;
    // -l narrows the run's hosts
    let selected: Option<Vec<String>> = match &global.limit {
        Some(_) => Some(
            cli::selected_hosts(global, &inventory)?
                .into_iter()
                .map(|h| h.name)
                .collect(),
        ),
        None => None,
    };
    let mut work = Vec::new();
    let mut early = Vec::new();
    for entry in &past.hosts {
        let name = &entry.outcome.host;
        if selected.as_ref().is_some_and(|s| !s.contains(name)) {
            continue;
        }
        let settings = inventory
            .select(Some(name.as_str()))
            .ok()
            .and_then(|v| v.into_iter().find(|h| &h.name == name))
            .map(|h| HostSettings::from_host(h, &inventory));
        match settings {
            Some(Ok(s)) => work.push((s, entry.clone())),
            Some(Err(e)) => return Err(Fatal::input(e.to_string())),
            None => {
                let mut o = HostOutcome::new(name);
                o.result = HostStatus::Refused;
                o.reason = Some(format!(
                    "host `{name}` is not in the inventory: sshfix cannot reach it to roll it back"
                ));
                early.push(o);
            }
        }
    }
    if work.is_empty() && early.is_empty() {
        return Err(Fatal::input(format!(
            "run {} has no host{} to roll back",
            past.run_id,
            if global.limit.is_some() {
                " matching --limit"
            } else {
                ""
            }
        )));
    }
    work.sort_by_key(|(h, _): &(HostSettings, _)| inventory_order(&inventory, &h.name));
    let rt = cli::runtime()?;
    let run_id = crate::apply::journal::new_run_id(time::OffsetDateTime::now_utc());
    let run = Run::create(&state, &run_id).map_err(journal_error)?;
    let journal = Journal {
        version: crate::apply::journal::VERSION,
        run_id: run_id.clone(),
        command: "rollback".into(),
        created: now_rfc3339(),
        finished: None,
        confirm_timeout: None,
        of_run: Some(past.run_id.clone()),
        hosts: Vec::new(),
    };
    run.write_journal(&journal).map_err(journal_error)?;
    let reacher = Reacher::new(ssh_options(global))
        .map_err(|e| Fatal::input(format!("creating the ssh run directory: {e}")))?;
    let shared = Arc::new(Shared {
        reacher: Arc::new(reacher),
        run,
        journal: std::sync::Mutex::new(journal),
        options: Options {
            confirm_timeout: 0,
            update_known_hosts: false,
            forks: global.forks.into(),
            lock_wait: 20,
            pause: None,
        },
        progress: Progress::for_stderr(global.quiet > 0),
    });
    let result = rt.block_on(until_interrupted(crate::apply::rollback::rollback_all(
        shared.clone(),
        of,
        work,
    )));
    let mut outcomes = result.map_err(interrupted)?;
    outcomes.append(&mut early);
    finish_run(&rt, shared)?;
    print_outcome(global, "rollback", &run_id, &outcomes)?;
    Ok(outcome_exit(&outcomes))
}

/// Where `name` stands in the inventory (outputs follow inventory order).
fn inventory_order(inventory: &crate::inventory::Inventory, name: &str) -> usize {
    inventory
        .select(None)
        .ok()
        .and_then(|all| all.iter().position(|h| h.name == name))
        .unwrap_or(usize::MAX)
}

/// `sshfix runs`.
pub fn runs(global: &GlobalArgs) -> Result<Exit, Fatal> {
    let state =
        crate::apply::journal::state_dir(global.state_dir.as_deref()).map_err(journal_error)?;
    let list = crate::apply::journal::list(&state).map_err(journal_error)?;
    let text = match global.format {
        Format::Json => json_text(&report::runs::to_json(&list))?,
        Format::Human => report::runs::render_human(&list),
    };
    cli::print_stdout(&text)?;
    Ok(Exit::Success)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The footer `apply` prints is decided with the refusal: only a run
    /// that will apply says so.
    #[test]
    fn apply_footer_follows_the_decision() {
        let go = decide_go(true, Format::Human, false);
        assert!(matches!(go, Ok(Go::Apply)));
        assert_eq!(apply_footer(&go), Some("; applying it now"));
        let go = decide_go(false, Format::Human, true);
        assert!(matches!(go, Ok(Go::Ask)));
        assert!(apply_footer(&go).unwrap().contains("confirm below"));
        let go = decide_go(false, Format::Human, false);
        assert_eq!(apply_footer(&go), None);
        let e = go.err().unwrap().to_string();
        assert!(e.contains("not a terminal") && e.contains("`--yes`"), "{e}");
        let e = decide_go(false, Format::Json, true)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--format json") && e.contains("`--yes`"), "{e}");
    }
}
