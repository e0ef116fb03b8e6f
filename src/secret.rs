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

/// The registered credentials, in levels of matchers (each value and its
/// [`forms`]). A new credential gets a level of its own, and two levels of the
/// same size are merged into one: every credential is compiled into a matcher
/// about log₂(n) times however many a long process collects (a test process
/// registers thousands), and scrubbing a text costs one pass per level, at
/// most about log₂(n) of them.
struct Credentials {
    values: Vec<String>,
    levels: Vec<Level>,
}

/// Some of the credentials and one matcher over all their forms.
struct Level {
    values: Vec<String>,
    matchers: Arc<Matchers>,
}

impl Credentials {
    const fn new() -> Self {
        Self {
            values: Vec::new(),
            levels: Vec::new(),
        }
    }

    fn add(&mut self, value: &str) {
        if self.values.iter().any(|v| v == value) {
            return;
        }
        self.values.push(value.to_owned());
        let mut values = vec![value.to_owned()];
        while self.levels.last().is_some_and(|l| l.values.len() <= values.len()) {
            if let Some(last) = self.levels.pop() {
                values.extend(last.values);
            }
        }
        match Matchers::build(&values) {
            Some(matchers) => self.levels.push(Level {
                values,
                matchers: Arc::new(matchers),
            }),
            // Not expected (the patterns are plain strings); the value stays
            // known and is compiled with the next merge.
            None => self.values.retain(|v| v != value),
        }
    }

    fn matchers(&self) -> Vec<Arc<Matchers>> {
        self.levels.iter().map(|l| l.matchers.clone()).collect()
    }
}

/// The forms of a credential that [`scrub`] removes (besides any case and
/// white space between its characters): as is, URL-encoded, and base64
/// (standard and URL-safe, on its own or inside a longer base64 text).
pub fn forms(value: &str) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut out = vec![value.to_owned()];
    out.push(url::form_urlencoded::byte_serialize(value.as_bytes()).collect());
    out.push(
        value
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect(),
    );
    // base64 of the value after 0, 1 or 2 other bytes: the characters that
    // depend on the value alone (those at the edges also depend on its neighbours).
    for lead in 0..3usize {
        let mut bytes = vec![0u8; lead];
        bytes.extend_from_slice(value.as_bytes());
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let enc = engine.encode(&bytes);
            let skip = (lead * 4).div_ceil(3);
            let keep = (value.len() + lead) * 4 / 3;
            let inner: String = enc.chars().take(keep).skip(skip).collect();
            let inner = if lead == 0 { enc.clone() } else { inner };
            if lead == 0 {
                // Its tail may also depend on what follows: the stable part too.
                let stable = value.len() / 3 * 4;
                if stable >= MIN_SCRUBBED {
                    out.push(enc[..stable].to_owned());
                }
            }
            if inner.len() >= MIN_SCRUBBED {
                out.push(inner);
            }
        }
    }
    out.retain(|f| f.len() >= MIN_SCRUBBED);
    out.sort();
    out.dedup();
    out
}

/// The matchers of [`scrub`]: the forms as they are, and without white space.
struct Matchers {
    whole: AhoCorasick,
    spaced: AhoCorasick,
}

impl Matchers {
    fn build(values: &[String]) -> Option<Self> {
        let mut patterns: Vec<String> = Vec::with_capacity(values.len() * 8);
        for v in values {
            patterns.extend(forms(v));
        }
        patterns.sort();
        patterns.dedup();
        // White space removed: for the spaced-out forms (`h u n t e r 2`).
        let mut stripped: Vec<String> = patterns
            .iter()
            .map(|p| p.split_whitespace().collect::<String>())
            .filter(|p| p.len() >= MIN_SCRUBBED)
            .collect();
        stripped.sort();
        stripped.dedup();
        // Leftmost-longest: a secret that contains another is removed whole.
        let build = |p: &[String]| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .ascii_case_insensitive(true)
                .build(p)
                .ok()
        };
        Some(Self {
            whole: build(&patterns)?,
            spaced: build(&stripped)?,
        })
    }
}

