//! The report model: plain, versioned data that every renderer reads. A run
//! produces one [`Report`]; `reports/run.json` is its serialisation.

pub mod baseline;
pub mod compare;
pub mod conformance;
pub mod console;
pub mod escape;
pub mod exchange;
pub mod findings;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod matrix;
pub mod store;

pub use escape::escape_controls;
pub use store::CaseEntry;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::check::{CheckResult, Status};

/// Bumped when the JSON shape changes incompatibly.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub duration_ms: u64,
    pub provider: ProviderInfo,
    pub summary: Summary,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineInfo>,
    /// The run was interrupted (Ctrl-C, SIGTERM): `not_run` lists the cases it did not run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<String>,
    /// The run did not start, and why (the provider could not be reached, no case
    /// was selected): the reports say so instead of looking like an empty pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_started: Option<String>,
    /// `k/n` when this run is one shard of a larger one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// What was run, so shards of one run can be told from others (`report merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<RunDefinition>,
    /// The problems grouped by cause: one entry per check that failed, errored
    /// or warned, with its rule, the cases it hit and the first evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<findings::Finding>,
    /// Per specification: its MUST, SHOULD and MAY requirements met, not met, not applicable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conformance: Vec<conformance::DocumentConformance>,
    /// Every finished case. In memory each is a [`CaseEntry`]; in `run.json`, the
    /// whole [`CaseReport`], streamed from the spool case by case.
    #[serde(serialize_with = "store::serialize_cases", deserialize_with = "store::deserialize_cases")]
    #[schemars(with = "Vec<CaseReport>")]
    pub cases: Vec<CaseEntry>,
    /// The directory a saved report was read from (its screenshots are there).
    #[serde(skip)]
    #[schemars(skip)]
    pub source_dir: Option<PathBuf>,
}

/// The definition of a run, the same for every shard of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunDefinition {
    /// SHA-256 over the selected case ids, the profile, the issuer (unless embedded) and the quirks.
    pub digest: String,
    /// Cases the whole (unsharded) run selects.
    pub total: usize,
    /// SHA-256 of the profile's content as loaded (variables expanded; secrets,
    /// the file's path and an embedded provider's port left out): `--rerun-failed`
    /// reruns a saved run's cases only with the same profile. Absent in runs
    /// saved by versions that did not record it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_digest: Option<String>,
    /// SHA-256 of the selected suite files' sources, by suite name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suites_digest: Option<String>,
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

impl RunDefinition {
    /// The definition of a run of these cases against this provider, with the
    /// digests of its profile and suites.
    pub fn of(case_ids: &[String], provider: &ProviderInfo, profile_digest: &str, suites_digest: &str) -> RunDefinition {
        let mut text = String::new();
        for id in case_ids {
            text.push_str(id);
            text.push('\n');
        }
        text.push_str(&format!(
            "profile={}\nprovider={}\nissuer={}\nquirks={}\n",
            provider.profile,
            provider.name,
            if provider.embedded { "embedded" } else { provider.issuer.as_str() },
            provider.quirks.join(",")
        ));
        RunDefinition {
            digest: sha256_hex(text.as_bytes()),
            total: case_ids.len(),
            profile_digest: Some(profile_digest.to_owned()),
            suites_digest: Some(suites_digest.to_owned()),
        }
    }
}

/// A report file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Format {
    /// `run.json`, the report model every other format is rendered from
    Json,
    /// `junit.xml` for CI systems
    Junit,
    /// `report.html`, self-contained
    Html,
    /// `summary.md` for pull requests and release notes
    #[value(alias = "md")]
    Markdown,
}

impl Format {
    pub const ALL: &[Format] = &[Format::Json, Format::Junit, Format::Html, Format::Markdown];
}

