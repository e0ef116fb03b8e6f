//! The flow engine: drives a provider through one case's flow, following its
//! redirects and filling its forms, and collects the [`Evidence`] the checks
//! judge. It judges nothing itself.

pub mod assertion;
pub mod backchannel;
pub mod client_auth;
pub mod device;
pub mod dpop;
pub mod exchange;
pub mod http;
pub mod logout;
pub mod par;
pub mod provider;
pub mod redirect;
pub mod register;
pub mod request_object;
pub mod seed;

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::Method;
use serde::Serialize;
use url::Url;

use crate::login::browser;
use crate::login::form::{self, FieldValue, Page};
use crate::profile::ClientAuth;
use crate::secret::Secret;
use crate::suite::{Case, ConsentDecision, Flow, Misuse, UserinfoMethod};
use http::HttpError;
pub use provider::Provider;

/// Where a set of tokens came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// the authorization response (implicit, hybrid)
    Authorization,
    /// the token endpoint, exchanging a code
    Token,
    /// the token endpoint, refreshing
    Refresh,
    /// the token endpoint, client credentials
    ClientCredentials,
    /// the token endpoint, the password grant
    Password,
    /// the token endpoint, the device authorization grant
    Device,
}

impl Origin {
    pub fn describe(self) -> &'static str {
        match self {
            Origin::Authorization => "from the authorization response",
            Origin::Token => "from the token endpoint",
            Origin::Refresh => "from the refresh",
            Origin::ClientCredentials => "from client credentials",
            Origin::Password => "from the password grant",
            Origin::Device => "from the device grant",
        }
    }
}

/// The stages of a flow, each reported under its own check id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stage {
    #[default]
    Authorization,
    Token,
    Userinfo,
}

impl Stage {
    /// The check a harness error at this stage is reported under.
    pub fn check_id(self) -> &'static str {
        match self {
            Stage::Authorization => "flow.authorization",
            Stage::Token => "flow.token",
            Stage::Userinfo => "userinfo.status",
        }
    }
}

/// Tokens from one response.
#[derive(Clone, Debug)]
pub struct TokenSet {
    pub origin: Origin,
    pub id_token: Option<Secret>,
    pub access_token: Option<Secret>,
    pub refresh_token: Option<Secret>,
    pub code: Option<Secret>,
    /// `scope` of the response, when present.
    pub scope: Option<String>,
    /// The response's other parameters (tokens left out), for reports.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// `Cache-Control` and `Pragma` of a token-endpoint response (RFC 6749 §5.1).
    pub cache_control: Option<String>,
    pub pragma: Option<String>,
}

/// An OAuth error answer (RFC 6749 §4.1.2.1, §5.2).
#[derive(Clone, Debug, Serialize)]
pub struct OAuthError {
    /// `authorization` or `token`
    pub stage: &'static str,
    pub error: String,
    pub description: Option<String>,
    pub status: Option<u16>,
    /// The `WWW-Authenticate` of a token-endpoint refusal (RFC 6749 §5.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub www_authenticate: Option<String>,
    /// An authorization request refused at the pushed authorization request
    /// endpoint (RFC 9126), not at the authorization endpoint.
    #[serde(skip)]
    pub pushed: bool,
}

impl OAuthError {
    /// The endpoint that refused, as verdicts name it ("… at the {} endpoint").
    pub fn endpoint(&self) -> &'static str {
        if self.pushed { "pushed authorization request" } else { self.stage }
    }
}

/// The userinfo answer.
#[derive(Clone, Debug, Serialize)]
pub struct UserinfoResponse {
    pub status: u16,
    pub claims: Option<serde_json::Map<String, serde_json::Value>>,
    pub www_authenticate: Option<String>,
    /// The error code of a refusal: the `error` of the Bearer challenge
    /// (RFC 6750 §3), else the `error` member of a JSON body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The media type of a successful answer (`application/json`, or `application/jwt` when signed).
    pub content_type: Option<String>,
    /// A signed answer as it came (OIDC Core §5.3.2); `claims` are its payload.
    #[serde(skip)]
    pub signed: Option<Secret>,
    /// A `DPoP-Nonce` header (RFC 9449 §9): the nonce the next proof carries.
    #[serde(skip)]
    pub dpop_nonce: Option<String>,
}

/// Everything a flow observed; the checks read only this.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// When the case's flow began (seconds since the epoch): every sign-in of
    /// the case, its session's included, happened after it.
    pub started: Option<i64>,
    /// The case started from the run's shared sign-in (see [`seed`]): when
    /// that sign-in began, which is then the earliest `auth_time` can be.
    pub seeded_at: Option<i64>,
    /// The provider's cookies as the browser left them after the case's
    /// authorization went through it (a session worth sharing).
    pub browser_cookies: Vec<(Url, Secret)>,
    /// Parameters of the authorization request (no secrets in it).
    pub request: BTreeMap<String, String>,
    pub nonce: Option<String>,
    pub state: Option<String>,
    /// The response mode the engine read the answer from.
    pub response_mode: Option<String>,
    /// The response parameters that came in the query of the redirect (the
    /// registered redirect URI's own query left out), when it was a redirect.
    pub query_params: Vec<String>,
    /// Parameters of the authorization response (code and tokens left out).
    pub authorization_response: Option<BTreeMap<String, String>>,
    pub token_sets: Vec<TokenSet>,
    pub error: Option<OAuthError>,
    /// The authorization endpoint answered with a page instead of redirecting
    /// (e.g. an unregistered redirect_uri): status and page summary.
    pub refused_without_redirect: Option<(u16, String)>,
    /// The provider redirected to a URI that was not registered for the client.
    pub redirected_to_unregistered: bool,
    pub userinfo: Option<UserinfoResponse>,
    /// What happened, step by step (no secrets), for reports.
    pub trace: Vec<String>,
    /// The HTTP exchanges, credentials replaced by placeholders (the last
    /// [`exchange::MAX_PER_CASE`]): the reproductions of failing checks.
    pub exchanges: Vec<crate::report::exchange::Exchange>,
    /// The harness could not complete the flow (network, login automation…).
    pub harness_error: Option<String>,
    /// Userinfo asked with the ID token as the bearer token (must be refused).
    pub userinfo_with_id_token: Option<UserinfoResponse>,
    /// Userinfo asked with no token at all (must be refused).
    pub userinfo_without_token: Option<UserinfoResponse>,
    /// The request that commits the case's deliberate mistake (`misuse`) was sent;
    /// a refusal before it is a failed set-up, not the refusal under test.
    pub misuse_attempted: bool,
    /// After refusing the exchange, the provider still redeemed the same code.
    pub code_usable_after_refusal: bool,
    /// Parallel redemptions of one code: how many succeeded, of how many sent.
    pub parallel_redemptions: Option<(usize, usize)>,
    /// Successes of each round of parallel redemptions (a new code each round),
    /// the first round's included; the rounds stop at the first that is not one.
    pub parallel_rounds: Vec<usize>,
    /// Further codes and tokens of the same flow, run again (`request.samples`).
    pub samples: Vec<TokenSet>,
    /// After refusing a second redemption of a code, userinfo's HTTP status for
    /// the access token of the first one (RFC 6749 §4.1.2: SHOULD be revoked).
    pub first_token_after_reuse: Option<u16>,
    /// Whether a refresh returned a new refresh token (rotation).
    pub refresh_rotated: Option<bool>,
    /// After a refused reuse of a rotated-out refresh token: whether the token
    /// that replaced it still worked (RFC 9700 §4.14.2: it should not).
    pub active_refresh_after_reuse: Option<bool>,
    /// Why userinfo was not called, when it was not.
    pub userinfo_skipped: Option<String>,
    /// Consent pages the harness approved (submitted with the approving button).
    pub consents: u32,
    /// Login and consent pages seen: (which page, its framing defence, if any).
    pub page_framing: Vec<(&'static str, Option<String>)>,
    /// HTTP status of the answer to each POST that carried the password.
    pub login_post_status: Vec<u16>,
    /// The stage the flow was in last (where a harness error happened).
    pub stage: Stage,
    /// The case turned out not to apply to this provider (e.g. no refresh token to refresh with).
    pub not_applicable: Option<String>,
    /// A request object was sent: the decoy `state` and `nonce` the request
    /// itself carried (the object's own values are `state` and `nonce`).
    pub request_object_decoys: Option<request_object::Decoys>,
    /// The discovery document and the JWK Set as served (a `metadata` case).
    pub metadata: Option<(serde_json::Value, serde_json::Value)>,
    /// Login forms submitted in the case's own authorization.
    pub logins: u32,
    /// The dynamic registration the case began with (when it succeeded).
    pub registration: Option<register::Registration>,
    /// The registered redirect URI has a query: whether the response kept it
    /// (RFC 6749 §3.1.2), with the pairs that went missing.
    pub redirect_query_kept: Option<Vec<String>>,
    /// The sign-in that made the browser session the case's authorization ran in.
    pub signin: Option<SignIn>,
    /// The provider refused or botched that sign-in (a plain code flow): the
    /// check it fails and why; the case's own authorization was not sent.
    pub signin_failed: Option<(&'static str, String)>,
    /// `sign_in_elsewhere`: the user signed in again in another browser before
    /// the refresh (`true` when a login form was filled there, `false` when the
    /// provider let the user through without one).
    pub signed_in_elsewhere: Option<bool>,
    /// The browser driver could not get through: the page's screenshot (PNG)
    /// and visible text (credentials scrubbed) when it gave up.
    pub browser_page: Option<(Option<Vec<u8>>, Option<String>)>,
    /// What a token-lifecycle probe (revocation, introspection) saw.
    pub lifecycle: Option<Lifecycle>,
    /// What a pushed-authorization-request probe (RFC 9126) saw.
    pub par: Option<par::ParSeen>,
    /// What an RP-initiated logout probe saw.
    pub logout: Option<logout::LogoutSeen>,
    /// What a DPoP probe (RFC 9449) saw.
    pub dpop: Option<dpop::DpopSeen>,
    /// The case's DPoP key: token requests carry its proofs while it is set.
    pub dpop_key: Option<std::sync::Arc<dpop::Prover>>,
    /// A fault the next token requests' proofs carry (a probe's mistake).
    pub dpop_fault: Option<dpop::Fault>,
    /// The pushed authorization request endpoint refused a client assertion
    /// for the token endpoint URL: pushes name the issuer as its audience.
    pub par_issuer_audience: bool,
    /// The next token requests get no retry with a nonce the server asks for
    /// (a nonce probe learning whether it does, or making its mistake).
    pub dpop_hold_nonce: bool,
    /// What a device authorization grant probe (RFC 8628) saw.
    pub device: Option<device::DeviceSeen>,
    /// What the client-assertion probes (OIDC Core §9, RFC 7523) saw.
    pub client_assertions: Option<client_auth::ClientAssertions>,
    /// The client assertions sent (credentials: the case's report is scrubbed of them).
    pub sent_assertions: Vec<Secret>,
    /// The provider refused a conformant client assertion whose audience was
    /// its token endpoint URL (this answer); later ones name its issuer.
    pub assertion_audience_refused: Option<String>,
}

/// An answer of the revocation or introspection endpoint.
#[derive(Clone, Debug, Default)]
pub struct EndpointAnswer {
    pub status: u16,
    /// The `error` of a JSON error body.
    pub error: Option<String>,
    /// The JSON object answered, if any (introspection).
    pub json: Option<serde_json::Map<String, serde_json::Value>>,
    pub www_authenticate: Option<String>,
}

/// What a token-lifecycle probe saw (RFC 7009, RFC 7662).
#[derive(Clone, Debug, Default)]
pub struct Lifecycle {
    pub probe: Option<crate::suite::LifecycleProbe>,
    /// The revocation request's answer.
    pub revocation: Option<EndpointAnswer>,
    /// After the revocation, the refresh with the revoked (or not) refresh
    /// token: `Some(true)` when it issued tokens.
    pub refreshed_after: Option<bool>,
    /// After revoking the access token: whether the provider still takes it,
    /// and how that was seen (introspection or userinfo).
    pub access_alive_after: Option<(bool, String)>,
    /// Introspection of the live access token.
    pub introspection: Option<EndpointAnswer>,
    /// Introspection of a token never issued.
    pub introspection_unknown: Option<EndpointAnswer>,
    /// Introspection of the live access token without client authentication.
    pub introspection_unauthenticated: Option<EndpointAnswer>,
}

/// What the sign-in before a session case left: the session's user and time.
#[derive(Debug, Default, Clone, Serialize)]
pub struct SignIn {
    /// The profile's key of the client the user signed in through.
    pub client: String,
    /// `sub` of the sign-in's ID token.
    pub sub: Option<String>,
    /// `auth_time` of the sign-in's ID token (or when the login form was submitted).
    pub auth_time: Option<i64>,
    /// The login form was submitted (the session did not exist before).
    pub logged_in: bool,
    /// The ID token of the sign-in, for `${session.id_token}`.
    #[serde(skip)]
    pub id_token: Option<Secret>,
}

impl Evidence {
    fn step(&mut self, s: impl Into<String>) {
        if self.trace.len() < 200 {
            self.trace.push(s.into());
        }
    }
}

/// How a login that the provider refused begins (the form driver's and the
/// browser driver's words): the pre-flight tells it from other failures.
pub const LOGIN_REFUSED: &str = "the login form came back after 3 attempts";

/// Random URL-safe value of 32 bytes.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).expect("the system random source works");
    B64.encode(b)
}

