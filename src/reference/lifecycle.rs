//! Token revocation (RFC 7009) and introspection (RFC 7662): the client
//! authenticates as at the token endpoint; revoking a refresh token revokes
//! the access tokens of its grant too; an unknown token is revoked with 200
//! and introspected as `{"active": false}`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::params::Params;
use super::store::token_key;
use super::token::{TokenError, authenticate, no_store_json};
use super::{Quirk, Shared};

/// POST /revoke (RFC 7009 §2.1).
pub(crate) async fn revoke(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let params = Params::parse(&body);
    let client = if shared.quirk(Quirk::RevocationWithoutClientAuth) {
        None
    } else {
        match authenticate(&shared, &headers, &params) {
            Ok(c) => Some(c.id.clone()),
            Err(e) => return e.into_response(),
        }
    };
    let Some(token) = params.get("token") else {
        return TokenError::request("invalid_request", "token is missing").into_response();
    };
    let hint = params.get("token_type_hint");
    if shared.quirk(Quirk::RevocationUnknownTokenError) && !known(&shared, token) {
        return TokenError::request("invalid_request", "the token is unknown").into_response();
    }
    if shared.quirk(Quirk::RevocationIgnored) {
        return StatusCode::OK.into_response();
    }
    let key = token_key(token);
    let now = Instant::now();
    let mut store = shared.store();
    // RFC 7009 §2.1: the hint is a hint; the search extends to every type
    // (unless the `revocation-hint-strict` quirk).
    let strict = shared.quirk(Quirk::RevocationHintStrict);
    let look_refresh = !strict || hint != Some("access_token");
    let look_access = !strict || hint != Some("refresh_token");
    let owner_ok = |owner: &str| client.as_deref().is_none_or(|c| c == owner);
    if look_refresh
        && let Some(record) = store.refresh.get_mut(&key, now)
        && owner_ok(&record.grant.client_id)
    {
        // §2.1: the access tokens of the same grant go too (SHOULD).
        let family = record.family;
        store.revoke_family(family);
    } else if look_access
        && let Some(record) = store.tokens.get_mut(&key, now)
        && owner_ok(&record.client_id)
    {
        store.tokens.take(&key, now);
    }
    // §2.2: 200 also for a token that is invalid, unknown or another client's.
    StatusCode::OK.into_response()
}

/// POST /introspect (RFC 7662 §2).
pub(crate) async fn introspect(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let params = Params::parse(&body);
    let client = if shared.quirk(Quirk::IntrospectionWithoutAuth) {
        None
    } else {
        match authenticate(&shared, &headers, &params) {
            // RFC 7662 §2.1: the caller must be authorized; a client_id alone is not.
            Ok(c) if c.is_public() => {
                return TokenError::unauthenticated("a public client cannot authenticate to introspect").into_response();
            }
            Ok(c) => Some(c.id.clone()),
            Err(e) => return e.into_response(),
        }
    };
    let Some(token) = params.get("token") else {
        return TokenError::request("invalid_request", "token is missing").into_response();
    };
    let now = Instant::now();
    let record = shared.store().tokens.get_mut(&token_key(token), now).cloned();
    let inactive = || {
        let mut body = json!({"active": false});
        if shared.quirk(Quirk::IntrospectionInactiveDetails) {
            body["error_description"] = json!("the token is unknown, expired or revoked");
            body["iss"] = json!(shared.issuer);
        }
        no_store_json(StatusCode::OK, &body)
    };
    // A client introspects its own tokens only (§2.2: "not allowed to introspect
    // this particular token" is inactive).
    let Some(record) = record.filter(|r| client.as_deref().is_none_or(|c| c == r.client_id)) else {
        if shared.quirk(Quirk::IntrospectionUnknownTokenError) {
            return TokenError::request("invalid_token", "the token is unknown, expired or revoked").into_response();
        }
        return inactive();
    };
    let left = record.expires.saturating_duration_since(now).as_secs();
    let exp = super::unix_now() + left;
    let sub = match record.username.as_deref().and_then(|u| shared.user(u)) {
        Some(user) => shared.subject(user),
        None => record.client_id.clone(),
    };
    let active: Value = if shared.quirk(Quirk::IntrospectionActiveString) {
        json!("true")
    } else {
        json!(true)
    };
    let mut body = json!({
        "active": active,
        "scope": record.scopes.join(" "),
        "client_id": record.client_id,
        "token_type": "Bearer",
        "exp": exp,
        "sub": sub,
        "iss": shared.issuer,
    });
    // RFC 9449 §6.2: a DPoP-bound token's key, and its type.
    if let Some(jkt) = record.jkt.as_ref().filter(|_| !shared.quirk(Quirk::IntrospectionDpopAsBearer)) {
        body["token_type"] = json!("DPoP");
        body["cnf"] = json!({ "jkt": jkt });
    }
    no_store_json(StatusCode::OK, &body)
}

/// Whether `token` is a live access or refresh token of this provider.
fn known(shared: &Shared, token: &str) -> bool {
    let key = token_key(token);
    let now = Instant::now();
    let mut store = shared.store();
    store.tokens.get_mut(&key, now).is_some() || store.refresh.get_mut(&key, now).is_some()
}
