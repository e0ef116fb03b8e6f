//! Dynamic client registration (RFC 7591; OIDC Dynamic Registration 1.0): a
//! case with `request.register` registers a new client at discovery's
//! `registration_endpoint` and runs with it.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Evidence, OAuthError, Provider, http};
use crate::profile::{Client, ClientAuth};
use crate::secret::Secret;
use crate::suite::{Case, RequestObjectAlg, RequestObjectBy};

/// The profile key a registered client gets in the case's view of the provider.
pub const REGISTERED: &str = "registered";

/// What the registration endpoint answered.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Registration {
    /// HTTP status of the successful answer.
    pub status: u16,
    /// The client id the provider assigned.
    pub client_id: String,
    /// How the answer departs from RFC 7591 §3.2.1 (no 201, no secret for a secret method, …).
    pub problems: Vec<String>,
    /// Members the provider registered with another value than requested (`name: asked → registered`).
    pub replaced: Vec<String>,
}

/// The grant types a response type implies (OIDC Dynamic Registration §2).
fn grants_for(response_types: &[String]) -> Vec<String> {
    let mut grants = Vec::new();
    for rt in response_types {
        let words: Vec<&str> = rt.split(' ').collect();
        if words.contains(&"code") && !grants.iter().any(|g| g == "authorization_code") {
            grants.push("authorization_code".to_owned());
        }
        if (words.contains(&"id_token") || words.contains(&"token")) && !grants.iter().any(|g| g == "implicit") {
            grants.push("implicit".to_owned());
        }
    }
    grants
}

/// The registration request of a case: a web client for the case's response
/// type, with the profile's redirect URI, then the case's overrides (`null` drops a member).
pub fn request_body(p: &Provider, case: &Case) -> Map<String, Value> {
    let response_type = case.response_type().unwrap_or_else(|| "code".into());
    let response_types = vec![response_type];
    let mut body = Map::new();
    body.insert("redirect_uris".into(), json!([p.profile.registration.redirect_uri]));
    body.insert("response_types".into(), json!(response_types));
    body.insert("grant_types".into(), json!(grants_for(&response_types)));
    body.insert("token_endpoint_auth_method".into(), json!("client_secret_basic"));
    body.insert("application_type".into(), json!("web"));
    body.insert("client_name".into(), json!(format!("oidc-conform {}", case.id())));
    for (k, v) in case.request.register.iter().flatten() {
        if v.is_null() {
            body.remove(k);
        } else {
            body.insert(k.clone(), with_redirect_uri(v, &p.profile.registration.redirect_uri));
        }
    }
    body
}

/// `${registration.redirect_uri}` in a metadata string (or array of strings)
/// replaced by the profile's redirect URI for registered clients.
fn with_redirect_uri(v: &Value, redirect_uri: &str) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace("${registration.redirect_uri}", redirect_uri)),
        Value::Array(items) => Value::Array(items.iter().map(|i| with_redirect_uri(i, redirect_uri)).collect()),
        other => other.clone(),
    }
}

/// A string member as registered: the answer's, else the request's.
fn registered_str(answer: &Value, body: &Map<String, Value>, name: &str) -> Option<String> {
    answer
        .get(name)
        .or_else(|| body.get(name))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v?.as_array()?.iter().map(|x| x.as_str().map(str::to_owned)).collect()
}

