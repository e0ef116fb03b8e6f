//! Checks: turn a flow's [`Evidence`] into [`CheckResult`]s. Built-in checks
//! (the [`catalogue`]) run on every token; the suite's assertions run on top.

pub mod backchannel;
pub mod catalogue;
pub mod claims;
pub mod client_auth;
pub mod device;
pub mod dpop;
pub mod entropy;
pub mod frontchannel;
pub mod jwt;
pub mod lifecycle;
pub mod logout;
pub mod metadata;
pub mod par;
mod session;
pub mod session_state;
pub mod spec;
mod tokens;

#[cfg(test)]
mod tests_tokens;

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::flow::{Evidence, Origin, Provider};
use crate::suite::{Case, TokenExpect};

/// The outcome of a check or a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    /// A SHOULD-level deviation.
    Warn,
    /// Not applicable: feature not offered, or not requested.
    Skip,
    /// The provider is not conformant.
    Fail,
    /// The harness could not complete (network, login automation, bad input).
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Skip => "skip",
            Status::Fail => "fail",
            Status::Error => "error",
        }
    }
}

/// One check's verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CheckResult {
    pub id: String,
    pub status: Status,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    /// Spec reference id, e.g. `OIDC-Core-3.1.3.7`.
    pub spec: String,
    /// The requirement level of the rule: a failure of a SHOULD or a MAY is a warning.
    #[serde(default)]
    pub level: catalogue::Requirement,
    /// Set when a baseline expects this failure: the baseline's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known: Option<String>,
}

impl CheckResult {
    fn new(id: &str, status: Status, message: impl Into<String>) -> Self {
        let def = catalogue::find(id);
        Self {
            id: id.to_owned(),
            status,
            message: message.into(),
            expected: None,
            found: None,
            spec: def.map(|c| c.spec).unwrap_or("").to_owned(),
            level: def.map(|c| c.level).unwrap_or_default(),
            known: None,
        }
    }

    /// The same check at another requirement level (and spec), where the case decides it.
    pub fn at_level(mut self, level: catalogue::Requirement, spec: &str) -> Self {
        self.level = level;
        self.spec = spec.to_owned();
        self
    }
    pub fn pass(id: &str, message: impl Into<String>) -> Self {
        Self::new(id, Status::Pass, message)
    }
    pub fn fail(id: &str, message: impl Into<String>) -> Self {
        Self::new(id, Status::Fail, message)
    }
    pub fn skip(id: &str, message: impl Into<String>) -> Self {
        Self::new(id, Status::Skip, message)
    }
    pub fn error(id: &str, message: impl Into<String>) -> Self {
        Self::new(id, Status::Error, message)
    }
    pub fn warn(id: &str, message: impl Into<String>) -> Self {
        Self::new(id, Status::Warn, message)
    }
    /// The same check turned into a skip saying why (a finding that is not
    /// the provider's); expected and found go with the verdict.
    pub fn to_skip(&mut self, message: String) {
        self.status = Status::Skip;
        self.message = message;
        self.expected = None;
        self.found = None;
    }
    /// Adds expected vs found.
    pub fn ef(mut self, expected: impl Into<String>, found: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self.found = Some(found.into());
        self
    }
}

/// The case's status from its checks: the worst one wins (error > fail > warn > pass).
/// A case whose own assertions (`assert.*`) all skipped is skipped, whatever the
/// built-in checks found to pass: it did not test what it says; so is a case whose
/// checks all skipped.
pub fn case_status(checks: &[CheckResult]) -> Status {
    if checks.iter().any(|c| c.status == Status::Error) {
        return Status::Error;
    }
    if checks.iter().any(|c| c.status == Status::Fail) {
        return Status::Fail;
    }
    // A case whose own assertions all skipped did not test what it says: skip,
    // even when a SHOULD-level warning came up on the way (it stays in its checks).
    let own: Vec<&CheckResult> = checks.iter().filter(|c| c.id.starts_with("assert.")).collect();
    if !own.is_empty() && own.iter().all(|c| c.status == Status::Skip) {
        return Status::Skip;
    }
    if checks.iter().any(|c| c.status == Status::Warn) {
        return Status::Warn;
    }
    if !checks.is_empty() && checks.iter().all(|c| c.status == Status::Skip) {
        return Status::Skip;
    }
    if !checks.iter().any(|c| c.status == Status::Pass) {
        // Nothing was checked: never a pass.
        return Status::Skip;
    }
    Status::Pass
}

