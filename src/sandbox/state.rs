//! The sandbox's data and the rules that need more than one request body: one [`Table`] per
//! entity (cases, clients), sent messages, and Kayse's rules across records: unique case numbers,
//! linked ids that must exist, links kept consistent on both sides (a case's `client_ids` and a
//! client's `case_ids` each replace that record's links), a case's opt-out flags derived from its
//! clients, all-or-nothing bulk requests, bulk delete `with_clients`, merged clients, and ids
//! interleaved with other writers'. Links and the bulk rules are generic over the entity tables;
//! the opt-out rules name Kayse's fields, as its docs do. No HTTP here (`server` turns
//! [`ApiError`] into answers); the state file's format and seeding are in `persist`.

use std::collections::{BTreeSet, HashMap, HashSet};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Behaviour;
use super::rules::CheckedRecord;
use super::table::{OptOuts, PUBLIC_API, Stored, Table};
use crate::entity::{self, CASES, CLIENTS, Entity};

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

    /// 404 for one record's id, the wording every route uses: `client 7 not found`.
    pub fn no_record(entity: &Entity, id: u64) -> Self {
        ApiError::not_found(format!("{} {id} not found", entity.one))
    }

    /// Kayse's documented 404 wording, used where the answer must not point at one entry.
    pub const NOT_FOUND: &str = "The requested resource could not be found";

    fn exists(field: &str, value: &str) -> Self {
        ApiError::invalid(format!("{field} '{value}' already exists"))
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
    /// True when the case's flag for this channel was set, or the client opted out of it:
    /// accepted, but never delivered.
    #[serde(default)]
    pub dropped_opted_out: bool,
}

/// A way to reach a client, for opt-outs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Voice,
    Sms,
    Email,
}

impl Channel {
    /// The case flag that says every client of the case opted out of this channel.
    pub fn case_flag(self) -> &'static str {
        match self {
            Channel::Voice => "call_opted_out",
            Channel::Sms => "sms_opted_out",
            Channel::Email => "email_opted_out",
        }
    }

    fn of_case_flag(name: &str) -> Option<Channel> {
        [Channel::Voice, Channel::Sms, Channel::Email]
            .into_iter()
            .find(|c| c.case_flag() == name)
    }
}

/// A client's own voice-call opt-out: a field of the client, sent and answered.
pub const VOICE: &str = "voice_calls_opted_out";
/// On a case: "marks all linked clients opted out of voice calls".
const MARKS_CLIENTS: &str = "opt_out_voice_calls";

/// How the store hands out ids and which uniqueness it enforces: settings, not data, so they
/// are neither saved nor compared.
#[derive(Debug, Clone)]
struct Policy {
    behaviour: Behaviour,
    seed: u64,
    /// Draws for `--foreign-writes`, apart from the fault draws so that turning one on does not
    /// change the other's sequence.
    rng: ChaCha8Rng,
}

impl Policy {
    fn new(behaviour: Behaviour, seed: u64) -> Policy {
        Policy {
            behaviour,
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x666f_7265_6967_6e00),
        }
    }
}

/// Everything the sandbox remembers; the state file and `GET /sandbox/state` are its JSON.
#[derive(Debug, Clone)]
pub struct Store {
    /// One per entity, in [`entity::ALL`] order.
    pub(super) tables: Vec<Table>,
    pub(super) messages: Vec<SentMessage>,
    pub(super) messages_json: Vec<String>,
    policy: Policy,
    /// Records whose cached state-file form must be rebuilt: (table, id).
    dirty: BTreeSet<(usize, u64)>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new(Behaviour::default(), 0)
    }
}

/// The data only: tables and messages.
impl PartialEq for Store {
    fn eq(&self, other: &Store) -> bool {
        self.tables == other.tables && self.messages == other.messages
    }
}

impl Store {
    /// An empty store with these settings; `seed` makes foreign writes replayable.
    pub fn new(behaviour: Behaviour, seed: u64) -> Store {
        Store {
            tables: entity::ALL.iter().map(|e| Table::new(e)).collect(),
            messages: Vec::new(),
            messages_json: Vec::new(),
            policy: Policy::new(behaviour, seed),
            dirty: BTreeSet::new(),
        }
    }

    /// Change the settings, keeping the data. A new seed restarts the foreign-write draws.
    pub fn configure(&mut self, behaviour: Behaviour, seed: u64) {
        if seed != self.policy.seed {
            self.policy = Policy::new(behaviour, seed);
        } else {
            self.policy.behaviour = behaviour;
        }
    }

