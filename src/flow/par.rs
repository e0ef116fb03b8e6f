//! Pushed authorization requests (RFC 9126): the case's authorization
//! parameters are pushed to the provider's endpoint first, and the
//! authorization request then carries only `client_id` and the `request_uri`
//! the push returned (§4). A probe makes its deliberate mistake first (a wrong
//! secret, no client authentication, a `request_uri` in the pushed body, an
//! unregistered redirect URI, a GET) and then pushes correctly, so a refusal of
//! the mistake is told apart from a provider that refuses every push; `reuse`
//! sends the same `request_uri` again once the authorization completed.

use std::collections::BTreeMap;

use super::{EndpointAnswer, Evidence, OAuthError, Provider, client_authentication, client_of, http, random_token};
use crate::login::form::{self, Page};
use crate::profile::ClientAuth;
use crate::secret::Secret;
use crate::suite::{Case, ParProbe as P};
use reqwest::Method;

/// The `request_uri` prefix RFC 9126 §2.2 gives as an example; a provider may
/// use any URI. The harness's own made-up one (a `request_uri` in the pushed
/// body) uses it.
const URN: &str = "urn:ietf:params:oauth:request_uri:";

/// A redirect URI no client registers (`.invalid`, RFC 6761): where a
/// provider that does not validate pushed requests would send the user.
pub const UNREGISTERED: &str = "https://unregistered.oidc-conform.invalid/callback";

/// The longest a `request_uri` is waited out (`par: expire`), beyond which
/// the probe says why it did not wait.
pub const MAX_EXPIRY_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// What the authorization endpoint did with a pushed request's `request_uri`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Taken {
    /// Redirected to the client with a code or tokens.
    Issued,
    /// Showed a sign-in or consent page: the request was taken.
    Page(&'static str),
    /// Redirected to the unregistered redirect URI.
    ToUnregistered,
    /// Refused: an error at the redirect URI, or an error page (how, for the verdict).
    Refused(String),
}

/// What a pushed-authorization-request probe saw.
#[derive(Clone, Debug, Default)]
pub struct ParSeen {
    pub probe: Option<P>,
    /// The probe's mistaken push (or GET).
    pub mistake: Option<EndpointAnswer>,
    /// A push with an unregistered redirect URI that was taken: what the
    /// authorization endpoint then did with its `request_uri`.
    pub mistake_taken: Option<Taken>,
    /// The correct push.
    pub push: Option<EndpointAnswer>,
    /// The authorization with the correct push's `request_uri` reached the
    /// redirect URI with a code or tokens.
    pub authorized: Option<bool>,
    /// The same `request_uri` sent again after the authorization completed.
    pub reuse: Option<Taken>,
    /// The correct push's `request_uri`.
    pub request_uri: Option<Secret>,
    /// The authorization request sent unpushed, where the provider takes
    /// only pushed ones: what the authorization endpoint did.
    pub unpushed: Option<Taken>,
    /// Its `request_uri` sent with another client's `client_id`: the other
    /// client, and what the authorization endpoint did. `None` where the
    /// profile has no other client.
    pub other_client: Option<(String, Taken)>,
    /// How often the provider fetched the `request_uri` the harness put in a
    /// pushed body (one it serves on 127.0.0.1), where it served one.
    pub request_uri_fetches: Option<usize>,
    /// Pushed only because the provider takes no other authorization
    /// request (`require_pushed_authorization_requests`): not a PAR probe,
    /// and not judged as one.
    pub implied: bool,
    /// The case's client authenticates its pushes (it has credentials): RFC
    /// 9126 §2.4 lets a provider take unregistered redirect URIs from such
    /// clients (MAY), never from others.
    pub authenticated: bool,
    /// Why the probe's mistake was not made (it cannot be, with this client).
    pub not_probed: Option<String>,
    /// The pushes whose client assertion named each audience RFC 9126 §2
    /// has the server accept: what the audience was, and the answer.
    pub audiences: Vec<(String, EndpointAnswer)>,
}

/// How a push authenticates the client.
#[derive(Clone, PartialEq, Eq)]
enum Auth {
    AsDeclared,
    WrongSecret,
    Without,
    /// As declared, but the request's `client_id` is this other client's.
    Naming(String),
    /// As declared, with a client assertion whose `aud` is this.
    Audience(String),
}

