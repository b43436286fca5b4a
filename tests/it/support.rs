//! Helpers for the integration tests: the binary, samples and fixtures, results read back cell by
//! cell, and a sandbox process on a loopback port with its admin routes for the server's truth.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use calamine::{Data, Reader, open_workbook_auto};
use serde_json::{Value, json};

pub const KEY: &str = "test-key-Lf27q";

pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("kayse-bulk")
}

/// A sandbox process, killed on drop.
pub struct Sandbox {
    child: Child,
    pub url: String,
}

impl Sandbox {
    pub fn start(extra: &[&str]) -> Sandbox {
        let mut child = Command::new(bin())
            .args([
                "--quiet",
                "sandbox",
                "--listen",
                "127.0.0.1:0",
                "--api-key",
                KEY,
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the sandbox");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("first line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_string();
        Sandbox { child, url }
    }

    pub fn http(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let c = reqwest::Client::new();
            let url = format!("{}{}", self.url, path);
            let req = match method {
                "GET" => c.get(url),
                _ => c.post(url).json(&body.unwrap_or(json!({}))),
            };
            req.send()
                .await
                .expect("admin request")
                .json::<Value>()
                .await
                .unwrap_or(Value::Null)
        })
    }

    /// A call to the public API as any other client of Kayse makes it (the key in `X-API-KEY`):
    /// someone changing a case in Kayse between two runs. Returns the status and the answer.
    pub fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let c = reqwest::Client::new();
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut req = c
                .request(method, format!("{}{}", self.url, path))
                .header("X-API-KEY", KEY);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let r = req.send().await.expect("API request");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        })
    }

    pub fn state(&self) -> Value {
        self.http("GET", "/sandbox/state", None)
    }

    pub fn stats(&self) -> Value {
        self.http("GET", "/sandbox/stats", None)
    }

    pub fn route_count(&self, route: &str) -> u64 {
        self.stats()["by_route"][route].as_u64().unwrap_or(0)
    }

    /// Seed cases; returns their ids.
    pub fn seed(&self, cases: Vec<Value>) -> Vec<u64> {
        let v = self.http("POST", "/sandbox/seed", Some(json!({ "cases": cases })));
        v["ids"]
            .as_array()
            .unwrap_or_else(|| panic!("seed failed: {v}"))
            .iter()
            .map(|i| i.as_u64().unwrap())
            .collect()
    }

    /// Seed cases given as one JSON array; returns their ids.
    pub fn seed_json(&self, cases: Value) -> Vec<u64> {
        self.seed(cases.as_array().cloned().unwrap_or_default())
    }

    /// The server's records of an entity (`cases`, `clients`), by id.
    pub fn records(&self, entity: &str) -> std::collections::BTreeMap<u64, Value> {
        self.state()[entity]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r["id"].as_u64().unwrap_or(0), r))
            .collect()
    }

    pub fn bulk_requests(&self) -> u64 {
        self.route_count("POST /v1/cases/bulk")
    }

    /// case_number → every id the server holds for it.
    pub fn cases(&self) -> std::collections::BTreeMap<String, Vec<u64>> {
        let mut out: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
        for c in self.state()["cases"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let n = c["case_number"].as_str().unwrap_or("").to_string();
            out.entry(n)
                .or_default()
                .push(c["id"].as_u64().unwrap_or(0));
        }
        out
    }

    /// The server's record of one case, or null.
    pub fn case(&self, id: u64) -> Value {
        self.state()["cases"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .find(|c| c["id"].as_u64() == Some(id))
            .unwrap_or(Value::Null)
    }

    pub fn config(&self, body: Value) {
        self.http("POST", "/sandbox/config", Some(body));
    }

    pub fn messages(&self) -> Vec<Value> {
        self.state()["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The tool, pointed at this sandbox, in `dir`.
    pub fn cmd(&self, dir: &Path) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(dir)
            .env("KAYSE_API_KEY", KEY)
            .env("KAYSE_BASE_URL", &self.url)
            .env("KAYSE_BULK_RETRY_BASE_MS", "5")
            // Each test folder has its own ledger, never the user's.
            .env("KAYSE_LEDGER", dir.join("kayse.ledger.sqlite"))
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, dir: &Path, args: &[&str]) -> Output {
        self.cmd(dir).args(args).output().expect("run kayse-bulk")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A case as the sandbox seeds it.
pub fn case(n: usize) -> Value {
    json!({
        "case_number": format!("LC-{n:04}"),
        "external_source": "other",
        "external_source_id": format!("ext-{n}"),
        "status": "active",
        "type": "civil",
    })
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn show(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The tool as an `assert_cmd` command, with no key or base URL from the environment.
pub fn cli() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(bin());
    c.env_remove("KAYSE_API_KEY")
        .env_remove("KAYSE_BASE_URL")
        .env_remove("KAYSE_LEDGER");
    c
}

pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Every row of a sheet as calamine cells, for tests that check a cell's type.
pub fn sheet_rows(path: &Path, name: Option<&str>) -> Vec<Vec<Data>> {
    let mut wb = open_workbook_auto(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = match name {
        Some(s) => s.to_string(),
        None => wb.sheet_names()[0].clone(),
    };
    let range = wb
        .worksheet_range(&name)
        .unwrap_or_else(|e| panic!("sheet {name}: {e}"));
    range.rows().map(|r| r.to_vec()).collect()
}

/// Every row of a sheet as text cells.
pub fn sheet(path: &Path, name: Option<&str>) -> Vec<Vec<String>> {
    sheet_rows(path, name)
        .iter()
        .map(|r| r.iter().map(text).collect())
        .collect()
}

pub fn text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => dt
            .as_datetime()
            .map(|d| d.date().format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        other => other.to_string(),
    }
}

/// A CSV file as rows of strings (BOM stripped).
pub fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Column index of a header in the first row of calamine cells.
pub fn data_col(rows: &[Vec<Data>], header: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| text(h) == header)
        .unwrap_or_else(|| panic!("no column {header}"))
}

/// Column index of a header in the first row.
pub fn col(rows: &[Vec<String>], header: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| h == header)
        .unwrap_or_else(|| panic!("no column {header} in {:?}", rows[0]))
}

/// The `kayse_result` column of a results sheet, data rows only.
pub fn results_column(rows: &[Vec<String>], header: &str) -> Vec<String> {
    let c = col(rows, header);
    rows[1..].iter().map(|r| r[c].clone()).collect()
}

/// A minimal XLSX workbook, zipped in memory: one sheet `Cases` whose `<sheetData>` holds
/// `rows` (raw XML), the shared strings `shared`, and three cell formats: `s="1"` is a date
/// (built-in format 14), `s="2"` a date-time (format 22), `s="3"` a plain fill. For reader tests
/// that need XML no writer library produces: rows or cells without addresses, broken XML, rows
/// out of order.
pub fn xlsx_with_sheet(rows: &str, shared: &[&str]) -> Vec<u8> {
    xlsx_with_sheet_xml(&sheet_xml(rows), shared)
}

const NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// The whole XML of a worksheet whose `<sheetData>` holds `rows`.
pub fn sheet_xml(rows: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet xmlns=\"{NS}\" xmlns:r=\"{REL}\">\
         <sheetData>{rows}</sheetData></worksheet>"
    )
}

/// `xlsx_with_sheet` with the worksheet's XML given whole (it may be broken on purpose).
pub fn xlsx_with_sheet_xml(sheet: &str, shared: &[&str]) -> Vec<u8> {
    use std::io::Write;
    let (ns, rel) = (NS, REL);
    let strings: String = shared
        .iter()
        .map(|s| format!("<si><t xml:space=\"preserve\">{s}</t></si>"))
        .collect();
    let parts: [(&str, String); 7] = [
        (
            "[Content_Types].xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
             <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
             <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
             <Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
             <Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>\
             <Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>\
             <Override PartName=\"/xl/sharedStrings.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml\"/>\
             </Types>"
                .to_string(),
        ),
        (
            "_rels/.rels",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
                 <Relationship Id=\"rId1\" Type=\"{rel}/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>"
            ),
        ),
        (
            "xl/workbook.xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><workbook xmlns=\"{ns}\" xmlns:r=\"{rel}\">\
                 <sheets><sheet name=\"Cases\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"
            ),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
                 <Relationship Id=\"rId1\" Type=\"{rel}/worksheet\" Target=\"worksheets/sheet1.xml\"/>\
                 <Relationship Id=\"rId2\" Type=\"{rel}/styles\" Target=\"styles.xml\"/>\
                 <Relationship Id=\"rId3\" Type=\"{rel}/sharedStrings\" Target=\"sharedStrings.xml\"/></Relationships>"
            ),
        ),
        (
            "xl/styles.xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><styleSheet xmlns=\"{ns}\">\
                 <fonts count=\"1\"><font><sz val=\"11\"/></font></fonts>\
                 <fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill><fill><patternFill patternType=\"gray125\"/></fill></fills>\
                 <borders count=\"1\"><border/></borders>\
                 <cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>\
                 <cellXfs count=\"4\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>\
                 <xf numFmtId=\"14\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>\
                 <xf numFmtId=\"22\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>\
                 <xf numFmtId=\"0\" fontId=\"0\" fillId=\"1\" borderId=\"0\" xfId=\"0\" applyFill=\"1\"/></cellXfs>\
                 </styleSheet>"
            ),
        ),
        (
            "xl/sharedStrings.xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><sst xmlns=\"{ns}\" count=\"{n}\" uniqueCount=\"{n}\">{strings}</sst>",
                n = shared.len()
            ),
        ),
        ("xl/worksheets/sheet1.xml", sheet.to_string()),
    ];
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in parts {
        z.start_file::<_, ()>(name, Default::default()).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    }
    z.finish().unwrap().into_inner()
}

