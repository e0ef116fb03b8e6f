//! Built-in checks on hand-made tokens: boundary times, audiences as strings
//! and arrays, missing and malformed claims.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use super::{CheckResult, Status, now, tokens};
use crate::diag::Source;
use crate::flow::provider::Discovery;
use crate::flow::{Evidence, Origin, Provider, TokenSet};
use crate::secret::Secret;
use crate::suite::{Area, Case, Expect, Flow, Request};

const ISSUER: &str = "https://op.example.test";
const SECRET: &str = "client-secret-for-hs256-tests-0123456789";

fn provider() -> Provider {
    let profile = crate::profile::parse(&Source::new(
        "p.yaml",
        format!(
            "name: t\nissuer: {ISSUER}\nnamespaces: {{ custom: https://ns.test/, claims: [] }}\n\
             clients:\n  web: {{ id: web, secret: {SECRET}, redirect_uri: https://app.test/cb }}\n\
             apis:\n  api: {{ identifier: https://api.test, scopes: [read, write] }}\n\
             users:\n  u: {{ username: u, password: p }}\n"
        ),
    ))
    .unwrap();
    let discovery: Discovery = serde_json::from_value(json!({
        "issuer": ISSUER,
        "userinfo_endpoint": format!("{ISSUER}/userinfo"),
        "id_token_signing_alg_values_supported": ["HS256"],
        "response_types_supported": ["code"],
    }))
    .unwrap();
    Provider::from_parts(profile, discovery, JwkSet { keys: vec![] }).unwrap()
}

fn case(scope: &str, api: Option<&str>) -> Case {
    Case {
        suite: "t".into(),
        name: "c".into(),
        about: None,
        area: Area::IdToken,
        spec: vec![],
        flow: Flow::Code,
        client: "web".into(),
        auth: crate::profile::ClientAuth::ClientSecretBasic,
        other_clients: vec![],
        user: Some("u".into()),
        api: api.map(str::to_owned),
        skip: None,
        features: vec![],
        check: None,
        request: Request {
            scope: scope.into(),
            nonce: true,
            ..Request::default()
        },
        expect: Expect::default(),
        location: "t.yaml:1".into(),
    }
}

