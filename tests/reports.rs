//! Report formats, baselines, compare and shards.

use std::collections::BTreeMap;

use crate::util::{oidc_conform, read_report, root};

const FIXED_RUN: &str = "fixtures/reports/failing-run.json";

/// JUnit, Markdown and the console summary rendered from fixed saved runs
/// equal the golden files (`OIDC_CONFORM_BLESS=1` rewrites them): each leads
/// with the findings (failures, a known one, a warning) and the conformance
/// statement by specification.
#[test]
fn reports_match_the_golden_files() {
    for run in ["failing-run", "findings-run"] {
        let out = tempfile::tempdir().unwrap();
        let saved = format!("fixtures/reports/{run}.json");
        oidc_conform(&[
            "report",
            "render",
            &saved,
            "--output",
            out.path().to_str().unwrap(),
            "--format",
            "junit,markdown",
        ])
        .expect_code(0);
        // The console's closing summary, as `run` prints it, with and without `--verbose`.
        for (args, file) in [(&[][..], "console.txt"), (&["--verbose"][..], "console-verbose.txt")] {
            let mut argv = vec!["report", "summary", saved.as_str()];
            argv.extend_from_slice(args);
            let summary = oidc_conform(&argv);
            assert_eq!(summary.code(), 0, "{}", summary.describe());
            std::fs::write(out.path().join(file), summary.stdout()).unwrap();
        }
        for (file, ext) in [
            ("junit.xml", "junit.xml"),
            ("summary.md", "md"),
            ("console.txt", "console.txt"),
            ("console-verbose.txt", "console-verbose.txt"),
        ] {
            let got = std::fs::read_to_string(out.path().join(file)).unwrap();
            let golden = root().join(format!("fixtures/reports/{run}.{ext}"));
            if std::env::var_os("OIDC_CONFORM_BLESS").is_some() {
                std::fs::write(&golden, &got).unwrap();
            }
            let want = std::fs::read_to_string(&golden).unwrap_or_default();
            assert_eq!(got, want, "{file} differs from {}", golden.display());
        }
    }
    // The findings lead: before the conformance statement and the case-by-case lists.
    let md = std::fs::read_to_string(root().join("fixtures/reports/findings-run.md")).unwrap();
    let at = |s: &str| md.find(s).unwrap_or_else(|| panic!("{s} missing from the Markdown"));
    assert!(at("### Findings") < at("### Conformance by specification"));
    assert!(at("### Conformance by specification") < at("### Failures and warnings, case by case"));
    assert!(md.contains("| warn | `id_token.azp` | SHOULD |"), "the warning is a finding");
    assert!(md.contains("_(known, in the baseline)_ |"), "a finding the baseline covers says so");
    let console = std::fs::read_to_string(root().join("fixtures/reports/findings-run.console.txt")).unwrap();
    assert!(!console.contains("case by case"), "case by case only with --verbose");
    assert!(console.contains("in 13 cases"), "{console}");
}

/// The JUnit file parses back, with one testsuite per suite and failures carrying the check ids.
#[test]
fn junit_parses_back_with_the_failures() {
    let out = tempfile::tempdir().unwrap();
    oidc_conform(&[
        "report",
        "render",
        FIXED_RUN,
        "--output",
        out.path().to_str().unwrap(),
        "--format",
        "junit",
    ])
    .expect_code(0);
    let xml = std::fs::read_to_string(out.path().join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("junit.xml is well-formed XML");
    let root_el = doc.root_element();
    assert_eq!(root_el.tag_name().name(), "testsuites");
    let report = oidc_conform::report::Report::read_json(&root().join(FIXED_RUN)).unwrap();
    assert_eq!(root_el.attribute("tests").unwrap(), report.summary.total.to_string());
    assert_eq!(root_el.attribute("failures").unwrap(), report.summary.fail.to_string());
    let suites: Vec<&str> = root_el
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .map(|n| n.attribute("name").unwrap())
        .collect();
    let mut expected: Vec<&str> = report.cases.iter().map(|c| c.suite.as_str()).collect();
    expected.sort();
    expected.dedup();
    assert_eq!(suites, expected);
    let api = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("api-access-token"))
        .unwrap();
    let failure = api
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("a failing case has <failure>");
    assert!(failure.text().unwrap_or_default().contains("id_token.aud"), "{xml}");
}

