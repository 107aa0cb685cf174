//! Money: balances, the account view a sale is authorised against, entries
//! other than sales (see `sale`), refunds, and the books' own check.

use sled::Transactional;

use super::{
    AccountView, BTreeSet, Card, CardUid, Child, ChildId, Connection, DateTime, Entry, EntryKind,
    Money, NaiveDate, Store, StoreError, Tree, Utc, Uuid, abort, decode, encode, id_day, local_day,
    money_at, spent_tree_name, tx_add, tx_get, unconfirmed,
};

impl Store {
    pub fn balance(&self, child: ChildId) -> Result<Money, StoreError> {
        money_at(&self.balances, child.0.as_bytes(), "balance")
    }

    /// The sum of the child's entries waiting for the ledger.
    pub fn pending(&self, child: ChildId) -> Result<Money, StoreError> {
        money_at(&self.pending, child.0.as_bytes(), "pending")
    }

    pub fn spent_on(&self, child: ChildId, day: NaiveDate) -> Result<Money, StoreError> {
        let _lock = self.lock();
        match self.existing_tree(&spent_tree_name(day))? {
            Some(spent) => money_at(&spent, child.0.as_bytes(), "day spending"),
            None => Ok(Money::ZERO),
        }
    }

    /// What the counter knows about a tapped card; `Err(uid)` if unknown.
    pub fn lookup(
        &self,
        uid: &CardUid,
        now: DateTime<Utc>,
        connection: Connection,
    ) -> Result<Result<AccountView, CardUid>, StoreError> {
        self.usable()?;
        let Some(card) = self.card(uid)? else {
            return Ok(Err(uid.clone()));
        };
        let Some(child) = self.child(card.child)? else {
            return Err(StoreError::Corrupt {
                what: format!("card {uid}"),
                detail: format!("it belongs to child {}, who is not stored", card.child),
            });
        };
        self.account_view(child, Some(card), now, connection)
            .map(Ok)
    }

    /// What the counter knows about a child found by name, for a sale
    /// without the card (or to tell the balance): as [`Store::lookup`]
    /// with no card.
    pub fn account(
        &self,
        child: ChildId,
        now: DateTime<Utc>,
        connection: Connection,
    ) -> Result<AccountView, StoreError> {
        self.usable()?;
        let child = self.child(child)?.ok_or(StoreError::NoSuchChild(child))?;
        self.account_view(child, None, now, connection)
    }

    fn account_view(
        &self,
        child: Child,
        card: Option<Card>,
        now: DateTime<Utc>,
        connection: Connection,
    ) -> Result<AccountView, StoreError> {
        Ok(AccountView {
            balance: self.balance(child.id)?,
            spent_today: self.spent_on(child.id, local_day(now))?,
            unconfirmed: unconfirmed(connection, self.pending(child.id)?),
            child,
            card,
        })
    }

    /// Saves a deposit, withdrawal or card fee: balance and entry together.
    /// Standalone only (connected, money comes in at the ledger), so it
    /// never waits for the ledger: a counter may push only sales and refunds.
    pub fn record_entry(&self, entry: &Entry) -> Result<Money, StoreError> {
        self.usable()?;
        self.room()?;
        if self.child(entry.child)?.is_none() {
            return Err(StoreError::NoSuchChild(entry.child));
        }
        let days = self.lock();
        self.write_entry(&days, entry)
    }

