//! The staff menu, behind the PIN: undo, refund, top-up, children, cards,
//! the day report, quit.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

use crate::i18n::fill;
use crate::store::local_day;
use crate::ui::app::{App, Screen};
use crate::ui::effect::Effect;
use crate::ui::screens::report;
use crate::ui::{Action, SaleRow, theme};
use klubkasse_core::domain::{CardUid, Child, Connection, DayReport, Money, PinCheck};

/// Largest cash top-up in one go: a typo must not put 50.000 kr. on a card.
const MAX_TOP_UP_KRONER: i64 = 2_000;

#[derive(Debug, Clone)]
pub struct StaffScreen {
    pub page: Page,
    /// The outcome of the last task, shown until the next.
    pub message: Option<Result<String, String>>,
    /// Waiting for an effect to finish.
    pub pending: bool,
}

#[derive(Debug, Clone)]
pub enum Page {
    Pin {
        entered: String,
    },
    Menu {
        selected: usize,
    },
    Refund {
        rows: Option<Vec<SaleRow>>,
        selected: usize,
    },
    PickChild {
        purpose: Purpose,
        children: Option<Vec<Child>>,
        filter: String,
        selected: usize,
    },
    Amount {
        child: Child,
        input: String,
    },
    Name {
        input: String,
    },
    WaitCard,
    Report {
        report: Option<DayReport>,
        date: chrono::NaiveDate,
    },
}

/// Why staff are choosing a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    TopUp,
    HandOut(CardUid),
    Block,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    UndoLast,
    Refund,
    TopUp,
    AddChild,
    HandOut,
    Block,
    Report,
    Quit,
}

impl Task {
    pub const ALL: [Task; 8] = [
        Task::UndoLast,
        Task::Refund,
        Task::TopUp,
        Task::AddChild,
        Task::HandOut,
        Task::Block,
        Task::Report,
        Task::Quit,
    ];

    fn label(self, app: &App) -> &'static str {
        let t = &app.texts().staff;
        match self {
            Task::UndoLast => &t.undo_last,
            Task::Refund => &t.refund,
            Task::TopUp => &t.top_up,
            Task::AddChild => &t.add_child,
            Task::HandOut => &t.hand_out_card,
            Task::Block => &t.block_card,
            Task::Report => &t.report,
            Task::Quit => &t.quit,
        }
    }
}

/// The tasks this counter offers. Connected, children and their money
/// belong to the ledger: cash top-up and new children are the office's.
fn tasks(app: &App) -> Vec<Task> {
    let connected = app.settings.connection != Connection::Standalone;
    Task::ALL
        .into_iter()
        .filter(|t| !(connected && matches!(t, Task::TopUp | Task::AddChild)))
        .collect()
}

impl StaffScreen {
    fn at(page: Page) -> StaffScreen {
        StaffScreen {
            page,
            message: None,
            pending: false,
        }
    }

    pub fn wants_text(&self) -> bool {
        matches!(
            self.page,
            Page::Pin { .. } | Page::PickChild { .. } | Page::Amount { .. } | Page::Name { .. }
        )
    }

    pub fn busy(&self) -> bool {
        self.pending
    }
}

/// The staff key: ask for the PIN, unless there is none or it is locked.
pub fn open(app: &mut App) -> (Screen, Vec<Effect>) {
    if !app.settings.has_pin {
        app.notice = Some(app.texts().staff.no_pin.clone());
        return (Screen::Idle, vec![]);
    }
    let mut s = StaffScreen::at(Page::Pin {
        entered: String::new(),
    });
    s.message = locked_message(app).map(Err);
    (Screen::Staff(s), vec![])
}

fn locked_message(app: &App) -> Option<String> {
    match app.pin_guard.state(app.now) {
        PinCheck::Locked { remaining } => Some(fill(
            &app.texts().staff.pin_locked,
            &[("seconds", &remaining.as_secs().max(1).to_string())],
        )),
        PinCheck::Open { .. } => None,
    }
}

fn to_menu(message: Option<Result<String, String>>) -> StaffScreen {
    StaffScreen {
        page: Page::Menu { selected: 0 },
        message,
        pending: false,
    }
}

