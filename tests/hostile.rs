//! A hostile provider: endpoints that hang, trickle, flood, loop, lie and break.
//! Each must end the run or the case with the expected status and a reason,
//! within the configured bounds — never a panic or a hang.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::util::{Run, oidc_conform, read_report};

const CLIENT: &str = "hostile-client";
const SECRET: &str = "hostile-secret-0123456789abcdef0123456789";
/// The access token of `echo-secrets`, which the provider echoes back in claims.
const ECHOED_TOKEN: &str = "echoed-access-token-5e1f9a7c";
/// Provider text with terminal escapes in it.
const HOSTILE_TEXT: &str = "denied\u{1b}[2J\u{1b}]0;pwned\u{7}\u{1b}]52;c;ZXZpbA==\u{7}\u{9b}1m\u{202e}\rtest result: ok. 1 passed";

#[derive(Default)]
struct Counters {
    /// The codes `token-429-once` has already answered 429 for: the server is
    /// shared by tests running in parallel, so the first call is told by its
    /// code, never by a global count.
    busy_once: std::sync::Mutex<std::collections::HashSet<String>>,
}

fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let app = Router::new()
                    .route("/{mode}/.well-known/openid-configuration", get(discovery))
                    .route("/{mode}/jwks", get(jwks))
                    .route("/{mode}/authorize", get(authorize))
                    .route("/{mode}/token", any(token))
                    .route("/{mode}/userinfo", get(userinfo))
                    .route("/{mode}/login", get(login_reset))
                    .route("/{mode}/register", any(register))
                    .with_state(Arc::new(Counters::default()));
                axum::serve(listener, app).await.unwrap();
            });
        });
        rx.recv().unwrap()
    })
}

fn issuer(mode: &str) -> String {
    format!("http://{}/{mode}", server())
}

/// A body that arrives one byte per 300 ms.
fn trickle() -> Response {
    let stream = async_stream(200, Duration::from_millis(300));
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from_stream(stream))
        .unwrap()
}

fn async_stream(n: usize, every: Duration) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::unfold(0, move |i| async move {
        if i >= n {
            return None;
        }
        tokio::time::sleep(every).await;
        Some((Ok(b" ".to_vec()), i + 1))
    })
}

fn huge() -> Response {
    let body = vec![b'x'; 8 * 1024 * 1024];
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn discovery(Path(mode): Path<String>) -> Response {
    match mode.as_str() {
        "discovery-hang" => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            StatusCode::OK.into_response()
        }
        "discovery-huge" => huge(),
        "discovery-malformed" => ([(header::CONTENT_TYPE, "application/json")], "{\"issuer\": [1, 2").into_response(),
        "discovery-500" => (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response(),
        _ => {
            let iss = issuer(&mode);
            // `token-elsewhere`: the token endpoint on another origin (same server, another host name).
            let token_base = if mode == "token-elsewhere" {
                iss.replace("127.0.0.1", "localhost")
            } else {
                iss.clone()
            };
            axum::Json(json!({
                "issuer": iss,
                "authorization_endpoint": format!("{iss}/authorize"),
                "token_endpoint": format!("{token_base}/token"),
                "userinfo_endpoint": format!("{iss}/userinfo"),
                "jwks_uri": format!("{iss}/jwks"),
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "client_credentials"],
                "id_token_signing_alg_values_supported": ["HS256", "RS256"],
                "registration_endpoint": format!("{iss}/register"),
            }))
            .into_response()
        }
    }
}

/// Registration endpoints that refuse: as a provider that wants an initial
/// access token does, with a bare 400, with 100 MB.
async fn register(Path(mode): Path<String>) -> Response {
    match mode.as_str() {
        "register-401" => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
            axum::Json(json!({"error": "invalid_token", "error_description": "an initial access token is required"})),
        )
            .into_response(),
        "register-400" => (StatusCode::BAD_REQUEST, "no").into_response(),
        "register-huge" => huge(),
        _ => (StatusCode::NOT_FOUND, "").into_response(),
    }
}

async fn jwks(Path(mode): Path<String>) -> Response {
    match mode.as_str() {
        "jwks-malformed" => ([(header::CONTENT_TYPE, "application/json")], "{\"keys\": 7}").into_response(),
        "jwks-too-many-keys" => {
            let key = json!({"kty": "oct", "kid": "k", "k": "c2VjcmV0"});
            axum::Json(json!({ "keys": vec![key; 200] })).into_response()
        }
        "jwks-trickle" => trickle(),
        _ => axum::Json(json!({ "keys": [] })).into_response(),
    }
}

