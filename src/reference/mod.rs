//! The embedded reference provider: a small, real OpenID Connect provider
//! served with axum on 127.0.0.1. It is conformant by default; switchable
//! faults ([`Quirk`]) let tests prove that each conformance check fires.
//!
//! Endpoints (relative to [`ReferenceProvider::issuer`]):
//! `/.well-known/openid-configuration`, `/.well-known/jwks.json`,
//! `/authorize` (GET, POST), `/login` (GET, POST), `/consent` (GET, POST),
//! `/oauth/token` (POST), `/userinfo` (GET, POST).

mod authorize;
mod client_auth;
mod detects;
mod device;
mod discovery;
mod dpop;
mod issue;
pub(crate) mod keys;
mod lifecycle;
mod logout;
mod pages;
mod par;
mod params;
mod quirk;
mod register;
mod request_object;
mod store;
mod token;
mod userinfo;

#[cfg(test)]
mod testkit;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::secret::Secret;

pub use detects::DETECTS;
pub use quirk::{Quirk, UnknownQuirk};

/// What the reference provider serves: its registry of clients, APIs and
/// users, the faults to commit, and where to listen.
#[derive(Clone, Debug)]
pub struct Config {
    pub clients: Vec<ClientReg>,
    pub apis: Vec<ApiReg>,
    pub users: Vec<UserReg>,
    /// Namespace prefix for the custom claims, e.g. "https://example.test/"
    pub custom_namespace: String,
    pub quirks: BTreeSet<Quirk>,
    /// 127.0.0.1 port; 0 = any free port.
    pub port: u16,
    pub access_token_ttl_secs: u64,
    pub id_token_ttl_secs: u64,
    /// How long authorization codes live (default 60 s).
    pub code_ttl_secs: u64,
    /// How long device codes and user codes live (RFC 8628 `expires_in`;
    /// default 30 s).
    pub device_code_ttl_secs: u64,
    /// Ask for DPoP nonces at the token endpoint (RFC 9449 §8): a proof
    /// without one the provider gave is answered `use_dpop_nonce` with a new
    /// one. Off by default.
    pub dpop_nonce: bool,
    /// How long a pushed request's `request_uri` lives (RFC 9126 §2.2
    /// `expires_in`; default 60 s).
    pub par_ttl_secs: u64,
    /// The polling interval of the device grant (RFC 8628 `interval`; default
    /// 1 s, so that its cases run fast).
    pub device_interval_secs: u64,
    /// Ids of third-party clients: they always get the consent page (so do
    /// clients registered at `/register`).
    pub third_party: Vec<String>,
    /// Keep the claims of the requested scopes out of an ID token issued with
    /// an access token: they come from userinfo (OIDC Core §5.4 lets a
    /// provider do either). Off by default: the reference puts them in both.
    pub scope_claims_at_userinfo: bool,
    /// Remember a user's consent in their session: a later authorization of
    /// the same client for the same scopes skips the consent page (unless
    /// `prompt=consent`, or the client is third-party). Off by default: the
    /// reference asks at every authorization with a page.
    pub remember_consent: bool,
    /// Take authorization requests only pushed (RFC 9126 §5:
    /// `require_pushed_authorization_requests`). Off by default.
    pub require_par: bool,
}

/// A registered client.
#[derive(Clone, Debug)]
pub struct ClientReg {
    pub id: String,
    /// `None` for a public client.
    pub secret: Option<Secret>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    /// "client_secret_basic" | "client_secret_post" | "none" |
    /// "client_secret_jwt" | "private_key_jwt". The token endpoint accepts
    /// both secret methods and client_secret_jwt from every client with a
    /// secret, and private_key_jwt from every client with `jwks`.
    pub auth_method: String,
    /// What a dynamically registered client asked for beyond the basics.
    pub meta: ClientMeta,
}

