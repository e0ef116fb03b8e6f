//! The security suite's probes that need more than one run to judge: the
//! parallel-redemption race is deterministic over many runs, both against the
//! clean reference provider and against one with the race.

use oidc_conform::check::Status;
use oidc_conform::profile::Profile;
use oidc_conform::reference::{Config, Quirk};
use oidc_conform::report::CaseReport;
use oidc_conform::run;

use crate::util::{root, run_suite_case};

/// Runs `security::code-parallel-redemption` `times` times; returns the
/// `code.single_use` verdicts.
async fn race_verdicts(quirks: &[Quirk], times: usize) -> Vec<(Status, String)> {
    let config = crate::util::with_quirks(quirks);
    run_suite_case("security", config, |_| {}, "code-parallel-redemption", times)
        .await
        .into_iter()
        .map(|report| {
            let check = report
                .checks
                .iter()
                .find(|c| c.id == "code.single_use")
                .unwrap_or_else(|| panic!("no code.single_use verdict: {:?}", report.checks));
            (check.status, check.message.clone())
        })
        .collect()
}

#[test]
fn the_parallel_redemption_probe_is_deterministic() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let clean = rt.block_on(race_verdicts(&[], 50));
    let wrong: Vec<_> = clean.iter().filter(|(s, _)| *s != Status::Pass).collect();
    assert!(
        wrong.is_empty(),
        "the clean provider lets exactly one redemption through every time: {wrong:?}"
    );
    assert!(clean[0].1.contains("exactly one succeeded"), "{clean:?}");
    // 8 rounds of 10, with the bound they give.
    assert!(
        clean[0].1.contains("each of 8 round(s)") && clean[0].1.contains("at most 5.1e-4"),
        "{clean:?}"
    );

    let racy = rt.block_on(race_verdicts(&[Quirk::CodeRedemptionRace], 10));
    let wrong: Vec<_> = racy.iter().filter(|(s, _)| *s != Status::Fail).collect();
    assert!(wrong.is_empty(), "the race is caught every time: {wrong:?}");
    assert!(racy[0].1.contains("10 of 10"), "{racy:?}");

    // A partial race (each further redemption through one time in four) is caught too.
    let partial = rt.block_on(race_verdicts(&[Quirk::CodeRedemptionRacePartial], 10));
    let wrong: Vec<_> = partial.iter().filter(|(s, _)| *s != Status::Fail).collect();
    assert!(wrong.is_empty(), "the partial race is caught every time: {wrong:?}");
}

/// The per-specification conformance statement is in every report format.
#[test]
fn the_conformance_statement_is_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = crate::util::oidc_conform(&["run", "suites/security.yaml", "--output", out.to_str().unwrap()]);
    run.expect_code(0);
    assert!(run.stdout().contains("conformance by specification:"), "{}", run.describe());
    assert!(
        run.stdout().contains("RFC 7636: 1 of 1 MUST met, 1 of 1 SHOULD met"),
        "{}",
        run.describe()
    );
    let report = crate::util::read_report(&out);
    let docs = report["conformance"].as_array().expect("run.json has the statement");
    let rfc6749 = docs.iter().find(|d| d["document"] == "RFC 6749").expect("RFC 6749 is cited");
    assert_eq!(rfc6749["must"]["met"], rfc6749["must"]["total"], "{rfc6749:#}");
    assert!(rfc6749["must"]["total"].as_u64().unwrap() >= 4, "{rfc6749:#}");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        md.contains("### Conformance by specification") && md.contains("- RFC 7636: 1 of 1 MUST met"),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains(r#"id="conformance""#) && html.contains(r#"data-document="RFC 9700""#),
        "no statement in the HTML report"
    );
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(junit.contains(r#"name="conformance: RFC 7636""#), "{junit}");

    // A failing requirement is named as not met.
    let run = crate::util::oidc_conform(&[
        "run",
        "suites/security.yaml",
        "--quirk",
        "pkce-plain-fallback",
        "--output",
        out.to_str().unwrap(),
    ]);
    run.expect_code(1);
    assert!(run.stdout().contains("RFC 7636: 0 of 1 MUST met"), "{}", run.describe());
    let report = crate::util::read_report(&out);
    let rfc7636 = report["conformance"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["document"] == "RFC 7636")
        .unwrap()
        .clone();
    assert!(
        rfc7636["unmet"][0]
            .as_str()
            .unwrap()
            .starts_with("pkce.plain_for_s256 (RFC 7636 §4.6, MUST)"),
        "{rfc7636:#}"
    );
}

/// `metadata.deprecated_flows` is off in the reference profile (its implicit and
/// hybrid flows with tokens are there on purpose); with it on, it names them.
#[test]
fn deprecated_flows_are_reported_as_warnings() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let on = |p: &mut Profile| {
        p.checks.remove("metadata.deprecated_flows");
    };
    let checks = rt
        .block_on(run_suite_case("security", Config::default(), on, "provider-metadata", 1))
        .remove(0)
        .checks;
    let c = checks.iter().find(|c| c.id == "metadata.deprecated_flows").expect("judged");
    assert_eq!(c.status, Status::Warn, "{c:?}");
    assert!(c.found.as_deref().unwrap().contains("`id_token token`"), "{c:?}");
    // The rest of the documents hold; the loopback endpoints are not judged.
    for id in ["jwks.kid", "jwks.private_members", "jwks.rsa_size"] {
        assert_eq!(checks.iter().find(|c| c.id == id).unwrap().status, Status::Pass, "{id}: {checks:?}");
    }
    assert_eq!(checks.iter().find(|c| c.id == "metadata.https").unwrap().status, Status::Skip);
}

