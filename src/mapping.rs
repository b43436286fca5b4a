//! Mapping: decide which input column feeds which schema field (exact names, normalised names,
//! aliases, a mapping file, `--set`), then turn a raw row into per-field values. No validation of
//! values here and no I/O beyond loading the mapping file. (SKELETON: to be implemented.)

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::cell::Cell;
use crate::read::RawRow;

/// `--mapping FILE.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    pub allowed: Allowed,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowed {
    pub status: Option<Vec<String>>,
    #[serde(rename = "type")]
    pub case_type: Option<Vec<String>>,
}

impl MappingFile {
    pub fn load(path: &Path) -> Result<MappingFile, MappingError> {
        let _ = path;
        Ok(MappingFile::default())
    }
}

/// What to do with columns that match no field (`--extra-columns`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ExtraColumns {
    /// List them as a warning.
    #[default]
    Warn,
    /// Carry them into external_source_data.
    Data,
}

#[derive(Debug, Clone, Default)]
pub struct MapOptions {
    pub file: MappingFile,
    /// `--set FIELD=VALUE`, fixed for every row.
    pub set: Vec<(String, String)>,
    pub extra_columns: ExtraColumns,
}

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("{0}")]
    Invalid(String),
}

/// The decided column → field plan.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// Headers that match no field (warned about, or carried into external_source_data).
    pub unmapped: Vec<String>,
}

/// A row's values by field, each with the input column it came from.
#[derive(Debug, Clone, Default)]
pub struct MappedRow {
    pub source_row: usize,
    /// (field name, input column if any, value) in schema order; fields with no value are absent.
    pub values: Vec<(&'static str, Option<usize>, Cell)>,
}

impl Mapping {
    pub fn build(_headers: &[String], _opts: &MapOptions) -> Result<Mapping, MappingError> {
        Ok(Mapping::default())
    }

    pub fn apply(&self, row: &RawRow) -> MappedRow {
        MappedRow {
            source_row: row.source_row,
            values: Vec::new(),
        }
    }
}