async fn authorize(Path(mode): Path<String>, Query(q): Query<std::collections::HashMap<String, String>>) -> Response {
    let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
    let state = q.get("state").cloned().unwrap_or_default();
    let nonce = q.get("nonce").cloned().unwrap_or_default();
    match mode.as_str() {
        "authorize-loop" => (StatusCode::FOUND, [(header::LOCATION, format!("/{mode}/authorize?again=1"))]).into_response(),
        "authorize-500" => (StatusCode::INTERNAL_SERVER_ERROR, "<html><h1>Internal error</h1></html>").into_response(),
        "authorize-trickle" => trickle(),
        // A login form submitted by GET, whose submission the server drops.
        "login-get-reset" => (
            [(header::CONTENT_TYPE, "text/html")],
            format!(
                "<html><body><h1>Sign in</h1><form method=\"get\" action=\"/{mode}/login\">\
                 <label>Username <input name=\"username\"></label><label>Password <input type=\"password\" name=\"password\"></label>\
                 <button type=\"submit\">Sign in</button></form></body></html>"
            ),
        )
            .into_response(),
        // A Location that does not parse, carrying a code.
        "authorize-bad-location" => (
            StatusCode::FOUND,
            [(
                header::LOCATION,
                "http://[bad-host/cb?code=LEAKED-CODE-0123456789&state=x".to_owned(),
            )],
        )
            .into_response(),
        // An error whose code and description carry terminal escapes: clear
        // screen, window title, clipboard write, and a carriage return over a
        // fake verdict.
        "authorize-escapes" => {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("error", "access_denied\u{1b}[2J")
                .append_pair("error_description", HOSTILE_TEXT)
                .append_pair("state", &state)
                .finish();
            (StatusCode::FOUND, [(header::LOCATION, format!("{redirect}?{query}"))]).into_response()
        }
        "authorize-huge" => huge(),
        "authorize-garbage-page" => (
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><form><input type=password><div>".repeat(1000),
        )
            .into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_millis(700)).await;
            let code = B64.encode(nonce.as_bytes());
            (
                StatusCode::FOUND,
                [(header::LOCATION, format!("{redirect}?code={code}&state={state}"))],
            )
                .into_response()
        }
        "dead-after-discovery" => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            StatusCode::OK.into_response()
        }
        _ => {
            // Skip login: straight back with a code that carries the nonce.
            let code = B64.encode(nonce.as_bytes());
            let loc = format!("{redirect}?code={code}&state={state}");
            (StatusCode::FOUND, [(header::LOCATION, loc)]).into_response()
        }
    }
}

async fn login_reset() -> Response {
    panic!("the hostile login endpoint drops the connection")
}

fn hs256(claims: &Value, header_json: &Value) -> String {
    use aws_lc_rs::hmac;
    let input = format!("{}.{}", B64.encode(header_json.to_string()), B64.encode(claims.to_string()));
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes()), input.as_bytes());
    format!("{input}.{}", B64.encode(tag.as_ref()))
}

fn id_token(mode: &str, nonce: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = json!({"iss": issuer(mode), "sub": "u1", "aud": CLIENT, "exp": now + 300, "iat": now, "nonce": nonce});
    if mode == "echo-secrets" {
        // The client secret and the access token echoed back, as values and as a key.
        claims["leak"] = json!(SECRET);
        claims["leak_upper"] = json!(SECRET.to_uppercase());
        claims["nested"] = json!({"at": ECHOED_TOKEN, "list": [format!("Bearer {ECHOED_TOKEN}")]});
        claims[SECRET] = json!(1);
    }
    match mode {
        "token-alg-none" => format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), B64.encode(claims.to_string())),
        "token-kid-nowhere" => hs256(&claims, &json!({"alg": "RS256", "kid": "nowhere"})),
        "token-malformed-jwt" => "abc.def".to_owned(),
        "token-garbage-claims" => format!("{}.{}.sig", B64.encode(r#"{"alg":"HS256"}"#), B64.encode("[[[not json")),
        _ => hs256(&claims, &json!({"alg": "HS256"})),
    }
}

