//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): after a
//! complete code flow, in the same browser, the client sends the user to the
//! provider's `end_session_endpoint` with the ID token as `id_token_hint`, its
//! registered `post_logout_redirect_uri` and a `state` (§2). A confirmation
//! page is confirmed (§2: the provider SHOULD ask); then an authorization
//! request with `prompt=none` shows whether the session ended (§2: the
//! provider MUST log the user out once they said yes).
//!
//! A probe makes its mistake first (a redirect URI that is not the registered
//! one, a hint the provider never issued, another client's `client_id`, or a
//! logout without a hint that nobody confirms) and then logs out correctly, so
//! a refusal of the mistake is told apart from a logout that never redirects.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use url::Url;

use super::par::{Taken, follow};
use super::{Evidence, Provider, client_of, http, page_summary, random_token};
use crate::login::form;
use crate::login::frames::{self, Unattended};
use crate::suite::{Case, LogoutProbe as P};

/// A `client_id` no provider registers: sent with a hint issued to the case's client.
pub const OTHER_CLIENT: &str = "oidc-conform-not-this-client";

/// The `client_id` a probe sends with a hint issued to `own`: another client
/// of the profile (a provider that only refuses unknown clients is not
/// comparing the client with the hint), else [`OTHER_CLIENT`].
pub fn other_client_id(p: &Provider, own: &str) -> String {
    p.profile
        .clients
        .values()
        .map(|c| c.id.as_str())
        .filter(|id| !id.is_empty() && *id != own)
        .min()
        .unwrap_or(OTHER_CLIENT)
        .to_owned()
}

/// Where a logout request left the browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Landing {
    /// Sent to the post-logout redirect URI the request named (or the
    /// registered one): `exact` when the URL is that URI with nothing but
    /// `state` added; the `state` that came back.
    Redirected { url: String, exact: bool, state: Option<String> },
    /// A page of the provider, after `confirmed` presses of a confirmation button.
    Page { status: u16, summary: String, confirmed: u32 },
    /// Sent somewhere else (another site).
    Elsewhere(String),
}

impl Landing {
    pub fn redirected(&self) -> bool {
        matches!(self, Landing::Redirected { .. })
    }

    /// The logout went through as far as the harness can tell: the provider
    /// redirected, or a confirmation was pressed. Otherwise no notification of
    /// the clients was due.
    pub fn went_through(&self) -> bool {
        matches!(self, Landing::Redirected { .. } | Landing::Page { confirmed: 1.., .. })
    }

    /// In words, for verdicts.
    pub fn describe(&self) -> String {
        match self {
            Landing::Redirected { url, .. } => format!("the browser was sent to {url}"),
            Landing::Page {
                status,
                summary,
                confirmed,
            } => {
                let pressed = match confirmed {
                    0 => String::new(),
                    1 => " after the harness confirmed the logout".into(),
                    n => format!(" after the harness confirmed the logout {n} times"),
                };
                format!("the provider showed a page{pressed} (HTTP {status}: {summary})")
            }
            Landing::Elsewhere(url) => format!("the browser was sent away, to {url}"),
        }
    }
}

/// What a logout probe saw.
#[derive(Clone, Debug, Default)]
pub struct LogoutSeen {
    pub probe: Option<P>,
    /// The `state` the correct logout sent.
    pub state: String,
    /// The registered post-logout redirect URI.
    pub registered: String,
    /// The probe's mistaken logout request, and what it named as the
    /// post-logout redirect URI.
    pub mistake: Option<(Landing, String)>,
    /// Before any logout: what `prompt=none` got (a code: the probe of the
    /// session works on this provider and can show it ending).
    pub session_at_start: Option<Taken>,
    /// After the unconfirmed logout: what `prompt=none` got.
    pub session_after_mistake: Option<Taken>,
    /// The correct logout (a POST for `P::Post`).
    pub logout: Option<Landing>,
    /// After the correct logout: what `prompt=none` got.
    pub session_after: Option<Taken>,
    /// The same logout sent again once the user was logged out.
    pub repeated: Option<Landing>,
    /// A back-channel probe: what the harness's receiver got after the logout.
    pub backchannel: Option<Vec<super::backchannel::Received>>,
    /// The other client's id the `other_client_id` probe sent.
    pub other_client: Option<String>,
    /// A front-channel probe: the `frontchannel_logout_uri` the client registered.
    pub frontchannel_uri: Option<String>,
    /// The provider's pages the correct logout went through, as a browser
    /// starts on them: their frames and where they go on by themselves.
    pub pages: Vec<Unattended>,
}

