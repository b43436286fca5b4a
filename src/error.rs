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

/// A failure that ends a command: the exit code, what the command was doing (one line for
/// people), and the typed error that caused it, if any. Never holds the API key.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Fatal {
    pub code: ExitCode,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl Fatal {
    pub fn new(code: ExitCode, message: impl Into<String>) -> Self {
        Fatal {
            code,
            message: message.into(),
            source: None,
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
        }
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