fn sign(header_typ: Option<&str>, claims: &Value) -> String {
    let mut h = Header::new(jsonwebtoken::Algorithm::HS256);
    h.typ = header_typ.map(str::to_owned);
    jsonwebtoken::encode(&h, claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
}

fn good_id_claims() -> Value {
    let n = now();
    json!({"iss": ISSUER, "sub": "user-1", "aud": "web", "exp": n + 60, "iat": n, "nonce": "n-1"})
}

/// Runs the built-in checks on an ID token (and optional access token) from the token endpoint.
fn run(case: &Case, id_claims: Option<Value>, at: Option<String>) -> Vec<CheckResult> {
    let p = provider();
    let ev = Evidence {
        nonce: Some("n-1".into()),
        request: [("response_type".to_owned(), "code".to_owned())].into(),
        token_sets: vec![TokenSet {
            origin: Origin::Token,
            id_token: id_claims.map(|c| Secret::new(sign(Some("JWT"), &c))),
            access_token: at.map(Secret::new),
            refresh_token: None,
            code: None,
            scope: None,
            params: Default::default(),
            cache_control: Some("no-store".into()),
            pragma: Some("no-cache".into()),
        }],
        ..Evidence::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut out = Vec::new();
    rt.block_on(tokens::check_all(&p, case, &ev, &mut out));
    out
}

fn status_of(out: &[CheckResult], id: &str) -> Status {
    let found: Vec<&CheckResult> = out.iter().filter(|c| c.id == id).collect();
    assert!(!found.is_empty(), "{id} ran: {out:#?}");
    found.iter().map(|c| c.status).max().unwrap()
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    if value.is_null() {
        v.as_object_mut().unwrap().remove(key);
    } else {
        v[key] = value;
    }
    v
}

#[test]
fn a_good_id_token_passes_every_check() {
    let out = run(&case("openid", None), Some(good_id_claims()), None);
    let bad: Vec<_> = out.iter().filter(|c| c.status != Status::Pass).collect();
    assert!(bad.is_empty(), "{bad:#?}");
    for id in [
        "id_token.signature",
        "id_token.alg",
        "id_token.iss",
        "id_token.aud",
        "id_token.exp",
        "id_token.iat",
        "id_token.nonce",
        "id_token.sub",
    ] {
        assert_eq!(status_of(&out, id), Status::Pass, "{id}");
    }
}

#[test]
fn exp_and_iat_respect_the_clock_skew_boundaries() {
    let c = case("openid", None);
    let n = now();
    // Default skew is 300 s.
    for (exp, want) in [(n + 1, Status::Pass), (n - 290, Status::Pass), (n - 310, Status::Fail)] {
        let out = run(&c, Some(with(good_id_claims(), "exp", json!(exp))), None);
        assert_eq!(status_of(&out, "id_token.exp"), want, "exp = now {:+}", exp - n);
    }
    for (iat, want) in [(n - 3600, Status::Pass), (n + 290, Status::Pass), (n + 310, Status::Fail)] {
        let out = run(&c, Some(with(good_id_claims(), "iat", json!(iat))), None);
        assert_eq!(status_of(&out, "id_token.iat"), want, "iat = now {:+}", iat - n);
    }
    for missing in ["exp", "iat"] {
        let out = run(&c, Some(with(good_id_claims(), missing, Value::Null)), None);
        assert_eq!(status_of(&out, &format!("id_token.{missing}")), Status::Fail);
    }
    let out = run(&c, Some(with(good_id_claims(), "exp", json!("tomorrow"))), None);
    assert_eq!(status_of(&out, "id_token.exp"), Status::Fail, "a string exp is not a NumericDate");
}

#[test]
fn audience_as_string_or_array_and_azp() {
    let c = case("openid", None);
    let out = run(&c, Some(with(good_id_claims(), "aud", json!(["web"]))), None);
    assert_eq!(status_of(&out, "id_token.aud"), Status::Pass);
    let out = run(&c, Some(with(good_id_claims(), "aud", json!("other"))), None);
    assert_eq!(status_of(&out, "id_token.aud"), Status::Fail);
    // An API identifier never belongs in an ID token's aud.
    let out = run(&c, Some(with(good_id_claims(), "aud", json!(["web", "https://api.test"]))), None);
    assert_eq!(status_of(&out, "id_token.aud"), Status::Fail);
    // Several audiences need azp = client id.
    let multi = with(good_id_claims(), "aud", json!(["web", "https://other.test"]));
    assert_eq!(status_of(&run(&c, Some(multi.clone()), None), "id_token.azp"), Status::Fail);
    assert_eq!(
        status_of(&run(&c, Some(with(multi.clone(), "azp", json!("web"))), None), "id_token.azp"),
        Status::Pass
    );
    assert_eq!(
        status_of(&run(&c, Some(with(multi, "azp", json!("other"))), None), "id_token.azp"),
        Status::Fail
    );
}

#[test]
fn sub_iss_and_nonce() {
    let c = case("openid", None);
    for (sub, want) in [
        (json!("a".repeat(255)), Status::Pass),
        (json!("a".repeat(256)), Status::Fail),
        (json!("jöe"), Status::Fail),
        (json!(""), Status::Fail),
        (json!(42), Status::Fail),
        (Value::Null, Status::Fail),
    ] {
        let out = run(&c, Some(with(good_id_claims(), "sub", sub.clone())), None);
        assert_eq!(status_of(&out, "id_token.sub"), want, "sub = {sub}");
    }
    let out = run(&c, Some(with(good_id_claims(), "iss", json!(format!("{ISSUER}/")))), None);
    assert_eq!(
        status_of(&out, "id_token.iss"),
        Status::Fail,
        "the issuer must match exactly, trailing slash included"
    );
    let out = run(&c, Some(with(good_id_claims(), "nonce", json!("other"))), None);
    assert_eq!(status_of(&out, "id_token.nonce"), Status::Fail);
    let out = run(&c, Some(with(good_id_claims(), "nonce", Value::Null)), None);
    assert_eq!(status_of(&out, "id_token.nonce"), Status::Fail);
}

#[test]
fn id_token_without_openid_and_missing_id_token() {
    let out = run(&case("read", Some("api")), Some(good_id_claims()), None);
    assert_eq!(status_of(&out, "id_token.unrequested"), Status::Fail);
    let out = run(&case("openid", None), None, None);
    assert_eq!(status_of(&out, "flow.id_token_issued"), Status::Fail);
}

#[test]
fn signature_key_and_algorithm() {
    let c = case("openid", None);
    // A token signed with another secret fails the signature, not the claims.
    let forged = jsonwebtoken::encode(
        &Header::default(),
        &good_id_claims(),
        &EncodingKey::from_secret(b"not-the-client-secret"),
    )
    .unwrap();
    let d = super::jwt::decode(&forged).unwrap();
    let v = super::jwt::verify(&forged, &d, &JwkSet { keys: vec![] }, Some(SECRET));
    assert!(
        matches!(v, super::jwt::Verified::Bad(ref m) if m.contains("does not verify")),
        "{v:?}"
    );
    // RS256 with a kid the JWKS does not have.
    let mut h = Header::new(jsonwebtoken::Algorithm::RS256);
    h.kid = Some("nope".into());
    let fake = format!(
        "{}.{}.c2ln",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, serde_json::to_vec(&h).unwrap()),
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b"{}")
    );
    let d = super::jwt::decode(&fake).unwrap();
    let v = super::jwt::verify(&fake, &d, &JwkSet { keys: vec![] }, Some(SECRET));
    assert!(
        matches!(v, super::jwt::Verified::Bad(ref m) if m.contains("no key with `kid` `nope`")),
        "{v:?}"
    );
    let out = run(&c, Some(good_id_claims()), None);
    assert_eq!(status_of(&out, "id_token.alg"), Status::Pass);
}

