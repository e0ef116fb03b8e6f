//! Front-channel logout (OIDC Front-Channel Logout 1.0), judged on the pages
//! the browser went through during a correct logout of a client registered
//! with a `frontchannel_logout_uri`: the provider renders that URI in a frame
//! (§2), with `iss` and `sid` both or neither (§2), those of the issuer and of
//! the session that ended, and with the registered query kept (§2).

use serde_json::Value;
use url::Url;

use super::CheckResult;
use crate::flow::logout::Landing;
use crate::flow::{Evidence, Provider};

/// Every front-channel check the probe of `ev` can judge.
pub fn check(p: &Provider, ev: &Evidence, out: &mut Vec<CheckResult>) {
    let Some(seen) = &ev.logout else { return };
    let Some(registered) = seen.frontchannel_uri.as_deref().and_then(|u| Url::parse(u).ok()) else {
        return;
    };
    let id_token = super::last_id_token(ev);
    let id_sid = id_token.as_ref().and_then(|d| d.str_claim("sid")).filter(|s| !s.is_empty());
    let session_supported = p.discovery.frontchannel_logout_session_supported == Some(Value::Bool(true));
    // §3: "If supported, the sid Claim is also included in ID Tokens issued by the OP."
    if session_supported && let Some(idt) = &id_token {
        out.push(super::sid_in_id_token(
            "frontchannel.sid_in_id_token",
            "frontchannel_logout_session_supported",
            "OIDC Front-Channel Logout §3: \"If supported, the sid Claim is also included in ID Tokens issued by the OP\"",
            idt,
        ));
    }
    let went_through = seen.logout.as_ref().is_some_and(Landing::went_through);
    let frames: Vec<&Url> = seen
        .pages
        .iter()
        .flat_map(|page| page.frames.iter())
        .filter(|f| f.origin() == registered.origin() && f.path() == registered.path())
        .collect();
    let Some(frame) = frames.first() else {
        let expected = format!(
            "a page of the provider that renders <iframe src=\"{registered}\">, with `iss` and `sid` added or not (OIDC Front-Channel Logout §2, §3)"
        );
        out.push(if !went_through {
            CheckResult::skip(
                "frontchannel.rendered",
                "the logout did not go through, so no front-channel logout was due (logout.redirect says why)",
            )
        } else if seen.pages.iter().any(|page| page.scripted) {
            CheckResult::error(
                "frontchannel.rendered",
                format!(
                    "no page of the logout holds a frame for the client's frontchannel_logout_uri in its HTML, but {} run scripts, which may build the frame: the harness reads pages without running them and cannot tell",
                    if seen.pages.len() == 1 { "the page does" } else { "the pages do" }
                ),
            )
        } else {
            let found = match seen.pages.len() {
                0 => "the logout went straight to the post-logout redirect URI, through no page of the provider".to_owned(),
                n => {
                    let other: Vec<String> = seen.pages.iter().flat_map(|page| page.frames.iter()).map(|f| f.to_string()).collect();
                    format!(
                        "{n} page(s) of the provider, with {}",
                        if other.is_empty() {
                            "no frame".to_owned()
                        } else {
                            format!("frames for other addresses only: {}", other.join(", "))
                        }
                    )
                }
            };
            CheckResult::fail(
                "frontchannel.rendered",
                "the logout never rendered the client's frontchannel_logout_uri in a frame",
            )
            .ef(expected, found)
        });
        return;
    };
    out.push(CheckResult::pass(
        "frontchannel.rendered",
        format!(
            "the logout rendered the client's frontchannel_logout_uri in a frame{}",
            if frames.len() > 1 {
                format!(" ({} frames for it)", frames.len())
            } else {
                String::new()
            }
        ),
    ));
    let pairs: Vec<(String, String)> = frame.query_pairs().into_owned().collect();
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (iss, sid) = (get("iss"), get("sid"));
    out.push(session_params(iss, sid, session_supported));
    if let (Some(iss), Some(sid)) = (iss, sid) {
        out.push(values(iss, sid, &p.discovery.issuer, id_sid));
    }
    // §2: the registered query "MUST be retained when adding additional query parameters".
    let lost: Vec<String> = registered
        .query_pairs()
        .filter(|(k, v)| !pairs.iter().any(|(fk, fv)| fk == k && fv == v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    out.push(if lost.is_empty() {
        CheckResult::pass("frontchannel.query_kept", "the frame's URL keeps the query the client registered")
    } else {
        CheckResult::fail(
            "frontchannel.query_kept",
            "the frame's URL lost the query of the registered frontchannel_logout_uri",
        )
        .ef(
            format!(
                "the registered query ({}) kept, `iss` and `sid` added to it (OIDC Front-Channel Logout §2: it \"MUST be retained\")",
                registered.query().unwrap_or_default()
            ),
            format!("{frame} (missing {})", lost.join(", ")),
        )
    });
}

/// §2: `iss` and `sid` both or neither; both where the client registered
/// `frontchannel_logout_session_required` (which the harness does exactly
/// when discovery says `frontchannel_logout_session_supported`).
fn session_params(iss: Option<&str>, sid: Option<&str>, required: bool) -> CheckResult {
    const ID: &str = "frontchannel.session_params";
    match (iss, sid) {
        (Some(_), Some(_)) => CheckResult::pass(ID, "the frame's URL carries both `iss` and `sid`"),
        (None, None) if required => CheckResult::fail(
            ID,
            "the frame's URL carries neither `iss` nor `sid`, though the client registered frontchannel_logout_session_required and discovery says frontchannel_logout_session_supported",
        )
        .ef(
            "`iss` and `sid` on the frame's URL (OIDC Front-Channel Logout §2: frontchannel_logout_session_required; §3: the OP \"can pass iss and sid\")",
            "neither",
        ),
        (None, None) => CheckResult::pass(
            ID,
            "the frame's URL carries neither `iss` nor `sid` (allowed: the provider does not say it supports them)",
        ),
        (Some(_), None) | (None, Some(_)) => CheckResult::fail(ID, "the frame's URL carries one of `iss` and `sid` without the other").ef(
            "both or neither (OIDC Front-Channel Logout §2: \"if either is included, both MUST be\")",
            if iss.is_some() { "`iss` without `sid`" } else { "`sid` without `iss`" },
        ),
    }
}

/// §2: `iss` is the issuer identifier; `sid` the session that ended (the
/// `sid` of the ID token issued in it, where the ID token has one).
fn values(iss: &str, sid: &str, issuer: &str, id_sid: Option<&str>) -> CheckResult {
    const ID: &str = "frontchannel.values";
    let mut wrong = Vec::new();
    if iss != issuer {
        wrong.push(format!("`iss` is `{iss}`, not the issuer `{issuer}`"));
    }
    if let Some(expected) = id_sid
        && sid != expected
    {
        wrong.push(format!("`sid` is `{sid}`, not the ID token's `{expected}`"));
    }
    if !wrong.is_empty() {
        return CheckResult::fail(ID, "the frame's `iss` or `sid` names another issuer or another session").ef(
            "`iss` = the issuer identifier, `sid` = the session's identifier, the ID token's `sid` (OIDC Front-Channel Logout §2)",
            wrong.join("; "),
        );
    }
    CheckResult::pass(
        ID,
        if id_sid.is_some() {
            "the frame's `iss` is the issuer and its `sid` the ID token's"
        } else {
            "the frame's `iss` is the issuer (the ID token has no `sid` to compare the frame's with)"
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    #[test]
    fn iss_and_sid_come_together() {
        assert_eq!(session_params(Some("i"), Some("s"), true).status, Status::Pass);
        assert_eq!(session_params(None, None, false).status, Status::Pass);
        assert_eq!(session_params(None, None, true).status, Status::Fail);
        assert_eq!(session_params(Some("i"), None, false).status, Status::Fail);
        assert_eq!(session_params(None, Some("s"), true).status, Status::Fail);
    }

    #[test]
    fn the_frame_names_the_issuer_and_the_session_that_ended() {
        let op = "https://op.test";
        assert_eq!(values(op, "s1", op, Some("s1")).status, Status::Pass);
        assert_eq!(values(op, "s1", op, None).status, Status::Pass);
        assert_eq!(values(op, "s2", op, Some("s1")).status, Status::Fail);
        assert_eq!(values("https://other.test", "s1", op, Some("s1")).status, Status::Fail);
    }
}
