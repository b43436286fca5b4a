//! Exit codes and the one top-level error type every command returns. Converted to a process exit
//! code in `main.rs` only.

/// The process exit codes documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// A failure that ends a command, with the exit code it maps to. The message is one line for
/// people; it never contains the API key.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Fatal {
    pub code: ExitCode,
    pub message: String,
}

impl Fatal {
    pub fn usage(message: impl Into<String>) -> Self {
        Fatal {
            code: ExitCode::Usage,
            message: message.into(),
        }
    }

    pub fn stopped(message: impl Into<String>) -> Self {
        Fatal {
            code: ExitCode::Stopped,
            message: message.into(),
        }
    }

    pub fn interrupted(message: impl Into<String>) -> Self {
        Fatal {
            code: ExitCode::Interrupted,
            message: message.into(),
        }
    }
}

/// What every command's `run` returns.
pub type CmdResult = Result<ExitCode, Fatal>;
