//! `POST /oauth/token`: client authentication and the authorization_code,
//! refresh_token and client_credentials grants.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};

use super::authorize::pkce_syntax_ok;
use super::issue::{
    IdTokenInput, access_token, client_access_token, client_opaque_token, grant_scopes, has, id_token, parse_scope, scope_syntax_ok,
    wants_id_token,
};
use super::keys::sha256;
use super::params::{Params, is_form, secret_eq};
use super::store::{CODE_TTL, Grant, REFRESH_TTL, Refresh, token_key};
use super::{ClientReg, InternalError, Quirk, Shared, random_token};

/// An error answer of the token endpoint (RFC 6749 §5.2).
#[derive(Debug)]
pub(crate) struct TokenError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// Quirk `client-auth-failure-400`: a 401 goes out as 400 without a challenge.
    basic_400: bool,
    /// A new DPoP nonce for the client (RFC 9449 §8: the `DPoP-Nonce` header).
    dpop_nonce: Option<String>,
}

impl TokenError {
    /// A 400 error of a revocation or introspection request.
    pub(crate) fn request(error: &'static str, description: impl Into<String>) -> Self {
        Self::new(error, description)
    }

    /// A 401 `invalid_client` of a revocation or introspection request.
    pub(crate) fn unauthenticated(description: impl Into<String>) -> Self {
        Self::invalid_client(description)
    }

    fn new(error: &'static str, description: impl Into<String>) -> Self {
        TokenError {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            basic_400: false,
            dpop_nonce: None,
        }
    }

    /// With a new DPoP nonce for the client (RFC 9449 §8).
    fn with_nonce(mut self, nonce: String) -> Self {
        self.dpop_nonce = Some(nonce);
        self
    }

    fn invalid_client(description: impl Into<String>) -> Self {
        TokenError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.into(),
            basic_400: false,
            dpop_nonce: None,
        }
    }

    fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }
}

impl From<InternalError> for TokenError {
    fn from(e: InternalError) -> Self {
        TokenError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: e.0,
            basic_400: false,
            dpop_nonce: None,
        }
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let body = if self.description.is_empty() {
            json!({"error": self.error})
        } else {
            json!({"error": self.error, "error_description": self.description})
        };
        let mut response = no_store_json(self.status, &body);
        if let Some(n) = self.dpop_nonce.as_deref().and_then(|n| HeaderValue::from_str(n).ok()) {
            response.headers_mut().insert("dpop-nonce", n);
        }
        if self.status == StatusCode::UNAUTHORIZED && self.basic_400 {
            *response.status_mut() = StatusCode::BAD_REQUEST;
        } else if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="oidc-conform-reference""#),
            );
        }
        response
    }
}

pub(crate) fn no_store_json(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

pub(crate) async fn token(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    // Credentials in the URL query count only under the quirk (RFC 6749 §2.3.1).
    let query = uri.query().filter(|_| shared.quirk(Quirk::TokenCredentialsInQueryAccepted));
    let body = match query {
        Some(q) => {
            let mut b = body.to_vec();
            if !b.is_empty() {
                b.push(b'&');
            }
            b.extend_from_slice(q.as_bytes());
            Bytes::from(b)
        }
        None => body,
    };
    respond(&shared, &headers, &body).await
}

/// GET on the token endpoint: 405 (RFC 6749 §3.2), or the parameters from
/// the URL query under the quirk.
pub(crate) async fn token_get(State(shared): State<Arc<Shared>>, uri: Uri, mut headers: HeaderMap) -> Response {
    if !shared.quirk(Quirk::TokenEndpointGetAccepted) {
        return (StatusCode::METHOD_NOT_ALLOWED, [(axum::http::header::ALLOW, "POST")]).into_response();
    }
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let body = Bytes::copy_from_slice(uri.query().unwrap_or("").as_bytes());
    respond(&shared, &headers, &body).await
}

async fn respond(shared: &Shared, headers: &HeaderMap, body: &Bytes) -> Response {
    if shared.quirk(Quirk::CodeRedemptionRace) || shared.quirk(Quirk::CodeRedemptionRacePartial) {
        race_window(shared, body).await;
    }
    match handle(shared, headers, body) {
        Ok(body) if shared.quirk(Quirk::TokenResponseCacheable) => (StatusCode::OK, axum::Json(Value::Object(body))).into_response(),
        Ok(body) => no_store_json(StatusCode::OK, &Value::Object(body)),
        Err(mut e) => {
            e.basic_400 = shared.quirk(Quirk::ClientAuthFailure400);
            e.into_response()
        }
    }
}

/// Under `code-redemption-race`: a code exchange that finds its code unused
/// counts as a racer, then waits until no further racer has arrived for
/// [`RACE_QUIET`] (at most [`RACE_MAX`]); every racer redeems the code. Waiting
/// for a quiet spell rather than a fixed time keeps the fault visible however
/// slowly a loaded machine delivers the parallel requests.
async fn race_window(shared: &Shared, body: &[u8]) {
    let params = Params::parse(body);
    if params.get("grant_type") != Some("authorization_code") {
        return;
    }
    let Some(code) = params.get("code") else { return };
    let start = Instant::now();
    {
        let mut store = shared.store();
        match store.codes.get_mut(code, start) {
            Some(record) if record.redeemed.is_none() => {
                record.racing += 1;
                record.last_racer = Some(start);
            }
            _ => return,
        }
    }
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = Instant::now();
        let last = shared.store().codes.get_mut(code, now).and_then(|r| r.last_racer);
        match last {
            Some(last) if now.duration_since(last) < RACE_QUIET && now.duration_since(start) < RACE_MAX => {}
            _ => return,
        }
    }
}

