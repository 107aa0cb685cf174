//! What the import says, in the language asked for: the texts are under
//! `[import]` in `assets/i18n/`.

use klubkasse_core::i18n::{Language, fill};

use klubkasse_core::sheet::{AmountFault, SheetFault};

use super::COLUMNS;

/// One thing wrong with a cell, a line or the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The header or the line as a sheet's (see [`klubkasse_core::sheet`]).
    Sheet(SheetFault),
    NameEmpty,
    NameControl,
    UidEmpty,
    UidInvalid {
        text: String,
    },
    CardTwice {
        uid: String,
        earlier: u64,
    },
    Amount {
        text: String,
        fault: AmountFault,
    },
    Negative {
        text: String,
    },
    CardState {
        text: String,
    },
}

/// The text under `import.KEY`, filled; Danish where the language has none.
pub(super) fn say(language: Language, key: &str, values: &[(&str, &str)]) -> String {
    let key = format!("import.{key}");
    let template = language
        .text(&key)
        .or_else(|| Language::DA.text(&key))
        .unwrap_or(&key);
    fill(template, values)
}

impl Fault {
    pub fn text(&self, language: Language) -> String {
        let say = |key: &str, values: &[(&str, &str)]| say(language, key, values);
        match self {
            Fault::Sheet(fault) => fault.text(language, &COLUMNS),
            Fault::NameEmpty => say("name_empty", &[]),
            Fault::NameControl => say("name_control", &[]),
            Fault::UidEmpty => say("uid_empty", &[]),
            Fault::UidInvalid { text } => say("uid_invalid", &[("text", text)]),
            Fault::CardTwice { uid, earlier } => say(
                "card_twice",
                &[("uid", uid), ("line", &earlier.to_string())],
            ),
            Fault::Amount { text, fault } => fault.text(language, text),
            Fault::Negative { text } => say("negative", &[("text", text)]),
            Fault::CardState { text } => say("card_state", &[("text", text)]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_has_its_words_in_every_language() {
        let faults = [
            Fault::Sheet(SheetFault::UnknownColumn),
            Fault::Sheet(SheetFault::FieldCount { got: 2, want: 3 }),
            Fault::NameEmpty,
            Fault::NameControl,
            Fault::UidEmpty,
            Fault::UidInvalid { text: "x".into() },
            Fault::CardTwice {
                uid: "04".into(),
                earlier: 2,
            },
            Fault::Amount {
                text: "1.500".into(),
                fault: AmountFault::Ambiguous,
            },
            Fault::Amount {
                text: "x".into(),
                fault: AmountFault::NotANumber,
            },
            Fault::Amount {
                text: "x".into(),
                fault: AmountFault::TooPrecise,
            },
            Fault::Amount {
                text: "x".into(),
                fault: AmountFault::TooLarge,
            },
            Fault::Negative { text: "-1".into() },
            Fault::CardState { text: "x".into() },
        ];
        for language in Language::all() {
            for fault in &faults {
                let text = fault.text(language);
                assert!(
                    !text.contains("import.") && !text.contains('{'),
                    "{language}: {fault:?}: {text}"
                );
            }
        }
        assert_eq!(
            Fault::Amount {
                text: "1.500".into(),
                fault: AmountFault::Ambiguous
            }
            .text(Language::DA),
            "«1.500» kan læses på to måder (tusinder eller decimaler): skriv 1500 eller 1500,00 for 1500 kr., ellers højst to decimaler"
        );
    }
}
