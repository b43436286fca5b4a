//! Results files: one row per input row with `source_row`, `kayse_result`, `kayse_id`,
//! `kayse_errors`, the command's extra columns, then the input columns as read. XLSX (styled, with a
//! Summary sheet) or CSV (UTF-8 with BOM, formula-guarded). This module owns the column layout,
//! the format choice and the atomic replace; it never decides outcomes or reads inputs.

mod behind;
mod csv;
mod xlsx;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::cell::Cell;
use crate::outcome::ResultRow;
use crate::report::summary::Summary;

pub use self::behind::WriteBehind;

/// The columns kayse-bulk writes before the command's extra columns and the input columns.
pub const LEAD_COLUMNS: &[&str] = crate::entity::OUTPUT_COLUMNS;

/// Excel's limit on the characters (UTF-16 units) of one cell.
pub const MAX_CELL_CHARS: usize = 32_767;

/// Excel's limit on the rows of one sheet, the header included.
pub const MAX_SHEET_ROWS: usize = 1_048_576;

/// Excel's limit on the columns of one sheet.
pub const MAX_SHEET_COLUMNS: usize = 16_384;

#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("cannot write results {path}: {message}")]
    Write { path: String, message: String },
    #[error(
        "results {path}: an .xlsx sheet holds at most {max} rows; write CSV results instead with --results NAME.csv",
        max = MAX_SHEET_ROWS - 1
    )]
    TooManyRows { path: String },
    #[error(
        "results {path}: {columns} columns do not fit in an .xlsx sheet (at most {MAX_SHEET_COLUMNS}); write CSV results instead with --results NAME.csv"
    )]
    TooManyColumns { path: String, columns: usize },
    #[error("results {path}: the file name must end in .xlsx or .csv")]
    UnknownFormat { path: String },
    #[error(
        "cannot replace {path} ({message}); if it is open in Excel, close it and run again. The new results were kept in {kept}"
    )]
    Replace {
        path: String,
        message: String,
        kept: String,
    },
}

/// The format of a results file, chosen by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultsFormat {
    Xlsx,
    Csv,
}

impl ResultsFormat {
    /// `.xlsx` or `.csv`, case-insensitive; anything else is refused rather than guessed.
    pub fn from_path(path: &Path) -> Option<ResultsFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "xlsx" => Some(ResultsFormat::Xlsx),
            "csv" => Some(ResultsFormat::Csv),
            _ => None,
        }
    }
}

/// The full header row of a results file: the lead columns, `extra`, then the input headers.
pub fn result_headers(headers: &[String], extra: &[String]) -> Vec<String> {
    LEAD_COLUMNS
        .iter()
        .map(|s| s.to_string())
        .chain(extra.iter().cloned())
        .chain(headers.iter().cloned())
        .collect()
}

/// Prefix text that Excel would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return) with
/// `'`, so a hostile cell in a CSV cannot execute when the file is opened. Only for text values:
/// numbers are written as numbers.
pub fn guard_formula(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

/// Cut text longer than Excel's cell limit, ending it with a marker that says how long it was, so
/// one oversized cell never aborts a run. Lengths are counted in UTF-16 units, as Excel counts.
pub fn clip_for_excel(s: &str, max: usize) -> Cow<'_, str> {
    // A character never takes more UTF-16 units than UTF-8 bytes, so text within the limit in
    // bytes (nearly all of it) needs no counting.
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let units = s.encode_utf16().count();
    if units <= max {
        return Cow::Borrowed(s);
    }
    let marker = format!(" [cut: {units} characters]");
    let budget = max.saturating_sub(marker.encode_utf16().count());
    let mut used = 0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        if used + c.len_utf16() > budget {
            break;
        }
        used += c.len_utf16();
        end = i + c.len_utf8();
    }
    Cow::Owned(format!("{}{marker}", &s[..end]))
}

