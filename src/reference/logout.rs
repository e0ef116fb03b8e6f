//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): `/logout`
//! takes GET and POST (§2), validates an `id_token_hint` as one of its own ID
//! tokens (its expiry aside), checks a `client_id` against the hint's
//! audience, redirects only to a `post_logout_redirect_uri` registered for the
//! client, exactly (§3), and always asks the user first (§2: it MUST when
//! there is no hint, and SHOULD otherwise). `/logout/confirm` takes the answer:
//! yes ends the session and redirects with `state`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::authorize::{OPBS_COOKIE, SESSION_COOKIE, found, own_id_token, page_quirks};
use super::params::{Params, cookie, is_form};
use super::store::Expires;
use super::{InternalError, Quirk, Shared, random_token};

/// How long a logout question waits for its answer.
const LOGOUT_TTL: Duration = Duration::from_secs(300);

/// A logout request waiting for the user's answer.
#[derive(Clone, Debug)]
pub(crate) struct PendingLogout {
    /// Where to send the browser afterwards (validated, `state` added).
    redirect: Option<String>,
    expires: Instant,
}

impl Expires for PendingLogout {
    fn expires(&self) -> Instant {
        self.expires
    }
}

/// GET /logout.
pub(crate) async fn end_session_get(State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    page_quirks(&shared, end_session(&shared, &headers, &params).await)
}

/// POST /logout (§2: the OP MUST support GET and POST).
pub(crate) async fn end_session_post(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if shared.quirk(Quirk::LogoutGetOnly) {
        return (StatusCode::METHOD_NOT_ALLOWED, [("allow", "GET")]).into_response();
    }
    if !is_form(&headers) {
        return refuse(&shared, "the logout request must be a form (application/x-www-form-urlencoded)");
    }
    let params = Params::parse(&body);
    page_quirks(&shared, end_session(&shared, &headers, &params).await)
}

fn refuse(shared: &Shared, description: &str) -> Response {
    shared.pages.error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

async fn end_session(shared: &Shared, headers: &HeaderMap, params: &Params) -> Response {
    if let Some(name) = params.repeated() {
        return refuse(shared, &format!("{name} is repeated"));
    }
    // Quirks: an unknown locale, or a user no longer signed in, is an error.
    if shared.quirk(Quirk::LogoutUiLocalesError)
        && params
            .get("ui_locales")
            .is_some_and(|l| l.split_whitespace().any(|t| !matches!(t, "en" | "fr" | "de")))
    {
        return refuse(shared, "ui_locales names a locale this provider does not support");
    }
    if shared.quirk(Quirk::LogoutWithoutSessionError)
        && cookie(headers, SESSION_COOKIE).is_none_or(|id| shared.store().sessions.get_mut(&id, Instant::now()).is_none())
    {
        return refuse(shared, "nobody is signed in");
    }
    // §2: the OP MUST validate that it was the issuer of the ID Token.
    let audience: Option<Vec<String>> = match params.get("id_token_hint") {
        None => None,
        Some(hint) => {
            if !shared.quirk(Quirk::LogoutHintUnverified) {
                match crate::check::jwt::decode(hint) {
                    Err(_) => return refuse(shared, "id_token_hint is not a JWT"),
                    Ok(_) => {
                        if let Err(why) = own_id_token(shared, hint) {
                            return refuse(shared, &format!("id_token_hint was not issued by this provider ({why})"));
                        }
                    }
                }
            }
            let claims = crate::check::jwt::decode(hint).map(|d| d.claims).unwrap_or_default();
            Some(match claims.get("aud") {
                Some(serde_json::Value::String(a)) => vec![a.clone()],
                Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
                _ => Vec::new(),
            })
        }
    };
    let client_id = params.get("client_id");
    // §2: a client_id given with a hint MUST be the hint's client.
    if let (Some(id), Some(aud)) = (client_id, &audience)
        && !aud.iter().any(|a| a == id)
        && !shared.quirk(Quirk::LogoutClientIdIgnored)
    {
        return refuse(shared, "client_id is not the client the id_token_hint was issued to");
    }
    let client = audience
        .as_ref()
        .and_then(|aud| aud.first().map(String::as_str))
        .or(client_id)
        .and_then(|id| shared.client(id));
    let redirect = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            // §3: only for a client known from the hint or client_id, and an exact match.
            let Some(client) = client else {
                return refuse(shared, "post_logout_redirect_uri needs an id_token_hint or a client_id");
            };
            let registered = &client.meta.post_logout_redirect_uris;
            let allowed = registered
                .iter()
                .any(|r| r == uri || (shared.quirk(Quirk::LogoutRedirectPrefix) && uri.starts_with(r.as_str())));
            if !allowed {
                return refuse(shared, "post_logout_redirect_uri is not registered for the client");
            }
            let Ok(mut url) = Url::parse(uri) else {
                return refuse(shared, "post_logout_redirect_uri is not a URL");
            };
            if let Some(state) = params.get("state")
                && !shared.quirk(Quirk::LogoutNoState)
            {
                url.query_pairs_mut().append_pair("state", state);
            }
            Some(url.to_string())
        }
    };
    if shared.quirk(Quirk::LogoutWithoutConfirmation) {
        return signed_out(shared, headers, redirect).await;
    }
    let tx = match random_token() {
        Ok(t) => t,
        Err(e) => return shared.pages.error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e.0),
    };
    let pending = PendingLogout {
        redirect,
        expires: Instant::now() + LOGOUT_TTL,
    };
    if shared.store().logouts.insert(tx.clone(), pending, Instant::now()).is_err() {
        return shared.pages.error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "too many logouts under way",
        );
    }
    shared.pages.logout(&tx, client.map(|c| c.id.as_str()))
}

