//! The shipped suites against the real, certified Node.js provider
//! `oidc-provider` (`fixtures/providers/node-oidc-provider`), which this test
//! installs (`npm ci`) and starts itself on a free loopback port.
//!
//! Every case must pass or skip with a reason, except the reviewed failures in
//! [`EXPECTED_FAILURES`]: each says why it is a real finding about the
//! provider, or, marked `HARNESS BUG:`, which harness mistake causes it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fixture::{self, Fixture, Shared, Spec};
use crate::util::{case, read_report, root};

const DIR: &str = "fixtures/providers/node-oidc-provider";
const PROFILE: &str = "fixtures/providers/node-oidc-provider/profile.yaml";
const HEALTH_API: &str = "https://api.example.test/health";

/// The reviewed failures: (case, check, words its message must contain, why).
/// Nothing else may fail, and each of these must still happen (remove an entry
/// once its cause is fixed).
const EXPECTED_FAILURES: &[(&str, &str, &str, &str)] = &[
    (
        "negative::wrong-code-verifier",
        "negative.refused",
        "redeemed the same code with the right one",
        "oidc-provider refuses a wrong code_verifier without consuming the code, so the same code still works with the right verifier: \
     a code should not outlive a failed exchange (RFC 6749 §10.5 single use; the OAuth security BCP's advice on code injection)",
    ),
    (
        "logout::logout-post",
        "logout.post",
        "HTTP 404",
        "oidc-provider takes a POST at its end_session endpoint only with `enableHttpPostMethods`, off by default (it needs SameSite=None cookies): \
         a POST logout gets 404, where OIDC RP-Initiated Logout §2 says OPs MUST support GET and POST",
    ),
];

/// The reviewed skips: (case, words of the harness's reason).
const EXPECTED_SKIPS: &[(&str, &str)] = &[
    // Its consent page lists the scopes without a box for each.
    ("consent::approve-some-scopes", "no box per scope"),
    // oidc-provider has no password grant (the profile registers no client for it).
    ("flows::password-grant", "declares no client registered for the password flow"),
    // oidc-provider 9 implements neither Front-Channel Logout nor Session
    // Management: its discovery offers neither.
    ("logout::frontchannel-logout", "frontchannel_logout_supported"),
    ("logout::session-state", "check_session_iframe"),
    // The profile ties no custom claim to a scope.
    ("namespacing::scoped-claim-needs-its-scope", "ties no custom claim to a scope"),
    ("negative::password-wrong", "declares no client registered for the password flow"),
    // oidc-provider's default `rotateRefreshToken` rotates the refresh tokens of
    // public clients (and old ones); the web client is confidential.
    ("negative::refresh-token-reuse", "does not rotate refresh tokens"),
    // The full configuration takes unpushed authorization requests too.
    ("par::unpushed-request-refused", "require_pushed_authorization_requests"),
    // This version signs every ID token (no `none` in discovery).
    ("registration::id-token-unsigned", "`none` in id_token_signing_alg_values_supported"),
    // This version takes request_uri only through pushed authorization requests
    // (discovery says request_uri_parameter_supported: false).
    ("request_object::by-reference-signed-rs256", "request_uri_parameter_supported"),
    ("request_object::by-reference-unsigned", "request_uri_parameter_supported"),
    // The profile's only browser client is confidential.
    (
        "security::public-client-refresh-rotation",
        "declares no public client registered for the refresh flow",
    ),
];

