//! `kayse-bulk template`: write a starter workbook from an entity's table — one header per field
//! (required ones marked, each with a note holding its description), dropdowns for yes/no fields,
//! date validation for dates, one valid example row and a `Fields` sheet. Every field fact comes
//! from the table (`entity::CASES`); this module must not list fields of its own.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rust_xlsxwriter::{
    Color, DataValidation, DataValidationRule, Format, FormatBorder, Note, Workbook, Worksheet,
    XlsxError,
};

use crate::cli::Global;
use crate::engine::options::EntityArg;
use crate::entity::{CASES, Entity, Field, Kind};
use crate::error::{CmdResult, ExitCode, Fatal};
use crate::map::linked;
use crate::report::results::{replace, temp_path};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which records the template is for.
    #[arg(long, value_enum, default_value = "cases")]
    pub entity: EntityArg,
    /// Where to write the workbook [default: kayse-cases-template.xlsx, or
    /// kayse-clients-template.xlsx with --entity clients].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the file if it already exists.
    #[arg(long)]
    pub force: bool,
}

/// Data rows (below the header) that carry the dropdowns and date validation.
pub const VALIDATED_ROWS: u32 = 10_000;

/// The first date the date columns accept; anything earlier is a typo.
const FIRST_DATE: (i32, u32, u32) = (1900, 1, 1);

pub fn run(args: Args, g: &Global) -> CmdResult {
    let entity = args.entity.table();
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("kayse-{}-template.xlsx", entity.name)));
    let shown = out.display().to_string();
    if !out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"))
    {
        return Err(Fatal::usage(format!(
            "template {shown}: the file name must end in .xlsx"
        )));
    }
    if out.exists() && !args.force {
        return Err(Fatal::usage(format!(
            "{shown} already exists; use --force to replace it or --out to choose another name"
        )));
    }
    write_template(entity, &out).map_err(|e| Fatal::from_error(ExitCode::Usage, e))?;
    if !g.quiet {
        eprintln!("wrote {shown}");
    }
    Ok(ExitCode::Ok)
}

/// Why the template could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot write template {path}: {message}")]
    Write { path: String, message: String },
    #[error(transparent)]
    Replace(#[from] crate::report::results::ResultsError),
}

/// Build `entity`'s template and move it into place at `path` (through a temporary sibling, so a
/// failed run never leaves half a workbook).
pub fn write_template(entity: &'static Entity, path: &Path) -> Result<(), TemplateError> {
    let temp = temp_path(path);
    let built = build(entity).and_then(|mut wb| wb.save(&temp));
    if let Err(e) = built {
        let _ = std::fs::remove_file(&temp);
        return Err(TemplateError::Write {
            path: path.display().to_string(),
            message: e.to_string(),
        });
    }
    Ok(replace(&temp, path)?)
}

/// The whole workbook: the entity's sheet (`Cases`) first, so readers pick it by default, then
/// `Fields`.
fn build(entity: &'static Entity) -> Result<Workbook, XlsxError> {
    let mut wb = Workbook::new();
    records_sheet(wb.add_worksheet(), entity)?;
    fields_sheet(wb.add_worksheet(), entity)?;
    Ok(wb)
}

fn header_format(required: bool) -> Format {
    let f = Format::new()
        .set_bold()
        .set_border_bottom(FormatBorder::Thin);
    if required {
        f.set_background_color(Color::RGB(0xFFD966))
    } else {
        f.set_background_color(Color::RGB(0xD9E1F2))
    }
}

fn example_date(field: &Field) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(field.example, "%Y-%m-%d").ok()
}

/// One column of the records sheet: its header, the field whose kind and example it takes,
/// whether it is required, and its note.
struct Column {
    header: String,
    field: &'static Field,
    required: bool,
    note: String,
}

/// The records sheet's columns: every field of `entity`, then, for cases, the first client's
/// columns (`Client First Name`, ...), which the linked import creates and links.
fn columns(entity: &'static Entity) -> Vec<Column> {
    let mut cols: Vec<Column> = entity
        .fields
        .iter()
        .map(|f| Column {
            header: f.name.to_string(),
            field: f,
            required: f.required,
            note: format!(
                "{} {}",
                f.description,
                if f.required { "Required." } else { "Optional." }
            ),
        })
        .collect();
    if entity.name == CASES.name {
        cols.extend(linked::template_fields().map(|(_, f)| Column {
            header: linked::header(1, f),
            field: f,
            required: false,
            note: format!(
                "The case's client: {}. Optional; a row that names a client gets it created in Kayse and linked to the case (first and last name needed). Client 2 ... and Client 3 ... columns name more.",
                f.description
            ),
        }));
    }
    cols
}

