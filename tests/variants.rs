//! Providers set up differently from the main fixtures, each described by its
//! own truthful profile: node oidc-provider in three more configurations
//! (`NODE_OIDC_VARIANT`), django-oauth-toolkit in one more (`DOT_VARIANT`).
//! Every shipped suite runs against each: no case errors, every failure is a
//! reviewed finding of the variant's baseline (`--strict-baseline`: nothing
//! stale), every skip says why, and the cases each variant is built to
//! exercise really pass.

use std::time::Duration;

use serde_json::Value;

use crate::fixture::{self, Fixture, Shared, Spec};
use crate::util::{case, read_report, root};

struct Variant {
    /// `node` or `django`
    provider: &'static str,
    name: &'static str,
    /// Cases that must pass outright on this variant.
    must_pass: &'static [&'static str],
    /// Cases that must skip, with words of the reason.
    must_skip: &'static [(&'static str, &'static str)],
}

/// Reviewed SHOULD-level findings (warnings) per provider: (check, why).
fn reviewed_warnings(provider: &str) -> &'static [(&'static str, &'static str)] {
    match provider {
        "node" => &[
            (
                "token_response.pragma",
                "oidc-provider 9 sends `Cache-Control: no-store` but no `Pragma: no-cache` (RFC 6749 §5.1 asks for both; RFC 9111 deprecates `Pragma`)",
            ),
            ("pages.framing", crate::provider_node::NODE_DEV_PAGES),
            ("metadata.deprecated_flows", DEPRECATED_FLOWS),
            ("par.method", crate::provider_node::NODE_PAR_GET),
        ],
        _ => &[
            (
                "pkce.verifier_syntax",
                "django-oauth-toolkit (oauthlib) accepts a verifier outside RFC 7636 §4.1's 43 to 128 unreserved characters when its S256 matches",
            ),
            ("code.reuse_revokes", REUSE_KEEPS_TOKENS),
            (
                "refresh_token.reuse_revokes",
                "django-oauth-toolkit refuses a rotated-out refresh token but leaves the token that replaced it working (REFRESH_TOKEN_REUSE_PROTECTION is off by default), where RFC 9700 §4.14.2 revokes the active one",
            ),
            ("metadata.deprecated_flows", DEPRECATED_FLOWS),
            (
                "pages.framing",
                "the minimal deployment goes without Django's clickjacking middleware, as a bare project would: its login and consent pages can be framed",
            ),
            (
                "redirect_uri.equivalent_spelling",
                "django-oauth-toolkit compares the redirect URI's host without regard to case (RFC 3986 §6.2.2.1 equivalence, not RFC 9700 §2.1's exact match)",
            ),
        ],
    }
}

const DEPRECATED_FLOWS: &str = "the deployment offers response types that put an access token in the front channel (`id_token token`, `code token`, …), which RFC 9700 §2.1.2 deprecates";

const REUSE_KEEPS_TOKENS: &str = "django-oauth-toolkit deletes a code when it is redeemed, so a second redemption is refused as unknown and the first one's tokens stay valid (RFC 6749 §4.1.2: SHOULD revoke them)";

static NODE_DEFAULTS: Shared = Shared::new();
static NODE_CONFORM: Shared = Shared::new();
static NODE_OPAQUE: Shared = Shared::new();
static NODE_SPA: Shared = Shared::new();
static DOT_MINIMAL: Shared = Shared::new();

fn start(v: &Variant) -> &'static Fixture {
    let shared = match (v.provider, v.name) {
        ("node", "defaults") => &NODE_DEFAULTS,
        ("node", "conform") => &NODE_CONFORM,
        ("node", "opaque") => &NODE_OPAQUE,
        ("node", "spa") => &NODE_SPA,
        ("django", "minimal") => &DOT_MINIMAL,
        _ => unreachable!("a variant without a fixture"),
    };
    shared.get(|| match v.provider {
        "node" => {
            crate::provider_node::install()?;
            let mut spec = Spec::new(&format!("node-oidc-provider ({})", v.name), "node", root().join(NODE_DIR));
            spec.args = vec!["server.mjs".into(), "{port}".into()];
            spec.env = vec![("NODE_OIDC_VARIANT".into(), v.name.into())];
            fixture::start(&spec)
        }
        _ => {
            let dir = root().join(DOT_DIR);
            let python = crate::provider_django::venv(&dir)?;
            let mut spec = Spec::new(&format!("django-oauth-toolkit ({})", v.name), &python.to_string_lossy(), dir);
            spec.args = vec!["serve.py".into(), "{port}".into()];
            spec.env = vec![
                ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
                ("DOT_VARIANT".into(), v.name.into()),
            ];
            spec.issuer = "http://127.0.0.1:{port}/o".into();
            spec.ready_timeout = Duration::from_secs(120);
            fixture::start(&spec)
        }
    })
}

