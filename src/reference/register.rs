//! `/register`: dynamic client registration (RFC 7591 §3, OIDC Dynamic
//! Registration §3). Registered clients are third-party: they always get the
//! consent page. At most [`MAX_REGISTERED`] registrations per provider run.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use url::Url;

use super::discovery::RESPONSE_TYPES;
use super::{ClientMeta, ClientReg, Quirk, Shared, random_token, unix_now};
use crate::secret::Secret;

/// How many clients one provider run registers at most.
pub(crate) const MAX_REGISTERED: usize = 1000;

const AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "none",
    "client_secret_jwt",
    "private_key_jwt",
];
const GRANTS: &[&str] = &["authorization_code", "implicit", "refresh_token"];

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    let mut response = (status, axum::Json(json!({"error": code, "error_description": description}))).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn bad(code: &str, description: &str) -> Response {
    error(StatusCode::BAD_REQUEST, code, description)
}

fn strings(body: &serde_json::Map<String, Value>, name: &str, default: &[&str]) -> Result<Vec<String>, Box<Response>> {
    match body.get(name) {
        None => Ok(default.iter().map(|s| (*s).to_owned()).collect()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Box::new(bad("invalid_client_metadata", &format!("{name} must be an array of strings")))),
        Some(_) => Err(Box::new(bad(
            "invalid_client_metadata",
            &format!("{name} must be an array of strings"),
        ))),
    }
}

/// The signing and request-object members (OIDC Dynamic Registration §2):
/// RS256 or `none` for ID tokens and request objects, RS256 for userinfo, a
/// JWK Set by value, http(s) request URIs.
fn client_meta(body: &serde_json::Map<String, Value>) -> Result<ClientMeta, Box<Response>> {
    let alg = |name: &str, allowed: &[&str]| -> Result<Option<String>, Box<Response>> {
        match body.get(name) {
            None => Ok(None),
            Some(Value::String(a)) if allowed.contains(&a.as_str()) => Ok(Some(a.clone())),
            Some(other) => Err(Box::new(bad(
                "invalid_client_metadata",
                &format!("{name} {other} is not supported (one of {allowed:?})"),
            ))),
        }
    };
    let jwks = match body.get("jwks") {
        None => None,
        Some(v @ Value::Object(o)) if o.get("keys").is_some_and(Value::is_array) => Some(v.clone()),
        Some(_) => return Err(Box::new(bad("invalid_client_metadata", "jwks must be a JWK Set with a keys array"))),
    };
    let request_uris = strings(body, "request_uris", &[])?;
    if request_uris
        .iter()
        .any(|u| Url::parse(u).map_or(true, |u| !matches!(u.scheme(), "http" | "https")))
    {
        return Err(Box::new(bad(
            "invalid_client_metadata",
            "request_uris must be absolute http(s) URLs",
        )));
    }
    Ok(ClientMeta {
        id_token_alg: alg("id_token_signed_response_alg", &["RS256", "none"])?,
        userinfo_alg: alg("userinfo_signed_response_alg", &["RS256"])?,
        request_object_alg: alg("request_object_signing_alg", &["RS256", "none"])?,
        jwks,
        request_uris,
        post_logout_redirect_uris: strings(body, "post_logout_redirect_uris", &[])?,
        backchannel_logout_uri: backchannel_logout_uri(body)?,
        frontchannel_logout_uri: frontchannel_logout_uri(body)?,
        frontchannel_logout_session_required: body
            .get("frontchannel_logout_session_required")
            .map(|v| {
                v.as_bool().ok_or_else(|| {
                    Box::new(bad(
                        "invalid_client_metadata",
                        "frontchannel_logout_session_required must be a boolean",
                    ))
                })
            })
            .transpose()?
            .unwrap_or(false),
        dpop_bound_access_tokens: boolean(body, "dpop_bound_access_tokens")?,
    })
}