/// Baseline: new failure → 1, only expected failures → 0, stale entries reported (and fatal with --strict-baseline).
#[test]
fn baselines_gate_on_new_failures_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = |p: &str| dir.path().join(p).to_str().unwrap().to_owned();
    oidc_conform(&[
        "run",
        "basics::",
        "--quirk",
        "id-token-aud-api",
        "--output",
        &d("first"),
        "--format",
        "json",
    ])
    .expect_code(1);
    oidc_conform(&["baseline", "write", "--from", &d("first/run.json"), "--output", &d("baseline.yaml")]).expect_code(0);
    let text = std::fs::read_to_string(d("baseline.yaml")).unwrap();
    assert!(text.contains("basics::api-access-token") && text.contains("id_token.aud"), "{text}");

    // The same failures: expected, exit 0, reported as known.
    let run = oidc_conform(&[
        "run",
        "basics::",
        "--quirk",
        "id-token-aud-api",
        "--baseline",
        &d("baseline.yaml"),
        "--output",
        &d("second"),
    ]);
    run.expect_code(0);
    let report = read_report(&dir.path().join("second"));
    assert!(report["summary"]["known"].as_u64().unwrap() > 0, "{report:#}");
    assert_eq!(
        report["summary"]["known"], report["summary"]["fail"],
        "every failure is a known one"
    );
    assert!(
        report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["checks"].as_array().unwrap().iter().any(|k| k["known"].is_string()))
    );

    // A new failure on top: exit 1.
    let run = oidc_conform(&[
        "run",
        "basics::",
        "--quirk",
        "id-token-aud-api",
        "--quirk",
        "nonce-wrong",
        "--baseline",
        &d("baseline.yaml"),
        "--output",
        &d("third"),
    ]);
    run.expect_code(1);

    // The failure fixed: the entry is stale, reported; fatal only with --strict-baseline.
    let run = oidc_conform(&["run", "basics::", "--baseline", &d("baseline.yaml"), "--output", &d("fourth")]);
    run.expect_code(0);
    assert!(
        run.stdout().contains("stale") && run.stdout().contains("basics::api-access-token"),
        "{}",
        run.describe()
    );
    oidc_conform(&[
        "run",
        "basics::",
        "--baseline",
        &d("baseline.yaml"),
        "--strict-baseline",
        "--output",
        &d("fifth"),
    ])
    .expect_code(1);
}

/// compare lists regressions (exit 1) and fixes (exit 0).
#[test]
fn compare_reports_regressions_and_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean");
    oidc_conform(&["run", "--output", clean.to_str().unwrap(), "--format", "json"]).expect_code(0);
    let clean_json = clean.join("run.json");
    let run = oidc_conform(&["compare", clean_json.to_str().unwrap(), FIXED_RUN]);
    run.expect_code(1);
    assert!(
        run.stdout().contains("basics::api-access-token: pass → fail (id_token.aud"),
        "{}",
        run.describe()
    );
    // The saved run has cases the suites no longer have: allowed here.
    let run = oidc_conform(&["compare", FIXED_RUN, clean_json.to_str().unwrap(), "--allow-removed"]);
    run.expect_code(0);
    assert!(run.stdout().contains("fixes: 30"), "{}", run.describe());
}

