//! Entry points for the fuzz targets under `fuzz/`; not an API.
//!
//! The CSV reader's pieces and a few cell parsers are crate-private, and the fuzz targets are a
//! separate crate, so these thin wrappers hand them out unchanged (the types they return are
//! mirrored where the real ones are private). Nothing in the tool calls this module, and it may
//! change with any commit.

use std::io::{self, Read};

use serde_json::{Map, Value};

use crate::cell::Cell;
use crate::check::rules::ObjectError;
use crate::map::MappingFile;
use crate::read::csv::{self, TextEncoding};

pub use crate::read::{sniff_delimiter, undo_formula_guard};

/// The decoders the CSV reader runs before parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoding {
    Utf16Le,
    Utf16Be,
    Windows1252,
}

/// What the byte scan found and what the reader decided from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    pub first_nul: Option<u64>,
    pub first_invalid_utf8: Option<u64>,
    pub first_undefined_1252: Option<(u64, u8)>,
    /// `Ok(None)`: UTF-8, read as it is; `Ok(Some(_))`: the decoder; `Err`: the user's message.
    pub decision: Result<Option<Decoding>, String>,
}

/// The reader's encoding scan over the bytes after the BOM (`bom` says whether a UTF-8 one was
/// there), then its decision.
pub fn scan_and_classify(reader: impl Read, bom: bool) -> io::Result<Scan> {
    let scan = csv::scan_bytes(reader, 0)?;
    let decision = csv::classify(&scan, bom).map(|enc| match enc {
        TextEncoding::Utf8 | TextEncoding::Utf8Bom => None,
        TextEncoding::Utf16Le => Some(Decoding::Utf16Le),
        TextEncoding::Utf16Be => Some(Decoding::Utf16Be),
        TextEncoding::Windows1252 => Some(Decoding::Windows1252),
    });
    Ok(Scan {
        first_nul: scan.first_nul,
        first_invalid_utf8: scan.first_invalid_utf8,
        first_undefined_1252: scan.first_undefined_1252,
        decision,
    })
}

/// The reader's streaming decoder to UTF-8.
pub fn decode_reader<R: Read>(inner: R, decoding: Decoding) -> impl Read {
    let encoding = match decoding {
        Decoding::Utf16Le => encoding_rs::UTF_16LE,
        Decoding::Utf16Be => encoding_rs::UTF_16BE,
        Decoding::Windows1252 => encoding_rs::WINDOWS_1252,
    };
    csv::DecodeReader::new(inner, encoding)
}

/// The reader's filter that turns empty lines into one-delimiter lines.
pub fn blank_line_keeper<R: Read>(inner: R, delimiter: u8) -> impl Read {
    csv::BlankLineKeeper::new(inner, delimiter)
}

/// Excel's `sep=X` first line, as the reader reads it.
pub fn sep_hint(text: &[u8]) -> Option<u8> {
    csv::sep_hint(text)
}

/// One CSV field as the reader turns it into a cell.
pub fn field_cell(field: &str) -> Cell {
    csv::field_cell(field)
}

/// An external_source_data cell as the checker reads it.
pub fn parse_object(cell: &Cell) -> Result<Map<String, Value>, ObjectError> {
    crate::check::rules::parse_object(cell)
}

/// Mapping-file text as `--mapping` reads it; the error reads ` line N: message`.
pub fn parse_mapping_file(text: &str) -> Result<MappingFile, String> {
    MappingFile::parse(text)
}
