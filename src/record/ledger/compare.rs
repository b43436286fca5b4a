//! Does a row say anything new compared with what the ledger last knew, and which fields
//! changed between two states of a record (the report's "what changed"). Pure comparison of
//! two JSON objects of fields; no SQL, no I/O.
//!
//! Equality is what the spreadsheet and the API can tell apart, nothing finer:
//! - blank is blank: a missing field, `null`, `""`, `[]` and an object of blanks (`{}`) are all
//!   the same (a cell cannot hold the difference, and PUT turns an omitted field into null);
//! - numbers compare by value (`5` and `5.0`);
//! - arrays of plain values compare as sets: the API's arrays are id lists (`client_ids`)
//!   whose order means nothing;
//! - objects (`external_source_data`) compare key by key under the same rules;
//! - `id` is never a field, and the caller names the answer-only fields to ignore (`origin`,
//!   `update_origin`, the opt-out flags), which the sheet never sends.

use serde_json::{Map, Value};

/// What an empty cell in the row means, as `--update-blanks` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blanks {
    /// A blank keeps the known value: blanks are never changes.
    Keep,
    /// A blank clears the field: a blank where a value was known is a change.
    Clear,
}

/// One field whose value differs.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: String,
    /// `Value::Null` when the field was blank.
    pub old: Value,
    pub new: Value,
}

/// The fields `new` changes in `old`, in field-name order. `ignore` lists fields never compared.
pub fn changes(old: &Value, new: &Value, ignore: &[&str], blanks: Blanks) -> Vec<FieldChange> {
    let empty = Map::new();
    let old = old.as_object().unwrap_or(&empty);
    let new = new.as_object().unwrap_or(&empty);
    let mut fields: Vec<&String> = new.keys().collect();
    if blanks == Blanks::Clear {
        fields.extend(old.keys().filter(|k| !new.contains_key(*k)));
    }
    fields.sort();
    let mut out = Vec::new();
    for field in fields {
        if field == "id" || ignore.contains(&field.as_str()) {
            continue;
        }
        let n = new.get(field).unwrap_or(&Value::Null);
        if blanks == Blanks::Keep && is_blank(n) {
            continue;
        }
        let o = old.get(field).unwrap_or(&Value::Null);
        if !same(o, n) {
            out.push(FieldChange {
                field: field.clone(),
                old: if is_blank(o) { Value::Null } else { o.clone() },
                new: if is_blank(n) { Value::Null } else { n.clone() },
            });
        }
    }
    out
}

/// True when sending `row` would change nothing the ledger knows (`known`): the row is
/// `unchanged` and costs no request.
pub fn nothing_new(known: &Value, row: &Value, ignore: &[&str], blanks: Blanks) -> bool {
    changes(known, row, ignore, blanks).is_empty()
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_blank),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Equality under the rules at the top of this file.
pub fn same(a: &Value, b: &Value) -> bool {
    if is_blank(a) || is_blank(b) {
        return is_blank(a) && is_blank(b);
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            let plain = |a: &Vec<Value>| a.iter().all(|v| !v.is_array() && !v.is_object());
            if plain(x) && plain(y) {
                as_set(x) == as_set(y)
            } else {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
            }
        }
        (Value::Object(x), Value::Object(y)) => x.keys().chain(y.keys()).all(|k| {
            same(
                x.get(k).unwrap_or(&Value::Null),
                y.get(k).unwrap_or(&Value::Null),
            )
        }),
        _ => a == b,
    }
}