pub fn update(app: &mut App, mut s: StaffScreen, action: Action) -> (Screen, Vec<Effect>) {
    // Outcomes of effects first: they arrive whatever the page.
    match action {
        Action::StaffDone(outcome) => {
            let stay_on_report = matches!(s.page, Page::Report { .. });
            s.pending = false;
            s.message = Some(outcome);
            if !stay_on_report {
                s.page = Page::Menu { selected: 0 };
            }
            return (Screen::Staff(s), vec![]);
        }
        Action::PinChecked { ok, guard } => {
            app.pin_guard = guard;
            if ok {
                return (Screen::Staff(to_menu(None)), vec![]);
            }
            s.pending = false;
            s.message = Some(Err(locked_message(app).unwrap_or_else(|| {
                let tries = match app.pin_guard.state(app.now) {
                    PinCheck::Open { tries_left } => tries_left,
                    PinCheck::Locked { .. } => 0,
                };
                fill(
                    &app.texts().staff.pin_wrong,
                    &[("tries", &tries.to_string())],
                )
            })));
            return (Screen::Staff(s), vec![]);
        }
        Action::StaffCard { .. }
        | Action::ChildrenLoaded(_)
        | Action::SalesLoaded(_)
        | Action::ReportLoaded(_) => {
            s.pending = false;
        }
        // While a task runs, keys wait: no second refund by a double Enter.
        _ if s.pending => return (Screen::Staff(s), vec![]),
        _ => {}
    }

    if edit_text(&mut s.page, &action) {
        return (Screen::Staff(s), vec![]);
    }
    let page = std::mem::replace(&mut s.page, Page::WaitCard);
    match (page, action) {
        // ---- the PIN ----
        (Page::Pin { .. }, Action::Cancel) => return (Screen::Idle, vec![]),
        (Page::Pin { entered }, Action::Confirm) => {
            s.page = Page::Pin {
                entered: String::new(),
            };
            if let Some(locked) = locked_message(app) {
                s.message = Some(Err(locked));
            } else if !entered.is_empty() {
                s.pending = true;
                let guard = app.pin_guard.clone();
                return (
                    Screen::Staff(s),
                    vec![Effect::CheckPin {
                        pin: entered,
                        guard,
                    }],
                );
            }
        }

        // ---- the menu ----
        (Page::Menu { .. }, Action::Cancel) => return (Screen::Idle, vec![]),
        (Page::Menu { selected }, Action::Up) => {
            s.page = Page::Menu {
                selected: selected.saturating_sub(1),
            }
        }
        (Page::Menu { selected }, Action::Down) => {
            s.page = Page::Menu {
                selected: (selected + 1).min(tasks(app).len() - 1),
            }
        }
        (Page::Menu { selected }, Action::Confirm) => {
            s.message = None;
            let tasks = tasks(app);
            return start(app, s, tasks[selected.min(tasks.len() - 1)]);
        }

        // ---- refund a sale of today ----
        (Page::Refund { rows, selected }, dir @ (Action::Up | Action::Down)) => {
            let len = rows.as_ref().map_or(0, Vec::len);
            s.page = Page::Refund {
                rows,
                selected: step(selected, len, &dir),
            };
        }
        (Page::Refund { .. }, Action::SalesLoaded(rows)) => {
            if rows.is_empty() {
                return (
                    Screen::Staff(to_menu(Some(Ok(app.texts().staff.no_sales_today.clone())))),
                    vec![],
                );
            }
            s.page = Page::Refund {
                rows: Some(rows),
                selected: 0,
            };
        }
        (
            Page::Refund {
                rows: Some(rows),
                selected,
            },
            Action::Confirm,
        ) => match rows.get(selected) {
            Some(row) if !row.refunded => {
                s.pending = true;
                let id = row.sale.id;
                s.page = Page::Refund {
                    rows: Some(rows),
                    selected,
                };
                return (Screen::Staff(s), vec![Effect::Refund(id)]);
            }
            _ => {
                s.message = Some(Err(app.texts().staff.already_refunded.clone()));
                s.page = Page::Refund {
                    rows: Some(rows),
                    selected,
                };
            }
        },

        // ---- choose a child (top-up, hand out a card, block) ----
        (
            Page::PickChild {
                purpose, filter, ..
            },
            Action::ChildrenLoaded(children),
        ) => {
            s.page = Page::PickChild {
                purpose,
                children: Some(children),
                filter,
                selected: 0,
            };
        }
        (
            Page::PickChild {
                purpose,
                children,
                filter,
                selected,
            },
            dir @ (Action::Up | Action::Down),
        ) => {
            let len = children
                .as_ref()
                .map_or(0, |c| matching(c, &filter).count());
            let selected = step(selected, len, &dir);
            s.page = Page::PickChild {
                purpose,
                children,
                filter,
                selected,
            };
        }
        (
            Page::PickChild {
                purpose,
                children: Some(children),
                filter,
                selected,
            },
            Action::Confirm,
        ) => {
            let Some(child) = matching(&children, &filter).nth(selected).cloned() else {
                s.page = Page::PickChild {
                    purpose,
                    children: Some(children),
                    filter,
                    selected,
                };
                return (Screen::Staff(s), vec![]);
            };
            match purpose {
                Purpose::TopUp => {
                    s.page = Page::Amount {
                        child,
                        input: String::new(),
                    }
                }
                Purpose::HandOut(uid) => {
                    s.pending = true;
                    s.page = Page::PickChild {
                        purpose: Purpose::HandOut(uid.clone()),
                        children: Some(children),
                        filter,
                        selected,
                    };
                    return (
                        Screen::Staff(s),
                        vec![Effect::BindCard {
                            uid,
                            child: child.id,
                        }],
                    );
                }
                Purpose::Block => {
                    s.pending = true;
                    s.page = Page::PickChild {
                        purpose: Purpose::Block,
                        children: Some(children),
                        filter,
                        selected,
                    };
                    return (Screen::Staff(s), vec![Effect::BlockChildCards(child.id)]);
                }
            }
        }
        (
            page @ Page::PickChild {
                purpose: Purpose::Block,
                ..
            },
            Action::CardTapped(uid),
        ) => {
            s.pending = true;
            s.page = page;
            return (Screen::Staff(s), vec![Effect::BlockCard(uid)]);
        }

        // ---- cash top-up amount ----
        (Page::Amount { child, input }, Action::Confirm) => {
            let t = &app.texts().staff;
            let amount = Money::parse(&input)
                .map_err(|e| e.to_string())
                .and_then(|m| {
                    if !m.is_positive() || m > Money::kroner(MAX_TOP_UP_KRONER) {
                        Err(format!("1–{}", Money::kroner(MAX_TOP_UP_KRONER)))
                    } else {
                        Ok(m)
                    }
                });
            match amount {
                Ok(amount) => {
                    s.pending = true;
                    let id = child.id;
                    s.page = Page::Amount { child, input };
                    return (
                        Screen::Staff(s),
                        vec![Effect::Deposit { child: id, amount }],
                    );
                }
                Err(e) => {
                    s.message = Some(Err(fill(&t.bad_amount, &[("error", &e)])));
                    s.page = Page::Amount { child, input };
                }
            }
        }

        // ---- a new child ----
        (Page::Name { input }, Action::Confirm) if !input.trim().is_empty() => {
            s.pending = true;
            let name = input.trim().to_string();
            s.page = Page::Name { input };
            return (Screen::Staff(s), vec![Effect::AddChild { name }]);
        }

        // ---- hand out a card: tap it, then choose the child ----
        (Page::WaitCard, Action::CardTapped(uid)) => {
            s.pending = true;
            s.page = Page::WaitCard;
            return (Screen::Staff(s), vec![Effect::IdentifyCard(uid)]);
        }
        (Page::WaitCard, Action::StaffCard { uid, owner }) => match owner {
            Some(owner) => {
                s.message = Some(Err(fill(
                    &app.texts().staff.card_taken,
                    &[("name", &owner.name)],
                )));
                s.page = Page::WaitCard;
            }
            None => {
                s.page = Page::PickChild {
                    purpose: Purpose::HandOut(uid),
                    children: None,
                    filter: String::new(),
                    selected: 0,
                };
                return (Screen::Staff(s), vec![Effect::LoadChildren]);
            }
        },

        // ---- the day report ----
        (Page::Report { date, .. }, Action::ReportLoaded(report)) => {
            s.page = Page::Report {
                report: Some(report),
                date,
            }
        }
        (Page::Report { report, date }, Action::ExportReport) => {
            s.pending = true;
            s.page = Page::Report { report, date };
            return (Screen::Staff(s), vec![Effect::ExportReport(date)]);
        }

        // ---- back ----
        (_, Action::Cancel) => return (Screen::Staff(to_menu(s.message)), vec![]),
        (page, _) => s.page = page,
    }
    (Screen::Staff(s), vec![])
}