    /// [`Store::record_entry`]'s write, with the day lock held by the caller.
    fn write_entry(&self, days: &BTreeSet<NaiveDate>, entry: &Entry) -> Result<Money, StoreError> {
        let archived = self.archived(days, entry.id)?;
        let entries = self.day_tree(id_day(entry.id.as_bytes()))?;
        let trees = (&entries, &self.balances);
        let line = super::journal::Line::Entry {
            entry: entry.clone(),
            outbox: false,
        };
        self.journaled(vec![line], || {
            let balance = self.unwrap_tx(trees.transaction(|(entries, balances)| {
                let key = entry.child.0.as_bytes();
                let balance: Money = tx_get(balances, key, "balance")?.unwrap_or(Money::ZERO);
                if archived || entries.get(entry.id.as_bytes())?.is_some() {
                    return Ok(balance);
                }
                let balance = balance + entry.amount;
                entries.insert(entry.id.as_bytes(), encode(entry))?;
                balances.insert(key, encode(&balance))?;
                Ok(balance)
            }))?;
            self.flush()?;
            Ok(balance)
        })
    }

    /// Cash paid in at the counter.
    pub fn deposit(
        &self,
        child: ChildId,
        amount: Money,
        counter: &str,
        at: DateTime<Utc>,
    ) -> Result<Money, StoreError> {
        self.pay_in(EntryKind::Deposit, child, amount, counter, at)
    }

    /// A balance brought in by an import: on the child's account, but not
    /// cash in any drawer today (the report keeps it apart).
    pub fn opening_balance(
        &self,
        child: ChildId,
        amount: Money,
        counter: &str,
        at: DateTime<Utc>,
    ) -> Result<Money, StoreError> {
        self.pay_in(EntryKind::OpeningBalance, child, amount, counter, at)
    }

    /// Money onto a child's account, more than zero, as an entry of `kind`.
    fn pay_in(
        &self,
        kind: EntryKind,
        child: ChildId,
        amount: Money,
        counter: &str,
        at: DateTime<Utc>,
    ) -> Result<Money, StoreError> {
        if !amount.is_positive() {
            return Err(StoreError::NotPositive);
        }
        self.record_entry(&Entry::new(child, kind, amount, counter, at))
    }

    /// Takes back a cash top-up made at this counter on the local day of
    /// `at`, once, with the cash handed back over the counter. Refused if
    /// the balance is less than the top-up: the child has spent some of it,
    /// and a standalone counter has no one to collect a debt from (refund
    /// the sales first). Returns the reversal and the balance after it.
    pub fn reverse_deposit(
        &self,
        deposit: Uuid,
        counter: &str,
        at: DateTime<Utc>,
    ) -> Result<(Entry, Money), StoreError> {
        self.usable()?;
        let days = self.lock();
        let today = local_day(at);
        let original = self
            .find_entry(deposit)?
            .filter(|e| e.kind == EntryKind::Deposit)
            .ok_or(StoreError::NoSuchDeposit(deposit))?;
        if local_day(original.at) != today || original.counter != counter {
            return Err(StoreError::NotReversible(deposit));
        }
        // Only today's tree can hold a reversal of a deposit of today.
        let reversed = match self.existing_day_tree(today)? {
            Some(tree) => super::tree_entries(&tree)?.into_iter().any(
                |e| matches!(e.kind, EntryKind::DepositReversal { deposit: d } if d == deposit),
            ),
            None => false,
        };
        if reversed {
            return Err(StoreError::AlreadyReversed(deposit));
        }
        let balance = self.balance(original.child)?;
        if balance < original.amount {
            return Err(StoreError::SpentSinceTopUp {
                balance,
                amount: original.amount,
            });
        }
        let reversal = Entry::new(
            original.child,
            EntryKind::DepositReversal { deposit },
            -original.amount,
            counter,
            at,
        );
        let balance = self.write_entry(&days, &reversal)?;
        Ok((reversal, balance))
    }