/// Registration metadata beyond the basics (OIDC Dynamic Registration §2).
#[derive(Clone, Debug, Default)]
pub struct ClientMeta {
    /// `id_token_signed_response_alg`: `None` is RS256; `"none"` unsigned.
    pub id_token_alg: Option<String>,
    /// `userinfo_signed_response_alg`: `None` answers plain JSON.
    pub userinfo_alg: Option<String>,
    /// `request_object_signing_alg`: the only algorithm accepted for its request objects.
    pub request_object_alg: Option<String>,
    /// `jwks`: the client's public keys (request object signatures).
    pub jwks: Option<serde_json::Value>,
    /// `request_uris`: where its request objects may be fetched from.
    pub request_uris: Vec<String>,
    /// `post_logout_redirect_uris` (OIDC RP-Initiated Logout §3.1).
    pub post_logout_redirect_uris: Vec<String>,
    /// `backchannel_logout_uri` (OIDC Back-Channel Logout §2.2): on a
    /// loopback host only (the reference provider posts nowhere else).
    pub backchannel_logout_uri: Option<String>,
    /// `frontchannel_logout_uri` (OIDC Front-Channel Logout §2): on the
    /// origin of one of the client's redirect URIs.
    pub frontchannel_logout_uri: Option<String>,
    /// `frontchannel_logout_session_required`: `iss` and `sid` on its frame.
    pub frontchannel_logout_session_required: bool,
    /// `dpop_bound_access_tokens` (RFC 9449 §5.2): every token request needs a proof.
    pub dpop_bound_access_tokens: bool,
}

/// A registered API (resource server), named by its audience identifier.
#[derive(Clone, Debug)]
pub struct ApiReg {
    pub identifier: String,
    pub scopes: Vec<String>,
}

/// A registered end user.
#[derive(Clone, Debug)]
pub struct UserReg {
    pub username: String,
    pub password: Secret,
    pub sub: String,
    /// Standard claims (name, email, address, …) released by scope.
    pub claims: Map<String, Value>,
    /// Released as the namespaced `{custom_namespace}roles` claim.
    pub roles: Vec<String>,
}

