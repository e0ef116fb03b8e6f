//! Secrets (client secrets, passwords, codes, raw tokens) never reach the
//! console or any report format.

use crate::util::{oidc_conform, root};

/// Every secret value of the reference profile.
fn secrets() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("fixtures/profiles/reference.yaml")).unwrap();
    let mut out: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("secret:").or_else(|| l.trim().strip_prefix("password:")))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .collect();
    out.sort();
    out.dedup();
    assert!(out.len() >= 4, "the profile has secrets to look for: {out:?}");
    out
}

#[test]
fn no_secret_in_console_or_reports() {
    let out = tempfile::tempdir().unwrap();
    // With failures too, so failure messages and traces are in the output.
    let run = oidc_conform(&["run", "--quirk", "nonce-wrong", "--output", out.path().to_str().unwrap()]);
    assert!(run.code() == 1, "{}", run.describe());
    let mut texts = vec![("stdout".to_owned(), run.stdout()), ("stderr".to_owned(), run.stderr())];
    for e in std::fs::read_dir(out.path()).unwrap() {
        let p = e.unwrap().path();
        texts.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
    }
    assert!(
        texts.len() >= 4,
        "every format was written: {:?}",
        texts.iter().map(|t| &t.0).collect::<Vec<_>>()
    );
    for (name, text) in &texts {
        for s in secrets() {
            assert!(!text.contains(&s), "{name} contains the secret {s:?}");
        }
        // No raw JWT (three base64url parts starting with a JSON header) either.
        assert!(
            !text.contains("eyJhbGciOi") && !text.contains("eyJ0eXAiOi"),
            "{name} contains a raw token"
        );
    }
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.path().join("run.json")).unwrap()).unwrap();
    for c in report["cases"].as_array().unwrap() {
        if let Some(resp) = c["authorization_response"].as_object()
            && let Some(code) = resp.get("code")
        {
            assert_eq!(code, "[redacted]", "authorization codes are redacted");
        }
    }
}
