//! What calamine does not tell about an XLSX sheet: which columns (`<col hidden="1">`) and rows
//! (`<row hidden="1">`) are hidden, and whether the sheet has a filter (`<autoFilter>`), which is
//! how a firm's export usually comes to hide rows. The sheet's XML is read a second time, through
//! a zip handle of our own, on a thread of its own that runs beside calamine's: the columns are
//! known before the first row, and the rows' state is handed over in row order as the scan
//! passes them, so the sheet is never held in memory.
//!
//! The scan only looks at tags: a byte search for `row`, `col` and `autoFilter` tag names, then
//! their attributes. It never parses cells, which is what makes it cheap beside calamine's
//! parse of the same XML.

use std::fs::File;
use std::io::{BufReader, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use memchr::memmem;

/// Bytes of XML taken from the inflater at a time.
const CHUNK: usize = 64 * 1024;

/// Progress messages that may wait before the scan pauses: the scan runs ahead of the reader by
/// at most this many chunks.
const AHEAD: usize = 64;

/// What the scanning thread sends: the hidden columns once, then progress, then the end.
#[derive(Debug, PartialEq)]
enum Msg {
    /// 0-based sheet columns hidden, sent when `<sheetData>` starts.
    Columns(Vec<u32>),
    /// Every row up to `through` (1-based) is known; `hidden` lists the hidden ones since the
    /// last message.
    Rows {
        through: u32,
        hidden: Vec<u32>,
    },
    /// The sheet's XML has ended; `filtered` says whether it has a filter.
    End {
        filtered: bool,
    },
    Failed(String),
}

/// The hidden rows of a sheet, known as the scan passes them. Rows are asked in increasing order.
pub(super) struct HiddenRows {
    rx: Option<Receiver<Msg>>,
    through: u32,
    hidden: std::collections::VecDeque<u32>,
    /// Set once the scan has ended: whether the sheet has a filter.
    pub filtered: Option<bool>,
    /// Why the scan stopped early, once it has.
    pub failed: Option<String>,
}

impl HiddenRows {
    /// No information: every row reads as shown.
    pub(super) fn none() -> HiddenRows {
        HiddenRows {
            rx: None,
            through: u32::MAX,
            hidden: Default::default(),
            filtered: Some(false),
            failed: None,
        }
    }

    /// Whether 1-based sheet row `row` is hidden; waits for the scan to pass it.
    pub(super) fn is_hidden(&mut self, row: u32) -> bool {
        while self.through < row {
            let Some(rx) = &self.rx else { break };
            match rx.recv() {
                Ok(Msg::Rows { through, hidden }) => {
                    self.through = through;
                    self.hidden.extend(hidden);
                }
                Ok(Msg::End { filtered }) => {
                    self.filtered = Some(filtered);
                    self.finish();
                }
                Ok(Msg::Failed(m)) => {
                    self.failed = Some(m);
                    self.finish();
                }
                Ok(Msg::Columns(_)) | Err(_) => {
                    self.failed = Some("the scan stopped unexpectedly".to_string());
                    self.finish();
                }
            }
        }
        while self.hidden.front().is_some_and(|&h| h < row) {
            self.hidden.pop_front();
        }
        self.hidden.front() == Some(&row)
    }

    /// Wait for the end of the scan (after the last row) to learn whether the sheet is filtered.
    pub(super) fn wait_end(&mut self) {
        self.is_hidden(u32::MAX);
    }

    fn finish(&mut self) {
        self.rx = None;
        self.through = u32::MAX;
    }
}

/// Start scanning `sheet` of the XLSX at `path`: returns its hidden columns (0-based) and the
/// hidden rows as they come. An error means nothing could be learnt (the caller says so).
pub(super) fn start(path: &Path, sheet: &str) -> Result<(Vec<u32>, HiddenRows), String> {
    let (tx, rx) = sync_channel(AHEAD);
    let path: PathBuf = path.to_path_buf();
    let sheet = sheet.to_string();
    std::thread::Builder::new()
        .name("xlsx-hidden".to_string())
        .spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| scan_file(&path, &sheet, &tx)));
            let last = match outcome {
                Ok(Ok(())) => return,
                Ok(Err(m)) => m,
                Err(_) => "the file is damaged".to_string(),
            };
            let _ = tx.send(Msg::Failed(last));
        })
        .map_err(|e| format!("cannot start a thread ({e})"))?;
    let columns = match rx.recv() {
        Ok(Msg::Columns(c)) => c,
        Ok(Msg::Failed(m)) => return Err(m),
        Ok(_) | Err(_) => return Err("the scan stopped unexpectedly".to_string()),
    };
    let rows = HiddenRows {
        rx: Some(rx),
        through: 0,
        hidden: Default::default(),
        filtered: None,
        failed: None,
    };
    Ok((columns, rows))
}

