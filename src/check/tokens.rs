//! Built-in checks on ID tokens, access tokens and userinfo, and the suite's
//! assertions on them. Each check cites the numbered spec step it implements.

use serde_json::Value;

use super::jwt::{self, Decoded, Verified};
use super::{CheckResult, assert_object, claims, now, short};
use crate::flow::{Evidence, Origin, Provider, TokenSet};
use crate::profile::{ClaimPlace, TokenFormat};
use crate::suite::Case;

/// The OIDC scopes, which are never API scopes.
const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "address", "phone", "offline_access"];

pub async fn check_all(p: &Provider, case: &Case, ev: &Evidence, out: &mut Vec<CheckResult>) {
    let openid = case.request.scope.split_whitespace().any(|s| s == "openid");
    // Assertions read the front-channel ID token when there is one (implicit,
    // hybrid), else the newest from the token endpoint.
    // (claims, issued with an access token)
    let mut last_id: Option<(Decoded, bool)> = None;
    let mut front_id: Option<(Decoded, bool)> = None;
    let mut last_at: Option<Result<Decoded, String>> = None;
    let mut jwks_refreshed = false;
    let mut ids: Vec<(Origin, Decoded)> = Vec::new();
    let secret = p.profile.clients[&case.client].secret.as_ref().map(|s| s.expose());
    let mut requested: Vec<&str> = case.request.scope.split_whitespace().collect();
    let claims_request = claims::ClaimsRequest::of(&ev.request);
    let mut asked: Vec<&str> = claims_request.as_ref().map(|c| c.names().collect()).unwrap_or_default();
    // Scopes the user unticked on the consent page are not granted: their
    // claims are not expected, and `consent.partial` alone judges any that came.
    if let crate::suite::ConsentDecision::ApproveOnly(approved) = &case.request.consent
        && ev.consents > 0
        && ev.not_applicable.is_none()
    {
        requested.retain(|s| approved.iter().any(|a| a == s));
        for (scope, names) in claims::SCOPE_CLAIMS {
            if !requested.contains(scope) && case.request.scope.split_whitespace().any(|s| s == *scope) {
                asked.extend(names.iter().copied());
            }
        }
    }
    let no_claims = serde_json::Map::new();
    // OIDC Core §5.4: scope claims go to userinfo when the flow issues an access
    // token (for userinfo); else into the ID token. One rule for the whole flow:
    // a `code id_token` front-channel ID token is followed by an access token.
    let issues_access_token = case.flow == crate::suite::Flow::ClientCredentials
        || case
            .response_type()
            .is_none_or(|rt| rt.split_whitespace().any(|t| t == "code" || t == "token"));
    let userinfo_token = issues_access_token && (case.api.is_none() || p.profile.access_token_aud_includes_userinfo);
    let user_claims = case
        .user
        .as_ref()
        .and_then(|u| p.profile.users.get(u))
        .map(|u| &u.claims)
        .unwrap_or(&no_claims);

    for set in &ev.token_sets {
        if set.origin != Origin::Authorization {
            cache_headers(set, out);
        }
        if let Some(raw) = &set.id_token {
            // Without any scope the provider's default scope applies (RFC 6749 §3.3): it may be an OpenID one.
            if !openid && !requested.is_empty() {
                out.push(
                    CheckResult::fail(
                        "id_token.unrequested",
                        format!("an ID token came {} although `openid` was not requested", set.origin.describe()),
                    )
                    .ef("no ID token", "an ID token"),
                );
            }
            match jwt::decode(raw.expose()) {
                Ok(d) => {
                    let registered = p.profile.clients[&case.client].id_token_signed_response_alg.as_deref();
                    signature(p, "id_token", raw.expose(), &d, set, secret, registered, &mut jwks_refreshed, out).await;
                    id_token_claims(p, case, ev, set, &d, out);
                    let what = format!("ID token {}", set.origin.describe());
                    let with_at = userinfo_token;
                    let due = claims::Due {
                        place: ClaimPlace::IdToken,
                        requested: &requested,
                        access_token_issued: with_at,
                    };
                    claims::namespacing(&p.profile, &p.discovery.issuer, &what, &d.claims, Some(due), out);
                    let in_id_token = claims::scope_claims_due(&p.profile, ClaimPlace::IdToken, with_at);
                    if !requested.is_empty() {
                        claims::scope_claims(&what, &requested, user_claims, &d.claims, in_id_token, &asked, out);
                    }
                    ids.push((set.origin, d.clone()));
                    if set.origin == Origin::Authorization && front_id.is_none() {
                        front_id = Some((d.clone(), with_at));
                    }
                    last_id = Some((d, with_at));
                }
                Err(e) => out.push(CheckResult::fail(
                    "id_token.decode",
                    format!("the ID token {} is not a JWT: {e}", set.origin.describe()),
                )),
            }
        } else if openid && matches!(set.origin, Origin::Token) {
            // OIDC Core §3.1.3.3: the token response of an OpenID request contains an ID token.
            out.push(
                CheckResult::fail(
                    "flow.id_token_issued",
                    "the token response has no `id_token` although `openid` was requested",
                )
                .ef("an id_token", "none"),
            );
        }
        if let Some(raw) = &set.access_token {
            if jwt::looks_like_jwt(raw.expose()) {
                match jwt::decode(raw.expose()) {
                    Ok(d) => {
                        signature(p, "access_token", raw.expose(), &d, set, None, None, &mut jwks_refreshed, out).await;
                        access_token_claims(p, case, set, &d, out);
                        let what = format!("access token {}", set.origin.describe());
                        let due = (set.origin != Origin::ClientCredentials).then_some(claims::Due {
                            place: ClaimPlace::AccessToken,
                            requested: &requested,
                            access_token_issued: true,
                        });
                        claims::namespacing(&p.profile, &p.discovery.issuer, &what, &d.claims, due, out);
                        last_at = Some(Ok(d));
                    }
                    Err(e) => {
                        out.push(CheckResult::fail(
                            "access_token.decode",
                            format!("the access token {} is not a valid JWT: {e}", set.origin.describe()),
                        ));
                        last_at = Some(Err(e));
                    }
                }
            } else {
                let why = "the access token is opaque: the JWT access-token checks (RFC 9068) do not apply".to_owned();
                if case.api.is_some() && p.profile.api_access_tokens == TokenFormat::Jwt {
                    let how = match p.profile.audience_param {
                        crate::profile::AudienceParam::Resource
                            if p.profile.resource_at_token_endpoint || set.origin == Origin::Authorization =>
                        {
                            "the `resource` was sent (at the token endpoint too, RFC 8707 §2.2), so the provider ignored it or issues opaque tokens for this API"
                        }
                        crate::profile::AudienceParam::Resource => {
                            "the `resource` was not repeated at the token endpoint (the profile's `resource_at_token_endpoint: false`); a provider may need it there (RFC 8707 §2.2)"
                        }
                        _ => "the API selection was ignored, or the provider issues opaque tokens for this API",
                    };
                    out.push(
                        CheckResult::fail(
                            "access_token.format",
                            format!(
                                "an API was requested and the profile says its tokens are JWTs, but the access token {} is opaque: {how}",
                                set.origin.describe()
                            ),
                        )
                        .ef(
                            "a JWT access token for the API (the profile's `api_access_tokens: jwt`)",
                            "an opaque token",
                        ),
                    );
                } else {
                    out.push(CheckResult::skip("access_token.decode", why.clone()));
                }
                last_at = Some(Err(why));
            }
        }
    }

    // OIDC Core §12.2: a refreshed ID token (optional) against the original one.
    if let Some((_, original)) = ids.iter().find(|(o, _)| *o == Origin::Token) {
        for (_, new) in ids.iter().filter(|(o, _)| *o == Origin::Refresh) {
            out.push(refreshed_id_token(original, new));
        }
    }

    if let Some(u) = &ev.userinfo {
        signed_userinfo(p, case, u, out).await;
        if let Some(claims) = &u.claims {
            out.push(CheckResult::pass(
                "userinfo.status",
                format!("userinfo answered {} with {} claims", u.status, claims.len()),
            ));
            let due = claims::Due {
                place: ClaimPlace::Userinfo,
                requested: &requested,
                access_token_issued: true,
            };
            claims::namespacing(&p.profile, &p.discovery.issuer, "userinfo", claims, Some(due), out);
            claims::scope_claims("userinfo", &requested, user_claims, claims, true, &asked, out);
            // OIDC Core §5.3.2: the sub in the UserInfo Response MUST be verified to exactly match the sub in the ID Token.
            if let Some((id, _)) = &last_id {
                let a = id.claims.get("sub");
                let b = claims.get("sub");
                if a.is_some() && a == b {
                    out.push(CheckResult::pass("userinfo.sub", "userinfo `sub` equals the ID token's"));
                } else {
                    out.push(
                        CheckResult::fail("userinfo.sub", "userinfo `sub` differs from the ID token's")
                            .ef(a.map(short).unwrap_or_default(), b.map(short).unwrap_or("(missing)".into())),
                    );
                }
            }
        } else {
            out.push(
                CheckResult::fail(
                    "userinfo.status",
                    format!("userinfo refused the access token with HTTP {}", u.status),
                )
                .ef(
                    "200 with claims",
                    format!("HTTP {} {}", u.status, u.www_authenticate.clone().unwrap_or_default()),
                ),
            );
        }
    }

    // RFC 6750 §3: a 401 from userinfo carries a Bearer challenge.
    for (what, u) in [
        ("an ID token as the bearer token", ev.userinfo_with_id_token.as_ref()),
        ("no token", ev.userinfo_without_token.as_ref()),
    ] {
        let Some(u) = u else { continue };
        if u.status != 401 {
            continue;
        }
        let bearer = u
            .www_authenticate
            .as_deref()
            .is_some_and(|h| h.trim_start().to_ascii_lowercase().starts_with("bearer"));
        out.push(if bearer {
            CheckResult::pass(
                "userinfo.www_authenticate",
                format!("the 401 for {what} carries a Bearer challenge"),
            )
        } else {
            CheckResult::fail(
                "userinfo.www_authenticate",
                format!("the userinfo 401 for {what} has no Bearer challenge"),
            )
            .ef(
                "WWW-Authenticate: Bearer …",
                u.www_authenticate.clone().unwrap_or_else(|| "(absent)".into()),
            )
        });
    }

    // Userinfo serves bearers of access tokens only (OIDC Core §5.3.1; RFC 6750 §3.1).
    if let Some(u) = &ev.userinfo_with_id_token {
        if (200..300).contains(&u.status) {
            out.push(
                CheckResult::fail(
                    "userinfo.rejects_id_token",
                    "userinfo accepted the ID token as a bearer token: ID tokens are for the client, never for APIs",
                )
                .ef("HTTP 401 invalid_token", format!("HTTP {}", u.status)),
            );
        } else {
            out.push(CheckResult::pass(
                "userinfo.rejects_id_token",
                format!("the ID token is refused at userinfo (HTTP {})", u.status),
            ));
        }
    }
    // RFC 6750 §3.1: a token that is not accepted is `invalid_token`, and
    // §3: a refused request that carried a token SHOULD name its error.
    if let Some(u) = &ev.userinfo_with_id_token
        && !(200..300).contains(&u.status)
    {
        out.push(match u.error.as_deref() {
            Some("invalid_token") if u.status == 401 => CheckResult::pass(
                "userinfo.invalid_token_error",
                "the ID token presented as a bearer token is refused with invalid_token (HTTP 401)",
            ),
            // §3.1: "The resource server SHOULD respond with the HTTP 401 (Unauthorized) status code."
            Some("invalid_token") => CheckResult::fail(
                "userinfo.invalid_token_error",
                format!(
                    "userinfo refused the ID token presented as a bearer token with invalid_token, but with HTTP {} where RFC 6750 §3.1 gives invalid_token the status 401",
                    u.status
                ),
            )
            .ef("error=\"invalid_token\" (HTTP 401)", format!("error=\"invalid_token\" (HTTP {})", u.status)),
            other => CheckResult::fail(
                "userinfo.invalid_token_error",
                "userinfo refused a token it does not accept (the ID token presented as a bearer token) without the error code RFC 6750 §3.1 gives it",
            )
            .ef(
                "error=\"invalid_token\" (HTTP 401)",
                match other {
                    Some(code) => format!("error=\"{code}\" (HTTP {})", u.status),
                    None => format!("no error code (HTTP {})", u.status),
                },
            ),
        });
    }
    if let Some(u) = &ev.userinfo_without_token {
        if (200..300).contains(&u.status) {
            out.push(
                CheckResult::fail("userinfo.requires_token", "userinfo answered a request without any access token")
                    .ef("HTTP 401", format!("HTTP {}", u.status)),
            );
        } else {
            out.push(CheckResult::pass(
                "userinfo.requires_token",
                format!("a request without a token is refused (HTTP {})", u.status),
            ));
        }
    }

    // The suite's assertions.
    let e = &case.expect;
    if let Some(asked) = &claims_request {
        let id = last_id.as_ref().or(front_id.as_ref()).map(|(d, _)| &d.claims);
        let info = ev.userinfo.as_ref().and_then(|u| u.claims.as_ref());
        claims::claims_parameter(asked, user_claims, id, info, out);
    }
    // A standard-scope claim asserted present is due only where the profile's
    // policy puts it (the same rule as `scopes.requested_claims`) and when the
    // profile's user has it.
    let user_lacks = |k: &str| -> Option<String> {
        claims::standard_scope_of(k)?;
        (!user_claims.contains_key(k)).then(|| match &case.user {
            Some(u) => format!("the profile's user `{u}` has no `{k}` claim"),
            None => "no user is selected".to_owned(),
        })
    };
    if let Some(t) = &e.id_token {
        match front_id.as_ref().or(last_id.as_ref()) {
            Some((d, with_at)) => {
                let waived = |k: &str| -> Option<String> {
                    if claims::standard_scope_of(k).is_some() && !claims::scope_claims_due(&p.profile, ClaimPlace::IdToken, *with_at) {
                        return Some(
                            "the profile's `claims_in_id_token: when_no_access_token` puts scope claims at userinfo when an access token is issued"
                                .to_owned(),
                        );
                    }
                    user_lacks(k)
                };
                assert_object("assert.id_token", "ID token", &d.claims, t, &waived, out)
            }
            None => out.push(CheckResult::fail(
                "assert.id_token",
                "the suite asserts on the ID token, but no ID token was issued",
            )),
        }
    }
    if let Some(t) = &e.access_token {
        match &last_at {
            Some(Ok(d)) => assert_object("assert.access_token", "access token", &d.claims, t, &|_| None, out),
            Some(Err(why)) => out.push(CheckResult::skip(
                "assert.access_token",
                format!("cannot assert on the access token's claims: {why}"),
            )),
            None => out.push(CheckResult::fail(
                "assert.access_token",
                "the suite asserts on the access token, but none was issued",
            )),
        }
    }
    if let Some(t) = &e.userinfo {
        match ev.userinfo.as_ref().and_then(|u| u.claims.as_ref()) {
            Some(c) => assert_object("assert.userinfo", "userinfo", c, t, &user_lacks, out),
            None if ev.userinfo.is_none() => out.push(CheckResult::skip(
                "assert.userinfo",
                match &ev.userinfo_skipped {
                    Some(why) => format!("userinfo was not called: {why}"),
                    None => "userinfo was not called".to_owned(),
                },
            )),
            None => out.push(CheckResult::fail(
                "assert.userinfo",
                "the suite asserts on userinfo, but userinfo gave no claims",
            )),
        }
    }
    if let Some(t) = &e.token_response {
        match ev.token_sets.iter().rev().find(|s| s.origin != Origin::Authorization) {
            Some(s) => assert_object("assert.token_response", "token response", &s.params, t, &|_| None, out),
            None => out.push(CheckResult::fail(
                "assert.token_response",
                "the suite asserts on the token response, but there was none",
            )),
        }
    }
}

