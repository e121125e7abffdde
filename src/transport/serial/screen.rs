//! What came back over a serial line, made searchable: terminal escape
//! sequences, carriage returns and other control bytes are dropped as bytes
//! arrive, and the text is searched for the transport's sentinels, for login
//! and shell prompts, and for base64 frames. Pure: bytes in, answers out.

use base64::Engine;
use sha2::{Digest, Sha256};

/// Streaming filter: keeps printable text, `\n` and `\t`; drops `\r`, other
/// C0 controls, DEL and ANSI/VT escape sequences (CSI `ESC [ … final`, OSC
/// `ESC ] … BEL|ESC \`, and two-byte `ESC x`), even when a sequence is split
/// across reads.
#[derive(Debug, Default)]
struct Cleaner {
    state: EscState,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum EscState {
    #[default]
    Text,
    /// After ESC.
    Esc,
    /// Inside `ESC [` parameters.
    Csi,
    /// Inside `ESC ]` (or another string sequence) until BEL or `ESC \`.
    Osc,
    /// ESC seen inside an OSC string.
    OscEsc,
}

impl Cleaner {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        for &b in bytes {
            self.state = match (self.state, b) {
                (EscState::Text, 0x1b) => EscState::Esc,
                (EscState::Text, b'\n' | b'\t') => {
                    out.push(b);
                    EscState::Text
                }
                (EscState::Text, 0x00..=0x1f | 0x7f) => EscState::Text,
                (EscState::Text, _) => {
                    out.push(b);
                    EscState::Text
                }
                (EscState::Esc, b'[') => EscState::Csi,
                (EscState::Esc, b']' | b'P' | b'X' | b'^' | b'_') => EscState::Osc,
                (EscState::Esc, _) => EscState::Text,
                // parameters and intermediates go on; a final byte ends it
                (EscState::Csi, 0x20..=0x3f) => EscState::Csi,
                (EscState::Csi, _) => EscState::Text,
                (EscState::Osc, 0x07) => EscState::Text,
                (EscState::Osc, 0x1b) => EscState::OscEsc,
                (EscState::Osc, _) => EscState::Osc,
                (EscState::OscEsc, b'\\') => EscState::Text,
                (EscState::OscEsc, _) => EscState::Osc,
            };
        }
    }
}

/// Bytes kept before the read position, for "last bytes seen" in errors.
const HISTORY: usize = 4096;

/// The cleaned text received so far, with a read position: everything before
/// it has been matched (or skipped) already.
#[derive(Debug, Default)]
pub struct Screen {
    cleaner: Cleaner,
    text: Vec<u8>,
    pos: usize,
    /// Where the last failed search for `needle` may resume.
    search: Option<(Vec<u8>, usize)>,
    /// Strings never to show in error messages (the login password).
    secrets: Vec<Vec<u8>>,
    /// Bytes received in all, escapes included: a line that said anything.
    received: usize,
}

/// What the end of the unread text looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// `login:` / `Username:` at the end of the last line.
    Login,
    /// `Password:` (or `Password for x:`) at the end of the last line.
    Password,
    /// The last line ends like a shell prompt (`$`, `#`, `%`, `>`).
    Prompt,
    /// Anything else (nothing, boot messages, a banner).
    Other,
}

impl Screen {
    pub fn new() -> Screen {
        Screen::default()
    }

    /// Never show `secret` in [`Screen::last_seen`].
    pub fn add_secret(&mut self, secret: &[u8]) {
        if !secret.is_empty() {
            self.secrets.push(secret.to_vec());
        }
    }

