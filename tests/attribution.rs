//! Each verdict answers to the right rule, at its level, against the party it binds.

use oidc_conform::check::Status;
use oidc_conform::profile::Profile;
use oidc_conform::reference::Quirk;
use oidc_conform::report::CaseReport;

use crate::util::{oidc_conform, run_suite_case, with_quirks};

fn check<'a>(r: &'a CaseReport, id: &str) -> &'a oidc_conform::check::CheckResult {
    r.checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("{id} in {:#?}", r.checks))
}

async fn once(suite: &str, quirks: &[Quirk], edit: impl FnOnce(&mut Profile), name: &str) -> CaseReport {
    run_suite_case(suite, with_quirks(quirks), edit, name, 1).await.remove(0)
}

/// RFC 6749 §3.2 binds the client: a provider that answers a GET at the token
/// endpoint is noted, never failed; `oidc-conform checks` says whom each rule binds.
#[tokio::test]
async fn a_rule_that_binds_the_client_is_no_provider_finding() {
    let r = once("security", &[Quirk::TokenEndpointGetAccepted], |_| {}, "token-get-refused").await;
    assert_eq!(r.status, Status::Skip, "{:#?}", r.checks);
    let c = check(&r, "token_endpoint.post_only");
    assert!(c.message.contains("noted, not a finding"), "{c:?}");
    let r = once(
        "security",
        &[Quirk::UserinfoTokenInQueryAccepted],
        |_| {},
        "userinfo-token-in-query",
    )
    .await;
    assert!(
        r.checks.iter().all(|c| c.status != Status::Fail && c.status != Status::Warn),
        "{:#?}",
        r.checks
    );
    let clean = once("security", &[], |_| {}, "token-get-refused").await;
    assert_eq!(clean.status, Status::Pass, "{:#?}", clean.checks);

    let run = oidc_conform(&["checks"]);
    run.expect_code(0);
    let line = run
        .stdout()
        .lines()
        .find(|l| l.starts_with("token_endpoint.post_only"))
        .unwrap()
        .to_owned();
    assert!(line.contains(" client "), "{line}");
    let line = run.stdout().lines().find(|l| l.starts_with("id_token.iss")).unwrap().to_owned();
    assert!(line.contains(" provider "), "{line}");
}

/// A code bound to its redirect URI but refused with the wrong error code is
/// two verdicts: the binding holds, the error code is its own finding.
#[tokio::test]
async fn a_wrong_error_code_is_not_an_unenforced_binding() {
    let r = once("security", &[Quirk::CodeRedirectUriWrongError], |_| {}, "code-redirect-uri-changed").await;
    assert_eq!(r.status, Status::Fail, "{:#?}", r.checks);
    let binding = check(&r, "code.redirect_uri_binding");
    assert_eq!(binding.status, Status::Pass, "{binding:?}");
    let code = check(&r, "negative.error_code");
    assert_eq!(code.status, Status::Fail, "{code:?}");
    assert_eq!(code.found.as_deref(), Some("invalid_client"));
    let r = once("security", &[Quirk::CodeRedirectUriUnbound], |_| {}, "code-redirect-uri-changed").await;
    let binding = check(&r, "code.redirect_uri_binding");
    assert_eq!(binding.status, Status::Fail, "{binding:?}");
    assert!(binding.message.contains("accepted"), "{binding:?}");
    assert!(r.checks.iter().all(|c| c.id != "negative.error_code"), "{:#?}", r.checks);
}

/// Userinfo by form body is a MAY (RFC 6750 §2.2): a provider that refuses it
/// does not offer it, which is neither a failure nor a warning.
#[tokio::test]
async fn a_may_the_provider_does_not_offer_is_not_offered() {
    let r = once("userinfo", &[Quirk::UserinfoRejectsAccessToken], |_| {}, "userinfo-post-body").await;
    assert_eq!(r.status, Status::Skip, "{:#?}", r.checks);
    let c = check(&r, "userinfo.status");
    assert!(c.message.starts_with("not offered"), "{c:?}");
    let clean = once("userinfo", &[], |_| {}, "userinfo-post-body").await;
    assert_eq!(clean.status, Status::Pass, "{:#?}", clean.checks);
}

/// A request object ignored (here by reference, while discovery says
/// `request_uri_parameter_supported: true`) leaves the request without its
/// redirect URI, so the provider can only refuse, here on an error page
/// answered 200: that is `request_object.processed`'s finding, never an
/// error of the run. A provider that reads the object still passes with
/// such pages.
#[tokio::test]
async fn an_ignored_request_object_is_the_finding_not_a_harness_error() {
    for name in ["by-reference-unsigned", "by-value-unsigned"] {
        let r = once("request_object", &[Quirk::RequestObjectIgnored, Quirk::ErrorPages200], |_| {}, name).await;
        assert_eq!(r.status, Status::Fail, "{name}: {:#?}", r.checks);
        let c = check(&r, "request_object.processed");
        assert_eq!(c.status, Status::Fail, "{name}: {c:?}");
        assert!(r.checks.iter().all(|c| c.status != Status::Error), "{name}: {:#?}", r.checks);
        let r = once("request_object", &[Quirk::ErrorPages200], |_| {}, name).await;
        assert_eq!(r.status, Status::Pass, "{name}: {:#?}", r.checks);
    }
}

/// Where the spec allows a refusal (`or_error`), a refusal is judged by where
/// the user agent went: at the redirect URI with an allowed code it passes; on
/// a page it passes too, and showing the error to the user instead of
/// returning it to the client is `authorization.error_to_client`'s warning.
#[tokio::test]
async fn an_allowed_refusal_on_a_page_is_a_refusal() {
    let at_redirect = once("scopes", &[Quirk::OpenidRequired], |_| {}, "no-openid-no-id-token").await;
    assert_eq!(at_redirect.status, Status::Pass, "{:#?}", at_redirect.checks);
    for quirks in [
        &[Quirk::OpenidRequired, Quirk::ErrorsOnPage][..],
        &[Quirk::OpenidRequired, Quirk::ErrorsOnPage, Quirk::ErrorPages200][..],
    ] {
        let on_page = once("scopes", quirks, |_| {}, "no-openid-no-id-token").await;
        assert_eq!(on_page.status, Status::Warn, "{quirks:?}: {:#?}", on_page.checks);
        assert_eq!(check(&on_page, "flow.authorization").status, Status::Pass);
        assert_eq!(check(&on_page, "authorization.error_to_client").status, Status::Warn);
    }
}
