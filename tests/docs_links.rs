//! Keeps the documentation honest. In `README.md` and every `docs/**/*.md`:
//!
//! - every relative link (and image) points to a file or directory that
//!   exists, and a `#fragment` to a heading of the Markdown file it names
//!   (GitHub's anchors);
//! - every `sshfix …` command line in a code block (`$ sshfix …`,
//!   `sudo sshfix …`, `ip netns exec NS …/sshfix …`, `… | sshfix …`) and
//!   every inline code span that starts with `sshfix ` is accepted by the
//!   CLI parser (`sshfix::cli::Cli::try_parse_from`), so no doc names an
//!   option or subcommand that does not exist.
//!
//! `…` and `...` in a command are elision marks and dropped. Subcommands in
//! [`SKIP_SUBCOMMANDS`] are not parsed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// Subcommands documented but not parsed here, for a subcommand whose docs
/// arrive before its code. Empty: `explain`, skipped while it was built on
/// another branch, is now parsed like the others.
const SKIP_SUBCOMMANDS: &[&str] = &[];

/// Code blocks in these languages hold no shell commands.
const NOT_SHELL: &[&str] = &[
    "yaml", "yml", "json", "ini", "rust", "toml", "diff", "jinja", "python",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every Markdown file under docs/, sorted.
fn doc_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    let mut files = vec![root().join("README.md")];
    walk(&root().join("docs"), &mut files);
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES
}

/// 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// GitHub's anchor for a heading text: lowercase; letters, digits, `-` and
/// `_` kept; spaces become `-`; everything else dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Every anchor the headings of `md` define (duplicates get `-1`, `-2`, …).
fn anchors(md: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut current: Option<String> = None;
    for ev in Parser::new_ext(md, options()) {
        match ev {
            Event::Start(Tag::Heading { .. }) => current = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => {
                let base = slug(&current.take().unwrap_or_default());
                let mut s = base.clone();
                let mut n = 0;
                while out.contains(&s) {
                    n += 1;
                    s = format!("{base}-{n}");
                }
                out.insert(s);
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = current.as_mut() {
                    h.push_str(&t);
                }
            }
            _ => {}
        }
    }
    out
}

/// Link and image destinations of `md` with their lines.
fn links(md: &str) -> Vec<(String, usize)> {
    Parser::new_ext(md, options())
        .into_offset_iter()
        .filter_map(|(ev, range)| match ev {
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => {
                Some((dest_url.to_string(), line_of(md, range.start)))
            }
            _ => None,
        })
        .collect()
}

/// Why a relative link of `file` is broken, if it is.
fn check_link(file: &Path, dest: &str) -> Option<String> {
    if dest.contains("://") || dest.starts_with("mailto:") {
        return None;
    }
    let (path_part, fragment) = match dest.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (dest, None),
    };
    let target = if path_part.is_empty() {
        file.to_path_buf()
    } else {
        file.parent().unwrap().join(path_part)
    };
    if !target.exists() {
        return Some(format!("`{dest}`: {} does not exist", rel(&target)));
    }
    let fragment = fragment?;
    if target.extension().is_none_or(|x| x != "md") {
        return Some(format!(
            "`{dest}`: a fragment into {}, which is not Markdown",
            rel(&target)
        ));
    }
    if anchors(&read(&target)).contains(fragment) {
        None
    } else {
        Some(format!(
            "`{dest}`: {} has no heading with the anchor `#{fragment}`",
            rel(&target)
        ))
    }
}

#[test]
fn relative_links_resolve() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in doc_files() {
        let md = read(&file);
        for (dest, line) in links(&md) {
            checked += 1;
            if let Some(why) = check_link(&file, &dest) {
                broken.push(format!("{}:{line}: {why}", rel(&file)));
            }
        }
    }
    assert!(checked > 0, "no links found at all");
    assert!(
        broken.is_empty(),
        "broken links:\n  {}",
        broken.join("\n  ")
    );
}

/// Where an `sshfix` command was found.
#[derive(Debug, PartialEq, Eq)]
struct Mention {
    line: usize,
    /// `sshfix` and its arguments.
    argv: Vec<String>,
    /// An inline code span (may be a fragment such as `sshfix inventory`).
    inline: bool,
}

/// A command word is `sshfix` or a path ending in `/sshfix`.
fn is_sshfix(word: &str) -> bool {
    word == "sshfix" || word.ends_with("/sshfix")
}

/// Tokens that end one simple command.
fn is_separator(word: &str) -> bool {
    matches!(word, "|" | "||" | "&&" | ";" | "&" | "(" | ")")
}

/// Tokens that start a redirection: the command's arguments end there.
fn is_redirect(word: &str) -> bool {
    ["<", ">", "2>", "&>"].iter().any(|p| word.starts_with(p))
}

