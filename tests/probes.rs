//! The holes a hostile probe found, each with a test that fails if it comes back:
//! bad numbers and paths, empty selections, reports on every exit, policies on
//! what suites may read.

use crate::util::{oidc_conform, oidc_conform_in, read_report, root};

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

fn reference_profile_with(dir: &std::path::Path, extra: &str) -> String {
    let text = std::fs::read_to_string(root().join("fixtures/profiles/reference.yaml")).unwrap();
    write(dir, "profile.yaml", &format!("{text}{extra}"))
}

/// `--jobs 0` and `http.max_concurrency: 0` are refused up front (they used to hang).
#[test]
fn zero_concurrency_is_refused() {
    let run = oidc_conform(&["run", "--jobs", "0"]);
    run.expect_code(2);
    assert!(run.stderr().contains("from 1 to 1024"), "{}", run.describe());
    let dir = tempfile::tempdir().unwrap();
    let profile = reference_profile_with(dir.path(), "http: { max_concurrency: 0 }\n");
    let run = oidc_conform(&["validate", &profile]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("http.max_concurrency is 0, out of range"),
        "{}",
        run.describe()
    );
}

/// A path that does not exist is an error with a did-you-mean; a run that
/// selects nothing exits 4 and its reports say so.
#[test]
fn a_mistyped_path_or_an_empty_selection_is_never_green() {
    let run = oidc_conform(&["run", "suites/basic.yaml"]);
    run.expect_code(2);
    assert!(run.stderr().contains("did you mean `suites/basics.yaml`?"), "{}", run.describe());

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = oidc_conform(&["run", "no-case-has-this-in-its-id", "--output", out.to_str().unwrap()]);
    run.expect_code(4);
    assert!(run.stderr().contains("selected none of the"), "{}", run.describe());
    let report = read_report(&out);
    assert!(
        report["not_started"].as_str().unwrap().contains("no case was selected"),
        "{report:#}"
    );
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("not run") && !md.contains("✅"), "{md}");

    let empty = write(dir.path(), "empty.yaml", "suite: empty\ncases: []\n");
    let run = oidc_conform(&["run", &empty, "--output", out.to_str().unwrap()]);
    run.expect_code(4);
    assert!(run.stderr().contains("hold no cases"), "{}", run.describe());
}

/// Every number and duration is range-checked with a position; `validate`
/// rejects what `run` would.
#[test]
fn out_of_range_limits_and_bad_settings_are_diagnosed_not_panicked() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, words) in [
        (
            "http: { timeout: 99999999999999999999s }\n",
            "http.timeout `99999999999999999999s` is out of range",
        ),
        ("http: { timeout: 0s }\n", "http.timeout `0s` is out of range"),
        ("http: { max_redirects: 0 }\n", "http.max_redirects is 0, out of range"),
        ("http: { max_body: 1 }\n", "http.max_body `1` is out of range"),
        ("http: { retries: 1000 }\n", "http.retries is 1000, out of range"),
        (
            "login: { username: \"input[name=\" }\n",
            "`input[name=` is not a valid CSS selector: ",
        ),
        ("login: { driver: chrome }\n", "`chrome` is not a login driver"),
        (
            "login: { steps: [{ fill: \"#email\" }] }\n",
            "login step 1 fills `#email` with nothing",
        ),
        (
            "login: { steps: [{ click: \"#next\" }, { click: \"button[\" }] }\n",
            "`button[` is not a valid CSS selector: ",
        ),
        (
            "login: { steps: [{ fill: \"#a\", click: \"#b\", with: username }] }\n",
            "login step 1 does more than one thing",
        ),
        ("http: { ca_file: missing.pem }\n", "cannot read the CA file"),
        ("http: { ca_file: profile.yaml }\n", "no certificate in the CA file"),
    ] {
        let profile = reference_profile_with(dir.path(), extra);
        for cmd in ["validate", "run"] {
            let args: Vec<&str> = if cmd == "validate" {
                vec!["validate", &profile]
            } else {
                vec!["run", "--provider", &profile]
            };
            let run = oidc_conform(&args);
            assert_eq!(run.code(), 2, "{cmd} {extra}\n{}", run.describe());
            assert!(
                run.stderr().contains(words),
                "{cmd} {extra}: expected {words:?}\n{}",
                run.describe()
            );
            assert!(run.stderr().contains("profile.yaml:"), "a position: {}", run.describe());
            assert!(!run.stderr().contains("panicked"), "{}", run.describe());
        }
    }
    let text = std::fs::read_to_string(root().join("fixtures/profiles/reference.yaml"))
        .unwrap()
        .replace("redirect_uri: https://spa.example.test/callback", "redirect_uri: \"\"");
    let profile = write(dir.path(), "profile.yaml", &text);
    let run = oidc_conform(&["validate", &profile]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("client `spa` has an empty redirect_uri"),
        "{}",
        run.describe()
    );
}