/// How long a back-channel probe waits for the provider's POST after the logout.
pub const BACKCHANNEL_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The `frontchannel_logout_uri` a front-channel probe registers: a path on
/// the origin of the profile's registration redirect URI (OIDC Front-Channel
/// Logout §2: the same scheme, host and port as a registered redirect URI),
/// with a query naming the case's client (§2: kept when `iss` and `sid` are
/// added). The harness never loads it: it reads the frames the provider renders.
pub fn frontchannel_uri(p: &Provider, case: &Case) -> Result<String, String> {
    static SALT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let redirect = &p.profile.registration.redirect_uri;
    let mut uri = Url::parse(redirect).map_err(|e| format!("registration.redirect_uri `{redirect}` is not a URL: {e}"))?;
    let salt = SALT.get_or_init(random_token);
    let rp = crate::reference::keys::sha256(format!("{salt}\n{}\n{}", case.id(), p.discovery.issuer).as_bytes());
    let rp: String = rp[..8].iter().map(|b| format!("{b:02x}")).collect();
    uri.set_path("/oidc-conform/frontchannel-logout");
    uri.set_fragment(None);
    uri.query_pairs_mut().clear().append_pair("rp", &rp);
    Ok(uri.to_string())
}

/// What one logout request sends.
struct Request<'a> {
    hint: Option<&'a str>,
    client_id: Option<&'a str>,
    post_logout_redirect_uri: Option<&'a str>,
    state: Option<&'a str>,
    ui_locales: Option<&'a str>,
    method: Method,
    /// Press a confirmation button when the provider asks.
    confirm: bool,
}

/// The `ui_locales` of the `ui_locales` probe: a private-use tag no provider
/// supports (BCP 47 `x-`), then one it may.
pub const UI_LOCALES: &str = "x-oidc-conform fr";