const NODE_DIR: &str = "fixtures/providers/node-oidc-provider";
const DOT_DIR: &str = "fixtures/providers/django-oauth-toolkit";

fn check(v: &Variant) -> Value {
    let f = start(v);
    let (dir, env) = match v.provider {
        "node" => (NODE_DIR, "NODE_OIDC_ISSUER"),
        _ => (DOT_DIR, "DJANGO_OIDC_ISSUER"),
    };
    let profile = format!("{dir}/profile.{}.yaml", v.name);
    let baseline = format!("{dir}/baseline.{}.yaml", v.name);
    let out = tempfile::tempdir().unwrap();
    let run = fixture::oidc_conform_env(
        &[
            "run",
            "--provider",
            &profile,
            "--baseline",
            &baseline,
            "--strict-baseline",
            "--output",
            out.path().to_str().unwrap(),
        ],
        &[(env, &f.issuer)],
    );
    let context = || format!("{}\n--- provider output\n{}", run.describe(), f.output());
    assert_eq!(
        run.code(),
        0,
        "{} {}: green with its reviewed baseline\n{}",
        v.provider,
        v.name,
        context()
    );
    let report = read_report(out.path());
    let cases = report["cases"].as_array().unwrap();
    let count = |s: &str| cases.iter().filter(|c| c["status"] == s).count();
    eprintln!(
        "{} variant {}: {} pass, {} fail (all known), {} warn, {} skip, {} error",
        v.provider,
        v.name,
        count("pass"),
        count("fail"),
        count("warn"),
        count("skip"),
        count("error")
    );
    assert_eq!(count("error"), 0, "no case errors\n{}", context());
    assert_eq!(report["summary"]["known"], report["summary"]["fail"], "{}", context());
    assert_eq!(report["baseline"]["stale"], serde_json::json!([]), "{}", context());
    // Every skip says why.
    for c in cases.iter().filter(|c| c["status"] == "skip") {
        let reasons: Vec<&str> = c["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["status"] == "skip")
            .filter_map(|k| k["message"].as_str())
            .collect();
        assert!(
            reasons.iter().any(|r| r.len() > 20),
            "{} skips without a reason: {:#}",
            c["id"],
            c["checks"]
        );
    }
    // Every warning is a reviewed one.
    let reviewed = reviewed_warnings(v.provider);
    for c in cases {
        for k in c["checks"].as_array().unwrap().iter().filter(|k| k["status"] == "warn") {
            assert!(
                reviewed.iter().any(|(id, _)| k["id"] == *id),
                "{} {}: unreviewed warning in {}: {k:#}",
                v.provider,
                v.name,
                c["id"]
            );
        }
    }
    for id in v.must_pass {
        let c = case(&report, id);
        assert!(
            c["status"] == "pass" || c["status"] == "warn",
            "{} {}: {id}: {:#}\n{}",
            v.provider,
            v.name,
            c["checks"],
            context()
        );
    }
    for (id, words) in v.must_skip {
        let c = case(&report, id);
        let text = c["checks"].to_string();
        assert!(
            c["status"] == "skip" && text.contains(words),
            "{id} skips ({words}): {:#}",
            c["checks"]
        );
    }
    report
}

fn checks_of<'a>(c: &'a Value, id: &str) -> Vec<&'a Value> {
    c["checks"].as_array().unwrap().iter().filter(|k| k["id"] == id).collect()
}

/// Library-default resource handling (RFC 8707 `resource` repeated at the token
/// endpoint), one API, two clients, a user with seven claims and a custom claim
/// released only under its own scope.
#[test]
fn oidc_provider_with_library_defaults() {
    let v = Variant {
        provider: "node",
        name: "defaults",
        must_pass: &[
            "basics::api-access-token",
            "flows::refresh-api-token",
            "flows::client-credentials-post",
            "namespacing::custom-claim-in-id-token",
            "namespacing::scoped-claim-needs-its-scope",
        ],
        must_skip: &[
            ("audience::second-api", "second API"),
            ("flows::code-public-client-pkce", "public client"),
            ("scopes::scope-address", "(address)"),
        ],
    };
    check(&v);
}

