//! `run --rerun-failed RUN_JSON`: which cases of a saved run run again, and
//! only against the provider, profile and suites it was run with.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{Run, oidc_conform, read_report, root, write_profile};

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `oidc-conform run ARGS --output DIR --format json`.
fn run_into(dir: &Path, args: &[&str]) -> Run {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.extend(["--output", p(dir), "--format", "json"]);
    oidc_conform(&all)
}

fn ids(dir: &Path) -> Vec<String> {
    read_report(dir)["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Writes `report`, changed by `edit`, as `run.json` in a new directory.
fn saved(report: &Value, edit: impl FnOnce(&mut Value)) -> (tempfile::TempDir, PathBuf) {
    let mut report = report.clone();
    edit(&mut report);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    (dir, path)
}

/// A whole run of the two `openid-only` cases against the embedded provider (both pass).
fn passing_run() -> (tempfile::TempDir, Value) {
    let dir = tempfile::tempdir().unwrap();
    run_into(dir.path(), &["openid-only"]).expect_code(0);
    let report = read_report(dir.path());
    assert_eq!(ids(dir.path()), ["basics::openid-only", "userinfo::userinfo-openid-only"]);
    (dir, report)
}

/// That run as if interrupted before its second case.
fn interrupted(report: &Value) -> (tempfile::TempDir, PathBuf) {
    saved(report, |r| {
        r["cases"].as_array_mut().unwrap().retain(|c| c["id"] == "basics::openid-only");
        r["interrupted"] = true.into();
        r["not_run"] = serde_json::json!(["userinfo::userinfo-openid-only"]);
    })
}

/// The cases an interrupted run did not run, and every case of a run that
/// never started, run again; a run with nothing left says so and exits 4.
#[test]
fn rerun_failed_runs_what_did_not_run_and_says_when_nothing_is_left() {
    let (_first, report) = passing_run();
    let definition = &report["definition"];
    assert!(
        definition["profile_digest"].as_str().is_some_and(|d| d.len() == 64)
            && definition["suites_digest"].as_str().is_some_and(|d| d.len() == 64),
        "run.json records the profile and suites digests: {definition:#}"
    );

    let (_dir, stopped) = interrupted(&report);
    let out = tempfile::tempdir().unwrap();
    let rerun = run_into(out.path(), &["--rerun-failed", p(&stopped)]);
    rerun.expect_code(0);
    assert_eq!(
        ids(out.path()),
        ["userinfo::userinfo-openid-only"],
        "the case not run: {}",
        rerun.describe()
    );

    let never = tempfile::tempdir().unwrap();
    run_into(never.path(), &["no-such-case-anywhere"]).expect_code(4);
    let out = tempfile::tempdir().unwrap();
    let rerun = run_into(out.path(), &["openid-only", "--rerun-failed", p(&never.path().join("run.json"))]);
    rerun.expect_code(0);
    assert!(rerun.stderr().contains("never started"), "{}", rerun.describe());
    assert_eq!(ids(out.path()), ["basics::openid-only", "userinfo::userinfo-openid-only"]);

    let (_dir, all_passed) = saved(&report, |_| {});
    let out = tempfile::tempdir().unwrap();
    let nothing = run_into(out.path(), &["--rerun-failed", p(&all_passed)]);
    nothing.expect_code(4);
    assert!(
        nothing.stderr().contains("nothing to rerun") && nothing.stderr().contains("2 passed"),
        "{}",
        nothing.describe()
    );
    let written = read_report(out.path());
    assert!(
        written["not_started"].as_str().is_some_and(|w| w.contains("nothing to rerun")),
        "the report says so too: {written:#}"
    );
}

/// A saved run of another provider, profile or suites is refused (exit 2),
/// naming both values, unless `--rerun-any-provider`; the profile's secrets and
/// where its files are do not count.
#[test]
fn rerun_failed_refuses_a_run_of_another_provider_profile_or_suites() {
    let (_first, report) = passing_run();
    let (_dir, stopped) = interrupted(&report);

    // Another provider.
    let inputs = tempfile::tempdir().unwrap();
    let elsewhere = write_profile(inputs.path(), "http://127.0.0.1:9", &[]);
    let out = tempfile::tempdir().unwrap();
    let refused = run_into(out.path(), &["--provider", p(&elsewhere), "--rerun-failed", p(&stopped)]);
    refused.expect_code(2);
    let said = refused.stderr();
    assert!(
        said.contains("the saved run's is the embedded reference provider, this run's is `reference` (http://127.0.0.1:9)")
            && said.contains("--rerun-any-provider"),
        "{}",
        refused.describe()
    );
    let anyway = run_into(
        out.path(),
        &["--provider", p(&elsewhere), "--rerun-failed", p(&stopped), "--rerun-any-provider"],
    );
    anyway.expect_code(3);

    // The same suites elsewhere are the same suites; an edited one is not.
    let copy = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(root().join("suites")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.path().join(e.file_name())).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    run_into(out.path(), &[p(copy.path()), "--rerun-failed", p(&stopped)]).expect_code(0);
    let basics = copy.path().join("basics.yaml");
    let text = std::fs::read_to_string(&basics).unwrap();
    std::fs::write(&basics, format!("{text}\n# edited\n")).unwrap();
    let refused = run_into(out.path(), &[p(copy.path()), "--rerun-failed", p(&stopped)]);
    refused.expect_code(2);
    let digest = report["definition"]["suites_digest"].as_str().unwrap();
    assert!(
        refused
            .stderr()
            .contains(&format!("suites digest: the saved run's is {digest}, this run's is ")),
        "{}",
        refused.describe()
    );

    // Another profile of the same provider (unreachable: the run never starts).
    let first = tempfile::tempdir().unwrap();
    run_into(first.path(), &["--provider", p(&elsewhere), "openid-only"]).expect_code(3);
    let unstarted = first.path().join("run.json");
    let other_secret = write_profile(
        inputs.path(),
        "http://127.0.0.1:9",
        &[("web-app-secret-7f3a9c", "another-secret-1234")],
    );
    let same = run_into(out.path(), &["--provider", p(&other_secret), "--rerun-failed", p(&unstarted)]);
    same.expect_code(3);
    let edited = write_profile(
        inputs.path(),
        "http://127.0.0.1:9",
        &[("https://app.example.test/callback", "https://app.example.test/other")],
    );
    let refused = run_into(out.path(), &["--provider", p(&edited), "--rerun-failed", p(&unstarted)]);
    refused.expect_code(2);
    assert!(
        refused.stderr().contains("profile digest: the saved run's is ") && !refused.stderr().contains("provider: "),
        "{}",
        refused.describe()
    );
}

/// A run saved before runs recorded their digests is read, but rerun only when told.
#[test]
fn rerun_failed_of_a_run_without_digests_needs_to_be_told() {
    let (_first, report) = passing_run();
    let (_dir, older) = saved(&report, |r| {
        r["cases"].as_array_mut().unwrap().retain(|c| c["id"] == "basics::openid-only");
        r["interrupted"] = true.into();
        r["not_run"] = serde_json::json!(["userinfo::userinfo-openid-only"]);
        let d = r["definition"].as_object_mut().unwrap();
        d.remove("profile_digest");
        d.remove("suites_digest");
    });
    let out = tempfile::tempdir().unwrap();
    let refused = run_into(out.path(), &["--rerun-failed", p(&older)]);
    refused.expect_code(2);
    assert!(
        refused
            .stderr()
            .contains("records no profile or suites digest (it was saved by an earlier oidc-conform)"),
        "{}",
        refused.describe()
    );
    let told = run_into(out.path(), &["--rerun-failed", p(&older), "--rerun-any-provider"]);
    told.expect_code(0);
    assert_eq!(ids(out.path()), ["userinfo::userinfo-openid-only"]);
    // The schema of run.json describes the digests.
    let schema = oidc_conform(&["schema", "report"]);
    let schema: Value = serde_json::from_str(&schema.stdout()).unwrap();
    let props = &schema["$defs"]["RunDefinition"]["properties"];
    assert!(
        props.get("profile_digest").is_some() && props.get("suites_digest").is_some(),
        "{props:#}"
    );
}
