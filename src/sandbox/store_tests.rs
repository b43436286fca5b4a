//! Unit tests of the sandbox store (`state`, `table`, `persist`): Kayse's rules across records,
//! for cases and clients, without HTTP. The contract tests in `tests/it/` check the same rules
//! over the wire.

use serde_json::{Value, json};

use super::Behaviour;
use super::rules::{CheckedRecord, check_record};
use super::state::{Channel, Store};
use crate::entity::{CASES, CLIENTS, Entity};

fn checked(e: &Entity, v: Value) -> CheckedRecord {
    check_record(e, &v, true).unwrap_or_else(|m| panic!("{m}: {v}"))
}

/// A valid case numbered `n`, with `extra` fields merged in.
fn case(n: &str, extra: Value) -> CheckedRecord {
    let mut v = json!({"case_number": n, "external_source": "other",
        "external_source_id": n, "status": "active", "type": "civil"});
    merge(&mut v, extra);
    checked(&CASES, v)
}

/// A valid client with firm key `k`, with `extra` fields merged in.
fn client(k: &str, extra: Value) -> CheckedRecord {
    let mut v = json!({"first_name": "Ann", "last_name": k, "external_source": "clio",
        "external_source_id": k});
    merge(&mut v, extra);
    checked(&CLIENTS, v)
}

fn merge(v: &mut Value, extra: Value) {
    if let Value::Object(m) = extra {
        for (k, x) in m {
            v[k] = x;
        }
    }
}

fn id(v: &Value) -> u64 {
    v["id"].as_u64().expect("an id")
}

fn links(s: &Store, e: &Entity, id: u64) -> Value {
    let field = if *e == CASES {
        "client_ids"
    } else {
        "case_ids"
    };
    s.get(e, id).expect("exists")[field].clone()
}

#[test]
fn ids_are_sequential_per_table_and_never_reused() {
    let mut s = Store::default();
    assert_eq!(id(&s.create(&CASES, case("A", json!({}))).unwrap()), 1001);
    assert_eq!(id(&s.create(&CASES, case("B", json!({}))).unwrap()), 1002);
    assert_eq!(
        id(&s.create(&CLIENTS, client("a", json!({}))).unwrap()),
        1_000_001
    );
    assert!(s.delete(&CASES, 1002));
    assert!(!s.delete(&CASES, 1002));
    assert!(!s.delete(&CLIENTS, 1001), "a case id names no client");
    assert_eq!(id(&s.create(&CASES, case("C", json!({}))).unwrap()), 1003);
}

#[test]
fn uniqueness_and_bulk_atomicity() {
    let mut s = Store::default();
    s.create(&CASES, case("A", json!({}))).unwrap();
    s.create(&CLIENTS, client("p", json!({}))).unwrap();
    assert_eq!(
        s.create(&CASES, case("A", json!({}))).unwrap_err().message,
        "case_number 'A' already exists"
    );
    let before = s.clone();
    let table: Vec<(&Entity, Vec<CheckedRecord>, u16, &str)> = vec![
        (
            &CASES,
            vec![case("B", json!({})), case("A", json!({}))],
            400,
            "case_number 'A' already exists",
        ),
        (
            &CASES,
            vec![case("B", json!({})), case("B", json!({}))],
            400,
            "case_number 'B' already exists in this request",
        ),
        (
            &CASES,
            vec![case("B", json!({})), case("Z", json!({"id": 9}))],
            404,
            "The requested resource could not be found",
        ),
        (
            &CASES,
            vec![
                case("B", json!({"id": 1001})),
                case("C", json!({"id": 1001})),
            ],
            400,
            "id 1001 appears more than once in one request",
        ),
        (
            &CASES,
            vec![case("B", json!({})), case("C", json!({"client_ids": [7]}))],
            400,
            "client_ids: client 7 does not exist",
        ),
        (
            &CLIENTS,
            vec![client("q", json!({})), client("r", json!({"id": 1001}))],
            404,
            "The requested resource could not be found",
        ),
        (
            &CLIENTS,
            vec![
                client("q", json!({})),
                client("r", json!({"case_ids": [1002]})),
            ],
            400,
            "case_ids: case 1002 does not exist",
        ),
    ];
    for (e, entries, status, msg) in table {
        let err = s.bulk(e, entries).unwrap_err();
        assert_eq!((err.status, err.message.as_str()), (status, msg));
        assert!(!err.message.contains('['), "no entry is named: {msg}");
        assert_eq!(s, before, "nothing applied after: {msg}");
    }
    // An update may keep its own number, and a rename frees the old one in the same batch.
    let out = s
        .bulk(
            &CASES,
            vec![case("A2", json!({"id": 1001})), case("A", json!({}))],
        )
        .unwrap();
    assert_eq!(out.iter().map(id).collect::<Vec<_>>(), [1001, 1002]);
    assert_eq!(out[0]["update_origin"], "public_api");
    assert_eq!(out[1]["update_origin"], Value::Null);
}