/// Two files with one `suite:` name, and a directory with no YAML, are refused by `validate`.
#[test]
fn validate_refuses_duplicate_suite_names_and_empty_directories() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.yaml", "suite: same\ncases:\n  - name: one\n");
    write(dir.path(), "b.yaml", "suite: same\ncases:\n  - name: two\n");
    let run = oidc_conform(&["validate", dir.path().to_str().unwrap()]);
    run.expect_code(2);
    assert!(run.stderr().contains("suite name `same` is used by"), "{}", run.describe());
    let empty = tempfile::tempdir().unwrap();
    let run = oidc_conform(&["validate", empty.path().to_str().unwrap()]);
    run.expect_code(2);
    assert!(run.stderr().contains("no YAML files in"), "{}", run.describe());
}

/// Suites cannot read environment variables or files; profiles read files
/// relative to themselves, regular and small only.
#[test]
fn suites_cannot_read_the_environment_or_files() {
    let dir = tempfile::tempdir().unwrap();
    for var in ["${env:HOME}", "${file:/etc/passwd}"] {
        let suite = write(
            dir.path(),
            "s.yaml",
            &format!("suite: s\ncases:\n  - name: c\n    request: {{ params: {{ leak: \"{var}\" }} }}\n"),
        );
        let run = oidc_conform(&["validate", &suite]);
        run.expect_code(2);
        assert!(run.stderr().contains("not allowed in a suite"), "{}", run.describe());
    }
    write(dir.path(), "pw.txt", "jane-password-5e8b\n");
    let text = std::fs::read_to_string(root().join("fixtures/profiles/reference.yaml"))
        .unwrap()
        .replace("password: jane-password-5e8b", "password: \"${file:pw.txt}\"");
    let profile = write(dir.path(), "profile.yaml", &text);
    oidc_conform_in(std::path::Path::new("/"), &["validate", &profile]).expect_code(0);
    let text = text.replace("${file:pw.txt}", "${file:/dev/zero}");
    let profile = write(dir.path(), "profile.yaml", &text);
    let run = oidc_conform(&["validate", &profile]);
    run.expect_code(2);
    assert!(run.stderr().contains("not a regular file"), "{}", run.describe());
}

/// An output directory that cannot be written is found before any request: exit 2.
#[test]
fn an_unwritable_output_directory_is_found_first() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "not-a-dir", "x");
    let out = format!("{file}/reports");
    let run = oidc_conform(&["run", "--output", &out]);
    run.expect_code(2);
    assert!(run.stderr().contains("cannot write the reports into"), "{}", run.describe());
    assert!(!run.stdout().contains("test ["), "no case ran: {}", run.describe());
}

