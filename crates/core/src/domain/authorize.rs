//! Whether a card may pay for a basket: the rules, with no I/O.

use super::{Card, CardState, CardUid, Child, Money, SaleLine};

/// What the counter knows about a card's owner at the moment of the sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountView {
    pub child: Child,
    /// The card tapped; `None` when staff sell by name (a forgotten card):
    /// the child's rules apply all the same.
    pub card: Option<Card>,
    /// The balance as this counter knows it (the sum of the entries it has).
    pub balance: Money,
    /// Spent today, sales minus refunds, for the daily limit.
    pub spent_today: Money,
    /// This counter's sales the ledger has not yet confirmed (0 standalone).
    pub unconfirmed: Money,
}

impl AccountView {
    fn card_blocked(&self) -> bool {
        self.card
            .as_ref()
            .is_some_and(|c| c.state == CardState::Blocked)
    }

    /// What the child may spend now.
    pub fn available(&self) -> Money {
        self.balance.max(Money::ZERO)
    }

    /// What the daily limit leaves for today, before the basket; `None`
    /// without a limit.
    pub fn left_today(&self) -> Option<Money> {
        self.child
            .daily_limit
            .map(|limit| (limit - self.spent_today).max(Money::ZERO))
    }
}

/// The counter's situation, as it bears on what may be sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// No ledger: the local store is the whole truth.
    Standalone,
    Online,
    /// Connected mode without a ledger answer: sell at most this much per
    /// child beyond what the ledger has confirmed.
    Offline {
        allowance: Money,
    },
}

/// Why a card may not pay. Each has its own message for the child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    UnknownCard { uid: CardUid },
    CardBlocked { name: String },
    NotEnoughMoney { available: Money },
    DailyLimitReached { limit: Money, left: Money },
    CategoryBlocked { category: String },
    OfflineAllowanceUsed { allowance: Money },
}

/// The first check, at the tap: is this a card we may sell to at all?
pub fn admit(lookup: Result<AccountView, CardUid>) -> Result<AccountView, Refusal> {
    match lookup {
        Err(uid) => Err(Refusal::UnknownCard { uid }),
        Ok(view) if view.card_blocked() => Err(Refusal::CardBlocked {
            name: view.child.name,
        }),
        Ok(view) => Ok(view),
    }
}

