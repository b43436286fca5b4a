//! An exclusive lock on a file path that names its holder, so that a second kayse-bulk process can
//! say who holds it ("another kayse-bulk run holds cases.results.xlsx.journal.lock (pid 4242,
//! import started 14:02:11)"). The journal takes one per results file and the ledger one per
//! sending run. It knows nothing of journals, ledgers or the CLI, and never holds the API key.
//!
//! How it works: the lock is an OS file lock (`File::try_lock`, `flock` on Unix) on a small file
//! of its own, `<something>.lock`, which the holder fills with one JSON line (pid, start time,
//! command). The OS releases the lock when the holder's process ends, however it ends, so a
//! holder killed with `kill -9` leaves at most a stale line behind; the next run takes the lock
//! and overwrites it. The lock file is never deleted: deleting it would let a process that opened
//! the old file and one that creates a new file each hold "the" lock.
//!
//! On Windows the OS lock is mandatory, so another process cannot read the holder line while it
//! is held; the refusal then names the path without the holder. Everything else is the same.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Local, NaiveDate};
use serde::{Deserialize, Serialize};

/// Who holds a lock: enough for a person to find the other run (`ps`, the scheduler's log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    /// When the run started, in the holder's local time.
    pub started: DateTime<FixedOffset>,
    /// What the run is, for people: `import`, `export --all-known`. Never holds the key (the key
    /// is never a command-line argument, and callers pass the command name, not the arguments).
    pub command: String,
}

impl Holder {
    /// This process, running `command`, started now.
    pub fn this_process(command: &str) -> Holder {
        Holder {
            pid: std::process::id(),
            started: Local::now().fixed_offset(),
            command: command.to_string(),
        }
    }

    /// `pid 4242, import started 14:02:11`; the start carries its date unless it is `today`.
    pub fn describe(&self, today: NaiveDate) -> String {
        let when = if self.started.date_naive() == today {
            self.started.format("%H:%M:%S")
        } else {
            self.started.format("%Y-%m-%d %H:%M:%S")
        };
        format!("pid {}, {} started {}", self.pid, self.command, when)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock (or this one, through another handle).
    #[error("{}", held_message(path, holder.as_ref(), Local::now().date_naive()))]
    Held {
        path: PathBuf,
        /// `None` when the holder line could not be read (just being written, or Windows).
        holder: Option<Holder>,
    },
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The one line a refused run prints, with the holder's start described relative to `today`.
pub fn held_message(path: &Path, holder: Option<&Holder>, today: NaiveDate) -> String {
    match holder {
        Some(h) => format!(
            "another kayse-bulk run holds {} ({})",
            path.display(),
            h.describe(today)
        ),
        None => format!("another kayse-bulk run holds {}", path.display()),
    }
}

/// A held lock. Dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
    holder: Holder,
}

impl RunLock {
    /// Take the lock at `path` for `holder`, or refuse at once with [`LockError::Held`] naming
    /// the process that has it. The file is created if missing; its folder must exist.
    pub fn try_acquire(path: &Path, holder: &Holder) -> Result<RunLock, LockError> {
        match attempt(path, holder)? {
            Some(lock) => Ok(lock),
            None => Err(LockError::Held {
                path: path.to_path_buf(),
                holder: read_holder_settled(path),
            }),
        }
    }

