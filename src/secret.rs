//! Secret values (client secrets, passwords, codes, raw tokens) whose `Debug`
//! and `Display` never show the value, so no log line, error or report can leak
//! one by accident.

use std::fmt;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};

/// Credentials of the profile (client secrets, passwords) and of clients the
/// harness registered, in use by this process: every text that leaves the
/// harness is scrubbed of them ([`scrub`]), whatever path it took (an error
/// message quoting a URL, a page echoing a form).
static CREDENTIALS: RwLock<Credentials> = RwLock::new(Credentials::new());

/// The registered credentials and one matcher over all of them (each value and
/// its URL-encoded form), so that scrubbing a text costs one pass over it however
/// many credentials a long process has collected.
struct Credentials {
    values: Vec<String>,
    /// Built on the first scrub after a credential was added.
    matcher: Option<Arc<AhoCorasick>>,
    stale: bool,
}

impl Credentials {
    const fn new() -> Self {
        Self {
            values: Vec::new(),
            matcher: None,
            stale: false,
        }
    }

    fn add(&mut self, value: &str) {
        if self.values.iter().any(|v| v == value) {
            return;
        }
        self.values.push(value.to_owned());
        self.stale = true;
    }

    fn matcher(&mut self) -> Option<Arc<AhoCorasick>> {
        if self.stale {
            let mut patterns: Vec<String> = Vec::with_capacity(self.values.len() * 2);
            for v in &self.values {
                let encoded: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                if encoded != *v {
                    patterns.push(encoded);
                }
                patterns.push(v.clone());
            }
            // Leftmost-longest: a secret that contains another is removed whole.
            self.matcher = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .ok()
                .map(Arc::new);
            self.stale = false;
        }
        self.matcher.clone()
    }
}

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
        {
            known.add(&value);
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

/// The byte ranges of `text` that hold a registered credential (or its
/// URL-encoded form), in order and without overlaps.
pub fn credential_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    match matcher() {
        Some(m) => m.find_iter(text).map(|found| found.range()).collect(),
        None => Vec::new(),
    }
}

fn matcher() -> Option<Arc<AhoCorasick>> {
    let fresh = match CREDENTIALS.read() {
        Ok(known) if !known.stale => Some(known.matcher.clone()),
        _ => None,
    };
    match fresh {
        Some(matcher) => matcher,
        None => match CREDENTIALS.write() {
            Ok(mut known) => known.matcher(),
            // A writer panicked mid-update: scrub with what is there.
            Err(poisoned) => poisoned.into_inner().matcher(),
        },
    }
}

/// `text` with every registered credential replaced by `[redacted]`, also in
/// its URL-encoded forms.
pub fn scrub(text: &str) -> String {
    let Some(matcher) = matcher() else {
        return text.to_owned();
    };
    if !matcher.is_match(text) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    matcher.replace_all_with(text, &mut out, |_, _, dst| {
        dst.push_str("[redacted]");
        true
    });
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

    #[test]
    fn a_credential_containing_another_is_scrubbed_whole() {
        let _ = Secret::credential("tok3n-abcd");
        let _ = Secret::credential("tok3n-abcd-longer-secret");
        let out = scrub("a tok3n-abcd-longer-secret and a tok3n-abcd");
        assert_eq!(out, "a [redacted] and a [redacted]");
    }

    #[test]
    fn many_credentials_are_all_scrubbed() {
        let values: Vec<String> = (0..500).map(|i| format!("registered-secret-{i:04}")).collect();
        for v in &values {
            let _ = Secret::credential(v.clone());
        }
        let text = values.join(" ");
        let out = scrub(&text);
        assert!(!out.contains("registered-secret"), "{out}");
        assert_eq!(out.matches("[redacted]").count(), 500);
    }
}
