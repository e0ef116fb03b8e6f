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