/// RFC 6749 §5.1: `Cache-Control: no-store` and `Pragma: no-cache` on a token response.
fn cache_headers(set: &TokenSet, out: &mut Vec<CheckResult>) {
    let origin = set.origin.describe();
    let no_store = set
        .cache_control
        .as_deref()
        .is_some_and(|v| v.split(',').any(|d| d.trim().eq_ignore_ascii_case("no-store")));
    out.push(if no_store {
        CheckResult::pass(
            "token_response.no_store",
            format!("the token response {origin} is `Cache-Control: no-store`"),
        )
    } else {
        CheckResult::fail("token_response.no_store", format!("the token response {origin} may be cached")).ef(
            "Cache-Control: no-store",
            set.cache_control.clone().unwrap_or_else(|| "(absent)".into()),
        )
    });
    let no_cache = set.pragma.as_deref().is_some_and(|v| v.trim().eq_ignore_ascii_case("no-cache"));
    out.push(if no_cache {
        CheckResult::pass(
            "token_response.pragma",
            format!("the token response {origin} is `Pragma: no-cache`"),
        )
    } else {
        CheckResult::fail(
            "token_response.pragma",
            format!("the token response {origin} has no `Pragma: no-cache`"),
        )
        .ef("Pragma: no-cache", set.pragma.clone().unwrap_or_else(|| "(absent)".into()))
    });
}

