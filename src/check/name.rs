//! Splitting one name column (`Client`, `Client Name`, as a Clio matters report has it) into
//! the first and last name Kayse requires. Pure: no I/O, no panics on any input. A value that
//! cannot be split safely is refused with the reason, never guessed; what a split drops (titles,
//! suffixes, nicknames) is returned so the Clients sheet can show it.
//!
//! The rules, in order:
//! 1. Refused outright: digits; characters no name has (`@`, `;`…); two people (`and`, `&`,
//!    `+`, `/`, `et al`); a company or organisation (`LLC`, `Inc`, `Holdings`, `Trust`…); an
//!    estate or a role (`Estate of`, `c/o`, `as guardian`, `a/k/a`…).
//! 2. Dropped and reported: a nickname in quotes or brackets (`Robert "Bob" Smith`), titles
//!    before the name (`Dr.`, `Mr.`, `Mrs.`, `Ms.`…) and suffixes after it (`Jr.`, `Sr.`, `II`,
//!    `III`, `IV`, `Esq.`, `MD`…), also when set off by a comma (`John Smith, Jr.`).
//! 3. One comma: `Last, First`; both sides must remain. More than one comma is refused.
//! 4. No comma: `First … Last`. The last word is the last name, together with the particles
//!    just before it (`de la Cruz`, `van der Berg`, `Van Damme`, `St. John`); every word before
//!    stays in the first name, so middle names and initials are kept there (`John Q.`), as Kayse
//!    has no middle-name field and nothing is lost. One word is refused, and so is a last name
//!    that is only an initial (`John S.`).
//!
//! Words are kept as typed (case, hyphens and apostrophes: `O'Brien`, `Smith-Jones`). A
//! multi-word surname without a particle (`García Márquez`) cannot be told from a middle name
//! when written `First Last`; `Last, First` is the unambiguous form, and the help says so.

/// A name split into what Kayse stores, and what was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameSplit {
    pub first: String,
    pub last: String,
    /// Titles, suffixes and nicknames, as typed, in the order they appeared.
    pub dropped: Vec<String>,
}

const EMPTY: &str = "empty";
const ONE_WORD: &str =
    "one word; a client needs a first and a last name (write \"First Last\" or \"Last, First\")";
const ONLY_TITLES: &str = "has only titles or suffixes, no name";
const TOO_MANY_COMMAS: &str = "has more than one comma; write \"First Last\" or \"Last, First\"";

/// Words that make a value two people.
const TWO_PEOPLE: &[&str] = &["and", "&", "+", "/", "et al", "et al."];

/// Words that make a value an organisation. Compared without dots and case, as whole words.
const ORGANISATION: &[&str] = &[
    "llc",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "company",
    "ltd",
    "limited",
    "llp",
    "lp",
    "plc",
    "pllc",
    "gmbh",
    "holdings",
    "group",
    "partners",
    "partnership",
    "associates",
    "trust",
    "foundation",
    "fund",
    "bank",
    "insurance",
    "hospital",
    "university",
    "college",
    "school",
    "association",
    "services",
    "solutions",
    "enterprises",
    "industries",
    "agency",
    "department",
    "dept",
    "county",
    "district",
    "council",
    "authority",
    "family",
    "household",
];

/// Words and phrases that make a value an estate, a representative or an alias: not one
/// person's name. Matched as whole words, without case.
const ROLE: &[&str] = &[
    "estate",
    "deceased",
    "decd",
    "dec'd",
    "c/o",
    "obo",
    "o/b/o",
    "aka",
    "a/k/a",
    "fka",
    "f/k/a",
    "dba",
    "d/b/a",
    "guardian",
    "next friend",
    "a minor",
    "heirs",
    "trustee",
    "executor",
    "executrix",
    "administrator",
    "administratrix",
    "conservator",
    "ppa",
    "p/p/a",
    "as",
];

/// Titles before a name. Compared without dots and case.
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "hon", "sir", "dame", "capt", "sgt",
    "lt", "col", "gen", "atty",
];

/// Suffixes after a name. Compared without dots and case. Left out because they are also
/// names or initials: `V`, `DO` (Do is a surname), `PA`, `NP`.
const SUFFIXES: &[&str] = &[
    "jr", "sr", "ii", "iii", "iv", "esq", "esquire", "md", "phd", "dds", "dmd", "dvm", "jd", "cpa",
    "rn", "mba", "ret",
];

