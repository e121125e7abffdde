//! The framed output of the facts script: split one byte stream into items
//! (key, raw bytes, exit status, timing) without trusting anything inside them.
//!
//! Every frame line starts with a random marker the controller chose for this
//! run, so no file content or command output can end a frame early. The
//! format, as `script.sh` prints it:
//!
//! ```text
//! <N> begin <key>
//! <raw bytes>
//! <N> rc <status>        (after a newline the script adds; absent when cut off)
//! <N> end <t0> <t1>      (after a newline the script adds)
//! <N> done
//! ```

use std::fmt;

/// One framed item: a command's output or a file's content.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `ps`, `sshd-T`, `file /etc/hosts.deny`, `dns 10.0.0.1`, …
    pub key: String,
    /// The raw bytes (stdout and stderr of a command, or a file's content).
    pub body: Vec<u8>,
    /// The command's exit status; `None` when the output was cut off.
    pub rc: Option<i32>,
    /// The body hit the script's size cap or the stream ended inside it.
    pub truncated: bool,
    /// Seconds the item took on the host (from `/proc/uptime`), when known.
    pub seconds: Option<f64>,
}

impl Item {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Ran and exited 0.
    pub fn ok(&self) -> bool {
        self.rc == Some(0)
    }

    /// A file item that holds the whole file: read without error and not cut
    /// off at the size cap (the script reads a file with `head -c CAP`, so
    /// a cut file still reports status 0).
    pub fn whole(&self) -> bool {
        self.ok() && !self.truncated
    }
}

/// All items of one run, in the order the script printed them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frames {
    pub items: Vec<Item>,
    /// The script reached its last line.
    pub done: bool,
    /// Bytes outside any frame (a login banner, shell noise), at most 4 KiB kept.
    pub noise: Vec<u8>,
}

impl Frames {
    /// The first item with this key.
    pub fn get(&self, key: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.key == key)
    }

    /// The content of `file PATH`, when the whole file could be read.
    pub fn file(&self, path: &str) -> Option<&Item> {
        self.items
            .iter()
            .find(|i| i.key.strip_prefix("file ") == Some(path) && i.whole())
    }

    /// Items whose key starts with `prefix` (e.g. `"dns "`), with the rest of the key.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a Item)> {
        self.items
            .iter()
            .filter_map(move |i| i.key.strip_prefix(prefix).map(|rest| (rest, i)))
    }
}

/// The stream is not what the facts script prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError(pub String);

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FrameError {}

const NOISE_KEPT: usize = 4096;

