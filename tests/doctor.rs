//! `doctor`: a profile's declarations proven against the provider, and a
//! declaration the provider contradicts reported as a profile error at its
//! place in the profile (exit 2), never as a provider failure.

use oidc_conform::reference::ReferenceProvider;

use oidc_conform::reference::{Config, Quirk};

use crate::util::{oidc_conform, with_quirks, write_profile};

fn reference() -> (tokio::runtime::Runtime, ReferenceProvider) {
    reference_with(Default::default())
}

fn reference_with(config: Config) -> (tokio::runtime::Runtime, ReferenceProvider) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let rp = rt
        .block_on(ReferenceProvider::start(config))
        .expect("the reference provider starts");
    (rt, rp)
}

/// `doctor` against the reference provider with `config`, the reference
/// profile changed by `replace`: the run, the profile's path and its text.
fn doctor(config: Config, replace: &[(&str, &str)]) -> (crate::util::Run, String, String) {
    let (rt, rp) = reference_with(config);
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(dir.path(), rp.issuer(), replace);
    let text = std::fs::read_to_string(&profile).unwrap();
    let run = oidc_conform(&["doctor", "--provider", profile.to_str().unwrap()]);
    rt.block_on(rp.shutdown());
    (run, profile.display().to_string(), text)
}

/// The 1-based number of the line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} is in the profile"))
        + 1
}

