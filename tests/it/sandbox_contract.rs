//! Contract tests for the sandbox: every documented Kayse behaviour, checked over loopback with
//! reqwest against a server started in-process (`sandbox::spawn`) or as the real binary (stdout
//! line, state file across restarts, signals). No test here talks to the real Kayse.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, UNIX_EPOCH};

use kayse_bulk::sandbox::{self, Clock, Config, Handle};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::HeldClock;

pub(crate) const KEY: &str = "sandbox";

pub(crate) struct Api {
    pub(crate) handle: Handle,
    pub(crate) client: Client,
    pub(crate) base: String,
}

impl Api {
    pub(crate) async fn start(config: Config) -> Api {
        let handle = sandbox::spawn(config).await.expect("sandbox starts");
        let base = handle.base_url();
        Api {
            handle,
            client: Client::new(),
            base,
        }
    }

    pub(crate) async fn default() -> Api {
        Api::start(Config::default()).await
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the key; answers (status, headers, JSON body).
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut rb = self
            .client
            .request(method, self.url(path))
            .header("X-API-KEY", KEY);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("an answer");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, headers, body)
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, _, b) = self.call(reqwest::Method::POST, path, Some(body)).await;
        (s, b)
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, _, b) = self.call(reqwest::Method::GET, path, None).await;
        (s, b)
    }

    /// Admin routes need no key.
    pub(crate) async fn admin_get(&self, path: &str) -> Value {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("admin answer")
            .json()
            .await
            .expect("admin JSON")
    }

    pub(crate) async fn admin_post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("admin answer");
        let s = resp.status();
        (s, resp.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn case_count(&self) -> usize {
        self.admin_get("/sandbox/state").await["cases"]
            .as_array()
            .map_or(0, Vec::len)
    }
}

pub(crate) fn case(n: &str) -> Value {
    json!({
        "case_number": n,
        "external_source": "other",
        "external_source_id": format!("ext-{n}"),
        "status": "active",
        "type": "civil"
    })
}

pub(crate) fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

pub(crate) fn assert_error_shape(body: &Value) {
    assert!(body["error"].is_string(), "error word in {body}");
    assert!(body["message"].is_string(), "message in {body}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{body}");
}

// ------------------------------------------------------------------------------------------------
// Authentication and the error shape

