//! The append-only journal beside a results file (`<results>.journal`): one JSON object per line,
//! a header with the input's fingerprint, then what each request carried and what each row came
//! to, fsynced before an outcome counts as done. It never holds the API key, and it knows nothing
//! of HTTP: commands decide what to record.
//!
//! Records (field `t` names the kind):
//! - `header`: `version`, `command`, `input`, `input_sha256`, `input_size`, `input_basis`,
//!   `options`, `started`, `server`, `sandbox`, `key_fingerprint` (a one-way hash: two keys can
//!   be told apart, neither recovered; absent in journals written before it was recorded).
//! - `sent`: `batch`, `rows` — written before a request leaves.
//! - `row`: `row`, `batch`, `outcome`, `id`, `error`, `data` — written after the answer.
//! - `released`: `batch`, `rows` — the request `batch` was certainly not applied (a definite
//!   rejection, or never sent), so those rows are no longer in doubt because of it.
//! - `note`: `text` — stops, resumes, for people reading the file.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::outcome::Outcome;

pub const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot {action} the journal {path}: {message}")]
    Io {
        action: &'static str,
        path: String,
        message: String,
    },
    #[error("the journal {path} is damaged at line {line}: {message}")]
    Damaged {
        path: String,
        line: usize,
        message: String,
    },
    #[error("the journal {path} has no header line")]
    NoHeader { path: String },
}

fn io_err(action: &'static str, path: &Path, e: impl std::fmt::Display) -> JournalError {
    JournalError::Io {
        action,
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// What identifies an input: a sha256 and a size, over what `basis` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub sha256: String,
    pub size: u64,
    pub basis: Basis,
}

/// What a fingerprint was taken over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The file's bytes; `size` is in bytes. Journals written before `basis` existed say this.
    #[default]
    Bytes,
    /// The header and rows as read (cell by cell, in file order, whatever the format), so the
    /// reading pass itself takes it; `size` is the number of rows.
    Rows,
    /// A list of ids (export); `size` is the number of ids.
    Ids,
}

