//! Measures the ledger on its own (no command uses it yet): recording 5,000 outcomes in
//! transactions of 100, looking up 5,000 keys, and streaming a 100,000-record listing, plus the
//! report snapshot and diff over those 100,000. Generates its data in a temp folder and prints a
//! Markdown table. Run with `cargo run --release --example ledger_bench`.

use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use kayse_bulk::record::ledger::{Ledger, LedgerError, Source, Written, rule};
use serde_json::{Value, json};

/// A case as an import would send it: every documented field set, about 450 bytes of JSON.
fn case(n: u64) -> Value {
    json!({
        "case_number": format!("2024-PI-{n:06}"),
        "external_source": "clio",
        "external_source_id": format!("M-{n:08}"),
        "external_source_data": {"responsible_attorney": "J. Smith", "office": "Chicago"},
        "name": format!("Client {n} v. Acme Logistics, Inc."),
        "court_name": "Circuit Court of Cook County",
        "jurisdiction": "IL",
        "description": "Rear-end collision on I-90; soft tissue injuries; PT ongoing.",
        "status": "active",
        "type": "personal_injury",
        "is_obo": false,
        "created_date": "2024-03-05",
        "court_date": "2025-01-14",
        "client_ids": [n * 2, n * 2 + 1],
    })
}

fn record(ledger: &mut Ledger, from: u64, to: u64, batch: u64) -> Result<(), LedgerError> {
    let ids: Vec<u64> = (from..to).collect();
    let run = None;
    for (b, chunk) in ids.chunks(batch as usize).enumerate() {
        let mut tx = ledger.batch(run)?;
        for &id in chunk {
            let sent = case(id);
            tx.sent(Written {
                entity: "cases",
                id,
                sent: &sent,
                answer: Some(&sent),
                created: true,
                batch: Some(b as u32),
                source: Source {
                    file: Some("cases.xlsx"),
                    row: Some(id + 1),
                },
            })?;
        }
        tx.commit()?;
    }
    Ok(())
}

fn size(path: &std::path::Path) -> u64 {
    let mut total = 0;
    for suffix in ["", "-wal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        total += std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
    }
    total
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| "n/a".into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut rows: Vec<(String, String)> = Vec::new();

    // 1. 5,000 outcomes, one transaction per batch of 100, then 5,000 look-ups by case number.
    let small = dir.path().join("small.sqlite");
    let mut ledger = Ledger::open(&small)?;
    let t = Instant::now();
    record(&mut ledger, 1, 5_001, 100)?;
    rows.push((
        "record 5,000 outcomes (50 transactions of 100)".into(),
        secs(t.elapsed()),
    ));
    let by_number = rule("cases", "case_number").expect("a case rule");
    let t = Instant::now();
    let mut hits = 0;
    for n in 1..=5_000u64 {
        let key = by_number.key(&[&format!("2024-PI-{n:06}")]).expect("a key");
        hits += ledger.find("cases", &key)?.records.len();
    }
    assert_eq!(hits, 5_000);
    rows.push(("look up 5,000 case numbers".into(), secs(t.elapsed())));
    drop(ledger);
    rows.push(("file size, 5,000 cases".into(), mib(size(&small))));

    // 2. 100,000 records, then the listing a report streams from them.
    let big = dir.path().join("big.sqlite");
    let mut ledger = Ledger::open(&big)?;
    let t = Instant::now();
    record(&mut ledger, 1, 100_001, 1_000)?;
    rows.push((
        "record 100,000 outcomes (100 transactions of 1,000)".into(),
        secs(t.elapsed()),
    ));
    let out = dir.path().join("listing.jsonl");
    let t = Instant::now();
    let mut w = BufWriter::new(std::fs::File::create(&out)?);
    let mut n = 0u64;
    ledger.for_each("cases", |k| -> Result<(), Box<dyn std::error::Error>> {
        n += 1;
        serde_json::to_writer(&mut w, &(k.id, k.report_state(), k.seen_at))?;
        w.write_all(b"\n")?;
        Ok(())
    })?;
    w.flush()?;
    assert_eq!(n, 100_000);
    rows.push((
        "stream 100,000 records to a file (decode + write)".into(),
        secs(t.elapsed()),
    ));
    let t = Instant::now();
    let stalest = ledger.stalest("cases", 100)?;
    assert_eq!(stalest.len(), 100);
    rows.push(("the 100 stalest of 100,000".into(), secs(t.elapsed())));
    let t = Instant::now();
    ledger.snapshot("nightly", "cases", None)?;
    rows.push(("report snapshot of 100,000".into(), secs(t.elapsed())));
    // A night later: 1,000 of them read again, changed in Kayse.
    let mut tx = ledger.batch(None)?;
    for id in (1..=100_000u64).step_by(100) {
        let mut seen = case(id);
        seen["status"] = json!("closed");
        tx.read("cases", id, &seen)?;
    }
    tx.commit()?;
    let t = Instant::now();
    let mut changes = 0;
    ledger.changes_since(
        "nightly",
        "cases",
        &["origin"],
        |_| -> Result<(), LedgerError> {
            changes += 1;
            Ok(())
        },
    )?;
    assert_eq!(changes, 1_000);
    rows.push((
        "what changed since the snapshot, 100,000 (1,000 changed)".into(),
        secs(t.elapsed()),
    ));
    drop(ledger);
    rows.push((
        "file size, 100,000 cases + snapshot".into(),
        mib(size(&big)),
    ));
    rows.push(("peak resident memory of this process".into(), peak_rss()));

    println!("| ledger, release build | result |");
    println!("|---|---|");
    for (what, value) in rows {
        println!("| {what} | {value} |");
    }
    Ok(())
}
