//! Edits of sshd_config that take effect: set or comment out keywords where sshd reads them (first/last-value rules, Include order, Match blocks), keeping the file's style.
//!
//! Pure: the configuration tree comes in as a map of absolute path → bytes (as the
//! facts script reads it), [`Edit`]s come out; nothing is executed. Every edit is
//! checked against [`crate::facts::sshd_config::parse_tree`] before it is returned:
//! the candidate tree must make the intended line the one sshd uses.
//!
//! # `set`: where the value goes
//!
//! * Some global line already decides the value (the *winner*: the first line for
//!   first-wins keywords, the last one for last-wins keywords such as `MaxStartups`
//!   in 9.2, a `Match all` line for keywords it overrides): that line's value is
//!   replaced in place, in whatever file it is (often a drop-in under
//!   `sshd_config.d`). The keyword's spelling and case, `Key=value` / `Key = value` /
//!   `Key value`, indentation, a trailing `# comment`, trailing blanks and the line
//!   ending stay as they were; a value that was wholly quoted (`"…"` or `'…'`) stays
//!   quoted when the new value is one word without quotes or backslashes. Because
//!   the winner keeps its place, no other line can override it (lines that lose
//!   stay as they are).
//! * No global line sets it: one line `Keyword value` is inserted into the main file,
//!   with the file's line ending. First-wins keywords go directly before the main
//!   file's first global `Include` (so a drop-in added later cannot silently undo
//!   the fix); last-wins keywords (and first-wins ones when there is no Include) go
//!   before the first `Match` line — above the comment lines attached to it — or,
//!   without one, above a trailing commented-out `#Match` example (Debian's and
//!   RHEL's `#Match User anoncvs`, which an admin may uncomment) or at the end of
//!   the file; never into a trailing Match block. A last line without a
//!   newline gets one first. The keyword is spelled as a commented-out default in
//!   the main file spells it (`#MaxStartups 10:30:100` → `MaxStartups`), else as any
//!   other line of the tree spells it, else as the caller wrote it.
//! * The value is already in effect (compared in the form `sshd -T` prints, so
//!   `UseDNS No` = `no`, `LoginGraceTime 2m` = `120`): no edit (`Ok(vec![])`).
//!
//! `value` is written verbatim as the line's arguments (sshd config syntax: quote a
//! value containing blanks yourself). Accumulating keywords (`Port`, `ListenAddress`,
//! `HostKey`, `AcceptEnv`, `AllowUsers`, `Subsystem`, …), `Include`, `Match`,
//! deprecated and unknown keywords are refused; so are a value ending in a
//! lone `\` (it would escape the blank before a kept `# comment`) and a new
//! line that would follow a line with a NUL byte (sshd joins it onto that line).
//!
//! # `comment_out`: the format
//!
//! The line `<indent><text><eol>` becomes
//! `<indent># sshfix: disabled (<marker>): <text><eol>`, e.g.
//! `# sshfix: disabled (sshd -t: Bad configuration option: FooBar): FooBar yes`.
//! `<text>` is the original line byte for byte after its indentation (trailing blanks
//! and comments included), so [`parse_disabled`] gives it back exactly. The marker
//! may not contain `)`, a line break or NUL. `Match` lines are refused (commenting one
//! out would move its whole block into the previous context), and so are
//! access and security policy keywords ([`POLICY_KEYWORDS`]: without the line
//! sshd falls back to a default that may allow more).
//!
//! # Validators
//!
//! Every edit carries [`Validator::SshdConfig`] with `(keyword, value)` pairs in the
//! form `sshd -T` prints (lowercase canonical keyword; `yes`/`no` and multistate
//! values lowercased, `LogLevel`/`SyslogFacility` uppercased, `prohibit-password` as
//! `without-password`, `Compression delayed` as `yes`, times of `LoginGraceTime`,
//! `ClientAliveInterval`, `UnusedConnectionTimeout` in seconds, integers in decimal,
//! `MaxStartups N` as `N:rate:N` with the rate sshd carries over, a one-value `IPQoS`
//! twice; anything else as written, so an unmodelled form makes the validator fail
//! safe). A `comment_out` edit expects nothing beyond `sshd -t` passing (the keyword
//! usually is the broken one and its default is not modelled here).
//!
//! Proof against the real sshd: `tests/modules_sshd_config.rs` runs `sshd -t` and
//! `sshd -T` on every candidate (fixtures in `tests/fixtures/modules/sshd_config/`).

use std::collections::BTreeMap;

use thiserror::Error;

use crate::change::{Edit, Validator};
use crate::facts::sshd_config::{
    canonical_key, is_known_keyword, parse_tree, precedence_in, ConfigTree, Directive, Precedence,
};

/// Keywords [`comment_out`] refuses (lowercase): who may log in and how,
/// what a session may do, which algorithms are allowed, where sshd listens,
/// and `Include` (its files may hold any of these). Without the line sshd
/// uses its default, which can be more permissive than what the line meant
/// (a typo in `AuthenticationMethods` would silently drop a second factor).
pub const POLICY_KEYWORDS: &[&str] = &[
    "allowusers",
    "denyusers",
    "allowgroups",
    "denygroups",
    "authenticationmethods",
    "permitrootlogin",
    "passwordauthentication",
    "kbdinteractiveauthentication",
    "challengeresponseauthentication",
    "permitemptypasswords",
    "pubkeyauthentication",
    "hostbasedauthentication",
    "kerberosauthentication",
    "gssapiauthentication",
    "usepam",
    "strictmodes",
    "maxauthtries",
    "authorizedkeysfile",
    "authorizedkeyscommand",
    "authorizedkeyscommanduser",
    "authorizedprincipalsfile",
    "authorizedprincipalscommand",
    "authorizedprincipalscommanduser",
    "trustedusercakeys",
    "revokedkeys",
    "forcecommand",
    "chrootdirectory",
    "allowtcpforwarding",
    "allowstreamlocalforwarding",
    "allowagentforwarding",
    "disableforwarding",
    "x11forwarding",
    "permittunnel",
    "permitopen",
    "permitlisten",
    "gatewayports",
    "permituserenvironment",
    "permituserrc",
    "permittty",
    "listenaddress",
    "port",
    "ciphers",
    "macs",
    "kexalgorithms",
    "hostkeyalgorithms",
    "pubkeyacceptedalgorithms",
    "pubkeyacceptedkeytypes",
    "hostbasedacceptedalgorithms",
    "hostbasedacceptedkeytypes",
    "casignaturealgorithms",
    "requiredrsasize",
    "include",
];

/// The text that starts a line disabled by [`comment_out`] (after the indentation).
pub const DISABLED_PREFIX: &str = "# sshfix: disabled (";

/// Why a module refuses to produce an edit. Each message names the file/line or
/// keyword and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ModuleError {
    /// The main configuration file is not in the map.
    #[error("{path} is not among the files read from the host; gather it first (sshd cannot start without it)")]
    MainFileMissing { path: String },
    /// A file named by the caller is not in the map.
    #[error("{path} is not among the files read from the host")]
    FileMissing { path: String },
    /// The tree has an Include loop; sshd itself stops reading it.
    #[error("the configuration under {main} nests Includes more than 16 deep (a loop?); sshd refuses it, fix the Include lines by hand")]
    IncludeLoop { main: String },
    /// Not a keyword of sshd 9.2.
    #[error(
        "`{key}` is not a keyword of OpenSSH 9.2; refusing to write it (sshd -t would reject it)"
    )]
    UnknownKeyword { key: String },
    /// Keywords whose lines add up (or that have no value of their own).
    #[error("`{key}` {why}; sshfix does not edit it automatically, change the lines by hand")]
    UnsupportedKeyword { key: String, why: String },
    /// The value cannot be written as the arguments of one line.
    #[error("value `{value}` for `{key}` is not usable: {why}")]
    BadValue {
        key: String,
        value: String,
        why: String,
    },
    /// The marker of a disabled line is not usable.
    #[error("marker `{marker}` is not usable: {why}")]
    BadMarker { marker: String, why: String },
    /// The line to edit does not exist.
    #[error("{file}:{line} does not exist (the file has {lines} lines)")]
    NoSuchLine {
        file: String,
        line: usize,
        lines: usize,
    },
    /// The line cannot be edited as asked.
    #[error("{file}:{line}: {why}")]
    Line {
        file: String,
        line: usize,
        why: String,
    },
    /// Self-check failed: the candidate would not make the value effective.
    #[error("internal check failed: after editing {file}:{line}, {why}; not proposing the edit")]
    NotEffective {
        file: String,
        line: usize,
        why: String,
    },
}