/// Open the archive, find the sheet's part, and scan it. `Err` when that fails before the end.
fn scan_file(path: &Path, sheet: &str, tx: &SyncSender<Msg>) -> Result<(), String> {
    let file = File::open(path).map_err(|e| format!("cannot read the file ({e})"))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| format!("the file is damaged ({e})"))?;
    let part = sheet_part(&mut zip, sheet)?;
    let part = part_name(&zip, &part)?;
    let entry = zip
        .by_name(&part)
        .map_err(|e| format!("the file is damaged ({e})"))?;
    scan(entry, tx)
}

/// The path inside the archive of the sheet named `sheet`: `workbook.xml` names it with a
/// relationship id, which the workbook's relationships resolve to a part.
fn sheet_part<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    sheet: &str,
) -> Result<String, String> {
    let workbook = office_document(zip).unwrap_or_else(|| "xl/workbook.xml".to_string());
    let text = read_part(zip, &workbook)?;
    let id = tags(text.as_bytes(), b"sheet")
        .find(|attrs| attr(attrs, b"name").is_some_and(|n| unescape(n) == sheet))
        .and_then(|attrs| attr(&attrs, b"id").map(unescape))
        .ok_or_else(|| format!("sheet '{sheet}' is not in the workbook's list"))?;
    let (dir, name) = workbook.rsplit_once('/').unwrap_or(("", &workbook));
    let rels = read_part(zip, &format!("{dir}/_rels/{name}.rels"))?;
    let target = tags(rels.as_bytes(), b"Relationship")
        .find(|attrs| attr(attrs, b"Id").is_some_and(|i| unescape(i) == id))
        .and_then(|attrs| attr(&attrs, b"Target").map(unescape))
        .ok_or_else(|| format!("sheet '{sheet}' has no part in the workbook"))?;
    Ok(resolve(dir, &target))
}

/// The workbook part named by the package's relationships (`_rels/.rels`), when it says.
fn office_document<R: Read + std::io::Seek>(zip: &mut zip::ZipArchive<R>) -> Option<String> {
    let rels = read_part(zip, "_rels/.rels").ok()?;
    tags(rels.as_bytes(), b"Relationship")
        .find(|a| attr(a, b"Type").is_some_and(|t| t.ends_with(b"/officeDocument")))
        .and_then(|a| attr(&a, b"Target").map(unescape))
        .map(|t| resolve("", &t))
}

/// A relationship target made a path inside the archive: absolute (`/xl/worksheets/a.xml`) or
/// relative to the folder of the part that names it, with `..` steps.
fn resolve(dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        dir.split('/').filter(|p| !p.is_empty()).collect()
    };
    for p in target.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The archive's own spelling of a part's name: Excel finds parts ignoring case.
fn part_name<R: Read + std::io::Seek>(
    zip: &zip::ZipArchive<R>,
    name: &str,
) -> Result<String, String> {
    zip.file_names()
        .filter_map(Result::ok)
        .find(|n| n.eq_ignore_ascii_case(name))
        .map(|n| n.into_owned())
        .ok_or_else(|| format!("the file has no part {name}"))
}

/// A small part's text.
fn read_part<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<String, String> {
    let found = part_name(zip, name)?;
    let mut text = String::new();
    zip.by_name(&found)
        .map_err(|e| format!("the file is damaged ({e})"))?
        .take(16 * 1024 * 1024)
        .read_to_string(&mut text)
        .map_err(|e| format!("the file is damaged ({e})"))?;
    Ok(text)
}

/// Scan a sheet's XML as it inflates: the hidden columns (sent at `<sheetData>`), then the hidden
/// rows in order, then whether there is a filter.
fn scan(mut xml: impl Read, tx: &SyncSender<Msg>) -> Result<(), String> {
    let gone = || Ok(()); // nobody wants the answers any more
    let mut scanner = Scanner::default();
    let mut buf: Vec<u8> = Vec::with_capacity(2 * CHUNK);
    let mut eof = false;
    while !eof {
        let start = buf.len();
        buf.resize(start + CHUNK, 0);
        let n = loop {
            match xml.read(&mut buf[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("the file is damaged ({e})")),
            }
        };
        buf.truncate(start + n);
        eof = n == 0;
        // Whole tags only: up to the last `>` read, unless the XML has ended.
        let end = if eof {
            buf.len()
        } else {
            match memchr::memrchr(b'>', &buf) {
                Some(i) => i + 1,
                None => continue,
            }
        };
        for msg in scanner.feed(&buf[..end]) {
            if tx.send(msg).is_err() {
                return gone();
            }
        }
        buf.drain(..end);
    }
    for msg in scanner.end() {
        if tx.send(msg).is_err() {
            return gone();
        }
    }
    Ok(())
}