impl ClientReg {
    fn has_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    fn is_public(&self) -> bool {
        self.secret.is_none() && self.auth_method != "private_key_jwt"
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

impl Default for Config {
    /// The standard registry other code relies on.
    fn default() -> Self {
        let claims = json!({
            "name": "Jane Doe",
            "given_name": "Jane",
            "family_name": "Doe",
            "middle_name": "Q",
            "nickname": "jane",
            "preferred_username": "jane",
            "picture": "https://example.test/jane.png",
            "updated_at": 1_700_000_000,
            "email": "jane@example.test",
            "email_verified": true,
            "address": {"formatted": "1 Main St, Springfield"},
            "phone_number": "+1 555 0100",
            "phone_number_verified": false,
        });
        let Value::Object(claims) = claims else {
            unreachable!("json! object literal")
        };
        Config {
            clients: vec![
                ClientReg {
                    id: "web-app".into(),
                    secret: Some(Secret::new("web-app-secret-7f3a9c")),
                    redirect_uris: strings(&["https://app.example.test/callback"]),
                    grant_types: strings(&["authorization_code", "implicit", "refresh_token"]),
                    response_types: strings(&[
                        "code",
                        "id_token",
                        "id_token token",
                        "code id_token",
                        "code token",
                        "code id_token token",
                    ]),
                    auth_method: "client_secret_basic".into(),
                    meta: ClientMeta {
                        post_logout_redirect_uris: strings(&["https://app.example.test/logged-out"]),
                        ..ClientMeta::default()
                    },
                },
                ClientReg {
                    id: "spa-app".into(),
                    secret: None,
                    redirect_uris: strings(&["https://spa.example.test/callback"]),
                    grant_types: strings(&["authorization_code", "implicit", "refresh_token"]),
                    response_types: strings(&["code", "id_token", "id_token token"]),
                    auth_method: "none".into(),
                    meta: ClientMeta {
                        post_logout_redirect_uris: strings(&["https://spa.example.test/logged-out"]),
                        ..ClientMeta::default()
                    },
                },
                ClientReg {
                    id: "m2m-service".into(),
                    secret: Some(Secret::new("m2m-service-secret-41d2e8")),
                    redirect_uris: vec![],
                    grant_types: strings(&["client_credentials"]),
                    response_types: vec![],
                    auth_method: "client_secret_post".into(),
                    meta: ClientMeta::default(),
                },
                ClientReg {
                    id: "code-only-app".into(),
                    secret: Some(Secret::new("code-only-secret-9b1c")),
                    redirect_uris: strings(&["https://code.example.test/callback"]),
                    grant_types: strings(&["authorization_code"]),
                    response_types: strings(&["code"]),
                    auth_method: "client_secret_basic".into(),
                    meta: ClientMeta::default(),
                },
                ClientReg {
                    // A legacy app on the password grant (RFC 9700 §2.4 deprecates it).
                    id: "legacy-app".into(),
                    secret: Some(Secret::new("legacy-app-secret-7e21")),
                    redirect_uris: vec![],
                    grant_types: strings(&["password"]),
                    response_types: vec![],
                    auth_method: "client_secret_post".into(),
                    meta: ClientMeta::default(),
                },
                ClientReg {
                    // A third-party client: never skips consent.
                    id: "partner-app".into(),
                    secret: Some(Secret::new("partner-app-secret-51c4")),
                    redirect_uris: strings(&["https://partner.example.test/callback"]),
                    grant_types: strings(&["authorization_code"]),
                    response_types: strings(&["code"]),
                    auth_method: "client_secret_basic".into(),
                    meta: ClientMeta::default(),
                },
                ClientReg {
                    // A redirect URI with a query (RFC 6749 §3.1.2: kept in responses).
                    id: "query-app".into(),
                    secret: Some(Secret::new("query-app-secret-3d70")),
                    redirect_uris: strings(&["https://query.example.test/callback?tenant=acme"]),
                    grant_types: strings(&["authorization_code"]),
                    response_types: strings(&["code"]),
                    auth_method: "client_secret_basic".into(),
                    meta: ClientMeta::default(),
                },
                ClientReg {
                    // A device without a browser (RFC 8628): a TV app.
                    id: "tv-app".into(),
                    secret: Some(Secret::new("tv-app-secret-c83f17")),
                    redirect_uris: vec![],
                    grant_types: strings(&[crate::flow::device::GRANT_TYPE, "refresh_token"]),
                    response_types: vec![],
                    auth_method: "client_secret_basic".into(),
                    meta: ClientMeta::default(),
                },
            ],
            apis: vec![
                ApiReg {
                    identifier: "https://api.example.test/health".into(),
                    scopes: strings(&["read:patients", "write:patients", "read:admin"]),
                },
                ApiReg {
                    identifier: "https://api.example.test/billing".into(),
                    scopes: strings(&["read:invoices"]),
                },
            ],
            users: vec![UserReg {
                username: "jane".into(),
                password: Secret::new("jane-password-5e8b"),
                sub: "auth0|jane-0001".into(),
                claims,
                roles: strings(&["clinician"]),
            }],
            custom_namespace: "https://example.test/".into(),
            quirks: BTreeSet::new(),
            port: 0,
            access_token_ttl_secs: 300,
            id_token_ttl_secs: 300,
            code_ttl_secs: 60,
            device_code_ttl_secs: 30,
            par_ttl_secs: 60,
            dpop_nonce: false,
            device_interval_secs: 1,
            third_party: strings(&["partner-app"]),
            scope_claims_at_userinfo: false,
            remember_consent: false,
            require_par: false,
        }
    }
}

/// Why the reference provider could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("signing key generation failed: {0}")]
    KeyGeneration(String),
    #[error("invalid provider configuration: {0}")]
    Config(String),
    #[error("html templates failed to load: {0}")]
    Templates(String),
}

/// A running reference provider. Stops when [`shutdown`](Self::shutdown) is
/// awaited or when dropped.
pub struct ReferenceProvider {
    issuer: String,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ReferenceProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReferenceProvider")
            .field("issuer", &self.issuer)
            .field("quirks", &self.shared.config.quirks)
            .finish_non_exhaustive()
    }
}

