//! Request objects (OIDC Core §6): the authorization parameters as a JWT,
//! sent by value (`request`) or by reference (`request_uri`). Objects sent by
//! reference are served by a small HTTP server of the harness on 127.0.0.1,
//! started the first time a case needs it; signed objects use an RSA key the
//! harness generates once per run and registers with the case's client.
//! The request also carries decoy `state` and `nonce` values outside the
//! object, so an answer built from the query instead of the object shows.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::reference::keys::{Keys, SignMode};
use crate::suite::{Case, RequestObjectAlg, RequestObjectBy};

/// The media type of a request object (RFC 9101 §10.2 registers it for `typ`).
const TYP: &str = "oauth-authz-req+jwt";

/// The harness's signing key for request objects (and the client assertions
/// of the clients it registers), made once per run.
fn keys() -> Result<&'static Keys, String> {
    shared_keys_ref().map(|k| &**k)
}

fn shared_keys_ref() -> Result<&'static Arc<Keys>, String> {
    static KEYS: OnceLock<Result<Arc<Keys>, String>> = OnceLock::new();
    KEYS.get_or_init(|| Keys::generate().map(Arc::new).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| format!("cannot make the harness's signing key: {e}"))
}

/// The harness's key, for a registered client's `private_key_jwt` assertions.
pub(crate) fn shared_keys() -> Result<Arc<Keys>, String> {
    shared_keys_ref().cloned()
}

/// The public key set the harness registers for a client that signs its
/// request objects (OIDC Dynamic Registration §2 `jwks`).
pub fn jwks() -> Result<Value, String> {
    Ok(keys()?.jwks())
}

/// Request objects served by reference, by path.
struct Served {
    objects: Mutex<HashMap<String, Entry>>,
    /// (case id, issuer) → the object's path: 128 random bits, so that one
    /// `request_uri` tells nothing of any other, and none can be guessed.
    ids: Mutex<HashMap<(String, String), String>>,
}

struct Entry {
    jwt: String,
    fetches: usize,
}

/// The request-object server: its base URL and what it serves.
pub struct Server {
    base: String,
    served: Arc<Served>,
}

/// The server, started on first use (127.0.0.1, a free port). It runs on a
/// thread and runtime of its own for the life of the process: it outlives
/// the runtime of whichever caller started it (a library user, or a test,
/// may run several runtimes one after another).
pub async fn server() -> Result<&'static Server, String> {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    SERVER.get_or_init(start).as_ref().map_err(Clone::clone)
}

fn start() -> Result<Server, String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot open the request-object server on 127.0.0.1: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let served = Arc::new(Served {
        objects: Mutex::new(HashMap::new()),
        ids: Mutex::new(HashMap::new()),
    });
    let app = axum::Router::new()
        .route("/ro/{id}", axum::routing::get(serve))
        .with_state(served.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the request-object server: {e}"))?;
    std::thread::Builder::new()
        .name("request-objects".into())
        .spawn(move || {
            runtime.block_on(async move {
                if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                    let _ = axum::serve(listener, app).await;
                }
            });
        })
        .map_err(|e| format!("cannot start the request-object server: {e}"))?;
    Ok(Server {
        base: format!("http://{addr}"),
        served,
    })
}

async fn serve(State(served): State<Arc<Served>>, Path(id): Path<String>) -> Response {
    let jwt = {
        let mut objects = served.objects.lock().unwrap_or_else(|e| e.into_inner());
        match objects.get_mut(&id) {
            Some(entry) => {
                entry.fetches += 1;
                entry.jwt.clone()
            }
            None => return StatusCode::NOT_FOUND.into_response(),
        }
    };
    let mut response = jwt.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/oauth-authz-req+jwt"));
    response
}

impl Server {
    /// The `request_uri` of a case run against the provider at `issuer`:
    /// stable within the run, so that it can be registered before the
    /// authorization request is made, and apart from any other run of the same
    /// case against another provider in this process.
    pub fn uri_for(&self, case: &Case, issuer: &str) -> String {
        format!("{}/ro/{}", self.base, self.id_for(case, issuer))
    }

    /// The path of a case's object against `issuer`: random, made on first use.
    fn id_for(&self, case: &Case, issuer: &str) -> String {
        self.id_of(&case.id(), issuer)
    }

