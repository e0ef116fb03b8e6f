//! RFC 6749 §10.10: "The probability of an attacker guessing generated tokens
//! (and other credentials not intended for handling by end-users) MUST be less
//! than or equal to 2^(-128) and SHOULD be less than or equal to 2^(-160)"; the
//! rule binds the authorization server. What the harness can see is an upper
//! bound of a value's entropy. With one value: its length times the bits of the
//! alphabet it draws from. With a sample of values of one length: the sum over
//! character positions of the bits of what each position shows across the
//! sample, so that positions that never change (a UUID's version digit and
//! hyphens) count nothing and positions drawn from a smaller alphabet (its
//! variant digit) count less. A value under 128 bits by that bound is guessable.

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
    n as f64 * (alphabet_of(value.chars()) as f64).log2()
}

/// Samples needed before positions are judged one by one (a random position
/// looks constant across 8 values with a chance of at most 10^-7 for digits).
pub const MIN_POSITIONAL: usize = 8;

/// The chance under which a position's few characters are taken for a smaller
/// alphabet: a uniform draw from the whole alphabet would show that few with at
/// most this probability (a union bound over every subset of that size).
const REDUCED_SIGNIFICANCE: f64 = 1e-6;

/// What the estimate over a sample of one kind of value found.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// Upper bound of the entropy of one value, in bits.
    pub bits: f64,
    /// Values judged.
    pub samples: usize,
    /// Judged position by position (enough values, all of one length).
    pub positional: bool,
    /// Positions that never changed across the sample.
    pub constant: usize,
    /// Positions that showed fewer characters than the alphabet, significantly.
    pub reduced: usize,
}

impl Estimate {
    fn describe(&self) -> String {
        if self.positional {
            let mut s = format!("about {:.0} bits over {} samples", self.bits, self.samples);
            let mut notes = Vec::new();
            if self.constant > 0 {
                notes.push(format!("{} position(s) never change", self.constant));
            }
            if self.reduced > 0 {
                notes.push(format!("{} draw from fewer characters", self.reduced));
            }
            if !notes.is_empty() {
                s.push_str(&format!(" ({})", notes.join(", ")));
            }
            s
        } else {
            format!("at most {:.0} bits (length × alphabet)", self.bits)
        }
    }
}

/// The alphabet size a set of characters suggests (as [`estimate_bits`] reads it).
fn alphabet_of(chars: impl Iterator<Item = char> + Clone) -> usize {
    let all_hex = chars.clone().all(|c| c.is_ascii_hexdigit());
    let lower = chars.clone().any(|c| c.is_ascii_lowercase());
    let upper = chars.clone().any(|c| c.is_ascii_uppercase());
    let digit = chars.clone().any(|c| c.is_ascii_digit());
    if all_hex && !(lower && upper) {
        return if lower || upper { 16 } else { 10 };
    }
    let mut others: Vec<char> = chars.filter(|c| !c.is_ascii_alphanumeric()).collect();
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
}

