//! Session management (OIDC Session Management 1.0 §2): where discovery
//! offers a `check_session_iframe`, a successful authentication response
//! carries `session_state`, with no space in it. Judged in the case that names
//! `session_state.present`: one verdict per provider.

use super::CheckResult;
use crate::flow::Evidence;

/// The session-state checks of a successful authentication response.
pub fn check(ev: &Evidence, out: &mut Vec<CheckResult>) {
    let Some(response) = &ev.authorization_response else { return };
    if response.contains_key("error") {
        return;
    }
    let Some(state) = response.get("session_state") else {
        out.push(
            CheckResult::fail(
                "session_state.present",
                "the successful authentication response has no `session_state`, though discovery offers a check_session_iframe",
            )
            .ef(
                "a `session_state` parameter (OIDC Session Management §2: \"When the OP supports session management, it MUST also return the Session State\")",
                format!(
                    "the parameters {}",
                    response.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                ),
            ),
        );
        return;
    };
    out.push(CheckResult::pass(
        "session_state.present",
        "the successful authentication response carries `session_state`",
    ));
    out.push(format(state));
}

/// §2: the session state "MUST NOT contain the space (\" \") character".
fn format(state: &str) -> CheckResult {
    if state.is_empty() {
        CheckResult::fail("session_state.format", "`session_state` is empty").ef(
            "a string that represents the user's login state at the provider (OIDC Session Management §2)",
            "``",
        )
    } else if state.contains(' ') {
        CheckResult::fail("session_state.format", "`session_state` contains a space").ef(
            "no space character (OIDC Session Management §2: it \"MUST NOT contain the space\" character): the client sends it after its client id, separated by one space (§3.1)",
            format!("`{}`", state.chars().take(120).collect::<String>()),
        )
    } else {
        CheckResult::pass("session_state.format", "`session_state` has no space in it")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    #[test]
    fn a_session_state_has_no_space() {
        assert_eq!(format("3f2a9c.b1d4").status, Status::Pass);
        assert_eq!(format("3f2a9c b1d4").status, Status::Fail);
        assert_eq!(format("").status, Status::Fail);
    }
}