/// Splits `stream` into items. `marker` is this run's marker; `cap` the
/// script's per-item byte cap (a body of exactly `cap` bytes may be cut off).
pub fn parse(stream: &[u8], marker: &str, cap: usize) -> Result<Frames, FrameError> {
    let m = marker.as_bytes();
    let mut frames = Frames::default();
    let mut open: Option<(String, usize)> = None;
    let mut pos = 0;
    while pos < stream.len() {
        let end = stream[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(stream.len(), |i| pos + i);
        let line = &stream[pos..end];
        let next = (end + 1).min(stream.len());
        let tail = line.strip_prefix(m).and_then(|t| t.strip_prefix(b" "));
        match (&open, tail) {
            (None, Some(t)) => {
                let t = std::str::from_utf8(t)
                    .map_err(|_| FrameError(format!("a frame line is not text at byte {pos}")))?;
                if let Some(key) = t.strip_prefix("begin ") {
                    open = Some((key.to_string(), next));
                } else if t == "done" {
                    frames.done = true;
                } else {
                    return Err(FrameError(format!(
                        "unexpected frame line `{}` outside an item at byte {pos}",
                        t.chars().take(80).collect::<String>()
                    )));
                }
            }
            (None, None) => {
                if frames.noise.len() < NOISE_KEPT {
                    let room = NOISE_KEPT - frames.noise.len();
                    frames
                        .noise
                        .extend_from_slice(&stream[pos..next][..(next - pos).min(room)]);
                }
            }
            (Some((key, start)), Some(t)) if t.starts_with(b"end") => {
                let t = String::from_utf8_lossy(t);
                // the newline the script printed before the end line is not content
                let body_end = pos.saturating_sub(1).max(*start);
                frames
                    .items
                    .push(finish(key, &stream[*start..body_end], m, &t, cap)?);
                open = None;
            }
            (Some(_), _) => {}
        }
        pos = next;
    }
    if let Some((key, start)) = open {
        let mut item = finish(&key, &stream[start..], m, "end - -", cap)?;
        item.truncated = true;
        item.rc = None;
        frames.items.push(item);
    }
    Ok(frames)
}

/// Builds an item from the bytes between its begin and end lines.
fn finish(key: &str, body: &[u8], m: &[u8], end: &str, cap: usize) -> Result<Item, FrameError> {
    let mut rc = None;
    let mut content = body;
    if let Some(without_nl) = body.strip_suffix(b"\n") {
        let line_start = without_nl
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let last = &without_nl[line_start..];
        if let Some(status) = last.strip_prefix(m).and_then(|t| t.strip_prefix(b" rc ")) {
            let status = std::str::from_utf8(status)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
                .ok_or_else(|| FrameError(format!("item `{key}`: unreadable exit status")))?;
            rc = Some(status);
            content = &without_nl[..line_start.saturating_sub(1)];
        }
    }
    let mut words = end.split_whitespace().skip(1);
    let t0 = words.next().and_then(|w| w.parse::<f64>().ok());
    let t1 = words.next().and_then(|w| w.parse::<f64>().ok());
    let seconds = match (t0, t1) {
        (Some(a), Some(b)) if b >= a => Some(((b - a) * 100.0).round() / 100.0),
        _ => None,
    };
    Ok(Item {
        key: key.to_string(),
        truncated: rc.is_none() || (cap > 0 && body.len() >= cap),
        body: content.to_vec(),
        rc,
        seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str = "sshfix-0123456789abcdef";

    /// What `item` in script.sh prints for one command.
    fn framed(key: &str, out: &[u8], rc: i32) -> Vec<u8> {
        let mut v = format!("{M} begin {key}\n").into_bytes();
        v.extend_from_slice(out);
        v.extend_from_slice(format!("\n{M} rc {rc}\n").as_bytes());
        v.extend_from_slice(format!("\n{M} end 100.25 100.75\n").as_bytes());
        v
    }

    #[test]
    fn bodies_keep_every_byte_and_trailing_newlines_exactly() {
        let all: Vec<u8> = (0..=255u8).collect();
        for body in [
            b"".to_vec(),
            b"\n".to_vec(),
            b"no newline".to_vec(),
            b"two\n\n".to_vec(),
            all.clone(),
            format!("{M}x begin fake\n").into_bytes(),
            b" rc 0\n".to_vec(),
        ] {
            let mut s = framed("file /x", &body, 0);
            s.extend_from_slice(format!("{M} done\n").as_bytes());
            let f = parse(&s, M, 1 << 20).unwrap();
            assert_eq!(f.items.len(), 1, "{body:?}");
            assert_eq!(f.items[0].body, body);
            assert_eq!(f.items[0].rc, Some(0));
            assert!(!f.items[0].truncated);
            assert_eq!(f.items[0].seconds, Some(0.5));
            assert!(f.done);
        }
    }

    /// A file cut off at the cap reports status 0 (the script reads it with
    /// `head -c CAP`), yet it is not the whole file: `file()` must not offer it.
    #[test]
    fn a_file_cut_at_the_cap_is_not_the_file() {
        let mut s = framed("file /etc/hosts.allow", &[b'a'; 64], 0);
        s.extend(framed("file /etc/hosts.deny", &[b'b'; 10], 0));
        let f = parse(&s, M, 64).unwrap();
        let cut = f.get("file /etc/hosts.allow").unwrap();
        assert_eq!(cut.rc, Some(0));
        assert!(cut.truncated && !cut.whole());
        assert!(f.file("/etc/hosts.allow").is_none());
        assert_eq!(f.file("/etc/hosts.deny").unwrap().body.len(), 10);
    }

    #[test]
    fn status_noise_and_order_are_kept() {
        let mut s = b"Welcome to host\r\n".to_vec();
        s.extend(framed("sshd-t", b"/etc/ssh/sshd_config line 3: bad\n", 255));
        s.extend(framed("file /etc/hosts.deny", b"sshd: ALL\n", 0));
        s.extend(framed(
            "file /etc/missing",
            b"cat: /etc/missing: No such file\n",
            1,
        ));
        let f = parse(&s, M, 1 << 20).unwrap();
        let keys: Vec<_> = f.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            ["sshd-t", "file /etc/hosts.deny", "file /etc/missing"]
        );
        assert_eq!(f.items[0].rc, Some(255));
        assert_eq!(f.file("/etc/hosts.deny").unwrap().text(), "sshd: ALL\n");
        assert!(f.file("/etc/missing").is_none());
        assert_eq!(f.noise, b"Welcome to host\r\n");
        assert!(!f.done, "no `done` line: the script did not finish");
    }

    #[test]
    fn a_cut_off_item_is_marked_truncated_without_status() {
        // head -c stopped the body: no rc line, the end line follows the newline
        let mut s = format!("{M} begin ps\n1 0 init /sbin/ini").into_bytes();
        s.extend_from_slice(format!("\n{M} end 1.00 1.01\n").as_bytes());
        let f = parse(&s, M, 17).unwrap();
        assert_eq!(f.items[0].body, b"1 0 init /sbin/ini");
        assert_eq!(f.items[0].rc, None);
        assert!(f.items[0].truncated);
        // the stream itself ends inside an item
        let s = format!("{M} begin journal\nline one\nline").into_bytes();
        let f = parse(&s, M, 1 << 20).unwrap();
        assert_eq!(f.items[0].key, "journal");
        assert!(f.items[0].truncated);
        assert_eq!(f.items[0].body, b"line one\nline");
    }

    #[test]
    fn garbage_is_an_error_or_noise_never_a_panic() {
        assert_eq!(parse(b"", M, 10).unwrap(), Frames::default());
        let f = parse(b"\xff\xfe random \n bytes", M, 10).unwrap();
        assert!(f.items.is_empty());
        let err = parse(format!("{M} bogus\n").as_bytes(), M, 10).unwrap_err();
        assert!(err.0.contains("bogus"), "{err}");
        let err = parse(
            format!("{M} begin x\n{M} rc zz\n\n{M} end 1 2\n").as_bytes(),
            M,
            10,
        )
        .unwrap_err();
        assert!(err.0.contains("exit status"), "{err}");
    }
}
