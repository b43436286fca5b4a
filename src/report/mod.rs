//! What people read: the results file, the run summary, and the sheet layout of exported cases.

pub mod changes;
pub mod clients;
pub mod known;
pub mod results;
pub mod sheet;
pub mod summary;
pub mod summary_sheet;
