//! The sign-in part of the pre-flight: the profile's test user signs in
//! through one client that can do the authorization-code flow, with the
//! harness's own login driver, and the code is redeemed. What came back proves
//! (or contradicts) the declarations no token request alone can settle:
//!
//! - the user's username and password: the login form coming back each time
//!   (the driver's three tries) contradicts them, with what the page said;
//! - the user's claims: each one of a standard scope (OIDC Core §5.4) comes
//!   back for that scope, in the ID token (`claims_in_id_token: always`) or at
//!   userinfo;
//! - the custom claims under `namespaces.claims`: each arrives where and under
//!   the scope it is declared for;
//! - a client's `consent:`: a second authorization in the same browser shows
//!   the consent page, or not (a `third_party: true` client that gets no
//!   consent page is the provider's finding, `consent.third_party`, never a
//!   profile error);
//! - the first API: a token for it is of the declared format
//!   (`api_access_tokens`) and, as a JWT, names the API's identifier in `aud`.
//!
//! A provider that is merely broken (a server error, a refused connection, a
//! page the drivers cannot get through) proves nothing and contradicts nothing:
//! such a finding is said as not proven, and the run goes on.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Finding, Line};
use crate::check::claims::{self, Due, SCOPE_CLAIMS};
use crate::check::jwt;
use crate::diag::Pos;
use crate::flow::{self, Evidence, Provider};
use crate::profile::{ClaimPlace, ClaimsInIdToken, Consent, TokenFormat};
use crate::secret::Secret;
use crate::suite::{Area, Case, Flow, Request, UserinfoMethod};

/// What the sign-in observed of the provider, for `init --probe`.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    /// Where the scope claims went with an access token issued.
    pub claims_in_id_token: Option<ClaimsInIdToken>,
    /// The format of a token for the first API.
    pub api_access_tokens: Option<TokenFormat>,
    /// Whether a second authorization of the sign-in client showed the consent page.
    pub consent: Option<Consent>,
    /// The client the user signed in through.
    pub client: Option<String>,
    /// The claims of the standard scopes the provider returned for the user.
    pub claims: Map<String, Value>,
}

/// The tokens and claims of one authorization with its code redeemed.
struct Signed {
    id_token: Option<Map<String, Value>>,
    access_token: Option<Secret>,
    userinfo: Option<Map<String, Value>>,
}

/// How one authorization ended, when it did not end with a redeemed code.
enum Stop {
    /// The login form came back each time (the driver's message).
    LoginRefused(String),
    /// Anything else: a refusal, a server error, a page the drivers could not use.
    Unsettled(String),
}

/// A synthetic case of the code flow for the pre-flight's requests.
fn case(client: &str, p: &Provider, user: &str, api: Option<&str>, scope: String) -> Case {
    Case {
        suite: "pre-flight".into(),
        name: "sign-in".into(),
        about: None,
        area: Area::Flows,
        spec: Vec::new(),
        flow: Flow::Code,
        client: client.to_owned(),
        auth: p.profile.clients[client].auth,
        other_clients: Vec::new(),
        user: Some(user.to_owned()),
        api: api.map(str::to_owned),
        skip: None,
        features: Vec::new(),
        check: None,
        request: Request {
            scope,
            nonce: true,
            ..Default::default()
        },
        expect: Default::default(),
        location: "pre-flight".into(),
    }
}

/// One authorization in `browser`: the redirect's parameters, or why it stopped.
async fn authorize(
    p: &Provider,
    case: &Case,
    browser: &reqwest::cookie::Jar,
    verifier: &str,
    ev: &mut Evidence,
) -> Result<BTreeMap<String, String>, Stop> {
    match flow::authorize(p, case, browser, verifier, ev).await {
        Ok(Some(params)) => Ok(params),
        Ok(None) => Err(Stop::Unsettled(
            match (&ev.error, &ev.refused_without_redirect, &ev.not_applicable) {
                (Some(e), _, _) => format!(
                    "the provider refused the authorization with `{}`{}",
                    e.error,
                    e.description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
                ),
                (None, Some((status, page)), _) => format!("the provider answered the authorization with HTTP {status}: {page}"),
                (None, None, Some(why)) => why.clone(),
                (None, None, None) => "the authorization ended without an answer".into(),
            },
        )),
        Err(e) if e.contains(flow::LOGIN_REFUSED) => Err(Stop::LoginRefused(e)),
        Err(e) => Err(Stop::Unsettled(e)),
    }
}