/// The sshfix command lines in one shell line of a code block (already
/// without a `$ ` prompt).
fn commands_in_shell_line(words: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut i = 0;
    let mut at_start = true;
    while i < words.len() {
        let w = words[i].as_str();
        if is_separator(w) {
            at_start = true;
            i += 1;
            continue;
        }
        if !at_start {
            i += 1;
            continue;
        }
        // words that run the next command: sudo, time, nice -n 19, env A=b,
        // ip netns exec NS
        match w {
            "sudo" | "time" | "exec" | "command" | "env" => {
                i += 1;
                continue;
            }
            "nice" => {
                i += 1;
                if words.get(i).is_some_and(|n| n == "-n") {
                    i += 2;
                }
                continue;
            }
            "ip" if words.get(i + 1).is_some_and(|x| x == "netns")
                && words.get(i + 2).is_some_and(|x| x == "exec") =>
            {
                i += 4;
                continue;
            }
            _ => {}
        }
        if w.contains('=') && !w.starts_with('-') {
            // VAR=value before the command
            i += 1;
            continue;
        }
        at_start = false;
        if !is_sshfix(w) {
            i += 1;
            continue;
        }
        let mut argv = vec!["sshfix".to_string()];
        i += 1;
        while i < words.len() {
            let a = words[i].as_str();
            if is_separator(a) || is_redirect(a) {
                break;
            }
            if let Some(last) = a.strip_suffix(';') {
                if !last.is_empty() {
                    argv.push(last.to_string());
                }
                i += 1;
                at_start = true;
                break;
            }
            if a != "…" && a != "..." {
                argv.push(a.to_string());
            }
            i += 1;
        }
        found.push(argv);
    }
    found
}