/// Typing into the page's text field, if it has one: the PIN (digits),
/// the name filter, the amount (digits and a decimal mark), a new name.
/// Characters a field does not take are swallowed, not passed on.
fn edit_text(page: &mut Page, action: &Action) -> bool {
    if !matches!(action, Action::Input(_) | Action::DeleteChar) {
        return false;
    }
    let (text, accepts, max_chars): (&mut String, fn(char) -> bool, usize) = match page {
        Page::Pin { entered } => (entered, |c| c.is_ascii_digit(), 12),
        Page::PickChild {
            filter, selected, ..
        } => {
            *selected = 0;
            (filter, |c| !c.is_control(), 24)
        }
        Page::Amount { input, .. } => (input, |c| c.is_ascii_digit() || c == ',' || c == '.', 9),
        Page::Name { input } => (input, |c| !c.is_control(), 40),
        _ => return false,
    };
    match action {
        Action::Input(c) if accepts(*c) && text.chars().count() < max_chars => text.push(*c),
        Action::DeleteChar => {
            text.pop();
        }
        _ => {}
    }
    true
}

/// Moves a list selection up or down, staying inside the list.
fn step(selected: usize, len: usize, dir: &Action) -> usize {
    match dir {
        Action::Up => selected.saturating_sub(1),
        _ => (selected + 1).min(len.saturating_sub(1)),
    }
}

