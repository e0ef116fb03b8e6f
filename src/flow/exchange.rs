//! Recording a case's HTTP exchanges for its reproductions: what was sent,
//! every credential replaced by a named placeholder (`${CLIENT_SECRET}`,
//! `${ACCESS_TOKEN}`, `${CODE}`, …), and the start of the answer with its
//! tokens and secrets redacted. The report keeps those that show a failing
//! or warning check (see `run::link_exchanges`).

use serde_json::Value;
use url::Url;

use super::{Evidence, Provider, http};
use crate::report::exchange::{BODY_EXCERPT, Exchange, Param, Step, Var};

/// Exchanges a case keeps at most while it runs (the last ones).
pub const MAX_PER_CASE: usize = 40;

/// A request as the flow sent it (credentials in the clear: they are replaced
/// by placeholders here, never kept).
#[derive(Clone, Copy)]
pub(crate) struct Sent<'a> {
    pub method: &'a str,
    pub url: &'a Url,
    pub form: &'a [(String, String)],
    /// HTTP Basic: the client id and secret, each form-urlencoded.
    pub basic: Option<&'a (String, String)>,
    pub bearer: Option<&'a str>,
    pub json: Option<&'a Value>,
    /// How many DPoP proofs went in `DPoP` headers (RFC 9449 §4.1), and,
    /// with a token, the scheme it went in as written (`DPoP`, §7.1); the
    /// proofs are never shown.
    pub dpop: usize,
    pub scheme: Option<&'a str>,
}

impl<'a> Sent<'a> {
    pub fn new(method: &'a str, url: &'a Url) -> Self {
        Sent {
            method,
            url,
            form: &[],
            basic: None,
            bearer: None,
            json: None,
            dpop: 0,
            scheme: None,
        }
    }
}

/// The request's answer, recorded with the request as an exchange of `step`
/// (a failure to get one too); the answer, or the error as a message.
pub(crate) fn recorded(
    p: &Provider,
    ev: &mut Evidence,
    step: Step,
    note: Option<&str>,
    sent: &Sent<'_>,
    answer: Result<http::Response, http::HttpError>,
) -> Result<http::Response, String> {
    let known = Known::of(p, ev);
    let mut x = request(step, note, sent, &known);
    let out = match answer {
        Ok(resp) => {
            response(&mut x, &resp, &known);
            Ok(resp)
        }
        Err(e) => {
            let e = e.to_string();
            x.answer = Some(e.clone());
            Err(e)
        }
    };
    push(ev, x);
    out
}

/// The front channel: the authorization request's URL (what a browser opens).
pub(crate) fn front_channel(p: &Provider, ev: &mut Evidence, url: &Url) {
    let known = Known::of(p, ev);
    let x = request(Step::Authorization, None, &Sent::new("GET", url), &known);
    push(ev, x);
}

/// A logout request (OIDC RP-Initiated Logout): the URL a browser opens (for
/// a POST, the URL with the form's parameters, which a GET also takes).
pub(crate) fn logout(p: &Provider, ev: &mut Evidence, url: &Url, post: bool) {
    let known = Known::of(p, ev);
    let note = post.then_some("sent as a POST with these parameters in a form body");
    let x = request(Step::Logout, note, &Sent::new("GET", url), &known);
    push(ev, x);
}

/// What came back to the front channel's last request (an authorization or
/// logout request), unless already said.
pub(crate) fn front_channel_answer(ev: &mut Evidence, text: String) {
    if let Some(x) = ev
        .exchanges
        .iter_mut()
        .rev()
        .find(|x| matches!(x.step, Some(Step::Authorization | Step::Logout)))
        .filter(|x| x.answer.is_none())
    {
        x.answer = Some(crate::secret::scrub(&text));
    }
}

fn push(ev: &mut Evidence, x: Exchange) {
    if ev.exchanges.len() >= MAX_PER_CASE {
        ev.exchanges.remove(0);
    }
    ev.exchanges.push(x);
}

