//! Provider profiles: how to reach one provider, its clients, APIs and users,
//! and the policies where providers legitimately differ.
//!
//! [`load`] parses the YAML (with positions for every error) and resolves
//! `${env:…}`/`${file:…}` variables into a [`Profile`] whose secrets are
//! [`Secret`]s.

use std::collections::BTreeMap;
use std::path::Path;

use indexmap::IndexMap;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::diag::{Diagnostic, Diagnostics, Pos, Source};
use crate::login::form::Selectors;
use crate::secret::Secret;
use crate::vars;

/// How a provider selects the API an access token is for.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AudienceParam {
    /// `audience=` (Auth0 style)
    #[default]
    Audience,
    /// `resource=` (RFC 8707)
    Resource,
    /// the provider has no API selection
    None,
}

impl AudienceParam {
    pub fn param_name(self) -> Option<&'static str> {
        match self {
            AudienceParam::Audience => Some("audience"),
            AudienceParam::Resource => Some("resource"),
            AudienceParam::None => None,
        }
    }
}

/// Where the claims of the `profile`/`email`/`address`/`phone` scopes land (OIDC Core §5.4).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimsInIdToken {
    /// in the ID token always (and in userinfo)
    #[default]
    Always,
    /// in the ID token only when no access token is issued; userinfo otherwise
    WhenNoAccessToken,
}

/// What access tokens for an API look like at this provider.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenFormat {
    /// JWTs (RFC 9068): checked claim by claim
    #[default]
    Jwt,
    /// opaque strings: the JWT checks are skipped
    Opaque,
}

/// How a failing check counts for this provider.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// a failure fails the case (the default)
    Fail,
    /// a failure is reported as a warning
    Warn,
    /// the check is not reported
    Off,
}

/// Client authentication at the token endpoint.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
    None,
    /// A JWT signed with the client's private key (OIDC Core §9, RFC 7523):
    /// the profile gives the key (`private_key`), or the run registers its own.
    PrivateKeyJwt,
    /// A JWT with an HMAC of the client secret (OIDC Core §9, RFC 7523).
    ClientSecretJwt,
}

impl ClientAuth {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::ClientSecretBasic => "client_secret_basic",
            ClientAuth::ClientSecretPost => "client_secret_post",
            ClientAuth::None => "none",
            ClientAuth::PrivateKeyJwt => "private_key_jwt",
            ClientAuth::ClientSecretJwt => "client_secret_jwt",
        }
    }

    /// The method a discovery or registration value names.
    pub fn from_name(name: &str) -> Option<ClientAuth> {
        Some(match name {
            "client_secret_basic" => ClientAuth::ClientSecretBasic,
            "client_secret_post" => ClientAuth::ClientSecretPost,
            "none" => ClientAuth::None,
            "private_key_jwt" => ClientAuth::PrivateKeyJwt,
            "client_secret_jwt" => ClientAuth::ClientSecretJwt,
            _ => return None,
        })
    }

    /// A method that sends a JWT assertion (`client_assertion`).
    pub fn is_jwt(self) -> bool {
        matches!(self, ClientAuth::PrivateKeyJwt | ClientAuth::ClientSecretJwt)
    }
}

/// Whether the provider remembers a user's consent to a client.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// a second authorization in the same browser shows no consent page
    Remembered,
    /// every authorization shows the consent page (a third-party client)
    EveryTime,
}

impl Consent {
    pub fn as_str(self) -> &'static str {
        match self {
            Consent::Remembered => "remembered",
            Consent::EveryTime => "every_time",
        }
    }
}

// ---------------------------------------------------------------- raw YAML

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    #[schemars(with = "String")]
    issuer: Spanned<String>,
    #[serde(default)]
    audience_param: AudienceParam,
    #[serde(default)]
    access_token_aud_includes_userinfo: bool,
    #[serde(default)]
    #[schemars(with = "Option<ClaimsInIdToken>")]
    claims_in_id_token: Option<Spanned<ClaimsInIdToken>>,
    #[serde(default)]
    #[schemars(with = "Option<TokenFormat>")]
    api_access_tokens: Option<Spanned<TokenFormat>>,
    #[serde(default)]
    access_token_azp: bool,
    /// RFC 8707 §2.2: with `audience_param: resource`, repeat `resource` at the
    /// token endpoint (code exchange and refresh). Default: yes.
    #[serde(default)]
    resource_at_token_endpoint: Option<bool>,
    /// Opt-in: how long the provider's authorization codes live (e.g. `60s`). The
    /// `code.lifetime` probe waits that long and expects the code refused.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    code_lifetime: Option<Spanned<String>>,
    /// Opt-in: run the cases that wait (`slow: true` in a suite, e.g. a `max_age` of 1 s
    /// to pass, a code reused after 30 s).
    #[serde(default)]
    waits: bool,
    /// Dynamic client registration (RFC 7591) where discovery has a `registration_endpoint`.
    #[serde(default)]
    registration: RawRegistration,
    /// Auth0 style: the `realm` (connection) sent with the password grant.
    #[serde(default)]
    password_realm: Option<String>,
    #[schemars(with = "Option<String>")]
    default_api: Option<Spanned<String>>,
    /// Capabilities the provider has although its discovery document does not advertise them.
    #[serde(default)]
    supports: Supports,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Level>")]
    checks: BTreeMap<String, Spanned<Level>>,
    #[serde(default)]
    namespaces: RawNamespaces,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawClient>")]
    clients: IndexMap<String, RawClient>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawApi>")]
    apis: IndexMap<String, RawApi>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RawUser>")]
    users: IndexMap<String, RawUser>,
    #[serde(default)]
    login: RawLogin,
    #[serde(default)]
    http: RawHttp,
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawNamespaces {
    custom: Option<String>,
    #[serde(default)]
    forbidden: Vec<String>,
    #[serde(default)]
    allowed_plain: Vec<String>,
    #[serde(default)]
    #[schemars(with = "Vec<RawCustomClaim>")]
    claims: Vec<Spanned<RawCustomClaim>>,
}

/// A custom claim the provider emits: its name alone, or where and when it appears.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
enum RawCustomClaim {
    Name(String),
    Full(RawCustomClaimFull),
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawCustomClaimFull {
    name: String,
    /// Released only when this scope is requested.
    scope: Option<String>,
    /// Where it appears (default: every token and userinfo).
    #[serde(rename = "in")]
    places: Option<Vec<ClaimPlace>>,
}

/// Where a claim can appear.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimPlace {
    IdToken,
    AccessToken,
    Userinfo,
}