/// Words that belong to the surname after them. Compared without dots and case.
const PARTICLES: &[&str] = &[
    "de", "del", "della", "der", "den", "des", "di", "da", "dos", "das", "du", "la", "le", "lo",
    "van", "von", "ter", "ten", "st", "ste", "saint", "bin", "ibn", "al", "el",
    "mac",
    // Not `lo`: a surname of its own (Kevin Lo).
];

/// What a split leaves out, gathered by kind and reported titles first, then nicknames, then
/// suffixes (each kind in reading order).
#[derive(Default)]
struct Dropped {
    titles: Vec<String>,
    nicknames: Vec<String>,
    suffixes: Vec<String>,
}

/// Split one name cell's text. See the module comment for the rules.
pub fn split_name(text: &str) -> Result<NameSplit, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        return Err(EMPTY.into());
    }
    let joined = words.join(" ");
    refuse_by_content(&joined)?;
    let mut dropped = Dropped::default();
    let rest = take_nicknames(&joined, &mut dropped.nicknames)?;

    // Commas: trailing parts that are only suffixes are dropped (`John Smith, Jr.`); one comma
    // left means `Last, First`.
    let mut parts: Vec<&str> = rest.split(',').map(str::trim).collect();
    let mut comma_suffixes = Vec::new();
    while parts.len() > 1 {
        let tail = parts[parts.len() - 1];
        let tokens: Vec<&str> = tail.split_whitespace().collect();
        if tokens.is_empty() || !tokens.iter().all(|t| is_in(t, SUFFIXES)) {
            break;
        }
        comma_suffixes.splice(0..0, tokens.iter().map(|t| (*t).to_owned()));
        parts.pop();
    }
    let (first, last) = match parts.as_slice() {
        [whole] => first_last(whole, &mut dropped)?,
        [last, first] => last_comma_first(last, first, &mut dropped)?,
        _ => return Err(TOO_MANY_COMMAS.into()),
    };
    let Dropped {
        mut titles,
        nicknames,
        suffixes,
    } = dropped;
    titles.extend(nicknames);
    titles.extend(suffixes);
    titles.extend(comma_suffixes);
    Ok(NameSplit {
        first,
        last,
        dropped: titles,
    })
}

/// Rule 1: what makes a value something other than one person's name.
fn refuse_by_content(s: &str) -> Result<(), String> {
    if s.chars().any(|c| c.is_numeric()) {
        return Err("has digits; a person's name has none".into());
    }
    if let Some(c) = s.chars().find(|c| {
        !(c.is_alphabetic()
            || c.is_whitespace()
            || matches!(
                c,
                '.' | ','
                    | '\''
                    | '\u{2019}'
                    | '\u{2018}'
                    | '-'
                    | '\u{2010}'
                    | '('
                    | ')'
                    | '"'
                    | '\u{201c}'
                    | '\u{201d}'
                    | '&'
                    | '/'
                    | '+'
            ))
    }) {
        return Err(format!("has a character a name cannot have: {c:?}"));
    }
    let lower = format!(" {} ", s.to_lowercase().replace(',', " , "));
    let has = |w: &str| lower.contains(&format!(" {w} "));
    // `+`, `&` and `/` also count when written without spaces (`John&Mary`), except `/`
    // inside the roles below (`c/o`).
    if let Some(w) = TWO_PEOPLE.iter().find(|w| has(w)) {
        return Err(two_people(w));
    }
    if s.contains(['&', '+']) {
        return Err(two_people(if s.contains('&') { "&" } else { "+" }));
    }
    if let Some(w) = ROLE.iter().find(|w| has(w)) {
        return Err(format!(
            "names an estate, a representative or an alias (\"{w}\"), not one person"
        ));
    }
    if s.contains('/') {
        return Err(two_people("/"));
    }
    for word in lower.split(|c: char| c.is_whitespace() || c == ',') {
        let bare = word
            .trim_matches(|c: char| !c.is_alphabetic())
            .replace('.', "");
        if ORGANISATION.contains(&bare.as_str()) {
            return Err(format!(
                "looks like a company or organisation (\"{bare}\"), not a person"
            ));
        }
    }
    Ok(())
}