/// PKCE S256 challenge of a verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    B64.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()))
}

/// Runs the case's flow against the provider. Never fails: problems are in the evidence.
pub async fn run(provider: &Provider, case: &Case) -> Evidence {
    let mut ev = Evidence {
        started: Some(crate::check::now()),
        ..Evidence::default()
    };
    // Mistakes made in the first request are attempted from the start.
    let later = [
        Misuse::ReuseCode,
        Misuse::ReuseRefreshToken,
        Misuse::WrongClientSecret,
        Misuse::WrongCodeVerifier,
    ];
    ev.misuse_attempted = !case.request.misuse.iter().any(|m| later.contains(m)) && !case.request.edits_token_request();
    if let Some((n, endpoint)) = provider.guard.open() {
        ev.harness_error = Some(format!(
            "not run: the last {n} requests to {endpoint} failed (refused, reset or timed out); the provider looks down"
        ));
        return ev;
    }
    let limit = provider.limits.case_timeout + case.request.waits();
    match tokio::time::timeout(limit, drive(provider, case, &mut ev)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => ev.harness_error = Some(e),
        Err(_) => {
            ev.harness_error = Some(format!(
                "the case did not finish within {} s (limit: http.case_timeout in the profile)",
                limit.as_secs_f64()
            ))
        }
    }
    if let Some(step) = request_object::fetched(case, &provider.discovery.issuer).await {
        ev.step(step);
    }
    ev
}

async fn drive(p: &Provider, case: &Case, ev: &mut Evidence) -> Result<(), String> {
    match case.flow {
        Flow::ClientCredentials => client_credentials(p, case, ev).await,
        Flow::Password => password_grant(p, case, ev).await,
        Flow::Device => device::probe(p, case, ev).await,
        Flow::Metadata => metadata(p, ev).await,
        Flow::Code | Flow::Implicit | Flow::Hybrid | Flow::Refresh => {
            // One shared client (pooled connections, TLS set up once); cookies per case.
            let browser = reqwest::cookie::Jar::default();
            if let Some(session) = &case.request.session {
                sign_in(p, case, session, &browser, ev).await?;
                if ev.signin_failed.is_some() {
                    return Ok(());
                }
            } else {
                seed::enter(p, case, &browser, ev).await;
            }
            let verifier = make_verifier(&case.request.pkce);
            let authorized = authorize(p, case, &browser, &verifier, ev).await?;
            if let Some(seen) = ev.par.as_mut() {
                seen.authorized = Some(
                    authorized
                        .as_ref()
                        .is_some_and(|a| ["code", "access_token", "id_token"].iter().any(|k| a.contains_key(*k))),
                );
            }
            if case.request.par == Some(crate::suite::ParProbe::Reuse)
                && authorized.is_some()
                && let Some(uri) = ev.par.as_ref().and_then(|s| s.request_uri.clone())
            {
                par::reuse(p, case, &browser, &uri, ev).await?;
            }
            let Some(params) = authorized else {
                // A denial right after the harness approved a consent page is most
                // likely the harness's approval not being taken as one: never
                // report it as the provider refusing.
                if ev.consents > 0
                    && case.expect.error.is_none()
                    && let Some(e) = ev
                        .error
                        .as_ref()
                        .filter(|e| e.error == "access_denied" && e.stage == "authorization")
                {
                    let desc = e.description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
                    let msg = format!(
                        "the provider answered access_denied{desc} right after the harness submitted its consent page: the harness's approval was not taken as one (set `login.consent` in the profile to the approve button's CSS selector, or see the page in the trace)"
                    );
                    ev.error = None;
                    return Err(msg);
                }
                return Ok(());
            };
            if case.request.consent != ConsentDecision::Approve && ev.consents == 0 {
                // A provider may skip consent (e.g. for a first-party client): nothing to deny.
                let asked = if q_prompt_consent(case) {
                    " even though the request said prompt=consent (OIDC Core §3.1.2.1: it SHOULD then ask)"
                } else {
                    ""
                };
                ev.not_applicable = Some(format!(
                    "the provider showed no consent page for this client and scope{asked}, so there was nothing to deny or leave out"
                ));
                return Ok(());
            }
            let code = params.get("code").cloned();
            let front = front_channel_tokens(&params);
            let front_access = front.access_token.clone();
            if front.id_token.is_some() || front.access_token.is_some() {
                ev.token_sets.push(front);
            }
            if let Some(code) = code {
                let code = Secret::new(code);
                let sent_verifier = if case.request.misuses(Misuse::WrongCodeVerifier) {
                    random_token()
                } else {
                    verifier.clone()
                };
                if let Some(wait) = case.request.code_wait() {
                    ev.step(format!(
                        "waiting {} s (the profile's code_lifetime plus 2 s) before redeeming the code",
                        wait.as_secs()
                    ));
                    tokio::time::sleep(wait).await;
                }
                let exchanged = if case.request.token_parallel > 1 {
                    let first = parallel_exchange(p, case, &code, &sent_verifier, ev).await?;
                    race_rounds(p, case, &browser, ev).await?;
                    first
                } else if let Some(probe) = case.request.dpop {
                    dpop::exchange(p, case, probe, &code, &sent_verifier, &browser, ev).await?
                } else {
                    exchange_code(p, case, &code, &sent_verifier, ev).await?
                };
                let Some(mut set) = exchanged else {
                    // After refusing a wrong verifier the code must be dead too (RFC 6749 §10.5):
                    // try it once more with the right one.
                    if case.request.misuses(Misuse::WrongCodeVerifier) && ev.error.is_some() {
                        let refusal = ev.error.take();
                        ev.step("redeeming the same code with the right verifier");
                        if exchange_code(p, case, &code, &verifier, ev).await?.is_some() {
                            ev.code_usable_after_refusal = true;
                        }
                        ev.error = refusal;
                    }
                    return Ok(());
                };
                set.code = Some(code.clone());
                let refresh = set.refresh_token.clone();
                ev.token_sets.push(set);
                if case.request.misuses(Misuse::ReuseCode) {
                    ev.misuse_attempted = true;
                    if !case.request.reuse_wait.is_zero() {
                        ev.step(format!("waiting {} s before reusing the code", case.request.reuse_wait.as_secs()));
                        tokio::time::sleep(case.request.reuse_wait).await;
                    }
                    ev.step("redeeming the same code again");
                    match exchange_code(p, case, &code, &sent_verifier, ev).await? {
                        Some(again) => ev.token_sets.push(again),
                        None => {
                            // RFC 6749 §4.1.2: the tokens of the first redemption SHOULD be revoked now.
                            let first = ev.token_sets.last().and_then(|s| s.access_token.clone());
                            if let Some(at) = first
                                && case.request.openid()
                                && p.discovery.userinfo_endpoint.is_some()
                            {
                                ev.step("calling userinfo with the access token of the first redemption");
                                let refusal = ev.error.take();
                                let answer = userinfo(p, Some(&at), UserinfoMethod::Get, ev).await;
                                ev.error = refusal;
                                ev.first_token_after_reuse = answer.ok().map(|r| r.status);
                            }
                            return Ok(());
                        }
                    }
                }
                if case.flow == Flow::Refresh {
                    let Some(rt) = refresh else {
                        ev.not_applicable = Some(
                            "the provider issued no refresh token to refresh with (it may not grant `offline_access` to this client, or the client is not registered for the refresh_token grant)"
                                .into(),
                        );
                        return Ok(());
                    };
                    if case.request.sign_in_elsewhere {
                        sign_in_elsewhere(p, case, ev).await?;
                    }
                    let Some(set) = refresh_tokens(p, case, &rt, ev).await? else {
                        return Ok(());
                    };
                    let rotated = set.refresh_token.as_ref().is_some_and(|new| new != &rt);
                    ev.refresh_rotated = Some(rotated);
                    ev.token_sets.push(set);
                    if case.request.misuses(Misuse::ReuseRefreshToken) && rotated {
                        ev.misuse_attempted = true;
                        let newer = ev.token_sets.last().and_then(|s| s.refresh_token.clone());
                        ev.step("refreshing again with the rotated-out refresh token");
                        match refresh_tokens(p, case, &rt, ev).await? {
                            Some(again) => ev.token_sets.push(again),
                            None => {
                                // RFC 9700 §4.14.2: the reuse reveals a copy; the active token goes too.
                                if let Some(newer) = newer {
                                    let refusal = ev.error.take();
                                    ev.step("refreshing with the refresh token that replaced it");
                                    let works = refresh_tokens(p, case, &newer, ev).await?.is_some();
                                    ev.error = refusal;
                                    ev.active_refresh_after_reuse = Some(works);
                                }
                                return Ok(());
                            }
                        }
                    }
                }
            }
            if let Some(probe) = case.request.lifecycle {
                return lifecycle(p, case, probe, ev).await;
            }
            if let Some(probe) = case.request.logout {
                return logout::probe(p, case, probe, &browser, ev).await;
            }
            if let Some(probe) = case.request.dpop {
                return dpop::probe(p, case, probe, ev).await;
            }
            if case.request.client_assertions {
                return client_auth::probe(p, case, ev).await;
            }
            if case.request.samples > 1 {
                collect_samples(p, case, &browser, ev).await?;
            }
            let access = ev.token_sets.iter().rev().find_map(|s| s.access_token.clone()).or(front_access);
            let skipped = if case.request.token_parallel > 1 {
                Some(
                    "the code was redeemed several times at once, and a provider may rightly revoke the tokens of a code it saw reused (RFC 6749 §4.1.2)",
                )
            } else if access.is_none() {
                Some("no access token was issued")
            } else if !case.request.openid() {
                Some("`openid` was not requested")
            } else if p.discovery.userinfo_endpoint.is_none() {
                Some("the provider advertises no userinfo_endpoint")
            } else if case.api.is_some() && !p.profile.access_token_aud_includes_userinfo {
                // An API token is for userinfo too only where the profile says its aud includes userinfo.
                Some(
                    "the access token is for an API, and the profile says such tokens are not for userinfo (`access_token_aud_includes_userinfo: false`)",
                )
            } else {
                None
            };
            match (access, skipped) {
                (Some(at), None) => {
                    ev.userinfo = Some(userinfo(p, Some(&at), case.request.userinfo, ev).await?);
                    // Probes: an ID token is not an access token, and userinfo needs one (OIDC Core §5.3.1, RFC 6750 §3.1).
                    let id_token = ev.token_sets.iter().rev().find_map(|s| s.id_token.clone());
                    if let Some(idt) = id_token {
                        ev.userinfo_with_id_token = userinfo(p, Some(&idt), UserinfoMethod::Get, ev).await.ok();
                    }
                    ev.userinfo_without_token = userinfo(p, None, UserinfoMethod::Get, ev).await.ok();
                }
                (_, why) => ev.userinfo_skipped = why.map(str::to_owned),
            }
            Ok(())
        }
    }
}

