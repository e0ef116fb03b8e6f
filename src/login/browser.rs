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
//! What the page is, and which of its fields and buttons to use, is the
//! oracle's decision ([`crate::login::oracle::live`]) on a snapshot of the live
//! page (the document after its scripts ran, open shadow roots inline, which
//! controls are shown): JavaScript only takes the snapshot (including whether
//! each control is visible, as laid out), marks the elements the oracle chose,
//! types into them and presses them, and ticks the consent page's scope boxes.
//!
//! The password is typed into its field (`Input.insertText`), never put in a
//! URL; on a failure the page's screenshot and text are kept as evidence, with
//! every credential scrubbed from the text.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use url::Url;

use crate::secret::Secret;

/// How long one CDP command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the browser may take to start and print its DevTools address.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a page may stay without anything to do before the driver gives up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// After this many cases in a row that the driver could not get past the same
/// page, it is not tried on that page again in the run.
pub const GIVE_UP_AFTER: u32 = 3;
/// How often the driver looks at the page while it waits, at the latest.
const POLL: Duration = Duration::from_millis(100);
/// How soon after a change of the page (its document parsed or loaded, the
/// redirect caught) the driver looks, at the earliest: the changes of one
/// step come in bursts, and each look runs a script in the page.
const SETTLE: Duration = Duration::from_millis(15);

/// Browser pages under way at once: one per CPU (`OIDC_CONFORM_BROWSER_PAGES`
/// sets it). Measured on the JavaScript-login fixture (2 CPUs): two pages at
/// once ran its suites no slower than four (149 s and 158 s): a page
/// computes (scripts, layout), and more of them than CPUs only slow each
/// other down towards their timeouts.
fn pages_at_once() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    match pages_setting(std::env::var("OIDC_CONFORM_BROWSER_PAGES").ok().as_deref(), cpus) {
        Ok(n) => n,
        Err(why) => {
            // Said once per process, however many browsers a process starts.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| eprintln!("warning: {why}"));
            cpus
        }
    }
}

/// The pages at once that `value` (of `OIDC_CONFORM_BROWSER_PAGES`) sets:
/// one per CPU without it. A value that is not a whole number from 1 to 64
/// is an error in words (the caller then uses one page per CPU).
fn pages_setting(value: Option<&str>, cpus: usize) -> Result<usize, String> {
    let Some(v) = value else { return Ok(cpus) };
    match v.trim().parse::<usize>() {
        Ok(n @ 1..=64) => Ok(n),
        _ => {
            let shown: String = crate::report::escape::escape_controls(v).chars().take(40).collect();
            Err(format!(
                "OIDC_CONFORM_BROWSER_PAGES=`{shown}` is not a whole number from 1 to 64 (browser pages at once): {cpus} (one per CPU) is used"
            ))
        }
    }
}

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
    /// The page is an end (an error or other page with nothing a user can act
    /// on, settled): its HTTP status. A case that expects a refusal judges it as
    /// the refusal; one that expects success ends at once.
    pub terminal: Option<u16>,
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
            terminal: None,
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
    pub selectors: &'a crate::login::form::Selectors,
    /// Approve (true) or deny consent.
    pub approve: bool,
    /// The scopes the authorization request asks for (a consent page's boxes
    /// for them are ticked on approval).
    pub requested: Vec<String>,
    /// Approve only these of the requested scopes: their boxes ticked, the
    /// others' unticked. `None`: approve all.
    pub approved: Option<Vec<String>>,
    /// The case runs alone among its user's sign-ins, and cases wait for it:
    /// its pages go before the others' ([`super::gate`]).
    pub urgent: bool,
}

/// A headless Chromium for the run.
///
/// It speaks the DevTools protocol over a pipe (`--remote-debugging-pipe`, its
/// file descriptors 3 and 4), so no port is open for anyone else on the machine
/// to drive it; when the harness goes away, however it goes, the pipe closes
/// and the browser exits. It runs under a small `sh` that removes the browser's
/// private profile directory (random name, mode 0700) once the browser has
/// exited, so that directory does not outlive it either.
pub struct Browser {
    conn: Arc<Connection>,
    /// Where pages may send anything once credentials are typed.
    policy: OriginPolicy,
    /// The harness's pages, for the interceptor.
    guards: Guards,
    _interceptor: AbortOnDrop<()>,
    /// Page (origin and path) → the cases in a row the driver could not get
    /// past it, and why the last one failed.
    defeats: std::sync::Mutex<HashMap<String, (u32, String)>>,
    /// The `sh` that runs the browser (the leader of its process group).
    child: std::sync::Mutex<Option<std::process::Child>>,
    profile_dir: std::sync::Mutex<Option<tempfile::TempDir>>,
    /// Front channels under way at once: one per CPU. Cases wait mostly for
    /// the provider and run more at once than there are CPUs; a browser page
    /// computes (scripts, layout), and more of them than CPUs only slow each
    /// other down towards their timeouts.
    /// Urgent tasks (the cases that run alone) get the next free page first.
    pages: super::gate::Gate,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing the pipe ends the browser; its `sh` then removes the profile.
        self.conn.close();
        if let Ok(mut c) = self.child.lock()
            && let Some(mut child) = c.take()
        {
            let pid = child.id();
            let deadline = Instant::now() + Duration::from_secs(3);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            kill_group(pid);
            let _ = child.wait();
            if let Ok(mut r) = RUNNING.lock() {
                r.retain(|(p, _)| *p != pid);
            }
        }
        if let Ok(mut d) = self.profile_dir.lock()
            && let Some(dir) = d.take()
        {
            let _ = dir.close();
        }
    }
}

