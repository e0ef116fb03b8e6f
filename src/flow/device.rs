//! The device authorization grant (RFC 8628). The client asks the device
//! authorization endpoint for a device code and a user code (§3.1, §3.2); the
//! user opens `verification_uri`, enters the user code, signs in and approves
//! (§3.3); meanwhile the client polls the token endpoint with the device code
//! (§3.4), which answers `authorization_pending` until the user acted, then
//! the tokens, or `access_denied`, or `expired_token` (§3.5).
//!
//! The harness polls no faster than the `interval` the provider gave, 5 s
//! without one (§3.2: "clients MUST use 5 as the default"), and 5 s slower for
//! every later poll after a `slow_down` (§3.5: "the interval MUST be increased
//! by 5 seconds"); the `slow_down` probe alone sends one poll at once after
//! another, its deliberate mistake. It never polls past `expires_in`.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use url::Url;

use super::{Evidence, Origin, Provider, TokenSet, http, page_summary};
use crate::login::form::{self, Page};
use crate::secret::Secret;
use crate::suite::{Case, ConsentDecision, DeviceProbe as P};

/// The grant type of the token request (RFC 8628 §3.4).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The polling interval without an `interval` in the response (§3.2).
pub const DEFAULT_INTERVAL: u64 = 5;
/// What each `slow_down` adds to the interval (§3.5).
pub const SLOW_DOWN_STEP: u64 = 5;
/// The longest interval the harness waits out between two polls: a provider
/// asking for more is not probed (the case would take too long).
pub const MAX_INTERVAL: u64 = 60;
/// How long the harness polls when the response has no `expires_in` (a
/// departure from §3.2 of its own).
pub const ASSUMED_LIFETIME: u64 = 300;
/// The longest an `expire` probe waits for the device code to expire.
pub const MAX_EXPIRY_WAIT: u64 = 900;
/// Polls after the user acted that may still be pending before the harness
/// stops: the provider should have taken the user's answer by then.
pub const MAX_PENDING_AFTER_USER: u32 = 3;

/// A poll's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A token response.
    Tokens,
    /// An error response: HTTP status (0: none), `error` and description.
    Error {
        status: u16,
        error: String,
        description: Option<String>,
    },
}

impl Answer {
    /// `authorization_pending` or `slow_down`: the authorization is still pending (§3.5).
    pub fn pending(&self) -> bool {
        matches!(self, Answer::Error { error, .. } if error == "authorization_pending" || error == "slow_down")
    }

    pub fn is(&self, code: &str) -> bool {
        matches!(self, Answer::Error { error, .. } if error == code)
    }

    /// In words, for verdicts.
    pub fn describe(&self) -> String {
        match self {
            Answer::Tokens => "a token response".into(),
            Answer::Error {
                status,
                error,
                description,
            } => {
                let desc = description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
                if *status == 0 {
                    format!("error `{error}`{desc}")
                } else {
                    format!("HTTP {status} error `{error}`{desc}")
                }
            }
        }
    }
}

/// What the verification pages did with the user code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserSide {
    /// The code was taken and the user got to the end (signed in, approved or
    /// denied): the last page's summary.
    Done { summary: String, logins: u32, consents: u32 },
    /// After the code was entered, the code form came back: the page's summary.
    CodeRefused(String),
    /// The page at `verification_uri` has no form to enter the code in.
    NoCodeForm(String),
    /// Another page stopped the harness (status, summary).
    Stopped(u16, String),
}

/// What a device grant probe saw.
#[derive(Clone, Debug, Default)]
pub struct DeviceSeen {
    pub probe: P,
    /// Discovery's `grant_types_supported` (`None`: absent).
    pub grants_advertised: Option<Vec<String>>,
    /// The device authorization request was refused: status and error.
    pub refused: Option<(u16, String)>,
    /// Departures of a successful response from §3.2.
    pub problems: Vec<String>,
    /// The response's members, as received (credentials left out): for reports.
    pub members: Vec<String>,
    /// `verification_uri` holds the user code (§3.3: NOT RECOMMENDED).
    pub user_code_in_uri: bool,
    /// The interval the harness started polling at, and whether the provider named it.
    pub interval: u64,
    pub interval_given: bool,
    /// The lifetime the harness polled within, and whether the provider named it.
    pub lifetime: u64,
    /// The first poll, before the user acted.
    pub first_poll: Option<Answer>,
    /// The `slow_down` probe's poll sent at once after the first.
    pub fast_poll: Option<Answer>,
    /// The interval after every `slow_down`, when any came.
    pub slowed_to: Option<u64>,
    /// What the verification pages did.
    pub user: Option<UserSide>,
    /// The poll that ended the grant (tokens or an error that is not pending),
    /// or the last pending one when the harness gave up.
    pub final_poll: Option<Answer>,
    /// Polls after the user acted (the final one included).
    pub polls_after_user: u32,
    /// For the `expire` probe: how long after the response the final poll went.
    pub waited: Option<u64>,
    /// The `reuse` probe: the same device code redeemed again.
    pub second: Option<Answer>,
    /// Why the probe stopped early (the harness's own limits), if it did.
    pub stopped: Option<String>,
}