#[test]
fn a_truthful_profile_is_proven() {
    let (rt, rp) = reference();
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(dir.path(), rp.issuer(), &[]);
    let run = oidc_conform(&["doctor", "--provider", profile.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.describe());
    let out = run.stdout();
    assert!(out.contains("ok   client `web` authenticates with `client_secret_basic`"), "{out}");
    assert!(out.contains("ok   client `web` is registered with redirect URI"), "{out}");
    // The sign-in part: the user, their claims, the custom claim, consent and the API's tokens.
    for line in [
        "ok   user `jane` signs in through client `web` with the declared username and password",
        "ok   user `jane`'s declared claims come back: all 13 declared claims",
        "ok   custom claim `https://example.test/roles` comes in ID tokens",
        "ok   custom claim `https://example.test/roles` comes in userinfo",
        "ok   custom claim `https://example.test/roles` comes in access tokens",
        "ok   client `web`'s consent is every_time",
        "ok   tokens for API `health` are JWTs for https://api.example.test/health",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    assert!(!out.contains("FAIL") && !out.contains("??"), "{out}");
    // `third_party: true` is no consent declaration: the provider's rule, judged by the cases.
    assert!(!out.contains("client `partner`'s consent"), "{out}");
    rt.block_on(rp.shutdown());
}

/// A password the provider does not take: a profile error at the user's
/// password, with what the login page said, and the password nowhere.
#[test]
fn a_wrong_password_is_a_profile_error_at_the_password_with_what_the_page_said() {
    const WRONG: &str = "not-janes-password-2c7d";
    let (run, file, text) = doctor(
        Config::default(),
        &[("password: jane-password-5e8b", &format!("password: {WRONG}"))],
    );
    assert_eq!(run.code(), 2, "{}", run.describe());
    let err = run.stderr();
    assert!(
        err.contains(&format!("{file}:{}:15", line_of(&text, WRONG))),
        "at the password: {err}"
    );
    assert!(err.contains("user `jane` could not sign in"), "{err}");
    assert!(err.contains("the page says: Wrong username or password."), "{err}");
    assert!(err.contains("hint:"), "{err}");
    assert!(!run.stdout().contains(WRONG) && !err.contains(WRONG), "{}", run.describe());
    // Nothing after a refused login is claimed as proven.
    assert!(!run.stdout().contains("declared claims come back"), "{}", run.stdout());
}

/// `api_access_tokens: jwt` where the provider's tokens for the API are
/// opaque (quirk `audience-ignored`): a profile error at that line.
#[test]
fn jwt_api_tokens_declared_where_the_provider_issues_opaque_ones_is_a_profile_error() {
    let (run, file, text) = doctor(
        with_quirks(&[Quirk::AudienceIgnored]),
        &[("access_token_azp: true", "access_token_azp: true\napi_access_tokens: jwt")],
    );
    assert_eq!(run.code(), 2, "{}", run.describe());
    let err = run.stderr();
    assert!(
        err.contains(&format!("{file}:{}:", line_of(&text, "api_access_tokens: jwt"))),
        "at api_access_tokens: {err}"
    );
    assert!(err.contains("access token for API `health` is not a JWT"), "{err}");
    assert!(err.contains("api_access_tokens: opaque"), "the fix: {err}");
}

/// A claim the user is declared to have that the provider does not return,
/// and a custom claim the provider leaves out (quirk `custom-claim-missing`):
/// each a profile error at its own declaration.
#[test]
fn declared_claims_the_provider_does_not_return_are_profile_errors_at_each_claim() {
    let (run, file, text) = doctor(
        with_quirks(&[Quirk::CustomClaimMissing]),
        &[(
            "      phone_number_verified: false",
            "      phone_number_verified: false\n      birthdate: \"1990-01-01\"",
        )],
    );
    assert_eq!(run.code(), 2, "{}", run.describe());
    let err = run.stderr();
    assert!(
        err.contains(&format!("{file}:{}:7", line_of(&text, "birthdate:")))
            && err.contains("no `birthdate` for user `jane` with scope `profile`"),
        "the user's claim, at its name: {err}"
    );
    assert!(
        err.contains(&format!("{file}:{}:", line_of(&text, "claims: [roles]")))
            && err.contains("`https://example.test/roles` did not come in"),
        "the custom claim, at its declaration: {err}"
    );
    // The claims that do come back are proven all the same.
    assert!(run.stdout().contains("ok   user `jane` signs in"), "{}", run.stdout());
}

/// Consent declared remembered, where the provider shows the consent page
/// at every authorization: a profile error at `consent:`.
#[test]
fn consent_declared_remembered_but_shown_again_is_a_profile_error() {
    let (run, file, text) = doctor(Config::default(), &[("consent: every_time", "consent: remembered")]);
    assert_eq!(run.code(), 2, "{}", run.describe());
    let err = run.stderr();
    assert!(
        err.contains(&format!("{file}:{}:14", line_of(&text, "consent: remembered"))),
        "{err}"
    );
    assert!(err.contains("showed client `web`'s consent page again"), "{err}");
    assert!(err.contains("consent: every_time"), "the fix: {err}");
}

/// A provider that is merely broken (HTTP 500 at every code exchange)
/// contradicts nothing: the sign-in is not proven, `doctor` exits 0 and a
/// run goes on to its cases.
#[test]
fn a_broken_token_endpoint_is_not_a_profile_error() {
    let (rt, rp) = reference_with(with_quirks(&[Quirk::TokenEndpointError]));
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(dir.path(), rp.issuer(), &[]);
    let run = oidc_conform(&["doctor", "--provider", profile.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.describe());
    assert!(
        run.stdout().contains("??   user `jane` signs in through client `web` with the declared username and password: not proven: the sign-in did not complete"),
        "{}",
        run.stdout()
    );
    let out = dir.path().join("out");
    let run = oidc_conform(&[
        "run",
        "--provider",
        profile.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--exact",
        "basics::openid-only",
    ]);
    assert!(run.stderr().contains("not settled"), "{}", run.describe());
    assert_eq!(
        crate::util::read_report(&out)["cases"].as_array().unwrap().len(),
        1,
        "{}",
        run.describe()
    );
    rt.block_on(rp.shutdown());
}

/// A run stops at a profile error of the sign-in before any case.
#[test]
fn a_run_stops_at_a_wrong_password_before_the_cases() {
    let (rt, rp) = reference();
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        rp.issuer(),
        &[("password: jane-password-5e8b", "password: not-janes-password-2c7d")],
    );
    let out = dir.path().join("out");
    let run = oidc_conform(&["run", "--provider", profile.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.describe());
    assert!(run.stderr().contains("user `jane` could not sign in"), "{}", run.describe());
    assert!(!out.join("run.json").exists(), "no case ran");
    rt.block_on(rp.shutdown());
}

#[test]
fn a_wrong_secret_and_an_unregistered_redirect_uri_are_profile_errors_at_their_place() {
    const WRONG: &str = "not-the-web-secret-4b1d";
    let (rt, rp) = reference();
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        rp.issuer(),
        &[
            ("secret: web-app-secret-7f3a9c", &format!("secret: {WRONG}")),
            (
                "redirect_uri: https://app.example.test/callback",
                "redirect_uri: https://app.example.test/callbak",
            ),
        ],
    );
    let text = std::fs::read_to_string(&profile).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let run = oidc_conform(&["doctor", "--provider", profile.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.describe());
    let err = run.stderr();
    let file = profile.display().to_string();
    assert!(
        err.contains(&format!("{file}:{}:", line_of("id: web-app"))) && err.contains("invalid_client"),
        "the wrong secret, at the client's id: {err}"
    );
    assert!(
        err.contains(&format!("{file}:{}:", line_of("callbak"))) && err.contains("redirect URI"),
        "the unregistered redirect URI, at its line: {err}"
    );
    assert!(err.contains("hint:"), "{err}");
    // Other clients are still proven, and the secret is nowhere.
    assert!(run.stdout().contains("ok   client `spa`"), "{}", run.stdout());
    assert!(!run.stdout().contains(WRONG) && !err.contains(WRONG));
    rt.block_on(rp.shutdown());
}

/// Grant names under `response_types` (a mistake a guessed profile makes) is a
/// profile error; every declared authentication method is tried, not only the first.
#[test]
fn grant_names_as_response_types_are_a_profile_error() {
    let (rt, rp) = reference();
    let dir = tempfile::tempdir().unwrap();
    let profile = write_profile(
        dir.path(),
        rp.issuer(),
        &[(
            "response_types: [code, id_token, id_token token, code id_token, code token, code id_token token]",
            "response_types: [authorization_code, implicit]",
        )],
    );
    let run = oidc_conform(&["doctor", "--provider", profile.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.describe());
    assert!(run.stderr().contains("response type `authorization_code`"), "{}", run.describe());
    assert!(run.stderr().contains("`response_types`"), "{}", run.describe());
    let out = run.stdout();
    assert!(out.contains("ok   client `web` authenticates with `client_secret_post`"), "{out}");
    rt.block_on(rp.shutdown());
}

/// Scope claims declared to come in every ID token (`claims_in_id_token:
/// always`), where the provider keeps them to userinfo when it issues an
/// access token (as OIDC Core §5.4 lets it): a profile error at the
/// declaration, with the value to write.
#[test]
fn claims_declared_in_every_id_token_but_kept_to_userinfo_is_a_profile_error() {
    let config = Config {
        scope_claims_at_userinfo: true,
        ..Config::default()
    };
    let (run, file, text) = doctor(config, &[]);
    assert_eq!(run.code(), 2, "{}", run.describe());
    let err = run.stderr();
    assert!(
        err.contains(&format!("{file}:{}:", line_of(&text, "claims_in_id_token: always"))),
        "the place of the declaration: {err}"
    );
    assert!(err.contains("claims_in_id_token: when_no_access_token"), "the fix: {err}");
    // The same profile with the truthful value is proven.
    let (run, _, _) = doctor(
        Config {
            scope_claims_at_userinfo: true,
            ..Config::default()
        },
        &[("claims_in_id_token: always", "claims_in_id_token: when_no_access_token")],
    );
    assert_eq!(run.code(), 0, "{}", run.describe());
}

/// Consent declared asked at every authorization, where the provider
/// remembers it: a profile error at `consent:`, with the value to write; the
/// truthful declaration is proven.
#[test]
fn consent_declared_every_time_but_remembered_is_a_profile_error() {
    let remembering = || Config {
        remember_consent: true,
        ..Config::default()
    };
    let (run, file, text) = doctor(remembering(), &[]);
    assert_eq!(run.code(), 2, "{}", run.describe());
    let err = run.stderr();
    assert!(
        err.contains(&format!("{file}:{}:", line_of(&text, "consent: every_time"))),
        "the place of the declaration: {err}"
    );
    assert!(err.contains("remembered the consent"), "{err}");
    assert!(err.contains("consent: remembered"), "the fix: {err}");
    let (run, _, _) = doctor(remembering(), &[("consent: every_time", "consent: remembered")]);
    assert_eq!(run.code(), 0, "{}", run.describe());
}