/// Kills the process group `pid` leads (the browser's `sh`, the browser and its helpers).
fn kill_group(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid)
        && pid > 0
    {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is touched.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// The browsers this process started (pid of their `sh`, profile directory),
/// for [`stop_all`] on the way out of an interrupted run.
static RUNNING: std::sync::Mutex<Vec<(u32, PathBuf)>> = std::sync::Mutex::new(Vec::new());

/// Stops every browser this process started, and removes their profiles: for
/// an exit that skips destructors (a second Ctrl-C).
pub fn stop_all() {
    let running = RUNNING.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default();
    for (pid, dir) in running {
        kill_group(pid);
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
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

/// A pipe whose ends are closed on exec: (read end, write end).
fn pipe() -> std::io::Result<(std::fs::File, std::fs::File)> {
    use std::os::fd::FromRawFd as _;
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2(2) writes two file descriptors into `fds`, which we then own.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    Ok(unsafe { (std::fs::File::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(fds[1])) })
}

/// What the browser's `sh` runs: the browser in the background with the pipe on
/// its descriptors 3 and 4, its own copies of them closed (so that the harness
/// sees the pipe close when the browser exits), then the profile removed.
const SUPERVISOR: &str = r#"dir=$1; shift; "$@" & exec 3<&- 4>&-; wait $!; rc=$?; rm -rf -- "$dir"; exit $rc"#;

impl Browser {
    /// Starts headless Chromium and connects to it.
    pub async fn start(policy: OriginPolicy) -> Result<Browser, String> {
        use std::os::fd::AsRawFd as _;
        use std::os::unix::process::CommandExt as _;
        let binary = chromium_path().ok_or(
            "a login page needs JavaScript, and no Chromium was found: install it (Debian: `apt-get install chromium`, or `scripts/install-chromium`) or point OIDC_CONFORM_CHROMIUM at it",
        )?;
        // A fresh directory with a random name, made with mode 0700 and never one
        // that already exists (nothing another user planted is ever used).
        let profile_dir = tempfile::Builder::new()
            .prefix("oidc-conform-chromium-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .map_err(|e| format!("cannot make a private browser profile directory: {e}"))?;
        let (to_browser_read, to_browser_write) = pipe().map_err(|e| format!("cannot make a pipe to the browser: {e}"))?;
        let (from_browser_read, from_browser_write) = pipe().map_err(|e| format!("cannot make a pipe from the browser: {e}"))?;
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg("-c").arg(SUPERVISOR).arg("sh").arg(profile_dir.path()).arg(&binary);
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
            // Every frame of a page in the page's own process, so that the
            // driver's interception of the page's requests sees theirs too.
            "--disable-site-isolation-trials",
            "--disable-features=Translate,MediaRouter,OptimizationHints,IsolateOrigins,site-per-process",
            // No WebRTC traffic outside a proxy (there is none): no UDP around the interception.
            "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
            "--password-store=basic",
            "--remote-debugging-pipe",
        ]);
        // Chromium refuses to start its sandbox as root (containers, CI).
        if running_as_root() {
            cmd.arg("--no-sandbox");
        }
        // Inside the private directory: the browser sets its own profile's mode.
        cmd.arg(format!("--user-data-dir={}", profile_dir.path().join("profile").display()))
            .arg("about:blank")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let (child_in, child_out) = (to_browser_read.as_raw_fd(), from_browser_write.as_raw_fd());
        // SAFETY: between fork and exec only async-signal-safe calls (fcntl, dup2, setsid).
        unsafe {
            cmd.pre_exec(move || {
                // Out of the way of 3 and 4 first, then onto them (dup2 clears close-on-exec).
                let a = libc::fcntl(child_in, libc::F_DUPFD_CLOEXEC, 10);
                let b = libc::fcntl(child_out, libc::F_DUPFD_CLOEXEC, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // A process group of its own: stopped as a whole, and out of the
                // terminal's Ctrl-C (the harness stops it).
                libc::setsid();
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| format!("cannot start `{}`: {e}", binary.display()))?;
        drop(to_browser_read);
        drop(from_browser_write);
        if let Ok(mut r) = RUNNING.lock() {
            r.push((child.id(), profile_dir.path().to_owned()));
        }
        // What the browser says on stderr, for an error when it does not start.
        let stderr = child.stderr.take();
        let said: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        if let Some(stderr) = stderr {
            let said = said.clone();
            std::thread::spawn(move || {
                use std::io::BufRead as _;
                for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Ok(mut s) = said.lock()
                        && s.len() < 20
                    {
                        s.push(line);
                    }
                }
            });
        }
        let conn = Connection::open(to_browser_write, from_browser_read);
        // Every request of the browser's, whatever made it, is decided by `decide`.
        let guards: Guards = Arc::default();
        let mut events = conn.subscribe("").await;
        let interceptor = {
            let (conn, guards, policy) = (conn.clone(), guards.clone(), policy.clone());
            tokio::spawn(async move {
                while let Some((method, params)) = events.recv().await {
                    if method != "Fetch.requestPaused" {
                        continue;
                    }
                    let id = params["requestId"].clone();
                    let (command, args) = match decide(&policy, &guards, &params) {
                        Verdict::Continue => ("Fetch.continueRequest", json!({"requestId": id})),
                        Verdict::Fail(reason) => ("Fetch.failRequest", json!({"requestId": id, "errorReason": reason})),
                        Verdict::Serve(body) => (
                            "Fetch.fulfillRequest",
                            json!({"requestId": id, "responseCode": 200, "responseHeaders": [{"name": "content-type", "value": "text/html; charset=utf-8"}], "body": body}),
                        ),
                    };
                    let conn = conn.clone();
                    tokio::spawn(async move {
                        let _ = conn.call(None, command, args).await;
                    });
                }
            })
        };
        let browser = Browser {
            conn,
            policy,
            guards,
            _interceptor: AbortOnDrop(interceptor),
            defeats: std::sync::Mutex::default(),
            child: std::sync::Mutex::new(Some(child)),
            profile_dir: std::sync::Mutex::new(Some(profile_dir)),
            pages: super::gate::Gate::new(pages_at_once()),
        };
        let ready = tokio::time::timeout(START_TIMEOUT, browser.conn.call(None, "Browser.getVersion", json!({}))).await;
        match ready {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let output = said.lock().map(|s| s.join("\n")).unwrap_or_default();
                return Err(format!("`{}` exited before it was ready: {output}", binary.display()));
            }
            Err(_) => return Err(format!("`{}` did not start within {START_TIMEOUT:?}", binary.display())),
        }
        browser
            .conn
            .call(
                None,
                "Fetch.enable",
                json!({"patterns": [{"urlPattern": "*", "requestStage": "Request"}]}),
            )
            .await
            .map_err(|e| format!("the browser cannot intercept its requests: {e}"))?;
        Ok(browser)
    }

    /// The process id of the browser's `sh`, which leads the browser's
    /// process group (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.lock().ok()?.as_ref().map(std::process::Child::id)
    }

    /// Why the driver is not tried again on the page at `url`: it could not get
    /// past the same page in [`GIVE_UP_AFTER`] cases in a row.
    pub fn given_up_on(&self, url: &Url) -> Option<String> {
        let d = self.defeats.lock().ok()?;
        let (n, why) = d.get(&page_key(url))?;
        (*n >= GIVE_UP_AFTER).then(|| {
            format!(
                "the browser driver could not get past the page at {} in {n} cases in a row, so it is not tried again in this run (the last time: {why})",
                page_key(url)
            )
        })
    }

    /// Records how the driver did on the page at `url`: `None` when it got through.
    pub fn record(&self, url: &Url, failure: Option<&str>) {
        if let Ok(mut d) = self.defeats.lock() {
            match failure {
                None => {
                    d.remove(&page_key(url));
                }
                Some(why) => {
                    let e = d.entry(page_key(url)).or_insert((0, String::new()));
                    e.0 += 1;
                    e.1 = why.chars().take(300).collect();
                }
            }
        }
    }

    /// The browser's private profile directory (while it runs).
    pub fn profile_dir(&self) -> Option<PathBuf> {
        self.profile_dir.lock().ok()?.as_ref().map(|d| d.path().to_owned())
    }

    /// A screenshot and the visible text of a page the harness already has (the
    /// form driver's evidence): the page is served to the browser as received,
    /// from its own address, so that it looks as a user saw it; nothing is sent
    /// to the provider for the page itself, and its styles and images come only
    /// from the origins the policy admits. `secrets` are blanked on the page
    /// before the screenshot.
    pub async fn snapshot(&self, url: &Url, html: &[u8], secrets: &[&str]) -> (Option<Vec<u8>>, Option<String>) {
        let Ok(context) = self.new_context().await else {
            return (None, None);
        };
        let shot = tokio::time::timeout(Duration::from_secs(20), self.snapshot_in(&context, url, html, secrets))
            .await
            .unwrap_or((None, None));
        self.dispose_context(&context).await;
        shot
    }

    /// A browser context of its own (cookies, storage), for one page.
    async fn new_context(&self) -> Result<String, String> {
        let context = self
            .conn
            .call(None, "Target.createBrowserContext", json!({"disposeOnDetach": true}))
            .await?;
        Ok(context["browserContextId"].as_str().unwrap_or_default().to_owned())
    }

    async fn dispose_context(&self, context: &str) {
        let _ = self
            .conn
            .call(None, "Target.disposeBrowserContext", json!({"browserContextId": context}))
            .await;
    }

    async fn snapshot_in(&self, context: &str, url: &Url, html: &[u8], secrets: &[&str]) -> (Option<Vec<u8>>, Option<String>) {
        let Ok(opened) = self.open_page(context, Guard::serving(url, html)).await else {
            return (None, None);
        };
        let page = Page::of(&self.conn, &opened, secrets);
        let _ = page.call("Page.navigate", json!({"url": url.as_str()})).await;
        // A moment for styles and images.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let f = page.failure("").await;
        (f.screenshot, f.text)
    }

    /// What the browser driver makes of a page, served from `html` at `url`
    /// (as [`Browser::snapshot`] serves it: nothing is fetched for the document
    /// itself, and its scripts run): `login`, `identifier` (a username-only
    /// step), `consent` (with its approve/deny controls), `end` (settled with
    /// nothing to act on), or `unknown` (it never settled within 10 s), and
    /// under `press` what the control it would press says (the submit of a
    /// login or identifier step, the approving control of a consent page). The
    /// same detection the driver acts on, for a corpus of real products' pages.
    pub async fn classify(&self, url: &Url, html: &[u8]) -> Result<Value, String> {
        self.classify_as(url, html, None).await
    }

    /// [`Browser::classify`] for the user `username`: an account chooser with
    /// a tile that names the user is a step to go on from (`consent`, its
    /// approving control the tile, `account: true`), as the driver goes on.
    pub async fn classify_as(&self, url: &Url, html: &[u8], username: Option<&str>) -> Result<Value, String> {
        let context = self.new_context().await?;
        let result = self.classify_in(&context, url, html, username).await;
        self.dispose_context(&context).await;
        result
    }

    async fn classify_in(&self, context: &str, url: &Url, html: &[u8], username: Option<&str>) -> Result<Value, String> {
        let opened = self.open_page(context, Guard::serving(url, html)).await?;
        let page = Page::of(&self.conn, &opened, &[]);
        let _ = page.call("Page.navigate", json!({"url": url.as_str()})).await;
        let selectors = crate::login::form::Selectors::default();
        // Longer than the 8 s a page with a request still under way needs to
        // count as settled, with room for a loaded machine.
        let deadline = Instant::now() + IDLE_TIMEOUT + Duration::from_secs(5);
        while Instant::now() < deadline {
            tokio::time::sleep(POLL).await;
            let found = page.look(&selectors, username).await;
            if found.is_null() {
                continue;
            }
            let kind = found["kind"].as_str().unwrap_or("none");
            if kind == "account" {
                return Ok(json!({"kind": "consent", "account": true, "approve": true, "deny": false, "press": found["press"]}));
            }
            if kind != "none" {
                return Ok(
                    json!({"kind": kind, "approve": found["approve"], "deny": found["deny"], "user": found["user"], "press": found["press"]}),
                );
            }
            if page.settled(&opened.guard).await {
                return Ok(json!({"kind": "end"}));
            }
        }
        Ok(json!({"kind": "unknown"}))
    }

    /// A page of its own in `context`, its requests under `guard` (registered
    /// before the page can send any), its dialogs dismissed, its frames tracked.
    async fn open_page(&self, context: &str, guard: Arc<Guard>) -> Result<Opened, String> {
        let conn = &self.conn;
        let target = conn
            .call(
                None,
                "Target.createTarget",
                json!({"url": "about:blank", "browserContextId": context}),
            )
            .await?;
        let target_id = target["targetId"].as_str().unwrap_or_default().to_owned();
        let registration = Registration::new(self.guards.clone(), &target_id, guard.clone());
        let attached = conn
            .call(None, "Target.attachToTarget", json!({"targetId": target_id, "flatten": true}))
            .await?;
        let session = attached["sessionId"].as_str().unwrap_or_default().to_owned();
        let mut events = conn.subscribe(&session).await;
        let watcher = {
            let (conn, session, guard, main_frame) = (conn.clone(), session.clone(), guard.clone(), target_id.clone());
            tokio::spawn(async move {
                while let Some((method, params)) = events.recv().await {
                    match method.as_str() {
                        "Network.responseReceived" if params["type"] == "Document" => {
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
                            if let (Some(url), Ok(mut m)) = (response["url"].as_str(), guard.framing.lock()) {
                                m.insert(url.split('#').next().unwrap_or(url).to_owned(), defence);
                            }
                            if let (Some(status), Ok(mut s)) = (response["status"].as_u64(), guard.last_status.lock()) {
                                *s = u16::try_from(status).ok();
                            }
                        }
                        "Network.requestWillBeSent" => {
                            if let (Some(id), Ok(mut f)) = (params["requestId"].as_str(), guard.inflight.lock()) {
                                f.insert(id.to_owned());
                            }
                        }
                        "Network.loadingFinished" | "Network.loadingFailed" => {
                            if let (Some(id), Ok(mut f)) = (params["requestId"].as_str(), guard.inflight.lock()) {
                                f.remove(id);
                            }
                        }
                        "Page.frameStartedLoading" if params["frameId"].as_str() == Some(main_frame.as_str()) => {
                            guard.loading.store(true, Ordering::SeqCst);
                        }
                        "Page.frameStoppedLoading" if params["frameId"].as_str() == Some(main_frame.as_str()) => {
                            guard.loading.store(false, Ordering::SeqCst);
                            guard.changed.notify_one();
                        }
                        "Page.domContentEventFired" => guard.changed.notify_one(),
                        "Page.frameAttached" => {
                            if let (Some(f), Ok(mut frames)) = (params["frameId"].as_str(), guard.frames.lock()) {
                                frames.insert(f.to_owned());
                            }
                        }
                        "Page.javascriptDialogOpening" => {
                            // alert, confirm, prompt, beforeunload: dismissed at once
                            // (beforeunload: leave the page), and said in the trace.
                            guard.note(format!(
                                "browser: dismissed a `{}` dialog of the page",
                                params["type"].as_str().unwrap_or("javascript")
                            ));
                            let (conn, session) = (conn.clone(), session.clone());
                            tokio::spawn(async move {
                                let _ = conn
                                    .call(Some(&session), "Page.handleJavaScriptDialog", json!({"accept": true}))
                                    .await;
                            });
                        }
                        _ => {}
                    }
                }
            })
        };
        let page = |m: &'static str, p: Value| {
            let (conn, session) = (conn.clone(), session.clone());
            async move { conn.call(Some(&session), m, p).await }
        };
        page("Page.enable", json!({})).await?;
        // The documents' response headers, for their defence against framing.
        page("Network.enable", json!({})).await?;
        // No channel around the request interception: WebSockets, WebTransport
        // and WebRTC are not HTTP requests the interception sees; service
        // workers and new windows run outside the page.
        page(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": NO_SIDE_CHANNELS, "runImmediately": true}),
        )
        .await?;
        Ok(Opened {
            session,
            guard,
            _registration: registration,
            _watcher: AbortOnDrop(watcher),
        })
    }

    /// Runs one front channel from `task`'s page to the redirect back to the client.
    pub async fn front_channel(&self, task: Task<'_>) -> Result<Redirect, Failure> {
        let _page = self
            .pages
            .enter(task.urgent)
            .await
            .ok_or_else(|| Failure::plain("the browser is shutting down"))?;
        let context = self.new_context().await.map_err(Failure::plain)?;
        let result = self.in_context(&context, task).await;
        self.dispose_context(&context).await;
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
        let (captured_tx, mut captured) = oneshot::channel::<Captured>();
        let guard = Arc::new(Guard {
            redirect_uris: task.redirect_uris.iter().filter(|r| !r.is_empty()).cloned().collect(),
            capture: std::sync::Mutex::new(Some(captured_tx)),
            ..Guard::default()
        });
        let opened = self.open_page(context, guard.clone()).await.map_err(Failure::plain)?;
        let page = Page::of(conn, &opened, &[task.password.expose()]);
        // Not awaited here: the navigation waits for its request, which the interceptor answers.
        let navigate = {
            let (conn, session, url) = (conn.clone(), opened.session.clone(), task.url.to_string());
            tokio::spawn(async move { conn.call(Some(&session), "Page.navigate", json!({"url": url})).await })
        };
        let _navigate = AbortOnDrop(navigate);

        let mut steps: Vec<String>;
        let (mut logins, mut consents, mut accounts) = (0usize, 0usize, 0usize);
        let mut last_action: Option<(String, Instant)> = None;
        let mut idle_since = Instant::now();
        // Looks in a row that found the settled page with nothing to act on:
        // one look can catch a page mid-render; an end is seen twice.
        let mut ends_seen = 0u32;
        let mut looked = Instant::now() - POLL;
        // The page changed since the last look: look now, not at the next POLL.
        let mut woke = false;
        let deadline = Instant::now() + IDLE_TIMEOUT * 6;
        let mut steps_left: Vec<Step> = task.selectors.steps.clone();
        let mut step_number = 1;
        let mut framing: Vec<(&'static str, Option<String>)> = Vec::new();
        let log = |steps: &mut Vec<String>, line: String| {
            guard.note(line);
            *steps = guard.lines();
        };
        // Credentials go only into a page on an origin the policy admits; from
        // then on the interceptor blocks every request to any other origin.
        let may_type = |href: &str| -> Result<(), String> {
            self.policy.admits(href).map_err(|why| {
                format!(
                    "the page that asks for the credentials is at {}: {why}; the credentials were not typed",
                    crate::flow::http::redact_str(href)
                )
            })?;
            guard.armed.store(true, Ordering::SeqCst);
            Ok(())
        };
        loop {
            steps = guard.lines();
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
                Ok(Err(e)) => return Err(page.failure(&e).await.with_steps(&guard.lines())),
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
            // The next look: as soon as the page changes (SETTLE after the
            // change), else POLL after the last one. A page that looked like an
            // end is looked at again a whole POLL later: one look can catch a
            // page mid-render, and a change can be what is still rendering.
            if looked.elapsed() < POLL && !woke {
                let rest = POLL.saturating_sub(looked.elapsed());
                woke = if ends_seen == 0 {
                    tokio::select! {
                        () = guard.changed.notified() => true,
                        () = tokio::time::sleep(rest) => false,
                    }
                } else {
                    tokio::time::sleep(rest).await;
                    false
                };
                if woke {
                    tokio::time::sleep(SETTLE).await;
                }
                continue;
            }
            woke = false;
            looked = Instant::now();
            // The profile's steps first, each once its element is on the page.
            if let Some(step) = steps_left.first().cloned() {
                let sel = serde_json::to_string(step.selector()).unwrap_or_default();
                let here = tokio::time::timeout(
                    Duration::from_secs(3),
                    page.evaluate(&format!("(() => {{ const e = document.querySelector({sel}); if (!e) return null; document.querySelectorAll('[data-oidc-conform]').forEach((x) => x.removeAttribute('data-oidc-conform')); e.setAttribute('data-oidc-conform', 'step'); return location.href; }})()")),
                )
                .await;
                let Ok(Ok(Value::String(href))) = here else {
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
                };
                let done = match &step {
                    Step::Fill { with, .. } => {
                        if let Err(why) = may_type(&href) {
                            return Err(page.failure(&why).await.with_steps(&steps));
                        }
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
            let found = page.look(task.selectors, Some(task.username)).await;
            let kind = found["kind"].as_str().unwrap_or("none").to_owned();
            if kind != "none" {
                ends_seen = 0;
            }
            let href = found["href"].as_str().unwrap_or_default().to_owned();
            let signature = format!("{href}|{}", found["signature"].as_str().unwrap_or_default());
            let repeat = last_action
                .as_ref()
                .is_some_and(|(s, at)| *s == signature && at.elapsed() < Duration::from_secs(3));
            match kind.as_str() {
                _ if repeat => {}
                "login" | "identifier" => {
                    if let Err(why) = may_type(&href) {
                        return Err(page.failure(&why).await.with_steps(&steps));
                    }
                    if let Some(d) = guard.framing_of(&href) {
                        framing.push(("login", d));
                    }
                    if kind == "login" {
                        logins += 1;
                        if logins > 3 {
                            return Err(page
                                .failure(&format!(
                                    "{}: the credentials were not accepted (check the user's username and password in the profile)",
                                    crate::flow::LOGIN_REFUSED
                                ))
                                .await
                                .with_steps(&steps));
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
                            crate::flow::http::redact_str(&href)
                        ),
                    );
                    page.press("submit").await.map_err(Failure::plain)?;
                    last_action = Some((signature, Instant::now()));
                    idle_since = Instant::now();
                }
                "account" => {
                    accounts += 1;
                    if accounts > 3 {
                        return Err(page
                            .failure("the account chooser came back after 3 choices of the user's account")
                            .await
                            .with_steps(&steps));
                    }
                    log(
                        &mut steps,
                        format!(
                            "browser: chose the user's account (`{}`) on {}",
                            found["press"].as_str().unwrap_or_default().chars().take(80).collect::<String>(),
                            crate::flow::http::redact_str(&href)
                        ),
                    );
                    page.press("account").await.map_err(Failure::plain)?;
                    last_action = Some((signature, Instant::now()));
                    idle_since = Instant::now();
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
                    if consents > 3 {
                        return Err(page
                            .failure("the consent page came back after 3 answers: the provider did not take the harness's answer (set `login.consent` in the profile to the approving control's CSS selector)")
                            .await
                            .with_steps(&steps));
                    }
                    if let Some(d) = guard.framing_of(&href) {
                        framing.push(("consent", d));
                    }
                    // Approving grants what the case asks: every box of a requested
                    // scope ticked (or only the approved ones', the others unticked).
                    if task.approve {
                        let call = format!(
                            "({CONSENT_BOXES})({}, {})",
                            serde_json::to_string(&task.requested).unwrap_or_default(),
                            serde_json::to_string(&task.approved).unwrap_or_default()
                        );
                        let boxes = tokio::time::timeout(Duration::from_secs(3), page.evaluate(&call))
                            .await
                            .ok()
                            .and_then(Result::ok)
                            .unwrap_or(Value::Null);
                        let names = |k: &str| -> Vec<String> {
                            boxes[k]
                                .as_array()
                                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                                .unwrap_or_default()
                        };
                        let (ticked, unticked, missing) = (names("ticked"), names("unticked"), names("missing"));
                        let unmapped = boxes["unmapped"].as_u64().unwrap_or(0);
                        if let Some(approved) = &task.approved {
                            // Scopes to leave out need a box to untick.
                            let left_out: Vec<&String> = task.requested.iter().filter(|s| !approved.contains(s)).collect();
                            if left_out.iter().any(|s| missing.contains(s)) {
                                return Err(Failure {
                                    not_applicable: true,
                                    ..Failure::plain(format!(
                                        "the consent page has no box to untick for {}: the user cannot approve only some of the requested scopes on it",
                                        left_out.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                                    ))
                                });
                            }
                        }
                        if !ticked.is_empty() || !unticked.is_empty() || unmapped > 0 {
                            let mut what = Vec::new();
                            if !ticked.is_empty() {
                                what.push(format!("ticked {}", ticked.join(", ")));
                            }
                            if !unticked.is_empty() {
                                what.push(format!("left {} unticked", unticked.join(", ")));
                            }
                            let others_ticked = boxes["others_ticked"].as_u64().unwrap_or(0);
                            if others_ticked > 0 {
                                what.push(format!("ticked {others_ticked} other box(es) that stand for no requested scope"));
                            } else if unmapped > 0 {
                                what.push(format!("left {unmapped} box(es) that stand for no requested scope as they were"));
                            }
                            log(&mut steps, format!("browser: on the consent page, {}", what.join("; ")));
                        }
                    }
                    log(
                        &mut steps,
                        format!(
                            "browser: pressed {which} on the consent page {}",
                            crate::flow::http::redact_str(&href)
                        ),
                    );
                    page.press(which).await.map_err(Failure::plain)?;
                    last_action = Some((signature, Instant::now()));
                    idle_since = Instant::now();
                }
                _ => {
                    // Settled with nothing to act on: the page is an end (an error
                    // page, or another page a user cannot go on from), at once.
                    let end = !found.is_null()
                        && kind == "none"
                        && page.settled(&guard).await
                        && !page.posts_to(&task.redirect_uris).await
                        && captured.is_empty();
                    ends_seen = if end { ends_seen + 1 } else { 0 };
                    if end && ends_seen >= 2 {
                        let status = guard.last_status.lock().ok().and_then(|s| *s).unwrap_or(200);
                        let mut f = page
                            .failure(&format!(
                                "the page at {} (HTTP {status}) is an end: it has nothing to fill in or press (no login fields, no consent controls)",
                                crate::flow::http::redact_str(&href)
                            ))
                            .await
                            .with_steps(&guard.lines());
                        f.terminal = Some(status);
                        return Err(f);
                    }
                    if idle_since.elapsed() > IDLE_TIMEOUT {
                        let at = if href.is_empty() {
                            guard.last_document().unwrap_or_default()
                        } else {
                            href.clone()
                        };
                        let why = if found.is_null() {
                            "does not answer (a script keeps it busy, or it is too large to look at)"
                        } else {
                            "shows nothing the browser driver can act on (no login fields, no consent button)"
                        };
                        return Err(page
                            .failure(&format!(
                                "the page at {} {why} for {IDLE_TIMEOUT:?}",
                                crate::flow::http::redact_str(&at)
                            ))
                            .await
                            .with_steps(&guard.lines()));
                    }
                }
            }
        }
    }
}

/// Where the run's browser may send anything once credentials are typed (and
/// where subframes, workers and other windows may send anything at all).
#[derive(Clone, Debug, Default)]
pub struct OriginPolicy {
    /// `scheme://host:port`: the issuer's origin and the profile's trusted origins.
    pub origins: Vec<String>,
    /// `--allow-http`: plain http to hosts that are not loopback.
    pub allow_http: bool,
}

impl OriginPolicy {
    /// Whether a request to `url` is admitted, and why not.
    pub fn admits(&self, url: &str) -> Result<(), String> {
        let u = Url::parse(url).map_err(|_| "not a URL".to_owned())?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(format!("`{}:` is not http or https", u.scheme()));
        }
        let origin = u.origin().ascii_serialization();
        if !self.origins.contains(&origin) {
            return Err(format!(
                "{origin} is neither the issuer's origin nor one of the profile's `http.trusted_origins`"
            ));
        }
        let loopback = match u.host() {
            Some(url::Host::Ipv4(a)) => a.is_loopback(),
            Some(url::Host::Ipv6(a)) => a.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if u.scheme() == "http" && !loopback && !self.allow_http {
            return Err(format!("{origin} is plain http to a host that is not loopback (pass --allow-http)"));
        }
        Ok(())
    }
}

/// What the interceptor knows of one page of the harness's.
#[derive(Default)]
struct Guard {
    /// Credentials were typed into the page (or it is a snapshot): every
    /// request to an origin the policy does not admit is blocked.
    armed: AtomicBool,
    /// Requests to these (the redirect URI as sent and as registered) are the end.
    redirect_uris: Vec<String>,
    capture: std::sync::Mutex<Option<oneshot::Sender<Captured>>>,
    /// What the browser did, for the case's trace.
    log: std::sync::Mutex<Vec<String>>,
    /// A snapshot: the document to serve (URL without fragment, base64 body), once.
    serve: std::sync::Mutex<Option<(String, String)>>,
    snapshot: bool,
    /// The page's subframes.
    frames: std::sync::Mutex<std::collections::HashSet<String>>,
    /// The URL of the last document the page requested.
    last_document: std::sync::Mutex<Option<String>>,
    /// The HTTP status of the page's last document.
    last_status: std::sync::Mutex<Option<u16>>,
    /// The page's requests under way (Network domain ids).
    inflight: std::sync::Mutex<std::collections::HashSet<String>>,
    /// The main frame is loading a document.
    loading: AtomicBool,
    /// Document URL (no fragment) → its defence against framing.
    framing: std::sync::Mutex<HashMap<String, Option<String>>>,
    /// Something happened the driver should look at: the main document was
    /// parsed or finished loading, or the redirect back to the client was caught.
    changed: tokio::sync::Notify,
}

impl Guard {
    /// The guard of a page served from `html` at `url` (a snapshot, a page to
    /// classify): the document served once, nothing sent anywhere the policy
    /// does not admit.
    fn serving(url: &Url, html: &[u8]) -> Arc<Guard> {
        Arc::new(Guard {
            armed: AtomicBool::new(true),
            serve: std::sync::Mutex::new(Some((
                url.as_str().split('#').next().unwrap_or_default().to_owned(),
                base64::engine::general_purpose::STANDARD.encode(html),
            ))),
            snapshot: true,
            ..Guard::default()
        })
    }

    fn note(&self, line: String) {
        if let Ok(mut l) = self.log.lock() {
            l.push(line);
        }
    }

    fn lines(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn last_document(&self) -> Option<String> {
        self.last_document.lock().ok()?.clone()
    }

    fn framing_of(&self, href: &str) -> Option<Option<String>> {
        self.framing.lock().ok()?.get(href.split('#').next().unwrap_or(href)).cloned()
    }

    fn finish(&self, result: Captured) {
        if let Some(tx) = self.capture.lock().ok().and_then(|mut c| c.take()) {
            let _ = tx.send(result);
        }
        self.changed.notify_one();
    }
}

/// The request to the redirect URI (with the form post body), or why the page ended.
type Captured = Result<(Url, Option<Vec<(String, String)>>), String>;

/// The pages of the harness's, by target id (which is their main frame's id).
type Guards = Arc<std::sync::Mutex<HashMap<String, Arc<Guard>>>>;

/// A page's entry in [`Guards`], removed with the page.
struct Registration {
    guards: Guards,
    id: String,
}

impl Registration {
    fn new(guards: Guards, id: &str, guard: Arc<Guard>) -> Registration {
        if let Ok(mut g) = guards.lock() {
            g.insert(id.to_owned(), guard);
        }
        Registration { guards, id: id.to_owned() }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut g) = self.guards.lock() {
            g.remove(&self.id);
        }
    }
}

/// A page opened by [`Browser::open_page`].
struct Opened {
    session: String,
    guard: Arc<Guard>,
    _registration: Registration,
    _watcher: AbortOnDrop<()>,
}

/// What the interceptor does with a request.
#[derive(Debug, PartialEq)]
enum Verdict {
    Continue,
    /// Fail it: an `Aborted` (the redirect back to the client, captured) or a block.
    Fail(&'static str),
    /// Answer it with the snapshot's document.
    Serve(String),
}

/// The one place every request of every page, frame, worker and window of the
/// browser is decided (`Fetch.enable` on the browser itself): a request of a
/// page of the harness's goes on unless credentials were typed into the page
/// and its origin is not admitted; the redirect back to the client is captured
/// and never sent; anything else (a subframe, a worker, a window a page
/// opened) goes only to an admitted origin.
fn decide(policy: &OriginPolicy, guards: &Guards, params: &Value) -> Verdict {
    let request = &params["request"];
    let url = request["url"].as_str().unwrap_or_default();
    let verb = request["method"].as_str().unwrap_or("GET");
    let kind = params["resourceType"].as_str().unwrap_or_default();
    let frame = params["frameId"].as_str().unwrap_or_default();
    let (guard, main) = {
        let Ok(g) = guards.lock() else {
            return Verdict::Fail("BlockedByClient");
        };
        match g.get(frame) {
            Some(guard) => (Some(guard.clone()), true),
            None => (
                g.values()
                    .find(|guard| guard.frames.lock().is_ok_and(|f| f.contains(frame)))
                    .cloned(),
                false,
            ),
        }
    };
    let blocked = |guard: Option<&Arc<Guard>>, why: String| {
        if let Some(g) = guard {
            g.note(format!(
                "browser: blocked {verb} {} ({kind}): {why}",
                crate::flow::http::redact_str(url)
            ));
        }
        Verdict::Fail("BlockedByClient")
    };
    let Some(guard) = guard else {
        // Not a page of the harness's nor one of its frames: a worker, a window
        // a page opened, a service worker. Only where the policy admits.
        return match policy.admits(url) {
            Ok(()) => Verdict::Continue,
            Err(_) => Verdict::Fail("BlockedByClient"),
        };
    };
    if guard.snapshot {
        if main && kind == "Document" {
            let served = guard.serve.lock().ok().and_then(|mut s| {
                let matches = s.as_ref().is_some_and(|(u, _)| url.split('#').next() == Some(u.as_str()));
                if matches { s.take().map(|(_, body)| body) } else { None }
            });
            return match served {
                Some(body) => Verdict::Serve(body),
                // The snapshot goes nowhere else.
                None => Verdict::Fail("Aborted"),
            };
        }
        if verb != "GET" {
            return Verdict::Fail("Aborted");
        }
        return match policy.admits(url) {
            Ok(()) => Verdict::Continue,
            Err(why) => blocked(None, why),
        };
    }
    if main && guard.redirect_uris.iter().any(|r| url.starts_with(r.as_str())) {
        let fragment = request["urlFragment"].as_str().unwrap_or_default();
        let result = Url::parse(&format!("{url}{fragment}"))
            .map_err(|e| format!("the redirect `{}` does not parse: {e}", crate::flow::http::redact_str(url)))
            .map(|full| {
                guard.note(format!(
                    "browser: {verb} {} (not sent: the redirect back to the client)",
                    crate::flow::http::redact_url(&full)
                ));
                (full, (verb == "POST").then(|| post_body(request)))
            });
        guard.finish(result);
        return Verdict::Fail("Aborted");
    }
    let armed = guard.armed.load(Ordering::SeqCst);
    if armed || !main {
        if let Err(why) = policy.admits(url) {
            let why = if armed {
                format!("{why}, and the credentials were typed into the page")
            } else {
                format!("{why} (a frame of the page)")
            };
            let verdict = blocked(Some(&guard), why);
            if main && kind == "Document" {
                guard.finish(Err(format!(
                    "after the credentials were typed, the page went to {}, which the origin policy does not admit: the request was blocked, nothing was sent",
                    crate::flow::http::redact_str(url)
                )));
            }
            return verdict;
        }
    }
    // Nothing of a sign-in depends on pictures, sounds or fonts: not fetched
    // (a snapshot, above, takes the page as it is).
    if matches!(kind, "Image" | "Media" | "Font") {
        return Verdict::Fail("BlockedByClient");
    }
    if main && kind == "Document" {
        guard.note(format!("browser: {verb} {}", crate::flow::http::redact_str(url)));
        if let Ok(mut l) = guard.last_document.lock() {
            *l = Some(url.to_owned());
        }
    }
    Verdict::Continue
}

/// Stubs for what would carry data around the request interception: run in
/// every document of the harness's pages before the page's own scripts.
const NO_SIDE_CHANNELS: &str = r#"(() => {
  const off = (o, name) => { try { Object.defineProperty(o, name, { value: undefined, writable: false, configurable: false }); } catch (e) {} };
  for (const n of ['WebSocket', 'WebTransport', 'RTCPeerConnection', 'webkitRTCPeerConnection', 'RTCDataChannel', 'SharedWorker']) off(window, n);
  try { if (navigator.serviceWorker) Object.defineProperty(Navigator.prototype, 'serviceWorker', { get: () => undefined, configurable: false }); } catch (e) {}
  try { Object.defineProperty(window, 'open', { value: () => null, writable: false, configurable: false }); } catch (e) {}
  // For the driver: how long the page's DOM has been still (ms).
  try {
    let last = performance.now();
    new MutationObserver(() => { last = performance.now(); }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
    Object.defineProperty(window, '__oidcConformQuietFor', { value: () => performance.now() - last, writable: false, configurable: false });
  } catch (e) {}
})()"#;

/// The forms of the secrets a page may show (any case, spaced, URL-encoded,
/// base64), normalised as the blanking script compares them.
fn needles(secrets: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = secrets
        .iter()
        .filter(|s| s.chars().filter(|c| !c.is_whitespace()).count() >= 4)
        .flat_map(|s| crate::secret::forms(s))
        .map(|f| f.split_whitespace().collect::<String>().to_lowercase())
        .filter(|f| f.len() >= 4)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A task that ends with the page it works for.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A page for [`Browser::given_up_on`]: its origin and path (no query).
fn page_key(u: &Url) -> String {
    format!("{}{}", u.origin().ascii_serialization(), u.path())
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

/// The script that snapshots the page for the oracle
/// ([`crate::login::oracle::live`]): the document serialised after its scripts
/// ran, open shadow roots inline (before the host's own children), each element
/// numbered (`data-oidc-conform-id`, kept in a list on the window, not in the
/// DOM, so that looking does not disturb the page), controls that are not
/// shown marked `data-oidc-conform-hidden`, their text as rendered
/// (`data-oidc-conform-text`: CSS text transforms applied), fields' current values as their
/// `value` (never a password's), checkboxes' current state. Scripts, styles
/// and templates are left out. A document still being parsed gives no
/// snapshot: its controls may not all be there yet (a login whose submit link
/// comes after its fields would look like a login with nothing to press).
const SNAPSHOT: &str = r#"(() => {
  if (document.readyState === 'loading') return null;
  const visible = (e) => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e); return r.width > 0 && r.height > 0 && r.right + scrollX > 0 && r.bottom + scrollY > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const esc = (t) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const q = (t) => t.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);
  const SKIP = new Set(['script', 'style', 'template', 'noscript']);
  const CONTROL = 'input, textarea, select, button, a, [role], li[tabindex], [data-test-id]';
  const nodes = [];
  const out = [];
  const walk = (node) => {
    if (node.nodeType === 3) { out.push(esc(node.nodeValue)); return; }
    if (node.nodeType !== 1) return;
    const tag = node.localName;
    if (SKIP.has(tag) || !/^[a-z][a-z0-9-]*$/.test(tag)) return;
    const id = nodes.length;
    nodes.push(node);
    let attrs = '';
    for (const a of node.attributes) {
      if (a.name.startsWith('data-oidc-conform') || !/^[a-z_:][-a-z0-9_:.]*$/i.test(a.name)) continue;
      if ((tag === 'input' || tag === 'textarea') && (a.name === 'value' || a.name === 'checked')) continue;
      attrs += ' ' + a.name + '="' + q(a.value) + '"';
    }
    attrs += ' data-oidc-conform-id="' + id + '"';
    if (tag === 'input' && node.type !== 'password' && node.value) attrs += ' value="' + q(node.value) + '"';
    if (tag === 'input' && node.checked) attrs += ' checked';
    if (node.disabled && !node.hasAttribute('disabled')) attrs += ' disabled';
    if (node.matches(CONTROL)) { if (!visible(node)) attrs += ' data-oidc-conform-hidden'; if (node.innerText) attrs += ' data-oidc-conform-text="' + q(node.innerText) + '"'; }
    out.push('<' + tag + attrs + '>');
    if (tag === 'textarea') out.push(esc(node.value || ''));
    else {
      if (node.shadowRoot) for (const c of node.shadowRoot.childNodes) walk(c);
      for (const c of node.childNodes) walk(c);
    }
    if (!VOID.has(tag)) out.push('</' + tag + '>');
  };
  if (document.documentElement) walk(document.documentElement);
  try { Object.defineProperty(window, '__oidcConformNodes', { value: nodes, writable: true, configurable: true }); } catch (e) {}
  return { href: location.href, html: out.join('') };
})()"#;

/// Finds an element by CSS selector in the document or any open shadow root.
const DEEP: &str = r#"const deep = (sel) => { const look = (root) => { const e = root.querySelector(sel); if (e) return e; for (const h of root.querySelectorAll('*')) { if (h.shadowRoot) { const f = look(h.shadowRoot); if (f) return f; } } return null; }; return look(document); };"#;

/// Marks the elements the oracle chose (name → snapshot number) with
/// `data-oidc-conform`, for typing and pressing; old marks go first.
const MARK: &str = r#"((marks) => {
  const clear = (root) => { root.querySelectorAll('[data-oidc-conform]').forEach((e) => e.removeAttribute('data-oidc-conform')); root.querySelectorAll('*').forEach((h) => { if (h.shadowRoot) clear(h.shadowRoot); }); };
  clear(document);
  const nodes = window.__oidcConformNodes || [];
  let all = true;
  for (const [name, id] of Object.entries(marks)) { const e = nodes[Number(id)]; if (e && e.isConnected) e.setAttribute('data-oidc-conform', name); else all = false; }
  return all;
})"#;

/// Sets the consent page's scope boxes: (requested scopes, approved scopes or
/// null for all). A box stands for a scope when its value, name or id names
/// the scope as a word, or else its label does. Approving all also ticks the
/// boxes that stand for no requested scope (as the form driver does). Answers
/// which scopes it ticked, which it left unticked, which have no box, and how
/// many boxes stand for no requested scope.
const CONSENT_BOXES: &str = r#"((requested, approved) => {
  const boxes = [...document.querySelectorAll('input[type=checkbox], [role=checkbox], [role=switch]')].filter((e) => !e.disabled && e.getAttribute('aria-disabled') !== 'true');
  const word = (text, s) => new RegExp('(^|[^a-z0-9])' + s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '($|[^a-z0-9])', 'i').test(text || '');
  const label = (e) => [...(e.labels || [])].map((l) => l.innerText).join(' ') + ' ' + (e.getAttribute('aria-label') || '') + ' ' + ((e.closest('label, li, tr, [role=listitem]') || {}).innerText || '');
  const own = (e) => [e.value, e.name, e.id, e.getAttribute('data-scope')].join(' ');
  const checked = (e) => (e.matches('input') ? e.checked : e.getAttribute('aria-checked') === 'true');
  const used = new Set();
  const out = { ticked: [], unticked: [], missing: [], unmapped: 0 };
  for (const s of requested) {
    const b = boxes.find((e) => !used.has(e) && word(own(e), s)) || boxes.find((e) => !used.has(e) && word(label(e), s));
    if (!b) { out.missing.push(s); continue; }
    used.add(b);
    const want = approved === null || approved.includes(s);
    if (checked(b) !== want) b.click();
    (want ? out.ticked : out.unticked).push(s);
  }
  // Approving all: every other box ticked too (as the form driver does), so that
  // nothing the page offers is left out; approving some: the others as they were.
  const others = boxes.filter((e) => !used.has(e));
  out.unmapped = others.length;
  if (approved === null) others.forEach((e) => { if (!checked(e)) { e.click(); out.others_ticked = (out.others_ticked || 0) + 1; } });
  return out;
})"#;

