//! Token minting shared by the authorization and token endpoints: granted
//! scopes, claims by scope, ID tokens and access tokens (with the faults the
//! quirks ask for).

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::keys::{KeyError, SignMode, half_hash};
use super::store::{Full, Grant, Token, TokenKind, token_key};
use super::{ClientReg, InternalError, Quirk, Shared, UserReg, random_token, unix_now};

/// Claims released by the `profile` scope (OIDC Core §5.4).
pub(crate) const PROFILE_CLAIMS: &[&str] = &[
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
];
/// Profile claims the `profile-claims-missing` quirk leaves out.
const PROFILE_CLAIMS_WITHHELD: &[&str] = &["name", "nickname"];
/// Claims released by the `email` scope.
pub(crate) const EMAIL_CLAIMS: &[&str] = &["email", "email_verified"];
/// Claims released by the `address` scope.
pub(crate) const ADDRESS_CLAIMS: &[&str] = &["address"];
/// Claims released by the `phone` scope.
pub(crate) const PHONE_CLAIMS: &[&str] = &["phone_number", "phone_number_verified"];

/// How far in the past the `*-expired` quirks put `exp` (well beyond any
/// clock-skew leeway).
const EXPIRED_BY: u64 = 600;

impl From<KeyError> for InternalError {
    fn from(e: KeyError) -> Self {
        InternalError(e.to_string())
    }
}

impl From<Full> for InternalError {
    fn from(e: Full) -> Self {
        InternalError(e.to_string())
    }
}

pub(crate) fn has(scopes: &[String], scope: &str) -> bool {
    scopes.iter().any(|s| s == scope)
}

/// Splits a `scope` parameter into its tokens, dropping repeats.
pub(crate) fn parse_scope(scope: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for token in scope.unwrap_or_default().split(' ').filter(|s| !s.is_empty()) {
        if !has(&out, token) {
            out.push(token.to_owned());
        }
    }
    out
}

/// Whether every scope token uses only the characters RFC 6749 §3.3 allows.
pub(crate) fn scope_syntax_ok(scopes: &[String]) -> bool {
    scopes.iter().all(|s| {
        s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
    })
}

/// The scopes granted for an authorization request: the requested OIDC
/// scopes (`offline_access` only for clients allowed to refresh) plus the
/// requested scopes the target API defines; anything else is ignored.
pub(crate) fn grant_scopes(shared: &Shared, client: &ClientReg, requested: &[String], audience: Option<&str>) -> Vec<String> {
    let api_scopes: &[String] = audience
        .and_then(|a| shared.api(a))
        .map(|api| api.scopes.as_slice())
        .unwrap_or_default();
    let mut granted: Vec<String> = requested
        .iter()
        .filter(|s| match s.as_str() {
            "offline_access" => client.has_grant("refresh_token"),
            s if super::discovery::OIDC_SCOPES.contains(&s) => true,
            s => api_scopes.iter().any(|a| a == s),
        })
        .cloned()
        .collect();
    if shared.quirk(Quirk::ScopeOverGrant) {
        for scope in api_scopes {
            if !has(&granted, scope) {
                granted.push(scope.clone());
            }
        }
    }
    granted
}

/// Whether two scope lists hold the same set.
pub(crate) fn same_scopes(a: &[String], b: &[String]) -> bool {
    a.iter().all(|s| has(b, s)) && b.iter().all(|s| has(a, s))
}

/// Whether to issue an ID token for these scopes.
pub(crate) fn wants_id_token(shared: &Shared, scopes: &[String]) -> bool {
    has(scopes, "openid") || shared.quirk(Quirk::IdTokenWithoutOpenid)
}

/// The user's claims released for `scopes`, plus the roles claim(s). Used
/// alike for ID tokens and userinfo.
pub(crate) fn user_claims(shared: &Shared, user: &UserReg, scopes: &[String]) -> Map<String, Value> {
    let mut out = Map::new();
    let groups: [(&str, &[&str], bool); 4] = [
        ("profile", PROFILE_CLAIMS, shared.quirk(Quirk::ProfileClaimsWithoutScope)),
        ("email", EMAIL_CLAIMS, shared.quirk(Quirk::EmailClaimsWithoutScope)),
        ("address", ADDRESS_CLAIMS, false),
        ("phone", PHONE_CLAIMS, false),
    ];
    let withheld: &[&str] = if shared.quirk(Quirk::ProfileClaimsMissing) {
        PROFILE_CLAIMS_WITHHELD
    } else {
        &[]
    };
    for (scope, claims, forced) in groups {
        if forced || has(scopes, scope) {
            for claim in claims.iter().filter(|c| !withheld.contains(c)) {
                if let Some(value) = user.claims.get(*claim) {
                    out.insert((*claim).to_owned(), value.clone());
                }
            }
        }
    }
    add_roles(shared, user, &mut out);
    out
}