    pub fn behaviour(&self) -> Behaviour {
        self.policy.behaviour
    }

    /// `POST /sandbox/reset`: no records, no messages, ids from the start; the settings stay and
    /// the foreign-write draws start again.
    pub fn reset(&mut self) {
        *self = Store::new(self.policy.behaviour, self.policy.seed);
    }

    /// The table of an entity of [`entity::ALL`].
    pub(super) fn ti(&self, e: &Entity) -> usize {
        self.tables
            .iter()
            .position(|t| t.entity == e)
            .expect("every entity of entity::ALL has a table")
    }

    /// The table of the entity named `name`, if the sandbox has one.
    fn ti_named(&self, name: &str) -> Option<usize> {
        self.tables.iter().position(|t| t.entity.name == name)
    }

    pub fn table(&self, e: &Entity) -> &Table {
        &self.tables[self.ti(e)]
    }

    /// How many records of `e` are stored.
    pub fn len(&self, e: &Entity) -> usize {
        self.table(e).len()
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

    // -----------------------------------------------------------------------------------------
    // Answers

    /// The record as POST, PUT and bulk answer it: its fields, `origin`, `update_origin`.
    pub fn answer(&self, e: &Entity, id: u64) -> Option<Value> {
        let t = self.ti(e);
        let r = self.tables[t].get(id)?;
        Some(self.form(t, r, false, false))
    }

    /// The record as GET answers it: the answer, plus every other answer-only field (a case's
    /// opt-out flags, derived from its clients; fields the sandbox never sets are null).
    pub fn get(&self, e: &Entity, id: u64) -> Option<Value> {
        let t = self.ti(e);
        let r = self.tables[t].get(id)?;
        Some(self.form(t, r, true, false))
    }

    /// One form of a record. `get` adds the answer-only fields beyond `origin` and
    /// `update_origin`; `state` adds what only the state file keeps (a client's sms and email
    /// opt-outs).
    pub(super) fn form(&self, t: usize, r: &Stored, get: bool, state: bool) -> Value {
        let e = self.tables[t].entity;
        let mut m = Map::new();
        m.insert(e.id.name.into(), Value::from(r.id));
        for f in e.fields {
            m.insert(
                f.name.into(),
                r.fields.get(f.name).cloned().unwrap_or(Value::Null),
            );
        }
        for f in e.answer_only {
            let v = match f.name {
                "origin" => Value::from(r.origin.clone()),
                "update_origin" => r.update_origin.clone().map_or(Value::Null, Value::from),
                _ if !get => continue,
                name => match Channel::of_case_flag(name) {
                    Some(c) => Value::Bool(self.all_opted_out(t, r, c)),
                    None => Value::Null,
                },
            };
            m.insert(f.name.into(), v);
        }
        if state && keeps_opt_outs(e) {
            m.insert("sms_opted_out".into(), Value::Bool(r.opt_outs.sms));
            m.insert("email_opted_out".into(), Value::Bool(r.opt_outs.email));
        }
        Value::Object(m)
    }

    /// The people (clients) linked to record `r` of table `t`.
    fn people_of(&self, t: usize, r: &Stored) -> Vec<&Stored> {
        let mut out = Vec::new();
        for f in self.tables[t].entity.fields {
            let Some(u) = f.links.and_then(|n| self.ti_named(n)) else {
                continue;
            };
            if !keeps_opt_outs(self.tables[u].entity) {
                continue;
            }
            out.extend(
                r.links(f.name)
                    .iter()
                    .filter_map(|&p| self.tables[u].get(p)),
            );
        }
        out
    }

    /// Whether every client linked to `r` opted out of channel `c`: false when it has none.
    fn all_opted_out(&self, t: usize, r: &Stored, c: Channel) -> bool {
        let people = self.people_of(t, r);
        !people.is_empty() && people.iter().all(|p| opted_out(p, c))
    }

    /// Whether a message on `channel` to `client_id` about case `case_id` is dropped for an
    /// opt-out; `None` when the case does not exist.
    pub fn message_dropped(&self, case_id: u64, client_id: u64, channel: Channel) -> Option<bool> {
        let t = self.ti(&CASES);
        let case = self.tables[t].get(case_id)?;
        let client = self.tables[self.ti(&CLIENTS)].get(client_id);
        Some(self.all_opted_out(t, case, channel) || client.is_some_and(|p| opted_out(p, channel)))
    }

    // -----------------------------------------------------------------------------------------
    // Checks before a write

    /// Every id a link field names exists: `client_ids: client 9 does not exist`.
    fn check_links(&self, t: usize, fields: &Map<String, Value>) -> Result<(), ApiError> {
        for f in self.tables[t].entity.fields {
            let Some(u) = f.links.and_then(|n| self.ti_named(n)) else {
                continue;
            };
            let target = &self.tables[u];
            if let Some(missing) = super::table::ids_of(fields.get(f.name))
                .into_iter()
                .find(|&id| !target.contains(id))
            {
                return Err(ApiError::invalid(format!(
                    "{}: {} {missing} does not exist",
                    f.name, target.entity.one
                )));
            }
        }
        Ok(())
    }

    /// The unique field's value of a checked body, when the table enforces one.
    fn unique_value<'a>(&self, t: usize, c: &'a CheckedRecord) -> Option<(&'static str, &'a str)> {
        if self.policy.behaviour.allow_duplicate_case_numbers {
            return None;
        }
        let field = self.tables[t].spec.unique?;
        Some((field, c.text(field)))
    }