/// OIDC Core §12.2: `iss`, `sub`, `aud` and `azp` as in the original ID token,
/// `auth_time` (if present) the original authentication's, `iat` new, and a
/// `nonce`, if any, the original's.
fn refreshed_id_token(original: &Decoded, new: &Decoded) -> CheckResult {
    let mut wrong = Vec::new();
    let show = |v: Option<&Value>| v.map(short).unwrap_or_else(|| "(absent)".into());
    for claim in ["iss", "sub", "azp"] {
        if original.claims.get(claim) != new.claims.get(claim) {
            wrong.push(format!(
                "`{claim}` {} (was {})",
                show(new.claims.get(claim)),
                show(original.claims.get(claim))
            ));
        }
    }
    let mut a = original.audiences();
    let mut b = new.audiences();
    a.sort();
    b.sort();
    if a != b {
        wrong.push(format!("`aud` {b:?} (was {a:?})"));
    }
    if let Some(t) = new.claims.get("auth_time")
        && let Some(o) = original.claims.get("auth_time")
        && t != o
    {
        wrong.push(format!(
            "`auth_time` {} (the original authentication was at {})",
            short(t),
            short(o)
        ));
    }
    if let (Some(n), Some(o)) = (num(new, "iat"), num(original, "iat"))
        && n < o
    {
        wrong.push(format!("`iat` {n} is before the original's {o}"));
    }
    if let Some(n) = new.claims.get("nonce")
        && original.claims.get("nonce") != Some(n)
    {
        wrong.push("`nonce` differs from the original's".to_owned());
    }
    if wrong.is_empty() {
        CheckResult::pass(
            "id_token.refresh",
            "the refreshed ID token keeps the original's iss, sub, aud, azp and auth_time, with a new iat",
        )
    } else {
        CheckResult::fail(
            "id_token.refresh",
            "the refreshed ID token does not match the original as OIDC Core §12.2 requires",
        )
        .ef("iss, sub, aud, azp and auth_time as in the original ID token", wrong.join("; "))
    }
}

