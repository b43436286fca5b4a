//! `kayse-bulk template`: write a starter workbook from the schema table. (SKELETON.)

use std::path::PathBuf;

use crate::cli::Global;
use crate::exit::{CmdResult, Fatal};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the workbook.
    #[arg(long, default_value = "kayse-cases-template.xlsx")]
    pub out: PathBuf,
}

pub fn run(_args: Args, _g: &Global) -> CmdResult {
    Err(Fatal::usage("template is not implemented yet"))
}