#[test]
fn bulk_may_swap_case_numbers() {
    let mut s = Store::default();
    s.bulk(&CASES, vec![case("A", json!({})), case("B", json!({}))])
        .unwrap();
    s.bulk(
        &CASES,
        vec![
            case("B", json!({"id": 1001})),
            case("A", json!({"id": 1002})),
        ],
    )
    .unwrap();
    for n in ["A", "B"] {
        let e = s.create(&CASES, case(n, json!({}))).unwrap_err();
        assert_eq!(e.message, format!("case_number '{n}' already exists"));
    }
    assert!(s.delete(&CASES, 1001));
    assert!(s.create(&CASES, case("B", json!({}))).is_ok());
    assert!(s.create(&CASES, case("A", json!({}))).is_err());
}

#[test]
fn duplicate_case_numbers_when_allowed() {
    let allow = Behaviour {
        allow_duplicate_case_numbers: true,
        ..Behaviour::default()
    };
    let mut s = Store::new(allow, 0);
    s.create(&CASES, case("A", json!({}))).unwrap();
    s.create(&CASES, case("A", json!({}))).unwrap();
    s.bulk(&CASES, vec![case("A", json!({})), case("A", json!({}))])
        .unwrap();
    assert_eq!(s.len(&CASES), 4);
    // Switched back at run time: stored duplicates stay, new ones are refused again.
    s.configure(Behaviour::default(), 0);
    assert!(s.create(&CASES, case("A", json!({}))).is_err());
    assert_eq!(s.len(&CASES), 4);
}

