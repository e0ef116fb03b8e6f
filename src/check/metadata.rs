//! Checks on the provider's documents themselves (a `metadata` case): the
//! discovery document's endpoints and deprecated flows, and the JWK Set's keys.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value;

use super::CheckResult;

/// Members of a JWK that belong to a private or symmetric key (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Every check on the two documents.
pub fn check(discovery: &Value, jwks: &Value) -> Vec<CheckResult> {
    let keys: Vec<&Value> = jwks
        .get("keys")
        .and_then(Value::as_array)
        .map(|k| k.iter().collect())
        .unwrap_or_default();
    vec![
        required_members(discovery),
        rs256_offered(discovery),
        auth_signing_algs(discovery),
        https_endpoints(discovery),
        deprecated_flows(discovery),
        member_values(discovery),
        key_ids(&keys),
        private_members(&keys),
        rsa_sizes(&keys),
    ]
}

/// OIDC Discovery §3: the REQUIRED members, and an issuer without query or fragment.
fn required_members(d: &Value) -> CheckResult {
    let list = |k: &str| d.get(k).and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    let text = |k: &str| d.get(k).and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    let mut missing: Vec<&str> = Vec::new();
    for k in ["issuer", "authorization_endpoint", "jwks_uri"] {
        if !text(k) {
            missing.push(k);
        }
    }
    // REQUIRED unless only the implicit flow is offered.
    let implicit_only = d.get("response_types_supported").and_then(Value::as_array).is_some_and(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .all(|rt| !rt.split_whitespace().any(|t| t == "code"))
    });
    if !implicit_only && !text("token_endpoint") {
        missing.push("token_endpoint");
    }
    for k in [
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ] {
        if !list(k) {
            missing.push(k);
        }
    }
    let issuer = d.get("issuer").and_then(Value::as_str).unwrap_or("");
    let issuer_form = url::Url::parse(issuer)
        .map(|u| u.query().is_none() && u.fragment().is_none())
        .unwrap_or(false);
    if missing.is_empty() && issuer_form {
        return CheckResult::pass(
            "metadata.required",
            "discovery has every REQUIRED member, and the issuer has no query or fragment",
        );
    }
    let mut found = Vec::new();
    if !missing.is_empty() {
        found.push(format!("missing: {}", missing.join(", ")));
    }
    if !issuer_form {
        found.push(format!("issuer `{issuer}` is not a URL without query and fragment"));
    }
    CheckResult::fail("metadata.required", "the discovery document lacks what OIDC Discovery §3 requires")
        .ef("the REQUIRED provider metadata", found.join("; "))
}

/// OIDC Discovery §3: `id_token_signing_alg_values_supported` MUST include RS256.
fn rs256_offered(d: &Value) -> CheckResult {
    let algs: Vec<&str> = d
        .get("id_token_signing_alg_values_supported")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if algs.contains(&"RS256") {
        CheckResult::pass("metadata.rs256", "RS256 is among the ID token signing algorithms")
    } else {
        CheckResult::fail("metadata.rs256", "RS256 is not among the ID token signing algorithms")
            .ef("RS256 listed", format!("[{}]", algs.join(", ")))
    }
}

/// OIDC Discovery §3: `none` MUST NOT be among the algorithms of JWT client
/// authentication; RFC 8414 §2: the list MUST be present when
/// `private_key_jwt` or `client_secret_jwt` is offered (OIDC Discovery has no
/// such MUST: a missing list is a warning).
fn auth_signing_algs(d: &Value) -> CheckResult {
    const ID: &str = "metadata.auth_signing_algs";
    let strings = |k: &str| -> Option<Vec<&str>> {
        d.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
    };
    let methods = strings("token_endpoint_auth_methods_supported").unwrap_or_default();
    let jwt: Vec<&str> = methods
        .iter()
        .copied()
        .filter(|m| *m == "private_key_jwt" || *m == "client_secret_jwt")
        .collect();
    if jwt.is_empty() {
        return CheckResult::skip(ID, "not offered: token_endpoint_auth_methods_supported lists no JWT method");
    }
    match strings("token_endpoint_auth_signing_alg_values_supported") {
        Some(algs) if algs.iter().any(|a| a.eq_ignore_ascii_case("none")) => CheckResult::fail(
            ID,
            "token_endpoint_auth_signing_alg_values_supported lists `none` (OIDC Discovery §3: \"The value none MUST NOT be used\")",
        )
        .ef("signing algorithms without `none`", format!("[{}]", algs.join(", "))),
        Some(algs) => CheckResult::pass(
            ID,
            format!("{} offered with the signing algorithms [{}]", jwt.join(" and "), algs.join(", ")),
        ),
        None => CheckResult::warn(
            ID,
            format!(
                "{} offered, but discovery has no token_endpoint_auth_signing_alg_values_supported (RFC 8414 §2: it MUST be present then; OIDC Discovery §3 makes it OPTIONAL)",
                jwt.join(" and ")
            ),
        )
        .ef("token_endpoint_auth_signing_alg_values_supported", "absent"),
    }
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1") || host.starts_with("127.")
}