/// Under `code-redemption-race-partial`: a racer that finds the code redeemed
/// is refused three times in four (one in four gets through).
fn partial_race_refuses(shared: &Shared) -> bool {
    if !shared.quirk(Quirk::CodeRedemptionRacePartial) {
        return false;
    }
    let mut b = [0u8; 1];
    aws_lc_rs::rand::fill(&mut b).is_err() || b[0] >= 64
}

const RACE_QUIET: Duration = Duration::from_millis(400);
const RACE_MAX: Duration = Duration::from_secs(5);

fn handle(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, TokenError> {
    if !is_form(headers) {
        return Err(TokenError::new(
            "invalid_request",
            "the token request must be application/x-www-form-urlencoded",
        ));
    }
    let params = Params::parse(body);
    if let Some(name) = params.repeated().filter(|_| !shared.quirk(Quirk::TokenDuplicateParamsAccepted)) {
        return Err(TokenError::new("invalid_request", format!("parameter {name} is repeated")));
    }
    let client = authenticate(shared, headers, &params)?;
    // RFC 9449 §5: a DPoP proof binds the tokens to its key; an invalid one is refused.
    let jkt = super::dpop::check(shared, headers, "POST", "/oauth/token", None).map_err(|e| {
        let code = if shared.quirk(Quirk::DpopProofInvalidRequest) {
            "invalid_request"
        } else {
            "invalid_dpop_proof"
        };
        TokenError::new(code, e)
    })?;
    // RFC 9449 §8: where the provider uses nonces, the proof carries one it gave.
    if let Some(k) = &jkt
        && let Err(fresh) = super::dpop::nonce(shared, headers, k)
    {
        return Err(TokenError::new("use_dpop_nonce", "a DPoP proof with the nonce the provider gave is required").with_nonce(fresh));
    }
    // RFC 9449 §5.2: a client registered with dpop_bound_access_tokens sends a proof every time.
    if jkt.is_none() && client.meta.dpop_bound_access_tokens && !shared.quirk(Quirk::DpopBoundClientUnenforced) {
        return Err(TokenError::new(
            "invalid_dpop_proof",
            "the client is registered with dpop_bound_access_tokens: a DPoP proof is required",
        ));
    }
    match params.get("grant_type") {
        None => Err(TokenError::new("invalid_request", "grant_type is missing")),
        Some("authorization_code") => authorization_code(shared, client, &params, jkt),
        Some("refresh_token") => refresh_token(shared, client, &params, jkt),
        Some("client_credentials") => client_credentials(shared, client, &params),
        Some("password") => password(shared, client, &params),
        Some(crate::flow::device::GRANT_TYPE) => super::device::token(shared, client, &params),
        Some(other) => Err(TokenError::new(
            "unsupported_grant_type",
            format!("grant_type {other:?} is not supported"),
        )),
    }
}

/// Decodes one half of HTTP Basic client credentials, which RFC 6749
/// §2.3.1 form-urlencodes (`+` is a space, `%XX` a byte).
fn form_decode(part: &str) -> Option<String> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// `(client_id, client_secret)` from an `Authorization: Basic` header;
/// `None` without one, `Some(Err)` for a malformed one.
fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let parsed = STANDARD
        .decode(credentials.trim())
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|text| {
            let (id, secret) = text.split_once(':')?;
            Some((form_decode(id)?, form_decode(secret)?))
        });
    Some(parsed.ok_or(()))
}

/// Authenticates the client: `client_secret_basic` or `client_secret_post`
/// for every confidential client, `client_id` alone for public ones, or a
/// client assertion (`client_secret_jwt`, `private_key_jwt`).
pub(crate) fn authenticate<'a>(shared: &'a Shared, headers: &HeaderMap, params: &Params) -> Result<&'a ClientReg, TokenError> {
    if super::client_auth::present(params) {
        return super::client_auth::authenticate(shared, headers, params);
    }
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    let (client_id, secret) = match basic_credentials(headers) {
        Some(Err(())) => {
            return Err(TokenError::invalid_client("malformed HTTP Basic client credentials"));
        }
        Some(Ok((id, secret))) => {
            if body_secret.is_some() {
                return Err(TokenError::new("invalid_request", "use only one client authentication method"));
            }
            if body_id.is_some_and(|b| b != id) {
                return Err(TokenError::invalid_client(
                    "client_id in the body differs from the authenticated client",
                ));
            }
            (id, Some(secret))
        }
        None => match body_id {
            Some(id) => (id.to_owned(), body_secret.map(str::to_owned)),
            None => {
                return Err(TokenError::invalid_client("client authentication is missing"));
            }
        },
    };
    let Some(client) = shared.client(&client_id) else {
        return Err(TokenError::invalid_client("unknown client"));
    };
    match (&client.secret, secret) {
        (None, _) if client.auth_method == "private_key_jwt" => Err(TokenError::invalid_client(
            "this client authenticates with private_key_jwt: a client assertion is required",
        )),
        (None, None) => Ok(client),
        (None, Some(_)) if shared.quirk(Quirk::PublicClientSecretIgnored) => Ok(client),
        (None, Some(_)) => Err(TokenError::invalid_client("public client must not send a client secret")),
        (Some(_), None) => Err(TokenError::invalid_client("client authentication is required for this client")),
        (Some(expected), Some(given)) => {
            if secret_eq(expected.expose(), &given) || shared.quirk(Quirk::WrongSecretAccepted) {
                Ok(client)
            } else {
                Err(TokenError::invalid_client("client authentication failed"))
            }
        }
    }
}

