//! Back-channel logout (OIDC Back-Channel Logout 1.0), judged on what the
//! harness's receiver got after a logout: the POST (§2.5) and its logout token
//! (§2.4, validated as §2.6 has the RP do it), against the ID token of the
//! session that ended.

use serde_json::Value;

use super::CheckResult;
use super::catalogue::Requirement;
use super::jwt;
use crate::flow::logout::{BACKCHANNEL_WAIT, Landing};
use crate::flow::{Evidence, Provider};
use crate::suite::Case;

/// The event member of a logout token (§2.4).
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Every back-channel check the probe of `ev` can judge.
pub async fn check(p: &Provider, case: &Case, ev: &Evidence, out: &mut Vec<CheckResult>) {
    let Some(seen) = &ev.logout else { return };
    let Some(received) = &seen.backchannel else { return };
    let id_token = super::last_id_token(ev);
    // §2.1: where the provider says it supports sessions, ID tokens carry `sid`.
    if p.discovery.backchannel_logout_session_supported == Some(Value::Bool(true))
        && let Some(idt) = &id_token
    {
        out.push(super::sid_in_id_token(
            "backchannel.sid_in_id_token",
            "backchannel_logout_session_supported",
            "OIDC Back-Channel Logout §2.1: \"If supported, the sid Claim is also included in ID Tokens\"",
            idt,
        ));
    }
    let went_through = seen.logout.as_ref().is_some_and(Landing::went_through);
    let Some(post) = received.first() else {
        out.push(if went_through {
            CheckResult::fail(
                "backchannel.delivered",
                "after the logout, the client's backchannel_logout_uri received nothing",
            )
            .ef(
                "an HTTP POST with a `logout_token` to the registered backchannel_logout_uri (OIDC Back-Channel Logout §2.5)",
                format!("no request within {} s", BACKCHANNEL_WAIT.as_secs()),
            )
        } else {
            CheckResult::skip(
                "backchannel.delivered",
                "the logout did not go through, so no back-channel logout was due (logout.redirect says why)",
            )
        });
        return;
    };
    let form = post.content_type.as_deref().is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    let Some(token) = post.logout_token.as_ref().filter(|_| form) else {
        out.push(
            CheckResult::fail(
                "backchannel.delivered",
                "the POST to the backchannel_logout_uri carried no form `logout_token`",
            )
            .ef(
                "`Content-Type: application/x-www-form-urlencoded` with a `logout_token` parameter (§2.5)",
                format!(
                    "Content-Type {}, {}",
                    post.content_type.as_deref().unwrap_or("absent"),
                    if post.logout_token.is_some() {
                        "a logout_token"
                    } else {
                        "no logout_token"
                    }
                ),
            ),
        );
        return;
    };
    out.push(CheckResult::pass(
        "backchannel.delivered",
        format!(
            "the backchannel_logout_uri received a POST with a logout_token{}",
            if received.len() > 1 {
                format!(" ({} POSTs in all)", received.len())
            } else {
                String::new()
            }
        ),
    ));
    let d = match jwt::decode(token.expose()) {
        Ok(d) => d,
        Err(e) => {
            out.push(
                CheckResult::fail("backchannel.signature", "the logout token is not a JWT")
                    .ef("a signed JWT (OIDC Back-Channel Logout §2.4)", e),
            );
            return;
        }
    };
    out.push(match jwt::verify(token.expose(), &d, &*p.jwks().await, None) {
        jwt::Verified::Ok => CheckResult::pass(
            "backchannel.signature",
            format!(
                "the logout token is signed ({}) and verifies with the provider's keys",
                d.alg().unwrap_or("?")
            ),
        ),
        jwt::Verified::Bad(why) => CheckResult::fail("backchannel.signature", "the logout token's signature does not verify").ef(
            "a JWT signed with a key of the provider's jwks_uri, never `alg: none` (OIDC Back-Channel Logout §2.4, §2.6)",
            why,
        ),
    });
    let client_id = p.profile.clients.get(&case.client).map(|c| c.id.clone()).unwrap_or_default();
    out.push(claims(&d, &p.discovery.issuer, &client_id));
    out.push(events(&d));
    out.push(if d.claims.contains_key("nonce") {
        CheckResult::fail("backchannel.no_nonce", "the logout token carries a `nonce`").ef(
            "no `nonce` claim (OIDC Back-Channel Logout §2.4: \"A nonce Claim MUST NOT be present\")",
            "a `nonce`",
        )
    } else {
        CheckResult::pass("backchannel.no_nonce", "the logout token carries no `nonce`")
    });
    out.push(subject(&d, id_token.as_ref()));
}

/// §2.4: `iss`, `aud`, `iat`, `exp`, `jti`.
fn claims(d: &jwt::Decoded, issuer: &str, client_id: &str) -> CheckResult {
    let mut wrong = Vec::new();
    if d.str_claim("iss") != Some(issuer) {
        wrong.push(format!("`iss` is {}, not the issuer", shown(d.claims.get("iss"))));
    }
    if !d.audiences().iter().any(|a| a == client_id) {
        wrong.push(format!("`aud` ({}) does not contain the client id", shown(d.claims.get("aud"))));
    }
    for name in ["iat", "exp"] {
        if !d.claims.get(name).is_some_and(Value::is_number) {
            wrong.push(format!("no numeric `{name}`"));
        }
    }
    if d.claims.get("jti").and_then(Value::as_str).is_none_or(str::is_empty) {
        wrong.push("no `jti`".into());
    }
    if wrong.is_empty() {
        CheckResult::pass(
            "backchannel.claims",
            "the logout token has the issuer as `iss`, the client in `aud`, and `iat`, `exp` and `jti`",
        )
    } else {
        CheckResult::fail(
            "backchannel.claims",
            "the logout token lacks a required claim or names the wrong party",
        )
        .ef(
            "`iss` = the issuer, `aud` containing the client id, and `iat`, `exp`, `jti` (each REQUIRED, OIDC Back-Channel Logout §2.4)",
            wrong.join("; "),
        )
    }
}

