//! What the kiosk says, in each language of the catalogues (Danish first).
//!
//! The texts live under `[kiosk]` in the catalogues of `assets/i18n/`
//! (see `klubkasse_core::i18n`), embedded in the binary. Every key is a
//! field below: a missing or misspelt key fails the tests, never a child's
//! screen. `{name}` placeholders are filled by [`fill`].

use serde::Deserialize;

pub use klubkasse_core::i18n::{Language, fill};

impl Texts {
    /// The kiosk's texts in `language`: the `[kiosk]` part of its catalogue.
    pub fn of(language: Language) -> &'static Texts {
        use std::sync::OnceLock;
        static ALL: OnceLock<Vec<(Language, Texts)>> = OnceLock::new();
        let all = ALL.get_or_init(|| {
            Language::all()
                .map(|language| {
                    let kiosk = language.catalogue().get("kiosk").cloned();
                    // Embedded and checked by the tests below: a wrong
                    // catalogue fails the tests, never a child's screen.
                    let texts = kiosk
                        .map(toml::Value::try_into)
                        .unwrap_or_else(|| panic!("assets/i18n/{language}.toml has no [kiosk]"))
                        .unwrap_or_else(|e| panic!("assets/i18n/{language}.toml: {e}"));
                    (language, texts)
                })
                .collect()
        });
        all.iter()
            .find(|(l, _)| *l == language)
            .or_else(|| all.iter().find(|(l, _)| *l == Language::DA))
            .map(|(_, texts)| texts)
            .expect("the Danish catalogue is embedded")
    }
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
    pub demo_keys_no_pin: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusTexts {
    pub standalone: String,
    /// Where the bar is too narrow for the whole.
    pub standalone_short: String,
    pub online_short: String,
    pub online: String,
    pub offline: String,
    pub refused: String,
    pub connecting: String,
    pub reader_ready: String,
    pub reader_missing: String,
    pub reader_demo: String,
    pub card_unreadable: String,
    pub disk_low: String,
    pub disk_full: String,
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
    pub menu_page: String,
    /// Where the frame is too narrow for the keys.
    pub menu_page_short: String,
    pub blocked: String,
    pub left_today: String,
    pub hint_select: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultTexts {
    pub paid: String,
    pub new_balance: String,
    pub refused: String,
    pub not_saved: String,
    pub disk_full: String,
    pub write_failed: String,
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
    pub daily_limit_used: String,
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
    pub pick_child: String,
    pub amount_prompt: String,
    pub topped_up: String,
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
    pub tools: ToolsTexts,
    pub unblock_card: String,
    pub pick_blocked_card: String,
    pub no_blocked_cards: String,
    pub card_not_blocked: String,
    pub card_unknown: String,
    pub card_unblocked: String,
    pub confirm_undo: String,
    pub confirm_refund: String,
    pub confirm_block_child: String,
    pub confirm_block_card: String,
    pub confirm_unblock: String,
    pub confirm_quit: String,
    pub confirm_keys: String,
    pub menu_pick: String,
    pub internal_error: String,
    pub cash_count: String,
    pub reverse_top_up: String,
    pub count_prompt: String,
    pub expected_cash: String,
    pub difference: String,
    pub cash_counted: String,
    pub balance_now: String,
    pub balance_after: String,
    pub confirm_top_up: String,
    pub no_top_ups_today: String,
    pub already_reversed: String,
    pub confirm_reversal: String,
    pub reversed: String,
    pub amount_empty: String,
    pub amount_not_a_number: String,
    pub amount_ambiguous: String,
    pub amount_misgrouped: String,
    pub amount_too_precise: String,
    pub amount_too_large: String,
    pub amount_zero: String,
    pub amount_too_much: String,
    pub spent_since_top_up: String,
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
    pub sold: String,
    pub returned: String,
    pub net_quantity: String,
    pub money: String,
    pub reversals: String,
    pub expected_cash: String,
    pub openings: String,
    pub cash_count: String,
    pub counted: String,
    pub difference: String,
    pub date: String,
    pub section: String,
    pub name: String,
    pub total: String,
}

/// The staff tools: a child without the card, the day's activity, prices.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolsTexts {
    pub sell_without_card: String,
    pub show_balance: String,
    pub activity: String,
    pub prices: String,
    pub or_tap: String,
    pub balance: String,
    pub spent_today: String,
    pub daily_limit: String,
    pub purchases_today: String,
    pub nothing_today: String,
    pub search: String,
    pub nothing_found: String,
    pub no_activity: String,
    pub activity_hint: String,
    pub only_sales_refund: String,
    pub sale: String,
    pub deposit: String,
    pub refund: String,
    pub withdrawal: String,
    pub card_fee: String,
    pub opening_balance: String,
    pub deposit_reversal: String,
    pub adjustment: String,
    pub without_card: String,
    pub sold_out: String,
    pub pick_item: String,
    pub file_price: String,
    pub new_price: String,
    pub mark_sold_out: String,
    pub back_in_stock: String,
    pub back_to_file_price: String,
    pub bad_price: String,
    pub price_set: String,
    pub is_sold_out: String,
    pub is_back: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_the_kiosks_texts() {
        for language in Language::all() {
            // Panics with the file and the key if one is missing or extra.
            let _ = Texts::of(language);
        }
        assert_eq!(
            Texts::of(Language::DA).idle.tap_card,
            "Hold dit kort på læseren"
        );
        assert_eq!(Texts::of(Language::EN).result.paid, "Paid");
    }

    /// An amount is shown with its own "kr.": a text that puts a full stop
    /// after one says "kr..".
    #[test]
    fn no_text_puts_a_full_stop_after_an_amount() {
        let amount = klubkasse_core::domain::Money::kroner(16).to_string();
        for language in Language::all() {
            for (key, placeholders) in
                klubkasse_core::i18n::keys_and_placeholders(language.catalogue())
            {
                let text = language.text(&key).unwrap_or_default();
                // The placeholders that hold amounts.
                let values: Vec<(&str, &str)> = placeholders
                    .iter()
                    .filter(|p| {
                        [
                            "amount",
                            "balance",
                            "available",
                            "limit",
                            "left",
                            "allowance",
                        ]
                        .contains(&p.as_str())
                    })
                    .map(|p| (p.as_str(), amount.as_str()))
                    .collect();
                let filled = fill(text, &values);
                assert!(!filled.contains("kr.."), "{language}: {key}: {filled}");
            }
        }
    }
}
