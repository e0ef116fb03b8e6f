//! The binary against the embedded reference provider.

use crate::util::{case, checks_with, oidc_conform, read_report};

#[test]
fn shipped_suites_pass_against_the_reference_provider() {
    let out = tempfile::tempdir().unwrap();
    let run = oidc_conform(&["run", "--output", out.path().to_str().unwrap()]);
    run.expect_code(0);
    let report = read_report(out.path());
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["provider"]["embedded"], true);
    let cases = report["cases"].as_array().unwrap();
    assert!(cases.len() >= 3, "{}", run.describe());
    for c in cases {
        assert!(
            c["status"] == "pass" || c["status"] == "skip",
            "{} is {}: {}",
            c["id"],
            c["status"],
            run.describe()
        );
    }
    // The checks that matter ran and passed, on real tokens.
    let api = case(&report, "basics::api-access-token");
    let passed = checks_with(api, "pass");
    for id in [
        "id_token.signature",
        "id_token.iss",
        "id_token.aud",
        "id_token.nonce",
        "access_token.signature",
        "access_token.aud",
        "access_token.scope",
        "userinfo.sub",
        "assert.access_token",
    ] {
        assert!(passed.iter().any(|p| p == id), "{id} passed in {api:#}");
    }
    let tokens = api["tokens"].as_array().unwrap();
    assert!(
        tokens
            .iter()
            .any(|t| t["kind"] == "access_token" && t["claims"]["scope"].as_str().unwrap().contains("read:patients"))
    );
    assert!(run.stdout().contains("result: "), "{}", run.describe());
}

#[test]
fn a_provider_fault_fails_the_run_and_names_the_check() {
    let out = tempfile::tempdir().unwrap();
    let run = oidc_conform(&["run", "--quirk", "id-token-aud-api", "--output", out.path().to_str().unwrap()]);
    run.expect_code(1);
    let report = read_report(out.path());
    let api = case(&report, "basics::api-access-token");
    assert_eq!(api["status"], "fail");
    assert!(checks_with(api, "fail").contains(&"id_token.aud".to_owned()), "{api:#}");
    assert!(run.stdout().contains("id_token.aud"), "{}", run.describe());
    assert_eq!(report["provider"]["quirks"][0], "id-token-aud-api");
}

#[test]
fn list_and_filter_select_cases() {
    let run = oidc_conform(&["list"]);
    run.expect_code(0);
    assert!(run.stdout().contains("basics::openid-only"), "{}", run.describe());
    let ids = |args: &[&str]| -> Vec<String> {
        let out = tempfile::tempdir().unwrap();
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        all.extend(["--output", out.path().to_str().unwrap(), "--format", "json"]);
        oidc_conform(&all).expect_code(0);
        let report = read_report(out.path());
        report["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // A filter matches ids containing it; --exact only the id itself; --skip removes.
    assert_eq!(ids(&["openid-only"]), ["basics::openid-only", "userinfo::userinfo-openid-only"]);
    assert_eq!(ids(&["basics::openid-only", "--exact"]), ["basics::openid-only"]);
    assert_eq!(ids(&["openid-only", "--skip", "userinfo::"]), ["basics::openid-only"]);
}

#[test]
fn unknown_quirk_is_bad_input() {
    let run = oidc_conform(&["run", "--quirk", "id-token-aud-apx"]);
    run.expect_code(2);
    assert!(run.stderr().contains("id-token-aud-api"), "{}", run.describe());
}

/// On a terminal: a progress bar and failures as they happen; the libtest lines go to `console.log`.
#[test]
fn a_terminal_gets_a_progress_bar() {
    let out = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{} run basics:: --quirk nonce-wrong --output {} --format json",
        env!("CARGO_BIN_EXE_oidc-conform"),
        out.path().display()
    );
    // `script` runs the command on a pseudo-terminal (util-linux, on every Debian system).
    let run = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(crate::util::root())
        .env_remove("CI")
        .output()
        .expect("`script` (util-linux) runs");
    let screen = String::from_utf8_lossy(&run.stdout);
    assert!(screen.contains("cases"), "a progress bar: {screen}");
    assert!(
        screen.contains("FAIL basics::openid-only: fail id_token.nonce"),
        "failures as they happen: {screen}"
    );
    assert!(screen.contains("result: 0 passed, 3 failed"), "the closing summary: {screen}");
    assert!(
        !screen.contains("test [code] basics::openid-only"),
        "no libtest lines on the terminal: {screen}"
    );
    let log = std::fs::read_to_string(out.path().join("console.log")).unwrap();
    assert!(log.contains("test [code] basics::openid-only") && log.contains("FAILED"), "{log}");
}

/// Runs the binary in the crate root with `stdout` as its standard output;
/// `read_lines`: with a pipe, read that many lines then close it (the reader
/// goes away, as `| head -N` does). Returns the exit code and standard error.
fn with_stdout(args: &[&str], stdout: std::process::Stdio, read_lines: Option<usize>) -> (i32, String) {
    use std::io::{BufRead as _, Read as _};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_oidc-conform"))
        .args(args)
        .current_dir(crate::util::root())
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .stdout(stdout)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the oidc-conform binary runs");
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    if let (Some(n), Some(out)) = (read_lines, child.stdout.take()) {
        let mut lines = std::io::BufReader::new(out).lines();
        for _ in 0..n {
            if lines.next().is_none() {
                break;
            }
        }
        // Dropped here: the pipe's read end closes.
    }
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), errors.join().unwrap())
}

