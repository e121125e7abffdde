//! Word wrapping of Markdown-ish prose for the terminal and for the generated
//! `docs/findings.md`. Pure.
//!
//! A code span (`` `…` ``) is one unbreakable word and keeps its spaces, so
//! commands stay whole for copying; a line never starts with something
//! Markdown would read as a list item or heading.

/// Splits text into words; whitespace inside a code span belongs to the word.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_code = false;
    for ch in text.chars() {
        if ch == '`' {
            in_code = !in_code;
            cur.push(ch);
        } else if ch.is_whitespace() && !in_code {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(ch);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Would Markdown read a line starting with `word` as a block marker?
fn is_block_marker(word: &str) -> bool {
    matches!(word, "-" | "+" | "*" | ">" | "|")
        || word.starts_with('#')
        || (word.ends_with('.') || word.ends_with(')'))
            && word.len() > 1
            && word[..word.len() - 1].chars().all(|c| c.is_ascii_digit())
}

/// Fills `text` into lines of at most `width` columns (a longer word gets a
/// line of its own), the first starting with `first`, the others with
/// `rest`. `width` `None`: one line.
pub fn fill(text: &str, width: Option<usize>, first: &str, rest: &str) -> Vec<String> {
    let words = words(text);
    let mut lines: Vec<String> = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    let cols = |s: &str| s.chars().count();
    for w in &words {
        if empty {
            line.push_str(w);
            empty = false;
            continue;
        }
        let fits = width.is_none_or(|width| cols(&line) + 1 + cols(w) <= width);
        // keep a word that would start a line as a Markdown marker on this line
        if fits || is_block_marker(w) {
            line.push(' ');
            line.push_str(w);
        } else {
            lines.push(std::mem::replace(&mut line, rest.to_string()));
            line.push_str(w);
        }
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_are_not_broken_and_keep_their_spaces() {
        let text = "see `avc:  denied  { x }` and `a b` here";
        assert_eq!(
            words(text),
            ["see", "`avc:  denied  { x }`", "and", "`a b`", "here"]
        );
        let lines = fill(text, Some(12), "", "  ");
        assert_eq!(
            lines,
            ["see", "  `avc:  denied  { x }`", "  and `a b`", "  here"]
        );
    }

    #[test]
    fn no_line_starts_with_a_markdown_marker() {
        let lines = fill("aaaa bbbb - cccc 12. dddd # eeee", Some(9), "", "");
        for l in &lines[1..] {
            let first = l.split(' ').next().unwrap();
            assert!(!is_block_marker(first), "{lines:?}");
        }
        assert_eq!(lines.join(" "), "aaaa bbbb - cccc 12. dddd # eeee");
    }

    #[test]
    fn no_width_is_one_line() {
        assert_eq!(fill("a  b\nc", None, "> ", ""), ["> a b c"]);
    }
}
