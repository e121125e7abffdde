//! Output made comparable across runs for snapshot tests: what changes from
//! run to run (times, pids, load addresses, run ids, the lab's directory) is
//! replaced by placeholders of the same width, so that column alignment is
//! still checked.

#![allow(dead_code)]

use regex::{Captures, Regex};

/// Digits (hex digits after `0x`) of each match of `re` become `fill`; units
/// and punctuation stay.
fn same_width(re: &str, text: &str, fill: char) -> String {
    Regex::new(re)
        .unwrap()
        .replace_all(text, |c: &Captures| {
            let m = &c[0];
            let hex_from = m.find("0x").map(|i| i + 2);
            m.char_indices()
                .map(|(i, ch)| {
                    let digit = match hex_from {
                        Some(from) if i >= from => ch.is_ascii_hexdigit(),
                        _ => ch.is_ascii_digit(),
                    };
                    if digit {
                        fill
                    } else {
                        ch
                    }
                })
                .collect::<String>()
        })
        .into_owned()
}

/// `text` with `lab_dir` as `[LAB]`, each of `ids` as `R…` of its width, a
/// duration ending a line (and a `TIME` header ending one) as `  [T]`, and
/// other durations (`0.02s`, `6.05 s`), timestamps, pids, library load addresses
/// and sshd's count of connections in progress (other trials connect) as
/// runs of `9`/`0` of the same width.
pub fn stable(text: &str, lab_dir: &str, ids: &[&str]) -> String {
    let mut text = text.replace(lab_dir, "[LAB]");
    for id in ids.iter().filter(|i| !i.is_empty()) {
        text = text.replace(id, &"R".repeat(id.chars().count()));
    }
    // a duration ending a table row (apply, rollback) and its header: the
    // number of digits would move the header
    let text = Regex::new(r"(?m) +\d+\.\d+s$")
        .unwrap()
        .replace_all(&text, "  [T]");
    let text = Regex::new(r"(?m) +TIME$")
        .unwrap()
        .replace_all(&text, "  TIME");
    let text = same_width(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d)?Z?", &text, '0');
    let text = same_width(r"\b\d+\.\d+ ?s\b", &text, '9');
    let text = same_width(r"\[listener\] \d+ of", &text, '9');
    let text = same_width(r"\bpid[ =]\d+", &text, '9');
    same_width(r"\(0x[0-9a-f]+\)", &text, '0')
}
