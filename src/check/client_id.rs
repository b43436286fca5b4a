//! The `external_source_id` the tool derives for a client when the sheet has no client id
//! column, so that a re-run of the same sheet derives the same id (and the ledger finds the
//! client it created). Pure: no I/O, no clock, no randomness.
//!
//! # The rule (version 1)
//! A person found by `check::people::dedupe` whose mentions carry no external id gets
//! `kb-` followed by the first 16 hex digits (64 bits) of the SHA-256 of
//!
//! ```text
//! kb1 \x1f KIND \x1f VALUE \x1f FIRST \x1f LAST [\x1f #N]
//! ```
//!
//! where, from the person's mentions in row order:
//! - KIND and VALUE are the strongest key any mention has: `email` and the address in lower
//!   case, else `mobile` and the E.164 number, else `birth` and the date of birth
//!   (`YYYY-MM-DD`), else `name` and nothing;
//! - FIRST and LAST are the name of the first mention carrying that key, as compared by
//!   `check::people::Name` (lower case; the first name's words without punctuation, the last
//!   name's letters and digits only: `Ana María`, `De La Cruz` → `ana maría`, `delacruz`);
//! - `#N` is added only when an earlier person in the same sheet derived the same text (two
//!   people with one name and nothing else, kept apart): the second is `#2`, the third `#3`, in
//!   order of their first mention.
//!
//! The name is part of the key because a household shares an email or a phone. The rule is
//! stable across sheets as long as a person is written with the same strongest key and name; a
//! person known only by name (or by name and `#N`) is identified weakly, and [`DerivedId::basis`]
//! says so, so that nothing reuses such a client from another sheet without asking. 64 bits
//! make an accidental collision between two keys negligible (about 1 in 10^10 among a million
//! clients).

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::check::people::{Dedup, Key, Name, Person};

/// A derived `external_source_id` and the key it was derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedId {
    pub id: String,
    /// [`Key::Email`], [`Key::Mobile`], [`Key::NameAndBirth`] or [`Key::Name`].
    pub basis: Key,
    /// The mention whose values made the key.
    pub from: usize,
}

/// The id prefix: says where the id came from to anyone reading Kayse.
pub const PREFIX: &str = "kb-";

/// One derived id per cluster of `dedup`, `None` for a person whose mentions carry an external
/// id (that id is used as it is).
pub fn derive_ids(people: &[Person], dedup: &Dedup) -> Vec<Option<DerivedId>> {
    let mut seen: HashMap<String, u32> = HashMap::new();
    dedup
        .clusters
        .iter()
        .map(|c| {
            let has_ext = c.members.iter().any(|&m| {
                people[m]
                    .external_id
                    .as_deref()
                    .is_some_and(|e| !e.trim().is_empty())
            });
            if has_ext || c.members.is_empty() {
                return None;
            }
            let (basis, from, value) = strongest(people, &c.members);
            let name = Name::new(&people[from].first, &people[from].last);
            let kind = match basis {
                Key::Email => "email",
                Key::Mobile => "mobile",
                Key::NameAndBirth => "birth",
                _ => "name",
            };
            let mut text = format!(
                "kb1\x1f{kind}\x1f{value}\x1f{}\x1f{}",
                name.first, name.last
            );
            let n = seen.entry(text.clone()).or_insert(0);
            *n += 1;
            if *n > 1 {
                text.push_str(&format!("\x1f#{n}"));
            }
            Some(DerivedId {
                id: id_of(&text),
                basis,
                from,
            })
        })
        .collect()
}

/// The strongest key among the mentions (in row order): kind, the mention, the value.
fn strongest(people: &[Person], members: &[usize]) -> (Key, usize, String) {
    let first_with = |f: &dyn Fn(&Person) -> Option<String>| {
        members.iter().find_map(|&m| f(&people[m]).map(|v| (m, v)))
    };
    if let Some((m, v)) = first_with(&|p| p.email.as_deref().map(|e| e.trim().to_lowercase())) {
        return (Key::Email, m, v);
    }
    if let Some((m, v)) = first_with(&|p| p.mobile.as_deref().map(|e| e.trim().to_owned())) {
        return (Key::Mobile, m, v);
    }
    if let Some((m, v)) = first_with(&|p| p.date_of_birth.map(|d| d.format("%Y-%m-%d").to_string()))
    {
        return (Key::NameAndBirth, m, v);
    }
    (Key::Name, members[0], String::new())
}

