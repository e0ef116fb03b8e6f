//! Test helpers: start a provider on 127.0.0.1:0 and drive it over HTTP the
//! way a browser and a client would.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use scraper::{Html, Selector};
use serde_json::Value;

use super::{Config, Quirk, ReferenceProvider};

pub(crate) const WEB: &str = "web-app";
pub(crate) const WEB_SECRET: &str = "web-app-secret-7f3a9c";
pub(crate) const WEB_CALLBACK: &str = "https://app.example.test/callback";
pub(crate) const SPA: &str = "spa-app";
pub(crate) const SPA_CALLBACK: &str = "https://spa.example.test/callback";
pub(crate) const M2M: &str = "m2m-service";
pub(crate) const M2M_SECRET: &str = "m2m-service-secret-41d2e8";
pub(crate) const HEALTH: &str = "https://api.example.test/health";

pub(crate) async fn start(config: Config) -> ReferenceProvider {
    ReferenceProvider::start(config).await.expect("provider starts")
}

pub(crate) async fn start_with(quirks: &[Quirk]) -> ReferenceProvider {
    let mut config = Config::default();
    config.quirks.extend(quirks.iter().copied());
    start(config).await
}

/// A browser-like client: cookie jar, redirects not followed, plain HTTP
/// to 127.0.0.1 only (no proxy; no root certificates to load, which keeps
/// building a client cheap).
pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .tls_certs_only(std::iter::empty())
        .build()
        .expect("http client")
}

pub(crate) fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .expect("Location header")
        .to_str()
        .expect("ASCII Location")
        .to_owned()
}

/// The parameters of a redirect to the client: query and fragment merged.
pub(crate) fn callback_params(location: &str) -> HashMap<String, String> {
    let url = url::Url::parse(location).expect("absolute Location");
    let mut out: HashMap<String, String> = url.query_pairs().into_owned().collect();
    if let Some(fragment) = url.fragment() {
        out.extend(url::form_urlencoded::parse(fragment.as_bytes()).into_owned());
    }
    out
}

/// The first form on a page: its action and every named input's value.
pub(crate) fn form(html: &str) -> (String, Vec<(String, String)>) {
    let doc = Html::parse_document(html);
    let form_sel = Selector::parse("form").expect("selector");
    let input_sel = Selector::parse("input[name]").expect("selector");
    let form = doc.select(&form_sel).next().expect("a form");
    let action = form.value().attr("action").unwrap_or_default().to_owned();
    let fields = form
        .select(&input_sel)
        .map(|i| {
            let name = i.value().attr("name").unwrap_or_default().to_owned();
            let value = i.value().attr("value").unwrap_or_default().to_owned();
            (name, value)
        })
        .collect();
    (action, fields)
}

pub(crate) async fn authorize(provider: &ReferenceProvider, browser: &reqwest::Client, params: &[(&str, &str)]) -> reqwest::Response {
    browser
        .get(format!("{}/authorize", provider.issuer()))
        .query(params)
        .send()
        .await
        .expect("authorize request")
}

/// Logs jane in on the login page at `login_url`; returns the response to
/// the form submission.
pub(crate) async fn log_in(browser: &reqwest::Client, login_url: &str, password: &str) -> reqwest::Response {
    let page = browser.get(login_url).send().await.expect("login page");
    assert_eq!(page.status(), StatusCode::OK);
    let origin = origin(login_url);
    let (action, mut fields) = form(&page.text().await.expect("login html"));
    assert_eq!(action, "/login");
    for (name, value) in &mut fields {
        match name.as_str() {
            "username" => *value = "jane".into(),
            "password" => *value = password.into(),
            _ => {}
        }
    }
    browser
        .post(format!("{origin}{action}"))
        .form(&fields)
        .send()
        .await
        .expect("login post")
}

/// Submits the consent form at `consent_url` with `decision`.
pub(crate) async fn consent(browser: &reqwest::Client, consent_url: &str, decision: &str) -> reqwest::Response {
    let page = browser.get(consent_url).send().await.expect("consent page");
    assert_eq!(page.status(), StatusCode::OK, "consent page");
    let (action, mut fields) = form(&page.text().await.expect("consent html"));
    assert_eq!(action, "/consent");
    fields.push(("decision".into(), decision.into()));
    browser
        .post(format!("{}{action}", origin(consent_url)))
        .form(&fields)
        .send()
        .await
        .expect("consent post")
}

