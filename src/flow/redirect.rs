//! Redirect-URI probes: variants of a client's registered redirect URI that a
//! provider must not take for it (exact string matching: RFC 6749 §3.1.2.3,
//! OIDC Core §3.1.2.1, RFC 9700 §4.1.3), and the oracle that tells whether a
//! redirect went to the registered endpoint.

use serde::{Deserialize, Serialize};
use url::Url;

/// A deliberate change of the registered redirect URI.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Hash, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// `/callback` → `/callback/evil`
    ExtraPath,
    /// `/callback` → `/callbackevil`
    PathSuffix,
    /// `/callback` → `/callback/../evil`
    PathTraversal,
    /// `/callback` → `/callback%2F..%2Fevil`
    EncodedTraversal,
    /// `/callback` → `/callback/` (or the slash taken away)
    TrailingSlash,
    /// `/callback` → `/CALLBACK`
    PathCase,
    /// `?probe=1` added to the query
    AddedQuery,
    /// the first query value changed (registered URIs with a query only)
    ChangedQuery,
    /// `#probe` appended (a redirect URI has no fragment, RFC 6749 §3.1.2)
    Fragment,
    /// another port
    OtherPort,
    /// `https` ↔ `http`
    SchemeChange,
    /// `evil.` before the host
    Subdomain,
    /// `.evil.example` after the host
    HostSuffix,
    /// `https://app.example@evil.example/…`: the registered host as user name, another host
    UserinfoHost,
    /// `app.example.` (a trailing dot)
    TrailingDot,
    /// the host in capitals (an equivalent spelling, RFC 3986 §6.2.2.1)
    HostCase,
    /// the scheme's default port written out (`:443`; equivalent, RFC 3986 §6.2.3)
    DefaultPort,
    /// the first letter of the path percent-encoded (equivalent, RFC 3986 §6.2.2.2)
    PercentEncoded,
}

/// The variant of `registered`, or why the variant does not apply to it.
pub fn variant(registered: &str, v: Variant) -> Result<String, String> {
    let u = Url::parse(registered).map_err(|e| format!("the registered redirect URI `{registered}` does not parse: {e}"))?;
    let scheme = u.scheme();
    let host = u
        .host_str()
        .ok_or_else(|| format!("the registered redirect URI `{registered}` has no host (a custom scheme)"))?;
    let is_name = matches!(u.host(), Some(url::Host::Domain(_)));
    let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = u.path();
    let query = u.query().map(|q| format!("?{q}")).unwrap_or_default();
    let join = |p: &str, q: &str| format!("{scheme}://{host}{port}{p}{q}");
    let name_only = |what: &str| -> Result<(), String> {
        if is_name {
            Ok(())
        } else {
            Err(format!(
                "the registered redirect URI's host is an IP address; {what} needs a host name"
            ))
        }
    };
    let loopback = matches!(host, "127.0.0.1" | "[::1]" | "localhost");
    Ok(match v {
        Variant::ExtraPath => join(&format!("{}/evil", path.trim_end_matches('/')), &query),
        Variant::PathSuffix => join(&format!("{path}evil"), &query),
        Variant::PathTraversal => join(&format!("{}/../evil", path.trim_end_matches('/')), &query),
        Variant::EncodedTraversal => join(&format!("{}%2F..%2Fevil", path.trim_end_matches('/')), &query),
        Variant::TrailingSlash => match path.strip_suffix('/') {
            Some("") => return Err("the registered redirect URI's path is `/`: there is no slash to add or take away".into()),
            Some(shorter) => join(shorter, &query),
            None => join(&format!("{path}/"), &query),
        },
        Variant::PathCase => {
            let upper = path.to_uppercase();
            if upper == path {
                return Err("the registered redirect URI's path has no lower-case letter to change".into());
            }
            join(&upper, &query)
        }
        Variant::AddedQuery => {
            let q = if query.is_empty() {
                "?probe=1".to_owned()
            } else {
                format!("{query}&probe=1")
            };
            join(path, &q)
        }
        Variant::ChangedQuery => {
            let mut pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
            let Some(first) = pairs.first_mut() else {
                return Err("the registered redirect URI has no query to change".into());
            };
            first.1.push_str("-changed");
            let q: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
            join(path, &format!("?{q}"))
        }
        Variant::Fragment => format!("{}#probe", join(path, &query)),
        Variant::OtherPort => {
            if loopback && scheme == "http" {
                return Err("loopback redirect URIs of native apps may use any port (RFC 8252 §7.3)".into());
            }
            let p = u
                .port_or_known_default()
                .ok_or_else(|| format!("the scheme `{scheme}` has no known port"))?;
            let other = if p == u16::MAX { p - 1 } else { p + 1 };
            format!("{scheme}://{host}:{other}{path}{query}")
        }
        Variant::SchemeChange => {
            let other = match scheme {
                "https" => "http",
                "http" => "https",
                s => return Err(format!("the registered redirect URI's scheme `{s}` is neither http nor https")),
            };
            format!("{other}://{host}{port}{path}{query}")
        }
        Variant::Subdomain => {
            name_only("a subdomain")?;
            format!("{scheme}://evil.{host}{port}{path}{query}")
        }
        Variant::HostSuffix => {
            name_only("a host suffix")?;
            format!("{scheme}://{host}.evil.example{port}{path}{query}")
        }
        Variant::UserinfoHost => format!("{scheme}://{host}{port}@evil.example{path}{query}"),
        Variant::TrailingDot => {
            name_only("a trailing dot")?;
            format!("{scheme}://{host}.{port}{path}{query}")
        }
        Variant::HostCase => {
            name_only("a change of case")?;
            format!("{scheme}://{}{port}{path}{query}", host.to_uppercase())
        }
        Variant::DefaultPort => {
            if u.port().is_some() {
                return Err("the registered redirect URI names its port already".into());
            }
            let p = u
                .port_or_known_default()
                .ok_or_else(|| format!("the scheme `{scheme}` has no default port"))?;
            format!("{scheme}://{host}:{p}{path}{query}")
        }
        Variant::PercentEncoded => {
            let Some(i) = path.find(|c: char| c.is_ascii_alphabetic()) else {
                return Err("the registered redirect URI's path has no letter to percent-encode".into());
            };
            let c = path.as_bytes()[i];
            join(&format!("{}%{c:02X}{}", &path[..i], &path[i + 1..]), &query)
        }
    })
}

