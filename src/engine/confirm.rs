//! Asking before an action that cannot be undone (delete, sms, email) or that costs hours of the
//! key's budget (a long export): the engine's one gate, before anything is sent. The decision is pure (`decide`), the prompt takes any
//! `BufRead` + `Write`, so both are tested without a terminal. No network here.

use std::io::{BufRead, IsTerminal, Write};

/// How the run may proceed, given the flags and whether a person is at a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// `--yes` was given: go ahead.
    Go,
    /// A person is at the terminal: ask them.
    Ask,
    /// No terminal and no `--yes`: refuse (exit 2) having sent nothing.
    Refuse,
}

/// `--yes` wins; else ask when stdin and stderr are both terminals; else refuse.
pub fn decide(yes: bool, terminal: bool) -> Gate {
    if yes {
        Gate::Go
    } else if terminal {
        Gate::Ask
    } else {
        Gate::Refuse
    }
}

/// True when a person can both see the prompt (stderr) and answer it (stdin).
pub fn on_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Show `what`, then ask the person to type `count` to confirm. Anything else, or end of input,
/// is a no.
pub fn ask_count(
    input: &mut impl BufRead,
    out: &mut impl Write,
    what: &str,
    count: u64,
) -> std::io::Result<bool> {
    writeln!(out, "{what}")?;
    write!(
        out,
        "This cannot be undone. Type {count} to confirm, anything else cancels: "
    )?;
    out.flush()?;
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        writeln!(out)?;
        return Ok(false);
    }
    Ok(line.trim() == count.to_string())
}

/// Ask a yes/no question (for a long export); only `y` or `yes` is a yes.
pub fn ask_yes(
    input: &mut impl BufRead,
    out: &mut impl Write,
    question: &str,
) -> std::io::Result<bool> {
    write!(out, "{question} [y/N] ")?;
    out.flush()?;
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        writeln!(out)?;
        return Ok(false);
    }
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// The gate for an irreversible action of `count` items: `Ok(())` to go ahead, or the fatal
/// error (exit 2) explaining why nothing was sent.
pub fn confirm_action(
    yes: bool,
    what: &str,
    count: u64,
    command: &str,
) -> Result<(), crate::error::Fatal> {
    match decide(yes, on_terminal()) {
        Gate::Go => Ok(()),
        Gate::Refuse => Err(crate::error::Fatal::usage(format!(
            "{command}: nothing was sent; confirm with --yes (there is no terminal to ask on), or try --dry-run first"
        ))),
        Gate::Ask => {
            let stdin = std::io::stdin();
            let mut input = stdin.lock();
            let mut err = std::io::stderr();
            match ask_count(&mut input, &mut err, what, count) {
                Ok(true) => Ok(()),
                _ => Err(crate::error::Fatal::usage(format!(
                    "{command}: cancelled; nothing was sent"
                ))),
            }
        }
    }
}

/// The gate for a long run (export): on a terminal and without `--yes`, ask before `requests`
/// that will not fit in the `left` of the budget; `cancelled` is the refusal's one line.
pub fn ask_if_over_budget(
    yes: bool,
    requests: u64,
    left: u64,
    question: &str,
    cancelled: &str,
) -> Result<(), crate::error::Fatal> {
    if requests <= left || yes || !on_terminal() {
        return Ok(());
    }
    let ok = ask_yes(
        &mut std::io::stdin().lock(),
        &mut std::io::stderr(),
        question,
    )
    .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(crate::error::Fatal::usage(cancelled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates() {
        assert_eq!(decide(true, false), Gate::Go);
        assert_eq!(decide(true, true), Gate::Go);
        assert_eq!(decide(false, true), Gate::Ask);
        assert_eq!(decide(false, false), Gate::Refuse);
    }

    #[test]
    fn typed_count() {
        let cases: &[(&str, bool)] = &[
            ("12\n", true),
            (" 12 \n", true),
            ("12", true),
            ("11\n", false),
            ("yes\n", false),
            ("", false),
            ("\n", false),
        ];
        for (typed, want) in cases {
            let mut out = Vec::new();
            let got = ask_count(&mut typed.as_bytes(), &mut out, "Delete 12 cases", 12).unwrap();
            assert_eq!(got, *want, "{typed:?}");
            let shown = String::from_utf8(out).unwrap();
            assert!(shown.starts_with("Delete 12 cases\n"), "{shown}");
            assert!(shown.contains("Type 12 to confirm"), "{shown}");
        }
    }

    #[test]
    fn yes_no() {
        for (typed, want) in [("y\n", true), ("YES\n", true), ("n\n", false), ("", false)] {
            let mut out = Vec::new();
            assert_eq!(
                ask_yes(&mut typed.as_bytes(), &mut out, "Go?").unwrap(),
                want,
                "{typed:?}"
            );
        }
    }
}
