//! The day report: what was sold, to whom, and what was given back.

use std::collections::BTreeMap;

use super::{ChildId, Entry, EntryKind, Money};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DayReport {
    /// Per item, most money first.
    pub items: Vec<ItemTotal>,
    /// Per child, most money first.
    pub children: Vec<ChildTotal>,
    pub sales: u32,
    pub sales_total: Money,
    pub refunds: u32,
    pub refunds_total: Money,
    pub deposits_total: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemTotal {
    pub name: String,
    pub quantity: u32,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildTotal {
    pub name: String,
    pub sales: u32,
    pub amount: Money,
}

impl DayReport {
    /// Sales minus refunds: what the day really took in.
    pub fn net(&self) -> Money {
        self.sales_total - self.refunds_total
    }

    /// Builds the report from one day's entries; `name_of` names a child.
    pub fn build<'a>(
        entries: impl IntoIterator<Item = &'a Entry>,
        name_of: impl Fn(ChildId) -> String,
    ) -> DayReport {
        let mut report = DayReport::default();
        let mut items: BTreeMap<String, (u32, Money)> = BTreeMap::new();
        let mut children: BTreeMap<ChildId, (u32, Money)> = BTreeMap::new();
        for entry in entries {
            match &entry.kind {
                EntryKind::Sale { lines, .. } => {
                    report.sales += 1;
                    report.sales_total += -entry.amount;
                    for line in lines {
                        let slot = items.entry(line.name.clone()).or_default();
                        slot.0 += line.quantity;
                        slot.1 += line.total();
                    }
                    let slot = children.entry(entry.child).or_default();
                    slot.0 += 1;
                    slot.1 += -entry.amount;
                }
                EntryKind::Refund { .. } => {
                    report.refunds += 1;
                    report.refunds_total += entry.amount;
                    children.entry(entry.child).or_default().1 -= entry.amount;
                }
                EntryKind::Deposit => report.deposits_total += entry.amount,
                EntryKind::Withdrawal | EntryKind::CardFee => {}
            }
        }
        report.items = items
            .into_iter()
            .map(|(name, (quantity, amount))| ItemTotal {
                name,
                quantity,
                amount,
            })
            .collect();
        report
            .items
            .sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.name.cmp(&b.name)));
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

    #[test]
    fn sums_items_children_and_refunds() {
        let (a, b) = (ChildId::new(), ChildId::new());
        let uid = CardUid::parse("04A1B2C3").unwrap();
        let line = |name: &str, kr, quantity| SaleLine {
            name: name.into(),
            category: "mad".into(),
            unit_price: Money::kroner(kr),
            quantity,
        };
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
        let report = DayReport::build([&s1, &s2, &r, &d], |id| {
            if id == a { "Anna".into() } else { "Bo".into() }
        });
        assert_eq!(report.sales, 2);
        assert_eq!(report.sales_total, Money::kroner(41));
        assert_eq!(report.refunds, 1);
        assert_eq!(report.refunds_total, Money::kroner(17));
        assert_eq!(report.net(), Money::kroner(24));
        assert_eq!(report.deposits_total, Money::kroner(100));
        assert_eq!(
            report.items,
            vec![
                ItemTotal {
                    name: "Toast".into(),
                    quantity: 3,
                    amount: Money::kroner(36)
                },
                ItemTotal {
                    name: "Saft".into(),
                    quantity: 1,
                    amount: Money::kroner(5)
                },
            ]
        );
        assert_eq!(report.children[0].name, "Anna");
        assert_eq!(report.children[0].amount, Money::kroner(24));
        assert_eq!(report.children[1].amount, Money::ZERO);
    }
}