/// Cases that must pass outright: the core flows.
const MUST_PASS: &[&str] = &[
    "flows::code-client-secret-basic",
    "flows::code-client-secret-post",
    "flows::code-public-client-pkce",
    "flows::code-form-post",
    "flows::implicit-id-token",
    "flows::implicit-form-post",
    "flows::hybrid-code-id-token",
    "flows::hybrid-code-id-token-token",
    "flows::client-credentials-post",
    "flows::client-credentials-basic",
    "flows::refresh",
    "audience::machine-token-for-api",
    "namespacing::custom-claim-in-id-token",
    "namespacing::custom-claim-in-userinfo",
    "negative::unregistered-api-code",
    "negative::unregistered-api-client-credentials",
    // The `claims` parameter (enabled in this configuration), and the session rules.
    "parameters::claims-essential-userinfo",
    "parameters::claims-voluntary-id-token",
    "session::prompt-none-logged-in",
    "session::prompt-login",
    "session::sso-other-client",
    "session::id-token-hint",
    "session::max-age-1",
    "redirect_uri::registered-query",
    "negative::code-reuse-30s",
    // Registration is open in this configuration.
    "registration::register-and-sign-in",
    "registration::http-redirect-for-implicit",
    "registration::unknown-auth-method",
    "consent::deny",
    "consent::third-party-every-time",
    // The device authorization grant (RFC 8628), its user code pages driven by
    // the form driver; the expiry case waits out the fixture's 30 s device codes.
    "device::device-grant",
    "device::device-denied",
    "device::device-code-reuse",
    "device::device-slow-down",
    "device::device-code-expiry",
    // Registration with signing metadata, request objects by value (this
    // version takes signed ones only: the unsigned one is refused as discovery
    // allows), and a client registered with two redirect URIs.
    "registration::id-token-rs256",
    "registration::userinfo-signed-rs256",
    "request_object::by-value-unsigned",
    "request_object::by-value-signed-rs256",
    "request_object::bad-signature",
    "redirect_uri::missing-with-several-registered",
];

const NODE_HINT: &str = "the oidc-provider fixture needs Node.js 20 or later and npm: install them (e.g. `apt-get install nodejs npm` \
     where the distribution's Node.js is 20 or later, otherwise from nodejs.org) and run the tests again";

static NODE: Shared = Shared::new();
static INSTALL: OnceLock<Result<Duration, String>> = OnceLock::new();

fn dir() -> PathBuf {
    root().join(DIR)
}

fn spec() -> Spec {
    let mut spec = Spec::new("node-oidc-provider", "node", dir());
    spec.args = vec!["server.mjs".into(), "{port}".into()];
    spec
}

/// The provider, installed and started once per test run.
pub(crate) fn provider() -> &'static Fixture {
    NODE.get(|| {
        install()?;
        fixture::start(&spec())
    })
}