/// The opt-in lifetime probe waits out the profile's `code_lifetime` and
/// expects the code refused; against codes that live an hour it warns.
#[test]
fn the_code_lifetime_probe_waits_and_judges() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let verdict = |quirks: Vec<Quirk>| async move {
        let config = Config {
            quirks: quirks.into_iter().collect(),
            code_ttl_secs: 1,
            ..Config::default()
        };
        let opt_in = |p: &mut Profile| p.code_lifetime = Some(std::time::Duration::from_secs(1));
        run_suite_case("security", config, opt_in, "code-lifetime", 1).await.remove(0)
    };
    let (clean, unbounded) = rt.block_on(async { tokio::join!(verdict(vec![]), verdict(vec![Quirk::CodeLifetimeUnbounded])) });
    let check = |r: &CaseReport| r.checks.iter().find(|c| c.id == "code.lifetime").cloned().unwrap();
    assert_eq!(check(&clean).status, Status::Pass, "{:?}", clean.checks);
    assert!(clean.trace.iter().any(|s| s.contains("waiting 3 s")), "{:?}", clean.trace);
    assert_eq!(check(&unbounded).status, Status::Warn, "{:?}", unbounded.checks);

    // Without `code_lifetime` in the profile the probe skips, saying how to opt in.
    let p = run::reference_profile("http://127.0.0.1:1").unwrap();
    let cases = run::load_cases(&[root().join("suites/security.yaml")], &p).unwrap();
    let case = cases.into_iter().find(|c| c.name == "code-lifetime").unwrap();
    assert!(
        case.skip.as_deref().unwrap().contains("set `code_lifetime` in the profile"),
        "{:?}",
        case.skip
    );
}

/// `security::token-entropy`'s verdict against the reference provider with `quirks`.
async fn entropy_verdict(quirks: &[Quirk]) -> (Status, String, Option<String>) {
    let config = crate::util::with_quirks(quirks);
    let report = run_suite_case("security", config, |_| {}, "token-entropy", 1).await.remove(0);
    let check = report
        .checks
        .iter()
        .find(|c| c.id == "tokens.entropy")
        .unwrap_or_else(|| panic!("no tokens.entropy verdict: {:?}", report.checks));
    (check.status, check.message.clone(), check.found.clone())
}

#[test]
fn the_entropy_probe_judges_sixteen_samples_position_by_position() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (status, message, _) = rt.block_on(entropy_verdict(&[]));
    assert_eq!(status, Status::Pass, "{message}");
    assert!(message.contains("over 16 samples"), "{message}");
    // UUID v4 codes and tokens: 122 random bits (at most 124 by the estimate).
    let (status, message, found) = rt.block_on(entropy_verdict(&[Quirk::UuidTokens]));
    assert_eq!(status, Status::Fail, "{message}");
    assert!(message.contains("RFC 6749 §10.10") && message.contains("MUST"), "{message}");
    let found = found.unwrap_or_default();
    assert!(found.contains("authorization code: about 12"), "{found}");
    assert!(found.contains("5 position(s) never change"), "{found}");
}
