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
        (
            "implicit-without-nonce-accepted",
            &["negative::hybrid-without-nonce", "negative::implicit-without-nonce"],
        ),
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
            // The opt-in (slow) cases skip here.
            .filter(|c| c["status"] != "pass" && c["status"] != "skip")
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

/// A provider with one client, no API and one user with two claims, and its
/// truthful profile: every shipped suite loads and runs; what the provider does
/// not offer is skipped with the reason, nothing fails.
#[test]
fn minimal_profile_runs_every_shipped_suite() {
    use oidc_conform::reference::Config;
    let mut config = Config::default();
    config.clients.truncate(1);
    config.clients[0].redirect_uris = vec!["https://minimal.example.test/cb".into()];
    config.apis.clear();
    let user = &mut config.users[0];
    user.username = "sam".into();
    user.claims.retain(|k, _| k == "name" || k == "email");
    user.roles.clear();
    let report = run_green_against(
        config,
        "name: minimal\nissuer: {issuer}\naudience_param: none\nclients:\n  app:\n    id: web-app\n    secret: web-app-secret-7f3a9c\n    redirect_uri: https://minimal.example.test/cb\nusers:\n  sam:\n    username: sam\n    password: jane-password-5e8b\n    claims: { name: Jane Doe, email: jane@example.test }\n",
    );
    let skip_reason = |id: &str| -> String {
        let c = case(&report, id);
        assert_eq!(c["status"], "skip", "{id}: {c:#}");
        c["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["status"] == "skip")
            .map(|k| k["message"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    for (id, reason) in [
        ("basics::api-access-token", "the profile selects no API"),
        ("flows::code-public-client-pkce", "no public client"),
        ("flows::client-credentials-post", "machine client"),
        (
            "scopes::scope-address",
            "no user in the profile has the claims the case needs (address)",
        ),
        ("namespacing::custom-claim-in-id-token", "declares no custom claims"),
        ("negative::response-type-not-allowed", "NOT registered for `id_token token`"),
    ] {
        let why = skip_reason(id);
        assert!(why.contains(reason), "{id}: {why}");
    }
    // Cases that only mention an API run without one.
    for id in [
        "flows::implicit-id-token-token",
        "flows::hybrid-code-token",
        "basics::openid-profile-email",
    ] {
        assert_eq!(case(&report, id)["status"], "pass", "{id}: {:#}", case(&report, id));
    }
    assert!(case(&report, "flows::implicit-id-token-token")["request"].get("audience").is_none());
    // The user's missing claims are left out of the assertions, and say so.
    let c = case(&report, "basics::openid-profile-email");
    let id_assert = c["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == "assert.id_token")
        .unwrap();
    assert!(
        id_assert["message"].as_str().unwrap().contains("has no `family_name` claim"),
        "{id_assert:#}"
    );
}

/// The named-key form still works, and a key the profile lacks is a load error with a hint.
#[test]
fn named_clients_still_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("named.yaml");
    std::fs::write(
        &suite,
        "suite: named\ncases:\n  - name: spa\n    client: spa\n    request: { scope: openid }\n    expect: { id_token: { aud_contains: [\"${clients.spa.id}\"] } }\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = oidc_conform(&["run", suite.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    run.expect_code(0);
    assert_eq!(case(&read_report(&out), "named::spa")["status"], "pass");
    std::fs::write(&suite, "suite: named\ncases:\n  - name: spa\n    client: spaa\n").unwrap();
    let run = oidc_conform(&["validate", suite.to_str().unwrap()]);
    run.expect_code(2);
    assert!(run.stderr().contains("did you mean `spa`?"), "{}", run.describe());
}

/// One confidential client, one API and one user: every shipped suite loads and
/// runs green; the API cases run, the second-API case skips with its reason.
#[test]
fn one_client_one_api_one_user_runs_every_shipped_suite() {
    use oidc_conform::reference::Config;
    let mut config = Config::default();
    config.clients.truncate(1);
    config.apis.truncate(1);
    let report = run_green_against(
        config,
        "name: one\nissuer: {issuer}\naudience_param: audience\naccess_token_aud_includes_userinfo: true\nclients:\n  app: { id: web-app, secret: web-app-secret-7f3a9c, redirect_uri: \"https://app.example.test/callback\" }\napis:\n  only: { identifier: \"https://api.example.test/health\", scopes: [\"read:patients\", \"write:patients\"] }\nusers:\n  u: { username: jane, password: jane-password-5e8b, claims: { name: Jane Doe, email: jane@example.test } }\n",
    );
    for id in [
        "basics::api-access-token",
        "audience::access-token-for-api",
        "flows::refresh-api-token",
    ] {
        assert_eq!(case(&report, id)["status"], "pass", "{id}: {:#}", case(&report, id));
    }
    let second = case(&report, "audience::second-api");
    assert_eq!(second["status"], "skip");
    assert!(second["checks"].to_string().contains("second API"), "{second:#}");
}

/// Starts a reference provider with `config`, runs the shipped suites with
/// `profile` (`{issuer}` replaced), expects exit 0 and returns the report.
fn run_green_against(config: oidc_conform::reference::Config, profile: &str) -> serde_json::Value {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rp = rt.block_on(oidc_conform::reference::ReferenceProvider::start(config)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.yaml");
    std::fs::write(&path, profile.replace("{issuer}", rp.issuer())).unwrap();
    let out = dir.path().join("out");
    let run = oidc_conform(&["run", "--provider", path.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    run.expect_code(0);
    let report = read_report(&out);
    rt.block_on(rp.shutdown());
    report
}

/// Denying consent where the provider shows no consent page is a skip that
/// says so, never a failure: here the reference takes the third-party
/// client's consent as given (quirk), so there is nothing to deny.
#[test]
fn denying_without_a_consent_page_is_a_skip() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("deny.yaml");
    std::fs::write(
        &suite,
        "suite: deny\ncases:\n  - name: deny-partner\n    flow: code\n    client: partner\n    check: consent.denied\n    request: { scope: openid, consent: deny }\n    expect: { error: [access_denied] }\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = oidc_conform(&[
        "run",
        suite.to_str().unwrap(),
        "--quirk",
        "third-party-consent-skipped",
        "--output",
        out.to_str().unwrap(),
    ]);
    let report = read_report(&out);
    let c = case(&report, "deny::deny-partner");
    assert_eq!(c["status"], "skip", "{:#}\n{}", c["checks"], run.describe());
    assert!(c["checks"].to_string().contains("no consent page"), "{:#}", c["checks"]);
}
