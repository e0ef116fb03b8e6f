//! The suite file format as written (serde types with positions).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_saphyr::Spanned;

/// The flows a case can drive.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Authorization code (with PKCE), RFC 6749 §4.1, OIDC Core §3.1
    Code,
    /// Implicit (`id_token`, `id_token token`), OIDC Core §3.2
    Implicit,
    /// Hybrid (`code id_token`, `code token`, `code id_token token`), OIDC Core §3.3
    Hybrid,
    /// Client credentials, RFC 6749 §4.4
    ClientCredentials,
    /// A code flow, then a refresh of its tokens, RFC 6749 §6
    Refresh,
    /// No flow: the discovery document and the JWKS themselves are judged
    Metadata,
    /// Resource owner password credentials, RFC 6749 §4.3 (RFC 9700 §2.4 deprecates it)
    Password,
    /// The device authorization grant, RFC 8628: a device authorization
    /// request, the user entering the user code at the verification URI (login
    /// and consent pages), and polling the token endpoint
    Device,
}

impl Flow {
    pub fn needs_user(self) -> bool {
        !matches!(self, Flow::ClientCredentials | Flow::Metadata)
    }

    /// The flow goes through the browser (a redirect URI, login and consent pages).
    pub fn needs_browser(self) -> bool {
        matches!(self, Flow::Code | Flow::Implicit | Flow::Hybrid | Flow::Refresh)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Code => "code",
            Flow::Implicit => "implicit",
            Flow::Hybrid => "hybrid",
            Flow::ClientCredentials => "client_credentials",
            Flow::Refresh => "refresh",
            Flow::Metadata => "metadata",
            Flow::Password => "password",
            Flow::Device => "device",
        }
    }

    /// The response type sent when the case does not name one.
    pub fn default_response_type(self) -> Option<&'static str> {
        match self {
            Flow::Code | Flow::Refresh => Some("code"),
            Flow::Implicit => Some("id_token token"),
            Flow::Hybrid => Some("code id_token"),
            Flow::ClientCredentials | Flow::Metadata | Flow::Password | Flow::Device => None,
        }
    }
}

/// The conformance area a case (and a check) reports under.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Scopes,
    Namespacing,
    Audience,
    IdToken,
    AccessToken,
    Userinfo,
    Negative,
    Flows,
    Security,
}

impl Area {
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Scopes => "scopes",
            Area::Namespacing => "namespacing",
            Area::Audience => "audience",
            Area::IdToken => "id_token",
            Area::AccessToken => "access_token",
            Area::Userinfo => "userinfo",
            Area::Negative => "negative",
            Area::Flows => "flows",
            Area::Security => "security",
        }
    }
}

/// One value or a list of them.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSuite {
    /// The suite's id (first half of every case id).
    pub suite: String,
    #[serde(default)]
    pub about: Option<String>,
    #[serde(default)]
    pub spec: Option<OneOrMany>,
    #[serde(default)]
    pub defaults: RawDefaults,
    pub cases: Vec<RawCase>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    #[schemars(with = "Option<String>")]
    pub client: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub user: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub api: Option<Spanned<String>>,
    pub flow: Option<Flow>,
    pub area: Option<Area>,
    /// What every case needs from the profile (a case's own `needs` replaces it).
    pub needs: Option<RawNeeds>,
}

/// What a case needs from the profile; the engine picks the client, API and
/// user that fit, or skips the case saying what is missing.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNeeds {
    /// The kind of client (default: what the flow needs: a machine client for
    /// client credentials, else any client registered for the flow).
    pub client: Option<ClientKind>,
    /// A client registered for this authentication method at the token endpoint.
    pub auth: Option<crate::profile::ClientAuth>,
    /// An API to request tokens for.
    pub api: Option<ApiNeed>,
    /// A user who has these claims.
    #[serde(default)]
    pub user_claims: Vec<String>,
    /// A client the profile declares NOT registered for this response type (negative cases).
    pub lacks_response_type: Option<String>,
    /// The profile declares custom claims (`namespaces.claims`).
    #[serde(default)]
    pub custom_claims: bool,
    /// A declared custom claim the profile puts here (`namespaces.claims[].in`,
    /// default everywhere), e.g. `access_token`: with `api: optional`, a case
    /// about access tokens then runs without an API where the profile selects none.
    pub custom_claim_in: Option<crate::profile::ClaimPlace>,
    /// A client whose registered redirect URI has a query.
    #[serde(default)]
    pub redirect_uri_query: bool,
    /// A client the profile gives a registered `post_logout_redirect_uri`.
    #[serde(default)]
    pub post_logout_redirect_uri: bool,
    /// Optional provider features discovery must advertise (or the profile's
    /// `supports.features` declare), e.g. `[claims_parameter]`.
    #[serde(default)]
    pub features: Vec<Feature>,
}

