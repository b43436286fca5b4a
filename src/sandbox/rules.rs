//! Kayse's request rules as the sandbox enforces them: strict JSON types read from an entity's
//! table, unknown fields (answer-only ones included) rejected. Pure functions over `serde_json`
//! values; no state (uniqueness and existence are checked by the store).

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::entity::{Entity, Kind};

/// A request body that passed every type rule: all create fields present (null where the
/// request left an optional field out), plus the `id` a bulk entry may carry.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRecord {
    pub id: Option<u64>,
    pub fields: Map<String, Value>,
}

impl CheckedRecord {
    /// A text field's value (a required one is always a non-empty string once checked).
    pub fn text(&self, name: &str) -> &str {
        self.fields.get(name).and_then(Value::as_str).unwrap_or("")
    }
}

/// Check one request body for `entity`. `allow_id` is true for bulk entries only. The message
/// names the field and the value, never the entry's position (Kayse's bulk errors do not say
/// which entry failed).
pub fn check_record(
    entity: &Entity,
    body: &Value,
    allow_id: bool,
) -> Result<CheckedRecord, String> {
    let Some(obj) = body.as_object() else {
        return Err(format!(
            "a {} must be a JSON object, got {}",
            entity.one,
            brief(body)
        ));
    };
    let id_name = entity.id.name;
    for key in obj.keys() {
        let known = entity.field_index(key).is_some() || (allow_id && key == id_name);
        if !known {
            return Err(format!("unknown field '{key}'"));
        }
    }
    let id =
        match obj.get(id_name) {
            None | Some(Value::Null) => None,
            Some(v) => Some(positive_int(v).ok_or_else(|| {
                format!("{id_name}: must be a positive integer, got {}", brief(v))
            })?),
        };
    let mut fields = Map::new();
    for f in entity.fields {
        let value = obj.get(f.name).unwrap_or(&Value::Null);
        if value.is_null() {
            if f.required {
                return Err(format!("{}: required field is missing", f.name));
            }
            fields.insert(f.name.to_string(), Value::Null);
            continue;
        }
        check_value(f.name, f.kind, f.required, value)?;
        fields.insert(f.name.to_string(), value.clone());
    }
    Ok(CheckedRecord { id, fields })
}

fn check_value(name: &str, kind: Kind, required: bool, v: &Value) -> Result<(), String> {
    match kind {
        Kind::Text => match v.as_str() {
            Some(s) if required && s.trim().is_empty() => Err(format!("{name}: must not be empty")),
            Some(_) => Ok(()),
            None => Err(format!("{name}: must be a string, got {}", brief(v))),
        },
        Kind::Bool => match v {
            Value::Bool(_) => Ok(()),
            _ => Err(format!(
                "{name}: must be a boolean (true or false), got {}",
                brief(v)
            )),
        },
        Kind::Date => match v.as_str() {
            Some(s) if is_date(s) => Ok(()),
            Some(s) => Err(format!("{name}: '{s}' is not a valid date (YYYY-MM-DD)")),
            None => Err(format!(
                "{name}: must be a date string (YYYY-MM-DD), got {}",
                brief(v)
            )),
        },
        Kind::IdList => match v.as_array() {
            Some(items) => match items.iter().find(|i| positive_int(i).is_none()) {
                Some(bad) => Err(format!("{name}: {} is not a positive integer", brief(bad))),
                None => Ok(()),
            },
            None => Err(format!(
                "{name}: must be an array of positive integers, got {}",
                brief(v)
            )),
        },
        Kind::Object => match v {
            Value::Object(_) => Ok(()),
            _ => Err(format!("{name}: must be a JSON object, got {}", brief(v))),
        },
        Kind::Email => match v.as_str() {
            Some("") if !required => Ok(()),
            Some(s) if is_email(s) => Ok(()),
            Some(_) => Err(format!("{name}: {} is not an email address", brief(v))),
            None => Err(format!("{name}: must be a string, got {}", brief(v))),
        },
        Kind::Mobile => match v.as_str() {
            Some("") if !required => Ok(()),
            Some(s) if is_e164(s) => Ok(()),
            Some(_) => Err(format!(
                "{name}: {} is not a phone number in E.164 form (+ and 7 to 15 digits, e.g. +14045550123)",
                brief(v)
            )),
            None => Err(format!("{name}: must be a string, got {}", brief(v))),
        },
    }
}

/// What the sandbox takes as an email address: one `@` with something on both sides, a dot in
/// the domain, no spaces. Kayse documents no rule; this is looser than the tool's own check
/// (`check::email`), so the sandbox never refuses what the tool sends, only what it forgot to
/// check.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

/// E.164: `+`, then 7 to 15 digits, the first not 0. Kayse's examples write mobiles this way and
/// document no other form, so the sandbox refuses any other: a tool that sends `(404) 555-0123`
/// has not normalised it.
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// A real calendar date written exactly `YYYY-MM-DD`.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    shape && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// A JSON integer greater than zero (`12`, not `"12"` or `12.0`).
pub fn positive_int(v: &Value) -> Option<u64> {
    v.as_u64().filter(|n| *n > 0)
}