fn require_grant(client: &ClientReg, grant: &str) -> Result<(), TokenError> {
    if client.has_grant(grant) {
        Ok(())
    } else {
        Err(TokenError::new(
            "unauthorized_client",
            format!("the client may not use the {grant} grant"),
        ))
    }
}

/// Outcome of looking up a code under the store lock.
enum CodeLookup {
    Missing,
    OtherClient,
    OtherKey,
    Replayed(Option<u64>),
    Redeemed(Box<super::store::Code>, u64),
}

fn authorization_code(shared: &Shared, client: &ClientReg, params: &Params, jkt: Option<String>) -> Result<Map<String, Value>, TokenError> {
    require_grant(client, "authorization_code")?;
    let Some(code) = params.get("code") else {
        return Err(TokenError::new("invalid_request", "code is missing"));
    };
    let now = Instant::now();
    // Redeemed codes are remembered as long as their access tokens live, so
    // that a replay revokes them (RFC 6749 §10.5).
    let keep = CODE_TTL.max(Duration::from_secs(shared.config.access_token_ttl_secs));
    let reuse_ok = shared.quirk(Quirk::CodeReuseAccepted);
    let lookup = {
        let mut store = shared.store();
        store.maybe_sweep(now);
        let family = store.new_family();
        match store.codes.get_mut(code, now) {
            None => CodeLookup::Missing,
            Some(record) if record.grant.client_id != client.id && !shared.quirk(Quirk::CodeClientUnbound) => CodeLookup::OtherClient,
            // RFC 9449 §10: the proof's key MUST be the one `dpop_jkt` named;
            // refused before the code counts as used.
            Some(record) if record.dpop_jkt.is_some() && record.dpop_jkt != jkt && !shared.quirk(Quirk::DpopJktIgnored) => {
                CodeLookup::OtherKey
            }
            Some(record) if record.redeemed.is_some() && !reuse_ok && (record.racing == 0 || partial_race_refuses(shared)) => {
                record.racing = record.racing.saturating_sub(1);
                CodeLookup::Replayed(record.redeemed)
            }
            Some(record) => {
                record.racing = record.racing.saturating_sub(1);
                record.redeemed = Some(family);
                record.expires = now + keep;
                CodeLookup::Redeemed(Box::new(record.clone()), family)
            }
        }
    };
    let (record, family) = match lookup {
        CodeLookup::Missing => {
            return Err(TokenError::invalid_grant("code is unknown, expired or revoked"));
        }
        CodeLookup::OtherClient => {
            return Err(TokenError::invalid_grant("code was issued to another client"));
        }
        CodeLookup::OtherKey => {
            return Err(TokenError::invalid_grant(
                "the DPoP proof is not of the key the authorization request's dpop_jkt names",
            ));
        }
        CodeLookup::Replayed(family) => {
            if let Some(family) = family.filter(|_| !shared.quirk(Quirk::CodeReuseKeepsTokens)) {
                shared.store().revoke_family(family);
            }
            return Err(TokenError::invalid_grant(
                "code was already used; the tokens issued from it are revoked",
            ));
        }
        CodeLookup::Redeemed(record, family) => (record, family),
    };

    if params.get("redirect_uri") != Some(record.redirect_uri.as_str()) && !shared.quirk(Quirk::CodeRedirectUriUnbound) {
        if shared.quirk(Quirk::CodeRedirectUriWrongError) {
            return Err(TokenError::new(
                "invalid_client",
                "redirect_uri does not match the authorization request",
            ));
        }
        return Err(TokenError::invalid_grant("redirect_uri does not match the authorization request"));
    }
    let pkce_lax = shared.quirk(Quirk::PkceNotEnforced);
    match (&record.code_challenge, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            let computed = URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()));
            let syntax = pkce_syntax_ok(verifier) || shared.quirk(Quirk::PkceVerifierSyntaxLax);
            let plain_fallback = shared.quirk(Quirk::PkcePlainFallback) && secret_eq(verifier, challenge);
            let ok = (syntax && secret_eq(&computed, challenge)) || plain_fallback;
            if !ok && !pkce_lax {
                return Err(TokenError::invalid_grant("code_verifier does not match the code_challenge"));
            }
        }
        (Some(_), None) if !pkce_lax => {
            return Err(TokenError::invalid_grant("code_verifier is missing"));
        }
        (None, Some(_)) if shared.quirk(Quirk::PkceDowngradeAccepted) => {}
        (None, Some(_)) => {
            return Err(TokenError::invalid_grant(
                "code_verifier sent but the authorization request had no code_challenge",
            ));
        }
        _ => {}
    }

    let bound = Grant {
        jkt: jkt.clone(),
        ..record.grant.clone()
    };
    let grant = &bound;
    let user = shared
        .user(&grant.username)
        .ok_or_else(|| TokenError::invalid_grant("the user of this code no longer exists"))?;
    if shared.quirk(Quirk::TokenEndpointError) {
        // A valid exchange, refused as if the server had failed; the body is
        // the bare `{"error":"server_error"}`.
        return Err(TokenError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: String::new(),
            basic_400: false,
            dpop_nonce: None,
        });
    }
    let scopes = &grant.scopes;
    let access = access_token(shared, grant, user, scopes, Some(family))?;
    let mut body = token_body(shared, &access, scopes);
    dpop_token_type(shared, grant, &mut body);
    if wants_id_token(shared, scopes) && !shared.quirk(Quirk::TokenResponseNoIdToken) {
        let token = id_token(
            shared,
            IdTokenInput {
                grant,
                user,
                scopes,
                nonce: record.nonce.as_deref(),
                access_token: Some(&access),
                code: None,
                refreshed: false,
            },
        )?;
        body.insert("id_token".into(), json!(token));
    }
    if has(scopes, "offline_access") && client.has_grant("refresh_token") {
        let refresh = new_refresh_token(shared, &refresh_grant(shared, client, grant), family)?;
        body.insert("refresh_token".into(), json!(refresh));
    }
    Ok(body)
}