/// An optional provider feature a case needs.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// The `claims` request parameter (OIDC Core §5.5; discovery `claims_parameter_supported`).
    ClaimsParameter,
    /// Request objects by value (OIDC Core §6.1; discovery `request_parameter_supported`).
    RequestParameter,
    /// Dynamic client registration (RFC 7591; discovery `registration_endpoint`).
    Registration,
    /// Request objects by reference (OIDC Core §6.2; discovery
    /// `request_uri_parameter_supported`, true when absent).
    RequestUriParameter,
    /// Unsigned ID tokens from the token endpoint (discovery lists `none` in
    /// `id_token_signing_alg_values_supported`).
    UnsignedIdToken,
    /// RS256-signed userinfo responses (discovery `userinfo_signing_alg_values_supported`).
    SignedUserinfo,
    /// RS256-signed request objects (discovery `request_object_signing_alg_values_supported`).
    SignedRequestObject,
    /// Token revocation (RFC 7009; discovery `revocation_endpoint`, RFC 8414 §2).
    Revocation,
    /// Token introspection (RFC 7662; discovery `introspection_endpoint`, RFC 8414 §2).
    Introspection,
    /// Pushed authorization requests (RFC 9126; discovery
    /// `pushed_authorization_request_endpoint`, RFC 9126 §5).
    Par,
    /// `private_key_jwt` client authentication (OIDC Core §9; discovery
    /// `token_endpoint_auth_methods_supported`).
    PrivateKeyJwt,
    /// `client_secret_jwt` client authentication (OIDC Core §9; discovery
    /// `token_endpoint_auth_methods_supported`).
    ClientSecretJwt,
    /// RP-initiated logout (OIDC RP-Initiated Logout §2.1; discovery
    /// `end_session_endpoint`).
    Logout,
    /// Back-channel logout (OIDC Back-Channel Logout §2.1; discovery
    /// `backchannel_logout_supported: true`).
    BackchannelLogout,
    /// Front-channel logout (OIDC Front-Channel Logout §3; discovery
    /// `frontchannel_logout_supported: true`).
    FrontchannelLogout,
    /// Session management (OIDC Session Management §3.3; discovery
    /// `check_session_iframe`).
    SessionManagement,
    /// DPoP, proof of possession of a key the client holds (RFC 9449; discovery
    /// `dpop_signing_alg_values_supported`, §5.1).
    Dpop,
    /// Authorization requests taken only pushed (RFC 9126 §5; discovery
    /// `require_pushed_authorization_requests: true`).
    ParRequired,
    /// The device authorization grant (RFC 8628; discovery
    /// `device_authorization_endpoint`, RFC 8628 §4).
    Device,
}

