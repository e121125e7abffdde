//! The one function that quotes strings for a remote POSIX shell.
//!
//! Every host name, path, argument or script that reaches a shell on a host goes
//! through [`quote`]; nothing else in sshfix builds shell words by hand.

use std::borrow::Cow;

/// A string that cannot be passed through a shell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} contains a NUL byte, which no shell argument can carry")]
pub struct QuoteError {
    pub what: String,
}

/// Quotes `s` as one word for a POSIX shell (`sh`, `dash`, `bash`, busybox `ash`).
///
/// `what` names the value for the error message (e.g. "the script", "path `/etc/x`").
pub fn quote<'a>(s: &'a str, what: &str) -> Result<Cow<'a, str>, QuoteError> {
    shlex::try_quote(s).map_err(|_| QuoteError { what: what.into() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Round-trips hostile strings through a real `sh`: `printf %s <quoted>` must
    /// print the original bytes and run nothing else.
    #[test]
    fn hostile_strings_survive_a_real_shell() {
        let cases = [
            "",
            "plain",
            "with space",
            "it's",
            "\"double\"",
            "$(touch /tmp/sshfix-quote-pwned)",
            "`touch /tmp/sshfix-quote-pwned`",
            "a;b&&c||d|e",
            "line1\nline2\r\n",
            "-n",
            "--",
            "*?[a]",
            "~root",
            "{a,b}",
            "back\\slash\\",
            "tab\there",
            "ünïcödé ✓",
            "\u{a0}nbsp",
            "!history",
            "#comment",
            "a=b",
        ];
        for case in cases {
            let quoted = quote(case, "test").unwrap();
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {quoted}"))
                .output()
                .unwrap();
            assert!(out.status.success(), "{case:?} → {quoted}");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                case,
                "quoted as {quoted}"
            );
        }
        assert!(!std::path::Path::new("/tmp/sshfix-quote-pwned").exists());
    }

    #[test]
    fn nul_is_refused_with_context() {
        let err = quote("a\0b", "path `a`").unwrap_err();
        assert_eq!(
            err.to_string(),
            "path `a` contains a NUL byte, which no shell argument can carry"
        );
    }
}
