//! Every field of every entity survives the whole trip: a sheet row holding a value for that field
//! → `import` into the sandbox → `export` (XLSX and CSV) → the export read back as an input →
//! mapped and checked, the record equals the one the original row made. A field the table has but
//! some stage drops, renames or reshapes fails here, by name.

use std::collections::BTreeMap;
use std::path::Path;

use kayse_bulk::check::rules::DateOrder;
use kayse_bulk::check::{Checker, Rules};
use kayse_bulk::entity::{self, Entity, Field, Record};
use kayse_bulk::map::{MapOptions, Mapping};
use kayse_bulk::read::{self, ReadOptions};

use crate::support::*;

/// The value a row gives `f`: the table's example, else a valid sample of its kind.
fn value_of(f: &Field) -> &'static str {
    if f.example.is_empty() {
        f.kind.sample()
    } else {
        f.example
    }
}

/// One row per create field: the required fields (unique keys per row) plus the field under test.
fn input_rows(e: &Entity) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header: Vec<&'static str> = e.fields.iter().map(|f| f.name).collect();
    let rows = e
        .fields
        .iter()
        .enumerate()
        .map(|(n, under_test)| {
            e.fields
                .iter()
                .map(|f| {
                    if f.name == under_test.name {
                        value_of(f).to_string()
                    } else if !f.required {
                        String::new()
                    } else if e.keys.iter().any(|k| k.contains(&f.name)) {
                        // Distinct in every row, and never a table example (the row under test
                        // for this field uses that).
                        format!("rt-{}-{n}", f.name)
                    } else {
                        value_of(f).to_string()
                    }
                })
                .collect()
        })
        .collect();
    (header, rows)
}

fn write_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

/// A sheet read, mapped and checked as `validate` does: each row's record, in file order.
fn records(e: &'static Entity, path: &Path) -> Vec<Record> {
    let table = read::open(path, &ReadOptions::default())
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let mapping = Mapping::build(e, &table.headers, &MapOptions::default())
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let mut checker = Checker::new(Rules::new(e, DateOrder::Mdy));
    table
        .rows
        .map(|raw| {
            let raw = raw.unwrap();
            checker.check(&mapping.apply(&raw)).unwrap_or_else(|errs| {
                let errs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
                panic!("{} row {}: {errs:?}", path.display(), raw.source_row)
            })
        })
        .collect()
}

/// The command line names the entity once there is more than one; cases are the default.
fn entity_args(e: &Entity) -> Vec<String> {
    if e.name == "cases" {
        Vec::new()
    } else {
        vec!["--entity".into(), e.name.into()]
    }
}

/// The records a link field's sample names, so the sandbox (which refuses links to records that
/// do not exist, as Kayse does) accepts the row.
fn seed_linked(sb: &Sandbox, e: &Entity) {
    for f in e.fields {
        let Some(other) = f.links else { continue };
        let other = entity::by_name(other).expect("a link names an entity");
        let records: Vec<serde_json::Value> = value_of(f)
            .split(';')
            .map(|id| {
                let mut r = serde_json::Map::new();
                r.insert("id".into(), id.parse::<u64>().unwrap().into());
                for g in other.required() {
                    r.insert(g.name.into(), format!("seed-{id}").into());
                }
                serde_json::Value::Object(r)
            })
            .collect();
        let mut body = serde_json::Map::new();
        body.insert(other.name.into(), records.into());
        sb.http(
            "POST",
            "/sandbox/seed",
            Some(serde_json::Value::Object(body)),
        );
    }
}

fn round_trip(e: &'static Entity) {
    let sb = Sandbox::start(&[]);
    seed_linked(&sb, e);
    let dir = tempfile::tempdir().unwrap();
    let (header, rows) = input_rows(e);
    write_csv(&dir.path().join("in.csv"), &header, &rows);
    let originals = records(e, &dir.path().join("in.csv"));
    for (f, r) in e.fields.iter().zip(&originals) {
        let i = e.field_index(f.name).unwrap();
        assert!(
            r.get(i).is_some(),
            "{}: the row for {} holds no value",
            e.name,
            f.name
        );
    }

    let extra = entity_args(e);
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let mut import = vec!["import", "in.csv", "--results", "results.csv"];
    import.extend(&extra);
    let o = sb.run(dir.path(), &import);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let results = csv_rows(&dir.path().join("results.csv"));
    let id_col = col(&results, "kayse_id");
    let ids: Vec<u64> = results[1..]
        .iter()
        .map(|r| r[id_col].parse().unwrap())
        .collect();
    assert_eq!(ids.len(), e.fields.len());

    for out in ["out.xlsx", "out.csv"] {
        let mut export = vec!["export", "--ids-from", "results.csv", "--out", out];
        export.extend(&extra);
        let o = sb.run(dir.path(), &export);
        assert_eq!(code(&o), 0, "{}", show(&o));
        let back: BTreeMap<u64, Record> = records(e, &dir.path().join(out))
            .into_iter()
            .map(|r| (r.id.expect("an exported row has its id"), r))
            .collect();
        for ((f, original), id) in e.fields.iter().zip(&originals).zip(&ids) {
            let got = back
                .get(id)
                .unwrap_or_else(|| panic!("{out}: {} {id} (row for {}) is missing", e.one, f.name));
            for (j, g) in e.fields.iter().enumerate() {
                assert_eq!(
                    got.get(j),
                    original.get(j),
                    "{out}: field {} of the row for {} did not survive import and export",
                    g.name,
                    f.name
                );
            }
        }
    }
}

#[test]
fn every_field_of_every_entity_survives_import_and_export() {
    // Clients join once `import --entity clients` exists (issue 12 item 3): then this walks
    // every entity the commands take.
    round_trip(&entity::CASES);
}