fn origin(url: &str) -> String {
    let url = url::Url::parse(url).expect("absolute URL");
    url.origin().ascii_serialization()
}

/// authorize → login → consent (`decision`): the final response, a redirect
/// to the client or a form_post page.
pub(crate) async fn browse(provider: &ReferenceProvider, params: &[(&str, &str)], decision: &str) -> reqwest::Response {
    let browser = http();
    let response = authorize(provider, &browser, params).await;
    assert_eq!(response.status(), StatusCode::FOUND, "authorize redirects");
    let login_url = location(&response);
    assert!(login_url.contains("/login?tx="), "{login_url}");
    let response = log_in(&browser, &login_url, "jane-password-5e8b").await;
    assert_eq!(response.status(), StatusCode::FOUND, "login redirects");
    let consent_url = location(&response);
    consent(&browser, &consent_url, decision).await
}

/// The full browser part, allowing, expecting a redirect back: the
/// callback's parameters.
pub(crate) async fn browse_ok(provider: &ReferenceProvider, params: &[(&str, &str)]) -> HashMap<String, String> {
    let response = browse(provider, params, "allow").await;
    assert_eq!(response.status(), StatusCode::FOUND, "redirect to client");
    callback_params(&location(&response))
}

/// A token request; `basic` authenticates with HTTP Basic.
pub(crate) async fn token_request(
    provider: &ReferenceProvider,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (StatusCode, Value, HeaderMap) {
    let mut request = http().post(format!("{}/oauth/token", provider.issuer())).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.expect("token request");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.expect("token response is JSON");
    (status, body, headers)
}

/// Redeems `code` for web-app with HTTP Basic.
pub(crate) async fn redeem(provider: &ReferenceProvider, code: &str) -> (StatusCode, Value) {
    let (status, body, _) = token_request(
        provider,
        &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", WEB_CALLBACK)],
        Some((WEB, WEB_SECRET)),
    )
    .await;
    (status, body)
}

pub(crate) async fn userinfo(provider: &ReferenceProvider, token: Option<&str>) -> reqwest::Response {
    let mut request = http().get(format!("{}/userinfo", provider.issuer()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("userinfo request")
}

/// The header and claims of a JWT, without verification.
pub(crate) fn parts(token: &str) -> (Value, Value) {
    let mut it = token.split('.');
    let mut part = || {
        let raw = URL_SAFE_NO_PAD.decode(it.next().expect("JWT part")).expect("base64url");
        serde_json::from_slice::<Value>(&raw).expect("JSON part")
    };
    let header = part();
    let claims = part();
    (header, claims)
}

/// Verifies an RS256 JWT against the provider's JWKS (signature and kid
/// only) and returns its claims.
pub(crate) async fn verify(provider: &ReferenceProvider, token: &str) -> Value {
    try_verify(provider, token).await.expect("JWT verifies with the published key")
}

/// Like [`verify`], but `None` when the JWT does not verify as RS256 with a
/// key of the provider's JWKS named by its kid.
pub(crate) async fn try_verify(provider: &ReferenceProvider, token: &str) -> Option<Value> {
    let jwks: JwkSet = http()
        .get(format!("{}/.well-known/jwks.json", provider.issuer()))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks JSON");
    let header = jsonwebtoken::decode_header(token).ok()?;
    let jwk = jwks.find(header.kid.as_deref()?)?;
    let key = DecodingKey::from_jwk(jwk).expect("decoding key");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &key, &validation).ok().map(|data| data.claims)
}

/// A PKCE pair: (code_verifier, S256 code_challenge).
pub(crate) fn pkce() -> (String, String) {
    let verifier = super::random_token().expect("random");
    let challenge = URL_SAFE_NO_PAD.encode(super::keys::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

pub(crate) fn at_hash(token: &str) -> String {
    super::keys::half_hash(token)
}
