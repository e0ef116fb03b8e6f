//! RP-initiated logout (OIDC RP-Initiated Logout 1.0), judged on what a logout
//! probe saw. A probe's mistake is judged only against a correct logout that
//! worked: a provider whose logout never redirects refuses every mistake too,
//! which says nothing.

use super::CheckResult;
use super::catalogue::Requirement;
use crate::flow::Evidence;
use crate::flow::logout::{Landing, LogoutSeen};
use crate::flow::par::Taken;
use crate::suite::LogoutProbe as P;

/// A logout request with `ui_locales` naming an unsupported locale first,
/// left unconfirmed (RP-Initiated Logout §2: "An error SHOULD NOT result if
/// some or all of the requested locales are not supported by the OpenID
/// Provider"), judged beside the plain logout that followed.
fn ui_locales(first: &Landing, logout: &Landing) -> CheckResult {
    let id = "logout.ui_locales";
    let what = format!("a logout request with ui_locales={}", crate::flow::logout::UI_LOCALES);
    match first {
        Landing::Page { status, .. } if *status >= 400 && !logout.went_through() => CheckResult::skip(
            id,
            format!(
                "{what} was answered with an error ({}), but so was the same logout without it ({}), so the error is not the parameter's",
                first.describe(),
                logout.describe()
            ),
        ),
        Landing::Page { status, .. } if *status >= 400 => CheckResult::warn(id, format!("{what} was answered with an error, where the same logout without it went through")).ef(
            "the logout as without the parameter: RP-Initiated Logout §2, \"An error SHOULD NOT result if some or all of the requested locales are not supported\"",
            first.describe(),
        ),
        Landing::Elsewhere(_) => CheckResult::warn(id, format!("{what} sent the browser away")).ef(
            "the logout as without the parameter (RP-Initiated Logout §2)",
            first.describe(),
        ),
        _ => CheckResult::pass(
            id,
            format!("{what} was answered without an error status: {}", first.describe()),
        ),
    }
}

/// The same logout again once the user is logged out (RP-Initiated Logout
/// §4: "it is explicitly not an error for an RP to request that a logout be
/// performed when the OP does not consider that the End-User is logged in").
fn repeated(again: &Landing, first: &Landing) -> CheckResult {
    let id = "logout.repeated";
    if !first.went_through() {
        return CheckResult::skip(
            id,
            format!(
                "the first logout did not go through ({}), so the second is no logout of a user already logged out",
                first.describe()
            ),
        );
    }
    match again {
        Landing::Redirected { .. } => CheckResult::pass(
            id,
            format!("the same logout sent again once the user was logged out went through: {}", again.describe()),
        ),
        Landing::Page { status, .. } if *status < 400 => CheckResult::pass(
            id,
            format!(
                "the same logout sent again once the user was logged out was answered without an error: {}",
                again.describe()
            ),
        ),
        Landing::Elsewhere(_) => CheckResult::warn(id, "the same logout sent again once the user was logged out sent the browser away").ef(
            "a redirect to the post-logout redirect URI, or a page (RP-Initiated Logout §4)",
            again.describe(),
        ),
        _ => CheckResult::warn(id, "the same logout sent again once the user was logged out was treated as an error").ef(
            "a redirect or a page, not an error: RP-Initiated Logout §4, logout requests \"are intended to be idempotent\" and one for a user no longer logged in \"is explicitly not an error\"",
            again.describe(),
        ),
    }
}

