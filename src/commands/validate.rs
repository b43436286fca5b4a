//! `kayse-bulk validate`: read → map → check → results, with no network. The run itself is the
//! engine's no-network run, which `import --dry-run` shares, so both see exactly the same rows.

use crate::cli::Global;
use crate::engine::checks;
use crate::engine::options::{BatchArgs, InputArgs, ResultsArgs, RulesArgs, SkipHiddenArgs};
use crate::error::CmdResult;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub hidden: SkipHiddenArgs,
    #[command(flatten)]
    pub rules: RulesArgs,
    #[command(flatten)]
    pub results: ResultsArgs,
    #[command(flatten)]
    pub batch: BatchArgs,
}

pub fn run(mut args: Args, g: &Global) -> CmdResult {
    crate::engine::session::restore_fed_back(&args.input.file, &mut args.rules)?;
    checks::run(
        "validate",
        &args.input,
        &args.hidden,
        &args.rules,
        (
            &args.batch,
            crate::send::rate::RateSpec::KAYSE,
            crate::engine::ledger::existing(g, None),
        ),
        &args.results,
        g,
    )
}
