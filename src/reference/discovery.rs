//! `/.well-known/openid-configuration` and `/.well-known/jwks.json`, both
//! serialised once at start.

use super::Quirk;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::Shared;
use super::issue::{ADDRESS_CLAIMS, EMAIL_CLAIMS, PHONE_CLAIMS, PROFILE_CLAIMS};

/// Response types the provider implements (the client registry narrows them).
pub(crate) const RESPONSE_TYPES: &[&str] = &[
    "code",
    "id_token",
    "id_token token",
    "code id_token",
    "code token",
    "code id_token token",
];

/// The scopes defined by OpenID Connect.
pub(crate) const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "address", "phone", "offline_access"];

/// The discovery document (OpenID Connect Discovery 1.0 §3).
pub(crate) fn document(shared: &Shared) -> Value {
    let mut claims: Vec<String> = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash", "c_hash"]
        .iter()
        .chain(PROFILE_CLAIMS)
        .chain(EMAIL_CLAIMS)
        .chain(ADDRESS_CLAIMS)
        .chain(PHONE_CLAIMS)
        .map(|s| (*s).to_owned())
        .collect();
    claims.extend(shared.roles_claim_names());
    let mut doc = json!({
        "issuer": shared.issuer,
        "authorization_endpoint": shared.url("/authorize"),
        "token_endpoint": shared.url("/oauth/token"),
        "userinfo_endpoint": shared.userinfo_url(),
        "jwks_uri": shared.url("/.well-known/jwks.json"),
        "registration_endpoint": shared.url("/register"),
        "revocation_endpoint": shared.url("/revoke"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint": shared.url("/introspect"),
        "pushed_authorization_request_endpoint": shared.url("/par"),
        "end_session_endpoint": shared.url("/logout"),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": true,
        "frontchannel_logout_session_supported": true,
        "check_session_iframe": shared.url("/check_session"),
        "dpop_signing_alg_values_supported": super::dpop::advertised(shared),
        "device_authorization_endpoint": shared.url("/device_authorization"),
        "require_pushed_authorization_requests": shared.config.require_par || shared.quirk(Quirk::ParRequiredUnenforced),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": RESPONSE_TYPES,
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": [
            "authorization_code",
            "implicit",
            "refresh_token",
            "client_credentials",
            "password",
            crate::flow::device::GRANT_TYPE
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "none"],
        "userinfo_signing_alg_values_supported": ["RS256"],
        "request_object_signing_alg_values_supported": ["none", "RS256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
            "client_secret_jwt",
            "private_key_jwt"
        ],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "HS256"],
        "scopes_supported": OIDC_SCOPES,
        "claims_supported": claims,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": true,
        "request_uri_parameter_supported": true,
        "claims_parameter_supported": true,
    });
    if shared.quirk(Quirk::DiscoveryNoSubjectTypes)
        && let Some(o) = doc.as_object_mut()
    {
        o.remove("subject_types_supported");
    }
    if shared.quirk(Quirk::DiscoveryNoRs256) {
        doc["id_token_signing_alg_values_supported"] = json!(["ES256"]);
    }
    if shared.quirk(Quirk::DiscoveryHttpEndpoint) {
        doc["backchannel_authentication_endpoint"] = json!("http://op.example.test/bc-authorize");
    }
    if shared.quirk(Quirk::DiscoveryResponseTypesAsGrantTypes)
        && let Some(grants) = doc["grant_types_supported"].as_array_mut()
    {
        grants.extend([json!("code"), json!("id_token")]);
    }
    if shared.quirk(Quirk::DiscoveryAuthSigningAlgNone) {
        doc["token_endpoint_auth_signing_alg_values_supported"] = json!(["RS256", "HS256", "none"]);
    }
    if shared.quirk(Quirk::DeviceGrantUnadvertised)
        && let Some(grants) = doc["grant_types_supported"].as_array_mut()
    {
        grants.retain(|g| g != crate::flow::device::GRANT_TYPE);
    }
    if shared.quirk(Quirk::DiscoveryMinimal) {
        doc["response_types_supported"] = json!(["code", "id_token", "id_token token"]);
        doc["response_modes_supported"] = json!(["query", "fragment"]);
        doc["grant_types_supported"] = json!(["authorization_code", "implicit", "refresh_token"]);
        doc["scopes_supported"] = json!(["openid", "profile", "email", "offline_access"]);
        doc["token_endpoint_auth_methods_supported"] = json!(["client_secret_basic", "client_secret_post", "none"]);
        if let Some(o) = doc.as_object_mut() {
            o.remove("token_endpoint_auth_signing_alg_values_supported");
            o.remove("device_authorization_endpoint");
        }
    }
    doc
}

