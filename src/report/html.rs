//! The HTML report: one self-contained file (inline CSS, no fetches) that reads
//! well without JavaScript. [`render`] turns a [`Report`] into it; the layout is
//! the minijinja template `templates/report.html`, embedded in the binary.
//!
//! The template only lays out; every decision (order, counts, links, pretty JSON)
//! is made here, in a view model, so it can be tested without a browser. All
//! values are escaped by the template engine (HTML auto-escaping is on).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{BaselineInfo, CaseEntry, CaseReport, ProviderInfo, Report, Summary};
use crate::check::{CheckResult, Status, spec};

/// The templates, embedded at build time: the page up to the cases, an area's
/// heading, a case in full, a case in one line, and the rest of the page. They
/// are rendered in turn, straight to the file, so that a report of any size is
/// never held in memory.
const TEMPLATES: &[(&str, &str)] = &[
    ("macros.html", include_str!("templates/macros.html")),
    ("report.html", include_str!("templates/report.html")),
    ("area_open.html", include_str!("templates/area_open.html")),
    ("case.html", include_str!("templates/case.html")),
    ("line.html", include_str!("templates/line.html")),
    ("tail.html", include_str!("templates/tail.html")),
];

/// A run of up to this many cases shows every case in full. A larger run shows in
/// full the cases that did not pass (failures and errors first, then warnings,
/// then skips), up to this many, and every other case in one line that links
/// to what it checked: the page stays quick to open at 10 000 cases.
pub const FULL_LIMIT: usize = 300;

/// Check sets listed at most; cases beyond say their evidence is in `run.json`.
const MAX_CHECKSETS: usize = 200;
/// The report's one script, a convenience (expand/collapse all) nothing depends on.
const SCRIPT: &str = include_str!("templates/report.js");

/// The report's Content-Security-Policy: inline styles, and the one script by its
/// hash; nothing else, so that nothing is fetched and nothing injected could run.
fn csp() -> String {
    use base64::Engine as _;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, SCRIPT.as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    format!("default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{hash}'; base-uri 'none'; form-action 'none'")
}

/// Why the HTML report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error("cannot render the HTML report: {0}")]
    Template(#[from] minijinja::Error),
    #[error("cannot read case `{case}` back for the HTML report: {source}")]
    Case {
        case: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the HTML report `{path}`: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Renders the report as one self-contained HTML document.
pub fn render(report: &Report) -> Result<String, HtmlError> {
    render_with_limit(report, FULL_LIMIT)
}

/// [`render`], showing in full at most `full_limit` cases of a larger run.
pub fn render_with_limit(report: &Report, full_limit: usize) -> Result<String, HtmlError> {
    let mut out = Vec::new();
    write_to(report, &mut out, full_limit, report.source_dir.as_deref())?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Writes `report.html` into `dir` (created if missing) and returns its path.
pub fn write(report: &Report, dir: &Path) -> Result<PathBuf, HtmlError> {
    let path = dir.join("report.html");
    let io = |source| HtmlError::Write {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let tmp = dir.join(".report.html.tmp");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
    // Screenshots are next to the saved run.json (or, for a new run, in `dir`).
    let base = report.source_dir.clone().unwrap_or_else(|| dir.to_path_buf());
    write_to(report, &mut out, FULL_LIMIT, Some(&base))?;
    std::io::Write::flush(&mut out).map_err(io)?;
    drop(out);
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(path)
}

fn environment() -> Result<Environment<'static>, HtmlError> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    for (name, text) in TEMPLATES {
        env.add_template(name, text)?;
    }
    // Our own constant, set verbatim inside `<script>` (HTML escaping does not apply there).
    env.add_global("script", minijinja::Value::from_safe_string(SCRIPT.to_owned()));
    env.add_global("csp", csp());
    Ok(env)
}

/// The page, part by part: the head (findings, summary, matrix, conformance)
/// from the entries; then each case, read back from the spool when it is shown
/// in full; then the check sets of the one-line cases.
fn write_to(report: &Report, w: &mut dyn std::io::Write, full_limit: usize, base: Option<&Path>) -> Result<(), HtmlError> {
    let env = environment()?;
    let plan = Plan::of(report, full_limit)?;
    let view = View::of(report, &plan);
    env.get_template("report.html")?.render_captured_to(&view, &mut *w)?;
    let write_err = |source| HtmlError::Write {
        path: PathBuf::from("report.html"),
        source,
    };
    let (area_open, case_t, line_t) = (
        env.get_template("area_open.html")?,
        env.get_template("case.html")?,
        env.get_template("line.html")?,
    );
    for g in &view.groups {
        area_open.render_captured_to(minijinja::context! { g => g }, &mut *w)?;
        for &i in &plan.by_area[&g.area] {
            let entry = &report.cases[i];
            if plan.full.contains(&i) {
                let case = entry.load().map_err(|source| HtmlError::Case {
                    case: entry.id.clone(),
                    source,
                })?;
                let c = CaseView::of(&case, plan.anchors[i].clone(), plan.run_start, base);
                case_t.render_captured_to(minijinja::context! { c => c }, &mut *w)?;
            } else {
                let c = LineView::of(entry, &plan, i);
                line_t.render_captured_to(minijinja::context! { c => c }, &mut *w)?;
            }
        }
        w.write_all(b"\n</section>").map_err(write_err)?;
    }
    let tail = Tail {
        tool: &report.tool,
        tool_version: &report.tool_version,
        schema_version: report.schema_version,
        started_at: &report.started_at,
        lines: plan.lines,
        lines_passing: plan.lines_passing,
        checksets: &plan.checksets,
        checksets_left: plan.checksets_left,
    };
    env.get_template("tail.html")?.render_captured_to(&tail, &mut *w)?;
    Ok(())
}

/// What the page shows how: decided once, before the first byte is written.
struct Plan {
    /// Each case's anchor, by index in the report.
    anchors: Vec<String>,
    /// Area → the indexes of its cases, in report order.
    by_area: HashMap<String, Vec<usize>>,
    areas: Vec<String>,
    /// The cases shown in full.
    full: HashSet<usize>,
    /// Cases in one line, and how many of them passed.
    lines: usize,
    lines_passing: usize,
    /// One-line case → the check set it links to.
    checkset_of: HashMap<usize, usize>,
    checksets: Vec<CheckSet>,
    /// One-line cases whose checks no listed set holds.
    checksets_left: usize,
    run_start: Option<i64>,
}

/// The checks (with their results) that some one-line cases share, listed once.
#[derive(Serialize)]
struct CheckSet {
    number: usize,
    anchor: String,
    checks: Vec<CheckView>,
    counts: Counts,
    /// How many cases have exactly these.
    cases: usize,
}

impl Plan {
    fn of(r: &Report, full_limit: usize) -> Result<Plan, HtmlError> {
        let areas = ordered(r.cases.iter().map(|c| c.area.as_str()), AREAS);
        let mut by_area: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in r.cases.iter().enumerate() {
            by_area.entry(c.area.clone()).or_default().push(i);
        }
        let mut taken = HashSet::new();
        let mut anchors = vec![String::new(); r.cases.len()];
        for a in &areas {
            for &i in &by_area[a] {
                anchors[i] = unique(anchor("case-", &r.cases[i].id), &mut taken);
            }
        }
        let full: HashSet<usize> = if r.cases.len() <= full_limit {
            (0..r.cases.len()).collect()
        } else {
            let rank = |s: Status| match s {
                Status::Fail | Status::Error => 0,
                Status::Warn => 1,
                Status::Skip => 2,
                Status::Pass => 3,
            };
            let mut candidates: Vec<usize> = (0..r.cases.len()).filter(|&i| r.cases[i].status != Status::Pass).collect();
            candidates.sort_by_key(|&i| (rank(r.cases[i].status), i));
            candidates.into_iter().take(full_limit).collect()
        };
        let mut plan = Plan {
            anchors,
            by_area,
            areas,
            lines: r.cases.len() - full.len(),
            lines_passing: 0,
            full,
            checkset_of: HashMap::new(),
            checksets: Vec::new(),
            checksets_left: 0,
            run_start: humantime::parse_rfc3339_weak(&r.started_at)
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .and_then(|d| i64::try_from(d.as_secs()).ok()),
        };
        // The one-line cases, grouped by what they checked and found.
        let mut by_signature: HashMap<Vec<u8>, usize> = HashMap::new();
        for a in &plan.areas {
            for &i in &plan.by_area[a] {
                if plan.full.contains(&i) {
                    continue;
                }
                let entry = &r.cases[i];
                if entry.status == Status::Pass {
                    plan.lines_passing += 1;
                }
                let case = entry.load().map_err(|source| HtmlError::Case {
                    case: entry.id.clone(),
                    source,
                })?;
                let signature = serde_json::to_vec(&case.checks).unwrap_or_default();
                match by_signature.get(&signature) {
                    Some(&n) => {
                        plan.checksets[n].cases += 1;
                        plan.checkset_of.insert(i, n);
                    }
                    None if plan.checksets.len() < MAX_CHECKSETS => {
                        let n = plan.checksets.len();
                        plan.checksets.push(CheckSet {
                            number: n + 1,
                            anchor: format!("checkset-{}", n + 1),
                            checks: case.checks.iter().map(CheckView::of).collect(),
                            counts: Counts::of(case.checks.iter().map(|k| &k.status)),
                            cases: 1,
                        });
                        by_signature.insert(signature, n);
                        plan.checkset_of.insert(i, n);
                    }
                    None => plan.checksets_left += 1,
                }
            }
        }
        Ok(plan)
    }
}

/// A case in one line: its verdict, the first problem, and a link to what it checked.
#[derive(Serialize)]
struct LineView {
    id: String,
    anchor: String,
    status: &'static str,
    symbol: &'static str,
    known: bool,
    flow: String,
    duration: String,
    checks: usize,
    checkset: Option<String>,
    gist: Option<CheckView>,
    more_problems: usize,
}

impl LineView {
    fn of(c: &CaseEntry, plan: &Plan, i: usize) -> LineView {
        // What to say in the line: the first problem, else the first warning, else why it was skipped.
        let problems: Vec<&CheckResult> = c
            .problems()
            .chain(c.notable.iter().filter(|k| k.status == Status::Warn))
            .chain(c.notable.iter().filter(|k| k.status == Status::Skip && c.status == Status::Skip))
            .collect();
        LineView {
            id: c.id.clone(),
            anchor: plan.anchors[i].clone(),
            status: c.status.as_str(),
            symbol: symbol(c.status),
            known: c.is_known_failure(),
            flow: c.flow.clone(),
            duration: duration(c.duration_ms),
            checks: c.check_count(),
            checkset: plan.checkset_of.get(&i).map(|&n| plan.checksets[n].anchor.clone()),
            gist: problems.first().map(|k| CheckView::of(k)),
            more_problems: problems.len().saturating_sub(1),
        }
    }
}

/// What the end of the page shows.
#[derive(Serialize)]
struct Tail<'a> {
    tool: &'a str,
    tool_version: &'a str,
    schema_version: u32,
    started_at: &'a str,
    lines: usize,
    lines_passing: usize,
    checksets: &'a [CheckSet],
    checksets_left: usize,
}

/// Statuses in the order the report shows them: worst first.
const ORDER: [Status; 5] = [Status::Fail, Status::Error, Status::Warn, Status::Skip, Status::Pass];

/// Known areas and flows, in the order the manual lists them; others follow by name.
const AREAS: &[&str] = &[
    "scopes",
    "namespacing",
    "audience",
    "id_token",
    "access_token",
    "userinfo",
    "negative",
    "flows",
];
const FLOWS: &[&str] = &["code", "implicit", "hybrid", "refresh", "client_credentials"];

fn label(s: Status) -> &'static str {
    s.as_str()
}

