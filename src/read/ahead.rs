//! Read-ahead: a table's rows are read on a second thread, in batches, so decoding the file
//! overlaps the rest of the work on the caller's thread. A caller's `prepare` function does the
//! per-row work that needs no other row (mapping and checking a row on its own), on whichever
//! thread is free: the reader prepares each batch itself while the caller has batches waiting,
//! and hands it over raw when the caller has nothing to do, so neither thread idles for long
//! whatever the split of the work.
//!
//! Spent cells travel back to the reading thread (`Recycler`), which fills their strings again
//! instead of allocating new ones. Everything else is freed wherever it ends: the binary's
//! allocator (mimalloc) frees across threads cheaply, where glibc's made this design slower than
//! a single thread.
//!
//! Memory stays bounded: at most `DEPTH` batches wait in the channel. Dropping the read-ahead
//! does not wait for the thread: it ends at its next send, once nobody takes its rows.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use super::{RawRow, ReadError, Rows};
use crate::cell::Cell;

/// Rows per batch: large enough that the channel and the threads' hand-overs cost nothing per
/// row, small enough that a small file is not read ahead needlessly far. Measured on the bench's
/// 1,000,000-row CSV validate (medians of 7 alternating runs, 2 cores): 512 rows and 4 batches
/// deep, 1.63 s and 85 MiB; 2048 and 2 deep, 1.47 s and 94 MiB; 2048 and 4 deep, 1.46 s and
/// 107 MiB; 8192 and 4 deep, 1.71 s and 174 MiB.
const BATCH: usize = 2048;
/// Batches waiting to be taken.
const DEPTH: usize = 2;
/// Spent rows kept for reuse: about what is in flight between reading and writing.
const SPARE_ROWS: usize = BATCH * (DEPTH + 4);

type Item<T> = Result<T, ReadError>;

type Prepare<T> = Arc<dyn Fn(RawRow) -> T + Send + Sync>;

enum Msg<T> {
    /// Rows still to be prepared (the caller was keeping up).
    Raw(Vec<Item<RawRow>>),
    /// Rows prepared on the reading thread.
    Rows(Vec<Item<T>>),
    /// The rows ended (or the reader stopped at an error, which was the last item sent).
    End,
}

/// Takes spent rows back to the reading thread, from any thread.
pub struct Recycler(Sender<Vec<Vec<Cell>>>);

impl Recycler {
    /// Give back cells that are done with. If the reader is gone, they are freed here.
    pub fn give(&self, spent: Vec<Vec<Cell>>) {
        let _ = self.0.send(spent);
    }
}

/// The rows of a table, read ahead on their own thread and prepared there. Yields each row's
/// prepared value, in file order; stops after the first error, as every reader does.
pub struct ReadAhead<T> {
    rx: Receiver<Msg<T>>,
    /// Batches sent and not yet taken.
    queued: Arc<AtomicUsize>,
    prepare: Prepare<T>,
    back: Sender<Vec<Vec<Cell>>>,
    current: std::vec::IntoIter<Item<T>>,
    ended: bool,
    thread: Option<JoinHandle<()>>,
    path: PathBuf,
}