/// The text of the page, for evidence.
const PAGE_TEXT: &str = r#"(() => ((document.title ? document.title + ' — ' : '') + (document.body ? document.body.innerText : '')).replace(/\s+/g, ' ').trim().slice(0, 2000))()"#;

/// One browser tab (a CDP session).
struct Page {
    conn: Arc<Connection>,
    session: String,
    /// The credentials' forms, blanked on the page before a screenshot.
    secrets: Vec<String>,
    guard: Arc<Guard>,
}

impl Page {
    /// The page `opened`, with `secrets` to blank before a screenshot.
    fn of(conn: &Arc<Connection>, opened: &Opened, secrets: &[&str]) -> Page {
        Page {
            conn: conn.clone(),
            session: opened.session.clone(),
            secrets: needles(secrets),
            guard: opened.guard.clone(),
        }
    }

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

    /// What is on the page: the oracle's answer on a snapshot of it, the
    /// elements it chose marked for typing and pressing, as JSON (`href`,
    /// `kind`, `user`, `submit`, `approve`, `deny`, `press`, `signature`);
    /// null when the page does not answer.
    async fn look(&self, selectors: &crate::login::form::Selectors, account: Option<&str>) -> Value {
        let snap = match tokio::time::timeout(Duration::from_secs(3), self.evaluate(SNAPSHOT)).await {
            Ok(Ok(v)) if v.is_object() => v,
            _ => return Value::Null,
        };
        let html = snap["html"].as_str().unwrap_or_default();
        let Ok(page_url) = Url::parse(snap["href"].as_str().unwrap_or_default()) else {
            return Value::Null;
        };
        let live = crate::login::oracle::live(html, &page_url, selectors, account);
        let mut marks = serde_json::Map::new();
        for (name, id) in [
            ("user", &live.user),
            ("password", &live.password),
            ("submit", &live.submit),
            ("approve", &live.approve),
            ("deny", &live.deny),
            ("account", &live.account),
        ] {
            if let Some(id) = id {
                marks.insert(name.to_owned(), json!(id));
            }
        }
        if live.kind != "none" {
            let call = format!("({MARK})({})", Value::Object(marks));
            match tokio::time::timeout(Duration::from_secs(3), self.evaluate(&call)).await {
                Ok(Ok(Value::Bool(true))) => {}
                _ => return Value::Null,
            }
        }
        json!({
            "href": snap["href"],
            "kind": live.kind,
            "user": live.user.is_some(),
            "submit": live.submit.is_some(),
            "approve": live.approve.is_some(),
            "deny": live.deny.is_some(),
            "press": live.press,
            "signature": live.signature,
        })
    }

