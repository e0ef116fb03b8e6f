//! The device authorization grant (RFC 8628), judged on what a device probe
//! saw. Each check is judged only where the probe got to its step: a grant
//! that ended earlier is a skip that says where.

use super::CheckResult;
use crate::flow::Evidence;
use crate::flow::device::{Answer, DeviceSeen, GRANT_TYPE, MAX_PENDING_AFTER_USER, UserSide};
use crate::suite::DeviceProbe as P;

/// Every device check the probe of `ev` can judge.
pub fn check(ev: &Evidence, out: &mut Vec<CheckResult>) {
    let Some(seen) = &ev.device else { return };
    if seen.probe == P::Approve {
        out.push(advertised(seen));
    }
    if let Some((status, error)) = &seen.refused {
        out.push(
            CheckResult::fail(
                "device.response",
                format!("the device authorization endpoint refused the client's request: HTTP {status} `{error}`"),
            )
            .ef(
                "HTTP 200 with device_code, user_code, verification_uri and expires_in (RFC 8628 §3.2)",
                format!("HTTP {status} `{error}`"),
            ),
        );
        return;
    }
    out.push(if seen.problems.is_empty() {
        CheckResult::pass(
            "device.response",
            format!(
                "HTTP 200 with {} (interval {})",
                seen.members.join(", "),
                if seen.interval_given {
                    format!("{} s", seen.interval)
                } else {
                    "absent: the harness polls every 5 s".into()
                }
            ),
        )
    } else {
        CheckResult::fail(
            "device.response",
            format!(
                "the device authorization response departs from RFC 8628 §3.2 (REQUIRED members): {}",
                seen.problems.join("; ")
            ),
        )
        .ef(
            "device_code, user_code and verification_uri as strings, expires_in as seconds (RFC 8628 §3.2)",
            seen.problems.join("; "),
        )
    });
    if seen.probe == P::Approve {
        out.push(if seen.user_code_in_uri {
            CheckResult::fail(
                "device.verification_uri",
                "the verification_uri holds the user code (RFC 8628 §3.3: NOT RECOMMENDED; verification_uri_complete is for that)",
            )
            .ef("a verification_uri without the user code", "the user code in verification_uri")
        } else {
            CheckResult::pass("device.verification_uri", "the verification_uri does not hold the user code")
        });
    }
    if let Some(why) = &seen.stopped
        && seen.first_poll.is_none()
    {
        out.push(CheckResult::skip("device.pending", format!("no poll was sent: {why}")));
        return;
    }
    if let Some(first) = &seen.first_poll {
        out.push(pending(first));
    }
    match seen.probe {
        P::Approve | P::Reuse => out.push(tokens(seen)),
        P::SlowDown => {
            if let Some(fast) = &seen.fast_poll {
                out.push(slow_down(fast, seen));
            }
            out.push(tokens(seen));
        }
        P::Deny => out.push(denied(seen)),
        P::Expire => out.push(expired(seen)),
    }
    if seen.probe == P::Reuse {
        out.push(match &seen.second {
            None => CheckResult::skip(
                "device.one_time",
                match (&seen.final_poll, &seen.stopped) {
                    (_, Some(why)) => format!("the device code was not redeemed again: {why}"),
                    (Some(Answer::Tokens), None) => "the device code was not redeemed again".into(),
                    _ => "the grant issued no tokens, so there was no redeemed device code to send again".into(),
                },
            ),
            Some(Answer::Tokens) => CheckResult::warn(
                "device.one_time",
                "the device code was redeemed a second time, after its tokens were issued: RFC 8628 states no single-use rule, but a device code that keeps issuing tokens can be replayed (RFC 6749 §5.2 `invalid_grant`)",
            )
            .ef("an error (invalid_grant) for a device code already redeemed", "a second token response"),
            Some(e) => CheckResult::pass("device.one_time", format!("the second redemption was refused: {}", e.describe())),
        });
    }
}

fn advertised(seen: &DeviceSeen) -> CheckResult {
    match &seen.grants_advertised {
        Some(g) if g.iter().any(|x| x == GRANT_TYPE) => CheckResult::pass(
            "device.advertised",
            "discovery lists the device_authorization_endpoint and the device_code grant type",
        ),
        listed => {
            let found = match listed {
                Some(g) => format!("grant_types_supported: {}", g.join(", ")),
                None => "no grant_types_supported (OIDC Discovery §3: authorization_code and implicit)".into(),
            };
            CheckResult::warn(
                "device.advertised",
                format!(
                    "discovery offers a device_authorization_endpoint, but its grant_types_supported leaves out `{GRANT_TYPE}` (RFC 8628 §4: the grant type is included in it)"
                ),
            )
            .ef(format!("`{GRANT_TYPE}` in grant_types_supported"), found)
        }
    }
}

