//! `doctor`: proves a profile's declarations against the provider before a
//! run trusts them. Each declaration is tried with the smallest request that
//! shows whether the provider agrees, without signing anyone in:
//!
//! - a client's authentication method and secret: a token request with a code
//!   that does not exist, authenticated as declared. `invalid_grant` means the
//!   provider took the authentication (and said no to the code); `invalid_client`
//!   means it did not — the secret or the method is not what the provider has.
//!   `unauthorized_client` means the provider authenticated the client but it
//!   is not registered for the code grant (RFC 6749 §5.2): a contradiction only
//!   where the profile declares that grant.
//! - a client's redirect URI: an authorization request with `prompt=none`
//!   (nobody is signed in); a provider that knows the client and the redirect
//!   URI answers at the redirect URI (`login_required`, or anything else), one
//!   that does not shows an error with a 4xx status.
//!
//! Then the profile's test user signs in ([`signin`]): the login, the user's
//! claims, the custom claims, consent and the first API's tokens.
//!
//! A declaration the provider contradicts is a profile error: `file:line:col` of
//! the declaration, what the provider did, and the fix (exit code 2). One the
//! requests cannot settle (a page instead of an answer, a server error) is said
//! as not proven, never as an error of the profile.

pub mod signin;

use std::collections::BTreeMap;

use reqwest::Method;
use url::Url;

use crate::diag::{Diagnostic, Diagnostics, Pos, Source};
use crate::flow::{Provider, http};
use crate::profile::{Client, ClientAuth};

/// What a try showed about one declaration.
#[derive(Debug)]
pub enum Finding {
    Proven(String),
    /// The provider contradicts the profile: the message and the fix.
    Contradicted {
        what: String,
        fix: String,
        at: Option<Pos>,
    },
    NotProven(String),
}

/// One line of `doctor`'s answer: the declaration and what was found.
#[derive(Debug)]
pub struct Line {
    pub declaration: String,
    pub finding: Finding,
}

/// Tries every client of the profile, then signs the user in.
pub async fn check(p: &Provider) -> Vec<Line> {
    check_with(p, false).await.0
}

/// What the pre-flight observed, beside its findings (for `init --probe`).
#[derive(Debug, Default, Clone)]
pub struct Observed {
    /// Per client, the authentication methods the provider took.
    pub auth_methods: BTreeMap<String, Vec<ClientAuth>>,
    pub signin: signin::Observed,
}

/// [`check`]; with `probe`, the sign-in observes what the profile does not
/// declare too (every standard scope offered, consent).
pub async fn check_with(p: &Provider, probe: bool) -> (Vec<Line>, Observed) {
    // Its own breaker: what the pre-flight meets does not count against the cases.
    let own = p.with_own_guard().await;
    let p = &own;
    let mut out = Vec::new();
    let mut observed = Observed::default();
    // Clients whose authentication or redirect URI the provider contradicts: nobody signs in through them.
    let mut contradicted: Vec<String> = Vec::new();
    for (key, client) in &p.profile.clients {
        let (id_at, redirect_at) = client.declared_at.unwrap_or((None, None));
        // Every method the client is declared for, the one it uses first.
        let mut methods = vec![client.auth];
        methods.extend(client.auth_methods.iter().copied().filter(|m| *m != client.auth));
        for method in methods {
            // A method without a secret to send is not the secret's to prove.
            let keyless = method == ClientAuth::PrivateKeyJwt && client.private_key.is_none();
            if keyless || (!matches!(method, ClientAuth::None | ClientAuth::PrivateKeyJwt) && client.secret.is_none()) {
                continue;
            }
            let as_declared = Client {
                auth: method,
                ..client.clone()
            };
            let finding = authentication(p, key, &as_declared, id_at).await;
            match &finding {
                Finding::Proven(_) => observed.auth_methods.entry(key.clone()).or_default().push(method),
                Finding::Contradicted { .. } => contradicted.push(key.clone()),
                Finding::NotProven(_) => {}
            }
            out.push(Line {
                declaration: format!(
                    "client `{key}` authenticates with `{}`{}",
                    method.as_str(),
                    if client.secret.is_some() && method != ClientAuth::None {
                        " and its secret"
                    } else {
                        ""
                    }
                ),
                finding,
            });
        }
        // What the client is declared registered for, against what the provider offers at all.
        for (what, field, declared, offered) in [
            (
                "response type",
                "response_types",
                client.response_types.as_ref(),
                Some(&p.discovery.response_types_supported),
            ),
            (
                "grant type",
                "grant_types",
                client.grant_types.as_ref(),
                p.discovery.grant_types_supported.as_ref(),
            ),
        ] {
            let (Some(declared), Some(offered)) = (declared, offered) else {
                continue;
            };
            // What the profile says the provider has beyond discovery (`supports:`) counts as offered.
            let extra = if field == "response_types" {
                &p.profile.supports.response_types
            } else {
                &p.profile.supports.grant_types
            };
            let offered: Vec<String> = offered.iter().chain(extra.iter()).cloned().collect();
            let offered = &offered;
            let norm = |t: &str| {
                let mut v: Vec<&str> = t.split_whitespace().collect();
                v.sort_unstable();
                v.join(" ")
            };
            let missing: Vec<&String> = declared.iter().filter(|d| !offered.iter().any(|o| norm(o) == norm(d))).collect();
            out.push(Line {
                declaration: format!("client `{key}`'s {what}s are ones the provider offers"),
                finding: if missing.is_empty() {
                    Finding::Proven(format!("discovery offers every declared {what}"))
                } else {
                    Finding::Contradicted {
                        what: format!(
                            "client `{key}` is declared for {} `{}`, which discovery does not offer at all (it offers: {})",
                            what,
                            missing.iter().map(|m| m.as_str()).collect::<Vec<_>>().join("`, `"),
                            offered.join(", ")
                        ),
                        fix: format!(
                            "list under the client's `{field}` only what it is registered for (a grant type such as `authorization_code` is not a response type such as `code`)"
                        ),
                        at: id_at,
                    }
                },
            });
        }
        if let Some(uri) = &client.redirect_uri {
            let finding = redirect_uri(p, key, client, uri, redirect_at.or(id_at)).await;
            if matches!(finding, Finding::Contradicted { .. }) {
                contradicted.push(key.clone());
            }
            out.push(Line {
                declaration: format!("client `{key}` is registered with redirect URI {uri}"),
                finding,
            });
        }
    }
    observed.signin = signin::check(p, &contradicted, probe, &mut out).await;
    (out, observed)
}

