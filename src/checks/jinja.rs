//! The Jinja environment checks run in: minijinja with strict undefined values,
//! a fuel and output budget, and the few Ansible filters and tests playbook
//! authors expect (`regex_search`, `regex_replace`, `regex_findall`, `bool`,
//! and the `version`, `match` and `search` tests).

use std::cmp::Ordering;
use std::io;

use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value};
use regex::{Regex, RegexBuilder};

/// Instructions one condition or template may execute before it is stopped
/// (minijinja's fuel). Generous for real checks (a loop over thousands of log
/// lines), small enough that a runaway template stops in well under a second.
pub(crate) const FUEL: u64 = 2_000_000;

/// Bytes one rendered template may produce.
pub(crate) const MAX_OUTPUT: usize = 1 << 20;

/// Nesting depth of calls (macros, includes) before rendering stops.
pub(crate) const RECURSION_LIMIT: usize = 100;

/// A new environment with sshfix's settings, filters and tests.
pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("bool", to_bool);
    env.add_filter("quote", quote_filter);
    env.add_test("version", version_test);
    env.add_test("match", match_test);
    env.add_test("search", search_test);
    env
}

/// A JSON value as a template value (objects keep their keys; numbers stay
/// integers when they are).
pub(crate) fn to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::from(()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(a) => Value::from(a.iter().map(to_value).collect::<Vec<_>>()),
        serde_json::Value::Object(m) => Value::from_pairs(
            m.iter()
                .map(|(k, v)| (Value::from(k.as_str()), to_value(v))),
        ),
    }
}

/// A minijinja error as one line: kind, detail, and the line inside the
/// template when the template has more than one.
pub(crate) fn describe(e: &Error, source: &str) -> String {
    let mut out = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    if let (Some(line), true) = (e.line(), source.contains('\n')) {
        out.push_str(&format!(" (template line {line})"));
    }
    let mut inner = std::error::Error::source(e);
    while let Some(s) = inner {
        out.push_str(&format!(": {s}"));
        inner = s.source();
    }
    out
}

/// An `io::Write` that refuses to grow past [`MAX_OUTPUT`] bytes.
pub(crate) struct CappedWriter {
    pub buf: Vec<u8>,
}

impl io::Write for CappedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT {
            return Err(io::Error::other(format!(
                "output longer than {MAX_OUTPUT} bytes"
            )));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// The text a filter works on: strings as they are, numbers and booleans as
/// printed; anything else is an error (Ansible would print a Python repr).
fn text_of(filter: &str, v: &Value) -> Result<String, Error> {
    if let Some(s) = v.as_str() {
        return Ok(s.to_string());
    }
    match v.kind() {
        minijinja::value::ValueKind::Number | minijinja::value::ValueKind::Bool => {
            Ok(v.to_string())
        }
        k => Err(invalid(format!("`{filter}` needs a string, got {k}"))),
    }
}

/// Compiles a pattern with Ansible's `ignorecase` / `multiline` keyword arguments.
fn compile(filter: &str, pattern: &str, kwargs: &Kwargs) -> Result<Regex, Error> {
    let ignorecase: Option<bool> = kwargs.get("ignorecase")?;
    let multiline: Option<bool> = kwargs.get("multiline")?;
    RegexBuilder::new(pattern)
        .case_insensitive(ignorecase.unwrap_or(false))
        .multi_line(multiline.unwrap_or(false))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            // The regex crate's message is several lines (pattern, caret, error); keep the last.
            let text = e.to_string();
            let last = text.lines().last().unwrap_or("").trim();
            let why = last.strip_prefix("error: ").unwrap_or(last);
            invalid(format!(
                "`{filter}`: invalid regular expression `{pattern}`: {why}"
            ))
        })
}

