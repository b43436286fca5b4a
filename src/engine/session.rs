//! A networked run before it sends: the journal of an earlier run checked (refused, or opened for
//! `--resume`), what it settled, the plan line, and then the connection and the journal created
//! for the `Live` run (live.rs). The one place a journal is opened or created.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::crash::{self, Point};
use super::live::{Live, Sent};
use super::queue::{Job, take_where};
use crate::cli::Global;
use crate::error::{ExitCode, Fatal};
use crate::outcome::Outcome;
use crate::record::journal::{
    Basis, Fingerprint, Header, Journal, JournalError, JournalState, Record, RowRecord,
};
use crate::record::lock::{Holder, LockError, RunLock};
use crate::send::{self, Client, ConnectionArgs, PacingArgs, Server, StopSignal};

/// What the run reads: a file (its journal's fingerprint is of its rows) or a list of ids.
#[derive(Debug, Clone)]
pub enum Input {
    File(PathBuf),
    Ids(usize),
}

/// What to do with requests an earlier run left in flight (journaled, never answered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InFlight {
    /// Send them again, in their groups, in doubt (upserts, deletes, GETs).
    Resend,
    /// Never again (at-most-once messages): settle them `unknown` with this note.
    Unknown(&'static str),
}

/// Everything the journal needs to know about a run.
#[derive(Debug, Clone)]
pub struct Spec {
    pub command: &'static str,
    pub input: Input,
    pub journal: PathBuf,
    pub fingerprint: Fingerprint,
    /// Recorded in the journal's header.
    pub options: BTreeMap<String, String>,
    /// Resuming with other `options` is refused, naming them this way (e.g. "--message/--subject
    /// templates"); `None`: options are recorded only.
    pub checked: Option<&'static str>,
    /// What to say when a fresh run meets an earlier journal; `None`: the generic advice.
    pub refuse_fresh: Option<String>,
    pub in_flight: InFlight,
    /// Whether `failed` outcomes of an earlier run are tried again on `--resume`.
    pub retry_failed: bool,
    /// The server and key the run uses (`Server::of`): recorded, and checked on `--resume`.
    pub server: Server,
}

/// A run before it sends: its journal checked, what earlier runs settled.
pub struct Session {
    spec: Spec,
    resumed: Option<Journal>,
    /// Outcomes earlier runs settled, by key (minus `failed` ones when they are retried).
    pub prior: BTreeMap<usize, RowRecord>,
    /// Groups an earlier run left in flight, to send again (`InFlight::Resend`).
    pub in_flight: Vec<Vec<usize>>,
    plan: Option<String>,
}

fn journal_failed(e: JournalError) -> Fatal {
    Fatal::from_error(ExitCode::Usage, e)
}

impl Session {
    /// Check for a journal of an earlier run. A fresh run refuses one (starting over could
    /// repeat what cannot be repeated); `--resume` opens it, checks it belongs to this input and
    /// command, and reads what it settled.
    pub fn open(spec: Spec, resume: bool) -> Result<Session, Fatal> {
        Session::precheck(
            spec.command,
            &spec.journal,
            resume,
            spec.refuse_fresh.as_deref(),
        )?;
        let path = &spec.journal;
        if !resume {
            // Written over its own input, every row copied through with its id: no id is lost.
            if let Some(results) = path.to_str().and_then(|p| p.strip_suffix(".journal"))
                && !super::in_place::is_in_place(path)
            {
                super::guard::fresh_run_may_replace(Path::new(results))?;
            }
            return Ok(Session {
                spec,
                resumed: None,
                prior: BTreeMap::new(),
                in_flight: Vec::new(),
                plan: None,
            });
        }
        let (mut j, st) = Journal::resume(path).map_err(|e| match e {
            JournalError::Io { .. } if !path.exists() => Fatal::usage(format!(
                "nothing to resume: no journal at {}",
                path.display()
            )),
            e => journal_failed(e),
        })?;
        check_header(&spec, &st)?;
        let mut prior: BTreeMap<usize, RowRecord> = st
            .outcomes
            .into_iter()
            .filter(|(_, r)| !(r.outcome == Outcome::Failed && (spec.retry_failed || transient(r))))
            .collect();
        let mut in_flight = st.in_flight;
        if let InFlight::Unknown(note) = spec.in_flight {
            let groups = std::mem::take(&mut in_flight);
            settle_unknown(&mut j, &mut prior, groups, note)?;
        }
        Ok(Session {
            spec,
            resumed: Some(j),
            prior,
            in_flight,
            plan: None,
        })
    }