/// Pushes the authorization parameters `q` (after the probe's mistake) and
/// leaves in `q` only `client_id` and the `request_uri`. `Ok(false)`: the
/// correct push was refused (recorded as the provider's error); the
/// authorization is not sent.
pub(super) async fn push(p: &Provider, case: &Case, probe: P, q: &mut BTreeMap<String, String>, ev: &mut Evidence) -> Result<bool, String> {
    let mut seen = ParSeen {
        probe: Some(probe),
        authenticated: case.auth != ClientAuth::None,
        ..ParSeen::default()
    };
    let body: Vec<(String, String)> = q
        .iter()
        .filter(|(k, _)| *k != "client_id")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match probe {
        P::Push | P::Reuse | P::OtherClient => {}
        P::Unpushed => {
            // RFC 9126 §5: require_pushed_authorization_requests says the
            // provider takes authorization request data only pushed.
            ev.misuse_attempted = true;
            ev.step("the authorization request sent unpushed to the authorization endpoint, no session");
            let mut url = p.endpoint("authorization_endpoint")?;
            url.query_pairs_mut().extend_pairs(q.iter());
            seen.unpushed = Some(follow(p, case, url, None, ev).await?);
        }
        P::WrongSecret => {
            ev.misuse_attempted = true;
            seen.mistake = Some(post(p, case, body.clone(), Auth::WrongSecret, "with a wrong client secret", ev).await?);
        }
        P::WithoutClientAuth => {
            ev.misuse_attempted = true;
            seen.mistake = Some(post(p, case, body.clone(), Auth::Without, "without client authentication", ev).await?);
        }
        P::RequestUriInBody => {
            ev.misuse_attempted = true;
            let mut with = body.clone();
            // A provider on this machine gets a `request_uri` it can fetch: the
            // same parameters as an unsigned request object, served on
            // 127.0.0.1, so that its refusal is not a failed fetch (RFC 9126
            // §2.1 step 2: refused whatever it points at). Elsewhere a made-up URN.
            let served = if super::request_object::reachable_from(&p.profile.issuer) {
                let server = super::request_object::server().await?;
                let client_id = q.get("client_id").map_or("", String::as_str);
                let jwt = super::request_object::make(q, client_id, &p.discovery.issuer, crate::suite::RequestObjectAlg::None, false)?;
                server.put(case, &p.discovery.issuer, jwt);
                Some(server)
            } else {
                None
            };
            let uri = match served {
                Some(server) => server.uri_for(case, &p.discovery.issuer),
                None => format!("{URN}oidc-conform-{}", random_token()),
            };
            with.push(("request_uri".into(), uri));
            seen.mistake = Some(post(p, case, with, Auth::AsDeclared, "with a `request_uri` in the body", ev).await?);
            if let Some(server) = served {
                let n = server.fetches(case, &p.discovery.issuer);
                seen.request_uri_fetches = Some(n);
                ev.step(match n {
                    0 => "the provider did not fetch the request object at the pushed request_uri".to_owned(),
                    1 => "the provider fetched the request object at the pushed request_uri".to_owned(),
                    n => format!("the provider fetched the request object at the pushed request_uri {n} times"),
                });
            }
        }
        P::UnregisteredRedirect => {
            ev.misuse_attempted = true;
            let mut with: Vec<(String, String)> = body.iter().filter(|(k, _)| k != "redirect_uri").cloned().collect();
            with.push(("redirect_uri".into(), UNREGISTERED.into()));
            mistaken_push(p, case, with, "with a redirect URI the client never registered", &mut seen, ev).await?;
        }
        P::Get => {
            ev.misuse_attempted = true;
            seen.mistake = Some(get(p, &body, ev).await?);
        }
        P::RequestObjectOtherClient => {
            let jwt = q.get("request").ok_or(
                "`par: request_object_other_client` needs the case's request object by value (`request_object: { by: value, alg: RS256 }`)",
            )?;
            match other_client(p, case) {
                None => {
                    let why = "the profile declares no other client to name in the request object".to_owned();
                    ev.step(format!("no request object in another client's name: {why}"));
                    seen.not_probed = Some(why);
                }
                Some(other) => {
                    ev.misuse_attempted = true;
                    let forged = super::request_object::with_client_id(jwt, &other.id)?;
                    let with: Vec<(String, String)> = body
                        .iter()
                        .map(|(k, v)| (k.clone(), if k == "request" { forged.clone() } else { v.clone() }))
                        .collect();
                    let how = format!("with a request object whose client_id claim is another client's ({})", other.id);
                    mistaken_push(p, case, with, &how, &mut seen, ev).await?;
                }
            }
        }
        P::Expire => {
            ev.misuse_attempted = true;
            let answer = post(p, case, body.clone(), Auth::AsDeclared, "whose request_uri is left to expire", ev).await?;
            let lifetime = answer
                .json
                .as_ref()
                .and_then(|j| j.get("expires_in"))
                .and_then(serde_json::Value::as_u64);
            match (pushed_uri(&answer), lifetime) {
                (None, _) => {}
                (Some(_), None) => {
                    seen.not_probed = Some("the push was answered without an `expires_in`, so there is no lifetime to wait out".into());
                }
                (Some(_), Some(secs)) if secs >= MAX_EXPIRY_WAIT.as_secs() => {
                    seen.not_probed = Some(format!(
                        "the request_uri lives {secs} s; the harness waits at most {} s for one to expire",
                        MAX_EXPIRY_WAIT.as_secs()
                    ));
                }
                (Some(uri), Some(secs)) => {
                    ev.step(format!(
                        "waiting {} s: the request_uri's expires_in ({secs} s) and a second more",
                        secs + 1
                    ));
                    tokio::time::sleep(std::time::Duration::from_secs(secs + 1)).await;
                    ev.step("sending the expired request_uri to the authorization endpoint (no session)");
                    seen.mistake_taken = Some(take(p, case, &uri, None, ev).await?);
                }
            }
            if let Some(why) = &seen.not_probed {
                ev.step(format!("no expired request_uri to send: {why}"));
            }
            seen.mistake = Some(answer);
        }
        P::AssertionAudiences => match case.auth {
            ClientAuth::PrivateKeyJwt | ClientAuth::ClientSecretJwt => {
                let audiences = [
                    ("the issuer identifier", p.discovery.issuer.clone()),
                    ("the token endpoint URL", p.endpoint("token_endpoint")?.to_string()),
                    (
                        "the pushed authorization request endpoint URL",
                        p.endpoint("pushed_authorization_request_endpoint")?.to_string(),
                    ),
                ];
                for (which, aud) in audiences {
                    let how = format!("with a client assertion whose `aud` is {which}");
                    let answer = post(p, case, body.clone(), Auth::Audience(aud), &how, ev).await?;
                    seen.audiences.push((which.to_owned(), answer));
                }
            }
            other => {
                let why = format!(
                    "the case's client authenticates with `{}`, not with a client assertion",
                    other.as_str()
                );
                ev.step(format!("no assertion audiences to try: {why}"));
                seen.not_probed = Some(why);
            }
        },
        P::NamesOtherClient => match named_client(p, case) {
            Err(why) => {
                ev.step(format!("no push in another client's name: {why}"));
                seen.not_probed = Some(why);
            }
            Ok(other) => {
                ev.misuse_attempted = true;
                // A whole request in the other client's name: its client_id
                // and, where the profile has it, its redirect URI.
                let mut with: Vec<(String, String)> = body.clone();
                if let Some(uri) = &other.redirect_uri {
                    with.retain(|(k, _)| k != "redirect_uri");
                    with.push(("redirect_uri".into(), uri.clone()));
                }
                let answer = post(
                    p,
                    case,
                    with,
                    Auth::Naming(other.id.clone()),
                    &format!("authenticated as the case's client, in the name of another ({})", other.id),
                    ev,
                )
                .await?;
                if let Some(uri) = pushed_uri(&answer) {
                    ev.step(format!(
                        "the push was taken: sending its request_uri with that client's client_id ({}), no session",
                        other.id
                    ));
                    let taken = take_as(p, case, &other.id, &uri, None, ev).await?;
                    seen.other_client = Some((other.id.clone(), taken));
                }
                seen.mistake = Some(answer);
            }
        },
    }
    if case.request.dpop == Some(crate::suite::DpopProbe::PushedJktMismatch) {
        jkt_mismatch(p, case, &body, ev).await?;
    }
    let answer = post(p, case, body, Auth::AsDeclared, "", ev).await?;
    let uri = pushed_uri(&answer);
    if uri.is_none() {
        ev.error = Some(OAuthError {
            stage: "authorization",
            error: answer.error.clone().unwrap_or_else(|| format!("HTTP {}", answer.status)),
            description: Some(
                match answer
                    .json
                    .as_ref()
                    .and_then(|j| j.get("error_description"))
                    .and_then(|d| d.as_str())
                {
                    Some(d) => format!(
                        "the pushed authorization request was not taken ({})",
                        crate::report::escape::escape_controls(d).chars().take(200).collect::<String>()
                    ),
                    None => "the pushed authorization request was not taken".into(),
                },
            ),
            status: Some(answer.status),
            www_authenticate: None,
            pushed: true,
        });
    }
    if let (P::OtherClient, Some(u)) = (probe, &uri) {
        // RFC 9126 §2.2: the request_uri is bound to the client that pushed
        // it. Another client of the profile, never a made-up one: a provider
        // refuses an unknown client whatever the request_uri.
        match other_client(p, case).map(|c| c.id.as_str()) {
            Some(other) => {
                ev.misuse_attempted = true;
                ev.step(format!(
                    "sending the pushed request_uri with another client's client_id ({other}), no session"
                ));
                let taken = take_as(p, case, other, u, None, ev).await?;
                seen.other_client = Some((other.to_owned(), taken));
            }
            None => ev.step("the profile declares no other client to send the request_uri as"),
        }
    }
    seen.push = Some(answer);
    seen.request_uri = uri.clone();
    seen.implied = case.request.par.is_none();
    ev.par = Some(seen);
    let Some(uri) = uri else { return Ok(false) };
    let client_id = q.get("client_id").cloned().unwrap_or_default();
    q.clear();
    q.insert("client_id".into(), client_id);
    q.insert("request_uri".into(), uri.expose().to_owned());
    ev.request.insert("request_uri".into(), "(the pushed request's)".into());
    Ok(true)
}

