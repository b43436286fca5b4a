//! CSV reading: encoding detection (BOM, UTF-8, Windows-1252 fallback), delimiter sniffing, and a
//! streaming row iterator. Memory never grows with the number of rows: the file is read twice in
//! fixed-size chunks (one validity scan, one parse) and only the current record is held.
//! Every CSV field is text; nothing is trimmed or converted here.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, WINDOWS_1252};

use super::header::{self, SEARCH_ROWS};
use super::{Facts, InputInfo, RawRow, ReadError, ReadOptions, Table, header_names, quote_short};
use crate::cell::Cell;

/// Chunk size for both passes over the file.
const CHUNK: usize = 64 * 1024;
/// How much decoded text the delimiter sniffer looks at.
const SNIFF_BYTES: usize = 64 * 1024;
/// How many logical lines the sniffer compares.
const SNIFF_LINES: usize = 50;
/// The delimiters we sniff for, in order of preference when they tie.
const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Bytes that Windows-1252 leaves undefined. A file that is not UTF-8 and holds one of these is
/// not Windows-1252 text either, so we refuse it rather than guess.
const UNDEFINED_1252: [u8; 5] = [0x81, 0x8D, 0x8F, 0x90, 0x9D];

/// The text encoding of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextEncoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    Windows1252,
}

impl TextEncoding {
    fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf8Bom => "UTF-8 (BOM)",
            TextEncoding::Utf16Le => "UTF-16LE",
            TextEncoding::Utf16Be => "UTF-16BE",
            TextEncoding::Windows1252 => "Windows-1252",
        }
    }

    /// Bytes of byte-order mark to skip before the text starts.
    fn bom_len(self) -> u64 {
        match self {
            TextEncoding::Utf8Bom => 3,
            TextEncoding::Utf16Le | TextEncoding::Utf16Be => 2,
            TextEncoding::Utf8 | TextEncoding::Windows1252 => 0,
        }
    }

    /// The decoder to run, or None when the bytes are already UTF-8.
    fn decoder(self) -> Option<&'static Encoding> {
        match self {
            TextEncoding::Utf8 | TextEncoding::Utf8Bom => None,
            TextEncoding::Utf16Le => Some(UTF_16LE),
            TextEncoding::Utf16Be => Some(UTF_16BE),
            TextEncoding::Windows1252 => Some(WINDOWS_1252),
        }
    }
}

/// Lookup tables for `scan_bytes`: which bytes need a closer look.
const WATCH_NUL: [bool; 256] = watch_table(false);
const WATCH_NUL_AND_1252: [bool; 256] = watch_table(true);

const fn watch_table(undefined_1252: bool) -> [bool; 256] {
    let mut table = [false; 256];
    table[0] = true;
    if undefined_1252 {
        let mut i = 0;
        while i < UNDEFINED_1252.len() {
            table[UNDEFINED_1252[i] as usize] = true;
            i += 1;
        }
    }
    table
}

/// What the byte-level scan found. Offsets are from the start of the file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ByteScan {
    pub first_nul: Option<u64>,
    pub first_invalid_utf8: Option<u64>,
    pub first_undefined_1252: Option<(u64, u8)>,
    /// The text may hold an empty line or a bare CR (`LineEnds`), so it needs the keeper.
    pub blank_lines: bool,
}

/// Scan a byte stream in fixed-size chunks: is it valid UTF-8, does it hold NUL bytes or bytes
/// Windows-1252 leaves undefined, may it hold empty lines? A UTF-8 character split across two
/// chunks is carried over, so chunk boundaries never cause a false alarm. Stops early at the
/// first NUL (the file is refused). One pass: the file is read once before its rows, not twice.
pub(crate) fn scan_bytes(mut reader: impl Read, skip: u64) -> io::Result<ByteScan> {
    let mut scan = ByteScan::default();
    let mut lines = LineEnds::new();
    let mut buf = vec![0u8; CHUNK + 4];
    let mut carry = 0usize; // bytes of an unfinished UTF-8 character at the start of `buf`
    let mut offset = skip; // file offset of buf[0]
    loop {
        let n = match reader.read(&mut buf[carry..carry + CHUNK]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            if carry > 0 && scan.first_invalid_utf8.is_none() {
                scan.first_invalid_utf8 = Some(offset);
            }
            scan.blank_lines = lines.finish();
            return Ok(scan);
        }
        let fresh = &buf[carry..carry + n];
        let fresh_offset = offset + carry as u64;
        lines.feed(fresh);
        // ASCII text (most exports, most chunks) can hold no byte Windows-1252 leaves undefined:
        // a vectorised search for NUL is enough.
        let ascii = fresh.is_ascii();
        if ascii && let Some(i) = memchr::memchr(0, fresh) {
            scan.first_nul = Some(fresh_offset + i as u64);
            return Ok(scan);
        }
        // Otherwise one pass over the bytes with a lookup table: NUL, and (until the first is
        // found) bytes Windows-1252 leaves undefined.
        let watch = if scan.first_undefined_1252.is_none() {
            &WATCH_NUL_AND_1252
        } else {
            &WATCH_NUL
        };
        let table_pass = if ascii { &[][..] } else { fresh };
        for (i, &b) in table_pass.iter().enumerate() {
            if watch[usize::from(b)] {
                let at = fresh_offset + i as u64;
                if b == 0 {
                    scan.first_nul = Some(at);
                    return Ok(scan);
                }
                if scan.first_undefined_1252.is_none() {
                    scan.first_undefined_1252 = Some((at, b));
                }
            }
        }
        let data_len = carry + n;
        let mut next_carry = 0;
        if scan.first_invalid_utf8.is_none() {
            match std::str::from_utf8(&buf[..data_len]) {
                Ok(_) => {}
                Err(e) if e.error_len().is_none() => next_carry = data_len - e.valid_up_to(),
                Err(e) => scan.first_invalid_utf8 = Some(offset + e.valid_up_to() as u64),
            }
        }
        // Move the unfinished character (at most 3 bytes) to the front for the next chunk.
        buf.copy_within(data_len - next_carry..data_len, 0);
        offset += (data_len - next_carry) as u64;
        carry = next_carry;
    }
}