/// A table written beside the results rows (the distinct clients of a case sheet): a sheet of
/// its own in an XLSX results file, after the results and before the summary; a CSV file of its
/// own beside a CSV one, [`table_csv_path`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// The sheet's name, `Clients`; lower-cased, the CSV file's suffix.
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// `<results>.clients.csv` beside CSV results, for the table named `Clients`.
pub fn table_csv_path(results: &Path, name: &str) -> PathBuf {
    let mut s = results.as_os_str().to_owned();
    s.push(format!(".{}.csv", name.to_lowercase()));
    PathBuf::from(s)
}

/// The writer behind a `ResultsWriter`, one per format.
enum Inner {
    Xlsx(Box<xlsx::XlsxResults>),
    Csv(Box<csv::CsvResults>),
}

/// A results file being written, row by row, in input order. Nothing appears at the target path
/// until `finish`: rows go to a temporary file in the same folder, which then replaces the target,
/// so a crash never leaves a half-written file and an older results file survives a failed run.
/// Memory stays flat whatever the number of rows.
pub struct ResultsWriter {
    inner: Option<Inner>,
    target: PathBuf,
    temp: PathBuf,
}

impl ResultsWriter {
    /// Start a results file. `extra` names the command's own columns placed after `kayse_errors`.
    pub fn create(
        path: &Path,
        headers: &[String],
        extra: &[String],
    ) -> Result<ResultsWriter, ResultsError> {
        Self::create_hiding(path, headers, extra, &[])
    }

    /// `create`, with the input columns `hidden` (indices into `headers`) hidden as they were in
    /// the input workbook: hidden in an XLSX results file, so it still reads back whole, and left
    /// out of a CSV one, which cannot hide a column (the caller warns).
    pub fn create_hiding(
        path: &Path,
        headers: &[String],
        extra: &[String],
        hidden: &[usize],
    ) -> Result<ResultsWriter, ResultsError> {
        let shown = path.display().to_string();
        let format = ResultsFormat::from_path(path).ok_or_else(|| ResultsError::UnknownFormat {
            path: shown.clone(),
        })?;
        let temp = temp_path(path);
        let columns = result_headers(headers, extra);
        let inner = match format {
            ResultsFormat::Xlsx => {
                if columns.len() > MAX_SHEET_COLUMNS {
                    return Err(ResultsError::TooManyColumns {
                        path: shown,
                        columns: columns.len(),
                    });
                }
                Inner::Xlsx(Box::new(
                    xlsx::XlsxResults::new(&columns, extra.len(), hidden).map_err(|message| {
                        ResultsError::Write {
                            path: shown,
                            message,
                        }
                    })?,
                ))
            }
            ResultsFormat::Csv => {
                let c = csv::CsvResults::new(&temp, &columns, extra.len(), hidden).map_err(
                    |message| ResultsError::Write {
                        path: shown,
                        message,
                    },
                )?;
                Inner::Csv(Box::new(c))
            }
        };
        Ok(ResultsWriter {
            inner: Some(inner),
            target: path.to_path_buf(),
            temp,
        })
    }

    pub fn write(&mut self, row: &ResultRow) -> Result<(), ResultsError> {
        let shown = || self.target.display().to_string();
        match self.inner.as_mut() {
            Some(Inner::Xlsx(x)) => x.write(row).map_err(|e| match e {
                xlsx::RowFail::TooManyRows => ResultsError::TooManyRows { path: shown() },
                xlsx::RowFail::Other(message) => ResultsError::Write {
                    path: shown(),
                    message,
                },
            }),
            Some(Inner::Csv(c)) => c.write(row).map_err(|message| ResultsError::Write {
                path: shown(),
                message,
            }),
            None => Ok(()),
        }
    }

    /// Add the Summary sheet (XLSX) and move the finished file into place.
    pub fn finish(self, summary: &Summary) -> Result<(), ResultsError> {
        self.finish_with(summary, &[])
    }

    /// [`ResultsWriter::finish`], with `tables` written beside the rows (see [`Table`]).
    pub fn finish_with(self, summary: &Summary, tables: &[Table]) -> Result<(), ResultsError> {
        self.finish_checked(summary, tables, || Ok::<(), ResultsError>(()))?
    }