/// A probe's mistaken push, authenticated as declared: its answer, and, if
/// it was taken, what the authorization endpoint did with its `request_uri`
/// (no session), for the probe to be judged by.
async fn mistaken_push(
    p: &Provider,
    case: &Case,
    form: Vec<(String, String)>,
    how: &str,
    seen: &mut ParSeen,
    ev: &mut Evidence,
) -> Result<(), String> {
    let answer = post(p, case, form, Auth::AsDeclared, how, ev).await?;
    if let Some(uri) = pushed_uri(&answer) {
        ev.step("the push was taken: sending its request_uri to the authorization endpoint (no session)");
        seen.mistake_taken = Some(take(p, case, &uri, None, ev).await?);
    }
    seen.mistake = Some(answer);
    Ok(())
}

/// RFC 9449 §10.1: a push whose DPoP proof is of the case's key and whose
/// `dpop_jkt` names another key. What the endpoint did is the DPoP probe's
/// mistake; the correct push (the proof alone) follows.
async fn jkt_mismatch(p: &Provider, case: &Case, body: &[(String, String)], ev: &mut Evidence) -> Result<(), String> {
    let Some(k) = ev.dpop_key.clone() else { return Ok(()) };
    let other = super::dpop::Prover::for_algs(&[k.alg().to_owned()])?;
    ev.misuse_attempted = true;
    let mut with: Vec<(String, String)> = body.iter().filter(|(k, _)| k != "dpop_jkt").cloned().collect();
    with.push(("dpop_jkt".into(), other.thumbprint().to_owned()));
    let answer = post(
        p,
        case,
        with,
        Auth::AsDeclared,
        &format!(
            "with a DPoP proof of the case's key and a `dpop_jkt` naming another key (thumbprint {})",
            other.thumbprint()
        ),
        ev,
    )
    .await?;
    let accepted = pushed_uri(&answer).is_some();
    let outcome = super::dpop::Outcome {
        accepted,
        said: match (&answer.error, accepted) {
            (_, true) => format!("taken: HTTP {} with a request_uri", answer.status),
            (Some(e), false) => format!("refused: HTTP {} `{e}`", answer.status),
            (None, false) => format!("refused: HTTP {}", answer.status),
        },
        error: answer.error.clone(),
        ..super::dpop::Outcome::default()
    };
    if let Some(seen) = ev.dpop.as_mut() {
        seen.mistake = Some(outcome);
    }
    Ok(())
}