/// The user's claims asked for by name with the `claims` parameter (OIDC Core §5.5).
pub(crate) fn asked_claims(user: &UserReg, names: &[String]) -> Map<String, Value> {
    names
        .iter()
        .filter_map(|n| user.claims.get(n).map(|v| (n.clone(), v.clone())))
        .collect()
}

fn add_roles(shared: &Shared, user: &UserReg, claims: &mut Map<String, Value>) {
    for name in shared.roles_claim_names() {
        claims.insert(name, json!(user.roles));
    }
}

/// What an ID token is minted from.
pub(crate) struct IdTokenInput<'a> {
    pub(crate) grant: &'a Grant,
    pub(crate) user: &'a UserReg,
    /// Scopes of this issuance (narrower than the grant's after a refresh).
    pub(crate) scopes: &'a [String],
    pub(crate) nonce: Option<&'a str>,
    /// The access token issued alongside, for `at_hash`.
    pub(crate) access_token: Option<&'a str>,
    /// The code issued alongside (hybrid flows), for `c_hash`.
    pub(crate) code: Option<&'a str>,
    /// Issued by a refresh (OIDC Core §12.2).
    pub(crate) refreshed: bool,
}

/// Mints an ID token (RS256, header kid and `typ: JWT`).
pub(crate) fn id_token(shared: &Shared, input: IdTokenInput<'_>) -> Result<String, InternalError> {
    let q = |quirk| shared.quirk(quirk);
    let client_id = input.grant.client_id.as_str();
    let now = unix_now();
    let ttl = shared.config.id_token_ttl_secs;
    let mut claims = Map::new();

    let iss = if q(Quirk::IdTokenWrongIss) {
        format!("{}/", shared.issuer)
    } else {
        shared.issuer.clone()
    };
    claims.insert("iss".into(), json!(iss));
    let mut sub = shared.subject(input.user);
    if q(Quirk::SsoNewSubject) && input.grant.sso {
        sub.push_str("-sso");
    }
    claims.insert("sub".into(), json!(sub));
    if q(Quirk::IdTokenAudApi) {
        let aud = input
            .grant
            .audience
            .clone()
            .unwrap_or_else(|| "https://api.other.example.test".to_owned());
        claims.insert("aud".into(), json!(aud));
    } else if q(Quirk::IdTokenMultiAudNoAzp) {
        claims.insert("aud".into(), json!([client_id, "https://other.example.test"]));
    } else {
        claims.insert("aud".into(), json!(client_id));
    }
    if q(Quirk::IdTokenAzpWrong) {
        claims.insert("azp".into(), json!("someone-else"));
    } else if input.refreshed && q(Quirk::RefreshIdTokenAzpAdded) {
        claims.insert("azp".into(), json!(client_id));
    }
    let (iat, exp) = if q(Quirk::IdTokenExpired) {
        (now, now.saturating_sub(EXPIRED_BY))
    } else if q(Quirk::IdTokenIatFuture) {
        (now + 3600, now + 3600 + ttl)
    } else {
        (now, now + ttl)
    };
    claims.insert("iat".into(), json!(iat));
    claims.insert("exp".into(), json!(exp));
    if !q(Quirk::AuthTimeMissing) {
        let auth_time = if q(Quirk::AuthTimeZero) { 0 } else { input.grant.auth_time };
        claims.insert("auth_time".into(), json!(auth_time));
    }
    if let Some(sid) = input.grant.sid.as_ref().filter(|_| !q(Quirk::BackchannelNoSidInIdToken)) {
        claims.insert("sid".into(), json!(sid));
    }
    if let Some(nonce) = input.nonce {
        if q(Quirk::NonceWrong) {
            claims.insert("nonce".into(), json!(format!("not-{nonce}")));
        } else if !q(Quirk::NonceNotEchoed) {
            claims.insert("nonce".into(), json!(nonce));
        }
    }
    if let Some(access_token) = input.access_token {
        if q(Quirk::AtHashWrong) {
            claims.insert("at_hash".into(), json!(half_hash(&format!("{access_token}x"))));
        } else if !q(Quirk::AtHashMissing) {
            claims.insert("at_hash".into(), json!(half_hash(access_token)));
        }
    }
    if let Some(code) = input.code {
        let hashed = if q(Quirk::CHashWrong) {
            half_hash(&format!("{code}x"))
        } else {
            half_hash(code)
        };
        claims.insert("c_hash".into(), json!(hashed));
    }
    if !(shared.config.scope_claims_at_userinfo && input.access_token.is_some()) {
        claims.extend(user_claims(shared, input.user, input.scopes));
    }
    if !q(Quirk::ClaimsParameterIgnored) {
        claims.extend(asked_claims(input.user, &input.grant.asked.id_token));
        if input.grant.asked.essential_acr {
            // OIDC Core §2: "0" is the level of a plain password login here.
            claims.insert("acr".into(), json!("0"));
        }
    }

    // OIDC Dynamic Registration §2: a client registered for unsigned ID tokens.
    let registered_none = shared
        .client(client_id)
        .is_some_and(|c| c.meta.id_token_alg.as_deref() == Some("none"))
        && !q(Quirk::RegisteredIdTokenAlgIgnored);
    let mode = if q(Quirk::IdTokenAlgNone) || registered_none {
        SignMode::AlgNone
    } else if q(Quirk::IdTokenHs256PublicKey) {
        SignMode::Hs256PublicKey
    } else if q(Quirk::IdTokenBadSignature) {
        SignMode::BadSignature
    } else if q(Quirk::IdTokenKidUnknown) {
        SignMode::UnknownKid
    } else {
        SignMode::Normal
    };
    let token = if q(Quirk::IdTokenMalformed) {
        // Two parts, neither of them base64url JSON: no JWT library decodes it.
        format!("not-a-jwt.{}", random_token()?)
    } else {
        shared.keys.sign("JWT", &Value::Object(claims), mode)?
    };

    if q(Quirk::UserinfoAcceptsIdToken) {
        remember(
            shared,
            &token,
            Token {
                kind: TokenKind::Id,
                client_id: client_id.to_owned(),
                username: Some(input.user.username.clone()),
                scopes: input.scopes.to_vec(),
                asked: vec![],
                family: None,
                expires: Instant::now() + Duration::from_secs(ttl),
                jkt: None,
            },
        )?;
    }
    Ok(token)
}

