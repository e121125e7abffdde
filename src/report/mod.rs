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
