//! Pushed authorization requests (RFC 9126), judged on what a PAR probe saw.

use super::CheckResult;
use crate::flow::par::{ParSeen, Taken};
use crate::flow::{EndpointAnswer, Evidence};
use crate::suite::ParProbe as P;

/// Every PAR check the probe of `ev` can judge.
pub fn check(ev: &Evidence, out: &mut Vec<CheckResult>) {
    let Some((seen, probe, push)) = judged(ev) else { return };
    out.push(pushed(push));
    if let Some(result) = authorized(seen) {
        out.push(result);
    }
    mistake(seen, probe, out);
}

/// Only the verdict on the probe's mistake: for a case whose authorization
/// ended in a refusal that is judged as something else (a request object
/// refused), where what the correct push led to is not a PAR finding.
pub fn mistake_only(ev: &Evidence, out: &mut Vec<CheckResult>) {
    if let Some((seen, probe, _)) = judged(ev) {
        mistake(seen, probe, out);
    }
}

/// The probe of a case that pushed as a PAR probe (not only because the
/// provider requires pushes: that is transport) and got an answer to its
/// correct push.
fn judged(ev: &Evidence) -> Option<(&ParSeen, P, &EndpointAnswer)> {
    let seen = ev.par.as_ref().filter(|s| !s.implied)?;
    Some((seen, seen.probe?, seen.push.as_ref()?))
}

/// The verdict on the probe's mistake, where it made one. A refusal of the
/// mistake shows something only beside a correct push that was taken, and
/// a refusal at the authorization endpoint only beside a correct request
/// that went through there: otherwise the provider may refuse everything.
fn mistake(seen: &ParSeen, probe: P, out: &mut Vec<CheckResult>) {
    let Some(push) = &seen.push else { return };
    let judged = [
        (P::UnregisteredRedirect, "par.validated"),
        (P::NamesOtherClient, "par.client_named"),
        (P::RequestObjectOtherClient, "par.request_object_client"),
        (P::Expire, "par.expiry"),
    ];
    if let Some((_, id)) = judged.iter().find(|(p, _)| *p == probe)
        && seen.not_probed.is_none()
    {
        if !taken(push) {
            out.push(CheckResult::skip(
                id,
                format!(
                    "the correct push was refused too ({}), so a refusal of the probe's mistake shows nothing",
                    answer(push)
                ),
            ));
            return;
        }
        let refused_later =
            matches!(seen.mistake_taken, Some(Taken::Refused(_))) || matches!(seen.other_client, Some((_, Taken::Refused(_))));
        if refused_later && seen.authorized != Some(true) {
            out.push(CheckResult::skip(
                id,
                "the probe's request_uri was refused at the authorization endpoint, but the correct request did not go through there either, so the refusal shows nothing",
            ));
            return;
        }
    }
    match probe {
        P::Push => {}
        P::WrongSecret | P::WithoutClientAuth => {
            if let Some(m) = &seen.mistake {
                out.push(client_auth(m, probe == P::WrongSecret));
            }
        }
        P::RequestUriInBody => {
            if let Some(m) = &seen.mistake {
                out.push(if taken(m) {
                    CheckResult::fail("par.request_uri_in_body", "a pushed request carrying a `request_uri` was taken").ef(
                        "HTTP 400 `invalid_request` (RFC 9126 §2.1: the server MUST reject a pushed request with a `request_uri`)",
                        answer(m),
                    )
                } else {
                    CheckResult::pass(
                        "par.request_uri_in_body",
                        format!(
                            "a pushed request carrying a `request_uri` was refused ({}){}",
                            answer(m),
                            match seen.request_uri_fetches {
                                Some(0) => "; the request_uri named a request object the provider could fetch, and it did not",
                                Some(_) => "; the provider fetched the request object the request_uri named before refusing (RFC 9126 §2.1 step 2 refuses the request for the parameter alone)",
                                None => "",
                            }
                        ),
                    )
                });
            }
        }
        P::UnregisteredRedirect => {
            if let Some(m) = &seen.mistake {
                out.push(validated(m, seen.mistake_taken.as_ref(), seen.authenticated));
            }
        }
        P::Reuse => {
            if let Some(again) = &seen.reuse {
                out.push(match again {
                    Taken::Refused(how) => CheckResult::pass(
                        "par.one_time",
                        format!("the `request_uri` of a completed authorization was refused when sent again ({how})"),
                    ),
                    Taken::Issued | Taken::Page(_) => {
                        CheckResult::warn("par.one_time", "the `request_uri` of a completed authorization was taken again").ef(
                            "a refusal (RFC 9126 §4: request_uri values SHOULD be one-time use)",
                            describe(again),
                        )
                    }
                    Taken::ToUnregistered => CheckResult::fail(
                        "par.one_time",
                        "sent again, the `request_uri` sent the user to a redirect URI the client never registered",
                    )
                    .ef("a refusal", describe(again)),
                });
            }
        }
        P::OtherClient => out.push(client_bound(seen)),
        P::NamesOtherClient => out.push(named_other(seen)),
        P::RequestObjectOtherClient => out.push(object_client(seen)),
        P::AssertionAudiences => out.push(assertion_audiences(seen)),
        P::Expire => out.push(expired(seen)),
        P::Unpushed => {
            if let Some(t) = &seen.unpushed {
                out.push(match t {
                    Taken::Refused(how) => CheckResult::pass(
                        "par.required",
                        format!("an unpushed authorization request was refused ({how}), as require_pushed_authorization_requests says"),
                    ),
                    t => CheckResult::fail(
                        "par.required",
                        "an unpushed authorization request was taken, though discovery says require_pushed_authorization_requests: true",
                    )
                    .ef(
                        "a refusal: RFC 9126 §5, the server \"accepts authorization request data only via PAR\"",
                        describe(t),
                    ),
                });
            }
        }
        P::Get => {
            if let Some(m) = &seen.mistake {
                out.push(if m.status == 405 {
                    CheckResult::pass("par.method", "a GET to the endpoint was answered HTTP 405")
                } else if taken(m) {
                    CheckResult::fail("par.method", "a GET to the endpoint was taken as a pushed request").ef(
                        "HTTP 405 Method Not Allowed (RFC 9126 §2.3; the endpoint takes POST, §2.1)",
                        answer(m),
                    )
                } else {
                    CheckResult::warn("par.method", "a GET to the endpoint was refused, but not with HTTP 405")
                        .ef("HTTP 405 Method Not Allowed (RFC 9126 §2.3)", answer(m))
                });
            }
        }
    }
}

