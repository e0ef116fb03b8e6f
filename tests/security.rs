//! The security suite's probes that need more than one run to judge: the
//! parallel-redemption race is deterministic over many runs, both against the
//! clean reference provider and against one with the race.

use std::sync::Arc;

use oidc_conform::check::Status;
use oidc_conform::flow::Provider;
use oidc_conform::reference::{Config, Quirk, ReferenceProvider};
use oidc_conform::run;

use crate::util::root;

/// Runs `security::code-parallel-redemption` `times` times; returns the
/// `code.single_use` verdicts.
async fn race_verdicts(quirks: &[Quirk], times: usize) -> Vec<(Status, String)> {
    let config = Config {
        quirks: quirks.iter().copied().collect(),
        ..Config::default()
    };
    let rp = ReferenceProvider::start(config).await.expect("the reference provider starts");
    let profile = run::reference_profile(rp.issuer()).expect("the reference profile loads");
    let cases = run::load_cases(&[root().join("suites/security.yaml")], &profile).expect("the security suite loads");
    let case = cases
        .into_iter()
        .find(|c| c.name == "code-parallel-redemption")
        .expect("the suite has the race probe");
    let provider = Provider::connect(profile, Default::default(), false, None)
        .await
        .expect("discovery and JWKS load");
    let provider = Arc::new(provider);
    let mut verdicts = Vec::new();
    for _ in 0..times {
        let report = run::run_case(&provider, &case).await;
        let check = report
            .checks
            .iter()
            .find(|c| c.id == "code.single_use")
            .unwrap_or_else(|| panic!("no code.single_use verdict: {:?}", report.checks));
        verdicts.push((check.status, check.message.clone()));
    }
    rp.shutdown().await;
    verdicts
}

#[test]
fn the_parallel_redemption_probe_is_deterministic() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let clean = rt.block_on(race_verdicts(&[], 50));
    let wrong: Vec<_> = clean.iter().filter(|(s, _)| *s != Status::Pass).collect();
    assert!(wrong.is_empty(), "the clean provider lets exactly one redemption through every time: {wrong:?}");
    assert!(clean[0].1.contains("exactly one succeeded"), "{clean:?}");

    let racy = rt.block_on(race_verdicts(&[Quirk::CodeRedemptionRace], 10));
    let wrong: Vec<_> = racy.iter().filter(|(s, _)| *s != Status::Fail).collect();
    assert!(wrong.is_empty(), "the race is caught every time: {wrong:?}");
    assert!(racy[0].1.contains("10 of 10"), "{racy:?}");
}
