//! The sandbox's data: cases, sent messages and the id counter, the rules that need them
//! (uniqueness, existence, all-or-nothing bulk), and the state-file format with its atomic save.
//! No HTTP here; the server turns `ApiError` into answers.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::rules::CheckedRecord;

/// The first id handed out by a fresh sandbox.
pub const FIRST_ID: u64 = 1001;

/// An error answer: HTTP status, Kayse's `error` word and a one-line message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub error: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError {
            status: 400,
            error: "invalid request",
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: 404,
            error: "not found",
            message: message.into(),
        }
    }

    /// 404 for a case id, the wording every route uses.
    pub fn no_case(id: u64) -> Self {
        ApiError::not_found(format!("case {id} not found"))
    }

    /// Kayse's documented 404 wording, used where the answer must not point at one entry.
    pub const NOT_FOUND: &str = "The requested resource could not be found";

    fn exists(case_number: &str) -> Self {
        ApiError::invalid(format!("case_number '{case_number}' already exists"))
    }
}

/// One stored case: the schema fields (null where unset) plus what Kayse adds. In the state file
/// it is GET's answer (`to_json(true)`); read back by `from_json`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCase {
    pub id: u64,
    pub fields: Map<String, Value>,
    pub origin: String,
    pub update_origin: Option<String>,
    pub call_opted_out: bool,
    pub sms_opted_out: bool,
    pub email_opted_out: bool,
}

fn public_api() -> String {
    "public_api".to_string()
}

impl StoredCase {
    /// The case as POST, PUT and bulk answer it; `with_flags` adds GET's opt-out flags.
    pub fn to_json(&self, with_flags: bool) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), Value::from(self.id));
        for (k, v) in &self.fields {
            m.insert(k.clone(), v.clone());
        }
        m.insert("origin".into(), Value::from(self.origin.clone()));
        m.insert(
            "update_origin".into(),
            self.update_origin.clone().map_or(Value::Null, Value::from),
        );
        if with_flags {
            m.insert("call_opted_out".into(), Value::Bool(self.call_opted_out));
            m.insert("sms_opted_out".into(), Value::Bool(self.sms_opted_out));
            m.insert("email_opted_out".into(), Value::Bool(self.email_opted_out));
        }
        Value::Object(m)
    }

    /// Read a case back from its state-file form. Keys other than the ones Kayse adds are kept
    /// as fields. (Built by hand: serde's `flatten` made loading 20,000 cases take seconds.)
    fn from_json(mut m: Map<String, Value>) -> Result<StoredCase, String> {
        let id = m
            .remove("id")
            .as_ref()
            .and_then(super::rules::positive_int)
            .ok_or("a case has no valid id")?;
        let text = |v: Option<Value>| match v {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let flag = |v: Option<Value>| matches!(v, Some(Value::Bool(true)));
        Ok(StoredCase {
            id,
            origin: text(m.remove("origin")).unwrap_or_else(public_api),
            update_origin: text(m.remove("update_origin")),
            call_opted_out: flag(m.remove("call_opted_out")),
            sms_opted_out: flag(m.remove("sms_opted_out")),
            email_opted_out: flag(m.remove("email_opted_out")),
            fields: m,
        })
    }

    fn case_number(&self) -> Option<&str> {
        self.fields.get("case_number").and_then(Value::as_str)
    }
}

/// A message accepted by `/communication/sms` or `/email`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentMessage {
    pub case_id: u64,
    pub client_id: u64,
    /// `sms` or `email`.
    pub channel: String,
    pub subject: Option<String>,
    pub message: String,
    /// RFC 3339, UTC.
    pub time: String,
    /// True when the case's flag for this channel was set: accepted, but never delivered.
    #[serde(default)]
    pub dropped_opted_out: bool,
}