async fn token(Path(mode): Path<String>, State(c): State<Arc<Counters>>, headers: HeaderMap, body: String) -> Response {
    let form: std::collections::HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let _ = headers;
    let nonce = form
        .get("code")
        .and_then(|c| B64.decode(c).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let first_call = |c: &Counters| {
        let code = form.get("code").cloned().unwrap_or_default();
        c.busy_once.lock().unwrap().insert(code)
    };
    match mode.as_str() {
        "token-not-json" => return (StatusCode::OK, "<html>surprise</html>").into_response(),
        "token-huge" => return huge(),
        "token-hang" => {
            tokio::time::sleep(Duration::from_secs(120)).await;
        }
        "token-array" => return axum::Json(json!([1, 2, 3])).into_response(),
        "token-429-once" if first_call(&c) => {
            let mut r = (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response();
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return r;
        }
        "token-429-forever" => {
            let mut r = (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response();
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("3600"));
            return r;
        }
        "token-reset" => panic!("the hostile token endpoint drops the connection"),
        _ => {}
    }
    (
        [(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")],
        axum::Json(json!({"access_token": if mode == "echo-secrets" { ECHOED_TOKEN } else { "opaque-at" }, "token_type": "Bearer", "expires_in": 60, "id_token": id_token(&mode, &nonce)})),
    )
        .into_response()
}

async fn userinfo(Path(mode): Path<String>, headers: HeaderMap) -> Response {
    if mode == "echo-secrets" {
        return axum::Json(json!({"sub": "u1", "token": ECHOED_TOKEN, "secret": SECRET, "password": "jane-echoed-password"}))
            .into_response();
    }
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some("Bearer opaque-at") {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    }
    axum::Json(json!({"sub": "u1"})).into_response()
}

/// Writes a profile and a one-case suite for `mode`, runs the binary, returns the run and its output dir.
/// Writes `profile.yaml` (for the hostile server's `mode`, with the given `http:`
/// settings) and `suite.yaml` (`cases` code-flow cases) into `dir`.
fn write_inputs(dir: &std::path::Path, mode: &str, http: &str, cases: usize) {
    let profile = format!(
        "name: hostile-{mode}\nissuer: {}\naudience_param: none\nclients:\n  web: {{ id: {CLIENT}, secret: {SECRET}, redirect_uri: https://app.example.test/cb }}\n\
         users:\n  jane: {{ username: jane, password: pw }}\nhttp: {{ {http} }}\n",
        issuer(mode)
    );
    std::fs::write(dir.join("profile.yaml"), profile).unwrap();
    let mut suite = String::from("suite: hostile\ndefaults: { client: web, user: jane }\ncases:\n");
    for i in 0..cases {
        suite.push_str(&format!(
            "  - name: case-{i:02}\n    flow: code\n    request: {{ scope: openid }}\n"
        ));
    }
    std::fs::write(dir.join("suite.yaml"), suite).unwrap();
}

fn run_mode(mode: &str, extra: &[&str]) -> (Run, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(
        dir.path(),
        mode,
        "timeout: 1s, case_timeout: 10s, max_body: 64KiB, retries: 1, max_jwks_keys: 50",
        1,
    );
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();
    let mut args = vec![
        "run".to_owned(),
        p("suite.yaml"),
        "--provider".into(),
        p("profile.yaml"),
        "--output".into(),
        p("out"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    (oidc_conform(&args), dir)
}

fn only_case(dir: &tempfile::TempDir) -> Value {
    let r = read_report(&dir.path().join("out"));
    r["cases"][0].clone()
}

#[test]
fn a_broken_discovery_or_jwks_stops_the_run_with_exit_3_and_a_reason() {
    for (mode, reason) in [
        ("discovery-hang", "timed out"),
        ("discovery-huge", "larger than 65536 bytes"),
        ("discovery-malformed", "not valid provider metadata"),
        ("discovery-500", "HTTP 500"),
        ("jwks-malformed", "not a valid JWK set"),
        ("jwks-too-many-keys", "http.max_jwks_keys"),
        ("jwks-trickle", "timed out"),
    ] {
        let (run, dir) = run_mode(mode, &[]);
        assert_eq!(run.code(), 3, "{mode}\n{}", run.describe());
        assert!(run.stderr().contains(reason), "{mode}: expected {reason:?}\n{}", run.describe());
        assert!(!run.stderr().contains("panicked"), "{}", run.describe());
        // The reports are written anyway, marked as not started with the reason.
        let report = read_report(&dir.path().join("out"));
        assert!(report["not_started"].as_str().unwrap().contains(reason), "{mode}: {report:#}");
        let md = std::fs::read_to_string(dir.path().join("out/summary.md")).unwrap();
        assert!(md.contains("not run") && md.contains(reason), "{mode}: {md}");
        let junit = std::fs::read_to_string(dir.path().join("out/junit.xml")).unwrap();
        assert!(junit.contains("the run did not start"), "{mode}: {junit}");
    }
}

#[test]
fn a_hostile_authorization_endpoint_ends_the_case_with_a_reason() {
    for (mode, status, reason) in [
        ("authorize-loop", "error", "no redirect back to the client after"),
        ("authorize-500", "fail", "HTTP 500"),
        ("authorize-trickle", "error", "timed out"),
        ("authorize-huge", "error", "larger than 65536 bytes"),
        ("authorize-garbage-page", "error", "login"),
    ] {
        let (run, dir) = run_mode(mode, &[]);
        assert_eq!(run.code(), 1, "{mode}\n{}", run.describe());
        let case = only_case(&dir);
        assert_eq!(case["status"], status, "{mode}: {case:#}");
        let text = case["checks"].to_string();
        assert!(text.contains(reason), "{mode}: expected {reason:?} in {text}");
    }
}

#[test]
fn hostile_token_responses_end_as_fail_or_error_with_a_reason() {
    for (mode, status, check, reason) in [
        ("token-alg-none", "fail", "id_token.signature", "`alg` is `none`"),
        ("token-kid-nowhere", "fail", "id_token.signature", "no key with `kid` `nowhere`"),
        ("token-malformed-jwt", "fail", "id_token.decode", "not a JWT"),
        ("token-garbage-claims", "fail", "id_token.decode", "claims is not JSON"),
        ("token-not-json", "error", "flow.token", "not JSON"),
        ("token-array", "error", "flow.token", "not an object"),
        ("token-huge", "error", "flow.token", "larger than"),
        ("token-hang", "error", "flow.token", "timed out"),
        ("token-reset", "error", "flow.token", "request to"),
        ("token-429-forever", "error", "flow.token", "HTTP 429"),
    ] {
        let (run, dir) = run_mode(mode, &[]);
        assert_eq!(run.code(), 1, "{mode}\n{}", run.describe());
        let case = only_case(&dir);
        assert_eq!(case["status"], status, "{mode}: {case:#}");
        let hit = case["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == check && c["status"] == status);
        let hit = hit.unwrap_or_else(|| panic!("{mode}: no {status} {check} in {case:#}"));
        assert!(hit.to_string().contains(reason), "{mode}: expected {reason:?} in {hit}");
    }
}

/// A registration the case needs and the provider refuses ends the case as an
/// `error` that says why, in every format: no panic, no case gone missing, and
/// the run does not exit 0.
#[test]
fn a_refused_registration_is_an_error_of_the_case() {
    for mode in ["register-401", "register-400", "register-huge"] {
        let dir = tempfile::tempdir().unwrap();
        write_inputs(dir.path(), mode, "timeout: 2s, case_timeout: 10s, max_body: 64KiB, retries: 1", 1);
        std::fs::write(
            dir.path().join("suite.yaml"),
            "suite: hostile\ndefaults: { client: web, user: jane }\ncases:\n  - name: registers\n    flow: code\n    request: { scope: openid, register: {} }\n",
        )
        .unwrap();
        let p = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();
        let run = oidc_conform(&["run", &p("suite.yaml"), "--provider", &p("profile.yaml"), "--output", &p("out")]);
        assert_eq!(run.code(), 1, "{mode}: {}", run.describe());
        assert!(!run.stderr().contains("panicked"), "{mode}: {}", run.describe());
        let c = only_case(&dir);
        assert_eq!(c["id"], "hostile::registers", "{mode}");
        assert_eq!(c["status"], "error", "{mode}: {c:#}");
        let why = c["checks"].to_string();
        assert!(why.contains("regist"), "{mode}: {why}");
        if mode == "register-401" {
            assert!(why.contains("initial_access_token") && why.contains("invalid_token"), "{why}");
        }
        let junit = std::fs::read_to_string(dir.path().join("out/junit.xml")).unwrap();
        assert!(junit.contains("registers"), "{mode}: the case is in junit.xml");
    }
}

/// A panic inside a case (injected in debug builds) is an `error` of that case
/// in every format, and the run exits 1 — against the embedded provider too.
#[test]
fn a_panic_in_a_case_is_an_error_of_that_case() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let run = crate::util::oidc_conform_in_env(
        &crate::util::root(),
        &["run", "suites/flows.yaml", "flows::code-client-secret-", "--output", o],
        &[("OIDC_CONFORM_TEST_PANIC_IN", "flows::code-client-secret-basic")],
    );
    assert_eq!(run.code(), 1, "{}", run.describe());
    let r = read_report(out.path());
    let c = crate::util::case(&r, "flows::code-client-secret-basic");
    assert_eq!(c["status"], "error", "{c:#}");
    assert!(c["checks"].to_string().contains("the harness failed inside this case"), "{c:#}");
    assert_eq!(crate::util::case(&r, "flows::code-client-secret-post")["status"], "pass");
    for f in ["junit.xml", "summary.md", "report.html"] {
        let text = std::fs::read_to_string(out.path().join(f)).unwrap();
        assert!(text.contains("code-client-secret-basic"), "{f}");
    }
}

/// A provider that echoes the client secret and the access token back in ID
/// token claims and userinfo: none of them in any report, nor in the
/// reproductions of its failing checks (the exchanges, the curl commands) in
/// the reports and on the console.
#[test]
fn secrets_echoed_in_claims_and_userinfo_are_in_no_report() {
    let (run, dir) = run_mode("echo-secrets", &["--verbose"]);
    let c = only_case(&dir);
    assert!(c["tokens"].to_string().contains("leak_upper"), "the claims are shown: {c:#}");
    assert!(c["userinfo"].is_object(), "userinfo is shown: {c:#}");
    let exchanges = c["exchanges"].as_array().cloned().unwrap_or_default();
    assert!(
        exchanges.iter().any(|x| x["step"] == "token") && run.stdout().contains("curl -sS -i"),
        "the failing checks come with their exchanges: {c:#}\n{}",
        run.describe()
    );
    assert!(
        c["exchanges"].to_string().contains("${CLIENT_SECRET}"),
        "the secret is a placeholder: {c:#}"
    );
    for f in ["run.json", "report.html", "summary.md", "junit.xml"] {
        let text = std::fs::read_to_string(dir.path().join("out").join(f)).unwrap().to_lowercase();
        assert!(!text.contains(&SECRET.to_lowercase()), "{f} holds the client secret");
        assert!(!text.contains(ECHOED_TOKEN), "{f} holds the access token");
    }
    assert!(!run.stdout().contains(SECRET) && !run.stdout().contains(ECHOED_TOKEN));
    // The user's password (`pw`) is too short to be scrubbed by value: named as weak, never shown.
    let r = read_report(&dir.path().join("out"));
    assert_eq!(
        r["provider"]["weak_secrets"],
        json!(["the password of user `jane`"]),
        "{:#}",
        r["provider"]
    );
    assert!(run.stderr().contains("the password of user `jane`"), "{}", run.describe());
    let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(html.contains("Weak secrets"));
}

#[test]
fn a_429_with_retry_after_is_retried() {
    let (run, dir) = run_mode("token-429-once", &[]);
    run.expect_code(0);
    let case = only_case(&dir);
    assert_eq!(case["status"], "pass", "{case:#}");
}

#[test]
fn a_provider_that_dies_ends_the_run_quickly_with_a_clear_message() {
    // Ten cases against a provider whose authorization endpoint never answers:
    // after a few timeouts the rest are not tried.
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), "dead-after-discovery", "timeout: 1s, retries: 0", 10);
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();
    let run = oidc_conform(&[
        "run",
        &p("suite.yaml"),
        "--provider",
        &p("profile.yaml"),
        "--output",
        &p("out"),
        "--jobs",
        "1",
    ]);
    run.expect_code(1);
    let r = read_report(&dir.path().join("out"));
    let messages: Vec<String> = r["cases"].as_array().unwrap().iter().map(|c| c["checks"].to_string()).collect();
    let not_run = messages.iter().filter(|m| m.contains("looks down")).count();
    let timed_out = messages
        .iter()
        .filter(|m| !m.contains("looks down") && m.contains("timed out"))
        .count();
    assert_eq!(timed_out + not_run, 10, "{messages:#?}");
    assert!(not_run >= 4, "the breaker stopped the run early: {messages:#?}");
}

/// Ctrl-C mid-run: the cases under way finish, the rest are not run, and every report is written.
#[test]
fn an_interrupt_still_writes_complete_reports() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), "slow", "timeout: 10s", 12);
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_oidc-conform"))
        .args([
            "run",
            &p("suite.yaml"),
            "--provider",
            &p("profile.yaml"),
            "--output",
            &p("out"),
            "--jobs",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until a few cases have finished (each takes about 0.7 s), then interrupt.
    std::thread::sleep(Duration::from_millis(2500));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let report = read_report(&dir.path().join("out"));
    assert_eq!(report["interrupted"], true);
    let done = report["cases"].as_array().unwrap();
    let not_run = report["not_run"].as_array().unwrap();
    assert!(
        !done.is_empty() && !not_run.is_empty(),
        "some cases finished, some did not: {report:#}"
    );
    assert_eq!(done.len() + not_run.len(), 12);
    for c in done {
        assert_eq!(c["status"], "pass", "a finished case is complete: {c:#}");
    }
    for f in ["junit.xml", "report.html", "summary.md"] {
        assert!(dir.path().join("out").join(f).exists(), "{f} written after the interrupt");
    }
    // Every format says the run was interrupted and what did not run; the console invents no failure.
    let md = std::fs::read_to_string(dir.path().join("out/summary.md")).unwrap();
    assert!(md.contains("interrupted") && !md.contains("✅") && !md.contains("❌"), "{md}");
    let first_not_run = not_run[0].as_str().unwrap();
    assert!(md.contains(first_not_run), "{md}");
    let junit = std::fs::read_to_string(dir.path().join("out/junit.xml")).unwrap();
    assert!(
        junit.contains("not run: the run was interrupted") && junit.contains(first_not_run),
        "{junit}"
    );
    let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(
        html.contains("Interrupted") && html.contains(first_not_run),
        "the HTML report lists what did not run"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("FAILED"), "no case failed; the console must not say so:\n{stdout}");
}

mod tls {
    //! TLS: a self-signed provider is refused by default and accepted with `--ca-file`.

    use super::*;
    use std::sync::Arc;

    /// A TLS listener for axum: accepts TCP and completes the handshake.
    struct TlsListener {
        tcp: tokio::net::TcpListener,
        acceptor: tokio_rustls::TlsAcceptor,
    }

    impl axum::serve::Listener for TlsListener {
        type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
        type Addr = SocketAddr;

        async fn accept(&mut self) -> (Self::Io, Self::Addr) {
            loop {
                let Ok((stream, addr)) = self.tcp.accept().await else { continue };
                // A failed handshake (the harness refusing the certificate) is not an error here.
                if let Ok(tls) = self.acceptor.accept(stream).await {
                    return (tls, addr);
                }
            }
        }

        fn local_addr(&self) -> std::io::Result<Self::Addr> {
            self.tcp.local_addr()
        }
    }

    /// Starts an https provider with a certificate from a fresh CA; returns its issuer and the CA's PEM.
    fn https_provider() -> (String, String) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "oidc-conform test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let ca_issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = params.signed_by(&key, &ca_issuer).unwrap();

        let _ = rustls_provider();
        let config = tokio_rustls::rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let issuer = format!("https://{}", tcp.local_addr().unwrap());
                tx.send(issuer.clone()).unwrap();
                let iss = issuer.clone();
                let app = Router::new()
                    .route(
                        "/.well-known/openid-configuration",
                        get(move || {
                            let iss = iss.clone();
                            async move {
                                axum::Json(json!({
                                    "issuer": iss,
                                    "token_endpoint": format!("{iss}/token"),
                                    "jwks_uri": format!("{iss}/jwks"),
                                    "response_types_supported": ["code"],
                                    "grant_types_supported": ["client_credentials"],
                                    "id_token_signing_alg_values_supported": ["RS256"],
                                }))
                            }
                        }),
                    )
                    .route("/jwks", get(|| async { axum::Json(json!({"keys": []})) }))
                    .route(
                        "/token",
                        any(|| async {
                            (
                                [(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")],
                                axum::Json(json!({"access_token": "opaque", "token_type": "Bearer", "expires_in": 60})),
                            )
                        }),
                    );
                let listener = TlsListener {
                    tcp,
                    acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
                };
                axum::serve(listener, app).await.unwrap();
            });
        });
        (rx.recv().unwrap(), ca.pem())
    }

    fn rustls_provider() -> Option<()> {
        tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default().ok()
    }

    #[test]
    fn self_signed_is_refused_by_default_and_accepted_with_the_ca_file() {
        let (issuer, ca_pem) = https_provider();
        let dir = tempfile::tempdir().unwrap();
        let profile = format!(
            "name: tls\nissuer: {issuer}\naudience_param: none\nclients:\n  m2m: {{ id: m2m, secret: {SECRET}, auth: client_secret_post }}\nhttp: {{ timeout: 5s }}\n"
        );
        std::fs::write(dir.path().join("profile.yaml"), profile).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_pem).unwrap();
        let suite = "suite: tls\ncases:\n  - name: machine\n    flow: client_credentials\n    client: m2m\n";
        std::fs::write(dir.path().join("suite.yaml"), suite).unwrap();
        let p = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();

        let run = oidc_conform(&["run", &p("suite.yaml"), "--provider", &p("profile.yaml"), "--output", &p("out1")]);
        run.expect_code(3);
        assert!(run.stderr().to_lowercase().contains("certificate"), "{}", run.describe());

        let run = oidc_conform(&[
            "run",
            &p("suite.yaml"),
            "--provider",
            &p("profile.yaml"),
            "--ca-file",
            &p("ca.pem"),
            "--output",
            &p("out2"),
        ]);
        run.expect_code(0);
        let report = read_report(&dir.path().join("out2"));
        // The token came over verified TLS; it is opaque, so the JWT checks skip.
        let case = &report["cases"][0];
        assert!(case["status"] == "pass" || case["status"] == "skip", "{report:#}");
        assert!(case["checks"].to_string().contains("opaque"), "{report:#}");
        assert!(report["provider"].get("insecure").is_none());

        let run = oidc_conform(&[
            "run",
            &p("suite.yaml"),
            "--provider",
            &p("profile.yaml"),
            "--insecure",
            "--output",
            &p("out3"),
        ]);
        run.expect_code(0);
        assert!(run.stderr().contains("WARNING: --insecure"), "{}", run.describe());
        assert_eq!(read_report(&dir.path().join("out3"))["provider"]["insecure"], true);
    }

    #[test]
    fn secrets_never_go_over_plain_http_to_a_remote_host() {
        // `localhost` counts as loopback; a name that is not loopback needs --allow-http.
        // The check happens before any connection, so no traffic leaves the machine.
        let p = oidc_conform::profile::parse(&oidc_conform::diag::Source::new(
            "p.yaml",
            format!("name: x\nissuer: http://login.example.test\nclients:\n  web: {{ id: w, secret: {SECRET} }}\n"),
        ))
        .unwrap();
        let discovery =
            serde_json::from_value(json!({"issuer": "http://login.example.test", "response_types_supported": ["code"]})).unwrap();
        let provider = oidc_conform::flow::Provider::from_parts(p, discovery, jsonwebtoken::jwk::JwkSet { keys: vec![] }).unwrap();
        let err = provider
            .check_transport(&url::Url::parse("http://login.example.test/token").unwrap(), "client secret")
            .unwrap_err();
        assert!(
            err.contains("refusing to send the client secret over plain http") && err.contains("--allow-http"),
            "{err}"
        );
        assert!(
            provider
                .check_transport(&url::Url::parse("http://127.0.0.1:9/token").unwrap(), "client secret")
                .is_ok()
        );
        assert!(
            provider
                .check_transport(&url::Url::parse("https://login.example.test/token").unwrap(), "client secret")
                .is_ok()
        );
    }
}

