//! The ledger of a run: which file (`--ledger`, `KAYSE_LEDGER`, beside the sandbox's state, or
//! the default named from the server and a fingerprint of the key), the one-sending-run lock
//! on it, the run's row in its `runs` table, and the sink that writes every journaled outcome
//! into it. It records what the command says happened; it never decides what a row becomes.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::collector::Sink;
use crate::cli::Global;
use crate::error::{ExitCode, Fatal};
use crate::outcome::Outcome;
use crate::record::journal::RowRecord;
use crate::record::ledger::{self, InDoubt, Ledger, LedgerError, RunId, RunStart, Source, Written};
use crate::record::lock::{Holder, LockError, RunLock};
use crate::send::{self, ConnectionArgs};

/// The ledger file this run uses: `--ledger`/`KAYSE_LEDGER`, else beside the sandbox's state
/// file with `--sandbox`, else one per server and key in the user's data folder.
pub fn path(g: &Global, conn: &ConnectionArgs) -> Result<PathBuf, Fatal> {
    if let Some(p) = &g.ledger {
        return Ok(p.clone());
    }
    if g.sandbox {
        return Ok(ledger::beside_sandbox_state(&crate::sandbox::state_path(g)));
    }
    let key = send::api_key(conn, g)?;
    let data = ledger::data_dir().ok_or_else(|| {
        Fatal::usage("cannot find your data folder (no HOME or APPDATA): give the ledger's path with --ledger")
    })?;
    Ok(ledger::default_path(&data, &conn.base_url, key.expose()))
}

/// The ledger a run that sends nothing may read (a dry run counting what the ledger knows):
/// the run's ledger file if it exists, opened without its lock and never created. `None` when
/// there is none, or it cannot be named (no key to name the default one by: `conn` absent or
/// without a key).
pub fn existing(g: &Global, conn: Option<&ConnectionArgs>) -> Option<Ledger> {
    let path = match (&g.ledger, g.sandbox, conn) {
        (Some(p), _, _) => p.clone(),
        (None, true, _) => ledger::beside_sandbox_state(&crate::sandbox::state_path(g)),
        (None, false, Some(conn)) => path(g, conn).ok()?,
        (None, false, None) => return None,
    };
    path.is_file().then(|| Ledger::open(&path).ok()).flatten()
}

/// Every id of `entity` the ledger knows, except those this tool deleted (`export --all-known`):
/// in id order, so a `--resume` of a stopped export finds the same list (a case found gone
/// stays on it).
pub fn known_ids(g: &Global, conn: &ConnectionArgs, entity: &str) -> Result<Vec<u64>, Fatal> {
    let book = open_at(&path(g, conn)?)?;
    let mut ids = Vec::new();
    book.for_each(entity, |k| {
        if k.status != ledger::Status::Deleted {
            ids.push(k.id);
        }
        Ok::<(), LedgerError>(())
    })
    .map_err(Fatal::from)?;
    Ok(ids)
}

/// How a command's outcomes name their record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyed {
    /// By the input's row; the payload sent for it is in the states (import).
    Row,
    /// By the Kayse id itself (export, delete).
    Id,
}

