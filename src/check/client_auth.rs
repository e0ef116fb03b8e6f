//! Client authentication with JWTs (OIDC Core §9; RFC 7523 §3), judged on
//! what the client-assertion probes saw. A refused assertion counts as a
//! rejection only when the conformant request right after it got tokens.

use super::CheckResult;
use crate::flow::assertion::Fault;
use crate::flow::client_auth::{AssertionTry, ClientAssertions};
use crate::flow::{EndpointAnswer, Evidence};
use crate::suite::Case;

/// The check a fault is judged under, and the rule it cites.
fn rule(t: &AssertionTry) -> (&'static str, &'static str) {
    if t.replay {
        return (
            "client_auth.replay",
            "RFC 7523 §3 item 7: the server MAY keep the `jti` values it saw to refuse a replay; OIDC Core §9: an assertion is used once",
        );
    }
    match t.fault {
        Fault::WrongAudience => (
            "client_auth.audience",
            "RFC 7523 §3 item 3: the server MUST reject any JWT that does not contain its own identity as the intended audience",
        ),
        Fault::Expired => (
            "client_auth.expired",
            "RFC 7523 §3 item 4: the server MUST reject any JWT with an expiration time that has passed (OIDC Core §9 `exp`)",
        ),
        Fault::WrongSubject => (
            "client_auth.subject",
            "RFC 7523 §3 item 2: for client authentication the subject MUST be the client_id",
        ),
        Fault::WrongIssuer => (
            "client_auth.issuer",
            "OIDC Core §9: `iss` MUST contain the client_id of the OAuth client (RFC 7521 §5.2)",
        ),
        Fault::BadSignature => (
            "client_auth.signature",
            "RFC 7523 §3 item 9: the server MUST reject JWTs with an invalid signature or MAC",
        ),
        Fault::AlgNone => (
            "client_auth.signature",
            "RFC 7523 §3 item 9: the server MUST reject JWTs with an invalid signature or MAC, and an unsigned one has neither; OIDC Discovery §3: `none` MUST NOT be used",
        ),
        Fault::NoExpiry => (
            "client_auth.expired",
            "RFC 7523 §3 item 4: the JWT MUST contain an `exp` claim (OIDC Core §9: `exp` REQUIRED)",
        ),
        Fault::IssuerAudience => (
            "client_auth.issuer_audience",
            "RFC 7523 §3 item 3: the issuer identifier identifies the server as an intended audience",
        ),
        Fault::TokenEndpointAudience => (
            "client_auth.token_endpoint_audience",
            "OIDC Core §9: the audience SHOULD be the URL of the token endpoint; RFC 7523 §3 item 3: it MAY be used",
        ),
        Fault::None => ("client_auth.accepted", "OIDC Core §9"),
    }
}

/// `HTTP 401 error=invalid_client`, for a verdict.
fn answer(r: &EndpointAnswer) -> String {
    match &r.error {
        Some(e) => format!("HTTP {} error={e}", r.status),
        None => format!("HTTP {}", r.status),
    }
}

/// Every client-authentication check the probes of `ev` can judge.
pub fn check(case: &Case, ev: &Evidence, out: &mut Vec<CheckResult>) {
    if !case.request.client_assertions {
        return;
    }
    let Some(seen) = &ev.client_assertions else {
        // The case's own code exchange or refresh, with a conformant assertion,
        // was refused as a failed client authentication (any other refusal is
        // `flow.token`'s).
        if ev.not_applicable.is_none()
            && let Some(e) = ev.error.as_ref().filter(|e| e.stage == "token" && e.error == "invalid_client")
        {
            out.push(
                CheckResult::fail(
                    "client_auth.accepted",
                    format!(
                        "a conformant `{}` assertion (aud the token endpoint URL, as OIDC Core §9 asks of clients) was refused",
                        case.auth.as_str()
                    ),
                )
                .ef(
                    "tokens",
                    format!("HTTP {} error={}", e.status.map(|s| s.to_string()).unwrap_or_default(), e.error),
                ),
            );
        }
        return;
    };
    out.extend(judge(seen));
}

