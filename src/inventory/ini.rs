//! INI inventories, read line by line as Ansible's `ini` inventory plugin
//! does: `[group]`, `[group:vars]`, `[group:children]`, host lines with
//! ranges, `:port` suffixes and inline `key=value` variables typed as Python
//! literals.

use std::path::Path;
use std::sync::LazyLock;

use indexmap::IndexMap;
use regex::Regex;

use super::address::expand_hostpattern;
use super::data::Data;
use super::pyliteral::parse_value;
use super::InventoryError;

static SECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").expect("valid regex"));
static GROUPNAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").expect("valid regex"));

/// Python's `str.isspace()`.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Python's `str.splitlines()`.
pub(crate) fn py_splitlines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let brk = matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if brk {
            out.push(&text[start..i]);
            let mut end = i + c.len_utf8();
            if c == '\r' {
                if let Some((j, '\n')) = chars.peek().copied() {
                    chars.next();
                    end = j + 1;
                }
            }
            start = end;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Decodes an INI file as Ansible does: UTF-8, except that undecodable
/// comment lines are blanked.
pub(crate) fn decode(bytes: &[u8], path: &Path) -> Result<String, InventoryError> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    let mut lines = Vec::new();
    let mut n = 0;
    let mut rest = bytes;
    while !rest.is_empty() {
        n += 1;
        let end = rest
            .iter()
            .position(|b| *b == b'\n' || *b == b'\r')
            .unwrap_or(rest.len());
        let line = &rest[..end];
        let mut skip = end;
        if rest.get(end) == Some(&b'\r') && rest.get(end + 1) == Some(&b'\n') {
            skip += 2;
        } else if end < rest.len() {
            skip += 1;
        }
        rest = &rest[skip..];
        if matches!(line.first(), Some(b'#' | b';')) {
            lines.push(String::new());
        } else {
            match std::str::from_utf8(line) {
                Ok(s) => lines.push(s.to_string()),
                Err(e) => {
                    return Err(InventoryError::at(
                        path,
                        n,
                        e.valid_up_to() + 1,
                        "this line is not valid UTF-8",
                    ))
                }
            }
        }
    }
    Ok(lines.join("\n"))
}

/// One token of a host line, with where it starts (0-based char offset).
#[derive(Debug, PartialEq)]
pub(crate) struct Token {
    pub start: usize,
    pub text: String,
}

/// `shlex.split(line, comments=True)` (POSIX mode), keeping token positions.
pub(crate) fn shlex_split(line: &str) -> Result<Vec<Token>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum St {
        Space,
        Word,
        Quote(char),
        Escape(EscFrom),
    }
    #[derive(Clone, Copy, PartialEq)]
    enum EscFrom {
        Word,
        Double,
    }
    let chars: Vec<char> = line.chars().collect();
    let mut tokens = Vec::new();
    let mut state = St::Space;
    let mut token = String::new();
    let mut quoted = false;
    let mut start = 0;
    let mut i = 0;
    let ws = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    loop {
        let c = chars.get(i).copied();
        match state {
            St::Space => match c {
                None => break,
                Some(c) if ws(c) => {}
                Some('#') => break,
                Some('\\') => {
                    start = i;
                    state = St::Escape(EscFrom::Word);
                }
                Some(q @ ('\'' | '"')) => {
                    start = i;
                    state = St::Quote(q);
                }
                Some(c) => {
                    start = i;
                    token.push(c);
                    state = St::Word;
                }
            },
            St::Quote(q) => {
                quoted = true;
                match c {
                    None => return Err("no closing quotation".into()),
                    Some(c) if c == q => state = St::Word,
                    Some('\\') if q == '"' => state = St::Escape(EscFrom::Double),
                    Some(c) => token.push(c),
                }
            }
            St::Escape(from) => match c {
                None => return Err("no escaped character after `\\`".into()),
                Some(c) => {
                    if from == EscFrom::Double && c != '\\' && c != '"' {
                        token.push('\\');
                    }
                    token.push(c);
                    state = match from {
                        EscFrom::Word => St::Word,
                        EscFrom::Double => St::Quote('"'),
                    };
                }
            },
            St::Word => match c {
                None => {
                    if !token.is_empty() || quoted {
                        tokens.push(Token {
                            start,
                            text: std::mem::take(&mut token),
                        });
                    }
                    break;
                }
                Some(c) if ws(c) || c == '#' => {
                    if !token.is_empty() || quoted {
                        tokens.push(Token {
                            start,
                            text: std::mem::take(&mut token),
                        });
                    }
                    quoted = false;
                    state = St::Space;
                    if c == '#' {
                        break;
                    }
                }
                Some(q @ ('\'' | '"')) => state = St::Quote(q),
                Some('\\') => state = St::Escape(EscFrom::Word),
                Some(c) => token.push(c),
            },
        }
        i += 1;
    }
    Ok(tokens)
}

