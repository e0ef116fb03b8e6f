//! Running the real binary, with its output shown when a test fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use oidc_conform::flow::Provider;
use oidc_conform::profile::Profile;
use oidc_conform::reference::{Config, Quirk, ReferenceProvider};
use oidc_conform::report::CaseReport;
use oidc_conform::run;

/// The crate's root (where `suites/` and `fixtures/` are).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The output of one run of the binary.
pub struct Run {
    pub args: Vec<String>,
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    /// Panics with the command and its output unless it exited with `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code(), code, "{}", self.describe());
        self
    }
    pub fn describe(&self) -> String {
        format!(
            "command: oidc-conform {}\nexit: {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.args.join(" "),
            self.output.status.code(),
            self.stdout(),
            self.stderr()
        )
    }
}

/// Runs `oidc-conform ARGS` in the crate root.
pub fn oidc_conform(args: &[&str]) -> Run {
    oidc_conform_in(&root(), args)
}

pub fn oidc_conform_in(dir: &Path, args: &[&str]) -> Run {
    oidc_conform_in_env(dir, args, &[])
}

/// Runs the binary in `dir` with extra environment variables.
pub fn oidc_conform_in_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_oidc-conform"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .expect("the oidc-conform binary runs");
    Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        output,
    }
}

/// Reads a saved run report as JSON.
pub fn read_report(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("run.json")).expect("run.json was written");
    serde_json::from_str(&text).expect("run.json is JSON")
}

/// The status of one case in a report.
pub fn case<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("case {id} is in the report"))
}

/// Ids of the checks with the given status in a case.
pub fn checks_with(case: &serde_json::Value, status: &str) -> Vec<String> {
    case["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == status)
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Writes the reference provider's profile for `issuer` into `dir`, with text replacements.
pub fn write_profile(dir: &Path, issuer: &str, replace: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(root().join("fixtures/profiles/reference.yaml")).unwrap();
    text = text.replace("issuer: http://127.0.0.1:8787 ", &format!("issuer: {issuer} "));
    for (from, to) in replace {
        assert!(text.contains(from), "the reference profile contains {from:?}");
        text = text.replace(from, to);
    }
    let path = dir.join("profile.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts a reference provider with `config`, binds `suites/SUITE.yaml` to its
/// profile (changed by `edit`), and runs case `name` `times` times, one after another.
pub async fn run_suite_case(suite: &str, config: Config, edit: impl FnOnce(&mut Profile), name: &str, times: usize) -> Vec<CaseReport> {
    let rp = ReferenceProvider::start(config).await.expect("the reference provider starts");
    let mut profile = run::reference_profile(rp.issuer()).expect("the reference profile loads");
    edit(&mut profile);
    let cases = run::load_cases(&[root().join(format!("suites/{suite}.yaml"))], &profile).expect("the suite loads");
    let case = cases.into_iter().find(|c| c.name == name).expect("the suite has the case");
    assert!(case.skip.is_none(), "{name} runs: {:?}", case.skip);
    let provider = Provider::connect(profile, Default::default(), false, None)
        .await
        .expect("discovery and JWKS load");
    let mut reports = Vec::new();
    for _ in 0..times {
        reports.push(run::run_case(&provider, &case).await);
    }
    rp.shutdown().await;
    reports
}

/// The checks of `{suite}::{name}` run once against a reference provider
/// configured as `config`, the profile edited by `edit`, from a test that is
/// not async.
pub fn case_checks(suite: &str, config: Config, edit: impl FnOnce(&mut Profile), name: &str) -> Vec<oidc_conform::check::CheckResult> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(run_suite_case(suite, config, edit, name, 1)).remove(0).checks
}

/// The verdict of check `id` among `checks`.
pub fn verdict<'a>(checks: &'a [oidc_conform::check::CheckResult], id: &str) -> &'a oidc_conform::check::CheckResult {
    checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no {id} verdict: {checks:?}"))
}

/// The reference provider's default configuration with `quirks` switched on.
pub fn with_quirks(quirks: &[Quirk]) -> Config {
    Config {
        quirks: quirks.iter().copied().collect(),
        ..Config::default()
    }
}