/// ID-token claims conformance on (`claims_in_id_token: when_no_access_token`), a
/// public client, a user with two claims, no custom claims.
#[test]
fn oidc_provider_with_id_token_claims_conformance() {
    let report = check(&Variant {
        provider: "node",
        name: "conform",
        must_pass: &[
            "basics::openid-profile-email",
            "flows::code-public-client-pkce",
            "flows::implicit-id-token",
            "scopes::scope-email",
            "scopes::implicit-id-token-scope-claims",
        ],
        must_skip: &[("namespacing::custom-claim-in-id-token", "no custom claims")],
    });
    // This deployment takes unregistered redirect URIs from clients that
    // authenticate their push (RFC 9126 §2.4, MAY): said, not failed; a
    // public client's push with one is still refused, and judged.
    let verdict = |case: &str| {
        let c = crate::util::case(&report, case);
        let k = checks_of(c, "par.validated");
        assert_eq!(k.len(), 1, "{case}: {c}");
        (
            k[0]["status"].as_str().unwrap().to_owned(),
            k[0]["message"].as_str().unwrap().to_owned(),
        )
    };
    let (status, message) = verdict("par::push-unregistered-redirect-uri");
    assert_eq!(status, "skip", "{message}");
    assert!(message.contains("§2.4"), "{message}");
    let (status, message) = verdict("par::push-unregistered-redirect-uri-public-client");
    assert_eq!(status, "pass", "{message}");
}

/// Opaque access tokens for two APIs, clients registered for one auth method
/// each, and DPoP proofs that must carry a server nonce (RFC 9449 §8): the
/// nonce probes judge a real implementation of nonces.
#[test]
fn oidc_provider_with_opaque_tokens() {
    check(&Variant {
        provider: "node",
        name: "opaque",
        must_pass: &[
            "flows::code-client-secret-post",
            "flows::client-credentials-basic",
            "scopes::scope-all",
            "dpop::dpop-wrong-nonce",
            "dpop::dpop-nonce-left-out",
            "dpop::dpop-token",
            "dpop::dpop-userinfo",
        ],
        must_skip: &[("flows::code-client-secret-basic", "client_secret_basic")],
    });
}

/// No API selection, opaque tokens, one client, a user with few claims and a
/// consent page with scope checkboxes and an "I agree" box that must be ticked.
#[test]
fn django_oauth_toolkit_minimal() {
    check(&Variant {
        provider: "django",
        name: "minimal",
        must_pass: &[
            "flows::code-client-secret-basic",
            "flows::implicit-id-token-token",
            "flows::hybrid-code-token",
            "flows::client-credentials-post",
            "flows::refresh",
            "scopes::scope-email",
            // Its consent page has a box per scope, and grants only the ticked ones.
            "consent::approve-some-scopes",
        ],
        must_skip: &[("basics::api-access-token", "selects no API")],
    });
}