/// The scan's state across chunks of XML, each ending at a tag's end.
#[derive(Debug, Default)]
struct Scanner {
    /// `<sheetData>` was seen: the columns are sent and rows follow.
    in_data: bool,
    columns: Vec<u32>,
    /// The last row seen (1-based), for rows without an `r` attribute.
    last_row: u32,
    filtered: bool,
}

impl Scanner {
    /// The messages a chunk of whole tags gives.
    fn feed(&mut self, xml: &[u8]) -> Vec<Msg> {
        let mut out = Vec::new();
        let mut hidden = Vec::new();
        let rows_before = self.last_row;
        for (name, at) in tag_starts(xml) {
            let attrs = || attributes(&xml[at..]);
            match name {
                b"col" if !self.in_data => {
                    let attrs = attrs();
                    if is_true(attr(&attrs, b"hidden")) {
                        let num = |k: &[u8]| attr(&attrs, k).and_then(number);
                        if let (Some(min), Some(max)) = (num(b"min"), num(b"max")) {
                            // Excel's grid has 16,384 columns; a larger range is damage.
                            let max = max.min(16_384);
                            self.columns.extend((min.max(1)..=max).map(|c| c - 1));
                        }
                    }
                }
                b"sheetData" if !self.in_data => {
                    self.in_data = true;
                    out.push(Msg::Columns(std::mem::take(&mut self.columns)));
                }
                b"row" => {
                    let attrs = attrs();
                    let row = attr(&attrs, b"r")
                        .and_then(number)
                        .unwrap_or(self.last_row.saturating_add(1));
                    self.last_row = row;
                    if is_true(attr(&attrs, b"hidden")) {
                        hidden.push(row);
                    }
                }
                b"autoFilter" => self.filtered = true,
                _ => {}
            }
        }
        if self.last_row != rows_before || !hidden.is_empty() {
            out.push(Msg::Rows {
                through: self.last_row,
                hidden,
            });
        }
        out
    }

    fn end(&mut self) -> Vec<Msg> {
        let mut out = Vec::new();
        if !self.in_data {
            out.push(Msg::Columns(std::mem::take(&mut self.columns)));
        }
        out.push(Msg::End {
            filtered: self.filtered,
        });
        out
    }
}

