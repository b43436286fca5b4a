//! A client's mobile number, as firms type it, to E.164 (`+14045550123`) through the
//! `phonenumber` crate (a port of Google's libphonenumber and its numbering plans). Pure: no I/O,
//! no panics on any input, and messages never quote the value (the caller's `RowError` does).
//!
//! What is accepted: any punctuation people put in numbers (`(404) 555-0123`, `404.555.0123`,
//! `404 555 0123`, `+44 20 7946 0958`, `1-404-555-0123`), the international prefix of the default
//! country (`011 44 …` from the US) and the common `00` (`001 404 …`, `0044 …`) even where the
//! default country dials out differently, and a workbook number cell (`4045550123`). A number
//! without a country code is read in the `--default-country`.
//!
//! What is refused, each with its own message: letters (vanity numbers, notes such as "cell"),
//! an extension (`x12`, `ext. 12`, `#12`: a mobile has none, and dropping it would store a
//! switchboard that does not reach the person), too short, too long, an unknown country code, and
//! a number the country's numbering plan does not have.
//!
//! A landline, toll-free or premium number is accepted with a warning: Kayse stores it, but a
//! text message will not reach it.

use std::str::FromStr;

use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, ParseError, PhoneNumber, Type, country};

use crate::cell::Cell;

/// The country of numbers written without a country code (`--default-country`, ISO 3166 two
/// letters). Only countries with a numbering plan in libphonenumber's metadata exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country(country::Id);

impl Default for Country {
    fn default() -> Self {
        Country::US
    }
}

impl Country {
    /// The default of `--default-country`.
    pub const US: Country = Country(country::Id::US);

    /// The two letters, as libphonenumber spells them (`US`, `GB`).
    pub fn code(&self) -> &str {
        self.0.as_ref()
    }
}

impl FromStr for Country {
    type Err = String;

    /// Two letters in any case; `UK` is taken as `GB`, as people write it.
    fn from_str(s: &str) -> Result<Self, String> {
        let upper = s.trim().to_ascii_uppercase();
        let upper = if upper == "UK" {
            "GB".to_owned()
        } else {
            upper
        };
        let refused = || {
            format!(
                "unknown country {:?}; use two letters such as US, CA, GB",
                s.trim()
            )
        };
        if upper.len() != 2 || !upper.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(refused());
        }
        // Every id the crate names has its numbering plan (a test below holds it to that), so
        // the plan database, tens of milliseconds to load, is not loaded by every run's default
        // `--country US`, only by the first number read.
        let id = country::Id::from_str(&upper).map_err(|_| refused())?;
        Ok(Country(id))
    }
}

/// A mobile number ready for Kayse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mobile {
    /// `+` and the digits, as Kayse's examples write it.
    pub e164: String,
    /// Set when the numbering plan says the number cannot receive text messages (a landline,
    /// toll-free or premium number). Not an error: Kayse takes any number in this field.
    pub warning: Option<String>,
}

const EMPTY: &str = "empty";
const LETTERS: &str = "has letters; write the number with digits only (a note such as \"cell\" \
                       belongs in another column)";
const EXTENSION: &str = "has an extension; a mobile number has none: remove it, or leave this \
                         number out";
const BAD_CHARACTER: &str = "has a character a phone number cannot have";
const TOO_SHORT: &str = "too short for a phone number";
const TOO_LONG: &str = "too long for a phone number";
const UNKNOWN_CODE: &str = "has an unknown country code";
/// Added to a refusal of a workbook number cell, where the cause is often Excel itself.
const NUMBER_CELL_HINT: &str = "; a number cell loses a leading 0 or +: format the column as Text \
                                and type the number again";

/// E.164 never has more than 15 digits; with an international prefix (`011`) and a trunk digit
/// typed by habit, 19 is the most a real number can show.
const MAX_DIGITS: usize = 19;

