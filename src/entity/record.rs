//! One record of an entity (a case to send, a case Kayse answered with): its values stored by the
//! table's index, never by name, so the validate hot path builds one without hashing or string
//! keys. Serialises to the API payload and reads answers; knows which optional fields a PUT would
//! null and how `--update-blanks keep` fills them. No I/O, and no knowledge of any one entity.

use chrono::NaiveDate;
use compact_str::CompactString;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value as Json};

use super::{Entity, Field, Kind};

/// One field's value, of the field's [`Kind`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text up to 24 bytes is kept inline, not on the heap: most of a case's text fields (its
    /// number, source, status, type, jurisdiction) are that short, and a record is built for
    /// every row of a million-row file on one thread and freed on another.
    Text(CompactString),
    Date(NaiveDate),
    Bool(bool),
    IdList(Vec<u64>),
    Object(Map<String, Json>),
}

impl Value {
    pub fn kind(&self) -> Kind {
        match self {
            Value::Text(_) => Kind::Text,
            Value::Date(_) => Kind::Date,
            Value::Bool(_) => Kind::Bool,
            Value::IdList(_) => Kind::IdList,
            Value::Object(_) => Kind::Object,
        }
    }

    /// The wire form: dates `YYYY-MM-DD`, id lists as arrays of integers.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Text(s) => Json::String(s.to_string()),
            Value::Date(d) => Json::String(d.format("%Y-%m-%d").to_string()),
            Value::Bool(b) => Json::Bool(*b),
            Value::IdList(ids) => Json::Array(ids.iter().map(|&i| Json::from(i)).collect()),
            Value::Object(m) => Json::Object(m.clone()),
        }
    }

    /// Read a wire value of `kind`. `Ok(None)` for null; `Err(())` when the JSON is another kind.
    fn from_json(kind: Kind, v: &Json) -> Result<Option<Value>, ()> {
        if v.is_null() {
            return Ok(None);
        }
        let value = match (kind, v) {
            // An answer's email or mobile is taken as Kayse stored it: checks are for sheets.
            (Kind::Text | Kind::Email | Kind::Mobile, Json::String(s)) => {
                Value::Text(s.as_str().into())
            }
            (Kind::Date, Json::String(s)) => {
                Value::Date(NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| ())?)
            }
            (Kind::Bool, Json::Bool(b)) => Value::Bool(*b),
            (Kind::IdList, Json::Array(items)) => Value::IdList(
                items
                    .iter()
                    .map(|i| i.as_u64().ok_or(()))
                    .collect::<Result<_, _>>()?,
            ),
            (Kind::Object, Json::Object(m)) => Value::Object(m.clone()),
            _ => return Err(()),
        };
        Ok(Some(value))
    }
}

/// What an answer's value should have been, for [`AnswerError`].
fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Text | Kind::Email | Kind::Mobile => "a string",
        Kind::Date => "a date string (YYYY-MM-DD)",
        Kind::Bool => "true or false",
        Kind::IdList => "an array of ids",
        Kind::Object => "a JSON object",
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Text(t) => s.serialize_str(t),
            Value::Date(d) => s.collect_str(&d.format("%Y-%m-%d")),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::IdList(ids) => {
                let mut seq = s.serialize_seq(Some(ids.len()))?;
                for id in ids {
                    seq.serialize_element(id)?;
                }
                seq.end()
            }
            Value::Object(m) => m.serialize(s),
        }
    }
}

/// An answer Kayse gave that does not fit the table. Names the field, so the user can tell which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("a {one} must be a JSON object, got {got}")]
    NotAnObject { one: &'static str, got: String },
    #[error("{field}: expected {expected}, got {got}")]
    WrongKind {
        field: &'static str,
        expected: &'static str,
        got: String,
    },
}

/// A short rendering of an unexpected JSON value for an error.
fn brief(v: &Json) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        let cut: String = s.chars().take(37).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// One record of an entity: its Kayse id, if it has one, and its values by index (create fields,
/// then answer-only fields; see [`Entity`]).
///
/// Built once per input row on the validate path, so it is cheap to make and drop: `values`
/// holds a slot per create field from the start and grows to the answer-only fields only when one
/// is set (rows never set them), and nothing is looked up by name.
#[derive(Debug, Clone)]
pub struct Record {
    entity: &'static Entity,
    /// The Kayse id: set on a row that updates, and on every answer.
    pub id: Option<u64>,
    /// By value index; at least one slot per create field, shorter than
    /// [`Entity::value_count`] while no answer-only field is set.
    values: Vec<Option<Value>>,
}

/// Equal when the entity, the id and every value are: trailing unset slots do not count.
impl PartialEq for Record {
    fn eq(&self, other: &Record) -> bool {
        self.entity == other.entity
            && self.id == other.id
            && (0..self.entity.value_count()).all(|i| self.get(i) == other.get(i))
    }
}

