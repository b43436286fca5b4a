//! `{{row.COLUMN}}` message templates for `sms` and `email`: filled locally from the row's cells.
//! Every other `{{...}}` (Kayse's own variables such as `{{first_name}}`) passes through untouched,
//! as does an unclosed `{{`. Pure: no I/O.

use crate::cell::Cell;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// A `{{row.COLUMN}}` placeholder, resolved to a column index.
    Column(usize),
}

/// A template checked against the sheet's headers, ready to render any row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// The column name a `{{...}}` body refers to, if it is a `row.` placeholder.
fn row_ref(body: &str) -> Option<&str> {
    body.trim().strip_prefix("row.").map(str::trim)
}

/// Match a column: the exact header first, then case-insensitive and trimmed.
pub fn find_header(headers: &[String], name: &str) -> Option<usize> {
    headers.iter().position(|h| h == name).or_else(|| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name.trim()))
    })
}

impl Template {
    /// Parse `text` and resolve each `{{row.COLUMN}}` against `headers`. A column the sheet lacks
    /// is an error naming it and listing the columns there are.
    pub fn parse(text: &str, headers: &[String]) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                break;
            };
            lit.push_str(&rest[..open]);
            let body = &after[..close];
            match row_ref(body) {
                Some(col) => {
                    let i = find_header(headers, col).ok_or_else(|| {
                        format!(
                            "the template names column '{col}' ({{{{row.{col}}}}}), which the sheet does not have; its columns are: {}",
                            headers.join(", ")
                        )
                    })?;
                    if !lit.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Column(i));
                }
                None => {
                    lit.push_str("{{");
                    lit.push_str(body);
                    lit.push_str("}}");
                }
            }
            rest = &after[close + 2..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Text(lit));
        }
        Ok(Template { parts })
    }

    /// The text for one row: each placeholder becomes the cell as a person reads it.
    pub fn render(&self, cells: &[Cell]) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Column(i) => {
                    out.push_str(&cells.get(*i).map(Cell::to_text).unwrap_or_default())
                }
            }
        }
        out
    }
}

/// "the first, to client C of case K:" and the text, for the dry run and the prompt.
pub fn first_message(m: &super::rows::Ready) -> String {
    let subject = m
        .subject
        .as_ref()
        .map(|s| format!("  subject: {s}\n"))
        .unwrap_or_default();
    format!(
        "to client {} of case {}:\n{subject}  {}",
        m.client_id, m.case_id, m.message
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers() -> Vec<String> {
        ["case_id", "client_id", "Hearing Date", "Name "]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn renders() {
        let cells = vec![
            Cell::Int(1),
            Cell::Int(2),
            Cell::Date(chrono::NaiveDate::from_ymd_opt(2025, 3, 4).unwrap()),
            Cell::Text("Ann".into()),
        ];
        let cases: &[(&str, &str)] = &[
            ("plain", "plain"),
            ("", ""),
            (
                "Hi {{first_name}}, court on {{row.Hearing Date}}",
                "Hi {{first_name}}, court on 2025-03-04",
            ),
            ("{{ row.name }}!", "Ann!"),
            ("{{row.case_id}}{{row.client_id}}", "12"),
            ("unclosed {{row.case_id", "unclosed {{row.case_id"),
            ("a {{x}} b {{row.case_id}} {{", "a {{x}} b 1 {{"),
            ("{{}}", "{{}}"),
            ("é {{row.Name }} ü", "é Ann ü"),
        ];
        for (t, want) in cases {
            let tpl = Template::parse(t, &headers()).unwrap_or_else(|e| panic!("{t}: {e}"));
            assert_eq!(tpl.render(&cells), *want, "{t}");
        }
        // A short row renders the missing cell as empty.
        let tpl = Template::parse("[{{row.Name}}]", &headers()).unwrap();
        assert_eq!(tpl.render(&[]), "[]");
    }

    #[test]
    fn unknown_column_is_an_error() {
        let e = Template::parse("Hi {{row.nickname}}", &headers()).unwrap_err();
        assert!(e.contains("'nickname'"), "{e}");
        assert!(e.contains("case_id, client_id, Hearing Date, Name"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_text_without_row_refs_is_unchanged(s in ".{0,60}") {
            if let Ok(t) = Template::parse(&s, &headers())
                && !s.contains("row.")
            {
                proptest::prop_assert_eq!(t.render(&[]), s);
            }
        }
    }
}
