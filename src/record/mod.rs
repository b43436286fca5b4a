//! What the tool remembers: the journal beside each results file, the ledger of every Kayse id
//! across runs, and the lock that keeps two runs off the same file.

pub mod journal;
pub mod ledger;
pub mod lock;