/// Runs the authorization and the code exchange again, in the same browser,
/// until the case has `request.samples` sets of codes and tokens; a refusal on
/// the way ends the sampling (the check judges what it has).
async fn collect_samples(p: &Provider, case: &Case, browser: &reqwest::cookie::Jar, ev: &mut Evidence) -> Result<(), String> {
    let wanted = case.request.samples;
    for i in 2..=wanted {
        // (A page met in the run's shared session is not acted on in it.)
        let mut scratch = Evidence {
            seeded_at: ev.seeded_at,
            ..Evidence::default()
        };
        let verifier = make_verifier(&case.request.pkce);
        let params = authorize(p, case, browser, &verifier, &mut scratch).await?;
        let mut set = match params {
            Some(params) => front_channel_tokens(&params),
            None => {
                ev.step(format!("sample {i} of {wanted}: the authorization was refused; sampling stops"));
                break;
            }
        };
        if let Some(code) = set.code.clone() {
            match exchange_code(p, case, &code, &verifier, &mut scratch).await? {
                Some(mut tokens) => {
                    tokens.code = Some(code);
                    set = tokens;
                }
                None => {
                    ev.step(format!("sample {i} of {wanted}: the code exchange was refused; sampling stops"));
                    break;
                }
            }
        }
        ev.samples.push(set);
    }
    ev.step(format!(
        "{} further authorizations and code exchanges, for {} samples of the codes and tokens",
        ev.samples.len(),
        ev.samples.len() + 1
    ));
    Ok(())
}

/// The same user signs in again, in another browser, a second after the
/// case's own sign-in (`auth_time` counts whole seconds): a provider that
/// keeps one authentication time per user moves it, which a refreshed ID
/// token of the first session must not show (OIDC Core §12.2).
async fn sign_in_elsewhere(p: &Provider, case: &Case, ev: &mut Evidence) -> Result<(), String> {
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    ev.step("the same user signs in again, in another browser, before the refresh");
    let elsewhere = reqwest::cookie::Jar::default();
    let mut scratch = Evidence::default();
    let verifier = make_verifier(&case.request.pkce);
    let answer = authorize(p, case, &elsewhere, &verifier, &mut scratch).await;
    for step in scratch.trace.drain(..) {
        ev.step(format!("other browser: {step}"));
    }
    match answer {
        Ok(Some(params)) if params.contains_key("code") || params.contains_key("access_token") || params.contains_key("id_token") => {
            ev.signed_in_elsewhere = Some(scratch.logins > 0);
            Ok(())
        }
        Ok(_) => {
            ev.step("the sign-in in the other browser was refused: the refresh is judged without it");
            Ok(())
        }
        Err(e) => Err(format!("the sign-in in another browser failed: {e}")),
    }
}

/// Request parameters as reports keep them: credential-bearing values
/// (passwords, tokens such as an `id_token_hint`) replaced by `[redacted]`.
fn shown_request<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>) -> BTreeMap<String, String> {
    pairs
        .map(|(k, v)| (k.clone(), if http::sensitive(k) { "[redacted]".to_owned() } else { v.clone() }))
        .collect()
}

/// Signs the user in with a plain code flow of the session's client, in the
/// case's browser, so that the case's own authorization runs in that session.
async fn sign_in(
    p: &Provider,
    case: &Case,
    session: &crate::suite::Session,
    browser: &reqwest::cookie::Jar,
    ev: &mut Evidence,
) -> Result<(), String> {
    let mut first = case.clone();
    first.client = session.client.clone();
    first.auth = client_of(p, &first).auth;
    first.flow = Flow::Code;
    if session.other_client {
        first.api = None;
    }
    first.request = crate::suite::Request {
        scope: case.request.scope.clone(),
        nonce: true,
        ..Default::default()
    };
    first.expect = Default::default();
    let mut scratch = Evidence::default();
    let verifier = make_verifier(&first.request.pkce);
    let started = crate::check::now();
    let answer = authorize(p, &first, browser, &verifier, &mut scratch).await;
    let traced = |ev: &mut Evidence, scratch: &mut Evidence| {
        for step in scratch.trace.drain(..) {
            ev.step(format!("sign-in: {step}"));
        }
    };
    traced(ev, &mut scratch);
    let refusal = |scratch: &Evidence| match (&scratch.error, &scratch.refused_without_redirect) {
        (Some(e), _) => format!(
            "`{}`{}",
            e.error,
            e.description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
        ),
        (None, Some((status, page))) => format!("HTTP {status}: {page}"),
        (None, None) => "no code".to_owned(),
    };
    let params = answer.map_err(|e| format!("the sign-in that starts the browser session failed: {e}"))?;
    let what = format!(
        "the sign-in that starts the browser session (a plain code flow of client `{}`)",
        first.client
    );
    let Some(code) = params.as_ref().and_then(|p| p.get("code")).cloned() else {
        ev.signin_failed = Some(("flow.authorization", format!("{what} was refused: {}", refusal(&scratch))));
        return Ok(());
    };
    let set = exchange_code(p, &first, &Secret::new(code), &verifier, &mut scratch).await;
    traced(ev, &mut scratch);
    let set = set.map_err(|e| format!("the sign-in that starts the browser session failed at the token endpoint: {e}"))?;
    let Some(set) = set else {
        ev.signin_failed = Some(("flow.token", format!("{what}: its code was refused: {}", refusal(&scratch))));
        return Ok(());
    };
    if set.id_token.is_none() && first.request.openid() {
        ev.signin_failed = Some((
            "flow.id_token_issued",
            format!("{what}: the token response carried no ID token although `openid` was requested"),
        ));
        return Ok(());
    }
    let claims = set
        .id_token
        .as_ref()
        .and_then(|t| crate::check::jwt::decode(t.expose()).ok())
        .map(|d| d.claims)
        .unwrap_or_default();
    let logged_in = scratch.logins > 0;
    ev.signin = Some(SignIn {
        client: first.client.clone(),
        sub: claims.get("sub").and_then(|v| v.as_str()).map(str::to_owned),
        auth_time: claims.get("auth_time").and_then(|v| v.as_i64()).or(logged_in.then_some(started)),
        logged_in,
        id_token: set.id_token,
    });
    if !session.wait.is_zero() {
        ev.step(format!("waiting {} s after the sign-in", session.wait.as_secs()));
        tokio::time::sleep(session.wait).await;
    }
    Ok(())
}

/// Fetches the discovery document and the JWK Set as they are served.
async fn metadata(p: &Provider, ev: &mut Evidence) -> Result<(), String> {
    async fn fetch(
        p: &Provider,
        ev: &mut Evidence,
        step: crate::report::exchange::Step,
        url: Url,
    ) -> Result<(Url, serde_json::Value), String> {
        let answer = http::get(&p.http, &p.guard, &url, &p.limits).await;
        let resp = exchange::recorded(p, ev, step, None, &exchange::Sent::new("GET", &url), answer)?;
        if !resp.status.is_success() {
            return Err(format!("{} answered HTTP {}", http::redact_url(&url), resp.status));
        }
        resp.json().map(|v| (url, v))
    }
    use crate::report::exchange::Step;
    let (url, discovery) = fetch(
        p,
        ev,
        Step::Discovery,
        provider::discovery_url(&p.profile.issuer).map_err(|e| e.to_string())?,
    )
    .await?;
    ev.step(format!("GET {} → 200", http::redact_url(&url)));
    let jwks_uri = discovery
        .get("jwks_uri")
        .and_then(|v| v.as_str())
        .ok_or("the discovery document has no `jwks_uri`")?;
    let jwks_url = Url::parse(jwks_uri).map_err(|e| format!("`jwks_uri` is not a URL: {e}"))?;
    let (url, jwks) = fetch(p, ev, Step::Jwks, jwks_url).await?;
    ev.step(format!("GET {} → 200", http::redact_url(&url)));
    ev.metadata = Some((discovery, jwks));
    Ok(())
}

/// An API identifier no provider has registered.
pub const UNREGISTERED_API: &str = "https://unregistered.example.test/api";

/// The API selection parameter of the case, in the profile's style.
fn api_param(p: &Provider, case: &Case) -> Option<(&'static str, String)> {
    let param = p.profile.audience_param.param_name()?;
    if case.request.misuses(Misuse::UnregisteredApi) {
        return Some((param, UNREGISTERED_API.to_owned()));
    }
    Some((param, p.profile.apis[case.api.as_ref()?].identifier.clone()))
}

fn client_of<'a>(p: &'a Provider, case: &Case) -> &'a crate::profile::Client {
    &p.profile.clients[&case.client]
}

/// The authorization request, followed through login and consent up to the
/// redirect back to the client. `None` when the provider refused (evidence says how).
/// The request's URL and what came back are kept as the front channel's exchange.
pub(crate) async fn authorize(
    p: &Provider,
    case: &Case,
    browser: &reqwest::cookie::Jar,
    verifier: &str,
    ev: &mut Evidence,
) -> Result<Option<BTreeMap<String, String>>, String> {
    let out = authorize_steps(p, case, browser, verifier, ev).await;
    let redirect = |ev: &Evidence| {
        let params: Vec<String> = ev
            .authorization_response
            .iter()
            .flatten()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!(
            "a redirect to the client ({}) with {}",
            ev.response_mode.as_deref().unwrap_or("query"),
            params.join("&")
        )
    };
    let said = match &out {
        Ok(Some(_)) => redirect(ev),
        Ok(None) if ev.redirected_to_unregistered => format!("{}, to a redirect URI not registered for the client", redirect(ev)),
        Ok(None) if ev.error.as_ref().is_some_and(|e| e.stage == "authorization") => redirect(ev),
        Ok(None) => match (&ev.refused_without_redirect, &ev.not_applicable) {
            (Some((status, page)), _) => format!("HTTP {status} and a page, no redirect: {page}"),
            (None, Some(why)) => format!("not taken further: {why}"),
            (None, None) => "no redirect back to the client".to_owned(),
        },
        Err(e) => format!("the harness could not get through: {e}"),
    };
    exchange::front_channel_answer(ev, said);
    out
}