/// For a case that turned out not to apply: keep only what was found wrong on
/// the way (failures, errors); its passes do not make it a pass.
pub fn keep_findings(checks: &mut Vec<CheckResult>) {
    // The flow stopped on purpose: the suite's assertions and the flow's own
    // steps after that point were never due.
    checks.retain(|c| matches!(c.status, Status::Fail | Status::Error) && !c.id.starts_with("assert.") && !c.id.starts_with("flow."));
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Why the provider cannot run this case, from what its discovery document
/// advertises (OIDC Discovery 1.0 §3) and what the profile's `supports` adds;
/// `Ok` carries notes on capabilities taken from the profile, not discovery.
pub fn unsupported(p: &Provider, case: &Case) -> Result<Vec<String>, String> {
    use crate::suite::Flow;
    let d = &p.discovery;
    let extra = &p.profile.supports;
    let mut notes = Vec::new();
    if case.request.misuses(crate::suite::Misuse::UnregisteredApi) && p.profile.audience_param.param_name().is_none() {
        return Err("the case asks for an unregistered API, and the profile selects none (`audience_param: none`)".into());
    }
    // OIDC Discovery §3: grant_types_supported defaults to authorization_code and implicit.
    let grants = d
        .grant_types_supported
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".into(), "implicit".into()]);
    let need_grant = match case.flow {
        Flow::ClientCredentials => Some("client_credentials"),
        Flow::Password => Some("password"),
        // The grant's advertisement is a check of its own (`device.advertised`):
        // the endpoint is what the case needs (`features: [device]`).
        Flow::Metadata | Flow::Device => None,
        // Refresh runs whenever a refresh token is issued (checked in the flow).
        Flow::Refresh => None,
        Flow::Implicit => Some("implicit"),
        Flow::Code | Flow::Hybrid => Some("authorization_code"),
    };
    if let Some(g) = need_grant
        && !grants.iter().any(|x| x == g)
    {
        if extra.grant_types.iter().any(|x| x == g) {
            notes.push(format!(
                "the `{g}` grant is not in discovery's grant_types_supported; the profile's `supports` declares it"
            ));
        } else {
            return Err(format!(
                "the provider does not advertise the `{g}` grant (grant_types_supported: {}; declare it under `supports.grant_types` in the profile if the provider offers it anyway)",
                grants.join(", ")
            ));
        }
    }
    if !matches!(case.flow, Flow::ClientCredentials | Flow::Metadata | Flow::Password | Flow::Device) {
        let rt = case.response_type().unwrap_or_else(|| "code".into());
        let offered = d.response_types_supported.iter().any(|t| crate::profile::same_words(t, &rt));
        // A negative case may send a response type on purpose; only the provider's offer matters.
        if !offered {
            if extra.response_types.iter().any(|t| crate::profile::same_words(t, &rt)) {
                notes.push(format!(
                    "response_type `{rt}` is not in discovery's response_types_supported; the profile's `supports` declares it"
                ));
            } else {
                return Err(format!(
                    "the provider does not advertise response_type `{rt}` (response_types_supported: {})",
                    d.response_types_supported.join(", ")
                ));
            }
        }
        if let Some(mode) = &case.request.response_mode {
            let modes = d
                .response_modes_supported
                .clone()
                .unwrap_or_else(|| vec!["query".into(), "fragment".into()]);
            if !modes.iter().any(|m| m == mode) {
                if extra.response_modes.iter().any(|m| m == mode) {
                    notes.push(format!(
                        "response_mode `{mode}` is not in discovery's response_modes_supported; the profile's `supports` declares it"
                    ));
                } else {
                    return Err(format!(
                        "the provider does not advertise response_mode `{mode}` (response_modes_supported: {})",
                        modes.join(", ")
                    ));
                }
            }
        }
    }
    for &f in &case.features {
        if d.offers(f) {
            continue;
        }
        if extra.features.contains(&f) {
            notes.push(format!(
                "discovery does not advertise {}; the profile's `supports.features` declares `{}`",
                f.discovery_member(),
                f.as_str()
            ));
        } else {
            return Err(format!(
                "the provider does not advertise {} in discovery (declare `supports.features: [{}]` in the profile if it offers it anyway)",
                f.discovery_member(),
                f.as_str()
            ));
        }
    }
    if let Some(scopes) = &d.scopes_supported {
        // offline_access is left out: refresh cases run whenever a refresh token is issued.
        const STANDARD: &[&str] = &["openid", "profile", "email", "address", "phone"];
        for s in case.request.scopes().into_iter().filter(|s| STANDARD.contains(s)) {
            if scopes.iter().any(|x| x == s) {
                continue;
            }
            if extra.scopes.iter().any(|x| x == s) {
                notes.push(format!(
                    "the `{s}` scope is not in discovery's scopes_supported; the profile's `supports` declares it"
                ));
            } else {
                return Err(format!(
                    "the provider does not advertise the `{s}` scope (scopes_supported: {}; declare it under `supports.scopes` in the profile if the provider offers it anyway)",
                    scopes.join(", ")
                ));
            }
        }
    }
    Ok(notes)
}

/// Applies the requirement levels and the profile's check levels: a failed
/// SHOULD or MAY is a warning (unless the profile sets the check to `fail`),
/// `warn` turns a failure into a warning, `off` drops the check.
pub fn apply_levels(profile: &crate::profile::Profile, checks: Vec<CheckResult>) -> Vec<CheckResult> {
    use crate::profile::Level;
    checks
        .into_iter()
        .filter_map(|mut c| match profile.checks.get(&c.id) {
            Some(Level::Off) => None,
            Some(Level::Warn) if c.status == Status::Fail => {
                c.status = Status::Warn;
                c.message
                    .push_str(" (a warning for this provider: its profile sets this check to `warn`)");
                Some(c)
            }
            Some(Level::Fail) => Some(c),
            // A rule that binds only the client: what the provider did is noted, never a finding.
            _ if matches!(c.status, Status::Fail | Status::Warn)
                && catalogue::find(&c.id).is_some_and(|d| d.binds == catalogue::Binds::Client) =>
            {
                c.status = Status::Skip;
                c.message.push_str(&format!(
                    " (noted, not a finding: {} binds the client, not the provider)",
                    spec::title(&c.spec)
                ));
                Some(c)
            }
            _ if c.status == Status::Fail && c.level != catalogue::Requirement::Must => {
                c.status = Status::Warn;
                c.message
                    .push_str(&format!(" (a warning: the rule is a {}, not a MUST)", c.level.as_str()));
                Some(c)
            }
            _ => Some(c),
        })
        .collect()
}

/// Judges a case's evidence.
pub async fn judge(p: &Provider, case: &Case, ev: &Evidence) -> Vec<CheckResult> {
    let mut out = Vec::new();
    if case.flow == crate::suite::Flow::Metadata {
        if let Some((discovery, jwks)) = &ev.metadata {
            out.extend(metadata::check(discovery, jwks));
        }
        if let Some(e) = &ev.harness_error {
            out.push(CheckResult::error("metadata.https", e.clone()));
        }
        return out;
    }
    if let Some((id, why)) = &ev.signin_failed {
        let found = if *id == "flow.id_token_issued" {
            "no ID token"
        } else {
            "a refusal"
        };
        out.push(CheckResult::fail(id, why.clone()).ef("a plain code flow that succeeds (with an ID token for `openid`)", found));
        if let Some(e) = &ev.harness_error {
            out.push(CheckResult::error(ev.stage.check_id(), e.clone()));
        }
        return out;
    }
    issuer_in_authorization_response(p, ev, &mut out);
    error_mode(ev, &mut out);
    login_pages(case, ev, &mut out);
    session::prompt_none(ev, &mut out);
    if let Some(d) = case.request.code_lifetime.filter(|d| *d > crate::suite::CODE_LIFETIME_LIMIT) {
        out.push(
            CheckResult::fail(
                "code.lifetime",
                format!(
                    "the profile declares codes that live {} s, longer than the 10 minutes RFC 6749 §4.1.2 recommends (not waited out)",
                    d.as_secs()
                ),
            )
            .ef("a code lifetime of 10 minutes or less", format!("{} s", d.as_secs())),
        );
        return out;
    }
    if let Some(expected) = &case.expect.error {
        // The rule a refusal answers to is the case's own (e.g. RFC 7636 §4.6 for a wrong verifier).
        let mut verdict = negative(case, ev, expected);
        match case.check.as_deref().and_then(catalogue::find) {
            // A probe reports under its own check, with that check's level and rule.
            Some(def) => {
                verdict.id = def.id.to_owned();
                verdict.level = def.level;
                verdict.spec = def.spec.to_owned();
            }
            None => {
                if let Some(spec) = case.spec.first() {
                    verdict.spec = spec.clone();
                }
            }
        }
        // A probe refused with another error code than its rule gives: the rule
        // itself is met (the request was refused); the code is a finding of its own.
        if let Some(def) = case.check.as_deref().and_then(catalogue::find)
            && verdict.status == Status::Fail
            && verdict.message.starts_with(UNEXPECTED_CODE)
            && let Some(e) = &ev.error
        {
            out.push(CheckResult::pass(
                def.id,
                format!("refused at the {} endpoint (with `{}`)", e.endpoint(), e.error),
            ));
            verdict = CheckResult::fail(
                "negative.error_code",
                format!(
                    "refused as {} requires, but with another error code at the {} endpoint",
                    spec::title(def.spec),
                    e.endpoint()
                ),
            )
            .ef(expected.join(" or "), e.error.clone());
        }
        // A refusal case that does not apply (e.g. no rotation to reuse) is a skip:
        // what else passed on the way does not make it a pass. So is one whose
        // rule binds the client only, where the provider went along (noted by
        // `apply_levels`, unless the profile holds the check to `fail`).
        let client_rule = verdict.status == Status::Fail
            && catalogue::find(&verdict.id).is_some_and(|d| d.binds == catalogue::Binds::Client)
            && p.profile.checks.get(&verdict.id) != Some(&crate::profile::Level::Fail);
        if verdict.status == Status::Skip || client_rule {
            keep_findings(&mut out);
        }
        out.push(verdict);
        // With a valid client and redirect URI, the error belongs at the redirect
        // URI, not on a page (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).
        if let Some(c) = error_on_page(case, ev) {
            out.push(c);
        }
        // RFC 6749 §5.2: a failed Basic client authentication is a 401 with a challenge.
        if case.request.misuses(crate::suite::Misuse::WrongClientSecret)
            && case.auth == crate::profile::ClientAuth::ClientSecretBasic
            && let Some(e) = ev.error.as_ref().filter(|e| e.stage == "token" && e.error == "invalid_client")
        {
            let status = e.status.unwrap_or(0);
            out.push(if status == 401 && e.www_authenticate.is_some() {
                CheckResult::pass(
                    "token_endpoint.client_auth_challenge",
                    "a failed Basic authentication is answered 401 with a challenge",
                )
            } else {
                CheckResult::fail(
                    "token_endpoint.client_auth_challenge",
                    "a failed HTTP Basic client authentication is not answered 401 with a WWW-Authenticate challenge",
                )
                .ef(
                    "HTTP 401 with WWW-Authenticate",
                    format!("HTTP {status}, {}", e.www_authenticate.as_deref().unwrap_or("no WWW-Authenticate")),
                )
            });
        }
        if let Some(status) = ev.first_token_after_reuse {
            out.push(reuse_revokes(status));
        }
        if let Some(works) = ev.active_refresh_after_reuse {
            out.push(if works {
                CheckResult::fail(
                    "refresh_token.reuse_revokes",
                    "after refusing a rotated-out refresh token, the provider still refreshes with the token that replaced it",
                )
                .ef("the active refresh token revoked", "a successful refresh")
            } else {
                CheckResult::pass(
                    "refresh_token.reuse_revokes",
                    "after the reuse, the refresh token that replaced the reused one is refused too",
                )
            });
        }
        if let Some(e) = &ev.harness_error {
            out.push(CheckResult::error(ev.stage.check_id(), e.clone()));
        }
        return out;
    }
    if let Some(refusal) = request_object_refused(p, case, ev) {
        out.push(refusal);
        par::mistake_only(ev, &mut out);
        return out;
    }
    // A case where the spec allows a refusal (`or_error`), refused on a page:
    // the user agent never reached the redirect URI with a code or tokens, so
    // the provider refused, which is allowed; that it showed the error to the
    // user instead of returning it to the client is a finding of its own.
    if let Some((status, page)) = &ev.refused_without_redirect
        && !case.expect.or_error.is_empty()
        && *status < 500
        && ev.error.is_none()
    {
        out.push(CheckResult::pass(
            "flow.authorization",
            format!(
                "refused on a page (HTTP {status}: {}), which the spec allows here: the user agent never reached the redirect URI with a code or tokens",
                page.chars().take(200).collect::<String>()
            ),
        ));
        out.push(page_refusal(*status, page));
        return out;
    }
    if let Some(e) = &ev.error
        && case.expect.or_error.contains(&e.error)
    {
        let id = if e.stage == "authorization" {
            "flow.authorization"
        } else {
            "flow.token"
        };
        out.push(CheckResult::pass(
            id,
            format!(
                "refused with `{}` at the {} endpoint, which the spec allows here",
                e.error,
                e.endpoint()
            ),
        ));
        return out;
    }
    if let Some((ok, sent)) = ev.parallel_redemptions {
        let rounds = ev.parallel_rounds.iter().filter(|r| **r == 1).count().max(1);
        out.push(single_use(ok, sent, rounds));
    }
    // RFC 9700 §4.14.2: a public client's refresh tokens rotate.
    if case.flow == crate::suite::Flow::Refresh
        && let Some(rotated) = ev.refresh_rotated
        && p.profile.clients.get(&case.client).is_some_and(|c| c.is_public())
    {
        out.push(if rotated {
            CheckResult::pass("refresh_token.public_rotation", "the public client's refresh token was rotated")
        } else {
            CheckResult::fail(
                "refresh_token.public_rotation",
                "the public client's refresh token was not rotated, and it carries no sender constraint this harness used",
            )
            .ef("a new refresh token on every refresh", "the same refresh token again")
        });
    }
    // Judged in the case that names it: one verdict per provider.
    if case.check.as_deref() == Some("tokens.entropy") {
        out.extend(entropy::check(ev));
    }
    let access_is_jwt = ev
        .token_sets
        .iter()
        .rev()
        .find_map(|s| s.access_token.as_ref())
        .is_some_and(|t| jwt::looks_like_jwt(t.expose()));
    lifecycle::check(ev, access_is_jwt, &mut out);
    par::check(ev, &mut out);
    logout::check(ev, &mut out);
    backchannel::check(p, case, ev, &mut out).await;
    frontchannel::check(p, ev, &mut out);
    // Judged in the case that names it: one verdict per provider.
    if case.check.as_deref() == Some("session_state.present") {
        session_state::check(ev, &mut out);
    }
    dpop::check(ev, &mut out);
    device::check(ev, &mut out);
    client_auth::check(case, ev, &mut out);
    let hint_fault = hint_fault(p, case, ev).await;
    flow_checks(case, ev, &mut out);
    third_party_consent(p, case, ev, &mut out);
    partial_consent(case, ev, &mut out);
    request_object_processed(case, ev, &mut out);
    session::check(case, ev, &mut out);
    tokens::check_all(p, case, ev, &mut out).await;
    if case.request.userinfo == crate::suite::UserinfoMethod::Query {
        token_in_query(ev, &mut out);
    }
    if case.request.userinfo == crate::suite::UserinfoMethod::PostBody {
        // RFC 6750 §2.2: a resource server MAY support the form-encoded body
        // parameter. A provider that refuses it does not offer it: not a finding.
        let refused = ev.userinfo.as_ref().filter(|u| (400..500).contains(&u.status)).map(|u| u.status);
        for c in out.iter_mut().filter(|c| c.id == "userinfo.status" || c.id == "assert.userinfo") {
            *c = c.clone().at_level(catalogue::Requirement::May, "RFC6750-2.2");
            if let (Some(status), Status::Fail) = (refused, c.status) {
                c.status = Status::Skip;
                c.message = format!(
                    "not offered: userinfo refused the access token in a form body (HTTP {status}); RFC 6750 §2.2: \"Resource servers MAY support this method.\""
                );
                c.expected = None;
                c.found = None;
            }
        }
    }
    // A provider that refuses its own faulty ID token as `id_token_hint` did
    // not refuse a valid request: the fault is the ID token's, judged where
    // the ID token is.
    if let Some(fault) = &hint_fault {
        for c in out
            .iter_mut()
            .filter(|c| matches!(c.status, Status::Fail | Status::Warn) && (c.id == "flow.authorization" || c.id.starts_with("assert.")))
        {
            let message = format!(
                "not a finding: the provider refused the session's own ID token as `id_token_hint`, and that ID token is faulty ({fault}); the fault is reported by the ID token checks, and a provider may refuse such a hint (was: {})",
                c.message
            );
            c.to_skip(message);
        }
    }
    // The same for a logout whose `id_token_hint` was the case's own faulty
    // ID token (an expired hint is no fault here: §2 says the OP SHOULD take it).
    if ev.logout.is_some()
        && let Some(raw) = ev.token_sets.iter().rev().find_map(|s| s.id_token.clone())
        && let Some(client) = p.profile.clients.get(&case.client)
        && let Some(fault) = faulty_id_token(p, raw.expose(), client, false).await
    {
        for c in out
            .iter_mut()
            .filter(|c| matches!(c.status, Status::Fail | Status::Warn | Status::Error) && c.id.starts_with("logout."))
        {
            let message = format!(
                "not a finding: the logout's id_token_hint was the case's own ID token, and it is faulty ({fault}); the fault is reported by the ID token checks, and a provider may refuse such a hint (was: {})",
                c.message
            );
            c.to_skip(message);
        }
    }
    if let Some(e) = &ev.harness_error {
        out.push(CheckResult::error(ev.stage.check_id(), e.clone()));
    }
    out
}

/// When the authorization request of `case` sent the session's ID token as
/// `id_token_hint` and was refused: what is wrong with that ID token, if
/// anything (not a JWT, another `iss`, an `aud` without the client, expired,
/// a signature that does not verify).
async fn hint_fault(p: &Provider, case: &Case, ev: &Evidence) -> Option<String> {
    let refused = ev.error.as_ref().is_some_and(|e| e.stage == "authorization") || ev.refused_without_redirect.is_some();
    if !refused
        || !case
            .request
            .params
            .get("id_token_hint")
            .is_some_and(|v| v.contains("${session.id_token}"))
    {
        return None;
    }
    let signin = ev.signin.as_ref()?;
    let raw = signin.id_token.as_ref()?;
    let client = p.profile.clients.get(&signin.client)?;
    faulty_id_token(p, raw.expose(), client, true).await
}

/// What is wrong with `raw`, one of the provider's ID tokens for `client`, as a
/// hint (not a JWT, another `iss`, an `aud` without the client, a signature
/// that does not verify; expired, where `expiry` matters): `None` if nothing.
async fn faulty_id_token(p: &Provider, raw: &str, client: &crate::profile::Client, expiry: bool) -> Option<String> {
    let d = match jwt::decode(raw) {
        Ok(d) => d,
        Err(e) => return Some(format!("it is not a valid JWT: {e}")),
    };
    if d.str_claim("iss") != Some(p.discovery.issuer.as_str()) {
        return Some(format!(
            "its `iss` is {}, not the issuer",
            d.claims.get("iss").map(short).unwrap_or_else(|| "absent".into())
        ));
    }
    if !d.audiences().iter().any(|a| a == &client.id) {
        return Some("its `aud` does not contain the client id".into());
    }
    let skew = p.profile.clock_skew.as_secs() as i64;
    if expiry && d.claims.get("exp").and_then(Value::as_i64).is_none_or(|exp| exp + skew < now()) {
        return Some("it has expired or has no `exp`".into());
    }
    match jwt::verify(raw, &d, &*p.jwks().await, client.secret.as_ref().map(|s| s.expose())) {
        jwt::Verified::Ok => None,
        jwt::Verified::Bad(why) => Some(format!("its signature does not verify: {why}")),
    }
}

fn flow_checks(case: &Case, ev: &Evidence, out: &mut Vec<CheckResult>) {
    if let Some(e) = ev.error.as_ref().filter(|e| e.stage == "registration") {
        let desc = e.description.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
        out.push(
            CheckResult::fail(
                "registration.register",
                format!("the provider refused a valid registration with `{}`{desc}", e.error),
            )
            .ef("HTTP 201 with the registered client", format!("error `{}`", e.error)),
        );
        return;
    }
    if let Some(reg) = &ev.registration {
        out.push(if reg.problems.is_empty() {
            CheckResult::pass(
                "registration.register",
                format!("registered as client `{}` (HTTP 201)", reg.client_id),
            )
        } else {
            CheckResult::fail(
                "registration.register",
                format!("the registration answer departs from RFC 7591 §3.2.1: {}", reg.problems.join("; ")),
            )
            .ef(
                "HTTP 201 Created with client_id, the secret its method needs, and the metadata registered",
                reg.problems.join("; "),
            )
        });
    }
    if let Some((status, page)) = &ev.refused_without_redirect {
        out.push(CheckResult::fail(
            "flow.authorization",
            format!("the authorization endpoint answered HTTP {status} instead of redirecting back: {page}"),
        ));
        return;
    }
    if let Some(e) = &ev.error {
        let id = if e.stage == "authorization" {
            "flow.authorization"
        } else {
            "flow.token"
        };
        let desc = e.description.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
        out.push(
            CheckResult::fail(id, format!("the provider refused a valid request with `{}`{desc}", e.error))
                .ef("a successful response", format!("error `{}`", e.error)),
        );
    }
    // A successful token response is a pass of its own (it may be all an opaque-token provider shows).
    if let Some(set) = ev.token_sets.iter().find(|s| s.origin != crate::flow::Origin::Authorization) {
        let kinds: Vec<&str> = [
            ("access_token", set.access_token.is_some()),
            ("id_token", set.id_token.is_some()),
            ("refresh_token", set.refresh_token.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, present)| present.then_some(k))
        .collect();
        out.push(CheckResult::pass(
            "flow.token",
            format!("the token endpoint issued {}", kinds.join(", ")),
        ));
    }
    // RFC 6749 §4.4.3: no refresh token for client credentials (SHOULD NOT be included).
    if let Some(set) = ev.token_sets.iter().find(|s| s.origin == crate::flow::Origin::ClientCredentials) {
        out.push(if set.refresh_token.is_some() {
            CheckResult::fail(
                "token_response.client_credentials_refresh",
                "the client-credentials token response carries a refresh token",
            )
            .ef("no refresh_token", "a refresh_token")
        } else {
            CheckResult::pass(
                "token_response.client_credentials_refresh",
                "no refresh token for client credentials",
            )
        });
    }
    if let Some(lost) = &ev.redirect_query_kept
        && !ev.redirected_to_unregistered
    {
        out.push(if lost.is_empty() {
            CheckResult::pass(
                "redirect_uri.query_retained",
                "the registered redirect URI's query was kept in the response",
            )
        } else {
            CheckResult::fail(
                "redirect_uri.query_retained",
                "the response dropped the query of the registered redirect URI",
            )
            .ef(
                "the registered query kept, the response's parameters added",
                lost.join("&") + " missing",
            )
        });
    }
    if let Some(resp) = &ev.authorization_response {
        // RFC 6749 §4.1.2: state REQUIRED in the response if it was in the request.
        let sent = ev.state.as_deref();
        let got = resp.get("state").map(String::as_str);
        let decoy = ev.request_object_decoys.as_ref().is_some_and(|d| got == Some(d.state.as_str()));
        if sent == got {
            out.push(CheckResult::pass("flow.state", "`state` returned unchanged"));
        } else if decoy {
            // The request's own state came back: the request object was not used (judged there).
            out.push(CheckResult::skip(
                "flow.state",
                "the state outside the request object came back: judged by `request_object.processed`",
            ));
        } else {
            out.push(
                CheckResult::fail("flow.state", "`state` not returned unchanged").ef(sent.unwrap_or("(none)"), got.unwrap_or("(missing)")),
            );
        }
        if ev.error.is_none() {
            out.push(CheckResult::pass(
                "flow.authorization",
                format!("redirected back with {}", resp.keys().cloned().collect::<Vec<_>>().join(", ")),
            ));
        }
        if ev.error.is_none()
            && let Some(verdict) = response_encoding(ev)
        {
            out.push(verdict);
        }
        if let Some(asked) = &case.request.response_mode {
            let got = ev.response_mode.as_deref().unwrap_or("");
            if got == asked {
                out.push(CheckResult::pass("flow.response_mode", format!("response delivered by {asked}")));
            } else {
                out.push(
                    CheckResult::fail("flow.response_mode", "the response came in another response mode").ef(asked.clone(), got.to_owned()),
                );
            }
        }
    }
}

/// OAuth 2.0 Multiple Response Type Encoding Practices §3 and §5 (RFC 6749
/// §4.2.2 for `token`): a response type that returns an access token or an ID
/// token defaults to the fragment, and the query encoding MUST NOT be used.
/// Judged where no `response_mode` was sent or `fragment` was asked for, on the
/// code and tokens of a redirect.
pub(crate) fn response_encoding(ev: &Evidence) -> Option<CheckResult> {
    let rt = ev.request.get("response_type")?;
    if !rt.split_whitespace().any(|t| matches!(t, "token" | "id_token")) {
        return None;
    }
    let asked = ev.request.get("response_mode").map(String::as_str);
    if !matches!(asked, None | Some("fragment")) || ev.response_mode.as_deref() == Some("form_post") {
        return None;
    }
    let how = match asked {
        None => "with no response_mode sent (the default is the fragment)",
        Some(_) => "with response_mode=fragment",
    };
    let leaked: Vec<&str> = ["code", "access_token", "id_token"]
        .into_iter()
        .filter(|k| ev.query_params.iter().any(|q| q == k))
        .collect();
    Some(if leaked.is_empty() {
        CheckResult::pass(
            "authorization_response.encoding",
            format!("the response to response_type `{rt}` came in the fragment {how}, nothing of it in the query"),
        )
    } else {
        CheckResult::fail(
            "authorization_response.encoding",
            format!(
                "the response to response_type `{rt}` {how} put {} in the query of the redirect, which MUST NOT be used for response types with tokens (OAuth 2.0 Multiple Response Type Encoding Practices §5)",
                leaked.join(", ")
            ),
        )
        .ef("code and tokens in the fragment", format!("{} in the query", leaked.join(", ")))
    })
}

/// The brief: a third-party client never skips consent (an interactive
/// authorization that succeeded without a consent page is a failure).
fn third_party_consent(p: &Provider, case: &Case, ev: &Evidence, out: &mut Vec<CheckResult>) {
    let Some(client) = p.profile.clients.get(&case.client).filter(|c| c.third_party) else {
        return;
    };
    let silent = session::prompt_has(ev, "none");
    if silent || ev.authorization_response.is_none() || ev.error.is_some() {
        return;
    }
    out.push(if ev.consents > 0 {
        CheckResult::pass(
            "consent.third_party",
            "the third-party client's authorization showed a consent page",
        )
    } else {
        CheckResult::fail(
            "consent.third_party",
            format!(
                "client `{}` is third-party, and its authorization completed without a consent page",
                client.id
            ),
        )
        .ef("a consent page", "none")
    });
}

/// The errors that say "request objects of this kind are not supported here"
/// (OIDC Core §3.1.2.6).
const NOT_SUPPORTED: &[&str] = &["request_not_supported", "request_uri_not_supported", "invalid_request_object"];

/// A request object refused at the authorization endpoint. Allowed only for an
/// unsigned one, refused as such, where discovery does not list `none` for
/// request objects (the OpenID Foundation's "supported correctly or rejected
/// as unsupported"). A refusal as unsupported otherwise, an error page, or an
/// error answered with the request's decoy `state` (the query read instead of
/// the object) fails `request_object.processed`; other errors are left to the
/// flow's checks.
fn request_object_refused(p: &Provider, case: &Case, ev: &Evidence) -> Option<CheckResult> {
    let ro = case.request.request_object.as_ref().filter(|ro| !ro.bad_signature)?;
    let decoys = ev.request_object_decoys.as_ref()?;
    let (code, refusal) = match (&ev.error, &ev.refused_without_redirect) {
        (Some(e), _) if e.stage == "authorization" => (Some(e.error.as_str()), format!("`{}`", e.error)),
        (None, Some((status, page))) => (None, format!("an error page (HTTP {status}: {page})")),
        _ => return None,
    };
    let state = ev.authorization_response.as_ref().and_then(|r| r.get("state"));
    let decoy_state = state.is_some_and(|s| *s == decoys.state);
    // An error without any `state` was not built from the object either: the
    // object's state is echoed in errors too (RFC 6749 §4.1.2.1).
    let no_state = code.is_some() && state.is_none();
    let not_supported = code.is_some_and(|c| NOT_SUPPORTED.contains(&c));
    if code.is_some() && !not_supported && !decoy_state && !no_state {
        return None;
    }
    let unsigned = ro.alg == crate::suite::RequestObjectAlg::None;
    let d = &p.discovery;
    let lists_none = d
        .request_object_signing_alg_values_supported
        .as_ref()
        .is_some_and(|algs| algs.iter().any(|a| a == "none"));
    if unsigned && !lists_none && not_supported {
        return Some(CheckResult::pass(
            "request_object.processed",
            format!(
                "the unsigned request object was refused as unsupported ({refusal}), which discovery allows: it does not list `none` in request_object_signing_alg_values_supported"
            ),
        ));
    }
    let by_reference = ro.by == crate::suite::RequestObjectBy::Reference;
    let offered = if by_reference && d.request_uri_parameter_supported.is_none() {
        "discovery omits request_uri_parameter_supported, which means true (OIDC Discovery §3: a provider without request_uri support says false)"
    } else if by_reference {
        "discovery says request_uri_parameter_supported: true"
    } else {
        "discovery says request_parameter_supported: true"
    };
    let detail = if unsigned && lists_none {
        " and lists `none` for request objects"
    } else if unsigned {
        " (refusing an unsigned object as unsupported would be allowed, with request_not_supported or invalid_request_object)"
    } else {
        " and the client registered its key"
    };
    let what = if decoy_state {
        "the error came with the request's own `state`, not the request object's: the provider read the query and ignored the object"
    } else if no_state && !not_supported {
        "the error came without the request object's `state`: the provider did not read the object"
    } else {
        "the request object was refused or not read (outside it, the request had only client_id, response_type, scope and decoy state and nonce)"
    };
    Some(
        CheckResult::fail("request_object.processed", format!("{what}, though {offered}{detail}"))
            .ef("the authorization answered from the request object's parameters", refusal),
    )
}

/// OIDC Core §6.3.3 (RFC 9101 §6.3): the request object's parameters win over
/// the query's. The request carried decoy `state` and `nonce` values outside
/// the object: an answer with either was built from the query.
fn request_object_processed(case: &Case, ev: &Evidence, out: &mut Vec<CheckResult>) {
    if case.expect.error.is_some() {
        return;
    }
    let (Some(decoys), Some(response)) = (&ev.request_object_decoys, &ev.authorization_response) else {
        return;
    };
    if response.contains_key("error") {
        return;
    }
    let mut problems = Vec::new();
    if response.get("state") == Some(&decoys.state) {
        problems.push("the response's `state` is the one outside the object".to_owned());
    }
    if let Some(decoy) = &decoys.nonce {
        for set in ev.token_sets.iter().filter(|s| s.id_token.is_some()) {
            let got = set
                .id_token
                .as_ref()
                .and_then(|t| jwt::decode(t.expose()).ok())
                .and_then(|d| d.claims.get("nonce").and_then(Value::as_str).map(str::to_owned));
            if got.as_deref() == Some(decoy.as_str()) {
                problems.push(format!(
                    "the ID token {} carries the `nonce` outside the object",
                    set.origin.describe()
                ));
            }
        }
    }
    out.push(if problems.is_empty() {
        CheckResult::pass(
            "request_object.processed",
            "answered at the redirect URI given only in the request object, without the decoy state or nonce sent outside it: the object's parameters were used",
        )
    } else {
        CheckResult::fail(
            "request_object.processed",
            "the provider used the query's parameters where the request object has its own (OIDC Core §6.3.3: the object's win)",
        )
        .ef("the request object's state and nonce", problems.join("; "))
    });
}

/// RFC 6749 §3.3 and the brief: approving some of the requested scopes grants
/// only those. Judged on the `scope` of every response that carries an access
/// token and names one (an absent `scope` for a narrowed grant is
/// `token_response.scope`'s finding), and on the claims of the ID tokens and
/// userinfo.
fn partial_consent(case: &Case, ev: &Evidence, out: &mut Vec<CheckResult>) {
    let crate::suite::ConsentDecision::ApproveOnly(approved) = &case.request.consent else {
        return;
    };
    if ev.consents == 0 || ev.not_applicable.is_some() || ev.error.is_some() || ev.authorization_response.is_none() {
        return;
    }
    let left_out: Vec<&str> = case
        .request
        .scope
        .split_whitespace()
        .filter(|s| !approved.iter().any(|a| a == s))
        .collect();
    let mut found = Vec::new();
    let mut judged = 0;
    // An absent `scope` for a narrowed grant is `token_response.scope`'s finding.
    for set in ev
        .token_sets
        .iter()
        .filter(|s| s.access_token.is_some() && s.origin != Origin::Refresh)
    {
        let Some(scope) = &set.scope else { continue };
        judged += 1;
        let granted: Vec<&str> = scope.split_whitespace().collect();
        let over: Vec<&str> = left_out.iter().copied().filter(|l| granted.contains(l)).collect();
        if !over.is_empty() {
            found.push(format!("scope `{scope}` {} includes {}", set.origin.describe(), over.join(", ")));
        }
    }
    let leaked = |what: &str, claims: &serde_json::Map<String, Value>, found: &mut Vec<String>| {
        for (scope, names) in claims::SCOPE_CLAIMS.iter().filter(|(s, _)| left_out.contains(s)) {
            let present: Vec<&str> = names.iter().copied().filter(|n| claims.contains_key(*n)).collect();
            if !present.is_empty() {
                found.push(format!("{what} holds {} of the scope `{scope}` left out", present.join(", ")));
            }
        }
    };
    for set in &ev.token_sets {
        if let Some(d) = set.id_token.as_ref().and_then(|t| jwt::decode(t.expose()).ok()) {
            judged += 1;
            leaked(&format!("the ID token {}", set.origin.describe()), &d.claims, &mut found);
        }
    }
    if let Some(claims) = ev.userinfo.as_ref().and_then(|u| u.claims.as_ref()) {
        judged += 1;
        leaked("userinfo", claims, &mut found);
    }
    if judged == 0 {
        return;
    }
    out.push(if found.is_empty() {
        CheckResult::pass(
            "consent.partial",
            format!(
                "approved {} of the requested `{}`: the grant and the claims hold nothing of {}",
                approved.join(" "),
                case.request.scope,
                left_out.join(", ")
            ),
        )
    } else {
        CheckResult::fail(
            "consent.partial",
            format!(
                "the user unticked {} on the consent page, and the grant still holds them",
                left_out.join(", ")
            ),
        )
        .ef(format!("only {}", approved.join(" ")), found.join("; "))
    });
}

/// RFC 6749 §4.2.2.1, OIDC Core §3.2.2.6 and §3.3.2.6: an authorization error
/// redirect comes in the response mode the request implies (or asked for).
fn error_mode(ev: &Evidence, out: &mut Vec<CheckResult>) {
    let Some(e) = ev.error.as_ref().filter(|e| e.stage == "authorization") else {
        return;
    };
    if ev.authorization_response.is_none() {
        return;
    }
    // Judged only where the request says where the answer goes.
    let Some(rt) = ev.request.get("response_type") else { return };
    let expected = match ev.request.get("response_mode") {
        Some(m) if matches!(m.as_str(), "query" | "fragment" | "form_post") => m.as_str(),
        Some(_) => return,
        None if rt.split_whitespace().all(|t| t == "code") => "query",
        None if rt.split_whitespace().all(|t| matches!(t, "code" | "id_token" | "token")) => "fragment",
        None => return,
    };
    let got = ev.response_mode.as_deref().unwrap_or("");
    out.push(if got == expected {
        CheckResult::pass(
            "authorization_response.error_mode",
            format!("the error `{}` came in the {expected} for response_type `{rt}`", e.error),
        )
    } else {
        CheckResult::fail(
            "authorization_response.error_mode",
            format!(
                "the error `{}` for response_type `{rt}` came in the {got}, not the {expected}",
                e.error
            ),
        )
        .ef(format!("the error in the {expected}"), format!("the error in the {got}"))
    });
}

/// RFC 9700 §4.16 (clickjacking) and §4.12 (no 307 after a credential POST),
/// judged on the login and consent pages the flow went through, in the case
/// that names the check (one verdict per provider, not one per case).
fn login_pages(case: &Case, ev: &Evidence, out: &mut Vec<CheckResult>) {
    let named = |id: &str| case.check.as_deref() == Some(id);
    if named("pages.framing") && !ev.page_framing.is_empty() {
        let open: Vec<&str> = ev.page_framing.iter().filter(|(_, d)| d.is_none()).map(|(k, _)| *k).collect();
        out.push(if open.is_empty() {
            let how: Vec<&str> = ev.page_framing.iter().filter_map(|(_, d)| d.as_deref()).collect();
            CheckResult::pass("pages.framing", format!("the login and consent pages refuse framing ({})", how[0]))
        } else {
            let mut open = open;
            open.dedup();
            CheckResult::fail(
                "pages.framing",
                format!("the {} page can be framed by any site (clickjacking)", open.join(" and ")),
            )
            .ef("X-Frame-Options: DENY or SAMEORIGIN, or CSP frame-ancestors", "neither header")
        });
    }
    for status in ev.login_post_status.iter().filter(|_| named("pages.login_post_redirect")) {
        out.push(if matches!(status, 307 | 308) {
            CheckResult::fail(
                "pages.login_post_redirect",
                format!("the login POST was answered {status}: a browser would post the password on to the next location"),
            )
            .ef("303 (or 302, 200)", format!("HTTP {status}"))
        } else {
            CheckResult::pass(
                "pages.login_post_redirect",
                format!("the login POST was answered {status}, not 307"),
            )
        });
    }
}

/// RFC 6750 §2.3, RFC 9700 §4.3.2: userinfo with the access token in the URL
/// query. The usual userinfo checks do not apply to this request.
fn token_in_query(ev: &Evidence, out: &mut Vec<CheckResult>) {
    out.retain(|c| !matches!(c.id.as_str(), "userinfo.status" | "userinfo.sub" | "assert.userinfo"));
    let Some(u) = &ev.userinfo else { return };
    out.push(match u.status {
        200..=299 => CheckResult::fail(
            "userinfo.token_in_query",
            "userinfo answered an access token sent in the URL query with claims",
        )
        .ef("a refusal (401 or 400)", format!("HTTP {} with claims", u.status)),
        400..=499 => CheckResult::pass(
            "userinfo.token_in_query",
            format!("userinfo refused an access token in the URL query (HTTP {})", u.status),
        ),
        s => CheckResult::fail(
            "userinfo.token_in_query",
            format!("userinfo answered an access token in the URL query with HTTP {s}, not a refusal"),
        )
        .ef("a refusal (401 or 400)", format!("HTTP {s}")),
    });
}

/// RFC 6749 §4.1.2: of `sent` redemptions of one code at once, at most one
/// succeeds; `ok` is the worst round's successes, `rounds` the rounds in which
/// exactly one did (each with a new code).
fn single_use(ok: usize, sent: usize, rounds: usize) -> CheckResult {
    match ok {
        // The refusal itself is judged by `flow.token`.
        0 => CheckResult::skip(
            "code.single_use",
            format!("none of the {sent} redemptions sent at once succeeded, so the race could not be judged"),
        ),
        1 => {
            // A race letting each further redemption through with probability p
            // shows in none of these rounds with probability (1 − p)^(rounds·(sent−1)).
            let miss = (1.0 - crate::flow::RACE_P).powi((rounds * sent.saturating_sub(1)) as i32);
            CheckResult::pass(
                "code.single_use",
                format!(
                    "in each of {rounds} round(s) of {sent} redemptions of one code sent at once, exactly one succeeded: a race letting each further redemption through with probability {} or more would have gone unseen with probability at most {miss:.1e}",
                    crate::flow::RACE_P
                ),
            )
        }
        n => CheckResult::fail(
            "code.single_use",
            format!(
                "{n} of {sent} redemptions of one code sent at once succeeded: the code is not single-use under a race (RFC 6749 §4.1.2: the client MUST NOT use it more than once, and the server MUST deny a second use)"
            ),
        )
        .ef("at most one success", format!("{n} successes")),
    }
}

/// RFC 6749 §4.1.2: after a refused second redemption, the first one's tokens
/// SHOULD be revoked; `status` is userinfo's answer to its access token.
fn reuse_revokes(status: u16) -> CheckResult {
    match status {
        401 | 403 => CheckResult::pass(
            "code.reuse_revokes",
            format!("after the second redemption, userinfo refuses the first redemption's access token (HTTP {status})"),
        ),
        200..=299 => CheckResult::fail(
            "code.reuse_revokes",
            "after refusing a second redemption of the code, the provider still honours the access token of the first",
        )
        .ef(
            "the first redemption's tokens revoked (userinfo 401)",
            format!("userinfo HTTP {status}"),
        ),
        _ => CheckResult::skip(
            "code.reuse_revokes",
            format!("userinfo answered HTTP {status} to the first redemption's access token, which says nothing about revocation"),
        ),
    }
}

/// RFC 9207 §2: where discovery advertises it, `iss` in every authorization
/// response, success or error, exactly equal to the issuer.
fn issuer_in_authorization_response(p: &Provider, ev: &Evidence, out: &mut Vec<CheckResult>) {
    let Some(resp) = &ev.authorization_response else { return };
    if p.discovery.authorization_response_iss_parameter_supported != Some(true) {
        return;
    }
    let issuer = &p.discovery.issuer;
    match resp.get("iss") {
        Some(iss) if iss == issuer => out.push(CheckResult::pass(
            "authorization_response.iss",
            "the authorization response names the issuer in `iss`",
        )),
        Some(iss) => out.push(
            CheckResult::fail("authorization_response.iss", "the authorization response's `iss` is not the issuer")
                .ef(issuer.clone(), iss.clone()),
        ),
        // With an ID token in the response its `iss` (checked by `id_token.iss`) names
        // the issuer; some providers leave the parameter out then. Not judged.
        None if resp.contains_key("id_token") => out.push(CheckResult::skip(
            "authorization_response.iss",
            "the authorization response carries an ID token, whose `iss` identifies the issuer; the `iss` parameter is not judged here",
        )),
        None => out.push(
            CheckResult::fail(
                "authorization_response.iss",
                "the authorization response has no `iss`, although discovery advertises authorization_response_iss_parameter_supported",
            )
            .ef(format!("iss = {issuer}"), "absent"),
        ),
    }
}

/// An error page instead of a redirect (RFC 6749 §4.1.2.1: the provider must
/// not redirect, and SHOULD inform the user of the error). A client error
/// status, or a 200 page that reads as an error, is a refusal; a server error
/// is not one; any other page cannot be judged.
fn refusal_page(status: u16, page: &str) -> CheckResult {
    const ERROR_WORDS: &[&str] = &[
        "error",
        "invalid",
        "not registered",
        "mismatch",
        "unauthorized",
        "denied",
        "not allowed",
        "bad request",
        "redirect",
        "unknown",
        "not valid",
        "forbidden",
        "failed",
    ];
    let lower = page.to_lowercase();
    match status {
        500..=599 => CheckResult::fail(
            "negative.refused",
            format!("the provider answered with a server error, not a refusal: {page}"),
        )
        .ef(
            "an error page (4xx, or one that states the error) and no redirect",
            format!("HTTP {status}"),
        ),
        400..=499 => CheckResult::pass("negative.refused", format!("refused with HTTP {status} and no redirect: {page}")),
        _ if ERROR_WORDS.iter().any(|w| lower.contains(w)) => CheckResult::pass(
            "negative.refused",
            format!("refused with an error page (HTTP {status}) and no redirect: {page}"),
        ),
        // Judged by what the protocol did: the user agent never reached the
        // redirect URI with a code or tokens. The page is the evidence.
        _ => CheckResult::pass(
            "negative.refused",
            format!(
                "refused: the user agent never reached the redirect URI; the provider showed a page (HTTP {status}) with nothing to act on: {page}"
            ),
        ),
    }
}

/// A refusal shown on a page although the client and redirect URI were valid:
/// RFC 6749 §4.1.2.1 has the server inform the client at the redirect URI
/// when the request fails for other reasons than the redirect URI or client
/// id, and OIDC Core §3.1.2.6 the same; neither uses a requirement keyword,
/// and the OpenID Foundation's tests accept an error page, so it is a
/// warning. `None` when the case did not end on a page, or tampered with the
/// client or redirect URI (a page is then the required answer).
fn error_on_page(case: &Case, ev: &Evidence) -> Option<CheckResult> {
    let (status, page) = ev.refused_without_redirect.as_ref()?;
    // A server error is judged as such by `negative.refused`.
    if *status >= 500 {
        return None;
    }
    let touched = |k: &str| case.request.params.contains_key(k) || case.request.drop.iter().any(|d| d == k);
    if touched("redirect_uri") || touched("client_id") || !ev.misuse_attempted {
        return None;
    }
    Some(page_refusal(*status, page))
}

/// `authorization.error_to_client` for a refusal shown on a page although the
/// client and redirect URI were valid.
fn page_refusal(status: u16, page: &str) -> CheckResult {
    CheckResult::fail(
        "authorization.error_to_client",
        format!(
            "the client and its redirect URI were valid, but the error was shown to the user (HTTP {status}: {}) instead of being returned to the client at the redirect URI",
            page.chars().take(200).collect::<String>()
        ),
    )
    .ef("`error` (and `state`) at the redirect URI", "an error page")
}

/// The start of the verdict on a refusal with an error code the case does not expect.
const UNEXPECTED_CODE: &str = "refused, but with an unexpected error code";

/// A case that expects the provider to refuse.
fn negative(case: &Case, ev: &Evidence, expected: &[String]) -> CheckResult {
    let list = if expected.iter().any(|x| x == "*") {
        "any error".to_owned()
    } else {
        expected.join(" or ")
    };
    // The step under test could not happen on this provider (e.g. no consent page to deny).
    if let Some(why) = &ev.not_applicable {
        return CheckResult::skip("negative.refused", why.clone());
    }
    if case.request.misuses(crate::suite::Misuse::ReuseRefreshToken) && ev.refresh_rotated == Some(false) {
        return CheckResult::skip(
            "negative.refused",
            "the provider does not rotate refresh tokens, so reusing one is allowed",
        );
    }
    if case.judges_registration()
        && let Some(reg) = &ev.registration
    {
        return if reg.replaced.is_empty() {
            CheckResult::fail(
                "negative.refused",
                "the provider registered the client with the metadata the rule says it refuses",
            )
            .ef(
                format!("refused with {list}, or the value replaced"),
                "a registered client, as asked",
            )
        } else {
            CheckResult::pass(
                "negative.refused",
                format!(
                    "the provider registered the client with another value instead ({}), which RFC 7591 §3.2.1 allows",
                    reg.replaced.join("; ")
                ),
            )
        };
    }
    if ev.redirected_to_unregistered {
        return CheckResult::fail(
            "negative.refused",
            "the provider redirected to a redirect_uri that is not registered for the client (RFC 6749 §4.1.2.1: it must not)",
        )
        .ef("no redirect to the unregistered URI", "a redirect to it");
    }
    // Refused before the request under test, with a code the case allows there
    // (e.g. a provider that requires PKCE refuses a request without a challenge).
    if !ev.misuse_attempted
        && let Some(e) = &ev.error
        && case.expect.or_error.contains(&e.error)
    {
        return CheckResult::pass(
            "negative.refused",
            format!(
                "refused with `{}` at the {} endpoint, which the rule allows here",
                e.error,
                e.endpoint()
            ),
        );
    }
    if !ev.misuse_attempted {
        let what = match (&ev.error, &ev.harness_error, &ev.refused_without_redirect) {
            (Some(e), _, _) => format!(
                "the provider refused an earlier, valid step with `{}` at the {} endpoint",
                e.error,
                e.endpoint()
            ),
            (_, Some(h), _) => h.clone(),
            (_, _, Some((status, page))) => format!("the authorization endpoint answered HTTP {status}: {page}"),
            _ => "the flow ended early".to_owned(),
        };
        return CheckResult::error("negative.refused", format!("the flow did not reach the request under test: {what}"));
    }
    if let Some((status, page)) = &ev.refused_without_redirect {
        return refusal_page(*status, page);
    }
    if ev.code_usable_after_refusal {
        return CheckResult::fail(
            "negative.refused",
            "the provider refused the wrong code_verifier, then redeemed the same code with the right one: a code must not outlive a failed exchange",
        )
        .ef("invalid_grant for every later use of the code (RFC 6749 §10.5, RFC 7636 §4.6)", "tokens on the second try");
    }
    // The probe is a parameter left out of the authorization request: a
    // response at the redirect URI without an error is the acceptance, whatever
    // the token endpoint made of the code afterwards.
    if !case.request.drop.is_empty()
        && ev.authorization_response.as_ref().is_some_and(|r| !r.contains_key("error"))
        && ev.error.as_ref().is_none_or(|e| e.stage != "authorization")
    {
        return CheckResult::fail(
            "negative.refused",
            format!(
                "the provider answered the authorization request without {} at the redirect URI, as a success",
                case.request.drop.iter().map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", ")
            ),
        )
        .ef(format!("refused with {list}"), "a successful authorization response");
    }
    match &ev.error {
        // `*`: any refusal will do (e.g. a GET refused with 405 and no JSON).
        Some(e) if expected.iter().any(|x| x == "*") => CheckResult::pass(
            "negative.refused",
            format!(
                "refused at the {} endpoint with {}",
                e.endpoint(),
                if e.error.starts_with('(') {
                    e.error.clone()
                } else {
                    format!("`{}`", e.error)
                }
            ),
        ),
        Some(e) if expected.contains(&e.error) => CheckResult::pass(
            "negative.refused",
            format!("refused with `{}` at the {} endpoint", e.error, e.endpoint()),
        ),
        Some(e) => {
            CheckResult::fail("negative.refused", format!("{UNEXPECTED_CODE} at the {} endpoint", e.endpoint())).ef(list, e.error.clone())
        }
        None if ev.harness_error.is_some() => CheckResult::error(
            "negative.refused",
            "the flow did not complete, so the refusal could not be observed",
        ),
        None => {
            let what = if ev.token_sets.is_empty() {
                "a successful authorization response".to_owned()
            } else {
                "tokens".to_owned()
            };
            CheckResult::fail("negative.refused", "the provider accepted a request the rule says it refuses")
                .ef(format!("refused with {list}"), what)
        }
    }
}

