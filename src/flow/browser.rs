//! The browser login driver: the front channel of a flow (login, consent, the
//! redirect back to the client) in headless Chromium, for login pages that
//! need JavaScript.
//!
//! The form driver gets through server-rendered pages without a browser. When
//! a page has no form it can use but has scripts (`login.driver: auto`, the
//! default), or for every page (`login.driver: browser`), the authorization
//! request is sent again from Chromium, with the case's cookies for the
//! provider (a session the case already has goes on); the pages' scripts run,
//! and the driver fills in the username and password and presses the buttons
//! the way the form driver finds them (labels, types, autocomplete attributes,
//! identifier-first steps, consent buttons). It waits for the page to change
//! rather than sleeping, and stops at the first request to the redirect URI
//! without sending it: the query, fragment or form post body of that request
//! goes back to the engine, which goes on over HTTP as before.
//!
//! The browser is driven over the Chrome DevTools Protocol (a WebSocket to the
//! browser, the dozen commands below). One browser process per run, started
//! at the first page that needs it; one isolated browser context per page
//! hand-over, with the case's cookies for the provider copied in and back out,
//! so cases never share a session unless they share a cookie jar.
//!
//! The password is typed into its field (`Input.insertText`), never put in a
//! URL; on a failure the page's screenshot and text are kept as evidence, with
//! every credential scrubbed from the text.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use url::Url;

use crate::secret::Secret;

/// How long one CDP command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the browser may take to start and print its DevTools address.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a page may stay without anything to do before the driver gives up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the driver looks at the page while it waits.
const POLL: Duration = Duration::from_millis(100);

/// Which driver gets through login and consent pages (profile `login.driver`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    /// The form driver; a page with no usable form but with scripts goes to the browser.
    #[default]
    Auto,
    /// The form driver only (no browser is ever started).
    Form,
    /// Every login and consent page in the browser.
    Browser,
}

/// A step of the profile's `login.steps`: what the browser driver does first,
/// before detection, for a page it would not get through by itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Type the user's username or password into the field.
    Fill { selector: String, with: Credential },
    /// Press the control.
    Click(String),
    /// Wait until the element is on the page.
    WaitFor(String),
}

/// What a `fill` step types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    Username,
    Password,
}

impl Step {
    fn selector(&self) -> &str {
        match self {
            Step::Fill { selector, .. } | Step::Click(selector) | Step::WaitFor(selector) => selector,
        }
    }
}

/// Why the browser could not get through.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong, credentials scrubbed.
    pub message: String,
    /// Not a failure of the provider or the harness: the case cannot be run
    /// this way (`message` says why), e.g. partial consent on a scripted page.
    pub not_applicable: bool,
    /// The page as the browser showed it when it went wrong (PNG).
    pub screenshot: Option<Vec<u8>>,
    /// The page's visible text, credentials scrubbed, at most 2 000 characters.
    pub text: Option<String>,
    /// What the browser did up to then, for the case's trace.
    pub steps: Vec<String>,
}

impl Failure {
    fn with_steps(mut self, steps: &[String]) -> Failure {
        self.steps = steps.to_vec();
        self
    }

    fn plain(message: impl Into<String>) -> Failure {
        Failure {
            message: crate::secret::scrub(&message.into()),
            not_applicable: false,
            screenshot: None,
            text: None,
            steps: Vec::new(),
        }
    }
}

/// The request to the redirect URI the browser was about to send.
#[derive(Debug)]
pub struct Redirect {
    /// With its fragment, if the response came in one.
    pub url: Url,
    /// The form post body (`response_mode=form_post`), decoded.
    pub form: Option<Vec<(String, String)>>,
    /// What the browser did, for the case's trace.
    pub steps: Vec<String>,
    pub logins: usize,
    pub consents: usize,
    /// The provider's cookies as the browser left them (to copy back into the case's jar).
    pub cookies: Vec<(Url, String)>,
    /// Each login and consent page the driver acted on, with its defence
    /// against framing (`X-Frame-Options` or CSP `frame-ancestors`), when the
    /// browser saw the page's response headers.
    pub framing: Vec<(&'static str, Option<String>)>,
}

/// What the driver acts on.
pub struct Task<'a> {
    /// The authorization request: the browser sends it again and takes the
    /// front channel from there.
    pub url: &'a Url,
    /// The case's cookies for the provider (`name=value` pairs that apply to `url`):
    /// a session the case's browser already has goes on in the browser.
    pub cookies: Option<String>,
    /// Requests to these (the redirect URI as sent and as registered) are the end.
    pub redirect_uris: Vec<String>,
    pub username: &'a str,
    pub password: &'a Secret,
    /// The profile's selectors, tried before detection.
    pub selectors: &'a crate::flow::form::Selectors,
    /// Approve (true) or deny consent.
    pub approve: bool,
    /// Approve only some scopes: the browser driver does not untick boxes, so
    /// a consent page it reaches makes the case not applicable.
    pub partial: bool,
}

