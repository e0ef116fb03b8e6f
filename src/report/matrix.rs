//! `report matrix`: several saved runs side by side — a provider per column,
//! a built-in check per row, each cell what that check found in that run (met,
//! not met in N cases with the first evidence, a warning, not exercised) —
//! and the per-document conformance of each run. For a vendor's
//! release-over-release view and for comparing providers. One self-contained
//! HTML page (no network, no script needed) and a Markdown version.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use serde::Serialize;

use super::Report;
use crate::check::catalogue::CATALOGUE;
use crate::check::{Status, spec};

/// One run, a column.
#[derive(Debug, Serialize)]
pub struct Column {
    /// The provider's name, made unique among the columns.
    pub label: String,
    pub issuer: String,
    pub started_at: String,
    pub tool_version: String,
    /// `conformant`, `not conformant`, `interrupted` or `not run`.
    pub verdict: &'static str,
    pub cases: usize,
    pub failed: usize,
    pub documents: BTreeMap<String, String>,
}

/// What one check found in one run.
#[derive(Debug, Serialize, Clone)]
pub struct Cell {
    /// `pass`, `fail`, `error`, `warn` or `none` (not exercised).
    pub status: &'static str,
    /// Cases in which it was judged.
    pub judged: usize,
    /// Cases in which it failed, errored or warned.
    pub hit: usize,
    /// The first evidence of a failure or warning: message (expected, found) — in case.
    pub finding: Option<String>,
}

/// One check, a row.
#[derive(Debug, Serialize)]
pub struct Row {
    pub check: String,
    pub level: &'static str,
    pub spec: String,
    pub spec_title: String,
    pub spec_url: Option<String>,
    pub cells: Vec<Cell>,
    /// The cells differ: some run met it, another did not.
    pub differs: bool,
}

#[derive(Debug, Serialize)]
pub struct Matrix {
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    /// Every document any run cites, in order.
    pub documents: Vec<String>,
}

fn verdict(r: &Report) -> &'static str {
    if r.not_started.is_some() {
        "not run"
    } else if r.interrupted {
        "interrupted"
    } else if r.exit_code(false) == 0 {
        "conformant"
    } else {
        "not conformant"
    }
}

fn rank(status: &str) -> u8 {
    match status {
        "error" => 0,
        "fail" => 1,
        "warn" => 2,
        "pass" => 3,
        _ => 4,
    }
}

