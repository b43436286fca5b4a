//! The Kayse client: its create schema as documented, in documented order, with the headers firms
//! use for each field. This table is the only place a client field is named; adding one is one
//! line here (plus its aliases in the README's client table). No logic lives here.
//!
//! A firm's own client number (`Client ID`, `Client #`, `Contact ID`) is its
//! `external_source_id`, never a Kayse id: only `Kayse ID`, `kayse_id` and `Kayse Client ID` map
//! onto `id`, and only `Kayse Case IDs` onto `case_ids`, so no firm column is read as Kayse ids
//! by accident.

use super::{Entity, Field, Kind};

pub static CLIENTS: Entity = Entity {
    name: "clients",
    one: "client",
    fields: &[
        Field::new("first_name", Kind::Text, "First name")
            .required()
            .aliases(&["First", "Given Name", "Client First Name", "Forename"])
            .example("Maria"),
        Field::new("last_name", Kind::Text, "Last name")
            .required()
            .aliases(&["Last", "Surname", "Family Name", "Client Last Name"])
            .example("Garcia"),
        Field::new(
            "external_source",
            Kind::Text,
            "Source system identifier, e.g. manual, import, clio",
        )
        .required()
        .aliases(&["Source", "Source System"])
        .example("clio"),
        Field::new(
            "external_source_id",
            Kind::Text,
            "Unique ID of the client in the source system (the firm's own client number)",
        )
        .required()
        .aliases(&[
            "Source ID",
            "External ID",
            "Client External ID",
            "Client ID",
            "Client Number",
            "Client #",
            "Client No",
            "Contact ID",
        ])
        .example("C-1001"),
        Field::new("email", Kind::Email, "Email address")
            .aliases(&["Email Address", "Client Email"])
            .example("maria.garcia@example.com"),
        Field::new(
            "mobile",
            Kind::Mobile,
            "Mobile number; written without a country code it is read in the default country, and sent as E.164 (+14045550123)",
        )
        .aliases(&[
            "Mobile Phone",
            "Mobile Number",
            "Cell",
            "Cell Phone",
            "Phone",
            "Phone Number",
            "Client Mobile",
            "Client Phone",
            "Client Cell",
        ])
        .example("(404) 555-0123"),
        Field::new("date_of_birth", Kind::Date, "Date of birth (YYYY-MM-DD)")
            .aliases(&[
                "DOB",
                "Birth Date",
                "Birthdate",
                "Birthday",
                "Client Date of Birth",
                "Client DOB",
            ])
            .example("1985-07-14"),
        Field::new("address_line1", Kind::Text, "Street address")
            .aliases(&[
                "Address",
                "Address 1",
                "Address Line 1",
                "Street",
                "Street Address",
            ])
            .example("12 Peachtree St NE"),
        Field::new(
            "address_line2",
            Kind::Text,
            "Apartment, suite or unit",
        )
        .aliases(&["Address 2", "Address Line 2", "Apt", "Suite", "Unit"]),
        Field::new("city", Kind::Text, "City")
            .aliases(&["Town"])
            .example("Atlanta"),
        Field::new("state", Kind::Text, "State or province")
            .aliases(&["Province", "Region"])
            .example("GA"),
        Field::new("postal_code", Kind::Text, "ZIP or postal code")
            .aliases(&["Zip", "ZIP Code", "Postcode", "Postal"])
            .example("30303"),
        Field::new(
            "voice_calls_opted_out",
            Kind::Bool,
            "The client opted out of voice calls (true/false); on a bulk upsert it applies across the client's cases",
        )
        .aliases(&["Do Not Call", "DNC", "Voice Calls Opted Out", "No Calls"])
        .example("false"),
        Field::new(
            "case_ids",
            Kind::IdList,
            "Kayse ids of the client's cases, e.g. 123;456 (replaces the client's links: a case left out is unlinked)",
        )
        .links("cases")
        .aliases(&["Kayse Case IDs"]),
    ],
    id: Field::new(
        "id",
        Kind::Text,
        "Kayse id of an existing client: a row with an id updates that client",
    )
    .aliases(&["Kayse ID", "kayse_id", "Kayse Client ID"]),
    answer_only: &[
        Field::new(
            "origin",
            Kind::Text,
            "How the client was created, e.g. public_api",
        ),
        Field::new(
            "update_origin",
            Kind::Text,
            "How the client was last updated; empty until it is updated through the API",
        ),
        Field::new(
            "gender",
            Kind::Text,
            "Shown by some of Kayse's examples; not settable through the API",
        ),
        Field::new(
            "date_of_death",
            Kind::Date,
            "Shown by some of Kayse's examples; not settable through the API",
        ),
        Field::new(
            "meta",
            Kind::Object,
            "Shown by some of Kayse's examples; not settable through the API",
        ),
    ],
    keys: &[&["external_source", "external_source_id"]],
    refuses_duplicates: false,
};