/// The correct push: HTTP 201 with a `request_uri` string and a positive
/// integer `expires_in` (RFC 9126 §2.2).
fn pushed(push: &EndpointAnswer) -> CheckResult {
    let json = push.json.as_ref();
    let uri = json.and_then(|j| j.get("request_uri"));
    let expires = json.and_then(|j| j.get("expires_in"));
    let mut problems = Vec::new();
    if !(200..300).contains(&push.status) {
        return CheckResult::fail("par.push", "a valid pushed authorization request was refused")
            .ef("HTTP 201 with `request_uri` and `expires_in`", answer(push));
    }
    if push.status != 201 {
        problems.push(format!("HTTP {} instead of 201 Created", push.status));
    }
    if uri.is_none_or(|u| u.as_str().is_none_or(str::is_empty)) {
        problems.push(match uri {
            None => "no `request_uri`".to_owned(),
            Some(v) => format!("`request_uri` is not a string but {}", kind(v)),
        });
    }
    if expires.is_none_or(|e| e.as_u64().is_none_or(|n| n == 0)) {
        problems.push(match expires {
            None => "no `expires_in`".to_owned(),
            Some(v) => format!("`expires_in` is not a positive integer but {}", kind(v)),
        });
    }
    if problems.is_empty() {
        let secs = expires.and_then(serde_json::Value::as_u64).unwrap_or_default();
        CheckResult::pass(
            "par.push",
            format!("the push was answered HTTP 201 with a `request_uri` good for {secs} s"),
        )
    } else {
        CheckResult::fail("par.push", "the answer to a valid push departs from RFC 9126 §2.2").ef(
            "HTTP 201 Created, `request_uri` (a string) and `expires_in` (a positive integer)",
            problems.join("; "),
        )
    }
}

