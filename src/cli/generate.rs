//! `sshfix generate man DIR` and `sshfix generate completions SHELL DIR`: the
//! man pages and shell completions, made from the clap definitions so they
//! never drift from `--help`. Packagers run it (`scripts/deb.sh`); the command
//! is hidden and is not part of [`super::Cli`], so neither the man pages nor
//! the completions mention it.
//!
//! `--help` texts end in blocks like `Examples:` followed by lines indented by
//! two spaces; [`after_help_sections`] turns each block into a man page section
//! (`EXAMPLES`) shown line for line.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgMatches, Command, CommandFactory};
use clap_complete::Shell;
use clap_mangen::roff::{roman, Roff};
use clap_mangen::Man;

use super::Cli;
use crate::error::{Exit, Fatal};

/// What `sshfix generate` was asked to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Man { dir: PathBuf },
    Completions { shell: Shell, dir: PathBuf },
}

/// The hidden `generate` subcommand, added to the parser next to [`Cli`]'s.
pub fn command() -> Command {
    let dir = || {
        Arg::new("dir")
            .value_name("DIR")
            .required(true)
            .value_parser(clap::value_parser!(PathBuf))
            .help("Directory to write into (created if missing)")
    };
    Command::new("generate")
        .hide(true)
        .about("Write the man pages or shell completions (for packaging)")
        .after_help(
            "\
Examples:
  sshfix generate man target/assets/man
  sshfix generate completions bash target/assets/completions
  sshfix generate completions zsh ~/.zfunc",
        )
        .subcommand_required(true)
        .subcommand(
            Command::new("man")
                .about("Write sshfix.1 and one sshfix-COMMAND.1 per command")
                .arg(dir()),
        )
        .subcommand(
            Command::new("completions")
                .about("Write the completion script for SHELL")
                .arg(
                    Arg::new("shell")
                        .value_name("SHELL")
                        .required(true)
                        .value_parser(clap::value_parser!(Shell)),
                )
                .arg(dir()),
        )
}

impl Request {
    /// The request in `generate`'s matches.
    pub fn from_matches(m: &ArgMatches) -> Request {
        let dir = |m: &ArgMatches| m.get_one::<PathBuf>("dir").cloned().unwrap_or_default();
        match m.subcommand() {
            Some(("completions", m)) => Request::Completions {
                shell: *m.get_one::<Shell>("shell").expect("required"),
                dir: dir(m),
            },
            Some((_, m)) => Request::Man { dir: dir(m) },
            None => unreachable!("subcommand_required"),
        }
    }
}

/// Writes what was asked and prints the paths written, one per line.
pub fn run(request: &Request) -> Result<Exit, Fatal> {
    let dir = match request {
        Request::Man { dir } | Request::Completions { dir, .. } => dir,
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| Fatal::input(format!("creating `{}`: {e}", dir.display())))?;
    let written = match request {
        Request::Man { dir } => man_pages(Cli::command())
            .into_iter()
            .map(|(name, page)| write(&dir.join(name), &page))
            .collect::<Result<Vec<_>, _>>()?,
        Request::Completions { shell, dir } => {
            let mut text = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "sshfix", &mut text);
            vec![write(&dir.join(completion_file(*shell)), &text)?]
        }
    };
    let list: String = written
        .iter()
        .map(|p| format!("{}\n", p.display()))
        .collect();
    super::print_stdout(&list)?;
    Ok(Exit::Success)
}

fn write(path: &Path, bytes: &[u8]) -> Result<PathBuf, Fatal> {
    std::fs::write(path, bytes)
        .map(|()| path.to_path_buf())
        .map_err(|e| Fatal::input(format!("writing `{}`: {e}", path.display())))
}

/// The file name each shell's completion loader looks for.
pub fn completion_file(shell: Shell) -> String {
    match shell {
        Shell::Bash => "sshfix".into(),
        Shell::Zsh => "_sshfix".into(),
        Shell::Fish => "sshfix.fish".into(),
        Shell::PowerShell => "_sshfix.ps1".into(),
        Shell::Elvish => "sshfix.elv".into(),
        _ => format!("sshfix.{shell}"),
    }
}

/// Every man page: `sshfix.1`, then `sshfix-COMMAND.1` for each visible command.
pub fn man_pages(cmd: Command) -> Vec<(String, Vec<u8>)> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut pages = vec![("sshfix.1".to_string(), man_page(&cmd, None))];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("sshfix-{}", sub.get_name());
        // `build` propagated the version to the subcommands
        let page_cmd = sub
            .clone()
            .name(name.clone())
            .bin_name(format!("sshfix {}", sub.get_name()));
        pages.push((format!("{name}.1"), man_page(&page_cmd, Some(&cmd))));
    }
    pages
}

