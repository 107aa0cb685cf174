//! The activation code on a payer's letter: 12 characters from an
//! alphabet of 32 without look-alikes (no 0/O, 1/I), so 60 random bits
//! from the operating system, shown in groups of four for typing
//! (`K7QF-2M9X-PT4D`). The ledger keeps only its SHA-256; the code itself
//! exists in the letter and in the response that printed it.

use super::session::sha256;

/// 8 digits and 24 letters: no 0, 1, I or O, which read as one another.
const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const LENGTH: usize = 12;

#[derive(Clone, PartialEq, Eq)]
pub struct ActivationCode(String);

/// Never the code in a log line or a panic message.
impl std::fmt::Debug for ActivationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ActivationCode(…)")
    }
}

impl ActivationCode {
    /// A new code: 5 bits of the system's random source a character.
    pub fn new() -> ActivationCode {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("the system's random source works");
        let mut bits = u64::from_le_bytes(bytes);
        let code = (0..LENGTH)
            .map(|_| {
                let c = ALPHABET[(bits & 31) as usize] as char;
                bits >>= 5;
                c
            })
            .collect();
        ActivationCode(code)
    }

    /// A code as someone typed it: any case, spaces and dashes anywhere.
    /// Dashes as a word processor or mail writes them (an en dash, a
    /// non-breaking hyphen) and the invisible characters a copy from a
    /// mail may carry (a soft hyphen, a zero-width space) are dashes and
    /// spaces too: a parent pasting the code is not counted a wrong try.
    /// None when it cannot be a code (a wrong length, a letter not in
    /// the alphabet): nothing to look up.
    pub fn parse(typed: &str) -> Option<ActivationCode> {
        let code: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && !is_separator(*c))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let fits = code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b));
        fits.then_some(ActivationCode(code))
    }

    /// As printed: groups of four.
    pub fn grouped(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        chars
            .chunks(4)
            .map(|group| group.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// What the ledger keeps.
    pub fn hash(&self) -> Vec<u8> {
        sha256(&self.0)
    }
}

/// A dash of any kind, or a character that shows nothing.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'..='\u{2015}' // hyphen, non-breaking hyphen, figure, en, em dash
            | '\u{2212}' // minus
            | '\u{00AD}' // soft hyphen
            | '\u{200B}'..='\u{200D}' // zero-width space and joiners
            | '\u{2060}' // word joiner
            | '\u{FEFF}' // byte order mark
    )
}

impl Default for ActivationCode {
    fn default() -> Self {
        ActivationCode::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_back_however_it_is_typed() {
        let code = ActivationCode::new();
        let shown = code.grouped();
        assert_eq!(shown.len(), 14, "{shown}");
        assert_eq!(shown.matches('-').count(), 2);
        for typed in [
            shown.clone(),
            shown.to_lowercase(),
            shown.replace('-', " "),
            format!("  {}  ", shown.replace('-', "")),
            // Pasted from a mail or a document.
            shown.replace('-', "\u{2013}"),
            shown.replace('-', "\u{2011}"),
            format!("\u{FEFF}{}\u{200B}", shown.replace('-', "\u{00AD}")),
            shown.replace('-', "\u{00A0}"),
        ] {
            assert_eq!(ActivationCode::parse(&typed), Some(code.clone()), "{typed}");
        }
        assert_eq!(ActivationCode::parse(&shown).unwrap().hash(), code.hash());
    }

    #[test]
    fn what_cannot_be_a_code_is_none() {
        for typed in [
            "",
            "K7QF-2M9X-PT4",
            "K7QF-2M9X-PT4DD",
            "K7QF-2M9X-PT40",
            "K7QF-2M9X-PT4O",
            "K7QF-2M9X-PT4Æ",
        ] {
            assert_eq!(ActivationCode::parse(typed), None, "{typed}");
        }
    }

    #[test]
    fn codes_use_the_whole_alphabet_and_do_not_repeat() {
        let codes: Vec<String> = (0..2000).map(|_| ActivationCode::new().0).collect();
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), codes.len());
        let used: std::collections::BTreeSet<u8> = codes.iter().flat_map(|c| c.bytes()).collect();
        assert_eq!(used.len(), ALPHABET.len());
    }

    #[test]
    fn the_debug_form_hides_the_code() {
        let code = ActivationCode::new();
        assert!(!format!("{code:?}").contains(&code.0));
    }
}
