//! Write-behind: a results file written on its own thread, so formatting and writing rows
//! overlaps reading and checking the next ones. Rows go over in batches, in order; the writer
//! comes back to the caller's thread for `finish`, which adds the summary and moves the file
//! into place exactly as a plain `ResultsWriter` does.
//!
//! The cells of written rows go to a `Recycler`, so the reading thread fills them again (see
//! `read::ReadAhead`).

use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::{ResultsError, ResultsWriter, Table};
use crate::outcome::ResultRow;
use crate::read::Recycler;
use crate::report::summary::Summary;

const BATCH: usize = 512;
const DEPTH: usize = 4;

/// A `ResultsWriter` running on its own thread.
pub struct WriteBehind {
    tx: Option<SyncSender<Vec<ResultRow>>>,
    batch: Vec<ResultRow>,
    /// Gives the writer back, or the first error it met.
    thread: Option<JoinHandle<Result<ResultsWriter, ResultsError>>>,
    /// The target, for the one error of a thread that died.
    shown: String,
}

impl WriteBehind {
    /// Move `writer` to a new thread. Written rows' cells go to `recycler`.
    pub fn spawn(writer: ResultsWriter, recycler: Recycler) -> Result<WriteBehind, ResultsError> {
        let (tx, rx) = sync_channel::<Vec<ResultRow>>(DEPTH);
        let shown = writer.target.display().to_string();
        let thread = std::thread::Builder::new()
            .name("write-behind".into())
            .spawn(move || {
                let mut writer = writer;
                for batch in rx {
                    let mut spent = Vec::with_capacity(batch.len());
                    for row in batch {
                        writer.write(&row)?;
                        spent.push(row.cells);
                    }
                    recycler.give(spent);
                }
                Ok(writer)
            })
            .map_err(|e| ResultsError::Write {
                path: shown.clone(),
                message: format!("cannot start a thread to write it ({e})"),
            })?;
        Ok(WriteBehind {
            tx: Some(tx),
            batch: Vec::with_capacity(BATCH),
            thread: Some(thread),
            shown,
        })
    }

    /// Queue one row. An error the writer met earlier is returned here, at the latest by `finish`.
    pub fn write(&mut self, row: ResultRow) -> Result<(), ResultsError> {
        self.batch.push(row);
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ResultsError> {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        let sent = match &self.tx {
            Some(tx) => tx.send(batch).is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            // The thread stopped early: it has an error to tell.
            match self.join() {
                Err(e) => Err(e),
                Ok(_) => Err(self.stopped()),
            }
        }
    }

    /// Wait for the thread and take its writer back.
    fn join(&mut self) -> Result<ResultsWriter, ResultsError> {
        self.tx = None;
        let thread = self.thread.take().ok_or_else(|| self.stopped())?;
        thread.join().map_err(|_| self.stopped())?
    }

    /// Write what is queued, then finish the file on this thread.
    pub fn finish(self, summary: &Summary) -> Result<(), ResultsError> {
        self.finish_with(summary, &[])
    }

    /// [`WriteBehind::finish`], with `tables` written beside the rows.
    pub fn finish_with(self, summary: &Summary, tables: &[Table]) -> Result<(), ResultsError> {
        self.finish_checked(summary, tables, || Ok::<(), ResultsError>(()))?
    }

    /// [`WriteBehind::finish_with`], asking `may_replace` before anything is replaced, as
    /// [`ResultsWriter::finish_checked`] does.
    pub fn finish_checked<E>(
        mut self,
        summary: &Summary,
        tables: &[Table],
        may_replace: impl FnOnce() -> Result<(), E>,
    ) -> Result<Result<(), E>, ResultsError> {
        if !self.batch.is_empty() {
            self.flush()?;
        }
        self.join()?.finish_checked(summary, tables, may_replace)
    }
}

impl Drop for WriteBehind {
    /// Abandoned (an error elsewhere): let the thread end, so its writer removes the temporary file.
    fn drop(&mut self) {
        let _ = self.join();
    }
}

impl WriteBehind {
    fn stopped(&self) -> ResultsError {
        ResultsError::Write {
            path: self.shown.clone(),
            message: "the writing thread stopped unexpectedly (an internal error)".into(),
        }
    }
}