/// A shape for each status, so that colour is never the only signal.
fn symbol(s: Status) -> &'static str {
    match s {
        Status::Pass => "✓",
        Status::Warn => "!",
        Status::Skip => "–",
        Status::Fail => "✗",
        Status::Error => "⚠",
    }
}

fn count_of(s: &Summary, st: Status) -> usize {
    match st {
        Status::Pass => s.pass,
        Status::Warn => s.warn,
        Status::Skip => s.skip,
        Status::Fail => s.fail,
        Status::Error => s.error,
    }
}

/// `41 ms`, `1.16 s`, `2 min 05 s`.
fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.2} s", ms as f64 / 1000.0)
    } else {
        let s = ms / 1000;
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

/// An HTML id for a name: letters, digits and `-`.
fn anchor(prefix: &str, name: &str) -> String {
    let mut out = String::from(prefix);
    for ch in name.chars() {
        out.push(if ch.is_ascii_alphanumeric() { ch.to_ascii_lowercase() } else { '-' });
    }
    out
}

/// `id`, or `id-2`, `id-3`… when taken: two case ids may slug alike.
fn unique(id: String, taken: &mut HashSet<String>) -> String {
    let mut candidate = id.clone();
    let mut n = 1;
    while !taken.insert(candidate.clone()) {
        n += 1;
        candidate = format!("{id}-{n}");
    }
    candidate
}

/// Sorts names by a known order, unknown names after, by name.
fn ordered<'a>(names: impl IntoIterator<Item = &'a str>, known: &[&str]) -> Vec<String> {
    let mut v: Vec<&str> = names.into_iter().collect();
    v.sort_by_key(|n| (known.iter().position(|k| k == n).unwrap_or(usize::MAX), *n));
    v.dedup();
    v.into_iter().map(str::to_owned).collect()
}

fn pretty(v: &Map<String, Value>) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("(cannot show: {e})"))
}

#[derive(Serialize)]
struct StatusView {
    key: &'static str,
    label: &'static str,
    symbol: &'static str,
    count: usize,
}

impl StatusView {
    fn new(s: Status, count: usize) -> Self {
        StatusView {
            key: s.as_str(),
            label: label(s),
            symbol: symbol(s),
            count,
        }
    }
}

