//! A quick answer to "could a cell of this file read as one of these words?", without parsing
//! the file: a CSV's bytes, or every part of an XLSX archive as it inflates, are searched for the
//! words standing alone (no ASCII letter, digit or `_` either side, and in XML not a tag's name). `false` is certain; `true`
//! means "perhaps: read the file properly".
//!
//! The overwrite guard asks this first. A results file that records no ids (a validation's, the
//! usual target of the next validation) then costs one byte search instead of a full read:
//! measured on the bench's 1,000,000-row CSV and 200,000-row XLSX results, about 1 s and 2.5 s
//! of a re-validation's time went to reading the old results before this.
//!
//! What can hide a word from the search, and so always answers `true`: a UTF-16 CSV, any workbook
//! format but XLSX and XLSM, rich text (a cell's text split in runs), and XML character
//! references that spell an ASCII letter. Any failure to read also answers `true`.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::Path;

use memchr::memmem::Finder;

use super::Format;

/// Bytes searched at a time.
const CHUNK: usize = 256 * 1024;

/// Whether some cell of the file at `path` may read as one of `words` (compared after trimming,
/// case-sensitively, as `Outcome::parse` does). `false` only when none can.
pub fn may_hold_any(path: &Path, words: &[&str]) -> bool {
    let found = match Format::from_path(path) {
        Some(Format::Csv | Format::Text) => text_may_hold(path, words),
        Some(Format::Xlsx | Format::Xlsm) => xlsx_may_hold(path, words),
        _ => return true,
    };
    found.unwrap_or(true)
}

fn text_may_hold(path: &Path, words: &[&str]) -> io::Result<bool> {
    let mut file = File::open(path)?;
    let mut head = [0u8; 2];
    let got = file.read(&mut head)?;
    // UTF-16 spells each letter in two bytes: the search would not see the words.
    if got == 2 && matches!(head, [0xFF, 0xFE] | [0xFE, 0xFF]) {
        return Ok(true);
    }
    file.seek(io::SeekFrom::Start(0))?;
    Search::new(words, false).run(file)
}

