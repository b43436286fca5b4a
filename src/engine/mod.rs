//! The run of every networked command (import, export, delete, sms, email), one way: the plan
//! printed once, confirmation, the journal (checked, resumed, created), pacing and concurrency
//! through one model (a queue cut into batches at take time, N workers sharing the one client,
//! ONE collector that owns the journal, the tallies and the progress bar), Ctrl-C, the join of
//! outcomes to input rows, the results file, the summary and the exit code. A command supplies
//! only how items become requests and answers become outcomes: an [`Command`].
//!
//! Also the pieces a run is made of that no command owns: the shared option blocks, the input
//! side (one reading pass, fingerprinted), the no-network check run of `validate` and
//! `import --dry-run`, the shared case fetch, and the test-only crash points.

pub mod checks;
pub mod clients;
mod collector;
pub mod confirm;
pub mod crash;
pub mod earlier;
mod facts;
pub mod fetch;
pub mod finish;
pub mod guard;
pub mod in_place;
pub mod input;
pub mod joined;
pub mod ledger;
mod live;
mod lookahead;
pub mod options;
pub mod packed;
pub mod progress;
mod queue;
pub mod session;
mod stop;
mod worker;

use futures::future::BoxFuture;

pub use collector::{Collected, Sink, View};
pub use live::{Live, Sent, Settled};
pub use queue::{Job, Work, take_where};
pub use session::{InFlight, Input, Session, Spec};
pub use stop::StopReason;
pub use worker::Cx;

/// Whether a worker goes on after a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Go,
    Stop,
}

/// What a networked command tells the engine: what its items are, and how one job of them is
/// sent. `send` journals each request through `cx.sent` before it leaves (unless it changes
/// nothing, like a GET), releases what certainly was not applied, reports every settled item
/// with `cx.done`, and stops the run through `cx.halted`/`cx.stop`. It never touches the
/// journal, the progress bar or the results itself.
pub trait Command: Send + Sync + Sized + 'static {
    /// One thing to send: a row's payload, an id, a message.
    type Item: Send + 'static;

    /// The item's key in the journal and in the outcomes: its source row, or its id.
    fn key(item: &Self::Item) -> usize;

    /// Send `job` (its items may be split into several requests) and settle its items.
    fn send<'a>(&'a self, cx: &'a Cx<Self>, job: Job<Self::Item>) -> BoxFuture<'a, Flow>;
}