impl ReferenceProvider {
    /// Generates the signing key, binds 127.0.0.1:`config.port` and spawns
    /// the server task on the current tokio runtime.
    pub async fn start(config: Config) -> Result<ReferenceProvider, Error> {
        validate_config(&config)?;
        let keys = tokio::task::spawn_blocking(keys::Keys::generate)
            .await
            .map_err(|e| Error::KeyGeneration(e.to_string()))?
            .map_err(|e| Error::KeyGeneration(e.to_string()))?;
        let port = config.port;
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|source| Error::Bind { port, source })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind { port, source })?;
        let issuer = format!("http://127.0.0.1:{}", addr.port());
        let shared = Arc::new(Shared::new(issuer.clone(), config, keys)?);
        let app = router(shared.clone());

        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                // Either an explicit stop or the handle being dropped.
                let _ = stopped.await;
            });
            // Accept errors are retried inside axum; an error here means the
            // listener is gone, which ends the provider either way.
            let _ = serve.await;
        });
        Ok(ReferenceProvider {
            issuer,
            addr,
            stop: Some(stop),
            task: Some(task),
            shared,
        })
    }

    /// The issuer identifier, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The socket address the provider listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// The quirks this provider commits.
    pub fn quirks(&self) -> &BTreeSet<Quirk> {
        &self.shared.config.quirks
    }

    /// Stops accepting connections, lets in-flight requests finish (for at
    /// most five seconds) and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

impl Drop for ReferenceProvider {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn validate_config(config: &Config) -> Result<(), Error> {
    let mut ids = BTreeSet::new();
    for client in &config.clients {
        if !ids.insert(client.id.as_str()) {
            return Err(Error::Config(format!("duplicate client id {:?}", client.id)));
        }
        if !matches!(
            client.auth_method.as_str(),
            "client_secret_basic" | "client_secret_post" | "none" | "client_secret_jwt" | "private_key_jwt"
        ) {
            return Err(Error::Config(format!(
                "client {:?}: unsupported auth_method {:?}",
                client.id, client.auth_method
            )));
        }
        // private_key_jwt: the client's registered keys instead of a secret.
        let keyed = client.auth_method == "private_key_jwt";
        if keyed && client.meta.jwks.is_none() {
            return Err(Error::Config(format!(
                "client {:?}: private_key_jwt needs the client's jwks",
                client.id
            )));
        }
        if (client.auth_method == "none" || keyed) != client.secret.is_none() {
            return Err(Error::Config(format!(
                "client {:?}: a secret is needed exactly when auth_method is not \"none\" or \"private_key_jwt\"",
                client.id
            )));
        }
    }
    let mut names = BTreeSet::new();
    for user in &config.users {
        if !names.insert(user.username.as_str()) {
            return Err(Error::Config(format!("duplicate username {:?}", user.username)));
        }
    }
    let mut apis = BTreeSet::new();
    for api in &config.apis {
        if !apis.insert(api.identifier.as_str()) {
            return Err(Error::Config(format!("duplicate api identifier {:?}", api.identifier)));
        }
    }
    Ok(())
}

/// State shared by every request handler.
pub(crate) struct Shared {
    pub(crate) issuer: String,
    pub(crate) config: Config,
    pub(crate) keys: keys::Keys,
    pub(crate) pages: pages::Pages,
    /// Cached discovery and JWKS documents (serialised once at start).
    discovery_json: String,
    jwks_json: String,
    store: Mutex<store::Store>,
    /// Clients registered at `/register` (append-only, third-party).
    pub(crate) registered: Vec<std::sync::OnceLock<ClientReg>>,
    pub(crate) registered_next: std::sync::atomic::AtomicUsize,
    /// The `jti`s of the client assertions taken.
    seen_jtis: Mutex<client_auth::SeenJtis>,
}

impl Shared {
    fn new(issuer: String, config: Config, keys: keys::Keys) -> Result<Shared, Error> {
        let mut pages = pages::Pages::new().map_err(|e| Error::Templates(e.to_string()))?;
        pages.errors_ok = config.quirks.contains(&Quirk::ErrorPages200);
        let mut shared = Shared {
            issuer,
            config,
            keys,
            pages,
            discovery_json: String::new(),
            jwks_json: String::new(),
            store: Mutex::new(store::Store::new()),
            registered: (0..register::MAX_REGISTERED).map(|_| std::sync::OnceLock::new()).collect(),
            registered_next: std::sync::atomic::AtomicUsize::new(0),
            seen_jtis: Mutex::new(client_auth::SeenJtis::default()),
        };
        shared.discovery_json = discovery::document(&shared).to_string();
        shared.jwks_json = discovery::jwks_document(&shared).to_string();
        Ok(shared)
    }

