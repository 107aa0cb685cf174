//! Effects: what `update()` asks the world to do. They run outside both
//! `update()` and `view()`, and their outcome comes back as an [`Action`].

use std::path::PathBuf;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use uuid::Uuid;

use crate::action::{BlockedCard, StaffFailure, StaffOutcome, TopUpRow};
use crate::i18n::{Language, Texts, fill};
use crate::report;
use crate::store::disk::{Space, megabytes};
use crate::store::{ItemChange, Recorded, Store, StoreError, local_day, write_daily_backup};
use crate::ui::{Action, ActivityRow, ChildAccount};
use klubkasse_core::domain::{
    CardState, CardUid, ChildId, Connection, Entry, EntryKind, Money, PinGuard,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Who owns the card, as the counter knows it in this connection.
    LookupCard {
        uid: CardUid,
        connection: Connection,
    },
    /// Save the sale and flush it; only then may the screen say "Betalt".
    RecordSale {
        sale: Box<Entry>,
        connection: Connection,
    },
    /// Connected: a sale waits in the outbox, sync now.
    NudgeSync,
    CheckPin {
        pin: String,
        guard: PinGuard,
    },
    /// The sale "undo" would take back, for staff to confirm.
    FindUndo,
    /// Undo this sale, if it is still the one to undo.
    Undo(Uuid),
    /// Today's entries, for the activity list.
    LoadActivity,
    Refund(Uuid),
    /// A child found by name, for a sale without the card.
    LookupChild {
        child: ChildId,
        connection: Connection,
    },
    /// A child's balance and today's entries, without the card.
    LoadAccount {
        child: ChildId,
        connection: Connection,
    },
    /// Staff change an item at the counter (by its name in the menu file).
    ChangeItem {
        name: String,
        change: ItemChange,
    },
    LoadChildren,
    Deposit {
        child: ChildId,
        amount: Money,
    },
    AddChild {
        name: String,
    },
    /// A card tapped in the staff menu: who owns it?
    IdentifyCard(CardUid),
    BindCard {
        uid: CardUid,
        child: ChildId,
    },
    BlockCard(CardUid),
    BlockChildCards(ChildId),
    LoadBlockedCards,
    UnblockCard(CardUid),
    LoadReport(NaiveDate),
    ExportReport(NaiveDate),
    LoadBalance(ChildId),
    /// Today's cash top-ups at this counter.
    LoadTopUps,
    ReverseTopUp(Uuid),
    /// Keep what staff counted in the drawer.
    CountCash(Money),
    /// Once a day: move a closed day to the archive; when none is left,
    /// and `backup` (standalone), write the day's backup file.
    CloseDay {
        today: NaiveDate,
        backup: bool,
    },
    /// Now and then: how much disk is free (the reserve file laid down or
    /// let go), and with `backup` (standalone, idle, the last one an hour
    /// old) the backup written again, today's entries in it.
    Upkeep {
        backup: bool,
    },
    /// The terminal bell, on a refusal.
    Bell,
}

/// What staff and the child are told when an effect panicked.
pub const INTERNAL_ERROR: &str = "internal error (see the log)";

/// What effects need from the world around the kiosk.
pub struct EffectContext {
    pub store: std::sync::Arc<Store>,
    pub counter: String,
    /// Connected to a ledger: card actions go to it too.
    pub connected: bool,
    pub pin_hash: Option<String>,
    pub undo_window: Duration,
    /// Where day reports are exported.
    pub export_dir: PathBuf,
    /// The data folder, where backups go.
    pub data_dir: PathBuf,
    /// Of the exported report's words, and of what the store says when the
    /// disk is full.
    pub language: Language,
}