/// OIDC Discovery §3 (`issuer`, `jwks_uri` MUST use https), RFC 6749 §3.1 and
/// §3.2 (TLS on the authorization and token endpoints), OIDC Session
/// Management §3.3 (`check_session_iframe` MUST use https): every URL discovery lists.
fn https_endpoints(d: &Value) -> CheckResult {
    let Some(obj) = d.as_object() else {
        return CheckResult::error("metadata.https", "the discovery document is not a JSON object");
    };
    let mut plain = Vec::new();
    let mut loopback = Vec::new();
    let mut total = 0;
    for (k, v) in obj {
        let is_url_member = k == "issuer" || k == "jwks_uri" || k == "check_session_iframe" || k.ends_with("_endpoint");
        let Some(text) = v.as_str().filter(|_| is_url_member) else {
            continue;
        };
        total += 1;
        match url::Url::parse(text) {
            Ok(u) if u.scheme() == "https" => {}
            Ok(u) if is_loopback(u.host_str().unwrap_or("")) => loopback.push(k.clone()),
            _ => plain.push(format!("{k}: {text}")),
        }
    }
    if !plain.is_empty() {
        return CheckResult::fail(
            "metadata.https",
            format!("{} of {total} endpoints in discovery are not https", plain.len()),
        )
        .ef("https for the issuer, jwks_uri and every endpoint", plain.join("; "));
    }
    if !loopback.is_empty() {
        return CheckResult::skip(
            "metadata.https",
            format!(
                "{} of {total} endpoints are http on a loopback address (a local set-up), so https is not judged: {}",
                loopback.len(),
                loopback.join(", ")
            ),
        );
    }
    CheckResult::pass("metadata.https", format!("all {total} endpoints in discovery are https"))
}

