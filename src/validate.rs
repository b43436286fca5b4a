//! `kayse-bulk validate` (and `import --dry-run`): read → map → check → results, with no network.
//! (SKELETON: to be implemented.)

use crate::cli::Global;
use crate::exit::{CmdResult, Fatal};

#[derive(Debug, clap::Args)]
pub struct Args {
    pub file: std::path::PathBuf,
}

pub fn run(_args: Args, _g: &Global) -> CmdResult {
    Err(Fatal::usage("validate is not implemented yet"))
}