/// Detect the encoding from the byte-order mark, or by scanning the bytes, and whether the text
/// may hold empty lines (always, for UTF-16: its bytes are not the text's). Refuses binary data
/// (NUL bytes) and bytes that are neither UTF-8 nor Windows-1252, with one line saying so.
fn detect_encoding(path: &Path) -> Result<(TextEncoding, bool), ReadError> {
    let io_err = |e: io::Error| ReadError::new(path, format!("cannot read the file ({e})"));
    let mut file = File::open(path).map_err(io_err)?;
    let mut head = [0u8; 3];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]).map_err(io_err)? {
            0 => break,
            n => got += n,
        }
    }
    let head = &head[..got];
    if head.starts_with(&[0xFF, 0xFE]) {
        return Ok((TextEncoding::Utf16Le, true));
    }
    if head.starts_with(&[0xFE, 0xFF]) {
        return Ok((TextEncoding::Utf16Be, true));
    }
    let bom = head.starts_with(&[0xEF, 0xBB, 0xBF]);
    let skip = if bom { 3 } else { 0 };
    file.seek(SeekFrom::Start(skip)).map_err(io_err)?;
    let scan = scan_bytes(BufReader::new(file), skip).map_err(io_err)?;
    let encoding = classify(&scan, bom).map_err(|m| ReadError::new(path, m))?;
    Ok((encoding, scan.blank_lines))
}

/// Decide the encoding from a byte scan; the error is the message for the user.
pub(crate) fn classify(scan: &ByteScan, bom: bool) -> Result<TextEncoding, String> {
    if let Some(at) = scan.first_nul {
        return Err(format!(
            "contains NUL bytes (first at byte {at}): this looks like a binary file, or UTF-16 \
             text without a byte-order mark, not a CSV"
        ));
    }
    match (scan.first_invalid_utf8, bom) {
        (None, false) => Ok(TextEncoding::Utf8),
        (None, true) => Ok(TextEncoding::Utf8Bom),
        (Some(at), true) => Err(format!(
            "starts with a UTF-8 byte-order mark but holds bytes that are not UTF-8 (at byte \
             {at}); save it again as \"CSV UTF-8\""
        )),
        (Some(_), false) => match scan.first_undefined_1252 {
            Some((at, byte)) => Err(format!(
                "is neither UTF-8 nor Windows-1252 text (byte 0x{byte:02X} at byte {at}); save \
                 it again as \"CSV UTF-8\""
            )),
            None => Ok(TextEncoding::Windows1252),
        },
    }
}

/// A `Read` that turns bytes of some encoding into UTF-8, chunk by chunk, in constant memory.
/// It refuses NUL characters and malformed UTF-16, which would otherwise become silent damage.
pub(crate) struct DecodeReader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    eof: bool,
    finished: bool,
}

impl<R: Read> DecodeReader<R> {
    pub(crate) fn new(inner: R, encoding: &'static Encoding) -> Self {
        DecodeReader {
            inner,
            decoder: encoding.new_decoder_without_bom_handling(),
            input: vec![0; 16 * 1024],
            in_start: 0,
            in_end: 0,
            output: vec![0; 64 * 1024],
            out_start: 0,
            out_end: 0,
            eof: false,
            finished: false,
        }
    }
}

impl<R: Read> Read for DecodeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_start < self.out_end {
                let n = buf.len().min(self.out_end - self.out_start);
                buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.finished {
                return Ok(0);
            }
            if self.in_start == self.in_end && !self.eof {
                let n = self.inner.read(&mut self.input)?;
                self.in_start = 0;
                self.in_end = n;
                self.eof = n == 0;
            }
            let (result, read, written, had_errors) = self.decoder.decode_to_utf8(
                &self.input[self.in_start..self.in_end],
                &mut self.output,
                self.eof,
            );
            self.in_start += read;
            if had_errors {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "holds malformed UTF-16 text",
                ));
            }
            if self.output[..written].contains(&0) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "contains NUL characters: this looks like a binary file, not a CSV",
                ));
            }
            self.out_start = 0;
            self.out_end = written;
            if self.eof && result == encoding_rs::CoderResult::InputEmpty {
                self.finished = true;
            }
        }
    }
}

/// Open the file positioned after its BOM, decoding to UTF-8 when needed.
fn text_reader(path: &Path, enc: TextEncoding) -> io::Result<Box<dyn Read + Send>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(enc.bom_len()))?;
    let file = BufReader::with_capacity(CHUNK, file);
    Ok(match enc.decoder() {
        None => Box::new(file),
        Some(encoding) => Box::new(DecodeReader::new(file, encoding)),
    })
}

/// Pick the delimiter among `,` `;` tab `|` from the start of the text. For each candidate it
/// counts occurrences outside quotes on each of the first lines; the winner is the candidate
/// whose most common count (above zero) is shared by the most lines, then the one with the
/// higher count. A delimiter splits every row of a table the same number of times, where a comma
/// or a semicolon in text does not, and a title line above the header (with or without a stray
/// comma) is outvoted by the lines below it. Ties go to the earlier candidate; text with none of
/// them gives `,` (a one-column file).
pub fn sniff_delimiter(text: &[u8]) -> u8 {
    let lines = logical_lines(text);
    let mut best: Option<(usize, usize, u8)> = None; // (lines agreeing, their count, delimiter)
    for (k, &d) in CANDIDATES.iter().enumerate() {
        let mut counts: Vec<usize> = lines.iter().map(|c| c[k]).filter(|&n| n > 0).collect();
        counts.sort_unstable();
        // The most common count and how many lines have it (the higher count on a tie).
        let mut mode: Option<(usize, usize)> = None;
        for run in counts.chunk_by(|a, b| a == b) {
            let candidate = (run.len(), run[0]);
            if mode.is_none_or(|m| candidate >= m) {
                mode = Some(candidate);
            }
        }
        let Some((agreeing, count)) = mode else {
            continue;
        };
        if best.is_none_or(|(a, c, _)| (agreeing, count) > (a, c)) {
            best = Some((agreeing, count, d));
        }
    }
    best.map_or(b',', |(_, _, d)| d)
}