struct Pending {
    line: usize,
    vars: bool,
    parents: Vec<String>,
}

/// Parses INI inventory text into `data`.
pub(crate) fn parse(data: &mut Data, text: &str, path: &Path) -> Result<(), InventoryError> {
    let mut pending: IndexMap<String, Pending> = IndexMap::new();
    let mut group = "ungrouped".to_string();
    let mut state = "hosts".to_string();
    for (idx, raw) in py_splitlines(text).into_iter().enumerate() {
        let lineno = idx + 1;
        let lead = raw.chars().take_while(|c| py_space(*c)).count();
        let line = raw.trim_matches(py_space);
        let err = |col: usize, msg: String| InventoryError::at(path, lineno, lead + 1 + col, msg);
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(m) = SECTION.captures(line) {
            group = m[1].to_string();
            state = m.get(2).map_or("hosts", |s| s.as_str()).to_string();
            if !matches!(state.as_str(), "hosts" | "children" | "vars") {
                let header = line.split_once(']').map_or(line, |(h, _)| h);
                return Err(err(
                    0,
                    format!(
                        "section header `{header}]` has an unknown suffix `{state}`; expected `:vars` or `:children`"
                    ),
                ));
            }
            if !data.groups.contains_key(&group) {
                if state == "vars" && !pending.contains_key(&group) {
                    pending.insert(
                        group.clone(),
                        Pending {
                            line: lineno,
                            vars: true,
                            parents: Vec::new(),
                        },
                    );
                }
                data.add_group(&group);
            }
            if state != "vars" {
                if let Some(p) = pending.get(&group) {
                    if p.vars {
                        pending.shift_remove(&group);
                    } else {
                        add_pending_children(data, &group, &mut pending).map_err(|m| err(0, m))?;
                    }
                }
            }
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(err(
                0,
                format!(
                    "section header `{line}` is not valid: a group name may not contain spaces, `:` or `]`, and the only suffixes are `:vars` and `:children`"
                ),
            ));
        }
        match state.as_str() {
            "hosts" => {
                let tokens = shlex_split(line)
                    .map_err(|e| err(0, format!("cannot split host line `{line}`: {e}")))?;
                let Some(first) = tokens.first() else {
                    continue;
                };
                let pattern = &first.text;
                let (hosts, port) = expand_hostpattern(pattern).map_err(|m| err(first.start, m))?;
                if pattern.trim_matches(py_space).ends_with(':') && port.is_none() {
                    return Err(err(
                        first.start,
                        format!(
                            "host `{pattern}` ends in `:`; a port number must follow it (e.g. `web1:2222`)"
                        ),
                    ));
                }
                if hosts.iter().any(|h| h.trim_matches(py_space) == "---") {
                    return Err(err(
                        first.start,
                        "`---` is not a host name; this looks like a YAML file (name it `.yml`)"
                            .into(),
                    ));
                }
                let mut vars = Vec::new();
                for t in &tokens[1..] {
                    let Some((k, v)) = t.text.split_once('=') else {
                        return Err(err(
                            t.start,
                            format!(
                                "expected a `key=value` host variable after `{pattern}`, found `{}`",
                                t.text
                            ),
                        ));
                    };
                    vars.push((k.to_string(), parse_value(v)));
                }
                for h in &hosts {
                    if h.is_empty() {
                        return Err(err(first.start, "empty host name".into()));
                    }
                    data.add_host(h, Some(&group), port)
                        .map_err(|m| err(first.start, m))?;
                    for (k, v) in &vars {
                        data.set_variable(h, k, v.clone())
                            .map_err(|m| err(first.start, m))?;
                    }
                }
            }
            "vars" => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(err(
                        0,
                        format!("expected `key=value` in `[{group}:vars]`, found `{line}`"),
                    ));
                };
                let k = k.trim_matches(py_space);
                let v = v.trim_matches(py_space);
                data.set_variable(&group, k, parse_value(v))
                    .map_err(|m| err(0, m))?;
            }
            _ => {
                let Some(m) = GROUPNAME.captures(line) else {
                    return Err(err(
                        0,
                        format!("expected a group name in `[{group}:children]`, found `{line}`"),
                    ));
                };
                let child = m[1].to_string();
                if !data.groups.contains_key(&child) {
                    match pending.get_mut(&child) {
                        Some(p) => p.parents.push(group.clone()),
                        None => {
                            pending.insert(
                                child,
                                Pending {
                                    line: lineno,
                                    vars: false,
                                    parents: vec![group.clone()],
                                },
                            );
                        }
                    }
                } else {
                    data.add_child(&group, &child).map_err(|m| err(0, m))?;
                }
            }
        }
    }
    if let Some((name, p)) = pending.first() {
        let msg = if p.vars {
            format!(
                "section `[{name}:vars]` sets variables of group `{name}`, which is not defined; add a `[{name}]` or `[{name}:children]` section"
            )
        } else {
            let parent = p.parents.last().map_or("?", String::as_str);
            format!(
                "section `[{parent}:children]` includes group `{name}`, which is not defined; add a `[{name}]` section (it may be empty)"
            )
        };
        return Err(InventoryError::at(path, p.line, 1, msg));
    }
    Ok(())
}

