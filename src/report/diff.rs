//! Edits rendered as unified diffs (`similar`): plain text for the plan JSON, Markdown and snapshots, coloured for a terminal.

use console::Style;
use similar::TextDiff;

use crate::change::Edit;

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// The edit as a unified diff, `--- a/etc/hosts.allow` / `+++ b/etc/hosts.allow`
/// (`--- /dev/null` for a new file), 3 lines of context, `\ No newline at end
/// of file` where a side lacks one. Bytes that are not UTF-8 are shown as
/// `\xNN`, so a change to them is visible; line endings are kept as they are
/// (a CRLF file's lines end in `\r`). Empty when the edit changes nothing.
pub fn unified(edit: &Edit) -> String {
    let old = edit.before.as_deref().map(visible).unwrap_or_default();
    let new = visible(&edit.after);
    let rel = edit.path.trim_start_matches('/');
    let a = match edit.before {
        Some(_) => format!("a/{rel}"),
        None => "/dev/null".to_string(),
    };
    let b = format!("b/{rel}");
    let diff = TextDiff::from_lines(old.as_str(), new.as_str());
    diff.unified_diff()
        .context_radius(CONTEXT)
        .header(&a, &b)
        .to_string()
}

/// `bytes` as text with every byte that is not UTF-8 written `\xNN`.
fn visible(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// [`unified`] for a terminal: with `color`, headers bold, hunk lines cyan,
/// removals red, additions green. A carriage return ending a line is shown
/// as `␍` so that CRLF files stay readable; other control characters from
/// the host's files (an escape sequence, a carriage return inside a line)
/// are shown as `^[`-style escapes, never sent to the terminal.
pub fn for_terminal(edit: &Edit, color: bool) -> String {
    let text = unified(edit);
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        let (body, cr) = match body.strip_suffix('\r') {
            Some(b) => (b, "␍"),
            None => (body, ""),
        };
        let mut shown = String::with_capacity(body.len());
        for c in body.chars() {
            match c {
                '\t' => shown.push('\t'),
                c if (c as u32) < 0x20 => {
                    shown.push('^');
                    shown.push(char::from(b'@' + c as u8));
                }
                '\u{7f}' => shown.push_str("^?"),
                c if c.is_control() => shown.push_str(&format!("\\u{{{:x}}}", c as u32)),
                c => shown.push(c),
            }
        }
        let body = format!("{shown}{cr}");
        let style = if !color {
            Style::new()
        } else if body.starts_with("--- ") || body.starts_with("+++ ") {
            Style::new().bold()
        } else if body.starts_with("@@") {
            Style::new().cyan()
        } else if body.starts_with('-') {
            Style::new().red()
        } else if body.starts_with('+') {
            Style::new().green()
        } else {
            Style::new()
        };
        out.push_str(&style.force_styling(color).apply_to(body).to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Validator;

    fn edit(before: Option<&str>, after: &str) -> Edit {
        Edit::new(
            "/etc/hosts.allow",
            before.map(str::as_bytes),
            after.as_bytes().to_vec(),
            Validator::None,
            "tcp-wrappers-deny",
            "r",
        )
    }

    #[test]
    fn a_changed_file() {
        let e = edit(Some("a\nb\nc\n"), "a\nsshd: 10.0.0.1\nb\nc\n");
        assert_eq!(
            unified(&e),
            "--- a/etc/hosts.allow\n+++ b/etc/hosts.allow\n@@ -1,3 +1,4 @@\n a\n+sshd: 10.0.0.1\n b\n c\n"
        );
    }

    #[test]
    fn a_new_file_and_a_missing_newline() {
        let e = edit(None, "sshd: 10.0.0.1\n");
        assert_eq!(
            unified(&e),
            "--- /dev/null\n+++ b/etc/hosts.allow\n@@ -0,0 +1 @@\n+sshd: 10.0.0.1\n"
        );
        let e = edit(Some("x"), "x\ny\n");
        assert!(unified(&e).contains("\\ No newline at end of file"));
    }

    #[test]
    fn bytes_that_are_not_utf8_stay_visible() {
        let e = Edit::new(
            "/etc/hosts.allow",
            Some(b"# Ge\xe4ndert\n"),
            b"# Ge\xef\xbf\xbdndert\nsshd: 10.0.0.1\n".to_vec(),
            Validator::None,
            "f",
            "r",
        );
        let d = unified(&e);
        assert!(d.contains("-# Ge\\xe4ndert\n"), "{d}");
        assert!(d.contains("+# Ge\u{fffd}ndert\n"), "{d}");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let e = edit(Some("a\n"), "a\n\u{1b}[2J\rX\n");
        let t = for_terminal(&e, false);
        assert!(!t.contains('\u{1b}') && !t.contains('\r'), "{t:?}");
        assert!(t.contains("+^[[2J^M"), "{t:?}");
    }

    #[test]
    fn no_change_is_empty() {
        assert_eq!(unified(&edit(Some("a\n"), "a\n")), "");
    }

    #[test]
    fn terminal_colours_only_when_asked_and_shows_carriage_returns() {
        let e = edit(Some("a\r\n"), "a\r\nb\r\n");
        let plain = for_terminal(&e, false);
        assert!(!plain.contains('\u{1b}'));
        assert!(plain.contains("+b␍\n"), "{plain}");
        let col = for_terminal(&e, true);
        assert!(col.contains("\u{1b}[32m+b␍"), "{col:?}");
    }
}
