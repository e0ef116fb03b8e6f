//! Request parameter parsing shared by the endpoints: form-urlencoded query
//! strings and bodies (with duplicate detection, RFC 6749 §3.1), cookies and
//! content types.

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::http::header::{CONTENT_TYPE, COOKIE};

/// Form-urlencoded parameters. Empty values count as absent (RFC 6749 §3.1),
/// and the first repeated name is remembered: OAuth parameters must not be
/// sent twice.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    values: HashMap<String, String>,
    repeated: Option<String>,
    /// A request object that could not be used (OIDC Core §6): error code
    /// and description, answered once the client and redirect URI are known.
    pub(crate) request_object_error: Option<(&'static str, String)>,
    /// The parameters came from a pushed authorization request (RFC 9126).
    pub(crate) pushed: bool,
}

impl Params {
    pub(crate) fn parse(input: &[u8]) -> Params {
        let mut params = Params::default();
        for (name, value) in url::form_urlencoded::parse(input) {
            if value.is_empty() {
                continue;
            }
            if params.values.contains_key(name.as_ref()) {
                params.repeated.get_or_insert_with(|| name.to_string());
                continue;
            }
            params.values.insert(name.into_owned(), value.into_owned());
        }
        params
    }

    /// Sets `name` (a request object's member overrides the query's, OIDC Core §6.3.3).
    pub(crate) fn set(&mut self, name: &str, value: String) {
        if value.is_empty() {
            self.values.remove(name);
        } else {
            self.values.insert(name.to_owned(), value);
        }
    }

    pub(crate) fn remove(&mut self, name: &str) {
        self.values.remove(name);
    }

    /// The (first) non-empty value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The first parameter name that was sent more than once.
    pub(crate) fn repeated(&self) -> Option<&str> {
        self.repeated.as_deref()
    }

    /// Whether `name` was among the repeated ones (only the first repeated
    /// name is known, which is all an error message needs).
    pub(crate) fn is_repeated(&self, name: &str) -> bool {
        self.repeated.as_deref() == Some(name)
    }
}

/// Whether the request body is declared `application/x-www-form-urlencoded`.
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// The value of cookie `name`, if the request carries it.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// Compares two secrets in constant time.
pub(crate) fn secret_eq(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn parses_and_flags_repeats_and_empties() {
        let p = Params::parse(b"a=1&b=&c=x%20y&a=2&d=+");
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y"));
        assert_eq!(p.get("d"), Some(" "));
        assert_eq!(p.repeated(), Some("a"));
        assert!(p.is_repeated("a"));
        let p = Params::parse(b"%zz=%&=&&");
        assert!(p.repeated().is_none());
    }

    #[test]
    fn cookies_and_content_type() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("a=1; rp_session=abc; b=2"));
        assert_eq!(cookie(&h, "rp_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "zz"), None);
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("Application/x-www-form-urlencoded; charset=UTF-8"),
        );
        assert!(is_form(&h));
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert!(!is_form(&h));
        assert!(secret_eq("abc", "abc"));
        assert!(!secret_eq("abc", "abd"));
        assert!(!secret_eq("abc", "ab"));
    }
}