/// A boolean member, false when absent.
fn boolean(body: &serde_json::Map<String, Value>, name: &str) -> Result<bool, Box<Response>> {
    match body.get(name) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(Box::new(bad("invalid_client_metadata", &format!("{name} must be a boolean")))),
    }
}

/// `frontchannel_logout_uri` (OIDC Front-Channel Logout §2): an absolute
/// http(s) URL without a fragment. That its origin is a redirect URI's is
/// checked with the redirect URIs ([`same_origin_as_a_redirect_uri`]).
fn frontchannel_logout_uri(body: &serde_json::Map<String, Value>) -> Result<Option<String>, Box<Response>> {
    let Some(v) = body.get("frontchannel_logout_uri") else {
        return Ok(None);
    };
    let refuse = |why: &str| Err(Box::new(bad("invalid_client_metadata", why)));
    let Some(text) = v.as_str() else {
        return refuse("frontchannel_logout_uri must be a string");
    };
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.fragment().is_none() => Ok(Some(text.to_owned())),
        _ => refuse("frontchannel_logout_uri must be an absolute http(s) URL without a fragment"),
    }
}

/// §2: "The domain, port, and scheme of this URL MUST be the same as that of
/// a registered Redirection URI value."
fn same_origin_as_a_redirect_uri(uri: &str, redirect_uris: &[String]) -> bool {
    let Ok(uri) = Url::parse(uri) else { return false };
    redirect_uris
        .iter()
        .filter_map(|r| Url::parse(r).ok())
        .any(|r| r.origin() == uri.origin())
}

/// `backchannel_logout_uri` (OIDC Back-Channel Logout §2.2): an absolute
/// http(s) URL without a fragment; this provider delivers to loopback hosts only.
fn backchannel_logout_uri(body: &serde_json::Map<String, Value>) -> Result<Option<String>, Box<Response>> {
    let Some(v) = body.get("backchannel_logout_uri") else {
        return Ok(None);
    };
    let refuse = |why: &str| Err(Box::new(bad("invalid_client_metadata", why)));
    let Some(text) = v.as_str() else {
        return refuse("backchannel_logout_uri must be a string");
    };
    let Ok(url) = Url::parse(text) else {
        return refuse("backchannel_logout_uri must be an absolute URL");
    };
    if !matches!(url.scheme(), "http" | "https") || url.fragment().is_some() {
        return refuse("backchannel_logout_uri must be an http(s) URL without a fragment");
    }
    if !crate::flow::request_object::reachable_from(text) {
        return refuse("this provider delivers back-channel logouts to loopback hosts only");
    }
    Ok(Some(text.to_owned()))
}