/// A short rendering of a value for a message: strings quoted, long values cut.
pub fn brief(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        let cut: String = s.chars().take(37).collect();
        format!("{cut}...")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::CASES;
    use crate::entity::tests::PEOPLE;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "case_number": "C-1",
            "external_source": "other",
            "external_source_id": "e1",
            "status": "active",
            "type": "civil"
        })
    }

    fn with(key: &str, v: Value) -> Value {
        let mut b = base();
        b[key] = v;
        b
    }

    fn without(key: &str) -> Value {
        let mut b = base();
        b.as_object_mut().unwrap().remove(key);
        b
    }

    #[test]
    fn accepts_minimal_and_full_cases() {
        let c = check_record(&CASES, &base(), false).unwrap();
        assert_eq!(c.text("case_number"), "C-1");
        assert_eq!(c.fields.len(), CASES.fields.len());
        assert_eq!(c.fields["name"], Value::Null);
        let full = json!({
            "case_number": "C-1", "external_source": "other", "external_source_id": "e1",
            "external_source_data": {"k": "v"}, "name": "", "court_name": "X", "jurisdiction": "GA",
            "description": "d", "status": "active", "type": "civil", "is_obo": false,
            "created_date": "2024-02-29", "court_date": null, "end_date": "2025-01-01",
            "client_ids": [1, 2], "opt_out_voice_calls": true
        });
        assert!(check_record(&CASES, &full, false).is_ok());
        let bulk = with("id", json!(1001));
        assert_eq!(check_record(&CASES, &bulk, true).unwrap().id, Some(1001));
    }

    #[test]
    fn rejects_with_precise_messages() {
        let cases: Vec<(Value, bool, &str)> = vec![
            (json!([1]), true, "a case must be a JSON object, got [1]"),
            (with("colour", json!("red")), true, "unknown field 'colour'"),
            (with("id", json!(5)), false, "unknown field 'id'"),
            (
                with("id", json!("5")),
                true,
                "id: must be a positive integer, got \"5\"",
            ),
            (
                with("id", json!(0)),
                true,
                "id: must be a positive integer, got 0",
            ),
            (
                without("case_number"),
                false,
                "case_number: required field is missing",
            ),
            (
                with("status", Value::Null),
                false,
                "status: required field is missing",
            ),
            (with("type", json!("  ")), false, "type: must not be empty"),
            (
                with("case_number", json!(12)),
                false,
                "case_number: must be a string, got 12",
            ),
            (
                with("name", json!(1)),
                false,
                "name: must be a string, got 1",
            ),
            (
                with("is_obo", json!("yes")),
                false,
                "is_obo: must be a boolean (true or false), got \"yes\"",
            ),
            (
                with("created_date", json!("2024-02-30")),
                false,
                "created_date: '2024-02-30' is not a valid date (YYYY-MM-DD)",
            ),
            (
                with("court_date", json!("2024-2-3")),
                false,
                "court_date: '2024-2-3' is not a valid date (YYYY-MM-DD)",
            ),
            (
                with("end_date", json!(20240101)),
                false,
                "end_date: must be a date string (YYYY-MM-DD), got 20240101",
            ),
            (
                with("client_ids", json!("1;2")),
                false,
                "client_ids: must be an array of positive integers, got \"1;2\"",
            ),
            (
                with("client_ids", json!([1, -2])),
                false,
                "client_ids: -2 is not a positive integer",
            ),
            (
                with("client_ids", json!([1.5])),
                false,
                "client_ids: 1.5 is not a positive integer",
            ),
            (
                with("external_source_data", json!("x")),
                false,
                "external_source_data: must be a JSON object, got \"x\"",
            ),
        ];
        for (body, allow_id, want) in cases {
            assert_eq!(
                check_record(&CASES, &body, allow_id).unwrap_err(),
                want,
                "{body}"
            );
        }
        // Answer-only fields are not part of a request.
        assert_eq!(
            check_record(&CASES, &with("sms_opted_out", json!(true)), true).unwrap_err(),
            "unknown field 'sms_opted_out'"
        );
    }

    #[test]
    fn rules_follow_the_entity_given() {
        let person = json!({"first_name": "Ada", "last_name": "L", "external_source": "crm",
                            "external_source_id": "p1", "case_ids": [4]});
        let c = check_record(&PEOPLE, &person, false).unwrap();
        assert_eq!(c.fields.len(), PEOPLE.fields.len());
        assert_eq!(c.fields["date_of_birth"], Value::Null);
        let table: &[(Value, &str)] = &[
            (json!(1), "a person must be a JSON object, got 1"),
            (base(), "unknown field 'case_number'"),
            (
                json!({"first_name": "Ada", "last_name": "L", "external_source": "crm"}),
                "external_source_id: required field is missing",
            ),
            (
                json!({"first_name": "Ada", "last_name": "L", "external_source": "crm",
                       "external_source_id": "p1", "date_of_birth": "1815-13-10"}),
                "date_of_birth: '1815-13-10' is not a valid date (YYYY-MM-DD)",
            ),
        ];
        for (body, want) in table {
            assert_eq!(
                check_record(&PEOPLE, body, false).unwrap_err(),
                *want,
                "{body}"
            );
        }
    }

    #[test]
    fn dates_are_strict() {
        for ok in ["2024-02-29", "1999-12-31"] {
            assert!(is_date(ok), "{ok}");
        }
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "24-01-01",
            "2024/01/01",
            "2024-01-01T00:00",
            "",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }
}