/// A headless Chromium for the run.
pub struct Browser {
    conn: Arc<Connection>,
    child: std::sync::Mutex<Option<std::process::Child>>,
    profile_dir: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Ok(mut c) = self.child.lock()
            && let Some(mut child) = c.take()
        {
            let pid = child.id();
            let _ = child.kill();
            let _ = child.wait();
            if let Ok(mut r) = RUNNING.lock() {
                r.retain(|(p, _)| *p != pid);
            }
        }
        let _ = std::fs::remove_dir_all(&self.profile_dir);
    }
}

/// The browsers this process started (pid, profile directory), for
/// [`stop_all`] on the way out of an interrupted run.
static RUNNING: std::sync::Mutex<Vec<(u32, PathBuf)>> = std::sync::Mutex::new(Vec::new());

/// Stops every browser this process started, and removes their profiles: for
/// an exit that skips destructors (a second Ctrl-C).
pub fn stop_all() {
    let running = RUNNING.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default();
    for (pid, dir) in running {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The Chromium binary: `OIDC_CONFORM_CHROMIUM`, else the first of the usual
/// names found on the `PATH`.
pub fn chromium_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("OIDC_CONFORM_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

impl Browser {
    /// Starts headless Chromium and connects to it.
    pub async fn start() -> Result<Browser, String> {
        let binary = chromium_path().ok_or(
            "a login page needs JavaScript, and no Chromium was found: install it (Debian: `apt-get install chromium`, or `scripts/install-chromium`) or point OIDC_CONFORM_CHROMIUM at it",
        )?;
        static STARTS: AtomicU64 = AtomicU64::new(0);
        let profile_dir = std::env::temp_dir().join(format!(
            "oidc-conform-chromium-{}-{}",
            std::process::id(),
            STARTS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&profile_dir).map_err(|e| format!("cannot make a browser profile directory: {e}"))?;
        let mut cmd = std::process::Command::new(&binary);
        cmd.args([
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--disable-features=Translate,MediaRouter,OptimizationHints",
            "--password-store=basic",
            "--remote-debugging-port=0",
            "--remote-allow-origins=*",
        ]);
        // Chromium refuses to start its sandbox as root (containers, CI).
        if running_as_root() {
            cmd.arg("--no-sandbox");
        }
        cmd.arg(format!("--user-data-dir={}", profile_dir.display()))
            .arg("about:blank")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("cannot start `{}`: {e}", binary.display()))?;
        let stderr = child.stderr.take().ok_or("the browser has no stderr")?;
        // The DevTools address is on stderr: `DevTools listening on ws://…`.
        let (tx, rx) = oneshot::channel();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            let mut tx = Some(tx);
            let mut seen = Vec::new();
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(ws) = line.split("DevTools listening on ").nth(1)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(Ok(ws.trim().to_owned()));
                } else if tx.is_some() && seen.len() < 20 {
                    seen.push(line);
                }
            }
            if let Some(tx) = tx.take() {
                let _ = tx.send(Err(seen.join("\n")));
            }
        });
        let ws = match tokio::time::timeout(START_TIMEOUT, rx).await {
            Ok(Ok(Ok(ws))) => ws,
            Ok(Ok(Err(output))) => {
                let _ = child.kill();
                return Err(format!("`{}` exited before it was ready: {output}", binary.display()));
            }
            _ => {
                let _ = child.kill();
                return Err(format!("`{}` did not start within {START_TIMEOUT:?}", binary.display()));
            }
        };
        let conn = Connection::open(&ws).await.inspect_err(|_| {
            let _ = child.kill();
        })?;
        if let Ok(mut r) = RUNNING.lock() {
            r.push((child.id(), profile_dir.clone()));
        }
        Ok(Browser {
            conn,
            child: std::sync::Mutex::new(Some(child)),
            profile_dir,
        })
    }

    /// The browser's process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.lock().ok()?.as_ref().map(std::process::Child::id)
    }

    /// A screenshot and the visible text of a page the harness already has (the
    /// form driver's evidence): the page is served to the browser as received,
    /// from its own address, so that it looks as a user saw it; nothing is sent
    /// to the provider for the page itself.
    pub async fn snapshot(&self, url: &Url, html: &[u8]) -> (Option<Vec<u8>>, Option<String>) {
        let Ok(context) = self
            .conn
            .call(None, "Target.createBrowserContext", json!({"disposeOnDetach": true}))
            .await
        else {
            return (None, None);
        };
        let context = context["browserContextId"].as_str().unwrap_or_default().to_owned();
        let shot = tokio::time::timeout(Duration::from_secs(20), self.snapshot_in(&context, url, html))
            .await
            .unwrap_or((None, None));
        let _ = self
            .conn
            .call(None, "Target.disposeBrowserContext", json!({"browserContextId": context}))
            .await;
        shot
    }

    async fn snapshot_in(&self, context: &str, url: &Url, html: &[u8]) -> (Option<Vec<u8>>, Option<String>) {
        let conn = &self.conn;
        let Ok(target) = conn
            .call(
                None,
                "Target.createTarget",
                json!({"url": "about:blank", "browserContextId": context}),
            )
            .await
        else {
            return (None, None);
        };
        let Ok(attached) = conn
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await
        else {
            return (None, None);
        };
        let session = attached["sessionId"].as_str().unwrap_or_default().to_owned();
        let mut events = conn.subscribe(&session).await;
        let page = Page {
            conn: conn.clone(),
            session: session.clone(),
        };
        // The page itself from what the harness received; its styles and images from the provider.
        if page
            .call(
                "Fetch.enable",
                json!({"patterns": [{"urlPattern": "*", "requestStage": "Request"}]}),
            )
            .await
            .is_err()
        {
            return (None, None);
        }
        let body = base64::engine::general_purpose::STANDARD.encode(html);
        let responder = {
            let (conn, session, page_url) = (conn.clone(), session.clone(), url.to_string());
            tokio::spawn(async move {
                let mut served = false;
                while let Some((method, params)) = events.recv().await {
                    if method != "Fetch.requestPaused" {
                        continue;
                    }
                    let id = params["requestId"].clone();
                    let this = params["request"]["url"].as_str().unwrap_or_default();
                    if !served && params["resourceType"] == "Document" && this.split('#').next() == page_url.split('#').next() {
                        served = true;
                        let _ = conn
                            .call(
                                Some(&session),
                                "Fetch.fulfillRequest",
                                json!({"requestId": id, "responseCode": 200, "responseHeaders": [{"name": "content-type", "value": "text/html; charset=utf-8"}], "body": body}),
                            )
                            .await;
                    } else if params["resourceType"] == "Document" || params["request"]["method"] != "GET" {
                        // The snapshot goes nowhere and sends nothing.
                        let _ = conn
                            .call(
                                Some(&session),
                                "Fetch.failRequest",
                                json!({"requestId": id, "errorReason": "Aborted"}),
                            )
                            .await;
                    } else {
                        let _ = conn.call(Some(&session), "Fetch.continueRequest", json!({"requestId": id})).await;
                    }
                }
            })
        };
        let _responder = AbortOnDrop(responder);
        let _ = page.call("Page.navigate", json!({"url": url.as_str()})).await;
        // A moment for styles and images.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let f = page.failure("").await;
        (f.screenshot, f.text)
    }

    /// Runs one front channel from `task`'s page to the redirect back to the client.
    pub async fn front_channel(&self, task: Task<'_>) -> Result<Redirect, Failure> {
        let context = self
            .conn
            .call(None, "Target.createBrowserContext", json!({"disposeOnDetach": true}))
            .await
            .map_err(Failure::plain)?;
        let context = context["browserContextId"].as_str().unwrap_or_default().to_owned();
        let result = self.in_context(&context, task).await;
        let _ = self
            .conn
            .call(None, "Target.disposeBrowserContext", json!({"browserContextId": context}))
            .await;
        result
    }

    async fn in_context(&self, context: &str, task: Task<'_>) -> Result<Redirect, Failure> {
        let conn = &self.conn;
        if let Some(cookies) = &task.cookies {
            let list: Vec<Value> = cookies
                .split("; ")
                .filter_map(|c| c.split_once('='))
                .map(|(name, value)| json!({"name": name, "value": value, "url": origin_url(task.url)}))
                .collect();
            conn.call(None, "Storage.setCookies", json!({"cookies": list, "browserContextId": context}))
                .await
                .map_err(Failure::plain)?;
        }
        let target = conn
            .call(
                None,
                "Target.createTarget",
                json!({"url": "about:blank", "browserContextId": context}),
            )
            .await
            .map_err(Failure::plain)?;
        let target_id = target["targetId"].as_str().unwrap_or_default().to_owned();
        let attached = conn
            .call(None, "Target.attachToTarget", json!({"targetId": target_id, "flatten": true}))
            .await
            .map_err(Failure::plain)?;
        let session = attached["sessionId"].as_str().unwrap_or_default().to_owned();
        let mut events = conn.subscribe(&session).await;
        let page = Page {
            conn: conn.clone(),
            session: session.clone(),
        };
        page.call(
            "Fetch.enable",
            json!({"patterns": [{"urlPattern": "*", "requestStage": "Request"}]}),
        )
        .await
        .map_err(Failure::plain)?;
        page.call("Page.enable", json!({})).await.map_err(Failure::plain)?;
        // The documents' response headers, for their defence against framing.
        page.call("Network.enable", json!({})).await.map_err(Failure::plain)?;
        // Not awaited here: the navigation waits for its request, which this loop answers.
        let navigate = {
            let (conn, session, url) = (conn.clone(), session.clone(), task.url.to_string());
            tokio::spawn(async move { conn.call(Some(&session), "Page.navigate", json!({"url": url})).await })
        };
        let _navigate = AbortOnDrop(navigate);

        let mut steps: Vec<String>;
        let (mut logins, mut consents) = (0usize, 0usize);
        let mut last_action: Option<(String, Instant)> = None;
        let mut idle_since = Instant::now();
        let mut looked = Instant::now() - POLL;
        let deadline = Instant::now() + IDLE_TIMEOUT * 6;
        let script = detect(task.selectors);
        let mut steps_left: Vec<Step> = task.selectors.steps.clone();
        let mut step_number = 1;
        // Paused requests are answered by their own task, whatever the page
        // is doing: a script that waits for a navigation never blocks them.
        let shared_steps: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        // Document URL (no fragment) → its defence against framing.
        let framing_of: Arc<std::sync::Mutex<HashMap<String, Option<String>>>> = Arc::default();
        let mut framing: Vec<(&'static str, Option<String>)> = Vec::new();
        let (captured_tx, mut captured) = oneshot::channel::<Result<(Url, Option<Vec<(String, String)>>), String>>();
        let interceptor = {
            let (conn, session, redirects, log) = (conn.clone(), session.clone(), task.redirect_uris.clone(), shared_steps.clone());
            let seen = framing_of.clone();
            tokio::spawn(async move {
                let mut captured_tx = Some(captured_tx);
                while let Some((method, params)) = events.recv().await {
                    if method == "Network.responseReceived" && params["type"] == "Document" {
                        let response = &params["response"];
                        let header = |name: &str| {
                            response["headers"].as_object().and_then(|h| {
                                h.iter()
                                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                                    .and_then(|(_, v)| v.as_str().map(str::to_owned))
                            })
                        };
                        let defence =
                            crate::flow::framing_of(header("x-frame-options").as_deref(), header("content-security-policy").as_deref());
                        if let (Some(url), Ok(mut m)) = (response["url"].as_str(), seen.lock()) {
                            m.insert(url.split('#').next().unwrap_or(url).to_owned(), defence);
                        }
                        continue;
                    }
                    if method != "Fetch.requestPaused" {
                        continue;
                    }
                    let request_id = params["requestId"].as_str().unwrap_or_default().to_owned();
                    let request = &params["request"];
                    let url = request["url"].as_str().unwrap_or_default();
                    let verb = request["method"].as_str().unwrap_or("GET");
                    if redirects.iter().any(|r| !r.is_empty() && url.starts_with(r.as_str())) {
                        let _ = conn
                            .call(
                                Some(&session),
                                "Fetch.failRequest",
                                json!({"requestId": request_id, "errorReason": "Aborted"}),
                            )
                            .await;
                        let fragment = request["urlFragment"].as_str().unwrap_or_default();
                        let result = Url::parse(&format!("{url}{fragment}"))
                            .map_err(|e| format!("the redirect `{}` does not parse: {e}", crate::flow::http::redact_str(url)))
                            .map(|full| {
                                if let Ok(mut l) = log.lock() {
                                    l.push(format!(
                                        "browser: {verb} {} (not sent: the redirect back to the client)",
                                        crate::flow::http::redact_url(&full)
                                    ));
                                }
                                (full, (verb == "POST").then(|| post_body(request)))
                            });
                        if let Some(tx) = captured_tx.take() {
                            let _ = tx.send(result);
                        }
                        continue;
                    }
                    if params["resourceType"] == "Document"
                        && let Ok(mut l) = log.lock()
                    {
                        l.push(format!("browser: {verb} {}", crate::flow::http::redact_str(url)));
                    }
                    let _ = conn
                        .call(Some(&session), "Fetch.continueRequest", json!({"requestId": request_id}))
                        .await;
                }
            })
        };
        let _interceptor = AbortOnDrop(interceptor);
        let log = |steps: &mut Vec<String>, line: String| {
            if let Ok(mut l) = shared_steps.lock() {
                l.push(line);
            }
            steps.clear();
            steps.extend(shared_steps.lock().map(|l| l.clone()).unwrap_or_default());
        };
        loop {
            steps = shared_steps.lock().map(|l| l.clone()).unwrap_or_default();
            match captured.try_recv() {
                Ok(Ok((url, form))) => {
                    let cookies = cookies_of(conn, context).await;
                    return Ok(Redirect {
                        url,
                        form,
                        steps,
                        logins,
                        consents,
                        cookies,
                        framing,
                    });
                }
                Ok(Err(e)) => return Err(Failure::plain(e).with_steps(&steps)),
                Err(oneshot::error::TryRecvError::Closed) => {
                    return Err(Failure::plain("the browser closed the page").with_steps(&steps));
                }
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            if Instant::now() > deadline {
                return Err(page
                    .failure("the browser did not get back to the client within a minute")
                    .await
                    .with_steps(&steps));
            }
            if looked.elapsed() < POLL {
                tokio::time::sleep(POLL.saturating_sub(looked.elapsed())).await;
                continue;
            }
            looked = Instant::now();
            // The profile's steps first, each once its element is on the page.
            if let Some(step) = steps_left.first().cloned() {
                let sel = serde_json::to_string(step.selector()).unwrap_or_default();
                let here = tokio::time::timeout(
                    Duration::from_secs(3),
                    page.evaluate(&format!("(() => {{ const e = document.querySelector({sel}); if (!e) return false; document.querySelectorAll('[data-oidc-conform]').forEach((x) => x.removeAttribute('data-oidc-conform')); e.setAttribute('data-oidc-conform', 'step'); return true; }})()")),
                )
                .await;
                if !matches!(here, Ok(Ok(Value::Bool(true)))) {
                    if idle_since.elapsed() > IDLE_TIMEOUT {
                        return Err(page
                            .failure(&format!(
                                "login step {} (`{}`): the element did not appear within {IDLE_TIMEOUT:?}",
                                step_number,
                                step.selector()
                            ))
                            .await
                            .with_steps(&steps));
                    }
                    continue;
                }
                let done = match &step {
                    Step::Fill { with, .. } => {
                        let text = match with {
                            Credential::Username => task.username,
                            Credential::Password => task.password.expose(),
                        };
                        page.type_into("step", text).await.map_err(Failure::plain)?;
                        format!(
                            "filled in `{}` with the {}",
                            step.selector(),
                            if *with == Credential::Password { "password" } else { "username" }
                        )
                    }
                    Step::Click(_) => {
                        page.press("step").await.map_err(Failure::plain)?;
                        format!("pressed `{}`", step.selector())
                    }
                    Step::WaitFor(_) => format!("`{}` is on the page", step.selector()),
                };
                log(&mut steps, format!("browser: login step {step_number}: {done}"));
                steps_left.remove(0);
                step_number += 1;
                idle_since = Instant::now();
                continue;
            }
            // Then the page: what is there to do?
            // A page in the middle of a navigation may not answer at once: look again later.
            let found = match tokio::time::timeout(Duration::from_secs(3), page.evaluate(&script)).await {
                Ok(Ok(v)) => v,
                _ => Value::Null,
            };
            let kind = found["kind"].as_str().unwrap_or("none").to_owned();
            let signature = format!(
                "{}|{}",
                found["href"].as_str().unwrap_or_default(),
                found["signature"].as_str().unwrap_or_default()
            );
            let repeat = last_action
                .as_ref()
                .is_some_and(|(s, at)| *s == signature && at.elapsed() < Duration::from_secs(3));
            match kind.as_str() {
                _ if repeat => {}
                "login" | "identifier" => {
                    let href = found["href"].as_str().unwrap_or_default();
                    if let Some(d) = framing_of
                        .lock()
                        .ok()
                        .and_then(|m| m.get(href.split('#').next().unwrap_or(href)).cloned())
                    {
                        framing.push(("login", d));
                    }
                    if kind == "login" {
                        logins += 1;
                        if logins > 3 {
                            return Err(page.failure("the login form came back after 3 attempts: the credentials were not accepted (check the user's username and password in the profile)").await.with_steps(&steps));
                        }
                    }
                    if found["user"] == true {
                        page.type_into("user", task.username).await.map_err(Failure::plain)?;
                    }
                    if kind == "login" {
                        page.type_into("password", task.password.expose()).await.map_err(Failure::plain)?;
                    }
                    log(
                        &mut steps,
                        format!(
                            "browser: {} on {}",
                            if kind == "login" {
                                "filled in the username and password"
                            } else {
                                "filled in the username (an identifier-first step)"
                            },
                            crate::flow::http::redact_str(found["href"].as_str().unwrap_or_default())
                        ),
                    );
                    page.press("submit").await.map_err(Failure::plain)?;
                    last_action = Some((signature, Instant::now()));
                    idle_since = Instant::now();
                }
                "consent" if task.partial => {
                    return Err(Failure {
                        not_applicable: true,
                        ..Failure::plain(
                            "the consent page needs JavaScript: approving only some scopes is done by the form driver only, on a page with a box per scope",
                        )
                    });
                }
                "consent" => {
                    let which = if task.approve { "approve" } else { "deny" };
                    if found[which] != true {
                        if task.approve {
                            return Err(page
                                .failure("the consent page has no button that approves")
                                .await
                                .with_steps(&steps));
                        }
                        return Err(page.failure("the consent page has no control that denies").await.with_steps(&steps));
                    }
                    consents += 1;
                    let href = found["href"].as_str().unwrap_or_default();
                    if let Some(d) = framing_of
                        .lock()
                        .ok()
                        .and_then(|m| m.get(href.split('#').next().unwrap_or(href)).cloned())
                    {
                        framing.push(("consent", d));
                    }
                    log(
                        &mut steps,
                        format!(
                            "browser: pressed {which} on the consent page {}",
                            crate::flow::http::redact_str(found["href"].as_str().unwrap_or_default())
                        ),
                    );
                    page.press(which).await.map_err(Failure::plain)?;
                    last_action = Some((signature, Instant::now()));
                    idle_since = Instant::now();
                }
                _ => {
                    if idle_since.elapsed() > IDLE_TIMEOUT {
                        return Err(page.failure(&format!(
                                "the page at {} shows nothing the browser driver can act on (no login fields, no consent button) for {IDLE_TIMEOUT:?}",
                                crate::flow::http::redact_str(found["href"].as_str().unwrap_or_default())
                            )).await.with_steps(&steps));
                    }
                }
            }
        }
    }
}

/// A task that ends with the page it works for.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn origin_url(u: &Url) -> String {
    format!("{}/", u.origin().ascii_serialization())
}

