//! The shipped suites against django-oauth-toolkit (DOT), a real, widely
//! deployed provider: `fixtures/providers/django-oauth-toolkit/`, installed in
//! a virtualenv and started on a free loopback port by the test itself.
//!
//! Every case passes or is skipped, except the reviewed list below: each entry
//! is a real finding about DOT, or a harness bug marked `HARNESS BUG:`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fixture::{self, Fixture, Shared, Spec};
use crate::util::{case, checks_with, read_report, root};

const DIR: &str = "fixtures/providers/django-oauth-toolkit";

const UNKNOWN_RESOURCE: &str = "DOT takes any absolute URI as an RFC 8707 `resource` (it keeps no registry of APIs) and issues tokens for an API nobody registered, where RFC 8707 §2 has `invalid_target`";
const CODE_OUTLIVES_PKCE: &str = "after refusing a wrong code_verifier DOT still redeems the same code with the right one: a code must not outlive a failed exchange (RFC 6749 §10.5)";

const SILENT_LOGIN: &str = "prompt=none crashes DOT with HTTP 500: its OAuth2Validator does not implement oauthlib's validate_silent_login (OIDC Core §3.1.2.1 wants the answer without a page, or login_required)";

const ERRORS_IN_QUERY: &str = "DOT (oauthlib) delivers authorization errors for implicit and hybrid response types in the query, where RFC 6749 §4.2.2.1 and OIDC Core §3.3.2.6 put them in the fragment";

/// The reviewed expected failures: (case, failing check, why).
const EXPECTED: &[(&str, &str, &str)] = &[
    ("negative::unregistered-api-code", "negative.refused", UNKNOWN_RESOURCE),
    (
        "negative::unregistered-api-client-credentials",
        "negative.refused",
        UNKNOWN_RESOURCE,
    ),
    ("negative::wrong-code-verifier", "negative.refused", CODE_OUTLIVES_PKCE),
    (
        "negative::implicit-without-nonce",
        "authorization_response.error_mode",
        ERRORS_IN_QUERY,
    ),
    ("negative::prompt-none-not-logged-in", "negative.refused", SILENT_LOGIN),
    // The same crash for a signed-in user: no silent answer, so no ID token either.
    ("session::prompt-none-logged-in", "flow.authorization", SILENT_LOGIN),
    ("session::prompt-none-logged-in", "assert.id_token", SILENT_LOGIN),
    ("session::id-token-hint", "flow.authorization", SILENT_LOGIN),
    ("session::id-token-hint", "assert.id_token", SILENT_LOGIN),
    (
        "negative::hybrid-without-nonce",
        "authorization_response.error_mode",
        ERRORS_IN_QUERY,
    ),
    (
        "negative::response-type-not-allowed",
        "authorization_response.error_mode",
        ERRORS_IN_QUERY,
    ),
    (
        "request_object::by-reference-unsigned",
        "request_object.processed",
        "DOT's discovery omits request_uri_parameter_supported (true by default, OIDC Discovery §3) but DOT ignores a request_uri: the request is read without the object's parameters and refused",
    ),
    (
        "security::token-duplicate-parameter",
        "token_endpoint.duplicate_params",
        "oauthlib, under DOT, refuses a repeated client_id, grant_type or redirect_uri at the token endpoint but not a repeated `code` (RFC 6749 §5.2: invalid_request for a repeated parameter)",
    ),
    (
        "flows::refresh-after-another-sign-in",
        "id_token.refresh",
        "DOT takes a refreshed ID token's auth_time from the user's last_login, so after the same user signs in elsewhere a refresh of the first session reports the later sign-in (OIDC Core §12.2: the time of the original authentication)",
    ),
    (
        "logout::logout-post",
        "logout.post",
        "DOT's RPInitiatedLogoutView is not CSRF-exempt (Django answers a form POST 403), and past that DOT reads any POST as the answer to its own confirmation form (logout_denied without `allow`): OIDC RP-Initiated Logout §2 says OPs MUST support GET and POST",
    ),
];

