//! Host patterns (`--limit`) with the semantics of Ansible's
//! `InventoryManager`: `a:b` / `a,b` unions, `&` intersections, `!`
//! exclusions, shell globs, `~regex`, group names and `[i]` / `[i:j]`
//! subscripts.

use std::sync::LazyLock;

use indexmap::IndexSet;
use regex::Regex;

use super::address::parse_address;
use super::data::Data;
use super::InventoryError;

static SPLIT_COLON: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").expect("valid regex"));
static SUBSCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?s)(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$").expect("valid regex")
});

/// `split_host_pattern`: commas separate; otherwise colons do, unless the
/// whole pattern is one host address (IPv6, `host:port`, ranges).
pub(crate) fn split_host_pattern(pattern: &str) -> Vec<String> {
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else if parse_address(pattern).is_some() {
        vec![pattern.to_string()]
    } else {
        SPLIT_COLON
            .find_iter(pattern)
            .map(|m| m.as_str().to_string())
            .collect()
    };
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// `order_patterns`: plain patterns, then `&`, then `!`; `all` if no plain one.
fn order_patterns(patterns: Vec<String>) -> Vec<String> {
    let mut regular = Vec::new();
    let mut inter = Vec::new();
    let mut excl = Vec::new();
    for p in patterns {
        if p.starts_with('!') {
            excl.push(p);
        } else if p.starts_with('&') {
            inter.push(p);
        } else {
            regular.push(p);
        }
    }
    if regular.is_empty() {
        regular.push("all".into());
    }
    regular.into_iter().chain(inter).chain(excl).collect()
}

/// Python's `fnmatch.translate`, for the `regex` crate.
pub(crate) fn fnmatch_to_regex(pat: &str) -> String {
    let chars: Vec<char> = pat.chars().collect();
    let mut out = String::from("(?s)^(?:");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => {
                while chars.get(i) == Some(&'*') {
                    i += 1;
                }
                out.push_str(".*");
            }
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if chars.get(j) == Some(&'!') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str("\\[");
                } else {
                    let mut body: Vec<char> = chars[i..j].to_vec();
                    i = j + 1;
                    let negate = body.first() == Some(&'!');
                    if negate {
                        body.remove(0);
                    }
                    // Each character literal, except `-` between two characters.
                    let mut class = String::new();
                    for (k, ch) in body.iter().enumerate() {
                        if *ch == '-' && k > 0 && k + 1 < body.len() {
                            class.push('-');
                        } else {
                            class.push_str(&regex::escape(&ch.to_string()));
                        }
                    }
                    if class.is_empty() {
                        // `[!]` matches any character; `[]` cannot happen here.
                        out.push('.');
                    } else {
                        out.push('[');
                        if negate {
                            out.push('^');
                        }
                        out.push_str(&class);
                        out.push(']');
                    }
                }
            }
            other => out.push_str(&regex::escape(&other.to_string())),
        }
    }
    out.push_str(")$");
    out
}

/// Evaluates host patterns against the inventory.
pub(crate) struct Matcher<'a> {
    pub data: &'a Data,
}

