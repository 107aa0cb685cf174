//! What the staff screen tells staff: values while the kiosk runs, words
//! (from the text catalogue) only when drawn.

use super::{AmountError, ItemDone};
use crate::action::{StaffFailure, StaffOutcome};
use crate::i18n::{StaffTexts, fill};
use klubkasse_core::domain::CardUid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A task finished.
    Done(StaffOutcome),
    PinLocked {
        seconds: u64,
    },
    PinWrong {
        tries: u32,
    },
    AlreadyRefunded,
    NoActivityToday,
    AlreadyReversed,
    NoTopUpsToday,
    BadAmount(AmountError),
    CardTaken {
        owner: String,
    },
    OnlySalesRefund,
    BadPrice(AmountError),
    ItemChanged {
        name: String,
        done: ItemDone,
    },
    /// Enter in the menu with no task chosen.
    ChooseTask,
    CardUnknown {
        uid: CardUid,
    },
    CardNotBlocked {
        uid: CardUid,
        name: String,
    },
    NoBlockedCards,
}

impl Message {
    /// Good news (green) or not (red).
    pub fn is_good(&self) -> bool {
        match self {
            Message::Done(outcome) => outcome.succeeded(),
            Message::NoActivityToday
            | Message::NoTopUpsToday
            | Message::NoBlockedCards
            | Message::ChooseTask
            | Message::ItemChanged { .. } => true,
            _ => false,
        }
    }

    pub fn text(&self, t: &StaffTexts) -> String {
        match self {
            Message::Done(outcome) => outcome_text(t, outcome),
            Message::PinLocked { seconds } => {
                fill(&t.pin_locked, &[("seconds", &seconds.to_string())])
            }
            Message::PinWrong { tries } => fill(&t.pin_wrong, &[("tries", &tries.to_string())]),
            Message::AlreadyRefunded => t.already_refunded.clone(),
            Message::NoActivityToday => t.tools.no_activity.clone(),
            Message::AlreadyReversed => t.already_reversed.clone(),
            Message::NoTopUpsToday => t.no_top_ups_today.clone(),
            Message::BadAmount(e) => amount_text(t, e),
            Message::CardTaken { owner } => fill(&t.card_taken, &[("name", owner)]),
            Message::OnlySalesRefund => t.tools.only_sales_refund.clone(),
            Message::BadPrice(e) => fill(&t.tools.bad_price, &[("error", &amount_text(t, e))]),
            Message::ItemChanged { name, done } => match done {
                ItemDone::Price(price) => fill(
                    &t.tools.price_set,
                    &[("name", name), ("price", &price.to_string())],
                ),
                ItemDone::SoldOut => fill(&t.tools.is_sold_out, &[("name", name)]),
                ItemDone::BackInStock => fill(&t.tools.is_back, &[("name", name)]),
            },
            Message::ChooseTask => t.menu_pick.clone(),
            Message::CardUnknown { uid } => fill(&t.card_unknown, &[("uid", uid.as_str())]),
            Message::CardNotBlocked { uid, name } => fill(
                &t.card_not_blocked,
                &[("uid", uid.as_str()), ("name", name)],
            ),
            Message::NoBlockedCards => t.no_blocked_cards.clone(),
        }
    }
}

/// Why a typed amount is not taken, as a hint in the screen's language.
fn amount_text(t: &StaffTexts, e: &AmountError) -> String {
    use klubkasse_core::domain::AmountError as Read;
    let with = |template: &str, text: &str| fill(template, &[("text", text)]);
    match e {
        AmountError::Unreadable(Read::Empty) => t.amount_empty.clone(),
        AmountError::Unreadable(Read::NotANumber(text)) => with(&t.amount_not_a_number, text),
        AmountError::Unreadable(Read::Ambiguous(text)) => with(&t.amount_ambiguous, text),
        AmountError::Unreadable(Read::Misgrouped(text)) => with(&t.amount_misgrouped, text),
        AmountError::Unreadable(Read::TooPrecise(text)) => with(&t.amount_too_precise, text),
        AmountError::Unreadable(Read::TooLarge(text)) => with(&t.amount_too_large, text),
        AmountError::Zero => t.amount_zero.clone(),
        AmountError::TooMuch { max } => fill(&t.amount_too_much, &[("max", &max.to_string())]),
    }
}

