//! DPoP (RFC 9449): the client proves that it holds a private key with a
//! signed JWT, a proof, in the `DPoP` header of each request (§4); the
//! authorization server binds the tokens it issues to that key (§5, §6) and
//! userinfo takes a bound access token only with a proof of the same key that
//! carries the token's hash in `ath` (§7).
//!
//! Each case makes a key of its own (ES256 where the provider lists it, else
//! RS256; the private key never leaves the process and is never shown), and
//! its code exchange carries a proof. A probe that makes a mistake (a proof
//! for another URL or method, a bad signature, a replayed proof, the bound
//! token as a plain Bearer token, another key at a refresh) then makes the
//! correct request, so a refusal of the mistake is told apart from a provider
//! that refuses everything. A server that asks for a nonce (`use_dpop_nonce`
//! and a `DPoP-Nonce` header, §8, §9) gets the request again with it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use url::Url;

use super::{Evidence, Provider, TokenSet, UserinfoResponse, random_token};
use crate::secret::Secret;
use crate::suite::{Case, DpopProbe as P, UserinfoMethod};

/// A token-endpoint proof probe is its own fault: what its proof gets wrong
/// (RFC 9449 §4.3), or, for `htu_with_query` and `htu_unnormalized`, a
/// variation a server takes. [`P::proof_fault`] says which probes are.
pub type Fault = P;

impl P {
    /// The probe as the fault its proof makes at the token endpoint, where
    /// it is a proof probe (the probes that describe one).
    pub fn proof_fault(self) -> Option<Fault> {
        self.fault_text().map(|_| self)
    }

    /// In words, for verdicts (any probe; a proof probe names its fault).
    pub fn describe(self) -> &'static str {
        self.fault_text().unwrap_or("a valid DPoP proof")
    }

    /// The fault of a proof probe, in words; `None` for the other probes.
    fn fault_text(self) -> Option<&'static str> {
        Some(match self {
            Fault::WrongHtu => "a DPoP proof whose `htu` is another URL than the token endpoint's",
            Fault::WrongHtm => "a DPoP proof whose `htm` is GET for a POST",
            Fault::BadSignature => "a DPoP proof whose signature does not verify",
            Fault::TwoProofs => "two DPoP headers, each a valid proof",
            Fault::WrongTyp => "a DPoP proof whose `typ` is `JWT`, not `dpop+jwt`",
            Fault::AlgNone => "an unsigned DPoP proof (`alg` `none`)",
            Fault::SymmetricAlg => "a DPoP proof signed with HS256, a symmetric algorithm",
            Fault::PrivateKey => "a DPoP proof whose `jwk` holds a private part (`d`)",
            Fault::NoJti => "a DPoP proof without `jti`",
            Fault::NoHtm => "a DPoP proof without `htm`",
            Fault::NoHtu => "a DPoP proof without `htu`",
            Fault::NoIat => "a DPoP proof without `iat`",
            Fault::NotJwt => "a `DPoP` header that is not a JWT (two base64url parts, no signature)",
            Fault::NoTyp => "a DPoP proof whose header has no `typ`",
            Fault::NoAlg => "a DPoP proof whose header has no `alg`",
            Fault::NoJwk => "a DPoP proof whose header has no `jwk`",
            Fault::OldIat => "a DPoP proof whose `iat` is an hour ago",
            Fault::FutureIat => "a DPoP proof whose `iat` is an hour ahead",
            Fault::HtuWithQuery => "a DPoP proof whose `htu` carries a query and a fragment",
            Fault::HtuUnnormalized => {
                "a DPoP proof whose `htu` has an upper-case scheme and host and an explicit port (the same URI once normalized)"
            }
            Fault::WrongNonce => "a DPoP proof whose `nonce` is not the one the server gave",
            Fault::NoNonce => "a DPoP proof without the `nonce` the server gave",
            _ => return None,
        })
    }

    /// Whether the fault is about the server's nonce: made only once the
    /// server gave one, and never retried with it by the harness.
    pub fn about_nonce(self) -> bool {
        matches!(self, Fault::WrongNonce | Fault::NoNonce)
    }

    /// Whether a server takes the proof: the two `htu` variations.
    pub fn to_be_taken(self) -> bool {
        matches!(self, Fault::HtuWithQuery | Fault::HtuUnnormalized)
    }
}

enum Key {
    Es256(EcdsaKeyPair),
    Rs256(Box<crate::reference::keys::Keys>),
}

/// The case's DPoP key and the nonces servers gave it.
pub struct Prover {
    key: Key,
    alg: &'static str,
    jwk: Value,
    thumbprint: String,
    /// The last `DPoP-Nonce` of each server (origin), RFC 9449 §8, §9.
    nonces: Mutex<BTreeMap<String, String>>,
}