/// A suite assertion that a standard-scope claim is present restates the
/// built-in rule `scopes.requested_claims` (OIDC Core §5.4, a SHOULD): its
/// failure takes that rule's level and section, so the same missing claim is
/// never a warning from the check and a MUST failure from the assertion.
fn restating(mut c: CheckResult, claim: &str) -> CheckResult {
    const RULE: &str = "scopes.requested_claims";
    if claims::standard_scope_of(claim).is_none() {
        return c;
    }
    if let Some(def) = catalogue::find(RULE) {
        c.level = def.level;
        c.spec = def.spec.to_owned();
        c.message.push_str(&format!(
            " (the assertion restates `{RULE}`: {}, a {})",
            spec::title(def.spec),
            def.level.as_str()
        ));
    }
    c
}

/// Applies a suite's assertions to a JSON object (token claims or a response).
/// `present_waived` says why a `present` claim is not due here (the profile's
/// user lacks it, or the profile's policy puts it elsewhere), or `None`.
pub fn assert_object(
    id: &str,
    what: &str,
    obj: &Map<String, Value>,
    t: &TokenExpect,
    present_waived: &dyn Fn(&str) -> Option<String>,
    out: &mut Vec<CheckResult>,
) {
    let mut failures: Vec<CheckResult> = Vec::new();
    let mut waived: Vec<String> = t.skipped.clone();
    let mut held = 0;
    for k in &t.present {
        if obj.contains_key(k) {
            held += 1;
        } else if let Some(why) = present_waived(k) {
            waived.push(format!("`{k}` present: {why}"));
        } else {
            failures.push(restating(
                CheckResult::fail(id, format!("{what}: claim `{k}` is missing")).ef(format!("`{k}` present"), "absent"),
                k,
            ));
        }
    }
    for k in &t.absent {
        if let Some(v) = obj.get(k) {
            failures.push(
                CheckResult::fail(id, format!("{what}: claim `{k}` must be absent"))
                    .ef(format!("`{k}` absent"), format!("`{k}`: {}", short(v))),
            );
        } else {
            held += 1;
        }
    }
    for (k, want) in &t.equals {
        match obj.get(k) {
            Some(v) if v == want => held += 1,
            // A one-element `aud` array equals its string.
            Some(Value::Array(a)) if a.len() == 1 && &a[0] == want => held += 1,
            // RFC 6749 §5.1: the token type value is case insensitive.
            Some(Value::String(v)) if k == "token_type" && want.as_str().is_some_and(|w| w.eq_ignore_ascii_case(v)) => held += 1,
            Some(v) => failures.push(CheckResult::fail(id, format!("{what}: claim `{k}` has another value")).ef(short(want), short(v))),
            None => match present_waived(k) {
                Some(why) => waived.push(format!("`{k}` equals: {why}")),
                None => failures.push(restating(
                    CheckResult::fail(id, format!("{what}: claim `{k}` is missing")).ef(short(want), "absent"),
                    k,
                )),
            },
        }
    }
    if !t.aud_contains.is_empty() {
        let aud = jwt::audiences(obj);
        for want in &t.aud_contains {
            if aud.contains(want) {
                held += 1;
            } else {
                failures
                    .push(CheckResult::fail(id, format!("{what}: `aud` does not contain `{want}`")).ef(want.clone(), format!("{aud:?}")));
            }
        }
    }
    let scope: Vec<&str> = obj
        .get("scope")
        .and_then(Value::as_str)
        .map(|s| s.split_whitespace().collect())
        .unwrap_or_default();
    for s in &t.scope_includes {
        if scope.contains(&s.as_str()) {
            held += 1;
        } else {
            failures.push(CheckResult::fail(id, format!("{what}: `scope` does not include `{s}`")).ef(s.clone(), scope.join(" ")));
        }
    }
    for s in &t.scope_excludes {
        if scope.contains(&s.as_str()) {
            failures.push(CheckResult::fail(id, format!("{what}: `scope` includes `{s}`")).ef(format!("no `{s}`"), scope.join(" ")));
        } else {
            held += 1;
        }
    }
    if !failures.is_empty() {
        out.extend(failures);
    } else if held == 0 && !waived.is_empty() {
        out.push(CheckResult::skip(
            id,
            format!("{what}: no assertion applies to this profile ({})", waived.join("; ")),
        ));
    } else if held == 0 {
        out.push(CheckResult::skip(id, format!("{what}: the suite states no assertion here")));
    } else if waived.is_empty() {
        out.push(CheckResult::pass(id, format!("{what}: {held} assertion(s) hold")));
    } else {
        out.push(CheckResult::pass(
            id,
            format!(
                "{what}: {held} assertion(s) hold; {} left out ({})",
                waived.len(),
                waived.join("; ")
            ),
        ));
    }
}

