//! DPoP (RFC 9449), judged on what a DPoP probe saw. A probe's mistake is
//! judged only beside a correct request that worked: a provider that refuses
//! every proof refuses the faulty ones too, which says nothing.

use super::CheckResult;
use crate::flow::Evidence;
use crate::flow::dpop::{DpopSeen, Outcome};
use crate::suite::DpopProbe as P;

/// Every DPoP check the probe of `ev` can judge.
pub fn check(ev: &Evidence, out: &mut Vec<CheckResult>) {
    let Some(seen) = &ev.dpop else { return };
    let Some(probe) = seen.probe else { return };
    match probe {
        P::Token => {
            out.push(metadata(&seen.advertised));
            if let Some(c) = token_type(seen) {
                out.push(c);
            }
            if let Some(c) = bound(seen) {
                out.push(c);
            }
        }
        P::WrongHtu | P::WrongHtm | P::BadSignature => {
            let (id, what) = match probe {
                P::WrongHtu => ("dpop.proof_htu", "a proof whose `htu` is another URL than the token endpoint's"),
                P::WrongHtm => ("dpop.proof_htm", "a proof whose `htm` is GET, for a POST"),
                _ => ("dpop.proof_signature", "a proof whose signature does not verify"),
            };
            if let Some(mistake) = &seen.mistake {
                out.push(refused(
                    id,
                    &format!("a code exchange with {what}"),
                    mistake,
                    seen.exchange.as_ref(),
                    "the same code with a valid proof",
                    &PROOF_RULE,
                ));
            }
        }
        P::Userinfo | P::Bearer | P::Replay => {
            let id = match probe {
                P::Userinfo => "dpop.userinfo",
                P::Bearer => "dpop.bearer_refused",
                _ => "dpop.replay",
            };
            if seen.exchange.as_ref().is_some_and(|o| o.accepted) && !seen.bound() {
                out.push(CheckResult::skip(id, unbound(seen)));
                return;
            }
            let Some(correct) = &seen.userinfo else { return };
            match probe {
                P::Userinfo => out.push(if correct.accepted {
                    CheckResult::pass(
                        id,
                        format!(
                            "userinfo took the DPoP-bound access token with a proof carrying ath ({})",
                            correct.said
                        ),
                    )
                } else {
                    CheckResult::fail(id, "userinfo refused the DPoP-bound access token with a valid proof").ef(
                        "claims: the token in the DPoP scheme with a proof of its key carrying `ath` (RFC 9449 §7, §7.1; OIDC Core §5.3.1)",
                        correct.said.clone(),
                    )
                }),
                P::Bearer => {
                    if let Some(bearer) = &seen.bearer {
                        out.push(refused(
                            id,
                            "the DPoP-bound access token as a plain Bearer token",
                            bearer,
                            Some(correct),
                            "the token with its proof",
                            &BEARER_RULE,
                        ));
                    }
                }
                _ => {
                    if let (Some(first), Some(replayed)) = (&seen.first_use, &seen.replayed) {
                        out.push(replay(first, replayed, correct));
                    }
                }
            }
        }
        P::Refresh => {
            let (Some(other), Some(without), Some(right)) = (&seen.refresh_other_key, &seen.refresh_without_proof, &seen.refresh) else {
                return;
            };
            out.push(refresh(other, without, right));
        }
    }
}

/// Why the access token checks do not apply: the provider did not bind it.
fn unbound(seen: &DpopSeen) -> String {
    format!(
        "the provider issued the access token with token_type {}, not DPoP: it chose not to bind it to the key, which RFC 9449 §5 allows (MAY), so there is no bound token to present",
        seen.token_type.as_deref().unwrap_or("absent")
    )
}

/// `dpop_signing_alg_values_supported`: a list of asymmetric JWS algorithms.
fn metadata(advertised: &[String]) -> CheckResult {
    let id = "dpop.metadata";
    let bad: Vec<&str> = advertised
        .iter()
        .map(String::as_str)
        .filter(|a| a.eq_ignore_ascii_case("none") || a.to_ascii_uppercase().starts_with("HS"))
        .collect();
    if advertised.is_empty() {
        CheckResult::fail(id, "dpop_signing_alg_values_supported is empty").ef(
            "a list of the JWS algorithms taken for DPoP proofs (RFC 9449 §5.1), each asymmetric (§4.3)",
            "[]",
        )
    } else if !bad.is_empty() {
        CheckResult::fail(id, "dpop_signing_alg_values_supported lists algorithms a DPoP proof must not use").ef(
            "asymmetric JWS algorithms only: a proof whose `alg` is `none` or a symmetric (MAC) algorithm is invalid (RFC 9449 §4.2, §4.3)",
            bad.join(", "),
        )
    } else {
        CheckResult::pass(
            id,
            format!(
                "dpop_signing_alg_values_supported lists asymmetric algorithms only ({})",
                advertised.join(", ")
            ),
        )
    }
}