/// Every `sshfix` command in the code blocks and inline code spans of `md`.
fn mentions(md: &str) -> Vec<Mention> {
    let mut out = Vec::new();
    let mut block: Option<(String, usize)> = None;
    let mut shell = false;
    for (ev, range) in Parser::new_ext(md, options()).into_offset_iter() {
        match ev {
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().unwrap_or("").to_lowercase()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                shell = !NOT_SHELL.contains(&lang.as_str());
                block = Some((String::new(), line_of(md, range.start) + 1));
            }
            Event::Text(t) => {
                if let Some((text, _)) = block.as_mut() {
                    text.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                let (text, first) = block.take().unwrap();
                if shell {
                    out.extend(block_mentions(&text, first));
                }
            }
            Event::Code(code) => {
                if let Some(rest) = code.strip_prefix("sshfix ") {
                    if let Some(words) = shlex::split(rest) {
                        let mut argv = vec!["sshfix".to_string()];
                        argv.extend(
                            unbracket(words)
                                .into_iter()
                                .take_while(|w| !is_separator(w) && !is_redirect(w))
                                .filter(|w| w != "…" && w != "..."),
                        );
                        out.push(Mention {
                            line: line_of(md, range.start),
                            argv,
                            inline: true,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A usage synopsis's optional parts as plain words:
/// `[--run RUN] [-l PATTERN]` → `--run RUN -l PATTERN`.
fn unbracket(words: Vec<String>) -> Vec<String> {
    let mut open = false;
    words
        .into_iter()
        .map(|w| {
            let mut w = w.as_str();
            if w.starts_with("[-") {
                w = &w[1..];
                open = true;
            }
            if open {
                if let Some(inner) = w.strip_suffix(']') {
                    w = inner;
                    open = false;
                }
            }
            w.to_string()
        })
        .collect()
}

/// The `sshfix` commands of one shell code block whose first line is
/// `first`. Lines ending in `\` continue on the next one. A line that does
/// not split as shell words is output, not a command, unless it has a `$ `
/// prompt.
fn block_mentions(text: &str, first: usize) -> Vec<Mention> {
    let mut out = Vec::new();
    let mut pending = String::new();
    let mut start = first;
    for (n, raw) in text.lines().enumerate() {
        if pending.is_empty() {
            start = first + n;
        }
        if let Some(head) = raw.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(raw);
        let line = std::mem::take(&mut pending);
        let trimmed = line.trim_start();
        let (prompted, cmd) = match trimmed.strip_prefix("$ ") {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        if !cmd.contains("sshfix") {
            continue;
        }
        let Some(words) = shlex::split(cmd) else {
            assert!(
                !prompted,
                "line {start}: a `$ ` command line that does not split as shell words: {line}"
            );
            continue;
        };
        for argv in commands_in_shell_line(&words) {
            out.push(Mention {
                line: start,
                argv,
                inline: false,
            });
        }
    }
    out
}

/// Why the CLI refuses `m`, if it does.
fn check_mention(m: &Mention) -> Option<String> {
    check_mention_skipping(m, SKIP_SUBCOMMANDS)
}

/// [`check_mention`] with the subcommands `skip` left unparsed.
fn check_mention_skipping(m: &Mention, skip: &[&str]) -> Option<String> {
    if m.argv
        .get(1)
        .is_some_and(|sub| skip.contains(&sub.as_str()))
    {
        return None;
    }
    // the parser `main` uses: it also knows the hidden `sshfix generate`
    let err = sshfix::cli::parse(&m.argv).err()?;
    let fine = match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => true,
        // a mention in running text may leave out what the command needs
        // (`sshfix inventory` without `--list`)
        ErrorKind::MissingRequiredArgument
        | ErrorKind::MissingSubcommand
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => m.inline,
        _ => false,
    };
    if fine {
        return None;
    }
    let first = err.to_string();
    let first = first.lines().next().unwrap_or_default();
    Some(format!("`{}`: {first}", m.argv.join(" ")))
}

#[test]
fn documented_commands_parse() {
    let mut refused = Vec::new();
    let mut commands = 0;
    for file in doc_files() {
        for m in mentions(&read(&file)) {
            commands += 1;
            if let Some(why) = check_mention(&m) {
                refused.push(format!("{}:{}: {why}", rel(&file), m.line));
            }
        }
    }
    assert!(
        commands > 20,
        "only {commands} sshfix commands found in the docs"
    );
    assert!(
        refused.is_empty(),
        "commands in the docs that sshfix refuses:\n  {}",
        refused.join("\n  ")
    );
}

#[test]
fn every_doc_is_linked_from_the_readme() {
    let readme = root().join("README.md");
    let linked: BTreeSet<PathBuf> = links(&read(&readme))
        .into_iter()
        .filter(|(d, _)| !d.contains("://"))
        .map(|(d, _)| root().join(d.split('#').next().unwrap_or_default()))
        .collect();
    let missing: Vec<String> = doc_files()
        .into_iter()
        .filter(|f| *f != readme && !linked.contains(f))
        .map(|f| rel(&f))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md's Documentation list does not link: {}",
        missing.join(", ")
    );
}

// The checker's own rules.

#[test]
fn slugs_follow_github() {
    assert_eq!(
        slug("The protocol, step by step"),
        "the-protocol-step-by-step"
    );
    assert_eq!(
        slug("The test hook SSHFIX_TEST_PAUSE"),
        "the-test-hook-sshfix_test_pause"
    );
    assert_eq!(slug("sshfix runs"), "sshfix-runs");
    assert_eq!(
        slug("`port-wrong-service` — critical"),
        "port-wrong-service--critical"
    );
    let a = anchors("# Limits\n\n## Limits\n\n### `sshfix rollback`\n");
    assert_eq!(
        a,
        ["limits", "limits-1", "sshfix-rollback"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}

#[test]
fn commands_found_in_blocks_and_spans() {
    let md = "Run `sshfix plan --out FILE`, `sshfix plan --format json > p.json`.\n\n```\n$ sshfix probe -i inv.ini -l h2   # comment\nHOST  ADDRESS\nundo with: sshfix rollback --run X\n$ cd lab && ip netns exec lab-ctl target/debug/sshfix apply \\\n    --plan p.json --yes 2>&1 | tail -n 3\n$ time sshfix facts … -l h1\n```\n\n```yaml\ncmd: sshfix nonsense\n```\n";
    let found: Vec<(usize, String, bool)> = mentions(md)
        .into_iter()
        .map(|m| (m.line, m.argv.join(" "), m.inline))
        .collect();
    assert_eq!(
        found,
        vec![
            (1, "sshfix plan --out FILE".to_string(), true),
            (1, "sshfix plan --format json".to_string(), true),
            (4, "sshfix probe -i inv.ini -l h2".to_string(), false),
            (7, "sshfix apply --plan p.json --yes".to_string(), false),
            (9, "sshfix facts -l h1".to_string(), false),
        ]
    );
}

#[test]
fn unknown_options_and_subcommands_are_caught() {
    let m = |argv: &[&str], inline| Mention {
        line: 1,
        argv: argv.iter().map(|s| s.to_string()).collect(),
        inline,
    };
    assert!(check_mention(&m(&["sshfix", "plan", "--no-such-option"], false)).is_some());
    assert!(check_mention(&m(&["sshfix", "aply"], false)).is_some());
    assert!(check_mention(&m(&["sshfix", "inventory"], false)).is_some());
    assert!(check_mention(&m(&["sshfix", "inventory"], true)).is_none());
    assert!(check_mention(&m(&["sshfix", "explain", "--anything"], false)).is_some());
    assert!(check_mention_skipping(
        &m(&["sshfix", "explain", "--anything"], false),
        &["explain"]
    )
    .is_none());
    assert!(check_mention(&m(&["sshfix", "apply", "--plan", "p.json", "--yes"], false)).is_none());
    assert_eq!(
        unbracket(
            ["rollback", "[--run", "RUN]", "[-l", "PATTERN]", "-l", "[ab]*"]
                .map(String::from)
                .to_vec()
        ),
        ["rollback", "--run", "RUN", "-l", "PATTERN", "-l", "[ab]*"].map(String::from)
    );
}

#[test]
fn broken_links_are_caught() {
    let file = root().join("docs").join("safety.md");
    assert!(check_link(&file, "no-such-file.md").is_some());
    assert!(check_link(&file, "safety.md#no-such-heading").is_some());
    assert!(check_link(&file, "#the-dead-man-timer").is_none());
    assert!(check_link(&file, "../README.md").is_none());
    assert!(check_link(&file, "https://example.com/x.md").is_none());
}
