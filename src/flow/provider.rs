//! What the harness learns about a provider once per run: its discovery
//! document and its signing keys (cached, refreshed once on an unknown `kid`).

use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;
use tokio::sync::RwLock;
use url::Url;

use super::http::{self, Limits};
use crate::profile::Profile;

/// OpenID Provider metadata (OIDC Discovery 1.0 §3), the fields the harness uses.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    #[serde(default)]
    pub response_modes_supported: Option<Vec<String>>,
    #[serde(default)]
    pub grant_types_supported: Option<Vec<String>>,
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// RFC 9207 §3: the provider puts `iss` into authorization responses.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    /// OIDC Discovery §3: the `claims` request parameter (default false).
    #[serde(default)]
    pub claims_parameter_supported: Option<bool>,
    /// OIDC Discovery §3: the `request` parameter (default false).
    #[serde(default)]
    pub request_parameter_supported: Option<bool>,
    /// OIDC Discovery §3: the `request_uri` parameter (default true).
    #[serde(default)]
    pub request_uri_parameter_supported: Option<bool>,
    /// OIDC Discovery §3: algorithms for signed userinfo responses.
    #[serde(default)]
    pub userinfo_signing_alg_values_supported: Option<Vec<String>>,
    /// OIDC Discovery §3: algorithms for request objects.
    #[serde(default)]
    pub request_object_signing_alg_values_supported: Option<Vec<String>>,
    /// OIDC Discovery §3 / RFC 7591: where clients register.
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    /// RFC 8414 §2 / RFC 7009: where tokens are revoked.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// RFC 8414 §2 / RFC 7662: where tokens are introspected.
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    /// OIDC Back-Channel Logout §2.1 (a boolean; anything else is kept as it came, to be judged).
    #[serde(default)]
    pub backchannel_logout_supported: Option<serde_json::Value>,
    /// OIDC Back-Channel Logout §2.1: ID tokens and logout tokens carry `sid`.
    #[serde(default)]
    pub backchannel_logout_session_supported: Option<serde_json::Value>,
    /// OIDC Front-Channel Logout §3 (a boolean; anything else is kept as it came).
    #[serde(default)]
    pub frontchannel_logout_supported: Option<serde_json::Value>,
    /// OIDC Front-Channel Logout §3: the logout frames carry `iss` and `sid`,
    /// and ID tokens carry `sid`.
    #[serde(default)]
    pub frontchannel_logout_session_supported: Option<serde_json::Value>,
    /// OIDC Session Management §3.3: the provider's frame that answers the
    /// clients' session checks.
    #[serde(default)]
    pub check_session_iframe: Option<String>,
    /// OIDC RP-Initiated Logout §2.1: where the client sends the browser to log out.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    /// RFC 9449 §5.1: the JWS algorithms taken for DPoP proofs (their
    /// presence says the provider offers DPoP).
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// RFC 8628 §4: where device authorization requests go.
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    /// RFC 9126 §5: where authorization requests are pushed.
    #[serde(default)]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// RFC 9126 §5: whether every authorization request must be pushed (a
    /// boolean; anything else is kept as it came, to be judged).
    #[serde(default)]
    pub require_pushed_authorization_requests: Option<serde_json::Value>,
}

impl Discovery {
    /// Whether discovery (with its defaults) says the provider offers `feature`.
    pub fn offers(&self, feature: crate::suite::Feature) -> bool {
        use crate::suite::Feature;
        match feature {
            Feature::ClaimsParameter => self.claims_parameter_supported == Some(true),
            Feature::RequestParameter => self.request_parameter_supported == Some(true),
            Feature::Registration => self.registration_endpoint.is_some(),
            Feature::RequestUriParameter => self.request_uri_parameter_supported != Some(false),
            Feature::UnsignedIdToken => self.id_token_signing_alg_values_supported.iter().any(|a| a == "none"),
            Feature::SignedUserinfo => lists(&self.userinfo_signing_alg_values_supported, "RS256"),
            Feature::SignedRequestObject => lists(&self.request_object_signing_alg_values_supported, "RS256"),
            Feature::Revocation => self.revocation_endpoint.is_some(),
            Feature::Introspection => self.introspection_endpoint.is_some(),
            Feature::Par => self.pushed_authorization_request_endpoint.is_some(),
            Feature::PrivateKeyJwt => lists(&self.token_endpoint_auth_methods_supported, "private_key_jwt"),
            Feature::ClientSecretJwt => lists(&self.token_endpoint_auth_methods_supported, "client_secret_jwt"),
            Feature::Logout => self.end_session_endpoint.is_some(),
            Feature::BackchannelLogout => self.backchannel_logout_supported == Some(serde_json::Value::Bool(true)),
            Feature::FrontchannelLogout => self.frontchannel_logout_supported == Some(serde_json::Value::Bool(true)),
            Feature::SessionManagement => self.check_session_iframe.is_some(),
            Feature::Dpop => self.dpop_signing_alg_values_supported.is_some(),
            Feature::Device => self.device_authorization_endpoint.is_some(),
            Feature::ParRequired => self.requires_par(),
        }
    }