/// The JWK Set served at `jwks_uri`, with the key faults of the quirks.
pub(crate) fn jwks_document(shared: &Shared) -> Value {
    let mut set = shared.keys.jwks();
    let Some(keys) = set["keys"].as_array_mut() else { return set };
    let signing = keys[0].clone();
    // A modulus of the given bytes (top bit set): a public key nobody signs with.
    let modulus = |bytes: usize| URL_SAFE_NO_PAD.encode(vec![0xC3u8; bytes]);
    if shared.quirk(Quirk::JwksPrivateMember) {
        keys[0]["d"] = json!(URL_SAFE_NO_PAD.encode([0x5Au8; 256]));
    }
    if shared.quirk(Quirk::JwksDuplicateKid) {
        let mut twin = signing.clone();
        twin["n"] = json!(modulus(256));
        keys.push(twin);
    }
    if shared.quirk(Quirk::JwksShortRsaKey) {
        let mut short = signing;
        short["n"] = json!(modulus(128));
        short["kid"] = json!("legacy-1024");
        keys.push(short);
    }
    set
}

fn json_response(body: &str) -> Response {
    let mut response = body.to_owned().into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    response
}

pub(crate) async fn openid_configuration(State(shared): State<Arc<Shared>>) -> Response {
    json_response(&shared.discovery_json)
}

pub(crate) async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    json_response(&shared.jwks_json)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{http, start};
    use super::*;
    use crate::reference::{Config, Quirk};
    use jsonwebtoken::jwk::JwkSet;

    #[tokio::test]
    async fn discovery_document_shape() {
        let provider = start(Config::default()).await;
        let issuer = provider.issuer().to_owned();
        assert!(issuer.starts_with("http://127.0.0.1:"));
        assert!(!issuer.ends_with('/'));
        let response = http()
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
        let doc: Value = response.json().await.unwrap();
        assert_eq!(doc["issuer"], issuer);
        assert_eq!(doc["authorization_endpoint"], format!("{issuer}/authorize"));
        assert_eq!(doc["token_endpoint"], format!("{issuer}/oauth/token"));
        assert_eq!(doc["userinfo_endpoint"], format!("{issuer}/userinfo"));
        assert_eq!(doc["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
        assert_eq!(doc["response_types_supported"], json!(RESPONSE_TYPES));
        assert_eq!(doc["response_modes_supported"], json!(["query", "fragment", "form_post"]));
        assert_eq!(doc["subject_types_supported"], json!(["public"]));
        assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["RS256", "none"]));
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(doc["scopes_supported"], json!(OIDC_SCOPES));
        let claims = doc["claims_supported"].as_array().unwrap();
        for c in ["sub", "email", "phone_number_verified", "https://example.test/roles"] {
            assert!(claims.contains(&json!(c)), "{c}");
        }
        provider.shutdown().await;
    }

    #[tokio::test]
    async fn jwks_shape() {
        let provider = start(Config::default()).await;
        let response = http()
            .get(format!("{}/.well-known/jwks.json", provider.issuer()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let raw: Value = response.json().await.unwrap();
        let keys = raw["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1);
        let key = &keys[0];
        for member in ["kty", "use", "alg", "kid", "n", "e"] {
            assert!(key[member].is_string(), "{member}");
        }
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["alg"], "RS256");
        assert!(key.get("d").is_none(), "private member published");
        let kid = key["kid"].as_str().unwrap().to_owned();
        let set: JwkSet = serde_json::from_value(raw).unwrap();
        assert!(set.find(&kid).is_some());
    }

    #[tokio::test]
    async fn claims_supported_follows_namespace_quirks() {
        let mut config = Config::default();
        config.quirks.insert(Quirk::ProviderDomainNamespace);
        let provider = start(config).await;
        let doc: Value = http()
            .get(format!("{}/.well-known/openid-configuration", provider.issuer()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let claims = doc["claims_supported"].as_array().unwrap();
        assert!(claims.contains(&json!(format!("{}/roles", provider.issuer()))));
        assert!(!claims.contains(&json!("https://example.test/roles")));
    }
}
