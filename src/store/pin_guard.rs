//! The staff PIN's lock, kept in the store so that restarting the kiosk does
//! not reset it.

use super::{PinGuard, Store, StoreError, decode, encode};

impl Store {
    /// Kept in the store so that restarting the kiosk does not reset it.
    pub fn pin_guard(&self) -> Result<PinGuard, StoreError> {
        Ok(self
            .meta
            .get("pin_guard")?
            .map(|b| decode(&b, "PIN lock"))
            .transpose()?
            .unwrap_or_default())
    }

    pub fn set_pin_guard(&self, guard: &PinGuard) -> Result<(), StoreError> {
        self.usable()?;
        let _lock = self.lock();
        self.meta.insert("pin_guard", encode(guard))?;
        self.flush()
    }
}