/// A login that needs JavaScript: the interaction page has no form; a script
/// renders an identifier step, a password step and a consent step and posts
/// them as JSON. With `login.driver: auto` (the default) and no selectors, the
/// browser driver takes over from the form driver and every shipped suite runs
/// green, as on the server-rendered deployment.
#[test]
fn oidc_provider_behind_a_javascript_login() {
    let report = check(&Variant {
        provider: "node",
        name: "spa",
        must_pass: &[
            "flows::code-client-secret-basic",
            "flows::code-client-secret-post",
            "flows::code-public-client-pkce",
            "flows::code-form-post",
            "flows::implicit-id-token",
            "flows::implicit-form-post",
            "flows::hybrid-code-id-token",
            "flows::refresh",
            "namespacing::custom-claim-in-id-token",
            // Its own login says how the user authenticated.
            "parameters::claims-essential-acr",
            "session::prompt-none-logged-in",
            "session::prompt-login",
            "session::sso-other-client",
            "session::id-token-hint",
            "consent::deny",
            "consent::third-party-every-time",
            // A box per scope, unticked by default: the browser ticks what is approved.
            "consent::approve-some-scopes",
            "registration::register-and-sign-in",
            // Refused on an error page that loads scripts: judged at once, as refused.
            "redirect_uri::extra-path",
            "redirect_uri::other-port",
        ],
        must_skip: &[],
    });
    // Approving ticks the boxes of what is approved, and leaves the rest unticked.
    let c = case(&report, "consent::approve-some-scopes");
    let trace = c["trace"].to_string();
    assert!(trace.contains("on the consent page, ticked profile"), "{:#}", c["trace"]);
    assert!(trace.contains("left email unticked"), "{:#}", c["trace"]);
    // The error page is the evidence of the refusal.
    let c = case(&report, "redirect_uri::extra-path");
    assert!(c["checks"].to_string().contains("We could not sign you in"), "{:#}", c["checks"]);
    // The browser did the logging in: the form driver found no form to fill
    // (a case that signs in itself: its refresh is judged against that sign-in).
    let c = case(&report, "flows::refresh");
    let trace = c["trace"].to_string();
    assert!(!trace.contains("session of the run:"), "{:#}", c["trace"]);
    assert!(trace.contains("goes again, in the browser"), "{:#}", c["trace"]);
    assert!(
        trace.contains("browser: filled in the username (an identifier-first step)"),
        "{:#}",
        c["trace"]
    );
    assert!(trace.contains("browser: filled in the username and password"), "{:#}", c["trace"]);
    assert!(trace.contains("(not sent: the redirect back to the client)"), "{:#}", c["trace"]);
    // The cases that do not test the sign-in start from one sign-in per
    // client and API, made in the browser: their own requests fill in no
    // login form, and their verdicts are those of a fresh sign-in (the
    // baseline and the must-pass list above are the same either way).
    let shared: Vec<&Value> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["trace"].to_string().contains("starts from `jane`'s session of the run"))
        .collect();
    assert!(shared.len() > 40, "{} cases started from the shared session", shared.len());
    for c in &shared {
        let own: Vec<&str> = c["trace"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s.as_str())
            .filter(|s| !s.starts_with("  shared sign-in: "))
            .collect();
        assert!(!own.iter().any(|s| s.contains("filled in the username")), "{}: {own:#?}", c["id"]);
    }
    let c = case(&report, "flows::code-client-secret-basic");
    assert!(
        c["trace"]
            .to_string()
            .contains("shared sign-in: browser: filled in the username and password"),
        "{:#}",
        c["trace"]
    );
    // The pages the browser acted on are judged for framing too (this deployment forbids it).
    let framed = case(&report, "security::login-page-framing");
    let framing: Vec<&Value> = checks_of(framed, "pages.framing");
    assert!(
        !framing.is_empty() && framing.iter().all(|k| k["status"] == "pass"),
        "{:#}",
        framed["checks"]
    );
    // The password went into its field, never into a URL or the report.
    let text = report.to_string();
    assert!(!text.contains("jane-spa-password-41c7"), "the password is in the report");
}

/// `login.steps` for a page the driver should not guess about: each step runs
/// once its element is on the page, then detection takes over (the consent step).
#[test]
fn login_steps_in_the_profile_run_first() {
    let f = start(&Variant {
        provider: "node",
        name: "spa",
        must_pass: &[],
        must_skip: &[],
    });
    let work = tempfile::tempdir().unwrap();
    let profile = std::fs::read_to_string(root().join(NODE_DIR).join("profile.spa.yaml")).unwrap()
        + "login:\n  driver: browser\n  steps:\n    - fill: \"#identifier\"\n      with: username\n    - click: \"#next\"\n    - wait_for: \"input[type=password]\"\n    - fill: \"#password\"\n      with: password\n    - click: \"#sign-in\"\n";
    let (run, out) = crate::fixture::run_one_case(
        work.path(),
        &profile,
        "flows::code-client-secret-basic",
        &[("NODE_OIDC_ISSUER", &f.issuer)],
    );
    let report = read_report(&out);
    let c = case(&report, "flows::code-client-secret-basic");
    assert!(
        c["status"] == "pass" || c["status"] == "warn",
        "{}\n{:#}",
        run.describe(),
        c["checks"]
    );
    let trace = c["trace"].to_string();
    for words in [
        "login step 1: filled in `#identifier` with the username",
        "login step 2: pressed `#next`",
        "login step 3: `input[type=password]` is on the page",
        "login step 4: filled in `#password` with the password",
        "login step 5: pressed `#sign-in`",
        "pressed approve on the consent page",
    ] {
        assert!(trace.contains(words), "{words}: {:#}", c["trace"]);
    }
}