/// The decoded form body of an intercepted POST.
fn post_body(request: &Value) -> Vec<(String, String)> {
    let raw: Vec<u8> = if let Some(s) = request["postData"].as_str() {
        s.as_bytes().to_vec()
    } else if let Some(entries) = request["postDataEntries"].as_array() {
        entries
            .iter()
            .filter_map(|e| e["bytes"].as_str())
            .filter_map(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .flatten()
            .collect()
    } else {
        Vec::new()
    };
    url::form_urlencoded::parse(&raw).into_owned().collect()
}

async fn cookies_of(conn: &Arc<Connection>, context: &str) -> Vec<(Url, String)> {
    let Ok(v) = conn.call(None, "Storage.getCookies", json!({"browserContextId": context})).await else {
        return Vec::new();
    };
    v["cookies"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|c| {
                    let domain = c["domain"].as_str()?.trim_start_matches('.');
                    let scheme = if c["secure"] == true { "https" } else { "http" };
                    let port = c["sourcePort"].as_i64().filter(|p| *p > 0 && *p != 80 && *p != 443);
                    let host = match port {
                        Some(p) => format!("{domain}:{p}"),
                        None => domain.to_owned(),
                    };
                    let url = Url::parse(&format!("{scheme}://{host}{}", c["path"].as_str().unwrap_or("/"))).ok()?;
                    let mut cookie = format!(
                        "{}={}; Path={}",
                        c["name"].as_str()?,
                        c["value"].as_str()?,
                        c["path"].as_str().unwrap_or("/")
                    );
                    if c["httpOnly"] == true {
                        cookie.push_str("; HttpOnly");
                    }
                    Some((url, cookie))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The script that looks at the page: which fields and buttons it has, marked
/// with `data-oidc-conform` so that the driver can reach them.
const DETECT: &str = r#"((cfg) => {
  const pick = (sel) => { try { return sel ? document.querySelector(sel) : null; } catch (e) { return null; } };
  const visible = (e) => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e); return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  document.querySelectorAll('[data-oidc-conform]').forEach((e) => e.removeAttribute('data-oidc-conform'));
  const label = (e) => [...(e.labels || [])].map((l) => l.innerText).join(' ') + ' ' + (e.getAttribute('aria-label') || '') + ' ' + (e.placeholder || '');
  const inputs = [...document.querySelectorAll('input, textarea')].filter((e) => !e.disabled && !e.readOnly && e.type !== 'hidden' && visible(e));
  const password = pick(cfg.password) || inputs.find((e) => e.type === 'password');
  const userRe = /user|e-?mail|login|identifier|account|name|phone/i;
  const auto = (e) => (e.getAttribute('autocomplete') || '').split(/\s+/).pop();
  const user = pick(cfg.username) || inputs.find((e) => ['username', 'email'].includes(auto(e)))
    || inputs.find((e) => e.type === 'email')
    || inputs.find((e) => ['text', 'tel', ''].includes(e.type) && e !== password && userRe.test((e.name || '') + ' ' + (e.id || '') + ' ' + label(e)));
  const buttons = [...document.querySelectorAll('button, input[type=submit], input[type=button], input[type=image], [role=button], a[href]')].filter((e) => !e.disabled && visible(e));
  const text = (e) => ((e.innerText || e.value || e.getAttribute('aria-label') || e.title || '') + '').trim();
  const find = (re) => buttons.find((b) => re.test(text(b)));
  const submitRe = /^(sign ?in|log ?in|login|continue|next|submit|verify|ok|go)\b/i;
  const approveRe = /^(allow|accept|approve|authori[sz]e|consent|yes|grant|continue|agree|confirm)\b/i;
  const denyRe = /^(deny|cancel|reject|decline|no\b|don.t allow|do not allow|refuse)/i;
  const mark = (e, name) => { if (e) e.setAttribute('data-oidc-conform', name); return !!e; };
  const out = { href: location.href, kind: 'none' };
  const submitFor = (field) => (field && field.form && [...field.form.querySelectorAll('button:not([type=button]):not([type=reset]), input[type=submit]')].find(visible)) || find(submitRe) || buttons.find((b) => b.type === 'submit');
  if (password) {
    out.kind = 'login';
    out.user = mark(user && !user.value ? user : null, 'user');
    mark(password, 'password');
    out.submit = mark(submitFor(password), 'submit');
  } else if (user) {
    out.kind = 'identifier';
    out.user = mark(user.value ? null : user, 'user');
    out.submit = mark(submitFor(user), 'submit');
  } else {
    const approve = pick(cfg.consent) || find(approveRe);
    const deny = find(denyRe);
    if (approve || deny) {
      out.kind = 'consent';
      out.approve = mark(approve, 'approve');
      out.deny = mark(deny, 'deny');
    }
  }
  out.signature = out.kind + ':' + inputs.length + ':' + buttons.length + ':' + document.title;
  return out;
})"#;

/// [`DETECT`] with the profile's selectors (`login.username`, `login.password`,
/// `login.consent`), which go before detection.
fn detect(selectors: &crate::flow::form::Selectors) -> String {
    let cfg = json!({
        "username": selectors.username,
        "password": selectors.password,
        "consent": selectors.consent,
    });
    format!("{DETECT}({cfg})")
}

/// The text of the page, for evidence.
const PAGE_TEXT: &str = r#"(() => ((document.title ? document.title + ' — ' : '') + (document.body ? document.body.innerText : '')).replace(/\s+/g, ' ').trim().slice(0, 2000))()"#;

/// One browser tab (a CDP session).
struct Page {
    conn: Arc<Connection>,
    session: String,
}

impl Page {
    async fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        self.conn.call(Some(&self.session), method, params).await
    }

    async fn evaluate(&self, expression: &str) -> Result<Value, String> {
        let v = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await?;
        Ok(v["result"]["value"].clone())
    }

    /// Types `text` into the marked field, replacing what is there.
    async fn type_into(&self, mark: &str, text: &str) -> Result<(), String> {
        let focused = self
            .evaluate(&format!(
                "(() => {{ const e = document.querySelector('[data-oidc-conform={mark}]'); if (!e) return false; e.focus(); e.select && e.select(); return true; }})()"
            ))
            .await?;
        if focused != true {
            return Err(format!("the {mark} field went away before it could be filled in"));
        }
        self.call("Input.insertText", json!({"text": text})).await?;
        Ok(())
    }

    /// Presses the marked button (or submits the field's form when there is none).
    async fn press(&self, mark: &str) -> Result<(), String> {
        self.evaluate(&format!(
            "(() => {{ const e = document.querySelector('[data-oidc-conform={mark}]'); if (e) {{ e.click(); return true; }} const f = document.querySelector('[data-oidc-conform=password], [data-oidc-conform=user]'); if (f && f.form) {{ f.form.requestSubmit ? f.form.requestSubmit() : f.form.submit(); return true; }} return false; }})()"
        ))
        .await?;
        Ok(())
    }

    /// A failure with the page's screenshot and text.
    async fn failure(&self, message: &str) -> Failure {
        let screenshot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await
            .ok()
            .and_then(|v| {
                v["data"]
                    .as_str()
                    .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
            });
        let text = self
            .evaluate(PAGE_TEXT)
            .await
            .ok()
            .and_then(|v| v.as_str().map(crate::secret::scrub));
        Failure {
            message: crate::secret::scrub(message),
            not_applicable: false,
            screenshot,
            text,
            steps: Vec::new(),
        }
    }
}

