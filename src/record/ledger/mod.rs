//! The ledger: every Kayse id the tool has ever learned, with the firm's keys and the last state
//! sent or read, kept across runs in an embedded SQLite file, because Kayse cannot be asked
//! "which case is case number 2024-PI-0001?". It stores and answers; it never decides what a row
//! becomes (the commands do), never talks HTTP, and never holds the API key.
//!
//! # Design
//!
//! One file per Kayse connection ([`default_path`]: the base URL and a one-way fingerprint of the
//! key name it), in WAL mode with `synchronous=FULL` and a `busy_timeout`, so a report can read
//! while an import writes, and two writers wait for each other instead of failing. Every write
//! is an immediate transaction ([`Batch`]): one per batch of outcomes, so a batch is recorded
//! whole or not at all, and a read-then-write inside it cannot race another process.
//!
//! Tables (SQL in `schema.rs`; `entity` is a name such as `cases` or `clients`):
//! - `records` (entity, kayse_id) — one per Kayse record: `status` (`live`; `deleted` by this
//!   tool; `gone` = a 404 on an id the ledger knew, deleted or merged in the Kayse UI);
//!   `sent_state` + `sent_at` (every field the tool last sent, as JSON); `seen_state` + `seen_at`
//!   (what Kayse last showed: a GET, or the answer to a write); the run, file and row it last
//!   came from; the run and request (`created_run`, `created_batch`) that created it.
//!   Two states, not one: an import compares a row with what was last *sent* (so a re-run never
//!   overwrites an edit made in the Kayse UI with the sheet's old values), a report shows what
//!   was last *seen*.
//! - `record_keys` (entity, key, value, kayse_id) — the firm's keys, generic rows, one rule per
//!   entity and key (`keys.rs`): a unique key (`case_number`, the external pair) maps to at most
//!   one live id; a second id for it is a [`Conflict`], never an overwrite. Non-unique keys
//!   (a client's email, mobile) may map to several ids.
//! - `unknowns` + `unknown_keys` — creates whose answer was lost: the state and keys sent, the
//!   run and request. A row in doubt is never created again; `reconcile` resolves it, and any
//!   later record that takes one of its unique keys resolves it too. The ids the same run
//!   created in the requests around it ([`Ledger::neighbours`]) are computed when asked, from
//!   `created_run`/`created_batch`, so they include requests that ended after it.
//! - `runs` — command, pid, input, results, start, end, counts, exit code.
//! - `links` — pairs of (entity, id) linked in Kayse (a case's clients), stored once per pair, so
//!   a later run can merge links instead of cutting them (the API replaces link arrays).
//! - `reports` + `snapshots` — per report name, the state of every record when that report was
//!   last written, for its "what changed" sheet ([`Ledger::changes_since`]). A copy, not a
//!   history: a report needs only the previous one, and 100,000 states copy in about a second.
//!
//! What each command will read and write:
//! - `import`: [`Ledger::find`] each row's keys (known → update or `unchanged` by
//!   [`nothing_new`] against `sent_state`; in doubt → not sent); records created/updated ids
//!   with [`Batch::sent`], lost answers with [`Batch::unknown`], links with [`Batch::set_links`].
//! - `export`: [`Batch::read`] for each case read, [`Batch::gone`] on a 404; `--all-known` lists
//!   [`Ledger::stalest`] and [`Ledger::for_each`]; the report diffs with
//!   [`Ledger::changes_since`] and then [`Ledger::snapshot`].
//! - `delete`: [`Batch::deleted`]. `sms`/`email`: [`Ledger::find`] by case number, email, mobile.
//! - `ledger add`: [`Batch::seed`] (conflicts reported per row); `ledger show`:
//!   [`Ledger::for_each`]; `ledger stats`, `runs`, `forget`: [`Ledger::stats`], [`Ledger::runs`],
//!   [`Ledger::forget`]. `reconcile`: [`Ledger::unknowns`], [`Ledger::neighbours`],
//!   [`Batch::resolve`].
//! - Every sending command: [`Ledger::begin_run`] / [`Ledger::end_run`], and the run lock at
//!   [`lock_path`] (one sending run per ledger; `record::lock`).
//!
//! A file that is not a ledger, is damaged, or comes from a newer build is a typed
//! [`LedgerError`] that the CLI prints as one line with exit 2; the schema version is
//! `PRAGMA user_version`, with migrations in `schema.rs`.

