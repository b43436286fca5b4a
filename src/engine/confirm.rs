//! Asking before an action that cannot be undone (delete, sms, email) or that costs hours of the
//! key's budget (a long export): the engine's one gate, before anything is sent. The decision is pure (`decide`), the prompt takes any
//! `BufRead` + `Write`, so both are tested without a terminal. No network here.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::Fatal;

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
pub fn confirm_action(yes: bool, what: &str, count: u64, command: &str) -> Result<(), Fatal> {
    match decide(yes, on_terminal()) {
        Gate::Go => Ok(()),
        Gate::Refuse => Err(Fatal::usage(format!(
            "{command}: nothing was sent; confirm with --yes (there is no terminal to ask on), or try --dry-run first"
        ))),
        Gate::Ask => {
            let stdin = std::io::stdin();
            let mut input = stdin.lock();
            let mut err = std::io::stderr();
            match ask_count(&mut input, &mut err, what, count) {
                Ok(true) => Ok(()),
                _ => Err(Fatal::usage(format!(
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
) -> Result<(), Fatal> {
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
        Err(Fatal::usage(cancelled))
    }
}

/// The gate before sending values the checks call likely typos (`typos`, one line each): Kayse
/// would create each as a status or type of its own. `--yes` sends them as typed; on a terminal
/// the person is asked; with no terminal nothing is sent (exit 2), and the refusal says both ways
/// on. Nothing to ask about: go ahead.
pub fn ask_before_typos(yes: bool, typos: &[String], command: &str) -> Result<(), Fatal> {
    if typos.is_empty() {
        return Ok(());
    }
    match decide(yes, on_terminal()) {
        Gate::Go => Ok(()),
        Gate::Refuse => Err(Fatal::usage(typo_refusal(typos, command))),
        Gate::Ask => {
            let ok = ask_typos(&mut std::io::stdin().lock(), &mut std::io::stderr(), typos)
                .unwrap_or(false);
            if ok {
                Ok(())
            } else {
                Err(Fatal::usage(format!(
                    "{command}: cancelled; nothing was sent. {}",
                    TYPO_FIXES
                )))
            }
        }
    }
}

const TYPO_FIXES: &str = "Fix the values in the file, translate them with [values.status] (or [values.type]) in a --mapping file, or accept only the right ones with --allowed-status (or --allowed-type)";

/// The one line of a refusal without a terminal: what looks wrong, and the ways on.
fn typo_refusal(typos: &[String], command: &str) -> String {
    let more = if typos.len() > 3 {
        format!(" and {} more", typos.len() - 3)
    } else {
        String::new()
    };
    format!(
        "{command}: nothing was sent: {}{more}, and Kayse would create it as a new value. {TYPO_FIXES}; or send them as typed with --yes (there is no terminal to ask on)",
        typos.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
    )
}

/// List the likely typos and ask whether to send them as typed; only `y` or `yes` is a yes.
pub fn ask_typos(
    input: &mut impl BufRead,
    out: &mut impl Write,
    typos: &[String],
) -> std::io::Result<bool> {
    writeln!(
        out,
        "These values look like typos; Kayse would create each as a new value:"
    )?;
    for t in typos {
        writeln!(out, "  {t}")?;
    }
    ask_yes(input, out, "Send them as typed?")
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

    #[test]
    fn typos_are_listed_before_the_question() {
        let typos = vec!["status 'Opne' (1 row) looks like a typo of 'Open'".to_string()];
        for (typed, want) in [("y\n", true), ("yes\n", true), ("\n", false), ("", false)] {
            let mut out = Vec::new();
            assert_eq!(
                ask_typos(&mut typed.as_bytes(), &mut out, &typos).unwrap(),
                want
            );
            let shown = String::from_utf8(out).unwrap();
            assert!(shown.contains("  status 'Opne' (1 row) looks like a typo of 'Open'\n"));
            assert!(shown.ends_with("Send them as typed? [y/N] ") || shown.ends_with("[y/N] \n"));
        }
        assert!(
            ask_before_typos(false, &[], "import").is_ok(),
            "nothing to ask"
        );
        assert!(
            ask_before_typos(true, &typos, "import").is_ok(),
            "--yes sends"
        );
        let five: Vec<String> = (0..5).map(|i| format!("t{i}")).collect();
        let line = typo_refusal(&five, "import");
        assert!(
            line.starts_with("import: nothing was sent: t0; t1; t2 and 2 more,"),
            "{line}"
        );
        assert!(
            line.contains("--allowed-status") && line.contains("--yes"),
            "{line}"
        );
    }
}
