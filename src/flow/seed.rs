//! One sign-in per user for the cases that do not test the sign-in, where a
//! sign-in costs a browser page (a JavaScript login).
//!
//! The browser is the cost of a run against such a provider: every case that
//! signs a user in drives a page through the identifier, password and consent
//! steps. A case whose verdict does not rest on its own sign-in (a plain code
//! flow judged on its tokens, a probe of the token endpoint) can just as well
//! start from a session the user already has, as a real user's second visit
//! does. So the first such case of a user, client and API signs the user in
//! once, in a scratch browser session of its own, and every such case of the
//! same three copies that session's cookies into its own cookie jar before
//! its authorization.
//!
//! - Cases that test the sign-in keep a fresh one: [`Case::own_sign_in`]
//!   says which and why, and so does their trace.
//! - Nothing is shared where sign-ins need no browser (the form driver signs
//!   in over HTTP in milliseconds), nor with `run --fresh-sign-ins`.
//! - A session the provider does not take (the login page comes back) costs
//!   the case its own sign-in, as without sharing, and says so.
//! - `auth_time` is then judged against the shared sign-in's time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::cookie::Jar;
use tokio::sync::OnceCell;
use url::Url;

use super::{Evidence, Provider, authorize, make_verifier};
use crate::login::browser::Driver;
use crate::secret::Secret;
use crate::suite::{Case, Flow};

/// The run's shared sign-ins, one per user, client and API (shared by every
/// view of the provider).
#[derive(Default)]
pub struct Seeds {
    keys: Mutex<HashMap<String, Arc<Shared>>>,
    /// A sign-in of this run has gone through the browser (with
    /// `login.driver: auto`, sharing starts then; never on a provider whose
    /// pages the form driver gets through).
    browser: AtomicBool,
}

/// One shared sign-in: made once, tried at most [`ATTEMPTS`] times.
#[derive(Default)]
struct Shared {
    seed: OnceCell<Arc<Seed>>,
    /// Why the attempts so far failed (the last one), and how many there were.
    failed: Mutex<(u32, String)>,
}

/// A shared sign-in that fails twice is not tried again: every case then
/// signs in itself, as with `--fresh-sign-ins`, and says why.
const ATTEMPTS: u32 = 2;

/// A user's shared sign-in: the provider's cookies after it, and what it took.
pub struct Seed {
    /// Cookies as the browser left them (each with its URL and `Path`).
    cookies: Vec<(Url, Secret)>,
    /// When the sign-in began (seconds since the epoch).
    at: i64,
    /// The client and scope it signed in with (and API, if any).
    client: String,
    scope: String,
    /// Its trace, shown in each case that starts from it.
    trace: Vec<String>,
}

impl Seeds {
    fn of(&self, key: &str) -> Arc<Shared> {
        let mut map = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key.to_owned()).or_default().clone()
    }

    /// A login form was filled in the browser.
    pub(crate) fn signed_in_by_browser(&self) {
        self.browser.store(true, Ordering::Relaxed);
    }
}

impl Shared {
    /// The shared sign-in, made now by this case if no case has yet (other
    /// cases of the user wait for it); `Err` says why there is none.
    async fn seed(&self, p: &Provider, case: &Case) -> Result<Arc<Seed>, String> {
        let gave_up = || {
            let failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
            (failed.0 >= ATTEMPTS).then(|| failed.1.clone())
        };
        if let Some(why) = gave_up() {
            return Err(why);
        }
        self.seed
            .get_or_try_init(|| async {
                // Another case's attempt may have failed while this one waited.
                if let Some(why) = gave_up() {
                    return Err(why);
                }
                // Half a case's time: the cases waiting for it keep the other
                // half for their own flow (or their own sign-in, without it).
                let limit = p.limits.case_timeout / 2;
                let made = match tokio::time::timeout(limit, sign_in_once(p, case)).await {
                    Ok(made) => made,
                    Err(_) => Err(format!("the shared sign-in did not finish within {:.0} s", limit.as_secs_f64())),
                };
                made.map(Arc::new).inspect_err(|why| {
                    let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
                    *failed = (failed.0 + 1, why.clone());
                })
            })
            .await
            .cloned()
    }
}

/// Whether the run shares sign-ins now: where they cost a browser page
/// (every one with `login.driver: browser`; with `auto`, once one has), not
/// in the pre-flight, not with `--fresh-sign-ins`.
fn sharing(p: &Provider) -> bool {
    !p.preflight
        && !p.profile.login.fresh_sign_ins
        && match p.profile.login.driver {
            Driver::Form => false,
            Driver::Browser => true,
            Driver::Auto => p.seeds.browser.load(Ordering::Relaxed),
        }
}

