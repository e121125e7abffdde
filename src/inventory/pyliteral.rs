//! Python literals as Ansible's INI inventories read them: `ast.literal_eval`
//! on each `key=value` value, then Ansible's coercions (tuples and sets become
//! lists, bytes become text, complex numbers and `...` stay text). A value that
//! is not a Python literal stays the string it was.

use serde_json::{Map, Number, Value};

/// What `InventoryModule._parse_value` makes of `text`.
pub(crate) fn parse_value(text: &str) -> Value {
    match literal_eval(text) {
        Some(v) => v.into_json(),
        None => Value::String(text.to_string()),
    }
}

/// A Python value that `ast.literal_eval` can produce.
#[derive(Debug, Clone, PartialEq)]
enum Py {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Complex(f64, f64),
    Str(String),
    Bytes(Vec<u8>),
    Ellipsis,
    List(Vec<Py>),
    Dict(Vec<(Py, Py)>),
}

impl Py {
    fn into_json(self) -> Value {
        match self {
            Py::None => Value::Null,
            Py::Bool(b) => Value::Bool(b),
            Py::Int(i) => int_json(i),
            Py::Float(f) => Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(float_repr(f, true))),
            Py::Complex(re, im) => Value::String(complex_str(re, im)),
            Py::Str(s) => Value::String(s),
            Py::Bytes(b) => Value::String(String::from_utf8_lossy(&b).into_owned()),
            Py::Ellipsis => Value::String("...".into()),
            Py::List(items) => Value::Array(items.into_iter().map(Py::into_json).collect()),
            Py::Dict(pairs) => {
                let mut map = Map::new();
                for (k, v) in pairs {
                    // json.dumps turns non-string keys into text.
                    let key = match k {
                        Py::Str(s) => s,
                        Py::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
                        Py::Int(i) => i.to_string(),
                        Py::Bool(true) => "true".into(),
                        Py::Bool(false) => "false".into(),
                        Py::None => "null".into(),
                        Py::Float(f) => float_repr(f, true),
                        other => format!("{other:?}"),
                    };
                    map.insert(key, v.into_json());
                }
                Value::Object(map)
            }
        }
    }

    fn hashable(&self) -> bool {
        !matches!(self, Py::List(_) | Py::Dict(_))
    }
}

fn int_json(i: i128) -> Value {
    if let Ok(v) = i64::try_from(i) {
        Value::from(v)
    } else if let Ok(v) = u64::try_from(i) {
        Value::from(v)
    } else {
        // What serde_json makes of the big integer Python prints.
        Value::from(i as f64)
    }
}

/// Python's `repr(float)` (`add_dot_0`) or the form inside `repr(complex)`.
pub(crate) fn float_repr(v: f64, add_dot_0: bool) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if v.is_sign_negative() { "-" } else { "" };
    let decpt = exp + 1;
    let body = if !(-3..=16).contains(&decpt) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let e = exp;
        format!(
            "{first}{frac}e{}{:02}",
            if e < 0 { '-' } else { '+' },
            e.unsigned_abs()
        )
    } else if decpt <= 0 {
        format!("0.{}{digits}", "0".repeat(decpt.unsigned_abs() as usize))
    } else {
        let d = decpt as usize;
        if digits.len() <= d {
            let int = format!("{digits}{}", "0".repeat(d - digits.len()));
            if add_dot_0 {
                format!("{int}.0")
            } else {
                int
            }
        } else {
            format!("{}.{}", &digits[..d], &digits[d..])
        }
    };
    format!("{sign}{body}")
}