impl EffectContext {
    /// Runs one effect to its end. Blocking (disk, argon2): the runtime
    /// calls it off the UI task. `Bell` and `NudgeSync` are the runtime's own.
    pub fn execute(&self, effect: Effect) -> Option<Action> {
        let staff = |r: Result<StaffOutcome, StoreError>| {
            Some(Action::StaffDone(r.unwrap_or_else(|e| {
                StaffOutcome::Failed(StaffFailure::Store(self.store_message(&e)))
            })))
        };
        let unreadable = |e: StoreError| {
            Action::StaffDone(StaffOutcome::Failed(StaffFailure::Read(e.to_string())))
        };
        match effect {
            Effect::LookupCard { uid, connection } => {
                Some(match self.store.lookup(&uid, Utc::now(), connection) {
                    Ok(found) => Action::AccountLoaded(klubkasse_core::domain::admit(found)),
                    Err(e) => Action::SaleFailed(self.store_message(&e)),
                })
            }
            Effect::RecordSale { sale, connection } => {
                Some(match self.store.record_sale(&sale, connection) {
                    Ok(Recorded::Saved { balance } | Recorded::AlreadySaved { balance }) => {
                        Action::SaleSaved { sale, balance }
                    }
                    Ok(Recorded::Refused(refusal)) => Action::SaleRefused(refusal),
                    Err(e) => {
                        tracing::error!(error = %e, "sale not saved");
                        Action::SaleFailed(self.store_message(&e))
                    }
                })
            }
            Effect::CheckPin { pin, mut guard } => {
                let ok = self
                    .pin_hash
                    .as_deref()
                    .is_some_and(|hash| crate::pin::verify(&pin, hash));
                if ok {
                    guard.succeeded();
                } else {
                    guard.failed(Utc::now());
                    tracing::warn!("wrong staff PIN");
                }
                if let Err(e) = self.store.set_pin_guard(&guard) {
                    tracing::error!(error = %e, "could not save the PIN lock");
                }
                Some(Action::PinChecked { ok, guard })
            }
            Effect::FindUndo => match self.undo_candidate() {
                Ok(Ok(row)) => Some(Action::UndoFound(row)),
                Ok(Err(outcome)) => Some(Action::StaffDone(outcome)),
                Err(e) => staff(Err(e)),
            },
            Effect::Undo(id) => staff(self.undo(id)),
            Effect::LoadActivity => Some(
                self.activity_today(None)
                    .map_or_else(unreadable, Action::ActivityLoaded),
            ),
            Effect::LookupChild { child, connection } => Some(
                self.store
                    .account(child, Utc::now(), connection)
                    .map_or_else(unreadable, |view| Action::AccountLoaded(Ok(view))),
            ),
            Effect::LoadAccount { child, connection } => Some(
                self.child_account(child, connection)
                    .map_or_else(unreadable, |a| Action::ChildAccount(Box::new(a))),
            ),
            Effect::ChangeItem { name, change } => Some(
                self.store
                    .set_menu_change(&name, change)
                    .map_or_else(unreadable, Action::MenuChanged),
            ),
            Effect::Refund(id) => staff(
                self.store
                    .refund(id, &self.counter, Utc::now(), self.connected)
                    .and_then(|refund| {
                        Ok(StaffOutcome::Refunded {
                            name: self.child_name(refund.child)?,
                            amount: refund.amount,
                        })
                    }),
            ),
            Effect::LoadChildren => Some(
                self.store
                    .children()
                    .map_or_else(unreadable, Action::ChildrenLoaded),
            ),
            Effect::Deposit { child, amount } => staff(
                self.store
                    .deposit(child, amount, &self.counter, Utc::now())
                    .and_then(|balance| {
                        Ok(StaffOutcome::ToppedUp {
                            name: self.child_name(child)?,
                            amount,
                            balance,
                        })
                    }),
            ),
            Effect::AddChild { name } => {
                let child = klubkasse_core::domain::Child {
                    id: ChildId::new(),
                    name: name.clone(),
                    daily_limit: None,
                    blocked_categories: vec![],
                    note: None,
                };
                staff(
                    self.store
                        .put_child(&child)
                        .map(|()| StaffOutcome::ChildAdded { name }),
                )
            }
            Effect::IdentifyCard(uid) => Some(match self.store.card(&uid) {
                Ok(card) => Action::StaffCard {
                    owner: card.and_then(|c| self.store.child(c.child).ok().flatten()),
                    uid,
                },
                Err(e) => unreadable(e),
            }),
            Effect::BindCard { uid, child } => staff(
                self.store
                    .bind_card(&uid, child, self.connected)
                    .and_then(|card| {
                        Ok(StaffOutcome::CardHandedOut {
                            name: self.child_name(card.child)?,
                            uid,
                        })
                    }),
            ),
            Effect::BlockCard(uid) => staff(
                self.block(&uid)
                    .map(|blocked| StaffOutcome::CardsBlocked(vec![blocked])),
            ),
            Effect::BlockChildCards(child) => staff(self.store.cards_of(child).and_then(|cards| {
                let active = cards.iter().filter(|c| c.state == CardState::Active);
                let blocked = active.map(|card| self.block(&card.uid));
                Ok(StaffOutcome::CardsBlocked(
                    blocked.collect::<Result<_, _>>()?,
                ))
            })),
            Effect::LoadBlockedCards => Some(
                self.blocked_cards()
                    .map_or_else(unreadable, Action::BlockedCardsLoaded),
            ),
            Effect::UnblockCard(uid) => staff(
                self.store
                    .set_card_state(&uid, CardState::Active, self.connected)
                    .and_then(|card| {
                        tracing::info!(card = %uid, "card unblocked at the counter");
                        Ok(StaffOutcome::CardUnblocked {
                            name: self.child_name(card.child)?,
                            uid,
                        })
                    }),
            ),
            Effect::LoadReport(day) => Some(
                self.store
                    .day_report(day)
                    .map_or_else(unreadable, Action::ReportLoaded),
            ),
            Effect::ExportReport(day) => Some(Action::StaffDone(
                self.export(day).unwrap_or_else(StaffOutcome::Failed),
            )),
            Effect::CloseDay { today, backup } => Some(self.close_day(today, backup)),
            Effect::LoadBalance(child) => Some(self.store.balance(child).map_or_else(
                unreadable,
                |balance| Action::BalanceLoaded { child, balance },
            )),
            Effect::LoadTopUps => Some(
                self.top_ups_today()
                    .map_or_else(unreadable, Action::TopUpsLoaded),
            ),
            Effect::ReverseTopUp(id) => staff(self.reverse(id)),
            Effect::CountCash(counted) => staff(
                self.store
                    .record_cash_count(counted, &self.counter, Utc::now())
                    .map(StaffOutcome::CashCounted),
            ),
            Effect::Upkeep { backup } => Some(self.upkeep(backup)),
            Effect::Bell | Effect::NudgeSync => None,
        }
    }

