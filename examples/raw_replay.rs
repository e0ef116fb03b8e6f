//! The physical limit for `scripts/bench`: the HTTP exchanges of an
//! oidc-conform code-flow case (authorize → login form → consent → redirect
//! back → token → userinfo, plus the two userinfo probes the harness sends),
//! replayed with no checks and a minimal client. It parses forms with plain
//! string scanning, verifies nothing and keeps nothing.
//!
//!   cargo run --release --example raw_replay -- --issuer http://127.0.0.1:8787 --cases 1000 --jobs 4
//!
//! Options (defaults: the reference provider's `web` client and user `jane`):
//! `--client-id`, `--client-secret`, `--redirect-uri`, `--username`, `--password`,
//! `--scope` (`openid profile`), `--no-probes` (leave out the two userinfo probes),
//! `--client-per-case` (build a new browser client for every case, as the harness
//! does, instead of one per worker with its cookie jar emptied between cases),
//! `--threads` (run each worker on its own OS thread with `Runtime::block_on`, as
//! a thread-per-case test runner would, instead of as tokio tasks).
//!
//! Prints one JSON line: `{"cases", "ok", "failed", "seconds", "setup_seconds", "requests", "first_error", …}`,
//! where `seconds` is the time of the cases alone (after discovery).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::header::HeaderValue;
use reqwest::{Client, Method, StatusCode};
use url::Url;

struct Options {
    issuer: String,
    cases: usize,
    jobs: usize,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    username: String,
    password: String,
    scope: String,
    probes: bool,
    client_per_case: bool,
    threads: bool,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        issuer: "http://127.0.0.1:8787".into(),
        cases: 100,
        jobs: 4,
        client_id: "web-app".into(),
        client_secret: "web-app-secret-7f3a9c".into(),
        redirect_uri: "https://app.example.test/callback".into(),
        username: "jane".into(),
        password: "jane-password-5e8b".into(),
        scope: "openid profile".into(),
        probes: true,
        client_per_case: false,
        threads: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("`{a}` needs a value"));
        match a.as_str() {
            "--issuer" => o.issuer = value()?,
            "--cases" => o.cases = value()?.parse().map_err(|e| format!("--cases: {e}"))?,
            "--jobs" => o.jobs = value()?.parse().map_err(|e| format!("--jobs: {e}"))?,
            "--client-id" => o.client_id = value()?,
            "--client-secret" => o.client_secret = value()?,
            "--redirect-uri" => o.redirect_uri = value()?,
            "--username" => o.username = value()?,
            "--password" => o.password = value()?,
            "--scope" => o.scope = value()?,
            "--no-probes" => o.probes = false,
            "--client-per-case" => o.client_per_case = true,
            "--threads" => o.threads = true,
            other => return Err(format!("unknown argument `{other}` (see the top of examples/raw_replay.rs)")),
        }
    }
    o.jobs = o.jobs.max(1);
    Ok(o)
}

/// A cookie jar that one worker empties between its cases.
#[derive(Default)]
struct ResettableJar(RwLock<Arc<reqwest::cookie::Jar>>);

impl ResettableJar {
    fn reset(&self) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::default();
    }
    fn jar(&self) -> Arc<reqwest::cookie::Jar> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl reqwest::cookie::CookieStore for ResettableJar {
    fn set_cookies(&self, cookie_headers: &mut dyn Iterator<Item = &HeaderValue>, url: &Url) {
        self.jar().set_cookies(cookie_headers, url)
    }
    fn cookies(&self, url: &Url) -> Option<HeaderValue> {
        self.jar().cookies(url)
    }
}

fn builder() -> reqwest::ClientBuilder {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .no_proxy()
}

struct Endpoints {
    authorization: Url,
    token: Url,
    userinfo: Url,
}

struct Shared {
    o: Options,
    ep: Endpoints,
    /// Back channel (token, userinfo), shared by every worker, as in the harness.
    back: Client,
    next: AtomicUsize,
    ok: AtomicUsize,
    requests: AtomicUsize,
    first_error: Mutex<Option<String>>,
}

fn random() -> String {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).expect("the system random source works");
    B64.encode(b)
}