/// An open ledger for one run.
pub struct RunLedger {
    ledger: Ledger,
    /// Held while the run sends; `None` for reading commands.
    _lock: Option<RunLock>,
    run: Option<RunId>,
    entity: &'static str,
    keyed: Keyed,
    file: Option<String>,
    /// What each row sends (its fields as JSON), by row.
    states: HashMap<usize, Value>,
    /// Keys from this one up name records of the second entity (a case sheet's clients).
    second: Option<(usize, &'static str)>,
    /// The source row of keys that are not rows themselves (a client: its first row).
    rows: HashMap<usize, usize>,
    /// Outcomes recorded, by word, for the `runs` table.
    counts: BTreeMap<String, u64>,
    /// What the ledger refused to record over what it knows, for the summary.
    pub conflicts: Vec<String>,
}

/// Open the ledger at `path`, one line and exit 2 when it cannot be used.
pub fn open_at(path: &std::path::Path) -> Result<Ledger, Fatal> {
    Ledger::open(path).map_err(|e| match e {
        e @ (LedgerError::Busy { .. } | LedgerError::Sql { .. }) => {
            Fatal::from_error(ExitCode::Usage, e)
        }
        e => e.into(),
    })
}

/// Take the one-sending-run lock of the ledger at `path`: refused at once with exit 3 naming
/// the holder, or waited for with `--wait`.
pub fn lock(path: &std::path::Path, command: &str, g: &Global) -> Result<RunLock, Fatal> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            Fatal::usage(format!(
                "cannot open the ledger {}: cannot make its folder {}: {e}",
                path.display(),
                dir.display()
            ))
        })?;
    }
    let at = ledger::lock_path(path);
    let me = Holder::this_process(command);
    let got = if g.wait {
        let mut told = false;
        RunLock::wait(&at, &me, Duration::from_millis(200), |h| {
            if !told && !g.quiet {
                let who = h.map(|h| h.describe(chrono::Local::now().date_naive()));
                eprintln!(
                    "waiting for the run that holds the ledger ({})",
                    who.unwrap_or_else(|| "another kayse-bulk run".into())
                );
                told = true;
            }
            true
        })
    } else {
        RunLock::try_acquire(&at, &me)
    };
    got.map_err(|e| match e {
        e @ LockError::Held { .. } => Fatal::stopped(format!(
            "{e}: it is sending with the same ledger; wait for it to end, or pass --wait"
        ))
        .with_reason("another_run")
        .with_next(super::finish::command_line()),
        e => Fatal::usage(e.to_string()),
    })
}

impl RunLedger {
    /// Open the run's ledger and note the run's start in its `runs` table. A run that sends
    /// changes to Kayse (`sending`) takes the ledger's lock first; a run that only reads does
    /// not, so an export can run beside an import (WAL and transactions keep both safe).
    pub fn open(
        g: &Global,
        conn: &ConnectionArgs,
        start: RunStart<'_>,
        sending: bool,
        entity: &'static str,
        keyed: Keyed,
    ) -> Result<RunLedger, Fatal> {
        let path = path(g, conn)?;
        let lock = if sending {
            Some(lock(&path, start.command, g)?)
        } else {
            None
        };
        let mut ledger = open_at(&path)?;
        let run = Some(ledger.begin_run(&start).map_err(Fatal::from)?);
        Ok(RunLedger {
            ledger,
            _lock: lock,
            run,
            entity,
            keyed,
            file: start.input.map(str::to_string),
            states: HashMap::new(),
            second: None,
            rows: HashMap::new(),
            counts: BTreeMap::new(),
            conflicts: Vec::new(),
        })
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn path_text(&self) -> String {
        self.ledger.path().display().to_string()
    }

    /// What each row sends, so its outcome can be recorded with it.
    pub fn set_states(&mut self, states: HashMap<usize, Value>) {
        self.states = states;
    }

    /// Add what more keys send (a second phase's records).
    pub fn add_states(&mut self, states: HashMap<usize, Value>) {
        self.states.extend(states);
    }

    /// Keys from `from` up are records of `entity`, each read from the source row `rows` gives
    /// (a case sheet's clients, keyed apart from its rows).
    pub fn second_entity(
        &mut self,
        from: usize,
        entity: &'static str,
        rows: HashMap<usize, usize>,
    ) {
        self.second = Some((from, entity));
        self.rows = rows;
    }

    /// The entity of a key's record.
    fn entity_of(&self, key: usize) -> &'static str {
        entity_of(self.second, self.entity, key)
    }

    /// Count outcomes settled without the journal (decided from the ledger itself).
    pub fn count(&mut self, recs: &[RowRecord]) {
        for r in recs {
            *self
                .counts
                .entry(r.outcome.as_str().to_string())
                .or_default() += 1;
        }
    }

