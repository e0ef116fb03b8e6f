//! Console rendering of a finished run: a summary by area, the findings (the
//! problems grouped by check: cases per finding, not one line per case) and,
//! with `--verbose`, every failing check of every case. (The runner prints
//! the per-case lines while the run goes: `run::trials`.)

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Report, Summary, escape_controls as esc};
use crate::check::Status;

/// Cases a finding lists on the console before "and N more".
const CASES_SHOWN: usize = 8;

/// The closing summary: per area counts, the conformance statement, the
/// findings, and with `verbose` each failing check of each case.
pub fn summary(report: &Report, verbose: bool) -> String {
    let mut out = String::new();
    let mut by_area: BTreeMap<&str, Vec<Status>> = BTreeMap::new();
    for c in &report.cases {
        by_area.entry(c.area.as_str()).or_default().push(c.status);
    }
    let _ = writeln!(
        out,
        "\nconformance of {} ({}):",
        esc(&report.provider.name),
        esc(&report.provider.issuer)
    );
    for (area, statuses) in &by_area {
        let s = Summary::of(statuses.iter());
        let _ = writeln!(out, "  {:<14} {}", esc(area), counts(&s));
    }
    if !report.conformance.is_empty() {
        let _ = writeln!(out, "\nconformance by specification:");
        for d in &report.conformance {
            let _ = writeln!(out, "  {}", esc(&d.statement()));
        }
    }
    if !report.findings.is_empty() {
        out.push_str(&findings(report));
    }
    let failing: Vec<_> = report
        .cases
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Error | Status::Warn))
        .collect();
    if verbose && !failing.is_empty() {
        let _ = writeln!(out, "\nfailures and warnings, case by case (with the exchanges that show them):");
        for c in failing {
            let known = if c.is_known_failure() { ", known failure" } else { "" };
            let _ = writeln!(out, "  {} [{}{known}] ({})", esc(&c.id), c.status.as_str(), esc(&c.location));
            // The exchanges are in the whole case (on disk); without them, the checks alone.
            let exchanges = c.load().map(|full| full.exchanges).unwrap_or_default();
            let mut shown = std::collections::HashSet::new();
            let notable = c
                .notable
                .iter()
                .filter(|k| matches!(k.status, Status::Fail | Status::Error | Status::Warn));
            for k in notable {
                let _ = write!(out, "    {}", super::describe_check_with_rule(k));
                if let Some(reason) = &k.known {
                    let _ = write!(out, " [baseline: {}]", esc(reason));
                }
                let _ = writeln!(out);
                for (i, x) in super::exchange::of_check(&exchanges, &k.id) {
                    if !shown.insert(i) {
                        let _ = writeln!(out, "      shown by the exchange above: {}", esc(&x.title()));
                        continue;
                    }
                    reproduction(&mut out, x);
                }
            }
        }
    }
    if let Some(b) = &report.baseline {
        let _ = writeln!(
            out,
            "\nbaseline {}: {} expected failing check(s), {} case(s) failing only as expected",
            esc(&b.file),
            b.expected,
            report.summary.known
        );
        if !b.stale.is_empty() {
            let _ = writeln!(out, "stale baseline entries (these now pass: remove them so the baseline shrinks):");
            for e in &b.stale {
                let _ = writeln!(out, "  {} {}", esc(&e.case), esc(&e.check));
            }
        }
        if !b.unknown.is_empty() {
            let _ = writeln!(
                out,
                "warning: baseline entries that match no case of the suites (they cover nothing; `--strict-baseline` fails on them):"
            );
            for e in &b.unknown {
                let _ = writeln!(out, "  {}", e.describe());
            }
        }
    }
    let _ = writeln!(out, "\nresult: {}", counts(&report.summary));
    out
}

/// An exchange under its check: the request and answer, then the replay.
fn reproduction(out: &mut String, x: &super::exchange::Exchange) {
    let _ = writeln!(out, "      {}:", esc(&x.title()));
    for line in x.lines() {
        let _ = writeln!(out, "        {line}");
    }
    if let Some(replay) = x.replay() {
        let _ = writeln!(out, "      replay:");
        for line in replay {
            let _ = writeln!(out, "        {line}");
        }
    }
}

fn counts(s: &Summary) -> String {
    format!(
        "{} passed, {} failed, {} errors, {} warnings, {} skipped",
        s.pass, s.fail, s.error, s.warn, s.skip
    )
}

/// The findings: one block per check, with its rule, how many cases it hit,
/// the first evidence (and where that case is) and the cases.
fn findings(report: &Report) -> String {
    let mut out = String::new();
    let cases: std::collections::BTreeSet<&str> = report.findings.iter().flat_map(|f| f.cases.iter().map(String::as_str)).collect();
    let _ = writeln!(
        out,
        "\nfindings: {} check{} not met, in {} case{} (`--verbose` lists every failing check of every case):",
        report.findings.len(),
        if report.findings.len() == 1 { "" } else { "s" },
        cases.len(),
        if cases.len() == 1 { "" } else { "s" },
    );
    for f in &report.findings {
        let known = if f.known { ", known failure" } else { "" };
        let _ = writeln!(
            out,
            "  {:<5} {} [{} {}] in {}{known}",
            f.status.as_str(),
            esc(&f.check),
            f.level.as_str(),
            esc(&crate::check::spec::title(&f.spec)),
            f.count()
        );
        let ef = match f.expected_found() {
            Some((e, found)) => format!(" (expected {}, found {})", esc(e), esc(found)),
            None => String::new(),
        };
        let location = report
            .cases
            .iter()
            .find(|c| c.id == f.first.case)
            .map(|c| format!(" ({})", esc(&c.location)))
            .unwrap_or_default();
        let _ = writeln!(out, "        {}{ef}", esc(&f.first.message));
        let _ = writeln!(out, "        first in {}{location}", esc(&f.first.case));
        if f.cases.len() > 1 {
            let (shown, more) = f.cases_shown(CASES_SHOWN);
            let _ = writeln!(
                out,
                "        cases: {}{}",
                shown.iter().map(|c| esc(c)).collect::<Vec<_>>().join(", "),
                if more > 0 { format!(", and {more} more") } else { String::new() }
            );
        }
    }
    out
}
