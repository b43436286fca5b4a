//! Results files: one row per input row with `source_row`, `kayse_result`, `kayse_id`,
//! `kayse_errors`, the command's extra columns, then the input columns as read. XLSX (styled, with a
//! Summary sheet) or CSV (UTF-8 with BOM, formula-guarded). (SKELETON: to be implemented.)

use std::path::Path;

use crate::outcome::ResultRow;
use crate::summary::Summary;

#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("cannot write results {path}: {message}")]
    Write { path: String, message: String },
}

/// A results file being written, row by row, in input order.
pub struct ResultsWriter {
    _private: (),
}

impl ResultsWriter {
    /// Start a results file. `extra` names the command's own columns placed after `kayse_errors`.
    pub fn create(
        path: &Path,
        headers: &[String],
        extra: &[String],
    ) -> Result<ResultsWriter, ResultsError> {
        let _ = (path, headers, extra);
        Ok(ResultsWriter { _private: () })
    }

    pub fn write(&mut self, row: &ResultRow) -> Result<(), ResultsError> {
        let _ = row;
        Ok(())
    }

    /// Add the Summary sheet (XLSX) and move the finished file into place.
    pub fn finish(self, summary: &Summary) -> Result<(), ResultsError> {
        let _ = summary;
        Ok(())
    }
}
