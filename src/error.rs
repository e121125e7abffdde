//! Exit codes of the `sshfix` command and the top-level error that carries one.
//!
//! The codes are part of the user contract (`interface.md`): scripts branch on
//! them, so every failure path maps to exactly one of these.

use std::fmt;

/// The process exit codes of `interface.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success (for `plan --detailed-exitcode`: nothing to change).
    Success = 0,
    /// Usage, input or internal error; nothing was changed.
    Input = 1,
    /// `plan --detailed-exitcode`: changes pending; `apply`/`rollback`: some host failed.
    HostFailed = 2,
    /// Some host could not be reached by any path.
    Unreachable = 4,
    /// Stopped by Ctrl-C (after cleaning up every ssh process of the run).
    Interrupted = 130,
}

impl Exit {
    /// The numeric code handed to the operating system.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// An error that ends the command: a message for the operator, optional hints,
/// and the exit code it maps to.
#[derive(Debug)]
pub struct Fatal {
    pub message: String,
    pub hints: Vec<String>,
    pub exit: Exit,
}

impl Fatal {
    /// An input/usage error (exit 1).
    pub fn input(message: impl Into<String>) -> Self {
        Fatal {
            message: message.into(),
            hints: Vec::new(),
            exit: Exit::Input,
        }
    }

    /// Adds a `hint:` line shown under the message.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        for hint in &self.hints {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Fatal {}

impl From<anyhow::Error> for Fatal {
    fn from(e: anyhow::Error) -> Self {
        // `{:#}` prints the whole context chain on one line: "reading X: line 3: ...".
        Fatal::input(format!("{e:#}"))
    }
}
