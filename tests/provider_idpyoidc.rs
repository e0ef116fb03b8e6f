//! The shipped suites against IdentityPython's `idpyoidc` OpenID provider
//! (`fixtures/providers/idpyoidc/`): installed in a virtualenv and started on
//! a free loopback port by the test itself, in two configurations (`full`:
//! `profile.yaml`, `minimal`: `profile.minimal.yaml`).
//!
//! Every case passes or is skipped, except the reviewed lists below: each
//! entry is a real finding about idpyoidc 5.0.0, or a harness bug marked
//! `HARNESS BUG:`. Nothing else may fail, warn or end in `error`, and each
//! entry must still happen (remove it once its cause is fixed), but for those
//! marked as races.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fixture::{self, Fixture, Shared, Spec};
use crate::util::{case, read_report, root};

const DIR: &str = "fixtures/providers/idpyoidc";

/// One reviewed finding: a check of a case (`*`: of any case) that ends with
/// `status`, and why.
struct Reviewed {
    case: &'static str,
    check: &'static str,
    status: &'static str,
    /// A race: it need not happen in every run.
    race: bool,
    why: &'static str,
}

const fn fail(case: &'static str, check: &'static str, why: &'static str) -> Reviewed {
    Reviewed {
        case,
        check,
        status: "fail",
        race: false,
        why,
    }
}

const fn warn(case: &'static str, check: &'static str, why: &'static str) -> Reviewed {
    Reviewed {
        case,
        check,
        status: "warn",
        race: false,
        why,
    }
}

const fn error(case: &'static str, check: &'static str, why: &'static str) -> Reviewed {
    Reviewed {
        case,
        check,
        status: "error",
        race: false,
        why,
    }
}

const fn race(case: &'static str, check: &'static str, why: &'static str) -> Reviewed {
    Reviewed {
        case,
        check,
        status: "fail",
        race: true,
        why,
    }
}