fn refresh_token(shared: &Shared, client: &ClientReg, params: &Params, jkt: Option<String>) -> Result<Map<String, Value>, TokenError> {
    require_grant(client, "refresh_token")?;
    let Some(presented) = params.get("refresh_token") else {
        return Err(TokenError::new("invalid_request", "refresh_token is missing"));
    };
    let requested = parse_scope(params.get("scope"));
    if !scope_syntax_ok(&requested) {
        return Err(TokenError::new("invalid_scope", "scope has invalid characters"));
    }
    let key = token_key(presented);
    let now = Instant::now();
    let found = {
        let mut store = shared.store();
        store.maybe_sweep(now);
        match store.refresh.get_mut(&key, now) {
            None => Err(TokenError::invalid_grant(
                "refresh_token is unknown, expired, revoked or already used",
            )),
            Some(record) if record.grant.client_id != client.id && !shared.quirk(Quirk::RefreshClientUnbound) => {
                Err(TokenError::invalid_grant("refresh_token was issued to another client"))
            }
            // A rotated-out token presented again: someone holds a copy; the whole family goes.
            Some(record) if record.spent && !shared.quirk(Quirk::RefreshReuseAccepted) => {
                let family = record.family;
                if !shared.quirk(Quirk::RefreshReuseKeepsFamily) {
                    store.revoke_family(family);
                }
                Err(TokenError::invalid_grant(
                    "refresh_token was already used; the tokens issued from it are revoked",
                ))
            }
            // RFC 9449 §5: a public client's refresh token bound to a key needs a proof of that key.
            Some(record) if record.grant.jkt.is_some() && record.grant.jkt != jkt => Err(TokenError::invalid_grant(
                "refresh_token is bound to a DPoP key, and the request has no proof of that key",
            )),
            Some(record) => match requested.iter().find(|s| !has(&record.grant.scopes, s)) {
                Some(extra) => Err(TokenError::new(
                    "invalid_scope",
                    format!("scope {extra:?} was not granted originally"),
                )),
                None => {
                    if !shared.quirk(Quirk::RefreshReuseAccepted) && !no_rotation(shared, client) {
                        // Rotation: the presented token is spent.
                        record.spent = true;
                    }
                    Ok(record.clone())
                }
            },
        }
    };
    let record = found?;
    // Quirk: the user's latest sign-in anywhere, not this session's (OIDC Core §12.2).
    let auth_time = if shared.quirk(Quirk::RefreshAuthTimeOfLastLogin) {
        shared
            .store()
            .last_sign_in
            .get(&record.grant.username)
            .copied()
            .unwrap_or(record.grant.auth_time)
    } else {
        record.grant.auth_time
    };
    let bound = Grant {
        jkt: jkt.clone(),
        auth_time,
        ..record.grant.clone()
    };
    let grant = &bound;
    let scopes = if requested.is_empty() {
        grant.scopes.clone()
    } else {
        // Keep the original order of the granted scopes.
        grant.scopes.iter().filter(|s| has(&requested, s)).cloned().collect()
    };
    let user = shared
        .user(&grant.username)
        .ok_or_else(|| TokenError::invalid_grant("the user of this grant no longer exists"))?;
    let access = access_token(shared, grant, user, &scopes, Some(record.family))?;
    let mut body = token_body(shared, &access, &scopes);
    dpop_token_type(shared, grant, &mut body);
    if wants_id_token(shared, &scopes) {
        let token = id_token(
            shared,
            IdTokenInput {
                grant,
                user,
                scopes: &scopes,
                nonce: None,
                access_token: Some(&access),
                code: None,
                refreshed: true,
            },
        )?;
        body.insert("id_token".into(), json!(token));
    }
    let refresh = if no_rotation(shared, client) {
        presented.to_owned()
    } else {
        new_refresh_token(shared, &refresh_grant(shared, client, grant), record.family)?
    };
    body.insert("refresh_token".into(), json!(refresh));
    Ok(body)
}

/// Whether refreshing hands the presented refresh token back (no rotation).
fn no_rotation(shared: &Shared, client: &ClientReg) -> bool {
    shared.quirk(Quirk::RefreshNoRotation) || (shared.quirk(Quirk::ConfidentialRefreshNoRotation) && !client.is_public())
}

