//! Hostile inputs: every one ends with exit 1 or 2, one clear line on stderr, and never a panic.
//! Inputs are generated here so nothing large is committed. No time limit: a hang is the test
//! harness's to report, and a slow machine must not fail a correct run.

use std::io::Write;
use std::path::Path;

use crate::support::*;

/// Run `validate` on `path` and check the promises; returns stderr.
fn check(path: &Path, extra: &[&str]) -> (i32, String) {
    let dir = path.parent().unwrap();
    let out = cli()
        .arg("validate")
        .arg(path)
        .args(extra)
        .arg("--results")
        .arg(dir.join("out.results.csv"))
        .arg("-q")
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!err.contains("panicked"), "{}: {err}", path.display());
    assert!(
        code == 0 || code == 1 || code == 2,
        "{}: exit {code}: {err}",
        path.display()
    );
    if code == 2 {
        assert_eq!(err.trim().lines().count(), 1, "{}: {err}", path.display());
        assert!(err.starts_with("error: "), "{err}");
    }
    (code, err)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

const HEADER: &str = "case_number,external_source,external_source_id,status,type";

#[test]
fn broken_and_empty_files_exit_2_with_one_line() {
    let d = tempfile::tempdir().unwrap();
    let dp = d.path();
    let mut junk = vec![0u8; 4096];
    for (i, b) in junk.iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3];
    }
    let cases: Vec<(std::path::PathBuf, &str)> = vec![
        (write(dp, "empty.csv", b""), "empty"),
        (write(dp, "random.xlsx", &junk), "random bytes .xlsx"),
        (
            write(dp, "nul.csv", b"case_number,status\n\0\0\0,x\n"),
            "NUL bytes",
        ),
        (write(dp, "notes.pdf", b"hello"), "unsupported extension"),
    ];
    for (p, what) in &cases {
        let (code, err) = check(p, &[]);
        assert_eq!(code, 2, "{what}: {err}");
    }
    // a zip that is not a workbook
    let zip_path = dp.join("notabook.xlsx");
    {
        let f = std::fs::File::create(&zip_path).unwrap();
        let mut z = zip::ZipWriter::new(f);
        z.start_file::<_, ()>("hello.txt", Default::default())
            .unwrap();
        z.write_all(b"not a workbook").unwrap();
        z.finish().unwrap();
    }
    assert_eq!(check(&zip_path, &[]).0, 2, "zip that is not a workbook");
    // a truncated workbook: the first half of the sample
    let bytes = std::fs::read(sample("cases.xlsx")).unwrap();
    let t = write(dp, "truncated.xlsx", &bytes[..bytes.len() / 2]);
    assert_eq!(check(&t, &[]).0, 2, "truncated xlsx");
    // random bytes named .csv: unusable (binary) or rows that fail validation, never a panic
    let r = write(dp, "random.csv", &junk);
    let (code, err) = check(&r, &[]);
    assert!(code == 1 || code == 2, "random csv: {code} {err}");
}

#[test]
fn header_only_is_fine_and_sheet_or_mapping_problems_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let dp = d.path();
    let h = write(dp, "header.csv", format!("{HEADER}\n").as_bytes());
    // A header and no rows is not a silent success (issue 16): exit 2, one line, nothing written.
    let (code, err) = check(&h, &[]);
    assert_eq!(code, 2, "header only: {err}");
    assert!(err.contains("has a header and no rows"), "{err}");
    let bad_toml = write(dp, "bad.toml", b"[columns\n\"a\" = ");
    assert_eq!(
        check(
            &sample("cases.csv"),
            &["--mapping", bad_toml.to_str().unwrap()]
        )
        .0,
        2
    );
    let unknown = write(
        dp,
        "unknown.toml",
        b"[columns]\n\"Case #\" = \"casenumber\"\n",
    );
    let (code, err) = check(
        &sample("cases.csv"),
        &["--mapping", unknown.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("casenumber"), "{err}");
    assert_eq!(check(&sample("cases.xlsx"), &["--sheet", "7"]).0, 2);
}

