//! Console rendering of a finished run: a summary by area and the failures.
//! (libtest-mimic prints the per-case lines while the run goes.)

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Report, Summary};
use crate::check::Status;

/// The closing summary: per area counts, then each failing check.
pub fn summary(report: &Report) -> String {
    let mut out = String::new();
    let mut by_area: BTreeMap<&str, Vec<Status>> = BTreeMap::new();
    for c in &report.cases {
        by_area.entry(c.area.as_str()).or_default().push(c.status);
    }
    let _ = writeln!(out, "\nconformance of {} ({}):", report.provider.name, report.provider.issuer);
    for (area, statuses) in &by_area {
        let s = Summary::of(statuses.iter());
        let _ = writeln!(out, "  {area:<14} {}", counts(&s));
    }
    if !report.conformance.is_empty() {
        let _ = writeln!(out, "\nconformance by specification:");
        for d in &report.conformance {
            let _ = writeln!(out, "  {}", d.statement());
        }
    }
    let failing: Vec<_> = report
        .cases
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Error))
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "\nfailures:");
        for c in failing {
            let known = if c.is_known_failure() { ", known failure" } else { "" };
            let _ = writeln!(out, "  {} [{}{known}] ({})", c.id, c.status.as_str(), c.location);
            for k in c.problems() {
                let _ = write!(out, "    {}", super::describe_check_with_rule(k));
                if let Some(reason) = &k.known {
                    let _ = write!(out, " [baseline: {reason}]");
                }
                let _ = writeln!(out);
            }
        }
    }
    if let Some(b) = &report.baseline {
        let _ = writeln!(
            out,
            "\nbaseline {}: {} expected failing check(s), {} case(s) failing only as expected",
            b.file, b.expected, report.summary.known
        );
        if !b.stale.is_empty() {
            let _ = writeln!(out, "stale baseline entries (these now pass: remove them so the baseline shrinks):");
            for e in &b.stale {
                let _ = writeln!(out, "  {} {}", e.case, e.check);
            }
        }
    }
    let _ = writeln!(out, "\nresult: {}", counts(&report.summary));
    out
}

fn counts(s: &Summary) -> String {
    format!(
        "{} passed, {} failed, {} errors, {} warnings, {} skipped",
        s.pass, s.fail, s.error, s.warn, s.skip
    )
}
