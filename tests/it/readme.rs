//! Keeps README.md true to the code: the alias table lists every alias of the case table, and
//! every command has a section.

use kayse_bulk::entity::CASES;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

#[test]
fn alias_table_lists_every_alias() {
    let text = readme();
    for f in CASES.fields.iter().chain(std::iter::once(&CASES.id)) {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", f.name)))
            .unwrap_or_else(|| panic!("README alias table has no row for {}", f.name));
        for a in f.aliases {
            assert!(
                line.contains(&format!("`{a}`")),
                "README alias row for {} lacks `{a}`",
                f.name
            );
        }
    }
}

#[test]
fn every_command_is_documented() {
    let text = readme();
    for cmd in [
        "validate",
        "import",
        "export",
        "delete",
        "sms and email",
        "template",
        "sandbox",
    ] {
        assert!(
            text.contains(&format!("### {cmd}")),
            "README has no section for {cmd}"
        );
    }
    assert!(text.contains("cargo run --release -- import samples/cases.xlsx --sandbox"));
}