impl Feature {
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::ClaimsParameter => "claims_parameter",
            Feature::RequestParameter => "request_parameter",
            Feature::Registration => "registration",
            Feature::RequestUriParameter => "request_uri_parameter",
            Feature::UnsignedIdToken => "unsigned_id_token",
            Feature::SignedUserinfo => "signed_userinfo",
            Feature::SignedRequestObject => "signed_request_object",
            Feature::Revocation => "revocation",
            Feature::Introspection => "introspection",
            Feature::Par => "par",
            Feature::PrivateKeyJwt => "private_key_jwt",
            Feature::ClientSecretJwt => "client_secret_jwt",
            Feature::Logout => "logout",
            Feature::BackchannelLogout => "backchannel_logout",
            Feature::FrontchannelLogout => "frontchannel_logout",
            Feature::SessionManagement => "session_management",
            Feature::Dpop => "dpop",
            Feature::Device => "device",
            Feature::ParRequired => "par_required",
        }
    }

    /// What discovery says when it offers the feature.
    pub fn discovery_member(self) -> &'static str {
        match self {
            Feature::ClaimsParameter => "claims_parameter_supported: true",
            Feature::RequestParameter => "request_parameter_supported: true",
            Feature::Registration => "a registration_endpoint",
            Feature::RequestUriParameter => "request_uri_parameter_supported: true (or absent)",
            Feature::UnsignedIdToken => "`none` in id_token_signing_alg_values_supported",
            Feature::SignedUserinfo => "RS256 in userinfo_signing_alg_values_supported",
            Feature::SignedRequestObject => "RS256 in request_object_signing_alg_values_supported",
            Feature::Revocation => "a revocation_endpoint",
            Feature::Introspection => "an introspection_endpoint",
            Feature::Par => "a pushed_authorization_request_endpoint",
            Feature::PrivateKeyJwt => "`private_key_jwt` in token_endpoint_auth_methods_supported",
            Feature::ClientSecretJwt => "`client_secret_jwt` in token_endpoint_auth_methods_supported",
            Feature::Logout => "an end_session_endpoint",
            Feature::BackchannelLogout => "backchannel_logout_supported: true",
            Feature::FrontchannelLogout => "frontchannel_logout_supported: true",
            Feature::SessionManagement => "a check_session_iframe",
            Feature::Dpop => "dpop_signing_alg_values_supported",
            Feature::Device => "a device_authorization_endpoint",
            Feature::ParRequired => "require_pushed_authorization_requests: true",
        }
    }
}

/// Which kind of client a case needs.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// A client with a secret.
    Confidential,
    /// A client without a secret (`auth: none`), relying on PKCE.
    Public,
    /// A client registered for client credentials.
    Machine,
    /// A client the profile marks `third_party: true` (it never skips consent).
    ThirdParty,
    /// Any client that fits the flow.
    Any,
}