/// A password in a GET login form whose submission fails at the network level,
/// and a code in an unparsable `Location`: neither reaches any output.
#[test]
fn failing_requests_leak_no_password_or_code() {
    const PASSWORD: &str = "hostile-password-7c1d9e";
    for (mode, leak) in [("login-get-reset", PASSWORD), ("authorize-bad-location", "LEAKED-CODE-0123456789")] {
        let dir = tempfile::tempdir().unwrap();
        write_inputs(dir.path(), mode, "timeout: 2s, retries: 0", 1);
        let profile = std::fs::read_to_string(dir.path().join("profile.yaml"))
            .unwrap()
            .replace("password: pw", &format!("password: {PASSWORD}"));
        std::fs::write(dir.path().join("profile.yaml"), profile).unwrap();
        let p = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();
        let run = oidc_conform(&[
            "run",
            &p("suite.yaml"),
            "--provider",
            &p("profile.yaml"),
            "--output",
            &p("out"),
            "--verbose",
        ]);
        assert_eq!(run.code(), 1, "{mode}\n{}", run.describe());
        let mut texts = vec![("console".to_owned(), format!("{}{}", run.stdout(), run.stderr()))];
        for f in ["run.json", "junit.xml", "report.html", "summary.md"] {
            texts.push((f.to_owned(), std::fs::read_to_string(dir.path().join("out").join(f)).unwrap()));
        }
        for (what, text) in &texts {
            assert!(!text.contains(leak), "{mode}: {what} leaks {leak:?}:\n{text}");
        }
        // The failure is still reported, with a reason.
        let case = only_case(&dir);
        assert_eq!(case["status"], "error", "{mode}: {case:#}");
        if mode == "login-get-reset" {
            assert!(case["checks"].to_string().contains("password=[redacted]"), "{case:#}");
        }
    }
}

