//! Finding the header row: among the first rows of a sheet, the one whose cells name the most
//! fields, so a title, a date line or a firm's letterhead above the header is not taken for it.
//! Pure: the caller says what "names a field" means (`HeaderMatcher`), so the readers never learn
//! the schema, and every reader (CSV, workbook) chooses by the same rule.

use std::fmt;
use std::sync::Arc;

/// How many rows from the top of a sheet are searched for the header: a title block rarely takes
/// more than a few rows, and each row searched is held in memory until the choice is made.
pub const SEARCH_ROWS: usize = 30;

/// Whether one header cell names something the caller can use (a field, an alias, a column of
/// a mapping file). Given to the readers through `ReadOptions::header_matcher`.
#[derive(Clone)]
pub struct HeaderMatcher(Arc<dyn Fn(&str) -> bool + Send + Sync>);

impl HeaderMatcher {
    pub fn new(matches: impl Fn(&str) -> bool + Send + Sync + 'static) -> HeaderMatcher {
        HeaderMatcher(Arc::new(matches))
    }

    /// How many of a row's cells name something; blank cells never do.
    pub fn score<'a>(&self, cells: impl IntoIterator<Item = &'a str>) -> usize {
        cells
            .into_iter()
            .map(str::trim)
            .filter(|c| !c.is_empty() && (self.0)(c))
            .count()
    }
}

impl fmt::Debug for HeaderMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HeaderMatcher(..)")
    }
}

/// The header among `candidates`, the non-blank rows at the top of a sheet in order, each given
/// as its cells' texts: the index of the row naming the most fields, the earliest on a tie. When
/// no row names any field (or there is no matcher) it is the first row, as a person would guess.
pub(crate) fn choose(candidates: &[Vec<String>], matcher: Option<&HeaderMatcher>) -> usize {
    let Some(matcher) = matcher else {
        return 0;
    };
    let mut best = (0usize, 0usize); // (score, index)
    for (i, cells) in candidates.iter().enumerate() {
        let score = matcher.score(cells.iter().map(String::as_str));
        if score > best.0 {
            best = (score, i);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A matcher that knows a few names, as the mapping's would.
    fn fields() -> HeaderMatcher {
        HeaderMatcher::new(|h| {
            let h = h.to_ascii_lowercase();
            [
                "case number",
                "case #",
                "status",
                "type",
                "source",
                "source id",
            ]
            .contains(&h.as_str())
        })
    }

    fn rows(list: &[&[&str]]) -> Vec<Vec<String>> {
        list.iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    #[test]
    fn chooses_the_row_naming_the_most_fields() {
        let title = &["Smith & Alvarez Injury Law — Open Matters (exported 3/1/2024)"][..];
        let header = &["Case #", "Source", "Source ID", "Client", "Status", "Type"][..];
        let data = &["2024-001", "clio", "A-1", "Maria", "Open", "PI"][..];
        type Case<'a> = (&'a str, &'a [&'a [&'a str]], Option<HeaderMatcher>, usize);
        let cases: &[Case] = &[
            ("header first", &[header, data], Some(fields()), 0),
            (
                "merged title above",
                &[title, header, data],
                Some(fields()),
                1,
            ),
            (
                "title, date line, then header",
                &[title, &["Printed 3/1/2024", ""], header, data],
                Some(fields()),
                2,
            ),
            (
                "a tie goes to the earlier row",
                &[&["Case #", "Status"], &["Source", "Type"]],
                Some(fields()),
                0,
            ),
            (
                "nothing matches: the first row, as before",
                &[title, &["Matter", "Client"], data],
                Some(fields()),
                0,
            ),
            ("no matcher: the first row", &[title, header], None, 0),
            (
                "blank and padded cells do not count",
                &[&["", " ", "Status "], &["Case Number", "Status", "Type"]],
                Some(fields()),
                1,
            ),
            (
                "a data row naming one field stays below a header naming more",
                &[header, &["x", "Status", "y"]],
                Some(fields()),
                0,
            ),
        ];
        for (what, list, matcher, want) in cases {
            assert_eq!(choose(&rows(list), matcher.as_ref()), *want, "{what}");
        }
        assert_eq!(choose(&[], Some(&fields())), 0);
    }

    #[test]
    fn scores_count_matching_cells() {
        let m = fields();
        assert_eq!(m.score(["Case #", " status ", "", "Client"]), 2);
        assert_eq!(m.score(Vec::<&str>::new()), 0);
        assert_eq!(format!("{m:?}"), "HeaderMatcher(..)");
    }
}