/// What a baseline did to this run.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BaselineInfo {
    pub file: String,
    /// Failing checks the baseline expects.
    pub expected: usize,
    /// Baseline entries whose check did not fail in this run (the baseline can shrink).
    pub stale: Vec<baseline::Entry>,
    /// Baseline entries whose case is no case of the suites (a mistyped or
    /// renamed id): they cover nothing. A warning; with `--strict-baseline`, exit 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<baseline::UnknownEntry>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProviderInfo {
    pub name: String,
    pub issuer: String,
    /// The profile file, or `embedded` for the reference provider's own.
    pub profile: String,
    pub embedded: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quirks: Vec<String>,
    /// TLS certificates were not verified (`--insecure`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Secrets were allowed over plain http (`--allow-http`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_http: bool,
    /// Origins besides the issuer's that the profile trusts with client secrets and passwords.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_origins: Vec<String>,
    /// Credentials of the profile shorter than 8 characters (which ones, never
    /// their values): weak as secrets, and redacted only where they are sent as
    /// credentials, not wherever their value appears in a report's text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weak_secrets: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    pub total: usize,
    pub pass: usize,
    pub warn: usize,
    pub skip: usize,
    pub fail: usize,
    pub error: usize,
    /// Failing or erroring cases whose every problem a baseline expects.
    #[serde(default)]
    pub known: usize,
}

impl Summary {
    pub fn of<'a>(statuses: impl IntoIterator<Item = &'a Status>) -> Summary {
        let mut s = Summary::default();
        for st in statuses {
            s.total += 1;
            match st {
                Status::Pass => s.pass += 1,
                Status::Warn => s.warn += 1,
                Status::Skip => s.skip += 1,
                Status::Fail => s.fail += 1,
                Status::Error => s.error += 1,
            }
        }
        s
    }
}

/// A decoded token as reports show it: header and claims, never the signature
/// or the raw string.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenView {
    /// `id_token` or `access_token`
    pub kind: String,
    /// where it came from (`authorization`, `token`, `refresh`, `client_credentials`)
    pub origin: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Map<String, Value>>,
    /// Set for opaque tokens and tokens that do not decode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaseReport {
    /// `suite::case`
    pub id: String,
    pub suite: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    pub area: String,
    pub flow: String,
    pub spec: Vec<String>,
    /// `file:line` of the case.
    pub location: String,
    pub status: Status,
    pub duration_ms: u64,
    pub checks: Vec<CheckResult>,
    /// Authorization (or token) request parameters; no secrets.
    pub request: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response: Option<BTreeMap<String, String>>,
    pub tokens: Vec<TokenView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo: Option<Map<String, Value>>,
    pub trace: Vec<String>,
    /// The HTTP exchanges that show the case's failing and warning checks
    /// (each names the checks it shows), credentials replaced by placeholders:
    /// the reproductions the other formats render.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<exchange::Exchange>,
    /// The login or consent page the browser driver could not get past, as it
    /// looked then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageCapture>,
}

/// A page as the browser showed it: evidence of a login or consent failure.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PageCapture {
    /// The page's visible text (credentials scrubbed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The screenshot, a PNG file next to `run.json` (path relative to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screenshot: Option<String>,
    /// The screenshot until it is written next to the report.
    #[serde(skip)]
    #[schemars(skip)]
    pub png: Option<Vec<u8>>,
}

impl CaseReport {
    /// A failing case whose every problem a baseline expects.
    pub fn is_known_failure(&self) -> bool {
        matches!(self.status, Status::Fail | Status::Error) && self.problems().all(|c| c.known.is_some())
    }

    /// The checks that make the case fail or error, for summaries.
    pub fn problems(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| matches!(c.status, Status::Fail | Status::Error))
    }
}

impl Report {
    /// Writes `run.json` into `dir` (created if missing) and returns its path.
    pub fn write_json(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("run.json");
        let tmp = dir.join(".run.json.tmp");
        // Streamed to the file: a large run is never held twice in memory.
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        serde_json::to_writer_pretty(&mut out, self).map_err(std::io::Error::other)?;
        std::io::Write::flush(&mut out)?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }

    /// Reads a saved report. The file is read as a stream: its cases go to the
    /// spool one at a time (see [`store`]), so a report of any size loads in the
    /// memory its entries need.
    pub fn read_json(path: &Path) -> Result<Report, String> {
        let open = || {
            std::fs::File::open(path)
                .map(std::io::BufReader::new)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))
        };
        #[derive(Deserialize)]
        struct Version {
            schema_version: Option<u64>,
        }
        let version: Version = serde_json::from_reader(open()?).map_err(|e| format!("`{}` is not JSON: {e}", path.display()))?;
        match version.schema_version {
            Some(n) if n == SCHEMA_VERSION as u64 => {}
            Some(n) => {
                return Err(format!(
                    "`{}` has report schema version {n}; this oidc-conform reads version {SCHEMA_VERSION}",
                    path.display()
                ));
            }
            None => return Err(format!("`{}` is not an oidc-conform report (no `schema_version`)", path.display())),
        }
        let mut report: Report =
            serde_json::from_reader(open()?).map_err(|e| format!("`{}` is not a valid report: {e}", path.display()))?;
        // A run holds each case once: every reader (render, summary, compare,
        // matrix, baselines, merge, reruns) would otherwise count one twice.
        // (A case it did not run is not also one it ran.)
        let mut seen = std::collections::HashSet::new();
        let mut ids = report
            .cases
            .iter()
            .map(|c| c.id.as_str())
            .chain(report.not_run.iter().map(String::as_str));
        if let Some(dup) = ids.find(|id| !seen.insert(*id)) {
            return Err(format!(
                "`{}` holds case `{}` more than once: a saved run has each case once (was it edited or joined by hand? `report merge` joins shards)",
                path.display(),
                escape_controls(dup)
            ));
        }
        // A report written before findings (or the conformance statement) were
        // recorded, or written by another tool, gets them from its cases.
        if report.findings.is_empty() {
            report.findings = findings::of(&report.cases);
        }
        if report.conformance.is_empty() && report.not_started.is_none() && !report.cases.is_empty() {
            report.conformance = conformance::of(&report.cases);
        }
        report.source_dir = path.parent().map(Path::to_path_buf);
        Ok(report)
    }

    /// Exit code for CI: 0 when conformant (or every failure is a known one), 1 otherwise.
    /// With `strict_baseline`, stale baseline entries (known failures that now pass)
    /// and entries naming no case of the suites also give 1.
    pub fn exit_code(&self, strict_baseline: bool) -> i32 {
        let unexpected = self
            .cases
            .iter()
            .any(|c| matches!(c.status, Status::Fail | Status::Error) && !c.is_known_failure());
        let stale = strict_baseline && self.baseline.as_ref().is_some_and(|b| !b.stale.is_empty() || !b.unknown.is_empty());
        // An incomplete run is never "conformant".
        let incomplete = self.interrupted || self.not_started.is_some();
        i32::from(unexpected || stale || incomplete)
    }

    /// A report of this tool with no cases yet (summary computed later by [`Report::resummarise`]).
    pub fn new(provider: ProviderInfo, started_at: String, duration_ms: u64) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            tool: "oidc-conform".into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            started_at,
            duration_ms,
            provider,
            summary: Summary::default(),
            baseline: None,
            interrupted: false,
            not_run: vec![],
            not_started: None,
            shard: None,
            definition: None,
            findings: vec![],
            conformance: vec![],
            cases: vec![],
            source_dir: None,
        }
    }

    /// Recomputes the summary from the cases.
    pub fn resummarise(&mut self) {
        let mut s = Summary::of(self.cases.iter().map(|c| &c.status));
        s.known = self.cases.iter().filter(|c| c.is_known_failure()).count();
        self.summary = s;
        self.findings = findings::of(&self.cases);
        self.conformance = if self.not_started.is_some() || self.cases.is_empty() {
            Vec::new()
        } else {
            conformance::of(&self.cases)
        };
    }

    /// Writes the report in each format into `dir`; returns the paths written.
    pub fn write_all(&self, dir: &Path, formats: &[Format]) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut written = Vec::new();
        for f in formats {
            let (name, text) = match f {
                Format::Json => {
                    written.push(self.write_json(dir)?);
                    continue;
                }
                Format::Junit => ("junit.xml", junit::render(self).map_err(std::io::Error::other)?),
                Format::Markdown => ("summary.md", markdown::render(self)),
                Format::Html => {
                    written.push(html::write(self, dir).map_err(std::io::Error::other)?);
                    continue;
                }
            };
            let path = dir.join(name);
            std::fs::write(&path, text)?;
            written.push(path);
        }
        Ok(written)
    }
}

/// The JSON Schema of `run.json`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).unwrap_or_default()
}