    // -----------------------------------------------------------------------------------------
    // Writes

    /// `POST /v1/{entity}`.
    pub fn create(&mut self, e: &Entity, c: CheckedRecord) -> Result<Value, ApiError> {
        let t = self.ti(e);
        if let Some((field, v)) = self.unique_value(t, &c)
            && self.tables[t].taken_by_other(v, None)
        {
            return Err(ApiError::exists(field, v));
        }
        self.check_links(t, &c.fields)?;
        let id = self.new_id(t);
        self.write(t, id, c.fields, false);
        self.flush();
        Ok(self.answer(e, id).unwrap_or(Value::Null))
    }

    /// `PUT /v1/{entity}/{id}`: every field replaced, omitted ones null (links included: a PUT
    /// without `client_ids` unlinks every client).
    pub fn put(&mut self, e: &Entity, id: u64, c: CheckedRecord) -> Result<Value, ApiError> {
        let t = self.ti(e);
        if !self.tables[t].contains(id) {
            return Err(ApiError::no_record(e, id));
        }
        if let Some((field, v)) = self.unique_value(t, &c)
            && self.tables[t].taken_by_other(v, Some(id))
        {
            return Err(ApiError::exists(field, v));
        }
        self.check_links(t, &c.fields)?;
        self.write(t, id, c.fields, false);
        self.flush();
        Ok(self.answer(e, id).unwrap_or(Value::Null))
    }

    /// `DELETE /v1/{entity}/{id}`: whether the record existed. Its links go with it.
    pub fn delete(&mut self, e: &Entity, id: u64) -> bool {
        let t = self.ti(e);
        let existed = self.remove(t, id);
        self.flush();
        existed
    }

    /// `POST /v1/{entity}/bulk`: check every entry against the store first, then apply all of
    /// them, or none. Answers in request order. No error names the entry that failed.
    pub fn bulk(
        &mut self,
        e: &Entity,
        entries: Vec<CheckedRecord>,
    ) -> Result<Vec<Value>, ApiError> {
        let t = self.ti(e);
        self.check_bulk(t, &entries)?;
        let mut ids = Vec::with_capacity(entries.len());
        for c in entries {
            let id = match c.id {
                Some(id) => id,
                None => self.new_id(t),
            };
            self.write(t, id, c.fields, true);
            ids.push(id);
        }
        self.flush();
        Ok(ids
            .into_iter()
            .map(|id| self.answer(e, id).unwrap_or(Value::Null))
            .collect())
    }

