//! `init ISSUER` writes a starting profile from discovery that validates and
//! runs, from a directory without any suites (the built-in ones run).

use crate::util::{oidc_conform_in, oidc_conform_in_env, read_report};

/// init, validate, run in an empty directory; returns the run's report.
fn init_and_run(issuer: &str, env: &[(&str, &str)], extra: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let run = oidc_conform_in(dir.path(), &["init", issuer]);
    run.expect_code(0);
    assert!(run.stdout().contains("export OIDC_CLIENT_SECRET"), "{}", run.describe());
    let text = std::fs::read_to_string(dir.path().join("profile.yaml")).unwrap();
    assert!(text.contains("${env:OIDC_CLIENT_SECRET}") && !text.contains("secret-"), "{text}");
    // A second init does not overwrite it.
    oidc_conform_in(dir.path(), &["init", issuer]).expect_code(2);
    oidc_conform_in_env(dir.path(), &["validate", "profile.yaml"], env).expect_code(0);
    let mut args = vec!["run", "--provider", "profile.yaml", "--output", "out"];
    args.extend_from_slice(extra);
    let run = oidc_conform_in_env(dir.path(), &args, env);
    run.expect_code(0);
    assert!(
        run.stdout().contains("ignored (skip:"),
        "skips are said as such\n{}",
        run.describe()
    );
    read_report(&dir.path().join("out"))
}

fn passed(report: &serde_json::Value) -> Vec<&str> {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        // A reviewed SHOULD-level warning (node oidc-provider sends no `Pragma`) still ran the case.
        .filter(|c| c["status"] == "pass" || c["status"] == "warn")
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

#[test]
fn init_against_the_reference_provider_validates_and_runs() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rp = rt
        .block_on(oidc_conform::reference::ReferenceProvider::start(Default::default()))
        .unwrap();
    let report = init_and_run(
        rp.issuer(),
        &[
            ("OIDC_CLIENT_ID", "web-app"),
            ("OIDC_CLIENT_SECRET", "web-app-secret-7f3a9c"),
            ("OIDC_REDIRECT_URI", "https://app.example.test/callback"),
            ("OIDC_USERNAME", "jane"),
            ("OIDC_PASSWORD", "jane-password-5e8b"),
        ],
        &[],
    );
    let ok = passed(&report);
    for id in [
        "flows::code-client-secret-basic",
        "flows::implicit-id-token-token",
        "flows::refresh",
    ] {
        assert!(ok.contains(&id), "{id} passes: {ok:?}");
    }
    // The provider's supported methods are not the client's registered ones: `init`
    // does not guess, so a case needing client_secret_post skips and says why.
    let post = crate::util::case(&report, "flows::code-client-secret-post");
    assert_eq!(post["status"], "skip", "{post:#}");
    assert!(post["checks"].to_string().contains("client_secret_post"), "{post:#}");
    rt.block_on(rp.shutdown());
}

#[test]
fn init_against_oidc_provider_validates_and_runs() {
    crate::provider_node::install().unwrap_or_else(|e| panic!("{e}"));
    let p = crate::provider_node::provider();
    let baseline = crate::util::root()
        .join("fixtures/providers/node-oidc-provider/baseline.yaml")
        .display()
        .to_string();
    let report = init_and_run(
        &p.issuer,
        &[
            ("OIDC_CLIENT_ID", "web-app"),
            ("OIDC_CLIENT_SECRET", "web-app-secret-7f3a9c"),
            ("OIDC_REDIRECT_URI", "https://app.example.test/callback"),
            ("OIDC_USERNAME", "jane"),
            ("OIDC_PASSWORD", "any"),
        ],
        // The provider's one reviewed finding (a code outlives a refused PKCE exchange).
        &["--baseline", &baseline],
    );
    let ok = passed(&report);
    assert!(ok.contains(&"flows::code-client-secret-basic"), "{ok:?}");
    assert!(ok.contains(&"flows::hybrid-code-id-token"), "{ok:?}");
}

/// A discovery server on 127.0.0.1: `/{mode}/.well-known/openid-configuration`.
fn discovery_server() -> std::net::SocketAddr {
    use axum::extract::Path;
    use axum::routing::get;
    static ADDR: std::sync::OnceLock<std::net::SocketAddr> = std::sync::OnceLock::new();
    *ADDR.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                tx.send(addr).unwrap();
                let app = axum::Router::new().route(
                    "/{mode}/.well-known/openid-configuration",
                    get(move |Path(mode): Path<String>| async move { axum::Json(hostile_discovery(addr, &mode)) }),
                );
                axum::serve(listener, app).await.unwrap();
            });
        });
        rx.recv().unwrap()
    })
}

const INJECTED: &str = "\nchecks: {id_token.signature: off}\nhttp:\n  trusted_origins: [\"https://evil.example.test\"]";