/// The arguments of an `sshd_config` fix task: `set` keywords (in order),
/// and/or `comment_out` lines.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskArgs {
    /// Keyword → value, e.g. `{MaxStartups: "100:30:200"}`.
    #[serde(default)]
    set: indexmap::IndexMap<String, serde_json::Value>,
    /// Lines to disable, e.g. `sshd.test.config_errors` entries.
    #[serde(default)]
    comment_out: Vec<CommentOutArg>,
}

/// One line to comment out. Other keys are ignored, so entries of facts
/// lists such as `sshd.test.config_errors` (`file`, `line`, `message`) can be
/// passed as they are.
#[derive(Debug, serde::Deserialize)]
struct CommentOutArg {
    file: String,
    line: usize,
    /// Why (goes into the marker); `message` is accepted for it too.
    #[serde(alias = "message")]
    why: String,
}

/// The `sshd_config` fix task: see [`TaskArgs`]. Each `set` is [`set`] on
/// the files as the previous one left them; each `comment_out` is
/// [`comment_out`] with the marker `sshd -t: <why>` style text.
pub fn task(
    host: &super::Host,
    args: &serde_json::Value,
    finding: &str,
) -> Result<super::Proposal, super::FixError> {
    let a: TaskArgs = super::args("sshd_config", args)?;
    if a.set.is_empty() && a.comment_out.is_empty() {
        return Err(super::FixError::new(
            "`sshd_config`: give `set` (keyword: value) or `comment_out` (file, line, why)",
        ));
    }
    let main = host
        .facts
        .sshd
        .config_files
        .first()
        .map(String::as_str)
        .unwrap_or("/etc/ssh/sshd_config");
    let version = host
        .facts
        .sshd
        .version
        .as_deref()
        .and_then(crate::facts::sshd::version)
        .map(|v| v.pair())
        .ok_or_else(|| {
            super::FixError::new(
                "`sshd_config`: the OpenSSH release of the host is unknown (`sshd -V` gave nothing), so which line wins cannot be decided; edit by hand",
            )
        })?;
    let mut ws = super::Workspace::new(host.files.clone());
    // line numbers refer to the files as gathered; earlier fix tasks may
    // have inserted lines above, so each is mapped to where it is now
    let mut seen = std::collections::BTreeSet::new();
    for c in &a.comment_out {
        if !seen.insert((c.file.clone(), c.line)) {
            continue;
        }
        let now = super::Host {
            files: ws.files(),
            ..*host
        };
        let Some(line) = super::map_line(&now, &c.file, c.line)? else {
            return Err(super::FixError::new(format!(
                "{}:{} was changed by another fix in this plan; comment it out by hand if it is still needed",
                c.file, c.line
            )));
        };
        let marker: String = c
            .why
            .chars()
            .map(|ch| match ch {
                ')' => ']',
                '(' => '[',
                '\n' | '\r' | '\0' => ' ',
                ch => ch,
            })
            .take(120)
            .collect();
        let marker = if marker.trim().is_empty() {
            finding.to_string()
        } else {
            marker.trim().to_string()
        };
        let mut edit = comment_out(ws.files(), &c.file, line, &marker, finding)?;
        if let Validator::SshdConfig { config, .. } = &mut edit.validator {
            *config = main.to_string();
        }
        ws.add(super::Proposal {
            edits: vec![edit],
            actions: Vec::new(),
        });
    }
    for (key, value) in &a.set {
        let value = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
            other => {
                return Err(super::FixError::new(format!(
                    "`sshd_config`: the value of `{key}` must be a string or number, not {other}"
                )))
            }
        };
        let edits = set(ws.files(), main, version, key, &value, finding)?;
        ws.add(super::Proposal {
            edits,
            actions: Vec::new(),
        });
    }
    Ok(ws.finish())
}

/// One line disabled by [`comment_out`], as [`parse_disabled`] reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disabled {
    /// Leading spaces and tabs of the line.
    pub indent: String,
    /// The marker given to [`comment_out`].
    pub marker: String,
    /// The original line after its indentation.
    pub original: String,
}

/// Make `key` effectively `value` in the global context of the configuration rooted at
/// `main` (see the module docs for where the value goes). `version` is the OpenSSH
/// release (`(9, 2)` on Debian 12), which decides first- or last-wins. Returns no edit
/// when the value is already in effect, otherwise one edit of the file that decides.
pub fn set(
    files: &BTreeMap<String, Vec<u8>>,
    main: &str,
    version: (u32, u32),
    key: &str,
    value: &str,
    finding: &str,
) -> Result<Vec<Edit>, ModuleError> {
    let canon = check_key(key, version)?;
    let tree = load(files, main)?;
    let new_args = parse_value(key, value)?;
    let prec = precedence_in(key, version);

    if let Some(winner) = tree.effective_in(key, version) {
        let rate = carried_rate(&tree, &canon, winner);
        let expect = printed(&canon, &new_args, rate);
        if printed(&canon, &winner.args, rate) == expect {
            return Ok(Vec::new());
        }
        let before = files
            .get(&winner.file)
            .ok_or_else(|| ModuleError::FileMissing {
                path: winner.file.clone(),
            })?;
        let after = replace_value(before, winner, value)?;
        let mut candidate = files.clone();
        candidate.insert(winner.file.clone(), after.clone());
        verify(
            &candidate,
            main,
            version,
            key,
            &winner.file,
            winner.line,
            &new_args,
        )?;
        let rule = match prec {
            Precedence::Last => "the last line wins in this release",
            _ if winner.match_block.is_some() => "a `Match all` line overrides global ones",
            _ => "the first line wins",
        };
        let reason = format!(
            "{}:{} is the `{}` line sshd uses ({rule}); change its value from `{}` to `{}`.",
            winner.file,
            winner.line,
            winner.keyword,
            winner.value(),
            new_args.join(" ")
        );
        return Ok(vec![Edit::new(
            winner.file.clone(),
            Some(before),
            after,
            Validator::SshdConfig {
                config: main.to_string(),
                expect: vec![(canon, expect)],
            },
            finding,
            reason,
        )]);
    }

    // No global line sets the keyword: insert one into the main file.
    let before = files
        .get(main)
        .ok_or_else(|| ModuleError::MainFileMissing {
            path: main.to_string(),
        })?;
    let spelling = spelling(&tree, before, key);
    let (index, place) = insertion_point(&tree, before, prec);
    // sshd glues the line after a NUL byte onto the line with it: a new
    // line there would not be read on its own
    if let Some(i) = index.checked_sub(1) {
        if physical_lines(before)
            .get(i)
            .is_some_and(|(c, _)| c.contains(&0))
        {
            return Err(ModuleError::Line {
                file: main.to_string(),
                line: index,
                why: format!(
                    "the line contains a NUL byte, so sshd would join the new `{spelling}` line after it onto it; remove the NUL byte by hand"
                ),
            });
        }
    }
    let after = insert_line(before, index, &format!("{spelling} {value}"));
    let line = index + 1;
    let mut candidate = files.clone();
    candidate.insert(main.to_string(), after.clone());
    verify(&candidate, main, version, key, main, line, &new_args)?;
    let cand_tree = parse_tree(main, &candidate);
    let rate = cand_tree
        .effective_in(key, version)
        .map(|d| carried_rate(&cand_tree, &canon, d))
        .unwrap_or(30);
    let reason = format!(
        "No global line sets `{spelling}`; add `{spelling} {value}` as {main}:{line}, {place}."
    );
    Ok(vec![Edit::new(
        main,
        Some(before),
        after,
        Validator::SshdConfig {
            config: main.to_string(),
            expect: vec![(canon.clone(), printed(&canon, &new_args, rate))],
        },
        finding,
        reason,
    )])
}