/// Python's `str(complex)`.
fn complex_str(re: f64, im: f64) -> String {
    if re == 0.0 && re.is_sign_positive() {
        return format!("{}j", float_repr(im, false));
    }
    let im_s = float_repr(im, false);
    let im_s = if im_s.starts_with('-') {
        im_s
    } else {
        format!("+{im_s}")
    };
    format!("({}{im_s}j)", float_repr(re, false))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(Py),
    Str(Py),
    Name(String),
    Op(char),
    Ellipsis,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Tokenizes a Python expression; `None` on anything Python would reject
/// or that no literal contains.
fn tokenize(src: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut depth = 0usize;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\x0c' => i += 1,
            '\n' | '\r' if depth > 0 => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '\\' if matches!(chars.get(i + 1), Some('\n')) => i += 2,
            '(' | '[' | '{' => {
                depth += 1;
                // Python's parser gives up at 200 nested brackets (a SyntaxError).
                if depth > 200 {
                    return None;
                }
                toks.push(Tok::Op(c));
                i += 1;
            }
            ')' | ']' | '}' => {
                depth = depth.checked_sub(1)?;
                toks.push(Tok::Op(c));
                i += 1;
            }
            ',' | ':' | '+' | '-' => {
                toks.push(Tok::Op(c));
                i += 1;
            }
            '.' if chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') => {
                toks.push(Tok::Ellipsis);
                i += 3;
            }
            '.' if chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) => {
                let (tok, n) = number(&chars[i..])?;
                toks.push(tok);
                i += n;
            }
            d if d.is_ascii_digit() => {
                let (tok, n) = number(&chars[i..])?;
                toks.push(tok);
                i += n;
            }
            '\'' | '"' => {
                let (tok, n) = string(&chars[i..], "")?;
                toks.push(tok);
                i += n;
            }
            c if is_ident_start(c) => {
                let start = i;
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if matches!(chars.get(i), Some('\'' | '"')) {
                    let (tok, n) = string(&chars[i..], &word.to_ascii_lowercase())?;
                    toks.push(tok);
                    i += n;
                } else {
                    toks.push(Tok::Name(word));
                }
            }
            _ => return None,
        }
    }
    if depth != 0 {
        return None;
    }
    Some(toks)
}

/// Digits with single `_` separators; returns the digits without `_` and the length consumed.
fn digitpart(chars: &[char], radix: u32) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut i = 0;
    loop {
        match chars.get(i) {
            Some(c) if c.is_digit(radix) => {
                out.push(*c);
                i += 1;
            }
            Some('_') if !out.is_empty() && chars.get(i + 1).is_some_and(|c| c.is_digit(radix)) => {
                i += 1;
            }
            _ => break,
        }
    }
    if out.is_empty() {
        None
    } else {
        Some((out, i))
    }
}

fn number(chars: &[char]) -> Option<(Tok, usize)> {
    let followed_ok = |n: usize| !chars.get(n).is_some_and(|c| is_ident_char(*c) || *c == '.');
    // Radix prefixes.
    if chars[0] == '0' {
        let radix = match chars.get(1) {
            Some('x' | 'X') => Some(16),
            Some('o' | 'O') => Some(8),
            Some('b' | 'B') => Some(2),
            _ => None,
        };
        if let Some(radix) = radix {
            let mut i = 2;
            if chars.get(i) == Some(&'_') {
                i += 1;
            }
            let (digits, n) = digitpart(&chars[i..], radix)?;
            let end = i + n;
            if chars.get(end).is_some_and(|c| is_ident_char(*c)) {
                return None;
            }
            let v = i128::from_str_radix(&digits, radix).ok()?;
            return Some((Tok::Num(Py::Int(v)), end));
        }
    }
    let mut i = 0;
    let mut int_part = String::new();
    if chars[0] != '.' {
        let (d, n) = digitpart(chars, 10)?;
        int_part = d;
        i = n;
    }
    let mut is_float = false;
    let mut frac = String::new();
    if chars.get(i) == Some(&'.') {
        is_float = true;
        i += 1;
        if let Some((d, n)) = digitpart(&chars[i..], 10) {
            frac = d;
            i += n;
        }
        if int_part.is_empty() && frac.is_empty() {
            return None;
        }
    }
    let mut exp = String::new();
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        let mut sign = "";
        if matches!(chars.get(j), Some('+' | '-')) {
            sign = if chars[j] == '-' { "-" } else { "" };
            j += 1;
        }
        if let Some((d, n)) = digitpart(&chars[j..], 10) {
            is_float = true;
            exp = format!("e{sign}{d}");
            i = j + n;
        } else {
            return None;
        }
    }
    let imag = matches!(chars.get(i), Some('j' | 'J'));
    if imag {
        i += 1;
    }
    if !followed_ok(i) {
        return None;
    }
    let text = format!(
        "{}{}{}{}",
        if int_part.is_empty() { "0" } else { &int_part },
        if is_float || !frac.is_empty() {
            "."
        } else {
            ""
        },
        frac,
        exp
    );
    if imag {
        let v: f64 = text.parse().ok()?;
        return Some((Tok::Num(Py::Complex(0.0, v)), i));
    }
    if is_float {
        let v: f64 = text.parse().ok()?;
        return Some((Tok::Num(Py::Float(v)), i));
    }
    // Decimal integers may not have leading zeros (except all zeros).
    if int_part.len() > 1 && int_part.starts_with('0') && int_part.chars().any(|c| c != '0') {
        return None;
    }
    let v = match int_part.parse::<i128>() {
        Ok(v) => Py::Int(v),
        Err(_) => Py::Float(int_part.parse::<f64>().ok()?),
    };
    Some((Tok::Num(v), i))
}

