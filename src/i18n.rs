//! What the kiosk says, in Danish (the default) or English.
//!
//! The texts live in `assets/i18n/{da,en}.toml`, embedded in the binary.
//! Every key is a field below: a missing or misspelt key fails the tests,
//! never a child's screen. `{name}` placeholders are filled by [`fill`].

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Da,
    En,
}

impl Language {
    pub fn texts(self) -> &'static Texts {
        use std::sync::OnceLock;
        static DA: OnceLock<Texts> = OnceLock::new();
        static EN: OnceLock<Texts> = OnceLock::new();
        let (cell, source) = match self {
            Language::Da => (&DA, include_str!("../assets/i18n/da.toml")),
            Language::En => (&EN, include_str!("../assets/i18n/en.toml")),
        };
        // The files are part of the binary and checked by the tests below.
        cell.get_or_init(|| toml::from_str(source).expect("embedded translations are valid"))
    }
}

/// Replaces each `{key}` in `template` with its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (key, value) in values {
        out = out.replace(&format!("{{{key}}}"), value);
    }
    out
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Texts {
    pub idle: IdleTexts,
    pub status: StatusTexts,
    pub sale: SaleTexts,
    pub result: ResultTexts,
    pub refusal: RefusalTexts,
    pub staff: StaffTexts,
    pub report: ReportTexts,
    pub too_small: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdleTexts {
    pub tap_card: String,
    pub demo_keys: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusTexts {
    pub standalone: String,
    pub online: String,
    pub offline: String,
    pub refused: String,
    pub connecting: String,
    pub reader_ready: String,
    pub reader_missing: String,
    pub reader_demo: String,
    pub card_unreadable: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaleTexts {
    pub balance: String,
    pub note: String,
    pub menu: String,
    pub basket: String,
    pub empty_basket: String,
    pub total: String,
    pub balance_after: String,
    pub saving: String,
    pub hint_confirm: String,
    pub hint_cancel: String,
    pub hint_quantity: String,
    pub hint_remove: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultTexts {
    pub paid: String,
    pub new_balance: String,
    pub refused: String,
    pub not_saved: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusalTexts {
    pub unknown_card: String,
    pub card_blocked: String,
    pub not_enough_money: String,
    pub daily_limit: String,
    pub category_blocked: String,
    pub offline_allowance: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffTexts {
    pub title: String,
    pub pin_prompt: String,
    pub pin_wrong: String,
    pub pin_locked: String,
    pub no_pin: String,
    pub undo_last: String,
    pub refund: String,
    pub top_up: String,
    pub add_child: String,
    pub hand_out_card: String,
    pub block_card: String,
    pub report: String,
    pub quit: String,
    pub hint: String,
    pub nothing_to_undo: String,
    pub too_old_to_undo: String,
    pub undone: String,
    pub refunded: String,
    pub already_refunded: String,
    pub no_sales_today: String,
    pub pick_child: String,
    pub amount_prompt: String,
    pub topped_up: String,
    pub bad_amount: String,
    pub name_prompt: String,
    pub child_added: String,
    pub tap_new_card: String,
    pub card_handed_out: String,
    pub card_taken: String,
    pub tap_card_to_block: String,
    pub card_blocked: String,
    pub exported: String,
    pub export_hint: String,
    pub error: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportTexts {
    pub title: String,
    pub items: String,
    pub children: String,
    pub item: String,
    pub child: String,
    pub quantity: String,
    pub sales: String,
    pub amount: String,
    pub sales_total: String,
    pub refunds: String,
    pub deposits: String,
    pub net: String,
    pub no_sales: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_load_with_every_key() {
        assert_eq!(
            Language::Da.texts().idle.tap_card,
            "Hold dit kort på læseren"
        );
        assert_eq!(Language::En.texts().result.paid, "Paid");
    }

    #[test]
    fn placeholders_are_the_same_in_both_languages() {
        let placeholders = |lang: Language| {
            let source = match lang {
                Language::Da => include_str!("../assets/i18n/da.toml"),
                Language::En => include_str!("../assets/i18n/en.toml"),
            };
            let table: toml::Table = toml::from_str(source).unwrap();
            let mut found = Vec::new();
            collect(&table, "", &mut found);
            found
        };
        fn collect(table: &toml::Table, prefix: &str, out: &mut Vec<(String, Vec<String>)>) {
            for (key, value) in table {
                let path = format!("{prefix}{key}");
                match value {
                    toml::Value::Table(t) => collect(t, &format!("{path}."), out),
                    toml::Value::String(s) => {
                        let mut names: Vec<String> = s
                            .split('{')
                            .skip(1)
                            .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_string()))
                            .collect();
                        names.sort();
                        out.push((path, names));
                    }
                    _ => {}
                }
            }
        }
        let (mut da, mut en) = (placeholders(Language::Da), placeholders(Language::En));
        da.sort();
        en.sort();
        assert_eq!(da, en);
    }

    #[test]
    fn fill_replaces_every_placeholder() {
        assert_eq!(
            fill(
                "Ikke penge nok — du har {available}",
                &[("available", "12,50 kr.")]
            ),
            "Ikke penge nok — du har 12,50 kr."
        );
    }
}