/// The counts of the first line holding any candidate delimiter.
fn first_delimited(lines: &[[usize; 4]]) -> Option<&[usize; 4]> {
    lines.iter().find(|counts| counts.iter().any(|&n| n > 0))
}

/// The delimiter of tab-delimited text (`.txt`, `.tab`, `.tsv`): tab when the header line holds
/// one, else whatever the sniffer finds (a `.txt` may well be a renamed CSV).
fn text_delimiter(text: &[u8]) -> u8 {
    match first_delimited(&logical_lines(text)) {
        Some(counts) if counts[2] > 0 => b'\t',
        _ => sniff_delimiter(text),
    }
}

/// Per logical line (quoted newlines do not end a line), the count of each candidate delimiter
/// outside quotes. Blank lines are skipped; a final line cut off by the sniff window still counts
/// when it is the only one (a single huge header line).
fn logical_lines(text: &[u8]) -> Vec<[usize; 4]> {
    let mut lines = Vec::new();
    let mut counts = [0usize; 4];
    let mut in_quotes = false;
    let mut non_blank = false;
    for &b in text {
        if b == b'"' {
            in_quotes = !in_quotes;
            non_blank = true;
            continue;
        }
        if in_quotes {
            continue;
        }
        if b == b'\n' || b == b'\r' {
            if non_blank {
                lines.push(counts);
                if lines.len() >= SNIFF_LINES {
                    return lines;
                }
            }
            counts = [0; 4];
            non_blank = false;
            continue;
        }
        if let Some(k) = CANDIDATES.iter().position(|&d| d == b) {
            counts[k] += 1;
        }
        if !b.is_ascii_whitespace() || b == b'\t' {
            non_blank = true;
        }
    }
    if non_blank && lines.is_empty() {
        lines.push(counts);
    }
    lines
}

/// Excel's delimiter hint: a first line that is exactly `sep=X` (X one of our candidates, or any
/// single ASCII punctuation), as Excel writes and reads it.
pub(crate) fn sep_hint(text: &[u8]) -> Option<u8> {
    let rest = text.strip_prefix(b"sep=")?;
    match rest {
        [d, b'\r' | b'\n', ..] | [d] if d.is_ascii_punctuation() || *d == b'\t' => Some(*d),
        _ => None,
    }
}

/// Undo the formula guard our own CSV writer applies: a value that starts with `'` followed by
/// `=` `+` `-` `@`, tab or carriage return loses that one `'`, so a results CSV reads back as
/// the values the user typed.
pub fn undo_formula_guard(field: &str) -> &str {
    match field.as_bytes() {
        [b'\'', b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r', ..] => &field[1..],
        _ => field,
    }
}

/// Whether text may hold an empty line (`\n\n`, `\n\r\n`, or a first line that is empty) or a
/// line ending in a bare CR, the two things that need `BlankLineKeeper` for Excel's row numbers.
/// Fed the raw bytes piece by piece (SIMD searches); a false "yes" (say, an empty line inside a
/// quoted field) only costs speed.
pub(crate) struct LineEnds {
    /// The last two bytes fed (fewer at the start), so no pattern is split between pieces.
    last: [u8; 2],
    last_len: usize,
    found: bool,
    lf_lf: memchr::memmem::Finder<'static>,
    lf_cr_lf: memchr::memmem::Finder<'static>,
}

impl LineEnds {
    pub(crate) fn new() -> LineEnds {
        LineEnds {
            // The start of the text counts as a line end, so an empty first line (text starting
            // `\n` or `\r\n`) is found like any other; the csv crate would skip it and number
            // every row one low.
            last: [b'\n', 0],
            last_len: 1,
            found: false,
            lf_lf: memchr::memmem::Finder::new(b"\n\n"),
            lf_cr_lf: memchr::memmem::Finder::new(b"\n\r\n"),
        }
    }

    pub(crate) fn feed(&mut self, piece: &[u8]) {
        if self.found || piece.is_empty() {
            return;
        }
        // Across the seam: the last bytes before, and the first of this piece.
        let head = &piece[..piece.len().min(2)];
        let mut seam = [0u8; 4];
        seam[..self.last_len].copy_from_slice(&self.last[..self.last_len]);
        seam[self.last_len..self.last_len + head.len()].copy_from_slice(head);
        let seam = &seam[..self.last_len + head.len()];
        let bare_cr_before = (0..self.last_len).any(|i| seam[i] == b'\r' && seam[i + 1] != b'\n');
        // A CR must be followed by LF; one at the very end is judged with the next piece.
        let bare_cr =
            memchr::memchr_iter(b'\r', &piece[..piece.len() - 1]).any(|i| piece[i + 1] != b'\n');
        self.found = bare_cr_before
            || bare_cr
            || self.lf_lf.find(seam).is_some()
            || self.lf_cr_lf.find(seam).is_some()
            || self.lf_lf.find(piece).is_some()
            || self.lf_cr_lf.find(piece).is_some();
        let both = &seam[seam.len().saturating_sub(2)..];
        let tail: &[u8] = if piece.len() >= 2 {
            &piece[piece.len() - 2..]
        } else {
            both
        };
        self.last[..tail.len()].copy_from_slice(tail);
        self.last_len = tail.len();
    }

    /// The answer, once every byte has been fed: a CR at the very end is a bare one.
    pub(crate) fn finish(&self) -> bool {
        self.found || self.last[..self.last_len].last() == Some(&b'\r')
    }
}

/// One CSV field as a cell: empty → `Empty`, anything else → `Text`, untrimmed.
pub(crate) fn field_cell(field: &str) -> Cell {
    if field.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(undo_formula_guard(field).to_string())
    }
}