/// Shards 1/3, 2/3 and 3/3 merged give the same results as the unsharded run.
#[test]
fn merged_shards_equal_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let statuses = |report: &serde_json::Value| -> BTreeMap<String, String> {
        report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["id"].as_str().unwrap().to_owned(), c["status"].as_str().unwrap().to_owned()))
            .collect()
    };
    let whole = dir.path().join("whole");
    oidc_conform(&[
        "run",
        "--quirk",
        "nonce-wrong",
        "--output",
        whole.to_str().unwrap(),
        "--format",
        "json",
    ])
    .expect_code(1);
    let mut shard_files = Vec::new();
    let mut sizes = Vec::new();
    for k in 1..=3 {
        let out = dir.path().join(format!("shard-{k}"));
        let run = oidc_conform(&[
            "run",
            "--quirk",
            "nonce-wrong",
            "--shard",
            &format!("{k}/3"),
            "--output",
            out.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert!(run.code() == 0 || run.code() == 1, "{}", run.describe());
        let r = read_report(&out);
        assert_eq!(r["shard"], format!("{k}/3"));
        sizes.push(r["cases"].as_array().unwrap().len());
        shard_files.push(out.join("run.json").to_str().unwrap().to_owned());
    }
    assert!(sizes.iter().all(|n| *n > 0), "every shard has cases: {sizes:?}");
    let merged = dir.path().join("merged");
    let mut args = vec!["report", "merge"];
    args.extend(shard_files.iter().map(String::as_str));
    args.extend(["--output", merged.to_str().unwrap()]);
    oidc_conform(&args).expect_code(0);
    let (a, b) = (read_report(&whole), read_report(&merged));
    assert_eq!(statuses(&a), statuses(&b));
    assert_eq!(a["summary"], b["summary"]);
    // Every renderer works on the merged report.
    for f in ["junit.xml", "summary.md", "run.json"] {
        assert!(merged.join(f).exists(), "{f} written for the merged report");
    }
    // Merging the same shard twice is refused.
    let run = oidc_conform(&[
        "report",
        "merge",
        &shard_files[0],
        &shard_files[0],
        "--output",
        merged.to_str().unwrap(),
    ]);
    run.expect_code(2);
    assert!(run.stderr().contains("shard 1/3 is given twice"), "{}", run.describe());
    // Two shards of three are incomplete: refused, naming what is missing.
    let run = oidc_conform(&[
        "report",
        "merge",
        &shard_files[0],
        &shard_files[1],
        "--output",
        merged.to_str().unwrap(),
    ]);
    run.expect_code(2);
    assert!(run.stderr().contains("shard(s) 3/3 missing"), "{}", run.describe());
    // A shard of another run (another quirk) is refused.
    let other = dir.path().join("other");
    let r = oidc_conform(&["run", "--shard", "3/3", "--output", other.to_str().unwrap(), "--format", "json"]);
    assert!(r.code() == 0 || r.code() == 1, "{}", r.describe());
    let other_json = other.join("run.json");
    let run = oidc_conform(&[
        "report",
        "merge",
        &shard_files[0],
        &shard_files[1],
        other_json.to_str().unwrap(),
        "--output",
        merged.to_str().unwrap(),
    ]);
    run.expect_code(2);
    assert!(run.stderr().contains("is of another run"), "{}", run.describe());
}

/// `compare` fails on cases that vanished, unless told they may.
#[test]
fn compare_fails_on_removed_cases() {
    let dir = tempfile::tempdir().unwrap();
    let all = dir.path().join("all");
    let some = dir.path().join("some");
    oidc_conform(&["run", "--output", all.to_str().unwrap(), "--format", "json"]).expect_code(0);
    oidc_conform(&["run", "basics::", "--output", some.to_str().unwrap(), "--format", "json"]).expect_code(0);
    let (a, b) = (all.join("run.json"), some.join("run.json"));
    let run = oidc_conform(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    run.expect_code(1);
    let count = |p: &std::path::Path| read_report(p.parent().unwrap())["cases"].as_array().unwrap().len();
    let removed = count(&a) - count(&b);
    assert!(removed > 40, "the shipped suites have more than the basics");
    assert!(run.stdout().contains(&format!("removed cases: {removed} ")), "{}", run.describe());
    oidc_conform(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--allow-removed"]).expect_code(0);
}

/// `schema report` describes the saved report: every key of a real run is in the schema, every required key in the run.
#[test]
fn the_report_schema_describes_run_json() {
    let run = oidc_conform(&["schema", "report"]);
    run.expect_code(0);
    let schema: serde_json::Value = serde_json::from_str(&run.stdout()).expect("the schema is JSON");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root().join(FIXED_RUN)).unwrap()).unwrap();
    let props = schema["properties"].as_object().unwrap();
    for key in report.as_object().unwrap().keys() {
        assert!(props.contains_key(key), "`{key}` of run.json is in the schema");
    }
    for key in schema["required"].as_array().unwrap() {
        assert!(report.get(key.as_str().unwrap()).is_some(), "required `{key}` is in run.json");
    }
    let case_props = schema["$defs"]["CaseReport"]["properties"].as_object().unwrap();
    for key in report["cases"][0].as_object().unwrap().keys() {
        assert!(case_props.contains_key(key), "case key `{key}` is in the schema");
    }
}

/// `schema suite` and `schema profile` describe the shipped files (editor completion).
#[test]
fn suite_and_profile_schemas_describe_the_shipped_files() {
    let schema = |what: &str| -> serde_json::Value {
        let run = oidc_conform(&["schema", what]);
        run.expect_code(0);
        serde_json::from_str(&run.stdout()).expect("the schema is JSON")
    };
    let yaml = |path: &str| -> serde_json::Value { serde_saphyr::from_str(&std::fs::read_to_string(root().join(path)).unwrap()).unwrap() };
    let suite = schema("suite");
    assert_eq!(suite["additionalProperties"], false, "unknown keys are errors in the schema too");
    let case_props = suite["$defs"]["RawCase"]["properties"].as_object().unwrap();
    for file in ["suites/flows.yaml", "suites/negative.yaml", "suites/scopes.yaml"] {
        let doc = yaml(file);
        for key in doc.as_object().unwrap().keys() {
            assert!(suite["properties"].get(key).is_some(), "{file}: `{key}` is in the suite schema");
        }
        for case in doc["cases"].as_array().unwrap() {
            for key in case.as_object().unwrap().keys() {
                assert!(case_props.contains_key(key), "{file}: case key `{key}` is in the suite schema");
            }
        }
    }
    let profile = schema("profile");
    for file in [
        "fixtures/profiles/reference.yaml",
        "fixtures/providers/node-oidc-provider/profile.yaml",
    ] {
        for key in yaml(file).as_object().unwrap().keys() {
            assert!(profile["properties"].get(key).is_some(), "{file}: `{key}` is in the profile schema");
        }
    }
}

/// `--rerun-failed` runs exactly the cases that failed or errored in a saved
/// run, by id; a saved run without failures leaves nothing to rerun (exit 4).
#[test]
fn rerun_failed_runs_exactly_the_failed_cases() {
    let first = tempfile::tempdir().unwrap();
    let run = oidc_conform(&["run", "--quirk", "nonce-wrong", "--output", first.path().to_str().unwrap()]);
    assert_eq!(run.code(), 1, "{}", run.describe());
    let saved = read_report(first.path());
    let cases = saved["cases"].as_array().unwrap();
    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| c["status"] == "fail" || c["status"] == "error")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(
        !failed.is_empty() && failed.len() < cases.len(),
        "{} of {}",
        failed.len(),
        cases.len()
    );

    let second = tempfile::tempdir().unwrap();
    let saved_path = first.path().join("run.json");
    let rerun = oidc_conform(&[
        "run",
        "--quirk",
        "nonce-wrong",
        "--rerun-failed",
        saved_path.to_str().unwrap(),
        "--output",
        second.path().to_str().unwrap(),
    ]);
    assert_eq!(rerun.code(), 1, "{}", rerun.describe());
    let again = read_report(second.path());
    let ran: Vec<&str> = again["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ran, failed, "exactly the failed cases ran, in id order");

    // Fixed provider: the same cases pass; then there is nothing left to rerun.
    let third = tempfile::tempdir().unwrap();
    let fixed = oidc_conform(&[
        "run",
        "--rerun-failed",
        saved_path.to_str().unwrap(),
        "--output",
        third.path().to_str().unwrap(),
    ]);
    assert_eq!(fixed.code(), 0, "{}", fixed.describe());
    let third_path = third.path().join("run.json");
    let nothing = oidc_conform(&[
        "run",
        "--rerun-failed",
        third_path.to_str().unwrap(),
        "--output",
        third.path().to_str().unwrap(),
    ]);
    assert_eq!(nothing.code(), 4, "nothing left to run is not a pass: {}", nothing.describe());
    assert!(nothing.stderr().contains("nothing to rerun"), "{}", nothing.describe());
}

/// A saved run that holds a case twice (or a case both run and not run) is
/// refused by every command that reads saved runs: exit 2, naming the file
/// and the case.
#[test]
fn every_reader_refuses_a_saved_run_with_a_case_twice() {
    let good = root().join(FIXED_RUN);
    let mut report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&good).unwrap()).unwrap();
    let first = report["cases"][0].clone();
    let id = first["id"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let twice = dir.path().join("twice.json");
    let mut doubled = report.clone();
    doubled["cases"].as_array_mut().unwrap().push(first);
    std::fs::write(&twice, serde_json::to_string(&doubled).unwrap()).unwrap();
    report["not_run"] = serde_json::json!([id.clone()]);
    let ran_and_not = dir.path().join("ran-and-not.json");
    std::fs::write(&ran_and_not, serde_json::to_string(&report).unwrap()).unwrap();

    let out = dir.path().join("out");
    let (good, out) = (good.to_str().unwrap(), out.to_str().unwrap());
    for bad in [&twice, &ran_and_not] {
        let bad = bad.to_str().unwrap();
        for args in [
            vec!["report", "render", bad, "--output", out],
            vec!["report", "summary", bad],
            vec!["report", "matrix", good, bad, "--output", out],
            vec!["report", "merge", bad, "--output", out],
            vec!["compare", good, bad],
            vec!["compare", bad, good],
            vec!["baseline", "write", "--from", bad],
            vec!["run", "--rerun-failed", bad, "--output", out],
        ] {
            let run = oidc_conform(&args);
            run.expect_code(2);
            assert!(
                run.stderr().contains(&format!("`{bad}` holds case `{id}` more than once")),
                "{}",
                run.describe()
            );
        }
    }
}

