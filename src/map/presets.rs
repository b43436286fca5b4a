//! Presets: what the exports of the practice-management systems firms leave hold, kept as data,
//! one table per system (like the entity tables). A preset names the columns of its cases export
//! and its contacts export, the `external_source` its records come from, the order its dates are
//! written in and the key that joins cases to their clients. It never invents a Kayse status or
//! type: source values pass through and `kayse-bulk map` lists them for translation. Pure: no I/O.

use crate::check::rules::{DateOrder, normalize_header};

/// Which of a system's exports a sheet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// Matters or cases: rows become cases.
    Cases,
    /// Contacts or accounts: rows become clients.
    Contacts,
}

/// A header signature: when every one of `headers` is in a sheet (ignoring case, spaces, `_`,
/// `-` and `.`), the sheet is that export of the preset.
#[derive(Debug)]
pub struct Signature {
    pub export: Export,
    /// How the summary names it: "Clio matters export".
    pub label: &'static str,
    pub headers: &'static [&'static str],
}

/// A column the system fills with record ids where a reader expects a name: never sent as the
/// field, and the label column to export instead.
#[derive(Debug)]
pub struct RecordIdColumn {
    pub header: &'static str,
    pub what: &'static str,
    pub label: &'static str,
}

/// One system's exports.
#[derive(Debug)]
pub struct Preset {
    /// `--preset NAME`, `preset = "NAME"`.
    pub name: &'static str,
    pub system: &'static str,
    /// The `external_source` its records are given unless the sheet or the mapping says otherwise.
    pub external_source: &'static str,
    /// How its numeric dates are written when the values do not prove it.
    pub date_order: DateOrder,
    /// Header → case field (`""`: never sent, e.g. a join key or a record id).
    pub cases: &'static [(&'static str, &'static str)],
    /// Header → client field, for the contacts export.
    pub contacts: &'static [(&'static str, &'static str)],
    /// The case column that names a case's client, and the contacts column it matches.
    pub join: (&'static str, &'static str),
    pub signatures: &'static [Signature],
    pub record_ids: &'static [RecordIdColumn],
}

/// Every preset, in the order detection tries them.
pub static PRESETS: &[&Preset] = &[&CLIO, &LITIFY, &SMARTADVOCATE, &FILEVINE];

pub static CLIO: Preset = Preset {
    name: "clio",
    system: "Clio Manage",
    external_source: "clio",
    date_order: DateOrder::Mdy,
    cases: &[
        ("Display Number", "case_number"),
        ("Unique ID", "external_source_id"),
        ("Description", "description"),
        ("Status", "status"),
        ("Practice Area", "type"),
        ("Open Date", "created_date"),
        ("Close Date", "end_date"),
        // Clio's contact id: the join key, never a Kayse client id.
        ("Client ID", ""),
        // Clio's own import template.
        ("custom_number", "case_number"),
        ("description", "description"),
        ("status", "status"),
        ("open_date", "created_date"),
        ("close_date", "end_date"),
    ],
    contacts: &[
        ("ID", "external_source_id"),
        ("First Name", "first_name"),
        ("Last Name", "last_name"),
        ("Primary Email Address", "email"),
        ("Primary Phone Number", "mobile"),
    ],
    join: ("Client ID", "ID"),
    signatures: &[
        Signature {
            export: Export::Cases,
            label: "Clio matters export",
            headers: &["Display Number", "Unique ID"],
        },
        Signature {
            export: Export::Cases,
            label: "Clio import template",
            headers: &["custom_number", "client_first_name"],
        },
        Signature {
            export: Export::Contacts,
            label: "Clio contacts export",
            headers: &["ID", "Primary Email Address"],
        },
    ],
    record_ids: &[],
};

