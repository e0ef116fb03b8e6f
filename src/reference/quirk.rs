//! Switchable faults of the reference provider. The provider is conformant
//! with no quirk set; each quirk breaks exactly one thing, so a test can prove
//! that the conformance check aimed at that thing fires.

use std::fmt;
use std::str::FromStr;

macro_rules! quirks {
    ($($variant:ident => $name:literal, $description:literal;)+) => {
        /// One fault the reference provider can be told to commit.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Quirk {
            $(
                #[doc = $description]
                $variant,
            )+
        }

        impl Quirk {
            /// Every quirk, in declaration order.
            pub const ALL: &[Quirk] = &[$(Quirk::$variant),+];

            /// The kebab-case name used on the command line (`serve --quirk NAME`).
            pub fn name(&self) -> &'static str {
                match self {
                    $(Quirk::$variant => $name,)+
                }
            }

            /// One line: what this quirk breaks.
            pub fn description(&self) -> &'static str {
                match self {
                    $(Quirk::$variant => $description,)+
                }
            }
        }
    };
}

quirks! {
    IdTokenAudApi => "id-token-aud-api",
        "ID token aud is the requested API identifier (or another foreign string) instead of the client id";
    IdTokenMultiAudNoAzp => "id-token-multi-aud-no-azp",
        "ID token aud is [client id, \"https://other.example.test\"] and azp is missing";
    IdTokenAzpWrong => "id-token-azp-wrong",
        "ID token azp is \"someone-else\" instead of the client id";
    IdTokenWrongIss => "id-token-wrong-iss",
        "ID token iss has a trailing slash that the issuer does not have";
    IdTokenExpired => "id-token-expired",
        "ID token exp is already in the past when issued";
    IdTokenIatFuture => "id-token-iat-future",
        "ID token iat is one hour in the future";
    IdTokenBadSignature => "id-token-bad-signature",
        "ID token signature bytes are corrupted";
    IdTokenAlgNone => "id-token-alg-none",
        "ID token is unsigned (alg none, empty signature)";
    IdTokenHs256PublicKey => "id-token-hs256-public-key",
        "ID token is signed HS256 with the RSA public key's PEM as the HMAC secret";
    IdTokenKidUnknown => "id-token-kid-unknown",
        "ID token header kid names a key that is not in the JWKS";
    IdTokenMalformed => "id-token-malformed",
        "the ID token is not a JWT at all (\"not-a-jwt.\" plus random characters), everywhere it is issued";
    IdTokenSubTooLong => "id-token-sub-too-long",
        "subject identifier is 300 characters long (over the 255 ASCII limit)";
    IdTokenWithoutOpenid => "id-token-without-openid",
        "an ID token is issued even when the openid scope was not requested";
    NonceNotEchoed => "nonce-not-echoed",
        "ID token omits the nonce sent in the authorization request";
    NonceWrong => "nonce-wrong",
        "ID token nonce differs from the one sent in the authorization request";
    AtHashMissing => "at-hash-missing",
        "ID token issued alongside an access token has no at_hash";
    AtHashWrong => "at-hash-wrong",
        "ID token at_hash does not match the access token";
    CHashWrong => "c-hash-wrong",
        "ID token c_hash does not match the authorization code";
    NonNamespacedClaim => "non-namespaced-claim",
        "a plain, non-namespaced \"roles\" claim is also emitted in tokens and userinfo";
    ProviderDomainNamespace => "provider-domain-namespace",
        "the custom roles claim is namespaced under the issuer's own URL instead of the custom namespace";
    CustomClaimMissing => "custom-claim-missing",
        "the namespaced roles claim is omitted everywhere";
    ProfileClaimsWithoutScope => "profile-claims-without-scope",
        "profile claims are released even when the profile scope was not requested";
    EmailClaimsWithoutScope => "email-claims-without-scope",
        "email claims are released even when the email scope was not requested";
    ProfileClaimsMissing => "profile-claims-missing",
        "name and nickname are left out of the ID token and userinfo even though profile was requested";
    AccessTokenAudMissingApi => "access-token-aud-missing-api",
        "access token aud holds only the userinfo URL, not the requested API";
    AccessTokenNoUserinfoAud => "access-token-no-userinfo-aud",
        "access token aud lacks the userinfo URL even though openid was requested";
    ApiTokenWithoutAudience => "api-token-without-audience",
        "with no audience requested, the access token is a JWT for the first API anyway";
    ScopeAsAudience => "scope-as-audience",
        "with no API requested, the access token is a JWT whose aud is the first requested scope value (e.g. \"openid\")";
    AudienceIgnored => "audience-ignored",
        "the requested audience is ignored and an opaque access token is issued";
    ScopeOverGrant => "scope-over-grant",
        "access token scope holds every API scope, whatever was requested";
    ScopeNotEchoed => "scope-not-echoed",
        "token responses never include scope, even when the granted scope was narrowed";
    AccessTokenTypJwt => "access-token-typ-jwt",
        "access token header typ is \"JWT\" instead of \"at+jwt\"";
    AccessTokenNoAzp => "access-token-no-azp",
        "access token has no azp claim (the profile says the provider issues one)";
    AccessTokenNoJti => "access-token-no-jti",
        "access token has no jti claim";
    AccessTokenNoClientId => "access-token-no-client-id",
        "access token has no client_id claim";
    AccessTokenExpired => "access-token-expired",
        "access token exp is already in the past when issued";
    AccessTokenBadSignature => "access-token-bad-signature",
        "access token signature bytes are corrupted";
    AccessTokenMalformed => "access-token-malformed",
        "JWT access tokens have a header segment that is not base64url JSON (\"!!!\"); they still work at userinfo";
    AccessTokenWrongIss => "access-token-wrong-iss",
        "JWT access token iss is the issuer plus \"/evil\" (ID tokens unaffected)";
    UserinfoAcceptsIdToken => "userinfo-accepts-id-token",
        "userinfo accepts an ID token as a bearer access token";
    UserinfoSubDiffers => "userinfo-sub-differs",
        "userinfo returns a sub different from the ID token's";
    UserinfoRejectsAccessToken => "userinfo-rejects-access-token",
        "userinfo answers every request, valid access tokens included, with 401 invalid_token";
    UnknownAudienceAccepted => "unknown-audience-accepted",
        "an unregistered audience or resource is accepted and put in the access token aud";
    WrongSecretAccepted => "wrong-secret-accepted",
        "the token endpoint accepts a wrong client secret";
    UnregisteredRedirectFollowed => "unregistered-redirect-followed",
        "errors and codes are redirected to an unregistered redirect_uri";
    ImplicitWithoutNonceAccepted => "implicit-without-nonce-accepted",
        "implicit and hybrid requests without a nonce are accepted";
    ResponseTypeNotAllowedAccepted => "response-type-not-allowed-accepted",
        "a response_type not registered for the client is accepted";
    CodeReuseAccepted => "code-reuse-accepted",
        "an authorization code can be redeemed more than once";
    PkceNotEnforced => "pkce-not-enforced",
        "a wrong or missing code_verifier is accepted";
    RefreshReuseAccepted => "refresh-reuse-accepted",
        "a rotated-out refresh token keeps working";
    UserinfoWithoutTokenAccepted => "userinfo-without-token-accepted",
        "userinfo answers without a bearer token (for user jane)";
    StateNotEchoed => "state-not-echoed",
        "authorization responses (query, fragment or form_post, errors included) omit state";
    FormPostIgnored => "form-post-ignored",
        "response_mode form_post is ignored: the response is redirected in the default mode (query for code, fragment otherwise)";
    AuthorizationError => "authorization-error",
        "after consent, every authorization request is answered with error server_error instead of a code or tokens";
    TokenResponseNoIdToken => "token-response-no-id-token",
        "the authorization_code token response has no id_token although openid was requested (refresh and implicit unaffected)";
    TokenEndpointError => "token-endpoint-error",
        "valid authorization_code exchanges get HTTP 500 {\"error\":\"server_error\"} (client credentials and refresh unaffected)";
    RefreshIdTokenAzpAdded => "refresh-id-token-azp-added",
        "the ID token of a refresh response has an azp the original ID token did not have";
    PkceDowngradeAccepted => "pkce-downgrade-accepted",
        "a code_verifier is accepted for a code whose authorization request had no code_challenge";
    PkcePlainFallback => "pkce-plain-fallback",
        "a code_verifier equal to the S256 code_challenge itself is accepted (a plain comparison)";
    PkceVerifierSyntaxLax => "pkce-verifier-syntax-lax",
        "a code_verifier shorter than 43 or longer than 128 characters, or with illegal characters, is accepted when its S256 matches";
    TokenResponseCacheable => "token-response-cacheable",
        "successful token responses carry neither Cache-Control: no-store nor Pragma: no-cache";
    ClientAuthFailure400 => "client-auth-failure-400",
        "a failed HTTP Basic client authentication is answered 400 invalid_client without WWW-Authenticate";
    UserinfoNoChallenge => "userinfo-no-challenge",
        "userinfo 401 responses carry no WWW-Authenticate header";
    AuthorizationResponseNoIss => "authorization-response-no-iss",
        "authorization responses (errors too) carry no iss although discovery advertises RFC 9207";
    TokenEndpointGetAccepted => "token-endpoint-get-accepted",
        "the token endpoint also answers GET, reading the parameters from the URL query";
    TokenCredentialsInQueryAccepted => "token-credentials-in-query-accepted",
        "client_id and client_secret in the token request's URL query are taken as client authentication";
    TokenDuplicateParamsAccepted => "token-duplicate-params-accepted",
        "a token request that repeats a parameter is accepted (the first value counts)";
    CodeClientUnbound => "code-client-unbound",
        "a code is redeemed for any authenticated client, not only the one it was issued to";
    CodeRedirectUriUnbound => "code-redirect-uri-unbound",
        "the code exchange does not compare redirect_uri with the authorization request's (missing or different is accepted)";
    CodeRedirectUriWrongError => "code-redirect-uri-wrong-error",
        "a code exchange whose redirect_uri differs from the authorization request's is refused, but with invalid_client instead of invalid_grant";
    CodeRedemptionRace => "code-redemption-race",
        "code redemption checks the code, waits 100 ms, then marks it used: redemptions sent at once all succeed (one after another is still refused)";
    CodeRedemptionRacePartial => "code-redemption-race-partial",
        "as code-redemption-race, but each redemption racing the first gets through only one time in four (about 3 of 10 parallel redemptions succeed)";
    CodeReuseKeepsTokens => "code-reuse-keeps-tokens",
        "a refused second redemption of a code leaves the tokens of the first one working";
    RedirectUriPrefixMatch => "redirect-uri-prefix-match",
        "a redirect_uri that starts with a registered one is taken as registered (prefix matching)";
    RedirectUriNormalised => "redirect-uri-normalised",
        "a redirect_uri equal to a registered one after RFC 3986 normalisation (host case, default port, percent-encoding) is taken as registered";
    RedirectUriHostIgnored => "redirect-uri-host-ignored",
        "a redirect_uri with the registered path and query is taken as registered, whatever its scheme, host and port";
    AccessTokenInQuery => "access-token-in-query",
        "an authorization response in the fragment carries its access_token in the query instead (the other parameters stay in the fragment)";
    AuthorizationErrorsInQuery => "authorization-errors-in-query",
        "authorization errors for implicit and hybrid response types go in the query instead of the fragment";
    UserinfoTokenInQueryAccepted => "userinfo-token-in-query-accepted",
        "userinfo accepts an access token in the URL query (access_token=…)";
    ClientCredentialsRefreshToken => "client-credentials-refresh-token",
        "client-credentials token responses carry a refresh token";
    ClientCredentialsSubNull => "client-credentials-sub-null",
        "client-credentials JWT access tokens carry `\"sub\": null` instead of the client's identifier";
    PublicClientSecretIgnored => "public-client-secret-ignored",
        "a public client's token request that also sends a client_secret (any value) is accepted, the secret ignored";
    UserinfoInvalidRequest => "userinfo-invalid-request",
        "userinfo answers a token it does not accept with 401 error=\"invalid_request\" instead of invalid_token";
    UserinfoInvalidToken400 => "userinfo-invalid-token-400",
        "userinfo answers a token it does not accept with HTTP 400 (error=\"invalid_token\") instead of 401";
    DiscoveryResponseTypesAsGrantTypes => "discovery-response-types-as-grant-types",
        "discovery's grant_types_supported lists the response types `code` and `id_token` instead of grant types";
    StateTruncated => "state-truncated",
        "a state longer than 64 characters comes back cut to its first 64";
    LoginPageFrameable => "login-page-frameable",
        "login and consent pages are sent without X-Frame-Options and without a CSP frame-ancestors directive";
    Login307 => "login-307",
        "a successful login POST is answered 307 Temporary Redirect (a browser would post the password on)";
    JwksDuplicateKid => "jwks-duplicate-kid",
        "the JWKS lists a second RSA key (a 2048-bit public key of no use) under the signing key's kid";
    JwksPrivateMember => "jwks-private-member",
        "the JWKS's signing key carries a `d` member (a private exponent)";
    JwksShortRsaKey => "jwks-short-rsa-key",
        "the JWKS also lists a 1024-bit RSA key (under its own kid)";
    DiscoveryHttpEndpoint => "discovery-http-endpoint",
        "discovery lists a backchannel_authentication_endpoint on plain http at another host";
    ShortCodes => "short-codes",
        "authorization codes are 10 characters of base64url (at most 60 bits)";
    UuidTokens => "uuid-tokens",
        "authorization codes, opaque access tokens and refresh tokens are UUID v4 strings (hex with hyphens: 122 random bits)";
    RefreshClientUnbound => "refresh-client-unbound",
        "a refresh token is accepted from any authenticated client registered for refresh, not only the one it was issued to";
    RefreshReuseKeepsFamily => "refresh-reuse-keeps-family",
        "reusing a rotated-out refresh token is refused, but the refresh token that replaced it keeps working";
    RefreshNoRotation => "refresh-no-rotation",
        "refresh responses return the presented refresh token again (no rotation), public clients included";
    ConfidentialRefreshNoRotation => "confidential-refresh-no-rotation",
        "confidential clients get the presented refresh token back on refresh (no rotation, which RFC 9700 §4.14.2 allows them); public clients' tokens rotate";
    CodeLifetimeUnbounded => "code-lifetime-unbounded",
        "authorization codes live an hour, whatever the configured code lifetime";
    PromptNoneShowsLogin => "prompt-none-shows-login",
        "prompt=none is ignored: the login page is shown instead of login_required";
    DiscoveryNoSubjectTypes => "discovery-no-subject-types",
        "discovery leaves out the REQUIRED subject_types_supported";
    DiscoveryNoRs256 => "discovery-no-rs256",
        "discovery lists only ES256 in id_token_signing_alg_values_supported (ID tokens are still RS256)";
    AuthTimeMissing => "auth-time-missing",
        "ID tokens never carry auth_time, even for a request with max_age";
    AuthTimeZero => "auth-time-zero",
        "ID tokens carry auth_time 0 (1970) instead of the time the user signed in";
    ResponseTypeMissingDefaultsToCode => "response-type-missing-defaults-to-code",
        "an authorization request without response_type is taken as a code request";
    NoSso => "no-sso",
        "the browser's session is ignored: every authorization shows the login form, and prompt=none is answered login_required";
    PromptNoneShowsConsent => "prompt-none-shows-consent",
        "prompt=none for a signed-in user who consented shows the consent page again instead of answering at once";
    PromptLoginIgnored => "prompt-login-ignored",
        "prompt=login for a signed-in user is answered from the session, without the login form";
    MaxAgeIgnored => "max-age-ignored",
        "a session older than the request's max_age is used as it is, without re-authentication";
    SsoNewSubject => "sso-new-subject",
        "an authorization answered from an existing session gets an ID token whose sub has `-sso` appended";
    ClaimsParameterIgnored => "claims-parameter-ignored",
        "discovery offers the claims parameter, but claims asked for with it are not returned (only those of the scopes)";
    RedirectQueryDropped => "redirect-query-dropped",
        "the authorization response replaces the registered redirect URI's query instead of adding to it";
    RegistrationHttpImplicitAccepted => "registration-http-implicit-accepted",
        "dynamic registration accepts http (non-loopback) redirect URIs for a web client using implicit";
    RegistrationUnknownAuthAccepted => "registration-unknown-auth-accepted",
        "dynamic registration registers an unknown token_endpoint_auth_method as asked";
    RegistrationStatus200 => "registration-status-200",
        "dynamic registration answers 200 instead of 201 Created";
    ThirdPartyConsentSkipped => "third-party-consent-skipped",
        "a dynamically registered (third-party) client's authorization skips the consent page";
    ConsentDenyIgnored => "consent-deny-ignored",
        "pressing Deny on the consent page is taken as Allow";
    RedirectUriMissingDefaulted => "redirect-uri-missing-defaulted",
        "an authorization request without redirect_uri is answered at the client's first registered one";
    RegisteredIdTokenAlgIgnored => "registered-id-token-alg-ignored",
        "a client registered for unsigned ID tokens (id_token_signed_response_alg none) gets RS256 ones";
    SignedUserinfoIgnored => "signed-userinfo-ignored",
        "a client registered with userinfo_signed_response_alg gets plain JSON from userinfo";
    RequestObjectIgnored => "request-object-ignored",
        "the members of a request object are not used: only the query's parameters count";
    RequestObjectQueryWins => "request-object-query-wins",
        "a parameter both in the request object and in the query takes the query's value";
    RequestObjectSignatureUnchecked => "request-object-signature-unchecked",
        "a signed request object is accepted without verifying its signature";
    PartialConsentIgnored => "partial-consent-ignored",
        "scopes unticked on the consent page are granted all the same";
    PasswordGrantAnyPassword => "password-grant-any-password",
        "the password grant issues tokens whatever password is sent";
    ErrorsOnPage => "errors-on-page",
        "invalid_request, invalid_scope and unsupported_response_type for a valid client and redirect URI are shown on an error page instead of being returned to the client";
    RevocationIgnored => "revocation-ignored",
        "the revocation endpoint answers 200 and revokes nothing";
    RevocationHintStrict => "revocation-hint-strict",
        "the revocation endpoint looks only among the tokens of the type the token_type_hint names (a refresh token hinted as an access token is not revoked)";
    RevocationUnknownTokenError => "revocation-unknown-token-error",
        "the revocation endpoint answers an unknown token with 400 invalid_request instead of 200";
    RevocationWithoutClientAuth => "revocation-without-client-auth",
        "the revocation endpoint revokes whatever token it is sent, without client authentication";
    IntrospectionWithoutAuth => "introspection-without-auth",
        "the introspection endpoint answers anyone, without client authentication";
    IntrospectionInactiveDetails => "introspection-inactive-details",
        "an inactive token's introspection response carries more than `active` (an error_description and iss)";
    IntrospectionUnknownTokenError => "introspection-unknown-token-error",
        "the introspection endpoint answers a token it does not know with 400 invalid_token instead of {\"active\": false}";
    IntrospectionDpopAsBearer => "introspection-dpop-as-bearer",
        "a DPoP-bound access token is introspected as token_type Bearer, without its cnf.jkt";
    IntrospectionActiveString => "introspection-active-string",
        "an active token's introspection response has `\"active\": \"true\"` (a string, not a JSON boolean)";
    ParStatus200 => "par-status-200",
        "a pushed authorization request is answered 200 OK instead of 201 Created";
    ParSecretUnchecked => "par-secret-unchecked",
        "the pushed authorization request endpoint takes the client named in the request without checking its secret";
    ParRequestUriInBodyAccepted => "par-request-uri-in-body-accepted",
        "a pushed authorization request carrying a request_uri is taken (the request_uri is dropped)";
    ParUnvalidated => "par-unvalidated",
        "pushed authorization requests are not validated: an unregistered redirect_uri is taken, and the user is sent there";
    DpopBoundClientUnenforced => "dpop-bound-client-unenforced",
        "a client registered with dpop_bound_access_tokens gets tokens without a DPoP proof";
    ParRequiredUnenforced => "par-required-unenforced",
        "discovery says require_pushed_authorization_requests: true, but unpushed authorization requests are taken";
    ParDpopIgnored => "par-dpop-ignored",
        "a DPoP proof at the pushed request endpoint does not bind the code to its key";
    ParRequestUriUnbound => "par-request-uri-unbound",
        "a pushed request_uri is taken from any client, not only the one that pushed it";
    ParReusable => "par-reusable",
        "a pushed request's request_uri can be used again after the authorization completed";
    ParGet400 => "par-get-400",
        "a GET to the pushed authorization request endpoint is answered 400 invalid_request instead of 405";
    ParDpopJktMismatchAccepted => "par-dpop-jkt-mismatch-accepted",
        "a pushed request whose dpop_jkt names another key than its DPoP proof's is taken (the proof's key wins)";
    ParRequestObjectClientUnchecked => "par-request-object-client-unchecked",
        "a pushed request object's client_id claim is neither compared with the authenticated client nor used";
    ParAssertionAudienceRefused => "par-assertion-audience-refused",
        "a client assertion whose aud is the pushed authorization request endpoint URL is refused (only the issuer and the token endpoint are taken)";
    ParRequestUriUnbounded => "par-request-uri-unbounded",
        "a pushed request's request_uri is still taken long after the expires_in it was given";
    DpopNonceUnchecked => "dpop-nonce-unchecked",
        "where the token endpoint uses DPoP nonces, a proof carrying any nonce is taken, not only one the provider gave";
    DpopNonceDowngrade => "dpop-nonce-downgrade",
        "where the token endpoint uses DPoP nonces, it asks each key for one once: afterwards a proof without a nonce is taken";
    ParClientIdUnchecked => "par-client-id-unchecked",
        "the pushed authorization request endpoint takes the request's client_id as its client, whichever client authenticated";
    ParRequestUriIgnored => "par-request-uri-ignored",
        "the authorization endpoint ignores a pushed request's request_uri (it sees only client_id)";
    LogoutNoState => "logout-no-state",
        "the post-logout redirect leaves out the `state` the logout request sent";
    LogoutSessionKept => "logout-session-kept",
        "a confirmed logout redirects as asked but keeps the user's session";
    LogoutGetOnly => "logout-get-only",
        "the logout endpoint answers a POST with 405 (it takes GET only)";
    LogoutRedirectPrefix => "logout-redirect-prefix",
        "a post_logout_redirect_uri is taken when it starts with a registered one (no exact match)";
    LogoutUiLocalesError => "logout-ui-locales-error",
        "a logout request whose ui_locales names a locale the provider does not support is refused with an error page";
    LogoutWithoutSessionError => "logout-without-session-error",
        "a logout request when nobody is signed in is refused with an error page";
    LogoutHintUnverified => "logout-hint-unverified",
        "an id_token_hint is read without checking its signature";
    LogoutClientIdIgnored => "logout-client-id-ignored",
        "a client_id that differs from the id_token_hint's audience is ignored";
    LogoutWithoutConfirmation => "logout-without-confirmation",
        "the logout endpoint never asks the user: any request, without id_token_hint too, ends the session at once";
    BackchannelNotSent => "backchannel-not-sent",
        "a logout never POSTs a logout token to the clients' backchannel_logout_uri";
    BackchannelUnsigned => "backchannel-unsigned",
        "logout tokens are unsigned (`alg: none`)";
    BackchannelNoJti => "backchannel-no-jti",
        "logout tokens have no `jti`";
    BackchannelEventsWrong => "backchannel-events-wrong",
        "a logout token's `events` holds the logout event as the string \"logout\", not a JSON object";
    BackchannelNonce => "backchannel-nonce",
        "logout tokens carry a `nonce`";
    BackchannelWrongSid => "backchannel-wrong-sid",
        "a logout token names another session's `sid` than the one that ended";
    BackchannelNoSidInIdToken => "backchannel-no-sid-in-id-token",
        "ID tokens carry no `sid`, though discovery says backchannel_logout_session_supported and frontchannel_logout_session_supported";
    FrontchannelNotRendered => "frontchannel-not-rendered",
        "a logout redirects at once, rendering no frame for the clients' frontchannel_logout_uri";
    FrontchannelNoSid => "frontchannel-no-sid",
        "a logout frame's URL carries `iss` but no `sid`";
    FrontchannelWrongSid => "frontchannel-wrong-sid",
        "a logout frame's URL names another session's `sid` than the one that ended";
    FrontchannelQueryDropped => "frontchannel-query-dropped",
        "a logout frame's URL replaces the registered frontchannel_logout_uri's query with `iss` and `sid`";
    RefreshAuthTimeOfLastLogin => "refresh-auth-time-of-last-login",
        "a refreshed ID token's auth_time is the user's latest sign-in anywhere, not the sign-in of the session it was issued in";
    SessionStateMissing => "session-state-missing",
        "successful authentication responses carry no session_state, though discovery offers a check_session_iframe";
    SessionStateSpaced => "session-state-spaced",
        "session_state separates its hash and salt with a space";
    DpopAlgHs256 => "dpop-alg-hs256",
        "discovery lists HS256 among the DPoP proof algorithms (dpop_signing_alg_values_supported)";
    DpopTokenTypeBearer => "dpop-token-type-bearer",
        "a DPoP-bound access token is issued with token_type Bearer";
    DpopJktWrong => "dpop-jkt-wrong",
        "a DPoP-bound JWT access token's cnf.jkt is the thumbprint of another key";
    DpopUserinfoRefused => "dpop-userinfo-refused",
        "userinfo refuses the DPoP authentication scheme (it takes Bearer tokens only)";
    DpopBearerAccepted => "dpop-bearer-accepted",
        "userinfo takes a DPoP-bound access token sent as a plain Bearer token, without proof";
    DpopHtuUnchecked => "dpop-htu-unchecked",
        "the token endpoint takes a DPoP proof whatever URL its htu names";
    DpopHtmUnchecked => "dpop-htm-unchecked",
        "the token endpoint takes a DPoP proof whatever method its htm names";
    DpopSignatureUnchecked => "dpop-signature-unchecked",
        "the token endpoint takes a DPoP proof without verifying its signature";
    DpopReplayAccepted => "dpop-replay-accepted",
        "the jti of DPoP proofs is not remembered: a proof is taken again";
    DpopRefreshUnbound => "dpop-refresh-unbound",
        "a public client's refresh token is not bound to the DPoP key it was issued with";
    DpopProofInvalidRequest => "dpop-proof-invalid-request",
        "the token endpoint refuses an invalid DPoP proof with invalid_request instead of invalid_dpop_proof";
    DpopTwoProofsAccepted => "dpop-two-proofs-accepted",
        "a request with two DPoP headers is taken on the first proof";
    DpopTypUnchecked => "dpop-typ-unchecked",
        "a DPoP proof is taken whatever its typ";
    DpopAlgUnchecked => "dpop-alg-unchecked",
        "a DPoP proof with alg none or HS256 is taken, its signature unchecked";
    DpopPrivateJwkAccepted => "dpop-private-jwk-accepted",
        "a DPoP proof whose jwk holds a private part (d) is taken";
    DpopJtiOptional => "dpop-jti-optional",
        "a DPoP proof without jti is taken";
    DpopClaimsOptional => "dpop-claims-optional",
        "a DPoP proof without htm, htu or iat is taken (one that has them is still checked)";
    DpopMalformedIgnored => "dpop-malformed-ignored",
        "a DPoP header that is not a JWS is ignored, as if no proof came";
    DpopIatUnchecked => "dpop-iat-unchecked",
        "a DPoP proof is taken whatever its iat";
    DpopHtuQueryRefused => "dpop-htu-query-refused",
        "a DPoP proof whose htu carries a query or a fragment is refused";
    DpopHtuExact => "dpop-htu-exact",
        "htu is compared as written, without normalization (an upper-case scheme or an explicit port is refused)";
    DpopAthUnchecked => "dpop-ath-unchecked",
        "userinfo takes a DPoP proof whatever its ath";
    DpopUserinfoAnyKey => "dpop-userinfo-any-key",
        "userinfo takes a valid DPoP proof of any key for a bound access token";
    DpopChallengeBare => "dpop-challenge-bare",
        "userinfo's DPoP challenges name no error and list no algs";
    DpopSchemeCaseSensitive => "dpop-scheme-case-sensitive",
        "userinfo takes the DPoP scheme only written `DPoP`";
    DpopJktIgnored => "dpop-jkt-ignored",
        "a code's DPoP binding (dpop_jkt, or the key of its pushed request's proof) is ignored: the code is redeemed with a proof of any key";
    DeviceGrantUnadvertised => "device-grant-unadvertised",
        "discovery offers a device_authorization_endpoint but leaves the device_code grant type out of grant_types_supported";
    DeviceExpiresInMissing => "device-expires-in-missing",
        "the device authorization response has no expires_in";
    DeviceUserCodeInUri => "device-user-code-in-uri",
        "the device authorization response's verification_uri holds the user code";
    DevicePendingInvalidGrant => "device-pending-invalid-grant",
        "a poll of a device code the user has not acted on yet is answered invalid_grant instead of authorization_pending";
    DeviceApprovalLost => "device-approval-lost",
        "a device code the user approved keeps answering authorization_pending";
    DeviceDenyIgnored => "device-deny-ignored",
        "a denial on the consent page of a device authorization approves it all the same";
    DeviceCodeUnbounded => "device-code-unbounded",
        "device codes never expire: past expires_in a poll still gets authorization_pending";
    DeviceFastPollDenied => "device-fast-poll-denied",
        "a poll faster than the interval ends the device authorization with access_denied instead of slow_down";
    DeviceCodeReusable => "device-code-reusable",
        "a device code whose tokens were issued issues tokens again";
    DiscoveryAuthSigningAlgNone => "discovery-auth-signing-alg-none",
        "discovery lists `none` among the token endpoint's client-authentication signing algorithms";
    ClientAssertionRefused => "client-assertion-refused",
        "the token endpoint refuses every client assertion (client_secret_jwt, private_key_jwt), though discovery lists both methods";
    ClientAssertionTokenEndpointAudienceRefused => "client-assertion-token-endpoint-audience-refused",
        "a client assertion must name the issuer as its audience: the token endpoint URL is refused (as draft revisions of RFC 7523 ask)";
    ClientAssertionIssuerAudienceRefused => "client-assertion-issuer-audience-refused",
        "a client assertion must name an endpoint URL as its audience: the issuer identifier is refused";
    ClientAssertionAudienceUnchecked => "client-assertion-audience-unchecked",
        "a client assertion is taken whatever its audience";
    ClientAssertionExpiryUnchecked => "client-assertion-expiry-unchecked",
        "a client assertion is taken after its exp";
    ClientAssertionSubjectUnchecked => "client-assertion-subject-unchecked",
        "a client assertion is taken whatever its sub (the client is the client_id sent, else the assertion's iss)";
    ClientAssertionIssuerUnchecked => "client-assertion-issuer-unchecked",
        "a client assertion is taken whatever its iss";
    ClientAssertionSignatureUnchecked => "client-assertion-signature-unchecked",
        "a client assertion is taken without verifying its signature or MAC";
    ClientAssertionReplayAccepted => "client-assertion-replay-accepted",
        "a client assertion is taken again with a jti already used";
    OpenidRequired => "openid-required",
        "authorization requests without the openid scope are refused with invalid_scope (OIDC Core §3.1.2.1 leaves such requests to the provider: a conformant choice)";
    ErrorPages200 => "error-pages-200",
        "error pages (an unknown client, a redirect URI not registered, a missing parameter) are answered 200 OK, as many products' script-rendered error pages are";
    DiscoveryMinimal => "discovery-minimal",
        "discovery advertises only the code and implicit response types, query and fragment modes, no client credentials, no address/phone scopes and no JWT client authentication (behaviour unchanged)";
}