const AT_TYP: &str = "idpyoidc's JWTToken signs its JWT access tokens (its RFC 9068 JWTAccessToken profile) without a `typ` header, where RFC 9068 §2.1 says they MUST carry `typ` `at+jwt`";
const TOKEN_CLASS: &str = "idpyoidc puts its internal claim `token_class` (\"access_token\") into every JWT access token: not a registered JWT, OIDC or RFC 9068 claim and not URL-namespaced, which the product brief requires of custom claims (MUST; OIDC Core §5.1.2 recommends collision-resistant names)";
const CC_CLAIMS: &str = "idpyoidc's client-credentials access token has neither `sub` nor `client_id`, both REQUIRED by RFC 9068 §2.2 (for a client-credentials grant `sub` names the client)";
const CC_TOKEN_TYPE: &str = "idpyoidc's ClientCredentials helper answers `token_type: access_token` (its token class) instead of the token's type, `Bearer` (RFC 6749 §5.1: token_type REQUIRED, a type of §7.1; RFC 6750 §4)";
const REGISTRATION_CRASH: &str = "idpyoidc 5.0.0 refuses every registration that brings neither `jwks` nor `jwks_uri` with HTTP 400 `invalid_configuration_request`: Registration.do_client_registration logs keyjar.key_summary(client_id), which raises cryptojwt's IssuerNotFound for a client without keys (RFC 7591 §3.2.1: a valid registration is answered 201 with the registered client)";
const LOGOUT_REFUSED: &str = "idpyoidc 5.0.0 refuses every logout request: its session endpoint's process_request sets request[\"access_token\"] = auth_info[\"token\"] (server/oidc/session.py), a KeyError unless the request carried a bearer access token, so no logout ends a session or redirects (OIDC RP-Initiated Logout §2: the OP MUST take GET and POST; §3: the redirect to the registered post_logout_redirect_uri)";
const REGISTRATION_CODE: &str = "idpyoidc refuses an unsupported token_endpoint_auth_method with its own error code `invalid_configuration_request`, where RFC 7591 §3.2.2 and OIDC Registration §3.3 have `invalid_client_metadata` for an invalid metadata value";
const REQUEST_OBJECT: &str = "idpyoidc validates the query parameters of an authorization request before taking those of its request object, so a request whose redirect_uri is only in the object is refused (`Missing required attribute 'redirect_uri'`), where OIDC Core §6.3.3 MUST assemble the request from the object and the query first";
const CODE_OUTLIVES_PKCE: &str = "after refusing a wrong code_verifier idpyoidc still redeems the same code with the right one: a failed exchange does not consume the code (RFC 6749 §10.5: a code is for single use; RFC 9700 §4.8 against code injection)";
const REFRESH_REUSE: &str = "idpyoidc rotates refresh tokens but keeps the replaced one valid (the token endpoint's `revoke_refresh_on_issue` is off by default), so the public client's rotated-out refresh token still works, where RFC 9700 §4.14.2 MUST have it refused";
const PKCE_DOWNGRADE: &str = "idpyoidc ignores a code_verifier sent for a code issued without code_challenge and issues tokens (its PKCE add-on checks a verifier only when the request had a challenge), where RFC 9700 §4.8.2 says the server MUST reject such a token request";
const CODE_RACE: &str = "idpyoidc checks and counts a code's use without a lock, so several of parallel redemptions of one code can succeed (RFC 6749 §4.1.2: the server MUST deny a second use); a race, not seen in every run";
const NO_OPENID: &str = "idpyoidc's OIDC authorization endpoint refuses a request without `openid` (\"openid not in scope\"), which OIDC Core §3.1.2.1 leaves to the provider, but on an HTTP 400 page instead of at the valid redirect URI (RFC 6749 §4.1.2.1: no requirement keyword, a warning)";
const PUBLIC_SECRET: &str = "idpyoidc's `public` client authentication looks at the client_id only: a public client's code exchange that also sends a client_secret it was never issued gets tokens, where RFC 6749 §4.1.3 has the server authenticate the client when client authentication is included (MUST), and a failed one is invalid_client (§5.2)";
const ERROR_PAGE: &str = "idpyoidc's parse_request returns this refusal before the redirect URI is verified (request.verify, or the response type checked before get_uri), and the fixture shows it on an HTTP 400 page, as idpyoidc's own example does; RFC 6749 §4.1.2.1 and OIDC Core §3.1.2.6 return it at the redirect URI (no requirement keyword: a warning)";
const VERIFIER_SYNTAX: &str = "idpyoidc checks only that the code_verifier's S256 matches the challenge, not that it is 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)";
const PAR_QUERY: &str = "idpyoidc checks an authorization request's query before it takes the pushed request its `request_uri` names: Endpoint.parse_request (server/endpoint.py, line 248) verifies the query as an authorization request, `response_type` required, before Authorization._do_request_uri (server/oauth2/authorization.py, line 420) restores the pushed one, so the request of `client_id` and `request_uri` alone that RFC 9126 §4 sends (RFC 9101 §5: the server uses the pushed parameters only) is refused, HTTP 400 `Missing required attribute 'response_type'` (idpyoidc's own client repeats the required parameters beside the `request_uri`)";
const DPOP_ATH: &str = "idpyoidc's DPoP add-on compares a proof's `ath` with the hex SHA-256 of the access token (server/oauth2/add_on/dpop.py, line 180: hexdigest), where RFC 9449 §4.2 has the base64url encoding of that hash, so userinfo refuses every correct proof of a bound token (HTTP 400 `'ath' in DPoP does not match the token hash`; §7.1: it MUST take the token with a valid proof)";
const DPOP_BEARER: &str = "idpyoidc takes a DPoP-bound access token sent to userinfo as a plain Bearer token without proof: neither UserInfo.process_request (server/oidc/userinfo.py, line 119) nor the DPoP add-on's check (server/oauth2/add_on/dpop.py, line 136) looks at the token's binding (its grant's `dpop_jkt`), and the add-on can only demand a proof of every request at the endpoint, which would refuse every bearer token too (this deployment runs it where a request uses DPoP); RFC 9449 §7.2: a resource server MUST reject a DPoP-bound access token received as a bearer token";
const DPOP_REFRESH_REBOUND: &str = "idpyoidc binds the tokens of a refresh to whichever key signed that refresh's proof: a public client's refresh token bound to one key refreshes with another key's proof and the new tokens are bound to the new key (server/oidc/token_helper/refresh_token.py, lines 45-49), where RFC 9449 §5 binds a public client's refresh token to the key of its first proof (MUST)";
const DPOP_PROOF_CODE: &str = "idpyoidc's DPoP add-on refuses an invalid proof at the token endpoint by raising a plain ValueError (server/oauth2/add_on/dpop.py), which the deployment answers as HTTP 400 `invalid_request`, where RFC 9449 §5 names `invalid_dpop_proof` for it (no requirement keyword: a warning); the refusal itself is right";
const DPOP_PROOF_UNCHECKED: &str = "idpyoidc's DPoP add-on only verifies a proof's signature at the token endpoint: token_post_parse_request (server/oauth2/add_on/dpop.py, line 117) calls DPoPProof.verify_header, which checks the JWS against its `jwk` (line 80) but never calls DPoPProof.verify (line 58, where `typ` and the required claims are checked), and nothing looks at `iat` or at a private part in `jwk`; RFC 9449 §4.3 items 3, 4, 7 and 11 (MUST) refuse such a proof";
const DPOP_JKT_IGNORED: &str = "idpyoidc never reads the authorization request's `dpop_jkt`: the token endpoint binds the tokens to whichever key signed the exchange's proof (server/oauth2/add_on/dpop.py, line 132, then server/oidc/token_helper/access_token.py, line 74), where RFC 9449 §10 MUST reject a proof of another key";
const DPOP_PAR_JKT: &str = "idpyoidc's pushed authorization endpoint takes no notice of a DPoP proof: PushedAuthorization.process_request (server/oauth2/pushed_authorization.py, line 28) stores the request as it came, and the DPoP add-on (server/oauth2/add_on/dpop.py) checks proofs at the token endpoint and bound tokens at resource endpoints, with nothing for a pushed request's proof, so a push whose `dpop_jkt` names another key than its proof's is taken, where RFC 9449 §10.1 MUST reject it";
const DPOP_NO_NONCE: &str = "idpyoidc's DPoP add-on has no server nonces (server/oauth2/add_on/dpop.py neither gives nor reads a `nonce`), which RFC 9449 §8 leaves to the server (MAY): the first proof without a nonce is taken, so there is none to get wrong";
const JWT_AUTH_NOT_OFFERED: &str = "this configuration authenticates clients with client secrets only (config.py SECRET_METHODS: client_secret_basic, client_secret_post, at the token and pushed request endpoints alike), so there is no client assertion whose audience to probe";
const DPOP_HTU_EXACT: &str = "idpyoidc compares `htu` with the request URL as strings (server/oauth2/add_on/dpop.py, line 122), where RFC 9449 §4.3 ignores query and fragment (item 9) and SHOULD normalize scheme and host case and the default port (a warning)";
const PERCENT_ENCODED: &str = "idpyoidc percent-decodes the redirect_uri (verify_uri: unquote) before comparing it with the registered ones, so a percent-encoded spelling matches, where RFC 9700 §2.1 asks for exact string matching";