/// An authorization, its code redeemed and (with an access token for it) userinfo called.
async fn sign_in(
    p: &Provider,
    case: &Case,
    browser: &reqwest::cookie::Jar,
    with_userinfo: bool,
    ev: &mut Evidence,
) -> Result<Signed, Stop> {
    let verifier = flow::make_verifier(&case.request.pkce);
    let params = authorize(p, case, browser, &verifier, ev).await?;
    let Some(code) = params.get("code") else {
        return Err(Stop::Unsettled("the authorization response carried no code".into()));
    };
    let set = match flow::exchange_code(p, case, &Secret::new(code.clone()), &verifier, ev).await {
        Ok(Some(set)) => set,
        Ok(None) => {
            return Err(Stop::Unsettled(match &ev.error {
                Some(e) => format!("the provider refused the code at the token endpoint with `{}`", e.error),
                None => "the provider refused the code at the token endpoint".into(),
            }));
        }
        Err(e) => return Err(Stop::Unsettled(format!("the code exchange failed: {e}"))),
    };
    let id_token = set.id_token.as_ref().and_then(|t| jwt::decode(t.expose()).ok()).map(|d| d.claims);
    let mut userinfo = None;
    if with_userinfo
        && let Some(at) = &set.access_token
        && p.discovery.userinfo_endpoint.is_some()
        && let Ok(answer) = flow::userinfo(p, Some(at), UserinfoMethod::Get, ev).await
        && answer.status == 200
    {
        userinfo = answer.claims;
    }
    Ok(Signed {
        id_token,
        access_token: set.access_token,
        userinfo,
    })
}

/// Whether the provider offers `scope` (discovery, or the profile's `supports:`).
fn offered(p: &Provider, scope: &str) -> bool {
    p.discovery.scopes_supported.as_ref().is_none_or(|s| s.iter().any(|x| x == scope))
        || p.profile.supports.scopes.iter().any(|s| s == scope)
}

/// The standard scope whose claims include `claim`.
fn scope_of(claim: &str) -> Option<&'static str> {
    SCOPE_CLAIMS.iter().find(|(_, names)| names.contains(&claim)).map(|(s, _)| *s)
}

/// Signs the first user in and proves what the sign-in can settle. Clients in
/// `skip` (their authentication or redirect URI was contradicted) are not used.
/// With `probe`, every standard scope the provider offers is requested and a
/// second authorization is made whatever the profile says of consent, to observe.
pub async fn check(p: &Provider, skip: &[String], probe: bool, out: &mut Vec<Line>) -> Observed {
    let mut observed = Observed::default();
    let Some((user_key, user)) = p.profile.users.first() else {
        return observed;
    };
    let client_key = p.profile.clients.iter().find_map(|(key, c)| {
        let fits = c.redirect_uri.is_some()
            && c.grant(key, "authorization_code").is_ok()
            && c.response_type(key, "code").is_ok()
            && !skip.contains(key);
        fits.then(|| key.clone())
    });
    let Some(client_key) = client_key else {
        out.push(Line {
            declaration: format!("user `{user_key}` signs in"),
            finding: Finding::NotProven(
                "no client of the profile can do the authorization-code flow (a redirect URI, the code grant and response type): nobody was signed in"
                    .into(),
            ),
        });
        return observed;
    };
    observed.client = Some(client_key.clone());
    let limit = p.limits.case_timeout;
    let declaration = format!("user `{user_key}` signs in through client `{client_key}` with the declared username and password");
    match tokio::time::timeout(limit, run(p, &client_key, user_key, user, probe, &declaration, out, &mut observed)).await {
        Ok(()) => {}
        Err(_) => out.push(Line {
            declaration,
            finding: Finding::NotProven(format!(
                "the sign-in did not finish within {} s (http.case_timeout in the profile)",
                limit.as_secs()
            )),
        }),
    }
    observed
}

