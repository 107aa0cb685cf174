//! The sale: the child's name big, balance, the menu grid, the basket.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use crate::ui::Action;
use crate::ui::app::{App, Screen};
use crate::ui::effect::Effect;
use crate::ui::screens::{big_name, result};
use crate::ui::theme;
use crate::ui::transition::{Context, Transition};
use klubkasse_core::domain::{AccountView, Basket, Connection, Entry, authorize};

#[derive(Debug, Clone)]
pub struct SaleScreen {
    pub view: AccountView,
    pub basket: Basket,
    /// The sale is on its way to disk: keys wait, a second Enter does nothing.
    pub saving: bool,
}

impl SaleScreen {
    pub fn new(view: AccountView) -> SaleScreen {
        SaleScreen {
            view,
            basket: Basket::default(),
            saving: false,
        }
    }

    pub fn update(&mut self, ctx: &Context, action: Action) -> Transition {
        if self.saving {
            return match action {
                Action::SaleSaved { sale, balance } => {
                    let paid = result::paid(&self.view.child.name, -sale.amount, balance);
                    if ctx.connection == Connection::Standalone {
                        paid
                    } else {
                        paid.effect(Effect::NudgeSync)
                    }
                }
                Action::SaleRefused(refusal) => result::refused(refusal),
                Action::SaleFailed(error) => result::failed(error),
                _ => Transition::stay(),
            };
        }
        match action {
            // Sold out: staff marked it so; the bell says no.
            Action::AddItem(key) if ctx.menu.is_sold_out(key) => {
                return Transition::stay().effect(Effect::Bell);
            }
            Action::AddItem(key) => {
                if let Some(item) = ctx.menu.item(key) {
                    self.basket.add(item);
                }
            }
            Action::QuantityUp => self.basket.increment(),
            Action::QuantityDown => self.basket.decrement(),
            Action::RemoveLine => self.basket.remove_last(),
            Action::Cancel => return Transition::go(Screen::Idle),
            Action::Confirm if !self.basket.is_empty() => {
                let lines = self.basket.sale_lines();
                if let Err(refusal) = authorize(&self.view, &lines, ctx.connection) {
                    return result::refused(refusal);
                }
                let sale = Entry::sale(
                    self.view.child.id,
                    self.view.card.as_ref().map(|c| c.uid.clone()),
                    lines,
                    &ctx.settings.counter,
                    ctx.now,
                );
                self.saving = true;
                return Transition::stay().effect(Effect::RecordSale {
                    sale: Box::new(sale),
                    connection: ctx.connection,
                });
            }
            _ => {}
        }
        Transition::stay()
    }
}

/// What the child must see at once, big: name, balance, balance after.
/// Staff see the menu, the basket and any note below.
pub fn draw(app: &App, s: &SaleScreen, frame: &mut Frame, area: Rect) {
    let t = &app.texts().sale;
    let note_height = u16::from(s.view.child.note.is_some());
    let [name_area, labels, amounts, note_area, bottom] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Length(1),
        Constraint::Length(4),
        Constraint::Length(note_height),
        Constraint::Min(6),
    ])
    .areas(area);
    big_name(frame, name_area, &s.view.child.name, theme::NAME);

    let after = s.view.balance - s.basket.total();
    let halves = |r: Rect| Layout::horizontal([Constraint::Ratio(1, 2); 2]).areas::<2>(r);
    let [balance_label, after_label] = halves(labels);
    let [balance_amount, after_amount] = halves(amounts);
    let label = |text: &str| {
        Paragraph::new(Line::from(Span::styled(text.to_string(), theme::LABEL)).centered())
    };
    frame.render_widget(label(&t.balance), balance_label);
    frame.render_widget(label(&t.balance_after), after_label);
    big_name(
        frame,
        balance_amount,
        &s.view.balance.to_string(),
        theme::AMOUNT,
    );
    let after_style = if after.is_negative() {
        theme::BAD
    } else {
        theme::GOOD
    };
    big_name(frame, after_amount, &after.to_string(), after_style);

    if let Some(note) = &s.view.child.note {
        let line = Line::from(Span::styled(
            format!("⚠ {}: {note}", t.note),
            theme::WARNING,
        ))
        .centered();
        frame.render_widget(Paragraph::new(line), note_area);
    }

    let [menu_area, basket_area] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(bottom);
    draw_menu(app, s, frame, menu_area);
    draw_basket(app, s, frame, basket_area);
}

