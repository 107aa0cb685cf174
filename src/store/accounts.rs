//! Children and their cards.

use sled::Transactional;

use super::{
    Card, CardAction, CardState, CardUid, Child, ChildId, Store, StoreError, Utc, decode, encode,
};

impl Store {
    pub fn child(&self, id: ChildId) -> Result<Option<Child>, StoreError> {
        self.children
            .get(id.0.as_bytes())?
            .map(|b| decode(&b, "child"))
            .transpose()
    }

    /// All children, by name.
    pub fn children(&self) -> Result<Vec<Child>, StoreError> {
        self.usable()?;
        let mut all: Vec<Child> = self
            .children
            .iter()
            .values()
            .map(|v| decode(&v?, "child"))
            .collect::<Result<_, _>>()?;
        all.sort_by_key(|a| a.name.to_lowercase());
        Ok(all)
    }

    pub fn put_child(&self, child: &Child) -> Result<(), StoreError> {
        self.usable()?;
        let _lock = self.lock();
        let line = super::journal::Line::Child {
            child: child.clone(),
        };
        self.journaled(vec![line], || {
            self.children.insert(child.id.0.as_bytes(), encode(child))?;
            self.flush()
        })
    }

    pub fn card(&self, uid: &CardUid) -> Result<Option<Card>, StoreError> {
        self.cards
            .get(uid.as_str())?
            .map(|b| decode(&b, "card"))
            .transpose()
    }

    pub fn cards(&self) -> Result<Vec<Card>, StoreError> {
        self.cards
            .iter()
            .values()
            .map(|v| decode(&v?, "card"))
            .collect()
    }

    pub fn cards_of(&self, child: ChildId) -> Result<Vec<Card>, StoreError> {
        Ok(self
            .cards()?
            .into_iter()
            .filter(|c| c.child == child)
            .collect())
    }

    /// Hands a card to a child. A card of another child is refused; the
    /// child's earlier cards stay as they are (block them separately).
    /// `for_ledger`: connected, the action also waits in the card outbox for
    /// the ledger, written in the same transaction.
    pub fn bind_card(
        &self,
        uid: &CardUid,
        child: ChildId,
        for_ledger: bool,
    ) -> Result<Card, StoreError> {
        self.usable()?;
        let _lock = self.lock();
        let owner = self.child(child)?.ok_or(StoreError::NoSuchChild(child))?;
        if let Some(existing) = self.card(uid)?
            && existing.child != child
        {
            let name = self
                .child(existing.child)?
                .map(|c| c.name)
                .unwrap_or_else(|| existing.child.to_string());
            return Err(StoreError::CardTaken {
                uid: uid.clone(),
                owner: name,
            });
        }
        let card = Card {
            uid: uid.clone(),
            child: owner.id,
            state: CardState::Active,
        };
        let action = for_ledger.then(|| CardAction::HandOut {
            uid: uid.clone(),
            child,
        });
        self.put_card(&card, action)?;
        Ok(card)
    }

    /// Blocks or unblocks a card; `for_ledger` as for [`Store::bind_card`].
    pub fn set_card_state(
        &self,
        uid: &CardUid,
        state: CardState,
        for_ledger: bool,
    ) -> Result<Card, StoreError> {
        self.usable()?;
        let _lock = self.lock();
        let mut card = self
            .card(uid)?
            .ok_or_else(|| StoreError::NoSuchCard(uid.clone()))?;
        card.state = state;
        let action = for_ledger.then(|| match state {
            CardState::Blocked => CardAction::Block { uid: uid.clone() },
            CardState::Active => CardAction::Unblock { uid: uid.clone() },
        });
        self.put_card(&card, action)?;
        Ok(card)
    }

    /// A card and, connected, the action the ledger must hear of: together.
    /// The caller holds the lock.
    pub(super) fn put_card(
        &self,
        card: &Card,
        action: Option<CardAction>,
    ) -> Result<(), StoreError> {
        let trees = (&self.cards, &self.card_outbox);
        let line = super::journal::Line::Card { card: card.clone() };
        self.journaled(vec![line], || {
            self.unwrap_tx(trees.transaction(|(cards, card_outbox)| {
                cards.insert(card.uid.as_str().as_bytes(), encode(card))?;
                if let Some(action) = &action {
                    card_outbox.insert(
                        klubkasse_core::domain::new_entry_id(Utc::now()).as_bytes(),
                        encode(action),
                    )?;
                }
                Ok(())
            }))?;
            self.flush()
        })
    }
}