    /// [`ResultsWriter::finish_with`], asking `may_replace` once every new file is complete and
    /// before any replaces an earlier one. Its refusal (the inner error) removes the new files
    /// and leaves every earlier one as it was. Asked this late, it can take its time beside the
    /// finishing (an XLSX results file is zipped only now, on this thread).
    pub fn finish_checked<E>(
        mut self,
        summary: &Summary,
        tables: &[Table],
        may_replace: impl FnOnce() -> Result<(), E>,
    ) -> Result<Result<(), E>, ResultsError> {
        let shown = self.target.display().to_string();
        // Each table of a CSV results file is a CSV file of its own beside it.
        let mut beside: Vec<(PathBuf, PathBuf)> = Vec::new();
        let written = match self.inner.take() {
            Some(Inner::Xlsx(x)) => x.finish(&self.temp, summary, tables),
            Some(Inner::Csv(c)) => c.finish().and_then(|()| {
                for t in tables {
                    let path = table_csv_path(&self.target, &t.name);
                    let temp = temp_path(&path);
                    beside.push((temp.clone(), path));
                    csv::write_table(&temp, t)?;
                }
                Ok(())
            }),
            None => Ok(()),
        };
        let remove_new = |temp: &Path, beside: &[(PathBuf, PathBuf)]| {
            let _ = std::fs::remove_file(temp);
            for (t, _) in beside {
                let _ = std::fs::remove_file(t);
            }
        };
        if let Err(message) = written {
            remove_new(&self.temp, &beside);
            return Err(ResultsError::Write {
                path: shown,
                message,
            });
        }
        if let Err(e) = may_replace() {
            remove_new(&self.temp, &beside);
            return Ok(Err(e));
        }
        for (temp, path) in &beside {
            if let Err(e) = replace(temp, path) {
                remove_new(&self.temp, &beside);
                return Err(ResultsError::Write {
                    path: shown,
                    message: e.to_string(),
                });
            }
        }
        // On failure the finished temporary file stays: the error message points at it.
        replace(&self.temp, &self.target).map(Ok)
    }
}

impl Drop for ResultsWriter {
    /// An abandoned writer (error, Ctrl-C unwinding) removes its temporary file.
    fn drop(&mut self) {
        if self.inner.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// The temporary sibling of `target`: same folder (so the rename is atomic), distinct per process.
/// Partial files of `target` that a killed run left behind are removed first.
/// The folder is created if it is missing (a scheduled job writing `reports/cases-{date}.xlsx`);
/// a folder that cannot be made surfaces as the write's own error.
pub(crate) fn temp_path(target: &Path) -> PathBuf {
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "results".to_string());
    sweep_dead_partials(target, &name);
    target.with_file_name(format!(".{name}.{}.partial", std::process::id()))
}

/// The pid in a partial file's name `.{name}.{pid}.partial`, when it is one of `name`'s.
fn partial_pid(file: &str, name: &str) -> Option<u32> {
    file.strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?
        .strip_suffix(".partial")?
        .parse()
        .ok()
}

/// Remove the partial files of `target` whose process is gone: a run killed outright (power cut,
/// `kill -9`) cannot clean up after itself. A partial file of a live process is another run's
/// work in progress and is left alone. Only Linux can tell a live pid without a system call
/// crate (`/proc`); elsewhere nothing is removed. Best effort: failures are ignored.
fn sweep_dead_partials(target: &Path, name: &str) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = file.to_str().and_then(|f| partial_pid(f, name)) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Move a finished file over the target. On failure the finished file stays where it is and the
/// error says so (Excel on Windows locks files it has open).
pub(crate) fn replace(temp: &Path, target: &Path) -> Result<(), ResultsError> {
    std::fs::rename(temp, target).map_err(|e| ResultsError::Replace {
        path: target.display().to_string(),
        message: e.to_string(),
        kept: temp.display().to_string(),
    })
}

#[cfg(test)]
mod tests;
