//! The firm's keys of a record (`case_number`; `external_source` + `external_source_id`; a
//! client's email and mobile): which fields make each key, whether two Kayse ids may share it,
//! and how a key's value is written in the ledger. Pure: no SQL, no I/O.
//!
//! The rules are tables, one per entity, so clients are one more `static` and no new mechanism.
//! When the entity tables (`src/entity`) grow their key lists, these can be read from there.

use serde_json::Value;

/// One kind of firm key of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRule {
    /// The name stored in the ledger and shown to people: `case_number`, `external`, `email`.
    pub name: &'static str,
    /// The fields whose values together make the key, in order.
    pub fields: &'static [&'static str],
    /// At most one live Kayse id per value. A second id for a unique key is a conflict, never an
    /// overwrite. Emails and phones are not unique: two people of one family may share one.
    pub unique: bool,
    /// Compare without regard to letter case (emails).
    pub fold_case: bool,
}

/// Cases: Kayse calls `case_number` the unique case identifier, and the external pair names
/// the case in the firm's own system.
pub static CASE_KEYS: &[KeyRule] = &[
    KeyRule {
        name: "case_number",
        fields: &["case_number"],
        unique: true,
        fold_case: false,
    },
    KeyRule {
        name: "external",
        fields: &["external_source", "external_source_id"],
        unique: true,
        fold_case: false,
    },
];

/// Clients: the external pair is the firm's id for the person; email and mobile (E.164, as the
/// checks write it) find a person again but may be shared.
pub static CLIENT_KEYS: &[KeyRule] = &[
    KeyRule {
        name: "external",
        fields: &["external_source", "external_source_id"],
        unique: true,
        fold_case: false,
    },
    KeyRule {
        name: "email",
        fields: &["email"],
        unique: false,
        fold_case: true,
    },
    KeyRule {
        name: "mobile",
        fields: &["mobile"],
        unique: false,
        fold_case: false,
    },
];

/// The key rules of an entity by its name (`cases`, `clients`); none for any other.
pub fn rules(entity: &str) -> &'static [KeyRule] {
    match entity {
        "cases" => CASE_KEYS,
        "clients" => CLIENT_KEYS,
        _ => &[],
    }
}

/// The rule of an entity called `name`, if there is one.
pub fn rule(entity: &str, name: &str) -> Option<&'static KeyRule> {
    rules(entity).iter().find(|r| r.name == name)
}

/// One key value of a record, as the ledger stores it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// The rule's name.
    pub rule: String,
    /// One field: its text. Several: a JSON array of their texts (`["clio","A-17"]`), which
    /// cannot be confused with another pair whatever the values hold.
    pub value: String,
}

impl Key {
    /// For people: `case_number 2024-PI-0001`, `external clio / A-17`.
    pub fn describe(&self) -> String {
        match serde_json::from_str::<Vec<String>>(&self.value) {
            Ok(parts) if self.value.starts_with('[') => {
                format!("{} {}", self.rule, parts.join(" / "))
            }
            _ => format!("{} {}", self.rule, self.value),
        }
    }
}

impl KeyRule {
    /// The key made of `parts` (one per field), or `None` when one of them is blank.
    pub fn key(&self, parts: &[&str]) -> Option<Key> {
        if parts.len() != self.fields.len() || parts.iter().any(|p| p.trim().is_empty()) {
            return None;
        }
        let fold = |p: &str| {
            if self.fold_case {
                p.to_lowercase()
            } else {
                p.to_string()
            }
        };
        let value = if parts.len() == 1 {
            fold(parts[0])
        } else {
            let folded: Vec<String> = parts.iter().map(|p| fold(p)).collect();
            serde_json::to_string(&folded).expect("strings serialise")
        };
        Some(Key {
            rule: self.name.to_string(),
            value,
        })
    }

    /// The key a record's state (a JSON object of fields) holds, if every field of it is set.
    pub fn of_state(&self, state: &Value) -> Option<Key> {
        let texts: Option<Vec<String>> = self
            .fields
            .iter()
            .map(|f| scalar_text(state.get(f)?))
            .collect();
        let texts = texts?;
        let parts: Vec<&str> = texts.iter().map(String::as_str).collect();
        self.key(&parts)
    }
}

/// Every key a state holds under the entity's rules, with its rule.
pub fn keys_of(entity: &str, state: &Value) -> Vec<(&'static KeyRule, Key)> {
    rules(entity)
        .iter()
        .filter_map(|r| r.of_state(state).map(|k| (r, k)))
        .collect()
}

/// A field's value as key text: strings as they are, numbers as written; nothing else is a key.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn k(rule: &str, value: &str) -> Key {
        Key {
            rule: rule.into(),
            value: value.into(),
        }
    }

    #[test]
    fn keys_come_from_the_state_by_the_entity_rules() {
        let table: Vec<(&str, Value, Vec<Key>)> = vec![
            (
                "cases",
                json!({"case_number": "2024-1", "external_source": "clio", "external_source_id": "A-17", "status": "active"}),
                vec![
                    k("case_number", "2024-1"),
                    k("external", r#"["clio","A-17"]"#),
                ],
            ),
            (
                "cases",
                json!({"case_number": "2024-1", "external_source": "clio"}),
                vec![k("case_number", "2024-1")],
            ),
            (
                "cases",
                json!({"case_number": "", "external_source": "clio", "external_source_id": "  "}),
                vec![],
            ),
            ("cases", json!({"case_number": null}), vec![]),
            (
                "cases",
                json!({"case_number": 2024001}),
                vec![k("case_number", "2024001")],
            ),
            ("cases", json!({"case_number": true}), vec![]),
            ("cases", json!("not an object"), vec![]),
            (
                "clients",
                json!({"external_source": "import", "external_source_id": "p-1",
                       "email": "Ann.Lee@Example.COM", "mobile": "+15551234567"}),
                vec![
                    k("external", r#"["import","p-1"]"#),
                    k("email", "ann.lee@example.com"),
                    k("mobile", "+15551234567"),
                ],
            ),
            ("notes", json!({"case_number": "x"}), vec![]),
        ];
        for (entity, state, want) in table {
            let got: Vec<Key> = keys_of(entity, &state)
                .into_iter()
                .map(|(_, k)| k)
                .collect();
            assert_eq!(got, want, "{entity} {state}");
        }
    }

    #[test]
    fn a_pair_cannot_be_confused_with_another_pair() {
        let r = rule("cases", "external").unwrap();
        let a = r.key(&["a,b", "c"]).unwrap();
        let b = r.key(&["a", "b,c"]).unwrap();
        assert_ne!(a, b);
        assert_eq!(r.key(&["only one"]), None);
    }

    #[test]
    fn keys_read_well_in_messages() {
        let table = vec![
            (k("case_number", "2024-1"), "case_number 2024-1"),
            (k("external", r#"["clio","A-17"]"#), "external clio / A-17"),
            (k("email", "a@b.c"), "email a@b.c"),
            (k("case_number", "[odd"), "case_number [odd"),
        ];
        for (key, want) in table {
            assert_eq!(key.describe(), want);
        }
    }

    #[test]
    fn uniqueness_follows_the_rule_tables() {
        let table = vec![
            ("cases", "case_number", Some(true)),
            ("cases", "external", Some(true)),
            ("clients", "external", Some(true)),
            ("clients", "email", Some(false)),
            ("clients", "mobile", Some(false)),
            ("clients", "case_number", None),
        ];
        for (entity, name, want) in table {
            assert_eq!(
                rule(entity, name).map(|r| r.unique),
                want,
                "{entity} {name}"
            );
        }
    }
}
