//! Effects: what `update()` asks the world to do. They run outside both
//! `update()` and `view()`, and their outcome comes back as an [`Action`].

use std::path::PathBuf;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use uuid::Uuid;

use crate::action::{StaffFailure, StaffOutcome};
use crate::i18n::{Language, Texts, fill};
use crate::report;
use crate::store::disk::{Space, megabytes};
use crate::store::{Recorded, Store, StoreError, local_day, write_daily_backup};
use crate::ui::{Action, SaleRow};
use klubkasse_core::domain::{CardState, CardUid, ChildId, Connection, Entry, Money, PinGuard};

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
    UndoLast,
    LoadSales,
    Refund(Uuid),
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
    LoadReport(NaiveDate),
    ExportReport(NaiveDate),
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
    /// For what the store says when the disk is full.
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
            Effect::UndoLast => staff(self.undo_last()),
            Effect::LoadSales => Some(
                self.sales_today()
                    .map_or_else(unreadable, Action::SalesLoaded),
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
            Effect::LoadReport(day) => Some(
                self.store
                    .day_report(day)
                    .map_or_else(unreadable, Action::ReportLoaded),
            ),
            Effect::ExportReport(day) => Some(Action::StaffDone(
                self.export(day).unwrap_or_else(StaffOutcome::Failed),
            )),
            Effect::CloseDay { today, backup } => Some(self.close_day(today, backup)),
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

    /// Today's sales at this counter, newest first.
    fn sales_today(&self) -> Result<Vec<SaleRow>, StoreError> {
        let mut rows = Vec::new();
        for sale in self.store.entries_on(local_day(Utc::now()))? {
            if !sale.is_sale() || sale.counter != self.counter {
                continue;
            }
            rows.push(SaleRow {
                child_name: self.child_name(sale.child)?,
                refunded: self.store.is_refunded(sale.id)?,
                sale,
            });
        }
        rows.reverse();
        Ok(rows)
    }

    fn undo_last(&self) -> Result<StaffOutcome, StoreError> {
        let Some(last) = self.sales_today()?.into_iter().next() else {
            return Ok(StaffOutcome::NothingToUndo);
        };
        let age = (Utc::now() - last.sale.at).to_std().unwrap_or_default();
        if last.refunded {
            return Ok(StaffOutcome::NothingToUndo);
        }
        if age > self.undo_window {
            return Ok(StaffOutcome::TooOldToUndo {
                minutes: self.undo_window.as_secs() / 60,
            });
        }
        let refund = self
            .store
            .refund(last.sale.id, &self.counter, Utc::now(), self.connected)?;
        Ok(StaffOutcome::Undone {
            name: last.child_name,
            amount: refund.amount,
        })
    }

    fn export(&self, day: NaiveDate) -> Result<StaffOutcome, StaffFailure> {
        let read = |e: &dyn std::fmt::Display| StaffFailure::Read(e.to_string());
        let day_report = self.store.day_report(day).map_err(|e| read(&e))?;
        let csv = report::report_csv(&day_report, day).map_err(|e| read(&e))?;
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