/// The menu as a grid: key, name, price; items the child may not buy dimmed.
fn draw_menu(app: &App, s: &SaleScreen, frame: &mut Frame, area: Rect) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(app.texts().sale.menu.clone());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let columns = if inner.width >= 56 { 2 } else { 1 };
    let rows_per_column = app.menu.items.len().div_ceil(columns);
    let column_areas =
        Layout::horizontal(vec![Constraint::Ratio(1, columns as u32); columns]).split(inner);
    for (col, chunk) in app.menu.items.chunks(rows_per_column.max(1)).enumerate() {
        let rows = chunk.iter().map(|item| {
            let sold_out = app.menu.is_sold_out(item.key);
            let style = if sold_out || s.view.child.blocks(&item.category) {
                theme::DIMMED
            } else {
                theme::NORMAL
            };
            // Sold out says so in words, where the price would be.
            let price = if sold_out {
                app.texts().staff.tools.sold_out.clone()
            } else {
                item.price.to_string()
            };
            Row::new(vec![
                Cell::from(Span::styled(format!("[{}]", item.key), theme::KEY)),
                Cell::from(item.name.clone()),
                Cell::from(Line::from(price).right_aligned()),
            ])
            .style(style)
        });
        let table = Table::new(
            rows,
            [
                Constraint::Length(4),
                Constraint::Min(8),
                Constraint::Length(12),
            ],
        );
        frame.render_widget(table, column_areas[col]);
    }
}

fn draw_basket(app: &App, s: &SaleScreen, frame: &mut Frame, area: Rect) {
    let t = &app.texts().sale;
    let block = Block::default()
        .borders(Borders::ALL)
        .title(t.basket.clone());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [lines_area, totals_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(4)]).areas(inner);
    if s.basket.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(t.empty_basket.clone(), theme::DIMMED)),
            lines_area,
        );
    } else {
        let rows = s.basket.lines().iter().enumerate().map(|(i, line)| {
            let style = if Some(i) == s.basket.selected() {
                theme::SELECTED
            } else {
                theme::NORMAL
            };
            Row::new(vec![
                Cell::from(format!("{:>2} ×", line.quantity)),
                Cell::from(line.item.name.clone()),
                Cell::from(
                    Line::from((line.item.price * line.quantity).to_string()).right_aligned(),
                ),
            ])
            .style(style)
        });
        let table = Table::new(
            rows,
            [
                Constraint::Length(5),
                Constraint::Min(6),
                Constraint::Length(13),
            ],
        );
        frame.render_widget(table, lines_area);
    }
    // The staff's summary in plain figures; the child reads the big ones.
    let total = s.basket.total();
    let after = s.view.balance - total;
    let figure = |label: &str, amount: String, style| {
        Line::from(vec![
            Span::styled(format!("{label}: "), theme::LABEL),
            Span::styled(amount, style),
        ])
    };
    let after_style = if after.is_negative() {
        theme::BAD
    } else {
        theme::NORMAL
    };
    let totals = vec![
        figure(&t.balance, s.view.balance.to_string(), theme::NORMAL),
        figure(&t.total, total.to_string(), theme::AMOUNT),
        figure(&t.balance_after, after.to_string(), after_style),
        if s.saving {
            Line::from(Span::styled(t.saving.clone(), theme::WARNING))
        } else {
            Line::from("")
        },
    ];
    frame.render_widget(Paragraph::new(totals), totals_area);
}

/// The key hints for the status bar on this screen.
pub fn hints(app: &App) -> Vec<(String, String)> {
    let t = &app.texts().sale;
    let k = &app.keymap;
    vec![
        (k.hint(&Action::Confirm), t.hint_confirm.clone()),
        (k.hint(&Action::Cancel), t.hint_cancel.clone()),
        (
            format!(
                "{}{}",
                k.hint(&Action::QuantityUp),
                k.hint(&Action::QuantityDown)
            ),
            t.hint_quantity.clone(),
        ),
        (k.hint(&Action::RemoveLine), t.hint_remove.clone()),
    ]
}