    /// Types `text` into the marked field, replacing what is there.
    async fn type_into(&self, mark: &str, text: &str) -> Result<(), String> {
        let focused = self
            .evaluate(&format!(
                "(() => {{ {DEEP} const e = deep('[data-oidc-conform={mark}]'); if (!e) return false; e.focus(); e.select && e.select(); return true; }})()"
            ))
            .await?;
        if focused != true {
            return Err(format!("the {mark} field went away before it could be filled in"));
        }
        self.call("Input.insertText", json!({"text": text})).await?;
        Ok(())
    }

    /// Whether the page has settled: its document loaded, no navigation under
    /// way, and its DOM still for a while with no request of its own under way
    /// (or still for 8 s, within the 10 s a page may idle, for one that keeps a connection open).
    async fn settled(&self, guard: &Guard) -> bool {
        if guard.loading.load(Ordering::SeqCst) {
            return false;
        }
        let state = tokio::time::timeout(
            Duration::from_secs(2),
            self.evaluate(
                "(() => ({ ready: document.readyState, quiet: window.__oidcConformQuietFor ? window.__oidcConformQuietFor() : 0 }))()",
            ),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(Value::Null);
        let quiet = state["quiet"].as_f64().unwrap_or(0.0);
        let idle = guard.inflight.lock().map(|f| f.is_empty()).unwrap_or(false);
        // A request of the page still under way (an answer the app waits for,
        // slow on a loaded machine) holds the verdict much longer than the DOM
        // alone: a page is an end only when nothing is coming.
        state["ready"] == "complete" && ((idle && quiet >= 700.0) || quiet >= 8_000.0)
    }

    /// Whether the page holds a form that posts to one of `redirect_uris` (a
    /// form_post response page about to submit itself): never an end.
    async fn posts_to(&self, redirect_uris: &[String]) -> bool {
        let uris = serde_json::to_string(redirect_uris).unwrap_or_else(|_| "[]".into());
        let call =
            format!("((uris) => [...document.forms].some((f) => uris.some((u) => u && String(f.action || '').startsWith(u))))({uris})");
        matches!(
            tokio::time::timeout(Duration::from_secs(2), self.evaluate(&call)).await,
            Ok(Ok(Value::Bool(true)))
        )
    }

    /// Presses the marked button (or submits the field's form when there is none).
    /// Forms and links lose their `target` first: nothing opens another window.
    async fn press(&self, mark: &str) -> Result<(), String> {
        self.evaluate(&format!(
            "(() => {{ document.querySelectorAll('form[target], a[target], button[formtarget], input[formtarget]').forEach((x) => {{ x.removeAttribute('target'); x.removeAttribute('formtarget'); }}); {DEEP} const e = deep('[data-oidc-conform={mark}]'); if (e) {{ e.click(); return true; }} const f = deep('[data-oidc-conform=password], [data-oidc-conform=user]'); if (f && f.form) {{ f.form.requestSubmit ? f.form.requestSubmit() : f.form.submit(); return true; }} return false; }})()"
        ))
        .await?;
        Ok(())
    }

    /// A failure with the page's screenshot and text: a script that keeps the
    /// page busy is stopped first, and every form of a credential the page
    /// shows (password fields, text, values, the title) is blanked before the
    /// screenshot; each step is bounded in time.
    async fn failure(&self, message: &str) -> Failure {
        const STEP: Duration = Duration::from_secs(5);
        let bounded = |m: &'static str, p: Value| tokio::time::timeout(STEP, self.call(m, p));
        let _ = bounded("Runtime.terminateExecution", json!({})).await;
        let blank = format!(
            "({BLANK})({})",
            serde_json::to_string(&self.secrets).unwrap_or_else(|_| "[]".into())
        );
        let blanked = matches!(tokio::time::timeout(STEP, self.evaluate(&blank)).await, Ok(Ok(Value::Bool(true))));
        // Without the page's word that it is blanked, no screenshot.
        let screenshot = if blanked {
            bounded("Page.captureScreenshot", json!({"format": "png"}))
                .await
                .ok()
                .and_then(Result::ok)
                .and_then(|v| {
                    v["data"]
                        .as_str()
                        .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
                })
        } else {
            None
        };
        let text = tokio::time::timeout(STEP, self.evaluate(PAGE_TEXT))
            .await
            .ok()
            .and_then(Result::ok)
            .and_then(|v| v.as_str().map(crate::secret::scrub));
        let text = match (text, self.guard.last_document()) {
            (Some(t), _) if !t.is_empty() => Some(t),
            (_, Some(url)) => Some(format!("(the page at {} gave no text)", crate::flow::http::redact_str(&url))),
            (t, None) => t,
        };
        Failure {
            message: crate::secret::scrub(message),
            not_applicable: false,
            terminal: None,
            screenshot,
            text,
            steps: Vec::new(),
        }
    }
}

/// Blanks every form of the credentials on the page (needles: normalised,
/// lower case without white space): password fields, fields, placeholders and
/// text nodes that hold one, the smallest elements whose text holds one across
/// child elements, and the title. Answers `true` when done.
const BLANK: &str = r#"((needles) => {
  const norm = (s) => (s || '').replace(/\s+/g, '').toLowerCase();
  const hit = (s) => { const n = norm(s); return n.length > 0 && needles.some((x) => n.includes(x)); };
  for (const e of document.querySelectorAll('input, textarea, select')) {
    if (e.type === 'password' || hit(e.value)) e.value = '';
    if (hit(e.placeholder)) e.placeholder = '';
  }
  if (needles.length === 0) return true;
  if (hit(document.title)) document.title = '[redacted]';
  // In each text node: the credential in any case, with or without white space between its characters.
  const esc = (c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const res = needles.map((x) => new RegExp([...x].map(esc).join('\\s*'), 'gi'));
  const walk = document.createTreeWalker(document.documentElement || document, NodeFilter.SHOW_TEXT);
  const texts = [];
  while (walk.nextNode()) if (hit(walk.currentNode.nodeValue)) texts.push(walk.currentNode);
  texts.forEach((n) => {
    let v = n.nodeValue;
    for (const re of res) v = v.replace(re, '[redacted]');
    n.nodeValue = hit(v) ? '[redacted]' : v;
  });
  const all = document.body ? [...document.body.querySelectorAll('*')].reverse() : [];
  for (const e of all) {
    if (hit(e.textContent) && ![...e.children].some((c) => hit(c.textContent))) e.textContent = '[redacted]';
    for (const a of ['title', 'alt', 'aria-label', 'value', 'data-value']) if (e.hasAttribute && e.hasAttribute(a) && hit(e.getAttribute(a))) e.setAttribute(a, '');
  }
  if (document.body && hit(document.body.textContent)) document.body.textContent = '[redacted]';
  return true;
})"#;