/// Mints an access token for a user grant: a JWT for the grant's API, or
/// an opaque token (good only at userinfo) when there is none. The token is
/// recorded so that userinfo can look it up.
pub(crate) fn access_token(
    shared: &Shared,
    grant: &Grant,
    user: &UserReg,
    scopes: &[String],
    family: Option<u64>,
) -> Result<String, InternalError> {
    let audience = grant.audience.as_deref().filter(|_| !shared.quirk(Quirk::AudienceIgnored));
    // The quirk: with no API requested, a token for the first API anyway.
    let leaked = shared.config.apis.first().map(|a| a.identifier.clone());
    let audience = audience.or(leaked.as_deref().filter(|_| shared.quirk(Quirk::ApiTokenWithoutAudience)));
    // RFC 9449 §6.1: a bound JWT access token names the key in `cnf.jkt`.
    let cnf = grant.jkt.as_ref().map(|jkt| {
        let named = if shared.quirk(Quirk::DpopJktWrong) {
            super::dpop::other_thumbprint(jkt)
        } else {
            jkt.clone()
        };
        json!({ "jkt": named })
    });
    let token = match audience {
        Some(api) => {
            let mut aud = Vec::new();
            if !shared.quirk(Quirk::AccessTokenAudMissingApi) {
                aud.push(api.to_owned());
            }
            let userinfo =
                (has(scopes, "openid") && !shared.quirk(Quirk::AccessTokenNoUserinfoAud)) || shared.quirk(Quirk::AccessTokenAudMissingApi);
            if userinfo {
                aud.push(shared.userinfo_url());
            }
            let mut claims = jwt_claims(shared, &shared.subject(user), aud, &grant.client_id, scopes)?;
            add_roles(shared, user, &mut claims);
            if let Some(cnf) = &cnf {
                claims.insert("cnf".into(), cnf.clone());
            }
            sign_access_token(shared, claims)?
        }
        // The quirk: with no API requested, a JWT for the first scope value.
        None if shared.quirk(Quirk::ScopeAsAudience) && !scopes.is_empty() => {
            let mut claims = jwt_claims(shared, &shared.subject(user), vec![scopes[0].clone()], &grant.client_id, scopes)?;
            add_roles(shared, user, &mut claims);
            if let Some(cnf) = &cnf {
                claims.insert("cnf".into(), cnf.clone());
            }
            sign_access_token(shared, claims)?
        }
        // A bound token for userinfo: a JWT, so that it carries its binding.
        None if cnf.is_some() => {
            let mut claims = jwt_claims(shared, &shared.subject(user), vec![shared.userinfo_url()], &grant.client_id, scopes)?;
            add_roles(shared, user, &mut claims);
            if let Some(cnf) = &cnf {
                claims.insert("cnf".into(), cnf.clone());
            }
            sign_access_token(shared, claims)?
        }
        None => super::opaque_value(shared)?,
    };
    remember(
        shared,
        &token,
        Token {
            kind: TokenKind::Access,
            client_id: grant.client_id.clone(),
            username: Some(user.username.clone()),
            scopes: scopes.to_vec(),
            asked: if shared.quirk(Quirk::ClaimsParameterIgnored) {
                vec![]
            } else {
                grant.asked.userinfo.clone()
            },
            family,
            expires: Instant::now() + Duration::from_secs(shared.config.access_token_ttl_secs),
            jkt: grant.jkt.clone(),
        },
    )?;
    Ok(token)
}

