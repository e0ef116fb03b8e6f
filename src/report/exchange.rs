//! Reproductions: the HTTP exchanges that show a failing or warning check, as
//! reports keep them (every credential replaced by a named placeholder, the
//! response cut short and its tokens redacted), and what the renderers make of
//! one: the exchange as text, and for a plain HTTP step a `curl` command that
//! replays it with the credentials as environment variables.

use serde::{Deserialize, Serialize};

use super::escape_controls;

/// The step of a flow an exchange belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Discovery,
    Jwks,
    /// The front channel: the authorization request a browser sends.
    Authorization,
    Token,
    Userinfo,
    Registration,
    Revocation,
    Introspection,
    /// The pushed authorization request (RFC 9126).
    Par,
    /// A logout request a browser sends (OIDC RP-Initiated Logout).
    Logout,
    /// The device authorization request (RFC 8628 §3.1).
    Device,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Discovery => "discovery",
            Step::Jwks => "JWK Set",
            Step::Authorization => "authorization request",
            Step::Token => "token request",
            Step::Userinfo => "userinfo",
            Step::Registration => "client registration",
            Step::Revocation => "revocation",
            Step::Introspection => "introspection",
            Step::Par => "pushed authorization request",
            Step::Logout => "logout request",
            Step::Device => "device authorization request",
        }
    }

    /// A plain HTTP request a `curl` command can replay (not the front channel).
    pub fn replayable(self) -> bool {
        !matches!(self, Step::Authorization | Step::Logout)
    }
}

/// A parameter or header as sent. A credential's value is not kept: `value`
/// names it as `${NAME}` (an environment variable of [`Exchange::vars`]),
/// e.g. `${CLIENT_SECRET}`, or `${CLIENT_SECRET}-wrong` for a secret the case
/// spoilt on purpose.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Param {
    pub name: String,
    pub value: String,
    /// The placeholders `value` holds (empty: `value` is what was sent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<String>,
}

impl Param {
    pub fn plain(name: &str, value: &str) -> Param {
        Param {
            name: name.to_owned(),
            value: value.to_owned(),
            vars: Vec::new(),
        }
    }

    /// `value` in pieces: literal text and placeholders.
    fn pieces(&self) -> Vec<Piece<'_>> {
        pieces(&self.value, &self.vars)
    }
}

/// An environment variable a reproduction needs, and what to set it to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Var {
    pub name: String,
    pub about: String,
}

/// One HTTP exchange of a case, as reports keep it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Exchange {
    pub step: Option<Step>,
    /// Which request of the step this is, when there are several kinds
    /// (e.g. `the ID token as the bearer token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub method: String,
    /// The URL without its query.
    pub url: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<Param>,
    /// Request headers the harness set (`Authorization` with a placeholder).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<Param>,
    /// HTTP Basic client authentication: the user (the client id, form-urlencoded) and the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<(String, Param)>,
    /// The form body (`application/x-www-form-urlencoded`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub form: Vec<Param>,
    /// A JSON body (client registration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    /// The HTTP status of the answer (none for the front channel, which may take several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The response headers that matter (content type, challenge, caching, location).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_headers: Vec<(String, String)>,
    /// The start of the response body, tokens and secrets redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body's whole length in bytes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub body_bytes: usize,
    /// `body` is only the start of it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_cut: bool,
    /// The front channel: what came back (the redirect's parameters, codes and
    /// tokens redacted, or the page the provider answered with).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// The environment variables the reproduction needs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<Var>,
    /// The checks of the case this exchange shows (those that failed or warned).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
}

#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// `value` cut at its `${NAME}` placeholders (only the names in `vars`).
fn pieces<'a>(value: &'a str, vars: &'a [String]) -> Vec<Piece<'a>> {
    let mut out = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let next = vars
            .iter()
            .filter_map(|v| rest.find(&format!("${{{v}}}")).map(|i| (i, v.as_str())))
            .min_by_key(|(i, _)| *i);
        match next {
            Some((i, name)) => {
                if i > 0 {
                    out.push(Piece::Text(&rest[..i]));
                }
                out.push(Piece::Var(name));
                rest = &rest[i + name.len() + 3..];
            }
            None => {
                out.push(Piece::Text(rest));
                break;
            }
        }
    }
    out
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Longest response body excerpt kept, in bytes.
pub const BODY_EXCERPT: usize = 2048;

