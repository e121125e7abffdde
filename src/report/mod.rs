//! Rendering results for people (tables) and machines (JSON on stdout).

pub mod apply;
pub mod diff;
pub mod facts;
pub mod plan;
pub mod probe;
pub mod runs;
pub mod wrap;

/// `--color`: when to colour what sshfix prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set to anything non-empty
    /// (<https://no-color.org>).
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether a stream colours under this choice. Pure.
    pub fn decide(self, is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }
}

static COLOR: std::sync::OnceLock<ColorChoice> = std::sync::OnceLock::new();

/// Records `--color` for the whole run (the first call wins) and tells the
/// `console` crate (diff colours, progress styles) the same for stdout and
/// stderr.
pub fn init_color(choice: ColorChoice) {
    COLOR.get_or_init(|| choice);
    console::set_colors_enabled(color_stdout());
    console::set_colors_enabled_stderr(color_stderr());
}

fn color_for(is_terminal: bool) -> bool {
    COLOR
        .get()
        .copied()
        .unwrap_or(ColorChoice::Auto)
        .decide(is_terminal, std::env::var_os("NO_COLOR").as_deref())
}

/// Whether to colour what goes to stdout (`--color`, default `auto`).
pub fn color_stdout() -> bool {
    use std::io::IsTerminal;
    color_for(std::io::stdout().is_terminal())
}

/// Whether to colour what goes to stderr (`--color`, default `auto`).
pub fn color_stderr() -> bool {
    use std::io::IsTerminal;
    color_for(std::io::stderr().is_terminal())
}

/// The width prose is wrapped at when nothing says otherwise (output to a
/// file or a pipe).
pub const DEFAULT_WIDTH: usize = 80;

/// The narrowest width prose is wrapped at, whatever the terminal says.
const MIN_WIDTH: usize = 40;

/// The width to wrap prose at: `COLUMNS` when set to a number, else the
/// terminal's width when stdout is one, else [`DEFAULT_WIDTH`]; never below
/// 40 columns. Pure.
pub fn decide_width(columns: Option<&str>, terminal: Option<usize>) -> usize {
    columns
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .or(terminal)
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

/// The width to wrap what goes to stdout at (see [`decide_width`]).
pub fn width() -> usize {
    use std::io::IsTerminal;
    let terminal = std::io::stdout()
        .is_terminal()
        .then(|| console::Term::stdout().size_checked())
        .flatten()
        .map(|(_, cols)| usize::from(cols));
    decide_width(std::env::var("COLUMNS").ok().as_deref(), terminal)
}

/// How a table column is aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// The lines of a table (header first): columns as wide as their widest
/// cell (counted in characters), two spaces between them, no trailing
/// spaces. The reports of `probe`, `apply` and `runs` all lay out this way.
pub fn table_lines<const N: usize>(
    headers: [&str; N],
    align: [Align; N],
    rows: &[[String; N]],
) -> Vec<String> {
    let mut widths = headers.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let headers = headers.map(str::to_string);
    std::iter::once(&headers)
        .chain(rows)
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(widths.iter().zip(align))
                .map(|(cell, (&w, a))| match a {
                    Align::Left => format!("{cell:<w$}"),
                    Align::Right => format!("{cell:>w$}"),
                })
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::ColorChoice;
    use std::ffi::OsStr;

    #[test]
    fn width_follows_columns_then_the_terminal_then_80() {
        use super::decide_width;
        assert_eq!(decide_width(Some("132"), Some(100)), 132);
        assert_eq!(decide_width(Some("x"), Some(100)), 100);
        assert_eq!(decide_width(Some("0"), None), 80);
        assert_eq!(decide_width(None, None), 80);
        assert_eq!(decide_width(Some("10"), None), 40);
        assert_eq!(decide_width(None, Some(20)), 40);
    }

    #[test]
    fn color_choice_follows_the_flag_then_the_terminal_and_no_color() {
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        let cases = [
            (ColorChoice::Auto, true, None, true),
            (ColorChoice::Auto, false, None, false),
            (ColorChoice::Auto, true, set, false),
            // NO_COLOR set but empty does not count (no-color.org)
            (ColorChoice::Auto, true, empty, true),
            (ColorChoice::Always, false, set, true),
            (ColorChoice::Never, true, None, false),
        ];
        for (choice, tty, no_color, want) in cases {
            assert_eq!(
                choice.decide(tty, no_color),
                want,
                "{choice:?} {tty} {no_color:?}"
            );
        }
    }
}