    fn check_bulk(&self, t: usize, entries: &[CheckedRecord]) -> Result<(), ApiError> {
        let table = &self.tables[t];
        let mut seen_ids = HashSet::new();
        for c in entries {
            if let Some(id) = c.id {
                if !table.contains(id) {
                    // Like Kayse's bulk errors, this does not say which entry failed.
                    return Err(ApiError::not_found(ApiError::NOT_FOUND));
                }
                if !seen_ids.insert(id) {
                    return Err(ApiError::invalid(format!(
                        "id {id} appears more than once in one request"
                    )));
                }
            }
        }
        if let (Some(field), false) = (
            table.spec.unique,
            self.policy.behaviour.allow_duplicate_case_numbers,
        ) {
            // Values as they will be once the batch is applied: updated records give up their
            // old value first, so a batch may swap or rename values.
            let mut freed: HashMap<&str, usize> = HashMap::new();
            for id in &seen_ids {
                if let Some(v) = table.get(*id).and_then(|r| r.text(field)) {
                    *freed.entry(v).or_insert(0) += 1;
                }
            }
            let mut in_batch = HashSet::new();
            for c in entries {
                let v = c.text(field);
                if !in_batch.insert(v) {
                    return Err(ApiError::invalid(format!(
                        "{field} '{v}' already exists in this request"
                    )));
                }
                let held = table.holders(v).len();
                if held > freed.get(v).copied().unwrap_or(0) {
                    return Err(ApiError::exists(field, v));
                }
            }
        }
        for c in entries {
            self.check_links(t, &c.fields)?;
        }
        Ok(())
    }

    /// `POST /v1/cases/bulk_delete`: the case ids that existed, in request order. With
    /// `with_clients`, the clients linked only to these cases go too.
    pub fn bulk_delete(&mut self, ids: &[u64], with_clients: bool) -> Vec<u64> {
        let t = self.ti(&CASES);
        let mut linked: BTreeSet<(usize, u64)> = BTreeSet::new();
        let mut deleted = Vec::new();
        for &id in ids {
            if with_clients && let Some(r) = self.tables[t].get(id) {
                linked.extend(self.neighbours(t, r));
            }
            if self.remove(t, id) {
                deleted.push(id);
            }
        }
        for (u, id) in linked {
            let Some(r) = self.tables[u].get(id) else {
                continue;
            };
            let still_linked = self.tables[u]
                .entity
                .fields
                .iter()
                .any(|f| f.links == Some(CASES.name) && !r.links(f.name).is_empty());
            if !still_linked {
                self.remove(u, id);
            }
        }
        self.flush();
        deleted
    }

    /// Kayse's web app merging duplicate contacts: `from`'s links move to `into`, then `from`
    /// is gone (a GET of it answers 404). `into` keeps its own fields. Answers `into` as GET does.
    pub fn merge(&mut self, e: &Entity, from: u64, into: u64) -> Result<Value, ApiError> {
        let t = self.ti(e);
        for id in [from, into] {
            if !self.tables[t].contains(id) {
                return Err(ApiError::no_record(e, id));
            }
        }
        if from == into {
            return Err(ApiError::invalid(format!(
                "a {} cannot be merged into itself",
                e.one
            )));
        }
        for f in e.fields.iter().filter(|f| f.links.is_some()) {
            let moving = self.tables[t].get(from).map(|r| r.links(f.name));
            let mut kept = self.tables[t]
                .get(into)
                .map(|r| r.links(f.name))
                .unwrap_or_default();
            for id in moving.unwrap_or_default() {
                if !kept.contains(&id) {
                    kept.push(id);
                }
            }
            self.set_links(t, from, f.name, None);
            self.set_links(t, into, f.name, Some(kept));
        }
        self.remove(t, from);
        self.flush();
        Ok(self.get(e, into).unwrap_or(Value::Null))
    }

    /// A client's reply on a channel, as Kayse hears it: a stop word (`STOP`, `UNSUBSCRIBE`…)
    /// opts the client out of that channel, a start word (`START`, `UNSTOP`) back in, anything
    /// else changes nothing. Answers the client's opt-outs.
    pub fn reply(&mut self, client: u64, channel: Channel, text: &str) -> Result<Value, ApiError> {
        let t = self.ti(&CLIENTS);
        let Some(r) = self.tables[t].get(client) else {
            return Err(ApiError::no_record(&CLIENTS, client));
        };
        let word = text.trim().to_ascii_lowercase();
        const STOP: &[&str] = &[
            "stop",
            "stopall",
            "unsubscribe",
            "cancel",
            "end",
            "quit",
            "revoke",
            "opt out",
        ];
        const START: &[&str] = &["start", "unstop", "subscribe", "opt in"];
        let to = if STOP.contains(&word.as_str()) {
            Some(true)
        } else if START.contains(&word.as_str()) {
            Some(false)
        } else {
            None
        };
        let mut o = r.opt_outs;
        if let Some(out) = to {
            match channel {
                Channel::Sms => o.sms = out,
                Channel::Email => o.email = out,
                Channel::Voice => {
                    return Err(ApiError::invalid("channel: must be sms or email"));
                }
            }
            self.tables[t].set_opt_outs(client, o);
            self.mark(t, client);
            self.flush();
        }
        Ok(serde_json::json!({
            "client_id": client,
            "changed": to.is_some(),
            "sms_opted_out": o.sms,
            "email_opted_out": o.email,
        }))
    }

