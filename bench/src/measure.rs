//! Summaries (median with min and max over rounds, percentiles within one) and the memory
//! of a process tree read from /proc.

use std::time::Duration;

/// Median, min and max of a figure measured once per round.
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(samples: &[f64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        Some(Self {
            median,
            min: s[0],
            max: s[n - 1],
        })
    }
}

/// Nearest-rank percentile of `p` (0..=100) in microseconds.
pub fn percentile_us(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let i = rank.clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e6
}

fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// `pid` and every process below it.
fn tree(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) {
                // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
                if let Some(ppid) = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|s| s.parse().ok())
                {
                    parents.push((p, ppid));
                }
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        out.extend(parents.iter().filter(|(_, pp)| *pp == cur).map(|(p, _)| *p));
        i += 1;
    }
    out
}

/// Peak resident memory (VmHWM) of a process and its descendants, in MiB, with the number
/// of processes counted.
pub fn peak_rss_mib(pid: u32) -> Option<(f64, usize)> {
    let pids = tree(pid);
    let kb: u64 = pids.iter().filter_map(|p| status_kb(*p, "VmHWM:")).sum();
    (kb > 0).then(|| (kb as f64 / 1024.0, pids.len()))
}

/// Resets the peak (VmHWM) to the current resident size, so the next reading is the peak
/// of what happens from now on.
pub fn reset_peak(pid: u32) -> anyhow::Result<()> {
    for p in tree(pid) {
        std::fs::write(format!("/proc/{p}/clear_refs"), "5")
            .map_err(|e| anyhow::anyhow!("cannot reset the peak RSS of pid {p}: {e}"))?;
    }
    Ok(())
}