fn client_credentials(shared: &Shared, client: &ClientReg, params: &Params) -> Result<Map<String, Value>, TokenError> {
    require_grant(client, "client_credentials")?;
    if client.is_public() {
        return Err(TokenError::new(
            "unauthorized_client",
            "public clients cannot use client_credentials",
        ));
    }
    let (target, is_resource) = match (params.get("audience"), params.get("resource")) {
        (Some(a), Some(r)) if a != r => {
            return Err(TokenError::new("invalid_request", "audience and resource name different APIs"));
        }
        (Some(a), _) => (a, false),
        (None, Some(r)) => (r, true),
        (None, None) => {
            // No API: an opaque token for the scopes asked, which this provider
            // requires then (RFC 6749 §3.3 lets it refuse a missing scope).
            let requested = parse_scope(params.get("scope"));
            if requested.is_empty() || !scope_syntax_ok(&requested) {
                return Err(TokenError::new(
                    "invalid_scope",
                    "client credentials without an audience (or resource) need a scope",
                ));
            }
            let access = client_opaque_token(shared, &client.id, &requested)?;
            return Ok(token_body(shared, &access, &requested));
        }
    };
    let api = shared.api(target);
    if api.is_none() && !shared.quirk(Quirk::UnknownAudienceAccepted) {
        return Err(if is_resource {
            TokenError::new("invalid_target", "resource is not a registered API")
        } else {
            TokenError::new("access_denied", "audience is not a registered API")
        });
    }
    let api_scopes: &[String] = api.map(|a| a.scopes.as_slice()).unwrap_or_default();
    let requested = parse_scope(params.get("scope"));
    if !scope_syntax_ok(&requested) {
        return Err(TokenError::new("invalid_scope", "scope has invalid characters"));
    }
    let scopes: Vec<String> = if requested.is_empty() || shared.quirk(Quirk::ScopeOverGrant) {
        api_scopes.to_vec()
    } else {
        requested.iter().filter(|s| api_scopes.contains(s)).cloned().collect()
    };
    if api.is_some() && !requested.is_empty() && scopes.is_empty() {
        return Err(TokenError::new(
            "invalid_scope",
            "none of the requested scopes is defined by the API",
        ));
    }
    let access = client_access_token(shared, &client.id, target, &scopes)?;
    let mut body = token_body(shared, &access, &scopes);
    if shared.quirk(Quirk::ClientCredentialsRefreshToken) {
        body.insert("refresh_token".into(), json!(random_token()?));
    }
    Ok(body)
}

/// The resource owner password credentials grant (RFC 6749 §4.3; RFC 9700
/// §2.4 deprecates it): only for clients registered for it. `audience` (or
/// `resource`) selects the API as at the authorization endpoint.
fn password(shared: &Shared, client: &ClientReg, params: &Params) -> Result<Map<String, Value>, TokenError> {
    require_grant(client, "password")?;
    let (Some(username), Some(password)) = (params.get("username"), params.get("password")) else {
        return Err(TokenError::new("invalid_request", "username and password are required"));
    };
    let user = shared
        .user(username)
        .filter(|u| secret_eq(u.password.expose(), password) || shared.quirk(Quirk::PasswordGrantAnyPassword))
        .ok_or_else(|| TokenError::invalid_grant("the username or password is wrong"))?;
    let audience = params.get("audience").or_else(|| params.get("resource"));
    if let Some(target) = audience
        && shared.api(target).is_none()
        && !shared.quirk(Quirk::UnknownAudienceAccepted)
    {
        return Err(TokenError::new("invalid_target", "the API is not registered"));
    }
    let requested = parse_scope(params.get("scope"));
    if !scope_syntax_ok(&requested) {
        return Err(TokenError::new("invalid_scope", "scope has invalid characters"));
    }
    let scopes = grant_scopes(shared, client, &requested, audience);
    let grant = Grant {
        sid: None,
        client_id: client.id.clone(),
        username: user.username.clone(),
        scopes: scopes.clone(),
        requested,
        audience: audience.map(str::to_owned),
        auth_time: crate::reference::unix_now(),
        sso: false,
        asked: Default::default(),
        jkt: None,
    };
    let family = shared.store().new_family();
    let access = access_token(shared, &grant, user, &scopes, Some(family))?;
    let mut body = token_body(shared, &access, &scopes);
    if wants_id_token(shared, &scopes) {
        let token = id_token(
            shared,
            IdTokenInput {
                grant: &grant,
                user,
                scopes: &scopes,
                nonce: None,
                access_token: Some(&access),
                code: None,
                refreshed: false,
            },
        )?;
        body.insert("id_token".into(), json!(token));
    }
    Ok(body)
}

/// RFC 9449 §5: `token_type: DPoP` for an access token bound to a key.
fn dpop_token_type(shared: &Shared, grant: &Grant, body: &mut Map<String, Value>) {
    if grant.jkt.is_some() && !shared.quirk(Quirk::DpopTokenTypeBearer) {
        body.insert("token_type".into(), json!("DPoP"));
    }
}

/// The grant a refresh token keeps: bound to the DPoP key for a public
/// client only (RFC 9449 §5: a confidential client's is bound by its
/// authentication).
fn refresh_grant(shared: &Shared, client: &ClientReg, grant: &Grant) -> Grant {
    let bind = client.is_public() && !shared.quirk(Quirk::DpopRefreshUnbound);
    Grant {
        jkt: grant.jkt.clone().filter(|_| bind),
        ..grant.clone()
    }
}