#[tokio::test]
async fn missing_or_wrong_key_gets_401_with_error_body() {
    let api = Api::default().await;
    let no_key = api
        .client
        .post(api.url("/v1/cases"))
        .json(&case("A"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 401);
    assert!(no_key.headers().contains_key("x-ratelimit-limit"));
    let body: Value = no_key.json().await.unwrap();
    assert_error_shape(&body);
    assert_eq!(body["error"], "unauthorized");

    let wrong = api
        .client
        .get(api.url("/v1/cases/1001"))
        .header("X-API-KEY", "not-the-key")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_error_shape(&body);
    assert_eq!(body["message"], "invalid API key");
    assert_eq!(api.case_count().await, 0);
}

// ------------------------------------------------------------------------------------------------
// Single-case routes

#[tokio::test]
async fn create_get_put_delete() {
    let api = Api::default().await;
    // Linked clients must exist (Kayse refuses unknown ids): seeded with the ids the case names.
    let people = json!({"clients": [{"id": 1, "first_name": "A", "last_name": "One",
        "external_source": "other", "external_source_id": "p1"},
        {"id": 2, "first_name": "B", "last_name": "Two",
        "external_source": "other", "external_source_id": "p2"}]});
    assert_eq!(api.admin_post("/sandbox/seed", people).await.0, 200);
    let full = with(
        with(case("C-1"), "name", json!("Smith v. Jones")),
        "client_ids",
        json!([1, 2]),
    );
    let (s, created) = api.post("/v1/cases", full).await;
    assert_eq!(s, 200, "{created}");
    assert_eq!(created["id"], 1001);
    assert_eq!(created["origin"], "public_api");
    assert_eq!(created["update_origin"], Value::Null);
    assert_eq!(created["name"], "Smith v. Jones");

    let (s, got) = api.get("/v1/cases/1001").await;
    assert_eq!(s, 200);
    for flag in ["call_opted_out", "sms_opted_out", "email_opted_out"] {
        assert_eq!(got[flag], false, "{flag}");
    }
    assert_eq!(got["client_ids"], json!([1, 2]));

    // PUT, not PATCH: what is left out becomes null.
    let (s, _, put) = api
        .call(
            reqwest::Method::PUT,
            "/v1/cases/1001",
            Some(with(case("C-1"), "status", json!("closed"))),
        )
        .await;
    assert_eq!(s, 200, "{put}");
    assert_eq!(put["status"], "closed");
    assert_eq!(put["name"], Value::Null);
    assert_eq!(put["client_ids"], Value::Null);
    assert_eq!(put["update_origin"], "public_api");
    let (_, got) = api.get("/v1/cases/1001").await;
    assert_eq!(got["name"], Value::Null);
    assert_eq!(got["update_origin"], "public_api");

    let (s, _, del) = api
        .call(reqwest::Method::DELETE, "/v1/cases/1001", None)
        .await;
    assert_eq!(
        (s.as_u16(), del),
        (200, json!({"message": "case deleted successfully"}))
    );
    let (s, gone) = api.get("/v1/cases/1001").await;
    assert_eq!(s, 404);
    assert_error_shape(&gone);
    assert_eq!(gone["error"], "not found");
    let (s, _, _) = api
        .call(reqwest::Method::DELETE, "/v1/cases/1001", None)
        .await;
    assert_eq!(s, 404);
    let (s, _, _) = api
        .call(reqwest::Method::PUT, "/v1/cases/1001", Some(case("C-1")))
        .await;
    assert_eq!(s, 404);

    // Ids are never reused.
    let (_, again) = api.post("/v1/cases", case("C-1")).await;
    assert_eq!(again["id"], 1002);
}

#[tokio::test]
async fn strict_types_and_unknown_fields_are_400_with_precise_messages() {
    let api = Api::default().await;
    let cases: Vec<(Value, &str)> = vec![
        (
            with(case("A"), "colour", json!("red")),
            "unknown field 'colour'",
        ),
        (with(case("A"), "id", json!(5)), "unknown field 'id'"),
        (
            with(case("A"), "status", json!("")),
            "status: must not be empty",
        ),
        (
            json!({"case_number": "A", "external_source": "o", "status": "s", "type": "t"}),
            "external_source_id: required field is missing",
        ),
        (
            with(case("A"), "is_obo", json!("true")),
            "is_obo: must be a boolean (true or false), got \"true\"",
        ),
        (
            with(case("A"), "created_date", json!("2024-02-30")),
            "created_date: '2024-02-30' is not a valid date (YYYY-MM-DD)",
        ),
        (
            with(case("A"), "court_date", json!("03/05/2024")),
            "court_date: '03/05/2024' is not a valid date (YYYY-MM-DD)",
        ),
        (
            with(case("A"), "client_ids", json!([1, 0])),
            "client_ids: 0 is not a positive integer",
        ),
        (
            with(case("A"), "client_ids", json!(["7"])),
            "client_ids: \"7\" is not a positive integer",
        ),
        (
            with(case("A"), "external_source_data", json!([1])),
            "external_source_data: must be a JSON object, got [1]",
        ),
        (json!("A"), "a case must be a JSON object, got \"A\""),
    ];
    for (body, want) in cases {
        let (s, answer) = api.post("/v1/cases", body.clone()).await;
        assert_eq!(s, 400, "{body}");
        assert_eq!(answer["error"], "invalid request");
        assert_eq!(answer["message"], want, "{body}");
    }
    let (s, h, e) = api
        .call(reqwest::Method::PATCH, "/v1/cases/1001", Some(case("A")))
        .await;
    assert_eq!(s, 405);
    assert_error_shape(&e);
    assert!(h.contains_key("x-ratelimit-remaining"));
    let (s, _, e) = api.call(reqwest::Method::GET, "/v1/clientz", None).await;
    assert_eq!(s, 404);
    assert_error_shape(&e);
    let bad_json = api
        .client
        .post(api.url("/v1/cases"))
        .header("X-API-KEY", KEY)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), 400);
    assert_error_shape(&bad_json.json().await.unwrap());
    assert_eq!(api.case_count().await, 0);
}

#[tokio::test]
async fn case_number_is_unique() {
    let api = Api::default().await;
    api.post("/v1/cases", case("DUP")).await;
    let (s, e) = api.post("/v1/cases", case("DUP")).await;
    assert_eq!(s, 400);
    assert_eq!(e["message"], "case_number 'DUP' already exists");
    // A PUT may keep its own number but not take another's.
    api.post("/v1/cases", case("OTHER")).await;
    let (s, _, e) = api
        .call(reqwest::Method::PUT, "/v1/cases/1002", Some(case("DUP")))
        .await;
    assert_eq!(s, 400);
    assert_eq!(e["message"], "case_number 'DUP' already exists");
    let (s, _, _) = api
        .call(reqwest::Method::PUT, "/v1/cases/1002", Some(case("OTHER")))
        .await;
    assert_eq!(s, 200);
}

// ------------------------------------------------------------------------------------------------
// Bulk upsert

