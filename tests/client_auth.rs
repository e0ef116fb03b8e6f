//! Client authentication with JWTs (`suites/client-auth.yaml`) against the
//! reference provider: the clean provider passes the family, each of the
//! family's quirks fails exactly its checks (the rows of the detection
//! matrix, run here on the family alone), a profile client with its own
//! private key runs it, a provider that offers neither method does not offer
//! the family, and no assertion reaches any output.

use std::collections::BTreeSet;

use oidc_conform::check::Status;
use oidc_conform::flow::Provider;
use oidc_conform::reference::{ClientMeta, ClientReg, Config, Quirk, ReferenceProvider};
use oidc_conform::report::CaseReport;
use oidc_conform::{profile, run};

use crate::util::{oidc_conform, root, with_quirks, write_profile};

/// The family's quirks and the checks each must fail (as in `tests/matrix.rs`).
const FAMILY: &[(&str, &[&str])] = &[
    ("client-assertion-refused", &["client_auth.accepted", "flow.token"]),
    (
        "client-assertion-token-endpoint-audience-refused",
        &["client_auth.token_endpoint_audience"],
    ),
    ("client-assertion-issuer-audience-refused", &["client_auth.issuer_audience"]),
    ("client-assertion-audience-unchecked", &["client_auth.audience"]),
    ("client-assertion-expiry-unchecked", &["client_auth.expired"]),
    ("client-assertion-subject-unchecked", &["client_auth.subject"]),
    ("client-assertion-issuer-unchecked", &["client_auth.issuer"]),
    ("client-assertion-signature-unchecked", &["client_auth.signature"]),
    ("client-assertion-replay-accepted", &["client_auth.replay"]),
];

/// A static client of the reference provider registered for private_key_jwt
/// with the fixture key's public half.
fn keyed_client() -> ClientReg {
    let jwks: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("fixtures/keys/client-jwks.json")).unwrap()).unwrap();
    ClientReg {
        id: "keyed-app".into(),
        secret: None,
        redirect_uris: vec!["https://keyed.example.test/callback".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        response_types: vec!["code".into()],
        auth_method: "private_key_jwt".into(),
        meta: ClientMeta {
            jwks: Some(jwks),
            ..ClientMeta::default()
        },
    }
}

/// The profile text of that client, its key from the fixture file.
fn keyed_profile_client() -> String {
    let key = root().join("fixtures/keys/client-private-key.pem");
    format!(
        "clients:\n  keyed:\n    id: keyed-app\n    auth: private_key_jwt\n    private_key: ${{file:{}}}\n    redirect_uri: https://keyed.example.test/callback\n    grant_types: [authorization_code, refresh_token]\n    response_types: [code]\n",
        key.display()
    )
}

/// Runs the family against a reference provider with `config`; the case reports.
async fn family(mut config: Config, keyed: bool) -> Vec<CaseReport> {
    if keyed {
        config.clients.push(keyed_client());
    }
    let rp = ReferenceProvider::start(config).await.expect("the reference provider starts");
    let dir = tempfile::tempdir().unwrap();
    let replace = keyed_profile_client();
    let edits: Vec<(&str, &str)> = if keyed { vec![("clients:\n", replace.as_str())] } else { vec![] };
    let path = write_profile(dir.path(), rp.issuer(), &edits);
    let profile = profile::load(&path).expect("the profile loads");
    let cases = run::load_cases(&[root().join("suites/client-auth.yaml")], &profile).expect("the suite loads");
    let provider = std::sync::Arc::new(
        Provider::connect(profile, Default::default(), false, None)
            .await
            .expect("discovery and JWKS load"),
    );
    // The cases at once, each on a worker thread, in the suite's order.
    let mut set = tokio::task::JoinSet::new();
    for (i, case) in cases.into_iter().enumerate() {
        let provider = provider.clone();
        set.spawn(async move { (i, run::run_case(&provider, &case).await) });
    }
    let mut reports: Vec<(usize, CaseReport)> = set.join_all().await;
    reports.sort_by_key(|(i, _)| *i);
    rp.shutdown().await;
    reports.into_iter().map(|(_, r)| r).collect()
}

