//! The sandbox's HTTP side: axum routes for the Cases API and `/sandbox/*` admin, the `/v1` gate
//! (auth, rate limit, latency, faults, stats, logging) and a listener whose connections a handler
//! can cut. Kayse's data rules live in `rules` and `state`; nothing here decides what is valid.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::{IncomingStream, Listener};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::faults::{Fault, FaultSpec, Latency};
use super::persist::save_atomic;
use super::rules::{brief, check_record, positive_int};
use super::state::{ApiError, Channel, SentMessage, Store};
use super::{Behaviour, Config};
use crate::entity::{self, CASES, CLIENTS, Entity};
use crate::send::rate::RateSpec;

/// Largest request body accepted (a 500-case bulk is well under 1 MB).
const BODY_LIMIT: usize = 64 * 1024 * 1024;
/// Most ids one bulk_delete may carry (documented by Kayse; not configurable).
pub const MAX_DELETE_IDS: usize = 500;

/// Settings that `/sandbox/config` may change while the server runs.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub rate: RateSpec,
    pub max_bulk: usize,
    pub latency: Latency,
    pub faults: FaultSpec,
    pub slow_ms: u64,
    pub seed: u64,
}

/// What `/sandbox/stats` reports.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub requests: u64,
    pub by_route: BTreeMap<String, u64>,
    pub rate_limited: u64,
    pub faults: BTreeMap<&'static str, u64>,
    pub max_in_flight: usize,
    /// Per entity (`cases`, `clients`): the size of each bulk upsert.
    pub bulk_sizes: BTreeMap<&'static str, Vec<usize>>,
    pub bulk_delete_sizes: Vec<usize>,
}

impl Stats {
    fn to_json(&self) -> Value {
        let faults: serde_json::Map<String, Value> = Fault::ALL
            .iter()
            .map(|f| {
                let n = self.faults.get(f.name()).copied().unwrap_or(0);
                (f.name().to_string(), Value::from(n))
            })
            .collect();
        json!({
            "requests": self.requests,
            "by_route": self.by_route,
            "rate_limited": self.rate_limited,
            "faults": faults,
            "max_in_flight": self.max_in_flight,
            // Cases' alone under the name it always had; every entity's beside it.
            "bulk_sizes": self.bulk_sizes.get(CASES.name).cloned().unwrap_or_default(),
            "bulk_sizes_by_entity": self.bulk_sizes,
            "bulk_delete_sizes": self.bulk_delete_sizes,
        })
    }
}

/// Where the sandbox reads the time for its rate windows. `X-RateLimit-Reset` is in epoch
/// seconds, so a window needs a wall-clock reading, not only a monotonic one.
#[derive(Debug, Clone, Copy, Default)]
pub enum Clock {
    /// The system clock: what a client on the same machine compares Reset with.
    #[default]
    System,
    /// `start` at the moment `Clock::following_tokio` is called, then moving with tokio's clock.
    /// A test that pauses tokio's time moves the windows with `tokio::time::advance` and knows
    /// every Reset exactly; nothing here waits on the wall clock.
    Tokio {
        start: SystemTime,
        at: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock that reads `start` now and then follows tokio's (possibly paused) clock. Call it
    /// inside the runtime whose time it should follow.
    pub fn following_tokio(start: SystemTime) -> Clock {
        Clock::Tokio {
            start,
            at: tokio::time::Instant::now(),
        }
    }

    fn now(&self) -> SystemTime {
        match self {
            Clock::System => SystemTime::now(),
            Clock::Tokio { start, at } => *start + at.elapsed(),
        }
    }
}

/// The fixed window of one key: opened by its first request, closed `window` after the start of
/// that request's second. Aligning to whole seconds keeps `X-RateLimit-Reset` (whole epoch
/// seconds) exact, so a client that sleeps until Reset loses no time to rounding; the window is
/// never longer than the nominal one.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Window {
    ends: SystemTime,
    used: u32,
}

impl Window {
    /// A window opened by a request at `now`.
    fn open(rate: RateSpec, now: SystemTime) -> Window {
        Window {
            ends: floor_second(now) + rate.window,
            used: 0,
        }
    }