mod compare;
mod keys;
mod query;
mod schema;
mod write;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{ExitCode, Fatal};

pub use compare::{Blanks, FieldChange, changes, nothing_new, same};
pub use keys::{CASE_KEYS, CLIENT_KEYS, Key, KeyRule, keys_of, rule, rules};
pub use query::{Change, EntityStats, Forget, Forgotten, Neighbours, Stats, Taken};
pub use schema::current_version as schema_version;
pub use write::{Batch, InDoubt, Recorded, Written};

/// A Kayse record id.
pub type Id = u64;

/// How long a writer waits for another process's transaction before giving up. Transactions are
/// one batch of outcomes (milliseconds); a snapshot of 100,000 records takes about a second.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A run in the `runs` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(pub i64);

/// Where a record stands in Kayse, as far as the tool knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Live,
    /// Deleted by this tool.
    Deleted,
    /// A 404 on an id the ledger knew: deleted or merged in the Kayse UI.
    Gone,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Live => "live",
            Status::Deleted => "deleted",
            Status::Gone => "gone",
        }
    }

    fn parse(s: &str) -> Option<Status> {
        match s {
            "live" => Some(Status::Live),
            "deleted" => Some(Status::Deleted),
            "gone" => Some(Status::Gone),
            _ => None,
        }
    }
}

/// The spreadsheet row an outcome came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Source<'a> {
    pub file: Option<&'a str>,
    /// The row number as the spreadsheet shows it.
    pub row: Option<u64>,
}

/// A record the ledger knows.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    pub entity: String,
    pub id: Id,
    pub status: Status,
    /// Every field the tool last sent (or that a results file says was sent).
    pub sent_state: Option<Value>,
    pub sent_at: Option<DateTime<Utc>>,
    /// What Kayse last showed: a GET, or its answer to a write.
    pub seen_state: Option<Value>,
    /// `None`: never read from Kayse (the stalest of all).
    pub seen_at: Option<DateTime<Utc>>,
    pub run: Option<RunId>,
    pub file: Option<String>,
    pub row: Option<u64>,
}

impl Known {
    /// The state to compare a row with: what was last sent, else what was last seen.
    pub fn compare_state(&self) -> Option<&Value> {
        self.sent_state.as_ref().or(self.seen_state.as_ref())
    }

    /// The state to report: what Kayse last showed, else what was last sent.
    pub fn report_state(&self) -> Option<&Value> {
        self.seen_state.as_ref().or(self.sent_state.as_ref())
    }
}

/// A create whose answer was lost: an id may exist in Kayse that the ledger does not know.
#[derive(Debug, Clone, PartialEq)]
pub struct Unknown {
    pub unknown_id: i64,
    pub entity: String,
    pub run: Option<RunId>,
    /// The run's request number that carried it.
    pub batch: Option<u32>,
    pub file: Option<String>,
    pub row: Option<u64>,
    /// Every field that was sent.
    pub state: Value,
    pub keys: Vec<Key>,
    pub recorded_at: DateTime<Utc>,
}

/// What the ledger answers for one key: the records that hold it, and the creates in doubt
/// that sent it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub records: Vec<Known>,
    pub in_doubt: Vec<Unknown>,
}

impl Found {
    /// The one live record holding the key, if exactly one does.
    pub fn live(&self) -> Option<&Known> {
        let mut live = self.records.iter().filter(|k| k.status == Status::Live);
        match (live.next(), live.next()) {
            (Some(k), None) => Some(k),
            _ => None,
        }
    }
}

