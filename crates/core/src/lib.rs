//! What the klubkasse counter and the ledger share, and nothing else:
//! the pure rules ([`domain`]: money, entries, authorizing a sale, day
//! reports), the JSON contract between them ([`protocol`]), the text
//! catalogues both speak from ([`i18n`]) and the CSV both give people
//! ([`people_csv`]) or read from spreadsheets ([`sheet`]). No I/O.

pub mod domain;
pub mod i18n;
pub mod people_csv;
pub mod protocol;
pub mod sheet;