/// Send a signal to a process (the kill and Ctrl-C tests). The one place the tests use `unsafe`.
#[allow(unsafe_code)]
pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// Holds tokio's paused clock still while real loopback I/O is in flight. A paused clock jumps to
/// the next pending timer whenever the runtime finds nothing to run, and an answer that has not
/// reached its socket yet (a busy machine delays it) counts as nothing to run, so a client's own
/// timers (its idle pool's expiry, a request timeout) could move time mid-request. Tokio does not
/// auto-advance while a blocking task runs: this keeps one blocked until it is dropped, and time
/// moves only by `tokio::time::advance`. Create it inside `#[tokio::test(start_paused = true)]`.
pub struct HeldClock(Option<std::sync::mpsc::Sender<()>>);

impl HeldClock {
    pub fn new() -> HeldClock {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        tokio::task::spawn_blocking(move || {
            let _ = wait.recv();
        });
        HeldClock(Some(release))
    }
}

impl Drop for HeldClock {
    /// Ends the blocking task, which the runtime would otherwise wait for when it shuts down.
    fn drop(&mut self) {
        self.0.take();
    }
}

/// One cell of a hand-made XLSB sheet.
#[derive(Debug, Clone)]
pub enum XlsbCell {
    Text(&'static str),
    Number(f64),
    /// A number shown as a date (style 1: built-in format 14).
    Date(f64),
    Bool(bool),
    /// An error code as XLSB stores it (0x2A is `#N/A`, 0x07 `#DIV/0!`).
    Error(u8),
}

/// A sheet of `xlsb_workbook`: name, hidden, and rows of (0-based column, cell).
pub type XlsbSheet<'a> = (&'a str, bool, Vec<Vec<(u32, XlsbCell)>>);