/// Read a mobile number from a cell. Text and whole-number cells are read; any other cell is
/// refused. `default` is the country of numbers written without a country code.
pub fn parse_mobile(cell: &Cell, default: Country) -> Result<Mobile, String> {
    match cell {
        Cell::Empty => Err(EMPTY.into()),
        Cell::Text(s) => parse_mobile_text(s, default),
        Cell::Int(i) if *i > 0 => {
            parse_mobile_text(&i.to_string(), default).map_err(|e| format!("{e}{NUMBER_CELL_HINT}"))
        }
        Cell::Int(_) => Err(format!("not a phone number{NUMBER_CELL_HINT}")),
        Cell::Float(_) => Err(
            "a number cell with decimals, not a phone number; format the column as Text and type \
             the number again"
                .into(),
        ),
        Cell::Bool(_) => Err("a yes/no cell, not a phone number".into()),
        Cell::Date(_) | Cell::DateTime(_) => Err("a date cell, not a phone number".into()),
        Cell::Error(_) => Err("an error cell (such as #N/A), not a phone number".into()),
    }
}

/// Read a mobile number from text (see the module comment for what is accepted).
pub fn parse_mobile_text(text: &str, default: Country) -> Result<Mobile, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(EMPTY.into());
    }
    let digits = screen(text)?;
    if digits.len() > MAX_DIGITS {
        return Err(TOO_LONG.into());
    }
    let plus = text.starts_with('+');
    // As written first; then, for `00…` that the default country's own rules did not read as an
    // international call, `00` as `+` (what most of the world dials, and what a US firm gets
    // from a client abroad). Only when the plain reading is not a valid number, so it never
    // replaces one that is.
    let first = read(&digits, plus, default);
    if first.is_ok() || plus || !digits.starts_with("00") {
        return first;
    }
    match read(&digits[2..], true, default) {
        Ok(m) => Ok(m),
        Err(_) => first,
    }
}

/// Check the characters and return the digits. Letters are refused, with extensions (`x12`,
/// `ext. 12`, `extension 12`, `#12`) called by their name.
fn screen(text: &str) -> Result<String, String> {
    let mut digits = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            '(' | ')' | '-' | '.' | '/' | '\u{2010}'..='\u{2015}' => {}
            c if c.is_whitespace() => {}
            '#' if !digits.is_empty() => return Err(EXTENSION.into()),
            c if c.is_alphabetic() => {
                return Err(if is_extension(&text[i..]) {
                    EXTENSION.into()
                } else {
                    LETTERS.into()
                });
            }
            _ => return Err(BAD_CHARACTER.into()),
        }
    }
    if digits.is_empty() {
        return Err("has no digits".into());
    }
    Ok(digits)
}

/// Whether `rest` (from the first letter on) is an extension marker followed by digits.
fn is_extension(rest: &str) -> bool {
    let lower = rest.to_lowercase();
    let word_end = lower
        .find(|c: char| !c.is_alphabetic())
        .unwrap_or(lower.len());
    let (word, after) = lower.split_at(word_end);
    let after = after.trim_start_matches(['.', ':', ' ', '\u{a0}', '#']);
    matches!(word, "x" | "ext" | "extn" | "extension")
        && !after.is_empty()
        && after
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace())
}

/// One reading of the digits through libphonenumber.
///
/// `phonenumber` 0.3.10 strips the national prefix of the *default* country from a number that
/// names its own country (`+33 1 42 68 53 00` read with US as default loses the `1`), so a
/// number with a country code is always parsed with no default, and one that opens with the
/// default country's international prefix (`011 33 …` from the US) is re-read as `+33 …`.
fn read(digits: &str, plus: bool, default: Country) -> Result<Mobile, String> {
    let number = if plus {
        phonenumber::parse(None, format!("+{digits}"))
    } else {
        phonenumber::parse(Some(default.0), digits)
    }
    .map_err(refusal)?;
    if number.code().source() == country::Source::Idd
        && !plus
        && let Some(rest) = after_international_prefix(digits, default)
    {
        return read(rest, true, default);
    }
    if number.extension().is_some() {
        return Err(EXTENSION.into());
    }
    if !number.is_valid() {
        return Err(invalid(&number, digits, default));
    }
    let e164 = number.format().mode(Mode::E164).to_string();
    let warning = match number.number_type(&DATABASE) {
        Type::FixedLine => Some("a landline"),
        Type::TollFree => Some("a toll-free number"),
        Type::PremiumRate => Some("a premium-rate number"),
        Type::SharedCost => Some("a shared-cost number"),
        Type::Pager => Some("a pager number"),
        Type::Uan => Some("a company switchboard number"),
        Type::Voicemail => Some("a voicemail number"),
        _ => None,
    }
    .map(|what| format!("{what} by its country's numbering plan: text messages will not reach it"));
    Ok(Mobile { e164, warning })
}