/// How a case uses an API.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiNeed {
    /// The profile's first API; skipped when the profile has none or selects none.
    Required,
    /// The first API when the profile can select one; else the case runs without.
    Optional,
    /// The profile's second API (another API than the first).
    Second,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCase {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    #[serde(default)]
    pub about: Option<String>,
    #[serde(default)]
    pub area: Option<Area>,
    #[serde(default)]
    pub spec: Option<OneOrMany>,
    #[serde(default)]
    pub flow: Option<Flow>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub client: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub user: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub api: Option<Spanned<String>>,
    /// What the case needs from the profile (replaces `defaults.needs`).
    #[serde(default)]
    pub needs: Option<RawNeeds>,
    /// The built-in check a refusal case is reported under (default `negative.refused`),
    /// e.g. `pkce.downgrade`: its requirement level and spec come from the catalogue.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub check: Option<Spanned<String>>,
    /// The case waits (a `max_age` to pass, a code to age): it runs only where the
    /// profile opts in with `waits: true` (or `run --waits`), else it is skipped saying so.
    #[serde(default)]
    pub slow: bool,
    /// The case signs the user in itself, never through the run's shared
    /// session (see `run --fresh-sign-ins`): for a case whose verdict rests on
    /// its own sign-in in a way its request does not show. Cases that send
    /// `prompt`, `max_age`, a hint, `acr_values` or `claims`, start a
    /// `session`, answer consent other than by approving, or name a `pages.*`
    /// check sign in themselves without it.
    #[serde(default)]
    pub fresh_sign_in: bool,
    #[serde(default)]
    pub request: RawRequest,
    #[serde(default)]
    pub expect: RawExpect,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    #[schemars(with = "Option<String>")]
    pub scope: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub response_type: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub response_mode: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub prompt: Option<Spanned<String>>,
    /// `false` leaves the nonce out of the request.
    pub nonce: Option<bool>,
    /// The `state` sent, instead of a random one (probes: long or odd values).
    #[schemars(with = "Option<String>")]
    pub state: Option<Spanned<String>>,
    /// Sent as `audience=` whatever the profile says (for negative cases).
    #[schemars(with = "Option<String>")]
    pub audience: Option<Spanned<String>>,
    /// Sent as `resource=` whatever the profile says.
    #[schemars(with = "Option<String>")]
    pub resource: Option<Spanned<String>>,
    /// Overrides the client's redirect URI (for negative cases).
    #[schemars(with = "Option<String>")]
    pub redirect_uri: Option<Spanned<String>>,
    /// Sends a variant of the client's registered redirect URI (probes), e.g. `extra_path`.
    pub redirect_uri_variant: Option<crate::flow::redirect::Variant>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub params: BTreeMap<String, Spanned<String>>,
    /// Deliberate client mistakes, for cases that expect a refusal.
    #[serde(default)]
    pub misuse: Vec<Misuse>,
    /// How the access token is presented at userinfo.
    #[serde(default)]
    pub userinfo: UserinfoMethod,
    /// `deny`: refuse on the consent page (press deny / cancel) instead of
    /// approving; `{approve_only: [openid, profile]}`: approve, with the boxes of
    /// the other requested scopes unticked.
    pub consent: Option<ConsentDecision>,
    /// Parameters left out of the authorization request (probes).
    #[serde(default)]
    pub drop: Vec<String>,
    /// How the PKCE verifier and challenge are made (probes).
    #[serde(default)]
    pub pkce: RawPkce,
    /// Edits of the refresh (probes): `client: other` refreshes as another client.
    #[serde(default)]
    pub refresh: RawRefreshEdits,
    /// Register a new client first (RFC 7591, at discovery's `registration_endpoint`)
    /// and run the case with it; `metadata` overrides the registration request's
    /// members (`null` leaves one out).
    pub register: Option<RawRegister>,
    /// After the tokens are issued: a token-lifecycle probe at the provider's
    /// revocation (RFC 7009) or introspection (RFC 7662) endpoint.
    pub lifecycle: Option<Lifecycle>,
    /// Send the authorization request by pushing it to the provider's
    /// pushed authorization request endpoint (RFC 9126) first, with the
    /// probe's deliberate mistake before the correct push.
    pub par: Option<Par>,
    /// After the tokens are issued: an RP-initiated logout probe at the
    /// provider's `end_session_endpoint` (OIDC RP-Initiated Logout 1.0), in the
    /// same browser, followed by `prompt=none` to see whether the session ended.
    pub logout: Option<Logout>,
    /// DPoP (RFC 9449): the code exchange carries a DPoP proof of a key made
    /// for the case, and the probe's requests follow with the bound tokens.
    pub dpop: Option<Dpop>,
    /// `flow: device` only: what the device authorization grant probe does
    /// (RFC 8628; default `approve`).
    pub device: Option<Device>,
    /// After the tokens are issued (the case's client authenticating with a
    /// JWT method): client assertions with one fault each at the token
    /// endpoint, each followed by a conformant one (OIDC Core §9, RFC 7523 §3).
    #[serde(default)]
    pub client_assertions: bool,
    /// `flow: refresh` only: before the refresh, the same user signs in again
    /// in another browser, a second later; the refreshed ID token still has
    /// the `auth_time` of the case's own sign-in (OIDC Core §12.2).
    #[serde(default)]
    pub sign_in_elsewhere: bool,
    /// Sign the user in first, in the same browser, with a complete code flow; the
    /// case's own authorization then runs in that session (SSO, `prompt`, `max_age`,
    /// `id_token_hint`: `${session.id_token}` is the ID token of that sign-in).
    pub session: Option<RawSession>,
    /// Send the authorization parameters in a request object (OIDC Core §6):
    /// by value (`request`) or by reference (`request_uri`, served by the
    /// harness on this machine), unsigned or RS256-signed with a key the harness
    /// registers (`alg: RS256` needs `register`).
    pub request_object: Option<RawRequestObject>,
    /// Edits of the code exchange at the token endpoint (probes); `${pkce.verifier}`
    /// and `${pkce.challenge}` are this case's values.
    #[serde(default)]
    pub token: RawTokenEdits,
    /// Run the authorization and the code exchange this many times in all (2 to
    /// 32), in the same browser, keeping every code and token (`tokens.entropy`
    /// judges them character position by character position).
    pub samples: Option<usize>,
}