/// The authorization request of a pushed request, for the browser driver: it
/// sends the request again after the harness's own attempt reached a page it
/// cannot use, and a provider that takes a `request_uri` once (RFC 9126 §4:
/// SHOULD) refuses a second use. So the same parameters are pushed again,
/// the same way, and the browser gets the fresh `request_uri` (which the case
/// then keeps: a `reuse` probe sends that one again).
pub(super) async fn push_again(
    p: &Provider,
    case: &Case,
    unpushed: &BTreeMap<String, String>,
    ev: &mut Evidence,
) -> Result<url::Url, String> {
    let body: Vec<(String, String)> = unpushed
        .iter()
        .filter(|(k, _)| *k != "client_id")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let answer = post(
        p,
        case,
        body,
        Auth::AsDeclared,
        "again, for the browser (a request_uri may be taken only once)",
        ev,
    )
    .await?;
    let Some(uri) = pushed_uri(&answer) else {
        return Err(format!(
            "the pushed request endpoint took the request once but not again for the browser (HTTP {}{})",
            answer.status,
            answer.error.as_deref().map(|e| format!(", `{e}`")).unwrap_or_default()
        ));
    };
    if let Some(seen) = ev.par.as_mut() {
        seen.request_uri = Some(uri.clone());
    }
    let mut url = p.endpoint("authorization_endpoint")?;
    url.query_pairs_mut()
        .append_pair("client_id", unpushed.get("client_id").map_or("", String::as_str))
        .append_pair("request_uri", uri.expose());
    Ok(url)
}

