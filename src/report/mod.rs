//! The report model: plain, versioned data that every renderer reads. A run
//! produces one [`Report`]; `reports/run.json` is its serialisation.

pub mod console;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::check::{CheckResult, Status};

/// Bumped when the JSON shape changes incompatibly.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub duration_ms: u64,
    pub provider: ProviderInfo,
    pub summary: Summary,
    pub cases: Vec<CaseReport>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ProviderInfo {
    pub name: String,
    pub issuer: String,
    /// The profile file, or `embedded` for the reference provider's own.
    pub profile: String,
    pub embedded: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quirks: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub total: usize,
    pub pass: usize,
    pub warn: usize,
    pub skip: usize,
    pub fail: usize,
    pub error: usize,
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
#[derive(Clone, Debug, Serialize, Deserialize)]
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

#[derive(Clone, Debug, Serialize, Deserialize)]
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
}

impl CaseReport {
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
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }

    /// Reads a saved report.
    pub fn read_json(path: &Path) -> Result<Report, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("`{}` is not JSON: {e}", path.display()))?;
        match v.get("schema_version").and_then(Value::as_u64) {
            Some(n) if n == SCHEMA_VERSION as u64 => {}
            Some(n) => {
                return Err(format!(
                    "`{}` has report schema version {n}; this oidc-conform reads version {SCHEMA_VERSION}",
                    path.display()
                ));
            }
            None => return Err(format!("`{}` is not an oidc-conform report (no `schema_version`)", path.display())),
        }
        serde_json::from_value(v).map_err(|e| format!("`{}` is not a valid report: {e}", path.display()))
    }

    /// Exit code for CI: 0 when conformant, 1 on any failure or error.
    pub fn exit_code(&self) -> i32 {
        if self.summary.fail + self.summary.error > 0 { 1 } else { 0 }
    }
}

/// RFC 3339 time of now (UTC, seconds).
pub fn timestamp() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
