//! What changed since the previous report: new cases, each changed field old → new, and cases
//! gone (a 404: deleted or merged in Kayse). [`diff`] is pure and works on states by id (the JSON
//! form of a record), so the previous state can come from a previous report file today and from
//! the ledger's snapshot later; both give the ledger's own [`Change`] lines, which [`rows`] lays
//! out for the `Changes` sheet or `<out>.changes.csv`. No I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::record::ledger::{Blanks, Change, Id, Status, changes as field_changes};

/// Fields that say where a record came from, not what it is: `update_origin` turns from blank
/// to `public_api` the first time anyone updates a case through the API, which is no news.
pub const NOT_COMPARED: &[&str] = &["origin", "update_origin"];

/// Records' states by id, each the JSON object of its fields (`Record::to_json`).
pub type States = BTreeMap<Id, Value>;

/// The lines of "what changed" between `previous` and this report: a case `read` now and not
/// in `previous` is new; one in both is changed when a field differs (a blank now where a value
/// was counts); one in `previous` that answered 404 now (`gone`) is gone. A previous case this
/// report did not ask for, or could not read for another reason, is not a change. By id.
pub fn diff(previous: &States, read: &States, gone: &BTreeSet<Id>) -> Vec<Change> {
    let mut out = Vec::new();
    for (id, now) in read {
        match previous.get(id) {
            None => out.push(Change::New {
                id: *id,
                state: Some(now.clone()),
            }),
            Some(was) => {
                let fields = field_changes(was, now, NOT_COMPARED, Blanks::Clear);
                if !fields.is_empty() {
                    out.push(Change::Changed { id: *id, fields });
                }
            }
        }
    }
    for id in gone {
        if previous.contains_key(id) && !read.contains_key(id) {
            out.push(Change::Gone {
                id: *id,
                status: Status::Gone,
            });
        }
    }
    out.sort_by_key(id_of);
    out
}

/// A state as a workbook holds it: each text longer than a cell cut as the XLSX export cuts it.
/// Compared with a previous report that is a workbook, a whole long text would otherwise show
/// as changed on every run.
pub fn as_a_workbook_holds(state: &Value) -> Value {
    use crate::report::results::{MAX_CELL_CHARS, clip_for_excel};
    match state {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => Value::String(clip_for_excel(s, MAX_CELL_CHARS).into()),
                        other => other.clone(),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A state as the previous report at `previous` could hold it: cut as a workbook cuts long
/// texts, unless that report is a text file (CSV), which holds them whole. Both the export and
/// the report from the ledger compare through this, so neither shows a long text as changed on
/// every run.
pub fn as_the_report_holds(previous: &Path, state: Value) -> Value {
    let text = previous.extension().is_some_and(|e| {
        ["csv", "txt", "tab", "tsv"]
            .iter()
            .any(|t| e.eq_ignore_ascii_case(t))
    });
    if text {
        state
    } else {
        as_a_workbook_holds(&state)
    }
}

fn id_of(c: &Change) -> Id {
    match c {
        Change::New { id, .. } | Change::Changed { id, .. } | Change::Gone { id, .. } => *id,
    }
}

/// How many cases are new, changed and gone: for the summary and `--json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub new: u64,
    pub changed: u64,
    pub gone: u64,
}

impl Counts {
    pub fn of(changes: &[Change]) -> Counts {
        let mut c = Counts::default();
        for ch in changes {
            match ch {
                Change::New { .. } => c.new += 1,
                Change::Changed { .. } => c.changed += 1,
                Change::Gone { .. } => c.gone += 1,
            }
        }
        c
    }
}

/// The summary's word on the changes: against which report, and how many of each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Since {
    /// The previous report compared with.
    pub since: String,
    #[serde(flatten)]
    pub counts: Counts,
}

impl Since {
    /// "1 new, 2 changed, 0 gone since last.xlsx".
    pub fn line(&self) -> String {
        let c = self.counts;
        format!(
            "{} new, {} changed, {} gone since {}",
            c.new, c.changed, c.gone, self.since
        )
    }
}

/// The header of the Changes table.
pub const COLUMNS: [&str; 6] = ["id", "case_number", "change", "field", "old", "new"];