/// The token request of a client, authenticated as declared.
async fn token_request(p: &Provider, client: &Client, mut form: Vec<(String, String)>) -> Result<(u16, Option<String>), String> {
    let url = p.endpoint("token_endpoint")?;
    if client.secret.is_some() {
        if !p.trusted_origin(&url) {
            return Err(format!(
                "the token endpoint {} is not on the issuer's origin: the secret was not sent",
                url.origin().ascii_serialization()
            ));
        }
        p.check_transport(&url, "client secret")?;
    }
    let aud = crate::flow::assertion::Audiences::new(url.as_str(), &p.discovery.issuer, false);
    let basic = crate::flow::client_authentication(client, client.auth, client.secret.as_ref(), &aud, &mut form)?;
    let mut req = p.http.post(url.clone()).form(&form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let resp = http::send(&p.guard, req, &url, &p.limits).await.map_err(|e| e.to_string())?;
    let error = resp
        .json()
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned));
    Ok((resp.status.as_u16(), error))
}

async fn authentication(p: &Provider, key: &str, client: &Client, at: Option<Pos>) -> Finding {
    let how = format!("`{}`", client.auth.as_str());
    let mut form = vec![
        ("grant_type".to_owned(), "authorization_code".to_owned()),
        // A code that does not exist: only the authentication is on trial.
        ("code".to_owned(), format!("oidc-conform-doctor-{}", crate::flow::random_token())),
        ("code_verifier".to_owned(), crate::flow::random_token()),
    ];
    if let Some(uri) = &client.redirect_uri {
        form.push(("redirect_uri".to_owned(), uri.clone()));
    }
    // Declared for the code grant: registered for it (see `Client::grant`).
    let declares_code = client.grant("", "authorization_code").is_ok();
    let answer = match token_request(p, client, form).await {
        Ok(a) => a,
        Err(e) => return Finding::NotProven(format!("the token request could not be made: {e}")),
    };
    match (answer.0, answer.1.as_deref()) {
        (_, Some("invalid_grant")) => Finding::Proven(format!(
            "the provider took the authentication with {how} and refused only the made-up code (`invalid_grant`)"
        )),
        // RFC 6749 §5.2: "the authenticated client is not authorized to use this grant type".
        (status, Some("unauthorized_client")) if declares_code => Finding::Contradicted {
            what: format!(
                "the provider says client `{key}` is not registered for the authorization code grant (HTTP {status} `unauthorized_client`), which the profile declares"
            ),
            fix: "declare the client's `grant_types` as registered at the provider, or register it for `authorization_code`".into(),
            at,
        },
        (_, Some("unauthorized_client")) => Finding::Proven(format!(
            "the provider took the authentication with {how} (`unauthorized_client`: an authenticated client not registered for the code grant, as declared)"
        )),
        (status, Some("invalid_client")) => Finding::Contradicted {
            what: format!("the provider refused client `{key}`'s authentication with {how} (HTTP {status} `invalid_client`)"),
            fix: format!(
                "check the client's `id`, `secret` and `auth` in the profile against the provider's registration (the methods discovery lists: {})",
                p.discovery
                    .token_endpoint_auth_methods_supported
                    .as_ref()
                    .map(|m| m.join(", "))
                    .unwrap_or_else(|| "none listed, so client_secret_basic".into())
            ),
            at,
        },
        (status, Some(other)) => Finding::NotProven(format!(
            "the token endpoint answered HTTP {status} `{other}`, which settles nothing"
        )),
        (status, None) => Finding::NotProven(format!("the token endpoint answered HTTP {status} without an OAuth error")),
    }
}

