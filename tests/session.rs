//! The opt-in cases that wait, run both ways on the reference provider:
//! `max_age` expiry re-authenticates the user (and the check fires when the
//! provider ignores `max_age`); a code reused 30 s after its redemption is
//! refused (and the case fails when the provider accepts reuse). The other
//! session cases run in the detection matrix.

use oidc_conform::check::Status;
use oidc_conform::reference::Quirk;
use oidc_conform::run;

use crate::util::{root, run_suite_case};

/// `max_age.reauth` of `session::max-age-1`, with the profile opted in to waits.
fn max_age_verdict(quirks: &[Quirk]) -> (Status, String) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let config = crate::util::with_quirks(quirks);
    let report = rt
        .block_on(run_suite_case("session", config, |p| p.waits = true, "max-age-1", 1))
        .remove(0);
    let check = report
        .checks
        .iter()
        .find(|c| c.id == "max_age.reauth")
        .unwrap_or_else(|| panic!("no max_age.reauth verdict: {:?}", report.checks));
    (check.status, check.message.clone())
}

#[test]
fn max_age_expiry_re_authenticates() {
    let (status, message) = max_age_verdict(&[]);
    assert_eq!(status, Status::Pass, "{message}");
    assert!(
        message.contains("login form was shown again") && message.contains("moved"),
        "{message}"
    );

    let (status, message) = max_age_verdict(&[Quirk::MaxAgeIgnored]);
    assert_eq!(status, Status::Fail, "{message}");
    assert!(message.contains("without showing the login form"), "{message}");
}

#[test]
fn a_slow_case_is_skipped_unless_the_profile_opts_in() {
    let profile = run::reference_profile("http://127.0.0.1:1").expect("the reference profile loads");
    let cases = run::load_cases(&[root().join("suites/session.yaml")], &profile).expect("the suite loads");
    let slow = cases.iter().find(|c| c.name == "max-age-1").expect("the suite has max-age-1");
    let why = slow.skip.as_deref().expect("skipped without waits");
    assert!(why.contains("waits: true") && why.contains("--waits"), "{why}");
    assert!(cases.iter().filter(|c| c.name != "max-age-1").all(|c| c.skip.is_none()));
}

#[test]
fn a_code_reused_after_30_seconds_is_refused() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let verdict = |quirks: &[Quirk]| {
        let config = crate::util::with_quirks(quirks);
        async move {
            let report = run_suite_case("negative", config, |p| p.waits = true, "code-reuse-30s", 1)
                .await
                .remove(0);
            let check = report.checks.iter().find(|c| c.id == "negative.refused").cloned();
            (
                report.trace.iter().any(|t| t.contains("waiting 30 s")),
                check.expect("a negative.refused verdict"),
            )
        }
    };
    // Both at once: the waits overlap.
    let ((waited, clean), (_, faulty)) = rt.block_on(async { tokio::join!(verdict(&[]), verdict(&[Quirk::CodeReuseAccepted])) });
    assert!(waited, "the case waited before the reuse");
    assert_eq!(clean.status, Status::Pass, "{}", clean.message);
    assert_eq!(faulty.status, Status::Fail, "{}", faulty.message);
}

/// A provider that refuses its own faulty ID token as `id_token_hint` (here:
/// one whose signature does not verify) did not refuse a valid request: the
/// refusal is not a finding, and the fault is the ID token checks'. A sound
/// hint refused is still the provider's failure.
#[test]
fn a_refused_faulty_id_token_hint_is_not_a_finding() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let verdicts = |quirks: &[Quirk]| {
        let config = crate::util::with_quirks(quirks);
        let report = rt.block_on(run_suite_case("session", config, |_| {}, "id-token-hint", 1)).remove(0);
        report
            .checks
            .iter()
            .filter(|c| c.id == "flow.authorization" || c.id == "assert.id_token")
            .map(|c| (c.id.clone(), c.status, c.message.clone()))
            .collect::<Vec<_>>()
    };
    let faulty = verdicts(&[Quirk::IdTokenBadSignature]);
    assert!(!faulty.is_empty(), "the hint was refused, so the refusal has a verdict");
    for (id, status, message) in &faulty {
        assert_eq!(*status, Status::Skip, "{id}: {message}");
        assert!(
            message.contains("not a finding") && message.contains("its signature does not verify"),
            "{id}: {message}"
        );
    }
    let sound = verdicts(&[]);
    assert!(sound.iter().all(|(_, s, _)| *s == Status::Pass), "{sound:?}");
}

/// While a session case runs (its sign-in to its judgement), no other case
/// signs the same user in; cases that are not session cases share the user;
/// client credentials take no lock.
#[test]
fn a_session_case_signs_its_user_in_alone() {
    use std::sync::Arc;
    use std::time::Duration;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let rp = oidc_conform::reference::ReferenceProvider::start(Default::default()).await.unwrap();
        let profile = run::reference_profile(rp.issuer()).unwrap();
        let suites = ["session", "basics", "flows"].map(|s| root().join(format!("suites/{s}.yaml")));
        let cases = run::load_cases(&suites, &profile).unwrap();
        let p = Arc::new(
            oidc_conform::flow::Provider::connect(profile, Default::default(), false, None)
                .await
                .unwrap(),
        );
        let session = cases.iter().find(|c| c.request.session.is_some()).expect("a session case").clone();
        let signs_in: Vec<_> = cases
            .iter()
            .filter(|c| c.request.session.is_none() && c.user == session.user && c.flow == oidc_conform::suite::Flow::Code)
            .take(2)
            .cloned()
            .collect();
        assert_eq!(signs_in.len(), 2);
        let machine = cases
            .iter()
            .find(|c| c.flow == oidc_conform::suite::Flow::ClientCredentials)
            .expect("a client-credentials case");
        assert!(p.session_hold(machine).await.is_none(), "client credentials sign no one in");

        // Two ordinary cases hold the user at once.
        let a = p.session_hold(&signs_in[0]).await.expect("a sign-in case takes the lock");
        let b = tokio::time::timeout(Duration::from_secs(30), p.session_hold(&signs_in[1])).await;
        assert!(b.as_ref().is_ok_and(Option::is_some), "ordinary cases share the user");
        drop((a, b));

        // A session case holds it alone: an ordinary case waits until it ends.
        let alone = p.session_hold(&session).await.expect("a session case takes the lock");
        let waiting = tokio::spawn({
            let (p, case) = (p.clone(), signs_in[0].clone());
            async move { p.session_hold(&case).await.is_some() }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiting.is_finished(), "no other sign-in of the user while a session case runs");
        drop(alone);
        assert!(waiting.await.unwrap(), "the ordinary case goes on once the session case ends");
    });
}