/// One line of the Changes table, in [`COLUMNS`] order (the id apart, as a number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: Id,
    pub cells: [String; 5],
}

/// The Changes table: new cases first, then changed ones (one line per field), then the gone,
/// each by id. A case is named by its `case_number` now, or as the previous report had it.
pub fn rows(changes: &[Change], previous: &States, read: &States) -> Vec<Row> {
    let name = |id: &Id| {
        read.get(id)
            .or_else(|| previous.get(id))
            .and_then(|s| s.get("case_number"))
            .map(text)
            .unwrap_or_default()
    };
    let mut out: Vec<(u8, Row)> = Vec::new();
    for c in changes {
        match c {
            Change::New { id, .. } => out.push((
                0,
                Row {
                    id: *id,
                    cells: [
                        name(id),
                        "new".into(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ],
                },
            )),
            Change::Changed { id, fields } => {
                for f in fields {
                    out.push((
                        1,
                        Row {
                            id: *id,
                            cells: [
                                name(id),
                                "changed".into(),
                                f.field.clone(),
                                text(&f.old),
                                text(&f.new),
                            ],
                        },
                    ));
                }
            }
            Change::Gone { id, status } => {
                let word = match status {
                    Status::Deleted => "deleted",
                    _ => "gone (404)",
                };
                out.push((
                    2,
                    Row {
                        id: *id,
                        cells: [
                            name(id),
                            word.into(),
                            String::new(),
                            String::new(),
                            String::new(),
                        ],
                    },
                ));
            }
        }
    }
    // Stable: within a group the changes keep their id order, a case's fields theirs.
    out.sort_by_key(|(group, r)| (*group, r.id));
    out.into_iter().map(|(_, r)| r).collect()
}

/// A state's value as a cell shows it, in the export's own forms: blank for null, id lists as
/// `1;2`, objects as JSON text.
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) if a.iter().all(|x| !x.is_array() && !x.is_object()) => {
            a.iter().map(text).collect::<Vec<_>>().join(";")
        }
        other => other.to_string(),
    }
}