/// The message for a number libphonenumber could not parse at all.
fn refusal(e: ParseError) -> String {
    match e {
        ParseError::InvalidCountryCode => UNKNOWN_CODE.into(),
        ParseError::TooLong => TOO_LONG.into(),
        ParseError::NoNumber | ParseError::TooShortAfterIdd | ParseError::TooShortNsn => {
            TOO_SHORT.into()
        }
        // All zeros (`000-000-0000`): digits, but no number in them.
        ParseError::MalformedInteger(_) => "not a phone number".into(),
    }
}

/// The digits after the default country's international prefix (`011` in the US), if they
/// start with it.
fn after_international_prefix(digits: &str, default: Country) -> Option<&str> {
    let idd = DATABASE.by_id(default.code())?.international_prefix()?;
    let m = idd.find(digits)?;
    (m.start() == 0 && m.end() < digits.len()).then(|| &digits[m.end()..])
}

/// Every length a national number of these countries can have, over all kinds of line.
fn possible_lengths<'a>(metas: impl IntoIterator<Item = &'a phonenumber::Metadata>) -> Vec<u16> {
    const KINDS: [Type; 10] = [
        Type::FixedLine,
        Type::Mobile,
        Type::TollFree,
        Type::PremiumRate,
        Type::SharedCost,
        Type::PersonalNumber,
        Type::Voip,
        Type::Pager,
        Type::Uan,
        Type::Voicemail,
    ];
    let mut lengths: Vec<u16> = metas
        .into_iter()
        .flat_map(|m| {
            KINDS
                .iter()
                .filter_map(|k| m.descriptors().get(*k))
                .flat_map(|d| d.possible_length().iter().copied())
        })
        .collect();
    lengths.sort_unstable();
    lengths.dedup();
    lengths
}