/// The start tags of interest in `xml` (`row`, `col`, `sheetData`, `autoFilter`, with or
/// without a namespace prefix), each with the offset just past its name. End tags, and the same
/// words in text, are passed over.
fn tag_starts(xml: &[u8]) -> impl Iterator<Item = (&'static [u8], usize)> + '_ {
    const NAMES: [&[u8]; 4] = [b"row", b"col", b"sheetData", b"autoFilter"];
    let mut hits: Vec<(&'static [u8], usize)> = Vec::new();
    for name in NAMES {
        for i in memmem::find_iter(xml, name) {
            let after = i + name.len();
            let ends_name = xml
                .get(after)
                .is_some_and(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/');
            if ends_name && opens_tag(xml, i) {
                hits.push((name, after));
            }
        }
    }
    hits.sort_by_key(|h| h.1);
    hits.into_iter()
}

/// Whether the name at `at` is a start tag's: right after `<`, or after `<prefix:`.
fn opens_tag(xml: &[u8], at: usize) -> bool {
    match at.checked_sub(1).map(|i| xml[i]) {
        Some(b'<') => true,
        Some(b':') => {
            let mut i = at - 1;
            while i > 0 && is_name_byte(xml[i - 1]) {
                i -= 1;
            }
            i > 0 && i < at - 1 && xml[i - 1] == b'<'
        }
        _ => false,
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// The attributes of a tag, from just past its name to its `>`: (local name, raw value).
fn attributes(tag: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < tag.len() && tag[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= tag.len() || tag[i] == b'>' || tag[i] == b'/' {
            return out;
        }
        let name_start = i;
        while i < tag.len() && tag[i] != b'=' && !tag[i].is_ascii_whitespace() && tag[i] != b'>' {
            i += 1;
        }
        let name = &tag[name_start..i];
        while i < tag.len() && tag[i].is_ascii_whitespace() {
            i += 1;
        }
        if tag.get(i) != Some(&b'=') {
            return out;
        }
        i += 1;
        while i < tag.len() && tag[i].is_ascii_whitespace() {
            i += 1;
        }
        let Some(&quote) = tag.get(i).filter(|q| **q == b'"' || **q == b'\'') else {
            return out;
        };
        let value_start = i + 1;
        let Some(len) = memchr::memchr(quote, &tag[value_start..]) else {
            return out;
        };
        let local = name.rsplit(|b| *b == b':').next().unwrap_or(name);
        out.push((local, &tag[value_start..value_start + len]));
        i = value_start + len + 1;
    }
}

/// The start tags named `name` in a small XML part, as attribute lists.
fn tags<'a>(xml: &'a [u8], name: &'static [u8]) -> impl Iterator<Item = Vec<(&'a [u8], &'a [u8])>> {
    memmem::find_iter(xml, name)
        .filter(move |&i| {
            opens_tag(xml, i)
                && xml
                    .get(i + name.len())
                    .is_some_and(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
        })
        .map(move |i| attributes(&xml[i + name.len()..]))
        .collect::<Vec<_>>()
        .into_iter()
}

fn attr<'a>(attrs: &[(&[u8], &'a [u8])], name: &[u8]) -> Option<&'a [u8]> {
    attrs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

fn is_true(value: Option<&[u8]>) -> bool {
    matches!(value, Some(b"1" | b"true"))
}

fn number(value: &[u8]) -> Option<u32> {
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

/// An attribute value with XML's escapes undone (`&amp;`, `&lt;`, `&#233;`...).
fn unescape(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    if !text.contains('&') {
        return text.into_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = &text[..];
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(end) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..end];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e => e
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| e.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=end]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message a whole sheet XML gives, fed in chunks cut at every `>` as `scan` does.
    fn messages(xml: &str, chunk: usize) -> Vec<Msg> {
        struct Slow<'a>(&'a [u8], usize);
        impl Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let (tx, rx) = sync_channel(10_000);
        scan(Slow(xml.as_bytes(), chunk), &tx).unwrap();
        drop(tx);
        rx.iter().collect()
    }

    /// (hidden columns, hidden rows, filtered) from the messages.
    fn digest(msgs: &[Msg]) -> (Vec<u32>, Vec<u32>, bool) {
        let mut cols = None;
        let mut rows = Vec::new();
        let mut filtered = None;
        let mut through = 0;
        for m in msgs {
            match m {
                Msg::Columns(c) => {
                    assert!(cols.is_none(), "columns sent twice");
                    cols = Some(c.clone());
                }
                Msg::Rows { through: t, hidden } => {
                    assert!(cols.is_some(), "rows before columns");
                    assert!(*t >= through, "progress goes forward");
                    through = *t;
                    rows.extend(hidden);
                }
                Msg::End { filtered: f } => filtered = Some(*f),
                Msg::Failed(m) => panic!("failed: {m}"),
            }
        }
        (cols.unwrap(), rows, filtered.expect("an end"))
    }

    const NS: &str = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main""#;

    #[test]
    fn finds_hidden_rows_columns_and_filters() {
        type Case = (&'static str, String, (Vec<u32>, Vec<u32>, bool));
        let cases: Vec<Case> = vec![
            (
                "Excel: a hidden column, rows hidden by a filter",
                format!(
                    r#"<?xml version="1.0"?><worksheet {NS}><dimension ref="A1:D9"/><cols><col min="1" max="2" width="12" customWidth="1"/><col min="3" max="3" width="0" hidden="1" customWidth="1"/></cols><sheetData><row r="1" spans="1:4"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2"><v>1</v></c></row><row r="3" hidden="1"><c r="A3"><v>2</v></c></row><row r="7" hidden="1" ht="15"/><row r="9"><c r="A9" t="inlineStr"><is><t>row &lt;row hidden="1"&gt; in text</t></is></c></row></sheetData><autoFilter ref="A1:D9"><filterColumn colId="3"><filters><filter val="open"/></filters></filterColumn></autoFilter></worksheet>"#
                ),
                (vec![2], vec![3, 7], true),
            ),
            (
                "a range of hidden columns and hidden=\"true\"",
                format!(
                    r#"<worksheet {NS}><cols><col min="4" max="6" hidden="true"/><col min="8" max="8" hidden="0"/></cols><sheetData><row r="2" hidden="true"/><row r="3" hidden="0"/></sheetData></worksheet>"#
                ),
                (vec![3, 4, 5], vec![2], false),
            ),
            (
                "namespace prefixes (the .NET Open XML SDK writes x:)",
                r#"<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:cols><x:col min="2" max="2" hidden="1"/></x:cols><x:sheetData><x:row r="5" x:hidden="1"><x:c r="A5"/></x:row></x:sheetData></x:worksheet>"#.to_string(),
                (vec![1], vec![5], false),
            ),
            (
                "rows without r count on from the last",
                format!(
                    r#"<worksheet {NS}><sheetData><row><c/></row><row hidden="1"><c/></row><row r="10"/><row hidden="1"/></sheetData></worksheet>"#
                ),
                (vec![], vec![2, 11], false),
            ),
            (
                "no sheetData at all",
                format!("<worksheet {NS}/>"),
                (vec![], vec![], false),
            ),
            (
                "tags that only start like ours are not ours",
                format!(
                    r#"<worksheet {NS}><colBreaks><brk id="1"/></colBreaks><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData><rowBreaks count="1"/></worksheet>"#
                ),
                (vec![], vec![], false),
            ),
        ];
        for (what, xml, want) in cases {
            for chunk in [1, 7, 64, 1 << 20] {
                assert_eq!(
                    digest(&messages(&xml, chunk)),
                    want,
                    "{what} (reads of {chunk})"
                );
            }
        }
    }

    #[test]
    fn hidden_rows_are_answered_in_order_as_the_scan_passes() {
        let (tx, rx) = sync_channel(16);
        tx.send(Msg::Rows {
            through: 4,
            hidden: vec![2, 4],
        })
        .unwrap();
        tx.send(Msg::Rows {
            through: 9,
            hidden: vec![9],
        })
        .unwrap();
        tx.send(Msg::End { filtered: true }).unwrap();
        let mut rows = HiddenRows {
            rx: Some(rx),
            through: 0,
            hidden: Default::default(),
            filtered: None,
            failed: None,
        };
        let got: Vec<u32> = (1..=12).filter(|&r| rows.is_hidden(r)).collect();
        assert_eq!(got, [2, 4, 9]);
        assert_eq!(rows.filtered, Some(true));
        // A scan that dies says so, and no row reads as hidden after it.
        let (tx, rx) = sync_channel(4);
        tx.send(Msg::Failed("the file is damaged".into())).unwrap();
        let mut rows = HiddenRows {
            rx: Some(rx),
            through: 0,
            hidden: Default::default(),
            filtered: None,
            failed: None,
        };
        assert!(!rows.is_hidden(1));
        assert_eq!(rows.failed.as_deref(), Some("the file is damaged"));
        let mut none = HiddenRows::none();
        assert!(!none.is_hidden(3));
        none.wait_end();
        assert_eq!(none.filtered, Some(false));
    }

    #[test]
    fn attribute_and_path_helpers() {
        let attrs = attributes(br#" r="3" spans = '1:4' x14ac:dyDescent="0.25" hidden="1"/>"#);
        assert_eq!(
            attrs,
            [
                (&b"r"[..], &b"3"[..]),
                (b"spans", b"1:4"),
                (b"dyDescent", b"0.25"),
                (b"hidden", b"1")
            ]
        );
        assert_eq!(attributes(b" broken"), Vec::<(&[u8], &[u8])>::new());
        assert_eq!(
            attributes(b" a=\"unterminated"),
            Vec::<(&[u8], &[u8])>::new()
        );
        for (v, want) in [
            ("Smith &amp; Co", "Smith & Co"),
            ("&lt;b&gt; &quot;q&quot; &apos;", "<b> \"q\" '"),
            ("caf&#233; &#x4E1C;", "café 东"),
            ("a & b", "a & b"),
            ("&bogus; &", "&bogus; &"),
        ] {
            assert_eq!(unescape(v.as_bytes()), want, "{v}");
        }
        for (dir, target, want) in [
            ("xl", "worksheets/sheet1.xml", "xl/worksheets/sheet1.xml"),
            (
                "xl",
                "/xl/worksheets/sheet2.xml",
                "xl/worksheets/sheet2.xml",
            ),
            ("xl", "../xl/./worksheets/s.xml", "xl/worksheets/s.xml"),
            ("", "xl/workbook.xml", "xl/workbook.xml"),
        ] {
            assert_eq!(resolve(dir, target), want);
        }
        assert!(opens_tag(b"<x:row", 3));
        assert!(!opens_tag(b"<:row", 2));
        assert!(!opens_tag(b"a:row", 2));
        assert!(!opens_tag(b"row", 0));
    }
}
