//! The API key never appears anywhere: not on stdout or stderr at any verbosity (`-v`,
//! `RUST_LOG=trace`), not in a 401's message, not in results, journals, exports or the sandbox's
//! state. Every command that talks to the API runs here with a known key, and everything it
//! leaves behind is searched for it.

use std::path::Path;

use crate::support::*;

/// Every file under `dir`, searched for the key as bytes (and as UTF-16, which Excel may use).
fn assert_no_key_in_files(dir: &Path, key: &str) {
    let utf16: Vec<u8> = key.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap();
        let found = bytes.windows(key.len()).any(|w| w == key.as_bytes())
            || bytes.windows(utf16.len()).any(|w| w == utf16.as_slice())
            || unzip_contains(&bytes, key);
        assert!(!found, "the key is in {}", entry.display());
    }
}

/// XLSX files are zips: search their inflated parts too.
fn unzip_contains(bytes: &[u8], key: &str) -> bool {
    let Ok(mut z) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        return false;
    };
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut s).unwrap();
        if s.windows(key.len()).any(|w| w == key.as_bytes()) {
            return true;
        }
    }
    false
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn assert_no_key_in_output(o: &std::process::Output, key: &str, what: &str) {
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!out.contains(key), "{what}: key on stdout: {out}");
    assert!(!err.contains(key), "{what}: key on stderr: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
}

#[test]
fn the_key_never_leaves_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let state = d.join("sandbox-state.json");
    let sb = Sandbox::start(&["--state", state.to_str().unwrap()]);
    std::fs::write(
        d.join("cases.csv"),
        "case_number,external_source,external_source_id,status,type\n\
         S-1,t,1,active,civil\nS-2,t,2,active,civil\nS-3,t,3,,civil\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let o = sb
            .cmd(d)
            .env("RUST_LOG", "trace")
            .args(args)
            .output()
            .unwrap();
        assert_no_key_in_output(&o, KEY, &args.join(" "));
        o
    };
    let o = run(&["-v", "import", "cases.csv", "--json"]);
    assert_eq!(o.status.code(), Some(1), "one invalid row");
    let o = run(&[
        "-v",
        "export",
        "--ids-from",
        "cases.results.xlsx",
        "--out",
        "export.xlsx",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    run(&[
        "-v",
        "export",
        "--ids-from",
        "cases.results.xlsx",
        "--out",
        "export.csv",
    ]);
    std::fs::write(
        d.join("msg.csv"),
        "case_id,client_id,message\n1001,7,hello\n",
    )
    .unwrap();
    run(&["-v", "sms", "msg.csv", "--yes"]);
    run(&[
        "-v",
        "delete",
        "cases.results.xlsx",
        "--yes",
        "--backup",
        "backup.xlsx",
    ]);

    // a wrong key: rejected, and neither key is echoed
    let wrong = "wrong-key-Zq91";
    let o = sb
        .cmd(d)
        .env("KAYSE_API_KEY", wrong)
        // a ledger of its own: the right key's ledger knows these rows and would send nothing
        .env("KAYSE_LEDGER", d.join("wrong.ledger.sqlite"))
        .env("RUST_LOG", "trace")
        .args([
            "-v",
            "import",
            "cases.csv",
            "--results",
            "wrong.results.csv",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert_no_key_in_output(&o, wrong, "401");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("the API key was rejected"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_no_key_in_files(d, wrong);

    // the key through a file
    let key_file = d.join("key.txt");
    std::fs::write(&key_file, KEY).unwrap();
    let o = sb
        .cmd(d)
        .env_remove("KAYSE_API_KEY")
        .args([
            "-v",
            "import",
            "cases.csv",
            "--results",
            "again.results.csv",
        ])
        .arg("--api-key-file")
        .arg(&key_file)
        .output()
        .unwrap();
    assert_no_key_in_output(&o, KEY, "api-key-file");
    std::fs::remove_file(&key_file).unwrap();

    assert!(state.exists(), "the sandbox saved its state");
    assert!(
        d.join("cases.results.xlsx.journal").exists(),
        "{:?}",
        walk(d)
    );
    assert_no_key_in_files(d, KEY);
}

#[test]
fn the_key_is_not_a_flag() {
    let o = std::process::Command::new(bin())
        .args(["import", "x.csv", "--api-key", "abc"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn debug_output_of_the_key_type_hides_it() {
    let key = kayse_bulk::send::ApiKey::new("s3cret-Debug".to_string());
    assert!(!format!("{key:?}").contains("s3cret"));
    assert!(!format!("{key}").contains("s3cret"));
}
