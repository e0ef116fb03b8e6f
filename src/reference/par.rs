//! Pushed authorization requests (RFC 9126): `POST /par` takes an
//! authorization request from an authenticated client (§2.1), checks what it
//! can before the user arrives (the redirect URI, no `request_uri`), and
//! answers 201 with a one-time `request_uri` (§2.2) that the authorization
//! endpoint resolves for the same client only (§4).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::params::Params;
use super::store::Expires;
use super::token::{TokenError, authenticate, no_store_json};
use super::{Quirk, Shared, random_token};

/// The prefix of the `request_uri` values handed out (RFC 9126 §2.2's example).
pub(crate) const URN: &str = "urn:ietf:params:oauth:request_uri:";

/// A pushed authorization request.
#[derive(Clone, Debug)]
pub(crate) struct Pushed {
    pub(crate) client_id: String,
    pub(crate) params: Params,
    pub(crate) expires: Instant,
}

impl Expires for Pushed {
    fn expires(&self) -> Instant {
        self.expires
    }
}

/// GET /par: the endpoint takes POST only (RFC 9126 §2.3: 405).
pub(crate) async fn get(State(shared): State<Arc<Shared>>) -> Response {
    if shared.quirk(Quirk::ParGet400) {
        return TokenError::request("invalid_request", "use POST").into_response();
    }
    (StatusCode::METHOD_NOT_ALLOWED, [("allow", "POST")]).into_response()
}

