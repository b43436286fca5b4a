//! Contract tests for the sandbox's clients and the rules across cases and clients, over
//! loopback: `/v1/clients` (create, GET, PUT, DELETE, atomic bulk), links on both sides that
//! replace, unknown ids refused, opt-outs derived and spread, bulk delete `with_clients`, merged
//! clients, the state file and admin routes with clients, and the options of issue 11
//! (`--allow-duplicate-case-numbers`, `--foreign-writes`). The store's own unit tests are in
//! `src/sandbox/store_tests.rs`.

use kayse_bulk::sandbox::{self, Behaviour, Config};
use reqwest::Method;
use serde_json::{Value, json};

use crate::sandbox_contract::{Api, assert_error_shape, case, with};
use crate::support::{Sandbox, cli};

fn client(k: &str) -> Value {
    json!({
        "first_name": "Maria",
        "last_name": k,
        "external_source": "clio",
        "external_source_id": format!("c-{k}"),
    })
}

impl Api {
    /// Create one record; panics unless it is accepted. Answers its id.
    async fn make(&self, path: &str, body: Value) -> u64 {
        let (s, v) = self.post(path, body).await;
        assert_eq!(s, 200, "{path}: {v}");
        v["id"].as_u64().expect("an id")
    }

    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, _, v) = self.call(Method::PUT, path, Some(body)).await;
        (s.as_u16(), v)
    }

    /// A record's link list as GET answers it.
    async fn links(&self, path: &str) -> Value {
        let (s, v) = self.get(path).await;
        assert_eq!(s, 200, "{path}: {v}");
        let field = if path.starts_with("/v1/cases") {
            "client_ids"
        } else {
            "case_ids"
        };
        v[field].clone()
    }
}

