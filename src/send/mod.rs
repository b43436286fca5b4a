//! The HTTP client for the Kayse API: connection settings, the key, and typed calls that all go
//! through one shared pacer and one retry policy. It knows nothing of spreadsheets, journals or
//! rows: commands decide what an answer means for their rows.
//!
//! Reused by `import`, `export`, `delete`, `sms` and `email`: flatten [`ConnectionArgs`] and
//! [`PacingArgs`] into the command's options, call [`connect`] then [`Client::new`], and share the
//! one `Client` (it is cheap to clone) between workers.

pub mod learned;
pub mod pacing;
pub mod rate;
pub mod retry;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, Url};
use serde_json::{Value, json};

use crate::cli::Global;
use crate::entity::{Entity, Record};
use crate::error::Fatal;
use crate::report::summary::RequestStats;
use crate::send::rate::RateSpec;

pub use pacing::{Halt, Pacer, PacerView, RateHeaders, StopSignal, WindowNews};
pub use retry::{RetryPolicy, Verdict};

/// Where Kayse lives when nothing else is said.
pub const DEFAULT_BASE_URL: &str = "https://public-api.kayse.ai";

/// How to reach Kayse. The key is never a flag, so it can never show up in a command line.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// API base URL (plain http:// only for loopback hosts).
    #[arg(long, env = "KAYSE_BASE_URL", default_value = DEFAULT_BASE_URL, value_name = "URL")]
    pub base_url: String,
    /// File holding the API key [default: the KAYSE_API_KEY environment variable].
    #[arg(long, value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,
    /// Seconds to wait for one answer before treating it as lost.
    #[arg(long, default_value_t = 60, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

/// How fast and how much a run may spend of the key's request budget.
#[derive(Debug, Clone, clap::Args)]
pub struct PacingArgs {
    /// Requests per window this run may use, e.g. 500/h, 100/m, 60/10s (bursts allowed).
    #[arg(long, default_value = "500/h", value_name = "N/h|N/m|N/s")]
    pub rate_limit: RateSpec,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
    /// The most requests this run may use; when spent, the run stops and can be resumed.
    #[arg(long, value_name = "N")]
    pub budget: Option<u64>,
    /// How long to wait out Kayse being down (every request failing with 5xx or no connection)
    /// before stopping, ready to --resume: 15m, 90s, 1h.
    #[arg(long, default_value = "15m", value_name = "WAIT", value_parser = retry::parse_wait)]
    pub outage_wait: Duration,
    /// Backoff base in milliseconds (tests only).
    #[arg(long, hide = true, env = "KAYSE_BULK_RETRY_BASE_MS")]
    pub retry_base_ms: Option<u64>,
}

impl PacingArgs {
    /// The retry policy. A test's smaller base shrinks the cap with it, so an outage's growing
    /// waits stay as short as its retries.
    pub fn policy(&self) -> RetryPolicy {
        let mut p = RetryPolicy::default();
        if let Some(ms) = self.retry_base_ms {
            p.base = Duration::from_millis(ms.max(1));
            p.cap = p.base * 60;
        }
        p
    }
}

/// The API key. Debug and Display print `***`, so it cannot leak through logs or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key itself, for the one header that carries it (or the sandbox's comparison).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Where to send requests and with which key.
#[derive(Debug, Clone)]
pub struct Connection {
    pub base_url: Url,
    pub key: ApiKey,
    /// True when talking to the sandbox embedded with `--sandbox`.
    pub embedded: bool,
    pub timeout: Duration,
}

/// Which server a run talks to and with which key, known without a request: what the journal
/// records, so that a resume against another server or with another key is refused. Holds a
/// one-way fingerprint of the key, never the key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Server {
    /// The base URL, or `embedded sandbox (STATE)` for `--sandbox` (whose port changes per run).
    pub url: String,
    /// The embedded sandbox, or a server on this machine (only a stand-in can be there).
    pub sandbox: bool,
    /// The first 16 hex digits of a sha256 over the key (see [`key_fingerprint`]).
    pub key: String,
}