impl Record {
    /// A record with no id and no values.
    #[inline]
    pub fn new(entity: &'static Entity) -> Record {
        let mut values = Vec::with_capacity(entity.fields.len());
        values.resize_with(entity.fields.len(), || None);
        Record {
            entity,
            id: None,
            values,
        }
    }

    pub fn entity(&self) -> &'static Entity {
        self.entity
    }

    /// The value at a value index (see [`Entity::value_field`]).
    #[inline]
    pub fn get(&self, i: usize) -> Option<&Value> {
        self.values.get(i).and_then(Option::as_ref)
    }

    /// Set the value at a value index. The value's kind must be the field's: a mismatch is a
    /// bug in the caller, caught in debug builds and by the tests.
    #[inline(always)]
    pub fn set(&mut self, i: usize, v: Value) {
        debug_assert_eq!(
            self.entity.value_field(i).map(|f| f.kind.value_kind()),
            Some(v.kind()),
            "value {i} of {}",
            self.entity.name
        );
        if i >= self.values.len() {
            if i >= self.entity.value_count() {
                return;
            }
            self.values.resize_with(i + 1, || None);
        }
        self.values[i] = Some(v);
    }

    /// Remove and return the value at a value index.
    #[inline]
    pub fn take(&mut self, i: usize) -> Option<Value> {
        self.values.get_mut(i).and_then(Option::take)
    }

    /// A value by field name (create or answer-only). For code outside the row loop.
    pub fn by_name(&self, name: &str) -> Option<&Value> {
        self.get(self.entity.value_index(name)?)
    }

    /// A text value by field name.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.by_name(name)? {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// A yes/no value by field name (`sms_opted_out`).
    pub fn flag(&self, name: &str) -> Option<bool> {
        match self.by_name(name)? {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// What users look this record up by in Kayse: the lookup field's name and its value
    /// (`("case_number", "C-1")`; the value is empty when unset).
    pub fn lookup(&self) -> (&'static str, &str) {
        let name = self.entity.lookup_field();
        (name, self.text(name).unwrap_or(""))
    }

    /// The optional create fields this record leaves out: under PUT each becomes null.
    pub fn omitted(&self) -> impl Iterator<Item = &'static Field> + '_ {
        let fields: &'static [Field] = self.entity.fields;
        fields
            .iter()
            .enumerate()
            .filter(|(i, f)| !f.required && self.get(*i).is_none())
            .map(|(_, f)| f)
    }

    /// `--update-blanks keep`: give every optional create field this record leaves out the
    /// stored record's value, so an update's PUT never nulls it; and a link list (`client_ids`,
    /// `case_ids`, which replace the record's links) keeps the stored links beside this record's,
    /// so an update never cuts a link Kayse has. Required fields and the id stay this record's own.
    pub fn fill_blanks(mut self, stored: &Record) -> Record {
        for (i, f) in self.entity.fields.iter().enumerate() {
            if f.required {
                continue;
            }
            let Some(v) = stored.get(i).filter(|v| v.kind() == f.kind.value_kind()) else {
                continue;
            };
            match (&mut self.values[i], v) {
                (None, _) => self.values[i] = Some(v.clone()),
                (Some(Value::IdList(mine)), Value::IdList(theirs)) if f.links.is_some() => {
                    for id in theirs {
                        if !mine.contains(id) {
                            mine.push(*id);
                        }
                    }
                }
                _ => {}
            }
        }
        self
    }

    /// Every value this record holds, answer-only ones included, with its id: the form a journal
    /// keeps and [`Record::from_json`] reads back. (The payload is the `Serialize` form.)
    pub fn to_json(&self) -> Json {
        let mut m = Map::new();
        if let Some(id) = self.id {
            m.insert(self.entity.id.name.to_string(), Json::from(id));
        }
        for (i, v) in self.values.iter().enumerate() {
            if let (Some(v), Some(f)) = (v, self.entity.value_field(i)) {
                m.insert(f.name.to_string(), v.to_json());
            }
        }
        Json::Object(m)
    }

    /// Read a record from an answer (POST, PUT, GET, bulk) or a journal. Lenient where the live
    /// API is undocumented: nulls and unknown keys are accepted. A known field holding another
    /// kind of value is refused, naming the field.
    pub fn from_json(entity: &'static Entity, v: &Json) -> Result<Record, AnswerError> {
        let Some(obj) = v.as_object() else {
            return Err(AnswerError::NotAnObject {
                one: entity.one,
                got: brief(v),
            });
        };
        let mut r = Record::new(entity);
        for (key, value) in obj {
            if key == entity.id.name {
                r.id = match value {
                    Json::Null => None,
                    v => Some(v.as_u64().ok_or_else(|| AnswerError::WrongKind {
                        field: entity.id.name,
                        expected: "a positive integer",
                        got: brief(v),
                    })?),
                };
                continue;
            }
            let Some(i) = entity.value_index(key) else {
                continue;
            };
            let Some(f) = entity.value_field(i) else {
                continue;
            };
            let v = Value::from_json(f.kind, value).map_err(|()| AnswerError::WrongKind {
                field: f.name,
                expected: expected(f.kind),
                got: brief(value),
            })?;
            match v {
                Some(v) => r.set(i, v),
                None => {
                    r.take(i);
                }
            }
        }
        Ok(r)
    }
}

/// The API payload: the id when there is one, then every create field that is set. Answer-only
/// fields are never sent (Kayse refuses unknown fields).
impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = self.entity.fields;
        let set = self.values[..fields.len()]
            .iter()
            .filter(|v| v.is_some())
            .count();
        let mut m = s.serialize_map(Some(set + usize::from(self.id.is_some())))?;
        if let Some(id) = self.id {
            m.serialize_entry(self.entity.id.name, &id)?;
        }
        for (f, v) in fields.iter().zip(self.values.iter()) {
            if let Some(v) = v {
                m.serialize_entry(f.name, v)?;
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::tests::PEOPLE;
    use crate::entity::{CASES, CLIENTS};
    use serde_json::json;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn case(pairs: &[(&str, Value)]) -> Record {
        let mut r = Record::new(&CASES);
        for (name, v) in pairs {
            r.set(CASES.value_index(name).unwrap(), v.clone());
        }
        r
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn payload_holds_the_id_and_the_set_create_fields_only() {
        let mut r = case(&[
            ("case_number", text("C-1")),
            ("created_date", Value::Date(d(2024, 3, 5))),
            ("client_ids", Value::IdList(vec![1, 2])),
            ("is_obo", Value::Bool(false)),
            (
                "external_source_data",
                Value::Object(json!({"a": 1}).as_object().unwrap().clone()),
            ),
            ("sms_opted_out", Value::Bool(true)),
            ("origin", text("public_api")),
        ]);
        let table: &[(Option<u64>, Json)] = &[
            (
                None,
                json!({"case_number": "C-1", "created_date": "2024-03-05", "client_ids": [1, 2],
                       "is_obo": false, "external_source_data": {"a": 1}}),
            ),
            (
                Some(9),
                json!({"id": 9, "case_number": "C-1", "created_date": "2024-03-05",
                       "client_ids": [1, 2], "is_obo": false, "external_source_data": {"a": 1}}),
            ),
        ];
        for (id, want) in table {
            r.id = *id;
            assert_eq!(serde_json::to_value(&r).unwrap(), *want);
        }
        let full = r.to_json();
        assert_eq!(full["sms_opted_out"], true, "answer-only fields are kept");
        assert_eq!(full["origin"], "public_api");
        assert_eq!(
            Record::from_json(&CASES, &full).unwrap(),
            r,
            "to_json reads back"
        );
    }

    #[test]
    fn every_value_of_every_kind_reads_back_from_its_wire_form() {
        for e in [&CASES, &CLIENTS, &PEOPLE] {
            let mut r = Record::new(e);
            r.id = Some(41);
            for i in 0..e.value_count() {
                let f = e.value_field(i).unwrap();
                let v = match f.kind {
                    Kind::Text | Kind::Email | Kind::Mobile => text(f.name),
                    Kind::Date => Value::Date(d(2023, 12, 31)),
                    Kind::Bool => Value::Bool(true),
                    Kind::IdList => Value::IdList(vec![3, u64::MAX]),
                    Kind::Object => Value::Object(Map::from_iter([("k".into(), json!([1]))])),
                };
                r.set(i, v);
            }
            let back = Record::from_json(e, &r.to_json()).unwrap();
            assert_eq!(back, r, "{}", e.name);
            assert_eq!(back.lookup().1, e.lookup_field(), "{}", e.name);
        }
    }

    #[test]
    fn answers_tolerate_nulls_and_unknown_keys_and_refuse_wrong_kinds() {
        let ok = json!({"id": 5, "case_number": "C-5", "name": null, "gender": "x",
                        "meta": {"a": 1}, "sms_opted_out": false, "update_origin": null});
        let r = Record::from_json(&CASES, &ok).unwrap();
        assert_eq!(r.id, Some(5));
        assert_eq!(r.lookup(), ("case_number", "C-5"));
        assert_eq!(r.text("name"), None);
        assert_eq!(r.flag("sms_opted_out"), Some(false));
        assert_eq!(r.flag("email_opted_out"), None);
        // A null answer-only field is the same as none at all.
        assert_eq!(
            Record::from_json(&CASES, &json!({"origin": null, "update_origin": null})).unwrap(),
            Record::new(&CASES)
        );
        let bad: &[(Json, &str)] = &[
            (json!([1]), "a case must be a JSON object, got [1]"),
            (
                json!({"id": "5"}),
                "id: expected a positive integer, got \"5\"",
            ),
            (
                json!({"case_number": 12}),
                "case_number: expected a string, got 12",
            ),
            (
                json!({"court_date": "2024-02-30"}),
                "court_date: expected a date string (YYYY-MM-DD), got \"2024-02-30\"",
            ),
            (
                json!({"is_obo": "yes"}),
                "is_obo: expected true or false, got \"yes\"",
            ),
            (
                json!({"client_ids": [1, -2]}),
                "client_ids: expected an array of ids, got [1,-2]",
            ),
            (
                json!({"external_source_data": "x"}),
                "external_source_data: expected a JSON object, got \"x\"",
            ),
            (
                json!({"sms_opted_out": 1}),
                "sms_opted_out: expected true or false, got 1",
            ),
        ];
        for (v, want) in bad {
            assert_eq!(
                Record::from_json(&CASES, v).unwrap_err().to_string(),
                *want,
                "{v}"
            );
        }
        // An answer's email and mobile are taken as stored: the checks are for sheets.
        let c = Record::from_json(
            &CLIENTS,
            &json!({"id": 3, "email": "not an address", "mobile": "404-555", "meta": {"a": 1},
                    "gender": null, "date_of_death": "2020-01-02", "case_ids": [1001]}),
        )
        .unwrap();
        assert_eq!(c.text("email"), Some("not an address"));
        assert_eq!(c.text("mobile"), Some("404-555"));
        assert_eq!(c.by_name("case_ids"), Some(&Value::IdList(vec![1001])));
        assert!(matches!(c.by_name("meta"), Some(Value::Object(_))));
        assert_eq!(
            Record::from_json(&CLIENTS, &json!({"mobile": 14045550123u64}))
                .unwrap_err()
                .to_string(),
            "mobile: expected a string, got 14045550123"
        );
        assert_eq!(
            Record::from_json(&PEOPLE, &json!("x"))
                .unwrap_err()
                .to_string(),
            "a person must be a JSON object, got \"x\""
        );
    }

    #[test]
    fn omitted_lists_the_optional_create_fields_left_out() {
        // Counted from the table, so a new field needs no edit here.
        let optional = CASES.fields.iter().filter(|f| !f.required).count();
        let table: &[(&[(&str, Value)], usize)] = &[
            (&[], optional),
            (
                &[("name", text("x")), ("status", text("active"))],
                optional - 1,
            ),
            (&[("sms_opted_out", Value::Bool(true))], optional),
        ];
        for (pairs, n) in table {
            let r = case(pairs);
            let omitted: Vec<&str> = r.omitted().map(|f| f.name).collect();
            assert_eq!(omitted.len(), *n, "{omitted:?}");
            assert!(omitted.iter().all(|f| !CASES.field(f).unwrap().required));
            for (name, _) in *pairs {
                assert!(!omitted.contains(name), "{name}");
            }
        }
    }

    #[test]
    fn fill_keeps_what_the_row_has_and_takes_the_rest() {
        let mut mine = case(&[
            ("case_number", text("A")),
            ("status", text("active")),
            ("name", text("new name")),
        ]);
        mine.id = Some(5);
        let mut stored = case(&[
            ("case_number", text("A-old")),
            ("status", text("closed")),
            ("name", text("old name")),
            ("description", text("kept")),
            ("court_date", Value::Date(d(2025, 1, 2))),
            ("client_ids", Value::IdList(vec![1, 2])),
            ("origin", text("public_api")),
        ]);
        stored.id = Some(6);
        let out = mine.fill_blanks(&stored);
        let want: &[(&str, Option<Value>)] = &[
            ("name", Some(text("new name"))),
            ("description", Some(text("kept"))),
            ("court_date", Some(Value::Date(d(2025, 1, 2)))),
            ("client_ids", Some(Value::IdList(vec![1, 2]))),
            ("status", Some(text("active"))),
            ("case_number", Some(text("A"))),
            ("jurisdiction", None),
            ("origin", None),
        ];
        for (name, v) in want {
            assert_eq!(out.by_name(name), v.as_ref(), "{name}");
        }
        assert_eq!(out.id, Some(5));
        // A link list the row gives keeps the stored links too: an update never cuts one.
        let mut linked = case(&[("client_ids", Value::IdList(vec![3, 2]))]);
        linked.id = Some(5);
        assert_eq!(
            linked.fill_blanks(&stored).by_name("client_ids"),
            Some(&Value::IdList(vec![3, 2, 1]))
        );
        let optional = CASES.fields.iter().filter(|f| !f.required).count();
        assert_eq!(
            out.omitted().count(),
            optional - 4,
            "name, description, court_date, client_ids"
        );
    }
}