async fn authorize_steps(
    p: &Provider,
    case: &Case,
    browser: &reqwest::cookie::Jar,
    verifier: &str,
    ev: &mut Evidence,
) -> Result<Option<BTreeMap<String, String>>, String> {
    let client = client_of(p, case);
    let response_type = case.response_type().unwrap_or_else(|| "code".into());
    let mut q: BTreeMap<String, String> = BTreeMap::new();
    q.insert("client_id".into(), client.id.clone());
    q.insert("response_type".into(), response_type.clone());
    if !case.request.scope.is_empty() {
        q.insert("scope".into(), case.request.scope.clone());
    }
    let state = case.request.state.clone().unwrap_or_else(random_token);
    q.insert("state".into(), state.clone());
    ev.state = Some(state);
    // A nonce belongs to OpenID requests only (OIDC Core §3.1.2.1); plain OAuth requests get none.
    if case.request.nonce && case.request.scope.split_whitespace().any(|s| s == "openid") {
        let nonce = random_token();
        q.insert("nonce".into(), nonce.clone());
        ev.nonce = Some(nonce);
    }
    if let Some(uri) = &client.redirect_uri {
        q.insert("redirect_uri".into(), uri.clone());
    }
    if response_type.split(' ').any(|t| t == "code") && case.request.pkce.challenge != Some(false) {
        q.insert("code_challenge".into(), pkce_challenge(verifier));
        q.insert("code_challenge_method".into(), "S256".into());
    }
    if let Some(m) = &case.request.response_mode {
        q.insert("response_mode".into(), m.clone());
    }
    // (`dpop: bound_client` without its registration, and `pushed_proof`
    // without a push, are refused when the suite loads.)
    if let Some(
        probe @ (crate::suite::DpopProbe::Jkt | crate::suite::DpopProbe::PushedProof | crate::suite::DpopProbe::PushedJktMismatch),
    ) = case.request.dpop
    {
        // RFC 9449 §10, §10.1: the code is to be bound to the case's DPoP
        // key, named in `dpop_jkt` or proven at the pushed request endpoint.
        match dpop::start(p, probe, ev) {
            Some(k) if probe == crate::suite::DpopProbe::Jkt => {
                q.insert("dpop_jkt".into(), k.thumbprint().to_owned());
            }
            Some(_) => {}
            None => return Ok(None),
        }
    }
    if let Some(pr) = &case.request.prompt {
        q.insert("prompt".into(), pr.clone());
    }
    if let Some((param, api)) = api_param(p, case) {
        q.insert(param.into(), api);
    }
    for (k, v) in &case.request.params {
        let v = if v.contains("${session.id_token}") {
            let token = ev
                .signin
                .as_ref()
                .and_then(|s| s.id_token.as_ref())
                .ok_or("`${session.id_token}`: the case has no `session`, or its sign-in issued no ID token")?;
            v.replace("${session.id_token}", token.expose())
        } else {
            v.clone()
        };
        q.insert(k.clone(), v);
    }
    for k in &case.request.drop {
        q.remove(k);
    }
    // Left out of the request (a probe): the provider can only answer at a registered one.
    let redirect_uri = q
        .get("redirect_uri")
        .cloned()
        .or_else(|| client.redirect_uri.clone())
        .ok_or_else(|| {
            format!(
                "client `{}` has no `redirect_uri` in the profile; flows with a browser need one",
                case.client
            )
        })?;
    let registered = client.redirect_uri.clone().unwrap_or_default();
    // As reports keep it: an `id_token_hint` (any token or secret) redacted.
    ev.request = shown_request(q.iter());
    ev.response_mode = Some(
        case.request
            .response_mode
            .clone()
            .unwrap_or_else(|| if response_type == "code" { "query" } else { "fragment" }.into()),
    );

    if let Some(ro) = &case.request.request_object {
        if ro.by == crate::suite::RequestObjectBy::Reference && p.discovery.requires_par() {
            ev.not_applicable = Some(
                "the provider takes authorization requests only pushed (require_pushed_authorization_requests), and a pushed request cannot carry a request_uri (RFC 9126 §2.1)"
                    .into(),
            );
            return Ok(None);
        }
        if ro.by == crate::suite::RequestObjectBy::Reference && !request_object::reachable_from(&p.profile.issuer) {
            ev.not_applicable =
                Some("a request_uri is served by the harness on 127.0.0.1, which only a provider on this machine can fetch".into());
            return Ok(None);
        }
        let (shown, decoys) = request_object::wrap(&mut q, case, &client.id, &p.discovery.issuer).await?;
        ev.step(format!("the authorization parameters go in a request object, {shown}"));
        ev.request.insert("request_object".into(), shown);
        ev.request_object_decoys = Some(decoys);
    }
    // RFC 9126 §5: a provider that takes only pushed requests gets every
    // authorization request pushed (a request_uri cannot be, §2.1).
    let implied = p.discovery.requires_par().then_some(crate::suite::ParProbe::Push);
    if case.request.par.is_none() && implied.is_some() {
        ev.step("the provider takes authorization requests only pushed (require_pushed_authorization_requests): this one is pushed first");
    }
    // The parameters as pushed, should the browser need a request_uri of its own.
    let mut unpushed = None;
    if let Some(probe) = case.request.par.or(implied) {
        unpushed = Some(q.clone());
        if !par::push(p, case, probe, &mut q, ev).await? {
            return Ok(None);
        }
    }
    let mut url = p.endpoint("authorization_endpoint")?;
    url.query_pairs_mut().extend_pairs(q.iter());
    let start = url.clone();
    exchange::front_channel(p, ev, &start);
    let issuer_origin = Url::parse(&p.profile.issuer).map(|u| u.origin()).map_err(|e| e.to_string())?;
    let user = case.user.as_ref().map(|u| &p.profile.users[u]);
    let mut method = Method::GET;
    let mut form_fields: Vec<(String, String)> = Vec::new();
    let mut logins = 0;
    let mut posting_password = false;
    for _ in 0..p.limits.max_redirects * 2 {
        // Stop at the redirect back to the client (as sent, or as registered): never request it.
        // (An empty redirect URI is refused when the suite loads; it would match every URL.)
        if !redirect_uri.is_empty() && (url.as_str().starts_with(&redirect_uri) || redirect::same_path(&url, &redirect_uri)) {
            return Ok(redirected(ev, &url, &registered, None));
        }
        if !registered.is_empty()
            && registered != redirect_uri
            && (url.as_str().starts_with(&registered) || redirect::same_path(&url, &registered))
        {
            return Ok(redirected(ev, &url, &registered, None));
        }
        let mut req = p.http.request(method.clone(), url.clone());
        if let Some(cookies) = reqwest::cookie::CookieStore::cookies(browser, &url) {
            req = req.header(reqwest::header::COOKIE, cookies);
        }
        if method == Method::POST {
            req = req.form(&form_fields);
        }
        let resp = http::send(&p.guard, req, &url, &p.limits)
            .await
            .map_err(|e: HttpError| e.to_string())?;
        reqwest::cookie::CookieStore::set_cookies(browser, &mut resp.headers.get_all(reqwest::header::SET_COOKIE).iter(), &url);
        ev.step(format!("{} {} → {}", method, http::redact_url(&url), resp.status.as_u16()));
        if std::mem::take(&mut posting_password) {
            ev.login_post_status.push(resp.status.as_u16());
        }
        if resp.status.is_redirection() {
            let loc = resp
                .header("location")
                .ok_or_else(|| format!("{} answered {} without a Location header", http::redact_url(&url), resp.status))?;
            url = url
                .join(loc)
                .map_err(|e| format!("redirect to an invalid Location `{}`: {e}", http::redact_str(loc)))?;
            method = Method::GET;
            form_fields.clear();
            continue;
        }
        if !resp.status.is_success() {
            let summary = page_summary(&resp);
            ev.refused_without_redirect = Some((resp.status.as_u16(), summary));
            return Ok(None);
        }
        let html = resp.text();
        let (username, password) = match user {
            Some(u) => (u.username.as_str(), u.password.clone()),
            None => ("", Secret::default()),
        };
        let choice = match &case.request.consent {
            ConsentDecision::Approve => form::ConsentChoice::Approve,
            ConsentDecision::Deny => form::ConsentChoice::Deny,
            ConsentDecision::ApproveOnly(approved) => form::ConsentChoice::Only {
                requested: case.request.scope.split_whitespace().map(str::to_owned).collect(),
                approved: approved.clone(),
            },
        };
        let page = form::analyse_for(&html, &resp.url, username, &password, &p.profile.login, &redirect_uri, &choice)
            .map_err(|e| e.to_string())?;
        // A page the form driver cannot use (or every page, with `login.driver: browser`) goes to the browser.
        let to_browser = match p.profile.login.driver {
            browser::Driver::Form => false,
            browser::Driver::Browser => matches!(page, Page::Login(_) | Page::Consent(_) | Page::Unknown { .. }),
            browser::Driver::Auto => matches!(page, Page::Unknown { .. }) && has_scripts(&html),
            // A case that expects the provider to refuse judges a page without scripts and
            // with nothing to fill in as the refusal (an error page); one with scripts may
            // be the login the case has to get through first.
        } && !(matches!(page, Page::Unknown { .. }) && case.expect.error.is_some() && !has_scripts(&html));
        // A case that started from the run's shared session and meets a login
        // or consent page leaves that session out: acting on a page in it would
        // change it under the other cases (a provider may rotate a session at
        // every interaction). Its request goes again, in a browser session of
        // its own, signed in afresh.
        let leave_shared = ev.seeded_at.is_some() && (to_browser || matches!(page, Page::Login(_) | Page::Consent(_)));
        if to_browser || leave_shared {
            let b = p
                .browser()
                .await
                .map_err(|e| format!("the page at {} needs a browser: {e}", http::redact_url(&resp.url)))?;
            ev.step(format!(
                "the page at {} {}: the authorization request goes again, in the browser",
                http::redact_url(&resp.url),
                if leave_shared {
                    "asks something of the user, which is not done in the run's shared session"
                } else if p.profile.login.driver == browser::Driver::Browser {
                    "is for the browser (login.driver: browser)"
                } else {
                    "has no form this driver can use, and scripts"
                }
            ));
            let cookies = if leave_shared {
                ev.step("the shared session is left out: the browser signs the user in afresh for this case");
                ev.seeded_at = None;
                None
            } else {
                reqwest::cookie::CookieStore::cookies(browser, &start).and_then(|h| h.to_str().ok().map(str::to_owned))
            };
            // The same page defeated the browser in the last cases: not again.
            if let Some(why) = b.given_up_on(&resp.url) {
                ev.browser_page = snapshot(p, &resp.url, &resp.body, &password).await;
                return Err(why);
            }
            // A request_uri the harness's own attempt has used may be refused
            // the second time: the browser gets one of its own.
            let start = match &unpushed {
                Some(unpushed) => par::push_again(p, case, unpushed, ev).await?,
                None => start.clone(),
            };
            let task = browser::Task {
                url: &start,
                cookies,
                redirect_uris: vec![redirect_uri.clone(), registered.clone()],
                username,
                password: &password,
                selectors: &p.profile.login,
                approve: choice != form::ConsentChoice::Deny,
                requested: case.request.scope.split_whitespace().map(str::to_owned).collect(),
                approved: match &choice {
                    form::ConsentChoice::Only { approved, .. } => Some(approved.clone()),
                    _ => None,
                },
                urgent: case.needs_session_alone(),
            };
            let outcome = b.front_channel(task).await;
            // The pre-flight's pages are not counted against the cases.
            if !p.preflight {
                b.record(
                    &resp.url,
                    outcome
                        .as_ref()
                        .err()
                        .filter(|f| !f.not_applicable && f.terminal.is_none())
                        .map(|f| f.message.as_str()),
                );
            }
            return match outcome {
                Ok(r) => {
                    for s in r.steps {
                        ev.step(s);
                    }
                    ev.logins += r.logins as u32;
                    ev.page_framing.extend(r.framing);
                    ev.consents += r.consents as u32;
                    for (u, c) in &r.cookies {
                        browser.add_cookie_str(c, u);
                    }
                    if r.logins > 0 {
                        p.seeds.signed_in_by_browser();
                    }
                    ev.browser_cookies = r.cookies.into_iter().map(|(u, c)| (u, Secret::new(c))).collect();
                    Ok(redirected(ev, &r.url, &registered, r.form.map(|f| f.into_iter().collect())))
                }
                Err(f) if f.not_applicable => {
                    ev.not_applicable = Some(f.message);
                    Ok(None)
                }
                // A case that expects a refusal, at a page that is an end: the user
                // agent never reached the redirect URI, so the provider refused
                // (the page is the evidence).
                Err(f) if f.terminal.is_some() && refusal_judged(case) => {
                    for s in f.steps {
                        ev.step(s);
                    }
                    let summary = f
                        .text
                        .as_deref()
                        .filter(|t| !t.is_empty())
                        .map(|t| t.chars().take(300).collect::<String>())
                        .unwrap_or_else(|| "(a page with no text)".into());
                    ev.refused_without_redirect = Some((f.terminal.unwrap_or(200), summary));
                    ev.browser_page = Some((f.screenshot, f.text));
                    Ok(None)
                }
                Err(f) => {
                    let shown = f
                        .text
                        .as_deref()
                        .filter(|t| !t.is_empty())
                        .map(|t| format!("; the page says: {}", t.chars().take(300).collect::<String>()))
                        .unwrap_or_default();
                    let message = format!("browser driver: {}{shown}", f.message);
                    for s in f.steps {
                        ev.step(s);
                    }
                    ev.browser_page = Some((f.screenshot, f.text));
                    Err(message)
                }
            };
        }
        match page {
            Page::ConsentWithoutScopeChoice => {
                ev.not_applicable = Some(
                    "the consent page has no box per scope to untick: the user cannot approve only some of the requested scopes on it"
                        .into(),
                );
                return Ok(None);
            }
            Page::ConsentWithoutDeny => {
                ev.not_applicable = Some(
                    "the consent page has no control that denies (a deny, cancel or reject button or link): the harness cannot refuse consent on it"
                        .into(),
                );
                return Ok(None);
            }
            Page::FormPost { action, fields } => {
                let params: BTreeMap<String, String> = fields.into_iter().collect();
                ev.step(format!("form_post to {}", http::redact_url(&action)));
                return Ok(redirected(ev, &action, &registered, Some(params)));
            }
            Page::Login(sub) => {
                logins += 1;
                ev.logins = logins;
                if logins > 3 {
                    ev.browser_page = snapshot(p, &resp.url, &resp.body, &password).await;
                    let said = form::page_errors(&html, &resp.url);
                    let said = if said.is_empty() {
                        String::new()
                    } else {
                        format!("; the page says: {}", crate::secret::scrub(&said.join(" / ")))
                    };
                    return Err(format!(
                        "{LOGIN_REFUSED}: the credentials were not accepted (check the user's username and password in the profile){said}"
                    ));
                }
                ev.page_framing.push(("login", framing_defence(&resp)));
                if sub.contains_secret() {
                    p.check_transport(&sub.action, "password")?;
                    posting_password = sub.method == form::Method::Post;
                }
                if sub.action.origin() != issuer_origin && !p.trusted_origin(&sub.action) {
                    return Err(format!(
                        "the login form posts to {}, which is not the issuer's origin: the password was not sent (list the origin under `http.trusted_origins` in the profile if it belongs to the provider)",
                        http::redact_url(&sub.action)
                    ));
                }
                (method, url, form_fields) = submission(sub);
            }
            Page::Consent(sub) => {
                ev.consents += 1;
                ev.page_framing.push(("consent", framing_defence(&resp)));
                if sub.action.origin() != issuer_origin {
                    return Err(format!(
                        "the consent form posts to {}, not to the issuer's origin",
                        http::redact_url(&sub.action)
                    ));
                }
                (method, url, form_fields) = submission(sub);
            }
            Page::Unknown { summary } if refusal_judged(case) => {
                // RFC 6749 §4.1.2.1: an invalid redirect URI is answered with an error
                // page and no redirect; a negative case judges the page (see `negative`).
                ev.refused_without_redirect = Some((resp.status.as_u16(), summary));
                return Ok(None);
            }
            Page::Unknown { summary } => {
                ev.browser_page = snapshot(p, &resp.url, &resp.body, &password).await;
                return Err(format!(
                    "the page at {} is neither a login nor a consent form: {summary}",
                    http::redact_url(&resp.url)
                ));
            }
        }
    }
    Err(format!(
        "no redirect back to the client after {} steps (limit on redirects and login steps)",
        p.limits.max_redirects * 2
    ))
}