/// `npm ci` when `node_modules` is missing or older than `package-lock.json`;
/// once per test run. Fails (never skips) without Node.js.
pub(crate) fn install() -> Result<Duration, String> {
    INSTALL
        .get_or_init(|| {
            let node = fixture::tool_version("node").map_err(|e| format!("{e}: {NODE_HINT}"))?;
            let major: u32 = node
                .trim_start_matches('v')
                .split('.')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            if major < 20 {
                return Err(format!("`node --version` is {node}: {NODE_HINT}"));
            }
            fixture::tool_version("npm").map_err(|e| format!("{e}: {NODE_HINT}"))?;
            let dir = dir();
            // npm writes node_modules/.package-lock.json at every install.
            if !stale(&dir.join("node_modules/.package-lock.json"), &dir.join("package-lock.json")) {
                return Ok(Duration::ZERO);
            }
            let started = Instant::now();
            let out = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("`npm ci` cannot run: {e}: {NODE_HINT}"))?;
            if !out.status.success() {
                return Err(format!(
                    "`npm ci` in {} failed ({}):\n{}\n{}",
                    dir.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            Ok(started.elapsed())
        })
        .clone()
}

/// Whether `installed` is missing or older than `lock`.
fn stale(installed: &Path, lock: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(installed), modified(lock)) {
        (Some(i), Some(l)) => i < l,
        _ => true,
    }
}

/// oidc-provider's pushed authorization request endpoint routes POST only: a
/// GET is answered 404, where RFC 9126 §2.3 gives 405.
pub const NODE_PAR_GET: &str = "oidc-provider routes its pushed authorization request endpoint for POST only: a GET gets 404 Not Found, where RFC 9126 §2.3 gives 405 Method Not Allowed";

/// Reviewed SHOULD-level findings, allowed as warnings in any case: (check, why).
const REVIEWED_WARNINGS: &[(&str, &str)] = &[
    (
        "token_response.pragma",
        "oidc-provider 9 sends `Cache-Control: no-store` but no `Pragma: no-cache` (RFC 6749 §5.1 asks for both; RFC 9111 deprecates `Pragma`)",
    ),
    ("pages.framing", NODE_DEV_PAGES),
    ("par.method", NODE_PAR_GET),
    (
        "claims_parameter.returned",
        "an essential `acr` asked for with the `claims` parameter gets none: oidc-provider puts in `acr` what the login interaction recorded, and its development interactions record none (a deployment's own login sets `acr`)",
    ),
    (
        "metadata.deprecated_flows",
        "this configuration enables the implicit and hybrid response types that put an access token in the front channel (`id_token token`, `code token`, `code id_token token`), which RFC 9700 §2.1.2 deprecates",
    ),
];

/// Why oidc-provider's login pages can be framed here.
pub const NODE_DEV_PAGES: &str = "the fixture logs in through oidc-provider's development-only interaction pages (`devInteractions`), sent without X-Frame-Options or frame-ancestors; a deployment brings its own pages";

/// Checks of a case that did not pass or skip (reviewed warnings aside): (id, line for messages).
fn problems(c: &Value) -> Vec<(String, String)> {
    c["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| !matches!(k["status"].as_str(), Some("pass" | "skip")))
        .filter(|k| !(k["status"] == "warn" && REVIEWED_WARNINGS.iter().any(|(id, _)| k["id"] == *id)))
        .map(|k| {
            let line = format!(
                "{} {} {}: {} (expected {}, found {})",
                c["id"].as_str().unwrap_or(""),
                k["status"].as_str().unwrap_or(""),
                k["id"].as_str().unwrap_or(""),
                k["message"].as_str().unwrap_or(""),
                k["expected"].as_str().unwrap_or("-"),
                k["found"].as_str().unwrap_or("-"),
            );
            (k["id"].as_str().unwrap_or("").to_owned(), line)
        })
        .collect()
}

fn check_status<'a>(c: &'a Value, id: &str) -> Vec<&'a str> {
    c["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["id"] == id)
        .filter_map(|k| k["status"].as_str())
        .collect()
}

/// The decoded access token of a case from `origin`.
fn access_token<'a>(c: &'a Value, origin: &str) -> &'a Value {
    c["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "access_token" && t["origin"] == origin)
        .unwrap_or_else(|| panic!("{} has an access token from {origin}: {:#}", c["id"], c["tokens"]))
}