    /// Write outcomes into the ledger in one transaction.
    pub fn write(&mut self, recs: &[RowRecord]) -> Result<(), LedgerError> {
        let mut conflicts = Vec::new();
        // A 404 on an id this tool deleted is what deleting means: it stays `deleted`.
        let mut deleted_here = std::collections::HashSet::new();
        for r in recs.iter().filter(|r| r.outcome == Outcome::NotFound) {
            let id = r.id.unwrap_or(r.row as u64);
            if let Some(k) = self.ledger.get(self.entity_of(r.row), id)?
                && k.status == ledger::Status::Deleted
            {
                deleted_here.insert(id);
            }
        }
        let mut b = self.ledger.batch(self.run)?;
        for r in recs {
            let id = match self.keyed {
                Keyed::Row => r.id,
                Keyed::Id => r.id.or(Some(r.row as u64)),
            };
            let state = self.states.get(&r.row);
            let entity = entity_of(self.second, self.entity, r.row);
            let row = self.rows.get(&r.row).copied().unwrap_or(r.row);
            let source = Source {
                file: self.file.as_deref(),
                row: (self.keyed == Keyed::Row).then_some(row as u64),
            };
            let recorded = match (r.outcome, id, state) {
                (Outcome::Created | Outcome::Updated, Some(id), Some(sent)) => {
                    let rec = b.sent(Written {
                        entity,
                        id,
                        sent,
                        answer: None,
                        created: r.outcome == Outcome::Created,
                        batch: r.batch.and_then(|n| u32::try_from(n).ok()),
                        source,
                    })?;
                    record_links(&mut b, entity, id, sent)?;
                    Some(rec)
                }
                (Outcome::Unknown, None, Some(sent)) => {
                    b.unknown(InDoubt {
                        entity,
                        sent,
                        batch: r.batch.and_then(|n| u32::try_from(n).ok()),
                        source,
                    })?;
                    None
                }
                (Outcome::Valid, Some(id), _) if self.keyed == Keyed::Id => match &r.data {
                    Some(data) => Some(b.read(entity, id, data)?),
                    None => None,
                },
                (Outcome::Deleted, Some(id), _) => {
                    b.deleted(entity, id)?;
                    None
                }
                (Outcome::NotFound, Some(id), _) if !deleted_here.contains(&id) => {
                    b.gone(entity, id)?;
                    None
                }
                // Kayse refused a link to a record it no longer has: the ledger learns it is
                // gone, so the next run makes it anew instead of naming it again.
                (Outcome::Failed, _, _) => {
                    if let Some((other, gone)) =
                        r.error.as_deref().and_then(send::learned::missing_link)
                    {
                        b.gone(other, gone)?;
                    }
                    None
                }
                _ => None,
            };
            if let Some(rec) = recorded {
                conflicts.extend(rec.conflicts.iter().map(|c| format!("row {}: {c}", r.row)));
            }
        }
        b.commit()?;
        self.count(recs);
        self.conflicts.extend(conflicts);
        Ok(())
    }

    /// Bring the ledger up to date with what an earlier run's journal settled (`--resume`).
    pub fn replay<'r>(&mut self, prior: impl Iterator<Item = &'r RowRecord>) -> Result<(), Fatal> {
        let recs: Vec<RowRecord> = prior.cloned().collect();
        self.write(&recs).map_err(Fatal::from)
    }

    /// Note the run's end in the `runs` table: its counts and exit code. A failure here is only
    /// a warning: every outcome is recorded already.
    pub fn end(mut self, result: &crate::error::CmdResult) {
        let code = match result {
            Ok(c) => *c as i32,
            Err(f) => f.code as i32,
        };
        if let Some(run) = self.run
            && let Err(e) = self.ledger.end_run(run, &self.counts, code)
        {
            eprintln!("warning: the ledger did not note the run's end: {e}");
        }
    }
}

/// The entity of a key's record: the second one's from its first key up.
fn entity_of(
    second: Option<(usize, &'static str)>,
    first: &'static str,
    key: usize,
) -> &'static str {
    match second {
        Some((from, e)) if key >= from => e,
        _ => first,
    }
}

/// The links a sent record's id lists make (a case's `client_ids`): they replace that record's
/// links to the other entity, as the API does. A record sent without the list keeps those the
/// ledger knows: what the ledger records of links is what this tool sent, never a guess.
fn record_links(
    b: &mut ledger::Batch<'_>,
    entity: &str,
    id: u64,
    sent: &Value,
) -> Result<(), LedgerError> {
    let Some(table) = crate::entity::by_name(entity) else {
        return Ok(());
    };
    for f in table.fields {
        let (Some(other), Some(list)) = (f.links, sent.get(f.name).and_then(Value::as_array))
        else {
            continue;
        };
        let ids: Vec<u64> = list.iter().filter_map(Value::as_u64).collect();
        b.set_links(entity, id, other, &ids)?;
    }
    Ok(())
}

impl Sink for RunLedger {
    fn record(&mut self, recs: &[RowRecord]) -> Result<(), String> {
        self.write(recs).map_err(|e| e.to_string())
    }
}