    /// Adds bytes as received from the line.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.received += bytes.len();
        self.cleaner.feed(bytes, &mut self.text);
    }

    /// How many bytes the line has sent so far (before cleaning).
    pub fn received(&self) -> usize {
        self.received
    }

    /// The text not consumed yet.
    pub fn unread(&self) -> &[u8] {
        &self.text[self.pos..]
    }

    /// Consumes everything received so far.
    pub fn skip_all(&mut self) {
        self.advance(self.text.len());
    }

    fn advance(&mut self, to: usize) {
        self.pos = to;
        self.search = None;
        // keep memory bounded: drop what is long consumed
        if self.pos > 1 << 20 {
            let cut = self.pos - HISTORY;
            self.text.drain(..cut);
            self.pos -= cut;
        }
    }

    /// Finds `needle` in the unread text; consumes through it and returns
    /// what came before it. Repeated calls with the same needle resume where
    /// the last one stopped, so waiting on a large transfer stays linear.
    pub fn take_until(&mut self, needle: &[u8]) -> Option<Vec<u8>> {
        let start = match &self.search {
            Some((n, at)) if n == needle => (*at).max(self.pos),
            _ => self.pos,
        };
        match find(&self.text[start..], needle) {
            Some(i) => {
                let at = start + i;
                let before = self.text[self.pos..at].to_vec();
                self.advance(at + needle.len());
                Some(before)
            }
            None => {
                let resume = self.text.len().saturating_sub(needle.len()).max(self.pos);
                self.search = Some((needle.to_vec(), resume));
                None
            }
        }
    }

    /// Finds a sentinel `<PREFIX…>` (the rest up to `>` on the same line);
    /// consumes through it and returns its fields after the prefix, split on
    /// `:`. `prefix` is `<NONCE:ID:` or similar.
    pub fn take_marker(&mut self, prefix: &str) -> Option<Vec<String>> {
        self.take_frame(prefix).map(|(_, fields)| fields)
    }

    /// The first complete sentinel `<PREFIX…>` whose fields satisfy `want`;
    /// the ones before it (stale: an earlier transmission) are consumed.
    pub fn take_marker_where(
        &mut self,
        prefix: &str,
        want: impl Fn(&[String]) -> bool,
    ) -> Option<Vec<String>> {
        while let Some(fields) = self.take_marker(prefix) {
            if want(&fields) {
                return Some(fields);
            }
        }
        None
    }

    /// Like [`Screen::take_marker`], also returning the text before the
    /// sentinel (a frame's body). Nothing is consumed until the sentinel is
    /// complete; a sentinel broken by noise (a newline inside it) is skipped.
    pub fn take_frame(&mut self, prefix: &str) -> Option<(Vec<u8>, Vec<String>)> {
        let start = match &self.search {
            Some((n, at)) if n == prefix.as_bytes() => (*at).max(self.pos),
            _ => self.pos,
        };
        let mut from = start;
        while let Some(i) = find(&self.text[from..], prefix.as_bytes()) {
            let at = from + i;
            let body_start = at + prefix.len();
            let rest = &self.text[body_start..];
            match rest.iter().position(|&b| b == b'>' || b == b'\n') {
                Some(j) if rest[j] == b'>' => {
                    let fields = String::from_utf8_lossy(&rest[..j])
                        .split(':')
                        .map(str::to_string)
                        .collect();
                    let before = self.text[self.pos..at].to_vec();
                    self.advance(body_start + j + 1);
                    return Some((before, fields));
                }
                Some(_) => from = body_start,
                None => {
                    self.search = Some((prefix.as_bytes().to_vec(), at));
                    return None;
                }
            }
        }
        let resume = self
            .text
            .len()
            .saturating_sub(prefix.len())
            .max(from.min(self.text.len()));
        self.search = Some((prefix.as_bytes().to_vec(), resume));
        None
    }

    /// Whether the unread text contains `needle` (case-insensitive, ASCII).
    pub fn contains_ci(&self, needle: &str) -> bool {
        let hay = self.unread().to_ascii_lowercase();
        find(&hay, needle.to_ascii_lowercase().as_bytes()).is_some()
    }

    /// Classifies the last line of the unread text.
    pub fn tail(&self) -> Tail {
        classify_tail(self.unread())
    }

    /// The last bytes received (consumed or not), as one line of text for an
    /// error message: at most `max` characters, secrets and base64 data lines
    /// (transfers, possibly echoed) left out.
    pub fn last_seen(&self, max: usize) -> String {
        let from = self.text.len().saturating_sub(HISTORY);
        let mut text = String::from_utf8_lossy(&self.text[from..]).into_owned();
        for s in &self.secrets {
            let s = String::from_utf8_lossy(s);
            text = text.replace(s.as_ref(), "<hidden>");
        }
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !looks_like_data(l))
            .collect();
        let joined = lines.join(" / ");
        let n = joined.chars().count();
        let shown: String = if n > max {
            "…".to_string() + &joined.chars().skip(n - max).collect::<String>()
        } else {
            joined
        };
        if shown.is_empty() {
            "nothing".into()
        } else {
            format!("{shown:?}")
        }
    }
}

