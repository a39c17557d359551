//! CPU use over the measurement window, from Linux's `/proc`: each core's busy share
//! (`/proc/stat`, the whole machine: the broker and anything else running count too),
//! this process's CPU in cores, and its threads' CPU grouped by thread name (the
//! daemon names its own: `ap:market_feed`; librdkafka's are `rdk:*`).
//!
//! Elsewhere than Linux (no `/proc`), nothing is reported.

use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Linux reports process and thread times in clock ticks of 1/100 s (`USER_HZ`, fixed at
/// 100 on every architecture Linux supports for user space).
const TICKS_PER_SEC: f64 = 100.0;

/// A reading of the counters.
#[derive(Debug, Clone)]
pub struct CpuSample {
    at: Instant,
    /// Per core: (busy, total) jiffies.
    cores: Vec<(u64, u64)>,
    /// Per thread name: user + system ticks, summed over threads of that name.
    threads: BTreeMap<String, u64>,
}

/// CPU over a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CpuReport {
    /// Each core's busy share, percent (all processes).
    pub cores_busy_pct: Vec<f64>,
    /// This process's CPU, in cores (1.0: one core fully busy).
    pub process_cores: f64,
    /// This process's threads by name, in cores, busiest first.
    pub threads_cores: Vec<(String, f64)>,
}

/// Reads the counters now; `None` without `/proc`.
pub fn sample() -> Option<CpuSample> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    Some(CpuSample {
        at: Instant::now(),
        cores: parse_cores(&stat),
        threads: read_threads(),
    })
}

/// What happened between two samples.
pub fn between(a: &CpuSample, b: &CpuSample) -> CpuReport {
    let wall =
        b.at.saturating_duration_since(a.at)
            .max(Duration::from_millis(1));
    let cores_busy_pct = a
        .cores
        .iter()
        .zip(&b.cores)
        .map(|((busy0, total0), (busy1, total1))| {
            let total = total1.saturating_sub(*total0).max(1) as f64;
            round1(100.0 * busy1.saturating_sub(*busy0) as f64 / total)
        })
        .collect();
    let cores_of = |ticks: u64| ticks as f64 / TICKS_PER_SEC / wall.as_secs_f64();
    let mut threads_cores: Vec<(String, f64)> = b
        .threads
        .iter()
        .map(|(name, t1)| {
            let t0 = a.threads.get(name).copied().unwrap_or(0);
            (name.clone(), round2(cores_of(t1.saturating_sub(t0))))
        })
        .filter(|(_, c)| *c > 0.0)
        .collect();
    threads_cores.sort_by(|x, y| y.1.total_cmp(&x.1));
    let process_cores = round2(threads_cores.iter().map(|(_, c)| c).sum());
    CpuReport {
        cores_busy_pct,
        process_cores,
        threads_cores,
    }
}

/// `cpuN user nice system idle iowait irq softirq steal ...` lines: (busy, total).
fn parse_cores(stat: &str) -> Vec<(u64, u64)> {
    stat.lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .map(|l| {
            let v: Vec<u64> = l
                .split_whitespace()
                .skip(1)
                .take(8)
                .map(|x| x.parse().unwrap_or(0))
                .collect();
            let total: u64 = v.iter().sum();
            let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
            (total.saturating_sub(idle), total)
        })
        .collect()
}

fn read_threads() -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue; // The thread ended meanwhile.
        };
        if let Some((name, ticks)) = parse_thread(&stat) {
            *out.entry(name).or_insert(0) += ticks;
        }
    }
    out
}

/// `tid (comm) state ... utime stime ...`: the name and user + system ticks. The name may
/// hold spaces and parentheses, so fields are counted from the last `)`.
fn parse_thread(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // After the name: state is field 3, utime 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_line_gives_its_name_and_cpu_ticks_even_with_spaces_in_the_name() {
        let line = "4400 (ap:market (x)) S 1 4377 4377 0 -1 4194368 2000 0 0 0 850 150 0 0 20 0 30 0 900 0 0";
        assert_eq!(parse_thread(line), Some(("ap:market (x)".to_owned(), 1000)));
        assert_eq!(parse_thread("garbage"), None);
    }

    #[test]
    fn cores_are_busy_over_total_and_the_aggregate_line_is_skipped() {
        let stat = "cpu  10 0 10 80 0 0 0 0 0 0\ncpu0 5 0 5 40 0 0 0 0 0 0\ncpu1 5 0 5 30 10 0 0 0 0 0\nintr 1 2\n";
        assert_eq!(parse_cores(stat), vec![(10, 50), (10, 50)]);
    }

    #[test]
    fn a_window_reports_each_cores_share_and_the_threads_in_cores() {
        let at = Instant::now();
        let a = CpuSample {
            at,
            cores: vec![(0, 0), (0, 0)],
            threads: BTreeMap::from([("main".to_owned(), 100), ("rdk:mock".to_owned(), 0)]),
        };
        let b = CpuSample {
            at: at + Duration::from_secs(10),
            cores: vec![(750, 1000), (250, 1000)],
            threads: BTreeMap::from([
                ("main".to_owned(), 600),
                ("rdk:mock".to_owned(), 1000),
                ("new".to_owned(), 0),
            ]),
        };
        let r = between(&a, &b);
        assert_eq!(r.cores_busy_pct, vec![75.0, 25.0]);
        assert_eq!(
            r.threads_cores,
            vec![("rdk:mock".to_owned(), 1.0), ("main".to_owned(), 0.5)]
        );
        assert_eq!(r.process_cores, 1.5);
    }
}