/// The `full` configuration (`profile.yaml`).
const FULL: &[Reviewed] = &[
    fail("*", "access_token.typ", AT_TYP),
    fail("*", "namespacing.plain_claim", TOKEN_CLASS),
    fail(
        "security::public-client-wrong-secret",
        "token_endpoint.public_client_secret",
        PUBLIC_SECRET,
    ),
    fail("flows::client-credentials-post", "access_token.claims", CC_CLAIMS),
    fail("flows::client-credentials-post", "assert.access_token", CC_CLAIMS),
    fail("flows::client-credentials-post", "assert.token_response", CC_TOKEN_TYPE),
    fail("flows::client-credentials-basic", "access_token.claims", CC_CLAIMS),
    error(
        "redirect_uri::missing-with-several-registered",
        "registration.register",
        REGISTRATION_CRASH,
    ),
    error("registration::register-and-sign-in", "registration.register", REGISTRATION_CRASH),
    error("logout::backchannel-logout", "registration.register", REGISTRATION_CRASH),
    error("logout::frontchannel-logout", "registration.register", REGISTRATION_CRASH),
    error("dpop::dpop-bound-client", "registration.register", REGISTRATION_CRASH),
    fail("logout::logout", "logout.redirect", LOGOUT_REFUSED),
    fail("logout::logout-post", "logout.post", LOGOUT_REFUSED),
    fail("logout::logout-ui-locales", "logout.redirect", LOGOUT_REFUSED),
    fail("logout::logout-repeated", "logout.redirect", LOGOUT_REFUSED),
    fail("logout::logout-unregistered-redirect-uri", "logout.redirect", LOGOUT_REFUSED),
    fail("logout::logout-forged-hint", "logout.redirect", LOGOUT_REFUSED),
    fail("logout::logout-other-client-id", "logout.redirect", LOGOUT_REFUSED),
    fail("logout::logout-without-hint-unconfirmed", "logout.redirect", LOGOUT_REFUSED),
    error("registration::id-token-rs256", "registration.register", REGISTRATION_CRASH),
    error("registration::userinfo-signed-rs256", "registration.register", REGISTRATION_CRASH),
    fail("registration::unknown-auth-method", "negative.error_code", REGISTRATION_CODE),
    fail("request_object::by-value-signed-rs256", "request_object.processed", REQUEST_OBJECT),
    fail("request_object::by-value-unsigned", "request_object.processed", REQUEST_OBJECT),
    fail("negative::wrong-code-verifier", "negative.refused", CODE_OUTLIVES_PKCE),
    fail("negative::refresh-token-reuse", "negative.refused", REFRESH_REUSE),
    fail("security::pkce-downgrade-no-challenge", "pkce.downgrade", PKCE_DOWNGRADE),
    race("security::code-parallel-redemption", "code.single_use", CODE_RACE),
    warn("scopes::no-openid-no-id-token", "authorization.error_to_client", NO_OPENID),
    warn("negative::hybrid-without-nonce", "authorization.error_to_client", ERROR_PAGE),
    warn("negative::implicit-without-nonce", "authorization.error_to_client", ERROR_PAGE),
    warn("negative::response-type-missing", "authorization.error_to_client", ERROR_PAGE),
    warn("negative::response-type-not-allowed", "authorization.error_to_client", ERROR_PAGE),
    warn("request_object::bad-signature", "authorization.error_to_client", ERROR_PAGE),
    warn("security::pkce-verifier-too-short", "pkce.verifier_syntax", VERIFIER_SYNTAX),
    warn("security::pkce-verifier-too-long", "pkce.verifier_syntax", VERIFIER_SYNTAX),
    warn(
        "security::pkce-verifier-illegal-characters",
        "pkce.verifier_syntax",
        VERIFIER_SYNTAX,
    ),
    warn("redirect_uri::percent-encoded", "redirect_uri.equivalent_spelling", PERCENT_ENCODED),
    fail("par::push", "par.authorization", PAR_QUERY),
    fail("par::push", "flow.authorization", PAR_QUERY),
    fail("par::push-wrong-secret", "par.authorization", PAR_QUERY),
    fail("par::push-wrong-secret", "flow.authorization", PAR_QUERY),
    fail("par::push-without-client-authentication", "par.authorization", PAR_QUERY),
    fail("par::push-without-client-authentication", "flow.authorization", PAR_QUERY),
    fail("par::push-with-request-uri", "par.authorization", PAR_QUERY),
    fail("par::push-with-request-uri", "flow.authorization", PAR_QUERY),
    fail("par::push-unregistered-redirect-uri", "par.authorization", PAR_QUERY),
    fail("par::push-unregistered-redirect-uri", "flow.authorization", PAR_QUERY),
    fail("par::request-uri-reuse", "par.authorization", PAR_QUERY),
    fail("par::request-uri-reuse", "flow.authorization", PAR_QUERY),
    fail("par::push-with-get", "par.authorization", PAR_QUERY),
    fail("par::push-with-get", "flow.authorization", PAR_QUERY),
    fail("par::push-request-object-of-another-client", "request_object.processed", PAR_QUERY),
    fail("par::push-in-another-clients-name", "par.authorization", PAR_QUERY),
    fail("par::push-in-another-clients-name", "flow.authorization", PAR_QUERY),
    fail("par::push-unregistered-redirect-uri-public-client", "par.authorization", PAR_QUERY),
    fail("par::push-unregistered-redirect-uri-public-client", "flow.authorization", PAR_QUERY),
    warn("dpop::dpop-proof-wrong-htu", "dpop.proof_htu", DPOP_PROOF_CODE),
    warn("dpop::dpop-proof-wrong-htm", "dpop.proof_htm", DPOP_PROOF_CODE),
    warn("dpop::dpop-proof-bad-signature", "dpop.proof_signature", DPOP_PROOF_CODE),
    fail("dpop::dpop-userinfo", "dpop.userinfo", DPOP_ATH),
    fail("dpop::dpop-bound-token-as-bearer", "dpop.bearer_refused", DPOP_BEARER),
    fail("dpop::dpop-refresh-public-client", "dpop.refresh_bound", DPOP_REFRESH_REBOUND),
    fail("dpop::dpop-proof-wrong-typ", "dpop.proof_typ", DPOP_PROOF_UNCHECKED),
    fail("dpop::dpop-proof-without-jti", "dpop.proof_jti", DPOP_PROOF_UNCHECKED),
    fail("dpop::dpop-proof-without-iat", "dpop.proof_claims", DPOP_PROOF_UNCHECKED),
    // The add-on reads `htm` and `htu` to compare them, so a proof without
    // them is refused, with its ValueError's `invalid_request`.
    warn("dpop::dpop-proof-without-htm", "dpop.proof_claims", DPOP_PROOF_CODE),
    warn("dpop::dpop-proof-without-htu", "dpop.proof_claims", DPOP_PROOF_CODE),
    warn("dpop::dpop-header-not-a-jwt", "dpop.proof_jwt", DPOP_PROOF_CODE),
    fail("dpop::dpop-proof-without-typ", "dpop.proof_typ", DPOP_PROOF_UNCHECKED),
    warn("dpop::dpop-proof-without-alg", "dpop.proof_alg", DPOP_PROOF_CODE),
    warn("dpop::dpop-proof-without-jwk", "dpop.proof_signature", DPOP_PROOF_CODE),
    fail("dpop::dpop-proof-old-iat", "dpop.proof_iat", DPOP_PROOF_UNCHECKED),
    fail("dpop::dpop-proof-future-iat", "dpop.proof_iat", DPOP_PROOF_UNCHECKED),
    fail("dpop::dpop-proof-private-key", "dpop.proof_private_key", DPOP_PROOF_UNCHECKED),
    fail("dpop::dpop-jkt", "dpop.jkt_bound", DPOP_JKT_IGNORED),
    warn("dpop::dpop-two-proofs", "dpop.proof_single", DPOP_PROOF_CODE),
    warn("dpop::dpop-proof-alg-none", "dpop.proof_alg", DPOP_PROOF_CODE),
    warn("dpop::dpop-proof-hs256", "dpop.proof_alg", DPOP_PROOF_CODE),
    warn("dpop::dpop-htu-with-query", "dpop.htu_query", DPOP_HTU_EXACT),
    warn("dpop::dpop-htu-unnormalized", "dpop.htu_normalized", DPOP_HTU_EXACT),
    fail("dpop::dpop-jkt-pushed", "par.authorization", PAR_QUERY),
    fail("dpop::dpop-jkt-pushed", "flow.authorization", PAR_QUERY),
    fail("dpop::dpop-pushed-proof", "par.authorization", PAR_QUERY),
    fail("dpop::dpop-pushed-proof", "flow.authorization", PAR_QUERY),
    fail("dpop::dpop-pushed-jkt-mismatch", "par.authorization", PAR_QUERY),
    fail("dpop::dpop-pushed-jkt-mismatch", "flow.authorization", PAR_QUERY),
    fail("dpop::dpop-pushed-jkt-mismatch", "dpop.par_jkt_match", DPOP_PAR_JKT),
    fail("par::request-uri-of-another-client", "par.authorization", PAR_QUERY),
    fail("par::request-uri-of-another-client", "flow.authorization", PAR_QUERY),
    warn(
        "security::provider-metadata",
        "metadata.deprecated_flows",
        "this configuration registers and advertises the response types that put an access token in the front channel (`id_token token`, `code token`, `code id_token token`), which RFC 9700 §2.1.2 says SHOULD NOT be used",
    ),
    warn(
        "session::sso-other-client",
        "session.sso",
        "idpyoidc ties its session cookie to the client that signed in (UserAuthnMethod.cookie_info passes over a session of another client), so a second client in the same browser gets the login form again (single sign-on: a SHOULD of the product brief)",
    ),
];