/// `value | regex_search(pattern, *groups, ignorecase=false, multiline=false)`:
/// the first match, or `none`; with group arguments (`'\\1'`, `'\\g<name>'`)
/// the list of those groups of the first match.
fn regex_search(
    value: Value,
    pattern: String,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let text = text_of("regex_search", &value)?;
    let re = compile("regex_search", &pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let Some(caps) = re.captures(&text) else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::new();
    for g in groups.iter() {
        let m = if let Some(n) = g.strip_prefix('\\').and_then(|n| n.parse::<usize>().ok()) {
            caps.get(n)
        } else if let Some(name) = g.strip_prefix("\\g<").and_then(|r| r.strip_suffix('>')) {
            match name.parse::<usize>() {
                Ok(n) => caps.get(n),
                Err(_) => caps.name(name),
            }
        } else {
            return Err(invalid(format!(
                "`regex_search`: unknown group argument `{g}` (use '\\\\1' or '\\\\g<name>')"
            )));
        };
        out.push(m.map_or(Value::from(()), |m| Value::from(m.as_str())));
    }
    Ok(Value::from(out))
}

/// Python's replacement syntax (`\1`, `\g<1>`, `\g<name>`) as the regex
/// crate's (`${1}`, `${name}`), with literal `$` escaped.
fn python_replacement(rep: &str) -> String {
    let mut out = String::new();
    let mut chars = rep.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        n.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{n}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

/// `value | regex_replace(pattern, replacement='', ignorecase=false,
/// multiline=false, count=0)`: Python's `re.sub`.
fn regex_replace(
    value: Value,
    pattern: String,
    replacement: Option<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let text = text_of("regex_replace", &value)?;
    let re = compile("regex_replace", &pattern, &kwargs)?;
    let count: Option<usize> = kwargs.get("count")?;
    kwargs.assert_all_used()?;
    let rep = python_replacement(replacement.as_deref().unwrap_or(""));
    Ok(Value::from(
        re.replacen(&text, count.unwrap_or(0), rep.as_str())
            .into_owned(),
    ))
}

/// `value | regex_findall(pattern, ignorecase=false, multiline=false)`:
/// Python's `re.findall` — the matches; with one group, that group of each
/// match; with several, a list of the groups for each match.
fn regex_findall(value: Value, pattern: String, kwargs: Kwargs) -> Result<Value, Error> {
    let text = text_of("regex_findall", &value)?;
    let re = compile("regex_findall", &pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let groups = re.captures_len() - 1;
    let group = |m: Option<regex::Match>| Value::from(m.map_or("", |m| m.as_str()));
    let out: Vec<Value> = re
        .captures_iter(&text)
        .map(|c| match groups {
            0 => group(c.get(0)),
            1 => group(c.get(1)),
            n => Value::from((1..=n).map(|i| group(c.get(i))).collect::<Vec<_>>()),
        })
        .collect();
    Ok(Value::from(out))
}

/// Ansible's `quote`: one word for the host's shell, through the one
/// quoting function (`crate::transport::quote`). Fix tasks that build a
/// `command` from facts must quote every value they insert.
fn quote_filter(value: Value) -> Result<String, Error> {
    let s = match value.as_str() {
        Some(s) => s.to_string(),
        None if value.is_undefined() || value.is_none() => {
            return Err(invalid("quote: the value is undefined or none"))
        }
        None => value.to_string(),
    };
    crate::transport::quote::quote(&s, "a value given to `quote`")
        .map(|q| q.into_owned())
        .map_err(|e| invalid(format!("quote: {e}")))
}

/// `value | bool`: Ansible's truthiness of configuration words. `yes`, `on`,
/// `true`, `1` (any case, surrounding blanks ignored) are true; `no`, `off`,
/// `false`, `0` and the empty string are false; so are `none` and the numbers
/// 1 and 0. Anything else is an error rather than a silent `false`.
fn to_bool(value: Value) -> Result<bool, Error> {
    if value.is_none() {
        return Ok(false);
    }
    if value.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    if let Ok(b) = bool::try_from(value.clone()) {
        if value.kind() == minijinja::value::ValueKind::Bool {
            return Ok(b);
        }
    }
    if let Some(i) = value.as_i64() {
        return match i {
            1 => Ok(true),
            0 => Ok(false),
            _ => Err(invalid(format!("`bool`: cannot read {i} as a boolean"))),
        };
    }
    if let Some(s) = value.as_str() {
        return match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "on" | "true" | "1" | "y" | "t" => Ok(true),
            "no" | "off" | "false" | "0" | "n" | "f" | "" => Ok(false),
            _ => Err(invalid(format!("`bool`: cannot read {s:?} as a boolean"))),
        };
    }
    Err(invalid(format!(
        "`bool`: cannot read a {} as a boolean",
        value.kind()
    )))
}

/// One component of a version: a number or a run of letters.
#[derive(Debug, PartialEq, Eq)]
enum Part {
    Num(u64),
    Alpha(String),
}

impl PartialOrd for Part {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Part {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Part::Num(a), Part::Num(b)) => a.cmp(b),
            (Part::Alpha(a), Part::Alpha(b)) => a.cmp(b),
            (Part::Num(_), Part::Alpha(_)) => Ordering::Less,
            (Part::Alpha(_), Part::Num(_)) => Ordering::Greater,
        }
    }
}

