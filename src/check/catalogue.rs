//! The catalogue of built-in checks: stable id, area, spec reference and the
//! one-line reason each exists. `oidc-conform checks` prints it.

use crate::suite::Area;

/// The requirement level of a check (RFC 2119 keywords of the rule it checks).
/// A failure of a MUST fails the case; of a SHOULD or a MAY it is a warning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Requirement {
    #[default]
    Must,
    Should,
    May,
}

impl Requirement {
    pub fn as_str(self) -> &'static str {
        match self {
            Requirement::Must => "MUST",
            Requirement::Should => "SHOULD",
            Requirement::May => "MAY",
        }
    }
}

/// Whom the rule a check cites binds, read in its section. A rule that binds
/// only the client is never a provider finding: a provider going along with a
/// client that breaks it is noted, not failed (see [`super::apply_levels`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Binds {
    /// The OP, authorization server or resource server.
    #[default]
    Provider,
    /// The client (relying party) alone.
    Client,
    /// Both parties, each with its share.
    Both,
}

impl Binds {
    pub fn as_str(self) -> &'static str {
        match self {
            Binds::Provider => "provider",
            Binds::Client => "client",
            Binds::Both => "both",
        }
    }
}

/// One built-in check.
#[derive(Clone, Copy, Debug)]
pub struct CheckDef {
    pub id: &'static str,
    pub area: Area,
    pub level: Requirement,
    pub binds: Binds,
    pub spec: &'static str,
    pub rationale: &'static str,
}

macro_rules! checks {
    ($($id:literal, $area:ident, $level:ident, $binds:ident, $spec:literal, $why:literal;)*) => {
        /// Every built-in check, in report order.
        pub const CATALOGUE: &[CheckDef] = &[$(CheckDef { id: $id, area: Area::$area, level: Requirement::$level, binds: Binds::$binds, spec: $spec, rationale: $why }),*];
    };
}

