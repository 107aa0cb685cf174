//! How often the portal may be asked for what costs it something:
//! starting a login (a row in `portal_logins` and a trip to the broker,
//! for anyone, logged in or not) and a question to the office (a row the
//! office must read).
//!
//! Logins are counted here, in memory, per client address: the caller is
//! nobody yet, and counting them in the database would write the very
//! rows the limit is there to spare; a restart forgets the counts, which
//! only lets a few more through. Behind a proxy every caller has the
//! proxy's address, so there the limit is for everyone together; the cap
//! on pending logins holds the database either way. Questions are
//! counted in the database (the person's own rows of the last hour):
//! they are rows already, the count is exact across restarts and
//! ledgers, and taken under the person's row lock, so a flood sent at
//! once cannot slip past it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The portal's limits, each configurable (`serve --…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Logins started from one address per minute.
    pub logins_per_minute: u32,
    /// Logins under way (at the broker, not back yet) at most, for all
    /// addresses together; each lasts 10 minutes at most.
    pub pending_logins: u32,
    /// Questions to the office from one person per hour.
    pub questions_per_hour: u32,
}

impl Default for Limits {
    /// A family logging in on a few phones from one home address, a
    /// whole school's letter day behind one address, and a parent with a
    /// lot to ask all pass; a script does not.
    fn default() -> Limits {
        Limits {
            logins_per_minute: 30,
            pending_logins: 10_000,
            questions_per_hour: 10,
        }
    }
}

/// What was asked too often; the page says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// Logins from this address, or too many under way.
    Logins,
    Questions,
}

/// Counts per address (an IPv6 address by its /64, what one household or
/// attacker has) in fixed windows of one minute.
#[derive(Debug, Default)]
pub struct Throttle {
    windows: Mutex<Windows>,
}

#[derive(Debug, Default)]
struct Windows {
    counts: HashMap<IpAddr, (Instant, u32)>,
    /// When the passed windows were last dropped.
    swept: Option<Instant>,
}

/// Addresses kept before the ones whose window has passed are dropped;
/// with this many in one minute, a new address waits for the next.
const KEEP: usize = 10_000;
const WINDOW: Duration = Duration::from_secs(60);
/// Passed windows are dropped at most this often (a full map is not
/// scanned at every login).
const SWEEP: Duration = Duration::from_secs(1);

/// The part of an address that counts: IPv4 whole, IPv6 its /64. An
/// IPv4 client of a dual-stack listener (`--listen [::]:…`) arrives as
/// `::ffff:a.b.c.d`: it is that IPv4 address, not the /64 every IPv4
/// client shares.
pub fn counted_address(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::from(segments)
        }
        v4 => v4,
    }
}

impl Throttle {
    /// Counts one more from `address` at `now`; false when that is more
    /// than `per_minute` in its window, or when the map is full of
    /// addresses of this minute and this one is new.
    pub fn allow(&self, address: IpAddr, per_minute: u32, now: Instant) -> bool {
        let address = counted_address(address);
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let Windows { counts, swept } = &mut *windows;
        let due = swept.is_none_or(|at| now.duration_since(at) >= SWEEP);
        if counts.len() >= KEEP && due {
            counts.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            *swept = Some(now);
        }
        if counts.len() >= KEEP && !counts.contains_key(&address) {
            return false;
        }
        let (start, count) = counts.entry(address).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            (*start, *count) = (now, 0);
        }
        *count = count.saturating_add(1);
        *count <= per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_share_a_minute_and_others_theirs() {
        let throttle = Throttle::default();
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "::1".parse().unwrap());
        let start = Instant::now();
        for _ in 0..3 {
            assert!(throttle.allow(a, 3, start));
        }
        assert!(!throttle.allow(a, 3, start + Duration::from_secs(59)));
        assert!(throttle.allow(b, 3, start), "another address counts apart");
        assert!(throttle.allow(a, 3, start + WINDOW), "a new minute");
    }

    #[test]
    fn many_addresses_do_not_pile_up() {
        let throttle = Throttle::default();
        let start = Instant::now();
        for i in 0..KEEP as u32 {
            throttle.allow(IpAddr::from(i.to_be_bytes()), 1, start);
        }
        throttle.allow("::1".parse().unwrap(), 1, start + WINDOW);
        assert_eq!(throttle.windows.lock().unwrap().counts.len(), 1);
    }

    #[test]
    fn a_full_minute_of_new_addresses_stays_within_the_map() {
        let throttle = Throttle::default();
        let start = Instant::now();
        let allowed = (0..5 * KEEP as u32)
            .filter(|i| throttle.allow(IpAddr::from(i.to_be_bytes()), 1, start))
            .count();
        assert_eq!(allowed, KEEP);
        assert_eq!(throttle.windows.lock().unwrap().counts.len(), KEEP);
    }

    #[test]
    fn ipv4_clients_of_a_dual_stack_listener_count_apart() {
        let throttle = Throttle::default();
        let start = Instant::now();
        let a: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let b: IpAddr = "::ffff:192.0.2.2".parse().unwrap();
        assert_eq!(counted_address(a), "192.0.2.1".parse::<IpAddr>().unwrap());
        assert!(throttle.allow(a, 1, start));
        assert!(throttle.allow(b, 1, start), "another IPv4 client");
        assert!(!throttle.allow("192.0.2.1".parse().unwrap(), 1, start));
    }

    #[test]
    fn an_ipv6_network_counts_as_one_address() {
        let throttle = Throttle::default();
        let start = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert!(throttle.allow(a, 1, start));
        assert!(!throttle.allow(b, 1, start), "the same /64");
        assert!(throttle.allow("2001:db8:1:3::1".parse().unwrap(), 1, start));
    }
}
