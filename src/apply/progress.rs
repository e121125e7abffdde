//! Per-host progress of `apply` and `rollback` on stderr: an `indicatif`
//! spinner per host on a terminal, plain `host: step ok` lines otherwise
//! (logs, CI, pipes). Nothing here goes to stdout.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::outcome::HostOutcome;

/// Where progress goes.
pub enum Progress {
    /// Spinners, one per host in flight.
    Bars {
        multi: MultiProgress,
        bars: Mutex<Vec<(String, ProgressBar)>>,
    },
    /// One line per step on stderr.
    Lines,
    /// Nothing (`-q`).
    Quiet,
}

impl Progress {
    /// Spinners when stderr is a terminal (and `NO_COLOR`/`-q` allow), lines otherwise.
    pub fn for_stderr(quiet: bool) -> Progress {
        if quiet {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            Progress::Bars {
                multi: MultiProgress::new(),
                bars: Mutex::new(Vec::new()),
            }
        } else {
            Progress::Lines
        }
    }

    fn bar(&self, host: &str) -> Option<ProgressBar> {
        let Progress::Bars { multi, bars } = self else {
            return None;
        };
        let mut bars = bars.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, b)) = bars.iter().find(|(h, _)| h == host) {
            return Some(b.clone());
        }
        let b = multi.add(ProgressBar::new_spinner());
        b.set_style(
            ProgressStyle::with_template("{spinner} {prefix:.bold} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.set_prefix(host.to_string());
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        bars.push((host.to_string(), b.clone()));
        Some(b)
    }

    /// A step of `host` finished.
    pub fn step(&self, host: &str, step: &str, ok: bool, detail: &str) {
        match self {
            Progress::Quiet => {}
            Progress::Lines => {
                let mark = if ok { "ok" } else { "FAILED" };
                if detail.is_empty() {
                    eprintln!("{host}: {step} {mark}");
                } else {
                    eprintln!("{host}: {step} {mark}: {detail}");
                }
            }
            Progress::Bars { .. } => {
                if let Some(b) = self.bar(host) {
                    b.set_message(format!("{step} {}", if ok { "ok" } else { "FAILED" }));
                }
            }
        }
    }

    /// `host` is done.
    pub fn done(&self, o: &HostOutcome) {
        match self {
            Progress::Quiet => {}
            Progress::Lines => eprintln!("{}: {}", o.host, o.result.as_str()),
            Progress::Bars { .. } => {
                if let Some(b) = self.bar(&o.host) {
                    b.finish_with_message(o.result.as_str().to_string());
                }
            }
        }
    }
}
