//! The project file `oidc-conform.yaml`: `run` with no arguments does what it
//! says, every flag wins over the file's value, paths are the file's, and a
//! bad or missing file is an input error at its place.

use std::path::Path;

use crate::util::{oidc_conform_in, oidc_conform_in_env, read_report, root};

/// A suite of four cases that run against the embedded provider.
fn write_suite(dir: &Path, name: &str) {
    let cases: String = ["a", "b", "c", "d"]
        .iter()
        .map(|c| {
            format!("  - name: {c}\n    area: scopes\n    request: {{ scope: openid }}\n    expect: {{ id_token: {{ present: [sub] }} }}\n")
        })
        .collect();
    std::fs::write(
        dir.join(format!("{name}.yaml")),
        format!("suite: {name}\ndefaults: {{ flow: code }}\ncases:\n{cases}"),
    )
    .unwrap();
}

fn project(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_suite(dir.path(), "one");
    write_suite(dir.path(), "two");
    std::fs::write(dir.path().join("oidc-conform.yaml"), text).unwrap();
    dir
}

/// The case ids `run --list` prints.
fn listed(dir: &Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["run", "--list"];
    all.extend_from_slice(args);
    let run = oidc_conform_in(dir, &all);
    run.expect_code(0);
    run.stdout()
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn run_with_no_arguments_does_what_the_project_file_says() {
    let dir = project("suites: [one.yaml]\nfilter: one::b\noutput: out\nformats: [json, markdown]\njobs: 2\n");
    let run = oidc_conform_in(dir.path(), &["run"]);
    run.expect_code(0);
    assert!(run.stderr().contains("project file: oidc-conform.yaml"), "{}", run.describe());
    let report = read_report(&dir.path().join("out"));
    assert_eq!(report["provider"]["embedded"], true, "no profile: the embedded reference provider");
    let ids: Vec<&str> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["one::b"]);
    assert!(dir.path().join("out/summary.md").is_file());
    assert!(!dir.path().join("out/report.html").exists(), "only the formats of the file");
    // A directory of suites may hold the project file: it is not a suite.
    std::fs::write(dir.path().join("oidc-conform.yaml"), "suites: [.]\nfilter: one::a\n").unwrap();
    assert_eq!(listed(dir.path(), &[]), ["one::a"]);
    std::fs::write(
        dir.path().join("oidc-conform.yaml"),
        "suites: [one.yaml]\nfilter: one::b\noutput: out\nformats: [json, markdown]\njobs: 2\n",
    )
    .unwrap();
    // `validate` with no arguments checks the same file and what it names.
    let run = oidc_conform_in(dir.path(), &["validate"]);
    run.expect_code(0);
    assert!(
        run.stdout().contains("ok: oidc-conform.yaml (project file: 4 cases"),
        "{}",
        run.describe()
    );
}

#[test]
fn flags_win_over_the_file_for_the_selection() {
    let dir = project("suites: [one.yaml]\nskip: [one::a]\n");
    assert_eq!(listed(dir.path(), &[]), ["one::b", "one::c", "one::d"]);
    // Suite paths on the command line replace the file's.
    assert_eq!(listed(dir.path(), &["two.yaml"]), ["two::a", "two::b", "two::c", "two::d"]);
    // `--skip` replaces the file's skips.
    assert_eq!(listed(dir.path(), &["--skip", "one::d"]), ["one::a", "one::b", "one::c"]);

    let dir = project("suites: [one.yaml, two.yaml]\nfilter: \"one::\"\nshard: 1/2\n");
    let whole = listed(dir.path(), &["--no-config", "one.yaml", "two.yaml", "one::"]);
    let (first, second) = (
        listed(dir.path(), &["--no-config", "one.yaml", "two.yaml", "one::", "--shard", "1/2"]),
        listed(dir.path(), &["--no-config", "one.yaml", "two.yaml", "one::", "--shard", "2/2"]),
    );
    assert_eq!(first.len() + second.len(), whole.len());
    assert_eq!(listed(dir.path(), &[]), first, "the file's shard");
    assert_eq!(listed(dir.path(), &["--shard", "2/2"]), second, "--shard wins");
    // A filter on the command line replaces the file's.
    let two = listed(dir.path(), &["two::", "--shard", "1/1"]);
    assert_eq!(two, ["two::a", "two::b", "two::c", "two::d"]);
}