    /// Spend one request at `now`, in a fresh window if this one has ended. Returns whether the
    /// request is allowed, and the headers to answer with. A pure function of its inputs.
    fn spend(&mut self, rate: RateSpec, now: SystemTime) -> (bool, RateHeaders) {
        if now >= self.ends {
            *self = Window::open(rate, now);
        }
        let allowed = self.used < rate.requests;
        if allowed {
            self.used += 1;
        }
        let headers = RateHeaders {
            limit: rate.requests,
            remaining: rate.requests - self.used.min(rate.requests),
            reset: epoch_ceil(self.ends),
        };
        (allowed, headers)
    }
}

/// Everything the handlers share.
pub struct Shared {
    api_key: String,
    log: bool,
    state_path: Option<PathBuf>,
    store: Mutex<Store>,
    runtime: Mutex<Runtime>,
    rng: Mutex<ChaCha8Rng>,
    stats: Mutex<Stats>,
    windows: Mutex<BTreeMap<String, Window>>,
    clock: Clock,
    in_flight: AtomicUsize,
    /// Bumped on every change; the saver skips snapshots older than what is on disk.
    generation: AtomicU64,
    saved: tokio::sync::Mutex<u64>,
}

/// Lock a mutex even if a panicking thread poisoned it: the data is plain and still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn new(config: &Config, mut store: Store) -> Shared {
        store.configure(config.behaviour, config.seed);
        Shared {
            api_key: config.api_key.expose().to_string(),
            log: config.log,
            state_path: config.state.clone(),
            store: Mutex::new(store),
            runtime: Mutex::new(Runtime {
                rate: config.rate,
                max_bulk: config.max_bulk,
                latency: config.latency,
                faults: config.faults.clone(),
                slow_ms: config.slow_ms,
                seed: config.seed,
            }),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(config.seed)),
            stats: Mutex::new(Stats::default()),
            windows: Mutex::new(BTreeMap::new()),
            clock: config.clock,
            in_flight: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            saved: tokio::sync::Mutex::new(0),
        }
    }

    /// Apply a change to the store and persist the result before anyone is answered, so an
    /// answered change survives a crash.
    async fn mutate<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let (out, snapshot) = {
            let mut store = lock(&self.store);
            let out = f(&mut store)?;
            let snapshot = self.state_path.as_ref().map(|_| {
                let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
                (generation, store.to_json())
            });
            (out, snapshot)
        };
        if let Some((generation, bytes)) = snapshot {
            self.persist(generation, bytes)
                .await
                .map_err(|e| ApiError {
                    status: 500,
                    error: "server error",
                    message: format!("could not save the sandbox state: {e}"),
                })?;
        }
        Ok(out)
    }

    async fn persist(&self, generation: u64, bytes: Vec<u8>) -> io::Result<()> {
        let Some(path) = self.state_path.clone() else {
            return Ok(());
        };
        let mut saved = self.saved.lock().await;
        if *saved >= generation {
            return Ok(());
        }
        tokio::task::spawn_blocking(move || save_atomic(&path, &bytes))
            .await
            .map_err(io::Error::other)??;
        *saved = generation;
        Ok(())
    }

    /// The whole state as JSON (the state file's contents).
    pub fn state_json(&self) -> Value {
        serde_json::from_slice(&lock(&self.store).to_json()).unwrap_or(Value::Null)
    }

    /// Save the current state now (used at shutdown).
    pub async fn save_now(&self) -> io::Result<()> {
        if self.state_path.is_none() {
            return Ok(());
        }
        let (generation, bytes) = {
            let store = lock(&self.store);
            let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
            (generation, store.to_json())
        };
        self.persist(generation, bytes).await
    }

    /// Spend one request of `key`'s window. Returns whether it was allowed, and the headers.
    fn spend(&self, key: &str) -> (bool, RateHeaders) {
        let rate = lock(&self.runtime).rate;
        let now = self.clock.now();
        let mut windows = lock(&self.windows);
        windows
            .entry(key.to_string())
            .or_insert_with(|| Window::open(rate, now))
            .spend(rate, now)
    }

    /// Headers for an answer that spends nothing (a wrong key): a fresh window.
    fn fresh_window(&self) -> RateHeaders {
        let rate = lock(&self.runtime).rate;
        RateHeaders {
            limit: rate.requests,
            remaining: rate.requests,
            reset: epoch_ceil(Window::open(rate, self.clock.now()).ends),
        }
    }

    fn draw(&self) -> (f64, f64) {
        let mut rng = lock(&self.rng);
        (rng.random::<f64>(), rng.random::<f64>())
    }
}