pub static LITIFY: Preset = Preset {
    name: "litify",
    system: "Litify",
    external_source: "litify",
    // Data Loader writes ISO dates.
    date_order: DateOrder::Ymd,
    cases: &[
        ("Name", "case_number"),
        ("Id", "external_source_id"),
        ("litify_pm__Display_Name__c", "name"),
        ("litify_pm__Description__c", "description"),
        ("litify_pm__Status__c", "status"),
        ("litify_pm__Case_Type__c", ""),
        ("litify_pm__Case_Type__r.Name", "type"),
        ("litify_pm__Open_Date__c", "created_date"),
        ("litify_pm__Closed_Date__c", "end_date"),
        ("litify_pm__Trial_Date__c", "court_date"),
        ("litify_pm__Matter_State__c", "jurisdiction"),
        ("litify_pm__Court__c", ""),
        ("litify_pm__Court__r.Name", "court_name"),
        ("litify_pm__Client__c", ""),
    ],
    contacts: &[
        ("Id", "external_source_id"),
        ("litify_pm__First_Name__c", "first_name"),
        ("litify_pm__Last_Name__c", "last_name"),
        ("litify_pm__Email__c", "email"),
        ("litify_pm__Phone_Mobile__c", "mobile"),
        ("litify_pm__Date_of_birth__c", "date_of_birth"),
        ("BillingStreet", "address_line1"),
        ("BillingCity", "city"),
        ("BillingState", "state"),
        ("BillingPostalCode", "postal_code"),
    ],
    join: ("litify_pm__Client__c", "Id"),
    signatures: &[
        Signature {
            export: Export::Cases,
            label: "Litify matters export",
            headers: &["Id", "litify_pm__Status__c"],
        },
        Signature {
            export: Export::Contacts,
            label: "Litify accounts export",
            headers: &["Id", "litify_pm__Last_Name__c"],
        },
    ],
    record_ids: &[
        RecordIdColumn {
            header: "litify_pm__Case_Type__c",
            what: "case type",
            label: "litify_pm__Case_Type__r.Name",
        },
        RecordIdColumn {
            header: "litify_pm__Court__c",
            what: "court",
            label: "litify_pm__Court__r.Name",
        },
    ],
};

pub static SMARTADVOCATE: Preset = Preset {
    name: "smartadvocate",
    system: "SmartAdvocate",
    external_source: "smartadvocate",
    date_order: DateOrder::Mdy,
    cases: &[
        ("Case Number", "case_number"),
        ("Case ID", "external_source_id"),
        ("Case Name", "name"),
        ("Case Status", "status"),
        ("Case Type", "type"),
        ("Case State", "jurisdiction"),
        ("Court", "court_name"),
        ("Open Date", "created_date"),
        ("Closed Date", "end_date"),
    ],
    contacts: &[],
    join: ("", ""),
    signatures: &[Signature {
        export: Export::Cases,
        label: "SmartAdvocate cases report",
        headers: &["Case ID", "Case Number", "Case State"],
    }],
    record_ids: &[],
};

pub static FILEVINE: Preset = Preset {
    name: "filevine",
    system: "Filevine",
    external_source: "filevine",
    date_order: DateOrder::Mdy,
    cases: &[
        ("Project Number", "case_number"),
        ("Project ID", "external_source_id"),
        ("Project Name", "name"),
        ("Project Type", "type"),
        ("Phase", "status"),
        ("Incident Date", "external_source_data.incident_date"),
        ("Created Date", "created_date"),
    ],
    contacts: &[],
    join: ("", ""),
    signatures: &[Signature {
        export: Export::Cases,
        label: "Filevine projects report",
        headers: &["Project Name", "Phase"],
    }],
    record_ids: &[],
};

/// The preset named `name` (ignoring case), or a one-line error listing the presets.
pub fn by_name(name: &str) -> Result<&'static Preset, String> {
    PRESETS
        .iter()
        .copied()
        .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
            format!(
                "unknown preset '{}' (presets: {})",
                name.trim(),
                names.join(", ")
            )
        })
}

/// A sheet recognised as one export of a preset.
#[derive(Debug, Clone, Copy)]
pub struct Detected {
    pub preset: &'static Preset,
    pub export: Export,
    pub label: &'static str,
}

impl Detected {
    /// The summary's line: "looks like a Clio matters export: preset clio".
    pub fn line(&self) -> String {
        format!("looks like a {}: preset {}", self.label, self.preset.name)
    }
}

/// The preset export whose signature the headers carry; the longest signature wins a tie.
pub fn detect(headers: &[String]) -> Option<Detected> {
    let have: std::collections::HashSet<String> =
        headers.iter().map(|h| normalize_header(h)).collect();
    PRESETS
        .iter()
        .flat_map(|p| p.signatures.iter().map(move |s| (*p, s)))
        .filter(|(_, s)| {
            s.headers
                .iter()
                .all(|h| have.contains(&normalize_header(h)))
        })
        .max_by_key(|(_, s)| s.headers.len())
        .map(|(preset, s)| Detected {
            preset,
            export: s.export,
            label: s.label,
        })
}

/// Which export of `preset` the headers are: its contacts export when they carry one of its
/// contacts signatures, else its cases export.
pub fn export_of(preset: &'static Preset, headers: &[String]) -> Export {
    match detect(headers) {
        Some(d) if std::ptr::eq(d.preset, preset) => d.export,
        _ => Export::Cases,
    }
}