#[test]
fn shipped_suites_against_oidc_provider() {
    let install_time = install().unwrap_or_else(|e| panic!("{e}"));
    let p = provider();
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let run = fixture::oidc_conform_env(
        &[
            "run",
            "--provider",
            PROFILE,
            "--baseline",
            &format!("{DIR}/baseline.yaml"),
            "--strict-baseline",
            "--output",
            out.path().to_str().unwrap(),
        ],
        &[("NODE_OIDC_ISSUER", &p.issuer)],
    );
    // The reviewed baseline holds exactly the known failures: exit 0, nothing stale.
    assert_eq!(run.code(), 0, "with the reviewed baseline the run is green\n{}", run.describe());
    let run_time = started.elapsed();
    eprintln!(
        "node-oidc-provider at {}: npm ci {:.1?} (0 when up to date), ready in {:.1?}, suites ran in {:.1?}",
        p.issuer, install_time, p.started_in, run_time
    );
    let context = || format!("{}\n--- provider output\n{}", run.describe(), p.output());
    assert!(out.path().join("run.json").exists(), "no report was written\n{}", context());
    let report = read_report(out.path());
    assert_eq!(report["provider"]["issuer"], p.issuer.as_str(), "{}", context());
    let cases = report["cases"].as_array().unwrap();
    assert!(cases.len() >= 40, "the shipped suites ran ({} cases)\n{}", cases.len(), context());

    // No case may error: that is the harness failing to drive the provider.
    let errors: Vec<String> = cases
        .iter()
        .filter(|c| c["status"] == "error")
        .flat_map(problems)
        .map(|(_, line)| line)
        .collect();
    assert!(errors.is_empty(), "cases that errored:\n{}\n{}", errors.join("\n"), context());

    // Failures: exactly the reviewed list.
    let expected: BTreeMap<(&str, &str), &str> = EXPECTED_FAILURES.iter().map(|(c, k, words, _)| ((*c, *k), *words)).collect();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut unexpected = Vec::new();
    for c in cases {
        let id = c["id"].as_str().unwrap();
        for (check, line) in problems(c) {
            match expected.get(&(id, check.as_str())) {
                Some(words) if line.contains(words) => {
                    seen.insert((id.to_owned(), check));
                }
                _ => unexpected.push(line),
            }
        }
    }
    assert!(
        unexpected.is_empty(),
        "failures outside the reviewed list (a real finding goes into EXPECTED_FAILURES with its reason; a harness bug is reported):\n{}\n{}",
        unexpected.join("\n"),
        context()
    );
    let gone: Vec<String> = EXPECTED_FAILURES
        .iter()
        .filter(|(c, k, _, _)| !seen.contains(&(c.to_string(), k.to_string())))
        .map(|(c, k, _, why)| format!("{c} {k}: {why}"))
        .collect();
    assert!(
        gone.is_empty(),
        "reviewed failures that no longer happen (fixed? remove them from EXPECTED_FAILURES):\n{}",
        gone.join("\n")
    );

    // Skips: exactly the reviewed ones, each with the harness's reason.
    let skipped: Vec<&str> = cases
        .iter()
        .filter(|c| c["status"] == "skip")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = EXPECTED_SKIPS.iter().map(|(c, _)| *c).collect();
    assert_eq!(skipped, want, "skipped cases\n{}", context());
    for (id, reason) in EXPECTED_SKIPS {
        let c = case(&report, id);
        let checks = c["checks"].as_array().unwrap();
        assert!(
            checks
                .iter()
                .any(|k| k["status"] == "skip" && k["message"].as_str().unwrap_or("").contains(reason)),
            "{id} skips with a reason: {:#}",
            c["checks"]
        );
    }

    // The core flows really ran, end to end.
    for id in MUST_PASS {
        let c = case(&report, id);
        // Passed, apart from reviewed warnings.
        assert!(
            (c["status"] == "pass" || c["status"] == "warn") && problems(c).is_empty(),
            "{id}: {:#}\n{}",
            c["checks"],
            context()
        );
    }
    // The claims asked for by name come back (only an essential acr is reviewed).
    for id in ["parameters::claims-essential-userinfo", "parameters::claims-voluntary-id-token"] {
        let c = case(&report, id);
        let verdict = c["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == "claims_parameter.returned");
        assert_eq!(verdict.map(|k| &k["status"]), Some(&Value::from("pass")), "{id}: {:#}", c["checks"]);
    }
    let implicit = case(&report, "flows::implicit-id-token-token");
    for check in [
        "id_token.signature",
        "id_token.nonce",
        "id_token.at_hash",
        "access_token.signature",
        "access_token.typ",
        "access_token.aud",
        "access_token.scope",
        "assert.id_token",
    ] {
        let statuses = check_status(implicit, check);
        assert!(
            !statuses.is_empty() && statuses.iter().all(|s| *s == "pass"),
            "flows::implicit-id-token-token {check}: {statuses:?}\n{:#}",
            implicit["checks"]
        );
    }
    assert_eq!(access_token(implicit, "authorization")["claims"]["aud"], HEALTH_API);

    // JWT access tokens (RFC 9068) for the API, from a user's code flow and a machine.
    let at = access_token(case(&report, "audience::access-token-for-api"), "token");
    assert_eq!(at["header"]["typ"], "at+jwt", "{at:#}");
    assert_eq!(at["claims"]["aud"], HEALTH_API, "{at:#}");
    assert_eq!(at["claims"]["client_id"], "web-app", "{at:#}");
    assert_eq!(at["claims"]["sub"], "jane", "{at:#}");
    assert_eq!(at["claims"]["scope"], "read:patients", "{at:#}");
    assert_eq!(
        at["claims"]["https://example.test/roles"],
        serde_json::json!(["clinician"]),
        "{at:#}"
    );
    let m2m = access_token(case(&report, "flows::client-credentials-post"), "client_credentials");
    assert_eq!(m2m["claims"]["aud"], HEALTH_API, "{m2m:#}");
    assert_eq!(m2m["claims"]["sub"], "m2m-service", "{m2m:#}");

    // Every failure is a known one of the baseline, and the baseline has nothing stale.
    let summary = &report["summary"];
    assert_eq!(summary["known"], summary["fail"], "{}", context());
    assert_eq!(report["baseline"]["stale"], serde_json::json!([]), "{}", context());
}

/// The fixture prints its ready line and exits when its stdin closes, so a
/// test process that dies never leaves it running.
#[test]
fn oidc_provider_fixture_exits_when_its_stdin_closes() {
    install().unwrap_or_else(|e| panic!("{e}"));
    let f = fixture::start(&spec()).unwrap_or_else(|e| panic!("{e}"));
    let status = f.close_stdin_and_wait(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "the provider did not exit 0 after its stdin closed: {status:?}\n{}",
        f.output()
    );
    assert!(
        f.output().contains(&format!("listening {}", f.issuer)),
        "ready line missing:\n{}",
        f.output()
    );
}

/// The client-authentication family (`suites/client-auth.yaml`): the profile's
/// `private_key_jwt` client (the fixture key) and `client_secret_jwt` client,
/// and one registered for each, pass every check; the provider's only
/// departures are the reviewed warnings.
#[test]
fn client_auth_family_against_oidc_provider() {
    install().unwrap_or_else(|e| panic!("{e}"));
    let p = provider();
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let run = fixture::oidc_conform_env(
        &[
            "run",
            "suites/client-auth.yaml",
            "--provider",
            PROFILE,
            "--output",
            out.path().to_str().unwrap(),
        ],
        &[("NODE_OIDC_ISSUER", &p.issuer)],
    );
    eprintln!("node-oidc-provider: the client-auth family ran in {:.1?}", started.elapsed());
    assert_eq!(run.code(), 0, "{}", run.describe());
    let report = read_report(out.path());
    for id in [
        "client-auth::private-key-jwt",
        "client-auth::client-secret-jwt",
        "client-auth::private-key-jwt-registered",
        "client-auth::client-secret-jwt-registered",
    ] {
        let c = case(&report, id);
        assert!(problems(c).is_empty(), "{id}: {:?}", problems(c));
        for check in [
            "client_auth.accepted",
            "client_auth.token_endpoint_audience",
            "client_auth.issuer_audience",
            "client_auth.audience",
            "client_auth.expired",
            "client_auth.subject",
            "client_auth.issuer",
            "client_auth.signature",
            "client_auth.replay",
        ] {
            let statuses = check_status(c, check);
            assert!(
                !statuses.is_empty() && statuses.iter().all(|s| *s == "pass"),
                "{id} {check}: {:#}",
                c["checks"]
            );
        }
    }
}