    pub(crate) fn quirk(&self, quirk: Quirk) -> bool {
        self.config.quirks.contains(&quirk)
    }

    pub(crate) fn client(&self, id: &str) -> Option<&ClientReg> {
        self.config
            .clients
            .iter()
            .find(|c| c.id == id)
            .or_else(|| self.registered.iter().filter_map(|cell| cell.get()).find(|c| c.id == id))
    }

    /// A third-party client (configured so, or registered at `/register`): it never skips consent.
    pub(crate) fn third_party(&self, id: &str) -> bool {
        self.config.third_party.iter().any(|c| c == id) || self.registered.iter().filter_map(|cell| cell.get()).any(|c| c.id == id)
    }

    pub(crate) fn api(&self, identifier: &str) -> Option<&ApiReg> {
        self.config.apis.iter().find(|a| a.identifier == identifier)
    }

    pub(crate) fn user(&self, username: &str) -> Option<&UserReg> {
        self.config.users.iter().find(|u| u.username == username)
    }

    /// The `jti`s of the client assertions taken.
    fn seen_jtis(&self) -> std::sync::MutexGuard<'_, client_auth::SeenJtis> {
        self.seen_jtis.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    pub(crate) fn userinfo_url(&self) -> String {
        self.url("/userinfo")
    }

    /// Locks the in-memory store. A panic elsewhere while holding the lock
    /// leaves the maps consistent (every update is a single insert or
    /// remove), so a poisoned lock is simply taken over.
    pub(crate) fn store(&self) -> MutexGuard<'_, store::Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The subject identifier of `user` in tokens (the quirk
    /// `id-token-sub-too-long` lengthens it everywhere, so that only the
    /// length is at fault).
    pub(crate) fn subject(&self, user: &UserReg) -> String {
        if self.quirk(Quirk::IdTokenSubTooLong) {
            let mut sub = user.sub.clone();
            sub.push('-');
            while sub.len() < 300 {
                sub.push('x');
            }
            sub
        } else {
            user.sub.clone()
        }
    }

