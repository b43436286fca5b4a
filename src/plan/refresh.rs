//! The plan of a budgeted refresh (`export --all-known --refresh-budget N`): how many known cases,
//! how many a run reads again, and how many runs it takes until every one has been read. Pure:
//! counts in, text out.

/// `5000` → `5,000`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Runs of `per_run` reads until all `known` cases have been read once: stalest first, a case
/// is read again only after every other one has been. `None` when nothing is read.
pub fn runs_to_cover(known: u64, per_run: u64) -> Option<u64> {
    (per_run > 0).then(|| known.div_ceil(per_run))
}

/// "5,000 known cases, 100 a run: all refreshed within 50 runs"; with `never` never read from
/// Kayse, they come first. With a budget of 0: the report is the ledger's, with no request.
pub fn refresh_line(known: u64, never: u64, per_run: u64) -> String {
    let cases = |n: u64| format!("{} known case{}", grouped(n), if n == 1 { "" } else { "s" });
    let mut s = match runs_to_cover(known, per_run) {
        None => format!(
            "{}, --refresh-budget 0: none read again; the report is written from the ledger with no request",
            cases(known)
        ),
        Some(0 | 1) => format!(
            "{}, {} a run: all refreshed in this run",
            cases(known),
            grouped(per_run)
        ),
        Some(runs) => format!(
            "{}, {} a run: all refreshed within {runs} runs",
            cases(known),
            grouped(per_run)
        ),
    };
    if never > 0 && per_run > 0 {
        s.push_str(&format!(
            " ({} never read from Kayse, read first)",
            grouped(never)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        for (n, want) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (5000, "5,000"),
            (100_000, "100,000"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(grouped(n), want);
        }
    }

    #[test]
    fn the_plan_says_how_long_a_full_refresh_takes() {
        let table: &[(u64, u64, u64, &str)] = &[
            (
                5000,
                0,
                100,
                "5,000 known cases, 100 a run: all refreshed within 50 runs",
            ),
            (
                2000,
                0,
                100,
                "2,000 known cases, 100 a run: all refreshed within 20 runs",
            ),
            (
                2001,
                0,
                100,
                "2,001 known cases, 100 a run: all refreshed within 21 runs",
            ),
            (
                100,
                0,
                100,
                "100 known cases, 100 a run: all refreshed in this run",
            ),
            (
                1,
                0,
                5000,
                "1 known case, 5,000 a run: all refreshed in this run",
            ),
            (
                2000,
                1900,
                100,
                "2,000 known cases, 100 a run: all refreshed within 20 runs (1,900 never read from Kayse, read first)",
            ),
            (
                100_000,
                5,
                0,
                "100,000 known cases, --refresh-budget 0: none read again; the report is written from the ledger with no request",
            ),
        ];
        for (known, never, per_run, want) in table {
            assert_eq!(refresh_line(*known, *never, *per_run), *want);
        }
        for (known, per_run, want) in [(5000, 100, Some(50)), (0, 100, Some(0)), (7, 0, None)] {
            assert_eq!(runs_to_cover(known, per_run), want, "{known} / {per_run}");
        }
    }
}