fn hostile_discovery(addr: std::net::SocketAddr, mode: &str) -> serde_json::Value {
    let iss = format!("http://{addr}/{mode}");
    let issuer = match mode {
        "other-issuer" => format!("https://attacker.example.test/{INJECTED}"),
        "issuer-injection" => format!("{iss}{INJECTED}"),
        _ => iss.clone(),
    };
    serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{iss}/authorize{INJECTED}"),
        "token_endpoint": format!("https://evil.example.test/token{INJECTED}"),
        "userinfo_endpoint": format!("{iss}/userinfo\u{2028}checks: {{id_token.signature: off}}"),
        "jwks_uri": format!("{iss}/jwks"),
        "registration_endpoint": "javascript:alert(1)",
        "scopes_supported": ["openid", format!("profile{INJECTED}"), "email", "caf\u{e9}", "a\"b", ""],
        "response_types_supported": ["code", format!("id_token{INJECTED}"), "code  id_token", "id_token"],
        "grant_types_supported": ["authorization_code", format!("implicit{INJECTED}")],
        "token_endpoint_auth_methods_supported": [format!("client_secret_post{INJECTED}"), "client_secret_basic"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })
}

const ENV: &[(&str, &str)] = &[
    ("OIDC_CLIENT_ID", "web-app"),
    ("OIDC_CLIENT_SECRET", "web-app-secret-7f3a9c"),
    ("OIDC_REDIRECT_URI", "https://app.example.test/callback"),
    ("OIDC_USERNAME", "jane"),
    ("OIDC_PASSWORD", "jane-password-5e8b"),
];

#[test]
fn init_writes_only_what_the_spec_allows_from_a_hostile_discovery_document() {
    let iss = format!("http://{}/hostile", discovery_server());
    let dir = tempfile::tempdir().unwrap();
    let run = oidc_conform_in(dir.path(), &["init", &iss]);
    run.expect_code(0);
    let text = std::fs::read_to_string(dir.path().join("profile.yaml")).unwrap();
    assert!(!text.contains("evil") && !text.contains("trusted_origins"), "{text}");
    let v: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        // Nothing discovery cannot tell is written as a fact (api_access_tokens,
        // claims_in_id_token, … are commented choices).
        ["apis", "audience_param", "clients", "issuer", "name", "users"],
        "{text}"
    );
    assert_eq!(v["issuer"], serde_json::json!(iss));
    assert_eq!(
        v["clients"],
        serde_json::json!({ "web": {
            "id": "${env:OIDC_CLIENT_ID}",
            "secret": "${env:OIDC_CLIENT_SECRET}",
            "auth": "client_secret_basic",
            "redirect_uri": "${env:OIDC_REDIRECT_URI}",
        }}),
        "{text}"
    );
    // What the provider offers is offered to choose from, as comments.
    assert!(
        text.contains("    # grant_types: [\"authorization_code\"]") && text.contains("    # response_types: [\"code\", \"id_token\"]"),
        "{text}"
    );
    // The advertised scopes are the valid ones; the endpoints listed for review too.
    assert!(text.contains("\n# Discovery advertises these scopes: openid email\n"), "{text}");
    assert!(text.contains(&format!("#   jwks_uri: {iss}/jwks\n")), "{text}");
    assert!(
        !text.contains("authorization_endpoint") && !text.contains("registration_endpoint"),
        "{text}"
    );
    // Each value left out is named, escaped, on stderr.
    let err = run.stderr();
    for shown in [
        r#""profile\nchecks: {id_token.signature: off}\nhttp:\n  trusted_origins: [\"https://evil.example.test\"]""#,
        r#""id_token\nchecks:"#,
        r#""code  id_token""#,
        r#""implicit\nchecks:"#,
        r#""client_secret_post\nchecks:"#,
        r#"/authorize\nchecks:"#,
        r#""https://evil.example.test/token\nchecks:"#,
        r#"/userinfo\u{2028}checks:"#,
        r#""javascript:alert(1)""#,
        r#""café""#,
        r#""a\"b""#,
    ] {
        assert!(err.contains(shown), "{shown} is named\n{}", run.describe());
    }
    assert_eq!(
        err.lines().filter(|l| l.starts_with("warning: ")).count(),
        err.lines().count(),
        "{err}"
    );
    oidc_conform_in_env(dir.path(), &["validate", "profile.yaml"], ENV).expect_code(0);
}

