//! Staff's changes to the menu at the counter: another price, or sold
//! out, per item, kept until staff change them back. The menu file stays
//! the default; `Menu::with_changes` (src/config.rs) applies these.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::codec::{decode, encode};
use super::{Store, StoreError};
use klubkasse_core::domain::Money;

/// The highest price staff may set: a slip must not make a toast cost
/// 1.200 kr. (a backup with more is refused too).
pub const MAX_PRICE_KRONER: i64 = 500;

/// What staff changed about one item. Nothing changed is not stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemChange {
    /// Charged instead of the menu file's price.
    pub price: Option<Money>,
    /// Not sold until staff say it is back.
    pub sold_out: bool,
}

impl ItemChange {
    pub fn is_none(&self) -> bool {
        self.price.is_none() && !self.sold_out
    }
}

/// The changes by item name: the name, not the key, so that an item
/// moved to another key in the menu file keeps its change.
pub type MenuChanges = BTreeMap<String, ItemChange>;

impl Store {
    pub fn menu_changes(&self) -> Result<MenuChanges, StoreError> {
        self.menu_changes
            .iter()
            .map(|item| {
                let (name, value) = item?;
                Ok((
                    String::from_utf8_lossy(&name).into_owned(),
                    decode(&value, "menu change")?,
                ))
            })
            .collect()
    }

    /// Sets (or, when it changes nothing, removes) the change to `item`,
    /// flushed; returns all changes as they are now.
    pub fn set_menu_change(
        &self,
        item: &str,
        change: ItemChange,
    ) -> Result<MenuChanges, StoreError> {
        self.usable()?;
        {
            let _lock = self.lock();
            let written = if change.is_none() {
                self.menu_changes.remove(item.as_bytes()).map(drop)
            } else {
                self.menu_changes
                    .insert(item.as_bytes(), encode(&change))
                    .map(drop)
            };
            written.map_err(|e| self.write_failed(e))?;
        }
        self.flush()?;
        tracing::info!(item, price = ?change.price, sold_out = change.sold_out, "menu changed at the counter");
        self.menu_changes()
    }
}
