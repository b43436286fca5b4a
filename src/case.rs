//! The typed case payload sent to Kayse and the case record it answers with. Mirrors the schema
//! table in `schema.rs`; a test keeps the two in step. No I/O here.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A case as sent in a create, PUT or bulk upsert. `None` fields are omitted from the JSON, which
/// under PUT means "set to null": callers that update must fill what they want to keep.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Case {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub case_number: String,
    pub external_source: String,
    pub external_source_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_source_data: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub court_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub status: String,
    #[serde(rename = "type")]
    pub case_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_obo: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub court_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ids: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_out_voice_calls: Option<bool>,
}

/// A case as Kayse answers it (POST, PUT, GET, bulk). Lenient on input: unknown keys are ignored
/// and nulls are accepted everywhere, because the live API's answers are not fully documented.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CaseRecord {
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default)]
    pub case_number: Option<String>,
    #[serde(default)]
    pub external_source: Option<String>,
    #[serde(default)]
    pub external_source_id: Option<String>,
    #[serde(default)]
    pub external_source_data: Option<Map<String, Value>>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub court_name: Option<String>,
    #[serde(default)]
    pub jurisdiction: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, rename = "type")]
    pub case_type: Option<String>,
    #[serde(default)]
    pub is_obo: Option<bool>,
    #[serde(default)]
    pub created_date: Option<NaiveDate>,
    #[serde(default)]
    pub court_date: Option<NaiveDate>,
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
    #[serde(default)]
    pub client_ids: Option<Vec<u64>>,
    #[serde(default)]
    pub opt_out_voice_calls: Option<bool>,
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub update_origin: Option<String>,
    #[serde(default)]
    pub call_opted_out: Option<bool>,
    #[serde(default)]
    pub sms_opted_out: Option<bool>,
    #[serde(default)]
    pub email_opted_out: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::FIELDS;

    #[test]
    fn case_json_keys_follow_the_schema_table() {
        let full = Case {
            id: Some(1),
            external_source_data: Some(Map::new()),
            name: Some(String::new()),
            court_name: Some(String::new()),
            jurisdiction: Some(String::new()),
            description: Some(String::new()),
            is_obo: Some(false),
            created_date: NaiveDate::from_ymd_opt(2024, 1, 1),
            court_date: NaiveDate::from_ymd_opt(2024, 1, 1),
            end_date: NaiveDate::from_ymd_opt(2024, 1, 1),
            client_ids: Some(vec![1]),
            opt_out_voice_calls: Some(true),
            ..Default::default()
        };
        let v = serde_json::to_value(&full).unwrap();
        let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        let mut want: Vec<String> = FIELDS.iter().map(|f| f.name.to_string()).collect();
        want.push("id".into());
        want.sort();
        assert_eq!(keys, want);
        assert_eq!(v["created_date"], "2024-01-01");
    }

    #[test]
    fn none_fields_are_omitted() {
        let v = serde_json::to_value(Case::default()).unwrap();
        assert!(v.get("name").is_none());
        assert!(v.get("id").is_none());
        assert_eq!(v["type"], "");
    }
}

impl Case {
    /// The optional schema fields this payload leaves out: under PUT each becomes null.
    pub fn omitted_fields(&self) -> Vec<&'static str> {
        let v = serde_json::to_value(self).unwrap_or(Value::Null);
        crate::entity::FIELDS
            .iter()
            .filter(|f| !f.required && v.get(f.name).is_none())
            .map(|f| f.name)
            .collect()
    }
}

#[cfg(test)]
mod omitted_tests {
    use super::*;

    #[test]
    fn omitted_lists_optional_fields_only() {
        let c = Case {
            name: Some("x".into()),
            ..Default::default()
        };
        let o = c.omitted_fields();
        assert_eq!(o.len(), 10);
        assert!(!o.contains(&"name"));
        assert!(!o.contains(&"status"));
    }
}