fn two_people(word: &str) -> String {
    format!(
        "names more than one person (\"{word}\"); give each person their own columns (Client, \
         Client 2 …)"
    )
}

/// Rule 2, nicknames: text in `"…"`, `“…”` or `(…)`, and single words in `'…'`, are dropped.
fn take_nicknames(s: &str, dropped: &mut Vec<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let close = match c {
            '"' => '"',
            '\u{201c}' => '\u{201d}',
            '(' => ')',
            ')' | '\u{201d}' => return Err(UNBALANCED.into()),
            _ => {
                out.push(c);
                continue;
            }
        };
        let Some(len) = s[i + c.len_utf8()..].find(close) else {
            return Err(UNBALANCED.into());
        };
        let end = i + c.len_utf8() + len + close.len_utf8();
        let inner = s[i + c.len_utf8()..end - close.len_utf8()].trim();
        if inner.is_empty() || inner.contains(['"', '(', ')', '\u{201c}', '\u{201d}']) {
            return Err(UNBALANCED.into());
        }
        dropped.push(s[i..end].to_owned());
        out.push(' ');
        while chars.peek().is_some_and(|(j, _)| *j < end) {
            chars.next();
        }
    }
    let words: Vec<&str> = out
        .split_whitespace()
        .filter(|w| {
            let quoted = w.chars().count() >= 3
                && (w.starts_with('\'') && w.ends_with('\'')
                    || w.starts_with('\u{2018}') && w.ends_with('\u{2019}'));
            if quoted {
                dropped.push((*w).to_owned());
            }
            !quoted
        })
        .collect();
    Ok(words.join(" "))
}

const UNBALANCED: &str = "has quotes or brackets that do not pair up";

/// Whether a word, without dots and case, is in a list.
fn is_in(word: &str, list: &[&str]) -> bool {
    let bare: String = word
        .chars()
        .filter(|c| *c != '.')
        .flat_map(char::to_lowercase)
        .collect();
    list.contains(&bare.as_str())
}

/// Drop titles from the front and suffixes from the back of a list of words.
fn strip<'a>(mut words: Vec<&'a str>, dropped: &mut Dropped) -> Vec<&'a str> {
    let titles = words.iter().take_while(|w| is_in(w, TITLES)).count();
    dropped
        .titles
        .extend(words.drain(..titles).map(str::to_owned));
    let keep = words.len()
        - words
            .iter()
            .skip(1)
            .rev()
            .take_while(|w| is_in(w, SUFFIXES))
            .count();
    dropped
        .suffixes
        .extend(words.drain(keep..).map(str::to_owned));
    words
}

/// Rule 4: `First … Last`.
fn first_last(whole: &str, dropped: &mut Dropped) -> Result<(String, String), String> {
    let words = strip(whole.split_whitespace().collect(), dropped);
    match words.len() {
        0 => return Err(ONLY_TITLES.into()),
        1 => return Err(ONE_WORD.into()),
        _ => {}
    }
    let mut start = words.len() - 1;
    while start > 1 && is_in(words[start - 1], PARTICLES) {
        start -= 1;
    }
    let last = &words[start..];
    if last.len() == 1 && is_initial(last[0]) {
        return Err(INITIAL_ONLY.into());
    }
    Ok((words[..start].join(" "), last.join(" ")))
}

/// Rule 3: `Last, First`.
fn last_comma_first(
    last: &str,
    first: &str,
    dropped: &mut Dropped,
) -> Result<(String, String), String> {
    if last.is_empty() {
        return Err("has nothing before the comma; write \"Last, First\"".into());
    }
    if first.is_empty() {
        return Err("has nothing after the comma; write \"Last, First\"".into());
    }
    let first_words = strip(first.split_whitespace().collect(), dropped);
    let last_words = strip(last.split_whitespace().collect(), dropped);
    if last_words.is_empty() || first_words.is_empty() {
        return Err(ONLY_TITLES.into());
    }
    if last_words.len() == 1 && is_initial(last_words[0]) {
        return Err(INITIAL_ONLY.into());
    }
    Ok((first_words.join(" "), last_words.join(" ")))
}

const INITIAL_ONLY: &str = "the last name is only an initial";