/// A second Ctrl-C ends the process at once, even with a case stuck on a provider that never answers.
#[test]
fn a_second_interrupt_always_ends_the_process() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(
        dir.path(),
        "dead-after-discovery",
        "timeout: 60s, case_timeout: 120s, retries: 0",
        2,
    );
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_oidc-conform"))
        .args([
            "run",
            &p("suite.yaml"),
            "--provider",
            &p("profile.yaml"),
            "--output",
            &p("out"),
            "--jobs",
            "1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let kill = |n: u32| {
        let _ = std::process::Command::new("kill").args(["-INT", &n.to_string()]).status();
    };
    kill(child.id());
    std::thread::sleep(Duration::from_millis(300));
    kill(child.id());
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(130));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running 10 s after the second Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A token endpoint that hangs while the authorization endpoint answers still
/// trips the cut-off: failures are counted per endpoint.
#[test]
fn a_hanging_token_endpoint_trips_the_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), "token-hang", "timeout: 1s, retries: 0", 9);
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();
    let started = std::time::Instant::now();
    let run = oidc_conform(&[
        "run",
        &p("suite.yaml"),
        "--provider",
        &p("profile.yaml"),
        "--output",
        &p("out"),
        "--jobs",
        "1",
    ]);
    run.expect_code(1);
    let r = read_report(&dir.path().join("out"));
    let cases = r["cases"].as_array().unwrap();
    let not_run = cases.iter().filter(|c| c["checks"].to_string().contains("looks down")).count();
    let token_errors = cases
        .iter()
        .filter(|c| {
            c["checks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["id"] == "flow.token" && k["status"] == "error")
        })
        .count();
    assert!(token_errors >= 5, "token-stage errors are reported as flow.token: {cases:#?}");
    assert!(not_run >= 3, "the cut-off stopped the run early: {cases:#?}");
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    // The message names the limit, its value and the (redacted) URL.
    let text = r["cases"].to_string();
    assert!(
        text.contains("/token timed out after 1.0 s (limit: http.timeout in the profile)"),
        "{text}"
    );
}

