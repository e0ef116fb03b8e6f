//! DPoP (RFC 9449), judged on what a DPoP probe saw. A probe's mistake is
//! judged only beside a correct request that worked: a provider that refuses
//! every proof refuses the faulty ones too, which says nothing.

use super::CheckResult;
use crate::flow::Evidence;
use crate::flow::dpop::{DpopSeen, Fault, Outcome};
use crate::suite::DpopProbe as P;
use serde_json::Value;

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
        // Every token-endpoint proof probe: `seen.fault()` says which.
        _ if seen.fault().is_some() => {
            let Some((fault, (id, item))) = seen.fault().and_then(|f| Some((f, proof_check(f)?))) else {
                return;
            };
            if fault.about_nonce() && seen.nonce_unused {
                out.push(CheckResult::skip(
                    id,
                    "the server took a proof without a nonce: it does not use DPoP nonces (RFC 9449 §8: MAY), so there is no nonce to get wrong",
                ));
                return;
            }
            if fault.about_nonce() && seen.mistake.is_none() {
                out.push(CheckResult::skip(
                    id,
                    "the first code exchange, without a nonce, was refused but not with `use_dpop_nonce` and a nonce, so there was no nonce to get wrong",
                ));
                return;
            }
            let Some(mistake) = &seen.mistake else { return };
            let what = format!("a code exchange with {}", fault.describe());
            let then = if seen.fresh_code {
                "a fresh code with a valid proof (the provider used the first up at the refused attempt, which RFC 6749 allows)"
            } else {
                "the same code with a valid proof"
            };
            if fault.to_be_taken() {
                out.push(taken(id, &what, mistake, seen.exchange.as_ref(), then, item));
            } else if matches!(fault, Fault::OldIat | Fault::FutureIat) && mistake.accepted && seen.nonce_used {
                out.push(CheckResult::skip(
                    id,
                    format!(
                        "{what} was taken ({}), but the server uses DPoP nonces, and RFC 9449 §4.3 item 11 lets it judge a proof's age by the nonce it issued instead of by `iat`",
                        mistake.said
                    ),
                ));
            } else {
                let rule = RefusalRule {
                    rule: item,
                    code: if fault.about_nonce() { NONCE_CODE } else { PROOF_CODE },
                };
                out.push(refused(id, &what, mistake, seen.exchange.as_ref(), then, &rule));
            }
        }
        P::BoundClient => {
            if let Some(mistake) = &seen.mistake {
                out.push(refused(
                    "dpop.client_bound",
                    "a code exchange without a DPoP proof, by a client registered with `dpop_bound_access_tokens: true`",
                    mistake,
                    seen.exchange.as_ref(),
                    if seen.fresh_code {
                        "a fresh code with a proof (the provider used the first up at the refused attempt, which RFC 6749 allows)"
                    } else {
                        "the same code with a proof"
                    },
                    &BOUND_CLIENT_RULE,
                ));
            }
        }
        P::Introspect => {
            if seen.exchange.as_ref().is_some_and(|o| o.accepted) && !seen.bound() {
                out.push(CheckResult::skip("dpop.introspection", unbound(seen)));
            } else if let Some(answer) = &seen.introspection {
                out.push(introspection(answer, &seen.thumbprint));
            }
        }
        P::PushedJktMismatch => {
            if let Some(mistake) = &seen.mistake {
                out.push(refused(
                    "dpop.par_jkt_match",
                    "a push whose DPoP proof is of one key and whose `dpop_jkt` names another",
                    mistake,
                    seen.exchange.as_ref(),
                    "the push with the proof alone, and the code exchange with a proof of its key,",
                    &PAR_JKT_RULE,
                ));
            }
        }
        P::Jkt | P::PushedProof => {
            if let Some(mistake) = &seen.mistake {
                let (id, what, rule) = if probe == P::Jkt {
                    (
                        "dpop.jkt_bound",
                        "a code exchange with a proof of another key than the one the authorization request's `dpop_jkt` named",
                        &JKT_RULE,
                    )
                } else {
                    (
                        "dpop.par_bound",
                        "a code exchange with a proof of another key than the one that signed the pushed request's DPoP proof",
                        &PAR_RULE,
                    )
                };
                out.push(refused(
                    id,
                    what,
                    mistake,
                    seen.exchange.as_ref(),
                    if seen.fresh_code {
                        "a fresh code with a proof of the key it is bound to (the provider used the first up at the refused attempt, which RFC 6749 allows)"
                    } else {
                        "the same code with a proof of the key it is bound to"
                    },
                    rule,
                ));
            }
        }
        P::Userinfo | P::Bearer | P::Replay | P::UserinfoNoAth | P::UserinfoWrongAth | P::UserinfoOtherKey | P::SchemeCase => {
            let id = match probe {
                P::Userinfo => "dpop.userinfo",
                P::Bearer => "dpop.bearer_refused",
                P::UserinfoNoAth | P::UserinfoWrongAth => "dpop.userinfo_ath",
                P::UserinfoOtherKey => "dpop.userinfo_key",
                P::SchemeCase => "dpop.scheme_case",
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
                P::UserinfoNoAth | P::UserinfoWrongAth | P::UserinfoOtherKey => {
                    let Some(mistake) = &seen.userinfo_mistake else { return };
                    let what = match probe {
                        P::UserinfoNoAth => "the DPoP-bound access token at userinfo with a proof without `ath`",
                        P::UserinfoWrongAth => {
                            "the DPoP-bound access token at userinfo with a proof whose `ath` is the hash of another token"
                        }
                        _ => "the DPoP-bound access token at userinfo with a valid proof of another key",
                    };
                    out.push(refused(
                        id,
                        what,
                        mistake,
                        Some(correct),
                        "the token with a valid proof",
                        &RS_PROOF_RULE,
                    ));
                    if let Some(c) = challenge(mistake, correct) {
                        out.push(c);
                    }
                }
                P::SchemeCase => {
                    if let Some(lower) = &seen.scheme_case {
                        out.push(taken(
                            id,
                            "the DPoP-bound access token at userinfo in the scheme written `dpop`",
                            lower,
                            Some(correct),
                            "the scheme written `DPoP`",
                            "RFC 9110 §11.1: an authentication scheme is a case-insensitive token, so `dpop` is the `DPoP` scheme of RFC 9449 §7.1",
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
        _ => {}
    }
}

/// Why the access token checks do not apply: the provider did not bind it.
fn unbound(seen: &DpopSeen) -> String {
    format!(
        "the provider issued the access token with token_type {}, not DPoP: it chose not to bind it to the key, which RFC 9449 §5 allows (MAY), so there is no bound token to present",
        seen.token_type.as_deref().unwrap_or("absent")
    )
}

/// The introspection of a DPoP-bound access token (RFC 9449 §6.2): `cnf.jkt`
/// the thumbprint of the key it is bound to, `token_type` (if any) `DPoP`.
fn introspection(answer: &crate::flow::EndpointAnswer, thumbprint: &str) -> CheckResult {
    let id = "dpop.introspection";
    let Some(json) = answer.json.as_ref().filter(|_| answer.status == 200) else {
        return CheckResult::skip(
            id,
            format!(
                "the introspection endpoint answered HTTP {}{} (the introspection checks judge that), so there is no binding to read",
                answer.status,
                answer.error.as_deref().map(|e| format!(" `{e}`")).unwrap_or_default()
            ),
        );
    };
    if json.get("active") != Some(&Value::Bool(true)) {
        return CheckResult::skip(
            id,
            "the introspection response does not say the live token is `active: true` (the introspection checks judge that), so there is no binding to read",
        );
    }
    if let Some(tt) = json.get("token_type")
        && !tt.as_str().is_some_and(|t| t.eq_ignore_ascii_case("DPoP"))
    {
        return CheckResult::fail(id, "the introspection of a DPoP-bound access token gives another token_type").ef(
            "`token_type` DPoP, or none: RFC 9449 §6.2, \"If the token_type member is included in the introspection response, it MUST contain the value DPoP\"",
            format!("`token_type` {tt}"),
        );
    }
    match json.get("cnf").and_then(|c| c.get("jkt")) {
        Some(Value::String(jkt)) if jkt == thumbprint => CheckResult::pass(
            id,
            "the introspection response of the DPoP-bound access token carries `cnf.jkt`, the thumbprint of its key",
        ),
        Some(other) => CheckResult::fail(id, "the introspection response names another key than the one the token is bound to").ef(
            format!("`cnf.jkt` {thumbprint} (RFC 9449 §6.2 with §6.1: the base64url SHA-256 JWK thumbprint of the key the token is bound to)"),
            format!("`cnf.jkt` {other}"),
        ),
        None => CheckResult::warn(id, "the introspection response of a DPoP-bound access token does not convey its binding").ef(
            "`cnf` with `jkt`: RFC 9449 §6.2 conveys the key's hash that way (no requirement keyword), and §6 has resource servers \"reliably identify whether an access token is DPoP-bound\"",
            "no `cnf.jkt`",
        ),
    }
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

/// The error code of a refused proof at the token endpoint.
const PROOF_CODE: Option<(&str, &str)> = Some((
    "invalid_dpop_proof",
    "HTTP 400 `invalid_dpop_proof`: RFC 9449 §5 has the token endpoint answer an invalid DPoP proof with that code (an RFC 6749 §5.2 error response)",
));

/// The check and the rule of a token-endpoint proof probe.
fn proof_check(fault: Fault) -> Option<(&'static str, &'static str)> {
    Some(match fault {
        Fault::WrongHtu => (
            "dpop.proof_htu",
            "RFC 9449 §4.3 item 9, §5: `htu` MUST match the request's URI, query and fragment aside",
        ),
        Fault::WrongHtm => ("dpop.proof_htm", "RFC 9449 §4.3 item 8, §5: `htm` MUST match the request's method"),
        Fault::BadSignature => (
            "dpop.proof_signature",
            "RFC 9449 §4.3 item 6, §5: the signature MUST verify with the key in `jwk`",
        ),
        Fault::TwoProofs => (
            "dpop.proof_single",
            "RFC 9449 §4.3 item 1, §5: there MUST NOT be more than one `DPoP` header",
        ),
        Fault::WrongTyp => ("dpop.proof_typ", "RFC 9449 §4.3 item 4, §5: `typ` MUST be `dpop+jwt`"),
        Fault::AlgNone | Fault::SymmetricAlg => (
            "dpop.proof_alg",
            "RFC 9449 §4.3 item 5, §5: `alg` MUST be a registered asymmetric signature algorithm, not `none`",
        ),
        Fault::PrivateKey => (
            "dpop.proof_private_key",
            "RFC 9449 §4.3 item 7, §5: the `jwk` MUST NOT contain a private key",
        ),
        Fault::NoJti => (
            "dpop.proof_jti",
            "RFC 9449 §4.3 item 3, §4.2: every required claim, `jti` among them, MUST be in the proof",
        ),
        Fault::NoHtm | Fault::NoHtu | Fault::NoIat => (
            "dpop.proof_claims",
            "RFC 9449 §4.3 item 3, §4.2: every required claim (`jti`, `htm`, `htu`, `iat`) MUST be in the proof",
        ),
        Fault::NoTyp => (
            "dpop.proof_typ",
            "RFC 9449 §4.3 item 4, §4.2: `typ` is required and MUST be `dpop+jwt`",
        ),
        Fault::NoAlg => (
            "dpop.proof_alg",
            "RFC 9449 §4.3 item 5, §4.2: `alg` is required and MUST be a registered asymmetric signature algorithm",
        ),
        Fault::NoJwk => (
            "dpop.proof_signature",
            "RFC 9449 §4.3 item 6, §4.2: `jwk` is required, and the signature MUST verify with the key it holds",
        ),
        Fault::NotJwt => (
            "dpop.proof_jwt",
            "RFC 9449 §4.3 item 2, §5: the `DPoP` header MUST be a single well-formed JWT",
        ),
        Fault::OldIat | Fault::FutureIat => (
            "dpop.proof_iat",
            "RFC 9449 §4.3 item 11, §11.1: a proof is taken only within a limited window around its `iat` (\"servers MUST only accept DPoP proofs for a limited time window\")",
        ),
        Fault::HtuWithQuery => (
            "dpop.htu_query",
            "RFC 9449 §4.3 item 9: `htu` is compared with the request's URI \"ignoring any query and fragment parts\"",
        ),
        Fault::HtuUnnormalized => (
            "dpop.htu_normalized",
            "RFC 9449 §4.3: servers SHOULD apply RFC 3986 syntax- and scheme-based normalization (§6.2.2, §6.2.3) before comparing `htu`",
        ),
        Fault::WrongNonce => (
            "dpop.nonce_checked",
            "RFC 9449 §8: \"If the nonce claim in the DPoP proof does not exactly match a nonce recently supplied by the authorization server to the client, the authorization server MUST reject the request\"",
        ),
        Fault::NoNonce => (
            "dpop.nonce_required",
            "RFC 9449 §11.3: \"A server MUST NOT accept any DPoP proofs without the nonce claim when a DPoP nonce has been provided to the client\"",
        ),
        // Not a token-endpoint proof probe.
        _ => return None,
    })
}

/// The error code RFC 9449 §8 gives a proof without the current nonce.
const NONCE_CODE: Option<(&str, &str)> = Some((
    "use_dpop_nonce",
    "HTTP 400 `use_dpop_nonce` with a new `DPoP-Nonce`: RFC 9449 §8 uses that code \"when supplying a new nonce value when there was a nonce mismatch\" (no requirement keyword)",
));

/// A variation the server is to take, beside the correct request.
fn taken(id: &str, what: &str, variation: &Outcome, correct: Option<&Outcome>, then: &str, rule: &str) -> CheckResult {
    if variation.accepted {
        return CheckResult::pass(id, format!("{what} was taken ({})", variation.said));
    }
    match correct {
        Some(c) if c.accepted => CheckResult::fail(id, format!("{what} was refused, though {then} then worked"))
            .ef(format!("taken ({rule})"), variation.said.clone()),
        Some(c) => CheckResult::skip(
            id,
            format!(
                "{what} was refused ({}), but so was {then} ({}), so the refusal shows nothing",
                variation.said, c.said
            ),
        ),
        None => CheckResult::skip(id, format!("{what} was refused ({}), and {then} was not sent", variation.said)),
    }
}

/// The `DPoP` challenge of a userinfo refusal (RFC 9449 §7.1): a server
/// "can" answer with one; when it does, it SHOULD name the `error` (the
/// request carried a token) and SHOULD list `algs`.
fn challenge(refusal: &Outcome, correct: &Outcome) -> Option<CheckResult> {
    let id = "dpop.challenge";
    if refusal.accepted || !correct.accepted {
        return None;
    }
    let Some(ch) = refusal.challenge.as_deref().filter(|_| refusal.status == Some(401)) else {
        return Some(CheckResult::skip(
            id,
            format!(
                "the refusal ({}) carries no 401 `DPoP` challenge; RFC 9449 §7.1 says a server can answer with one, so its content is not judged",
                refusal.said
            ),
        ));
    };
    let shown: String = crate::report::escape::escape_controls(ch).chars().take(160).collect();
    let error = crate::flow::challenge_param(ch, "error").filter(|e| !e.is_empty());
    let algs = crate::flow::challenge_param(ch, "algs").filter(|a| !a.trim().is_empty());
    Some(match (error, algs) {
        (Some(e), Some(a)) => CheckResult::pass(id, format!("the refusal's challenge is `DPoP` with error `{e}` and algs `{a}`")),
        (None, _) => CheckResult::fail(id, "the refusal's DPoP challenge names no error").ef(
            "an `error` parameter (RFC 9449 §7.1: it SHOULD be included when the request carried an access token that failed authentication)",
            shown,
        ),
        (_, None) => CheckResult::fail(id, "the refusal's DPoP challenge lists no algs").ef(
            "an `algs` parameter listing the proof algorithms taken (RFC 9449 §7.1: it SHOULD be included)",
            shown,
        ),
    })
}

/// A bound token presented as a bearer token.
const BEARER_RULE: RefusalRule = RefusalRule {
    rule: "RFC 9449 §7.2: a resource server MUST reject a DPoP-bound access token received as a bearer token",
    code: None,
};

/// A code bound with `dpop_jkt`, redeemed with another key.
const JKT_RULE: RefusalRule = RefusalRule {
    rule: "RFC 9449 §10: the server verifies that the proof's key matches the authorization request's `dpop_jkt`; \"If they do not match, it MUST reject the request\"",
    code: None,
};

/// A token request without a proof by a client whose tokens are DPoP-bound.
const BOUND_CLIENT_RULE: RefusalRule = RefusalRule {
    rule: "RFC 9449 §5.2: for a client registered with `dpop_bound_access_tokens: true`, the authorization server MUST reject token requests that do not contain the DPoP header",
    code: None,
};

/// A code pushed with a DPoP proof, redeemed with another key.
const PAR_RULE: RefusalRule = RefusalRule {
    rule: "RFC 9449 §10.1: with a DPoP proof at the pushed request endpoint, the server \"MUST further behave as if the contained public key's thumbprint was provided using dpop_jkt\" and reject a token request without a proof of that key",
    code: None,
};

/// A push whose `dpop_jkt` and DPoP proof name different keys.
const PAR_JKT_RULE: RefusalRule = RefusalRule {
    rule: "RFC 9449 §10.1: where a pushed request carries both a DPoP proof and `dpop_jkt`, the server MUST reject it if the `dpop_jkt` thumbprint does not match the proof's public key",
    code: None,
};

/// A faulty proof with the bound token at userinfo.
const RS_PROOF_RULE: RefusalRule = RefusalRule {
    rule: "RFC 9449 §4.3 item 12, §7.1: with an access token, the proof's `ath` MUST be the token's hash and its key the one the token is bound to",
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

    /// Every DPoP probe of the suite format (its JSON schema's values): a
    /// probe that makes a proof fault has the check that judges it, and one
    /// that does not has none.
    #[test]
    fn every_proof_probe_has_its_check() {
        let schema = serde_json::to_value(schemars::schema_for!(P)).unwrap();
        let values = |v: &Value| -> Vec<String> {
            let listed = v.get("enum").and_then(Value::as_array).into_iter().flatten();
            let constant = v.get("const").into_iter();
            listed.chain(constant).filter_map(Value::as_str).map(str::to_owned).collect()
        };
        let mut names = values(&schema);
        for alt in schema.get("oneOf").and_then(Value::as_array).into_iter().flatten() {
            names.extend(values(alt));
        }
        assert!(names.len() > 30, "the probes of the schema: {names:?}");
        let mut faults = 0;
        for name in &names {
            let probe: P = serde_json::from_value(Value::String(name.clone())).unwrap();
            match probe.proof_fault() {
                Some(f) => {
                    faults += 1;
                    assert!(proof_check(f).is_some(), "{name} makes a proof fault but no check judges it");
                }
                None => assert!(proof_check(probe).is_none(), "{name} makes no proof fault"),
            }
        }
        assert!(faults >= 22, "{faults} proof probes");
    }

    /// RFC 9449 §6.2: `token_type` DPoP or absent, `cnf.jkt` the key's
    /// thumbprint; another type or key fails, no `cnf` warns, and an answer
    /// that is no live token's says nothing.
    #[test]
    fn an_introspected_bound_token_names_its_key_and_type() {
        let judged = |status: u16, body: serde_json::Value| {
            let answer = crate::flow::EndpointAnswer {
                status,
                error: body.get("error").and_then(|e| e.as_str()).map(str::to_owned),
                json: body.as_object().cloned(),
                www_authenticate: None,
            };
            introspection(&answer, "thumb").status
        };
        use serde_json::json;
        assert_eq!(judged(200, json!({"active": true, "cnf": {"jkt": "thumb"}})), Status::Pass);
        assert_eq!(
            judged(200, json!({"active": true, "token_type": "DPoP", "cnf": {"jkt": "thumb"}})),
            Status::Pass
        );
        assert_eq!(
            judged(200, json!({"active": true, "token_type": "dpop", "cnf": {"jkt": "thumb"}})),
            Status::Pass
        );
        assert_eq!(
            judged(200, json!({"active": true, "token_type": "Bearer", "cnf": {"jkt": "thumb"}})),
            Status::Fail
        );
        assert_eq!(judged(200, json!({"active": true, "cnf": {"jkt": "other"}})), Status::Fail);
        assert_eq!(judged(200, json!({"active": true})), Status::Warn);
        assert_eq!(judged(200, json!({"active": false})), Status::Skip);
        assert_eq!(judged(401, json!({"error": "invalid_client"})), Status::Skip);
    }

    fn ok(said: &str) -> Outcome {
        Outcome {
            accepted: true,
            said: said.into(),
            ..Outcome::default()
        }
    }

    /// A refusal; its error code is the first word in backquotes.
    fn no(said: &str) -> Outcome {
        Outcome {
            accepted: false,
            said: said.into(),
            error: said.split('`').nth(1).map(str::to_owned),
            ..Outcome::default()
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
    fn every_faulty_proof_has_its_check_and_the_variations_are_to_be_taken() {
        let cases = [
            (P::TwoProofs, "dpop.proof_single"),
            (P::WrongTyp, "dpop.proof_typ"),
            (P::AlgNone, "dpop.proof_alg"),
            (P::SymmetricAlg, "dpop.proof_alg"),
            (P::PrivateKey, "dpop.proof_private_key"),
            (P::NoJti, "dpop.proof_jti"),
            (P::NoHtm, "dpop.proof_claims"),
            (P::NoHtu, "dpop.proof_claims"),
            (P::NoIat, "dpop.proof_claims"),
            (P::NotJwt, "dpop.proof_jwt"),
            (P::NoTyp, "dpop.proof_typ"),
            (P::NoAlg, "dpop.proof_alg"),
            (P::NoJwk, "dpop.proof_signature"),
            (P::OldIat, "dpop.proof_iat"),
            (P::FutureIat, "dpop.proof_iat"),
        ];
        for (probe, id) in cases {
            let refused = ev(probe, |s| s.mistake = Some(no("refused: HTTP 400 `invalid_dpop_proof`")));
            assert_eq!(status_of(&refused, id), Some(Status::Pass), "{id}");
            let taken = ev(probe, |s| s.mistake = Some(ok("tokens")));
            assert_eq!(status_of(&taken, id), Some(Status::Fail), "{id}");
            let other_code = ev(probe, |s| s.mistake = Some(no("refused: HTTP 400 `invalid_grant`")));
            assert_eq!(status_of(&other_code, id), Some(Status::Warn), "{id}");
        }
        let jkt = ev(P::Jkt, |s| s.mistake = Some(no("refused: HTTP 400 `invalid_grant`")));
        assert_eq!(status_of(&jkt, "dpop.jkt_bound"), Some(Status::Pass));
        let jkt = ev(P::Jkt, |s| s.mistake = Some(ok("tokens")));
        assert_eq!(status_of(&jkt, "dpop.jkt_bound"), Some(Status::Fail));
        let bound = ev(P::BoundClient, |s| s.mistake = Some(ok("tokens")));
        assert_eq!(status_of(&bound, "dpop.client_bound"), Some(Status::Fail));
        let bound = ev(P::BoundClient, |s| s.mistake = Some(no("refused: HTTP 400 `invalid_dpop_proof`")));
        assert_eq!(status_of(&bound, "dpop.client_bound"), Some(Status::Pass));
        let pushed = ev(P::PushedProof, |s| s.mistake = Some(no("refused: HTTP 400 `invalid_grant`")));
        assert_eq!(status_of(&pushed, "dpop.par_bound"), Some(Status::Pass));
        let pushed = ev(P::PushedProof, |s| {
            s.mistake = Some(no("refused: HTTP 400 `invalid_grant`"));
            s.exchange = Some(no("refused: HTTP 400 `invalid_grant`"));
        });
        assert_eq!(status_of(&pushed, "dpop.par_bound"), Some(Status::Skip));
        // A server that uses nonces may judge age by them (§4.3 item 11).
        let nonce = ev(P::OldIat, |s| {
            s.mistake = Some(ok("tokens"));
            s.nonce_used = true;
        });
        assert_eq!(status_of(&nonce, "dpop.proof_iat"), Some(Status::Skip));
        // The htu variations are to be taken: a refusal beside a working request fails.
        for (probe, id) in [(P::HtuWithQuery, "dpop.htu_query"), (P::HtuUnnormalized, "dpop.htu_normalized")] {
            let taken = ev(probe, |s| s.mistake = Some(ok("tokens")));
            assert_eq!(status_of(&taken, id), Some(Status::Pass), "{id}");
            let refused = ev(probe, |s| s.mistake = Some(no("refused: HTTP 400 `invalid_dpop_proof`")));
            assert_eq!(status_of(&refused, id), Some(Status::Fail), "{id}");
            let all = ev(probe, |s| {
                s.mistake = Some(no("refused"));
                s.exchange = Some(no("refused"));
            });
            assert_eq!(status_of(&all, id), Some(Status::Skip), "{id}");
        }
    }

    fn refusal(status: u16, challenge: Option<&str>) -> Outcome {
        Outcome {
            status: Some(status),
            challenge: challenge.map(str::to_owned),
            ..no("HTTP 401")
        }
    }

    #[test]
    fn userinfo_takes_a_bound_token_only_with_its_keys_proof_and_says_why_not() {
        for (probe, id) in [
            (P::UserinfoNoAth, "dpop.userinfo_ath"),
            (P::UserinfoWrongAth, "dpop.userinfo_ath"),
            (P::UserinfoOtherKey, "dpop.userinfo_key"),
        ] {
            let good = ev(probe, |s| {
                s.userinfo_mistake = Some(refusal(401, Some(r#"DPoP error="invalid_dpop_proof", algs="ES256 RS256""#)));
                s.userinfo = Some(ok("HTTP 200"));
            });
            assert_eq!(status_of(&good, id), Some(Status::Pass), "{id}");
            assert_eq!(status_of(&good, "dpop.challenge"), Some(Status::Pass));
            let taken = ev(probe, |s| {
                s.userinfo_mistake = Some(ok("HTTP 200"));
                s.userinfo = Some(ok("HTTP 200"));
            });
            assert_eq!(status_of(&taken, id), Some(Status::Fail), "{id}");
            assert_eq!(status_of(&taken, "dpop.challenge"), None);
            let dead = ev(probe, |s| {
                s.userinfo_mistake = Some(refusal(401, None));
                s.userinfo = Some(no("HTTP 401"));
            });
            assert_eq!(status_of(&dead, id), Some(Status::Skip), "{id}");
        }
        let challenge = |status, header: Option<&str>| {
            ev(P::UserinfoOtherKey, |s| {
                s.userinfo_mistake = Some(refusal(status, header));
                s.userinfo = Some(ok("HTTP 200"));
            })
        };
        // SHOULDs: error and algs; a failure here is reported as a warning by the level.
        let bare = challenge(401, Some(r#"DPoP realm="x""#));
        assert_eq!(status_of(&bare, "dpop.challenge"), Some(Status::Fail));
        let no_algs = challenge(401, Some(r#"DPoP error="invalid_token""#));
        assert_eq!(status_of(&no_algs, "dpop.challenge"), Some(Status::Fail));
        // No DPoP challenge, or not a 401: a server "can" send one, nothing to judge.
        assert_eq!(status_of(&challenge(401, None), "dpop.challenge"), Some(Status::Skip));
        assert_eq!(
            status_of(
                &challenge(400, Some(r#"DPoP error="invalid_request", algs="ES256""#)),
                "dpop.challenge"
            ),
            Some(Status::Skip)
        );
    }

    #[test]
    fn the_scheme_is_case_insensitive() {
        let taken = ev(P::SchemeCase, |s| {
            s.scheme_case = Some(ok("HTTP 200"));
            s.userinfo = Some(ok("HTTP 200"));
        });
        assert_eq!(status_of(&taken, "dpop.scheme_case"), Some(Status::Pass));
        let refused = ev(P::SchemeCase, |s| {
            s.scheme_case = Some(no("HTTP 401"));
            s.userinfo = Some(ok("HTTP 200"));
        });
        assert_eq!(status_of(&refused, "dpop.scheme_case"), Some(Status::Fail));
        let unbound = ev(P::SchemeCase, |s| s.token_type = Some("Bearer".into()));
        assert_eq!(status_of(&unbound, "dpop.scheme_case"), Some(Status::Skip));
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