impl Server {
    /// Resolve the server and the key's fingerprint from the options, as `connect` will, but
    /// without connecting and without printing anything.
    pub fn of(args: &ConnectionArgs, g: &Global) -> Result<Server, Fatal> {
        if g.sandbox {
            let state = g
                .sandbox_state
                .clone()
                .unwrap_or_else(|| PathBuf::from("kayse-sandbox.json"));
            return Ok(Server {
                url: format!("embedded sandbox ({})", state.display()),
                sandbox: true,
                key: key_fingerprint(&ApiKey::new(crate::sandbox::DEFAULT_KEY)),
            });
        }
        let url = parse_base_url(&args.base_url)?;
        let quiet = Global {
            quiet: true,
            ..g.clone()
        };
        let key = api_key(args, &quiet)?;
        Ok(Server {
            sandbox: is_loopback(&url),
            url: url.as_str().trim_end_matches('/').to_string(),
            key: key_fingerprint(&key),
        })
    }
}

/// A one-way fingerprint of the key: enough to tell two keys apart, useless to recover one.
pub fn key_fingerprint(key: &ApiKey) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"kayse-bulk key fingerprint\0");
    h.update(key.expose().as_bytes());
    crate::record::journal::hex(&h.finalize()[..8])
}

/// Work out the connection: the embedded sandbox with `--sandbox`, else the base URL and the key
/// from `--api-key-file` or `KAYSE_API_KEY`. Must run inside the tokio runtime (the sandbox does).
pub async fn connect(args: &ConnectionArgs, g: &Global) -> Result<Connection, Fatal> {
    let timeout = Duration::from_secs(args.timeout);
    if g.sandbox {
        let state = g
            .sandbox_state
            .clone()
            .unwrap_or_else(|| PathBuf::from("kayse-sandbox.json"));
        let e = crate::sandbox::start_embedded(state).await?;
        return Ok(Connection {
            base_url: parse_base_url(&e.base_url)?,
            key: e.api_key,
            embedded: true,
            timeout,
        });
    }
    let key = api_key(args, g)?;
    Ok(Connection {
        base_url: parse_base_url(&args.base_url)?,
        key,
        embedded: false,
        timeout,
    })
}

/// The key from `--api-key-file` or `KAYSE_API_KEY` (not the sandbox's): the connection's, and
/// the ledger's default file is named from its fingerprint.
pub fn api_key(args: &ConnectionArgs, g: &Global) -> Result<ApiKey, Fatal> {
    match &args.api_key_file {
        Some(path) => read_key_file(path, g),
        None => match std::env::var("KAYSE_API_KEY") {
            Ok(k) if !k.trim().is_empty() => Ok(ApiKey::new(k.trim())),
            _ => Err(Fatal::usage(
                "no API key: set KAYSE_API_KEY or pass --api-key-file (or try --sandbox)",
            )),
        },
    }
}