/// Signature and algorithm (OIDC Core §3.1.3.7 steps 6–8; RFC 9068 §4).
/// The values of `aud` that are scope values the request asked for, other than
/// URLs with a host (a scope spelled as such a URL may name its resource too;
/// `read:messages` parses as a URI but names no resource).
pub(super) fn scope_values_in_aud<'a>(requested: &str, aud: &'a [String]) -> Vec<&'a str> {
    aud.iter()
        .map(String::as_str)
        .filter(|a| requested.split_whitespace().any(|s| s == *a) && !url::Url::parse(a).is_ok_and(|u| u.has_host()))
        .collect()
}

/// `id_token.auth_time`: present where max_age asks for it; a number of seconds
/// within the case's own time window (from its start to now, widened by the
/// clock skew) and not after `iat`.
pub(super) fn auth_time(ev: &Evidence, d: &Decoded, origin: &str, skew: i64, now: i64, out: &mut Vec<CheckResult>) {
    let max_age = ev.request.contains_key("max_age");
    let iat = num(d, "iat");
    let value = match d.claims.get("auth_time") {
        None if max_age => {
            out.push(
                CheckResult::fail(
                    "id_token.auth_time",
                    format!(
                        "the ID token {origin} has no `auth_time`, although the request carried max_age (OIDC Core §3.1.2.1: then REQUIRED)"
                    ),
                )
                .ef("auth_time present", "absent"),
            );
            return;
        }
        None => return,
        Some(Value::Number(n)) if n.as_i64().is_some() || n.as_f64().is_some_and(f64::is_finite) => {
            n.as_i64().unwrap_or_else(|| n.as_f64().unwrap_or_default() as i64)
        }
        Some(other) => {
            out.push(
                CheckResult::fail(
                    "id_token.auth_time",
                    format!("the ID token {origin} has a malformed `auth_time` (OIDC Core §2: a JSON number of seconds)"),
                )
                .ef("seconds since the epoch", short(other)),
            );
            return;
        }
    };
    // A case that started from the run's shared sign-in rests on that one.
    let earliest = ev.seeded_at.or(ev.started).map(|s| s - skew);
    let latest = iat.map_or(now, |iat| iat.min(now)) + skew;
    let whose = if ev.seeded_at.is_some() {
        "the run's shared sign-in this case started from"
    } else {
        "this case's sign-in"
    };
    let window = match earliest {
        Some(e) => format!("between {e} and {latest} ({whose}, with {skew} s clock skew)"),
        None => format!("at most {latest} (not after iat, with {skew} s clock skew)"),
    };
    if earliest.is_some_and(|e| value < e) {
        out.push(
            CheckResult::fail(
                "id_token.auth_time",
                if ev.seeded_at.is_some() {
                    format!(
                        "the ID token {origin} says the user signed in at {value}, before the run's shared sign-in this case started from, though that was the user's only sign-in it rests on (OIDC Core §2: `auth_time` is the time the authentication occurred)"
                    )
                } else {
                    format!(
                        "the ID token {origin} says the user signed in at {value}, before this case began, though every sign-in it rests on happened in the case (OIDC Core §2: `auth_time` is the time the authentication occurred)"
                    )
                },
            )
            .ef(format!("auth_time {window}"), value.to_string()),
        );
    } else if value > latest {
        out.push(
            CheckResult::fail(
                "id_token.auth_time",
                format!("the ID token {origin} says the user signed in at {value}, after it was issued (OIDC Core §2)"),
            )
            .ef(format!("auth_time {window}"), value.to_string()),
        );
    } else {
        out.push(CheckResult::pass(
            "id_token.auth_time",
            format!(
                "`auth_time` {value} falls in this case's sign-in window{}",
                if max_age { ", as max_age asks" } else { "" }
            ),
        ));
    }
}