/// The interval to start polling at (§3.2): the response's `interval` (whole
/// seconds, at least 1), or 5 s without a usable one.
pub fn initial_interval(value: Option<&Value>) -> u64 {
    match value.and_then(Value::as_f64) {
        Some(v) if v.is_finite() && v > 0.0 => (v.ceil() as u64).max(1),
        _ => DEFAULT_INTERVAL,
    }
}

/// The interval after a poll answered `error` (§3.5: `slow_down` adds 5 s,
/// for this and every later poll).
pub fn next_interval(interval: u64, error: &str) -> u64 {
    if error == "slow_down" {
        interval.saturating_add(SLOW_DOWN_STEP)
    } else {
        interval
    }
}

/// How long to wait before the next poll: until `interval` has passed since
/// the last request about this device code (`since_last`); `None` when the
/// poll would then come after the code's lifetime (`elapsed` since the
/// device authorization response, `lifetime` its `expires_in`).
pub fn wait_before_poll(interval: u64, since_last: Duration, elapsed: Duration, lifetime: u64) -> Option<Duration> {
    let wait = Duration::from_secs(interval).saturating_sub(since_last);
    (elapsed + wait < Duration::from_secs(lifetime)).then_some(wait)
}

/// The polling state of one device code.
struct Poller {
    code: Secret,
    interval: u64,
    lifetime: u64,
    start: Instant,
    last: Instant,
}

impl Poller {
    /// Waits as the schedule says and polls: `None` when the next poll would
    /// come after the code's lifetime (nothing sent).
    async fn poll(&mut self, p: &Provider, case: &Case, ev: &mut Evidence) -> Result<Option<(Answer, Option<TokenSet>)>, String> {
        let Some(wait) = wait_before_poll(self.interval, self.last.elapsed(), self.start.elapsed(), self.lifetime) else {
            return Ok(None);
        };
        tokio::time::sleep(wait).await;
        self.poll_now(p, case, ev).await.map(Some)
    }

    /// Polls at once (the `slow_down` probe's mistake; the schedule otherwise).
    async fn poll_now(&mut self, p: &Provider, case: &Case, ev: &mut Evidence) -> Result<(Answer, Option<TokenSet>), String> {
        self.last = Instant::now();
        let got = token_poll(p, case, &self.code, ev).await?;
        if let (Answer::Error { error, .. }, _) = &got {
            self.interval = next_interval(self.interval, error);
        }
        Ok(got)
    }
}

/// One token request with the device code (§3.4).
async fn token_poll(p: &Provider, case: &Case, code: &Secret, ev: &mut Evidence) -> Result<(Answer, Option<TokenSet>), String> {
    let form = vec![
        ("grant_type".to_owned(), GRANT_TYPE.to_owned()),
        ("device_code".to_owned(), code.expose().to_owned()),
    ];
    let before = ev.error.take();
    let got = super::token_request(p, case, form, Origin::Device, ev).await;
    let error = ev.error.take();
    ev.error = before;
    let got = got?;
    let answer = match (&got, error) {
        (Some(_), _) => Answer::Tokens,
        (None, Some(e)) => Answer::Error {
            status: e.status.unwrap_or(0),
            error: e.error,
            description: e.description.map(|d| crate::secret::scrub(&d)),
        },
        (None, None) => Answer::Error {
            status: 0,
            error: "(no answer)".into(),
            description: None,
        },
    };
    Ok((answer, got))
}