/// After the authorization completed: the same `request_uri` again, in the
/// same browser.
pub(super) async fn reuse(
    p: &Provider,
    case: &Case,
    browser: &reqwest::cookie::Jar,
    uri: &Secret,
    ev: &mut Evidence,
) -> Result<(), String> {
    ev.step("sending the same request_uri again, now that the authorization completed");
    let taken = take(p, case, uri, Some(browser), ev).await?;
    if let Some(seen) = ev.par.as_mut() {
        seen.reuse = Some(taken);
    }
    Ok(())
}

/// Another client of the profile than the case's (the first by id), never a
/// made-up one: a provider refuses an unknown client whatever else is wrong.
fn other_client<'a>(p: &'a Provider, case: &Case) -> Option<&'a crate::profile::Client> {
    let own = client_of(p, case).id.as_str();
    p.profile
        .clients
        .values()
        .filter(|c| !c.id.is_empty() && c.id != own)
        .min_by(|a, b| a.id.cmp(&b.id))
}

/// The client a push in another client's name names (RFC 9126 §2.1, §2.2),
/// or why there is none to probe with: the case's client must authenticate
/// with credentials that carry its identity outside `client_id` (HTTP Basic
/// or a client assertion), or the push would simply be the other client's.
fn named_client<'a>(p: &'a Provider, case: &Case) -> Result<&'a crate::profile::Client, String> {
    match case.auth {
        ClientAuth::ClientSecretBasic | ClientAuth::PrivateKeyJwt | ClientAuth::ClientSecretJwt => {}
        ClientAuth::ClientSecretPost | ClientAuth::None => {
            return Err(format!(
                "the case's client authenticates with `{}`, whose client_id in the body is its credential: a push naming another client would be that client's own",
                case.auth.as_str()
            ));
        }
    }
    other_client(p, case).ok_or_else(|| "the profile declares no other client to name".to_owned())
}

/// The `request_uri` of a successful push (RFC 9126 §2.2), if it was one.
fn pushed_uri(answer: &EndpointAnswer) -> Option<Secret> {
    if !(200..300).contains(&answer.status) {
        return None;
    }
    let uri = answer.json.as_ref()?.get("request_uri")?.as_str()?;
    (!uri.is_empty()).then(|| Secret::new(uri))
}

/// A POST to the pushed authorization request endpoint, the client
/// authenticating as declared, with a wrong secret, or not at all. As at the
/// token endpoint, a client assertion for the token endpoint URL refused
/// with `invalid_client` is sent again with the issuer as its audience, and
/// every later push of the case uses it (`par.assertion_audience` judges the
/// refusal), so that a probe's mistake is never refused for its audience.
async fn post(
    p: &Provider,
    case: &Case,
    form: Vec<(String, String)>,
    auth: Auth,
    how: &str,
    ev: &mut Evidence,
) -> Result<EndpointAnswer, String> {
    let answer = post_once(p, case, form.clone(), auth.clone(), how, ev).await?;
    let retry = case.auth.is_jwt()
        && matches!(auth, Auth::AsDeclared | Auth::Naming(_))
        && !ev.par_issuer_audience
        && ev.assertion_audience_refused.is_none()
        && pushed_uri(&answer).is_none()
        && answer.error.as_deref() == Some("invalid_client");
    if !retry {
        return Ok(answer);
    }
    ev.par_issuer_audience = true;
    ev.step("the client assertion for the token endpoint URL was refused: the push again with the issuer as its audience");
    post_once(p, case, form, auth, how, ev).await
}