#[test]
fn links_are_kept_on_both_sides_and_replace() {
    let mut s = Store::default();
    let p = id(&s.create(&CLIENTS, client("p", json!({}))).unwrap());
    let q = id(&s.create(&CLIENTS, client("q", json!({}))).unwrap());
    let a = id(&s
        .create(&CASES, case("A", json!({"client_ids": [p, q]})))
        .unwrap());
    let b = id(&s
        .create(&CASES, case("B", json!({"client_ids": [p]})))
        .unwrap());
    assert_eq!(links(&s, &CLIENTS, p), json!([a, b]));
    assert_eq!(links(&s, &CLIENTS, q), json!([a]));

    // Each step: (entity, id, body) then the links every record has afterwards.
    type Step = (&'static Entity, u64, CheckedRecord, [Value; 4]);
    let steps: Vec<Step> = vec![
        // A client's case_ids replace its links: p left out of A.
        (
            &CLIENTS,
            p,
            client("p", json!({"case_ids": [b]})),
            [json!([q]), json!([p]), json!([b]), json!([a])],
        ),
        // A case's client_ids replace: B now has q only, p loses B.
        (
            &CASES,
            b,
            case("B", json!({"client_ids": [q]})),
            [json!([q]), json!([q]), json!([]), json!([a, b])],
        ),
        // PUT leaves client_ids out: null, every client of A unlinked.
        (
            &CASES,
            a,
            case("A", json!({})),
            [Value::Null, json!([q]), json!([]), json!([b])],
        ),
    ];
    for (e, target, body, want) in steps {
        s.put(e, target, body).unwrap();
        let got = [
            links(&s, &CASES, a),
            links(&s, &CASES, b),
            links(&s, &CLIENTS, p),
            links(&s, &CLIENTS, q),
        ];
        assert_eq!(got, want, "after a PUT of {} {target}", e.one);
    }
    // Deleting a record unlinks it everywhere.
    assert!(s.delete(&CLIENTS, q));
    assert_eq!(links(&s, &CASES, b), json!([]));
}

#[test]
fn unknown_link_ids_are_refused_and_nothing_changes() {
    let mut s = Store::default();
    let p = id(&s.create(&CLIENTS, client("p", json!({}))).unwrap());
    let a = id(&s.create(&CASES, case("A", json!({}))).unwrap());
    let before = s.clone();
    let table: Vec<(&Entity, Option<u64>, CheckedRecord, &str)> = vec![
        (
            &CASES,
            None,
            case("B", json!({"client_ids": [p, 99]})),
            "client_ids: client 99 does not exist",
        ),
        // A case id where a client id belongs names nothing.
        (
            &CASES,
            Some(a),
            case("A", json!({"client_ids": [a]})),
            "client_ids: client 1001 does not exist",
        ),
        (
            &CLIENTS,
            None,
            client("r", json!({"case_ids": [5]})),
            "case_ids: case 5 does not exist",
        ),
        (
            &CLIENTS,
            Some(p),
            client("p", json!({"case_ids": [p]})),
            "case_ids: case 1000001 does not exist",
        ),
    ];
    for (e, target, body, msg) in table {
        let err = match target {
            Some(t) => s.put(e, t, body),
            None => s.create(e, body),
        }
        .unwrap_err();
        assert_eq!((err.status, err.message.as_str()), (400, msg));
        assert_eq!(s, before, "{msg}");
    }
}

#[test]
fn case_opt_out_flags_derive_from_its_clients() {
    let mut s = Store::default();
    let p = id(&s.create(&CLIENTS, client("p", json!({}))).unwrap());
    let q = id(&s
        .create(
            &CLIENTS,
            client("q", json!({"voice_calls_opted_out": true})),
        )
        .unwrap());
    let none = id(&s.create(&CASES, case("N", json!({}))).unwrap());
    let one = id(&s
        .create(&CASES, case("O", json!({"client_ids": [q]})))
        .unwrap());
    let two = id(&s
        .create(&CASES, case("T", json!({"client_ids": [p, q]})))
        .unwrap());
    let flags = |s: &Store, c: u64| {
        let g = s.get(&CASES, c).unwrap();
        [
            g["call_opted_out"].clone(),
            g["sms_opted_out"].clone(),
            g["email_opted_out"].clone(),
        ]
    };
    let f = json!(false);
    let t = json!(true);
    assert_eq!(
        flags(&s, none),
        [f.clone(), f.clone(), f.clone()],
        "no clients"
    );
    assert_eq!(flags(&s, one), [t.clone(), f.clone(), f.clone()]);
    assert_eq!(
        flags(&s, two),
        [f.clone(), f.clone(), f.clone()],
        "p did not"
    );
    // STOP by text from q: q's cases are sms-opted-out only where every client is.
    let r = s.reply(q, Channel::Sms, " Stop ").unwrap();
    assert_eq!(r["sms_opted_out"], true);
    assert_eq!(flags(&s, one), [t.clone(), t.clone(), f.clone()]);
    assert_eq!(flags(&s, two)[1], f);
    s.reply(p, Channel::Sms, "STOP").unwrap();
    s.reply(p, Channel::Email, "unsubscribe").unwrap();
    assert_eq!(flags(&s, two), [f.clone(), t.clone(), f.clone()]);
    // Anything else changes nothing; START opts back in.
    assert_eq!(
        s.reply(q, Channel::Sms, "stop please").unwrap()["changed"],
        false
    );
    s.reply(q, Channel::Sms, "START").unwrap();
    assert_eq!(flags(&s, one)[1], f);
    assert_eq!(s.reply(77, Channel::Sms, "STOP").unwrap_err().status, 404);
    // A message to an opted-out client is accepted but dropped.
    assert_eq!(s.message_dropped(two, p, Channel::Sms), Some(true));
    assert_eq!(s.message_dropped(two, q, Channel::Sms), Some(false));
    assert_eq!(s.message_dropped(99, q, Channel::Sms), None);
}

#[test]
fn opt_out_voice_calls_marks_the_clients_and_a_clients_flag_on_bulk_spreads() {
    let mut s = Store::default();
    let ids: Vec<u64> = (0..4)
        .map(|i| {
            id(&s
                .create(&CLIENTS, client(&format!("p{i}"), json!({})))
                .unwrap())
        })
        .collect();
    let voice = |s: &Store| -> Vec<bool> {
        ids.iter()
            .map(|&p| s.get(&CLIENTS, p).unwrap()["voice_calls_opted_out"] == json!(true))
            .collect()
    };
    let a = id(&s
        .create(
            &CASES,
            case(
                "A",
                json!({"client_ids": [ids[0], ids[1]], "opt_out_voice_calls": true}),
            ),
        )
        .unwrap());
    assert_eq!(voice(&s), [true, true, false, false]);
    assert_eq!(s.get(&CASES, a).unwrap()["call_opted_out"], true);
    let b = id(&s
        .create(&CASES, case("B", json!({"client_ids": [ids[2], ids[3]]})))
        .unwrap());
    // On a single PUT a client's own flag is its own.
    s.put(
        &CLIENTS,
        ids[2],
        client(
            "p2",
            json!({"voice_calls_opted_out": true, "case_ids": [b]}),
        ),
    )
    .unwrap();
    assert_eq!(voice(&s), [true, true, true, false]);
    // On bulk it applies across its linked cases: p3, on case B with p2, is marked too.
    s.bulk(
        &CLIENTS,
        vec![client(
            "p2",
            json!({"id": ids[2], "voice_calls_opted_out": true, "case_ids": [b]}),
        )],
    )
    .unwrap();
    assert_eq!(voice(&s), [true, true, true, true]);
    assert_eq!(s.get(&CASES, b).unwrap()["call_opted_out"], true);
}

#[test]
fn bulk_delete_with_clients_removes_only_the_clients_left_without_cases() {
    for with_clients in [false, true] {
        let mut s = Store::default();
        let only = id(&s.create(&CLIENTS, client("only", json!({}))).unwrap());
        let shared = id(&s.create(&CLIENTS, client("shared", json!({}))).unwrap());
        let alone = id(&s.create(&CLIENTS, client("alone", json!({}))).unwrap());
        let a = id(&s
            .create(&CASES, case("A", json!({"client_ids": [only, shared]})))
            .unwrap());
        let b = id(&s
            .create(&CASES, case("B", json!({"client_ids": [shared]})))
            .unwrap());
        assert_eq!(s.bulk_delete(&[a, 4242], with_clients), [a]);
        assert_eq!(
            s.get(&CLIENTS, only).is_none(),
            with_clients,
            "{with_clients}"
        );
        assert_eq!(links(&s, &CLIENTS, shared), json!([b]));
        assert!(s.get(&CLIENTS, alone).is_some(), "never linked to A");
        if !with_clients {
            assert_eq!(links(&s, &CLIENTS, only), json!([]));
        }
    }
}

#[test]
fn a_merged_client_is_gone_and_its_cases_are_the_survivors() {
    let mut s = Store::default();
    let from = id(&s.create(&CLIENTS, client("dup", json!({}))).unwrap());
    let into = id(&s.create(&CLIENTS, client("keep", json!({}))).unwrap());
    let a = id(&s
        .create(&CASES, case("A", json!({"client_ids": [from]})))
        .unwrap());
    let b = id(&s
        .create(&CASES, case("B", json!({"client_ids": [from, into]})))
        .unwrap());
    let got = s.merge(&CLIENTS, from, into).unwrap();
    assert_eq!(got["id"], into);
    assert_eq!(got["case_ids"], json!([b, a]));
    assert_eq!(got["last_name"], "keep", "the survivor keeps its fields");
    assert!(s.get(&CLIENTS, from).is_none());
    assert_eq!(links(&s, &CASES, a), json!([into]));
    assert_eq!(links(&s, &CASES, b), json!([into]));
    let table = [
        (from, into, 404, "client 1000001 not found"),
        (into, into, 400, "a client cannot be merged into itself"),
        (into, 9, 404, "client 9 not found"),
    ];
    for (f, i, status, msg) in table {
        let e = s.merge(&CLIENTS, f, i).unwrap_err();
        assert_eq!((e.status, e.message.as_str()), (status, msg));
    }
}

#[test]
fn foreign_writes_leave_gaps_that_exist_and_replay_under_a_seed() {
    let busy = Behaviour {
        foreign_writes: 0.5,
        ..Behaviour::default()
    };
    let run = |seed: u64| {
        let mut s = Store::new(busy, seed);
        let mine: Vec<u64> = (0..40)
            .map(|i| id(&s.create(&CASES, case(&format!("C{i}"), json!({}))).unwrap()))
            .collect();
        (s, mine)
    };
    let (s, mine) = run(7);
    let (_, again) = run(7);
    let (_, other) = run(8);
    assert_eq!(mine, again, "the same seed, the same ids");
    assert_ne!(mine, other, "another seed, other ids");
    assert!(mine.windows(2).all(|w| w[0] < w[1]));
    let gaps: Vec<u64> = (mine[0]..*mine.last().unwrap())
        .filter(|i| !mine.contains(i))
        .collect();
    assert!(
        gaps.len() >= 5,
        "about half the creates skip ahead: {gaps:?}"
    );
    for g in gaps {
        let foreign = s.get(&CASES, g).expect("a foreign record exists");
        assert_eq!(foreign["external_source"], "other-integration");
    }
    assert_eq!(s.len(&CASES), (mine.last().unwrap() - 1000) as usize);
    // Rate 0 never skips.
    let mut s = Store::default();
    let ids: Vec<u64> = (0..5)
        .map(|i| id(&s.create(&CASES, case(&format!("C{i}"), json!({}))).unwrap()))
        .collect();
    assert_eq!(ids, [1001, 1002, 1003, 1004, 1005]);
}

#[test]
fn state_round_trips_with_clients_and_links() {
    let mut s = Store::default();
    let p = id(&s.create(&CLIENTS, client("p", json!({}))).unwrap());
    let a = id(&s
        .create(&CASES, case("A", json!({"client_ids": [p]})))
        .unwrap());
    s.create(&CASES, case("B", json!({}))).unwrap();
    s.reply(p, Channel::Email, "STOP").unwrap();
    s.seed(&json!({"cases": [{"id": 5000, "case_number": "S", "sms_opted_out": true}]}))
        .unwrap();
    s.delete(&CASES, 1002);
    let back = Store::from_json(&s.to_json()).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.table(&CASES).next_id(), 5001);
    assert_eq!(back.table(&CLIENTS).next_id(), s.table(&CLIENTS).next_id());
    assert_eq!(back.get(&CASES, 5000).unwrap()["sms_opted_out"], true);
    assert_eq!(back.get(&CASES, a).unwrap()["email_opted_out"], true);
    assert_eq!(back.to_json(), s.to_json());
    let v: Value = serde_json::from_slice(&s.to_json()).unwrap();
    assert_eq!(v["clients"][0]["email_opted_out"], true);
    assert!(Store::from_json(b"{not json").is_err());
}

