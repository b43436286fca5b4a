//! The sandbox: a local stand-in for the Kayse Cases and Clients API, run by `kayse-bulk sandbox`
//! (the command lives in `commands::sandbox`) and embedded behind the global `--sandbox`. This
//! file owns starting and stopping the server, the state file's loading and the [`Behaviour`]
//! options; the rules are in `rules`/`state` (one `table` per entity), the state file's format
//! in `persist`, the HTTP side in `server`. It never talks to the real Kayse.
//!
//! Admin routes (no key, not rate limited, JSON):
//! - `GET /sandbox/state`: `{"cases": [...], "clients": [...], "messages": [...], "next_ids":
//!   {"cases": n, "clients": m}}`, records in their GET form (a client also with its sms and
//!   email opt-outs), byte for byte the state file.
//! - `POST /sandbox/seed` `{"cases": [...], "clients": [...]}` → `{"ids": [...], "client_ids":
//!   [...]}` (see `Store::seed`).
//! - `POST /sandbox/reply` `{"client_id", "channel": "sms"|"email", "message"}`: the client
//!   replies; `STOP` (and the other stop words) opts it out of that channel, `START` back in.
//! - `POST /sandbox/merge_clients` `{"from": A, "into": B}`: Kayse's web app merging duplicate
//!   contacts; A answers 404 afterwards and its cases are B's.
//! - `POST /sandbox/reset`: no records, no messages, ids from the start, stats and rate window
//!   cleared (the settings stay).
//! - `GET|POST /sandbox/config` `{"faults", "latency", "rate_limit", "max_bulk", "slow_ms", "seed",
//!   "allow_duplicate_case_numbers", "foreign_writes"}`: any subset, applied all or nothing;
//!   answers the whole current config.
//! - `GET /sandbox/stats`: requests, by_route, rate_limited, faults, max_in_flight, bulk_sizes
//!   (cases), bulk_sizes_by_entity, bulk_delete_sizes, records (per entity).

pub mod faults;
mod persist;
pub mod rules;
pub mod server;
pub mod state;
mod table;

#[cfg(test)]
mod store_tests;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::cli::Global;
use crate::entity::Entity;
use crate::error::Fatal;
use crate::send::ApiKey;
use crate::send::rate::RateSpec;

pub use faults::{Fault, FaultSpec, Latency};
pub use server::Clock;

/// The key the sandbox accepts unless told otherwise; not a secret.
pub const DEFAULT_KEY: &str = "sandbox";

/// How faithful to a strict server the sandbox is about ids and uniqueness: the options of issue
/// 11 that let tests show the tool's own memory at work. Also settable through
/// `POST /sandbox/config`.
#[derive(Debug, Clone, Copy, Default, PartialEq, clap::Args)]
pub struct Behaviour {
    /// Do not enforce unique case numbers (Kayse's docs do not say whether it does), so a case
    /// sent twice is created twice.
    #[arg(long)]
    pub allow_duplicate_case_numbers: bool,
    /// Interleave ids with other writers': with probability RATE (0 to 1) each new id skips
    /// ahead, as if another integration had just created one to three records (which exist).
    /// Replayable with --seed.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub foreign_writes: f64,
}

/// A probability from 0 to 1.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!(
            "'{}' is not a rate; use a number from 0 to 1, such as 0.1",
            s.trim()
        )),
    }
}

/// Everything a sandbox server starts with. `/sandbox/config` can change the rate, bulk size,
/// latency, faults, slow delay and seed later.
/// Debug shows the key as `***` (it is an `ApiKey`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    pub api_key: ApiKey,
    pub rate: RateSpec,
    pub max_bulk: usize,
    pub latency: Latency,
    pub faults: FaultSpec,
    /// How long a `slow` fault holds its answer, in ms.
    pub slow_ms: u64,
    /// State file: loaded by `spawn`, saved after every change. `None` keeps data in memory.
    pub state: Option<PathBuf>,
    pub seed: u64,
    /// One line per request on stderr.
    pub log: bool,
    /// The time the rate windows read: the system clock, or tokio's for tests.
    pub clock: Clock,
    /// Unique case numbers or not; foreign writes.
    pub behaviour: Behaviour,
}

impl Default for Config {
    /// A quiet in-memory sandbox on a free loopback port with Kayse's real limits.
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key: ApiKey::new(DEFAULT_KEY),
            rate: RateSpec::KAYSE,
            max_bulk: 500,
            latency: Latency::default(),
            faults: FaultSpec::default(),
            slow_ms: 65_000,
            state: None,
            seed: 0,
            log: false,
            clock: Clock::System,
            behaviour: Behaviour::default(),
        }
    }
}

/// A running sandbox. Dropping the handle leaves the server running for the life of the runtime;
/// `shutdown` stops it.
pub struct Handle {
    pub addr: SocketAddr,
    shared: Arc<server::Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").field("addr", &self.addr).finish()
    }
}

impl Handle {
    /// What `GET /sandbox/state` answers, for in-process tests.
    pub fn state_json(&self) -> Value {
        self.shared.state_json()
    }