    /// Gives back a whole sale, once. Returns the refund entry.
    /// `for_ledger`: connected, the refund also waits in the outbox.
    pub fn refund(
        &self,
        sale_id: Uuid,
        counter: &str,
        at: DateTime<Utc>,
        for_ledger: bool,
    ) -> Result<Entry, StoreError> {
        self.usable()?;
        let _lock = self.lock();
        let sale = self
            .find_entry(sale_id)?
            .filter(Entry::is_sale)
            .ok_or(StoreError::NoSuchSale(sale_id))?;
        let refund = Entry::new(
            sale.child,
            EntryKind::Refund { sale: sale.id },
            -sale.amount,
            counter,
            at,
        );
        let entries = self.day_tree(id_day(refund.id.as_bytes()))?;
        let spent = self.spent_tree(local_day(sale.at))?;
        let trees = (
            &entries,
            &self.balances,
            &spent,
            &self.refunds,
            &self.outbox,
            &self.pending,
        );
        let line = super::journal::Line::Entry {
            entry: refund.clone(),
            outbox: for_ledger,
        };
        self.journaled(vec![line], || {
            self.unwrap_tx(trees.transaction(
                |(entries, balances, spent, refunds, outbox, pending)| {
                    if refunds.get(sale.id.as_bytes())?.is_some() {
                        return abort(StoreError::AlreadyRefunded(sale.id));
                    }
                    let key = sale.child.0.as_bytes();
                    let balance: Money = tx_get(balances, key, "balance")?.unwrap_or(Money::ZERO);
                    let day_spent: Money =
                        tx_get(spent, key, "day spending")?.unwrap_or(Money::ZERO);
                    entries.insert(refund.id.as_bytes(), encode(&refund))?;
                    balances.insert(key, encode(&(balance + refund.amount)))?;
                    spent.insert(key, encode(&(day_spent - refund.amount).max(Money::ZERO)))?;
                    refunds.insert(sale.id.as_bytes(), refund.id.as_bytes())?;
                    if for_ledger {
                        outbox.insert(refund.id.as_bytes(), &[])?;
                        tx_add(pending, key, refund.amount, "pending")?;
                    }
                    Ok(())
                },
            ))?;
            self.flush()
        })?;
        Ok(refund)
    }

    pub fn is_refunded(&self, sale: Uuid) -> Result<bool, StoreError> {
        Ok(self.refunds.contains_key(sale.as_bytes())?)
    }

    /// An entry by id: in its day's tree, or in the archive.
    pub fn entry(&self, id: Uuid) -> Result<Option<Entry>, StoreError> {
        let _lock = self.lock();
        self.find_entry(id)
    }

    /// [`Store::entry`], with the day lock held by the caller.
    pub(super) fn find_entry(&self, id: Uuid) -> Result<Option<Entry>, StoreError> {
        let day = id_day(id.as_bytes());
        if let Some(tree) = self.existing_day_tree(day)?
            && let Some(bytes) = tree.get(id.as_bytes())?
        {
            return decode(&bytes, "entry").map(Some);
        }
        self.archive.find(day, id)
    }

    /// Whether the entry is in the archive (a day since closed), given the
    /// archive's days from [`Store::lock`].
    pub(super) fn archived(
        &self,
        days: &BTreeSet<NaiveDate>,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        let day = id_day(id.as_bytes());
        Ok(days.contains(&day) && self.archive.find(day, id)?.is_some())
    }

    /// Children whose stored balance is not the sum of their entries.
    /// Empty on a healthy store; `klubkasse check` and tests ask.
    pub fn balance_mismatches(&self) -> Result<Vec<(ChildId, Money, Money)>, StoreError> {
        let mut sums = std::collections::BTreeMap::<ChildId, Money>::new();
        self.for_each_entry(|entry| *sums.entry(entry.child).or_default() += entry.amount)?;
        let mut wrong = Vec::new();
        for child in self.children()? {
            let stored = self.balance(child.id)?;
            let sum = sums.get(&child.id).copied().unwrap_or(Money::ZERO);
            if stored != sum {
                wrong.push((child.id, stored, sum));
            }
        }
        Ok(wrong)
    }

