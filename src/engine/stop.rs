//! Why a run stopped before its work was done: a fixed set of reasons, each with one line for
//! people and a stable code for machines. The first reason raised wins. No I/O.

use crate::send::{CallError, Halt};

/// Why sending stopped early. Ctrl-C is not one of them: it is the run's `interrupted` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// 401 or 403: the key is wrong, revoked or lacks rights.
    KeyRejected(u16),
    /// The run's `--budget` of requests is spent.
    Budget,
    /// Kayse could not be reached past the retries; the last failure.
    Network(String),
    /// The journal could not be written, so nothing more may be sent.
    Journal(String),
    /// Kayse answered 5xx past `--outage-wait` (or to one request, past its retries).
    Outage(String),
    /// The ledger could not be written (the journal holds what it missed).
    Ledger(String),
}

impl StopReason {
    /// The reason a failed call ends the run's sending, if it does: a rejected key, the budget,
    /// or a network that stayed down past the retries. `Halted(Stopped)` is the run already
    /// stopping for another reason, so it has none of its own.
    pub fn of_call(e: &CallError) -> Option<StopReason> {
        match e {
            CallError::KeyRejected { status } => Some(StopReason::KeyRejected(*status)),
            CallError::Halted {
                halt: Halt::Budget, ..
            } => Some(StopReason::Budget),
            CallError::GaveUp {
                last,
                network: true,
                ..
            } => Some(StopReason::Network(last.clone())),
            CallError::Outage { network: true, .. } => Some(StopReason::Network(e.to_string())),
            CallError::GaveUp { .. } | CallError::Outage { .. } => {
                Some(StopReason::Outage(e.to_string()))
            }
            _ => None,
        }
    }

    /// One line for people; it follows "not sent: " in results files.
    pub fn message(&self) -> String {
        match self {
            StopReason::KeyRejected(s) => format!(
                "the API key was rejected (HTTP {s}): check KAYSE_API_KEY or --api-key-file"
            ),
            StopReason::Budget => "the --budget is spent".into(),
            StopReason::Network(last) => format!("Kayse cannot be reached: {last}"),
            StopReason::Journal(e) => format!("the journal cannot be written: {e}"),
            StopReason::Outage(e) => format!("Kayse is down: {e}"),
            StopReason::Ledger(e) => format!("the ledger cannot be written: {e}"),
        }
    }

    /// A stable word for machines: `--json`'s `stop_reason`, one of `error::STOP_REASONS`.
    pub fn code(&self) -> &'static str {
        match self {
            StopReason::KeyRejected(_) => "key_rejected",
            StopReason::Budget => "budget_spent",
            StopReason::Network(_) => "server_unreachable",
            // What the run learned is in the journal either way; the file that cannot take it is
            // the ledger, which a scheduler treats like an unwritable results file.
            StopReason::Journal(_) | StopReason::Ledger(_) => "results_unwritable",
            StopReason::Outage(_) => "outage",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_that_stop_a_run() {
        let table: Vec<(CallError, Option<StopReason>)> = vec![
            (
                CallError::KeyRejected { status: 401 },
                Some(StopReason::KeyRejected(401)),
            ),
            (
                CallError::Halted {
                    halt: Halt::Budget,
                    lost: false,
                },
                Some(StopReason::Budget),
            ),
            (
                CallError::Halted {
                    halt: Halt::Stopped,
                    lost: true,
                },
                None,
            ),
            (
                CallError::GaveUp {
                    last: "cannot connect to Kayse".into(),
                    attempts: 6,
                    network: true,
                    lost: false,
                },
                Some(StopReason::Network("cannot connect to Kayse".into())),
            ),
            (
                CallError::Rejected {
                    status: 400,
                    message: "x".into(),
                    lost_before: false,
                },
                None,
            ),
            (CallError::Lost { last: "x".into() }, None),
            (
                CallError::Outage {
                    last: "Kayse answered 503: maintenance".into(),
                    waited: std::time::Duration::from_secs(900),
                    network: false,
                    lost: false,
                },
                Some(StopReason::Outage(
                    "Kayse answered 503: maintenance, for 15 min (--outage-wait)".into(),
                )),
            ),
            (
                CallError::Outage {
                    last: "cannot connect to Kayse".into(),
                    waited: std::time::Duration::from_secs(30),
                    network: true,
                    lost: false,
                },
                Some(StopReason::Network(
                    "cannot connect to Kayse, for 30 s (--outage-wait)".into(),
                )),
            ),
            (
                CallError::GaveUp {
                    last: "Kayse answered 500: boom".into(),
                    attempts: 6,
                    network: false,
                    lost: false,
                },
                Some(StopReason::Outage(
                    "Kayse answered 500: boom (after 6 attempts)".into(),
                )),
            ),
        ];
        for (e, want) in table {
            assert_eq!(StopReason::of_call(&e), want, "{e}");
        }
    }

    #[test]
    fn messages_and_codes() {
        let table = [
            (
                StopReason::KeyRejected(403),
                "the API key was rejected (HTTP 403): check KAYSE_API_KEY or --api-key-file",
                "key_rejected",
            ),
            (StopReason::Budget, "the --budget is spent", "budget_spent"),
            (
                StopReason::Network("no answer".into()),
                "Kayse cannot be reached: no answer",
                "server_unreachable",
            ),
            (
                StopReason::Journal("disk full".into()),
                "the journal cannot be written: disk full",
                "results_unwritable",
            ),
            (
                StopReason::Outage("Kayse answered 503: x, for 15 min (--outage-wait)".into()),
                "Kayse is down: Kayse answered 503: x, for 15 min (--outage-wait)",
                "outage",
            ),
        ];
        for (r, message, code) in table {
            assert_eq!(r.message(), message);
            assert_eq!(r.code(), code);
            assert!(crate::error::STOP_REASONS.contains(&code), "{code}");
        }
    }
}