/// §2.4: `events` holds the back-channel logout event, a JSON object (ideally `{}`).
fn events(d: &jwt::Decoded) -> CheckResult {
    let event = d.claims.get("events").and_then(|e| e.get(EVENT));
    match event {
        Some(Value::Object(o)) if o.is_empty() => CheckResult::pass("backchannel.events", format!("`events` holds `{EVENT}` with `{{}}`")),
        Some(Value::Object(_)) => CheckResult::warn("backchannel.events", "the logout event's value is not the empty JSON object")
            .ef(
                "`{}` (OIDC Back-Channel Logout §2.4: it SHOULD be the empty JSON object)",
                "an object with members",
            )
            .at_level(Requirement::Should, "OIDC-BackChannel-2.4"),
        _ => CheckResult::fail(
            "backchannel.events",
            "the logout token's `events` does not hold the back-channel logout event as a JSON object",
        )
        .ef(
            format!("`events` with the member `{EVENT}`, a JSON object (OIDC Back-Channel Logout §2.4: MUST)"),
            shown(d.claims.get("events")),
        ),
    }
}

/// §2.4: `sub` or `sid`, and the session that ended's (§2.6 steps 10, 11).
fn subject(d: &jwt::Decoded, id_token: Option<&jwt::Decoded>) -> CheckResult {
    let sub = d.str_claim("sub");
    let sid = d.str_claim("sid");
    if sub.is_none() && sid.is_none() {
        return CheckResult::fail("backchannel.subject", "the logout token has neither `sub` nor `sid`")
            .ef("a `sub` or a `sid` claim, or both (OIDC Back-Channel Logout §2.4: MUST)", "neither");
    }
    let mut wrong = Vec::new();
    if let Some(idt) = id_token {
        if let (Some(a), Some(b)) = (sub, idt.str_claim("sub"))
            && a != b
        {
            wrong.push("`sub` is not the ID token's".to_owned());
        }
        if let (Some(a), Some(b)) = (sid, idt.str_claim("sid"))
            && a != b
        {
            wrong.push("`sid` is not the ID token's".to_owned());
        }
    }
    if wrong.is_empty() {
        CheckResult::pass(
            "backchannel.subject",
            format!(
                "the logout token names the session that ended ({})",
                match (sub.is_some(), sid.is_some()) {
                    (true, true) => "`sub` and `sid`",
                    (true, false) => "`sub`",
                    _ => "`sid`",
                }
            ),
        )
    } else {
        CheckResult::fail(
            "backchannel.subject",
            "the logout token names another user or session than the one that ended",
        )
        .ef(
            "the `sub` and `sid` of the ID token issued in the session that ended (OIDC Back-Channel Logout §2.4, §2.6)",
            wrong.join("; "),
        )
    }
}

fn shown(v: Option<&Value>) -> String {
    match v {
        None => "absent".into(),
        Some(v) => v.to_string().chars().take(120).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;
    use serde_json::json;

    fn decoded(claims: Value) -> jwt::Decoded {
        jwt::Decoded {
            header: json!({"alg": "RS256", "typ": "logout+jwt"}).as_object().unwrap().clone(),
            claims: claims.as_object().unwrap().clone(),
        }
    }

    fn good() -> Value {
        json!({"iss": "https://op.test", "aud": "c1", "iat": 1, "exp": 2, "jti": "j",
               "events": {EVENT: {}}, "sub": "u", "sid": "s"})
    }

    #[test]
    fn a_logout_token_is_judged_claim_by_claim() {
        let idt = decoded(json!({"sub": "u", "sid": "s"}));
        let d = decoded(good());
        assert_eq!(claims(&d, "https://op.test", "c1").status, Status::Pass);
        assert_eq!(events(&d).status, Status::Pass);
        assert_eq!(subject(&d, Some(&idt)).status, Status::Pass);
        let mut v = good();
        v.as_object_mut().unwrap().remove("jti");
        assert_eq!(claims(&decoded(v), "https://op.test", "c1").status, Status::Fail);
        assert_eq!(claims(&d, "https://op.test", "other").status, Status::Fail);
        assert_eq!(claims(&d, "https://op.test/", "c1").status, Status::Fail);
        let mut v = good();
        v["events"] = json!({EVENT: {"x": 1}});
        assert_eq!(events(&decoded(v)).status, Status::Warn);
        let mut v = good();
        v["events"] = json!({"http://other/event": {}});
        assert_eq!(events(&decoded(v)).status, Status::Fail);
        let mut v = good();
        v["events"] = json!({EVENT: "yes"});
        assert_eq!(events(&decoded(v)).status, Status::Fail);
        let mut v = good();
        v["sid"] = json!("another");
        assert_eq!(subject(&decoded(v), Some(&idt)).status, Status::Fail);
        let mut v = good();
        v.as_object_mut().unwrap().remove("sub");
        v.as_object_mut().unwrap().remove("sid");
        assert_eq!(subject(&decoded(v), Some(&idt)).status, Status::Fail);
        // Only `sid`: the user is named by the session.
        let mut v = good();
        v.as_object_mut().unwrap().remove("sub");
        assert_eq!(subject(&decoded(v), Some(&idt)).status, Status::Pass);
    }
}
