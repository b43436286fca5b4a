//! Where export's ids come from: `--ids` ranges and lists, and the id column of each
//! `--ids-from` spreadsheet (its header found below a title, its hidden rows read or left out and
//! said, a Total row never taken for an id); and the fingerprint the journal keeps of the list.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::cell::Cell;
use crate::engine::input::{SheetFacts, names_matcher, read_failed};
use crate::engine::options::HiddenRows;
use crate::error::Fatal;
use crate::read;
use crate::record::journal::{Basis, Fingerprint, hex};

/// A fingerprint of an id list (export has no single input file).
pub fn fingerprint_ids(ids: &[u64]) -> Fingerprint {
    let text = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    Fingerprint {
        sha256: hex(&Sha256::digest(text.as_bytes())),
        size: ids.len() as u64,
        basis: Basis::Ids,
    }
}

/// Every id the flags name, de-duplicated in first-seen order, plus warnings about cells skipped
/// and what reading each file noticed (hidden rows, a Total row).
pub fn collect_ids(
    specs: &[String],
    files: &[PathBuf],
    id_column: Option<&str>,
    hidden: HiddenRows,
) -> Result<(Vec<u64>, Vec<String>), Fatal> {
    use crate::check::ids;
    let mut all = Vec::new();
    let mut warnings = Vec::new();
    for s in specs {
        all.extend(ids::parse_spec(s).map_err(|e| Fatal::usage(format!("--ids: {e}")))?);
    }
    let opts = read::ReadOptions {
        skip_hidden_rows: hidden.skip,
        header_matcher: Some(match id_column {
            Some(name) => names_matcher(&[name]),
            None => names_matcher(ids::ID_COLUMNS),
        }),
        ..Default::default()
    };
    for f in files {
        let t = read::open(f, &opts).map_err(read_failed)?;
        let col = ids::find_column(&t.headers, id_column).map_err(|e| {
            Fatal::usage(format!(
                "{}: {e} (the header was read from row {})",
                f.display(),
                t.header_row
            ))
        })?;
        let facts = SheetFacts::of(&t, hidden);
        let mut bad = 0usize;
        for raw in t.rows {
            let raw = raw.map_err(read_failed)?;
            match ids::from_cell(raw.cells.get(col).unwrap_or(&Cell::Empty)) {
                Ok(Some(id)) => all.push(id),
                Ok(None) => {}
                Err(e) => {
                    bad += 1;
                    if bad <= 5 {
                        warnings.push(format!(
                            "{} row {}, column {}: {e}; skipped",
                            f.display(),
                            raw.source_row,
                            t.headers[col]
                        ));
                    }
                }
            }
        }
        if bad > 5 {
            warnings.push(format!(
                "{}: {} more cells without a valid id skipped",
                f.display(),
                bad - 5
            ));
        }
        warnings.extend(facts.file_notes(f));
    }
    if specs.is_empty() && files.is_empty() {
        return Err(Fatal::usage(
            "which cases? give --ids 1001-1050,1060, --ids-from FILE and/or --all-known (Kayse cannot list cases)",
        ));
    }
    Ok((ids::dedupe(all), warnings))
}

/// The journal's key for the list of ids, so `--resume` needs no repetition of `--ids`.
pub const RECORDED: &str = "export.ids";

/// An id list as the journal records it: runs of consecutive ids as `a-b`, in the list's order
/// (the order is part of the fingerprint), so 10,000 ids in a range take one short line.
pub fn compact(ids: &[u64]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j].checked_add(1) == Some(ids[j + 1]) {
            j += 1;
        }
        out.push(if j == i {
            ids[i].to_string()
        } else {
            format!("{}-{}", ids[i], ids[j])
        });
        i = j + 1;
    }
    out.join(",")
}