/// Splits a version like Python's `LooseVersion`: runs of digits (numbers)
/// and runs of letters; every other character separates. `9.2p1` is
/// `[9, 2, "p", 1]`, so `9.2p1 < 9.8 < 9.8p1`.
fn version_parts(s: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, parts: &mut Vec<Part>| {
        if cur.is_empty() {
            return;
        }
        let p = match cur.parse::<u64>() {
            Ok(n) => Part::Num(n),
            Err(_) if cur.bytes().all(|b| b.is_ascii_digit()) => Part::Num(u64::MAX),
            Err(_) => Part::Alpha(cur.clone()),
        };
        parts.push(p);
        cur.clear();
    };
    for c in s.chars() {
        let same = cur
            .chars()
            .next()
            .is_some_and(|f| f.is_ascii_digit() == c.is_ascii_digit());
        if c.is_ascii_alphanumeric() {
            if !same {
                flush(&mut cur, &mut parts);
            }
            cur.push(c);
        } else {
            flush(&mut cur, &mut parts);
        }
    }
    flush(&mut cur, &mut parts);
    parts
}

/// `value is version(other, operator='==')`: compares versions as Ansible's
/// default (`loose`) version type does. Operators: `==` `=` `eq`, `!=` `<>`
/// `ne`, `<` `lt`, `<=` `le`, `>` `gt`, `>=` `ge`.
fn version_test(value: Value, other: Value, op: Option<String>) -> Result<bool, Error> {
    let a = text_of("version", &value)?;
    let b = text_of("version", &other)?;
    if a.trim().is_empty() {
        return Err(invalid("`version`: the value is an empty string"));
    }
    let ord = version_parts(&a).cmp(&version_parts(&b));
    let op = op.unwrap_or_else(|| "==".into());
    Ok(match op.as_str() {
        "==" | "=" | "eq" => ord == Ordering::Equal,
        "!=" | "<>" | "ne" => ord != Ordering::Equal,
        "<" | "lt" => ord == Ordering::Less,
        "<=" | "le" => ord != Ordering::Greater,
        ">" | "gt" => ord == Ordering::Greater,
        ">=" | "ge" => ord != Ordering::Less,
        other => {
            return Err(invalid(format!(
                "`version`: unknown operator {other:?} (use one of == != < <= > >=)"
            )))
        }
    })
}