/// The value of attribute `name` in one tag's text (`<input … name="x" …>`).
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = tag;
    while let Some(i) = rest.find(name) {
        let before = rest[..i].chars().next_back();
        let after = &rest[i + name.len()..];
        if before.is_some_and(char::is_whitespace) && after.starts_with('=') {
            let v = &after[1..];
            let quote = v.chars().next()?;
            if quote == '"' || quote == '\'' {
                return v[1..].find(quote).map(|end| &v[1..1 + end]);
            }
            return Some(v.split(|c: char| c.is_whitespace() || c == '>').next().unwrap_or(""));
        }
        rest = after;
    }
    None
}

fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

/// The first form of a page: method, action, and its fields filled in
/// (hidden values kept, username and password typed, the first named submit
/// button or the one saying `allow` pressed).
/// A filled-in form: method, action and fields.
type Submission = (Method, Url, Vec<(String, String)>);

fn form(html: &str, page: &Url, o: &Options) -> Result<Submission, String> {
    let start = html.find("<form").ok_or("no form on the page")?;
    let body = &html[start..];
    let body = &body[..body.find("</form>").unwrap_or(body.len())];
    let head = &body[..body.find('>').ok_or("broken form tag")?];
    let action = unescape(attr(head, "action").unwrap_or(""));
    let action = page.join(&action).map_err(|e| format!("form action `{action}`: {e}"))?;
    let method = match attr(head, "method") {
        Some(m) if m.eq_ignore_ascii_case("post") => Method::POST,
        _ => Method::GET,
    };
    let mut fields = Vec::new();
    let mut button: Option<(String, String)> = None;
    let mut pos = 0;
    while let Some(i) = body[pos..].find('<') {
        let tag_start = pos + i;
        let tag_end = tag_start + body[tag_start..].find('>').unwrap_or(body.len() - tag_start);
        let tag = &body[tag_start..tag_end];
        pos = tag_end.max(tag_start + 1);
        let (is_input, is_button) = (tag.starts_with("<input"), tag.starts_with("<button"));
        if !is_input && !is_button {
            continue;
        }
        let Some(name) = attr(tag, "name") else { continue };
        let value = unescape(attr(tag, "value").unwrap_or(""));
        let kind = attr(tag, "type").unwrap_or(if is_button { "submit" } else { "text" });
        match kind {
            "password" => fields.push((name.to_owned(), o.password.clone())),
            "text" | "email" => fields.push((name.to_owned(), o.username.clone())),
            "submit" => {
                if button.is_none() || value.eq_ignore_ascii_case("allow") {
                    button = Some((name.to_owned(), value));
                }
            }
            _ => fields.push((name.to_owned(), value)),
        }
    }
    fields.extend(button);
    Ok((method, action, fields))
}

async fn send(s: &Shared, req: reqwest::RequestBuilder) -> Result<(StatusCode, reqwest::header::HeaderMap, Vec<u8>), String> {
    s.requests.fetch_add(1, Ordering::Relaxed);
    let resp = req.send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.map_err(|e| e.to_string())?.to_vec();
    Ok((status, headers, body))
}

async fn case(s: &Shared, browser: &Client) -> Result<(), String> {
    let o = &s.o;
    let verifier = random();
    let challenge = B64.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()));
    let (state, nonce) = (random(), random());
    // The harness's parameters, in its (sorted) order.
    let mut url = s.ep.authorization.clone();
    url.query_pairs_mut().extend_pairs([
        ("client_id", o.client_id.as_str()),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("nonce", &nonce),
        ("redirect_uri", &o.redirect_uri),
        ("response_type", "code"),
        ("scope", &o.scope),
        ("state", &state),
    ]);
    let mut method = Method::GET;
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut code = None;
    for _ in 0..40 {
        if url.as_str().starts_with(&o.redirect_uri) {
            code = url.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned());
            break;
        }
        let mut req = browser.request(method.clone(), url.clone());
        if method == Method::POST {
            req = req.form(&fields);
        }
        let (status, headers, body) = send(s, req).await?;
        if status.is_redirection() {
            let loc = headers
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or("redirect without Location")?;
            url = url.join(loc).map_err(|e| e.to_string())?;
            (method, fields) = (Method::GET, Vec::new());
        } else if status.is_success() {
            let html = String::from_utf8_lossy(&body);
            (method, url, fields) = form(&html, &url, o)?;
        } else {
            return Err(format!("{} answered {status}", url.path()));
        }
    }
    let code = code.ok_or("no code came back")?;
    let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let token = s
        .back
        .post(s.ep.token.clone())
        .basic_auth(enc(&o.client_id), Some(enc(&o.client_secret)))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &o.redirect_uri),
            ("code_verifier", &verifier),
        ]);
    let (status, _, body) = send(s, token).await?;
    if !status.is_success() {
        return Err(format!("token endpoint answered {status}: {}", String::from_utf8_lossy(&body)));
    }
    let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let at = json["access_token"].as_str().ok_or("no access_token")?;
    let (status, _, _) = send(s, s.back.get(s.ep.userinfo.clone()).bearer_auth(at)).await?;
    if !status.is_success() {
        return Err(format!("userinfo answered {status}"));
    }
    if o.probes {
        if let Some(idt) = json["id_token"].as_str() {
            send(s, s.back.get(s.ep.userinfo.clone()).bearer_auth(idt)).await?;
        }
        send(s, s.back.get(s.ep.userinfo.clone())).await?;
    }
    Ok(())
}

