//! HTML pages of the provider (minijinja templates, HTML auto-escaping on):
//! error page, login form, consent form and the form_post response.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

const LAYOUT: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %} · Reference provider</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
label { display: block; margin: .8rem 0 .2rem; }
input[type=text], input[type=password] { width: 100%; padding: .4rem; box-sizing: border-box; }
button { margin-top: 1rem; margin-right: .5rem; padding: .4rem 1.2rem; }
.error { color: #a00; }
code { background: #f3f3f3; padding: 0 .2rem; }
</style>
</head>
<body>
{% block body %}{% endblock %}
</body>
</html>
"#;

const ERROR: &str = r#"{% extends "layout.html" %}
{% block title %}Error{% endblock %}
{% block body %}
<h1>Request rejected</h1>
<p class="error" id="error">{{ error }}</p>
<p id="error_description">{{ description }}</p>
{% endblock %}
"#;

const LOGIN: &str = r#"{% extends "layout.html" %}
{% block title %}Log in{% endblock %}
{% block body %}
<h1>Log in</h1>
<p>to continue to <code>{{ client_id }}</code></p>
{% if error %}<p class="error" id="error">{{ error }}</p>{% endif %}
<form method="post" action="/login">
<input type="hidden" name="tx" value="{{ tx }}">
<input type="hidden" name="login_nonce" value="{{ login_nonce }}">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{{ username }}" autocomplete="username" required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form>
{% endblock %}
"#;

const CONSENT: &str = r#"{% extends "layout.html" %}
{% block title %}Consent{% endblock %}
{% block body %}
<h1>Authorize {{ client_id }}</h1>
<p>Signed in as <strong>{{ username }}</strong>.</p>
<p><code>{{ client_id }}</code> asks for:</p>
<form method="post" action="/consent">
<ul id="scopes">
{% for scope in scopes %}<li>{% if scope == "openid" %}<code>openid</code> (sign you in){% else %}<label><input type="checkbox" name="grant.{{ scope }}" value="yes" checked> <code>{{ scope }}</code></label>{% endif %}</li>
{% else %}<li>no scope</li>
{% endfor %}</ul>
{% if audience %}<p>Access to the API <code id="audience">{{ audience }}</code>.</p>{% endif %}
<input type="hidden" name="tx" value="{{ tx }}">
<input type="hidden" name="choices" value="yes">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
{% endblock %}
"#;

const LOGOUT: &str = r#"{% extends "layout.html" %}
{% block title %}Sign out{% endblock %}
{% block body %}
<h1>Sign out</h1>
<p>Do you want to sign out of the reference provider{% if client_id %} (asked by <code>{{ client_id }}</code>){% endif %}?</p>
<form method="post" action="/logout/confirm">
<input type="hidden" name="tx" value="{{ tx }}">
<button type="submit" name="logout" value="yes">Yes, sign me out</button>
<button type="submit" name="logout" value="no">No, stay signed in</button>
</form>
{% endblock %}
"#;

const DEVICE: &str = r#"{% extends "layout.html" %}
{% block title %}Connect a device{% endblock %}
{% block body %}
<h1>Connect a device</h1>
<p>Enter the code your device shows.</p>
{% if error %}<p class="error" id="error">{{ error }}</p>{% endif %}
<form method="post" action="/device">
<label for="user_code">Code</label>
<input type="text" id="user_code" name="user_code" value="{{ user_code }}" autocomplete="off" required>
<button type="submit">Continue</button>
</form>
{% endblock %}
"#;

const MESSAGE: &str = r#"{% extends "layout.html" %}
{% block title %}{{ title }}{% endblock %}
{% block body %}
<h1>{{ title }}</h1>
<p id="message">{{ message }}</p>
{% endblock %}
"#;

/// After a logout with clients to tell on the front channel (OIDC
/// Front-Channel Logout §2): a frame per client, then on to the post-logout
/// redirect URI once they loaded (at once without scripts: a refresh).
const SIGNED_OUT_FRAMES: &str = r#"{% extends "layout.html" %}
{% block title %}Signed out{% endblock %}
{% block body %}
{% if redirect %}<noscript><meta http-equiv="refresh" content="0;url={{ redirect }}"></noscript>{% endif %}
<h1>Signed out</h1>
<p id="message">You are signed out{% if redirect %}; taking you back{% endif %}.</p>
{% for frame in frames %}<iframe src="{{ frame }}" title="Signing out of an application" style="display:none"></iframe>
{% endfor %}{% if redirect %}<script>
(function () {
  var next = {{ redirect_js|safe }};
  var frames = document.querySelectorAll("iframe"), left = frames.length;
  function go() { window.location.replace(next); }
  frames.forEach(function (f) { f.addEventListener("load", function () { if (--left === 0) go(); }); f.addEventListener("error", function () { if (--left === 0) go(); }); });
  setTimeout(go, 3000);
})();
</script>{% endif %}
{% endblock %}
"#;

/// The check-session frame (OIDC Session Management §3.2): answers a
/// client's `client_id session_state` message with `unchanged` or
/// `changed` (or `error` for a malformed one), to its parent's origin only.
const CHECK_SESSION: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Check session</title></head>
<body>
<script>
(function () {
  function browserState() {
    var m = document.cookie.match(/(?:^|;\s*){{ cookie }}=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  window.addEventListener("message", function (e) {
    if (e.source !== window.parent || typeof e.data !== "string") { return; }
    var parts = e.data.split(" ");
    var salt = parts.length === 2 ? parts[1].split(".")[1] : undefined;
    if (!salt) { e.source.postMessage("error", e.origin); return; }
    var text = parts[0] + " " + e.origin + " " + browserState() + " " + salt;
    crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then(function (d) {
      e.source.postMessage(hex(d) + "." + salt === parts[1] ? "unchanged" : "changed", e.origin);
    });
  });
})();
</script>
</body>
</html>
"#;

const FORM_POST: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Submit this form</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="{{ action }}">
{% for field in fields %}<input type="hidden" name="{{ field[0] }}" value="{{ field[1] }}">
{% endfor %}<noscript><p>JavaScript is off: press the button to continue.</p><button type="submit">Continue</button></noscript>
</form>
</body>
</html>
"#;

/// The loaded templates.
pub(crate) struct Pages {
    env: Environment<'static>,
    /// Quirk `error-pages-200`: error pages are answered 200 OK.
    pub(crate) errors_ok: bool,
}

impl Pages {
    pub(crate) fn new() -> Result<Pages, minijinja::Error> {
        let mut env = Environment::new();
        // Names ending in .html get HTML auto-escaping (minijinja default).
        env.add_template("layout.html", LAYOUT)?;
        env.add_template("error.html", ERROR)?;
        env.add_template("login.html", LOGIN)?;
        env.add_template("consent.html", CONSENT)?;
        env.add_template("form_post.html", FORM_POST)?;
        env.add_template("logout.html", LOGOUT)?;
        env.add_template("message.html", MESSAGE)?;
        env.add_template("signed_out_frames.html", SIGNED_OUT_FRAMES)?;
        env.add_template("check_session.html", CHECK_SESSION)?;
        env.add_template("device.html", DEVICE)?;
        Ok(Pages { env, errors_ok: false })
    }

    fn render(&self, name: &str, ctx: impl Serialize) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }

    /// The HTML error page (never a redirect).
    pub(crate) fn error(&self, status: StatusCode, error: &str, description: &str) -> Response {
        let ctx = minijinja::context! { error, description };
        let status = if self.errors_ok { StatusCode::OK } else { status };
        self.page(status, "error.html", ctx)
    }

    pub(crate) fn login(&self, ctx: LoginPage<'_>) -> Response {
        not_framed(self.page(StatusCode::OK, "login.html", ctx))
    }

    pub(crate) fn consent(&self, ctx: ConsentPage<'_>) -> Response {
        not_framed(self.page(StatusCode::OK, "consent.html", ctx))
    }

    /// The logout confirmation (OIDC RP-Initiated Logout §2: the OP asks).
    pub(crate) fn logout(&self, tx: &str, client_id: Option<&str>) -> Response {
        let ctx = minijinja::context! { tx, client_id };
        not_framed(self.page(StatusCode::OK, "logout.html", ctx))
    }

    /// The page at the device grant's verification URI (RFC 8628 §3.3): the
    /// user code form, with `user_code` filled in (`verification_uri_complete`)
    /// and an error after a wrong code.
    pub(crate) fn device(&self, user_code: &str, error: Option<&str>) -> Response {
        let ctx = minijinja::context! { user_code, error };
        not_framed(self.page(StatusCode::OK, "device.html", ctx))
    }

    /// A page that only says something (signed out, still signed in).
    pub(crate) fn message(&self, title: &str, message: &str) -> Response {
        let ctx = minijinja::context! { title, message };
        self.page(StatusCode::OK, "message.html", ctx)
    }

    /// Signed out, with a frame for each client's front-channel logout URI;
    /// then on to `redirect`, if any.
    pub(crate) fn signed_out_frames(&self, frames: &[String], redirect: Option<&str>) -> Response {
        // A JavaScript string literal that cannot end the script element.
        let redirect_js = redirect.map(|r| {
            serde_json::to_string(r)
                .unwrap_or_default()
                .replace('<', "\\u003c")
                .replace('>', "\\u003e")
                .replace('&', "\\u0026")
        });
        let ctx = minijinja::context! { frames, redirect, redirect_js };
        self.page(StatusCode::OK, "signed_out_frames.html", ctx)
    }

    /// The check-session frame, reading the browser state from `cookie`.
    pub(crate) fn check_session(&self, cookie: &str) -> Response {
        let ctx = minijinja::context! { cookie };
        self.page(StatusCode::OK, "check_session.html", ctx)
    }

    /// The OAuth 2.0 Form Post Response Mode page: an auto-submitting form
    /// posting `fields` to `action` (the redirect URI).
    pub(crate) fn form_post(&self, action: &str, fields: &[(String, String)]) -> Response {
        let ctx = minijinja::context! { action, fields };
        self.page(StatusCode::OK, "form_post.html", ctx)
    }

    fn page(&self, status: StatusCode, name: &str, ctx: impl Serialize) -> Response {
        match self.render(name, ctx) {
            Ok(body) => html(status, body),
            Err(e) => html(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "<!doctype html><title>Error</title><p>template {name} failed: {}</p>",
                    escape(&e.to_string())
                ),
            ),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct LoginPage<'a> {
    pub(crate) tx: &'a str,
    pub(crate) login_nonce: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) username: &'a str,
    pub(crate) error: Option<&'a str>,
}

#[derive(Serialize)]
pub(crate) struct ConsentPage<'a> {
    pub(crate) tx: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) username: &'a str,
    pub(crate) scopes: &'a [String],
    pub(crate) audience: Option<&'a str>,
}

/// Clickjacking defence (RFC 9700 §4.16): no page of the login may be framed.
fn not_framed(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("content-security-policy", HeaderValue::from_static("frame-ancestors 'none'"));
    response
}

/// Quirk `login-page-frameable`: the clickjacking defence taken off.
pub(crate) fn frameable(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.remove("x-frame-options");
    headers.remove("content-security-policy");
    response
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn the_signed_out_page_loads_each_frame_then_goes_on() {
        let pages = Pages::new().unwrap();
        let frames = ["https://rp.test/fc?rp=1&iss=https%3A%2F%2Fop.test&sid=s1".to_owned()];
        let html = body(pages.signed_out_frames(&frames, Some("https://rp.test/bye?state=a<b&c"))).await;
        let read = crate::login::frames::read(&html, &url::Url::parse("https://op.test/logout/confirm").unwrap());
        assert_eq!(read.frames.len(), 1, "{html}");
        assert_eq!(read.frames[0].as_str(), frames[0]);
        assert!(read.scripted);
        assert_eq!(read.onward[0].as_str(), "https://rp.test/bye?state=a%3Cb&c", "{html}");
        assert!(!html.contains("a<b"), "{html}");
    }

    #[tokio::test]
    async fn pages_render_and_escape() {
        let pages = Pages::new().unwrap();
        let login = body(pages.login(LoginPage {
            tx: "t\"x",
            login_nonce: "n",
            client_id: "<script>",
            username: "",
            error: Some("bad & wrong"),
        }))
        .await;
        assert!(login.contains(r#"<form method="post" action="/login">"#));
        assert!(login.contains(r#"name="tx" value="t&quot;x""#));
        assert!(login.contains("&lt;script&gt;"));
        assert!(login.contains("bad &amp; wrong"));
        assert!(login.contains(r#"<input type="password" id="password" name="password""#));

        let consent = body(pages.consent(ConsentPage {
            tx: "t",
            client_id: "web-app",
            username: "jane",
            scopes: &["openid".to_owned(), "read:patients".to_owned()],
            audience: Some("https://api.example.test/health"),
        }))
        .await;
        assert!(consent.contains(r#"<button type="submit" name="decision" value="allow">Allow</button>"#));
        assert!(consent.contains(r#"<button type="submit" name="decision" value="deny">Deny</button>"#));
        assert!(consent.contains("read:patients"));

        let response = pages.form_post("https://app.example.test/callback?a=1&b=2", &[("code".into(), "x\"y".into())]);
        assert_eq!(response.status(), StatusCode::OK);
        let page = scraper::Html::parse_document(&body(response).await);
        let form = scraper::Selector::parse("form[method=post]").unwrap();
        let form = page.select(&form).next().unwrap();
        assert_eq!(form.value().attr("action"), Some("https://app.example.test/callback?a=1&b=2"));
        let input = scraper::Selector::parse("input[type=hidden]").unwrap();
        let input = form.select(&input).next().unwrap();
        assert_eq!(input.value().attr("name"), Some("code"));
        assert_eq!(input.value().attr("value"), Some("x\"y"));

        let error = pages.error(StatusCode::BAD_REQUEST, "invalid_request", "<b>");
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert!(body(error).await.contains("&lt;b&gt;"));
    }
}