impl Fingerprint {
    /// Hash a file, streaming (inputs can be large).
    pub fn of_file(path: &Path) -> Result<Fingerprint, JournalError> {
        let mut f = File::open(path).map_err(|e| io_err("fingerprint the input for", path, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        loop {
            let n = f
                .read(&mut buf)
                .map_err(|e| io_err("fingerprint the input for", path, e))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            hasher.update(&buf[..n]);
        }
        let digest = hasher.finalize();
        Ok(Fingerprint {
            sha256: hex(&digest),
            size,
            basis: Basis::Bytes,
        })
    }
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first line: what run this journal belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub version: u32,
    pub command: String,
    pub input: String,
    pub input_sha256: String,
    pub input_size: u64,
    #[serde(default)]
    pub input_basis: Basis,
    /// Options that change what is sent (e.g. `update_blanks`), for people and for checks.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    pub started: String,
    /// The server the run sent to (base URL, or the embedded sandbox): a resume elsewhere is
    /// refused, since the ids on record are that server's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<bool>,
    /// A one-way fingerprint of the API key (never the key): a resume with another key is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_fingerprint: Option<String>,
}

impl Header {
    pub fn new(command: &str, input: &Path, fp: &Fingerprint) -> Header {
        Header {
            version: VERSION,
            command: command.to_string(),
            input: input.display().to_string(),
            input_sha256: fp.sha256.clone(),
            input_size: fp.size,
            input_basis: fp.basis,
            options: BTreeMap::new(),
            started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            server: None,
            sandbox: None,
            key_fingerprint: None,
        }
    }

    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint {
            sha256: self.input_sha256.clone(),
            size: self.input_size,
            basis: self.input_basis,
        }
    }
}

/// What one row came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowRecord {
    /// The input's source row (what the user sees in Excel).
    pub row: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u64>,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Command-specific detail (e.g. a rendered message), kept opaque here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Record {
    Header(Header),
    Sent { batch: u64, rows: Vec<usize> },
    Row(RowRecord),
    Released { batch: u64, rows: Vec<usize> },
    Note { text: String },
}

/// What a journal says, rebuilt on `--resume`.
#[derive(Debug, Clone, Default)]
pub struct JournalState {
    pub header: Option<Header>,
    /// The last recorded outcome of each row.
    pub outcomes: BTreeMap<usize, RowRecord>,
    /// Rows some request carried that may have been applied and have no outcome yet, grouped by
    /// the last request that carried them (batches are atomic, so a group shares one fate).
    pub in_flight: Vec<Vec<usize>>,
    /// The next free batch number.
    pub next_batch: u64,
    /// Bytes of complete lines (a torn last line after a kill -9 is cut off here).
    pub valid_len: u64,
}

impl JournalState {
    /// Rebuild the state from the journal's lines. A torn last line is ignored; damage anywhere
    /// else is an error (the file was edited or mixed up, and guessing could send twice).
    pub fn read(path: &Path, r: impl Read) -> Result<JournalState, JournalError> {
        let mut reader = BufReader::new(r);
        let mut st = JournalState::default();
        // Per row: the number of requests carrying it not yet released, and the last such batch.
        let mut doubt: BTreeMap<usize, (u32, u64)> = BTreeMap::new();
        let mut line = Vec::new();
        let mut n = 0usize;
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| io_err("read", path, e))?;
            if read == 0 {
                break;
            }
            n += 1;
            if line.last() != Some(&b'\n') {
                // An unterminated last line: the write it belonged to never completed.
                break;
            }
            let rec: Record = match serde_json::from_slice(&line) {
                Ok(r) => r,
                Err(e) => {
                    // Garbage followed by nothing is a torn line too.
                    let mut rest = Vec::new();
                    let _ = reader.read_to_end(&mut rest);
                    if rest.iter().all(u8::is_ascii_whitespace) {
                        break;
                    }
                    return Err(JournalError::Damaged {
                        path: path.display().to_string(),
                        line: n,
                        message: e.to_string(),
                    });
                }
            };
            st.valid_len += read as u64;
            match rec {
                Record::Header(h) => {
                    if st.header.is_none() {
                        st.header = Some(h);
                    }
                }
                Record::Sent { batch, rows } => {
                    st.next_batch = st.next_batch.max(batch + 1);
                    for r in rows {
                        let e = doubt.entry(r).or_insert((0, batch));
                        e.0 += 1;
                        e.1 = batch;
                    }
                }
                Record::Released { batch, rows } => {
                    st.next_batch = st.next_batch.max(batch + 1);
                    for r in rows {
                        if let Some(e) = doubt.get_mut(&r) {
                            e.0 = e.0.saturating_sub(1);
                        }
                    }
                }
                Record::Row(rr) => {
                    doubt.remove(&rr.row);
                    // Never downgrade: what is on the server for good (an id, a message sent)
                    // stays so, whatever a later line says (a second run, a recheck).
                    let keep = st
                        .outcomes
                        .get(&rr.row)
                        .is_some_and(|old| for_good(old) && !for_good(&rr));
                    if !keep {
                        st.outcomes.insert(rr.row, rr);
                    }
                }
                Record::Note { .. } => {}
            }
        }
        if st.header.is_none() {
            return Err(JournalError::NoHeader {
                path: path.display().to_string(),
            });
        }
        let mut groups: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (row, (count, batch)) in doubt {
            if count > 0 && !st.outcomes.contains_key(&row) {
                groups.entry(batch).or_default().push(row);
            }
        }
        st.in_flight = groups.into_values().collect();
        Ok(st)
    }

    pub fn in_flight_rows(&self) -> BTreeSet<usize> {
        self.in_flight.iter().flatten().copied().collect()
    }
}

/// An outcome that is on the server for good: a case created or updated with its id, a case
/// deleted, a message sent. Replaying a journal never replaces one with a lesser outcome.
pub fn for_good(r: &RowRecord) -> bool {
    match r.outcome {
        Outcome::Created | Outcome::Updated => r.id.is_some(),
        Outcome::Deleted | Outcome::Sent => true,
        _ => false,
    }
}

/// The journal being written. One owner (the run's collector) appends; every append is synced.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    next_batch: u64,
}

impl Journal {
    /// `<results>.journal`, beside the results file.
    pub fn path_for(results: &Path) -> PathBuf {
        let mut s = results.as_os_str().to_owned();
        s.push(".journal");
        PathBuf::from(s)
    }

