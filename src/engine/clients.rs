//! What the ledger knows of a case sheet's clients, before anything is sent: `import` reuses
//! them (linking each with no request), and `import --dry-run` counts them in its plan. A
//! client is known by its external pair; else by its email, then its mobile, when exactly one
//! live client the ledger holds has it under a name that agrees (`check::people::Name`). Reads
//! only; never a request.

use serde_json::Value as Json;

use crate::check::people::Name;
use crate::entity::Record;
use crate::error::Fatal;
use crate::record::ledger::{self, Ledger, Status};

/// The Kayse id of the client the ledger knows as `rec`: by its external pair (one live record),
/// else [`by_contact`].
pub fn known(ledger: &Ledger, rec: &Record) -> Result<Option<u64>, Fatal> {
    let state = rec.to_json();
    if let Some(key) = ledger::rule("clients", "external").and_then(|r| r.of_state(&state)) {
        let found = ledger.find("clients", &key).map_err(Fatal::from)?;
        if let Some(k) = found.live() {
            return Ok(Some(k.id));
        }
    }
    by_contact(ledger, rec)
}

/// The first and last name of a ledger state, for comparison.
fn name_of(state: &Json) -> Option<Name> {
    let t = |f: &str| state.get(f).and_then(Json::as_str);
    Some(Name::new(t("first_name")?, t("last_name")?))
}

/// A client the ledger knows by this one's email, else its mobile, whose name agrees: the one
/// live id, if exactly one such client exists.
pub fn by_contact(ledger: &Ledger, rec: &Record) -> Result<Option<u64>, Fatal> {
    let state = rec.to_json();
    let Some(name) = name_of(&state) else {
        return Ok(None);
    };
    for rule in ["email", "mobile"] {
        let Some(key) = ledger::rule("clients", rule).and_then(|r| r.of_state(&state)) else {
            continue;
        };
        let found = ledger.find("clients", &key).map_err(Fatal::from)?;
        let mut ids: Vec<u64> = found
            .records
            .iter()
            .filter(|k| k.status == Status::Live)
            .filter(|k| {
                k.compare_state()
                    .and_then(name_of)
                    .is_some_and(|n| n.agrees(&name))
            })
            .map(|k| k.id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if let [id] = ids[..] {
            return Ok(Some(id));
        }
    }
    Ok(None)
}
