//! The ledger's tests: real SQLite files in temp folders, a fixed clock, no network.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Barrier};

use chrono::TimeZone;
use serde_json::json;

use super::*;

/// A clock the test moves by hand: seconds since the epoch.
fn clock(t: &Arc<AtomicI64>) -> Clock {
    let t = Arc::clone(t);
    Box::new(move || Utc.timestamp_opt(t.load(Ordering::SeqCst), 0).unwrap())
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).unwrap()
}

const T0: i64 = 1_777_000_000;

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    time: Arc<AtomicI64>,
    ledger: Ledger,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        let time = Arc::new(AtomicI64::new(T0));
        let ledger = Ledger::open(&path).unwrap().with_clock(clock(&time));
        Fixture {
            _dir: dir,
            path,
            time,
            ledger,
        }
    }

    fn tick(&self, secs: i64) {
        self.time.fetch_add(secs, Ordering::SeqCst);
    }

    fn reopen(&mut self) {
        self.ledger = Ledger::open(&self.path)
            .unwrap()
            .with_clock(clock(&self.time));
    }
}

fn case(n: u64) -> Value {
    json!({
        "case_number": format!("C-{n}"),
        "external_source": "clio",
        "external_source_id": format!("E-{n}"),
        "status": "active",
        "type": "civil",
    })
}

fn key(rule: &str, value: &str) -> Key {
    Key {
        rule: rule.into(),
        value: value.into(),
    }
}

fn cn(n: u64) -> Key {
    key("case_number", &format!("C-{n}"))
}

fn written<'a>(id: Id, sent: &'a Value, created: bool, batch: Option<u32>) -> Written<'a> {
    Written {
        entity: "cases",
        id,
        sent,
        answer: None,
        created,
        batch,
        source: Source {
            file: Some("cases.xlsx"),
            row: Some(id + 1),
        },
    }
}

fn send(l: &mut Ledger, run: Option<RunId>, items: &[(Id, Value)]) -> Vec<Recorded> {
    let mut b = l.batch(run).unwrap();
    let out = items
        .iter()
        .map(|(id, v)| b.sent(written(*id, v, true, Some(1))).unwrap())
        .collect();
    b.commit().unwrap();
    out
}

// ---------------------------------------------------------------- paths

#[test]
fn the_default_path_names_the_server_and_a_fingerprint_never_the_key() {
    let data = Path::new("/home/ann/.local/share");
    let table = vec![
        ("https://public-api.kayse.ai", "public-api.kayse.ai-"),
        ("https://public-api.kayse.ai/", "public-api.kayse.ai-"),
        ("http://127.0.0.1:8787", "127.0.0.1_8787-"),
        ("https://EU.Kayse.ai/v2/", "eu.kayse.ai_v2-"),
        ("", "kayse-"),
    ];
    let secret = "kk_live_0123456789abcdef";
    for (url, prefix) in table {
        let p = default_path(data, url, secret);
        assert_eq!(p.parent().unwrap(), data.join("kayse-bulk").join("ledgers"));
        let name = p.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(prefix), "{url}: {name}");
        assert!(name.ends_with(".sqlite"), "{name}");
        let fp = &name[prefix.len()..name.len() - ".sqlite".len()];
        assert_eq!(fp.len(), 16, "{name}");
        assert!(fp.chars().all(|c| c.is_ascii_hexdigit()), "{name}");
        assert!(!p.to_string_lossy().contains(secret));
        assert!(!p.to_string_lossy().contains("0123456789abcdef"));
    }
    let a = default_path(data, "https://public-api.kayse.ai", "key-a");
    assert_eq!(
        a,
        default_path(data, "https://public-api.kayse.ai/", "key-a")
    );
    assert_ne!(
        a,
        default_path(data, "https://public-api.kayse.ai", "key-b")
    );
    assert_ne!(a, default_path(data, "http://127.0.0.1:8787", "key-a"));
    // not the plain sha256 of the key either (a fingerprint of its own)
    let plain: String = Sha256::digest(b"key-a")[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!a.to_string_lossy().contains(&plain));
}

#[test]
fn the_data_folder_follows_each_platform() {
    let env = |pairs: Vars| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    };
    type Vars = &'static [(&'static str, &'static str)];
    let table: Vec<(&str, Vars, Option<&str>)> = vec![
        (
            "linux",
            &[("XDG_DATA_HOME", "/x/data"), ("HOME", "/home/ann")],
            Some("/x/data"),
        ),
        (
            "linux",
            &[("HOME", "/home/ann")],
            Some("/home/ann/.local/share"),
        ),
        // a relative XDG_DATA_HOME is invalid by the spec and ignored
        (
            "linux",
            &[("XDG_DATA_HOME", "data"), ("HOME", "/home/ann")],
            Some("/home/ann/.local/share"),
        ),
        ("linux", &[], None),
        (
            "freebsd",
            &[("HOME", "/home/ann")],
            Some("/home/ann/.local/share"),
        ),
        (
            "macos",
            &[("HOME", "/Users/ann")],
            Some("/Users/ann/Library/Application Support"),
        ),
    ];
    for (os, vars, want) in table {
        assert_eq!(
            data_dir_for(os, env(vars)),
            want.map(PathBuf::from),
            "{os} {vars:?}"
        );
    }
    #[cfg(windows)]
    assert_eq!(
        data_dir_for(
            "windows",
            env(&[("APPDATA", r"C:\Users\ann\AppData\Roaming")])
        ),
        Some(PathBuf::from(r"C:\Users\ann\AppData\Roaming"))
    );
    assert_eq!(data_dir_for("windows", env(&[])), None);
}

