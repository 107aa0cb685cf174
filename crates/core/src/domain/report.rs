//! The day report: what was sold, to whom, what was given back, and what
//! money came in where: cash over this counter apart from opening balances
//! an import brought in.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ChildId, Entry, EntryKind, Money};

/// The counter names `import-children` and the demo gave their opening
/// balances before they had an entry kind of their own: such a deposit in
/// an older store is an opening balance, not cash.
pub const LEGACY_OPENING_COUNTERS: [&str; 2] = ["import", "demo"];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DayReport {
    /// Per item, most money (net) first.
    pub items: Vec<ItemTotal>,
    /// Per child, most money first.
    pub children: Vec<ChildTotal>,
    /// Every sale made this day, refunded or not (what the ledger counts).
    pub sales: u32,
    pub sales_total: Money,
    pub refunds: u32,
    pub refunds_total: Money,
    /// Cash top-ups over the counter.
    pub cash_deposits: u32,
    pub cash_deposits_total: Money,
    /// Cash top-ups taken back (positive: the cash that went out again).
    pub reversals: u32,
    pub reversals_total: Money,
    /// Opening balances an import brought in: no cash in this drawer.
    pub openings: u32,
    pub openings_total: Money,
    /// The cash counts of the day, oldest first (the store adds them).
    pub cash_counts: Vec<CashCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemTotal {
    pub name: String,
    pub sold: u32,
    pub sold_amount: Money,
    /// Given back this day, of this day's sales or earlier ones.
    pub refunded: u32,
    pub refunded_amount: Money,
}

impl ItemTotal {
    pub fn net_quantity(&self) -> i64 {
        i64::from(self.sold) - i64::from(self.refunded)
    }

    pub fn net_amount(&self) -> Money {
        self.sold_amount - self.refunded_amount
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildTotal {
    pub name: String,
    /// Sales not given back.
    pub sales: u32,
    /// What the child paid, net of refunds.
    pub amount: Money,
}

/// Staff counted the drawer: what they found, and what the counter
/// expected then ([`DayReport::expected_cash`] at that moment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashCount {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub counter: String,
    pub counted: Money,
    pub expected: Money,
}

impl CashCount {
    /// Positive: more in the drawer than expected.
    pub fn difference(&self) -> Money {
        self.counted - self.expected
    }
}

impl DayReport {
    /// Sales minus refunds: what the day really took in.
    pub fn net(&self) -> Money {
        self.sales_total - self.refunds_total
    }

    /// The cash the drawer should have gained this day: cash top-ups minus
    /// those taken back. Sales move balances, not cash; opening balances
    /// were paid elsewhere, before.
    pub fn expected_cash(&self) -> Money {
        self.cash_deposits_total - self.reversals_total
    }

    /// The day's last cash count, if staff made one.
    pub fn last_count(&self) -> Option<&CashCount> {
        self.cash_counts.last()
    }

    /// Builds the report from one day's entries; `earlier_sale` finds a
    /// sale of another day that a refund of this day gives back (its lines
    /// say what came back), and `name_of` names a child.
    pub fn build<'a>(
        entries: impl IntoIterator<Item = &'a Entry>,
        earlier_sale: impl Fn(Uuid) -> Option<Entry>,
        name_of: impl Fn(ChildId) -> String,
    ) -> DayReport {
        let entries: Vec<&Entry> = entries.into_iter().collect();
        let sales: HashMap<Uuid, &Entry> = entries
            .iter()
            .filter(|e| e.is_sale())
            .map(|e| (e.id, *e))
            .collect();
        let refunded: std::collections::HashSet<Uuid> = entries
            .iter()
            .filter_map(|e| match e.kind {
                EntryKind::Refund { sale } => Some(sale),
                _ => None,
            })
            .collect();
        let mut report = DayReport::default();
        // By name and the price charged: a price changed at the counter
        // during the day is a row of its own.
        let mut items: BTreeMap<(String, Money), ItemTotal> = BTreeMap::new();
        let mut children: BTreeMap<ChildId, (u32, Money)> = BTreeMap::new();
        for entry in entries {
            match &entry.kind {
                EntryKind::Sale { lines, .. } => {
                    report.sales += 1;
                    report.sales_total += -entry.amount;
                    for line in lines {
                        let item = items
                            .entry((line.name.clone(), line.unit_price))
                            .or_default();
                        item.sold += line.quantity;
                        item.sold_amount += line.total();
                    }
                    let slot = children.entry(entry.child).or_default();
                    if !refunded.contains(&entry.id) {
                        slot.0 += 1;
                    }
                    slot.1 += -entry.amount;
                }
                EntryKind::Refund { sale } => {
                    report.refunds += 1;
                    report.refunds_total += entry.amount;
                    children.entry(entry.child).or_default().1 -= entry.amount;
                    let found = sales.get(sale).map(|s| (*s).clone());
                    if let Some(EntryKind::Sale { lines, .. }) =
                        found.or_else(|| earlier_sale(*sale)).map(|s| s.kind)
                    {
                        for line in lines {
                            let item = items
                                .entry((line.name.clone(), line.unit_price))
                                .or_default();
                            item.refunded += line.quantity;
                            item.refunded_amount += line.total();
                        }
                    }
                }
                EntryKind::Deposit if LEGACY_OPENING_COUNTERS.contains(&entry.counter.as_str()) => {
                    report.openings += 1;
                    report.openings_total += entry.amount;
                }
                EntryKind::Deposit => {
                    report.cash_deposits += 1;
                    report.cash_deposits_total += entry.amount;
                }
                EntryKind::DepositReversal { .. } => {
                    report.reversals += 1;
                    report.reversals_total += -entry.amount;
                }
                EntryKind::OpeningBalance => {
                    report.openings += 1;
                    report.openings_total += entry.amount;
                }
                // No cash over this counter's desk (a counter never holds an
                // adjustment: only the ledger's office makes one).
                EntryKind::Withdrawal | EntryKind::CardFee | EntryKind::Adjustment => {}
            }
        }
        let mut prices: HashMap<&str, u32> = HashMap::new();
        for (name, _) in items.keys() {
            *prices.entry(name).or_default() += 1;
        }
        let labels: Vec<String> = items
            .keys()
            .map(|(name, price)| match prices[name.as_str()] {
                1 => name.clone(),
                _ => format!("{name} ({price})"),
            })
            .collect();
        report.items = labels
            .into_iter()
            .zip(items.into_values())
            .map(|(name, total)| ItemTotal { name, ..total })
            .collect();
        report.items.sort_by(|a, b| {
            b.net_amount()
                .cmp(&a.net_amount())
                .then_with(|| a.name.cmp(&b.name))
        });
        report.children = children
            .into_iter()
            .map(|(id, (sales, amount))| ChildTotal {
                name: name_of(id),
                sales,
                amount,
            })
            .collect();
        report
            .children
            .sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.name.cmp(&b.name)));
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CardUid, SaleLine};
    use chrono::Utc;

    fn line(name: &str, kr: i64, quantity: u32) -> SaleLine {
        SaleLine {
            name: name.into(),
            category: "mad".into(),
            unit_price: Money::kroner(kr),
            quantity,
        }
    }

    #[test]
    fn an_item_sold_at_two_prices_is_a_row_for_each() {
        let a = ChildId::new();
        let uid = CardUid::parse("04A1B2C3").unwrap();
        let now = Utc::now();
        let at_12 = Entry::sale(a, uid.clone(), vec![line("Toast", 12, 2)], "k", now);
        let at_10 = Entry::sale(a, uid.clone(), vec![line("Toast", 10, 1)], "k", now);
        let saft = Entry::sale(a, uid, vec![line("Saft", 5, 1)], "k", now);
        let report = DayReport::build([&at_12, &at_10, &saft], |_| None, |_| "A".into());
        let rows: Vec<(&str, u32, Money)> = report
            .items
            .iter()
            .map(|i| (i.name.as_str(), i.sold, i.sold_amount))
            .collect();
        assert_eq!(
            rows,
            [
                ("Toast (12,00 kr.)", 2, Money::kroner(24)),
                ("Toast (10,00 kr.)", 1, Money::kroner(10)),
                ("Saft", 1, Money::kroner(5)),
            ]
        );
    }

    #[test]
    fn sums_items_children_and_refunds() {
        let (a, b) = (ChildId::new(), ChildId::new());
        let uid = CardUid::parse("04A1B2C3").unwrap();
        let now = Utc::now();
        let s1 = Entry::sale(a, uid.clone(), vec![line("Toast", 12, 2)], "k", now);
        let s2 = Entry::sale(
            b,
            uid.clone(),
            vec![line("Toast", 12, 1), line("Saft", 5, 1)],
            "k",
            now,
        );
        let r = Entry::new(
            b,
            EntryKind::Refund { sale: s2.id },
            Money::kroner(17),
            "k",
            now,
        );
        let d = Entry::new(a, EntryKind::Deposit, Money::kroner(100), "k", now);
        let report = DayReport::build(
            [&s1, &s2, &r, &d],
            |_| None,
            |id| {
                if id == a { "Anna".into() } else { "Bo".into() }
            },
        );
        assert_eq!(report.sales, 2);
        assert_eq!(report.sales_total, Money::kroner(41));
        assert_eq!(report.refunds, 1);
        assert_eq!(report.refunds_total, Money::kroner(17));
        assert_eq!(report.net(), Money::kroner(24));
        assert_eq!(report.cash_deposits_total, Money::kroner(100));
        // The refunded sale is not counted as sold: net per item.
        assert_eq!(
            report.items,
            vec![
                ItemTotal {
                    name: "Toast".into(),
                    sold: 3,
                    sold_amount: Money::kroner(36),
                    refunded: 1,
                    refunded_amount: Money::kroner(12),
                },
                ItemTotal {
                    name: "Saft".into(),
                    sold: 1,
                    sold_amount: Money::kroner(5),
                    refunded: 1,
                    refunded_amount: Money::kroner(5),
                },
            ]
        );
        assert_eq!(report.items[0].net_quantity(), 2);
        assert_eq!(report.items[1].net_amount(), Money::ZERO);
        let net: Money = report.items.iter().map(ItemTotal::net_amount).sum();
        assert_eq!(net, report.net());
        assert_eq!(report.children[0].name, "Anna");
        assert_eq!(report.children[0].amount, Money::kroner(24));
        assert_eq!(
            (report.children[1].sales, report.children[1].amount),
            (0, Money::ZERO)
        );
    }

    #[test]
    fn a_refund_of_an_earlier_day_names_its_items() {
        let a = ChildId::new();
        let uid = CardUid::parse("04A1B2C3").unwrap();
        let now = Utc::now();
        let yesterday = Entry::sale(a, uid, vec![line("Kakao", 8, 1)], "k", now);
        let r = Entry::new(
            a,
            EntryKind::Refund { sale: yesterday.id },
            Money::kroner(8),
            "k",
            now,
        );
        let report = DayReport::build(
            [&r],
            |id| (id == yesterday.id).then(|| yesterday.clone()),
            |_| "Anna".into(),
        );
        assert_eq!((report.sales, report.refunds), (0, 1));
        assert_eq!(report.items[0].name, "Kakao");
        assert_eq!(report.items[0].net_quantity(), -1);
        assert_eq!(report.items[0].net_amount(), Money::kroner(-8));
    }

    /// The drawer's money apart from the money an import brought in: a
    /// fresh demo has opening balances and no cash.
    #[test]
    fn cash_apart_from_opening_balances() {
        let (a, b) = (ChildId::new(), ChildId::new());
        let now = Utc::now();
        let opening = Entry::new(
            a,
            EntryKind::OpeningBalance,
            Money::kroner(500),
            "import",
            now,
        );
        // An opening balance an older import wrote as a deposit.
        let legacy = Entry::new(b, EntryKind::Deposit, Money::kroner(261), "demo", now);
        let cash = Entry::new(a, EntryKind::Deposit, Money::kroner(200), "Klub", now);
        let more = Entry::new(b, EntryKind::Deposit, Money::kroner(50), "Klub", now);
        let back = Entry::new(
            a,
            EntryKind::DepositReversal { deposit: cash.id },
            Money::kroner(-200),
            "Klub",
            now,
        );
        let fresh = DayReport::build([&opening, &legacy], |_| None, |id| id.to_string());
        assert_eq!(
            (fresh.openings, fresh.openings_total),
            (2, Money::kroner(761))
        );
        assert_eq!(fresh.cash_deposits_total, Money::ZERO);
        assert_eq!(fresh.expected_cash(), Money::ZERO);

        let day = DayReport::build(
            [&opening, &legacy, &cash, &more, &back],
            |_| None,
            |id| id.to_string(),
        );
        assert_eq!(
            (day.cash_deposits, day.cash_deposits_total),
            (2, Money::kroner(250))
        );
        assert_eq!(
            (day.reversals, day.reversals_total),
            (1, Money::kroner(200))
        );
        assert_eq!(day.expected_cash(), Money::kroner(50));
        assert_eq!(day.openings_total, Money::kroner(761));
        assert!(day.items.is_empty() && day.children.is_empty());
    }

    #[test]
    fn a_count_says_what_is_missing() {
        let count = CashCount {
            id: Uuid::nil(),
            at: Utc::now(),
            counter: "Klub".into(),
            counted: Money::from_ore(4550),
            expected: Money::kroner(50),
        };
        assert_eq!(count.difference(), Money::from_ore(-450));
    }
}