/// A value shown in a message: short, and never a whole token.
pub fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

/// The case's last ID token, decoded (the one a logout or session probe
/// judges against).
pub(crate) fn last_id_token(ev: &Evidence) -> Option<jwt::Decoded> {
    ev.token_sets
        .iter()
        .rev()
        .find_map(|s| s.id_token.as_ref())
        .and_then(|t| jwt::decode(t.expose()).ok())
}

/// `sid` in ID tokens where discovery's `flag` says the provider supports
/// sessions for a logout channel (`rule`: the spec's words and section).
pub(crate) fn sid_in_id_token(id: &str, flag: &str, rule: &str, id_token: &jwt::Decoded) -> CheckResult {
    if id_token.str_claim("sid").is_some_and(|s| !s.is_empty()) {
        CheckResult::pass(id, format!("the ID token carries `sid`, as discovery's {flag} says"))
    } else {
        CheckResult::fail(id, format!("the ID token has no `sid`, though discovery says {flag}"))
            .ef(format!("a `sid` claim in ID tokens ({rule})"), "no `sid`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn assertions_report_expected_and_found() {
        let t = TokenExpect {
            present: vec!["sub".into(), "email".into()],
            absent: vec!["name".into()],
            equals: [("aud".to_owned(), json!("web"))].into(),
            ..Default::default()
        };
        let mut out = vec![];
        assert_object(
            "assert.id_token",
            "ID token",
            &obj(json!({"sub": "1", "aud": ["web"], "name": "J"})),
            &t,
            &|_| None,
            &mut out,
        );
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out.iter().all(|c| c.status == Status::Fail));
        assert_eq!(out[0].expected.as_deref(), Some("`email` present"));
        assert_eq!(out[1].found.as_deref(), Some("`name`: J"));
        let mut out = vec![];
        assert_object(
            "assert.id_token",
            "ID token",
            &obj(json!({"sub": "1", "aud": "web", "email": "e"})),
            &t,
            &|_| None,
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].status, Status::Pass);
    }

    #[test]
    fn worst_status_wins() {
        let p = CheckResult::pass("flow.state", "");
        let f = CheckResult::fail("flow.state", "");
        let e = CheckResult::error("flow.state", "");
        assert_eq!(case_status(&[p.clone(), f.clone()]), Status::Fail);
        assert_eq!(case_status(&[f, e, p.clone()]), Status::Error);
        assert_eq!(case_status(&[p]), Status::Pass);
        assert_eq!(case_status(&[CheckResult::skip("flow.state", "")]), Status::Skip);
    }
}