/// The tokens of an approved device authorization (RFC 8628 §3.5, as RFC 6749
/// §5.1): an access token, an ID token for `openid`, a refresh token for
/// `offline_access` where the client has the grant.
pub(crate) fn issue_for_grant(shared: &Shared, client: &ClientReg, grant: &Grant) -> Result<Map<String, Value>, TokenError> {
    let user = shared
        .user(&grant.username)
        .ok_or_else(|| TokenError::invalid_grant("the user of this grant no longer exists"))?;
    let family = shared.store().new_family();
    let scopes = &grant.scopes;
    let access = access_token(shared, grant, user, scopes, Some(family))?;
    let mut body = token_body(shared, &access, scopes);
    if wants_id_token(shared, scopes) {
        let token = id_token(
            shared,
            IdTokenInput {
                grant,
                user,
                scopes,
                nonce: None,
                access_token: Some(&access),
                code: None,
                refreshed: false,
            },
        )?;
        body.insert("id_token".into(), json!(token));
    }
    if has(scopes, "offline_access") && client.has_grant("refresh_token") {
        let refresh = new_refresh_token(shared, grant, family)?;
        body.insert("refresh_token".into(), json!(refresh));
    }
    Ok(body)
}

/// The common members of a successful token response.
fn token_body(shared: &Shared, access_token: &str, scopes: &[String]) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("access_token".into(), json!(access_token));
    body.insert("token_type".into(), json!("Bearer"));
    body.insert("expires_in".into(), json!(shared.config.access_token_ttl_secs));
    if !shared.quirk(Quirk::ScopeNotEchoed) {
        body.insert("scope".into(), json!(scopes.join(" ")));
    }
    body
}

