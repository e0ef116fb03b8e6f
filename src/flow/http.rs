//! HTTP for the flow engine: clients with no automatic redirects, every body
//! read with a size cap, every request bounded in time.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use url::Url;

/// Caps on what a provider can make the harness read.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Per request: connect, and the whole response (`http.timeout`).
    pub timeout: Duration,
    /// Per case: the whole flow (`http.case_timeout`).
    pub case_timeout: Duration,
    /// Largest response body read (`http.max_body`).
    pub max_body: usize,
    /// Redirects and login/consent steps followed in one authorization (`http.max_redirects`).
    pub max_redirects: usize,
    /// Retries of a request answered 429 or 503 (`http.retries`), honouring `Retry-After`.
    pub retries: u32,
    /// Most keys accepted in a JWKS (`http.max_jwks_keys`).
    pub max_jwks_keys: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            case_timeout: Duration::from_secs(60),
            max_body: 1024 * 1024,
            max_redirects: 20,
            retries: 2,
            max_jwks_keys: 100,
        }
    }
}

/// Longest `Retry-After` honoured; longer waits end the request.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// A response read in full (up to the cap).
#[derive(Clone, Debug)]
pub struct Response {
    pub url: Url,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, or an error saying what came instead.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let ct = self.header("content-type").unwrap_or("no content type");
            format!(
                "{} answered {} ({ct}) with a body that is not JSON: {e}",
                self.url.path(),
                self.status
            )
        })
    }
}

/// A transport-level failure: the request did not produce a usable response.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("request to {url} failed: {reason}")]
    Transport { url: String, reason: String },
    #[error("request to {url} timed out after {secs:.1} s (limit: http.timeout in the profile)")]
    Timeout { url: String, secs: f64 },
    #[error("response from {url} is larger than {limit} bytes (limit: http.max_body in the profile)")]
    TooLarge { url: String, limit: usize },
}

/// Builds a client: redirects never followed automatically, no cookie store (the
/// flow engine keeps a cookie jar per case), TLS as configured.
/// TLS settings: certificates are verified (rustls) unless `insecure`.
#[derive(Clone, Debug, Default)]
pub struct Tls {
    /// PEM certificates of a private CA to trust besides the system's (`--ca-file`, `http.ca_file`).
    pub ca_pem: Option<std::sync::Arc<Vec<u8>>>,
    /// Accept any certificate (`--insecure`): loud, and recorded in the report.
    pub insecure: bool,
}

/// Reads a private CA file (`--ca-file`, `http.ca_file`): PEM certificates,
/// at least one; else why not (the file cannot be read, is not PEM, holds none).
pub fn read_ca_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read the CA file `{}`: {e}", path.display()))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Err(e) => {
            // reqwest says "builder error"; the cause is underneath.
            let mut why = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                why = cause.to_string();
                source = cause.source();
            }
            Err(format!("the CA file `{}` is not PEM certificates: {why}", path.display()))
        }
        Ok(certs) if certs.is_empty() => Err(format!("no certificate in the CA file `{}`", path.display())),
        Ok(_) => Ok(pem),
    }
}

pub fn client(limits: &Limits, tls: &Tls) -> Result<reqwest::Client, HttpError> {
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(limits.timeout)
        .timeout(limits.timeout)
        .no_proxy()
        .user_agent(concat!("oidc-conform/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = &tls.ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| HttpError::Transport {
            url: String::new(),
            reason: format!("the CA file is not PEM certificates: {e}"),
        })?;
        b = b.tls_certs_merge(certs);
    }
    if tls.insecure {
        b = b.tls_danger_accept_invalid_certs(true);
    }
    b.build().map_err(|e| HttpError::Transport {
        url: String::new(),
        reason: e.to_string(),
    })
}

/// Sends a request and reads the body up to `limits.max_body`; a 429 or 503 is
/// retried up to `limits.retries` times after its `Retry-After` (RFC 9110 §10.2.3).
pub async fn send(breaker: &Guard, req: reqwest::RequestBuilder, url: &Url, limits: &Limits) -> Result<Response, HttpError> {
    let mut attempt = 0;
    let mut req = req;
    loop {
        let retry = req.try_clone();
        breaker.wait_turn().await;
        let resp = match send_once(req, url, limits).await {
            Ok(r) => {
                breaker.success(url);
                r
            }
            Err(e) => {
                if matches!(e, HttpError::Transport { .. } | HttpError::Timeout { .. }) {
                    breaker.failure(url);
                }
                return Err(e);
            }
        };
        let busy = matches!(resp.status.as_u16(), 429 | 503);
        match (busy, retry) {
            (true, Some(next)) if attempt < limits.retries => {
                let wait = retry_after(&resp).unwrap_or(Duration::from_millis(500 * (1 << attempt)));
                if wait > MAX_RETRY_AFTER {
                    return Ok(resp);
                }
                tokio::time::sleep(wait).await;
                attempt += 1;
                req = next;
            }
            _ => return Ok(resp),
        }
    }
}