    fn upkeep(&self, backup: bool) -> Action {
        let space = self.store.disk_space();
        // A backup on a full disk would only take the room recovery needs.
        let backup = (backup && !matches!(space, Space::Full { .. })).then(|| {
            write_daily_backup(&self.store, &self.data_dir, local_day(Utc::now()))
                .map(drop)
                .map_err(|e| {
                    tracing::error!(error = %e, "the backup failed");
                    e.to_string()
                })
        });
        Action::Upkept { space, backup }
    }

    /// What a person reads when the store refused: the full disk or a
    /// failed write in the counter's language, with what to do.
    pub fn store_message(&self, e: &StoreError) -> String {
        let t = &Texts::of(self.language).result;
        match e {
            StoreError::DiskFull { need, .. } => {
                fill(&t.disk_full, &[("mb", &megabytes(*need).to_string())])
            }
            StoreError::Write(_) | StoreError::Failed => t.write_failed.clone(),
            other => other.to_string(),
        }
    }

    fn close_day(&self, today: NaiveDate, backup: bool) -> Action {
        let step = self.store.close_day(today).map_err(|e| e.to_string());
        let step = match step {
            Ok(closed) if !closed.more && backup => {
                write_daily_backup(&self.store, &self.data_dir, today)
                    .map(|_| false)
                    .map_err(|e| e.to_string())
            }
            other => other.map(|closed| closed.more),
        };
        if let Err(e) = &step {
            tracing::error!(error = %e, "closing the day failed");
        }
        Action::DayClosed { today, more: step }
    }

    fn child_name(&self, id: ChildId) -> Result<String, StoreError> {
        Ok(self
            .store
            .child(id)?
            .map_or_else(|| id.to_string(), |c| c.name))
    }

    /// Blocks a card: its UID and its owner's name.
    fn block(&self, uid: &CardUid) -> Result<(CardUid, String), StoreError> {
        let card = self
            .store
            .set_card_state(uid, CardState::Blocked, self.connected)?;
        let name = self.child_name(card.child)?;
        tracing::info!(card = %uid, "card blocked at the counter");
        Ok((uid.clone(), name))
    }

    /// Today's entries (of one child, or all), newest first, with names.
    fn activity_today(&self, of: Option<ChildId>) -> Result<Vec<ActivityRow>, StoreError> {
        let mut names = std::collections::HashMap::new();
        let mut rows = Vec::new();
        for entry in self.store.entries_on(local_day(Utc::now()))? {
            if of.is_some_and(|child| child != entry.child) {
                continue;
            }
            let child_name = match names.get(&entry.child) {
                Some(name) => String::clone(name),
                None => {
                    let name = self.child_name(entry.child)?;
                    names.insert(entry.child, name.clone());
                    name
                }
            };
            rows.push(ActivityRow {
                refunded: entry.is_sale() && self.store.is_refunded(entry.id)?,
                child_name,
                entry,
            });
        }
        rows.reverse();
        Ok(rows)
    }