/// The authorization with only `client_id` and the pushed `request_uri`
/// (RFC 9126 §4).
fn authorized(seen: &ParSeen) -> Option<CheckResult> {
    seen.request_uri.as_ref()?;
    Some(match seen.authorized? {
        true => CheckResult::pass(
            "par.authorization",
            "the authorization request with only `client_id` and the pushed `request_uri` was answered with a code or tokens",
        ),
        false => CheckResult::fail(
            "par.authorization",
            "the authorization request with only `client_id` and the pushed `request_uri` was not answered with a code or tokens",
        )
        .ef(
            "the pushed request processed as if sent at the authorization endpoint (RFC 9126 §4)",
            "no code or tokens at the redirect URI (see the trace)",
        ),
    })
}

fn client_auth(m: &EndpointAnswer, wrong_secret: bool) -> CheckResult {
    let what = if wrong_secret {
        "a push with a wrong client secret"
    } else {
        "a confidential client's push without client authentication"
    };
    if taken(m) {
        return CheckResult::fail("par.client_auth", format!("{what} was taken")).ef(
            "refused with `invalid_client` (RFC 9126 §2: the client authenticates as at the token endpoint; RFC 6749 §5.2)",
            answer(m),
        );
    }
    match m.error.as_deref() {
        Some("invalid_client") => CheckResult::pass("par.client_auth", format!("{what} was refused ({})", answer(m))),
        _ if !wrong_secret && m.error.as_deref() == Some("invalid_request") => {
            CheckResult::pass("par.client_auth", format!("{what} was refused ({})", answer(m)))
        }
        _ => CheckResult::warn("par.client_auth", format!("{what} was refused, but not with `invalid_client`"))
            .ef("HTTP 401 (or 400) `invalid_client` (RFC 6749 §5.2)", answer(m)),
    }
}

/// The pushed `request_uri` with another client's `client_id` (RFC 9126 §2.2).
fn client_bound(seen: &ParSeen) -> CheckResult {
    let id = "par.client_bound";
    let Some((other, taken)) = &seen.other_client else {
        return CheckResult::skip(
            id,
            "the profile declares no other client to send the pushed request_uri as (a made-up client is refused whatever the request_uri, which shows nothing)",
        );
    };
    match taken {
        Taken::Refused(how) if seen.authorized == Some(true) => CheckResult::pass(
            id,
            format!(
                "the pushed request_uri sent with client {other}'s client_id was refused ({how}); the pushing client's own authorization with it then went through"
            ),
        ),
        Taken::Refused(how) => CheckResult::skip(
            id,
            format!(
                "the pushed request_uri sent with client {other}'s client_id was refused ({how}), but the pushing client's own authorization with it did not go through either, so the refusal shows nothing"
            ),
        ),
        t => CheckResult::fail(
            id,
            format!("the pushed request_uri was taken with another client's client_id ({other})"),
        )
        .ef(
            "a refusal: RFC 9126 §2.2, \"The request_uri value MUST be bound to the client that posted the authorization request\"",
            describe(t),
        ),
    }
}

/// A push with a redirect URI the client never registered (RFC 9126 §2.1,
/// §2.4). `authenticated`: the push carried the client's credentials, and
/// §2.4 lets a provider take unregistered redirect URIs from such clients.
fn validated(m: &EndpointAnswer, then: Option<&Taken>, authenticated: bool) -> CheckResult {
    let id = "par.validated";
    if !taken(m) {
        return CheckResult::pass(
            id,
            format!("a push with a redirect URI the client never registered was refused ({})", answer(m)),
        );
    }
    match then {
        Some(Taken::Refused(how)) => CheckResult::pass(
            id,
            format!("a push with an unregistered redirect URI was taken, and its `request_uri` refused at the authorization endpoint ({how})"),
        ),
        Some(t) if authenticated => CheckResult::skip(
            id,
            format!(
                "the provider took a redirect URI the client never registered from a push the client authenticated ({}): RFC 9126 §2.4 lets a provider take per-request redirect URIs from clients with credentials (MAY), so nothing is judged here; a public client's push (`par::push-unregistered-redirect-uri-public-client`) is where exact matching binds",
                describe(t)
            ),
        ),
        Some(t) => CheckResult::fail(
            id,
            "a pushed request with a redirect URI the client never registered was taken, and so was its `request_uri`",
        )
        .ef(
            "refused at the endpoint (HTTP 400 `invalid_request`) or at the authorization endpoint, never redirected there (RFC 9126 §2.1: validated as an authorization request; §2.4 relaxes exact matching only for clients with credentials, and this push carried none; OIDC Core §3.1.2.1: redirect_uri MUST exactly match a registered one)",
            describe(t),
        ),
        None => CheckResult::fail(
            id,
            "a pushed request with a redirect URI the client never registered was taken",
        )
        .ef("HTTP 400 `invalid_request` (RFC 9126 §2.1)", answer(m)),
    }
}