/// `Retry-After` as seconds (the HTTP-date form is taken as "later than we wait").
fn retry_after(resp: &Response) -> Option<Duration> {
    let v = resp.header("retry-after")?.trim();
    match v.parse::<u64>() {
        Ok(secs) => Some(Duration::from_secs(secs)),
        Err(_) => Some(MAX_RETRY_AFTER + Duration::from_secs(1)),
    }
}

async fn send_once(req: reqwest::RequestBuilder, url: &Url, limits: &Limits) -> Result<Response, HttpError> {
    let shown = redact_url(url);
    let fut = async {
        let mut resp = req.send().await.map_err(|e| transport(&shown, e, limits.timeout))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let final_url = resp.url().clone();
        if let Some(len) = resp.content_length()
            && len as usize > limits.max_body
        {
            return Err(HttpError::TooLarge {
                url: shown.clone(),
                limit: limits.max_body,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport(&shown, e, limits.timeout))? {
            if body.len() + chunk.len() > limits.max_body {
                return Err(HttpError::TooLarge {
                    url: shown.clone(),
                    limit: limits.max_body,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            url: final_url,
            status,
            headers,
            body,
        })
    };
    match tokio::time::timeout(limits.timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(HttpError::Timeout {
            url: shown,
            secs: limits.timeout.as_secs_f64(),
        }),
    }
}

/// A GET of `url`.
pub async fn get(client: &reqwest::Client, breaker: &Guard, url: &Url, limits: &Limits) -> Result<Response, HttpError> {
    send(breaker, client.request(Method::GET, url.clone()), url, limits).await
}

/// Politeness towards one provider: a rate limit on requests (`--rate`), and a
/// circuit breaker: after [`Guard::THRESHOLD`] requests in a row that could not
/// reach the provider (refused, reset, timed out), the run stops trying, so a dead
/// provider ends the run quickly instead of with one timeout per case.
#[derive(Default)]
pub struct Guard {
    /// Requests in a row that could not reach the provider, per endpoint
    /// (origin and path): a token endpoint that hangs trips the breaker even
    /// while the authorization endpoint answers.
    consecutive: std::sync::Mutex<std::collections::HashMap<String, u32>>,
    limiter: Option<governor::DefaultDirectRateLimiter>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("consecutive", &self.consecutive)
            .field("rate_limited", &self.limiter.is_some())
            .finish()
    }
}

/// A request rate: `count` requests per `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl std::str::FromStr for Rate {
    type Err = String;
    /// `10/s`, `600/m`.
    fn from_str(s: &str) -> Result<Rate, String> {
        let err = || format!("`{s}` is not a rate: write requests per second or minute, e.g. `10/s` or `600/m`");
        let (n, unit) = s.trim().split_once('/').ok_or_else(err)?;
        let count: u32 = n.trim().parse().map_err(|_| err())?;
        let per = match unit.trim() {
            "s" | "sec" => Duration::from_secs(1),
            "m" | "min" => Duration::from_secs(60),
            _ => return Err(err()),
        };
        if count == 0 {
            return Err(err());
        }
        Ok(Rate { count, per })
    }
}

impl Guard {
    pub const THRESHOLD: u32 = 5;

    /// A guard that also spaces requests to at most `rate`.
    pub fn with_rate(rate: Option<Rate>) -> Guard {
        let limiter = rate.and_then(|r| {
            let count = std::num::NonZeroU32::new(r.count)?;
            let quota = governor::Quota::with_period(r.per / r.count)?.allow_burst(count.min(std::num::NonZeroU32::new(5)?));
            Some(governor::RateLimiter::direct(quota))
        });
        Guard {
            consecutive: Default::default(),
            limiter,
        }
    }

    async fn wait_turn(&self) {
        if let Some(l) = &self.limiter {
            l.until_ready().await;
        }
    }

    fn endpoint(url: &Url) -> String {
        format!("{}{}", url.origin().ascii_serialization(), url.path())
    }

    fn success(&self, url: &Url) {
        if let Ok(mut m) = self.consecutive.lock() {
            m.remove(&Self::endpoint(url));
        }
    }

    fn failure(&self, url: &Url) {
        if let Ok(mut m) = self.consecutive.lock() {
            *m.entry(Self::endpoint(url)).or_insert(0) += 1;
        }
    }

    /// `Some((n, endpoint))` when `n` requests in a row to one endpoint have
    /// failed to reach the provider.
    pub fn open(&self) -> Option<(u32, String)> {
        let m = self.consecutive.lock().ok()?;
        m.iter()
            .filter(|(_, n)| **n >= Self::THRESHOLD)
            .max_by_key(|(_, n)| **n)
            .map(|(e, n)| (*n, e.clone()))
    }
}

fn transport(url: &str, e: reqwest::Error, limit: Duration) -> HttpError {
    if e.is_timeout() {
        return HttpError::Timeout {
            url: url.to_owned(),
            secs: limit.as_secs_f64(),
        };
    }
    // reqwest's own Display repeats the full URL (query included): leave it out;
    // the chain of sources says why.
    let e = e.without_url();
    let mut reason = String::new();
    let mut src: Option<&dyn std::error::Error> = Some(&e);
    while let Some(s) = src {
        let text = s.to_string();
        if !reason.contains(&text) {
            if !reason.is_empty() {
                reason.push_str(": ");
            }
            reason.push_str(&text);
        }
        src = s.source();
    }
    HttpError::Transport {
        url: url.to_owned(),
        reason: crate::secret::scrub(&reason),
    }
}

/// Query and fragment parameters whose values are credentials, codes or tokens.
/// A parameter whose value is a credential (password, secret, code, token).
pub(crate) fn sensitive(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "code" | "pw" | "pwd" | "pin" | "otp" | "assertion" | "client_assertion" | "session_state" | "sid"
        // The device authorization grant's codes (RFC 8628 §3.2).
        | "device_code" | "user_code"
        // A request object: a JWT that may carry an id_token_hint.
        | "request"
    ) || ["pass", "secret", "token", "verifier", "credential", "key"]
        .iter()
        .any(|w| n.contains(w))
}

/// A URL for messages — the one redaction point for URLs: the values of
/// credential-bearing parameters (passwords, secrets, codes, tokens) in the
/// query and fragment, and any password in the authority, become `[redacted]`,
/// and every credential of the profile is scrubbed from what is left.
pub fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("redacted"));
    }
    if let Some(q) = u.query().map(str::to_owned) {
        u.set_query(Some(&redact_pairs(&q, 0)));
    }
    if let Some(f) = u.fragment().map(str::to_owned) {
        u.set_fragment(Some(&redact_pairs(&f, 0)));
    }
    crate::secret::scrub(u.as_str())
}