impl ClaimPlace {
    pub fn describe(self) -> &'static str {
        match self {
            ClaimPlace::IdToken => "ID tokens",
            ClaimPlace::AccessToken => "access tokens",
            ClaimPlace::Userinfo => "userinfo",
        }
    }
}

/// How the run registers clients dynamically.
#[derive(Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawRegistration {
    /// The initial access token the registration endpoint asks for (RFC 7591 §3), if any.
    #[schemars(with = "Option<String>")]
    initial_access_token: Option<Spanned<String>>,
    /// The redirect URI registered clients get (default `https://oidc-conform.example.test/callback`;
    /// the harness never requests it).
    #[schemars(with = "Option<String>")]
    redirect_uri: Option<Spanned<String>>,
}

/// How the run registers clients dynamically (RFC 7591).
#[derive(Clone, Debug)]
pub struct Registration {
    pub initial_access_token: Option<Secret>,
    pub redirect_uri: String,
}

/// The redirect URI of registered clients unless the profile names one.
pub const REGISTERED_REDIRECT_URI: &str = "https://oidc-conform.example.test/callback";

/// What the provider offers beyond its discovery document (it under-advertises).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Supports {
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub response_types: Vec<String>,
    #[serde(default)]
    pub response_modes: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Optional features (`claims_parameter`, `request_parameter`, `registration`).
    #[serde(default)]
    pub features: Vec<crate::suite::Feature>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawClient {
    #[schemars(with = "String")]
    id: Spanned<String>,
    #[schemars(with = "Option<String>")]
    secret: Option<Spanned<String>>,
    /// The client's RSA private key, PEM (`PRIVATE KEY` or `RSA PRIVATE KEY`),
    /// for `private_key_jwt`: take it from `${file:…}` or `${env:…}`.
    #[schemars(with = "Option<String>")]
    private_key: Option<Spanned<String>>,
    #[serde(default)]
    auth: Option<ClientAuth>,
    /// Every authentication method the client is registered for (default: `auth`).
    #[serde(default)]
    auth_methods: Option<Vec<ClientAuth>>,
    #[schemars(with = "Option<String>")]
    redirect_uri: Option<Spanned<String>>,
    /// A `post_logout_redirect_uri` registered for the client (OIDC
    /// RP-Initiated Logout §3.1): where the provider sends the browser after
    /// a logout the client asked for. Without it the logout suite skips.
    #[schemars(with = "Option<String>")]
    post_logout_redirect_uri: Option<Spanned<String>>,
    /// The grant types the client is registered for.
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    /// The response types the client is registered for.
    #[serde(default)]
    response_types: Option<Vec<String>>,
    /// A third-party client: it can never skip consent (the brief).
    #[serde(default)]
    #[schemars(with = "bool")]
    third_party: Option<Spanned<bool>>,
    /// Whether a second authorization in the same browser shows the consent
    /// page again: `remembered` (it does not) or `every_time` (it does).
    /// `third_party: true` is not such a declaration: that a third-party
    /// client gets consent every time is the brief's rule, which the
    /// `consent.third_party` check judges as the provider's.
    #[serde(default)]
    #[schemars(with = "Option<Consent>")]
    consent: Option<Spanned<Consent>>,
    /// The algorithm the client is registered for its ID tokens (OIDC Dynamic
    /// Registration §2; `none` for an unsigned ID token from the token endpoint).
    #[serde(default)]
    id_token_signed_response_alg: Option<String>,
    /// The algorithm the client is registered for signed userinfo responses.
    #[serde(default)]
    userinfo_signed_response_alg: Option<String>,
    /// Scopes the client may ask for, sent with client credentials when the
    /// case selects no API (a provider may refuse a request without a scope,
    /// RFC 6749 §3.3).
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawApi {
    #[schemars(with = "String")]
    identifier: Spanned<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawUser {
    #[schemars(with = "String")]
    username: Spanned<String>,
    #[schemars(with = "String")]
    password: Spanned<String>,
    #[serde(default)]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    claims: IndexMap<String, Spanned<serde_json::Value>>,
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawLogin {
    #[schemars(with = "Option<String>")]
    username: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    password: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    consent: Option<Spanned<String>>,
    /// `auto` (the default: the form driver, and the browser for a page with
    /// no usable form but with scripts), `form` or `browser`.
    #[schemars(with = "Option<crate::login::browser::Driver>")]
    driver: Option<Spanned<String>>,
    /// For an odd login page, what the browser driver does there first, in
    /// order: `fill` a field (`with: username | password`), `click` a
    /// control, `wait_for` an element. Detection takes over after the last.
    #[serde(default)]
    steps: Vec<RawStep>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawStep {
    /// A CSS selector of the field to type into.
    #[schemars(with = "Option<String>")]
    fill: Option<Spanned<String>>,
    /// What to type into a `fill` field: `username` or `password`.
    #[schemars(with = "Option<String>")]
    with: Option<Spanned<String>>,
    /// A CSS selector of the control to press.
    #[schemars(with = "Option<String>")]
    click: Option<Spanned<String>>,
    /// A CSS selector of an element to wait for.
    #[schemars(with = "Option<String>")]
    wait_for: Option<Spanned<String>>,
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    #[schemars(with = "Option<String>")]
    timeout: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    clock_skew: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    case_timeout: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    max_body: Option<Spanned<String>>,
    #[schemars(with = "Option<u64>")]
    max_redirects: Option<Spanned<u64>>,
    #[schemars(with = "Option<u64>")]
    retries: Option<Spanned<u64>>,
    #[schemars(with = "Option<u64>")]
    max_jwks_keys: Option<Spanned<u64>>,
    #[schemars(with = "Option<String>")]
    ca_file: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    rate: Option<Spanned<String>>,
    #[schemars(with = "Option<u64>")]
    max_concurrency: Option<Spanned<u64>>,
    /// Origins besides the issuer's that may receive client secrets and passwords
    /// (a token endpoint or login page the provider serves from another host).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    trusted_origins: Vec<Spanned<String>>,
}

// ---------------------------------------------------------------- resolved

/// A loaded provider profile with every variable expanded.
#[derive(Clone, Debug)]
pub struct Profile {
    pub name: String,
    /// The issuer exactly as configured (compared without normalisation).
    pub issuer: String,
    pub audience_param: AudienceParam,
    pub access_token_aud_includes_userinfo: bool,
    pub claims_in_id_token: ClaimsInIdToken,
    pub api_access_tokens: TokenFormat,
    /// The provider puts `azp` (= client id) in API access tokens, as the brief's model does.
    pub access_token_azp: bool,
    /// Send `resource` at the token endpoint too (RFC 8707 §2.2).
    pub resource_at_token_endpoint: bool,
    /// Opt-in: the lifetime of the provider's authorization codes, for the probe that waits it out.
    pub code_lifetime: Option<Duration>,
    /// Opt-in: run the cases that wait (`slow: true`).
    pub waits: bool,
    /// Dynamic client registration settings.
    pub registration: Registration,
    /// `realm` sent with the password grant (Auth0's connection name).
    pub password_realm: Option<String>,
    /// Capabilities declared by the profile beyond discovery.
    pub supports: Supports,
    /// The API (key of `apis`) an access token is for when a request names none;
    /// without it, such a token must not name any API.
    pub default_api: Option<String>,
    /// Check levels tuned for this provider (check id → level).
    pub checks: BTreeMap<String, Level>,
    pub namespaces: Namespaces,
    /// In the profile's order: cases pick the first that fits.
    pub clients: IndexMap<String, Client>,
    pub apis: IndexMap<String, Api>,
    pub users: IndexMap<String, User>,
    pub login: Selectors,
    pub timeout: Duration,
    pub clock_skew: Duration,
    /// Limits on what the provider controls.
    pub limits: crate::flow::http::Limits,
    /// A private CA to trust (`http.ca_file`, relative to the profile).
    pub ca_file: Option<std::path::PathBuf>,
    /// At most this many requests (`http.rate`, e.g. `10/s`); `--rate` overrides.
    pub rate: Option<crate::flow::http::Rate>,
    /// At most this many cases at once (`http.max_concurrency`); `--jobs` overrides.
    pub max_concurrency: Option<usize>,
    /// Origins besides the issuer's trusted with secrets (`http.trusted_origins`), as `scheme://host:port`.
    pub trusted_origins: Vec<String>,
    /// Where the profile came from, for messages.
    pub source: String,
    /// Where the profile declares what the pre-flight proves.
    pub declared_at: DeclaredAt,
}

/// Positions in the profile of declarations the pre-flight proves (`None`:
/// not written, the default applies).
#[derive(Clone, Debug, Default)]
pub struct DeclaredAt {
    pub api_access_tokens: Option<Pos>,
    pub claims_in_id_token: Option<Pos>,
}

#[derive(Clone, Debug, Default)]
pub struct Namespaces {
    /// Namespace the provider's custom claims use, e.g. `https://example.test/`.
    pub custom: Option<String>,
    /// Provider-owned prefixes that must not be used as a namespace.
    pub forbidden: Vec<String>,
    /// Vendor claims accepted without a namespace.
    pub allowed_plain: Vec<String>,
    /// Custom claims the provider is set up to emit.
    pub claims: Vec<CustomClaim>,
}

/// A custom claim the profile declares.
#[derive(Clone, Debug)]
pub struct CustomClaim {
    /// The name without the namespace.
    pub name: String,
    /// Released only when this scope is requested.
    pub scope: Option<String>,
    /// Where it appears; `None`: every token and userinfo.
    pub places: Option<Vec<ClaimPlace>>,
    /// Where the profile declares it.
    pub declared_at: Option<Pos>,
}

impl CustomClaim {
    /// Whether the claim is due in `place` for a request of `scopes`.
    pub fn due(&self, place: ClaimPlace, scopes: &[&str]) -> bool {
        self.scope.as_deref().is_none_or(|s| scopes.contains(&s)) && self.places.as_ref().is_none_or(|p| p.contains(&place))
    }
}

impl Namespaces {
    /// The namespaced names of the declared custom claims.
    pub fn namespaced(&self, c: &CustomClaim) -> String {
        format!("{}{}", self.custom.as_deref().unwrap_or(""), c.name)
    }
}

#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub secret: Option<Secret>,
    /// The key its `private_key_jwt` assertions are signed with.
    pub(crate) private_key: Option<std::sync::Arc<crate::reference::keys::Keys>>,
    /// The method used unless a case needs another registered one.
    pub auth: ClientAuth,
    /// Every method the client is registered for.
    pub auth_methods: Vec<ClientAuth>,
    pub redirect_uri: Option<String>,
    /// A registered `post_logout_redirect_uri` (OIDC RP-Initiated Logout §3.1).
    pub post_logout_redirect_uri: Option<String>,
    /// Registered grant types; `None`: not declared (see [`Client::grant`]).
    pub grant_types: Option<Vec<String>>,
    /// Registered response types; `None`: not declared (whatever the provider offers).
    pub response_types: Option<Vec<String>>,
    /// A third-party client: the user always sees a consent page for it (the brief).
    pub third_party: bool,
    /// The algorithm registered for its ID tokens (default RS256).
    pub id_token_signed_response_alg: Option<String>,
    /// The algorithm registered for signed userinfo responses (default: plain JSON).
    pub userinfo_signed_response_alg: Option<String>,
    /// Where the profile declares the client's `id` and `redirect_uri` (for
    /// `doctor`'s profile errors); `None` for clients the run registered.
    pub declared_at: Option<(Option<Pos>, Option<Pos>)>,
    /// What the profile says of the consent page on a second authorization
    /// (`consent:`), and where; `None`: not said.
    pub consent: Option<(Consent, Option<Pos>)>,
    /// Scopes sent with client credentials when no API is selected.
    pub scopes: Vec<String>,
}

/// The grants a client can be asked for, and how a profile says so.
pub const BROWSER_GRANTS: &[&str] = &["authorization_code", "implicit", "refresh_token"];

impl Client {
    /// A client with no secret that authenticates with `none`.
    pub fn is_public(&self) -> bool {
        self.secret.is_none() && self.auth == ClientAuth::None
    }

    /// Whether the client may use `grant`, or why not. Undeclared grant types
    /// are taken as: the browser grants for a client with a redirect URI, client
    /// credentials for a client with a secret and no redirect URI.
    pub fn grant(&self, key: &str, grant: &str) -> Result<(), String> {
        match &self.grant_types {
            Some(g) if g.iter().any(|x| x == grant) => Ok(()),
            Some(g) => Err(format!(
                "client `{key}` is not registered for the `{grant}` grant (its grant_types: {})",
                if g.is_empty() { "none".to_owned() } else { g.join(", ") }
            )),
            None => {
                let ok = if grant == "client_credentials" {
                    self.secret.is_some() && self.redirect_uri.is_none()
                } else {
                    BROWSER_GRANTS.contains(&grant) && self.redirect_uri.is_some()
                };
                if ok {
                    Ok(())
                } else {
                    Err(format!(
                        "client `{key}` declares no grant_types, and `{grant}` is not assumed for it (declare `grant_types: [{grant}]` in the profile if it is registered for it)"
                    ))
                }
            }
        }
    }

    /// Whether the client is registered for `response_type` (word order does not matter).
    pub fn response_type(&self, key: &str, response_type: &str) -> Result<(), String> {
        let Some(types) = &self.response_types else { return Ok(()) };
        if types.iter().any(|t| same_words(t, response_type)) {
            Ok(())
        } else {
            Err(format!(
                "client `{key}` is not registered for response_type `{response_type}` (its response_types: {})",
                if types.is_empty() { "none".to_owned() } else { types.join(", ") }
            ))
        }
    }

    /// Whether the client is declared as NOT registered for `response_type`.
    pub fn lacks_response_type(&self, response_type: &str) -> bool {
        self.response_types
            .as_ref()
            .is_some_and(|types| !types.iter().any(|t| same_words(t, response_type)))
    }
}

/// Space-separated lists equal as sets (`code id_token` = `id_token code`).
pub fn same_words(a: &str, b: &str) -> bool {
    let mut x: Vec<&str> = a.split_whitespace().collect();
    let mut y: Vec<&str> = b.split_whitespace().collect();
    x.sort_unstable();
    y.sort_unstable();
    x == y
}

#[derive(Clone, Debug)]
pub struct Api {
    pub identifier: String,
    pub scopes: Vec<String>,
    /// Where the profile declares its identifier.
    pub declared_at: Option<Pos>,
}

#[derive(Clone, Debug)]
pub struct User {
    pub username: String,
    pub password: Secret,
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// Where the profile declares the user's password, and each claim.
    pub declared_at: UserAt,
}

/// Positions of a user's declarations in the profile.
#[derive(Clone, Debug, Default)]
pub struct UserAt {
    pub username: Option<Pos>,
    pub password: Option<Pos>,
    pub claims: BTreeMap<String, Pos>,
}

/// The JSON Schema of profile files (for editor completion and validation).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RawProfile)).unwrap_or_default()
}

/// Loads and resolves a profile file.
pub fn load(path: &Path) -> Result<Profile, Diagnostics> {
    let source = Source::read(path)?;
    parse(&source)
}

/// Parses and resolves a profile from text already read.
pub fn parse(source: &Source) -> Result<Profile, Diagnostics> {
    let raw: RawProfile = crate::diag::parse_yaml(source)?;
    let mut diags = Diagnostics::default();
    let base = source.path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut text = |s: &Spanned<String>, what: &str| -> String {
        let mut why = None;
        let expanded = vars::expand(&s.value, |name| match vars::external(name, &base) {
            Ok(v) => Some(v),
            Err(e) => {
                why = Some(e);
                None
            }
        });
        match expanded {
            Ok(v) => v,
            Err(e) => {
                let mut d = var_diagnostic(source, s, &e, what);
                if let Some(why) = why {
                    d.hint = Some(why);
                }
                diags.push(d);
                String::new()
            }
        }
    };
    let issuer = text(&raw.issuer, "issuer");
    let registration = Registration {
        initial_access_token: raw
            .registration
            .initial_access_token
            .as_ref()
            .map(|t| Secret::credential(text(t, "registration initial access token"))),
        redirect_uri: raw
            .registration
            .redirect_uri
            .as_ref()
            .map(|u| text(u, "registration redirect URI"))
            .unwrap_or_else(|| REGISTERED_REDIRECT_URI.to_owned()),
    };
    let mut key_problems = Vec::new();
    let clients: IndexMap<String, Client> = raw
        .clients
        .iter()
        .map(|(name, c)| {
            let private_key = c.private_key.as_ref().and_then(|k| {
                let pem = text(k, "client private key");
                // The key is a credential: never shown, whatever path it takes.
                let _ = Secret::credential(pem.clone());
                match crate::reference::keys::Keys::from_private_pem(&pem) {
                    Ok(keys) => Some(std::sync::Arc::new(keys)),
                    Err(e) if !pem.is_empty() => {
                        key_problems.push((spanned_pos(k), format!("client `{name}`'s private_key: {e}")));
                        None
                    }
                    Err(_) => None,
                }
            });
            let auth = c.auth.unwrap_or(if c.secret.is_some() {
                ClientAuth::ClientSecretBasic
            } else {
                ClientAuth::None
            });
            let mut auth_methods = c.auth_methods.clone().unwrap_or_default();
            if !auth_methods.contains(&auth) {
                auth_methods.insert(0, auth);
            }
            let client = Client {
                id: text(&c.id, "client id"),
                secret: c.secret.as_ref().map(|s| Secret::credential(text(s, "client secret"))),
                private_key,
                auth,
                auth_methods,
                redirect_uri: c.redirect_uri.as_ref().map(|s| text(s, "redirect_uri")),
                post_logout_redirect_uri: c.post_logout_redirect_uri.as_ref().map(|s| text(s, "post_logout_redirect_uri")),
                grant_types: c.grant_types.clone(),
                response_types: c.response_types.clone(),
                third_party: c.third_party.as_ref().is_some_and(|t| t.value),
                consent: c.consent.as_ref().map(|k| (k.value, spanned_pos(k))),
                id_token_signed_response_alg: c.id_token_signed_response_alg.clone(),
                userinfo_signed_response_alg: c.userinfo_signed_response_alg.clone(),
                declared_at: Some((spanned_pos(&c.id), c.redirect_uri.as_ref().and_then(spanned_pos))),
                scopes: c.scopes.clone(),
            };
            (name.clone(), client)
        })
        .collect();
    let mut client_problems = Vec::new();
    for (at, message) in key_problems {
        client_problems.push(source.error_at(at, 1, message).with_hint(
            "give the client's RSA private key as PEM (`-----BEGIN PRIVATE KEY-----`), e.g. `private_key: ${file:client-key.pem}`",
        ));
    }
    for (name, c) in &clients {
        let Some(raw_client) = raw.clients.get(name) else { continue };
        let at = spanned_pos(&raw_client.id);
        if c.auth_methods.contains(&ClientAuth::PrivateKeyJwt) && c.private_key.is_none() && raw_client.private_key.is_none() {
            client_problems.push(
                source
                    .error_at(at, raw_client.id.value.chars().count().max(1), format!("client `{name}` authenticates with `private_key_jwt` but has no `private_key`"))
                    .with_hint("add `private_key: ${file:client-key.pem}` (the RSA private key whose public key the provider holds for the client)"),
            );
        }
        if c.auth_methods.contains(&ClientAuth::ClientSecretJwt) && c.secret.is_none() {
            client_problems.push(
                source
                    .error_at(
                        at,
                        raw_client.id.value.chars().count().max(1),
                        format!("client `{name}` authenticates with `client_secret_jwt` but has no `secret`"),
                    )
                    .with_hint("add the client's `secret`: client_secret_jwt signs with it (HS256)"),
            );
        }
    }
    let apis = raw
        .apis
        .iter()
        .map(|(name, a)| {
            let api = Api {
                identifier: text(&a.identifier, "API identifier"),
                scopes: a.scopes.clone(),
                declared_at: spanned_pos(&a.identifier),
            };
            (name.clone(), api)
        })
        .collect();
    let users = raw
        .users
        .iter()
        .map(|(name, u)| {
            let user = User {
                username: text(&u.username, "username"),
                password: Secret::credential(text(&u.password, "password")),
                claims: u.claims.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect(),
                declared_at: UserAt {
                    username: spanned_pos(&u.username),
                    password: spanned_pos(&u.password),
                    // At the claim's name, where its line has it before the value.
                    claims: u
                        .claims
                        .iter()
                        .filter_map(|(k, v)| {
                            let at = spanned_pos(v)?;
                            let line = source.text.lines().nth(at.line as usize - 1).unwrap_or_default();
                            let col = line
                                .find(k.as_str())
                                .map(|b| line[..b].chars().count() as u32 + 1)
                                .filter(|c| *c < at.col)
                                .unwrap_or(at.col);
                            Some((k.clone(), Pos { line: at.line, col }))
                        })
                        .collect(),
                },
            };
            (name.clone(), user)
        })
        .collect();
    let h = &raw.http;
    let ms = Duration::from_millis;
    let mins = |m: u64| Duration::from_secs(60 * m);
    let timeout = duration(
        source,
        h.timeout.as_ref(),
        "http.timeout",
        Duration::from_secs(10),
        (ms(1), mins(10)),
        &mut diags,
    );
    let clock_skew = duration(
        source,
        h.clock_skew.as_ref(),
        "http.clock_skew",
        Duration::from_secs(300),
        (ms(0), mins(60)),
        &mut diags,
    );
    let defaults = crate::flow::http::Limits::default();
    let limits = crate::flow::http::Limits {
        timeout,
        case_timeout: duration(
            source,
            h.case_timeout.as_ref(),
            "http.case_timeout",
            defaults.case_timeout,
            (ms(1), mins(60)),
            &mut diags,
        ),
        max_body: size(source, h.max_body.as_ref(), defaults.max_body, &mut diags),
        max_redirects: number(
            source,
            h.max_redirects.as_ref(),
            "http.max_redirects",
            defaults.max_redirects as u64,
            (1, 100),
            &mut diags,
        ) as usize,
        retries: number(
            source,
            h.retries.as_ref(),
            "http.retries",
            u64::from(defaults.retries),
            (0, 10),
            &mut diags,
        ) as u32,
        max_jwks_keys: number(
            source,
            h.max_jwks_keys.as_ref(),
            "http.max_jwks_keys",
            defaults.max_jwks_keys as u64,
            (1, 10_000),
            &mut diags,
        ) as usize,
    };
    let max_concurrency = h
        .max_concurrency
        .as_ref()
        .map(|m| number(source, Some(m), "http.max_concurrency", 1, (1, MAX_JOBS as u64), &mut diags) as usize);
    let mut steps = Vec::new();
    for (i, step) in raw.login.steps.iter().enumerate() {
        use crate::login::browser::{Credential, Step};
        let n = i + 1;
        let given: Vec<&Spanned<String>> = [&step.fill, &step.click, &step.wait_for].into_iter().flatten().collect();
        let Some(first) = given.first() else {
            diags.push(
                Diagnostic::new(format!("login step {n} says nothing to do"))
                    .with_hint("write `fill: SELECTOR` with `with: username | password`, `click: SELECTOR` or `wait_for: SELECTOR`"),
            );
            continue;
        };
        if given.len() > 1 {
            diags.push(
                source
                    .error_at(
                        spanned_pos(first),
                        first.value.chars().count().max(1),
                        format!("login step {n} does more than one thing"),
                    )
                    .with_hint("give each step one of `fill`, `click` or `wait_for`, in the order they happen"),
            );
            continue;
        }
        if let Err(e) = scraper::Selector::parse(&first.value) {
            diags.push(
                source
                    .error_at(
                        value_pos(source, first),
                        first.value.chars().count().max(1),
                        selector_message(&first.value, &e),
                    )
                    .with_hint(format!(
                        "login step {n}: write a plain CSS selector such as `#email` or `button[type=submit]`"
                    )),
            );
            continue;
        }
        let selector = first.value.clone();
        if step.fill.is_some() {
            let with = match step.with.as_ref().map(|w| w.value.as_str()) {
                Some("username") => Credential::Username,
                Some("password") => Credential::Password,
                other => {
                    let at = step.with.as_ref().unwrap_or(first);
                    diags.push(
                        source
                            .error_at(
                                spanned_pos(at),
                                at.value.chars().count().max(1),
                                format!(
                                    "login step {n} fills `{selector}` with {}",
                                    other.map(|o| format!("`{o}`")).unwrap_or("nothing".into())
                                ),
                            )
                            .with_hint("add `with: username` or `with: password` (the user's own values; never write a secret here)"),
                    );
                    continue;
                }
            };
            steps.push(Step::Fill { selector, with });
        } else if step.with.is_some() {
            let at = step.with.as_ref().unwrap_or(first);
            diags.push(
                source
                    .error_at(
                        spanned_pos(at),
                        at.value.chars().count().max(1),
                        format!("login step {n} has `with` but does not `fill`"),
                    )
                    .with_hint("`with` goes with `fill`"),
            );
        } else if step.click.is_some() {
            steps.push(Step::Click(selector));
        } else {
            steps.push(Step::WaitFor(selector));
        }
    }
    let driver = match &raw.login.driver {
        None => crate::login::browser::Driver::Auto,
        Some(d) => match d.value.as_str() {
            "auto" => crate::login::browser::Driver::Auto,
            "form" => crate::login::browser::Driver::Form,
            "browser" => crate::login::browser::Driver::Browser,
            other => {
                diags.push(
                    source
                        .error_at(
                            spanned_pos(d),
                            other.chars().count().max(1),
                            format!("`{other}` is not a login driver"),
                        )
                        .with_hint("write `auto` (the form driver, the browser for pages that need JavaScript), `form` or `browser`"),
                );
                crate::login::browser::Driver::Auto
            }
        },
    };
    // The login selectors must be CSS selectors (checked here, not at the first login).
    for (field, sel) in [
        ("login.username", &raw.login.username),
        ("login.password", &raw.login.password),
        ("login.consent", &raw.login.consent),
    ] {
        if let Some(sel) = sel
            && let Err(e) = scraper::Selector::parse(&sel.value)
        {
            diags.push(
                source
                    .error_at(value_pos(source, sel), sel.value.chars().count(), selector_message(&sel.value, &e))
                    .with_hint(format!(
                        "{field}: write a plain CSS selector such as `#username` or `input[name=\"login\"]`, or leave it out to use detection"
                    )),
            );
        }
    }
    // A third-party client never skips consent: it cannot remember it.
    for (key, c) in &raw.clients {
        if let (Some(k), Some(_)) = (&c.consent, c.third_party.as_ref().filter(|t| t.value))
            && k.value == Consent::Remembered
        {
            diags.push(
                source
                    .error_at(
                        spanned_pos(k),
                        "remembered".len(),
                        format!("client `{key}` is third-party, whose consent is never remembered"),
                    )
                    .with_hint(
                        "a third-party client sees the consent page every time: write `consent: every_time`, or drop `third_party: true`",
                    ),
            );
        }
    }
    // Redirect URIs: absolute URLs (the harness recognises the redirect back by them).
    let expanded_ok = |written: &Spanned<String>| vars::expand(&written.value, |name| vars::external(name, &base).ok()).is_ok();
    for (key, c) in &raw.clients {
        if let Some(r) = &c.redirect_uri {
            if r.value.trim().is_empty() {
                diags.push(
                    source
                        .error_at(spanned_pos(r), 1, format!("client `{key}` has an empty redirect_uri"))
                        .with_hint(
                            "write a redirect URI registered for the client at the provider, or leave the key out for a machine client",
                        ),
                );
            } else if let Some(why) = clients
                .get(key)
                .and_then(|c: &Client| c.redirect_uri.as_deref())
                .filter(|_| expanded_ok(r))
                .and_then(redirect_uri_problem)
            {
                diags.push(
                    source
                        .error_at(value_pos(source, r), r.value.chars().count(), format!("client `{key}`'s redirect_uri {why}"))
                        .with_hint("write the absolute redirect URI registered for the client at the provider, e.g. `https://app.example.com/callback`"),
                );
            }
        }
    }
    if let Some(r) = &raw.registration.redirect_uri
        && expanded_ok(r)
        && let Some(why) = redirect_uri_problem(&registration.redirect_uri)
    {
        diags.push(
            source
                .error_at(value_pos(source, r), r.value.chars().count().max(1), format!("registration.redirect_uri {why}"))
                .with_hint(format!(
                    "write the absolute redirect URI registered clients get, e.g. `https://rp.example.com/callback`, or leave it out for `{REGISTERED_REDIRECT_URI}`"
                )),
        );
    }
    let ca_file = h.ca_file.as_ref().and_then(|f| {
        let path = source.path.parent().unwrap_or(Path::new(".")).join(&f.value);
        let problem = crate::flow::http::read_ca_file(&path).err();
        match problem {
            Some(p) => {
                diags.push(
                    source
                        .error_at(spanned_pos(f), f.value.chars().count(), p)
                        .with_hint("name a PEM file of CA certificates (`-----BEGIN CERTIFICATE-----`), relative to this profile"),
                );
                None
            }
            None => Some(path),
        }
    });
    if (issuer.is_empty() || url::Url::parse(&issuer).is_err()) && diags.is_empty() {
        diags.push(
            source
                .error_at(
                    spanned_pos(&raw.issuer),
                    raw.issuer.value.chars().count(),
                    "issuer is not an absolute URL",
                )
                .with_hint("write the issuer exactly as the provider's discovery document states it, e.g. https://login.example.com/"),
        );
    }
    for (id, level) in &raw.checks {
        if crate::check::catalogue::find(id).is_none() {
            let ids = crate::check::catalogue::CATALOGUE.iter().map(|c| c.id);
            let hint = match crate::diag::did_you_mean(id, ids) {
                Some(best) => format!("did you mean `{best}`? (`oidc-conform checks` lists every check id)"),
                None => "`oidc-conform checks` lists every check id".to_owned(),
            };
            let pos = spanned_pos(level).map(|p| Pos { line: p.line, col: 3 });
            diags.push(
                source
                    .error_at(pos, id.chars().count(), format!("unknown check `{id}`"))
                    .with_hint(hint),
            );
        }
    }
    if let Some(d) = &raw.default_api
        && !raw.apis.contains_key(&d.value)
    {
        let keys: Vec<&str> = raw.apis.keys().map(String::as_str).collect();
        let hint = match crate::diag::did_you_mean(&d.value, keys.iter().copied()) {
            Some(best) => format!("did you mean `{best}`? (apis: {})", keys.join(", ")),
            None => format!(
                "name one of the profile's apis: {}",
                if keys.is_empty() {
                    "none defined".to_owned()
                } else {
                    keys.join(", ")
                }
            ),
        };
        diags.push(
            source
                .error_at(
                    spanned_pos(d),
                    d.value.chars().count(),
                    format!("unknown api `{}` in default_api", d.value),
                )
                .with_hint(hint),
        );
    }
    let profile = Profile {
        name: raw.name,
        issuer,
        audience_param: raw.audience_param,
        access_token_aud_includes_userinfo: raw.access_token_aud_includes_userinfo,
        claims_in_id_token: raw.claims_in_id_token.as_ref().map(|c| c.value).unwrap_or_default(),
        api_access_tokens: raw.api_access_tokens.as_ref().map(|c| c.value).unwrap_or_default(),
        access_token_azp: raw.access_token_azp,
        resource_at_token_endpoint: raw.resource_at_token_endpoint.unwrap_or(true),
        code_lifetime: raw.code_lifetime.as_ref().map(|v| {
            duration(
                source,
                Some(v),
                "code_lifetime",
                Duration::from_secs(60),
                (Duration::from_secs(1), Duration::from_secs(3600)),
                &mut diags,
            )
        }),
        waits: raw.waits,
        registration,
        password_realm: raw.password_realm,
        supports: raw.supports,
        default_api: raw.default_api.as_ref().map(|d| d.value.clone()),
        checks: raw.checks.into_iter().map(|(k, v)| (k, v.value)).collect(),
        namespaces: Namespaces {
            custom: raw.namespaces.custom,
            forbidden: raw.namespaces.forbidden,
            allowed_plain: raw.namespaces.allowed_plain,
            claims: raw
                .namespaces
                .claims
                .into_iter()
                .map(|c| {
                    let declared_at = spanned_pos(&c);
                    match c.value {
                        RawCustomClaim::Name(name) => CustomClaim {
                            name,
                            scope: None,
                            places: None,
                            declared_at,
                        },
                        RawCustomClaim::Full(f) => CustomClaim {
                            name: f.name,
                            scope: f.scope,
                            places: f.places,
                            declared_at,
                        },
                    }
                })
                .collect(),
        },
        clients,
        apis,
        users,
        login: Selectors {
            username: raw.login.username.map(|s| s.value),
            password: raw.login.password.map(|s| s.value),
            consent: raw.login.consent.map(|s| s.value),
            driver,
            steps,
            fresh_sign_ins: false,
        },
        timeout,
        clock_skew,
        limits,
        rate: raw.http.rate.as_ref().and_then(|r| match r.value.parse() {
            Ok(rate) => Some(rate),
            Err(e) => {
                diags.push(
                    source
                        .error_at(spanned_pos(r), r.value.chars().count(), e)
                        .with_hint("write `10/s` or `600/m`"),
                );
                None
            }
        }),
        max_concurrency,
        trusted_origins: h
            .trusted_origins
            .iter()
            .filter_map(|o| match url::Url::parse(&o.value) {
                Ok(u) if u.has_host() => Some(u.origin().ascii_serialization()),
                _ => {
                    diags.push(
                        source
                            .error_at(spanned_pos(o), o.value.chars().count(), format!("`{}` is not an origin", o.value))
                            .with_hint("write the scheme and host (and port), e.g. `https://auth.example.com`"),
                    );
                    None
                }
            })
            .collect(),
        ca_file,
        source: source.path.display().to_string(),
        declared_at: DeclaredAt {
            api_access_tokens: raw.api_access_tokens.as_ref().and_then(spanned_pos),
            claims_in_id_token: raw.claims_in_id_token.as_ref().and_then(spanned_pos),
        },
    };
    diags.0.extend(client_problems);
    diags.into_result(profile)
}

/// What keeps `uri` from being a redirect URI: an absolute URL without a
/// fragment (RFC 6749 §3.1.2), without spaces or control characters.
fn redirect_uri_problem(uri: &str) -> Option<String> {
    if uri.trim().is_empty() {
        return Some("is empty".into());
    }
    let shown: String = uri.chars().take(120).flat_map(char::escape_default).collect();
    if uri.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Some(format!("`{shown}` contains a space or a control character"));
    }
    match url::Url::parse(uri) {
        Err(_) => Some(format!("`{shown}` is not an absolute URL")),
        Ok(u) if u.fragment().is_some() => Some(format!("`{shown}` has a fragment (RFC 6749 §3.1.2)")),
        Ok(_) => None,
    }
}

/// "`SELECTOR` is not a valid CSS selector: what is wrong".
fn selector_message(selector: &str, e: &scraper::error::SelectorErrorKind) -> String {
    format!(
        "`{}` is not a valid CSS selector: {}",
        crate::login::form::shown_selector(selector),
        crate::login::form::selector_error_reason(e)
    )
}

pub(crate) fn spanned_pos<T>(s: &Spanned<T>) -> Option<Pos> {
    Pos::from_location(&s.defined)
}

/// A diagnostic for a variable that did not expand, pointing at the variable.
pub(crate) fn var_diagnostic(source: &Source, s: &Spanned<String>, e: &vars::VarError, what: &str) -> Diagnostic {
    let pos = spanned_pos(s).map(|p| Pos {
        line: p.line,
        // Quoted scalars start one column before their first character.
        col: p.col + e.offset as u32 + u32::from(starts_quoted(source, p)),
    });
    let shown = format!("${{{}}}", e.name);
    match e.kind {
        vars::VarErrorKind::Unterminated => source
            .error_at(pos, 2, format!("unterminated variable in {what}"))
            .with_hint("close it with `}`, e.g. `${env:CLIENT_SECRET}`"),
        vars::VarErrorKind::Undefined => {
            let hint = if let Some(var) = e.name.strip_prefix("env:") {
                format!("set the environment variable `{var}` before running")
            } else if let Some(path) = e.name.strip_prefix("file:") {
                format!("the file `{path}` could not be read")
            } else {
                "profiles know `${env:NAME}` and `${file:PATH}`".to_owned()
            };
            source
                .error_at(pos, shown.chars().count(), format!("undefined variable `{shown}` in {what}"))
                .with_hint(hint)
        }
    }
}

/// Where a scalar's text starts: after its opening quote, if quoted.
pub(crate) fn value_pos(source: &Source, s: &Spanned<String>) -> Option<Pos> {
    spanned_pos(s).map(|p| Pos {
        line: p.line,
        col: p.col + u32::from(!s.value.is_empty() && starts_quoted(source, p)),
    })
}

fn starts_quoted(source: &Source, p: Pos) -> bool {
    source
        .text
        .lines()
        .nth(p.line as usize - 1)
        .and_then(|l| l.chars().nth(p.col as usize - 1))
        .is_some_and(|c| c == '"' || c == '\'')
}

/// Parses durations such as `10s`, `500ms`, `2m`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (num, unit) = text.split_at(split);
    let n: f64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" | "min" => n * 60.0,
        _ => return None,
    };
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(secs).ok()
}