/// Mints an opaque client-credentials access token (no API asked for).
pub(crate) fn client_opaque_token(shared: &Shared, client_id: &str, scopes: &[String]) -> Result<String, InternalError> {
    remember_client_token(shared, random_token()?, client_id, scopes)
}

/// Stores a client-credentials access token (no user) and hands it back.
fn remember_client_token(shared: &Shared, token: String, client_id: &str, scopes: &[String]) -> Result<String, InternalError> {
    remember(
        shared,
        &token,
        Token {
            kind: TokenKind::Access,
            client_id: client_id.to_owned(),
            username: None,
            scopes: scopes.to_vec(),
            asked: vec![],
            family: None,
            expires: Instant::now() + Duration::from_secs(shared.config.access_token_ttl_secs),
            jkt: None,
        },
    )?;
    Ok(token)
}

/// Mints a client-credentials access token: a JWT whose subject is the
/// client itself.
pub(crate) fn client_access_token(shared: &Shared, client_id: &str, audience: &str, scopes: &[String]) -> Result<String, InternalError> {
    let mut claims = jwt_claims(shared, client_id, vec![audience.to_owned()], client_id, scopes)?;
    if shared.quirk(Quirk::ClientCredentialsSubNull) {
        claims.insert("sub".into(), Value::Null);
    }
    remember_client_token(shared, sign_access_token(shared, claims)?, client_id, scopes)
}

/// The registered claims of a JWT access token (RFC 9068 §2.2).
fn jwt_claims(
    shared: &Shared,
    sub: &str,
    aud: Vec<String>,
    client_id: &str,
    scopes: &[String],
) -> Result<Map<String, Value>, InternalError> {
    let now = unix_now();
    let ttl = shared.config.access_token_ttl_secs;
    let exp = if shared.quirk(Quirk::AccessTokenExpired) {
        now.saturating_sub(EXPIRED_BY)
    } else {
        now + ttl
    };
    let mut claims = Map::new();
    let iss = if shared.quirk(Quirk::AccessTokenWrongIss) {
        format!("{}/evil", shared.issuer)
    } else {
        shared.issuer.clone()
    };
    claims.insert("iss".into(), json!(iss));
    claims.insert("sub".into(), json!(sub));
    claims.insert("aud".into(), json!(aud));
    if !shared.quirk(Quirk::AccessTokenNoAzp) {
        claims.insert("azp".into(), json!(client_id));
    }
    if !shared.quirk(Quirk::AccessTokenNoClientId) {
        claims.insert("client_id".into(), json!(client_id));
    }
    claims.insert("scope".into(), json!(scopes.join(" ")));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(exp));
    if !shared.quirk(Quirk::AccessTokenNoJti) {
        claims.insert("jti".into(), json!(random_token()?));
    }
    Ok(claims)
}