impl std::fmt::Debug for Prover {
    /// The algorithm and the public key's thumbprint: nothing private.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prover")
            .field("alg", &self.alg)
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl Prover {
    /// A new key for a provider that takes the `advertised` algorithms:
    /// ES256 where listed, else RS256.
    pub fn for_algs(advertised: &[String]) -> Result<Prover, String> {
        if advertised.iter().any(|a| a == "ES256") {
            Prover::es256()
        } else if advertised.iter().any(|a| a == "RS256") {
            Prover::rs256()
        } else {
            Err(format!(
                "the provider lists neither ES256 nor RS256 in dpop_signing_alg_values_supported ({}), the algorithms the harness signs proofs with",
                advertised.join(", ")
            ))
        }
    }

    /// A new P-256 key (ES256).
    pub fn es256() -> Result<Prover, String> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| "the DPoP key could not be made".to_owned())?;
        // The uncompressed point: 0x04, then x and y.
        let point = pair.public_key().as_ref().to_vec();
        if point.len() != 65 {
            return Err("the DPoP key's public point is not an uncompressed P-256 point".into());
        }
        let jwk = json!({
            "kty": "EC",
            "crv": "P-256",
            "x": B64.encode(&point[1..33]),
            "y": B64.encode(&point[33..65]),
        });
        Ok(Prover::with(Key::Es256(pair), "ES256", jwk))
    }

    /// A new RSA 2048 key (RS256).
    pub fn rs256() -> Result<Prover, String> {
        let keys = crate::reference::keys::Keys::generate().map_err(|e| format!("the DPoP key could not be made: {e}"))?;
        let public = keys.jwk();
        let jwk = json!({ "kty": "RSA", "n": public["n"], "e": public["e"] });
        Ok(Prover::with(Key::Rs256(Box::new(keys)), "RS256", jwk))
    }

    fn with(key: Key, alg: &'static str, jwk: Value) -> Prover {
        let thumbprint = thumbprint(&jwk).unwrap_or_default();
        Prover {
            key,
            alg,
            jwk,
            thumbprint,
            nonces: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn alg(&self) -> &'static str {
        self.alg
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key, base64url.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The nonce the server at `url` asked for last.
    pub fn nonce_for(&self, url: &Url) -> Option<String> {
        let nonces = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        nonces.get(&url.origin().ascii_serialization()).cloned()
    }

    /// Keeps the `DPoP-Nonce` the server at `url` gave (RFC 9449 §8.2: the
    /// newest one counts).
    pub fn remember_nonce(&self, url: &Url, nonce: &str) {
        let mut nonces = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        nonces.insert(url.origin().ascii_serialization(), nonce.to_owned());
    }

    /// A proof for a `htm` request to `url` (RFC 9449 §4.2): header `typ`
    /// `dpop+jwt`, `alg`, the public `jwk`; claims a fresh `jti`, `htm`, `htu`
    /// (the URL without query and fragment), `iat`, `ath` when an access token
    /// goes with it, and the server's `nonce` when it gave one; with `fault`,
    /// the probe's mistake.
    pub fn proof(&self, htm: &str, url: &Url, access_token: Option<&str>, fault: Option<Fault>) -> Result<String, String> {
        let mut header = json!({ "typ": "dpop+jwt", "alg": self.alg, "jwk": self.jwk });
        let htu = match fault {
            Some(Fault::WrongHtu) => other_htu(url),
            Some(Fault::HtuWithQuery) => format!("{}?oidc-conform=probe#probe", htu(url)),
            Some(Fault::HtuUnnormalized) => unnormalized_htu(url),
            _ => htu(url),
        };
        let htm = match fault {
            Some(Fault::WrongHtm) if htm.eq_ignore_ascii_case("GET") => "PUT",
            Some(Fault::WrongHtm) => "GET",
            _ => htm,
        };
        let now = crate::check::now();
        let iat = match fault {
            Some(Fault::OldIat) => now - 3600,
            Some(Fault::FutureIat) => now + 3600,
            _ => now,
        };
        let mut claims = json!({
            "jti": random_token(),
            "htm": htm,
            "htu": htu,
            "iat": iat,
        });
        let missing = match fault {
            Some(Fault::NoJti) => Some("jti"),
            Some(Fault::NoHtm) => Some("htm"),
            Some(Fault::NoHtu) => Some("htu"),
            Some(Fault::NoIat) => Some("iat"),
            _ => None,
        };
        if let (Some(name), Some(c)) = (missing, claims.as_object_mut()) {
            c.remove(name);
        }
        if let Some(t) = access_token {
            claims["ath"] = json!(ath(t));
        }
        match (fault, self.nonce_for(url)) {
            (Some(Fault::NoNonce), _) => {}
            (Some(Fault::WrongNonce), _) => claims["nonce"] = json!(format!("oidc-conform-not-your-nonce-{}", random_token())),
            (_, Some(n)) => claims["nonce"] = json!(n),
            (_, None) => {}
        }
        let left_out = match fault {
            Some(Fault::NoTyp) => Some("typ"),
            Some(Fault::NoAlg) => Some("alg"),
            Some(Fault::NoJwk) => Some("jwk"),
            _ => None,
        };
        if let (Some(name), Some(h)) = (left_out, header.as_object_mut()) {
            h.remove(name);
        }
        match fault {
            Some(Fault::WrongTyp) => header["typ"] = json!("JWT"),
            Some(Fault::PrivateKey) => {
                // A key made for this proof alone, its private part in `jwk`:
                // a valid key, so a refusal is for the private part, not for
                // a key that does not load. The case's key is never sent.
                let throwaway = Prover::es256()?;
                let Key::Es256(pair) = &throwaway.key else {
                    return Err("the throwaway DPoP key is not a P-256 key".into());
                };
                let d = aws_lc_rs::encoding::AsBigEndian::as_be_bytes(&pair.private_key())
                    .map_err(|_| "the throwaway DPoP key's private part could not be read".to_owned())?;
                let mut jwk = throwaway.jwk.clone();
                jwk["d"] = json!(B64.encode(d.as_ref()));
                let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": jwk });
                return throwaway.sign(&header, &claims);
            }
            Some(Fault::NotJwt) => {
                // The header and claims of a proof, base64url, without a
                // signature part: not a JWS (RFC 7515 §7.1: three parts).
                return Ok(format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string())));
            }
            Some(Fault::AlgNone) => {
                header["alg"] = json!("none");
                return Ok(format!("{}.{}.", B64.encode(header.to_string()), B64.encode(claims.to_string())));
            }
            Some(Fault::SymmetricAlg) => {
                header["alg"] = json!("HS256");
                let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
                let mut k = [0u8; 32];
                aws_lc_rs::rand::fill(&mut k).map_err(|_| "no random bytes for the probe's HS256 key".to_owned())?;
                let tag = aws_lc_rs::hmac::sign(&aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &k), input.as_bytes());
                return Ok(format!("{input}.{}", B64.encode(tag.as_ref())));
            }
            _ => {}
        }
        let jws = self.sign(&header, &claims)?;
        Ok(match fault {
            Some(Fault::BadSignature) => corrupt_signature(&jws),
            _ => jws,
        })
    }

    fn sign(&self, header: &Value, claims: &Value) -> Result<String, String> {
        match &self.key {
            Key::Es256(pair) => {
                let mut input = B64.encode(header.to_string());
                input.push('.');
                B64.encode_string(claims.to_string(), &mut input);
                let rng = aws_lc_rs::rand::SystemRandom::new();
                let sig = pair
                    .sign(&rng, input.as_bytes())
                    .map_err(|_| "the DPoP proof could not be signed".to_owned())?;
                input.push('.');
                B64.encode_string(sig.as_ref(), &mut input);
                Ok(input)
            }
            Key::Rs256(keys) => keys
                .sign_with_header(header, claims)
                .map_err(|e| format!("the DPoP proof could not be signed: {e}")),
        }
    }
}

