//! File metadata lines (`stat` output) for host keys, the privilege-separation directory and configuration files.
//!
//! The facts script prints one line per path:
//!
//! ```text
//! MODE<TAB>UID<TAB>GID<TAB>SIZE<TAB>TYPE<TAB>PATH      stat -L -c '%a\t%u\t%g\t%s\t%F\t%n' PATH
//! -<TAB>-<TAB>-<TAB>-<TAB>missing<TAB>PATH             when stat fails
//! ```
//!
//! `%a` is the octal mode without leading zero (`600`, `4755`); `%F` is the file type in
//! words. GNU coreutils 9.1 and busybox 1.35 print the same words (captured:
//! `regular file`, `regular empty file`, `directory`, `fifo`, `character special file`;
//! `symbolic link` only without `-L`). With `-L` a dangling symlink fails, so it is
//! reported as missing. The path is everything after the fifth tab, so it may itself
//! contain tabs (not newlines).

use serde::Serialize;

/// File type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// Regular file (empty or not).
    File,
    /// Directory.
    Dir,
    /// Symbolic link (only seen without `-L`).
    Symlink,
    /// FIFO, socket, device, or a type word not known here.
    Other,
    /// The path does not exist (or could not be stat'ed).
    Missing,
}

/// One path's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEntry {
    /// The path as printed.
    pub path: String,
    /// Whether stat succeeded.
    pub exists: bool,
    /// Permission bits (including setuid/setgid/sticky), e.g. `0o600`.
    pub mode: Option<u32>,
    /// Owner uid.
    pub uid: Option<u32>,
    /// Group gid.
    pub gid: Option<u32>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Type.
    pub kind: FileKind,
    /// The `%F` words as printed (`regular empty file`).
    pub type_text: String,
    /// 1-based line in the input.
    pub line: usize,
}

pub use super::UnparsedLine;

/// All entries of one script section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileList {
    /// Entries in input order.
    pub entries: Vec<FileEntry>,
    /// Lines that could not be read.
    pub unparsed: Vec<UnparsedLine>,
}

impl FileList {
    /// The entry for `path` (the last one, if printed twice).
    pub fn get(&self, path: &str) -> Option<&FileEntry> {
        self.entries.iter().rev().find(|e| e.path == path)
    }
}

fn kind_of(type_text: &str) -> FileKind {
    match type_text {
        "regular file" | "regular empty file" => FileKind::File,
        "directory" => FileKind::Dir,
        "symbolic link" => FileKind::Symlink,
        "missing" => FileKind::Missing,
        _ => FileKind::Other,
    }
}

/// Parse the script's stat lines.
pub fn parse(text: &str) -> FileList {
    let mut list = FileList {
        entries: Vec::new(),
        unparsed: Vec::new(),
    };
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line(raw, line) {
            Some(e) => list.entries.push(e),
            None => list.unparsed.push(UnparsedLine {
                line,
                text: raw.to_string(),
            }),
        }
    }
    list
}

fn parse_line(raw: &str, line: usize) -> Option<FileEntry> {
    let f: Vec<&str> = raw.splitn(6, '\t').collect();
    let [mode, uid, gid, size, type_text, path] = f.as_slice() else {
        return None;
    };
    if path.is_empty() {
        return None;
    }
    let kind = kind_of(type_text);
    if kind == FileKind::Missing {
        return Some(FileEntry {
            path: path.to_string(),
            exists: false,
            mode: None,
            uid: None,
            gid: None,
            size: None,
            kind,
            type_text: type_text.to_string(),
            line,
        });
    }
    let mode = u32::from_str_radix(mode, 8).ok().filter(|m| *m <= 0o7777)?;
    Some(FileEntry {
        path: path.to_string(),
        exists: true,
        mode: Some(mode),
        uid: Some(uid.parse().ok()?),
        gid: Some(gid.parse().ok()?),
        size: Some(size.parse().ok()?),
        kind,
        type_text: type_text.to_string(),
        line,
    })
}

impl FileEntry {
    /// Readable by group or others (`mode & 0o044`). `false` for a missing path.
    pub fn is_group_or_world_readable(&self) -> bool {
        self.mode.is_some_and(|m| m & 0o044 != 0)
    }

    /// Any permission for group or others (`mode & 0o077`).
    pub fn is_group_or_world_accessible(&self) -> bool {
        self.mode.is_some_and(|m| m & 0o077 != 0)
    }

    /// sshd's own test (OpenSSH `sshkey_perm_ok()`, verified with sshd 9.2): a private
    /// host key is refused ("UNPROTECTED PRIVATE KEY FILE", "bad permissions") only when
    /// it is owned by the uid sshd runs as AND `mode & 077 != 0`. A key owned by another
    /// user is accepted whatever its mode (verified: uid 65534, mode 0644, loaded by root
    /// sshd). `None` for a missing path.
    pub fn sshd_accepts_private_key(&self, sshd_uid: u32) -> Option<bool> {
        let (mode, uid) = (self.mode?, self.uid?);
        Some(uid != sshd_uid || mode & 0o077 == 0)
    }