    /// A new id for table `t`. With `--foreign-writes RATE`, first, with probability RATE,
    /// another integration "creates" one to three records that take the next ids; they exist
    /// (a GET finds them) but match nothing the tool sent.
    fn new_id(&mut self, t: usize) -> u64 {
        let rate = self.policy.behaviour.foreign_writes;
        if rate > 0.0 && self.policy.rng.random::<f64>() < rate {
            let n = self.policy.rng.random_range(1..=3u64);
            for _ in 0..n {
                let id = self.tables[t].allocate();
                let r = placeholder(self.tables[t].entity, id, "other-integration");
                self.tables[t].put(r);
                self.mark(t, id);
            }
        }
        self.tables[t].allocate()
    }

    /// Store checked `fields` as record `id` of table `t` (a create when it does not exist),
    /// then its links and the opt-out rules. `on_bulk`: a bulk entry, where a client's
    /// `voice_calls_opted_out` applies across its cases.
    fn write(&mut self, t: usize, id: u64, mut fields: Map<String, Value>, on_bulk: bool) {
        let e = self.tables[t].entity;
        let old = self.tables[t].get(id).cloned();
        let mut links = Vec::new();
        for f in e.fields.iter().filter(|f| f.links.is_some()) {
            let new = fields.get(f.name).filter(|v| !v.is_null()).map(|v| {
                let mut ids = super::table::ids_of(Some(v));
                dedup_in_order(&mut ids);
                ids
            });
            links.push((f.name, new));
            // Until `set_links` runs, the record keeps the links it had.
            let had = old
                .as_ref()
                .and_then(|o| o.fields.get(f.name).cloned())
                .unwrap_or(Value::Null);
            fields.insert(f.name.into(), had);
        }
        let r = match old {
            Some(o) => Stored {
                id,
                fields,
                origin: o.origin,
                update_origin: Some(PUBLIC_API.to_string()),
                opt_outs: o.opt_outs,
            },
            None => Stored::new(id, fields),
        };
        self.tables[t].put(r);
        for (name, new) in links {
            self.set_links(t, id, name, new);
        }
        self.opt_out_rules(t, id, on_bulk);
        self.mark(t, id);
    }

    /// Give record `id` of table `t` exactly the links `new` in field `name` (`None`: null,
    /// no links), and the records on the other side the matching links: one unlinked loses
    /// `id` from its own list, one newly linked gains it at the end.
    pub(super) fn set_links(&mut self, t: usize, id: u64, name: &str, new: Option<Vec<u64>>) {
        let Some(old) = self.tables[t].get(id).map(|r| r.links(name)) else {
            return;
        };
        let e = self.tables[t].entity;
        let other = e
            .field(name)
            .and_then(|f| f.links)
            .and_then(|n| self.ti_named(n));
        let new_ids = new.clone().unwrap_or_default();
        if let Some(u) = other
            && let Some(inv) = self.tables[u].entity.link_to(e.name)
        {
            let inv = self.tables[u].entity.fields[inv].name;
            for &gone in old.iter().filter(|o| !new_ids.contains(o)) {
                if let Some(mut list) = self.tables[u].get(gone).map(|r| r.links(inv)) {
                    list.retain(|&x| x != id);
                    self.tables[u].set_field(gone, inv, Value::from(list));
                    self.mark(u, gone);
                }
            }
            for &added in new_ids.iter().filter(|n| !old.contains(n)) {
                if let Some(mut list) = self.tables[u].get(added).map(|r| r.links(inv)) {
                    list.push(id);
                    self.tables[u].set_field(added, inv, Value::from(list));
                    self.mark(u, added);
                }
            }
        }
        self.tables[t].set_field(id, name, new.map_or(Value::Null, Value::from));
        self.mark(t, id);
    }

