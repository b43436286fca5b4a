//! What the tool remembers of a run: the journal beside each results file.

pub mod journal;
