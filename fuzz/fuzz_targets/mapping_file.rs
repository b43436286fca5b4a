//! Any text as a `--mapping` TOML file: parsed, and when it parses, used to build a mapping for
//! headers made of its own `[columns]` keys plus a few common ones. Errors are fine; panics are
//! not, and a syntax error names a line that exists.

#![no_main]

use kayse_bulk::fuzzing;
use kayse_bulk::entity::CASES;
use kayse_bulk::map::{MapOptions, Mapping};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let file = match fuzzing::parse_mapping_file(text) {
        Ok(file) => file,
        Err(message) => {
            if let Some(rest) = message.strip_prefix(" line ") {
                let n: usize = rest
                    .split(':')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("the message starts with the line number");
                assert!(n >= 1 && n <= text.split('\n').count(), "line {n}");
            } else {
                assert!(message.starts_with(": "), "{message}");
            }
            return;
        }
    };
    let mut headers: Vec<String> = file.columns.keys().cloned().collect();
    headers.extend(["Case Number", "status", "kayse_id", ""].map(String::from));
    let opts = MapOptions {
        file,
        ..MapOptions::default()
    };
    let _ = Mapping::build(&CASES, &headers, &opts);
});
