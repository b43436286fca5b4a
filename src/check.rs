//! Row validation: a mapped row becomes a `Case` payload or every error of that row. Tracks
//! duplicates and the distinct status/type values across the file. Pure: no I/O.
//! (SKELETON: to be implemented.)

use crate::case::Case;
use crate::mapping::MappedRow;
use crate::outcome::RowError;
use crate::rules::DateOrder;

#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub date_order: DateOrder,
    pub allowed_status: Option<Vec<String>>,
    pub allowed_type: Option<Vec<String>>,
}

/// Validates rows one after another, remembering what earlier rows used.
#[derive(Debug, Default)]
pub struct Checker {
    pub rules: Rules,
}

/// What the checker learned about the file's values, for the summary.
#[derive(Debug, Clone, Default)]
pub struct ValueReport {
    pub statuses: Vec<(String, u64)>,
    pub types: Vec<(String, u64)>,
    pub warnings: Vec<String>,
}

impl Checker {
    pub fn new(rules: Rules) -> Self {
        Checker { rules }
    }

    pub fn check(&mut self, row: &MappedRow) -> Result<Case, Vec<RowError>> {
        let _ = row;
        Err(vec![RowError::new(
            "row",
            "validation is not implemented yet",
        )])
    }

    pub fn report(&self) -> ValueReport {
        ValueReport::default()
    }
}
