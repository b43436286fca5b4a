//! The run of a networked command: confirmation, progress and (to come) the one collector that
//! every sending command shares.

pub mod confirm;
pub mod progress;
