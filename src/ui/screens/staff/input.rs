//! How pages take keys: typing into a text field, moving in a list.

use crate::ui::Action;

/// Types into `text` if the action is typing (a character, or deleting
/// one), and says whether it was. Characters the field does not take,
/// and any past `max_chars`, are swallowed, not passed on.
pub fn typed(
    text: &mut String,
    action: &Action,
    accepts: fn(char) -> bool,
    max_chars: usize,
) -> bool {
    match action {
        Action::Input(c) => {
            if accepts(*c) && text.chars().count() < max_chars {
                text.push(*c);
            }
            true
        }
        Action::DeleteChar => {
            text.pop();
            true
        }
        _ => false,
    }
}

/// Moves a list selection up or down, staying inside the list.
pub fn step(selected: usize, len: usize, dir: &Action) -> usize {
    match dir {
        Action::Up => selected.saturating_sub(1),
        _ => (selected + 1).min(len.saturating_sub(1)),
    }
}