/// Departures of a device authorization response's members from §3.2.
pub fn response_problems(o: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut problems = Vec::new();
    for name in ["device_code", "user_code", "verification_uri"] {
        match o.get(name) {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(_) => problems.push(format!("`{name}` is not a non-empty string")),
            None => problems.push(format!("`{name}` (REQUIRED) is missing")),
        }
    }
    match o.get("expires_in") {
        Some(v) if v.as_f64().is_some_and(|n| n > 0.0) => {}
        Some(_) => problems.push("`expires_in` is not a positive number of seconds".into()),
        None => problems.push("`expires_in` (REQUIRED) is missing".into()),
    }
    if let Some(v) = o.get("interval")
        && !v.as_f64().is_some_and(|n| n >= 0.0)
    {
        problems.push("`interval` is not a number of seconds".into());
    }
    for name in ["verification_uri", "verification_uri_complete"] {
        if let Some(Value::String(s)) = o.get(name)
            && Url::parse(s).is_err()
        {
            problems.push(format!("`{name}` is not an absolute URI"));
        }
    }
    problems
}

/// Whether `verification_uri` holds the user code (§3.3: NOT RECOMMENDED),
/// compared without case, dashes or spaces.
pub fn code_in_uri(uri: &str, user_code: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let code = norm(user_code);
    code.len() >= 4 && norm(uri).contains(&code)
}

/// Runs the case's device grant probe.
pub(super) async fn probe(p: &Provider, case: &Case, ev: &mut Evidence) -> Result<(), String> {
    let probe = case.request.device.unwrap_or_default();
    let mut seen = DeviceSeen {
        probe,
        grants_advertised: p.discovery.grant_types_supported.clone(),
        ..DeviceSeen::default()
    };
    let out = run(p, case, probe, &mut seen, ev).await;
    ev.device = Some(seen);
    out
}

