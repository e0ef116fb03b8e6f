//! The browser part of the provider: `/authorize` (request validation),
//! `/login` (credentials form, session cookie), `/consent` (allow / deny) and
//! the authorization response in query, fragment or form_post mode. A signed-in
//! browser skips the login form (single sign-on) unless `prompt=login` or an
//! outlived `max_age` asks for it; `prompt=none` answers at once when the user
//! is signed in and consented to the client and scopes in this session.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::{CACHE_CONTROL, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::issue::{IdTokenInput, access_token, grant_scopes, has, id_token, parse_scope, same_scopes, scope_syntax_ok, wants_id_token};
use super::params::{Params, cookie, is_form, secret_eq};
use super::store::{Asked, Code, Grant, Login, PENDING_TTL, Pending, SESSION_TTL, Session};
use super::{ClientReg, InternalError, Quirk, Shared, random_token, unix_now};

/// Name of the login session cookie.
pub(crate) const SESSION_COOKIE: &str = "rp_session";

/// The parts of a response type (`code`, `id_token`, `token`, in any order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ResponseType {
    pub(crate) code: bool,
    pub(crate) id_token: bool,
    pub(crate) token: bool,
}

impl ResponseType {
    /// Parses a space-separated response type; `None` for an unknown or
    /// repeated value or an empty one.
    pub(crate) fn parse(value: &str) -> Option<ResponseType> {
        let mut rt = ResponseType {
            code: false,
            id_token: false,
            token: false,
        };
        let mut any = false;
        for part in value.split(' ').filter(|p| !p.is_empty()) {
            let slot = match part {
                "code" => &mut rt.code,
                "id_token" => &mut rt.id_token,
                "token" => &mut rt.token,
                _ => return None,
            };
            if *slot {
                return None;
            }
            *slot = true;
            any = true;
        }
        any.then_some(rt)
    }

    /// Whether the response carries a token (so query mode is not allowed).
    fn has_token(self) -> bool {
        self.id_token || self.token
    }

    fn default_mode(self) -> ResponseMode {
        if self.has_token() {
            ResponseMode::Fragment
        } else {
            ResponseMode::Query
        }
    }

    fn allowed_for(self, client: &ClientReg) -> bool {
        client
            .response_types
            .iter()
            .filter_map(|r| ResponseType::parse(r))
            .any(|r| r == self)
    }

    /// The grant type the client needs for this response type.
    fn grant_type(self) -> &'static str {
        if self.code { "authorization_code" } else { "implicit" }
    }
}

/// How the authorization response travels back to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

impl ResponseMode {
    fn parse(value: &str) -> Option<ResponseMode> {
        match value {
            "query" => Some(ResponseMode::Query),
            "fragment" => Some(ResponseMode::Fragment),
            "form_post" => Some(ResponseMode::FormPost),
            _ => None,
        }
    }
}

/// A validated authorization request, waiting for login and consent.
#[derive(Clone, Debug)]
pub(crate) struct AuthRequest {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) response_type: ResponseType,
    pub(crate) response_mode: ResponseMode,
    /// Scopes as requested.
    pub(crate) requested: Vec<String>,
    /// Scopes that will be granted on consent.
    pub(crate) scopes: Vec<String>,
    pub(crate) state: Option<String>,
    pub(crate) nonce: Option<String>,
    /// The target API (`audience` or RFC 8707 `resource`).
    pub(crate) audience: Option<String>,
    pub(crate) code_challenge: Option<String>,
    /// RFC 9449 §10: the thumbprint of the DPoP key the code is bound to.
    pub(crate) dpop_jkt: Option<String>,
    /// The `claims` parameter (OIDC Core §5.5).
    pub(crate) asked: Asked,
    /// A device authorization (RFC 8628) the user entered the code of: the
    /// consent decides it, and nothing is redirected.
    pub(crate) device: Option<super::store::TokenKey>,
}

/// Where and how to answer an authorization request.
#[derive(Clone, Copy)]
struct Reply<'a> {
    redirect_uri: &'a str,
    mode: ResponseMode,
    state: Option<&'a str>,
}

impl Reply<'_> {
    fn error(&self, shared: &Shared, error: &str, description: &str) -> Response {
        if shared.quirk(Quirk::ErrorsOnPage) && matches!(error, "invalid_request" | "invalid_scope" | "unsupported_response_type") {
            return shared.pages.error(StatusCode::BAD_REQUEST, error, description);
        }
        let fields = vec![("error".into(), error.into()), ("error_description".into(), description.into())];
        if self.mode == ResponseMode::Fragment && shared.quirk(Quirk::AuthorizationErrorsInQuery) {
            let in_query = Reply {
                mode: ResponseMode::Query,
                ..*self
            };
            return in_query.deliver(shared, fields);
        }
        self.deliver(shared, fields)
    }

    /// Sends `fields` (plus `state` and `iss`, RFC 9207) to the redirect URI.
    fn deliver(&self, shared: &Shared, mut fields: Vec<(String, String)>) -> Response {
        if let Some(state) = self.state.filter(|_| !shared.quirk(Quirk::StateNotEchoed)) {
            let state = match state.char_indices().nth(64) {
                Some((cut, _)) if shared.quirk(Quirk::StateTruncated) => &state[..cut],
                _ => state,
            };
            fields.push(("state".into(), state.into()));
        }
        if !shared.quirk(Quirk::AuthorizationResponseNoIss) {
            fields.push(("iss".into(), shared.issuer.clone()));
        }
        let Ok(mut url) = Url::parse(self.redirect_uri) else {
            return shared
                .pages
                .error(StatusCode::BAD_REQUEST, "invalid_request", "redirect_uri is not an absolute URL");
        };
        if shared.quirk(Quirk::RedirectQueryDropped) {
            url.set_query(None);
        }
        match self.mode {
            ResponseMode::Query => {
                url.query_pairs_mut().extend_pairs(&fields);
            }
            ResponseMode::Fragment => {
                if shared.quirk(Quirk::AccessTokenInQuery) {
                    for (k, v) in fields.iter().filter(|(k, _)| k == "access_token") {
                        url.query_pairs_mut().append_pair(k, v);
                    }
                    fields.retain(|(k, _)| k != "access_token");
                }
                let encoded = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish();
                url.set_fragment(Some(&encoded));
            }
            ResponseMode::FormPost => return shared.pages.form_post(self.redirect_uri, &fields),
        }
        found(shared, url.as_str(), None)
    }
}

/// A 302 to `location`, optionally setting a cookie.
pub(crate) fn found(shared: &Shared, location: &str, set_cookie: Option<String>) -> Response {
    let Ok(location) = HeaderValue::from_str(location) else {
        return shared.pages.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "redirect location is not a valid header value",
        );
    };
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    headers.insert(LOCATION, location);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(cookie) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(SET_COOKIE, cookie);
    }
    response
}

fn bad_request(shared: &Shared, description: &str) -> Response {
    shared.pages.error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

fn internal(shared: &Shared, error: &InternalError) -> Response {
    shared
        .pages
        .error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &error.to_string())
}

pub(crate) async fn authorize_get(State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let params = super::par::resolve(&shared, params);
    let params = super::request_object::resolve(&shared, params).await;
    authorize(&shared, &params, &headers)
}

pub(crate) async fn authorize_post(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if !is_form(&headers) {
        return bad_request(&shared, "POST /authorize needs an application/x-www-form-urlencoded body");
    }
    let params = super::par::resolve(&shared, Params::parse(&body));
    let params = super::request_object::resolve(&shared, params).await;
    authorize(&shared, &params, &headers)
}

