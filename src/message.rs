//! `kayse-bulk sms` and `kayse-bulk email`. (SKELETON: to be implemented.)

use crate::cli::Global;
use crate::exit::{CmdResult, Fatal};

#[derive(Debug, clap::Args)]
pub struct SmsArgs {
    pub file: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct EmailArgs {
    pub file: std::path::PathBuf,
}

pub fn run_sms(_args: SmsArgs, _g: &Global) -> CmdResult {
    Err(Fatal::usage("sms is not implemented yet"))
}

pub fn run_email(_args: EmailArgs, _g: &Global) -> CmdResult {
    Err(Fatal::usage("email is not implemented yet"))
}