#[allow(clippy::too_many_arguments)]
async fn signature(
    p: &Provider,
    kind: &str,
    raw: &str,
    d: &Decoded,
    set: &TokenSet,
    secret: Option<&str>,
    registered_alg: Option<&str>,
    refreshed: &mut bool,
    out: &mut Vec<CheckResult>,
) {
    let origin = set.origin.describe();
    let alg = d.alg().unwrap_or("(none)");
    if kind == "id_token"
        && let Some(reg) = registered_alg
    {
        // OIDC Dynamic Registration §2: the registered algorithm, `none` only
        // where no ID token comes from the authorization endpoint.
        let front = set.origin == Origin::Authorization;
        out.push(if alg != reg {
            CheckResult::fail(
                "id_token.registered_alg",
                format!("the ID token {origin} is signed with another algorithm than the client is registered for"),
            )
            .ef(format!("{reg} (id_token_signed_response_alg)"), alg.to_owned())
        } else if reg == "none" && front {
            CheckResult::fail("id_token.registered_alg", format!("an unsigned ID token came {origin}")).ef(
                "a signed ID token from the authorization endpoint (`none` only from the token endpoint)",
                "alg none",
            )
        } else {
            CheckResult::pass(
                "id_token.registered_alg",
                format!("the ID token {origin} uses {alg}, as the client is registered for"),
            )
        });
        if reg == "none" && alg == "none" && !front {
            let signature_empty = raw.rsplit('.').next().is_some_and(str::is_empty);
            out.push(if signature_empty {
                CheckResult::pass(
                    "id_token.alg",
                    "unsigned (`none`), as the client is registered for, from the token endpoint",
                )
            } else {
                CheckResult::fail(
                    "id_token.alg",
                    format!("the ID token {origin} says `alg: none` but carries a signature"),
                )
                .ef("an empty signature part", "a signature")
            });
            out.push(CheckResult::pass(
                "id_token.signature",
                "unsigned as registered: the ID token came straight from the token endpoint (OIDC Core §3.1.3.7 step 6)",
            ));
            return;
        }
    }
    if kind == "id_token" {
        // Step 7: the alg SHOULD be the one registered / advertised.
        let allowed = &p.discovery.id_token_signing_alg_values_supported;
        if alg.eq_ignore_ascii_case("none") || !allowed.iter().any(|a| a == alg) {
            out.push(
                CheckResult::fail(
                    "id_token.alg",
                    format!("the ID token {origin} is signed with an algorithm discovery does not list"),
                )
                .ef(format!("one of {allowed:?}"), alg.to_owned()),
            );
        } else {
            out.push(CheckResult::pass("id_token.alg", format!("{alg} is listed in discovery")));
        }
    }
    // Step 8: HS* ID tokens are keyed with the client secret; access tokens are for APIs, never so.
    let secret = if kind == "id_token" { secret } else { None };
    let mut jwks = p.jwks().await;
    let mut verdict = jwt::verify(raw, d, &jwks, secret);
    // An unknown kid may be a key rotated in since the run started: fetch the JWKS once more.
    if let Verified::Bad(m) = &verdict
        && m.contains("no key with `kid`")
        && !*refreshed
    {
        *refreshed = true;
        if let Ok(fresh) = p.refresh_jwks().await {
            jwks = fresh;
            verdict = jwt::verify(raw, d, &jwks, secret);
        }
    }
    let id = format!("{kind}.signature");
    out.push(match verdict {
        Verified::Ok => CheckResult::pass(&id, format!("{alg} signature verifies")),
        Verified::Bad(why) => CheckResult::fail(&id, format!("the {} {origin} is not validly signed: {why}", kind.replace('_', " "))),
    });
}

fn num(d: &Decoded, name: &str) -> Option<i64> {
    match d.claims.get(name)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        _ => None,
    }
}