    /// Kayse's opt-out rules after a write of record `id` of table `t`: a case with
    /// `opt_out_voice_calls: true` marks its clients opted out of voice calls; a client sent on
    /// bulk with `voice_calls_opted_out: true` applies it across its cases (every client of
    /// each of its cases is marked). True only marks: false or null never opts anyone back in.
    fn opt_out_rules(&mut self, t: usize, id: u64, on_bulk: bool) {
        let Some(r) = self.tables[t].get(id) else {
            return;
        };
        let mut cases: Vec<(usize, u64)> = Vec::new();
        if r.flag(MARKS_CLIENTS) {
            cases.push((t, id));
        }
        if on_bulk && keeps_opt_outs(self.tables[t].entity) && r.flag(VOICE) {
            cases.extend(self.neighbours(t, r));
        }
        for (c, case) in cases {
            let Some(case) = self.tables[c].get(case) else {
                continue;
            };
            let people: Vec<(usize, u64)> = self
                .neighbours(c, case)
                .into_iter()
                .filter(|(u, _)| keeps_opt_outs(self.tables[*u].entity))
                .collect();
            for (u, p) in people {
                if !self.tables[u].get(p).is_some_and(|p| p.flag(VOICE)) {
                    self.tables[u].set_field(p, VOICE, Value::Bool(true));
                    self.mark(u, p);
                }
            }
        }
    }

    /// Every record linked to `r` (of table `t`), as (table, id).
    fn neighbours(&self, t: usize, r: &Stored) -> Vec<(usize, u64)> {
        let mut out = Vec::new();
        for f in self.tables[t].entity.fields {
            if let Some(u) = f.links.and_then(|n| self.ti_named(n)) {
                out.extend(r.links(f.name).into_iter().map(|id| (u, id)));
            }
        }
        out
    }

    /// Unlink and remove record `id` of table `t`: whether it existed.
    pub(super) fn remove(&mut self, t: usize, id: u64) -> bool {
        if !self.tables[t].contains(id) {
            return false;
        }
        for f in self.tables[t].entity.fields {
            if f.links.is_some() {
                self.set_links(t, id, f.name, None);
            }
        }
        self.tables[t].remove(id);
        self.dirty.remove(&(t, id));
        true
    }

    /// Note that a record's state-file form must be rebuilt, and those of the records linked to
    /// it (a client's opt-outs show in its cases' flags).
    pub(super) fn mark(&mut self, t: usize, id: u64) {
        self.dirty.insert((t, id));
        if let Some(r) = self.tables[t].get(id) {
            let n = self.neighbours(t, r);
            self.dirty.extend(n);
        }
    }

    /// Rebuild the cached state-file forms of every marked record.
    pub(super) fn flush(&mut self) {
        for (t, id) in std::mem::take(&mut self.dirty) {
            let json = self.tables[t]
                .get(id)
                .map(|r| self.form(t, r, true, true).to_string());
            self.tables[t].cache(id, json);
        }
    }
}

/// Whether an entity's records are people who opt out (clients): they carry the voice-call
/// field and the sandbox keeps their sms and email opt-outs.
pub(super) fn keeps_opt_outs(e: &Entity) -> bool {
    e.field_index(VOICE).is_some()
}

fn opted_out(p: &Stored, c: Channel) -> bool {
    match c {
        Channel::Voice => p.flag(VOICE),
        Channel::Sms => p.opt_outs.sms,
        Channel::Email => p.opt_outs.email,
    }
}

/// Keep the first of each id.
fn dedup_in_order(ids: &mut Vec<u64>) {
    let mut seen = HashSet::new();
    ids.retain(|id| seen.insert(*id));
}

/// A record no request of the tool made: every required text field `{source}-{id}` (the
/// `external_source` just `{source}`), everything else null. Other integrations' records
/// (`--foreign-writes`) and the stand-in clients of seeds.
pub(super) fn placeholder(e: &Entity, id: u64, source: &str) -> Stored {
    let fields = e
        .fields
        .iter()
        .map(|f| {
            let v = match (f.required, f.name) {
                (true, "external_source") => Value::from(source),
                (true, _) => Value::from(format!("{source}-{id}")),
                _ => Value::Null,
            };
            (f.name.to_string(), v)
        })
        .collect();
    Stored::new(id, fields)
}

/// Opt-outs as stored: unused on entities that do not keep them.
pub(super) fn opt_outs_from(obj: &Map<String, Value>) -> OptOuts {
    let flag = |k: &str| matches!(obj.get(k), Some(Value::Bool(true)));
    OptOuts {
        sms: flag("sms_opted_out"),
        email: flag("email_opted_out"),
    }
}