#[allow(clippy::too_many_arguments)]
async fn run(
    p: &Provider,
    client_key: &str,
    user_key: &str,
    user: &crate::profile::User,
    probe: bool,
    declaration: &str,
    out: &mut Vec<Line>,
    observed: &mut Observed,
) {
    let profile = &p.profile;
    // The scopes: `openid`, those of the user's declared standard claims (or
    // with `probe` every standard one offered), and those of the custom claims.
    let mut scopes = vec!["openid".to_owned()];
    let mut unoffered: Vec<(String, &'static str)> = Vec::new();
    for (scope, names) in SCOPE_CLAIMS {
        let declared = user.claims.keys().any(|k| names.contains(&k.as_str()));
        if !(declared || probe) {
            continue;
        }
        if offered(p, scope) && (declared || p.discovery.scopes_supported.is_some()) {
            scopes.push((*scope).to_owned());
        } else if declared {
            for k in user.claims.keys().filter(|k| names.contains(&k.as_str())) {
                unoffered.push((k.clone(), scope));
            }
        }
    }
    for c in &profile.namespaces.claims {
        if let Some(s) = &c.scope
            && !scopes.contains(s)
        {
            scopes.push(s.clone());
        }
    }
    let scope = scopes.join(" ");
    let browser = reqwest::cookie::Jar::default();
    let first = case(client_key, p, user_key, None, scope.clone());
    let mut ev = Evidence::default();
    let signed = match sign_in(p, &first, &browser, true, &mut ev).await {
        Ok(s) => s,
        Err(Stop::LoginRefused(said)) => {
            out.push(Line {
                declaration: declaration.to_owned(),
                finding: Finding::Contradicted {
                    what: format!("user `{user_key}` could not sign in through client `{client_key}`: {said}"),
                    fix: format!(
                        "write user `{user_key}`'s `username` and `password` as the provider has them (from the environment, as `${{env:NAME}}`, for a real account)"
                    ),
                    at: user.declared_at.password.or(user.declared_at.username),
                },
            });
            return;
        }
        Err(Stop::Unsettled(why)) => {
            out.push(Line {
                declaration: declaration.to_owned(),
                finding: Finding::NotProven(format!("the sign-in did not complete: {why}")),
            });
            return;
        }
    };
    out.push(Line {
        declaration: declaration.to_owned(),
        finding: if ev.logins > 0 {
            Finding::Proven(format!(
                "the login form took them{}, and the code was redeemed",
                if ev.consents > 0 {
                    " (and the consent page was approved)"
                } else {
                    ""
                }
            ))
        } else {
            Finding::NotProven("no login form was shown (the code was redeemed all the same)".into())
        },
    });
    let requested: Vec<&str> = scopes.iter().map(String::as_str).collect();
    user_claims(p, user_key, user, &signed, &requested, &unoffered, out, observed);
    custom_claims(p, &signed, &requested, out);
    // Consent: the same authorization again, in the same browser.
    let declared = profile.clients[client_key].consent;
    if declared.is_some() || probe {
        let mut again = Evidence::default();
        let verifier = flow::make_verifier(&first.request.pkce);
        let answer = authorize(p, &first, &browser, &verifier, &mut again).await;
        out.extend(consent(client_key, declared, answer.map(|_| again.consents), observed));
    }
    // The other clients that declare consent (a third-party client, say).
    for (key, c) in &profile.clients {
        let Some(said) = c.consent.filter(|_| key != client_key) else {
            continue;
        };
        if c.redirect_uri.is_none() || c.grant(key, "authorization_code").is_err() || c.response_type(key, "code").is_err() {
            continue;
        }
        let other = case(key, p, user_key, None, "openid".into());
        let mut ev = Evidence::default();
        let verifier = flow::make_verifier(&other.request.pkce);
        let answer = match authorize(p, &other, &browser, &verifier, &mut ev).await {
            Ok(_) => {
                let mut again = Evidence::default();
                authorize(p, &other, &browser, &verifier, &mut again).await.map(|_| again.consents)
            }
            Err(e) => Err(e),
        };
        out.extend(consent(key, Some(said), answer, &mut Observed::default()));
    }
    api_token(p, client_key, user_key, &browser, out, observed).await;
}

/// The user's declared claims of the requested standard scopes, against the
/// ID token and userinfo of the sign-in.
#[allow(clippy::too_many_arguments)]
fn user_claims(
    p: &Provider,
    user_key: &str,
    user: &crate::profile::User,
    signed: &Signed,
    requested: &[&str],
    unoffered: &[(String, &'static str)],
    out: &mut Vec<Line>,
    observed: &mut Observed,
) {
    let profile = &p.profile;
    let empty = Map::new();
    let id = signed.id_token.as_ref().unwrap_or(&empty);
    let info = signed.userinfo.as_ref();
    // What the provider returned of the requested standard scopes.
    for (_, names) in SCOPE_CLAIMS.iter().filter(|(s, _)| requested.contains(s)) {
        for n in *names {
            if let Some(v) = info.and_then(|i| i.get(*n)).or_else(|| id.get(*n)) {
                observed.claims.insert((*n).to_owned(), v.clone());
            }
        }
    }
    let returned: Vec<&String> = observed.claims.keys().collect();
    if !returned.is_empty() {
        let in_id = returned.iter().filter(|n| id.contains_key(n.as_str())).count();
        observed.claims_in_id_token = if in_id == returned.len() {
            Some(ClaimsInIdToken::Always)
        } else if in_id == 0 && info.is_some() {
            Some(ClaimsInIdToken::WhenNoAccessToken)
        } else {
            None
        };
    }
    for (claim, scope) in unoffered {
        out.push(Line {
            declaration: format!("user `{user_key}` has claim `{claim}`"),
            finding: Finding::NotProven(format!(
                "the provider does not offer scope `{scope}` (discovery, or `supports.scopes`)"
            )),
        });
    }
    let declared: Vec<(&String, &'static str)> = user
        .claims
        .keys()
        .filter_map(|k| Some((k, scope_of(k)?)))
        .filter(|(_, s)| requested.contains(s))
        .collect();
    if declared.is_empty() {
        return;
    }
    let in_id_due = claims::scope_claims_due(profile, ClaimPlace::IdToken, signed.access_token.is_some());
    if info.is_none() && !in_id_due {
        out.push(Line {
            declaration: format!("user `{user_key}`'s declared claims come back"),
            finding: Finding::NotProven(
                "userinfo gave no claims, and the profile keeps the scope claims out of the ID token (`claims_in_id_token`)".into(),
            ),
        });
        return;
    }
    let mut contradicted = false;
    let mut only_at_userinfo = Vec::new();
    for (claim, scope) in &declared {
        let in_id = id.contains_key(claim.as_str());
        let in_info = info.is_some_and(|i| i.contains_key(claim.as_str()));
        if !in_id && !in_info {
            contradicted = true;
            let where_ = if info.is_some() {
                "neither in the ID token nor at userinfo"
            } else {
                "not in the ID token (userinfo gave no claims)"
            };
            out.push(Line {
                declaration: format!("user `{user_key}` has claim `{claim}`"),
                finding: Finding::Contradicted {
                    what: format!("the provider returned no `{claim}` for user `{user_key}` with scope `{scope}` ({where_})"),
                    fix: format!(
                        "list under user `{user_key}`'s `claims` only what the provider returns for them (remove `{claim}`), or give the user that claim at the provider"
                    ),
                    at: user.declared_at.claims.get(claim.as_str()).copied(),
                },
            });
        } else if in_id_due && !in_id {
            only_at_userinfo.push(claim.as_str());
        }
    }
    if !only_at_userinfo.is_empty() {
        contradicted = true;
        out.push(Line {
            declaration: "scope claims are in the ID token (`claims_in_id_token: always`)".into(),
            finding: Finding::Contradicted {
                what: format!(
                    "with an access token issued, the ID token of client's sign-in lacks {}, which userinfo returned",
                    only_at_userinfo.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                ),
                fix: "write `claims_in_id_token: when_no_access_token` (the provider keeps scope claims to userinfo when it issues an access token)"
                    .into(),
                at: profile.declared_at.claims_in_id_token,
            },
        });
    }
    if !contradicted {
        out.push(Line {
            declaration: format!("user `{user_key}`'s declared claims come back"),
            finding: Finding::Proven(format!(
                "all {} declared claims of the scopes {} came back{}",
                declared.len(),
                requested.join(" "),
                if in_id_due { " (in the ID token too)" } else { "" }
            )),
        });
    }
}

/// The declared custom claims due in the sign-in's ID token and userinfo.
fn custom_claims(p: &Provider, signed: &Signed, requested: &[&str], out: &mut Vec<Line>) {
    if p.profile.namespaces.custom.is_none() {
        return;
    }
    let at_issued = signed.access_token.is_some();
    let mut places: Vec<(ClaimPlace, &Map<String, Value>)> = Vec::new();
    if let Some(id) = &signed.id_token {
        places.push((ClaimPlace::IdToken, id));
    }
    if let Some(info) = &signed.userinfo {
        places.push((ClaimPlace::Userinfo, info));
    }
    let at_claims = signed
        .access_token
        .as_ref()
        .filter(|t| jwt::looks_like_jwt(t.expose()))
        .and_then(|t| jwt::decode(t.expose()).ok())
        .map(|d| d.claims);
    if let Some(at) = &at_claims {
        places.push((ClaimPlace::AccessToken, at));
    }
    custom_claims_in(p, &places, requested, at_issued, "the sign-in", out);
}

fn custom_claims_in(
    p: &Provider,
    places: &[(ClaimPlace, &Map<String, Value>)],
    requested: &[&str],
    at_issued: bool,
    whose: &str,
    out: &mut Vec<Line>,
) {
    let profile = &p.profile;
    for (place, claims) in places {
        let due = Due {
            place: *place,
            requested,
            access_token_issued: at_issued,
        };
        for c in claims::declared_due(profile, due) {
            let name = profile.namespaces.namespaced(c);
            let declaration = format!("custom claim `{name}` comes in {}", place.describe());
            out.push(Line {
                declaration,
                finding: if claims.contains_key(&name) {
                    Finding::Proven(format!("it came in {} of {whose} (scope {})", place.describe(), requested.join(" ")))
                } else {
                    Finding::Contradicted {
                        what: format!(
                            "`{name}` did not come in {} of {whose}, for scope {}",
                            place.describe(),
                            requested.join(" ")
                        ),
                        fix: "declare under `namespaces.claims` where (`in:`) and with which scope (`scope:`) the provider releases the claim, or remove it"
                            .into(),
                        at: c.declared_at,
                    }
                },
            });
        }
    }
}

/// A second authorization's consent pages against what the client declares.
fn consent(key: &str, declared: Option<(Consent, Option<Pos>)>, answer: Result<u32, Stop>, observed: &mut Observed) -> Option<Line> {
    let consents = match answer {
        Ok(n) => n,
        Err(Stop::LoginRefused(why) | Stop::Unsettled(why)) => {
            return declared.map(|(c, _)| Line {
                declaration: format!("client `{key}`'s consent is {}", c.as_str()),
                finding: Finding::NotProven(format!("a second authorization did not complete: {why}")),
            });
        }
    };
    let seen = if consents > 0 { Consent::EveryTime } else { Consent::Remembered };
    observed.consent = Some(seen);
    let (said, at) = declared?;
    let declaration = format!("client `{key}`'s consent is {}", said.as_str());
    Some(Line {
        declaration,
        finding: match (said, seen) {
            (Consent::Remembered, Consent::Remembered) => {
                Finding::Proven("a second authorization in the same browser showed no consent page".into())
            }
            (Consent::EveryTime, Consent::EveryTime) => {
                Finding::Proven("a second authorization in the same browser showed the consent page again".into())
            }
            (Consent::Remembered, Consent::EveryTime) => Finding::Contradicted {
                what: format!(
                    "the provider showed client `{key}`'s consent page again on a second authorization in the same browser, right after the user approved it"
                ),
                fix: "write `consent: every_time` for the client (or register it at the provider so that consent is remembered)".into(),
                at,
            },
            (Consent::EveryTime, Consent::Remembered) => Finding::Contradicted {
                what: format!(
                    "the provider showed no consent page on a second authorization of client `{key}` in the same browser: it remembered the consent"
                ),
                fix: "write `consent: remembered` for the client, or register it at the provider so that it always asks".into(),
                at,
            },
        },
    })
}

/// A token for the profile's first API: its format and, as a JWT, its `aud`.
async fn api_token(
    p: &Provider,
    client_key: &str,
    user_key: &str,
    browser: &reqwest::cookie::Jar,
    out: &mut Vec<Line>,
    observed: &mut Observed,
) {
    let profile = &p.profile;
    let key = profile.default_api.clone().or_else(|| profile.apis.keys().next().cloned());
    let Some(key) = key else { return };
    let api = &profile.apis[&key];
    let format = profile.api_access_tokens;
    let declaration = format!(
        "tokens for API `{key}` are {} for {}",
        match format {
            TokenFormat::Jwt => "JWTs",
            TokenFormat::Opaque => "opaque",
        },
        api.identifier
    );
    if profile.audience_param.param_name().is_none() && profile.default_api.is_none() {
        out.push(Line {
            declaration,
            finding: Finding::NotProven(
                "the profile names no way to ask for a token for it (`audience_param: none`, no `default_api`)".into(),
            ),
        });
        return;
    }
    let mut scope = vec!["openid".to_owned()];
    scope.extend(api.scopes.first().cloned());
    let case = case(client_key, p, user_key, Some(&key), scope.join(" "));
    let mut ev = Evidence::default();
    let signed = match sign_in(p, &case, browser, false, &mut ev).await {
        Ok(s) => s,
        Err(Stop::LoginRefused(why) | Stop::Unsettled(why)) => {
            out.push(Line {
                declaration,
                finding: Finding::NotProven(format!("no token for it was issued: {why}")),
            });
            return;
        }
    };
    let Some(token) = signed.access_token else {
        out.push(Line {
            declaration,
            finding: Finding::NotProven("the token response carried no access token".into()),
        });
        return;
    };
    let is_jwt = jwt::looks_like_jwt(token.expose());
    observed.api_access_tokens = Some(if is_jwt { TokenFormat::Jwt } else { TokenFormat::Opaque });
    let at = profile.declared_at.api_access_tokens;
    let default = if at.is_none() { " (the default)" } else { "" };
    let finding = match (format, is_jwt) {
        (TokenFormat::Jwt, false) => Finding::Contradicted {
            what: format!(
                "the profile says{default} `api_access_tokens: jwt`, and the provider's access token for API `{key}` is not a JWT (an opaque string)"
            ),
            fix: "write `api_access_tokens: opaque`".into(),
            at,
        },
        (TokenFormat::Opaque, true) => Finding::Contradicted {
            what: format!("the profile says `api_access_tokens: opaque`, and the provider's access token for API `{key}` is a JWT"),
            fix: "write `api_access_tokens: jwt`".into(),
            at,
        },
        (TokenFormat::Opaque, false) => Finding::Proven("the token for it is opaque".into()),
        (TokenFormat::Jwt, true) => match jwt::decode(token.expose()) {
            Err(e) => Finding::NotProven(format!("the token looks like a JWT but does not decode: {e}")),
            Ok(d) => {
                let aud: Vec<String> = match d.claims.get("aud") {
                    Some(Value::String(s)) => vec![s.clone()],
                    Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
                    _ => Vec::new(),
                };
                let requested: Vec<&str> = case.request.scope.split_whitespace().collect();
                custom_claims_in(
                    p,
                    &[(ClaimPlace::AccessToken, &d.claims)],
                    &requested,
                    true,
                    &format!("the token for API `{key}`"),
                    out,
                );
                if aud.iter().any(|a| a == &api.identifier) {
                    Finding::Proven(format!("the token for it is a JWT whose aud names {}", api.identifier))
                } else {
                    Finding::Contradicted {
                        what: format!(
                            "the provider's JWT access token for API `{key}` has aud {}, which does not name the declared identifier {}",
                            if aud.is_empty() { "(none)".to_owned() } else { aud.join(", ") },
                            api.identifier
                        ),
                        fix: format!("write API `{key}`'s `identifier` as the provider names it in the `aud` of its tokens"),
                        at: api.declared_at,
                    }
                }
            }
        },
    };
    out.push(Line { declaration, finding });
}
