//! JWT client authentication (OIDC Core §9; RFC 7523 §2.2, §3): the client
//! assertion a client registered for `private_key_jwt` (RS256 with its
//! private key) or `client_secret_jwt` (HS256 with its secret) sends in
//! `client_assertion`, conformant or with the one fault a probe asks for.
//! An assertion is a credential: the case keeps those it sent
//! ([`super::Evidence::sent_assertions`]) and its report is scrubbed of them.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::profile::{Client, ClientAuth};
use crate::reference::keys::SignMode;
use crate::secret::Secret;

/// `client_assertion_type` of a JWT assertion (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How an assertion departs from a conformant one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// None: `iss` = `sub` = the client id, `aud` the audience the provider
    /// takes (the token endpoint URL, as OIDC Core §9 asks of clients, unless
    /// the provider refused it), a fresh `jti`, `iat` now, `exp` in 60 s.
    None,
    /// `aud` is a URL that is not the provider's.
    WrongAudience,
    /// `aud` is the issuer identifier.
    IssuerAudience,
    /// `aud` is the token endpoint URL.
    TokenEndpointAudience,
    /// `exp` passed 300 s ago (outside any sane clock skew).
    Expired,
    /// `sub` is not the client id.
    WrongSubject,
    /// `iss` is not the client id.
    WrongIssuer,
    /// The signature (or MAC) does not verify.
    BadSignature,
    /// `alg: none`, no signature.
    AlgNone,
    /// No `exp` claim.
    NoExpiry,
}

impl Fault {
    /// What the fault is, for traces and verdicts.
    pub fn describe(self) -> &'static str {
        match self {
            Fault::None => "a conformant assertion",
            Fault::WrongAudience => "an assertion whose `aud` is another server's URL",
            Fault::IssuerAudience => "an assertion whose `aud` is the issuer identifier",
            Fault::TokenEndpointAudience => "an assertion whose `aud` is the token endpoint URL",
            Fault::Expired => "an assertion whose `exp` passed 300 s ago",
            Fault::WrongSubject => "an assertion whose `sub` is not the client id",
            Fault::WrongIssuer => "an assertion whose `iss` is not the client id",
            Fault::BadSignature => "an assertion whose signature does not verify",
            Fault::AlgNone => "an unsigned assertion (`alg: none`)",
            Fault::NoExpiry => "an assertion without `exp`",
        }
    }
}

/// The audience no provider is: a URL of the reserved `.example` domain.
pub const FOREIGN_AUDIENCE: &str = "https://other-server.example/token";

/// The audiences of a provider's assertions.
#[derive(Clone, Debug)]
pub struct Audiences {
    /// The one a conformant assertion names.
    pub base: String,
    pub token_endpoint: String,
    pub issuer: String,
}

impl Audiences {
    /// `base` the token endpoint URL (OIDC Core §9: the audience SHOULD be it),
    /// or the issuer when the provider refused that.
    pub fn new(token_endpoint: &str, issuer: &str, issuer_as_base: bool) -> Audiences {
        Audiences {
            base: if issuer_as_base { issuer } else { token_endpoint }.to_owned(),
            token_endpoint: token_endpoint.to_owned(),
            issuer: issuer.to_owned(),
        }
    }
}

/// The claims of an assertion of `client_id`, with `fault`.
pub fn claims(client_id: &str, aud: &Audiences, fault: Fault, jti: &str, now: u64) -> Value {
    let aud = match fault {
        Fault::WrongAudience => FOREIGN_AUDIENCE,
        Fault::IssuerAudience => aud.issuer.as_str(),
        Fault::TokenEndpointAudience => aud.token_endpoint.as_str(),
        _ => aud.base.as_str(),
    };
    let other = format!("{client_id}-other");
    let (iss, sub) = match fault {
        Fault::WrongIssuer => (other.as_str(), client_id),
        Fault::WrongSubject => (client_id, other.as_str()),
        _ => (client_id, client_id),
    };
    let (iat, exp) = if fault == Fault::Expired {
        (now - 360, now - 300)
    } else {
        (now, now + 60)
    };
    let mut claims = json!({"iss": iss, "sub": sub, "aud": aud, "jti": jti, "iat": iat, "exp": exp});
    if fault == Fault::NoExpiry
        && let Some(o) = claims.as_object_mut()
    {
        o.remove("exp");
    }
    claims
}

