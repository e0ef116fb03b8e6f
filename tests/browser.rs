//! The browser login driver on server-rendered pages: with `--login-driver
//! browser`, every login and consent page of the embedded reference provider
//! goes through headless Chromium (the JavaScript login is in
//! `variants::oidc_provider_behind_a_javascript_login`).

use crate::util::{case, oidc_conform, read_report};

#[test]
fn the_browser_driver_gets_through_server_rendered_pages_too() {
    let out = tempfile::tempdir().unwrap();
    let run = oidc_conform(&[
        "run",
        "suites/flows.yaml",
        "suites/consent.yaml",
        "--login-driver",
        "browser",
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
    // Approving only some scopes is the form driver's: on a page it leaves to the browser, a skip that says so.
    let c = case(&report, "consent::approve-some-scopes");
    assert_eq!(c["status"], "skip", "{:#}", c["checks"]);
}