/// The start of `t`'s epoch second.
fn floor_second(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Whole epoch seconds at or after `t`, so a client that waits until Reset is never early.
fn epoch_ceil(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct RateHeaders {
    limit: u32,
    remaining: u32,
    reset: u64,
}

impl RateHeaders {
    fn apply(&self, resp: &mut Response) {
        let h = resp.headers_mut();
        h.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        h.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        h.insert("x-ratelimit-reset", HeaderValue::from(self.reset));
    }
}

fn error_response(e: ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        axum::Json(json!({"error": e.error, "message": e.message})),
    )
        .into_response()
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn answer(r: Result<Value, ApiError>) -> Response {
    match r {
        Ok(v) => ok(v),
        Err(e) => error_response(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Connections that a handler can cut.

/// Shared between a connection's socket and the handlers serving it: once set, every read and
/// write fails, hyper drops the connection, and the client sees it closed with no answer.
#[derive(Debug, Default)]
pub struct Cut(AtomicBool);

/// A handle to the current connection's [`Cut`], reached through `ConnectInfo`.
#[derive(Debug, Clone)]
pub struct ConnCut(Arc<Cut>);

impl ConnCut {
    /// Cut the connection: nothing more is read or written on it.
    pub fn cut(&self) {
        self.0.0.store(true, Ordering::SeqCst);
    }
}

/// A TCP stream that fails every operation once cut.
pub struct CuttableStream {
    inner: TcpStream,
    cut: Arc<Cut>,
}

impl CuttableStream {
    fn is_cut(&self) -> bool {
        self.cut.0.load(Ordering::SeqCst)
    }
}

fn cut_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection cut by sandbox fault",
    )
}

impl AsyncRead for CuttableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CuttableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.is_cut() {
            // A reset rather than an orderly close, like a crashed server.
            let _ = self.inner.set_zero_linger();
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.is_cut() {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A TCP listener handing out [`CuttableStream`]s.
pub struct CuttableListener(pub TcpListener);

impl Listener for CuttableListener {
    type Io = CuttableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((inner, addr)) => {
                    let _ = inner.set_nodelay(true);
                    let stream = CuttableStream {
                        inner,
                        cut: Arc::new(Cut::default()),
                    };
                    return (stream, addr);
                }
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Connected<IncomingStream<'_, CuttableListener>> for ConnCut {
    fn connect_info(stream: IncomingStream<'_, CuttableListener>) -> Self {
        ConnCut(stream.io().cut.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// Router and the /v1 gate.

/// All routes, with the logging and `/v1` gate around them.
pub fn router(shared: Arc<Shared>) -> Router {
    let mut r = Router::new();
    for &e in entity::ALL {
        r = entity_routes(r, e);
    }
    r.route("/v1/cases/bulk_delete", post(bulk_delete))
        .route("/v1/cases/communication/sms", post(send_sms))
        .route("/v1/cases/communication/email", post(send_email))
        .route("/v1/metadata/objects", get(metadata))
        .route("/sandbox/state", get(admin_state))
        .route("/sandbox/seed", post(admin_seed))
        .route("/sandbox/reply", post(admin_reply))
        .route("/sandbox/merge_clients", post(admin_merge_clients))
        .route("/sandbox/reset", post(admin_reset))
        .route("/sandbox/config", get(admin_get_config).post(admin_config))
        .route("/sandbox/stats", get(admin_stats))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

/// The routes every entity has, from its table: create, get, put, delete, bulk upsert.
fn entity_routes(r: Router<Arc<Shared>>, e: &'static Entity) -> Router<Arc<Shared>> {
    let base = format!("/{}", e.path());
    r.route(
        &base,
        post(move |State(sh): State<Arc<Shared>>, body: Bytes| create(sh, e, body)),
    )
    .route(
        &format!("{base}/{{id}}"),
        get(move |State(sh): State<Arc<Shared>>, Path(raw): Path<String>| get_record(sh, e, raw))
            .put(
                move |State(sh): State<Arc<Shared>>, Path(raw): Path<String>, body: Bytes| {
                    put_record(sh, e, raw, body)
                },
            )
            .delete(
                move |State(sh): State<Arc<Shared>>, Path(raw): Path<String>| {
                    delete_record(sh, e, raw)
                },
            ),
    )
    .route(
        &format!("/{}", e.bulk_path()),
        post(move |State(sh): State<Arc<Shared>>, body: Bytes| bulk_upsert(sh, e, body)),
    )
}

async fn not_found() -> Response {
    error_response(ApiError::not_found(ApiError::NOT_FOUND))
}

async fn method_not_allowed() -> Response {
    error_response(ApiError {
        status: 405,
        error: "method not allowed",
        message: "this method is not allowed on this path".to_string(),
    })
}

/// `GET /v1/cases/123` → `GET /v1/cases/{id}` (and so for every entity), for stats.
fn route_label(method: &Method, path: &str) -> String {
    for e in entity::ALL {
        let base = format!("/{}/", e.path());
        if let Some(rest) = path.strip_prefix(&base)
            && !rest.contains('/')
            && rest != "bulk"
            && rest != "bulk_delete"
        {
            return format!("{method} {base}{{id}}");
        }
    }
    format!("{method} {path}")
}

/// Decrements the in-flight count however the request ends (answered, cut, or dropped).
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Logging for every route; for `/v1`: stats, latency, auth, rate limit, faults, headers.
async fn gate(
    State(sh): State<Arc<Shared>>,
    ConnectInfo(cut): ConnectInfo<ConnCut>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let (resp, note) = if path == "/v1" || path.starts_with("/v1/") {
        v1(&sh, &cut, req, next).await
    } else {
        (next.run(req).await, None)
    };
    if sh.log {
        let ms = started.elapsed().as_millis();
        let status = resp.status().as_u16().to_string();
        let what = note.map_or(status, |n: &str| n.to_string());
        eprintln!("{method} {path} {what} {ms}ms");
    }
    resp
}

async fn v1(
    sh: &Shared,
    cut: &ConnCut,
    req: Request,
    next: Next,
) -> (Response, Option<&'static str>) {
    let now_in_flight = sh.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let _guard = InFlight(&sh.in_flight);
    let label = route_label(req.method(), req.uri().path());
    {
        let mut st = lock(&sh.stats);
        st.requests += 1;
        *st.by_route.entry(label.clone()).or_insert(0) += 1;
        st.max_in_flight = st.max_in_flight.max(now_in_flight);
    }
    let (fault_draw, latency_draw) = sh.draw();
    let (latency, faults, slow_ms) = {
        let rt = lock(&sh.runtime);
        (rt.latency, rt.faults.clone(), rt.slow_ms)
    };
    let delay = latency.pick(latency_draw);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }

    let key = req
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if key.as_deref() != Some(sh.api_key.as_str()) {
        let message = if key.is_none() {
            "missing X-API-KEY header"
        } else {
            "invalid API key"
        };
        let mut resp = error_response(ApiError {
            status: 401,
            error: "unauthorized",
            message: message.to_string(),
        });
        sh.fresh_window().apply(&mut resp);
        return (resp, None);
    }
    let (allowed, headers) = sh.spend(&sh.api_key);
    if !allowed {
        lock(&sh.stats).rate_limited += 1;
        let rate = lock(&sh.runtime).rate;
        let mut resp = error_response(ApiError {
            status: 429,
            error: "too many requests",
            message: format!(
                "rate limit of {rate} exceeded; the window resets at {}",
                headers.reset
            ),
        });
        headers.apply(&mut resp);
        return (resp, None);
    }

    let req = record_bulk_size(sh, &label, req).await;
    let fault = faults.pick(fault_draw);
    if let Some(f) = fault {
        *lock(&sh.stats).faults.entry(f.name()).or_insert(0) += 1;
    }
    let mut resp = match fault {
        Some(Fault::Status500) => error_response(ApiError {
            status: 500,
            error: "server error",
            message: "internal server error (sandbox fault)".to_string(),
        }),
        Some(Fault::Status503) => error_response(ApiError {
            status: 503,
            error: "service unavailable",
            message: "Kayse is under maintenance (sandbox fault)".to_string(),
        }),
        Some(Fault::Drop) => {
            cut.cut();
            return (
                StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                Some("drop"),
            );
        }
        Some(Fault::CommitDrop) => {
            let _applied = next.run(req).await;
            cut.cut();
            return (
                StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                Some("commit-drop"),
            );
        }
        Some(Fault::Slow) => {
            let resp = next.run(req).await;
            tokio::time::sleep(Duration::from_millis(slow_ms)).await;
            resp
        }
        None => next.run(req).await,
    };
    headers.apply(&mut resp);
    (resp, None)
}

/// Note the size of a bulk upsert or bulk delete for `/sandbox/stats`, then hand the body on.
async fn record_bulk_size(sh: &Shared, label: &str, req: Request) -> Request {
    let bulk_of = entity::ALL
        .iter()
        .find(|e| label == format!("POST /{}", e.bulk_path()));
    let field = match (bulk_of, label) {
        (Some(e), _) => e.bulk_key(),
        (None, "POST /v1/cases/bulk_delete") => "ids",
        _ => return req,
    };
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .unwrap_or_default();
    let size = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.get(field).and_then(Value::as_array).map(Vec::len));
    if let Some(n) = size {
        let mut st = lock(&sh.stats);
        match bulk_of {
            Some(e) => st.bulk_sizes.entry(e.name).or_default().push(n),
            None => st.bulk_delete_sizes.push(n),
        }
    }
    Request::from_parts(parts, Body::from(bytes))
}

// ---------------------------------------------------------------------------------------------
// /v1 handlers.

fn parse_body(bytes: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid(format!("the body is not valid JSON: {e}")))
}

fn parse_id(e: &Entity, raw: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::not_found(format!("{} '{raw}' not found", e.one)))
}

/// The body's object, with any key outside `allowed` rejected.
fn object<'a>(
    v: &'a Value,
    allowed: &[&str],
) -> Result<&'a serde_json::Map<String, Value>, ApiError> {
    let obj = v.as_object().ok_or_else(|| {
        ApiError::invalid(format!("the body must be a JSON object, got {}", brief(v)))
    })?;
    if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ApiError::invalid(format!("unknown field '{k}'")));
    }
    Ok(obj)
}

async fn create(sh: Arc<Shared>, e: &'static Entity, body: Bytes) -> Response {
    let r = async {
        let checked = check_record(e, &parse_body(&body)?, false).map_err(ApiError::invalid)?;
        sh.mutate(|s| s.create(e, checked)).await
    };
    answer(r.await)
}

async fn get_record(sh: Arc<Shared>, e: &'static Entity, raw: String) -> Response {
    let r = parse_id(e, &raw).and_then(|id| {
        lock(&sh.store)
            .get(e, id)
            .ok_or_else(|| ApiError::no_record(e, id))
    });
    answer(r)
}

async fn put_record(sh: Arc<Shared>, e: &'static Entity, raw: String, body: Bytes) -> Response {
    let r = async {
        let id = parse_id(e, &raw)?;
        let checked = check_record(e, &parse_body(&body)?, false).map_err(ApiError::invalid)?;
        sh.mutate(|s| s.put(e, id, checked)).await
    };
    answer(r.await)
}

async fn delete_record(sh: Arc<Shared>, e: &'static Entity, raw: String) -> Response {
    let r = async {
        let id = parse_id(e, &raw)?;
        sh.mutate(|s| {
            if s.delete(e, id) {
                Ok(())
            } else {
                Err(ApiError::no_record(e, id))
            }
        })
        .await?;
        Ok(json!({"message": format!("{} deleted successfully", e.one)}))
    };
    answer(r.await)
}

async fn bulk_upsert(sh: Arc<Shared>, e: &'static Entity, body: Bytes) -> Response {
    let r = async {
        let v = parse_body(&body)?;
        let key = e.bulk_key();
        let obj = object(&v, &[key])?;
        let items = match obj.get(key) {
            Some(Value::Array(items)) => items,
            None | Some(Value::Null) => {
                return Err(ApiError::invalid(format!(
                    "{key}: required field is missing"
                )));
            }
            Some(other) => {
                return Err(ApiError::invalid(format!(
                    "{key}: must be an array of {key}, got {}",
                    brief(other)
                )));
            }
        };
        let max = lock(&sh.runtime).max_bulk;
        if items.is_empty() {
            return Err(ApiError::invalid(format!("{key}: must not be empty")));
        }
        if items.len() > max {
            return Err(ApiError::invalid(format!(
                "too many {key} in one request: {} (max {max})",
                items.len()
            )));
        }
        let checked = items
            .iter()
            .map(|c| check_record(e, c, true))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ApiError::invalid)?;
        let out = sh.mutate(|s| s.bulk(e, checked)).await?;
        Ok(json!({ key: out }))
    };
    answer(r.await)
}

