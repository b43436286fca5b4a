//! A client's email address: a practical syntax check, not RFC 5322. Pure: no I/O (no DNS, no
//! mail sent), no panics on any input; messages never quote the value (the caller's `RowError`
//! does), though they may name the one character that is wrong.
//!
//! Accepted: one `@`; before it, 1 to 64 characters of letters, digits and
//! ``!#$%&'*+-/=?^_`{|}~`` with dots between (not first, last or doubled); after it, a domain of
//! at least two dot-separated labels of letters, digits and inner hyphens, each at most 63
//! characters, the last not all digits and longer than one; at most 254 characters in all.
//! Letters outside ASCII are allowed on both sides (internationalised addresses exist). The
//! domain is lowercased (domains are case-blind); the part before the `@` is kept as typed,
//! because a mail server may, in principle, tell `John` from `john`.
//!
//! Refused, each with its own message: what a copy from a mail program brings along (a
//! `mailto:` prefix, a display name with `<…>`), two addresses in one cell, spaces, quoted local
//! parts and IP-address domains (legal, but never what a firm means), and every malformed part.
//!
//! No crate is used: `email_address` (the usual one) follows the RFC and so accepts quoted
//! parts, IP literals and dotless domains that this check must refuse anyway; the rules that
//! are left fit in one function.

use crate::cell::Cell;

const EMPTY: &str = "empty";
/// RFC 5321's limit on a path, less the two angle brackets.
const MAX_LEN: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 253;
const MAX_LABEL: usize = 63;

/// Read an email address from a cell; only text cells can hold one.
pub fn parse_email(cell: &Cell) -> Result<String, String> {
    match cell {
        Cell::Empty => Err(EMPTY.into()),
        Cell::Text(s) => parse_email_text(s),
        Cell::Error(_) => Err("an error cell (such as #N/A), not an email address".into()),
        _ => Err("not an email address (no @)".into()),
    }
}

/// Check an address and return it with its domain lowercased.
pub fn parse_email_text(text: &str) -> Result<String, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err(EMPTY.into());
    }
    let lower = s.to_lowercase();
    if lower.starts_with("mailto:") {
        return Err("starts with \"mailto:\"; keep only the address".into());
    }
    if s.contains('<') && s.contains('>') {
        return Err("holds a name as well as the address; keep only the address".into());
    }
    let ats = s.matches('@').count();
    if ats > 1 && s.contains([',', ';', ' ', '/', '\n', '\r', '\t']) {
        return Err("holds more than one address; Kayse takes one per client".into());
    }
    if s.chars().any(char::is_whitespace) {
        return Err("has a space in it".into());
    }
    if s.chars().count() > MAX_LEN {
        return Err(format!("too long ({MAX_LEN} characters at most)"));
    }
    let (local, domain) = match ats {
        0 => return Err("has no @".into()),
        1 => s.split_once('@').unwrap_or_default(),
        _ => return Err("has more than one @".into()),
    };
    check_local(local)?;
    let domain = check_domain(domain)?;
    Ok(format!("{local}@{domain}"))
}

/// The part before the `@`: a dot-atom, kept as typed.
fn check_local(local: &str) -> Result<(), String> {
    if local.is_empty() {
        return Err("has nothing before the @".into());
    }
    if local.chars().count() > MAX_LOCAL {
        return Err(format!(
            "too long before the @ ({MAX_LOCAL} characters at most)"
        ));
    }
    if local.starts_with('"') {
        return Err("has quotes before the @".into());
    }
    if local.starts_with('.') || local.ends_with('.') {
        return Err("has a dot at the start or end of the part before the @".into());
    }
    if local.contains("..") {
        return Err("has two dots in a row".into());
    }
    const SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~.";
    if let Some(c) = local
        .chars()
        .find(|c| !(c.is_alphanumeric() || SPECIALS.contains(*c)))
    {
        return Err(format!(
            "has a character an address cannot have before the @: {c:?}"
        ));
    }
    Ok(())
}