async fn run(p: &Provider, case: &Case, probe: P, seen: &mut DeviceSeen, ev: &mut Evidence) -> Result<(), String> {
    let mut form = Vec::new();
    if !case.request.scope.is_empty() {
        form.push(("scope".to_owned(), case.request.scope.clone()));
    }
    for (k, v) in &case.request.params {
        form.push((k.clone(), v.clone()));
    }
    ev.request = super::shown_request(form.iter().map(|(k, v)| (k, v)));
    ev.step("the device authorization request (RFC 8628 §3.1)");
    let answer = super::lifecycle_request(p, case, "device_authorization_endpoint", form, true, ev).await?;
    let start = Instant::now();
    let Some(o) = answer.json.filter(|_| answer.status == 200 && answer.error.is_none()) else {
        seen.refused = Some((answer.status, answer.error.unwrap_or_else(|| "(no JSON error)".into())));
        return Ok(());
    };
    seen.members = o.keys().cloned().collect();
    seen.problems = response_problems(&o);
    let text = |k: &str| o.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let (Some(code), Some(user_code)) = (text("device_code"), text("user_code")) else {
        seen.stopped = Some("the response has no device_code or user_code to go on with".into());
        return Ok(());
    };
    let code = Secret::credential(code);
    let user_code = Secret::new(user_code);
    let verification_uri = text("verification_uri").map(str::to_owned);
    seen.user_code_in_uri = verification_uri.as_deref().is_some_and(|u| code_in_uri(u, user_code.expose()));
    seen.interval = initial_interval(o.get("interval"));
    seen.interval_given = o.get("interval").is_some();
    let given_lifetime = o.get("expires_in").and_then(Value::as_f64).filter(|n| *n > 0.0);
    seen.lifetime = given_lifetime.map(|n| n as u64).unwrap_or(ASSUMED_LIFETIME);
    if seen.interval > MAX_INTERVAL {
        seen.stopped = Some(format!(
            "the provider asks for {} s between polls; the harness waits at most {MAX_INTERVAL} s",
            seen.interval
        ));
        return Ok(());
    }
    let mut poller = Poller {
        code: code.clone(),
        interval: seen.interval,
        lifetime: seen.lifetime,
        start,
        last: start,
    };
    if probe == P::Expire {
        if given_lifetime.is_none() {
            seen.stopped = Some("the response has no `expires_in`, so there is no expiry to wait out".into());
            return Ok(());
        }
        let timeout = p.limits.case_timeout.as_secs();
        if seen.lifetime + poller.interval + 5 > timeout {
            seen.stopped = Some(format!(
                "the device code lives {} s, and the case may take {timeout} s (http.case_timeout in the profile): raise it above the lifetime to wait the code out",
                seen.lifetime
            ));
            return Ok(());
        }
        if seen.lifetime > MAX_EXPIRY_WAIT {
            seen.stopped = Some(format!(
                "the device code lives {} s; the harness waits at most {MAX_EXPIRY_WAIT} s for it to expire",
                seen.lifetime
            ));
            return Ok(());
        }
        // Polling on schedule until the lifetime is over, as a waiting client does.
        ev.step(format!(
            "nobody enters the user code: polling every {} s until `expires_in` ({} s) has passed",
            poller.interval, seen.lifetime
        ));
        loop {
            match poller.poll(p, case, ev).await? {
                Some((answer, _)) if answer.pending() => {
                    seen.first_poll.get_or_insert(answer);
                }
                Some((answer, set)) => {
                    // Ended before its lifetime: what it ended with is the verdict.
                    seen.first_poll.get_or_insert(answer.clone());
                    seen.final_poll = Some(answer);
                    seen.waited = Some(start.elapsed().as_secs());
                    keep_unexpected(set, ev);
                    return Ok(());
                }
                None => break,
            }
        }
        let remaining = Duration::from_secs(seen.lifetime + 1).saturating_sub(start.elapsed());
        let wait = remaining.max(Duration::from_secs(poller.interval).saturating_sub(poller.last.elapsed()));
        tokio::time::sleep(wait).await;
        let (answer, set) = poller.poll_now(p, case, ev).await?;
        seen.waited = Some(start.elapsed().as_secs());
        seen.final_poll = Some(answer);
        keep_unexpected(set, ev);
        return Ok(());
    }
    ev.step(format!(
        "polling before the user acts (every {} s{})",
        poller.interval,
        if seen.interval_given {
            ""
        } else {
            ", the default: the response has no interval"
        }
    ));
    let Some((first, _)) = poller.poll(p, case, ev).await? else {
        seen.stopped = Some("the device code's lifetime is shorter than one polling interval".into());
        return Ok(());
    };
    seen.first_poll = Some(first.clone());
    if !first.pending() {
        // §3.5: any other answer ends the grant; the client stops polling.
        return Ok(());
    }
    if probe == P::SlowDown {
        ev.misuse_attempted = true;
        ev.step("polling again at once, faster than the interval");
        let (fast, _) = poller.poll_now(p, case, ev).await?;
        seen.fast_poll = Some(fast.clone());
        if !fast.pending() {
            return Ok(());
        }
    }
    if poller.interval != seen.interval {
        seen.slowed_to = Some(poller.interval);
    }
    let Some(uri) = verification_uri else {
        seen.stopped = Some("the response has no verification_uri for the user to open".into());
        return Ok(());
    };
    let approve = probe != P::Deny;
    let user = verify(p, case, &uri, &user_code, approve, ev).await?;
    let done = matches!(user, UserSide::Done { .. });
    seen.user = Some(user);
    if !done {
        return Ok(());
    }
    ev.step(format!("polling after the user {}", if approve { "approved" } else { "denied" }));
    loop {
        let Some((answer, set)) = poller.poll(p, case, ev).await? else {
            seen.stopped = Some(format!(
                "the device code's lifetime ({} s) ended before the provider took the user's answer",
                seen.lifetime
            ));
            break;
        };
        seen.polls_after_user += 1;
        if poller.interval > seen.interval {
            seen.slowed_to = Some(poller.interval);
        }
        let pending = answer.pending();
        seen.final_poll = Some(answer);
        if let Some(set) = set {
            ev.token_sets.push(set);
        }
        if !pending || seen.polls_after_user >= MAX_PENDING_AFTER_USER || poller.interval > MAX_INTERVAL {
            break;
        }
    }
    if probe == P::Reuse && seen.final_poll == Some(Answer::Tokens) {
        ev.misuse_attempted = true;
        ev.step("redeeming the same device code again");
        if let Some((again, _)) = poller.poll(p, case, ev).await? {
            seen.second = Some(again);
        } else {
            seen.stopped = Some("the device code's lifetime ended before it could be redeemed again".into());
        }
    }
    Ok(())
}

/// Tokens where none were due (after expiry or a denial): kept for the
/// token checks, which judge them like any other.
fn keep_unexpected(set: Option<TokenSet>, ev: &mut Evidence) {
    if let Some(set) = set {
        ev.token_sets.push(set);
    }
}

