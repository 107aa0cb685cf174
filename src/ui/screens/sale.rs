//! The sale: the child's name big, balance, the menu grid, the basket;
//! a refusal on the same screen, the basket kept.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Cell, HighlightSpacing, Paragraph, Row, Table, TableState, Wrap,
};

use crate::i18n::fill;
use crate::ui::Action;
use crate::ui::app::{App, Screen};
use crate::ui::big_text;
use crate::ui::effect::Effect;
use crate::ui::screens::{big_alike, big_name, result};
use crate::ui::transition::{Context, Transition};
use crate::ui::view::{self, Fit};
use klubkasse_core::domain::{
    AccountView, Basket, Connection, Entry, MenuItem, Refusal, authorize,
};

#[derive(Debug, Clone)]
pub struct SaleScreen {
    pub view: AccountView,
    pub basket: Basket,
    /// The sale is on its way to disk: keys wait, a second Enter does nothing.
    pub saving: bool,
    /// Why the last Enter did not pay. The basket stays, so that staff can
    /// take out what cannot be bought and charge the rest; any change to
    /// the basket clears it.
    pub refusal: Option<Refusal>,
    /// The menu's page shown, when it has more items than fit.
    pub menu_page: usize,
}

impl SaleScreen {
    pub fn new(view: AccountView) -> SaleScreen {
        SaleScreen {
            view,
            basket: Basket::default(),
            saving: false,
            refusal: None,
            menu_page: 0,
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
                Action::SaleRefused(refusal) => {
                    self.saving = false;
                    self.refuse(refusal)
                }
                Action::SaleFailed(error) => result::failed(error),
                _ => Transition::stay(),
            };
        }
        match action {
            // A refused child may walk away: the next tap starts afresh,
            // as it would on a result screen.
            Action::CardTapped(uid) if self.refusal.is_some() => {
                return Transition::go(Screen::Idle).effect(ctx.lookup(uid));
            }
            // Sold out: staff marked it so; the bell says no.
            Action::AddItem(key) if ctx.menu.is_sold_out(key) => {
                return Transition::stay().effect(Effect::Bell);
            }
            Action::AddItem(key) => {
                if let Some(item) = ctx.menu.item(key) {
                    self.basket.add(item);
                    self.refusal = None;
                }
            }
            Action::QuantityUp => self.changed(Basket::increment),
            Action::QuantityDown => self.changed(Basket::decrement),
            Action::RemoveLine => self.changed(Basket::remove_selected),
            Action::Up => self.basket.select_previous(),
            Action::Down => self.basket.select_next(),
            Action::NextPage | Action::PreviousPage => {
                let pages = ctx.size.map_or(1, |size| {
                    menu_pages(
                        self,
                        Shape::of(ctx.settings, Some(size)),
                        ctx.menu.items.len(),
                        view::body(size),
                    )
                });
                let page = self.menu_page.min(pages - 1);
                self.menu_page = match action {
                    Action::NextPage => (page + 1) % pages,
                    _ => (page + pages - 1) % pages,
                };
            }
            Action::Cancel => return Transition::go(Screen::Idle),
            Action::Confirm if !self.basket.is_empty() => {
                let lines = self.basket.sale_lines();
                if let Err(refusal) = authorize(&self.view, &lines, ctx.connection) {
                    return self.refuse(refusal);
                }
                let sale = Entry::sale(
                    self.view.child.id,
                    self.view.card.as_ref().map(|c| c.uid.clone()),
                    lines,
                    &ctx.settings.counter,
                    ctx.now,
                );
                self.saving = true;
                self.refusal = None;
                return Transition::stay().effect(Effect::RecordSale {
                    sale: Box::new(sale),
                    connection: ctx.connection,
                });
            }
            _ => {}
        }
        Transition::stay()
    }

    /// A change to the basket: what was refused may be payable now.
    fn changed(&mut self, change: fn(&mut Basket)) {
        change(&mut self.basket);
        self.refusal = None;
    }

    fn refuse(&mut self, refusal: Refusal) -> Transition {
        self.refusal = Some(refusal);
        Transition::stay().effect(Effect::Bell)
    }

    fn blocks(&self, item: &MenuItem) -> bool {
        self.view.child.blocks(&item.category)
    }
}