pub(crate) async fn register(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let json_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json_type {
        return bad("invalid_client_metadata", "the registration request must be application/json");
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return bad("invalid_client_metadata", "the registration request must be a JSON object");
    };
    let redirect_uris = match strings(&body, "redirect_uris", &[]) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let response_types = match strings(&body, "response_types", &["code"]) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let grant_types = match strings(&body, "grant_types", &["authorization_code"]) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let auth_method = match body.get("token_endpoint_auth_method") {
        None => "client_secret_basic".to_owned(),
        Some(Value::String(m)) => m.clone(),
        Some(_) => return bad("invalid_client_metadata", "token_endpoint_auth_method must be a string"),
    };
    let application_type = body.get("application_type").and_then(Value::as_str).unwrap_or("web");
    let same_words = crate::profile::same_words;
    if let Some(rt) = response_types.iter().find(|r| !RESPONSE_TYPES.iter().any(|s| same_words(s, r))) {
        return bad("invalid_client_metadata", &format!("response type {rt:?} is not supported"));
    }
    if let Some(g) = grant_types.iter().find(|g| !GRANTS.contains(&g.as_str())) {
        return bad("invalid_client_metadata", &format!("grant type {g:?} is not supported here"));
    }
    // RFC 7591 §2: an unknown authentication method is refused, not taken as asked.
    if !AUTH_METHODS.contains(&auth_method.as_str()) && !shared.quirk(Quirk::RegistrationUnknownAuthAccepted) {
        return bad(
            "invalid_client_metadata",
            &format!("token_endpoint_auth_method {auth_method:?} is not supported"),
        );
    }
    if redirect_uris.is_empty() {
        return bad("invalid_redirect_uri", "redirect_uris is required");
    }
    let implicit =
        grant_types.iter().any(|g| g == "implicit") || response_types.iter().any(|r| r.split(' ').any(|w| w == "id_token" || w == "token"));
    for uri in &redirect_uris {
        let Ok(url) = Url::parse(uri) else {
            return bad("invalid_redirect_uri", &format!("{uri:?} is not an absolute URI"));
        };
        if url.fragment().is_some() {
            return bad("invalid_redirect_uri", "a redirect URI must not have a fragment");
        }
        // OIDC Dynamic Registration §2: web clients using implicit register https only, never localhost.
        let web_implicit = application_type == "web" && implicit;
        let insecure = url.scheme() != "https" || url.host_str() == Some("localhost");
        if web_implicit && insecure && !shared.quirk(Quirk::RegistrationHttpImplicitAccepted) {
            return bad(
                "invalid_redirect_uri",
                "web clients using the implicit grant must register https redirect URIs, not localhost",
            );
        }
    }
    let meta = match client_meta(&body) {
        Ok(meta) => meta,
        Err(r) => return *r,
    };
    if let Some(uri) = &meta.frontchannel_logout_uri
        && !same_origin_as_a_redirect_uri(uri, &redirect_uris)
    {
        return bad(
            "invalid_client_metadata",
            "frontchannel_logout_uri must have the scheme, host and port of a registered redirect URI",
        );
    }
    // OIDC Dynamic Registration §2: `none` only where no ID token comes from the authorization endpoint.
    let front_id_token = response_types.iter().any(|r| r.split(' ').any(|w| w == "id_token"));
    if meta.id_token_alg.as_deref() == Some("none") && front_id_token {
        return bad(
            "invalid_client_metadata",
            "id_token_signed_response_alg none is only for response types that return no ID token from the authorization endpoint",
        );
    }
    // private_key_jwt: the client's keys verify its assertions (OIDC Registration §2 `jwks`).
    if auth_method == "private_key_jwt" && meta.jwks.is_none() {
        return bad("invalid_client_metadata", "private_key_jwt needs the client's jwks");
    }
    let (id, secret) = match (random_token(), random_token()) {
        (Ok(id), Ok(secret)) => (id, secret),
        _ => return error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "no randomness"),
    };
    // No secret for a client that has none to use.
    let public = auth_method == "none" || auth_method == "private_key_jwt";
    let client = ClientReg {
        id: format!("dyn-{}", &id[..16]),
        secret: (!public).then(|| Secret::new(secret.clone())),
        redirect_uris: redirect_uris.clone(),
        grant_types: grant_types.clone(),
        response_types: response_types.clone(),
        auth_method: auth_method.clone(),
        meta: meta.clone(),
    };
    let slot = shared.registered_next.fetch_add(1, Ordering::Relaxed);
    let Some(cell) = shared.registered.get(slot) else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "this provider registers at most 1000 clients per run",
        );
    };
    let client_id = client.id.clone();
    if cell.set(client).is_err() {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "registration slot taken");
    }
    let mut answer = json!({
        "client_id": client_id,
        "client_id_issued_at": unix_now(),
        "redirect_uris": redirect_uris,
        "response_types": response_types,
        "grant_types": grant_types,
        "token_endpoint_auth_method": auth_method,
        "application_type": application_type,
    });
    if let Some(name) = body.get("client_name").and_then(Value::as_str) {
        answer["client_name"] = json!(name);
    }
    for (member, value) in [
        ("id_token_signed_response_alg", &meta.id_token_alg),
        ("userinfo_signed_response_alg", &meta.userinfo_alg),
        ("request_object_signing_alg", &meta.request_object_alg),
    ] {
        if let Some(v) = value {
            answer[member] = json!(v);
        }
    }
    if let Some(jwks) = &meta.jwks {
        answer["jwks"] = jwks.clone();
    }
    if meta.dpop_bound_access_tokens {
        answer["dpop_bound_access_tokens"] = json!(true);
    }
    if !meta.request_uris.is_empty() {
        answer["request_uris"] = json!(meta.request_uris);
    }
    if let Some(uri) = &meta.frontchannel_logout_uri {
        answer["frontchannel_logout_uri"] = json!(uri);
        answer["frontchannel_logout_session_required"] = json!(meta.frontchannel_logout_session_required);
    }
    if !public {
        answer["client_secret"] = json!(secret);
        answer["client_secret_expires_at"] = json!(0);
    }
    let status = if shared.quirk(Quirk::RegistrationStatus200) {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, axum::Json(answer)).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::reference::Config;
    use reqwest::StatusCode;
    use serde_json::{Value, json};

    async fn register(provider: &crate::reference::ReferenceProvider, body: Value) -> (StatusCode, Value) {
        let response = http()
            .post(format!("{}/register", provider.issuer()))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    #[tokio::test]
    async fn registration_validates_and_the_client_works() {
        let provider = start(Config::default()).await;
        let good = json!({"redirect_uris": ["https://rp.test/cb"], "client_name": "t"});
        let (status, body) = register(&provider, good).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["client_id"].as_str().unwrap().to_owned();
        assert!(body["client_secret"].as_str().is_some_and(|s| s.len() >= 40), "{body}");
        assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
        assert_eq!(body["redirect_uris"], json!(["https://rp.test/cb"]));
        // The registered client is known to the authorization endpoint, as a third-party one.
        assert!(provider.shared.client(&id).is_some() && provider.shared.third_party(&id));
        assert!(!provider.shared.third_party(WEB));

        // Refusals, each with the RFC 7591 §3.2.2 code.
        let cases = [
            (json!({}), "invalid_redirect_uri"),
            (json!({"redirect_uris": ["https://rp.test/cb#frag"]}), "invalid_redirect_uri"),
            (json!({"redirect_uris": ["not a uri"]}), "invalid_redirect_uri"),
            (
                json!({"redirect_uris": ["http://rp.test/cb"], "response_types": ["id_token"], "grant_types": ["implicit"]}),
                "invalid_redirect_uri",
            ),
            (
                json!({"redirect_uris": ["https://localhost/cb"], "response_types": ["id_token"], "grant_types": ["implicit"]}),
                "invalid_redirect_uri",
            ),
            (
                json!({"redirect_uris": ["https://rp.test/cb"], "token_endpoint_auth_method": "made_up"}),
                "invalid_client_metadata",
            ),
            (
                json!({"redirect_uris": ["https://rp.test/cb"], "response_types": ["code bogus"]}),
                "invalid_client_metadata",
            ),
            (json!({"redirect_uris": "https://rp.test/cb"}), "invalid_client_metadata"),
            (json!(["not", "an", "object"]), "invalid_client_metadata"),
        ];
        for (body, code) in cases {
            let (status, answer) = register(&provider, body.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {answer}");
            assert_eq!(answer["error"], code, "{body} → {answer}");
        }
        // Code flows may use http redirect URIs (only implicit web clients may not).
        let (status, _) = register(&provider, json!({"redirect_uris": ["http://rp.test/cb"]})).await;
        assert_eq!(status, StatusCode::CREATED);
        // A public client gets no secret.
        let (status, body) = register(
            &provider,
            json!({"redirect_uris": ["https://rp.test/cb"], "token_endpoint_auth_method": "none"}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        assert!(body.get("client_secret").is_none(), "{body}");
    }
}
