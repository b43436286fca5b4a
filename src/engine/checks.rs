//! The run that sends nothing: read → map → check → results, for `validate` and for
//! `import --dry-run`, which must see exactly the same rows. Reading, checking and writing
//! overlap on three threads (read-ahead, this one, write-behind). No network.

use crate::cli::Global;
use crate::engine::finish;
use crate::engine::input::{CaseSheet, Echo, Scanned};
use crate::engine::options::{BatchArgs, InputArgs, ResultsArgs, RulesArgs, SkipHiddenArgs};
use crate::error::{CmdResult, ExitCode, Fatal};
use crate::outcome::{Outcome, ResultRow};
use crate::report::results::{ResultsWriter, WriteBehind};
use crate::send::rate::RateSpec;

/// Validate every row and write the results file; the summary's plan says what an import costs
/// at `rate` (`validate`: Kayse's documented 500/h; `import --dry-run`: its `--rate-limit`).
pub fn run(
    command: &str,
    input: &InputArgs,
    hidden: &SkipHiddenArgs,
    rules: &RulesArgs,
    (batch, rate): (&BatchArgs, RateSpec),
    results: &ResultsArgs,
    g: &Global,
) -> CmdResult {
    let started = std::time::Instant::now();
    // validate's own default name: its results never stand where an import's ids are kept.
    // A dry run of a results file fed back writes beside it too, never over its ids. The
    // checks are import's, so an import's results file is the one they may be fed.
    let fed_back = crate::engine::in_place::default_for(&input.file, "import").is_some();
    let results_path = if results.results.is_none() && (command == "validate" || fed_back) {
        let p = crate::engine::guard::elsewhere(&results.path_for(&input.file, "import")?);
        crate::engine::options::check_results_path(&p)?;
        p
    } else {
        results.path_for(&input.file, "import")?
    };
    let mut sheet = CaseSheet::open(input, hidden.hidden_rows(), rules, false)?;
    sheet.describe_mapping(g);
    let usage = |e| Fatal::from_error(ExitCode::Usage, e);
    let echo = Echo::new(&sheet.table.headers);
    let dates = sheet.dates.clone();
    // Columns hidden in the workbook stay hidden (XLSX) or are left out (CSV).
    let writer = ResultsWriter::create_hiding(
        &results_path,
        &echo.headers(&sheet.table.headers),
        dates.headers(),
        &echo.columns(sheet.facts.hidden_columns()),
    )
    .map_err(usage)?;
    let mut writer = WriteBehind::spawn(writer, sheet.recycler()).map_err(usage)?;
    let mut summary = sheet.new_summary(command, &input.file, &results_path);
    let mut valid_creates = 0u64;
    while let Some(item) = sheet.next_row() {
        let (raw, result) = match item? {
            Scanned::Blank => {
                summary.blank_rows += 1;
                continue;
            }
            Scanned::Row { raw, result } => (raw, result),
        };
        summary.rows_read += 1;
        let (outcome, errors, id) = match result {
            Ok(case) => {
                if case.id.is_some() {
                    summary.updates += 1;
                    summary.fields_cleared += case.omitted().count() as u64;
                } else {
                    summary.creates += 1;
                    valid_creates += 1;
                }
                (Outcome::Valid, Vec::new(), case.id)
            }
            Err(errors) => (Outcome::Invalid, errors, None),
        };
        summary.count(outcome);
        let extra = dates.cells(&raw);
        writer
            .write(ResultRow {
                source_row: raw.source_row,
                outcome,
                kayse_id: id,
                errors: echo.errors(errors),
                cells: echo.cells(raw.cells),
                extra,
            })
            .map_err(usage)?;
    }
    sheet.finish_summary(&mut summary);
    summary.plan = Some(crate::plan::validate_line(
        valid_creates,
        summary.updates,
        u64::from(batch.batch_size),
        rate,
    ));
    finish::conclude(summary, g, None, started, |s| {
        crate::engine::guard::no_send_may_replace(&results_path)?;
        writer.finish(s).map_err(usage)
    })
}
