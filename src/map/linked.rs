//! The client columns of a case sheet: which header names which client of the row (`Client …`,
//! `Client 2 …`, `Client 3 …`) and which of that client's fields, or a whole name to split
//! (`Client`, `Client Name`); and the header the case template writes for each. Every field and
//! alias comes from the clients table (`entity::CLIENTS`). Headers only: no cells, no checks.
//!
//! A header is a client column when, normalised (case, spaces, `_`, `-`, `.` ignored), it starts
//! with `client`, then an optional client number (1 to [`MAX_CLIENTS`]), then:
//! - nothing or `name` / `full name`: the client's whole name, split into first and last;
//! - a client field's name or alias, tried first with the `client` prefix (so `Client ID` and
//!   `Client 2 ID` are the firm's client number, the alias of `external_source_id`), then
//!   without it (`Client Address Line 1`, `Client 2 Email`).
//!
//! A client's Kayse id and its `case_ids` are never read from a client column: a firm's own
//! "Client ID" is its client number, and a case's links are made from the case side.

use crate::check::rules::normalize_header;
use crate::entity::{CLIENTS, Field, Kind};

/// The most clients one case row may name (`Client`, `Client 2`, `Client 3`).
pub const MAX_CLIENTS: u8 = 3;

/// What one client column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// A client field, by its index in the clients table.
    Field(usize),
    /// The whole name, to split into first and last (`Client`, `Client Name`).
    FullName,
}

/// A client column of a case sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientColumn {
    /// The input column.
    pub col: usize,
    /// Which client of the row: 1, 2 or 3.
    pub group: u8,
    pub part: Part,
}

/// Whether a client field can be given on a case row: not the Kayse id, and not the client's
/// links (made from the case side).
fn on_case_rows(f: &Field) -> bool {
    f.kind != Kind::IdList
}

/// The client fields the case template offers a column for: those a case row may carry, less
/// the ones the case itself provides (`external_source`, which defaults to the case's; the
/// voice-call opt-out, which the case's `opt_out_voice_calls` sets on its clients).
pub fn template_fields() -> impl Iterator<Item = (usize, &'static Field)> {
    CLIENTS
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| on_case_rows(f) && f.name != "external_source" && f.kind != Kind::Bool)
}

/// What a header names, if it is a client column: the client number and the part.
pub fn recognise(header: &str) -> Option<(u8, Part)> {
    let norm = normalize_header(header);
    let rest = norm.strip_prefix("client")?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let group = if digits == 0 {
        1
    } else {
        rest[..digits].parse::<u8>().ok()?
    };
    if !(1..=MAX_CLIENTS).contains(&group) {
        return None;
    }
    let rest = &rest[digits..];
    if matches!(rest, "" | "name" | "fullname") {
        return Some((group, Part::FullName));
    }
    let prefixed = format!("client{rest}");
    [prefixed.as_str(), rest]
        .into_iter()
        .find_map(field_named)
        .map(|i| (group, Part::Field(i)))
}

/// The client field a normalised header names by the field's name or an alias.
fn field_named(norm: &str) -> Option<usize> {
    CLIENTS.fields.iter().position(|f| {
        on_case_rows(f)
            && std::iter::once(f.name)
                .chain(f.aliases.iter().copied())
                .any(|a| normalize_header(a) == norm)
    })
}

/// Find the client columns among `candidates` (input columns no case field took), in column
/// order.
pub fn find(headers: &[String], candidates: &[usize]) -> Vec<ClientColumn> {
    candidates
        .iter()
        .filter_map(|&col| {
            let (group, part) = recognise(headers.get(col)?)?;
            Some(ClientColumn { col, group, part })
        })
        .collect()
}

/// Split `found` into the columns of the clients the sheet can name (a `Client Name` column, or
/// both `Client First Name` and `Client Last Name`) and the columns of the others.
pub fn named_groups(found: &[ClientColumn]) -> (Vec<ClientColumn>, Vec<ClientColumn>) {
    let has = |group: u8, part: Part| found.iter().any(|l| l.group == group && l.part == part);
    let first = Part::Field(CLIENTS.field_index("first_name").unwrap_or(usize::MAX));
    let last = Part::Field(CLIENTS.field_index("last_name").unwrap_or(usize::MAX));
    found
        .iter()
        .partition(|l| has(l.group, Part::FullName) || (has(l.group, first) && has(l.group, last)))
}

/// `Client 2` for a client number.
pub fn label(group: u8) -> String {
    if group <= 1 {
        "Client".to_string()
    } else {
        format!("Client {group}")
    }
}

/// What a client column feeds, for `-v`: `client 2 email`, `client name (split)`.
pub fn describe(column: &ClientColumn) -> String {
    let what = match column.part {
        Part::FullName => "name (split into first_name and last_name)",
        Part::Field(i) => CLIENTS.fields[i].name,
    };
    format!("{} {what}", label(column.group).to_lowercase())
}

/// The header the case template writes for `field` of client `group`: the field's own
/// `Client …` alias when it has one (`Client First Name`), else `Client` and its name in words
/// (`Client Address Line 1`); `Client 2 …` for the second client.
pub fn header(group: u8, field: &Field) -> String {
    let words = field
        .aliases
        .iter()
        .find_map(|a| a.strip_prefix("Client "))
        .map(str::to_string)
        .unwrap_or_else(|| in_words(field.name));
    if group <= 1 {
        format!("Client {words}")
    } else {
        format!("Client {group} {words}")
    }
}

