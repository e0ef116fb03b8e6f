//! Every flow and negative request against the reference provider, both ways.

use crate::util::{case, checks_with, oidc_conform, read_report, write_profile};

/// Each negative case passes against the clean provider (see `cli.rs`), and
/// fails with `negative.refused` when a quirk makes the provider accept.
#[test]
fn negative_requests_fail_when_the_provider_accepts() {
    let table = [
        (
            "wrong-secret-accepted",
            &["negative::wrong-client-secret", "negative::wrong-client-secret-client-credentials"][..],
        ),
        ("unregistered-redirect-followed", &["negative::unregistered-redirect-uri"]),
        ("implicit-without-nonce-accepted", &["negative::implicit-without-nonce"]),
        ("response-type-not-allowed-accepted", &["negative::response-type-not-allowed"]),
        // A code that can be redeemed twice also survives a refused exchange.
        ("code-reuse-accepted", &["negative::code-reuse", "negative::wrong-code-verifier"]),
        ("pkce-not-enforced", &["negative::wrong-code-verifier"]),
        ("refresh-reuse-accepted", &["negative::refresh-token-reuse"]),
        (
            "unknown-audience-accepted",
            &["negative::unregistered-api-client-credentials", "negative::unregistered-api-code"],
        ),
    ];
    for (quirk, cases) in table {
        let out = tempfile::tempdir().unwrap();
        let run = oidc_conform(&["run", "negative::", "--quirk", quirk, "--output", out.path().to_str().unwrap()]);
        run.expect_code(1);
        let report = read_report(out.path());
        let failed: Vec<&str> = report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] != "pass")
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(failed, cases, "quirk {quirk}\n{}", run.describe());
        for id in cases {
            assert_eq!(
                checks_with(case(&report, id), "fail"),
                ["negative.refused"],
                "quirk {quirk}, case {id}"
            );
        }
    }
}

/// A case whose response type, mode, grant or scope discovery does not list is skipped with the reason.
#[test]
fn unadvertised_features_are_skipped_not_failed() {
    let out = tempfile::tempdir().unwrap();
    let run = oidc_conform(&["run", "--quirk", "discovery-minimal", "--output", out.path().to_str().unwrap()]);
    run.expect_code(0);
    let report = read_report(out.path());
    for (id, reason) in [
        ("flows::code-form-post", "response_mode `form_post`"),
        ("flows::hybrid-code-id-token", "response_type `code id_token`"),
        ("flows::client-credentials-post", "`client_credentials` grant"),
    ] {
        let c = case(&report, id);
        assert_eq!(c["status"], "skip", "{c:#}");
        assert_eq!(c["checks"][0]["id"], "flow.supported");
        assert!(c["checks"][0]["message"].as_str().unwrap().contains(reason), "{c:#}");
    }
    assert_eq!(case(&report, "flows::code-client-secret-basic")["status"], "pass");
}

/// The suites say "this API"; the engine sends `resource` when the profile says so (RFC 8707).
#[test]
fn resource_indicator_style_selects_the_api() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rp = rt
        .block_on(oidc_conform::reference::ReferenceProvider::start(Default::default()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(dir.path(), rp.issuer(), &[("audience_param: audience", "audience_param: resource")]);
    let out = dir.path().join("out");
    let run = oidc_conform(&["run", "--provider", profile.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    run.expect_code(0);
    let report = read_report(&out);
    let api = case(&report, "flows::client-credentials-post");
    assert!(api["request"]["resource"].is_string(), "{api:#}");
    assert!(api["request"].get("audience").is_none());
    let code = case(&report, "basics::api-access-token");
    assert!(code["request"]["resource"].is_string(), "{code:#}");
}

/// With no API selection in the profile, the cases that need an API are skipped.
#[test]
fn no_api_selection_skips_api_cases() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rp = rt
        .block_on(oidc_conform::reference::ReferenceProvider::start(Default::default()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(dir.path(), rp.issuer(), &[("audience_param: audience", "audience_param: none")]);
    let out = dir.path().join("out");
    let run = oidc_conform(&["run", "--provider", profile.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    run.expect_code(0);
    let report = read_report(&out);
    let api = case(&report, "basics::api-access-token");
    assert_eq!(api["status"], "skip", "{api:#}");
    assert_eq!(case(&report, "basics::openid-only")["status"], "pass");
}