/// The matrix of these runs, columns in the order given.
pub fn build(reports: &[Report]) -> Matrix {
    let mut seen_labels: HashSet<String> = HashSet::new();
    let columns: Vec<Column> = reports
        .iter()
        .map(|r| {
            let base = if r.provider.name.is_empty() {
                "provider".to_owned()
            } else {
                r.provider.name.clone()
            };
            let mut label = base.clone();
            let mut n = 2;
            while !seen_labels.insert(label.clone()) {
                label = format!("{base} ({n})");
                n += 1;
            }
            Column {
                label,
                issuer: r.provider.issuer.clone(),
                started_at: r.started_at.clone(),
                tool_version: r.tool_version.clone(),
                verdict: verdict(r),
                cases: r.summary.total,
                failed: r.summary.fail + r.summary.error,
                documents: r.conformance.iter().map(|d| (d.document.clone(), d.statement())).collect(),
            }
        })
        .collect();

    // Per run: check id → cell.
    let per_run: Vec<BTreeMap<String, Cell>> = reports
        .iter()
        .map(|r| {
            let mut cells: BTreeMap<String, Cell> = BTreeMap::new();
            let none = || Cell {
                status: "none",
                judged: 0,
                hit: 0,
                finding: None,
            };
            for c in &r.cases {
                for p in &c.passed {
                    let cell = cells.entry(p.id.to_owned()).or_insert_with(none);
                    cell.judged += 1;
                    if rank("pass") < rank(cell.status) {
                        cell.status = "pass";
                    }
                }
                for k in &c.notable {
                    let status = match k.status {
                        Status::Pass => "pass",
                        Status::Fail => "fail",
                        Status::Error => "error",
                        Status::Warn => "warn",
                        Status::Skip => continue,
                    };
                    let cell = cells.entry(k.id.clone()).or_insert_with(none);
                    cell.judged += 1;
                    if status != "pass" {
                        cell.hit += 1;
                        if cell.finding.is_none() {
                            let ef = match (&k.expected, &k.found) {
                                (Some(e), Some(f)) => format!(" (expected {e}, found {f})"),
                                _ => String::new(),
                            };
                            cell.finding = Some(format!("{}{ef} — in {}", k.message, c.id));
                        }
                    }
                    if rank(status) < rank(cell.status) {
                        cell.status = status;
                    }
                }
            }
            cells
        })
        .collect();

    // Rows: the catalogue's checks in its order, then any other check a run has.
    let mut ids: Vec<String> = CATALOGUE.iter().map(|d| d.id.to_owned()).collect();
    let mut extra: Vec<String> = per_run
        .iter()
        .flat_map(|m| m.keys().cloned())
        .filter(|id| !ids.contains(id))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    ids.append(&mut extra);
    let none = Cell {
        status: "none",
        judged: 0,
        hit: 0,
        finding: None,
    };
    let rows = ids
        .into_iter()
        .filter_map(|id| {
            let cells: Vec<Cell> = per_run
                .iter()
                .map(|m| m.get(&id).cloned().unwrap_or_else(|| none.clone()))
                .collect();
            if cells.iter().all(|c| c.status == "none") {
                return None;
            }
            // Level and rule: the catalogue's, else as a run recorded them.
            let recorded = reports
                .iter()
                .flat_map(|r| r.cases.iter().flat_map(|c| c.outcomes()))
                .find(|k| k.id == id);
            let (level, spec_id) = match crate::check::catalogue::find(&id) {
                Some(d) => (d.level.as_str(), d.spec.to_owned()),
                None => recorded
                    .map(|k| (k.level.as_str(), k.spec.to_owned()))
                    .unwrap_or(("MUST", String::new())),
            };
            let differs = cells.windows(2).any(|w| w[0].status != w[1].status);
            Some(Row {
                spec_title: spec::title(&spec_id),
                spec_url: spec::url(&spec_id),
                check: id,
                level,
                spec: spec_id,
                cells,
                differs,
            })
        })
        .collect();

    let mut documents: Vec<String> = Vec::new();
    for r in reports {
        for d in &r.conformance {
            if !documents.contains(&d.document) {
                documents.push(d.document.clone());
            }
        }
    }
    documents.sort();
    Matrix { columns, rows, documents }
}

const TEMPLATE: &str = include_str!("templates/matrix.html");

/// The matrix as one self-contained HTML page.
pub fn render_html(m: &Matrix) -> Result<String, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.add_template("matrix.html", TEMPLATE)?;
    env.get_template("matrix.html")?.render(minijinja::context! { m => m })
}