/// A token request's client authentication as `auth` (RFC 6749 §2.3.1; OIDC
/// Core §9): the fields it adds to `form`, or the Basic credentials to send
/// (id and secret form-urlencoded before Basic encoding). A JWT method sends
/// a conformant assertion for `aud.base`, signed with `secret` for
/// `client_secret_jwt`.
pub(crate) fn client_authentication(
    client: &crate::profile::Client,
    auth: ClientAuth,
    secret: Option<&Secret>,
    aud: &assertion::Audiences,
    form: &mut Vec<(String, String)>,
) -> Result<Option<(String, String)>, String> {
    let client_id = client.id.as_str();
    Ok(match (auth, secret) {
        (ClientAuth::ClientSecretBasic, Some(secret)) => {
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            Some((enc(client_id), enc(secret.expose())))
        }
        (ClientAuth::ClientSecretPost, Some(secret)) => {
            form.push(("client_id".into(), client_id.to_owned()));
            form.push(("client_secret".into(), secret.expose().to_owned()));
            None
        }
        (ClientAuth::PrivateKeyJwt | ClientAuth::ClientSecretJwt, _) => {
            let signer = crate::profile::Client {
                secret: secret.cloned(),
                ..client.clone()
            };
            let jwt = assertion::make(&signer, auth, aud, assertion::Fault::None)?;
            form.extend(assertion::form_fields(Some(client_id), &jwt));
            None
        }
        _ => {
            form.push(("client_id".into(), client_id.to_owned()));
            None
        }
    })
}

/// Keeps the client assertion of `form`, if any, with the case's secrets.
fn keep_assertion(form: &[(String, String)], ev: &mut Evidence) {
    if let Some((_, jwt)) = form.iter().find(|(k, _)| k == "client_assertion") {
        ev.sent_assertions.push(Secret::new(jwt.clone()));
    }
}

/// Whether a page the user cannot act on ends `case` as a refusal the checks
/// judge (the page is the evidence) rather than as an error of the run: a case
/// that expects a refusal, and a request-object case, whose redirect URI,
/// state and nonce are only in the object, so that a provider ignoring the
/// object can only refuse, often on a page (`request_object.processed`).
fn refusal_judged(case: &Case) -> bool {
    case.expect.error.is_some() || !case.expect.or_error.is_empty() || case.request.request_object.is_some()
}

/// Whether the case's authorization request says `prompt=consent`.
fn q_prompt_consent(case: &Case) -> bool {
    case.request
        .prompt
        .as_deref()
        .is_some_and(|p| p.split_whitespace().any(|v| v == "consent"))
}

/// The page as a user would have seen it, for the report: a screenshot and its
/// text from the run's browser (not with `login.driver: form`, nor without a
/// Chromium: then no screenshot, the error says what the page was).
async fn snapshot(p: &Provider, url: &Url, html: &[u8], password: &Secret) -> Option<(Option<Vec<u8>>, Option<String>)> {
    if p.profile.login.driver == browser::Driver::Form || browser::chromium_path().is_none() {
        return None;
    }
    let b = p.browser().await.ok()?;
    let (png, text) = b.snapshot(url, html, &[password.expose()]).await;
    (png.is_some() || text.is_some()).then_some((png, text))
}

/// Whether a page runs scripts (what a page rendered in the browser needs).
fn has_scripts(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    lower.contains("<script")
}

fn submission(sub: form::Submission) -> (Method, Url, Vec<(String, String)>) {
    let fields: Vec<(String, String)> = sub
        .fields
        .into_iter()
        .map(|(k, v)| match v {
            FieldValue::Plain(s) => (k, s),
            FieldValue::Secret(s) => (k, s.expose().to_owned()),
        })
        .collect();
    match sub.method {
        form::Method::Post => (Method::POST, sub.action, fields),
        form::Method::Get => {
            let mut url = sub.action;
            url.query_pairs_mut().clear().extend_pairs(fields.iter());
            (Method::GET, url, Vec::new())
        }
    }
}

/// Reads the authorization response from the redirect (query or fragment) or a form_post.
fn redirected(ev: &mut Evidence, url: &Url, registered: &str, form: Option<BTreeMap<String, String>>) -> Option<BTreeMap<String, String>> {
    // The registered URI with its query dropped is still the client's endpoint:
    // that is judged as `redirect_uri.query_retained`, not as another URI.
    let query_dropped = ev.request.get("redirect_uri").map(String::as_str) == Some(registered) && redirect::same_path(url, registered);
    if !registered.is_empty() && !redirect::same_endpoint(url, registered) && !query_dropped {
        ev.redirected_to_unregistered = true;
    }
    // RFC 6749 §3.1.2: the registered query MUST be retained when parameters are added.
    if let Ok(reg) = Url::parse(registered)
        && reg.query().is_some_and(|q| !q.is_empty())
    {
        let got: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let lost: Vec<String> = reg
            .query_pairs()
            .into_owned()
            .filter(|pair| !got.contains(pair))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        ev.redirect_query_kept = Some(lost);
    }
    // The mode the response actually came in, whatever was asked for.
    let params: BTreeMap<String, String> = match form {
        Some(f) => {
            ev.response_mode = Some("form_post".into());
            f
        }
        None => {
            let registered_pairs: Vec<(String, String)> = Url::parse(registered)
                .map(|u| u.query_pairs().into_owned().collect())
                .unwrap_or_default();
            ev.query_params = url
                .query_pairs()
                .into_owned()
                .filter(|pair| !registered_pairs.contains(pair))
                .map(|(k, _)| k)
                .collect();
            let mut m: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
            if let Some(frag) = url.fragment() {
                m.extend(url::form_urlencoded::parse(frag.as_bytes()).into_owned());
                ev.response_mode = Some("fragment".into());
            } else {
                ev.response_mode = Some("query".into());
            }
            m
        }
    };
    ev.step(format!(
        "redirect to the client with {}",
        params.keys().cloned().collect::<Vec<_>>().join(", ")
    ));
    ev.authorization_response = Some(
        params
            .iter()
            .map(|(k, v)| {
                let shown = if matches!(k.as_str(), "code" | "access_token" | "id_token" | "refresh_token") {
                    "[redacted]".to_owned()
                } else {
                    v.clone()
                };
                (k.clone(), shown)
            })
            .collect(),
    );
    if let Some(err) = params.get("error") {
        ev.error = Some(OAuthError {
            stage: "authorization",
            error: err.clone(),
            description: params.get("error_description").cloned(),
            status: None,
            www_authenticate: None,
            pushed: false,
        });
        return None;
    }
    if ev.redirected_to_unregistered {
        return None;
    }
    Some(params)
}

/// Response parameters as reports keep them: codes and tokens replaced by `[redacted]`.
fn redact_param(name: &str, value: serde_json::Value) -> serde_json::Value {
    if matches!(name, "code" | "access_token" | "id_token" | "refresh_token") {
        serde_json::Value::String("[redacted]".into())
    } else {
        value
    }
}

fn front_channel_tokens(params: &BTreeMap<String, String>) -> TokenSet {
    TokenSet {
        origin: Origin::Authorization,
        id_token: params.get("id_token").map(Secret::new),
        access_token: params.get("access_token").map(Secret::new),
        refresh_token: None,
        code: params.get("code").map(Secret::new),
        scope: params.get("scope").cloned(),
        params: params
            .iter()
            .map(|(k, v)| (k.clone(), redact_param(k, serde_json::Value::String(v.clone()))))
            .collect(),
        cache_control: None,
        pragma: None,
    }
}

/// How a token request is sent: a form POST with the case's client, or as a
/// probe edits it (the code exchange only).
#[derive(Clone, Copy, Default)]
struct Shape<'a> {
    /// GET with the parameters in the URL query.
    get: bool,
    /// The client's credentials in the URL query.
    credentials_in_query: bool,
    /// Parameters sent twice.
    duplicate: &'a [String],
    /// The profile key of another client to authenticate as.
    client: Option<&'a str>,
    /// The request is already the retry with the server's DPoP nonce.
    dpop_nonce_retry: bool,
}

impl<'a> Shape<'a> {
    fn of(case: &'a Case) -> Self {
        Shape {
            get: case.request.token_get,
            credentials_in_query: case.request.token_credentials_in_query,
            duplicate: &case.request.token_duplicate,
            client: case.request.token_client.as_deref(),
            dpop_nonce_retry: false,
        }
    }
}

/// A token-endpoint request with the client's authentication (RFC 6749 §2.3.1).
async fn token_request(
    p: &Provider,
    case: &Case,
    form: Vec<(String, String)>,
    origin: Origin,
    ev: &mut Evidence,
) -> Result<Option<TokenSet>, String> {
    token_request_shaped(p, case, form, origin, Shape::default(), ev).await
}

