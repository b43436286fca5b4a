//! SMS length rules: the 1,600-character cap, and how many parts a message takes (GSM-7 vs UCS-2).
//! Pure functions, so the checks before sending are exact and fast to test.

/// Longest SMS the tool accepts, in characters.
pub const MAX_CHARS: usize = 1600;

/// GSM 03.38 basic character set (one septet each).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// GSM 03.38 extension table (escape + char: two septets each).
const GSM_EXT: &str = "^{}\\[~]|€\u{c}";

/// How a message is encoded and what it costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    /// Characters as a person counts them.
    pub chars: usize,
    /// True when every character is in the GSM-7 alphabet; else UCS-2.
    pub gsm7: bool,
    /// Length in encoding units: septets for GSM-7 (extension characters count 2), UTF-16 units
    /// for UCS-2.
    pub units: usize,
    /// Parts the message will be split into.
    pub parts: usize,
}

/// Count a message's parts: one part holds 160 GSM-7 / 70 UCS-2 units; longer messages are split
/// into parts of 153 / 67 units.
pub fn segments(text: &str) -> Segments {
    let chars = text.chars().count();
    let mut gsm7 = true;
    let mut septets = 0usize;
    for c in text.chars() {
        if GSM_BASIC.contains(c) {
            septets += 1;
        } else if GSM_EXT.contains(c) {
            septets += 2;
        } else {
            gsm7 = false;
            break;
        }
    }
    let (units, single, multi) = if gsm7 {
        (septets, 160, 153)
    } else {
        (text.encode_utf16().count(), 70, 67)
    };
    let parts = if units <= single {
        1
    } else {
        units.div_ceil(multi)
    };
    Segments {
        chars,
        gsm7,
        units,
        parts,
    }
}

/// Why an SMS cannot be sent as it is, if it cannot.
pub fn check(text: &str) -> Result<Segments, String> {
    let s = segments(text);
    if text.trim().is_empty() {
        return Err("the message is empty".into());
    }
    if s.chars > MAX_CHARS {
        return Err(format!(
            "the SMS is {} characters; at most {MAX_CHARS}",
            s.chars
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        let a160 = "a".repeat(160);
        let a161 = "a".repeat(161);
        let u70 = "ж".repeat(70);
        let u71 = "ж".repeat(71);
        let ext = "€".repeat(80);
        let ext81 = format!("{}a", "€".repeat(80));
        let cases: &[(&str, bool, usize, usize)] = &[
            ("", true, 0, 1),
            ("Hello {{first_name}}", false, 0, 1), // braces are extension chars: still GSM
            (&a160, true, 160, 1),
            (&a161, true, 161, 2),
            (&u70, false, 70, 1),
            (&u71, false, 71, 2),
            (&ext, true, 160, 1),
            (&ext81, true, 161, 2),
            ("emoji 😀", false, 8, 1),
        ];
        for (t, gsm, units, parts) in cases {
            let s = segments(t);
            if t.starts_with("Hello") {
                assert!(s.gsm7);
                assert_eq!(s.units, 24); // 16 plain + 4 braces × 2
                continue;
            }
            assert_eq!((s.gsm7, s.units, s.parts), (*gsm, *units, *parts), "{t}");
        }
        assert_eq!(segments(&"a".repeat(306)).parts, 2);
        assert_eq!(segments(&"a".repeat(307)).parts, 3);
    }

    #[test]
    fn limits() {
        assert!(check(&"a".repeat(1600)).is_ok());
        let e = check(&"a".repeat(1601)).unwrap_err();
        assert!(e.contains("1601"), "{e}");
        assert!(check("  ").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parts_cover_units(s in ".{0,400}") {
            let g = segments(&s);
            let per = if g.gsm7 { 160 } else { 70 };
            proptest::prop_assert!(g.parts >= 1);
            proptest::prop_assert_eq!(g.parts == 1, g.units <= per);
        }
    }
}