#[cfg(test)]
mod level_tests {
    use super::*;

    fn profile(checks: &str) -> crate::profile::Profile {
        let text = format!("name: p\nissuer: http://127.0.0.1:1/\n{checks}");
        crate::profile::parse(&crate::diag::Source::new("p.yaml", text)).unwrap()
    }

    #[test]
    fn a_failed_should_is_a_warning_and_a_failed_must_a_failure() {
        let checks = vec![
            CheckResult::fail("id_token.alg", "x"),
            CheckResult::fail("id_token.iss", "y"),
            CheckResult::fail("userinfo.status", "z").at_level(catalogue::Requirement::May, "RFC6750-2.2"),
        ];
        let out = apply_levels(&profile(""), checks.clone());
        assert_eq!(
            out.iter().map(|c| c.status).collect::<Vec<_>>(),
            [Status::Warn, Status::Fail, Status::Warn]
        );
        assert!(out[0].message.contains("a SHOULD"), "{}", out[0].message);
        assert_eq!(case_status(&out), Status::Fail);
        // The profile can hold a SHOULD to `fail`.
        let out = apply_levels(&profile("checks: { id_token.alg: fail }"), checks);
        assert_eq!(out[0].status, Status::Fail);
    }

    #[test]
    fn a_rule_that_binds_the_client_is_noted_never_failed() {
        let checks = vec![
            CheckResult::fail("token_endpoint.post_only", "the provider answered a GET"),
            CheckResult::fail("userinfo.token_in_query", "answered"),
        ];
        let out = apply_levels(&profile(""), checks.clone());
        assert!(out.iter().all(|c| c.status == Status::Skip), "{out:?}");
        assert!(
            out[0].message.contains("noted, not a finding: RFC 6749 §3.2 binds the client"),
            "{}",
            out[0].message
        );
        let out = apply_levels(&profile("checks: { token_endpoint.post_only: fail }"), checks);
        assert_eq!(out[0].status, Status::Fail);
        assert!(catalogue::CATALOGUE.iter().any(|c| c.binds == catalogue::Binds::Client));
    }