    /// Settle as `unknown`, with `note`, the groups an earlier run left in flight whose keys
    /// `pick` chooses, instead of sending them again: requests that must happen at most once (a
    /// create Kayse would make twice). Journaled now, so the next resume agrees.
    pub fn settle_in_flight(
        &mut self,
        pick: impl Fn(usize) -> bool,
        note: &str,
    ) -> Result<(), Fatal> {
        let (settle, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|g| g.iter().any(|&k| pick(k)));
        self.in_flight = keep;
        match self.resumed.as_mut() {
            Some(j) => settle_unknown(j, &mut self.prior, settle, note),
            None => Ok(()),
        }
    }

    /// The checks that need no reading of the input: a fresh run refuses an earlier journal, a
    /// resume needs one. `open` makes them too; a command that reads a large input first makes
    /// them before, so a refused run does not read it for nothing.
    pub fn precheck(
        command: &str,
        journal: &Path,
        resume: bool,
        refuse_fresh: Option<&str>,
    ) -> Result<(), Fatal> {
        hold_lock(journal, command)?;
        if !resume
            && journal.exists()
            && super::in_place::is_in_place(journal)
            && let Some(results) = journal.to_str().and_then(|p| p.strip_suffix(".journal"))
        {
            super::in_place::retire_journal(journal, Path::new(results))?;
        }
        // Exit 3, not 2: there is something to resume, and `--json`'s `next` says how.
        if !resume && journal.exists() {
            return Err(Fatal::stopped(refuse_fresh.map(str::to_string).unwrap_or_else(|| {
                format!(
                    "a journal from an earlier {command} run is at {}: pass --resume to continue it, or move it away to start over",
                    journal.display()
                )
            }))
            .with_reason("another_run")
            .with_next(super::finish::resume_command()));
        }
        if resume && !journal.exists() {
            return Err(Fatal::usage(format!(
                "nothing to resume: no journal at {}",
                journal.display()
            )));
        }
        Ok(())
    }

    /// Split `items` by what earlier runs did: those an earlier run settled are dropped, those
    /// it left in flight come back as doubtful jobs in their original groups, the rest is fresh.
    /// In place: a run's items can be most of its memory, so they are never copied whole.
    pub fn split<I>(&self, mut items: Vec<I>, key: impl Fn(&I) -> usize) -> (Vec<Job<I>>, Vec<I>) {
        items.retain(|i| !self.prior.contains_key(&key(i)));
        let in_flight: BTreeSet<usize> = self.in_flight.iter().flatten().copied().collect();
        let mut pending: BTreeMap<usize, I> =
            take_where(&mut items, |i| in_flight.contains(&key(i)))
                .into_iter()
                .map(|i| (key(&i), i))
                .collect();
        let doubtful = self
            .in_flight
            .iter()
            .filter_map(|group| {
                let items: Vec<I> = group.iter().filter_map(|k| pending.remove(k)).collect();
                (!items.is_empty()).then_some(Job {
                    items,
                    in_doubt: true,
                })
            })
            .collect();
        (doubtful, items)
    }

    /// Print the plan line once (unless quiet) and keep it for the summary.
    pub fn plan(&mut self, line: String, g: &Global) {
        show_plan(&line, g);
        self.plan = Some(line);
    }

    pub fn plan_line(&self) -> Option<String> {
        self.plan.clone()
    }