/// Comment out line `line` (1-based) of `file` in the format of the module docs,
/// with `marker` saying why. Refuses blank and comment lines, `Match` lines, lines
/// with a NUL byte and lines that continue a previous one.
pub fn comment_out(
    files: &BTreeMap<String, Vec<u8>>,
    file: &str,
    line: usize,
    marker: &str,
    finding: &str,
) -> Result<Edit, ModuleError> {
    if marker.is_empty() || marker.contains([')', '\n', '\r', '\0']) {
        return Err(ModuleError::BadMarker {
            marker: marker.to_string(),
            why: "it must be non-empty and contain no `)`, line break or NUL".into(),
        });
    }
    let bytes = files.get(file).ok_or_else(|| ModuleError::FileMissing {
        path: file.to_string(),
    })?;
    let lines = physical_lines(bytes);
    let Some(&(content, eol)) = line.checked_sub(1).and_then(|i| lines.get(i)) else {
        return Err(ModuleError::NoSuchLine {
            file: file.to_string(),
            line,
            lines: lines.len(),
        });
    };
    let refuse = |why: &str| ModuleError::Line {
        file: file.to_string(),
        line,
        why: why.to_string(),
    };
    if content.contains(&0) {
        return Err(refuse(
            "the line contains a NUL byte (sshd joins it with the next one); edit it by hand",
        ));
    }
    // The file on its own is enough to know which lines are directives.
    let alone: BTreeMap<String, Vec<u8>> = [(file.to_string(), bytes.clone())].into();
    let tree = parse_tree(file, &alone);
    let Some(d) = tree
        .directives
        .iter()
        .find(|d| d.file == file && d.line == line)
    else {
        return Err(refuse(
            "not a directive (blank, a comment, or the continuation of a line with a NUL byte); nothing to comment out",
        ));
    };
    if d.key == "match" {
        return Err(refuse(
            "a `Match` line: commenting it out would move its whole block into the previous context; edit the block by hand",
        ));
    }
    if POLICY_KEYWORDS.contains(&d.key.as_str()) {
        return Err(refuse(&format!(
            "`{}` is access or security policy: commenting it out falls back to sshd's default, which may allow more than the line meant to; correct the line by hand",
            d.keyword
        )));
    }
    let indent_len = content
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .count();
    let (indent, text) = content.split_at(indent_len);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    let cr: &[u8] = if content.ends_with(b"\r") { b"\r" } else { b"" };
    let mut new_line = indent.to_vec();
    new_line.extend_from_slice(DISABLED_PREFIX.as_bytes());
    new_line.extend_from_slice(marker.as_bytes());
    new_line.extend_from_slice(b"): ");
    new_line.extend_from_slice(text);
    new_line.extend_from_slice(cr);
    let after = replace_line(bytes, line - 1, &new_line, eol);

    let mut check: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    check.insert(file.to_string(), after.clone());
    let t2 = parse_tree(file, &check);
    if t2.directives.iter().any(|x| x.line == line)
        || t2.directives.len() + 1 != tree.directives.len()
    {
        return Err(ModuleError::NotEffective {
            file: file.to_string(),
            line,
            why: "the commented-out line still reads as a directive".into(),
        });
    }
    let reason = format!(
        "Comment out {file}:{line} (`{}`): {marker}.",
        d.raw.trim_start_matches([' ', '\t'])
    );
    Ok(Edit::new(
        file,
        Some(bytes),
        after,
        // the file itself as the root; the `sshd_config` task (which knows
        // the main file) sets the real root for a drop-in
        Validator::SshdConfig {
            config: file.to_string(),
            expect: Vec::new(),
        },
        finding,
        reason,
    ))
}

/// Read back a line written by [`comment_out`] (without its line ending);
/// `None` for any other line.
pub fn parse_disabled(line: &str) -> Option<Disabled> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let indent: String = line
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    let body = line.get(indent.len()..)?.strip_prefix(DISABLED_PREFIX)?;
    let close = body.find("): ")?;
    Some(Disabled {
        indent,
        marker: body.get(..close)?.to_string(),
        original: body.get(close + 3..)?.to_string(),
    })
}

/// The canonical key, or why `key` cannot be set.
fn check_key(key: &str, version: (u32, u32)) -> Result<String, ModuleError> {
    if !is_known_keyword(key) {
        return Err(ModuleError::UnknownKeyword {
            key: key.to_string(),
        });
    }
    let why = match precedence_in(key, version) {
        Precedence::Accumulate => Some(
            "accumulates: every line adds values (replacing one line does not remove the others)",
        ),
        Precedence::Ignored => {
            Some("has no value of its own (`Include`, `Match`) or is ignored by this sshd")
        }
        Precedence::First | Precedence::FirstLine | Precedence::Last => None,
    };
    match why {
        Some(why) => Err(ModuleError::UnsupportedKeyword {
            key: key.to_string(),
            why: why.to_string(),
        }),
        None => Ok(canonical_key(key)),
    }
}

fn load(files: &BTreeMap<String, Vec<u8>>, main: &str) -> Result<ConfigTree, ModuleError> {
    if !files.contains_key(main) {
        return Err(ModuleError::MainFileMissing {
            path: main.to_string(),
        });
    }
    let tree = parse_tree(main, files);
    if tree.stopped_early {
        return Err(ModuleError::IncludeLoop {
            main: main.to_string(),
        });
    }
    Ok(tree)
}

/// The arguments sshd makes of `value` on a `key` line (checked with the real parser).
fn parse_value(key: &str, value: &str) -> Result<Vec<String>, ModuleError> {
    let bad = |why: &str| ModuleError::BadValue {
        key: key.to_string(),
        value: value.to_string(),
        why: why.to_string(),
    };
    if value.contains(['\n', '\r', '\0', '\x0c']) {
        return Err(bad("it contains a line break, form feed or NUL"));
    }
    let trimmed = value.trim_matches([' ', '\t']);
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Err(bad("it is empty (or starts with `#`, a comment)"));
    }
    if trimmed.starts_with('=') {
        return Err(bad(
            "it starts with `=`, which sshd may read as the keyword separator",
        ));
    }
    if trimmed.len() != value.len() {
        return Err(bad("it has leading or trailing blanks"));
    }
    // `\ ` escapes the blank: a kept ` # comment` after the value would
    // become part of it
    if value.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1 {
        return Err(bad(
            "it ends with a lone backslash, which escapes the blank after it on the line",
        ));
    }
    let probe: BTreeMap<String, Vec<u8>> =
        [("/v".to_string(), format!("{key} {value}\n").into_bytes())].into();
    let t = parse_tree("/v", &probe);
    if let Some(p) = t.problems.first() {
        return Err(bad(&p.message));
    }
    match t.directives.as_slice() {
        [d] if !d.args.is_empty() && d.args.iter().all(|a| !a.is_empty()) => Ok(d.args.clone()),
        _ => Err(bad("sshd would not read it as the arguments of one line")),
    }
}