/// The part after the `@`: dotted labels, returned lowercased.
fn check_domain(domain: &str) -> Result<String, String> {
    if domain.is_empty() {
        return Err("has nothing after the @".into());
    }
    if domain.starts_with('[') {
        return Err(
            "has an IP address after the @; use the mail domain (such as example.com)".into(),
        );
    }
    if domain.chars().count() > MAX_DOMAIN {
        return Err(format!(
            "too long after the @ ({MAX_DOMAIN} characters at most)"
        ));
    }
    if let Some(c) = domain
        .chars()
        .find(|c| !(c.is_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Err(format!(
            "has a character a domain cannot have after the @: {c:?}"
        ));
    }
    if !domain.contains('.') {
        return Err("the part after the @ has no dot (such as example.com)".into());
    }
    if domain.starts_with('.') || domain.ends_with('.') {
        return Err("has a dot at the start or end of the part after the @".into());
    }
    if domain.contains("..") {
        return Err("has two dots in a row".into());
    }
    let domain = domain.to_lowercase();
    for label in domain.split('.') {
        if label.starts_with('-') || label.ends_with('-') {
            return Err("has a hyphen at the start or end of a part of the domain".into());
        }
        if label.chars().count() > MAX_LABEL {
            return Err(format!(
                "has a part of the domain longer than {MAX_LABEL} characters"
            ));
        }
    }
    let last = domain.rsplit('.').next().unwrap_or_default();
    if last.chars().all(|c| c.is_ascii_digit()) {
        return Err("the domain ends in a number, not a name such as .com".into());
    }
    if last.chars().count() < 2 {
        return Err("the domain ends in a single letter, not a name such as .com".into());
    }
    Ok(domain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepted() {
        let cases: &[(&str, &str)] = &[
            ("jane@example.com", "jane@example.com"),
            ("  jane@example.com  ", "jane@example.com"),
            ("Jane.Doe@Example.COM", "Jane.Doe@example.com"),
            ("JANE@GMAIL.COM", "JANE@gmail.com"),
            ("jane+intake@example.co.uk", "jane+intake@example.co.uk"),
            ("o'brien@example.ie", "o'brien@example.ie"),
            (
                "j_doe-1@mail.example-firm.com",
                "j_doe-1@mail.example-firm.com",
            ),
            ("x@ex.io", "x@ex.io"),
            (
                "a!#$%&'*+-/=?^_`{|}~@example.com",
                "a!#$%&'*+-/=?^_`{|}~@example.com",
            ),
            ("josé@exámple.es", "josé@exámple.es"),
            ("user@xn--bcher-kva.example", "user@xn--bcher-kva.example"),
            ("user@123.example.com", "user@123.example.com"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_email_text(input).as_deref(), Ok(*want), "{input:?}");
        }
        assert_eq!(
            parse_email(&Cell::Text("A@B.CO".into())).as_deref(),
            Ok("A@b.co")
        );
    }

    #[test]
    fn refused_with_messages() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_label = format!("a@{}.com", "b".repeat(64));
        let long_all = format!("a@{}.com", vec!["b".repeat(60); 5].join("."));
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("   ", "empty"),
            (
                "mailto:jane@example.com",
                "starts with \"mailto:\"; keep only the address",
            ),
            (
                "Jane Doe <jane@example.com>",
                "holds a name as well as the address; keep only the address",
            ),
            (
                "jane@example.com; john@example.com",
                "holds more than one address; Kayse takes one per client",
            ),
            (
                "jane@example.com,john@example.com",
                "holds more than one address; Kayse takes one per client",
            ),
            ("jane doe@example.com", "has a space in it"),
            ("jane@example .com", "has a space in it"),
            ("jane@exa\u{a0}mple.com", "has a space in it"),
            ("jane.example.com", "has no @"),
            ("jane@@example.com", "has more than one @"),
            ("jane@ex@ample.com", "has more than one @"),
            ("@example.com", "has nothing before the @"),
            ("jane@", "has nothing after the @"),
            (&long_local, "too long before the @ (64 characters at most)"),
            ("\"jane\"@example.com", "has quotes before the @"),
            (
                ".jane@example.com",
                "has a dot at the start or end of the part before the @",
            ),
            (
                "jane.@example.com",
                "has a dot at the start or end of the part before the @",
            ),
            ("ja..ne@example.com", "has two dots in a row"),
            (
                "ja,ne@example.com",
                "has a character an address cannot have before the @: ','",
            ),
            (
                "jane(work)@example.com",
                "has a character an address cannot have before the @: '('",
            ),
            (
                "jane@[192.168.0.1]",
                "has an IP address after the @; use the mail domain (such as example.com)",
            ),
            (
                "jane@localhost",
                "the part after the @ has no dot (such as example.com)",
            ),
            (
                "jane@gmail",
                "the part after the @ has no dot (such as example.com)",
            ),
            (
                "jane@.example.com",
                "has a dot at the start or end of the part after the @",
            ),
            (
                "jane@example.com.",
                "has a dot at the start or end of the part after the @",
            ),
            ("jane@example..com", "has two dots in a row"),
            (
                "jane@gmail,com",
                "has a character a domain cannot have after the @: ','",
            ),
            (
                "jane@gmail.c_m",
                "has a character a domain cannot have after the @: '_'",
            ),
            (
                "jane@-example.com",
                "has a hyphen at the start or end of a part of the domain",
            ),
            (
                "jane@example-.com",
                "has a hyphen at the start or end of a part of the domain",
            ),
            (
                &long_label,
                "has a part of the domain longer than 63 characters",
            ),
            (&long_all, "too long (254 characters at most)"),
            (
                "jane@192.168.0.1",
                "the domain ends in a number, not a name such as .com",
            ),
            (
                "jane@example.c",
                "the domain ends in a single letter, not a name such as .com",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_email_text(input),
                Err((*want).to_owned()),
                "{input:?}"
            );
        }
    }

    #[test]
    fn other_cells() {
        let cases: &[(Cell, &str)] = &[
            (Cell::Empty, "empty"),
            (Cell::Int(5), "not an email address (no @)"),
            (Cell::Bool(true), "not an email address (no @)"),
            (
                Cell::Error("#N/A".into()),
                "an error cell (such as #N/A), not an email address",
            ),
        ];
        for (cell, want) in cases {
            assert_eq!(parse_email(cell), Err((*want).to_owned()), "{cell:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = parse_email_text(&s);
        }

        #[test]
        fn accepted_addresses_are_stable(s in "[a-zA-Z0-9._+@-]{1,30}\\.[a-zA-Z]{2,4}") {
            if let Ok(once) = parse_email_text(&s) {
                // Checking again changes nothing, and only the domain's case changed.
                prop_assert_eq!(parse_email_text(&once), Ok(once.clone()));
                prop_assert_eq!(once.to_lowercase(), s.to_lowercase());
                let (local, _) = once.split_once('@').unwrap();
                prop_assert!(s.starts_with(local));
            }
        }
    }
}