    /// Nothing to send: what earlier runs settled is all there is.
    pub fn skip_sending(self) -> Sent {
        crash::at(Point::BeforeResults);
        let doubt = match self.spec.in_flight {
            InFlight::Resend => self.in_flight.iter().flatten().copied().collect(),
            InFlight::Unknown(_) => BTreeSet::new(),
        };
        Sent {
            outcomes: self.prior,
            doubt,
            stop: None,
            interrupted: false,
            stats: None,
            server: Some(self.spec.server),
        }
    }

    /// Start sending: the runtime, the connection (or the embedded sandbox), the one client,
    /// Ctrl-C, and the journal (created now for a fresh run, noted for a resumed one).
    pub fn connect(
        self,
        conn: &ConnectionArgs,
        pacing: &PacingArgs,
        g: &Global,
    ) -> Result<Live, Fatal> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Fatal::usage("cannot start the async runtime").because(e))?;
        let stop = Arc::new(StopSignal::default());
        let drain = Duration::from_secs(conn.timeout);
        let quit = super::finish::quit_at_once(self.spec.command, g.quiet, g.json);
        let (client, ctrl_c, interrupted) = rt.block_on(async {
            let connection = send::connect(conn, g).await?;
            let client = Client::new(&connection, pacing, stop.clone())?;
            let (task, flag) = send::on_ctrl_c(stop.clone(), g.quiet, drain, quit);
            Ok::<_, Fatal>((client, task, flag))
        })?;
        let journal = match self.resumed {
            Some(mut j) => {
                let _ = j.note("resumed");
                j
            }
            None => {
                let mut h = Header::new(
                    self.spec.command,
                    &input_path(&self.spec),
                    &self.spec.fingerprint,
                );
                if let Input::Ids(n) = self.spec.input {
                    h.input = format!("{n} ids");
                }
                h.options = self.spec.options.clone();
                h.server = Some(self.spec.server.url.clone());
                h.sandbox = Some(self.spec.server.sandbox);
                h.key_fingerprint = Some(self.spec.server.key.clone());
                Journal::create(&self.spec.journal, h).map_err(journal_failed)?
            }
        };
        crash::at(Point::BeforeFirstRequest);
        let doubt = match self.spec.in_flight {
            InFlight::Resend => self.in_flight.iter().flatten().copied().collect(),
            InFlight::Unknown(_) => BTreeSet::new(),
        };
        Ok(Live {
            rt,
            client,
            interrupted,
            ctrl_c,
            journal,
            outcomes: self.prior,
            doubt,
            stop: None,
            quiet: g.quiet,
            drain,
            concurrency: pacing.concurrency.max(1) as usize,
            server: self.spec.server,
        })
    }
}

/// Journal every key of `groups` as `unknown` with `note`, and count them settled.
fn settle_unknown(
    j: &mut Journal,
    prior: &mut BTreeMap<usize, RowRecord>,
    groups: Vec<Vec<usize>>,
    note: &str,
) -> Result<(), Fatal> {
    let settled: Vec<RowRecord> = groups
        .into_iter()
        .flatten()
        .map(|row| RowRecord {
            row,
            batch: None,
            outcome: Outcome::Unknown,
            id: None,
            error: Some(note.to_string()),
            data: None,
        })
        .collect();
    if !settled.is_empty() {
        let lines: Vec<Record> = settled.iter().cloned().map(Record::Row).collect();
        j.append(&lines)
            .map_err(|e| Fatal::from_error(ExitCode::Stopped, e))?;
    }
    prior.extend(settled.into_iter().map(|r| (r.row, r)));
    Ok(())
}

/// A row an earlier run failed for a 5xx or the network (before outages were waited out): Kayse
/// never refused it, so a resume sends it again.
fn transient(r: &RowRecord) -> bool {
    r.error
        .as_deref()
        .is_some_and(send::retry::transient_failure)
}

/// The options an earlier run recorded in its journal's header, to restore on `--resume` (read
/// only: the journal is opened for writing later, by `Session::open`). Empty when there is no
/// journal, which `precheck` reports in its own words.
pub fn recorded_options(journal: &Path) -> Result<BTreeMap<String, String>, Fatal> {
    let Ok(f) = std::fs::File::open(journal) else {
        return Ok(BTreeMap::new());
    };
    let st = JournalState::read(journal, f).map_err(journal_failed)?;
    Ok(st.header.map(|h| h.options).unwrap_or_default())
}