/// The `minimal` configuration (`profile.minimal.yaml`): code flow only, opaque access tokens.
const MINIMAL: &[Reviewed] = &[
    fail("request_object::by-value-unsigned", "request_object.processed", REQUEST_OBJECT),
    fail("negative::wrong-code-verifier", "negative.refused", CODE_OUTLIVES_PKCE),
    fail("security::pkce-downgrade-no-challenge", "pkce.downgrade", PKCE_DOWNGRADE),
    race("security::code-parallel-redemption", "code.single_use", CODE_RACE),
    warn("scopes::no-openid-no-id-token", "authorization.error_to_client", NO_OPENID),
    warn("negative::response-type-missing", "authorization.error_to_client", ERROR_PAGE),
    warn("security::pkce-verifier-too-short", "pkce.verifier_syntax", VERIFIER_SYNTAX),
    warn("security::pkce-verifier-too-long", "pkce.verifier_syntax", VERIFIER_SYNTAX),
    warn(
        "security::pkce-verifier-illegal-characters",
        "pkce.verifier_syntax",
        VERIFIER_SYNTAX,
    ),
    warn("redirect_uri::percent-encoded", "redirect_uri.equivalent_spelling", PERCENT_ENCODED),
];

/// The checks of the `par` and `dpop` suites that skip in the `full`
/// configuration, which offers both families: (case, check, words of the
/// harness's reason, why). Every other check of those suites gives a verdict.
const FULL_PAR_DPOP_SKIPS: &[(&str, &str, &str, &str)] = &[
    ("dpop::dpop-proof-replay", "dpop.replay", "first use was already refused", DPOP_ATH),
    (
        "dpop::dpop-userinfo-without-ath",
        "dpop.userinfo_ath",
        "but so was the token with a valid proof",
        DPOP_ATH,
    ),
    (
        "dpop::dpop-userinfo-wrong-ath",
        "dpop.userinfo_ath",
        "but so was the token with a valid proof",
        DPOP_ATH,
    ),
    (
        "dpop::dpop-userinfo-other-key",
        "dpop.userinfo_key",
        "but so was the token with a valid proof",
        DPOP_ATH,
    ),
    (
        "dpop::dpop-scheme-lower-case",
        "dpop.scheme_case",
        "but so was the scheme written `DPoP`",
        DPOP_ATH,
    ),
    (
        "par::request-uri-of-another-client",
        "par.client_bound",
        "own authorization with it did not go through either",
        PAR_QUERY,
    ),
    (
        "par::push-assertion-audiences",
        "flow.supported",
        "does not advertise `private_key_jwt`",
        JWT_AUTH_NOT_OFFERED,
    ),
    (
        "par::push-assertion-audiences-client-secret-jwt",
        "flow.supported",
        "declares no client authenticating with `client_secret_jwt`",
        JWT_AUTH_NOT_OFFERED,
    ),
    (
        "dpop::dpop-wrong-nonce",
        "dpop.nonce_checked",
        "does not use DPoP nonces",
        DPOP_NO_NONCE,
    ),
    (
        "dpop::dpop-nonce-left-out",
        "dpop.nonce_required",
        "does not use DPoP nonces",
        DPOP_NO_NONCE,
    ),
    (
        "dpop::dpop-introspection",
        "flow.supported",
        "does not advertise an introspection_endpoint",
        "this configuration enables no introspection endpoint (config.py lists none among its endpoints), so there is no introspection of a bound token to read",
    ),
    (
        "par::request-uri-expiry",
        "flow.supported",
        "opt-in: the case waits",
        "the profile does not opt in to waits, and idpyoidc's pushed request_uris live 3600 s (`expires_in`), longer than the harness waits for one to expire (600 s)",
    ),
    (
        "par::unpushed-request-refused",
        "flow.supported",
        "does not advertise require_pushed_authorization_requests: true",
        "this configuration takes unpushed authorization requests too (`require_pushed_authorization_requests` false), so there is no requirement to probe",
    ),
];

