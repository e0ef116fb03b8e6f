//! DPoP nonces (RFC 9449 §8, §11.3), against the reference provider with its
//! nonce mode on (off in the detection matrix): the two nonce probes pass,
//! each fires on its quirk, and they say "no nonces" where the server uses
//! none; every other DPoP case still holds where the token endpoint asks for a
//! nonce first.

use oidc_conform::check::{CheckResult, Status};
use oidc_conform::flow::Provider;
use oidc_conform::reference::{Config, Quirk, ReferenceProvider};
use oidc_conform::run;

use crate::util::{case_checks, root};

fn nonce_config(quirks: &[Quirk]) -> Config {
    Config {
        dpop_nonce: true,
        ..crate::util::with_quirks(quirks)
    }
}

/// The verdict of `id` in `dpop::{name}` against a provider configured as `config`.
fn verdict(config: Config, name: &str, id: &str) -> CheckResult {
    crate::util::verdict(&case_checks("dpop", config, |_| {}, name), id).clone()
}

#[test]
fn a_wrong_nonce_is_refused_and_the_quirk_that_takes_any_nonce_fires() {
    let c = verdict(nonce_config(&[]), "dpop-wrong-nonce", "dpop.nonce_checked");
    assert_eq!(c.status, Status::Pass, "{}", c.message);
    assert!(c.message.contains("use_dpop_nonce"), "{}", c.message);

    let c = verdict(nonce_config(&[Quirk::DpopNonceUnchecked]), "dpop-wrong-nonce", "dpop.nonce_checked");
    assert_eq!(c.status, Status::Fail, "{}", c.message);

    // The downgrade quirk takes a missing nonce, not a wrong one.
    let c = verdict(nonce_config(&[Quirk::DpopNonceDowngrade]), "dpop-wrong-nonce", "dpop.nonce_checked");
    assert_eq!(c.status, Status::Pass, "{}", c.message);
}

#[test]
fn a_proof_without_the_nonce_given_is_refused_and_the_downgrade_quirk_fires() {
    let c = verdict(nonce_config(&[]), "dpop-nonce-left-out", "dpop.nonce_required");
    assert_eq!(c.status, Status::Pass, "{}", c.message);

    let c = verdict(
        nonce_config(&[Quirk::DpopNonceDowngrade]),
        "dpop-nonce-left-out",
        "dpop.nonce_required",
    );
    assert_eq!(c.status, Status::Fail, "{}", c.message);
}

#[test]
fn without_nonces_the_probes_say_so() {
    for (name, id) in [
        ("dpop-wrong-nonce", "dpop.nonce_checked"),
        ("dpop-nonce-left-out", "dpop.nonce_required"),
    ] {
        let c = verdict(Config::default(), name, id);
        assert_eq!(c.status, Status::Skip, "{}", c.message);
        assert!(c.message.contains("does not use DPoP nonces"), "{}", c.message);
    }
}

/// Every case of the DPoP suite against the provider in nonce mode: the
/// harness's nonce retry carries every flow, and nothing fails or errs.
#[test]
fn the_dpop_suite_holds_where_the_token_endpoint_asks_for_nonces() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let problems = rt.block_on(async {
        let rp = ReferenceProvider::start(nonce_config(&[]))
            .await
            .expect("the reference provider starts");
        let profile = run::reference_profile(rp.issuer()).expect("the reference profile loads");
        let cases = run::load_cases(&[root().join("suites/dpop.yaml")], &profile).expect("the suite loads");
        let provider = Provider::connect(profile, Default::default(), false, None)
            .await
            .expect("discovery and JWKS load");
        let mut problems = Vec::new();
        let mut nonce_asked = 0;
        for case in cases.iter().filter(|c| c.skip.is_none()) {
            let report = run::run_case(&provider, case).await;
            if report.trace.iter().any(|s| s.contains("use_dpop_nonce")) {
                nonce_asked += 1;
            }
            for c in report.checks.iter().filter(|c| matches!(c.status, Status::Fail | Status::Error)) {
                problems.push(format!("{}: {} {}", case.id(), c.id, c.message));
            }
        }
        rp.shutdown().await;
        assert!(nonce_asked > 10, "the token endpoint asked for nonces in {nonce_asked} cases");
        problems
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