/// `address_line1` → `Address Line 1`.
fn in_words(name: &str) -> String {
    let mut out = String::new();
    for word in name.split('_') {
        if !out.is_empty() {
            out.push(' ');
        }
        let (letters, digits) = word.split_at(
            word.find(|c: char| c.is_ascii_digit())
                .unwrap_or(word.len()),
        );
        let mut c = letters.chars();
        if let Some(first) = c.next() {
            out.extend(first.to_uppercase());
            out.push_str(c.as_str());
        }
        if !digits.is_empty() {
            out.push(' ');
            out.push_str(digits);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str) -> Part {
        Part::Field(CLIENTS.field_index(name).unwrap())
    }

    #[test]
    fn headers_name_a_client_and_a_part() {
        let table: &[(&str, Option<(u8, Part)>)] = &[
            ("Client", Some((1, Part::FullName))),
            ("Client Name", Some((1, Part::FullName))),
            ("client_full_name", Some((1, Part::FullName))),
            ("Client 2", Some((2, Part::FullName))),
            ("Client 3 Name", Some((3, Part::FullName))),
            ("Client First Name", Some((1, field("first_name")))),
            ("Client Last Name", Some((1, field("last_name")))),
            ("Client 2 First Name", Some((2, field("first_name")))),
            ("Client Email", Some((1, field("email")))),
            ("Client 2 Email Address", Some((2, field("email")))),
            ("Client Mobile", Some((1, field("mobile")))),
            ("Client Phone", Some((1, field("mobile")))),
            ("Client Cell", Some((1, field("mobile")))),
            ("Client 3 Cell", Some((3, field("mobile")))),
            ("Client Date of Birth", Some((1, field("date_of_birth")))),
            ("Client DOB", Some((1, field("date_of_birth")))),
            ("Client Address Line 1", Some((1, field("address_line1")))),
            ("Client Address", Some((1, field("address_line1")))),
            ("Client City", Some((1, field("city")))),
            ("Client State", Some((1, field("state")))),
            ("Client Zip", Some((1, field("postal_code")))),
            ("Client External ID", Some((1, field("external_source_id")))),
            // The firm's own client number, never a Kayse id.
            ("Client ID", Some((1, field("external_source_id")))),
            ("Client 2 ID", Some((2, field("external_source_id")))),
            ("Client #", Some((1, field("external_source_id")))),
            ("Client Source", Some((1, field("external_source")))),
            (
                "Client Do Not Call",
                Some((1, field("voice_calls_opted_out"))),
            ),
            // Not client columns: a Kayse id, links, a fourth client, other words.
            ("Client Kayse ID", None),
            ("Client Case IDs", None),
            ("Client 4 Email", None),
            ("Client 0 Email", None),
            ("Clients", None),
            ("Client Notes", None),
            ("Email", None),
            ("Primary Client", None),
        ];
        for (h, want) in table {
            assert_eq!(recognise(h), *want, "{h}");
        }
    }

    #[test]
    fn the_template_headers_read_back_as_their_fields() {
        let got: Vec<String> = template_fields().map(|(_, f)| header(1, f)).collect();
        assert_eq!(
            got,
            [
                "Client First Name",
                "Client Last Name",
                "Client External ID",
                "Client Email",
                "Client Mobile",
                "Client Date of Birth",
                "Client Address Line 1",
                "Client Address Line 2",
                "Client City",
                "Client State",
                "Client Postal Code",
            ]
        );
        for group in 1..=MAX_CLIENTS {
            for (i, f) in template_fields() {
                let h = header(group, f);
                assert_eq!(recognise(&h), Some((group, Part::Field(i))), "{h}");
            }
        }
        assert_eq!(header(2, &CLIENTS.fields[0]), "Client 2 First Name");
    }

    #[test]
    fn only_clients_with_a_name_column_are_read() {
        let headers: Vec<String> = [
            "Client ID",
            "Client First Name",
            "Client Last Name",
            "Client 2 Name",
            "Client 2 Email",
            "Client 3 ID",
            "Client 3 Email",
            "Client 3 First Name",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let found = find(&headers, &(0..headers.len()).collect::<Vec<_>>());
        let (named, unnamed) = named_groups(&found);
        let cols = |v: &[ClientColumn]| v.iter().map(|l| l.col).collect::<Vec<_>>();
        assert_eq!(cols(&named), [0, 1, 2, 3, 4]);
        assert_eq!(
            cols(&unnamed),
            [5, 6, 7],
            "client 3 has no last name column"
        );
        let (named, unnamed) = named_groups(&found[..1]);
        assert!(named.is_empty(), "a lone Client ID is not a client");
        assert_eq!(cols(&unnamed), [0]);
        assert_eq!(describe(&found[4]), "client 2 email");
        assert_eq!(
            describe(&found[3]),
            "client 2 name (split into first_name and last_name)"
        );
    }

    #[test]
    fn find_keeps_column_order_and_skips_other_columns() {
        let headers: Vec<String> = ["case_number", "Client", "Notes", "Client 2 Email"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let found = find(&headers, &[1, 2, 3, 9]);
        assert_eq!(
            found,
            [
                ClientColumn {
                    col: 1,
                    group: 1,
                    part: Part::FullName
                },
                ClientColumn {
                    col: 3,
                    group: 2,
                    part: field("email")
                },
            ]
        );
    }
}