fn id_of(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut id = String::with_capacity(PREFIX.len() + 16);
    id.push_str(PREFIX);
    for b in &digest[..8] {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::people::{Options, dedupe};
    use chrono::NaiveDate;

    fn p(row: u32, first: &str, last: &str) -> Person {
        Person {
            row,
            group: 1,
            first: first.into(),
            last: last.into(),
            ..Person::default()
        }
    }

    fn ids(people: &[Person]) -> Vec<Option<DerivedId>> {
        derive_ids(people, &dedupe(people, Options::default()))
    }

    #[test]
    fn the_documented_rule() {
        // Pinned: every id already in Kayse depends on the rule, so a change to it must fail
        // here first (and then needs a new version tag, `kb2`).
        assert_eq!(
            id_of("kb1\x1femail\x1fana@example.com\x1fana\x1flima"),
            PINNED_EMAIL_ID
        );
        let mut ana = p(2, "Ana", "Lima");
        ana.email = Some("Ana@Example.com".into());
        let got = ids(&[ana]);
        assert_eq!(
            got,
            vec![Some(DerivedId {
                id: PINNED_EMAIL_ID.into(),
                basis: Key::Email,
                from: 0
            })]
        );
    }

    /// sha256("kb1\x1femail\x1fana@example.com\x1fana\x1flima"), first 8 bytes.
    const PINNED_EMAIL_ID: &str = "kb-6ea15be4a72d259f";

    #[test]
    fn strongest_key_and_its_mention() {
        let d = |y| NaiveDate::from_ymd_opt(y, 2, 3);
        let mut a = p(2, "Ana", "Lima");
        a.date_of_birth = d(1990);
        let mut b = p(3, "ANA", "LIMA");
        b.date_of_birth = d(1990);
        b.mobile = Some("+14045550123".into());
        let mut c = p(4, "Ana M.", "Lima");
        c.mobile = Some("+14045550123".into());
        c.email = Some("ana@example.com".into());
        let cases: Vec<(Vec<Person>, Key, usize, &str)> = vec![
            (
                vec![a.clone()],
                Key::NameAndBirth,
                0,
                "kb1\x1fbirth\x1f1990-02-03\x1fana\x1flima",
            ),
            (
                vec![a.clone(), b.clone()],
                Key::Mobile,
                1,
                "kb1\x1fmobile\x1f+14045550123\x1fana\x1flima",
            ),
            (
                vec![a.clone(), b.clone(), c.clone()],
                Key::Email,
                2,
                "kb1\x1femail\x1fana@example.com\x1fana m\x1flima",
            ),
            (
                vec![p(2, "Ana María", "De La Cruz")],
                Key::Name,
                0,
                "kb1\x1fname\x1f\x1fana maría\x1fdelacruz",
            ),
        ];
        for (people, basis, from, text) in cases {
            let got = ids(&people);
            assert_eq!(got.len(), 1, "{text:?}: one person");
            assert_eq!(
                got[0],
                Some(DerivedId {
                    id: id_of(text),
                    basis,
                    from
                }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn external_ids_are_not_replaced() {
        let mut a = p(2, "Ana", "Lima");
        a.external_id = Some("C-7".into());
        let mut b = p(3, "Ana", "Lima");
        b.external_id = Some("C-7".into());
        b.email = Some("ana@example.com".into());
        assert_eq!(ids(&[a, b]), vec![None]);
        let mut blank = p(2, "Ana", "Lima");
        blank.external_id = Some("  ".into());
        assert_eq!(ids(&[blank])[0].as_ref().map(|d| d.basis), Some(Key::Name));
    }

    #[test]
    fn people_with_the_same_key_are_numbered_in_order() {
        // Three people named Ana Lima with nothing else: kept apart, so three ids.
        let people = vec![
            p(2, "Ana", "Lima"),
            p(3, "Bo", "Lima"),
            p(4, "Ana", "Lima"),
            p(5, "ANA", "LIMA"),
        ];
        let got: Vec<String> = ids(&people).into_iter().map(|d| d.unwrap().id).collect();
        let base = "kb1\x1fname\x1f\x1fana\x1flima";
        assert_eq!(
            got,
            vec![
                id_of(base),
                id_of("kb1\x1fname\x1f\x1fbo\x1flima"),
                id_of(&format!("{base}\x1f#2")),
                id_of(&format!("{base}\x1f#3")),
            ]
        );
        // A couple sharing an email: the name keeps their ids apart with no numbering.
        let mut john = p(2, "John", "Smith");
        john.email = Some("smiths@example.com".into());
        let mut mary = p(3, "Mary", "Smith");
        mary.email = Some("smiths@example.com".into());
        let got: Vec<String> = ids(&[john, mary])
            .into_iter()
            .map(|d| d.unwrap().id)
            .collect();
        assert_eq!(
            got,
            vec![
                id_of("kb1\x1femail\x1fsmiths@example.com\x1fjohn\x1fsmith"),
                id_of("kb1\x1femail\x1fsmiths@example.com\x1fmary\x1fsmith"),
            ]
        );
    }

    #[test]
    fn a_rerun_derives_the_same_ids_and_rows_moving_do_not_matter() {
        let mut people = Vec::new();
        for i in 0..50u32 {
            let mut x = p(i + 2, &format!("F{}", i % 7), "Lima");
            if i % 2 == 0 {
                x.email = Some(format!("p{}@example.com", i % 11));
            }
            if i % 3 == 0 {
                x.mobile = Some(format!("+1404555{:04}", i % 13));
            }
            people.push(x);
        }
        let once = ids(&people);
        assert_eq!(once, ids(&people));
        // Every id has the documented shape, and no two people share one.
        let all: Vec<&str> = once
            .iter()
            .map(|d| d.as_ref().unwrap().id.as_str())
            .collect();
        assert!(all.iter().all(|id| {
            id.len() == 19
                && id.starts_with("kb-")
                && id[3..]
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        }));
        let mut unique = all.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), all.len());
        // A person written with the same email and name in another sheet, on another row,
        // derives the same id.
        let mut moved = p(90, "Ana", "Lima");
        moved.email = Some("ANA@example.com".into());
        let mut here = p(2, "Ana", "Lima");
        here.email = Some("ana@example.com".into());
        assert_eq!(
            ids(&[moved])[0].as_ref().unwrap().id,
            ids(&[here])[0].as_ref().unwrap().id
        );
    }
}
