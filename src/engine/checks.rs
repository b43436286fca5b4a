//! The run that sends nothing: read → map → check → results, for `validate` and for
//! `import --dry-run`, which must see exactly the same rows. Reading, checking and writing
//! overlap on three threads (read-ahead, this one, write-behind). No network.

use crate::check::linked::Clients;
use crate::cli::Global;
use crate::engine::input::{CaseSheet, Echo, Scanned};
use crate::engine::options::{BatchArgs, InputArgs, ResultsArgs, RulesArgs, SkipHiddenArgs};
use crate::engine::{finish, guard};
use crate::error::{CmdResult, ExitCode, Fatal};
use crate::outcome::{Outcome, ResultRow, RowError};
use crate::report::results::{ResultsFormat, ResultsWriter, WriteBehind};
use crate::report::summary::Summary;
use crate::send::rate::RateSpec;

/// Validate every row and write the results file; the summary's plan says what an import costs
/// at `rate` (`validate`: Kayse's documented 500/h; `import --dry-run`: its `--rate-limit`),
/// less the clients `ledger` (the run's, if it exists) already knows.
pub fn run(
    command: &str,
    input: &InputArgs,
    hidden: &SkipHiddenArgs,
    rules: &RulesArgs,
    (batch, rate, ledger): (&BatchArgs, RateSpec, Option<crate::record::ledger::Ledger>),
    results: &ResultsArgs,
    g: &Global,
) -> CmdResult {
    let started = std::time::Instant::now();
    // validate's own default name: its results never stand where an import's ids are kept.
    // A dry run of a results file fed back writes beside it too, never over its ids. The
    // checks are import's, so an import's results file is the one they may be fed.
    let fed_back = crate::engine::in_place::default_for(&input.file, "import").is_some();
    let results_path = if results.results.is_none() && (command == "validate" || fed_back) {
        let p = guard::elsewhere(&results.path_for(&input.file, "import")?);
        crate::engine::options::check_results_path(&p)?;
        p
    } else {
        results.path_for(&input.file, "import")?
    };
    // The old results file is read on a thread of its own, to prove it records nothing sent.
    // Beside a CSV results file it is read from the start. Beside an XLSX one it is read once
    // the rows are written, while this thread zips the new workbook: read earlier, it takes a
    // core from the sheet's parse, the run's critical path (the bench's 200,000-row XLSX
    // validate, medians of 11: 1.89 s read early, 1.81 s read late).
    let zipped = ResultsFormat::from_path(&results_path) == Some(ResultsFormat::Xlsx);
    let early = (!zipped).then(|| guard::Counting::start(&results_path));
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
    // With client columns, a row's verdict waits for the whole sheet (a client the sheet
    // contradicts fails every row naming it), so the rows are held, then written.
    let mut held: Vec<(ResultRow, u64)> = Vec::new();
    while let Some(item) = sheet.next_row() {
        let (raw, result) = match item? {
            Scanned::Blank => {
                summary.blank_rows += 1;
                continue;
            }
            Scanned::Row { raw, result } => (raw, result),
        };
        summary.rows_read += 1;
        let (outcome, errors, id, cleared) = match result {
            Ok(case) => {
                let cleared = case.id.map_or(0, |_| case.omitted().count() as u64);
                (Outcome::Valid, Vec::new(), case.id, cleared)
            }
            Err(errors) => (Outcome::Invalid, errors, None, 0),
        };
        let extra = dates.cells(&raw);
        let row = ResultRow {
            source_row: raw.source_row,
            outcome,
            kayse_id: id,
            errors: echo.errors(errors),
            cells: echo.cells(raw.cells),
            extra,
        };
        if sheet.has_clients() {
            held.push((row, cleared));
        } else {
            count(&mut summary, &row, cleared, &mut valid_creates);
            writer.write(row).map_err(usage)?;
        }
    }
    let counting = early.unwrap_or_else(|| guard::Counting::start(&results_path));
    sheet.finish_summary(&mut summary);
    let clients = sheet.clients();
    if let Some(clients) = &clients {
        for (mut row, cleared) in held {
            refuse_unsendable_clients(&mut row, clients);
            count(&mut summary, &row, cleared, &mut valid_creates);
            writer.write(row).map_err(usage)?;
        }
        summary.warnings.extend(describe_clients(clients));
    }
    let batch = u64::from(batch.batch_size);
    // The clients the ledger already knows are linked with no request: shown with their ids.
    let fates = match (&clients, &ledger) {
        (Some(c), Some(l)) => known_clients(c, l)?,
        _ => Vec::new(),
    };
    let known = fates.iter().filter(|f| f.id.is_some()).count() as u64;
    summary.plan = Some(match &clients {
        Some(c) => crate::plan::linked_line(
            (c.sendable() as u64).saturating_sub(known),
            known,
            (valid_creates, summary.updates),
            batch,
            rate,
        ),
        None => crate::plan::validate_line(valid_creates, summary.updates, batch, rate),
    });
    let tables: Vec<_> = clients
        .iter()
        .map(|c| crate::report::clients::table_with(c, &fates))
        .collect();
    finish::conclude(summary, g, None, started, |s| {
        writer
            .finish_checked(s, &tables, || guard::no_send_may_replace(counting))
            .map_err(usage)?
    })
}