/// Counts by status of a set of cases or checks, for a badge row or a matrix cell.
#[derive(Serialize, Default)]
struct Counts {
    total: usize,
    /// The worst status present (`none` when empty), for the cell's tint.
    worst: &'static str,
    /// Only the statuses present, worst first.
    counts: Vec<StatusView>,
}

impl Counts {
    fn of<'a>(statuses: impl IntoIterator<Item = &'a Status>) -> Counts {
        let s = Summary::of(statuses);
        let counts: Vec<StatusView> = ORDER
            .iter()
            .filter(|st| count_of(&s, **st) > 0)
            .map(|st| StatusView::new(*st, count_of(&s, *st)))
            .collect();
        Counts {
            total: s.total,
            worst: counts.first().map(|c| c.key).unwrap_or("none"),
            counts,
        }
    }
}

#[derive(Serialize)]
struct SpecLink {
    id: String,
    title: String,
    url: Option<String>,
}

impl SpecLink {
    fn of(id: &str) -> Option<SpecLink> {
        (!id.is_empty()).then(|| SpecLink {
            id: id.to_owned(),
            title: spec::title(id),
            url: spec::url(id),
        })
    }
}

/// Text with `backticked` parts, split so that the template can set those in `<code>`.
#[derive(Serialize)]
struct Segment {
    code: bool,
    text: String,
}

fn segments(text: &str) -> Vec<Segment> {
    if text.matches('`').count() % 2 != 0 {
        return vec![Segment {
            code: false,
            text: text.to_owned(),
        }];
    }
    text.split('`')
        .enumerate()
        .filter(|(_, t)| !t.is_empty())
        .map(|(i, t)| Segment {
            code: i % 2 == 1,
            text: t.to_owned(),
        })
        .collect()
}

#[derive(Serialize)]
struct CheckView {
    id: String,
    status: &'static str,
    symbol: &'static str,
    message: Vec<Segment>,
    expected: Option<Vec<Segment>>,
    found: Option<Vec<Segment>>,
    spec: Option<SpecLink>,
    /// MUST / SHOULD / MAY
    level: &'static str,
    /// A baseline expects this failure: its reason.
    known: Option<String>,
    /// The exchanges that show this check (a failing or warning one).
    exchanges: Vec<ExchangeView>,
}

/// An exchange as the report shows it under its check: the request and the
/// answer, and for a plain HTTP request the `curl` command that replays it.
#[derive(Serialize)]
struct ExchangeView {
    title: String,
    lines: String,
    curl: Option<String>,
    /// The environment variables to set first: `NAME: what to set it to`.
    vars: Vec<String>,
    /// The other checks it shows.
    also: Vec<String>,
}

impl ExchangeView {
    fn of(x: &super::exchange::Exchange, check: &str) -> Self {
        ExchangeView {
            title: x.title(),
            lines: x.lines().join("\n"),
            curl: x.curl(),
            vars: x.vars_lines(),
            also: x.checks.iter().filter(|c| *c != check).cloned().collect(),
        }
    }
}

impl CheckView {
    fn with_exchanges(c: &CheckResult, exchanges: &[super::exchange::Exchange]) -> Self {
        let mut view = CheckView::of(c);
        if matches!(c.status, Status::Fail | Status::Error | Status::Warn) {
            view.exchanges = super::exchange::of_check(exchanges, &c.id)
                .map(|(_, x)| ExchangeView::of(x, &c.id))
                .collect();
        }
        view
    }

    fn of(c: &CheckResult) -> Self {
        CheckView {
            id: c.id.clone(),
            status: c.status.as_str(),
            symbol: symbol(c.status),
            message: segments(&c.message),
            expected: c.expected.as_deref().map(segments),
            found: c.found.as_deref().map(segments),
            spec: SpecLink::of(&c.spec),
            level: c.level.as_str(),
            known: c.known.clone(),
            exchanges: Vec::new(),
        }
    }
}

#[derive(Serialize)]
struct TokenSection {
    kind: String,
    kind_label: String,
    origin: String,
    origin_label: String,
    note: Option<String>,
    header: Option<String>,
    claims: Option<String>,
    /// The time claims (`exp`, `iat`, …) as dates, next to their epoch values.
    times: Vec<TimeView>,
}

/// A NumericDate claim (RFC 7519 §2) as a person reads it.
#[derive(Serialize)]
struct TimeView {
    claim: String,
    epoch: i64,
    /// RFC 3339, UTC.
    date: String,
    /// Relative to the run's start: "in 5 min", "2 h before".
    relative: Option<String>,
}

/// The claims that hold seconds since the epoch (RFC 7519 §4.1, OIDC Core §2, §5.1).
const TIME_CLAIMS: &[&str] = &["exp", "iat", "nbf", "auth_time", "updated_at"];

fn times(claims: &serde_json::Map<String, serde_json::Value>, run_start: Option<i64>) -> Vec<TimeView> {
    TIME_CLAIMS
        .iter()
        .filter_map(|name| {
            let epoch = claims.get(*name)?.as_i64()?;
            let at = u64::try_from(epoch)
                .ok()
                .and_then(|s| std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(s)))?;
            Some(TimeView {
                claim: (*name).to_owned(),
                epoch,
                date: humantime::format_rfc3339_seconds(at).to_string(),
                relative: run_start.map(|start| relative(epoch - start)),
            })
        })
        .collect()
}

/// A signed offset from the run's start in words.
fn relative(delta: i64) -> String {
    let n = delta.unsigned_abs();
    if n < 1 {
        return "at the run's start".into();
    }
    let amount = if n < 120 {
        format!("{n} s")
    } else if n < 7200 {
        format!("{} min", n / 60)
    } else if n < 2 * 86_400 {
        format!("{} h", n / 3600)
    } else {
        format!("{} days", n / 86_400)
    };
    if delta > 0 {
        format!("{amount} after the run's start")
    } else {
        format!("{amount} before the run's start")
    }
}

fn kind_label(kind: &str) -> String {
    match kind {
        "id_token" => "ID token".into(),
        "access_token" => "Access token".into(),
        "refresh_token" => "Refresh token".into(),
        other => other.to_owned(),
    }
}

fn origin_label(origin: &str) -> String {
    match origin {
        "authorization" => "from the authorization response".into(),
        "token" => "from the token endpoint".into(),
        "refresh" => "from the refresh".into(),
        "client_credentials" => "from the client credentials grant".into(),
        other => format!("from {other}"),
    }
}

#[derive(Serialize)]
struct CaseView {
    id: String,
    anchor: String,
    status: &'static str,
    symbol: &'static str,
    /// Failed and errored cases start open.
    open: bool,
    /// Every problem of the case is in the baseline.
    known: bool,
    about: Option<Vec<Segment>>,
    area: String,
    flow: String,
    spec: Vec<SpecLink>,
    location: String,
    duration: String,
    checks: Vec<CheckView>,
    check_counts: Counts,
    /// The first problem, for the collapsed line, and how many more there are.
    gist: Option<CheckView>,
    more_problems: usize,
    request: BTreeMap<String, String>,
    authorization_response: Option<BTreeMap<String, String>>,
    tokens: Vec<TokenSection>,
    userinfo: Option<String>,
    trace: Vec<String>,
    /// The page the browser driver could not get past.
    page: Option<PageView>,
}