fn read_key_file(path: &Path, g: &Global) -> Result<ApiKey, Fatal> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Fatal::usage(format!(
            "cannot read the API key file {}: {e}",
            path.display()
        ))
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o044 != 0
            && !g.quiet
        {
            eprintln!(
                "warning: the API key file {} can be read by other users; run: chmod 600 {}",
                path.display(),
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = g;
    let key = text.trim();
    if key.is_empty() {
        return Err(Fatal::usage(format!(
            "the API key file {} is empty",
            path.display()
        )));
    }
    Ok(ApiKey::new(key))
}

/// Parse a base URL, refusing plain http to anything but this machine.
pub fn parse_base_url(s: &str) -> Result<Url, Fatal> {
    let url =
        Url::parse(s.trim()).map_err(|e| Fatal::usage(format!("invalid base URL '{s}': {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(Fatal::usage(format!(
                "refusing plain http:// to {}: the key and client data would travel unencrypted (use https://)",
                url.host_str().unwrap_or("?")
            )));
        }
        other => {
            return Err(Fatal::usage(format!(
                "invalid base URL '{s}': scheme {other} is not http or https"
            )));
        }
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Ctrl-C for a networked run, and SIGTERM and SIGHUP as Ctrl-C (what `timeout`, systemd,
/// `docker stop` and a closed terminal send): the first raises `stop` (no new requests; those in
/// flight finish within `drain`, which the caller enforces) and sets the returned flag; a second
/// signal calls `quit` (the `--json` object is still owed) and exits 130 at once, which is safe
/// because the journal is synced before any outcome counts. The handlers are installed before this returns, so no signal slips past them.
pub fn on_ctrl_c(
    stop: Arc<StopSignal>,
    quiet: bool,
    drain: Duration,
    quit: impl FnOnce() + Send + 'static,
) -> (
    tokio::task::JoinHandle<()>,
    Arc<std::sync::atomic::AtomicBool>,
) {
    let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let set = flag.clone();
    let mut signals = Signals::install();
    let task = tokio::spawn(async move {
        let Some(name) = signals.next().await else {
            return;
        };
        set.store(true, Ordering::SeqCst);
        stop.stop();
        if !quiet {
            eprintln!(
                "\nstopping ({name}): waiting up to {} s for requests in flight (Ctrl-C again quits at once; the journal is safe)",
                drain.as_secs()
            );
        }
        if signals.next().await.is_some() {
            quit();
            std::process::exit(130);
        }
    });
    (task, flag)
}

/// The signals that stop a run: Ctrl-C everywhere, and SIGTERM and SIGHUP on Unix.
struct Signals {
    #[cfg(unix)]
    unix: Vec<(&'static str, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Install the handlers now (inside the runtime).
    fn install() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let unix = [
                ("Ctrl-C", SignalKind::interrupt()),
                ("SIGTERM", SignalKind::terminate()),
                ("SIGHUP", SignalKind::hangup()),
            ]
            .into_iter()
            .filter_map(|(name, kind)| signal(kind).ok().map(|s| (name, s)))
            .collect();
            Signals { unix }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The name of the next signal; `None` when none can arrive.
    async fn next(&mut self) -> Option<&'static str> {
        #[cfg(unix)]
        {
            if self.unix.is_empty() {
                return None;
            }
            let waits = self
                .unix
                .iter_mut()
                .map(|(name, s)| Box::pin(async move { s.recv().await.map(|_| *name) }));
            futures::future::select_all(waits).await.0
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.ok().map(|_| "Ctrl-C")
        }
    }
}

/// Whether the client may send a request again once it may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// Idempotent or self-checking requests (GET, bulk upsert, bulk delete): resend after a lost
    /// answer, and say so in the result (`lost_before`).
    Always,
    /// Requests that must happen at most once (sms, email): a lost answer ends the call.
    AtMostOnce,
}

/// A successful (2xx) answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    /// True when an earlier attempt of this call lost its answer: the server may have applied it.
    pub lost_before: bool,
}

/// Why a call did not succeed. Every message is one line and never holds the key.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// 401 or 403: the whole run must stop.
    #[error("the API key was rejected (HTTP {status})")]
    KeyRejected { status: u16 },
    /// Another 4xx: the request itself is wrong. `message` is the server's own.
    #[error("Kayse answered {status}: {message}")]
    Rejected {
        status: u16,
        message: String,
        lost_before: bool,
    },
    /// Retries of this one request ran out while Kayse answered others. `network` when the last
    /// failure was the connection, not an answer.
    #[error("{last} (after {attempts} attempts)")]
    GaveUp {
        last: String,
        attempts: u32,
        network: bool,
        lost: bool,
    },
    /// Kayse stayed down (5xx or no connection for every request) longer than `--outage-wait`.
    #[error("{last}, for {} (--outage-wait)", crate::plan::human_duration(waited.as_secs_f64()))]
    Outage {
        last: String,
        waited: Duration,
        network: bool,
        lost: bool,
    },
    /// At-most-once call whose answer was lost: it may have been applied.
    #[error("no answer: {last}; it may have been applied")]
    Lost { last: String },
    /// The budget was spent or the run is stopping before this call could (re)send.
    #[error("not sent: {}", match halt { Halt::Budget => "the --budget is spent", Halt::Stopped => "the run is stopping" })]
    Halted { halt: Halt, lost: bool },
    /// A 2xx whose body is not what the API documents.
    #[error("unreadable answer: {message}")]
    BadAnswer { message: String, lost_before: bool },
}

impl CallError {
    /// True when some attempt of the call may have been applied without our knowing.
    pub fn maybe_applied(&self) -> bool {
        match self {
            CallError::GaveUp { lost, .. }
            | CallError::Outage { lost, .. }
            | CallError::Halted { lost, .. } => *lost,
            CallError::Rejected { lost_before, .. } | CallError::BadAnswer { lost_before, .. } => {
                *lost_before
            }
            CallError::Lost { .. } => true,
            CallError::KeyRejected { .. } => false,
        }
    }