/// `htu`: the request URL without query and fragment (RFC 9449 §4.2).
pub fn htu(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// Another URL of the same server: a wrong `htu`.
fn other_htu(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.set_path("/oidc-conform/not-this-endpoint");
    u.to_string()
}

/// The request URL as `htu` with an upper-case scheme and host and an
/// explicit port: the same URI after RFC 3986 §6.2.2 and §6.2.3
/// normalization.
fn unnormalized_htu(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_uppercase();
    let port = url.port_or_known_default().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{}://{host}{port}{}", url.scheme().to_ascii_uppercase(), url.path())
}

/// `ath`: base64url of the SHA-256 of the access token's ASCII (RFC 9449 §4.2).
pub fn ath(access_token: &str) -> String {
    B64.encode(crate::reference::keys::sha256(access_token.as_bytes()))
}

/// The RFC 7638 JWK SHA-256 thumbprint of a public key, base64url: the
/// required members of its `kty` in lexicographic order, no whitespace.
pub fn thumbprint(jwk: &Value) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = String::from("{");
    for (i, m) in members.iter().enumerate() {
        let v = jwk.get(*m)?.as_str()?;
        if i > 0 {
            canonical.push(',');
        }
        canonical.push_str(&format!("{}:{}", json!(m), json!(v)));
    }
    canonical.push('}');
    Some(B64.encode(crate::reference::keys::sha256(canonical.as_bytes())))
}

/// The JWS with its signature's first bytes changed.
fn corrupt_signature(jws: &str) -> String {
    let Some((input, sig)) = jws.rsplit_once('.') else {
        return format!("{jws}x");
    };
    let mut bytes = B64.decode(sig).unwrap_or_default();
    for b in bytes.iter_mut().take(8) {
        *b ^= 0xA5;
    }
    if bytes.is_empty() {
        bytes.push(0);
    }
    format!("{input}.{}", B64.encode(bytes))
}

/// What one request got: taken or refused, in words.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub accepted: bool,
    pub said: String,
    /// The `error` code of a refusal that had one.
    pub error: Option<String>,
    /// At userinfo: the HTTP status and the `DPoP` challenge of the answer's
    /// `WWW-Authenticate`, when it has one (§7.1).
    pub status: Option<u16>,
    pub challenge: Option<String>,
}

/// What a DPoP probe saw.
#[derive(Clone, Debug, Default)]
pub struct DpopSeen {
    pub probe: Option<P>,
    /// The introspection of the bound access token (§6.2).
    pub introspection: Option<super::EndpointAnswer>,
    /// `dpop_signing_alg_values_supported` as discovery lists it.
    pub advertised: Vec<String>,
    /// The algorithm and thumbprint of the case's key.
    pub alg: String,
    pub thumbprint: String,
    /// A server asked for a nonce and got it.
    pub nonce_used: bool,
    /// A nonce probe's first exchange, without a nonce, was taken: the
    /// server does not use nonces.
    pub nonce_unused: bool,
    /// The probe's faulty code exchange.
    pub mistake: Option<Outcome>,
    /// The code exchange with a valid proof.
    pub exchange: Option<Outcome>,
    /// That exchange used a fresh code: the provider used the first up at
    /// the refused attempt.
    pub fresh_code: bool,
    /// `token_type` of the code exchange's answer.
    pub token_type: Option<String>,
    /// The access token's `cnf.jkt`: `None` when it is no JWT, `Some(None)`
    /// for a JWT without one.
    pub jkt: Option<Option<String>>,
    /// The bound access token at userinfo as a plain Bearer token.
    pub bearer: Option<Outcome>,
    /// The first use of the proof the replay sends again, and the replay.
    pub first_use: Option<Outcome>,
    pub replayed: Option<Outcome>,
    /// The bound access token at userinfo with a valid proof (the probe's last request).
    pub userinfo: Option<Outcome>,
    /// At userinfo, the bound token with the probe's faulty proof (no `ath`,
    /// a wrong `ath`, another key's proof).
    pub userinfo_mistake: Option<Outcome>,
    /// At userinfo, the bound token in the scheme written `dpop`.
    pub scheme_case: Option<Outcome>,
    /// The refresh probe: with another key's proof, without proof, with the right key.
    pub refresh_other_key: Option<Outcome>,
    pub refresh_without_proof: Option<Outcome>,
    pub refresh: Option<Outcome>,
}

impl DpopSeen {
    /// The token-endpoint fault of the probe, if it has one.
    pub fn fault(&self) -> Option<Fault> {
        self.probe.and_then(P::proof_fault)
    }

    /// Whether the provider says the access token is DPoP-bound (`token_type`
    /// compares case-insensitively, RFC 6749 §5.1).
    pub fn bound(&self) -> bool {
        self.token_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("DPoP"))
    }
}