fn new_refresh_token(shared: &Shared, grant: &Grant, family: u64) -> Result<String, TokenError> {
    let token = super::opaque_value(shared)?;
    let now = Instant::now();
    let record = Refresh {
        grant: grant.clone(),
        family,
        expires: now + REFRESH_TTL,
        spent: false,
    };
    shared
        .store()
        .refresh
        .insert(token_key(&token), record, now)
        .map_err(|e| InternalError(e.to_string()))?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::reference::{Config, Quirk, ReferenceProvider};

    #[test]
    fn form_decoding_of_basic_parts() {
        assert_eq!(form_decode("a%3Ab+c").as_deref(), Some("a:b c"));
        assert_eq!(form_decode("plain").as_deref(), Some("plain"));
        assert_eq!(form_decode("%zz"), None);
        assert_eq!(form_decode("%4"), None);
        assert_eq!(form_decode("%ff"), None);
    }

    #[test]
    fn basic_header_parsing() {
        let mut h = HeaderMap::new();
        assert!(basic_credentials(&h).is_none());
        let value = format!("Basic {}", STANDARD.encode("web%2Dapp:s%3Acret"));
        h.insert(AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
        assert_eq!(basic_credentials(&h), Some(Ok(("web-app".into(), "s:cret".into()))));
        h.insert(AUTHORIZATION, HeaderValue::from_static("basic !!!"));
        assert_eq!(basic_credentials(&h), Some(Err(())));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert!(basic_credentials(&h).is_none());
    }

    async fn code_for_web(provider: &ReferenceProvider, scope: &str) -> String {
        let got = browse_ok(
            provider,
            &[
                ("client_id", WEB),
                ("redirect_uri", WEB_CALLBACK),
                ("response_type", "code"),
                ("scope", scope),
                ("audience", HEALTH),
            ],
        )
        .await;
        got["code"].clone()
    }

    #[tokio::test]
    async fn client_credentials_grant() {
        let provider = start(Config::default()).await;
        let issuer = provider.issuer().to_owned();
        let cc = |extra: Vec<(&'static str, &'static str)>| {
            let mut form = vec![
                ("grant_type", "client_credentials"),
                ("client_id", M2M),
                ("client_secret", M2M_SECRET),
            ];
            form.extend(extra);
            form
        };

        let (status, body, headers) = token_request(
            &provider,
            &cc(vec![("audience", HEALTH), ("scope", "read:patients bogus openid")]),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(body["scope"], "read:patients");
        assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none());
        let access = body["access_token"].as_str().unwrap();
        assert_eq!(parts(access).0["typ"], "at+jwt");
        let claims = verify(&provider, access).await;
        assert_eq!(claims["iss"], issuer);
        assert_eq!(claims["sub"], M2M);
        assert_eq!(claims["aud"], json!([HEALTH]));
        assert_eq!(claims["azp"], M2M);
        assert_eq!(claims["client_id"], M2M);
        assert!(claims["jti"].is_string());
        assert!(claims.get("gty").is_none() && claims.get("roles").is_none());

        // No scope: every scope of the API; resource works like audience.
        let (status, body, _) = token_request(&provider, &cc(vec![("resource", HEALTH)]), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["scope"], "read:patients write:patients read:admin");

        // Basic works for every confidential client too.
        let (status, _, _) = token_request(
            &provider,
            &[("grant_type", "client_credentials"), ("audience", HEALTH)],
            Some((M2M, M2M_SECRET)),
        )
        .await;
        assert_eq!(status, StatusCode::OK);

        for (extra, error) in [
            (vec![], "invalid_scope"),
            (vec![("audience", "https://nope.test")], "access_denied"),
            (vec![("resource", "https://nope.test")], "invalid_target"),
            (vec![("audience", HEALTH), ("scope", "read:invoices")], "invalid_scope"),
        ] {
            let (status, body, _) = token_request(&provider, &cc(extra), None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert_eq!(body["error"], error, "{body}");
        }
        let (status, body, _) = token_request(
            &provider,
            &[("grant_type", "client_credentials"), ("audience", HEALTH)],
            Some((WEB, WEB_SECRET)),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "unauthorized_client");
    }

    #[tokio::test]
    async fn client_authentication() {
        let provider = start(Config::default()).await;
        let form = [("grant_type", "client_credentials"), ("audience", HEALTH)];
        let (status, body, headers) = token_request(&provider, &form, Some((M2M, "wrong"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "invalid_client");
        assert!(headers.contains_key("www-authenticate"));
        assert_eq!(headers["cache-control"], "no-store");

        let (status, body, _) = token_request(&provider, &form, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

        let mut both = form.to_vec();
        both.push(("client_secret", M2M_SECRET));
        let (status, body, _) = token_request(&provider, &both, Some((M2M, M2M_SECRET))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_request");

        let (status, body, _) = token_request(
            &provider,
            &[
                ("grant_type", "urn:example:made-up"),
                ("client_id", M2M),
                ("client_secret", M2M_SECRET),
            ],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "unsupported_grant_type");
        // The password grant is known, but only to clients registered for it.
        let (status, body, _) = token_request(
            &provider,
            &[("grant_type", "password"), ("client_id", M2M), ("client_secret", M2M_SECRET)],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "unauthorized_client");

        // A body that is not a form is refused.
        let response = http()
            .post(format!("{}/oauth/token", provider.issuer()))
            .json(&json!({"grant_type": "client_credentials"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn code_grant_with_client_secret_post_and_checks() {
        let provider = start(Config::default()).await;
        let code = code_for_web(&provider, "openid").await;
        let (status, body, _) = token_request(
            &provider,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://app.example.test/other"),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
            ],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");

        let code = code_for_web(&provider, "openid").await;
        let (status, body, _) = token_request(
            &provider,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", WEB_CALLBACK),
                ("client_id", WEB),
                ("client_secret", WEB_SECRET),
            ],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // No offline_access: no refresh token.
        assert!(body.get("refresh_token").is_none());
    }

    #[tokio::test]
    async fn code_reuse_is_refused_and_revokes() {
        let provider = start(Config::default()).await;
        let code = code_for_web(&provider, "openid offline_access").await;
        let (status, first) = redeem(&provider, &code).await;
        assert_eq!(status, StatusCode::OK);
        let access = first["access_token"].as_str().unwrap();
        assert_eq!(userinfo(&provider, Some(access)).await.status(), StatusCode::OK);

        let (status, body) = redeem(&provider, &code).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
        // RFC 6749 §10.5: tokens issued from the code are revoked.
        assert_eq!(userinfo(&provider, Some(access)).await.status(), StatusCode::UNAUTHORIZED);
        let (status, body, _) = token_request(
            &provider,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", first["refresh_token"].as_str().unwrap()),
            ],
            Some((WEB, WEB_SECRET)),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
    }

    #[tokio::test]
    async fn refresh_rotation_and_reuse_refusal() {
        let provider = start(Config::default()).await;
        let code = code_for_web(&provider, "openid profile offline_access read:patients").await;
        let (_, first) = redeem(&provider, &code).await;
        let old = first["refresh_token"].as_str().unwrap().to_owned();
        let refresh = |token: String, scope: Option<&'static str>| {
            let provider = &provider;
            async move {
                let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token.as_str())];
                if let Some(scope) = scope {
                    form.push(("scope", scope));
                }
                let (status, body, _) = token_request(provider, &form, Some((WEB, WEB_SECRET))).await;
                (status, body)
            }
        };

        let (status, second) = refresh(old.clone(), Some("openid read:patients")).await;
        assert_eq!(status, StatusCode::OK, "{second}");
        assert_eq!(second["scope"], "openid read:patients");
        let new = second["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        let access = second["access_token"].as_str().unwrap();
        let at = verify(&provider, access).await;
        assert_eq!(at["aud"][0], HEALTH);
        assert_eq!(at["scope"], "openid read:patients");
        let id = verify(&provider, second["id_token"].as_str().unwrap()).await;
        assert!(id.get("nonce").is_none());
        assert_eq!(id["at_hash"], at_hash(access));
        assert!(id.get("name").is_none(), "profile was narrowed away");

        let (status, body) = refresh(new.clone(), Some("openid email")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_scope");

        let (status, third) = refresh(new, None).await;
        assert_eq!(status, StatusCode::OK, "{third}");
        assert_eq!(third["scope"], "openid profile offline_access read:patients");
        let newest = third["refresh_token"].as_str().unwrap().to_owned();

        // The rotated-out token again: refused, and the whole family is revoked
        // (RFC 9700 §4.14.2), the newest refresh token with it.
        let (status, body) = refresh(old, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
        let (status, body) = refresh(newest, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
    }

    #[tokio::test]
    async fn pkce_public_client() {
        let provider = start(Config::default()).await;
        let (verifier, challenge) = pkce();
        let authorize = |challenge: String| {
            let provider = &provider;
            async move {
                browse_ok(
                    provider,
                    &[
                        ("client_id", SPA),
                        ("redirect_uri", SPA_CALLBACK),
                        ("response_type", "code"),
                        ("scope", "openid"),
                        ("code_challenge", &challenge),
                        ("code_challenge_method", "S256"),
                    ],
                )
                .await["code"]
                    .clone()
            }
        };
        let exchange = |code: String, verifier: String| {
            let provider = &provider;
            async move {
                let (status, body, _) = token_request(
                    provider,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", SPA_CALLBACK),
                        ("client_id", SPA),
                        ("code_verifier", &verifier),
                    ],
                    None,
                )
                .await;
                (status, body)
            }
        };
        let code = authorize(challenge.clone()).await;
        let (status, body) = exchange(code.clone(), pkce().0).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
        // The code was consumed by the failed attempt.
        let (status, _) = exchange(code, verifier.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let code = authorize(challenge).await;
        let (status, body) = exchange(code, verifier).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let claims = verify(&provider, body["id_token"].as_str().unwrap()).await;
        assert_eq!(claims["aud"], SPA);
    }

    #[tokio::test]
    async fn token_quirks() {
        let provider = start_with(&[Quirk::CodeReuseAccepted, Quirk::WrongSecretAccepted, Quirk::ScopeNotEchoed]).await;
        let code = code_for_web(&provider, "openid read:patients").await;
        let (status, first) = redeem(&provider, &code).await;
        assert_eq!(status, StatusCode::OK);
        assert!(first.get("scope").is_none());
        let (status, _) = redeem(&provider, &code).await;
        assert_eq!(status, StatusCode::OK, "code reuse accepted");
        let (status, _, _) = token_request(
            &provider,
            &[("grant_type", "client_credentials"), ("audience", HEALTH)],
            Some((M2M, "wrong")),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "wrong secret accepted");
    }

    #[tokio::test]
    async fn refresh_and_pkce_quirks() {
        let provider = start_with(&[Quirk::RefreshReuseAccepted, Quirk::PkceNotEnforced]).await;
        let code = code_for_web(&provider, "openid offline_access").await;
        let (_, first) = redeem(&provider, &code).await;
        let old = first["refresh_token"].as_str().unwrap();
        for _ in 0..2 {
            let (status, body, _) = token_request(
                &provider,
                &[("grant_type", "refresh_token"), ("refresh_token", old)],
                Some((WEB, WEB_SECRET)),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (_, challenge) = pkce();
        let got = browse_ok(
            &provider,
            &[
                ("client_id", SPA),
                ("redirect_uri", SPA_CALLBACK),
                ("response_type", "code"),
                ("scope", "openid"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
        let (status, body, _) = token_request(
            &provider,
            &[
                ("grant_type", "authorization_code"),
                ("code", &got["code"]),
                ("redirect_uri", SPA_CALLBACK),
                ("client_id", SPA),
                ("code_verifier", &pkce().0),
            ],
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// A refresh_token request for web-app: (status, body).
    async fn refresh_with(provider: &ReferenceProvider, token: &str) -> (StatusCode, Value) {
        let (status, body, _) = token_request(
            provider,
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
            Some((WEB, WEB_SECRET)),
        )
        .await;
        (status, body)
    }

    #[tokio::test]
    async fn token_response_no_id_token_quirk() {
        let provider = start_with(&[Quirk::TokenResponseNoIdToken]).await;
        // The code exchange: everything but the ID token.
        let code = code_for_web(&provider, "openid profile offline_access read:patients").await;
        let (status, body) = redeem(&provider, &code).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("id_token").is_none(), "{body}");
        verify(&provider, body["access_token"].as_str().unwrap()).await;
        assert_eq!(body["scope"], "openid profile offline_access read:patients");
        // Refresh still issues one.
        let (status, refreshed) = refresh_with(&provider, body["refresh_token"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{refreshed}");
        let claims = verify(&provider, refreshed["id_token"].as_str().unwrap()).await;
        assert_eq!(claims["aud"], WEB);
        // So does the implicit flow.
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
        assert_eq!(verify(&provider, &got["id_token"]).await["nonce"], "n");
    }

    #[tokio::test]
    async fn token_endpoint_error_quirk() {
        let provider = start_with(&[Quirk::TokenEndpointError]).await;
        // A valid exchange: 500 with the bare error.
        let code = code_for_web(&provider, "openid offline_access read:patients").await;
        let (status, body, headers) = token_request(
            &provider,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", WEB_CALLBACK),
            ],
            Some((WEB, WEB_SECRET)),
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, json!({"error": "server_error"}));
        assert_eq!(headers["cache-control"], "no-store");
        // An invalid one is still refused as the client's fault.
        let (status, body) = redeem(&provider, "no-such-code").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
        // Client credentials work.
        let (status, body, _) = token_request(
            &provider,
            &[("grant_type", "client_credentials"), ("audience", HEALTH)],
            Some((M2M, M2M_SECRET)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // Refresh works (the grant is minted directly: no code exchange succeeds).
        let grant = Grant {
            sid: None,
            client_id: WEB.into(),
            username: "jane".into(),
            scopes: parse_scope(Some("openid offline_access read:patients")),
            requested: parse_scope(Some("openid offline_access read:patients")),
            audience: Some(HEALTH.into()),
            auth_time: crate::reference::unix_now(),
            sso: false,
            asked: Default::default(),
            jkt: None,
        };
        let family = provider.shared.store().new_family();
        let refresh = new_refresh_token(&provider.shared, &grant, family).unwrap();
        let (status, body) = refresh_with(&provider, &refresh).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        verify(&provider, body["id_token"].as_str().unwrap()).await;
        verify(&provider, body["access_token"].as_str().unwrap()).await;
    }
}