/// Plain values as sorted, deduplicated texts (numbers by value, so `5` and `5.0` meet).
fn as_set(a: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = a
        .iter()
        .map(|x| match x {
            Value::Number(n) => match n.as_i64() {
                Some(i) => i.to_string(),
                None => n.as_f64().map(|f| f.to_string()).unwrap_or_default(),
            },
            other => other.to_string(),
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ANSWER_ONLY: &[&str] = &["origin", "update_origin", "sms_opted_out"];

    #[test]
    fn values_compare_as_the_sheet_and_the_api_can_tell_them_apart() {
        let table: Vec<(Value, Value, bool)> = vec![
            (json!(null), json!(""), true),
            (json!(null), json!([]), true),
            (json!({}), json!(null), true),
            (json!("a"), json!(""), false),
            (json!("a"), json!("a "), false),
            (json!("A"), json!("a"), false),
            (json!(5), json!(5.0), true),
            (json!(5), json!(6), false),
            (json!(5), json!("5"), false),
            (json!(true), json!(true), true),
            (json!(true), json!(false), false),
            (json!(false), json!(null), false),
            (json!([1, 2, 3]), json!([3, 1, 2]), true),
            (json!([1, 2]), json!([1, 2, 3]), false),
            (json!([1, 2, 2]), json!([2, 1]), true),
            (json!({"a": 1, "b": null}), json!({"a": 1}), true),
            (json!({"a": 1}), json!({"a": 2}), false),
            (json!({"a": {"x": ""}}), json!({"a": {}}), true),
            (
                json!([{"a": 1}, {"b": 2}]),
                json!([{"a": 1}, {"b": 2}]),
                true,
            ),
            (
                json!([{"a": 1}, {"b": 2}]),
                json!([{"b": 2}, {"a": 1}]),
                false,
            ),
        ];
        for (a, b, want) in table {
            assert_eq!(same(&a, &b), want, "{a} vs {b}");
            assert_eq!(same(&b, &a), want, "{b} vs {a} (symmetry)");
        }
    }

    #[test]
    fn a_row_says_nothing_new_unless_a_field_it_sends_differs() {
        let known = json!({
            "id": 17, "case_number": "2024-1", "status": "active", "description": "slip",
            "client_ids": [4, 3], "origin": "public_api", "sms_opted_out": false
        });
        let table: Vec<(Value, Blanks, Vec<&str>)> = vec![
            // the same row, as the sheet holds it: no id, no answer-only fields
            (
                json!({"case_number": "2024-1", "status": "active", "description": "slip", "client_ids": [3, 4]}),
                Blanks::Keep,
                vec![],
            ),
            // a blank keeps under Keep and clears under Clear
            (
                json!({"case_number": "2024-1", "status": "active", "description": "", "client_ids": [3, 4]}),
                Blanks::Keep,
                vec![],
            ),
            (
                json!({"case_number": "2024-1", "status": "active", "description": "", "client_ids": [3, 4]}),
                Blanks::Clear,
                vec!["description"],
            ),
            // a field the row leaves out altogether counts as blank too
            (
                json!({"case_number": "2024-1", "status": "active", "client_ids": [3, 4]}),
                Blanks::Clear,
                vec!["description"],
            ),
            (
                json!({"case_number": "2024-1", "status": "closed"}),
                Blanks::Keep,
                vec!["status"],
            ),
            // a new field the ledger never saw
            (
                json!({"case_number": "2024-1", "court_name": "Cook County"}),
                Blanks::Keep,
                vec!["court_name"],
            ),
            // answer-only fields and the id are never compared
            (
                json!({"id": 99, "case_number": "2024-1", "status": "active", "description": "slip",
                       "client_ids": [3, 4], "origin": "csv", "sms_opted_out": true}),
                Blanks::Clear,
                vec![],
            ),
        ];
        for (row, blanks, want) in table {
            let got: Vec<String> = changes(&known, &row, ANSWER_ONLY, blanks)
                .into_iter()
                .map(|c| c.field)
                .collect();
            assert_eq!(got, want, "{row} under {blanks:?}");
            assert_eq!(
                nothing_new(&known, &row, ANSWER_ONLY, blanks),
                want.is_empty()
            );
        }
    }

    #[test]
    fn changes_carry_old_and_new_values_with_blanks_as_null() {
        let old = json!({"status": "active", "court_date": "2024-03-05", "name": ""});
        let new = json!({"status": "closed", "name": "Lee v. Park"});
        let got = changes(&old, &new, &[], Blanks::Clear);
        assert_eq!(
            got,
            vec![
                FieldChange {
                    field: "court_date".into(),
                    old: json!("2024-03-05"),
                    new: Value::Null
                },
                FieldChange {
                    field: "name".into(),
                    old: Value::Null,
                    new: json!("Lee v. Park")
                },
                FieldChange {
                    field: "status".into(),
                    old: json!("active"),
                    new: json!("closed")
                },
            ]
        );
    }

    #[test]
    fn a_state_that_is_not_an_object_counts_as_empty() {
        let got = changes(
            &json!("junk"),
            &json!({"status": "active"}),
            &[],
            Blanks::Clear,
        );
        assert_eq!(got.len(), 1);
        assert!(changes(&json!({"a": null}), &json!(42), &[], Blanks::Clear).is_empty());
    }
}