/// Whether `target` (where the provider redirected or posted) is the endpoint
/// `endpoint` names: same scheme, host, port and path, up to spellings RFC 3986
/// calls equivalent (host case, default port, percent-encoded unreserved
/// characters), and carrying `endpoint`'s own query. Response parameters the
/// provider adds to the query and any fragment are not part of the endpoint.
pub fn same_endpoint(target: &Url, endpoint: &str) -> bool {
    let Ok(want) = Url::parse(endpoint) else { return false };
    if !same_path(target, endpoint) {
        return false;
    }
    // Every query parameter of the endpoint, with its value; the provider's own added.
    let got: Vec<(String, String)> = target.query_pairs().into_owned().collect();
    want.query_pairs().all(|(k, v)| got.iter().any(|(gk, gv)| *gk == k && *gv == v))
}

/// Whether `target` has the scheme, host, port and path of `endpoint` (up to
/// equivalent spellings), whatever its query: the harness never requests such a
/// URL, it is the client's.
pub fn same_path(target: &Url, endpoint: &str) -> bool {
    let Ok(want) = Url::parse(endpoint) else { return false };
    target.scheme() == want.scheme()
        && target.host_str() == want.host_str()
        && target.port_or_known_default() == want.port_or_known_default()
        && target.username() == want.username()
        && target.password() == want.password()
        && normalise_path(target.path()) == normalise_path(want.path())
}

/// Whether two URIs are the same up to spellings RFC 3986 §6.2.2–6.2.3 calls
/// equivalent (host case, default port, percent-encoded unreserved characters);
/// a fragment on either makes them differ.
pub fn equivalent(a: &str, b: &str) -> bool {
    match (Url::parse(a), Url::parse(b)) {
        (Ok(x), Ok(y)) => {
            x.fragment().is_none()
                && y.fragment().is_none()
                && !a.contains('#')
                && x.scheme() == y.scheme()
                && x.host_str() == y.host_str()
                && x.port_or_known_default() == y.port_or_known_default()
                && x.username() == y.username()
                && normalise_path(x.path()) == normalise_path(y.path())
                && x.query() == y.query()
        }
        _ => false,
    }
}

