//! `kayse-bulk sandbox`: serve the local stand-in for the Kayse API until Ctrl-C or SIGTERM, then
//! save its state and exit 0. The options and the command's run live here; the server itself,
//! its rules and its state file are `crate::sandbox`'s.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::cli::Global;
use crate::error::{CmdResult, ExitCode, Fatal};
use crate::sandbox::{Behaviour, Clock, Config, DEFAULT_KEY, FaultSpec, Latency, spawn};
use crate::send::ApiKey;
use crate::send::rate::RateSpec;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Address to listen on. Keep it on loopback: the sandbox has no real security.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// The key clients must send in X-API-KEY [default: sandbox, printed at start; a key given
    /// here is never printed].
    #[arg(long, default_value = DEFAULT_KEY, hide_default_value = true, value_parser = parse_key)]
    pub api_key: ApiKey,
    /// Requests per fixed window per key: N/h, N/m, N/s or N/<k>s.
    #[arg(long, default_value = "500/h", value_name = "N/h|N/m|N/s")]
    pub rate_limit: RateSpec,
    /// Most cases one bulk upsert may carry.
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub max_bulk: usize,
    /// Delay before each /v1 request, in ms: MS or LO-HI.
    #[arg(long, value_name = "MS|LO-HI")]
    pub latency: Option<Latency>,
    /// Faults to inject: kind:probability,... with kinds 500, 503, drop, commit-drop, slow.
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<FaultSpec>,
    /// How long a `slow` fault holds the answer, in ms (longer than a client's timeout).
    #[arg(long, default_value_t = 65_000, value_name = "MS")]
    pub slow_ms: u64,
    /// Keep the data in this JSON file: loaded at start, saved after every change.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Seed for the fault and latency draws, so a run can be replayed.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    #[command(flatten)]
    pub behaviour: Behaviour,
}

impl From<&Args> for Config {
    fn from(a: &Args) -> Self {
        Config {
            listen: a.listen,
            api_key: a.api_key.clone(),
            rate: a.rate_limit,
            max_bulk: a.max_bulk,
            latency: a.latency.unwrap_or_default(),
            faults: a.faults.clone().unwrap_or_default(),
            slow_ms: a.slow_ms,
            state: a.state.clone(),
            seed: a.seed,
            log: true,
            clock: Clock::System,
            behaviour: a.behaviour,
        }
    }
}

fn parse_key(s: &str) -> Result<ApiKey, String> {
    if s.trim().is_empty() {
        return Err("the key must not be empty".into());
    }
    Ok(ApiKey::new(s))
}

/// `kayse-bulk sandbox`: serve until Ctrl-C or SIGTERM, then save and exit 0.
pub fn run(args: Args, g: &Global) -> CmdResult {
    let mut config = Config::from(&args);
    config.log = !g.quiet;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Fatal::usage("cannot start the async runtime").because(e))?;
    rt.block_on(async move {
        // Before the first line: whoever reads "listening on" may signal at once.
        let stop = stop_signals();
        let handle = spawn(config).await?;
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "listening on {}", handle.base_url());
            let _ = out.flush();
        }
        if args.api_key.expose() == DEFAULT_KEY {
            eprintln!("API key: {DEFAULT_KEY}");
        } else {
            eprintln!("API key: the one given with --api-key");
        }
        if !handle.addr.ip().is_loopback() {
            eprintln!(
                "warning: listening on {}, reachable from other machines; the sandbox has no real security",
                handle.addr
            );
        }
        if let Some(p) = &args.state {
            eprintln!("state: {}", p.display());
        }
        stop.await;
        if !g.quiet {
            eprintln!("stopping; saving state");
        }
        handle.shutdown().await?;
        Ok(ExitCode::Ok)
    })
}

/// Ctrl-C or SIGTERM. The handlers are in place when this returns, not when the future is first
/// polled, so a signal that comes right after "listening on" stops the sandbox cleanly (state
/// saved, exit 0) instead of killing it.
fn stop_signals() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handlers = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        );
        async move {
            match handlers {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
