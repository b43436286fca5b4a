//! `kayse-bulk sandbox`: a local stand-in for the Kayse Cases API, also embedded behind the global
//! `--sandbox`. (SKELETON: to be implemented.)

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::cli::Global;
use crate::exit::{CmdResult, Fatal};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
}

/// A sandbox running in this process.
pub struct Embedded {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    pub api_key: String,
}

/// Start the sandbox in-process on a free loopback port, with its state in `state`.
pub async fn start_embedded(state: PathBuf) -> Result<Embedded, Fatal> {
    let _ = state;
    Err(Fatal::usage("the sandbox is not implemented yet"))
}

pub fn run(_args: Args, _g: &Global) -> CmdResult {
    Err(Fatal::usage("sandbox is not implemented yet"))
}
