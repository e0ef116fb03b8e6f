//! The device authorization grant (RFC 8628): the device authorization
//! endpoint (§3.1, §3.2), the verification page at `/device` where the user
//! enters the user code (§3.3; login and consent are the authorization
//! endpoint's own pages), and the token endpoint's `device_code` grant
//! (§3.4, §3.5).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::issue::{grant_scopes, parse_scope, scope_syntax_ok};
use super::params::{Params, is_form};
use super::store::{Expires, Grant, TokenKey, token_key};
use super::token::{TokenError, no_store_json};
use super::{ClientReg, Quirk, Shared};
use crate::flow::device::GRANT_TYPE;

/// Characters of a user code: no vowels, no look-alikes (§6.1: 20 letters,
/// 8 of them ≈ 34.5 bits).
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
/// How long a device code is kept after it expired, to answer `expired_token`.
const KEPT_AFTER_EXPIRY: Duration = Duration::from_secs(600);
/// A poll this much sooner than the interval is still on time (the client's
/// clock and the network's delays).
const POLL_LEEWAY: Duration = Duration::from_millis(500);

/// Where a device grant stands.
#[derive(Clone, Debug)]
pub(crate) enum DeviceState {
    Pending,
    Approved(Box<Grant>),
    Denied,
    /// Its tokens were issued.
    Redeemed,
}

/// A device authorization, by the hash of its device code.
#[derive(Clone, Debug)]
pub(crate) struct DeviceGrant {
    pub(crate) client_id: String,
    pub(crate) requested: Vec<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) audience: Option<String>,
    pub(crate) state: DeviceState,
    interval: Duration,
    last_poll: Instant,
    /// When the device code expires (`expires_in`).
    expires_at: Instant,
}

impl Expires for DeviceGrant {
    fn expires(&self) -> Instant {
        self.expires_at + KEPT_AFTER_EXPIRY
    }
}

/// A user code, normalised, → its device code's key.
#[derive(Clone, Debug)]
pub(crate) struct UserCode {
    pub(crate) device: TokenKey,
    expires_at: Instant,
}

impl Expires for UserCode {
    fn expires(&self) -> Instant {
        self.expires_at
    }
}

/// A user code as typed: case and dashes or spaces do not matter (§6.1).
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn new_user_code() -> Result<String, super::InternalError> {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| super::InternalError("random number generator failed".into()))?;
    let chars: String = bytes
        .iter()
        .map(|b| USER_CODE_ALPHABET[*b as usize % USER_CODE_ALPHABET.len()] as char)
        .collect();
    Ok(format!("{}-{}", &chars[..4], &chars[4..]))
}

/// POST /device_authorization (§3.1): the client authenticates as at the
/// token endpoint; the answer is §3.2's.
pub(crate) async fn authorize(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    match device_authorization(&shared, &headers, &body) {
        Ok(body) => no_store_json(StatusCode::OK, &Value::Object(body)),
        Err(e) => e.into_response(),
    }
}