    fn id_of(&self, case_id: &str, issuer: &str) -> String {
        let mut ids = self.served.ids.lock().unwrap_or_else(|e| e.into_inner());
        ids.entry((case_id.to_owned(), issuer.to_owned()))
            .or_insert_with(|| {
                let mut bytes = [0u8; 16];
                let _ = aws_lc_rs::rand::fill(&mut bytes);
                bytes.iter().map(|b| format!("{b:02x}")).collect()
            })
            .clone()
    }

    pub(crate) fn put(&self, case: &Case, issuer: &str, jwt: String) {
        let mut objects = self.served.objects.lock().unwrap_or_else(|e| e.into_inner());
        let id = self.id_for(case, issuer);
        objects.insert(id, Entry { jwt, fetches: 0 });
    }

    /// How often the provider fetched the case's request object.
    pub(crate) fn fetches(&self, case: &Case, issuer: &str) -> usize {
        let id = self.id_for(case, issuer);
        let objects = self.served.objects.lock().unwrap_or_else(|e| e.into_inner());
        objects.get(&id).map_or(0, |e| e.fetches)
    }
}

/// The request object of a case: every authorization parameter as a claim
/// (`max_age` a number, `claims` its JSON), plus `iss`, `aud`, `iat`, `exp` and
/// `jti` when signed (OIDC Core §6.1, RFC 9101 §4).
pub fn make(
    params: &BTreeMap<String, String>,
    client_id: &str,
    issuer: &str,
    alg: RequestObjectAlg,
    bad_signature: bool,
) -> Result<String, String> {
    let mut claims = Map::new();
    for (k, v) in params {
        let value = match k.as_str() {
            "max_age" => v.parse::<u64>().map(Value::from).unwrap_or_else(|_| json!(v)),
            "claims" => serde_json::from_str(v).unwrap_or_else(|_| json!(v)),
            _ => json!(v),
        };
        claims.insert(k.clone(), value);
    }
    let keys = keys()?;
    let mode = match alg {
        RequestObjectAlg::None => SignMode::AlgNone,
        RequestObjectAlg::RS256 if bad_signature => SignMode::BadSignature,
        RequestObjectAlg::RS256 => SignMode::Normal,
    };
    if alg == RequestObjectAlg::RS256 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        claims.insert("iss".into(), json!(client_id));
        claims.insert("aud".into(), json!(issuer));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + 300));
        claims.insert("jti".into(), json!(super::random_token()));
    }
    keys.sign(TYP, &Value::Object(claims), mode).map_err(|e| e.to_string())
}

/// The signed request object `jwt` again with `client_id` as its `client_id`
/// claim and a fresh `jti`, signed with the same key: the object of another
/// client, sent by this one (a probe: RFC 9126 §3 has a provider refuse a
/// pushed object whose `client_id` is not the authenticated client's).
pub fn with_client_id(jwt: &str, client_id: &str) -> Result<String, String> {
    let mut claims = crate::check::jwt::decode(jwt)?.claims;
    claims.insert("client_id".into(), json!(client_id));
    claims.insert("jti".into(), json!(super::random_token()));
    keys()?
        .sign(TYP, &Value::Object(claims), SignMode::Normal)
        .map_err(|e| e.to_string())
}

/// The `state` and `nonce` the request carries outside its request object:
/// other values than the object's, so that an answer shows which were used
/// (OIDC Core §6.3.3 and RFC 9101 §6.3: the object's).
#[derive(Clone, Debug, Default)]
pub struct Decoys {
    pub state: String,
    pub nonce: Option<String>,
}

/// Replaces the case's authorization parameters by a request object: the
/// request keeps `client_id`, `response_type` and `scope` (OIDC Core §6.1 asks
/// for them in OAuth syntax too) and decoy `state` / `nonce` values, and the
/// rest is only in the object. Returns what reports show for it, and the decoys.
pub async fn wrap(q: &mut BTreeMap<String, String>, case: &Case, client_id: &str, issuer: &str) -> Result<(String, Decoys), String> {
    let Some(ro) = &case.request.request_object else {
        return Ok((String::new(), Decoys::default()));
    };
    let jwt = make(q, client_id, issuer, ro.alg, ro.bad_signature)?;
    let alg = match ro.alg {
        RequestObjectAlg::None => "unsigned",
        RequestObjectAlg::RS256 if ro.bad_signature => "RS256, signature corrupted",
        RequestObjectAlg::RS256 => "RS256",
    };
    let decoys = Decoys {
        state: format!("outside-the-object-{}", &super::random_token()[..10]),
        nonce: q
            .contains_key("nonce")
            .then(|| format!("outside-the-object-{}", &super::random_token()[..10])),
    };
    q.retain(|k, _| matches!(k.as_str(), "client_id" | "response_type" | "scope"));
    q.insert("state".into(), decoys.state.clone());
    if let Some(nonce) = &decoys.nonce {
        q.insert("nonce".into(), nonce.clone());
    }
    let shown = match ro.by {
        RequestObjectBy::Value => {
            q.insert("request".into(), jwt);
            format!("by value ({alg})")
        }
        RequestObjectBy::Reference => {
            let server = server().await?;
            server.put(case, issuer, jwt);
            let uri = server.uri_for(case, issuer);
            q.insert("request_uri".into(), uri.clone());
            format!("by reference at {uri} ({alg})")
        }
    };
    Ok((shown, decoys))
}

