//! DPoP (RFC 9449) at the reference provider: the proof of a `DPoP` header
//! checked as §4.3 lists (one header, a JWT of `typ` `dpop+jwt` signed with
//! an asymmetric algorithm by the public key in its `jwk`, `jti`, `htm` and
//! `htu` of this request, a recent `iat`, `ath` where an access token goes
//! with it, a `jti` not seen before), and the key's RFC 7638 thumbprint as
//! the binding of the tokens issued (§5, §6).

use std::time::{Duration, Instant};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey};
use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value;

use super::store::SeenJti;
use super::{Quirk, Shared, unix_now};

/// The proof algorithms the provider takes (and advertises).
pub(crate) const ALGS: &[&str] = &["ES256", "RS256"];

/// How far `iat` may be from now (RFC 9449 §4.3: a limited time window).
const WINDOW: u64 = 300;

/// The algorithms discovery lists: HS256 too under the quirk.
pub(crate) fn advertised(shared: &Shared) -> Vec<&'static str> {
    let mut algs = ALGS.to_vec();
    if shared.quirk(Quirk::DpopAlgHs256) {
        algs.push("HS256");
    }
    algs
}

/// The `DPoP` header of a `method` request to `path`: `Ok(None)` without one,
/// the thumbprint of the proof's key when it is valid, why not otherwise.
pub(crate) fn check(
    shared: &Shared,
    headers: &HeaderMap,
    method: &str,
    path: &str,
    access_token: Option<&str>,
) -> Result<Option<String>, String> {
    let mut all = headers.get_all("dpop").iter();
    let Some(value) = all.next() else { return Ok(None) };
    if all.next().is_some() && !shared.quirk(Quirk::DpopTwoProofsAccepted) {
        return Err("more than one DPoP header".into());
    }
    let jws = value.to_str().map_err(|_| "the DPoP header is not ASCII".to_owned())?;
    let parts: Vec<&str> = jws.split('.').collect();
    if parts.len() != 3 {
        if shared.quirk(Quirk::DpopMalformedIgnored) {
            return Ok(None);
        }
        return Err("the DPoP proof is not a JWS".into());
    }
    let json = |part: &str| -> Result<Value, String> {
        let bytes = B64.decode(part).map_err(|_| "the DPoP proof is not base64url".to_owned())?;
        serde_json::from_slice(&bytes).map_err(|_| "the DPoP proof is not JSON".to_owned())
    };
    let header = json(parts[0])?;
    let claims = json(parts[1])?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") && !shared.quirk(Quirk::DpopTypUnchecked) {
        return Err("the DPoP proof's typ is not dpop+jwt".into());
    }
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or_default();
    let alg_unchecked = !ALGS.contains(&alg) && shared.quirk(Quirk::DpopAlgUnchecked);
    if !ALGS.contains(&alg) && !alg_unchecked {
        return Err(format!("the DPoP proof's alg {alg:?} is not one the provider takes"));
    }
    let jwk = header.get("jwk").ok_or("the DPoP proof has no jwk")?;
    if jwk.get("d").is_some() && !shared.quirk(Quirk::DpopPrivateJwkAccepted) {
        return Err("the DPoP proof's jwk holds a private key".into());
    }
    let thumbprint = crate::flow::dpop::thumbprint(jwk).ok_or("the DPoP proof's jwk is not a usable public key")?;
    let input = format!("{}.{}", parts[0], parts[1]);
    let signature = B64
        .decode(parts[2])
        .map_err(|_| "the DPoP proof's signature is not base64url".to_owned())?;
    if !shared.quirk(Quirk::DpopSignatureUnchecked) && !alg_unchecked && !verifies(alg, jwk, input.as_bytes(), &signature) {
        return Err("the DPoP proof's signature does not verify with its jwk".into());
    }
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let jti = match text("jti").filter(|j| !j.is_empty()) {
        Some(j) => Some(j),
        None if shared.quirk(Quirk::DpopJtiOptional) => None,
        None => return Err("the DPoP proof has no jti".into()),
    };
    // §4.3 item 3: `htm`, `htu` and `iat` are required (`jti` above).
    let claims_optional = shared.quirk(Quirk::DpopClaimsOptional);
    for name in ["htm", "htu", "iat"] {
        if claims.get(name).is_none() && !claims_optional {
            return Err(format!("the DPoP proof has no {name}"));
        }
    }
    if claims.get("htm").is_some() && text("htm") != Some(method) && !shared.quirk(Quirk::DpopHtmUnchecked) {
        return Err(format!("the DPoP proof's htm is not {method}"));
    }
    let expected = shared.url(path);
    let htu = text("htu").unwrap_or_default();
    if htu.contains(['?', '#']) && shared.quirk(Quirk::DpopHtuQueryRefused) {
        return Err("the DPoP proof's htu carries a query or a fragment".into());
    }
    // §4.3 item 9: query and fragment ignored; RFC 3986 normalization (the
    // url crate's parse) before comparing, unless the quirk compares as written.
    let htu_ok = if shared.quirk(Quirk::DpopHtuExact) {
        htu.split(['?', '#']).next() == Some(expected.as_str())
    } else {
        url::Url::parse(htu).is_ok_and(|mut h| {
            h.set_query(None);
            h.set_fragment(None);
            url::Url::parse(&expected).is_ok_and(|e| e == h)
        })
    };
    if !htu_ok && claims.get("htu").is_some() && !shared.quirk(Quirk::DpopHtuUnchecked) {
        return Err(format!("the DPoP proof's htu is not {expected}"));
    }
    let now = unix_now();
    match claims.get("iat") {
        // (Absent: refused above unless the quirk takes it.)
        None => {}
        Some(iat) => {
            let iat = iat.as_u64().ok_or("the DPoP proof's iat is not a number")?;
            if iat.abs_diff(now) > WINDOW && !shared.quirk(Quirk::DpopIatUnchecked) {
                return Err("the DPoP proof's iat is too far from now".into());
            }
        }
    }
    if let Some(token) = access_token.filter(|_| !shared.quirk(Quirk::DpopAthUnchecked)) {
        let ath = B64.encode(super::keys::sha256(token.as_bytes()));
        if text("ath") != Some(ath.as_str()) {
            return Err("the DPoP proof's ath is not the hash of the access token".into());
        }
    }
    if let Some(jti) = jti.filter(|_| !shared.quirk(Quirk::DpopReplayAccepted)) {
        let key = format!("{expected} {jti}");
        let at = Instant::now();
        let mut store = shared.store();
        store.maybe_sweep(at);
        if store.dpop_jtis.get_mut(&key, at).is_some() {
            return Err("the DPoP proof was used before (its jti)".into());
        }
        let seen = SeenJti {
            expires: at + Duration::from_secs(2 * WINDOW),
        };
        store.dpop_jtis.insert(key, seen, at).map_err(|e| e.to_string())?;
    }
    Ok(Some(thumbprint))
}

