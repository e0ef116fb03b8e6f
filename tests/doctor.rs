//! `doctor`: a profile's declarations proven against the provider, and a
//! declaration the provider contradicts reported as a profile error at its
//! place in the profile (exit 2), never as a provider failure.

use oidc_conform::reference::ReferenceProvider;

use crate::util::{oidc_conform, write_profile};

fn reference() -> (tokio::runtime::Runtime, ReferenceProvider) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let rp = rt
        .block_on(ReferenceProvider::start(Default::default()))
        .expect("the reference provider starts");
    (rt, rp)
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
    assert!(!out.contains("FAIL"), "{out}");
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
