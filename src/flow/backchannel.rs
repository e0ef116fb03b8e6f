//! The harness's back-channel logout receiver (OIDC Back-Channel Logout 1.0):
//! the `backchannel_logout_uri` a case registers for its client, served on
//! 127.0.0.1 only. It keeps what each POST carried (its content type, the
//! `logout_token`, the names of any other parameters) for the case to judge,
//! and answers 200 with `Cache-Control: no-store` (§2.8) whatever came: the
//! judging is the checks' job, not the receiver's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::secret::Secret;

/// What one POST to a case's back-channel logout URI carried.
#[derive(Clone, Debug)]
pub struct Received {
    /// The request's `Content-Type`, as sent.
    pub content_type: Option<String>,
    /// The `logout_token` form parameter (§2.5), when there was one.
    pub logout_token: Option<Secret>,
    /// The names of the other form parameters (§2.5: the OP MAY send others).
    pub other_params: Vec<String>,
}

#[derive(Default)]
struct Inbox {
    by_id: Mutex<HashMap<String, Vec<Received>>>,
    /// The path handed out last for each case and issuer.
    latest: Mutex<HashMap<String, String>>,
}

/// The receiver: its address and what it received.
pub struct Receiver {
    addr: SocketAddr,
    inbox: Arc<Inbox>,
}

/// The receiver, started on first use on 127.0.0.1 (a free port), on a thread
/// and runtime of its own for the life of the process (it outlives the runtime
/// of whichever caller started it).
pub fn receiver() -> Result<&'static Receiver, String> {
    static RECEIVER: OnceLock<Result<Receiver, String>> = OnceLock::new();
    RECEIVER.get_or_init(start).as_ref().map_err(Clone::clone)
}

fn start() -> Result<Receiver, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot open the back-channel logout receiver on 127.0.0.1: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let inbox = Arc::new(Inbox::default());
    let app = axum::Router::new()
        .route("/backchannel-logout/{id}", axum::routing::post(receive))
        .with_state(inbox.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the back-channel logout receiver: {e}"))?;
    std::thread::Builder::new()
        .name("backchannel-logout".into())
        .spawn(move || {
            runtime.block_on(async move {
                if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                    let _ = axum::serve(listener, app).await;
                }
            });
        })
        .map_err(|e| format!("cannot start the back-channel logout receiver: {e}"))?;
    Ok(Receiver { addr, inbox })
}

/// At most this many POSTs are kept per URI (a provider that floods is judged on these).
const KEPT: usize = 16;

async fn receive(State(inbox): State<Arc<Inbox>>, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(200).collect());
    let mut logout_token = None;
    let mut other_params = Vec::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        if k == "logout_token" && logout_token.is_none() {
            logout_token = Some(Secret::new(v.into_owned()));
        } else if other_params.len() < 16 {
            other_params.push(k.chars().take(100).collect());
        }
    }
    {
        let mut by_id = inbox.by_id.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(list) = by_id.get_mut(&id) {
            if list.len() < KEPT {
                list.push(Received {
                    content_type,
                    logout_token,
                    other_params,
                });
            }
        } else {
            // Not a URI any case handed out.
            return StatusCode::NOT_FOUND.into_response();
        }
    }
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl Receiver {
    /// The address it listens on (always a loopback one).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A new back-channel logout URI for `case` run against `issuer` (the
    /// registration of its client): unguessable, ready to receive from the
    /// moment it is handed out, and never one handed out before (a provider
    /// that later takes the same port is another provider).
    pub fn uri_for(&self, case_id: &str, issuer: &str) -> String {
        let id = super::random_token();
        self.inbox
            .by_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), Vec::new());
        self.inbox
            .latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(format!("{case_id}\n{issuer}"), id.clone());
        format!("http://{}/backchannel-logout/{id}", self.addr)
    }

    /// What the last URI handed out for `case` and `issuer` received so far.
    pub fn received(&self, case_id: &str, issuer: &str) -> Vec<Received> {
        let Some(id) = self
            .inbox
            .latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&format!("{case_id}\n{issuer}"))
            .cloned()
        else {
            return Vec::new();
        };
        self.inbox
            .by_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until the URI of `case` received a POST, or `limit` passed; then
    /// a moment longer, so that a second POST (a retransmission after 200,
    /// §2.5 SHOULD NOT) is seen too.
    pub async fn wait(&self, case_id: &str, issuer: &str, limit: Duration) -> Vec<Received> {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if !self.received(case_id, issuer).is_empty() {
                tokio::time::sleep(Duration::from_millis(300)).await;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.received(case_id, issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_receiver_listens_on_loopback_and_keeps_what_each_uri_got() {
        let r = receiver().unwrap();
        assert!(r.addr().ip().is_loopback(), "{}", r.addr());
        let c = "backchannel::probe";
        let uri = r.uri_for(c, "http://127.0.0.1:1");
        assert!(uri.starts_with("http://127.0.0.1:"), "{uri}");
        let http = reqwest::Client::new();
        let ok = http
            .post(&uri)
            .form(&[("logout_token", "a.b.c"), ("extra", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers().get("cache-control").unwrap(), "no-store");
        // Anything is kept as it came, for the checks to judge.
        http.post(&uri)
            .body("{}")
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        let got = r.received(c, "http://127.0.0.1:1");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].logout_token.as_ref().map(|t| t.expose().to_owned()), Some("a.b.c".into()));
        assert_eq!(got[0].other_params, vec!["extra".to_owned()]);
        assert_eq!(got[1].content_type.as_deref(), Some("application/json"));
        assert!(got[1].logout_token.is_none());
        // A URI nobody handed out receives nothing.
        let other = format!("http://{}/backchannel-logout/0123", r.addr());
        assert_eq!(http.post(&other).form(&[("logout_token", "x")]).send().await.unwrap().status(), 404);
        // Another issuer's URI for the same case is another inbox.
        assert!(r.received(c, "http://127.0.0.1:2").is_empty());
        // So is a new registration's (a provider that took the same port later).
        let again = r.uri_for(c, "http://127.0.0.1:1");
        assert_ne!(again, uri);
        assert!(r.received(c, "http://127.0.0.1:1").is_empty());
        assert_eq!(
            http.post(&uri).form(&[("logout_token", "late")]).send().await.unwrap().status(),
            200
        );
        assert!(r.received(c, "http://127.0.0.1:1").is_empty());
    }
}
