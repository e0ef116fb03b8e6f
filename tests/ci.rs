//! The CI integrations: `scripts/ci-run` (the GitHub Action's logic) writes
//! the job summary and outputs and passes the run's exit code through;
//! `action.yml` runs it; the GitLab template shards with `--shard auto`.

use std::path::Path;
use std::process::Command;

use crate::util::root;

/// Runs `scripts/ci-run` in `dir` with a fake job summary and outputs file;
/// returns the exit code, the summary and the outputs.
fn ci_run(dir: &Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let summary = dir.join("step-summary.md");
    let outputs = dir.join("github-output");
    std::fs::write(&summary, "").unwrap();
    std::fs::write(&outputs, "").unwrap();
    let out = Command::new("bash")
        .arg(root().join("scripts/ci-run"))
        .current_dir(dir)
        .env_remove("OIDC_CONFORM_CONFIG")
        .env_remove("OIDC_CONFORM_ARGS")
        .env("NO_COLOR", "1")
        .env("OIDC_CONFORM_BIN", env!("CARGO_BIN_EXE_oidc-conform"))
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .envs(env.iter().copied())
        .output()
        .expect("bash runs");
    (
        out.status.code().unwrap_or(-1),
        std::fs::read_to_string(&summary).unwrap(),
        std::fs::read_to_string(&outputs).unwrap() + "\n--- stderr\n" + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn the_action_script_writes_the_summary_and_passes_the_exit_code_through() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("oidc-conform.yaml"),
        "filter: basics::openid-only\noutput: out\nformats: [json, markdown]\n",
    )
    .unwrap();
    // A conformant run against the embedded provider: exit 0, its summary.md in the job summary.
    let (code, summary, outputs) = ci_run(dir.path(), &[]);
    assert_eq!(code, 0, "{outputs}");
    assert_eq!(summary, std::fs::read_to_string(dir.path().join("out/summary.md")).unwrap());
    assert!(outputs.contains("exit-code=0\n"), "{outputs}");
    let reports = std::fs::canonicalize(dir.path().join("out")).unwrap();
    assert!(outputs.contains(&format!("reports-dir={}\n", reports.display())), "{outputs}");

    // Findings: exit 1 passes through, and the summary names the check.
    let (code, summary, outputs) = ci_run(dir.path(), &[("OIDC_CONFORM_ARGS", "--quirk nonce-wrong")]);
    assert_eq!(code, 1, "{outputs}");
    assert!(summary.contains("id_token.nonce"), "{summary}");
    assert!(outputs.contains("exit-code=1\n"), "{outputs}");

    // Without summary.md (a shard writing run.json only): the closing summary instead.
    let (code, summary, _) = ci_run(dir.path(), &[("OIDC_CONFORM_ARGS", "--format json -o shard-1")]);
    assert_eq!(code, 0);
    assert!(summary.contains("result: 1 passed"), "{summary}");

    // Bad input: exit 2, no report, and the summary says where to look.
    let (code, summary, outputs) = ci_run(dir.path(), &[("OIDC_CONFORM_CONFIG", "missing.yaml")]);
    assert_eq!(code, 2, "{outputs}");
    assert!(summary.contains("no report"), "{summary}");
    assert!(outputs.contains("exit-code=2\nreports-dir=\n"), "{outputs}");
    assert!(outputs.contains("the project file `missing.yaml` does not exist"), "{outputs}");
}

#[test]
fn the_action_and_the_gitlab_template_are_wired_to_the_script_and_shards() {
    let yaml = |path: &str| -> serde_json::Value {
        serde_saphyr::from_str(&std::fs::read_to_string(root().join(path)).unwrap()).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    for input in ["version", "config", "args"] {
        assert!(action["inputs"][input].is_object(), "input `{input}`");
    }
    let steps = action["runs"]["steps"].as_array().unwrap();
    let text = serde_json::to_string(steps).unwrap();
    assert!(
        text.contains("scripts/ci-run") && text.contains("actions/upload-artifact"),
        "{text}"
    );
    let upload = steps
        .iter()
        .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("actions/upload-artifact")))
        .unwrap();
    assert!(
        upload["if"].as_str().unwrap().contains("always()"),
        "the reports are uploaded after a failing run too"
    );

    let gitlab = yaml("ci/gitlab-ci.yml");
    let shards = &gitlab["oidc-conform"];
    assert!(shards["parallel"].as_u64().unwrap() >= 2);
    assert!(shards["script"][0].as_str().unwrap().contains("--shard auto"));
    let report = &gitlab["oidc-conform-report"];
    assert_eq!(report["needs"][0], "oidc-conform");
    assert_eq!(report["when"], "always");
    assert!(report["script"][0].as_str().unwrap().contains("report merge shard-*/run.json"));
}