/// A long line of the base64 alphabet only: transfer data, not a message.
fn looks_like_data(line: &str) -> bool {
    line.len() >= 40 && line.bytes().all(is_b64)
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Classifies the last line of `text` (already cleaned).
pub fn classify_tail(text: &[u8]) -> Tail {
    let last = match text.iter().rposition(|&b| b == b'\n') {
        Some(i) => &text[i + 1..],
        None => text,
    };
    let line = String::from_utf8_lossy(last)
        .trim_end()
        .to_ascii_lowercase();
    if line.is_empty() {
        return Tail::Other;
    }
    if line.ends_with("login:") || line.ends_with("username:") || line.ends_with("user name:") {
        return Tail::Login;
    }
    if line.ends_with(':') && line.contains("password") {
        return Tail::Password;
    }
    if line.ends_with(['$', '#', '%', '>']) {
        return Tail::Prompt;
    }
    Tail::Other
}

/// Whether `text` is nothing but what a terminal echoes for Ctrl-C (`^C`,
/// blanks, line ends): a prompt that ignored the Ctrl-C is still there.
pub fn only_ctrl_c_echo(text: &[u8]) -> bool {
    let mut rest = text;
    loop {
        rest = rest.trim_ascii_start();
        match rest.strip_prefix(b"^C") {
            Some(r) => rest = r,
            None => return rest.is_empty(),
        }
    }
}

/// Whether `text` says a login just failed.
pub fn login_failed(text: &[u8]) -> bool {
    let t = String::from_utf8_lossy(text).to_ascii_lowercase();
    [
        "login incorrect",
        "authentication failure",
        "permission denied",
        "access denied",
    ]
    .iter()
    .any(|m| t.contains(m))
}

/// Why a frame could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The decoded bytes are not what the host hashed (noise on the line).
    Corrupt { got_len: usize, want_len: usize },
}

/// Decodes a base64 frame body as printed by `base64` (76-column lines) and
/// checks it against the host's length and sha256. Lines with anything but
/// the base64 alphabet (kernel messages, a stray prompt) are dropped; if
/// noise broke a data line the hash tells, and the caller asks again.
pub fn decode_frame(body: &[u8], want_len: usize, want_sha: &str) -> Result<Vec<u8>, FrameError> {
    let mut joined = Vec::with_capacity(body.len());
    for line in body.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        if !line.is_empty() && line.iter().all(|&b| is_b64(b)) {
            joined.extend_from_slice(line);
        }
    }
    let corrupt = |got_len| FrameError::Corrupt { got_len, want_len };
    let data = base64::engine::general_purpose::STANDARD
        .decode(&joined)
        .map_err(|_| corrupt(joined.len() / 4 * 3))?;
    if data.len() != want_len || hex::encode(Sha256::digest(&data)) != want_sha {
        return Err(corrupt(data.len()));
    }
    Ok(data)
}

/// The lines that carry `data` to the host's `base64 -d` (76 characters each,
/// like `base64` prints them).
pub fn encode_lines(data: &[u8]) -> Vec<String> {
    let text = base64::engine::general_purpose::STANDARD.encode(data);
    text.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect()
}