    /// True when the call ends the run's sending rather than settling its items: a rejected key,
    /// the budget, a stop, or Kayse down or failing (a 5xx or the network never fails a row:
    /// its rows wait for `--resume`).
    pub fn ends_run(&self) -> bool {
        matches!(
            self,
            CallError::KeyRejected { .. }
                | CallError::Halted { .. }
                | CallError::GaveUp { .. }
                | CallError::Outage { .. }
        )
    }
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
}

/// The most 429s one call tolerates before giving up (each one waits a full reset).
const MAX_429: u32 = 50;

/// The shared engine: one reqwest client, one pacer, one retry policy, one set of counters.
/// Clones share all of them.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    key: ApiKey,
    pacer: Arc<Pacer>,
    policy: RetryPolicy,
    counters: Arc<Counters>,
    started: tokio::time::Instant,
}

/// What one attempt came to.
enum Attempt {
    Done(Answer),
    Retry {
        last: String,
        network: bool,
        lost: bool,
    },
    Fail(CallError),
    RateLimited,
}

impl Client {
    /// Build the engine. `stop` is the run's stop signal: Ctrl-C and a rejected key raise it.
    pub fn new(
        conn: &Connection,
        pacing: &PacingArgs,
        stop: Arc<StopSignal>,
    ) -> Result<Client, Fatal> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(conn.timeout))
            .timeout(conn.timeout)
            .user_agent(concat!("kayse-bulk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Fatal::usage(format!("cannot set up HTTP: {e}")))?;
        Ok(Client {
            http,
            base: conn.base_url.clone(),
            key: conn.key.clone(),
            pacer: Arc::new(
                Pacer::new(pacing.rate_limit, pacing.budget, stop)
                    .with_outage(pacing.policy(), pacing.outage_wait),
            ),
            policy: pacing.policy(),
            counters: Arc::new(Counters::default()),
            started: tokio::time::Instant::now(),
        })
    }

    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    pub fn rate(&self) -> RateSpec {
        self.pacer.spec()
    }

    /// Request statistics so far, for the Summary sheet.
    pub fn stats(&self) -> RequestStats {
        let v = self.pacer.view();
        RequestStats {
            requests: self.counters.requests.load(Ordering::Relaxed),
            retries: self.counters.retries.load(Ordering::Relaxed),
            rate_limited: self.counters.rate_limited.load(Ordering::Relaxed),
            waited_secs: v.waited.as_secs_f64(),
            elapsed_secs: self.started.elapsed().as_secs_f64(),
            remaining: v.server_remaining,
            budget_left: v.budget_left,
        }
    }

    fn url(&self, path: &str) -> Result<Url, CallError> {
        self.base.join(path).map_err(|e| CallError::BadAnswer {
            message: format!("cannot build the URL for {path}: {e}"),
            lost_before: false,
        })
    }

    /// One call: paced, retried per the policy, 429s waited out without counting as attempts.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        mode: Resend,
    ) -> Result<Answer, CallError> {
        let url = self.url(path.trim_start_matches('/'))?;
        let mut attempts = 0u32;
        let mut limited = 0u32;
        let mut lost = false;
        loop {
            let ticket = match self.pacer.acquire().await {
                Ok(t) => t,
                Err(halt) => return Err(CallError::Halted { halt, lost }),
            };
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            match self
                .attempt(ticket, method.clone(), url.clone(), body)
                .await
            {
                Attempt::Done(mut a) => {
                    self.pacer.answered();
                    a.lost_before = lost;
                    return Ok(a);
                }
                Attempt::Fail(mut e) => {
                    self.pacer.answered();
                    if let CallError::Rejected { lost_before, .. }
                    | CallError::BadAnswer { lost_before, .. } = &mut e
                    {
                        *lost_before = lost;
                    }
                    if matches!(e, CallError::KeyRejected { .. }) {
                        self.pacer.stop_signal().stop();
                    }
                    return Err(e);
                }
                Attempt::RateLimited => {
                    self.pacer.answered();
                    self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                    limited += 1;
                    if limited >= MAX_429 {
                        return Err(CallError::GaveUp {
                            last: "Kayse kept answering 429 too many requests".into(),
                            attempts: attempts + 1,
                            network: false,
                            lost,
                        });
                    }
                }
                Attempt::Retry {
                    last,
                    network,
                    lost: this_lost,
                } => {
                    attempts += 1;
                    lost |= this_lost;
                    let verdict = self.pacer.failed(&last);
                    if this_lost && mode == Resend::AtMostOnce {
                        return Err(CallError::Lost { last });
                    }
                    let wait = match verdict {
                        // Every worker waits in the pacer, then one probe goes: no wait here.
                        Verdict::Down { .. } => Duration::ZERO,
                        Verdict::Over { waited } => {
                            return Err(CallError::Outage {
                                last,
                                waited,
                                network,
                                lost,
                            });
                        }
                        Verdict::Again if !self.policy.may_retry(attempts) => {
                            return Err(CallError::GaveUp {
                                last,
                                attempts,
                                network,
                                lost,
                            });
                        }
                        Verdict::Again => self.policy.delay(attempts - 1, rand::random::<f64>()),
                    };
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = self.pacer.stop_signal().stopped() => {
                            return Err(CallError::Halted { halt: Halt::Stopped, lost });
                        }
                    }
                }
            }
        }
    }

    async fn attempt(
        &self,
        ticket: pacing::Ticket,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Attempt {
        let mut key = match reqwest::header::HeaderValue::from_str(self.key.expose()) {
            Ok(v) => v,
            Err(_) => {
                return Attempt::Fail(CallError::KeyRejected { status: 0 });
            }
        };
        key.set_sensitive(true);
        let mut req = self.http.request(method, url).header("X-API-KEY", key);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return network_failure(&e),
        };
        let status = resp.status().as_u16();
        let headers = RateHeaders::from_map(resp.headers());
        if status == 429 {
            self.pacer.rate_limited(&headers);
            return Attempt::RateLimited;
        }
        self.pacer.observe(ticket, &headers);
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return network_failure(&e),
        };
        if (200..300).contains(&status) {
            let body = if bytes.is_empty() {
                Value::Null
            } else {
                match serde_json::from_slice(&bytes) {
                    Ok(v) => v,
                    Err(e) => {
                        return Attempt::Fail(CallError::BadAnswer {
                            message: format!("the answer is not JSON ({e})"),
                            lost_before: false,
                        });
                    }
                }
            };
            return Attempt::Done(Answer {
                status,
                body,
                lost_before: false,
            });
        }
        let message = server_message(&bytes);
        if status == 401 || status == 403 {
            return Attempt::Fail(CallError::KeyRejected { status });
        }
        if retry::retryable_status(status) {
            return Attempt::Retry {
                last: format!("Kayse answered {status}: {message}"),
                network: false,
                lost: false,
            };
        }
        Attempt::Fail(CallError::Rejected {
            status,
            message,
            lost_before: false,
        })
    }

    /// `POST /v1/{entity}/bulk` (`{"cases": [...]}`). The answer's records in the order the
    /// server gave them; matching them to what was sent is the caller's job (it knows the rows).
    pub async fn bulk_upsert(
        &self,
        entity: &'static Entity,
        records: &[Record],
    ) -> Result<BulkAnswer, CallError> {
        let key = entity.bulk_key();
        let body = json!({ key: records });
        // Updates name their ids and a create of a unique key is refused the second time: those
        // may go again after a lost answer. A create Kayse would make twice (a client) may not.
        let mode = if entity.refuses_duplicates || records.iter().all(|r| r.id.is_some()) {
            Resend::Always
        } else {
            Resend::AtMostOnce
        };
        let a = self
            .call(Method::POST, &entity.bulk_path(), Some(&body), mode)
            .await?;
        let bad = |why: String| CallError::BadAnswer {
            message: format!("the bulk answer has no readable {key} list ({why})"),
            lost_before: a.lost_before,
        };
        let Some(list) = a.body.get(key).and_then(Value::as_array) else {
            return Err(bad(format!("no {key} array")));
        };
        let records = list
            .iter()
            .map(|v| Record::from_json(entity, v))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        Ok(BulkAnswer {
            records,
            lost_before: a.lost_before,
        })
    }

    /// `GET /v1/{entity}/{id}`. A missing record is `Rejected { status: 404, .. }`.
    pub async fn get(&self, entity: &'static Entity, id: u64) -> Result<Record, CallError> {
        let a = self
            .call(Method::GET, &entity.item_path(id), None, Resend::Always)
            .await?;
        Record::from_json(entity, &a.body).map_err(|e| CallError::BadAnswer {
            message: format!("{} {id} is not readable ({e})", entity.one),
            lost_before: false,
        })
    }

    /// `POST /v1/cases/bulk_delete` (at most 500 ids; the caller chunks). Returns `deleted_ids`,
    /// and whether an earlier attempt lost its answer: then an id absent from the list may have
    /// been deleted by that attempt rather than never have existed.
    pub async fn bulk_delete(
        &self,
        ids: &[u64],
        with_clients: bool,
    ) -> Result<(Vec<u64>, bool), CallError> {
        let body = json!({ "ids": ids, "with_clients": with_clients });
        let a = self
            .call(
                Method::POST,
                "v1/cases/bulk_delete",
                Some(&body),
                Resend::Always,
            )
            .await?;
        let ids = a
            .body
            .get("deleted_ids")
            .and_then(Value::as_array)
            .ok_or_else(|| CallError::BadAnswer {
                message: "the answer has no deleted_ids".into(),
                lost_before: a.lost_before,
            })?;
        Ok((
            ids.iter().filter_map(Value::as_u64).collect(),
            a.lost_before,
        ))
    }

    /// `POST /v1/cases/communication/sms`, at most once.
    pub async fn send_sms(
        &self,
        case_id: u64,
        client_id: u64,
        message: &str,
    ) -> Result<Answer, CallError> {
        let body = json!({ "case_id": case_id, "client_id": client_id, "message": message });
        self.call(
            Method::POST,
            "v1/cases/communication/sms",
            Some(&body),
            Resend::AtMostOnce,
        )
        .await
    }

    /// `POST /v1/cases/communication/email`, at most once.
    pub async fn send_email(
        &self,
        case_id: u64,
        client_id: u64,
        subject: &str,
        message: &str,
    ) -> Result<Answer, CallError> {
        let body = json!({
            "case_id": case_id, "client_id": client_id, "subject": subject, "message": message
        });
        self.call(
            Method::POST,
            "v1/cases/communication/email",
            Some(&body),
            Resend::AtMostOnce,
        )
        .await
    }
}

