//! The Kayse case schema: the one table every other part reads (validation, mapping, the template,
//! the sandbox, `--help` and the metadata endpoint). It must not depend on any other module.

/// The kind of value a field holds, as the API expects it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A JSON string.
    String,
    /// A calendar date, `YYYY-MM-DD` on the wire.
    Date,
    /// A JSON boolean.
    Bool,
    /// A JSON array of positive integers.
    IdList,
    /// A JSON object of free key-value pairs.
    Object,
}

impl FieldType {
    /// The name used by `GET /v1/metadata/objects` and the template's `Fields` sheet.
    pub fn api_name(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Date => "date",
            FieldType::Bool => "boolean",
            FieldType::IdList => "array",
            FieldType::Object => "object",
        }
    }
}

/// One field of the create schema.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: FieldType,
    pub required: bool,
    pub description: &'static str,
    /// Header spellings that also map onto this field (matched after normalisation).
    pub aliases: &'static [&'static str],
    /// An example value, used by the template's example row.
    pub example: &'static str,
}

/// The create schema, in the documented order. Export writes its columns in this order.
pub static FIELDS: &[Field] = &[
    Field {
        name: "case_number",
        ty: FieldType::String,
        required: true,
        description: "Unique case identifier",
        aliases: &[
            "Case #",
            "Case No",
            "Case No.",
            "Case Num",
            "Matter Number",
            "Matter #",
            "Matter No",
        ],
        example: "CASE-2024-001",
    },
    Field {
        name: "external_source",
        ty: FieldType::String,
        required: true,
        description: "Source system identifier, e.g. other, clio, filevine",
        aliases: &["Source", "Source System"],
        example: "other",
    },
    Field {
        name: "external_source_id",
        ty: FieldType::String,
        required: true,
        description: "Unique ID of the case in the source system",
        aliases: &["Source ID", "External ID", "Source Id"],
        example: "ext-001",
    },
    Field {
        name: "external_source_data",
        ty: FieldType::Object,
        required: false,
        description: "Additional data as key-value pairs (a JSON object, or columns named external_source_data.KEY)",
        aliases: &["Source Data", "External Data"],
        example: "",
    },
    Field {
        name: "name",
        ty: FieldType::String,
        required: false,
        description: "Case name/title",
        aliases: &["Case Name", "Caption", "Title", "Case Title"],
        example: "Smith vs. Johnson",
    },
    Field {
        name: "court_name",
        ty: FieldType::String,
        required: false,
        description: "Name of the court",
        aliases: &["Court"],
        example: "Superior Court of Fulton County",
    },
    Field {
        name: "jurisdiction",
        ty: FieldType::String,
        required: false,
        description: "Legal jurisdiction",
        aliases: &["Venue", "State"],
        example: "GA",
    },
    Field {
        name: "description",
        ty: FieldType::String,
        required: false,
        description: "Case description",
        aliases: &["Notes", "Summary", "Case Description"],
        example: "Rear-end collision on I-85",
    },
    Field {
        name: "status",
        ty: FieldType::String,
        required: true,
        description: "Case status, e.g. active, closed, pending. Kayse creates unknown statuses rather than rejecting them",
        aliases: &["Case Status"],
        example: "active",
    },
    Field {
        name: "type",
        ty: FieldType::String,
        required: true,
        description: "Case type, e.g. civil, criminal, family",
        aliases: &["Case Type", "Practice Area"],
        example: "civil",
    },
    Field {
        name: "is_obo",
        ty: FieldType::Bool,
        required: false,
        description: "On behalf of another party (true/false)",
        aliases: &["OBO", "On Behalf Of"],
        example: "false",
    },
    Field {
        name: "created_date",
        ty: FieldType::Date,
        required: false,
        description: "Case creation date (YYYY-MM-DD)",
        aliases: &["Opened", "Date Opened", "Open Date", "Created"],
        example: "2024-03-05",
    },
    Field {
        name: "court_date",
        ty: FieldType::Date,
        required: false,
        description: "Next court date (YYYY-MM-DD)",
        aliases: &["Hearing Date", "Next Court Date", "Court Date"],
        example: "2024-09-12",
    },
    Field {
        name: "end_date",
        ty: FieldType::Date,
        required: false,
        description: "Case end date (YYYY-MM-DD)",
        aliases: &["Closed", "Date Closed", "Close Date", "End Date"],
        example: "",
    },
    Field {
        name: "client_ids",
        ty: FieldType::IdList,
        required: false,
        description: "Kayse ids of the clients linked to the case, e.g. 123;456 (replaces the case's links)",
        aliases: &["Client IDs", "Clients", "Client Id"],
        example: "",
    },
    Field {
        name: "opt_out_voice_calls",
        ty: FieldType::Bool,
        required: false,
        description: "Mark all linked clients opted out of voice calls (true/false)",
        aliases: &["Opt Out Voice Calls", "Opt Out Calls", "Do Not Call"],
        example: "false",
    },
];

/// The Kayse id of a case. Not part of the create schema, but a row carrying one is an update.
pub const ID_FIELD: Field = Field {
    name: "id",
    ty: FieldType::String,
    required: false,
    description: "Kayse id of an existing case: a row with an id updates that case",
    aliases: &["Kayse ID", "kayse_id"],
    example: "",
};

/// Fields that appear only in API answers, ignored when a results file or export is read back.
pub const RESPONSE_ONLY: &[&str] = &[
    "origin",
    "update_origin",
    "call_opted_out",
    "sms_opted_out",
    "email_opted_out",
];

/// Columns that kayse-bulk itself writes into results files, ignored on input.
pub const OUTPUT_COLUMNS: &[&str] = &["source_row", "kayse_result", "kayse_id", "kayse_errors"];

/// Look a field up by its exact API name (`id` included).
pub fn field(name: &str) -> Option<&'static Field> {
    if name == ID_FIELD.name {
        return Some(&ID_FIELD);
    }
    FIELDS.iter().find(|f| f.name == name)
}

/// The required fields, in schema order.
pub fn required() -> impl Iterator<Item = &'static Field> {
    FIELDS.iter().filter(|f| f.required)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_required_set_matches_docs() {
        let mut names: Vec<_> = FIELDS.iter().map(|f| f.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), FIELDS.len());
        let req: Vec<_> = required().map(|f| f.name).collect();
        assert_eq!(
            req,
            [
                "case_number",
                "external_source",
                "external_source_id",
                "status",
                "type"
            ]
        );
    }

    #[test]
    fn lookup_finds_id_and_fields() {
        assert_eq!(field("id").unwrap().name, "id");
        assert_eq!(field("type").unwrap().ty, FieldType::String);
        assert!(field("nope").is_none());
    }
}