fn add_pending_children(
    data: &mut Data,
    group: &str,
    pending: &mut IndexMap<String, Pending>,
) -> Result<(), String> {
    let parents = pending
        .get(group)
        .map(|p| p.parents.clone())
        .unwrap_or_default();
    for parent in parents {
        data.add_child(&parent, group)?;
        if pending.get(&parent).is_some_and(|p| !p.vars) {
            add_pending_children(data, &parent, pending)?;
        }
    }
    pending.shift_remove(group);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        shlex_split(s)
            .unwrap()
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn shlex_like_python() {
        let cases: &[(&str, &[&str])] = &[
            ("a b  c", &["a", "b", "c"]),
            ("h x='a b' y=\"c d\"", &["h", "x=a b", "y=c d"]),
            ("h x=1 # comment", &["h", "x=1"]),
            ("h#c x=1", &["h"]),
            ("h x=\"a\\\"b\\n\"", &["h", "x=a\"b\\n"]),
            ("h x=a\\ b", &["h", "x=a b"]),
            ("h x=''", &["h", "x="]),
            ("'' y", &["", "y"]),
            ("h x='#'", &["h", "x=#"]),
        ];
        for (input, want) in cases {
            assert_eq!(toks(input), *want, "{input}");
        }
        assert_eq!(shlex_split("h x='a").unwrap_err(), "no closing quotation");
        assert_eq!(
            shlex_split("h x=\\").unwrap_err(),
            "no escaped character after `\\`"
        );
        let t = shlex_split("  web1  port=22").unwrap();
        assert_eq!((t[0].start, t[1].start), (2, 8));
    }

    #[test]
    fn splitlines_like_python() {
        assert_eq!(py_splitlines("a\r\nb\rc\nd"), vec!["a", "b", "c", "d"]);
        assert_eq!(py_splitlines("a\n\nb\n"), vec!["a", "", "b"]);
    }
}
