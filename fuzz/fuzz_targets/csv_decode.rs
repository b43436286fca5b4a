//! Any bytes saved as a `.csv` file, read through the tool's real reader to the last row: first
//! with the default options (sniffed delimiter, first non-empty row as header), then with the
//! delimiter and header row that the first byte picks. Errors are fine; panics are not.
//!
//! Row numbers must be the ones Excel shows, so the same bytes after one more empty line read
//! as the same table one row further down.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use kayse_bulk::cell::Cell;
use kayse_bulk::read::{self, ReadOptions};
use libfuzzer_sys::fuzz_target;

/// One file per fuzzing process, rewritten for every input (the reader takes a path).
fn input_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("kayse-bulk-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join("x.csv")
    })
}

/// The delimiters `--delimiter` accepts, plus punctuation a `sep=X` first line can choose.
const DELIMITERS: [Option<u8>; 8] = [
    None,
    Some(b','),
    Some(b';'),
    Some(b'\t'),
    Some(b'|'),
    Some(b'"'),
    Some(b'\''),
    Some(b'#'),
];

fn options(b: u8) -> ReadOptions {
    // Low 3 bits: the delimiter; high 5 bits: the header row, 0 for none and 31 for `0`, which
    // the reader must refuse politely.
    let header_row = match b >> 3 {
        0 => None,
        31 => Some(0),
        n => Some(usize::from(n)),
    };
    ReadOptions {
        sheet: None,
        header_row,
        delimiter: DELIMITERS[usize::from(b & 7)],
        ..ReadOptions::default()
    }
}

/// What a read found: the header, its row, and each row's number and cells (errors as `Err`).
#[derive(Debug, PartialEq)]
struct Found {
    headers: Vec<String>,
    header_row: usize,
    rows: Vec<Result<(usize, Vec<Cell>), ()>>,
}

fn read_all(data: &[u8], opts: &ReadOptions) -> Option<Found> {
    std::fs::write(input_path(), data).expect("write the input file");
    let table = read::open(input_path(), opts).ok()?;
    if let Some(n) = opts.header_row {
        assert_eq!(table.header_row, n, "the header is on the row asked for");
    }
    for h in &table.headers {
        assert!(
            !h.is_empty() && h.trim() == h,
            "header names are trimmed: {h:?}"
        );
        assert!(h.len() <= 1024, "headers over 1 KB are refused");
    }
    let mut rows = Vec::new();
    let mut want_row = table.header_row + 1;
    for row in table.rows {
        let Ok(row) = row else {
            rows.push(Err(()));
            continue;
        };
        // Blank lines are rows too, so a row's number is the next one (as Excel numbers them).
        assert_eq!(
            row.source_row, want_row,
            "rows are numbered one after another"
        );
        assert_eq!(row.cells.len(), table.headers.len(), "one cell per header");
        want_row += 1;
        rows.push(Ok((row.source_row, row.cells)));
    }
    Some(Found {
        headers: table.headers,
        header_row: table.header_row,
        rows,
    })
}

/// Whether one more line at the top is just one more row: not when the input starts with a
/// byte-order mark or a `sep=` line, which mean something only as the file's first bytes.
fn can_push_down(data: &[u8]) -> bool {
    ![&b"\xEF\xBB\xBF"[..], b"\xFF\xFE", b"\xFE\xFF", b"sep="]
        .iter()
        .any(|p| data.starts_with(p))
}

fuzz_target!(|data: &[u8]| {
    let plain = read_all(data, &ReadOptions::default());
    if let Some(&first) = data.first() {
        read_all(data, &options(first));
    }
    if can_push_down(data) {
        let mut lower = b"\n".to_vec();
        lower.extend_from_slice(data);
        let pushed = read_all(&lower, &ReadOptions::default());
        let moved = plain.map(|found| Found {
            header_row: found.header_row + 1,
            rows: found
                .rows
                .into_iter()
                .map(|row| row.map(|(n, cells)| (n + 1, cells)))
                .collect(),
            ..found
        });
        assert_eq!(
            pushed, moved,
            "an empty first line moves every row down one"
        );
    }
});
