//! The per-document conformance statement: for each specification the run's
//! checks cite, how many of its MUST, SHOULD and MAY requirements were met,
//! how many were not, and how many did not apply. A requirement is a check at
//! its rule (`id`, `spec`, level), counted once however many cases judged it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[cfg(test)]
use crate::check::CheckResult;
use crate::check::Status;
use crate::check::catalogue::{CATALOGUE, Requirement};

use super::CaseEntry;
use super::store::Outcome;

/// Met and judged requirements of one level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tally {
    pub met: usize,
    /// Requirements judged (met or not).
    pub total: usize,
}

/// One specification's part of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DocumentConformance {
    /// e.g. `RFC 9700`
    pub document: String,
    pub must: Tally,
    pub should: Tally,
    pub may: Tally,
    /// Requirements citing this document that no verdict met or missed here:
    /// skipped (feature not offered), not selected, or a check that speaks
    /// only when it finds a fault. Shown as "not exercised".
    pub not_applicable: usize,
    /// Requirements whose every verdict was a harness error.
    pub not_judged: usize,
    /// The requirements not met: `check id (section, LEVEL)`.
    #[serde(default)]
    pub unmet: Vec<String>,
}

impl DocumentConformance {
    /// `RFC 9700: 14 of 17 MUST met, 6 of 9 SHOULD met, 3 not exercised`.
    pub fn statement(&self) -> String {
        let mut parts = Vec::new();
        for (t, level) in [(self.must, "MUST"), (self.should, "SHOULD"), (self.may, "MAY")] {
            if t.total > 0 {
                parts.push(format!("{} of {} {level} met", t.met, t.total));
            }
        }
        if self.not_applicable > 0 {
            parts.push(format!("{} not exercised", self.not_applicable));
        }
        if self.not_judged > 0 {
            parts.push(format!("{} not judged (harness errors)", self.not_judged));
        }
        if parts.is_empty() {
            parts.push("nothing judged".into());
        }
        format!("{}: {}", self.document, parts.join(", "))
    }
}

/// The document a spec id belongs to: `RFC9700-2.1` → `RFC 9700`.
pub fn document_of(spec: &str) -> String {
    let t = crate::check::spec::title(spec);
    t.split(" §").next().unwrap_or(&t).to_owned()
}

#[derive(Default)]
struct Seen {
    pass: bool,
    bad: bool,
    error: bool,
}

/// The statement of every document the run's checks (and the catalogue) cite.
/// Suite assertions (`assert.*`) are the suite's claims, not a document's
/// requirements, and are left out.
pub fn of(cases: &[CaseEntry]) -> Vec<DocumentConformance> {
    of_outcomes(cases.iter().flat_map(CaseEntry::outcomes))
}

fn of_outcomes<'a>(outcomes: impl Iterator<Item = Outcome<'a>>) -> Vec<DocumentConformance> {
    // (check id, spec, level) → what was seen; the document is worked out once per key.
    let mut by_rule: std::collections::HashMap<(&str, &str, Requirement), Seen> = std::collections::HashMap::new();
    for k in outcomes.filter(|k| !k.id.starts_with("assert.") && !k.spec.is_empty()) {
        let s = by_rule.entry((k.id, k.spec, k.level)).or_default();
        match k.status {
            Status::Pass => s.pass = true,
            Status::Fail | Status::Warn => s.bad = true,
            Status::Error => s.error = true,
            Status::Skip => {}
        }
    }
    // (document, check id, spec, level) → what was seen, in order.
    let seen: BTreeMap<(String, String, String, Requirement), Seen> = by_rule
        .into_iter()
        .map(|((id, spec, level), s)| ((document_of(spec), id.to_owned(), spec.to_owned(), level), s))
        .collect();
    let mut docs: BTreeMap<String, DocumentConformance> = BTreeMap::new();
    fn entry<'a>(docs: &'a mut BTreeMap<String, DocumentConformance>, d: &str) -> &'a mut DocumentConformance {
        docs.entry(d.to_owned()).or_insert_with(|| DocumentConformance {
            document: d.to_owned(),
            must: Tally::default(),
            should: Tally::default(),
            may: Tally::default(),
            not_applicable: 0,
            not_judged: 0,
            unmet: Vec::new(),
        })
    }
    for ((doc, id, spec, level), s) in &seen {
        let d = entry(&mut docs, doc);
        let tally = match level {
            Requirement::Must => &mut d.must,
            Requirement::Should => &mut d.should,
            Requirement::May => &mut d.may,
        };
        if s.bad {
            tally.total += 1;
            d.unmet
                .push(format!("{id} ({}, {})", crate::check::spec::title(spec), level.as_str()));
        } else if s.pass {
            tally.total += 1;
            tally.met += 1;
        } else if s.error {
            d.not_judged += 1;
        } else {
            d.not_applicable += 1;
        }
    }
    // Catalogue requirements no case judged at their own rule: not exercised here.
    for def in CATALOGUE.iter().filter(|d| !d.id.starts_with("assert.")) {
        let doc = document_of(def.spec);
        let judged = seen.keys().any(|(_, id, _, _)| id == def.id);
        if !judged {
            entry(&mut docs, &doc).not_applicable += 1;
        }
    }
    docs.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(checks: Vec<CheckResult>) -> CaseEntry {
        CaseEntry::new(crate::report::findings::tests::case("s::c", checks))
    }

    #[test]
    fn counts_requirements_once_per_rule_and_level() {
        let cases = [
            case(vec![
                CheckResult::pass("pkce.downgrade", "ok"),
                CheckResult::warn("pkce.verifier_syntax", "lax"),
                CheckResult::pass("assert.id_token", "not a requirement"),
            ]),
            case(vec![
                CheckResult::fail("pkce.plain_for_s256", "accepted"),
                CheckResult::pass("pkce.downgrade", "ok again"),
            ]),
        ];
        let docs = of(&cases);
        let rfc7636 = docs.iter().find(|d| d.document == "RFC 7636").unwrap();
        assert_eq!(rfc7636.must, Tally { met: 0, total: 1 }, "{rfc7636:?}");
        assert_eq!(rfc7636.should, Tally { met: 0, total: 1 });
        assert_eq!(rfc7636.unmet.len(), 2);
        let rfc9700 = docs.iter().find(|d| d.document == "RFC 9700").unwrap();
        assert_eq!(rfc9700.must, Tally { met: 1, total: 1 });
        assert!(rfc9700.not_applicable > 0, "catalogue checks citing RFC 9700 that did not run");
        assert!(
            rfc9700.statement().starts_with("RFC 9700: 1 of 1 MUST met"),
            "{}",
            rfc9700.statement()
        );
        assert!(!docs.iter().any(|d| d.unmet.iter().any(|u| u.starts_with("assert."))));
    }
}