/// Where the sale screen's parts go in `area`.
struct Areas {
    name: Rect,
    labels: Rect,
    amounts: Rect,
    note: Rect,
    refusal: Rect,
    menu: Rect,
    basket: Rect,
}

/// How the screen is laid out: the terminal's fit, and how tall the big
/// letters are.
#[derive(Clone, Copy)]
struct Shape {
    fit: Fit,
    big_rows: u16,
}

impl Shape {
    fn of(settings: &crate::ui::Settings, size: Option<ratatui::layout::Size>) -> Shape {
        Shape {
            fit: size.map_or(Fit::Full, view::fit),
            big_rows: big_text::height(settings.big_text),
        }
    }
}

fn areas(s: &SaleScreen, shape: Shape, area: Rect) -> Areas {
    // Compact: name and amounts are each one row of ordinary bold letters,
    // the labels beside the amounts.
    let (big, labels) = match shape.fit {
        Fit::Compact => (1, 0),
        _ => (shape.big_rows, 1),
    };
    let [name, labels, amounts, note, refusal, bottom] = Layout::vertical([
        Constraint::Length(big),
        Constraint::Length(labels),
        Constraint::Length(big),
        Constraint::Length(note_rows(s, area.width)),
        // Two rows: the daily limit's words are longer than 80 columns.
        Constraint::Length(2 * u16::from(s.refusal.is_some())),
        Constraint::Fill(1),
    ])
    .areas(area);
    let split = match shape.fit {
        Fit::Compact => [Constraint::Percentage(50); 2],
        _ => [Constraint::Percentage(55), Constraint::Percentage(45)],
    };
    let [menu, basket] = Layout::horizontal(split).areas(bottom);
    Areas {
        name,
        labels,
        amounts,
        note,
        refusal,
        menu,
        basket,
    }
}

/// A staff note (an allergy, say) is never cut silently: two rows where
/// one is too narrow, and an ellipsis if even they are.
fn note_rows(s: &SaleScreen, width: u16) -> u16 {
    match &s.view.child.note {
        None => 0,
        Some(note) if note.chars().count() + 10 > usize::from(width) => 2,
        Some(_) => 1,
    }
}

/// How the menu fits its frame (`area`, borders included).
struct MenuGrid {
    columns: usize,
    per_page: usize,
    pages: usize,
}

/// Columns between the menu's two columns.
const MENU_GAP: u16 = 2;

fn menu_grid(area: Rect, items: usize) -> MenuGrid {
    let inner = menu_block(String::new()).inner(area);
    let columns = if inner.width >= 56 { 2 } else { 1 };
    let per_page = columns * usize::from(inner.height.max(1));
    MenuGrid {
        columns,
        per_page,
        pages: items.div_ceil(per_page).max(1),
    }
}

/// How many pages the menu takes on the screen's `body`.
fn menu_pages(s: &SaleScreen, shape: Shape, items: usize, body: Rect) -> usize {
    menu_grid(areas(s, shape, body).menu, items).pages
}

fn menu_block(title: String) -> Block<'static> {
    Block::default().borders(Borders::ALL).title(title)
}