fn pending(first: &Answer) -> CheckResult {
    match first {
        a if a.pending() => CheckResult::pass("device.pending", format!("before the user acted: {}", a.describe())),
        Answer::Tokens => CheckResult::fail(
            "device.pending",
            "a poll before the user entered the user code got tokens: nobody approved the grant",
        )
        .ef("authorization_pending (RFC 8628 §3.5)", "a token response"),
        a => CheckResult::fail(
            "device.pending",
            format!(
                "a poll before the user acted got {}: RFC 8628 §3.5 defines authorization_pending (or slow_down) for a pending grant, and any other error makes the client stop polling",
                a.describe()
            ),
        )
        .ef("authorization_pending or slow_down (RFC 8628 §3.5)", a.describe()),
    }
}

/// Why the user's side did not get through, as a skip; `None` when it did.
fn user_skip(id: &str, seen: &DeviceSeen) -> Option<CheckResult> {
    match &seen.user {
        Some(UserSide::Done { .. }) | Some(UserSide::CodeRefused(_)) => None,
        Some(UserSide::NoCodeForm(page)) => Some(CheckResult::skip(
            id,
            format!(
                "the page at verification_uri has no form the form driver can enter the user code in (one text field for a code): {page}"
            ),
        )),
        Some(UserSide::Stopped(status, page)) => Some(CheckResult::skip(
            id,
            format!("the harness could not get through the verification pages (HTTP {status}: {page})"),
        )),
        None => Some(CheckResult::skip(
            id,
            match (&seen.stopped, &seen.first_poll, &seen.fast_poll) {
                (Some(why), _, _) => format!("the user's side did not run: {why}"),
                (None, _, Some(a)) if !a.pending() => format!("the grant ended before the user acted ({})", a.describe()),
                (None, Some(a), _) if !a.pending() => format!("the grant ended before the user acted ({})", a.describe()),
                _ => "the user's side did not run".into(),
            },
        )),
    }
}

fn tokens(seen: &DeviceSeen) -> CheckResult {
    if let Some(skip) = user_skip("device.tokens", seen) {
        return skip;
    }
    if let Some(UserSide::CodeRefused(page)) = &seen.user {
        return CheckResult::fail(
            "device.tokens",
            format!(
                "the user code the provider issued was not taken at its verification_uri (the code form came back: {page}); RFC 8628 §3.3: the server MUST implement a user interaction that starts there and takes the user code"
            ),
        )
        .ef("the user code taken, then login and consent", format!("the code form again: {page}"));
    }
    match &seen.final_poll {
        Some(Answer::Tokens) => CheckResult::pass(
            "device.tokens",
            format!("after the user approved, poll {} got a token response", seen.polls_after_user),
        ),
        Some(a) if a.pending() => CheckResult::fail(
            "device.tokens",
            format!(
                "after the user entered the code and approved, {} polls still got {}",
                seen.polls_after_user.max(MAX_PENDING_AFTER_USER),
                a.describe()
            ),
        )
        .ef("a token response once the user approved (RFC 8628 §3.5)", a.describe()),
        Some(a) => CheckResult::fail(
            "device.tokens",
            format!("after the user entered the code and approved, the poll got {}", a.describe()),
        )
        .ef("a token response once the user approved (RFC 8628 §3.5)", a.describe()),
        None => CheckResult::skip(
            "device.tokens",
            seen.stopped
                .clone()
                .unwrap_or_else(|| "no poll was sent after the user acted".into()),
        ),
    }
}