/// A new `jti`: 128 random bits.
pub fn new_jti() -> String {
    super::random_token()
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A signed assertion of `client` for `method`, with `fault`, and its `jti`.
pub fn make(client: &Client, method: ClientAuth, aud: &Audiences, fault: Fault) -> Result<Secret, String> {
    let jti = new_jti();
    let claims = claims(&client.id, aud, fault, &jti, unix_now());
    if fault == Fault::AlgNone {
        return unsigned(&claims);
    }
    sign(client, method, &claims, fault == Fault::BadSignature)
}

/// `claims` as an unsecured JWT (RFC 7519 §6: `alg: none`, an empty signature).
fn unsigned(claims: &Value) -> Result<Secret, String> {
    use base64::Engine as _;
    let part = |v: &Value| -> Result<String, String> {
        let bytes = serde_json::to_vec(v).map_err(|e| e.to_string())?;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    };
    Ok(Secret::new(format!(
        "{}.{}.",
        part(&json!({"alg": "none", "typ": "JWT"}))?,
        part(claims)?
    )))
}

/// `claims` signed as `method` asks: RS256 with the client's private key, or
/// HS256 with its secret; `bad` spoils the signature.
pub fn sign(client: &Client, method: ClientAuth, claims: &Value, bad: bool) -> Result<Secret, String> {
    let jwt = match method {
        ClientAuth::PrivateKeyJwt => {
            let key = client.private_key.as_ref().ok_or_else(|| {
                format!(
                    "client `{}` authenticates with private_key_jwt, but the harness holds no private key for it",
                    client.id
                )
            })?;
            let mode = if bad { SignMode::BadSignature } else { SignMode::Normal };
            key.sign("JWT", claims, mode).map_err(|e| e.to_string())?
        }
        ClientAuth::ClientSecretJwt => {
            let secret = client
                .secret
                .as_ref()
                .ok_or_else(|| format!("client `{}` authenticates with client_secret_jwt, but has no secret", client.id))?;
            // A MAC with another secret: what a client that lost its secret would send.
            let key = if bad {
                format!("{}-wrong", secret.expose())
            } else {
                secret.expose().to_owned()
            };
            let mut header = Header::new(Algorithm::HS256);
            header.typ = Some("JWT".into());
            jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(key.as_bytes())).map_err(|e| e.to_string())?
        }
        other => return Err(format!("`{}` sends no client assertion", other.as_str())),
    };
    Ok(Secret::new(jwt))
}

