//! Host names in inventories: splitting a `host:port` suffix and expanding
//! `[x:y]` / `[x:y:step]` ranges, exactly as Ansible's `parse_address` and
//! `expand_hostname_range` do.

use std::sync::LazyLock;

use regex::Regex;

/// A numeric range `[1:10]` or `[1:10:2]` inside an IPv4 component.
const NUMERIC_RANGE: &str = r"\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]";
/// A hexadecimal range inside an IPv6 component.
const HEX_RANGE: &str = r"\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]";
/// A range inside a host name label.
const ALNUM_RANGE: &str = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]";

static BRACKETED_HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[(.+)\]:([0-9]+)$").expect("valid regex"));
static HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$").expect("valid regex"));
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    let c = format!(r"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{NUMERIC_RANGE})");
    Regex::new(&format!(r"(?i)^(?:{c}\.){{3}}{c}$")).expect("valid regex")
});
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    let c = format!(r"(?:[0-9a-f]{{1,4}}|{HEX_RANGE})");
    let v4 = format!(r"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{NUMERIC_RANGE})");
    let alts = [
        format!(r"(?:{c}:){{7}}{c}"),
        format!(r"(?:{c}:){{1,6}}:"),
        format!(r"(?:{c}:)(?::{c}){{1,6}}"),
        format!(r"(?:{c}:){{2}}(?::{c}){{1,5}}"),
        format!(r"(?:{c}:){{3}}(?::{c}){{1,4}}"),
        format!(r"(?:{c}:){{4}}(?::{c}){{1,3}}"),
        format!(r"(?:{c}:){{5}}(?::{c}){{1,2}}"),
        format!(r"(?:{c}:){{6}}(?::{c})"),
        format!(r":(?::{c}){{1,6}}"),
        format!(r"{c}?::"),
        format!(r"(?:{c}:){{6}}(?:{v4}\.){{3}}{v4}"),
        // Python's `$` binds only to this last alternative: kept as Ansible has it.
        format!(r"::(?:ffff:)?(?:{v4}\.){{3}}{v4}$"),
    ];
    Regex::new(&format!("(?i)^(?:{})", alts.join("|"))).expect("valid regex")
});
static HOSTNAME: LazyLock<Regex> = LazyLock::new(|| {
    // Ansible: `(?:\w|R)(?:[\w_-]|R)*(?<![_-])`; without look-behind: the last
    // element of a label is a word character other than `_`, or a range.
    let r = ALNUM_RANGE;
    let label = format!(r"(?:(?:[^\W_]|{r})|(?:\w|{r})(?:[\w-]|{r})*(?:[^\W_]|{r}))");
    Regex::new(&format!(r"(?i)^{label}(?:\.{label})*$")).expect("valid regex")
});

/// Splits `host[:port]` (or `[v6]:port`) the way Ansible's `parse_address`
/// does; `None` when the text is not a recognisable host identifier.
pub(crate) fn parse_address(address: &str) -> Option<(String, Option<u64>)> {
    let mut address = address.to_string();
    let mut port = None;
    for re in [&*BRACKETED_HOSTPORT, &*HOSTPORT] {
        if let Some(c) = re.captures(&address) {
            // Python int(): arbitrarily large; a port that does not fit is not one.
            let p = c[2].parse::<u64>().ok()?;
            let host = c[1].to_string();
            address = host;
            port = Some(p);
        }
    }
    if IPV4.is_match(&address) || IPV6.is_match(&address) || HOSTNAME.is_match(&address) {
        Some((address, port))
    } else {
        None
    }
}

/// Expands a host pattern (`web[01:03]:2222`) into host names and a port, as
/// Ansible's `_expand_hostpattern` does.
pub(crate) fn expand_hostpattern(pattern: &str) -> Result<(Vec<String>, Option<u64>), String> {
    let (name, port) = match parse_address(pattern) {
        Some((host, port)) => (host, port),
        None => (pattern.to_string(), None),
    };
    let names = if name.contains('[') {
        expand_range(&name, 0)?
    } else {
        vec![name]
    };
    Ok((names, port))
}

const ASCII_LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Parses an integer as Python's `int()` does for range bounds (sign, `_`, spaces).
fn py_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let v: i64 = digits.replace('_', "").parse().ok()?;
    Some(if neg { -v } else { v })
}

/// At most this many names from one pattern: a typo like `[1:99999999]`
/// should be an error, not an out-of-memory.
const MAX_EXPANSION: usize = 1_000_000;

