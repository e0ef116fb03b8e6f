//! The provider's in-memory state: pending authorization transactions, login
//! sessions, authorization codes and issued tokens. Every map is bounded in
//! size and every entry expires.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use super::authorize::AuthRequest;
use super::keys::sha256;

/// Entries per map at most; beyond that, inserts fail until entries expire.
pub(crate) const MAX_ENTRIES: usize = 100_000;
/// How long a pending authorization transaction (login + consent) may take.
pub(crate) const PENDING_TTL: Duration = Duration::from_secs(600);
/// How long a login session lasts.
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(3600);
/// How long an authorization code can be redeemed.
pub(crate) const CODE_TTL: Duration = Duration::from_secs(60);
/// How long a refresh token stays valid.
pub(crate) const REFRESH_TTL: Duration = Duration::from_secs(24 * 3600);
/// How often a full sweep of expired entries runs (lazily, on access).
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// The store is full: the provider refuses new state until entries expire.
#[derive(Debug, thiserror::Error)]
#[error("provider state is full ({MAX_ENTRIES} entries); retry later")]
pub(crate) struct Full;

/// A value with an expiry instant.
pub(crate) trait Expires {
    fn expires(&self) -> Instant;
}

/// A size-bounded map whose entries expire.
pub(crate) struct Bounded<K, V> {
    map: HashMap<K, V>,
    cap: usize,
}

impl<K: Eq + Hash, V: Expires> Bounded<K, V> {
    fn new(cap: usize) -> Self {
        Bounded { map: HashMap::new(), cap }
    }

    pub(crate) fn insert(&mut self, key: K, value: V, now: Instant) -> Result<(), Full> {
        if self.map.len() >= self.cap {
            self.sweep(now);
            if self.map.len() >= self.cap {
                return Err(Full);
            }
        }
        self.map.insert(key, value);
        Ok(())
    }

    /// The live entry for `key`; an expired one is removed and not returned.
    pub(crate) fn get_mut<Q>(&mut self, key: &Q, now: Instant) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.map.get(key).is_some_and(|v| v.expires() <= now) {
            self.map.remove(key);
        }
        self.map.get_mut(key)
    }

    /// Removes and returns the live entry for `key`.
    pub(crate) fn take<Q>(&mut self, key: &Q, now: Instant) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.remove(key).filter(|v| v.expires() > now)
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        self.map.retain(|_, v| keep(v));
    }

    fn sweep(&mut self, now: Instant) {
        self.map.retain(|_, v| v.expires() > now);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// A user who has logged in, for a pending transaction.
#[derive(Clone, Debug)]
pub(crate) struct Login {
    pub(crate) session_id: String,
    pub(crate) username: String,
    pub(crate) auth_time: u64,
    /// Taken from a session that existed before this request (single sign-on).
    pub(crate) reused: bool,
}

/// An authorization request waiting for login and consent.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    pub(crate) request: AuthRequest,
    /// Hidden field of the login form, tying the submission to this
    /// transaction.
    pub(crate) login_nonce: String,
    pub(crate) login: Option<Login>,
    pub(crate) expires: Instant,
}

/// A login session (cookie `rp_session`).
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub(crate) username: String,
    /// When the user entered the password (seconds since the epoch).
    pub(crate) auth_time: u64,
    /// What the user consented to in this session: client id and scopes.
    pub(crate) consents: Vec<(String, Vec<String>)>,
    /// The clients the session issued codes or tokens to (each is told of a
    /// logout on its back channel, where it registered for it).
    pub(crate) clients: Vec<String>,
    pub(crate) expires: Instant,
}