/// Starts the case from its user's shared session where it may: fills the
/// case's cookie jar and says so in the trace. Signs the user in first when
/// no case has yet. A case that may not, or a run that does not share, gets
/// nothing (and a case that may not says why, once a session is shared).
pub(super) async fn enter(p: &Provider, case: &Case, jar: &Jar, ev: &mut Evidence) {
    if !sharing(p) {
        return;
    }
    let Some(user) = case.user.as_deref() else { return };
    // One shared sign-in per user, client and API: providers keep consent
    // per client (and per API), and a session that needs a consent page is
    // not shared (see `authorize_steps`).
    let shared = p
        .seeds
        .of(&format!("{user}\u{0}{}\u{0}{}", case.client, case.api.as_deref().unwrap_or("")));
    if let Some(why) = own_sign_in(p, case) {
        if let Some(seed) = shared.seed.get() {
            ev.step(format!(
                "this case signs `{user}` in itself, not from the run's shared session of {} s ago: {why}",
                crate::check::now() - seed.at
            ));
        }
        return;
    }
    match shared.seed(p, case).await {
        Ok(seed) => {
            for (url, cookie) in &seed.cookies {
                jar.add_cookie_str(cookie.expose(), url);
            }
            ev.seeded_at = Some(seed.at);
            ev.step(format!(
                "starts from `{user}`'s session of the run: signed in once, {} s before this case, with client `{}` and scope `{}`, and shared by the cases that do not test the sign-in (`run --fresh-sign-ins` gives each case its own); that sign-in:",
                crate::check::now() - seed.at,
                seed.client,
                seed.scope
            ));
            for s in &seed.trace {
                ev.step(format!("  shared sign-in: {s}"));
            }
        }
        // Said in every case that could have shared, so no run hides it.
        Err(why) => ev.step(format!("signs `{user}` in itself: no session of the run is shared ({why})")),
    }
}

/// [`Case::own_sign_in`], and a third-party client (consent is judged on
/// every authorization of one, fresh).
fn own_sign_in(p: &Provider, case: &Case) -> Option<String> {
    if let Some(why) = case.own_sign_in() {
        return Some(why);
    }
    if p.profile.clients.get(&case.client).is_some_and(|c| c.third_party) {
        return Some("its client is a third-party one, whose consent is judged".into());
    }
    None
}

/// Signs the case's user in with a plain authorization of the case's client
/// and scope, in a cookie jar of its own; the session is worth sharing only
/// when the sign-in went through the browser.
async fn sign_in_once(p: &Provider, case: &Case) -> Result<Seed, String> {
    // A plain authorization: none of the case's probes, a code flow where
    // the client has one (else the case's own response type).
    let mut first = case.clone();
    let code = p
        .profile
        .clients
        .get(&case.client)
        .and_then(|c| c.grant_types.as_ref())
        .is_none_or(|g| g.iter().any(|g| g == "authorization_code"));
    first.request = crate::suite::Request {
        scope: seed_scope(p, case),
        response_type: if code { None } else { case.request.response_type.clone() },
        nonce: true,
        ..Default::default()
    };
    if code {
        first.flow = Flow::Code;
    }
    first.expect = Default::default();
    let at = crate::check::now();
    let jar = Jar::default();
    let mut scratch = Evidence::default();
    let verifier = make_verifier(&first.request.pkce);
    let answer = authorize(p, &first, &jar, &verifier, &mut scratch)
        .await
        .map_err(|e| format!("its sign-in failed: {e}"))?;
    let granted = answer
        .as_ref()
        .is_some_and(|a| ["code", "access_token", "id_token"].iter().any(|k| a.contains_key(*k)));
    if !granted {
        return Err("its sign-in was not answered with a grant".into());
    }
    if scratch.browser_cookies.is_empty() {
        return Err("sign-ins here need no browser".into());
    }
    if scratch.logins == 0 {
        return Err("the browser showed no login form".into());
    }
    Ok(Seed {
        cookies: scratch.browser_cookies,
        at,
        client: first.client,
        scope: first.request.scope,
        trace: scratch.trace,
    })
}