/// One POST of [`post`].
async fn post_once(
    p: &Provider,
    case: &Case,
    mut form: Vec<(String, String)>,
    auth: Auth,
    how: &str,
    ev: &mut Evidence,
) -> Result<EndpointAnswer, String> {
    let url = p.endpoint("pushed_authorization_request_endpoint")?;
    let client = client_of(p, case);
    let wrong = Secret::new(format!("oidc-conform-wrong-{}", random_token()));
    let (method, secret) = match auth {
        Auth::AsDeclared | Auth::Naming(_) | Auth::Audience(_) => (case.auth, client.secret.as_ref()),
        // A wrong secret is sent the way the client sends its own (Basic unless it posts it).
        Auth::WrongSecret => (
            if case.auth == ClientAuth::ClientSecretPost {
                ClientAuth::ClientSecretPost
            } else {
                ClientAuth::ClientSecretBasic
            },
            Some(&wrong),
        ),
        Auth::Without => (ClientAuth::None, None),
    };
    if secret.is_some() && method != ClientAuth::None && matches!(auth, Auth::AsDeclared | Auth::Naming(_) | Auth::Audience(_)) {
        p.check_transport(&url, "client secret")?;
        if !p.trusted_origin(&url) {
            return Err(format!(
                "the pushed_authorization_request_endpoint is on {}, another origin than the issuer's: the client secret was not sent (list the origin under `http.trusted_origins` in the profile if it belongs to the provider)",
                url.origin().ascii_serialization()
            ));
        }
    }
    let token_endpoint = p.endpoint("token_endpoint")?;
    let mut aud = super::assertion::Audiences::new(
        token_endpoint.as_str(),
        &p.discovery.issuer,
        ev.assertion_audience_refused.is_some() || ev.par_issuer_audience,
    );
    if let Auth::Audience(a) = &auth {
        aud.base = a.clone();
    }
    let basic = client_authentication(client, method, secret, &aud, &mut form)?;
    super::keep_assertion(&form, ev);
    if let Auth::Naming(other) = &auth {
        form.retain(|(k, _)| k != "client_id");
        form.push(("client_id".into(), other.clone()));
    }
    // `client_id` is an authorization request parameter (RFC 6749 §4.1.1) as
    // well as the client's name: the pushed request carries it whatever the
    // authentication (products require it beside HTTP Basic too).
    if !form.iter().any(|(k, _)| k == "client_id") {
        form.push(("client_id".into(), client.id.clone()));
    }
    // RFC 9449 §10.1: the correct push of a `pushed_proof` case carries a
    // DPoP proof of the case's key, which binds the code to it.
    let prover = match (case.request.dpop, &auth) {
        (Some(crate::suite::DpopProbe::PushedProof | crate::suite::DpopProbe::PushedJktMismatch), Auth::AsDeclared) => ev.dpop_key.clone(),
        _ => None,
    };
    let mut nonce_retry = false;
    let resp = loop {
        let mut req = p.http.post(url.clone()).form(&form);
        if let Some((id, secret)) = &basic {
            req = req.basic_auth(id, Some(secret));
        }
        if let Some(k) = &prover {
            req = req.header("DPoP", k.proof("POST", &url, None, None)?);
        }
        let sent = super::exchange::Sent {
            form: &form,
            basic: basic.as_ref(),
            dpop: usize::from(prover.is_some()),
            ..super::exchange::Sent::new("POST", &url)
        };
        let note = (!how.is_empty()).then_some(how);
        let answer = http::send(&p.guard, req, &url, &p.limits).await;
        let resp = super::exchange::recorded(p, ev, crate::report::exchange::Step::Par, note, &sent, answer)?;
        // RFC 9449 §8: a server that wants a nonce answers `use_dpop_nonce`
        // with a `DPoP-Nonce` header; the push goes again with it, once.
        let nonce = resp.header("dpop-nonce").map(str::to_owned);
        let asks = resp.status.as_u16() == 400 && super::endpoint_answer(&resp).error.as_deref() == Some("use_dpop_nonce");
        match (&prover, nonce) {
            (Some(k), Some(n)) if asks && !nonce_retry => {
                k.remember_nonce(&url, &n);
                nonce_retry = true;
                ev.step("the pushed request endpoint asks for a DPoP nonce (use_dpop_nonce): the push again with a proof that carries it");
            }
            (Some(k), Some(n)) => {
                k.remember_nonce(&url, &n);
                break resp;
            }
            _ => break resp,
        }
    };
    ev.step(format!(
        "POST {}{}{} → {}",
        http::redact_url(&url),
        if how.is_empty() { "" } else { " " },
        how,
        resp.status.as_u16()
    ));
    Ok(super::endpoint_answer(&resp))
}