/// A push authenticated as the case's client in another client's name
/// (RFC 9126 §2.1, §2.2).
fn named_other(seen: &ParSeen) -> CheckResult {
    let id = "par.client_named";
    if let Some(why) = &seen.not_probed {
        return CheckResult::skip(id, why.clone());
    }
    let Some(m) = &seen.mistake else {
        return CheckResult::skip(id, "no push in another client's name was made");
    };
    if !taken(m) {
        return CheckResult::pass(
            id,
            format!(
                "a push authenticated as the case's client whose client_id named another client was refused ({})",
                answer(m)
            ),
        );
    }
    match &seen.other_client {
        Some((other, Taken::Refused(how))) => CheckResult::warn(
            id,
            format!("a push authenticated as the case's client whose client_id named another client ({other}) was taken, though its request_uri was then refused as that client's ({how})"),
        )
        .ef(
            "the push refused: the client of a pushed request is the client that authenticated it (RFC 9126 §2.1 validates the pushed request as the authenticated client's; inferred, not a sentence of the RFC)",
            answer(m),
        ),
        Some((other, t)) => CheckResult::fail(
            id,
            format!("a request pushed by the case's client in another client's name ({other}) was taken as that client's"),
        )
        .ef(
            "a refusal: RFC 9126 §2.2, \"The request_uri value MUST be bound to the client that posted the authorization request\"; here another client's client_id could use it",
            describe(t),
        ),
        None => CheckResult::fail(
            id,
            "a push authenticated as the case's client whose client_id named another client was taken",
        )
        .ef(
            "a refusal (RFC 9126 §2.1, §2.2: the pushed request is the authenticated client's)",
            answer(m),
        ),
    }
}

/// A `request_uri` sent once its `expires_in` passed (RFC 9126 §4).
fn expired(seen: &ParSeen) -> CheckResult {
    let id = "par.expiry";
    if let Some(why) = &seen.not_probed {
        return CheckResult::skip(id, why.clone());
    }
    match (&seen.mistake, &seen.mistake_taken) {
        (Some(m), _) if !taken(m) => CheckResult::skip(
            id,
            format!(
                "the push to be left to expire was refused ({}), so there was no request_uri to wait out",
                answer(m)
            ),
        ),
        (_, Some(Taken::Refused(how))) => {
            CheckResult::pass(id, format!("the request_uri was refused once its expires_in had passed ({how})"))
        }
        (_, Some(t)) => CheckResult::fail(id, "a request_uri was taken after its expires_in had passed").ef(
            "a refusal: RFC 9126 §4, \"An expired request_uri MUST be rejected as invalid\"",
            describe(t),
        ),
        (_, None) => CheckResult::skip(id, "no expired request_uri was sent"),
    }
}

/// Pushes whose client assertion names, as `aud`, each audience RFC 9126 §2
/// has the server accept.
fn assertion_audiences(seen: &ParSeen) -> CheckResult {
    let id = "par.assertion_audience";
    if let Some(why) = &seen.not_probed {
        return CheckResult::skip(id, why.clone());
    }
    if seen.audiences.is_empty() {
        return CheckResult::skip(id, "no push with another assertion audience was made");
    }
    let refused: Vec<String> = seen
        .audiences
        .iter()
        .filter(|(_, a)| !taken(a))
        .map(|(which, a)| format!("{which} ({})", answer(a)))
        .collect();
    let all: Vec<&str> = seen.audiences.iter().map(|(which, _)| which.as_str()).collect();
    if refused.is_empty() {
        return CheckResult::pass(
            id,
            format!("a push was taken with a client assertion naming each as `aud`: {}", all.join(", ")),
        );
    }
    if refused.len() == seen.audiences.len() && seen.push.as_ref().is_none_or(|p| !taken(p)) {
        return CheckResult::skip(
            id,
            format!(
                "every push was refused, the correct one too, so the audiences show nothing: {}",
                refused.join("; ")
            ),
        );
    }
    CheckResult::fail(id, "a push whose client assertion names the server as RFC 9126 §2 allows was refused").ef(
        "taken: \"the authorization server MUST accept its issuer identifier, token endpoint URL, or pushed authorization request endpoint URL as values that identify it as an intended audience\" (RFC 9126 §2)",
        format!("refused with `aud` {}", refused.join("; ")),
    )
}