/// RFC 9700 §2.1.2 (no access tokens in the front channel) and §2.4 (no
/// resource owner password grant): offered flows the BCP deprecates.
fn deprecated_flows(d: &Value) -> CheckResult {
    let list = |k: &str| -> Vec<String> {
        d.get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let mut found: Vec<String> = list("response_types_supported")
        .into_iter()
        .filter(|rt| rt.split_whitespace().any(|t| t == "token"))
        .map(|rt| format!("response_type `{rt}` (an access token in the front channel, RFC 9700 §2.1.2)"))
        .collect();
    if list("grant_types_supported").iter().any(|g| g == "password") {
        found.push("the `password` grant (RFC 9700 §2.4: MUST NOT be used)".into());
    }
    if found.is_empty() {
        CheckResult::pass(
            "metadata.deprecated_flows",
            "discovery offers no access token in the front channel and no password grant",
        )
    } else {
        CheckResult::fail("metadata.deprecated_flows", "discovery offers flows RFC 9700 deprecates")
            .ef("no `token` response types, no password grant", found.join("; "))
    }
}

/// The kinds of value discovery's list members hold (OIDC Discovery §3,
/// RFC 8414 §2), each with the values known to be of that kind. Extensions
/// define more values, so only a value known to be of *another* kind, and
/// not of the member's own, is a mistake (`code` among the grant types).
const KINDS: &[(&str, &str, &[&str])] = &[
    (
        "grant_types_supported",
        "grant type",
        &["authorization_code", "implicit", "refresh_token", "client_credentials", "password"],
    ),
    ("response_types_supported", "response type", &["code", "token", "id_token", "none"]),
    (
        "response_modes_supported",
        "response mode",
        &[
            "query",
            "fragment",
            "form_post",
            "query.jwt",
            "fragment.jwt",
            "form_post.jwt",
            "jwt",
        ],
    ),
    (
        "token_endpoint_auth_methods_supported",
        "client authentication method",
        &[
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
            "private_key_jwt",
            "none",
            "tls_client_auth",
            "self_signed_tls_client_auth",
        ],
    ),
    ("code_challenge_methods_supported", "PKCE method", &["S256", "plain"]),
    ("subject_types_supported", "subject type", &["public", "pairwise"]),
];

/// Other list members whose values are strings (OIDC Discovery §3).
const STRING_LISTS: &[&str] = &[
    "scopes_supported",
    "claims_supported",
    "acr_values_supported",
    "id_token_signing_alg_values_supported",
    "userinfo_signing_alg_values_supported",
    "request_object_signing_alg_values_supported",
    "token_endpoint_auth_signing_alg_values_supported",
    "display_values_supported",
    "claim_types_supported",
    "ui_locales_supported",
    "claims_locales_supported",
];

/// Whether `value` is of the kind `kind` (an index into [`KINDS`]): a
/// response type is a set of response-type words; a grant type may also be
/// an extension URI (RFC 6749 §4.5).
fn of_kind(kind: usize, value: &str) -> bool {
    let (member, _, known) = KINDS[kind];
    match member {
        "response_types_supported" => {
            let words: Vec<&str> = value.split(' ').collect();
            !words.is_empty() && words.iter().all(|w| known.contains(w))
        }
        "grant_types_supported" => known.contains(&value) || value.starts_with("urn:"),
        _ => known.contains(&value),
    }
}

/// OIDC Discovery §3: each list member holds strings of its own kind.
fn member_values(d: &Value) -> CheckResult {
    let mut found = Vec::new();
    let mut judged = 0;
    for (i, (member, kind, _)) in KINDS.iter().enumerate() {
        let Some(v) = d.get(*member) else { continue };
        let Some(values) = string_list(v) else {
            found.push(format!("`{member}` is not an array of strings"));
            continue;
        };
        judged += 1;
        for value in values {
            if of_kind(i, value) {
                continue;
            }
            if let Some((_, other, _)) = KINDS
                .iter()
                .enumerate()
                .find(|(j, _)| *j != i && of_kind(*j, value))
                .map(|(_, k)| k)
            {
                found.push(format!(
                    "`{member}` lists `{}`, a {other}, not a {kind}",
                    crate::report::escape::escape_controls(value)
                ));
            }
        }
    }
    for member in STRING_LISTS {
        let Some(v) = d.get(*member) else { continue };
        judged += 1;
        if string_list(v).is_none() {
            found.push(format!("`{member}` is not an array of strings"));
        }
    }
    if found.is_empty() {
        CheckResult::pass(
            "metadata.values",
            format!("the {judged} list members of discovery hold values of their own kind"),
        )
    } else {
        CheckResult::fail("metadata.values", "discovery lists values under a member they do not belong to")
            .ef("each member's own kind of value", found.join("; "))
    }
}

/// The strings of a JSON array of strings; `None` for anything else.
fn string_list(v: &Value) -> Option<Vec<&str>> {
    v.as_array()?.iter().map(Value::as_str).collect()
}

/// RFC 7517 §4.5: distinct `kid` values within a JWK Set (and one on every key when there are several).
fn key_ids(keys: &[&Value]) -> CheckResult {
    if keys.is_empty() {
        return CheckResult::skip("jwks.kid", "the JWK Set has no keys");
    }
    let kids: Vec<Option<&str>> = keys.iter().map(|k| k.get("kid").and_then(Value::as_str)).collect();
    let missing = kids.iter().filter(|k| k.is_none()).count();
    let mut seen = std::collections::BTreeSet::new();
    let dup: Vec<&str> = kids.iter().flatten().filter(|k| !seen.insert(**k)).copied().collect();
    if keys.len() > 1 && missing > 0 {
        return CheckResult::fail("jwks.kid", format!("{missing} of {} keys have no `kid`", keys.len()))
            .ef("a kid on every key of a set with several", format!("{missing} without"));
    }
    if !dup.is_empty() {
        return CheckResult::fail("jwks.kid", "keys of the JWK Set share a `kid`")
            .ef("distinct kid values", format!("repeated: {}", dup.join(", ")));
    }
    CheckResult::pass("jwks.kid", format!("{} key(s), each with its own kid", keys.len()))
}

/// A published JWK Set is for clients: public keys only.
fn private_members(keys: &[&Value]) -> CheckResult {
    let leaks: Vec<String> = keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| {
            let members: Vec<&str> = PRIVATE_MEMBERS.iter().copied().filter(|m| k.get(*m).is_some()).collect();
            (!members.is_empty()).then(|| {
                let kid = k.get("kid").and_then(Value::as_str).unwrap_or("(no kid)");
                format!("key {i} ({kid}): {}", members.join(", "))
            })
        })
        .collect();
    if leaks.is_empty() {
        CheckResult::pass(
            "jwks.private_members",
            format!("none of {} key(s) carries private or symmetric key material", keys.len()),
        )
    } else {
        // The members are named, never their values.
        CheckResult::fail("jwks.private_members", "the JWK Set publishes private or symmetric key material")
            .ef("public members only", leaks.join("; "))
    }
}