    /// Whether the provider takes authorization requests only pushed (RFC
    /// 9126 §5: `require_pushed_authorization_requests` true, with an
    /// endpoint to push to): every authorization request is pushed then.
    pub fn requires_par(&self) -> bool {
        self.require_pushed_authorization_requests == Some(serde_json::Value::Bool(true))
            && self.pushed_authorization_request_endpoint.is_some()
    }
}

fn lists(values: &Option<Vec<String>>, alg: &str) -> bool {
    values.as_ref().is_some_and(|v| v.iter().any(|a| a == alg))
}

/// The provider as one run sees it.
pub struct Provider {
    pub profile: Profile,
    pub discovery: Discovery,
    pub limits: Limits,
    /// Back-channel client (token, userinfo, JWKS): no cookies.
    pub http: reqwest::Client,
    pub tls: http::Tls,
    /// Client secrets and passwords may go over plain http to a non-loopback host.
    pub allow_http: bool,
    /// Stops the run from hammering a provider that is down (shared by every view of it).
    pub guard: Arc<http::Guard>,
    jwks: RwLock<Arc<JwkSet>>,
    /// The run's headless browser, started at the first page that needs it
    /// (shared by every view of the provider).
    browser: Arc<tokio::sync::OnceCell<Result<Arc<crate::login::browser::Browser>, String>>>,
    /// Who may sign a user in while a session case runs (shared by every view).
    sessions: Arc<SessionLocks>,
    /// The run's shared sign-ins (see [`super::seed`]; shared by every view).
    pub(crate) seeds: Arc<super::seed::Seeds>,
    /// The pre-flight's view: a page that defeats the browser here is not
    /// counted against the run's cases (see [`super::browser::Browser::record`]).
    pub(crate) preflight: bool,
}

/// One lock per user of the profile. A case whose verdict depends on the
/// user's session (a `session` case: sign in, then judge a second
/// authorization, e.g. `max_age`, `prompt=login`, `prompt=none`) holds its
/// user's lock alone from its sign-in to its judgement; every other case that
/// signs the user in shares it. So no other case signs the same user in
/// meanwhile, which would move the authentication time or replace the session
/// on providers that keep one per user.
#[derive(Default)]
pub struct SessionLocks(std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::RwLock<()>>>>);

/// A held [`SessionLocks`] lock: shared or alone.
pub enum SessionHold {
    Shared(#[allow(dead_code)] tokio::sync::OwnedRwLockReadGuard<()>),
    Alone(#[allow(dead_code)] tokio::sync::OwnedRwLockWriteGuard<()>),
}

impl SessionLocks {
    fn of(&self, user: &str) -> Arc<tokio::sync::RwLock<()>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(user.to_owned()).or_default().clone()
    }
}

/// The provider could not be reached or described itself wrongly at start.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("cannot fetch the discovery document: {0}")]
    Http(#[from] http::HttpError),
    #[error("{0}")]
    Invalid(String),
}

impl Provider {
    /// Fetches discovery and JWKS.
    pub async fn connect(profile: Profile, tls: http::Tls, allow_http: bool, rate: Option<http::Rate>) -> Result<Provider, ProviderError> {
        let limits = profile.limits;
        let client = http::client(&limits, &tls)?;
        let url = discovery_url(&profile.issuer)?;
        let guard = Arc::new(http::Guard::with_rate(rate));
        let resp = http::get(&client, &guard, &url, &limits).await?;
        if !resp.status.is_success() {
            return Err(ProviderError::Invalid(format!(
                "the discovery document at {url} answered HTTP {} (is the issuer `{}` right?)",
                resp.status, profile.issuer
            )));
        }
        let discovery: Discovery = serde_json::from_slice(&resp.body)
            .map_err(|e| ProviderError::Invalid(format!("the discovery document at {url} is not valid provider metadata: {e}")))?;
        // OIDC Discovery 1.0 §4.3: the issuer in the document MUST be identical to the one used to fetch it.
        if discovery.issuer != profile.issuer {
            return Err(ProviderError::Invalid(format!(
                "discovery `issuer` is `{}` but the profile's issuer is `{}`: they must be identical (OIDC Discovery 1.0 §4.3); fix the profile's `issuer`",
                discovery.issuer, profile.issuer
            )));
        }
        let provider = Provider {
            profile,
            discovery,
            limits,
            http: client,
            tls,
            allow_http,
            guard,
            jwks: RwLock::new(Arc::new(JwkSet { keys: vec![] })),
            browser: Arc::default(),
            sessions: Arc::default(),
            seeds: Arc::default(),
            preflight: false,
        };
        provider.refresh_jwks().await.map_err(ProviderError::Invalid)?;
        Ok(provider)
    }

