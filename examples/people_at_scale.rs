//! How long the client checks take at sheet scale: 100,000 mobiles through `check::phone`, and
//! 100,000 mentions of 40,000 people through `check::people::dedupe` and `check::client_id`.
//! Generates its own data; prints one line per step. Run it optimised:
//!
//! ```sh
//! cargo run --release --example people_at_scale
//! ```

use std::time::Instant;

use chrono::NaiveDate;
use kayse_bulk::check::client_id::derive_ids;
use kayse_bulk::check::people::{Options, Person, dedupe};
use kayse_bulk::check::phone::{Country, parse_mobile_text};

const MENTIONS: usize = 100_000;
const PEOPLE: usize = 40_000;

fn main() {
    // Mobiles as firms type them, in four spellings.
    let typed: Vec<String> = (0..MENTIONS)
        .map(|i| {
            let n = 2_000_000 + (i % 7_000_000);
            let (a, b) = (n / 10_000, n % 10_000);
            match i % 4 {
                0 => format!("(404) {a:03}-{b:04}"),
                1 => format!("404.{a:03}.{b:04}"),
                2 => format!("+1 404 {a:03} {b:04}"),
                _ => format!("1-404-{a:03}-{b:04}"),
            }
        })
        .collect();
    let start = Instant::now();
    let ok = typed
        .iter()
        .filter(|t| parse_mobile_text(t, Country::default()).is_ok())
        .count();
    println!(
        "phone: {MENTIONS} numbers to E.164 in {:.2?} ({ok} valid)",
        start.elapsed()
    );

    // Each person named two or three times, with a different subset of identifiers each time.
    let mut people = Vec::with_capacity(MENTIONS);
    'fill: for k in 0.. {
        for j in 0..PEOPLE {
            if people.len() == MENTIONS {
                break 'fill;
            }
            let mut p = Person {
                row: people.len() as u32 + 2,
                group: 1,
                first: format!("First{j}"),
                last: format!("Last{j}"),
                ..Person::default()
            };
            match j % 4 {
                0 => p.external_id = Some(format!("X-{j}")),
                1 => p.email = Some(format!("person{j}@example.com")),
                2 => p.mobile = Some(format!("+1404{j:07}")),
                _ => p.date_of_birth = NaiveDate::from_ymd_opt(1940 + (j % 60) as i32, 1, 1),
            }
            if k == 1 && j % 3 == 0 {
                p.date_of_birth = NaiveDate::from_ymd_opt(1940 + (j % 60) as i32, 1, 1);
            }
            people.push(p);
        }
    }
    let start = Instant::now();
    let dedup = dedupe(&people, Options::default());
    let took = start.elapsed();
    println!(
        "dedupe: {} mentions into {} people in {took:.2?} ({} pairs kept apart)",
        people.len(),
        dedup.clusters.len(),
        dedup.apart.len()
    );
    let start = Instant::now();
    let ids = derive_ids(&people, &dedup);
    println!(
        "client ids: {} derived in {:.2?}",
        ids.iter().flatten().count(),
        start.elapsed()
    );
}