impl Exchange {
    /// `step: METHOD URL (note) → status` (the URL without its query).
    pub fn title(&self) -> String {
        let status = match (self.status, &self.answer) {
            (Some(s), _) => format!(" → {s}"),
            (None, Some(_)) => String::new(),
            (None, None) => " → no answer".into(),
        };
        let note = self.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
        let step = self.step.map(|s| format!("{}: ", s.as_str())).unwrap_or_default();
        format!("{step}{} {}{note}{status}", self.method, self.url)
    }

    /// The URL with its query, placeholders written `$NAME`.
    pub fn full_url(&self) -> String {
        let mut u = self.url.clone();
        for (i, p) in self.query.iter().enumerate() {
            u.push(if i == 0 { '?' } else { '&' });
            u.push_str(&enc(&p.name));
            u.push('=');
            for piece in p.pieces() {
                match piece {
                    Piece::Text(t) => u.push_str(&enc(t)),
                    Piece::Var(v) => u.push_str(&format!("${v}")),
                }
            }
        }
        u
    }

    /// The exchange as text, in the manner of `curl -v`: `>` request lines,
    /// `<` response lines; control characters written out.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let shown = |p: &Param| {
            p.pieces()
                .iter()
                .map(|piece| match piece {
                    Piece::Text(t) => (*t).to_owned(),
                    Piece::Var(v) => format!("${v}"),
                })
                .collect::<String>()
        };
        if matches!(self.step, Some(Step::Authorization | Step::Logout)) {
            out.push(format!("open in a browser: {}", escape_controls(&self.full_url())));
            if let Some(a) = &self.answer {
                out.push(format!("came back: {}", escape_controls(a)));
            }
            return out;
        }
        out.push(format!("> {} {}", self.method, escape_controls(&self.full_url())));
        if let Some((user, pass)) = &self.basic {
            out.push(format!(
                "> Authorization: Basic base64({}:{})",
                escape_controls(user),
                escape_controls(&shown(pass))
            ));
        }
        for h in &self.headers {
            out.push(format!("> {}: {}", escape_controls(&h.name), escape_controls(&shown(h))));
        }
        if !self.form.is_empty() {
            out.push("> Content-Type: application/x-www-form-urlencoded".into());
            out.push(">".into());
            let body: Vec<String> = self
                .form
                .iter()
                .map(|p| format!("{}={}", escape_controls(&p.name), escape_controls(&shown(p))))
                .collect();
            out.push(format!("> {}", body.join("&")));
        } else if let Some(j) = &self.json {
            out.push("> Content-Type: application/json".into());
            out.push(">".into());
            out.push(format!("> {}", escape_controls(j)));
        }
        match self.status {
            Some(s) => out.push(format!("< HTTP {s}")),
            None => out.push("< (no answer)".into()),
        }
        for (k, v) in &self.response_headers {
            out.push(format!("< {}: {}", escape_controls(k), escape_controls(v)));
        }
        if let Some(b) = &self.body {
            out.push("<".into());
            let cut = if self.body_cut {
                format!(" … ({} bytes in all)", self.body_bytes)
            } else {
                String::new()
            };
            out.push(format!("< {}{cut}", escape_controls(b)));
        }
        out
    }

    /// A `curl` command that sends the request again, credentials as
    /// environment variables (`"$CLIENT_SECRET"`), or `None` for the front
    /// channel. `-i` shows the status and headers of the answer.
    pub fn curl(&self) -> Option<String> {
        if !self.step.is_some_and(Step::replayable) {
            return None;
        }
        let mut args: Vec<String> = vec!["curl -sS -i".into()];
        let get_with_query = self.method == "GET" && self.form.is_empty() && self.json.is_none();
        if get_with_query {
            if !self.query.is_empty() {
                args.push("-G".into());
            }
            args.push(sh(&[Piece::Text(&self.url)]));
        } else {
            if self.method != "POST" || (self.form.is_empty() && self.json.is_none()) {
                args.push(format!("-X {}", sh(&[Piece::Text(&self.method)])));
            }
            // The query in the URL itself (a variable's value goes in as it is).
            let mut url = self.url.clone();
            let mut parts: Vec<(String, bool)> = Vec::new();
            for (i, p) in self.query.iter().enumerate() {
                url.push(if i == 0 { '?' } else { '&' });
                url.push_str(&enc(&p.name));
                url.push('=');
                for piece in p.pieces() {
                    match piece {
                        Piece::Text(t) => url.push_str(&enc(t)),
                        Piece::Var(v) => {
                            parts.push((std::mem::take(&mut url), false));
                            parts.push((v.to_owned(), true));
                        }
                    }
                }
            }
            parts.push((url, false));
            let pieces: Vec<Piece> = parts
                .iter()
                .filter(|(t, var)| *var || !t.is_empty())
                .map(|(t, var)| if *var { Piece::Var(t) } else { Piece::Text(t) })
                .collect();
            args.push(sh(&pieces));
        }
        if let Some((user, pass)) = &self.basic {
            let mut p = vec![Piece::Text(user), Piece::Text(":")];
            p.extend(pass.pieces());
            args.push(format!("-u {}", sh(&p)));
        }
        for h in &self.headers {
            let mut p = vec![Piece::Text(&h.name), Piece::Text(": ")];
            p.extend(h.pieces());
            args.push(format!("-H {}", sh(&p)));
        }
        if get_with_query {
            for q in &self.query {
                args.push(data(q));
            }
        }
        for f in &self.form {
            args.push(data(f));
        }
        if let Some(j) = &self.json {
            args.push("-H 'Content-Type: application/json'".into());
            args.push(format!("--data-raw {}", sh(&[Piece::Text(j)])));
        }
        Some(args.join(" \\\n  "))
    }

    /// The variables to set first, one line each: `NAME: what to set it to`.
    pub fn vars_lines(&self) -> Vec<String> {
        self.vars
            .iter()
            .map(|v| format!("{}: {}", escape_controls(&v.name), escape_controls(&v.about)))
            .collect()
    }
}

