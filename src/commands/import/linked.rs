//! A case sheet's clients, sent with their cases. The reading pass found the distinct people the
//! rows name (`check::linked`); here they are settled against the ledger (a client it knows is
//! linked with no request), the missing ones are created in bulk, and only then do the cases
//! go, each with the `client_ids` of exactly the people its row names. A case whose client could
//! not be created is not sent without it: it is `failed` with the client's reason, unless
//! `--allow-missing-clients`.
//!
//! - **Keys.** Client `k` (its place among the sheet's clients, fixed by the input's
//!   fingerprint) is journaled and recorded as [`CLIENT_KEY`]` + k`, apart from every row.
//! - **Never twice.** Nothing in Kayse is unique about a client, so a create whose answer was
//!   lost is never sent again (`Entity::refuses_duplicates`): it is `unknown`, the ledger holds
//!   it in doubt, and no later run creates it anew.
//! - **Links from the case side.** A client's `case_ids` are never sent from here. A client the
//!   sheet changes is updated after a GET whose links it keeps, so an update never cuts a link an
//!   earlier import made.
//! - **Reuse.** The ledger finds a client by its external id (given, or derived from the same
//!   key by every run), else by its email or mobile when the name agrees. `unchanged`: the ledger
//!   has it from this file; `reused`: from another sheet. A client known by its name alone is
//!   never taken from another sheet without `--merge-by-name`: two people may share a name.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

use super::answer::{Item, record};
use crate::check::linked::{Client, Clients};
use crate::engine::{Sent, Settled, Work};
use crate::entity::{CASES, Value};
use crate::outcome::{Outcome, RowError};
use crate::record::journal::RowRecord;
use crate::report::clients::Fate;

/// The first key of a client: above any row number a sheet can have.
pub const CLIENT_KEY: usize = 1 << 40;

/// What a client that was never answered is, after a resume (it may have been created).
pub const IN_FLIGHT_NOTE: &str = "the run stopped while this client's create was in flight; it is never sent twice (Kayse would make a second client): check the client in Kayse, then ledger add an export that has it";

/// The key of client `k`.
pub fn key(k: usize) -> usize {
    CLIENT_KEY + k
}

/// Where a client stands for the cases that name it.
#[derive(Debug, Clone, PartialEq)]
pub enum Ready {
    Id(u64),
    /// Still to be created by this run.
    Pending,
    /// It will not exist: why.
    Missing(String),
}

/// The clients of a linked import.
pub struct Linked {
    pub clients: Clients,
    /// Clients settled with no request (the ledger knows them, or refuses them), by key.
    pub(super) settled: BTreeMap<usize, RowRecord>,
    pub(super) allow_missing: bool,
}