/// Each client as the dry run sees it: `valid`, with the Kayse id the ledger knows it by (it
/// would be linked with no request), or `invalid` with the reason.
fn known_clients(
    clients: &Clients,
    ledger: &crate::record::ledger::Ledger,
) -> Result<Vec<crate::report::clients::Fate>, Fatal> {
    clients
        .clients
        .iter()
        .map(|c| {
            let (outcome, id) = match &c.problem {
                Some(_) => (Outcome::Invalid, None),
                None => (Outcome::Valid, super::clients::known(ledger, &c.record)?),
            };
            Ok(crate::report::clients::Fate {
                outcome,
                id,
                error: c.problem.clone(),
            })
        })
        .collect()
}

/// Count a row's verdict in the summary: valid creates and updates (with the `cleared` fields
/// an update would clear), or invalid.
fn count(summary: &mut Summary, row: &ResultRow, cleared: u64, valid_creates: &mut u64) {
    if row.outcome == Outcome::Valid {
        if row.kayse_id.is_some() {
            summary.updates += 1;
            summary.fields_cleared += cleared;
        } else {
            summary.creates += 1;
            *valid_creates += 1;
        }
    }
    summary.count(row.outcome);
}

/// A valid row naming a client that cannot be sent (the sheet contradicts itself about it, or
/// no row gives its name) is invalid, with the client's reason.
fn refuse_unsendable_clients(row: &mut ResultRow, clients: &Clients) {
    if row.outcome != Outcome::Valid {
        return;
    }
    let problems: Vec<RowError> = clients
        .of_row
        .get(&row.source_row)
        .into_iter()
        .flatten()
        .filter_map(|&k| {
            let c = &clients.clients[k];
            c.problem
                .as_ref()
                .map(|p| RowError::new("client", p.clone()))
        })
        .collect();
    if !problems.is_empty() {
        row.outcome = Outcome::Invalid;
        row.errors = problems;
    }
}

/// The summary's lines about the clients a case sheet names: how many, how many rows were
/// merged, and which rows sharing an email, a mobile or a name were kept apart (the first few).
pub fn describe_clients(clients: &Clients) -> Vec<String> {
    const SHOWN: usize = 5;
    let mut out = vec![format!(
        "clients: the rows name {} distinct clients ({} that can be sent, {} that cannot); {} rows were merged into a client named on an earlier row",
        clients.clients.len(),
        clients.sendable(),
        clients.clients.len() - clients.sendable(),
        clients.merged
    )];
    for c in clients
        .clients
        .iter()
        .filter(|c| c.problem.is_some())
        .take(SHOWN)
    {
        out.push(format!(
            "client not sent ({}): {}",
            c.rows.join(", "),
            c.problem.as_deref().unwrap_or_default()
        ));
    }
    for a in clients.apart.iter().take(SHOWN) {
        out.push(format!("clients kept apart: {a}"));
    }
    if clients.apart.len() > SHOWN {
        out.push(format!(
            "{} more pairs of clients kept apart",
            clients.apart.len() - SHOWN
        ));
    }
    out
}
