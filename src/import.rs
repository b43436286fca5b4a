//! `kayse-bulk import`. (SKELETON: to be implemented.)

use crate::cli::Global;
use crate::exit::{CmdResult, Fatal};

#[derive(Debug, clap::Args)]
pub struct Args {
    pub file: Option<std::path::PathBuf>,
}

pub fn run(_args: Args, _g: &Global) -> CmdResult {
    Err(Fatal::usage("import is not implemented yet"))
}