    /// The same provider with one more client in its profile (a client the run
    /// registered dynamically): connections, guard and keys shared.
    pub async fn with_client(&self, key: &str, client: crate::profile::Client) -> Provider {
        let mut profile = self.profile.clone();
        profile.clients.insert(key.to_owned(), client);
        Provider {
            profile,
            discovery: self.discovery.clone(),
            limits: self.limits,
            http: self.http.clone(),
            tls: self.tls.clone(),
            allow_http: self.allow_http,
            guard: self.guard.clone(),
            jwks: RwLock::new(self.jwks().await),
            browser: self.browser.clone(),
            sessions: self.sessions.clone(),
            seeds: self.seeds.clone(),
            preflight: self.preflight,
        }
    }

    /// The same provider with a breaker of its own (the pre-flight's requests
    /// do not count against the run's, nor do the pages that defeat its browser).
    pub async fn with_own_guard(&self) -> Provider {
        Provider {
            profile: self.profile.clone(),
            discovery: self.discovery.clone(),
            limits: self.limits,
            http: self.http.clone(),
            tls: self.tls.clone(),
            allow_http: self.allow_http,
            guard: Arc::new(http::Guard::with_rate(None)),
            jwks: RwLock::new(self.jwks().await),
            browser: self.browser.clone(),
            sessions: self.sessions.clone(),
            seeds: self.seeds.clone(),
            preflight: true,
        }
    }

    /// A provider from parts already known (tests, replays): no network.
    pub fn from_parts(profile: Profile, discovery: Discovery, jwks: JwkSet) -> Result<Provider, ProviderError> {
        let limits = profile.limits;
        let http = http::client(&limits, &http::Tls::default())?;
        Ok(Provider {
            profile,
            discovery,
            limits,
            http,
            tls: http::Tls::default(),
            allow_http: false,
            guard: Arc::default(),
            jwks: RwLock::new(Arc::new(jwks)),
            browser: Arc::default(),
            sessions: Arc::default(),
            seeds: Arc::default(),
            preflight: false,
        })
    }

    /// Waits for and takes the session lock `case` needs (see [`SessionLocks`]):
    /// alone for a `session` case, shared for any other case that signs a
    /// user in, none for a case that signs no one in.
    pub async fn session_hold(&self, case: &crate::suite::Case) -> Option<SessionHold> {
        use crate::suite::Flow;
        if matches!(case.flow, Flow::ClientCredentials | Flow::Metadata) {
            return None;
        }
        let lock = self.sessions.of(case.user.as_deref().unwrap_or(""));
        Some(if case.needs_session_alone() {
            SessionHold::Alone(lock.write_owned().await)
        } else {
            SessionHold::Shared(lock.read_owned().await)
        })
    }

    /// The run's headless browser: started once, at the first call.
    pub async fn browser(&self) -> Result<Arc<crate::login::browser::Browser>, String> {
        self.browser
            .get_or_init(|| async { crate::login::browser::Browser::start(self.origin_policy()).await.map(Arc::new) })
            .await
            .clone()
    }

    /// The current key set.
    pub async fn jwks(&self) -> Arc<JwkSet> {
        self.jwks.read().await.clone()
    }