/// What the child must see at once, big: name, balance, balance after.
/// Staff see the menu, the basket and any note below; a refusal across
/// the screen, above them both.
pub fn draw(app: &App, s: &SaleScreen, frame: &mut Frame, area: Rect) {
    let t = &app.texts().sale;
    let theme = app.theme();
    let shape = Shape::of(&app.settings, app.size);
    let a = areas(s, shape, area);
    let after = s.view.balance - s.basket.total();
    let after_style = if after.is_negative() {
        theme.bad
    } else {
        theme.good
    };
    if shape.fit == Fit::Compact {
        let name = Line::from(s.view.child.name.clone())
            .style(theme.name.add_modifier(Modifier::BOLD))
            .centered();
        frame.render_widget(Paragraph::new(name), a.name);
        let amounts = Line::from(vec![
            Span::styled(format!("{}: ", t.balance), theme.label),
            Span::styled(s.view.balance.to_string(), theme.amount),
            Span::styled(format!("   {}: ", t.balance_after), theme.label),
            Span::styled(after.to_string(), after_style),
        ])
        .centered();
        frame.render_widget(Paragraph::new(amounts), a.amounts);
    } else {
        big_name(app, frame, a.name, &s.view.child.name, theme.name);
        let halves = |r: Rect| Layout::horizontal([Constraint::Ratio(1, 2); 2]).areas::<2>(r);
        let [balance_label, after_label] = halves(a.labels);
        let [balance_amount, after_amount] = halves(a.amounts);
        let label = |text: &str| {
            Paragraph::new(Line::from(Span::styled(text.to_string(), theme.label)).centered())
        };
        frame.render_widget(label(&t.balance), balance_label);
        frame.render_widget(label(&t.balance_after), after_label);
        big_alike(
            app,
            frame,
            &[
                (balance_amount, &s.view.balance.to_string(), theme.amount),
                (after_amount, &after.to_string(), after_style),
            ],
        );
    }

    if let Some(note) = &s.view.child.note {
        let mut text = format!("⚠ {}: {note}", t.note);
        let room = usize::from(a.note.width) * usize::from(a.note.height);
        if text.chars().count() > room {
            text = text
                .chars()
                .take(room.saturating_sub(1))
                .collect::<String>()
                + "…";
        }
        let line = Line::from(Span::styled(text, theme.warning)).centered();
        frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), a.note);
    }
    if let Some(refusal) = &s.refusal {
        let text = format!(
            "✗ {}: {}",
            app.texts().result.refused,
            result::refusal_text(app.texts(), refusal)
        );
        let line = Line::from(text).style(theme.refused.add_modifier(Modifier::BOLD));
        frame.render_widget(
            Paragraph::new(line.centered())
                .style(theme.refused)
                .wrap(Wrap { trim: true }),
            a.refusal,
        );
    }
    draw_menu(app, s, frame, a.menu);
    draw_basket(app, s, shape, frame, a.basket);
}

/// The symbol and word that mark a menu item or basket line the child may
/// not buy: never colour alone. Before the name, so that a narrow column
/// cuts the name, not the mark.
fn blocked_mark(app: &App) -> String {
    format!("⊘ {}", app.texts().sale.blocked)
}

/// The menu as a grid: key, name, price; items the child may not buy
/// dimmed and marked. More items than fit go on pages.
fn draw_menu(app: &App, s: &SaleScreen, frame: &mut Frame, area: Rect) {
    let t = &app.texts().sale;
    let items = &app.menu.items;
    let MenuGrid {
        columns,
        per_page,
        pages,
    } = menu_grid(area, items.len());
    let page = s.menu_page.min(pages - 1);
    let title = if pages == 1 {
        t.menu.clone()
    } else {
        let filled = |text: &str| {
            fill(
                text,
                &[
                    ("page", &(page + 1).to_string()),
                    ("pages", &pages.to_string()),
                    ("next_key", &app.keymap.hint(&Action::NextPage)),
                    ("previous_key", &app.keymap.hint(&Action::PreviousPage)),
                ],
            )
        };
        let title = filled(&t.menu_page);
        // The keys are left out where the frame is too narrow for them.
        if title.chars().count() + 2 > usize::from(area.width) {
            filled(&t.menu_page_short)
        } else {
            title
        }
    };
    let block = menu_block(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let shown =
        &items[(page * per_page).min(items.len())..((page + 1) * per_page).min(items.len())];
    let column_areas = Layout::horizontal(vec![Constraint::Ratio(1, columns as u32); columns])
        .spacing(MENU_GAP)
        .split(inner);
    // Down the first column, then the next, as even as they go.
    let rows_per_column = shown.len().div_ceil(columns).max(1);
    // Prices as wide as the widest: what is left goes to the names.
    let price_width = items
        .iter()
        .map(|item| price_text(app, item).chars().count())
        .max()
        .unwrap_or(0) as u16;
    for (col, chunk) in shown.chunks(rows_per_column).enumerate() {
        let table = Table::new(
            chunk.iter().map(|item| menu_row(app, s, item)),
            [
                Constraint::Length(4),
                Constraint::Min(8),
                Constraint::Length(price_width),
            ],
        );
        frame.render_widget(table, column_areas[col]);
    }
}

/// Sold out says so in words, where the price would be.
fn price_text(app: &App, item: &MenuItem) -> String {
    if app.menu.is_sold_out(item.key) {
        app.texts().staff.tools.sold_out.clone()
    } else {
        item.price.to_string()
    }
}

/// One item of the menu: its key, its name with any mark, its price.
fn menu_row(app: &App, s: &SaleScreen, item: &MenuItem) -> Row<'static> {
    let sold_out = app.menu.is_sold_out(item.key);
    let (name, style) = if s.blocks(item) {
        (
            format!("{} {}", blocked_mark(app), item.name),
            app.theme().dimmed,
        )
    } else if sold_out {
        (item.name.clone(), app.theme().dimmed)
    } else {
        (item.name.clone(), app.theme().normal)
    };
    let price = price_text(app, item);
    Row::new(vec![
        Cell::from(Span::styled(format!("[{}]", item.key), app.theme().key)),
        Cell::from(name),
        Cell::from(Line::from(price).right_aligned()),
    ])
    .style(style)
}