/// The form fields of JWT client authentication (RFC 7523 §2.2; OIDC Core §9):
/// `client_assertion_type`, `client_assertion`, and `client_id` when given
/// (RFC 7521 §4.2 lets the client send it; it names the same client).
pub fn form_fields(client_id: Option<&str>, assertion: &Secret) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = client_id.map(|id| ("client_id".to_owned(), id.to_owned())).into_iter().collect();
    out.push(("client_assertion_type".to_owned(), ASSERTION_TYPE.to_owned()));
    out.push(("client_assertion".to_owned(), assertion.expose().to_owned()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};
    use std::sync::Arc;

    fn client(method: ClientAuth) -> Client {
        Client {
            id: "jwt-client".into(),
            secret: Some(Secret::new("a-secret-of-the-client-0123456789")),
            private_key: Some(Arc::new(crate::reference::keys::Keys::generate().unwrap())),
            auth: method,
            auth_methods: vec![method],
            redirect_uri: None,
            post_logout_redirect_uri: None,
            grant_types: None,
            response_types: None,
            third_party: false,
            id_token_signed_response_alg: None,
            userinfo_signed_response_alg: None,
            declared_at: None,
            consent: None,
            scopes: vec![],
        }
    }

    fn validation(alg: Algorithm, aud: &str) -> Validation {
        let mut v = Validation::new(alg);
        v.set_audience(&[aud]);
        v.set_issuer(&["jwt-client"]);
        v.sub = Some("jwt-client".into());
        v.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        v
    }

    fn aud() -> Audiences {
        Audiences::new("https://op.test/token", "https://op.test", false)
    }

    #[test]
    fn a_conformant_assertion_names_the_client_and_the_token_endpoint() {
        let c = claims("c1", &aud(), Fault::None, "j1", 1_000_000);
        assert_eq!(c["iss"], "c1");
        assert_eq!(c["sub"], "c1");
        assert_eq!(c["aud"], "https://op.test/token");
        assert_eq!(c["jti"], "j1");
        assert_eq!(c["exp"], 1_000_060);
        assert_eq!(c["iat"], 1_000_000);
        let c = claims("c1", &aud(), Fault::IssuerAudience, "j", 9_000);
        assert_eq!(c["aud"], "https://op.test");
        // A provider that refused the token endpoint URL: the issuer is the base.
        let issuer_based = Audiences::new("https://op.test/token", "https://op.test", true);
        assert_eq!(claims("c1", &issuer_based, Fault::Expired, "j", 9_000)["aud"], "https://op.test");
        assert_eq!(
            claims("c1", &issuer_based, Fault::TokenEndpointAudience, "j", 9_000)["aud"],
            "https://op.test/token"
        );
    }

    #[test]
    fn each_fault_changes_only_its_claim() {
        let a = Audiences::new("t", "i", false);
        let base = claims("c1", &a, Fault::None, "j", 10_000);
        for (fault, claim) in [
            (Fault::WrongAudience, "aud"),
            (Fault::IssuerAudience, "aud"),
            (Fault::WrongSubject, "sub"),
            (Fault::WrongIssuer, "iss"),
        ] {
            let c = claims("c1", &a, fault, "j", 10_000);
            for k in ["iss", "sub", "aud", "jti", "iat", "exp"] {
                assert_eq!(c[k] == base[k], k != claim, "{fault:?} {k}");
            }
        }
        let expired = claims("c1", &a, Fault::Expired, "j", 10_000);
        assert!(expired["exp"].as_u64().unwrap() + 300 <= 10_000);
        assert_eq!(claims("c1", &a, Fault::BadSignature, "j", 10_000), base);
        assert_eq!(claims("c1", &a, Fault::AlgNone, "j", 10_000), base);
        let no_exp = claims("c1", &a, Fault::NoExpiry, "j", 10_000);
        assert!(no_exp.get("exp").is_none() && no_exp["iat"] == base["iat"]);
        assert_eq!(claims("c1", &a, Fault::TokenEndpointAudience, "j", 10_000), base);
    }

    #[test]
    fn private_key_jwt_verifies_with_the_registered_key_and_a_spoilt_one_does_not() {
        let c = client(ClientAuth::PrivateKeyJwt);
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(c.private_key.as_ref().unwrap().jwks()).unwrap();
        let key = DecodingKey::from_jwk(&jwks.keys[0]).unwrap();
        let good = make(&c, ClientAuth::PrivateKeyJwt, &aud(), Fault::None).unwrap();
        let v = validation(Algorithm::RS256, "https://op.test/token");
        let data = jsonwebtoken::decode::<Value>(good.expose(), &key, &v).unwrap();
        assert!(data.claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
        let bad = make(&c, ClientAuth::PrivateKeyJwt, &aud(), Fault::BadSignature).unwrap();
        assert!(jsonwebtoken::decode::<Value>(bad.expose(), &key, &v).is_err());
        let none = make(&c, ClientAuth::PrivateKeyJwt, &aud(), Fault::AlgNone).unwrap();
        assert!(none.expose().ends_with('.') && none.expose().split('.').count() == 3);
        assert!(jsonwebtoken::decode::<Value>(none.expose(), &key, &v).is_err());
    }

    #[test]
    fn client_secret_jwt_is_an_hmac_of_the_secret() {
        let c = client(ClientAuth::ClientSecretJwt);
        let key = DecodingKey::from_secret(c.secret.as_ref().unwrap().expose().as_bytes());
        let v = validation(Algorithm::HS256, "https://op.test/token");
        let good = make(&c, ClientAuth::ClientSecretJwt, &aud(), Fault::None).unwrap();
        assert!(jsonwebtoken::decode::<Value>(good.expose(), &key, &v).is_ok());
        let bad = make(&c, ClientAuth::ClientSecretJwt, &aud(), Fault::BadSignature).unwrap();
        assert!(jsonwebtoken::decode::<Value>(bad.expose(), &key, &v).is_err());
        let fields = form_fields(Some(&c.id), &good);
        assert_eq!(fields[0], ("client_id".to_owned(), c.id.clone()));
        assert_eq!(fields[1], ("client_assertion_type".to_owned(), ASSERTION_TYPE.to_owned()));
        assert_eq!(form_fields(None, &good).len(), 2);
        assert!(make(&c, ClientAuth::ClientSecretBasic, &aud(), Fault::None).is_err());
    }
}