/// Most cases at once (`--jobs`, `http.max_concurrency`).
pub const MAX_JOBS: usize = 1024;

/// Parses sizes such as `512KiB`, `1MiB`, `65536`.
pub fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: usize = num.parse().ok()?;
    let mult = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "KB" | "k" | "K" => 1024,
        "MiB" | "MB" | "M" => 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn size(source: &Source, value: Option<&Spanned<String>>, default: usize, diags: &mut Diagnostics) -> usize {
    let Some(v) = value else { return default };
    const MIN: usize = 1024;
    const MAX: usize = 256 * 1024 * 1024;
    match parse_size(&v.value) {
        Some(n) if (MIN..=MAX).contains(&n) => n,
        Some(_) => {
            diags.push(
                source
                    .error_at(
                        spanned_pos(v),
                        v.value.chars().count(),
                        format!("http.max_body `{}` is out of range", v.value),
                    )
                    .with_hint("write a size from 1KiB to 256MiB, e.g. `1MiB`"),
            );
            default
        }
        None => {
            diags.push(
                source
                    .error_at(spanned_pos(v), v.value.chars().count(), format!("`{}` is not a size", v.value))
                    .with_hint("write a number of bytes with an optional unit: `65536`, `512KiB` or `2MiB`"),
            );
            default
        }
    }
}

