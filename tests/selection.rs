//! Cases run wherever the profile can run them: a case that does not need an
//! API runs on a profile without one, a probe picks the client it needs.

use oidc_conform::check::Status;
use oidc_conform::profile::{AudienceParam, Profile};
use oidc_conform::reference::Quirk;
use oidc_conform::report::CaseReport;

use crate::util::{run_suite_case, with_quirks};

fn no_api(p: &mut Profile) {
    p.audience_param = AudienceParam::None;
    p.apis.clear();
    p.default_api = None;
}

fn ids(r: &CaseReport, status: Status) -> Vec<&str> {
    r.checks.iter().filter(|c| c.status == status).map(|c| c.id.as_str()).collect()
}

async fn once(suite: &str, quirks: &[Quirk], edit: impl FnOnce(&mut Profile), name: &str) -> CaseReport {
    run_suite_case(suite, with_quirks(quirks), edit, name, 1).await.remove(0)
}

/// Plain OAuth without `openid` needs no API: on a profile without one the case
/// runs (with `profile`), and an ID token issued all the same is found.
#[tokio::test]
async fn no_openid_runs_without_an_api() {
    let clean = once("scopes", &[], no_api, "no-openid-no-id-token").await;
    assert_eq!(clean.status, Status::Pass, "{:#?}", clean.checks);
    assert_eq!(clean.request.get("scope").map(String::as_str), Some("profile"));
    let quirk = once("scopes", &[Quirk::IdTokenWithoutOpenid], no_api, "no-openid-no-id-token").await;
    assert!(ids(&quirk, Status::Warn).contains(&"id_token.unrequested"), "{:#?}", quirk.checks);
    assert!(ids(&quirk, Status::Fail).contains(&"assert.token_response"), "{:#?}", quirk.checks);
}

/// A scope nobody defines is narrowed away without an API too, and the
/// response must say so.
#[tokio::test]
async fn a_narrowed_grant_is_judged_without_an_api() {
    let clean = once("scopes", &[], no_api, "api-scope-narrowed").await;
    assert_eq!(clean.status, Status::Pass, "{:#?}", clean.checks);
    let quirk = once("scopes", &[Quirk::ScopeNotEchoed], no_api, "api-scope-narrowed").await;
    assert_eq!(quirk.status, Status::Fail, "{:#?}", quirk.checks);
    assert!(ids(&quirk, Status::Fail).contains(&"assert.token_response"), "{:#?}", quirk.checks);
}

/// The refresh-reuse probe needs a refresh token that rotates: where the
/// confidential client's does not (as it may), the public client's does, and
/// a reuse that does not revoke the family is found there.
#[tokio::test]
async fn the_refresh_reuse_probe_runs_with_a_client_that_rotates() {
    let quirks = [Quirk::ConfidentialRefreshNoRotation, Quirk::RefreshReuseKeepsFamily];
    let r = once("negative", &quirks, |_| {}, "refresh-token-reuse").await;
    assert_eq!(r.status, Status::Warn, "{:#?}", r.checks);
    assert!(ids(&r, Status::Warn).contains(&"refresh_token.reuse_revokes"), "{:#?}", r.checks);
    assert!(ids(&r, Status::Pass).contains(&"negative.refused"), "{:#?}", r.checks);
    // A public client that gets no refresh token: the confidential one is tried next.
    let mut config = with_quirks(&[]);
    let spa = config.clients.iter_mut().find(|c| c.id == "spa-app").unwrap();
    spa.grant_types.retain(|g| g != "refresh_token");
    let r = run_suite_case("negative", config, |_| {}, "refresh-token-reuse", 1).await.remove(0);
    assert_eq!(r.status, Status::Pass, "{:#?}", r.checks);
    assert!(
        r.trace
            .iter()
            .any(|l| l.contains("client `spa` got no refresh token: the case runs again with client `web`")),
        "{:#?}",
        r.trace
    );
}

/// The profile puts its custom claim in every token: the access-token case
/// needs no API (the reference provider's access tokens without one are
/// opaque, so it says it cannot judge them rather than skipping for want of an API).
#[tokio::test]
async fn the_custom_claim_case_runs_without_an_api_where_every_access_token_has_it() {
    let r = once("namespacing", &[], no_api, "custom-claim-in-access-token").await;
    assert!(!r.request.contains_key("audience"), "{:?}", r.request);
    let opaque = r.checks.iter().find(|c| c.id == "assert.access_token").unwrap();
    assert!(opaque.message.contains("opaque"), "{opaque:?}");
    // Where the profile keeps the claim out of access tokens, the case has nothing to judge without an API.
    let mut profile = oidc_conform::run::reference_profile("http://127.0.0.1:1").unwrap();
    no_api(&mut profile);
    profile.namespaces.claims[0].places = Some(vec![oidc_conform::profile::ClaimPlace::IdToken]);
    let cases = oidc_conform::run::load_cases(&[crate::util::root().join("suites/namespacing.yaml")], &profile).unwrap();
    let case = cases.iter().find(|c| c.name == "custom-claim-in-access-token").unwrap();
    assert!(
        case.skip.as_deref().unwrap().contains("none of its custom claims in access tokens"),
        "{:?}",
        case.skip
    );
}

/// Client credentials without an API send the machine client's declared
/// scopes; with none, a provider that wants a scope makes the case a skip.
#[tokio::test]
async fn client_credentials_without_an_api_send_the_declared_scopes_or_skip() {
    let none = once("flows", &[], no_api, "client-credentials-post").await;
    assert_eq!(none.status, Status::Skip, "{:#?}", none.checks);
    assert!(ids(&none, Status::Fail).is_empty(), "{:#?}", none.checks);
    let why = &none.checks.iter().find(|c| c.id == "flow.supported").unwrap().message;
    assert!(
        why.contains("`invalid_scope`") && why.contains("no `scopes` for client `m2m`"),
        "{why}"
    );
    let declared = |p: &mut Profile| {
        no_api(p);
        p.clients["m2m"].scopes = vec!["reports.read".into()];
    };
    let ok = once("flows", &[], declared, "client-credentials-post").await;
    assert_eq!(ok.request.get("scope").map(String::as_str), Some("reports.read"));
    assert!(ids(&ok, Status::Pass).contains(&"flow.token"), "{:#?}", ok.checks);
    assert!(ids(&ok, Status::Fail).is_empty(), "{:#?}", ok.checks);
}
