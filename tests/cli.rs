//! The binary against the embedded reference provider.

use crate::util::{case, checks_with, oidc_conform, read_report};

#[test]
fn shipped_suites_pass_against_the_reference_provider() {
    let out = tempfile::tempdir().unwrap();
    let run = oidc_conform(&["run", "--output", out.path().to_str().unwrap()]);
    run.expect_code(0);
    let report = read_report(out.path());
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["provider"]["embedded"], true);
    let cases = report["cases"].as_array().unwrap();
    assert!(cases.len() >= 3, "{}", run.describe());
    for c in cases {
        assert!(
            c["status"] == "pass" || c["status"] == "skip",
            "{} is {}: {}",
            c["id"],
            c["status"],
            run.describe()
        );
    }
    // The checks that matter ran and passed, on real tokens.
    let api = case(&report, "basics::api-access-token");
    let passed = checks_with(api, "pass");
    for id in [
        "id_token.signature",
        "id_token.iss",
        "id_token.aud",
        "id_token.nonce",
        "access_token.signature",
        "access_token.aud",
        "access_token.scope",
        "userinfo.sub",
        "assert.access_token",
    ] {
        assert!(passed.iter().any(|p| p == id), "{id} passed in {api:#}");
    }
    let tokens = api["tokens"].as_array().unwrap();
    assert!(
        tokens
            .iter()
            .any(|t| t["kind"] == "access_token" && t["claims"]["scope"].as_str().unwrap().contains("read:patients"))
    );
    assert!(run.stdout().contains("result: "), "{}", run.describe());
}

#[test]
fn a_provider_fault_fails_the_run_and_names_the_check() {
    let out = tempfile::tempdir().unwrap();
    let run = oidc_conform(&["run", "--quirk", "id-token-aud-api", "--output", out.path().to_str().unwrap()]);
    run.expect_code(1);
    let report = read_report(out.path());
    let api = case(&report, "basics::api-access-token");
    assert_eq!(api["status"], "fail");
    assert!(checks_with(api, "fail").contains(&"id_token.aud".to_owned()), "{api:#}");
    assert!(run.stdout().contains("id_token.aud"), "{}", run.describe());
    assert_eq!(report["provider"]["quirks"][0], "id-token-aud-api");
}

#[test]
fn list_and_filter_select_cases() {
    let run = oidc_conform(&["list"]);
    run.expect_code(0);
    assert!(run.stdout().contains("basics::openid-only"), "{}", run.describe());
    let ids = |args: &[&str]| -> Vec<String> {
        let out = tempfile::tempdir().unwrap();
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        all.extend(["--output", out.path().to_str().unwrap(), "--format", "json"]);
        oidc_conform(&all).expect_code(0);
        let report = read_report(out.path());
        report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // A filter matches ids containing it; --exact only the id itself; --skip removes.
    assert_eq!(ids(&["openid-only"]), ["basics::openid-only", "userinfo::userinfo-openid-only"]);
    assert_eq!(ids(&["basics::openid-only", "--exact"]), ["basics::openid-only"]);
    assert_eq!(ids(&["openid-only", "--skip", "userinfo::"]), ["basics::openid-only"]);
}

#[test]
fn unknown_quirk_is_bad_input() {
    let run = oidc_conform(&["run", "--quirk", "id-token-aud-apx"]);
    run.expect_code(2);
    assert!(run.stderr().contains("id-token-aud-api"), "{}", run.describe());
}

/// On a terminal: a progress bar and failures as they happen; the libtest lines go to `console.log`.
#[test]
fn a_terminal_gets_a_progress_bar() {
    let out = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{} run basics:: --quirk nonce-wrong --output {} --format json",
        env!("CARGO_BIN_EXE_oidc-conform"),
        out.path().display()
    );
    // `script` runs the command on a pseudo-terminal (util-linux, on every Debian system).
    let run = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(crate::util::root())
        .env_remove("CI")
        .output()
        .expect("`script` (util-linux) runs");
    let screen = String::from_utf8_lossy(&run.stdout);
    assert!(screen.contains("cases"), "a progress bar: {screen}");
    assert!(
        screen.contains("FAIL basics::openid-only: fail id_token.nonce"),
        "failures as they happen: {screen}"
    );
    assert!(screen.contains("result: 0 passed, 3 failed"), "the closing summary: {screen}");
    assert!(
        !screen.contains("test [code] basics::openid-only"),
        "no libtest lines on the terminal: {screen}"
    );
    let log = std::fs::read_to_string(out.path().join("console.log")).unwrap();
    assert!(log.contains("test [code] basics::openid-only") && log.contains("FAILED"), "{log}");
}