/// The full check, at Enter, in the order a child would find most useful:
/// card, then what they picked, then money.
pub fn authorize(
    view: &AccountView,
    lines: &[SaleLine],
    connection: Connection,
) -> Result<(), Refusal> {
    if view.card_blocked() {
        return Err(Refusal::CardBlocked {
            name: view.child.name.clone(),
        });
    }
    if let Some(line) = lines.iter().find(|l| view.child.blocks(&l.category)) {
        return Err(Refusal::CategoryBlocked {
            category: line.category.clone(),
        });
    }
    let total: Money = lines.iter().map(SaleLine::total).sum();
    if total > view.available() {
        return Err(Refusal::NotEnoughMoney {
            available: view.available(),
        });
    }
    if let Some(limit) = view.child.daily_limit
        && view.spent_today + total > limit
    {
        return Err(Refusal::DailyLimitReached {
            limit,
            left: view.left_today().unwrap_or(Money::ZERO),
        });
    }
    if let Connection::Offline { allowance } = connection
        && view.unconfirmed + total > allowance
    {
        return Err(Refusal::OfflineAllowanceUsed { allowance });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ChildId;
    use proptest::prelude::*;

    fn view(balance: i64) -> AccountView {
        let child = Child {
            id: ChildId::new(),
            name: "Søren".into(),
            daily_limit: None,
            blocked_categories: vec![],
            note: None,
        };
        AccountView {
            card: Some(Card {
                uid: CardUid::parse("04A1B2C3").unwrap(),
                child: child.id,
                state: CardState::Active,
            }),
            child,
            balance: Money::kroner(balance),
            spent_today: Money::ZERO,
            unconfirmed: Money::ZERO,
        }
    }

    fn line(kr: i64, qty: u32, category: &str) -> SaleLine {
        SaleLine {
            name: "x".into(),
            category: category.into(),
            unit_price: Money::kroner(kr),
            quantity: qty,
        }
    }

    #[test]
    fn admit_refuses_unknown_and_blocked() {
        let uid = CardUid::parse("DEADBEEF").unwrap();
        assert_eq!(admit(Err(uid.clone())), Err(Refusal::UnknownCard { uid }));
        let mut v = view(10);
        if let Some(card) = v.card.as_mut() {
            card.state = CardState::Blocked;
        }
        assert_eq!(
            admit(Ok(v)),
            Err(Refusal::CardBlocked {
                name: "Søren".into()
            })
        );
        assert!(admit(Ok(view(10))).is_ok());
    }

    /// Sold by name (no card): no card to be blocked, but every rule of
    /// the child applies as at a tap.
    #[test]
    fn a_sale_without_card_keeps_the_childs_rules() {
        let mut v = view(20);
        v.card = None;
        v.child.daily_limit = Some(Money::kroner(15));
        v.child.blocked_categories = vec!["slik".into()];
        assert_eq!(
            authorize(&v, &[line(10, 1, "mad")], Connection::Standalone),
            Ok(())
        );
        assert_eq!(
            authorize(&v, &[line(5, 1, "slik")], Connection::Standalone),
            Err(Refusal::CategoryBlocked {
                category: "slik".into()
            })
        );
        assert_eq!(
            authorize(&v, &[line(16, 1, "mad")], Connection::Standalone),
            Err(Refusal::DailyLimitReached {
                limit: Money::kroner(15),
                left: Money::kroner(15)
            })
        );
        assert_eq!(
            authorize(&v, &[line(21, 1, "mad")], Connection::Standalone),
            Err(Refusal::NotEnoughMoney {
                available: Money::kroner(20)
            })
        );
    }

    #[test]
    fn exact_balance_is_enough_and_one_ore_more_is_not() {
        let v = view(24);
        assert_eq!(
            authorize(&v, &[line(12, 2, "mad")], Connection::Standalone),
            Ok(())
        );
        let mut over = line(12, 2, "mad");
        over.unit_price += Money::from_ore(1);
        assert_eq!(
            authorize(&v, &[over], Connection::Standalone),
            Err(Refusal::NotEnoughMoney {
                available: Money::kroner(24)
            })
        );
    }

    #[test]
    fn negative_balance_shows_zero_available() {
        let v = view(-5);
        assert_eq!(
            authorize(&v, &[line(1, 1, "mad")], Connection::Standalone),
            Err(Refusal::NotEnoughMoney {
                available: Money::ZERO
            })
        );
    }

    #[test]
    fn daily_limit_counts_what_was_spent_today() {
        let mut v = view(500);
        v.child.daily_limit = Some(Money::kroner(30));
        v.spent_today = Money::kroner(20);
        assert_eq!(
            authorize(&v, &[line(10, 1, "mad")], Connection::Standalone),
            Ok(())
        );
        assert_eq!(
            authorize(&v, &[line(11, 1, "mad")], Connection::Standalone),
            Err(Refusal::DailyLimitReached {
                limit: Money::kroner(30),
                left: Money::kroner(10)
            })
        );
        assert_eq!(v.left_today(), Some(Money::kroner(10)));
        v.spent_today = Money::kroner(45);
        assert_eq!(v.left_today(), Some(Money::ZERO), "never below zero");
        assert_eq!(view(500).left_today(), None, "no limit, nothing to show");
    }

    #[test]
    fn blocked_category_wins_over_money() {
        let mut v = view(0);
        v.child.blocked_categories = vec!["slik".into()];
        assert_eq!(
            authorize(
                &v,
                &[line(5, 1, "mad"), line(5, 1, "Slik")],
                Connection::Standalone
            ),
            Err(Refusal::CategoryBlocked {
                category: "Slik".into()
            })
        );
    }

    #[test]
    fn offline_allowance_caps_unconfirmed_sales() {
        let mut v = view(500);
        v.unconfirmed = Money::kroner(40);
        let offline = Connection::Offline {
            allowance: Money::kroner(50),
        };
        assert_eq!(authorize(&v, &[line(10, 1, "mad")], offline), Ok(()));
        assert_eq!(
            authorize(&v, &[line(11, 1, "mad")], offline),
            Err(Refusal::OfflineAllowanceUsed {
                allowance: Money::kroner(50)
            })
        );
        assert_eq!(
            authorize(&v, &[line(11, 1, "mad")], Connection::Online),
            Ok(())
        );
    }

    proptest! {
        /// Whatever the numbers, an approved sale never takes the balance
        /// below zero nor the day's spending past the limit.
        #[test]
        fn approval_keeps_every_promise(
            balance in -10_000i64..100_000,
            spent in 0i64..100_000,
            limit in proptest::option::of(0i64..100_000),
            prices in proptest::collection::vec((0i64..5_000, 1u32..5), 0..6),
        ) {
            let mut v = view(0);
            v.balance = Money::from_ore(balance);
            v.spent_today = Money::from_ore(spent);
            v.child.daily_limit = limit.map(Money::from_ore);
            let lines: Vec<SaleLine> = prices.iter().map(|&(p, q)| SaleLine {
                name: "x".into(), category: "mad".into(), unit_price: Money::from_ore(p), quantity: q,
            }).collect();
            let total: Money = lines.iter().map(SaleLine::total).sum();
            match authorize(&v, &lines, Connection::Standalone) {
                Ok(()) => {
                    // A sale never takes money that is not there.
                    prop_assert!(total == Money::ZERO || v.balance - total >= Money::ZERO);
                    if let Some(l) = v.child.daily_limit { prop_assert!(v.spent_today + total <= l); }
                }
                Err(Refusal::NotEnoughMoney { available }) => prop_assert!(total > available),
                Err(Refusal::DailyLimitReached { limit, .. }) => prop_assert!(v.spent_today + total > limit),
                Err(other) => prop_assert!(false, "unexpected refusal {:?}", other),
            }
        }
    }
}
