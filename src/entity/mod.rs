//! The one declarative table per entity, and the mechanism every stage reads it through: field
//! kinds, header aliases, required flags, the firm's unique keys, API paths, and the [`Record`]
//! that holds one entity's values. Mapping, checks, payloads, answers, export columns, the
//! template, the sandbox and `--help` all derive from an [`Entity`]; none lists fields of its own.
//! Nothing here names a particular entity: a new one is one table file (like `cases.rs`) and one
//! line in [`ALL`]. It must not depend on any other module of the crate.

pub mod cases;
pub mod clients;
mod record;

pub use cases::CASES;
pub use clients::CLIENTS;
pub use record::{AnswerError, Record, Value};

/// Every entity the tool knows, in the order `GET /v1/metadata/objects` lists them.
pub static ALL: &[&Entity] = &[&CASES, &CLIENTS];

/// Columns that kayse-bulk itself writes into results files, ignored on input.
pub const OUTPUT_COLUMNS: &[&str] = &["source_row", "kayse_result", "kayse_id", "kayse_errors"];

/// The columns `sms` and `email` write after `kayse_errors`: the text as sent (and the subject).
/// A results file fed back has them written afresh, never repeated.
pub const MESSAGE_COLUMNS: &[&str] = &["rendered_message", "rendered_subject"];

/// The column `import` writes after `kayse_errors` for a case sheet that names its clients: the
/// Kayse ids of each row's clients, separated by `;`. A results file fed back has it written
/// afresh, never repeated nor read as the case's `client_ids`.
pub const LINK_COLUMNS: &[&str] = &["kayse_client_ids"];

/// The kind of value a field holds. Each kind has exactly one cell check (`check`), one wire form
/// ([`Value`]'s JSON) and one export form (`report::sheet`); a test walks [`Kind::ALL`] through
/// all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A JSON string, trimmed.
    Text,
    /// A calendar date, `YYYY-MM-DD` on the wire.
    Date,
    /// A JSON boolean.
    Bool,
    /// A JSON array of positive integers (Kayse ids); links replace on every write.
    IdList,
    /// A JSON object of free key-value pairs.
    Object,
    /// An email address, checked for syntax (`check::email`); a JSON string on the wire.
    Email,
    /// A mobile number, normalised to E.164 (`+14045550123`) through `check::phone`, numbers
    /// written without a country code read in the checker's default country; a JSON string.
    Mobile,
}

impl Kind {
    /// Every kind, so tests can prove each one has a check, a payload and an export form.
    pub const ALL: [Kind; 7] = [
        Kind::Text,
        Kind::Date,
        Kind::Bool,
        Kind::IdList,
        Kind::Object,
        Kind::Email,
        Kind::Mobile,
    ];

    /// The name used by `GET /v1/metadata/objects` and the template's `Fields` sheet.
    pub fn api_name(self) -> &'static str {
        match self {
            Kind::Text | Kind::Email | Kind::Mobile => "string",
            Kind::Date => "date",
            Kind::Bool => "boolean",
            Kind::IdList => "array",
            Kind::Object => "object",
        }
    }

    /// What a person types in such a cell, for the field list in `--help`.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Date => "date",
            Kind::Bool => "yes/no",
            Kind::IdList => "ids",
            Kind::Object => "JSON object",
            Kind::Email => "email",
            Kind::Mobile => "mobile",
        }
    }

    /// A valid cell of this kind, as text: what tests and the round trip fill a field with when
    /// its table line gives no example.
    pub fn sample(self) -> &'static str {
        match self {
            Kind::Text => "sample text",
            Kind::Date => "2024-01-02",
            Kind::Bool => "true",
            Kind::IdList => "1;2",
            Kind::Object => r#"{"k": "v"}"#,
            Kind::Email => "ada@example.com",
            Kind::Mobile => "+14045550123",
        }
    }

    /// The kind of [`Value`] a checked cell of this kind becomes: an email or a mobile is text
    /// once checked (the check is what differs, not the value).
    pub fn value_kind(self) -> Kind {
        match self {
            Kind::Email | Kind::Mobile => Kind::Text,
            k => k,
        }
    }
}

