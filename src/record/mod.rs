//! What the tool remembers: the journal beside each results file, and the lock that keeps two
//! runs off the same file.

pub mod journal;
pub mod lock;
