//! What the klubkasse counter and the ledger share, and nothing else:
//! the pure rules ([`domain`]: money, entries, authorizing a sale, day
//! reports) and the JSON contract between them ([`protocol`]). No I/O.

pub mod domain;
pub mod protocol;
