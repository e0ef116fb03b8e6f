//! Compares two runs: regressions, fixes, new and removed cases.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{CaseEntry, Report, escape_controls as esc};
use crate::check::Status;

#[derive(Debug, Default)]
pub struct Comparison {
    /// Cases that passed (or were skipped) before and fail or error now.
    pub regressions: Vec<(String, Status, Status, Vec<String>)>,
    /// Cases that failed before and pass now.
    pub fixes: Vec<(String, Status, Status)>,
    /// Cases failing in both, with failing checks that are new.
    pub new_failing_checks: Vec<(String, Vec<String>)>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// Check ids, comma-separated, their control characters written out.
fn list(ids: &[String]) -> String {
    ids.iter().map(|k| esc(k)).collect::<Vec<_>>().join(", ")
}

fn bad(s: Status) -> bool {
    matches!(s, Status::Fail | Status::Error)
}

fn failing(c: &CaseEntry) -> Vec<String> {
    c.problems().map(|k| k.id.clone()).collect()
}

pub fn compare(old: &Report, new: &Report) -> Comparison {
    let o: BTreeMap<&str, &CaseEntry> = old.cases.iter().map(|c| (c.id.as_str(), c)).collect();
    let n: BTreeMap<&str, &CaseEntry> = new.cases.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut cmp = Comparison::default();
    for (id, nc) in &n {
        match o.get(id) {
            None => cmp.added.push(id.to_string()),
            Some(oc) => {
                if !bad(oc.status) && bad(nc.status) {
                    cmp.regressions.push((id.to_string(), oc.status, nc.status, failing(nc)));
                } else if bad(oc.status) && !bad(nc.status) {
                    cmp.fixes.push((id.to_string(), oc.status, nc.status));
                } else if bad(oc.status) && bad(nc.status) {
                    let before = failing(oc);
                    let fresh: Vec<String> = failing(nc).into_iter().filter(|k| !before.contains(k)).collect();
                    if !fresh.is_empty() {
                        cmp.new_failing_checks.push((id.to_string(), fresh));
                    }
                }
            }
        }
    }
    cmp.removed = o.keys().filter(|id| !n.contains_key(*id)).map(|id| id.to_string()).collect();
    cmp
}

impl Comparison {
    pub fn has_regressions(&self) -> bool {
        !self.regressions.is_empty() || !self.new_failing_checks.is_empty()
    }

    /// Exit code: 1 on regressions, and on removed cases unless they are allowed.
    pub fn exit_code(&self, allow_removed: bool) -> i32 {
        i32::from(self.has_regressions() || (!allow_removed && !self.removed.is_empty()))
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "regressions: {}", self.regressions.len() + self.new_failing_checks.len());
        for (id, a, b, checks) in &self.regressions {
            let _ = writeln!(out, "  {}: {} → {} ({})", esc(id), a.as_str(), b.as_str(), list(checks));
        }
        for (id, checks) in &self.new_failing_checks {
            let _ = writeln!(out, "  {}: still failing, newly failing checks: {}", esc(id), list(checks));
        }
        let _ = writeln!(out, "fixes: {}", self.fixes.len());
        for (id, a, b) in &self.fixes {
            let _ = writeln!(out, "  {}: {} → {}", esc(id), a.as_str(), b.as_str());
        }
        let _ = writeln!(out, "new cases: {}", self.added.len());
        for id in &self.added {
            let _ = writeln!(out, "  {}", esc(id));
        }
        let _ = writeln!(
            out,
            "removed cases: {}{}",
            self.removed.len(),
            if self.removed.is_empty() {
                ""
            } else {
                " (they were not run: a failure unless `--allow-removed`)"
            }
        );
        for id in &self.removed {
            let _ = writeln!(out, "  {}", esc(id));
        }
        out
    }
}
