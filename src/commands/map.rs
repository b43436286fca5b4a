//! `kayse-bulk map FILE`: read a sheet once and write the mapping file to start from (see
//! `map::write`), on stdout or to `--out`. No network, and it never changes the input; it does
//! not decide how a run maps columns (that is `map::Mapping`, which reads the file it writes).

use std::path::PathBuf;

use crate::cli::Global;
use crate::engine::input::read_failed;
use crate::engine::options::InputArgs;
use crate::entity::{CASES, CLIENTS};
use crate::error::{CmdResult, ExitCode, Fatal};
use crate::map::write::{Survey, entity_of};
use crate::map::{MapOptions, header_matcher, presets};
use crate::read::{self, HeaderMatcher};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// The export's system (clio, litify, smartadvocate, filevine) [default: recognised from the
    /// headers, if any].
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Where to write the mapping file [default: stdout].
    #[arg(long, value_name = "FILE.toml")]
    pub out: Option<PathBuf>,
    /// Replace --out if it already exists.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: Args, g: &Global) -> CmdResult {
    if let Some(p) = &args.preset {
        presets::by_name(p).map_err(|e| Fatal::usage(format!("--preset: {e}")))?;
    }
    if g.json && args.out.is_none() {
        return Err(Fatal::usage(
            "--json prints its summary on stdout, where the mapping file goes: add --out FILE.toml",
        ));
    }
    if let Some(out) = &args.out
        && out.exists()
        && !args.force
    {
        return Err(Fatal::usage(format!(
            "{} already exists (perhaps edited); use --force to replace it or --out to choose another name",
            out.display()
        )));
    }
    // A header row names case fields, client fields or a preset's columns.
    let cases = header_matcher(&CASES, &MapOptions::default());
    let clients = header_matcher(&CLIENTS, &MapOptions::default());
    let matcher = HeaderMatcher::new(move |h| cases.score([h]) + clients.score([h]) > 0);
    let opts = args.input.read_options(Default::default(), matcher);
    let table = read::open(&args.input.file, &opts).map_err(read_failed)?;
    let preset = args.preset.as_deref();
    let entity = entity_of(&table.headers, preset);
    let mut survey = Survey::new(entity, &table.headers, preset).map_err(Fatal::usage)?;
    for row in table.rows {
        survey.add(&row.map_err(read_failed)?);
    }
    let detected = survey.preset.map(|d| d.line());
    let out_name = args
        .out
        .as_ref()
        .map_or("mapping.toml".to_string(), |p| p.display().to_string());
    let text = survey.render(&args.input.file.display().to_string(), &out_name);
    match &args.out {
        Some(out) => std::fs::write(out, &text).map_err(|e| {
            Fatal::new(
                ExitCode::Usage,
                format!("cannot write {}: {e}", out.display()),
            )
        })?,
        None => print!("{text}"),
    }
    if g.json {
        let summary = serde_json::json!({
            "command": "map",
            "input": args.input.file.display().to_string(),
            "out": out_name,
            "entity": entity.name,
            "preset": detected,
        });
        println!("{summary}");
    } else if !g.quiet {
        if let Some(line) = detected {
            eprintln!("{line}");
        }
        if let Some(out) = &args.out {
            eprintln!(
                "wrote {}; edit it, then pass it with --mapping {}",
                out.display(),
                out.display()
            );
        }
    }
    Ok(ExitCode::Ok)
}
