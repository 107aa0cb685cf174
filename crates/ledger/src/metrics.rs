//! Prometheus counters, kept by hand: requests by route and status, and
//! entries ingested from counters.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    /// (method, route template, status) → count. Route templates, not
    /// paths, so ids never become labels.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    entries_new: AtomicU64,
    entries_repeated: AtomicU64,
}

impl Metrics {
    pub fn request(&self, method: &str, route: &str, status: u16) {
        let mut requests = self
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
    }

    pub fn entries(&self, new: u64, repeated: u64) {
        self.entries_new.fetch_add(new, Ordering::Relaxed);
        self.entries_repeated.fetch_add(repeated, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP klubkasse_ledger_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE klubkasse_ledger_requests_total counter\n");
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for ((method, route, status), count) in requests.iter() {
            // Writing to a String cannot fail.
            let _ = writeln!(
                out,
                "klubkasse_ledger_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                route.replace('\\', "\\\\").replace('"', "\\\"")
            );
        }
        drop(requests);
        out.push_str("# HELP klubkasse_ledger_entries_ingested_total Entries pushed by counters and recorded.\n");
        out.push_str("# TYPE klubkasse_ledger_entries_ingested_total counter\n");
        let _ = writeln!(
            out,
            "klubkasse_ledger_entries_ingested_total {}",
            self.entries_new.load(Ordering::Relaxed)
        );
        out.push_str("# HELP klubkasse_ledger_entries_repeated_total Entries pushed again and not recorded twice.\n");
        out.push_str("# TYPE klubkasse_ledger_entries_repeated_total counter\n");
        let _ = writeln!(
            out,
            "klubkasse_ledger_entries_repeated_total {}",
            self.entries_repeated.load(Ordering::Relaxed)
        );
        out
    }
}