#[test]
fn the_sandbox_ledger_and_the_lock_sit_beside_their_files() {
    let table = vec![
        ("kayse-sandbox.json", "kayse-sandbox.ledger.sqlite"),
        ("/tmp/rehearsal.json", "/tmp/rehearsal.ledger.sqlite"),
        ("state", "state.ledger.sqlite"),
    ];
    for (state, want) in table {
        assert_eq!(beside_sandbox_state(Path::new(state)), PathBuf::from(want));
    }
    assert_eq!(
        lock_path(Path::new("/d/x.sqlite")),
        PathBuf::from("/d/x.sqlite.lock")
    );
}

// ---------------------------------------------------------------- opening

#[test]
fn a_new_ledger_is_created_with_its_folder_in_wal_mode_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep").join("er").join("l.sqlite");
    let mut l = Ledger::open(&path).unwrap();
    let mode: String = l
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    send(&mut l, None, &[(7, case(7))]);
    drop(l);
    let l = Ledger::open(&path).unwrap();
    assert_eq!(l.get("cases", 7).unwrap().unwrap().id, 7);
    l.check().unwrap();
}

/// A ledger file with `n` cases in it, closed (its log folded into the file).
fn ledger_with(path: &Path, n: u64) {
    let mut l = Ledger::open(path).unwrap();
    let items: Vec<(Id, Value)> = (1..=n).map(|i| (i, case(i))).collect();
    for chunk in items.chunks(100) {
        send(&mut l, None, chunk);
    }
}

#[test]
fn unusable_files_are_typed_one_line_errors_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let garbage = d.join("garbage.sqlite");
    let bytes: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&garbage, &bytes).unwrap();

    let text = d.join("text.sqlite");
    std::fs::write(&text, "case_number,kayse_id\nC-1,17\n").unwrap();

    let truncated = d.join("truncated.sqlite");
    ledger_with(&truncated, 2000);
    let len = std::fs::metadata(&truncated).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&truncated)
        .unwrap()
        .set_len(len / 2)
        .unwrap();

    let header_only = d.join("header-only.sqlite");
    ledger_with(&header_only, 10);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&header_only)
        .unwrap()
        .set_len(60)
        .unwrap();

    let foreign = d.join("foreign.sqlite");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('x');")
        .unwrap();

    let newer = d.join("newer.sqlite");
    ledger_with(&newer, 1);
    Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();

    let folder = d.join("folder.sqlite");
    std::fs::create_dir(&folder).unwrap();

    let under_a_file = d.join("text.sqlite").join("l.sqlite");

    type Check = fn(&LedgerError) -> bool;
    let table: Vec<(&Path, Check, &str)> = vec![
        (
            &garbage,
            |e| matches!(e, LedgerError::Damaged { .. }),
            "is damaged",
        ),
        (
            &text,
            |e| matches!(e, LedgerError::Damaged { .. }),
            "is damaged",
        ),
        (
            &truncated,
            |e| matches!(e, LedgerError::Damaged { .. }),
            "is damaged",
        ),
        (
            &header_only,
            |e| matches!(e, LedgerError::Damaged { .. }),
            "is damaged",
        ),
        (
            &foreign,
            |e| matches!(e, LedgerError::NotALedger { .. }),
            "is not a kayse-bulk ledger",
        ),
        (
            &newer,
            |e| matches!(e, LedgerError::TooNew { found: 99, .. }),
            "newer kayse-bulk (schema 99",
        ),
        (
            &folder,
            |e| matches!(e, LedgerError::Unreadable { .. }),
            "it is a folder",
        ),
        (
            &under_a_file,
            |e| matches!(e, LedgerError::Unreadable { .. }),
            "cannot open the ledger",
        ),
    ];
    for (path, is, words) in table {
        let before = std::fs::read(path).ok();
        let err = Ledger::open(path).unwrap_err();
        assert!(is(&err), "{}: {err:?}", path.display());
        let fatal = Fatal::from(err);
        let line = fatal.render();
        assert_eq!(fatal.code, ExitCode::Usage, "{line}");
        assert!(line.contains(words), "{}: {line}", path.display());
        assert!(line.contains(&path.display().to_string()), "{line}");
        assert!(!line.contains('\n'), "{line}");
        // the damaged file is left exactly as it was, for a person to look at
        assert_eq!(std::fs::read(path).ok(), before, "{}", path.display());
    }
}

#[test]
fn damage_inside_a_record_is_found_when_read_and_by_check() {
    let mut f = Fixture::new();
    send(&mut f.ledger, None, &[(1, case(1))]);
    f.ledger
        .conn
        .execute(
            "UPDATE records SET sent_state = '{not json' WHERE kayse_id = 1",
            [],
        )
        .unwrap();
    let err = f.ledger.get("cases", 1).unwrap_err();
    assert!(matches!(err, LedgerError::Damaged { .. }), "{err:?}");
    assert_eq!(err.exit_code(), ExitCode::Usage);
    f.ledger.check().unwrap(); // the file itself is sound: only the value is bad
}

#[test]
fn two_processes_opening_a_new_ledger_at_once_create_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.sqlite");
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (path, barrier) = (path.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                Ledger::open(&path).map(|_| ())
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let l = Ledger::open(&path).unwrap();
    let v: i64 = l
        .conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, schema_version());
}

#[test]
fn hot_queries_use_an_index_even_on_a_ledger_without_statistics() {
    let f = Fixture::new();
    let table = vec![
        (query::FIND_SQL, 3),
        (write::CLAIM_SQL, 4),
        (
            "SELECT unknown_id FROM unknown_keys WHERE entity = ?1 AND key = ?2 AND value = ?3",
            3,
        ),
    ];
    for (sql, params) in table {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut stmt = f.ledger.conn.prepare(&explain).unwrap();
        let args: Vec<String> = (0..params).map(|i| i.to_string()).collect();
        let plan: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(args), |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().all(|step| step.starts_with("SEARCH")),
            "{sql}\n{plan:?}"
        );
        assert!(
            plan[0].contains("k USING PRIMARY KEY") || plan[0].contains("unknown_keys_by_value"),
            "{plan:?}"
        );
    }
}

// ---------------------------------------------------------------- recording outcomes

