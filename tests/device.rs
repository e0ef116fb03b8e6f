//! The opt-in device grant cases that wait, run both ways on the reference
//! provider (a short device code lifetime keeps the expiry case short): a poll
//! after `expires_in` gets `expired_token` (and the check fires when the codes
//! never expire); a poll sent faster than the interval gets `slow_down`, after
//! which the harness polls 5 s slower and the grant completes (and the check
//! fires when a fast poll ends the grant). The other device cases run in the
//! detection matrix.

use oidc_conform::check::{CheckResult, Status};
use oidc_conform::reference::{Config, Quirk};

use crate::util::{case_checks, verdict};

/// The verdicts of `device::{name}` with the profile opted in to waits, on
/// a provider whose device codes live `ttl` seconds.
fn verdicts(name: &str, ttl: u64, quirks: &[Quirk]) -> Vec<CheckResult> {
    let config = Config {
        device_code_ttl_secs: ttl,
        ..crate::util::with_quirks(quirks)
    };
    case_checks("device", config, |p| p.waits = true, name)
}

#[test]
fn an_expired_device_code_is_refused_as_expired() {
    let checks = verdicts("device-code-expiry", 3, &[]);
    let c = verdict(&checks, "device.expired");
    assert_eq!(c.status, Status::Pass, "{}", c.message);
    assert!(c.message.contains("expired_token"), "{}", c.message);

    let checks = verdicts("device-code-expiry", 3, &[Quirk::DeviceCodeUnbounded]);
    let c = verdict(&checks, "device.expired");
    assert_eq!(c.status, Status::Fail, "{}", c.message);
    assert!(c.message.contains("still live"), "{}", c.message);
}

#[test]
fn slow_down_is_honoured_and_a_fast_poll_that_ends_the_grant_is_a_warning() {
    let checks = verdicts("device-slow-down", 30, &[]);
    let c = verdict(&checks, "device.slow_down");
    assert_eq!(c.status, Status::Pass, "{}", c.message);
    assert!(c.message.contains("every 6 s"), "{}", c.message);
    assert_eq!(verdict(&checks, "device.tokens").status, Status::Pass);

    let checks = verdicts("device-slow-down", 30, &[Quirk::DeviceFastPollDenied]);
    let c = verdict(&checks, "device.slow_down");
    assert_eq!(c.status, Status::Warn, "{}", c.message);
    assert!(c.message.contains("access_denied"), "{}", c.message);
    assert_eq!(verdict(&checks, "device.tokens").status, Status::Skip);
}