/// Every logout check the probe of `ev` can judge.
pub fn check(ev: &Evidence, out: &mut Vec<CheckResult>) {
    let Some(seen) = &ev.logout else { return };
    let Some(probe) = seen.probe else { return };
    let Some(logout) = &seen.logout else { return };
    out.push(redirect(
        if probe == P::Post { "logout.post" } else { "logout.redirect" },
        logout,
        seen,
    ));
    // `prompt=none` shows a session only where it gets a code in one.
    let start = seen.session_at_start.as_ref();
    let unusable = start.filter(|t| **t != Taken::Issued).map(|t| {
        format!(
            "prompt=none got no code even before the logout, in the signed-in browser ({}), so it cannot show whether a session ended",
            taken(t)
        )
    });
    if let Some(after) = &seen.session_after {
        out.push(match &unusable {
            Some(why) => CheckResult::skip("logout.session_ended", why.clone()),
            None => session_ended(logout, after),
        });
    }
    match probe {
        P::UiLocales => {
            if let Some((first, _)) = &seen.mistake {
                out.push(ui_locales(first, logout));
            }
        }
        P::Repeated => {
            if let Some(again) = &seen.repeated {
                out.push(repeated(again, logout));
            }
        }
        _ => {}
    }
    let worked = logout.redirected();
    let Some((mistake, named)) = &seen.mistake else { return };
    let (id, what) = match probe {
        P::Get | P::Post | P::Backchannel | P::Frontchannel | P::UiLocales | P::Repeated => return,
        P::UnregisteredRedirect => (
            "logout.redirect_validated",
            format!("a post_logout_redirect_uri that is not the registered one ({named})"),
        ),
        P::ForgedHint => (
            "logout.hint_validated",
            "an id_token_hint the provider never issued (the ID token with its payload altered)".into(),
        ),
        P::OtherClientId => (
            "logout.client_id_verified",
            format!(
                "a client_id (`{}`) that is not the client the id_token_hint was issued to",
                seen.other_client.as_deref().unwrap_or(crate::flow::logout::OTHER_CLIENT)
            ),
        ),
        P::Unconfirmed => {
            if let Some(after) = &seen.session_after_mistake {
                out.push(match &unusable {
                    Some(why) => CheckResult::skip("logout.asks_without_hint", why.clone()),
                    None => unconfirmed(mistake, after, logout),
                });
            }
            return;
        }
    };
    let to_unregistered =
        probe == P::UnregisteredRedirect && matches!(mistake, Landing::Redirected { url, .. } if url.contains("oidc_conform=unregistered"));
    out.push(match mistake {
        Landing::Redirected { .. } if probe != P::UnregisteredRedirect || to_unregistered => {
            CheckResult::fail(id, format!("a logout request with {what} was redirected to the client")).ef(
                "no post-logout redirection: an error page, or a logout without redirect (OIDC RP-Initiated Logout §2, §3, §4)",
                mistake.describe(),
            )
        }
        _ if !worked => CheckResult::skip(
            id,
            format!(
                "the logout with {what} was not redirected, but neither was the correct logout that followed ({}), so the refusal shows nothing",
                logout.describe()
            ),
        ),
        Landing::Redirected { .. } => CheckResult::pass(
            id,
            format!("a logout request with {what} was not redirected to it ({}); the correct logout then was", mistake.describe()),
        ),
        _ => CheckResult::pass(
            id,
            format!("a logout request with {what} was not redirected ({}); the correct logout then was", mistake.describe()),
        ),
    });
}

/// What `prompt=none` got, in words.
fn taken(t: &Taken) -> String {
    match t {
        Taken::Issued => "a code".into(),
        Taken::Refused(how) => how.clone(),
        Taken::Page(page) => format!("a {page} page"),
        Taken::ToUnregistered => "a redirect elsewhere".into(),
    }
}

/// The correct logout: at the registered URI, exactly, with `state`.
fn redirect(id: &str, logout: &Landing, seen: &LogoutSeen) -> CheckResult {
    let expected = format!(
        "a redirect to the registered post_logout_redirect_uri ({}) with the `state` sent, after any confirmation",
        seen.registered
    );
    match logout {
        Landing::Redirected { state, exact, url } => {
            if state.as_deref() != Some(seen.state.as_str()) {
                let found = match state {
                    None => format!("no `state` ({url})"),
                    Some(_) => format!("another `state` ({url})"),
                };
                CheckResult::fail(id, "the post-logout redirect did not return the `state` sent").ef(
                    "the `state` of the logout request, unchanged (OIDC RP-Initiated Logout §2: the OP passes this value back)",
                    found,
                )
            } else if !exact {
                CheckResult::warn(id, "the post-logout redirect added more than `state` to the registered URI")
                    .ef(expected, url.clone())
                    .at_level(Requirement::Should, "OIDC-RPInitiated-3")
            } else {
                CheckResult::pass(
                    id,
                    format!("the logout ended at the registered post_logout_redirect_uri with its state ({url})"),
                )
            }
        }
        Landing::Page { status, confirmed: 0, .. } if (200..300).contains(status) => CheckResult::error(
            id,
            format!(
                "{}, and the harness found no button on it that confirms the logout: it cannot tell a confirmation page it does not understand from a page that ends the logout",
                logout.describe()
            ),
        ),
        Landing::Page { confirmed: 0, .. } => {
            CheckResult::fail(id, "the provider refused a valid logout request").ef(expected, logout.describe())
        }
        Landing::Page { .. } => CheckResult::fail(
            id,
            "after the user confirmed, the provider did not redirect to the registered post_logout_redirect_uri",
        )
        .ef(expected, logout.describe()),
        Landing::Elsewhere(_) => {
            CheckResult::fail(id, "the logout did not end at the registered post_logout_redirect_uri").ef(expected, logout.describe())
        }
    }
}