/// One field of an entity: a line of its table.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The API name, also the export header.
    pub name: &'static str,
    pub kind: Kind,
    /// Required on create (and so on every PUT).
    pub required: bool,
    /// One sentence for the template's notes, the metadata endpoint and `--help`.
    pub description: &'static str,
    /// Header spellings that also map onto this field (matched after normalisation).
    pub aliases: &'static [&'static str],
    /// An example value, used by the template's example row (empty: the row leaves it blank).
    pub example: &'static str,
    /// Kayse creates a value it has not seen rather than refusing it (a case's status and type):
    /// the checker tallies the values, warns about look-alikes, and takes an allowed list.
    pub open_values: bool,
    /// For an id list: the entity whose ids it holds (`clients` for a case's `client_ids`).
    /// The two sides of a link name each other, so the sandbox keeps both consistent.
    pub links: Option<&'static str>,
}

impl Field {
    /// A field of `kind`, optional, with no aliases or example: the start of a table line.
    pub const fn new(name: &'static str, kind: Kind, description: &'static str) -> Field {
        Field {
            name,
            kind,
            required: false,
            description,
            aliases: &[],
            example: "",
            open_values: false,
            links: None,
        }
    }

    pub const fn required(mut self) -> Field {
        self.required = true;
        self
    }

    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Field {
        self.aliases = aliases;
        self
    }

    pub const fn example(mut self, example: &'static str) -> Field {
        self.example = example;
        self
    }

    pub const fn open_values(mut self) -> Field {
        self.open_values = true;
        self
    }

    /// An id list holding ids of the entity named `entity`.
    pub const fn links(mut self, entity: &'static str) -> Field {
        self.links = Some(entity);
        self
    }
}

/// One kind of Kayse record (cases, clients): its table and the facts derived from its name.
///
/// Three index spaces are used, all fixed by the table:
/// - *fields*: `0..fields.len()`, the create schema, in documented order;
/// - *slots* (what a sheet column can feed): the fields, then `id` at [`Entity::id_slot`];
/// - *values* (what a [`Record`] holds): the fields, then the answer-only fields.
pub struct Entity {
    /// Plural, as in the API path: `cases`.
    pub name: &'static str,
    /// Singular, for messages: `case`.
    pub one: &'static str,
    /// The create schema, in documented order. Export writes its columns in this order.
    pub fields: &'static [Field],
    /// The Kayse id: not part of the create schema, but a row carrying one is an update.
    pub id: Field,
    /// Fields only answers carry, in export order; ignored when a results file is read back.
    pub answer_only: &'static [Field],
    /// The firm's own keys, each one field or several, that must be unique within a file. The
    /// first field of the first key is what messages tell users to look up in Kayse ("check
    /// case_number X in Kayse"), so list first the key a person can find a record by.
    pub keys: &'static [&'static [&'static str]],
    /// Kayse refuses a second record with the first key's value ("case_number already
    /// exists"), so a create sent again after a lost answer is refused, never made twice. When
    /// false (clients: nothing is unique), a create whose answer may have been lost is never
    /// sent again: it is `unknown`, and a re-run does not create it anew.
    pub refuses_duplicates: bool,
}

/// Just the name: a record's or a mapping's debug output must not repeat the whole table.
impl std::fmt::Debug for Entity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Entity({})", self.name)
    }
}

impl PartialEq for Entity {
    fn eq(&self, other: &Entity) -> bool {
        std::ptr::eq(self, other) || self.name == other.name
    }
}

impl Entity {
    /// `v1/cases`: create with POST.
    pub fn path(&self) -> String {
        format!("v1/{}", self.name)
    }

    /// `v1/cases/{id}`: GET, PUT, DELETE.
    pub fn item_path(&self, id: u64) -> String {
        format!("v1/{}/{id}", self.name)
    }

