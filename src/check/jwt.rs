//! Reading and verifying JWTs: the header and claims are decoded without trust
//! for reports and claim checks; the signature is verified separately.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

/// Largest token the harness decodes (a limit on what a provider controls).
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// A JWT's decoded (not yet trusted) parts.
#[derive(Clone, Debug)]
pub struct Decoded {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
}

impl Decoded {
    pub fn alg(&self) -> Option<&str> {
        self.header.get("alg").and_then(Value::as_str)
    }
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }
    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
    /// `aud` as a list, whether the token has a string or an array (RFC 7519 §4.1.3).
    pub fn audiences(&self) -> Vec<String> {
        audiences(&self.claims)
    }
}

/// `aud` of a claim set as a list, whether a string or an array (RFC 7519 §4.1.3).
pub fn audiences(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => vec![],
    }
}

/// Whether a token is meant as a JWS (three parts, of which the header or the
/// claims decode to a JSON object) rather than an opaque string. A JWT with a
/// broken header still counts, so that it fails to decode instead of passing as opaque.
pub fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    let object = |p: &str| {
        B64.decode(p.trim_end_matches('='))
            .ok()
            .and_then(|b| serde_json::from_slice::<Map<String, Value>>(&b).ok())
            .is_some()
    };
    parts.len() == 3 && (object(parts[0]) || object(parts[1]))
}

/// Decodes header and claims without verifying anything.
pub fn decode(token: &str) -> Result<Decoded, String> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(format!("the token is {} bytes, over the {MAX_TOKEN_BYTES}-byte limit", token.len()));
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() == 5 {
        return Err("the token is a JWE (encrypted); decryption is not supported".into());
    }
    if parts.len() != 3 {
        return Err(format!("not a JWT: {} dot-separated parts instead of 3", parts.len()));
    }
    let part = |i: usize, what: &str| -> Result<Map<String, Value>, String> {
        let bytes = B64
            .decode(parts[i].trim_end_matches('='))
            .map_err(|e| format!("the {what} is not base64url: {e}"))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(o)) => Ok(o),
            Ok(_) => Err(format!("the {what} is not a JSON object")),
            Err(e) => Err(format!("the {what} is not JSON: {e}")),
        }
    };
    Ok(Decoded {
        header: part(0, "header")?,
        claims: part(1, "claims")?,
    })
}

/// The result of a signature verification.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    Ok,
    /// The token is not acceptable; the text says why.
    Bad(String),
}

/// Verifies the signature with the provider's keys (by `kid`) or, for HS*,
/// with the client secret (OIDC Core §3.1.3.7 steps 6–8). `alg: none` is
/// never accepted (RFC 8725 §3.1).
pub fn verify(token: &str, decoded: &Decoded, jwks: &JwkSet, client_secret: Option<&str>) -> Verified {
    let Some(alg_name) = decoded.alg() else {
        return Verified::Bad("the header has no `alg`".into());
    };
    if alg_name.eq_ignore_ascii_case("none") {
        return Verified::Bad("`alg` is `none`: the token is unsigned".into());
    }
    let Ok(alg) = alg_name.parse::<Algorithm>() else {
        return Verified::Bad(format!("`alg` `{alg_name}` is not a known JWS algorithm"));
    };
    let key = match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => match client_secret {
            Some(s) => DecodingKey::from_secret(s.as_bytes()),
            None => {
                return Verified::Bad(format!(
                    "`alg` is `{alg_name}` (keyed with the client secret) but the client has no secret"
                ));
            }
        },
        _ => {
            let jwk = match decoded.kid() {
                Some(kid) => match jwks.find(kid) {
                    Some(k) => k,
                    None => return Verified::Bad(format!("no key with `kid` `{kid}` in the provider's JWKS")),
                },
                None => {
                    let sig_keys: Vec<_> = jwks
                        .keys
                        .iter()
                        .filter(|k| {
                            k.common
                                .public_key_use
                                .as_ref()
                                .is_none_or(|u| *u == jsonwebtoken::jwk::PublicKeyUse::Signature)
                        })
                        .collect();
                    match sig_keys.as_slice() {
                        [one] => *one,
                        [] => return Verified::Bad("the provider's JWKS has no signing key".into()),
                        _ => return Verified::Bad("the header has no `kid` and the JWKS has several keys".into()),
                    }
                }
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(k) => k,
                Err(e) => return Verified::Bad(format!("the JWKS key cannot be used: {e}")),
            }
        }
    };
    let mut v = Validation::new(alg);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    match jsonwebtoken::decode::<Value>(token, &key, &v) {
        Ok(_) => Verified::Ok,
        Err(e) => Verified::Bad(match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => "the signature does not verify".into(),
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => format!("`alg` `{alg_name}` does not match the key's algorithm"),
            _ => format!("the signature cannot be verified: {e}"),
        }),
    }
}

/// `at_hash` / `c_hash`: left half of the hash of the value, with the hash
/// function of the ID token's `alg` (OIDC Core §3.1.3.6, §3.3.2.11).
pub fn half_hash(alg: &str, value: &str) -> Option<String> {
    use aws_lc_rs::digest;
    let algo = match alg {
        "RS256" | "ES256" | "PS256" | "HS256" | "ES256K" => &digest::SHA256,
        "RS384" | "ES384" | "PS384" | "HS384" => &digest::SHA384,
        "RS512" | "ES512" | "PS512" | "HS512" | "EdDSA" | "Ed25519" => &digest::SHA512,
        _ => return None,
    };
    let d = digest::digest(algo, value.as_bytes());
    let bytes = d.as_ref();
    Some(B64.encode(&bytes[..bytes.len() / 2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_spec_example() {
        // OIDC Core A.3/A.4 example: access token and its at_hash (RS256).
        assert_eq!(
            half_hash("RS256", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y").unwrap(),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn decodes_string_and_array_audiences() {
        let t = |claims: &str| format!("{}.{}.", B64.encode(r#"{"alg":"RS256"}"#), B64.encode(claims));
        assert_eq!(decode(&t(r#"{"aud":"a"}"#)).unwrap().audiences(), vec!["a"]);
        assert_eq!(decode(&t(r#"{"aud":["a","b"]}"#)).unwrap().audiences(), vec!["a", "b"]);
        assert!(decode("a.b").unwrap_err().contains("2 dot-separated parts"));
        assert!(
            decode(&format!("{}.xx.", B64.encode("[1]")))
                .unwrap_err()
                .contains("header is not a JSON object")
        );
        assert!(!looks_like_jwt("opaque-token"));
    }

    #[test]
    fn alg_none_is_never_accepted() {
        let token = format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), B64.encode(r#"{"sub":"x"}"#));
        let d = decode(&token).unwrap();
        assert!(matches!(verify(&token, &d, &JwkSet { keys: vec![] }, Some("s")), Verified::Bad(m) if m.contains("none")));
    }
}