/// A results file fed back (`input`) is read with the mapping file and the clients table its run
/// recorded, where the command line gives none: a case is never checked, nor sent, without the
/// clients its row names. Its journal says which, until the journal is retired.
pub fn restore_fed_back(
    input: &Path,
    rules: &mut crate::engine::options::RulesArgs,
) -> Result<(), Fatal> {
    rules.restore(&recorded_options(&Journal::path_for(input))?);
    Ok(())
}

/// The input an earlier run's journal names (the sheet a results file fed back came from);
/// `None` when there is no journal.
pub fn recorded_input(journal: &Path) -> Result<Option<String>, Fatal> {
    let Ok(f) = std::fs::File::open(journal) else {
        return Ok(None);
    };
    let st = JournalState::read(journal, f).map_err(journal_failed)?;
    Ok(st.header.map(|h| h.input))
}

/// On `--resume`, give `input` the reading options the journal beside `results` recorded (those
/// the command line does not give); returns them all, for a command's other options.
pub fn restore_reading(
    resume: bool,
    results: &Path,
    input: &mut crate::engine::options::InputArgs,
) -> Result<BTreeMap<String, String>, Fatal> {
    if !resume {
        return Ok(BTreeMap::new());
    }
    let recorded = recorded_options(&Journal::path_for(results))?;
    input.restore(&recorded)?;
    Ok(recorded)
}

/// The locks this process holds, one per journal: kept until the process ends (the OS releases
/// them however it ends), so the run holds its journal from the first check to the results
/// written. A process runs one command, so a registry is the simplest owner; a second check of
/// the same journal (a command's `precheck`, then `open`) finds it held already.
static HELD: Mutex<Vec<RunLock>> = Mutex::new(Vec::new());

/// `<journal>.lock`: the lock of one results file's runs. Never the journal itself, which a
/// lock would pin open, nor a file another tool opens.
pub fn lock_path(journal: &Path) -> PathBuf {
    let mut s = journal.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// One run per results file: take `<journal>.lock` for the rest of the process, or refuse at
/// once (exit 3, `another_run`) naming the run that holds it. Creates the results folder if it
/// is missing (a scheduled job writing `reports/cases.xlsx`), before any request.
pub fn hold_lock(journal: &Path, command: &str) -> Result<(), Fatal> {
    let path = lock_path(journal);
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    if held.iter().any(|l| l.path() == path) {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            Fatal::stopped(format!(
                "cannot create the results folder {}",
                dir.display()
            ))
            .because(e)
            .with_reason("results_unwritable")
        })?;
    }
    match RunLock::try_acquire(&path, &Holder::this_process(command)) {
        Ok(lock) => {
            held.push(lock);
            Ok(())
        }
        Err(e @ LockError::Held { .. }) => Err(Fatal::stopped(format!(
            "{e}: one run per results file; run again when it has finished (or pass --results to write elsewhere)"
        ))
        .with_reason("another_run")
        .with_next(super::finish::command_line())),
        Err(e) => Err(Fatal::stopped("cannot lock the results file's journal")
            .because(e)
            .with_reason("results_unwritable")),
    }
}

/// Set once stderr showed the plan line, so the summary does not print it a second time.
static PLAN_SHOWN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether stderr already showed this run's plan line.
pub fn plan_shown() -> bool {
    PLAN_SHOWN.load(std::sync::atomic::Ordering::SeqCst)
}

