//! What every benchmark shares: percentiles, how figures are printed, and
//! peak memory read from /proc.

use std::time::Duration;

/// The p-th percentile (0–100) by nearest rank.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank]
}

pub fn ms(d: Duration) -> String {
    format!("{:9.2} ms", d.as_secs_f64() * 1000.0)
}

/// Peak resident memory (`VmHWM`) of a process, in KiB; `None`: this one.
pub fn peak_rss_kib(pid: Option<u32>) -> u64 {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_string(),
    };
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

pub fn mib(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}

/// The PostgreSQL server a benchmark makes its databases on:
/// KLUBKASSE_BENCH_DATABASE_URL, else KLUBKASSE_TEST_DATABASE_URL; without
/// either, `bench` says so and the process ends.
pub fn database_server(bench: &str) -> String {
    std::env::var("KLUBKASSE_BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("KLUBKASSE_TEST_DATABASE_URL"))
        .unwrap_or_else(|_| {
            eprintln!(
                "{bench} bench: set KLUBKASSE_BENCH_DATABASE_URL to a PostgreSQL server \
                 (postgres://user@host:port/db), or run ./install.sh --bench"
            );
            std::process::exit(2)
        })
}