/// Percent-encoded unreserved characters decoded, other escapes in capitals (RFC 3986 §6.2.2).
fn normalise_path(path: &str) -> String {
    let b = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(hex) = path.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(byte as char);
            } else {
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
            }
            i += 3;
            continue;
        }
        let c = path[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(c);
        i += c.len_utf8().max(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "https://app.example.test/callback";

    fn v(x: Variant) -> String {
        variant(R, x).unwrap()
    }

    #[test]
    fn variants_of_a_registered_uri() {
        assert_eq!(v(Variant::ExtraPath), "https://app.example.test/callback/evil");
        assert_eq!(v(Variant::PathSuffix), "https://app.example.test/callbackevil");
        assert_eq!(v(Variant::PathTraversal), "https://app.example.test/callback/../evil");
        assert_eq!(v(Variant::EncodedTraversal), "https://app.example.test/callback%2F..%2Fevil");
        assert_eq!(v(Variant::TrailingSlash), "https://app.example.test/callback/");
        assert_eq!(v(Variant::PathCase), "https://app.example.test/CALLBACK");
        assert_eq!(v(Variant::AddedQuery), "https://app.example.test/callback?probe=1");
        assert!(variant(R, Variant::ChangedQuery).is_err());
        assert_eq!(
            variant("https://a.example/cb?x=1", Variant::ChangedQuery).unwrap(),
            "https://a.example/cb?x=1-changed"
        );
        assert_eq!(v(Variant::Fragment), "https://app.example.test/callback#probe");
        assert_eq!(v(Variant::OtherPort), "https://app.example.test:444/callback");
        assert_eq!(v(Variant::SchemeChange), "http://app.example.test/callback");
        assert_eq!(v(Variant::Subdomain), "https://evil.app.example.test/callback");
        assert_eq!(v(Variant::HostSuffix), "https://app.example.test.evil.example/callback");
        assert_eq!(v(Variant::UserinfoHost), "https://app.example.test@evil.example/callback");
        assert_eq!(v(Variant::TrailingDot), "https://app.example.test./callback");
        assert_eq!(v(Variant::HostCase), "https://APP.EXAMPLE.TEST/callback");
        assert_eq!(v(Variant::DefaultPort), "https://app.example.test:443/callback");
        assert_eq!(v(Variant::PercentEncoded), "https://app.example.test/%63allback");
        // Loopback redirect URIs may vary their port (RFC 8252 §7.3); IPs have no subdomain.
        assert!(variant("http://127.0.0.1:8080/cb", Variant::OtherPort).is_err());
        assert!(variant("http://127.0.0.1:8080/cb", Variant::Subdomain).is_err());
        assert!(variant("com.example.app:/cb", Variant::ExtraPath).is_err());
    }

    #[test]
    fn the_oracle_tells_the_registered_endpoint_from_a_variant() {
        let at = |s: &str| same_endpoint(&Url::parse(s).unwrap(), R);
        // The registered endpoint, with the response in the query or the fragment.
        assert!(at("https://app.example.test/callback?code=x&state=y"));
        assert!(at("https://app.example.test/callback#code=x"));
        // Spellings RFC 3986 calls equivalent reach the same endpoint.
        assert!(at("https://APP.example.test:443/c%61llback?code=x"));
        // Everything that names another resource does not.
        for other in [
            "https://app.example.test/callback/evil?code=x",
            "https://app.example.test/evil?code=x",
            "https://app.example.test/CALLBACK?code=x",
            "https://app.example.test/callback%2F..%2Fevil?code=x",
            "https://app.example.test:444/callback?code=x",
            "http://app.example.test/callback?code=x",
            "https://evil.app.example.test/callback?code=x",
            "https://app.example.test@evil.example/callback?code=x",
            "https://app.example.test./callback?code=x",
        ] {
            assert!(!at(other), "{other} is not the registered endpoint");
        }
        // Every variant that names another resource is told apart once the browser has parsed it.
        for x in [
            Variant::ExtraPath,
            Variant::PathSuffix,
            Variant::PathTraversal,
            Variant::EncodedTraversal,
            Variant::TrailingSlash,
            Variant::PathCase,
            Variant::OtherPort,
            Variant::SchemeChange,
            Variant::Subdomain,
            Variant::HostSuffix,
            Variant::UserinfoHost,
            Variant::TrailingDot,
        ] {
            assert!(!at(&v(x)), "{x:?}");
        }
        assert!(equivalent("https://APP.example.test:443/c%61llback", R));
        assert!(!equivalent("https://app.example.test/callback#probe", R));
        assert!(!equivalent("https://app.example.test/callback?probe=1", R));
        // A registered query must be kept.
        assert!(!same_endpoint(
            &Url::parse("https://a.example/cb?x=2&code=1").unwrap(),
            "https://a.example/cb?x=1"
        ));
        assert!(same_endpoint(
            &Url::parse("https://a.example/cb?x=1&code=1").unwrap(),
            "https://a.example/cb?x=1"
        ));
    }
}