/// POST /logout/confirm: the user's answer.
pub(crate) async fn confirm(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let params = Params::parse(&body);
    let Some(pending) = params.get("tx").and_then(|tx| shared.store().logouts.take(tx, Instant::now())) else {
        return refuse(&shared, "no such logout request (it expired, or was answered)");
    };
    if params.get("logout") != Some("yes") {
        return shared.pages.message("Still signed in", "You are still signed in.");
    }
    signed_out(&shared, &headers, pending.redirect).await
}

/// POSTs a logout token to each client of the ended session that registered
/// a `backchannel_logout_uri` (§2.5), waiting at most a few seconds for each.
async fn notify(shared: &Shared, session: &super::store::Session, session_id: &str) {
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let http = HTTP.get_or_init(|| {
        reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default()
    });
    let Some(user) = shared.user(&session.username) else { return };
    let sid = super::store::sid_of(session_id);
    for client in session.clients.iter().filter_map(|id| shared.client(id)) {
        let Some(uri) = client.meta.backchannel_logout_uri.as_deref() else {
            continue;
        };
        let Ok(token) = logout_token(shared, &client.id, &shared.subject(user), &sid) else {
            continue;
        };
        let _ = http.post(uri).form(&[("logout_token", token)]).send().await;
    }
}

/// A logout token (OIDC Back-Channel Logout §2.4), with the quirks' faults.
fn logout_token(shared: &Shared, client_id: &str, sub: &str, sid: &str) -> Result<String, InternalError> {
    let q = |quirk| shared.quirk(quirk);
    let now = super::unix_now();
    let mut claims = serde_json::json!({
        "iss": shared.issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + 120,
        "jti": random_token()?,
        "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        "sub": sub,
        "sid": if q(Quirk::BackchannelWrongSid) { super::store::sid_of("another session") } else { sid.to_owned() },
    });
    if q(Quirk::BackchannelNoJti)
        && let Some(o) = claims.as_object_mut()
    {
        o.remove("jti");
    }
    if q(Quirk::BackchannelEventsWrong) {
        claims["events"] = serde_json::json!({"http://schemas.openid.net/event/backchannel-logout": "logout"});
    }
    if q(Quirk::BackchannelNonce) {
        claims["nonce"] = serde_json::json!(random_token()?);
    }
    let mode = if q(Quirk::BackchannelUnsigned) {
        super::keys::SignMode::AlgNone
    } else {
        super::keys::SignMode::Normal
    };
    shared
        .keys
        .sign("logout+jwt", &claims, mode)
        .map_err(|e| InternalError(e.to_string()))
}

/// Ends the browser's session, tells its clients on their back channel and
/// in frames on the front channel, and sends the browser on (or says it is
/// signed out).
async fn signed_out(shared: &Shared, headers: &HeaderMap, redirect: Option<String>) -> Response {
    let session_id = cookie(headers, SESSION_COOKIE);
    let ended = match &session_id {
        Some(id) if !shared.quirk(Quirk::LogoutSessionKept) => shared.store().sessions.take(id, Instant::now()),
        Some(id) => shared.store().sessions.get_mut(id, Instant::now()).map(|s| s.clone()),
        None => None,
    };
    let clear = (!shared.quirk(Quirk::LogoutSessionKept)).then(|| {
        [
            format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
            format!("{OPBS_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax"),
        ]
    });
    let mut frames = Vec::new();
    if let (Some(session), Some(id)) = (&ended, &session_id) {
        // OIDC Back-Channel Logout §2.5, before the redirect (RP-Initiated Logout §3).
        if !shared.quirk(Quirk::BackchannelNotSent) {
            notify(shared, session, id).await;
        }
        if !shared.quirk(Quirk::FrontchannelNotRendered) {
            frames = front_channel_frames(shared, session, id);
        }
    }
    let mut page = match (redirect, frames.is_empty()) {
        (Some(to), true) => found(shared, &to, None),
        (redirect, false) => shared.pages.signed_out_frames(&frames, redirect.as_deref()),
        (None, true) => shared.pages.message("Signed out", "You are signed out."),
    };
    for c in clear.iter().flatten() {
        if let Ok(v) = axum::http::HeaderValue::from_str(c) {
            page.headers_mut().append(axum::http::header::SET_COOKIE, v);
        }
    }
    page
}

/// The frame URL of each client of the ended session that registered a
/// `frontchannel_logout_uri` (OIDC Front-Channel Logout §2): with `iss` and
/// `sid` added to its query where it asked for them, its own query kept.
fn front_channel_frames(shared: &Shared, session: &super::store::Session, session_id: &str) -> Vec<String> {
    let q = |quirk| shared.quirk(quirk);
    let sid = if q(Quirk::FrontchannelWrongSid) {
        super::store::sid_of("another session")
    } else {
        super::store::sid_of(session_id)
    };
    let mut out = Vec::new();
    for client in session.clients.iter().filter_map(|id| shared.client(id)) {
        let Some(uri) = client.meta.frontchannel_logout_uri.as_deref() else {
            continue;
        };
        let Ok(mut url) = Url::parse(uri) else { continue };
        if q(Quirk::FrontchannelQueryDropped) {
            url.set_query(None);
        }
        if client.meta.frontchannel_logout_session_required {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("iss", &shared.issuer);
            if !q(Quirk::FrontchannelNoSid) {
                pairs.append_pair("sid", &sid);
            }
        }
        out.push(url.to_string());
    }
    out
}

/// GET /check_session: the check-session frame (OIDC Session Management §3.2).
pub(crate) async fn check_session(State(shared): State<Arc<Shared>>) -> Response {
    shared.pages.check_session(OPBS_COOKIE)
}
