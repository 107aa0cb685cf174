//! Change a price or mark an item sold out, at the counter: kept in the
//! store until changed back; the menu file stays the default.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{ListItem, Paragraph};

use super::{Message, Page, Step, draw_list, input};
use crate::i18n::fill;
use crate::store::ItemChange;
use crate::ui::Action;
use crate::ui::app::App;
use crate::ui::effect::Effect;
use crate::ui::transition::Context;
use klubkasse_core::domain::{AmountField, Money};

/// The menu's items with their prices now: choose one to change.
#[derive(Debug, Clone, Default)]
pub struct PricesPage {
    pub selected: usize,
}

/// What can be done to one item, in the order shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Price,
    SoldOut,
    FilePrice,
}

const CHOICES: [Choice; 3] = [Choice::Price, Choice::SoldOut, Choice::FilePrice];

/// One item: a new price (typed), sold out or back, the menu's price.
#[derive(Debug, Clone)]
pub struct ItemPage {
    pub key: char,
    pub selected: usize,
    pub input: String,
}

/// What a change did, for the message afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemDone {
    Price(Money),
    SoldOut,
    BackInStock,
}

impl PricesPage {
    /// The list, with the item on `key` chosen.
    fn at(ctx: &Context, key: char) -> PricesPage {
        PricesPage {
            selected: ctx
                .menu
                .items
                .iter()
                .position(|i| i.key == key)
                .unwrap_or(0),
        }
    }

    pub(super) fn update(&mut self, ctx: &Context, action: Action) -> Step {
        let items = &ctx.menu.items;
        match action {
            Action::Up | Action::Down => {
                self.selected = input::step(self.selected, items.len(), &action);
                Step::Stay
            }
            Action::Confirm => match items.get(self.selected) {
                Some(item) => Step::Open(Page::Item(ItemPage::new(item.key)), None),
                None => Step::Stay,
            },
            _ => Step::Pass,
        }
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let t = &app.texts().staff.tools;
        let items: Vec<ListItem> = app
            .menu
            .items
            .iter()
            .map(|item| {
                let mut text = format!(
                    "[{}]  {:<24} {:>13}",
                    item.key,
                    item.name,
                    item.price.to_string()
                );
                if let Some(file) = app.menu.file_price(item.key)
                    && file != item.price
                {
                    text.push_str(&format!(
                        "  ({})",
                        fill(&t.file_price, &[("price", &file.to_string())])
                    ));
                }
                let sold_out = app.menu.is_sold_out(item.key);
                if sold_out {
                    text.push_str(&format!("  {}", t.sold_out));
                }
                ListItem::new(text).style(if sold_out {
                    app.theme().dimmed
                } else {
                    app.theme().normal
                })
            })
            .collect();
        draw_list(
            app,
            frame,
            area,
            items,
            Some(self.selected),
            Some(t.pick_item.clone()),
        );
    }
}

impl ItemPage {
    pub fn new(key: char) -> ItemPage {
        ItemPage {
            key,
            selected: 0,
            input: String::new(),
        }
    }

    pub(super) fn update(&mut self, ctx: &Context, action: Action) -> Step {
        let accepts = |c: char| c.is_ascii_digit() || c == ',' || c == '.';
        if input::typed(&mut self.input, &action, accepts, 7) {
            self.selected = 0;
            return Step::Stay;
        }
        let Some(item) = ctx.menu.item(self.key) else {
            return Step::Menu(None);
        };
        let change = ctx.menu.change(self.key);
        let file_price = ctx.menu.file_price(self.key).unwrap_or(item.price);
        let save = |change| {
            Step::Run(Effect::ChangeItem {
                name: item.name.clone(),
                change,
            })
        };
        match action {
            Action::Up | Action::Down => {
                self.selected = input::step(self.selected, CHOICES.len(), &action);
                Step::Stay
            }
            Action::Confirm => match CHOICES[self.selected.min(CHOICES.len() - 1)] {
                Choice::Price => {
                    match super::amount::read_amount(
                        &self.input,
                        AmountField::WithOre,
                        false,
                        Money::kroner(crate::store::MAX_PRICE_KRONER),
                    ) {
                        // The menu's own price is no change.
                        Ok(price) => save(ItemChange {
                            price: (price != file_price).then_some(price),
                            ..change
                        }),
                        Err(e) => Step::Say(Message::BadPrice(e)),
                    }
                }
                Choice::SoldOut => save(ItemChange {
                    sold_out: !change.sold_out,
                    ..change
                }),
                Choice::FilePrice => save(ItemChange {
                    price: None,
                    ..change
                }),
            },
            Action::Cancel => Step::Open(Page::Prices(PricesPage::at(ctx, self.key)), None),
            _ => Step::Pass,
        }
    }

    /// The change is stored (and `ctx.menu` has it): back to the list,
    /// saying what it did.
    pub(super) fn done(&self, ctx: &Context) -> (Page, Option<Message>) {
        let list = Page::Prices(PricesPage::at(ctx, self.key));
        let Some(item) = ctx.menu.item(self.key) else {
            return (list, None);
        };
        let done = match CHOICES[self.selected.min(CHOICES.len() - 1)] {
            Choice::SoldOut if ctx.menu.is_sold_out(self.key) => ItemDone::SoldOut,
            Choice::SoldOut => ItemDone::BackInStock,
            Choice::Price | Choice::FilePrice => ItemDone::Price(item.price),
        };
        let message = Message::ItemChanged {
            name: item.name.clone(),
            done,
        };
        (list, Some(message))
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let t = &app.texts().staff.tools;
        let Some(item) = app.menu.item(self.key) else {
            return;
        };
        let file_price = app.menu.file_price(self.key).unwrap_or(item.price);
        let [head, list_area] =
            Layout::vertical([Constraint::Length(3), Constraint::Min(3)]).areas(area);
        let mut title = vec![
            Span::styled(format!("[{}] {}  ", item.key, item.name), app.theme().name),
            Span::styled(item.price.to_string(), app.theme().amount),
        ];
        if app.menu.is_sold_out(self.key) {
            title.push(Span::styled(
                format!("  {}", t.sold_out),
                app.theme().warning,
            ));
        }
        frame.render_widget(Paragraph::new(Line::from(title)), head);
        let items: Vec<ListItem> = CHOICES
            .iter()
            .map(|choice| {
                ListItem::new(match choice {
                    Choice::Price => fill(&t.new_price, &[("input", &self.input)]),
                    Choice::SoldOut if app.menu.is_sold_out(self.key) => t.back_in_stock.clone(),
                    Choice::SoldOut => t.mark_sold_out.clone(),
                    Choice::FilePrice => {
                        fill(&t.back_to_file_price, &[("price", &file_price.to_string())])
                    }
                })
            })
            .collect();
        draw_list(app, frame, list_area, items, Some(self.selected), None);
    }
}
