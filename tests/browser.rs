//! The browser login driver on server-rendered pages: with `--login-driver
//! browser`, every login and consent page of the embedded reference provider
//! goes through headless Chromium (the JavaScript login is in
//! `variants::oidc_provider_behind_a_javascript_login`).

use oidc_conform::reference::{Config, ReferenceProvider};

use crate::util::{case, oidc_conform, read_report, write_profile};

#[test]
fn the_browser_driver_gets_through_server_rendered_pages_too() {
    let out = tempfile::tempdir().unwrap();
    let run = oidc_conform(&[
        "run",
        "suites/flows.yaml",
        "suites/consent.yaml",
        "--login-driver",
        "browser",
        // Every case drives its own pages (no shared sign-in).
        "--fresh-sign-ins",
        "--output",
        out.path().to_str().unwrap(),
    ]);
    run.expect_code(0);
    let report = read_report(out.path());
    for id in [
        "flows::code-client-secret-basic",
        "flows::code-form-post",
        "flows::implicit-id-token",
        "consent::deny",
    ] {
        let c = case(&report, id);
        assert_eq!(c["status"], "pass", "{id}: {:#}", c["checks"]);
        let trace = c["trace"].to_string();
        assert!(
            trace.contains("goes again, in the browser"),
            "{id} ran in the browser: {:#}",
            c["trace"]
        );
        assert!(
            trace.contains("(not sent: the redirect back to the client)"),
            "{id}: {:#}",
            c["trace"]
        );
    }
    // The form post's body was read from the request the browser was about to send.
    let c = case(&report, "flows::code-form-post");
    assert!(c["trace"].to_string().contains("browser: POST"), "{:#}", c["trace"]);
    // Approving only some scopes in the browser: the boxes of the approved ones ticked, the rest unticked.
    let c = case(&report, "consent::approve-some-scopes");
    assert_eq!(c["status"], "pass", "{:#}", c["checks"]);
    assert!(c["trace"].to_string().contains("left email unticked"), "{:#}", c["trace"]);
}