/// ID token claims (OIDC Core §3.1.3.7, §3.2.2.11, §3.3.2.12).
fn id_token_claims(p: &Provider, case: &Case, ev: &Evidence, set: &TokenSet, d: &Decoded, out: &mut Vec<CheckResult>) {
    let origin = set.origin.describe();
    let client_id = &p.profile.clients[&case.client].id;
    let skew = p.profile.clock_skew.as_secs() as i64;
    let now = now();

    // Step 2: iss MUST exactly match the issuer.
    match d.str_claim("iss") {
        Some(iss) if iss == p.discovery.issuer => out.push(CheckResult::pass("id_token.iss", "`iss` equals the issuer")),
        other => out.push(
            CheckResult::fail("id_token.iss", format!("the ID token {origin} has the wrong `iss`"))
                .ef(p.discovery.issuer.clone(), other.unwrap_or("(missing)").to_owned()),
        ),
    }
    // Step 3: aud MUST contain the client id; an API identifier never belongs there.
    let aud = d.audiences();
    let apis: Vec<&str> = p
        .profile
        .apis
        .values()
        .map(|a| a.identifier.as_str())
        .filter(|a| aud.iter().any(|x| x == a))
        .collect();
    if !aud.iter().any(|a| a == client_id) {
        out.push(
            CheckResult::fail("id_token.aud", format!("the ID token {origin} is not for the client"))
                .ef(format!("aud contains `{client_id}`"), format!("{aud:?}")),
        );
    } else if !apis.is_empty() {
        out.push(
            CheckResult::fail(
                "id_token.aud",
                format!("the ID token {origin} names an API in `aud`: APIs take access tokens, never ID tokens"),
            )
            .ef(format!("aud = `{client_id}`"), format!("{aud:?}")),
        );
    } else {
        out.push(CheckResult::pass("id_token.aud", "`aud` contains the client id"));
    }
    // Steps 4–5: azp present with several audiences, and equal to the client id when present.
    match d.claims.get("azp") {
        Some(Value::String(azp)) if azp == client_id => out.push(CheckResult::pass("id_token.azp", "`azp` equals the client id")),
        Some(other) => out.push(
            CheckResult::fail("id_token.azp", format!("the ID token {origin} has an `azp` that is not the client"))
                .ef(client_id.clone(), short(other)),
        ),
        None if aud.len() > 1 => out.push(
            CheckResult::fail(
                "id_token.azp",
                format!("the ID token {origin} has {} audiences and no `azp`", aud.len()),
            )
            .ef(format!("azp = `{client_id}`"), "absent"),
        ),
        None => {}
    }
    // Step 9: the current time MUST be before exp.
    match num(d, "exp") {
        Some(exp) if exp + skew > now => out.push(CheckResult::pass("id_token.exp", "not expired")),
        Some(exp) => out.push(
            CheckResult::fail("id_token.exp", format!("the ID token {origin} has expired"))
                .ef(format!("exp after {now} (now, with {skew} s skew)"), exp.to_string()),
        ),
        None => out.push(CheckResult::fail("id_token.exp", format!("the ID token {origin} has no numeric `exp`")).ef("exp", "absent")),
    }
    // Step 10: iat present and not in the future.
    match num(d, "iat") {
        Some(iat) if iat <= now + skew => out.push(CheckResult::pass("id_token.iat", "`iat` is sane")),
        Some(iat) => out.push(
            CheckResult::fail("id_token.iat", format!("the ID token {origin} was issued in the future"))
                .ef(format!("iat at most {} (now + {skew} s skew)", now + skew), iat.to_string()),
        ),
        None => out.push(CheckResult::fail("id_token.iat", format!("the ID token {origin} has no numeric `iat`")).ef("iat", "absent")),
    }
    // Step 11: the nonce sent MUST come back.
    if let Some(sent) = &ev.nonce {
        let got = d.str_claim("nonce");
        if set.origin == Origin::Refresh && got.is_none() {
            // OIDC Core §12.2: a refreshed ID token need not carry the nonce.
        } else if got == Some(sent.as_str()) {
            out.push(CheckResult::pass("id_token.nonce", "`nonce` echoed"));
        } else if got.is_some() && got == ev.request_object_decoys.as_ref().and_then(|d| d.nonce.as_deref()) {
            // The nonce outside the request object came back: judged by `request_object.processed`.
        } else {
            out.push(
                CheckResult::fail(
                    "id_token.nonce",
                    format!("the ID token {origin} does not echo the request's `nonce`"),
                )
                .ef("the nonce sent", got.map(|_| "another value").unwrap_or("(missing)")),
            );
        }
    }
    // OIDC Core §2: sub REQUIRED, at most 255 ASCII characters.
    match d.claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 255 && s.is_ascii() => {
            out.push(CheckResult::pass("id_token.sub", "`sub` is present and well formed"))
        }
        Some(Value::String(s)) => out.push(
            CheckResult::fail("id_token.sub", format!("the ID token {origin} has a malformed `sub`")).ef(
                "1 to 255 ASCII characters",
                format!("{} characters{}", s.chars().count(), if s.is_ascii() { "" } else { ", not ASCII" }),
            ),
        ),
        other => out.push(
            CheckResult::fail("id_token.sub", format!("the ID token {origin} has no string `sub`"))
                .ef("sub", other.map(short).unwrap_or("(missing)".into())),
        ),
    }
    // OIDC Core §2: `auth_time` is the time the user authenticated, REQUIRED for a
    // request with max_age (§3.1.2.1). Every sign-in of a case, a session's too,
    // happens while the case runs: a value outside that window is not the sign-in's.
    auth_time(ev, d, origin, skew, now, out);
    // §3.2.2.9 / §3.3.2.11: at_hash and c_hash.
    let alg = d.alg().unwrap_or("");
    let response_type = ev.request.get("response_type").map(String::as_str).unwrap_or("");
    let front = set.origin == Origin::Authorization;
    if let Some(at) = &set.access_token {
        let required = front && response_type.split(' ').any(|t| t == "token");
        hash_check(
            "id_token.at_hash",
            "at_hash",
            "access token",
            alg,
            at.expose(),
            d,
            required,
            origin,
            out,
        );
    }
    if let (true, Some(code)) = (front, &set.code) {
        let required = response_type.split(' ').any(|t| t == "id_token");
        hash_check("id_token.c_hash", "c_hash", "code", alg, code.expose(), d, required, origin, out);
    }
}

#[allow(clippy::too_many_arguments)]
fn hash_check(
    id: &str,
    claim: &str,
    what: &str,
    alg: &str,
    value: &str,
    d: &Decoded,
    required: bool,
    origin: &str,
    out: &mut Vec<CheckResult>,
) {
    let got = d.str_claim(claim);
    let Some(want) = jwt::half_hash(alg, value) else {
        if required && got.is_none() {
            // Missing is missing, whatever the algorithm (OIDC Core §3.2.2.10, §3.3.2.11).
            out.push(
                CheckResult::fail(id, format!("the ID token {origin} has no `{claim}`, which is required here"))
                    .ef(format!("`{claim}` present"), "absent"),
            );
        } else {
            out.push(CheckResult::skip(id, format!("no hash function is defined for `alg` `{alg}`")));
        }
        return;
    };
    match got {
        Some(g) if g == want => out.push(CheckResult::pass(id, format!("`{claim}` matches the {what}"))),
        Some(g) => {
            out.push(CheckResult::fail(id, format!("`{claim}` in the ID token {origin} does not match the {what}")).ef(want, g.to_owned()))
        }
        None if required => out.push(
            CheckResult::fail(id, format!("the ID token {origin} has no `{claim}`, which is required here"))
                .ef(format!("{claim} = {want}"), "absent"),
        ),
        None => {}
    }
}

