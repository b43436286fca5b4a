//! The Kayse case: its create schema as documented, in documented order, with the headers firms
//! use for each field. This table is the only place a case field is named; adding one is one
//! line here (plus its aliases in the README's table). No logic lives here.

use super::{Entity, Field, Kind};

pub static CASES: Entity = Entity {
    name: "cases",
    one: "case",
    fields: &[
        Field::new("case_number", Kind::Text, "Unique case identifier")
            .required()
            .aliases(&[
                "Case #",
                "Case No",
                "Case No.",
                "Case Num",
                "Matter Number",
                "Matter #",
                "Matter No",
            ])
            .example("CASE-2024-001"),
        Field::new(
            "external_source",
            Kind::Text,
            "Source system identifier, e.g. other, clio, filevine",
        )
        .required()
        .aliases(&["Source", "Source System"])
        .example("other"),
        Field::new(
            "external_source_id",
            Kind::Text,
            "Unique ID of the case in the source system",
        )
        .required()
        .aliases(&["Source ID", "External ID", "Source Id"])
        .example("ext-001"),
        Field::new(
            "external_source_data",
            Kind::Object,
            "Additional data as key-value pairs (a JSON object, or columns named external_source_data.KEY)",
        )
        .aliases(&["Source Data", "External Data"]),
        Field::new("name", Kind::Text, "Case name/title")
            .aliases(&["Case Name", "Caption", "Title", "Case Title"])
            .example("Smith vs. Johnson"),
        Field::new("court_name", Kind::Text, "Name of the court")
            .aliases(&["Court"])
            .example("Superior Court of Fulton County"),
        Field::new("jurisdiction", Kind::Text, "Legal jurisdiction")
            .aliases(&["Venue", "State"])
            .example("GA"),
        Field::new("description", Kind::Text, "Case description")
            .aliases(&["Notes", "Summary", "Case Description"])
            .example("Rear-end collision on I-85"),
        Field::new(
            "status",
            Kind::Text,
            "Case status, e.g. active, closed, pending. Kayse creates unknown statuses rather than rejecting them",
        )
        .required()
        .open_values()
        .aliases(&["Case Status"])
        .example("active"),
        Field::new("type", Kind::Text, "Case type, e.g. civil, criminal, family")
            .required()
            .open_values()
            .aliases(&["Case Type", "Practice Area"])
            .example("civil"),
        Field::new(
            "is_obo",
            Kind::Bool,
            "On behalf of another party (true/false)",
        )
        .aliases(&["OBO", "On Behalf Of"])
        .example("false"),
        Field::new(
            "created_date",
            Kind::Date,
            "Case creation date (YYYY-MM-DD)",
        )
        .aliases(&["Opened", "Date Opened", "Open Date", "Created"])
        .example("2024-03-05"),
        Field::new("court_date", Kind::Date, "Next court date (YYYY-MM-DD)")
            .aliases(&["Hearing Date", "Next Court Date", "Court Date"])
            .example("2024-09-12"),
        Field::new("end_date", Kind::Date, "Case end date (YYYY-MM-DD)").aliases(&[
            "Closed",
            "Date Closed",
            "Close Date",
            "End Date",
        ]),
        Field::new(
            "client_ids",
            Kind::IdList,
            "Kayse ids of the clients linked to the case, e.g. 123;456 (replaces the case's links)",
        )
        .links("clients")
        .aliases(&["Client IDs", "Clients"]),
        Field::new(
            "opt_out_voice_calls",
            Kind::Bool,
            "Mark all linked clients opted out of voice calls (true/false)",
        )
        .aliases(&["Opt Out Voice Calls", "Opt Out Calls", "Do Not Call"])
        .example("false"),
    ],
    // Kind::Text, not an integer kind: the template's Fields sheet has always called it a string,
    // and `check` reads it with its own id parser into `Record::id`.
    id: Field::new(
        "id",
        Kind::Text,
        "Kayse id of an existing case: a row with an id updates that case",
    )
    .aliases(&["Kayse ID", "kayse_id"]),
    answer_only: &[
        Field::new(
            "call_opted_out",
            Kind::Bool,
            "Every client of the case opted out of voice calls (GET only)",
        ),
        Field::new(
            "sms_opted_out",
            Kind::Bool,
            "Every client of the case opted out of SMS (GET only)",
        ),
        Field::new(
            "email_opted_out",
            Kind::Bool,
            "Every client of the case opted out of email (GET only)",
        ),
        Field::new(
            "origin",
            Kind::Text,
            "How the case was created, e.g. public_api",
        ),
        Field::new(
            "update_origin",
            Kind::Text,
            "How the case was last updated; empty until it is updated through the API",
        ),
    ],
    keys: &[&["case_number"], &["external_source", "external_source_id"]],
    refuses_duplicates: true,
};