/// With `openid` in the case's scope, `openid` and every standard claims
/// scope discovery lists; with an API, the scopes the profile gives it. So
/// consent given once covers the later cases of the same client and API on
/// providers that remember it (claims still follow each case's own request).
/// Not the case's other scopes: a probe's made-up scope is no sign-in's.
fn seed_scope(p: &Provider, case: &Case) -> String {
    let mut scopes: Vec<&str> = Vec::new();
    if case.request.openid() {
        scopes.push("openid");
        let listed = p.discovery.scopes_supported.as_deref().unwrap_or_default();
        scopes.extend(
            ["profile", "email", "address", "phone"]
                .into_iter()
                .filter(|s| listed.iter().any(|l| l == s)),
        );
    }
    if let Some(api) = case.api.as_ref().and_then(|a| p.profile.apis.get(a)) {
        scopes.extend(api.scopes.iter().map(String::as_str));
    }
    scopes.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Vec<Case> {
        let mut profile = crate::run::reference_profile("http://127.0.0.1:1").unwrap();
        profile.waits = true;
        crate::run::load_cases(&[], &profile).unwrap()
    }

    /// The shipped cases whose verdict rests on their own sign-in keep it,
    /// each with the reason; plain flows and token-endpoint probes may share.
    #[test]
    fn cases_that_test_the_sign_in_keep_their_own() {
        let cases = shipped();
        let why = |id: &str| cases.iter().find(|c| c.id() == id).unwrap_or_else(|| panic!("{id}")).own_sign_in();
        for (id, words) in [
            ("session::prompt-login", "a session it signs in itself"),
            ("session::max-age-1", "a session it signs in itself"),
            ("session::sso-other-client", "a session it signs in itself"),
            ("negative::prompt-none-not-logged-in", "prompt=none"),
            ("consent::deny", "prompt=consent"),
            ("flows::max-age-long", "`max_age`"),
            ("parameters::login-hint", "`login_hint`"),
            ("parameters::acr-values", "`acr_values`"),
            ("parameters::claims-essential-acr", "`claims`"),
            ("security::login-page-framing", "login and consent pages"),
            ("security::login-post-redirect", "login and consent pages"),
            ("logout::logout", "ends the session"),
            ("logout::backchannel-logout", "ends the session"),
            ("flows::refresh", "`auth_time`"),
            ("flows::refresh-after-another-sign-in", "`auth_time`"),
            ("flows::client-credentials-basic", "signs no one in"),
            ("device::device-grant", "signs no one in"),
            ("negative::code-reuse", "revoke the grant"),
            ("security::pkce-downgrade-no-verifier", "revoke the grant"),
            ("security::code-parallel-redemption", "revoke the grant"),
            ("dpop::dpop-proof-replay", "revoke the grant"),
            ("lifecycle::introspect", "revoke the grant"),
        ] {
            let reason = why(id).unwrap_or_else(|| panic!("{id} keeps its own sign-in"));
            assert!(reason.contains(words), "{id}: {reason}");
        }
        for id in [
            "flows::code-client-secret-basic",
            "flows::implicit-id-token",
            "flows::hybrid-code-id-token",
            "basics::openid-only",
            "scopes::scope-all",
            "dpop::dpop-userinfo",
            "par::push",
            "userinfo::userinfo-get",
            "redirect_uri::extra-path",
        ] {
            assert_eq!(why(id), None, "{id} may start from the shared session");
        }
        // Neither the exceptions nor the rule are empty.
        let own = cases.iter().filter(|c| c.own_sign_in().is_some()).count();
        assert!(own > 20 && own < cases.len() - 50, "{own} of {}", cases.len());
    }

    /// A case the suite marks `fresh_sign_in` keeps its own, though its
    /// request alone would let it share; its twin without the mark may.
    #[test]
    fn a_case_marked_fresh_sign_in_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fresh.yaml");
        std::fs::write(
            &path,
            "suite: fresh\ncases:\n  - name: marked\n    flow: code\n    fresh_sign_in: true\n    request: { scope: openid }\n  - name: unmarked\n    flow: code\n    request: { scope: openid }\n",
        )
        .unwrap();
        let profile = crate::run::reference_profile("http://127.0.0.1:1").unwrap();
        let cases = crate::run::load_cases(&[path], &profile).unwrap();
        let marked = cases.iter().find(|c| c.name == "marked").unwrap();
        assert_eq!(marked.own_sign_in().as_deref(), Some("the suite marks it `fresh_sign_in`"));
        let unmarked = cases.iter().find(|c| c.name == "unmarked").unwrap();
        assert_eq!(unmarked.own_sign_in(), None);
    }
}