/// A page capture as the report shows it: the screenshot inline (a data URI:
/// the file stays one self-contained page) and the page's text.
#[derive(Serialize)]
struct PageView {
    text: Option<String>,
    /// `data:image/png;base64,…`
    image: Option<String>,
    /// The screenshot's file, when it could not be read for embedding.
    missing: Option<String>,
}

/// Screenshots larger than this are linked, not embedded.
const MAX_EMBEDDED_SCREENSHOT: u64 = 4 * 1024 * 1024;

impl PageView {
    fn of(p: &crate::report::PageCapture, base: Option<&Path>) -> PageView {
        use base64::Engine as _;
        let bytes = p.screenshot.as_ref().and_then(|file| {
            let path = base?.join(file);
            (std::fs::metadata(&path).ok()?.len() <= MAX_EMBEDDED_SCREENSHOT).then_some(())?;
            let bytes = std::fs::read(path).ok()?;
            bytes.starts_with(b"\x89PNG").then_some(bytes)
        });
        PageView {
            text: p.text.clone(),
            missing: match (&bytes, &p.screenshot) {
                (None, Some(file)) => Some(file.clone()),
                _ => None,
            },
            image: bytes.map(|b| format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(b))),
        }
    }
}

impl CaseView {
    fn of(c: &CaseReport, anchor: String, run_start: Option<i64>, base: Option<&Path>) -> Self {
        let problems: Vec<&CheckResult> = c.problems().chain(c.checks.iter().filter(|k| k.status == Status::Warn)).collect();
        CaseView {
            id: c.id.clone(),
            anchor,
            status: c.status.as_str(),
            symbol: symbol(c.status),
            open: matches!(c.status, Status::Fail | Status::Error),
            known: c.is_known_failure(),
            about: c.about.as_deref().map(segments),
            area: c.area.clone(),
            flow: c.flow.clone(),
            spec: c.spec.iter().filter_map(|s| SpecLink::of(s)).collect(),
            location: c.location.clone(),
            duration: duration(c.duration_ms),
            checks: c.checks.iter().map(|k| CheckView::with_exchanges(k, &c.exchanges)).collect(),
            check_counts: Counts::of(c.checks.iter().map(|k| &k.status)),
            gist: problems.first().map(|k| CheckView::of(k)),
            more_problems: problems.len().saturating_sub(1),
            request: c.request.clone(),
            authorization_response: c.authorization_response.clone(),
            tokens: c
                .tokens
                .iter()
                .map(|t| TokenSection {
                    kind: t.kind.clone(),
                    kind_label: kind_label(&t.kind),
                    origin: t.origin.clone(),
                    origin_label: origin_label(&t.origin),
                    note: t.note.clone(),
                    header: t.header.as_ref().map(pretty),
                    claims: t.claims.as_ref().map(pretty),
                    times: t.claims.as_ref().map(|c| times(c, run_start)).unwrap_or_default(),
                })
                .collect(),
            userinfo: c.userinfo.as_ref().map(pretty),
            trace: c.trace.clone(),
            page: c.page.as_ref().map(|p| PageView::of(p, base)),
        }
    }
}

#[derive(Serialize)]
struct MatrixRow {
    area: String,
    anchor: String,
    cells: Vec<Counts>,
    total: Counts,
}

/// Areas down, flows across, counts by status in each cell.
#[derive(Serialize)]
struct Matrix {
    flows: Vec<String>,
    rows: Vec<MatrixRow>,
    totals: Vec<Counts>,
    total: Counts,
}

impl Matrix {
    fn of(cases: &[CaseEntry], areas: &[String]) -> Matrix {
        let flows = ordered(cases.iter().map(|c| c.flow.as_str()), FLOWS);
        let cell = |area: Option<&str>, flow: Option<&str>| {
            Counts::of(
                cases
                    .iter()
                    .filter(|c| area.is_none_or(|a| c.area == a) && flow.is_none_or(|f| c.flow == f))
                    .map(|c| &c.status),
            )
        };
        Matrix {
            rows: areas
                .iter()
                .map(|a| MatrixRow {
                    area: a.clone(),
                    anchor: anchor("area-", a),
                    cells: flows.iter().map(|f| cell(Some(a), Some(f))).collect(),
                    total: cell(Some(a), None),
                })
                .collect(),
            totals: flows.iter().map(|f| cell(None, Some(f))).collect(),
            total: cell(None, None),
            flows,
        }
    }
}

/// An area's heading; its cases are rendered one by one after it.
#[derive(Serialize)]
struct AreaGroup {
    area: String,
    anchor: String,
    counts: Counts,
    /// The statuses its cases have (and `problems`), for the filter.
    has: String,
}

#[derive(Serialize)]
struct Verdict {
    status: &'static str,
    symbol: &'static str,
    headline: &'static str,
}

impl Verdict {
    fn of(r: &Report) -> Verdict {
        let s = &r.summary;
        let unexpected = |st: Status| r.cases.iter().any(|c| c.status == st && !c.is_known_failure());
        let (status, headline) = if r.not_started.is_some() {
            (Status::Error, "Not run: the run did not start")
        } else if r.interrupted {
            (Status::Error, "Interrupted: no verdict, some cases did not run")
        } else if unexpected(Status::Fail) {
            (Status::Fail, "Not conformant")
        } else if unexpected(Status::Error) {
            (Status::Error, "Incomplete: some cases could not run to the end")
        } else if s.fail + s.error > 0 {
            (Status::Warn, "Conformant apart from the baseline's known failures")
        } else if s.total == 0 {
            (Status::Skip, "No cases ran")
        } else if s.warn > 0 {
            (Status::Warn, "Conformant, with warnings")
        } else if s.total == s.skip {
            (Status::Skip, "Nothing was checked")
        } else {
            (Status::Pass, "Conformant")
        };
        Verdict {
            status: status.as_str(),
            symbol: symbol(status),
            headline,
        }
    }
}

/// Everything the template shows, decided.
#[derive(Serialize)]
struct View<'a> {
    tool: &'a str,
    tool_version: &'a str,
    schema_version: u32,
    started_at: &'a str,
    duration: String,
    provider: &'a ProviderInfo,
    /// The provider's quirks (the model leaves the list out of JSON when empty).
    quirks: &'a [String],
    /// `k/n` when the run is one shard of a larger one.
    shard: Option<&'a str>,
    interrupted: bool,
    not_run: &'a [String],
    not_started: Option<&'a str>,
    baseline: Option<&'a BaselineInfo>,
    verdict: Verdict,
    summary: &'a Summary,
    /// Each status with its count of cases, worst first.
    statuses: Vec<StatusView>,
    /// Failed, errored and warned cases: what "problems only" shows.
    problems: usize,
    matrix: Matrix,
    conformance: &'a [crate::report::conformance::DocumentConformance],
    /// The problems grouped by check, first on the page.
    findings: Vec<FindingView>,
    groups: Vec<AreaGroup>,
    /// The filter's keys: `all`, `problems` and each status.
    filter_keys: Vec<&'static str>,
    /// The filter keys no case matches: "No case has this status" shows for them.
    empty_for: String,
    /// Cases in full, cases in one line, and the limit that decided it.
    full: usize,
    lines: usize,
    full_limit: usize,
}