    /// The state sshfix wants for a private host key: a regular file owned by
    /// `sshd_uid` (root: 0) with no group/other permission bits. Stricter than
    /// [`Self::sshd_accepts_private_key`]: a key owned by someone else could be
    /// replaced or read by that user. `false` for a missing path.
    pub fn is_private_key_ok(&self, sshd_uid: u32) -> bool {
        self.kind == FileKind::File
            && self.uid == Some(sshd_uid)
            && self.mode.is_some_and(|m| m & 0o077 == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GNU: &str = include_str!("../../tests/fixtures/facts/files/stat-gnu.txt");
    const BUSYBOX: &str = include_str!("../../tests/fixtures/facts/files/stat-busybox.txt");
    const NOL: &str = include_str!("../../tests/fixtures/facts/files/stat-gnu-no-L.txt");

    fn check_capture(text: &str) {
        let l = parse(text);
        assert!(l.unparsed.is_empty(), "{:?}", l.unparsed);
        assert_eq!(l.entries.len(), 9);
        let f600 = l.get("/tmp/sp2/st/f600").unwrap();
        assert_eq!(f600.mode, Some(0o600));
        assert_eq!(f600.kind, FileKind::File);
        assert_eq!(f600.type_text, "regular empty file");
        assert!(!f600.is_group_or_world_readable());
        assert!(f600.is_private_key_ok(0));
        assert_eq!(f600.sshd_accepts_private_key(0), Some(true));
        let f644 = l.get("/tmp/sp2/st/f644").unwrap();
        assert!(f644.is_group_or_world_readable());
        assert!(!f644.is_private_key_ok(0));
        assert_eq!(f644.sshd_accepts_private_key(0), Some(false));
        let data = l.get("/tmp/sp2/st/fdata").unwrap();
        assert_eq!(
            (data.mode, data.gid, data.size),
            (Some(0o640), Some(4), Some(6))
        );
        assert!(data.is_group_or_world_readable());
        let dir = l.get("/tmp/sp2/st/d755").unwrap();
        assert_eq!(dir.kind, FileKind::Dir);
        assert_eq!(dir.size, Some(4096));
        // -L follows the link: the target's metadata under the link's name.
        assert_eq!(l.get("/tmp/sp2/st/link").unwrap().kind, FileKind::File);
        assert_eq!(l.get("/tmp/sp2/st/fifo").unwrap().kind, FileKind::Other);
        assert_eq!(l.get("/dev/null").unwrap().mode, Some(0o666));
        let dangling = l.get("/tmp/sp2/st/dangling").unwrap();
        assert!(!dangling.exists);
        assert_eq!(dangling.kind, FileKind::Missing);
        assert_eq!(dangling.sshd_accepts_private_key(0), None);
        assert!(!dangling.is_private_key_ok(0));
        assert!(!l.get("/tmp/sp2/st/missing").unwrap().exists);
        assert!(l.get("/nope").is_none());
    }

    #[test]
    fn real_gnu_and_busybox_agree() {
        check_capture(GNU);
        check_capture(BUSYBOX);
        assert_eq!(parse(GNU), parse(BUSYBOX));
    }

    #[test]
    fn real_without_dereference_shows_symlinks() {
        let l = parse(NOL);
        assert_eq!(l.get("/tmp/sp2/st/link").unwrap().kind, FileKind::Symlink);
        assert_eq!(
            l.get("/tmp/sp2/st/dangling").unwrap().kind,
            FileKind::Symlink
        );
    }

    #[test]
    fn key_owned_by_someone_else() {
        let l = parse("644\t65534\t0\t411\tregular file\t/etc/ssh/ssh_host_ed25519_key\n");
        let k = &l.entries[0];
        // sshd (running as root) accepts it, sshfix does not.
        assert_eq!(k.sshd_accepts_private_key(0), Some(true));
        assert!(!k.is_private_key_ok(0));
        let s = parse("4755\t0\t0\t1\tregular file\t/usr/bin/x\twith\ttabs\n");
        assert_eq!(s.entries[0].mode, Some(0o4755));
        assert_eq!(s.entries[0].path, "/usr/bin/x\twith\ttabs");
    }

    #[test]
    fn empty_and_garbage() {
        assert!(parse("").entries.is_empty());
        let g = parse("stat: cannot stat\n999\t0\t0\t0\tregular file\t/x\n600\t-1\t0\t0\tregular file\t/y\n600\t0\t0\t0\tregular file\t\n\u{0}\t\t\t\t\t\n");
        assert!(g.entries.is_empty());
        assert_eq!(g.unparsed.len(), 5);
        assert_eq!(g.unparsed[1].line, 2);
    }
}