    /// Fetches the key set again (after an unknown `kid`).
    pub async fn refresh_jwks(&self) -> Result<Arc<JwkSet>, String> {
        let uri = self
            .discovery
            .jwks_uri
            .as_deref()
            .ok_or("the discovery document has no `jwks_uri`")?;
        let url = Url::parse(uri).map_err(|e| format!("`jwks_uri` `{uri}` is not a URL: {e}"))?;
        let resp = http::get(&self.http, &self.guard, &url, &self.limits)
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status.is_success() {
            return Err(format!("the JWKS at {url} answered HTTP {}", resp.status));
        }
        let set: JwkSet = serde_json::from_slice(&resp.body).map_err(|e| format!("the JWKS at {url} is not a valid JWK set: {e}"))?;
        if set.keys.len() > self.limits.max_jwks_keys {
            return Err(format!(
                "the JWKS at {url} has {} keys, over the limit of {} (http.max_jwks_keys in the profile)",
                set.keys.len(),
                self.limits.max_jwks_keys
            ));
        }
        let set = Arc::new(set);
        *self.jwks.write().await = set.clone();
        Ok(set)
    }

    /// An endpoint from discovery, as a URL.
    pub fn endpoint(&self, which: &str) -> Result<Url, String> {
        let d = &self.discovery;
        let value = match which {
            "authorization_endpoint" => &d.authorization_endpoint,
            "token_endpoint" => &d.token_endpoint,
            "userinfo_endpoint" => &d.userinfo_endpoint,
            "registration_endpoint" => &d.registration_endpoint,
            "revocation_endpoint" => &d.revocation_endpoint,
            "introspection_endpoint" => &d.introspection_endpoint,
            "pushed_authorization_request_endpoint" => &d.pushed_authorization_request_endpoint,
            "end_session_endpoint" => &d.end_session_endpoint,
            "device_authorization_endpoint" => &d.device_authorization_endpoint,
            _ => &None,
        };
        let v = value.as_deref().ok_or_else(|| format!("the discovery document has no `{which}`"))?;
        Url::parse(v).map_err(|e| format!("`{which}` `{v}` is not a URL: {e}"))
    }

    /// Refuses to send a credential over plain http to a host that is not loopback
    /// (unless `--allow-http`).
    pub fn check_transport(&self, url: &Url, what: &str) -> Result<(), String> {
        let loopback = match url.host() {
            Some(url::Host::Ipv4(a)) => a.is_loopback(),
            Some(url::Host::Ipv6(a)) => a.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if url.scheme() == "https" || loopback || self.allow_http {
            return Ok(());
        }
        Err(format!(
            "refusing to send the {what} over plain http to {} (use https, or pass --allow-http)",
            url.origin().ascii_serialization()
        ))
    }

    /// Where the run's browser may send anything once credentials are typed:
    /// the issuer's origin and the profile's trusted origins, over https or
    /// loopback http (any http with `--allow-http`).
    pub fn origin_policy(&self) -> crate::login::browser::OriginPolicy {
        let mut origins = self.profile.trusted_origins.clone();
        if let Ok(i) = Url::parse(&self.profile.issuer) {
            origins.push(i.origin().ascii_serialization());
        }
        crate::login::browser::OriginPolicy {
            origins,
            allow_http: self.allow_http,
        }
    }

    /// Whether `url` is on the issuer's origin, or on one the profile trusts with secrets.
    pub fn trusted_origin(&self, url: &Url) -> bool {
        let origin = url.origin().ascii_serialization();
        Url::parse(&self.profile.issuer).is_ok_and(|i| i.origin().ascii_serialization() == origin)
            || self.profile.trusted_origins.contains(&origin)
    }

    /// The userinfo URL as access tokens name it in `aud`.
    pub fn userinfo_url(&self) -> Option<&str> {
        self.discovery.userinfo_endpoint.as_deref()
    }
}

/// `{issuer}/.well-known/openid-configuration` (OIDC Discovery 1.0 §4.1).
pub fn discovery_url(issuer: &str) -> Result<Url, ProviderError> {
    let base = issuer.trim_end_matches('/');
    Url::parse(&format!("{base}/.well-known/openid-configuration"))
        .map_err(|e| ProviderError::Invalid(format!("issuer `{issuer}` is not a URL: {e}")))
}
