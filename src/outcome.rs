//! What happened to one input row, shared by every command and by the results writers. Pure data.

use serde::{Deserialize, Serialize};

use crate::cell::Cell;

/// The `kayse_result` of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Valid,
    Invalid,
    Created,
    Updated,
    Failed,
    Unknown,
    Skipped,
    Deleted,
    NotFound,
    Sent,
    OptedOut,
    Duplicate,
    /// Import: the row says nothing new compared with what the ledger last sent; no request.
    Unchanged,
    /// Import: Kayse already has this case number and the ledger has no id for it.
    Exists,
    /// Import: the row and the ledger disagree (e.g. the sheet's id); reported, never guessed.
    Conflict,
    /// Import, a case sheet's clients: a client the ledger knows from an earlier import of
    /// another sheet (or by its email or mobile), linked with no request.
    Reused,
}

impl Outcome {
    /// The word written in the `kayse_result` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Valid => "valid",
            Outcome::Invalid => "invalid",
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Failed => "failed",
            Outcome::Unknown => "unknown",
            Outcome::Skipped => "skipped",
            Outcome::Deleted => "deleted",
            Outcome::NotFound => "not_found",
            Outcome::Sent => "sent",
            Outcome::OptedOut => "opted_out",
            Outcome::Duplicate => "duplicate",
            Outcome::Unchanged => "unchanged",
            Outcome::Exists => "exists",
            Outcome::Conflict => "conflict",
            Outcome::Reused => "reused",
        }
    }

    /// Parse the word back (results files are valid inputs for `--only-failed`).
    pub fn parse(s: &str) -> Option<Outcome> {
        ALL.iter().copied().find(|o| o.as_str() == s.trim())
    }

    /// Whether this outcome makes the exit code 1.
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            Outcome::Invalid
                | Outcome::Failed
                | Outcome::Unknown
                | Outcome::NotFound
                | Outcome::Exists
                | Outcome::Conflict
        )
    }
}

pub const ALL: &[Outcome] = &[
    Outcome::Valid,
    Outcome::Invalid,
    Outcome::Created,
    Outcome::Updated,
    Outcome::Failed,
    Outcome::Unknown,
    Outcome::Skipped,
    Outcome::Deleted,
    Outcome::NotFound,
    Outcome::Sent,
    Outcome::OptedOut,
    Outcome::Duplicate,
    Outcome::Unchanged,
    Outcome::Exists,
    Outcome::Conflict,
    Outcome::Reused,
];

/// One problem with one row, tied to the input column it came from when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// The schema field (or, for row-level problems such as a server error, `row`).
    pub field: String,
    /// Index of the input column to mark in the results workbook.
    pub column: Option<usize>,
    pub message: String,
    /// The offending value, quoted in the message shown to the user.
    pub value: Option<String>,
}

impl RowError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        RowError {
            field: field.into(),
            column: None,
            message: message.into(),
            value: None,
        }
    }

    pub fn at(mut self, column: Option<usize>) -> Self {
        self.column = column;
        self
    }

    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }
}

impl std::fmt::Display for RowError {
    /// `field: message (value 'x')`, the form written to `kayse_errors`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)?;
        if let Some(v) = &self.value {
            write!(f, " (value '{v}')")?;
        }
        Ok(())
    }
}

/// Join errors the way the `kayse_errors` column shows them.
pub fn join_errors(errors: &[RowError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// One row of a results file: the outcome, then the input row as it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    pub source_row: usize,
    pub outcome: Outcome,
    pub kayse_id: Option<u64>,
    pub errors: Vec<RowError>,
    /// The input cells, in input column order.
    pub cells: Vec<Cell>,
    /// Values for the command's extra columns (e.g. the rendered message), in their order.
    pub extra: Vec<Cell>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for o in ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(*o));
        }
        assert_eq!(Outcome::parse("nope"), None);
    }

    #[test]
    fn error_text() {
        let e = RowError::new("created_date", "not a real date").with_value("02/30/2025");
        assert_eq!(
            e.to_string(),
            "created_date: not a real date (value '02/30/2025')"
        );
        let e2 = RowError::new("status", "is required");
        assert_eq!(
            join_errors(&[e, e2]),
            "created_date: not a real date (value '02/30/2025'); status: is required"
        );
    }
}