async fn worker(s: Arc<Shared>) {
    let jar = Arc::new(ResettableJar::default());
    let mut browser = None;
    while s.next.fetch_add(1, Ordering::Relaxed) < s.o.cases {
        let client = if s.o.client_per_case {
            builder().cookie_store(true).build()
        } else {
            jar.reset();
            match &browser {
                Some(b) => Ok(Client::clone(b)),
                None => builder()
                    .cookie_provider(jar.clone())
                    .build()
                    .inspect(|b| browser = Some(b.clone())),
            }
        };
        let result = match client {
            Ok(c) => case(&s, &c).await,
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(()) => {
                s.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                let mut first = s.first_error.lock().unwrap_or_else(|e| e.into_inner());
                first.get_or_insert(e);
            }
        }
    }
}

async fn setup(o: Options) -> Result<(Arc<Shared>, f64), String> {
    let setup = Instant::now();
    let back = builder().build().map_err(|e| e.to_string())?;
    let discovery_url = format!("{}/.well-known/openid-configuration", o.issuer.trim_end_matches('/'));
    let doc: serde_json::Value = back
        .get(&discovery_url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("discovery: {e}"))?
        .json()
        .await
        .map_err(|e| format!("discovery: {e}"))?;
    let endpoint = |k: &str| {
        doc[k]
            .as_str()
            .ok_or(format!("discovery has no {k}"))
            .and_then(|u| Url::parse(u).map_err(|e| e.to_string()))
    };
    let ep = Endpoints {
        authorization: endpoint("authorization_endpoint")?,
        token: endpoint("token_endpoint")?,
        userinfo: endpoint("userinfo_endpoint")?,
    };
    let shared = Shared {
        o,
        ep,
        back,
        next: AtomicUsize::new(0),
        ok: AtomicUsize::new(0),
        requests: AtomicUsize::new(0),
        first_error: Mutex::new(None),
    };
    Ok((Arc::new(shared), setup.elapsed().as_secs_f64()))
}

fn run(rt: &tokio::runtime::Runtime, o: Options) -> Result<(String, bool), String> {
    let (s, setup_seconds) = rt.block_on(setup(o))?;
    let (cases, jobs) = (s.o.cases, s.o.jobs);
    let started = Instant::now();
    if s.o.threads {
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                let s = s.clone();
                scope.spawn(move || rt.block_on(worker(s)));
            }
        });
    } else {
        rt.block_on(async {
            let workers: Vec<_> = (0..jobs).map(|_| tokio::spawn(worker(s.clone()))).collect();
            for w in workers {
                w.await.map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        })?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let ok = s.ok.load(Ordering::Relaxed);
    let first_error = s.first_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let line = serde_json::json!({
        "tool": "raw_replay",
        "cases": cases,
        "jobs": jobs,
        "client_per_case": s.o.client_per_case,
        "threads": s.o.threads,
        "ok": ok,
        "failed": cases - ok,
        "seconds": seconds,
        "setup_seconds": setup_seconds,
        "requests": s.requests.load(Ordering::Relaxed),
        "first_error": first_error,
    })
    .to_string();
    Ok((line, ok == cases))
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("raw_replay: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    match run(&rt, o) {
        Ok((line, all_ok)) => {
            println!("{line}");
            std::process::exit(if all_ok { 0 } else { 1 });
        }
        Err(e) => {
            eprintln!("raw_replay: {e}");
            std::process::exit(3);
        }
    }
}
