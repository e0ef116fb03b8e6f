//! Baselines of known failures: `{case, check, reason}` entries. A run with a
//! baseline exits 0 when every failure is expected, and lists the entries that
//! now pass so the baseline can shrink.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{BaselineInfo, Report};
use crate::check::Status;
use crate::diag::{Diagnostics, Source};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Case id, `suite::case`.
    pub case: String,
    /// Check id, e.g. `id_token.aud`.
    pub check: String,
    /// Why this failure is known and accepted (reviewed).
    pub reason: String,
}

/// A baseline entry whose case is no case of the suites, with the closest id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UnknownEntry {
    pub case: String,
    pub check: String,
    /// The suites' case id closest to `case`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closest: Option<String>,
}

impl UnknownEntry {
    /// `` `case` / `check` matches no case of the suites (closest: `id`)``.
    pub fn describe(&self) -> String {
        use super::escape_controls as esc;
        let closest = match &self.closest {
            Some(c) => format!(" (the closest case id is `{}`)", esc(c)),
            None => String::new(),
        };
        format!(
            "`{}` / `{}` matches no case of the suites{closest}",
            esc(&self.case),
            esc(&self.check)
        )
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub entries: Vec<Entry>,
}

/// Loads a baseline (YAML, or JSON which is YAML too).
pub fn load(path: &Path) -> Result<Baseline, Diagnostics> {
    let source = Source::read(path)?;
    let b: Baseline = serde_saphyr::from_str(&source.text).map_err(|e| crate::diag::from_yaml_error(&source, &e))?;
    let mut diags = Diagnostics::default();
    for e in &b.entries {
        if crate::check::catalogue::find(&e.check).is_none() && !e.check.starts_with("assert.") {
            diags.push(
                crate::diag::Diagnostic::new(format!("baseline `{}` names unknown check `{}`", path.display(), e.check))
                    .with_hint("`oidc-conform checks` lists the check ids"),
            );
        }
        if e.reason.trim().is_empty() {
            diags.push(
                crate::diag::Diagnostic::new(format!("baseline entry for `{}` / `{}` has no reason", e.case, e.check))
                    .with_hint("say why the failure is accepted"),
            );
        }
    }
    diags.into_result(b)
}

/// Marks the failures the baseline expects and records the stale entries, and
/// the entries whose case is none of `case_ids` (every case of the suites,
/// whatever the filter or shard selected).
pub fn apply(report: &mut Report, baseline: &Baseline, file: &str, case_ids: &std::collections::BTreeSet<String>) {
    let mut expected = 0;
    let mut used = vec![false; baseline.entries.len()];
    for case in &mut report.cases {
        for check in &mut case.notable {
            if !matches!(check.status, Status::Fail | Status::Error) {
                continue;
            }
            if let Some(i) = baseline.entries.iter().position(|e| e.case == case.id && e.check == check.id) {
                check.known = Some(baseline.entries[i].reason.clone());
                used[i] = true;
                expected += 1;
            }
        }
    }
    // An entry is stale when its case ran and that check did not fail.
    let ran: std::collections::BTreeSet<&str> = report.cases.iter().map(|c| c.id.as_str()).collect();
    let stale = baseline
        .entries
        .iter()
        .zip(&used)
        .filter(|(e, used)| !**used && ran.contains(e.case.as_str()))
        .map(|(e, _)| e.clone())
        .collect();
    let unknown = baseline
        .entries
        .iter()
        .filter(|e| !case_ids.contains(&e.case))
        .map(|e| UnknownEntry {
            case: e.case.clone(),
            check: e.check.clone(),
            closest: case_ids
                .iter()
                .map(|id| (strsim::jaro_winkler(&e.case, id), id))
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, id)| id.clone()),
        })
        .collect();
    report.baseline = Some(BaselineInfo {
        file: file.to_owned(),
        expected,
        stale,
        unknown,
    });
    report.resummarise();
}

/// A baseline that expects every failure of a run (reasons to be filled in).
pub fn from_report(report: &Report) -> Baseline {
    let entries = report
        .cases
        .iter()
        .flat_map(|c| {
            c.problems().map(move |k| Entry {
                case: c.id.clone(),
                check: k.id.clone(),
                reason: k.known.clone().unwrap_or_else(|| format!("TODO: review — {}", k.message)),
            })
        })
        .collect();
    Baseline { entries }
}

/// The baseline as YAML with a header comment.
pub fn to_yaml(b: &Baseline) -> String {
    let body = serde_saphyr::to_string(b).unwrap_or_default();
    format!(
        "# Known failures: `oidc-conform run --baseline FILE` exits 0 when these are the only ones.\n# Review every reason; remove entries the run reports as stale.\n{body}"
    )
}