/// A minimal XLSB workbook, written record by record as MS-XLSB lays it out: sheets given as
/// (name, hidden, rows of (0-based column, cell)). calamine reads XLSB, but no writer library
/// and no LibreOffice filter writes it, so the reader tests make their own: workbook.bin with one
/// BrtBundleSh per sheet, its relationships, styles.bin with a date format, and per sheet
/// BrtWsDim, BrtBeginSheetData, BrtRowHdr and inline cell records.
pub fn xlsb_workbook(sheets: &[XlsbSheet]) -> Vec<u8> {
    use std::io::Write;
    fn record(out: &mut Vec<u8>, typ: u16, body: &[u8]) {
        if typ < 0x80 {
            out.push(typ as u8);
        } else {
            out.push((typ & 0x7F) as u8 | 0x80);
            out.push((typ >> 7) as u8);
        }
        let mut len = body.len();
        loop {
            let b = (len & 0x7F) as u8;
            len >>= 7;
            if len == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
        out.extend_from_slice(body);
    }
    fn wide(s: &str) -> Vec<u8> {
        let units: Vec<u16> = s.encode_utf16().collect();
        let mut out = (units.len() as u32).to_le_bytes().to_vec();
        for u in units {
            out.extend_from_slice(&u.to_le_bytes());
        }
        out
    }
    let mut workbook = Vec::new();
    record(&mut workbook, 0x0083, &[]); // BrtBeginBook
    record(&mut workbook, 0x008F, &[]); // BrtBeginBundleShs
    let mut rels = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">",
    );
    let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, (name, hidden, rows)) in sheets.iter().enumerate() {
        let id = format!("rId{}", i + 1);
        let mut body = Vec::new();
        body.extend_from_slice(&u32::from(*hidden).to_le_bytes()); // hsState
        body.extend_from_slice(&(i as u32 + 1).to_le_bytes()); // iTabID
        body.extend_from_slice(&wide(&id));
        body.extend_from_slice(&wide(name));
        record(&mut workbook, 0x009C, &body); // BrtBundleSh
        rels.push_str(&format!(
            "<Relationship Id=\"{id}\" Type=\"{REL}/worksheet\" Target=\"worksheets/sheet{}.bin\"/>",
            i + 1
        ));
        let mut sheet = Vec::new();
        record(&mut sheet, 0x0081, &[]); // BrtBeginSheet
        let last_row = rows.len().saturating_sub(1) as u32;
        let last_col = rows
            .iter()
            .flat_map(|r| r.iter().map(|(c, _)| *c))
            .max()
            .unwrap_or(0);
        let mut dim = Vec::new();
        for v in [0, last_row, 0, last_col] {
            dim.extend_from_slice(&u32::to_le_bytes(v));
        }
        record(&mut sheet, 0x0094, &dim); // BrtWsDim
        record(&mut sheet, 0x0091, &[]); // BrtBeginSheetData
        for (r, cells) in rows.iter().enumerate() {
            if cells.is_empty() {
                continue;
            }
            let mut hdr = (r as u32).to_le_bytes().to_vec(); // rw
            hdr.extend_from_slice(&0u32.to_le_bytes()); // ixfe
            hdr.extend_from_slice(&300u16.to_le_bytes()); // miyRw
            hdr.extend_from_slice(&[0, 0, 0]); // flags
            hdr.extend_from_slice(&0u32.to_le_bytes()); // ccolspan
            record(&mut sheet, 0x0000, &hdr); // BrtRowHdr
            for (c, cell) in cells {
                let style: u32 = if matches!(cell, XlsbCell::Date(_)) {
                    1
                } else {
                    0
                };
                let mut body = c.to_le_bytes().to_vec();
                body.extend_from_slice(&style.to_le_bytes());
                let typ = match cell {
                    XlsbCell::Text(s) => {
                        body.extend_from_slice(&wide(s));
                        0x0006 // BrtCellSt
                    }
                    XlsbCell::Number(v) | XlsbCell::Date(v) => {
                        body.extend_from_slice(&v.to_le_bytes());
                        0x0005 // BrtCellReal
                    }
                    XlsbCell::Bool(b) => {
                        body.push(u8::from(*b));
                        0x0004 // BrtCellBool
                    }
                    XlsbCell::Error(e) => {
                        body.push(*e);
                        0x0003 // BrtCellError
                    }
                };
                record(&mut sheet, typ, &body);
            }
        }
        record(&mut sheet, 0x0092, &[]); // BrtEndSheetData
        record(&mut sheet, 0x0082, &[]); // BrtEndSheet
        parts.push((format!("xl/worksheets/sheet{}.bin", i + 1), sheet));
    }
    record(&mut workbook, 0x0090, &[]); // BrtEndBundleShs
    record(&mut workbook, 0x0084, &[]); // BrtEndBook
    rels.push_str("</Relationships>");
    // styles.bin: two cell formats, general (0) and a date (built-in format 14).
    // (calamine's style reader skips unknown records without their bodies, so the cell formats
    // come first here.)
    let mut styles = Vec::new();
    record(&mut styles, 0x0269, &2u32.to_le_bytes()); // BrtBeginCellXFs
    for fmt in [0u16, 14] {
        let mut xf = 0xFFFFu16.to_le_bytes().to_vec(); // ixfeParent
        xf.extend_from_slice(&fmt.to_le_bytes()); // iFmt
        xf.extend_from_slice(&[0; 12]);
        record(&mut styles, 0x002F, &xf); // BrtXF
    }
    record(&mut styles, 0x026A, &[]); // BrtEndCellXFs
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut put = |name: &str, body: &[u8]| {
        z.start_file::<_, ()>(name, Default::default()).unwrap();
        z.write_all(body).unwrap();
    };
    put(
        "[Content_Types].xml",
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"bin\" ContentType=\"application/vnd.ms-excel.sheet.binary.macroEnabled.main\"/></Types>",
    );
    put(
        "_rels/.rels",
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"{REL}/officeDocument\" Target=\"xl/workbook.bin\"/></Relationships>"
        )
        .as_bytes(),
    );
    put("xl/workbook.bin", &workbook);
    put("xl/_rels/workbook.bin.rels", rels.as_bytes());
    put("xl/styles.bin", &styles);
    for (name, body) in &parts {
        put(name, body);
    }
    z.finish().unwrap().into_inner()
}