async fn bulk_delete(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let r = async {
        let v = parse_body(&body)?;
        let obj = object(&v, &["ids", "with_clients"])?;
        let ids = match obj.get("ids") {
            Some(Value::Array(ids)) => ids,
            None | Some(Value::Null) => {
                return Err(ApiError::invalid("ids: required field is missing"));
            }
            Some(other) => {
                return Err(ApiError::invalid(format!(
                    "ids: must be an array of positive integers, got {}",
                    brief(other)
                )));
            }
        };
        match obj.get("with_clients") {
            None | Some(Value::Null) | Some(Value::Bool(_)) => {}
            Some(other) => {
                return Err(ApiError::invalid(format!(
                    "with_clients: must be a boolean (true or false), got {}",
                    brief(other)
                )));
            }
        }
        if ids.is_empty() {
            return Err(ApiError::invalid("ids: must not be empty"));
        }
        if ids.len() > MAX_DELETE_IDS {
            return Err(ApiError::invalid(format!(
                "too many ids in one request: {} (max {MAX_DELETE_IDS})",
                ids.len()
            )));
        }
        let mut parsed = Vec::with_capacity(ids.len());
        for i in ids {
            let id = positive_int(i).ok_or_else(|| {
                ApiError::invalid(format!("ids: {} is not a positive integer", brief(i)))
            })?;
            parsed.push(id);
        }
        let with_clients = matches!(obj.get("with_clients"), Some(Value::Bool(true)));
        let deleted = sh
            .mutate(|s| Ok(s.bulk_delete(&parsed, with_clients)))
            .await?;
        Ok(json!({ "deleted_ids": deleted }))
    };
    answer(r.await)
}

