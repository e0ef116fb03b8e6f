//! Request objects (OIDC Core §6): `request` (by value) and `request_uri` (by
//! reference, fetched only from this machine's loopback addresses), unsigned
//! or RS256-signed with a key the client registered (`jwks`). The object's
//! members override the query's (§6.3.3).

use jsonwebtoken::jwk::JwkSet;
use serde_json::Value;

use super::params::Params;
use super::{Quirk, Shared};
use crate::check::jwt;

/// The largest request object fetched by reference.
const MAX_OBJECT_BYTES: usize = 64 * 1024;

/// The parameters of an authorization request with its request object
/// resolved. A request object that cannot be used leaves the query's
/// parameters (plus the object's `redirect_uri`, `state` and `response_mode`,
/// unverified, so the error can go back to a registered redirect URI) and
/// records the error for [`super::authorize`] to answer.
pub(crate) async fn resolve(shared: &Shared, mut params: Params) -> Params {
    let by_value = params.get("request").map(str::to_owned);
    let by_reference = params.get("request_uri").map(str::to_owned);
    if by_value.is_none() && by_reference.is_none() {
        return params;
    }
    params.remove("request");
    params.remove("request_uri");
    let jwt = match (by_value, by_reference) {
        (Some(_), Some(_)) => {
            params.request_object_error = Some(("invalid_request", "request and request_uri must not both be sent".into()));
            return params;
        }
        (Some(jwt), None) => jwt,
        (None, Some(uri)) => match fetch(shared, &params, &uri).await {
            Ok(jwt) => jwt,
            Err((code, why)) => {
                params.request_object_error = Some((code, why));
                return params;
            }
        },
        (None, None) => return params,
    };
    let mut decoded = match jwt::decode(&jwt) {
        Ok(d) => d,
        Err(e) => {
            params.request_object_error = Some(("invalid_request_object", format!("the request object is not a JWT: {e}")));
            return params;
        }
    };
    if let Err(why) = verify(shared, params.get("client_id"), &jwt, &decoded) {
        for member in ["redirect_uri", "state", "response_mode"] {
            if let Some(v) = decoded.claims.get(member).and_then(Value::as_str) {
                params.set(member, v.to_owned());
            }
        }
        params.request_object_error = Some(("invalid_request_object", why));
        return params;
    }
    // Quirk: a pushed object's client_id is neither compared nor used.
    let client_id_ignored = params.pushed && shared.quirk(Quirk::ParRequestObjectClientUnchecked);
    if client_id_ignored {
        decoded.claims.remove("client_id");
    }
    // OIDC Core §6.1: client_id and response_type, when in the object, match the query's.
    for member in ["client_id", "response_type"] {
        if let (Some(inner), Some(outer)) = (decoded.claims.get(member).and_then(Value::as_str), params.get(member))
            && inner != outer
        {
            params.request_object_error = Some((
                "invalid_request_object",
                format!("{member} in the request object differs from the request's"),
            ));
            return params;
        }
    }
    if shared.quirk(Quirk::RequestObjectIgnored) {
        return params;
    }
    // Quirk `request-object-query-wins`: a member the query also has keeps the query's value.
    let query_wins = shared.quirk(Quirk::RequestObjectQueryWins);
    for (k, v) in &decoded.claims {
        if query_wins && params.get(k).is_some() {
            continue;
        }
        if matches!(
            k.as_str(),
            "iss" | "aud" | "iat" | "exp" | "nbf" | "jti" | "request" | "request_uri"
        ) {
            continue;
        }
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            other => other.to_string(),
        };
        params.set(k, text);
    }
    params
}

/// At the pushed authorization request endpoint (RFC 9126 §3): the object of
/// a push by `client_id` verifies as at the authorization endpoint, and its
/// `client_id` claim, if any, is the authenticated client's.
pub(crate) fn check_pushed(shared: &Shared, client_id: &str, token: &str) -> Result<(), String> {
    let decoded = jwt::decode(token).map_err(|e| format!("the request object is not a JWT: {e}"))?;
    verify(shared, Some(client_id), token, &decoded)?;
    match decoded.claims.get("client_id") {
        Some(inner) if inner.as_str() != Some(client_id) && !shared.quirk(Quirk::ParRequestObjectClientUnchecked) => {
            Err("the request object's client_id is not the authenticated client's".into())
        }
        _ => Ok(()),
    }
}

/// The signature rules (OIDC Core §6.3.2): unsigned objects unless the
/// client registered an algorithm, RS256 ones verifying with the client's
/// registered keys.
fn verify(shared: &Shared, client_id: Option<&str>, token: &str, decoded: &jwt::Decoded) -> Result<(), String> {
    let client = client_id.and_then(|id| shared.client(id));
    let registered = client.and_then(|c| c.meta.request_object_alg.as_deref());
    match decoded.alg() {
        Some("none") => {
            if registered.is_some_and(|a| a != "none") {
                return Err("the client is registered for signed request objects".into());
            }
            if !token.ends_with('.') {
                return Err("an unsigned request object must have an empty signature".into());
            }
            Ok(())
        }
        Some("RS256") => {
            if registered.is_some_and(|a| a != "RS256") {
                return Err("the client is registered for another request object algorithm".into());
            }
            let Some(keys) = client.and_then(|c| c.meta.jwks.clone()) else {
                return Err("the client registered no keys to verify a signed request object".into());
            };
            let set: JwkSet = serde_json::from_value(keys).map_err(|e| format!("the client's registered keys are unusable: {e}"))?;
            if shared.quirk(Quirk::RequestObjectSignatureUnchecked) {
                return Ok(());
            }
            match jwt::verify(token, decoded, &set, None) {
                jwt::Verified::Ok => Ok(()),
                jwt::Verified::Bad(why) => Err(format!("the request object's signature is not valid: {why}")),
            }
        }
        Some(other) => Err(format!("request objects signed with {other} are not supported")),
        None => Err("the request object has no alg".into()),
    }
}

/// Fetches a request object by reference: only from loopback addresses (this
/// provider serves tests), only a URI the client registered when it
/// registered any, within 5 s and 64 KiB.
async fn fetch(shared: &Shared, params: &Params, uri: &str) -> Result<String, (&'static str, String)> {
    let bad = |why: String| ("invalid_request_uri", why);
    let url = url::Url::parse(uri).map_err(|e| bad(format!("request_uri is not a URL: {e}")))?;
    if url.scheme() != "http" && url.scheme() != "https" || !crate::flow::request_object::reachable_from(uri) {
        return Err(bad("this provider fetches request objects from loopback http(s) URLs only".into()));
    }
    if let Some(client) = params.get("client_id").and_then(|id| shared.client(id))
        && !client.meta.request_uris.is_empty()
    {
        let without_fragment = uri.split('#').next().unwrap_or(uri);
        if !client
            .meta
            .request_uris
            .iter()
            .any(|r| r.split('#').next() == Some(without_fragment))
        {
            return Err(bad("request_uri is not one the client registered".into()));
        }
    }
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let mut response = http
        .get(url)
        .send()
        .await
        .map_err(|e| bad(format!("request_uri could not be fetched: {e}")))?;
    if !response.status().is_success() {
        return Err(bad(format!("request_uri answered HTTP {}", response.status().as_u16())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| bad(e.to_string()))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_OBJECT_BYTES {
            return Err(bad("the request object is over 64 KiB".into()));
        }
    }
    String::from_utf8(body)
        .map(|s| s.trim().to_owned())
        .map_err(|_| ("invalid_request_object", "the request object is not UTF-8 text".into()))
}