/// The consent page's approval is the harness's: with the boxes ticked the
/// code flow gets through, and the refresh really ran.
#[test]
fn django_minimal_consent_is_approved() {
    let v = Variant {
        provider: "django",
        name: "minimal",
        must_pass: &[],
        must_skip: &[],
    };
    let f = start(&v);
    let out = tempfile::tempdir().unwrap();
    let run = fixture::oidc_conform_env(
        &[
            "run",
            "flows::refresh",
            "--exact",
            "--provider",
            &format!("{DOT_DIR}/profile.minimal.yaml"),
            "--output",
            out.path().to_str().unwrap(),
        ],
        &[("DJANGO_OIDC_ISSUER", &f.issuer)],
    );
    assert_eq!(run.code(), 0, "{}", run.describe());
    let report = read_report(out.path());
    let c = case(&report, "flows::refresh");
    assert!(
        checks_of(c, "flow.token").iter().all(|k| k["status"] == "pass"),
        "{:#}",
        c["checks"]
    );
    assert!(c["trace"].to_string().contains("refresh_token"), "{:#}", c["trace"]);
}

/// A login page that defeats both drivers (after the password, the widget asks
/// to press and hold a square): the case is an error that says why, with the
/// page's screenshot next to the report and in report.html, and the page's
/// text; the password is nowhere in what the run printed or wrote.
#[test]
fn a_page_that_defeats_both_drivers_is_an_error_with_a_screenshot() {
    let f = start(&Variant {
        provider: "node",
        name: "spa",
        must_pass: &[],
        must_skip: &[],
    });
    const PASSWORD: &str = "robot-spa-password-9e02";
    let work = tempfile::tempdir().unwrap();
    let profile = std::fs::read_to_string(root().join(NODE_DIR).join("profile.spa.yaml"))
        .unwrap()
        .replace("username: jane", "username: robot")
        .replace("password: jane-spa-password-41c7", &format!("password: {PASSWORD}"));
    assert!(profile.contains(PASSWORD));
    let (run, out) = crate::fixture::run_one_case(
        work.path(),
        &profile,
        "flows::code-client-secret-basic",
        &[("NODE_OIDC_ISSUER", &f.issuer)],
    );
    assert_eq!(run.code(), 1, "{}", run.describe());
    let report = read_report(&out);
    let c = case(&report, "flows::code-client-secret-basic");
    assert_eq!(c["status"], "error", "{c:#}");
    let message = c["checks"].to_string();
    // Settled with nothing to fill in or press: an end, said at once.
    assert!(message.contains("is an end: it has nothing to fill in or press"), "{message}");
    assert!(message.contains("Press and hold"), "the error quotes the page: {message}");
    assert!(
        c["page"]["text"].as_str().unwrap().contains("Press and hold the square"),
        "{:#}",
        c["page"]
    );
    let shot = c["page"]["screenshot"].as_str().expect("a screenshot");
    let png = std::fs::read(out.join(shot)).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 1000, "a PNG next to the report");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<img src=\"data:image"), "the screenshot is in report.html");
    assert!(html.contains("img-src data:"), "and the page's policy allows it");
    // The password was typed into its field, and appears nowhere.
    for name in ["run.json", "report.html", "summary.md", "junit.xml"] {
        let text = std::fs::read_to_string(out.join(name)).unwrap();
        assert!(!text.contains(PASSWORD), "{name} holds the password");
    }
    assert!(
        !run.stdout().contains(PASSWORD) && !run.stderr().contains(PASSWORD),
        "the console shows the password"
    );
    // Rendered again elsewhere, the screenshot goes along.
    let again = work.path().join("again");
    crate::util::oidc_conform(&[
        "report",
        "render",
        out.join("run.json").to_str().unwrap(),
        "--output",
        again.to_str().unwrap(),
    ])
    .expect_code(0);
    assert_eq!(
        std::fs::read(again.join(shot)).unwrap(),
        png,
        "the screenshot next to the new run.json"
    );
    let html = std::fs::read_to_string(again.join("report.html")).unwrap();
    assert!(html.contains("<img src=\"data:image"), "and in the new report.html");
}