/// `token_type` of the code exchange with a valid proof.
fn token_type(seen: &DpopSeen) -> Option<CheckResult> {
    let id = "dpop.token_type";
    let exchange = seen.exchange.as_ref().filter(|o| o.accepted)?;
    Some(match seen.token_type.as_deref() {
        Some(t) if t.eq_ignore_ascii_case("DPoP") => CheckResult::pass(
            id,
            format!(
                "the code exchange with a valid proof got a DPoP-bound access token ({})",
                exchange.said
            ),
        ),
        Some(t) if t.eq_ignore_ascii_case("Bearer") => match &seen.jkt {
            Some(Some(_)) => CheckResult::fail(id, "the access token says it is a Bearer token, but it is bound to the proof's key").ef(
                "token_type DPoP for an access token bound to the key (RFC 9449 §5; `Bearer` signals a token that is not bound)",
                "token_type Bearer, and the JWT access token carries cnf.jkt",
            ),
            _ => CheckResult::pass(
                id,
                "the code exchange with a valid proof got a Bearer access token: the provider chose not to bind it, which RFC 9449 §5 allows (MAY)",
            ),
        },
        other => CheckResult::fail(id, "the token response's token_type is neither DPoP nor Bearer").ef(
            "token_type DPoP (a bound access token) or Bearer (RFC 9449 §5; RFC 6749 §5.1: REQUIRED)",
            other.unwrap_or("absent").to_owned(),
        ),
    })
}

/// A bound JWT access token names the key in `cnf.jkt` (RFC 9449 §6.1).
fn bound(seen: &DpopSeen) -> Option<CheckResult> {
    let id = "dpop.bound";
    seen.exchange.as_ref().filter(|o| o.accepted)?;
    if !seen.bound() {
        return Some(CheckResult::skip(id, unbound(seen)));
    }
    Some(match &seen.jkt {
        None => CheckResult::skip(
            id,
            "the access token is not a JWT, so its binding is not in it (RFC 9449 §6: the resource server learns it another way); the userinfo cases judge it",
        ),
        Some(Some(jkt)) if *jkt == seen.thumbprint => {
            CheckResult::pass(id, "the JWT access token's cnf.jkt is the thumbprint of the proof's key")
        }
        Some(found) => CheckResult::fail(id, "the DPoP-bound JWT access token does not name the proof's key in cnf.jkt").ef(
            format!(
                "cnf.jkt = {}, the RFC 7638 SHA-256 thumbprint of the proof's key (RFC 9449 §6.1: the jkt member MUST be it)",
                seen.thumbprint
            ),
            match found {
                Some(other) => format!("cnf.jkt = {}", short(other)),
                None => "no cnf.jkt".to_owned(),
            },
        ),
    })
}

fn short(s: &str) -> String {
    crate::report::escape::escape_controls(s).chars().take(80).collect()
}

/// What a refusal must be: the rule that asks for it, and the error code and
/// its rule where the text names one (with no requirement keyword: another
/// code is a warning).
struct RefusalRule {
    rule: &'static str,
    code: Option<(&'static str, &'static str)>,
}

/// A faulty proof at the token endpoint.
const PROOF_RULE: RefusalRule = RefusalRule {
    rule: "RFC 9449 §4.3, §5: the server MUST check the proof and refuses an invalid one (`invalid_dpop_proof`)",
    code: Some((
        "invalid_dpop_proof",
        "HTTP 400 `invalid_dpop_proof`: RFC 9449 §5 has the token endpoint answer an invalid DPoP proof with that code (an RFC 6749 §5.2 error response)",
    )),
};

/// A bound token presented as a bearer token.
const BEARER_RULE: RefusalRule = RefusalRule {
    rule: "RFC 9449 §7.2: a resource server MUST reject a DPoP-bound access token received as a bearer token",
    code: None,
};

/// A mistake refused, beside a correct request that then worked.
fn refused(id: &str, what: &str, mistake: &Outcome, correct: Option<&Outcome>, then: &str, rule: &RefusalRule) -> CheckResult {
    if mistake.accepted {
        return CheckResult::fail(id, format!("{what} was taken")).ef(format!("a refusal ({})", rule.rule), mistake.said.clone());
    }
    match correct {
        Some(c) if c.accepted && rule.code.is_some_and(|(code, _)| mistake.error.as_deref() != Some(code)) => {
            let (code, expected) = rule.code.unwrap_or_default();
            CheckResult::warn(
                id,
                format!(
                    "{what} was refused ({}) and {then} then worked, but not with the error code `{code}`",
                    mistake.said
                ),
            )
            .ef(expected, mistake.said.clone())
        }
        Some(c) if c.accepted => CheckResult::pass(id, format!("{what} was refused ({}); {then} then worked", mistake.said)),
        Some(c) => CheckResult::skip(
            id,
            format!(
                "{what} was refused ({}), but so was {then} ({}), so the refusal shows nothing",
                mistake.said, c.said
            ),
        ),
        None => CheckResult::skip(id, format!("{what} was refused ({}), and {then} was not sent", mistake.said)),
    }
}

