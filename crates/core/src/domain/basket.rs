//! What staff ring up for the child at the counter, before it is charged.

use super::{MenuItem, Money, SaleLine};

/// Most of one item in one sale: a key held down must not sell 500 toasts.
pub const MAX_QUANTITY: u32 = 99;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Basket {
    lines: Vec<BasketLine>,
    /// The line that +, − and remove act on: the one last touched, or
    /// moved to with Up and Down.
    selected: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasketLine {
    pub item: MenuItem,
    pub quantity: u32,
}

impl Basket {
    pub fn lines(&self) -> &[BasketLine] {
        &self.lines
    }

    pub fn selected(&self) -> Option<usize> {
        self.selected
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Adds one of `item`: a new line, or one more on its existing line.
    pub fn add(&mut self, item: &MenuItem) {
        match self.lines.iter().position(|l| l.item.key == item.key) {
            Some(i) => {
                self.lines[i].quantity = (self.lines[i].quantity + 1).min(MAX_QUANTITY);
                self.selected = Some(i);
            }
            None => {
                self.lines.push(BasketLine {
                    item: item.clone(),
                    quantity: 1,
                });
                self.selected = Some(self.lines.len() - 1);
            }
        }
    }

    pub fn increment(&mut self) {
        if let Some(line) = self.selected.and_then(|i| self.lines.get_mut(i)) {
            line.quantity = (line.quantity + 1).min(MAX_QUANTITY);
        }
    }

    /// One less on the selected line; at zero the line goes.
    pub fn decrement(&mut self) {
        let Some(i) = self.selected else { return };
        let Some(line) = self.lines.get_mut(i) else {
            return;
        };
        if line.quantity > 1 {
            line.quantity -= 1;
        } else {
            self.remove(i);
        }
    }

    /// Removes the selected line; the selection stays where it was (on the
    /// line that moved up into its place, or the new last line).
    pub fn remove_selected(&mut self) {
        if let Some(i) = self.selected {
            self.remove(i);
        }
    }

    /// Moves the selection one line up; it stops at the first.
    pub fn select_previous(&mut self) {
        self.selected = self.selected.map(|i| i.saturating_sub(1));
    }

    /// Moves the selection one line down; it stops at the last.
    pub fn select_next(&mut self) {
        let last = self.lines.len().saturating_sub(1);
        self.selected = self.selected.map(|i| (i + 1).min(last));
    }

    fn remove(&mut self, index: usize) {
        self.lines.remove(index);
        self.selected = match self.lines.len() {
            0 => None,
            len => Some(index.min(len - 1)),
        };
    }

    pub fn total(&self) -> Money {
        self.lines.iter().map(|l| l.item.price * l.quantity).sum()
    }

    /// The lines as they are sold, with names and prices copied.
    pub fn sale_lines(&self) -> Vec<SaleLine> {
        self.lines
            .iter()
            .map(|l| SaleLine {
                name: l.item.name.clone(),
                category: l.item.category.clone(),
                unit_price: l.item.price,
                quantity: l.quantity,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn item(key: char, ore: i64) -> MenuItem {
        MenuItem {
            key,
            name: format!("item {key}"),
            price: Money::from_ore(ore),
            category: "mad".into(),
        }
    }

    #[test]
    fn add_twice_is_one_line_of_two() {
        let mut b = Basket::default();
        b.add(&item('1', 1200));
        b.add(&item('2', 500));
        b.add(&item('1', 1200));
        assert_eq!(b.lines().len(), 2);
        assert_eq!(b.lines()[0].quantity, 2);
        assert_eq!(b.selected(), Some(0));
        assert_eq!(b.total(), Money::from_ore(2900));
    }

    #[test]
    fn decrement_to_zero_removes_line() {
        let mut b = Basket::default();
        b.add(&item('1', 1200));
        b.decrement();
        assert!(b.is_empty());
        assert_eq!(b.selected(), None);
        b.decrement();
        b.increment();
        b.remove_selected();
        b.select_next();
        b.select_previous();
        assert!(b.is_empty());
        assert_eq!(b.selected(), None);
    }

    #[test]
    fn up_and_down_choose_the_line_that_plus_minus_and_remove_act_on() {
        let mut b = Basket::default();
        for key in ['1', '2', '3'] {
            b.add(&item(key, 100));
        }
        assert_eq!(b.selected(), Some(2));
        b.select_previous();
        b.select_previous();
        b.select_previous();
        assert_eq!(b.selected(), Some(0), "stops at the first line");
        b.increment();
        assert_eq!(b.lines()[0].quantity, 2);
        b.select_next();
        b.remove_selected();
        let keys: Vec<char> = b.lines().iter().map(|l| l.item.key).collect();
        assert_eq!(keys, ['1', '3']);
        assert_eq!(b.selected(), Some(1), "the line below moved up into place");
        b.select_next();
        assert_eq!(b.selected(), Some(1), "stops at the last line");
        b.remove_selected();
        assert_eq!(b.selected(), Some(0));
        b.decrement();
        b.decrement();
        assert!(b.is_empty());
    }

    #[test]
    fn quantity_is_capped() {
        let mut b = Basket::default();
        b.add(&item('1', 100));
        for _ in 0..200 {
            b.increment();
        }
        assert_eq!(b.lines()[0].quantity, MAX_QUANTITY);
    }

    proptest! {
        #[test]
        fn total_is_sum_of_sale_lines(ops in proptest::collection::vec(0u8..8, 0..60)) {
            let items = [item('1', 1200), item('2', 550), item('3', 5)];
            let mut b = Basket::default();
            for op in ops {
                match op {
                    0..=2 => b.add(&items[op as usize]),
                    3 => b.increment(),
                    4 => b.decrement(),
                    5 => b.select_previous(),
                    6 => b.select_next(),
                    _ => b.remove_selected(),
                }
                let lines = b.sale_lines();
                prop_assert_eq!(b.total(), lines.iter().map(SaleLine::total).sum::<Money>());
                prop_assert!(lines.iter().all(|l| l.quantity >= 1 && l.quantity <= MAX_QUANTITY));
                prop_assert!(b.selected().is_none_or(|i| i < b.lines().len()));
                // A basket with lines always has one selected for + − and remove.
                prop_assert_eq!(b.selected().is_some(), !b.is_empty());
            }
        }
    }
}