#[test]
fn an_old_state_file_with_cases_only_still_loads() {
    let old = json!({
        "cases": [
            {"id": 1001, "case_number": "A", "external_source": "other",
             "external_source_id": "A", "status": "active", "type": "civil",
             "client_ids": [11, 12], "origin": "public_api", "update_origin": null,
             "call_opted_out": false, "sms_opted_out": true, "email_opted_out": false},
            {"id": 1003, "case_number": "B", "external_source": "other",
             "external_source_id": "B", "status": "active", "type": "civil",
             "client_ids": null, "origin": "public_api", "update_origin": "public_api"}
        ],
        "messages": [],
        "next_id": 1010
    });
    let s = Store::from_json(old.to_string().as_bytes()).unwrap();
    assert_eq!(s.len(&CASES), 2);
    assert_eq!(s.table(&CASES).next_id(), 1010);
    let a = s.get(&CASES, 1001).unwrap();
    assert_eq!(a["client_ids"], json!([11, 12]));
    assert_eq!(a["sms_opted_out"], true, "kept through stand-in clients");
    assert_eq!(s.get(&CASES, 1003).unwrap()["update_origin"], "public_api");
    assert_eq!(links(&s, &CLIENTS, 11), json!([1001]));
    // A new state file whose links disagree is refused, naming the record.
    let bad = json!({"cases": [{"id": 1, "case_number": "A", "client_ids": [5]}],
        "clients": [], "messages": [], "next_ids": {"cases": 2, "clients": 1}});
    let e = Store::from_json(bad.to_string().as_bytes()).unwrap_err();
    assert_eq!(e, "case 1 lists client 5, which does not exist");
}