/// Reviewed warnings (SHOULD-level findings): (case, check, why).
const EXPECTED_WARNINGS: &[(&str, &str, &str)] = &[
    ("security::pkce-verifier-too-short", "pkce.verifier_syntax", MALFORMED_VERIFIER),
    ("security::pkce-verifier-too-long", "pkce.verifier_syntax", MALFORMED_VERIFIER),
    (
        "security::pkce-verifier-illegal-characters",
        "pkce.verifier_syntax",
        MALFORMED_VERIFIER,
    ),
    ("redirect_uri::host-case", "redirect_uri.equivalent_spelling", HOST_CASE),
    ("negative::refresh-token-reuse", "refresh_token.reuse_revokes", REFRESH_REUSE),
    (
        "security::provider-metadata",
        "metadata.deprecated_flows",
        "DOT offers the implicit and hybrid response types that put an access token in the front channel (and the password grant), which RFC 9700 §2.1.2 and §2.4 deprecate; its own startup notice says the same",
    ),
    (
        "negative::code-reuse",
        "code.reuse_revokes",
        "DOT deletes a code when it is redeemed, so a second redemption is refused as unknown and the first one's tokens stay valid (RFC 6749 §4.1.2: SHOULD revoke them)",
    ),
];
const REFRESH_REUSE: &str = "DOT refuses a rotated-out refresh token but leaves the token that replaced it working (its REFRESH_TOKEN_REUSE_PROTECTION setting is off by default), where RFC 9700 §4.14.2 revokes the active one";
const HOST_CASE: &str = "DOT compares the redirect URI's host without regard to case, an equivalent spelling by RFC 3986 §6.2.2.1 but not the exact match RFC 9700 §2.1 asks for";
const MALFORMED_VERIFIER: &str = "DOT (oauthlib) checks only that the verifier's S256 matches the challenge, not that the verifier is 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)";

static DOT: Shared = Shared::new();

/// The DOT fixture, installed and started once per test run.
pub(crate) fn dot() -> &'static Fixture {
    DOT.get(|| {
        let dir = root().join(DIR);
        let started = Instant::now();
        let python = venv(&dir)?;
        eprintln!("django-oauth-toolkit: virtualenv ready in {:.1?}", started.elapsed());
        let mut spec = Spec::new("django-oauth-toolkit", &python.to_string_lossy(), dir);
        spec.args = vec!["serve.py".into(), "{port}".into()];
        spec.env = vec![("PYTHONDONTWRITEBYTECODE".into(), "1".into())];
        spec.issuer = "http://127.0.0.1:{port}/o".into();
        spec.ready_timeout = Duration::from_secs(120);
        let f = fixture::start(&spec)?;
        eprintln!("django-oauth-toolkit: serving {} after {:.1?}", f.issuer, f.started_in);
        Ok(f)
    })
}

const PYTHON_HINT: &str =
    "the Python fixture providers need Python 3 with venv and pip (Debian: `apt-get install python3 python3-venv python3-pip`)";

/// `.venv` with the pinned requirements: created or reinstalled only when
/// missing or when `requirements.txt` changed (its hash is kept in a stamp).
/// Any Python fixture's directory (`dir`) with a `requirements.txt`.
pub(crate) fn venv(dir: &Path) -> Result<PathBuf, String> {
    // One installer at a time: several fixtures of a provider share its
    // virtualenv, and two installs at once would only compete for the cores.
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let version = fixture::tool_version("python3").map_err(|e| format!("{e}: {PYTHON_HINT}"))?;
    let venv = dir.join(".venv");
    let python = venv.join(if cfg!(windows) { "Scripts/python.exe" } else { "bin/python" });
    let requirements =
        std::fs::read(dir.join("requirements.txt")).map_err(|e| format!("cannot read {}: {e}", dir.join("requirements.txt").display()))?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &requirements);
    let hash: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let stamp = venv.join("requirements.sha256");
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == hash) {
        return Ok(python);
    }
    let _ = std::fs::remove_file(&stamp);
    if !python.exists() {
        let mut create = Command::new("python3");
        create.args(["-m", "venv", "--clear", ".venv"]).current_dir(dir);
        run(&mut create, &version)?;
    }
    let mut install = Command::new(&python);
    install
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "-r",
            "requirements.txt",
        ])
        .current_dir(dir);
    run(&mut install, &version)?;
    std::fs::write(&stamp, hash).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(python)
}

fn run(cmd: &mut Command, python: &str) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("cannot run {cmd:?}: {e}; {PYTHON_HINT}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{cmd:?} failed ({}) with {python}; {PYTHON_HINT}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Whether the case got an access token from the given origin (`client_credentials`, `refresh`…).
fn issued(c: &Value, origin: &str) -> bool {
    c["tokens"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["kind"] == "access_token" && t["origin"] == origin))
}