/// A string literal starting at `chars[0]` (a quote), with `prefix` already read.
fn string(chars: &[char], prefix: &str) -> Option<(Tok, usize)> {
    let (raw, bytes) = match prefix {
        "" | "u" => (false, false),
        "r" => (true, false),
        "b" => (false, true),
        "br" | "rb" => (true, true),
        _ => return None, // f-strings and unknown prefixes are not literals
    };
    let q = chars[0];
    let triple = chars.get(1) == Some(&q) && chars.get(2) == Some(&q);
    let mut i = if triple { 3 } else { 1 };
    let mut out = String::new();
    loop {
        let c = *chars.get(i)?;
        if c == q && (!triple || (chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q))) {
            i += if triple { 3 } else { 1 };
            break;
        }
        if c == '\n' && !triple {
            return None;
        }
        if bytes && !c.is_ascii() {
            return None;
        }
        if c == '\\' {
            let n = *chars.get(i + 1)?;
            if raw {
                out.push('\\');
                out.push(n);
                i += 2;
                continue;
            }
            i += 2;
            match n {
                '\n' => {}
                '\\' => out.push('\\'),
                '\'' => out.push('\''),
                '"' => out.push('"'),
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'v' => out.push('\x0b'),
                '0'..='7' => {
                    let mut v = n.to_digit(8)?;
                    for _ in 0..2 {
                        match chars.get(i).and_then(|c| c.to_digit(8)) {
                            Some(d) => {
                                v = v * 8 + d;
                                i += 1;
                            }
                            None => break,
                        }
                    }
                    if bytes {
                        out.push(char::from_u32(v & 0xff)?);
                    } else {
                        out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                    }
                }
                'x' => {
                    let h: String = chars.get(i..i + 2)?.iter().collect();
                    let v = u32::from_str_radix(&h, 16).ok()?;
                    if !h.chars().all(|c| c.is_ascii_hexdigit()) {
                        return None;
                    }
                    i += 2;
                    out.push(char::from_u32(v)?);
                }
                'u' | 'U' if !bytes => {
                    let len = if n == 'u' { 4 } else { 8 };
                    let h: String = chars.get(i..i + len)?.iter().collect();
                    if !h.chars().all(|c| c.is_ascii_hexdigit()) {
                        return None;
                    }
                    let v = u32::from_str_radix(&h, 16).ok()?;
                    if v > 0x10ffff {
                        return None;
                    }
                    i += len;
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
                'N' if !bytes => return None, // named escapes: not supported, left as text
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    let value = if bytes {
        // Octal/hex escapes in bytes are byte values, not code points.
        Py::Bytes(out.chars().map(|c| c as u32 as u8).collect())
    } else {
        Py::Str(out)
    };
    Some((Tok::Str(value), i))
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat(&mut self, op: char) -> bool {
        if self.peek() == Some(&Tok::Op(op)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// A possibly unparenthesised tuple: `1, 2`.
    fn top(&mut self) -> Option<Py> {
        let first = self.expr()?;
        if !self.eat(',') {
            return Some(first);
        }
        let mut items = vec![first];
        while self.peek().is_some() {
            items.push(self.expr()?);
            if !self.eat(',') {
                break;
            }
        }
        Some(Py::List(items))
    }

    /// `literal_eval`'s `_convert`: a literal, `+/-number`, or `real +/- imaginary`.
    /// The rest of a comma-separated sequence up to `close`: items, each
    /// followed by `,` except maybe the last (`a, b`, `a, b,`, or nothing).
    fn items_until(&mut self, close: char, items: &mut Vec<Py>) -> Option<()> {
        while !self.eat(close) {
            items.push(self.expr()?);
            if !self.eat(',') {
                return self.eat(close).then_some(());
            }
        }
        Some(())
    }

    fn expr(&mut self) -> Option<Py> {
        let left = self.unary()?;
        if let Some(Tok::Op(op @ ('+' | '-'))) = self.peek().cloned() {
            self.pos += 1;
            let right = self.unary()?;
            // Any further operator makes the tree invalid for literal_eval.
            if matches!(self.peek(), Some(Tok::Op('+' | '-'))) {
                return None;
            }
            let (Unary::Plain(l) | Unary::Signed(l)) = left;
            let re = match l {
                Py::Int(i) => i as f64,
                Py::Float(f) => f,
                _ => return None,
            };
            return match right {
                Unary::Plain(Py::Complex(_, im)) => {
                    Some(Py::Complex(re, if op == '+' { im } else { -im }))
                }
                _ => None,
            };
        }
        match left {
            Unary::Plain(v) | Unary::Signed(v) => Some(v),
        }
    }

    fn unary(&mut self) -> Option<Unary> {
        if let Some(Tok::Op(op @ ('+' | '-'))) = self.peek().cloned() {
            self.pos += 1;
            // The operand must be a number constant (possibly parenthesised).
            let operand = self.atom()?;
            let v = match operand {
                Py::Int(i) => Py::Int(if op == '-' { i.checked_neg()? } else { i }),
                Py::Float(f) => Py::Float(if op == '-' { -f } else { f }),
                Py::Complex(re, im) => {
                    if op == '-' {
                        Py::Complex(-re, -im)
                    } else {
                        Py::Complex(re, im)
                    }
                }
                _ => return None,
            };
            return Some(Unary::Signed(v));
        }
        self.atom().map(Unary::Plain)
    }

    fn atom(&mut self) -> Option<Py> {
        let tok = self.peek()?.clone();
        self.pos += 1;
        match tok {
            Tok::Num(n) => Some(n),
            Tok::Ellipsis => Some(Py::Ellipsis),
            Tok::Str(first) => {
                let mut acc = first;
                while let Some(Tok::Str(next)) = self.peek().cloned() {
                    self.pos += 1;
                    acc = match (acc, next) {
                        (Py::Str(a), Py::Str(b)) => Py::Str(a + &b),
                        (Py::Bytes(mut a), Py::Bytes(b)) => {
                            a.extend(b);
                            Py::Bytes(a)
                        }
                        _ => return None,
                    };
                }
                Some(acc)
            }
            Tok::Name(n) => match n.as_str() {
                "True" => Some(Py::Bool(true)),
                "False" => Some(Py::Bool(false)),
                "None" => Some(Py::None),
                "set" if self.peek() == Some(&Tok::Op('(')) => {
                    self.pos += 1;
                    self.eat(')').then_some(Py::List(Vec::new()))
                }
                _ => None,
            },
            Tok::Op('(') => {
                if self.eat(')') {
                    return Some(Py::List(Vec::new()));
                }
                let first = self.expr()?;
                if self.eat(')') {
                    return Some(first);
                }
                if !self.eat(',') {
                    return None;
                }
                let mut items = vec![first];
                self.items_until(')', &mut items)?;
                Some(Py::List(items))
            }
            Tok::Op('[') => {
                let mut items = Vec::new();
                self.items_until(']', &mut items)?;
                Some(Py::List(items))
            }
            Tok::Op('{') => {
                if self.eat('}') {
                    return Some(Py::Dict(Vec::new()));
                }
                let first = self.expr()?;
                if self.eat(':') {
                    let v = self.expr()?;
                    let mut pairs = vec![(first, v)];
                    loop {
                        if self.eat('}') {
                            break;
                        }
                        if !self.eat(',') {
                            return None;
                        }
                        if self.eat('}') {
                            break;
                        }
                        let k = self.expr()?;
                        if !self.eat(':') {
                            return None;
                        }
                        pairs.push((k, self.expr()?));
                    }
                    if !pairs.iter().all(|(k, _)| k.hashable()) {
                        return None;
                    }
                    // Python dicts: the last value wins, the first position stays.
                    let mut out: Vec<(Py, Py)> = Vec::new();
                    for (k, v) in pairs {
                        match out.iter_mut().find(|(ek, _)| *ek == k) {
                            Some(slot) => slot.1 = v,
                            None => out.push((k, v)),
                        }
                    }
                    Some(Py::Dict(out))
                } else {
                    // A set: becomes a list (duplicates dropped).
                    let mut items = vec![first];
                    if !self.eat('}') {
                        if !self.eat(',') {
                            return None;
                        }
                        self.items_until('}', &mut items)?;
                    }
                    if !items.iter().all(Py::hashable) {
                        return None;
                    }
                    let mut out: Vec<Py> = Vec::new();
                    for i in items {
                        if !out.contains(&i) {
                            out.push(i);
                        }
                    }
                    Some(Py::List(out))
                }
            }
            _ => None,
        }
    }
}

enum Unary {
    Plain(Py),
    Signed(Py),
}

/// `ast.literal_eval(text)`, or `None` where Python raises ValueError/SyntaxError.
fn literal_eval(text: &str) -> Option<Py> {
    let src = text.trim_start_matches([' ', '\t']);
    let toks = tokenize(src)?;
    if toks.is_empty() {
        return None;
    }
    let mut p = Parser { toks, pos: 0 };
    let v = p.top()?;
    if p.pos != p.toks.len() {
        return None;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_typed_as_ansible_ini() {
        let cases = [
            ("8080", json!(8080)),
            ("-5", json!(-5)),
            ("+5", json!(5)),
            ("True", json!(true)),
            ("False", json!(false)),
            ("None", json!(null)),
            ("true", json!("true")),
            ("yes", json!("yes")),
            ("1.5", json!(1.5)),
            ("1e3", json!(1000.0)),
            ("0x10", json!(16)),
            ("0o17", json!(15)),
            ("0b101", json!(5)),
            ("1_000", json!(1000)),
            ("010", json!("010")),
            ("00", json!(0)),
            ("'a b'", json!("a b")),
            ("\"a b\"", json!("a b")),
            ("'a' 'b'", json!("ab")),
            ("a b", json!("a b")),
            ("[1, 'two', None]", json!([1, "two", null])),
            ("(1, 2)", json!([1, 2])),
            ("1,2", json!([1, 2])),
            ("(1,)", json!([1])),
            ("()", json!([])),
            ("(5)", json!(5)),
            ("{'k': 'v', 1: 2}", json!({"k": "v", "1": 2})),
            ("{1, 2, 1}", json!([1, 2])),
            // Trailing commas are Python; doubled or missing commas are not
            // literals, so the text stays a string.
            ("{1,}", json!([1])),
            ("[1, 2,]", json!([1, 2])),
            ("(1, 2,)", json!([1, 2])),
            ("[]", json!([])),
            ("{1 2}", json!("{1 2}")),
            ("{1,,}", json!("{1,,}")),
            ("[1,,]", json!("[1,,]")),
            ("(1,,)", json!("(1,,)")),
            ("[1 2]", json!("[1 2]")),
            ("set()", json!([])),
            ("1j", json!("1j")),
            ("1+2j", json!("(1+2j)")),
            ("-1j", json!("(-0-1j)")),
            ("...", json!("...")),
            ("b'by'", json!("by")),
            ("r'\\d'", json!("\\d")),
            ("'\\n'", json!("\n")),
            ("'\\x41\\u00e9'", json!("Aé")),
            ("5 # comment", json!(5)),
            ("foo # comment", json!("foo # comment")),
            ("f'x'", json!("f'x'")),
            ("1 + 2", json!("1 + 2")),
            ("--1", json!("--1")),
            ("[1, 2][0]", json!("[1, 2][0]")),
            ("{[1]: 2}", json!("{[1]: 2}")),
            ("'unclosed", json!("'unclosed")),
            ("", json!("")),
            ("/usr/bin/python3", json!("/usr/bin/python3")),
            ("10.0.0.1", json!("10.0.0.1")),
            ("1.", json!(1.0)),
            (".5", json!(0.5)),
            ("1e400", json!("inf")),
            ("  7", json!(7)),
        ];
        for (input, want) in cases {
            assert_eq!(parse_value(input), want, "{input:?}");
        }
        let deep = "[".repeat(100_000);
        assert_eq!(parse_value(&deep), json!(deep));
    }

    #[test]
    fn float_repr_matches_python() {
        let cases = [
            (1.0, "1.0"),
            (1.5, "1.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (123456789.125, "123456789.125"),
        ];
        for (v, want) in cases {
            assert_eq!(float_repr(v, true), want, "{v}");
        }
    }
}