#[tokio::test]
async fn client_create_get_put_delete() {
    let api = Api::default().await;
    let full = json!({
        "first_name": "Maria", "last_name": "Garcia", "external_source": "clio",
        "external_source_id": "C-1", "email": "maria@example.com", "mobile": "+14045550123",
        "date_of_birth": "1985-07-14", "address_line1": "12 Peachtree St", "address_line2": "Apt 4",
        "city": "Atlanta", "state": "GA", "postal_code": "30303",
        "voice_calls_opted_out": false,
    });
    let (s, created) = api.post("/v1/clients", full.clone()).await;
    assert_eq!(s, 200, "{created}");
    assert_eq!(created["id"], 1_000_001);
    assert_eq!(created["origin"], "public_api");
    assert_eq!(created["update_origin"], Value::Null);
    for (k, v) in full.as_object().unwrap() {
        assert_eq!(&created[k], v, "{k}");
    }
    let (s, got) = api.get("/v1/clients/1000001").await;
    assert_eq!(s, 200);
    assert_eq!(got["case_ids"], Value::Null);
    assert_eq!(got["voice_calls_opted_out"], false);
    assert_eq!(got["email"], "maria@example.com");
    for k in ["gender", "date_of_death", "meta"] {
        assert_eq!(got[k], Value::Null, "answer-only {k} is present and null");
    }

    // PUT, not PATCH: what is left out becomes null.
    let (s, put) = api
        .put(
            "/v1/clients/1000001",
            with(client("Garcia"), "city", json!("Decatur")),
        )
        .await;
    assert_eq!(s, 200, "{put}");
    assert_eq!(put["city"], "Decatur");
    assert_eq!(put["email"], Value::Null);
    assert_eq!(put["mobile"], Value::Null);
    assert_eq!(put["update_origin"], "public_api");
    let (_, got) = api.get("/v1/clients/1000001").await;
    assert_eq!(got["date_of_birth"], Value::Null);

    let (s, _, del) = api.call(Method::DELETE, "/v1/clients/1000001", None).await;
    assert_eq!(s, 200);
    assert_eq!(del, json!({"message": "client deleted successfully"}));
    let (s, gone) = api.get("/v1/clients/1000001").await;
    assert_eq!(s, 404);
    assert_error_shape(&gone);
    assert_eq!(gone["message"], "client 1000001 not found");
    let (s, _, _) = api.call(Method::DELETE, "/v1/clients/1000001", None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn client_bodies_are_checked_strictly() {
    let api = Api::default().await;
    let bad: &[(Value, &str)] = &[
        (
            json!({"first_name": "A", "external_source": "x", "external_source_id": "1"}),
            "last_name: required field is missing",
        ),
        (
            with(client("a"), "email", json!("maria@")),
            "email: \"maria@\" is not an email address",
        ),
        (
            with(client("a"), "mobile", json!("(404) 555-0123")),
            "mobile: \"(404) 555-0123\" is not a phone number in E.164 form (+ and 7 to 15 digits, e.g. +14045550123)",
        ),
        (
            with(client("a"), "date_of_birth", json!("1985-02-30")),
            "date_of_birth: '1985-02-30' is not a valid date (YYYY-MM-DD)",
        ),
        (
            with(client("a"), "voice_calls_opted_out", json!("yes")),
            "voice_calls_opted_out: must be a boolean (true or false), got \"yes\"",
        ),
        (
            with(client("a"), "gender", json!("f")),
            "unknown field 'gender'",
        ),
        (
            with(client("a"), "case_ids", json!([1001, "x"])),
            "case_ids: \"x\" is not a positive integer",
        ),
        (with(client("a"), "id", json!(5)), "unknown field 'id'"),
    ];
    for (body, msg) in bad {
        let (s, e) = api.post("/v1/clients", body.clone()).await;
        assert_eq!(s, 400, "{body}");
        assert_error_shape(&e);
        assert_eq!(e["message"], *msg, "{body}");
    }
    assert_eq!(
        api.admin_get("/sandbox/stats").await["records"]["clients"],
        0
    );
}

#[tokio::test]
async fn clients_bulk_creates_updates_in_order_and_is_all_or_nothing() {
    let api = Api::default().await;
    let first = api.make("/v1/clients", client("a")).await;
    let (s, out) = api
        .post(
            "/v1/clients/bulk",
            json!({"clients": [client("b"), with(client("a2"), "id", json!(first)), client("c")]}),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    let ids: Vec<u64> = out["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [first + 1, first, first + 2]);
    assert_eq!(out["clients"][1]["last_name"], "a2");
    assert_eq!(out["clients"][1]["update_origin"], "public_api");
    assert_eq!(out["clients"][0]["update_origin"], Value::Null);

    // Its first error fails the whole batch, and the message does not say which entry.
    let before = api.admin_get("/sandbox/state").await;
    let batches: &[(Value, u16, &str)] = &[
        (
            json!({"clients": [client("d"), with(client("e"), "email", json!("nope"))]}),
            400,
            "email: \"nope\" is not an email address",
        ),
        (
            json!({"clients": [client("d"), with(client("e"), "case_ids", json!([4242]))]}),
            400,
            "case_ids: case 4242 does not exist",
        ),
        (
            json!({"clients": [client("d"), with(client("e"), "id", json!(77))]}),
            404,
            "The requested resource could not be found",
        ),
        (json!({"clients": []}), 400, "clients: must not be empty"),
        (
            json!({"cases": [client("d")]}),
            400,
            "unknown field 'cases'",
        ),
    ];
    for (body, status, msg) in batches {
        let (s, e) = api.post("/v1/clients/bulk", body.clone()).await;
        assert_eq!((s.as_u16(), e["message"].as_str()), (*status, Some(*msg)));
        assert_error_shape(&e);
        assert_eq!(
            api.admin_get("/sandbox/state").await,
            before,
            "nothing applied: {msg}"
        );
    }
    let stats = api.admin_get("/sandbox/stats").await;
    assert_eq!(
        stats["bulk_sizes_by_entity"]["clients"],
        json!([3, 2, 2, 2, 0])
    );
    assert_eq!(stats["by_route"]["POST /v1/clients/bulk"], 6);
}

#[tokio::test]
async fn links_are_kept_on_both_sides_and_a_partial_list_cuts_the_rest() {
    let api = Api::default().await;
    let p = api.make("/v1/clients", client("p")).await;
    let q = api.make("/v1/clients", client("q")).await;
    let a = api
        .make("/v1/cases", with(case("A"), "client_ids", json!([p, q])))
        .await;
    let b = api
        .make("/v1/cases", with(case("B"), "client_ids", json!([p])))
        .await;
    let cp = format!("/v1/clients/{p}");
    let cq = format!("/v1/clients/{q}");
    let ca = format!("/v1/cases/{a}");
    let cb = format!("/v1/cases/{b}");
    assert_eq!(api.links(&cp).await, json!([a, b]));
    assert_eq!(api.links(&cq).await, json!([a]));

    // A client sent with only one of its cases is cut from the other, as Kayse does.
    let (s, v) = api
        .put(&cp, with(client("p"), "case_ids", json!([b])))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(api.links(&ca).await, json!([q]));
    assert_eq!(api.links(&cb).await, json!([p]));
    // The same from the case side, through bulk.
    let (s, v) = api
        .post(
            "/v1/cases/bulk",
            json!({"cases": [with(with(case("B"), "id", json!(b)), "client_ids", json!([q]))]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(api.links(&cp).await, json!([]));
    assert_eq!(api.links(&cq).await, json!([a, b]));
    // A client created with case_ids links those cases.
    let r = api
        .make("/v1/clients", with(client("r"), "case_ids", json!([a])))
        .await;
    assert_eq!(api.links(&ca).await, json!([q, r]));
    // Deleting a case unlinks it from its clients.
    api.call(Method::DELETE, &ca, None).await;
    assert_eq!(api.links(&cq).await, json!([b]));
    assert_eq!(api.links(&format!("/v1/clients/{r}")).await, json!([]));
}

#[tokio::test]
async fn unknown_link_ids_are_refused() {
    let api = Api::default().await;
    let p = api.make("/v1/clients", client("p")).await;
    let a = api.make("/v1/cases", case("A")).await;
    let refused: &[(Method, String, Value, &str)] = &[
        (
            Method::POST,
            "/v1/cases".into(),
            with(case("B"), "client_ids", json!([p, 99])),
            "client_ids: client 99 does not exist",
        ),
        (
            Method::PUT,
            format!("/v1/cases/{a}"),
            with(case("A"), "client_ids", json!([a])),
            "client_ids: client 1001 does not exist",
        ),
        (
            Method::POST,
            "/v1/clients".into(),
            with(client("q"), "case_ids", json!([p])),
            "case_ids: case 1000001 does not exist",
        ),
        (
            Method::POST,
            "/v1/cases/bulk".into(),
            json!({"cases": [case("C"), with(case("D"), "client_ids", json!([5]))]}),
            "client_ids: client 5 does not exist",
        ),
    ];
    let before = api.admin_get("/sandbox/state").await;
    for (m, path, body, msg) in refused {
        let (s, _, e) = api.call(m.clone(), path, Some(body.clone())).await;
        assert_eq!((s.as_u16(), e["message"].as_str()), (400, Some(*msg)));
    }
    assert_eq!(api.admin_get("/sandbox/state").await, before);
}

#[tokio::test]
async fn a_cases_opt_outs_derive_from_its_clients() {
    let api = Api::default().await;
    let p = api.make("/v1/clients", client("p")).await;
    let q = api.make("/v1/clients", client("q")).await;
    let a = api
        .make("/v1/cases", with(case("A"), "client_ids", json!([p, q])))
        .await;
    let flags = |v: &Value| {
        [
            v["call_opted_out"].clone(),
            v["sms_opted_out"].clone(),
            v["email_opted_out"].clone(),
        ]
    };
    let (_, got) = api.get(&format!("/v1/cases/{a}")).await;
    assert_eq!(flags(&got), [json!(false), json!(false), json!(false)]);

    // STOP by text from both: the case is sms-opted-out; email only from one: not.
    for (who, channel, text) in [(p, "sms", "STOP"), (q, "sms", "stop"), (p, "email", "STOP")] {
        let (s, v) = api
            .admin_post(
                "/sandbox/reply",
                json!({"client_id": who, "channel": channel, "message": text}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["changed"], true);
    }
    let (_, got) = api.get(&format!("/v1/cases/{a}")).await;
    assert_eq!(flags(&got), [json!(false), json!(true), json!(false)]);
    let (s, e) = api
        .admin_post(
            "/sandbox/reply",
            json!({"client_id": p, "channel": "voice", "message": "STOP"}),
        )
        .await;
    assert_eq!(
        (s.as_u16(), e["message"].as_str()),
        (400, Some("channel: must be \"sms\" or \"email\""))
    );

    // A message to the opted-out clients is accepted and never delivered.
    let (s, _) = api
        .post(
            "/v1/cases/communication/sms",
            json!({"case_id": a, "client_id": p, "message": "hi"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = api
        .post(
            "/v1/cases/communication/email",
            json!({"case_id": a, "client_id": q, "subject": "s", "message": "hi"}),
        )
        .await;
    assert_eq!(s, 200);
    let msgs = api.admin_get("/sandbox/state").await["messages"].clone();
    assert_eq!(msgs[0]["dropped_opted_out"], true, "{msgs}");
    assert_eq!(
        msgs[1]["dropped_opted_out"], false,
        "q did not stop email: {msgs}"
    );

    // opt_out_voice_calls on a case marks its clients.
    let (s, v) = api
        .put(
            &format!("/v1/cases/{a}"),
            with(
                with(case("A"), "client_ids", json!([p, q])),
                "opt_out_voice_calls",
                json!(true),
            ),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    for c in [p, q] {
        let (_, got) = api.get(&format!("/v1/clients/{c}")).await;
        assert_eq!(got["voice_calls_opted_out"], true, "client {c}");
    }
    let (_, got) = api.get(&format!("/v1/cases/{a}")).await;
    assert_eq!(got["call_opted_out"], true);
}

#[tokio::test]
async fn a_clients_voice_opt_out_on_bulk_applies_across_its_cases() {
    let api = Api::default().await;
    let p = api.make("/v1/clients", client("p")).await;
    let q = api.make("/v1/clients", client("q")).await;
    let loner = api.make("/v1/clients", client("l")).await;
    let a = api
        .make("/v1/cases", with(case("A"), "client_ids", json!([p, q])))
        .await;
    let voice = |v: Value| v["voice_calls_opted_out"].clone();
    // A single PUT sets the client's own flag only.
    api.put(
        &format!("/v1/clients/{p}"),
        with(
            with(client("p"), "case_ids", json!([a])),
            "voice_calls_opted_out",
            json!(true),
        ),
    )
    .await;
    assert_eq!(
        voice(api.get(&format!("/v1/clients/{q}")).await.1),
        Value::Null
    );
    // On bulk it applies across the linked cases: q, on case A with p, is marked too.
    let entry = with(
        with(with(client("p"), "id", json!(p)), "case_ids", json!([a])),
        "voice_calls_opted_out",
        json!(true),
    );
    let (s, v) = api
        .post("/v1/clients/bulk", json!({"clients": [entry]}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(voice(api.get(&format!("/v1/clients/{q}")).await.1), true);
    assert_eq!(
        voice(api.get(&format!("/v1/clients/{loner}")).await.1),
        Value::Null
    );
}

#[tokio::test]
async fn bulk_delete_with_clients_removes_clients_left_without_cases() {
    let api = Api::default().await;
    let only = api.make("/v1/clients", client("only")).await;
    let shared = api.make("/v1/clients", client("shared")).await;
    let a = api
        .make(
            "/v1/cases",
            with(case("A"), "client_ids", json!([only, shared])),
        )
        .await;
    let b = api
        .make("/v1/cases", with(case("B"), "client_ids", json!([shared])))
        .await;
    let (s, v) = api
        .post(
            "/v1/cases/bulk_delete",
            json!({"ids": [a], "with_clients": true}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["deleted_ids"], json!([a]));
    assert_eq!(api.get(&format!("/v1/clients/{only}")).await.0, 404);
    assert_eq!(
        api.links(&format!("/v1/clients/{shared}")).await,
        json!([b])
    );
    // Without it, clients stay, unlinked.
    let (s, _) = api
        .post(
            "/v1/cases/bulk_delete",
            json!({"ids": [b], "with_clients": false}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(api.links(&format!("/v1/clients/{shared}")).await, json!([]));
}

#[tokio::test]
async fn a_merged_client_answers_404_and_its_cases_move() {
    let api = Api::default().await;
    let dup = api.make("/v1/clients", client("dup")).await;
    let keep = api.make("/v1/clients", client("keep")).await;
    let a = api
        .make("/v1/cases", with(case("A"), "client_ids", json!([dup])))
        .await;
    let (s, v) = api
        .admin_post("/sandbox/merge_clients", json!({"from": dup, "into": keep}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["id"], keep);
    assert_eq!(v["case_ids"], json!([a]));
    let (s, e) = api.get(&format!("/v1/clients/{dup}")).await;
    assert_eq!(s, 404);
    assert_error_shape(&e);
    assert_eq!(api.links(&format!("/v1/cases/{a}")).await, json!([keep]));
    // Updating the merged id fails as Kayse's would; the survivor is untouched.
    let (s, _) = api.put(&format!("/v1/clients/{dup}"), client("dup")).await;
    assert_eq!(s, 404);
    let refused: &[(Value, u16, &str)] = &[
        (
            json!({"from": dup, "into": keep}),
            404,
            "client 1000001 not found",
        ),
        (
            json!({"from": keep, "into": keep}),
            400,
            "a client cannot be merged into itself",
        ),
        (
            json!({"from": keep}),
            400,
            "into: required field is missing",
        ),
        (
            json!({"from": "x", "into": keep}),
            400,
            "from: must be a positive integer, got \"x\"",
        ),
    ];
    for (body, status, msg) in refused {
        let (s, e) = api.admin_post("/sandbox/merge_clients", body.clone()).await;
        assert_eq!((s.as_u16(), e["message"].as_str()), (*status, Some(*msg)));
    }
}

#[tokio::test]
async fn state_seed_stats_and_metadata_include_clients() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let api = Api::start(Config {
        state: Some(path.clone()),
        ..Config::default()
    })
    .await;
    let (s, ids) = api
        .admin_post(
            "/sandbox/seed",
            json!({"cases": [with(with(case("S-1"), "id", json!(7000)), "client_ids", json!([300]))],
                   "clients": [with(with(client("x"), "id", json!(300)), "sms_opted_out", json!(true))]}),
        )
        .await;
    assert_eq!(s, 200, "{ids}");
    assert_eq!(ids, json!({"ids": [7000], "client_ids": [300]}));
    let (_, got) = api.get("/v1/cases/7000").await;
    assert_eq!(got["sms_opted_out"], true);
    assert_eq!(api.links("/v1/clients/300").await, json!([7000]));
    let p = api.make("/v1/clients", client("p")).await;
    assert_eq!(p, 1_000_001);

    let state = api.admin_get("/sandbox/state").await;
    assert_eq!(state["clients"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        state["next_ids"],
        json!({"cases": 7001, "clients": 1_000_002})
    );
    let on_disk: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        on_disk, state,
        "saved on every change, byte for byte the state"
    );
    let stats = api.admin_get("/sandbox/stats").await;
    assert_eq!(stats["records"], json!({"cases": 1, "clients": 2}));
    assert_eq!(stats["by_route"]["POST /v1/clients"], 1);
    assert_eq!(stats["by_route"]["GET /v1/clients/{id}"], 1);

    let (_, meta) = api.get("/v1/metadata/objects").await;
    let names: Vec<&str> = meta
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cases", "clients"]);
    let fields = &meta[1]["fields"];
    assert!(
        fields
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "case_ids" && f["required"] == false),
        "{fields}"
    );
    api.handle.shutdown().await.unwrap();

    // Reloaded with links and opt-outs.
    let again = Api::start(Config {
        state: Some(path.clone()),
        ..Config::default()
    })
    .await;
    assert_eq!(again.admin_get("/sandbox/state").await, state);
    assert_eq!(again.make("/v1/clients", client("q")).await, 1_000_002);
    again.handle.shutdown().await.unwrap();

    // A state file written before clients existed still loads.
    let old = json!({"cases": [with(with(case("O-1"), "id", json!(1001)), "client_ids", json!([11]))],
                     "messages": [], "next_id": 1005});
    std::fs::write(&path, old.to_string()).unwrap();
    let old_api = Api::start(Config {
        state: Some(path.clone()),
        ..Config::default()
    })
    .await;
    let (s, got) = old_api.get("/v1/cases/1001").await;
    assert_eq!((s.as_u16(), got["client_ids"].clone()), (200, json!([11])));
    assert_eq!(old_api.links("/v1/clients/11").await, json!([1001]));
    assert_eq!(old_api.make("/v1/cases", case("O-2")).await, 1005);
    old_api.handle.shutdown().await.unwrap();

    // One whose links disagree is refused at start, naming the record.
    let bad = json!({"cases": [with(with(case("B-1"), "id", json!(1)), "client_ids", json!([5]))],
                     "clients": [], "messages": [], "next_ids": {"cases": 2, "clients": 1}});
    std::fs::write(&path, bad.to_string()).unwrap();
    let err = sandbox::spawn(Config {
        state: Some(path.clone()),
        ..Config::default()
    })
    .await
    .expect_err("inconsistent state refused");
    assert!(
        err.message
            .contains("case 1 lists client 5, which does not exist"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn duplicate_case_numbers_are_allowed_when_asked_and_switchable_at_run_time() {
    let api = Api::start(Config {
        behaviour: Behaviour {
            allow_duplicate_case_numbers: true,
            ..Behaviour::default()
        },
        ..Config::default()
    })
    .await;
    let one = api.make("/v1/cases", case("D-1")).await;
    let two = api.make("/v1/cases", case("D-1")).await;
    assert_ne!(one, two);
    let (s, v) = api
        .post(
            "/v1/cases/bulk",
            json!({"cases": [case("D-1"), case("D-1")]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(api.case_count().await, 4);

    let (s, cfg) = api
        .admin_post(
            "/sandbox/config",
            json!({"allow_duplicate_case_numbers": false}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(cfg["allow_duplicate_case_numbers"], false);
    let (s, e) = api.post("/v1/cases", case("D-1")).await;
    assert_eq!(
        (s.as_u16(), e["message"].as_str()),
        (400, Some("case_number 'D-1' already exists"))
    );
    let (s, e) = api
        .admin_post(
            "/sandbox/config",
            json!({"allow_duplicate_case_numbers": "yes", "max_bulk": 3}),
        )
        .await;
    assert_eq!(s, 400);
    assert_error_shape(&e);
    assert_eq!(
        api.admin_get("/sandbox/config").await["max_bulk"],
        500,
        "all or nothing"
    );
}

/// The ids of `n` cases created one by one on a sandbox with foreign writes at `rate`.
async fn ids_with_foreign_writes(rate: f64, seed: u64, n: usize) -> (Api, Vec<u64>) {
    let api = Api::default().await;
    let (s, cfg) = api
        .admin_post(
            "/sandbox/config",
            json!({"foreign_writes": rate, "seed": seed}),
        )
        .await;
    assert_eq!(s, 200, "{cfg}");
    assert_eq!(cfg["foreign_writes"], rate);
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(api.make("/v1/cases", case(&format!("F-{i}"))).await);
    }
    (api, ids)
}

#[tokio::test]
async fn foreign_writes_interleave_ids_replayably_and_the_foreign_records_exist() {
    let (api, ids) = ids_with_foreign_writes(0.4, 11, 30).await;
    let (_, again) = ids_with_foreign_writes(0.4, 11, 30).await;
    let (_, other) = ids_with_foreign_writes(0.4, 12, 30).await;
    assert_eq!(ids, again, "the same seed, the same ids");
    assert_ne!(ids, other);
    let gaps: Vec<u64> = (ids[0]..*ids.last().unwrap())
        .filter(|i| !ids.contains(i))
        .collect();
    assert!(gaps.len() >= 3, "{ids:?}");
    for g in gaps {
        let (s, v) = api.get(&format!("/v1/cases/{g}")).await;
        assert_eq!(s, 200, "a probe of {g} finds the other writer's case");
        assert_eq!(v["external_source"], "other-integration");
    }
    // Rate 0 (the default) never skips.
    let (_, plain) = ids_with_foreign_writes(0.0, 11, 5).await;
    assert_eq!(plain, [1001, 1002, 1003, 1004, 1005]);
    let (s, e) = api
        .admin_post("/sandbox/config", json!({"foreign_writes": 1.5}))
        .await;
    assert_eq!(s, 400);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("foreign_writes: '1.5' is not a rate"),
        "{e}"
    );
}

#[test]
fn the_binary_takes_both_options_and_refuses_a_bad_rate() {
    let sb = Sandbox::start(&[
        "--allow-duplicate-case-numbers",
        "--foreign-writes",
        "0.25",
        "--seed",
        "3",
    ]);
    let cfg = sb.http("GET", "/sandbox/config", None);
    assert_eq!(cfg["allow_duplicate_case_numbers"], true, "{cfg}");
    assert_eq!(cfg["foreign_writes"], 0.25, "{cfg}");
    assert_eq!(cfg["seed"], 3, "{cfg}");

    let out = cli()
        .args(["sandbox", "--foreign-writes", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("'2' is not a rate; use a number from 0 to 1"),
        "{err}"
    );
}