    /// For store generators and benchmarks only, never the kiosk: writes
    /// children, cards and entries in one large `sled::Batch` per tree and
    /// flushes once, because a million `record_sale` calls (one flush each)
    /// would take hours.
    ///
    /// Nothing is authorised: the entries are taken as they are. Balances
    /// and day spending are added to what is stored, so a store may be
    /// loaded in chunks and balances stay the sum of the entries. Entries
    /// already stored are skipped, as a retried sale is. A refund's sale
    /// must be in this call or stored already. Nothing goes to the outbox
    /// or `pending`: loaded entries count as confirmed by the ledger. Not
    /// atomic across trees; a failure mid-way leaves a half-loaded store,
    /// which is fine for a generator's scratch store.
    pub fn bulk_load(
        &self,
        children: &[Child],
        cards: &[Card],
        entries: &[Entry],
    ) -> Result<(), StoreError> {
        use std::collections::HashMap;
        self.usable()?;
        let mut batch = sled::Batch::default();
        for child in children {
            batch.insert(child.id.0.as_bytes(), encode(child));
        }
        self.children.apply_batch(batch)?;
        let mut batch = sled::Batch::default();
        for card in cards {
            batch.insert(card.uid.as_str().as_bytes(), encode(card));
        }
        self.cards.apply_batch(batch)?;

        let in_call: HashMap<Uuid, &Entry> = entries.iter().map(|e| (e.id, e)).collect();
        let mut balance_delta: HashMap<ChildId, Money> = HashMap::new();
        let mut spent_delta: HashMap<(NaiveDate, ChildId), Money> = HashMap::new();
        // Each day's tree, and what goes into it.
        let mut days: HashMap<NaiveDate, (Tree, sled::Batch)> = HashMap::new();
        let mut refund_batch = sled::Batch::default();
        let mut seen = std::collections::HashSet::new();
        for entry in entries {
            let day = id_day(entry.id.as_bytes());
            let (tree, batch) = match days.entry(day) {
                std::collections::hash_map::Entry::Occupied(d) => d.into_mut(),
                std::collections::hash_map::Entry::Vacant(d) => {
                    d.insert((self.day_tree(day)?, sled::Batch::default()))
                }
            };
            if !seen.insert(entry.id) || tree.contains_key(entry.id.as_bytes())? {
                continue;
            }
            batch.insert(entry.id.as_bytes(), encode(entry));
            *balance_delta.entry(entry.child).or_default() += entry.amount;
            match &entry.kind {
                EntryKind::Sale { .. } => {
                    *spent_delta
                        .entry((local_day(entry.at), entry.child))
                        .or_default() -= entry.amount;
                }
                EntryKind::Refund { sale } => {
                    let sale_at = match in_call.get(sale) {
                        Some(s) => s.at,
                        None => self.entry(*sale)?.ok_or(StoreError::NoSuchSale(*sale))?.at,
                    };
                    refund_batch.insert(sale.as_bytes(), entry.id.as_bytes());
                    *spent_delta
                        .entry((local_day(sale_at), entry.child))
                        .or_default() -= entry.amount;
                }
                _ => {}
            }
        }
        for (tree, batch) in days.into_values() {
            tree.apply_batch(batch)?;
        }
        self.refunds.apply_batch(refund_batch)?;
        let mut batch = sled::Batch::default();
        for (child, delta) in balance_delta {
            let key = child.0.as_bytes();
            let now = money_at(&self.balances, key, "balance")? + delta;
            batch.insert(key, encode(&now));
        }
        self.balances.apply_batch(batch)?;
        let mut spent_days: std::collections::BTreeMap<NaiveDate, sled::Batch> =
            std::collections::BTreeMap::new();
        for ((day, child), delta) in spent_delta {
            // As `refund` does: a day's spending never shows below zero.
            let key = child.0.as_bytes();
            let spent = money_at(&self.spent_tree(day)?, key, "day spending")?;
            spent_days
                .entry(day)
                .or_default()
                .insert(key, encode(&(spent + delta).max(Money::ZERO)));
        }
        for (day, batch) in spent_days {
            self.spent_tree(day)?.apply_batch(batch)?;
        }
        self.flush()
    }
}
