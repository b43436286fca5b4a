//! The sandbox's state file and seeding: the JSON form of a [`Store`] (also `GET /sandbox/state`),
//! reading it back (files written before clients existed included), `POST /sandbox/seed`, and the
//! atomic save. No HTTP, and no rule of Kayse's beyond keeping the loaded links consistent.
//!
//! The file: `{"cases": [...], "clients": [...], "messages": [...], "next_ids": {"cases": n,
//! "clients": m}}`. Each record is in its GET form (a case with its derived opt-out flags, which
//! loading ignores and derives again); a client also carries the sms and email opt-outs that
//! only the sandbox keeps. An older file (`{"cases": [...], "messages": [...], "next_id": n}`) is
//! read as a seed of its cases.

use std::io::Write;
use std::path::Path;

use serde_json::{Map, Value, json};

use super::rules::positive_int;
use super::state::{
    Channel, SentMessage, Store, VOICE, keeps_opt_outs, opt_outs_from, placeholder,
};
use super::table::{Stored, ids_of};

/// `external_source` (and prefix) of the stand-in clients a seed creates.
pub const STAND_IN: &str = "sandbox-seed";

/// One seed entry, checked: its table, its id if it gave one, and its object.
struct SeedEntry {
    t: usize,
    id: Option<u64>,
    obj: Map<String, Value>,
}

impl Store {
    /// The state file's contents (also the body of `GET /sandbox/state`).
    pub fn to_json(&self) -> Vec<u8> {
        let size: usize = self
            .tables
            .iter()
            .flat_map(|t| t.cached())
            .chain(&self.messages_json)
            .map(|j| j.len() + 1)
            .sum::<usize>()
            + 128;
        let mut out = Vec::with_capacity(size);
        out.push(b'{');
        for t in &self.tables {
            out.extend_from_slice(format!("\"{}\":[", t.entity.name).as_bytes());
            join_into(&mut out, t.cached());
            out.extend_from_slice(b"],");
        }
        out.extend_from_slice(b"\"messages\":[");
        join_into(&mut out, self.messages_json.iter());
        out.extend_from_slice(b"],\"next_ids\":");
        let next: Map<String, Value> = self
            .tables
            .iter()
            .map(|t| (t.entity.name.to_string(), Value::from(t.next_id())))
            .collect();
        out.extend_from_slice(Value::Object(next).to_string().as_bytes());
        out.push(b'}');
        out
    }

