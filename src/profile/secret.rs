//! What a profile must never hold: the API key. Two pure checks, one on a setting's name and one
//! on a value's shape. They only answer yes or no; they never keep, print or return the value.

/// True when `name` (a profile key such as `api-key` or `kayse_token`) names a secret rather than
/// where one is kept: one of its words is key, token, secret, password… and it does not end in
/// `file` or `path` (`api-key-file` says where the key is, which is what a profile should say).
pub fn names_a_secret(name: &str) -> bool {
    const SECRET_WORDS: &[&str] = &[
        "key",
        "apikey",
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "credential",
        "credentials",
        "bearer",
        "auth",
    ];
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(['-', '_', '.', ' '])
        .filter(|w| !w.is_empty())
        .collect();
    let says_where = matches!(words.last(), Some(&("file" | "path")));
    !says_where && words.iter().any(|w| SECRET_WORDS.contains(w))
}

/// True when `value` has the shape of an API key or token rather than of a path, a URL, a list or
/// a word: long, one unbroken run of key characters, and random-looking. A hex string or UUID of
/// 32+ digits, a JWT, or 20+ characters that mix upper case, lower case and digits and switch
/// between them often (a real word or a file stem such as `OpenCasesFirstQuarter2024` switches
/// rarely; a random key about every other character).
pub fn looks_like_a_key(value: &str) -> bool {
    let v = value.trim();
    if v.len() >= 20 && v.starts_with("eyJ") {
        return true; // base64 of '{"': a JWT or a JSON credential
    }
    let body = v.trim_end_matches('=');
    if body.len() < 20
        || !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return false;
    }
    let has = |f: fn(&u8) -> bool| body.as_bytes().iter().any(f);
    let hex_digits = body.bytes().filter(u8::is_ascii_hexdigit).count();
    let hex = body.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if hex && hex_digits >= 32 && has(u8::is_ascii_digit) && has(u8::is_ascii_alphabetic) {
        return true;
    }
    if !(has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase) && has(u8::is_ascii_digit)) {
        return false;
    }
    let class = |b: u8| match b {
        b'A'..=b'Z' => 0,
        b'a'..=b'z' => 1,
        b'0'..=b'9' => 2,
        _ => 3,
    };
    let bytes = body.as_bytes();
    let switches = bytes
        .windows(2)
        .filter(|w| class(w[0]) != class(w[1]))
        .count();
    switches * 10 >= (bytes.len() - 1) * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        let table = [
            ("api-key", true),
            ("api_key", true),
            ("API-KEY", true),
            ("apikey", true),
            ("key", true),
            ("token", true),
            ("access-token", true),
            ("secret", true),
            ("client_secret", true),
            ("password", true),
            ("kayse-api-key", true),
            ("auth", true),
            ("api-key-file", false),
            ("token-path", false),
            ("base-url", false),
            ("keep", false),
            ("monkey", false),
            ("id-column", false),
            ("out", false),
            ("update-blanks", false),
            ("skip-hidden-rows", false),
        ];
        for (name, want) in table {
            assert_eq!(names_a_secret(name), want, "{name}");
        }
    }

    #[test]
    fn key_shaped_values() {
        let table = [
            ("kLm29sQx8TzP4vWb7nRa", true), // 20 random mixed
            ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", true),
            ("9f86d081884c7d659a2feaa0c55ad015", true), // 32 hex
            ("123e4567-e89b-12d3-a456-426614174000", true), // UUID
            ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc", true), // JWT
            ("Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==", true), // base64 with padding
            ("reports/cases-{date}.xlsx", false),
            ("https://public-api.kayse.ai", false),
            ("OpenCasesFirstQuarter2024Report", false),
            ("kayse-cases-2024-03-05", false),
            ("1001-1050,1060", false),
            ("active,closed,pending", false),
            ("external_source=clio", false),
            ("test-key-Lf27q", false), // short: the name check catches `api-key = ...`
            (
                "Hi {{first_name}}, your hearing is on {{row.Hearing}}.",
                false,
            ),
            ("500/h", false),
            ("C:\\Reports\\cases.xlsx", false),
            ("abcdefabcdefabcdefabcdef", false), // hex-ish letters only, no digit
            ("", false),
        ];
        for (value, want) in table {
            assert_eq!(looks_like_a_key(value), want, "{value}");
        }
    }
}