/// `n choose k` as a float (small arguments).
fn choose(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// The entropy of one value drawn like those of `values`, estimated position
/// by position where the sample allows (see the module's doc), else the
/// smallest [`estimate_bits`] of the values.
pub fn estimate_sample(values: &[&str]) -> Estimate {
    let n = values.len();
    let per_value = || Estimate {
        bits: if n == 0 {
            0.0
        } else {
            values.iter().map(|v| estimate_bits(v)).fold(f64::INFINITY, f64::min)
        },
        samples: n,
        positional: false,
        constant: 0,
        reduced: 0,
    };
    let len = values.first().map(|v| v.chars().count()).unwrap_or(0);
    if n < MIN_POSITIONAL || len == 0 || values.iter().any(|v| v.chars().count() != len) {
        return per_value();
    }
    let columns: Vec<Vec<char>> = {
        let rows: Vec<Vec<char>> = values.iter().map(|v| v.chars().collect()).collect();
        (0..len)
            .map(|i| {
                let mut col: Vec<char> = rows.iter().map(|r| r[i]).collect();
                col.sort_unstable();
                col.dedup();
                col
            })
            .collect()
    };
    // The alphabet is read from the positions that vary.
    let varying: Vec<char> = columns.iter().filter(|c| c.len() > 1).flatten().copied().collect();
    if varying.is_empty() {
        return Estimate {
            bits: 0.0,
            samples: n,
            positional: true,
            constant: len,
            reduced: 0,
        };
    }
    let a = alphabet_of(varying.iter().copied());
    let mut est = Estimate {
        bits: 0.0,
        samples: n,
        positional: true,
        constant: 0,
        reduced: 0,
    };
    for col in &columns {
        let k = col.len();
        // How likely n uniform draws from `a` characters show at most k of them.
        let chance = choose(a, k.min(a)) * (k.min(a) as f64 / a as f64).powi(n as i32);
        if k < a && chance <= REDUCED_SIGNIFICANCE {
            if k == 1 {
                est.constant += 1;
            } else {
                est.reduced += 1;
                est.bits += (k as f64).log2();
            }
        } else {
            est.bits += (a as f64).log2();
        }
    }
    est
}

/// A JWT (three base64url parts): its strength is its signature, not its length.
fn is_jwt(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3 && parts.iter().take(2).all(|p| p.len() > 4)
}

/// The verdicts on the codes and opaque tokens of a flow and its samples
/// (`request.samples`): `tokens.entropy` (MUST, 128 bits) and
/// `tokens.entropy_160` (SHOULD).
pub fn check(ev: &Evidence) -> Vec<CheckResult> {
    let mut kinds: Vec<(&'static str, Vec<&str>)> = vec![
        ("authorization code", Vec::new()),
        ("access token", Vec::new()),
        ("refresh token", Vec::new()),
    ];
    for set in ev.token_sets.iter().chain(&ev.samples) {
        let found = [
            set.code.as_ref(),
            set.access_token.as_ref().filter(|t| !is_jwt(t.expose())),
            set.refresh_token.as_ref(),
        ];
        for (kind, value) in kinds.iter_mut().zip(found) {
            if let Some(v) = value.map(|v| v.expose())
                && !kind.1.contains(&v)
            {
                kind.1.push(v);
            }
        }
    }
    let sample: Vec<(&'static str, Estimate)> = kinds
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, estimate_sample(&v)))
        .collect();
    if sample.is_empty() {
        return vec![CheckResult::skip(
            "tokens.entropy",
            "the flow yielded no code or opaque token to judge",
        )];
    }
    let shown = |min: f64| -> String {
        sample
            .iter()
            .filter(|(_, e)| e.bits < min)
            .map(|(k, e)| format!("{k}: {}", e.describe()))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let all = sample
        .iter()
        .map(|(k, e)| format!("{k}: {}", e.describe()))
        .collect::<Vec<_>>()
        .join("; ");
    [
        (
            "tokens.entropy",
            128.0,
            "RFC 6749 §10.10: the chance of guessing a code or token MUST be at most 2^-128, and one carries less than 128 bits: it can be guessed",
            "at least 128 bits per value",
        ),
        (
            "tokens.entropy_160",
            160.0,
            "RFC 6749 §10.10: the chance of guessing a code or token SHOULD be at most 2^-160, and one carries less than 160 bits",
            "at least 160 bits per value",
        ),
    ]
    .into_iter()
    .map(|(id, min, failure, expected)| {
        let below = shown(min);
        if below.is_empty() {
            CheckResult::pass(id, format!("every value can carry {min:.0} bits or more ({all})"))
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

    fn random_bytes<const N: usize>() -> [u8; N] {
        let mut b = [0u8; N];
        aws_lc_rs::rand::fill(&mut b).unwrap();
        b
    }

    fn uuid_v4() -> String {
        let mut b: [u8; 16] = random_bytes();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
    }

    fn estimate_of(values: &[String]) -> Estimate {
        estimate_sample(&values.iter().map(String::as_str).collect::<Vec<_>>())
    }

    #[test]
    fn uuid_v4_is_under_128_bits_position_by_position() {
        // One UUID alone: 36 characters of 17 (hex and `-`): the old bound, far over 128.
        let one = uuid_v4();
        assert!(estimate_bits(&one) > 128.0);
        // 16 of them: the version digit and the 4 hyphens never change, the variant
        // digit shows at most 4 characters: 30 × 4 bits + at most 2 = 122.
        let values: Vec<String> = (0..16).map(|_| uuid_v4()).collect();
        let e = estimate_of(&values);
        assert!(e.positional);
        assert_eq!(e.constant, 5, "{e:?}");
        assert!(e.bits < 128.0 && e.bits >= 120.0, "{e:?}");
        assert!(e.bits <= 122.0 + 1e-9, "{e:?}");
        // 8 of them: the constant positions are found already (at most 124 bits).
        let e = estimate_of(&values[..8]);
        assert!(e.bits <= 124.0 + 1e-9 && e.constant == 5, "{e:?}");
    }

    #[test]
    fn random_tokens_keep_their_bits() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        // 32 random bytes, base64url (node oidc-provider, the reference provider): about 258.
        let values: Vec<String> = (0..16).map(|_| b64.encode(random_bytes::<32>())).collect();
        let e = estimate_of(&values);
        assert!(e.bits > 250.0 && e.constant == 0, "{e:?}");
        // 128 random bits in hex: exactly 128, not under.
        let values: Vec<String> = (0..16)
            .map(|_| random_bytes::<16>().iter().map(|x| format!("{x:02x}")).collect())
            .collect();
        let e = estimate_of(&values);
        assert_eq!(e.bits.round(), 128.0, "{e:?}");
        // A fixed prefix counts nothing: "ory_ac_" + 32 random bytes.
        let values: Vec<String> = (0..16).map(|_| format!("ory_ac_{}", b64.encode(random_bytes::<32>()))).collect();
        let e = estimate_of(&values);
        assert_eq!(e.constant, 7, "{e:?}");
        assert!(e.bits > 250.0, "{e:?}");
    }

    #[test]
    fn small_or_ragged_samples_fall_back_to_the_length_bound() {
        let values = ["abcdefghij", "klmnopqrst"];
        let e = estimate_sample(&values);
        assert!(!e.positional);
        assert_eq!(e.bits.round(), estimate_bits("abcdefghij").round());
        let ragged: Vec<String> = (0..10).map(|i| "x".repeat(40 + i)).collect();
        assert!(!estimate_of(&ragged).positional);
        // The same value over and over carries nothing.
        let same: Vec<String> = (0..10).map(|_| "f".repeat(40)).collect();
        assert_eq!(estimate_of(&same).bits, 0.0);
    }
}
