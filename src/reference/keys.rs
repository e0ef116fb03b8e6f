//! The provider's signing key: one RSA 2048 key generated at start, its
//! published JWK, and JWT signing (conformant, and the deliberately broken
//! variants some quirks need).

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// Why a key could not be made or a token not signed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("rsa key generation failed")]
    Generate,
    #[error("rsa key serialisation failed: {0}")]
    Serialise(&'static str),
    #[error("jwt signing failed: {0}")]
    Sign(String),
}

/// How to sign one JWT: conformant, or one of the faults quirks ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignMode {
    /// RS256 with the published key.
    Normal,
    /// RS256, then corrupt the signature bytes.
    BadSignature,
    /// `alg: none`, empty signature.
    AlgNone,
    /// HS256 with the RSA public key's PEM as the HMAC secret.
    Hs256PublicKey,
    /// RS256, but the header names a kid that the JWKS does not hold.
    UnknownKid,
}

/// The signing key and everything derived from it, computed once at start.
pub(crate) struct Keys {
    key_pair: KeyPair,
    kid: String,
    jwk: Value,
    public_pem: String,
    /// PKCS#1 `RSAPrivateKey` DER, the form jsonwebtoken's aws-lc backend
    /// reads; kept to prove in tests that the cached key pair signs exactly
    /// like `jsonwebtoken::encode`.
    #[cfg(test)]
    pkcs1_der: Vec<u8>,
}

impl std::fmt::Debug for Keys {
    /// The key id only: nothing private.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Keys {
    /// Generates a fresh RSA 2048 key pair.
    pub(crate) fn generate() -> Result<Keys, KeyError> {
        let key_pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
        Self::from_key_pair(key_pair)
    }

    /// An RSA private key given as PEM: `PRIVATE KEY` (PKCS#8) or
    /// `RSA PRIVATE KEY` (PKCS#1). The error names no part of the key.
    pub(crate) fn from_private_pem(text: &str) -> Result<Keys, KeyError> {
        let (label, der) = pem_body(text).ok_or(KeyError::Serialise("not a PEM private key"))?;
        let key_pair = match label.as_str() {
            "PRIVATE KEY" => KeyPair::from_pkcs8(&der),
            "RSA PRIVATE KEY" => KeyPair::from_der(&der),
            _ => return Err(KeyError::Serialise("not an RSA private key (PRIVATE KEY or RSA PRIVATE KEY)")),
        }
        .map_err(|_| KeyError::Serialise("the RSA private key does not parse"))?;
        Self::from_key_pair(key_pair)
    }