/// The verdicts of the tries of one run.
pub fn judge(seen: &ClientAssertions) -> Vec<CheckResult> {
    let method = seen.method.map(|m| m.as_str()).unwrap_or("JWT");
    let mut out = Vec::new();
    let mut controls_failed = Vec::new();
    out.push(match &seen.token_endpoint_refused {
        None => CheckResult::pass(
            "client_auth.token_endpoint_audience",
            format!("a `{method}` assertion whose `aud` is the token endpoint URL gets tokens"),
        ),
        Some(refused) => CheckResult::fail(
            "client_auth.token_endpoint_audience",
            format!("a conformant `{method}` assertion whose `aud` is the token endpoint URL was refused; the same with the issuer as `aud` was taken"),
        )
        .ef(
            "tokens (OIDC Core §9: the audience SHOULD be the URL of the token endpoint)",
            refused.clone(),
        ),
    });
    if seen.token_endpoint_refused.is_some() {
        out.push(CheckResult::pass(
            "client_auth.issuer_audience",
            format!("`{method}` assertions whose `aud` is the issuer identifier get tokens"),
        ));
    }
    for t in &seen.tries {
        let (id, why) = rule(t);
        let what = if t.replay {
            "an assertion already accepted once (same `jti`)"
        } else {
            t.fault.describe()
        };
        if t.fault == Fault::IssuerAudience && !t.replay {
            out.push(match (t.issued, t.control) {
                (true, _) => CheckResult::pass(id, format!("{what} is accepted ({method})")),
                (false, Some(true)) => CheckResult::fail(
                    id,
                    format!("{what} is refused, while one for the token endpoint URL is taken ({method})"),
                )
                .ef(format!("tokens ({why})"), answer(&t.answer)),
                (false, _) => {
                    controls_failed.push(what);
                    CheckResult::error(
                        id,
                        format!("{what} is refused, and so is the conformant request after it: nothing can be told"),
                    )
                }
            });
            continue;
        }
        let mut code_finding = false;
        let verdict = match (t.issued, t.control) {
            (true, _) => CheckResult::fail(id, format!("{what} got tokens ({method})"))
                .ef(format!("refused with invalid_client ({why}; RFC 7523 §3.2)"), "tokens issued"),
            (false, Some(true)) => {
                code_finding = t.answer.error.as_deref().is_some_and(|e| e != "invalid_client");
                if code_finding {
                    out.push(
                        CheckResult::fail(
                            "negative.error_code",
                            format!("{what} is refused with another error than invalid_client"),
                        )
                        .ef(
                            "error=invalid_client (RFC 7523 §3.2: the error code MUST be invalid_client)",
                            answer(&t.answer),
                        ),
                    );
                }
                CheckResult::pass(
                    id,
                    format!(
                        "{what} is refused ({}), and a conformant one right after gets tokens",
                        answer(&t.answer)
                    ),
                )
            }
            (false, _) => {
                controls_failed.push(what);
                CheckResult::error(
                    id,
                    format!(
                        "{what} is refused ({}), but so is the conformant request after it: the rejection cannot be told apart from a client that no longer works",
                        answer(&t.answer)
                    ),
                )
            }
        };
        // The rule's own verdict first, then any finding on the error code.
        let at = out.len();
        out.insert(at.saturating_sub(usize::from(code_finding)), verdict);
    }
    out.push(if controls_failed.is_empty() {
        CheckResult::pass(
            "client_auth.accepted",
            format!("conformant `{method}` assertions (aud the token endpoint URL) get tokens, before and after each probe"),
        )
    } else {
        CheckResult::fail(
            "client_auth.accepted",
            format!("a conformant `{method}` assertion was refused after a probe"),
        )
        .ef(
            "tokens for each conformant assertion (OIDC Core §9)",
            format!("refused after {}", controls_failed.join("; ")),
        )
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;
    use crate::profile::ClientAuth;

    fn answer(status: u16, error: Option<&str>) -> EndpointAnswer {
        EndpointAnswer {
            status,
            error: error.map(str::to_owned),
            json: None,
            www_authenticate: None,
        }
    }

    fn tried(fault: Fault, issued: bool, control: Option<bool>, error: Option<&str>) -> AssertionTry {
        AssertionTry {
            fault,
            replay: false,
            answer: if issued { answer(200, None) } else { answer(401, error) },
            issued,
            control,
        }
    }

    fn verdicts(tries: Vec<AssertionTry>) -> Vec<(String, Status)> {
        judge(&ClientAssertions {
            method: Some(ClientAuth::PrivateKeyJwt),
            tries,
            token_endpoint_refused: None,
        })
        .into_iter()
        .filter(|c| c.id != "client_auth.token_endpoint_audience")
        .map(|c| (c.id, c.status))
        .collect()
    }

    #[test]
    fn a_refusal_counts_only_when_the_conformant_request_after_it_works() {
        let v = verdicts(vec![tried(Fault::WrongAudience, false, Some(true), Some("invalid_client"))]);
        assert_eq!(
            v,
            [
                ("client_auth.audience".into(), Status::Pass),
                ("client_auth.accepted".into(), Status::Pass)
            ]
        );
        let v = verdicts(vec![tried(Fault::Expired, false, Some(false), Some("invalid_client"))]);
        assert_eq!(
            v,
            [
                ("client_auth.expired".into(), Status::Error),
                ("client_auth.accepted".into(), Status::Fail)
            ]
        );
    }

    #[test]
    fn an_accepted_fault_fails_its_check() {
        for (fault, id) in [
            (Fault::WrongAudience, "client_auth.audience"),
            (Fault::Expired, "client_auth.expired"),
            (Fault::WrongSubject, "client_auth.subject"),
            (Fault::WrongIssuer, "client_auth.issuer"),
            (Fault::BadSignature, "client_auth.signature"),
            (Fault::AlgNone, "client_auth.signature"),
            (Fault::NoExpiry, "client_auth.expired"),
        ] {
            let v = verdicts(vec![tried(fault, true, None, None)]);
            assert_eq!(v[0], (id.to_owned(), Status::Fail), "{fault:?}");
            let c = &judge(&ClientAssertions {
                method: Some(ClientAuth::ClientSecretJwt),
                tries: vec![tried(fault, true, None, None)],
                token_endpoint_refused: None,
            })[1];
            assert!(c.expected.as_deref().is_some_and(|e| e.contains("RFC 7523 §3")), "{c:?}");
        }
    }

    #[test]
    fn the_issuer_as_audience_is_to_be_accepted_and_a_replay_may_be() {
        let v = verdicts(vec![tried(Fault::IssuerAudience, false, Some(true), Some("invalid_client"))]);
        assert_eq!(v[0], ("client_auth.issuer_audience".into(), Status::Fail));
        let v = verdicts(vec![tried(Fault::IssuerAudience, true, None, None)]);
        assert_eq!(v[0], ("client_auth.issuer_audience".into(), Status::Pass));
        let mut replay = tried(Fault::None, true, None, None);
        replay.replay = true;
        assert_eq!(verdicts(vec![replay])[0].0, "client_auth.replay");
    }

    #[test]
    fn a_provider_that_takes_only_its_issuer_is_warned_once() {
        let v: Vec<(String, Status)> = judge(&ClientAssertions {
            method: Some(ClientAuth::PrivateKeyJwt),
            tries: vec![],
            token_endpoint_refused: Some("HTTP 401 error=invalid_client".into()),
        })
        .into_iter()
        .map(|c| (c.id, c.status))
        .collect();
        assert_eq!(
            v,
            [
                ("client_auth.token_endpoint_audience".into(), Status::Fail),
                ("client_auth.issuer_audience".into(), Status::Pass),
                ("client_auth.accepted".into(), Status::Pass)
            ]
        );
    }

    #[test]
    fn another_error_than_invalid_client_is_its_own_finding() {
        let v = verdicts(vec![tried(Fault::BadSignature, false, Some(true), Some("invalid_grant"))]);
        assert!(v.contains(&("negative.error_code".into(), Status::Fail)), "{v:?}");
        assert!(v.contains(&("client_auth.signature".into(), Status::Pass)), "{v:?}");
    }
}
