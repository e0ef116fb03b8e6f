//! `--color auto|always|never`: whether the console output is coloured.
//!
//! `auto` colours a terminal unless `NO_COLOR` is set (to anything but the
//! empty string); `CLICOLOR_FORCE` (anything but `0` or empty) colours a pipe
//! too; `CLICOLOR=0` and `TERM=dumb` turn it off. `always` and `never` win over
//! the environment. Only the console is coloured: the report files never are.

use std::sync::atomic::{AtomicBool, Ordering};

/// The `--color` setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour a terminal, as `NO_COLOR`, `CLICOLOR_FORCE`, `CLICOLOR` and `TERM` allow.
    #[default]
    Auto,
    /// Always colour (even into a pipe or a file).
    Always,
    /// Never colour.
    Never,
}

static STDOUT: AtomicBool = AtomicBool::new(false);
static STDERR: AtomicBool = AtomicBool::new(false);

/// Whether a stream is coloured under `choice`: `terminal` says whether it is
/// one, `var` reads the environment.
pub fn enabled(choice: ColorChoice, terminal: bool, var: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| var(name).is_some_and(|v| !v.is_empty());
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if set("NO_COLOR") {
                false
            } else if var("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
                true
            } else if var("CLICOLOR").is_some_and(|v| v == "0") || var("TERM").is_some_and(|v| v == "dumb") {
                false
            } else {
                terminal
            }
        }
    }
}

/// Decides for standard output and standard error, once, at start.
pub fn init(choice: ColorChoice) {
    use std::io::IsTerminal as _;
    let var = |k: &str| std::env::var(k).ok();
    STDOUT.store(enabled(choice, std::io::stdout().is_terminal(), var), Ordering::Relaxed);
    STDERR.store(enabled(choice, std::io::stderr().is_terminal(), var), Ordering::Relaxed);
}

/// Whether standard output is coloured.
pub fn stdout() -> bool {
    STDOUT.load(Ordering::Relaxed)
}

/// Whether standard error is coloured.
pub fn stderr() -> bool {
    STDERR.load(Ordering::Relaxed)
}

const RED: &str = "\x1b[1;31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

fn wrap(style: &str, text: &str) -> String {
    format!("{style}{text}{RESET}")
}

/// The closing summary, coloured when standard output is: failures and errors
/// red, warnings yellow, a clean result green, headings bold.
pub fn summary(text: &str) -> String {
    if !stdout() {
        return text.to_owned();
    }
    paint_summary(text)
}

/// [`summary`]'s colouring, whatever the stream.
pub fn paint_summary(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        out.push_str(&paint_line(body));
        out.push_str(nl);
    }
    out
}

fn paint_line(line: &str) -> String {
    if let Some(rest) = line.strip_prefix("  fail  ") {
        return format!("  {}  {rest}", wrap(RED, "fail"));
    }
    if let Some(rest) = line.strip_prefix("  warn  ") {
        return format!("  {}  {rest}", wrap(YELLOW, "warn"));
    }
    if line.starts_with("result: ") {
        let clean = line.contains(" 0 failed, 0 errors");
        return wrap(if clean { GREEN } else { RED }, line);
    }
    if !line.starts_with(' ') && line.ends_with(':') && !line.is_empty() {
        return wrap(BOLD, line);
    }
    if line.starts_with("findings: ") || line.starts_with("conformance of ") {
        return wrap(BOLD, line);
    }
    // Per-area counts: `N failed` and `N errors` red, `N warnings` yellow, when N > 0.
    if line.contains(" passed, ") {
        return line
            .split(", ")
            .map(|part| {
                let mut words = part.rsplit(' ');
                let word = words.next().unwrap_or("");
                let n = words.next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
                match (word, n) {
                    ("failed" | "errors", 1..) => paint_tail(part, RED),
                    ("warnings", 1..) => paint_tail(part, YELLOW),
                    _ => part.to_owned(),
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
    }
    line.to_owned()
}

/// Colours the last two words of `part` (`N failed`).
fn paint_tail(part: &str, style: &str) -> String {
    let words: Vec<&str> = part.rsplitn(3, ' ').collect();
    match words.as_slice() {
        [word, n, rest] => format!("{rest} {}", wrap(style, &format!("{n} {word}"))),
        _ => wrap(style, part),
    }
}

/// A diagnostic's text, its `error:` and `hint:` coloured when standard error is.
pub fn diagnostics(text: &str) -> String {
    if !stderr() {
        return text.to_owned();
    }
    text.split_inclusive('\n')
        .map(|line| {
            if let Some(rest) = line.strip_prefix("error:") {
                format!("{}{rest}", wrap(RED, "error:"))
            } else if let Some(rest) = line.strip_prefix("warning:") {
                format!("{}{rest}", wrap(YELLOW, "warning:"))
            } else {
                line.to_owned()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn the_choice_and_the_environment() {
        use ColorChoice::*;
        assert!(enabled(Auto, true, env(&[])));
        assert!(!enabled(Auto, false, env(&[])));
        assert!(!enabled(Auto, true, env(&[("NO_COLOR", "1")])));
        assert!(enabled(Auto, true, env(&[("NO_COLOR", "")])), "an empty NO_COLOR is not set");
        assert!(enabled(Auto, false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(!enabled(Auto, false, env(&[("CLICOLOR_FORCE", "0")])));
        assert!(
            !enabled(Auto, false, env(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")])),
            "NO_COLOR wins"
        );
        assert!(!enabled(Auto, true, env(&[("TERM", "dumb")])));
        assert!(!enabled(Auto, true, env(&[("CLICOLOR", "0")])));
        assert!(enabled(Always, false, env(&[("NO_COLOR", "1")])), "the flag wins");
        assert!(!enabled(Never, true, env(&[("CLICOLOR_FORCE", "1")])));
    }

    #[test]
    fn the_summary_is_coloured_by_meaning() {
        let text = "conformance of x:\n  scopes         1 passed, 4 failed, 0 errors, 2 warnings, 0 skipped\n  fail  id_token.nonce [MUST]\n\nresult: 1 passed, 4 failed, 0 errors, 0 warnings, 0 skipped\n";
        let painted = paint_summary(text);
        assert!(painted.contains(&format!("{RED}4 failed{RESET}")), "{painted:?}");
        assert!(painted.contains(&format!("{YELLOW}2 warnings{RESET}")), "{painted:?}");
        assert!(painted.contains(", 0 errors,"), "{painted:?}");
        assert!(painted.contains(&format!("  {RED}fail{RESET}  id_token.nonce")), "{painted:?}");
        assert!(painted.contains(&format!("{RED}result: ")), "{painted:?}");
        // Without the escapes, the text is the same.
        let plain = painted
            .replace(RED, "")
            .replace(GREEN, "")
            .replace(YELLOW, "")
            .replace(BOLD, "")
            .replace(RESET, "");
        assert_eq!(plain, text);
    }
}