// The keeper's states, mirroring csv-core's quoting rules: a quote opens a quoted field only at
// the start of a field, and `""` inside one is an escaped quote.
const START_RECORD: u8 = 0;
/// Just after a CR that ended a record: an LF here belongs to the same CRLF.
const AFTER_CR: u8 = 1;
const START_FIELD: u8 = 2;
const IN_FIELD: u8 = 3;
const IN_QUOTED: u8 = 4;
const QUOTE_IN_QUOTED: u8 = 5;

// Byte classes.
const OTHER: usize = 0;
const QUOTE: usize = 1;
const DELIM: usize = 2;
const CR: usize = 3;
const LF: usize = 4;

/// Bit set on a transition when a delimiter must be inserted before the byte (an empty line).
const INSERT: u8 = 0x80;

/// `TRANSITIONS[state][class]` = next state, with `INSERT` when the byte ends an empty line.
const TRANSITIONS: [[u8; 5]; 6] = [
    // OTHER      QUOTE            DELIM        CR                   LF
    [
        IN_FIELD,
        IN_QUOTED,
        START_FIELD,
        AFTER_CR | INSERT,
        START_RECORD | INSERT,
    ], // START_RECORD
    [
        IN_FIELD,
        IN_QUOTED,
        START_FIELD,
        AFTER_CR | INSERT,
        START_RECORD,
    ], // AFTER_CR
    [IN_FIELD, IN_QUOTED, START_FIELD, AFTER_CR, START_RECORD], // START_FIELD
    [IN_FIELD, IN_FIELD, START_FIELD, AFTER_CR, START_RECORD],  // IN_FIELD
    [IN_QUOTED, QUOTE_IN_QUOTED, IN_QUOTED, IN_QUOTED, IN_QUOTED], // IN_QUOTED
    [IN_FIELD, IN_QUOTED, START_FIELD, AFTER_CR, START_RECORD], // QUOTE_IN_QUOTED
];

/// `TRANSITIONS` laid out as `[state << 3 | class]` in 64 entries, so the hot loop indexes it
/// with a mask instead of bounds checks.
const FLAT_TRANSITIONS: [u8; 64] = flatten(TRANSITIONS);

const fn flatten(table: [[u8; 5]; 6]) -> [u8; 64] {
    let mut flat = [IN_FIELD; 64];
    let mut state = 0;
    while state < 6 {
        let mut class = 0;
        while class < 5 {
            flat[(state << 3) | class] = table[state][class];
            class += 1;
        }
        state += 1;
    }
    flat
}

/// A `Read` that turns each empty line (outside quotes) into a line holding one delimiter.
///
/// Why: the csv crate silently skips empty lines, but Excel shows them as rows, and a user looks
/// for "row 12" where Excel shows it. With empty lines kept as blank records, the row number is
/// simply the record's 1-based index: blank lines count, quoted newlines do not, and files ending
/// lines with a bare CR (old Mac) number correctly too. The blank records read back as rows of
/// empty cells, which the caller counts and skips. A table-driven state machine keeps this to a
/// lookup or two per byte.
pub(crate) struct BlankLineKeeper<R> {
    inner: R,
    delimiter: u8,
    classes: [u8; 256],
    state: u8,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    pending: Option<u8>,
}

impl<R: Read> BlankLineKeeper<R> {
    pub(crate) fn new(inner: R, delimiter: u8) -> Self {
        let mut classes = [OTHER as u8; 256];
        classes[usize::from(delimiter)] = DELIM as u8;
        classes[usize::from(b'"')] = QUOTE as u8;
        classes[usize::from(b'\r')] = CR as u8;
        classes[usize::from(b'\n')] = LF as u8;
        BlankLineKeeper {
            inner,
            delimiter,
            classes,
            state: START_RECORD,
            buf: vec![0; CHUNK],
            pos: 0,
            len: 0,
            pending: None,
        }
    }
}

impl<R: Read> BlankLineKeeper<R> {
    /// The state after `b`, and whether a delimiter goes before it.
    #[inline(always)]
    fn step(&self, state: u8, b: u8) -> (u8, bool) {
        let class = self.classes[usize::from(b)];
        let next = FLAT_TRANSITIONS[usize::from((state << 3) | class) & 63];
        (next & !INSERT, next & INSERT != 0)
    }
}

impl<R: Read> Read for BlankLineKeeper<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let mut w = 0;
        if let Some(p) = self.pending.take() {
            out[0] = p;
            w = 1;
        }
        if self.pos == self.len && w == 0 {
            self.len = self.inner.read(&mut self.buf)?;
            self.pos = 0;
            if self.len == 0 {
                return Ok(0);
            }
        }
        // Each input byte yields at most two output bytes, so taking half the room needs no
        // per-byte bounds juggling; unchanged runs are copied in bulk.
        let n = ((out.len() - w) / 2).min(self.len - self.pos);
        if n == 0 {
            if w > 0 {
                return Ok(w);
            }
            // Room for a single byte only.
            let b = self.buf[self.pos];
            self.pos += 1;
            let (state, insert) = self.step(self.state, b);
            self.state = state;
            if insert {
                out[0] = self.delimiter;
                self.pending = Some(b);
            } else {
                out[0] = b;
            }
            return Ok(1);
        }
        let input = &self.buf[self.pos..self.pos + n];
        let mut state = self.state;
        let mut run = 0;
        for (i, &b) in input.iter().enumerate() {
            let (next, insert) = self.step(state, b);
            state = next;
            if insert {
                out[w..w + i - run].copy_from_slice(&input[run..i]);
                w += i - run;
                out[w] = self.delimiter;
                w += 1;
                run = i;
            }
        }
        out[w..w + n - run].copy_from_slice(&input[run..]);
        w += n - run;
        self.state = state;
        self.pos += n;
        Ok(w)
    }
}

