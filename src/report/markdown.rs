//! A Markdown summary for pull-request comments and release notes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Report, Summary, escape_controls};
use crate::check::{Status, spec};

pub fn render(report: &Report) -> String {
    let mut md = String::new();
    let s = &report.summary;
    let verdict = if let Some(why) = &report.not_started {
        format!("⛔ not run: {}", escape(why))
    } else if report.interrupted {
        format!("⏸ interrupted: {} case(s) not run, no verdict", report.not_run.len())
    } else if report.exit_code(false) == 0 {
        "✅ conformant".to_owned()
    } else {
        "❌ not conformant".to_owned()
    };
    let _ = writeln!(md, "## OIDC conformance: {} — {verdict}\n", escape(&report.provider.name));
    if report.interrupted {
        let shown: Vec<String> = report.not_run.iter().take(50).map(|id| code(id)).collect();
        let more = report.not_run.len().saturating_sub(50);
        let _ = writeln!(
            md,
            "**The run was interrupted**: these cases did not run: {}{}\n",
            shown.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        );
    }
    let _ = writeln!(
        md,
        "Issuer {} · {} cases · {} · oidc-conform {}\n",
        code(&report.provider.issuer),
        s.total,
        escape(&report.started_at),
        escape(&report.tool_version)
    );
    let _ = writeln!(md, "| status | cases |\n|---|---:|");
    for (name, n) in [
        ("pass", s.pass),
        ("fail", s.fail),
        ("error", s.error),
        ("warn", s.warn),
        ("skip", s.skip),
        ("known failures", s.known),
    ] {
        if n > 0 || name == "pass" || name == "fail" {
            let _ = writeln!(md, "| {name} | {n} |");
        }
    }
    if let Some(b) = report.baseline.as_ref().filter(|b| !b.unknown.is_empty()) {
        let _ = writeln!(
            md,
            "\n**Warning**: {} entr{} of the baseline {} match{} no case of the suites (they cover nothing):\n",
            b.unknown.len(),
            if b.unknown.len() == 1 { "y" } else { "ies" },
            code(&b.file),
            if b.unknown.len() == 1 { "es" } else { "" }
        );
        for e in &b.unknown {
            let _ = writeln!(md, "- {}", escape(&e.describe()));
        }
    }
    if !report.findings.is_empty() {
        findings(&mut md, report);
    }
    let mut areas: BTreeMap<&str, Vec<Status>> = BTreeMap::new();
    for c in &report.cases {
        areas.entry(c.area.as_str()).or_default().push(c.status);
    }
    let _ = writeln!(md, "\n| area | pass | fail | error | warn | skip |\n|---|---:|---:|---:|---:|---:|");
    for (area, st) in &areas {
        let a = Summary::of(st.iter());
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            escape(area),
            a.pass,
            a.fail,
            a.error,
            a.warn,
            a.skip
        );
    }
    if !report.conformance.is_empty() {
        let _ = writeln!(
            md,
            "\n### Conformance by specification\n\n| specification | MUST met | SHOULD met | MAY met | not exercised | not met |\n|---|---:|---:|---:|---:|---|"
        );
        for d in &report.conformance {
            let unmet: Vec<String> = d.unmet.iter().map(|u| escape(&code(u))).collect();
            let _ = writeln!(
                md,
                "| {} | {} of {} | {} of {} | {} of {} | {} | {} |",
                escape(&d.document),
                d.must.met,
                d.must.total,
                d.should.met,
                d.should.total,
                d.may.met,
                d.may.total,
                d.not_applicable,
                unmet.join("<br>")
            );
        }
        let _ = writeln!(md, "\nStatement:\n");
        for d in &report.conformance {
            let _ = writeln!(md, "- {}", escape(&d.statement()));
        }
    }
    let problems: Vec<_> = report
        .cases
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Error | Status::Warn))
        .collect();
    if !problems.is_empty() {
        let _ = writeln!(md, "\n### Failures and warnings, case by case\n");
        let mut budget = REPRODUCTIONS;
        let mut left_out = 0;
        for c in problems {
            let known = if c.is_known_failure() { " _(known, in the baseline)_" } else { "" };
            let _ = writeln!(md, "- **{}** ({}){known}", code(&c.id), c.status.as_str());
            let notable: Vec<_> = c
                .notable
                .iter()
                .filter(|k| matches!(k.status, Status::Fail | Status::Error | Status::Warn))
                .collect();
            for k in &notable {
                let level = k.level.as_str();
                let link = match spec::url(&k.spec) {
                    Some(u) => format!(" — {level} [{}]({u})", escape(&spec::title(&k.spec))),
                    None if !k.spec.is_empty() => format!(" — {level} {}", escape(&spec::title(&k.spec))),
                    None => format!(" — {level}"),
                };
                let ef = match (&k.expected, &k.found) {
                    (Some(e), Some(f)) => format!(" (expected {}, found {})", code(e), code(f)),
                    _ => String::new(),
                };
                let _ = writeln!(md, "  - {}: {}{ef}{link}", code(&k.id), escape(&k.message));
            }
            // The exchanges are in the whole case (on disk): each once, naming the checks it shows.
            let exchanges = c.load().map(|full| full.exchanges).unwrap_or_default();
            let mut shown = 0;
            for x in &exchanges {
                if budget == 0 {
                    left_out += 1;
                    continue;
                }
                budget -= 1;
                shown += 1;
                reproduction(&mut md, x);
            }
            if shown > 0 {
                // An HTML block ends at a blank line.
                md.push('\n');
            }
        }
        if left_out > 0 {
            let _ = writeln!(
                md,
                "\n{left_out} more reproductions are left out of this summary: they are in `report.html` and `run.json`."
            );
        }
    }
    md
}

