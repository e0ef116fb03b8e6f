//! What each quirk of the reference provider makes the shipped suites find:
//! the detection matrix the test suite proves (`tests/matrix.rs` runs every
//! shipped case against the provider with each quirk and compares the failing
//! built-in checks with this table), and what `oidc-conform explain` names as
//! the faults behind a check.

/// Quirk → the built-in checks it must fail (suite assertions, `assert.*`, aside).
pub const DETECTS: &[(&str, &[&str])] = &[
    ("id-token-aud-api", &["id_token.aud"]),
    ("id-token-multi-aud-no-azp", &["id_token.azp"]),
    ("id-token-azp-wrong", &["id_token.azp"]),
    ("id-token-wrong-iss", &["id_token.iss"]),
    ("id-token-expired", &["id_token.exp"]),
    ("id-token-iat-future", &["id_token.iat"]),
    ("id-token-bad-signature", &["id_token.signature"]),
    // A client registered for RS256 ID tokens gets another algorithm too.
    (
        "id-token-alg-none",
        &["id_token.alg", "id_token.registered_alg", "id_token.signature"],
    ),
    (
        "id-token-hs256-public-key",
        &["id_token.alg", "id_token.registered_alg", "id_token.signature"],
    ),
    ("id-token-kid-unknown", &["id_token.signature"]),
    ("id-token-sub-too-long", &["id_token.sub"]),
    ("id-token-without-openid", &["id_token.unrequested"]),
    ("nonce-not-echoed", &["id_token.nonce"]),
    ("nonce-wrong", &["id_token.nonce"]),
    ("at-hash-missing", &["id_token.at_hash"]),
    ("at-hash-wrong", &["id_token.at_hash"]),
    ("c-hash-wrong", &["id_token.c_hash"]),
    ("non-namespaced-claim", &["namespacing.plain_claim"]),
    (
        "provider-domain-namespace",
        &["namespacing.declared", "namespacing.provider_domain"],
    ),
    ("custom-claim-missing", &["namespacing.declared"]),
    ("profile-claims-without-scope", &["scopes.unrequested_claims"]),
    // Where the user unticked `email` on the consent page, its claims come all the same.
    ("email-claims-without-scope", &["consent.partial", "scopes.unrequested_claims"]),
    ("access-token-aud-missing-api", &["access_token.aud"]),
    ("access-token-no-userinfo-aud", &["access_token.aud"]),
    ("audience-ignored", &["access_token.format"]),
    ("api-token-without-audience", &["access_token.default_audience"]),
    ("scope-as-audience", &["access_token.default_audience"]),
    ("scope-over-grant", &["access_token.scope"]),
    ("scope-not-echoed", &["token_response.scope"]),
    ("access-token-typ-jwt", &["access_token.typ"]),
    ("access-token-no-azp", &["access_token.azp"]),
    ("access-token-no-jti", &["access_token.claims"]),
    ("access-token-no-client-id", &["access_token.claims"]),
    ("access-token-expired", &["access_token.exp"]),
    ("access-token-bad-signature", &["access_token.signature"]),
    ("userinfo-accepts-id-token", &["userinfo.rejects_id_token"]),
    ("userinfo-sub-differs", &["userinfo.sub"]),
    ("unknown-audience-accepted", &["negative.refused"]),
    // The pushed authorization request endpoint authenticates clients as the token endpoint does.
    ("wrong-secret-accepted", &["negative.refused", "par.client_auth"]),
    (
        "unregistered-redirect-followed",
        &["negative.refused", "redirect_uri.equivalent_spelling", "redirect_uri.exact_match"],
    ),
    (
        "redirect-uri-prefix-match",
        &["redirect_uri.equivalent_spelling", "redirect_uri.exact_match"],
    ),
    ("redirect-uri-normalised", &["redirect_uri.equivalent_spelling"]),
    // The suite's unregistered redirect URI has the registered path too.
    (
        "redirect-uri-host-ignored",
        &["negative.refused", "redirect_uri.equivalent_spelling", "redirect_uri.exact_match"],
    ),
    ("implicit-without-nonce-accepted", &["negative.refused"]),
    ("response-type-not-allowed-accepted", &["negative.refused"]),
    // Parallel redemptions all succeed too.
    ("code-reuse-accepted", &["code.single_use", "negative.refused"]),
    // RFC 6749 §3.2 and §2.3.1 bind the client: the provider going along is noted, not failed.
    ("token-endpoint-get-accepted", &[]),
    ("token-credentials-in-query-accepted", &[]),
    ("token-duplicate-params-accepted", &["token_endpoint.duplicate_params"]),
    ("code-client-unbound", &["code.client_binding"]),
    ("code-redirect-uri-unbound", &["code.redirect_uri_binding"]),
    // The binding holds; only the error code is wrong: a finding of its own.
    ("code-redirect-uri-wrong-error", &["negative.error_code"]),
    ("code-redemption-race", &["code.single_use"]),
    // About 3 of 10 get through: caught within the probe's 8 rounds all but once in 10^9.
    ("code-redemption-race-partial", &["code.single_use"]),
    ("code-reuse-keeps-tokens", &["code.reuse_revokes"]),
    (
        "pkce-not-enforced",
        &["negative.refused", "pkce.downgrade", "pkce.plain_for_s256", "pkce.verifier_syntax"],
    ),
    ("pkce-downgrade-accepted", &["pkce.downgrade"]),
    ("token-response-cacheable", &["token_response.no_store", "token_response.pragma"]),
    ("client-auth-failure-400", &["token_endpoint.client_auth_challenge"]),
    ("userinfo-no-challenge", &["userinfo.www_authenticate"]),
    ("authorization-response-no-iss", &["authorization_response.iss"]),
    ("pkce-plain-fallback", &["pkce.plain_for_s256"]),
    ("pkce-verifier-syntax-lax", &["pkce.verifier_syntax"]),
    ("refresh-reuse-accepted", &["negative.refused"]),
    // It answers a request without an Authorization header with all of jane's claims,
    // the one with the token in the query too.
    (
        "userinfo-without-token-accepted",
        &["scopes.unrequested_claims", "userinfo.requires_token"],
    ),
    ("state-not-echoed", &["flow.state"]),
    ("state-truncated", &["flow.state"]),
    ("login-page-frameable", &["pages.framing"]),
    ("short-codes", &["tokens.entropy", "tokens.entropy_160"]),
    ("uuid-tokens", &["tokens.entropy", "tokens.entropy_160"]),
    ("refresh-client-unbound", &["refresh_token.client_binding"]),
    // The login and consent pages shown for prompt=none, signed in or not.
    ("prompt-none-shows-login", &["negative.refused", "prompt.none_no_ui"]),
    // prompt=none in a session is answered login_required; the other client sees the login form.
    ("no-sso", &["flow.authorization", "session.sso"]),
    ("prompt-none-shows-consent", &["prompt.none_no_ui"]),
    ("prompt-login-ignored", &["prompt.login_reauth"]),
    // session::max-age-1 is opt-in (it waits): tests/session.rs runs it both ways.
    ("max-age-ignored", &[]),
    // Userinfo keeps the user's own sub.
    ("sso-new-subject", &["session.same_sub", "userinfo.sub"]),
    ("auth-time-missing", &["id_token.auth_time"]),
    // auth_time never moves from 0, so prompt=login does not move it either.
    ("auth-time-zero", &["id_token.auth_time", "prompt.login_reauth"]),
    ("response-type-missing-defaults-to-code", &["negative.refused"]),
    ("discovery-no-subject-types", &["metadata.required"]),
    // ID tokens stay RS256, which discovery no longer lists.
    ("discovery-no-rs256", &["id_token.alg", "metadata.rs256"]),
    // The lifetime probe is opt-in (it waits): the reference profile sets no
    // `code_lifetime`, so it skips here; tests/security.rs runs it both ways.
    ("code-lifetime-unbounded", &[]),
    ("refresh-reuse-keeps-family", &["refresh_token.reuse_revokes"]),
    // No rotation: the reuse case does not apply (a skip), the public client's check fails.
    ("refresh-no-rotation", &["refresh_token.public_rotation"]),
    // Errors for a valid client and redirect URI on a page: a warning of its own; the refusal itself stands.
    ("errors-on-page", &["authorization.error_to_client"]),
    // Legitimate: the reuse probe runs with the public client, which rotates.
    ("confidential-refresh-no-rotation", &[]),
    ("jwks-duplicate-kid", &["jwks.kid"]),
    ("jwks-private-member", &["jwks.private_members"]),
    ("jwks-short-rsa-key", &["jwks.rsa_size"]),
    ("discovery-http-endpoint", &["metadata.https"]),
    ("login-307", &["pages.login_post_redirect"]),
    ("authorization-errors-in-query", &["authorization_response.error_mode"]),
    ("access-token-in-query", &["authorization_response.encoding"]),
    // RFC 9700 §4.3.2 binds the client, and RFC 6750 §2.3 lets the provider accept it: noted, not failed.
    ("userinfo-token-in-query-accepted", &[]),
    ("client-credentials-refresh-token", &["token_response.client_credentials_refresh"]),
    ("client-credentials-sub-null", &["access_token.claims"]),
    ("public-client-secret-ignored", &["token_endpoint.public_client_secret"]),
    ("userinfo-invalid-request", &["userinfo.invalid_token_error"]),
    ("userinfo-invalid-token-400", &["userinfo.invalid_token_error"]),
    ("discovery-response-types-as-grant-types", &["metadata.values"]),
    ("form-post-ignored", &["flow.response_mode"]),
    ("token-response-no-id-token", &["flow.id_token_issued"]),
    ("id-token-malformed", &["id_token.decode"]),
    ("access-token-malformed", &["access_token.decode"]),
    ("access-token-wrong-iss", &["access_token.iss"]),
    ("profile-claims-missing", &["scopes.requested_claims"]),
    // Userinfo refuses the access token in the DPoP scheme too.
    ("userinfo-rejects-access-token", &["dpop.userinfo", "userinfo.status"]),
    // A provider that refuses valid requests: negative cases cannot reach their step (error, not fail).
    // The client-authentication family's conformant assertions get no tokens either.
    ("token-endpoint-error", &["flow.token"]),
    ("authorization-error", &["flow.authorization", "par.authorization"]),
    ("refresh-id-token-azp-added", &["id_token.refresh"]),
    ("claims-parameter-ignored", &["claims_parameter.returned"]),
    ("redirect-query-dropped", &["redirect_uri.query_retained"]),
    ("registration-http-implicit-accepted", &["registration.metadata"]),
    ("registration-unknown-auth-accepted", &["registration.metadata"]),
    ("registration-status-200", &["registration.register"]),
    ("third-party-consent-skipped", &["consent.third_party"]),
    ("partial-consent-ignored", &["consent.partial"]),
    ("redirect-uri-missing-defaulted", &["redirect_uri.required"]),
    ("registered-id-token-alg-ignored", &["id_token.registered_alg"]),
    ("signed-userinfo-ignored", &["userinfo.signed"]),
    ("request-object-ignored", &["request_object.processed"]),
    // Error pages answered 200 OK: refusals are judged by where the user agent
    // went, not by the status of the page, so nothing fails.
    ("error-pages-200", &[]),
    // Refusing a request without openid is a conformant choice.
    ("openid-required", &[]),
    (
        "revocation-ignored",
        &["revocation.access_token", "revocation.hint", "revocation.refresh_token"],
    ),
    ("revocation-hint-strict", &["revocation.hint"]),
    ("revocation-unknown-token-error", &["revocation.invalid_token"]),
    ("revocation-without-client-auth", &["revocation.client_auth"]),
    ("introspection-without-auth", &["introspection.requires_auth"]),
    ("introspection-inactive-details", &["introspection.inactive_members"]),
    ("introspection-active-string", &["introspection.active"]),
    ("introspection-dpop-as-bearer", &["dpop.introspection"]),
    ("introspection-unknown-token-error", &["introspection.inactive"]),
    ("par-status-200", &["par.push"]),
    // Whoever the request names is its client: a push in another's name too.
    ("par-secret-unchecked", &["par.client_auth", "par.client_named"]),
    ("par-request-uri-in-body-accepted", &["par.request_uri_in_body"]),
    ("par-unvalidated", &["par.validated"]),
    ("par-reusable", &["par.one_time"]),
    ("par-get-400", &["par.method"]),
    // The pushed request's request_uri ignored: the request arrives with no
    // response_type, and a pushed request object is never read.
    (
        "par-request-uri-ignored",
        &["flow.authorization", "par.authorization", "request_object.processed"],
    ),
    // A provider that takes no assertion: the family's code exchanges are refused.
    // A missing state fails the GET and the POST logout alike.
    ("logout-no-state", &["logout.post", "logout.redirect"]),
    ("logout-session-kept", &["logout.session_ended"]),
    ("logout-get-only", &["logout.post"]),
    ("logout-redirect-prefix", &["logout.redirect_validated"]),
    ("logout-hint-unverified", &["logout.hint_validated"]),
    ("logout-ui-locales-error", &["logout.ui_locales"]),
    ("logout-without-session-error", &["logout.repeated"]),
    ("logout-client-id-ignored", &["logout.client_id_verified"]),
    ("logout-without-confirmation", &["logout.asks_without_hint"]),
    ("backchannel-not-sent", &["backchannel.delivered"]),
    ("backchannel-unsigned", &["backchannel.signature"]),
    ("backchannel-no-jti", &["backchannel.claims"]),
    ("backchannel-events-wrong", &["backchannel.events"]),
    ("backchannel-nonce", &["backchannel.no_nonce"]),
    ("backchannel-wrong-sid", &["backchannel.subject"]),
    (
        "backchannel-no-sid-in-id-token",
        &["backchannel.sid_in_id_token", "frontchannel.sid_in_id_token"],
    ),
    ("frontchannel-not-rendered", &["frontchannel.rendered"]),
    ("frontchannel-no-sid", &["frontchannel.session_params"]),
    ("frontchannel-wrong-sid", &["frontchannel.values"]),
    ("frontchannel-query-dropped", &["frontchannel.query_kept"]),
    ("refresh-auth-time-of-last-login", &["id_token.refresh"]),
    ("session-state-missing", &["session_state.present"]),
    ("session-state-spaced", &["session_state.format"]),
    ("dpop-alg-hs256", &["dpop.metadata"]),
    ("dpop-token-type-bearer", &["dpop.token_type"]),
    ("dpop-jkt-wrong", &["dpop.bound"]),
    ("dpop-userinfo-refused", &["dpop.userinfo"]),
    ("dpop-bearer-accepted", &["dpop.bearer_refused"]),
    ("dpop-htu-unchecked", &["dpop.proof_htu"]),
    (
        "dpop-proof-invalid-request",
        &[
            "dpop.proof_htu",
            "dpop.proof_htm",
            "dpop.proof_signature",
            "dpop.proof_single",
            "dpop.proof_typ",
            "dpop.proof_alg",
            "dpop.proof_private_key",
            "dpop.proof_jti",
            "dpop.proof_claims",
            "dpop.proof_jwt",
            "dpop.proof_iat",
        ],
    ),
    ("dpop-htm-unchecked", &["dpop.proof_htm"]),
    ("dpop-signature-unchecked", &["dpop.proof_signature"]),
    ("dpop-replay-accepted", &["dpop.replay"]),
    ("dpop-refresh-unbound", &["dpop.refresh_bound"]),
    ("dpop-two-proofs-accepted", &["dpop.proof_single"]),
    ("dpop-typ-unchecked", &["dpop.proof_typ"]),
    ("dpop-alg-unchecked", &["dpop.proof_alg"]),
    ("dpop-private-jwk-accepted", &["dpop.proof_private_key"]),
    ("dpop-jti-optional", &["dpop.proof_jti"]),
    ("dpop-claims-optional", &["dpop.proof_claims"]),
    ("dpop-malformed-ignored", &["dpop.proof_jwt"]),
    ("dpop-iat-unchecked", &["dpop.proof_iat"]),
    ("dpop-htu-query-refused", &["dpop.htu_query"]),
    ("dpop-htu-exact", &["dpop.htu_normalized"]),
    ("dpop-ath-unchecked", &["dpop.userinfo_ath"]),
    ("dpop-userinfo-any-key", &["dpop.userinfo_key"]),
    ("dpop-challenge-bare", &["dpop.challenge"]),
    ("dpop-scheme-case-sensitive", &["dpop.scheme_case"]),
    // The pushed request's proof binds the code the way `dpop_jkt` does.
    ("dpop-jkt-ignored", &["dpop.jkt_bound", "dpop.par_bound"]),
    ("par-request-uri-unbound", &["par.client_bound"]),
    ("par-client-id-unchecked", &["par.client_named"]),
    ("par-assertion-audience-refused", &["par.assertion_audience"]),
    // par::request-uri-expiry is opt-in (it waits): tests/par.rs runs it with
    // and without this quirk.
    ("par-request-uri-unbounded", &[]),
    ("par-request-object-client-unchecked", &["par.request_object_client"]),
    // A proof ignored at the push is never compared with its `dpop_jkt`.
    ("par-dpop-ignored", &["dpop.par_bound", "dpop.par_jkt_match"]),
    ("par-dpop-jkt-mismatch-accepted", &["dpop.par_jkt_match"]),
    // Discovery then says every request is pushed, so the harness pushes them all.
    ("par-required-unenforced", &["par.required"]),
    ("dpop-bound-client-unenforced", &["dpop.client_bound"]),
    // The nonce probes need the provider's nonce mode (off in the matrix):
    // tests/dpop_nonce.rs runs them with and without these quirks.
    ("dpop-nonce-unchecked", &[]),
    ("dpop-nonce-downgrade", &[]),
    ("device-grant-unadvertised", &["device.advertised"]),
    ("device-expires-in-missing", &["device.response"]),
    ("device-user-code-in-uri", &["device.verification_uri"]),
    // The grant ends at the first poll: the other device checks skip.
    ("device-pending-invalid-grant", &["device.pending"]),
    // device::device-code-reuse has no tokens to redeem again: a skip.
    ("device-approval-lost", &["device.tokens"]),
    ("device-deny-ignored", &["device.denied"]),
    // device::device-code-expiry and device::device-slow-down are opt-in (they
    // wait): tests/device.rs runs them with and without these quirks.
    ("device-code-unbounded", &[]),
    ("device-fast-poll-denied", &[]),
    ("device-code-reusable", &["device.one_time"]),
    ("discovery-auth-signing-alg-none", &["metadata.auth_signing_algs"]),
    // A client that signs assertions gets no push taken either.
    (
        "client-assertion-refused",
        &["client_auth.accepted", "flow.authorization", "flow.token", "par.push"],
    ),
    // The harness then sends the issuer as the audience: a warning, and the family runs on.
    (
        "client-assertion-token-endpoint-audience-refused",
        &["client_auth.token_endpoint_audience", "par.assertion_audience"],
    ),
    // RFC 9126 §2 has the pushed request endpoint take the issuer as `aud` too.
    (
        "client-assertion-issuer-audience-refused",
        &["client_auth.issuer_audience", "par.assertion_audience"],
    ),
    ("client-assertion-audience-unchecked", &["client_auth.audience"]),
    ("client-assertion-expiry-unchecked", &["client_auth.expired"]),
    ("client-assertion-subject-unchecked", &["client_auth.subject"]),
    ("client-assertion-issuer-unchecked", &["client_auth.issuer"]),
    ("client-assertion-signature-unchecked", &["client_auth.signature"]),
    // RFC 7523 §3 item 7 is a MAY: a warning.
    ("client-assertion-replay-accepted", &["client_auth.replay"]),
    ("request-object-query-wins", &["request_object.processed"]),
    ("request-object-signature-unchecked", &["request_object.signature"]),
    ("consent-deny-ignored", &["consent.denied"]),
    ("password-grant-any-password", &["negative.refused"]),
    // Changes only what discovery advertises: cases skip, none fail.
    ("discovery-minimal", &[]),
];