/// The `<col>` elements of a results workbook's first sheet that are hidden, as their
/// 1-based (min, max).
pub fn hidden_columns_of(path: &Path) -> Vec<(u32, u32)> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut xml = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    xml.split("<col ")
        .skip(1)
        .map(|c| &c[..c.find('>').unwrap()])
        .filter(|c| c.contains("hidden=\"1\""))
        .map(|c| {
            let num = |k: &str| {
                let v = &c[c.find(&format!("{k}=\"")).unwrap() + k.len() + 2..];
                v[..v.find('"').unwrap()].parse().unwrap()
            };
            (num("min"), num("max"))
        })
        .collect()
}

/// A workbook as a firm keeps a list it has filtered: a title on row 1, row 2 blank, `headers`
/// on row 3 and `rows` from row 4, an autofilter over them, the data rows at `hidden` (0-based)
/// hidden as the filter hides them, and the columns at `hidden_cols` hidden. A cell that is a
/// whole number is written as a number, as Excel keeps an id.
pub fn filtered_xlsx(
    path: &Path,
    headers: &[&str],
    rows: &[Vec<String>],
    hidden: &[usize],
    hidden_cols: &[u16],
) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet().set_name("List").unwrap();
    ws.write_string(0, 0, "Smith & Alvarez Injury Law: filtered list")
        .unwrap();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(2, c as u16, *h).unwrap();
    }
    for (i, row) in rows.iter().enumerate() {
        let r = 3 + i as u32;
        for (c, v) in row.iter().enumerate() {
            match v.parse::<u64>() {
                Ok(n) => ws.write_number(r, c as u16, n as f64).unwrap(),
                Err(_) => ws.write_string(r, c as u16, v).unwrap(),
            };
        }
        if hidden.contains(&i) {
            ws.set_row_hidden(r).unwrap();
        }
    }
    for &c in hidden_cols {
        ws.set_column_hidden(c).unwrap();
    }
    ws.autofilter(2, 0, 2 + rows.len() as u32, headers.len() as u16 - 1)
        .unwrap();
    book.save(path).unwrap();
}
