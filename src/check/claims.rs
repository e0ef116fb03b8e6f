//! Claim-level checks shared by ID tokens, access tokens and userinfo: scope →
//! claims (OIDC Core §5.4) and custom-claim namespacing (the product brief's
//! rules; OIDC Core §5.1.2 only recommends collision-resistant names).

use serde_json::{Map, Value};

use super::CheckResult;
use crate::profile::{ClaimPlace, ClaimsInIdToken, Profile};

/// Whether the claims of the requested standard scopes belong in `place` — the
/// one rule the built-in checks and the suites' assertions share (OIDC Core
/// §5.4: with an access token issued, a provider may keep them to userinfo,
/// as the profile's `claims_in_id_token` says).
pub fn scope_claims_due(profile: &Profile, place: ClaimPlace, access_token_issued: bool) -> bool {
    match place {
        ClaimPlace::IdToken => match profile.claims_in_id_token {
            ClaimsInIdToken::Always => true,
            ClaimsInIdToken::WhenNoAccessToken => !access_token_issued,
        },
        ClaimPlace::Userinfo => true,
        ClaimPlace::AccessToken => false,
    }
}

/// Whether `name` is a claim of a standard scope (OIDC Core §5.4), and which.
pub fn standard_scope_of(name: &str) -> Option<&'static str> {
    SCOPE_CLAIMS.iter().find(|(_, c)| c.contains(&name)).map(|(s, _)| *s)
}

/// Claims each standard scope yields (OIDC Core §5.4).
pub const SCOPE_CLAIMS: &[(&str, &[&str])] = &[
    (
        "profile",
        &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
    ),
    ("email", &["email", "email_verified"]),
    ("address", &["address"]),
    ("phone", &["phone_number", "phone_number_verified"]),
];

/// Claim names that need no namespace: JWT (RFC 7519), OIDC Core §2 and §5.1,
/// RFC 9068 and other registered token claims. `roles`, `groups` and
/// `entitlements` are left out on purpose: the brief requires custom
/// authorization data to be namespaced (a profile may allow them plainly).
const REGISTERED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "s_hash",
    "sid",
    "client_id",
    "scope",
    "cnf",
    "act",
    "may_act",
    "events",
    "toe",
    "txn",
    "sub_jwk",
    "_claim_names",
    "_claim_sources",
];

fn is_standard(name: &str) -> bool {
    REGISTERED.contains(&name) || SCOPE_CLAIMS.iter().any(|(_, claims)| claims.contains(&name))
}

/// A claim name that is an http(s) URL: a namespaced claim.
fn namespace_of(name: &str) -> Option<url::Url> {
    let u = url::Url::parse(name).ok()?;
    (matches!(u.scheme(), "http" | "https") && u.host_str().is_some()).then_some(u)
}

/// Where and for which request the declared custom claims are due.
#[derive(Clone, Copy, Debug)]
pub struct Due<'a> {
    pub place: ClaimPlace,
    pub requested: &'a [&'a str],
    /// An access token was issued with this ID token (the `claims_in_id_token` policy).
    pub access_token_issued: bool,
}