/// Registers the case's client. `Ok(Some(client))` when the provider registered
/// it; `Ok(None)` when it refused (the evidence says how).
pub async fn register(p: &Provider, case: &Case, ev: &mut Evidence) -> Result<Option<Client>, String> {
    let url = p.endpoint("registration_endpoint")?;
    // The registration is the first request, and the one a refusal case tests.
    ev.misuse_attempted = true;
    let mut body = request_body(p, case);
    // A case that signs its request objects registers the harness's key; one
    // that sends them by reference registers its request_uri (OIDC Registration §2).
    // A client that signs its assertions registers the harness's key (OIDC
    // Registration §2 `jwks`; RFC 7591 §2).
    if body.get("token_endpoint_auth_method").and_then(Value::as_str) == Some("private_key_jwt") {
        body.entry("jwks").or_insert(super::request_object::jwks()?);
    }
    // A back-channel logout probe registers the harness's receiver (OIDC
    // Back-Channel Logout §2.2) and a post-logout redirect URI to log out with.
    if case.request.logout == Some(crate::suite::LogoutProbe::Backchannel) {
        let uri = super::backchannel::receiver()?.uri_for(&case.id(), &p.discovery.issuer);
        body.entry("backchannel_logout_uri").or_insert(json!(uri));
        // Where the provider supports sessions, ask for `sid` (§2.2), as a client that
        // tells its sessions apart does.
        if p.discovery.backchannel_logout_session_supported == Some(Value::Bool(true)) {
            body.entry("backchannel_logout_session_required").or_insert(json!(true));
        }
        body.entry("post_logout_redirect_uris")
            .or_insert(json!([p.profile.registration.redirect_uri]));
    }
    // A front-channel logout probe registers a logout URI on the origin of its
    // redirect URI (OIDC Front-Channel Logout §2: same scheme, host and port),
    // with a query that must be kept (§2).
    if case.request.logout == Some(crate::suite::LogoutProbe::Frontchannel) {
        let uri = super::logout::frontchannel_uri(p, case)?;
        body.entry("frontchannel_logout_uri").or_insert(json!(uri));
        if p.discovery.frontchannel_logout_session_supported == Some(Value::Bool(true)) {
            body.entry("frontchannel_logout_session_required").or_insert(json!(true));
        }
        body.entry("post_logout_redirect_uris")
            .or_insert(json!([p.profile.registration.redirect_uri]));
    }
    if let Some(ro) = &case.request.request_object {
        if ro.alg == RequestObjectAlg::RS256 {
            body.entry("jwks").or_insert(super::request_object::jwks()?);
            body.entry("request_object_signing_alg").or_insert(json!("RS256"));
        }
        if ro.by == RequestObjectBy::Reference {
            let uri = super::request_object::server().await?.uri_for(case, &p.discovery.issuer);
            body.entry("request_uris").or_insert(json!([uri]));
        }
    }
    ev.request = body
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())))
        .collect::<BTreeMap<_, _>>();
    let mut req = p.http.post(url.clone()).json(&body);
    if let Some(token) = &p.profile.registration.initial_access_token {
        p.check_transport(&url, "initial access token")?;
        req = req.bearer_auth(token.expose());
    }
    let json = Value::Object(body.clone());
    let sent = super::exchange::Sent {
        json: Some(&json),
        bearer: p.profile.registration.initial_access_token.as_ref().map(|t| t.expose()),
        ..super::exchange::Sent::new("POST", &url)
    };
    let answer = http::send(&p.guard, req, &url, &p.limits).await;
    let resp = super::exchange::recorded(p, ev, crate::report::exchange::Step::Registration, None, &sent, answer)?;
    ev.step(format!(
        "POST {} (client registration) → {}",
        http::redact_url(&url),
        resp.status.as_u16()
    ));
    let status = resp.status.as_u16();
    if !resp.status.is_success() {
        let (error, description) = match resp.json() {
            Ok(v) => (
                v.get("error").and_then(Value::as_str).map(str::to_owned),
                v.get("error_description").and_then(Value::as_str).map(str::to_owned),
            ),
            Err(_) => (None, None),
        };
        ev.error = Some(OAuthError {
            stage: "registration",
            error: error.unwrap_or_else(|| format!("(HTTP {status} without a JSON error)")),
            description,
            status: Some(status),
            www_authenticate: resp.header("www-authenticate").map(str::to_owned),
            pushed: false,
        });
        return Ok(None);
    }
    let answer = resp.json()?;
    let Some(client_id) = answer.get("client_id").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
        return Err(format!("the registration endpoint answered HTTP {status} without a client_id"));
    };
    let mut problems = Vec::new();
    if status != 201 {
        problems.push(format!("answered HTTP {status}, not 201 Created"));
    }
    let mut replaced = Vec::new();
    for (k, asked) in &body {
        match answer.get(k) {
            Some(got) if got != asked && k != "client_name" => replaced.push(format!("{k}: {} → {}", asked, got)),
            _ => {}
        }
    }
    let method = answer
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
        .unwrap_or("client_secret_basic")
        .to_owned();
    let auth = ClientAuth::from_name(&method);
    let secret = answer
        .get("client_secret")
        .and_then(Value::as_str)
        .map(|s| Secret::credential(s.to_owned()));
    if secret.is_none() && !matches!(auth, Some(ClientAuth::None | ClientAuth::PrivateKeyJwt)) {
        problems.push(format!("no client_secret for a client registered for `{method}`"));
    }
    let redirect_uris = strings(answer.get("redirect_uris")).unwrap_or_default();
    let ours = &p.profile.registration.redirect_uri;
    if !redirect_uris.is_empty() && !redirect_uris.contains(ours) {
        problems.push("the registered redirect_uris leave out the one requested".to_owned());
    }
    ev.registration = Some(Registration {
        status,
        client_id: client_id.to_owned(),
        problems,
        replaced,
    });
    let Some(auth) = auth else {
        if case.judges_registration() {
            // A refusal case: the registration itself is what is judged.
            return Ok(None);
        }
        return Err(format!(
            "the provider registered the client for `{method}`, which this harness does not speak"
        ));
    };
    Ok(Some(Client {
        id: client_id.to_owned(),
        secret,
        private_key: (auth == ClientAuth::PrivateKeyJwt)
            .then(super::request_object::shared_keys)
            .transpose()?,
        auth,
        auth_methods: vec![auth],
        redirect_uri: Some(ours.clone()),
        post_logout_redirect_uri: strings(answer.get("post_logout_redirect_uris"))
            .or_else(|| strings(body.get("post_logout_redirect_uris")))
            .and_then(|u| u.into_iter().next()),
        grant_types: strings(answer.get("grant_types")).or_else(|| strings(body.get("grant_types"))),
        response_types: strings(answer.get("response_types")).or_else(|| strings(body.get("response_types"))),
        third_party: true,
        consent: Some((crate::profile::Consent::EveryTime, None)),
        id_token_signed_response_alg: registered_str(&answer, &body, "id_token_signed_response_alg"),
        userinfo_signed_response_alg: registered_str(&answer, &body, "userinfo_signed_response_alg"),
        declared_at: None,
        scopes: Vec::new(),
    }))
}
