//! Kernel state: conntrack count/max and the kernel-log lines that explain dropped connections.
//!
//! - [`Conntrack::parse`] reads the contents of `/proc/sys/net/netfilter/nf_conntrack_count`
//!   and `nf_conntrack_max` (each may be missing: the module is not loaded, or the
//!   script could not read it). Note: `nf_conntrack_count` is per network namespace,
//!   `nf_conntrack_max` is global.
//! - [`parse_kernel_log`] finds `nf_conntrack: table full, dropping packet` lines in
//!   `dmesg` (with `[seconds]` or `-T` `[date]` timestamps, or none), in syslog's
//!   `kernel:` lines and in `journalctl -k`. Kernels ≥ 4.x print the module prefix
//!   twice (`nf_conntrack: nf_conntrack: table full, dropping packet`); older ones
//!   once; 2.6-era `ip_conntrack: table full, dropping packet.` is recognised too.
//!   The message is rate limited, so one line can stand for many dropped packets.

use serde::Serialize;

/// Connection-tracking table usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Conntrack {
    /// `nf_conntrack_count`: entries now.
    pub count: Option<u64>,
    /// `nf_conntrack_max`: table size limit.
    pub max: Option<u64>,
}

impl Conntrack {
    /// Parse the two file contents (`None` for a file that was not there). Text that is
    /// not a single non-negative integer gives `None` for that value.
    pub fn parse(count: Option<&str>, max: Option<&str>) -> Conntrack {
        let num = |t: Option<&str>| t.and_then(|s| s.trim().parse::<u64>().ok());
        Conntrack {
            count: num(count),
            max: num(max),
        }
    }

    /// `count / max`, when both are known and `max > 0`.
    pub fn usage_ratio(&self) -> Option<f64> {
        match (self.count, self.max) {
            (Some(c), Some(m)) if m > 0 => Some(c as f64 / m as f64),
            _ => None,
        }
    }

    /// True when usage is at or above `threshold` (e.g. `0.9`).
    pub fn is_near_full(&self, threshold: f64) -> bool {
        self.usage_ratio().is_some_and(|r| r >= threshold)
    }
}

/// A kernel log line that explains dropped packets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelEvent {
    /// 1-based line.
    pub line: usize,
    /// The original line (evidence).
    pub text: String,
    /// Timestamp text: `[1694413.644132]`-style seconds since boot, a `dmesg -T` date,
    /// or the syslog/journal timestamp; `None` for a bare line.
    pub timestamp: Option<String>,
    /// What the line says.
    pub kind: KernelEventKind,
}

/// Kinds of kernel events recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KernelEventKind {
    /// `nf_conntrack: table full, dropping packet` (or `ip_conntrack: …`).
    ConntrackTableFull,
}

/// Find conntrack-full lines in a kernel log (dmesg, syslog, or journal).
pub fn parse_kernel_log(text: &str) -> Vec<KernelEvent> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let lower = raw.to_ascii_lowercase();
        let full = (lower.contains("nf_conntrack: table full")
            || lower.contains("ip_conntrack: table full"))
            && lower.contains("dropping packet");
        if !full {
            continue;
        }
        out.push(KernelEvent {
            line: i + 1,
            text: raw.to_string(),
            timestamp: timestamp_of(raw),
            kind: KernelEventKind::ConntrackTableFull,
        });
    }
    out
}

/// The first timestamp-like prefix: a leading `[…]`, or the syslog/journal time before
/// the host name, or a `[…]` right after `kernel: `.
fn timestamp_of(line: &str) -> Option<String> {
    let t = line.trim_start();
    if let Some(rest) = t.strip_prefix('[') {
        return rest.split_once(']').map(|(ts, _)| ts.trim().to_string());
    }
    if let Some((before, after)) = t.split_once(" kernel: ") {
        // `Feb 23 16:44:36 jobs kernel: [38775494.393661] …` or
        // `2026-11-24T04:51:33+0000 host kernel: …`: the time is everything before the
        // host name.
        let time = before.rsplit_once(' ').map(|(time, _host)| time.trim());
        if let Some(time) = time.filter(|s| !s.is_empty()) {
            return Some(time.to_string());
        }
        if let Some(rest) = after.strip_prefix('[') {
            return rest.split_once(']').map(|(ts, _)| ts.trim().to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const COUNT: &str = include_str!("../../tests/fixtures/facts/kernel/nf_conntrack_count.txt");
    const MAX: &str = include_str!("../../tests/fixtures/facts/kernel/nf_conntrack_max.txt");
    const LOG: &str = include_str!("../../tests/fixtures/facts/kernel/kernel-log-mixed.txt");

    #[test]
    fn real_proc_values() {
        let c = Conntrack::parse(Some(COUNT), Some(MAX));
        assert_eq!(c.count, Some(0));
        assert_eq!(c.max, Some(262144));
        assert_eq!(c.usage_ratio(), Some(0.0));
        assert!(!c.is_near_full(0.9));
    }

    #[test]
    fn ratios_and_missing_values() {
        let c = Conntrack::parse(Some("235930\n"), Some("262144\n"));
        let r = c.usage_ratio().unwrap();
        assert!((r - 0.9).abs() < 0.001, "{r}");
        assert!(c.is_near_full(0.9));
        assert!(!c.is_near_full(0.95));
        assert_eq!(Conntrack::parse(None, Some(MAX)).usage_ratio(), None);
        assert_eq!(Conntrack::parse(Some(COUNT), None).usage_ratio(), None);
        assert_eq!(Conntrack::parse(Some("5"), Some("0")).usage_ratio(), None);
        let g = Conntrack::parse(Some("cat: No such file"), Some("-1"));
        assert_eq!(
            g,
            Conntrack {
                count: None,
                max: None
            }
        );
    }

    #[test]
    fn table_full_lines_in_every_shape() {
        let e = parse_kernel_log(LOG);
        let lines: Vec<usize> = e.iter().map(|x| x.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 6, 7, 8]);
        assert_eq!(e[0].timestamp.as_deref(), Some("1694413.644132"));
        assert_eq!(e[2].timestamp.as_deref(), Some("Feb 23 16:44:36"));
        assert_eq!(e[3].timestamp.as_deref(), Some("Tue Nov 24 04:51:33 2026"));
        assert_eq!(e[4].timestamp, None);
        assert_eq!(e[5].timestamp.as_deref(), Some("2026-11-24T04:51:33+0000"));
        assert!(e
            .iter()
            .all(|x| x.kind == KernelEventKind::ConntrackTableFull));
        assert_eq!(
            parse_kernel_log("ip_conntrack: table full, dropping packet.\n").len(),
            1
        );
    }

    #[test]
    fn empty_and_garbage() {
        assert!(parse_kernel_log("").is_empty());
        assert!(parse_kernel_log(
            "[ 1.0] eth0: link up\n[\u{0}\nkernel: \n nf_conntrack: table full\n"
        )
        .is_empty());
        assert_eq!(Conntrack::parse(Some(""), Some("")).usage_ratio(), None);
    }
}