/// POST /par (RFC 9126 §2.1, §2.2).
pub(crate) async fn push(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut params = Params::parse(&body);
    if params.repeated().is_some() {
        return TokenError::request("invalid_request", "a parameter is repeated").into_response();
    }
    let client = if shared.quirk(Quirk::ParSecretUnchecked) {
        // Quirk: whoever names a client is taken for it.
        let named = params.get("client_id").map(str::to_owned).or_else(|| basic_id(&headers));
        match named.as_deref().and_then(|id| shared.client(id)) {
            Some(c) => c,
            None => return TokenError::unauthenticated("unknown client").into_response(),
        }
    } else if shared.quirk(Quirk::ParClientIdUnchecked) {
        // Quirk: the credentials are checked, the request's client_id is not.
        let mut credentials = params.clone();
        if basic_id(&headers).is_some() || super::client_auth::present(&params) {
            credentials.remove("client_id");
        }
        match authenticate(&shared, &headers, &credentials) {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        }
    } else {
        match authenticate(&shared, &headers, &params) {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        }
    };
    // §2.1: the authenticated client is the request's client.
    let client = match params.get("client_id").filter(|id| *id != client.id) {
        // Quirk: the client the request names is taken as its client.
        Some(named) if shared.quirk(Quirk::ParClientIdUnchecked) => match shared.client(named) {
            Some(c) => c,
            None => return TokenError::unauthenticated("unknown client").into_response(),
        },
        Some(_) => {
            return TokenError::request("invalid_request", "client_id differs from the authenticated client").into_response();
        }
        None => client,
    };
    // §2.1: `request_uri` MUST NOT be provided.
    if params.get("request_uri").is_some() && !shared.quirk(Quirk::ParRequestUriInBodyAccepted) {
        return TokenError::request("invalid_request", "request_uri must not be pushed").into_response();
    }
    params.remove("request_uri");
    params.remove("client_secret");
    // §3: a request object is verified here, and names no other client.
    if let Some(object) = params.get("request")
        && let Err(why) = super::request_object::check_pushed(&shared, &client.id, object)
    {
        return TokenError::request("invalid_request_object", why).into_response();
    }
    // RFC 9449 §10.1: a DPoP proof here binds the code as `dpop_jkt` would;
    // with both, they MUST name the same key.
    match super::dpop::check(&shared, &headers, "POST", "/par", None) {
        Err(why) => return TokenError::request("invalid_dpop_proof", why).into_response(),
        Ok(Some(jkt)) if !shared.quirk(Quirk::ParDpopIgnored) => {
            if params.get("dpop_jkt").is_some_and(|j| j != jkt) && !shared.quirk(Quirk::ParDpopJktMismatchAccepted) {
                return TokenError::request("invalid_request", "dpop_jkt is not the thumbprint of the DPoP proof's key").into_response();
            }
            params.set("dpop_jkt", jkt);
        }
        _ => {}
    }
    // §2.1: validated as an authorization request would be, as far as it can
    // be without the user: the redirect URI first.
    if !shared.quirk(Quirk::ParUnvalidated) {
        let registered = match params.get("redirect_uri") {
            Some(uri) => client.redirect_uris.iter().any(|r| r == uri),
            None => client.redirect_uris.len() == 1,
        };
        if !registered {
            return TokenError::request(
                "invalid_request",
                "redirect_uri does not exactly match a redirect URI registered for the client",
            )
            .into_response();
        }
    }
    if params.get("response_type").is_none() {
        return TokenError::request("invalid_request", "response_type is missing").into_response();
    }
    params.set("client_id", client.id.clone());
    let Ok(handle) = random_token() else {
        return TokenError::request("temporarily_unavailable", "no randomness").into_response();
    };
    let uri = format!("{URN}{handle}");
    let now = Instant::now();
    let ttl = Duration::from_secs(shared.config.par_ttl_secs);
    // Quirk: the request_uri outlives the `expires_in` it is given.
    let kept = if shared.quirk(Quirk::ParRequestUriUnbounded) {
        ttl * 10 + Duration::from_secs(600)
    } else {
        ttl
    };
    let inserted = shared.store().pushed.insert(
        uri.clone(),
        Pushed {
            client_id: client.id.clone(),
            params,
            expires: now + kept,
        },
        now,
    );
    if inserted.is_err() {
        return TokenError::request("temporarily_unavailable", "too many pushed requests").into_response();
    }
    let status = if shared.quirk(Quirk::ParStatus200) {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    no_store_json(status, &json!({"request_uri": uri, "expires_in": ttl.as_secs()}))
}

/// The client id of HTTP Basic credentials, for the quirk that takes it on trust.
fn basic_id(headers: &HeaderMap) -> Option<String> {
    use base64::Engine as _;
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let id = text.split(':').next()?;
    url::form_urlencoded::parse(format!("i={id}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

/// At the authorization endpoint: a pushed `request_uri` is replaced by the
/// pushed request (RFC 9126 §4), for its own client only, once (§4: one-time
/// use). An unknown, expired, used or another client's `request_uri` is an
/// `invalid_request_uri` error, answered once the client is known.
pub(crate) fn resolve(shared: &Shared, mut params: Params) -> Params {
    let Some(uri) = params.get("request_uri").filter(|u| u.starts_with(URN)).map(str::to_owned) else {
        return params;
    };
    if shared.quirk(Quirk::ParRequestUriIgnored) {
        params.remove("request_uri");
        return params;
    }
    let now = Instant::now();
    let mut store = shared.store();
    let found = store.pushed.get_mut(uri.as_str(), now).map(|p| p.client_id.clone());
    let unbound = shared.quirk(Quirk::ParRequestUriUnbound);
    match found {
        Some(owner) if params.get("client_id") == Some(owner.as_str()) || unbound => {
            // The quirk takes another client's request_uri without using it up.
            let other = params.get("client_id") != Some(owner.as_str());
            let pushed = if shared.quirk(Quirk::ParReusable) || other {
                store.pushed.get_mut(uri.as_str(), now).map(|p| p.clone())
            } else {
                store.pushed.take(uri.as_str(), now)
            };
            match pushed {
                Some(p) => {
                    let mut resolved = p.params;
                    resolved.pushed = true;
                    resolved
                }
                None => unusable(params),
            }
        }
        _ => unusable(params),
    }
}

fn unusable(mut params: Params) -> Params {
    params.remove("request_uri");
    params.request_object_error = Some((
        "invalid_request_uri",
        "the request_uri is unknown, expired, already used or another client's".into(),
    ));
    params
}
