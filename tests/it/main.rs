//! The integration tests: one binary (linking the crate once), one module per command or area.
//! Each test runs the real `kayse-bulk` binary, mostly against a sandbox on a loopback port, in a
//! temp folder, and reads what users read (results workbooks cell by cell, stderr, exit codes).

mod clients_cmd;
mod clients_sheet;
mod data;
mod delete;
mod export;
mod help;
mod hostile;
mod import;
mod joined;
mod ledger;
mod linked;
mod linked_send;
mod message;
mod message_keys;
mod outage;
mod output;
mod presets;
mod profiles;
mod read;
mod readme;
mod reconcile_clients;
mod refresh;
mod report;
mod roundtrip;
mod runs;
mod sandbox_clients;
mod sandbox_contract;
mod secrets;
mod support;
mod template;
mod validate;