/// Diagnostics never echo an inline secret, nor more than a window of a huge line.
#[test]
fn diagnostics_redact_secrets_and_bound_what_they_quote() {
    let dir = tempfile::tempdir().unwrap();
    const SECRET: &str = "inline-s3cret-4f9a2c";
    for profile in [
        format!("name: p\nissuer: http://127.0.0.1:1/\nclients:\n  web: {{ id: w, secret: {SECRET}, auht: none }}\n"),
        format!("name: p\nissuer: http://127.0.0.1:1/\nclients:\n  web:\n    id: w\n    secret: {{ nested: {SECRET} }}\n"),
        format!("name: p\nissuer: http://127.0.0.1:1/\nusers:\n  u: {{ username: u, password: {SECRET}, claims: 7 }}\n"),
    ] {
        let path = write(dir.path(), "p.yaml", &profile);
        let run = oidc_conform(&["validate", &path]);
        run.expect_code(2);
        assert!(!run.stderr().contains(SECRET), "{}", run.describe());
        assert!(run.stderr().contains("p.yaml:"), "{}", run.describe());
    }
    // A 2 MB one-line file: the diagnostic quotes a window of it.
    let huge = format!("suite: s\ncases: [{}", "x".repeat(2 * 1024 * 1024));
    let path = write(dir.path(), "huge.yaml", &huge);
    let run = oidc_conform(&["validate", &path]);
    run.expect_code(2);
    assert!(run.stderr().len() < 8 * 1024, "{} bytes on stderr", run.stderr().len());
}

/// A suite whose `equals:` value nests `n` lists deep.
fn deep(n: usize) -> String {
    format!(
        "suite: s\ncases:\n  - name: a\n    flow: code\n    request: {{ scope: openid }}\n    expect:\n      id_token:\n        equals: {{ name: {}{} }}\n",
        "[".repeat(n),
        "]".repeat(n)
    )
}

/// A suite whose `equals:` values are aliases of aliases, ten times over.
fn alias_bomb() -> String {
    let mut s = String::from(
        "suite: s\ncases:\n  - name: a\n    flow: code\n    request: { scope: openid }\n    expect:\n      id_token:\n        equals:\n          x0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        s.push_str(&format!("          x{i}: &a{i} [{refs}]\n"));
    }
    s
}

/// The YAML library's errors come out in our words, at the right place, with a hint.
#[test]
fn yaml_errors_get_a_place_and_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, message, at) in [
        (
            "dup.yaml",
            "suite: s\ncases:\n  - name: a\n    name: b\n",
            "duplicate key `name`",
            ":4:5",
        ),
        ("docs.yaml", "suite: s\ncases: []\n---\nsuite: t\n", "a second YAML document", ":4:"),
        ("empty.yaml", "", "is empty", "empty.yaml"),
        (
            "quoted-no.yaml",
            "suite: s\ncases:\n  - name: a\n    request: { nonce: \"no\" }\n",
            "`\"no\"` is not a boolean",
            ":4:23",
        ),
        (
            "yes.yaml",
            "suite: s\ncases:\n  - name: a\n    request: { nonce: yes }\n",
            "`yes` is not a boolean",
            ":4:23",
        ),
        (
            "tab.yaml",
            "suite: s\ncases:\n  - name: a\n\t  flow: code\n",
            "a tab character",
            ":4:1",
        ),
        (
            "name.yaml",
            "suite: bad name!\ncases:\n  - name: a\n",
            "is not a plain identifier",
            ":1:8",
        ),
        (
            "comments.yaml",
            "# a suite, some day\n\n# nothing yet\n",
            "comments.yaml` has no content, only comments",
            "comments.yaml:1:1",
        ),
        (
            "deep.yaml",
            &deep(70),
            "the YAML nests too deeply: more than 64 levels",
            "deep.yaml:8:",
        ),
        (
            "deeper.yaml",
            &deep(3000),
            "the YAML nests too deeply: more than 64 levels",
            "deeper.yaml:8:",
        ),
        (
            "bomb.yaml",
            &alias_bomb(),
            "the YAML is too large: more than 1000000 values repeated through aliases",
            "bomb.yaml:",
        ),
    ] {
        let path = write(dir.path(), name, text);
        let run = oidc_conform(&["validate", &path]);
        run.expect_code(2);
        let err = run.stderr();
        assert!(
            err.contains(message) && err.contains(at) && err.contains("hint:"),
            "{name}\n{}",
            run.describe()
        );
        for internal in ["budget breached", "recursion limit", "end of input"] {
            assert!(!err.contains(internal), "the YAML library's words: {}", run.describe());
        }
    }
    let profile = write(
        dir.path(),
        "neg.yaml",
        "name: p\nissuer: http://127.0.0.1:1/\nhttp: { retries: -3 }\n",
    );
    let run = oidc_conform(&["validate", &profile]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("`-3` is not a whole number of 0 or more"),
        "{}",
        run.describe()
    );
    let bad = dir.path().join("latin1.yaml");
    std::fs::write(&bad, b"suite: s\ncases:\n  - name: caf\xe9\n").unwrap();
    let run = oidc_conform(&["validate", bad.to_str().unwrap()]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("is not UTF-8: byte 29 (line 3, column 14)"),
        "{}",
        run.describe()
    );
}