/// Whether `uri` is an absolute http(s) URL without a fragment (what the
/// `unregistered-redirect-followed` quirk is willing to follow).
/// `redirect-uri-host-ignored`: only the path and query are compared.
fn same_path_and_query(a: &str, b: &str) -> bool {
    match (Url::parse(a), Url::parse(b)) {
        (Ok(x), Ok(y)) => x.path() == y.path() && x.query() == y.query() && x.fragment().is_none(),
        _ => false,
    }
}

fn followable(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.fragment().is_none())
}

/// Whether `challenge` is a syntactically valid S256 code challenge
/// (RFC 7636 §4.2: 43 to 128 unreserved characters).
pub(crate) fn pkce_syntax_ok(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn authorize(shared: &Shared, params: &Params, headers: &HeaderMap) -> Response {
    // 1. Client and redirect URI: failures here are never redirected
    //    (RFC 6749 §4.1.2.1), they get an HTML error page.
    if params.is_repeated("client_id") || params.is_repeated("redirect_uri") {
        return bad_request(shared, "client_id and redirect_uri must not be repeated");
    }
    let Some(client_id) = params.get("client_id") else {
        return bad_request(shared, "client_id is missing");
    };
    let Some(client) = shared.client(client_id) else {
        return shared
            .pages
            .error(StatusCode::BAD_REQUEST, "invalid_client", "client_id is not a registered client");
    };
    // RFC 9126 §5: a provider that requires pushed requests takes no other.
    if shared.config.require_par && !params.pushed && params.request_object_error.is_none() {
        return shared.pages.error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "this provider takes authorization requests only through its pushed authorization request endpoint",
        );
    }
    // Quirk `redirect-uri-missing-defaulted`: without one, the first registered is used.
    let defaulted = || {
        shared
            .quirk(Quirk::RedirectUriMissingDefaulted)
            .then(|| client.redirect_uris.first().map(String::as_str))
            .flatten()
    };
    let Some(redirect_uri) = params.get("redirect_uri").or_else(defaulted) else {
        return bad_request(shared, "redirect_uri is missing");
    };
    let registered = client.redirect_uris.iter().any(|r| {
        r == redirect_uri
            || (shared.quirk(Quirk::RedirectUriPrefixMatch) && redirect_uri.starts_with(r.as_str()))
            || (shared.quirk(Quirk::RedirectUriNormalised) && crate::flow::redirect::equivalent(redirect_uri, r))
            || (shared.quirk(Quirk::RedirectUriHostIgnored) && same_path_and_query(redirect_uri, r))
    });
    let followed = (shared.quirk(Quirk::UnregisteredRedirectFollowed) || (params.pushed && shared.quirk(Quirk::ParUnvalidated)))
        && followable(redirect_uri);
    if !registered && !followed {
        return bad_request(
            shared,
            "redirect_uri does not exactly match a redirect URI registered for the client",
        );
    }
    if Url::parse(redirect_uri).is_err() {
        return bad_request(shared, "redirect_uri is not an absolute URL");
    }

    // 2. From here on, errors go back to the redirect URI.
    // Quirk `response-type-missing-defaults-to-code`: a request without one is taken as `code`.
    let raw_response_type = params
        .get("response_type")
        .or_else(|| shared.quirk(Quirk::ResponseTypeMissingDefaultsToCode).then_some("code"));
    let response_type = raw_response_type.and_then(ResponseType::parse);
    let mode_param = params.get("response_mode");
    let default_mode = response_type.map(ResponseType::default_mode).unwrap_or(ResponseMode::Query);
    let mode = match mode_param.and_then(ResponseMode::parse) {
        Some(ResponseMode::FormPost) if shared.quirk(Quirk::FormPostIgnored) => default_mode,
        Some(asked) => asked,
        None => default_mode,
    };
    let reply = Reply {
        redirect_uri,
        mode,
        state: params.get("state"),
    };
    let fail = |error: &str, description: &str| reply.error(shared, error, description);

    if let Some((code, why)) = &params.request_object_error {
        return fail(code, why);
    }
    if let Some(name) = params.repeated() {
        return fail("invalid_request", &format!("parameter {name} is repeated"));
    }
    let Some(raw_response_type) = raw_response_type else {
        return fail("invalid_request", "response_type is missing");
    };
    let Some(response_type) = response_type else {
        return fail(
            "unsupported_response_type",
            &format!("response_type {raw_response_type:?} is not supported"),
        );
    };
    let allowed = response_type.allowed_for(client) && client.has_grant(response_type.grant_type());
    if !allowed && !shared.quirk(Quirk::ResponseTypeNotAllowedAccepted) {
        return fail(
            "unauthorized_client",
            &format!("response_type {raw_response_type:?} is not allowed for this client"),
        );
    }
    if let Some(value) = mode_param {
        if ResponseMode::parse(value).is_none() {
            return fail("invalid_request", &format!("response_mode {value:?} is not supported"));
        }
    }
    if mode == ResponseMode::Query && response_type.has_token() {
        return fail(
            "invalid_request",
            "response_mode query must not be used when the response carries tokens",
        );
    }

    let requested = parse_scope(params.get("scope"));
    if !scope_syntax_ok(&requested) {
        return fail("invalid_scope", "scope contains characters not allowed");
    }
    let openid = has(&requested, "openid");
    if !openid && shared.quirk(Quirk::OpenidRequired) {
        return fail(
            "invalid_scope",
            "this provider serves OpenID Connect requests only: the scope must include openid",
        );
    }
    if response_type.id_token && !openid && !shared.quirk(Quirk::IdTokenWithoutOpenid) {
        return fail("invalid_scope", "response_type id_token needs the openid scope");
    }
    let nonce = params.get("nonce");
    let needs_nonce = response_type.id_token || (openid && response_type.code && response_type.token);
    if needs_nonce && nonce.is_none() && !shared.quirk(Quirk::ImplicitWithoutNonceAccepted) {
        return fail("invalid_request", "nonce is required for implicit and hybrid flows");
    }

    let audience = match (params.get("audience"), params.get("resource")) {
        (Some(a), Some(r)) if a != r => {
            return fail("invalid_request", "audience and resource name different APIs");
        }
        (Some(a), _) => Some((a, false)),
        (None, Some(r)) => Some((r, true)),
        (None, None) => None,
    };
    if let Some((target, is_resource)) = audience {
        if shared.api(target).is_none() && !shared.quirk(Quirk::UnknownAudienceAccepted) {
            return if is_resource {
                fail("invalid_target", "resource is not a registered API")
            } else {
                fail("invalid_request", "audience is not a registered API")
            };
        }
    }
    let audience = audience.map(|(target, _)| target);

    let challenge = params.get("code_challenge");
    match (challenge, params.get("code_challenge_method")) {
        (None, Some(_)) => {
            return fail("invalid_request", "code_challenge_method sent without code_challenge");
        }
        (Some(_), None) | (Some(_), Some("plain")) => {
            return fail("invalid_request", "only code_challenge_method S256 is supported");
        }
        (Some(_), Some(method)) if method != "S256" => {
            return fail("invalid_request", &format!("code_challenge_method {method:?} is not supported"));
        }
        _ => {}
    }
    if let Some(challenge) = challenge {
        if !pkce_syntax_ok(challenge) {
            return fail("invalid_request", "code_challenge must be 43 to 128 unreserved characters");
        }
    }
    if client.is_public() && response_type.code && challenge.is_none() {
        return fail("invalid_request", "code_challenge is required for public clients (PKCE)");
    }

    // OIDC Core §3.1.2.1: prompt, max_age and the browser's session.
    let prompts: Vec<&str> = params
        .get("prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    if let Some(bad) = prompts
        .iter()
        .find(|p| !matches!(**p, "none" | "login" | "consent" | "select_account"))
    {
        return fail("invalid_request", &format!("prompt value {bad:?} is not supported"));
    }
    // Quirk `prompt-none-shows-login`: prompt=none is ignored and the login page shown.
    let silent = prompts.contains(&"none") && !shared.quirk(Quirk::PromptNoneShowsLogin);
    if silent && prompts.len() > 1 {
        return fail("invalid_request", "prompt none must not be combined with other values");
    }
    let max_age = match params.get("max_age").map(str::parse::<u64>) {
        None => None,
        Some(Ok(secs)) => Some(secs),
        Some(Err(_)) => return fail("invalid_request", "max_age must be a whole number of seconds"),
    };
    let scopes = grant_scopes(shared, client, &requested, audience);
    let asked = match params.get("claims").map(parse_claims) {
        None => Asked::default(),
        Some(Some(asked)) => asked,
        Some(None) => return fail("invalid_request", "claims must be a JSON object with userinfo and id_token members"),
    };
    let session = live_session(shared, headers, &prompts, max_age);
    if let Some(hint) = params.get("id_token_hint")
        && let Err(why) = own_id_token(shared, hint)
    {
        return fail(
            "invalid_request",
            &format!("id_token_hint is not an ID token this provider issued: {why}"),
        );
    }
    if let Some(hinted) = params.get("id_token_hint").and_then(hinted_subject) {
        let current = session
            .as_ref()
            .and_then(|(_, s)| shared.user(&s.username))
            .map(|u| shared.subject(u));
        if silent && current.as_deref() != Some(hinted.as_str()) {
            return fail("login_required", "the user of id_token_hint is not signed in");
        }
    }

    let request = AuthRequest {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        response_type,
        response_mode: mode,
        requested,
        scopes,
        state: params.get("state").map(str::to_owned),
        nonce: nonce.map(str::to_owned),
        audience: audience.map(str::to_owned),
        code_challenge: challenge.map(str::to_owned),
        dpop_jkt: params.get("dpop_jkt").map(str::to_owned),
        asked,
        device: None,
    };
    let login = session.as_ref().map(|(id, s)| Login {
        session_id: id.clone(),
        username: s.username.clone(),
        auth_time: s.auth_time,
        reused: true,
    });
    if silent {
        let Some((_, session)) = &session else {
            return fail("login_required", "no signed-in session (or it is older than max_age)");
        };
        if !session.consented(&client.id, &request.scopes) || shared.third_party(&client.id) {
            return fail("consent_required", "the user has not consented to this client and these scopes");
        }
        if !shared.quirk(Quirk::PromptNoneShowsConsent) {
            let Some(login) = &login else {
                return fail("login_required", "no signed-in session");
            };
            return match respond(shared, &request, login) {
                Ok(fields) => reply.deliver(shared, fields),
                Err(e) => reply.error(shared, "server_error", &e.to_string()),
            };
        }
    }
    // A provider that remembers consent (`Config::remember_consent`): a
    // signed-in user who already approved these scopes for this client is
    // not asked again, unless `prompt=consent` or the client is third-party.
    if shared.config.remember_consent
        && !prompts.contains(&"consent")
        && !shared.third_party(&request.client_id)
        && let (Some((_, session)), Some(login)) = (&session, &login)
        && session.consented(&request.client_id, &request.scopes)
    {
        return match respond(shared, &request, login) {
            Ok(fields) => reply.deliver(shared, fields),
            Err(e) => reply.error(shared, "server_error", &e.to_string()),
        };
    }
    let (tx, login_nonce) = match (random_token(), random_token()) {
        (Ok(tx), Ok(nonce)) => (tx, nonce),
        (Err(e), _) | (_, Err(e)) => return fail("server_error", &e.to_string()),
    };
    let now = Instant::now();
    let signed_in = login.is_some();
    let pending = Pending {
        request,
        login_nonce,
        login,
        expires: now + PENDING_TTL,
    };
    let inserted = {
        let mut store = shared.store();
        store.maybe_sweep(now);
        store.pending.insert(tx.clone(), pending, now)
    };
    if inserted.is_err() {
        return fail("temporarily_unavailable", "too many pending authorization requests");
    }
    if signed_in {
        // Single sign-on: the session stands in for the login form.
        found(shared, &consent_url(shared, &tx), None)
    } else {
        found(shared, &login_url(shared, &tx), None)
    }
}

/// The `claims` parameter: the claim names asked for per place (`None`: malformed).
fn parse_claims(value: &str) -> Option<Asked> {
    let v: serde_json::Value = serde_json::from_str(value).ok()?;
    let obj = v.as_object()?;
    let names = |place: &str| -> Option<Vec<String>> {
        match obj.get(place) {
            None | Some(serde_json::Value::Null) => Some(vec![]),
            Some(serde_json::Value::Object(m)) => Some(m.keys().cloned().collect()),
            Some(_) => None,
        }
    };
    let essential_acr = obj
        .get("id_token")
        .and_then(|i| i.get("acr"))
        .and_then(|a| a.get("essential"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    Some(Asked {
        id_token: names("id_token")?,
        userinfo: names("userinfo")?,
        essential_acr,
    })
}

/// The browser's signed-in session, unless the request asks for a new login
/// (`prompt=login`) or the session is older than `max_age`.
fn live_session(shared: &Shared, headers: &HeaderMap, prompts: &[&str], max_age: Option<u64>) -> Option<(String, Session)> {
    if shared.quirk(Quirk::NoSso) {
        return None;
    }
    let id = cookie(headers, SESSION_COOKIE)?;
    let session = shared.store().sessions.get_mut(&id, Instant::now())?.clone();
    if prompts.contains(&"login") && !shared.quirk(Quirk::PromptLoginIgnored) {
        return None;
    }
    let age = unix_now().saturating_sub(session.auth_time);
    if max_age.is_some_and(|m| age > m) && !shared.quirk(Quirk::MaxAgeIgnored) {
        return None;
    }
    Some((id, session))
}

/// Whether a JWT `id_token_hint` is one of this provider's ID tokens: its
/// `iss` and a signature that verifies with the provider's own keys (its
/// expiry does not matter: a hint names a user, it grants nothing). A hint
/// that is not a JWT is ignored, as before.
pub(crate) fn own_id_token(shared: &Shared, hint: &str) -> Result<(), String> {
    let Ok(decoded) = crate::check::jwt::decode(hint) else {
        return Ok(());
    };
    if decoded.str_claim("iss") != Some(shared.issuer.as_str()) {
        return Err("another issuer".into());
    }
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(shared.keys.jwks()).map_err(|e| format!("the provider's own key set: {e}"))?;
    match crate::check::jwt::verify(hint, &decoded, &jwks, None) {
        crate::check::jwt::Verified::Ok => Ok(()),
        crate::check::jwt::Verified::Bad(why) => Err(why),
    }
}

/// The `sub` an `id_token_hint` names. A hint only narrows who may be answered
/// (the session decides who is signed in), so its signature is not needed here
/// (OIDC Core §3.1.2.1); a hint that is not a JWT is ignored.
fn hinted_subject(token: &str) -> Option<String> {
    let claims = crate::check::jwt::decode(token).ok()?.claims;
    let sub = claims.get("sub")?.as_str()?;
    Some(sub.strip_suffix("-sso").unwrap_or(sub).to_owned())
}

/// The user entered the user code of device authorization `key` (RFC 8628
/// §3.3): a transaction of its own goes through the login (or the session)
/// and the consent page, which decides the device's grant.
pub(crate) fn start_device(
    shared: &Shared,
    headers: &HeaderMap,
    key: super::store::TokenKey,
    grant: &super::device::DeviceGrant,
) -> Response {
    let request = AuthRequest {
        client_id: grant.client_id.clone(),
        redirect_uri: String::new(),
        response_type: ResponseType {
            code: true,
            id_token: false,
            token: false,
        },
        response_mode: ResponseMode::Query,
        requested: grant.requested.clone(),
        scopes: grant.scopes.clone(),
        state: None,
        nonce: None,
        audience: grant.audience.clone(),
        code_challenge: None,
        dpop_jkt: None,
        asked: Asked::default(),
        device: Some(key),
    };
    let session = live_session(shared, headers, &[], None);
    let login = session.as_ref().map(|(id, s)| Login {
        session_id: id.clone(),
        username: s.username.clone(),
        auth_time: s.auth_time,
        reused: true,
    });
    let (tx, login_nonce) = match (random_token(), random_token()) {
        (Ok(tx), Ok(nonce)) => (tx, nonce),
        (Err(e), _) | (_, Err(e)) => return internal(shared, &e),
    };
    let now = Instant::now();
    let signed_in = login.is_some();
    let pending = Pending {
        request,
        login_nonce,
        login,
        expires: now + PENDING_TTL,
    };
    let inserted = {
        let mut store = shared.store();
        store.maybe_sweep(now);
        store.pending.insert(tx.clone(), pending, now)
    };
    if inserted.is_err() {
        return shared.pages.error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "too many pending requests",
        );
    }
    if signed_in {
        found(shared, &consent_url(shared, &tx), None)
    } else {
        found(shared, &login_url(shared, &tx), None)
    }
}

fn login_url(shared: &Shared, tx: &str) -> String {
    format!("{}/login?tx={}", shared.issuer, encode(tx))
}

fn consent_url(shared: &Shared, tx: &str) -> String {
    format!("{}/consent?tx={}", shared.issuer, encode(tx))
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

pub(crate) async fn login_get(state: State<Arc<Shared>>, query: RawQuery) -> Response {
    let shared = state.0.clone();
    page_quirks(&shared, login_get_inner(state, query).await)
}

pub(crate) async fn login_post(state: State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let shared = state.0.clone();
    let mut response = page_quirks(&shared, login_post_inner(state, headers, body).await);
    // RFC 9700 §4.12: a credential POST is never answered 307 (the browser would post the password on).
    if shared.quirk(Quirk::Login307) && response.status() == StatusCode::FOUND {
        *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    }
    response
}

pub(crate) async fn consent_get(state: State<Arc<Shared>>, query: RawQuery, headers: HeaderMap) -> Response {
    let shared = state.0.clone();
    page_quirks(&shared, consent_get_inner(state, query, headers).await)
}

/// Quirk `login-page-frameable` on the login and consent pages.
pub(crate) fn page_quirks(shared: &Shared, response: Response) -> Response {
    if shared.quirk(Quirk::LoginPageFrameable) {
        super::pages::frameable(response)
    } else {
        response
    }
}

async fn login_get_inner(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let Some(tx) = params.get("tx") else {
        return bad_request(&shared, "tx is missing");
    };
    let known = {
        let now = Instant::now();
        let mut store = shared.store();
        store
            .pending
            .get_mut(tx, now)
            .map(|p| (p.request.client_id.clone(), p.login_nonce.clone()))
    };
    let Some((client_id, login_nonce)) = known else {
        return unknown_tx(&shared);
    };
    shared.pages.login(super::pages::LoginPage {
        tx,
        login_nonce: &login_nonce,
        client_id: &client_id,
        username: "",
        error: None,
    })
}

fn unknown_tx(shared: &Shared) -> Response {
    bad_request(shared, "the authorization transaction is unknown or has expired; start again")
}

async fn login_post_inner(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if !is_form(&headers) {
        return bad_request(&shared, "the login form must be form-urlencoded");
    }
    let params = Params::parse(&body);
    let Some(tx) = params.get("tx") else {
        return bad_request(&shared, "tx is missing");
    };
    let now = Instant::now();
    let known = {
        let mut store = shared.store();
        store
            .pending
            .get_mut(tx, now)
            .map(|p| (p.request.client_id.clone(), p.login_nonce.clone()))
    };
    let Some((client_id, login_nonce)) = known else {
        return unknown_tx(&shared);
    };
    if !params.get("login_nonce").is_some_and(|n| secret_eq(n, &login_nonce)) {
        return bad_request(&shared, "login_nonce does not match this transaction");
    }
    let username = params.get("username").unwrap_or_default();
    let password = params.get("password").unwrap_or_default();
    let user = shared.user(username).filter(|u| secret_eq(u.password.expose(), password));
    let Some(user) = user else {
        return shared.pages.login(super::pages::LoginPage {
            tx,
            login_nonce: &login_nonce,
            client_id: &client_id,
            username,
            error: Some("Wrong username or password."),
        });
    };

    let session_id = match random_token() {
        Ok(id) => id,
        Err(e) => return internal(&shared, &e),
    };
    let auth_time = unix_now();
    let stored = {
        let mut store = shared.store();
        store.maybe_sweep(now);
        if shared.quirk(Quirk::RefreshAuthTimeOfLastLogin) {
            store.last_sign_in.insert(user.username.clone(), auth_time);
        }
        match store.pending.get_mut(tx, now) {
            None => None,
            Some(pending) => {
                pending.login = Some(Login {
                    session_id: session_id.clone(),
                    username: user.username.clone(),
                    auth_time,
                    reused: false,
                });
                Some(store.sessions.insert(
                    session_id.clone(),
                    Session {
                        username: user.username.clone(),
                        auth_time,
                        consents: Vec::new(),
                        clients: Vec::new(),
                        expires: now + SESSION_TTL,
                    },
                    now,
                ))
            }
        }
    };
    match stored {
        None => unknown_tx(&shared),
        Some(Err(e)) => internal(&shared, &InternalError(e.to_string())),
        Some(Ok(())) => {
            let opbs = cookie::Cookie::build((OPBS_COOKIE, super::store::opbs_of(&session_id)))
                .path("/")
                .same_site(cookie::SameSite::Lax)
                .build();
            let cookie = cookie::Cookie::build((SESSION_COOKIE, session_id))
                .http_only(true)
                .path("/")
                .same_site(cookie::SameSite::Lax)
                .build();
            let mut response = found(&shared, &consent_url(&shared, tx), Some(cookie.to_string()));
            if let Ok(v) = HeaderValue::from_str(&opbs.to_string()) {
                response.headers_mut().append(SET_COOKIE, v);
            }
            response
        }
    }
}

/// The state of a transaction seen from the consent page.
enum ConsentState {
    Unknown,
    /// No (matching) session: log in again.
    NeedsLogin,
    Ready(Box<Pending>, Login),
}

/// Looks up `tx` and checks that the request's session cookie is the one
/// that logged in for it (and is still live). With `take`, a ready
/// transaction is removed (it is single-use).
fn consent_state(shared: &Shared, tx: &str, headers: &HeaderMap, take: bool) -> ConsentState {
    let now = Instant::now();
    let cookie = cookie(headers, SESSION_COOKIE);
    let mut store = shared.store();
    let Some(pending) = store.pending.get_mut(tx, now) else {
        return ConsentState::Unknown;
    };
    let Some(login) = pending.login.clone() else {
        return ConsentState::NeedsLogin;
    };
    if cookie.as_deref() != Some(login.session_id.as_str()) {
        return ConsentState::NeedsLogin;
    }
    let pending = pending.clone();
    match store.sessions.get_mut(&login.session_id, now) {
        Some(session) if session.username == login.username => {}
        _ => return ConsentState::NeedsLogin,
    }
    if take {
        store.pending.take(tx, now);
    }
    ConsentState::Ready(Box::new(pending), login)
}

async fn consent_get_inner(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let Some(tx) = params.get("tx") else {
        return bad_request(&shared, "tx is missing");
    };
    match consent_state(&shared, tx, &headers, false) {
        ConsentState::Unknown => unknown_tx(&shared),
        ConsentState::NeedsLogin => found(&shared, &login_url(&shared, tx), None),
        // Quirk: a third-party client's consent is taken as given.
        ConsentState::Ready(pending, _)
            if shared.quirk(Quirk::ThirdPartyConsentSkipped) && shared.third_party(&pending.request.client_id) =>
        {
            decide(&shared, tx, &headers, true, None)
        }
        ConsentState::Ready(pending, login) => shared.pages.consent(super::pages::ConsentPage {
            tx,
            client_id: &pending.request.client_id,
            username: &login.username,
            scopes: &pending.request.scopes,
            audience: pending.request.audience.as_deref(),
        }),
    }
}

pub(crate) async fn consent_post(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if !is_form(&headers) {
        return bad_request(&shared, "the consent form must be form-urlencoded");
    }
    let params = Params::parse(&body);
    let Some(tx) = params.get("tx") else {
        return bad_request(&shared, "tx is missing");
    };
    let allow = match params.get("decision") {
        Some("allow") => true,
        Some("deny") => false,
        _ => return bad_request(&shared, "decision must be allow or deny"),
    };
    decide(&shared, tx, &headers, allow, Some(&params))
}

/// The user's decision on the consent page of transaction `tx`; `form`, the
/// consent form as posted: the scopes whose boxes were unticked are not granted.
fn decide(shared: &Arc<Shared>, tx: &str, headers: &HeaderMap, allow: bool, form: Option<&Params>) -> Response {
    let shared = shared.clone();
    match consent_state(&shared, tx, headers, true) {
        ConsentState::Unknown => unknown_tx(&shared),
        ConsentState::NeedsLogin => found(&shared, &login_url(&shared, tx), None),
        ConsentState::Ready(mut pending, login) => {
            if let Some(form) = form.filter(|f| f.get("choices").is_some())
                && !shared.quirk(Quirk::PartialConsentIgnored)
            {
                pending
                    .request
                    .scopes
                    .retain(|s| s == "openid" || form.get(&format!("grant.{s}")).is_some());
            }
            let request = &pending.request;
            if let Some(key) = &request.device {
                let grant = device_grant(request, &login);
                if allow && let Some(session) = shared.store().sessions.get_mut(&login.session_id, Instant::now()) {
                    session.remember_consent(&request.client_id, &request.scopes);
                }
                return super::device::decided(&shared, key, grant, allow);
            }
            let reply = Reply {
                redirect_uri: &request.redirect_uri,
                mode: request.response_mode,
                state: request.state.as_deref(),
            };
            if !allow && !shared.quirk(Quirk::ConsentDenyIgnored) {
                return reply.error(&shared, "access_denied", "the user denied the request");
            }
            if let Some(session) = shared.store().sessions.get_mut(&login.session_id, Instant::now()) {
                session.remember_consent(&request.client_id, &request.scopes);
            }
            if shared.quirk(Quirk::AuthorizationError) {
                return reply.error(&shared, "server_error", "the authorization server could not complete the request");
            }
            match respond(&shared, request, &login) {
                Ok(fields) => reply.deliver(&shared, fields),
                Err(e) => reply.error(&shared, "server_error", &e.to_string()),
            }
        }
    }
}

/// What approving a device authorization gives the device.
fn device_grant(request: &AuthRequest, login: &Login) -> Grant {
    Grant {
        // The device has no browser session at the provider, and no DPoP key here.
        sid: None,
        jkt: None,
        client_id: request.client_id.clone(),
        username: login.username.clone(),
        scopes: request.scopes.clone(),
        requested: request.requested.clone(),
        audience: request.audience.clone(),
        auth_time: login.auth_time,
        sso: login.reused,
        asked: request.asked.clone(),
    }
}

/// The session state of a response to `client_id` at `redirect_uri` (OIDC
/// Session Management §3.2's example): the SHA-256 of the client id, the
/// client's origin, the browser state and a salt, then `.` and the salt. The
/// check-session frame computes the same from what the client sends it.
fn session_state(shared: &Shared, client_id: &str, redirect_uri: &str, session_id: &str) -> Result<String, InternalError> {
    let origin = Url::parse(redirect_uri)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let salt: String = random_token()?.chars().filter(char::is_ascii_alphanumeric).take(16).collect();
    let opbs = super::store::opbs_of(session_id);
    let hash: String = super::keys::sha256(format!("{client_id} {origin} {opbs} {salt}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let separator = if shared.quirk(Quirk::SessionStateSpaced) { " " } else { "." };
    Ok(format!("{hash}{separator}{salt}"))
}

/// The cookie the check-session frame reads the browser state from (OIDC
/// Session Management §3.2): readable by scripts of the provider's origin,
/// as the frame must be; it names no session.
pub(crate) const OPBS_COOKIE: &str = "rp_opbs";

/// Issues what the response type asks for, after consent.
fn respond(shared: &Shared, request: &AuthRequest, login: &Login) -> Result<Vec<(String, String)>, InternalError> {
    let user = shared
        .user(&login.username)
        .ok_or_else(|| InternalError("logged-in user vanished from the registry".into()))?;
    // The session now has this client signed in: a logout tells it.
    if let Some(session) = shared.store().sessions.get_mut(&login.session_id, Instant::now())
        && !session.clients.contains(&request.client_id)
        && session.clients.len() < super::store::SESSION_CONSENTS
    {
        session.clients.push(request.client_id.clone());
    }
    let grant = Grant {
        sid: Some(super::store::sid_of(&login.session_id)),
        client_id: request.client_id.clone(),
        username: user.username.clone(),
        scopes: request.scopes.clone(),
        requested: request.requested.clone(),
        audience: request.audience.clone(),
        auth_time: login.auth_time,
        sso: login.reused,
        asked: request.asked.clone(),
        jkt: None,
    };
    let rt = request.response_type;
    let mut fields = Vec::new();

    let code = if rt.code {
        let mut code = super::opaque_value(shared)?;
        if shared.quirk(Quirk::ShortCodes) {
            code.truncate(10);
        }
        let now = Instant::now();
        let record = Code {
            grant: grant.clone(),
            redirect_uri: request.redirect_uri.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            dpop_jkt: request.dpop_jkt.clone(),
            redeemed: None,
            racing: 0,
            last_racer: None,
            // RFC 6749 §4.1.2: short-lived (the quirk keeps codes for an hour).
            expires: now
                + if shared.quirk(Quirk::CodeLifetimeUnbounded) {
                    std::time::Duration::from_secs(3600)
                } else {
                    std::time::Duration::from_secs(shared.config.code_ttl_secs)
                },
        };
        shared.store().codes.insert(code.clone(), record, now)?;
        fields.push(("code".to_owned(), code.clone()));
        Some(code)
    } else {
        None
    };

    let access = if rt.token {
        let token = access_token(shared, &grant, user, &grant.scopes, None)?;
        fields.push(("access_token".to_owned(), token.clone()));
        fields.push(("token_type".to_owned(), "Bearer".to_owned()));
        fields.push(("expires_in".to_owned(), shared.config.access_token_ttl_secs.to_string()));
        if !same_scopes(&grant.scopes, &grant.requested) && !shared.quirk(Quirk::ScopeNotEchoed) {
            fields.push(("scope".to_owned(), grant.scopes.join(" ")));
        }
        Some(token)
    } else {
        None
    };

    // OIDC Session Management §2: every successful response carries the session state.
    if !shared.quirk(Quirk::SessionStateMissing) {
        fields.push((
            "session_state".to_owned(),
            session_state(shared, &request.client_id, &request.redirect_uri, &login.session_id)?,
        ));
    }

    if rt.id_token && wants_id_token(shared, &grant.scopes) {
        let token = id_token(
            shared,
            IdTokenInput {
                grant: &grant,
                user,
                scopes: &grant.scopes,
                nonce: request.nonce.as_deref(),
                access_token: access.as_deref(),
                code: code.as_deref(),
                refreshed: false,
            },
        )?;
        fields.push(("id_token".to_owned(), token));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::{ResponseMode, ResponseType, pkce_syntax_ok};
    use crate::reference::{Config, Quirk};
    use reqwest::StatusCode;
    use serde_json::{Value, json};

    #[test]
    fn response_type_parsing() {
        let rt = ResponseType::parse("token  id_token").unwrap();
        assert!(rt.id_token && rt.token && !rt.code);
        assert_eq!(rt, ResponseType::parse("id_token token").unwrap());
        assert!(ResponseType::parse("code code").is_none());
        assert!(ResponseType::parse("none").is_none());
        assert!(ResponseType::parse(" ").is_none());
        assert_eq!(ResponseType::parse("code").unwrap().default_mode(), ResponseMode::Query);
        assert_eq!(ResponseType::parse("code id_token").unwrap().default_mode(), ResponseMode::Fragment);
        assert!(pkce_syntax_ok(&"a".repeat(43)));
        assert!(!pkce_syntax_ok(&"a".repeat(42)));
        assert!(!pkce_syntax_ok(&format!("{}+", "a".repeat(43))));
    }

    #[tokio::test]
    async fn full_code_flow_over_http() {
        let provider = start(Config::default()).await;
        let issuer = provider.issuer().to_owned();
        let browser = http();
        let scope = "openid profile email offline_access read:patients bogus";
        let params = [
            ("client_id", WEB),
            ("redirect_uri", WEB_CALLBACK),
            ("response_type", "code"),
            ("scope", scope),
            ("state", "st-1"),
            ("nonce", "n-1"),
            ("audience", HEALTH),
        ];
        let response = authorize(&provider, &browser, &params).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let login_url = location(&response);
        assert!(login_url.starts_with(&format!("{issuer}/login?tx=")));

        // The login page is a real form.
        let page = browser.get(&login_url).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        let (action, fields) = form(&html);
        assert_eq!(action, "/login");
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        for name in ["tx", "login_nonce", "username", "password"] {
            assert!(names.contains(&name), "{name} in {names:?}");
        }
        assert!(html.contains(r#"type="password""#));

        // Wrong password: the form again, with an error, no session.
        let response = log_in(&browser, &login_url, "wrong").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.text().await.unwrap().contains("Wrong username or password"));

        // Right password: session cookie and on to consent.
        let response = log_in(&browser, &login_url, "jane-password-5e8b").await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("rp_session="), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("Path=/"), "{cookie}");
        let consent_url = location(&response);
        assert!(consent_url.starts_with(&format!("{issuer}/consent?tx=")));

        let page = browser.get(&consent_url).send().await.unwrap();
        let html = page.text().await.unwrap();
        assert!(html.contains(r#"<button type="submit" name="decision" value="allow">Allow</button>"#));
        assert!(html.contains(r#"<button type="submit" name="decision" value="deny">Deny</button>"#));
        assert!(html.contains("read:patients"));
        assert!(!html.contains("bogus"), "unknown scopes are not granted");

        let response = consent(&browser, &consent_url, "allow").await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let callback = location(&response);
        assert!(callback.starts_with(&format!("{WEB_CALLBACK}?")), "{callback}");
        let got = callback_params(&callback);
        assert_eq!(got["state"], "st-1");
        assert_eq!(got["iss"], issuer);
        let code = got["code"].clone();
        assert!(!got.contains_key("id_token") && !got.contains_key("access_token"));

        // The consent transaction is single-use.
        let again = browser.get(&consent_url).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);

        let (status, body) = redeem(&provider, &code).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 300);
        assert_eq!(body["scope"], "openid profile email offline_access read:patients");
        assert!(body["refresh_token"].is_string());
        let access = body["access_token"].as_str().unwrap();
        let id_token = body["id_token"].as_str().unwrap();

        let (header, _) = parts(id_token);
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["alg"], "RS256");
        let claims = verify(&provider, id_token).await;
        assert_eq!(claims["iss"], issuer);
        assert_eq!(claims["sub"], "auth0|jane-0001");
        assert_eq!(claims["aud"], WEB);
        assert!(claims.get("azp").is_none());
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(claims["at_hash"], at_hash(access));
        assert!(claims.get("c_hash").is_none());
        let now = crate::reference::unix_now();
        let iat = claims["iat"].as_u64().unwrap();
        assert!(iat <= now + 1 && iat + 5 >= now);
        assert_eq!(claims["exp"].as_u64().unwrap(), iat + 300);
        assert!(claims["auth_time"].as_u64().unwrap() <= iat);
        assert_eq!(claims["name"], "Jane Doe");
        assert_eq!(claims["updated_at"], 1_700_000_000);
        assert_eq!(claims["email_verified"], true);
        assert!(claims.get("address").is_none(), "address not requested");
        assert!(claims.get("phone_number").is_none(), "phone not requested");
        assert_eq!(claims["https://example.test/roles"], json!(["clinician"]));
        assert!(claims.get("roles").is_none());

        let (header, _) = parts(access);
        assert_eq!(header["typ"], "at+jwt");
        let at = verify(&provider, access).await;
        assert_eq!(at["iss"], issuer);
        assert_eq!(at["sub"], "auth0|jane-0001");
        assert_eq!(at["aud"], json!([HEALTH, format!("{issuer}/userinfo")]));
        assert_eq!(at["azp"], WEB);
        assert_eq!(at["client_id"], WEB);
        assert_eq!(at["scope"], "openid profile email offline_access read:patients");
        assert!(at["jti"].is_string());
        assert_eq!(at["https://example.test/roles"], json!(["clinician"]));

        let response = userinfo(&provider, Some(access)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let info: Value = response.json().await.unwrap();
        assert_eq!(info["sub"], "auth0|jane-0001");
        assert_eq!(info["email"], "jane@example.test");
        assert_eq!(info["given_name"], "Jane");
        assert!(info.get("address").is_none());
        assert_eq!(info["https://example.test/roles"], json!(["clinician"]));

        // An ID token is not an access token.
        let response = userinfo(&provider, Some(id_token)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with(r#"Bearer error="invalid_token""#), "{challenge}");
        provider.shutdown().await;
    }

    #[tokio::test]
    async fn implicit_id_token_token_in_fragment() {
        let provider = start(Config::default()).await;
        let got = browse_ok(
            &provider,
            &[
                ("client_id", WEB),
                ("redirect_uri", WEB_CALLBACK),
                ("response_type", "id_token token"),
                ("scope", "openid phone address"),
                ("state", "s"),
                ("nonce", "n"),
            ],
        )
        .await;
        assert!(!got.contains_key("code"));
        assert_eq!(got["token_type"], "Bearer");
        assert_eq!(got["expires_in"], "300");
        assert!(!got.contains_key("scope"), "scope as requested: not echoed");
        let access = &got["access_token"];
        let claims = verify(&provider, &got["id_token"]).await;
        assert_eq!(claims["at_hash"], at_hash(access));
        assert_eq!(claims["nonce"], "n");
        assert_eq!(claims["phone_number"], "+1 555 0100");
        assert_eq!(claims["phone_number_verified"], false);
        assert_eq!(claims["address"]["formatted"], "1 Main St, Springfield");
        assert!(claims.get("email").is_none());
        assert!(claims.get("name").is_none());
        // No audience: an opaque access token, good at userinfo.
        assert_eq!(access.matches('.').count(), 0);
        let info: Value = userinfo(&provider, Some(access)).await.json().await.unwrap();
        assert_eq!(info["sub"], "auth0|jane-0001");
        assert_eq!(info["phone_number"], "+1 555 0100");
    }

    #[tokio::test]
    async fn fragment_location_shape() {
        let provider = start(Config::default()).await;
        let response = browse(
            &provider,
            &[
                ("client_id", WEB),
                ("redirect_uri", WEB_CALLBACK),
                ("response_type", "id_token"),
                ("scope", "openid"),
                ("nonce", "n"),
            ],
            "allow",
        )
        .await;
        let loc = location(&response);
        assert!(loc.starts_with(&format!("{WEB_CALLBACK}#")), "{loc}");
        let got = callback_params(&loc);
        assert!(!got.contains_key("access_token"));
        let claims = verify(&provider, &got["id_token"]).await;
        assert!(claims.get("at_hash").is_none());
    }

    #[tokio::test]
    async fn hybrid_code_id_token_has_c_hash() {
        let provider = start(Config::default()).await;
        let got = browse_ok(
            &provider,
            &[
                ("client_id", WEB),
                ("redirect_uri", WEB_CALLBACK),
                ("response_type", "code id_token token"),
                ("scope", "openid"),
                ("nonce", "n"),
            ],
        )
        .await;
        let claims = verify(&provider, &got["id_token"]).await;
        assert_eq!(claims["c_hash"], at_hash(&got["code"]));
        assert_eq!(claims["at_hash"], at_hash(&got["access_token"]));
        let (status, body) = redeem(&provider, &got["code"]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let claims = verify(&provider, body["id_token"].as_str().unwrap()).await;
        assert_eq!(claims["nonce"], "n");
    }

    #[tokio::test]
    async fn form_post_page() {
        let provider = start(Config::default()).await;
        let response = browse(
            &provider,
            &[
                ("client_id", WEB),
                ("redirect_uri", WEB_CALLBACK),
                ("response_type", "code"),
                ("response_mode", "form_post"),
                ("scope", "openid"),
                ("state", "a&b\"c"),
            ],
            "allow",
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = response.text().await.unwrap();
        assert!(html.contains("document.forms[0].submit()"));
        let (action, fields) = form(&html);
        assert_eq!(action, WEB_CALLBACK);
        let fields: std::collections::HashMap<_, _> = fields.into_iter().collect();
        assert_eq!(fields["state"], "a&b\"c");
        assert_eq!(fields["iss"], provider.issuer());
        let (status, _) = redeem(&provider, &fields["code"]).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn unregistered_redirect_gets_400_and_no_location() {
        let provider = start(Config::default()).await;
        let browser = http();
        for params in [
            vec![
                ("client_id", WEB),
                ("redirect_uri", "https://evil.example.test/callback"),
                ("response_type", "code"),
                ("scope", "openid"),
            ],
            vec![
                ("client_id", WEB),
                ("redirect_uri", "https://app.example.test/callback/"),
                ("response_type", "code"),
            ],
            vec![("client_id", WEB), ("response_type", "code")],
            vec![("client_id", "nobody"), ("redirect_uri", WEB_CALLBACK), ("response_type", "code")],
            vec![("redirect_uri", WEB_CALLBACK), ("response_type", "code")],
        ] {
            let response = authorize(&provider, &browser, &params).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{params:?}");
            assert!(response.headers().get("location").is_none());
            let html = response.text().await.unwrap();
            assert!(html.contains("Request rejected"));
        }
    }

    #[tokio::test]
    async fn errors_go_to_the_redirect_uri() {
        let provider = start(Config::default()).await;
        let browser = http();
        let code_only = "https://code.example.test/callback";
        // (request parameters, expected error, separator before the parameters)
        type Case = (Vec<(&'static str, &'static str)>, &'static str, &'static str);
        let cases: Vec<Case> = vec![
            (
                vec![
                    ("client_id", "code-only-app"),
                    ("redirect_uri", code_only),
                    ("response_type", "id_token token"),
                    ("scope", "openid"),
                    ("nonce", "n"),
                ],
                "unauthorized_client",
                "#",
            ),
            (
                vec![("client_id", WEB), ("redirect_uri", WEB_CALLBACK), ("response_type", "code banana")],
                "unsupported_response_type",
                "?",
            ),
            (
                vec![
                    ("client_id", WEB),
                    ("redirect_uri", WEB_CALLBACK),
                    ("response_type", "id_token"),
                    ("scope", "openid"),
                ],
                "invalid_request",
                "#",
            ),
            (
                vec![
                    ("client_id", WEB),
                    ("redirect_uri", WEB_CALLBACK),
                    ("response_type", "code"),
                    ("scope", "openid"),
                    ("audience", "https://api.unknown.test"),
                ],
                "invalid_request",
                "?",
            ),
            (
                vec![
                    ("client_id", WEB),
                    ("redirect_uri", WEB_CALLBACK),
                    ("response_type", "code"),
                    ("scope", "openid"),
                    ("resource", "https://api.unknown.test"),
                ],
                "invalid_target",
                "?",
            ),
            (
                vec![
                    ("client_id", SPA),
                    ("redirect_uri", SPA_CALLBACK),
                    ("response_type", "code"),
                    ("scope", "openid"),
                ],
                "invalid_request",
                "?",
            ),
            (
                vec![
                    ("client_id", WEB),
                    ("redirect_uri", WEB_CALLBACK),
                    ("response_type", "code"),
                    ("scope", "openid"),
                    ("prompt", "none"),
                ],
                "login_required",
                "?",
            ),
        ];
        for (mut params, error, separator) in cases {
            params.push(("state", "xyz"));
            let response = authorize(&provider, &browser, &params).await;
            assert_eq!(response.status(), StatusCode::FOUND, "{params:?}");
            let loc = location(&response);
            let redirect_uri = params.iter().find(|(k, _)| *k == "redirect_uri").unwrap().1;
            assert!(loc.starts_with(&format!("{redirect_uri}{separator}")), "{loc}");
            let got = callback_params(&loc);
            assert_eq!(got["error"], error, "{params:?}");
            assert_eq!(got["state"], "xyz");
            assert_eq!(got["iss"], provider.issuer());
            assert!(got.contains_key("error_description"));
        }
    }

    #[tokio::test]
    async fn deny_gives_access_denied() {
        let provider = start(Config::default()).await;
        let response = browse(
            &provider,
            &[
                ("client_id", WEB),
                ("redirect_uri", WEB_CALLBACK),
                ("response_type", "code"),
                ("scope", "openid"),
                ("state", "s"),
            ],
            "deny",
        )
        .await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let got = callback_params(&location(&response));
        assert_eq!(got["error"], "access_denied");
        assert_eq!(got["state"], "s");
        assert!(!got.contains_key("code"));
    }

    #[tokio::test]
    async fn consent_needs_the_session_cookie() {
        let provider = start(Config::default()).await;
        let browser = http();
        let response = authorize(
            &provider,
            &browser,
            &[
                ("client_id", WEB),
                ("redirect_uri", WEB_CALLBACK),
                ("response_type", "code"),
                ("scope", "openid"),
            ],
        )
        .await;
        let login_url = location(&response);
        let response = log_in(&browser, &login_url, "jane-password-5e8b").await;
        let consent_url = location(&response);
        // Another browser (no cookie) is sent back to the login page.
        let response = http().get(&consent_url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        assert!(location(&response).contains("/login?tx="));
        let tx = consent_url.split("tx=").nth(1).unwrap();
        let response = http()
            .post(format!("{}/consent", provider.issuer()))
            .form(&[("tx", tx), ("decision", "allow")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        assert!(location(&response).contains("/login?tx="));
        // A forged login post without the nonce is refused.
        let response = http()
            .post(format!("{}/login", provider.issuer()))
            .form(&[("tx", tx), ("username", "jane"), ("password", "jane-password-5e8b")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn post_authorize_works_like_get() {
        let provider = start(Config::default()).await;
        let response = http()
            .post(format!("{}/authorize", provider.issuer()))
            .form(&[
                ("client_id", WEB),
                ("redirect_uri", WEB_CALLBACK),
                ("response_type", "code"),
                ("scope", "openid"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        assert!(location(&response).contains("/login?tx="));
    }

    #[tokio::test]
    async fn unregistered_redirect_followed_quirk() {
        let provider = start_with(&[Quirk::UnregisteredRedirectFollowed]).await;
        let response = authorize(
            &provider,
            &http(),
            &[
                ("client_id", WEB),
                ("redirect_uri", "https://evil.example.test/cb"),
                ("response_type", "banana"),
            ],
        )
        .await;
        assert_eq!(response.status(), StatusCode::FOUND);
        assert!(location(&response).starts_with("https://evil.example.test/cb?error="));
    }

    /// The parameters of a `browse` outcome: a redirect's query and
    /// fragment, or a form_post page's fields; and whether it came by form_post.
    async fn delivered(response: reqwest::Response) -> (std::collections::HashMap<String, String>, bool) {
        if response.status() == StatusCode::FOUND {
            return (callback_params(&location(&response)), false);
        }
        assert_eq!(response.status(), StatusCode::OK);
        let (action, fields) = form(&response.text().await.unwrap());
        assert_eq!(action, WEB_CALLBACK);
        (fields.into_iter().collect(), true)
    }

    /// An authorization request of web-app with state `st-1`.
    fn web_request(response_type: &'static str, mode: Option<&'static str>) -> Vec<(&'static str, &'static str)> {
        let mut params = vec![
            ("client_id", WEB),
            ("redirect_uri", WEB_CALLBACK),
            ("response_type", response_type),
            ("scope", "openid"),
            ("nonce", "n"),
            ("state", "st-1"),
        ];
        if let Some(mode) = mode {
            params.push(("response_mode", mode));
        }
        params
    }

    #[tokio::test]
    async fn state_not_echoed_quirk() {
        let provider = start_with(&[Quirk::StateNotEchoed]).await;
        // (response type, response mode, decision, what the response must carry)
        for (response_type, mode, decision, carried) in [
            ("code", None, "allow", "code"),
            ("id_token", None, "allow", "id_token"),
            ("code", Some("form_post"), "allow", "code"),
            ("code", None, "deny", "error"),
        ] {
            let response = browse(&provider, &web_request(response_type, mode), decision).await;
            let (got, _) = delivered(response).await;
            assert!(got.contains_key(carried), "{response_type} {mode:?}: {got:?}");
            assert_eq!(got["iss"], provider.issuer());
            assert!(!got.contains_key("state"), "{response_type} {mode:?}: {got:?}");
        }
        // Errors of the request itself, too.
        let mut params = web_request("code", None);
        params.push(("prompt", "none"));
        let response = authorize(&provider, &http(), &params).await;
        let got = callback_params(&location(&response));
        assert_eq!(got["error"], "login_required");
        assert!(!got.contains_key("state"));
    }

    #[tokio::test]
    async fn form_post_ignored_quirk() {
        let provider = start_with(&[Quirk::FormPostIgnored]).await;
        // (response type, separator of the default mode, what the response must carry)
        for (response_type, separator, carried) in [
            ("code", "?", "code"),
            ("code id_token", "#", "id_token"),
            ("id_token", "#", "id_token"),
        ] {
            let response = browse(&provider, &web_request(response_type, Some("form_post")), "allow").await;
            assert_eq!(response.status(), StatusCode::FOUND, "{response_type}");
            let loc = location(&response);
            assert!(loc.starts_with(&format!("{WEB_CALLBACK}{separator}")), "{loc}");
            let got = callback_params(&loc);
            assert!(got.contains_key(carried), "{got:?}");
            assert_eq!(got["state"], "st-1");
        }
        // Errors go the same way; explicitly asked modes are honoured.
        let response = browse(&provider, &web_request("code", Some("form_post")), "deny").await;
        assert!(location(&response).starts_with(&format!("{WEB_CALLBACK}?error=access_denied")));
        let response = browse(&provider, &web_request("code", Some("fragment")), "allow").await;
        assert!(location(&response).starts_with(&format!("{WEB_CALLBACK}#code=")));
        // Without the quirk, form_post is a page.
        let provider = start(Config::default()).await;
        let response = browse(&provider, &web_request("code id_token", Some("form_post")), "allow").await;
        let (got, by_form) = delivered(response).await;
        assert!(by_form && got.contains_key("id_token") && got["state"] == "st-1");
    }

    #[tokio::test]
    async fn authorization_error_quirk() {
        let provider = start_with(&[Quirk::AuthorizationError]).await;
        for (response_type, mode, by_form_post) in [
            ("code", None, false),
            ("id_token token", None, false),
            ("code id_token", Some("form_post"), true),
        ] {
            let response = browse(&provider, &web_request(response_type, mode), "allow").await;
            let (got, by_form) = delivered(response).await;
            assert_eq!(by_form, by_form_post);
            assert_eq!(got["error"], "server_error", "{got:?}");
            assert_eq!(got["state"], "st-1");
            assert_eq!(got["iss"], provider.issuer());
            for token in ["code", "id_token", "access_token"] {
                assert!(!got.contains_key(token), "{got:?}");
            }
        }
        // Deny is still access_denied; request errors are still their own.
        let response = browse(&provider, &web_request("code", None), "deny").await;
        assert_eq!(callback_params(&location(&response))["error"], "access_denied");
        let mut params = web_request("code", None);
        params.push(("prompt", "none"));
        let response = authorize(&provider, &http(), &params).await;
        assert_eq!(callback_params(&location(&response))["error"], "login_required");
    }
}