fn duration(
    source: &Source,
    value: Option<&Spanned<String>>,
    name: &str,
    default: Duration,
    (min, max): (Duration, Duration),
    diags: &mut Diagnostics,
) -> Duration {
    let Some(v) = value else { return default };
    let show = |d: Duration| humantime::format_duration(d).to_string();
    match parse_duration(&v.value) {
        Some(d) if d >= min && d <= max => d,
        Some(_) => {
            diags.push(
                source
                    .error_at(
                        spanned_pos(v),
                        v.value.chars().count(),
                        format!("{name} `{}` is out of range", v.value),
                    )
                    .with_hint(format!(
                        "write a duration from {} to {}",
                        show(min.max(Duration::from_millis(1))),
                        show(max)
                    )),
            );
            default
        }
        None if parse_duration_number_too_big(&v.value) => {
            diags.push(
                source
                    .error_at(
                        spanned_pos(v),
                        v.value.chars().count(),
                        format!("{name} `{}` is out of range", v.value),
                    )
                    .with_hint(format!("write a duration of at most {}", show(max))),
            );
            default
        }
        None => {
            diags.push(
                source
                    .error_at(spanned_pos(v), v.value.chars().count(), format!("`{}` is not a duration", v.value))
                    .with_hint("write a number with a unit: `500ms`, `10s` or `2m`"),
            );
            default
        }
    }
}

