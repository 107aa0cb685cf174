//! The staff PIN lock: after five wrong tries, wait; each lock is longer.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const TRIES_BEFORE_LOCK: u32 = 5;
const FIRST_LOCK: Duration = Duration::from_secs(30);
const LONGEST_LOCK: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinGuard {
    failures: u32,
    locked_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinCheck {
    /// A PIN may be tried; this many tries are left before the next lock.
    Open {
        tries_left: u32,
    },
    Locked {
        remaining: Duration,
    },
}

impl PinGuard {
    pub fn state(&self, now: DateTime<Utc>) -> PinCheck {
        if let Some(until) = self.locked_until
            && until > now
        {
            let remaining = (until - now).to_std().unwrap_or_default();
            return PinCheck::Locked { remaining };
        }
        PinCheck::Open {
            tries_left: TRIES_BEFORE_LOCK - self.failures % TRIES_BEFORE_LOCK,
        }
    }

    /// Records a wrong PIN; every fifth locks, twice as long as the last.
    pub fn failed(&mut self, now: DateTime<Utc>) {
        self.failures += 1;
        if self.failures.is_multiple_of(TRIES_BEFORE_LOCK) {
            let round = self.failures / TRIES_BEFORE_LOCK - 1;
            let lock = FIRST_LOCK
                .saturating_mul(2u32.saturating_pow(round.min(16)))
                .min(LONGEST_LOCK);
            self.locked_until = Some(now + chrono::Duration::from_std(lock).unwrap_or_default());
        }
    }

    pub fn succeeded(&mut self) {
        *self = PinGuard::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_wrong_lock_and_locks_grow() {
        let mut g = PinGuard::default();
        let t0 = Utc::now();
        for i in 0..4 {
            g.failed(t0);
            assert_eq!(g.state(t0), PinCheck::Open { tries_left: 4 - i });
        }
        g.failed(t0);
        assert_eq!(
            g.state(t0),
            PinCheck::Locked {
                remaining: Duration::from_secs(30)
            }
        );
        let t1 = t0 + chrono::Duration::seconds(31);
        assert_eq!(g.state(t1), PinCheck::Open { tries_left: 5 });
        for _ in 0..5 {
            g.failed(t1);
        }
        assert_eq!(
            g.state(t1),
            PinCheck::Locked {
                remaining: Duration::from_secs(60)
            }
        );
        g.succeeded();
        assert_eq!(g.state(t1), PinCheck::Open { tries_left: 5 });
    }

    #[test]
    fn lock_never_exceeds_an_hour() {
        let mut g = PinGuard::default();
        let t = Utc::now();
        for _ in 0..200 {
            g.failed(t);
        }
        match g.state(t) {
            PinCheck::Locked { remaining } => assert!(remaining <= LONGEST_LOCK),
            other => panic!("expected lock, got {other:?}"),
        }
    }
}