/// RFC 7518 §3.3: RSA keys of 2048 bits or more.
fn rsa_sizes(keys: &[&Value]) -> CheckResult {
    let rsa: Vec<(String, Option<usize>)> = keys
        .iter()
        .filter(|k| k.get("kty").and_then(Value::as_str) == Some("RSA"))
        .map(|k| {
            let kid = k.get("kid").and_then(Value::as_str).unwrap_or("(no kid)").to_owned();
            (kid, k.get("n").and_then(Value::as_str).and_then(modulus_bits))
        })
        .collect();
    if rsa.is_empty() {
        return CheckResult::skip("jwks.rsa_size", "the JWK Set has no RSA key");
    }
    let small: Vec<String> = rsa
        .iter()
        .filter(|(_, bits)| bits.is_none_or(|b| b < 2048))
        .map(|(kid, bits)| match bits {
            Some(b) => format!("{kid}: {b} bits"),
            None => format!("{kid}: `n` is not base64url"),
        })
        .collect();
    if small.is_empty() {
        CheckResult::pass("jwks.rsa_size", format!("{} RSA key(s), each of 2048 bits or more", rsa.len()))
    } else {
        CheckResult::fail("jwks.rsa_size", "an RSA key of the JWK Set is shorter than 2048 bits").ef("2048 bits or more", small.join("; "))
    }
}