/// The credentials a request of the case may carry, with the placeholder
/// that stands for each and what to set it to.
struct Known {
    values: Vec<(String, &'static str, String)>,
}

impl Known {
    fn of(p: &Provider, ev: &Evidence) -> Known {
        let mut values = Vec::new();
        for (key, c) in &p.profile.clients {
            if let Some(s) = &c.secret {
                values.push((
                    s.expose().to_owned(),
                    "CLIENT_SECRET",
                    format!("the client secret of client `{key}` ({}) in the profile", c.id),
                ));
            }
        }
        for (key, u) in &p.profile.users {
            values.push((
                u.password.expose().to_owned(),
                "PASSWORD",
                format!("the password of user `{key}` ({}) in the profile", u.username),
            ));
        }
        if let Some(t) = &p.profile.registration.initial_access_token {
            values.push((
                t.expose().to_owned(),
                "INITIAL_ACCESS_TOKEN",
                "the initial access token of `registration` in the profile".into(),
            ));
        }
        for set in ev.token_sets.iter().chain(&ev.samples) {
            for (tok, name) in [
                (&set.access_token, "ACCESS_TOKEN"),
                (&set.refresh_token, "REFRESH_TOKEN"),
                (&set.id_token, "ID_TOKEN"),
                (&set.code, "CODE"),
            ] {
                if let Some(t) = tok {
                    values.push((t.expose().to_owned(), name, about(name).to_owned()));
                }
            }
        }
        if let Some(t) = ev.signin.as_ref().and_then(|s| s.id_token.as_ref()) {
            values.push((t.expose().to_owned(), "ID_TOKEN", about("ID_TOKEN").to_owned()));
        }
        values.retain(|(v, _, _)| !v.is_empty());
        // Longest first: a value that holds another is replaced whole.
        values.sort_by_key(|(v, _, _)| std::cmp::Reverse(v.len()));
        Known { values }
    }

    /// `value` with every credential in it replaced by its placeholder; a
    /// credential field's value that is none of them becomes a placeholder
    /// named after the field. The placeholders used are added to `vars`.
    fn param(&self, name: &str, value: &str, vars: &mut Vec<Var>) -> Param {
        let mut shown = value.to_owned();
        let mut used: Vec<String> = Vec::new();
        for (v, var, why) in &self.values {
            // Short values only where they are the whole value (they would match ordinary text).
            let hit = if v.len() >= crate::secret::MIN_SCRUBBED {
                shown.contains(v.as_str())
            } else {
                shown == *v
            };
            if hit {
                shown = shown.replace(v.as_str(), &format!("${{{var}}}"));
                add(vars, &mut used, var, why);
            }
        }
        if used.is_empty() && credential_field(name) && !value.starts_with(NEVER_ISSUED) && !value.is_empty() {
            // A hint that is none of the provider's ID tokens (a probe's altered one) is named as such.
            let var = if name.eq_ignore_ascii_case("id_token_hint") {
                "ID_TOKEN_HINT".to_owned()
            } else {
                field_var(name)
            };
            shown = format!("${{{var}}}");
            add(vars, &mut used, &var, about(&var));
        }
        Param {
            name: crate::secret::scrub(name),
            value: if used.is_empty() { crate::secret::scrub(&shown) } else { shown },
            vars: used,
        }
    }

    /// `text` with every credential in it replaced by `[redacted]`.
    fn scrub(&self, text: &str) -> String {
        let mut out = crate::secret::scrub(text);
        for (v, _, _) in &self.values {
            if v.len() >= crate::secret::MIN_SCRUBBED && out.contains(v.as_str()) {
                out = out.replace(v.as_str(), "[redacted]");
            }
        }
        out
    }
}

fn add(vars: &mut Vec<Var>, used: &mut Vec<String>, name: &str, about: &str) {
    if !used.iter().any(|u| u == name) {
        used.push(name.to_owned());
    }
    if !vars.iter().any(|v| v.name == name) {
        vars.push(Var {
            name: name.to_owned(),
            about: about.to_owned(),
        });
    }
}

/// The start of the values the probes make up (a token never issued, a wrong
/// secret): not credentials, and kept so that a replay sends the same.
const NEVER_ISSUED: &str = "oidc-conform-";

/// A field whose value is a credential (the names [`http::sensitive`] says,
/// less those that only name a kind of token).
fn credential_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    http::sensitive(&n)
        && !matches!(
            n.as_str(),
            "token_type_hint" | "token_type" | "token_endpoint_auth_method" | "token_endpoint_auth_signing_alg" | "client_assertion_type"
        )
}

/// The placeholder of a credential field: `CODE`, `REFRESH_TOKEN`, …
fn field_var(name: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "id_token_hint" => "ID_TOKEN".into(),
        "request" => "REQUEST_OBJECT".into(),
        "assertion" | "client_assertion" => "CLIENT_ASSERTION".into(),
        other => {
            let v: String = other
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
                .take(40)
                .collect();
            if v.is_empty() || v.starts_with(|c: char| c.is_ascii_digit()) {
                format!("VALUE_{v}")
            } else {
                v
            }
        }
    }
}