type Pending = HashMap<u64, oneshot::Sender<Result<Value, String>>>;
type Subscribers = HashMap<String, mpsc::UnboundedSender<(String, Value)>>;

/// A WebSocket to the browser: commands by id, events by session.
struct Connection {
    out: mpsc::UnboundedSender<Message>,
    next_id: AtomicU64,
    pending: Arc<Mutex<Pending>>,
    subscribers: Arc<Mutex<Subscribers>>,
}

impl Connection {
    async fn open(ws: &str) -> Result<Arc<Connection>, String> {
        let (socket, _) = tokio_tungstenite::connect_async(ws)
            .await
            .map_err(|e| format!("cannot connect to the browser at {ws}: {e}"))?;
        let (mut sink, mut stream) = socket.split();
        let (out, mut rx) = mpsc::unbounded_channel::<Message>();
        let pending: Arc<Mutex<Pending>> = Arc::default();
        let subscribers: Arc<Mutex<Subscribers>> = Arc::default();
        tokio::spawn(async move {
            while let Some(m) = rx.recv().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
        });
        let (p, s) = (pending.clone(), subscribers.clone());
        tokio::spawn(async move {
            while let Some(Ok(m)) = stream.next().await {
                let Message::Text(text) = m else { continue };
                let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                if let Some(id) = v["id"].as_u64() {
                    if let Some(tx) = p.lock().await.remove(&id) {
                        let result = match v.get("error") {
                            Some(e) => Err(format!("the browser refused: {}", e["message"].as_str().unwrap_or("an error"))),
                            None => Ok(v["result"].clone()),
                        };
                        let _ = tx.send(result);
                    }
                } else if let (Some(method), Some(session)) = (v["method"].as_str(), v["sessionId"].as_str())
                    && let Some(tx) = s.lock().await.get(session)
                {
                    let _ = tx.send((method.to_owned(), v["params"].clone()));
                }
            }
            // The browser went away: every waiting command fails.
            for (_, tx) in p.lock().await.drain() {
                let _ = tx.send(Err("the browser closed its connection".into()));
            }
        });
        Ok(Arc::new(Connection {
            out,
            next_id: AtomicU64::new(1),
            pending,
            subscribers,
        }))
    }