/// Lowercase hex sha256, as `sha256sum` prints it.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(bytes: &[u8]) -> Screen {
        let mut s = Screen::new();
        s.feed(bytes);
        s
    }

    #[test]
    fn escapes_and_carriage_returns_are_dropped_even_split_across_reads() {
        // a real bash prompt on a pty: bracketed paste on, title set, CRLF
        let raw = b"\r\n\x1b[?2004h\x1b]0;ops@h1: ~\x07ops@h1:~$ ls\r\n\x1b[?2004l\rfile\r\n\x1b[01;32mgreen\x1b[0m\r\n";
        let want = b"\nops@h1:~$ ls\nfile\ngreen\n".to_vec();
        assert_eq!(screen(raw).unread(), want);
        for split in 1..raw.len() {
            let mut s = Screen::new();
            s.feed(&raw[..split]);
            s.feed(&raw[split..]);
            assert_eq!(s.unread(), want, "split at {split}");
        }
        // OSC ended by ESC \ and a two-byte escape
        assert_eq!(screen(b"a\x1b]2;t\x1b\\b\x1b7c\x08\x7fd").unread(), b"abcd");
    }

    #[test]
    fn only_the_echo_of_ctrl_c_is_nothing_new() {
        for quiet in [&b""[..], b"^C", b"^C\r\n", b" ^C\n^C "] {
            assert!(only_ctrl_c_echo(quiet), "{quiet:?}");
        }
        for new in [&b"\r\n$ "[..], b"^C\r\nroot@box:~# ", b"^", b"x^C"] {
            assert!(!only_ctrl_c_echo(new), "{new:?}");
        }
    }

    #[test]
    fn prompts_are_classified_by_the_last_line() {
        let cases: [(&[u8], Tail); 12] = [
            (b"Debian GNU/Linux 12 h1 ttyS0\n\nh1 login: ", Tail::Login),
            (b"h1 login:", Tail::Login),
            (b"Username: ", Tail::Login),
            (b"h1 login: root\nPassword: ", Tail::Password),
            (b"Password for ops: ", Tail::Password),
            (b"root@h1:~# ", Tail::Prompt),
            (b"ops@h1:~$ ", Tail::Prompt),
            (b"~ # ", Tail::Prompt),
            (b"h1% ", Tail::Prompt),
            (b"ops@h1:~$ \n", Tail::Other),
            (b"[  12.5] eth0: link up", Tail::Other),
            (b"", Tail::Other),
        ];
        for (text, want) in cases {
            assert_eq!(
                classify_tail(text),
                want,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
        assert!(login_failed(b"\nLogin incorrect\nh1 login: "));
        assert!(!login_failed(b"Last login: Tue Nov 24\nroot@h1:~# "));
    }

    #[test]
    fn markers_are_found_across_reads_and_noise_inside_one_is_skipped() {
        let mut s = Screen::new();
        s.feed(b"echo of printf '<%s:%s>' n1 c1\n<n1:c1:res:0:5:");
        assert_eq!(s.take_marker("<n1:c1:"), None);
        s.feed(b"0>\r\nrest");
        assert_eq!(
            s.take_marker("<n1:c1:"),
            Some(vec!["res".into(), "0".into(), "5".into(), "0".into()])
        );
        assert_eq!(s.unread(), b"\nrest");
        // a kernel message broke the first copy; the second is whole
        let mut s = screen(b"<n1:c2:be\n[ 9.1] oops\ngin>\n<n1:c2:begin:o>\n");
        assert_eq!(
            s.take_marker("<n1:c2:"),
            Some(vec!["begin".into(), "o".into()])
        );
        // take_until consumes through the needle and resumes its search
        let mut s = screen(b"abc");
        assert_eq!(s.take_until(b"<end>"), None);
        s.feed(b"def<en");
        assert_eq!(s.take_until(b"<end>"), None);
        s.feed(b"d>tail");
        assert_eq!(s.take_until(b"<end>"), Some(b"abcdef".to_vec()));
        assert_eq!(s.unread(), b"tail");
    }

    #[test]
    fn frames_round_trip_and_noise_is_caught() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let sha = sha256_hex(&data);
        let lines = encode_lines(&data);
        assert!(lines.iter().all(|l| l.len() <= 76));
        let body = lines.join("\r\n") + "\r\n";
        let clean = screen(body.as_bytes());
        assert_eq!(decode_frame(clean.unread(), 1000, &sha).unwrap(), data);
        // a kernel message on a line of its own is dropped
        let noisy = format!(
            "{}\n[  42.000001] usb 1-1: new device\n{}\n",
            lines[..3].join("\n"),
            lines[3..].join("\n")
        );
        assert_eq!(decode_frame(noisy.as_bytes(), 1000, &sha).unwrap(), data);
        // one that lands inside a data line corrupts it: the hash says so
        let mut broken = lines.clone();
        broken[2].insert_str(30, "[1.0]noise");
        let err = decode_frame(broken.join("\n").as_bytes(), 1000, &sha).unwrap_err();
        assert!(
            matches!(err, FrameError::Corrupt { want_len: 1000, .. }),
            "{err:?}"
        );
        // an empty frame
        assert_eq!(decode_frame(b"", 0, &sha256_hex(b"")).unwrap(), b"");
    }

    #[test]
    fn last_seen_hides_secrets_and_data_lines() {
        let mut s = screen(b"h1 login: root\nPassword: hunter2\nQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlq\nLogin incorrect\nh1 login: ");
        s.add_secret(b"hunter2");
        let seen = s.last_seen(200);
        assert_eq!(
            seen,
            "\"h1 login: root / Password: <hidden> / Login incorrect / h1 login:\""
        );
        assert!(s.last_seen(10).starts_with("\"…"));
        assert_eq!(Screen::new().last_seen(10), "nothing");
    }
}
