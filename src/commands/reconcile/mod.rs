//! `kayse-bulk reconcile RESULTS`: turn the `unknown` rows of a results file (creates whose
//! answer was lost) into `created` rows with their ids, from a sheet that has them (`--from`, no
//! request) or by reading the ids the same run's neighbouring requests left free (`--probe`,
//! every guess checked against the row's case number and external pair: never a wrong id). The
//! same for the `unknown` clients of a linked import (its clients table: the `Clients` sheet, or
//! `<results>.clients.csv`), matched by their external pair alone. The results file (and its
//! clients table) is rewritten atomically; the ledger and the journal learn each id found. The
//! cases that failed for want of a client stay `failed` (they were not sent): the next import
//! sends them, linked to the client the ledger now knows.

mod clients;
mod file;
mod probe;

use std::path::PathBuf;
use std::time::Instant;

use serde_json::Value;

use crate::cli::Global;
use crate::engine::ledger;
use crate::entity::{CASES, CLIENTS, Entity};
use crate::error::{CmdResult, Fatal};
use crate::outcome::Outcome;
use crate::record::ledger::{Key, Ledger, Source, rule};
use crate::send::{ConnectionArgs, PacingArgs};
use clients::{lost_clients, read_clients, settle_clients};
use file::{ClientsDone, from_sheet, lost, note_in_journal, read_rows, write};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The results file of the run whose unknown rows and clients to settle (rewritten in place).
    pub results: PathBuf,
    /// A sheet with ids and case numbers (e.g. an export from the Kayse web app), or a clients
    /// sheet with ids and external pairs (as export --with-clients writes); no requests.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Read the ids next to the lost requests and keep those whose keys match.
    #[arg(long)]
    pub probe: bool,
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub pacing: PacingArgs,
}

/// The kind of record a row in doubt stands for: a row of the results (a case), or a row of its
/// clients table (a client of a linked import).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Of {
    Cases,
    Clients,
}

impl Of {
    pub fn table(self) -> &'static Entity {
        match self {
            Of::Cases => &CASES,
            Of::Clients => &CLIENTS,
        }
    }

    /// The entity's name, as the ledger and the API call it.
    pub fn name(self) -> &'static str {
        self.table().name
    }
}

/// A row in doubt: the key the ledger holds its create in doubt by, and the fields a found
/// record must hold with the row's values. A case: its case number, and its external pair when
/// it has one. A client: its external pair, never a name or an email alone (two people may
/// share those).
#[derive(Debug, Clone, PartialEq)]
pub struct Lost {
    /// The row's place in its table (the results rows, or the clients table).
    pub index: usize,
    pub of: Of,
    pub key: Key,
    pub wants: Vec<(&'static str, String)>,
}

impl Lost {
    /// A case in doubt, matched by its case number and its external pair when it has one.
    pub fn case(index: usize, case_number: &str, external: Option<(&str, &str)>) -> Option<Lost> {
        let key = rule("cases", "case_number")?.key(&[case_number.trim()])?;
        let mut wants = vec![("case_number", case_number.trim().to_string())];
        if let Some((s, i)) = external {
            wants.push(("external_source", s.trim().to_string()));
            wants.push(("external_source_id", i.trim().to_string()));
        }
        Some(Lost {
            index,
            of: Of::Cases,
            key,
            wants,
        })
    }

    /// A client in doubt, matched by its external pair alone: none, no match.
    pub fn client(index: usize, source: &str, source_id: &str) -> Option<Lost> {
        let (s, i) = (source.trim(), source_id.trim());
        let key = rule("clients", "external")?.key(&[s, i])?;
        Some(Lost {
            index,
            of: Of::Clients,
            key,
            wants: vec![
                ("external_source", s.to_string()),
                ("external_source_id", i.to_string()),
            ],
        })
    }