/// A GET to the endpoint with the authorization parameters (never a secret) in the query.
async fn get(p: &Provider, body: &[(String, String)], ev: &mut Evidence) -> Result<EndpointAnswer, String> {
    let mut url = p.endpoint("pushed_authorization_request_endpoint")?;
    url.query_pairs_mut().extend_pairs(body.iter());
    let answer = http::send(&p.guard, p.http.get(url.clone()), &url, &p.limits).await;
    let resp = super::exchange::recorded(
        p,
        ev,
        crate::report::exchange::Step::Par,
        Some("the parameters in the URL query"),
        &super::exchange::Sent::new("GET", &url),
        answer,
    )?;
    ev.step(format!("GET {} → {}", http::redact_url(&url), resp.status.as_u16()));
    Ok(super::endpoint_answer(&resp))
}

/// Sends `client_id` and `uri` to the authorization endpoint and follows the
/// provider's own redirects (never a login): what it did with the request.
async fn take(p: &Provider, case: &Case, uri: &Secret, browser: Option<&reqwest::cookie::Jar>, ev: &mut Evidence) -> Result<Taken, String> {
    let client_id = client_of(p, case).id.clone();
    take_as(p, case, &client_id, uri, browser, ev).await
}

/// [`take`] with the `client_id` of `client_id`.
async fn take_as(
    p: &Provider,
    case: &Case,
    client_id: &str,
    uri: &Secret,
    browser: Option<&reqwest::cookie::Jar>,
    ev: &mut Evidence,
) -> Result<Taken, String> {
    let mut url = p.endpoint("authorization_endpoint")?;
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("request_uri", uri.expose());
    follow(p, case, url, browser, ev).await
}

/// The authorization request `q` as the provider takes it: pushed first
/// where it takes only pushed requests (RFC 9126 §5), the pushed request's
/// `client_id` and `request_uri` then in `q`. `Ok(false)`: the push was refused.
pub(super) async fn pushed_if_required(
    p: &Provider,
    case: &Case,
    q: &mut BTreeMap<String, String>,
    ev: &mut Evidence,
) -> Result<bool, String> {
    if !p.discovery.requires_par() {
        return Ok(true);
    }
    let kept = ev.par.take();
    ev.step("the provider takes authorization requests only pushed (require_pushed_authorization_requests): this one is pushed first");
    let pushed = push(p, case, P::Push, q, ev).await;
    ev.par = kept;
    pushed
}

/// Sends the authorization request `url` and follows the provider's own
/// redirects (never a login, never the client's redirect URI): what the
/// provider did with the request. Used by every probe that only needs to know
/// whether a request is taken (a pushed request's `request_uri`, `prompt=none`
/// around a logout). The request and its answer are the case's exchange.
pub(super) async fn follow(
    p: &Provider,
    case: &Case,
    url: url::Url,
    browser: Option<&reqwest::cookie::Jar>,
    ev: &mut Evidence,
) -> Result<Taken, String> {
    super::exchange::front_channel(p, ev, &url);
    // Without the case's session, a fresh browser: one that keeps the
    // cookies the provider sets on the way (an interaction cookie checked
    // on the next page is no refusal).
    let fresh = reqwest::cookie::Jar::default();
    let out = follow_steps(p, case, url, Some(browser.unwrap_or(&fresh)), ev).await;
    let said = match &out {
        Ok(Taken::Issued) => "a redirect to the client with a code or tokens".to_owned(),
        Ok(Taken::Page(page)) => format!("a {page} page: the request was taken"),
        Ok(Taken::ToUnregistered) => "a redirect to a redirect URI the client never registered".to_owned(),
        Ok(Taken::Refused(how)) => format!("refused: {how}"),
        Err(e) => format!("the harness could not get through: {e}"),
    };
    super::exchange::front_channel_answer(ev, said);
    out
}

