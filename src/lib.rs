//! kayse-bulk: move case records between spreadsheets and the Kayse API.
//!
//! Data flows one way, and the folders say so: `read` → `map` → `check` → `plan` → `send` →
//! `record` → `report`. `entity` holds the one table per entity that every stage reads. The pure
//! core (entity, cell, map, check, plan, the pacing policy) does no I/O; readers, writers, the
//! HTTP client and the sandbox sit at the edges. `commands` holds one module per command, each
//! saying only what is particular to it; `engine` runs every networked command the same way.

pub mod cell;
pub mod check;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod entity;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod map;
pub mod outcome;
pub mod plan;
pub mod profile;
pub mod read;
pub mod record;
pub mod report;
pub mod sandbox;
pub mod send;