/// Where sign-ins go through the browser, the user signs in once and the
/// cases that do not test the sign-in start from that session; a case that
/// does (`prompt=login`), or is marked `fresh_sign_in`, signs in itself, even
/// after the session exists. `--fresh-sign-ins` shares nothing, and neither
/// does a run whose sign-ins need no browser.
#[test]
fn one_shared_sign_in_where_sign_ins_need_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("shared.yaml");
    std::fs::write(
        &suite,
        "suite: shared\n\
         cases:\n\
         \x20 - { name: a-first, flow: code, request: { scope: openid } }\n\
         \x20 - { name: b-second, flow: code, request: { scope: openid profile } }\n\
         \x20 - { name: c-marked, flow: code, fresh_sign_in: true, request: { scope: openid } }\n\
         \x20 - { name: d-login, flow: code, request: { scope: openid, prompt: login } }\n",
    )
    .unwrap();
    let run_with = |extra: &[&str]| {
        let out = tempfile::tempdir().unwrap();
        let mut args = vec![
            "run",
            suite.to_str().unwrap(),
            "--jobs",
            "1",
            "--output",
            out.path().to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        oidc_conform(&args).expect_code(0);
        read_report(out.path())
    };
    // A provider that remembers consent: a shared session then covers the
    // later authorizations of the same client (one that asks again at every
    // authorization gets each case its own sign-in: see below).
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let rp = rt
        .block_on(ReferenceProvider::start(Config {
            remember_consent: true,
            ..Config::default()
        }))
        .expect("the reference provider starts");
    let profile = write_profile(dir.path(), rp.issuer(), &[("consent: every_time", "consent: remembered")]);
    // The case's own steps: its trace without the shared sign-in's.
    let own = |c: &serde_json::Value| -> String {
        c["trace"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s.as_str())
            .filter(|s| !s.starts_with("  shared sign-in: "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let report = run_with(&["--login-driver", "browser", "--provider", profile.to_str().unwrap()]);
    for id in ["shared::a-first", "shared::b-second"] {
        let c = case(&report, id);
        assert_eq!(c["status"], "pass", "{id}: {:#}", c["checks"]);
        let trace = c["trace"].to_string();
        assert!(trace.contains("starts from `jane`'s session of the run"), "{id}: {:#}", c["trace"]);
        assert!(
            trace.contains("shared sign-in: browser: filled in the username and password"),
            "{id}: {:#}",
            c["trace"]
        );
        // Its own authorization filled in no login form.
        assert!(!own(c).contains("filled in the username"), "{id}: {:#}", c["trace"]);
        // auth_time is judged, and taken from the shared sign-in.
        let auth_time = c["checks"].as_array().unwrap().iter().find(|k| k["id"] == "id_token.auth_time");
        assert!(auth_time.is_some_and(|k| k["status"] == "pass"), "{id}: {:#}", c["checks"]);
    }
    for (id, why) in [
        ("shared::c-marked", "the suite marks it `fresh_sign_in`"),
        ("shared::d-login", "it sends prompt=login"),
    ] {
        let c = case(&report, id);
        assert_eq!(c["status"], "pass", "{id}: {:#}", c["checks"]);
        let trace = own(c);
        assert!(
            trace.contains("not from the run's shared session") && trace.contains(why),
            "{id}: {trace}"
        );
        assert!(!trace.contains("session of the run:"), "{id}: {trace}");
        assert!(trace.contains("browser: filled in the username and password"), "{id}: {trace}");
    }
    // Nothing shared when asked, nor where the form driver signs in.
    let remembering = ["--provider", profile.to_str().unwrap()];
    let fresh = ["--login-driver", "browser", "--fresh-sign-ins", remembering[0], remembering[1]];
    for extra in [&fresh[..], &remembering[..]] {
        let report = run_with(extra);
        for c in report["cases"].as_array().unwrap() {
            assert_eq!(c["status"], "pass", "{extra:?} {}: {:#}", c["id"], c["checks"]);
            let trace = c["trace"].to_string();
            assert!(!trace.contains("session of the run"), "{extra:?} {}: {:#}", c["id"], c["trace"]);
        }
    }
    rt.block_on(rp.shutdown());
    // Where consent is asked at every authorization, a case that started from
    // the shared session meets the consent page: it does not answer it in
    // that session, but signs in afresh in a browser session of its own.
    let report = run_with(&["--login-driver", "browser"]);
    let c = case(&report, "shared::b-second");
    assert_eq!(c["status"], "pass", "{:#}", c["checks"]);
    let trace = own(c);
    assert!(trace.contains("starts from `jane`'s session of the run"), "{trace}");
    assert!(trace.contains("the shared session is left out"), "{trace}");
    assert!(trace.contains("browser: filled in the username and password"), "{trace}");
}

/// A login the form driver cannot get past (the password is refused three
/// times) is, before the cases, a profile error at the password (the
/// pre-flight); without the pre-flight, the case's error with the page as the
/// user would have seen it: its screenshot from the run's browser, next to the
/// report and in report.html.
#[test]
fn a_refused_login_is_an_error_with_a_screenshot_of_the_page() {
    let f = crate::provider_django::dot();
    const WRONG: &str = "not-janes-password-5d3e";
    let work = tempfile::tempdir().unwrap();
    let profile = std::fs::read_to_string(crate::util::root().join("fixtures/providers/django-oauth-toolkit/profile.yaml"))
        .unwrap()
        .replace("password: jane-password-dot-3c1f", &format!("password: {WRONG}"));
    assert!(profile.contains(WRONG));
    let (run, out) = crate::fixture::run_one_case(
        work.path(),
        &profile,
        "flows::code-client-secret-basic",
        &[("DJANGO_OIDC_ISSUER", &f.issuer)],
    );
    assert_eq!(run.code(), 2, "{}", run.describe());
    let line = profile.lines().position(|l| l.contains(WRONG)).unwrap() + 1;
    assert!(run.stderr().contains(&format!("profile.yaml:{line}:15")), "{}", run.describe());
    assert!(run.stderr().contains("user `jane` could not sign in"), "{}", run.describe());
    assert!(!run.stderr().contains(WRONG) && !out.join("run.json").exists());
    let (run, out) = crate::fixture::run_one_case_with(
        work.path(),
        &profile,
        "flows::code-client-secret-basic",
        &[("DJANGO_OIDC_ISSUER", &f.issuer)],
        &["--no-preflight"],
    );
    assert_eq!(run.code(), 1, "{}", run.describe());
    let report = read_report(&out);
    let c = case(&report, "flows::code-client-secret-basic");
    assert_eq!(c["status"], "error", "{:#}", c["checks"]);
    assert!(c["checks"].to_string().contains("came back after 3 attempts"), "{:#}", c["checks"]);
    let shot = c["page"]["screenshot"].as_str().unwrap_or_else(|| panic!("a screenshot: {c:#}"));
    let png = std::fs::read(out.join(shot)).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG next to the report");
    for name in ["run.json", "report.html", "summary.md", "junit.xml"] {
        let text = std::fs::read_to_string(out.join(name)).unwrap();
        assert!(!text.contains(WRONG), "{name} holds the password");
    }
    assert!(!run.stdout().contains(WRONG) && !run.stderr().contains(WRONG));
}

/// A second Ctrl-C exits at once, skipping destructors: the browsers the run
/// started are stopped by hand first, their profiles removed.
#[test]
fn stop_all_stops_the_browsers_of_the_process() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let browser = rt
        .block_on(oidc_conform::login::browser::Browser::start(Default::default()))
        .expect("Chromium starts (scripts/install-chromium)");
    let pid = browser.pid().expect("it runs");
    let alive = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map(|s| !s.lines().any(|l| l.starts_with("State:") && l.contains("Z")))
            .unwrap_or(false)
    };
    assert!(alive(pid));
    oidc_conform::login::browser::stop_all();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while alive(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!alive(pid), "the browser {pid} was stopped");
    drop(browser);
}

/// A password field placed off the page (for password managers, as on an
/// identifier-first step) is not shown: the step is an identifier step, not a
/// password login; moved into view, it is a login.
#[test]
fn classify_leaves_out_a_password_field_placed_off_the_page() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let browser = rt
        .block_on(oidc_conform::login::browser::Browser::start(Default::default()))
        .expect("Chromium starts (scripts/install-chromium)");
    let url = url::Url::parse("https://idp.example.test/login").unwrap();
    let page = |left: &str| {
        format!(
            r#"<!DOCTYPE html><form method="post"><input type="email" name="loginfmt" aria-label="Email">
            <input name="passwd" type="password" tabindex="-1" style="position:absolute;left:{left};width:1px;height:1px">
            <input type="submit" value="Next"></form>"#
        )
    };
    let kind = |html: String| rt.block_on(browser.classify(&url, html.as_bytes())).unwrap()["kind"].clone();
    assert_eq!(kind(page("-10000px")), "identifier");
    assert_eq!(kind(page("10px")), "login");
}