#[test]
fn a_sent_record_is_found_by_each_of_its_keys() {
    let mut f = Fixture::new();
    let run = f
        .ledger
        .begin_run(&RunStart {
            command: "import",
            input: Some("cases.xlsx"),
            results: Some("cases.results.xlsx"),
        })
        .unwrap();
    let answer = json!({"id": 17, "case_number": "C-1", "origin": "public_api"});
    let sent = case(1);
    let mut b = f.ledger.batch(Some(run)).unwrap();
    let r = b
        .sent(Written {
            answer: Some(&answer),
            ..written(17, &sent, true, Some(3))
        })
        .unwrap();
    b.commit().unwrap();
    assert_eq!(r, Recorded::default());

    let want = Known {
        entity: "cases".into(),
        id: 17,
        status: Status::Live,
        sent_state: Some(case(1)),
        sent_at: Some(at(T0)),
        seen_state: Some(answer.clone()),
        seen_at: Some(at(T0)),
        run: Some(run),
        file: Some("cases.xlsx".into()),
        row: Some(18),
    };
    assert_eq!(f.ledger.get("cases", 17).unwrap(), Some(want.clone()));
    let table = vec![
        cn(1),
        key("external", r#"["clio","E-1"]"#),
        rule("cases", "external")
            .unwrap()
            .key(&["clio", "E-1"])
            .unwrap(),
    ];
    for k in table {
        let found = f.ledger.find("cases", &k).unwrap();
        assert_eq!(found.records, vec![want.clone()], "{k:?}");
        assert_eq!(found.live(), Some(&want));
        assert!(found.in_doubt.is_empty());
    }
    for k in [cn(2), key("case_number", "c-1"), key("email", "C-1")] {
        assert_eq!(
            f.ledger.find("cases", &k).unwrap(),
            Found::default(),
            "{k:?}"
        );
    }
    assert_eq!(f.ledger.find("clients", &cn(1)).unwrap(), Found::default());
    assert_eq!(
        f.ledger.keys("cases", 17).unwrap(),
        vec![cn(1), key("external", r#"["clio","E-1"]"#)]
    );
    assert_eq!(
        f.ledger.created_in_run("cases", run).unwrap(),
        vec![(Some(3), 17)]
    );
}

#[test]
fn an_update_replaces_state_and_keys_but_keeps_where_it_was_created() {
    let mut f = Fixture::new();
    let r1 = f
        .ledger
        .begin_run(&RunStart {
            command: "import",
            ..Default::default()
        })
        .unwrap();
    let r2 = f
        .ledger
        .begin_run(&RunStart {
            command: "import",
            ..Default::default()
        })
        .unwrap();
    send(&mut f.ledger, Some(r1), &[(5, case(1))]);
    f.tick(60);
    let mut renamed = case(1);
    renamed["case_number"] = json!("C-1-renamed");
    renamed["external_source_id"] = json!(null);
    let mut b = f.ledger.batch(Some(r2)).unwrap();
    b.sent(written(5, &renamed, false, Some(9))).unwrap();
    b.commit().unwrap();

    let k = f.ledger.get("cases", 5).unwrap().unwrap();
    assert_eq!(k.sent_state, Some(renamed));
    assert_eq!(k.sent_at, Some(at(T0 + 60)));
    assert_eq!(k.run, Some(r2));
    assert_eq!(
        f.ledger.keys("cases", 5).unwrap(),
        vec![key("case_number", "C-1-renamed")]
    );
    assert!(f.ledger.find("cases", &cn(1)).unwrap().records.is_empty());
    assert_eq!(
        f.ledger.created_in_run("cases", r1).unwrap(),
        vec![(Some(1), 5)]
    );
    assert!(f.ledger.created_in_run("cases", r2).unwrap().is_empty());
}

#[test]
fn a_key_held_by_another_live_id_is_a_conflict_and_never_overwritten() {
    let mut f = Fixture::new();
    send(&mut f.ledger, None, &[(17, case(1))]);
    // the same case number and external pair come back with another id
    let r = send(&mut f.ledger, None, &[(23, case(1))]).remove(0);
    assert_eq!(
        r.conflicts,
        vec![
            Conflict::KeyTaken {
                entity: "cases".into(),
                key: cn(1),
                holder: 17,
                id: 23
            },
            Conflict::KeyTaken {
                entity: "cases".into(),
                key: key("external", r#"["clio","E-1"]"#),
                holder: 17,
                id: 23
            },
        ]
    );
    assert_eq!(
        r.conflicts[0].to_string(),
        "case_number C-1 is recorded for Kayse id 17, not 23: check both in Kayse"
    );
    // the key still maps to the first id; the second id is kept all the same, without the keys
    assert_eq!(
        f.ledger.find("cases", &cn(1)).unwrap().live().unwrap().id,
        17
    );
    assert_eq!(
        f.ledger.get("cases", 23).unwrap().unwrap().sent_state,
        Some(case(1))
    );
    assert!(f.ledger.keys("cases", 23).unwrap().is_empty());
}

#[test]
fn a_key_passes_from_a_deleted_or_gone_record_to_a_new_one() {
    for gone in [false, true] {
        let mut f = Fixture::new();
        send(&mut f.ledger, None, &[(17, case(1))]);
        let mut b = f.ledger.batch(None).unwrap();
        assert!(
            if gone {
                b.gone("cases", 17)
            } else {
                b.deleted("cases", 17)
            }
            .unwrap()
        );
        assert!(
            !b.gone("cases", 999).unwrap(),
            "an id the ledger never knew"
        );
        b.commit().unwrap();
        let r = send(&mut f.ledger, None, &[(23, case(1))]).remove(0);
        assert!(r.conflicts.is_empty(), "{:?}", r.conflicts);
        let found = f.ledger.find("cases", &cn(1)).unwrap();
        assert_eq!(found.records.len(), 1);
        assert_eq!(found.live().unwrap().id, 23);
        let old = f.ledger.get("cases", 17).unwrap().unwrap();
        assert_eq!(
            old.status,
            if gone { Status::Gone } else { Status::Deleted }
        );
        assert!(f.ledger.get("cases", 999).unwrap().is_none());
    }
}

#[test]
fn clients_may_share_an_email_or_mobile_but_not_an_external_id() {
    let mut f = Fixture::new();
    let ann = json!({"first_name": "Ann", "external_source": "import", "external_source_id": "p-1",
                     "email": "Family@Example.com", "mobile": "+15551234567"});
    let bob = json!({"first_name": "Bob", "external_source": "import", "external_source_id": "p-2",
                     "email": "family@example.COM", "mobile": "+15551234567"});
    let ann_again =
        json!({"first_name": "Ann", "external_source": "import", "external_source_id": "p-1"});
    let mut b = f.ledger.batch(None).unwrap();
    let client = |id, v| Written {
        entity: "clients",
        ..written(id, v, true, None)
    };
    assert!(b.sent(client(1, &ann)).unwrap().conflicts.is_empty());
    assert!(b.sent(client(2, &bob)).unwrap().conflicts.is_empty());
    let r = b.sent(client(3, &ann_again)).unwrap();
    b.commit().unwrap();
    assert_eq!(r.conflicts.len(), 1);
    assert!(matches!(
        &r.conflicts[0],
        Conflict::KeyTaken {
            holder: 1,
            id: 3,
            ..
        }
    ));
    let table = vec![
        (key("email", "family@example.com"), vec![1, 2]),
        (
            rule("clients", "email")
                .unwrap()
                .key(&["FAMILY@example.com"])
                .unwrap(),
            vec![1, 2],
        ),
        (key("mobile", "+15551234567"), vec![1, 2]),
        (key("external", r#"["import","p-1"]"#), vec![1]),
    ];
    for (k, want) in table {
        let found = f.ledger.find("clients", &k).unwrap();
        let ids: Vec<Id> = found.records.iter().map(|r| r.id).collect();
        assert_eq!(ids, want, "{k:?}");
        assert_eq!(found.live().is_some(), want.len() == 1);
    }
}

#[test]
fn a_read_sets_what_was_seen_and_leaves_what_was_sent() {
    let mut f = Fixture::new();
    send(&mut f.ledger, None, &[(5, case(1))]);
    f.tick(3600);
    let mut in_kayse = case(1);
    in_kayse["status"] = json!("closed"); // edited in the Kayse UI
    in_kayse["origin"] = json!("public_api");
    let mut b = f.ledger.batch(None).unwrap();
    b.read("cases", 5, &in_kayse).unwrap();
    b.read("cases", 6, &case(2)).unwrap(); // an id only an export knows
    b.commit().unwrap();
    let k = f.ledger.get("cases", 5).unwrap().unwrap();
    assert_eq!(k.sent_state, Some(case(1)));
    assert_eq!(k.sent_at, Some(at(T0)));
    assert_eq!(k.seen_state, Some(in_kayse.clone()));
    assert_eq!(k.seen_at, Some(at(T0 + 3600)));
    // a re-run of the old sheet compares with what was sent: the UI edit is not overwritten
    assert_eq!(k.compare_state(), Some(&case(1)));
    assert!(nothing_new(
        k.compare_state().unwrap(),
        &case(1),
        &["origin"],
        Blanks::Keep
    ));
    assert_eq!(k.report_state(), Some(&in_kayse));
    let only_read = f.ledger.get("cases", 6).unwrap().unwrap();
    assert_eq!(only_read.compare_state(), Some(&case(2)));
    assert_eq!(only_read.sent_at, None);
    assert_eq!(
        f.ledger.find("cases", &cn(2)).unwrap().live().unwrap().id,
        6
    );
}

#[test]
fn seeding_adds_new_ids_and_reports_disagreements_without_changing_anything() {
    let mut f = Fixture::new();
    send(&mut f.ledger, None, &[(5, case(1))]);
    let src = Source {
        file: Some("old.results.xlsx"),
        row: Some(4),
    };
    let mut other_number = case(1);
    other_number["case_number"] = json!("C-1-old");
    let mut b = f.ledger.batch(None).unwrap();
    // a new id
    assert_eq!(
        b.seed("cases", 6, &case(2), src).unwrap(),
        Recorded::default()
    );
    // the same facts again: nothing to say
    assert_eq!(
        b.seed("cases", 6, &case(2), src).unwrap(),
        Recorded::default()
    );
    assert_eq!(
        b.seed("cases", 5, &case(1), src).unwrap(),
        Recorded::default()
    );
    // a known id under another case number
    let r = b.seed("cases", 5, &other_number, src).unwrap();
    assert_eq!(
        r.conflicts,
        vec![Conflict::IdKeyDiffers {
            entity: "cases".into(),
            id: 5,
            rule: "case_number".into(),
            known: Some("C-1".into()),
            given: Some("C-1-old".into()),
        }]
    );
    assert_eq!(
        r.conflicts[0].to_string(),
        "Kayse id 5 is recorded with case_number C-1, not case_number C-1-old: check it in Kayse"
    );
    // a new id for a case number another id holds: recorded, the key stays with its holder
    let r = b.seed("cases", 7, &case(1), src).unwrap();
    assert_eq!(r.conflicts.len(), 2);
    b.commit().unwrap();
    assert_eq!(
        f.ledger.get("cases", 5).unwrap().unwrap().sent_state,
        Some(case(1))
    );
    let seeded = f.ledger.get("cases", 6).unwrap().unwrap();
    assert_eq!(
        (seeded.file.as_deref(), seeded.row, seeded.seen_at),
        (Some("old.results.xlsx"), Some(4), None)
    );
    assert!(f.ledger.get("cases", 7).unwrap().is_some());
    assert_eq!(
        f.ledger.find("cases", &cn(1)).unwrap().live().unwrap().id,
        5
    );
}

#[test]
fn a_batch_dropped_before_commit_records_nothing() {
    let mut f = Fixture::new();
    {
        let mut b = f.ledger.batch(None).unwrap();
        b.sent(written(1, &case(1), true, None)).unwrap();
    }
    assert_eq!(f.ledger.get("cases", 1).unwrap(), None);
    assert_eq!(f.ledger.count("cases").unwrap(), 0);
}

// ---------------------------------------------------------------- in doubt

#[test]
fn a_create_in_doubt_is_found_by_its_keys_once_and_settled_by_reconcile() {
    let mut f = Fixture::new();
    let run = f
        .ledger
        .begin_run(&RunStart {
            command: "import",
            ..Default::default()
        })
        .unwrap();
    let mut b = f.ledger.batch(Some(run)).unwrap();
    for (id, batch) in [(100, 1), (101, 1), (104, 3), (105, 3)] {
        b.sent(written(id, &case(id), true, Some(batch))).unwrap();
    }
    let lost = case(102);
    let src = Source {
        file: Some("cases.xlsx"),
        row: Some(40),
    };
    let u = b
        .unknown(InDoubt {
            entity: "cases",
            sent: &lost,
            batch: Some(2),
            source: src,
        })
        .unwrap();
    // the journal replayed on --resume: the same create, the same entry
    let again = b
        .unknown(InDoubt {
            entity: "cases",
            sent: &lost,
            batch: Some(2),
            source: src,
        })
        .unwrap();
    assert_eq!(again, u);
    let u2 = b
        .unknown(InDoubt {
            entity: "cases",
            sent: &case(103),
            batch: Some(2),
            source: src,
        })
        .unwrap();
    b.commit().unwrap();

    let found = f.ledger.find("cases", &cn(102)).unwrap();
    assert!(found.records.is_empty());
    assert_eq!(found.in_doubt.len(), 1);
    let d = &found.in_doubt[0];
    assert_eq!(
        (d.unknown_id, d.run, d.batch, d.row),
        (u, Some(run), Some(2), Some(40))
    );
    assert_eq!(d.state, lost);
    assert_eq!(
        d.keys,
        vec![cn(102), key("external", r#"["clio","E-102"]"#)]
    );
    assert_eq!(d.recorded_at, at(T0));
    assert_eq!(f.ledger.unknowns(Some("cases")).unwrap().len(), 2);
    assert!(f.ledger.unknowns(Some("clients")).unwrap().is_empty());
    assert_eq!(
        f.ledger.neighbours(u).unwrap(),
        Neighbours {
            below: Some(101),
            above: Some(104)
        }
    );
    assert_eq!(f.ledger.neighbours(9999).unwrap(), Neighbours::default());

    // reconcile --probe found 102: recorded as created by the run and request that sent it
    let later = f
        .ledger
        .begin_run(&RunStart {
            command: "reconcile",
            ..Default::default()
        })
        .unwrap();
    let mut b = f.ledger.batch(Some(later)).unwrap();
    let seen = json!({"id": 102, "case_number": "C-102"});
    let r = b.resolve(u, 102, Some(&seen)).unwrap().unwrap();
    assert_eq!(r.resolved_unknowns, 1);
    assert_eq!(b.resolve(u, 102, None).unwrap(), None, "already settled");
    b.commit().unwrap();
    let k = f.ledger.get("cases", 102).unwrap().unwrap();
    assert_eq!(
        (k.run, k.sent_state.as_ref(), k.seen_state.as_ref()),
        (Some(run), Some(&lost), Some(&seen))
    );
    assert_eq!(
        f.ledger
            .created_in_run("cases", run)
            .unwrap()
            .iter()
            .map(|p| p.1)
            .collect::<Vec<_>>(),
        vec![100, 101, 102, 104, 105]
    );
    assert_eq!(f.ledger.find("cases", &cn(102)).unwrap().in_doubt, vec![]);
    assert_eq!(f.ledger.unknowns(None).unwrap().len(), 1);

    // a later record taking the other one's case number (ledger add of an export) settles it
    let mut b = f.ledger.batch(None).unwrap();
    let r = b.seed("cases", 103, &case(103), Source::default()).unwrap();
    b.commit().unwrap();
    assert_eq!(r.resolved_unknowns, 1);
    assert!(f.ledger.unknowns(None).unwrap().is_empty());
    let _ = u2;
}

// ---------------------------------------------------------------- links

#[test]
fn links_are_one_pair_seen_from_both_sides_and_replaced_like_the_api_does() {
    let mut f = Fixture::new();
    let mut b = f.ledger.batch(None).unwrap();
    b.set_links("cases", 5, "clients", &[1, 2]).unwrap();
    b.add_links("clients", 3, "cases", &[5, 6]).unwrap();
    b.add_links("cases", 5, "clients", &[2]).unwrap(); // already there
    b.commit().unwrap();
    let table: Vec<(&str, Id, &str, Vec<Id>)> = vec![
        ("cases", 5, "clients", vec![1, 2, 3]),
        ("cases", 6, "clients", vec![3]),
        ("clients", 1, "cases", vec![5]),
        ("clients", 3, "cases", vec![5, 6]),
        ("clients", 9, "cases", vec![]),
    ];
    for (e, id, o, want) in &table {
        assert_eq!(&f.ledger.links(e, *id, o).unwrap(), want, "{e} {id}");
    }
    // case 5 sent with client_ids [3, 4]: its links are exactly those now
    let mut b = f.ledger.batch(None).unwrap();
    b.set_links("cases", 5, "clients", &[3, 4]).unwrap();
    b.set_links("clients", 3, "cases", &[6]).unwrap();
    b.commit().unwrap();
    let table: Vec<(&str, Id, &str, Vec<Id>)> = vec![
        ("cases", 5, "clients", vec![4]),
        ("cases", 6, "clients", vec![3]),
        ("clients", 1, "cases", vec![]),
        ("clients", 3, "cases", vec![6]),
        ("clients", 4, "cases", vec![5]),
    ];
    for (e, id, o, want) in &table {
        assert_eq!(&f.ledger.links(e, *id, o).unwrap(), want, "{e} {id}");
    }
    // links within one entity read from both sides too
    let mut b = f.ledger.batch(None).unwrap();
    b.set_links("cases", 9, "cases", &[2, 12]).unwrap();
    b.commit().unwrap();
    assert_eq!(f.ledger.links("cases", 9, "cases").unwrap(), vec![2, 12]);
    assert_eq!(f.ledger.links("cases", 2, "cases").unwrap(), vec![9]);
    assert_eq!(f.ledger.links("cases", 12, "cases").unwrap(), vec![9]);
}

// ---------------------------------------------------------------- listing and reports

#[test]
fn the_stalest_come_first_never_seen_before_oldest_seen_ties_by_id() {
    let mut f = Fixture::new();
    let mut b = f.ledger.batch(None).unwrap();
    for id in [1, 2, 3, 4, 5, 6] {
        b.seed("cases", id, &case(id), Source::default()).unwrap();
    }
    b.commit().unwrap();
    // read 4 first, then 2 and 6 together, then 1; 5 is deleted; 3 is never read
    for (ids, dt) in [(vec![4], 10), (vec![6, 2], 10), (vec![1], 10)] {
        f.tick(dt);
        let mut b = f.ledger.batch(None).unwrap();
        for id in ids {
            b.read("cases", id, &case(id)).unwrap();
        }
        b.commit().unwrap();
    }
    let mut b = f.ledger.batch(None).unwrap();
    b.deleted("cases", 5).unwrap();
    b.commit().unwrap();
    let table = vec![
        (0, vec![]),
        (1, vec![3]),
        (3, vec![3, 4, 2]),
        (10, vec![3, 4, 2, 6, 1]),
    ];
    for (n, want) in table {
        let got: Vec<Id> = f
            .ledger
            .stalest("cases", n)
            .unwrap()
            .iter()
            .map(|k| k.id)
            .collect();
        assert_eq!(got, want, "n = {n}");
    }
    // The same facts, streamed without states: live records only, by id.
    let mut seen = Vec::new();
    f.ledger
        .for_each_seen("cases", |id, at| {
            seen.push((id, at));
            Ok::<(), LedgerError>(())
        })
        .unwrap();
    let want = vec![
        (1, Some(at(T0 + 30))),
        (2, Some(at(T0 + 20))),
        (3, None),
        (4, Some(at(T0 + 10))),
        (6, Some(at(T0 + 20))),
    ];
    assert_eq!(seen, want);
    let table = vec![
        (T0, 4),
        (T0 + 10, 4),
        (T0 + 11, 3),
        (T0 + 30, 1),
        (T0 + 31, 0),
    ];
    for (since, want) in table {
        assert_eq!(
            f.ledger.seen_since("cases", at(since)).unwrap(),
            want,
            "since {since}"
        );
    }
}

#[test]
fn every_record_streams_in_id_order_and_the_caller_can_stop_it() {
    let mut f = Fixture::new();
    let items: Vec<(Id, Value)> = [9, 3, 250, 1, 42].iter().map(|&i| (i, case(i))).collect();
    send(&mut f.ledger, None, &items);
    let mut b = f.ledger.batch(None).unwrap();
    b.sent(Written {
        entity: "clients",
        ..written(2, &json!({}), true, None)
    })
    .unwrap();
    b.commit().unwrap();
    let mut ids = Vec::new();
    f.ledger
        .for_each("cases", |k| {
            ids.push(k.id);
            Ok::<_, LedgerError>(())
        })
        .unwrap();
    assert_eq!(ids, vec![1, 3, 9, 42, 250]);

    #[derive(Debug)]
    enum Stop {
        Enough,
        Ledger,
    }
    impl From<LedgerError> for Stop {
        fn from(_: LedgerError) -> Stop {
            Stop::Ledger
        }
    }
    let mut seen = 0;
    let r = f.ledger.for_each("cases", |_| {
        seen += 1;
        if seen == 2 { Err(Stop::Enough) } else { Ok(()) }
    });
    assert!(matches!(r, Err(Stop::Enough)), "{r:?}");
    assert_eq!(seen, 2);
    assert_eq!(f.ledger.count("cases").unwrap(), 5);
    assert_eq!(f.ledger.count("clients").unwrap(), 1);
}

#[test]
fn a_report_sees_what_changed_since_its_last_snapshot() {
    let mut f = Fixture::new();
    let ignore = &["origin", "update_origin"];
    send(
        &mut f.ledger,
        None,
        &[(1, case(1)), (2, case(2)), (3, case(3)), (4, case(4))],
    );
    let mut b = f.ledger.batch(None).unwrap();
    b.gone("cases", 4).unwrap();
    b.commit().unwrap();
    let collect = |l: &Ledger, report: &str| {
        let mut out = Vec::new();
        let taken = l
            .changes_since(report, "cases", ignore, |c| {
                out.push(c);
                Ok::<_, LedgerError>(())
            })
            .unwrap();
        (taken, out)
    };
    assert_eq!(
        collect(&f.ledger, "nightly"),
        (None, vec![]),
        "no report yet"
    );

    let taken = f.ledger.snapshot("nightly", "cases", None).unwrap();
    assert_eq!((taken.records, taken.taken_at), (4, at(T0)));
    assert_eq!(
        f.ledger.last_snapshot("nightly", "cases").unwrap(),
        Some(taken.clone())
    );
    assert_eq!(collect(&f.ledger, "nightly"), (Some(taken.clone()), vec![]));

    f.tick(86_400);
    let mut closed = case(1);
    closed["status"] = json!("closed");
    closed["origin"] = json!("public_api");
    let mut b = f.ledger.batch(None).unwrap();
    b.read("cases", 1, &closed).unwrap(); // changed in Kayse
    b.read(
        "cases",
        2,
        &json!({"origin": "x", "case_number": "C-2", "external_source": "clio",
        "external_source_id": "E-2", "status": "active", "type": "civil"}),
    )
    .unwrap(); // only ignored fields
    b.gone("cases", 3).unwrap(); // deleted or merged in Kayse
    b.sent(written(5, &case(5), true, None)).unwrap(); // new
    b.read("cases", 4, &case(4)).unwrap(); // back from gone
    b.commit().unwrap();
    let (t, got) = collect(&f.ledger, "nightly");
    assert_eq!(t, Some(taken));
    assert_eq!(
        got,
        vec![
            Change::Changed {
                id: 1,
                fields: vec![FieldChange {
                    field: "status".into(),
                    old: json!("active"),
                    new: json!("closed")
                }]
            },
            Change::Gone {
                id: 3,
                status: Status::Gone
            },
            Change::New {
                id: 4,
                state: Some(case(4))
            },
            Change::New {
                id: 5,
                state: Some(case(5))
            },
        ]
    );
    // another report keeps its own snapshot
    assert_eq!(collect(&f.ledger, "weekly"), (None, vec![]));
    let next = f.ledger.snapshot("nightly", "cases", None).unwrap();
    assert_eq!((next.records, next.taken_at), (5, at(T0 + 86_400)));
    assert_eq!(collect(&f.ledger, "nightly").1, vec![]);
}

// ---------------------------------------------------------------- runs, stats, forget

#[test]
fn runs_say_what_they_were_and_how_they_ended() {
    let mut f = Fixture::new();
    let a = f
        .ledger
        .begin_run(&RunStart {
            command: "import",
            input: Some("cases.xlsx"),
            results: Some("r.xlsx"),
        })
        .unwrap();
    f.tick(90);
    let b = f
        .ledger
        .begin_run(&RunStart {
            command: "export",
            ..Default::default()
        })
        .unwrap();
    let counts: BTreeMap<String, u64> =
        [("created".to_string(), 98), ("unknown".to_string(), 2)].into();
    f.tick(30);
    f.ledger.end_run(a, &counts, 1).unwrap();
    let runs = f.ledger.runs(10).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].id, b);
    assert_eq!(
        (runs[0].ended_at, runs[0].exit_code, runs[0].counts.len()),
        (None, None, 0)
    );
    let r = &runs[1];
    assert_eq!(r.id, a);
    assert_eq!(r.command, "import");
    assert_eq!(r.pid, std::process::id());
    assert_eq!(
        (r.input.as_deref(), r.results.as_deref()),
        (Some("cases.xlsx"), Some("r.xlsx"))
    );
    assert_eq!((r.started_at, r.ended_at), (at(T0), Some(at(T0 + 120))));
    assert_eq!((r.counts.clone(), r.exit_code), (counts, Some(1)));
    assert_eq!(f.ledger.runs(1).unwrap().len(), 1);
}

#[test]
fn stats_count_each_entity_by_status() {
    let mut f = Fixture::new();
    send(
        &mut f.ledger,
        None,
        &[(1, case(1)), (2, case(2)), (3, case(3))],
    );
    let mut b = f.ledger.batch(None).unwrap();
    b.read("cases", 1, &case(1)).unwrap();
    b.deleted("cases", 2).unwrap();
    b.seed("cases", 4, &case(4), Source::default()).unwrap();
    b.unknown(InDoubt {
        entity: "cases",
        sent: &case(9),
        batch: None,
        source: Source::default(),
    })
    .unwrap();
    b.sent(Written {
        entity: "clients",
        ..written(7, &json!({}), true, None)
    })
    .unwrap();
    b.commit().unwrap();
    let run = f
        .ledger
        .begin_run(&RunStart {
            command: "import",
            ..Default::default()
        })
        .unwrap();
    f.ledger
        .begin_run(&RunStart {
            command: "import",
            ..Default::default()
        })
        .unwrap();
    f.ledger.end_run(run, &BTreeMap::new(), 0).unwrap();
    let s = f.ledger.stats().unwrap();
    assert_eq!(
        s.entities,
        vec![
            // a write Kayse answered without the record does not count as seen
            EntityStats {
                entity: "cases".into(),
                live: 3,
                deleted: 1,
                gone: 0,
                never_seen: 2,
                in_doubt: 1
            },
            EntityStats {
                entity: "clients".into(),
                live: 1,
                never_seen: 1,
                ..Default::default()
            },
        ]
    );
    assert_eq!((s.runs, s.unfinished_runs), (2, 1));
    assert!(s.bytes > 0);
}

#[test]
fn forgetting_removes_records_with_their_keys_links_doubts_and_snapshots() {
    let mut f = Fixture::new();
    let setup = |l: &mut Ledger| {
        send(l, None, &[(1, case(1)), (2, case(2)), (3, case(3))]);
        let mut b = l.batch(None).unwrap();
        b.set_links("cases", 1, "clients", &[50]).unwrap();
        b.unknown(InDoubt {
            entity: "cases",
            sent: &case(9),
            batch: None,
            source: Source::default(),
        })
        .unwrap();
        b.sent(Written {
            entity: "clients",
            ..written(50, &json!({}), true, None)
        })
        .unwrap();
        b.commit().unwrap();
        l.snapshot("r", "cases", None).unwrap();
    };
    setup(&mut f.ledger);
    let (two, nine) = (cn(2), cn(9));
    let table: Vec<(Forget<'_>, Forgotten, Vec<Id>)> = vec![
        (
            Forget::Id(1),
            Forgotten {
                records: 1,
                unknowns: 0,
            },
            vec![2, 3],
        ),
        (Forget::Id(77), Forgotten::default(), vec![1, 2, 3]),
        (
            Forget::Key(&two),
            Forgotten {
                records: 1,
                unknowns: 0,
            },
            vec![1, 3],
        ),
        (
            Forget::Key(&nine),
            Forgotten {
                records: 0,
                unknowns: 1,
            },
            vec![1, 2, 3],
        ),
        (
            Forget::Entity,
            Forgotten {
                records: 3,
                unknowns: 1,
            },
            vec![],
        ),
    ];
    for (what, want, left) in table {
        f.ledger.forget("cases", Forget::Entity).unwrap();
        f.ledger.forget("clients", Forget::Entity).unwrap();
        setup(&mut f.ledger);
        assert_eq!(f.ledger.forget("cases", what).unwrap(), want, "{what:?}");
        let mut ids = Vec::new();
        f.ledger
            .for_each("cases", |k| {
                ids.push(k.id);
                Ok::<_, LedgerError>(())
            })
            .unwrap();
        assert_eq!(ids, left, "{what:?}");
        for id in [1, 2, 3] {
            let kept = left.contains(&id);
            assert_eq!(
                f.ledger.keys("cases", id).unwrap().is_empty(),
                !kept,
                "{what:?} {id}"
            );
        }
        let snapshots: i64 = f
            .ledger
            .conn
            .query_row("SELECT count(*) FROM snapshots", [], |r| r.get(0))
            .unwrap();
        assert_eq!(snapshots as usize, left.len(), "{what:?}");
        assert_eq!(
            f.ledger.links("clients", 50, "cases").unwrap(),
            if left.contains(&1) { vec![1] } else { vec![] }
        );
        assert_eq!(
            f.ledger.count("clients").unwrap(),
            1,
            "another entity is untouched"
        );
    }
}

// ---------------------------------------------------------------- concurrency

#[test]
fn two_writers_at_once_lose_nothing() {
    let mut f = Fixture::new();
    let path = f.path.clone();
    let barrier = Arc::new(Barrier::new(2));
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let (path, barrier) = (path.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                // each its own connection, exactly as two processes would have
                let mut l = Ledger::open(&path).unwrap();
                let run = l
                    .begin_run(&RunStart {
                        command: "import",
                        ..Default::default()
                    })
                    .unwrap();
                barrier.wait();
                for batch in 0..50u64 {
                    let items: Vec<(Id, Value)> = (0..10)
                        .map(|i| {
                            let id = 1 + w * 10_000 + batch * 10 + i;
                            (id, case(id))
                        })
                        .collect();
                    for r in send(&mut l, Some(run), &items) {
                        assert!(r.conflicts.is_empty());
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    f.reopen();
    assert_eq!(f.ledger.count("cases").unwrap(), 1000);
    for id in [1, 500, 10_001, 10_500] {
        assert_eq!(
            f.ledger.find("cases", &cn(id)).unwrap().live().unwrap().id,
            id
        );
    }
    f.ledger.check().unwrap();
}

#[test]
fn two_writers_racing_for_one_case_number_give_it_to_exactly_one() {
    for _ in 0..5 {
        let f = Fixture::new();
        let barrier = Arc::new(Barrier::new(2));
        let racers: Vec<_> = [17u64, 23]
            .into_iter()
            .map(|id| {
                let (path, barrier) = (f.path.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let mut l = Ledger::open(&path).unwrap();
                    barrier.wait();
                    send(&mut l, None, &[(id, case(1))]).remove(0).conflicts
                })
            })
            .collect();
        let conflicts: Vec<Vec<Conflict>> = racers.into_iter().map(|h| h.join().unwrap()).collect();
        let losers: Vec<&Vec<Conflict>> = conflicts.iter().filter(|c| !c.is_empty()).collect();
        assert_eq!(losers.len(), 1, "{conflicts:?}");
        let Conflict::KeyTaken { holder, id, .. } = &losers[0][0] else {
            panic!("{losers:?}")
        };
        let found = f.ledger.find("cases", &cn(1)).unwrap();
        assert_eq!(found.records.len(), 1);
        assert_eq!(found.records[0].id, *holder);
        assert_ne!(holder, id);
        assert_eq!(f.ledger.count("cases").unwrap(), 2, "both ids are kept");
    }
}

#[test]
fn a_reader_streams_a_consistent_view_while_a_writer_commits() {
    let mut f = Fixture::new();
    let items: Vec<(Id, Value)> = (1..=300).map(|i| (i, case(i))).collect();
    send(&mut f.ledger, None, &items);
    let mut writer = Ledger::open(&f.path).unwrap();
    let mut n = 0;
    f.ledger
        .for_each("cases", |_| {
            n += 1;
            if n == 1 {
                // another process adds records while the listing is half way
                send(&mut writer, None, &[(1000, case(1000))]);
            }
            Ok::<_, LedgerError>(())
        })
        .unwrap();
    assert_eq!(n, 300);
    assert_eq!(f.ledger.count("cases").unwrap(), 301);
}

/// The ledger's look-ups run once per row of an import: each is compiled once and reused, not
/// compiled again whenever it runs with new values (the query planner's stability guarantee,
/// set at open).
#[test]
fn hot_statements_are_prepared_once() {
    let mut f = Fixture::new();
    for round in 0..2u64 {
        let items: Vec<(Id, Value)> = (1..=20).map(|n| (n, case(n + 100 * round))).collect();
        send(&mut f.ledger, None, &items);
        for n in 1..=20 {
            f.ledger.find("cases", &cn(n + 100 * round)).unwrap();
            f.ledger.get("cases", n).unwrap();
        }
    }
    for sql in [
        query::FIND_SQL,
        write::CLAIM_SQL,
        write::KEYS_OF_SQL,
        query::IN_DOUBT_SQL,
    ] {
        let s = f.ledger.conn.prepare_cached(sql).unwrap();
        assert!(
            s.get_status(rusqlite::StatementStatus::Run) > 1,
            "{sql}: not run"
        );
        assert_eq!(
            s.get_status(rusqlite::StatementStatus::RePrepare),
            0,
            "{sql}: compiled again"
        );
    }
}