/// A reset connection says which URL and why, without an empty `url ()`.
#[test]
fn network_errors_name_the_url_and_the_reason() {
    let (run, dir) = run_mode("token-reset", &[]);
    assert_eq!(run.code(), 1, "{}", run.describe());
    let case = only_case(&dir);
    let text = case["checks"].to_string();
    assert!(
        text.contains("request to http://") && text.contains("/token-reset/token failed:"),
        "{text}"
    );
    assert!(!text.contains("url ()") && !text.contains("for url"), "{text}");
}

/// The client secret goes to the issuer's origin only, unless the profile trusts another by name.
#[test]
fn the_client_secret_goes_to_another_origin_only_when_trusted() {
    let (run, dir) = run_mode("token-elsewhere", &[]);
    assert_eq!(run.code(), 1, "{}", run.describe());
    let case = only_case(&dir);
    assert_eq!(case["status"], "error", "{case:#}");
    assert!(
        case["checks"]
            .to_string()
            .contains("another origin than the issuer's: the client secret was not sent"),
        "{case:#}"
    );

    let dir = tempfile::tempdir().unwrap();
    let elsewhere = format!("http://localhost:{}", server().port());
    write_inputs(
        dir.path(),
        "token-elsewhere",
        &format!("timeout: 2s, trusted_origins: [\"{elsewhere}\"]"),
        1,
    );
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();
    let run = oidc_conform(&["run", &p("suite.yaml"), "--provider", &p("profile.yaml"), "--output", &p("out")]);
    run.expect_code(0);
    let r = read_report(&dir.path().join("out"));
    assert_eq!(r["provider"]["trusted_origins"], json!([elsewhere]), "the report records it");
}