/// PKCE as the engine does it (RFC 7636): by default a random 43-character
/// verifier and its S256 challenge.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPkce {
    /// Length of the verifier (RFC 7636 §4.1 allows 43 to 128).
    pub verifier_length: Option<usize>,
    /// Put characters outside `[A-Za-z0-9-._~]` into the verifier.
    #[serde(default)]
    pub verifier_illegal: bool,
    /// `false`: send no `code_challenge` (the verifier is still sent at the token endpoint).
    pub challenge: Option<bool>,
}

/// Edits of the token request that redeems the code.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTokenEdits {
    /// Parameters set (added or replaced).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub params: BTreeMap<String, Spanned<String>>,
    /// Parameters left out.
    #[serde(default)]
    pub drop: Vec<String>,
    /// `GET`: send the exchange as a GET with its parameters in the URL (RFC 6749 §3.2 asks for POST).
    pub method: Option<TokenMethod>,
    /// `query`: put the client's credentials (`client_id`, `client_secret`) in the URL
    /// query instead of the body or the Basic header (RFC 6749 §2.3.1 forbids it).
    pub credentials: Option<CredentialsPlace>,
    /// Parameters sent twice, with the same value (RFC 6749 §3.2, §5.2).
    #[serde(default)]
    pub duplicate: Vec<String>,
    /// `other`: redeem the code as another client of the profile (RFC 6749 §4.1.3).
    pub client: Option<OtherClient>,
    /// Redeem the code this many times at once (2 to 32); at most one may succeed (RFC 6749 §4.1.2).
    pub parallel: Option<usize>,
    /// `true`: wait out the profile's `code_lifetime` (plus 2 s) before redeeming (opt-in: it waits).
    #[serde(default)]
    pub after_code_lifetime: bool,
    /// With `misuse: [reuse_code]`: seconds (0 to 60) between the redemption and the reuse.
    #[serde(default)]
    pub reuse_wait: u64,
}

