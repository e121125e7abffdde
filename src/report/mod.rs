//! Rendering results for people (tables) and machines (JSON on stdout).

pub mod apply;
pub mod diff;
pub mod facts;
pub mod plan;
pub mod probe;
pub mod runs;

/// Whether to colour what goes to stdout: only on a terminal, and never
/// with `NO_COLOR` set to anything non-empty (<https://no-color.org>).
pub fn color_stdout() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
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