/// A well-formed duration whose number is too big to represent.
fn parse_duration_number_too_big(text: &str) -> bool {
    let text = text.trim();
    let Some(split) = text.find(|c: char| !c.is_ascii_digit() && c != '.') else {
        return false;
    };
    let (num, unit) = text.split_at(split);
    matches!(unit.trim(), "ms" | "s" | "m" | "min") && num.parse::<f64>().is_ok()
}

fn number(source: &Source, value: Option<&Spanned<u64>>, name: &str, default: u64, (min, max): (u64, u64), diags: &mut Diagnostics) -> u64 {
    let Some(v) = value else { return default };
    if (min..=max).contains(&v.value) {
        return v.value;
    }
    diags.push(
        source
            .error_at(
                spanned_pos(v),
                v.value.to_string().len(),
                format!("{name} is {}, out of range", v.value),
            )
            .with_hint(format!("write a whole number from {min} to {max}")),
    );
    default
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("ten s"), None);
        assert_eq!(parse_duration("99999999999999999999s"), None);
        assert!(parse_duration_number_too_big("99999999999999999999s"));
    }

    #[test]
    fn the_pre_flights_declarations_keep_their_positions() {
        let src = Source::new(
            "p.yaml",
            "name: x\nissuer: http://127.0.0.1/\napi_access_tokens: opaque\nnamespaces:\n  custom: https://x.test/\n  claims:\n    - roles\n    - { name: tier, scope: loyalty }\nclients:\n  web: { id: w, redirect_uri: https://x.test/cb, consent: remembered }\n  partner: { id: p, redirect_uri: https://x.test/cb, third_party: true }\napis:\n  a: { identifier: https://api.x.test }\nusers:\n  u:\n    username: u\n    password: pw-1234567\n    claims:\n      name: U\n      address: { formatted: here }\n",
        );
        let p = parse(&src).unwrap();
        let at = |line, col| Some(Pos { line, col });
        assert_eq!(p.declared_at.api_access_tokens, at(3, 20));
        assert_eq!(p.declared_at.claims_in_id_token, None);
        let claims: Vec<_> = p.namespaces.claims.iter().map(|c| c.declared_at.map(|p| p.line)).collect();
        assert_eq!(claims, [Some(7), Some(8)]);
        assert_eq!(
            p.clients["web"].consent.map(|(c, at)| (c, at.map(|p| p.line))),
            Some((Consent::Remembered, Some(10)))
        );
        // `third_party: true` is no consent declaration (the provider's rule, `consent.third_party`).
        assert_eq!(p.clients["partner"].consent, None);
        assert_eq!(p.apis["a"].declared_at.map(|p| p.line), Some(13));
        let u = &p.users["u"].declared_at;
        assert_eq!((u.password.map(|p| p.line), u.claims.get("name").copied()), (Some(17), at(19, 7)));
        assert_eq!(u.claims.get("address").copied(), at(20, 7));
        // A third-party client cannot remember consent.
        let both = Source::new(
            "p.yaml",
            "name: x\nissuer: http://127.0.0.1/\nclients:\n  partner:\n    id: p\n    third_party: true\n    consent: remembered\n",
        );
        let err = parse(&both).unwrap_err();
        assert_eq!(err.0[0].pos, at(7, 14), "{}", err.0[0]);
        assert!(err.0[0].message.contains("third-party"), "{}", err.0[0]);
    }

    #[test]
    fn a_jwt_client_needs_its_key_or_secret() {
        let src = Source::new(
            "p.yaml",
            "name: x\nissuer: http://127.0.0.1/\nclients:\n  keyed: { id: k, auth: private_key_jwt }\n  maced: { id: m, auth: client_secret_jwt }\n  bad: { id: b, auth: private_key_jwt, private_key: not a key }\n",
        );
        let err = parse(&src).unwrap_err();
        let messages: Vec<&str> = err.0.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("`keyed` authenticates with `private_key_jwt` but has no `private_key`")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("`maced` authenticates with `client_secret_jwt` but has no `secret`")),
            "{messages:?}"
        );
        assert!(messages.iter().any(|m| m.contains("`bad`'s private_key")), "{messages:?}");
        // The error names no part of the key.
        assert!(!messages.iter().any(|m| m.contains("not a key")), "{messages:?}");
        let pem = include_str!("../../fixtures/keys/client-private-key.pem");
        let text = format!(
            "name: x\nissuer: http://127.0.0.1/\nclients:\n  keyed:\n    id: k\n    auth: private_key_jwt\n    private_key: |\n{}",
            pem.lines().map(|l| format!("      {l}\n")).collect::<String>()
        );
        let p = parse(&Source::new("p.yaml", &text)).unwrap();
        let c = &p.clients["keyed"];
        assert_eq!(c.auth, ClientAuth::PrivateKeyJwt);
        assert!(c.private_key.is_some() && c.secret.is_none());
    }

    #[test]
    fn undefined_env_variable_points_at_it() {
        let src = Source::new(
            "p.yaml",
            "name: x\nissuer: http://127.0.0.1/\nclients:\n  web: { id: \"${env:OIDC_CONFORM_SURELY_UNSET}\" }\n",
        );
        let err = parse(&src).unwrap_err();
        let d = &err.0[0];
        assert_eq!(d.pos, Some(Pos { line: 4, col: 15 }));
        assert!(d.message.contains("${env:OIDC_CONFORM_SURELY_UNSET}"), "{d}");
    }
}