/// How long a DPoP nonce the provider gave is taken.
const NONCE_TTL: Duration = Duration::from_secs(300);

/// RFC 9449 §8, where the provider uses nonces: the proof of key `jkt` (one
/// [`check`] took) carries a nonce the provider gave, or the answer is
/// `use_dpop_nonce` with the new nonce this returns as its error.
pub(crate) fn nonce(shared: &Shared, headers: &HeaderMap, jkt: &str) -> Result<(), String> {
    if !shared.config.dpop_nonce {
        return Ok(());
    }
    let given = headers
        .get("dpop")
        .and_then(|v| v.to_str().ok())
        .and_then(|jws| jws.split('.').nth(1))
        .and_then(|part| B64.decode(part).ok())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|claims| claims.get("nonce").and_then(Value::as_str).map(str::to_owned));
    let now = Instant::now();
    let mut store = shared.store();
    store.maybe_sweep(now);
    let known = given.as_deref().is_some_and(|n| store.dpop_nonces.get_mut(n, now).is_some());
    let asked_before = store.dpop_nonce_keys.get_mut(jkt, now).is_some();
    let taken = known
        // Quirk: any nonce will do.
        || (given.is_some() && shared.quirk(Quirk::DpopNonceUnchecked))
        // Quirk: a key is asked for a nonce once, and may leave it out afterwards.
        || (given.is_none() && asked_before && shared.quirk(Quirk::DpopNonceDowngrade));
    if taken {
        return Ok(());
    }
    let fresh = super::random_token().map_err(|e| e.0)?;
    let expires = SeenJti { expires: now + NONCE_TTL };
    store
        .dpop_nonces
        .insert(fresh.clone(), expires.clone(), now)
        .map_err(|e| e.to_string())?;
    store
        .dpop_nonce_keys
        .insert(jkt.to_owned(), expires, now)
        .map_err(|e| e.to_string())?;
    Err(fresh)
}

/// Whether `signature` over `input` verifies with the public `jwk` under `alg`.
fn verifies(alg: &str, jwk: &Value, input: &[u8], signature: &[u8]) -> bool {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str).and_then(|v| B64.decode(v).ok());
    match (alg, jwk.get("kty").and_then(Value::as_str)) {
        ("ES256", Some("EC")) => {
            if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
                return false;
            }
            let (Some(x), Some(y)) = (member("x"), member("y")) else {
                return false;
            };
            let mut point = vec![4u8];
            point.extend(x);
            point.extend(y);
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
                .verify(input, signature)
                .is_ok()
        }
        ("RS256", Some("RSA")) => {
            let (Some(n), Some(e)) = (member("n"), member("e")) else {
                return false;
            };
            RsaPublicKeyComponents { n: &n, e: &e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, input, signature)
                .is_ok()
        }
        _ => false,
    }
}

/// A thumbprint that is not `jkt` (the `dpop-jkt-wrong` quirk's).
pub(crate) fn other_thumbprint(jkt: &str) -> String {
    B64.encode(super::keys::sha256(format!("other {jkt}").as_bytes()))
}