fn denied(seen: &DeviceSeen) -> CheckResult {
    if let Some(skip) = user_skip("device.denied", seen) {
        return skip;
    }
    if let Some(UserSide::CodeRefused(page)) = &seen.user {
        return CheckResult::skip(
            "device.denied",
            format!("the user code was not taken at verification_uri, so nobody could deny ({page}; judged by device.tokens)"),
        );
    }
    match &seen.final_poll {
        Some(a) if a.is("access_denied") => CheckResult::pass("device.denied", format!("after the denial: {}", a.describe())),
        Some(Answer::Tokens) => CheckResult::fail(
            "device.denied",
            "the user denied on the consent page, and the poll got tokens all the same",
        )
        .ef("access_denied (RFC 8628 §3.5)", "a token response"),
        Some(a) if a.pending() => CheckResult::warn(
            "device.denied",
            format!(
                "after the user denied, {} polls still got {}: the denial was not taken",
                seen.polls_after_user,
                a.describe()
            ),
        )
        .ef("access_denied (RFC 8628 §3.5)", a.describe()),
        Some(a) => CheckResult::warn(
            "device.denied",
            format!(
                "after the user denied, the poll got {}, not access_denied (RFC 8628 §3.5)",
                a.describe()
            ),
        )
        .ef("access_denied (RFC 8628 §3.5)", a.describe()),
        None => CheckResult::skip(
            "device.denied",
            seen.stopped
                .clone()
                .unwrap_or_else(|| "no poll was sent after the user acted".into()),
        ),
    }
}

fn expired(seen: &DeviceSeen) -> CheckResult {
    let Some(last) = &seen.final_poll else {
        return CheckResult::skip(
            "device.expired",
            seen.stopped.clone().unwrap_or_else(|| "no poll was sent after expiry".into()),
        );
    };
    let waited = seen.waited.unwrap_or_default();
    let lifetime = seen.lifetime;
    if waited <= lifetime {
        // The grant ended before its lifetime: not the expiry under test.
        return CheckResult::skip(
            "device.expired",
            format!(
                "the grant ended after {waited} s, before its expires_in ({lifetime} s), with {}",
                last.describe()
            ),
        );
    }
    match last {
        a if a.is("expired_token") => CheckResult::pass(
            "device.expired",
            format!("{waited} s after the response (expires_in {lifetime} s): {}", a.describe()),
        ),
        a if a.is("invalid_grant") => CheckResult::warn(
            "device.expired",
            format!(
                "{waited} s after the response (expires_in {lifetime} s) the poll got invalid_grant, not the expired_token RFC 8628 §3.5 defines"
            ),
        )
        .ef("expired_token (RFC 8628 §3.5)", a.describe()),
        a if a.pending() || *a == Answer::Tokens => CheckResult::fail(
            "device.expired",
            format!(
                "{waited} s after the response, past the expires_in of {lifetime} s, the device code was still live: {}",
                a.describe()
            ),
        )
        .ef("expired_token (RFC 8628 §3.5)", a.describe()),
        a => CheckResult::warn(
            "device.expired",
            format!(
                "{waited} s after the response (expires_in {lifetime} s) the poll got {}, not expired_token (RFC 8628 §3.5)",
                a.describe()
            ),
        )
        .ef("expired_token (RFC 8628 §3.5)", a.describe()),
    }
}