async fn send_sms(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    answer(send_message(&sh, &body, "sms").await)
}

async fn send_email(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    answer(send_message(&sh, &body, "email").await)
}

async fn send_message(sh: &Shared, body: &Bytes, channel: &str) -> Result<Value, ApiError> {
    let v = parse_body(body)?;
    let email = channel == "email";
    let allowed: &[&str] = if email {
        &["case_id", "client_id", "subject", "message"]
    } else {
        &["case_id", "client_id", "message"]
    };
    let obj = object(&v, allowed)?;
    let int = |k: &str| match obj.get(k) {
        None | Some(Value::Null) => {
            Err(ApiError::invalid(format!("{k}: required field is missing")))
        }
        Some(v) => positive_int(v).ok_or_else(|| {
            ApiError::invalid(format!("{k}: must be a positive integer, got {}", brief(v)))
        }),
    };
    let text = |k: &str| match obj.get(k) {
        None | Some(Value::Null) => {
            Err(ApiError::invalid(format!("{k}: required field is missing")))
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(ApiError::invalid(format!("{k}: must not be empty")))
        }
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(ApiError::invalid(format!(
            "{k}: must be a string, got {}",
            brief(v)
        ))),
    };
    let case_id = int("case_id")?;
    let client_id = int("client_id")?;
    let subject = if email { Some(text("subject")?) } else { None };
    let message = text("message")?;
    let kind = if email { Channel::Email } else { Channel::Sms };
    let channel = channel.to_string();
    let reply = format!("{channel} scheduled");
    sh.mutate(move |s| {
        let dropped_opted_out = s
            .message_dropped(case_id, client_id, kind)
            .ok_or_else(|| ApiError::no_record(&CASES, case_id))?;
        s.push_message(SentMessage {
            case_id,
            client_id,
            channel,
            subject,
            message,
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            dropped_opted_out,
        });
        Ok(())
    })
    .await?;
    Ok(json!({ "message": reply }))
}