/// Runs the case's logout probe after its tokens were issued.
pub(super) async fn probe(p: &Provider, case: &Case, probe: P, browser: &reqwest::cookie::Jar, ev: &mut Evidence) -> Result<(), String> {
    let client = client_of(p, case);
    let Some(registered) = client.post_logout_redirect_uri.clone().filter(|u| !u.is_empty()) else {
        ev.not_applicable = Some(format!("client `{}` has no `post_logout_redirect_uri` in the profile", case.client));
        return Ok(());
    };
    if probe == P::Backchannel && !super::request_object::reachable_from(&p.profile.issuer) {
        ev.not_applicable =
            Some("the harness receives back-channel logouts on 127.0.0.1, which only a provider on this machine can reach".into());
        return Ok(());
    }
    let Some(hint) = ev.token_sets.iter().rev().find_map(|s| s.id_token.clone()) else {
        ev.not_applicable = Some("no ID token was issued, so there is no `id_token_hint` to log out with".into());
        return Ok(());
    };
    let state = random_token();
    let mut seen = LogoutSeen {
        probe: Some(probe),
        state: state.clone(),
        registered: registered.clone(),
        frontchannel_uri: (probe == P::Frontchannel).then(|| frontchannel_uri(p, case)).transpose()?,
        ..LogoutSeen::default()
    };
    let correct = |method| Request {
        hint: Some(hint.expose()),
        client_id: Some(client.id.as_str()),
        post_logout_redirect_uri: Some(registered.as_str()),
        state: Some(state.as_str()),
        ui_locales: None,
        method,
        confirm: true,
    };
    ev.step("prompt=none before the logout: the session is there to end");
    seen.session_at_start = Some(session(p, case, browser, ev).await?);
    match probe {
        P::Get | P::Post | P::Backchannel | P::Frontchannel | P::Repeated => {}
        P::UiLocales => {
            let request = Request {
                ui_locales: Some(UI_LOCALES),
                confirm: false,
                ..correct(Method::GET)
            };
            ev.step(format!(
                "the logout request with ui_locales={UI_LOCALES} added, left unconfirmed: is it taken without an error?"
            ));
            seen.mistake = Some((
                send(p, &request, &registered, browser, ev, &mut Vec::new()).await?,
                registered.clone(),
            ));
        }
        P::UnregisteredRedirect => {
            ev.misuse_attempted = true;
            let wrong = unregistered_variant(&registered);
            let request = Request {
                post_logout_redirect_uri: Some(&wrong),
                ..correct(Method::GET)
            };
            ev.step("logging out with a post_logout_redirect_uri that is not the registered one (a query parameter added)");
            seen.mistake = Some((send(p, &request, &registered, browser, ev, &mut Vec::new()).await?, wrong.clone()));
        }
        P::ForgedHint => {
            ev.misuse_attempted = true;
            let forged = forge(hint.expose());
            let request = Request {
                hint: Some(&forged),
                client_id: None,
                ..correct(Method::GET)
            };
            ev.step("logging out with an id_token_hint the provider never issued (the ID token with its payload altered)");
            seen.mistake = Some((
                send(p, &request, &registered, browser, ev, &mut Vec::new()).await?,
                registered.clone(),
            ));
        }
        P::OtherClientId => {
            ev.misuse_attempted = true;
            let other = other_client_id(p, &client.id);
            let request = Request {
                client_id: Some(other.as_str()),
                ..correct(Method::GET)
            };
            ev.step(format!(
                "logging out with the ID token as hint and client_id `{other}`, which is not the client it was issued to"
            ));
            seen.other_client = Some(other.clone());
            seen.mistake = Some((
                send(p, &request, &registered, browser, ev, &mut Vec::new()).await?,
                registered.clone(),
            ));
        }
        P::Unconfirmed => {
            ev.misuse_attempted = true;
            let request = Request {
                hint: None,
                client_id: None,
                post_logout_redirect_uri: None,
                state: None,
                ui_locales: None,
                method: Method::GET,
                confirm: false,
            };
            ev.step("opening the logout URL without id_token_hint, and confirming nothing");
            seen.mistake = Some((send(p, &request, &registered, browser, ev, &mut Vec::new()).await?, String::new()));
            ev.step("prompt=none: is the user still signed in?");
            seen.session_after_mistake = Some(session(p, case, browser, ev).await?);
        }
    }
    let method = if probe == P::Post { Method::POST } else { Method::GET };
    ev.step(format!(
        "logging out ({method}) with the ID token as id_token_hint, the registered post_logout_redirect_uri and a state"
    ));
    let landing = send(p, &correct(method), &registered, browser, ev, &mut seen.pages).await?;
    let went_through = landing.went_through();
    seen.logout = Some(landing);
    if probe == P::Backchannel {
        // A logout that did not go through owes the back channel nothing: what
        // arrived is kept, without waiting for more.
        let limit = if went_through {
            ev.step(format!(
                "waiting up to {} s for the provider's POST to the client's backchannel_logout_uri",
                BACKCHANNEL_WAIT.as_secs()
            ));
            BACKCHANNEL_WAIT
        } else {
            std::time::Duration::ZERO
        };
        let got = super::backchannel::receiver()?.wait(&case.id(), &p.discovery.issuer, limit).await;
        ev.step(format!("the backchannel_logout_uri received {} POST(s)", got.len()));
        seen.backchannel = Some(got);
    }
    ev.step("prompt=none after the logout: the session must be gone");
    seen.session_after = Some(session(p, case, browser, ev).await?);
    if probe == P::Repeated {
        ev.step("logging out again with the same request, now that the user is logged out");
        seen.repeated = Some(send(p, &correct(Method::GET), &registered, browser, ev, &mut Vec::new()).await?);
    }
    ev.logout = Some(seen);
    Ok(())
}