    /// `v1/cases/bulk`: bulk upsert.
    pub fn bulk_path(&self) -> String {
        format!("v1/{}/bulk", self.name)
    }

    /// The key of a bulk body and of its answer: `{"cases": [...]}`.
    pub fn bulk_key(&self) -> &'static str {
        self.name
    }

    /// `Cases`: the sheet name of exports and templates.
    pub fn title(&self) -> String {
        let mut c = self.name.chars();
        match c.next() {
            Some(first) => first.to_uppercase().chain(c).collect(),
            None => String::new(),
        }
    }

    /// The index of a create field by exact name.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// Any field by exact name: create fields, `id`, answer-only fields.
    pub fn field(&self, name: &str) -> Option<&Field> {
        if name == self.id.name {
            return Some(&self.id);
        }
        self.fields
            .iter()
            .chain(self.answer_only)
            .find(|f| f.name == name)
    }

    /// The required create fields, in table order.
    pub fn required(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.required)
    }

    /// How many slots a sheet column can feed: every create field, then `id`.
    pub fn slot_count(&self) -> usize {
        self.fields.len() + 1
    }

    /// The slot of `id`, after the create fields.
    pub fn id_slot(&self) -> usize {
        self.fields.len()
    }

    /// The field of a slot.
    pub fn slot(&self, i: usize) -> &Field {
        self.fields.get(i).unwrap_or(&self.id)
    }

    /// The slot of a create field or `id`, by exact name.
    pub fn slot_index(&self, name: &str) -> Option<usize> {
        if name == self.id.name {
            return Some(self.id_slot());
        }
        self.field_index(name)
    }

    /// How many values a [`Record`] holds: create fields, then answer-only fields.
    pub fn value_count(&self) -> usize {
        self.fields.len() + self.answer_only.len()
    }

    /// The field of a value index.
    pub fn value_field(&self, i: usize) -> Option<&Field> {
        match i.checked_sub(self.fields.len()) {
            None => self.fields.get(i),
            Some(j) => self.answer_only.get(j),
        }
    }

    /// The value index of a create or answer-only field, by exact name.
    pub fn value_index(&self, name: &str) -> Option<usize> {
        self.field_index(name).or_else(|| {
            self.answer_only
                .iter()
                .position(|f| f.name == name)
                .map(|i| self.fields.len() + i)
        })
    }

    /// The field that carries free data (`external_source_data`): the first object field, if any.
    /// Columns named `FIELD.KEY` and `--extra-columns data` fill it.
    pub fn data_field(&self) -> Option<usize> {
        self.fields.iter().position(|f| f.kind == Kind::Object)
    }

    /// The field users look a record up by in Kayse: the last field of the first key, the one
    /// that tells records apart (`case_number`; a client's `external_source_id`).
    pub fn lookup_field(&self) -> &'static str {
        self.keys
            .first()
            .and_then(|k| k.last())
            .copied()
            .unwrap_or(self.id.name)
    }

    /// The id-list field holding ids of the entity named `other` (a case's `client_ids` for
    /// `clients`), if this entity links to it.
    pub fn link_to(&self, other: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.links == Some(other))
    }

    /// The export's header row: `id`, every create field, then the answer-only fields.
    pub fn export_columns(&self) -> impl Iterator<Item = &Field> {
        std::iter::once(&self.id)
            .chain(self.fields)
            .chain(self.answer_only)
    }

    /// The field list printed at the end of `validate --help` and `import --help`: one line per
    /// field (name, `*` when required, kind, the other headers accepted), wrapped to 96 columns.
    pub fn help(&self) -> String {
        const WIDTH: usize = 96;
        let mut out = format!(
            "{} fields (* required). A header maps onto a field when it is the field's name, the\n\
             same ignoring case, spaces, '_', '-' and '.', or one of the other headers listed:\n",
            capitalised(self.one)
        );
        let rows: Vec<&Field> = self.fields.iter().chain([&self.id]).collect();
        let name_width = rows
            .iter()
            .map(|f| f.name.len() + if f.required { 2 } else { 0 })
            .max()
            .unwrap_or(0);
        let indent = 2 + name_width + 2 + 11 + 2;
        for f in rows {
            let name = if f.required {
                format!("{} *", f.name)
            } else {
                f.name.to_string()
            };
            let kind = if f.name == self.id.name {
                "Kayse id"
            } else {
                f.kind.label()
            };
            let mut line = format!("  {name:<name_width$}  {kind:<11}  ");
            for (k, alias) in f.aliases.iter().enumerate() {
                let piece = if k + 1 < f.aliases.len() {
                    format!("{alias},")
                } else {
                    alias.to_string()
                };
                if line.len() > indent && line.len() + 1 + piece.len() > WIDTH {
                    out.push_str(line.trim_end());
                    out.push('\n');
                    line = " ".repeat(indent);
                } else if line.len() > indent {
                    line.push(' ');
                }
                line.push_str(&piece);
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.push_str(&format!(
            "A row with an id updates that {one}; without one it creates a new {one}.",
            one = self.one
        ));
        out
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The entity of that API name (`cases`).
pub fn by_name(name: &str) -> Option<&'static Entity> {
    ALL.iter().copied().find(|e| e.name == name)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::check::rules::normalize_header;

    /// A second, made-up entity shaped like Kayse's clients (no object field, a different key
    /// pair, an id list): tests run the mechanism on it to prove nothing assumes cases.
    pub(crate) static PEOPLE: Entity = Entity {
        name: "people",
        one: "person",
        fields: &[
            Field::new("first_name", Kind::Text, "First name")
                .required()
                .aliases(&["First", "Given Name"])
                .example("Ada"),
            Field::new("last_name", Kind::Text, "Last name")
                .required()
                .aliases(&["Surname"]),
            Field::new("external_source", Kind::Text, "Source system").required(),
            Field::new("external_source_id", Kind::Text, "Id in the source system").required(),
            Field::new("email", Kind::Text, "Email address"),
            Field::new("date_of_birth", Kind::Date, "Date of birth").aliases(&["DOB"]),
            Field::new("voice_calls_opted_out", Kind::Bool, "Opted out of calls"),
            Field::new("case_ids", Kind::IdList, "Kayse ids of the person's cases").links("cases"),
        ],
        id: Field::new("id", Kind::Text, "Kayse id of an existing person"),
        answer_only: &[Field::new("origin", Kind::Text, "Where it came from")],
        keys: &[&["external_source", "external_source_id"], &["email"]],
        refuses_duplicates: false,
    };

    /// Every entity, real and test-only.
    fn all() -> Vec<&'static Entity> {
        ALL.iter().copied().chain([&PEOPLE]).collect()
    }

    #[test]
    fn tables_are_consistent() {
        for e in all() {
            let mut names: Vec<&str> = e
                .fields
                .iter()
                .chain(e.answer_only)
                .chain([&e.id])
                .map(|f| f.name)
                .collect();
            let n = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), n, "{}: field names repeat", e.name);
            assert!(
                e.keys.len() <= crate::check::MAX_KEYS,
                "{}: more keys than the checker holds",
                e.name
            );
            for key in e.keys {
                assert!(!key.is_empty(), "{}: an empty key", e.name);
                for k in *key {
                    assert!(e.field_index(k).is_some(), "{}: key field {k}", e.name);
                }
            }
            assert!(
                e.data_field()
                    .is_none_or(|i| e.fields[i].kind == Kind::Object)
            );
            // Every header form (name or alias, normalised) points at one field only.
            let mut forms: Vec<(String, &str)> = Vec::new();
            for f in e.fields.iter().chain([&e.id]) {
                for form in std::iter::once(f.name).chain(f.aliases.iter().copied()) {
                    let norm = normalize_header(form);
                    if let Some((_, other)) = forms.iter().find(|(n, o)| *n == norm && *o != f.name)
                    {
                        panic!("{}: '{form}' of {} also names {other}", e.name, f.name);
                    }
                    forms.push((norm, f.name));
                }
            }
            assert!(by_name(e.name).is_none_or(|found| found == e));
            for f in e.fields.iter().chain(e.answer_only).chain([&e.id]) {
                assert_eq!(
                    f.links.is_some(),
                    f.kind == Kind::IdList,
                    "{}: {} is an id list exactly when it links",
                    e.name,
                    f.name
                );
            }
        }
    }

    /// Every link of a real table names a real entity that links back, once.
    #[test]
    fn links_name_each_other() {
        for e in ALL {
            for f in e.fields.iter().filter(|f| f.links.is_some()) {
                let target = f
                    .links
                    .and_then(by_name)
                    .unwrap_or_else(|| panic!("{}.{} links to an unknown entity", e.name, f.name));
                let back = target.link_to(e.name).map(|i| &target.fields[i]);
                assert!(
                    back.is_some_and(|b| b.links == Some(e.name)),
                    "{}.{}: {} has no link back",
                    e.name,
                    f.name,
                    target.name
                );
            }
        }
        assert_eq!(CASES.link_to("clients"), CASES.field_index("client_ids"));
        assert_eq!(CLIENTS.link_to("cases"), CLIENTS.field_index("case_ids"));
        assert_eq!(CASES.link_to("cases"), None);
    }

    #[test]
    fn clients_match_the_docs() {
        let req: Vec<_> = CLIENTS.required().map(|f| f.name).collect();
        assert_eq!(
            req,
            [
                "first_name",
                "last_name",
                "external_source",
                "external_source_id"
            ]
        );
        let optional: Vec<_> = CLIENTS
            .fields
            .iter()
            .filter(|f| !f.required)
            .map(|f| (f.name, f.kind))
            .collect();
        assert_eq!(
            optional,
            [
                ("email", Kind::Email),
                ("mobile", Kind::Mobile),
                ("date_of_birth", Kind::Date),
                ("address_line1", Kind::Text),
                ("address_line2", Kind::Text),
                ("city", Kind::Text),
                ("state", Kind::Text),
                ("postal_code", Kind::Text),
                ("voice_calls_opted_out", Kind::Bool),
                ("case_ids", Kind::IdList),
            ]
        );
        assert_eq!(
            CLIENTS.keys,
            &[&["external_source", "external_source_id"][..]]
        );
        assert_eq!(CLIENTS.lookup_field(), "external_source_id");
        let answer_only: Vec<_> = CLIENTS.answer_only.iter().map(|f| f.name).collect();
        assert_eq!(
            answer_only,
            ["origin", "update_origin", "gender", "date_of_death", "meta"]
        );
        assert_eq!(
            CLIENTS.data_field(),
            None,
            "meta is answer-only, not free data"
        );
        assert_eq!(by_name("clients"), Some(&CLIENTS));
    }

    /// A firm's own client or case number is never read as a Kayse id: which field each
    /// header a firm might use lands on, on a clients sheet.
    #[test]
    fn firm_ids_are_not_kayse_ids() {
        let slot_of = |header: &str| {
            let norm = normalize_header(header);
            CLIENTS
                .fields
                .iter()
                .chain([&CLIENTS.id])
                .find(|f| {
                    std::iter::once(f.name)
                        .chain(f.aliases.iter().copied())
                        .any(|a| normalize_header(a) == norm)
                })
                .map(|f| f.name)
        };
        let table: &[(&str, Option<&str>)] = &[
            ("Client ID", Some("external_source_id")),
            ("Client #", Some("external_source_id")),
            ("Contact ID", Some("external_source_id")),
            ("Client Number", Some("external_source_id")),
            ("Kayse ID", Some("id")),
            ("kayse_id", Some("id")),
            ("Kayse Client ID", Some("id")),
            ("Kayse Case IDs", Some("case_ids")),
            // The field's own name, normalised: matched like every field name (the mapping has no
            // way to take a name only as typed); its cells must be whole Kayse ids.
            ("Case IDs", Some("case_ids")),
            ("Case ID", None),
            ("ID", Some("id")), // the API's own name, which exports write
            ("Client Phone", Some("mobile")),
            ("Cell", Some("mobile")),
            ("E-mail", Some("email")),
            ("DOB", Some("date_of_birth")),
            ("Zip", Some("postal_code")),
            ("Do Not Call", Some("voice_calls_opted_out")),
        ];
        for (header, want) in table {
            assert_eq!(slot_of(header), *want, "{header}");
        }
    }

    #[test]
    fn cases_required_fields_and_keys_match_the_docs() {
        let req: Vec<_> = CASES.required().map(|f| f.name).collect();
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
        assert_eq!(CASES.lookup_field(), "case_number");
        assert_eq!(PEOPLE.lookup_field(), "external_source_id");
    }

    #[test]
    fn derived_names_and_index_spaces() {
        let table: &[(&Entity, &str, &str, &str, &str)] = &[
            (&CASES, "v1/cases", "v1/cases/7", "v1/cases/bulk", "Cases"),
            (
                &CLIENTS,
                "v1/clients",
                "v1/clients/7",
                "v1/clients/bulk",
                "Clients",
            ),
            (
                &PEOPLE,
                "v1/people",
                "v1/people/7",
                "v1/people/bulk",
                "People",
            ),
        ];
        for (e, path, item, bulk, title) in table {
            assert_eq!(e.path(), *path);
            assert_eq!(e.item_path(7), *item);
            assert_eq!(e.bulk_path(), *bulk);
            assert_eq!(e.title(), *title);
            assert_eq!(e.slot(e.id_slot()).name, "id");
            assert_eq!(e.slot_index("id"), Some(e.id_slot()));
            assert_eq!(e.slot_index(e.fields[0].name), Some(0));
            assert_eq!(e.slot_index("nope"), None);
            let last = e.value_count() - 1;
            assert_eq!(
                e.value_field(last).map(|f| f.name),
                e.answer_only.last().map(|f| f.name)
            );
            assert!(e.value_field(last + 1).is_none());
            for (i, f) in e.fields.iter().chain(e.answer_only).enumerate() {
                assert_eq!(e.value_index(f.name), Some(i));
                assert_eq!(e.value_field(i).map(|g| g.name), Some(f.name));
            }
            assert_eq!(e.field("id").map(|f| f.name), Some("id"), "{}", e.name);
            assert_eq!(
                e.field("origin").map(|f| f.kind),
                Some(Kind::Text),
                "{}",
                e.name
            );
            let cols: Vec<&str> = e.export_columns().map(|f| f.name).collect();
            assert_eq!(cols.len(), 1 + e.fields.len() + e.answer_only.len());
            assert_eq!(cols[0], "id");
        }
        assert_eq!(
            CASES.data_field(),
            CASES.field_index("external_source_data")
        );
        assert_eq!(PEOPLE.data_field(), None);
        assert_eq!(
            format!("{:?}", Record::new(&CASES).entity()),
            "Entity(cases)"
        );
    }

    #[test]
    fn help_lists_every_field_with_its_aliases() {
        for e in all() {
            let h = e.help();
            let lines: Vec<&str> = h.lines().collect();
            assert!(lines.iter().all(|l| l.len() <= 96), "{h}");
            for f in e.fields.iter().chain([&e.id]) {
                let at = lines
                    .iter()
                    .position(|l| l.starts_with(&format!("  {} ", f.name)))
                    .unwrap_or_else(|| panic!("{}: no help line for {}", e.name, f.name));
                assert_eq!(lines[at].contains(" * "), f.required, "{}", lines[at]);
                // The field's line and its continuation lines (indented further).
                let block: String = lines[at..]
                    .iter()
                    .take_while(|l| *l == &lines[at] || l.starts_with("    "))
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
                for a in f.aliases {
                    assert!(block.contains(a), "{block} lacks {a}");
                }
            }
            assert!(h.contains(&format!("updates that {}", e.one)));
        }
    }
}
