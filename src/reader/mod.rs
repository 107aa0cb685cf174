//! Where card taps come from: USB readers through pcscd, or the demo's
//! function keys. Both end as the same "card tapped" action in the kiosk.

pub mod apdu;
pub mod pcsc;
pub mod tracker;

use ratatui::crossterm::event::KeyCode;

use crate::keymap::{Key, Keymap};
use klubkasse_core::domain::{CardUid, Child};

pub use self::pcsc::{PcscSource, ReaderHandle};

/// What a card source reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardEvent {
    /// A card was put on a reader and its UID read: one per presence.
    Tapped {
        uid: CardUid,
        reader: String,
    },
    Removed {
        reader: String,
    },
    /// A card is there but gave no UID (another kind of card, moved away mid-read).
    Unreadable {
        reader: String,
        why: String,
    },
    Status(ReaderStatus),
}

/// What the status bar says about the card source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderStatus {
    /// The demo: function keys tap cards.
    Demo,
    Ready {
        name: String,
    },
    /// No reader plugged in, or the card service is not running.
    Missing,
}

/// The staff PIN of `klubkasse demo`, shown on its idle screen.
pub const DEMO_PIN: &str = "1234";

/// At most this many demo cards: one per free function key.
const MAX_CARDS: usize = 8;

/// The demo's card source: function keys put the first eight demo
/// children's cards on the "reader". Taps go through the same path as real
/// ones. The keys are F1–F12 less those the keymap binds, so a card never
/// takes a key the screen offers for something else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoCards {
    /// (function key number, card, child's name)
    cards: Vec<(u8, CardUid, String)>,
    /// The staff PIN to show beside them, when it is the demo's.
    pin_hint: Option<&'static str>,
}

impl DemoCards {
    /// At most eight cards, on the function keys `keymap` leaves free.
    pub fn new(children: &[(CardUid, Child)], keymap: &Keymap) -> DemoCards {
        let free = (1..=12u8).filter(|&n| !keymap.is_bound(Key::plain(KeyCode::F(n))));
        DemoCards {
            cards: free
                .zip(children.iter().take(MAX_CARDS))
                .map(|(n, (uid, child))| (n, uid.clone(), child.name.clone()))
                .collect(),
            pin_hint: None,
        }
    }

    /// Shows `pin` beside the cards: only where the staff PIN is `pin`.
    pub fn with_pin_hint(mut self, pin: &'static str) -> DemoCards {
        self.pin_hint = Some(pin);
        self
    }

    pub fn pin_hint(&self) -> Option<&'static str> {
        self.pin_hint
    }

    /// The card behind F`n`.
    pub fn card(&self, n: u8) -> Option<&CardUid> {
        self.cards
            .iter()
            .find(|(key, _, _)| *key == n)
            .map(|(_, uid, _)| uid)
    }

    /// (key label, child name) for the idle screen.
    pub fn legend(&self) -> impl Iterator<Item = (String, &str)> {
        self.cards
            .iter()
            .map(|(n, _, name)| (format!("F{n}"), name.as_str()))
    }

    /// The keys for the status bar: "F1–F8", or a list where there are gaps.
    pub fn keys_label(&self) -> String {
        let keys: Vec<u8> = self.cards.iter().map(|(n, _, _)| *n).collect();
        match (keys.first(), keys.last()) {
            (Some(first), Some(last)) if usize::from(last - first) + 1 == keys.len() => {
                if first == last {
                    format!("F{first}")
                } else {
                    format!("F{first}–F{last}")
                }
            }
            _ => keys
                .iter()
                .map(|n| format!("F{n}"))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cards.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use klubkasse_core::domain::ChildId;
    use std::path::Path;

    fn children(n: usize) -> Vec<(CardUid, Child)> {
        (0..n)
            .map(|i| {
                let uid = CardUid::parse(&format!("04A1B2{i:02X}")).unwrap();
                let child = Child {
                    id: ChildId::new(),
                    name: format!("Barn {i}"),
                    daily_limit: None,
                    blocked_categories: vec![],
                    note: None,
                };
                (uid, child)
            })
            .collect()
    }

    #[test]
    fn cards_take_only_keys_the_keymap_leaves_free() {
        let default = Keymap::load(None).unwrap();
        let demo = DemoCards::new(&children(10), &default);
        let keys: Vec<String> = demo.legend().map(|(k, _)| k).collect();
        assert_eq!(keys, ["F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8"]);
        assert_eq!(demo.keys_label(), "F1–F8");
        assert_eq!(demo.card(9), None);

        let user = "export_report = [\"F2\", \"F5\"]\n";
        let keymap = Keymap::parse(Some((Path::new("k.toml"), user))).unwrap();
        let demo = DemoCards::new(&children(8), &keymap);
        let keys: Vec<String> = demo.legend().map(|(k, _)| k).collect();
        assert_eq!(keys, ["F1", "F3", "F4", "F6", "F7", "F8", "F10", "F11"]);
        assert_eq!(demo.keys_label(), "F1 F3 F4 F6 F7 F8 F10 F11");
        for n in [2, 5, 9] {
            assert!(keymap.is_bound(Key::plain(KeyCode::F(n))) && demo.card(n).is_none());
        }
        assert_eq!(demo.card(3), Some(&children(8)[1].0));
        assert_eq!(demo.pin_hint(), None);
        assert_eq!(demo.with_pin_hint(DEMO_PIN).pin_hint(), Some("1234"));
    }
}