/// A finished task in words (also for the headless front end).
pub fn outcome_text(t: &StaffTexts, outcome: &StaffOutcome) -> String {
    match outcome {
        StaffOutcome::Undone { name, amount } => fill(
            &t.undone,
            &[("name", name), ("amount", &amount.to_string())],
        ),
        StaffOutcome::NothingToUndo => t.nothing_to_undo.clone(),
        StaffOutcome::TooOldToUndo { minutes } => {
            fill(&t.too_old_to_undo, &[("minutes", &minutes.to_string())])
        }
        StaffOutcome::Refunded { name, amount } => fill(
            &t.refunded,
            &[("amount", &amount.to_string()), ("name", name)],
        ),
        StaffOutcome::ToppedUp {
            name,
            amount,
            balance,
        } => fill(
            &t.topped_up,
            &[
                ("amount", &amount.to_string()),
                ("name", name),
                ("balance", &balance.to_string()),
            ],
        ),
        StaffOutcome::ChildAdded { name } => fill(&t.child_added, &[("name", name)]),
        StaffOutcome::CardHandedOut { uid, name } => {
            fill(&t.card_handed_out, &[("uid", uid.as_str()), ("name", name)])
        }
        StaffOutcome::CardsBlocked(cards) => {
            let blocked = cards
                .iter()
                .map(|(uid, name)| fill(&t.card_blocked, &[("uid", uid.as_str()), ("name", name)]));
            blocked.collect::<Vec<_>>().join(" ")
        }
        StaffOutcome::CardUnblocked { uid, name } => {
            fill(&t.card_unblocked, &[("uid", uid.as_str()), ("name", name)])
        }
        StaffOutcome::Exported { path } => {
            fill(&t.exported, &[("path", &path.display().to_string())])
        }
        StaffOutcome::Reversed {
            name,
            amount,
            balance,
        } => fill(
            &t.reversed,
            &[
                ("amount", &amount.to_string()),
                ("name", name),
                ("balance", &balance.to_string()),
            ],
        ),
        StaffOutcome::SpentSinceTopUp { balance, amount } => fill(
            &t.spent_since_top_up,
            &[
                ("balance", &balance.to_string()),
                ("amount", &amount.to_string()),
            ],
        ),
        StaffOutcome::CashCounted(count) => fill(
            &t.cash_counted,
            &[
                ("counted", &count.counted.to_string()),
                ("expected", &count.expected.to_string()),
                ("difference", &count.difference().to_string()),
            ],
        ),
        StaffOutcome::Failed(failure) => match failure {
            StaffFailure::Store(error) => fill(&t.error, &[("error", error)]),
            StaffFailure::Read(error) => error.clone(),
            StaffFailure::Export { path, error } => fill(
                &t.error,
                &[("error", &format!("{}: {error}", path.display()))],
            ),
            StaffFailure::Internal => t.internal_error.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::i18n::{Language, Texts};
    use klubkasse_core::domain::{AmountError as Read, CardUid, Money};

    /// The words staff read, for the values tests/app.rs asserts on.
    #[test]
    fn messages_in_danish() {
        let t = &Texts::of(Language::DA).staff;
        let uid = |hex| CardUid::parse(hex).unwrap();
        let done = |outcome| Message::Done(outcome);
        let cases = [
            (
                done(StaffOutcome::Undone {
                    name: "Freja Nielsen".into(),
                    amount: Money::kroner(24),
                }),
                "Salget til Freja Nielsen på 24,00 kr. er fortrudt.",
            ),
            (
                done(StaffOutcome::NothingToUndo),
                "Der er intet salg at fortryde.",
            ),
            (
                done(StaffOutcome::ToppedUp {
                    name: "Oscar Hansen".into(),
                    amount: Money::from_ore(1250),
                    balance: Money::from_ore(1600),
                }),
                "12,50 kr. indbetalt til Oscar Hansen. Saldo nu 16,00 kr.",
            ),
            (
                done(StaffOutcome::ChildAdded {
                    name: "Æble Åsen".into(),
                }),
                "Æble Åsen er tilføjet.",
            ),
            (
                done(StaffOutcome::CardHandedOut {
                    uid: uid("0A0B0C0D"),
                    name: "Æble Åsen".into(),
                }),
                "Kort 0A0B0C0D er givet til Æble Åsen.",
            ),
            (
                done(StaffOutcome::CardsBlocked(vec![
                    (uid("04F6A7B8"), "Noah Sørensen".into()),
                    (uid("0A0B0C0D"), "Noah Sørensen".into()),
                ])),
                "Kort 04F6A7B8 (Noah Sørensen) er spærret. \
                 Kort 0A0B0C0D (Noah Sørensen) er spærret.",
            ),
            (
                done(StaffOutcome::Exported {
                    path: PathBuf::from("/data/reports/r.csv"),
                }),
                "Rapporten er gemt i /data/reports/r.csv",
            ),
            (
                done(StaffOutcome::Failed(StaffFailure::Store(
                    "disk full".into(),
                ))),
                "Fejl: disk full",
            ),
            (
                done(StaffOutcome::Failed(StaffFailure::Read("disk full".into()))),
                "disk full",
            ),
            (
                Message::CardTaken {
                    owner: "Freja Nielsen".into(),
                },
                "Kortet tilhører allerede Freja Nielsen.",
            ),
            (
                Message::ItemChanged {
                    name: "Toast".into(),
                    done: ItemDone::Price(Money::kroner(10)),
                },
                "Toast koster nu 10,00 kr.",
            ),
            (
                Message::ItemChanged {
                    name: "Frugt".into(),
                    done: ItemDone::SoldOut,
                },
                "Frugt er udsolgt.",
            ),
            (
                done(StaffOutcome::CardUnblocked {
                    uid: uid("04C3D4E5"),
                    name: "Ida Jensen".into(),
                }),
                "Kort 04C3D4E5 (Ida Jensen) virker igen.",
            ),
            (
                Message::CardNotBlocked {
                    uid: uid("04A1B2C3"),
                    name: "Freja Nielsen".into(),
                },
                "Kort 04A1B2C3 (Freja Nielsen) er ikke spærret.",
            ),
            (
                Message::CardUnknown {
                    uid: uid("DEADBEEF"),
                },
                "Kort DEADBEEF kendes ikke.",
            ),
            (
                Message::PinLocked { seconds: 60 },
                "For mange forkerte forsøg. Låst i 60 s.",
            ),
            (
                Message::PinWrong { tries: 2 },
                "Forkert PIN — 2 forsøg tilbage",
            ),
            (
                Message::BadAmount(AmountError::TooMuch {
                    max: Money::kroner(2_000),
                }),
                "Højst 2.000,00 kr. ad gangen",
            ),
            (
                Message::BadAmount(AmountError::Unreadable(Read::NotANumber(",".into()))),
                "«,» er ikke et beløb. Skriv fx 50, 2.000 eller 12,50",
            ),
            (
                Message::BadAmount(AmountError::Unreadable(Read::Ambiguous("12.50".into()))),
                "«12.50» kan læses på to måder. Skriv øre efter komma (12,50) \
                 og tusinder med punktum (2.000)",
            ),
            (
                done(StaffOutcome::Reversed {
                    name: "Bo".into(),
                    amount: Money::kroner(2),
                    balance: Money::kroner(20),
                }),
                "2,00 kr. er tilbageført for Bo (giv pengene tilbage). Saldo nu 20,00 kr.",
            ),
            (
                done(StaffOutcome::SpentSinceTopUp {
                    balance: Money::kroner(5),
                    amount: Money::kroner(20),
                }),
                "Saldoen (5,00 kr.) er mindre end indbetalingen (20,00 kr.): \
                 barnet har brugt af den. Tilbagebetal salgene først.",
            ),
        ];
        for (message, words) in cases {
            assert_eq!(message.text(t), words, "{message:?}");
        }
    }

    #[test]
    fn only_what_went_well_is_good_news() {
        assert!(Message::Done(StaffOutcome::NothingToUndo).is_good());
        assert!(Message::NoActivityToday.is_good());
        assert!(!Message::Done(StaffOutcome::Failed(StaffFailure::Internal)).is_good());
        assert!(!Message::AlreadyRefunded.is_good());
        assert!(!Message::PinWrong { tries: 1 }.is_good());
    }
}
