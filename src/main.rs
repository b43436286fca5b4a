//! The binary: parse arguments (with the profile, if any), run the command, map the result to an
//! exit code. Nothing else.

use kayse_bulk::cli::run;
use kayse_bulk::engine::finish;
use kayse_bulk::error::Fatal;
use kayse_bulk::profile::{Stop, resolve};
use kayse_bulk::report::summary::error_json;

/// Rows are made on the reading thread and freed on the others; mimalloc frees across threads
/// without the arena locks and consolidation passes glibc's allocator spends its time in there.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `--json` asked for before the arguments could be parsed: the object is still owed.
    let json_asked = args.iter().skip(1).any(|a| a == "--json");
    let cli = match resolve(&args) {
        Ok(cli) => cli,
        Err(Stop::Clap(e)) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            if json_asked && code == 2 {
                let line = e.kind().as_str().unwrap_or("invalid arguments").to_string();
                println!("{}", error_json(None, 2, Some("usage"), None, &line));
            }
            return std::process::ExitCode::from(code);
        }
        Err(Stop::Fatal(fatal)) => return fail(None, &fatal, json_asked),
    };
    let (json, command) = (cli.global.json, cli.command.name());
    match run(cli) {
        Ok(code) => std::process::ExitCode::from(code as u8),
        Err(fatal) => fail(Some(command), &fatal, json),
    }
}

/// The one error line on stderr, the `--json` object unless the run printed its own, the code.
fn fail(command: Option<&str>, fatal: &Fatal, json: bool) -> std::process::ExitCode {
    eprintln!("error: {}", fatal.render());
    if json && !finish::emitted() {
        let object = error_json(
            command,
            fatal.code as i32,
            fatal.stop_reason(),
            fatal.next.as_deref(),
            &fatal.render(),
        );
        println!("{object}");
    }
    std::process::ExitCode::from(fatal.code as u8)
}