/// A DPoP probe (RFC 9449). The code exchange carries a proof of a key made
/// for the case (ES256, else RS256). A probe that makes a mistake ends with the
/// correct request, so a refusal of the mistake is told apart from a provider
/// that refuses everything.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dpop {
    /// The code exchange with a valid proof: tokens, `token_type: DPoP`, and a
    /// JWT access token's `cnf.jkt` the key's thumbprint (§5, §6.1).
    Token,
    /// The bound access token at userinfo with the `DPoP` scheme and a proof
    /// carrying `ath` (§7, §7.1).
    Userinfo,
    /// First the bound access token at userinfo as a plain `Bearer` token,
    /// without proof (§7.2); then with its proof.
    Bearer,
    /// First a code exchange whose proof names another URL as `htu` (§4.3);
    /// then the same code with a valid proof.
    WrongHtu,
    /// First a code exchange whose proof names `GET` as `htm` (§4.3).
    WrongHtm,
    /// First a code exchange whose proof's signature does not verify (§4.3).
    BadSignature,
    /// At userinfo, the same proof (same `jti`) twice (§11.1); then a fresh one.
    Replay,
    /// A public client's refresh token: refreshed first with a proof of
    /// another key, then without a proof, then with the key it was bound to (§5).
    Refresh,
    /// First a code exchange with two `DPoP` headers, each a valid proof (§4.3 item 1).
    TwoProofs,
    /// First a code exchange whose proof's `typ` is `JWT` (§4.3 item 4).
    WrongTyp,
    /// First a code exchange whose proof is unsigned, `alg` `none` (§4.3 item 5).
    AlgNone,
    /// First a code exchange whose proof is signed with HS256, a symmetric
    /// algorithm (§4.3 item 5).
    SymmetricAlg,
    /// First a code exchange whose proof's `jwk` holds a private part `d` (§4.3 item 7).
    PrivateKey,
    /// First a code exchange whose proof has no `jti` (§4.2, §4.3 item 3).
    NoJti,
    /// First a code exchange whose proof has no `htm` (§4.2, §4.3 item 3).
    NoHtm,
    /// First a code exchange whose proof has no `htu` (§4.2, §4.3 item 3).
    NoHtu,
    /// First a code exchange whose proof has no `iat` (§4.2, §4.3 item 3).
    NoIat,
    /// First a code exchange whose `DPoP` header is not a JWT (§4.3 item 2).
    NotJwt,
    /// First a code exchange whose proof's header has no `typ` (§4.2, §4.3 item 4).
    NoTyp,
    /// First a code exchange whose proof's header has no `alg` (§4.2, §4.3 item 5).
    NoAlg,
    /// First a code exchange whose proof's header has no `jwk` (§4.2, §4.3 item 6).
    NoJwk,
    /// First a code exchange whose proof's `iat` is an hour ago (§4.3 item 11, §11.1).
    OldIat,
    /// First a code exchange whose proof's `iat` is an hour ahead (§4.3 item 11, §11.1).
    FutureIat,
    /// First a code exchange whose proof's `htu` carries a query and a
    /// fragment: to be taken, they are ignored (§4.3 item 9).
    HtuWithQuery,
    /// First a code exchange whose proof's `htu` has an upper-case scheme
    /// and host and an explicit port: to be taken after normalization (§4.3, SHOULD).
    HtuUnnormalized,
    /// Where the server uses nonces: once it gave one, a code exchange whose
    /// proof carries another nonce (§8: MUST be refused); then the nonce it gave.
    WrongNonce,
    /// Where the server uses nonces: once it gave one, a code exchange whose
    /// proof carries no nonce (§11.3: MUST NOT be taken); then the nonce it gave.
    NoNonce,
    /// At userinfo, a proof without `ath` (§4.3 item 12); then a valid one.
    UserinfoNoAth,
    /// At userinfo, a proof whose `ath` is the hash of another token (§4.3 item 12).
    UserinfoWrongAth,
    /// At userinfo, a valid proof of another key than the token's (§4.3 item 12).
    UserinfoOtherKey,
    /// At userinfo, the bound token in the scheme written `dpop` (RFC 9110
    /// §11.1: the scheme is case-insensitive).
    SchemeCase,
    /// The authorization request names the case's key in `dpop_jkt`; the
    /// code is redeemed first with a proof of another key (§10), then with
    /// the named key.
    Jkt,
    /// With `par: push`: the push carries a DPoP proof of the case's key
    /// and no `dpop_jkt` (§10.1); the code is redeemed first with a proof of
    /// another key, then with the case's key.
    PushedProof,
    /// The bound access token introspected by the case's client: `cnf.jkt`
    /// the key's thumbprint, and `token_type`, if given, `DPoP` (§6.2).
    Introspect,
    /// With `par: push`: first a push whose DPoP proof is of the case's key
    /// and whose `dpop_jkt` names another key (§10.1: refused); then the
    /// push with the proof alone, and the code redeemed with the case's key.
    PushedJktMismatch,
    /// With `register: { metadata: { dpop_bound_access_tokens: true } }`:
    /// the code exchange first without a DPoP proof (§5.2), then with one.
    BoundClient,
}

impl Dpop {
    /// Whether the probe sends a faulty proof with the bound token at userinfo.
    pub fn faulty_userinfo(self) -> bool {
        matches!(self, Dpop::UserinfoNoAth | Dpop::UserinfoWrongAth | Dpop::UserinfoOtherKey)
    }
}

/// An RP-initiated logout probe (OIDC RP-Initiated Logout 1.0). Every probe
/// runs after a complete code flow, in its browser; those that make a mistake
/// end with a correct logout, so a refusal of the mistake is told apart from
/// a provider whose logout never redirects.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Logout {
    /// A GET with `id_token_hint`, the registered `post_logout_redirect_uri`
    /// and `state`; any confirmation page is confirmed; then `prompt=none`.
    Get,
    /// The same as a POST with the parameters in a form body (§2).
    Post,
    /// First a `post_logout_redirect_uri` that differs from the registered one
    /// (an added query parameter, §3: exact match).
    UnregisteredRedirect,
    /// First an `id_token_hint` the provider never issued (the real one with
    /// its payload altered, so its signature no longer verifies, §2).
    ForgedHint,
    /// First a `client_id` that is not the one the hint was issued to (§2).
    OtherClientId,
    /// The logout URL without `id_token_hint`, never confirmed: the user must
    /// be asked, so the session still stands (§2); then the correct logout.
    Unconfirmed,
    /// The correct logout with `ui_locales` naming a locale no provider has
    /// before one it may (§2: "An error SHOULD NOT result").
    UiLocales,
    /// The correct logout, then the same request again once the user is
    /// logged out (§4: "explicitly not an error").
    Repeated,
    /// The correct logout of a client registered with the harness's
    /// `backchannel_logout_uri` (needs `register`): the logout token the
    /// provider POSTs there (OIDC Back-Channel Logout 1.0).
    Backchannel,
    /// The correct logout of a client registered with a
    /// `frontchannel_logout_uri` on its redirect URI's origin (needs
    /// `register`): the frames the provider's pages load (OIDC Front-Channel
    /// Logout 1.0).
    Frontchannel,
}