/// `<out>.changes.csv`, beside a CSV report.
pub fn csv_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".changes.csv");
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ledger::FieldChange;
    use serde_json::json;

    fn states(v: &[(Id, Value)]) -> States {
        v.iter().cloned().collect()
    }

    #[test]
    fn new_changed_and_gone_cases() {
        let a = json!({"case_number": "A", "status": "active", "client_ids": [1, 2]});
        let a_same = json!({"case_number": "A", "status": "active", "client_ids": [2, 1],
                            "update_origin": "public_api"});
        let a_closed = json!({"case_number": "A", "status": "closed", "client_ids": [1, 2]});
        let a_blanked = json!({"case_number": "A", "client_ids": [1, 2]});
        let b = json!({"case_number": "B", "status": "active"});
        let changed = |id, field: &str, old: Value, new: Value| Change::Changed {
            id,
            fields: vec![FieldChange {
                field: field.into(),
                old,
                new,
            }],
        };
        let gone = |id| Change::Gone {
            id,
            status: Status::Gone,
        };
        // (previous, read now, 404 now, want)
        let table: Vec<(States, States, Vec<Id>, Vec<Change>)> = vec![
            // The first report has nothing to compare with: every case is new.
            (
                states(&[]),
                states(&[(1, a.clone())]),
                vec![],
                vec![Change::New {
                    id: 1,
                    state: Some(a.clone()),
                }],
            ),
            // The same case, its id list reordered and its update_origin set: no change.
            (
                states(&[(1, a.clone())]),
                states(&[(1, a_same)]),
                vec![],
                vec![],
            ),
            (
                states(&[(1, a.clone())]),
                states(&[(1, a_closed)]),
                vec![],
                vec![changed(1, "status", json!("active"), json!("closed"))],
            ),
            // A value blanked on the server is a change to blank.
            (
                states(&[(1, a.clone())]),
                states(&[(1, a_blanked)]),
                vec![],
                vec![changed(1, "status", json!("active"), Value::Null)],
            ),
            // Gone only when the previous report had it; a case not asked for is no change.
            (
                states(&[(1, a.clone()), (2, b.clone()), (3, b.clone())]),
                states(&[(1, a.clone())]),
                vec![2, 9],
                vec![gone(2)],
            ),
            // Mixed, in id order.
            (
                states(&[(2, b.clone()), (5, a.clone())]),
                states(&[(1, b.clone()), (5, a.clone())]),
                vec![2],
                vec![
                    Change::New {
                        id: 1,
                        state: Some(b.clone()),
                    },
                    gone(2),
                ],
            ),
        ];
        for (i, (previous, read, gone_ids, want)) in table.into_iter().enumerate() {
            let got = diff(&previous, &read, &gone_ids.into_iter().collect());
            assert_eq!(got, want, "case {i}");
        }
    }

    #[test]
    fn the_table_groups_new_changed_gone_and_names_each_case() {
        let previous = states(&[
            (
                3,
                json!({"case_number": "C-3", "status": "active", "name": "x"}),
            ),
            (4, json!({"case_number": "C-4"})),
        ]);
        let read = states(&[
            (
                3,
                json!({"case_number": "C-3", "status": "closed", "client_ids": [7, 8]}),
            ),
            (9, json!({"case_number": "C-9"})),
        ]);
        let changes = diff(&previous, &read, &[4].into_iter().collect());
        assert_eq!(
            Counts::of(&changes),
            Counts {
                new: 1,
                changed: 1,
                gone: 1
            }
        );
        let table = rows(&changes, &previous, &read);
        let got: Vec<(Id, Vec<&str>)> = table
            .iter()
            .map(|r| (r.id, r.cells.iter().map(String::as_str).collect()))
            .collect();
        let want: Vec<(Id, Vec<&str>)> = vec![
            (9, vec!["C-9", "new", "", "", ""]),
            (3, vec!["C-3", "changed", "client_ids", "", "7;8"]),
            (3, vec!["C-3", "changed", "name", "x", ""]),
            (3, vec!["C-3", "changed", "status", "active", "closed"]),
            (4, vec!["C-4", "gone (404)", "", "", ""]),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn a_long_text_cut_in_the_previous_workbook_is_no_change() {
        use crate::report::results::MAX_CELL_CHARS;
        let long = "x".repeat(MAX_CELL_CHARS + 10);
        let now = json!({"description": long, "status": "active", "client_ids": [1]});
        let held = as_a_workbook_holds(&now);
        assert_ne!(held["description"], now["description"]);
        assert!(
            held["description"]
                .as_str()
                .unwrap()
                .ends_with(&format!("[cut: {} characters]", MAX_CELL_CHARS + 10))
        );
        assert_eq!(held["status"], "active");
        assert_eq!(held["client_ids"], json!([1]));
        let previous = states(&[(1, held.clone())]);
        let read = states(&[(1, held)]);
        assert!(diff(&previous, &read, &BTreeSet::new()).is_empty());
        let short = json!({"description": "a"});
        assert_eq!(as_a_workbook_holds(&short), short);
    }

    #[test]
    fn values_read_as_the_export_writes_them() {
        let table = [
            (Value::Null, ""),
            (json!("a b"), "a b"),
            (json!(true), "true"),
            (json!(12), "12"),
            (json!([3, 1]), "3;1"),
            (json!({"k": 1}), r#"{"k":1}"#),
        ];
        for (v, want) in table {
            assert_eq!(text(&v), want, "{v}");
        }
        assert_eq!(
            csv_path(Path::new("r/cases.csv")),
            PathBuf::from("r/cases.csv.changes.csv")
        );
    }

    /// Compared as the previous report holds a long text: cut for a workbook, whole for a text
    /// file, whichever path (export or the report from the ledger) asks.
    #[test]
    fn a_state_is_compared_as_the_previous_report_holds_it() {
        let long = "x".repeat(40_000);
        let state = json!({"description": long});
        let table: &[(&str, bool)] = &[
            ("last.xlsx", true),
            ("last.XLSX", true),
            ("last.csv", false),
            ("last.CSV", false),
            ("last.txt", false),
            ("last.tsv", false),
        ];
        for (path, cut) in table {
            let held = as_the_report_holds(Path::new(path), state.clone());
            let text = held["description"].as_str().unwrap();
            assert_eq!(text.len() < long.len(), *cut, "{path}");
        }
    }
}