    /// Start a new journal. Refuses to overwrite one: it may hold the only record of ids.
    pub fn create(path: &Path, header: Header) -> Result<Journal, JournalError> {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(path)
            .map_err(|e| io_err("create", path, e))?;
        let mut j = Journal {
            file,
            path: path.to_path_buf(),
            next_batch: 0,
        };
        j.append(&[Record::Header(header)])?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(j)
    }

    /// Open an existing journal to continue it: read its state and cut off a torn last line so
    /// new records start on a line of their own.
    pub fn resume(path: &Path) -> Result<(Journal, JournalState), JournalError> {
        let f = File::open(path).map_err(|e| io_err("open", path, e))?;
        let st = JournalState::read(path, f)?;
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| io_err("open", path, e))?;
        file.set_len(st.valid_len)
            .map_err(|e| io_err("repair", path, e))?;
        drop(file);
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| io_err("open", path, e))?;
        Ok((
            Journal {
                file,
                path: path.to_path_buf(),
                next_batch: st.next_batch,
            },
            st,
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append records as lines in one write, then fsync: after this returns they survive a crash.
    pub fn append(&mut self, records: &[Record]) -> Result<(), JournalError> {
        let mut buf = Vec::new();
        for r in records {
            serde_json::to_writer(&mut buf, r).map_err(|e| io_err("encode", &self.path, e))?;
            buf.push(b'\n');
        }
        self.file
            .write_all(&buf)
            .map_err(|e| io_err("write", &self.path, e))?;
        self.file
            .sync_data()
            .map_err(|e| io_err("sync", &self.path, e))
    }

    /// Record a request carrying `rows` before it leaves; returns its batch number.
    pub fn sent(&mut self, rows: &[usize]) -> Result<u64, JournalError> {
        let batch = self.next_batch;
        self.next_batch += 1;
        self.append(&[Record::Sent {
            batch,
            rows: rows.to_vec(),
        }])?;
        Ok(batch)
    }

    pub fn note(&mut self, text: impl Into<String>) -> Result<(), JournalError> {
        self.append(&[Record::Note { text: text.into() }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header::new(
            "import",
            Path::new("cases.csv"),
            &Fingerprint {
                sha256: "ab".into(),
                size: 2,
                basis: Basis::Bytes,
            },
        )
    }

    fn row(row: usize, outcome: Outcome, id: Option<u64>) -> Record {
        Record::Row(RowRecord {
            row,
            batch: Some(0),
            outcome,
            id,
            error: None,
            data: None,
        })
    }

    #[test]
    fn rebuilds_outcomes_and_in_flight_groups() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.xlsx.journal");
        let mut j = Journal::create(&p, header()).unwrap();
        assert_eq!(j.sent(&[2, 3]).unwrap(), 0);
        j.append(&[
            row(2, Outcome::Created, Some(7)),
            row(3, Outcome::Created, Some(8)),
        ])
        .unwrap();
        assert_eq!(j.sent(&[4, 5]).unwrap(), 1);
        assert_eq!(j.sent(&[6, 7]).unwrap(), 2);
        assert_eq!(j.sent(&[8]).unwrap(), 3);
        j.append(&[Record::Released {
            batch: 3,
            rows: vec![8],
        }])
        .unwrap();
        drop(j);
        let (j, st) = Journal::resume(&p).unwrap();
        assert_eq!(st.outcomes.len(), 2);
        assert_eq!(st.outcomes[&2].id, Some(7));
        assert_eq!(st.in_flight, vec![vec![4, 5], vec![6, 7]]);
        assert_eq!(j.next_batch, 4);
        assert_eq!(st.header.unwrap().command, "import");
    }

    #[test]
    fn replay_never_downgrades_an_outcome_that_is_on_the_server() {
        // (earlier line, later line, what the replay keeps)
        let table = [
            (
                row(2, Outcome::Created, Some(7)),
                row(2, Outcome::Unknown, None),
                (Outcome::Created, Some(7)),
            ),
            (
                row(2, Outcome::Created, Some(7)),
                row(2, Outcome::Failed, None),
                (Outcome::Created, Some(7)),
            ),
            (
                row(2, Outcome::Updated, Some(7)),
                row(2, Outcome::Created, Some(9)),
                (Outcome::Created, Some(9)),
            ),
            (
                row(2, Outcome::Sent, None),
                row(2, Outcome::Unknown, None),
                (Outcome::Sent, None),
            ),
            (
                row(2, Outcome::Deleted, None),
                row(2, Outcome::NotFound, None),
                (Outcome::Deleted, None),
            ),
            (
                row(2, Outcome::Failed, None),
                row(2, Outcome::Created, Some(3)),
                (Outcome::Created, Some(3)),
            ),
            (
                row(2, Outcome::Unknown, None),
                row(2, Outcome::Failed, None),
                (Outcome::Failed, None),
            ),
            (
                row(2, Outcome::Created, None),
                row(2, Outcome::Unknown, None),
                (Outcome::Unknown, None),
            ),
        ];
        for (first, then, want) in table {
            let text = [Record::Header(header()), first.clone(), then.clone()]
                .iter()
                .map(|r| serde_json::to_string(r).unwrap() + "\n")
                .collect::<String>();
            let st = JournalState::read(Path::new("j"), text.as_bytes()).unwrap();
            let got = &st.outcomes[&2];
            assert_eq!((got.outcome, got.id), want, "{first:?} then {then:?}");
        }
    }

    #[test]
    fn a_torn_last_line_is_cut_off_and_writing_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        let mut j = Journal::create(&p, header()).unwrap();
        j.sent(&[2]).unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"t":"row","row":2,"outc"#).unwrap();
        drop(f);
        let (mut j, st) = Journal::resume(&p).unwrap();
        assert!(st.outcomes.is_empty());
        assert_eq!(st.in_flight, vec![vec![2]]);
        j.append(&[row(2, Outcome::Unknown, None)]).unwrap();
        drop(j);
        let (_, st) = Journal::resume(&p).unwrap();
        assert_eq!(st.outcomes[&2].outcome, Outcome::Unknown);
        assert!(st.in_flight.is_empty());
    }

    #[test]
    fn damage_in_the_middle_is_refused() {
        let p = Path::new("x");
        let text = format!(
            "{}\nnot json\n{}\n",
            serde_json::to_string(&Record::Header(header())).unwrap(),
            serde_json::to_string(&Record::Note { text: "x".into() }).unwrap()
        );
        let e = JournalState::read(p, text.as_bytes()).unwrap_err();
        assert!(matches!(e, JournalError::Damaged { line: 2, .. }), "{e}");
        assert!(matches!(
            JournalState::read(p, &b""[..]).unwrap_err(),
            JournalError::NoHeader { .. }
        ));
    }

    #[test]
    fn create_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        Journal::create(&p, header()).unwrap();
        assert!(Journal::create(&p, header()).is_err());
    }

    #[test]
    fn fingerprint_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.csv");
        std::fs::write(&p, b"abc").unwrap();
        let fp = Fingerprint::of_file(&p).unwrap();
        assert_eq!(fp.size, 3);
        assert_eq!(
            fp.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            Journal::path_for(Path::new("d/cases.results.xlsx")),
            PathBuf::from("d/cases.results.xlsx.journal")
        );
    }

    #[test]
    fn a_header_from_before_basis_reads_as_bytes() {
        let old = r#"{"t":"header","version":1,"command":"import","input":"c.csv","input_sha256":"ab","input_size":2,"options":{},"started":"2025-01-01T00:00:00Z"}"#;
        let Record::Header(h) = serde_json::from_str::<Record>(old).unwrap() else {
            panic!("not a header");
        };
        assert_eq!(h.fingerprint().basis, Basis::Bytes);
        let mut fp = h.fingerprint();
        fp.basis = Basis::Rows;
        assert_ne!(
            fp,
            h.fingerprint(),
            "the same digest over rows is another fingerprint"
        );
    }

    #[test]
    fn holds_the_key_fingerprint_never_the_key() {
        let key = "sk-live-0123456789abcdef";
        let mut h = header();
        h.key_fingerprint = Some(crate::send::key_fingerprint(&crate::send::ApiKey::new(key)));
        let text = serde_json::to_string(&Record::Header(h)).unwrap();
        assert!(!text.contains(key), "{text}");
        assert!(!text.contains("0123456789abcdef"), "{text}");
        let bare = serde_json::to_string(&Record::Header(header())).unwrap();
        assert!(
            !bare.contains("key"),
            "no fingerprint field when none is known: {bare}"
        );
    }
}