    #[test]
    fn an_assertion_restating_a_rule_takes_its_level() {
        let t = TokenExpect {
            present: vec!["email".into(), "https://example.test/roles".into()],
            ..Default::default()
        };
        let mut out = vec![];
        assert_object("assert.userinfo", "userinfo", &Map::new(), &t, &|_| None, &mut out);
        let out = apply_levels(&profile(""), out);
        // A standard-scope claim: the SHOULD of scopes.requested_claims, a warning.
        assert_eq!(out[0].status, Status::Warn, "{out:?}");
        assert_eq!(out[0].spec, "OIDC-Core-5.4");
        assert!(out[0].message.contains("restates `scopes.requested_claims`"), "{}", out[0].message);
        // Any other claim: the assertion's own MUST.
        assert_eq!(out[1].status, Status::Fail, "{out:?}");
        assert_eq!(out[1].spec, "OIDC-Core-5.3.2");
    }

    #[test]
    fn token_type_compares_case_insensitively() {
        let t = TokenExpect {
            equals: [("token_type".to_owned(), Value::String("Bearer".into()))].into(),
            ..Default::default()
        };
        let mut out = vec![];
        let obj = serde_json::json!({"token_type": "bearer"});
        assert_object(
            "assert.token_response",
            "token response",
            obj.as_object().unwrap(),
            &t,
            &|_| None,
            &mut out,
        );
        assert_eq!(out[0].status, Status::Pass, "{out:?}");
    }

