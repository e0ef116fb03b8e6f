//! `oidc-conform init ISSUER`: a starting profile from the provider's discovery
//! document (OIDC Discovery 1.0 §4), with `${env:…}` placeholders for every
//! secret and commented choices where discovery cannot tell.

use std::fmt::Write as _;
use std::path::Path;

use url::Url;

use crate::diag::Diagnostic;
use crate::flow::http::{self, Guard, Limits, Tls};
use crate::flow::provider::Discovery;
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

/// Fetches discovery and writes the profile; returns what to do next.
pub fn init(issuer: &str, output: &Path, force: bool, tls: &Tls) -> Result<String, RunError> {
    let issuer_url = Url::parse(issuer).map_err(|e| {
        RunError::Input(
            Diagnostic::new(format!("`{issuer}` is not an absolute URL: {e}"))
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
    let text = render(&issuer_url, issuer, &d);
    std::fs::write(output, &text)
        .map_err(|e| RunError::Input(Diagnostic::new(format!("cannot write `{}`: {e}", output.display())).into()))?;
    let mut next = format!("wrote {}\n\nnext:\n", output.display());
    for (var, what) in ENV_VARS {
        let _ = writeln!(next, "  export {var}=…   # {what}");
    }
    let _ = writeln!(
        next,
        "  oidc-conform run --provider {}\n\nReview the profile first: add an API under `apis:`, a machine or public client, and the claims your test user has.",
        output.display()
    );
    Ok(next)
}

/// The profile text for this discovery document.
pub fn render(issuer_url: &Url, issuer: &str, d: &Discovery) -> String {
    let host = issuer_url.host_str().unwrap_or("provider");
    let mut y = String::new();
    let w = &mut y;
    let _ = writeln!(
        w,
        "# Profile of {host}, written by `oidc-conform init` from its discovery document."
    );
    let _ = writeln!(w, "# Review every line: the harness judges the provider by what this file says.");
    let _ = writeln!(w, "name: {}", yaml_str(host));
    if d.issuer != issuer {
        let _ = writeln!(
            w,
            "# NOTE: discovery states the issuer as {} (OIDC Discovery §4.3: it must equal the URL it was fetched from).",
            yaml_str(&d.issuer)
        );
    }
    let _ = writeln!(w, "issuer: {}", yaml_str(&d.issuer));
    let _ = writeln!(w, "\n# How the provider selects the API an access token is for:");
    let _ = writeln!(w, "#   audience (Auth0 style `audience=`), resource (RFC 8707 `resource=`), none.");
    let _ = writeln!(w, "# Cases that test API selection skip until you choose one and add an API below.");
    let _ = writeln!(w, "audience_param: none");
    let _ = writeln!(
        w,
        "# resource_at_token_endpoint: true     # RFC 8707 §2.2: repeat `resource` at the token endpoint"
    );
    let _ = writeln!(w, "# What API access tokens look like: jwt (RFC 9068) or opaque.");
    let _ = writeln!(w, "api_access_tokens: jwt");
    let _ = writeln!(w, "# Where scope claims (profile, email, …) go: always (ID token and userinfo), or");
    let _ = writeln!(
        w,
        "# when_no_access_token (in the ID token only for response_type=id_token; userinfo otherwise)."
    );
    let _ = writeln!(w, "claims_in_id_token: always");
    let _ = writeln!(w, "access_token_aud_includes_userinfo: false");

    let auths: Vec<&str> = d
        .token_endpoint_auth_methods_supported
        .clone()
        .unwrap_or_else(|| vec!["client_secret_basic".into()])
        .iter()
        .filter_map(|m| match m.as_str() {
            "client_secret_basic" => Some("client_secret_basic"),
            "client_secret_post" => Some("client_secret_post"),
            _ => None,
        })
        .collect();
    let auth = auths.first().copied().unwrap_or("client_secret_basic");
    let grants: Vec<String> = d
        .grant_types_supported
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".into(), "implicit".into()])
        .into_iter()
        .filter(|g| crate::profile::BROWSER_GRANTS.contains(&g.as_str()))
        .collect();
    let response_types: Vec<String> = d
        .response_types_supported
        .iter()
        .filter(|t| t.as_str() != "none")
        .map(|t| yaml_str(t))
        .collect();
    let _ = writeln!(
        w,
        "\n# Clients in order of preference: a case takes the first that fits what it needs."
    );
    let _ = writeln!(
        w,
        "# grant_types and response_types: what the client is REGISTERED for (cases needing more skip)."
    );
    let _ = writeln!(w, "clients:");
    let _ = writeln!(w, "  web:");
    let _ = writeln!(w, "    id: \"${{env:OIDC_CLIENT_ID}}\"");
    let _ = writeln!(w, "    secret: \"${{env:OIDC_CLIENT_SECRET}}\"");
    let _ = writeln!(w, "    auth: {auth}");
    if auths.len() > 1 {
        let _ = writeln!(w, "    auth_methods: [{}]", auths.join(", "));
    }
    let _ = writeln!(w, "    redirect_uri: \"${{env:OIDC_REDIRECT_URI}}\"");
    let _ = writeln!(w, "    grant_types: [{}]", grants.join(", "));
    let _ = writeln!(w, "    response_types: [{}]", response_types.join(", "));
    let _ = writeln!(w, "  # spa:                                 # a public client (PKCE, no secret)");
    let _ = writeln!(w, "  #   id: \"${{env:OIDC_SPA_CLIENT_ID}}\"");
    let _ = writeln!(w, "  #   auth: none");
    let _ = writeln!(w, "  #   redirect_uri: https://spa.example.com/callback");
    if d.grant_types_supported
        .as_ref()
        .is_some_and(|g| g.iter().any(|x| x == "client_credentials"))
    {
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
    let _ = writeln!(w, "    claims: {{}}");
    if let Some(scopes) = &d.scopes_supported {
        let _ = writeln!(w, "\n# Discovery advertises these scopes: {}", scopes.join(" "));
    }
    let _ = writeln!(
        w,
        "# Capabilities the provider has but discovery does not list go under `supports:`"
    );
    let _ = writeln!(
        w,
        "# (grant_types, response_types, response_modes, scopes); the report says they came from here."
    );
    y
}

/// A YAML scalar, quoted when it needs to be.
fn yaml_str(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@".contains(c)) && !s.starts_with(['-', ':', '@']) {
        s.to_owned()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}
