//! Colours and emphasis, in one place. Green is paid, red is refused.

use ratatui::style::{Color, Modifier, Style};

pub const NORMAL: Style = Style::new();
pub const LABEL: Style = Style::new().fg(Color::Gray);
pub const AMOUNT: Style = Style::new().add_modifier(Modifier::BOLD);
pub const NAME: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
pub const KEY: Style = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
pub const DIMMED: Style = Style::new().fg(Color::DarkGray);
pub const SELECTED: Style = Style::new().add_modifier(Modifier::REVERSED);
pub const WARNING: Style = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
pub const BAD: Style = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
pub const GOOD: Style = Style::new().fg(Color::Green).add_modifier(Modifier::BOLD);
/// The whole result screen when a sale went through.
pub const PAID: Style = Style::new().bg(Color::Green).fg(Color::Black);
/// The whole result screen when it did not.
pub const REFUSED: Style = Style::new().bg(Color::Red).fg(Color::White);
pub const HEADER: Style = Style::new().fg(Color::White).add_modifier(Modifier::BOLD);
pub const STATUS_BAR: Style = Style::new().bg(Color::DarkGray).fg(Color::White);