/// What to set a placeholder to.
fn about(var: &str) -> &'static str {
    match var {
        "ACCESS_TOKEN" => "an access token the provider issued to the client; the run's has likely expired, so get a new one",
        "REFRESH_TOKEN" => "a refresh token the provider issued to the client; it may be single-use, so get a new one",
        "ID_TOKEN" => "an ID token the provider issued to the client",
        "ID_TOKEN_HINT" => {
            "the id_token_hint the case sent, which is not an ID token the provider issued (a probe's: an ID token whose payload was altered, so its signature fails)"
        }
        "CODE" => "an authorization code; single-use, so get a new one from the authorization request",
        "DPOP_PROOF" => {
            "a DPoP proof (RFC 9449 §4.2) for this request, signed with a key the harness made for the case and never shows: sign one with your own key (tokens bound to the case's key need its proofs)"
        }
        "CODE_VERIFIER" => "the PKCE code_verifier of the authorization request that issued the code",
        "CLIENT_SECRET" => "the client's secret",
        "PASSWORD" => "the user's password",
        "TOKEN" => "the token the request is about (an access or refresh token the provider issued)",
        "CLIENT_ASSERTION" => "a client assertion, a JWT the client signs for the token endpoint; single-use, so make a new one",
        "REQUEST_OBJECT" => "a request object, a JWT holding the authorization parameters",
        _ => "the credential the request sent",
    }
}