/// Cases that must run and hold every check but the reviewed findings of any case (`*`).
const FULL_CORE: &[&str] = &[
    "flows::code-client-secret-basic",
    "flows::code-client-secret-post",
    "flows::code-public-client-pkce",
    "flows::code-form-post",
    "flows::implicit-id-token",
    "flows::implicit-form-post",
    "flows::hybrid-code-id-token",
    "flows::hybrid-code-id-token-token",
    "flows::refresh",
    "security::public-client-refresh-rotation",
    "consent::deny",
    "consent::approve-some-scopes",
    "namespacing::custom-claim-in-id-token",
    "namespacing::custom-claim-in-userinfo",
    "namespacing::scoped-claim-needs-its-scope",
    "session::prompt-none-logged-in",
    "session::prompt-login",
    "session::id-token-hint",
    "redirect_uri::registered-query",
    "negative::code-reuse",
    "negative::wrong-client-secret",
    "registration::http-redirect-for-implicit",
    "logout::session-state",
    "dpop::dpop-token",
];

const MINIMAL_CORE: &[&str] = &[
    "basics::openid-only",
    "basics::openid-profile-email",
    "flows::code-client-secret-basic",
    "session::prompt-none-logged-in",
    "session::prompt-login",
    "negative::code-reuse",
    "negative::wrong-client-secret",
];