/// The records a bulk upsert answered with.
#[derive(Debug, Clone)]
pub struct BulkAnswer {
    pub records: Vec<Record>,
    pub lost_before: bool,
}

/// A transport failure: a refused connection never reached the server; anything else may have.
fn network_failure(e: &reqwest::Error) -> Attempt {
    if e.is_connect() {
        return Attempt::Retry {
            last: "cannot connect to Kayse".into(),
            network: true,
            lost: false,
        };
    }
    let last = if e.is_timeout() {
        "no answer in time (timeout)".to_string()
    } else {
        "the connection was lost before the answer came".to_string()
    };
    Attempt::Retry {
        last,
        network: true,
        lost: true,
    }
}

/// The server's own message from an error body: `message`, else `error`, else the text.
pub fn server_message(bytes: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        for k in ["message", "error"] {
            if let Some(s) = v.get(k).and_then(Value::as_str)
                && !s.trim().is_empty()
            {
                return one_line(s);
            }
        }
    }
    let text = String::from_utf8_lossy(bytes);
    if text.trim().is_empty() {
        "(no message)".into()
    } else {
        one_line(&text)
    }
}

fn one_line(s: &str) -> String {
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 300 {
        format!("{}…", s.chars().take(300).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_never_prints() {
        let k = ApiKey::new("sekrit-123");
        assert_eq!(format!("{k:?} {k}"), "*** ***");
        let c = Connection {
            base_url: parse_base_url("https://x.example").unwrap(),
            key: k,
            embedded: false,
            timeout: Duration::from_secs(1),
        };
        assert!(!format!("{c:?}").contains("sekrit"));
    }

    #[test]
    fn base_urls() {
        for ok in [
            "https://public-api.kayse.ai",
            "http://127.0.0.1:8787",
            "http://localhost:1",
            "http://[::1]:9",
        ] {
            assert!(parse_base_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://public-api.kayse.ai",
            "ftp://x",
            "nonsense",
            "http://10.0.0.1",
        ] {
            assert!(parse_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn server_messages() {
        let cases: &[(&[u8], &str)] = &[
            (
                br#"{"error":"invalid request","message":"case_number X already exists"}"#,
                "case_number X already exists",
            ),
            (br#"{"error":"not found"}"#, "not found"),
            (b"  plain\ntext ", "plain text"),
            (b"", "(no message)"),
        ];
        for (body, want) in cases {
            assert_eq!(server_message(body), *want);
        }
    }

    mod scripted {
        //! The engine against a scripted loopback server: retries, 429 pauses, key rejection.
        use super::super::*;
        use axum::http::StatusCode;
        use axum::response::IntoResponse;
        use std::collections::VecDeque;
        use std::sync::Mutex;

        type Script = Arc<Mutex<VecDeque<(u16, Vec<(&'static str, String)>)>>>;

        async fn serve(
            script: Vec<(u16, Vec<(&'static str, String)>)>,
        ) -> (String, Script, Arc<AtomicU64>) {
            let script: Script = Arc::new(Mutex::new(script.into()));
            let hits = Arc::new(AtomicU64::new(0));
            let (s2, h2) = (script.clone(), hits.clone());
            let app = axum::Router::new().fallback(move || {
                let (script, hits) = (s2.clone(), h2.clone());
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let (status, headers) = script
                        .lock()
                        .unwrap()
                        .pop_front()
                        .unwrap_or((200, Vec::new()));
                    let mut resp = (
                        StatusCode::from_u16(status).unwrap(),
                        r#"{"cases":[],"message":"scripted"}"#,
                    )
                        .into_response();
                    for (k, v) in headers {
                        resp.headers_mut().insert(k, v.parse().unwrap());
                    }
                    resp
                }
            });
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", l.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
            (url, script, hits)
        }

        fn client(url: &str, budget: Option<u64>) -> Client {
            let conn = Connection {
                base_url: parse_base_url(url).unwrap(),
                key: ApiKey::new("k"),
                embedded: false,
                timeout: Duration::from_secs(5),
            };
            let pacing = PacingArgs {
                rate_limit: "100/s".parse().unwrap(),
                concurrency: 1,
                budget,
                outage_wait: Duration::from_secs(600),
                retry_base_ms: Some(1),
            };
            Client::new(&conn, &pacing, Arc::new(StopSignal::default())).unwrap()
        }

        #[tokio::test]
        async fn server_errors_are_retried_then_succeed() {
            let (url, _, hits) = serve(vec![(503, vec![]), (500, vec![])]).await;
            let c = client(&url, None);
            let a = c.bulk_upsert(&crate::entity::CASES, &[]).await.unwrap();
            assert!(!a.lost_before);
            assert_eq!(hits.load(Ordering::SeqCst), 3);
            let st = c.stats();
            assert_eq!((st.requests, st.retries), (3, 2));
        }

        /// Ten 502s in a row are an outage, not six tries and a failure: the call waits with
        /// everyone else and succeeds when the server answers again.
        #[tokio::test]
        async fn a_run_of_5xx_is_waited_out_not_failed() {
            let (url, _, hits) = serve(vec![(502, vec![]); 10]).await;
            let c = client(&url, None);
            c.get(&crate::entity::CASES, 1).await.unwrap();
            assert_eq!(hits.load(Ordering::SeqCst), 11);
            let notes = c.pacer().notices();
            assert_eq!(notes.len(), 2, "{notes:?}");
            assert!(notes[0].starts_with("Kayse is not answering (Kayse answered 502"));
            assert!(notes[1].starts_with("Kayse answers again after"));
        }

        /// Down for longer than `--outage-wait` (none here): the call ends as an outage, with
        /// what the server last said, and nothing was sent past the third failure.
        #[tokio::test]
        async fn an_outage_past_the_wait_ends_the_call() {
            let (url, _, hits) = serve(vec![(503, vec![]); 10]).await;
            let mut c = client(&url, None);
            let pacing = PacingArgs {
                rate_limit: "100/s".parse().unwrap(),
                concurrency: 1,
                budget: None,
                outage_wait: Duration::ZERO,
                retry_base_ms: Some(1),
            };
            c.pacer = Arc::new(
                Pacer::new(pacing.rate_limit, None, Arc::new(StopSignal::default()))
                    .with_outage(pacing.policy(), pacing.outage_wait),
            );
            let e = c.get(&crate::entity::CASES, 1).await.unwrap_err();
            assert!(
                matches!(&e, CallError::Outage { network: false, lost: false, last, .. }
                    if last.starts_with("Kayse answered 503")),
                "{e}"
            );
            assert!(e.ends_run());
            assert_eq!(hits.load(Ordering::SeqCst), 3);
        }

        /// Keeps tokio's paused clock from jumping to the next timer (the request timeout) while
        /// an answer is on its way over loopback: tokio does not auto-advance while a blocking
        /// task runs, so one stays blocked until this is dropped. Time then moves only by
        /// `tokio::time::advance`.
        struct HeldClock(Option<std::sync::mpsc::Sender<()>>);

        impl HeldClock {
            fn new() -> HeldClock {
                let (release, wait) = std::sync::mpsc::channel::<()>();
                tokio::task::spawn_blocking(move || {
                    let _ = wait.recv();
                });
                HeldClock(Some(release))
            }
        }

        impl Drop for HeldClock {
            fn drop(&mut self) {
                self.0.take();
            }
        }

        /// On a paused clock: each time the call waits for the pacer, time jumps to the end of
        /// that wait, so two Retry-After: 1 answers cost exactly two seconds of tokio's time and
        /// none of the machine's.
        #[tokio::test(start_paused = true)]
        async fn a_429_waits_and_resends_without_counting_an_attempt() {
            let _held = HeldClock::new();
            let limited = vec![("retry-after", "1".to_string())];
            let (url, _, hits) = serve(vec![(429, limited.clone()), (429, limited)]).await;
            let c = client(&url, Some(10));
            let t0 = tokio::time::Instant::now();
            let call = c.get(&crate::entity::CASES, 1);
            tokio::pin!(call);
            let answer = loop {
                tokio::select! {
                    biased;
                    r = &mut call => break r,
                    _ = tokio::task::yield_now() => {
                        if let Some(until) = c.pacer().view().waiting_until {
                            tokio::time::advance(until - tokio::time::Instant::now()).await;
                        }
                    }
                }
            };
            answer.unwrap();
            assert_eq!(t0.elapsed(), Duration::from_secs(2), "Retry-After, twice");
            assert_eq!(c.pacer().view().waited, Duration::from_secs(2));
            assert_eq!(hits.load(Ordering::SeqCst), 3);
            let st = c.stats();
            assert_eq!((st.rate_limited, st.retries), (2, 0));
            assert_eq!(
                c.pacer().budget_left(),
                Some(9),
                "429s do not spend the budget"
            );
        }

        #[tokio::test]
        async fn a_rejected_key_stops_the_run() {
            let (url, _, _) = serve(vec![(401, vec![])]).await;
            let c = client(&url, None);
            let e = c.bulk_upsert(&crate::entity::CASES, &[]).await.unwrap_err();
            assert!(matches!(e, CallError::KeyRejected { status: 401 }));
            assert!(c.pacer().stop_signal().is_stopped());
            assert!(matches!(
                c.bulk_upsert(&crate::entity::CASES, &[]).await.unwrap_err(),
                CallError::Halted {
                    halt: Halt::Stopped,
                    ..
                }
            ));
        }

        #[tokio::test]
        async fn other_client_errors_carry_the_server_message() {
            let (url, _, hits) = serve(vec![(400, vec![])]).await;
            let c = client(&url, None);
            match c.bulk_upsert(&crate::entity::CASES, &[]).await.unwrap_err() {
                CallError::Rejected {
                    status: 400,
                    message,
                    lost_before: false,
                } => {
                    assert_eq!(message, "scripted")
                }
                e => panic!("{e}"),
            }
            assert_eq!(hits.load(Ordering::SeqCst), 1);
        }

        #[tokio::test]
        async fn the_budget_ends_a_call_before_it_sends() {
            let (url, _, hits) = serve(vec![]).await;
            let c = client(&url, Some(1));
            c.bulk_upsert(&crate::entity::CASES, &[]).await.unwrap();
            assert!(matches!(
                c.bulk_upsert(&crate::entity::CASES, &[]).await.unwrap_err(),
                CallError::Halted {
                    halt: Halt::Budget,
                    lost: false
                }
            ));
            assert_eq!(hits.load(Ordering::SeqCst), 1);
        }
    }
}
