//! Client authentication with JWTs (OIDC Core §9; RFC 7523 §3): once the
//! case's client (registered for `private_key_jwt` or `client_secret_jwt`) has
//! its tokens, refresh requests each carry an assertion with one fault, and
//! each refused one is followed by a conformant request, which must still get
//! tokens: a rejection is told apart from a client that no longer works.

use super::assertion::{self, Fault};
use super::{EndpointAnswer, Evidence, Provider, client_of, http};
use crate::profile::ClientAuth;
use crate::secret::Secret;
use crate::suite::Case;

/// One assertion sent, and what came of it.
#[derive(Clone, Debug)]
pub struct AssertionTry {
    pub fault: Fault,
    /// The assertion was one the provider had already accepted (same `jti`).
    pub replay: bool,
    pub answer: EndpointAnswer,
    /// The provider issued tokens for it.
    pub issued: bool,
    /// After a refusal, the conformant request: `Some(true)` when it got tokens.
    pub control: Option<bool>,
}

/// What the client-assertion probes saw.
#[derive(Clone, Debug, Default)]
pub struct ClientAssertions {
    pub method: Option<ClientAuth>,
    pub tries: Vec<AssertionTry>,
    /// The case's first token request refused the token endpoint URL as the
    /// audience (this answer), and took the issuer.
    pub token_endpoint_refused: Option<String>,
}

/// The faults sent, in order: the other audience form first, then the negatives.
pub const FAULTS: &[Fault] = &[
    Fault::IssuerAudience,
    Fault::WrongAudience,
    Fault::Expired,
    Fault::NoExpiry,
    Fault::WrongIssuer,
    Fault::WrongSubject,
    Fault::BadSignature,
    Fault::AlgNone,
];

/// The probes, on the case's latest refresh token.
pub(super) async fn probe(p: &Provider, case: &Case, ev: &mut Evidence) -> Result<(), String> {
    let method = case.auth;
    let client = client_of(p, case);
    if !method.is_jwt() {
        return Err(format!(
            "client `{}` authenticates with `{}`, not with a JWT: the client-assertion probes need a client registered for private_key_jwt or client_secret_jwt",
            case.client,
            method.as_str()
        ));
    }
    let Some(mut rt) = ev.token_sets.iter().rev().find_map(|s| s.refresh_token.clone()) else {
        ev.not_applicable = Some(
            "the provider issued no refresh token to send the assertions with (it may not grant `offline_access` to this client)".into(),
        );
        return Ok(());
    };
    let aud = audiences(p, ev)?;
    let mut seen = ClientAssertions {
        method: Some(method),
        tries: Vec::new(),
        token_endpoint_refused: ev.assertion_audience_refused.clone(),
    };
    for &fault in FAULTS {
        // With the issuer as the base audience, that form is proven already.
        if fault == Fault::IssuerAudience && seen.token_endpoint_refused.is_some() {
            continue;
        }
        let jwt = assertion::make(client, method, &aud, fault)?;
        // Another `sub` goes without `client_id`: the assertion alone names
        // the client (RFC 7521 §4.2 leaves the error for a client_id that
        // differs from it open).
        let (answer, issued) = send(p, case, &mut rt, &jwt, fault.describe(), fault != Fault::WrongSubject, ev).await?;
        let control = if issued { None } else { Some(control(p, case, &mut rt, ev).await?) };
        seen.tries.push(AssertionTry {
            fault,
            replay: false,
            answer,
            issued,
            control,
        });
    }
    // RFC 7523 §3 item 7: the server MAY keep the `jti`s it saw; OIDC Core §9
    // binds the client to use each assertion once.
    let jwt = assertion::make(client, method, &aud, Fault::None)?;
    let (_, first) = send(p, case, &mut rt, &jwt, "a conformant assertion", true, ev).await?;
    if first {
        let (answer, issued) = send(
            p,
            case,
            &mut rt,
            &jwt,
            "the same assertion again (its `jti` already used)",
            true,
            ev,
        )
        .await?;
        let control = if issued { None } else { Some(control(p, case, &mut rt, ev).await?) };
        seen.tries.push(AssertionTry {
            fault: Fault::None,
            replay: true,
            answer,
            issued,
            control,
        });
    }
    ev.client_assertions = Some(seen);
    Ok(())
}

/// The audiences of the case's assertions: the token endpoint URL as the
/// base, unless the provider refused it at the case's first request.
fn audiences(p: &Provider, ev: &Evidence) -> Result<assertion::Audiences, String> {
    let token_endpoint = p.endpoint("token_endpoint")?;
    Ok(assertion::Audiences::new(
        token_endpoint.as_str(),
        &p.discovery.issuer,
        ev.assertion_audience_refused.is_some(),
    ))
}

/// A conformant request: whether it got tokens.
async fn control(p: &Provider, case: &Case, rt: &mut Secret, ev: &mut Evidence) -> Result<bool, String> {
    let client = client_of(p, case);
    let jwt = assertion::make(client, case.auth, &audiences(p, ev)?, Fault::None)?;
    Ok(send(p, case, rt, &jwt, "a conformant assertion (the control)", true, ev).await?.1)
}

/// A refresh request authenticated by `jwt`; a new refresh token it issues
/// replaces `rt`. The answer, and whether it issued tokens.
async fn send(
    p: &Provider,
    case: &Case,
    rt: &mut Secret,
    jwt: &Secret,
    what: &str,
    with_client_id: bool,
    ev: &mut Evidence,
) -> Result<(EndpointAnswer, bool), String> {
    let url = p.endpoint("token_endpoint")?;
    p.check_transport(&url, "client assertion")?;
    let client = client_of(p, case);
    let mut form = vec![
        ("grant_type".to_owned(), "refresh_token".to_owned()),
        ("refresh_token".to_owned(), rt.expose().to_owned()),
    ];
    form.extend(assertion::form_fields(with_client_id.then_some(client.id.as_str()), jwt));
    ev.sent_assertions.push(jwt.clone());
    let req = p.http.post(url.clone()).form(&form);
    let sent = super::exchange::Sent {
        form: &form,
        ..super::exchange::Sent::new("POST", &url)
    };
    let answer = http::send(&p.guard, req, &url, &p.limits).await;
    let resp = super::exchange::recorded(p, ev, crate::report::exchange::Step::Token, Some(what), &sent, answer)?;
    let status = resp.status.as_u16();
    let json = match resp.json() {
        Ok(serde_json::Value::Object(o)) => Some(o),
        _ => None,
    };
    let issued = resp.status.is_success() && json.as_ref().is_some_and(|j| j.get("access_token").is_some_and(|a| a.is_string()));
    if issued && let Some(new) = json.as_ref().and_then(|j| j.get("refresh_token")).and_then(|r| r.as_str()) {
        *rt = Secret::new(new.to_owned());
    }
    let error = json
        .as_ref()
        .and_then(|o| o.get("error"))
        .and_then(|e| e.as_str())
        .map(|e| crate::report::escape::escape_controls(e).chars().take(100).collect::<String>());
    ev.step(format!(
        "POST {} grant_type=refresh_token, {} with {what} → {status}{}",
        http::redact_url(&url),
        case.auth.as_str(),
        error.as_deref().map(|e| format!(" {e}")).unwrap_or_default()
    ));
    Ok((
        EndpointAnswer {
            status,
            error,
            // Only the error is kept: a success carries tokens.
            json: None,
            www_authenticate: resp.header("www-authenticate").map(str::to_owned),
        },
        issued,
    ))
}