async fn redirect_uri(p: &Provider, key: &str, client: &Client, uri: &str, at: Option<Pos>) -> Finding {
    let Ok(mut url) = p
        .endpoint("authorization_endpoint")
        .and_then(|u| Url::parse(u.as_str()).map_err(|e| e.to_string()))
    else {
        return Finding::NotProven("discovery has no usable authorization_endpoint".into());
    };
    let response_type = match &client.response_types {
        Some(r) if !r.iter().any(|t| t == "code") => r.first().cloned().unwrap_or_else(|| "code".into()),
        _ => "code".into(),
    };
    let verifier = crate::flow::random_token();
    let mut q: BTreeMap<&str, String> = BTreeMap::new();
    q.insert("client_id", client.id.clone());
    q.insert("response_type", response_type);
    q.insert("scope", "openid".into());
    q.insert("redirect_uri", uri.to_owned());
    q.insert("prompt", "none".into());
    q.insert("state", crate::flow::random_token());
    q.insert("nonce", crate::flow::random_token());
    q.insert("code_challenge", crate::flow::pkce_challenge(&verifier));
    q.insert("code_challenge_method", "S256".into());
    url.query_pairs_mut().extend_pairs(q.iter());
    let mut at_url = url;
    for _ in 0..p.limits.max_redirects {
        if at_url.as_str().starts_with(uri) {
            return Finding::Proven("an authorization request with prompt=none was answered at the redirect URI".into());
        }
        let req = p.http.request(Method::GET, at_url.clone());
        let resp = match http::send(&p.guard, req, &at_url, &p.limits).await {
            Ok(r) => r,
            Err(e) => return Finding::NotProven(format!("the authorization request could not be made: {e}")),
        };
        if resp.status.is_redirection() {
            let Some(next) = resp.header("location").and_then(|l| at_url.join(l).ok()) else {
                return Finding::NotProven("a redirect without a usable Location".into());
            };
            at_url = next;
            continue;
        }
        let status = resp.status.as_u16();
        return if (400..500).contains(&status) {
            let page: String = String::from_utf8_lossy(&resp.body)
                .chars()
                .filter(|c| !c.is_control())
                .take(4000)
                .collect();
            let shown = match crate::login::form::analyse(
                &page,
                &at_url,
                "",
                &crate::secret::Secret::default(),
                &crate::login::form::Selectors::default(),
                uri,
            ) {
                Ok(crate::login::form::Page::Unknown { summary }) => summary,
                _ => String::new(),
            };
            Finding::Contradicted {
                what: format!(
                    "the provider answered an authorization request of client `{key}` with redirect URI {uri} with HTTP {status} and no redirect{}",
                    if shown.is_empty() { String::new() } else { format!(" ({})", crate::secret::scrub(&shown)) }
                ),
                fix: "use the redirect URI exactly as registered for the client at the provider (scheme, host, port, path and query), and the client's id".into(),
                at,
            }
        } else {
            Finding::NotProven(format!(
                "the provider answered HTTP {status} with a page (a login page ignores prompt=none, or the check of the redirect URI comes after sign-in): not settled without signing in"
            ))
        };
    }
    Finding::NotProven("too many redirects".into())
}

/// The contradicted declarations as diagnostics at their place in the profile.
pub fn diagnostics(lines: &[Line], profile_path: Option<&std::path::Path>) -> Diagnostics {
    let source = profile_path.and_then(|p| Source::read(p).ok());
    let mut d = Diagnostics::default();
    for l in lines {
        if let Finding::Contradicted { what, fix, at } = &l.finding {
            let diag = match &source {
                Some(s) => s.error_at(*at, 1, format!("the provider contradicts the profile: {what}")),
                None => Diagnostic::new(format!("the provider contradicts the profile: {what}")),
            };
            d.push(diag.with_hint(fix.clone()));
        }
    }
    d
}