/// The MaxStartups rate sshd 9.2 carries into a one-number `MaxStartups N` at `d`:
/// the rate of the last earlier `a:b:c` line it processed, else the default 30.
fn carried_rate(tree: &ConfigTree, canon: &str, d: &Directive) -> u32 {
    if canon != "maxstartups" {
        return 30;
    }
    let mut rate = 30;
    for x in &tree.directives {
        if x.file == d.file && x.line == d.line {
            break;
        }
        if x.key == "maxstartups" && always(tree, x.match_block) {
            let v = x.value();
            let parts: Vec<&str> = v.split(':').collect();
            if let [_, r, _] = parts.as_slice() {
                if let Ok(r) = r.parse() {
                    rate = r;
                }
            }
        }
    }
    rate
}

/// Whether a block (and its parents) always applies (global or `Match all`).
fn always(tree: &ConfigTree, mut idx: Option<usize>) -> bool {
    let mut guard = 0;
    while let Some(i) = idx {
        match tree.matches.get(i) {
            Some(b) if b.all && guard <= tree.matches.len() => idx = b.parent,
            _ => return false,
        }
        guard += 1;
    }
    true
}

/// Keywords whose one value `sshd -T` prints in lowercase (multistate options;
/// verified with sshd 9.2: `AddressFamily INET` → `inet`).
const LOWERCASED: &[&str] = &[
    "addressfamily",
    "permitrootlogin",
    "gatewayports",
    "compression",
    "allowtcpforwarding",
    "allowstreamlocalforwarding",
    "permittunnel",
    "ignorerhosts",
];

/// Integer keywords `sshd -T` prints in decimal (`MaxAuthTries 010` → `10`).
const INTEGERS: &[&str] = &[
    "maxauthtries",
    "maxsessions",
    "x11displayoffset",
    "clientalivecountmax",
    "persourcemaxstartups",
    "requiredrsasize",
];

/// The value as `sshd -T` (9.2) prints it for the canonical keyword `canon`; `rate` is
/// the MaxStartups rate carried over from earlier lines. Forms not modelled here are
/// returned as written (the validator then fails safe if sshd prints them otherwise).
fn printed(canon: &str, args: &[String], rate: u32) -> String {
    let [one] = args else {
        return args.join(" ");
    };
    let lower = one.to_ascii_lowercase();
    match canon {
        "logingracetime" | "clientaliveinterval" => convtime(one).map_or(lower, |s| s.to_string()),
        "unusedconnectiontimeout" if lower != "none" => {
            convtime(one).map_or(lower, |s| s.to_string())
        }
        "maxstartups" if !one.contains(':') => format!("{one}:{rate}:{one}"),
        "ipqos" => format!("{one} {one}"),
        "loglevel" | "syslogfacility" => one.to_ascii_uppercase(),
        // 9.2 prints the old name of prohibit-password.
        "permitrootlogin" if lower == "prohibit-password" => "without-password".into(),
        "compression" if lower == "delayed" => "yes".into(),
        // Kept as written (a string or an octal mask).
        "permituserenvironment" | "streamlocalbindmask" => one.clone(),
        _ if LOWERCASED.contains(&canon) || lower == "yes" || lower == "no" => lower,
        _ if INTEGERS.contains(&canon)
            && !one.is_empty()
            && one.bytes().all(|b| b.is_ascii_digit()) =>
        {
            one.trim_start_matches('0')
                .parse::<u64>()
                .map_or_else(|_| "0".to_string(), |n| n.to_string())
        }
        _ => one.clone(),
    }
}

/// sshd's `convtime()`: `90`, `1m30s`, `2h`, … in seconds.
fn convtime(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let mult = match c {
            's' | 'S' => 1,
            'm' | 'M' => 60,
            'h' | 'H' => 3600,
            'd' | 'D' => 86400,
            'w' | 'W' => 604800,
            _ => return None,
        };
        let n: u64 = num.parse().ok()?;
        total = total.checked_add(n.checked_mul(mult)?)?;
        num.clear();
    }
    if !num.is_empty() {
        total = total.checked_add(num.parse().ok()?)?;
    }
    Some(total)
}

/// Re-parse the candidate and check that `file:line` is the winning line with `args`.
fn verify(
    candidate: &BTreeMap<String, Vec<u8>>,
    main: &str,
    version: (u32, u32),
    key: &str,
    file: &str,
    line: usize,
    args: &[String],
) -> Result<(), ModuleError> {
    let t = parse_tree(main, candidate);
    let fail = |why: String| ModuleError::NotEffective {
        file: file.to_string(),
        line,
        why,
    };
    match t.effective_in(key, version) {
        Some(d) if d.file == file && d.line == line && d.args == args => Ok(()),
        Some(d) => Err(fail(format!(
            "sshd would use {}:{} (`{}`) instead",
            d.file, d.line, d.raw
        ))),
        None => Err(fail(format!("no line sets `{key}`"))),
    }
}

/// Split into physical lines: (content without `\n`, line ending `"\n"` or `""`).
fn physical_lines(bytes: &[u8]) -> Vec<(&[u8], &'static [u8])> {
    let mut out: Vec<(&[u8], &'static [u8])> = bytes
        .split(|b| *b == b'\n')
        .map(|l| (l, &b"\n"[..]))
        .collect();
    if let Some(last) = out.last_mut() {
        if last.0.is_empty() {
            out.pop();
        } else {
            last.1 = b"";
        }
    }
    out
}

/// `bytes` with physical line `index` (0-based) replaced by `content` + `eol`.
fn replace_line(bytes: &[u8], index: usize, content: &[u8], eol: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + content.len());
    for (i, (c, e)) in physical_lines(bytes).into_iter().enumerate() {
        if i == index {
            out.extend_from_slice(content);
            out.extend_from_slice(eol);
        } else {
            out.extend_from_slice(c);
            out.extend_from_slice(e);
        }
    }
    out
}

/// Byte offset in `rest` where its arguments end (before blanks and a `# comment`),
/// following sshd's `argv_split`.
fn args_end(rest: &str) -> usize {
    let c: Vec<(usize, char)> = rest.char_indices().collect();
    let mut i = 0;
    let mut end = 0;
    while i < c.len() {
        if c[i].1 == ' ' || c[i].1 == '\t' {
            i += 1;
            continue;
        }
        if c[i].1 == '#' {
            break;
        }
        let mut quote: Option<char> = None;
        while i < c.len() {
            let ch = c[i].1;
            if ch == '\\' {
                if let Some(&(_, n)) = c.get(i + 1) {
                    if n == '\'' || n == '"' || n == '\\' || (quote.is_none() && n == ' ') {
                        i += 1;
                    }
                }
            } else if quote.is_none() && (ch == ' ' || ch == '\t') {
                break;
            } else if quote.is_none() && (ch == '"' || ch == '\'') {
                quote = Some(ch);
            } else if quote == Some(ch) {
                quote = None;
            }
            i += 1;
        }
        end = c.get(i).map_or(rest.len(), |(off, _)| *off);
    }
    end
}

/// The winner's file with its value replaced by `value` (see the module docs).
fn replace_value(bytes: &[u8], d: &Directive, value: &str) -> Result<Vec<u8>, ModuleError> {
    let lines = physical_lines(bytes);
    let refuse = |why: &str| ModuleError::Line {
        file: d.file.clone(),
        line: d.line,
        why: why.to_string(),
    };
    let &(content, eol) = d
        .line
        .checked_sub(1)
        .and_then(|i| lines.get(i))
        .ok_or_else(|| refuse("the line is not in the file"))?;
    if content.contains(&0) {
        return Err(refuse(
            "the line contains a NUL byte (sshd joins it with the next one); edit it by hand",
        ));
    }
    let text = std::str::from_utf8(content)
        .map_err(|_| refuse("the line is not valid UTF-8; edit it by hand"))?;
    let trimmed = text.trim_end_matches([' ', '\t', '\r', '\x0c']);
    if !trimmed.ends_with(d.rest.as_str()) {
        return Err(refuse(
            "cannot locate the value on the line; edit it by hand",
        ));
    }
    let start = trimmed.len() - d.rest.len();
    let (head, old_tail) = text.split_at(start);
    let mut new = String::with_capacity(text.len() + value.len() + 1);
    new.push_str(head);
    if d.rest.is_empty() {
        // `Keyword` alone (sshd -t rejects it): add the value after it.
        new.push(' ');
        new.push_str(value);
        new.push_str(old_tail);
    } else {
        let end = args_end(&d.rest);
        let old_value = &d.rest[..end];
        let quoted = d.args.len() == 1
            && old_value.len() >= 2
            && ["\"", "'"]
                .iter()
                .any(|q| old_value.starts_with(q) && old_value.ends_with(q));
        if quoted && !value.contains(['"', '\'', '\\', ' ', '\t']) {
            let q = &old_value[..1];
            new.push_str(q);
            new.push_str(value);
            new.push_str(q);
        } else {
            new.push_str(value);
        }
        new.push_str(&old_tail[end..]);
    }
    Ok(replace_line(bytes, d.line - 1, new.as_bytes(), eol))
}