fn xlsx_may_hold(path: &Path, words: &[&str]) -> io::Result<bool> {
    let mut zip =
        zip::ZipArchive::new(io::BufReader::new(File::open(path)?)).map_err(io::Error::other)?;
    let search = Search::new(words, true);
    for i in 0..zip.len() {
        let part = zip.by_index(i).map_err(io::Error::other)?;
        if search.run(part)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The words, and for XML what else could hide them.
struct Search<'w> {
    words: Vec<Finder<'w>>,
    /// Rich text runs (`<r>`, `<x:r>`) and character references (`&#`): only searched in XML.
    hiders: Vec<Finder<'static>>,
    /// Bytes kept from one chunk to the next, so no word, run tag or reference is split.
    keep: usize,
    xml: bool,
}

impl<'w> Search<'w> {
    fn new(words: &'w [&str], xml: bool) -> Search<'w> {
        let hiders = if xml {
            [&b"<r>"[..], b"<r ", b":r>", b":r ", b"&#"]
                .into_iter()
                .map(Finder::new)
                .collect()
        } else {
            Vec::new()
        };
        let longest = words.iter().map(|w| w.len()).max().unwrap_or(0);
        Search {
            words: words.iter().map(|w| Finder::new(w.as_bytes())).collect(),
            hiders,
            // A word and the byte either side; a character reference up to `&#x10FFFF;`.
            keep: (longest + 2).max(12),
            xml,
        }
    }

    /// Whether `text`, read to its end, shows a word standing alone or something that could
    /// hide one.
    fn run(&self, mut text: impl Read) -> io::Result<bool> {
        let mut buf = vec![0u8; CHUNK + self.keep];
        let mut kept = 0usize;
        loop {
            let n = match text.read(&mut buf[kept..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let end = n == 0;
            let data = &buf[..kept + n];
            if self.shows(data, end) {
                return Ok(true);
            }
            if end {
                return Ok(false);
            }
            let tail = data.len().min(self.keep);
            let from = data.len() - tail;
            buf.copy_within(from..from + tail, 0);
            kept = tail;
        }
    }

    /// Whether `data` shows a word standing alone, or something that could hide one. What runs
    /// to the end of `data` is left for the next chunk (which starts with it) unless `end`.
    fn shows(&self, data: &[u8], end: bool) -> bool {
        for f in &self.words {
            for at in f.find_iter(data) {
                let after = data.get(at + f.needle().len()).copied();
                if after.is_none() && !end {
                    continue;
                }
                let before = at.checked_sub(1).map(|i| data[i]);
                // In XML a name after `<`, `</` or a prefix's `:` is a tag's (`dcterms:created`),
                // and a cell's text cannot be the word with one of these before it.
                let tag = self.xml && matches!(before, Some(b'<' | b'/' | b':'));
                if !is_word_byte(before) && !is_word_byte(after) && !tag {
                    return true;
                }
            }
        }
        for f in &self.hiders {
            for at in f.find_iter(data) {
                if f.needle() != b"&#" {
                    return true;
                }
                match char_ref(&data[at + 2..]) {
                    Ref::Letter => return true,
                    // Kept for the next chunk, unless longer than what is kept (leading zeros).
                    Ref::Cut if !end && at + self.keep < data.len() => return true,
                    Ref::Cut | Ref::Other => {}
                }
            }
        }
        false
    }
}

fn is_word_byte(b: Option<u8>) -> bool {
    b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// What a character reference (the text after `&#`) stands for, as far as the search cares.
#[derive(Debug, PartialEq)]
enum Ref {
    /// An ASCII letter, digit or `_`: it could be part of a word.
    Letter,
    /// Anything else, or not a reference at all.
    Other,
    /// The text ends before the reference does (it is judged again in the next chunk).
    Cut,
}

fn char_ref(rest: &[u8]) -> Ref {
    let (hex, digits) = match rest.first() {
        Some(b'x' | b'X') => (true, &rest[1..]),
        Some(_) => (false, rest),
        None => return Ref::Cut,
    };
    let len = digits
        .iter()
        .take_while(|b| {
            if hex {
                b.is_ascii_hexdigit()
            } else {
                b.is_ascii_digit()
            }
        })
        .count();
    if len == digits.len() {
        return Ref::Cut;
    }
    let text = std::str::from_utf8(&digits[..len]).unwrap_or("");
    let code = u32::from_str_radix(text, if hex { 16 } else { 10 }).ok();
    match code.and_then(|c| u8::try_from(c).ok()) {
        Some(b) if is_word_byte(Some(b)) => Ref::Letter,
        _ => Ref::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const WORDS: &[&str] = &["created", "updated", "sent", "unknown"];

    #[test]
    fn text_shows_a_word_only_standing_alone() {
        // (bytes, may hold)
        let table: &[(&[u8], bool)] = &[
            (b"source_row,kayse_result\n2,valid\n3,invalid\n", false),
            (b"source_row,kayse_result\n2,created\n", true),
            (b"created", true),
            (b"a;sent;b", true),
            (b"a\tunknown\r\n", true),
            (b"a,\"updated\",b", true),
            (b"a, sent ,b", true),
            (b"consent,present,sentence,recreated,unknowns", false),
            (b"sent_by,Created,UPDATED", false),
            (b"9sent,sent9", false),
            (b"", false),
        ];
        for (text, want) in table {
            let got = Search::new(WORDS, false).run(&text[..]).unwrap();
            assert_eq!(got, *want, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn xml_shows_what_could_hide_a_word() {
        let table: &[(&[u8], bool)] = &[
            (b"<c t=\"inlineStr\"><is><t>valid</t></is></c>", false),
            (b"<si><t>created</t></si>", true),
            (b"<x:t>sent</x:t>", true),
            (b"<t xml:space=\"preserve\"> unknown </t>", true),
            (b"<![CDATA[updated]]>", true),
            (b"<si><r><t>cre</t></r><r><t>ated</t></r></si>", true),
            (b"<x:si><x:r><x:t>cre</x:t></x:r></x:si>", true),
            (b"<row r=\"1\"><c r=\"A1\"/></row>", false),
            (
                b"<dcterms:created xsi:type=\"x\">2026</dcterms:created>",
                false,
            ),
            (b"<created/><t>a/sent</t>", false),
            (b"<t>line&#10;break</t>", false),
            (b"<t>&#99;reated</t>", true),
            (b"<t>&#x63;reated</t>", true),
            (b"<t>&#xE9;t&#233;</t>", false),
            (b"<t>&amp;&lt;</t>", false),
        ];
        for (text, want) in table {
            let got = Search::new(WORDS, true).run(&text[..]).unwrap();
            assert_eq!(got, *want, "{:?}", String::from_utf8_lossy(text));
        }
    }

    /// Words, run tags and references that straddle two chunks are still seen, and a word's
    /// neighbour in the next chunk still counts.
    #[test]
    fn chunk_edges_split_nothing() {
        let cases: &[(&[u8], bool, bool)] = &[
            (b",created,", false, true),
            (b",createdX", false, false),
            (b"Xcreated,", false, false),
            (b"<r>", true, true),
            (b"&#99;", true, true),
            (b"&#233;", true, false),
            (b"&#00000000000000000099;", true, true),
        ];
        for &(piece, xml, want) in cases {
            for shift in 0..piece.len() + 2 {
                let mut text = vec![b'.'; CHUNK - shift];
                text.extend_from_slice(piece);
                text.extend_from_slice(b"...");
                let got = Search::new(WORDS, xml).run(&text[..]).unwrap();
                assert_eq!(got, want, "{:?} at {shift}", String::from_utf8_lossy(piece));
            }
        }
    }

    #[test]
    fn files_are_searched_by_their_kind() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("a,valid\n".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        // (file, may hold)
        let table = [
            (write("v.csv", b"a,valid\n"), false),
            (write("c.csv", b"a,created\n"), true),
            (write("v.tsv", b"a\tvalid\n"), false),
            (write("u.csv", &utf16), true),
            (write("o.ods", b"anything"), true),
            (write("x.xls", b"anything"), true),
            (write("bad.xlsx", b"not a zip"), true),
            (dir.path().join("absent.csv"), true),
        ];
        for (path, want) in &table {
            assert_eq!(may_hold_any(path, WORDS), *want, "{}", path.display());
        }
    }

    #[test]
    fn workbooks_are_searched_part_by_part() {
        let dir = tempfile::tempdir().unwrap();
        let book = |name: &str, cells: &[&str]| {
            let p = dir.path().join(name);
            let mut wb = rust_xlsxwriter::Workbook::new();
            let ws = wb.add_worksheet();
            for (i, c) in cells.iter().enumerate() {
                ws.write_string(i as u32, 0, *c).unwrap();
            }
            wb.save(&p).unwrap();
            p
        };
        let valid = book("v.xlsx", &["kayse_result", "valid", "invalid"]);
        let created = book("c.xlsx", &["kayse_result", "valid", "created"]);
        assert!(!may_hold_any(&valid, WORDS));
        assert!(may_hold_any(&created, WORDS));
        // A zip with the word in a part of its own.
        let p = dir.path().join("z.xlsm");
        let mut z = zip::ZipWriter::new(File::create(&p).unwrap());
        z.start_file(
            "xl/sharedStrings.xml",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        z.write_all(b"<sst><si><t>sent</t></si></sst>").unwrap();
        z.finish().unwrap();
        assert!(may_hold_any(&p, WORDS));
    }

    #[test]
    fn char_refs_are_read() {
        let table: &[(&[u8], Ref)] = &[
            (b"99;", Ref::Letter),
            (b"x63;", Ref::Letter),
            (b"X5F;", Ref::Letter),
            (b"10;", Ref::Other),
            (b"233;", Ref::Other),
            (b"99999999999;", Ref::Other),
            (b";", Ref::Other),
            (b"99", Ref::Cut),
            (b"", Ref::Cut),
        ];
        for (text, want) in table {
            assert_eq!(char_ref(text), *want, "{:?}", String::from_utf8_lossy(text));
        }
    }
}
