//! `init ISSUER` writes a starting profile from discovery that validates and
//! runs, from a directory without any suites (the built-in ones run).

use crate::util::{oidc_conform_in, oidc_conform_in_env, read_report};

/// init, validate, run in an empty directory; returns the run's report.
fn init_and_run(issuer: &str, env: &[(&str, &str)], extra: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let run = oidc_conform_in(dir.path(), &["init", issuer]);
    run.expect_code(0);
    assert!(run.stdout().contains("export OIDC_CLIENT_SECRET"), "{}", run.describe());
    let text = std::fs::read_to_string(dir.path().join("profile.yaml")).unwrap();
    assert!(text.contains("${env:OIDC_CLIENT_SECRET}") && !text.contains("secret-"), "{text}");
    // A second init does not overwrite it.
    oidc_conform_in(dir.path(), &["init", issuer]).expect_code(2);
    oidc_conform_in_env(dir.path(), &["validate", "profile.yaml"], env).expect_code(0);
    let mut args = vec!["run", "--provider", "profile.yaml", "--output", "out"];
    args.extend_from_slice(extra);
    let run = oidc_conform_in_env(dir.path(), &args, env);
    run.expect_code(0);
    assert!(
        run.stdout().contains("ignored (skip:"),
        "skips are said as such\n{}",
        run.describe()
    );
    read_report(&dir.path().join("out"))
}

fn passed(report: &serde_json::Value) -> Vec<&str> {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        // A reviewed SHOULD-level warning (node oidc-provider sends no `Pragma`) still ran the case.
        .filter(|c| c["status"] == "pass" || c["status"] == "warn")
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

#[test]
fn init_against_the_reference_provider_validates_and_runs() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rp = rt
        .block_on(oidc_conform::reference::ReferenceProvider::start(Default::default()))
        .unwrap();
    let report = init_and_run(
        rp.issuer(),
        &[
            ("OIDC_CLIENT_ID", "web-app"),
            ("OIDC_CLIENT_SECRET", "web-app-secret-7f3a9c"),
            ("OIDC_REDIRECT_URI", "https://app.example.test/callback"),
            ("OIDC_USERNAME", "jane"),
            ("OIDC_PASSWORD", "jane-password-5e8b"),
        ],
        &[],
    );
    let ok = passed(&report);
    for id in [
        "flows::code-client-secret-basic",
        "flows::code-client-secret-post",
        "flows::implicit-id-token-token",
        "flows::refresh",
    ] {
        assert!(ok.contains(&id), "{id} passes: {ok:?}");
    }
    rt.block_on(rp.shutdown());
}

#[test]
fn init_against_oidc_provider_validates_and_runs() {
    crate::provider_node::install().unwrap_or_else(|e| panic!("{e}"));
    let p = crate::provider_node::provider();
    let baseline = crate::util::root()
        .join("fixtures/providers/node-oidc-provider/baseline.yaml")
        .display()
        .to_string();
    let report = init_and_run(
        &p.issuer,
        &[
            ("OIDC_CLIENT_ID", "web-app"),
            ("OIDC_CLIENT_SECRET", "web-app-secret-7f3a9c"),
            ("OIDC_REDIRECT_URI", "https://app.example.test/callback"),
            ("OIDC_USERNAME", "jane"),
            ("OIDC_PASSWORD", "any"),
        ],
        // The provider's one reviewed finding (a code outlives a refused PKCE exchange).
        &["--baseline", &baseline],
    );
    let ok = passed(&report);
    assert!(ok.contains(&"flows::code-client-secret-basic"), "{ok:?}");
    assert!(ok.contains(&"flows::hybrid-code-id-token"), "{ok:?}");
}
