//! JWT client authentication (OIDC Core §9; RFC 7523 §3): `client_secret_jwt`
//! (HS256 with the client's secret) from every client with a secret, and
//! `private_key_jwt` (RS256 with a key of the client's registered `jwks`).
//! `iss` and `sub` are the client id, `aud` the issuer or one of this
//! provider's endpoint URLs, `exp` not passed, and each `jti` is taken once.

use std::collections::HashMap;

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::params::Params;
use super::token::TokenError;
use super::{ClientReg, Quirk, Shared, unix_now};

/// `client_assertion_type` of a JWT assertion (RFC 7523 §2.2).
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The `jti`s taken, by client, with the `exp` of their assertion.
#[derive(Default)]
pub(crate) struct SeenJtis(HashMap<(String, String), u64>);

impl SeenJtis {
    /// Records `jti`; false when it was taken already (and is not yet expired).
    fn first_use(&mut self, client: &str, jti: &str, exp: u64, now: u64) -> bool {
        self.0.retain(|_, e| *e + 60 >= now);
        self.0.insert((client.to_owned(), jti.to_owned()), exp).is_none()
    }
}

/// Whether the request carries a client assertion.
pub(crate) fn present(params: &Params) -> bool {
    params.get("client_assertion").is_some() || params.get("client_assertion_type").is_some()
}

/// Authenticates the client by its assertion (RFC 7523 §3; §3.2: any failure
/// is `invalid_client`).
pub(crate) fn authenticate<'a>(shared: &'a Shared, headers: &HeaderMap, params: &Params) -> Result<&'a ClientReg, TokenError> {
    let failed = |why: &str| TokenError::unauthenticated(format!("client assertion: {why}"));
    if headers.contains_key(axum::http::header::AUTHORIZATION) || params.get("client_secret").is_some() {
        return Err(TokenError::request("invalid_request", "use only one client authentication method"));
    }
    if shared.quirk(Quirk::ClientAssertionRefused) {
        return Err(failed("not taken"));
    }
    if params.get("client_assertion_type") != Some(ASSERTION_TYPE) {
        return Err(failed("client_assertion_type is not the JWT bearer type"));
    }
    let jwt = params
        .get("client_assertion")
        .ok_or_else(|| failed("client_assertion is missing"))?;
    let header = jsonwebtoken::decode_header(jwt).map_err(|_| failed("not a JWT"))?;
    let claims = unverified_claims(jwt).ok_or_else(|| failed("not a JWT"))?;
    let text = |k: &str| claims.get(k).and_then(Value::as_str);
    // RFC 7521 §4.2: a client_id sent names the same client as the assertion.
    // Without one, the subject names the client (its issuer, for a provider that ignores the subject).
    let named = if shared.quirk(Quirk::ClientAssertionSubjectUnchecked) {
        text("iss")
    } else {
        text("sub")
    };
    let client_id = params.get("client_id").or(named).ok_or_else(|| failed("no subject"))?;
    let client = shared.client(client_id).ok_or_else(|| failed("unknown client"))?;
    if text("sub") != Some(client.id.as_str()) && !shared.quirk(Quirk::ClientAssertionSubjectUnchecked) {
        return Err(failed("sub is not the client_id"));
    }
    if text("iss") != Some(client.id.as_str()) && !shared.quirk(Quirk::ClientAssertionIssuerUnchecked) {
        return Err(failed("iss is not the client_id"));
    }
    // RFC 7523 §3 item 9: the signature or MAC verifies.
    let key = match header.alg {
        Algorithm::HS256 => match &client.secret {
            Some(secret) => DecodingKey::from_secret(secret.expose().as_bytes()),
            None => return Err(failed("the client has no secret for client_secret_jwt")),
        },
        Algorithm::RS256 => registered_key(client, header.kid.as_deref()).ok_or_else(|| failed("no registered key verifies it"))?,
        _ => return Err(failed("unsupported alg")),
    };
    if !shared.quirk(Quirk::ClientAssertionSignatureUnchecked) {
        let mut v = Validation::new(header.alg);
        v.validate_exp = false;
        v.validate_aud = false;
        v.required_spec_claims.clear();
        jsonwebtoken::decode::<Value>(jwt, &key, &v).map_err(|_| failed("the signature does not verify"))?;
    }
    // RFC 7523 §3 item 3: its own identity among the audiences.
    let auds: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !shared.quirk(Quirk::ClientAssertionAudienceUnchecked) && !auds.iter().any(|a| own_audience(shared, a)) {
        return Err(failed("the audience is not this server"));
    }
    // RFC 7523 §3 item 4: exp present and not passed (no skew: the harness's own clock).
    let now = unix_now();
    let exp = claims.get("exp").and_then(Value::as_u64).ok_or_else(|| failed("exp is missing"))?;
    if exp <= now && !shared.quirk(Quirk::ClientAssertionExpiryUnchecked) {
        return Err(failed("expired"));
    }
    // RFC 7523 §3 item 5: not before nbf.
    if claims.get("nbf").and_then(Value::as_u64).is_some_and(|nbf| nbf > now) {
        return Err(failed("not yet valid (nbf)"));
    }
    // RFC 7523 §3 item 7 (MAY): each jti once.
    if let Some(jti) = text("jti")
        && !shared.quirk(Quirk::ClientAssertionReplayAccepted)
        && !shared.seen_jtis().first_use(&client.id, jti, exp, now)
    {
        return Err(failed("the jti was used before"));
    }
    Ok(client)
}

/// Whether `aud` names this server: its issuer or the URL of one of its endpoints.
fn own_audience(shared: &Shared, aud: &str) -> bool {
    let issuer = aud == shared.issuer;
    if issuer {
        return !shared.quirk(Quirk::ClientAssertionIssuerAudienceRefused);
    }
    if shared.quirk(Quirk::ClientAssertionTokenEndpointAudienceRefused) {
        return false;
    }
    // RFC 9126 §2: at the pushed request endpoint, its URL too.
    if shared.url("/par") == aud {
        return !shared.quirk(Quirk::ParAssertionAudienceRefused);
    }
    ["/oauth/token", "/revoke", "/introspect"].iter().any(|p| shared.url(p) == aud)
}

/// The claims of a compact JWS, unverified.
fn unverified_claims(jwt: &str) -> Option<serde_json::Map<String, Value>> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(o) => Some(o),
        _ => None,
    }
}

/// The client's registered RSA key named by `kid` (or its only key).
fn registered_key(client: &ClientReg, kid: Option<&str>) -> Option<DecodingKey> {
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(client.meta.jwks.clone()?).ok()?;
    let jwk = match kid {
        Some(kid) => set.find(kid)?,
        None if set.keys.len() == 1 => &set.keys[0],
        None => return None,
    };
    DecodingKey::from_jwk(jwk).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_is_taken_once_until_its_assertion_expires() {
        let mut seen = SeenJtis::default();
        assert!(seen.first_use("c", "j1", 1_060, 1_000));
        assert!(!seen.first_use("c", "j1", 1_060, 1_001));
        // Another client's jti of the same value is its own.
        assert!(seen.first_use("d", "j1", 1_060, 1_001));
        // Long after the assertion expired, the entry is gone.
        assert!(seen.first_use("c", "j1", 2_000, 1_500));
    }

    #[test]
    fn claims_are_read_from_the_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"iss":"c","exp":5}"#);
        let claims = unverified_claims(&format!("e30.{payload}.sig")).unwrap();
        assert_eq!(claims["iss"], "c");
        assert!(unverified_claims("garbage").is_none());
    }
}
