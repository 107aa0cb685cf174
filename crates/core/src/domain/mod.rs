//! Pure rules of the counter: money, sales, refusals, reports. No I/O here.

mod amount;
mod authorize;
mod basket;
mod model;
mod money;
mod pin;
mod report;

pub use amount::{AmountError, AmountField};
pub use authorize::{AccountView, Connection, Refusal, admit, authorize};
pub use basket::{Basket, BasketLine, MAX_QUANTITY};
pub use model::{
    Card, CardState, CardUid, CardUidError, Child, ChildId, Entry, EntryKind, MenuItem, SaleLine,
    balance_of, new_entry_id,
};
pub use money::{Money, MoneyError};
pub use pin::{PinCheck, PinGuard, TRIES_BEFORE_LOCK};
pub use report::{CashCount, ChildTotal, DayReport, ItemTotal, LEGACY_OPENING_COUNTERS};