/// The `sid` of the session whose cookie is `session_id`: not the cookie
/// itself (a logout token must not carry what signs the browser in).
/// The browser state of a session (OIDC Session Management §3.2's "OP
/// browser state"): kept in a cookie the provider's check-session frame can
/// read, never the session cookie itself.
pub(crate) fn opbs_of(session_id: &str) -> String {
    let digest = sha256(format!("opbs\n{session_id}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn sid_of(session_id: &str) -> String {
    let digest = sha256(format!("sid\n{session_id}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// At most this many consents are remembered per session (the oldest go first).
pub(crate) const SESSION_CONSENTS: usize = 32;

impl Session {
    /// The user consented to every one of `scopes` for `client_id` in this session.
    pub(crate) fn consented(&self, client_id: &str, scopes: &[String]) -> bool {
        self.consents
            .iter()
            .any(|(c, granted)| c == client_id && scopes.iter().all(|s| granted.contains(s)))
    }

    pub(crate) fn remember_consent(&mut self, client_id: &str, scopes: &[String]) {
        if self.consents.len() >= SESSION_CONSENTS {
            self.consents.remove(0);
        }
        self.consents.push((client_id.to_owned(), scopes.to_vec()));
    }
}

/// What the user granted to a client: carried by codes and refresh tokens.
#[derive(Clone, Debug)]
pub(crate) struct Grant {
    /// The session's `sid` (OIDC Back-Channel Logout §2.1), for ID tokens
    /// issued from a browser session.
    pub(crate) sid: Option<String>,
    pub(crate) client_id: String,
    pub(crate) username: String,
    /// Granted scopes, in request order.
    pub(crate) scopes: Vec<String>,
    /// The scopes as requested (to decide whether to echo `scope`).
    pub(crate) requested: Vec<String>,
    /// The API (audience / resource) the access tokens are for.
    pub(crate) audience: Option<String>,
    pub(crate) auth_time: u64,
    /// Answered from a session that existed before the request (single sign-on).
    pub(crate) sso: bool,
    /// Claims asked for by name with the `claims` parameter (OIDC Core §5.5).
    pub(crate) asked: Asked,
    /// The thumbprint of the DPoP key the tokens are bound to (RFC 9449).
    pub(crate) jkt: Option<String>,
}

/// The `claims` request parameter, as the provider keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Asked {
    pub(crate) id_token: Vec<String>,
    pub(crate) userinfo: Vec<String>,
    /// `acr` asked for as essential in the ID token.
    pub(crate) essential_acr: bool,
}

/// An authorization code.
#[derive(Clone, Debug)]
pub(crate) struct Code {
    pub(crate) grant: Grant,
    pub(crate) redirect_uri: String,
    pub(crate) nonce: Option<String>,
    pub(crate) code_challenge: Option<String>,
    /// RFC 9449 §10: the `dpop_jkt` of the authorization request.
    pub(crate) dpop_jkt: Option<String>,
    /// Set when redeemed: the token family issued from it (kept until expiry
    /// so that a replay can be detected and the family revoked).
    pub(crate) redeemed: Option<u64>,
    pub(crate) expires: Instant,
    /// Exchanges in flight that found the code unused (`code-redemption-race` only).
    pub(crate) racing: u32,
    /// When the last of those exchanges arrived.
    pub(crate) last_racer: Option<Instant>,
}

/// What kind of token a bearer presented at userinfo is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Access,
    /// Recorded only under the `userinfo-accepts-id-token` quirk.
    Id,
}

/// An issued access (or ID) token, keyed by the SHA-256 of its value.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    /// The client it was issued to.
    pub(crate) client_id: String,
    /// `None` for client-credentials tokens.
    pub(crate) username: Option<String>,
    pub(crate) scopes: Vec<String>,
    /// Claims asked for by name for userinfo (the `claims` parameter).
    pub(crate) asked: Vec<String>,
    /// Token family (one per redeemed code), for revocation on code replay.
    pub(crate) family: Option<u64>,
    pub(crate) expires: Instant,
    /// The thumbprint of the DPoP key an access token is bound to (RFC 9449 §6).
    pub(crate) jkt: Option<String>,
}

/// The `jti` of a DPoP proof the provider took (RFC 9449 §11.1).
#[derive(Clone, Debug)]
pub(crate) struct SeenJti {
    pub(crate) expires: Instant,
}

/// A refresh token, keyed by the SHA-256 of its value.
#[derive(Clone, Debug)]
pub(crate) struct Refresh {
    pub(crate) grant: Grant,
    pub(crate) family: u64,
    pub(crate) expires: Instant,
    /// Rotated out by a refresh: kept so that its reuse is recognised and the
    /// family revoked (RFC 9700 §4.14.2).
    pub(crate) spent: bool,
}

macro_rules! expires {
    ($($t:ty),+) => {
        $(impl Expires for $t {
            fn expires(&self) -> Instant {
                self.expires
            }
        })+
    };
}
expires!(Pending, Session, Code, Token, Refresh, SeenJti);

/// Key of a token map: the SHA-256 of the token (raw tokens are not kept).
pub(crate) type TokenKey = [u8; 32];

pub(crate) fn token_key(token: &str) -> TokenKey {
    sha256(token.as_bytes())
}

/// All of the provider's mutable state, behind one mutex.
pub(crate) struct Store {
    pub(crate) pending: Bounded<String, Pending>,
    pub(crate) sessions: Bounded<String, Session>,
    pub(crate) codes: Bounded<String, Code>,
    pub(crate) tokens: Bounded<TokenKey, Token>,
    pub(crate) refresh: Bounded<TokenKey, Refresh>,
    /// Pushed authorization requests by `request_uri` (RFC 9126).
    pub(crate) pushed: Bounded<String, super::par::Pushed>,
    /// Logout requests waiting for the user's answer, by transaction.
    pub(crate) logouts: Bounded<String, super::logout::PendingLogout>,
    /// The `jti`s of the DPoP proofs taken, by `htu` and `jti`.
    pub(crate) dpop_jtis: Bounded<String, SeenJti>,
    /// The DPoP nonces given out (RFC 9449 §8), and the keys they were given to.
    pub(crate) dpop_nonces: Bounded<String, SeenJti>,
    pub(crate) dpop_nonce_keys: Bounded<String, SeenJti>,
    /// Device authorizations by the hash of their device code (RFC 8628).
    pub(crate) devices: Bounded<TokenKey, super::device::DeviceGrant>,
    /// Their user codes, normalised.
    pub(crate) user_codes: Bounded<String, super::device::UserCode>,
    /// Quirk `refresh-auth-time-of-last-login`: each user's latest sign-in
    /// (Unix seconds), anywhere.
    pub(crate) last_sign_in: std::collections::HashMap<String, u64>,
    next_family: u64,
    last_sweep: Instant,
}

impl Store {
    pub(crate) fn new() -> Self {
        Self::with_cap(MAX_ENTRIES)
    }

    pub(crate) fn with_cap(cap: usize) -> Self {
        Store {
            pending: Bounded::new(cap),
            sessions: Bounded::new(cap),
            codes: Bounded::new(cap),
            tokens: Bounded::new(cap),
            refresh: Bounded::new(cap),
            pushed: Bounded::new(cap),
            logouts: Bounded::new(cap),
            dpop_jtis: Bounded::new(cap),
            dpop_nonces: Bounded::new(cap),
            dpop_nonce_keys: Bounded::new(cap),
            devices: Bounded::new(cap),
            user_codes: Bounded::new(cap),
            last_sign_in: std::collections::HashMap::new(),
            next_family: 1,
            last_sweep: Instant::now(),
        }
    }

    /// Drops expired entries from every map, at most every few seconds.
    pub(crate) fn maybe_sweep(&mut self, now: Instant) {
        if now.duration_since(self.last_sweep) >= SWEEP_EVERY {
            self.last_sweep = now;
            self.pending.sweep(now);
            self.sessions.sweep(now);
            self.codes.sweep(now);
            self.tokens.sweep(now);
            self.refresh.sweep(now);
            self.pushed.sweep(now);
            self.logouts.sweep(now);
            self.dpop_jtis.sweep(now);
            self.dpop_nonces.sweep(now);
            self.dpop_nonce_keys.sweep(now);
            self.devices.sweep(now);
            self.user_codes.sweep(now);
        }
    }

    pub(crate) fn new_family(&mut self) -> u64 {
        let family = self.next_family;
        self.next_family += 1;
        family
    }

    /// Revokes every access and refresh token of a family (RFC 6749 §10.5).
    pub(crate) fn revoke_family(&mut self, family: u64) {
        self.tokens.retain(|t| t.family != Some(family));
        self.refresh.retain(|r| r.family != family);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(expires: Instant) -> Session {
        Session {
            username: "u".into(),
            auth_time: 0,
            consents: Vec::new(),
            clients: Vec::new(),
            expires,
        }
    }

    #[test]
    fn expired_entries_are_invisible_and_swept() {
        let now = Instant::now();
        let mut store = Store::with_cap(2);
        store.sessions.insert("old".into(), session(now), now).unwrap();
        store
            .sessions
            .insert("new".into(), session(now + Duration::from_secs(5)), now)
            .unwrap();
        assert!(store.sessions.get_mut("old", now).is_none());
        assert!(store.sessions.get_mut("new", now).is_some());
        assert!(store.sessions.take("new", now + Duration::from_secs(9)).is_none());
    }

    #[test]
    fn full_map_refuses_until_entries_expire() {
        let now = Instant::now();
        let later = now + Duration::from_secs(1);
        let mut store = Store::with_cap(2);
        store.sessions.insert("a".into(), session(later), now).unwrap();
        store.sessions.insert("b".into(), session(later), now).unwrap();
        assert!(store.sessions.insert("c".into(), session(later), now).is_err());
        // Once expired, the sweep on insert makes room.
        let after = later + Duration::from_secs(1);
        store
            .sessions
            .insert("c".into(), session(after + Duration::from_secs(1)), after)
            .unwrap();
        assert_eq!(store.sessions.len(), 1);
    }

    #[test]
    fn family_revocation_removes_tokens() {
        let now = Instant::now();
        let mut store = Store::new();
        let family = store.new_family();
        let token = |family| Token {
            kind: TokenKind::Access,
            client_id: "c".into(),
            username: None,
            scopes: vec![],
            asked: vec![],
            family,
            expires: now + Duration::from_secs(60),
            jkt: None,
        };
        store.tokens.insert(token_key("a"), token(Some(family)), now).unwrap();
        store.tokens.insert(token_key("b"), token(None), now).unwrap();
        store.revoke_family(family);
        assert!(store.tokens.get_mut(&token_key("a"), now).is_none());
        assert!(store.tokens.get_mut(&token_key("b"), now).is_some());
    }
}