/// Makes the case's key before its code exchange; `None` (with the case not
/// applicable) when the provider offers no algorithm the harness signs with.
pub(super) fn start(p: &Provider, probe: P, ev: &mut Evidence) -> Option<Arc<Prover>> {
    if let Some(k) = &ev.dpop_key {
        return Some(k.clone());
    }
    let advertised = p.discovery.dpop_signing_alg_values_supported.clone().unwrap_or_default();
    match Prover::for_algs(&advertised) {
        Ok(k) => {
            let k = Arc::new(k);
            ev.step(format!(
                "a {} key made for the case's DPoP proofs (thumbprint {})",
                k.alg(),
                k.thumbprint()
            ));
            ev.dpop = Some(DpopSeen {
                probe: Some(probe),
                advertised,
                alg: k.alg().to_owned(),
                thumbprint: k.thumbprint().to_owned(),
                ..DpopSeen::default()
            });
            ev.dpop_key = Some(k.clone());
            Some(k)
        }
        Err(why) => {
            ev.not_applicable = Some(why);
            None
        }
    }
}

/// A token request's outcome, in words.
fn token_outcome(got: &Option<TokenSet>, ev: &Evidence) -> Outcome {
    match got {
        Some(set) => Outcome {
            accepted: true,
            said: format!(
                "tokens were issued (token_type {})",
                set.params.get("token_type").and_then(Value::as_str).unwrap_or("absent")
            ),
            ..Outcome::default()
        },
        None => Outcome {
            accepted: false,
            error: ev.error.as_ref().map(|e| e.error.clone()),
            said: match &ev.error {
                Some(e) => format!(
                    "refused: HTTP {} `{}`{}",
                    e.status.map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
                    e.error,
                    e.description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
                ),
                None => "refused".into(),
            },
            ..Outcome::default()
        },
    }
}

/// The case's code exchange with DPoP: first the probe's faulty proof, if it
/// has one, then (when that was refused) the same code with a valid proof.
pub(super) async fn exchange(
    p: &Provider,
    case: &Case,
    probe: P,
    code: &Secret,
    verifier: &str,
    browser: &reqwest::cookie::Jar,
    ev: &mut Evidence,
) -> Result<Option<TokenSet>, String> {
    let Some(k) = start(p, probe, ev) else {
        return Ok(None);
    };
    // The probe's mistake, if it makes one: the key its proof is made with
    // (none, or another key than the code is bound to) or the proof's fault.
    let mistake = if probe == P::BoundClient {
        // RFC 9449 §5.2: a client registered with dpop_bound_access_tokens
        // sends a proof with every token request; one without is refused.
        Some((
            None,
            None,
            "redeeming the code without a DPoP proof, as the client registered with dpop_bound_access_tokens: true".to_owned(),
            "the same code again, with a DPoP proof",
        ))
    } else if matches!(probe, P::Jkt | P::PushedProof) {
        // RFC 9449 §10, §10.1: the code is bound to the key `dpop_jkt` named,
        // or the key of the pushed request's proof.
        let other = Arc::new(Prover::for_algs(&[k.alg().to_owned()])?);
        let step = format!(
            "redeeming the code with a proof of another key (thumbprint {}) than the one the code is bound to",
            other.thumbprint()
        );
        Some((
            Some(other),
            None,
            step,
            "the same code again, with a proof of the key the code is bound to",
        ))
    } else if let Some(fault) = probe.proof_fault().filter(|f| f.about_nonce()) {
        // RFC 9449 §8: the code exchange first without a nonce and without the
        // harness's retry, to learn whether the server gives one.
        ev.step("redeeming the code with a proof without a nonce, to learn whether the server uses DPoP nonces (§8)");
        ev.dpop_hold_nonce = true;
        let got = super::exchange_code(p, case, code, verifier, ev).await;
        ev.dpop_hold_nonce = false;
        if let Some(set) = got? {
            ev.step("the server took a proof without a nonce: it does not use DPoP nonces");
            let outcome = token_outcome(&Some(set.clone()), ev);
            if let Some(seen) = ev.dpop.as_mut() {
                seen.nonce_unused = true;
                seen.exchange = Some(outcome);
            }
            note_tokens(&set, ev);
            return Ok(Some(set));
        }
        let asked = ev.error.as_ref().is_some_and(|e| e.error == "use_dpop_nonce");
        match p.endpoint("token_endpoint").ok().and_then(|u| k.nonce_for(&u)) {
            Some(_) if asked => {
                if let Some(seen) = ev.dpop.as_mut() {
                    seen.nonce_used = true;
                }
                ev.error = None;
                let step = format!("redeeming the code with {}", fault.describe());
                Some((
                    Some(k.clone()),
                    Some(fault),
                    step,
                    "the same code again, with the nonce the server gave",
                ))
            }
            // Refused for another reason: the correct exchange below shows it.
            _ => {
                ev.error = None;
                None
            }
        }
    } else if let Some(fault) = probe.proof_fault() {
        if fault == Fault::PrivateKey && !p.discovery.dpop_signing_alg_values_supported.iter().flatten().any(|a| a == "ES256") {
            ev.not_applicable = Some(
                "the provider does not list ES256 in dpop_signing_alg_values_supported, and the harness makes its private-key proof with an ES256 key"
                    .into(),
            );
            return Ok(None);
        }
        let step = format!("redeeming the code with {}", fault.describe());
        Some((Some(k.clone()), Some(fault), step, "the same code again, with a valid DPoP proof"))
    } else {
        None
    };
    if let Some((key, fault, step, then)) = mistake {
        ev.misuse_attempted = true;
        ev.step(step);
        ev.dpop_key = key;
        ev.dpop_fault = fault;
        // A nonce probe's refusal gets no retry with the server's new nonce:
        // that would be the correct request, not the mistake.
        ev.dpop_hold_nonce = fault.is_some_and(Fault::about_nonce);
        let got = super::exchange_code(p, case, code, verifier, ev).await;
        ev.dpop_hold_nonce = false;
        ev.dpop_key = Some(k.clone());
        ev.dpop_fault = None;
        let got = got?;
        let outcome = token_outcome(&got, ev);
        if let Some(seen) = ev.dpop.as_mut() {
            seen.mistake = Some(outcome);
        }
        if let Some(set) = got {
            // The mistake was taken: these are the case's tokens.
            note_tokens(&set, ev);
            return Ok(Some(set));
        }
        ev.error = None;
        ev.step(then);
    }
    let got = super::exchange_code(p, case, code, verifier, ev).await?;
    let mistaken = ev.dpop.as_ref().is_some_and(|s| s.mistake.is_some());
    let got = if got.is_none() && mistaken && ev.error.as_ref().is_some_and(|e| e.error == "invalid_grant") {
        // RFC 6749 lets a provider invalidate a code at a failed exchange:
        // whether it takes a correct request is then shown with a fresh code.
        ev.step("the same code was refused with invalid_grant: the provider used it up at the refused attempt (RFC 6749 allows that); a fresh code for the correct request");
        ev.error = None;
        let got = fresh_exchange(p, case, browser, ev).await?;
        if let Some(seen) = ev.dpop.as_mut() {
            seen.fresh_code = true;
        }
        got
    } else {
        got
    };
    let outcome = token_outcome(&got, ev);
    if let Some(seen) = ev.dpop.as_mut() {
        seen.exchange = Some(outcome);
    }
    if let Some(set) = &got {
        note_tokens(set, ev);
    }
    Ok(got)
}

