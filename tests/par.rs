//! The opt-in PAR case that waits, run both ways on the reference provider (a
//! short `request_uri` lifetime keeps it short): a `request_uri` sent after
//! its `expires_in` is refused, and the check fires where it outlives it. The
//! other PAR cases run in the detection matrix.

use oidc_conform::check::{CheckResult, Status};
use oidc_conform::reference::{Config, Quirk};

use crate::util::{case_checks, verdict};

/// The verdicts of `par::request-uri-expiry` with the profile opted in to
/// waits, on a provider whose request_uris live `ttl` seconds.
fn verdicts(ttl: u64, quirks: &[Quirk]) -> Vec<CheckResult> {
    let config = Config {
        par_ttl_secs: ttl,
        ..crate::util::with_quirks(quirks)
    };
    case_checks("par", config, |p| p.waits = true, "request-uri-expiry")
}

#[test]
fn an_expired_request_uri_is_refused() {
    let checks = verdicts(2, &[]);
    let c = verdict(&checks, "par.expiry");
    assert_eq!(c.status, Status::Pass, "{}", c.message);
    assert!(c.message.contains("expires_in had passed"), "{}", c.message);
    // The correct push after the wait still goes through.
    assert_eq!(verdict(&checks, "par.authorization").status, Status::Pass);

    let checks = verdicts(2, &[Quirk::ParRequestUriUnbounded]);
    let c = verdict(&checks, "par.expiry");
    assert_eq!(c.status, Status::Fail, "{}", c.message);
    assert!(c.found.as_deref().is_some_and(|f| f.contains("sign-in")), "{c:?}");
}

#[test]
fn the_expiry_case_waits_only_where_the_profile_opts_in() {
    let mut profile = oidc_conform::run::reference_profile("http://127.0.0.1:9").expect("the reference profile loads");
    for waits in [false, true] {
        profile.waits = waits;
        let cases = oidc_conform::run::load_cases(&[crate::util::root().join("suites/par.yaml")], &profile).expect("the suite loads");
        let case = cases
            .iter()
            .find(|c| c.name == "request-uri-expiry")
            .expect("the suite has the case");
        match &case.skip {
            Some(why) if !waits => assert!(why.contains("waits"), "{why}"),
            skip => assert!(skip.is_none() == waits, "waits: {waits}, skip: {skip:?}"),
        }
    }
}