async fn metadata() -> Response {
    ok(super::metadata_json(entity::ALL))
}

// ---------------------------------------------------------------------------------------------
// Admin routes: no key, no rate limit.

async fn admin_state(State(sh): State<Arc<Shared>>) -> Response {
    // The same bytes as the state file: every case with its opt-out flags, messages, next_id.
    let bytes = lock(&sh.store).to_json();
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        bytes,
    )
        .into_response()
}

async fn admin_seed(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let r = async {
        let v = parse_body(&body)?;
        sh.mutate(|s| s.seed(&v).map_err(ApiError::invalid)).await
    };
    answer(r.await)
}

/// A positive integer field of an admin body.
fn id_field(obj: &serde_json::Map<String, Value>, k: &str) -> Result<u64, ApiError> {
    match obj.get(k) {
        None | Some(Value::Null) => {
            Err(ApiError::invalid(format!("{k}: required field is missing")))
        }
        Some(v) => positive_int(v).ok_or_else(|| {
            ApiError::invalid(format!("{k}: must be a positive integer, got {}", brief(v)))
        }),
    }
}

async fn admin_reply(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let r = async {
        let v = parse_body(&body)?;
        let obj = object(&v, &["client_id", "channel", "message"])?;
        let client = id_field(obj, "client_id")?;
        let channel = match obj.get("channel").and_then(Value::as_str) {
            Some("sms") => Channel::Sms,
            Some("email") => Channel::Email,
            _ => return Err(ApiError::invalid("channel: must be \"sms\" or \"email\"")),
        };
        let Some(text) = obj.get("message").and_then(Value::as_str) else {
            return Err(ApiError::invalid("message: must be a string"));
        };
        let text = text.to_string();
        sh.mutate(move |s| s.reply(client, channel, &text)).await
    };
    answer(r.await)
}

