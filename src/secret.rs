//! Secret values (client secrets, passwords, codes, raw tokens) whose `Debug`
//! and `Display` never show the value, so no log line, error or report can leak
//! one by accident.

use std::fmt;
use std::sync::RwLock;

/// Credentials of the profile (client secrets, passwords) in use by this
/// process: every text that leaves the harness is scrubbed of them ([`scrub`]),
/// whatever path it took (an error message quoting a URL, a page echoing a form).
static CREDENTIALS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Shortest value scrubbed by value (shorter ones would match ordinary text).
const MIN_SCRUBBED: usize = 4;

/// A secret string. `Debug` and `Display` print `[redacted]`; the value is
/// reached only through [`Secret::expose`], which makes every use visible.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// A credential of the profile (client secret, password): like [`Secret::new`],
    /// and registered so that [`scrub`] removes it from any text.
    pub fn credential(value: impl Into<String>) -> Self {
        let value = value.into();
        if value.len() >= MIN_SCRUBBED
            && let Ok(mut known) = CREDENTIALS.write()
            && !known.contains(&value)
        {
            known.push(value.clone());
            // Longest first, so a secret that contains another is removed whole.
            known.sort_by_key(|k| std::cmp::Reverse(k.len()));
        }
        Self(value)
    }

    /// The secret value itself: call only where it is sent to its destination.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// `text` with every registered credential replaced by `[redacted]`, also in
/// its URL-encoded forms.
pub fn scrub(text: &str) -> String {
    let Ok(known) = CREDENTIALS.read() else {
        return text.to_owned();
    };
    let mut out = text.to_owned();
    for k in known.iter() {
        if out.contains(k.as_str()) {
            out = out.replace(k.as_str(), "[redacted]");
        }
        let encoded: String = url::form_urlencoded::byte_serialize(k.as_bytes()).collect();
        if encoded != *k && out.contains(&encoded) {
            out = out.replace(&encoded, "[redacted]");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn credentials_are_scrubbed_from_any_text() {
        let _ = Secret::credential("p@ss word-9f1e");
        let text = "GET https://idp.test/login?user=jane&password=p%40ss+word-9f1e failed; body: p@ss word-9f1e";
        let out = scrub(text);
        assert!(!out.contains("9f1e"), "{out}");
        assert_eq!(out.matches("[redacted]").count(), 2);
    }
}
