//! Placeholders in a profile's paths: `{date}` (local `YYYY-MM-DD`) and `{time}` (local `HHMMSS`,
//! no colons so the name is valid on Windows too). Pure: the moment is given, never read here.

use chrono::NaiveDateTime;

/// The placeholders a path may hold, for messages.
pub const PLACEHOLDERS: &str = "{date} and {time}";

/// A path that holds a `{` that does not open `{date}` or `{time}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown placeholder {found} in a path: only {PLACEHOLDERS} are replaced")]
pub struct UnknownPlaceholder {
    pub found: String,
}

/// `value` with every placeholder replaced by `at`.
pub fn expand(value: &str, at: NaiveDateTime) -> Result<String, UnknownPlaceholder> {
    let mut out = String::with_capacity(value.len() + 8);
    let mut rest = value;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        if let Some(r) = tail.strip_prefix("{date}") {
            out.push_str(&at.format("%Y-%m-%d").to_string());
            rest = r;
        } else if let Some(r) = tail.strip_prefix("{time}") {
            out.push_str(&at.format("%H%M%S").to_string());
            rest = r;
        } else {
            let end = tail.find('}').map_or(tail.len(), |i| i + 1);
            return Err(UnknownPlaceholder {
                found: tail[..end].to_string(),
            });
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn placeholders() {
        let at = NaiveDate::from_ymd_opt(2024, 3, 5)
            .unwrap()
            .and_hms_opt(7, 8, 9)
            .unwrap();
        let table: [(&str, Result<&str, &str>); 9] = [
            (
                "reports/cases-{date}.xlsx",
                Ok("reports/cases-2024-03-05.xlsx"),
            ),
            ("cases-{date}-{time}.csv", Ok("cases-2024-03-05-070809.csv")),
            ("{date}{date}", Ok("2024-03-052024-03-05")),
            ("plain.xlsx", Ok("plain.xlsx")),
            ("", Ok("")),
            ("x-{data}.xlsx", Err("{data}")),
            ("x-{DATE}.xlsx", Err("{DATE}")),
            ("x-{date.xlsx", Err("{date.xlsx")),
            ("x-}{", Err("{")),
        ];
        for (value, want) in table {
            let got = expand(value, at);
            match want {
                Ok(w) => assert_eq!(got.as_deref(), Ok(w), "{value}"),
                Err(found) => assert_eq!(got.unwrap_err().found, found, "{value}"),
            }
        }
    }
}