#[test]
fn seeds_link_both_ways_and_refuse_unknown_cases() {
    let mut s = Store::default();
    let out = s
        .seed(&json!({
            "cases": [{"id": 2000, "case_number": "S1", "client_ids": [300]}],
            "clients": [{"id": 300, "first_name": "Ann", "last_name": "Lee",
                         "external_source": "x", "external_source_id": "1",
                         "case_ids": [2000]},
                        {"first_name": "Bo", "last_name": "Ng", "case_ids": [2000],
                         "sms_opted_out": true}]
        }))
        .unwrap();
    let second = out["client_ids"][1].as_u64().unwrap();
    assert_eq!(out["ids"], json!([2000]));
    assert_eq!(links(&s, &CASES, 2000), json!([300, second]));
    assert_eq!(links(&s, &CLIENTS, 300), json!([2000]));
    assert_eq!(s.get(&CLIENTS, 300).unwrap()["last_name"], "Lee");
    let before = s.clone();
    let table = [
        (
            json!({"clients": [{"case_ids": [9]}]}),
            "clients[0].case_ids: case 9 does not exist; seed it in the same request",
        ),
        (
            json!({"people": []}),
            "unknown key 'people': a seed holds cases and clients",
        ),
        (
            json!({"cases": [{"client_ids": "7"}]}),
            "cases[0].client_ids: must be an array of positive integers",
        ),
    ];
    for (body, msg) in table {
        assert_eq!(s.seed(&body).unwrap_err(), msg);
        assert_eq!(s, before, "{msg}");
    }
}