/// The plan line on stderr, before anything is sent (a dry run has no session, and shows it too).
pub fn show_plan(line: &str, g: &Global) {
    if !g.quiet {
        eprintln!("plan: {line}");
        PLAN_SHOWN.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The path recorded as the journal's input (a list of ids is described instead, below).
fn input_path(spec: &Spec) -> PathBuf {
    match &spec.input {
        Input::File(p) => p.clone(),
        Input::Ids(_) => PathBuf::new(),
    }
}

/// The journal must belong to this command, this input and these options.
fn check_header(spec: &Spec, st: &JournalState) -> Result<(), Fatal> {
    let path = spec.journal.display();
    let h = st
        .header
        .as_ref()
        .ok_or_else(|| Fatal::usage("the journal has no header"))?;
    if h.command != spec.command {
        return Err(Fatal::usage(format!(
            "refusing to resume: the journal {path} records a '{}' run, not {}",
            h.command, spec.command
        )));
    }
    let mine = match (&spec.input, h.input_basis, spec.fingerprint.basis) {
        // A journal written before fingerprints were taken over rows: hash the file's bytes,
        // the one case that reads the input a second time.
        (Input::File(f), Basis::Bytes, Basis::Rows) => {
            Fingerprint::of_file(f).map_err(journal_failed)?
        }
        _ => spec.fingerprint.clone(),
    };
    if h.fingerprint() != mine {
        let what = match &spec.input {
            Input::File(f) => match spec.options.get("read.clients") {
                // The joined clients table's rows are in the input's fingerprint.
                Some(c) => format!(
                    "input than {} with the clients table {c} (the content of one of them changed)",
                    f.display()
                ),
                None => format!("input file than {} (its content changed)", f.display()),
            },
            Input::Ids(_) => "list of ids".to_string(),
        };
        return Err(Fatal::usage(format!(
            "refusing to resume: the journal {path} belongs to a different {what}"
        )));
    }
    let here = &spec.server;
    if let Some(there) = &h.server
        && *there != here.url
    {
        let how = if h.sandbox == Some(true) && there.starts_with("embedded") {
            "--sandbox".to_string()
        } else {
            format!("--base-url {there}")
        };
        return Err(Fatal::usage(format!(
            "refusing to resume: the journal {path} records a run against {there}, not {}; its ids are that server's: resume with {how}",
            here.url
        )));
    }
    if let Some(fp) = &h.key_fingerprint
        && *fp != here.key
    {
        return Err(Fatal::usage(format!(
            "refusing to resume: the journal {path} records a run with another API key (fingerprint {fp}, this one is {}): resume with the key it was started with",
            here.key
        )));
    }
    if let Some(what) = spec.checked
        && h.options != spec.options
    {
        return Err(Fatal::usage(format!(
            "refusing to resume: the journal {path} was written with other {what}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::live::Settled;
    use crate::engine::stop::StopReason;

    fn spec(dir: &Path, in_flight: InFlight, retry_failed: bool) -> Spec {
        Spec {
            command: "delete",
            input: Input::Ids(3),
            journal: dir.join("r.xlsx.journal"),
            fingerprint: Fingerprint {
                sha256: "ab".into(),
                size: 3,
                basis: Basis::Ids,
            },
            options: BTreeMap::new(),
            checked: None,
            refuse_fresh: None,
            in_flight,
            retry_failed,
            server: Server {
                url: "https://kayse.example".into(),
                sandbox: false,
                key: "k1".into(),
            },
        }
    }

    fn rec(row: usize, outcome: Outcome) -> Record {
        Record::Row(RowRecord {
            row,
            batch: Some(0),
            outcome,
            id: None,
            error: None,
            data: None,
        })
    }

    /// A journal: row 1 done, row 2 failed, rows 3 and 4 in flight together, row 5 released.
    fn earlier(s: &Spec) {
        let mut j = Journal::create(
            &s.journal,
            Header::new(s.command, &s.journal, &s.fingerprint),
        )
        .unwrap();
        j.sent(&[1, 2]).unwrap();
        j.append(&[rec(1, Outcome::Deleted), rec(2, Outcome::Failed)])
            .unwrap();
        j.sent(&[3, 4]).unwrap();
        let b = j.sent(&[5]).unwrap();
        j.append(&[Record::Released {
            batch: b,
            rows: vec![5],
        }])
        .unwrap();
    }

    /// A changed input is refused on `--resume`; with a joined clients table (whose rows are in
    /// the fingerprint) the message names both files.
    #[test]
    fn a_changed_input_or_clients_table_is_refused_naming_them() {
        // (the clients table recorded, the message)
        let table = [
            (
                None,
                "belongs to a different input file than in.csv (its content changed)",
            ),
            (
                Some("contacts.csv"),
                "belongs to a different input than in.csv with the clients table contacts.csv (the content of one of them changed)",
            ),
        ];
        for (clients, want) in table {
            let dir = tempfile::tempdir().unwrap();
            let mut s = spec(dir.path(), InFlight::Resend, false);
            s.command = "import";
            s.input = Input::File(PathBuf::from("in.csv"));
            s.fingerprint.basis = Basis::Rows;
            if let Some(c) = clients {
                s.options.insert("read.clients".into(), c.into());
            }
            earlier(&s);
            let mut other = s.clone();
            other.fingerprint.sha256 = "cd".into();
            let e = Session::open(other, true).err().unwrap();
            assert!(e.render().contains(want), "{}", e.render());
        }
    }

    #[test]
    fn a_fresh_run_refuses_an_earlier_journal_and_resume_needs_one() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path(), InFlight::Resend, true);
        assert!(Session::open(s.clone(), false).is_ok());
        let e = Session::open(s.clone(), true).err().unwrap();
        assert!(
            e.render().starts_with("nothing to resume"),
            "{}",
            e.render()
        );
        earlier(&s);
        let e = Session::open(s.clone(), false).err().unwrap();
        assert!(e.render().contains("pass --resume"), "{}", e.render());
        let mut other = s.clone();
        other.fingerprint.sha256 = "cd".into();
        let e = Session::open(other, true).err().unwrap();
        assert!(
            e.render().contains("different list of ids"),
            "{}",
            e.render()
        );
        let mut other = s.clone();
        other.command = "export";
        let e = Session::open(other, true).err().unwrap();
        assert!(
            e.render().contains("records a 'delete' run"),
            "{}",
            e.render()
        );
        let mut other = s;
        other.options.insert("message".into(), "hi".into());
        other.checked = Some("--message/--subject templates");
        let e = Session::open(other, true).err().unwrap();
        assert!(e.render().contains("other --message/--subject templates"));
    }

    #[test]
    fn a_resume_is_refused_on_another_server_or_key() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path(), InFlight::Resend, true);
        let mut h = Header::new(s.command, &s.journal, &s.fingerprint);
        h.server = Some("embedded sandbox (kayse-sandbox.json)".into());
        h.sandbox = Some(true);
        h.key_fingerprint = Some("k1".into());
        drop(Journal::create(&s.journal, h).unwrap());
        // (server now, key now, what the refusal says; None: the resume goes ahead)
        let table = [
            (
                "https://kayse.example",
                "k1",
                Some(
                    "records a run against embedded sandbox (kayse-sandbox.json), not https://kayse.example; its ids are that server's: resume with --sandbox",
                ),
            ),
            (
                "embedded sandbox (kayse-sandbox.json)",
                "k2",
                Some("records a run with another API key (fingerprint k1, this one is k2)"),
            ),
            ("embedded sandbox (kayse-sandbox.json)", "k1", None),
        ];
        for (url, key, want) in table {
            let mut now = s.clone();
            now.server = Server {
                url: url.into(),
                sandbox: url.starts_with("embedded"),
                key: key.into(),
            };
            let got = Session::open(now, true).err().map(|e| e.render());
            match (got, want) {
                (None, None) => {}
                (Some(got), Some(want)) => assert!(got.contains(want), "{got}"),
                (got, want) => panic!("{url} {key}: {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn a_second_run_on_one_journal_is_refused_naming_the_first() {
        // The lock is the process's: a second process is needed to be refused, so this checks
        // the lock file's place and that this process can take its own lock twice.
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("sub/r.xlsx.journal");
        hold_lock(&journal, "import").unwrap();
        hold_lock(&journal, "import").unwrap();
        assert!(
            dir.path().join("sub/r.xlsx.journal.lock").exists(),
            "the folder is made"
        );
        let held = RunLock::try_acquire(&lock_path(&journal), &Holder::this_process("import"))
            .unwrap_err();
        assert!(
            held.to_string().starts_with("another kayse-bulk run holds"),
            "{held}"
        );
    }

    #[test]
    fn resume_splits_items_by_what_the_journal_says() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path(), InFlight::Resend, true);
        earlier(&s);
        let session = Session::open(s, true).unwrap();
        let (doubtful, fresh) = session.split((1..=6).collect(), |k: &usize| *k);
        assert_eq!(doubtful.len(), 1);
        assert_eq!(doubtful[0].items, vec![3, 4]);
        assert!(doubtful[0].in_doubt);
        assert_eq!(fresh, vec![2, 5, 6], "failed is retried, released is fresh");
        let sent = session.skip_sending();
        assert_eq!(
            sent.settle(1),
            Settled::Done(&RowRecord {
                row: 1,
                batch: Some(0),
                outcome: Outcome::Deleted,
                id: None,
                error: None,
                data: None,
            })
        );
        assert_eq!(sent.settle(3), Settled::InDoubt);
        assert_eq!(sent.settle(6), Settled::NotSent);
    }

    /// A journal from before outages were waited out: rows `failed` by a 5xx or the network
    /// are sent again by a resume that keeps Kayse's own refusals.
    #[test]
    fn resume_sends_again_rows_an_earlier_run_failed_for_a_5xx() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path(), InFlight::Resend, false);
        let mut j = Journal::create(
            &s.journal,
            Header::new(s.command, &s.journal, &s.fingerprint),
        )
        .unwrap();
        let failed = |row, error: &str| {
            Record::Row(RowRecord {
                row,
                batch: Some(0),
                outcome: Outcome::Failed,
                id: None,
                error: Some(error.into()),
                data: None,
            })
        };
        j.sent(&[1, 2, 3, 4]).unwrap();
        j.append(&[
            failed(1, "Kayse answered 503: maintenance (after 6 attempts)"),
            failed(2, "Kayse answered 400: status is required"),
            failed(3, "cannot connect to Kayse (after 6 attempts)"),
            rec(4, Outcome::Deleted),
        ])
        .unwrap();
        drop(j);
        let session = Session::open(s, true).unwrap();
        let (doubtful, fresh) = session.split((1..=4).collect(), |k: &usize| *k);
        assert!(doubtful.is_empty());
        assert_eq!(
            fresh,
            vec![1, 3],
            "5xx and network failures go again; 400 stays"
        );
    }

    #[test]
    fn at_most_once_settles_what_was_in_flight_as_unknown_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let s = spec(dir.path(), InFlight::Unknown("may have been sent"), false);
        earlier(&s);
        let session = Session::open(s.clone(), true).unwrap();
        let (doubtful, fresh) = session.split((1..=6).collect(), |k: &usize| *k);
        assert!(doubtful.is_empty());
        assert_eq!(
            fresh,
            vec![5, 6],
            "failed is not retried here; 3 and 4 are settled"
        );
        assert_eq!(session.prior[&3].outcome, Outcome::Unknown);
        drop(session);
        // The settlement is on disk: a second resume sees it as an outcome.
        let (_, st) = Journal::resume(&s.journal).unwrap();
        assert_eq!(st.outcomes[&4].error.as_deref(), Some("may have been sent"));
        assert!(st.in_flight.is_empty());
    }

    #[test]
    fn not_sent_says_why() {
        let mut s = Sent::nothing();
        assert_eq!(s.not_sent("sent"), "not sent");
        s.stop = Some(StopReason::Budget);
        assert_eq!(
            s.not_sent("fetched"),
            "not fetched: the --budget is spent; run again with --resume"
        );
        s.interrupted = true;
        assert_eq!(
            s.not_sent("sent"),
            "not sent: the run was interrupted; run again with --resume"
        );
    }
}