    #[test]
    fn an_error_page_is_a_refusal_and_a_server_error_is_not() {
        assert_eq!(refusal_page(400, "Bad request").status, Status::Pass);
        assert_eq!(refusal_page(200, "Error: redirect_uri mismatch").status, Status::Pass);
        assert_eq!(refusal_page(500, "Internal Server Error").status, Status::Fail);
        // Judged by what the protocol did: no redirect back, so refused; the page is the evidence.
        let c = refusal_page(200, "Welcome to our shop");
        assert_eq!(c.status, Status::Pass);
        assert!(c.message.contains("never reached the redirect URI") && c.message.contains("Welcome to our shop"));
    }

    #[test]
    fn framing_defences_are_read_from_either_header() {
        use crate::flow::framing_of;
        assert!(framing_of(Some("DENY"), None).is_some());
        assert!(framing_of(Some("sameorigin"), None).is_some());
        assert!(framing_of(Some("ALLOW-FROM https://x.example"), None).is_none());
        assert!(framing_of(None, Some("default-src 'self'; frame-ancestors 'none'")).is_some());
        assert!(framing_of(None, Some("default-src 'self'")).is_none());
        assert!(framing_of(None, None).is_none());
    }

    #[test]
    fn the_race_probe_runs_enough_rounds_for_its_bound() {
        use crate::flow::{RACE_MAX_ROUNDS, RACE_MISS, race_plan};
        // 10 at once: a round misses a race of p = 0.1 with 0.9^9 ≈ 0.387; 8 rounds ≤ 1e-3.
        let (rounds, miss) = race_plan(10);
        assert_eq!(rounds, 8);
        assert!(miss <= RACE_MISS && miss > 5.0e-4, "{miss}");
        // Fewer at once need more rounds, up to the cap (the bound is then weaker and reported as such).
        let (rounds, miss) = race_plan(2);
        assert_eq!(rounds, RACE_MAX_ROUNDS);
        assert!(miss > RACE_MISS, "{miss}");
        assert_eq!(race_plan(32).0, 3);
    }