/// A push whose signed request object names another client in `client_id`
/// (RFC 9126 §3).
fn object_client(seen: &ParSeen) -> CheckResult {
    let id = "par.request_object_client";
    if let Some(why) = &seen.not_probed {
        return CheckResult::skip(id, why.clone());
    }
    let Some(m) = &seen.mistake else {
        return CheckResult::skip(id, "no request object in another client's name was pushed");
    };
    if !taken(m) {
        return CheckResult::pass(
            id,
            format!(
                "a push whose request object named another client in `client_id` was refused ({})",
                answer(m)
            ),
        );
    }
    match &seen.mistake_taken {
        Some(Taken::Refused(how)) => CheckResult::pass(
            id,
            format!("a push whose request object named another client in `client_id` was taken, and its `request_uri` refused at the authorization endpoint ({how})"),
        ),
        Some(t) => CheckResult::fail(
            id,
            "a pushed request object whose `client_id` claim is another client's was taken, and so was its `request_uri`",
        )
        .ef(
            "a refusal, at the endpoint or at the authorization endpoint: RFC 9126 §3, the server MUST \"reject the request if the authenticated client_id does not match the client_id claim in the Request Object\"",
            describe(t),
        ),
        None => CheckResult::fail(id, "a pushed request object whose `client_id` claim is another client's was taken")
            .ef("HTTP 400 `invalid_request_object` (RFC 9126 §3)", answer(m)),
    }
}

/// The endpoint took the request: a success carrying a `request_uri`.
fn taken(m: &EndpointAnswer) -> bool {
    (200..300).contains(&m.status) && m.json.as_ref().is_some_and(|j| j.contains_key("request_uri"))
}

