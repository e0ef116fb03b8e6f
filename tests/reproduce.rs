//! Reproductions: the `curl` commands the reports give for failing checks
//! really replay the exchange. The embedded provider runs here with faults
//! that make plain HTTP checks fail (discovery, JWK Set, token, userinfo,
//! revocation, introspection, registration, pushed authorization); each
//! command is taken from `summary.md`, run with its variables set to the
//! values this test knows, and must get the status and the answer the report
//! shows. No credential is in any report or the console.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use oidc_conform::reference::{Quirk, ReferenceProvider};
use serde_json::Value;

use crate::util::{oidc_conform, read_report, with_quirks, write_profile};

/// One reproduction as `summary.md` shows it.
#[derive(Debug)]
struct Repro {
    /// `step: METHOD URL → status`
    title: String,
    /// The exchange's text (`> request`, `< answer` lines).
    exchange: Vec<String>,
    /// The replay: `# …` comments naming the variables, then the command.
    script: Option<String>,
}

impl Repro {
    fn status(&self) -> u16 {
        self.exchange
            .iter()
            .find_map(|l| l.strip_prefix("< HTTP "))
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| panic!("no status in {self:#?}"))
    }

    /// The body excerpt of the answer, as the report shows it.
    fn body(&self) -> Option<&str> {
        let at = self.exchange.iter().position(|l| l == "<")?;
        self.exchange.get(at + 1).and_then(|l| l.strip_prefix("< "))
    }

    /// The variables the script says to set, with what to set them to.
    fn vars(&self) -> BTreeMap<String, String> {
        self.script
            .iter()
            .flat_map(|s| s.lines())
            .filter_map(|l| l.strip_prefix("#   "))
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}

/// The reproductions of a `summary.md`: each `<details>` block with its
/// `text` block and its `sh` block.
fn reproductions(md: &str) -> Vec<Repro> {
    let mut out = Vec::new();
    let mut lines = md.lines().map(str::trim_start).peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("<details><summary>Reproduction of ") else {
            continue;
        };
        let title = rest
            .split_once(": ")
            .map(|(_, t)| t.trim_end_matches("</summary>").replace("&gt;", ">").replace("&amp;", "&"))
            .unwrap_or_default();
        let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
        let mut current: Option<(String, String, Vec<String>)> = None;
        for l in lines.by_ref() {
            if l == "</details>" {
                break;
            }
            match &mut current {
                None if l.starts_with("```") => {
                    let fence: String = l.chars().take_while(|c| *c == '`').collect();
                    current = Some((fence.clone(), l[fence.len()..].to_owned(), Vec::new()));
                }
                Some((fence, _, _)) if l == fence.as_str() => {
                    let (_, lang, body) = current.take().unwrap();
                    blocks.push((lang, body));
                }
                Some((_, _, body)) => body.push(l.to_owned()),
                None => {}
            }
        }
        let block = |lang: &str| blocks.iter().find(|(l, _)| l == lang).map(|(_, b)| b.clone());
        out.push(Repro {
            title,
            exchange: block("text").expect("every reproduction shows its exchange"),
            script: block("sh").map(|b| b.join("\n")),
        });
    }
    out
}

/// The answer to a replay: `curl -i` output, split.
fn replay(script: &str, env: &BTreeMap<String, String>) -> (u16, String) {
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env)
        .output()
        .expect("bash runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the replay failed: {script}\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text}"));
    (status, body.to_owned())
}

/// Members whose values differ from one request to the next (new clients,
/// new request URIs, times) or by the token used: only their presence counts.
const VOLATILE: &[&str] = &[
    "client_id",
    "client_id_issued_at",
    "client_secret_expires_at",
    "request_uri",
    "expires_in",
    "exp",
    "iat",
    "jti",
    "scope",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "registration_access_token",
];

/// The replay's answer says what the report's did: a body cut short is the
/// start of the replay's; a whole JSON body has the same members, and the
/// same values but for [`VOLATILE`] ones.
fn same_answer(title: &str, shown: &str, cut: bool, got: &str) {
    let got_json: Option<Value> = serde_json::from_str(got).ok();
    if cut {
        let compact = got_json.map(|v| v.to_string()).unwrap_or_else(|| got.to_owned());
        assert!(
            compact.starts_with(shown),
            "{title}: the replay's answer starts otherwise:\n{compact}\nnot\n{shown}"
        );
        return;
    }
    match (serde_json::from_str::<Value>(shown), got_json) {
        (Ok(Value::Object(want)), Some(Value::Object(have))) => {
            let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<BTreeSet<_>>();
            assert_eq!(keys(&want), keys(&have), "{title}: the members differ");
            for (k, v) in &want {
                if !VOLATILE.contains(&k.as_str()) {
                    assert_eq!(Some(v), have.get(k), "{title}: `{k}` differs");
                }
            }
        }
        (Ok(want), Some(have)) => assert_eq!(want, have, "{title}"),
        _ => assert_eq!(shown, got.trim(), "{title}"),
    }
}

/// Runs the cases matching `filter` against the provider and returns the output directory's reports.
fn run_cases(dir: &Path, profile: &Path, filter: &str) -> (String, String, String, Value) {
    let out = dir.join(filter.replace("::", "-"));
    let run = oidc_conform(&[
        "run",
        filter,
        "--provider",
        profile.to_str().unwrap(),
        "--no-preflight",
        "--verbose",
        "--output",
        out.to_str().unwrap(),
    ]);
    // 1 with a failure, 0 with warnings only.
    assert!(matches!(run.code(), 0 | 1), "{filter}\n{}", run.describe());
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    (md, html, format!("{}{}", run.stdout(), run.stderr()), read_report(&out))
}

