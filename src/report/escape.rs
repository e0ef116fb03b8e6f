//! Text that reaches a terminal or a Markdown file from a provider, or from a
//! saved run: its control characters written out, visibly.
//!
//! A provider chooses its `error_description`, its claim values, its pages'
//! text. Printed raw, an escape sequence in them could clear the screen, set
//! the terminal's title, write the clipboard (OSC 52), or — with a carriage
//! return — overwrite a line with a verdict the run never gave. Every console
//! and Markdown output passes such text through [`escape_controls`].

use std::borrow::Cow;

/// Whether `c` is written out: a control character — C0 (newlines and tabs
/// included: the renderers lay out the lines), DEL, C1 — or a bidirectional
/// mark, embedding, override or isolate (which reorder what a reader sees).
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every control character and bidirectional override written as
/// an escape: `\n`, `\r`, `\t`, or `\u{1b}` (the code point in hex). Text
/// without any is returned as it is.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape_controls;

    #[test]
    fn control_sequences_are_written_out_not_dropped() {
        // Clear screen, window title (OSC 0), clipboard write (OSC 52), a carriage
        // return over a fake verdict, DEL, a C1 CSI, a right-to-left override.
        let hostile = "\u{1b}[2J\u{1b}]0;owned\u{7}\u{1b}]52;c;ZXZpbA==\u{7}bad\rtest result: ok\u{7f}\u{9b}31m\u{202e}txt.exe";
        let shown = escape_controls(hostile);
        assert_eq!(
            shown,
            "\\u{1b}[2J\\u{1b}]0;owned\\u{7}\\u{1b}]52;c;ZXZpbA==\\u{7}bad\\rtest result: ok\\u{7f}\\u{9b}31m\\u{202e}txt.exe"
        );
        assert!(!shown.chars().any(|c| c.is_control()));
        assert_eq!(escape_controls("two\nlines\tand a tab"), "two\\nlines\\tand a tab");
    }

    #[test]
    fn plain_text_is_kept_as_it_is() {
        for s in ["", "aud is the API (expected `web`, found `https://api`)", "Zoë — 日本語 ✓"] {
            assert!(matches!(escape_controls(s), std::borrow::Cow::Borrowed(t) if t == s));
        }
    }

    /// A provider's `error_description`, claim value and name as every console
    /// and Markdown output shows them: no raw control character in any.
    #[test]
    fn no_console_or_markdown_output_carries_a_raw_control_character() {
        use crate::check::CheckResult;
        use crate::report::{Report, compare, console, findings, markdown, matrix};

        const HOSTILE: &str = "denied\u{1b}[2J\u{1b}]0;title\u{7}\u{1b}]52;c;ZXZpbA==\u{7}\u{9b}1m\u{202e}\rtest result: ok";
        let run = |cases: Vec<crate::report::CaseReport>| {
            let mut r = Report::new(
                crate::report::ProviderInfo {
                    name: format!("acme{HOSTILE}"),
                    issuer: format!("https://acme.test/{HOSTILE}"),
                    ..Default::default()
                },
                "2026-01-01T00:00:00Z".into(),
                1,
            );
            r.cases = cases.into_iter().map(Into::into).collect();
            r.resummarise();
            r
        };
        let mut known = CheckResult::fail("id_token.azp", HOSTILE);
        known.known = Some(format!("reviewed{HOSTILE}"));
        let old = run(vec![findings::tests::case("s::a", vec![CheckResult::pass("flow.token", "ok")])]);
        let new = run(vec![
            findings::tests::case(
                "s::a",
                vec![CheckResult::fail("flow.token", format!("the provider said access_denied: {HOSTILE}")).ef("a token", HOSTILE)],
            ),
            findings::tests::case("s::b", vec![CheckResult::fail("flow.token", HOSTILE), known]),
            findings::tests::case(&format!("s::c{HOSTILE}"), vec![CheckResult::error("assert.claims", HOSTILE)]),
        ]);
        let outputs = [
            ("console summary", console::summary(&new, false)),
            ("console summary --verbose", console::summary(&new, true)),
            ("summary.md", markdown::render(&new)),
            ("matrix.md", matrix::render_markdown(&matrix::build(&[old.clone(), new.clone()]))),
            ("compare", compare::compare(&old, &new).render()),
        ];
        for (name, text) in outputs {
            let raw: Vec<char> = text.chars().filter(|&c| c != '\n' && super::needs_escape(c)).collect();
            assert!(raw.is_empty(), "{name} carries raw control characters {raw:?}:\n{text}");
            assert!(text.contains("\\u{1b}[2J"), "{name} shows the escape, visibly:\n{text}");
            assert!(!text.lines().any(|l| l.starts_with("test result")), "{name}:\n{text}");
        }
        for c in new.cases.iter().flat_map(|c| c.problems()) {
            for line in [crate::report::describe_check(c), crate::report::describe_check_with_rule(c)] {
                assert!(!line.chars().any(super::needs_escape), "{line:?}");
            }
        }
    }
}