    /// Today's cash top-ups at this counter, newest first.
    fn top_ups_today(&self) -> Result<Vec<TopUpRow>, StoreError> {
        let entries = self.store.entries_on(local_day(Utc::now()))?;
        let reversed: std::collections::HashSet<Uuid> = entries
            .iter()
            .filter_map(|e| match e.kind {
                EntryKind::DepositReversal { deposit } => Some(deposit),
                _ => None,
            })
            .collect();
        let mut rows = Vec::new();
        for deposit in entries {
            if deposit.kind != EntryKind::Deposit || deposit.counter != self.counter {
                continue;
            }
            rows.push(TopUpRow {
                child_name: self.child_name(deposit.child)?,
                reversed: reversed.contains(&deposit.id),
                deposit,
            });
        }
        rows.reverse();
        Ok(rows)
    }

    fn reverse(&self, deposit: Uuid) -> Result<StaffOutcome, StoreError> {
        match self
            .store
            .reverse_deposit(deposit, &self.counter, Utc::now())
        {
            Ok((reversal, balance)) => Ok(StaffOutcome::Reversed {
                name: self.child_name(reversal.child)?,
                amount: -reversal.amount,
                balance,
            }),
            Err(StoreError::SpentSinceTopUp { balance, amount }) => {
                Ok(StaffOutcome::SpentSinceTopUp { balance, amount })
            }
            Err(e) => Err(e),
        }
    }

    fn child_account(
        &self,
        child: ChildId,
        connection: Connection,
    ) -> Result<ChildAccount, StoreError> {
        Ok(ChildAccount {
            view: self.store.account(child, Utc::now(), connection)?,
            today: self.activity_today(Some(child))?,
        })
    }

    /// Every blocked card with its owner's name, by name.
    fn blocked_cards(&self) -> Result<Vec<BlockedCard>, StoreError> {
        let mut cards = Vec::new();
        for card in self.store.cards()? {
            if card.state == CardState::Blocked {
                cards.push(BlockedCard {
                    child_name: self.child_name(card.child)?,
                    uid: card.uid,
                });
            }
        }
        cards.sort_by_key(|c| (c.child_name.to_lowercase(), c.uid.clone()));
        Ok(cards)
    }

    /// The sale "undo" takes back: this counter's last of today, not yet
    /// refunded and inside the undo window; or why there is none.
    fn undo_candidate(&self) -> Result<Result<ActivityRow, StaffOutcome>, StoreError> {
        let last = self
            .activity_today(None)?
            .into_iter()
            .find(|row| row.entry.is_sale() && row.entry.counter == self.counter);
        let Some(last) = last else {
            return Ok(Err(StaffOutcome::NothingToUndo));
        };
        let age = (Utc::now() - last.entry.at).to_std().unwrap_or_default();
        if last.refunded {
            return Ok(Err(StaffOutcome::NothingToUndo));
        }
        if age > self.undo_window {
            return Ok(Err(StaffOutcome::TooOldToUndo {
                minutes: self.undo_window.as_secs() / 60,
            }));
        }
        Ok(Ok(last))
    }

    /// Undoes the sale staff confirmed, checked again: the window may have
    /// passed while the question was on screen.
    fn undo(&self, id: Uuid) -> Result<StaffOutcome, StoreError> {
        let last = match self.undo_candidate()? {
            Ok(last) if last.entry.id == id => last,
            Ok(_) => return Ok(StaffOutcome::NothingToUndo),
            Err(why) => return Ok(why),
        };
        let refund = self
            .store
            .refund(id, &self.counter, Utc::now(), self.connected)?;
        Ok(StaffOutcome::Undone {
            name: last.child_name,
            amount: refund.amount,
        })
    }

    fn export(&self, day: NaiveDate) -> Result<StaffOutcome, StaffFailure> {
        let read = |e: &dyn std::fmt::Display| StaffFailure::Read(e.to_string());
        let day_report = self.store.day_report(day).map_err(|e| read(&e))?;
        let csv = report::report_csv(&day_report, day, self.language);
        let path = self.export_dir.join(format!("klubkasse-rapport-{day}.csv"));
        match std::fs::create_dir_all(&self.export_dir).and_then(|()| std::fs::write(&path, csv)) {
            Ok(()) => Ok(StaffOutcome::Exported { path }),
            Err(e) => Err(StaffFailure::Export {
                path,
                error: e.to_string(),
            }),
        }
    }
}