/// The same proof twice at userinfo (RFC 9449 §11.1: servers can keep the
/// `jti`s they saw; a MAY).
fn replay(first: &Outcome, replayed: &Outcome, correct: &Outcome) -> CheckResult {
    let id = "dpop.replay";
    if !first.accepted {
        return CheckResult::skip(
            id,
            format!(
                "the proof's first use was already refused ({}), so its replay shows nothing",
                first.said
            ),
        );
    }
    if replayed.accepted {
        return CheckResult::fail(id, "a DPoP proof sent a second time (the same jti) was taken").ef(
            "a refusal of the replayed proof (RFC 9449 §11.1: servers can store the jti of the proofs they took and refuse a second use)",
            replayed.said.clone(),
        );
    }
    if correct.accepted {
        CheckResult::pass(
            id,
            format!("the replayed proof was refused ({}); a fresh proof then worked", replayed.said),
        )
    } else {
        CheckResult::skip(
            id,
            format!(
                "the replayed proof was refused ({}), but so was a fresh one ({}), so the refusal shows nothing",
                replayed.said, correct.said
            ),
        )
    }
}

/// A public client's refresh token is bound to its key (RFC 9449 §5).
fn refresh(other: &Outcome, without: &Outcome, right: &Outcome) -> CheckResult {
    let id = "dpop.refresh_bound";
    let expected = "a refusal: a public client's refresh token is bound to the key of the proof it was issued with, and each refresh needs a proof of that key (RFC 9449 §5: MUST)";
    if other.accepted {
        return CheckResult::fail(id, "the public client's refresh token was taken with a proof of another key")
            .ef(expected, other.said.clone());
    }
    if without.accepted {
        return CheckResult::fail(id, "the public client's refresh token was taken without a DPoP proof")
            .ef(expected, without.said.clone());
    }
    if right.accepted {
        CheckResult::pass(
            id,
            format!(
                "the refresh token was refused with another key's proof ({}) and without a proof ({}); with its own key it worked",
                other.said, without.said
            ),
        )
    } else {
        CheckResult::skip(
            id,
            format!(
                "the refresh token was refused with another key's proof and without a proof, but also with its own key ({}), so the refusals show nothing",
                right.said
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    fn ok(said: &str) -> Outcome {
        Outcome {
            accepted: true,
            said: said.into(),
            error: None,
        }
    }

    /// A refusal; its error code is the first word in backquotes.
    fn no(said: &str) -> Outcome {
        Outcome {
            accepted: false,
            said: said.into(),
            error: said.split('`').nth(1).map(str::to_owned),
        }
    }

    fn ev(probe: P, f: impl FnOnce(&mut DpopSeen)) -> Evidence {
        let mut seen = DpopSeen {
            probe: Some(probe),
            advertised: vec!["ES256".into()],
            thumbprint: "tp".into(),
            exchange: Some(ok("tokens")),
            token_type: Some("DPoP".into()),
            ..DpopSeen::default()
        };
        f(&mut seen);
        Evidence {
            dpop: Some(seen),
            ..Evidence::default()
        }
    }

    fn status_of(ev: &Evidence, id: &str) -> Option<Status> {
        let mut out = Vec::new();
        check(ev, &mut out);
        out.into_iter().find(|c| c.id == id).map(|c| c.status)
    }

    #[test]
    fn the_token_case_judges_metadata_token_type_and_cnf_jkt() {
        let good = ev(P::Token, |s| s.jkt = Some(Some("tp".into())));
        assert_eq!(status_of(&good, "dpop.metadata"), Some(Status::Pass));
        assert_eq!(status_of(&good, "dpop.token_type"), Some(Status::Pass));
        assert_eq!(status_of(&good, "dpop.bound"), Some(Status::Pass));
        let hs = ev(P::Token, |s| s.advertised = vec!["ES256".into(), "HS256".into()]);
        assert_eq!(status_of(&hs, "dpop.metadata"), Some(Status::Fail));
        let wrong = ev(P::Token, |s| s.jkt = Some(Some("other".into())));
        assert_eq!(status_of(&wrong, "dpop.bound"), Some(Status::Fail));
        let missing = ev(P::Token, |s| s.jkt = Some(None));
        assert_eq!(status_of(&missing, "dpop.bound"), Some(Status::Fail));
        let opaque = ev(P::Token, |s| s.jkt = None);
        assert_eq!(status_of(&opaque, "dpop.bound"), Some(Status::Skip));
        // Not bound (§5 MAY): no finding, unless the token says otherwise.
        let bearer = ev(P::Token, |s| s.token_type = Some("bearer".into()));
        assert_eq!(status_of(&bearer, "dpop.token_type"), Some(Status::Pass));
        assert_eq!(status_of(&bearer, "dpop.bound"), Some(Status::Skip));
        let lying = ev(P::Token, |s| {
            s.token_type = Some("Bearer".into());
            s.jkt = Some(Some("tp".into()));
        });
        assert_eq!(status_of(&lying, "dpop.token_type"), Some(Status::Fail));
        let odd = ev(P::Token, |s| s.token_type = Some("mac".into()));
        assert_eq!(status_of(&odd, "dpop.token_type"), Some(Status::Fail));
    }

    #[test]
    fn a_faulty_proof_must_be_refused_beside_a_valid_one_that_works() {
        let refused = ev(P::WrongHtu, |s| s.mistake = Some(no("refused: HTTP 400 `invalid_dpop_proof`")));
        assert_eq!(status_of(&refused, "dpop.proof_htu"), Some(Status::Pass));
        // Refused, but under another code than §5's: a warning that names the code.
        let other_code = ev(P::WrongHtu, |s| s.mistake = Some(no("refused: HTTP 400 `invalid_request`")));
        assert_eq!(status_of(&other_code, "dpop.proof_htu"), Some(Status::Warn));
        let no_code = ev(P::BadSignature, |s| s.mistake = Some(no("refused")));
        assert_eq!(status_of(&no_code, "dpop.proof_signature"), Some(Status::Warn));
        let taken = ev(P::WrongHtm, |s| {
            s.mistake = Some(ok("tokens"));
            s.exchange = None;
        });
        assert_eq!(status_of(&taken, "dpop.proof_htm"), Some(Status::Fail));
        let all = ev(P::BadSignature, |s| {
            s.mistake = Some(no("refused"));
            s.exchange = Some(no("refused"));
        });
        assert_eq!(status_of(&all, "dpop.proof_signature"), Some(Status::Skip));
    }

    #[test]
    fn userinfo_bearer_and_replay() {
        let ui = ev(P::Userinfo, |s| s.userinfo = Some(ok("HTTP 200")));
        assert_eq!(status_of(&ui, "dpop.userinfo"), Some(Status::Pass));
        let ui = ev(P::Userinfo, |s| s.userinfo = Some(no("HTTP 401")));
        assert_eq!(status_of(&ui, "dpop.userinfo"), Some(Status::Fail));
        let b = ev(P::Bearer, |s| {
            s.bearer = Some(ok("HTTP 200"));
            s.userinfo = Some(ok("HTTP 200"));
        });
        assert_eq!(status_of(&b, "dpop.bearer_refused"), Some(Status::Fail));
        let b = ev(P::Bearer, |s| {
            s.bearer = Some(no("HTTP 401"));
            s.userinfo = Some(no("HTTP 401"));
        });
        assert_eq!(status_of(&b, "dpop.bearer_refused"), Some(Status::Skip));
        let unbound = ev(P::Bearer, |s| s.token_type = Some("Bearer".into()));
        assert_eq!(status_of(&unbound, "dpop.bearer_refused"), Some(Status::Skip));
        let r = ev(P::Replay, |s| {
            s.first_use = Some(ok("HTTP 200"));
            s.replayed = Some(ok("HTTP 200"));
            s.userinfo = Some(ok("HTTP 200"));
        });
        assert_eq!(status_of(&r, "dpop.replay"), Some(Status::Fail));
        let r = ev(P::Replay, |s| {
            s.first_use = Some(ok("HTTP 200"));
            s.replayed = Some(no("HTTP 401"));
            s.userinfo = Some(ok("HTTP 200"));
        });
        assert_eq!(status_of(&r, "dpop.replay"), Some(Status::Pass));
    }

    #[test]
    fn a_public_clients_refresh_token_needs_its_key() {
        let r = |other, without, right| {
            ev(P::Refresh, |s| {
                s.refresh_other_key = Some(other);
                s.refresh_without_proof = Some(without);
                s.refresh = Some(right);
            })
        };
        assert_eq!(status_of(&r(no("x"), no("y"), ok("z")), "dpop.refresh_bound"), Some(Status::Pass));
        assert_eq!(status_of(&r(ok("x"), no("y"), ok("z")), "dpop.refresh_bound"), Some(Status::Fail));
        assert_eq!(status_of(&r(no("x"), ok("y"), ok("z")), "dpop.refresh_bound"), Some(Status::Fail));
        assert_eq!(status_of(&r(no("x"), no("y"), no("z")), "dpop.refresh_bound"), Some(Status::Skip));
    }
}
