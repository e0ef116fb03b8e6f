//! `oidc-conform init ISSUER`: a starting profile from the provider's discovery
//! document (OIDC Discovery 1.0 §4), with `${env:…}` placeholders for every
//! secret and commented choices where discovery cannot tell. With `--probe`
//! and the credentials in the environment, the pre-flight signs the user in and
//! what it observed is written as facts (`# observed by the pre-flight`).

use std::fmt::Write as _;
use std::path::Path;

use url::Url;

use crate::diag::Diagnostic;
use crate::flow::http::{self, Guard, Limits, Tls};
use crate::flow::provider::Discovery;
use crate::profile::{ClaimsInIdToken, TokenFormat};
use crate::run::RunError;

/// The environment variables the written profile reads.
pub const ENV_VARS: &[(&str, &str)] = &[
    (
        "OIDC_CLIENT_ID",
        "the client id of a confidential web client registered at the provider",
    ),
    ("OIDC_CLIENT_SECRET", "its client secret"),
    (
        "OIDC_REDIRECT_URI",
        "a redirect URI registered for that client (it is never requested)",
    ),
    ("OIDC_USERNAME", "a test user's login"),
    ("OIDC_PASSWORD", "that user's password"),
];

/// What the pre-flight observed (`init --probe`), written as facts.
#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// The authentication methods the provider took from the client, in the order tried.
    pub auth_methods: Vec<String>,
    pub claims_in_id_token: Option<crate::profile::ClaimsInIdToken>,
    pub api_access_tokens: Option<crate::profile::TokenFormat>,
    pub consent: Option<crate::profile::Consent>,
    /// The user's claims of the standard scopes the provider returned.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// The comment that marks a value `init --probe` observed.
pub const OBSERVED: &str = "# observed by the pre-flight";

/// Fetches discovery and writes the profile; returns what to do next.
pub fn init(issuer: &str, output: &Path, force: bool, tls: &Tls) -> Result<String, RunError> {
    init_with(issuer, output, force, tls, false)
}