/// Streams records, numbering them as Excel numbers rows (see `BlankLineKeeper`).
struct Records {
    path: std::path::PathBuf,
    reader: ::csv::Reader<Box<dyn Read + Send>>,
    record: ::csv::StringRecord,
    /// Row number of the last record read.
    last_row: usize,
    done: bool,
}

impl Records {
    /// The next record and its row number, or None at the end.
    fn next_record(&mut self) -> Option<Result<usize, ReadError>> {
        if self.done {
            return None;
        }
        match self.reader.read_record(&mut self.record) {
            Ok(true) => {
                self.last_row += 1;
                Some(Ok(self.last_row))
            }
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(self.error(e)))
            }
        }
    }

    fn error(&self, e: ::csv::Error) -> ReadError {
        let row = self.last_row + 1;
        let message = match e.kind() {
            ::csv::ErrorKind::Io(io) => io.to_string(),
            ::csv::ErrorKind::Utf8 { .. } => "holds text that is not valid UTF-8".to_string(),
            _ => e.to_string(),
        };
        ReadError::new(&self.path, format!("near row {row}: {message}"))
    }
}

/// The row iterator handed to the caller.
struct CsvRows {
    records: Records,
    width: usize,
    /// Records read while looking for the header that come after it: handed on first.
    pending: VecDeque<(usize, Vec<String>)>,
}

impl Iterator for CsvRows {
    type Item = Result<RawRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        super::Rows::next_reusing(self, &mut Vec::new())
    }
}

impl super::Rows for CsvRows {
    /// Text cells of a spare row keep their memory: a field is copied into the string that held
    /// the same column of an earlier row, so a steady stream of rows allocates almost nothing.
    fn next_reusing(&mut self, spare: &mut Vec<Vec<Cell>>) -> Option<Self::Item> {
        if let Some((row, fields)) = self.pending.pop_front() {
            let mut cells: Vec<Cell> = fields.iter().map(|f| field_cell(f)).collect();
            cells.resize(self.width, Cell::Empty);
            return Some(Ok(RawRow {
                source_row: row,
                cells,
            }));
        }
        let row = match self.records.next_record()? {
            Ok(row) => row,
            Err(e) => return Some(Err(e)),
        };
        let mut cells = spare.pop().unwrap_or_default();
        // Fields beyond the header's width are dropped: no column name can carry them to a
        // field, and the row is still read. Short rows are padded with empty cells.
        cells.resize(self.width, Cell::Empty);
        let mut fields = self.records.record.iter();
        for cell in &mut cells {
            match fields.next() {
                Some(field) => fill_cell(cell, field),
                None => *cell = Cell::Empty,
            }
        }
        Some(Ok(RawRow {
            source_row: row,
            cells,
        }))
    }
}

/// `field_cell(field)`, written into `cell`, reusing its string when it holds one.
fn fill_cell(cell: &mut Cell, field: &str) {
    match cell {
        Cell::Text(s) if !field.is_empty() => {
            s.clear();
            s.push_str(undo_formula_guard(field));
        }
        _ => *cell = field_cell(field),
    }
}

/// Open a CSV or tab-delimited text file: detect the encoding, sniff the delimiter (`tabbed`:
/// prefer tab, as in Excel's "Text" files), find the header, and return the rows after it as a
/// stream.
pub(crate) fn open(path: &Path, opts: &ReadOptions, tabbed: bool) -> Result<Table, ReadError> {
    let io_err = |e: io::Error| ReadError::new(path, format!("cannot read the file ({e})"));
    let (encoding, blank_lines) = detect_encoding(path)?;

    let mut head = Vec::with_capacity(SNIFF_BYTES);
    text_reader(path, encoding)
        .map_err(io_err)?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| ReadError::new(path, e.to_string()))?;
    let sep_line = sep_hint(&head);
    let delimiter = opts.delimiter.or(sep_line).unwrap_or_else(|| {
        if tabbed {
            text_delimiter(&head)
        } else {
            sniff_delimiter(&head)
        }
    });

    let text = text_reader(path, encoding).map_err(io_err)?;
    // The keeper costs a table lookup per byte; a file with no empty line and no bare CR (most
    // exports) has nothing for it to keep, and its records are its rows as they are.
    let source: Box<dyn Read + Send> = if blank_lines {
        Box::new(BlankLineKeeper::new(text, delimiter))
    } else {
        text
    };
    let reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(source);
    let mut records = Records {
        path: path.to_path_buf(),
        reader,
        record: ::csv::StringRecord::new(),
        last_row: 0,
        done: false,
    };

    if sep_line.is_some() {
        // Excel reads and hides a first line `sep=;`: skip it and number rows as Excel shows
        // them, so the header is row 1.
        if let Some(Err(e)) = records.next_record() {
            return Err(e);
        }
        records.last_row = 0;
    }
    let found = match opts.header_row {
        Some(n) => header_at(path, &mut records, n)?,
        None => search_header(path, &mut records, opts)?,
    };
    let raw_headers: Vec<String> = found
        .fields
        .iter()
        .map(|f| undo_formula_guard(f).to_string())
        .collect();
    let headers = header_names(&raw_headers, 0);
    let header_row = found.row;
    if let Some(long) = headers.iter().find(|h| h.len() > 1024) {
        return Err(ReadError::new(
            path,
            format!(
                "the header on row {header_row} holds a {}-byte cell {}; is this really a header? \
                 Use --header-row or --delimiter",
                long.len(),
                quote_short(long)
            ),
        ));
    }

    let info = InputInfo {
        format: if tabbed { "text" } else { "csv" }.to_string(),
        encoding: Some(encoding.label().to_string()),
        encoding_fallback: encoding == TextEncoding::Windows1252,
        delimiter: Some(delimiter as char),
        sheet: None,
        header_below: found.below,
        ..InputInfo::default()
    };
    let width = headers.len();
    Ok(Table {
        info,
        headers,
        header_row,
        rows: Box::new(CsvRows {
            records,
            width,
            pending: found.after,
        }),
        facts: Facts::default(),
    })
}