    fn from_key_pair(key_pair: KeyPair) -> Result<Keys, KeyError> {
        #[cfg(test)]
        let pkcs1_der = {
            let pkcs8: aws_lc_rs::encoding::Pkcs8V1Der<'static> = key_pair.as_der().map_err(|_| KeyError::Serialise("pkcs#8 export"))?;
            pkcs8_to_pkcs1(pkcs8.as_ref())
                .ok_or(KeyError::Serialise("pkcs#8 structure"))?
                .to_vec()
        };

        let public = key_pair.public_key();
        let components: PublicKeyComponents<Vec<u8>> = public.into();
        let n = URL_SAFE_NO_PAD.encode(strip_leading_zeros(&components.n));
        let e = URL_SAFE_NO_PAD.encode(strip_leading_zeros(&components.e));
        // RFC 7638 JWK thumbprint: members in lexicographic order, no spaces.
        let thumbprint_input = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(sha256(thumbprint_input.as_bytes()));
        let jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": kid,
            "n": n,
            "e": e,
        });

        let spki: PublicKeyX509Der<'static> = public.as_der().map_err(|_| KeyError::Serialise("public key export"))?;
        let public_pem = pem("PUBLIC KEY", spki.as_ref());

        Ok(Keys {
            key_pair,
            kid,
            jwk,
            public_pem,
            #[cfg(test)]
            pkcs1_der,
        })
    }

    #[cfg(test)]
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (`kty, use, alg, kid, n, e`).
    pub(crate) fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// The JWK Set document served at `/.well-known/jwks.json`.
    pub(crate) fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk().clone()] })
    }

    /// The public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) document.
    #[cfg(test)]
    pub(crate) fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// A jsonwebtoken key for the private key (PKCS#1 DER).
    #[cfg(test)]
    pub(crate) fn encoding_key(&self) -> EncodingKey {
        EncodingKey::from_rsa_der(&self.pkcs1_der)
    }

    /// Signs `claims` as a compact JWS with header `typ` and, unless the mode
    /// says otherwise, `alg: RS256` and this key's kid.
    pub(crate) fn sign(&self, typ: &str, claims: &Value, mode: SignMode) -> Result<String, KeyError> {
        let header = match mode {
            SignMode::Normal | SignMode::BadSignature => {
                json!({"alg": "RS256", "typ": typ, "kid": self.kid})
            }
            SignMode::UnknownKid => {
                json!({"alg": "RS256", "typ": typ, "kid": format!("unknown-{}", self.kid)})
            }
            SignMode::AlgNone => json!({"alg": "none", "typ": typ}),
            SignMode::Hs256PublicKey => {
                let mut header = Header::new(Algorithm::HS256);
                header.typ = Some(typ.to_owned());
                header.kid = Some(self.kid.clone());
                let key = EncodingKey::from_secret(self.public_pem.as_bytes());
                return jsonwebtoken::encode(&header, claims, &key).map_err(|e| KeyError::Sign(e.to_string()));
            }
        };
        let mut token = signing_input(&header, claims)?;
        if mode == SignMode::AlgNone {
            token.push('.');
            return Ok(token);
        }
        let mut signature = self.rs256(token.as_bytes())?;
        if mode == SignMode::BadSignature {
            for byte in signature.iter_mut().take(8) {
                *byte ^= 0xA5;
            }
        }
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }

    /// Signs `claims` as a compact RS256 JWS under exactly `header` (a DPoP
    /// proof's, whose key travels in the header).
    pub(crate) fn sign_with_header(&self, header: &Value, claims: &Value) -> Result<String, KeyError> {
        let mut token = signing_input(header, claims)?;
        let signature = self.rs256(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`, with the cached key
    /// pair (jsonwebtoken's backend re-parses and re-validates the DER on
    /// every call, which costs more than the signature itself).
    fn rs256(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut signature = vec![0; self.key_pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.key_pair
            .sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
            .map_err(|_| KeyError::Sign("rsa signature failed".into()))?;
        Ok(signature)
    }
}

fn signing_input(header: &Value, claims: &Value) -> Result<String, KeyError> {
    let header = serde_json::to_vec(header).map_err(|e| KeyError::Sign(e.to_string()))?;
    let claims = serde_json::to_vec(claims).map_err(|e| KeyError::Sign(e.to_string()))?;
    let mut out = URL_SAFE_NO_PAD.encode(header);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut out);
    Ok(out)
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// OIDC `at_hash` / `c_hash` for RS256: base64url of the left half of the
/// SHA-256 of the ASCII value.
pub(crate) fn half_hash(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(&sha256(value.as_bytes())[..16])
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len().saturating_sub(1));
    &bytes[start..]
}

/// The label and DER of the first PEM block of `text`.
fn pem_body(text: &str) -> Option<(String, Vec<u8>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_owned();
    let rest = &rest[label_end + 5..];
    let end = rest.find(&format!("-----END {label}-----"))?;
    let body: String = rest[..end].chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD.decode(body).ok()?;
    Some((label, der))
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Reads one DER TLV at the start of `input`: (tag, contents, rest).
#[cfg(test)]
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7F);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// Extracts the PKCS#1 `RSAPrivateKey` from a PKCS#8 `PrivateKeyInfo`:
/// `SEQUENCE { INTEGER version, SEQUENCE algorithm, OCTET STRING privateKey, … }`.
#[cfg(test)]
fn pkcs8_to_pkcs1(pkcs8: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const OCTET_STRING: u8 = 0x04;
    let (tag, body, _) = der_tlv(pkcs8)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, _version, rest) = der_tlv(body)?;
    if tag != INTEGER {
        return None;
    }
    let (tag, _algorithm, rest) = der_tlv(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, private_key, _) = der_tlv(rest)?;
    if tag != OCTET_STRING {
        return None;
    }
    Some(private_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{DecodingKey, Validation};
    use std::sync::OnceLock;
    use std::time::Instant;

    fn keys() -> &'static Keys {
        static KEYS: OnceLock<Keys> = OnceLock::new();
        KEYS.get_or_init(|| {
            let start = Instant::now();
            let keys = Keys::generate().unwrap();
            eprintln!("rsa 2048 key generation: {:?}", start.elapsed());
            keys
        })
    }

    fn decoding_key(keys: &Keys) -> DecodingKey {
        let jwk: Jwk = serde_json::from_value(keys.jwk().clone()).unwrap();
        DecodingKey::from_jwk(&jwk).unwrap()
    }

    fn validation(alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.validate_exp = false;
        v.validate_aud = false;
        v.required_spec_claims.clear();
        v
    }

    #[test]
    fn jwk_shape() {
        let jwk = keys().jwk();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["kid"], keys().kid());
        assert_eq!(jwk["e"], "AQAB");
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 256);
        assert_ne!(n[0], 0);
        assert!(keys().public_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
    }

    #[test]
    fn signs_and_verifies_with_published_jwk() {
        let keys = keys();
        let claims = json!({"sub": "x", "n": 1});
        let token = keys.sign("JWT", &claims, SignMode::Normal).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(keys.kid()));
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        let data = jsonwebtoken::decode::<Value>(&token, &decoding_key(keys), &validation(Algorithm::RS256)).unwrap();
        assert_eq!(data.claims, claims);
    }

    #[test]
    fn manual_signature_equals_jsonwebtoken_encode() {
        // PKCS#1 v1.5 is deterministic, so jsonwebtoken's encode with the
        // PKCS#1 DER must give the very same token as the cached key pair.
        let keys = keys();
        let claims = json!({"a": "b"});
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(keys.kid().to_owned());
        let by_library = jsonwebtoken::encode(&header, &claims, &keys.encoding_key()).unwrap();
        let (signing_input, _) = by_library.rsplit_once('.').unwrap();
        let manual = {
            let sig = keys.rs256(signing_input.as_bytes()).unwrap();
            format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
        };
        assert_eq!(manual, by_library);

        // Cost comparison, printed for the record.
        let n = 50;
        let start = Instant::now();
        for _ in 0..n {
            jsonwebtoken::encode(&header, &claims, &keys.encoding_key()).unwrap();
        }
        let lib = start.elapsed() / n;
        let start = Instant::now();
        for _ in 0..n {
            keys.sign("JWT", &claims, SignMode::Normal).unwrap();
        }
        let cached = start.elapsed() / n;
        eprintln!("rs256 sign: jsonwebtoken::encode {lib:?}, cached key pair {cached:?}");
    }

    #[test]
    fn faulty_modes() {
        let keys = keys();
        let claims = json!({"sub": "x"});
        let dk = decoding_key(keys);

        let bad = keys.sign("JWT", &claims, SignMode::BadSignature).unwrap();
        assert!(jsonwebtoken::decode::<Value>(&bad, &dk, &validation(Algorithm::RS256)).is_err());

        let none = keys.sign("JWT", &claims, SignMode::AlgNone).unwrap();
        assert!(none.ends_with('.'));
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(none.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(header["alg"], "none");

        let hs = keys.sign("JWT", &claims, SignMode::Hs256PublicKey).unwrap();
        let hs_key = DecodingKey::from_secret(keys.public_pem().as_bytes());
        jsonwebtoken::decode::<Value>(&hs, &hs_key, &validation(Algorithm::HS256)).unwrap();

        let unknown = keys.sign("JWT", &claims, SignMode::UnknownKid).unwrap();
        let h = jsonwebtoken::decode_header(&unknown).unwrap();
        assert_ne!(h.kid.as_deref(), Some(keys.kid()));
        // Still a valid signature by the real key: only the kid is wrong.
        jsonwebtoken::decode::<Value>(&unknown, &dk, &validation(Algorithm::RS256)).unwrap();
    }

    #[test]
    fn half_hash_matches_oidc_example() {
        // OIDC Core, appendix A.3/A.4 example access token and at_hash.
        assert_eq!(half_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"), "77QmUPtjPfzWtF2AnpK9RQ");
    }

    #[test]
    fn a_private_key_is_read_from_pem() {
        let pem = include_str!("../../fixtures/keys/client-private-key.pem");
        let keys = Keys::from_private_pem(pem).unwrap();
        let published: Value = serde_json::from_str(include_str!("../../fixtures/keys/client-jwks.json")).unwrap();
        assert_eq!(keys.jwks(), published, "the fixture's JWKS is the public half of its key");
        assert!(Keys::from_private_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").is_err());
        assert!(Keys::from_private_pem("garbage").is_err());
        assert!(format!("{keys:?}").starts_with("Keys { kid:"));
    }

    #[test]
    fn der_parser_rejects_garbage() {
        assert!(pkcs8_to_pkcs1(&[]).is_none());
        assert!(pkcs8_to_pkcs1(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(pkcs8_to_pkcs1(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_none());
    }
}