/// Reproductions (exchanges with their `curl` commands) the summary shows at
/// most; the others are in `report.html` and `run.json`.
const REPRODUCTIONS: usize = 100;

/// An exchange that shows some of a case's checks, folded: the request and
/// answer, then the replay as a shell block.
fn reproduction(md: &mut String, x: &super::exchange::Exchange) {
    let checks: Vec<String> = x.checks.iter().map(|c| format!("<code>{}</code>", html(c))).collect();
    let _ = writeln!(
        md,
        "\n  <details><summary>Reproduction of {}: {}</summary>\n",
        checks.join(", "),
        html(&x.title())
    );
    let block = |md: &mut String, lang: &str, lines: &[String]| {
        let text = lines.join("\n");
        let fence = super::exchange::fence(&text);
        let _ = writeln!(md, "  {fence}{lang}");
        for line in lines {
            let _ = writeln!(md, "  {line}");
        }
        let _ = writeln!(md, "  {fence}\n");
    };
    block(md, "text", &x.lines());
    if let Some(replay) = x.replay() {
        block(md, "sh", &replay);
    }
    let _ = writeln!(md, "  </details>");
}

/// Text inside the raw HTML of a `<details>` summary: escaped, control characters written out.
fn html(s: &str) -> String {
    escape_controls(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Cases a finding lists before "and N more".
const CASES_SHOWN: usize = 20;

/// The findings: one row per check not met (rule, cases hit, first evidence),
/// then the cases of each.
fn findings(md: &mut String, report: &Report) {
    let _ = writeln!(
        md,
        "\n### Findings\n\n| | check | level | rule | cases | first evidence |\n|---|---|---|---|---:|---|"
    );
    for f in &report.findings {
        let rule = match spec::url(&f.spec) {
            Some(u) => format!("[{}]({u})", escape(&spec::title(&f.spec))),
            None => escape(&spec::title(&f.spec)),
        };
        let ef = match f.expected_found() {
            Some((e, found)) => format!(" (expected {}, found {})", escape(&code(e)), escape(&code(found))),
            None => String::new(),
        };
        let known = if f.known { " _(known, in the baseline)_" } else { "" };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {rule} | {} | {}{ef} — first in {}{known} |",
            f.status.as_str(),
            escape(&code(&f.check)),
            f.level.as_str(),
            f.cases.len(),
            escape(&f.first.message),
            escape(&code(&f.first.case))
        );
    }
    let _ = writeln!(md);
    for f in report.findings.iter().filter(|f| f.cases.len() > 1) {
        let (cases, more) = f.cases_shown(CASES_SHOWN);
        let shown: Vec<String> = cases.iter().map(|c| code(c)).collect();
        let _ = writeln!(
            md,
            "- {} in {}: {}{}",
            code(&f.check),
            f.count(),
            shown.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        );
    }
}

/// Inline code that survives backticks in the value, its control characters
/// written out (pipes: see [`escape`]).
fn code(s: &str) -> String {
    let s = escape_controls(s);
    if s.contains('`') {
        format!("`` {} ``", s)
    } else {
        format!("`{s}`")
    }
}

/// Text for a table cell or a line: pipes escaped, control characters
/// (newlines too) written out.
fn escape(s: &str) -> String {
    escape_controls(s).replace('|', "\\|")
}