/// `expand_hostname_range`: expands the first `[...]`, then recurses.
pub(crate) fn expand_range(line: &str, depth: usize) -> Result<Vec<String>, String> {
    if depth > 32 {
        return Err(format!("host pattern `{line}` has too many ranges"));
    }
    let Some(open) = line.find('[') else {
        return Ok(vec![line.to_string()]);
    };
    let head = &line[..open];
    let rest = &line[open + 1..];
    let Some(close) = rest.find(']') else {
        return Err(format!("host range in `{line}` has no closing `]`"));
    };
    let nrange = &rest[..close];
    let tail = &rest[close + 1..];
    if head.contains(']') || nrange.contains('[') {
        return Err(format!(
            "host pattern `{line}` has unbalanced brackets; write ranges as `name[1:3]`"
        ));
    }
    let bounds: Vec<&str> = nrange.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(format!(
            "host range `[{nrange}]` in `{line}` must be `[begin:end]` or `[begin:end:step]`"
        ));
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    let step_text = bounds.get(2).copied().unwrap_or("1");
    if end.is_empty() {
        return Err(format!(
            "host range `[{nrange}]` in `{line}` must specify an end value"
        ));
    }
    let width = if beg.starts_with('0') && beg.chars().count() > 1 {
        if beg.chars().count() != end.chars().count() {
            return Err(format!(
                "host range `[{nrange}]` in `{line}`: begin and end must have the same width (e.g. `[01:10]`)"
            ));
        }
        Some(beg.chars().count())
    } else {
        None
    };
    let fill = |s: String| match width {
        // Python's str.zfill: pad with zeros after any sign.
        Some(w) if s.chars().count() < w => {
            let pad = "0".repeat(w - s.chars().count());
            match s.strip_prefix(['-', '+']) {
                Some(rest) => format!("{}{pad}{rest}", &s[..1]),
                None => format!("{pad}{s}"),
            }
        }
        _ => s,
    };
    let bad_step = || {
        format!(
            "host range `[{nrange}]` in `{line}`: the step `{step_text}` is not a positive number"
        )
    };
    let seq: Vec<String> = match (ASCII_LETTERS.find(beg), ASCII_LETTERS.find(end)) {
        (Some(ib), Some(ie)) if !beg.is_empty() && py_int(step_text).is_some_and(|s| s != 0) => {
            if ib > ie {
                return Err(format!(
                    "host range `[{nrange}]` in `{line}` must have begin <= end"
                ));
            }
            let step = py_int(step_text).ok_or_else(bad_step)?;
            if step < 0 {
                Vec::new()
            } else {
                ASCII_LETTERS[ib..=ie]
                    .chars()
                    .step_by(step as usize)
                    .map(|c| c.to_string())
                    .collect()
            }
        }
        _ => {
            let b = py_int(beg);
            let e = py_int(end);
            let (Some(b), Some(e)) = (b, e) else {
                return Err(format!(
                    "host range `[{nrange}]` in `{line}`: bounds must be numbers (`[1:9]`) or single letters (`[a:f]`)"
                ));
            };
            let step = py_int(step_text).ok_or_else(bad_step)?;
            if step == 0 {
                return Err(bad_step());
            }
            // Python's range(b, e + 1, step).
            let stop = e.saturating_add(1);
            let mut out = Vec::new();
            let mut i = b;
            while (step > 0 && i < stop) || (step < 0 && i > stop) {
                if out.len() >= MAX_EXPANSION {
                    return Err(format!(
                        "host range `[{nrange}]` in `{line}` expands to more than {MAX_EXPANSION} names"
                    ));
                }
                out.push(i.to_string());
                match i.checked_add(step) {
                    Some(n) => i = n,
                    None => break,
                }
            }
            out
        }
    };
    let mut all = Vec::new();
    for r in seq {
        let name = format!("{head}{}{tail}", fill(r));
        if name.contains('[') {
            all.extend(expand_range(&name, depth + 1)?);
        } else {
            all.push(name);
        }
        if all.len() > MAX_EXPANSION {
            return Err(format!(
                "host pattern `{line}` expands to more than {MAX_EXPANSION} names"
            ));
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_like_ansible() {
        type Case<'a> = (&'a str, Option<(&'a str, Option<u64>)>);
        let cases: &[Case] = &[
            ("web1", Some(("web1", None))),
            ("web1:2222", Some(("web1", Some(2222)))),
            ("10.0.0.1:22", Some(("10.0.0.1", Some(22)))),
            ("[2001:db8::1]:22", Some(("2001:db8::1", Some(22)))),
            ("2001:db8::1", Some(("2001:db8::1", None))),
            ("web[01:03]", Some(("web[01:03]", None))),
            (
                "db-[a:f].example.com:22",
                Some(("db-[a:f].example.com", Some(22))),
            ),
            ("h_", None),
            ("h_:22", None),
            ("foo:bar", None),
            ("-web", None),
            ("_web", Some(("_web", None))),
            ("web_1", Some(("web_1", None))),
        ];
        for (input, want) in cases {
            let got = parse_address(input);
            let want = want.map(|(h, p)| (h.to_string(), p));
            assert_eq!(got, want, "{input}");
        }
    }

    #[test]
    fn ranges_expand_like_ansible() {
        let cases: &[(&str, &[&str])] = &[
            ("web[01:03]", &["web01", "web02", "web03"]),
            ("web[1:3]", &["web1", "web2", "web3"]),
            ("db-[a:c]", &["db-a", "db-b", "db-c"]),
            ("h[1:10:4]", &["h1", "h5", "h9"]),
            ("h[:2]", &["h0", "h1", "h2"]),
            ("r[1:2]c[a:b]", &["r1ca", "r1cb", "r2ca", "r2cb"]),
            ("x[Y:b]", &[]),
            ("x[y:B]", &["xy", "xz", "xA", "xB"]),
            ("h[3:1]", &[]),
        ];
        for (input, want) in cases {
            match expand_range(input, 0) {
                Ok(got) => assert_eq!(got, *want, "{input}"),
                Err(e) => assert!(want.is_empty(), "{input}: {e}"),
            }
        }
    }

    #[test]
    fn bad_ranges_are_errors() {
        let cases = [
            ("h[1:]", "host range `[1:]` in `h[1:]` must specify an end value"),
            ("h[01:100]", "host range `[01:100]` in `h[01:100]`: begin and end must have the same width (e.g. `[01:10]`)"),
            ("h[1:2", "host range in `h[1:2` has no closing `]`"),
            ("h[1]", "host range `[1]` in `h[1]` must be `[begin:end]` or `[begin:end:step]`"),
            ("h[1:3:0]", "host range `[1:3:0]` in `h[1:3:0]`: the step `0` is not a positive number"),
            ("h[b:a]", "host range `[b:a]` in `h[b:a]` must have begin <= end"),
        ];
        for (input, want) in cases {
            assert_eq!(expand_range(input, 0).unwrap_err(), want, "{input}");
        }
    }
}