/// `k=v&…` with the values of sensitive keys redacted, also where another
/// value smuggles a query of its own (`tenant=acme?code=…`, `next=/cb%3Fcode%3D…`).
fn redact_pairs(text: &str, depth: usize) -> String {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| {
            let k_enc: String = url::form_urlencoded::byte_serialize(k.as_bytes()).collect();
            if sensitive(&k) {
                format!("{k_enc}=[redacted]")
            } else {
                let v = if v.contains('=') && depth < 4 {
                    // The part after a `?` or `#` (or the whole value) read as pairs of its own.
                    match v.find(['?', '#']) {
                        Some(i) => format!("{}{}{}", &v[..i], &v[i..=i], redact_pairs(&v[i + 1..], depth + 1)),
                        None => redact_pairs(&v, depth + 1),
                    }
                } else {
                    v.into_owned()
                };
                format!("{k_enc}={}", url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>())
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A URL-ish string for messages (e.g. a `Location` that does not parse):
/// through [`redact_url`] when it parses, else cut before its query or fragment.
pub fn redact_str(text: &str) -> String {
    match Url::parse(text) {
        Ok(u) => redact_url(&u),
        Err(_) => {
            let cut = text.find(['?', '#']).unwrap_or(text.len());
            let shown: String = text[..cut].chars().take(200).collect();
            let rest = if cut < text.len() { "?[redacted]" } else { "" };
            crate::secret::scrub(&format!("{shown}{rest}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_messages_keep_no_credentials() {
        let u =
            Url::parse("https://u:pw@idp.test/login?username=jane&password=hunter2&state=s1#access_token=at&token_type=Bearer").unwrap();
        let shown = redact_url(&u);
        assert!(
            !shown.contains("hunter2") && !shown.contains("access_token=at") && !shown.contains(":pw@"),
            "{shown}"
        );
        assert!(
            shown.contains("username=jane") && shown.contains("state=s1") && shown.contains("token_type="),
            "{shown}"
        );
        // A code smuggled into another parameter's value.
        for smuggled in [
            "https://idp.test/cb?tenant=acme%3Fcode%3Dsmuggled-code-1",
            "https://idp.test/cb?next=%2Fcb%3Fstate%3Dx%26code%3Dsmuggled-code-1",
            "https://idp.test/cb?tenant=acme?code=smuggled-code-1",
            "https://idp.test/cb#x=y%23access_token%3Dsmuggled-code-1",
        ] {
            let shown = redact_url(&Url::parse(smuggled).unwrap());
            assert!(!shown.contains("smuggled-code-1"), "{smuggled} → {shown}");
        }
        let shown = redact_str("not a url?code=abc123");
        assert!(!shown.contains("abc123"), "{shown}");
    }

    #[test]
    fn rates_parse() {
        assert_eq!(
            "10/s".parse::<Rate>().unwrap(),
            Rate {
                count: 10,
                per: Duration::from_secs(1)
            }
        );
        assert_eq!(
            "600/m".parse::<Rate>().unwrap(),
            Rate {
                count: 600,
                per: Duration::from_secs(60)
            }
        );
        for bad in ["10", "0/s", "x/s", "10/h"] {
            assert!(bad.parse::<Rate>().unwrap_err().contains("is not a rate"), "{bad}");
        }
        assert!(Guard::with_rate(Some("10/s".parse().unwrap())).limiter.is_some());
        assert!(Guard::with_rate(None).limiter.is_none());
    }
}