/// The header record as found, and what was read past it.
struct Found {
    row: usize,
    fields: Vec<String>,
    /// The first non-empty row, when the header is below it.
    below: Option<usize>,
    /// Records read after the header while looking for it, with their row numbers.
    after: VecDeque<(usize, Vec<String>)>,
}

fn fields_of(record: &::csv::StringRecord) -> Vec<String> {
    record.iter().map(str::to_string).collect()
}

/// The header on row `n` (`--header-row`).
fn header_at(path: &Path, records: &mut Records, n: usize) -> Result<Found, ReadError> {
    let blank = || {
        ReadError::new(
            path,
            format!("row {n} is blank, so it cannot be the header (--header-row {n})"),
        )
    };
    loop {
        let Some(next) = records.next_record() else {
            let message = if records.last_row > 0 {
                format!(
                    "no header on row {n}: the file has only {} rows",
                    records.last_row
                )
            } else {
                "no header row found: the file holds no text".to_string()
            };
            return Err(ReadError::new(path, message));
        };
        let row = next?;
        let is_blank = records.record.iter().all(|f| f.trim().is_empty());
        if row < n {
            continue;
        }
        if row > n || is_blank {
            return Err(blank());
        }
        return Ok(Found {
            row,
            fields: fields_of(&records.record),
            below: None,
            after: VecDeque::new(),
        });
    }
}