/// A device authorization grant probe (RFC 8628). Every probe starts with a
/// device authorization request (§3.1) and polls the token endpoint no faster
/// than the `interval` the provider gave (5 s without one, §3.2), 5 s slower
/// after each `slow_down` (§3.5).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// A poll before the user acts (`authorization_pending`), then the user
    /// enters the user code at `verification_uri`, signs in and approves, and
    /// the next poll gets the tokens.
    #[default]
    Approve,
    /// After the first poll, a second at once (faster than `interval`): a
    /// `slow_down` answer adds 5 s to every later poll; then as `approve`.
    SlowDown,
    /// The user enters the code and denies on the consent page: `access_denied`.
    Deny,
    /// Nobody enters the code: a poll once `expires_in` has passed gets
    /// `expired_token` (the case waits that long).
    Expire,
    /// As `approve`, then the same device code redeemed again.
    Reuse,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Approve => "approve",
            Device::SlowDown => "slow_down",
            Device::Deny => "deny",
            Device::Expire => "expire",
            Device::Reuse => "reuse",
        }
    }
}

/// A pushed-authorization-request probe (RFC 9126). Each one ends with a
/// correct push whose `request_uri` the authorization then uses, so a refusal
/// of the mistake is told apart from a provider that refuses everything.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Par {
    /// Only the correct push, then the authorization with `client_id` and `request_uri`.
    Push,
    /// First a push with a wrong client secret.
    WrongSecret,
    /// First a push without client authentication (a confidential client).
    WithoutClientAuth,
    /// First a push whose body carries a `request_uri`.
    RequestUriInBody,
    /// First a push with a redirect URI the client never registered, and its
    /// `request_uri` at the authorization endpoint if the push is taken.
    UnregisteredRedirect,
    /// After the authorization completed, the same `request_uri` again.
    Reuse,
    /// First a GET to the endpoint.
    Get,
    /// After the correct push, its `request_uri` with another client's
    /// `client_id` (a client of the profile); then the client's own authorization.
    OtherClient,
    /// Where the provider takes only pushed requests: first the same
    /// authorization request sent unpushed, without a session (RFC 9126 §5).
    Unpushed,
    /// First a push authenticated as the case's client whose `client_id` (and
    /// redirect URI) are another client's of the profile, and, if it is
    /// taken, its `request_uri` sent with that client's `client_id`.
    NamesOtherClient,
    /// With a signed request object by value: first a push whose object's
    /// `client_id` claim is another client's of the profile (RFC 9126 §3),
    /// and, if it is taken, its `request_uri` at the authorization endpoint.
    RequestObjectOtherClient,
    /// With a client that authenticates with a client assertion: first three
    /// pushes whose assertion's `aud` is the issuer identifier, the token
    /// endpoint URL and the pushed authorization request endpoint URL (RFC
    /// 9126 §2: each MUST be accepted).
    AssertionAudiences,
    /// Opt-in (`slow: true`): first a push whose `request_uri` is left to
    /// expire (its `expires_in` and a second more, at most 10 minutes), then
    /// sent to the authorization endpoint (RFC 9126 §4: MUST be rejected).
    Expire,
}