fn device_authorization(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, TokenError> {
    if !is_form(headers) {
        return Err(TokenError::request(
            "invalid_request",
            "the request must be application/x-www-form-urlencoded",
        ));
    }
    let params = Params::parse(body);
    if let Some(name) = params.repeated() {
        return Err(TokenError::request("invalid_request", format!("parameter {name} is repeated")));
    }
    let client = super::token::authenticate(shared, headers, &params)?;
    require_device_grant(client)?;
    let requested = parse_scope(params.get("scope"));
    if !scope_syntax_ok(&requested) {
        return Err(TokenError::request("invalid_scope", "scope has invalid characters"));
    }
    let audience = params.get("audience").or_else(|| params.get("resource"));
    if let Some(target) = audience
        && shared.api(target).is_none()
    {
        return Err(TokenError::request("invalid_target", "the API is not registered"));
    }
    let scopes = grant_scopes(shared, client, &requested, audience);
    let device_code = super::random_token()?;
    let user_code = new_user_code()?;
    let now = Instant::now();
    let lifetime = Duration::from_secs(shared.config.device_code_ttl_secs);
    let interval = Duration::from_secs(shared.config.device_interval_secs);
    let key = token_key(&device_code);
    {
        let mut store = shared.store();
        store.maybe_sweep(now);
        let grant = DeviceGrant {
            client_id: client.id.clone(),
            requested,
            scopes,
            audience: audience.map(str::to_owned),
            state: DeviceState::Pending,
            interval,
            last_poll: now,
            expires_at: now + lifetime,
        };
        store
            .devices
            .insert(key, grant, now)
            .map_err(|e| super::InternalError(e.to_string()))?;
        store
            .user_codes
            .insert(
                normalise(&user_code),
                UserCode {
                    device: key,
                    expires_at: now + lifetime,
                },
                now,
            )
            .map_err(|e| super::InternalError(e.to_string()))?;
    }
    let encoded: String = url::form_urlencoded::byte_serialize(user_code.as_bytes()).collect();
    let verification_uri = if shared.quirk(Quirk::DeviceUserCodeInUri) {
        shared.url(&format!("/device?user_code={encoded}"))
    } else {
        shared.url("/device")
    };
    let mut out = Map::new();
    out.insert("device_code".into(), json!(device_code));
    out.insert("user_code".into(), json!(user_code));
    out.insert("verification_uri".into(), json!(verification_uri));
    out.insert(
        "verification_uri_complete".into(),
        json!(shared.url(&format!("/device?user_code={encoded}"))),
    );
    if !shared.quirk(Quirk::DeviceExpiresInMissing) {
        out.insert("expires_in".into(), json!(shared.config.device_code_ttl_secs));
    }
    out.insert("interval".into(), json!(shared.config.device_interval_secs));
    Ok(out)
}

fn require_device_grant(client: &ClientReg) -> Result<(), TokenError> {
    if client.has_grant(GRANT_TYPE) {
        Ok(())
    } else {
        Err(TokenError::request(
            "unauthorized_client",
            "the client may not use the device authorization grant",
        ))
    }
}

/// GET /device: the form the user enters the code in (§3.3); with
/// `user_code` (`verification_uri_complete`, §3.3.1) the code is filled in,
/// for the user to compare with the device's.
pub(crate) async fn page(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let code = params.get("user_code").unwrap_or_default();
    super::authorize::page_quirks(&shared, shared.pages.device(code, None))
}

/// POST /device: the user code entered; a known, live one starts the login
/// and consent of the authorization endpoint.
pub(crate) async fn enter(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if !is_form(&headers) {
        return shared
            .pages
            .error(StatusCode::BAD_REQUEST, "invalid_request", "the form must be form-urlencoded");
    }
    let params = Params::parse(&body);
    let typed = params.get("user_code").unwrap_or_default();
    let now = Instant::now();
    let found = {
        let mut store = shared.store();
        let key = store.user_codes.get_mut(normalise(typed).as_str(), now).map(|u| u.device);
        key.and_then(|key| {
            let grant = store.devices.get_mut(&key, now)?;
            (matches!(grant.state, DeviceState::Pending) && now < grant.expires_at).then(|| (key, grant.clone()))
        })
    };
    let Some((key, grant)) = found else {
        return shared.pages.device(
            typed,
            Some("That code is not valid, or it has expired. Check the code on your device."),
        );
    };
    super::authorize::start_device(&shared, &headers, key, &grant)
}

/// The user's answer on the consent page of a device transaction: `grant`,
/// what approving gives the device.
pub(crate) fn decided(shared: &Shared, key: &TokenKey, grant: Grant, allow: bool) -> Response {
    // Quirk `device-deny-ignored`: a denial approves all the same.
    let approved = allow || shared.quirk(Quirk::DeviceDenyIgnored);
    let now = Instant::now();
    let found = {
        let mut store = shared.store();
        match store.devices.get_mut(key, now) {
            Some(d) if matches!(d.state, DeviceState::Pending) && now < d.expires_at => {
                d.state = if approved {
                    DeviceState::Approved(Box::new(grant))
                } else {
                    DeviceState::Denied
                };
                true
            }
            _ => false,
        }
    };
    if !found {
        return shared.pages.message(
            "Code expired",
            "The device's code has expired or was used already. Start again on the device.",
        );
    }
    if allow {
        shared.pages.message("Device connected", "You can go back to your device.")
    } else {
        shared.pages.message("Request denied", "The device was not given access.")
    }
}

/// What a poll found, decided under the store lock.
enum Poll {
    Pending,
    SlowDown,
    Denied,
    Expired,
    Unknown,
    Issue(Box<Grant>),
}

/// The token endpoint's `device_code` grant (§3.4, §3.5).
pub(crate) fn token(shared: &Shared, client: &ClientReg, params: &Params) -> Result<Map<String, Value>, TokenError> {
    require_device_grant(client)?;
    let Some(code) = params.get("device_code") else {
        return Err(TokenError::request("invalid_request", "device_code is missing"));
    };
    let now = Instant::now();
    let poll = {
        let mut store = shared.store();
        match store.devices.get_mut(&token_key(code), now) {
            None => Poll::Unknown,
            Some(d) if d.client_id != client.id => Poll::Unknown,
            Some(d) if now >= d.expires_at && !shared.quirk(Quirk::DeviceCodeUnbounded) => Poll::Expired,
            Some(d) => {
                let too_fast = now.duration_since(d.last_poll) + POLL_LEEWAY < d.interval;
                d.last_poll = now;
                match &d.state {
                    _ if too_fast && shared.quirk(Quirk::DeviceFastPollDenied) => {
                        d.state = DeviceState::Denied;
                        Poll::Denied
                    }
                    DeviceState::Pending if too_fast => {
                        // §3.5: the interval grows by 5 s for this and every later poll.
                        d.interval += Duration::from_secs(5);
                        Poll::SlowDown
                    }
                    DeviceState::Pending => {
                        if shared.quirk(Quirk::DevicePendingInvalidGrant) {
                            Poll::Unknown
                        } else {
                            Poll::Pending
                        }
                    }
                    DeviceState::Approved(_) if shared.quirk(Quirk::DeviceApprovalLost) => Poll::Pending,
                    DeviceState::Approved(g) => {
                        let g = g.clone();
                        if !shared.quirk(Quirk::DeviceCodeReusable) {
                            d.state = DeviceState::Redeemed;
                        }
                        Poll::Issue(g)
                    }
                    DeviceState::Denied => Poll::Denied,
                    DeviceState::Redeemed => Poll::Unknown,
                }
            }
        }
    };
    match poll {
        Poll::Pending => Err(TokenError::request("authorization_pending", "the user has not acted yet")),
        Poll::SlowDown => Err(TokenError::request("slow_down", "polling faster than the interval")),
        Poll::Denied => Err(TokenError::request("access_denied", "the user denied the request")),
        Poll::Expired => Err(TokenError::request("expired_token", "the device code has expired")),
        Poll::Unknown => Err(TokenError::request(
            "invalid_grant",
            "the device code is unknown, used, or issued to another client",
        )),
        Poll::Issue(grant) => super::token::issue_for_grant(shared, client, &grant),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_eight_letters_of_twenty_read_loosely() {
        let code = new_user_code().unwrap();
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        assert!(code.bytes().filter(|b| *b != b'-').all(|b| USER_CODE_ALPHABET.contains(&b)));
        assert_eq!(normalise("wdjb-mjht"), "WDJBMJHT");
        assert_eq!(normalise(" WDJB MJHT "), "WDJBMJHT");
    }
}
