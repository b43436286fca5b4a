//! kayse-bulk: move case records between spreadsheets and the Kayse API.
//!
//! Data flows one way: `read` → `mapping` → `check` → (batch → send → `journal`) → `results`.
//! The pure core (schema, cell, mapping, rules, check, pacing policy) does no I/O; readers,
//! writers, the HTTP client and the sandbox sit at the edges.

pub mod case;
pub mod cell;
pub mod check;
pub mod cli;
pub mod client;
pub mod confirm;
pub mod delete;
pub mod exit;
pub mod export;
#[doc(hidden)]
pub mod fuzzing;
pub mod ids;
pub mod import;
pub mod journal;
pub mod mapping;
pub mod message;
pub mod outcome;
pub mod rate;
pub mod read;
pub mod results;
pub mod rules;
pub mod sandbox;
pub mod schema;
pub mod sms;
pub mod summary;
pub mod template;
pub mod template_text;
pub mod validate;