/// `oidc-conform run | head -N`: the reader going away changes neither the run
/// nor its exit code, and every report is written — with the cases run one at
/// a time too (the trial runner's console lines stop, the cases do not).
#[test]
fn a_closed_stdout_changes_neither_the_verdict_nor_the_reports() {
    for (jobs, read) in [("1", 0), ("1", 3), ("4", 0), ("4", 3)] {
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().to_str().unwrap();
        let args = ["run", "basics::", "--quirk", "nonce-wrong", "--jobs", jobs, "--output", dir];
        let (code, stderr) = with_stdout(&args, std::process::Stdio::piped(), Some(read));
        assert_eq!(code, 1, "--jobs {jobs}, {read} line(s) read: the verdict's exit code\n{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let report = read_report(out.path());
        assert_eq!(report["summary"]["fail"], 3, "every case ran: {report:#}");
        assert!(report.get("not_run").is_none(), "{report:#}");
        for f in ["summary.md", "junit.xml", "report.html"] {
            assert!(out.path().join(f).is_file(), "{f} is written");
        }
    }
}

/// `oidc-conform validate BAD | head -1`: exit 2, every time.
#[test]
fn validate_exits_2_on_bad_input_whatever_happens_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "suite: x\ncases:\n  - name: a\n    flow: nope\n").unwrap();
    let args = ["validate", "suites", bad.to_str().unwrap()];
    for i in 0..20 {
        let (code, stderr) = with_stdout(&args, std::process::Stdio::piped(), Some(i % 2));
        assert_eq!(code, 2, "try {i}: {stderr}");
        assert!(stderr.contains("unknown value `nope`") && !stderr.contains("panicked"), "{stderr}");
    }
}

/// Standard output on a full disk: said once on standard error, no panic, the
/// verdict's exit code and every report.
#[test]
fn a_stdout_that_cannot_be_written_is_said_and_the_run_goes_on() {
    let full = || std::process::Stdio::from(std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap());
    let out = tempfile::tempdir().unwrap();
    let args = [
        "run",
        "basics::",
        "--quirk",
        "nonce-wrong",
        "--output",
        out.path().to_str().unwrap(),
    ];
    let (code, stderr) = with_stdout(&args, full(), None);
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        stderr.matches("cannot write to standard output (No space left on device)").count(),
        1,
        "{stderr}"
    );
    assert_eq!(read_report(out.path())["summary"]["fail"], 3);
    assert!(out.path().join("summary.md").is_file());
    let (code, stderr) = with_stdout(&["schema", "report"], full(), None);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

/// `--shard auto` takes the shard from the CI system's variables (here GitLab's,
/// which count from 1) and selects the same cases as `--shard K/N`; a wrong
/// variable is an input error that names it.
#[test]
fn shard_auto_reads_the_ci_variables() {
    let fixed = crate::util::oidc_conform(&["run", "--list", "--shard", "2/3"]);
    fixed.expect_code(0);
    let auto = crate::fixture::oidc_conform_env(
        &["run", "--list", "--shard", "auto"],
        &[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3"), ("OIDC_CONFORM_SHARD_INDEX", "")],
    );
    auto.expect_code(0);
    assert_eq!(auto.stdout(), fixed.stdout());
    assert!(
        auto.stderr().contains("shard 2/3 (from CI_NODE_INDEX/CI_NODE_TOTAL (GitLab CI))"),
        "{}",
        auto.describe()
    );
    let wrong = crate::fixture::oidc_conform_env(
        &["run", "--list", "--shard", "auto"],
        &[("CI_NODE_INDEX", "4"), ("CI_NODE_TOTAL", "3"), ("OIDC_CONFORM_SHARD_INDEX", "")],
    );
    wrong.expect_code(2);
    assert!(
        wrong.stderr().contains("`CI_NODE_INDEX` = 4 is not a shard"),
        "{}",
        wrong.describe()
    );
}

/// The benchmark's completeness rule (`bench/bench.py`): a run whose cases all
/// ran to a verdict other than `error` is a measurement, warnings and findings
/// included; an error, a skip or a missing case drops it, as a failure.
#[test]
fn the_bench_takes_a_run_with_warnings_as_complete() {
    let out = std::process::Command::new("python3")
        .arg(crate::util::root().join("bench/bench.py"))
        .arg("--self-test")
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("bench self-test: ok"));
}