/// Terminal escapes in the provider's `error` and `error_description` reach
/// no console line and no Markdown report raw: they are written out visibly.
#[test]
fn terminal_escapes_from_the_provider_are_shown_escaped() {
    let (run, dir) = run_mode("authorize-escapes", &["--verbose"]);
    run.expect_code(1);
    let is_raw = |c: char| c != '\n' && (c.is_control() || c == '\u{202e}');
    let out = dir.path().join("out");
    let summary = crate::util::oidc_conform(&["report", "summary", out.join("run.json").to_str().unwrap(), "--verbose"]);
    summary.expect_code(0);
    let markdown = std::fs::read_to_string(out.join("summary.md")).unwrap();
    for (name, text) in [
        ("run's stdout", run.stdout()),
        ("report summary", summary.stdout()),
        ("summary.md", markdown),
    ] {
        assert!(!text.chars().any(is_raw), "{name} carries a raw control character:\n{text:?}");
        assert!(
            text.contains("\\u{1b}]52;c;ZXZpbA=="),
            "{name} shows the clipboard write, escaped:\n{text}"
        );
        assert!(
            text.contains("\\rtest result: ok"),
            "{name} shows the carriage return, escaped:\n{text}"
        );
    }
    // run.json keeps the evidence as it was sent (JSON escapes it).
    assert!(only_case(&dir).to_string().contains("\\u001b]52;c;ZXZpbA=="));
}