/// Cases a finding links before "and N more".
const FINDING_CASES_SHOWN: usize = 50;

/// A finding as the page shows it: its rule, the cases it hit (linked), the first evidence.
#[derive(Serialize)]
struct FindingView {
    check: String,
    status: &'static str,
    symbol: &'static str,
    level: &'static str,
    spec: Option<SpecLink>,
    count: usize,
    known: bool,
    message: Vec<Segment>,
    expected: Option<Vec<Segment>>,
    found: Option<Vec<Segment>>,
    first: CaseLink,
    cases: Vec<CaseLink>,
    more: usize,
}

#[derive(Serialize)]
struct CaseLink {
    id: String,
    anchor: String,
}

impl FindingView {
    fn of(f: &crate::report::findings::Finding, anchors: &HashMap<&str, &str>) -> FindingView {
        let link = |id: &str| CaseLink {
            id: id.to_owned(),
            anchor: anchors.get(id).map(|a| (*a).to_owned()).unwrap_or_default(),
        };
        FindingView {
            check: f.check.clone(),
            status: f.status.as_str(),
            symbol: symbol(f.status),
            level: f.level.as_str(),
            spec: SpecLink::of(&f.spec),
            count: f.cases.len(),
            known: f.known,
            message: segments(&f.first.message),
            expected: f.first.expected.as_deref().map(segments),
            found: f.first.found.as_deref().map(segments),
            first: link(&f.first.case),
            cases: f.cases_shown(FINDING_CASES_SHOWN).0.iter().map(|c| link(c)).collect(),
            more: f.cases_shown(FINDING_CASES_SHOWN).1,
        }
    }
}

