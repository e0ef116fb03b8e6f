//! Findings: the run's problems grouped by cause. One finding per check id
//! that failed, errored or warned in some case: its rule, how many cases it
//! hit, the first evidence and the cases. A single provider fault that turns
//! many cases red is one finding, not a wall of repeats.

use serde::{Deserialize, Serialize};

use super::CaseEntry;
use crate::check::catalogue::Requirement;
use crate::check::{CheckResult, Status};

/// One failing (or warning) check across the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    /// The check id (`id_token.aud`).
    pub check: String,
    /// The worst status it had: `error`, `fail` (a MUST not met) or `warn` (a SHOULD or MAY).
    pub status: Status,
    pub level: Requirement,
    /// Spec reference id (`OIDC-Core-3.1.3.7`).
    pub spec: String,
    /// The cases it hit, in report order.
    pub cases: Vec<String>,
    /// The first case's evidence.
    pub first: Evidence,
    /// Every case it hit is a failure a baseline expects.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub known: bool,
}

/// What one case found for a check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Evidence {
    pub case: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
}

impl Finding {
    /// "37 cases" / "1 case".
    pub fn count(&self) -> String {
        let n = self.cases.len();
        format!("{n} case{}", if n == 1 { "" } else { "s" })
    }

    /// The first `limit` cases, and how many more there are.
    pub fn cases_shown(&self, limit: usize) -> (&[String], usize) {
        let shown = &self.cases[..self.cases.len().min(limit)];
        (shown, self.cases.len() - shown.len())
    }

    /// `expected …, found …` of the first evidence, if it has both.
    pub fn expected_found(&self) -> Option<(&str, &str)> {
        Some((self.first.expected.as_deref()?, self.first.found.as_deref()?))
    }
}

fn rank(s: Status) -> u8 {
    match s {
        Status::Error => 0,
        Status::Fail => 1,
        Status::Warn => 2,
        Status::Skip | Status::Pass => 3,
    }
}

/// The findings of these cases: errors and failures first, then warnings;
/// within each, what is not in a baseline first, then by cases hit (most
/// first), then by check id.
pub fn of(cases: &[CaseEntry]) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for c in cases {
        for k in &c.notable {
            if !matches!(k.status, Status::Fail | Status::Error | Status::Warn) {
                continue;
            }
            let known = k.known.is_some();
            match index.get(&k.id) {
                Some(&i) => {
                    let f = &mut findings[i];
                    if rank(k.status) < rank(f.status) {
                        f.status = k.status;
                    }
                    if f.cases.last() != Some(&c.id) {
                        f.cases.push(c.id.clone());
                    }
                    f.known &= known;
                }
                None => {
                    index.insert(k.id.clone(), findings.len());
                    findings.push(new(c, k, known));
                }
            }
        }
    }
    findings.sort_by(|a, b| {
        (a.status == Status::Warn)
            .cmp(&(b.status == Status::Warn))
            .then(a.known.cmp(&b.known))
            .then(b.cases.len().cmp(&a.cases.len()))
            .then(a.check.cmp(&b.check))
    });
    findings
}

fn new(c: &CaseEntry, k: &CheckResult, known: bool) -> Finding {
    Finding {
        check: k.id.clone(),
        status: k.status,
        level: k.level,
        spec: k.spec.clone(),
        cases: vec![c.id.clone()],
        first: Evidence {
            case: c.id.clone(),
            message: k.message.clone(),
            expected: k.expected.clone(),
            found: k.found.clone(),
        },
        known,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::{CaseEntry, CaseReport};

    fn entries(cases: Vec<CaseReport>) -> Vec<CaseEntry> {
        cases.into_iter().map(CaseEntry::new).collect()
    }

    /// A case of a report with these checks (for the report tests).
    pub(crate) fn case(id: &str, checks: Vec<CheckResult>) -> CaseReport {
        CaseReport {
            id: id.into(),
            suite: "s".into(),
            name: id.into(),
            about: None,
            area: "flows".into(),
            flow: "code".into(),
            spec: vec![],
            location: "s.yaml:1".into(),
            status: crate::check::case_status(&checks),
            duration_ms: 1,
            checks,
            request: Default::default(),
            authorization_response: None,
            tokens: vec![],
            userinfo: None,
            trace: vec![],
            exchanges: vec![],
            page: None,
        }
    }

    fn warn(id: &str) -> CheckResult {
        let mut c = CheckResult::fail(id, "w");
        c.status = Status::Warn;
        c
    }

    #[test]
    fn one_fault_in_many_cases_is_one_finding_with_its_cases_and_first_evidence() {
        let cases = vec![
            case(
                "a::one",
                vec![
                    CheckResult::pass("flow.state", "ok"),
                    CheckResult::fail("id_token.aud", "aud is the API").ef("the client id", "https://api"),
                ],
            ),
            case("a::two", vec![CheckResult::fail("id_token.aud", "again"), warn("id_token.azp")]),
            case("a::three", vec![CheckResult::error("flow.token", "timeout")]),
            case("a::four", vec![CheckResult::fail("id_token.aud", "once more")]),
        ];
        let f = of(&entries(cases));
        let ids: Vec<&str> = f.iter().map(|f| f.check.as_str()).collect();
        // Errors and failures before warnings; within them, most cases first.
        assert_eq!(ids, ["id_token.aud", "flow.token", "id_token.azp"]);
        assert_eq!(f[0].cases, ["a::one", "a::two", "a::four"]);
        assert_eq!(f[0].count(), "3 cases");
        assert_eq!(f[0].first.case, "a::one");
        assert_eq!(f[0].expected_found(), Some(("the client id", "https://api")));
        assert_eq!(f[1].status, Status::Error);
        assert_eq!(f[2].status, Status::Warn);
        assert_eq!(f[2].count(), "1 case");
    }

    #[test]
    fn a_finding_is_known_only_when_every_case_of_it_is_in_the_baseline() {
        let mut known = CheckResult::fail("x.y", "m");
        known.known = Some("reviewed".into());
        let cases = vec![
            case("a::one", vec![known.clone()]),
            case("a::two", vec![known.clone()]),
            case("b::one", vec![CheckResult::fail("z.z", "m")]),
        ];
        let f = of(&entries(cases.clone()));
        assert_eq!(f[0].check, "z.z", "findings no baseline covers come first");
        assert!(f[1].known);
        let mut mixed = cases;
        mixed.push(case("c::one", vec![CheckResult::fail("x.y", "new")]));
        assert!(!of(&entries(mixed)).iter().find(|f| f.check == "x.y").unwrap().known);
    }
}