    #[test]
    fn where_code_and_tokens_land_for_each_response_type() {
        let ev = |rt: &str, mode: Option<&str>, got: &str, query: &[&str]| Evidence {
            request: [("response_type".to_owned(), rt.to_owned())]
                .into_iter()
                .chain(mode.map(|m| ("response_mode".to_owned(), m.to_owned())))
                .collect(),
            response_mode: Some(got.to_owned()),
            query_params: query.iter().map(|s| s.to_string()).collect(),
            ..Evidence::default()
        };
        let status = |e: Evidence| response_encoding(&e).map(|c| c.status);
        // `code` alone: the query is its default, not judged here.
        assert_eq!(status(ev("code", None, "query", &["code", "state"])), None);
        for rt in [
            "token",
            "id_token",
            "id_token token",
            "code id_token",
            "code token",
            "code id_token token",
        ] {
            assert_eq!(status(ev(rt, None, "fragment", &[])), Some(Status::Pass), "{rt}");
            // The registered redirect URI's own query does not count (left out by the engine).
            assert_eq!(status(ev(rt, None, "fragment", &["iss"])), Some(Status::Pass), "{rt}");
            assert_eq!(status(ev(rt, Some("fragment"), "fragment", &["state"])), Some(Status::Pass), "{rt}");
            assert_eq!(status(ev(rt, None, "query", &["access_token"])), Some(Status::Fail), "{rt}");
            assert_eq!(status(ev(rt, None, "fragment", &["code"])), Some(Status::Fail), "{rt}");
            assert_eq!(status(ev(rt, None, "query", &["id_token", "state"])), Some(Status::Fail), "{rt}");
            // Asked for query or form_post: `flow.response_mode` judges those.
            assert_eq!(status(ev(rt, Some("query"), "query", &["access_token"])), None, "{rt}");
            assert_eq!(status(ev(rt, None, "form_post", &[])), None, "{rt}");
        }
        let msg = response_encoding(&ev("code token", None, "fragment", &["access_token"])).unwrap();
        assert!(msg.message.contains("MUST NOT") && msg.message.contains("§5"), "{}", msg.message);
    }

    #[test]
    fn code_oracles() {
        assert_eq!(single_use(1, 10, 8).status, Status::Pass);
        assert_eq!(single_use(2, 10, 3).status, Status::Fail);
        assert_eq!(single_use(0, 10, 1).status, Status::Skip);
        // 8 rounds of 10: a race of p = 0.1 goes unseen with probability 0.9^72 ≈ 5.1e-4.
        assert!(
            single_use(1, 10, 8).message.contains("at most 5.1e-4"),
            "{}",
            single_use(1, 10, 8).message
        );
        assert_eq!(reuse_revokes(401).status, Status::Pass);
        assert_eq!(reuse_revokes(200).status, Status::Fail);
        assert_eq!(reuse_revokes(200).level, catalogue::Requirement::Should);
        assert_eq!(reuse_revokes(500).status, Status::Skip);
    }

    #[test]
    fn a_case_whose_own_assertions_all_skipped_is_skipped() {
        let checks = vec![
            CheckResult::pass("flow.state", "ok"),
            CheckResult::skip("assert.userinfo", "the profile's user has no `address` claim"),
        ];
        assert_eq!(case_status(&checks), Status::Skip);
        let checks = vec![
            CheckResult::pass("flow.state", "ok"),
            CheckResult::pass("assert.userinfo", "1 holds"),
        ];
        assert_eq!(case_status(&checks), Status::Pass);
    }
}
