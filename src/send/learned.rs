//! What Kayse's answers teach about its limits that its docs do not state: the most records one
//! bulk request may carry, as a "too many" answer names it. Pure text in, numbers out.

/// The maximum a server message states, e.g. 200 in "too many cases in one request: 1000 (max
/// 200)", "at most 200 cases per request" or "maximum batch size is 200". `None` when it names
/// none; the caller then halves instead.
pub fn stated_max(message: &str) -> Option<usize> {
    let m = message.to_ascii_lowercase();
    const WORDS: [&str; 5] = ["max", "at most", "limit", "up to", "no more than"];
    WORDS
        .iter()
        .filter_map(|w| {
            let at = m.find(w)? + w.len();
            // Within a few characters of the word: "max 200", "maximum: 200", "limit is 200".
            let rest = &m[at..];
            let start = rest.find(|c: char| c.is_ascii_digit())?;
            if start > 24 {
                return None;
            }
            let digits: String = rest[start..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<usize>().ok().filter(|n| *n > 0)
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maxima_as_servers_state_them() {
        let table: &[(&str, Option<usize>)] = &[
            ("too many cases in one request (max 200)", Some(200)),
            ("too many cases in one request: 1000 (max 200)", Some(200)),
            ("Too many cases: maximum batch size is 150", Some(150)),
            ("at most 50 cases per request", Some(50)),
            ("batch limit: 75", Some(75)),
            ("send up to 20 records", Some(20)),
            ("no more than 300 ids", Some(300)),
            ("too many cases in one request", None),
            ("payload too large", None),
            ("max 0", None),
            ("the maximum, as documented elsewhere, is 200", None),
        ];
        for (message, want) in table {
            assert_eq!(stated_max(message), *want, "{message}");
        }
    }
}