/// Everything the sandbox remembers; the state file and `GET /sandbox/state` are its JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Store {
    cases: BTreeMap<u64, StoredCase>,
    /// Each case's JSON, kept up to date on every change, so saving after a change costs one
    /// copy of the file rather than serialising every case again (20,000 cases: 3 s in a debug
    /// build before, a few ms now).
    cases_json: BTreeMap<u64, String>,
    by_number: HashMap<String, u64>,
    messages: Vec<SentMessage>,
    messages_json: Vec<String>,
    next_id: u64,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            cases: BTreeMap::new(),
            cases_json: BTreeMap::new(),
            by_number: HashMap::new(),
            messages: Vec::new(),
            messages_json: Vec::new(),
            next_id: FIRST_ID,
        }
    }
}

#[derive(Deserialize)]
struct FileIn {
    #[serde(default)]
    cases: Vec<Map<String, Value>>,
    #[serde(default)]
    messages: Vec<SentMessage>,
    #[serde(default)]
    next_id: u64,
}

impl Store {
    /// Read a state file's contents.
    pub fn from_json(bytes: &[u8]) -> Result<Store, String> {
        let file: FileIn = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let mut store = Store::default();
        for c in file.cases {
            store.insert(StoredCase::from_json(c)?);
        }
        for m in file.messages {
            store.push_message(m);
        }
        store.next_id = store.next_id.max(file.next_id);
        Ok(store)
    }

    /// The state file's contents (also the body of `GET /sandbox/state`).
    pub fn to_json(&self) -> Vec<u8> {
        let size: usize = self.cases_json.values().map(|j| j.len() + 1).sum::<usize>()
            + self
                .messages_json
                .iter()
                .map(|j| j.len() + 1)
                .sum::<usize>()
            + 64;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(b"{\"cases\":[");
        join_into(&mut out, self.cases_json.values());
        out.extend_from_slice(b"],\"messages\":[");
        join_into(&mut out, self.messages_json.iter());
        out.extend_from_slice(format!("],\"next_id\":{}}}", self.next_id).as_bytes());
        out
    }

    /// Messages accepted so far, oldest first.
    pub fn messages(&self) -> &[SentMessage] {
        &self.messages
    }

    /// Record an accepted message.
    pub fn push_message(&mut self, m: SentMessage) {
        self.messages_json
            .push(serde_json::to_string(&m).unwrap_or_else(|_| "null".to_string()));
        self.messages.push(m);
    }

    pub fn get(&self, id: u64) -> Option<&StoredCase> {
        self.cases.get(&id)
    }