fn records_sheet(ws: &mut Worksheet, entity: &'static Entity) -> Result<(), XlsxError> {
    ws.set_name(entity.title())?;
    let required = header_format(true);
    let optional = header_format(false);
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let (y, m, d) = FIRST_DATE;
    let first_date = NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    for (i, column) in columns(entity).iter().enumerate() {
        let col = i as u16;
        let field = column.field;
        let title = column.header.as_str();
        let fmt = if column.required {
            &required
        } else {
            &optional
        };
        ws.write_string_with_format(0, col, title, fmt)?;
        ws.set_column_width(col, (title.len() + 4).clamp(12, 40) as f64)?;
        let note = Note::new(&column.note)
            .set_author("kayse-bulk")
            .add_author_prefix(false)
            .set_width(260)
            .set_height(90);
        ws.insert_note(0, col, &note)?;
        match field.kind {
            Kind::Bool => {
                let v = DataValidation::new()
                    .allow_list_strings(&["TRUE", "FALSE"])?
                    .set_input_title(title)?
                    .set_input_message("TRUE or FALSE")?;
                ws.add_data_validation(1, col, VALIDATED_ROWS, col, &v)?;
                if !field.example.is_empty() {
                    ws.write_boolean(1, col, field.example.eq_ignore_ascii_case("true"))?;
                }
            }
            Kind::Date => {
                let v = DataValidation::new()
                    .allow_date(DataValidationRule::GreaterThanOrEqualTo(first_date))
                    .set_input_title(title)?
                    .set_input_message("A date, shown as YYYY-MM-DD")?
                    .set_error_title("Not a date")?
                    .set_error_message("Type a date such as 2024-03-05.")?;
                ws.add_data_validation(1, col, VALIDATED_ROWS, col, &v)?;
                ws.set_column_format(col, &date)?;
                if let Some(d) = example_date(field) {
                    ws.write_date_with_format(1, col, d, &date)?;
                }
            }
            Kind::Text | Kind::IdList | Kind::Object | Kind::Email | Kind::Mobile => {
                if !field.example.is_empty() {
                    ws.write_string(1, col, field.example)?;
                }
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

/// One row per field: name, required, type, description, aliases, example; then `id`, which the
/// template leaves out because it is for creating records; then the client columns of a case
/// template, with the headers a second and third client take.
fn fields_sheet(ws: &mut Worksheet, entity: &'static Entity) -> Result<(), XlsxError> {
    ws.set_name("Fields")?;
    let head = header_format(false);
    let titles = [
        ("field", 24),
        ("required", 10),
        ("type", 10),
        ("description", 70),
        ("other headers accepted", 50),
        ("example", 24),
    ];
    for (c, (title, width)) in titles.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *title, &head)?;
        ws.set_column_width(c as u16, *width)?;
    }
    let id_description = format!(
        "{}. Not a column of this template, which creates {}: add an id column to update existing ones.",
        entity.id.description, entity.name
    );
    let mut rows: Vec<[String; 6]> = entity
        .fields
        .iter()
        .map(|f| (f, f.description.to_string()))
        .chain(std::iter::once((&entity.id, id_description)))
        .map(|(f, description)| {
            [
                f.name.to_string(),
                if f.required { "yes" } else { "no" }.to_string(),
                f.kind.api_name().to_string(),
                description,
                f.aliases.join(", "),
                f.example.to_string(),
            ]
        })
        .collect();
    // The client columns of the case template, after the case's own fields.
    for c in columns(entity).into_iter().skip(entity.fields.len()) {
        let f = c.field;
        rows.push([
            c.header.clone(),
            "no".to_string(),
            f.kind.api_name().to_string(),
            c.note.clone(),
            (2..=linked::MAX_CLIENTS)
                .map(|g| linked::header(g, f))
                .collect::<Vec<_>>()
                .join(", "),
            f.example.to_string(),
        ]);
    }
    for (r, cells) in rows.iter().enumerate() {
        for (c, text) in cells.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, text)?;
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, rows.len() as u32, titles.len() as u16 - 1)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_date_parses() {
        for f in crate::entity::ALL
            .iter()
            .flat_map(|e| e.fields)
            .filter(|f| f.kind == Kind::Date)
        {
            assert!(
                f.example.is_empty() || example_date(f).is_some(),
                "{}: {}",
                f.name,
                f.example
            );
        }
    }

    #[test]
    fn refuses_to_overwrite_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("t.xlsx");
        std::fs::write(&out, b"mine").unwrap();
        let g = Global::default();
        let err = run(
            Args {
                entity: EntityArg::Cases,
                out: Some(out.clone()),
                force: false,
            },
            &g,
        )
        .err()
        .unwrap();
        assert!(err.message.contains("--force"), "{}", err.message);
        assert_eq!(std::fs::read(&out).unwrap(), b"mine");
        let g = Global {
            quiet: true,
            ..Global::default()
        };
        assert_eq!(
            run(
                Args {
                    entity: EntityArg::Cases,
                    out: Some(out.clone()),
                    force: true
                },
                &g
            )
            .unwrap(),
            ExitCode::Ok
        );
        assert_ne!(std::fs::read(&out).unwrap(), b"mine");
        let err = run(
            Args {
                entity: EntityArg::Clients,
                out: Some(dir.path().join("t.csv")),
                force: false,
            },
            &g,
        )
        .err()
        .unwrap();
        assert!(err.message.contains(".xlsx"), "{}", err.message);
    }
}