/// How to spell a keyword on a new line (see the module docs).
fn spelling(tree: &ConfigTree, main_bytes: &[u8], key: &str) -> String {
    let lk = key.to_ascii_lowercase();
    for (content, _) in physical_lines(main_bytes) {
        let Ok(text) = std::str::from_utf8(content) else {
            continue;
        };
        let Some(body) = text.trim_start().strip_prefix('#') else {
            continue;
        };
        let word: String = body
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if word.to_ascii_lowercase() == lk {
            return word;
        }
    }
    tree.directives
        .iter()
        .find(|d| d.key == lk)
        .map(|d| d.keyword.clone())
        .unwrap_or_else(|| key.to_string())
}

/// Where a new global line goes in the main file: the 0-based index of the line to
/// insert before (`len` = append), and a phrase for the reason.
fn insertion_point(tree: &ConfigTree, bytes: &[u8], prec: Precedence) -> (usize, String) {
    let lines = physical_lines(bytes);
    let include = tree
        .includes
        .iter()
        .find(|i| i.file == tree.main && i.match_block.is_none());
    if let (Precedence::First | Precedence::FirstLine, Some(inc)) = (prec, include) {
        return (
            inc.line.saturating_sub(1),
            "directly before the global `Include` (the first value wins, so a drop-in cannot override it)".to_string(),
        );
    }
    if let Some((_, m)) = tree.first_match_line() {
        // Global includes all stand before the first Match of the main file.
        let mut idx = m.saturating_sub(1).min(lines.len());
        // Keep the comment lines directly above the Match with it.
        while idx > 0 {
            let is_comment = lines.get(idx - 1).is_some_and(|(c, _)| {
                let t = c
                    .iter()
                    .skip_while(|b| matches!(b, b' ' | b'\t'))
                    .copied()
                    .next();
                t == Some(b'#')
            });
            if !is_comment {
                break;
            }
            idx -= 1;
        }
        let after_inc = if matches!(prec, Precedence::Last) && include.is_some() {
            "after the Include (the last value wins) and "
        } else {
            ""
        };
        return (
            idx,
            format!("{after_inc}before the first `Match` block, so it stays global"),
        );
    }
    // No Match block, but the file may end with a commented-out example of
    // one (Debian's and RHEL's `#Match User anoncvs`): a line appended after
    // it would read as part of the example and fall inside the block if an
    // admin uncommented it. Insert above the example (and the comments
    // directly above it) instead.
    if let Some(idx) = commented_match_example(&lines) {
        let why = if matches!(prec, Precedence::Last) {
            "above the commented-out `Match` example at the end of the file (the last value wins; there is no Match block)"
        } else {
            "above the commented-out `Match` example at the end of the file (there is no Include or Match block)"
        };
        return (idx, why.to_string());
    }
    let why = if matches!(prec, Precedence::Last) {
        "at the end of the file (the last value wins; there is no Match block)"
    } else {
        "at the end of the file (there is no Include or Match block)"
    };
    (lines.len(), why.to_string())
}

/// Where a trailing commented-out `Match` example starts (the first of the
/// comment lines directly above `#Match …`), when only comments and blank
/// lines follow it.
fn commented_match_example(lines: &[(&[u8], &[u8])]) -> Option<usize> {
    let text = |i: usize| String::from_utf8_lossy(lines[i].0).trim().to_string();
    let is_comment = |i: usize| text(i).starts_with('#');
    let mut found = None;
    for i in (0..lines.len()).rev() {
        let t = text(i);
        if t.is_empty() {
            continue;
        }
        if !t.starts_with('#') {
            break;
        }
        let body = t.trim_start_matches('#').trim_start();
        let word: String = body
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        if word.eq_ignore_ascii_case("match") && body.len() > word.len() {
            found = Some(i);
        }
    }
    let mut idx = found?;
    while idx > 0 && is_comment(idx - 1) {
        idx -= 1;
    }
    Some(idx)
}