/// The list `compact` wrote. Not `--ids` parsing: a recorded run may exceed the range limit a
/// person's `--ids` has, and the text is the tool's own.
pub fn expand(text: &str) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    for piece in text.split(',').filter(|p| !p.is_empty()) {
        let num = |t: &str| {
            t.parse::<u64>()
                .map_err(|_| format!("'{piece}' is not an id or a range"))
        };
        match piece.split_once('-') {
            Some((a, b)) => {
                let (lo, hi) = (num(a)?, num(b)?);
                if hi < lo {
                    return Err(format!("'{piece}' is a reversed range"));
                }
                out.extend(lo..=hi);
            }
            None => out.push(num(piece)?),
        }
    }
    Ok(out)
}

/// `--resume` without `--ids` or `--ids-from`: the ids the journal beside `--out` recorded.
pub fn recorded_ids(journal: &std::path::Path) -> Result<Vec<u64>, Fatal> {
    if !journal.exists() {
        return Err(Fatal::usage(format!(
            "nothing to resume: no journal at {}",
            journal.display()
        )));
    }
    let recorded = crate::engine::session::recorded_options(journal)?;
    let text = recorded.get(RECORDED).ok_or_else(|| {
        Fatal::usage(format!(
            "the journal {} does not record its ids (an older version wrote it): give the --ids or --ids-from of the first run",
            journal.display()
        ))
    })?;
    expand(text).map_err(|e| {
        Fatal::usage(format!(
            "the journal {} records an unreadable id list: {e}",
            journal.display()
        ))
    })
}

/// The ids this export fetches, and what reading them warned about: `--ids`, `--ids-from` and
/// `--all-known`, or on `--resume` without them the list the journal recorded (`--all-known`'s
/// included, so the ledger's growth since does not change it).
pub fn to_export(
    args: &super::Args,
    journal: &std::path::Path,
    g: &crate::cli::Global,
) -> Result<(Vec<u64>, Vec<String>), Fatal> {
    let hidden = HiddenRows {
        skip: args.skip_hidden_rows,
        skip_by_default: false,
    };
    let no_ids = args.ids.is_empty() && args.ids_from.is_empty();
    let from_journal = args.run.resume && no_ids;
    let (mut ids, warnings) = if from_journal {
        (recorded_ids(journal)?, Vec::new())
    } else if args.all_known && no_ids {
        Default::default()
    } else {
        collect_ids(&args.ids, &args.ids_from, args.id_column.as_deref(), hidden)?
    };
    if args.all_known && !from_journal {
        ids.extend(crate::engine::ledger::known_ids(g, &args.conn, "cases")?);
        ids = crate::check::ids::dedupe(ids);
    }
    if ids.is_empty() {
        return Err(Fatal::usage(
            "no case ids found in --ids / --ids-from / --all-known",
        ));
    }
    Ok((ids, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_are_recorded_compactly_and_read_back_in_order() {
        // (ids, what the journal records)
        let table: &[(&[u64], &str)] = &[
            (&[], ""),
            (&[7], "7"),
            (&[1, 2, 3], "1-3"),
            (&[1, 2, 3, 5], "1-3,5"),
            (&[5, 1, 2, 3], "5,1-3"),
            (&[3, 2, 1], "3,2,1"),
            (&[10, 11, 20, 21, 22, 9], "10-11,20-22,9"),
            (
                &[u64::MAX - 1, u64::MAX, 1],
                "18446744073709551614-18446744073709551615,1",
            ),
        ];
        for (ids, text) in table {
            assert_eq!(compact(ids), *text, "{ids:?}");
            assert_eq!(expand(text).unwrap(), ids.to_vec(), "{text}");
        }
        for bad in ["x", "1-", "5-3", "1,,a"] {
            assert!(expand(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn id_fingerprints_follow_order_and_content() {
        assert_eq!(fingerprint_ids(&[1, 2]), fingerprint_ids(&[1, 2]));
        assert_ne!(fingerprint_ids(&[1, 2]), fingerprint_ids(&[2, 1]));
        assert_eq!(fingerprint_ids(&[1, 2, 3]).size, 3);
        assert_eq!(fingerprint_ids(&[1]).basis, Basis::Ids);
    }
}
