//! The things the counter knows about: children, cards, menu items, entries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

use uuid::Uuid;

use super::Money;

/// A child's id: made where the child was enrolled (here, or at the ledger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChildId(pub Uuid);

impl ChildId {
    pub fn new() -> ChildId {
        ChildId(Uuid::now_v7())
    }
}

impl Default for ChildId {
    fn default() -> Self {
        ChildId::new()
    }
}

impl std::fmt::Display for ChildId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A card's UID as read from the card, upper-case hex (`04A1B2C3`).
/// It identifies a card; it does not prove the card is genuine.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardUid(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("«{0}» is not a card UID (4, 7 or 10 bytes in hex, e.g. 04A1B2C3)")]
pub struct CardUidError(pub String);

impl CardUid {
    /// Accepts hex with or without spaces or colons, any case.
    pub fn parse(text: &str) -> Result<CardUid, CardUidError> {
        let hex: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | ':' | '-'))
            .collect::<String>()
            .to_ascii_uppercase();
        let bytes = hex.len() / 2;
        if !hex.len().is_multiple_of(2)
            || !matches!(bytes, 4 | 7 | 10)
            || !hex.chars().all(|c| c.is_ascii_hexdigit())
        {
            return Err(CardUidError(text.to_string()));
        }
        Ok(CardUid(hex))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<CardUid, CardUidError> {
        let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
        CardUid::parse(&hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CardUid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Child {
    pub id: ChildId,
    pub name: String,
    /// Most the child may spend in one day, set by a parent.
    pub daily_limit: Option<Money>,
    /// Menu categories a parent has blocked (e.g. "slik"), lower case.
    pub blocked_categories: Vec<String>,
    /// Shown to staff during a sale (e.g. "nøddeallergi").
    pub note: Option<String>,
}

impl Child {
    pub fn blocks(&self, category: &str) -> bool {
        self.blocked_categories
            .iter()
            .any(|c| c.eq_ignore_ascii_case(category))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CardState {
    Active,
    /// Reported lost, or replaced by a newer card.
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Card {
    pub uid: CardUid,
    pub child: ChildId,
    pub state: CardState,
}

/// One thing on the menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuItem {
    /// The key staff press to add it.
    pub key: char,
    pub name: String,
    pub price: Money,
    pub category: String,
}

/// One line of a sale as it was sold: name and price are copied so that
/// a later menu change does not rewrite history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaleLine {
    pub name: String,
    pub category: String,
    pub unit_price: Money,
    pub quantity: u32,
}

impl SaleLine {
    pub fn total(&self) -> Money {
        self.unit_price * self.quantity
    }
}

/// Every change of a balance is an entry; a balance is the sum of entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EntryKind {
    /// Money in: cash at the counter or a parent's top-up.
    Deposit,
    /// Money out to a parent.
    Withdrawal,
    Sale {
        /// The card tapped; `None`: staff sold by name to a child who
        /// forgot the card. Stored sales from before always have one.
        #[serde(default)]
        card: Option<CardUid>,
        lines: Vec<SaleLine>,
    },
    /// Money back for an earlier sale.
    Refund { sale: Uuid },
    /// A replacement card's fee.
    CardFee,
    /// A balance brought in by `import-children` (or the demo): money the
    /// club held for the child before, not cash in this counter's drawer.
    /// Added after the others, so stored entries read as before.
    OpeningBalance,
    /// A cash top-up at this counter taken back the same day: the cash went
    /// back over the counter. `deposit` is the top-up's id.
    DepositReversal { deposit: Uuid },
    /// A correction by the office with a reason (kept by the ledger, not
    /// in the entry): money on or off with no cash, sale or card behind it.
    /// Only the ledger makes one; a counter never pushes it.
    Adjustment,
}

impl EntryKind {
    pub fn label(&self) -> &'static str {
        match self {
            EntryKind::Deposit => "deposit",
            EntryKind::Withdrawal => "withdrawal",
            EntryKind::Sale { .. } => "sale",
            EntryKind::Refund { .. } => "refund",
            EntryKind::CardFee => "card_fee",
            EntryKind::OpeningBalance => "opening_balance",
            EntryKind::DepositReversal { .. } => "deposit_reversal",
            EntryKind::Adjustment => "adjustment",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entry {
    /// UUIDv7 made where the entry happened: unique, time-ordered.
    pub id: Uuid,
    pub child: ChildId,
    pub at: DateTime<Utc>,
    /// Signed: what the entry does to the balance (a sale is negative).
    pub amount: Money,
    pub kind: EntryKind,
    /// The counter that made it.
    pub counter: String,
}

impl Entry {
    /// A sale; `card` is the card tapped, or `None` for a sale by name.
    pub fn sale(
        child: ChildId,
        card: impl Into<Option<CardUid>>,
        lines: Vec<SaleLine>,
        counter: &str,
        at: DateTime<Utc>,
    ) -> Entry {
        let total: Money = lines.iter().map(SaleLine::total).sum();
        Entry {
            id: new_entry_id(at),
            child,
            at,
            amount: -total,
            kind: EntryKind::Sale {
                card: card.into(),
                lines,
            },
            counter: counter.to_string(),
        }
    }

    pub fn new(
        child: ChildId,
        kind: EntryKind,
        amount: Money,
        counter: &str,
        at: DateTime<Utc>,
    ) -> Entry {
        Entry {
            id: new_entry_id(at),
            child,
            at,
            amount,
            kind,
            counter: counter.to_string(),
        }
    }

    pub fn is_sale(&self) -> bool {
        matches!(self.kind, EntryKind::Sale { .. })
    }
}

/// A UUIDv7 whose time part is `at`, so a day's entries are one key range.
///
/// The 12 bits after the timestamp count up within a millisecond (RFC 9562,
/// method 1), so ids made in the same millisecond keep the order they were
/// made in: "the last sale" is the one with the largest id. The other 62
/// bits are random, so counters on many machines never collide.
pub fn new_entry_id(at: DateTime<Utc>) -> Uuid {
    // The last counter of a few recent milliseconds, not only of the latest:
    // threads with clocks of their own (tests, a bench) interleave, and one
    // slot would start each millisecond's count again at 0.
    const KEPT: usize = 16;
    static RECENT: Mutex<Vec<(u64, u16)>> = Mutex::new(Vec::new());
    let millis = at.timestamp_millis().max(0) as u64;
    let mut recent = RECENT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // Most recently used last, so a clock in use is never the one let go.
    let counter = match recent.iter().position(|(m, _)| *m == millis) {
        Some(at) => recent.remove(at).1.saturating_add(1).min(0x0FFF),
        None => 0,
    };
    if recent.len() == KEPT {
        recent.remove(0);
    }
    recent.push((millis, counter));
    drop(recent);
    let mut bytes = [0u8; 10];
    bytes[..2].copy_from_slice(&counter.to_be_bytes());
    // Without an operating-system random source, the time and counter still
    // make the id unique on this counter; collisions across counters would
    // need the same millisecond and the same fallback bits.
    let _ = getrandom::fill(&mut bytes[2..]);
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
}

/// The balance is the sum of the entries, by definition.
pub fn balance_of<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Money {
    entries.into_iter().map(|e| e.amount).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_uid_forms() {
        assert_eq!(CardUid::parse("04 a1 b2 c3").unwrap().as_str(), "04A1B2C3");
        assert_eq!(
            CardUid::parse("04:A1:B2:C3:D4:E5:F6").unwrap().as_str(),
            "04A1B2C3D4E5F6"
        );
        assert!(CardUid::parse("04A1B2").is_err());
        assert!(CardUid::parse("04A1B2C3D4").is_err());
        assert!(CardUid::parse("ZZA1B2C3").is_err());
        assert_eq!(
            CardUid::from_bytes(&[0xde, 0xad, 0xbe, 0xef])
                .unwrap()
                .as_str(),
            "DEADBEEF"
        );
    }

    /// Sales stored (and pushed) before card-less sales existed read as
    /// they were; a card-less sale says `null`, and a missing card reads
    /// as none.
    #[test]
    fn sales_with_and_without_card_read_back() {
        let old = r#"{"Sale":{"card":"04A1B2C3","lines":[]}}"#;
        let kind: EntryKind = serde_json::from_str(old).unwrap();
        assert_eq!(
            kind,
            EntryKind::Sale {
                card: Some(CardUid::parse("04A1B2C3").unwrap()),
                lines: vec![]
            }
        );
        let none = EntryKind::Sale {
            card: None,
            lines: vec![],
        };
        let text = serde_json::to_string(&none).unwrap();
        assert_eq!(text, r#"{"Sale":{"card":null,"lines":[]}}"#);
        assert_eq!(serde_json::from_str::<EntryKind>(&text).unwrap(), none);
        let missing: EntryKind = serde_json::from_str(r#"{"Sale":{"lines":[]}}"#).unwrap();
        assert_eq!(missing, none);
    }

    #[test]
    fn entry_ids_are_time_ordered() {
        let early = Utc::now();
        let late = early + chrono::Duration::milliseconds(5);
        assert!(new_entry_id(early) < new_entry_id(late));
        // Within one millisecond, in the order they were made.
        let ids: Vec<Uuid> = (0..1000).map(|_| new_entry_id(early)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn entry_ids_keep_their_order_when_clocks_interleave() {
        // Two "counters" with fixed clocks of their own, taking turns, as
        // tests on parallel threads do: each one's ids stay in order.
        let a = Utc::now() - chrono::Duration::days(3);
        let b = a + chrono::Duration::milliseconds(7);
        let (mut of_a, mut of_b) = (Vec::new(), Vec::new());
        for _ in 0..500 {
            of_a.push(new_entry_id(a));
            of_b.push(new_entry_id(b));
        }
        assert!(of_a.windows(2).all(|w| w[0] < w[1]));
        assert!(of_b.windows(2).all(|w| w[0] < w[1]));
    }
}
