//! The CSV reader's pieces on their own, fed in reads of fuzzed sizes so that every chunk
//! boundary is tried: the encoding scan and decision, the decoders, the delimiter sniffer and
//! `sep=` hint, the blank-line keeper, and the field-to-cell step. Besides not panicking, each
//! piece must keep the promises its doc comment makes.

#![no_main]

use std::io::{self, Read};

use arbitrary::Arbitrary;
use kayse_bulk::cell::Cell;
use kayse_bulk::fuzzing::{self, Decoding};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    /// Largest read the inner reader serves (0 counts as 1).
    in_piece: u8,
    /// Size of the caller's buffer for each read (0 counts as 1).
    out_piece: u16,
    bom: bool,
    delimiter: u8,
    bytes: Vec<u8>,
}

/// A reader that serves at most `piece` bytes per read.
struct Pieces<'a> {
    bytes: &'a [u8],
    piece: usize,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.piece).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// Read everything through buffers of `out_piece` bytes.
fn drain(mut r: impl Read, out_piece: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; out_piece];
    loop {
        match r.read(&mut buf)? {
            0 => return Ok(out),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Bytes Windows-1252 leaves undefined (the scan reports the first).
const UNDEFINED_1252: [u8; 5] = [0x81, 0x8D, 0x8F, 0x90, 0x9D];

fn check_scan(input: &Input, in_piece: usize) {
    let bytes = &input.bytes;
    let reader = Pieces {
        bytes,
        piece: in_piece,
    };
    let scan = fuzzing::scan_and_classify(reader, input.bom).expect("reading a slice");
    let nul = bytes.iter().position(|&b| b == 0);
    assert_eq!(scan.first_nul, nul.map(|i| i as u64));
    if nul.is_some() {
        assert!(scan.decision.is_err(), "NUL bytes are refused");
        return;
    }
    // Chunk boundaries never change what the scan finds.
    let utf8 = std::str::from_utf8(bytes)
        .err()
        .map(|e| e.valid_up_to() as u64);
    assert_eq!(scan.first_invalid_utf8, utf8);
    let undefined = bytes
        .iter()
        .position(|b| UNDEFINED_1252.contains(b))
        .map(|i| (i as u64, bytes[i]));
    assert_eq!(scan.first_undefined_1252, undefined);
    match (&scan.decision, utf8, undefined) {
        (Ok(None), None, _) => {}
        (Err(_), Some(_), _) if input.bom => {}
        (Ok(Some(Decoding::Windows1252)), Some(_), None) if !input.bom => {}
        (Err(_), Some(_), Some(_)) if !input.bom => {}
        (d, u, w) => panic!("decision {d:?} for invalid UTF-8 at {u:?}, undefined 1252 {w:?}"),
    }
}

fn check_decoders(input: &Input, in_piece: usize, out_piece: usize) {
    let bytes = &input.bytes;
    let decode = |d: Decoding| {
        drain(
            fuzzing::decode_reader(
                Pieces {
                    bytes,
                    piece: in_piece,
                },
                d,
            ),
            out_piece,
        )
    };

    // Windows-1252 gives every byte a character; only NUL is refused.
    match decode(Decoding::Windows1252) {
        Ok(out) => {
            let text = String::from_utf8(out).expect("decoders write UTF-8");
            assert!(!bytes.contains(&0));
            assert_eq!(text.chars().count(), bytes.len());
        }
        Err(_) => assert!(bytes.contains(&0)),
    }

    // UTF-16 matches std's decoder: an odd byte out, an unpaired surrogate or NUL is refused.
    for (d, unit) in [
        (Decoding::Utf16Le, u16::from_le_bytes as fn([u8; 2]) -> u16),
        (Decoding::Utf16Be, u16::from_be_bytes),
    ] {
        let want: Option<String> = if bytes.len() % 2 == 1 {
            None
        } else {
            let units = bytes.chunks_exact(2).map(|p| unit([p[0], p[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
                .filter(|s| !s.contains('\0'))
        };
        let got = decode(d)
            .ok()
            .map(|out| String::from_utf8(out).expect("UTF-8"));
        assert_eq!(got, want, "{d:?}");
    }
}

fn check_keeper(input: &Input, in_piece: usize, out_piece: usize) {
    let bytes = &input.bytes;
    let d = input.delimiter;
    let kept = drain(
        fuzzing::blank_line_keeper(
            Pieces {
                bytes,
                piece: in_piece,
            },
            d,
        ),
        out_piece,
    )
    .expect("reading a slice");
    // The same bytes however they are read.
    let whole = drain(fuzzing::blank_line_keeper(&bytes[..], d), 1 << 16).expect("reading a slice");
    assert_eq!(kept, whole, "read sizes change nothing");
    // It only ever adds delimiters.
    let without = |v: &[u8]| v.iter().copied().filter(|&b| b != d).collect::<Vec<u8>>();
    assert_eq!(without(&kept), without(bytes));
}

fn check_text(input: &Input) {
    let bytes = &input.bytes;
    let d = fuzzing::sniff_delimiter(bytes);
    assert!(matches!(d, b',' | b';' | b'\t' | b'|'), "sniffed {d}");
    if let Some(h) = fuzzing::sep_hint(bytes) {
        assert!(bytes.starts_with(b"sep=") && bytes[4] == h);
        assert!(h.is_ascii_punctuation() || h == b'\t');
    }
    let text = String::from_utf8_lossy(bytes);
    for field in text.split([',', '\n']) {
        let undone = fuzzing::undo_formula_guard(field);
        if undone.len() != field.len() {
            // Only our own guard comes off: one quote before a formula-like character.
            assert_eq!(&field[1..], undone);
            assert!(field.starts_with('\''));
            assert!(undone.starts_with(['=', '+', '-', '@', '\t', '\r']));
        } else {
            assert_eq!(undone, field);
        }
        match fuzzing::field_cell(field) {
            Cell::Empty => assert!(field.is_empty()),
            Cell::Text(t) => assert_eq!(t, undone),
            other => panic!("a CSV field became {other:?}"),
        }
    }
}

fuzz_target!(|input: Input| {
    let in_piece = usize::from(input.in_piece.max(1));
    let out_piece = usize::from(input.out_piece.max(1));
    check_scan(&input, in_piece);
    check_decoders(&input, in_piece, out_piece);
    check_keeper(&input, in_piece, out_piece);
    check_text(&input);
});
