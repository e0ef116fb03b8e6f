//! Property tests: bad input of any shape gives an error with a reason, never a panic.
//! (Suites and profiles, JWTs and JWKS, HTML pages, token responses.)

use oidc_conform::check::jwt;
use oidc_conform::diag::Source;
use oidc_conform::login::form;
use oidc_conform::secret::Secret;
use proptest::prelude::*;

use crate::util::root;

fn shipped(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

/// A text with a random slice cut out and random text put in.
fn mutate(text: String) -> impl Strategy<Value = String> {
    let n = text.len();
    (0..=n, 0..=n, ".{0,12}").prop_map(move |(a, b, insert)| {
        let (a, b) = (a.min(b), a.max(b));
        let (a, b) = (floor(&text, a), floor(&text, b));
        format!("{}{}{}", &text[..a], insert, &text[b..])
    })
}

fn floor(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn suites_of_any_shape_load_or_explain(text in mutate(shipped("suites/flows.yaml"))) {
        let profile = oidc_conform::run::reference_profile("http://127.0.0.1:8787").unwrap();
        match oidc_conform::suite::parse(Source::new("s.yaml", text)) {
            Ok(file) => { let _ = oidc_conform::suite::expand(&file, &profile); }
            Err(d) => {
                let shown = d.to_string();
                prop_assert!(shown.starts_with("error: "), "{}", shown);
            }
        }
    }

    #[test]
    fn profiles_of_any_shape_load_or_explain(text in mutate(shipped("fixtures/profiles/reference.yaml"))) {
        if let Err(d) = oidc_conform::profile::parse(&Source::new("p.yaml", text)) {
            prop_assert!(!d.to_string().is_empty());
        }
    }

    #[test]
    fn arbitrary_yaml_text_never_panics(text in "\\PC{0,200}") {
        let _ = oidc_conform::suite::parse(Source::new("s.yaml", text.clone()));
        let _ = oidc_conform::profile::parse(&Source::new("p.yaml", text));
    }

    #[test]
    fn arbitrary_tokens_decode_or_explain(token in "[A-Za-z0-9_.=-]{0,300}") {
        let looks = jwt::looks_like_jwt(&token);
        match jwt::decode(&token) {
            Ok(d) => {
                let v = jwt::verify(&token, &d, &jsonwebtoken::jwk::JwkSet { keys: vec![] }, Some("secret"));
                prop_assert!(matches!(v, jwt::Verified::Bad(_)), "an arbitrary string never verifies");
            }
            Err(e) => prop_assert!(!e.is_empty() && (!looks || token.split('.').count() == 3)),
        }
    }

    #[test]
    fn tokens_with_json_of_any_shape_never_panic(header in json::value(), claims in json::value()) {
        use base64::Engine as _;
        let b = |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let token = format!("{}.{}.c2ln", b(&header), b(&claims));
        if let Ok(d) = jwt::decode(&token) {
            let _ = d.audiences();
            let _ = jwt::verify(&token, &d, &jsonwebtoken::jwk::JwkSet { keys: vec![] }, None);
        }
    }

    #[test]
    fn jwks_of_any_shape_parse_or_fail(text in "\\PC{0,300}") {
        let _ = serde_json::from_str::<jsonwebtoken::jwk::JwkSet>(&text);
    }

    #[test]
    fn html_of_any_shape_gives_a_page(prefix in mutate(shipped("fixtures/html/django_login.html"))) {
        let url = url::Url::parse("https://op.example.test/login").unwrap();
        let _ = form::analyse(&prefix, &url, "jane", &Secret::new("pw"), &form::Selectors::default(), "https://app.example.test/cb");
    }
}

/// Generators for JSON values (proptest has none built in for serde_json).
mod json {
    use proptest::prelude::*;
    pub fn value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "\\PC{0,20}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map("(aud|iss|exp|alg|kid|typ|sub|[a-z]{1,5})", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// No URL reaches a rendered string with a credential in it: values of
    /// credential-bearing parameters are redacted by name, and a profile
    /// credential (a password, a client secret) by value, whatever its field is called.
    #[test]
    fn no_secret_survives_url_redaction(
        name in prop::sample::select(vec!["password", "passwd", "client_secret", "code", "access_token", "id_token", "refresh_token", "code_verifier", "pin", "p", "field", "x-login-pass"]),
        value in "[A-Za-z0-9!@#$%^&*()_+= -]{4,40}",
        other in "[a-z]{1,8}",
        in_fragment in any::<bool>(),
    ) {
        let credential = format!("cred-{value}");
        let _ = Secret::credential(credential.clone());
        let mut url = url::Url::parse("https://idp.example.test/login").unwrap();
        let pairs = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("user", &other)
            .append_pair(name, &value)
            .append_pair("field2", &credential)
            .finish();
        if in_fragment {
            url.set_fragment(Some(&pairs));
        } else {
            url.set_query(Some(&pairs));
        }
        let shown = oidc_conform::flow::http::redact_url(&url);
        let by_name = !matches!(name, "p" | "field");
        if by_name {
            let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            prop_assert!(!shown.contains(&format!("{name}={encoded}")), "{shown}");
        }
        let encoded: String = url::form_urlencoded::byte_serialize(credential.as_bytes()).collect();
        prop_assert!(!shown.contains(&credential) && !shown.contains(&encoded), "{shown}");
        let s = oidc_conform::flow::http::redact_str(url.as_str());
        prop_assert!(!s.contains(&credential) && !s.contains(&encoded), "{s}");
    }
}