/// Namespacing of every claim in `claims` (`what` names the token for messages);
/// `due` says where the declared custom claims are expected (`None`: nowhere, e.g. a machine's token).
pub fn namespacing(profile: &Profile, issuer: &str, what: &str, claims: &Map<String, Value>, due: Option<Due>, out: &mut Vec<CheckResult>) {
    let plain: Vec<&str> = claims
        .keys()
        .map(String::as_str)
        .filter(|k| !is_standard(k) && !profile.namespaces.allowed_plain.iter().any(|a| a == k) && namespace_of(k).is_none())
        .collect();
    if plain.is_empty() {
        out.push(CheckResult::pass(
            "namespacing.plain_claim",
            format!("{what}: every custom claim is namespaced"),
        ));
    } else {
        out.push(
            CheckResult::fail(
                "namespacing.plain_claim",
                format!("{what}: custom claims without a URL namespace (they must be namespaced or absent)"),
            )
            .ef("only namespaced custom claims", plain.join(", ")),
        );
    }
    // Provider-owned domains cannot be namespaces: the profile's list, and the issuer's own origin.
    let issuer_origin = url::Url::parse(issuer).ok().map(|u| u.origin().ascii_serialization());
    let owned: Vec<&str> = claims
        .keys()
        .map(String::as_str)
        .filter(|k| {
            namespace_of(k).is_some_and(|u| {
                profile.namespaces.forbidden.iter().any(|f| k.starts_with(f.as_str()))
                    || Some(u.origin().ascii_serialization()) == issuer_origin
            })
        })
        .collect();
    if owned.is_empty() {
        out.push(CheckResult::pass(
            "namespacing.provider_domain",
            format!("{what}: no namespace is a provider-owned domain"),
        ));
    } else {
        out.push(
            CheckResult::fail(
                "namespacing.provider_domain",
                format!("{what}: claims namespaced under a provider-owned domain"),
            )
            .ef("a namespace outside the provider's domains", owned.join(", ")),
        );
    }
    if let (Some(due), Some(ns)) = (due, &profile.namespaces.custom) {
        let expected = declared_due(profile, due);
        let missing: Vec<String> = expected
            .iter()
            .map(|c| profile.namespaces.namespaced(c))
            .filter(|c| !claims.contains_key(c))
            .collect();
        if expected.is_empty() {
        } else if missing.is_empty() {
            out.push(CheckResult::pass(
                "namespacing.declared",
                format!("{what}: the declared custom claims are present under `{ns}`"),
            ));
        } else {
            out.push(
                CheckResult::fail(
                    "namespacing.declared",
                    format!("{what}: declared custom claims missing under their namespace"),
                )
                .ef(missing.join(", "), namespaced_keys(claims)),
            );
        }
    }
}

/// The custom claims the profile declares due in `due.place` for this request:
/// declared places win; else the ID token follows the scope-claims policy.
pub fn declared_due<'a>(profile: &'a Profile, due: Due) -> Vec<&'a crate::profile::CustomClaim> {
    profile
        .namespaces
        .claims
        .iter()
        .filter(|c| match &c.places {
            Some(places) => places.contains(&due.place) && c.scope.as_deref().is_none_or(|s| due.requested.contains(&s)),
            None => {
                c.due(due.place, due.requested)
                    && (due.place != ClaimPlace::IdToken || scope_claims_due(profile, due.place, due.access_token_issued))
            }
        })
        .collect()
}

fn namespaced_keys(claims: &Map<String, Value>) -> String {
    let k: Vec<&str> = claims.keys().map(String::as_str).filter(|k| namespace_of(k).is_some()).collect();
    if k.is_empty() {
        "no namespaced claims".into()
    } else {
        k.join(", ")
    }
}

/// Scope → claims (OIDC Core §5.4): claims of requested scopes present (those
/// the profile's user has), claims of unrequested scopes absent.
pub fn scope_claims(
    what: &str,
    requested: &[&str],
    user_claims: &Map<String, Value>,
    claims: &Map<String, Value>,
    expect_present: bool,
    asked: &[&str],
    out: &mut Vec<CheckResult>,
) {
    let mut missing = Vec::new();
    let mut leaked = Vec::new();
    for (scope, names) in SCOPE_CLAIMS {
        if requested.contains(scope) {
            if expect_present {
                missing.extend(
                    names
                        .iter()
                        .filter(|n| user_claims.contains_key(**n) && !claims.contains_key(**n))
                        .map(|n| format!("{n} ({scope})")),
                );
            }
        } else {
            // A claim asked for by name (the `claims` parameter, OIDC Core §5.5) is requested.
            leaked.extend(
                names
                    .iter()
                    .filter(|n| claims.contains_key(**n) && !asked.contains(n))
                    .map(|n| format!("{n} ({scope})")),
            );
        }
    }
    if !leaked.is_empty() {
        out.push(
            CheckResult::fail(
                "scopes.unrequested_claims",
                format!("{what}: claims of scopes that were not requested"),
            )
            .ef("absent", leaked.join(", ")),
        );
    } else {
        out.push(CheckResult::pass(
            "scopes.unrequested_claims",
            format!("{what}: no claims of unrequested scopes"),
        ));
    }
    if expect_present {
        if missing.is_empty() {
            out.push(CheckResult::pass(
                "scopes.requested_claims",
                format!("{what}: the claims of the requested scopes are present"),
            ));
        } else {
            out.push(
                CheckResult::fail("scopes.requested_claims", format!("{what}: claims of requested scopes are missing"))
                    .ef("present", missing.join(", ")),
            );
        }
    }
}

