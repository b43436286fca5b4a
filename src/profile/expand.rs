//! Placeholders in a profile's paths: `{date}` (local `YYYY-MM-DD`) and `{time}` (local `HHMMSS`,
//! no colons so the name is valid on Windows too), and `{last}`, which names the newest existing
//! file that `{date}`/`{time}` made from the same pattern (the previous report of a dated job).
//! Pure: the moment and the folder's file names are given, never read here.

use chrono::NaiveDateTime;

/// The placeholders a path may hold, for messages.
pub const PLACEHOLDERS: &str = "{date}, {time} and {last}";

/// A path that holds a `{` that does not open `{date}`, `{time}` or `{last}`.
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
        } else if let Some(r) = tail.strip_prefix(LAST) {
            // Left for `last` to fill from the folder: kept as written.
            out.push_str(LAST);
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

/// The placeholder `last` fills.
pub const LAST: &str = "{last}";

/// The file `pattern`'s file name (which holds `{last}` once) names among `names` (a folder's
/// file names): the newest of those whose `{last}` part is a date (`2024-03-05`), optionally
/// followed by `-` and a time (`-070809`), as `{date}` and `{time}` write them. The newest is the
/// greatest, as dates and times written this way sort. `None` when none matches (a first run).
pub fn last<'a>(pattern: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let (before, after) = pattern.split_once(LAST)?;
    let stamp = |s: &str| {
        let b = s.as_bytes();
        let date = b.len() >= 10
            && b[..10].iter().enumerate().all(|(i, c)| {
                if i == 4 || i == 7 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            });
        let time = match b.len() {
            10 => true,
            17 => b[10] == b'-' && b[11..].iter().all(u8::is_ascii_digit),
            _ => false,
        };
        date && time
    };
    names
        .into_iter()
        .filter(|n| {
            n.strip_prefix(before)
                .and_then(|m| m.strip_suffix(after))
                .is_some_and(stamp)
        })
        .max()
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

    #[test]
    fn last_names_the_newest_dated_file_of_the_pattern() {
        let names = [
            "cases-2024-03-04.xlsx",
            "cases-2024-03-05.xlsx",
            "cases-2024-03-05.xlsx.partial",
            "cases-latest.xlsx",
            "cases-2024-3-06.xlsx",
            "cases-2024-03-05.csv",
            "other-2024-09-09.xlsx",
        ];
        let table: &[(&str, Option<&str>)] = &[
            ("cases-{last}.xlsx", Some("cases-2024-03-05.xlsx")),
            ("cases-{last}.csv", Some("cases-2024-03-05.csv")),
            ("other-{last}.xlsx", Some("other-2024-09-09.xlsx")),
            ("none-{last}.xlsx", None),
            ("cases.xlsx", None),
        ];
        for (pattern, want) in table {
            assert_eq!(last(pattern, names), *want, "{pattern}");
        }
        let timed = [
            "r-2024-03-05-070809.csv",
            "r-2024-03-05-230000.csv",
            "r-2024-03-05-2300.csv",
        ];
        assert_eq!(last("r-{last}.csv", timed), Some("r-2024-03-05-230000.csv"));
        assert_eq!(
            expand("a/{last}.csv", NaiveDateTime::default()).unwrap(),
            "a/{last}.csv"
        );
    }
}