fn draw_basket(app: &App, s: &SaleScreen, shape: Shape, frame: &mut Frame, area: Rect) {
    let t = &app.texts().sale;
    // Compact, the balances are on the amounts' row above.
    let with_balances = shape.fit != Fit::Compact;
    let block = Block::default()
        .borders(Borders::ALL)
        .title(t.basket.clone());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let left_today = s.view.left_today();
    let totals_height = 2 + 2 * u16::from(with_balances) + u16::from(left_today.is_some());
    let [lines_area, totals_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(totals_height)]).areas(inner);
    if s.basket.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(t.empty_basket.clone(), app.theme().dimmed)),
            lines_area,
        );
    } else {
        let rows = s.basket.lines().iter().map(|line| {
            let blocked = s.blocks(&line.item);
            let name = if blocked {
                format!("{} {}", blocked_mark(app), line.item.name)
            } else {
                line.item.name.clone()
            };
            Row::new(vec![
                Cell::from(format!("{:>2} ×", line.quantity)),
                Cell::from(name),
                Cell::from(
                    Line::from((line.item.price * line.quantity).to_string()).right_aligned(),
                ),
            ])
            .style(if blocked {
                app.theme().bad
            } else {
                app.theme().normal
            })
        });
        let amount_width = s
            .basket
            .lines()
            .iter()
            .map(|line| {
                (line.item.price * line.quantity)
                    .to_string()
                    .chars()
                    .count()
            })
            .max()
            .unwrap_or(0) as u16;
        let table = Table::new(
            rows,
            [
                Constraint::Length(5),
                Constraint::Min(6),
                Constraint::Length(amount_width),
            ],
        )
        .row_highlight_style(app.theme().selected)
        .highlight_symbol("▶ ")
        .highlight_spacing(HighlightSpacing::Always);
        // The table scrolls to keep the selected line in view.
        let mut state = TableState::default().with_selected(s.basket.selected());
        frame.render_stateful_widget(table, lines_area, &mut state);
    }
    // The staff's summary in plain figures; the child reads the big ones.
    let total = s.basket.total();
    let after = s.view.balance - total;
    let figure = |label: &str, amount: String, style| {
        Line::from(vec![
            Span::styled(format!("{label}: "), app.theme().label),
            Span::styled(amount, style),
        ])
    };
    let after_style = if after.is_negative() {
        app.theme().bad
    } else {
        app.theme().normal
    };
    let mut totals = if with_balances {
        vec![
            figure(&t.balance, s.view.balance.to_string(), app.theme().normal),
            figure(&t.total, total.to_string(), app.theme().amount),
            figure(&t.balance_after, after.to_string(), after_style),
        ]
    } else {
        vec![figure(&t.total, total.to_string(), app.theme().amount)]
    };
    if let Some(left) = left_today {
        let style = if total > left {
            app.theme().bad
        } else {
            app.theme().normal
        };
        totals.push(figure(&t.left_today, left.to_string(), style));
    }
    totals.push(if s.saving {
        Line::from(Span::styled(t.saving.clone(), app.theme().warning))
    } else {
        Line::from("")
    });
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
        (
            format!("{}{}", k.hint(&Action::Up), k.hint(&Action::Down)),
            t.hint_select.clone(),
        ),
    ]
}