#[tokio::test]
async fn bulk_creates_and_updates_in_request_order() {
    let api = Api::default().await;
    let (s, out) = api
        .post(
            "/v1/cases/bulk",
            json!({"cases": [case("B-3"), case("B-1"), case("B-2")]}),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    let numbers: Vec<&str> = out["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case_number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["B-3", "B-1", "B-2"]);
    let ids: Vec<u64> = out["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1001, 1002, 1003]);

    let update = with(
        with(case("B-1"), "id", json!(1002)),
        "status",
        json!("closed"),
    );
    let (s, out) = api
        .post("/v1/cases/bulk", json!({"cases": [case("B-4"), update]}))
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["cases"][0]["id"], 1004);
    assert_eq!(out["cases"][0]["update_origin"], Value::Null);
    assert_eq!(out["cases"][1]["id"], 1002);
    assert_eq!(out["cases"][1]["status"], "closed");
    assert_eq!(out["cases"][1]["update_origin"], "public_api");
    assert_eq!(out["cases"][1]["origin"], "public_api");
}

#[tokio::test]
async fn bulk_is_all_or_nothing_and_does_not_name_the_entry() {
    let api = Api::default().await;
    api.post("/v1/cases", case("EXISTING")).await;
    let before = api.admin_get("/sandbox/state").await;
    let batches: Vec<(Value, u16, &str)> = vec![
        (
            json!([
                case("N-1"),
                with(case("N-2"), "created_date", json!("2024-02-30"))
            ]),
            400,
            "created_date: '2024-02-30' is not a valid date (YYYY-MM-DD)",
        ),
        (
            json!([case("N-1"), case("EXISTING")]),
            400,
            "case_number 'EXISTING' already exists",
        ),
        (
            json!([case("N-1"), case("N-1")]),
            400,
            "case_number 'N-1' already exists in this request",
        ),
        (
            json!([case("N-1"), with(case("N-2"), "id", json!(99999))]),
            404,
            "The requested resource could not be found",
        ),
        (
            json!([case("N-1"), with(case("N-2"), "extra", json!(1))]),
            400,
            "unknown field 'extra'",
        ),
    ];
    for (cases, status, want) in batches {
        let (s, e) = api.post("/v1/cases/bulk", json!({ "cases": cases })).await;
        assert_eq!(s.as_u16(), status, "{e}");
        assert_error_shape(&e);
        let msg = e["message"].as_str().unwrap();
        assert_eq!(msg, want);
        assert!(!msg.contains('[') && !msg.contains("entry"), "{msg}");
        assert_eq!(
            api.admin_get("/sandbox/state").await,
            before,
            "nothing applied: {want}"
        );
    }
    // Nothing was created, so the next id is still the next one.
    let (_, c) = api.post("/v1/cases", case("NEXT")).await;
    assert_eq!(c["id"], 1002);
}

#[tokio::test]
async fn bulk_size_limits() {
    let api = Api::start(Config {
        max_bulk: 3,
        ..Config::default()
    })
    .await;
    let four: Vec<Value> = (0..4).map(|i| case(&format!("M-{i}"))).collect();
    let (s, e) = api.post("/v1/cases/bulk", json!({ "cases": four })).await;
    assert_eq!(s, 400);
    assert_eq!(e["message"], "too many cases in one request: 4 (max 3)");
    let (s, e) = api.post("/v1/cases/bulk", json!({"cases": []})).await;
    assert_eq!(s, 400);
    assert_eq!(e["message"], "cases: must not be empty");
    let (s, e) = api.post("/v1/cases/bulk", json!({"case": []})).await;
    assert_eq!(s, 400);
    assert_eq!(e["message"], "unknown field 'case'");
    let three: Vec<Value> = (0..3).map(|i| case(&format!("M-{i}"))).collect();
    let (s, _) = api.post("/v1/cases/bulk", json!({ "cases": three })).await;
    assert_eq!(s, 200);
    let stats = api.admin_get("/sandbox/stats").await;
    assert_eq!(stats["bulk_sizes"], json!([4, 0, 3]));
}

// ------------------------------------------------------------------------------------------------
// Bulk delete

#[tokio::test]
async fn bulk_delete_limits_missing_ids_and_with_clients() {
    let api = Api::default().await;
    api.post(
        "/v1/cases/bulk",
        json!({"cases": [case("D-1"), case("D-2")]}),
    )
    .await;
    let too_many: Vec<u64> = (1..=501).collect();
    let (s, e) = api
        .post("/v1/cases/bulk_delete", json!({ "ids": too_many }))
        .await;
    assert_eq!(s, 400);
    assert_eq!(e["message"], "too many ids in one request: 501 (max 500)");
    let (s, e) = api
        .post(
            "/v1/cases/bulk_delete",
            json!({"ids": [1001], "with_clients": "no"}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        e["message"],
        "with_clients: must be a boolean (true or false), got \"no\""
    );
    let (s, e) = api
        .post("/v1/cases/bulk_delete", json!({"ids": ["1001"]}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(e["message"], "ids: \"1001\" is not a positive integer");
    assert_eq!(api.case_count().await, 2, "failed deletes delete nothing");

    let (s, out) = api
        .post(
            "/v1/cases/bulk_delete",
            json!({"ids": [1002, 4242, 1001], "with_clients": false}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(out, json!({"deleted_ids": [1002, 1001]}));
    assert_eq!(api.case_count().await, 0);
    let (_, out) = api
        .post("/v1/cases/bulk_delete", json!({"ids": [1001]}))
        .await;
    assert_eq!(out, json!({"deleted_ids": []}));
    let five_hundred: Vec<u64> = (1..=500).collect();
    let (s, _) = api
        .post("/v1/cases/bulk_delete", json!({ "ids": five_hundred }))
        .await;
    assert_eq!(s, 200);
    let stats = api.admin_get("/sandbox/stats").await;
    assert_eq!(stats["bulk_delete_sizes"], json!([501, 1, 1, 3, 1, 500]));
}

// ------------------------------------------------------------------------------------------------
// Messages and metadata

#[tokio::test]
async fn sms_and_email_are_recorded_and_unknown_cases_are_404() {
    let api = Api::default().await;
    let (_, seeded) = api
        .admin_post(
            "/sandbox/seed",
            json!({"cases": [case("S-1"), with(case("S-2"), "sms_opted_out", json!(true))]}),
        )
        .await;
    assert_eq!(seeded, json!({"ids": [1001, 1002]}));

    let sms = json!({"case_id": 1001, "client_id": 7, "message": "Hello {{first_name}}"});
    let (s, out) = api.post("/v1/cases/communication/sms", sms).await;
    assert_eq!(
        (s.as_u16(), out),
        (200, json!({"message": "sms scheduled"}))
    );
    let email = json!({"case_id": 1001, "client_id": 7, "subject": "Update", "message": "Body"});
    let (s, out) = api.post("/v1/cases/communication/email", email).await;
    assert_eq!(
        (s.as_u16(), out),
        (200, json!({"message": "email scheduled"}))
    );
    let opted = json!({"case_id": 1002, "client_id": 8, "message": "Hi"});
    let (s, _) = api.post("/v1/cases/communication/sms", opted).await;
    assert_eq!(s, 200);

    let rejects: Vec<(&str, Value, u16, &str)> = vec![
        (
            "sms",
            json!({"case_id": 999, "client_id": 7, "message": "x"}),
            404,
            "case 999 not found",
        ),
        (
            "sms",
            json!({"case_id": 1001, "client_id": 7, "message": ""}),
            400,
            "message: must not be empty",
        ),
        (
            "sms",
            json!({"case_id": "1001", "client_id": 7, "message": "x"}),
            400,
            "case_id: must be a positive integer, got \"1001\"",
        ),
        (
            "sms",
            json!({"case_id": 1001, "message": "x"}),
            400,
            "client_id: required field is missing",
        ),
        (
            "sms",
            json!({"case_id": 1001, "client_id": 7, "message": "x", "subject": "s"}),
            400,
            "unknown field 'subject'",
        ),
        (
            "email",
            json!({"case_id": 1001, "client_id": 7, "message": "x"}),
            400,
            "subject: required field is missing",
        ),
    ];
    for (channel, body, status, want) in rejects {
        let (s, e) = api
            .post(&format!("/v1/cases/communication/{channel}"), body)
            .await;
        assert_eq!(s.as_u16(), status, "{e}");
        assert_eq!(e["message"], want);
    }

    let state = api.admin_get("/sandbox/state").await;
    let msgs = state["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[0]["channel"], "sms");
    assert_eq!(msgs[0]["message"], "Hello {{first_name}}");
    assert_eq!(msgs[0]["client_id"], 7);
    assert_eq!(msgs[0]["dropped_opted_out"], false);
    assert_eq!(msgs[1]["channel"], "email");
    assert_eq!(msgs[1]["subject"], "Update");
    assert_eq!(msgs[2]["dropped_opted_out"], true);
    assert!(msgs[0]["time"].is_string());
}

#[tokio::test]
async fn metadata_comes_from_the_schema_table() {
    let api = Api::default().await;
    let (s, m) = api.get("/v1/metadata/objects").await;
    assert_eq!(s, 200);
    assert_eq!(m[0]["name"], "cases");
    let fields = m[0]["fields"].as_array().unwrap();
    assert_eq!(fields.len(), kayse_bulk::entity::CASES.fields.len());
    for (f, v) in kayse_bulk::entity::CASES.fields.iter().zip(fields) {
        assert_eq!(v["name"], f.name);
        assert_eq!(v["type"], f.kind.api_name());
        assert_eq!(v["required"], f.required);
        assert_eq!(v["description"], f.description);
    }
}

// ------------------------------------------------------------------------------------------------
// Rate limit

fn header_u64(h: &reqwest::header::HeaderMap, name: &str) -> u64 {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("header {name} missing or not a number"))
}

/// The sandbox's windows follow tokio's paused clock from a chosen instant, so every Reset is
/// known in advance and the test moves time itself: nothing here depends on how fast the machine
/// is.
#[tokio::test(start_paused = true)]
async fn rate_limit_headers_on_every_answer_and_429_when_spent() {
    let _held = HeldClock::new();
    // A quarter of a second into an epoch second: the window closes at the start of the second
    // two seconds on, so Reset is exact and the window 1.75 s long.
    let start = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
    const RESET: u64 = 1_700_000_002;
    let api = Api::start(Config {
        rate: "5/2s".parse().unwrap(),
        clock: Clock::following_tokio(start),
        ..Config::default()
    })
    .await;
    for i in 0..5u64 {
        // Mixed answers (200, 404, 400) all carry the headers.
        let (s, h, _) = match i {
            0 => {
                api.call(reqwest::Method::POST, "/v1/cases", Some(case("R")))
                    .await
            }
            1 => api.call(reqwest::Method::GET, "/v1/cases/4242", None).await,
            _ => {
                api.call(reqwest::Method::POST, "/v1/cases", Some(json!({})))
                    .await
            }
        };
        assert_ne!(s, 429);
        assert_eq!(header_u64(&h, "x-ratelimit-limit"), 5);
        assert_eq!(header_u64(&h, "x-ratelimit-remaining"), 4 - i);
        assert_eq!(header_u64(&h, "x-ratelimit-reset"), RESET, "request {i}");
    }
    let (s, h, body) = api.call(reqwest::Method::GET, "/v1/cases/1001", None).await;
    assert_eq!(s, 429);
    assert_error_shape(&body);
    assert_eq!(body["error"], "too many requests");
    assert_eq!(header_u64(&h, "x-ratelimit-remaining"), 0);
    assert_eq!(header_u64(&h, "x-ratelimit-reset"), RESET);
    // Admin routes are not limited.
    assert_eq!(api.admin_get("/sandbox/stats").await["rate_limited"], 1);

    // A millisecond before Reset the window is still spent.
    tokio::time::advance(Duration::from_millis(1_749)).await;
    let (s, h, _) = api.call(reqwest::Method::GET, "/v1/cases/1001", None).await;
    assert_eq!(s, 429);
    assert_eq!(header_u64(&h, "x-ratelimit-reset"), RESET);

    // Waiting until Reset is always enough: at Reset a fresh window opens.
    tokio::time::advance(Duration::from_millis(1)).await;
    let (s, h, _) = api.call(reqwest::Method::GET, "/v1/cases/1001", None).await;
    assert_eq!(s, 200);
    assert_eq!(header_u64(&h, "x-ratelimit-remaining"), 4);
    assert_eq!(header_u64(&h, "x-ratelimit-reset"), RESET + 2);
    assert_eq!(api.admin_get("/sandbox/stats").await["rate_limited"], 2);
}

// ------------------------------------------------------------------------------------------------
// Faults

async fn with_faults(spec: &str) -> Api {
    Api::start(Config {
        faults: spec.parse().unwrap(),
        slow_ms: 1_500,
        ..Config::default()
    })
    .await
}

#[tokio::test]
async fn fault_500_and_503_answer_with_error_bodies_and_apply_nothing() {
    for (spec, status, word) in [
        ("500:1", 500, "server error"),
        ("503:1", 503, "service unavailable"),
    ] {
        let api = with_faults(spec).await;
        let (s, h, body) = api
            .call(reqwest::Method::POST, "/v1/cases", Some(case("F")))
            .await;
        assert_eq!(s.as_u16(), status);
        assert_error_shape(&body);
        assert_eq!(body["error"], word);
        assert!(h.contains_key("x-ratelimit-remaining"));
        assert_eq!(api.case_count().await, 0);
        let stats = api.admin_get("/sandbox/stats").await;
        assert_eq!(stats["faults"][spec.split(':').next().unwrap()], 1);
    }
}

#[tokio::test]
async fn drop_closes_the_connection_and_applies_nothing() {
    let api = with_faults("").await;
    // A kept-alive connection from an earlier answer is cut just the same.
    assert_eq!(api.get("/v1/metadata/objects").await.0, 200);
    api.admin_post("/sandbox/config", json!({"faults": "drop:1"}))
        .await;
    for attempt in 0..3 {
        let err = api
            .client
            .post(api.url("/v1/cases"))
            .header("X-API-KEY", KEY)
            .json(&case("D"))
            .send()
            .await
            .expect_err("a dropped connection is an error, not an answer");
        assert!(!err.is_timeout(), "attempt {attempt}: {err:?}");
    }
    assert_eq!(api.case_count().await, 0);
    let stats = api.admin_get("/sandbox/stats").await;
    assert_eq!(stats["faults"]["drop"], 3);
    assert_eq!(stats["requests"], 4, "the client did not retry on its own");
    // The server itself is fine: the next request without faults is answered.
    api.admin_post("/sandbox/config", json!({"faults": ""}))
        .await;
    assert_eq!(api.get("/v1/metadata/objects").await.0, 200);
}

#[tokio::test]
async fn commit_drop_applies_then_closes_without_answering() {
    let api = with_faults("commit-drop:1").await;
    let err = api
        .client
        .post(api.url("/v1/cases/bulk"))
        .header("X-API-KEY", KEY)
        .json(&json!({"cases": [case("CD-1"), case("CD-2")]}))
        .send()
        .await
        .expect_err("no answer");
    assert!(!err.is_timeout(), "{err:?}");
    let state = api.admin_get("/sandbox/state").await;
    let numbers: Vec<&str> = state["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case_number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["CD-1", "CD-2"]);
    // Resending the same batch now fails as a duplicate: the ambiguity clients must handle.
    api.admin_post("/sandbox/config", json!({"faults": ""}))
        .await;
    let (s, e) = api
        .post(
            "/v1/cases/bulk",
            json!({"cases": [case("CD-1"), case("CD-2")]}),
        )
        .await;
    assert_eq!(s, 400);
    assert!(e["message"].as_str().unwrap().contains("already exists"));
}

#[tokio::test]
async fn slow_applies_at_once_and_holds_the_answer_for_slow_ms() {
    // An hour: the answer cannot come while the test looks, however loaded the machine is.
    let api = Api::start(Config {
        faults: "slow:1".parse().unwrap(),
        slow_ms: 3_600_000,
        ..Config::default()
    })
    .await;
    let (client, url) = (api.client.clone(), api.url("/v1/cases"));
    let held = tokio::spawn(async move {
        client
            .post(url)
            .header("X-API-KEY", KEY)
            .json(&case("SLOW"))
            .send()
            .await
    });
    // Applied before the answer. No deadline on this wait: a hang is the harness's to catch.
    while api.case_count().await == 0 {
        tokio::task::yield_now().await;
    }
    assert!(!held.is_finished(), "answered before slow_ms");
    assert_eq!(api.admin_get("/sandbox/stats").await["faults"]["slow"], 1);
    held.abort();

    // A patient client gets the answer, after slow_ms.
    api.admin_post("/sandbox/config", json!({"slow_ms": 300}))
        .await;
    let started = Instant::now();
    let (s, got) = api.get("/v1/cases/1001").await;
    assert_eq!(s, 200);
    assert_eq!(got["case_number"], "SLOW");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(api.admin_get("/sandbox/stats").await["faults"]["slow"], 2);
}

async fn statuses(seed: u64) -> Vec<u16> {
    let api = Api::start(Config {
        faults: "500:0.3,503:0.3".parse().unwrap(),
        seed,
        ..Config::default()
    })
    .await;
    let mut out = Vec::new();
    for _ in 0..24 {
        out.push(api.get("/v1/metadata/objects").await.0.as_u16());
    }
    out
}

#[tokio::test]
async fn faults_are_reproducible_with_a_seed() {
    let a = statuses(7).await;
    assert_eq!(a, statuses(7).await);
    assert!(
        a.contains(&200) && a.contains(&500) && a.contains(&503),
        "{a:?}"
    );
    assert_ne!(a, statuses(8).await);

    // Reseeding at run time replays the same sequence.
    let api = Api::start(Config {
        faults: "500:0.3,503:0.3".parse().unwrap(),
        seed: 1,
        ..Config::default()
    })
    .await;
    api.get("/v1/metadata/objects").await;
    api.admin_post("/sandbox/config", json!({"seed": 7})).await;
    let mut replay = Vec::new();
    for _ in 0..24 {
        replay.push(api.get("/v1/metadata/objects").await.0.as_u16());
    }
    assert_eq!(replay, a);
}

/// On tokio's paused clock: the sandbox's latency is the only timer, so a `/v1` request moves
/// time by exactly that much and an admin request not at all.
#[tokio::test(start_paused = true)]
async fn latency_delays_v1_requests_only() {
    let api = Api::start(Config {
        latency: "200".parse().unwrap(),
        ..Config::default()
    })
    .await;
    // No idle pool: its expiry timer would be one more place for the paused clock to jump to.
    let client = Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let started = tokio::time::Instant::now();
    let resp = client
        .get(api.url("/v1/metadata/objects"))
        .header("X-API-KEY", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    let started = tokio::time::Instant::now();
    let resp = client.get(api.url("/sandbox/stats")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "admin routes wait for nothing"
    );
}

/// Requests held open (their bodies not yet sent) are in flight together, whatever the timing.
#[tokio::test]
async fn requests_held_open_count_as_in_flight() {
    let api = Api::default().await;
    let head = format!(
        "POST /v1/cases HTTP/1.1\r\nHost: sandbox\r\nX-API-KEY: {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"
    );
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut conn = tokio::net::TcpStream::connect(api.handle.addr)
            .await
            .unwrap();
        conn.write_all(head.as_bytes()).await.unwrap();
        held.push(conn);
    }
    // Each is past the gate once counted. No deadline: a hang is the harness's to catch.
    let stats = loop {
        let stats = api.admin_get("/sandbox/stats").await;
        if stats["requests"].as_u64().unwrap() >= 2 {
            break stats;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(stats["requests"], 2, "{stats}");
    assert_eq!(stats["max_in_flight"], 2, "{stats}");
    // The bodies arrive: each is answered (an empty case is refused) and leaves the count.
    for mut conn in held {
        conn.write_all(b"{}").await.unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    }
    assert_eq!(api.get("/v1/metadata/objects").await.0, 200);
    let stats = api.admin_get("/sandbox/stats").await;
    assert_eq!(stats["requests"], 3);
    assert_eq!(
        stats["max_in_flight"], 2,
        "the first two were done: {stats}"
    );
}

// ------------------------------------------------------------------------------------------------
// Admin routes

#[tokio::test]
async fn admin_seed_state_config_stats_and_reset() {
    let api = Api::default().await;
    let seeded = json!({"cases": [
        with(with(case("A-1"), "id", json!(5000)), "email_opted_out", json!(true)),
        with(case("A-2"), "call_opted_out", json!(true)),
    ]});
    let (s, ids) = api.admin_post("/sandbox/seed", seeded).await;
    assert_eq!(s, 200);
    assert_eq!(ids, json!({"ids": [5000, 5001]}));
    let (_, got) = api.get("/v1/cases/5000").await;
    assert_eq!(got["email_opted_out"], true);
    assert_eq!(got["sms_opted_out"], false);
    let (_, got) = api.get("/v1/cases/5001").await;
    assert_eq!(got["call_opted_out"], true);
    // Seeded numbers count for uniqueness.
    let (s, _) = api.post("/v1/cases", case("A-1")).await;
    assert_eq!(s, 400);

    let state = api.admin_get("/sandbox/state").await;
    assert_eq!(state["next_ids"]["cases"], 5002);
    assert_eq!(state["cases"][0]["email_opted_out"], true);

    let (s, cfg) = api
        .admin_post(
            "/sandbox/config",
            json!({"faults": "500:0.1", "latency": "0-5", "rate_limit": "20/5s",
                   "max_bulk": 50, "slow_ms": 2000, "seed": 7}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        cfg,
        json!({"faults": "500:0.1", "latency": "0-5", "rate_limit": "20/5s",
               "max_bulk": 50, "slow_ms": 2000, "seed": 7,
               "allow_duplicate_case_numbers": false, "foreign_writes": 0.0})
    );
    assert_eq!(api.admin_get("/sandbox/config").await, cfg);
    let (s, e) = api
        .admin_post("/sandbox/config", json!({"faults": "teapot:1"}))
        .await;
    assert_eq!(s, 400);
    assert_error_shape(&e);
    assert_eq!(api.admin_get("/sandbox/config").await, cfg, "unchanged");
    api.admin_post("/sandbox/config", json!({"faults": "none"}))
        .await;

    let (_, h, _) = api.call(reqwest::Method::GET, "/v1/cases/5000", None).await;
    assert_eq!(header_u64(&h, "x-ratelimit-limit"), 20);

    let stats = api.admin_get("/sandbox/stats").await;
    for key in [
        "requests",
        "by_route",
        "rate_limited",
        "faults",
        "max_in_flight",
        "bulk_sizes",
        "bulk_delete_sizes",
    ] {
        assert!(stats.get(key).is_some(), "stats.{key}");
    }
    assert_eq!(stats["requests"], 4);
    assert_eq!(stats["by_route"]["GET /v1/cases/{id}"], 3);
    assert_eq!(stats["by_route"]["POST /v1/cases"], 1);
    for kind in ["500", "503", "drop", "commit-drop", "slow"] {
        assert_eq!(stats["faults"][kind], 0, "{kind}");
    }

    let (s, _) = api.admin_post("/sandbox/reset", json!({})).await;
    assert_eq!(s, 200);
    let state = api.admin_get("/sandbox/state").await;
    assert_eq!(
        state,
        json!({"cases": [], "clients": [], "messages": [],
               "next_ids": {"cases": 1001, "clients": 1_000_001}})
    );
    assert_eq!(api.admin_get("/sandbox/stats").await["requests"], 0);
}

// ------------------------------------------------------------------------------------------------
// State persistence, embedded mode and the binary

#[tokio::test]
async fn state_file_is_saved_on_every_change_and_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let api = Api::start(Config {
        state: Some(path.clone()),
        api_key: kayse_bulk::send::ApiKey::new(KEY),
        ..Config::default()
    })
    .await;
    api.post("/v1/cases", case("P-1")).await;
    // Saved before the answer: readable right away, without a shutdown.
    let on_disk: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(on_disk["cases"][0]["case_number"], "P-1");
    assert_eq!(on_disk["next_ids"]["cases"], 1002);
    assert_eq!(api.handle.state_json(), on_disk);
    api.handle.shutdown().await.unwrap();

    let again = Api::start(Config {
        state: Some(path.clone()),
        ..Config::default()
    })
    .await;
    let (s, got) = again.get("/v1/cases/1001").await;
    assert_eq!(
        (s.as_u16(), got["case_number"].clone()),
        (200, json!("P-1"))
    );
    let (_, next) = again.post("/v1/cases", case("P-2")).await;
    assert_eq!(next["id"], 1002);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "state.json")
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");

    std::fs::write(&path, b"{\"cases\": 12").unwrap();
    let err = sandbox::spawn(Config {
        state: Some(path.clone()),
        ..Config::default()
    })
    .await
    .expect_err("corrupt state refused");
    assert_eq!(err.code, kayse_bulk::error::ExitCode::Usage);
    assert!(err.message.contains("not valid"), "{}", err.message);

    let err = sandbox::spawn(Config {
        state: Some(dir.path().join("no-such-folder").join("s.json")),
        ..Config::default()
    })
    .await
    .expect_err("missing folder refused");
    assert_eq!(err.code, kayse_bulk::error::ExitCode::Usage);
    assert!(err.message.contains("does not exist"), "{}", err.message);
}

#[tokio::test]
async fn embedded_sandbox_uses_the_real_limit_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kayse-sandbox.json");
    let emb = sandbox::start_embedded(path.clone()).await.unwrap();
    assert!(emb.base_url.starts_with("http://127.0.0.1:"));
    let client = Client::new();
    let resp = client
        .post(format!("{}/v1/cases", emb.base_url))
        .header("X-API-KEY", emb.api_key.expose())
        .json(&case("E-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(header_u64(resp.headers(), "x-ratelimit-limit"), 500);
    let on_disk = std::fs::read_to_string(&path).unwrap();
    assert!(on_disk.contains("E-1"));
    // Dropping the handle does not stop the server.
    let base = emb.base_url.clone();
    drop(emb);
    let resp = client
        .get(format!("{base}/v1/cases/1001"))
        .header("X-API-KEY", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// The binary, started with `--listen 127.0.0.1:0`; returns the child and its base URL.
fn start_binary(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kayse-bulk"))
        .arg("sandbox")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut first = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let url = first
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (child, url)
}

/// Signal the sandbox and read its stderr to the end, which comes when it exits: no deadline,
/// a sandbox that ignores the signal hangs the test for the harness to report.
fn stop(child: &mut Child, signal: i32) -> (std::process::ExitStatus, String) {
    crate::support::signal(child.id(), signal);
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .unwrap();
    (child.wait().unwrap(), err)
}

#[test]
fn binary_keeps_state_across_a_restart_and_never_writes_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sbx.json");
    let state_arg = state.to_str().unwrap();
    let secret = "k3y-that-must-not-leak";
    let rt = tokio::runtime::Runtime::new().unwrap();

    let (mut child, url) = start_binary(&["--state", state_arg, "--api-key", secret]);
    let client = Client::new();
    let created: Value = rt.block_on(async {
        client
            .post(format!("{url}/v1/cases"))
            .header("X-API-KEY", secret)
            .json(&case("BIN-1"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(created["id"], 1001);
    let (status, stderr) = stop(&mut child, libc::SIGINT);
    assert!(status.success(), "{status:?} {stderr}");
    assert!(stderr.contains("POST /v1/cases 200"), "{stderr}");
    assert!(!stderr.contains(secret), "key leaked to stderr: {stderr}");
    let on_disk = std::fs::read_to_string(&state).unwrap();
    assert!(!on_disk.contains(secret));

    let (mut child, url) = start_binary(&["--state", state_arg, "--quiet"]);
    let got = rt.block_on(async {
        let resp = client
            .get(format!("{url}/v1/cases/1001"))
            .header("X-API-KEY", KEY)
            .send()
            .await
            .unwrap();
        (resp.status(), resp.json::<Value>().await.unwrap())
    });
    assert_eq!(got.0, 200);
    assert_eq!(got.1["case_number"], "BIN-1");
    let (status, stderr) = stop(&mut child, libc::SIGTERM);
    assert!(status.success(), "SIGTERM stops cleanly too: {status:?}");
    assert!(stderr.contains("API key: sandbox"), "{stderr}");
    assert!(
        !stderr.contains("GET /v1"),
        "--quiet logs no requests: {stderr}"
    );
}

/// "listening on" is the signal that the sandbox is ready, for signals too: one sent the moment
/// the line is read stops it cleanly. (Before the handlers were installed ahead of that line,
/// about half of these attempts killed it.)
#[test]
fn binary_stops_cleanly_on_a_signal_sent_as_soon_as_it_listens() {
    for (attempt, sig) in [libc::SIGTERM, libc::SIGINT]
        .repeat(4)
        .into_iter()
        .enumerate()
    {
        let (mut child, _) = start_binary(&["--quiet"]);
        let (status, stderr) = stop(&mut child, sig);
        assert!(status.success(), "attempt {attempt}: {status:?} {stderr}");
    }
}

#[test]
fn binary_refuses_a_corrupt_state_file_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("bad.json");
    std::fs::write(&state, "not json at all").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kayse-bulk"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("is not valid"), "{err}");
    assert!(out.stdout.is_empty());
}