/// The `claims` request parameter (OIDC Core §5.5) as sent: per place, the
/// claims asked for and whether each is essential.
#[derive(Debug, Default, PartialEq)]
pub struct ClaimsRequest {
    pub userinfo: Vec<(String, bool)>,
    pub id_token: Vec<(String, bool)>,
}

impl ClaimsRequest {
    /// Reads the parameter of an authorization request (`None`: not sent or not JSON).
    pub fn of(request: &std::collections::BTreeMap<String, String>) -> Option<ClaimsRequest> {
        let v: Value = serde_json::from_str(request.get("claims")?).ok()?;
        let place = |name: &str| -> Vec<(String, bool)> {
            v.get(name)
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, spec)| (k.clone(), spec.get("essential").and_then(Value::as_bool).unwrap_or(false)))
                        .collect()
                })
                .unwrap_or_default()
        };
        Some(ClaimsRequest {
            userinfo: place("userinfo"),
            id_token: place("id_token"),
        })
    }

    /// Every claim name asked for, in either place.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.userinfo.iter().chain(&self.id_token).map(|(n, _)| n.as_str())
    }
}

/// OIDC Core §5.5: the claims asked for with the `claims` parameter that the
/// user has come back where they were asked (`acr` asked as essential: always).
pub fn claims_parameter(
    asked: &ClaimsRequest,
    user_claims: &Map<String, Value>,
    id_token: Option<&Map<String, Value>>,
    userinfo: Option<&Map<String, Value>>,
    out: &mut Vec<CheckResult>,
) {
    let mut missing = Vec::new();
    let mut judged = 0;
    for (place, list, got) in [
        ("in the ID token", &asked.id_token, id_token),
        ("at userinfo", &asked.userinfo, userinfo),
    ] {
        let Some(got) = got else { continue };
        for (name, essential) in list {
            let due = user_claims.contains_key(name) || (name == "acr" && *essential && place == "in the ID token");
            if !due {
                continue;
            }
            judged += 1;
            if !got.contains_key(name) {
                missing.push(format!("{name} ({}, {place})", if *essential { "essential" } else { "voluntary" }));
            }
        }
    }
    if judged == 0 {
        return;
    }
    out.push(if missing.is_empty() {
        CheckResult::pass(
            "claims_parameter.returned",
            format!("the {judged} claim(s) asked for with the `claims` parameter came back where asked"),
        )
    } else {
        CheckResult::fail(
            "claims_parameter.returned",
            "claims asked for with the `claims` parameter did not come back where asked (each the user has; an essential acr always)",
        )
        .ef("present", missing.join(", "))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn namespaces_are_urls() {
        assert!(namespace_of("https://example.test/roles").is_some());
        assert!(namespace_of("http://example.test/roles").is_some());
        assert!(namespace_of("urn:x:roles").is_none());
        assert!(namespace_of("roles").is_none());
        assert!(is_standard("email_verified") && is_standard("at_hash") && !is_standard("roles"));
    }

    #[test]
    fn unrequested_scope_claims_are_caught() {
        let claims = json!({"sub": "1", "email": "e", "name": "n"});
        let user = json!({"name": "n", "email": "e"});
        let mut out = vec![];
        scope_claims(
            "ID token",
            &["openid", "profile"],
            user.as_object().unwrap(),
            claims.as_object().unwrap(),
            true,
            &[],
            &mut out,
        );
        assert_eq!(out[0].status, super::super::Status::Fail);
        assert_eq!(out[0].found.as_deref(), Some("email (email)"));
        assert_eq!(out[1].status, super::super::Status::Pass);
    }
}
