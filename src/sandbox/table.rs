//! One entity's records in the sandbox (cases, clients): the stored records, the id counter, the
//! index of the field Kayse keeps unique (a case's `case_number`) and the cached state-file form
//! of each record. Generic over the entity's table: nothing here names a field of one entity.
//! Rules across tables (links, opt-outs, merges) are `state`'s; HTTP is `server`'s.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::entity::{CASES, CLIENTS, Entity};

/// What the sandbox adds to an entity's table: where its ids start and which field it keeps
/// unique. Kayse's own facts, so they name fields; every other part of the store is generic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The first id a fresh sandbox hands out.
    pub first_id: u64,
    /// The field no two records may share (unless the sandbox is told to allow duplicates).
    pub unique: Option<&'static str>,
}

/// Cases from 1001; clients from 1,000,001, so that a case id sent where a client id belongs (or
/// the other way round) names nothing and is refused rather than linking the wrong record.
pub fn spec(entity: &Entity) -> Spec {
    if *entity == CASES {
        Spec {
            first_id: 1001,
            unique: Some("case_number"),
        }
    } else if *entity == CLIENTS {
        Spec {
            first_id: 1_000_001,
            unique: None,
        }
    } else {
        Spec {
            first_id: 1001,
            unique: None,
        }
    }
}

/// Channels a person opted out of by replying (STOP to a text) or by a seed. Kept on clients
/// only; `/v1` never answers them (Kayse documents no such client field), but a case's
/// `sms_opted_out` and `email_opted_out` derive from them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OptOuts {
    pub sms: bool,
    pub email: bool,
}

/// One stored record: every create field (null where unset; a link field holds its ids as a
/// JSON array) and what Kayse adds.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub id: u64,
    pub fields: Map<String, Value>,
    pub origin: String,
    pub update_origin: Option<String>,
    pub opt_outs: OptOuts,
}

/// `origin` of a record created through the API.
pub const PUBLIC_API: &str = "public_api";

impl Stored {
    /// A new record of `entity` holding `fields` (every create field must be present).
    pub fn new(id: u64, fields: Map<String, Value>) -> Stored {
        Stored {
            id,
            fields,
            origin: PUBLIC_API.to_string(),
            update_origin: None,
            opt_outs: OptOuts::default(),
        }
    }

    /// A text field's value, if it is a string.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    /// Whether a yes/no field is `true` (null and absent are not).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.fields.get(name), Some(Value::Bool(true)))
    }

    /// The ids of a link field, in stored order (none when it is null).
    pub fn links(&self, name: &str) -> Vec<u64> {
        ids_of(self.fields.get(name))
    }
}

/// The ids of an id-list value; anything else holds none.
pub fn ids_of(v: Option<&Value>) -> Vec<u64> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// The records of one entity.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub entity: &'static Entity,
    pub spec: Spec,
    records: BTreeMap<u64, Stored>,
    /// Each record's state-file form, kept up to date by the store on every change, so saving
    /// after a change costs one copy of the file rather than serialising every record again
    /// (20,000 cases: 3 s in a debug build before, a few ms now).
    json: BTreeMap<u64, String>,
    /// The unique field's value → the records holding it (more than one only when duplicates
    /// are allowed).
    index: HashMap<String, Vec<u64>>,
    next_id: u64,
}

impl Table {
    pub fn new(entity: &'static Entity) -> Table {
        let spec = spec(entity);
        Table {
            entity,
            spec,
            records: BTreeMap::new(),
            json: BTreeMap::new(),
            index: HashMap::new(),
            next_id: spec.first_id,
        }
    }

    pub fn get(&self, id: u64) -> Option<&Stored> {
        self.records.get(&id)
    }

    pub fn contains(&self, id: u64) -> bool {
        self.records.contains_key(&id)
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn records(&self) -> impl Iterator<Item = &Stored> {
        self.records.values()
    }

    /// The id the next record gets.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Never hand out an id below `n` (a loaded state file's counter).
    pub fn raise_next_id(&mut self, n: u64) {
        self.next_id = self.next_id.max(n);
    }

    /// Take the next id.
    pub fn allocate(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The unique field's value of a record, if the table has such a field and the record a value.
    fn unique_value<'a>(&self, r: &'a Stored) -> Option<&'a str> {
        self.spec.unique.and_then(|f| r.text(f))
    }

    /// The records holding `value` in the unique field.
    pub fn holders(&self, value: &str) -> &[u64] {
        self.index.get(value).map_or(&[], Vec::as_slice)
    }

    /// Whether a record other than `me` holds `value` in the unique field.
    pub fn taken_by_other(&self, value: &str, me: Option<u64>) -> bool {
        self.holders(value).iter().any(|&h| Some(h) != me)
    }

    /// Store a record, replacing the one with its id. The caller keeps links consistent.
    pub fn put(&mut self, r: Stored) {
        self.unindex(r.id);
        if let Some(v) = self.unique_value(&r) {
            self.index.entry(v.to_string()).or_default().push(r.id);
        }
        self.next_id = self.next_id.max(r.id.saturating_add(1));
        self.records.insert(r.id, r);
    }

    /// Change one field of a stored record in place (never the unique field, never a link: the
    /// store changes those through `put` and its link rules).
    pub fn set_field(&mut self, id: u64, name: &str, v: Value) {
        debug_assert_ne!(Some(name), self.spec.unique);
        if let Some(r) = self.records.get_mut(&id) {
            r.fields.insert(name.to_string(), v);
        }
    }

    /// Change a record's opt-outs in place.
    pub fn set_opt_outs(&mut self, id: u64, o: OptOuts) {
        if let Some(r) = self.records.get_mut(&id) {
            r.opt_outs = o;
        }
    }

    /// Remove a record; the caller has unlinked it first.
    pub fn remove(&mut self, id: u64) -> Option<Stored> {
        self.unindex(id);
        self.json.remove(&id);
        self.records.remove(&id)
    }

    fn unindex(&mut self, id: u64) {
        let Some(v) = self.records.get(&id).and_then(|r| self.unique_value(r)) else {
            return;
        };
        let v = v.to_string();
        if let Some(holders) = self.index.get_mut(&v) {
            holders.retain(|&h| h != id);
            if holders.is_empty() {
                self.index.remove(&v);
            }
        }
    }

    /// Set (or, for a record that is gone, drop) a record's cached state-file form.
    pub fn cache(&mut self, id: u64, json: Option<String>) {
        match json {
            Some(j) if self.records.contains_key(&id) => {
                self.json.insert(id, j);
            }
            _ => {
                self.json.remove(&id);
            }
        }
    }

    /// The cached state-file forms, in id order.
    pub fn cached(&self) -> impl Iterator<Item = &String> {
        self.json.values()
    }
}