/// What is wrong with the REQUIRED claims of RFC 9068 §2.2 in a JWT access
/// token: absent ones, and ones of the wrong JSON type (RFC 7519 §4.1.2 `sub`
/// and §4.1.7 `jti` are strings, §4.1.6 `iat` a NumericDate; RFC 8693 §4.3
/// `client_id` a string). An empty string is no identifier either.
fn access_token_claim_problems(claims: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut problems = Vec::new();
    for name in ["sub", "client_id", "jti"] {
        match claims.get(name) {
            None => problems.push(format!("`{name}` missing")),
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(Value::String(_)) => problems.push(format!("`{name}` is an empty string")),
            Some(other) => problems.push(format!("`{name}` is {} (`{}`), not a string", json_type(other), short(other))),
        }
    }
    match claims.get("iat") {
        None => problems.push("`iat` missing".to_owned()),
        Some(Value::Number(_)) => {}
        Some(other) => problems.push(format!("`iat` is {} (`{}`), not a NumericDate", json_type(other), short(other))),
    }
    problems
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// RFC 9068 access-token claims, audience and scope.
fn access_token_claims(p: &Provider, case: &Case, set: &TokenSet, d: &Decoded, out: &mut Vec<CheckResult>) {
    let origin = set.origin.describe();
    let now = now();
    let skew = p.profile.clock_skew.as_secs() as i64;
    // RFC 9068 §2.1: typ MUST be at+jwt.
    match d.header.get("typ").and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt") => {
            out.push(CheckResult::pass("access_token.typ", "`typ` is at+jwt"))
        }
        other => out.push(
            CheckResult::fail("access_token.typ", format!("the JWT access token {origin} is not typed as one"))
                .ef("at+jwt", other.unwrap_or("(missing)").to_owned()),
        ),
    }
    match d.str_claim("iss") {
        Some(iss) if iss == p.discovery.issuer => out.push(CheckResult::pass("access_token.iss", "`iss` equals the issuer")),
        other => out.push(
            CheckResult::fail("access_token.iss", format!("the access token {origin} has the wrong `iss`"))
                .ef(p.discovery.issuer.clone(), other.unwrap_or("(missing)").to_owned()),
        ),
    }
    match num(d, "exp") {
        Some(exp) if exp + skew > now => out.push(CheckResult::pass("access_token.exp", "not expired")),
        Some(exp) => out.push(
            CheckResult::fail("access_token.exp", format!("the access token {origin} has expired"))
                .ef(format!("exp after {now}"), exp.to_string()),
        ),
        None => {
            out.push(CheckResult::fail("access_token.exp", format!("the access token {origin} has no numeric `exp`")).ef("exp", "absent"))
        }
    }
    // RFC 9068 §2.2: sub, client_id, iat and jti are REQUIRED, with the types
    // RFC 7519 §4.1 gives them: `sub` and `jti` strings (a `"sub": null` for a
    // client-credentials token is no subject), `iat` a NumericDate.
    let problems = access_token_claim_problems(&d.claims);
    if problems.is_empty() {
        out.push(CheckResult::pass(
            "access_token.claims",
            "sub, client_id and jti are strings, iat a number",
        ));
    } else {
        out.push(
            CheckResult::fail(
                "access_token.claims",
                format!("the access token {origin} lacks required RFC 9068 claims or has them with the wrong type"),
            )
            .ef("sub, client_id and jti strings, iat a NumericDate", problems.join("; ")),
        );
    }
    // azp names the client the token was issued to (the brief's model; RFC 9068 has client_id).
    let client_id = &p.profile.clients[&case.client].id;
    match d.claims.get("azp") {
        Some(Value::String(azp)) if azp == client_id => out.push(CheckResult::pass("access_token.azp", "`azp` equals the client id")),
        Some(other) => out.push(
            CheckResult::fail(
                "access_token.azp",
                format!("the access token {origin} has an `azp` that is not the client"),
            )
            .ef(client_id.clone(), short(other)),
        ),
        None if p.profile.access_token_azp => out.push(
            CheckResult::fail(
                "access_token.azp",
                format!("the access token {origin} has no `azp`, which the profile says the provider issues"),
            )
            .ef(format!("azp = `{client_id}`"), "absent"),
        ),
        None => {}
    }
    // Without an API in the request: the profile's default API, or none at all.
    if case.api.is_none() {
        let aud = d.audiences();
        let apis: Vec<&crate::profile::Api> = p.profile.apis.values().collect();
        let scopes = scope_values_in_aud(&case.request.scope, &aud);
        match p.profile.default_api.as_ref().map(|k| &p.profile.apis[k]) {
            // RFC 8707 §2: a resource indicator is an absolute URI; RFC 9068 §3: without
            // `resource`, `aud` MUST hold a default resource indicator. A scope value is neither.
            _ if !scopes.is_empty() => out.push(
                CheckResult::fail(
                    "access_token.default_audience",
                    format!(
                        "no API was requested and the access token {origin} names the requested scope value {} in `aud`: a scope is not a resource indicator (RFC 9068 §3: the aud MUST be a default resource indicator; RFC 8707 §2: an absolute URI)",
                        scopes.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                    ),
                )
                .ef(
                    match p.profile.default_api.as_ref().map(|k| &p.profile.apis[k]) {
                        Some(default) => format!("aud contains `{}`, the default API", default.identifier),
                        None => "a resource indicator (an API or the userinfo URL), or no aud".to_owned(),
                    },
                    format!("{aud:?}"),
                ),
            ),
            Some(default) if aud.contains(&default.identifier) => out.push(CheckResult::pass(
                "access_token.default_audience",
                format!("no API requested: the token is for the default API `{}`", default.identifier),
            )),
            Some(default) => out.push(
                CheckResult::fail(
                    "access_token.default_audience",
                    format!("no API was requested and the access token {origin} is not for the profile's default API"),
                )
                .ef(format!("aud contains `{}`", default.identifier), format!("{aud:?}")),
            ),
            None => {
                let named: Vec<&str> = apis
                    .iter()
                    .map(|a| a.identifier.as_str())
                    .filter(|i| aud.iter().any(|x| x == i))
                    .collect();
                if named.is_empty() {
                    out.push(CheckResult::pass(
                        "access_token.default_audience",
                        "no API requested, and the token names none",
                    ));
                } else {
                    out.push(
                        CheckResult::fail(
                            "access_token.default_audience",
                            format!("no API was requested, yet the access token {origin} is for one (the profile declares no default API)"),
                        )
                        .ef("no API in aud", named.join(", ")),
                    );
                }
            }
        }
    }
    // Audience: the requested API, plus userinfo when the profile says so.
    let aud = d.audiences();
    if let Some(api) = case.api.as_ref().map(|a| &p.profile.apis[a]) {
        let mut want = vec![api.identifier.clone()];
        let openid = case.request.scope.split_whitespace().any(|s| s == "openid");
        if p.profile.access_token_aud_includes_userinfo
            && openid
            && set.origin != Origin::ClientCredentials
            && let Some(u) = p.userinfo_url()
        {
            want.push(u.to_owned());
        }
        let lacking: Vec<&String> = want.iter().filter(|w| !aud.contains(w)).collect();
        if lacking.is_empty() {
            out.push(CheckResult::pass(
                "access_token.aud",
                format!("`aud` contains {}", want.join(" and ")),
            ));
        } else {
            out.push(
                CheckResult::fail(
                    "access_token.aud",
                    format!("the access token {origin} is not for the requested API"),
                )
                .ef(format!("aud contains {want:?}"), format!("{aud:?}")),
            );
        }
        // Scope: granted API scopes only from those requested and defined.
        let requested: Vec<&str> = case.request.scope.split_whitespace().collect();
        let granted: Vec<&str> = d.str_claim("scope").map(|s| s.split_whitespace().collect()).unwrap_or_default();
        let asked_api: Vec<&str> = requested.iter().copied().filter(|s| !OIDC_SCOPES.contains(s)).collect();
        let over: Vec<&str> = granted
            .iter()
            .copied()
            .filter(|g| !OIDC_SCOPES.contains(g))
            .filter(|g| !api.scopes.iter().any(|s| s == g) || (!asked_api.is_empty() && !asked_api.contains(g)))
            .collect();
        let lacking: Vec<&str> = asked_api
            .iter()
            .copied()
            .filter(|s| api.scopes.iter().any(|x| x == s) && !granted.contains(s))
            .collect();
        if !over.is_empty() {
            out.push(
                CheckResult::fail(
                    "access_token.scope",
                    format!("the access token {origin} grants scopes that were not requested or the API does not define"),
                )
                .ef(format!("within {asked_api:?}"), over.join(" ")),
            );
        } else if !lacking.is_empty() {
            out.push(
                CheckResult::fail(
                    "access_token.scope",
                    format!("the access token {origin} lacks requested API scopes"),
                )
                .ef(asked_api.join(" "), granted.join(" ")),
            );
        } else {
            out.push(CheckResult::pass(
                "access_token.scope",
                format!("`scope` is `{}`", granted.join(" ")),
            ));
        }
        // RFC 6749 §5.1: the response's scope is REQUIRED when it differs from the request.
        if set.origin != Origin::Authorization && !requested.is_empty() {
            let mut g = granted.clone();
            let mut r = requested.clone();
            g.sort_unstable();
            r.sort_unstable();
            if g != r && set.scope.is_none() {
                out.push(
                    CheckResult::fail(
                        "token_response.scope",
                        format!("the grant {origin} differs from the request but the response has no `scope`"),
                    )
                    .ef(format!("scope = {}", granted.join(" ")), "absent"),
                );
            }
        }
    }
}