fn good_at_claims() -> Value {
    let n = now();
    json!({"iss": ISSUER, "sub": "user-1", "aud": ["https://api.test"], "client_id": "web", "azp": "web", "exp": n + 60, "iat": n, "jti": "j", "scope": "openid read"})
}

#[test]
fn access_token_claims_audience_and_scope() {
    let c = case("openid read", Some("api"));
    let at = |typ: Option<&str>, claims: Value| Some(sign(typ, &claims));
    let out = run(&c, Some(good_id_claims()), at(Some("at+jwt"), good_at_claims()));
    for id in [
        "access_token.typ",
        "access_token.iss",
        "access_token.exp",
        "access_token.claims",
        "access_token.aud",
        "access_token.scope",
    ] {
        assert_eq!(status_of(&out, id), Status::Pass, "{id}: {out:#?}");
    }
    assert_eq!(
        status_of(
            &run(&c, Some(good_id_claims()), at(Some("application/at+jwt"), good_at_claims())),
            "access_token.typ"
        ),
        Status::Pass
    );
    assert_eq!(
        status_of(
            &run(&c, Some(good_id_claims()), at(Some("JWT"), good_at_claims())),
            "access_token.typ"
        ),
        Status::Fail
    );
    // aud as a plain string is fine; without the API it fails.
    let s = with(good_at_claims(), "aud", json!("https://api.test"));
    assert_eq!(
        status_of(&run(&c, Some(good_id_claims()), at(Some("at+jwt"), s)), "access_token.aud"),
        Status::Pass
    );
    let s = with(good_at_claims(), "aud", json!("https://elsewhere.test"));
    assert_eq!(
        status_of(&run(&c, Some(good_id_claims()), at(Some("at+jwt"), s)), "access_token.aud"),
        Status::Fail
    );
    for missing in ["sub", "client_id", "iat", "jti"] {
        let s = with(good_at_claims(), missing, Value::Null);
        assert_eq!(
            status_of(&run(&c, Some(good_id_claims()), at(Some("at+jwt"), s)), "access_token.claims"),
            Status::Fail,
            "{missing}"
        );
    }
    // Over-grant: a scope not requested, or one the API does not define.
    for scope in ["openid read write", "openid read admin"] {
        let s = with(good_at_claims(), "scope", json!(scope));
        assert_eq!(
            status_of(&run(&c, Some(good_id_claims()), at(Some("at+jwt"), s)), "access_token.scope"),
            Status::Fail,
            "{scope}"
        );
    }
    // An opaque token for an API where the profile expects JWTs.
    assert_eq!(
        status_of(&run(&c, Some(good_id_claims()), Some("opaque-token".into())), "access_token.format"),
        Status::Fail
    );
}

/// `id_token.auth_time` on a case that began at `started`, for `claims`, with
/// the default 300 s skew; `max_age`: whether the request carried one.
fn auth_time_status(started: i64, claims: Value, max_age: bool) -> (Status, String) {
    let mut request: std::collections::BTreeMap<String, String> = [("response_type".to_owned(), "code".to_owned())].into();
    if max_age {
        request.insert("max_age".into(), "60".into());
    }
    let ev = Evidence {
        started: Some(started),
        request,
        ..Evidence::default()
    };
    let d = super::jwt::Decoded {
        header: Default::default(),
        claims: claims.as_object().unwrap().clone(),
    };
    let mut out = Vec::new();
    tokens::auth_time(&ev, &d, "from the token endpoint", 300, now(), &mut out);
    match out.as_slice() {
        [one] => (one.status, format!("{} {:?}", one.message, one.expected)),
        [] => (Status::Skip, String::new()),
        more => panic!("one verdict: {more:?}"),
    }
}