    /// Take the lock at `path`, waiting while another process holds it. Between tries (every
    /// `poll`) it calls `keep_waiting` with the current holder; when that returns false it gives
    /// up with [`LockError::Held`]. The caller decides when to give up (a deadline, Ctrl-C) and
    /// may print the holder on the first call. It blocks the thread: from async code, call it
    /// through `spawn_blocking`.
    pub fn wait(
        path: &Path,
        holder: &Holder,
        poll: Duration,
        mut keep_waiting: impl FnMut(Option<&Holder>) -> bool,
    ) -> Result<RunLock, LockError> {
        loop {
            if let Some(lock) = attempt(path, holder)? {
                return Ok(lock);
            }
            let current = read_holder(path);
            if !keep_waiting(current.as_ref()) {
                return Err(LockError::Held {
                    path: path.to_path_buf(),
                    holder: current,
                });
            }
            std::thread::sleep(poll);
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn holder(&self) -> &Holder {
        &self.holder
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Empty the holder line while still holding the lock, so the file says nobody holds it;
        // closing the file then releases the lock. Failing to empty it is harmless: a line
        // nobody holds the lock for is ignored by the next run.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// One try: the lock with the holder line written and on disk, or `None` if someone has it.
fn attempt(path: &Path, holder: &Holder) -> Result<Option<RunLock>, LockError> {
    let io_err = |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(None),
        Err(TryLockError::Error(e)) => return Err(io_err(e)),
    }
    let mut line = serde_json::to_string(holder).expect("a holder serialises");
    line.push('\n');
    file.set_len(0).map_err(io_err)?;
    (&file).write_all(line.as_bytes()).map_err(io_err)?;
    file.sync_data().map_err(io_err)?;
    Ok(Some(RunLock {
        file,
        path: path.to_path_buf(),
        holder: holder.clone(),
    }))
}

/// The holder line of a lock file, if there is a readable one. It says who holds the lock only
/// while the lock is held: call it after a try failed.
pub fn read_holder(path: &Path) -> Option<Holder> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.lines().next()?).ok()
}

/// [`read_holder`] after a refused try: the holder may have taken the lock an instant ago and
/// not yet written its line, so an empty file is read again a few times before giving up.
fn read_holder_settled(path: &Path) -> Option<Holder> {
    for _ in 0..20 {
        if let Some(h) = read_holder(path) {
            return Some(h);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;

    fn holder(pid: u32, command: &str) -> Holder {
        Holder {
            pid,
            started: FixedOffset::east_opt(3600)
                .unwrap()
                .with_ymd_and_hms(2026, 5, 4, 14, 2, 11)
                .unwrap(),
            command: command.into(),
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_refusal_names_path_pid_command_and_start() {
        let h = holder(4242, "import");
        let p = Path::new("/data/cases.results.xlsx.journal.lock");
        let table: Vec<(Option<&Holder>, NaiveDate, &str)> = vec![
            (
                Some(&h),
                day(2026, 5, 4),
                "another kayse-bulk run holds /data/cases.results.xlsx.journal.lock \
                 (pid 4242, import started 14:02:11)",
            ),
            (
                Some(&h),
                day(2026, 5, 5),
                "another kayse-bulk run holds /data/cases.results.xlsx.journal.lock \
                 (pid 4242, import started 2026-05-04 14:02:11)",
            ),
            (
                None,
                day(2026, 5, 4),
                "another kayse-bulk run holds /data/cases.results.xlsx.journal.lock",
            ),
        ];
        for (h, today, want) in table {
            assert_eq!(held_message(p, h, today), want);
        }
    }

    #[test]
    fn a_second_try_is_refused_at_once_naming_the_first_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.lock");
        let first = RunLock::try_acquire(&path, &holder(11, "import")).unwrap();
        // flock locks belong to the open file, so a second open in this process conflicts
        // exactly as another process would.
        match RunLock::try_acquire(&path, &holder(22, "export")) {
            Err(LockError::Held { path: p, holder }) => {
                assert_eq!(p, path);
                assert_eq!(holder, Some(holder_of(&first)));
            }
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        let second = RunLock::try_acquire(&path, &holder(22, "export")).unwrap();
        assert_eq!(read_holder(&path), Some(holder(22, "export")));
        assert_eq!(second.holder().pid, 22);
    }

    fn holder_of(lock: &RunLock) -> Holder {
        lock.holder().clone()
    }

    #[test]
    fn release_empties_the_holder_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.lock");
        let lock = RunLock::try_acquire(&path, &holder(11, "import")).unwrap();
        assert_eq!(read_holder(&path), Some(holder(11, "import")));
        drop(lock);
        assert!(path.exists(), "the lock file is never deleted");
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        assert_eq!(read_holder(&path), None);
    }

    #[test]
    fn a_stale_holder_line_left_by_a_killed_run_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.lock");
        let stale = serde_json::to_string(&holder(999_999, "import")).unwrap() + "\n";
        let table: Vec<&[u8]> = vec![stale.as_bytes(), b"garbage\n", b"{\"pid\":1"];
        for content in table {
            std::fs::write(&path, content).unwrap();
            let lock = RunLock::try_acquire(&path, &holder(7, "import")).unwrap();
            assert_eq!(read_holder(&path), Some(holder(7, "import")));
            drop(lock);
        }
    }

    #[test]
    fn a_missing_folder_is_an_io_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-folder").join("run.lock");
        let err = RunLock::try_acquire(&path, &holder(1, "import")).unwrap_err();
        assert!(matches!(err, LockError::Io { .. }), "{err:?}");
        assert!(err.to_string().starts_with("cannot lock "), "{err}");
        assert!(err.to_string().contains("run.lock"), "{err}");
    }

    #[test]
    fn wait_gives_up_when_told_and_reports_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.lock");
        let _first = RunLock::try_acquire(&path, &holder(11, "import")).unwrap();
        let mut seen = Vec::new();
        let err = RunLock::wait(
            &path,
            &holder(22, "import"),
            Duration::from_millis(1),
            |h| {
                seen.push(h.cloned());
                seen.len() < 3
            },
        )
        .unwrap_err();
        assert_eq!(seen, vec![Some(holder(11, "import")); 3]);
        match err {
            LockError::Held { holder: h, .. } => assert_eq!(h, Some(holder(11, "import"))),
            other => panic!("expected Held, got {other:?}"),
        }
    }

    #[test]
    fn wait_takes_the_lock_once_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.lock");
        let first = RunLock::try_acquire(&path, &holder(11, "import")).unwrap();
        let (told, heard) = mpsc::channel();
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || {
                RunLock::wait(
                    &path,
                    &holder(22, "import"),
                    Duration::from_millis(1),
                    |h| {
                        // Say once that we are waiting on the first holder; never give up.
                        let _ = told.send(h.map(|h| h.pid));
                        true
                    },
                )
                .map(|l| l.holder().pid)
            })
        };
        assert_eq!(heard.recv().unwrap(), Some(11));
        drop(first);
        assert_eq!(waiter.join().unwrap().unwrap(), 22);
    }

    /// Not a test on its own: the child process of `the_lock_dies_with_its_process`. It takes
    /// the lock named by the environment, says so on stdout, and holds it until killed.
    #[test]
    #[ignore = "run only as the child of the_lock_dies_with_its_process"]
    fn child_holds_a_lock_until_killed() {
        let Some(path) = std::env::var_os("KAYSE_BULK_LOCK_CHILD") else {
            return;
        };
        let _lock = RunLock::try_acquire(Path::new(&path), &Holder::this_process("import"))
            .expect("the child takes the lock");
        println!("locked");
        io::stdout().flush().unwrap();
        let mut line = String::new();
        let _ = io::stdin().read_line(&mut line); // blocks until the parent kills us
    }

    #[test]
    fn the_lock_dies_with_its_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.lock");
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "record::lock::tests::child_holds_a_lock_until_killed",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("KAYSE_BULK_LOCK_CHILD", &path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            assert_ne!(
                out.read_line(&mut line).unwrap(),
                0,
                "the child ended early"
            );
            if line.trim_end().ends_with("locked") {
                break;
            }
        }
        match RunLock::try_acquire(&path, &holder(1, "import")) {
            Err(LockError::Held {
                holder: Some(h), ..
            }) => {
                assert_eq!(h.pid, child.id());
                assert_eq!(h.command, "import");
            }
            other => panic!("expected the child to hold the lock, got {other:?}"),
        }
        child.kill().unwrap(); // SIGKILL: no destructor runs, the holder line stays behind
        child.wait().unwrap();
        assert_eq!(read_holder(&path).map(|h| h.pid), Some(child.id()));
        let lock = RunLock::try_acquire(&path, &holder(1, "import")).unwrap();
        assert_eq!(lock.holder().pid, 1);
    }
}
