//! JUnit XML: one testsuite per suite, one testcase per case; each suite's
//! properties carry the run's conformance statement and the findings that hit
//! its cases. `fail` becomes
//! `<failure>`, `error` becomes `<error>`, `skip` becomes `<skipped>`; a case whose
//! every problem is a known failure (baseline) is `<skipped>` with the reasons.

use std::collections::BTreeMap;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};

use super::{CaseEntry, Report};
use crate::check::Status;

pub fn render(report: &Report) -> Result<String, quick_junit::SerializeError> {
    let mut j = JReport::new(format!("oidc-conform: {}", report.provider.name));
    j.set_time(Duration::from_millis(report.duration_ms));
    let mut suites: BTreeMap<&str, Vec<&CaseEntry>> = BTreeMap::new();
    for c in &report.cases {
        suites.entry(c.suite.as_str()).or_default().push(c);
    }
    for (name, cases) in suites {
        let mut suite = TestSuite::new(name);
        suite.add_property(("provider", report.provider.name.as_str()));
        suite.add_property(("issuer", report.provider.issuer.as_str()));
        // The run's conformance statement, one property per specification.
        for d in &report.conformance {
            suite.add_property((format!("conformance: {}", d.document), d.statement()));
        }
        // The findings that hit this suite's cases, grouped by check (the run's counts).
        for f in report.findings.iter().filter(|f| cases.iter().any(|c| f.cases.contains(&c.id))) {
            let ef = match f.expected_found() {
                Some((e, found)) => format!(" (expected {e}, found {found})"),
                None => String::new(),
            };
            suite.add_property((
                format!("finding: {}", f.check),
                format!(
                    "{} {} {}: {} in the run{}; first in {}: {}{ef}",
                    f.status.as_str(),
                    f.level.as_str(),
                    crate::check::spec::title(&f.spec),
                    f.count(),
                    if f.known { ", known (baseline)" } else { "" },
                    f.first.case,
                    f.first.message
                ),
            ));
        }
        for c in cases {
            let mut tc = TestCase::new(c.name.as_str(), status(c));
            tc.set_classname(format!("{}.{}", c.suite, c.area));
            tc.set_time(Duration::from_millis(c.duration_ms));
            tc.set_assertions(c.check_count());
            tc.add_property(("flow", c.flow.as_str()));
            tc.add_property(("location", c.location.as_str()));
            suite.add_test_case(tc);
        }
        j.add_test_suite(suite);
    }
    // An interrupted run lists what did not run; a run that did not start says why.
    if report.interrupted || report.not_started.is_some() {
        let mut suite = TestSuite::new("not-run");
        if let Some(why) = &report.not_started {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(format!("the run did not start: {why}"));
            s.set_type("harness");
            suite.add_test_case(TestCase::new("run", s));
        }
        for id in &report.not_run {
            let mut s = TestCaseStatus::skipped();
            s.set_message("not run: the run was interrupted");
            let mut tc = TestCase::new(id.as_str(), s);
            tc.set_classname("not-run");
            suite.add_test_case(tc);
        }
        j.add_test_suite(suite);
    }
    j.to_string()
}

fn status(c: &CaseEntry) -> TestCaseStatus {
    let problems: Vec<String> = c.problems().map(super::describe_check).collect();
    match c.status {
        Status::Pass | Status::Warn => TestCaseStatus::success(),
        Status::Skip => {
            let mut s = TestCaseStatus::skipped();
            let why: Vec<&str> = c
                .notable
                .iter()
                .filter(|k| k.status == Status::Skip)
                .map(|k| k.message.as_str())
                .collect();
            s.set_message(why.join("; "));
            s
        }
        _ if c.is_known_failure() => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!(
                "known failure (baseline): {}",
                c.problems().filter_map(|k| k.known.as_deref()).collect::<Vec<_>>().join("; ")
            ));
            s.set_description(problems.join("\n"));
            s
        }
        Status::Fail | Status::Error => {
            let kind = if c.status == Status::Fail {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut s = TestCaseStatus::non_success(kind);
            let first = c.problems().next().map(|k| format!("{}: {}", k.id, k.message)).unwrap_or_default();
            s.set_message(first);
            s.set_type(if c.status == Status::Fail { "conformance" } else { "harness" });
            s.set_description(problems.join("\n"));
            s
        }
    }
}