/// OIDC Core §5.3.2: a client registered for signed userinfo responses
/// (`userinfo_signed_response_alg`) gets a JWT (`application/jwt`) signed with
/// that algorithm, carrying `iss` (the issuer) and `aud` (its client id).
async fn signed_userinfo(p: &Provider, case: &Case, u: &crate::flow::UserinfoResponse, out: &mut Vec<CheckResult>) {
    let client = &p.profile.clients[&case.client];
    let Some(registered) = client.userinfo_signed_response_alg.as_deref() else {
        return;
    };
    if u.claims.is_none() {
        return;
    }
    let id = "userinfo.signed";
    let Some(raw) = &u.signed else {
        out.push(
            CheckResult::fail(
                id,
                format!("the client is registered for {registered}-signed userinfo responses, and userinfo answered plain JSON"),
            )
            .ef(
                "application/jwt",
                u.content_type.clone().unwrap_or_else(|| "no content type".into()),
            ),
        );
        return;
    };
    let Ok(d) = jwt::decode(raw.expose()) else {
        return;
    };
    let mut problems = Vec::new();
    let alg = d.alg().unwrap_or("(none)");
    if alg != registered {
        problems.push(format!("signed with {alg}, not the registered {registered}"));
    }
    match jwt::verify(raw.expose(), &d, &*p.jwks().await, client.secret.as_ref().map(|s| s.expose())) {
        Verified::Ok => {}
        Verified::Bad(why) => problems.push(format!("the signature does not verify: {why}")),
    }
    match d.claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == p.discovery.issuer => {}
        Some(iss) => problems.push(format!("`iss` is `{iss}`, not the issuer")),
        None => problems.push("no `iss`".into()),
    }
    let aud = jwt::audiences(&d.claims);
    if !aud.iter().any(|a| a == &client.id) {
        problems.push(format!("`aud` {aud:?} does not include the client id"));
    }
    out.push(if problems.is_empty() {
        CheckResult::pass(
            id,
            format!("userinfo answered a {alg}-signed JWT that verifies, with `iss` and `aud` as required"),
        )
    } else {
        CheckResult::fail(id, "the signed userinfo response is not as OIDC Core §5.3.2 requires").ef(
            format!("a {registered}-signed JWT with iss = issuer and aud including the client id"),
            problems.join("; "),
        )
    });
}