/// One page: clap_mangen's title, name, synopsis, description, options and
/// commands, then the `--help` epilogue as sections, then SEE ALSO.
fn man_page(cmd: &Command, parent: Option<&Command>) -> Vec<u8> {
    let man = Man::new(cmd.clone())
        .manual("sshfix manual")
        .source(format!("sshfix {}", cmd.get_version().unwrap_or_default()));
    let mut out = Vec::new();
    // writing to a Vec cannot fail
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        let _ = man.render_options_section(&mut out);
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        let _ = man.render_subcommands_section(&mut out);
    }
    let mut roff = Roff::new();
    let epilogue = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(|t| t.to_string())
        .unwrap_or_default();
    for (heading, lines) in after_help_sections(&epilogue) {
        roff.control("SH", [heading.to_uppercase().as_str()]);
        roff.control("nf", []);
        for line in lines {
            roff.text([roman(line)]);
        }
        roff.control("fi", []);
    }
    roff.control("SH", ["SEE ALSO"]);
    let others: Vec<String> = match parent {
        Some(p) => std::iter::once("sshfix(1)".to_string())
            .chain(
                p.get_subcommands()
                    .filter(|s| {
                        !s.is_hide_set() && format!("sshfix-{}", s.get_name()) != cmd.get_name()
                    })
                    .map(|s| format!("sshfix-{}(1)", s.get_name())),
            )
            .collect(),
        None => cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| format!("sshfix-{}(1)", s.get_name()))
            .collect(),
    };
    roff.text([roman(format!(
        "{}, ssh(1), sshd(8), hosts_access(5)",
        others.join(", ")
    ))]);
    let _ = out.write_all(roff.render().as_bytes());
    out
}

/// Splits a `--help` epilogue into `(heading, lines)`: a block starts with a
/// line `Heading:` (or `Heading: text`, whose text becomes the first line) at
/// the left margin; its other lines are kept as they are, less two spaces.
pub fn after_help_sections(text: &str) -> Vec<(String, Vec<String>)> {
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        let starts_block = !line.starts_with(' ') && !line.trim().is_empty();
        match (starts_block, line.split_once(':'), sections.last_mut()) {
            (true, Some((heading, rest)), _) => {
                let mut lines = Vec::new();
                if !rest.trim().is_empty() {
                    lines.push(rest.trim().to_string());
                }
                sections.push((heading.trim().to_string(), lines));
            }
            (_, _, Some((_, lines))) => {
                lines.push(line.strip_prefix("  ").unwrap_or(line).to_string());
            }
            (_, _, None) => {}
        }
    }
    for (_, lines) in &mut sections {
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epilogue_blocks_become_sections() {
        let text = "Examples:\n  sshfix probe -i inv\n    (indented more)\n\nExit status: 0 when fine\n  2 otherwise\n";
        assert_eq!(
            after_help_sections(text),
            vec![
                (
                    "Examples".to_string(),
                    vec![
                        "sshfix probe -i inv".to_string(),
                        "  (indented more)".to_string()
                    ]
                ),
                (
                    "Exit status".to_string(),
                    vec!["0 when fine".to_string(), "2 otherwise".to_string()]
                ),
            ]
        );
        assert!(after_help_sections("").is_empty());
    }

    #[test]
    fn every_visible_command_has_a_page_with_examples() {
        let pages = man_pages(Cli::command());
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        let mut want = vec!["sshfix.1".to_string()];
        want.extend(
            Cli::command()
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| format!("sshfix-{}.1", s.get_name())),
        );
        assert_eq!(names, want);
        for (name, page) in &pages {
            let text = String::from_utf8_lossy(page);
            assert!(
                text.contains(".SH EXAMPLES"),
                "{name} has no EXAMPLES section"
            );
            assert!(
                text.contains(".SH \"SEE ALSO\""),
                "{name} has no SEE ALSO section"
            );
            for hidden in ["sshfix generate", "sshfix-generate", "\ngenerate"] {
                assert!(
                    !text.contains(hidden),
                    "{name} mentions the hidden `generate`"
                );
            }
        }
    }

    #[test]
    fn completion_files_are_where_shells_look() {
        assert_eq!(completion_file(Shell::Bash), "sshfix");
        assert_eq!(completion_file(Shell::Zsh), "_sshfix");
        assert_eq!(completion_file(Shell::Fish), "sshfix.fish");
    }
}
