//! The detection matrix: the shipped suites against the reference provider with
//! each quirk switched on fail exactly the expected built-in check ids, and
//! against the clean provider fail none.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::StreamExt;

use oidc_conform::check::Status;
use oidc_conform::flow::Provider;
use oidc_conform::reference::{DETECTS, Quirk, ReferenceProvider};
use oidc_conform::run;

use crate::util::root;

/// Runs every shipped case against a reference provider with `quirks`; returns
/// the failing built-in check ids and any harness errors (besides negative cases
/// that could not reach their step because the provider refused an earlier one).
async fn failing_checks(quirks: &[Quirk]) -> (BTreeSet<String>, Vec<String>) {
    failing_checks_with(crate::util::with_quirks(quirks)).await
}

/// [`failing_checks`] against a reference provider configured as `config`.
async fn failing_checks_with(config: oidc_conform::reference::Config) -> (BTreeSet<String>, Vec<String>) {
    let rp = ReferenceProvider::start(config).await.expect("the reference provider starts");
    let profile = run::reference_profile(rp.issuer()).expect("the reference profile loads");
    let mut cases = run::load_cases(&[root().join("suites")], &profile).expect("the shipped suites load");
    // The cases that run alone first, one after another, while nothing else
    // waits in their queue: the run is then as long as they are plus the
    // longest of the rest, instead of each of them waiting out the slowest
    // case started before it.
    cases.sort_by_key(|c| !c.needs_session_alone());
    let provider = Arc::new(
        Provider::connect(profile, Default::default(), false, None)
            .await
            .expect("discovery and JWKS load"),
    );
    // At most 16 cases at once, as a run with `--jobs 16` would: a burst of
    // every case at once (debug-build signing included) can keep a loaded
    // machine from answering within the profile's timeouts.
    let permits = Arc::new(tokio::sync::Semaphore::new(16));
    let mut set = tokio::task::JoinSet::new();
    for case in cases {
        let (provider, permits) = (provider.clone(), permits.clone());
        set.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("the semaphore stays open");
            run::run_case(&provider, &case).await
        });
    }
    let mut failing = BTreeSet::new();
    let mut errors = Vec::new();
    while let Some(report) = set.join_next().await {
        let report = report.expect("a case task completes");
        for c in &report.checks {
            match c.status {
                // A failed SHOULD is reported as a warning: it still fired.
                Status::Fail | Status::Warn if !c.id.starts_with("assert.") => {
                    failing.insert(c.id.clone());
                }
                // A refusal case (negative or probe) that could not reach its step.
                Status::Error if c.message.contains("did not reach the request under test") => {}
                Status::Error => errors.push(format!("{}: {} {}", report.id, c.id, c.message)),
                _ => {}
            }
        }
    }
    rp.shutdown().await;
    (failing, errors)
}

#[test]
fn every_quirk_fails_exactly_its_checks() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (clean, errors) = rt.block_on(failing_checks(&[]));
    assert!(
        clean.is_empty() && errors.is_empty(),
        "the clean provider fails nothing: {clean:?} {errors:?}"
    );

    let listed: BTreeSet<&str> = DETECTS.iter().map(|(q, _)| *q).collect();
    let all: BTreeSet<&str> = Quirk::ALL.iter().map(|q| q.name()).collect();
    assert_eq!(listed, all, "every quirk has a row in the matrix");

    // Six providers at a time: each run spends most of its wall time waiting
    // (`session::prompt-login` waits a second for `auth_time` to move, the
    // device grant polls a second apart, the session cases run one at a time).
    let results: Vec<(&str, BTreeSet<String>, Vec<String>)> = rt.block_on(
        futures_util::stream::iter(DETECTS.iter().map(|(name, _)| async move {
            let quirk: Quirk = name.parse().unwrap();
            let (got, errors) = failing_checks(&[quirk]).await;
            (*name, got, errors)
        }))
        .buffer_unordered(6)
        .collect(),
    );
    let mut wrong = Vec::new();
    for (name, got, errors) in results {
        let expected = DETECTS.iter().find(|(n, _)| *n == name).map(|(_, e)| *e).unwrap_or_default();
        let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
        if got != expected || !errors.is_empty() {
            wrong.push(format!("{name}: expected {expected:?}, got {got:?}, errors {errors:?}"));
        }
    }
    wrong.sort();
    assert!(wrong.is_empty(), "detection matrix mismatches:\n{}", wrong.join("\n"));
}

/// A provider that takes authorization requests only pushed (RFC 9126 §5:
/// `require_pushed_authorization_requests`) gets every one pushed, the
/// logout probes' `prompt=none` requests included: the shipped suites fail
/// nothing there either (a request the harness sent unpushed would be refused).
#[test]
fn a_provider_that_takes_only_pushed_requests_gets_every_request_pushed() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let config = oidc_conform::reference::Config {
        require_par: true,
        ..Default::default()
    };
    let (failing, errors) = rt.block_on(failing_checks_with(config));
    assert!(
        failing.is_empty() && errors.is_empty(),
        "a provider that requires pushed requests fails nothing: {failing:?} {errors:?}"
    );
}

#[test]
fn every_catalogue_check_can_fire() {
    // Checks no quirk can provoke through the shipped suites (they guard input
    // shapes the reference provider never produces) are listed here with the reason.
    let unreachable: &[&str] = &[
        "flow.supported", // a skip, never a failure: proven by discovery-minimal in tests/flows.rs
        // Off in the reference profile (its implicit and hybrid flows with tokens are there
        // on purpose): proven against the same provider with it on in tests/security.rs.
        "metadata.deprecated_flows",
        // Opt-in (it waits): proven with and without `code-lifetime-unbounded` in tests/security.rs.
        "code.lifetime",
        // Opt-in (it waits): proven with and without `max-age-ignored` in tests/session.rs.
        "max_age.reauth",
        // Opt-in (they wait): proven with and without `device-code-unbounded`
        // and `device-fast-poll-denied` in tests/device.rs.
        "device.expired",
        "device.slow_down",
        // Opt-in (it waits): proven with and without `par-request-uri-unbounded` in tests/par.rs.
        "par.expiry",
        // The reference provider's DPoP nonce mode is off in the matrix: proven
        // with and without `dpop-nonce-unchecked` and `dpop-nonce-downgrade` in tests/dpop_nonce.rs.
        "dpop.nonce_checked",
        "dpop.nonce_required",
        // Rules that bind the client: a provider going along is noted (a skip), never failed.
        "token_endpoint.post_only",
        "token_endpoint.credentials_in_query",
        "userinfo.token_in_query",
        "assert.id_token", // the suite's own assertions, not built-in checks
        "assert.access_token",
        "assert.userinfo",
        "assert.token_response",
    ];
    let fired: BTreeSet<&str> = DETECTS.iter().flat_map(|(_, ids)| ids.iter().copied()).collect();
    let missing: Vec<&str> = oidc_conform::check::catalogue::CATALOGUE
        .iter()
        .map(|c| c.id)
        .filter(|id| !fired.contains(id) && !unreachable.contains(id))
        .collect();
    assert!(missing.is_empty(), "catalogue checks with no quirk in the matrix: {missing:?}");
}