fn start(app: &mut App, mut s: StaffScreen, task: Task) -> (Screen, Vec<Effect>) {
    let pick = |purpose| Page::PickChild {
        purpose,
        children: None,
        filter: String::new(),
        selected: 0,
    };
    let (page, effects) = match task {
        Task::UndoLast => {
            s.pending = true;
            (Page::Menu { selected: 0 }, vec![Effect::UndoLast])
        }
        Task::Refund => (
            Page::Refund {
                rows: None,
                selected: 0,
            },
            vec![Effect::LoadSales],
        ),
        Task::TopUp => (pick(Purpose::TopUp), vec![Effect::LoadChildren]),
        Task::AddChild => (
            Page::Name {
                input: String::new(),
            },
            vec![],
        ),
        Task::HandOut => (Page::WaitCard, vec![]),
        Task::Block => (pick(Purpose::Block), vec![Effect::LoadChildren]),
        Task::Report => {
            let date = local_day(app.now);
            (
                Page::Report { report: None, date },
                vec![Effect::LoadReport(date)],
            )
        }
        Task::Quit => {
            app.quit = true;
            return (Screen::Idle, vec![]);
        }
    };
    s.page = page;
    (Screen::Staff(s), effects)
}

/// Children whose name contains the filter, ignoring case.
fn matching<'a>(children: &'a [Child], filter: &str) -> impl Iterator<Item = &'a Child> {
    let filter = filter.to_lowercase();
    children
        .iter()
        .filter(move |c| c.name.to_lowercase().contains(&filter))
}