/// A baseline entry whose case id matches no case of the suites (a typo) covers
/// nothing: a warning in the console and the reports, naming the entry and the
/// closest case id; `--strict-baseline` fails on it.
#[test]
fn a_baseline_entry_for_no_case_is_a_warning_and_fails_a_strict_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = |p: &str| dir.path().join(p).to_str().unwrap().to_owned();
    std::fs::write(
        d("baseline.yaml"),
        "entries:\n  - case: basics::api-acess-token\n    check: id_token.aud\n    reason: the API audience (vendor ticket 1)\n",
    )
    .unwrap();
    let warning =
        "`basics::api-acess-token` / `id_token.aud` matches no case of the suites (the closest case id is `basics::api-access-token`)";
    // Filtered to other cases: the entry's case is still one of the suites' cases or not, whatever the filter.
    let run = oidc_conform(&["run", "openid-only", "--baseline", &d("baseline.yaml"), "--output", &d("lax")]);
    run.expect_code(0);
    assert!(run.stdout().contains(warning), "{}", run.describe());
    let md = std::fs::read_to_string(d("lax/summary.md")).unwrap();
    assert!(md.contains(warning), "{md}");
    let html = std::fs::read_to_string(d("lax/report.html")).unwrap();
    assert!(
        html.contains("basics::api-acess-token") && html.contains("the closest case id is"),
        "report.html warns"
    );
    let report = read_report(&dir.path().join("lax"));
    assert_eq!(
        report["baseline"]["unknown"][0]["closest"], "basics::api-access-token",
        "{report:#}"
    );

    let strict = oidc_conform(&[
        "run",
        "openid-only",
        "--baseline",
        &d("baseline.yaml"),
        "--strict-baseline",
        "--output",
        &d("strict"),
    ]);
    strict.expect_code(1);
    assert!(strict.stdout().contains(warning), "{}", strict.describe());

    // An entry of a case the filter left out is no warning.
    std::fs::write(
        d("baseline.yaml"),
        "entries:\n  - case: basics::api-access-token\n    check: id_token.aud\n    reason: the API audience (vendor ticket 1)\n",
    )
    .unwrap();
    let quiet = oidc_conform(&[
        "run",
        "openid-only",
        "--baseline",
        &d("baseline.yaml"),
        "--strict-baseline",
        "--output",
        &d("quiet"),
    ]);
    quiet.expect_code(0);
    assert!(!quiet.stdout().contains("matches no case"), "{}", quiet.describe());
}