impl Preset {
    /// Header → field for one export.
    pub fn columns(&self, export: Export) -> &'static [(&'static str, &'static str)] {
        match export {
            Export::Cases => self.cases,
            Export::Contacts => self.contacts,
        }
    }

    /// The field a header goes to in this export (`Some("")`: never sent), ignoring case.
    pub fn field_of(&self, export: Export, header: &str) -> Option<&'static str> {
        let n = normalize_header(header);
        self.columns(export)
            .iter()
            .find(|(h, _)| normalize_header(h) == n)
            .map(|(_, f)| *f)
    }

    /// One line for each record-id column the headers carry: what it holds, that it is not sent,
    /// and the label column to export instead.
    pub fn record_id_notes(&self, headers: &[String]) -> Vec<String> {
        let have: Vec<String> = headers.iter().map(|h| normalize_header(h)).collect();
        self.record_ids
            .iter()
            .filter(|r| have.contains(&normalize_header(r.header)))
            .map(|r| {
                let label = if have.contains(&normalize_header(r.label)) {
                    format!("the {} comes from '{}'", r.what, r.label)
                } else {
                    format!(
                        "export the label column '{}' as well to send the {} name",
                        r.label, r.what
                    )
                };
                format!(
                    "'{}' holds 18-character {} record ids, not names: it is not sent; {label}",
                    r.header, self.system
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::{CASES, CLIENTS};

    fn hs(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_preset_column_names_a_field_of_its_entity() {
        for p in PRESETS {
            for (entity, export) in [(&CASES, Export::Cases), (&CLIENTS, Export::Contacts)] {
                for (h, f) in p.columns(export) {
                    let field = f.split('.').next().unwrap_or_default();
                    assert!(
                        f.is_empty() || entity.slot_index(field).is_some(),
                        "{}: '{h}' → unknown {} field '{f}'",
                        p.name,
                        entity.name
                    );
                }
            }
            for s in p.signatures {
                for h in s.headers {
                    let known = p.columns(s.export).iter().any(|(c, _)| c == h)
                        || *h == "client_first_name"
                        || *h == "Primary Email Address"
                        || p.join.0 == *h
                        || p.join.1 == *h;
                    assert!(known, "{}: signature header '{h}' is no column", p.name);
                }
            }
            for r in p.record_ids {
                assert_eq!(
                    p.field_of(Export::Cases, r.header),
                    Some(""),
                    "{}",
                    r.header
                );
                assert!(p.field_of(Export::Cases, r.label).is_some(), "{}", r.label);
            }
        }
    }

    #[test]
    fn detects_each_export_by_its_headers_without_regard_to_case() {
        let table: &[(&[&str], Option<&str>)] = &[
            (
                &["Display Number", "Unique ID", "Description", "Client ID"],
                Some("looks like a Clio matters export: preset clio"),
            ),
            (
                &["display number", "UNIQUE ID"],
                Some("looks like a Clio matters export: preset clio"),
            ),
            (
                &["custom_number", "client_first_name", "client_last_name"],
                Some("looks like a Clio import template: preset clio"),
            ),
            (
                &["ID", "First Name", "Last Name", "Primary Email Address"],
                Some("looks like a Clio contacts export: preset clio"),
            ),
            (
                &["Id", "Name", "litify_pm__Status__c"],
                Some("looks like a Litify matters export: preset litify"),
            ),
            (
                &["Id", "litify_pm__First_Name__c", "litify_pm__Last_Name__c"],
                Some("looks like a Litify accounts export: preset litify"),
            ),
            (
                &["Case Number", "Case ID", "Case State", "Case Type"],
                Some("looks like a SmartAdvocate cases report: preset smartadvocate"),
            ),
            (
                &["Project Name", "Phase", "Project Type"],
                Some("looks like a Filevine projects report: preset filevine"),
            ),
            // Half a signature is no signature.
            (&["Display Number", "Case Name"], None),
            (&["Case #", "Case Name", "Case Status"], None),
            (&[], None),
        ];
        for (h, want) in table {
            assert_eq!(detect(&hs(h)).map(|d| d.line()).as_deref(), *want, "{h:?}");
        }
    }

    #[test]
    fn names_and_fields() {
        assert_eq!(by_name(" CLIO ").unwrap().name, "clio");
        assert_eq!(
            by_name("practicepanther").unwrap_err(),
            "unknown preset 'practicepanther' (presets: clio, litify, smartadvocate, filevine)"
        );
        let table: &[(&Preset, Export, &str, Option<&str>)] = &[
            (&CLIO, Export::Cases, "display number", Some("case_number")),
            (&CLIO, Export::Cases, "Client ID", Some("")),
            (&CLIO, Export::Contacts, "id", Some("external_source_id")),
            (&CLIO, Export::Contacts, "Display Number", None),
            (&LITIFY, Export::Cases, "LITIFY_PM__CASE_TYPE__C", Some("")),
            (
                &LITIFY,
                Export::Cases,
                "litify_pm__Case_Type__r.Name",
                Some("type"),
            ),
        ];
        for (p, e, h, want) in table {
            assert_eq!(p.field_of(*e, h), *want, "{} {h}", p.name);
        }
        assert_eq!(
            export_of(&CLIO, &hs(&["ID", "Primary Email Address"])),
            Export::Contacts
        );
        assert_eq!(export_of(&CLIO, &hs(&["Matter"])), Export::Cases);
    }

    #[test]
    fn record_id_columns_are_named_with_their_label_column() {
        let notes = LITIFY.record_id_notes(&hs(&[
            "litify_pm__Case_Type__c",
            "litify_pm__Court__c",
            "litify_pm__Court__r.Name",
        ]));
        assert_eq!(
            notes,
            [
                "'litify_pm__Case_Type__c' holds 18-character Litify record ids, not names: it is not sent; export the label column 'litify_pm__Case_Type__r.Name' as well to send the case type name",
                "'litify_pm__Court__c' holds 18-character Litify record ids, not names: it is not sent; the court comes from 'litify_pm__Court__r.Name'",
            ]
        );
        assert!(CLIO.record_id_notes(&hs(&["Status"])).is_empty());
    }

    fn mapped(headers: &[&str], toml: &str) -> Result<(Vec<String>, Vec<String>), String> {
        let file = crate::map::MappingFile::parse(toml).map_err(|e| e.to_string())?;
        let opts = crate::map::MapOptions {
            file,
            ..Default::default()
        };
        let m =
            crate::map::Mapping::build(&CASES, &hs(headers), &opts).map_err(|e| e.to_string())?;
        let mut lines = m.describe();
        lines.extend(m.preset.map(|d| d.line()));
        Ok((lines, m.notes))
    }

    #[test]
    fn a_preset_maps_a_sheet_with_no_mapping_file() {
        let clio = [
            "Display Number",
            "Unique ID",
            "Description",
            "Status",
            "Practice Area",
            "Open Date",
            "Client ID",
        ];
        let table: &[(&[&str], &str, &[&str])] = &[
            (
                &clio,
                "",
                &[
                    "'Display Number' → case_number",
                    "'Unique ID' → external_source_id",
                    "'Description' → description",
                    "'Status' → status",
                    "'Practice Area' → type",
                    "'Open Date' → created_date",
                    "'Client ID' → (ignored)",
                    "default external_source = 'clio'",
                    "looks like a Clio matters export: preset clio",
                ],
            ),
            // [columns] beats the preset; the file's default beats the preset's source.
            (
                &clio,
                "[columns]\n\"Description\" = \"name\"\n[defaults]\nexternal_source = \"clio-eu\"",
                &[
                    "'Display Number' → case_number",
                    "'Unique ID' → external_source_id",
                    "'Description' → name",
                    "'Status' → status",
                    "'Practice Area' → type",
                    "'Open Date' → created_date",
                    "'Client ID' → (ignored)",
                    "default external_source = 'clio-eu'",
                    "looks like a Clio matters export: preset clio",
                ],
            ),
            // Named in the file, a preset applies without its signature.
            (
                &[
                    "Name",
                    "Id",
                    "litify_pm__Status__c",
                    "litify_pm__Case_Type__c",
                    "litify_pm__Case_Type__r.Name",
                ],
                "preset = \"Litify\"\n[defaults]\nexternal_source = \"x\"",
                &[
                    "'Name' → case_number",
                    "'Id' → external_source_id",
                    "'litify_pm__Status__c' → status",
                    "'litify_pm__Case_Type__c' → (ignored)",
                    "'litify_pm__Case_Type__r.Name' → type",
                    "default external_source = 'x'",
                    "looks like a Litify matters export: preset litify",
                ],
            ),
        ];
        for (h, toml, want) in table {
            let (lines, _) = mapped(h, toml).unwrap_or_else(|e| panic!("{h:?}: {e}"));
            assert_eq!(lines, *want, "{toml}");
        }
        // preset = "none": no detection, so the required fields are missing.
        let e = mapped(&clio, "preset = \"none\"").unwrap_err();
        assert!(
            e.starts_with(
                "no column for the required fields case_number, external_source, external_source_id"
            ),
            "{e}"
        );
        let e = mapped(&clio, "preset = \"mycase\"").unwrap_err();
        assert!(
            e.starts_with("mapping file: unknown preset 'mycase' (presets: clio, litify"),
            "{e}"
        );
        // A contacts export is no case sheet: no preset, and its fields are missing.
        let e = mapped(&["ID", "First Name", "Primary Email Address"], "").unwrap_err();
        assert!(
            e.starts_with("no column for the required fields case_number"),
            "{e}"
        );
        let (_, notes) = mapped(
            &[
                "Name",
                "Id",
                "litify_pm__Status__c",
                "litify_pm__Case_Type__c",
            ],
            "[defaults]\ntype = \"x\"",
        )
        .unwrap();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("not sent"), "{notes:?}");
    }
}