#[test]
fn odd_but_readable_csvs_are_checked_row_by_row() {
    let d = tempfile::tempdir().unwrap();
    let dp = d.path();
    // duplicate headers
    let dup = write(
        dp,
        "dup.csv",
        format!("{HEADER},status\nA,s,1,active,civil,closed\n").as_bytes(),
    );
    let (code, _) = check(&dup, &[]);
    assert!(code == 1 || code == 2);
    // ragged rows
    let ragged = write(
        dp,
        "ragged.csv",
        format!("{HEADER}\nA,s,1,active\nB,s,2,active,civil,extra,more\n").as_bytes(),
    );
    assert_eq!(check(&ragged, &[]).0, 1);
    // a 6 MB cell
    let mut big = format!("{HEADER},description\nA,s,1,active,civil,").into_bytes();
    big.extend(std::iter::repeat_n(b'x', 6 * 1024 * 1024));
    big.push(b'\n');
    let big = write(dp, "big.csv", &big);
    let (code, err) = check(&big, &[]);
    assert!(code == 0 || code == 1, "{err}");
    // 20,000 columns
    let mut wide = HEADER.to_string();
    for i in 0..20_000 {
        wide.push_str(&format!(",extra{i}"));
    }
    wide.push_str("\nA,s,1,active,civil");
    wide.push_str(&",v".repeat(20_000));
    wide.push('\n');
    let wide = write(dp, "wide.csv", wide.as_bytes());
    let (code, err) = check(&wide, &[]);
    assert!(code == 0 || code == 1, "{err}");
    // invalid UTF-8 that is not Windows-1252 either (0x81 is undefined there)
    let bad = write(
        dp,
        "bad-encoding.csv",
        format!("{HEADER}\nA\u{0},s,1,active,civil\n")
            .replace('\u{0}', "")
            .into_bytes()
            .into_iter()
            .chain([0x81, 0x8D, b',', b'\n'])
            .collect::<Vec<u8>>()
            .as_slice(),
    );
    let (code, err) = check(&bad, &[]);
    assert!(code == 1 || code == 2, "{err}");
}

#[test]
fn a_directory_and_a_missing_file_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let sub = d.path().join("folder.csv");
    std::fs::create_dir(&sub).unwrap();
    assert_eq!(check(&sub, &[]).0, 2);
    assert_eq!(check(&d.path().join("missing.xlsx"), &[]).0, 2);
}

/// A workbook whose sheet breaks after thousands of good rows (the rows stream, so the damage
/// shows only when reading reaches it): exit 2, one line naming the row reached, no panic, and
/// no results file, CSV or XLSX, left behind.
#[test]
fn workbook_damaged_mid_sheet_exits_2_with_one_line() {
    let d = tempfile::tempdir().unwrap();
    let dp = d.path();
    let cell = |addr: String, text: &str| {
        format!("<c r=\"{addr}\" t=\"inlineStr\"><is><t>{text}</t></is></c>")
    };
    let mut rows = String::from("<row r=\"1\">");
    for (c, h) in HEADER.split(',').enumerate() {
        rows.push_str(&cell(format!("{}1", (b'A' + c as u8) as char), h));
    }
    rows.push_str("</row>");
    for r in 2..=3000 {
        rows.push_str(&format!("<row r=\"{r}\">"));
        let values = [
            &format!("H-{r}"),
            "bench",
            &format!("src-{r}"),
            "active",
            "civil",
        ];
        for (c, v) in values.iter().enumerate() {
            rows.push_str(&cell(format!("{}{r}", (b'A' + c as u8) as char), v));
        }
        rows.push_str("</row>");
    }
    let whole = sheet_xml(&rows);
    let good = xlsx_with_sheet_xml(&whole, &[]);
    let fine = write(dp, "fine.xlsx", &good);
    assert_eq!(check(&fine, &[]).0, 0, "the undamaged workbook is valid");
    std::fs::remove_file(dp.join("out.results.csv")).unwrap();

    let cut = whole.find("<row r=\"2500\">").unwrap() + 30;
    let truncated = write(
        dp,
        "truncated.xlsx",
        &xlsx_with_sheet_xml(&whole[..cut], &[]),
    );
    let mut corrupt = good.clone();
    {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&good)).unwrap();
        let entry = zip.by_name("xl/worksheets/sheet1.xml").unwrap();
        let at = entry.header_start() as usize + 30 + entry.compressed_size() as usize * 2 / 3;
        for b in &mut corrupt[at..at + 16] {
            *b ^= 0xA5;
        }
    }
    let corrupt = write(dp, "corrupt.xlsx", &corrupt);
    for (path, want) in [
        (
            &truncated,
            "sheet 'Cases' cannot be read past row 2498: the file is damaged",
        ),
        (&corrupt, "sheet 'Cases'"),
    ] {
        let (code, err) = check(path, &[]);
        assert_eq!(code, 2, "{}: {err}", path.display());
        assert!(err.contains(want), "{err}");
        assert!(!dp.join("out.results.csv").exists());
        let results = dp.join("out.results.xlsx");
        let out = cli()
            .arg("validate")
            .arg(path)
            .arg("--results")
            .arg(&results)
            .arg("-q")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(!results.exists());
        let left: Vec<_> = std::fs::read_dir(dp)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("results"))
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}