static FULL_FIXTURE: Shared = Shared::new();
static MINIMAL_FIXTURE: Shared = Shared::new();

/// The fixture in one configuration (`IDPY_VARIANT`), installed and started once per test run.
fn provider(variant: &'static str) -> &'static Fixture {
    let shared = if variant == "full" { &FULL_FIXTURE } else { &MINIMAL_FIXTURE };
    shared.get(|| {
        let dir = root().join(DIR);
        let started = Instant::now();
        let python = crate::provider_django::venv(&dir)?;
        eprintln!("idpyoidc: virtualenv ready in {:.1?}", started.elapsed());
        let mut spec = Spec::new(&format!("idpyoidc ({variant})"), &python.to_string_lossy(), dir);
        spec.args = vec!["serve.py".into(), "{port}".into()];
        spec.env = vec![
            ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
            ("IDPY_VARIANT".into(), variant.into()),
        ];
        spec.ready_timeout = Duration::from_secs(60);
        let f = fixture::start(&spec)?;
        eprintln!("idpyoidc ({variant}): serving {} after {:.1?}", f.issuer, f.started_in);
        Ok(f)
    })
}

/// A check of a case that did not pass or skip: (id, status, line for messages).
fn findings(c: &Value) -> Vec<(String, String, String)> {
    c["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| !matches!(k["status"].as_str(), Some("pass" | "skip")))
        .map(|k| {
            let line = format!(
                "{} {} {}: {} (expected {}, found {})",
                c["id"].as_str().unwrap_or(""),
                k["status"].as_str().unwrap_or(""),
                k["id"].as_str().unwrap_or(""),
                k["message"].as_str().unwrap_or(""),
                k["expected"].as_str().unwrap_or("-"),
                k["found"].as_str().unwrap_or("-"),
            );
            (
                k["id"].as_str().unwrap_or("").to_owned(),
                k["status"].as_str().unwrap_or("").to_owned(),
                line,
            )
        })
        .collect()
}

/// Runs the shipped suites against one configuration and compares with its
/// reviewed list; the report, for the configuration's own assertions.
fn shipped_suites(variant: &'static str, profile: &str, reviewed: &[Reviewed], core: &[&str]) -> Value {
    let p = provider(variant);
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let run = fixture::oidc_conform_env(
        &[
            "run",
            "--provider",
            &format!("{DIR}/{profile}"),
            "--output",
            out.path().to_str().unwrap(),
            "--format",
            "json",
        ],
        &[("IDPY_OIDC_ISSUER", &p.issuer)],
    );
    eprintln!("idpyoidc ({variant}): the suites ran in {:.1?}", started.elapsed());
    // Exit 1: the reviewed findings are failures.
    assert!(
        run.code() == 0 || run.code() == 1,
        "{}\n--- provider output\n{}",
        run.describe(),
        p.output()
    );
    let report = read_report(out.path());
    eprintln!("idpyoidc ({variant}): {}", report["summary"]);

    let matches =
        |r: &Reviewed, id: &str, check: &str, status: &str| (r.case == "*" || r.case == id) && r.check == check && r.status == status;
    let mut problems = Vec::new();
    let mut seen = vec![false; reviewed.len()];
    for c in report["cases"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let status = c["status"].as_str().unwrap();
        if !matches!(status, "pass" | "skip" | "fail" | "warn" | "error") {
            problems.push(format!("{id} is `{status}`"));
        }
        for (check, status, line) in findings(c) {
            match reviewed.iter().position(|r| matches(r, id, &check, &status)) {
                Some(i) => seen[i] = true,
                None => problems.push(format!("not reviewed: {line}")),
            }
        }
    }
    for (r, seen) in reviewed.iter().zip(&seen) {
        if !seen && !r.race {
            problems.push(format!(
                "{} {} {} no longer happens: take it off the reviewed list ({})",
                r.case, r.status, r.check, r.why
            ));
        }
    }
    for id in core {
        let c = case(&report, id);
        if c["status"] == "skip" {
            problems.push(format!("{id} was skipped: {}", c["checks"]));
        }
        for (check, status, line) in findings(c) {
            if !reviewed.iter().any(|r| r.case == "*" && matches(r, id, &check, &status)) {
                problems.push(format!("core case: {line}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}\n--- provider output\n{}", problems.join("\n"), p.output());
    report
}

/// The `par` and `dpop` suites ran in the `full` configuration: none of their
/// checks skips (a case not offered skips its `flow.supported`) but the
/// reviewed ones, each with the harness's reason.
fn par_and_dpop_ran(report: &Value) {
    let mut problems = Vec::new();
    let mut seen = vec![false; FULL_PAR_DPOP_SKIPS.len()];
    for c in report["cases"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        if !id.starts_with("par::") && !id.starts_with("dpop::") {
            continue;
        }
        for k in c["checks"].as_array().unwrap() {
            if k["status"] != "skip" {
                continue;
            }
            let check = k["id"].as_str().unwrap_or("");
            let message = k["message"].as_str().unwrap_or("");
            let reviewed = FULL_PAR_DPOP_SKIPS
                .iter()
                .position(|(case_id, check_id, words, _)| *case_id == id && *check_id == check && message.contains(*words));
            match reviewed {
                Some(i) => seen[i] = true,
                None => problems.push(format!("not reviewed: {id} skips {check}: {message}")),
            }
        }
    }
    for ((case_id, check_id, _, why), seen) in FULL_PAR_DPOP_SKIPS.iter().zip(&seen) {
        if !seen {
            problems.push(format!(
                "{case_id} no longer skips {check_id}: take it off the reviewed skips ({why})"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn full_configuration_against_the_shipped_suites() {
    let report = shipped_suites("full", "profile.yaml", FULL, FULL_CORE);
    par_and_dpop_ran(&report);
}

#[test]
fn minimal_configuration_against_the_shipped_suites() {
    shipped_suites("minimal", "profile.minimal.yaml", MINIMAL, MINIMAL_CORE);
}
