//! Browser-session rules (OIDC Core §3.1.2.1 `prompt`, `max_age`, `id_token_hint`;
//! the brief's single sign-on), judged on a case whose authorization ran after a
//! sign-in in the same browser, and `prompt=none` in any case.

use serde_json::{Map, Value};

use super::CheckResult;
use crate::flow::Evidence;
use crate::suite::Case;

/// The claims of the newest ID token of the case's own flow, decoded unverified
/// (the usual ID-token checks judge the token itself).
fn newest_id_token(ev: &Evidence) -> Option<Map<String, Value>> {
    let raw = ev.token_sets.iter().rev().find_map(|s| s.id_token.as_ref())?;
    super::jwt::decode(raw.expose()).ok().map(|d| d.claims)
}

/// Whether the authorization request's `prompt` has `value`.
pub(super) fn prompt_has(ev: &Evidence, value: &str) -> bool {
    ev.request.get("prompt").is_some_and(|p| p.split(' ').any(|v| v == value))
}

fn pages(ev: &Evidence) -> String {
    let mut shown = Vec::new();
    if ev.logins > 0 {
        shown.push(format!("{} login form{}", ev.logins, if ev.logins == 1 { "" } else { "s" }));
    }
    if ev.consents > 0 {
        shown.push(format!("{} consent page{}", ev.consents, if ev.consents == 1 { "" } else { "s" }));
    }
    if shown.is_empty() { "no page".into() } else { shown.join(" and ") }
}

/// OIDC Core §3.1.2.1: with `prompt=none` the provider MUST NOT display any
/// authentication or consent page, signed in or not.
pub fn prompt_none(ev: &Evidence, out: &mut Vec<CheckResult>) {
    if !prompt_has(ev, "none") {
        return;
    }
    let answered = ev.authorization_response.is_some() || ev.refused_without_redirect.is_some();
    if ev.logins + ev.consents > 0 {
        out.push(
            CheckResult::fail(
                "prompt.none_no_ui",
                format!("with prompt=none the provider showed {} (the harness went through them)", pages(ev)),
            )
            .ef(
                "no page: the response, or an error such as login_required at the redirect URI",
                pages(ev),
            ),
        );
    } else if answered {
        let how = match (&ev.error, &ev.authorization_response) {
            (Some(e), _) => format!("answered `{}` without a page", e.error),
            (None, Some(_)) => "answered with the response, without a page".to_owned(),
            (None, None) => "answered with an error page and no login or consent page".to_owned(),
        };
        out.push(CheckResult::pass("prompt.none_no_ui", format!("prompt=none: {how}")));
    }
}

/// The session rules of a case that signed in first (`request.session`).
pub fn check(case: &Case, ev: &Evidence, out: &mut Vec<CheckResult>) {
    let (Some(session), Some(signin)) = (&case.request.session, &ev.signin) else {
        return;
    };
    // Judged on a positive answer only: a refusal is judged by the case's expectations.
    if ev.authorization_response.is_none() || ev.error.is_some() {
        return;
    }
    let claims = newest_id_token(ev);
    let auth_time = claims.as_ref().and_then(|c| c.get("auth_time")).and_then(Value::as_i64);
    // The re-authentication rules: the login form shown, and `auth_time` after the sign-in's.
    let reauth = |id: &str, why: &str, out: &mut Vec<CheckResult>| {
        if ev.logins == 0 {
            out.push(
                CheckResult::fail(id, format!("{why}, and the provider answered without showing the login form"))
                    .ef("the login form, then the response (or an error such as login_required)", pages(ev)),
            );
            return;
        }
        match (auth_time, signin.auth_time) {
            (Some(new), Some(old)) if new <= old => out.push(
                CheckResult::fail(
                    id,
                    format!("{why}; the login form was shown, but the ID token's `auth_time` did not move"),
                )
                .ef(format!("auth_time after {old} (the sign-in's)"), new.to_string()),
            ),
            (Some(new), Some(old)) => out.push(CheckResult::pass(
                id,
                format!("{why}: the login form was shown again and `auth_time` moved from {old} to {new}"),
            )),
            _ => out.push(CheckResult::pass(
                id,
                format!("{why}: the login form was shown again (no `auth_time` to compare)"),
            )),
        }
    };
    if prompt_has(ev, "login") {
        reauth("prompt.login_reauth", "prompt=login was sent for a signed-in user", out);
    }
    if let Some(max_age) = ev.request.get("max_age").and_then(|m| m.parse::<u64>().ok())
        && session.wait.as_secs() > max_age
    {
        reauth(
            "max_age.reauth",
            &format!("max_age={max_age} was sent {} s after the sign-in", session.wait.as_secs()),
            out,
        );
    }
    // The brief: another client in the same browser session signs in without a login form.
    if session.other_client && signin.logged_in && !prompt_has(ev, "login") && !ev.request.contains_key("max_age") {
        out.push(if ev.logins == 0 {
            CheckResult::pass(
                "session.sso",
                format!(
                    "client `{}` got its response in the session of `{}` without a login form",
                    case.client, signin.client
                ),
            )
        } else {
            CheckResult::fail(
                "session.sso",
                format!(
                    "client `{}` was shown the login form again although the user had just signed in through `{}` in the same browser",
                    case.client, signin.client
                ),
            )
            .ef("no login form (single sign-on)", pages(ev))
        });
    }
    // OIDC Core §2: `sub` is never reassigned; the same client sees the same user.
    if !session.other_client
        && let (Some(before), Some(now)) = (&signin.sub, claims.as_ref().and_then(|c| c.get("sub")).and_then(Value::as_str))
    {
        let hinted = ev.request.contains_key("id_token_hint");
        out.push(if before == now {
            CheckResult::pass(
                "session.same_sub",
                if hinted {
                    "the answer to id_token_hint names the hinted user (`sub` unchanged)"
                } else {
                    "the second ID token of the session names the same user (`sub` unchanged)"
                },
            )
        } else {
            CheckResult::fail(
                "session.same_sub",
                if hinted {
                    "the answer to id_token_hint names another `sub` than the hinted ID token"
                } else {
                    "the same user, client and browser session got another `sub`"
                },
            )
            .ef("the sign-in's sub", "another sub")
        });
    }
}