    /// Read a state file's contents.
    pub fn from_json(bytes: &[u8]) -> Result<Store, String> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let Some(obj) = v.as_object() else {
            return Err("the state must be a JSON object".into());
        };
        let mut store = Store::default();
        if obj.contains_key("next_ids") {
            store.load_tables(obj)?;
        } else {
            // Written before clients existed: its cases are seeded, so a case's opt-out flag
            // and client ids get stand-in clients, as a seed's do.
            let cases = obj.get("cases").cloned().unwrap_or_else(|| json!([]));
            store.seed(&json!({ "cases": cases }))?;
            if let Some(n) = obj.get("next_id").and_then(Value::as_u64) {
                store.tables[0].raise_next_id(n);
            }
        }
        let messages: Vec<SentMessage> =
            serde_json::from_value(obj.get("messages").cloned().unwrap_or_else(|| json!([])))
                .map_err(|e| format!("messages: {e}"))?;
        for m in messages {
            store.push_message(m);
        }
        Ok(store)
    }

    /// Load every table of a current state file as stored, then check that its links agree.
    fn load_tables(&mut self, obj: &Map<String, Value>) -> Result<(), String> {
        for t in 0..self.tables.len() {
            let e = self.tables[t].entity;
            let items = match obj.get(e.name) {
                None | Some(Value::Null) => continue,
                Some(Value::Array(items)) => items,
                Some(_) => return Err(format!("{} must be an array", e.name)),
            };
            for item in items {
                let Some(m) = item.as_object() else {
                    return Err(format!("a {} must be a JSON object", e.one));
                };
                let r = stored_from(t, self, m)
                    .ok_or_else(|| format!("a {} has no valid id", e.one))?;
                self.tables[t].put(r);
            }
            if let Some(n) = obj
                .get("next_ids")
                .and_then(|n| n.get(e.name))
                .and_then(Value::as_u64)
            {
                self.tables[t].raise_next_id(n);
            }
        }
        self.check_loaded_links()?;
        for t in 0..self.tables.len() {
            let ids: Vec<u64> = self.tables[t].records().map(|r| r.id).collect();
            for id in ids {
                self.mark(t, id);
            }
        }
        self.flush();
        Ok(())
    }

    /// Every link in a loaded file names a record that links back.
    fn check_loaded_links(&self) -> Result<(), String> {
        for t in &self.tables {
            for f in t.entity.fields {
                let Some(u) = f
                    .links
                    .and_then(|n| self.tables.iter().find(|u| u.entity.name == n))
                else {
                    continue;
                };
                let Some(inv) = u.entity.link_to(t.entity.name) else {
                    continue;
                };
                let inv = u.entity.fields[inv].name;
                for r in t.records() {
                    for other in r.links(f.name) {
                        let back = u.get(other).map(|o| o.links(inv).contains(&r.id));
                        match back {
                            Some(true) => {}
                            Some(false) => {
                                return Err(format!(
                                    "{} {} lists {} {other}, which does not list it back",
                                    t.entity.one, r.id, u.entity.one
                                ));
                            }
                            None => {
                                return Err(format!(
                                    "{} {} lists {} {other}, which does not exist",
                                    t.entity.one, r.id, u.entity.one
                                ));
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// `POST /sandbox/seed` (`{"cases": [...], "clients": [...]}`): store records as given, with
    /// no checks beyond their shape, and answer their ids (`ids` for cases, `client_ids` for
    /// clients). A record with an existing id replaces it. Links are kept consistent: a client
    /// id a case names that does not exist becomes a stand-in client with that id; a case id a
    /// client names must exist or be seeded in the same request. A case's `call_opted_out`,
    /// `sms_opted_out` or `email_opted_out` opts out every client of the case on that channel
    /// (one stand-in client when it has none); a client takes `sms_opted_out` and
    /// `email_opted_out` as its own. Nothing is stored when the request is refused.
    pub fn seed(&mut self, body: &Value) -> Result<Value, String> {
        let entries = self.seed_entries(body)?;
        let present: Vec<usize> = {
            let mut p: Vec<usize> = entries.iter().map(|e| e.t).collect();
            p.dedup();
            p
        };
        // 1. Every record, with no links yet.
        let mut ids = Vec::with_capacity(entries.len());
        for en in &entries {
            let e = self.tables[en.t].entity;
            let id = match en.id {
                Some(id) => id,
                None => self.tables[en.t].allocate(),
            };
            self.remove(en.t, id);
            let mut fields = Map::new();
            for f in e.fields {
                let v = match f.links {
                    Some(_) => Value::Null,
                    None => en.obj.get(f.name).cloned().unwrap_or(Value::Null),
                };
                fields.insert(f.name.to_string(), v);
            }
            let mut r = Stored::new(id, fields);
            if let Some(o) = en.obj.get("origin").and_then(Value::as_str) {
                r.origin = o.to_string();
            }
            r.update_origin = en
                .obj
                .get("update_origin")
                .and_then(Value::as_str)
                .map(str::to_string);
            if keeps_opt_outs(e) {
                r.opt_outs = opt_outs_from(&en.obj);
            }
            self.tables[en.t].put(r);
            self.mark(en.t, id);
            ids.push(id);
        }
        // 2. Links, added to whatever the other side of this request already made.
        for (en, &id) in entries.iter().zip(&ids) {
            for f in self.tables[en.t].entity.fields {
                let Some(u) = f
                    .links
                    .and_then(|n| self.tables.iter().position(|u| u.entity.name == n))
                else {
                    continue;
                };
                let named = ids_of(en.obj.get(f.name));
                for &p in &named {
                    if !self.tables[u].contains(p) {
                        let r = placeholder(self.tables[u].entity, p, STAND_IN);
                        self.tables[u].put(r);
                    }
                }
                let mut all = self.tables[en.t]
                    .get(id)
                    .map(|r| r.links(f.name))
                    .unwrap_or_default();
                for p in named {
                    if !all.contains(&p) {
                        all.push(p);
                    }
                }
                let new = (en.obj.get(f.name).is_some_and(|v| !v.is_null()) || !all.is_empty())
                    .then_some(all);
                self.set_links(en.t, id, f.name, new);
            }
        }
        // 3. A case's opt-out flags opt out its clients.
        for (en, &id) in entries.iter().zip(&ids) {
            for channel in [Channel::Voice, Channel::Sms, Channel::Email] {
                let is_case_flag = self.tables[en.t]
                    .entity
                    .answer_only
                    .iter()
                    .any(|f| f.name == channel.case_flag());
                if is_case_flag
                    && matches!(en.obj.get(channel.case_flag()), Some(Value::Bool(true)))
                {
                    self.opt_out_people(en.t, id, channel);
                }
            }
        }
        self.flush();
        let mut answer = Map::new();
        answer.insert("ids".into(), Value::Array(Vec::new()));
        for &t in &present {
            let mine: Vec<u64> = entries
                .iter()
                .zip(&ids)
                .filter(|(en, _)| en.t == t)
                .map(|(_, &id)| id)
                .collect();
            let key = if t == 0 {
                "ids".to_string()
            } else {
                format!("{}_ids", self.tables[t].entity.one)
            };
            answer.insert(key, Value::from(mine));
        }
        Ok(Value::Object(answer))
    }

    /// Check a seed body's shape and its links to records that must exist; the entries in
    /// table order (cases, then clients), each table's in request order.
    fn seed_entries(&self, body: &Value) -> Result<Vec<SeedEntry>, String> {
        let Some(obj) = body.as_object() else {
            return Err("the body must be a JSON object".into());
        };
        let names: Vec<&str> = self.tables.iter().map(|t| t.entity.name).collect();
        if let Some(k) = obj.keys().find(|k| !names.contains(&k.as_str())) {
            return Err(format!(
                "unknown key '{k}': a seed holds {}",
                names.join(" and ")
            ));
        }
        let mut entries = Vec::new();
        for (t, table) in self.tables.iter().enumerate() {
            let name = table.entity.name;
            let items = match obj.get(name) {
                None | Some(Value::Null) => continue,
                Some(Value::Array(items)) => items,
                Some(_) => return Err(format!("{name}: must be an array of {name}")),
            };
            for (i, item) in items.iter().enumerate() {
                let Some(o) = item.as_object() else {
                    return Err(format!("{name}[{i}] must be a JSON object"));
                };
                let id = match o.get("id") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(
                        positive_int(v)
                            .ok_or_else(|| format!("{name}[{i}].id must be a positive integer"))?,
                    ),
                };
                entries.push(SeedEntry {
                    t,
                    id,
                    obj: o.clone(),
                });
            }
        }
        for (i, en) in entries.iter().enumerate() {
            let table = &self.tables[en.t];
            for f in table.entity.fields {
                let Some(u) = f
                    .links
                    .and_then(|n| self.tables.iter().position(|u| u.entity.name == n))
                else {
                    continue;
                };
                let at = || format!("{}[{i}].{}", table.entity.name, f.name);
                let v = en.obj.get(f.name);
                let ok_shape = match v {
                    None | Some(Value::Null) => true,
                    Some(Value::Array(a)) => a.iter().all(|x| positive_int(x).is_some()),
                    Some(_) => false,
                };
                if !ok_shape {
                    return Err(format!("{}: must be an array of positive integers", at()));
                }
                if keeps_opt_outs(self.tables[u].entity) {
                    continue; // stand-ins
                }
                for p in ids_of(v) {
                    let seeded = entries.iter().any(|o| o.t == u && o.id == Some(p));
                    if !seeded && !self.tables[u].contains(p) {
                        return Err(format!(
                            "{}: {} {p} does not exist; seed it in the same request",
                            at(),
                            self.tables[u].entity.one
                        ));
                    }
                }
            }
        }
        Ok(entries)
    }

    /// Opt every client of record `id` (table `t`) out of `channel`, giving it one stand-in
    /// client first when it has none.
    fn opt_out_people(&mut self, t: usize, id: u64, channel: Channel) {
        let e = self.tables[t].entity;
        let Some((f, u)) = e.fields.iter().find_map(|f| {
            let u = f
                .links
                .and_then(|n| self.tables.iter().position(|u| u.entity.name == n))?;
            keeps_opt_outs(self.tables[u].entity).then_some((f.name, u))
        }) else {
            return;
        };
        let mut people = self.tables[t]
            .get(id)
            .map(|r| r.links(f))
            .unwrap_or_default();
        if people.is_empty() {
            let p = self.tables[u].allocate();
            let r = placeholder(self.tables[u].entity, p, STAND_IN);
            self.tables[u].put(r);
            people.push(p);
            self.set_links(t, id, f, Some(people.clone()));
        }
        for p in people {
            match channel {
                Channel::Voice => self.tables[u].set_field(p, VOICE, Value::Bool(true)),
                Channel::Sms | Channel::Email => {
                    let mut o = self.tables[u]
                        .get(p)
                        .map(|r| r.opt_outs)
                        .unwrap_or_default();
                    if channel == Channel::Sms {
                        o.sms = true;
                    } else {
                        o.email = true;
                    }
                    self.tables[u].set_opt_outs(p, o);
                }
            }
            self.mark(u, p);
        }
    }
}

/// A record of table `t` from its state-file form: its create fields (links as stored), what
/// Kayse adds, and (clients) the sandbox's opt-outs; the derived flags are dropped. `None`
/// without a valid id.
fn stored_from(t: usize, store: &Store, m: &Map<String, Value>) -> Option<Stored> {
    let e = store.tables[t].entity;
    let id = m.get(e.id.name).and_then(positive_int)?;
    let fields = e
        .fields
        .iter()
        .map(|f| {
            (
                f.name.to_string(),
                m.get(f.name).cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    let mut r = Stored::new(id, fields);
    if let Some(o) = m.get("origin").and_then(Value::as_str) {
        r.origin = o.to_string();
    }
    r.update_origin = m
        .get("update_origin")
        .and_then(Value::as_str)
        .map(str::to_string);
    if keeps_opt_outs(e) {
        r.opt_outs = opt_outs_from(m);
    }
    Some(r)
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