/// `bytes` with `text` inserted as a new line before physical line `index`.
fn insert_line(bytes: &[u8], index: usize, text: &str) -> Vec<u8> {
    let eol = super::dominant_eol(bytes);
    let lines = physical_lines(bytes);
    let mut out = Vec::with_capacity(bytes.len() + text.len() + 2);
    for (i, (c, e)) in lines.iter().enumerate() {
        if i == index {
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(eol.as_bytes());
        }
        out.extend_from_slice(c);
        if e.is_empty() && index >= lines.len() {
            // The old last line had no newline; it gets one before the new line.
            out.extend_from_slice(eol.as_bytes());
        } else {
            out.extend_from_slice(e);
        }
    }
    if index >= lines.len() {
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(eol.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: &str = "/etc/ssh/sshd_config";
    const V92: (u32, u32) = (9, 2);

    /// `trees/<name>/` of the sshd facts fixtures, as the facts tests load them.
    use crate::facts::sshd_config::tests::tree_files;

    fn one(text: &[u8]) -> BTreeMap<String, Vec<u8>> {
        [(MAIN.to_string(), text.to_vec())].into()
    }

    fn set1(files: &BTreeMap<String, Vec<u8>>, key: &str, value: &str) -> Edit {
        let mut e = set(files, MAIN, V92, key, value, "f").unwrap();
        assert_eq!(e.len(), 1, "{key} {value}: {e:?}");
        e.remove(0)
    }

    /// The lines that differ between before and after: (line number in before, old, new).
    fn changed(e: &Edit) -> (Vec<String>, Vec<String>) {
        let b = String::from_utf8_lossy(e.before.as_deref().unwrap()).into_owned();
        let a = String::from_utf8_lossy(&e.after).into_owned();
        let bl: Vec<&str> = b.split_inclusive('\n').collect();
        let al: Vec<&str> = a.split_inclusive('\n').collect();
        let old: Vec<String> = bl
            .iter()
            .filter(|l| !al.contains(l))
            .map(|s| s.to_string())
            .collect();
        let new: Vec<String> = al
            .iter()
            .filter(|l| !bl.contains(l))
            .map(|s| s.to_string())
            .collect();
        (old, new)
    }

    fn expect_of(e: &Edit) -> Vec<(String, String)> {
        match &e.validator {
            Validator::SshdConfig { expect, .. } => expect.clone(),
            v => panic!("wrong validator {v:?}"),
        }
    }

    fn applied(files: &BTreeMap<String, Vec<u8>>, e: &Edit) -> BTreeMap<String, Vec<u8>> {
        let mut f = files.clone();
        f.insert(e.path.clone(), e.after.clone());
        f
    }

    #[test]
    fn first_wins_dropin_is_edited_not_the_main_file() {
        let files = tree_files("dropin-first");
        let e = set1(&files, "UseDNS", "no");
        assert_eq!(e.path, "/etc/ssh/sshd_config.d/50-hardening.conf");
        assert_eq!(
            e.after,
            b"# hardening drop-in\nMaxStartups 3:50:10\nUseDNS no\nLoginGraceTime 20\n"
        );
        assert_eq!(e.before.as_deref(), files.get(&e.path).map(Vec::as_slice));
        assert_eq!(
            e.before_sha256,
            Some(crate::change::sha256_hex(&files[&e.path]))
        );
        assert_eq!(expect_of(&e), vec![("usedns".into(), "no".into())]);
        assert!(
            e.reason
                .starts_with("/etc/ssh/sshd_config.d/50-hardening.conf:3 is the `UseDNS` line"),
            "{}",
            e.reason
        );
        assert_eq!(e.finding, "f");
        // The main file's own `UseDNS no` (ignored by sshd) would have been the naive edit.
        let e = set1(&files, "logingracetime", "30");
        assert_eq!(e.path, "/etc/ssh/sshd_config.d/50-hardening.conf");
        assert_eq!(
            changed(&e),
            (
                vec!["LoginGraceTime 20\n".into()],
                vec!["LoginGraceTime 30\n".into()]
            )
        );
        assert_eq!(expect_of(&e), vec![("logingracetime".into(), "30".into())]);
    }

    #[test]
    fn last_wins_maxstartups_edits_the_last_line_per_release() {
        let files = tree_files("last-wins");
        let e = set1(&files, "MaxStartups", "10:30:60");
        assert_eq!(e.path, MAIN);
        assert_eq!(
            changed(&e),
            (
                vec!["MaxStartups 40\n".into()],
                vec!["MaxStartups 10:30:60\n".into()]
            )
        );
        assert!(
            e.reason.starts_with("/etc/ssh/sshd_config:11 "),
            "{}",
            e.reason
        );
        assert!(e.reason.contains("last line wins"), "{}", e.reason);
        assert_eq!(
            expect_of(&e),
            vec![("maxstartups".into(), "10:30:60".into())]
        );
        // From 10.1 on MaxStartups is first-wins: the drop-in decides.
        let e = set(&files, MAIN, (10, 1), "MaxStartups", "10:30:60", "f").unwrap();
        assert_eq!(e[0].path, "/etc/ssh/sshd_config.d/10-first.conf");
        assert_eq!(changed(&e[0]).0, vec!["MaxStartups 10:50:60\n".to_string()]);
        // dropin-first: the drop-in sets it first, the main file's appended line wins in 9.2.
        let files = tree_files("dropin-first");
        let e = set1(&files, "MaxStartups", "10:30:100");
        assert_eq!(e.path, MAIN);
        assert_eq!(changed(&e).0, vec!["MaxStartups 20:30:60\n".to_string()]);
    }

    #[test]
    fn one_number_maxstartups_keeps_the_carried_rate() {
        let mut files = one(b"Include /etc/ssh/sshd_config.d/*.conf\nMaxStartups 40\n");
        files.insert(
            "/etc/ssh/sshd_config.d/a.conf".into(),
            b"MaxStartups 10:50:60\n".to_vec(),
        );
        let e = set1(&files, "MaxStartups", "50");
        assert_eq!(changed(&e).1, vec!["MaxStartups 50\n".to_string()]);
        assert_eq!(
            expect_of(&e),
            vec![("maxstartups".into(), "50:50:50".into())]
        );
        // `MaxStartups 40` already prints 40:50:40.
        assert_eq!(
            set(&files, MAIN, V92, "MaxStartups", "40", "f").unwrap(),
            vec![]
        );
    }

    #[test]
    fn trailing_match_block_never_gets_the_new_line() {
        let files = tree_files("trailing-match");
        let main = String::from_utf8(files[MAIN].clone()).unwrap();
        let e = set1(&files, "MaxStartups", "10:30:100");
        let after = String::from_utf8(e.after.clone()).unwrap();
        // Inserted directly before `Match User backup` (a blank line is above it).
        assert!(
            after.contains(
                "#\tForceCommand cvs server\n\nMaxStartups 10:30:100\nMatch User backup\n"
            ),
            "{after}"
        );
        assert_eq!(
            after.replacen("\nMaxStartups 10:30:100\nMatch", "\nMatch", 1),
            main
        );
        assert!(
            e.reason.contains("as /etc/ssh/sshd_config:124, after the Include (the last value wins) and before the first `Match` block"),
            "{}",
            e.reason
        );
        // First-wins: before the Include, spelled like the commented default `#UseDNS no`.
        let e = set1(&files, "usedns", "no");
        let after = String::from_utf8(e.after.clone()).unwrap();
        assert!(
            after
                .contains("# default value.\n\nUseDNS no\nInclude /etc/ssh/sshd_config.d/*.conf\n"),
            "{after}"
        );
        assert!(
            e.reason.contains("as /etc/ssh/sshd_config:12,"),
            "{}",
            e.reason
        );
        let t = parse_tree(MAIN, &applied(&files, &e));
        assert_eq!(t.effective("usedns").map(|d| d.line), Some(12));
        assert_eq!(t.effective("usedns").unwrap().match_block, None);
    }

    #[test]
    fn new_line_goes_above_comments_attached_to_the_match() {
        let files =
            one(b"UseDNS no\n\n# backups only\n# (sftp)\nMatch User x\n  X11Forwarding no\n");
        let e = set1(&files, "MaxStartups", "10:30:100");
        assert_eq!(
            e.after,
            b"UseDNS no\n\nMaxStartups 10:30:100\n# backups only\n# (sftp)\nMatch User x\n  X11Forwarding no\n"
        );
    }

    #[test]
    fn key_equals_case_quotes_and_crlf_are_kept() {
        let files = tree_files("crlf-case-eq");
        let e = set1(&files, "MaxStartups", "10:30:100");
        assert_eq!(
            changed(&e),
            (
                vec!["MAXSTARTUPS = 7:40:30\r\n".into()],
                vec!["MAXSTARTUPS = 10:30:100\r\n".into()]
            )
        );
        let e = set1(&files, "UseDNS", "no");
        assert_eq!(
            changed(&e),
            (
                vec!["  usedns\t=\tyes   \r\n".into()],
                vec!["  usedns\t=\tno   \r\n".into()]
            )
        );
        // The include on line 2 comes first: the drop-in's `LOGINGRACETIME=45` decides.
        let e = set1(&files, "LoginGraceTime", "30");
        assert_eq!(e.path, "/etc/ssh/sshd_config.d/a.conf");
        assert_eq!(e.after, b"LOGINGRACETIME=30\r\n");
        let e = set1(&files, "Banner", "/etc/ssh/other");
        assert_eq!(
            changed(&e).1,
            vec!["Banner \"/etc/ssh/other\" # quoted\r\n".to_string()]
        );
        assert_eq!(
            expect_of(&e),
            vec![("banner".into(), "/etc/ssh/other".into())]
        );
        let e = set1(&files, "ClientAliveCountMax", "5");
        let after = String::from_utf8(e.after.clone()).unwrap();
        assert!(
            after.starts_with("# CRLF file written on Windows\r\nClientAliveCountMax 5\r\ninclude sshd_config.d/*.conf\r\n"),
            "{after:?}"
        );
        // `X11Forwarding no` (line 11) wins over lowercase `x11forwarding yes` (line 12).
        let e = set1(&files, "x11forwarding", "yes");
        assert_eq!(changed(&e).0, vec!["X11Forwarding no\r\n".to_string()]);
    }

    #[test]
    fn file_without_trailing_newline() {
        let files = one(b"Port 22\nUseDNS yes");
        let e = set1(&files, "UseDNS", "no");
        assert_eq!(e.after, b"Port 22\nUseDNS no");
        let e = set1(&files, "MaxStartups", "10:30:100");
        assert_eq!(e.after, b"Port 22\nUseDNS yes\nMaxStartups 10:30:100\n");
        let files = one(b"Port 22\r\nUseDNS yes");
        let e = set1(&files, "MaxStartups", "10:30:100");
        assert_eq!(
            e.after,
            b"Port 22\r\nUseDNS yes\r\nMaxStartups 10:30:100\r\n"
        );
        // An empty main file.
        let e = set1(&one(b""), "MaxStartups", "10:30:100");
        assert_eq!(e.after, b"MaxStartups 10:30:100\n");
    }

    #[test]
    fn trailing_comment_and_value_forms() {
        let e = set1(
            &one(b"MaxStartups 5 # too low\n"),
            "maxstartups",
            "10:30:100",
        );
        assert_eq!(e.after, b"MaxStartups 10:30:100 # too low\n");
        let e = set1(&one(b"LoginGraceTime=2m\n"), "LoginGraceTime", "1m30s");
        assert_eq!(e.after, b"LoginGraceTime=1m30s\n");
        assert_eq!(expect_of(&e), vec![("logingracetime".into(), "90".into())]);
        let e = set1(&one(b"IPQoS cs1 cs2\n"), "IPQoS", "af21");
        assert_eq!(expect_of(&e), vec![("ipqos".into(), "af21 af21".into())]);
        // `'single'` quotes stay; a value with its own quotes is written as given.
        let e = set1(&one(b"Banner '/x'\n"), "Banner", "/y");
        assert_eq!(e.after, b"Banner '/y'\n");
        let e = set1(&one(b"Banner '/x'\n"), "Banner", "\"/a b\"");
        assert_eq!(e.after, b"Banner \"/a b\"\n");
        assert_eq!(expect_of(&e), vec![("banner".into(), "/a b".into())]);
    }

    #[test]
    fn already_effective_means_no_edit() {
        let files = tree_files("dropin-first");
        for (k, v) in [
            ("LoginGraceTime", "20"),
            ("LoginGraceTime", "20s"),
            ("usedns", "YES"),
            ("MaxStartups", "20:30:60"),
            ("ClientAliveInterval", "30"),
        ] {
            assert_eq!(
                set(&files, MAIN, V92, k, v, "f").unwrap(),
                vec![],
                "{k} {v}"
            );
        }
        // The main file's `UseDNS no` is not what sshd uses, so `no` is a change.
        assert_eq!(
            set(&files, MAIN, V92, "UseDNS", "no", "f").unwrap().len(),
            1
        );
    }

    #[test]
    fn match_all_and_alias_lines_are_the_ones_edited() {
        let files = tree_files("match-all");
        let e = set1(&files, "X11Forwarding", "no");
        assert_eq!(
            changed(&e),
            (
                vec!["  X11Forwarding yes\n".into()],
                vec!["  X11Forwarding no\n".into()]
            )
        );
        assert!(
            e.reason.contains("sshd_config:7 ") && e.reason.contains("Match all"),
            "{}",
            e.reason
        );
        let files = tree_files("aliases");
        let e = set1(&files, "KbdInteractiveAuthentication", "no");
        assert_eq!(
            changed(&e).1,
            vec!["ChallengeResponseAuthentication no\n".to_string()]
        );
        assert_eq!(
            expect_of(&e),
            vec![("kbdinteractiveauthentication".into(), "no".into())]
        );
    }

    #[test]
    fn refusals() {
        let files = tree_files("debian-default");
        for k in [
            "Port",
            "ListenAddress",
            "HostKey",
            "AcceptEnv",
            "Subsystem",
            "Include",
            "Match",
            "Protocol",
        ] {
            let err = set(&files, MAIN, V92, k, "x", "f").unwrap_err();
            assert!(
                matches!(err, ModuleError::UnsupportedKeyword { .. }),
                "{k}: {err}"
            );
        }
        assert!(matches!(
            set(&files, MAIN, V92, "maxstartup", "1", "f"),
            Err(ModuleError::UnknownKeyword { .. })
        ));
        for v in ["", " 5", "a\nb", "\"unbalanced", "# x", "a\0b", "=x"] {
            let err = set(&files, MAIN, V92, "Banner", v, "f").unwrap_err();
            assert!(matches!(err, ModuleError::BadValue { .. }), "{v:?}: {err}");
        }
        assert!(matches!(
            set(&BTreeMap::new(), MAIN, V92, "UseDNS", "no", "f"),
            Err(ModuleError::MainFileMissing { .. })
        ));
        let err = set(
            &one(b"UseDNS yes\0x\nPort 22\n"),
            MAIN,
            V92,
            "UseDNS",
            "no",
            "f",
        )
        .unwrap_err();
        assert!(err.to_string().contains("NUL"), "{err}");
    }

    #[test]
    fn comment_out_format_and_round_trip() {
        let files = tree_files("errors/bad-option");
        let e = comment_out(
            &files,
            MAIN,
            2,
            "sshd -t: Bad configuration option: FooBar",
            "f",
        )
        .unwrap();
        assert_eq!(
            e.after,
            b"Port 22\n# sshfix: disabled (sshd -t: Bad configuration option: FooBar): FooBar yes\nmaxstartup 10:30:100\n"
        );
        assert_eq!(expect_of(&e), vec![]);
        assert_eq!(
            e.reason,
            "Comment out /etc/ssh/sshd_config:2 (`FooBar yes`): sshd -t: Bad configuration option: FooBar."
        );
        let d = parse_disabled(
            "# sshfix: disabled (sshd -t: Bad configuration option: FooBar): FooBar yes",
        )
        .unwrap();
        assert_eq!(d.marker, "sshd -t: Bad configuration option: FooBar");
        assert_eq!(d.original, "FooBar yes");
        // Indentation, trailing blanks, comments and CRLF survive byte for byte.
        let files = one(b"Match User bob\r\n\t UseDNS  no # x \r\n");
        let e = comment_out(&files, MAIN, 2, "m", "f").unwrap();
        assert_eq!(
            e.after,
            b"Match User bob\r\n\t # sshfix: disabled (m): UseDNS  no # x \r\n"
        );
        let d = parse_disabled("\t # sshfix: disabled (m): UseDNS  no # x \r").unwrap();
        assert_eq!(
            (d.indent.as_str(), d.original.as_str()),
            ("\t ", "UseDNS  no # x ")
        );
        assert_eq!(parse_disabled("# UseDNS no"), None);
        // No trailing newline stays without one.
        let e = comment_out(&one(b"Port 22\nUseDNS no"), MAIN, 2, "m", "f").unwrap();
        assert_eq!(e.after, b"Port 22\n# sshfix: disabled (m): UseDNS no");
    }

    #[test]
    fn comment_out_refusals() {
        let files = one(b"# c\n\nMatch User x\n  UseDNS no\nPort 2\0\n22\n");
        let err =
            |line: usize, marker: &str| comment_out(&files, MAIN, line, marker, "f").unwrap_err();
        assert!(matches!(err(1, "m"), ModuleError::Line { .. }));
        assert!(matches!(err(2, "m"), ModuleError::Line { .. }));
        assert!(err(3, "m").to_string().contains("Match"));
        assert!(err(5, "m").to_string().contains("NUL"));
        assert!(matches!(err(0, "m"), ModuleError::NoSuchLine { .. }));
        assert!(matches!(
            err(7, "m"),
            ModuleError::NoSuchLine { lines: 6, .. }
        ));
        for m in ["", "a)b", "a\nb"] {
            assert!(matches!(err(4, m), ModuleError::BadMarker { .. }), "{m:?}");
        }
        assert!(matches!(
            comment_out(&files, "/etc/ssh/other", 1, "m", "f"),
            Err(ModuleError::FileMissing { .. })
        ));
        assert!(comment_out(&files, MAIN, 4, "m", "f").is_ok());
    }

    /// `tests/fixtures/modules/sshd_config/trees/crlf-noeol`: CRLF, no newline at the end,
    /// a trailing Match block, lowercase `maxstartups=5`, a drop-in setting `usedns` first.
    fn crlf_noeol() -> BTreeMap<String, Vec<u8>> {
        let mut m = one(include_bytes!(
            "../../tests/fixtures/modules/sshd_config/trees/crlf-noeol/sshd_config"
        ));
        m.insert(
            "/etc/ssh/sshd_config.d/10-dns.conf".into(),
            include_bytes!(
                "../../tests/fixtures/modules/sshd_config/trees/crlf-noeol/sshd_config.d/10-dns.conf"
            )
            .to_vec(),
        );
        m
    }

    #[test]
    fn crlf_file_without_newline_and_trailing_match() {
        let files = crlf_noeol();
        let head = "# written on Windows, last line without a newline\r\n";
        let include = "Include /etc/ssh/sshd_config.d/*.conf\r\n";
        let tail = "\r\n# backups only\r\nMatch User backup\r\n\tForceCommand internal-sftp\r\nX11Forwarding no";
        let e = set1(&files, "MaxStartups", "10:30:100");
        assert_eq!(
            String::from_utf8(e.after).unwrap(),
            format!("{head}{include}maxstartups=10:30:100\r\n  LOGINGRACETIME = 2m\r\n{tail}")
        );
        let e = set1(&files, "LoginGraceTime", "1m30s");
        assert_eq!(
            String::from_utf8(e.after.clone()).unwrap(),
            format!("{head}{include}maxstartups=5\r\n  LOGINGRACETIME = 1m30s\r\n{tail}")
        );
        assert_eq!(expect_of(&e), vec![("logingracetime".into(), "90".into())]);
        let e = set1(&files, "UseDNS", "no");
        assert_eq!(
            (e.path.as_str(), e.after.as_slice()),
            ("/etc/ssh/sshd_config.d/10-dns.conf", &b"usedns no\n"[..])
        );
        // Last-wins and unset: after the Include, above the comment of the Match block.
        let e = set1(&files, "PerSourceMaxStartups", "3");
        assert_eq!(
            String::from_utf8(e.after.clone()).unwrap(),
            format!("{head}{include}maxstartups=5\r\n  LOGINGRACETIME = 2m\r\n\r\nPerSourceMaxStartups 3{tail}")
        );
        assert_eq!(
            e.reason,
            "No global line sets `PerSourceMaxStartups`; add `PerSourceMaxStartups 3` as /etc/ssh/sshd_config:6, after the Include (the last value wins) and before the first `Match` block, so it stays global."
        );
        // First-wins and unset: before the Include.
        let e = set1(&files, "MaxAuthTries", "4");
        assert_eq!(
            String::from_utf8(e.after).unwrap(),
            format!(
                "{head}MaxAuthTries 4\r\n{include}maxstartups=5\r\n  LOGINGRACETIME = 2m\r\n{tail}"
            )
        );
        assert_eq!(
            set(&files, MAIN, V92, "LoginGraceTime", "120", "f").unwrap(),
            vec![]
        );
    }

    #[test]
    fn printed_like_sshd_t() {
        let p = |k: &str, v: &str| printed(k, &[v.to_string()], 30);
        assert_eq!(p("loglevel", "verbose"), "VERBOSE");
        assert_eq!(p("syslogfacility", "auth"), "AUTH");
        assert_eq!(
            p("permitrootlogin", "Prohibit-Password"),
            "without-password"
        );
        assert_eq!(p("addressfamily", "INET"), "inet");
        assert_eq!(p("compression", "Delayed"), "yes");
        assert_eq!(p("permituserenvironment", "Yes"), "Yes");
        assert_eq!(p("streamlocalbindmask", "077"), "077");
        assert_eq!(p("maxauthtries", "010"), "10");
        assert_eq!(p("maxauthtries", "0"), "0");
        assert_eq!(p("unusedconnectiontimeout", "1m"), "60");
        assert_eq!(p("unusedconnectiontimeout", "none"), "none");
        assert_eq!(p("fingerprinthash", "SHA256"), "SHA256");
        assert_eq!(
            printed("ciphers", &["aes128-ctr,aes256-ctr".into()], 30),
            "aes128-ctr,aes256-ctr"
        );
        assert_eq!(
            printed("ipqos", &["cs1".into(), "cs2".into()], 30),
            "cs1 cs2"
        );
    }

    /// Regression (tests/edit_properties.rs): a value ending in one
    /// backslash written before a kept `# comment` escaped the blank after
    /// it, so sshd read other words; it was refused as "internal check
    /// failed" instead of as a bad value.
    #[test]
    fn a_value_ending_in_a_lone_backslash_is_a_bad_value() {
        let files = one(b"UseDNS yes # was yes\n");
        let err = set(&files, MAIN, V92, "UseDNS", "\\", "f").unwrap_err();
        assert!(
            matches!(&err, ModuleError::BadValue { why, .. } if why.contains("lone backslash")),
            "{err}"
        );
        assert!(set(&files, MAIN, V92, "Banner", "/a\\b\\", "f").is_err());
        // an escaped backslash is fine
        let e = set1(&files, "Banner", "/x\\\\");
        assert_eq!(e.after, b"UseDNS yes # was yes\nBanner /x\\\\\n");
    }

    /// Regression (tests/edit_properties.rs): a new line that would go
    /// right after a line with a NUL byte, which sshd joins it onto, was
    /// refused as "internal check failed … no line sets" instead of naming
    /// the NUL line.
    #[test]
    fn insertion_after_a_nul_line_is_refused_naming_that_line() {
        let err = set(
            &one(b"usedns yes\0tail\n#UseDNS no\nMatch all\n"),
            MAIN,
            V92,
            "X11Forwarding",
            "yes",
            "f",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/etc/ssh/sshd_config:1: the line contains a NUL byte, so sshd would join the new `X11Forwarding` line after it onto it; remove the NUL byte by hand"
        );
        // a NUL line elsewhere does not matter
        let e = set1(&one(b"Port 2\0x\nPort 22\nMatch all\n"), "UseDNS", "no");
        assert_eq!(e.after, b"Port 2\0x\nPort 22\nUseDNS no\nMatch all\n");
    }

    #[test]
    fn include_loop_is_refused() {
        let mut files = one(b"Include /etc/ssh/a.conf\n");
        files.insert(
            "/etc/ssh/a.conf".into(),
            b"Include /etc/ssh/a.conf\n".to_vec(),
        );
        assert!(matches!(
            set(&files, MAIN, V92, "UseDNS", "no", "f"),
            Err(ModuleError::IncludeLoop { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_edits_only_what_it_says(
            tokens in proptest::collection::vec(proptest::sample::select(vec![
                "MaxStartups", "maxstartups", "UseDNS", "Match", "all", "User", "x", "Include",
                "/etc/ssh/a", " ", "\t", "=", "\"", "'", "#", "\\", "\0", "\r", "\n", "\n",
                "\n", "5", "yes", ":", "\u{e9}",
            ]), 0..60)) {
            let bytes = tokens.concat().into_bytes();
            let mut files = one(&bytes);
            files.insert("/etc/ssh/a".into(), bytes.clone());
            for (k, v) in [("MaxStartups", "10:30:100"), ("UseDNS", "no")] {
                if let Ok(edits) = set(&files, MAIN, V92, k, v, "f") {
                    for e in edits {
                        proptest::prop_assert_eq!(e.before.as_ref(), files.get(&e.path));
                        let t = parse_tree(MAIN, &applied(&files, &e));
                        proptest::prop_assert_eq!(t.effective(k).map(|d| d.value()), Some(v.to_string()));
                    }
                }
            }
            for line in 0..4 {
                let _ = comment_out(&files, MAIN, line, "m", "f");
            }
        }
    }

    #[test]
    fn convtime_like_sshd() {
        assert_eq!(convtime("120"), Some(120));
        assert_eq!(convtime("2m"), Some(120));
        assert_eq!(convtime("1h30s"), Some(3630));
        assert_eq!(convtime("1m30"), Some(90));
        assert_eq!(convtime("x"), None);
        assert_eq!(convtime(""), None);
    }
}