/// The reproductions of a case's check: the exchanges of `exchanges` that show it.
pub fn of_check<'a>(exchanges: &'a [Exchange], check: &'a str) -> impl Iterator<Item = (usize, &'a Exchange)> + 'a {
    exchanges
        .iter()
        .enumerate()
        .filter(move |(_, x)| x.checks.iter().any(|c| c == check))
}

impl Exchange {
    /// The replay, as lines of a shell script: a comment saying which
    /// variables to set, then the `curl` command (control characters written
    /// out, so that it can be printed). `None` for the front channel.
    pub fn replay(&self) -> Option<Vec<String>> {
        let curl = self.curl()?;
        let mut out = Vec::new();
        if !self.vars.is_empty() {
            out.push("# First set these environment variables:".to_owned());
            out.extend(self.vars_lines().iter().map(|v| format!("#   {v}")));
        }
        out.extend(curl.lines().map(|l| escape_controls(l).into_owned()));
        Some(out)
    }
}

/// A Markdown code fence for `text`: longer than any run of backticks in it.
pub fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

/// `--data-urlencode 'name=value'`: curl encodes the value; the name goes encoded already.
fn data(p: &Param) -> String {
    let name = enc(&p.name);
    let mut pieces = vec![Piece::Text(name.as_str()), Piece::Text("=")];
    if p.name.is_empty() {
        pieces.clear();
        pieces.push(Piece::Text("="));
    }
    pieces.extend(p.pieces());
    format!("--data-urlencode {}", sh(&pieces))
}

