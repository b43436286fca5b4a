//! Exit codes and the one top-level error every command returns. Inside, modules keep their own
//! typed errors (thiserror enums that carry file, row and column); a command wraps the one that
//! ends it in a [`Fatal`], which keeps it as its source. `main.rs` prints the chain once and maps
//! the code to the process's exit status.

use std::error::Error as StdError;

/// The process exit codes documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ExitCode {
    /// Every row valid / done.
    Ok = 0,
    /// Some rows invalid, failed or unknown.
    RowsFailed = 1,
    /// Usage error or unusable input.
    Usage = 2,
    /// The run stopped (key rejected, budget spent, network down); it can be resumed.
    Stopped = 3,
    /// Interrupted by Ctrl-C.
    Interrupted = 130,
}

/// The fixed set of `stop_reason` words of `--json` (documented in the README).
pub const STOP_REASONS: &[&str] = &[
    "budget_spent",
    "key_rejected",
    "server_unreachable",
    "outage",
    "results_unwritable",
    "interrupted",
    "another_run",
    "usage",
];

/// A failure that ends a command: the exit code, what the command was doing (one line for
/// people), and the typed error that caused it, if any. Never holds the API key.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Fatal {
    pub code: ExitCode,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn StdError + Send + Sync + 'static>>,
    /// Why the run stopped, for machines (`--json`'s `stop_reason`), when the code alone does
    /// not say it; see [`Fatal::stop_reason`].
    pub reason: Option<&'static str>,
    /// The exact command to run next, when there is one (`--json`'s `next`).
    pub next: Option<String>,
}

impl Fatal {
    pub fn new(code: ExitCode, message: impl Into<String>) -> Self {
        Fatal {
            code,
            message: message.into(),
            source: None,
            reason: None,
            next: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Fatal::new(ExitCode::Usage, message)
    }

    pub fn stopped(message: impl Into<String>) -> Self {
        Fatal::new(ExitCode::Stopped, message)
    }

    pub fn interrupted(message: impl Into<String>) -> Self {
        Fatal::new(ExitCode::Interrupted, message)
    }

    /// Keep `e` as the cause: it is printed after the message, once.
    pub fn because(mut self, e: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(e));
        self
    }

    /// A typed error that ends the command on its own: its text is the message's whole content,
    /// and its own sources follow it.
    pub fn from_error(code: ExitCode, e: impl StdError + Send + Sync + 'static) -> Self {
        Fatal {
            code,
            message: String::new(),
            source: Some(Box::new(e)),
            reason: None,
            next: None,
        }
    }

    /// Name why the run stopped, one of [`STOP_REASONS`].
    pub fn with_reason(mut self, reason: &'static str) -> Self {
        debug_assert!(STOP_REASONS.contains(&reason), "{reason}");
        self.reason = Some(reason);
        self
    }

    /// Name the command to run next.
    pub fn with_next(mut self, next: impl Into<String>) -> Self {
        self.next = Some(next.into());
        self
    }

    /// The `stop_reason` of `--json`: the one named, else what the code says (a usage error is
    /// `usage`, an interrupt `interrupted`; any other stop was the results or journal failing
    /// to be written, the one stop that names no reason of its own).
    pub fn stop_reason(&self) -> Option<&'static str> {
        self.reason.or(match self.code {
            ExitCode::Usage => Some("usage"),
            ExitCode::Interrupted => Some("interrupted"),
            ExitCode::Stopped => Some("results_unwritable"),
            ExitCode::Ok | ExitCode::RowsFailed => None,
        })
    }

    /// The one line printed after `error: `: the message, then each cause in the chain, each
    /// once (a cause whose text the line already holds is not repeated).
    pub fn render(&self) -> String {
        let mut line = self.message.clone();
        let mut next: Option<&(dyn StdError + 'static)> = match &self.source {
            Some(b) => Some(b.as_ref()),
            None => None,
        };
        while let Some(e) = next {
            let text = e.to_string();
            if !text.is_empty() && !line.contains(&text) {
                if !line.is_empty() {
                    line.push_str(": ");
                }
                line.push_str(&text);
            }
            next = e.source();
        }
        line
    }
}

/// What every command's `run` returns.
pub type CmdResult = Result<ExitCode, Fatal>;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read {path}")]
    struct Outer {
        path: String,
        #[source]
        io: std::io::Error,
    }

    #[test]
    fn every_stop_has_a_reason_from_the_fixed_set() {
        let table = [
            (Fatal::usage("x"), Some("usage")),
            (Fatal::interrupted("x"), Some("interrupted")),
            (Fatal::stopped("x"), Some("results_unwritable")),
            (
                Fatal::stopped("x").with_reason("another_run"),
                Some("another_run"),
            ),
            (Fatal::new(ExitCode::RowsFailed, "x"), None),
        ];
        for (f, want) in table {
            assert_eq!(f.stop_reason(), want, "{f:?}");
            if let Some(r) = f.stop_reason() {
                assert!(STOP_REASONS.contains(&r));
            }
        }
    }

    #[test]
    fn the_chain_is_printed_once_on_one_line() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let table: Vec<(Fatal, &str)> = vec![
            (Fatal::usage("bad option"), "bad option"),
            (
                Fatal::usage("cannot use the mapping file").because(Outer {
                    path: "m.toml".into(),
                    io: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                }),
                "cannot use the mapping file: cannot read m.toml: no such file",
            ),
            (Fatal::from_error(ExitCode::Stopped, io), "no such file"),
            (
                Fatal::usage("no such file here").because(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such file",
                )),
                "no such file here",
            ),
        ];
        for (f, want) in table {
            assert_eq!(f.render(), want);
        }
    }
}
