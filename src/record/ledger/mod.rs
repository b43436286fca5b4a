//! The ledger: every Kayse id the tool has ever learned, with the firm's keys and the last state
//! sent or read, kept across runs. This part holds the pure rules it stores by: which fields make
//! a record's keys, and when a row says nothing new.

mod compare;
mod keys;

pub use compare::{Blanks, FieldChange, changes, nothing_new, same};
pub use keys::{CASE_KEYS, CLIENT_KEYS, Key, KeyRule, keys_of, rule, rules};