fn describe(t: &Taken) -> String {
    match t {
        Taken::Issued => "a code or tokens at the redirect URI".into(),
        Taken::Page(which) => format!("the provider's {which} page (the request was taken)"),
        Taken::ToUnregistered => "a redirect to the unregistered redirect URI".into(),
        Taken::Refused(how) => how.clone(),
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// `HTTP 400 error=invalid_request`, for a verdict.
fn answer(r: &EndpointAnswer) -> String {
    match &r.error {
        Some(e) => format!("HTTP {} `{e}`", r.status),
        None => format!("HTTP {}", r.status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;
    use serde_json::json;

    fn ans(status: u16, body: serde_json::Value) -> EndpointAnswer {
        EndpointAnswer {
            status,
            error: body.get("error").and_then(|e| e.as_str()).map(str::to_owned),
            json: body.as_object().cloned(),
            www_authenticate: None,
        }
    }

    #[test]
    fn a_push_is_201_with_a_request_uri_and_a_positive_lifetime() {
        let good = ans(
            201,
            json!({"request_uri": "urn:ietf:params:oauth:request_uri:abc", "expires_in": 60}),
        );
        assert_eq!(pushed(&good).status, Status::Pass);
        for bad in [
            ans(200, json!({"request_uri": "urn:x", "expires_in": 60})),
            ans(201, json!({"request_uri": 5, "expires_in": 60})),
            ans(201, json!({"request_uri": "urn:x", "expires_in": "60"})),
            ans(201, json!({"request_uri": "urn:x", "expires_in": 0})),
            ans(201, json!({"request_uri": "urn:x"})),
            ans(400, json!({"error": "invalid_request"})),
        ] {
            assert_eq!(pushed(&bad).status, Status::Fail, "{bad:?}");
        }
    }

    #[test]
    fn client_authentication_and_method_verdicts() {
        let taken = ans(201, json!({"request_uri": "urn:x", "expires_in": 60}));
        assert_eq!(client_auth(&taken, true).status, Status::Fail);
        assert_eq!(
            client_auth(&ans(401, json!({"error": "invalid_client"})), true).status,
            Status::Pass
        );
        assert_eq!(
            client_auth(&ans(400, json!({"error": "invalid_request"})), true).status,
            Status::Warn
        );
        assert_eq!(
            client_auth(&ans(400, json!({"error": "invalid_request"})), false).status,
            Status::Pass
        );
        for authenticated in [true, false] {
            assert_eq!(
                validated(&ans(400, json!({"error": "invalid_request"})), None, authenticated).status,
                Status::Pass
            );
            assert_eq!(
                validated(&taken, Some(&Taken::Refused("an error page".into())), authenticated).status,
                Status::Pass
            );
        }
        // RFC 9126 §2.4: a client with credentials MAY get per-request
        // redirect URIs; a public client never does.
        assert_eq!(validated(&taken, Some(&Taken::ToUnregistered), false).status, Status::Fail);
        assert_eq!(validated(&taken, Some(&Taken::Page("sign-in")), false).status, Status::Fail);
        let allowed = validated(&taken, Some(&Taken::ToUnregistered), true);
        assert_eq!(allowed.status, Status::Skip);
        assert!(allowed.message.contains("§2.4"), "{}", allowed.message);
    }

    /// A push in another client's name: refused passes, taken as that
    /// client's fails, taken but unusable by it warns, not made skips.
    #[test]
    fn a_push_in_another_clients_name_is_refused() {
        let judged = |mistake: Option<EndpointAnswer>, other: Option<Taken>, not_probed: Option<&str>| {
            let ev = Evidence {
                par: Some(ParSeen {
                    probe: Some(P::NamesOtherClient),
                    push: Some(ans(201, json!({"request_uri": "urn:x", "expires_in": 60}))),
                    mistake,
                    other_client: other.map(|t| ("client-b".to_owned(), t)),
                    not_probed: not_probed.map(str::to_owned),
                    authorized: Some(true),
                    ..ParSeen::default()
                }),
                ..Evidence::default()
            };
            let mut out = Vec::new();
            check(&ev, &mut out);
            out.into_iter().find(|c| c.id == "par.client_named").unwrap()
        };
        let taken = || Some(ans(201, json!({"request_uri": "urn:y", "expires_in": 60})));
        let refused = Some(ans(400, json!({"error": "invalid_request"})));
        assert_eq!(judged(refused, None, None).status, Status::Pass);
        assert_eq!(judged(taken(), Some(Taken::Issued), None).status, Status::Fail);
        assert_eq!(judged(taken(), Some(Taken::Page("sign-in")), None).status, Status::Fail);
        assert_eq!(
            judged(taken(), Some(Taken::Refused("an error page".into())), None).status,
            Status::Warn
        );
        let not = judged(None, None, Some("the client posts its secret"));
        assert_eq!(not.status, Status::Skip);
        assert!(not.message.contains("posts its secret"));
    }

    /// A mistake's refusal is judged only beside a correct push that was
    /// taken, and a refusal at the authorization endpoint only beside a
    /// correct request that went through there.
    #[test]
    fn a_refused_mistake_shows_nothing_where_the_correct_request_failed_too() {
        let verdict = |push: EndpointAnswer, mistake: EndpointAnswer, then: Option<Taken>, authorized: Option<bool>| {
            let ev = Evidence {
                par: Some(ParSeen {
                    probe: Some(P::RequestObjectOtherClient),
                    push: Some(push),
                    mistake: Some(mistake),
                    mistake_taken: then,
                    authorized,
                    ..ParSeen::default()
                }),
                ..Evidence::default()
            };
            let mut out = Vec::new();
            check(&ev, &mut out);
            out.into_iter().find(|c| c.id == "par.request_object_client").unwrap().status
        };
        let taken = || ans(201, json!({"request_uri": "urn:x", "expires_in": 60}));
        let refused = || ans(400, json!({"error": "invalid_request_object"}));
        assert_eq!(verdict(taken(), refused(), None, Some(true)), Status::Pass);
        assert_eq!(verdict(refused(), refused(), None, None), Status::Skip);
        let later = || Some(Taken::Refused("an error page".into()));
        assert_eq!(verdict(taken(), taken(), later(), Some(true)), Status::Pass);
        assert_eq!(verdict(taken(), taken(), later(), Some(false)), Status::Skip);
        assert_eq!(verdict(taken(), taken(), Some(Taken::Issued), Some(true)), Status::Fail);
    }

    /// Every audience taken passes, one refused fails, all refused beside a
    /// refused correct push skips; a client without assertions skips.
    #[test]
    fn each_assertion_audience_of_rfc_9126_is_taken() {
        let judged = |answers: &[u16], push: u16, not_probed: Option<&str>| {
            let a = |s: u16| {
                if s == 201 {
                    ans(201, json!({"request_uri": "urn:x", "expires_in": 60}))
                } else {
                    ans(s, json!({"error": "invalid_client"}))
                }
            };
            let seen = ParSeen {
                probe: Some(P::AssertionAudiences),
                push: Some(a(push)),
                audiences: [
                    "the issuer identifier",
                    "the token endpoint URL",
                    "the pushed authorization request endpoint URL",
                ]
                .iter()
                .zip(answers)
                .map(|(w, s)| ((*w).to_owned(), a(*s)))
                .collect(),
                not_probed: not_probed.map(str::to_owned),
                ..ParSeen::default()
            };
            assertion_audiences(&seen)
        };
        assert_eq!(judged(&[201, 201, 201], 201, None).status, Status::Pass);
        let one = judged(&[201, 201, 401], 201, None);
        assert_eq!(one.status, Status::Fail);
        assert!(
            one.found
                .as_deref()
                .is_some_and(|f| f.contains("pushed authorization request endpoint URL")),
            "{one:?}"
        );
        assert_eq!(judged(&[401, 401, 401], 401, None).status, Status::Skip);
        assert_eq!(judged(&[401, 401, 401], 201, None).status, Status::Fail);
        assert_eq!(judged(&[], 201, Some("client_secret_basic")).status, Status::Skip);
    }

    /// A pushed object naming another client: refused at the endpoint or at
    /// its request_uri passes; taken there too fails.
    #[test]
    fn a_pushed_request_object_of_another_client_is_refused() {
        let taken_push = || ans(201, json!({"request_uri": "urn:y", "expires_in": 60}));
        let judged = |mistake: EndpointAnswer, then: Option<Taken>| {
            object_client(&ParSeen {
                probe: Some(P::RequestObjectOtherClient),
                push: Some(taken_push()),
                mistake: Some(mistake),
                mistake_taken: then,
                ..ParSeen::default()
            })
        };
        assert_eq!(
            judged(ans(400, json!({"error": "invalid_request_object"})), None).status,
            Status::Pass
        );
        assert_eq!(
            judged(
                taken_push(),
                Some(Taken::Refused("error `invalid_request_object` at the redirect URI".into()))
            )
            .status,
            Status::Pass
        );
        assert_eq!(judged(taken_push(), Some(Taken::Issued)).status, Status::Fail);
        assert_eq!(judged(taken_push(), Some(Taken::Page("sign-in"))).status, Status::Fail);
    }

    /// A refused push with a `request_uri` passes; the verdict says whether
    /// the provider fetched the object it named, and a taken one fails.
    #[test]
    fn a_request_uri_in_the_pushed_body_is_refused_and_the_fetch_is_said() {
        let judged = |mistake: EndpointAnswer, fetches: Option<usize>| {
            let ev = Evidence {
                par: Some(ParSeen {
                    probe: Some(P::RequestUriInBody),
                    push: Some(ans(201, json!({"request_uri": "urn:x", "expires_in": 60}))),
                    mistake: Some(mistake),
                    request_uri_fetches: fetches,
                    ..ParSeen::default()
                }),
                ..Evidence::default()
            };
            let mut out = Vec::new();
            check(&ev, &mut out);
            out.into_iter().find(|c| c.id == "par.request_uri_in_body").unwrap()
        };
        let refused = || ans(400, json!({"error": "invalid_request"}));
        let fetched = judged(refused(), Some(2));
        assert_eq!(fetched.status, Status::Pass);
        assert!(fetched.message.contains("fetched the request object"), "{}", fetched.message);
        let not_fetched = judged(refused(), Some(0));
        assert!(
            not_fetched.message.contains("could fetch, and it did not"),
            "{}",
            not_fetched.message
        );
        let remote = judged(refused(), None);
        assert!(!remote.message.contains("fetch"), "{}", remote.message);
        let taken = judged(ans(201, json!({"request_uri": "urn:y", "expires_in": 60})), Some(1));
        assert_eq!(taken.status, Status::Fail);
    }
}
