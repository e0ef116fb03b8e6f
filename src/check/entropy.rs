//! RFC 6749 §10.10: codes and tokens must be infeasible to guess (at most a
//! 2^-128 chance, and SHOULD be 2^-160). What the harness sees is an upper bound
//! of a value's entropy: its length times the bits of the alphabet it draws
//! from. A value under 128 bits by that bound is guessable for certain.

use super::CheckResult;
use crate::flow::Evidence;

/// Upper bound of the entropy of `value` in bits: length × log2(alphabet),
/// the alphabet read from the character classes the value uses (hex, digits,
/// letters of each case, each other symbol seen).
pub fn estimate_bits(value: &str) -> f64 {
    let n = value.chars().count();
    if n == 0 {
        return 0.0;
    }
    let all_hex = value.chars().all(|c| c.is_ascii_hexdigit());
    let lower = value.chars().any(|c| c.is_ascii_lowercase());
    let upper = value.chars().any(|c| c.is_ascii_uppercase());
    let digit = value.chars().any(|c| c.is_ascii_digit());
    let alphabet = if all_hex && !(lower && upper) {
        if lower || upper { 16 } else { 10 }
    } else {
        let mut others: Vec<char> = value.chars().filter(|c| !c.is_ascii_alphanumeric()).collect();
        others.sort_unstable();
        others.dedup();
        let mut a = others.len();
        if digit {
            a += 10;
        }
        if lower {
            a += 26;
        }
        if upper {
            a += 26;
        }
        a.max(2)
    };
    n as f64 * (alphabet as f64).log2()
}

/// A JWT (three base64url parts): its strength is its signature, not its length.
fn is_jwt(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3 && parts.iter().take(2).all(|p| p.len() > 4)
}

/// The verdicts on the codes and opaque tokens of a flow: `tokens.entropy`
/// (MUST, 128 bits) and `tokens.entropy_160` (SHOULD).
pub fn check(ev: &Evidence) -> Vec<CheckResult> {
    let mut sample: Vec<(&'static str, f64)> = Vec::new();
    for set in &ev.token_sets {
        if let Some(c) = &set.code {
            sample.push(("authorization code", estimate_bits(c.expose())));
        }
        if let Some(t) = set.access_token.as_ref().filter(|t| !is_jwt(t.expose())) {
            sample.push(("access token", estimate_bits(t.expose())));
        }
        if let Some(t) = &set.refresh_token {
            sample.push(("refresh token", estimate_bits(t.expose())));
        }
    }
    sample.dedup_by(|a, b| a.0 == b.0);
    if sample.is_empty() {
        return vec![CheckResult::skip(
            "tokens.entropy",
            "the flow yielded no code or opaque token to judge",
        )];
    }
    let shown = |min: f64| -> String {
        sample
            .iter()
            .filter(|(_, b)| *b < min)
            .map(|(k, b)| format!("{k}: at most {b:.0} bits"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let all = sample.iter().map(|(k, b)| format!("{k} ≤ {b:.0}")).collect::<Vec<_>>().join(", ");
    [
        (
            "tokens.entropy",
            128.0,
            "a code or token is too short to carry 128 bits: it can be guessed",
            "at least 128 bits (length × bits per character)",
        ),
        (
            "tokens.entropy_160",
            160.0,
            "a code or token carries less than the 160 bits RFC 6749 §10.10 recommends",
            "at least 160 bits",
        ),
    ]
    .into_iter()
    .map(|(id, min, failure, expected)| {
        let below = shown(min);
        if below.is_empty() {
            CheckResult::pass(id, format!("every value can carry {min:.0} bits or more ({all} bits)"))
        } else {
            CheckResult::fail(id, failure).ef(expected, below)
        }
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_on_known_inputs() {
        // 32 hex characters: 128 bits.
        assert_eq!(estimate_bits("0123456789abcdef0123456789abcdef").round(), 128.0);
        // 43 base64url characters using all 64: 258 bits.
        let b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm-_01";
        assert_eq!(estimate_bits(b64).round(), 258.0);
        // Digits only: 8 of them are 27 bits.
        assert_eq!(estimate_bits("12345678").round(), 27.0);
        // 30 alphanumerics (django-oauth-toolkit's length): about 179 bits.
        assert_eq!(estimate_bits("aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1").round(), 179.0);
        assert_eq!(estimate_bits(""), 0.0);
        assert!(is_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.sig"));
        assert!(!is_jwt("abc.def"));
    }
}