/// The header among the first `SEARCH_ROWS` rows (`header::choose`), or the first non-empty row
/// after them when they are all blank. The records read past it are kept for the rows.
fn search_header(
    path: &Path,
    records: &mut Records,
    opts: &ReadOptions,
) -> Result<Found, ReadError> {
    let mut read: Vec<(usize, Vec<String>)> = Vec::new();
    // Indices into `read` of the non-blank records.
    let mut candidates: Vec<usize> = Vec::new();
    while let Some(next) = records.next_record() {
        let row = next?;
        let is_blank = records.record.iter().all(|f| f.trim().is_empty());
        if !is_blank {
            candidates.push(read.len());
        }
        read.push((row, fields_of(&records.record)));
        if row >= SEARCH_ROWS && !candidates.is_empty() {
            break;
        }
    }
    // A record past the search rows is kept for the rows, never taken as the header, unless
    // it is the only one holding text.
    let in_reach: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| read[i].0 <= SEARCH_ROWS)
        .collect();
    let pool = if in_reach.is_empty() {
        &candidates
    } else {
        &in_reach
    };
    let Some(&first) = pool.first() else {
        return Err(ReadError::new(
            path,
            "no header row found: the file holds no text",
        ));
    };
    let texts: Vec<Vec<String>> = pool.iter().map(|&i| read[i].1.clone()).collect();
    let chosen = pool[header::choose(&texts, opts.header_matcher.as_ref())];
    let mut after: VecDeque<(usize, Vec<String>)> = read.drain(chosen..).collect();
    let (row, fields) = after.pop_front().unwrap_or_default();
    Ok(Found {
        row,
        fields,
        below: (chosen != first).then(|| read[first].0),
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_delimiters() {
        let cases: &[(&str, u8)] = &[
            ("a,b,c\n1,2,3\n", b','),
            ("a;b;c\n1;2;3\n", b';'),
            ("a\tb\tc\n1\t2\t3\n", b'\t'),
            ("a|b|c\n1|2|3\n", b'|'),
            // Commas inside the values, semicolons between them (European Excel).
            ("name;amount\nPeña;1,5\nMüller;2,25\n", b';'),
            // Quoted commas do not count, even across a quoted newline.
            ("a;b\n\"x,y,z\";1\n\"p,\nq\";2\n", b';'),
            ("case_number\n1\n2\n", b','),
            ("", b','),
            ("\n\n\n", b','),
            // Consistency beats raw count: the header has 2 commas, one line has 5 pipes.
            ("a,b,c\n1,2,3\nx|y|z|w|v|u,1,2\n", b','),
            // A tie goes to the comma.
            ("a,b;c\n1,2;3\n", b','),
            // Header only, single huge line with no newline.
            ("a\tb\tc", b'\t'),
            ("\u{feff}x;y\n", b';'),
            // A title line above the header is outvoted, with or without a stray comma.
            (
                "Open matters, March\n\ncase_number;status;type\n1;active;civil\n",
                b';',
            ),
            ("Report\nid|name\n1|a\n", b'|'),
            // Excel pads a title row with delimiters: they agree with the rows below.
            ("Title;;\na;b;c\n1;2;3\n", b';'),
            // Unquoted commas in free text vary from line to line; the delimiter does not.
            ("id;desc\n1;a, b, c\n2;d, e\n3;f\n", b';'),
        ];
        for (text, want) in cases {
            assert_eq!(
                sniff_delimiter(text.as_bytes()) as char,
                *want as char,
                "{text:?}"
            );
        }
    }

    #[test]
    fn tab_text_prefers_tab_when_the_header_line_has_one() {
        let cases: &[(&str, u8)] = &[
            ("a\tb\n1\t2\n", b'\t'),
            // Commas in every value, a tab between them: still tab.
            ("Last, First\tCase\nPeña, José\t1\nRoe, Jo\t2\n", b'\t'),
            // A renamed CSV.
            ("a,b\n1,2\n", b','),
            // A title line with no delimiter first: the header line is the first with one.
            ("Title\na\tb\n", b'\t'),
        ];
        for (text, want) in cases {
            assert_eq!(
                text_delimiter(text.as_bytes()) as char,
                *want as char,
                "{text:?}"
            );
        }
    }

    #[test]
    fn reads_excel_sep_hint() {
        let cases: &[(&[u8], Option<u8>)] = &[
            (b"sep=;\r\na;b\r\n", Some(b';')),
            (b"sep=|\na|b", Some(b'|')),
            (b"sep=\t\n", Some(b'\t')),
            (b"sep=,", Some(b',')),
            (b"sep=;;\n", None),
            (b"sep=x\n", None),
            (b"sep=\n", None),
            (b"SEP=;\n", None),
            (b"a,sep=;\n", None),
            (b"", None),
        ];
        for (text, want) in cases {
            assert_eq!(sep_hint(text), *want, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn undoes_only_our_guard() {
        let cases = [
            ("'=SUM(A1)", "=SUM(A1)"),
            ("'+1", "+1"),
            ("'-5", "-5"),
            ("'@x", "@x"),
            ("'\tx", "\tx"),
            ("'\rx", "\rx"),
            ("'hello", "'hello"),
            ("'", "'"),
            ("''=x", "''=x"),
            ("=x", "=x"),
            ("", ""),
            ("O'Brien", "O'Brien"),
        ];
        for (input, want) in cases {
            assert_eq!(undo_formula_guard(input), want, "{input:?}");
        }
    }

    #[test]
    fn blank_line_detection() {
        let dir = tempfile::tempdir().unwrap();
        let cases: &[(&[u8], bool)] = &[
            (b"a,b\n1,2\n", false),
            (b"a,b\r\n1,2\r\n", false),
            (b"a,b\n\n1,2\n", true),
            (b"a,b\r\n\r\n1,2\r\n", true),
            (b"a,b\r1,2\r", true),
            (b"a,b\n1,2\r", true),
            (b"a,b\n\"x\ny\",2\n", false),
            (b"", false),
            // An empty first line (found by the csv_decode fuzz target).
            (b"\na,b\n", true),
            (b"\r\na,b\r\n", true),
            (b"\n", true),
        ];
        for (i, (bytes, want)) in cases.iter().enumerate() {
            let p = dir.path().join(format!("{i}.csv"));
            std::fs::write(&p, bytes).unwrap();
            let got = detect_encoding(&p).unwrap().1;
            assert_eq!(got, *want, "{:?}", String::from_utf8_lossy(bytes));
            // Fed a byte at a time, every pattern straddles a seam.
            let trickled = scan_bytes(Trickle(bytes), 0).unwrap().blank_lines;
            assert_eq!(
                trickled,
                *want,
                "{:?} trickled",
                String::from_utf8_lossy(bytes)
            );
        }
        // a pattern split across the chunk boundary is still seen
        for piece in [&b"\n\nz\n"[..], b"\n\r\nz", b"\ry\n", b"x\r"] {
            for shift in 0..4 {
                let mut big = vec![b'x'; CHUNK - shift];
                big.extend_from_slice(piece);
                let p = dir.path().join("big.csv");
                std::fs::write(&p, &big).unwrap();
                assert!(detect_encoding(&p).unwrap().1, "{piece:?} at {shift}");
            }
        }
        // UTF-16 always says yes: its bytes are not the text's.
        let p = dir.path().join("u16.csv");
        std::fs::write(&p, [0xFF, 0xFE, b'a', 0, b'\n', 0]).unwrap();
        assert_eq!(detect_encoding(&p).unwrap(), (TextEncoding::Utf16Le, true));
    }

    #[test]
    fn reused_rows_read_exactly_as_fresh_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        let text = "a,b,c\nx,,=\"z\"\n,yy,\n1,2\n1,2,3,4\n\"q,\"\"q\",'+,t\n";
        std::fs::write(&path, text).unwrap();
        let fresh: Vec<RawRow> = open(&path, &ReadOptions::default(), false)
            .unwrap()
            .rows
            .map(Result::unwrap)
            .collect();
        // Spare rows of every shape: longer, shorter, text where the field is empty, a number
        // where it is text.
        let spares = [
            vec![],
            vec![Cell::Text("old long text".into()); 6],
            vec![Cell::Empty],
            vec![Cell::Int(7), Cell::Text("p".into()), Cell::Text("q".into())],
        ];
        for spare in spares {
            let mut rows = open(&path, &ReadOptions::default(), false).unwrap().rows;
            let mut got = Vec::new();
            loop {
                let mut pool = vec![spare.clone()];
                match rows.next_reusing(&mut pool) {
                    Some(r) => got.push(r.unwrap()),
                    None => break,
                }
            }
            assert_eq!(got, fresh, "spare {spare:?}");
        }
    }

    #[test]
    fn field_cells() {
        assert_eq!(field_cell(""), Cell::Empty);
        assert_eq!(field_cell(" "), Cell::Text(" ".into()));
        assert_eq!(field_cell("007"), Cell::Text("007".into()));
        assert_eq!(field_cell("'=1"), Cell::Text("=1".into()));
    }

    fn scan(bytes: &[u8]) -> ByteScan {
        scan_bytes(bytes, 0).unwrap()
    }

    #[test]
    fn classifies_encodings() {
        let cases: &[(&[u8], bool, Result<TextEncoding, &str>)] = &[
            (b"a,b\n", false, Ok(TextEncoding::Utf8)),
            ("Müller".as_bytes(), false, Ok(TextEncoding::Utf8)),
            (b"a,b\n", true, Ok(TextEncoding::Utf8Bom)),
            (b"M\xfcller;Pe\xf1a", false, Ok(TextEncoding::Windows1252)),
            (b"\x80 euro", false, Ok(TextEncoding::Windows1252)),
            (b"M\xfcller", true, Err("byte-order mark")),
            (b"a\x00b", false, Err("NUL bytes (first at byte 1)")),
            (b"\xff\x81", false, Err("byte 0x81 at byte 1")),
            // 0x81 inside valid UTF-8 is fine (it is a continuation byte of 'ā').
            ("ā".as_bytes(), false, Ok(TextEncoding::Utf8)),
            // A cut-off character at the very end is not UTF-8.
            (b"ab\xc3", false, Ok(TextEncoding::Windows1252)),
        ];
        for (bytes, bom, want) in cases {
            let got = classify(&scan(bytes), *bom);
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, *w, "{bytes:?}"),
                (Err(g), Err(w)) => assert!(g.contains(w), "{bytes:?}: {g}"),
                (g, w) => panic!("{bytes:?}: got {g:?}, want {w:?}"),
            }
        }
    }

    /// A reader that hands out one byte at a time, to put chunk boundaries everywhere.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.is_empty()) {
                (Some((b, rest)), false) => {
                    buf[0] = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn scan_handles_characters_split_across_reads() {
        let text = "Françoise,Peña,Müller,東京,😀\n".repeat(3);
        let got = scan_bytes(Trickle(text.as_bytes()), 0).unwrap();
        assert_eq!((got.first_nul, got.first_invalid_utf8), (None, None));
        // And across the real chunk size.
        let mut big = "a".repeat(CHUNK - 1).into_bytes();
        big.extend_from_slice("é😀é".as_bytes());
        assert_eq!(scan(&big), ByteScan::default());
        assert_eq!(classify(&got, false), Ok(TextEncoding::Utf8));
        let mut bad = "a".repeat(CHUNK - 1).into_bytes();
        bad.extend_from_slice(b"\xc3(");
        assert_eq!(scan(&bad).first_invalid_utf8, Some(CHUNK as u64 - 1));
    }

    #[test]
    fn decodes_streams() {
        let utf16: Vec<u8> = "a\tMüller\n1\t😀\n"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let mut out = String::new();
        DecodeReader::new(Trickle(&utf16), UTF_16LE)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "a\tMüller\n1\t😀\n");

        let mut out = String::new();
        DecodeReader::new(&b"M\xfcller;\x80"[..], WINDOWS_1252)
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "Müller;€");

        // Unpaired surrogate and NUL are refused.
        let mut out = String::new();
        assert!(
            DecodeReader::new(&[0x00u8, 0xD8, 0x41, 0x00][..], UTF_16LE)
                .read_to_string(&mut out)
                .is_err()
        );
        assert!(
            DecodeReader::new(&[0x41u8, 0x00, 0x00, 0x00][..], UTF_16LE)
                .read_to_string(&mut out)
                .is_err()
        );
    }

    fn keep(input: &str, delimiter: u8) -> String {
        let mut out = String::new();
        BlankLineKeeper::new(Trickle(input.as_bytes()), delimiter)
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn keeps_blank_lines() {
        let cases = [
            ("a\n\nb\n", ",", "a\n,\nb\n"),
            ("\n\na\n", ",", ",\n,\na\n"),
            ("a\r\n\r\nb\r\n", ";", "a\r\n;\r\nb\r\n"),
            ("a\r\rb", ",", "a\r,\rb"),
            // Quoted newlines are data, not lines.
            ("\"x\n\ny\"\n\nb", ",", "\"x\n\ny\"\n,\nb"),
            // An escaped quote keeps the field quoted.
            ("\"a\"\"\n\n\"\n\nb", ",", "\"a\"\"\n\n\"\n,\nb"),
            // A quote in the middle of a field is literal, as csv reads it.
            ("=F(\"x)\n\nb", ",", "=F(\"x)\n,\nb"),
            ("a,\"b\"c\n\n", ",", "a,\"b\"c\n,\n"),
            ("", ",", ""),
            ("abc", "\t", "abc"),
        ];
        for (input, d, want) in cases {
            assert_eq!(keep(input, d.as_bytes()[0]), want, "{input:?}");
        }
        // With a real csv reader the row numbers follow Excel's.
        let mut rdr = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(BlankLineKeeper::new(&b"h\n\n\"x\ny\"\r\n\r\nz"[..], b','));
        let got: Vec<String> = rdr
            .records()
            .map(|r| r.unwrap().iter().collect::<Vec<_>>().join("|"))
            .collect();
        assert_eq!(got, ["h", "|", "x\ny", "|", "z"]);
    }

    proptest::proptest! {
        #[test]
        fn sniffer_and_scan_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let d = sniff_delimiter(&bytes);
            proptest::prop_assert!(CANDIDATES.contains(&d));
            let s = scan_bytes(&bytes[..], 0).unwrap();
            let _ = classify(&s, false);
            let mut out = Vec::new();
            let _ = DecodeReader::new(&bytes[..], UTF_16BE).read_to_end(&mut out);
            let _ = DecodeReader::new(&bytes[..], WINDOWS_1252).read_to_end(&mut out);
            let mut kept = Vec::new();
            BlankLineKeeper::new(&bytes[..], d).read_to_end(&mut kept).unwrap();
            let mut rdr = ::csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(d)
                .from_reader(BlankLineKeeper::new(&bytes[..], d));
            for record in rdr.byte_records() {
                let _ = record;
            }
        }

        #[test]
        fn scan_agrees_with_std(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let s = scan_bytes(Trickle(&bytes), 0).unwrap();
            if !bytes.contains(&0) {
                proptest::prop_assert_eq!(
                    s.first_invalid_utf8.is_none(),
                    std::str::from_utf8(&bytes).is_ok()
                );
            }
        }
    }
}