/// RFC 3339 time of now (UTC, seconds).
pub fn timestamp() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// ` (expected …, found …)` of a check that has both, its control characters written out.
fn expected_found(c: &crate::check::CheckResult) -> String {
    match (&c.expected, &c.found) {
        (Some(e), Some(f)) => format!(" (expected {}, found {})", escape_controls(e), escape_controls(f)),
        _ => String::new(),
    }
}

/// One line for a failing check: `fail id: message (expected …, found …)`;
/// the provider's text in it has its control characters written out.
pub fn describe_check(c: &crate::check::CheckResult) -> String {
    format!(
        "{} {}: {}{}",
        c.status.as_str(),
        escape_controls(&c.id),
        escape_controls(&c.message),
        expected_found(c)
    )
}

/// One line for a failing check with its rule: `fail id [MUST RFC 7636 §4.6]: message (expected …, found …)`.
pub fn describe_check_with_rule(c: &crate::check::CheckResult) -> String {
    format!(
        "{} {} [{} {}]: {}{}",
        c.status.as_str(),
        escape_controls(&c.id),
        c.level.as_str(),
        escape_controls(&crate::check::spec::title(&c.spec)),
        escape_controls(&c.message),
        expected_found(c)
    )
}

/// Joins several reports (shards of one run) into one.
pub fn merge(mut reports: Vec<Report>) -> Result<Report, String> {
    // The shards must be of one run definition, and all of them.
    let definition = reports
        .first()
        .ok_or("no reports to merge")?
        .definition
        .clone()
        .ok_or("a report has no run definition: write the shards with this version of oidc-conform")?;
    let mut shards: Vec<(u32, u32)> = Vec::new();
    for (i, r) in reports.iter().enumerate() {
        match &r.definition {
            Some(d) if *d == definition => {}
            Some(_) => {
                return Err(format!(
                    "report {} is of another run (other suites, filter, profile, provider or quirks): merge only the shards of one run",
                    i + 1
                ));
            }
            None => {
                return Err(format!(
                    "report {} has no run definition: write the shards with this version of oidc-conform",
                    i + 1
                ));
            }
        }
        match r
            .shard
            .as_deref()
            .and_then(|s| s.split_once('/'))
            .and_then(|(k, n)| Some((k.parse().ok()?, n.parse().ok()?)))
        {
            Some(kn) => shards.push(kn),
            None if reports.len() == 1 => {}
            None => {
                return Err(format!(
                    "report {} is a whole run, not a shard: there is nothing to merge it with",
                    i + 1
                ));
            }
        }
    }
    if let Some(&(_, n)) = shards.first() {
        if shards.iter().any(|&(_, m)| m != n) {
            return Err("the shards were cut differently (`--shard K/N` with different N)".to_owned());
        }
        let mut seen: Vec<u32> = shards.iter().map(|&(k, _)| k).collect();
        seen.sort_unstable();
        if let Some(w) = seen.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("shard {}/{n} is given twice", w[0]));
        }
        let missing: Vec<String> = (1..=n).filter(|k| !seen.contains(k)).map(|k| format!("{k}/{n}")).collect();
        if !missing.is_empty() {
            return Err(format!("incomplete: shard(s) {} missing", missing.join(", ")));
        }
    }
    let mut merged = reports.drain(..1).next().ok_or("no reports to merge")?;
    let mut ids: std::collections::BTreeSet<String> = merged.cases.iter().map(|c| c.id.clone()).collect();
    for r in reports {
        merged.interrupted |= r.interrupted;
        if merged.not_started.is_none() {
            merged.not_started = r.not_started.clone();
        }
        merged.not_run.extend(r.not_run);
        for c in r.cases {
            if !ids.insert(c.id.clone()) {
                return Err(format!(
                    "case `{}` is in more than one report: were the shards of different runs?",
                    c.id
                ));
            }
            merged.cases.push(c);
        }
        merged.duration_ms = merged.duration_ms.max(r.duration_ms);
        merged.started_at = merged.started_at.min(r.started_at);
    }
    let accounted = merged.cases.len() + merged.not_run.len();
    if merged.not_started.is_none() && accounted != definition.total {
        return Err(format!(
            "incomplete: the run selects {} cases, the shards hold {accounted}",
            definition.total
        ));
    }
    merged.cases.sort_by(|a, b| a.id.cmp(&b.id));
    merged.shard = None;
    merged.not_run.sort();
    merged.resummarise();
    Ok(merged)
}