impl<T: Send + 'static> ReadAhead<T> {
    /// Start reading `rows` on a new thread, passing each through `prepare` there. `path` names
    /// the file in the one error a reader thread that died could cause.
    pub fn spawn(
        rows: Box<dyn Rows>,
        path: &Path,
        prepare: impl Fn(RawRow) -> T + Send + Sync + 'static,
    ) -> ReadAhead<T> {
        let prepare: Prepare<T> = Arc::new(prepare);
        let theirs = Arc::clone(&prepare);
        let queued = Arc::new(AtomicUsize::new(0));
        let their_queue = Arc::clone(&queued);
        let (tx, rx) = sync_channel(DEPTH);
        // Unbounded, yet bounded in practice: only rows that came through `tx` come back.
        let (back, back_rx) = channel::<Vec<Vec<Cell>>>();
        let thread = std::thread::Builder::new()
            .name("read-ahead".into())
            .spawn(move || read_batches(rows, &*theirs, &their_queue, &tx, &back_rx))
            .ok();
        let mut ahead = ReadAhead {
            rx,
            queued,
            prepare,
            back,
            current: Vec::new().into_iter(),
            ended: false,
            thread,
            path: path.to_path_buf(),
        };
        if ahead.thread.is_none() {
            // No thread could be started: say so as a read error rather than yield no rows.
            ahead.ended = true;
            ahead.current = vec![Err(ReadError::new(
                path,
                "cannot start a thread to read the file",
            ))]
            .into_iter();
        }
        ahead
    }

    /// The next row, if it is already here (prepared and in hand), without taking it: for a
    /// caller that wants to start on it early. `None` at a batch's end, or at an error.
    pub fn peek(&self) -> Option<&T> {
        self.current.as_slice().first()?.as_ref().ok()
    }

    /// A handle another thread can give spent cells to.
    pub fn recycler(&self) -> Recycler {
        Recycler(self.back.clone())
    }
}

impl<T: Send + 'static> Iterator for ReadAhead<T> {
    type Item = Item<T>;

    fn next(&mut self) -> Option<Item<T>> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(item);
            }
            if self.ended {
                return None;
            }
            let msg = self.rx.recv();
            if matches!(msg, Ok(Msg::Rows(_) | Msg::Raw(_))) {
                self.queued.fetch_sub(1, Ordering::Relaxed);
            }
            match msg {
                Ok(Msg::Rows(batch)) => self.current = batch.into_iter(),
                Ok(Msg::Raw(batch)) => {
                    let prepare = &*self.prepare;
                    let done: Vec<Item<T>> = batch.into_iter().map(|i| i.map(prepare)).collect();
                    self.current = done.into_iter();
                }
                Ok(Msg::End) => self.ended = true,
                Err(_) => {
                    // The reader hung up without saying it was done: it died. Never pass that
                    // off as the end of the file.
                    self.ended = true;
                    if let Some(t) = self.thread.take() {
                        let _ = t.join();
                    }
                    return Some(Err(ReadError::new(
                        &self.path,
                        "reading stopped unexpectedly (an internal error); nothing after the \
                         last row read was checked",
                    )));
                }
            }
        }
    }
}