#[test]
fn django_oauth_toolkit_passes_the_shipped_suites() {
    let dot = dot();
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let run = fixture::oidc_conform_env(
        &[
            "run",
            "--provider",
            &format!("{DIR}/profile.yaml"),
            "--output",
            out.path().to_str().unwrap(),
            "--format",
            "json",
            "--baseline",
            &format!("{DIR}/baseline.yaml"),
            "--strict-baseline",
        ],
        &[("DJANGO_OIDC_ISSUER", &dot.issuer)],
    );
    // The reviewed baseline holds exactly the known failures: exit 0, nothing stale.
    assert_eq!(
        run.code(),
        0,
        "with the reviewed baseline the run is green\n{}\n--- provider output\n{}",
        run.describe(),
        dot.output()
    );
    eprintln!("django-oauth-toolkit: the suites ran in {:.1?}", started.elapsed());
    let code = run.code();
    assert!(code == 0 || code == 1, "{}\n--- provider output\n{}", run.describe(), dot.output());
    let report = read_report(out.path());
    eprintln!("django-oauth-toolkit: {}", report["summary"]);

    // DOT's consent page has a Cancel button: the harness denies with it, and DOT answers access_denied.
    // DOT's consent page has a Cancel button (the harness denies with it, DOT answers
    // access_denied), and the fixture registers a client for the password grant.
    for id in ["consent::deny", "flows::password-grant", "negative::password-wrong"] {
        let c = case(&report, id);
        assert_eq!(c["status"], "pass", "{id}: {:#}", c["checks"]);
    }

    let mut problems = Vec::new();
    for c in report["cases"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        match c["status"].as_str().unwrap() {
            "pass" | "skip" => {}
            "fail" => {
                for check in checks_with(c, "fail") {
                    if !EXPECTED.iter().any(|(i, k, _)| *i == id && *k == check) {
                        let msg = c["checks"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .find(|k| k["id"] == check)
                            .map(|k| k.to_string());
                        problems.push(format!("unexpected failure {id} {check}: {}", msg.unwrap_or_default()));
                    }
                }
            }
            "warn" => {
                for check in checks_with(c, "warn") {
                    if !EXPECTED_WARNINGS.iter().any(|(i, k, _)| *i == id && *k == check) {
                        problems.push(format!("unexpected warning {id} {check}: {}", c["checks"]));
                    }
                }
            }
            other => problems.push(format!("{id} is `{other}`: {}", c["checks"])),
        }
    }
    for (id, check, why) in EXPECTED_WARNINGS {
        if !checks_with(case(&report, id), "warn").contains(&check.to_string()) {
            problems.push(format!("{id} {check} no longer warns: take it off the reviewed warnings ({why})"));
        }
    }
    for (id, check, why) in EXPECTED {
        if !checks_with(case(&report, id), "fail").contains(&check.to_string()) {
            problems.push(format!("{id} {check} no longer fails: take it off the expected list ({why})"));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n--- provider output\n{}",
        problems.join("\n"),
        dot.output()
    );

    // The core flows really ran.
    for id in [
        "flows::code-client-secret-basic",
        "flows::code-client-secret-post",
        "flows::code-public-client-pkce",
        "flows::implicit-id-token",
        "flows::hybrid-code-id-token",
        "flows::refresh",
    ] {
        assert_eq!(case(&report, id)["status"], "pass", "{id}: {:#}", case(&report, id));
    }
    // The reuse is refused (its reviewed warning: the replacing token stays valid).
    let reuse = case(&report, "negative::refresh-token-reuse");
    assert!(checks_with(reuse, "pass").contains(&"negative.refused".to_owned()), "{reuse:#}");
    assert_eq!(checks_with(reuse, "warn"), ["refresh_token.reuse_revokes"], "{reuse:#}");
    assert!(issued(case(&report, "flows::refresh"), "refresh"));
    // DOT's access tokens are opaque, so a client-credentials case has no check
    // left to pass and reports `skip`; the token was issued all the same.
    for id in ["flows::client-credentials-post", "flows::client-credentials-basic"] {
        let c = case(&report, id);
        assert!(issued(c, "client_credentials") && checks_with(c, "fail").is_empty(), "{id}: {c:#}");
    }
}