/// Why a parsed number is not valid: too short or too long for every line of its country, else
/// simply not in the plan. A number written with `+` is measured without its country code; one
/// written without is measured as typed against the default country, allowing one trunk prefix
/// typed by habit (`1` in the US, `0` in the UK).
fn invalid(number: &PhoneNumber, digits: &str, default: Country) -> String {
    let code = number.code().value();
    // `Number`: the digits began with the default country's own code, typed without a `+`.
    let written_without_plus = matches!(
        number.code().source(),
        country::Source::Default | country::Source::Number
    );
    let (lengths, typed, prefix) = if written_without_plus {
        let meta = DATABASE.by_id(default.code());
        let prefix = meta.and_then(|m| m.national_prefix()).unwrap_or("");
        (possible_lengths(meta), digits.len(), prefix)
    } else {
        let lengths = possible_lengths(DATABASE.by_code(&code).unwrap_or_default());
        (lengths, number.national().to_string().len(), "")
    };
    let (Some(&min), Some(&max)) = (lengths.first(), lengths.last()) else {
        return UNKNOWN_CODE.into();
    };
    let (min, max) = (usize::from(min), usize::from(max));
    let trunk = if digits.starts_with(prefix) {
        prefix.len()
    } else {
        0
    };
    if typed < min {
        TOO_SHORT.into()
    } else if typed > max + trunk {
        TOO_LONG.into()
    } else if written_without_plus {
        format!(
            "not a valid {} number; if it is from another country, write it with + and its \
             country code",
            default.code()
        )
    } else {
        format!("not a valid number for country code +{code}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn us() -> Country {
        Country::default()
    }

    fn c(s: &str) -> Country {
        s.parse().unwrap()
    }

    #[test]
    fn accepted() {
        let t = |s: &str| Cell::Text(s.into());
        let cases: &[(Cell, Country, &str)] = &[
            (t("(404) 555-0123"), us(), "+14045550123"),
            (t("404.555.0123"), us(), "+14045550123"),
            (t("404 555 0123"), us(), "+14045550123"),
            (t("404-555-0123"), us(), "+14045550123"),
            (t("4045550123"), us(), "+14045550123"),
            (t("  404/555-0123  "), us(), "+14045550123"),
            (t("404\u{a0}555\u{a0}0123"), us(), "+14045550123"),
            (t("404\u{2013}555\u{2013}0123"), us(), "+14045550123"),
            (t("1-404-555-0123"), us(), "+14045550123"),
            (t("1 (404) 555-0123"), us(), "+14045550123"),
            (t("+1 404 555 0123"), us(), "+14045550123"),
            (t("+14045550123"), us(), "+14045550123"),
            (t("+1 (404) 555-0123"), c("GB"), "+14045550123"),
            (t("001 404 555 0123"), us(), "+14045550123"),
            (t("00 1 404 555 0123"), us(), "+14045550123"),
            (t("011 1 404 555 0123"), us(), "+14045550123"),
            (t("+44 20 7946 0958"), us(), "+442079460958"),
            (t("+44 (0)20 7946 0958"), us(), "+442079460958"),
            (t("0044 20 7946 0958"), us(), "+442079460958"),
            (t("011 44 20 7946 0958"), us(), "+442079460958"),
            (t("020 7946 0958"), c("GB"), "+442079460958"),
            (t("07400 123456"), c("gb"), "+447400123456"),
            (t("07400 123456"), c("UK"), "+447400123456"),
            (t("+44 7400 123456"), us(), "+447400123456"),
            (t("0044 7400 123456"), us(), "+447400123456"),
            (t("011 33 1 42 68 53 00"), us(), "+33142685300"),
            (t("+33 1 42 68 53 00"), us(), "+33142685300"),
            (t("+39 06 1234 5678"), c("GB"), "+390612345678"),
            (t("(416) 555-0199"), c("CA"), "+14165550199"),
            (t("416 555 0199"), us(), "+14165550199"),
            (t("0612345678"), c("FR"), "+33612345678"),
            (t("+33 6 12 34 56 78"), us(), "+33612345678"),
            (t("+52 55 1234 5678"), us(), "+525512345678"),
            (t("+61 412 345 678"), us(), "+61412345678"),
            (t("0011 61 412 345 678"), c("AU"), "+61412345678"),
            (t("+39 06 1234 5678"), us(), "+390612345678"),
            (Cell::Int(4045550123), us(), "+14045550123"),
            (Cell::Int(14045550123), us(), "+14045550123"),
            (Cell::Int(447400123456), c("GB"), "+447400123456"),
        ];
        for (cell, country, want) in cases {
            let got = parse_mobile(cell, *country);
            assert_eq!(
                got.as_ref().map(|m| m.e164.as_str()),
                Ok(*want),
                "{cell:?} in {country:?}"
            );
        }
    }

    #[test]
    fn refused_with_messages() {
        let t = |s: &str| Cell::Text(s.into());
        let cases: &[(Cell, Country, &str)] = &[
            (Cell::Empty, us(), EMPTY),
            (t("   "), us(), EMPTY),
            (t("555-0123"), us(), TOO_SHORT),
            (t("0123"), us(), TOO_SHORT),
            (t("12"), us(), TOO_SHORT),
            (t("4045550123456789"), us(), TOO_LONG),
            (t("40455501234567890123"), us(), TOO_LONG),
            (t("1-800-FLOWERS"), us(), LETTERS),
            (t("404-555-0123 cell"), us(), LETTERS),
            (t("cell: 404-555-0123"), us(), LETTERS),
            (t("n/a"), us(), LETTERS),
            (t("none"), us(), LETTERS),
            (t("404-555-0123 x12"), us(), EXTENSION),
            (t("404-555-0123x12"), us(), EXTENSION),
            (t("404-555-0123 ext. 12"), us(), EXTENSION),
            (t("404-555-0123 Ext 12"), us(), EXTENSION),
            (t("404-555-0123 extension 12"), us(), EXTENSION),
            (t("404-555-0123 #12"), us(), EXTENSION),
            (t("404-555-0123;ext=12"), us(), BAD_CHARACTER),
            (t("404*555*0123"), us(), BAD_CHARACTER),
            (t("#404 555 0123"), us(), BAD_CHARACTER),
            (t("404_555_0123"), us(), BAD_CHARACTER),
            (t("404+555+0123"), us(), BAD_CHARACTER),
            (t("+"), us(), "has no digits"),
            (t("()-"), us(), "has no digits"),
            (t("+999 1234 5678"), us(), UNKNOWN_CODE),
            (
                t("123-456-7890"),
                us(),
                "not a valid US number; if it is from another country, write it with + and its \
                 country code",
            ),
            (t("000-000-0000"), us(), "not a phone number"),
            (
                t("+1 123 456 7890"),
                us(),
                "not a valid number for country code +1",
            ),
            (t("+44 20 7946"), us(), TOO_SHORT),
            (
                Cell::Int(7400123456),
                us(),
                "not a valid US number; if it is from another country, write it with + and its \
                 country code; a number cell loses a leading 0 or +: format the column as Text \
                 and type the number again",
            ),
            (
                Cell::Int(0),
                us(),
                "not a phone number; a number cell loses a leading 0 or +: format the column as \
                 Text and type the number again",
            ),
            (
                Cell::Float(4045550123.5),
                us(),
                "a number cell with decimals, not a phone number; format the column as Text and \
                 type the number again",
            ),
            (Cell::Bool(true), us(), "a yes/no cell, not a phone number"),
            (
                Cell::Error("#N/A".into()),
                us(),
                "an error cell (such as #N/A), not a phone number",
            ),
        ];
        for (cell, country, want) in cases {
            assert_eq!(
                parse_mobile(cell, *country),
                Err((*want).to_owned()),
                "{cell:?} in {country:?}"
            );
        }
    }

    #[test]
    fn landlines_are_accepted_with_a_warning() {
        let cases: &[(&str, Option<&str>)] = &[
            ("+44 20 7946 0958", Some("a landline")),
            ("+44 7400 123456", None),
            ("404 555 0123", None), // US plans do not tell mobiles from landlines
            ("1-800-555-0199", Some("a toll-free number")),
            ("+33 1 42 68 53 00", Some("a landline")),
        ];
        for (text, want) in cases {
            let got = parse_mobile_text(text, us()).unwrap();
            match want {
                None => assert_eq!(got.warning, None, "{text}"),
                Some(w) => assert_eq!(
                    got.warning.as_deref(),
                    Some(
                        format!(
                            "{w} by its country's numbering plan: text messages will not reach it"
                        )
                        .as_str()
                    ),
                    "{text}"
                ),
            }
        }
    }

    #[test]
    fn countries() {
        let ok: &[(&str, &str)] = &[
            ("US", "US"),
            ("us", "US"),
            (" gb ", "GB"),
            ("UK", "GB"),
            ("ca", "CA"),
        ];
        for (s, want) in ok {
            assert_eq!(
                s.parse::<Country>().map(|c| c.code().to_owned()),
                Ok((*want).to_owned()),
                "{s}"
            );
        }
        for s in ["", "USA", "U", "ZZ", "12", "Ü1", "XX"] {
            assert_eq!(
                s.parse::<Country>(),
                Err(format!(
                    "unknown country {:?}; use two letters such as US, CA, GB",
                    s.trim()
                )),
                "{s}"
            );
        }
        assert_eq!(Country::default().code(), "US");
        // A country is taken by its id alone: every id that parses must have its plan.
        for a in b'A'..=b'Z' {
            for b in b'A'..=b'Z' {
                let code = String::from_utf8(vec![a, b]).unwrap();
                if let Ok(c) = code.parse::<Country>() {
                    assert!(DATABASE.by_id(c.code()).is_some(), "{code} has no plan");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(s in "\\PC{0,40}") {
            let _ = parse_mobile_text(&s, us());
        }

        #[test]
        fn never_panics_on_phone_like_text(s in "[+0-9 ()\\-.x#]{0,30}") {
            if let Ok(m) = parse_mobile_text(&s, us()) {
                prop_assert!(m.e164.starts_with('+'));
                prop_assert!(m.e164[1..].bytes().all(|b| b.is_ascii_digit()));
                prop_assert!(m.e164.len() <= 16);
            }
        }

        #[test]
        fn never_panics_on_any_number_cell(i in any::<i64>()) {
            let _ = parse_mobile(&Cell::Int(i), us());
        }

        #[test]
        fn punctuation_does_not_change_the_number(
            area in 201u32..990, exchange in 200u32..999, line in 0u32..10_000
        ) {
            let plain = format!("{area}{exchange}{line:04}");
            let dotted = format!("({area}) {exchange}-{line:04}");
            prop_assert_eq!(
                parse_mobile_text(&plain, us()),
                parse_mobile_text(&dotted, us())
            );
        }
    }
}