/// The bit length of a base64url RSA modulus.
pub fn modulus_bits(n: &str) -> Option<usize> {
    let bytes = B64.decode(n.trim_end_matches('=')).ok()?;
    let first = bytes.iter().position(|b| *b != 0)?;
    let lead = bytes[first];
    Some((bytes.len() - first - 1) * 8 + (8 - lead.leading_zeros() as usize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;
    use serde_json::json;

    #[test]
    fn endpoints_must_be_https_loopback_aside() {
        let d = json!({"issuer": "https://op.example", "token_endpoint": "https://op.example/t", "jwks_uri": "https://op.example/k"});
        assert_eq!(https_endpoints(&d).status, Status::Pass);
        let d = json!({"issuer": "http://127.0.0.1:8080", "token_endpoint": "http://127.0.0.1:8080/t"});
        assert_eq!(https_endpoints(&d).status, Status::Skip);
        let d = json!({"issuer": "https://op.example", "userinfo_endpoint": "http://op.example/u"});
        let r = https_endpoints(&d);
        assert_eq!(r.status, Status::Fail);
        assert!(r.found.unwrap().contains("userinfo_endpoint"));
    }

    #[test]
    fn required_members_and_rs256() {
        let full = json!({
            "issuer": "https://op.example", "authorization_endpoint": "https://op.example/a",
            "token_endpoint": "https://op.example/t", "jwks_uri": "https://op.example/k",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        });
        assert_eq!(required_members(&full).status, Status::Pass);
        assert_eq!(rs256_offered(&full).status, Status::Pass);
        let mut lacking = full.clone();
        lacking.as_object_mut().unwrap().remove("subject_types_supported");
        lacking["issuer"] = json!("https://op.example/?tenant=1");
        let r = required_members(&lacking);
        assert_eq!(r.status, Status::Fail);
        let found = r.found.unwrap();
        assert!(found.contains("subject_types_supported") && found.contains("query"), "{found}");
        // An implicit-only provider needs no token endpoint.
        let mut implicit = full.clone();
        implicit.as_object_mut().unwrap().remove("token_endpoint");
        implicit["response_types_supported"] = json!(["id_token", "id_token token"]);
        assert_eq!(required_members(&implicit).status, Status::Pass);
        let es = json!({"id_token_signing_alg_values_supported": ["ES256"]});
        assert_eq!(rs256_offered(&es).status, Status::Fail);
    }

    #[test]
    fn deprecated_flows_are_named() {
        let d = json!({"response_types_supported": ["code", "id_token", "id_token token"], "grant_types_supported": ["password"]});
        let r = deprecated_flows(&d);
        assert_eq!(r.status, Status::Fail);
        let found = r.found.unwrap();
        assert!(
            found.contains("id_token token") && found.contains("password") && !found.contains("`id_token`"),
            "{found}"
        );
        let d = json!({"response_types_supported": ["code", "id_token", "code id_token"]});
        assert_eq!(deprecated_flows(&d).status, Status::Pass);
    }

    #[test]
    fn member_values_of_another_kind_are_named() {
        let good = json!({
            "grant_types_supported": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "custom_grant"],
            "response_types_supported": ["code", "id_token", "code id_token", "none", "code custom"],
            "response_modes_supported": ["query", "fragment", "form_post", "web_message"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "none", "attest_jwt_client_auth"],
            "scopes_supported": ["openid"],
        });
        assert_eq!(member_values(&good).status, Status::Pass, "{:?}", member_values(&good).found);
        let bad = json!({
            "grant_types_supported": ["authorization_code", "code", "id_token"],
            "response_types_supported": ["code", "authorization_code"],
            "response_modes_supported": ["query", "client_secret_post"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "form_post"],
            "scopes_supported": "openid profile",
            "subject_types_supported": ["public", 3],
        });
        let r = member_values(&bad);
        assert_eq!(r.status, Status::Fail);
        let found = r.found.unwrap();
        for part in [
            "`grant_types_supported` lists `code`, a response type",
            "`grant_types_supported` lists `id_token`, a response type",
            "`response_types_supported` lists `authorization_code`, a grant type",
            "`response_modes_supported` lists `client_secret_post`, a client authentication method",
            "`token_endpoint_auth_methods_supported` lists `form_post`, a response mode",
            "`scopes_supported` is not an array of strings",
            "`subject_types_supported` is not an array of strings",
        ] {
            assert!(found.contains(part), "{part} in {found}");
        }
        assert!(!found.contains("`authorization_code`, a grant type, not a grant"), "{found}");
    }

    #[test]
    fn jwt_client_authentication_algorithms() {
        let d = |v: Value| auth_signing_algs(&v).status;
        assert_eq!(
            d(json!({"token_endpoint_auth_methods_supported": ["client_secret_basic"]})),
            Status::Skip
        );
        assert_eq!(
            d(
                json!({"token_endpoint_auth_methods_supported": ["private_key_jwt"], "token_endpoint_auth_signing_alg_values_supported": ["RS256"]})
            ),
            Status::Pass
        );
        assert_eq!(
            d(
                json!({"token_endpoint_auth_methods_supported": ["client_secret_jwt"], "token_endpoint_auth_signing_alg_values_supported": ["HS256", "none"]})
            ),
            Status::Fail
        );
        assert_eq!(
            d(json!({"token_endpoint_auth_methods_supported": ["private_key_jwt"]})),
            Status::Warn
        );
    }

    #[test]
    fn keys_are_judged() {
        let k = |kid: &str, n: &str| json!({"kty": "RSA", "kid": kid, "n": n, "e": "AQAB"});
        let n2048 = B64.encode([0xC5u8; 256]);
        let n1024 = B64.encode([0x80u8; 128]);
        assert_eq!(modulus_bits(&n2048), Some(2048));
        assert_eq!(modulus_bits(&n1024), Some(1024));
        assert_eq!(modulus_bits(&B64.encode([0u8, 0x01, 0xFF])), Some(9));
        let a = k("a", &n2048);
        let b = k("a", &n1024);
        assert_eq!(key_ids(&[&a]).status, Status::Pass);
        assert_eq!(key_ids(&[&a, &b]).status, Status::Fail);
        assert_eq!(rsa_sizes(&[&a]).status, Status::Pass);
        assert_eq!(rsa_sizes(&[&a, &b]).status, Status::Fail);
        let mut leaky = a.clone();
        leaky["d"] = json!("c2VjcmV0");
        let r = private_members(&[&leaky]);
        assert_eq!(r.status, Status::Fail);
        assert!(r.found.as_deref().unwrap().contains("a): d") && !r.found.unwrap().contains("c2VjcmV0"));
        assert_eq!(private_members(&[&a]).status, Status::Pass);
    }
}