/// The registered URI with a query parameter added: not an exact match (§3).
fn unregistered_variant(registered: &str) -> String {
    match Url::parse(registered) {
        Ok(mut u) => {
            u.query_pairs_mut().append_pair("oidc_conform", "unregistered");
            u.to_string()
        }
        Err(_) => format!("{registered}?oidc_conform=unregistered"),
    }
}

/// The ID token with a claim added to its payload: the same header, `iss`,
/// `aud` and signature, which no longer verifies.
fn forge(id_token: &str) -> String {
    let parts: Vec<&str> = id_token.split('.').collect();
    if parts.len() != 3 {
        return format!("{id_token}x");
    }
    let mut claims: serde_json::Map<String, serde_json::Value> = URL_SAFE_NO_PAD
        .decode(parts[1])
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    claims.insert("oidc_conform_altered".into(), serde_json::Value::Bool(true));
    let payload = URL_SAFE_NO_PAD.encode(serde_json::Value::Object(claims).to_string());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// Sends one logout request in the browser and follows it: redirects, and
/// confirmation pages (pressed when `request.confirm`), until the browser
/// leaves the provider or a page has nothing to press. The request and where
/// it ended are the case's exchange.
async fn send(
    p: &Provider,
    request: &Request<'_>,
    registered: &str,
    browser: &reqwest::cookie::Jar,
    ev: &mut Evidence,
    pages: &mut Vec<Unattended>,
) -> Result<Landing, String> {
    let out = send_steps(p, request, registered, browser, ev, pages).await;
    let said = match &out {
        Ok(landing) => landing.describe(),
        Err(e) => format!("the harness could not get through: {e}"),
    };
    super::exchange::front_channel_answer(ev, said);
    out
}

async fn send_steps(
    p: &Provider,
    request: &Request<'_>,
    registered: &str,
    browser: &reqwest::cookie::Jar,
    ev: &mut Evidence,
    pages: &mut Vec<Unattended>,
) -> Result<Landing, String> {
    let endpoint = p.endpoint("end_session_endpoint")?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut add = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            pairs.push((k.into(), v.into()));
        }
    };
    add("id_token_hint", request.hint);
    add("client_id", request.client_id);
    add("post_logout_redirect_uri", request.post_logout_redirect_uri);
    add("state", request.state);
    add("ui_locales", request.ui_locales);
    let named = request.post_logout_redirect_uri.unwrap_or(registered).to_owned();
    let provider = endpoint.origin();
    let issuer = Url::parse(&p.profile.issuer).map(|u| u.origin()).ok();
    let mut url = endpoint.clone();
    let mut method = request.method.clone();
    let mut body: Vec<(String, String)> = Vec::new();
    if method == Method::POST {
        // Shown as the URL to open with the form's parameters (the body is not recorded).
        let mut shown = url.clone();
        shown.query_pairs_mut().extend_pairs(pairs.iter());
        super::exchange::logout(p, ev, &shown, true);
        body = pairs;
    } else {
        if !pairs.is_empty() {
            url.query_pairs_mut().extend_pairs(pairs.iter());
        }
        super::exchange::logout(p, ev, &url, false);
    }
    let mut confirmed = 0;
    for _ in 0..p.limits.max_redirects * 2 {
        if let Some(landing) = landed(&url, &named, registered) {
            return Ok(landing);
        }
        let mut req = p.http.request(method.clone(), url.clone());
        if let Some(cookies) = reqwest::cookie::CookieStore::cookies(browser, &url) {
            req = req.header(reqwest::header::COOKIE, cookies);
        }
        if method == Method::POST {
            req = req.form(&body);
        }
        let resp = http::send(&p.guard, req, &url, &p.limits).await.map_err(|e| e.to_string())?;
        reqwest::cookie::CookieStore::set_cookies(browser, &mut resp.headers.get_all(reqwest::header::SET_COOKIE).iter(), &url);
        ev.step(format!("{method} {} → {}", http::redact_url(&url), resp.status.as_u16()));
        if resp.status.is_redirection() {
            let Some(next) = resp.header("location").and_then(|l| url.join(l).ok()) else {
                return Ok(Landing::Page {
                    status: resp.status.as_u16(),
                    summary: "a redirect without a usable Location".into(),
                    confirmed,
                });
            };
            url = next;
            method = Method::GET;
            body.clear();
            continue;
        }
        let page = |confirmed| Landing::Page {
            status: resp.status.as_u16(),
            summary: page_summary(&resp),
            confirmed,
        };
        if !resp.status.is_success() {
            return Ok(page(confirmed));
        }
        let html = resp.text();
        // What the browser does by itself on this page: the frames it loads, and
        // whether it goes on to the post-logout redirect URI (a meta refresh or
        // a script, as front-channel logout pages do after their frames).
        let unattended = frames::read(&html, &resp.url);
        let onward = unattended.onward.iter().find(|u| landed(u, &named, registered).is_some()).cloned();
        pages.push(unattended);
        let submission = if request.confirm && confirmed < 2 {
            form::logout_confirmation(&html, &resp.url)
        } else {
            None
        };
        // Only the provider's own confirmation is pressed.
        let submission = submission.filter(|s| {
            let target = s.action.origin();
            target == provider || Some(&target) == issuer.as_ref()
        });
        let Some(submission) = submission else {
            if let Some(next) = onward {
                ev.step(format!(
                    "the page sends the browser on by itself (a refresh or a script) to {}",
                    http::redact_url(&next)
                ));
                url = next;
                method = Method::GET;
                body.clear();
                continue;
            }
            return Ok(page(confirmed));
        };
        confirmed += 1;
        ev.step(format!(
            "the provider asks whether to log out: confirming ({} {})",
            if submission.method == form::Method::Post { "POST" } else { "GET" },
            http::redact_url(&submission.action)
        ));
        if submission.method == form::Method::Post {
            method = Method::POST;
            url = submission.action.clone();
            body = submission.fields.iter().map(|(k, v)| (k.clone(), v.expose().to_owned())).collect();
        } else {
            method = Method::GET;
            url = submission.request_url();
            body.clear();
        }
    }
    Ok(Landing::Page {
        status: 0,
        summary: "too many redirects".into(),
        confirmed,
    })
}