    async fn subscribe(&self, session: &str) -> mpsc::UnboundedReceiver<(String, Value)> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.subscribers.lock().await.insert(session.to_owned(), tx);
        rx
    }

    async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = Value::String(s.to_owned());
        }
        let (tx, rx) = oneshot::channel();
        self.pending.lock().await.insert(id, tx);
        self.out
            .send(Message::Text(msg.to_string().into()))
            .map_err(|_| "the browser connection is closed".to_owned())?;
        match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
            Ok(Ok(r)) => r.map_err(|e| format!("{method}: {e}")),
            Ok(Err(_)) => Err(format!("{method}: the browser connection is closed")),
            Err(_) => {
                self.pending.lock().await.remove(&id);
                Err(format!("{method}: the browser did not answer within {COMMAND_TIMEOUT:?}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_post_body_is_decoded() {
        let r = json!({"method": "POST", "postData": "code=abc&state=s%201"});
        assert_eq!(post_body(&r), [("code".into(), "abc".into()), ("state".into(), "s 1".into())]);
        let r = json!({"method": "POST", "postDataEntries": [{"bytes": base64::engine::general_purpose::STANDARD.encode("state=x")}]});
        assert_eq!(post_body(&r), [("state".to_owned(), "x".to_owned())]);
    }

    #[test]
    fn the_driver_setting_reads_from_yaml() {
        let d: Driver = serde_json::from_value(json!("browser")).unwrap();
        assert_eq!(d, Driver::Browser);
        assert_eq!(Driver::default(), Driver::Auto);
    }
}