fn sign_access_token(shared: &Shared, claims: Map<String, Value>) -> Result<String, InternalError> {
    let typ = if shared.quirk(Quirk::AccessTokenTypJwt) { "JWT" } else { "at+jwt" };
    let mode = if shared.quirk(Quirk::AccessTokenBadSignature) {
        SignMode::BadSignature
    } else {
        SignMode::Normal
    };
    let token = shared.keys.sign(typ, &Value::Object(claims), mode)?;
    if shared.quirk(Quirk::AccessTokenMalformed) {
        // Still three dot-separated parts, but the header is not base64url
        // JSON. The caller records the token as returned, so userinfo takes it.
        let rest = token.split_once('.').map_or("", |(_, rest)| rest);
        return Ok(format!("!!!.{rest}"));
    }
    Ok(token)
}

fn remember(shared: &Shared, token: &str, record: Token) -> Result<(), InternalError> {
    let now = Instant::now();
    let mut store = shared.store();
    store.maybe_sweep(now);
    store.tokens.insert(token_key(token), record, now)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::reference::ReferenceProvider;
    use base64::Engine as _;
    use reqwest::StatusCode;

    #[test]
    fn scope_parsing() {
        assert_eq!(parse_scope(Some("openid  profile openid x")), vec!["openid", "profile", "x"]);
        assert!(parse_scope(None).is_empty());
        assert!(scope_syntax_ok(&parse_scope(Some("read:patients openid"))));
        assert!(!scope_syntax_ok(&["a\"b".to_owned()]));
        assert!(!scope_syntax_ok(&["a\\b".to_owned()]));
        assert!(same_scopes(&parse_scope(Some("a b")), &parse_scope(Some("b a"))));
        assert!(!same_scopes(&parse_scope(Some("a b")), &parse_scope(Some("a"))));
    }

    /// What one code flow produced, for quirk predicates.
    struct Seen {
        issuer: String,
        id_raw: String,
        id_header: Value,
        id: Value,
        id_verified: bool,
        at_raw: String,
        at_header: Value,
        at: Value,
        at_verified: bool,
        body: Value,
        userinfo: Value,
    }

    async fn code_flow(provider: &ReferenceProvider, scope: &str) -> Seen {
        let got = browse_ok(
            provider,
            &[
                ("client_id", WEB),
                ("redirect_uri", WEB_CALLBACK),
                ("response_type", "code"),
                ("scope", scope),
                ("nonce", "nonce-1"),
                ("audience", HEALTH),
            ],
        )
        .await;
        let (status, body) = redeem(provider, &got["code"]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let id_raw = body["id_token"].as_str().unwrap_or_default().to_owned();
        let at_raw = body["access_token"].as_str().unwrap().to_owned();
        let (id_header, id) = lenient_parts(&id_raw);
        let (at_header, at) = lenient_parts(&at_raw);
        let id_verified = try_verify(provider, &id_raw).await.is_some();
        let at_verified = try_verify(provider, &at_raw).await.is_some();
        let userinfo = userinfo(provider, Some(&at_raw)).await.json().await.unwrap_or(Value::Null);
        Seen {
            issuer: provider.issuer().to_owned(),
            id_raw,
            id_header,
            id,
            id_verified,
            at_raw,
            at_header,
            at,
            at_verified,
            body,
            userinfo,
        }
    }

    /// The header and claims of a JWT, each `Null` when that segment is
    /// missing or not base64url JSON (opaque, absent or malformed tokens).
    fn lenient_parts(token: &str) -> (Value, Value) {
        let mut segments = token.split('.');
        let mut next = || {
            segments
                .next()
                .and_then(|s| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).ok())
                .and_then(|raw| serde_json::from_slice(&raw).ok())
                .unwrap_or(Value::Null)
        };
        let header = next();
        (header, next())
    }

    /// Whether `token` is rejected by a JWT decoder before any key is used.
    fn undecodable(token: &str) -> bool {
        jsonwebtoken::decode_header(token).is_err()
    }

    type Check = fn(&Seen) -> bool;

    const FULL: &str = "openid profile email offline_access read:patients";

    fn cases() -> Vec<(Quirk, &'static str, Check)> {
        let ns = "https://example.test/roles";
        let _ = ns;
        vec![
            (Quirk::IdTokenAudApi, FULL, |s| s.id["aud"] == HEALTH),
            (Quirk::IdTokenMultiAudNoAzp, FULL, |s| {
                s.id["aud"] == json!([WEB, "https://other.example.test"]) && s.id.get("azp").is_none()
            }),
            (Quirk::IdTokenAzpWrong, FULL, |s| {
                s.id["azp"] == "someone-else" && s.id["aud"] == WEB
            }),
            (Quirk::IdTokenWrongIss, FULL, |s| {
                s.id["iss"] == format!("{}/", s.issuer) && s.at["iss"] == s.issuer
            }),
            (Quirk::IdTokenExpired, FULL, |s| s.id["exp"].as_u64().unwrap() + 300 < unix_now()),
            (Quirk::IdTokenIatFuture, FULL, |s| s.id["iat"].as_u64().unwrap() > unix_now() + 3000),
            (Quirk::IdTokenBadSignature, FULL, |s| {
                !s.id_verified && s.id_header["alg"] == "RS256" && s.at_verified
            }),
            (Quirk::IdTokenAlgNone, FULL, |s| {
                s.id_header["alg"] == "none" && s.id_raw.ends_with('.')
            }),
            (Quirk::IdTokenHs256PublicKey, FULL, |s| {
                s.id_header["alg"] == "HS256" && !s.id_verified
            }),
            (Quirk::IdTokenKidUnknown, FULL, |s| !s.id_verified && s.id_header["kid"].is_string()),
            (Quirk::IdTokenMalformed, FULL, |s| {
                s.id_raw.starts_with("not-a-jwt.")
                    && s.id_raw.split('.').count() == 2
                    && undecodable(&s.id_raw)
                    && s.id.is_null()
                    && s.at_verified
            }),
            (Quirk::IdTokenSubTooLong, FULL, |s| {
                s.id["sub"].as_str().unwrap().len() == 300 && s.userinfo["sub"] == s.id["sub"] && s.at["sub"] == s.id["sub"]
            }),
            (Quirk::IdTokenWithoutOpenid, "profile read:patients", |s| {
                !s.id_raw.is_empty() && s.id["name"] == "Jane Doe"
            }),
            (Quirk::NonceNotEchoed, FULL, |s| s.id.get("nonce").is_none()),
            (Quirk::NonceWrong, FULL, |s| s.id["nonce"].is_string() && s.id["nonce"] != "nonce-1"),
            (Quirk::AtHashMissing, FULL, |s| s.id.get("at_hash").is_none()),
            (Quirk::AtHashWrong, FULL, |s| {
                s.id["at_hash"].is_string() && s.id["at_hash"] != at_hash(&s.at_raw)
            }),
            (Quirk::NonNamespacedClaim, FULL, |s| {
                [&s.id, &s.at, &s.userinfo]
                    .iter()
                    .all(|c| c["roles"] == json!(["clinician"]) && c["https://example.test/roles"] == json!(["clinician"]))
            }),
            (Quirk::ProviderDomainNamespace, FULL, |s| {
                let name = format!("{}/roles", s.issuer);
                [&s.id, &s.at, &s.userinfo]
                    .iter()
                    .all(|c| c[name.as_str()] == json!(["clinician"]) && c.get("https://example.test/roles").is_none())
            }),
            (Quirk::CustomClaimMissing, FULL, |s| {
                [&s.id, &s.at, &s.userinfo]
                    .iter()
                    .all(|c| c.as_object().unwrap().keys().all(|k| !k.ends_with("roles")))
            }),
            (Quirk::ProfileClaimsWithoutScope, "openid", |s| {
                s.id["name"] == "Jane Doe" && s.userinfo["name"] == "Jane Doe" && s.id.get("email").is_none()
            }),
            (Quirk::EmailClaimsWithoutScope, "openid", |s| {
                s.id["email"] == "jane@example.test" && s.userinfo["email_verified"] == true && s.id.get("name").is_none()
            }),
            (Quirk::ProfileClaimsMissing, FULL, |s| {
                [&s.id, &s.userinfo].iter().all(|c| {
                    c.get("name").is_none()
                        && c.get("nickname").is_none()
                        && c["given_name"] == "Jane"
                        && c["family_name"] == "Doe"
                        && c["preferred_username"] == "jane"
                        && c["updated_at"] == 1_700_000_000
                        && c["email"] == "jane@example.test"
                })
            }),
            (Quirk::AccessTokenAudMissingApi, FULL, |s| {
                s.at["aud"] == json!([format!("{}/userinfo", s.issuer)])
            }),
            (Quirk::AccessTokenNoUserinfoAud, FULL, |s| s.at["aud"] == json!([HEALTH])),
            (Quirk::AudienceIgnored, FULL, |s| {
                !s.at_raw.contains('.') && s.userinfo["sub"] == "auth0|jane-0001"
            }),
            (Quirk::ScopeOverGrant, "openid read:patients", |s| {
                s.at["scope"] == "openid read:patients write:patients read:admin" && s.body["scope"] == s.at["scope"]
            }),
            (Quirk::ScopeNotEchoed, FULL, |s| s.body.get("scope").is_none()),
            (Quirk::AccessTokenTypJwt, FULL, |s| s.at_header["typ"] == "JWT"),
            (Quirk::AccessTokenNoJti, FULL, |s| {
                s.at.get("jti").is_none() && s.at["client_id"] == WEB
            }),
            (Quirk::AccessTokenNoClientId, FULL, |s| {
                s.at.get("client_id").is_none() && s.at["jti"].is_string()
            }),
            (Quirk::AccessTokenExpired, FULL, |s| {
                s.at["exp"].as_u64().unwrap() + 300 < unix_now() && s.userinfo["sub"].is_string()
            }),
            (Quirk::AccessTokenBadSignature, FULL, |s| {
                !s.at_verified && s.id_verified && s.userinfo["sub"].is_string()
            }),
            (Quirk::AccessTokenMalformed, FULL, |s| {
                s.at_raw.starts_with("!!!.")
                    && s.at_raw.split('.').count() == 3
                    && undecodable(&s.at_raw)
                    && s.at_header.is_null()
                    && s.at["iss"] == s.issuer
                    && s.id_verified
                    && s.userinfo["sub"] == "auth0|jane-0001"
            }),
            (Quirk::AccessTokenWrongIss, FULL, |s| {
                s.at["iss"] == format!("{}/evil", s.issuer) && s.at_verified && s.id["iss"] == s.issuer && s.userinfo["sub"].is_string()
            }),
            (Quirk::TokenResponseNoIdToken, FULL, |s| {
                s.body.get("id_token").is_none() && s.at_verified && s.body["refresh_token"].is_string() && s.userinfo["sub"].is_string()
            }),
        ]
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn token_quirks_change_what_they_should() {
        // The conformant provider passes none of the quirk predicates.
        let provider = start(crate::reference::Config::default()).await;
        let normal_full = code_flow(&provider, FULL).await;
        assert!(normal_full.id_verified && normal_full.at_verified);
        let mut tasks = tokio::task::JoinSet::new();
        for (quirk, scope, check) in cases() {
            if scope == FULL {
                assert!(!check(&normal_full), "{quirk} already holds when conformant");
            }
            tasks.spawn(async move {
                let provider = start_with(&[quirk]).await;
                let seen = code_flow(&provider, scope).await;
                (quirk, check(&seen), seen.body)
            });
        }
        let mut count = 0;
        while let Some(joined) = tasks.join_next().await {
            let (quirk, holds, body) = joined.unwrap();
            assert!(holds, "{quirk}: not visible in {body}");
            count += 1;
        }
        assert_eq!(count, cases().len());
    }

    #[tokio::test]
    async fn c_hash_wrong_quirk() {
        let provider = start_with(&[Quirk::CHashWrong]).await;
        let got = browse_ok(
            &provider,
            &[
                ("client_id", WEB),
                ("redirect_uri", WEB_CALLBACK),
                ("response_type", "code id_token"),
                ("scope", "openid"),
                ("nonce", "n"),
            ],
        )
        .await;
        let claims = verify(&provider, &got["id_token"]).await;
        assert!(claims["c_hash"].is_string());
        assert_ne!(claims["c_hash"], at_hash(&got["code"]));
    }

    #[tokio::test]
    async fn id_token_malformed_everywhere() {
        let provider = start_with(&[Quirk::IdTokenMalformed]).await;
        let malformed = |token: &str| token.starts_with("not-a-jwt.") && token.split('.').count() == 2 && undecodable(token);
        // Front channel (hybrid): ID token malformed, code and access token fine.
        let got = browse_ok(
            &provider,
            &[
                ("client_id", WEB),
                ("redirect_uri", WEB_CALLBACK),
                ("response_type", "code id_token token"),
                ("scope", "openid offline_access"),
                ("nonce", "n"),
                ("audience", HEALTH),
            ],
        )
        .await;
        assert!(malformed(&got["id_token"]), "{}", got["id_token"]);
        verify(&provider, &got["access_token"]).await;
        // Token endpoint: code exchange and refresh.
        let (status, body) = redeem(&provider, &got["code"]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(malformed(body["id_token"].as_str().unwrap()), "{body}");
        let (status, body, _) = token_request(
            &provider,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ],
            Some((WEB, WEB_SECRET)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(malformed(body["id_token"].as_str().unwrap()), "{body}");
        // Each one is fresh.
        assert_ne!(got["id_token"], body["id_token"].as_str().unwrap());
    }

    #[tokio::test]
    async fn access_token_quirks_cover_client_credentials() {
        let provider = start_with(&[Quirk::AccessTokenWrongIss]).await;
        let (status, body, _) = token_request(
            &provider,
            &[("grant_type", "client_credentials"), ("audience", HEALTH)],
            Some((M2M, M2M_SECRET)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let at = verify(&provider, body["access_token"].as_str().unwrap()).await;
        assert_eq!(at["iss"], format!("{}/evil", provider.issuer()));

        let provider = start_with(&[Quirk::AccessTokenMalformed]).await;
        let (status, body, _) = token_request(
            &provider,
            &[("grant_type", "client_credentials"), ("audience", HEALTH)],
            Some((M2M, M2M_SECRET)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let access = body["access_token"].as_str().unwrap();
        assert!(access.starts_with("!!!.") && access.split('.').count() == 3 && undecodable(access));
        // Recorded as issued: userinfo knows it (no openid scope, so 403, not 401).
        assert_eq!(userinfo(&provider, Some(access)).await.status(), StatusCode::FORBIDDEN);
        // Opaque tokens (no audience) are not JWTs and stay as they are.
        let got = browse_ok(
            &provider,
            &[
                ("client_id", WEB),
                ("redirect_uri", WEB_CALLBACK),
                ("response_type", "id_token token"),
                ("scope", "openid"),
                ("nonce", "n"),
            ],
        )
        .await;
        assert!(!got["access_token"].contains('.'));
        assert_eq!(userinfo(&provider, Some(&got["access_token"])).await.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn authorization_request_quirks() {
        let provider = start_with(&[
            Quirk::ImplicitWithoutNonceAccepted,
            Quirk::ResponseTypeNotAllowedAccepted,
            Quirk::UnknownAudienceAccepted,
        ])
        .await;
        // No nonce, implicit: accepted.
        let got = browse_ok(
            &provider,
            &[
                ("client_id", WEB),
                ("redirect_uri", WEB_CALLBACK),
                ("response_type", "id_token"),
                ("scope", "openid"),
            ],
        )
        .await;
        assert!(got["id_token"].contains('.'));
        // code-only-app gets a token response type.
        let got = browse_ok(
            &provider,
            &[
                ("client_id", "code-only-app"),
                ("redirect_uri", "https://code.example.test/callback"),
                ("response_type", "id_token token"),
                ("scope", "openid"),
                ("nonce", "n"),
            ],
        )
        .await;
        assert!(got.contains_key("access_token"));
        // An unregistered audience ends up in the token.
        let got = browse_ok(
            &provider,
            &[
                ("client_id", WEB),
                ("redirect_uri", WEB_CALLBACK),
                ("response_type", "code"),
                ("scope", "openid"),
                ("resource", "https://unknown.example.test"),
            ],
        )
        .await;
        let (_, body) = redeem(&provider, &got["code"]).await;
        let at = verify(&provider, body["access_token"].as_str().unwrap()).await;
        assert_eq!(at["aud"][0], "https://unknown.example.test");
        let (status, body, _) = token_request(
            &provider,
            &[("grant_type", "client_credentials"), ("audience", "https://unknown.example.test")],
            Some((M2M, M2M_SECRET)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}