/// One shell word of `pieces`: text in single quotes, variables in double quotes.
fn sh(pieces: &[Piece<'_>]) -> String {
    let mut out = String::new();
    let mut text = String::new();
    let flush = |text: &mut String, out: &mut String| {
        if !text.is_empty() {
            out.push('\'');
            out.push_str(&text.replace('\'', r"'\''"));
            out.push('\'');
            text.clear();
        }
    };
    for p in pieces {
        match p {
            Piece::Text(t) => text.push_str(t),
            Piece::Var(v) => {
                flush(&mut text, &mut out);
                out.push_str(&format!("\"${v}\""));
            }
        }
    }
    flush(&mut text, &mut out);
    if out.is_empty() {
        out.push_str("''");
    }
    out
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Where a failing check's reproduction is found: the steps whose exchanges
/// show it, each with the note of the probe's request when it is one of
/// several of the step (`Some("")`: the step's plain request, without a note;
/// `None`: any). Checks not listed here get the exchanges of the step
/// the case was in when it ended (see `run::link_exchanges`).
pub fn steps_of(check: &str) -> &'static [(Step, Option<&'static str>)] {
    use Step::*;
    let area = check.split('.').next().unwrap_or("");
    match check {
        "userinfo.rejects_id_token" => &[(Userinfo, Some(ID_TOKEN_AS_BEARER))],
        "userinfo.requires_token" => &[(Userinfo, Some(NO_TOKEN))],
        "userinfo.invalid_token_error" => &[(Userinfo, Some(ID_TOKEN_AS_BEARER))],
        // Any 401 of userinfo: the probes' refusals first of all.
        "userinfo.www_authenticate" => &[(Userinfo, None)],
        "introspection.inactive" | "introspection.inactive_members" => &[(Introspection, Some(UNKNOWN_TOKEN))],
        "introspection.requires_auth" => &[(Introspection, Some(UNAUTHENTICATED))],
        "introspection.active" => &[(Introspection, Some(""))],
        "revocation.invalid_token" => &[(Revocation, None)],
        "revocation.refresh_token" | "revocation.hint" | "revocation.client_auth" => &[(Revocation, None), (Token, None)],
        "revocation.access_token" => &[(Revocation, None), (Introspection, None), (Userinfo, None)],
        "scopes.requested_claims" | "scopes.unrequested_claims" | "consent.partial" | "claims_parameter.returned" => {
            &[(Token, None), (Userinfo, None)]
        }
        "flow.authorization" | "flow.state" | "flow.response_mode" => &[(Authorization, None)],
        "flow.id_token_issued" | "assert.id_token" | "assert.access_token" => &[(Token, None), (Authorization, None)],
        "assert.token_response" => &[(Token, None)],
        "device.response" | "device.verification_uri" => &[(Device, None)],
        "device.advertised" => &[(Discovery, None), (Device, None)],
        "assert.userinfo" => &[(Userinfo, Some(""))],
        _ => match area {
            "metadata" => &[(Discovery, None)],
            "jwks" => &[(Jwks, None)],
            "userinfo" | "namespacing" => &[(Userinfo, Some("")), (Token, None)],
            "flow" | "token_response" | "token_endpoint" | "code" | "refresh_token" | "client_auth" | "pkce" | "tokens" => &[(Token, None)],
            "id_token" | "access_token" => &[(Token, None), (Authorization, None)],
            "registration" => &[(Registration, None)],
            "revocation" => &[(Revocation, None)],
            "introspection" => &[(Introspection, None)],
            "par" => &[(Par, None), (Authorization, None)],
            "logout" => &[(Logout, None), (Authorization, None)],
            // The polls of the device grant.
            "device" => &[(Token, None)],
            "negative" => &[(Token, None), (Authorization, None), (Registration, None)],
            "authorization_response"
            | "authorization"
            | "redirect_uri"
            | "prompt"
            | "max_age"
            | "session"
            | "consent"
            | "pages"
            | "request_object" => &[(Authorization, None)],
            _ => &[],
        },
    }
}