#[test]
fn the_curl_commands_of_the_reports_replay_the_failing_exchanges() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let profile_of = |rp: &ReferenceProvider, name: &str| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        write_profile(&d, rp.issuer(), &[])
    };
    // The profile's credentials: what the variables are set to, and what no output may hold.
    let reference = oidc_conform::run::reference_profile("http://127.0.0.1:8787").unwrap();
    let secrets: BTreeMap<String, String> = reference
        .clients
        .iter()
        .filter_map(|(k, c)| Some((k.clone(), c.secret.as_ref()?.expose().to_owned())))
        .collect();
    let password = reference.users["jane"].password.expose().to_owned();

    // Discovery and the JWK Set, on a provider of their own.
    let metadata = rt
        .block_on(ReferenceProvider::start(with_quirks(&[
            Quirk::DiscoveryNoSubjectTypes,
            Quirk::JwksDuplicateKid,
        ])))
        .unwrap();
    let mut runs = vec![(
        metadata.issuer().to_owned(),
        run_cases(dir.path(), &profile_of(&metadata, "m"), "security::provider-metadata"),
    )];
    let rp = rt
        .block_on(ReferenceProvider::start(with_quirks(&[
            Quirk::ClientCredentialsRefreshToken,
            Quirk::UserinfoSubDiffers,
            Quirk::RevocationUnknownTokenError,
            Quirk::IntrospectionUnknownTokenError,
            Quirk::RegistrationStatus200,
            Quirk::ParStatus200,
        ])))
        .unwrap();
    let profile = profile_of(&rp, "p");
    for filter in [
        "flows::client-credentials-basic",
        "flows::client-credentials-post",
        "basics::openid-only",
        "lifecycle::revoke-unknown-token",
        "lifecycle::introspect",
        "registration::register-and-sign-in",
        "par::push",
    ] {
        runs.push((rp.issuer().to_owned(), run_cases(dir.path(), &profile, filter)));
    }

    // An access token of jane's, as a developer would get one (the password grant).
    let token = Command::new("curl")
        .args(["-sS", "-X", "POST", &format!("{}/oauth/token", rp.issuer())])
        .args(["--data-urlencode", "grant_type=password", "--data-urlencode", "username=jane"])
        .args([
            "--data-urlencode",
            &format!("password={password}"),
            "--data-urlencode",
            "scope=openid",
        ])
        .args(["--data-urlencode", "client_id=legacy-app"])
        .args(["--data-urlencode", &format!("client_secret={}", secrets["legacy"])])
        .output()
        .unwrap();
    let token: Value = serde_json::from_slice(&token.stdout).expect("the token endpoint answers JSON");
    let access_token = token["access_token"].as_str().expect("an access token").to_owned();

    let mut replayed: BTreeSet<String> = BTreeSet::new();
    for (issuer, (md, html, console, report)) in &runs {
        let repros = reproductions(md);
        assert!(!repros.is_empty(), "summary.md has reproductions:\n{md}");
        for r in &repros {
            let Some(script) = &r.script else {
                assert!(
                    r.title.starts_with("authorization request"),
                    "only the front channel has no replay: {r:#?}"
                );
                assert!(r.exchange[0].starts_with("open in a browser: "), "{r:#?}");
                continue;
            };
            // Loopback only: the command goes where the run went.
            let url = script.lines().find(|l| l.trim_start().starts_with('\'')).unwrap_or_default();
            assert!(url.trim_start().starts_with(&format!("'{issuer}/")), "{url}");
            let mut env = BTreeMap::new();
            let mut replayable = true;
            for (var, about) in r.vars() {
                let value = match var.as_str() {
                    // A client of the profile (one the case registered has a secret only it knows).
                    "CLIENT_SECRET" => match secrets.get(about.split('`').nth(1).expect("the client is named")) {
                        Some(s) => s.clone(),
                        None => {
                            replayable = false;
                            break;
                        }
                    },
                    "ACCESS_TOKEN" => access_token.clone(),
                    "PASSWORD" => password.clone(),
                    // One-time values (codes, refresh tokens, assertions): not replayed here.
                    _ => {
                        replayable = false;
                        break;
                    }
                };
                env.insert(var, value);
            }
            if !replayable {
                continue;
            }
            let (status, body) = replay(script, &env);
            assert_eq!(status, r.status(), "{}: the replay's status\n{script}\n{body}", r.title);
            if let Some(shown) = r.body() {
                let cut = shown.contains(" bytes in all)");
                let shown = shown.split(" … (").next().unwrap_or(shown);
                same_answer(&r.title, shown, cut, &body);
            }
            replayed.insert(r.title.split(':').next().unwrap_or_default().to_owned());
        }
        // The reports and the console carry the reproductions, and no credential.
        assert!(html.contains("class=\"curl\""), "report.html shows the commands");
        assert!(
            console.contains("replay:") && console.contains("curl -sS -i"),
            "--verbose shows them:\n{console}"
        );
        let json = report.to_string();
        assert!(json.contains("\"exchanges\""), "run.json keeps them");
        for (what, text) in [
            ("summary.md", md.as_str()),
            ("report.html", html),
            ("console", console),
            ("run.json", &json),
        ] {
            for (client, secret) in &secrets {
                assert!(!text.contains(secret.as_str()), "{what} holds the secret of {client}");
            }
            assert!(!text.contains(&password), "{what} holds the password");
        }
    }
    for step in [
        "discovery",
        "JWK Set",
        "token request",
        "userinfo",
        "revocation",
        "introspection",
        "client registration",
        "pushed authorization request",
    ] {
        assert!(replayed.contains(step), "a {step} was replayed: {replayed:?}");
    }
    rt.block_on(async {
        metadata.shutdown().await;
        rp.shutdown().await;
    });
}