#[test]
fn auth_time_lies_in_the_cases_own_window_with_the_clock_skew() {
    let n = now();
    let started = n - 2;
    let at = |t: i64| with(good_id_claims(), "auth_time", json!(t));
    // The login of this case, a second after it began.
    assert_eq!(auth_time_status(started, at(started + 1), true).0, Status::Pass);
    // A session signed in earlier in the same case, and a provider clock 4 minutes behind.
    assert_eq!(auth_time_status(started, at(started - 240), false).0, Status::Pass);
    // 0 (1970), or a sign-in before the skew allows: not this case's sign-in.
    let (status, message) = auth_time_status(started, at(0), true);
    assert_eq!(status, Status::Fail);
    assert!(
        message.contains("OIDC Core §2") && message.contains("before this case began"),
        "{message}"
    );
    assert!(message.contains(&format!("between {}", started - 300)), "{message}");
    assert_eq!(auth_time_status(started, at(started - 301), false).0, Status::Fail);
    // After iat (beyond the skew): fails; within it: passes.
    assert_eq!(auth_time_status(started, at(n + 301), false).0, Status::Fail);
    assert_eq!(auth_time_status(started, at(n + 299), false).0, Status::Pass);
    // Absent: required only with max_age. A string is malformed.
    assert_eq!(auth_time_status(started, good_id_claims(), false).0, Status::Skip);
    assert_eq!(auth_time_status(started, good_id_claims(), true).0, Status::Fail);
    let text = with(good_id_claims(), "auth_time", json!(started.to_string()));
    assert_eq!(auth_time_status(started, text, false).0, Status::Fail);
}

/// A case that started from the run's shared sign-in rests on that sign-in:
/// an `auth_time` from it passes, one before it fails and says whose window.
#[test]
fn auth_time_of_a_case_from_the_shared_sign_in_is_that_sign_ins() {
    let n = now();
    let (seeded, started) = (n - 900, n - 2);
    let judged = |auth_time: i64| {
        let ev = Evidence {
            started: Some(started),
            seeded_at: Some(seeded),
            request: [("response_type".to_owned(), "code".to_owned())].into(),
            ..Evidence::default()
        };
        let d = super::jwt::Decoded {
            header: Default::default(),
            claims: with(good_id_claims(), "auth_time", json!(auth_time)).as_object().unwrap().clone(),
        };
        let mut out = Vec::new();
        tokens::auth_time(&ev, &d, "from the token endpoint", 300, n, &mut out);
        out.into_iter()
            .next()
            .map(|r| (r.status, format!("{} {:?}", r.message, r.expected)))
    };
    // Fifteen minutes before the case: the shared sign-in, not a failure.
    assert_eq!(judged(seeded + 1).unwrap().0, Status::Pass);
    // Before the shared sign-in (beyond the skew): a failure naming it.
    let (status, message) = judged(seeded - 301).unwrap();
    assert_eq!(status, Status::Fail);
    assert!(message.contains("the run's shared sign-in"), "{message}");
    // The same time in a case that signed in itself: before the case began.
    assert_eq!(
        auth_time_status(started, with(good_id_claims(), "auth_time", json!(seeded + 1)), false).0,
        Status::Fail
    );
}

#[test]
fn scope_values_are_not_resource_indicators() {
    let aud = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let scope = "openid profile read:messages https://api.test/read";
    assert_eq!(tokens::scope_values_in_aud(scope, &aud(&["openid"])), ["openid"]);
    assert_eq!(
        tokens::scope_values_in_aud(scope, &aud(&["https://op.example.test/userinfo", "profile"])),
        ["profile"]
    );
    assert_eq!(tokens::scope_values_in_aud(scope, &aud(&["read:messages"])), ["read:messages"]);
    // A scope that is a URL of its resource, an API, or a value not requested: not judged here.
    assert!(tokens::scope_values_in_aud(scope, &aud(&["https://api.test/read"])).is_empty());
    assert!(tokens::scope_values_in_aud(scope, &aud(&["https://api.test", "email"])).is_empty());
}

#[test]
fn an_access_token_for_the_openid_scope_fails_the_default_audience() {
    let n = now();
    let at = sign(
        Some("at+jwt"),
        &json!({"iss": ISSUER, "sub": "user-1", "aud": "openid", "client_id": "web", "exp": n + 60, "iat": n, "jti": "j"}),
    );
    let out = run(&case("openid", None), Some(good_id_claims()), Some(at));
    let c = out.iter().find(|c| c.id == "access_token.default_audience").expect("judged");
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert!(c.message.contains("RFC 9068 §3") && c.message.contains("`openid`"), "{}", c.message);
}