impl Matcher<'_> {
    fn match_list<'n>(
        &self,
        names: impl Iterator<Item = &'n String>,
        pattern: &str,
    ) -> Result<Vec<&'n String>, InventoryError> {
        let re = match pattern.strip_prefix('~') {
            Some(re) => {
                // Python's re.match anchors at the start only.
                Regex::new(&format!("^(?:{re})")).map_err(|e| {
                    InventoryError::new(format!(
                        "host pattern `{pattern}` is not a valid regular expression: {}",
                        e.to_string().lines().last().unwrap_or_default().trim()
                    ))
                })?
            }
            None => Regex::new(&fnmatch_to_regex(pattern)).map_err(|e| {
                InventoryError::new(format!("host pattern `{pattern}` is not valid: {e}"))
            })?,
        };
        Ok(names.filter(|n| re.is_match(n)).collect())
    }

    /// `_enumerate_matches`: groups matching the pattern give all their
    /// hosts; hosts match when no group did or the pattern has glob/regex characters.
    fn enumerate(&self, pattern: &str) -> Result<Vec<String>, InventoryError> {
        let mut out: Vec<String> = Vec::new();
        let groups = self.match_list(self.data.groups.keys(), pattern)?;
        for g in &groups {
            out.extend(self.data.group_hosts(g));
        }
        if groups.is_empty() || pattern.starts_with('~') || pattern.contains(['.', '?', '*', '[']) {
            for h in self.match_list(self.data.hosts.keys(), pattern)? {
                out.push(h.clone());
            }
        }
        Ok(out)
    }

    /// `_match_one_pattern`, with its subscript.
    fn match_one(&self, pattern: &str) -> Result<Vec<String>, InventoryError> {
        let p = pattern.strip_prefix(['&', '!']).unwrap_or(pattern);
        if p.is_empty() {
            return Ok(Vec::new());
        }
        let (expr, sub) = split_subscript(p);
        let hosts = self.enumerate(&expr)?;
        let Some((start, end)) = sub else {
            return Ok(hosts);
        };
        if hosts.is_empty() {
            return Ok(hosts);
        }
        let len = hosts.len() as i128;
        match end {
            Some(end) if end != 0 => {
                let end = if end == -1 { len - 1 } else { end };
                let from = start.clamp(0, len) as usize;
                let to = (end + 1).clamp(0, len) as usize;
                Ok(if from < to {
                    hosts[from..to].to_vec()
                } else {
                    Vec::new()
                })
            }
            _ => {
                let idx = if start < 0 { len + start } else { start };
                if idx < 0 || idx >= len {
                    return Err(InventoryError::new(format!(
                        "no host matches the subscripted pattern `{p}`: it selects {} host(s)",
                        hosts.len()
                    )));
                }
                Ok(vec![hosts[idx as usize].clone()])
            }
        }
    }

    /// `_evaluate_patterns`.
    pub fn evaluate(&self, patterns: Vec<String>) -> Result<Vec<String>, InventoryError> {
        let mut hosts: Vec<String> = Vec::new();
        for p in order_patterns(patterns) {
            if self.data.hosts.contains_key(&p) {
                hosts.push(p);
                continue;
            }
            let that = self.match_one(&p)?;
            if p.starts_with('!') {
                let that: IndexSet<&String> = that.iter().collect();
                hosts.retain(|h| !that.contains(h));
            } else if p.starts_with('&') {
                let that: IndexSet<&String> = that.iter().collect();
                hosts.retain(|h| that.contains(h));
            } else {
                let existing: IndexSet<String> = hosts.iter().cloned().collect();
                hosts.extend(that.into_iter().filter(|h| !existing.contains(h)));
            }
        }
        Ok(hosts)
    }
}

/// `_split_subscript`: `web[1]`, `web[-1]`, `web[1:3]`, `web[2:]`.
/// Indices that overflow are clamped (they select nothing or fail as out of range).
fn split_subscript(pattern: &str) -> (String, Option<(i128, Option<i128>)>) {
    if pattern.starts_with('~') {
        return (pattern.to_string(), None);
    }
    let Some(m) = SUBSCRIPT.captures(pattern) else {
        return (pattern.to_string(), None);
    };
    let num = |s: &str| {
        s.parse::<i128>().unwrap_or(if s.starts_with('-') {
            i128::MIN / 2
        } else {
            i128::MAX / 2
        })
    };
    let expr = m[1].to_string();
    if let Some(idx) = m.get(2) {
        return (expr, Some((num(idx.as_str()), None)));
    }
    let start = num(&m[3]);
    let end = match m.get(5).map(|e| e.as_str()) {
        None | Some("") => -1,
        Some(e) => num(e),
    };
    (expr, Some((start, Some(end))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_ansible() {
        let cases: &[(&str, &[&str])] = &[
            ("web:&prod", &["web", "&prod"]),
            ("web,!db1", &["web", "!db1"]),
            ("a:b:c", &["a", "b", "c"]),
            ("web[1:3]", &["web[1:3]"]),
            ("web[0]:db", &["web[0]", "db"]),
            ("2001:db8::1", &["2001:db8::1"]),
            (" a , b ", &["a", "b"]),
            ("", &[]),
        ];
        for (input, want) in cases {
            assert_eq!(split_host_pattern(input), *want, "{input}");
        }
    }

    #[test]
    fn fnmatch_like_python() {
        let cases = [
            ("web*", "web12", true),
            ("web*", "db1", false),
            ("h?", "h1", true),
            ("h?", "h12", false),
            ("[ab]*", "app", true),
            ("[!ab]*", "app", false),
            ("[a-c]1", "b1", true),
            ("x[", "x[", true),
            ("a.b", "axb", false),
            ("a+b", "a+b", true),
        ];
        for (pat, name, want) in cases {
            let re = Regex::new(&fnmatch_to_regex(pat)).unwrap();
            assert_eq!(re.is_match(name), want, "{pat} vs {name}");
        }
    }

    #[test]
    fn subscripts_parsed() {
        assert_eq!(split_subscript("web[0]"), ("web".into(), Some((0, None))));
        assert_eq!(split_subscript("web[-1]"), ("web".into(), Some((-1, None))));
        assert_eq!(
            split_subscript("web[1:3]"),
            ("web".into(), Some((1, Some(3))))
        );
        assert_eq!(
            split_subscript("web[2:]"),
            ("web".into(), Some((2, Some(-1))))
        );
        assert_eq!(split_subscript("~web[0]"), ("~web[0]".into(), None));
    }
}
