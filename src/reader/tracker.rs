//! What the reader thread makes of PC/SC status changes: one tap per card
//! on a reader, removal, readers coming and going. Pure, so it is tested
//! over recorded status sequences without a reader.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use klubkasse_core::domain::CardUid;

/// A card that leaves the reader and is back within this long with the
/// same UID bounced on the reader: not a new tap.
pub const BOUNCE: Duration = Duration::from_millis(400);

#[derive(Debug, Default)]
pub struct Tracker {
    slots: BTreeMap<String, Slot>,
}

#[derive(Debug, Default)]
struct Slot {
    present: bool,
    /// The last card read here and when it left, for bounces.
    last: Option<(CardUid, Option<Instant>)>,
}

/// What the reader thread must do after a status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A card arrived: read its UID.
    ReadCard,
    /// The card left.
    Removed,
}

impl Tracker {
    /// The readers that exist now; returns whether the set changed.
    pub fn set_readers(&mut self, names: &[String]) -> bool {
        let before = self.slots.len();
        self.slots.retain(|name, _| names.contains(name));
        let mut changed = self.slots.len() != before;
        for name in names {
            if !self.slots.contains_key(name) {
                self.slots.insert(name.clone(), Slot::default());
                changed = true;
            }
        }
        changed
    }

    pub fn readers(&self) -> impl Iterator<Item = &str> {
        self.slots.keys().map(String::as_str)
    }

    /// Forget everything: after the card service went away.
    pub fn reset(&mut self) {
        self.slots.clear();
    }

    /// A reader reports a card present or not.
    pub fn observe(&mut self, reader: &str, present: bool, now: Instant) -> Option<Step> {
        let slot = self.slots.entry(reader.to_string()).or_default();
        match (slot.present, present) {
            (false, true) => {
                slot.present = true;
                Some(Step::ReadCard)
            }
            (true, false) => {
                slot.present = false;
                if let Some((_, left)) = &mut slot.last {
                    *left = Some(now);
                }
                Some(Step::Removed)
            }
            _ => None,
        }
    }

    /// A card's UID was read; `true` if it is a tap, `false` if the same
    /// card only bounced.
    pub fn card_read(&mut self, reader: &str, uid: &CardUid, now: Instant) -> bool {
        let slot = self.slots.entry(reader.to_string()).or_default();
        let bounced = matches!(&slot.last, Some((last, Some(left))) if last == uid && now.duration_since(*left) < BOUNCE);
        slot.last = Some((uid.clone(), None));
        !bounced
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(hex: &str) -> CardUid {
        CardUid::parse(hex).unwrap()
    }

    /// A recorded session: (ms since start, reader, present) as PC/SC
    /// reported it, and what the tracker made of it.
    fn replay(events: &[(u64, &str, bool, Option<&str>)]) -> Vec<String> {
        let start = Instant::now();
        let mut t = Tracker::default();
        t.set_readers(&["A".into(), "B".into()]);
        let mut out = Vec::new();
        for &(ms, reader, present, card) in events {
            let now = start + Duration::from_millis(ms);
            match t.observe(reader, present, now) {
                Some(Step::ReadCard) => {
                    let card = uid(card.expect("a card to read"));
                    if t.card_read(reader, &card, now) {
                        out.push(format!("{reader} tap {card}"));
                    } else {
                        out.push(format!("{reader} bounce"));
                    }
                }
                Some(Step::Removed) => out.push(format!("{reader} removed")),
                None => {}
            }
        }
        out
    }

    #[test]
    fn a_card_held_on_the_reader_is_one_tap() {
        let got = replay(&[
            (0, "A", true, Some("04A1B2C3")),
            (400, "A", true, None),
            (800, "A", true, None),
            (3000, "A", false, None),
            (5000, "A", true, Some("04A1B2C3")),
        ]);
        assert_eq!(got, ["A tap 04A1B2C3", "A removed", "A tap 04A1B2C3"]);
    }

    #[test]
    fn a_bounce_is_not_a_new_tap_but_another_card_is() {
        let got = replay(&[
            (0, "A", true, Some("04A1B2C3")),
            (1000, "A", false, None),
            (1100, "A", true, Some("04A1B2C3")),
            (2000, "A", false, None),
            (2100, "A", true, Some("04B2C3D4")),
        ]);
        assert_eq!(
            got,
            [
                "A tap 04A1B2C3",
                "A removed",
                "A bounce",
                "A removed",
                "A tap 04B2C3D4"
            ]
        );
    }

    #[test]
    fn two_readers_are_independent() {
        let got = replay(&[
            (0, "A", true, Some("04A1B2C3")),
            (10, "B", true, Some("04A1B2C3")),
            (20, "A", false, None),
        ]);
        assert_eq!(got, ["A tap 04A1B2C3", "B tap 04A1B2C3", "A removed"]);
    }

    #[test]
    fn readers_come_and_go() {
        let mut t = Tracker::default();
        assert!(t.set_readers(&["A".into()]));
        assert!(!t.set_readers(&["A".into()]));
        let now = Instant::now();
        assert_eq!(t.observe("A", true, now), Some(Step::ReadCard));
        // Unplugged with the card on it, plugged back: the card is new.
        assert!(t.set_readers(&[]));
        assert_eq!(t.readers().count(), 0);
        assert!(t.set_readers(&["A".into()]));
        assert_eq!(t.observe("A", true, now), Some(Step::ReadCard));
        t.reset();
        assert_eq!(t.readers().count(), 0);
    }
}