async fn follow_steps(
    p: &Provider,
    case: &Case,
    mut url: url::Url,
    browser: Option<&reqwest::cookie::Jar>,
    ev: &mut Evidence,
) -> Result<Taken, String> {
    let registered = client_of(p, case).redirect_uri.clone().unwrap_or_default();
    let provider = url.origin();
    for _ in 0..p.limits.max_redirects {
        let mut req = p.http.request(Method::GET, url.clone());
        if let Some(jar) = browser
            && let Some(cookies) = reqwest::cookie::CookieStore::cookies(jar, &url)
        {
            req = req.header(reqwest::header::COOKIE, cookies);
        }
        let resp = http::send(&p.guard, req, &url, &p.limits).await.map_err(|e| e.to_string())?;
        if let Some(jar) = browser {
            reqwest::cookie::CookieStore::set_cookies(jar, &mut resp.headers.get_all(reqwest::header::SET_COOKIE).iter(), &url);
        }
        ev.step(format!("GET {} → {}", http::redact_url(&url), resp.status.as_u16()));
        let location = resp
            .header("location")
            .and_then(|l| url.join(l).ok())
            .filter(|_| resp.status.is_redirection());
        let Some(next) = location else {
            let html = String::from_utf8_lossy(&resp.body).into_owned();
            if resp.status.is_success() {
                let page = form::analyse(&html, &url, "", &Secret::new(String::new()), &p.profile.login, &registered);
                match page {
                    Ok(Page::Login(_)) => return Ok(Taken::Page("sign-in")),
                    Ok(Page::Consent(_) | Page::ConsentWithoutDeny | Page::ConsentWithoutScopeChoice) => {
                        return Ok(Taken::Page("consent"));
                    }
                    // A form_post answer: judged by what it carries.
                    Ok(Page::FormPost { action, fields }) => {
                        return Ok(answered(action.as_str(), &registered, fields.into_iter().collect()));
                    }
                    _ => {}
                }
            }
            return Ok(Taken::Refused(format!("an error page (HTTP {})", resp.status.as_u16())));
        };
        if next.as_str().starts_with(UNREGISTERED) {
            return Ok(Taken::ToUnregistered);
        }
        if next.origin() != provider || (!registered.is_empty() && next.as_str().starts_with(&registered)) {
            let mut params: BTreeMap<String, String> = next.query_pairs().into_owned().collect();
            if let Some(fragment) = next.fragment() {
                params.extend(url::form_urlencoded::parse(fragment.as_bytes()).into_owned());
            }
            return Ok(answered(next.as_str(), &registered, params));
        }
        url = next;
    }
    Ok(Taken::Refused("too many redirects".into()))
}

/// What an answer at `target` with `params` says.
fn answered(target: &str, registered: &str, params: BTreeMap<String, String>) -> Taken {
    if target.starts_with(UNREGISTERED) {
        return Taken::ToUnregistered;
    }
    if params.contains_key("code") || params.contains_key("access_token") || params.contains_key("id_token") {
        return Taken::Issued;
    }
    match params.get("error") {
        Some(e) => Taken::Refused(format!("error `{}` at the redirect URI", crate::report::escape::escape_controls(e))),
        None if !registered.is_empty() && target.starts_with(registered) => Taken::Refused("a redirect without a code".into()),
        None => Taken::Refused("a redirect away from the provider".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn an_answer_is_judged_by_where_it_goes_and_what_it_carries() {
        let cb = "https://app.test/cb";
        assert_eq!(answered("https://app.test/cb?code=x", cb, params(&[("code", "x")])), Taken::Issued);
        assert_eq!(
            answered("https://app.test/cb#id_token=x", cb, params(&[("id_token", "x")])),
            Taken::Issued
        );
        assert_eq!(
            answered(&format!("{UNREGISTERED}?code=x"), cb, params(&[("code", "x")])),
            Taken::ToUnregistered
        );
        assert!(matches!(
            answered("https://app.test/cb?error=invalid_request_uri", cb, params(&[("error", "invalid_request_uri")])),
            Taken::Refused(how) if how.contains("invalid_request_uri")
        ));
        assert!(matches!(answered("https://app.test/cb", cb, params(&[])), Taken::Refused(_)));
        assert!(matches!(answered("https://elsewhere.test/", cb, params(&[])), Taken::Refused(_)));
    }
}