#[test]
fn flags_win_over_the_file_for_the_profile() {
    // The file's inline profile is wrong: the run stops at its place in the file...
    let dir = project(
        "suites: [one.yaml]\nprofile:\n  name: broken\n  issuer: http://127.0.0.1:8787\n  clients:\n    web: { id: w, secret: hunter2-secret-9, sceret: x }\n",
    );
    let run = oidc_conform_in(dir.path(), &["run", "--list"]);
    run.expect_code(2);
    assert!(run.stderr().contains("oidc-conform.yaml:6:"), "{}", run.describe());
    assert!(run.stderr().contains("did you mean `secret`"), "{}", run.describe());
    assert!(!run.stderr().contains("hunter2"), "no secret is quoted: {}", run.describe());
    // ...unless `--provider` names another.
    let reference = root().join("fixtures/profiles/reference.yaml");
    let ids = listed(dir.path(), &["--provider", reference.to_str().unwrap()]);
    assert_eq!(ids.len(), 4);
    // A profile file named by the project, relative to it.
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    std::fs::copy(&reference, dir.path().join("conf/acme.yaml")).unwrap();
    std::fs::write(
        dir.path().join("conf/oidc-conform.yaml"),
        "profile: acme.yaml\nsuites: [../one.yaml]\n",
    )
    .unwrap();
    let run = oidc_conform_in(dir.path(), &["validate", "--config", "conf/oidc-conform.yaml"]);
    run.expect_code(0);
    assert!(run.stdout().contains("profile conf/acme.yaml"), "{}", run.describe());
}

#[test]
fn flags_win_over_the_file_for_quirks_baseline_output_and_formats() {
    let baseline = |dir: &Path, name: &str, entries: &str| std::fs::write(dir.join(name), format!("entries:\n{entries}")).unwrap();
    let dir =
        project("suites: [one.yaml]\nfilter: one::a\nquirks: [nonce-wrong]\nbaseline: known.yaml\noutput: out-file\nformats: [json]\n");
    baseline(
        dir.path(),
        "known.yaml",
        "  - { case: one::a, check: id_token.nonce, reason: the nonce fault }\n",
    );
    baseline(dir.path(), "empty.yaml", "  []\n");
    let run = oidc_conform_in(dir.path(), &["run", "--strict-baseline"]);
    assert!(run.code() == 0 || run.code() == 1, "{}", run.describe());
    let report = read_report(&dir.path().join("out-file"));
    assert_eq!(report["provider"]["quirks"], serde_json::json!(["nonce-wrong"]));
    assert_eq!(report["baseline"]["file"], "known.yaml", "{}", run.describe());
    assert!(!dir.path().join("out-file/junit.xml").exists());

    let run = oidc_conform_in(
        dir.path(),
        &[
            "run",
            "--quirk",
            "id-token-aud-api",
            "--baseline",
            "empty.yaml",
            "-o",
            "out-flag",
            "--format",
            "json,markdown",
        ],
    );
    run.expect_code(1);
    let report = read_report(&dir.path().join("out-flag"));
    assert_eq!(report["provider"]["quirks"], serde_json::json!(["id-token-aud-api"]));
    assert_eq!(report["baseline"]["file"], "empty.yaml");
    assert!(dir.path().join("out-flag/summary.md").is_file(), "--format wins");
    assert_eq!(
        std::fs::read_dir(dir.path().join("out-file")).unwrap().count(),
        1,
        "the file's output directory is not written by the second run"
    );
}

#[test]
fn paths_are_relative_to_the_project_file() {
    let dir = project("suites: [one.yaml]\nfilter: one::c\noutput: out\nformats: [json]\n");
    let elsewhere = tempfile::tempdir().unwrap();
    let config = dir.path().join("oidc-conform.yaml");
    let run = oidc_conform_in(elsewhere.path(), &["run", "--config", config.to_str().unwrap()]);
    run.expect_code(0);
    assert_eq!(read_report(&dir.path().join("out"))["cases"][0]["id"], "one::c");
    assert!(!elsewhere.path().join("out").exists());
}