/// [`init`]; with `probe`, the pre-flight runs with the credentials in the
/// environment first, and what it observed is written as facts.
pub fn init_with(issuer: &str, output: &Path, force: bool, tls: &Tls, probe: bool) -> Result<String, RunError> {
    let issuer_url = Url::parse(issuer).map_err(|e| {
        RunError::Input(
            Diagnostic::new(format!("`{}` is not an absolute URL: {e}", shown(issuer)))
                .with_hint("pass the issuer as the provider's discovery document states it, e.g. https://login.example.com/")
                .into(),
        )
    })?;
    if output.exists() && !force {
        return Err(RunError::Input(
            Diagnostic::new(format!("`{}` exists", output.display()))
                .with_hint("pass `--output` with another file, or `--force` to overwrite it")
                .into(),
        ));
    }
    let url = Url::parse(&format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/')))
        .map_err(|e| RunError::Input(Diagnostic::new(format!("cannot build the discovery URL: {e}")).into()))?;
    let limits = Limits::default();
    let client = http::client(&limits, tls).map_err(|e| RunError::Provider(e.to_string()))?;
    let rt = crate::run::runtime()?;
    let resp = rt
        .block_on(http::send(&Guard::default(), client.get(url.clone()), &url, &limits))
        .map_err(|e| RunError::Provider(format!("cannot fetch the discovery document: {e}")))?;
    if !resp.status.is_success() {
        return Err(RunError::Provider(format!(
            "{} answered HTTP {}",
            http::redact_url(&url),
            resp.status
        )));
    }
    let json = resp
        .json()
        .map_err(|e| RunError::Provider(format!("the discovery document: {e}")))?;
    let d: Discovery = serde_json::from_value(json)
        .map_err(|e| RunError::Provider(format!("the discovery document is not OIDC Discovery metadata: {e}")))?;
    check_issuer(issuer, &d.issuer)?;
    let mut rendered = render(&issuer_url, &d, None);
    for w in &rendered.warnings {
        eprintln!("warning: {w}");
    }
    verify(&rendered.text, &d.issuer)?;
    let mut observed = String::new();
    if probe {
        let offered = d
            .token_endpoint_auth_methods_supported
            .clone()
            .unwrap_or_else(|| vec!["client_secret_basic".into()]);
        let (facts, said) = rt.block_on(probe_facts(&rendered.text, output, tls, &offered))?;
        rendered = render(&issuer_url, &d, Some(&facts));
        verify(&rendered.text, &d.issuer)?;
        observed = said;
    }
    std::fs::write(output, &rendered.text)
        .map_err(|e| RunError::Input(Diagnostic::new(format!("cannot write `{}`: {e}", output.display())).into()))?;
    let mut next = format!("{observed}wrote {}\n\nnext:\n", output.display());
    for (var, what) in ENV_VARS {
        let _ = writeln!(next, "  export {var}=…   # {what}");
    }
    let _ = writeln!(
        next,
        "  oidc-conform run --provider {}\n\nReview the profile first: add an API under `apis:`, a machine or public client, and {}.",
        output.display(),
        if probe {
            "any claim of your test user the pre-flight did not request"
        } else {
            "the claims your test user has (or run `init --probe` with the credentials above set: the pre-flight writes what it observes)"
        }
    );
    Ok(next)
}

/// The pre-flight against the profile just rendered, with the credentials of
/// the environment: the facts it observed, and its findings as lines to show.
/// A declaration the provider contradicts (a wrong password, say) stops here:
/// nothing is written.
async fn probe_facts(text: &str, output: &Path, tls: &Tls, offered: &[String]) -> Result<(Facts, String), RunError> {
    use crate::doctor::Finding;
    let missing: Vec<&str> = ENV_VARS
        .iter()
        .map(|(v, _)| *v)
        .filter(|v| std::env::var(v).map_or(true, |x| x.is_empty()))
        .collect();
    if !missing.is_empty() {
        let mut hint = String::from("set them, then run `init --probe` again (or leave out `--probe`):");
        for (var, what) in ENV_VARS.iter().filter(|(v, _)| missing.contains(v)) {
            let _ = write!(hint, "\n  export {var}=…   # {what}");
        }
        return Err(RunError::Input(
            Diagnostic::new(format!(
                "`init --probe` signs the test user in with the credentials in the environment, and {} not set",
                missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
            ))
            .with_hint(hint)
            .into(),
        ));
    }
    let source = crate::diag::Source::new(output, text);
    let mut profile = crate::profile::parse(&source).map_err(RunError::Input)?;
    // Every method discovery offers is tried: the ones the provider takes are the client's.
    let offered: Vec<crate::profile::ClientAuth> = [
        crate::profile::ClientAuth::ClientSecretBasic,
        crate::profile::ClientAuth::ClientSecretPost,
    ]
    .into_iter()
    .filter(|m| offered.iter().any(|o| o == m.as_str()))
    .collect();
    if let Some(web) = profile.clients.get_mut("web") {
        for m in offered {
            if !web.auth_methods.contains(&m) {
                web.auth_methods.push(m);
            }
        }
    }
    let provider = crate::flow::Provider::connect(profile, tls.clone(), false, None)
        .await
        .map_err(|e| RunError::Provider(crate::secret::scrub(&format!("the pre-flight: {e}"))))?;
    let (lines, observed) = crate::doctor::check_with(&provider, true).await;
    let facts = Facts {
        auth_methods: observed
            .auth_methods
            .get("web")
            .map(|m| m.iter().map(|a| a.as_str().to_owned()).collect())
            .unwrap_or_default(),
        claims_in_id_token: observed.signin.claims_in_id_token,
        api_access_tokens: observed.signin.api_access_tokens,
        consent: observed.signin.consent.filter(|_| observed.signin.client.as_deref() == Some("web")),
        // Nothing that holds a credential is written.
        claims: observed
            .signin
            .claims
            .into_iter()
            .filter(|(_, v)| crate::secret::credential_spans(&v.to_string()).is_empty())
            .collect(),
    };
    let mut said = String::from("the pre-flight, with the credentials in the environment:\n");
    let mut problems = crate::diag::Diagnostics::default();
    for l in &lines {
        // A method the provider does not take, while another works, is an observation.
        let refused_method = l.declaration.starts_with("client `web` authenticates with") && !facts.auth_methods.is_empty();
        let (mark, why) = match &l.finding {
            Finding::Proven(w) => ("ok  ", w.clone()),
            Finding::Contradicted { what, .. } if refused_method => ("--  ", format!("not taken: {what}")),
            Finding::Contradicted { what, fix, .. } => {
                problems.push(
                    Diagnostic::new(format!("the provider contradicts the environment: {what}")).with_hint(format!(
                        "{fix} (`init --probe` reads the client and the user from {})",
                        ENV_VARS.iter().map(|(v, _)| *v).collect::<Vec<_>>().join(", ")
                    )),
                );
                ("FAIL", what.clone())
            }
            Finding::NotProven(w) => ("??  ", format!("not proven: {w}")),
        };
        let _ = writeln!(
            said,
            "  {mark} {}: {}",
            crate::report::escape_controls(&l.declaration),
            crate::report::escape_controls(&crate::secret::scrub(&why))
        );
    }
    if !problems.is_empty() {
        eprint!("{}", crate::secret::scrub(&said));
        return Err(RunError::Input(problems));
    }
    said.push('\n');
    Ok((facts, crate::secret::scrub(&said)))
}

/// OIDC Discovery 1.0 §4.3: the document's `issuer` must be the URL it was
/// fetched for, as `run` requires too. A trailing `/` more or less names the
/// same discovery URL; the document's form is the one written.
fn check_issuer(asked: &str, stated: &str) -> Result<(), RunError> {
    let same = stated.trim_end_matches('/') == asked.trim_end_matches('/') && issuer_url(stated).is_ok();
    if same {
        return Ok(());
    }
    Err(RunError::Provider(format!(
        "the discovery document states the issuer {}, but it was fetched for {}: they must be identical (OIDC Discovery 1.0 §4.3); \
         no profile was written. Pass the issuer exactly as the provider states it, if that is the provider you meant",
        shown(stated),
        shown(asked)
    )))
}

/// An issuer: an absolute http(s) URL without spaces, control characters or a
/// fragment. (Plain http is `run`'s to allow or refuse.)
fn issuer_url(s: &str) -> Result<Url, &'static str> {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains a space or a control character");
    }
    let u = Url::parse(s).map_err(|_| "is not an absolute URL")?;
    if !matches!(u.scheme(), "https" | "http") || !u.has_host() {
        return Err("is not an http(s) URL");
    }
    if u.fragment().is_some() {
        return Err("has a fragment");
    }
    Ok(u)
}