/// The matrix in Markdown: a table of checks × providers, then the documents.
pub fn render_markdown(m: &Matrix) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "## OIDC conformance: {} providers side by side\n", m.columns.len());
    let _ = writeln!(md, "| provider | issuer | run | cases | verdict |\n|---|---|---|---:|---|");
    for c in &m.columns {
        let _ = writeln!(
            md,
            "| {} | `{}` | {} (oidc-conform {}) | {} | {} |",
            cell_text(&c.label),
            cell_text(&c.issuer),
            cell_text(&c.started_at),
            cell_text(&c.tool_version),
            c.cases,
            c.verdict
        );
    }
    let _ = write!(md, "\n| check | level | rule |");
    for c in &m.columns {
        let _ = write!(md, " {} |", cell_text(&c.label));
    }
    let _ = write!(md, "\n|---|---|---|");
    for _ in &m.columns {
        let _ = write!(md, "---|");
    }
    let _ = writeln!(md);
    for r in &m.rows {
        let rule = match &r.spec_url {
            Some(u) => format!("[{}]({u})", cell_text(&r.spec_title)),
            None => cell_text(&r.spec_title),
        };
        let _ = write!(md, "| `{}` | {} | {rule} |", cell_text(&r.check), r.level);
        for c in &r.cells {
            let text = match c.status {
                "pass" => "✓ met".to_owned(),
                "none" => "—".to_owned(),
                s => format!("{} {} of {}", symbol(s), c.hit, c.judged),
            };
            let _ = write!(md, " {text} |");
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(
        md,
        "\n✓ met in every case that judged it · ✗ not met (cases of cases judged) · ! warning (a SHOULD or MAY) · ⚠ harness error · — not exercised\n"
    );
    if !m.documents.is_empty() {
        let _ = writeln!(md, "### Conformance by specification\n");
        for d in &m.documents {
            let _ = writeln!(md, "- **{}**", cell_text(d));
            for c in &m.columns {
                let statement = c.documents.get(d).cloned().unwrap_or_else(|| format!("{d}: not exercised"));
                let _ = writeln!(
                    md,
                    "  - {}: {}",
                    cell_text(&c.label),
                    cell_text(statement.trim_start_matches(&format!("{d}: ")))
                );
            }
        }
    }
    let findings: Vec<&Row> = m.rows.iter().filter(|r| r.cells.iter().any(|c| c.finding.is_some())).collect();
    if !findings.is_empty() {
        let _ = writeln!(md, "\n### Findings, first evidence per provider\n");
        for r in findings {
            let _ = writeln!(md, "- `{}`", cell_text(&r.check));
            for (col, c) in m.columns.iter().zip(&r.cells) {
                if let Some(f) = &c.finding {
                    let _ = writeln!(md, "  - {}: {}", cell_text(&col.label), cell_text(f));
                }
            }
        }
    }
    md
}

fn symbol(status: &str) -> &'static str {
    match status {
        "fail" => "✗",
        "error" => "⚠",
        "warn" => "!",
        _ => "",
    }
}

/// Text for a table cell or a line: pipes escaped, control characters
/// (newlines too) written out.
fn cell_text(s: &str) -> String {
    super::escape_controls(s).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckResult;
    use crate::report::ProviderInfo;

    fn run(name: &str, checks: Vec<(&str, Vec<CheckResult>)>) -> Report {
        let mut r = Report::new(
            ProviderInfo {
                name: name.into(),
                issuer: format!("https://{name}.test"),
                ..Default::default()
            },
            "2026-01-01T00:00:00Z".into(),
            1,
        );
        r.cases = checks
            .into_iter()
            .map(|(id, checks)| crate::report::findings::tests::case(id, checks).into())
            .collect();
        r.resummarise();
        r
    }

    #[test]
    fn each_check_per_provider_with_its_first_evidence() {
        let a = run(
            "acme",
            vec![
                (
                    "s::one",
                    vec![CheckResult::pass("id_token.aud", "ok"), CheckResult::pass("flow.state", "ok")],
                ),
                (
                    "s::two",
                    vec![CheckResult::fail("id_token.aud", "aud is an API").ef("web-app", "https://api")],
                ),
            ],
        );
        let b = run("acme", vec![("s::one", vec![CheckResult::pass("id_token.aud", "ok")])]);
        let m = build(&[a, b]);
        let labels: Vec<&str> = m.columns.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["acme", "acme (2)"], "two runs of one provider stay apart");
        assert_eq!(m.columns[0].verdict, "not conformant");
        assert_eq!(m.columns[1].verdict, "conformant");
        let aud = m.rows.iter().find(|r| r.check == "id_token.aud").unwrap();
        assert_eq!((aud.cells[0].status, aud.cells[0].hit, aud.cells[0].judged), ("fail", 1, 2));
        assert_eq!(
            aud.cells[0].finding.as_deref(),
            Some("aud is an API (expected web-app, found https://api) — in s::two")
        );
        assert_eq!(aud.cells[1].status, "pass");
        assert!(aud.differs);
        let state = m.rows.iter().find(|r| r.check == "flow.state").unwrap();
        assert_eq!(state.cells[1].status, "none", "not exercised in the second run");
        assert!(
            !m.rows.iter().any(|r| r.check == "pkce.downgrade"),
            "checks no run judged are left out"
        );
        let md = render_markdown(&m);
        assert!(md.contains("| `id_token.aud` | MUST |"), "{md}");
        assert!(md.contains("✗ 1 of 2 | ✓ met |"), "{md}");
        let html = render_html(&m).unwrap();
        assert!(html.contains("data-check=\"id_token.aud\""), "{html}");
    }
}