/// How a client is named in a case's error: `Maria Garcia (row 4)`.
fn who(c: &Client) -> String {
    let name = [c.record.text("first_name"), c.record.text("last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    format!("{name} ({})", c.rows.first().map_or("", String::as_str))
}

impl Linked {
    /// What every sendable client sends, by key, for the ledger's record.
    pub fn states(&self) -> HashMap<usize, Json> {
        self.clients
            .clients
            .iter()
            .enumerate()
            .filter(|(_, c)| c.problem.is_none())
            .map(|(k, c)| (key(k), c.record.to_json()))
            .collect()
    }

    /// The first row of each client, by key: where the ledger says it came from.
    pub fn source_rows(&self) -> HashMap<usize, usize> {
        self.clients
            .first_rows()
            .into_iter()
            .enumerate()
            .map(|(k, row)| (key(k), row))
            .collect()
    }

    /// The clients settled with no request, for the ledger's counts.
    pub fn settled(&self) -> Vec<RowRecord> {
        self.settled.values().cloned().collect()
    }

    /// How many clients the ledger already has (linked with no request).
    pub fn known(&self) -> u64 {
        self.settled
            .values()
            .filter(|r| matches!(r.outcome, Outcome::Unchanged | Outcome::Reused))
            .count() as u64
    }

    /// Where client `k` stands, given the outcomes journaled so far (`done`, by key).
    pub fn ready(&self, k: usize, done: &BTreeMap<usize, RowRecord>) -> Ready {
        let c = &self.clients.clients[k];
        if let Some(p) = &c.problem {
            return Ready::Missing(format!("its client {} cannot be sent: {p}", who(c)));
        }
        let Some(r) = self.settled.get(&key(k)).or_else(|| done.get(&key(k))) else {
            return Ready::Pending;
        };
        let why = r.error.as_deref().unwrap_or(r.outcome.as_str());
        match (r.outcome, r.id) {
            (
                Outcome::Created | Outcome::Updated | Outcome::Unchanged | Outcome::Reused,
                Some(id),
            ) => Ready::Id(id),
            (Outcome::Unknown, _) => Ready::Missing(format!(
                "its client {} may or may not have been created ({why})",
                who(c)
            )),
            _ => Ready::Missing(format!("its client {} was not created: {why}", who(c))),
        }
    }

    /// Give each case the ids of the clients its row names. Before the clients are sent
    /// (`last` false), a client still to be created stands as id 0, so the ledger sees the case
    /// change; after (`last` true), a case whose client is still pending (the run stopped) is
    /// held back, unsent. A case with a client that will not exist comes back `failed`, unless
    /// missing clients are allowed.
    pub fn fill(
        &self,
        items: Vec<Item>,
        done: &BTreeMap<usize, RowRecord>,
        last: bool,
    ) -> (Vec<Item>, Vec<RowRecord>) {
        let Some(field) = CASES.link_to("clients") else {
            return (items, Vec::new());
        };
        let mut send = Vec::with_capacity(items.len());
        let mut failed = Vec::new();
        for (row, mut case) in items {
            let Some(ks) = self.clients.of_row.get(&row) else {
                send.push((row, case));
                continue;
            };
            let (mut ids, mut missing, mut pending) = (Vec::new(), Vec::new(), false);
            for &k in ks {
                match self.ready(k, done) {
                    Ready::Id(id) => ids.push(id),
                    Ready::Pending if last => pending = true,
                    Ready::Pending => ids.push(0),
                    Ready::Missing(why) => missing.push(why),
                }
            }
            if !missing.is_empty() && !self.allow_missing {
                let why = format!(
                    "{}; the case is not sent without it (--allow-missing-clients sends it anyway)",
                    missing.join("; ")
                );
                failed.push(record(row, None, Outcome::Failed, case.id, Some(why)));
                continue;
            }
            if pending {
                continue; // not sent: the results say the run stopped
            }
            case.set(field, Value::IdList(ids));
            send.push((row, case));
        }
        (send, failed)
    }

    /// [`Linked::fill`] over a run's queued work, once the clients are sent.
    pub fn fill_work(
        &self,
        work: Work<Item>,
        done: &BTreeMap<usize, RowRecord>,
    ) -> (Work<Item>, Vec<RowRecord>) {
        let mut failed = Vec::new();
        let mut fill = |items: Vec<Item>| {
            let (items, f) = self.fill(items, done, true);
            failed.extend(f);
            items
        };
        let doubtful = work
            .doubtful
            .into_iter()
            .map(|mut j| {
                j.items = fill(std::mem::take(&mut j.items));
                j
            })
            .filter(|j| !j.items.is_empty())
            .collect();
        let lists = work.lists.into_iter().map(&mut fill).collect();
        (Work { doubtful, lists }, failed)
    }

    /// What became of each client, for the Clients sheet.
    pub fn fates(&self, sent: &Sent) -> Vec<Fate> {
        let not_sent = sent.not_sent("sent");
        (0..self.clients.clients.len())
            .map(|k| {
                let c = &self.clients.clients[k];
                if let Some(p) = &c.problem {
                    return fate(Outcome::Invalid, None, Some(p.clone()));
                }
                if let Some(r) = self.settled.get(&key(k)) {
                    return fate(r.outcome, r.id, r.error.clone());
                }
                match sent.settle(key(k)) {
                    Settled::Done(r) => fate(r.outcome, r.id, r.error.clone()),
                    Settled::InDoubt => fate(
                        Outcome::Unknown,
                        None,
                        Some("the run stopped while this client's request was in flight".into()),
                    ),
                    Settled::NotSent => fate(Outcome::Skipped, None, Some(not_sent.clone())),
                }
            })
            .collect()
    }

    /// The `kayse_client_ids` of a row: the ids of its clients that exist, `;` between.
    pub fn ids_text(&self, row: usize, fates: &[Fate]) -> String {
        self.clients
            .of_row
            .get(&row)
            .into_iter()
            .flatten()
            .filter_map(|&k| fates.get(k).and_then(|f| f.id))
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// The rows naming a client the sheet contradicts (or never names in full), each with the
/// client's reason, as `validate` says: they are invalid, not sent.
pub fn unsendable(clients: &Clients) -> BTreeMap<usize, Vec<RowError>> {
    let mut out: BTreeMap<usize, Vec<RowError>> = BTreeMap::new();
    for (&row, ks) in &clients.of_row {
        for &k in ks {
            if let Some(p) = &clients.clients[k].problem {
                out.entry(row)
                    .or_default()
                    .push(RowError::new("client", p.clone()));
            }
        }
    }
    out
}

fn fate(outcome: Outcome, id: Option<u64>, error: Option<String>) -> Fate {
    Fate { outcome, id, error }
}