    pub fn len(&self) -> usize {
        self.cases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// Store a case as is (seeding, loading), replacing any case with the same id.
    fn insert(&mut self, c: StoredCase) {
        self.delete(c.id);
        if let Some(n) = c.case_number() {
            self.by_number.insert(n.to_string(), c.id);
        }
        self.next_id = self.next_id.max(c.id.saturating_add(1));
        self.cases_json.insert(c.id, c.to_json(true).to_string());
        self.cases.insert(c.id, c);
    }

    /// `POST /v1/cases`.
    pub fn create(&mut self, c: CheckedRecord) -> Result<StoredCase, ApiError> {
        if self.by_number.contains_key(c.text("case_number")) {
            return Err(ApiError::exists(c.text("case_number")));
        }
        Ok(self.apply_create(c.fields))
    }

    fn apply_create(&mut self, fields: Map<String, Value>) -> StoredCase {
        let id = self.next_id;
        let c = StoredCase {
            id,
            fields,
            origin: public_api(),
            update_origin: None,
            call_opted_out: false,
            sms_opted_out: false,
            email_opted_out: false,
        };
        self.insert(c.clone());
        c
    }

    /// `PUT /v1/cases/{id}`: every field replaced, omitted ones null.
    pub fn put(&mut self, id: u64, c: CheckedRecord) -> Result<StoredCase, ApiError> {
        if !self.cases.contains_key(&id) {
            return Err(ApiError::no_case(id));
        }
        if let Some(&owner) = self.by_number.get(c.text("case_number"))
            && owner != id
        {
            return Err(ApiError::exists(c.text("case_number")));
        }
        Ok(self.apply_put(id, c.fields))
    }

    fn apply_put(&mut self, id: u64, fields: Map<String, Value>) -> StoredCase {
        let old = self.cases.get(&id).cloned();
        let c = StoredCase {
            id,
            fields,
            origin: old.as_ref().map_or_else(public_api, |o| o.origin.clone()),
            update_origin: Some(public_api()),
            call_opted_out: old.as_ref().is_some_and(|o| o.call_opted_out),
            sms_opted_out: old.as_ref().is_some_and(|o| o.sms_opted_out),
            email_opted_out: old.as_ref().is_some_and(|o| o.email_opted_out),
        };
        self.insert(c.clone());
        c
    }

    /// `DELETE /v1/cases/{id}`: whether the case existed.
    pub fn delete(&mut self, id: u64) -> bool {
        self.cases_json.remove(&id);
        match self.cases.remove(&id) {
            Some(old) => {
                // Only if the number still points here: a bulk swap may have handed it on.
                if let Some(n) = old.case_number()
                    && self.by_number.get(n) == Some(&id)
                {
                    self.by_number.remove(n);
                }
                true
            }
            None => false,
        }
    }

    /// `POST /v1/cases/bulk`: check every entry against the store first, then apply all of them,
    /// or none. Answers in request order.
    pub fn bulk(&mut self, entries: Vec<CheckedRecord>) -> Result<Vec<StoredCase>, ApiError> {
        // Case numbers as they will be once the batch is applied: updated cases give up their
        // old number first, so a batch may swap or rename numbers.
        let mut taken: HashSet<&str> = self.by_number.keys().map(String::as_str).collect();
        let mut seen_ids = HashSet::new();
        for e in &entries {
            if let Some(id) = e.id {
                let Some(old) = self.cases.get(&id) else {
                    // Like Kayse's bulk errors, this does not say which entry failed.
                    return Err(ApiError::not_found(ApiError::NOT_FOUND));
                };
                if !seen_ids.insert(id) {
                    return Err(ApiError::invalid(format!(
                        "id {id} appears more than once in one request"
                    )));
                }
                if let Some(n) = old.case_number() {
                    taken.remove(n);
                }
            }
        }
        let mut in_batch = HashSet::new();
        for e in &entries {
            let n = e.text("case_number");
            if !in_batch.insert(n) {
                return Err(ApiError::invalid(format!(
                    "case_number '{n}' already exists in this request"
                )));
            }
            if taken.contains(n) {
                return Err(ApiError::exists(n));
            }
        }
        let mut out = Vec::with_capacity(entries.len());
        // Free the old numbers of updated cases before anything takes them.
        for e in &entries {
            if let Some(id) = e.id
                && let Some(n) = self.cases.get(&id).and_then(StoredCase::case_number)
            {
                let n = n.to_string();
                self.by_number.remove(&n);
            }
        }
        for e in entries {
            out.push(match e.id {
                Some(id) => self.apply_put(id, e.fields),
                None => self.apply_create(e.fields),
            });
        }
        Ok(out)
    }

    /// `POST /v1/cases/bulk_delete`: the ids that existed, in request order.
    pub fn bulk_delete(&mut self, ids: &[u64]) -> Vec<u64> {
        ids.iter().copied().filter(|id| self.delete(*id)).collect()
    }

    /// `POST /sandbox/seed`: store cases as given (no validation beyond the JSON shape).
    pub fn seed(&mut self, items: &[Value]) -> Result<Vec<u64>, String> {
        let mut ids = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Some(obj) = item.as_object() else {
                return Err(format!("cases[{i}] must be a JSON object"));
            };
            let id = match obj.get("id") {
                None | Some(Value::Null) => self.next_id,
                Some(v) => super::rules::positive_int(v)
                    .ok_or_else(|| format!("cases[{i}].id must be a positive integer"))?,
            };
            let flag = |k: &str| obj.get(k).and_then(Value::as_bool).unwrap_or(false);
            let fields = crate::entity::CASES
                .fields
                .iter()
                .map(|f| {
                    let v = obj.get(f.name).cloned().unwrap_or(Value::Null);
                    (f.name.to_string(), v)
                })
                .collect();
            self.insert(StoredCase {
                id,
                fields,
                origin: obj
                    .get("origin")
                    .and_then(Value::as_str)
                    .map_or_else(public_api, str::to_string),
                update_origin: obj
                    .get("update_origin")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                call_opted_out: flag("call_opted_out"),
                sms_opted_out: flag("sms_opted_out"),
                email_opted_out: flag("email_opted_out"),
            });
            ids.push(id);
        }
        Ok(ids)
    }
}