/// The checks that failed or warned, and the errors.
fn findings(reports: &[CaseReport]) -> (BTreeSet<String>, Vec<String>) {
    let mut failing = BTreeSet::new();
    let mut errors = Vec::new();
    for r in reports {
        for c in &r.checks {
            match c.status {
                Status::Fail | Status::Warn => {
                    failing.insert(c.id.clone());
                }
                Status::Error => errors.push(format!("{}: {} {}", r.id, c.id, c.message)),
                _ => {}
            }
        }
    }
    (failing, errors)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

#[test]
fn the_clean_provider_passes_and_each_quirk_fails_exactly_its_checks() {
    let rt = runtime();
    let clean = rt.block_on(family(Config::default(), true));
    let (failing, errors) = findings(&clean);
    assert!(failing.is_empty() && errors.is_empty(), "{failing:?} {errors:?}");
    let passed: Vec<&str> = clean.iter().filter(|r| r.status == Status::Pass).map(|r| r.name.as_str()).collect();
    assert_eq!(
        passed,
        [
            "private-key-jwt",
            "client-secret-jwt",
            "private-key-jwt-registered",
            "client-secret-jwt-registered"
        ],
        "every case of the family runs against the reference provider"
    );
    // One provider at a time, its four cases at once.
    let results: Vec<(&str, BTreeSet<String>, Vec<String>)> = FAMILY
        .iter()
        .map(|(name, _)| {
            let quirk: Quirk = name.parse().unwrap();
            let (got, errors) = findings(&rt.block_on(family(with_quirks(&[quirk]), true)));
            (*name, got, errors)
        })
        .collect();
    let mut wrong = Vec::new();
    for (name, got, errors) in results {
        let expected = FAMILY.iter().find(|(n, _)| *n == name).map(|(_, e)| *e).unwrap_or_default();
        let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
        if got != expected || !errors.is_empty() {
            wrong.push(format!("{name}: expected {expected:?}, got {got:?}, errors {errors:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_failure_names_its_section_level_expected_and_found() {
    let rt = runtime();
    let reports = rt.block_on(family(with_quirks(&[Quirk::ClientAssertionExpiryUnchecked]), false));
    let c = reports
        .iter()
        .flat_map(|r| &r.checks)
        .find(|c| c.id == "client_auth.expired" && c.status == Status::Fail)
        .expect("client_auth.expired fails");
    assert_eq!(c.spec, "RFC7523-3");
    assert_eq!(c.level.as_str(), "MUST");
    assert!(c.expected.as_deref().is_some_and(|e| e.contains("invalid_client")), "{c:?}");
    assert_eq!(c.found.as_deref(), Some("tokens issued"));
}

#[test]
fn a_provider_offering_neither_method_does_not_offer_the_family() {
    let rt = runtime();
    let reports = rt.block_on(family(with_quirks(&[Quirk::DiscoveryMinimal]), false));
    assert_eq!(reports.len(), 4);
    for r in &reports {
        assert_eq!(r.status, Status::Skip, "{}", r.id);
        let why = &r.checks[0].message;
        assert!(why.contains("token_endpoint_auth_methods_supported"), "{}: {why}", r.id);
    }
}

#[test]
fn no_assertion_or_key_reaches_the_output() {
    let out = tempfile::tempdir().unwrap();
    let suite = root().join("suites/client-auth.yaml");
    let run = oidc_conform(&[
        "run",
        suite.to_str().unwrap(),
        "--quirk",
        "client-assertion-signature-unchecked",
        "--output",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code(), 1, "{}", run.describe());
    let key = std::fs::read_to_string(root().join("fixtures/keys/client-private-key.pem")).unwrap();
    let key_line = key.lines().nth(1).unwrap().to_owned();
    let mut texts = vec![("stdout".to_owned(), run.stdout()), ("stderr".to_owned(), run.stderr())];
    for e in std::fs::read_dir(out.path()).unwrap() {
        let p = e.unwrap().path();
        texts.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
    }
    for (name, text) in &texts {
        // An assertion is a JWT: its header starts `{"alg":` or `{"typ":`.
        assert!(
            !text.contains("eyJhbGciOi") && !text.contains("eyJ0eXAiOi"),
            "{name} contains a raw JWT"
        );
        // Reproductions name the assertion as a placeholder (`$CLIENT_ASSERTION`), never its value.
        let placeholders = ["$CLIENT_ASSERTION", "'\"$CLIENT_ASSERTION", "&#x27;&quot;$CLIENT_ASSERTION"];
        for (at, _) in text.match_indices("client_assertion=") {
            let rest = &text[at + "client_assertion=".len()..];
            assert!(
                placeholders.iter().any(|p| rest.starts_with(p)),
                "{name} contains a client assertion: {}",
                rest.chars().take(40).collect::<String>()
            );
        }
        assert!(!text.contains("web-app-secret-7f3a9c"), "{name} contains the client secret");
        assert!(!text.contains(&key_line), "{name} contains the private key");
    }
}