fn request(step: Step, note: Option<&str>, sent: &Sent<'_>, known: &Known) -> Exchange {
    let mut vars = Vec::new();
    let mut base = sent.url.clone();
    base.set_query(None);
    base.set_fragment(None);
    let query = sent
        .url
        .query_pairs()
        .map(|(k, v)| known.param(&k, &v, &mut vars))
        .take(60)
        .collect();
    let form = sent.form.iter().map(|(k, v)| known.param(k, v, &mut vars)).take(60).collect();
    let basic = sent.basic.map(|(id, secret)| {
        // Compared in the form they were sent (form-urlencoded).
        let mut p = known.param("client_secret", &decode(secret), &mut vars);
        p.name = String::new();
        (known.scrub(id), p)
    });
    let mut headers: Vec<Param> = sent
        .bearer
        .map(|t| {
            let mut p = known.param("access_token", t, &mut vars);
            p.name = "Authorization".into();
            p.value = format!(
                "{} {}",
                sent.scheme.unwrap_or(if sent.dpop > 0 { "DPoP" } else { "Bearer" }),
                p.value
            );
            p
        })
        .into_iter()
        .collect();
    for _ in 0..sent.dpop {
        let mut used = Vec::new();
        add(&mut vars, &mut used, "DPOP_PROOF", about("DPOP_PROOF"));
        headers.push(Param {
            name: "DPoP".into(),
            value: "${DPOP_PROOF}".into(),
            vars: used,
        });
    }
    let json = sent.json.map(|j| {
        let mut j = j.clone();
        redact_json(&mut j, 0);
        cut(&known.scrub(&j.to_string()), BODY_EXCERPT)
    });
    Exchange {
        step: Some(step),
        note: note.filter(|n| !n.is_empty()).map(str::to_owned),
        method: sent.method.to_owned(),
        url: http::redact_url(&base),
        query,
        headers,
        basic,
        form,
        json,
        vars,
        ..Exchange::default()
    }
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Response headers a reproduction shows.
const HEADERS: &[&str] = &[
    "content-type",
    "www-authenticate",
    "cache-control",
    "pragma",
    "location",
    "retry-after",
];

fn response(x: &mut Exchange, resp: &http::Response, known: &Known) {
    x.status = Some(resp.status.as_u16());
    for name in HEADERS {
        // A few values of each at most: a provider chooses how many it sends.
        for v in resp.headers.get_all(*name).iter().take(4) {
            let v = String::from_utf8_lossy(v.as_bytes());
            let v = if *name == "location" {
                http::redact_str(&v)
            } else {
                known.scrub(&v)
            };
            x.response_headers.push(((*name).to_owned(), cut(&v, 300)));
        }
    }
    x.body_bytes = resp.body.len();
    if resp.body.is_empty() {
        return;
    }
    let text = String::from_utf8_lossy(&resp.body);
    let trimmed = text.trim();
    let (whole, max) = match serde_json::from_slice::<Value>(&resp.body) {
        Ok(mut v) => {
            redact_json(&mut v, 0);
            (known.scrub(&v.to_string()), BODY_EXCERPT)
        }
        Err(_) if crate::check::jwt::looks_like_jwt(trimmed) => ("[a JWT: redacted; its claims are in the report]".into(), BODY_EXCERPT),
        Err(_) => (known.scrub(&text), 600),
    };
    let excerpt = cut(&whole, max);
    x.body_cut = excerpt.len() < whole.len();
    x.body = Some(excerpt);
}

/// Members whose values are credentials: redacted in bodies.
const CREDENTIAL_MEMBERS: &[&str] = &[
    "access_token",
    "id_token",
    "refresh_token",
    "code",
    "client_secret",
    "registration_access_token",
    "device_code",
    "user_code",
    "issued_token",
    "password",
    "assertion",
    "client_assertion",
    "request",
    "session_state",
];

/// Private members of a JWK (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_JWK_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Credentials in a JSON body redacted: the members that hold them, the private
/// members of keys, and any string that is a JWT.
fn redact_json(v: &mut Value, depth: usize) {
    if depth > 32 {
        *v = Value::String("[too deep]".into());
        return;
    }
    match v {
        Value::Object(o) => {
            let jwk = o.contains_key("kty");
            for (k, val) in o.iter_mut() {
                let lower = k.to_ascii_lowercase();
                if CREDENTIAL_MEMBERS.contains(&lower.as_str()) || (jwk && PRIVATE_JWK_MEMBERS.contains(&k.as_str())) {
                    *val = Value::String("[redacted]".into());
                } else {
                    redact_json(val, depth + 1);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| redact_json(i, depth + 1)),
        Value::String(s) if crate::check::jwt::looks_like_jwt(s) => *s = "[redacted]".into(),
        // A URL that carries a credential in its query (RFC 8628's
        // `verification_uri_complete` holds the user code).
        Value::String(s) if s.contains('?') && (s.starts_with("https://") || s.starts_with("http://")) => {
            if let Ok(url) = url::Url::parse(s) {
                *s = http::redact_url(&url);
            }
        }
        _ => {}
    }
}

/// The first `max` bytes of `s` (at a character boundary).
fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known {
            values: vec![
                ("web-app-secret-7f3a9c".into(), "CLIENT_SECRET", "the secret".into()),
                ("at-0123456789".into(), "ACCESS_TOKEN", "a token".into()),
            ],
        }
    }

    #[test]
    fn credentials_become_placeholders() {
        let k = known();
        let mut vars = Vec::new();
        let p = k.param("client_secret", "web-app-secret-7f3a9c-wrong", &mut vars);
        assert_eq!(p.value, "${CLIENT_SECRET}-wrong");
        assert_eq!(p.vars, ["CLIENT_SECRET"]);
        let p = k.param("code", "a-code-never-seen", &mut vars);
        assert_eq!(p.value, "${CODE}");
        let p = k.param("token", "oidc-conform-never-issued-abc", &mut vars);
        assert_eq!(p.value, "oidc-conform-never-issued-abc");
        let p = k.param("token_type_hint", "refresh_token", &mut vars);
        assert_eq!(p.value, "refresh_token");
        let p = k.param("scope", "openid at-0123456789", &mut vars);
        assert_eq!(p.value, "openid ${ACCESS_TOKEN}");
        let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["CLIENT_SECRET", "CODE", "ACCESS_TOKEN"]);
    }

    #[test]
    fn bodies_keep_no_credentials() {
        let mut v = serde_json::json!({
            "access_token": "x", "token_type": "Bearer", "keys": [{"kty": "RSA", "n": "AQAB", "d": "private"}],
            "nested": {"client_secret": "s"}, "echo": "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
            "device_code": "dc", "user_code": "WDJB-MJHT",
            "verification_uri_complete": "https://op.test/device?user_code=WDJB-MJHT",
        });
        redact_json(&mut v, 0);
        let s = v.to_string();
        assert!(s.contains("https://op.test/device?user_code=[redacted]"), "{s}");
        for gone in ["\"x\"", "private", "\"s\"", "eyJ", "dc", "WDJB"] {
            assert!(!s.contains(gone), "{gone} in {s}");
        }
        assert!(s.contains("Bearer") && s.contains("AQAB"), "{s}");
        assert_eq!(cut("ééé", 3), "é");
    }
}
