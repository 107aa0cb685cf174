//! What the klubkasse counter and the ledger share, and nothing else:
//! the pure rules ([`domain`]: money, entries, authorizing a sale, day
//! reports), the JSON contract between them ([`protocol`]) and the text
//! catalogues both speak from ([`i18n`]). No I/O.

pub mod domain;
pub mod i18n;
pub mod protocol;