pub fn draw(app: &App, s: &StaffScreen, frame: &mut Frame, area: Rect) {
    let t = &app.texts().staff;
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(t.title.clone(), theme::HEADER));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [body, message_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(2)]).areas(inner);
    match &s.page {
        Page::Pin { entered } => {
            let lines = vec![
                Line::from(t.pin_prompt.clone()),
                Line::from(""),
                Line::from(Span::styled(
                    format!("{}_", "●".repeat(entered.len())),
                    theme::AMOUNT,
                )),
            ];
            frame.render_widget(Paragraph::new(lines), body);
        }
        Page::Menu { selected } => {
            let items: Vec<ListItem> = tasks(app)
                .iter()
                .map(|task| ListItem::new(task.label(app)))
                .collect();
            draw_list(frame, body, items, *selected, None);
        }
        Page::Refund { rows, selected } => {
            let items: Vec<ListItem> = rows
                .iter()
                .flatten()
                .map(|row| {
                    let time = row.sale.at.with_timezone(&chrono::Local).format("%H:%M");
                    let what: Vec<String> = match &row.sale.kind {
                        klubkasse_core::domain::EntryKind::Sale { lines, .. } => lines
                            .iter()
                            .map(|l| format!("{}×{}", l.quantity, l.name))
                            .collect(),
                        _ => vec![],
                    };
                    let mut text = format!(
                        "{time}  {:<20} {:>13}  {}",
                        row.child_name,
                        (-row.sale.amount).to_string(),
                        what.join(", ")
                    );
                    if row.refunded {
                        text.push_str(&format!("  ({})", t.already_refunded));
                    }
                    ListItem::new(text).style(if row.refunded {
                        theme::DIMMED
                    } else {
                        theme::NORMAL
                    })
                })
                .collect();
            draw_list(frame, body, items, *selected, None);
        }
        Page::PickChild {
            purpose,
            children,
            filter,
            selected,
        } => {
            let title = match purpose {
                Purpose::Block => t.tap_card_to_block.clone(),
                _ => t.pick_child.clone(),
            };
            let items: Vec<ListItem> = children
                .iter()
                .flat_map(|c| matching(c, filter))
                .map(|c| ListItem::new(c.name.clone()))
                .collect();
            draw_list(
                frame,
                body,
                items,
                *selected,
                Some(format!("{title}   › {filter}_")),
            );
        }
        Page::Amount { child, input } => {
            let lines = vec![
                Line::from(Span::styled(child.name.clone(), theme::NAME)),
                Line::from(t.amount_prompt.clone()),
                Line::from(""),
                Line::from(Span::styled(format!("{input}_ kr."), theme::AMOUNT)),
            ];
            frame.render_widget(Paragraph::new(lines), body);
        }
        Page::Name { input } => {
            let lines = vec![
                Line::from(t.name_prompt.clone()),
                Line::from(""),
                Line::from(Span::styled(format!("{input}_"), theme::AMOUNT)),
            ];
            frame.render_widget(Paragraph::new(lines), body);
        }
        Page::WaitCard => frame.render_widget(
            Paragraph::new(Span::styled(t.tap_new_card.clone(), theme::WARNING)),
            body,
        ),
        Page::Report { report, date } => {
            if let Some(report) = report {
                report::draw(app, report, *date, frame, body)
            }
        }
    }
    if let Some(message) = &s.message {
        let (text, style) = match message {
            Ok(m) => (m.as_str(), theme::GOOD),
            Err(m) => (m.as_str(), theme::BAD),
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text.to_string(), style)).wrap(Wrap { trim: true }),
            message_area,
        );
    }
}

fn draw_list(
    frame: &mut Frame,
    area: Rect,
    items: Vec<ListItem>,
    selected: usize,
    title: Option<String>,
) {
    let mut list = List::new(items)
        .highlight_style(theme::SELECTED)
        .highlight_symbol("▶ ");
    if let Some(title) = title {
        list = list.block(Block::default().title(title));
    }
    let mut state = ListState::default().with_selected(Some(selected));
    frame.render_stateful_widget(list, area, &mut state);
}

pub fn hints(app: &App, s: &StaffScreen) -> Vec<(String, String)> {
    let k = &app.keymap;
    let t = &app.texts().staff;
    match s.page {
        Page::Report { .. } => vec![(k.hint(&Action::ExportReport), t.export_hint.clone())],
        _ => vec![(String::new(), t.hint.clone())],
    }
}
