//! The binary: parse arguments, run the command, map the result to an exit code. Nothing else.

use clap::Parser;
use kayse_bulk::cli::{Cli, run};

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return std::process::ExitCode::from(code);
        }
    };
    let code = match run(cli) {
        Ok(code) => code,
        Err(fatal) => {
            eprintln!("error: {}", fatal.message);
            fatal.code
        }
    };
    std::process::ExitCode::from(code as u8)
}
