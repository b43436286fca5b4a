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

/// The record a refused link names as missing, as `(entity, id)`: `client_ids: client 9 does
/// not exist` → `("clients", 9)`. A record the ledger holds as live that Kayse no longer has
/// (deleted with its cases, or merged away in Kayse's web app). `None` for any other message.
pub fn missing_link(message: &str) -> Option<(&'static str, u64)> {
    // The refusal itself, whatever follows it (`; ...`).
    let head = &message[..message.find("does not exist")? + "does not exist".len()];
    let (field, rest) = head.split_once(':')?;
    let field = field.trim();
    let entity = crate::entity::ALL
        .iter()
        .flat_map(|e| e.fields.iter())
        .find(|f| f.name == field)?
        .links?;
    let rest = rest.trim().strip_suffix("does not exist")?.trim();
    let id = rest.rsplit(' ').next()?.parse::<u64>().ok()?;
    let table = crate::entity::by_name(entity)?;
    (rest.len() > table.one.len() && rest.starts_with(table.one)).then_some((table.name, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_links_name_the_record_kayse_no_longer_has() {
        let table: &[(&str, Option<(&str, u64)>)] = &[
            (
                "client_ids: client 1000001 does not exist",
                Some(("clients", 1000001)),
            ),
            ("case_ids: case 42 does not exist", Some(("cases", 42))),
            ("client_ids: client abc does not exist", None),
            (
                "client_ids: client 7 does not exist; the ledger now knows it",
                Some(("clients", 7)),
            ),
            ("status: client 9 does not exist", None),
            ("client_ids: must be an array of positive integers", None),
            ("case_number 'A-1' already exists", None),
        ];
        for (m, want) in table {
            assert_eq!(missing_link(m), *want, "{m}");
        }
    }

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