/// `prompt=none` after the correct logout.
fn session_ended(logout: &Landing, after: &Taken) -> CheckResult {
    if !logout.went_through() {
        return CheckResult::skip(
            "logout.session_ended",
            format!(
                "the logout did not go through ({}), so the session was not expected to end",
                logout.describe()
            ),
        );
    }
    match after {
        Taken::Issued => CheckResult::fail("logout.session_ended", "after the logout, prompt=none in the same browser still got a code").ef(
            "`login_required` (or another error, or a sign-in page): the session is gone (OIDC RP-Initiated Logout §2: the OP MUST log out the End-User)",
            "a code at the redirect URI: the user is still signed in",
        ),
        Taken::Refused(how) => CheckResult::pass("logout.session_ended", format!("after the logout, prompt=none was answered with {how}")),
        Taken::Page(page) => CheckResult::pass("logout.session_ended", format!("after the logout, prompt=none showed a {page} page")),
        Taken::ToUnregistered => CheckResult::pass("logout.session_ended", "after the logout, prompt=none got no code"),
    }
}

/// `prompt=none` after a logout request without a hint that nobody confirmed.
fn unconfirmed(mistake: &Landing, after: &Taken, logout: &Landing) -> CheckResult {
    let id = "logout.asks_without_hint";
    match after {
        // A provider that logs nobody out leaves the user signed in too.
        Taken::Issued if !logout.went_through() => CheckResult::skip(
            id,
            format!(
                "a logout request without id_token_hint left the user signed in, but the correct logout that followed did not go through either ({}), so that shows nothing",
                logout.describe()
            ),
        ),
        Taken::Issued => CheckResult::pass(
            id,
            format!(
                "a logout request without id_token_hint that nobody confirmed left the user signed in ({}; prompt=none then got a code)",
                mistake.describe()
            ),
        ),
        other => {
            let how = taken(other);
            CheckResult::fail(id, "a logout request without id_token_hint ended the session without asking the user").ef(
                "the user is asked first (OIDC RP-Initiated Logout §2: the OP MUST ask when no id_token_hint was provided); unconfirmed, prompt=none still gets a code",
                format!("{}; then prompt=none was answered with {how}", mistake.describe()),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    fn seen(probe: P, logout: Landing, after: Taken) -> Evidence {
        Evidence {
            logout: Some(LogoutSeen {
                probe: Some(probe),
                state: "s1".into(),
                registered: "https://app.test/out".into(),
                logout: Some(logout),
                session_at_start: Some(Taken::Issued),
                session_after: Some(after),
                ..LogoutSeen::default()
            }),
            ..Evidence::default()
        }
    }

    fn redirected(state: Option<&str>, exact: bool) -> Landing {
        Landing::Redirected {
            url: "https://app.test/out?state=s1".into(),
            exact,
            state: state.map(str::to_owned),
        }
    }

    fn status_of(ev: &Evidence, id: &str) -> Option<Status> {
        let mut out = Vec::new();
        check(ev, &mut out);
        out.into_iter().find(|c| c.id == id).map(|c| c.status)
    }

    #[test]
    fn the_correct_logout_is_judged_by_where_it_lands_and_what_prompt_none_gets() {
        let ok = seen(
            P::Get,
            redirected(Some("s1"), true),
            Taken::Refused("error `login_required` at the redirect URI".into()),
        );
        assert_eq!(status_of(&ok, "logout.redirect"), Some(Status::Pass));
        assert_eq!(status_of(&ok, "logout.session_ended"), Some(Status::Pass));
        let no_state = seen(P::Get, redirected(None, true), Taken::Page("sign-in"));
        assert_eq!(status_of(&no_state, "logout.redirect"), Some(Status::Fail));
        let extra = seen(P::Get, redirected(Some("s1"), false), Taken::Page("sign-in"));
        assert_eq!(status_of(&extra, "logout.redirect"), Some(Status::Warn));
        let kept = seen(P::Post, redirected(Some("s1"), true), Taken::Issued);
        assert_eq!(status_of(&kept, "logout.post"), Some(Status::Pass));
        assert_eq!(status_of(&kept, "logout.session_ended"), Some(Status::Fail));
        // Refused outright: a failure, and the session is not judged.
        let refused = Landing::Page {
            status: 405,
            summary: "Method Not Allowed".into(),
            confirmed: 0,
        };
        let ev = seen(P::Post, refused, Taken::Issued);
        assert_eq!(status_of(&ev, "logout.post"), Some(Status::Fail));
        assert_eq!(status_of(&ev, "logout.session_ended"), Some(Status::Skip));
        // A page with nothing the harness could press: its own error, never the provider's failure.
        let stuck = Landing::Page {
            status: 200,
            summary: "Sign out?".into(),
            confirmed: 0,
        };
        assert_eq!(
            status_of(&seen(P::Get, stuck, Taken::Issued), "logout.redirect"),
            Some(Status::Error)
        );
    }

    #[test]
    fn a_mistake_fails_when_redirected_and_passes_only_beside_a_logout_that_worked() {
        let page = Landing::Page {
            status: 400,
            summary: "invalid_request".into(),
            confirmed: 0,
        };
        let with = |probe, mistake: Landing, logout: Landing| {
            let mut ev = seen(probe, logout, Taken::Page("sign-in"));
            ev.logout.as_mut().unwrap().mistake = Some((mistake, "https://app.test/out?oidc_conform=unregistered".into()));
            ev
        };
        let followed = Landing::Redirected {
            url: "https://app.test/out?oidc_conform=unregistered&state=s1".into(),
            exact: true,
            state: Some("s1".into()),
        };
        let ev = with(P::UnregisteredRedirect, followed, redirected(Some("s1"), true));
        assert_eq!(status_of(&ev, "logout.redirect_validated"), Some(Status::Fail));
        let ev = with(P::UnregisteredRedirect, page.clone(), redirected(Some("s1"), true));
        assert_eq!(status_of(&ev, "logout.redirect_validated"), Some(Status::Pass));
        let ev = with(P::ForgedHint, redirected(Some("s1"), true), redirected(Some("s1"), true));
        assert_eq!(status_of(&ev, "logout.hint_validated"), Some(Status::Fail));
        let ev = with(P::OtherClientId, page.clone(), page.clone());
        assert_eq!(status_of(&ev, "logout.client_id_verified"), Some(Status::Skip));
    }

    #[test]
    fn a_logout_without_hint_must_not_end_the_session_unasked() {
        let shown = Landing::Page {
            status: 200,
            summary: "Sign out?".into(),
            confirmed: 0,
        };
        let mut ev = seen(P::Unconfirmed, redirected(Some("s1"), true), Taken::Page("sign-in"));
        ev.logout.as_mut().unwrap().mistake = Some((shown, String::new()));
        ev.logout.as_mut().unwrap().session_after_mistake = Some(Taken::Issued);
        assert_eq!(status_of(&ev, "logout.asks_without_hint"), Some(Status::Pass));
        // A provider that refuses the correct logout too logs nobody out: staying
        // signed in after the unconfirmed request shows nothing.
        let refused = Landing::Page {
            status: 400,
            summary: "Bad request".into(),
            confirmed: 0,
        };
        let before = ev.logout.as_mut().unwrap().logout.replace(refused);
        assert_eq!(status_of(&ev, "logout.asks_without_hint"), Some(Status::Skip));
        ev.logout.as_mut().unwrap().logout = before;
        ev.logout.as_mut().unwrap().session_after_mistake = Some(Taken::Refused("error `login_required` at the redirect URI".into()));
        assert_eq!(status_of(&ev, "logout.asks_without_hint"), Some(Status::Fail));
        // A provider whose prompt=none never gets a code (it shows its sign-in
        // page regardless): neither check can tell, so neither judges.
        ev.logout.as_mut().unwrap().session_at_start = Some(Taken::Page("sign-in"));
        ev.logout.as_mut().unwrap().session_after_mistake = Some(Taken::Page("sign-in"));
        assert_eq!(status_of(&ev, "logout.asks_without_hint"), Some(Status::Skip));
        assert_eq!(status_of(&ev, "logout.session_ended"), Some(Status::Skip));
    }
}