/// The user's side (§3.3): opens `verification_uri`, enters the user code,
/// signs in and approves (or denies) on the provider's pages, with the form
/// driver, in a browser of its own.
async fn verify(p: &Provider, case: &Case, uri: &str, user_code: &Secret, approve: bool, ev: &mut Evidence) -> Result<UserSide, String> {
    let browser = reqwest::cookie::Jar::default();
    let mut url = Url::parse(uri).map_err(|e| format!("verification_uri is not a URL: {e}"))?;
    p.check_transport(&url, "user code")?;
    let issuer_origin = Url::parse(&p.profile.issuer).map(|u| u.origin()).map_err(|e| e.to_string())?;
    let user = case.user.as_ref().and_then(|u| p.profile.users.get(u));
    let (username, password) = match user {
        Some(u) => (u.username.as_str(), u.password.clone()),
        None => ("", Secret::default()),
    };
    let choice = if approve && case.request.consent == ConsentDecision::Approve {
        form::ConsentChoice::Approve
    } else {
        form::ConsentChoice::Deny
    };
    let mut method = Method::GET;
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut entered = 0u32;
    let (mut logins, mut consents) = (0u32, 0u32);
    ev.step(format!("the user opens {}", http::redact_url(&url)));
    for _ in 0..p.limits.max_redirects * 2 {
        let mut req = p.http.request(method.clone(), url.clone());
        if let Some(cookies) = reqwest::cookie::CookieStore::cookies(&browser, &url) {
            req = req.header(reqwest::header::COOKIE, cookies);
        }
        if method == Method::POST {
            req = req.form(&fields);
        }
        let resp = http::send(&p.guard, req, &url, &p.limits).await.map_err(|e| e.to_string())?;
        reqwest::cookie::CookieStore::set_cookies(&browser, &mut resp.headers.get_all(reqwest::header::SET_COOKIE).iter(), &url);
        ev.step(format!("{} {} → {}", method, http::redact_url(&url), resp.status.as_u16()));
        if resp.status.is_redirection() {
            let loc = resp
                .header("location")
                .ok_or_else(|| format!("{} answered {} without a Location header", http::redact_url(&url), resp.status))?;
            url = url
                .join(loc)
                .map_err(|e| format!("redirect to an invalid Location `{}`: {e}", http::redact_str(loc)))?;
            method = Method::GET;
            fields.clear();
            continue;
        }
        let summary = crate::secret::scrub(&page_summary(&resp));
        if !resp.status.is_success() {
            return Ok(if entered > 0 && logins + consents == 0 {
                UserSide::CodeRefused(format!("HTTP {}: {summary}", resp.status.as_u16()))
            } else {
                UserSide::Stopped(resp.status.as_u16(), summary)
            });
        }
        let html = resp.text();
        if let Some(sub) = form::user_code_entry(&html, &resp.url, user_code) {
            if entered > 0 && logins + consents > 0 {
                // Back at the start once the user went through (a provider that
                // shows the code form again after a denial, saying so).
                return Ok(UserSide::Done {
                    summary: crate::secret::scrub(&summary),
                    logins,
                    consents,
                });
            }
            if entered > 0 {
                let said = form::page_errors(&html, &resp.url);
                let said = if said.is_empty() {
                    summary
                } else {
                    crate::secret::scrub(&said.join(" / "))
                };
                return Ok(UserSide::CodeRefused(said));
            }
            entered += 1;
            ev.step("the user enters the user code");
            (method, url, fields) = super::submission(sub);
            continue;
        }
        if entered == 0 {
            return Ok(UserSide::NoCodeForm(summary));
        }
        let page = form::analyse_for(&html, &resp.url, username, &password, &p.profile.login, "", &choice).map_err(|e| e.to_string())?;
        match page {
            Page::Login(sub) => {
                logins += 1;
                ev.logins = logins;
                if logins > 3 {
                    return Err(format!(
                        "{}: the credentials were not accepted (check the user's username and password in the profile)",
                        super::LOGIN_REFUSED
                    ));
                }
                if sub.contains_secret() {
                    p.check_transport(&sub.action, "password")?;
                }
                if sub.action.origin() != issuer_origin && !p.trusted_origin(&sub.action) {
                    return Err(format!(
                        "the login form posts to {}, which is not the issuer's origin: the password was not sent (list the origin under `http.trusted_origins` in the profile if it belongs to the provider)",
                        http::redact_url(&sub.action)
                    ));
                }
                (method, url, fields) = super::submission(sub);
            }
            Page::Consent(sub) => {
                consents += 1;
                ev.consents = consents;
                if sub.action.origin() != issuer_origin {
                    return Err(format!(
                        "the consent form posts to {}, not to the issuer's origin",
                        http::redact_url(&sub.action)
                    ));
                }
                (method, url, fields) = super::submission(sub);
            }
            Page::ConsentWithoutDeny => {
                ev.not_applicable = Some(
                    "the consent page has no control that denies (a deny, cancel or reject button or link): the harness cannot refuse consent on it"
                        .into(),
                );
                return Ok(UserSide::Stopped(200, summary));
            }
            Page::ConsentWithoutScopeChoice | Page::FormPost { .. } => return Ok(UserSide::Stopped(200, summary)),
            Page::Unknown { summary } => {
                return Ok(UserSide::Done {
                    summary: crate::secret::scrub(&summary),
                    logins,
                    consents,
                });
            }
        }
    }
    Err(format!(
        "the verification pages did not end after {} steps (limit on redirects and login steps)",
        p.limits.max_redirects * 2
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_interval_is_the_responses_or_five_seconds() {
        assert_eq!(initial_interval(None), 5);
        assert_eq!(initial_interval(Some(&json!(2))), 2);
        assert_eq!(initial_interval(Some(&json!(1.5))), 2);
        assert_eq!(initial_interval(Some(&json!(0))), 5);
        assert_eq!(initial_interval(Some(&json!(-3))), 5);
        assert_eq!(initial_interval(Some(&json!("7"))), 5);
    }

    #[test]
    fn slow_down_adds_five_seconds_for_good() {
        assert_eq!(next_interval(1, "slow_down"), 6);
        assert_eq!(next_interval(6, "slow_down"), 11);
        assert_eq!(next_interval(6, "authorization_pending"), 6);
        assert_eq!(next_interval(6, "access_denied"), 6);
        assert_eq!(next_interval(u64::MAX, "slow_down"), u64::MAX);
    }

    #[test]
    fn a_poll_waits_out_the_interval_since_the_last_request() {
        let s = Duration::from_secs;
        assert_eq!(wait_before_poll(5, s(0), s(0), 600), Some(s(5)));
        assert_eq!(wait_before_poll(5, s(2), s(2), 600), Some(s(3)));
        assert_eq!(wait_before_poll(5, s(9), s(9), 600), Some(s(0)));
        assert_eq!(
            wait_before_poll(5, Duration::from_millis(1500), s(10), 600),
            Some(Duration::from_millis(3500))
        );
    }

    #[test]
    fn no_poll_goes_after_the_lifetime() {
        let s = Duration::from_secs;
        assert_eq!(wait_before_poll(5, s(0), s(25), 30), None);
        assert_eq!(wait_before_poll(5, s(0), s(24), 30), Some(s(5)));
        assert_eq!(wait_before_poll(1, s(1), s(30), 30), None);
    }

    #[test]
    fn pending_answers_are_the_two_of_section_3_5() {
        let e = |c: &str| Answer::Error {
            status: 400,
            error: c.into(),
            description: None,
        };
        assert!(e("authorization_pending").pending());
        assert!(e("slow_down").pending());
        assert!(!e("access_denied").pending());
        assert!(!e("expired_token").pending());
        assert!(!Answer::Tokens.pending());
        assert_eq!(e("slow_down").describe(), "HTTP 400 error `slow_down`");
    }

    #[test]
    fn response_departures_are_named() {
        let ok = json!({"device_code": "d", "user_code": "WDJB-MJHT", "verification_uri": "https://op.test/device", "expires_in": 1800, "interval": 5});
        assert!(response_problems(ok.as_object().unwrap()).is_empty());
        let bad = json!({"device_code": "d", "user_code": "", "verification_uri": "/device", "interval": "5"});
        let problems = response_problems(bad.as_object().unwrap());
        assert_eq!(
            problems,
            [
                "`user_code` is not a non-empty string",
                "`expires_in` (REQUIRED) is missing",
                "`interval` is not a number of seconds",
                "`verification_uri` is not an absolute URI",
            ]
        );
    }

    #[test]
    fn a_user_code_in_the_verification_uri_is_found() {
        assert!(code_in_uri("https://op.test/device?user_code=WDJB-MJHT", "WDJB-MJHT"));
        assert!(code_in_uri("https://op.test/device/wdjbmjht", "WDJB-MJHT"));
        assert!(!code_in_uri("https://op.test/device", "WDJB-MJHT"));
    }
}
