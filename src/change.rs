//! The changes a plan proposes, as data: file edits and service actions. A
//! leaf every stage can name (fix modules produce them, the plan renders and
//! saves them, apply carries them out); nothing here does I/O.

use serde::{Deserialize, Serialize};

/// One file's new content, with what it must have been before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    /// Absolute path on the host.
    pub path: String,
    /// The original bytes; `None` when the file does not exist yet.
    pub before: Option<Vec<u8>>,
    /// sha256 (hex) of `before`; `None` for a new file. `apply` refuses the
    /// host when the file no longer has it (a stale plan).
    pub before_sha256: Option<String>,
    /// The complete new content.
    pub after: Vec<u8>,
    /// How `apply` checks the candidate before it is installed.
    pub validator: Validator,
    /// The finding this edit fixes.
    pub finding: String,
    /// One sentence for the reviewer: what changes and why.
    pub reason: String,
}

/// How a candidate file is validated on the host before it replaces the original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Validator {
    /// `sshd -t -f CANDIDATE`, then `sshd -T -f CANDIDATE` must show each
    /// `(keyword, value)` (lowercase keyword, as `sshd -T` prints it).
    SshdConfig { expect: Vec<(String, String)> },
    /// `nft -c -f CANDIDATE`.
    Nft,
    /// `haproxy -c -f CANDIDATE`.
    Haproxy,
    /// Nothing to run (hosts.allow has no checker of its own).
    None,
}

/// Something `apply` does after the files are in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub kind: ActionKind,
    /// A service name (`sshd`, `haproxy`, `inetd`) or, for `command`, the command line.
    pub target: String,
    /// The finding it belongs to.
    pub finding: String,
    /// Why it is needed.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    Reload,
    Restart,
    Start,
    Command,
}

/// sha256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

impl Edit {
    /// An edit of an existing file (`before`) or a new one (`None`).
    pub fn new(
        path: impl Into<String>,
        before: Option<&[u8]>,
        after: Vec<u8>,
        validator: Validator,
        finding: impl Into<String>,
        reason: impl Into<String>,
    ) -> Edit {
        Edit {
            path: path.into(),
            before_sha256: before.map(sha256_hex),
            before: before.map(<[u8]>::to_vec),
            after,
            validator,
            finding: finding.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_new_files() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let e = Edit::new("/etc/x", None, b"a\n".to_vec(), Validator::None, "f", "r");
        assert_eq!(e.before_sha256, None);
        let e = Edit::new(
            "/etc/x",
            Some(b""),
            b"a\n".to_vec(),
            Validator::Nft,
            "f",
            "r",
        );
        assert_eq!(e.before.as_deref(), Some(&b""[..]));
        assert!(e.before_sha256.unwrap().starts_with("e3b0c442"));
    }
}