impl fmt::Display for Quirk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of [`Quirk::from_str`]: names the rejected input and lists the
/// valid names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown quirk {name:?}; valid quirks: {}", valid_names())]
pub struct UnknownQuirk {
    pub name: String,
}

fn valid_names() -> String {
    Quirk::ALL.iter().map(Quirk::name).collect::<Vec<_>>().join(", ")
}

impl FromStr for Quirk {
    type Err = UnknownQuirk;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Quirk::ALL
            .iter()
            .copied()
            .find(|q| q.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownQuirk { name: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_round_trip_and_are_unique_kebab_case() {
        let mut seen = BTreeSet::new();
        for q in Quirk::ALL {
            let name = q.name();
            assert!(seen.insert(name), "duplicate name {name}");
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name} is not kebab-case"
            );
            assert_eq!(name.parse::<Quirk>().unwrap(), *q);
            assert_eq!(q.to_string(), name);
            assert!(!q.description().is_empty());
            assert!(!q.description().contains('\n'));
        }
        assert_eq!(Quirk::ALL.len(), 224);
    }

    #[test]
    fn unknown_name_lists_valid_ones() {
        let err = "no-such-quirk".parse::<Quirk>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("unknown quirk \"no-such-quirk\""), "{msg}");
        assert!(msg.contains("id-token-alg-none"));
        assert!(msg.contains("userinfo-without-token-accepted"));
    }
}