/// A token-lifecycle probe, run once the case's tokens are issued.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// Revoke the refresh token (hinted as one), then refresh with it.
    RevokeRefreshToken,
    /// Revoke the refresh token hinted as an access token, then refresh with it.
    RevokeRefreshTokenWrongHint,
    /// Revoke the refresh token without client authentication, then refresh with it.
    RevokeWithoutClientAuth,
    /// Revoke the access token, then ask whether it is still taken
    /// (introspection where offered, else userinfo).
    RevokeAccessToken,
    /// Revoke a token the provider never issued.
    RevokeUnknownToken,
    /// Introspect the access token, a token never issued, and the access token
    /// without authentication.
    Introspect,
}

/// How a case sends its request object (OIDC Core §6.1, §6.2).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRequestObject {
    /// `value` (the `request` parameter) or `reference` (`request_uri`).
    pub by: RequestObjectBy,
    /// `none` (unsigned) or `RS256`.
    pub alg: RequestObjectAlg,
    /// Corrupt the signature (a probe: the provider must refuse it).
    #[serde(default)]
    pub bad_signature: bool,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestObjectBy {
    Value,
    Reference,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub enum RequestObjectAlg {
    #[serde(rename = "none")]
    None,
    RS256,
}

/// A dynamic registration before the case. In a refusal case reported under a
/// `registration.*` check the registration is what must be refused; every
/// other case runs its flow with the registered client. `${registration.redirect_uri}`
/// in a metadata string is the profile's redirect URI for registered clients.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRegister {
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub metadata: BTreeMap<String, Value>,
}

/// The sign-in that makes the browser session a case runs in.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSession {
    /// `other`: sign in through another client of the profile registered for the
    /// code grant (single sign-on); default: the case's own client.
    pub client: Option<OtherClient>,
    /// Seconds to wait after the sign-in (0 to 60), e.g. to let a `max_age` pass or
    /// make `auth_time` move.
    #[serde(default)]
    pub wait: u64,
}

/// Edits of the refresh request.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRefreshEdits {
    /// `other`: refresh as another client of the profile registered for refresh (RFC 6749 §10.4).
    pub client: Option<OtherClient>,
}

/// The HTTP method of a token request probe.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub enum TokenMethod {
    #[serde(rename = "GET", alias = "get")]
    Get,
    #[serde(rename = "POST", alias = "post")]
    Post,
}

/// Where a token request probe puts the client's credentials.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialsPlace {
    /// In the URL query string.
    Query,
}

/// Another client than the case's.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OtherClient {
    /// The first other client of the profile registered for the code grant.
    Other,
}

/// What the harness decides on a consent page.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentDecision {
    #[default]
    Approve,
    Deny,
    /// Approve these of the requested scopes only.
    ApproveOnly(Vec<String>),
}

/// How userinfo is called (OIDC Core §5.3.1; RFC 6750 §2).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserinfoMethod {
    /// GET with `Authorization: Bearer`
    #[default]
    Get,
    /// POST with `Authorization: Bearer`
    PostHeader,
    /// POST with `access_token` in the form body
    PostBody,
    /// GET with `access_token` in the URL query (RFC 6750 §2.3; a probe: it should be refused)
    Query,
}

/// A deliberate mistake the engine makes so the provider has something to refuse.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Misuse {
    /// Authenticate at the token endpoint with a wrong client secret.
    WrongClientSecret,
    /// Send a code_verifier that does not match the code_challenge.
    WrongCodeVerifier,
    /// Redeem the authorization code a second time (RFC 6749 §10.5).
    ReuseCode,
    /// Refresh again with the refresh token a refresh rotated out.
    ReuseRefreshToken,
    /// Ask for an API the provider does not know, with the profile's API parameter.
    UnregisteredApi,
    /// Send a wrong password with the password grant.
    WrongPassword,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    pub id_token: Option<RawTokenExpect>,
    pub access_token: Option<RawTokenExpect>,
    pub userinfo: Option<RawTokenExpect>,
    pub token_response: Option<RawTokenExpect>,
    pub error: Option<OneOrMany>,
    /// A refusal with one of these codes is conformant too (where the spec allows either).
    pub or_error: Option<OneOrMany>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTokenExpect {
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub present: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub absent: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub equals: BTreeMap<String, Spanned<Value>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub aud_contains: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub scope_includes: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub scope_excludes: Vec<Spanned<String>>,
}