/// A second authorization in the case's browser (its session), with the
/// case's key, and its code redeemed with a valid proof.
async fn fresh_exchange(p: &Provider, case: &Case, browser: &reqwest::cookie::Jar, ev: &mut Evidence) -> Result<Option<TokenSet>, String> {
    let verifier = super::make_verifier(&case.request.pkce);
    let mut again = Evidence {
        dpop_key: ev.dpop_key.clone(),
        seeded_at: ev.seeded_at,
        ..Evidence::default()
    };
    let answer = super::authorize(p, case, browser, &verifier, &mut again).await;
    for step in again.trace.drain(..) {
        ev.step(format!("again: {step}"));
    }
    let Some(code) = answer?.and_then(|mut q| q.remove("code")) else {
        ev.step("the second authorization gave no code");
        ev.error = again.error.take();
        return Ok(None);
    };
    // The ID token of this code answers this authorization's nonce.
    if again.nonce.is_some() {
        ev.nonce = again.nonce.take();
    }
    super::exchange_code(p, case, &Secret::new(code), &verifier, ev).await
}

/// `token_type` and the access token's `cnf.jkt`, from the code exchange.
fn note_tokens(set: &TokenSet, ev: &mut Evidence) {
    let Some(seen) = ev.dpop.as_mut() else { return };
    seen.token_type = set.params.get("token_type").and_then(Value::as_str).map(str::to_owned);
    seen.jkt = set.access_token.as_ref().and_then(|t| {
        let d = crate::check::jwt::decode(t.expose()).ok()?;
        Some(
            d.claims
                .get("cnf")
                .and_then(|c| c.get("jkt"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        )
    });
}

/// Userinfo with the bound access token and a proof: `given`, or a fresh one
/// (then a `use_dpop_nonce` answer gets the request again with the nonce).
/// The answer and the proof sent last.
async fn userinfo(
    p: &Provider,
    k: &Prover,
    at: &Secret,
    given: Option<&str>,
    ev: &mut Evidence,
) -> Result<(UserinfoResponse, String), String> {
    userinfo_in(p, k, at, given, "DPoP", ev).await
}

/// [`userinfo`] with the authentication scheme written `scheme`.
async fn userinfo_in(
    p: &Provider,
    k: &Prover,
    at: &Secret,
    given: Option<&str>,
    scheme: &str,
    ev: &mut Evidence,
) -> Result<(UserinfoResponse, String), String> {
    let url = p.endpoint("userinfo_endpoint")?;
    let nonce_sent = k.nonce_for(&url);
    let mut proof = match given {
        Some(j) => j.to_owned(),
        None => k.proof("GET", &url, Some(at.expose()), None)?,
    };
    let mut r = super::userinfo_with(p, Some(at), UserinfoMethod::Get, Some((scheme, &proof)), ev).await?;
    if let Some(n) = r.dpop_nonce.clone() {
        k.remember_nonce(&url, &n);
        let asks = r.status == 401 && r.error.as_deref() == Some("use_dpop_nonce");
        if asks && given.is_none() && nonce_sent.as_deref() != Some(n.as_str()) {
            ev.step("userinfo asks for a DPoP nonce (use_dpop_nonce): the request again with a proof that carries it");
            if let Some(seen) = ev.dpop.as_mut() {
                seen.nonce_used = true;
            }
            proof = k.proof("GET", &url, Some(at.expose()), None)?;
            r = super::userinfo_with(p, Some(at), UserinfoMethod::Get, Some((scheme, &proof)), ev).await?;
        }
    }
    Ok((r, proof))
}

/// A userinfo answer's outcome, in words.
fn userinfo_outcome(r: &UserinfoResponse) -> Outcome {
    let accepted = (200..300).contains(&r.status) && r.claims.is_some();
    let mut said = format!("HTTP {}", r.status);
    if let Some(e) = &r.error {
        said.push_str(&format!(" error `{e}`"));
    }
    if let Some(w) = &r.www_authenticate {
        let scheme: String = w.split_whitespace().next().unwrap_or("").chars().take(20).collect();
        said.push_str(&format!(", WWW-Authenticate scheme {scheme}"));
    }
    if accepted {
        said.push_str(" with claims");
    }
    Outcome {
        accepted,
        said,
        error: r.error.clone(),
        status: Some(r.status),
        challenge: r.www_authenticate.as_deref().and_then(dpop_challenge).map(str::to_owned),
    }
}

/// The `DPoP` challenge of a `WWW-Authenticate` value, which may hold other
/// challenges before it (RFC 9110 §11.6.1): from its scheme name, written in
/// any case, to the end.
pub fn dpop_challenge(header: &str) -> Option<&str> {
    let lower = header.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("dpop").map(|i| i + from) {
        let before = header[..i].trim_end();
        let after = &header[i + 4..];
        let starts = before.is_empty() || before.ends_with(',');
        let ends = after.is_empty() || after.starts_with([' ', '\t', ',']);
        if starts && ends {
            return Some(&header[i..]);
        }
        from = i + 4;
    }
    None
}

/// The probe's requests after the code exchange.
pub(super) async fn probe(p: &Provider, case: &Case, probe: P, ev: &mut Evidence) -> Result<(), String> {
    let Some(k) = ev.dpop_key.clone() else { return Ok(()) };
    let last = |pick: fn(&TokenSet) -> Option<Secret>, ev: &Evidence| ev.token_sets.iter().rev().find_map(pick);
    match probe {
        // The token-endpoint proof probes ([`P::proof_fault`]) and the binding probes
        // did their part at the code exchange.
        _ if probe.proof_fault().is_some() => Ok(()),
        P::Token | P::Jkt | P::PushedProof | P::PushedJktMismatch | P::BoundClient => Ok(()),
        P::Introspect => {
            let Some(at) = last(|s| s.access_token.clone(), ev) else {
                ev.not_applicable = Some("the provider issued no access token".into());
                return Ok(());
            };
            if p.discovery.introspection_endpoint.is_none() {
                ev.not_applicable = Some("the provider advertises no introspection_endpoint".into());
                return Ok(());
            }
            if !ev.dpop.as_ref().is_some_and(DpopSeen::bound) {
                return Ok(());
            }
            ev.step("introspecting the DPoP-bound access token, as a resource server would to learn its binding");
            let form = vec![("token".to_owned(), at.expose().to_owned())];
            let answer = super::lifecycle_request(p, case, "introspection_endpoint", form, true, ev).await?;
            if let Some(seen) = ev.dpop.as_mut() {
                seen.introspection = Some(answer);
            }
            Ok(())
        }
        P::Userinfo | P::Bearer | P::Replay | P::UserinfoNoAth | P::UserinfoWrongAth | P::UserinfoOtherKey | P::SchemeCase => {
            let Some(at) = last(|s| s.access_token.clone(), ev) else {
                ev.not_applicable = Some("the provider issued no access token".into());
                return Ok(());
            };
            if p.discovery.userinfo_endpoint.is_none() {
                ev.not_applicable = Some("the provider advertises no userinfo_endpoint".into());
                return Ok(());
            }
            if !ev.dpop.as_ref().is_some_and(DpopSeen::bound) {
                // §5: an access token the server chose not to bind is a Bearer token.
                return Ok(());
            }
            if probe == P::Bearer {
                ev.misuse_attempted = true;
                ev.step("userinfo with the DPoP-bound access token as a plain Bearer token, without proof");
                let r = super::userinfo(p, Some(&at), UserinfoMethod::Get, ev).await?;
                let o = userinfo_outcome(&r);
                if let Some(seen) = ev.dpop.as_mut() {
                    seen.bearer = Some(o);
                }
            }
            if probe == P::Replay {
                ev.misuse_attempted = true;
                ev.step("userinfo with the bound access token and a DPoP proof");
                let (r, proof) = userinfo(p, &k, &at, None, ev).await?;
                let first = userinfo_outcome(&r);
                ev.step("userinfo again with the same proof (the same jti)");
                let (r, _) = userinfo(p, &k, &at, Some(&proof), ev).await?;
                let replayed = userinfo_outcome(&r);
                if let Some(seen) = ev.dpop.as_mut() {
                    seen.first_use = Some(first);
                    seen.replayed = Some(replayed);
                }
            }
            if probe.faulty_userinfo() {
                ev.misuse_attempted = true;
                ev.step("userinfo with the bound access token and a valid proof (a server that uses nonces gives its nonce here)");
                userinfo(p, &k, &at, None, ev).await?;
                let url = p.endpoint("userinfo_endpoint")?;
                let (what, proof) = match probe {
                    P::UserinfoNoAth => ("a proof without ath", k.proof("GET", &url, None, None)?),
                    P::UserinfoWrongAth => (
                        "a proof whose ath is the hash of another token",
                        k.proof("GET", &url, Some(&random_token()), None)?,
                    ),
                    _ => {
                        let other = Prover::for_algs(&[k.alg().to_owned()])?;
                        if let Some(n) = k.nonce_for(&url) {
                            other.remember_nonce(&url, &n);
                        }
                        ev.step(format!("a second key made (thumbprint {})", other.thumbprint()));
                        ("a valid proof of another key", other.proof("GET", &url, Some(at.expose()), None)?)
                    }
                };
                ev.step(format!("userinfo with the bound access token and {what}"));
                let (r, _) = userinfo(p, &k, &at, Some(&proof), ev).await?;
                let o = userinfo_outcome(&r);
                if let Some(seen) = ev.dpop.as_mut() {
                    seen.userinfo_mistake = Some(o);
                }
            }
            if probe == P::SchemeCase {
                ev.step("userinfo with the bound access token in the scheme written `dpop` (lower case) and a valid proof");
                let (r, _) = userinfo_in(p, &k, &at, None, "dpop", ev).await?;
                let o = userinfo_outcome(&r);
                if let Some(seen) = ev.dpop.as_mut() {
                    seen.scheme_case = Some(o);
                }
            }
            ev.step("userinfo with the bound access token in the DPoP scheme and a fresh proof carrying ath");
            let (r, _) = userinfo(p, &k, &at, None, ev).await?;
            let o = userinfo_outcome(&r);
            if let Some(seen) = ev.dpop.as_mut() {
                seen.userinfo = Some(o);
            }
            Ok(())
        }
        P::Refresh => {
            let Some(rt) = last(|s| s.refresh_token.clone(), ev) else {
                ev.not_applicable = Some(
                    "the provider issued no refresh token to refresh with (it may not grant `offline_access` to this client, or the client is not registered for the refresh_token grant)"
                        .into(),
                );
                return Ok(());
            };
            ev.misuse_attempted = true;
            let other = Arc::new(Prover::for_algs(&[k.alg().to_owned()])?);
            ev.step(format!(
                "refreshing with a DPoP proof of another key (thumbprint {}), not the one the refresh token was issued with",
                other.thumbprint()
            ));
            ev.dpop_key = Some(other);
            let got = super::refresh_tokens(p, case, &rt, ev).await;
            ev.dpop_key = Some(k.clone());
            let got = got?;
            let other_key = token_outcome(&got, ev);
            ev.error = None;
            ev.step("refreshing without a DPoP proof");
            ev.dpop_key = None;
            let got = super::refresh_tokens(p, case, &rt, ev).await;
            ev.dpop_key = Some(k.clone());
            let got = got?;
            let without = token_outcome(&got, ev);
            ev.error = None;
            ev.step("refreshing with a proof of the key the refresh token was issued with");
            let got = super::refresh_tokens(p, case, &rt, ev).await?;
            let right = token_outcome(&got, ev);
            if let Some(set) = got {
                ev.token_sets.push(set);
            }
            // The probes' refusals are theirs, not the case's.
            ev.error = None;
            if let Some(seen) = ev.dpop.as_mut() {
                seen.refresh_other_key = Some(other_key);
                seen.refresh_without_proof = Some(without);
                seen.refresh = Some(right);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(jws: &str, i: usize) -> Value {
        let p: Vec<&str> = jws.split('.').collect();
        serde_json::from_slice(&B64.decode(p[i]).unwrap()).unwrap()
    }

    #[test]
    fn a_proof_has_the_header_and_claims_of_rfc_9449_and_verifies() {
        let k = Prover::es256().unwrap();
        let url = Url::parse("https://op.test/token?x=1#frag").unwrap();
        let jws = k.proof("POST", &url, None, None).unwrap();
        let header = part(&jws, 0);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["jwk"]["kty"], "EC");
        assert!(header["jwk"].get("d").is_none(), "no private part");
        let claims = part(&jws, 1);
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["htu"], "https://op.test/token");
        assert!(claims["jti"].as_str().unwrap().len() >= 16);
        assert!((claims["iat"].as_i64().unwrap() - crate::check::now()).abs() < 600);
        assert!(claims.get("ath").is_none() && claims.get("nonce").is_none());
        // The signature verifies with the key in the header.
        let x = B64.decode(header["jwk"]["x"].as_str().unwrap()).unwrap();
        let y = B64.decode(header["jwk"]["y"].as_str().unwrap()).unwrap();
        let mut point = vec![4u8];
        point.extend(x);
        point.extend(y);
        let (input, sig) = jws.rsplit_once('.').unwrap();
        let key = aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED, &point);
        assert!(key.verify(input.as_bytes(), &B64.decode(sig).unwrap()).is_ok());
        // A bad signature does not; two proofs never share a jti.
        let bad = k.proof("POST", &url, None, Some(Fault::BadSignature)).unwrap();
        let (input, sig) = bad.rsplit_once('.').unwrap();
        assert!(key.verify(input.as_bytes(), &B64.decode(sig).unwrap()).is_err());
        assert_ne!(part(&jws, 1)["jti"], part(&k.proof("POST", &url, None, None).unwrap(), 1)["jti"]);
    }

    #[test]
    fn faults_change_only_what_they_name() {
        let k = Prover::es256().unwrap();
        let url = Url::parse("https://op.test/token").unwrap();
        let htu = part(&k.proof("POST", &url, None, Some(Fault::WrongHtu)).unwrap(), 1);
        assert_eq!(htu["htu"], "https://op.test/oidc-conform/not-this-endpoint");
        assert_eq!(htu["htm"], "POST");
        let htm = part(&k.proof("POST", &url, None, Some(Fault::WrongHtm)).unwrap(), 1);
        assert_eq!(htm["htm"], "GET");
        assert_eq!(htm["htu"], "https://op.test/token");
    }

    #[test]
    fn the_header_and_claim_faults_break_only_their_item() {
        let k = Prover::es256().unwrap();
        let url = Url::parse("https://op.test:8443/token").unwrap();
        let typ = k.proof("POST", &url, None, Some(Fault::WrongTyp)).unwrap();
        assert_eq!(part(&typ, 0)["typ"], "JWT");
        let none = k.proof("POST", &url, None, Some(Fault::AlgNone)).unwrap();
        assert_eq!(part(&none, 0)["alg"], "none");
        assert!(none.ends_with('.'), "unsigned: an empty signature");
        // One required claim left out each, the others as in a valid proof.
        for (fault, name) in [
            (Fault::NoHtm, "htm"),
            (Fault::NoHtu, "htu"),
            (Fault::NoIat, "iat"),
            (Fault::NoJti, "jti"),
        ] {
            let claims = part(&k.proof("POST", &url, None, Some(fault)).unwrap(), 1);
            assert!(claims.get(name).is_none(), "{name}: {claims}");
            for other in ["htm", "htu", "iat", "jti"].into_iter().filter(|o| *o != name) {
                assert!(claims.get(other).is_some(), "{name} leaves {other}: {claims}");
            }
        }
        // One header parameter left out each.
        for (fault, name) in [(Fault::NoTyp, "typ"), (Fault::NoAlg, "alg"), (Fault::NoJwk, "jwk")] {
            let header = part(&k.proof("POST", &url, None, Some(fault)).unwrap(), 0);
            assert!(header.get(name).is_none(), "{name}: {header}");
            assert_eq!(header.as_object().unwrap().len(), 2, "{name} leaves the other two: {header}");
        }
        // Not a JWT: a header and claims as in a proof, no third part.
        let two = k.proof("POST", &url, None, Some(Fault::NotJwt)).unwrap();
        assert_eq!(two.split('.').count(), 2, "{two}");
        assert_eq!(part(&two, 0)["typ"], "dpop+jwt");
        let hs = k.proof("POST", &url, None, Some(Fault::SymmetricAlg)).unwrap();
        assert_eq!(part(&hs, 0)["alg"], "HS256");
        assert_eq!(B64.decode(hs.rsplit('.').next().unwrap()).unwrap().len(), 32);
        let d = k.proof("POST", &url, None, Some(Fault::PrivateKey)).unwrap();
        let jwk = &part(&d, 0)["jwk"];
        assert_eq!(B64.decode(jwk["d"].as_str().unwrap()).unwrap().len(), 32);
        // A key of its own, valid: the proof verifies with its public part.
        assert_ne!(thumbprint(jwk).unwrap(), k.thumbprint());
        let mut point = vec![4u8];
        point.extend(B64.decode(jwk["x"].as_str().unwrap()).unwrap());
        point.extend(B64.decode(jwk["y"].as_str().unwrap()).unwrap());
        let (input, sig) = d.rsplit_once('.').unwrap();
        let key = aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED, &point);
        assert!(key.verify(input.as_bytes(), &B64.decode(sig).unwrap()).is_ok());
        assert!(
            part(&k.proof("POST", &url, None, Some(Fault::NoJti)).unwrap(), 1)
                .get("jti")
                .is_none()
        );
        let now = crate::check::now();
        let old = part(&k.proof("POST", &url, None, Some(Fault::OldIat)).unwrap(), 1)["iat"]
            .as_i64()
            .unwrap();
        let ahead = part(&k.proof("POST", &url, None, Some(Fault::FutureIat)).unwrap(), 1)["iat"]
            .as_i64()
            .unwrap();
        assert!((now - old - 3600).abs() < 60 && (ahead - now - 3600).abs() < 60);
        let q = part(&k.proof("POST", &url, None, Some(Fault::HtuWithQuery)).unwrap(), 1);
        assert_eq!(q["htu"], "https://op.test:8443/token?oidc-conform=probe#probe");
        let n = part(&k.proof("POST", &url, None, Some(Fault::HtuUnnormalized)).unwrap(), 1);
        assert_eq!(n["htu"], "HTTPS://OP.TEST:8443/token");
        let default_port = Url::parse("https://op.test/token").unwrap();
        let n = part(&k.proof("POST", &default_port, None, Some(Fault::HtuUnnormalized)).unwrap(), 1);
        assert_eq!(n["htu"], "HTTPS://OP.TEST:443/token");
        // The rest stays valid: typ, htm and htu of an ordinary proof.
        let two = k.proof("POST", &url, None, Some(Fault::TwoProofs)).unwrap();
        assert_eq!(part(&two, 0)["typ"], "dpop+jwt");
        assert_eq!(part(&two, 1)["htu"], "https://op.test:8443/token");
        assert!(Fault::HtuWithQuery.to_be_taken() && !Fault::WrongTyp.to_be_taken());
    }

    #[test]
    fn the_dpop_challenge_is_found_among_others() {
        assert_eq!(dpop_challenge(r#"DPoP algs="ES256""#), Some(r#"DPoP algs="ES256""#));
        assert_eq!(
            dpop_challenge(r#"Bearer realm="x", dpop error="invalid_token", algs="ES256""#),
            Some(r#"dpop error="invalid_token", algs="ES256""#)
        );
        assert_eq!(dpop_challenge("DPoP"), Some("DPoP"));
        assert_eq!(dpop_challenge(r#"Bearer error_description="no dpop here""#), None);
        assert_eq!(dpop_challenge(r#"Bearer realm="x", dpop_hint=1"#), None);
        assert_eq!(dpop_challenge("Bearer"), None);
    }

    #[test]
    fn ath_and_nonce_go_in_the_proof() {
        // RFC 9449 §7.1, figures 13 and 14: the access token and its ath.
        assert_eq!(
            ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
        let k = Prover::rs256().unwrap();
        let url = Url::parse("https://rs.test/userinfo").unwrap();
        k.remember_nonce(&Url::parse("https://rs.test/other").unwrap(), "n-1");
        let jws = k.proof("GET", &url, Some("tok"), None).unwrap();
        assert_eq!(part(&jws, 0)["alg"], "RS256");
        let claims = part(&jws, 1);
        assert_eq!(claims["ath"], ath("tok"));
        assert_eq!(claims["nonce"], "n-1");
        // Another server's nonce is not sent.
        assert!(k.nonce_for(&Url::parse("https://op.test/token").unwrap()).is_none());
    }

    #[test]
    fn htu_leaves_out_query_and_fragment() {
        assert_eq!(htu(&Url::parse("https://op.test/token").unwrap()), "https://op.test/token");
        assert_eq!(
            htu(&Url::parse("https://op.test:8443/a/b?c=d#e").unwrap()),
            "https://op.test:8443/a/b"
        );
        // The url crate already drops a default port and lower-cases the host.
        assert_eq!(htu(&Url::parse("HTTPS://OP.test:443/x").unwrap()), "https://op.test/x");
    }

    #[test]
    fn thumbprints_follow_rfc_7638() {
        // RFC 7638 §3.1's example RSA key.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(thumbprint(&jwk).unwrap(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        // RFC 9449's example key (§4.1) and the jkt of its figure 9.
        let ec = json!({
            "kty": "EC",
            "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
            "crv": "P-256"
        });
        assert_eq!(thumbprint(&ec).unwrap(), "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
        assert_eq!(thumbprint(&json!({"kty": "oct", "k": "c2VjcmV0"})), None);
        let k = Prover::es256().unwrap();
        assert_eq!(k.thumbprint(), thumbprint(&k.jwk).unwrap());
    }
}