/// A fact the ledger refused to record over what it already knows; the caller shows it on the
/// row. The id itself is always recorded (an id dropped is lost for good); what is refused is
/// the key's new mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// A unique key already belongs to another live record.
    KeyTaken {
        entity: String,
        key: Key,
        /// The id the ledger keeps for the key.
        holder: Id,
        /// The id that was refused the key.
        id: Id,
    },
    /// `ledger add` of an id the ledger knows under another value of a key.
    IdKeyDiffers {
        entity: String,
        id: Id,
        rule: String,
        known: Option<String>,
        given: Option<String>,
    },
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::KeyTaken {
                key, holder, id, ..
            } => write!(
                f,
                "{} is recorded for Kayse id {holder}, not {id}: check both in Kayse",
                key.describe()
            ),
            Conflict::IdKeyDiffers {
                id,
                rule,
                known,
                given,
                ..
            } => {
                let show = |v: &Option<String>| match v {
                    Some(v) => Key {
                        rule: rule.clone(),
                        value: v.clone(),
                    }
                    .describe(),
                    None => format!("no {rule}"),
                };
                write!(
                    f,
                    "Kayse id {id} is recorded with {}, not {}: check it in Kayse",
                    show(known),
                    show(given)
                )
            }
        }
    }
}

/// A run as the `runs` table holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: RunId,
    pub command: String,
    pub pid: u32,
    pub input: Option<String>,
    pub results: Option<String>,
    pub started_at: DateTime<Utc>,
    /// `None`: still running, or killed before it could say.
    pub ended_at: Option<DateTime<Utc>>,
    /// Rows per outcome word (`created`, `updated`, `unknown`, ...).
    pub counts: std::collections::BTreeMap<String, u64>,
    pub exit_code: Option<i32>,
}

/// What a run says about itself when it starts.
#[derive(Debug, Clone, Default)]
pub struct RunStart<'a> {
    pub command: &'a str,
    pub input: Option<&'a str>,
    pub results: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot open the ledger {}: {detail}", path.display())]
    Unreadable { path: PathBuf, detail: String },
    #[error(
        "the ledger {} is damaged ({detail}); move it aside to start an empty one, or restore it from a backup",
        path.display()
    )]
    Damaged { path: PathBuf, detail: String },
    #[error(
        "{} is not a kayse-bulk ledger (another program's database); give another path with --ledger",
        path.display()
    )]
    NotALedger { path: PathBuf },
    #[error(
        "the ledger {} was written by a newer kayse-bulk (schema {found}; this one reads up to {known}): update kayse-bulk",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("the ledger {} stayed busy (another process kept it locked)", path.display())]
    Busy { path: PathBuf },
    #[error("the ledger {}: {source}", path.display())]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

impl LedgerError {
    /// Exit 2 for a file the run cannot use at all (nothing was sent); exit 3 for a failure
    /// while writing (disk full, busy), which stops the run resumably: the journal holds what
    /// the ledger missed.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            LedgerError::Unreadable { .. }
            | LedgerError::Damaged { .. }
            | LedgerError::NotALedger { .. }
            | LedgerError::TooNew { .. } => ExitCode::Usage,
            LedgerError::Busy { .. } | LedgerError::Sql { .. } => ExitCode::Stopped,
        }
    }
}

impl From<LedgerError> for Fatal {
    fn from(e: LedgerError) -> Fatal {
        Fatal::from_error(e.exit_code(), e)
    }
}

/// Turn a SQLite error into the ledger's: damage and busy by their codes, the rest as is.
fn classify(path: &Path, e: rusqlite::Error) -> LedgerError {
    let path = path.to_path_buf();
    if let rusqlite::Error::FromSqlConversionFailure(_, _, cause) = &e {
        return LedgerError::Damaged {
            path,
            detail: format!("it holds {cause}"),
        };
    }
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => LedgerError::Damaged {
            path,
            detail: short_detail(&e),
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => LedgerError::Busy { path },
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            LedgerError::Unreadable {
                path,
                detail: short_detail(&e),
            }
        }
        _ => LedgerError::Sql { path, source: e },
    }
}