/// `value is match(pattern, ignorecase=false, multiline=false)`: the pattern
/// matches at the start of the value (Python's `re.match`).
fn match_test(value: Value, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    let text = text_of("match", &value)?;
    let re = compile("match", &pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    // The leftmost match starts at 0 exactly when some match does.
    Ok(re.find(&text).is_some_and(|m| m.start() == 0))
}

/// `value is search(pattern, ignorecase=false, multiline=false)`: the pattern
/// matches anywhere in the value (Python's `re.search`).
fn search_test(value: Value, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    let text = text_of("search", &value)?;
    let re = compile("search", &pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    Ok(re.is_match(&text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(expr: &str, ctx: serde_json::Value) -> Result<Value, String> {
        let env = environment();
        let e = env.compile_expression(expr).map_err(|e| e.to_string())?;
        e.eval(to_value(&ctx)).map_err(|e| describe(&e, expr))
    }

    fn t(expr: &str) -> Value {
        eval(expr, json!({})).unwrap()
    }

    #[test]
    fn regex_search_like_ansible() {
        assert_eq!(
            t("'OpenSSH_9.2p1 Debian' | regex_search('[0-9.]+p[0-9]+')"),
            Value::from("9.2p1")
        );
        assert!(t("'abc' | regex_search('x')").is_none());
        assert_eq!(
            t(
                r"'drop connection #0 from [10.0.0.1]:22' | regex_search('from \\[([^]]+)\\]:(?P<port>\\d+)', '\\1', '\\g<port>')"
            ),
            Value::from(vec!["10.0.0.1", "22"])
        );
        assert_eq!(
            t("'ABC' | regex_search('b', ignorecase=true)"),
            Value::from("B")
        );
        let e = eval("'a' | regex_search('(')", json!({})).unwrap_err();
        assert!(e.contains("invalid regular expression"), "{e}");
        let e = eval("[1] | regex_search('a')", json!({})).unwrap_err();
        assert!(e.contains("needs a string"), "{e}");
    }

    #[test]
    fn regex_replace_uses_python_groups() {
        assert_eq!(
            t(r"'sshd: ALL' | regex_replace('^(\\w+):\\s*(?P<who>.*)$', '\\g<who> -> \\1 $x')"),
            Value::from("ALL -> sshd $x")
        );
        assert_eq!(
            t("'a-b-c' | regex_replace('-', '', count=1)"),
            Value::from("ab-c")
        );
        assert_eq!(t("'a-b-c' | regex_replace('-')"), Value::from("abc"));
    }

    #[test]
    fn regex_findall_like_python() {
        assert_eq!(
            t("'a1 b22 c' | regex_findall('[0-9]+')"),
            Value::from(vec!["1", "22"])
        );
        assert_eq!(
            t("'a1 b22' | regex_findall('([a-z])[0-9]')"),
            Value::from(vec!["a", "b"])
        );
        assert_eq!(
            t("'a1 b2' | regex_findall('([a-z])([0-9])')"),
            Value::from(vec![
                Value::from(vec!["a", "1"]),
                Value::from(vec!["b", "2"])
            ])
        );
        assert_eq!(t("'' | regex_findall('x') | length"), Value::from(0));
        assert_eq!(
            t("'A\\nb' | regex_findall('^[a-z]$', multiline=true, ignorecase=true) | length"),
            Value::from(2)
        );
    }

    #[test]
    fn bool_filter_reads_configuration_words() {
        for (s, b) in [
            ("yes", true),
            ("On", true),
            ("1", true),
            (" TRUE ", true),
            ("no", false),
            ("off", false),
            ("0", false),
            ("", false),
            ("False", false),
        ] {
            assert_eq!(
                eval("v | bool", json!({"v": s})).unwrap(),
                Value::from(b),
                "{s}"
            );
        }
        assert_eq!(
            eval("v | bool", json!({"v": 1})).unwrap(),
            Value::from(true)
        );
        assert_eq!(
            eval("v | bool", json!({"v": false})).unwrap(),
            Value::from(false)
        );
        assert_eq!(
            eval("v | bool", json!({"v": null})).unwrap(),
            Value::from(false)
        );
        let e = eval("v | bool", json!({"v": "maybe"})).unwrap_err();
        assert!(e.contains("cannot read \"maybe\" as a boolean"), "{e}");
        assert!(eval("v | bool", json!({"v": 7})).is_err());
        assert!(eval("v | bool", json!({"v": [1]})).is_err());
    }

    #[test]
    fn version_test_orders_openssh_versions() {
        let yes = |e: &str| assert_eq!(t(e), Value::from(true), "{e}");
        let no = |e: &str| assert_eq!(t(e), Value::from(false), "{e}");
        yes("'9.2p1' is version('9.8', '<')");
        yes("'9.8p1' is version('9.8', '>=')");
        yes("'9.8p1' is version('9.8', 'gt')");
        no("'9.8' is version('9.8p1', '>=')");
        yes("'10.0p2' is version('9.9', '>')");
        yes("'9.8' is version('9.8')");
        yes("'7.4' is version(7.4, 'eq')");
        no("'9.10' is version('9.9', '<')");
        yes("'9.2p1' is version('9.2p2', 'lt')");
        let e = eval("'1' is version('2', '~')", json!({})).unwrap_err();
        assert!(e.contains("unknown operator"), "{e}");
    }

    #[test]
    fn match_and_search_tests() {
        assert_eq!(t("'sshd: ALL' is match('sshd')"), Value::from(true));
        assert_eq!(t("'x sshd' is match('sshd')"), Value::from(false));
        assert_eq!(t("'x sshd' is search('sshd')"), Value::from(true));
        assert_eq!(
            t("'x SSHD' is search('sshd', ignorecase=true)"),
            Value::from(true)
        );
    }

    #[test]
    fn fuel_stops_runaway_loops() {
        let env = environment();
        let tmpl = env
            .template_from_str(
                "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            )
            .unwrap();
        let started = std::time::Instant::now();
        let e = tmpl.render(()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OutOfFuel);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn recursion_is_limited() {
        let env = environment();
        let tmpl = env
            .template_from_str("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
            .unwrap();
        let e = tmpl.render(()).unwrap_err();
        assert!(describe(&e, "").contains("recursion"), "{e}");
    }

    #[test]
    fn json_values_convert() {
        let v =
            to_value(&json!({"a": [1, 2.5, "x", null, true], "b": {"c": 18446744073709551615u64}}));
        assert_eq!(v.get_attr("a").unwrap().len(), Some(5));
        assert!(v
            .get_attr("a")
            .unwrap()
            .get_item(&Value::from(3))
            .unwrap()
            .is_none());
        assert_eq!(
            v.get_attr("b").unwrap().get_attr("c").unwrap().to_string(),
            "18446744073709551615"
        );
    }
}