/// A suite of 20 000 cases in one file loads (the YAML budget is sized for it).
#[test]
fn a_suite_of_twenty_thousand_cases_loads() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("suite: big\ndefaults: { flow: code }\ncases:\n");
    for i in 0..20_000 {
        text.push_str(&format!(
            "  - name: case-{i}\n    about: one of many\n    request: {{ scope: openid profile, params: {{ n: \"{i}\" }} }}\n    expect: {{ id_token: {{ present: [sub, name], aud_contains: [\"${{client.id}}\"] }} }}\n"
        ));
    }
    let path = write(dir.path(), "big.yaml", &text);
    let run = oidc_conform(&["validate", &path]);
    run.expect_code(0);
    assert!(run.stdout().contains("(20000 cases)"), "{}", run.describe());
}

/// A closed stdout (`… | head`) ends a command quietly.
#[test]
fn a_broken_pipe_ends_quietly() {
    for args in [&["schema", "report"][..], &["checks"][..]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_oidc-conform"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Closed before the command writes anything: its first write meets EPIPE.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

/// Two suite files with one `suite:` name: refused by `validate` as by `run`,
/// pointing at both `suite:` keys; one file given twice is taken once.
#[test]
fn a_suite_name_in_two_files_points_at_both() {
    let dir = tempfile::tempdir().unwrap();
    let text = "# the basics again\nsuite: twin\ncases:\n  - name: a\n    flow: code\n    request: { scope: openid }\n";
    let a = write(dir.path(), "a.yaml", text);
    let b = write(dir.path(), "b.yaml", text);
    for args in [vec!["validate", a.as_str(), b.as_str()], vec!["run", a.as_str(), b.as_str()]] {
        let run = oidc_conform(&args);
        run.expect_code(2);
        let err = run.stderr();
        assert!(
            err.contains(&format!("suite name `twin` is used by `{a}:2:1` too")) && err.contains(&format!("--> {b}:2:1")),
            "{}",
            run.describe()
        );
        assert!(!run.stdout().contains(&format!("ok: {b}")), "{}", run.describe());
    }
    let again = format!("{}/./a.yaml", dir.path().display());
    let run = oidc_conform(&["validate", &a, &again]);
    run.expect_code(0);
    assert_eq!(run.stdout().matches("ok: ").count(), 1, "{}", run.describe());
}

/// A `--ca-file` that holds no certificate, or a broken one, is bad input for
/// `run` and `init`, as `http.ca_file` is.
#[test]
fn a_ca_file_without_certificates_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = write(dir.path(), "garbage.pem", "this is not a certificate\n");
    let broken = write(
        dir.path(),
        "broken.pem",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    );
    let out = dir.path().join("out");
    for (file, said) in [
        (&garbage, format!("no certificate in the CA file `{garbage}`")),
        (&broken, format!("the CA file `{broken}` is not PEM certificates")),
    ] {
        for args in [
            vec!["run", "basics::", "--ca-file", file, "--output", out.to_str().unwrap()],
            vec!["init", "https://127.0.0.1:9/", "--ca-file", file, "-o", out.to_str().unwrap()],
        ] {
            let run = oidc_conform(&args);
            run.expect_code(2);
            assert!(run.stderr().contains(&said), "{}", run.describe());
        }
    }
}