async fn admin_merge_clients(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let r = async {
        let v = parse_body(&body)?;
        let obj = object(&v, &["from", "into"])?;
        let from = id_field(obj, "from")?;
        let into = id_field(obj, "into")?;
        sh.mutate(|s| s.merge(&CLIENTS, from, into)).await
    };
    answer(r.await)
}

async fn admin_reset(State(sh): State<Arc<Shared>>) -> Response {
    let r = sh
        .mutate(|s| {
            s.reset();
            Ok(())
        })
        .await;
    *lock(&sh.stats) = Stats::default();
    lock(&sh.windows).clear();
    answer(r.map(|()| json!({"message": "sandbox reset"})))
}

fn config_json(rt: &Runtime, b: Behaviour) -> Value {
    json!({
        "faults": rt.faults.to_string(),
        "latency": rt.latency.to_string(),
        "rate_limit": rt.rate.to_string(),
        "max_bulk": rt.max_bulk,
        "slow_ms": rt.slow_ms,
        "seed": rt.seed,
        "allow_duplicate_case_numbers": b.allow_duplicate_case_numbers,
        "foreign_writes": b.foreign_writes,
    })
}

async fn admin_get_config(State(sh): State<Arc<Shared>>) -> Response {
    let b = lock(&sh.store).behaviour();
    ok(config_json(&lock(&sh.runtime), b))
}

async fn admin_config(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let r = (|| {
        let v = parse_body(&body)?;
        let obj = object(
            &v,
            &[
                "faults",
                "latency",
                "rate_limit",
                "max_bulk",
                "slow_ms",
                "seed",
                "allow_duplicate_case_numbers",
                "foreign_writes",
            ],
        )?;
        let mut rt = lock(&sh.runtime).clone();
        let mut behaviour = lock(&sh.store).behaviour();
        match obj.get("allow_duplicate_case_numbers") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => behaviour.allow_duplicate_case_numbers = *b,
            Some(v) => {
                return Err(ApiError::invalid(format!(
                    "allow_duplicate_case_numbers: must be a boolean (true or false), got {}",
                    brief(v)
                )));
            }
        }
        let text = |k: &str| -> Result<Option<String>, ApiError> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(v) => Err(ApiError::invalid(format!(
                    "{k}: must be a string, got {}",
                    brief(v)
                ))),
            }
        };
        let number = |k: &str| -> Result<Option<u64>, ApiError> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                    ApiError::invalid(format!("{k}: must be a whole number, got {}", brief(v)))
                }),
            }
        };
        if let Some(s) = text("faults")? {
            rt.faults = s.parse().map_err(ApiError::invalid)?;
        }
        if let Some(s) = text("latency")? {
            rt.latency = s.parse().map_err(ApiError::invalid)?;
        }
        let new_rate = text("rate_limit")?;
        if let Some(s) = &new_rate {
            rt.rate = s.parse().map_err(ApiError::invalid)?;
        }
        if let Some(n) = number("max_bulk")? {
            if n == 0 {
                return Err(ApiError::invalid("max_bulk: must be at least 1"));
            }
            rt.max_bulk = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = number("slow_ms")? {
            rt.slow_ms = n;
        }
        if let Some(s) = text("foreign_writes")? {
            behaviour.foreign_writes = super::parse_rate(&s)
                .map_err(|e| ApiError::invalid(format!("foreign_writes: {e}")))?;
        }
        let new_seed = number("seed")?;
        if let Some(n) = new_seed {
            rt.seed = n;
        }
        // Apply all or nothing, like a bulk request.
        *lock(&sh.runtime) = rt.clone();
        if let Some(n) = new_seed {
            *lock(&sh.rng) = ChaCha8Rng::seed_from_u64(n);
        }
        lock(&sh.store).configure(behaviour, rt.seed);
        if new_rate.is_some() {
            lock(&sh.windows).clear();
        }
        Ok(config_json(&rt, behaviour))
    })();
    answer(r)
}