/// What the trace says after the flow: whether the provider fetched the
/// object it was sent by reference.
pub async fn fetched(case: &Case, issuer: &str) -> Option<String> {
    let ro = case.request.request_object.as_ref()?;
    if ro.by != RequestObjectBy::Reference {
        return None;
    }
    let n = server().await.ok()?.fetches(case, issuer);
    Some(match n {
        0 => "the provider never fetched the request object from its request_uri".to_owned(),
        1 => "the provider fetched the request object once".to_owned(),
        n => format!("the provider fetched the request object {n} times"),
    })
}

/// Whether a provider at `issuer` can fetch from this machine's loopback
/// server (only a provider on this machine can); equally, whether a URL is on
/// a loopback host.
pub fn reachable_from(issuer: &str) -> bool {
    url::Url::parse(issuer).is_ok_and(|u| match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::jwt;

    #[test]
    fn a_signed_request_object_carries_the_parameters_and_verifies_with_the_registered_key() {
        let mut params = BTreeMap::new();
        params.insert("state".to_owned(), "s1".to_owned());
        params.insert("max_age".to_owned(), "60".to_owned());
        params.insert("claims".to_owned(), r#"{"userinfo":{"email":null}}"#.to_owned());
        let token = make(&params, "client-1", "https://op.test", RequestObjectAlg::RS256, false).unwrap();
        let d = jwt::decode(&token).unwrap();
        assert_eq!(d.alg(), Some("RS256"));
        assert_eq!(d.claims["state"], "s1");
        assert_eq!(d.claims["max_age"], 60);
        assert_eq!(d.claims["claims"]["userinfo"], json!({"email": null}));
        assert_eq!(d.claims["iss"], "client-1");
        assert_eq!(d.claims["aud"], "https://op.test");
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks().unwrap()).unwrap();
        assert!(matches!(jwt::verify(&token, &d, &set, None), jwt::Verified::Ok));
        let bad = make(&params, "client-1", "https://op.test", RequestObjectAlg::RS256, true).unwrap();
        let d = jwt::decode(&bad).unwrap();
        assert!(matches!(jwt::verify(&bad, &d, &set, None), jwt::Verified::Bad(_)));
        let unsigned = make(&params, "client-1", "https://op.test", RequestObjectAlg::None, false).unwrap();
        assert!(unsigned.ends_with('.') && !unsigned.contains("client-1"));
    }

    #[test]
    fn each_request_uri_is_unguessable_and_tells_nothing_of_the_others() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let server = rt.block_on(server()).unwrap();
        let a = server.id_of("request_object::by-reference", "https://op.test");
        let b = server.id_of("request_object::by-reference-2", "https://op.test");
        let c = server.id_of("request_object::by-reference", "https://other.test");
        assert_eq!(
            a,
            server.id_of("request_object::by-reference", "https://op.test"),
            "stable within the run"
        );
        for id in [&a, &b, &c] {
            assert_eq!(id.len(), 32, "128 random bits: {id}");
            assert!(id.chars().all(|ch| ch.is_ascii_hexdigit()), "{id}");
        }
        assert!(a != b && a != c && b != c);
        // No shared part: no salt, no digest of the issuer.
        let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
        assert!(common < 8, "{a} {b}");
    }

    #[test]
    fn only_a_provider_on_this_machine_can_fetch_a_request_uri() {
        assert!(reachable_from("http://127.0.0.1:8080"));
        assert!(reachable_from("http://[::1]:8080/op"));
        assert!(reachable_from("http://localhost:3000"));
        assert!(!reachable_from("https://op.example.test"));
        assert!(!reachable_from("https://10.0.0.1"));
    }
}