#[test]
fn init_refuses_a_discovery_document_that_names_another_issuer() {
    let addr = discovery_server();
    for mode in ["other-issuer", "issuer-injection"] {
        let iss = format!("http://{addr}/{mode}");
        let dir = tempfile::tempdir().unwrap();
        let run = oidc_conform_in(dir.path(), &["init", &iss]);
        run.expect_code(3);
        let err = run.stderr();
        let stated = if mode == "other-issuer" {
            r#""https://attacker.example.test/\nchecks: {id_token.signature: off}"#.to_owned()
        } else {
            format!(r#""{iss}\nchecks: {{id_token.signature: off}}"#)
        };
        assert!(err.contains(&stated), "names the stated issuer\n{}", run.describe());
        assert!(
            err.contains(&format!("\"{iss}\"")),
            "names the issuer asked for\n{}",
            run.describe()
        );
        assert!(!err.contains("\nchecks:"), "nothing of the document unescaped\n{}", run.describe());
        assert!(!dir.path().join("profile.yaml").exists());
    }
    // A trailing `/` more or less names the same discovery document: accepted, the document's form written.
    let dir = tempfile::tempdir().unwrap();
    let iss = format!("http://{addr}/hostile/");
    oidc_conform_in(dir.path(), &["init", &iss]).expect_code(0);
    let text = std::fs::read_to_string(dir.path().join("profile.yaml")).unwrap();
    assert!(text.contains(&format!("issuer: \"http://{addr}/hostile\"\n")), "{text}");
}

/// `init --probe` with the credentials in the environment: the pre-flight
/// signs the user in and what it observed is written as facts, each marked
/// `# observed by the pre-flight`; the profile validates and `doctor` agrees.
#[test]
fn init_probe_writes_what_the_pre_flight_observed() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rp = rt
        .block_on(oidc_conform::reference::ReferenceProvider::start(Default::default()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = oidc_conform_in_env(dir.path(), &["init", rp.issuer(), "--probe"], ENV);
    run.expect_code(0);
    assert!(
        run.stdout().contains("ok   user `tester` signs in through client `web`"),
        "{}",
        run.describe()
    );
    let text = std::fs::read_to_string(dir.path().join("profile.yaml")).unwrap();
    for fact in [
        "claims_in_id_token: always   # observed by the pre-flight\n",
        "    auth: \"client_secret_basic\"   # observed by the pre-flight\n",
        "    auth_methods: [\"client_secret_basic\", \"client_secret_post\"]   # observed by the pre-flight\n",
        "    consent: every_time   # observed by the pre-flight\n",
        "    claims:   # observed by the pre-flight",
        "      \"email\": \"jane@example.test\"\n",
        "      \"address\": {\"formatted\":\"1 Main St, Springfield\"}\n",
    ] {
        assert!(text.contains(fact), "{fact}\n{text}");
    }
    // No API in the profile: the token format stays a commented choice. No secret is written.
    assert!(text.contains("\n# api_access_tokens: jwt\n"), "{text}");
    assert!(!text.contains("jane-password") && !text.contains("web-app-secret"), "{text}");
    let v: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(
        v["users"]["tester"]["claims"]["phone_number_verified"],
        serde_json::json!(false),
        "{text}"
    );
    oidc_conform_in_env(dir.path(), &["validate", "profile.yaml"], ENV).expect_code(0);
    let doctor = oidc_conform_in_env(dir.path(), &["doctor", "--provider", "profile.yaml"], ENV);
    doctor.expect_code(0);
    assert!(
        doctor.stdout().contains("ok   user `tester`'s declared claims come back"),
        "{}",
        doctor.describe()
    );
    // Without --probe nothing is observed: the choices stay comments.
    let plain = tempfile::tempdir().unwrap();
    oidc_conform_in_env(plain.path(), &["init", rp.issuer()], ENV).expect_code(0);
    let text = std::fs::read_to_string(plain.path().join("profile.yaml")).unwrap();
    assert!(
        !text.contains("observed") && text.contains("# claims_in_id_token: always") && text.contains("claims: {}"),
        "{text}"
    );
    rt.block_on(rp.shutdown());
}

/// `init --probe` with a password the provider refuses writes nothing and
/// says so, naming the environment; without the credentials it says which are missing.
#[test]
fn init_probe_with_a_refused_password_writes_nothing() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rp = rt
        .block_on(oidc_conform::reference::ReferenceProvider::start(Default::default()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut env = ENV.to_vec();
    env.retain(|(k, _)| *k != "OIDC_PASSWORD");
    env.push(("OIDC_PASSWORD", "not-janes-password-2c7d"));
    let run = oidc_conform_in_env(dir.path(), &["init", rp.issuer(), "--probe"], &env);
    run.expect_code(2);
    assert!(run.stderr().contains("user `tester` could not sign in"), "{}", run.describe());
    assert!(run.stderr().contains("OIDC_PASSWORD"), "{}", run.describe());
    assert!(!run.stderr().contains("not-janes-password") && !run.stdout().contains("not-janes-password"));
    assert!(!dir.path().join("profile.yaml").exists());
    let run = oidc_conform_in_env(dir.path(), &["init", rp.issuer(), "--probe"], &[("OIDC_PASSWORD", "")]);
    run.expect_code(2);
    assert!(run.stderr().contains("`OIDC_PASSWORD`"), "{}", run.describe());
    assert!(!dir.path().join("profile.yaml").exists());
    rt.block_on(rp.shutdown());
}