/// An endpoint URL from the provider: like an issuer, and https unless the host is loopback.
fn endpoint_url(s: &str) -> Result<Url, &'static str> {
    let u = issuer_url(s)?;
    if u.scheme() == "http" && !u.host_str().is_some_and(is_loopback) {
        return Err("is not https (plain http only on a loopback host)");
    }
    Ok(u)
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "[::1]" | "::1") || host.starts_with("127.")
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// RFC 6749 §3.1.1: space-separated names of `_`, digits and letters.
pub fn is_response_type(s: &str) -> bool {
    !s.is_empty()
        && s.split(' ')
            .all(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// A grant type, authentication method or algorithm name: a plain token
/// (letters, digits, `-._:/+~`; grant types may be URNs).
fn is_plain_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:/+~".contains(&b))
}

/// A value from the provider as messages show it: escaped, and cut short.
fn shown(s: &str) -> String {
    const MAX: usize = 120;
    let cut: String = s.chars().take(MAX).collect();
    let more = if s.chars().count() > MAX { "…" } else { "" };
    format!("{cut:?}{more}")
}

/// The profile text and what was left out of it.
pub struct Rendered {
    pub text: String,
    /// One line per value of the document that was not written (escaped).
    pub warnings: Vec<String>,
}

/// The values of a discovery list that pass `valid`; the others are named in `warnings`.
fn valid_values<'a>(member: &str, values: &'a [String], valid: fn(&str) -> bool, what: &str, warnings: &mut Vec<String>) -> Vec<&'a str> {
    let mut out = Vec::new();
    for v in values {
        if valid(v) {
            out.push(v.as_str());
        } else {
            warnings.push(format!(
                "discovery's `{member}` lists {}, which is not {what}: left out of the profile",
                shown(v)
            ));
        }
    }
    out
}