/// Overlapping ranges joined (the input in any order): a credential found by
/// one level inside another found by another is removed whole.
fn joined(mut spans: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    spans.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match out.last_mut() {
            Some(last) if start < last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// Shortest value scrubbed by value wherever it appears: shorter ones would
/// match ordinary text (a client secret `http` would blank out every URL of a
/// report, so a provider could hide evidence). A shorter credential is still
/// redacted where it is a credential (form fields, query parameters and
/// headers named as such), and the run reports it as weak ([`weak`]).
pub const MIN_SCRUBBED: usize = 8;

/// Credentials too short to be scrubbed by value (how many were seen).
static WEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many credentials of this process are shorter than [`MIN_SCRUBBED`]:
/// weak as secrets, and not scrubbed by value from report text.
pub fn weak() -> usize {
    WEAK.load(std::sync::atomic::Ordering::Relaxed)
}

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
        if value.len() < MIN_SCRUBBED {
            if !value.is_empty() {
                WEAK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        } else if let Ok(mut known) = CREDENTIALS.write() {
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

/// The byte ranges of `text` that hold a registered credential (in any of
/// its [`forms`], any case), in order and without overlaps.
pub fn credential_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let spans = matchers()
        .iter()
        .flat_map(|m| m.whole.find_iter(text).map(|found| (found.start(), found.end())))
        .collect();
    joined(spans).into_iter().map(|(start, end)| start..end).collect()
}

fn matchers() -> Vec<Arc<Matchers>> {
    match CREDENTIALS.read() {
        Ok(known) => known.matchers(),
        // A writer panicked mid-update: scrub with what is there.
        Err(poisoned) => poisoned.into_inner().matchers(),
    }
}

/// `text` with every registered credential replaced by `[redacted]`, in any
/// of its [`forms`], in any case, and spaced out.
pub fn scrub(text: &str) -> String {
    let levels = matchers();
    if levels.is_empty() {
        return text.to_owned();
    }
    let mut out = text.to_owned();
    let spans = joined(
        levels
            .iter()
            .flat_map(|m| m.whole.find_iter(text).map(|hit| (hit.start(), hit.end())))
            .collect(),
    );
    for (start, end) in spans.into_iter().rev() {
        out.replace_range(start..end, "[redacted]");
    }
    // Spaced out (`h u n t e r 2`, `HUNTER 2`): looked for with the white space removed.
    if out.chars().any(char::is_whitespace) {
        let stripped: String = out.chars().filter(|c| !c.is_whitespace()).collect();
        let hits: Vec<(usize, usize)> = levels
            .iter()
            .flat_map(|m| m.spaced.find_iter(&stripped).map(|hit| (hit.start(), hit.end())))
            .collect();
        if hits.is_empty() {
            return out;
        }
        // Where each kept character stands in the text (only for a text with a hit).
        let at: Vec<usize> = out.char_indices().filter(|(_, c)| !c.is_whitespace()).map(|(i, _)| i).collect();
        let spans: Vec<(usize, usize)> = hits
            .into_iter()
            .map(|(hit_start, hit_end)| {
                // Back to the text: from the first character's start to the last one's end.
                let start = stripped[..hit_start].chars().count();
                let last = stripped[..hit_end].chars().count() - 1;
                let end = at[last] + out[at[last]..].chars().next().map_or(1, char::len_utf8);
                (at[start], end)
            })
            .collect();
        for (start, end) in joined(spans).into_iter().rev() {
            out.replace_range(start..end, "[redacted]");
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
    fn every_form_of_a_credential_is_scrubbed() {
        let pw = "Corr3ct-Horse-7731";
        let _ = Secret::credential(pw);
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("jane:{pw}"));
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("x{pw}y"));
        for text in [
            format!("shown: {pw}"),
            format!("shown: {}", pw.to_uppercase()),
            format!("shown: {}", pw.to_lowercase()),
            format!("shown: {}", pw.chars().map(|c| format!("{c} ")).collect::<String>()),
            format!("shown: {}", url::form_urlencoded::byte_serialize(pw.as_bytes()).collect::<String>()),
            format!("Authorization: Basic {b64}"),
            format!("blob {b64url} end"),
        ] {
            let out = scrub(&text);
            assert!(out.contains("[redacted]"), "{text} → {out}");
            assert!(!out.to_lowercase().contains("horse"), "{text} → {out}");
        }
        // Ordinary text around it stays.
        assert_eq!(scrub(&format!("a {pw} b")), "a [redacted] b");
    }

    #[test]
    fn a_short_credential_is_weak_and_not_scrubbed_by_value() {
        let before = weak();
        let _ = Secret::credential("http");
        assert!(weak() > before);
        assert_eq!(scrub("http://idp.test/ and https://x"), "http://idp.test/ and https://x");
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
    fn overlapping_finds_are_joined() {
        assert_eq!(joined(vec![(5, 9), (0, 3), (2, 4), (9, 10)]), vec![(0, 4), (5, 9), (9, 10)]);
        assert_eq!(joined(vec![(0, 10), (2, 4)]), vec![(0, 10)]);
        assert!(joined(Vec::new()).is_empty());
    }

    #[test]
    fn credentials_in_different_levels_are_scrubbed_whole() {
        // The longer one first, then enough others that the shorter one lands in another level.
        let _ = Secret::credential("lvl-secret-abcdef-and-more");
        for i in 0..5 {
            let _ = Secret::credential(format!("lvl-filler-{i:04}-xyz"));
        }
        let _ = Secret::credential("lvl-secret-abcdef");
        assert_eq!(
            scrub("x lvl-secret-abcdef-and-more y lvl-secret-abcdef z"),
            "x [redacted] y [redacted] z"
        );
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
