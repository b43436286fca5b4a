//! The binary: parse arguments (with the profile, if any), run the command, map the result to an
//! exit code. Nothing else.

use kayse_bulk::cli::run;
use kayse_bulk::profile::{Stop, resolve};

/// Rows are made on the reading thread and freed on the others; mimalloc frees across threads
/// without the arena locks and consolidation passes glibc's allocator spends its time in there.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match resolve(&args) {
        Ok(cli) => cli,
        Err(Stop::Clap(e)) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return std::process::ExitCode::from(code);
        }
        Err(Stop::Fatal(fatal)) => {
            eprintln!("error: {}", fatal.render());
            return std::process::ExitCode::from(fatal.code as u8);
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
