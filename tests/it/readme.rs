//! Keeps README.md true to the code: the alias tables list every alias of the case and client
//! tables, and every command has a section.

use kayse_bulk::entity::{CASES, CLIENTS};

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

#[test]
fn alias_tables_list_every_alias() {
    let text = readme();
    // Each entity's table starts at its header line and runs to the first line outside it.
    for (e, head) in [
        (&CASES, "| field | also accepted |"),
        (&CLIENTS, "| client field | also accepted |"),
    ] {
        let table: Vec<&str> = text
            .lines()
            .skip_while(|l| *l != head)
            .take_while(|l| l.starts_with('|'))
            .collect();
        assert!(!table.is_empty(), "README has no table headed {head}");
        for f in e.fields.iter().chain(std::iter::once(&e.id)) {
            let line = table
                .iter()
                .find(|l| l.starts_with(&format!("| `{}` |", f.name)))
                .unwrap_or_else(|| panic!("README {} table has no row for {}", e.name, f.name));
            for a in f.aliases {
                assert!(
                    line.contains(&format!("`{a}`")),
                    "README {} row for {} lacks `{a}`",
                    e.name,
                    f.name
                );
            }
        }
        assert_eq!(
            table.len(),
            e.fields.len() + 3,
            "README {} table: a header, a rule and one row per field and id",
            e.name
        );
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
        "map",
        "reconcile",
        "The ledger",
    ] {
        assert!(
            text.contains(&format!("### {cmd}")),
            "README has no section for {cmd}"
        );
    }
    assert!(text.contains("cargo run --release -- import samples/cases.xlsx --sandbox"));
}

/// Every `--option` the README names is an option of the tool or of one of its commands, so no
/// documented option can vanish in a reshape of the option blocks unnoticed. (The README's
/// cargo command lines name cargo's own flags; they are listed here.)
#[test]
fn every_option_the_readme_names_exists() {
    use clap::CommandFactory;
    const CARGOS: &[&str] = &[
        "all-targets",
        "check",
        "example",
        "locked",
        "path",
        "release",
        // The profile section's example of a misspelt option, refused on purpose.
        "batchsize",
    ];
    let cli = kayse_bulk::cli::Cli::command();
    let mut known: Vec<String> = vec!["help".into()];
    let nested = cli.get_subcommands().flat_map(|c| c.get_subcommands());
    for cmd in std::iter::once(&cli)
        .chain(cli.get_subcommands())
        .chain(nested)
    {
        known.extend(
            cmd.get_arguments()
                .filter_map(|a| a.get_long().map(String::from)),
        );
    }
    let text = readme();
    let mut named: Vec<&str> = text
        .match_indices("--")
        .filter(|(i, _)| !text[..*i].ends_with(|c: char| c.is_alphanumeric() || c == '-'))
        .map(|(i, _)| {
            let rest = &text[i + 2..];
            let end = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c == '-'))
                .unwrap_or(rest.len());
            rest[..end].trim_end_matches('-')
        })
        .filter(|o| !o.is_empty())
        .collect();
    named.sort();
    named.dedup();
    assert!(named.contains(&"skip-hidden-rows"), "{named:?}");
    for o in named {
        assert!(
            CARGOS.contains(&o) || known.iter().any(|k| k == o),
            "README names --{o}, which no command takes"
        );
    }
}