fn short_detail(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        other => other.to_string(),
    }
}

/// The clock the ledger stamps its rows with; tests give a fixed one.
pub type Clock = Box<dyn Fn() -> DateTime<Utc> + Send>;

/// An open ledger. One per process and thread; several processes may open the same file.
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
    clock: Clock,
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish()
    }
}

impl Ledger {
    /// Open the ledger at `path`, creating it (and its folder) if missing, and bringing an
    /// older schema up to date. Damage is found here when the file is not a database or is
    /// shorter than it says; damage deeper in surfaces as [`LedgerError::Damaged`] when read,
    /// or from [`Ledger::check`].
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        Ledger::open_with(path, schema::MIGRATIONS)
    }

    fn open_with(path: &Path, migrations: &[&str]) -> Result<Ledger, LedgerError> {
        let unreadable = |detail: String| LedgerError::Unreadable {
            path: path.to_path_buf(),
            detail,
        };
        if path.is_dir() {
            return Err(unreadable("it is a folder".into()));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                unreadable(format!("cannot make its folder {}: {e}", dir.display()))
            })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let sql = |e| classify(path, e);
        let mut conn = Connection::open_with_flags(path, flags).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        // One plan per statement, whatever values are bound: without this, SQLite compiles a
        // joined or sorted look-up again each time it runs with new values, in case they
        // suggest a better plan. The ledger's look-ups are key searches (a test checks their
        // plans); compiling them again cost an import 0.5 s at 20,000 rows before its first
        // request, and about half its time recording answers.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(sql)?;
        // Read the header before anything writes: a damaged file must be left as it is.
        match schema::prepare(&mut conn, migrations).map_err(sql)? {
            schema::Found::Ledger { .. } => {}
            schema::Found::Foreign { .. } => {
                return Err(LedgerError::NotALedger {
                    path: path.to_path_buf(),
                });
            }
            schema::Found::TooNew { version } => {
                return Err(LedgerError::TooNew {
                    path: path.to_path_buf(),
                    found: version,
                    known: migrations.len() as i64,
                });
            }
        }
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))
            .map_err(sql)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(unreadable(format!(
                "cannot use write-ahead logging here (journal mode {mode}); put it on a local disk"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        Ok(Ledger {
            conn,
            path: path.to_path_buf(),
            clock: Box::new(Utc::now),
        })
    }

    /// Stamp rows with `clock` instead of the system time (tests).
    pub fn with_clock(mut self, clock: Clock) -> Ledger {
        self.clock = clock;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn now(&self) -> String {
        stamp((self.clock)())
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> LedgerError + '_ {
        |e| classify(&self.path, e)
    }

    /// Run `f`, whose queries all read one state of the ledger (one read transaction), so the
    /// file's locks are taken once rather than once per query: an import asks two questions per
    /// row before its first request. Another process may still write meanwhile; `f` does not
    /// see it.
    pub fn reading<T, E: From<LedgerError>>(
        &self,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self.conn.unchecked_transaction().map_err(self.sql())?;
        let out = f()?;
        tx.commit().map_err(self.sql())?;
        Ok(out)
    }

    /// A full integrity check of the file (every page): slow on a large ledger, so it is for
    /// `ledger stats` and tests, not for every open.
    pub fn check(&self) -> Result<(), LedgerError> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA quick_check")
            .map_err(self.sql())?;
        let lines: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(self.sql())?
            .collect::<Result<_, _>>()
            .map_err(self.sql())?;
        if lines.len() == 1 && lines[0] == "ok" {
            Ok(())
        } else {
            Err(LedgerError::Damaged {
                path: self.path.clone(),
                detail: lines.into_iter().take(3).collect::<Vec<_>>().join("; "),
            })
        }
    }

    /// Note a run's start; its id goes on every outcome it records.
    pub fn begin_run(&mut self, run: &RunStart<'_>) -> Result<RunId, LedgerError> {
        let now = self.now();
        self.conn
            .execute(
                "INSERT INTO runs (command, pid, input, results, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![run.command, std::process::id(), run.input, run.results, now],
            )
            .map_err(self.sql())?;
        Ok(RunId(self.conn.last_insert_rowid()))
    }

    /// Note a run's end: rows per outcome word and the exit code.
    pub fn end_run(
        &mut self,
        run: RunId,
        counts: &std::collections::BTreeMap<String, u64>,
        exit_code: i32,
    ) -> Result<(), LedgerError> {
        let now = self.now();
        let counts = serde_json::to_string(counts).expect("counts serialise");
        self.conn
            .execute(
                "UPDATE runs SET ended_at = ?2, counts = ?3, exit_code = ?4 WHERE run_id = ?1",
                rusqlite::params![run.0, now, counts, exit_code],
            )
            .map_err(self.sql())?;
        Ok(())
    }
}

/// A time as the ledger writes it: UTC, fixed width, so text order is time order.
fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_stamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// An id as SQLite stores it (a signed 64-bit integer); Kayse ids are far below the limit.
fn sql_id(id: Id) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

/// The ledger's default file for a connection: `<data dir>/kayse-bulk/ledgers/<server>-<key
/// fingerprint>.sqlite`. The fingerprint is the first 16 hex digits of a sha256 of the key
/// (with a prefix of its own, so it matches no other hash of the key): the same key on the
/// same server finds its ledger again, and the file name reveals nothing of the key.
pub fn default_path(data_dir: &Path, base_url: &str, key: &str) -> PathBuf {
    let name = format!("{}-{}.sqlite", server_slug(base_url), key_fingerprint(key));
    data_dir.join("kayse-bulk").join("ledgers").join(name)
}

/// The ledger used with `--sandbox`: beside the sandbox's state file, named after it
/// (`kayse-sandbox.json` → `kayse-sandbox.ledger.sqlite`), so removing both starts afresh.
pub fn beside_sandbox_state(state: &Path) -> PathBuf {
    let stem = state
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kayse-sandbox".into());
    state.with_file_name(format!("{stem}.ledger.sqlite"))
}

/// The run lock of the ledger at `ledger`: one sending run per ledger at a time.
pub fn lock_path(ledger: &Path) -> PathBuf {
    let mut name = ledger.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn key_fingerprint(key: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"kayse-bulk ledger key\n");
    h.update(key.as_bytes());
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The base URL as a file name: no scheme, no trailing slash, anything but letters, digits,
/// `.` and `-` as `_` (`http://127.0.0.1:8787/` → `127.0.0.1_8787`).
fn server_slug(base_url: &str) -> String {
    let rest = base_url
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(base_url);
    let slug: String = rest
        .trim_end_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    if slug.is_empty() {
        "kayse".into()
    } else {
        slug
    }
}

/// The user's data folder: `$XDG_DATA_HOME` or `~/.local/share` on Linux and other Unixes,
/// `~/Library/Application Support` on macOS, `%APPDATA%` on Windows.
pub fn data_dir() -> Option<PathBuf> {
    data_dir_for(std::env::consts::OS, |k| std::env::var_os(k))
}

/// [`data_dir`] for a given OS and environment (testable without touching the real one).
pub fn data_dir_for(os: &str, env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let abs = |v: OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    match os {
        "windows" => env("APPDATA").and_then(abs),
        "macos" => env("HOME")
            .and_then(abs)
            .map(|h| h.join("Library").join("Application Support")),
        _ => env("XDG_DATA_HOME").and_then(abs).or_else(|| {
            env("HOME")
                .and_then(abs)
                .map(|h| h.join(".local").join("share"))
        }),
    }
}

#[cfg(test)]
mod tests;