/// Whether `url` is the post-logout redirect URI the request named (or the
/// registered one): same origin and path. Never requested.
fn landed(url: &Url, named: &str, registered: &str) -> Option<Landing> {
    let same_place = |uri: &str| {
        Url::parse(uri)
            .ok()
            .is_some_and(|u| u.origin() == url.origin() && u.path() == url.path())
    };
    if !(same_place(named) || same_place(registered)) {
        return None;
    }
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let state = pairs.iter().find(|(k, _)| k == "state").map(|(_, v)| v.clone());
    let mut without_state = url.clone();
    without_state.set_fragment(None);
    let rest: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "state").collect();
    if rest.is_empty() {
        without_state.set_query(None);
    } else {
        without_state.query_pairs_mut().clear().extend_pairs(rest);
    }
    let exact = Url::parse(named).is_ok_and(|n| n == without_state);
    Some(Landing::Redirected {
        url: http::redact_url(url),
        exact,
        state,
    })
}

/// An authorization request with `prompt=none` in the browser: whether it is
/// still signed in (a code comes back) or not (an error, or a sign-in page).
async fn session(p: &Provider, case: &Case, browser: &reqwest::cookie::Jar, ev: &mut Evidence) -> Result<Taken, String> {
    let client = client_of(p, case);
    let verifier = random_token();
    let challenge = URL_SAFE_NO_PAD.encode(crate::reference::keys::sha256(verifier.as_bytes()));
    let mut q: BTreeMap<&str, String> = BTreeMap::new();
    q.insert("client_id", client.id.clone());
    q.insert("response_type", "code".into());
    q.insert("scope", "openid".into());
    q.insert("redirect_uri", client.redirect_uri.clone().unwrap_or_default());
    q.insert("prompt", "none".into());
    q.insert("state", random_token());
    q.insert("nonce", random_token());
    q.insert("code_challenge", challenge);
    q.insert("code_challenge_method", "S256".into());
    let mut q: BTreeMap<String, String> = q.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    if !super::par::pushed_if_required(p, case, &mut q, ev).await? {
        return Ok(Taken::Refused("the pushed prompt=none request was refused".into()));
    }
    let mut url = p.endpoint("authorization_endpoint")?;
    url.query_pairs_mut().extend_pairs(q.iter());
    follow(p, case, url, Some(browser), ev).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_landing_is_exact_only_with_nothing_but_state_added() {
        let registered = "https://app.test/logged-out";
        let at = |u: &str| landed(&Url::parse(u).unwrap(), registered, registered);
        assert_eq!(
            at("https://app.test/logged-out?state=s1"),
            Some(Landing::Redirected {
                url: "https://app.test/logged-out?state=s1".into(),
                exact: true,
                state: Some("s1".into())
            })
        );
        assert!(matches!(
            at("https://app.test/logged-out"),
            Some(Landing::Redirected {
                exact: true,
                state: None,
                ..
            })
        ));
        assert!(matches!(
            at("https://app.test/logged-out?state=s1&extra=1"),
            Some(Landing::Redirected { exact: false, .. })
        ));
        assert_eq!(at("https://app.test/elsewhere?state=s1"), None);
        assert_eq!(at("https://op.test/logged-out"), None);
        // A registered URI with a query keeps it.
        let with_query = "https://app.test/out?tenant=a";
        let l = landed(
            &Url::parse("https://app.test/out?tenant=a&state=z").unwrap(),
            with_query,
            with_query,
        );
        assert!(matches!(l, Some(Landing::Redirected { exact: true, .. })), "{l:?}");
        let l = landed(&Url::parse("https://app.test/out?state=z").unwrap(), with_query, with_query);
        assert!(matches!(l, Some(Landing::Redirected { exact: false, .. })), "{l:?}");
    }

    #[test]
    fn a_forged_hint_keeps_header_and_signature_and_alters_the_payload() {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#);
        let payload = URL_SAFE_NO_PAD.encode(r#"{"iss":"https://op.test","aud":"c","sub":"u"}"#);
        let token = format!("{header}.{payload}.c2ln");
        let forged = forge(&token);
        let parts: Vec<&str> = forged.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], header);
        assert_eq!(parts[2], "c2ln");
        assert_ne!(parts[1], payload);
        let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], "c");
        assert_eq!(claims["oidc_conform_altered"], true);
        assert_ne!(forge("not-a-jwt"), "not-a-jwt");
    }

    #[test]
    fn the_unregistered_variant_differs_only_by_a_query_parameter() {
        assert_eq!(
            unregistered_variant("https://app.test/out"),
            "https://app.test/out?oidc_conform=unregistered"
        );
        assert_eq!(
            unregistered_variant("https://app.test/out?t=1"),
            "https://app.test/out?t=1&oidc_conform=unregistered"
        );
    }
}