type Pending = HashMap<u64, oneshot::Sender<Result<Value, String>>>;
type Subscribers = HashMap<String, mpsc::UnboundedSender<(String, Value)>>;

/// The pipe to the browser: commands by id, events by session. Messages are
/// JSON, each ended by a NUL byte.
struct Connection {
    out: std::sync::Mutex<Option<std::sync::mpsc::Sender<Vec<u8>>>>,
    next_id: AtomicU64,
    pending: Arc<std::sync::Mutex<Pending>>,
    subscribers: Arc<std::sync::Mutex<Subscribers>>,
}

/// Messages from the browser larger than this end the connection.
const MAX_MESSAGE: usize = 256 << 20;

impl Connection {
    fn open(to_browser: std::fs::File, from_browser: std::fs::File) -> Arc<Connection> {
        let (out, rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let pending: Arc<std::sync::Mutex<Pending>> = Arc::default();
        let subscribers: Arc<std::sync::Mutex<Subscribers>> = Arc::default();
        std::thread::spawn(move || {
            use std::io::Write as _;
            let mut to_browser = to_browser;
            // Ends when every sender is gone (the connection closed): the pipe closes with it.
            while let Ok(mut m) = rx.recv() {
                m.push(0);
                if to_browser.write_all(&m).is_err() {
                    break;
                }
            }
        });
        let (p, s) = (pending.clone(), subscribers.clone());
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            let mut reader = std::io::BufReader::with_capacity(1 << 16, from_browser);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match std::io::Read::take(&mut reader, MAX_MESSAGE as u64).read_until(0, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if buf.last() != Some(&0) {
                    // Too long, or cut off: the connection is not usable any more.
                    break;
                }
                buf.pop();
                let Ok(v) = serde_json::from_slice::<Value>(&buf) else {
                    continue;
                };
                if let Some(id) = v["id"].as_u64() {
                    let tx = p.lock().ok().and_then(|mut p| p.remove(&id));
                    if let Some(tx) = tx {
                        let result = match v.get("error") {
                            Some(e) => Err(format!("the browser refused: {}", e["message"].as_str().unwrap_or("an error"))),
                            None => Ok(v["result"].clone()),
                        };
                        let _ = tx.send(result);
                    }
                } else if let Some(method) = v["method"].as_str()
                    && let Ok(subs) = s.lock()
                    && let Some(tx) = subs.get(v["sessionId"].as_str().unwrap_or_default())
                {
                    let _ = tx.send((method.to_owned(), v["params"].clone()));
                }
            }
            // The browser went away: every waiting command fails.
            if let Ok(mut p) = p.lock() {
                for (_, tx) in p.drain() {
                    let _ = tx.send(Err("the browser closed its connection".into()));
                }
            }
        });
        Arc::new(Connection {
            out: std::sync::Mutex::new(Some(out)),
            next_id: AtomicU64::new(1),
            pending,
            subscribers,
        })
    }

    /// Closes the pipe to the browser (which then exits).
    fn close(&self) {
        if let Ok(mut o) = self.out.lock() {
            o.take();
        }
    }

    async fn subscribe(&self, session: &str) -> mpsc::UnboundedReceiver<(String, Value)> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.subscribe_with(session, tx);
        rx
    }

    /// Events of `session` go to `tx` too (a frame or worker of a page goes to the page's handler).
    fn subscribe_with(&self, session: &str, tx: mpsc::UnboundedSender<(String, Value)>) {
        if let Ok(mut s) = self.subscribers.lock() {
            s.insert(session.to_owned(), tx);
        }
    }

    async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = Value::String(s.to_owned());
        }
        let (tx, rx) = oneshot::channel();
        if let Ok(mut p) = self.pending.lock() {
            p.insert(id, tx);
        }
        let sent = self
            .out
            .lock()
            .ok()
            .and_then(|o| o.as_ref().map(|o| o.send(msg.to_string().into_bytes()).is_ok()))
            .unwrap_or(false);
        if !sent {
            if let Ok(mut p) = self.pending.lock() {
                p.remove(&id);
            }
            return Err(format!("{method}: the browser connection is closed"));
        }
        match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
            Ok(Ok(r)) => r.map_err(|e| format!("{method}: {e}")),
            Ok(Err(_)) => Err(format!("{method}: the browser connection is closed")),
            Err(_) => {
                if let Ok(mut p) = self.pending.lock() {
                    p.remove(&id);
                }
                Err(format!("{method}: the browser did not answer within {COMMAND_TIMEOUT:?}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_pages_setting_is_a_number_from_1_to_64_or_said() {
        assert_eq!(pages_setting(None, 2), Ok(2));
        assert_eq!(pages_setting(Some("4"), 2), Ok(4));
        assert_eq!(pages_setting(Some(" 8 "), 2), Ok(8));
        for bad in ["0", "65", "-1", "four", "", "2\u{1b}[31m"] {
            let why = pages_setting(Some(bad), 2).unwrap_err();
            assert!(why.contains("OIDC_CONFORM_BROWSER_PAGES") && why.contains("from 1 to 64"), "{why}");
            assert!(!why.contains('\u{1b}'), "control characters are escaped: {why}");
        }
    }

    use super::*;

    #[test]
    fn a_form_post_body_is_decoded() {
        let r = json!({"method": "POST", "postData": "code=abc&state=s%201"});
        assert_eq!(post_body(&r), [("code".into(), "abc".into()), ("state".into(), "s 1".into())]);
        let r = json!({"method": "POST", "postDataEntries": [{"bytes": base64::engine::general_purpose::STANDARD.encode("state=x")}]});
        assert_eq!(post_body(&r), [("state".to_owned(), "x".to_owned())]);
    }

    #[test]
    fn a_page_of_the_harness_gets_no_pictures_sounds_or_fonts() {
        let policy = OriginPolicy {
            origins: vec!["http://127.0.0.1:9".into()],
            allow_http: false,
        };
        let guards: Guards = Arc::default();
        if let Ok(mut g) = guards.lock() {
            g.insert("page".into(), Arc::new(Guard::default()));
        }
        let request = |kind: &str, url: &str| json!({"request": {"url": url, "method": "GET"}, "resourceType": kind, "frameId": "page"});
        for kind in ["Image", "Media", "Font"] {
            assert!(
                matches!(
                    decide(&policy, &guards, &request(kind, "http://127.0.0.1:9/logo.png")),
                    Verdict::Fail(_)
                ),
                "{kind}"
            );
        }
        for kind in ["Document", "Script", "Stylesheet", "XHR", "Fetch"] {
            assert!(
                matches!(decide(&policy, &guards, &request(kind, "http://127.0.0.1:9/x")), Verdict::Continue),
                "{kind}"
            );
        }
    }

    #[test]
    fn the_driver_setting_reads_from_yaml() {
        let d: Driver = serde_json::from_value(json!("browser")).unwrap();
        assert_eq!(d, Driver::Browser);
        assert_eq!(Driver::default(), Driver::Auto);
    }
}
