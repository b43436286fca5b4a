//! One module per command, dispatched by `cli::run`. A command module never imports another:
//! what two of them share lives in a library module (`engine`, `plan`, `read`, `map`, `check`,
//! `report`). Each says only what is particular to it; networked ones run through `engine`.

pub mod completions;
pub mod delete;
pub mod export;
pub mod import;
pub mod ledger;
pub mod map;
pub mod message;
pub mod reconcile;
pub mod run;
pub mod sandbox;
pub mod template;
pub mod validate;
