//! Where card taps come from: USB readers through pcscd, or the demo's
//! F1–F8 keys. Both end as the same "card tapped" action in the kiosk.

pub mod apdu;
pub mod pcsc;
pub mod tracker;

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
    /// The demo: F1–F8 tap cards.
    Demo,
    Ready {
        name: String,
    },
    /// No reader plugged in, or the card service is not running.
    Missing,
}

/// The staff PIN of `klubkasse demo`, shown on its idle screen.
pub const DEMO_PIN: &str = "1234";

/// The demo's card source: F1–F8 put the first eight demo children's
/// cards on the "reader". Taps go through the same path as real ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoCards {
    cards: Vec<(CardUid, String)>,
}

impl DemoCards {
    /// At most eight cards: one per key F1–F8.
    pub fn new(children: &[(CardUid, Child)]) -> DemoCards {
        DemoCards {
            cards: children
                .iter()
                .take(8)
                .map(|(uid, child)| (uid.clone(), child.name.clone()))
                .collect(),
        }
    }

    /// The card behind F`n` (1-based).
    pub fn card(&self, n: u8) -> Option<&CardUid> {
        self.cards
            .get(usize::from(n).checked_sub(1)?)
            .map(|(uid, _)| uid)
    }

    /// (key label, child name) for the idle screen.
    pub fn legend(&self) -> impl Iterator<Item = (String, &str)> {
        self.cards
            .iter()
            .enumerate()
            .map(|(i, (_, name))| (format!("F{}", i + 1), name.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.cards.is_empty()
    }
}
