//! Token lifecycle: revocation (RFC 7009) and introspection (RFC 7662), judged
//! on what a lifecycle probe saw.

use serde_json::{Map, Value};

use super::CheckResult;
use crate::flow::{EndpointAnswer, Evidence};
use crate::suite::LifecycleProbe as L;

/// Every lifecycle check the probe of `ev` can judge.
pub fn check(ev: &Evidence, access_is_jwt: bool, out: &mut Vec<CheckResult>) {
    let Some(seen) = &ev.lifecycle else { return };
    let Some(probe) = seen.probe else { return };
    match probe {
        L::RevokeRefreshToken | L::RevokeRefreshTokenWrongHint => {
            let id = if probe == L::RevokeRefreshToken {
                "revocation.refresh_token"
            } else {
                "revocation.hint"
            };
            out.push(revoked_refresh(id, seen.revocation.as_ref(), seen.refreshed_after));
        }
        L::RevokeWithoutClientAuth => out.push(unauthenticated_revocation(seen.revocation.as_ref(), seen.refreshed_after)),
        L::RevokeAccessToken => {
            if let Some(c) = revoked_access(seen.revocation.as_ref(), seen.access_alive_after.as_ref(), access_is_jwt) {
                out.push(c);
            }
        }
        L::RevokeUnknownToken => {
            if let Some(r) = &seen.revocation {
                out.push(if r.status == 200 {
                    CheckResult::pass(
                        "revocation.invalid_token",
                        "a token the provider never issued is revoked with HTTP 200",
                    )
                } else {
                    CheckResult::fail(
                        "revocation.invalid_token",
                        "the revocation of a token the provider never issued was answered with an error",
                    )
                    .ef("HTTP 200 (RFC 7009 §2.2: invalid tokens do not cause an error response)", answer(r))
                });
            }
        }
        L::Introspect => {
            if let Some(r) = &seen.introspection {
                out.push(active(r));
            }
            if let Some(r) = &seen.introspection_unknown {
                out.extend(inactive(r));
            }
            if let Some(r) = &seen.introspection_unauthenticated {
                out.push(requires_auth(r));
            }
        }
    }
}

/// `HTTP 400 error=invalid_request`, for a verdict.
fn answer(r: &EndpointAnswer) -> String {
    match &r.error {
        Some(e) => format!("HTTP {} error={e}", r.status),
        None => format!("HTTP {}", r.status),
    }
}

/// RFC 7009 §2.1, §2.2: a refresh token revoked (with its own hint, or with
/// the wrong one: the search extends to every type) no longer refreshes.
fn revoked_refresh(id: &str, revocation: Option<&EndpointAnswer>, refreshed_after: Option<bool>) -> CheckResult {
    let (hint, rule) = if id == "revocation.hint" {
        (
            " hinted as an access token",
            " (RFC 7009 §2.1: when the token is not found under the hinted type, the server MUST extend its search across all of its supported token types)",
        )
    } else {
        ("", "")
    };
    let Some(r) = revocation else {
        return CheckResult::error(id, "the revocation request was not sent");
    };
    if r.status != 200 {
        return CheckResult::fail(id, format!("the revocation of the refresh token{hint} was refused{rule}"))
            .ef("HTTP 200, then the refresh token refused", answer(r));
    }
    match refreshed_after {
        Some(false) => CheckResult::pass(id, format!("the refresh token revoked{hint} (HTTP 200) no longer refreshes")),
        Some(true) => CheckResult::fail(id, format!("the refresh token revoked{hint} (HTTP 200) still refreshes{rule}"))
            .ef("the refresh refused (invalid_grant)", "new tokens"),
        None => CheckResult::error(id, "the refresh after the revocation was not sent"),
    }
}

/// RFC 7009 §2.1: the server first validates the client credentials; a
/// request without them is refused (RFC 6749 §5.2 `invalid_client`) and the
/// token lives on.
fn unauthenticated_revocation(revocation: Option<&EndpointAnswer>, refreshed_after: Option<bool>) -> CheckResult {
    const ID: &str = "revocation.client_auth";
    let Some(r) = revocation else {
        return CheckResult::error(ID, "the revocation request was not sent");
    };
    match (r.status, refreshed_after) {
        (_, Some(false)) => CheckResult::fail(
            ID,
            "a revocation request without client authentication revoked the confidential client's refresh token",
        )
        .ef(
            "refused (invalid_client), the token still working",
            format!("{}, the token revoked", answer(r)),
        ),
        (400..=499, Some(true)) => CheckResult::pass(
            ID,
            format!(
                "a revocation request without client authentication was refused ({}) and the token still works",
                answer(r)
            ),
        ),
        (_, Some(true)) => CheckResult::fail(
            ID,
            "a revocation request without client authentication was answered as if valid (the token was not revoked)",
        )
        .ef(
            "HTTP 401 invalid_client (RFC 7009 §2.1: the client credentials are validated first)",
            answer(r),
        ),
        (_, None) => CheckResult::error(ID, "the refresh after the revocation was not sent"),
    }
}

