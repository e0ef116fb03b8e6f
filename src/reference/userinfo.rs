//! `GET` and `POST /userinfo` (OIDC Core §5.3), bearer tokens per RFC 6750.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::discovery::OIDC_SCOPES;
use super::issue::{has, user_claims};
use super::params::{Params, is_form};
use super::store::{TokenKind, token_key};
use super::{Quirk, Shared, UserReg};

/// The bearer token of an `Authorization: Bearer` header: `None` without
/// one, `Some(None)` when the header is not a usable bearer credential.
fn bearer(headers: &HeaderMap) -> Option<Option<String>> {
    let value = headers.get(AUTHORIZATION)?;
    let parsed = value.to_str().ok().and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        let token = token.trim();
        (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
    });
    Some(parsed)
}

/// How the access token came: as a bearer token, or in the DPoP scheme
/// with the request's headers (its proof) and method (RFC 9449 §7.1).
#[derive(Clone, Copy)]
enum Presented<'a> {
    Bearer,
    Dpop { headers: &'a HeaderMap, method: &'static str },
}

/// The token of an `Authorization: DPoP` header (RFC 9449 §7.1; the scheme
/// name is case-insensitive), unless the quirk refuses the scheme.
fn dpop_token(shared: &Shared, headers: &HeaderMap) -> Option<String> {
    if shared.quirk(Quirk::DpopUserinfoRefused) {
        return None;
    }
    let (scheme, token) = headers.get(AUTHORIZATION)?.to_str().ok()?.trim().split_once(' ')?;
    let token = token.trim();
    let named = if shared.quirk(Quirk::DpopSchemeCaseSensitive) {
        scheme == "DPoP"
    } else {
        scheme.eq_ignore_ascii_case("dpop")
    };
    (named && !token.is_empty()).then(|| token.to_owned())
}

/// What the `userinfo-rejects-access-token` quirk answers to every request.
fn rejected_by_quirk() -> Response {
    invalid_token("the access token is not accepted")
}

pub(crate) async fn userinfo_get(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap) -> Response {
    // RFC 6750 §2.3: a token in the URL query is taken only under the quirk.
    if shared.quirk(Quirk::UserinfoTokenInQueryAccepted)
        && bearer(&headers).is_none()
        && let Some(token) = uri
            .query()
            .and_then(|q| Params::parse(q.as_bytes()).get("access_token").map(str::to_owned))
    {
        return without_challenge_by_quirk(&shared, answer(&shared, Some(&token)));
    }
    let response = userinfo_get_inner(&shared, &headers);
    without_challenge_by_quirk(&shared, response)
}