    /// The names under which the roles claim is emitted.
    pub(crate) fn roles_claim_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if !self.quirk(Quirk::CustomClaimMissing) {
            if self.quirk(Quirk::ProviderDomainNamespace) {
                names.push(format!("{}/roles", self.issuer));
            } else {
                names.push(format!("{}roles", self.config.custom_namespace));
            }
        }
        if self.quirk(Quirk::NonNamespacedClaim) {
            names.push("roles".to_owned());
        }
        names
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery::openid_configuration))
        .route("/.well-known/jwks.json", get(discovery::jwks))
        .route("/authorize", get(authorize::authorize_get).post(authorize::authorize_post))
        .route("/login", get(authorize::login_get).post(authorize::login_post))
        .route("/consent", get(authorize::consent_get).post(authorize::consent_post))
        .route("/oauth/token", post(token::token).get(token::token_get))
        .route("/userinfo", get(userinfo::userinfo_get).post(userinfo::userinfo_post))
        .route("/register", post(register::register))
        .route("/revoke", post(lifecycle::revoke))
        .route("/introspect", post(lifecycle::introspect))
        .route("/par", post(par::push).get(par::get))
        .route("/logout", get(logout::end_session_get).post(logout::end_session_post))
        .route("/logout/confirm", post(logout::confirm))
        .route("/check_session", get(logout::check_session))
        .route("/device_authorization", post(device::authorize))
        .route("/device", get(device::page).post(device::enter))
        .fallback(not_found)
        .with_state(shared)
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": "not_found", "error_description": "no such endpoint"})),
    )
        .into_response()
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A failure inside the provider (not the client's fault): answered as
/// `server_error` / HTTP 500 by the endpoint that hits it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct InternalError(pub(crate) String);

/// 32 random bytes from the system generator, base64url without padding
/// (43 characters).
pub(crate) fn random_token() -> Result<String, InternalError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| InternalError("random number generator failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A random UUID version 4 (RFC 9562 §5.4): 36 characters, of which the version
/// nibble, the variant bits and the hyphens are fixed (122 random bits).
pub(crate) fn uuid_v4() -> Result<String, InternalError> {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| InternalError("random number generator failed".into()))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// A code or opaque token: [`random_token`], or a UUID v4 under `uuid-tokens`.
pub(crate) fn opaque_value(shared: &Shared) -> Result<String, InternalError> {
    if shared.quirk(Quirk::UuidTokens) {
        uuid_v4()
    } else {
        random_token()
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;
    use reqwest::StatusCode;
    use std::time::Instant;

    #[test]
    fn default_registry() {
        let config = Config::default();
        let ids: Vec<&str> = config.clients.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "web-app",
                "spa-app",
                "m2m-service",
                "code-only-app",
                "legacy-app",
                "partner-app",
                "query-app",
                "tv-app"
            ]
        );
        assert_eq!(config.third_party, ["partner-app"]);
        let web = &config.clients[0];
        assert_eq!(web.secret.as_ref().unwrap().expose(), "web-app-secret-7f3a9c");
        assert_eq!(web.auth_method, "client_secret_basic");
        assert_eq!(web.response_types.len(), 6);
        let spa = &config.clients[1];
        assert!(spa.secret.is_none() && spa.auth_method == "none");
        let m2m = &config.clients[2];
        assert_eq!(m2m.secret.as_ref().unwrap().expose(), "m2m-service-secret-41d2e8");
        assert_eq!(m2m.auth_method, "client_secret_post");
        assert!(m2m.redirect_uris.is_empty() && m2m.response_types.is_empty());
        let code_only = &config.clients[3];
        assert_eq!(code_only.secret.as_ref().unwrap().expose(), "code-only-secret-9b1c");
        assert_eq!(code_only.response_types, ["code"]);
        assert_eq!(config.apis[0].identifier, "https://api.example.test/health");
        assert_eq!(config.apis[0].scopes, ["read:patients", "write:patients", "read:admin"]);
        assert_eq!(config.apis[1].scopes, ["read:invoices"]);
        let jane = &config.users[0];
        assert_eq!(jane.password.expose(), "jane-password-5e8b");
        assert_eq!(jane.sub, "auth0|jane-0001");
        assert_eq!(jane.claims.len(), 13);
        assert_eq!(jane.claims["updated_at"], 1_700_000_000);
        assert_eq!(jane.roles, ["clinician"]);
        assert_eq!(config.custom_namespace, "https://example.test/");
        assert_eq!((config.port, config.access_token_ttl_secs, config.id_token_ttl_secs), (0, 300, 300));
        assert!(config.quirks.is_empty());
        validate_config(&config).unwrap();
        // Secrets stay redacted in debug output.
        assert!(!format!("{config:?}").contains("web-app-secret"));
    }

    #[tokio::test]
    async fn start_errors() {
        let mut config = Config::default();
        config.clients.push(config.clients[0].clone());
        let err = ReferenceProvider::start(config).await.unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
        assert!(err.to_string().starts_with("invalid provider configuration"));

        let first = start(Config::default()).await;
        let config = Config {
            port: first.addr().port(),
            ..Config::default()
        };
        let err = ReferenceProvider::start(config).await.unwrap_err();
        assert!(matches!(err, Error::Bind { .. }), "{err}");
        assert!(err.to_string().starts_with("cannot listen on 127.0.0.1:"));
    }

    #[tokio::test]
    async fn shutdown_and_drop_stop_serving() {
        let provider = start(Config::default()).await;
        let addr = provider.addr();
        assert_eq!(addr.ip(), Ipv4Addr::LOCALHOST);
        assert_eq!(provider.issuer(), format!("http://127.0.0.1:{}", addr.port()));
        let url = format!("{}/.well-known/jwks.json", provider.issuer());
        // A kept-alive connection must not hold the shutdown up.
        let client = http();
        assert_eq!(client.get(&url).send().await.unwrap().status(), StatusCode::OK);
        let started = Instant::now();
        provider.shutdown().await;
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(http().get(&url).send().await.is_err());

        let provider = start(Config::default()).await;
        let url = format!("{}/.well-known/jwks.json", provider.issuer());
        drop(provider);
        let mut stopped = false;
        for _ in 0..50 {
            if http().get(&url).send().await.is_err() {
                stopped = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(stopped, "dropped provider still serving");
    }

    #[tokio::test]
    async fn bad_input_gets_client_errors() {
        let provider = start(Config::default()).await;
        let base = provider.issuer().to_owned();
        let client = http();
        let long = "x".repeat(10_000);
        let requests = vec![
            client.get(format!("{base}/authorize")),
            client.get(format!("{base}/authorize?%ff%fe=%00&client_id=")),
            client.get(format!("{base}/authorize?client_id=web-app&client_id=web-app")),
            client.get(format!("{base}/authorize?client_id={long}")),
            client.post(format!("{base}/authorize")).body("client_id=web-app"),
            client.get(format!("{base}/login")),
            client.get(format!("{base}/login?tx=nope")),
            client.post(format!("{base}/login")).form(&[("tx", "nope")]),
            client.post(format!("{base}/login")).body(vec![0xff, 0x00]),
            client.get(format!("{base}/consent?tx=nope")),
            client
                .post(format!("{base}/consent"))
                .form(&[("tx", "nope"), ("decision", "allow")]),
            client
                .post(format!("{base}/consent"))
                .form(&[("tx", "nope"), ("decision", "maybe")]),
            client.post(format!("{base}/oauth/token")),
            client
                .post(format!("{base}/oauth/token"))
                .header("authorization", "Basic %%%")
                .form(&[("grant_type", "client_credentials")]),
            client
                .post(format!("{base}/oauth/token"))
                .form(&[("grant_type", "authorization_code"), ("client_id", "spa-app")]),
            client.post(format!("{base}/oauth/token")).form(&[
                ("grant_type", "authorization_code"),
                ("client_id", "spa-app"),
                ("code", long.as_str()),
            ]),
            client
                .post(format!("{base}/oauth/token"))
                .form(&[("grant_type", "refresh_token"), ("client_id", "spa-app")]),
            client.get(format!("{base}/oauth/token")),
            client.get(format!("{base}/userinfo")).header("authorization", "Bearer"),
            client.get(format!("{base}/userinfo")).header("authorization", "Basic abc"),
            client.get(format!("{base}/nope")),
        ];
        for request in requests {
            let request = request.build().unwrap();
            let label = format!("{} {}", request.method(), request.url());
            let response = client.execute(request).await.unwrap();
            let status = response.status();
            assert!(status.is_client_error(), "{label}: {status}");
        }
        // Still serving.
        let response = client.get(format!("{base}/.well-known/openid-configuration")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// Concurrent complete code flows (authorize, login, consent, token,
    /// userinfo), each with its own browser.
    async fn concurrent_flows(n: usize) -> Duration {
        let provider = Arc::new(start(Config::default()).await);
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n {
            let provider = provider.clone();
            tasks.spawn(async move {
                let state = format!("state-{i}");
                let got = browse_ok(
                    &provider,
                    &[
                        ("client_id", WEB),
                        ("redirect_uri", WEB_CALLBACK),
                        ("response_type", "code"),
                        ("scope", "openid profile read:patients"),
                        ("audience", HEALTH),
                        ("state", &state),
                    ],
                )
                .await;
                assert_eq!(got["state"], state);
                let (status, body) = redeem(&provider, &got["code"]).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                let access = body["access_token"].as_str().unwrap();
                assert_eq!(userinfo(&provider, Some(access)).await.status(), StatusCode::OK);
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.unwrap();
        }
        started.elapsed()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn many_concurrent_flows() {
        let n = 200;
        let elapsed = concurrent_flows(n).await;
        eprintln!("{n} concurrent code flows: {elapsed:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    #[ignore = "load test; run with --ignored"]
    async fn thousand_concurrent_flows() {
        let elapsed = concurrent_flows(1000).await;
        eprintln!("1000 concurrent code flows: {elapsed:?}");
    }
}