async fn admin_stats(State(sh): State<Arc<Shared>>) -> Response {
    let records: serde_json::Map<String, Value> = {
        let store = lock(&sh.store);
        entity::ALL
            .iter()
            .map(|e| (e.name.to_string(), Value::from(store.len(e))))
            .collect()
    };
    let mut v = lock(&sh.stats).to_json();
    v["records"] = Value::Object(records);
    ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_labels_group_ids() {
        let cases = [
            (Method::GET, "/v1/cases/1001", "GET /v1/cases/{id}"),
            (Method::PUT, "/v1/cases/abc", "PUT /v1/cases/{id}"),
            (Method::POST, "/v1/cases/bulk", "POST /v1/cases/bulk"),
            (
                Method::POST,
                "/v1/cases/bulk_delete",
                "POST /v1/cases/bulk_delete",
            ),
            (
                Method::POST,
                "/v1/cases/communication/sms",
                "POST /v1/cases/communication/sms",
            ),
        ];
        for (m, p, want) in cases {
            assert_eq!(route_label(&m, p), want);
        }
    }

    /// One key's window over time at 3 requests per 2 s, first request at epoch 1000.4 s.
    #[test]
    fn fixed_window_over_time() {
        let rate: RateSpec = "3/2s".parse().unwrap();
        let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        // (now in epoch ms, allowed, remaining, reset)
        let steps: &[(u64, bool, u32, u64)] = &[
            (1_000_400, true, 2, 1_002), // opened at the start of its second: 1.6 s long
            (1_000_900, true, 1, 1_002),
            (1_001_999, true, 0, 1_002),
            (1_001_999, false, 0, 1_002), // spent: refused, same reset
            (1_002_000, true, 2, 1_004),  // Reset reached: a fresh window at once
            (1_003_500, true, 1, 1_004),
            (1_003_999, true, 0, 1_004),
            (1_003_999, false, 0, 1_004),
            (1_010_700, true, 2, 1_012), // idle for longer than a window
        ];
        let mut w = Window::open(rate, at(steps[0].0));
        for (i, &(ms, allowed, remaining, reset)) in steps.iter().enumerate() {
            let want = RateHeaders {
                limit: 3,
                remaining,
                reset,
            };
            assert_eq!(
                w.spend(rate, at(ms)),
                (allowed, want),
                "step {i} at {ms} ms"
            );
        }
    }

    #[test]
    fn a_tokio_clock_starts_where_it_is_told_and_follows_paused_time() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let start = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
            let clock = Clock::following_tokio(start);
            assert_eq!(clock.now(), start);
            tokio::time::advance(Duration::from_millis(1_750)).await;
            assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1_700_000_002));
        });
    }

    #[test]
    fn reset_rounds_up() {
        let t = UNIX_EPOCH + Duration::from_millis(10_001);
        assert_eq!(epoch_ceil(t), 11);
        assert_eq!(epoch_ceil(UNIX_EPOCH + Duration::from_secs(10)), 10);
        let t = UNIX_EPOCH + Duration::from_millis(10_999);
        assert_eq!(floor_second(t), UNIX_EPOCH + Duration::from_secs(10));
    }
}