/// Notes of the probes' requests (see [`steps_of`]).
pub const ID_TOKEN_AS_BEARER: &str = "the ID token as the bearer token";
pub const NO_TOKEN: &str = "no token";
pub const UNKNOWN_TOKEN: &str = "a token never issued";
pub const UNAUTHENTICATED: &str = "no client authentication";

/// Exchanges linked to one check at most (the last ones of its steps).
pub const PER_CHECK: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;

    fn token_request() -> Exchange {
        Exchange {
            step: Some(Step::Token),
            method: "POST".into(),
            url: "http://127.0.0.1:8787/token".into(),
            basic: Some((
                "web-app".into(),
                Param {
                    name: String::new(),
                    value: "${CLIENT_SECRET}".into(),
                    vars: vec!["CLIENT_SECRET".into()],
                },
            )),
            form: vec![
                Param::plain("grant_type", "client_credentials"),
                Param::plain("scope", "it's read"),
                Param {
                    name: "client_secret".into(),
                    value: "${CLIENT_SECRET}-wrong".into(),
                    vars: vec!["CLIENT_SECRET".into()],
                },
            ],
            status: Some(400),
            response_headers: vec![("content-type".into(), "application/json".into())],
            body: Some(r#"{"error":"invalid_client"}"#.into()),
            body_bytes: 26,
            vars: vec![Var {
                name: "CLIENT_SECRET".into(),
                about: "the client secret of client `web`".into(),
            }],
            ..Exchange::default()
        }
    }

    #[test]
    fn curl_quotes_text_and_leaves_variables_to_the_shell() {
        let cmd = token_request().curl().unwrap();
        assert_eq!(
            cmd,
            "curl -sS -i \\\n  'http://127.0.0.1:8787/token' \\\n  -u 'web-app:'\"$CLIENT_SECRET\" \\\n  --data-urlencode 'grant_type=client_credentials' \\\n  --data-urlencode 'scope=it'\\''s read' \\\n  --data-urlencode 'client_secret='\"$CLIENT_SECRET\"'-wrong'"
        );
    }

    #[test]
    fn a_get_sends_its_query_with_curl_encoding_it() {
        let x = Exchange {
            step: Some(Step::Userinfo),
            method: "GET".into(),
            url: "http://127.0.0.1:1/userinfo".into(),
            query: vec![Param {
                name: "access_token".into(),
                value: "${ACCESS_TOKEN}".into(),
                vars: vec!["ACCESS_TOKEN".into()],
            }],
            ..Exchange::default()
        };
        assert_eq!(
            x.curl().unwrap(),
            "curl -sS -i \\\n  -G \\\n  'http://127.0.0.1:1/userinfo' \\\n  --data-urlencode 'access_token='\"$ACCESS_TOKEN\""
        );
        assert_eq!(x.full_url(), "http://127.0.0.1:1/userinfo?access_token=$ACCESS_TOKEN");
        let front = Exchange {
            step: Some(Step::Authorization),
            ..x
        };
        assert_eq!(front.curl(), None);
    }

    #[test]
    fn lines_show_the_request_and_the_answer() {
        let lines = token_request().lines();
        assert_eq!(lines[0], "> POST http://127.0.0.1:8787/token");
        assert!(lines.contains(&"> Authorization: Basic base64(web-app:$CLIENT_SECRET)".to_owned()));
        assert!(lines.contains(&"> grant_type=client_credentials&scope=it's read&client_secret=$CLIENT_SECRET-wrong".to_owned()));
        assert!(lines.contains(&"< HTTP 400".to_owned()));
        assert_eq!(lines.last().unwrap(), r#"< {"error":"invalid_client"}"#);
    }

    #[test]
    fn placeholders_are_cut_out_only_by_their_names() {
        assert_eq!(
            pieces("a${X}b${Y}", &["X".into()]),
            vec![Piece::Text("a"), Piece::Var("X"), Piece::Text("b${Y}")]
        );
        assert_eq!(sh(&[]), "''");
    }
}
