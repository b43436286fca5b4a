//! `kayse-bulk reconcile RESULTS`: turn the `unknown` rows of a results file (creates whose
//! answer was lost) into `created` rows with their ids, from a sheet that has them (`--from`, no
//! request) or by reading the ids the same run's neighbouring requests left free (`--probe`,
//! every guess checked against the row's case number and external pair: never a wrong id). The
//! results file is rewritten atomically; the ledger and the journal learn each id found.

mod file;
mod probe;

use std::path::PathBuf;
use std::time::Instant;

use serde_json::Value;

use crate::cli::Global;
use crate::engine::ledger;
use crate::error::{CmdResult, Fatal};
use crate::outcome::Outcome;
use crate::record::ledger::{Ledger, Source, rule};
use crate::send::{ConnectionArgs, PacingArgs};
use file::{from_sheet, lost, note_in_journal, read_rows, write};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The results file of the run whose unknown rows to settle (rewritten in place).
    pub results: PathBuf,
    /// A sheet with ids and case numbers (e.g. an export from the Kayse web app); no requests.
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

/// A row in doubt: its case number and external pair, to match a found case against.
#[derive(Debug, Clone, PartialEq)]
pub struct Lost {
    pub index: usize,
    pub case_number: String,
    pub external: Option<(String, String)>,
}

impl Lost {
    /// True when `state` (a case as Kayse or a sheet has it) is this row's case: the same case
    /// number, and the same external pair when both have one.
    pub fn is(&self, state: &Value) -> bool {
        let text = |f: &str| state.get(f).and_then(Value::as_str).map(str::trim);
        if text("case_number") != Some(self.case_number.as_str()) {
            return false;
        }
        match (
            &self.external,
            text("external_source"),
            text("external_source_id"),
        ) {
            (Some((s, i)), Some(s2), Some(i2)) => s == s2 && i == i2,
            (Some(_), _, _) => false,
            (None, _, _) => true,
        }
    }
}

/// Record a found id: resolve the ledger's create in doubt with that key, or learn the id.
fn learn(book: &mut Ledger, lost: &Lost, id: u64, seen: &Value, file: &str) -> Result<(), Fatal> {
    let key = rule("cases", "case_number").and_then(|r| r.key(&[&lost.case_number]));
    let doubt = match &key {
        Some(k) => book.find("cases", k).map_err(Fatal::from)?.in_doubt,
        None => Vec::new(),
    };
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
            b.seed("cases", id, seen, source).map_err(Fatal::from)?;
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
    let (headers, mut rows) = read_rows(&args.results)?;
    let lost = lost(&headers, &rows);
    let path = ledger::path(g, &args.conn)?;
    let _lock = ledger::lock(&path, "reconcile", g)?;
    let mut book = ledger::open_at(&path)?;
    let file = args.results.display().to_string();
    let mut found: Vec<(usize, u64)> = Vec::new();
    if let Some(from) = &args.from {
        let sheet = from_sheet(from)?;
        for l in &lost {
            if let Some((id, state)) = sheet.get(&l.case_number)
                && l.is(state)
            {
                learn(&mut book, l, *id, state, &file)?;
                found.push((l.index, *id));
            }
        }
    }
    let mut stats = None;
    if args.probe {
        let left: Vec<Lost> = lost
            .iter()
            .filter(|l| !found.iter().any(|(i, _)| *i == l.index))
            .cloned()
            .collect();
        let probed = probe::probe(&mut book, &left, &args.conn, &args.pacing, g)?;
        for (l, id, seen) in &probed.found {
            learn(&mut book, l, *id, seen, &file)?;
            found.push((l.index, *id));
        }
        for n in &probed.notes {
            if !g.quiet {
                eprintln!("{n}");
            }
        }
        stats = Some(probed.stats);
    }
    for (i, id) in &found {
        rows[*i].outcome = Outcome::Created;
        rows[*i].id = Some(*id);
        rows[*i].errors = String::new();
    }
    note_in_journal(&args.results, &rows, &found);
    write(
        &args,
        &headers,
        rows,
        found.len(),
        lost.len(),
        stats,
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
    fn a_found_case_is_the_row_only_when_every_key_agrees() {
        let with = Lost {
            index: 0,
            case_number: "A-1".into(),
            external: Some(("clio".into(), "7".into())),
        };
        let without = Lost {
            external: None,
            ..with.clone()
        };
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
        ];
        for (i, (l, state, want)) in table.into_iter().enumerate() {
            assert_eq!(l.is(&state), want, "case {i}");
        }
    }
}