/// `J`, `J.`: one letter, with or without a dot.
fn is_initial(word: &str) -> bool {
    word.trim_end_matches('.').chars().count() == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn split() {
        #[rustfmt::skip]
        let cases: &[(&str, &str, &str, &[&str])] = &[
            ("John Smith", "John", "Smith", &[]),
            ("  John   Smith ", "John", "Smith", &[]),
            ("JOHN SMITH", "JOHN", "SMITH", &[]),
            ("Smith, John", "John", "Smith", &[]),
            ("Smith,John", "John", "Smith", &[]),
            ("SMITH, JOHN Q.", "JOHN Q.", "SMITH", &[]),
            ("John Quincy Adams", "John Quincy", "Adams", &[]),
            ("John Q. Adams", "John Q.", "Adams", &[]),
            ("J. R. Smith", "J. R.", "Smith", &[]),
            ("J.R. Smith", "J.R.", "Smith", &[]),
            ("Mary Ann Smith-Jones", "Mary Ann", "Smith-Jones", &[]),
            ("Mary-Kate Olsen", "Mary-Kate", "Olsen", &[]),
            ("Conan O'Brien", "Conan", "O'Brien", &[]),
            ("Conan O\u{2019}Brien", "Conan", "O\u{2019}Brien", &[]),
            ("Maria de la Cruz", "Maria", "de la Cruz", &[]),
            ("Maria Elena de la Cruz", "Maria Elena", "de la Cruz", &[]),
            ("de la Cruz, Maria", "Maria", "de la Cruz", &[]),
            ("Pieter van der Berg", "Pieter", "van der Berg", &[]),
            ("Ludwig van Beethoven", "Ludwig", "van Beethoven", &[]),
            ("Jean-Claude Van Damme", "Jean-Claude", "Van Damme", &[]),
            ("Van Morrison", "Van", "Morrison", &[]),
            ("Mary St. John", "Mary", "St. John", &[]),
            ("Leonardo da Vinci", "Leonardo", "da Vinci", &[]),
            ("Dr. Jane Smith", "Jane", "Smith", &["Dr."]),
            ("Mr John Smith", "John", "Smith", &["Mr"]),
            ("Mrs. Jane Smith", "Jane", "Smith", &["Mrs."]),
            ("Ms. Jane Smith", "Jane", "Smith", &["Ms."]),
            ("Rev. Dr. Martin Luther King Jr.", "Martin Luther", "King", &["Rev.", "Dr.", "Jr."]),
            ("John Smith Jr.", "John", "Smith", &["Jr."]),
            ("John Smith, Jr.", "John", "Smith", &["Jr."]),
            ("John Smith III", "John", "Smith", &["III"]),
            ("John Smith II", "John", "Smith", &["II"]),
            ("John Smith IV", "John", "Smith", &["IV"]),
            ("John Smith Sr", "John", "Smith", &["Sr"]),
            ("Jane Smith, Esq.", "Jane", "Smith", &["Esq."]),
            ("Jane Smith Esq", "Jane", "Smith", &["Esq"]),
            ("Smith, John, Jr.", "John", "Smith", &["Jr."]),
            ("Smith Jr., John", "John", "Smith", &["Jr."]),
            ("Smith, John Jr.", "John", "Smith", &["Jr."]),
            ("Smith, Dr. John", "John", "Smith", &["Dr."]),
            ("Smith, John, MD", "John", "Smith", &["MD"]),
            ("Jane Smith, Esq., Ph.D.", "Jane", "Smith", &["Esq.", "Ph.D."]),
            ("Robert \"Bob\" Smith", "Robert", "Smith", &["\"Bob\""]),
            ("Robert (Bob) Smith", "Robert", "Smith", &["(Bob)"]),
            ("Robert \u{201c}Bob\u{201d} Smith", "Robert", "Smith", &["\u{201c}Bob\u{201d}"]),
            ("Robert 'Bob' Smith", "Robert", "Smith", &["'Bob'"]),
            ("Dr. Robert (Bob) Smith Jr.", "Robert", "Smith", &["Dr.", "(Bob)", "Jr."]),
            ("José Ortega", "José", "Ortega", &[]),
            ("Anh Do", "Anh", "Do", &[]),
            ("Kevin Lo", "Kevin", "Lo", &[]),
            ("Jane Minor", "Jane", "Minor", &[]),
            ("Zoë Ångström", "Zoë", "Ångström", &[]),
            ("John V Smith", "John V", "Smith", &[]),
            ("Smith, J.", "J.", "Smith", &[]),
        ];
        for (input, first, last, dropped) in cases {
            let want = NameSplit {
                first: (*first).into(),
                last: (*last).into(),
                dropped: dropped.iter().map(|s| (*s).to_owned()).collect(),
            };
            assert_eq!(split_name(input), Ok(want), "{input:?}");
        }
    }

    #[test]
    fn refused() {
        let company =
            |w: &str| format!("looks like a company or organisation (\"{w}\"), not a person");
        let role = |w: &str| {
            format!("names an estate, a representative or an alias (\"{w}\"), not one person")
        };
        let cases: Vec<(&str, String)> = vec![
            ("", EMPTY.into()),
            ("   ", EMPTY.into()),
            ("Madonna", ONE_WORD.into()),
            ("Smith", ONE_WORD.into()),
            ("Dr. Smith", ONE_WORD.into()),
            ("Dr.", ONLY_TITLES.into()),
            ("Acme Holdings LLC", company("holdings")),
            ("Acme LLC", company("llc")),
            ("Acme, L.L.C.", company("llc")),
            ("Widget Inc.", company("inc")),
            ("Smith Family Trust", company("family")),
            ("First National Bank", company("bank")),
            ("Estate of John Smith", role("estate")),
            ("John Smith, Deceased", role("deceased")),
            ("Jane Doe as guardian of John Doe", role("guardian")),
            ("Jane Doe as next friend of J.D.", role("next friend")),
            ("Jane Smith c/o John Smith", role("c/o")),
            ("John Smith a/k/a Johnny Smith", role("a/k/a")),
            ("John and Mary Smith", two_people("and")),
            ("Smith, John and Mary", two_people("and")),
            ("John & Mary Smith", two_people("&")),
            ("John&Mary Smith", two_people("&")),
            ("John + Mary Smith", two_people("+")),
            ("John/Mary Smith", two_people("/")),
            ("Smith et al.", two_people("et al.")),
            ("Mr. and Mrs. Smith", two_people("and")),
            (
                "John Smith 2",
                "has digits; a person's name has none".into(),
            ),
            (
                "John Smith #4",
                "has digits; a person's name has none".into(),
            ),
            (
                "john@example.com",
                "has a character a name cannot have: '@'".into(),
            ),
            (
                "Smith; John",
                "has a character a name cannot have: ';'".into(),
            ),
            ("Smith, John, Mary", TOO_MANY_COMMAS.into()),
            (
                ", John",
                "has nothing before the comma; write \"Last, First\"".into(),
            ),
            (
                "Smith,",
                "has nothing after the comma; write \"Last, First\"".into(),
            ),
            (
                "Smith, ",
                "has nothing after the comma; write \"Last, First\"".into(),
            ),
            ("Jane Doe, a minor", role("a minor")),
            ("Smith, Dr.", ONLY_TITLES.into()),
            ("John S.", INITIAL_ONLY.into()),
            ("S., John", INITIAL_ONLY.into()),
            ("Robert \"Bob Smith", UNBALANCED.into()),
            ("Robert Bob) Smith", UNBALANCED.into()),
            ("Robert () Smith", UNBALANCED.into()),
            ("(Bob)", ONLY_TITLES.into()),
        ];
        for (input, want) in &cases {
            assert_eq!(split_name(input), Err(want.clone()), "{input:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = split_name(&s);
        }

        #[test]
        fn never_panics_on_name_like_text(s in "[A-Za-z.,'\"()&/ -]{0,40}") {
            if let Ok(split) = split_name(&s) {
                // A split never invents text: every part came from the input.
                prop_assert!(!split.first.is_empty() && !split.last.is_empty());
                for part in split.first.split(' ').chain(split.last.split(' ')) {
                    prop_assert!(s.contains(part), "{part:?} not in {s:?}");
                }
            }
        }

        #[test]
        fn both_forms_agree(
            first in "[A-Z][a-z]{1,8}", last in "[A-Z][a-z]{1,8}"
        ) {
            let a = split_name(&format!("{first} {last}"));
            let b = split_name(&format!("{last}, {first}"));
            // Either both split the same way, or a word happened to be a listed one.
            if let (Ok(a), Ok(b)) = (&a, &b) {
                prop_assert_eq!(a, b);
                prop_assert_eq!(&a.first, &first);
            }
        }
    }
}