#[test]
fn a_missing_or_bad_project_file_is_a_clear_error() {
    let dir = project("suites: [one.yaml]\n");
    for cmd in ["run", "validate"] {
        let run = oidc_conform_in(dir.path(), &[cmd, "--config", "oidc-conform.yml"]);
        run.expect_code(2);
        let err = run.stderr();
        assert!(
            err.contains("the project file `oidc-conform.yml` does not exist"),
            "{}",
            run.describe()
        );
        assert!(err.contains("did you mean `oidc-conform.yaml`?"), "{}", run.describe());
    }
    let empty = tempfile::tempdir().unwrap();
    let run = oidc_conform_in(empty.path(), &["run", "--config", "oidc-conform.yaml"]);
    run.expect_code(2);
    assert!(run.stderr().contains("oidc-conform init ISSUER --project"), "{}", run.describe());

    // Every mistake at its place, with the fix.
    let dir = project("suites: [one.yml]\njbos: 2\n");
    let run = oidc_conform_in(dir.path(), &["run"]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("oidc-conform.yaml:2:1") && run.stderr().contains("did you mean `jobs`?"),
        "{}",
        run.describe()
    );
    let dir = project("suites: [one.yml]\nshard: 3/2\nstrict_baseline: true\n");
    let run = oidc_conform_in(dir.path(), &["validate"]);
    run.expect_code(2);
    for want in [
        "oidc-conform.yaml:1:10",
        "did you mean `one.yaml`?",
        "oidc-conform.yaml:2:8",
        "not a shard",
        "oidc-conform.yaml:3:18",
        "add `baseline: FILE`",
        "3 problems found",
    ] {
        assert!(run.stderr().contains(want), "{want}\n{}", run.describe());
    }
    // `--no-config` leaves a broken file alone.
    let run = oidc_conform_in(dir.path(), &["run", "--no-config", "--list", "one.yaml"]);
    run.expect_code(0);
    // Two project files in one directory: which one is meant?
    std::fs::write(dir.path().join("oidc-conform.yml"), "suites: [one.yaml]\n").unwrap();
    let run = oidc_conform_in(dir.path(), &["run", "--list"]);
    run.expect_code(2);
    assert!(run.stderr().contains("two project files here"), "{}", run.describe());
}

#[test]
fn init_project_writes_a_file_that_validates_and_runs() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rp = rt
        .block_on(oidc_conform::reference::ReferenceProvider::start(Default::default()))
        .unwrap();
    let env = [
        ("OIDC_CLIENT_ID", "web-app"),
        ("OIDC_CLIENT_SECRET", "web-app-secret-7f3a9c"),
        ("OIDC_REDIRECT_URI", "https://app.example.test/callback"),
        ("OIDC_USERNAME", "jane"),
        ("OIDC_PASSWORD", "jane-password-5e8b"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let run = oidc_conform_in(dir.path(), &["init", rp.issuer(), "--project"]);
    run.expect_code(0);
    let text = std::fs::read_to_string(dir.path().join("oidc-conform.yaml")).unwrap();
    assert!(text.contains("profile: profile.yaml"), "{text}");
    // A second init does not overwrite it.
    oidc_conform_in(dir.path(), &["init", rp.issuer(), "--project", "-o", "other.yaml"]).expect_code(2);
    assert!(
        !dir.path().join("other.yaml").exists(),
        "nothing written when the project file exists"
    );
    let run = oidc_conform_in_env(dir.path(), &["validate"], &env);
    run.expect_code(0);
    assert!(run.stdout().contains("profile profile.yaml"), "{}", run.describe());
    let run = oidc_conform_in_env(dir.path(), &["run", "basics::openid-only", "--format", "json"], &env);
    run.expect_code(0);
    let report = read_report(&dir.path().join("reports"));
    assert_eq!(report["provider"]["embedded"], false);
    assert_eq!(report["provider"]["issuer"], rp.issuer());
    rt.block_on(rp.shutdown());
}

/// `schema project` describes every key the manual and `init --project` write.
#[test]
fn the_project_schema_describes_the_file() {
    let run = oidc_conform_in(&root(), &["schema", "project"]);
    run.expect_code(0);
    let schema: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(schema["additionalProperties"], false, "unknown keys are errors in the schema too");
    let props = schema["properties"].as_object().unwrap();
    let template = oidc_conform::project::template(Some("profile.yaml"));
    for line in template.lines() {
        if let Some((k, _)) = line.trim_start_matches("# ").split_once(": ")
            && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        {
            assert!(props.contains_key(k), "`{k}` is in the schema");
        }
    }
    // `profile` is a path or a profile, whose schema is the profile's.
    let any = schema["properties"]["profile"]["anyOf"].as_array().unwrap();
    assert!(any.iter().any(|s| s["$ref"] == "#/$defs/Profile"), "{any:?}");
    assert!(schema["$defs"]["Profile"]["properties"]["issuer"].is_object());
}