    /// `http://127.0.0.1:PORT`, with no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting, let requests in flight finish, and save the state.
    pub async fn shutdown(mut self) -> Result<(), Fatal> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // A `slow` fault may hold a connection for a minute: don't wait for it forever.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        }
        self.shared
            .save_now()
            .await
            .map_err(|e| Fatal::stopped(format!("could not save the sandbox state: {e}")))
    }
}

/// A sandbox running in this process, started by the global `--sandbox`.
#[derive(Debug)]
pub struct Embedded {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    pub api_key: ApiKey,
    /// The server; keep it or drop it, the server runs as long as the runtime does.
    pub handle: Handle,
}

/// Where the embedded sandbox keeps its data: `--sandbox-state`, else `kayse-sandbox.json` in
/// the current folder.
pub fn state_path(g: &Global) -> PathBuf {
    g.sandbox_state
        .clone()
        .unwrap_or_else(|| PathBuf::from("kayse-sandbox.json"))
}

/// Load the state file: a missing file is an empty sandbox, an unreadable one is fatal.
fn load(path: Option<&PathBuf>) -> Result<state::Store, Fatal> {
    let Some(path) = path else {
        return Ok(state::Store::default());
    };
    // Refuse now a folder that cannot hold the file, rather than fail every change later.
    let folder = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !folder.is_dir() {
        return Err(Fatal::usage(format!(
            "cannot keep sandbox state in {}: folder {} does not exist",
            path.display(),
            folder.display()
        )));
    }
    match std::fs::read(path) {
        Ok(bytes) => state::Store::from_json(&bytes).map_err(|e| {
            Fatal::usage(format!(
                "sandbox state file {} is not valid: {e}",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(state::Store::default()),
        Err(e) => Err(Fatal::usage(format!(
            "cannot read sandbox state file {}: {e}",
            path.display()
        ))),
    }
}

/// Start a sandbox on the current tokio runtime.
pub async fn spawn(config: Config) -> Result<Handle, Fatal> {
    let store = load(config.state.as_ref())?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| Fatal::usage(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Fatal::usage(format!("cannot listen on {}: {e}", config.listen)))?;
    let shared = Arc::new(server::Shared::new(&config, store));
    let app =
        server::router(shared.clone()).into_make_service_with_connect_info::<server::ConnCut>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let signal = async move {
            // A dropped handle is not a request to stop.
            if stopped.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let _ = axum::serve(server::CuttableListener(listener), app)
            .with_graceful_shutdown(signal)
            .await;
    });
    Ok(Handle {
        addr,
        shared,
        stop: Some(stop),
        task: Some(task),
    })
}

/// Start the sandbox in-process on a free loopback port, with its state in `state`.
pub async fn start_embedded(state: PathBuf) -> Result<Embedded, Fatal> {
    let handle = spawn(Config {
        state: Some(state),
        ..Config::default()
    })
    .await?;
    Ok(Embedded {
        base_url: handle.base_url(),
        api_key: ApiKey::new(DEFAULT_KEY),
        handle,
    })
}

/// `GET /v1/metadata/objects`, straight from the tables: each entity with its create fields.
pub fn metadata_json(entities: &[&Entity]) -> Value {
    let objects: Vec<Value> = entities
        .iter()
        .map(|e| {
            let fields: Vec<Value> = e
                .fields
                .iter()
                .map(|f| {
                    json!({
                        "name": f.name,
                        "type": f.kind.api_name(),
                        "required": f.required,
                        "description": f.description,
                    })
                })
                .collect();
            json!({ "name": e.name, "fields": fields })
        })
        .collect();
    Value::Array(objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_lists_every_field_of_every_entity() {
        use crate::entity::{ALL, CASES, tests::PEOPLE};
        let entities: &[&Entity] = &[&CASES, &PEOPLE];
        let m = metadata_json(entities);
        assert_eq!(m.as_array().unwrap().len(), 2);
        for (e, object) in entities.iter().zip(m.as_array().unwrap()) {
            let fields = object["fields"].as_array().unwrap();
            assert_eq!(object["name"], e.name);
            assert_eq!(fields.len(), e.fields.len());
            for (f, v) in e.fields.iter().zip(fields) {
                assert_eq!(v["name"], f.name);
                assert_eq!(v["type"], f.kind.api_name());
                assert_eq!(v["required"], f.required);
            }
        }
        assert_eq!(metadata_json(ALL)[0]["name"], "cases");
    }

    #[test]
    fn state_path_defaults_to_the_current_folder() {
        let mut g = Global::default();
        assert_eq!(state_path(&g), PathBuf::from("kayse-sandbox.json"));
        g.sandbox_state = Some(PathBuf::from("/tmp/x.json"));
        assert_eq!(state_path(&g), PathBuf::from("/tmp/x.json"));
    }

    #[test]
    fn debug_hides_the_key() {
        let c = Config {
            api_key: ApiKey::new("s3cret-key"),
            ..Config::default()
        };
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