/// The profile text for this discovery document. Every value from the
/// provider is checked against what the spec allows (a bad one is left out,
/// with a warning) and written as a quoted YAML scalar, never spliced raw.
pub fn render(issuer_url: &Url, d: &Discovery, facts: Option<&Facts>) -> Rendered {
    let mut warnings = Vec::new();
    let host = issuer_url.host_str().unwrap_or("provider");
    let mut y = String::new();
    let w = &mut y;
    let _ = writeln!(
        w,
        "# Profile of {}, written by `oidc-conform init` from its discovery document.",
        comment(host)
    );
    let _ = writeln!(w, "# Review every line: the harness judges the provider by what this file says.");
    let _ = writeln!(w, "name: {}", scalar(host));
    let _ = writeln!(w, "issuer: {}", scalar(&d.issuer));
    let _ = writeln!(w, "\n# How the provider selects the API an access token is for:");
    let _ = writeln!(w, "#   audience (Auth0 style `audience=`), resource (RFC 8707 `resource=`), none.");
    let _ = writeln!(w, "# Cases that test API selection skip until you choose one and add an API below.");
    let _ = writeln!(w, "audience_param: none");
    let _ = writeln!(
        w,
        "# resource_at_token_endpoint: true     # RFC 8707 §2.2: repeat `resource` at the token endpoint"
    );
    // Choices discovery cannot tell: commented, never written as facts unless
    // the pre-flight observed them.
    let _ = writeln!(
        w,
        "# Not known from discovery — choices for you to make (the defaults apply while commented):"
    );
    let _ = writeln!(w, "# What API access tokens look like: jwt (RFC 9068) or opaque.");
    match facts.and_then(|f| f.api_access_tokens) {
        Some(TokenFormat::Jwt) => _ = writeln!(w, "api_access_tokens: jwt   {OBSERVED}"),
        Some(TokenFormat::Opaque) => _ = writeln!(w, "api_access_tokens: opaque   {OBSERVED}"),
        None => _ = writeln!(w, "# api_access_tokens: jwt"),
    }
    let _ = writeln!(w, "# Where scope claims (profile, email, …) go: always (ID token and userinfo), or");
    let _ = writeln!(
        w,
        "# when_no_access_token (in the ID token only for response_type=id_token; userinfo otherwise)."
    );
    match facts.and_then(|f| f.claims_in_id_token) {
        Some(ClaimsInIdToken::Always) => _ = writeln!(w, "claims_in_id_token: always   {OBSERVED}"),
        Some(ClaimsInIdToken::WhenNoAccessToken) => _ = writeln!(w, "claims_in_id_token: when_no_access_token   {OBSERVED}"),
        None => _ = writeln!(w, "# claims_in_id_token: always"),
    }
    let _ = writeln!(w, "# access_token_aud_includes_userinfo: false");

    let auth_methods = d
        .token_endpoint_auth_methods_supported
        .clone()
        .unwrap_or_else(|| vec!["client_secret_basic".into()]);
    let auths: Vec<&str> = valid_values(
        "token_endpoint_auth_methods_supported",
        &auth_methods,
        is_plain_token,
        "an authentication method name",
        &mut warnings,
    )
    .into_iter()
    .filter(|m| matches!(*m, "client_secret_basic" | "client_secret_post"))
    .collect();
    let auth = auths.first().copied().unwrap_or("client_secret_basic");
    let grant_types = d
        .grant_types_supported
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".into(), "implicit".into()]);
    let grant_types = valid_values("grant_types_supported", &grant_types, is_plain_token, "a grant type", &mut warnings);
    let grants: Vec<String> = grant_types
        .iter()
        .filter(|g| crate::profile::BROWSER_GRANTS.contains(g))
        .map(|g| scalar(g))
        .collect();
    let response_types: Vec<String> = valid_values(
        "response_types_supported",
        &d.response_types_supported,
        is_response_type,
        "a response type (names of letters, digits and `_`, separated by single spaces)",
        &mut warnings,
    )
    .into_iter()
    .filter(|t| *t != "none")
    .map(scalar)
    .collect();
    let _ = writeln!(
        w,
        "\n# Clients in order of preference: a case takes the first that fits what it needs."
    );
    let _ = writeln!(
        w,
        "# grant_types and response_types: what the client is REGISTERED for (cases needing more skip)."
    );
    // What the provider offers is not what this client is registered for: the
    // server-wide lists are comments to choose from (`doctor` proves a choice).
    let _ = writeln!(w, "clients:");
    let _ = writeln!(w, "  web:");
    let _ = writeln!(w, "    id: \"${{env:OIDC_CLIENT_ID}}\"");
    let _ = writeln!(w, "    secret: \"${{env:OIDC_CLIENT_SECRET}}\"");
    let taken: Vec<&str> = facts
        .map(|f| f.auth_methods.iter().map(String::as_str).collect())
        .unwrap_or_default();
    if let Some(first) = taken.first() {
        let _ = writeln!(w, "    auth: {}   {OBSERVED}", scalar(first));
        if taken.len() > 1 {
            let list: Vec<String> = taken.iter().map(|a| scalar(a)).collect();
            let _ = writeln!(w, "    auth_methods: [{}]   {OBSERVED}", list.join(", "));
        }
    } else {
        let _ = writeln!(
            w,
            "    auth: {}   # the method the client is registered for; `oidc-conform doctor` proves it",
            scalar(auth)
        );
    }
    if auths.len() > 1 && taken.is_empty() {
        let list: Vec<String> = auths.iter().map(|a| scalar(a)).collect();
        let _ = writeln!(
            w,
            "    # auth_methods: [{}]   # discovery: the provider supports these; list those the client is registered for",
            list.join(", ")
        );
    }
    let _ = writeln!(w, "    redirect_uri: \"${{env:OIDC_REDIRECT_URI}}\"");
    match facts.and_then(|f| f.consent) {
        Some(c) => _ = writeln!(w, "    consent: {}   {OBSERVED}", c.as_str()),
        None => {
            _ = writeln!(
                w,
                "    # consent: remembered   # or every_time: whether a second authorization shows the consent page again"
            )
        }
    }
    let _ = writeln!(
        w,
        "    # grant_types: [{}]   # discovery: the provider offers these; list those the client is registered for",
        grants.join(", ")
    );
    let _ = writeln!(
        w,
        "    # response_types: [{}]   # discovery offers these (while commented: whatever the provider offers)",
        response_types.join(", ")
    );
    let _ = writeln!(w, "  # spa:                                 # a public client (PKCE, no secret)");
    let _ = writeln!(w, "  #   id: \"${{env:OIDC_SPA_CLIENT_ID}}\"");
    let _ = writeln!(w, "  #   auth: none");
    let _ = writeln!(w, "  #   redirect_uri: https://spa.example.com/callback");
    if grant_types.contains(&"client_credentials") {
        let _ = writeln!(
            w,
            "  # machine:                             # client credentials (discovery offers the grant)"
        );
        let _ = writeln!(w, "  #   id: \"${{env:OIDC_M2M_CLIENT_ID}}\"");
        let _ = writeln!(w, "  #   secret: \"${{env:OIDC_M2M_CLIENT_SECRET}}\"");
        let _ = writeln!(w, "  #   grant_types: [client_credentials]");
    }
    let _ = writeln!(
        w,
        "\n# APIs (resource servers): the first is the one cases use; a second one is \"another API\"."
    );
    let _ = writeln!(w, "apis: {{}}");
    let _ = writeln!(w, "#   orders:");
    let _ = writeln!(w, "#     identifier: https://api.example.com/orders");
    let _ = writeln!(w, "#     scopes: [orders:read, orders:write]");
    let _ = writeln!(w, "\nusers:");
    let _ = writeln!(w, "  tester:");
    let _ = writeln!(w, "    username: \"${{env:OIDC_USERNAME}}\"");
    let _ = writeln!(w, "    password: \"${{env:OIDC_PASSWORD}}\"");
    let _ = writeln!(w, "    # Every claim the provider returns for this user: assertions on claims");
    let _ = writeln!(w, "    # the user lacks are skipped, so list them for a complete verdict.");
    match facts.map(|f| &f.claims).filter(|c| !c.is_empty()) {
        Some(claims) => {
            let _ = writeln!(w, "    claims:   {OBSERVED} (the scopes it requested)");
            for (k, v) in claims {
                let _ = writeln!(w, "      {}: {}", scalar(k), flow_json(v));
            }
        }
        None => _ = writeln!(w, "    claims: {{}}"),
    }
    // The endpoints, for review; one on another origin than the issuer's gets no secret until trusted.
    let issuer_origin = issuer_url.origin().ascii_serialization();
    let mut endpoints = Vec::new();
    let mut elsewhere = Vec::new();
    for (member, value) in [
        ("authorization_endpoint", &d.authorization_endpoint),
        ("token_endpoint", &d.token_endpoint),
        ("userinfo_endpoint", &d.userinfo_endpoint),
        ("jwks_uri", &d.jwks_uri),
        ("registration_endpoint", &d.registration_endpoint),
    ] {
        let Some(value) = value else { continue };
        match endpoint_url(value) {
            Ok(u) => {
                let origin = u.origin().ascii_serialization();
                if origin != issuer_origin && !elsewhere.contains(&origin) {
                    elsewhere.push(origin);
                }
                endpoints.push((member, u));
            }
            Err(why) => warnings.push(format!(
                "discovery's `{member}` is {}, which {why}: left out of the profile",
                shown(value)
            )),
        }
    }
    if !endpoints.is_empty() {
        let _ = writeln!(w, "\n# Endpoints discovery lists:");
        for (member, u) in &endpoints {
            let _ = writeln!(w, "#   {member}: {}", comment(u.as_str()));
        }
    }
    if !elsewhere.is_empty() {
        let _ = writeln!(
            w,
            "# Secrets go only to the issuer's origin; after review, trust the others the provider uses with"
        );
        let list: Vec<String> = elsewhere.iter().map(|o| comment(&scalar(o))).collect();
        let _ = writeln!(w, "# http: {{ trusted_origins: [{}] }}", list.join(", "));
    }
    if let Some(scopes) = &d.scopes_supported {
        let scopes = valid_values(
            "scopes_supported",
            scopes,
            is_scope_token,
            "a scope token (RFC 6749 §3.3)",
            &mut warnings,
        );
        if !scopes.is_empty() {
            let _ = writeln!(w, "\n# Discovery advertises these scopes: {}", comment(&scopes.join(" ")));
        }
    }
    let _ = writeln!(
        w,
        "# Capabilities the provider has but discovery does not list go under `supports:`"
    );
    let _ = writeln!(
        w,
        "# (grant_types, response_types, response_modes, scopes); the report says they came from here."
    );
    Rendered { text: y, warnings }
}