/// The reading thread: send batches until the rows end, an error, or the caller hangs up;
/// free whatever comes back.
fn read_batches<T>(
    mut rows: Box<dyn Rows>,
    prepare: &(dyn Fn(RawRow) -> T + Send + Sync),
    queued: &AtomicUsize,
    tx: &SyncSender<Msg<T>>,
    back: &Receiver<Vec<Vec<Cell>>>,
) {
    let mut spare: Vec<Vec<Cell>> = Vec::new();
    loop {
        while let Ok(cells) = back.try_recv() {
            // Kept for the reader to fill again, up to what can be in flight at once.
            let room = SPARE_ROWS.saturating_sub(spare.len());
            spare.extend(cells.into_iter().take(room));
        }
        let mut batch = Vec::with_capacity(BATCH);
        let mut last = false;
        while batch.len() < BATCH {
            match rows.next_reusing(&mut spare) {
                Some(item) => {
                    last = item.is_err();
                    batch.push(item);
                    if last {
                        break;
                    }
                }
                None => {
                    last = true;
                    break;
                }
            }
        }
        if !batch.is_empty() {
            // The caller has work waiting: prepare this batch here. It has none: hand the batch
            // over raw at once, so it does not sit idle.
            let msg = if queued.load(Ordering::Relaxed) > 0 {
                Msg::Rows(batch.into_iter().map(|i| i.map(prepare)).collect())
            } else {
                Msg::Raw(batch)
            };
            queued.fetch_add(1, Ordering::Relaxed);
            if tx.send(msg).is_err() {
                return;
            }
        }
        if last {
            let _ = tx.send(Msg::End);
            break;
        }
    }
    drop(rows);
    drop(spare);
    // Keep freeing spent rows until the caller is done with the last of them.
    while let Ok(spent) = back.recv() {
        drop(spent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::Plain;

    fn row(n: usize) -> RawRow {
        RawRow {
            source_row: n,
            cells: vec![Cell::Text(format!("r{n}"))],
        }
    }

    type Row = Item<RawRow>;

    fn ahead(items: Vec<Row>) -> ReadAhead<RawRow> {
        ReadAhead::spawn(
            Box::new(Plain(items.into_iter())),
            Path::new("x.csv"),
            |r| r,
        )
    }

    #[test]
    fn yields_every_row_in_order_across_batches() {
        for n in [0, 1, BATCH - 1, BATCH, BATCH + 1, BATCH * DEPTH * 3 + 7] {
            let mut a = ahead((0..n).map(|i| Ok(row(i))).collect());
            let recycler = a.recycler();
            let mut got = Vec::new();
            for item in a.by_ref() {
                let r = item.unwrap();
                got.push(r.source_row);
                recycler.give(vec![r.cells]);
            }
            assert_eq!(got, (0..n).collect::<Vec<_>>(), "{n} rows");
            assert!(a.next().is_none(), "stays ended");
        }
    }

    #[test]
    fn prepares_every_row_once_in_order_on_either_thread() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let n = BATCH * (DEPTH + 2) * 3 + 5;
        let items = (0..n).map(|i| Ok(row(i))).collect::<Vec<_>>();
        let a = ReadAhead::spawn(
            Box::new(Plain(items.into_iter())),
            Path::new("x.csv"),
            move |r| {
                counter.fetch_add(1, Ordering::Relaxed);
                r.source_row * 10
            },
        );
        let mut got = Vec::new();
        for (k, item) in a.enumerate() {
            got.push(item.unwrap());
            if k % BATCH == 0 {
                // A slow caller now and then, so the reader prepares some batches itself.
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
        assert_eq!(got, (0..n).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(calls.load(Ordering::Relaxed), n);
    }

    #[test]
    fn stops_after_the_first_error() {
        let items = vec![
            Ok(row(1)),
            Err(ReadError::new(Path::new("x.csv"), "bad")),
            Ok(row(3)),
        ];
        let got: Vec<_> = ahead(items).collect();
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok());
        assert_eq!(got[1].as_ref().unwrap_err().to_string(), "x.csv: bad");
    }

    #[test]
    fn a_reader_that_panics_is_an_error_not_the_end_of_the_file() {
        struct Dies(usize);
        impl Iterator for Dies {
            type Item = Row;
            fn next(&mut self) -> Option<Row> {
                self.0 += 1;
                assert!(self.0 < 3, "reader bug");
                Some(Ok(row(self.0)))
            }
        }
        impl Rows for Dies {}
        let got: Vec<_> = ReadAhead::spawn(Box::new(Dies(0)), Path::new("x.csv"), |r| r).collect();
        let last = got.last().unwrap().as_ref().unwrap_err().to_string();
        assert!(last.contains("reading stopped unexpectedly"), "{last}");
    }

    #[test]
    fn dropping_early_stops_the_reader() {
        let read = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&read);
        let endless = Box::new(Plain((0..).map(move |i| {
            counter.fetch_add(1, Ordering::Relaxed);
            Ok(row(i))
        })));
        let mut a = ReadAhead::spawn(endless, Path::new("x.csv"), |r| r);
        assert_eq!(a.next().unwrap().unwrap().source_row, 0);
        let thread = a.thread.take().unwrap();
        drop(a);
        thread.join().unwrap(); // the reader ends once nobody takes its rows
        let n = read.load(Ordering::Relaxed);
        assert!(n <= BATCH * (DEPTH + 3), "read {n} rows ahead: unbounded");
    }
}