impl<'a> View<'a> {
    fn of(r: &'a Report, plan: &Plan) -> View<'a> {
        let has = |cases: &[usize]| {
            let mut keys: Vec<&str> = ORDER
                .iter()
                .filter(|st| cases.iter().any(|&i| r.cases[i].status == **st))
                .map(|st| st.as_str())
                .collect();
            if cases
                .iter()
                .any(|&i| matches!(r.cases[i].status, Status::Fail | Status::Error | Status::Warn))
            {
                keys.push("problems");
            }
            keys.join(" ")
        };
        let groups = plan
            .areas
            .iter()
            .map(|a| {
                let cases = &plan.by_area[a];
                AreaGroup {
                    area: a.clone(),
                    anchor: anchor("area-", a),
                    counts: Counts::of(cases.iter().map(|&i| &r.cases[i].status)),
                    has: has(cases),
                }
            })
            .collect::<Vec<AreaGroup>>();
        let all: Vec<usize> = (0..r.cases.len()).collect();
        let present = has(&all);
        let present: HashSet<&str> = present.split(' ').collect();
        let mut filter_keys = vec!["all", "problems"];
        filter_keys.extend(ORDER.iter().map(|s| s.as_str()));
        let empty_for = filter_keys
            .iter()
            .filter(|k| **k != "all" && !present.contains(**k))
            .copied()
            .collect::<Vec<&str>>()
            .join(" ");
        let anchors: HashMap<&str, &str> = r
            .cases
            .iter()
            .zip(&plan.anchors)
            .map(|(c, a)| (c.id.as_str(), a.as_str()))
            .collect();
        let findings = r.findings.iter().map(|f| FindingView::of(f, &anchors)).collect();
        View {
            tool: &r.tool,
            tool_version: &r.tool_version,
            schema_version: r.schema_version,
            started_at: &r.started_at,
            duration: duration(r.duration_ms),
            provider: &r.provider,
            quirks: &r.provider.quirks,
            shard: r.shard.as_deref(),
            interrupted: r.interrupted,
            not_run: &r.not_run,
            not_started: r.not_started.as_deref(),
            baseline: r.baseline.as_ref(),
            verdict: Verdict::of(r),
            summary: &r.summary,
            statuses: ORDER.iter().map(|s| StatusView::new(*s, count_of(&r.summary, *s))).collect(),
            problems: r.summary.fail + r.summary.error + r.summary.warn,
            matrix: Matrix::of(&r.cases, &plan.areas),
            conformance: &r.conformance,
            findings,
            groups,
            filter_keys,
            empty_for,
            full: plan.full.len(),
            lines: plan.lines,
            full_limit: FULL_LIMIT.max(plan.full.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{SCHEMA_VERSION, TokenView};
    use serde_json::json;

    fn check(id: &str, status: Status, message: &str, spec: &str) -> CheckResult {
        CheckResult {
            id: id.into(),
            status,
            message: message.into(),
            expected: None,
            found: None,
            spec: spec.into(),
            level: Default::default(),
            known: None,
        }
    }

    fn case(id: &str, area: &str, flow: &str, status: Status, checks: Vec<CheckResult>) -> CaseReport {
        let (suite, name) = id.split_once("::").unwrap();
        CaseReport {
            id: id.into(),
            suite: suite.into(),
            name: name.into(),
            about: Some(format!("About `{name}`.")),
            area: area.into(),
            flow: flow.into(),
            spec: vec!["OIDC-Core-5.4".into(), "RFC9068-2.2".into()],
            location: format!("suites/{suite}.yaml:7"),
            status,
            duration_ms: 42,
            checks,
            request: [
                ("scope".to_owned(), "openid profile".to_owned()),
                ("client_id".to_owned(), "web-app".to_owned()),
            ]
            .into(),
            authorization_response: None,
            tokens: vec![],
            userinfo: None,
            trace: vec!["GET http://127.0.0.1:8787/authorize → 302".into()],
            exchanges: vec![],
            page: None,
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    /// A report with a case of each kind: pass, fail (with a hostile claim), error, skip.
    fn sample() -> Report {
        let mut failing = case(
            "basics::api-access-token",
            "audience",
            "code",
            Status::Fail,
            vec![
                check("id_token.iss", Status::Pass, "`iss` equals the issuer", "OIDC-Core-3.1.3.7"),
                CheckResult {
                    expected: Some("aud contains `web-app`".into()),
                    found: Some(r#"["https://api.example.test/health"]"#.into()),
                    ..check(
                        "id_token.aud",
                        Status::Fail,
                        "the ID token is not for the client",
                        "OIDC-Core-3.1.3.7",
                    )
                },
            ],
        );
        failing.authorization_response = Some([("code".to_owned(), "[redacted]".to_owned())].into());
        failing.tokens = vec![
            TokenView {
                kind: "id_token".into(),
                origin: "token".into(),
                header: Some(obj(json!({"alg": "RS256", "typ": "JWT"}))),
                claims: Some(obj(json!({
                    "iss": "http://127.0.0.1:8787",
                    "aud": "https://api.example.test/health",
                    "name": "<script>alert('x')</script>",
                }))),
                note: None,
            },
            TokenView {
                kind: "access_token".into(),
                origin: "token".into(),
                header: None,
                claims: None,
                note: Some("opaque".into()),
            },
        ];
        failing.userinfo = Some(obj(json!({"sub": "jane", "nickname": "\"><img src=x onerror=alert(1)>"})));
        failing.exchanges = vec![crate::report::exchange::Exchange {
            step: Some(crate::report::exchange::Step::Token),
            method: "POST".into(),
            url: "http://127.0.0.1:8787/token".into(),
            form: vec![
                crate::report::exchange::Param::plain("grant_type", "authorization_code"),
                crate::report::exchange::Param {
                    name: "code".into(),
                    value: "${CODE}".into(),
                    vars: vec!["CODE".into()],
                },
            ],
            status: Some(400),
            body: Some(r#"{"error":"<script>alert('body')</script>"}"#.into()),
            body_bytes: 41,
            vars: vec![crate::report::exchange::Var {
                name: "CODE".into(),
                about: "an authorization code".into(),
            }],
            checks: vec!["id_token.aud".into()],
            ..Default::default()
        }];
        let cases = vec![
            case(
                "basics::openid-only",
                "scopes",
                "code",
                Status::Pass,
                vec![check("id_token.sub", Status::Pass, "`sub` present", "OIDC-Core-2")],
            ),
            case(
                "scopes::scope-email",
                "scopes",
                "code",
                Status::Pass,
                vec![check("assert.id_token", Status::Pass, "3 assertion(s) hold", "")],
            ),
            failing,
            case(
                "flows::refresh",
                "flows",
                "refresh",
                Status::Error,
                vec![check("flow.token", Status::Error, "connection refused", "RFC6749-6")],
            ),
            case(
                "flows::hybrid",
                "flows",
                "hybrid",
                Status::Skip,
                vec![check("flow.authorization", Status::Skip, "not advertised", "")],
            ),
        ];
        Report {
            schema_version: SCHEMA_VERSION,
            tool: "oidc-conform".into(),
            tool_version: "9.8.7".into(),
            started_at: "2025-01-02T03:04:05Z".into(),
            duration_ms: 1234,
            provider: ProviderInfo {
                name: "Acme <Login>".into(),
                issuer: "https://login.acme.test/".into(),
                profile: "profiles/acme.yaml".into(),
                embedded: false,
                quirks: vec!["id-token-aud-api".into()],
                insecure: false,
                allow_http: false,
                trusted_origins: vec![],
                weak_secrets: vec![],
            },
            summary: Summary::of(cases.iter().map(|c| &c.status)),
            baseline: None,
            shard: None,
            interrupted: false,
            not_run: vec![],
            not_started: None,
            definition: None,
            findings: vec![],
            conformance: vec![],
            cases: cases.into_iter().map(CaseEntry::new).collect(),
            source_dir: None,
        }
    }

    fn doc(html: &str) -> scraper::Html {
        scraper::Html::parse_document(html)
    }

    fn sel(s: &str) -> scraper::Selector {
        scraper::Selector::parse(s).unwrap()
    }

    fn text(e: scraper::ElementRef) -> String {
        e.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn header_and_summary() {
        let html = render(&sample()).unwrap();
        assert!(html.starts_with("<!doctype html>"), "{}", &html[..100]);
        let d = doc(&html);
        let header = text(d.select(&sel("header")).next().unwrap());
        for want in [
            "oidc-conform 9.8.7",
            "Acme <Login>",
            "https://login.acme.test/",
            "profiles/acme.yaml",
            "id-token-aud-api",
            "2025-01-02T03:04:05Z",
            "1.23 s",
            "Not conformant",
        ] {
            assert!(header.contains(want), "{want:?} in the header: {header}");
        }
        assert!(html.contains("Acme &lt;Login&gt;"));
        for (status, n) in [("fail", 1), ("error", 1), ("skip", 1), ("pass", 2), ("warn", 0)] {
            let card = d.select(&sel(&format!(".summary [data-status={status}]"))).next().unwrap();
            assert!(text(card).starts_with(&format!("{n} ")), "{status}: {}", text(card));
        }
    }

    #[test]
    fn time_claims_read_as_dates_relative_to_the_run() {
        let claims = json!({"exp": 1_700_000_300, "iat": 1_700_000_000, "auth_time": 1_699_992_800, "sub": "x", "nbf": "soon"});
        let t = times(claims.as_object().unwrap(), Some(1_700_000_000));
        let got: Vec<(&str, &str, Option<&str>)> = t
            .iter()
            .map(|t| (t.claim.as_str(), t.date.as_str(), t.relative.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("exp", "2023-11-14T22:18:20Z", Some("5 min after the run's start")),
                ("iat", "2023-11-14T22:13:20Z", Some("at the run's start")),
                ("auth_time", "2023-11-14T20:13:20Z", Some("2 h before the run's start")),
            ]
        );
        assert_eq!(relative(-3 * 86_400), "3 days before the run's start");
        assert_eq!(relative(59), "59 s after the run's start");
    }

    #[test]
    fn findings_come_first_and_link_their_cases() {
        let mut r = sample();
        r.findings = crate::report::findings::of(&r.cases);
        assert!(!r.findings.is_empty());
        let html = render(&r).unwrap();
        let d = doc(&html);
        let sections: Vec<String> = d
            .select(&sel("main > section"))
            .filter_map(|s| s.value().attr("id").or(s.value().attr("aria-labelledby")).map(str::to_owned))
            .collect();
        assert_eq!(sections.first().map(String::as_str), Some("findings"), "{sections:?}");
        let rows: Vec<_> = d.select(&sel("tr[data-finding]")).collect();
        assert_eq!(rows.len(), r.findings.len());
        for (row, f) in rows.iter().zip(&r.findings) {
            assert_eq!(row.value().attr("data-finding"), Some(f.check.as_str()));
            let cells: Vec<String> = row.select(&sel("td")).map(text).collect();
            assert_eq!(cells[3], f.cases.len().to_string(), "{cells:?}");
            // Every case link lands on a case of the page.
            for a in row.select(&sel("a[href^='#']")) {
                let target = &a.value().attr("href").unwrap()[1..];
                assert!(
                    d.select(&sel(&format!("details.case[id='{target}']"))).next().is_some(),
                    "link to #{target} has no case"
                );
            }
        }
    }

    #[test]
    fn hostile_values_are_escaped() {
        let html = render(&sample()).unwrap();
        assert!(!html.contains("<script>alert"), "a claim value became markup");
        assert!(html.contains("&lt;script&gt;alert("), "the claim is shown, escaped");
        assert!(!html.contains("<img src=x"), "a userinfo value became markup");
        let d = doc(&html);
        // The only script is the template's own inline one; no element came from data.
        assert_eq!(d.select(&sel("script")).count(), 1);
        assert_eq!(d.select(&sel("img")).count(), 0);
        let claims = d
            .select(&sel("#case-basics--api-access-token pre.json"))
            .map(text)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(claims.contains(r#""name": "<script>alert('x')</script>""#), "{claims}");
        // The reproduction of the failing check: under its row, the body escaped.
        assert!(!html.contains("<script>alert('body')"), "a body became markup");
        let repro = d
            .select(&sel("#case-basics--api-access-token tr[data-repro='id_token.aud'] details.repro"))
            .next()
            .expect("the failing check has its reproduction");
        let shown = text(repro);
        assert!(shown.contains("token request: POST http://127.0.0.1:8787/token → 400"), "{shown}");
        assert!(shown.contains(r#"< {"error":"<script>alert('body')</script>"}"#), "{shown}");
        assert!(
            shown.contains("--data-urlencode 'code='\"$CODE\"") && shown.contains("CODE: an authorization code"),
            "{shown}"
        );
    }

    #[test]
    fn spec_references_are_links() {
        let html = render(&sample()).unwrap();
        let d = doc(&html);
        let links: Vec<(String, String)> = d
            .select(&sel("a[href]"))
            .map(|a| (a.value().attr("href").unwrap().to_owned(), text(a)))
            .collect();
        for (href, title) in [
            (
                "https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation",
                "OIDC Core §3.1.3.7",
            ),
            (
                "https://openid.net/specs/openid-connect-core-1_0.html#ScopeClaims",
                "OIDC Core §5.4",
            ),
            ("https://www.rfc-editor.org/rfc/rfc9068#section-2.2", "RFC 9068 §2.2"),
            ("https://www.rfc-editor.org/rfc/rfc6749#section-6", "RFC 6749 §6"),
        ] {
            assert!(
                links.iter().any(|(h, t)| h == href && t == title),
                "link {title} → {href} in {links:#?}"
            );
        }
        // The failing check's row links its section.
        let row = d
            .select(&sel("#case-basics--api-access-token tr[data-check='id_token.aud']"))
            .next()
            .unwrap();
        let row_text = text(row);
        assert!(row_text.contains("fail") && row_text.contains("aud contains web-app"), "{row_text}");
        assert!(row.select(&sel("a[href$='#IDTokenValidation']")).next().is_some());
    }

    #[test]
    fn matrix_counts_areas_by_flows() {
        let d = doc(&render(&sample()).unwrap());
        let heads: Vec<String> = d.select(&sel(".matrix thead th")).map(text).collect();
        assert_eq!(heads, ["area \\ flow", "code", "hybrid", "refresh", "all flows"]);
        let rows: Vec<String> = d.select(&sel(".matrix tbody th")).map(text).collect();
        assert_eq!(rows, ["scopes", "audience", "flows"]);
        let cell = |area: &str, flow: &str| {
            let s = sel(&format!(".matrix td[data-area='{area}'][data-flow='{flow}']"));
            text(d.select(&s).next().unwrap_or_else(|| panic!("cell {area}×{flow}")))
        };
        assert_eq!(cell("scopes", "code"), "2 pass");
        assert_eq!(cell("audience", "code"), "1 fail");
        assert_eq!(cell("flows", "refresh"), "1 error");
        assert_eq!(cell("flows", "hybrid"), "1 skip");
        assert_eq!(cell("scopes", "hybrid"), "none");
        assert_eq!(cell("flows", "*"), "1 error 1 skip");
        assert_eq!(cell("*", "code"), "1 fail 2 pass");
        assert_eq!(cell("*", "*"), "1 fail 1 error 1 skip 2 pass");
    }

    #[test]
    fn cases_open_when_they_fail_and_show_their_evidence() {
        let html = render(&sample()).unwrap();
        let d = doc(&html);
        let open: Vec<&str> = d.select(&sel("details.case[open]")).map(|e| e.value().id().unwrap()).collect();
        assert_eq!(open, ["case-basics--api-access-token", "case-flows--refresh"]);
        let statuses: Vec<&str> = d
            .select(&sel("details.case"))
            .map(|e| e.value().attr("data-status").unwrap())
            .collect();
        assert_eq!(
            statuses,
            ["pass", "pass", "fail", "error", "skip"],
            "grouped by area, in area order"
        );
        let failing = text(d.select(&sel("#case-basics--api-access-token")).next().unwrap());
        for want in [
            "basics::api-access-token",
            "About api-access-token.",
            "suites/basics.yaml:7",
            "42 ms",
            "openid profile",
            "[redacted]",
            "ID token",
            "from the token endpoint",
            r#""alg": "RS256""#,
            "opaque",
            r#""sub": "jane""#,
            "GET http://127.0.0.1:8787/authorize → 302",
        ] {
            assert!(failing.contains(want), "{want:?} in {failing}");
        }
        // Checks are in a table, expected against found.
        let heads: Vec<String> = d
            .select(&sel("#case-basics--api-access-token table.checks th[scope=col]"))
            .map(text)
            .collect();
        assert_eq!(heads, ["status", "check", "message", "expected", "found", "spec"]);
    }

    #[test]
    fn the_filter_needs_no_script() {
        let html = render(&sample()).unwrap();
        let d = doc(&html);
        let radios: Vec<(&str, bool)> = d
            .select(&sel("input[type=radio][name=show]"))
            .map(|e| (e.value().attr("value").unwrap(), e.value().attr("checked").is_some()))
            .collect();
        assert_eq!(
            radios,
            [
                ("all", true),
                ("problems", false),
                ("fail", false),
                ("error", false),
                ("warn", false),
                ("skip", false),
                ("pass", false)
            ]
        );
        // CSS does the hiding, with sibling selectors only (`:has()` is slow on large pages).
        assert!(
            html.contains("#show-fail:checked ~ .areas .case:not([data-status=fail])"),
            "CSS rule per status"
        );
        assert!(
            html.contains("#show-problems:checked ~ .areas .case:not([data-status=fail]):not([data-status=error]):not([data-status=warn])")
        );
        assert!(!html.contains(":has("), "no :has() selector");
        // Every label controls its input; the inputs precede what they filter.
        for (value, _) in &radios {
            assert_eq!(d.select(&sel(&format!("label[for=show-{value}]"))).count(), 1, "{value}");
        }
        let areas = d.select(&sel("section.area")).next().unwrap();
        assert!(areas.value().attr("data-has").is_some_and(|h| !h.is_empty()));
    }

    #[test]
    fn nothing_is_fetched() {
        let html = render(&sample()).unwrap();
        for bad in [
            "<link",
            "<script src",
            "src=\"http",
            "@import",
            "url(",
            "<iframe",
            "<object",
            "<embed",
        ] {
            assert!(!html.to_ascii_lowercase().contains(bad), "{bad:?} in the report");
        }
        // Every attribute that names a URL is a link's href.
        let d = doc(&html);
        for e in d.select(&sel("*")) {
            for (name, value) in e.value().attrs() {
                if value.contains("http://") || value.contains("https://") || value.contains("//") {
                    assert!(e.value().name() == "a" && name == "href", "<{} {name}={value:?}>", e.value().name());
                }
            }
        }
    }

    #[test]
    fn the_content_security_policy_allows_only_the_report_script_and_inline_images() {
        use base64::Engine as _;
        let html = render(&sample()).unwrap();
        let d = doc(&html);
        let meta = d.select(&sel("meta[http-equiv=Content-Security-Policy]")).next().expect("a CSP");
        let policy = meta.value().attr("content").unwrap();
        assert!(
            policy.starts_with("default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-"),
            "{policy}"
        );
        let script: String = d.select(&sel("script")).next().unwrap().text().collect();
        assert_eq!(script, SCRIPT);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, script.as_bytes());
        let hash = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
        assert!(policy.contains(&format!("script-src 'sha256-{hash}'")), "{policy}");
    }

    #[test]
    fn a_large_run_shows_the_cases_that_did_not_pass_in_full_and_the_rest_in_one_line() {
        let mut r = sample();
        // Twenty more passing cases: ten alike, ten with another result.
        for i in 0..20 {
            let message = if i % 2 == 0 {
                "`sub` present"
            } else {
                "`sub` present, 12 characters"
            };
            r.cases.push(CaseEntry::new(case(
                &format!("more::case-{i:02}"),
                "scopes",
                "code",
                Status::Pass,
                vec![check("id_token.sub", Status::Pass, message, "OIDC-Core-2")],
            )));
        }
        r.resummarise();
        // Room for two in full: the failure and the error, before the skip.
        let html = render_with_limit(&r, 2).unwrap();
        let d = doc(&html);
        let full: Vec<&str> = d
            .select(&sel("details.case"))
            .map(|e| e.value().attr("data-status").unwrap())
            .collect();
        assert_eq!(full, ["fail", "error"], "the audience area comes before the flows area");
        let lines: Vec<scraper::ElementRef> = d.select(&sel("div.case.line")).collect();
        assert_eq!(lines.len(), r.cases.len() - 2);
        let skip = lines.iter().find(|l| l.value().attr("data-status") == Some("skip")).unwrap();
        assert!(text(*skip).contains("not advertised"), "a one-line case that did not pass says why");
        // Each line links to a check set that exists; alike cases share one.
        let sets: Vec<scraper::ElementRef> = d.select(&sel("details.checkset")).collect();
        assert_eq!(sets.len(), 4, "`sub` present, the 12-character variant, the assertion, the skip");
        for l in &lines {
            let link = l.select(&sel("a[href^='#checkset-']")).next().expect("a link to the check set");
            let id = &link.value().attr("href").unwrap()[1..];
            assert_eq!(d.select(&sel(&format!("details.checkset#{id}"))).count(), 1, "{id}");
        }
        let first = text(sets[0]);
        assert!(first.contains("11 cases"), "{first}");
        assert!(html.contains("in one line"), "the page says why");
        assert!(html.contains("run.json"), "and where the evidence is");
        // The findings still link to the failing case, shown in full.
        let href = d
            .select(&sel("#findings a[href^='#case-']"))
            .next()
            .unwrap()
            .value()
            .attr("href")
            .unwrap();
        assert_eq!(d.select(&sel(&format!("details.case{href}"))).count(), 1);
        // With room for every case, there are no lines and no check sets.
        let all = doc(&render_with_limit(&r, 1000).unwrap());
        assert_eq!(all.select(&sel("details.case")).count(), r.cases.len());
        assert_eq!(all.select(&sel("div.case.line, details.checkset")).count(), 0);
    }

    #[test]
    fn baselines_and_shards_are_shown() {
        let mut r = sample();
        r.cases.retain(|c| c.status != Status::Error);
        for c in &mut r.cases {
            for k in &mut c.notable {
                if k.status == Status::Fail {
                    k.known = Some("the <API> audience is a known bug".into());
                }
            }
        }
        r.resummarise();
        r.shard = Some("1/2".into());
        r.baseline = Some(BaselineInfo {
            file: "baseline.yaml".into(),
            expected: 1,
            stale: vec![crate::report::baseline::Entry {
                case: "scopes::scope-email".into(),
                check: "id_token.sub".into(),
                reason: "fixed upstream".into(),
            }],
            unknown: vec![],
        });
        let html = render(&r).unwrap();
        let d = doc(&html);
        let header = text(d.select(&sel("header")).next().unwrap());
        for want in [
            "Conformant apart from the baseline's known failures",
            "Shard 1/2",
            "baseline.yaml",
            "1 known failing check",
            "scopes::scope-email · id_token.sub — fixed upstream",
        ] {
            assert!(header.contains(want), "{want:?} in {header}");
        }
        let case = text(d.select(&sel("#case-basics--api-access-token")).next().unwrap());
        assert!(
            case.contains("known failure (baseline): the <API> audience is a known bug"),
            "{case}"
        );
        assert!(html.contains("the &lt;API&gt; audience"));
        assert!(text(d.select(&sel(".summary [data-status=known]")).next().unwrap()).starts_with("1 "));
    }

    #[test]
    fn empty_and_passing_reports_render() {
        let mut r = sample();
        r.cases.retain(|c| c.status == Status::Pass);
        r.summary = Summary::of(r.cases.iter().map(|c| &c.status));
        r.provider.embedded = true;
        r.provider.quirks.clear();
        let html = render(&r).unwrap();
        assert!(html.contains("Conformant"));
        assert!(!html.contains("<details class=\"case\" open"));
        r.cases.clear();
        r.summary = Summary::default();
        let html = render(&r).unwrap();
        assert!(html.contains("No cases ran"), "{html}");
    }

    #[test]
    fn writes_report_html() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&sample(), &dir.path().join("out")).unwrap();
        assert_eq!(path.file_name().unwrap(), "report.html");
        assert!(std::fs::read_to_string(path).unwrap().contains("basics::api-access-token"));
    }

    #[test]
    fn small_helpers() {
        assert_eq!(duration(41), "41 ms");
        assert_eq!(duration(1164), "1.16 s");
        assert_eq!(duration(125_000), "2 min 05 s");
        assert_eq!(anchor("case-", "basics::api-Token_1"), "case-basics--api-token-1");
        let mut taken = HashSet::new();
        assert_eq!(unique("case-a--b".into(), &mut taken), "case-a--b");
        assert_eq!(unique("case-a--b".into(), &mut taken), "case-a--b-2");
        let s = segments("`state` returned, `x`");
        assert_eq!(
            s.iter().map(|s| (s.code, s.text.as_str())).collect::<Vec<_>>(),
            [(true, "state"), (false, " returned, "), (true, "x")]
        );
        assert_eq!(segments("odd ` tick").len(), 1);
        assert_eq!(
            ordered(["flows", "zeta", "scopes", "alpha", "scopes"], AREAS),
            ["scopes", "flows", "alpha", "zeta"]
        );
    }
}