/// A YAML double-quoted scalar: JSON string quoting (valid YAML), with the
/// characters YAML 1.1 readers take as line breaks escaped too.
fn scalar(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_default()
        .replace('\u{85}', "\\u0085")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// A JSON value as a YAML flow value (JSON is YAML), with the characters YAML
/// 1.1 readers take as line breaks escaped.
fn flow_json(v: &serde_json::Value) -> String {
    serde_json::to_string(v)
        .unwrap_or_default()
        .replace('\u{85}', "\\u0085")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Text for a comment line: nothing in it can end the line.
fn comment(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The written text read back: exactly the keys `init` writes, the issuer as
/// discovery states it, one client. Anything else means a value escaped its
/// quoting, and nothing is written.
fn verify(text: &str, issuer: &str) -> Result<(), RunError> {
    const KEYS: &[&str] = &[
        "name",
        "issuer",
        "audience_param",
        "api_access_tokens",
        "claims_in_id_token",
        "access_token_aud_includes_userinfo",
        "clients",
        "apis",
        "users",
    ];
    let refuse = |why: String| {
        RunError::Provider(format!(
            "the profile written from discovery does not read back as written ({why}): nothing was written"
        ))
    };
    let v: serde_json::Value = serde_saphyr::from_str(text).map_err(|e| refuse(e.to_string()))?;
    let obj = v.as_object().ok_or_else(|| refuse("not a mapping".into()))?;
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(refuse(format!("an unexpected key {}", shown(k))));
    }
    if obj.get("issuer").and_then(|i| i.as_str()) != Some(issuer) {
        return Err(refuse("the issuer differs".into()));
    }
    let clients = obj.get("clients").and_then(|c| c.as_object());
    if clients.is_none_or(|c| c.len() != 1 || c.get("web").and_then(|w| w.as_object()).is_none_or(|w| w.len() > 7)) {
        return Err(refuse("the clients differ".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        for ok in ["openid", "orders:read", "https://api.test/x", "a!#[]~"] {
            assert!(is_scope_token(ok), "{ok}");
        }
        for bad in ["", "a b", "a\nb", "a\"b", "a\\b", "café", "a\u{0}b", "a\u{7f}"] {
            assert!(!is_scope_token(bad), "{bad:?}");
        }
        assert!(is_response_type("code id_token"));
        assert!(!is_response_type("code  id_token") && !is_response_type(" code") && !is_response_type("code\n"));
    }

    #[test]
    fn a_value_that_escaped_its_quoting_stops_the_write() {
        let good = "name: \"x\"\nissuer: \"https://x.test\"\nclients:\n  web: { id: a }\n";
        assert!(verify(good, "https://x.test").is_ok());
        let injected = format!("{good}checks: {{id_token.signature: off}}\n");
        assert!(verify(&injected, "https://x.test").is_err());
        assert!(verify(good, "https://y.test").is_err());
        assert_eq!(scalar("a\nb\u{2028}\""), r#""a\nb\u2028\"""#);
        assert_eq!(comment("a\nb"), "a\\nb");
    }
}
