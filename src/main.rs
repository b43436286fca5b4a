//! The binary: parse arguments, run the command, map the result to an exit code. Nothing else.

use clap::Parser;
use kayse_bulk::cli::{Cli, run};

/// Rows are made on the reading thread and freed on the others; mimalloc frees across threads
/// without the arena locks and consolidation passes glibc's allocator spends its time in there.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
            eprintln!("error: {}", fatal.render());
            fatal.code
        }
    };
    std::process::ExitCode::from(code as u8)
}