/// Quirk `userinfo-no-challenge`: 401s go out without `WWW-Authenticate`.
/// Quirk `userinfo-invalid-request`: an `invalid_token` error goes out as
/// `invalid_request`. Quirk `userinfo-invalid-token-400`: with HTTP 400.
fn without_challenge_by_quirk(shared: &Shared, mut response: Response) -> Response {
    let invalid_token = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(r#"error="invalid_token""#));
    if invalid_token && shared.quirk(Quirk::UserinfoInvalidToken400) {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    if invalid_token && shared.quirk(Quirk::UserinfoInvalidRequest) {
        response = error(StatusCode::UNAUTHORIZED, "invalid_request", "the access token is not accepted");
    }
    if shared.quirk(Quirk::UserinfoNoChallenge) && response.status() == StatusCode::UNAUTHORIZED {
        response.headers_mut().remove(WWW_AUTHENTICATE);
    }
    response
}

fn userinfo_get_inner(shared: &Shared, headers: &HeaderMap) -> Response {
    if shared.quirk(Quirk::UserinfoRejectsAccessToken) {
        return rejected_by_quirk();
    }
    if let Some(token) = dpop_token(shared, headers) {
        return answer_as(shared, Some(&token), Presented::Dpop { headers, method: "GET" });
    }
    match bearer(headers) {
        None => answer(shared, None),
        Some(None) => invalid_token("the Authorization header is not a bearer token"),
        Some(Some(token)) => answer(shared, Some(&token)),
    }
}

pub(crate) async fn userinfo_post(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let response = userinfo_post_inner(&shared, &headers, &body);
    without_challenge_by_quirk(&shared, response)
}

fn userinfo_post_inner(shared: &Shared, headers: &HeaderMap, body: &Bytes) -> Response {
    if shared.quirk(Quirk::UserinfoRejectsAccessToken) {
        return rejected_by_quirk();
    }
    if let Some(token) = dpop_token(shared, headers) {
        return answer_as(shared, Some(&token), Presented::Dpop { headers, method: "POST" });
    }
    let form_token = if is_form(headers) {
        Params::parse(body).get("access_token").map(str::to_owned)
    } else {
        None
    };
    match (bearer(headers), form_token) {
        (Some(_), Some(_)) => error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send the access token in one place only",
        ),
        (Some(None), None) => invalid_token("the Authorization header is not a bearer token"),
        (Some(Some(token)), None) | (None, Some(token)) => answer(shared, Some(&token)),
        (None, None) => answer(shared, None),
    }
}

fn answer(shared: &Shared, token: Option<&str>) -> Response {
    answer_as(shared, token, Presented::Bearer)
}

fn answer_as(shared: &Shared, token: Option<&str>, presented: Presented<'_>) -> Response {
    let Some(token) = token else {
        if shared.quirk(Quirk::UserinfoWithoutTokenAccepted) {
            let user = shared.user("jane").or_else(|| shared.config.users.first());
            if let Some(user) = user {
                let scopes: Vec<String> = OIDC_SCOPES.iter().map(|s| (*s).to_owned()).collect();
                return claims_response(shared, user, &scopes, &[]);
            }
        }
        // RFC 6750 §3.1: no error code when no credentials were sent.
        let mut response = (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({
                "error": "invalid_request",
                "error_description": "a bearer access token is required"
            })),
        )
            .into_response();
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer realm="oidc-conform-reference""#),
        );
        return response;
    };

    let record = {
        let now = Instant::now();
        shared.store().tokens.get_mut(&token_key(token), now).cloned()
    };
    let Some(record) = record else {
        return invalid_token("the access token is unknown, expired or revoked");
    };
    if record.kind == TokenKind::Id && !shared.quirk(Quirk::UserinfoAcceptsIdToken) {
        return invalid_token("an ID token is not an access token");
    }
    // RFC 9449 §7.1, §7.2: a bound token only in the DPoP scheme, with a valid
    // proof of its key; never as a bearer token.
    match (record.jkt.as_deref(), presented) {
        (Some(jkt), Presented::Dpop { headers, method }) => match super::dpop::check(shared, headers, method, "/userinfo", Some(token)) {
            Ok(Some(key)) if key == jkt || shared.quirk(Quirk::DpopUserinfoAnyKey) => {}
            Ok(Some(_)) => return dpop_error(shared, "invalid_token", "the DPoP proof is of another key than the token's"),
            Ok(None) => return dpop_error(shared, "invalid_dpop_proof", "a DPoP-bound access token needs a DPoP proof"),
            Err(why) => return dpop_error(shared, "invalid_dpop_proof", &why),
        },
        (Some(_), Presented::Bearer) if !shared.quirk(Quirk::DpopBearerAccepted) => {
            return dpop_error(shared, "invalid_token", "a DPoP-bound access token is not a bearer token");
        }
        (None, Presented::Dpop { .. }) => return invalid_token("the access token is not DPoP-bound"),
        _ => {}
    }
    let user = record.username.as_deref().and_then(|u| shared.user(u));
    let (Some(user), true) = (user, has(&record.scopes, "openid")) else {
        return error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the access token does not carry the openid scope of a user",
        );
    };
    let signed_for = shared
        .client(&record.client_id)
        .filter(|c| c.meta.userinfo_alg.is_some() && !shared.quirk(Quirk::SignedUserinfoIgnored));
    let claims = claims_of(shared, user, &record.scopes, &record.asked);
    match signed_for {
        Some(client) => signed(shared, claims, &client.id),
        None => json_response(claims),
    }
}

/// OIDC Core §5.3.2: the claims as an RS256 JWT (`application/jwt`) with
/// `iss` and `aud`, for a client registered with `userinfo_signed_response_alg`.
fn signed(shared: &Shared, mut claims: serde_json::Map<String, Value>, client_id: &str) -> Response {
    claims.insert("iss".into(), json!(shared.issuer));
    claims.insert("aud".into(), json!(client_id));
    let Ok(jwt) = shared.keys.sign("JWT", &Value::Object(claims), super::keys::SignMode::Normal) else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the userinfo response could not be signed",
        );
    };
    let mut response = jwt.into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/jwt"));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn claims_response(shared: &Shared, user: &UserReg, scopes: &[String], asked: &[String]) -> Response {
    json_response(claims_of(shared, user, scopes, asked))
}

fn claims_of(shared: &Shared, user: &UserReg, scopes: &[String], asked: &[String]) -> serde_json::Map<String, Value> {
    let mut sub = shared.subject(user);
    if shared.quirk(Quirk::UserinfoSubDiffers) {
        sub.push_str("-other");
    }
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), json!(sub));
    claims.extend(user_claims(shared, user, scopes));
    claims.extend(super::issue::asked_claims(user, asked));
    claims
}