checks! {
    "flow.supported", Flows, Must, Provider, "OIDC-Discovery-3", "A case runs only when discovery advertises its grant, response type, response mode and scopes; otherwise it is skipped with the reason.";
    "flow.authorization", Flows, Must, Provider, "RFC6749-4.1.2", "A valid authorization request is answered with a redirect carrying the response, not an error.";
    "flow.state", Flows, Must, Provider, "RFC6749-4.1.2", "The `state` sent is returned unchanged, so the client can tie the response to its request.";
    "flow.token", Flows, Must, Provider, "RFC6749-5.1", "A valid token request is answered with tokens, not an error.";
    "id_token.refresh", IdToken, Must, Provider, "OIDC-Core-12.2", "A refreshed ID token keeps the original's `iss`, `sub`, `aud`, `azp` and `auth_time`, has a new `iat`, and any `nonce` equals the original's.";
    "flow.response_mode", Flows, Must, Provider, "OAuth-FormPost", "The response arrives in the response mode the client asked for (query, fragment or form_post).";
    "flow.id_token_issued", IdToken, Must, Provider, "OIDC-Core-3.1.3.3", "A request with the `openid` scope gets an ID token.";
    "id_token.unrequested", Scopes, Should, Provider, "OIDC-Core-3.1.2.1", "Without the `openid` scope the request is plain OAuth: no ID token.";
    "id_token.decode", IdToken, Must, Provider, "RFC7519-7.2", "The ID token is a well-formed JWT.";
    "id_token.signature", IdToken, Must, Provider, "OIDC-Core-3.1.3.7", "The signature verifies with the provider's JWKS key chosen by `kid` (HS* with the client secret); never `alg: none`.";
    "id_token.registered_alg", IdToken, Must, Provider, "OIDC-Registration-2", "A client registered with `id_token_signed_response_alg` gets ID tokens signed with that algorithm; `none` (unsigned) only from the token endpoint, never from the authorization endpoint.";
    "id_token.alg", IdToken, Should, Provider, "OIDC-Core-3.1.3.7", "The signing algorithm is one the discovery document lists in `id_token_signing_alg_values_supported`.";
    "id_token.iss", IdToken, Must, Provider, "OIDC-Core-3.1.3.7", "`iss` exactly equals the issuer from discovery.";
    "id_token.aud", Audience, Must, Provider, "OIDC-Core-3.1.3.7", "`aud` contains the client id: the ID token is for the client, never for an API.";
    "id_token.azp", Audience, Should, Provider, "OIDC-Core-3.1.3.7", "With several audiences `azp` is present, and when present it equals the client id.";
    "id_token.exp", IdToken, Must, Provider, "OIDC-Core-3.1.3.7", "The token has not expired (`exp` after now, with the allowed clock skew).";
    "id_token.iat", IdToken, Must, Provider, "OIDC-Core-3.1.3.7", "`iat` is present and not in the future beyond the allowed clock skew.";
    "id_token.nonce", IdToken, Must, Provider, "OIDC-Core-3.1.3.7", "The `nonce` sent in the request comes back unchanged in the ID token.";
    "id_token.sub", IdToken, Must, Provider, "OIDC-Core-2", "`sub` is present, at most 255 ASCII characters.";
    "id_token.auth_time", IdToken, Must, Provider, "OIDC-Core-2", "`auth_time` is the time the user signed in: a number within the case's own window (from its start, a session signed in earlier in the case included, to `iat`, widened by the clock skew); REQUIRED for a request with `max_age` (OIDC Core §3.1.2.1).";
    "id_token.at_hash", IdToken, Must, Provider, "OIDC-Core-3.2.2.9", "`at_hash` matches the access token issued with the ID token (required from the authorization endpoint).";
    "id_token.c_hash", IdToken, Must, Provider, "OIDC-Core-3.3.2.11", "`c_hash` matches the code issued with the ID token in hybrid responses.";
    "access_token.format", Audience, Must, Provider, "RFC9068-3", "An access token requested for an API is a JWT for that API when the profile says the provider issues JWTs (an opaque one means the API selection was ignored).";
    "access_token.decode", AccessToken, Must, Provider, "RFC9068-2", "A JWT access token is well formed (opaque tokens are reported as such).";
    "access_token.signature", AccessToken, Must, Provider, "RFC9068-4", "A JWT access token's signature verifies with the provider's keys; never `alg: none`.";
    "access_token.typ", AccessToken, Must, Provider, "RFC9068-2.1", "A JWT access token's header `typ` is `at+jwt`.";
    "access_token.iss", AccessToken, Must, Provider, "RFC9068-2.2", "`iss` exactly equals the issuer.";
    "access_token.exp", AccessToken, Must, Provider, "RFC9068-2.2", "`exp` is present and in the future.";
    "access_token.aud", Audience, Must, Provider, "RFC9068-3", "`aud` contains the API the token was requested for (and the userinfo URL when the profile says so).";
    "access_token.default_audience", Audience, Must, Provider, "RFC9068-3", "Without an API in the request the access token is for the profile's `default_api`, or for no API at all; a requested scope value (e.g. `openid`) in `aud` is no resource indicator (RFC 9068 §3: the default resource indicator MUST be used; RFC 8707 §2).";
    "access_token.azp", Audience, Must, Provider, "Brief", "`azp` names the client the access token was issued to (required where the profile's `access_token_azp` says the provider issues it).";
    "access_token.claims", AccessToken, Must, Provider, "RFC9068-2.2", "`sub`, `client_id`, `iat` and `jti` are present (REQUIRED), with their types: `sub`, `client_id` and `jti` non-empty strings (RFC 7519 §4.1.2, §4.1.7), `iat` a NumericDate. A client-credentials token's `sub` names the client (RFC 9068 §2.2 SHOULD), never `null`.";
    "access_token.scope", Scopes, Must, Provider, "RFC9068-2.2.3", "The `scope` claim carries the granted API scopes, and none that were not requested or the API does not define.";
    "token_response.scope", Scopes, Must, Provider, "RFC6749-5.1", "When the granted scope differs from the requested one, the token response says so in `scope`.";
    "scopes.requested_claims", Scopes, Should, Provider, "OIDC-Core-5.4", "The claims of each requested standard scope (profile, email, address, phone) that the user has are returned where the profile's policy puts them.";
    "scopes.unrequested_claims", Scopes, Must, Provider, "OIDC-Core-5.4", "No claims of standard scopes that were not requested.";
    "namespacing.plain_claim", Namespacing, Must, Provider, "Brief", "Every claim outside the registered set (and the profile's `allowed_plain`) is namespaced by an http(s) URL: the product brief's MUST (\"Custom claims MUST be namespaced with an http/https URL\"). OIDC Core §5.1.2 only recommends collision-resistant names (\"it is RECOMMENDED that collision-resistant names be used for the Claim Names\").";
    "namespacing.provider_domain", Namespacing, Must, Provider, "Brief", "No custom claim is namespaced under one of the provider's own domains.";
    "namespacing.declared", Namespacing, Must, Provider, "Brief", "The custom claims the profile declares appear under its namespace.";
    "userinfo.status", Userinfo, Must, Provider, "OIDC-Core-5.3.2", "Userinfo answers a valid access token with claims.";
    "userinfo.sub", Userinfo, Must, Provider, "OIDC-Core-5.3.2", "Userinfo `sub` equals the ID token's `sub`.";
    "userinfo.signed", Userinfo, Must, Provider, "OIDC-Core-5.3.2", "A client registered with `userinfo_signed_response_alg` gets userinfo as a JWT (`application/jwt`) signed with that algorithm and verifying with the provider's keys, with `iss` the issuer and `aud` including its client id.";
    "userinfo.rejects_id_token", Audience, Must, Provider, "OIDC-Core-5.3.1", "Userinfo refuses an ID token presented as a bearer token: APIs take access tokens, never ID tokens.";
    "userinfo.requires_token", Userinfo, Must, Provider, "RFC6750-3.1", "Userinfo refuses a request that carries no access token.";
    "userinfo.invalid_token_error", Userinfo, Should, Provider, "RFC6750-3.1", "A token userinfo does not accept (an ID token presented as a bearer token) is refused with `error=\"invalid_token\"` and HTTP 401, not `invalid_request`, no code or another status: RFC 6750 §3 (\"SHOULD include the error attribute\") and §3.1 define `invalid_token` for a token that is \"expired, revoked, malformed, or invalid for other reasons\" (the resource server SHOULD answer it with 401) and `invalid_request` for a malformed request.";
    "pkce.downgrade", Security, Must, Provider, "RFC9700-4.8", "PKCE cannot be downgraded: a verifier for a request that had no challenge, and a missing verifier for one that had, are refused.";
    "pkce.plain_for_s256", Security, Must, Provider, "RFC7636-4.6", "An S256 challenge is not satisfied by sending the challenge itself as the verifier (no silent `plain` fallback).";
    "pkce.verifier_syntax", Security, Should, Provider, "RFC7636-4.1", "A verifier shorter than 43, longer than 128 characters or with characters outside `[A-Za-z0-9-._~]` is refused.";
    "authorization_response.iss", Security, Must, Provider, "RFC9207-2", "Where discovery advertises `authorization_response_iss_parameter_supported`, every authorization response (errors too) carries `iss` equal to the issuer (mix-up defence).";
    "token_response.no_store", Security, Must, Provider, "RFC6749-5.1", "A token response carries `Cache-Control: no-store`, so no cache keeps the tokens.";
    "token_response.pragma", Security, Should, Provider, "RFC6749-5.1", "A token response carries `Pragma: no-cache` too (RFC 6749 §5.1 asks for it; RFC 9111 deprecates `Pragma`, hence a SHOULD here).";
    "token_endpoint.client_auth_challenge", Security, Must, Provider, "RFC6749-5.2", "A failed HTTP Basic client authentication is answered 401 with a `WWW-Authenticate` challenge.";
    "userinfo.www_authenticate", Security, Must, Provider, "RFC6750-3", "A userinfo 401 carries a `WWW-Authenticate: Bearer` challenge.";
    "token_endpoint.post_only", Security, Must, Client, "RFC6749-3.2", "A code exchange sent as a GET, its code and verifier in the URL. RFC 6749 §3.2: \"The client MUST use the HTTP \"POST\" method when making access token requests.\" The rule binds the client: a provider that answers the GET is noted, not failed.";
    "token_endpoint.credentials_in_query", Security, Must, Client, "RFC6749-2.3.1", "Client credentials in the URL query of a token request. RFC 6749 §2.3.1: \"The parameters can only be transmitted in the request-body and MUST NOT be included in the request URI.\" The rule binds the client that sends them: a provider that takes them is noted, not failed.";
    "token_endpoint.public_client_secret", Security, Must, Provider, "RFC6749-4.1.3", "A public client's code exchange that carries a `client_secret` it was never issued is refused with `invalid_client`: RFC 6749 §4.1.3 \"the authorization server MUST … authenticate the client if client authentication is included\", and a failed authentication is `invalid_client` (§5.2). Taking the request without looking at the secret means any secret passes.";
    "metadata.values", Flows, Should, Provider, "OIDC-Discovery-3", "Discovery's members hold values of their own kind: grant types in `grant_types_supported` (RFC 7591 §2 values, not response types such as `code`), response types built of `code`, `token`, `id_token` and `none` in `response_types_supported` (not grant types), response modes, client authentication methods, PKCE methods and subject types where those go, each member an array of strings. OIDC Discovery §3 defines each member's values without a requirement keyword, hence a warning.";
    "token_endpoint.duplicate_params", Security, Must, Provider, "RFC6749-5.2", "A token request that repeats a parameter is refused (`invalid_request`: the request repeats a parameter).";
    "code.client_binding", Security, Must, Provider, "RFC6749-4.1.3", "A code is redeemed only by the client it was issued to: another client of the same provider is refused.";
    "code.redirect_uri_binding", Security, Must, Provider, "RFC6749-4.1.3", "A code exchange whose `redirect_uri` is missing or differs from the authorization request's is refused.";
    "code.single_use", Security, Must, Provider, "RFC6749-4.1.2", "Of several redemptions of one code sent at the same moment, at most one succeeds (no race in the single-use rule), in rounds with a new code each until a race letting one redemption in ten through would be missed with a chance of at most 10^-3; the verdict states the bound.";
    "code.reuse_revokes", Security, Should, Provider, "RFC6749-4.1.2", "After a second redemption of a code is refused, the access token of its first redemption no longer works.";
    "redirect_uri.required", Security, Must, Provider, "RFC6749-3.1.2.3", "An authorization request without `redirect_uri` from a client registered with several is refused, never answered at one of them (RFC 6749 §3.1.2.3: the client MUST then include it; OIDC Core §3.1.2.1 makes it REQUIRED).";
    "redirect_uri.exact_match", Security, Must, Provider, "RFC9700-2.1", "An authorization request whose redirect_uri is a variant of the registered one naming another resource (path, query, port, scheme, host) is refused, never redirected there: exact string matching (loopback ports of native apps aside).";
    "redirect_uri.equivalent_spelling", Security, Should, Provider, "RFC9700-2.1", "A variant of the registered redirect URI that RFC 3986 calls equivalent (host case, default port written out, a percent-encoded letter) or that adds a fragment is refused too. Exact matching is a MUST; accepting such a spelling still sends the response to the registered endpoint, hence a SHOULD here.";
    "redirect_uri.query_retained", Flows, Must, Provider, "RFC6749-3.1.2", "When the registered redirect URI has a query, the response keeps it and adds its parameters (the query MUST be retained; oidcc-redirect-uri-query-OK).";
    "authorization_response.error_mode", Security, Must, Provider, "RFC6749-4.2.2.1", "An authorization error is delivered where the response would have been: in the fragment for implicit and hybrid response types (OIDC Core §3.2.2.6, §3.3.2.6), as form_post when asked, in the query for `code`.";
    "userinfo.token_in_query", Security, Must, Client, "RFC9700-4.3.2", "Userinfo with the access token in the URL query. RFC 9700 §4.3.2: \"Clients MUST NOT pass access tokens in a URI query parameter\"; RFC 6750 §2.3: \"Resource servers MAY support this method.\" The rule binds the client: a provider that answers is noted, not failed.";
    "token_response.client_credentials_refresh", Security, Should, Provider, "RFC6749-4.4.3", "A client-credentials token response carries no refresh token (the client can always ask again).";
    "pages.framing", Security, Should, Provider, "RFC9700-4.16", "Login and consent pages are sent with `X-Frame-Options` (DENY or SAMEORIGIN) or a CSP `frame-ancestors` directive, so no other site can frame them (clickjacking; RFC 9700 asks servers to prevent it and names these headers; frame-busting script cannot be seen here, hence a SHOULD).";
    "pages.login_post_redirect", Security, Must, Provider, "RFC9700-4.12", "The POST that carries the password is never answered with 307 or 308, which would make the browser post the credentials on to the next site.";
    "metadata.required", Flows, Must, Provider, "OIDC-Discovery-3", "Discovery has every REQUIRED member (issuer, authorization_endpoint, token_endpoint unless only implicit is offered, jwks_uri, response_types_supported, subject_types_supported, id_token_signing_alg_values_supported), and the issuer has no query or fragment.";
    "metadata.rs256", IdToken, Must, Provider, "OIDC-Discovery-3", "`id_token_signing_alg_values_supported` includes RS256.";
    "metadata.auth_signing_algs", Security, Must, Provider, "OIDC-Discovery-3", "Where discovery offers `private_key_jwt` or `client_secret_jwt`, `token_endpoint_auth_signing_alg_values_supported` never lists `none` (OIDC Discovery §3: \"The value none MUST NOT be used\"). A missing list is a warning: RFC 8414 §2 requires it then, OIDC Discovery §3 does not.";
    "metadata.https", Security, Must, Provider, "OIDC-Discovery-3", "The issuer, `jwks_uri`, every endpoint and the `check_session_iframe` in discovery use https (TLS on the authorization and token endpoints: RFC 6749 §3.1, §3.2; OIDC Session Management §3.3: the iframe URL \"MUST use the https scheme\"); http on a loopback address is a local set-up and not judged.";
    "metadata.deprecated_flows", Security, Should, Provider, "RFC9700-2.1.2", "Discovery offers no response type that puts an access token in the front channel (`token`, `id_token token`, `code token`, `code id_token token`) and no password grant (RFC 9700 §2.4); both stay legal OIDC, hence a warning.";
    "jwks.kid", Security, Should, Provider, "RFC7517-4.5", "Keys of the JWK Set have distinct `kid` values, and every key has one when there are several (OIDC Core §10.1 picks the key by `kid`).";
    "jwks.private_members", Security, Must, Provider, "OIDC-Discovery-3", "The published JWK Set carries public keys only: no private (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`) or symmetric (`k`) key members.";
    "jwks.rsa_size", Security, Must, Provider, "RFC7518-3.3", "Every RSA key of the JWK Set has a modulus of 2048 bits or more.";
    "tokens.entropy", Security, Must, Provider, "RFC6749-10.10", "Authorization codes and opaque access and refresh tokens carry 128 bits, so a guess succeeds with at most a 2^-128 chance (the MUST of RFC 6749 §10.10). Estimated over a sample of codes and tokens, character position by character position (an upper bound: positions that never change count nothing, positions drawn from fewer characters count less; a UUID v4 is 122 bits); a single value by length × bits per character.";
    "tokens.entropy_160", Security, Should, Provider, "RFC6749-10.10", "The same values can carry 160 bits, the strength RFC 6749 §10.10 recommends.";
    "refresh_token.client_binding", Security, Must, Provider, "RFC6749-10.4", "A refresh token works only for the client it was issued to: another client of the provider presenting it is refused.";
    "refresh_token.reuse_revokes", Security, Should, Provider, "RFC9700-4.14.2", "When a rotated-out refresh token comes back, the refresh token that replaced it is revoked too (one of the two holders is an attacker).";
    "refresh_token.public_rotation", Security, Must, Provider, "RFC9700-4.14.2", "A public client's refresh token is rotated on every refresh (this harness sends no sender constraint, so rotation is the defence it can see).";
    "code.lifetime", Security, Should, Provider, "RFC6749-4.1.2", "A code redeemed after the lifetime the profile declares is refused, and that lifetime is at most the 10 minutes RFC 6749 recommends (opt-in: the probe waits).";
    "prompt.none_no_ui", Flows, Must, Provider, "OIDC-Core-3.1.2.1", "With `prompt=none` no login or consent page is shown: the response comes at once for a signed-in user who consented, else an error such as login_required at the redirect URI.";
    "prompt.login_reauth", Flows, Should, Provider, "OIDC-Core-3.1.2.1", "With `prompt=login` a signed-in user is asked to sign in again (the login form shown, `auth_time` moved) before a positive answer. OIDC Core §3.1.2.1: \"The Authorization Server SHOULD prompt the End-User for reauthentication. If it cannot reauthenticate the End-User, it MUST return an error, typically login_required.\" A positive answer without re-authentication is the SHOULD not met.";
    "max_age.reauth", Flows, Must, Provider, "OIDC-Core-3.1.2.1", "When the session is older than the request's `max_age`, the provider re-authenticates the user (the login form shown, `auth_time` moved) before a positive answer.";
    "session.sso", Flows, Should, Provider, "Brief", "A second authorization in the same browser session, for another client, completes without a login form (single sign-on; a consent page may still come). A deployment may turn SSO off, hence a SHOULD.";
    "session.same_sub", IdToken, Must, Provider, "OIDC-Core-2", "In the same browser session the same client gets the same `sub` for the user (a `sub` is never reassigned), and an `id_token_hint` answer names the hinted user (OIDC Core §3.1.2.1).";
    "claims_parameter.returned", Scopes, Should, Provider, "OIDC-Core-5.5", "A claim asked for with the `claims` request parameter (where discovery offers it), essential or voluntary, comes back where it was asked (ID token or userinfo) when the user has it; an essential `acr` always. Not returning one is no error (§5.5.1), hence a SHOULD.";
    "registration.register", Flows, Must, Provider, "RFC7591-3.2.1", "A valid dynamic registration is answered 201 Created with a client_id, the client_secret its authentication method needs and the metadata as registered; the client then completes a flow.";
    "registration.metadata", Security, Must, Provider, "OIDC-Registration-2", "Invalid client metadata is refused (invalid_redirect_uri, invalid_client_metadata) or replaced by a valid value: a web client using implicit registers https redirect URIs only, never localhost (OIDC Dynamic Registration §2); an unknown token_endpoint_auth_method is not registered as asked (RFC 7591 §2, §3.2.2).";
    "consent.denied", Flows, Must, Provider, "RFC6749-4.1.2.1", "When the user denies consent, the provider answers `access_denied` at the redirect URI (no tokens, no error page).";
    "request_object.processed", Flows, Must, Provider, "OIDC-Core-6.3.3", "Parameters sent only inside a request object (by value or by reference) are used: the response carries its `state` and the ID token its `nonce`. A provider may refuse an unsigned object as unsupported only where discovery does not list `none` for request objects.";
    "request_object.signature", Security, Must, Provider, "OIDC-Core-6.3.2", "A signed request object whose signature does not verify with the client's registered key is refused.";
    "consent.partial", Flows, Must, Provider, "RFC6749-3.3", "When the user approves only some of the requested scopes (unticks the others on the consent page), the grant holds only those: the response's `scope` names no scope left out (RFC 6749 §3.3: `scope` MUST be sent when the grant differs from the request), and no claims of a scope left out are released.";
    "consent.third_party", Flows, Must, Provider, "Brief", "A third-party client (`third_party: true` in the profile, and every client registered dynamically) always gets a consent page: it cannot skip consent.";
    "revocation.refresh_token", Security, Must, Provider, "RFC7009-2.1", "A refresh token revoked at the revocation endpoint (HTTP 200) no longer refreshes: the provider MUST support revoking refresh tokens (RFC 7009 §2), and the revocation takes place immediately (§2.1).";
    "revocation.hint", Security, Must, Provider, "RFC7009-2.1", "A refresh token revoked with the wrong `token_type_hint` (`access_token`) is revoked all the same: when the token is not found under the hinted type, the server MUST extend its search across all of its supported token types.";
    "revocation.client_auth", Security, Must, Provider, "RFC7009-2.1", "A revocation request of a confidential client without client authentication is refused (`invalid_client`, RFC 6749 §5.2) and revokes nothing: the server first validates the client credentials.";
    "revocation.access_token", Security, Should, Provider, "RFC7009-2", "An access token revoked at the revocation endpoint (HTTP 200) is no longer taken by the provider (its introspection, else its userinfo). RFC 7009 §2: the server SHOULD support revoking access tokens; one that does not answers `unsupported_token_type` (not offered). A self-contained JWT still taken at userinfo is noted, not failed (§3).";
    "revocation.invalid_token", Security, Must, Provider, "RFC7009-2.2", "A revocation request for a token the provider never issued is answered HTTP 200: \"invalid tokens do not cause an error response\" (RFC 7009 §2.2).";
    "introspection.active", AccessToken, Must, Provider, "RFC7662-2.2", "The introspection of a live access token answers HTTP 200 with `\"active\": true` (REQUIRED, a JSON boolean) and its other members of the types RFC 7662 §2.2 gives them (`scope` a space-separated string, `exp`/`iat`/`nbf` integers, `aud` a string or an array of strings, the others strings).";
    "introspection.inactive", AccessToken, Must, Provider, "RFC7662-2.2", "A token the provider never issued is introspected as `{\"active\": false}` with HTTP 200 (§2.2: the server MUST return `active` false; §2.3: not an error).";
    "introspection.inactive_members", Security, Should, Provider, "RFC7662-2.2", "The answer for a token that is not active carries `active` alone: it \"SHOULD NOT include any additional information about an inactive token\" (RFC 7662 §2.2, §4).";
    "introspection.requires_auth", Security, Must, Provider, "RFC7662-2.1", "A caller without any authorization learns nothing about a live token (refused, or not active): \"the endpoint MUST also require some form of authorization\" (RFC 7662 §2.1, §4).";
    "par.push", Security, Must, Provider, "RFC9126-2.2", "A valid pushed authorization request is answered HTTP 201 Created with `request_uri` (a string) and `expires_in` (a positive integer): \"the authorization server MUST ... respond with a 201\" (RFC 9126 §2.2).";
    "par.authorization", Flows, Must, Provider, "RFC9126-4", "An authorization request carrying only `client_id` and the pushed `request_uri` is processed as the pushed request: the user signs in and the client gets its code or tokens (RFC 9126 §4).";
    "par.client_auth", Security, Must, Provider, "RFC9126-2.1", "The client authenticates at the pushed authorization request endpoint as at the token endpoint: a push with a wrong secret, or a confidential client's push without authentication, is refused (`invalid_client`, RFC 6749 §5.2).";
    "par.request_uri_in_body", Security, Must, Provider, "RFC9126-2.1", "A pushed request carrying a `request_uri` is refused (RFC 9126 §2.1: the parameter MUST NOT be provided, and the server rejects it).";
    "par.validated", Security, Must, Provider, "RFC9126-2.1", "A pushed request is validated as an authorization request would be: one with a redirect URI the client never registered is refused at the endpoint (HTTP 400) or its `request_uri` at the authorization endpoint, and the user is never sent there (RFC 9126 §2.1; OIDC Core §3.1.2.1 exact matching). A push the client authenticated may get such a redirect URI taken: §2.4 lets a provider relax exact matching for clients with credentials (MAY), so that is a skip that says so; a public client's push is always judged.";
    "par.one_time", Security, Should, Provider, "RFC9126-4", "The `request_uri` of a completed authorization is refused when sent again: servers \"SHOULD treat request_uri values as one-time use\" (RFC 9126 §4; a reload before completion MAY be allowed).";
    "par.required", Security, Should, Provider, "RFC9126-5", "Where discovery says `require_pushed_authorization_requests: true`, an authorization request sent unpushed (no session) is refused: the metadata says the server \"accepts authorization request data only via PAR\" (§5). No requirement keyword binds the refusal: a request taken is a warning that the metadata is untrue.";
    "par.client_bound", Security, Must, Provider, "RFC9126-2.2", "A pushed `request_uri` sent with another client's `client_id` (a client of the profile) is refused (§2.2: \"The request_uri value MUST be bound to the client that posted the authorization request\"; §7.5), and the pushing client's authorization with it then still goes through: a refusal must not use up the owner's handle.";
    "par.client_named", Security, Must, Provider, "RFC9126-2.2", "A push authenticated as the case's client whose `client_id` (and redirect URI) are another client's of the profile is refused. If it is taken, its `request_uri` sent with the other client's `client_id` must be refused: \"The request_uri value MUST be bound to the client that posted the authorization request\" (§2.2), and a request taken as the other client's fails. Taken but unusable by the other client is a warning (refusing the push is inferred from §2.1, not a sentence of the RFC). Not probed where the client's credential is its `client_id` in the body (`client_secret_post`, `none`).";
    "par.request_object_client", Security, Must, Provider, "RFC9126-3", "A push whose signed request object (by value, signed with the client's registered key) has another client's `client_id` claim is refused, at the endpoint or when its `request_uri` is used: the server MUST \"reject the request if the authenticated client_id does not match the client_id claim in the Request Object\" (RFC 9126 §3). The correct push then works.";
    "par.assertion_audience", Security, Must, Provider, "RFC9126-2", "A client that authenticates with a client assertion (`private_key_jwt`, `client_secret_jwt`) has its push taken whether the assertion's `aud` is the issuer identifier, the token endpoint URL or the pushed authorization request endpoint URL: the server \"MUST accept\" each as naming it (RFC 9126 §2). Pushes that are all refused, the correct one too, show nothing (a skip).";
    "par.expiry", Security, Must, Provider, "RFC9126-4", "A pushed `request_uri` sent to the authorization endpoint once its `expires_in` (and a second more) has passed is refused: \"An expired request_uri MUST be rejected as invalid\" (RFC 9126 §4). Opt-in: the case waits out the lifetime (at most 10 minutes).";
    "par.method", Security, Should, Provider, "RFC9126-2.3", "A GET to the pushed authorization request endpoint is answered HTTP 405 Method Not Allowed (RFC 9126 §2.3); a GET taken as a push is a failure.";
    "logout.redirect", Flows, Must, Provider, "OIDC-RPInitiated-3", "After a logout request with the client's ID token as `id_token_hint`, its registered `post_logout_redirect_uri` and a `state`, the browser lands on exactly that URI with `state` added once the user confirmed: \"the OP passes this value back\" (§2 `state`), and redirects to a registered URI (§3). A provider that asks first is conformant.";
    "logout.session_ended", Security, Must, Provider, "OIDC-RPInitiated-2", "Once the user said yes, the session is gone: an authorization request with `prompt=none` in the same browser gets `login_required` (or another error), never a code (\"the OP MUST log out the End-User\", §2).";
    "logout.post", Flows, Must, Provider, "OIDC-RPInitiated-2", "The logout endpoint takes the request as a POST with the parameters in a form body as well as a GET: \"OPs MUST support the use of the HTTP GET and POST methods\" (§2).";
    "logout.redirect_validated", Security, Must, Provider, "OIDC-RPInitiated-3", "A `post_logout_redirect_uri` that does not exactly match one registered for the client (the registered URI with a query parameter added) is never redirected to: \"the OP MUST NOT perform post-logout redirection\" (§3). An error page or a logout without redirect is conformant.";
    "logout.hint_validated", Security, Must, Provider, "OIDC-RPInitiated-2", "An `id_token_hint` the provider did not issue (an ID token whose payload was altered, so its signature fails) is not taken: no redirect to the post-logout redirect URI (§2: \"the OP MUST validate that it was the issuer of the ID Token\"; §4).";
    "logout.client_id_verified", Security, Must, Provider, "OIDC-RPInitiated-2", "A `client_id` that is not the client the `id_token_hint` was issued to is refused: no redirect (§2: the OP \"MUST verify that the Client Identifier matches\").";
    "logout.ui_locales", Flows, Should, Provider, "OIDC-RPInitiated-2", "A logout request with `ui_locales` naming a locale no provider supports (a BCP 47 private-use tag) before `fr`, left unconfirmed, is answered with a redirect or a page without an error status: \"An error SHOULD NOT result if some or all of the requested locales are not supported by the OpenID Provider\" (§2). An error status is a warning, where the same logout without the parameter then goes through; the page's words are not read.";
    "logout.repeated", Flows, Should, Provider, "OIDC-RPInitiated-4", "The same logout request sent again once the user is logged out is answered with a redirect or a page, not an error: logout requests \"are intended to be idempotent\", and one for a user no longer logged in \"is explicitly not an error\" (§4; no requirement keyword: an error is a warning).";
    "logout.asks_without_hint", Security, Must, Provider, "OIDC-RPInitiated-2", "A logout request without `id_token_hint` does not end the session by itself: the provider MUST ask the user (§2), so when nobody confirms, `prompt=none` still gets a code (§6: otherwise any site can log the user out).";
    "backchannel.delivered", Security, Must, Provider, "OIDC-BackChannel-2.5", "After a logout, the provider POSTs to each signed-in client's registered `backchannel_logout_uri` a form (`application/x-www-form-urlencoded`) with a `logout_token` (§2.5: the OP \"uses an HTTP POST\"; the request \"must include a logout_token\").";
    "backchannel.signature", Security, Must, Provider, "OIDC-BackChannel-2.4", "The logout token is a JWT signed with a key of the provider's `jwks_uri`, never `alg: none` (§2.4: Logout Tokens MUST be signed; §2.6).";
    "backchannel.claims", Security, Must, Provider, "OIDC-BackChannel-2.4", "The logout token has the issuer as `iss`, the client id in `aud`, and `iat`, `exp` and `jti` (each REQUIRED, §2.4).";
    "backchannel.events", Security, Must, Provider, "OIDC-BackChannel-2.4", "The logout token's `events` holds `http://schemas.openid.net/event/backchannel-logout`, a JSON object (MUST), the empty one (SHOULD: other members are a warning) (§2.4).";
    "backchannel.no_nonce", Security, Must, Provider, "OIDC-BackChannel-2.4", "The logout token carries no `nonce` (§2.4: \"A nonce Claim MUST NOT be present\"), so it can never pass for an ID token.";
    "backchannel.subject", Security, Must, Provider, "OIDC-BackChannel-2.4", "The logout token has `sub` or `sid` (MUST, §2.4), and they are those of the ID token issued in the session that ended: logging out another user is a defect (§2.6).";
    "backchannel.sid_in_id_token", Security, Must, Provider, "OIDC-BackChannel-2.1", "Where discovery says `backchannel_logout_session_supported: true`, ID tokens carry `sid` (§2.1: \"the sid Claim is also included in ID Tokens\"), so a client can match a logout token to its session.";
    "frontchannel.rendered", Security, Must, Provider, "OIDC-FrontChannel-2", "After a logout, a page of the provider renders each signed-in client's registered `frontchannel_logout_uri` in a frame (§2: the OP \"renders <iframe src=\"frontchannel_logout_uri\">\"; §3: the OP contacts the RPs this way): the feature discovery's `frontchannel_logout_supported` advertises. Read from the pages' HTML: a page that may build its frames in scripts is an error of the harness, never a pass.";
    "frontchannel.session_params", Security, Must, Provider, "OIDC-FrontChannel-2", "The frame's URL carries `iss` and `sid` both or neither (§2: \"if either is included, both MUST be\"), and both where the client registered `frontchannel_logout_session_required` and discovery says `frontchannel_logout_session_supported` (§2, §3).";
    "frontchannel.values", Security, Must, Provider, "OIDC-FrontChannel-2", "The frame's `iss` is the issuer identifier and its `sid` the session that ended, the `sid` of the ID token issued in it (§2): a frame naming another session logs out the wrong one.";
    "frontchannel.query_kept", Flows, Must, Provider, "OIDC-FrontChannel-2", "The query of the registered `frontchannel_logout_uri` is kept when `iss` and `sid` are added (§2: it \"MUST be retained when adding additional query parameters\").";
    "frontchannel.sid_in_id_token", Security, Must, Provider, "OIDC-FrontChannel-3", "Where discovery says `frontchannel_logout_session_supported: true`, ID tokens carry `sid` (§3: \"If supported, the sid Claim is also included in ID Tokens issued by the OP\"), so a client can match a frame's `sid` to its session.";
    "session_state.present", Flows, Must, Provider, "OIDC-Session-2", "Where discovery offers a `check_session_iframe`, a successful authentication response carries `session_state` (§2: \"When the OP supports session management, it MUST also return the Session State as an additional session_state parameter in the Authentication Response\").";
    "session_state.format", Flows, Must, Provider, "OIDC-Session-2", "`session_state` is a non-empty string with no space in it (§2: it \"MUST NOT contain the space\" character): the client's check message is its client id and the session state separated by one space (§3.1).";
    "dpop.metadata", Security, Must, Provider, "RFC9449-5.1", "`dpop_signing_alg_values_supported` lists the JWS algorithms the server takes for DPoP proofs (§5.1): a non-empty list, without `none` or a symmetric (HS*) algorithm, which no valid proof uses (§4.2, §4.3: asymmetric only).";
    "dpop.token_type", Security, Must, Provider, "RFC9449-5", "A code exchange with a valid DPoP proof gets `token_type: DPoP` when the access token is bound, or `Bearer` when the server chose not to bind it (§5 MAY; not a finding); `Bearer` for a token that is bound after all (its `cnf.jkt`) is a failure.";
    "dpop.bound", Security, Must, Provider, "RFC9449-6.1", "A DPoP-bound access token that is a JWT has `cnf.jkt`, the RFC 7638 SHA-256 thumbprint of the proof's key (§6.1: MUST). An opaque token is judged through userinfo instead.";
    "dpop.userinfo", Security, Must, Provider, "RFC9449-7.1", "Userinfo takes the DPoP-bound access token in the `DPoP` authentication scheme with a proof of its key carrying `ath`, the token's hash (§7, §7.1).";
    "dpop.bearer_refused", Security, Must, Provider, "RFC9449-7.2", "The DPoP-bound access token sent as a plain Bearer token, without proof, is refused: a resource server \"MUST reject a DPoP-bound access token received as a bearer token\" (§7.2); the same token with its proof then works.";
    "dpop.proof_htu", Security, Must, Provider, "RFC9449-4.3", "A token request whose proof's `htu` is another URL is refused (§4.3: `htu` MUST match the request's URI, query and fragment aside; §5: `invalid_dpop_proof`); the same code with a valid proof then gets tokens.";
    "dpop.proof_htm", Security, Must, Provider, "RFC9449-4.3", "A token request (POST) whose proof's `htm` is GET is refused (§4.3: `htm` MUST match the request's method); the same code with a valid proof then gets tokens.";
    "dpop.proof_signature", Security, Must, Provider, "RFC9449-4.3", "A token request whose proof's signature does not verify with the key in its `jwk` header is refused (§4.3); the same code with a valid proof then gets tokens.";
    "dpop.proof_single", Security, Must, Provider, "RFC9449-4.3", "A token request with two `DPoP` headers, each a valid proof, is refused (§4.3 item 1: \"not more than one DPoP HTTP request header field\"); the same code with one valid proof then gets tokens.";
    "dpop.proof_typ", Security, Must, Provider, "RFC9449-4.3", "A token request whose proof's `typ` is `JWT` instead of `dpop+jwt` is refused (§4.3 item 4): the explicit type keeps other JWTs from passing for a proof.";
    "dpop.proof_alg", Security, Must, Provider, "RFC9449-4.3", "A token request whose proof is unsigned (`alg` `none`) or MACed with HS256 is refused (§4.3 item 5: a registered asymmetric algorithm, not `none`): otherwise the proof shows possession of nothing.";
    "dpop.proof_private_key", Security, Must, Provider, "RFC9449-4.3", "A token request whose proof's `jwk` holds a private part (`d`) is refused (§4.3 item 7). The proof is signed with an ES256 key made for it alone, whose private part goes in `jwk`: never the case's key.";
    "dpop.proof_jti", Security, Must, Provider, "RFC9449-4.3", "A token request whose proof has no `jti` is refused (§4.3 item 3: all claims §4.2 requires; `jti` is what replay detection keeps).";
    "dpop.proof_claims", Security, Must, Provider, "RFC9449-4.3", "A token request whose proof lacks `htm`, `htu` or `iat` (one probe each) is refused (§4.3 item 3: all claims §4.2 requires are in the proof); the same code with a valid proof then gets tokens.";
    "dpop.proof_jwt", Security, Must, Provider, "RFC9449-4.3", "A token request whose `DPoP` header is not a JWT (a header and claims, base64url, without a signature part) is refused (§4.3 item 2: a single well-formed JWT; §5: `invalid_dpop_proof`), not taken as if no proof came; the same code with a valid proof then gets tokens.";
    "dpop.proof_iat", Security, Must, Provider, "RFC9449-11.1", "A token request whose proof's `iat` is an hour ago, or an hour ahead, is refused (§4.3 item 11, §11.1: \"servers MUST only accept DPoP proofs for a limited time window\"). A server that uses DPoP nonces may judge the age by its nonce instead: taken then, it is a skip.";
    "dpop.htu_query", Security, Should, Provider, "RFC9449-4.3", "A token request whose proof's `htu` carries a query and a fragment is taken: §4.3 item 9 compares `htu` with the request's URI \"ignoring any query and fragment parts\". §4.2 tells the client to leave them out, so a refusal is a warning, never a failure.";
    "dpop.htu_normalized", Security, Should, Provider, "RFC9449-4.3", "A token request whose proof's `htu` writes the scheme and host in upper case and the port explicitly is taken: servers SHOULD normalize (RFC 3986 §6.2.2, §6.2.3) before comparing (§4.3); a refusal is a warning.";
    "dpop.userinfo_ath", Security, Must, Provider, "RFC9449-4.3", "Userinfo refuses the DPoP-bound access token with a proof without `ath`, or whose `ath` is another token's hash (§4.3 item 12, §7.1), and then takes it with a valid proof.";
    "dpop.userinfo_key", Security, Must, Provider, "RFC9449-4.3", "Userinfo refuses the DPoP-bound access token with a valid proof of another key than the one it is bound to (§4.3 item 12: the public key MUST match), and then takes it with a proof of its key.";
    "dpop.challenge", Security, Should, Provider, "RFC9449-7.1", "A userinfo refusal of a faulty DPoP request that answers 401 with a `DPoP` challenge names the `error` and lists the proof algorithms in `algs` (§7.1: both SHOULD). A refusal without a DPoP challenge is not judged (§7.1: the server \"can\" send one).";
    "dpop.scheme_case", Security, Should, Provider, "RFC9449-7.1", "Userinfo takes the DPoP-bound access token in the scheme written `dpop`: an authentication scheme is a case-insensitive token (RFC 9110 §11.1). No requirement keyword: a refusal is a warning.";
    "dpop.jkt_bound", Security, Must, Provider, "RFC9449-10", "A code asked for with `dpop_jkt` (the thumbprint of the case's key) is refused when redeemed with a proof of another key (§10: \"If they do not match, it MUST reject the request\"), and then taken with a proof of the named key.";
    "dpop.introspection", Security, Must, Provider, "RFC9449-6.2", "The case's client introspects its DPoP-bound access token: the response carries `cnf.jkt`, the thumbprint of the key the token is bound to, and a `token_type`, if any, of `DPoP` (RFC 9449 §6.2: \"it MUST contain the value DPoP\"). Another `token_type` or another key fails; no `cnf.jkt` is a warning (§6.2 conveys it with no requirement keyword).";
    "dpop.nonce_checked", Security, Must, Provider, "RFC9449-8", "Where the server uses DPoP nonces: once it gave one, a code exchange whose proof carries another nonce is refused (§8: \"the authorization server MUST reject the request\"), and the same code with the nonce it gave then gets tokens; refused with another code than `use_dpop_nonce` is a warning. A server that takes a proof without a nonce uses none: a skip.";
    "dpop.nonce_required", Security, Must, Provider, "RFC9449-11.3", "Where the server uses DPoP nonces: once it gave one, a code exchange whose proof carries no nonce is refused (§11.3: \"A server MUST NOT accept any DPoP proofs without the nonce claim when a DPoP nonce has been provided to the client\"), and the same code with the nonce then gets tokens. A server that takes a proof without a nonce uses none: a skip.";
    "dpop.par_jkt_match", Security, Must, Provider, "RFC9449-10.1", "A push whose DPoP proof is of the case's key and whose `dpop_jkt` names another key is refused (§10.1: with both, the server MUST reject the request if the thumbprint does not match the proof's key); the push with the proof alone, and the code exchange with that key, then work.";
    "dpop.par_bound", Security, Must, Provider, "RFC9449-10.1", "A code whose pushed request carried a DPoP proof of the case's key (and no `dpop_jkt`) is refused when redeemed with a proof of another key, then taken with the case's key (§10.1: the server \"MUST further behave as if the contained public key's thumbprint was provided using dpop_jkt\"; it MUST support both ways).";
    "dpop.client_bound", Security, Must, Provider, "RFC9449-5.2", "A client registered with `dpop_bound_access_tokens: true` that redeems its code without a DPoP proof is refused (§5.2: the server \"MUST reject token requests from this client that do not contain the DPoP header\"); the same code with a proof then gets tokens.";
    "dpop.replay", Security, May, Provider, "RFC9449-11.1", "A proof sent a second time (the same `jti`, at userinfo) is refused. §11.1 says servers can store the `jti`s of the proofs they took, and that this may not always be feasible: a replay taken is a warning, never a failure.";
    "dpop.refresh_bound", Security, Must, Provider, "RFC9449-5", "A public client's refresh token, issued for a valid proof, is bound to that key: refreshing with a proof of another key, or without a proof, is refused, and with the key it works (§5: MUST). A confidential client's refresh token need not be bound.";
    "device.advertised", Flows, Should, Provider, "RFC8628-4", "Discovery that offers a `device_authorization_endpoint` also lists `urn:ietf:params:oauth:grant-type:device_code` in `grant_types_supported`, where RFC 8628 §4 says the grant type \"is included\"; one without the other is a warning.";
    "device.response", Flows, Must, Provider, "RFC8628-3.2", "The device authorization request (the client authenticating as at the token endpoint, §3.1) is answered HTTP 200 with a JSON object holding `device_code`, `user_code`, `verification_uri` and `expires_in` (each REQUIRED, §3.2); an `interval` is a number of seconds and the URIs are absolute.";
    "device.verification_uri", Security, Should, Provider, "RFC8628-3.3", "The `verification_uri` does not hold the user code: including it there is NOT RECOMMENDED (§3.3; `verification_uri_complete` is the place for it).";
    "device.pending", Flows, Must, Provider, "RFC8628-3.5", "A poll before the user acted gets `authorization_pending` (or `slow_down`), the errors §3.5 defines for a pending authorization: any other answer makes the client stop polling (\"MUST stop\"), and tokens before the user approved are a failure.";
    "device.tokens", Flows, Must, Provider, "RFC8628-3.5", "Once the user entered the user code at `verification_uri` (§3.3: the server MUST implement an interaction that starts there), signed in and approved, the next poll gets a token response (§3.5, RFC 6749 §5.1). RFC 8628 asks for no ID token: its absence is not judged.";
    "device.denied", Flows, Must, Provider, "RFC8628-3.5", "After the user denied on the consent page, the poll gets `access_denied` (§3.5); tokens are a failure, another error or a grant still pending a warning.";
    "device.expired", Flows, Must, Provider, "RFC8628-3.5", "Once the `expires_in` of the device authorization response has passed, a poll gets `expired_token` (§3.5; `invalid_grant` is a warning); a device code still pending past the lifetime the provider stated (§3.2) is a failure.";
    "device.slow_down", Flows, May, Provider, "RFC8628-3.5", "A poll sent at once after another, faster than `interval`, may get `slow_down` (§3.5: the server MAY ask for it; the harness then polls 5 s slower) or `authorization_pending`; ending the grant instead is a warning.";
    "device.one_time", Security, May, Provider, "RFC6749-5.2", "A device code whose tokens were issued is refused when redeemed again (`invalid_grant`, RFC 6749 §5.2). RFC 8628 states no single-use rule for device codes: a second issuance is a warning, never a failure.";
    "client_auth.accepted", Security, Must, Provider, "OIDC-Core-9", "A client registered for `private_key_jwt` or `client_secret_jwt` that sends a conformant assertion (`iss` and `sub` its client_id, `aud` the token endpoint URL as OIDC Core §9 asks of clients, or the issuer where that is refused, a fresh `jti`, `exp` in 60 s) gets tokens, at the code exchange and after each probe of the family.";
    "client_auth.audience", Security, Must, Provider, "RFC7523-3", "An assertion whose `aud` names another server is refused (`invalid_client`, RFC 7523 §3.2): the server MUST reject any JWT that does not contain its own identity as the intended audience (RFC 7523 §3 item 3; OIDC Core §9 \"MUST verify that it is an intended audience\").";
    "client_auth.token_endpoint_audience", Security, Should, Provider, "OIDC-Core-9", "A conformant assertion whose `aud` is the token endpoint URL is taken: OIDC Core §9 asks clients for it (\"The Audience SHOULD be the URL of the Authorization Server's Token Endpoint\"), and RFC 7523 §3 item 3 names it as a value that MAY identify the server. Draft revisions make the issuer the only audience: refusing it is a warning (the harness then sends the issuer).";
    "client_auth.issuer_audience", Security, Should, Provider, "RFC7523-3", "An assertion whose `aud` is the issuer identifier is taken: the issuer identifies the server as an intended audience (RFC 7523 §3 item 3). No text obliges the server to take it, and draft revisions make it the only audience: refusing it is a warning.";
    "client_auth.expired", Security, Must, Provider, "RFC7523-3", "An assertion whose `exp` passed 300 s ago (outside any sane clock skew) is refused: the server MUST reject any JWT with an expiration time that has passed (RFC 7523 §3 item 4; OIDC Core §9 `exp`).";
    "client_auth.subject", Security, Must, Provider, "RFC7523-3", "An assertion whose `sub` is not the client_id is refused: for client authentication the subject MUST be the client_id (RFC 7523 §3 item 2; OIDC Core §9 `sub`).";
    "client_auth.issuer", Security, Must, Provider, "OIDC-Core-9", "An assertion whose `iss` is not the client_id is refused: `iss` MUST contain the client_id (OIDC Core §9; RFC 7521 §5.2 for self-issued assertions).";
    "client_auth.signature", Security, Must, Provider, "RFC7523-3", "An assertion whose signature (private_key_jwt) or MAC (client_secret_jwt, an HMAC of another secret) does not verify is refused: the server MUST reject JWTs with an invalid signature or MAC (RFC 7523 §3 item 9).";
    "client_auth.replay", Security, May, Provider, "RFC7523-3", "The same assertion (same `jti`) sent a second time is refused. RFC 7523 §3 item 7 lets the server keep the `jti`s it saw (MAY); OIDC Core §9's \"MUST only be used once\" binds the client. A replay taken is a warning, never a failure.";
    "negative.error_code", Negative, Must, Provider, "RFC6749-5.2", "A probe's request that the provider refuses is refused with the error code its rule gives (e.g. `invalid_grant` for a code exchange whose redirect_uri differs: RFC 6749 §5.2 \"does not match the redirection URI used in the authorization request\"). A refusal with another code is this finding, apart from the probe's own rule, which the refusal meets.";
    "negative.refused", Negative, Must, Provider, "RFC6749-4.1.2.1", "An invalid request is refused with one of the expected errors, and never redirected to an unregistered redirect URI.";
    "authorization.error_to_client", Negative, Should, Provider, "RFC6749-4.1.2.1", "When the client and redirect URI are valid, an authorization error is returned to the client at its redirect URI (`error`, `state`), not shown on a page (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6 — stated without a requirement keyword, and the OpenID Foundation's tests accept an error page, hence a warning).";
    "authorization_response.encoding", Security, Must, Provider, "OAuth-MultipleResponseTypes-5", "A response type that returns an access token or an ID token (`token`, `id_token` and their combinations with `code`), with no `response_mode` sent or `fragment` asked for, comes in the fragment: no code or token in the query, where it would leak through logs and `Referer` (the query encoding MUST NOT be used; §3, §5; RFC 6749 §4.2.2).";
    "assert.id_token", IdToken, Must, Provider, "OIDC-Core-2", "The suite's assertions on the ID token hold.";
    "assert.access_token", AccessToken, Must, Provider, "RFC9068-2.2", "The suite's assertions on the access token hold.";
    "assert.userinfo", Userinfo, Must, Provider, "OIDC-Core-5.3.2", "The suite's assertions on the userinfo response hold.";
    "assert.token_response", Flows, Must, Provider, "RFC6749-5.1", "The suite's assertions on the token response hold.";
}

/// The definition of a check id.
pub fn find(id: &str) -> Option<&'static CheckDef> {
    CATALOGUE.iter().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_is_cited_where_its_level_comes_from() {
        // OIDC Core §5.1.2 only recommends collision-resistant names: the MUST is the brief's.
        let plain = find("namespacing.plain_claim").unwrap();
        assert_eq!((plain.spec, plain.level), ("Brief", Requirement::Must));
        // prompt=login: the re-authentication is a SHOULD; only refusing instead is a MUST.
        assert_eq!(find("prompt.login_reauth").unwrap().level, Requirement::Should);
    }

    #[test]
    fn ids_are_unique_and_specs_resolve() {
        let mut ids: Vec<_> = CATALOGUE.iter().map(|c| c.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CATALOGUE.len());
        for c in CATALOGUE {
            assert_ne!(crate::check::spec::title(c.spec), c.spec, "{} has an unknown spec id", c.id);
        }
    }
}