/// RFC 7009 §2: the server SHOULD support revoking access tokens; one that
/// does not answers `unsupported_token_type` (§2.2.1).
fn revoked_access(revocation: Option<&EndpointAnswer>, alive: Option<&(bool, String)>, access_is_jwt: bool) -> Option<CheckResult> {
    const ID: &str = "revocation.access_token";
    let r = revocation?;
    if r.error.as_deref() == Some("unsupported_token_type") {
        return Some(CheckResult::skip(
            ID,
            "not offered: the provider does not revoke access tokens (`unsupported_token_type`, RFC 7009 §2.2.1)",
        ));
    }
    if r.status != 200 {
        return Some(
            CheckResult::fail(ID, "the revocation of the access token was refused")
                .ef("HTTP 200, or 400 unsupported_token_type", answer(r)),
        );
    }
    Some(match alive {
        None => CheckResult::skip(
            ID,
            "revoked with HTTP 200, but nothing here can tell whether the token still works (no introspection for this client, no userinfo call)",
        ),
        Some((false, how)) => CheckResult::pass(ID, format!("the access token revoked (HTTP 200) is no longer taken: {how}")),
        // A self-contained JWT may live on at resource servers until it expires (RFC 7009 §3, §5).
        Some((true, how)) if access_is_jwt && how.starts_with("userinfo") => CheckResult::skip(
            ID,
            format!(
                "noted, not a finding: the JWT access token revoked (HTTP 200) is still taken ({how}); a self-contained token may live on until it expires (RFC 7009 §3)"
            ),
        ),
        Some((true, how)) => CheckResult::fail(ID, format!("the access token revoked (HTTP 200) is still taken: {how}")).ef(
            "the token inactive at once (RFC 7009 §2.1: the revocation takes place immediately)",
            how.clone(),
        ),
    })
}

/// The members RFC 7662 §2.2 defines, with their JSON types.
fn member_problems(json: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in json {
        let ok = match k.as_str() {
            "active" => v.is_boolean(),
            "scope" | "client_id" | "username" | "token_type" | "sub" | "iss" | "jti" => v.is_string(),
            "exp" | "iat" | "nbf" => v.as_i64().is_some() || v.as_u64().is_some(),
            "aud" => v.is_string() || v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            _ => true,
        };
        if !ok {
            out.push(format!("`{k}` is `{}`", super::short(v)));
        }
    }
    out
}

/// RFC 7662 §2.2: a live token's answer has `"active": true` (a JSON boolean),
/// its other members of their types.
fn active(r: &EndpointAnswer) -> CheckResult {
    const ID: &str = "introspection.active";
    let Some(json) = r.json.as_ref().filter(|_| r.status == 200) else {
        return CheckResult::fail(
            ID,
            "the introspection of a live access token did not answer a JSON object with HTTP 200",
        )
        .ef("HTTP 200 with {\"active\": true, …}", answer(r));
    };
    let mut problems = member_problems(json);
    match json.get("active") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => problems.insert(0, "`active` is false for the live access token".into()),
        Some(_) => {}
        None => problems.insert(0, "`active` is missing".into()),
    }
    if problems.is_empty() {
        CheckResult::pass(
            ID,
            format!(
                "the live access token is `active: true`, with {} member(s) of the right types",
                json.len()
            ),
        )
    } else {
        CheckResult::fail(ID, "the introspection of a live access token is not what RFC 7662 §2.2 defines")
            .ef("`active: true` (a JSON boolean), members of their types", problems.join("; "))
    }
}

/// RFC 7662 §2.2: a token that is not active is `{"active": false}` (MUST),
/// with no other member (SHOULD NOT, §4).
fn inactive(r: &EndpointAnswer) -> Vec<CheckResult> {
    let Some(json) = r.json.as_ref().filter(|_| r.status == 200) else {
        return vec![
            CheckResult::fail(
                "introspection.inactive",
                "the introspection of a token never issued was answered with an error",
            )
            .ef("HTTP 200 {\"active\": false} (§2.3: not an error)", answer(r)),
        ];
    };
    let first = match json.get("active") {
        Some(Value::Bool(false)) => CheckResult::pass("introspection.inactive", "a token never issued is `active: false`"),
        other => CheckResult::fail("introspection.inactive", "a token never issued is not `active: false`")
            .ef("\"active\": false", other.map(super::short).unwrap_or_else(|| "no `active`".into())),
    };
    let extra: Vec<&str> = json.keys().map(String::as_str).filter(|k| *k != "active").collect();
    let second = if extra.is_empty() {
        CheckResult::pass("introspection.inactive_members", "the inactive answer carries `active` alone")
    } else {
        CheckResult::fail("introspection.inactive_members", "the inactive answer carries more than `active`")
            .ef("`active` alone", extra.join(", "))
    };
    vec![first, second]
}