    /// True when `state` (a record as Kayse or a sheet has it) is this row's: every wanted
    /// field holds the row's value.
    pub fn is(&self, state: &Value) -> bool {
        self.wants.iter().all(|(f, want)| {
            state.get(*f).and_then(Value::as_str).map(str::trim) == Some(want.as_str())
        })
    }
}

/// Record a found id: resolve the ledger's create in doubt with that key, or learn the id.
fn learn(book: &mut Ledger, lost: &Lost, id: u64, seen: &Value, file: &str) -> Result<(), Fatal> {
    let entity = lost.of.name();
    let doubt = book.find(entity, &lost.key).map_err(Fatal::from)?.in_doubt;
    let mut b = book.batch(None).map_err(Fatal::from)?;
    match doubt.first() {
        Some(u) => {
            b.resolve(u.unknown_id, id, Some(seen))
                .map_err(Fatal::from)?;
        }
        None => {
            let source = Source {
                file: Some(file),
                row: None,
            };
            b.seed(entity, id, seen, source).map_err(Fatal::from)?;
        }
    }
    b.commit().map_err(Fatal::from)
}

pub fn run(args: Args, g: &Global) -> CmdResult {
    let started = Instant::now();
    if args.from.is_none() && !args.probe {
        return Err(Fatal::usage(
            "say how to find the ids: --from FILE (no requests) or --probe",
        ));
    }
    let (headers, mut rows, clients_sheet) = read_rows(&args.results)?;
    let mut clients = read_clients(&args.results, clients_sheet)?;
    let mut lost = lost(&headers, &rows);
    let lost_rows = lost.len();
    let lost_clients = clients.as_ref().map(lost_clients).unwrap_or_default();
    let client_count = lost_clients.len();
    lost.extend(lost_clients);
    let path = ledger::path(g, &args.conn)?;
    let _lock = ledger::lock(&path, "reconcile", g)?;
    let mut book = ledger::open_at(&path)?;
    let file = args.results.display().to_string();
    let mut found: Vec<(Of, usize, u64)> = Vec::new();
    if let Some(from) = &args.from {
        let sheet = from_sheet(from)?;
        for l in &lost {
            if let Some((id, state)) = sheet.find(l) {
                learn(&mut book, l, id, state, &file)?;
                found.push((l.of, l.index, id));
            }
        }
    }
    let mut stats = None;
    if args.probe {
        let left: Vec<Lost> = lost
            .iter()
            .filter(|l| !found.iter().any(|(of, i, _)| *of == l.of && *i == l.index))
            .cloned()
            .collect();
        let probed = probe::probe(&mut book, &left, &args.conn, &args.pacing, g)?;
        for (l, id, seen) in &probed.found {
            learn(&mut book, l, *id, seen, &file)?;
            found.push((l.of, l.index, *id));
        }
        for n in &probed.notes {
            if !g.quiet {
                eprintln!("{n}");
            }
        }
        stats = Some(probed.stats);
    }
    let mut of_clients = Vec::new();
    for &(of, i, id) in &found {
        match of {
            Of::Cases => {
                rows[i].outcome = Outcome::Created;
                rows[i].id = Some(id);
                rows[i].errors = String::new();
            }
            Of::Clients => of_clients.push((i, id)),
        }
    }
    if let Some(t) = clients.as_mut() {
        settle_clients(t, &of_clients);
    }
    note_in_journal(&args.results, &rows, &found);
    let clients = clients.map(|table| ClientsDone {
        table,
        recovered: of_clients.len(),
        lost: client_count,
    });
    write(
        &args,
        &headers,
        rows,
        found.len() - of_clients.len(),
        lost_rows,
        stats,
        clients,
        &path,
        g,
        started,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_found_record_is_the_row_only_when_every_key_agrees() {
        let with = Lost::case(0, " A-1 ", Some(("clio", "7"))).unwrap();
        let without = Lost::case(0, "A-1", None).unwrap();
        let client = Lost::client(3, "firm", " C7 ").unwrap();
        let table = [
            (
                &with,
                json!({"case_number": "A-1", "external_source": "clio", "external_source_id": "7"}),
                true,
            ),
            (
                &with,
                json!({"case_number": "A-1", "external_source": "clio", "external_source_id": "8"}),
                false,
            ),
            (&with, json!({"case_number": "A-1"}), false),
            (
                &with,
                json!({"case_number": "A-2", "external_source": "clio", "external_source_id": "7"}),
                false,
            ),
            (
                &without,
                json!({"case_number": "A-1", "external_source": "x", "external_source_id": "1"}),
                true,
            ),
            (&without, json!({"case_number": " A-1 "}), true),
            (&without, json!({}), false),
            // A client: its external pair, whatever its name or email.
            (
                &client,
                json!({"first_name": "Ann", "external_source": "firm", "external_source_id": "C7"}),
                true,
            ),
            (
                &client,
                json!({"external_source": " firm ", "external_source_id": "C7", "email": "x@y.z"}),
                true,
            ),
            (
                &client,
                json!({"external_source": "firm", "external_source_id": "C8"}),
                false,
            ),
            (
                &client,
                json!({"external_source": "clio", "external_source_id": "C7"}),
                false,
            ),
            // Never by a name or an email alone.
            (
                &client,
                json!({"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}),
                false,
            ),
            (&client, json!({"external_source_id": "C7"}), false),
        ];
        for (i, (l, state, want)) in table.into_iter().enumerate() {
            assert_eq!(l.is(&state), want, "case {i}");
        }
    }

    #[test]
    fn a_row_in_doubt_needs_its_ledger_key() {
        // (case number, external pair) → its key, or none
        type Case<'a> = (
            &'a str,
            Option<(&'a str, &'a str)>,
            Option<(&'a str, &'a str)>,
        );
        let cases: [Case; 4] = [
            ("A-1", None, Some(("case_number", "A-1"))),
            (" A-1 ", Some(("clio", "7")), Some(("case_number", "A-1"))),
            ("", None, None),
            ("  ", Some(("clio", "7")), None),
        ];
        for (n, ext, want) in cases {
            let got = Lost::case(0, n, ext).map(|l| (l.key.rule, l.key.value));
            let want = want.map(|(r, v)| (r.to_string(), v.to_string()));
            assert_eq!(got, want, "{n:?} {ext:?}");
        }
        let clients: [(&str, &str, Option<&str>); 4] = [
            ("firm", "C7", Some(r#"["firm","C7"]"#)),
            (" firm ", " kb-0a ", Some(r#"["firm","kb-0a"]"#)),
            ("", "C7", None),
            ("firm", "", None),
        ];
        for (s, i, want) in clients {
            let got = Lost::client(0, s, i).map(|l| (l.of, l.key.rule, l.key.value));
            let want = want.map(|v| (Of::Clients, "external".to_string(), v.to_string()));
            assert_eq!(got, want, "{s:?} {i:?}");
        }
    }
}
