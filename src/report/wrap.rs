//! Word wrapping of prose (plan reasons, `sshfix explain`, the generated
//! `docs/findings.md`) on `textwrap`, with two rules of our own. Pure.
//!
//! A code span (`` `…` ``) is one unbreakable word and keeps its spaces, so
//! commands stay whole for copying; a line never starts with something
//! Markdown would read as a list item or heading (the word stays on the line
//! before).

use textwrap::core::Word;
use textwrap::{wrap_algorithms::WrapAlgorithm, Options, WordSeparator, WordSplitter};

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

/// textwrap's words of a line whose words are joined by single spaces: a
/// space is a break only outside a code span and not before a block marker.
fn separate(line: &str) -> Box<dyn Iterator<Item = Word<'_>> + '_> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_code = false;
    for (i, ch) in line.char_indices() {
        match ch {
            '`' => in_code = !in_code,
            ' ' if !in_code => {
                let next = line[i + 1..].split(' ').next().unwrap_or("");
                if !is_block_marker(next) {
                    pieces.push(Word::from(&line[start..=i]));
                    start = i + 1;
                }
            }
            _ => {}
        }
    }
    if start < line.len() {
        pieces.push(Word::from(&line[start..]));
    }
    Box::new(pieces.into_iter())
}

/// Fills `text` into lines of at most `width` columns (a longer word gets a
/// line of its own), the first starting with `first`, the others with
/// `rest`; runs of whitespace, line ends included, count as one space.
/// `width` `None`: one line.
pub fn fill(text: &str, width: Option<usize>, first: &str, rest: &str) -> Vec<String> {
    let joined = words(text).join(" ");
    let Some(width) = width.filter(|_| !joined.is_empty()) else {
        return vec![format!("{first}{joined}")];
    };
    let options = Options::new(width)
        .initial_indent(first)
        .subsequent_indent(rest)
        .word_separator(WordSeparator::Custom(separate))
        .word_splitter(WordSplitter::NoHyphenation)
        .wrap_algorithm(WrapAlgorithm::FirstFit)
        .break_words(false);
    textwrap::wrap(&joined, options)
        .into_iter()
        .map(|l| l.into_owned())
        .collect()
}

/// Adds `text` to `out` filled to `width` (see [`fill`]), each line ended by
/// a line break.
pub fn push_filled(out: &mut String, text: &str, width: usize, first: &str, rest: &str) {
    for line in fill(text, Some(width), first, rest) {
        out.push_str(&line);
        out.push('\n');
    }
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
        assert_eq!(fill("", Some(10), "> ", ""), ["> "]);
    }

    #[test]
    fn lines_fit_and_words_are_kept_in_order() {
        let text = "sshd refused the connection because /etc/hosts.deny:3 `sshd: ALL` matches the client 10.77.0.1 before any line of /etc/hosts.allow";
        let lines = fill(text, Some(40), "    ", "      ");
        for l in &lines {
            assert!(l.chars().count() <= 40, "{l:?}");
        }
        assert!(lines[0].starts_with("    sshd"));
        assert!(lines[1..].iter().all(|l| l.starts_with("      ")));
        assert_eq!(words(&lines.join(" ")), words(text));
    }
}