/// `explain`: a check's rule, level, cases and faults; `--example` runs the
/// embedded provider with a fault and shows the check firing; an unknown id
/// is bad input that names the nearest ones.
#[test]
fn explain_shows_the_rule_and_a_real_verdict() {
    let run = oidc_conform(&["explain", "id_token.nonce", "--example"]);
    assert_eq!(run.code(), 0, "{}", run.describe());
    let out = run.stdout();
    for want in [
        "id_token.nonce",
        "MUST",
        "OIDC Core §3.1.3.7",
        "nonce-not-echoed:",
        "Example: case ",
        "fail id_token.nonce:",
        "the exchange:",
    ] {
        assert!(out.contains(want), "{want}\n{out}");
    }
    let run = oidc_conform(&["explain", "id_token.nonse"]);
    assert_eq!(run.code(), 2, "{}", run.describe());
    assert!(run.stderr().contains("`id_token.nonce`"), "{}", run.stderr());
}

/// `--color`: `always` colours even a pipe (and wins over `NO_COLOR`), `never`
/// never does; `auto` colours no pipe unless `CLICOLOR_FORCE` says so, and
/// `NO_COLOR` wins over that. The report files are never coloured.
#[test]
fn color_follows_the_flag_then_the_environment() {
    let out = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_oidc-conform"));
        cmd.args(["run", "basics::openid-only", "--quirk", "nonce-wrong", "--format", "markdown,junit"])
            .args(["--output", out.path().to_str().unwrap()])
            .args(args)
            .current_dir(crate::util::root())
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CLICOLOR")
            .envs(env.iter().copied());
        let output = cmd.output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let coloured = |s: &str| s.contains('\x1b');
    let always = run(&["--color", "always"], &[("NO_COLOR", "1")]);
    assert!(coloured(&always), "{always}");
    assert!(always.contains("\x1b[1;31mfail\x1b[0m  id_token.nonce"), "{always}");
    for file in ["summary.md", "junit.xml"] {
        let text = std::fs::read_to_string(out.path().join(file)).unwrap();
        assert!(!coloured(&text), "{file} is never coloured");
    }
    assert!(!coloured(&run(&["--color", "never"], &[("CLICOLOR_FORCE", "1")])));
    assert!(!coloured(&run(&[], &[])), "a pipe is not a terminal");
    assert!(coloured(&run(&[], &[("CLICOLOR_FORCE", "1")])));
    assert!(!coloured(&run(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")])));
    // The plain text is the same, coloured or not.
    let strip = |s: &str| {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find('\x1b') {
            out.push_str(&rest[..i]);
            rest = &rest[i..];
            rest = rest.find('m').map_or("", |j| &rest[j + 1..]);
        }
        out + rest
    };
    let never = run(&["--color", "never"], &[]);
    let summary = |s: &str| s[s.find("findings:").unwrap()..s.find("report:").unwrap()].to_owned();
    assert_eq!(summary(&strip(&always)), summary(&never));
}

/// `completions SHELL` and `man` are generated from the command definitions:
/// every shell's script and the manual page name the commands.
#[test]
fn completions_and_the_manual_page_name_every_command() {
    let commands = [
        "run",
        "validate",
        "list",
        "checks",
        "explain",
        "report",
        "baseline",
        "schema",
        "compare",
        "init",
        "doctor",
        "serve",
        "completions",
        "man",
    ];
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = oidc_conform(&["completions", shell]);
        run.expect_code(0);
        let script = run.stdout();
        assert!(script.contains("oidc-conform"), "{shell}: {script}");
        for c in commands {
            assert!(script.contains(c), "{shell}'s completions name `{c}`");
        }
        assert!(
            script.contains("provider") && script.contains("strict-baseline"),
            "{shell}: the flags too"
        );
    }
    oidc_conform(&["completions", "tcsh"]).expect_code(2);

    let run = oidc_conform(&["man"]);
    run.expect_code(0);
    let page = run.stdout();
    assert!(page.starts_with(".ie") || page.contains(".TH oidc-conform"), "roff: {page}");
    assert!(page.contains(".TH oidc-conform 1"), "{page}");
    for c in commands {
        assert!(page.contains(c), "the manual page names `{c}`");
    }
    let dir = tempfile::tempdir().unwrap();
    crate::util::oidc_conform(&["man", "--dir", dir.path().to_str().unwrap()]).expect_code(0);
    for page in [
        "oidc-conform.1",
        "oidc-conform-run.1",
        "oidc-conform-validate.1",
        "oidc-conform-report-merge.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap_or_else(|_| panic!("{page} is written"));
        assert!(text.contains(".TH"), "{page}");
    }
    let run_page = std::fs::read_to_string(dir.path().join("oidc-conform-run.1")).unwrap();
    assert!(run_page.contains("strict\\-baseline"), "the run page has every flag");
}