fn join_into<'a>(out: &mut Vec<u8>, items: impl Iterator<Item = &'a String>) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item.as_bytes());
    }
}

/// Write `bytes` to `path` so a crash leaves either the old file or the new one: a temporary file
/// in the same folder, flushed to disk, then renamed over the target.
pub fn save_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kayse-sandbox.json".to_string());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::rules::check_record;
    use serde_json::json;

    fn case(n: &str, id: Option<u64>) -> CheckedRecord {
        let mut v = json!({"case_number": n, "external_source": "other",
            "external_source_id": n, "status": "active", "type": "civil"});
        if let Some(id) = id {
            v["id"] = json!(id);
        }
        check_record(&crate::entity::CASES, &v, true).unwrap()
    }

    #[test]
    fn ids_are_sequential_and_never_reused() {
        let mut s = Store::default();
        assert_eq!(s.create(case("A", None)).unwrap().id, 1001);
        assert_eq!(s.create(case("B", None)).unwrap().id, 1002);
        assert!(s.delete(1002));
        assert!(!s.delete(1002));
        assert_eq!(s.create(case("C", None)).unwrap().id, 1003);
    }

    #[test]
    fn uniqueness_and_bulk_atomicity() {
        let mut s = Store::default();
        s.create(case("A", None)).unwrap();
        assert_eq!(
            s.create(case("A", None)).unwrap_err().message,
            "case_number 'A' already exists"
        );
        let before = s.clone();
        let cases: Vec<(Vec<CheckedRecord>, u16, &str)> = vec![
            (
                vec![case("B", None), case("A", None)],
                400,
                "case_number 'A' already exists",
            ),
            (
                vec![case("B", None), case("B", None)],
                400,
                "case_number 'B' already exists in this request",
            ),
            (
                vec![case("B", None), case("Z", Some(9))],
                404,
                "The requested resource could not be found",
            ),
            (
                vec![case("B", Some(1001)), case("C", Some(1001))],
                400,
                "id 1001 appears more than once in one request",
            ),
        ];
        for (entries, status, msg) in cases {
            let e = s.bulk(entries).unwrap_err();
            assert_eq!((e.status, e.message.as_str()), (status, msg));
            assert_eq!(s, before, "nothing applied after: {msg}");
        }
        // An update may keep its own number, and a rename frees the old one in the same batch.
        let out = s
            .bulk(vec![case("A2", Some(1001)), case("A", None)])
            .unwrap();
        assert_eq!(out.iter().map(|c| c.id).collect::<Vec<_>>(), [1001, 1002]);
        assert_eq!(out[0].update_origin.as_deref(), Some("public_api"));
        assert_eq!(out[1].update_origin, None);
    }

    #[test]
    fn bulk_may_swap_case_numbers() {
        let mut s = Store::default();
        s.bulk(vec![case("A", None), case("B", None)]).unwrap();
        s.bulk(vec![case("B", Some(1001)), case("A", Some(1002))])
            .unwrap();
        let e = s.create(case("A", None)).unwrap_err();
        assert_eq!(e.message, "case_number 'A' already exists");
        let e = s.create(case("B", None)).unwrap_err();
        assert_eq!(e.message, "case_number 'B' already exists");
        assert!(s.delete(1001));
        assert!(s.create(case("B", None)).is_ok());
        assert!(s.create(case("A", None)).is_err());
    }

    #[test]
    fn state_round_trips() {
        let mut s = Store::default();
        s.create(case("A", None)).unwrap();
        s.seed(&[json!({"id": 5000, "case_number": "S", "sms_opted_out": true})])
            .unwrap();
        s.delete(1001);
        let back = Store::from_json(&s.to_json()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.next_id, 5001);
        assert!(back.get(5000).unwrap().sms_opted_out);
        assert!(Store::from_json(b"{not json").is_err());
    }
}