async fn token_request_shaped(
    p: &Provider,
    case: &Case,
    mut form: Vec<(String, String)>,
    origin: Origin,
    shape: Shape<'_>,
    ev: &mut Evidence,
) -> Result<Option<TokenSet>, String> {
    ev.stage = Stage::Token;
    let unauthenticated_form = form.clone();
    let (client, auth) = match shape.client {
        Some(key) => {
            let c = &p.profile.clients[key];
            ev.step(format!(
                "redeeming as client `{key}` ({}), not the one the code was issued to",
                c.id
            ));
            (c, c.auth)
        }
        None => (client_of(p, case), case.auth),
    };
    let mut url = p.endpoint("token_endpoint")?;
    if client.secret.is_some() && auth != ClientAuth::None {
        p.check_transport(&url, "client secret")?;
        // The secret goes to the issuer's origin, or one the profile trusts by name.
        let origin = url.origin().ascii_serialization();
        if !p.trusted_origin(&url) {
            return Err(format!(
                "the token endpoint is on {origin}, another origin than the issuer's: the client secret was not sent (list the origin under `http.trusted_origins` in the profile if it belongs to the provider)"
            ));
        }
    }
    if case.request.misuses(Misuse::WrongClientSecret) || (case.request.misuses(Misuse::WrongCodeVerifier) && origin == Origin::Token) {
        ev.misuse_attempted = true;
    }
    let wrong;
    let secret = if case.request.misuses(Misuse::WrongClientSecret) {
        wrong = client.secret.as_ref().map(|s| Secret::new(format!("{}-wrong", s.expose())));
        &wrong
    } else {
        &client.secret
    };
    let mut basic = None;
    match secret {
        Some(secret) if shape.credentials_in_query => {
            url.query_pairs_mut()
                .append_pair("client_id", &client.id)
                .append_pair("client_secret", secret.expose());
        }
        None if shape.credentials_in_query => {
            url.query_pairs_mut().append_pair("client_id", &client.id);
        }
        _ => {
            let aud = assertion::Audiences::new(url.as_str(), &p.discovery.issuer, ev.assertion_audience_refused.is_some());
            basic = client_authentication(client, auth, secret.as_ref(), &aud, &mut form)?;
            keep_assertion(&form, ev);
        }
    }
    for name in shape.duplicate {
        if let Some(pair) = form.iter().find(|(k, _)| k == name).cloned() {
            form.push(pair);
        }
    }
    let grant = form
        .iter()
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let verb = if shape.get { Method::GET } else { Method::POST };
    let mut req = if shape.get {
        url.query_pairs_mut().extend_pairs(form.iter());
        p.http.get(url.clone())
    } else {
        p.http.post(url.clone()).form(&form)
    };
    if let Some((id, secret)) = &basic {
        req = req.basic_auth(id, Some(secret));
    }
    let prover = ev.dpop_key.clone();
    let mut nonce_sent = None;
    if let Some(k) = &prover {
        nonce_sent = k.nonce_for(&url);
        req = req.header("DPoP", k.proof(verb.as_str(), &url, None, ev.dpop_fault)?);
        if ev.dpop_fault == Some(dpop::Fault::TwoProofs) {
            // RFC 9449 §4.3 item 1: a second header, a valid proof of its own.
            req = req.header("DPoP", k.proof(verb.as_str(), &url, None, None)?);
        }
    }
    let sent = exchange::Sent {
        form: if shape.get { &form[..0] } else { &form[..] },
        basic: basic.as_ref(),
        dpop: match (&prover, ev.dpop_fault) {
            (None, _) => 0,
            (Some(_), Some(dpop::Fault::TwoProofs)) => 2,
            (Some(_), _) => 1,
        },
        ..exchange::Sent::new(verb.as_str(), &url)
    };
    let answer = http::send(&p.guard, req, &url, &p.limits).await;
    let resp = exchange::recorded(p, ev, crate::report::exchange::Step::Token, None, &sent, answer)?;
    let mut shown = url.clone();
    shown.set_query(None);
    ev.step(format!(
        "{verb} {} grant_type={grant}{} → {}",
        http::redact_url(&shown),
        if url.query().is_some() {
            " (parameters in the URL query)"
        } else {
            ""
        },
        resp.status.as_u16()
    ));
    if matches!(resp.status.as_u16(), 429 | 503) {
        let after = resp
            .header("retry-after")
            .map(|a| format!(", Retry-After: {a}"))
            .unwrap_or_default();
        return Err(format!(
            "the token endpoint answered HTTP {} (busy or rate limited{after}) after {} retries (http.retries in the profile)",
            resp.status, p.limits.retries
        ));
    }
    let json = resp.json();
    let obj = match json {
        Ok(serde_json::Value::Object(o)) => o,
        // A refusal without a JSON body (e.g. 405 to a GET) is still a refusal.
        Err(_) if resp.status.is_client_error() || resp.status.is_server_error() => {
            ev.error = Some(OAuthError {
                stage: "token",
                error: format!("(HTTP {} without a JSON error)", resp.status.as_u16()),
                description: None,
                status: Some(resp.status.as_u16()),
                www_authenticate: resp.header("www-authenticate").map(str::to_owned),
                pushed: false,
            });
            return Ok(None);
        }
        Ok(_) => {
            return Err(format!(
                "the token endpoint answered {} with JSON that is not an object",
                resp.status
            ));
        }
        Err(e) => return Err(e),
    };
    if let (Some(k), Some(nonce)) = (&prover, resp.header("dpop-nonce")) {
        k.remember_nonce(&url, nonce);
        // RFC 9449 §8: a server that wants a nonce answers `use_dpop_nonce`
        // with one; the request once more, with a new proof carrying it.
        if obj.get("error").and_then(|v| v.as_str()) == Some("use_dpop_nonce")
            && nonce_sent.as_deref() != Some(nonce)
            && !shape.dpop_nonce_retry
            && !ev.dpop_hold_nonce
        {
            ev.step("the token endpoint asks for a DPoP nonce (use_dpop_nonce): the request again with a proof that carries it");
            if let Some(seen) = ev.dpop.as_mut() {
                seen.nonce_used = true;
            }
            let shape = Shape {
                dpop_nonce_retry: true,
                ..shape
            };
            return Box::pin(token_request_shaped(p, case, unauthenticated_form, origin, shape, ev)).await;
        }
    }
    if !resp.status.is_success() || obj.contains_key("error") {
        // A provider that takes only its issuer as the audience of a client
        // assertion (as draft revisions of RFC 7523 and OIDC Core ask): the
        // request once more with the issuer, and every later one with it.
        let error = obj.get("error").and_then(|v| v.as_str());
        if auth.is_jwt()
            && error == Some("invalid_client")
            && ev.assertion_audience_refused.is_none()
            && !case.request.misuses(Misuse::WrongClientSecret)
        {
            ev.assertion_audience_refused = Some(format!("HTTP {} error=invalid_client", resp.status.as_u16()));
            ev.step("the assertion for the token endpoint URL was refused: the request again with the issuer as its audience");
            return Box::pin(token_request_shaped(p, case, unauthenticated_form, origin, shape, ev)).await;
        }
        ev.error = Some(OAuthError {
            stage: "token",
            error: obj.get("error").and_then(|v| v.as_str()).unwrap_or("(no error code)").to_owned(),
            description: obj.get("error_description").and_then(|v| v.as_str()).map(str::to_owned),
            status: Some(resp.status.as_u16()),
            www_authenticate: resp.header("www-authenticate").map(str::to_owned),
            pushed: false,
        });
        return Ok(None);
    }
    let s = |k: &str| obj.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    Ok(Some(TokenSet {
        origin,
        id_token: s("id_token").map(Secret::new),
        access_token: s("access_token").map(Secret::new),
        refresh_token: s("refresh_token").map(Secret::new),
        code: None,
        scope: s("scope"),
        params: obj.iter().map(|(k, v)| (k.clone(), redact_param(k, v.clone()))).collect(),
        cache_control: resp.header("cache-control").map(str::to_owned),
        pragma: resp.header("pragma").map(str::to_owned),
    }))
}

pub(crate) async fn exchange_code(
    p: &Provider,
    case: &Case,
    code: &Secret,
    verifier: &str,
    ev: &mut Evidence,
) -> Result<Option<TokenSet>, String> {
    let redirect_uri = ev.request.get("redirect_uri").cloned().unwrap_or_default();
    let mut form = vec![
        ("grant_type".to_owned(), "authorization_code".to_owned()),
        ("code".into(), code.expose().to_owned()),
        ("redirect_uri".into(), redirect_uri),
        ("code_verifier".into(), verifier.to_owned()),
    ];
    form.extend(token_endpoint_resource(p, case));
    if case.request.edits_code_exchange() {
        ev.misuse_attempted = true;
    }
    // The case's edits of this request (probes), with this run's PKCE values.
    if !case.request.token_params.is_empty() || !case.request.token_drop.is_empty() {
        let challenge = ev.request.get("code_challenge").cloned().unwrap_or_default();
        form.retain(|(k, _)| !case.request.token_drop.contains(k) && !case.request.token_params.contains_key(k));
        for (k, v) in &case.request.token_params {
            let v = v.replace("${pkce.verifier}", verifier).replace("${pkce.challenge}", &challenge);
            form.push((k.clone(), v));
        }
        ev.step(format!(
            "the code exchange edited as the case says (set: {}; left out: {})",
            case.request.token_params.keys().cloned().collect::<Vec<_>>().join(", "),
            case.request.token_drop.join(", ")
        ));
    }
    token_request_shaped(p, case, form, Origin::Token, Shape::of(case), ev).await
}