fn json_response(claims: serde_json::Map<String, Value>) -> Response {
    let mut response = axum::Json(Value::Object(claims)).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn invalid_token(description: &str) -> Response {
    error(StatusCode::UNAUTHORIZED, "invalid_token", description)
}

/// An RFC 9449 §7.1 error: 401, JSON body plus `WWW-Authenticate: DPoP
/// error=…, algs=…`.
fn dpop_error(shared: &Shared, code: &str, description: &str) -> Response {
    let algs = super::dpop::ALGS.join(" ");
    let challenge = if shared.quirk(Quirk::DpopChallengeBare) {
        r#"DPoP realm="oidc-conform-reference""#.to_owned()
    } else {
        format!(r#"DPoP error="{code}", error_description="{description}", algs="{algs}""#)
    };
    let body = json!({"error": code, "error_description": description});
    let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

/// An RFC 6750 §3 error: JSON body plus `WWW-Authenticate: Bearer error=…`.
fn error(status: StatusCode, code: &str, description: &str) -> Response {
    let challenge = format!(r#"Bearer error="{code}", error_description="{description}""#);
    let mut response = (status, axum::Json(json!({"error": code, "error_description": description}))).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use crate::reference::{Config, Quirk, ReferenceProvider};
    use reqwest::StatusCode;
    use serde_json::Value;

    /// An implicit `id_token token` flow: (access token, ID token).
    async fn tokens(provider: &ReferenceProvider, scope: &str) -> (String, String) {
        let got = browse_ok(
            provider,
            &[
                ("client_id", WEB),
                ("redirect_uri", WEB_CALLBACK),
                ("response_type", "id_token token"),
                ("scope", scope),
                ("nonce", "n"),
            ],
        )
        .await;
        (got["access_token"].clone(), got["id_token"].clone())
    }

    #[tokio::test]
    async fn bearer_rules() {
        let provider = start(Config::default()).await;
        let url = format!("{}/userinfo", provider.issuer());
        let (access, _) = tokens(&provider, "openid email").await;

        let response = userinfo(&provider, None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        let response = userinfo(&provider, Some("garbage")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer error="invalid_token", error_description="the access token is unknown, expired or revoked""#
        );

        // POST with the token in the form body, or in the header.
        let info: Value = http()
            .post(&url)
            .form(&[("access_token", access.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(info["email"], "jane@example.test");
        assert!(info.get("name").is_none());
        let response = http().post(&url).bearer_auth(&access).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        // Both at once is a bad request.
        let response = http()
            .post(&url)
            .bearer_auth(&access)
            .form(&[("access_token", access.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);

        // A client-credentials token has no openid scope.
        let (_, body, _) = token_request(
            &provider,
            &[("grant_type", "client_credentials"), ("audience", HEALTH)],
            Some((M2M, M2M_SECRET)),
        )
        .await;
        let response = userinfo(&provider, body["access_token"].as_str()).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("insufficient_scope")
        );
    }

    #[tokio::test]
    async fn userinfo_quirks() {
        let provider = start_with(&[
            Quirk::UserinfoAcceptsIdToken,
            Quirk::UserinfoSubDiffers,
            Quirk::UserinfoWithoutTokenAccepted,
        ])
        .await;
        let (_, id_token) = tokens(&provider, "openid profile").await;
        let response = userinfo(&provider, Some(&id_token)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let info: Value = response.json().await.unwrap();
        assert_eq!(info["sub"], "auth0|jane-0001-other");
        assert_eq!(info["name"], "Jane Doe");

        let response = userinfo(&provider, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let info: Value = response.json().await.unwrap();
        assert_eq!(info["email"], "jane@example.test");
    }

    #[tokio::test]
    async fn userinfo_rejects_access_token_quirk() {
        let provider = start_with(&[Quirk::UserinfoRejectsAccessToken]).await;
        let url = format!("{}/userinfo", provider.issuer());
        let (access, id_token) = tokens(&provider, "openid email").await;
        let requests = [
            http().get(&url).bearer_auth(&access),
            http().post(&url).bearer_auth(&access),
            http().post(&url).form(&[("access_token", access.as_str())]),
            http().get(&url).bearer_auth(&id_token),
            http().get(&url),
        ];
        for request in requests {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
            assert!(challenge.starts_with(r#"Bearer error="invalid_token""#), "{challenge}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "invalid_token");
        }
        // The token itself is fine: it is a verifiable JWT when an API is named.
        let got = browse_ok(
            &provider,
            &[
                ("client_id", WEB),
                ("redirect_uri", WEB_CALLBACK),
                ("response_type", "id_token token"),
                ("scope", "openid"),
                ("nonce", "n"),
                ("audience", HEALTH),
            ],
        )
        .await;
        let at = verify(&provider, &got["access_token"]).await;
        assert_eq!(at["sub"], "auth0|jane-0001");
    }
}
