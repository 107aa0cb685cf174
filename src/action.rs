//! Everything that can happen to the kiosk, as one enum.
//!
//! The bindable actions are named in `keymaps/*.toml` (snake_case); the
//! rest come from the card reader, the clock and finished effects.

use std::path::PathBuf;

use serde::Deserialize;

use crate::reader::ReaderStatus;
use crate::store::MenuChanges;
use klubkasse_core::domain::{
    AccountView, CardUid, CashCount, Child, ChildId, DayReport, Entry, Money, PinGuard, Refusal,
};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Enter: charge the basket, choose, accept.
    Confirm,
    /// Esc: cancel the sale, go back.
    Cancel,
    /// Open the staff menu (behind the PIN).
    Staff,
    QuantityUp,
    QuantityDown,
    RemoveLine,
    Up,
    Down,
    /// On the day report: save it as CSV.
    ExportReport,
    /// The sale's menu, when it has more items than fit: the next page.
    NextPage,
    PreviousPage,
    /// Only on the too-small screen, where nothing else can be reached;
    /// elsewhere staff quit from their menu.
    Quit,

    // ---- not bindable: input, cards, clock, finished effects ----
    #[serde(skip)]
    AddItem(char),
    /// A character typed into a text field (PIN, name, amount).
    #[serde(skip)]
    Input(char),
    #[serde(skip)]
    DeleteChar,
    #[serde(skip)]
    CardTapped(CardUid),
    #[serde(skip)]
    CardUnreadable,
    /// News from the sync task.
    #[serde(skip)]
    Sync(crate::sync::SyncStatus),
    /// Something staff should see on the idle screen (e.g. a failed backup).
    #[serde(skip)]
    Notice(String),
    #[serde(skip)]
    Reader(ReaderStatus),
    #[serde(skip)]
    Tick,
    /// The terminal's new size (columns, rows).
    #[serde(skip)]
    Resize(u16, u16),
    /// The upkeep is done: free space, and the backup if one was due.
    #[serde(skip)]
    Upkept {
        space: crate::store::disk::Space,
        backup: Option<Result<(), String>>,
    },
    /// A step of the day's closing is done: `Ok(true)` asks for another;
    /// an error is shown, and the closing is tried again the next day.
    #[serde(skip)]
    DayClosed {
        today: chrono::NaiveDate,
        more: Result<bool, String>,
    },
    #[serde(skip)]
    AccountLoaded(Result<AccountView, Refusal>),
    #[serde(skip)]
    SaleSaved {
        sale: Box<Entry>,
        balance: Money,
    },
    #[serde(skip)]
    SaleRefused(Refusal),
    #[serde(skip)]
    SaleFailed(String),
    #[serde(skip)]
    PinChecked {
        ok: bool,
        guard: PinGuard,
    },
    #[serde(skip)]
    ChildrenLoaded(Vec<Child>),
    /// Today's entries for the activity list, newest first.
    #[serde(skip)]
    ActivityLoaded(Vec<ActivityRow>),
    /// A child found by name: balance and today's entries.
    #[serde(skip)]
    ChildAccount(Box<ChildAccount>),
    /// Staff changed the menu at the counter: all changes as stored now.
    #[serde(skip)]
    MenuChanged(MenuChanges),
    #[serde(skip)]
    ReportLoaded(DayReport),
    /// A staff task finished: what happened.
    #[serde(skip)]
    StaffDone(StaffOutcome),
    /// A card tapped while staff wait for one, with its owner if known.
    #[serde(skip)]
    StaffCard {
        uid: CardUid,
        owner: Option<Child>,
    },
    /// The sale "undo" would take back, for staff to confirm.
    #[serde(skip)]
    UndoFound(ActivityRow),
    #[serde(skip)]
    BlockedCardsLoaded(Vec<BlockedCard>),
    /// A child's balance, for the top-up page.
    #[serde(skip)]
    BalanceLoaded {
        child: ChildId,
        balance: Money,
    },
    /// Today's cash top-ups at this counter, for the reversal page.
    #[serde(skip)]
    TopUpsLoaded(Vec<TopUpRow>),
}

/// What a staff task did, in values: the staff screen puts it in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffOutcome {
    /// The last sale was refunded.
    Undone {
        name: String,
        amount: Money,
    },
    NothingToUndo,
    /// The last sale is older than the undo window (in minutes).
    TooOldToUndo {
        minutes: u64,
    },
    Refunded {
        name: String,
        amount: Money,
    },
    ToppedUp {
        name: String,
        amount: Money,
        balance: Money,
    },
    ChildAdded {
        name: String,
    },
    CardHandedOut {
        uid: CardUid,
        name: String,
    },
    /// The cards blocked, with their owners' names (none: nothing to block).
    CardsBlocked(Vec<(CardUid, String)>),
    CardUnblocked {
        uid: CardUid,
        name: String,
    },
    Exported {
        path: PathBuf,
    },
    /// A cash top-up was taken back; the cash goes back over the counter.
    Reversed {
        name: String,
        amount: Money,
        balance: Money,
    },
    /// The child has spent part of the top-up since: the balance is less.
    SpentSinceTopUp {
        balance: Money,
        amount: Money,
    },
    CashCounted(CashCount),
    Failed(StaffFailure),
}

impl StaffOutcome {
    pub fn succeeded(&self) -> bool {
        !matches!(
            self,
            StaffOutcome::Failed(_) | StaffOutcome::SpentSinceTopUp { .. }
        )
    }
}

/// Why a staff task failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffFailure {
    /// The store could not make the change.
    Store(String),
    /// What the task or the page needed could not be read.
    Read(String),
    /// The report could not be written to `path`.
    Export { path: PathBuf, error: String },
    /// The task panicked (the log has the rest).
    Internal,
}

/// One of today's cash top-ups, as the reversal list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopUpRow {
    pub deposit: Entry,
    pub child_name: String,
    pub reversed: bool,
}

/// One of today's entries (sale, top-up, refund…), as the activity list
/// shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRow {
    pub entry: Entry,
    pub child_name: String,
    /// A sale that has been paid back.
    pub refunded: bool,
}

/// A child's money without the card: what the balance page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildAccount {
    pub view: AccountView,
    /// The child's entries today, newest first.
    pub today: Vec<ActivityRow>,
}

/// A blocked card and whose it is, as the unblock list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedCard {
    pub uid: CardUid,
    pub child_name: String,
}

impl Action {
    /// The actions a keymap may name, for messages and docs.
    pub const BINDABLE: &'static [&'static str] = &[
        "confirm",
        "cancel",
        "staff",
        "quantity_up",
        "quantity_down",
        "remove_line",
        "up",
        "down",
        "export_report",
        "next_page",
        "previous_page",
        "quit",
    ];
}