/// Redeems one code `case.request.token_parallel` times at once (RFC 6749
/// §4.1.2: at most one may succeed). Returns the first success, if any.
async fn parallel_exchange(
    p: &Provider,
    case: &Case,
    code: &Secret,
    verifier: &str,
    ev: &mut Evidence,
) -> Result<Option<TokenSet>, String> {
    let n = case.request.token_parallel;
    ev.step(format!("redeeming the code {n} times at once"));
    let mut subs: Vec<Evidence> = (0..n)
        .map(|_| Evidence {
            request: ev.request.clone(),
            ..Evidence::default()
        })
        .collect();
    let answers = futures_util::future::join_all(subs.iter_mut().map(|sub| exchange_code(p, case, code, verifier, sub))).await;
    ev.stage = Stage::Token;
    let mut first: Option<TokenSet> = None;
    let mut successes = 0;
    let mut refusal = None;
    let mut failure = None;
    for (answer, sub) in answers.into_iter().zip(subs) {
        for step in sub.trace {
            ev.step(step);
        }
        for x in sub.exchanges {
            if ev.exchanges.len() >= exchange::MAX_PER_CASE {
                ev.exchanges.remove(0);
            }
            ev.exchanges.push(x);
        }
        match answer {
            Ok(Some(set)) => {
                successes += 1;
                first.get_or_insert(set);
            }
            Ok(None) => {
                refusal = refusal.or(sub.error);
            }
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    ev.parallel_redemptions = Some((successes, n));
    if first.is_none() {
        if let Some(e) = failure {
            return Err(e);
        }
        ev.error = refusal;
    }
    Ok(first)
}

/// How many rounds of `n` parallel redemptions the race probe runs, and the
/// chance it misses a race: a racing provider lets each redemption besides the
/// first through with probability at least [`RACE_P`], so a round shows no race
/// with probability at most (1 − p)^(n−1); rounds are added until the miss is
/// at most [`RACE_MISS`] (capped at [`RACE_MAX_ROUNDS`]).
pub fn race_plan(n: usize) -> (usize, f64) {
    let per_round = (1.0 - RACE_P).powi(n.saturating_sub(1) as i32);
    let rounds = if per_round <= 0.0 {
        1
    } else {
        (RACE_MISS.ln() / per_round.ln()).ceil().max(1.0) as usize
    };
    let rounds = rounds.min(RACE_MAX_ROUNDS);
    (rounds, per_round.powi(rounds as i32))
}

/// The smallest share of racing redemptions the race probe is sized to catch.
pub const RACE_P: f64 = 0.1;
/// The chance of missing such a race the probe aims at.
pub const RACE_MISS: f64 = 1e-3;
/// At most this many rounds (each a new authorization and `n` redemptions).
pub const RACE_MAX_ROUNDS: usize = 16;

/// After the first round of parallel redemptions: further rounds, each with a
/// new code from the same browser, while every round lets exactly one through,
/// up to [`race_plan`]'s count.
async fn race_rounds(p: &Provider, case: &Case, browser: &reqwest::cookie::Jar, ev: &mut Evidence) -> Result<(), String> {
    let n = case.request.token_parallel;
    let (rounds, _) = race_plan(n);
    ev.parallel_rounds = ev.parallel_redemptions.map(|(ok, _)| ok).into_iter().collect();
    for round in 2..=rounds {
        if ev.parallel_rounds.last() != Some(&1) {
            break;
        }
        let mut scratch = Evidence {
            seeded_at: ev.seeded_at,
            ..Evidence::default()
        };
        let verifier = make_verifier(&case.request.pkce);
        let code = authorize(p, case, browser, &verifier, &mut scratch)
            .await?
            .and_then(|params| params.get("code").cloned());
        let Some(code) = code else {
            ev.step(format!(
                "round {round} of {rounds}: the authorization gave no code; the rounds stop"
            ));
            break;
        };
        parallel_exchange(p, case, &Secret::new(code), &verifier, &mut scratch).await?;
        let (ok, sent) = scratch.parallel_redemptions.unwrap_or((0, n));
        ev.step(format!(
            "round {round} of {rounds}: {ok} of {sent} redemptions of a new code sent at once succeeded"
        ));
        ev.parallel_rounds.push(ok);
        if ok > 1 {
            ev.parallel_redemptions = Some((ok, sent));
        }
    }
    Ok(())
}

/// The PKCE verifier of a case: a random 43-character one (RFC 7636 §4.1), or of
/// the length and alphabet a probe asks for.
pub(crate) fn make_verifier(spec: &crate::suite::RawPkce) -> String {
    if spec.verifier_length.is_none() && !spec.verifier_illegal {
        return random_token();
    }
    let len = spec.verifier_length.unwrap_or(50);
    let mut v = String::new();
    while v.len() < len {
        v.push_str(&random_token());
    }
    v.truncate(len);
    if spec.verifier_illegal {
        // `!`, `*` and a space are outside `[A-Za-z0-9-._~]`.
        v = v
            .chars()
            .enumerate()
            .map(|(i, c)| match i % 9 {
                3 => '!',
                6 => '*',
                8 => ' ',
                _ => c,
            })
            .collect();
    }
    v
}

/// RFC 8707 §2.2: the `resource` repeated at the token endpoint (code exchange,
/// refresh), unless the profile says the provider takes the one granted.
fn token_endpoint_resource(p: &Provider, case: &Case) -> Option<(String, String)> {
    if !p.profile.resource_at_token_endpoint {
        return None;
    }
    match api_param(p, case) {
        Some(("resource", api)) => Some(("resource".to_owned(), api)),
        _ => None,
    }
}

async fn refresh_tokens(p: &Provider, case: &Case, rt: &Secret, ev: &mut Evidence) -> Result<Option<TokenSet>, String> {
    let mut form = vec![
        ("grant_type".to_owned(), "refresh_token".to_owned()),
        ("refresh_token".into(), rt.expose().to_owned()),
    ];
    form.extend(token_endpoint_resource(p, case));
    let shape = Shape {
        client: case.request.refresh_client.as_deref(),
        ..Shape::default()
    };
    if shape.client.is_some() {
        ev.misuse_attempted = true;
    }
    token_request_shaped(p, case, form, Origin::Refresh, shape, ev).await
}

/// A token-lifecycle probe on the tokens the case was issued: revocation
/// (RFC 7009) then whether the token is still taken, or introspection (RFC 7662).
async fn lifecycle(p: &Provider, case: &Case, probe: crate::suite::LifecycleProbe, ev: &mut Evidence) -> Result<(), String> {
    use crate::suite::LifecycleProbe as L;
    let last = |pick: fn(&TokenSet) -> Option<Secret>| ev.token_sets.iter().rev().find_map(pick);
    let access = last(|s| s.access_token.clone());
    let refresh = last(|s| s.refresh_token.clone());
    let mut seen = Lifecycle {
        probe: Some(probe),
        ..Lifecycle::default()
    };
    let needs_refresh = matches!(
        probe,
        L::RevokeRefreshToken | L::RevokeRefreshTokenWrongHint | L::RevokeWithoutClientAuth
    );
    if needs_refresh && refresh.is_none() {
        ev.not_applicable = Some(
            "the provider issued no refresh token to revoke (it may not grant `offline_access` to this client, or the client is not registered for the refresh_token grant)"
                .into(),
        );
        return Ok(());
    }
    let Some(access) = access else {
        ev.not_applicable = Some("the provider issued no access token".into());
        return Ok(());
    };
    match probe {
        L::RevokeRefreshToken | L::RevokeRefreshTokenWrongHint | L::RevokeWithoutClientAuth => {
            let rt = refresh.unwrap_or_default();
            let hint = if probe == L::RevokeRefreshTokenWrongHint {
                "access_token"
            } else {
                "refresh_token"
            };
            let authenticated = probe != L::RevokeWithoutClientAuth;
            if !authenticated {
                ev.misuse_attempted = true;
            }
            let form = vec![
                ("token".to_owned(), rt.expose().to_owned()),
                ("token_type_hint".to_owned(), hint.to_owned()),
            ];
            seen.revocation = Some(lifecycle_request(p, case, "revocation_endpoint", form, authenticated, ev).await?);
            ev.step(if authenticated {
                "refreshing with the refresh token just revoked"
            } else {
                "refreshing with the refresh token the unauthenticated request asked to revoke"
            });
            let refusal = ev.error.take();
            seen.refreshed_after = Some(refresh_tokens(p, case, &rt, ev).await?.is_some());
            ev.error = refusal;
        }
        L::RevokeAccessToken => {
            let form = vec![
                ("token".to_owned(), access.expose().to_owned()),
                ("token_type_hint".to_owned(), "access_token".to_owned()),
            ];
            seen.revocation = Some(lifecycle_request(p, case, "revocation_endpoint", form, true, ev).await?);
            if p.discovery.introspection_endpoint.is_some() && client_of(p, case).secret.is_some() {
                let form = vec![("token".to_owned(), access.expose().to_owned())];
                let answer = lifecycle_request(p, case, "introspection_endpoint", form, true, ev).await?;
                let active = answer
                    .json
                    .as_ref()
                    .and_then(|j| j.get("active"))
                    .and_then(serde_json::Value::as_bool);
                if let Some(active) = active {
                    seen.access_alive_after = Some((active, format!("introspection says `active: {active}`")));
                }
            }
            if seen.access_alive_after.is_none() && case.request.openid() && p.discovery.userinfo_endpoint.is_some() {
                let answer = userinfo(p, Some(&access), UserinfoMethod::Get, ev).await?;
                seen.access_alive_after = Some((
                    (200..300).contains(&answer.status),
                    format!("userinfo answered HTTP {}", answer.status),
                ));
            }
        }
        L::RevokeUnknownToken => {
            let form = vec![("token".to_owned(), format!("oidc-conform-never-issued-{}", random_token()))];
            seen.revocation = Some(lifecycle_request(p, case, "revocation_endpoint", form, true, ev).await?);
        }
        L::Introspect => {
            let form = vec![("token".to_owned(), access.expose().to_owned())];
            seen.introspection = Some(lifecycle_request(p, case, "introspection_endpoint", form.clone(), true, ev).await?);
            let unknown = vec![("token".to_owned(), format!("oidc-conform-never-issued-{}", random_token()))];
            seen.introspection_unknown = Some(lifecycle_request(p, case, "introspection_endpoint", unknown, true, ev).await?);
            seen.introspection_unauthenticated = Some(lifecycle_request(p, case, "introspection_endpoint", form, false, ev).await?);
        }
    }
    ev.lifecycle = Some(seen);
    Ok(())
}

/// A POST to the revocation or introspection endpoint, the case's client
/// authenticating as at the token endpoint (or not at all).
pub(super) async fn lifecycle_request(
    p: &Provider,
    case: &Case,
    endpoint: &str,
    mut form: Vec<(String, String)>,
    authenticated: bool,
    ev: &mut Evidence,
) -> Result<EndpointAnswer, String> {
    let url = p.endpoint(endpoint)?;
    let client = client_of(p, case);
    let mut basic = None;
    if authenticated {
        if client.secret.is_some() && case.auth != ClientAuth::None {
            p.check_transport(&url, "client secret")?;
            if !p.trusted_origin(&url) {
                return Err(format!(
                    "the {endpoint} is on {}, another origin than the issuer's: the client secret was not sent (list the origin under `http.trusted_origins` in the profile if it belongs to the provider)",
                    url.origin().ascii_serialization()
                ));
            }
        }
        let token_endpoint = p.endpoint("token_endpoint")?;
        let aud = assertion::Audiences::new(
            token_endpoint.as_str(),
            &p.discovery.issuer,
            ev.assertion_audience_refused.is_some(),
        );
        basic = client_authentication(client, case.auth, client.secret.as_ref(), &aud, &mut form)?;
        keep_assertion(&form, ev);
    }
    let mut req = p.http.post(url.clone()).form(&form);
    if let Some((id, secret)) = &basic {
        req = req.basic_auth(id, Some(secret));
    }
    let step = match endpoint {
        "revocation_endpoint" => crate::report::exchange::Step::Revocation,
        "device_authorization_endpoint" => crate::report::exchange::Step::Device,
        _ => crate::report::exchange::Step::Introspection,
    };
    let note = if !authenticated {
        Some(crate::report::exchange::UNAUTHENTICATED)
    } else if form
        .iter()
        .any(|(k, v)| k == "token" && v.starts_with("oidc-conform-never-issued-"))
    {
        Some(crate::report::exchange::UNKNOWN_TOKEN)
    } else {
        None
    };
    let sent = exchange::Sent {
        form: &form,
        basic: basic.as_ref(),
        ..exchange::Sent::new("POST", &url)
    };
    let answer = http::send(&p.guard, req, &url, &p.limits).await;
    let resp = exchange::recorded(p, ev, step, note, &sent, answer)?;
    ev.step(format!(
        "POST {}{} → {}",
        http::redact_url(&url),
        if authenticated { "" } else { " (no client authentication)" },
        resp.status.as_u16()
    ));
    Ok(endpoint_answer(&resp))
}

/// An endpoint's answer as the checks read it: its status, the `error` of a
/// JSON error body (control characters escaped, cut short), the JSON object
/// and the `WWW-Authenticate` challenge.
fn endpoint_answer(resp: &http::Response) -> EndpointAnswer {
    let json = match resp.json() {
        Ok(serde_json::Value::Object(o)) => Some(o),
        _ => None,
    };
    EndpointAnswer {
        status: resp.status.as_u16(),
        error: json
            .as_ref()
            .and_then(|o| o.get("error"))
            .and_then(|e| e.as_str())
            .map(|e| crate::report::escape::escape_controls(e).chars().take(100).collect()),
        json,
        www_authenticate: resp.header("www-authenticate").map(str::to_owned),
    }
}

async fn client_credentials(p: &Provider, case: &Case, ev: &mut Evidence) -> Result<(), String> {
    let mut form = vec![("grant_type".to_owned(), "client_credentials".to_owned())];
    if !case.request.scope.is_empty() {
        form.push(("scope".into(), case.request.scope.clone()));
    }
    if let Some((param, api)) = api_param(p, case) {
        form.push((param.into(), api));
    }
    for (k, v) in &case.request.params {
        form.push((k.clone(), v.clone()));
    }
    ev.request = form.iter().cloned().collect();
    if let Some(set) = token_request(p, case, form, Origin::ClientCredentials, ev).await? {
        ev.token_sets.push(set);
    } else if case.request.scope.is_empty()
        && let Some(e) = ev.error.as_ref().filter(|e| e.error == "invalid_scope")
    {
        // RFC 6749 §3.3: a provider may refuse a request without a scope.
        let desc = e.description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
        ev.not_applicable = Some(format!(
            "the provider wants a scope for client credentials (`invalid_scope`{desc}, which RFC 6749 §3.3 allows), and the case selects no API and the profile declares no `scopes` for client `{}`",
            case.client
        ));
        ev.error = None;
    }
    Ok(())
}

/// The password grant (RFC 6749 §4.3), Auth0 style: the profile's API parameter
/// and `password_realm` (`realm`) when set; then userinfo with the access token.
async fn password_grant(p: &Provider, case: &Case, ev: &mut Evidence) -> Result<(), String> {
    let user = case
        .user
        .as_ref()
        .and_then(|u| p.profile.users.get(u))
        .ok_or("no user to sign in with the password grant")?;
    let password = if case.request.misuses(Misuse::WrongPassword) {
        format!("not-{}", random_token())
    } else {
        user.password.expose().to_owned()
    };
    let mut form = vec![
        ("grant_type".to_owned(), "password".to_owned()),
        ("username".to_owned(), user.username.clone()),
        ("password".to_owned(), password),
    ];
    if !case.request.scope.is_empty() {
        form.push(("scope".into(), case.request.scope.clone()));
    }
    if let Some((param, api)) = api_param(p, case) {
        form.push((param.into(), api));
    }
    if let Some(realm) = &p.profile.password_realm {
        form.push(("realm".into(), realm.clone()));
    }
    for (k, v) in &case.request.params {
        form.push((k.clone(), v.clone()));
    }
    p.check_transport(&p.endpoint("token_endpoint")?, "password")?;
    // As reports keep it: the password redacted.
    ev.request = shown_request(form.iter().map(|(k, v)| (k, v)));
    let Some(set) = token_request(p, case, form, Origin::Password, ev).await? else {
        return Ok(());
    };
    let access = set.access_token.clone();
    ev.token_sets.push(set);
    match access {
        Some(at) if case.request.openid() && p.discovery.userinfo_endpoint.is_some() => {
            if case.api.is_some() && !p.profile.access_token_aud_includes_userinfo {
                ev.userinfo_skipped = Some("the access token is for an API, and the profile says such tokens are not for userinfo".into());
            } else {
                ev.userinfo = Some(userinfo(p, Some(&at), case.request.userinfo, ev).await?);
            }
        }
        _ => ev.userinfo_skipped = Some("no access token for userinfo, or `openid` was not requested".into()),
    }
    Ok(())
}

/// Userinfo with a Bearer token (OIDC Core §5.3.1; RFC 6750 §2.1 header, §2.2 form body), or with none.
pub async fn userinfo(p: &Provider, token: Option<&Secret>, how: UserinfoMethod, ev: &mut Evidence) -> Result<UserinfoResponse, String> {
    userinfo_with(p, token, how, None, ev).await
}

/// Userinfo as [`userinfo`], or, with `dpop` (a scheme as written and a
/// proof), a GET with the token in the `DPoP` authentication scheme and the
/// proof in the `DPoP` header (RFC 9449 §7.1).
pub(crate) async fn userinfo_with(
    p: &Provider,
    token: Option<&Secret>,
    how: UserinfoMethod,
    dpop: Option<(&str, &str)>,
    ev: &mut Evidence,
) -> Result<UserinfoResponse, String> {
    ev.stage = Stage::Userinfo;
    let url = p.endpoint("userinfo_endpoint")?;
    let mut req = match (how, token) {
        (UserinfoMethod::Query, Some(t)) => {
            let mut with_token = url.clone();
            with_token.query_pairs_mut().append_pair("access_token", t.expose());
            p.http.get(with_token)
        }
        (UserinfoMethod::Get | UserinfoMethod::Query, _) => p.http.get(url.clone()),
        (UserinfoMethod::PostHeader | UserinfoMethod::PostBody, _) => p.http.post(url.clone()),
    };
    let mut body = Vec::new();
    let mut bearer = None;
    match (token, how) {
        (Some(t), UserinfoMethod::PostBody) => {
            body.push(("access_token".to_owned(), t.expose().to_owned()));
            req = req.form(&body);
        }
        (Some(_), UserinfoMethod::Query) => {}
        (Some(t), _) => {
            bearer = Some(t.expose());
            req = match dpop {
                Some((scheme, proof)) => req
                    .header(reqwest::header::AUTHORIZATION, format!("{scheme} {}", t.expose()))
                    .header("DPoP", proof),
                None => req.bearer_auth(t.expose()),
            };
        }
        (None, _) => {}
    }
    let mut sent_url = url.clone();
    if let (Some(t), UserinfoMethod::Query) = (token, how) {
        sent_url.query_pairs_mut().append_pair("access_token", t.expose());
    }
    let method = if matches!(how, UserinfoMethod::PostHeader | UserinfoMethod::PostBody) {
        "POST"
    } else {
        "GET"
    };
    let sent = exchange::Sent {
        form: &body,
        bearer,
        dpop: usize::from(dpop.is_some()),
        scheme: dpop.map(|(scheme, _)| scheme),
        ..exchange::Sent::new(method, &sent_url)
    };
    // The probes' requests, told apart in the reproductions.
    let note = match token {
        None => Some(crate::report::exchange::NO_TOKEN),
        Some(t) if ev.token_sets.iter().any(|s| s.id_token.as_ref() == Some(t)) => Some(crate::report::exchange::ID_TOKEN_AS_BEARER),
        Some(_) => None,
    };
    let answer = http::send(&p.guard, req, &url, &p.limits).await;
    let resp = exchange::recorded(p, ev, crate::report::exchange::Step::Userinfo, note, &sent, answer)?;
    let verb = match how {
        UserinfoMethod::Get => "GET",
        UserinfoMethod::Query => "GET (access_token in the URL query)",
        _ => "POST",
    };
    ev.step(format!("{verb} {} → {}", http::redact_url(&url), resp.status.as_u16()));
    let content_type = resp
        .header("content-type")
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let mut signed = None;
    let www_authenticate = resp.header("www-authenticate").map(str::to_owned);
    let error = if resp.status.is_success() {
        None
    } else {
        www_authenticate
            .as_deref()
            .and_then(|h| challenge_param(h, "error"))
            .or_else(|| match resp.json() {
                Ok(serde_json::Value::Object(o)) => o.get("error").and_then(|e| e.as_str()).map(str::to_owned),
                _ => None,
            })
            .map(|e| crate::report::escape::escape_controls(&e).chars().take(100).collect())
    };
    let claims = if !resp.status.is_success() {
        None
    } else if content_type.as_deref() == Some("application/jwt") {
        // OIDC Core §5.3.2: a signed answer is a JWT; its claims are the payload.
        let raw = Secret::new(resp.text().trim().to_owned());
        let decoded =
            crate::check::jwt::decode(raw.expose()).map_err(|e| format!("userinfo answered application/jwt that is not a JWT: {e}"))?;
        signed = Some(raw);
        Some(decoded.claims)
    } else {
        match resp.json() {
            Ok(serde_json::Value::Object(o)) => Some(o),
            Ok(_) => return Err("userinfo answered with JSON that is not an object".into()),
            Err(e) => return Err(e),
        }
    };
    Ok(UserinfoResponse {
        status: resp.status.as_u16(),
        claims,
        www_authenticate,
        error,
        content_type,
        signed,
        dpop_nonce: resp.header("dpop-nonce").map(str::to_owned),
    })
}

/// The value of the auth-param `name` of a `WWW-Authenticate` challenge
/// (RFC 9110 §11.2: a token or a quoted string), e.g. `error` of
/// `Bearer error="invalid_token", error_description="…"`.
pub fn challenge_param(header: &str, name: &str) -> Option<String> {
    let rest = header.trim_start();
    // Skip the scheme.
    let rest = rest.split_once(char::is_whitespace).map(|(_, r)| r).unwrap_or("");
    let bytes = rest;
    let mut i = 0;
    while i < bytes.len() {
        // Parameter name.
        let tail = &bytes[i..];
        let tail_trim = tail.trim_start_matches([' ', '\t', ',']);
        i += tail.len() - tail_trim.len();
        let eq = tail_trim.find('=')?;
        let key = tail_trim[..eq].trim();
        i += eq + 1;
        let value_start = &bytes[i..];
        let value_trim = value_start.trim_start();
        i += value_start.len() - value_trim.len();
        let (value, used) = if let Some(quoted) = value_trim.strip_prefix('"') {
            let mut out = String::new();
            let mut escaped = false;
            let mut end = None;
            for (k, c) in quoted.char_indices() {
                if escaped {
                    out.push(c);
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    end = Some(k);
                    break;
                } else {
                    out.push(c);
                }
            }
            let end = end?;
            (out, end + 2)
        } else {
            let end = value_trim.find([',', ' ', '\t']).unwrap_or(value_trim.len());
            (value_trim[..end].to_owned(), end)
        };
        i += used;
        if key.eq_ignore_ascii_case(name) {
            return Some(value);
        }
    }
    None
}

/// The clickjacking defence a page is sent with (RFC 9700 §4.16): an
/// `X-Frame-Options` of DENY or SAMEORIGIN, or a CSP `frame-ancestors` directive.
fn framing_defence(resp: &http::Response) -> Option<String> {
    framing_of(resp.header("x-frame-options"), resp.header("content-security-policy"))
}

/// See [`framing_defence`]; the header values, when present.
pub fn framing_of(xfo: Option<&str>, csp: Option<&str>) -> Option<String> {
    if let Some(csp) = csp
        && let Some(d) = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.to_ascii_lowercase().starts_with("frame-ancestors"))
    {
        return Some(format!("Content-Security-Policy: {d}"));
    }
    match xfo.map(str::trim) {
        Some(v) if v.eq_ignore_ascii_case("deny") || v.eq_ignore_ascii_case("sameorigin") => Some(format!("X-Frame-Options: {v}")),
        _ => None,
    }
}

fn page_summary(resp: &http::Response) -> String {
    let html = resp.text();
    let doc = scraper::Html::parse_document(&html);
    let pick = |sel: &str| {
        scraper::Selector::parse(sel)
            .ok()
            .and_then(|s| {
                doc.select(&s)
                    .next()
                    .map(|e| e.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" "))
            })
            .filter(|t| !t.is_empty())
    };
    // Else the page's first words, never its markup.
    let words = || {
        let body = scraper::Selector::parse("body").ok()?;
        let hidden = |name: &str| matches!(name, "script" | "style" | "noscript" | "template");
        let text: String = doc
            .select(&body)
            .next()?
            .descendants()
            .filter(|n| !n.ancestors().any(|a| a.value().as_element().is_some_and(|e| hidden(e.name()))))
            .filter_map(|n| n.value().as_text().map(|t| t.to_string()))
            .collect::<Vec<_>>()
            .join(" ");
        let words: String = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(120).collect();
        (!words.is_empty()).then_some(words)
    };
    pick("h1")
        .or_else(|| pick("title"))
        .or_else(|| pick("h2"))
        .or_else(words)
        .unwrap_or_else(|| {
            if html.trim().is_empty() {
                "an empty page".into()
            } else {
                "a page without text".into()
            }
        })
}

#[cfg(test)]
mod challenge_tests {
    use super::challenge_param;

    #[test]
    fn challenge_params_are_read_quoted_or_not() {
        let h = r#"Bearer realm="example", error="invalid_token", error_description="The \"token\" expired""#;
        assert_eq!(challenge_param(h, "error").as_deref(), Some("invalid_token"));
        assert_eq!(challenge_param(h, "error_description").as_deref(), Some(r#"The "token" expired"#));
        assert_eq!(
            challenge_param("Bearer error=invalid_request,realm=x", "ERROR").as_deref(),
            Some("invalid_request")
        );
        assert_eq!(challenge_param("Bearer realm=\"a, error=fake\"", "error"), None);
        assert_eq!(challenge_param("Bearer", "error"), None);
        assert_eq!(challenge_param("Bearer error=\"unterminated", "error"), None);
    }
}
