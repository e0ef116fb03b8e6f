//! Golden diagnostics: each broken file in `fixtures/diagnostics/` is validated
//! and the error text compared with the `.stderr` file beside it.
//! `OIDC_CONFORM_BLESS=1 cargo test` rewrites the expected files.

use crate::util::{oidc_conform, root};

#[test]
fn broken_inputs_give_the_exact_diagnostics() {
    let dir = root().join("fixtures/diagnostics");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "the golden fixtures are there");
    let bless = std::env::var_os("OIDC_CONFORM_BLESS").is_some();
    let mut mismatches = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root()).unwrap().to_str().unwrap().to_owned();
        let run = oidc_conform(&["validate", &rel]);
        assert_eq!(run.code(), 2, "bad input exits 2\n{}", run.describe());
        assert!(!run.stderr().contains("panicked"), "{}", run.describe());
        let expected_path = f.with_extension("stderr");
        if bless {
            std::fs::write(&expected_path, run.stderr()).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} exists (OIDC_CONFORM_BLESS=1 writes it)", expected_path.display()));
        if run.stderr() != expected {
            mismatches.push(format!("{rel}\n--- expected\n{expected}--- got\n{}", run.stderr()));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn shipped_suites_and_profiles_validate() {
    let run = oidc_conform(&["validate", "suites", "fixtures/profiles"]);
    run.expect_code(0);
    assert!(run.stdout().contains("ok: suites/basics.yaml"), "{}", run.describe());
}

/// A request the suite makes invalid in a case that expects success is bad
/// input (exit 2, at its place), never a failure of the provider; the same
/// value in a case that expects a refusal runs.
#[test]
fn invalid_requests_of_a_suite_are_input_errors_not_provider_failures() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("s.yaml");
    std::fs::write(
        &suite,
        "suite: s\ncases:\n  - name: empty-redirect\n    request: { scope: openid, redirect_uri: \"\" }\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = oidc_conform(&["run", suite.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("`request.redirect_uri` `` is empty") && run.stderr().contains("s.yaml:4:45"),
        "{}",
        run.describe()
    );
    assert!(!run.stdout().contains("authorization_response.iss"), "{}", run.describe());
    std::fs::write(
        &suite,
        "suite: s\ncases:\n  - name: not-a-url\n    request: { scope: openid, redirect_uri: \"not a url\" }\n    expect: { error: [invalid_request] }\n",
    )
    .unwrap();
    let run = oidc_conform(&["run", suite.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    run.expect_code(0);
}