/// RFC 7662 §2.1: the endpoint requires authorization; a caller without any
/// learns nothing about a live token.
fn requires_auth(r: &EndpointAnswer) -> CheckResult {
    const ID: &str = "introspection.requires_auth";
    let active = r
        .json
        .as_ref()
        .and_then(|j| j.get("active"))
        .is_some_and(|a| a == &Value::Bool(true));
    if (200..300).contains(&r.status) && active {
        CheckResult::fail(
            ID,
            "the introspection endpoint told a caller without any authorization that the live token is active",
        )
        .ef("HTTP 401", format!("{} with `active: true`", answer(r)))
    } else if (200..300).contains(&r.status) {
        CheckResult::pass(
            ID,
            format!("a caller without authorization learns nothing ({}, not active)", answer(r)),
        )
    } else {
        CheckResult::pass(ID, format!("a caller without authorization is refused ({})", answer(r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;
    use serde_json::json;

    fn reply(status: u16, body: Value) -> EndpointAnswer {
        EndpointAnswer {
            status,
            error: body.get("error").and_then(Value::as_str).map(str::to_owned),
            json: body.as_object().cloned(),
            www_authenticate: None,
        }
    }

    #[test]
    fn revocation_verdicts() {
        let ok = reply(200, Value::Null);
        assert_eq!(
            revoked_refresh("revocation.refresh_token", Some(&ok), Some(false)).status,
            Status::Pass
        );
        assert_eq!(revoked_refresh("revocation.hint", Some(&ok), Some(true)).status, Status::Fail);
        let refused = reply(400, json!({"error": "unsupported_token_type"}));
        assert_eq!(
            revoked_refresh("revocation.refresh_token", Some(&refused), Some(true)).status,
            Status::Fail
        );
        assert_eq!(revoked_access(Some(&refused), None, false).unwrap().status, Status::Skip);
        let alive = (true, "introspection says `active: true`".to_owned());
        assert_eq!(revoked_access(Some(&ok), Some(&alive), true).unwrap().status, Status::Fail);
        let at_userinfo = (true, "userinfo answered HTTP 200".to_owned());
        assert_eq!(revoked_access(Some(&ok), Some(&at_userinfo), true).unwrap().status, Status::Skip);
        assert_eq!(revoked_access(Some(&ok), Some(&at_userinfo), false).unwrap().status, Status::Fail);
        let unauthorized = reply(401, json!({"error": "invalid_client"}));
        assert_eq!(unauthenticated_revocation(Some(&unauthorized), Some(true)).status, Status::Pass);
        assert_eq!(unauthenticated_revocation(Some(&ok), Some(false)).status, Status::Fail);
        assert_eq!(unauthenticated_revocation(Some(&ok), Some(true)).status, Status::Fail);
    }

    #[test]
    fn introspection_verdicts() {
        let live = reply(
            200,
            json!({"active": true, "scope": "openid", "exp": 1, "aud": ["a"], "client_id": "c"}),
        );
        assert_eq!(active(&live).status, Status::Pass);
        let stringly = reply(200, json!({"active": "true", "scope": ["openid"], "exp": "1"}));
        let c = active(&stringly);
        assert_eq!(c.status, Status::Fail);
        let found = c.found.unwrap();
        assert!(
            found.contains("`active`") && found.contains("`scope`") && found.contains("`exp`"),
            "{found}"
        );
        let v = inactive(&reply(200, json!({"active": false})));
        assert!(v.iter().all(|c| c.status == Status::Pass), "{v:?}");
        let v = inactive(&reply(200, json!({"active": false, "iss": "x"})));
        assert_eq!((v[0].status, v[1].status), (Status::Pass, Status::Fail));
        assert_eq!(inactive(&reply(404, json!({"error": "not_found"})))[0].status, Status::Fail);
        assert_eq!(requires_auth(&reply(401, json!({"error": "invalid_client"}))).status, Status::Pass);
        assert_eq!(requires_auth(&reply(200, json!({"active": true}))).status, Status::Fail);
        assert_eq!(requires_auth(&reply(200, json!({"active": false}))).status, Status::Pass);
    }
}