fn slow_down(fast: &Answer, seen: &DeviceSeen) -> CheckResult {
    match fast {
        a if a.is("slow_down") => CheckResult::pass(
            "device.slow_down",
            format!(
                "the poll sent at once got slow_down; the harness then polled every {} s",
                seen.slowed_to.unwrap_or(seen.interval)
            ),
        ),
        a if a.pending() => CheckResult::pass(
            "device.slow_down",
            format!(
                "the poll sent at once got {}: the grant went on (slow_down is the server's to choose, RFC 8628 §3.5)",
                a.describe()
            ),
        ),
        a => CheckResult::fail(
            "device.slow_down",
            format!(
                "a poll sent faster than the interval got {}: the grant ended instead of slow_down or authorization_pending (RFC 8628 §3.5)",
                a.describe()
            ),
        )
        .ef("slow_down or authorization_pending (RFC 8628 §3.5)", a.describe()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    fn err(code: &str) -> Answer {
        Answer::Error {
            status: 400,
            error: code.into(),
            description: None,
        }
    }

    fn seen(probe: P) -> DeviceSeen {
        DeviceSeen {
            probe,
            grants_advertised: Some(vec![GRANT_TYPE.into()]),
            members: vec!["device_code".into()],
            interval: 1,
            interval_given: true,
            lifetime: 30,
            first_poll: Some(err("authorization_pending")),
            user: Some(UserSide::Done {
                summary: "Done".into(),
                logins: 1,
                consents: 1,
            }),
            final_poll: Some(Answer::Tokens),
            polls_after_user: 1,
            ..DeviceSeen::default()
        }
    }

    fn judged(s: DeviceSeen) -> Vec<CheckResult> {
        let ev = Evidence {
            device: Some(s),
            ..Evidence::default()
        };
        let mut out = Vec::new();
        check(&ev, &mut out);
        out
    }

    fn status(out: &[CheckResult], id: &str) -> Option<Status> {
        out.iter().find(|c| c.id == id).map(|c| c.status)
    }

    #[test]
    fn a_conformant_grant_passes() {
        let out = judged(seen(P::Approve));
        for id in [
            "device.advertised",
            "device.response",
            "device.verification_uri",
            "device.pending",
            "device.tokens",
        ] {
            assert_eq!(status(&out, id), Some(Status::Pass), "{id}: {out:?}");
        }
    }

    #[test]
    fn each_departure_fails_its_check() {
        let mut s = seen(P::Approve);
        s.grants_advertised = None;
        s.user_code_in_uri = true;
        s.first_poll = Some(err("invalid_request"));
        s.problems = vec!["`expires_in` (REQUIRED) is missing".into()];
        let out = judged(s);
        assert_eq!(status(&out, "device.advertised"), Some(Status::Warn));
        assert_eq!(status(&out, "device.verification_uri"), Some(Status::Fail));
        assert_eq!(status(&out, "device.pending"), Some(Status::Fail));
        assert_eq!(status(&out, "device.response"), Some(Status::Fail));

        let mut s = seen(P::Approve);
        s.final_poll = Some(err("authorization_pending"));
        s.polls_after_user = 3;
        assert_eq!(status(&judged(s), "device.tokens"), Some(Status::Fail));

        let mut s = seen(P::Approve);
        s.user = Some(UserSide::CodeRefused("Wrong code".into()));
        s.final_poll = None;
        assert_eq!(status(&judged(s), "device.tokens"), Some(Status::Fail));
    }

    #[test]
    fn a_harness_that_could_not_get_through_skips() {
        let mut s = seen(P::Approve);
        s.user = Some(UserSide::NoCodeForm("Sign in".into()));
        s.final_poll = None;
        assert_eq!(status(&judged(s), "device.tokens"), Some(Status::Skip));
    }

    #[test]
    fn denial_expiry_slow_down_and_reuse() {
        let mut s = seen(P::Deny);
        s.final_poll = Some(err("access_denied"));
        assert_eq!(status(&judged(s.clone()), "device.denied"), Some(Status::Pass));
        s.final_poll = Some(Answer::Tokens);
        assert_eq!(status(&judged(s.clone()), "device.denied"), Some(Status::Fail));
        s.final_poll = Some(err("invalid_grant"));
        assert_eq!(status(&judged(s), "device.denied"), Some(Status::Warn));

        let mut s = seen(P::Expire);
        s.user = None;
        s.waited = Some(31);
        s.final_poll = Some(err("expired_token"));
        assert_eq!(status(&judged(s.clone()), "device.expired"), Some(Status::Pass));
        s.final_poll = Some(err("invalid_grant"));
        assert_eq!(status(&judged(s.clone()), "device.expired"), Some(Status::Warn));
        s.final_poll = Some(err("authorization_pending"));
        assert_eq!(status(&judged(s.clone()), "device.expired"), Some(Status::Fail));
        s.waited = Some(10);
        assert_eq!(status(&judged(s), "device.expired"), Some(Status::Skip));

        let mut s = seen(P::SlowDown);
        s.fast_poll = Some(err("slow_down"));
        s.slowed_to = Some(6);
        assert_eq!(status(&judged(s.clone()), "device.slow_down"), Some(Status::Pass));
        s.fast_poll = Some(err("authorization_pending"));
        assert_eq!(status(&judged(s.clone()), "device.slow_down"), Some(Status::Pass));
        s.fast_poll = Some(err("access_denied"));
        assert_eq!(status(&judged(s), "device.slow_down"), Some(Status::Fail));

        let mut s = seen(P::Reuse);
        s.second = Some(err("invalid_grant"));
        assert_eq!(status(&judged(s.clone()), "device.one_time"), Some(Status::Pass));
        s.second = Some(Answer::Tokens);
        assert_eq!(status(&judged(s), "device.one_time"), Some(Status::Warn));
    }
}
