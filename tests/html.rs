//! The HTML report in a real browser: a run with failures, rendered by headless
//! Chromium. We read the DOM Chromium built (with JavaScript off: the report
//! must not need it), measure what the CSS-only status filter shows, and keep a
//! screenshot in `target/test-artifacts/report.png`.
//!
//! Chromium is the Debian package `chromium`; `scripts/install-chromium` installs it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oidc_conform::check::Status;
use oidc_conform::report::{Report, Summary};
use scraper::{ElementRef, Html, Selector};

use crate::util::oidc_conform;

const CHROMIUM: &str = "/usr/bin/chromium";
/// No Chromium run may take longer; it is killed after this. A hang guard, not
/// a speed claim: a run takes a few seconds on an idle 2-core machine, and
/// several times that under the test run's load.
const TIMEOUT: Duration = Duration::from_secs(240);
const FAILING_CASE: &str = "basics::api-access-token";

/// The browser, or a failure that says how to install it: never a silent pass.
fn chromium() -> &'static str {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the HTML report test renders the report in headless Chromium. \
         Install it with `scripts/install-chromium` (Debian package `chromium`; needs root or sudo)."
    );
    CHROMIUM
}

/// Where test artefacts are kept: `target/test-artifacts`.
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory")
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What one Chromium run printed, and how long it took.
struct Browsed {
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Browsed {
    /// The Content-Security-Policy violations the page's console reported.
    fn csp_violations(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.contains("Content Security Policy")).collect()
    }
}

/// One headless Chromium run on a file, with the page's console on stderr.
/// Killed (and the test failed) after [`TIMEOUT`].
fn headless(work: &Path, name: &str, page: &Path, extra: &[String]) -> Browsed {
    let profile = work.join(format!("profile-{name}"));
    let out = work.join(format!("{name}.stdout"));
    let err = work.join(format!("{name}.stderr"));
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        // Nothing may be fetched: make every host name unresolvable.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        // The page's console (CSP violations among it) on stderr.
        "--enable-logging=stderr",
        "--v=0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.extend(extra.iter().cloned());
    args.push(format!("file://{}", page.display()));
    let started = Instant::now();
    let mut child = Command::new(chromium())
        .args(&args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {CHROMIUM}: {e}; see scripts/install-chromium"));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium ({name}) did not finish within {TIMEOUT:?}: {}\n--- stderr\n{}",
                args.join(" "),
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let stdout = std::fs::read_to_string(&out).unwrap();
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    assert!(
        status.success(),
        "chromium ({name}) exited with {status}: {}\n--- stderr\n{stderr}",
        args.join(" ")
    );
    Browsed { stdout, stderr, elapsed }
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn text(e: ElementRef) -> String {
    e.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The HTML ids of the report's cases whose status is one of `statuses`, sorted.
fn anchors(report: &Report, statuses: &[Status]) -> Vec<String> {
    let mut ids: Vec<String> = report
        .cases
        .iter()
        .filter(|c| statuses.contains(&c.status))
        .map(|c| anchor(&c.id))
        .collect();
    ids.sort_unstable();
    ids
}

fn anchor(id: &str) -> String {
    let slug: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    format!("case-{slug}")
}

/// What a matrix cell must say: `3 fail 1 pass`, worst first; `none` when empty.
fn cell_text(report: &Report, area: Option<&str>, flow: Option<&str>) -> String {
    let s = Summary::of(
        report
            .cases
            .iter()
            .filter(|c| area.is_none_or(|a| c.area == a) && flow.is_none_or(|f| c.flow == f))
            .map(|c| &c.status),
    );
    let parts: Vec<String> = [
        ("fail", s.fail),
        ("error", s.error),
        ("warn", s.warn),
        ("skip", s.skip),
        ("pass", s.pass),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| format!("{n} {k}"))
    .collect();
    if parts.is_empty() { "none".into() } else { parts.join(" ") }
}

/// Measures, in the browser, what the status filter shows: the page is the
/// report plus this probe, which clicks the filter's radio inputs as a user would
/// and records the cases the CSS leaves displayed. The filtering itself is CSS.
const PROBE: &str = r#"<script>
(function () {
  function shown(sel) {
    return Array.from(document.querySelectorAll(sel)).filter(function (e) { return getComputedStyle(e).display !== "none"; });
  }
  function cases() { return shown("details.case").map(function (d) { return d.id; }).sort(); }
  var out = { initial: cases(), checked: document.querySelector("input[name=show]:checked").value };
  ["problems", "fail", "pass", "error", "warn", "skip", "all"].forEach(function (k) {
    document.getElementById("show-" + k).click();
    out[k] = cases();
    out[k + "_areas"] = shown("section.area").length;
    out[k + "_empty"] = shown(".empty").length;
  });
  out.passing_rows_collapsed = shown("tr.row-pass").length;
  out.failing_rows_collapsed = shown("tr.row-fail").length;
  document.getElementById("show-passing").click();
  out.passing_rows = shown("tr.row-pass").length;
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"#;

#[test]
fn html_report_renders_in_headless_chromium() {
    chromium();
    // A run with failures: the embedded provider puts the API in the ID token's `aud`.
    let out = tempfile::tempdir().unwrap();
    let run = oidc_conform(&["run", "--quirk", "id-token-aud-api", "--output", out.path().to_str().unwrap()]);
    run.expect_code(1);
    let report = Report::read_json(&out.path().join("run.json")).unwrap();
    assert!(report.summary.fail > 0 && report.summary.pass > 0, "{}", run.describe());
    let failing = report
        .cases
        .iter()
        .find(|c| c.id == FAILING_CASE)
        .expect("the failing case is in the run");
    assert_eq!(failing.status, Status::Fail);

    let started = Instant::now();
    let html = oidc_conform::report::html::render(&report).unwrap();
    let render_time = started.elapsed();
    let work = tempfile::tempdir().unwrap();
    let page = work.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    // Scripts off: a second policy, on top of the report's own, forbids every script.
    let nojs_page = work.path().join("nojs.html");
    let nojs = html.replacen(
        "<head>",
        "<head>\n<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'\">",
        1,
    );
    std::fs::write(&nojs_page, nojs).unwrap();
    // The probe is a script of ours: without the report's policy (which allows its own script only).
    let csp_at = html
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .expect("the report has a CSP");
    let csp_end = csp_at + html[csp_at..].find('>').unwrap() + 1;
    let probe_html = format!("{}{}", &html[..csp_at], &html[csp_end..]).replace("</body>", &format!("{PROBE}\n</body>"));
    let probe_page = work.path().join("probe.html");
    std::fs::write(&probe_page, probe_html).unwrap();
    let artifacts = artifacts();
    std::fs::write(artifacts.join("report.html"), &html).unwrap();
    let png = artifacts.join("report.png");
    let _ = std::fs::remove_file(&png);

    // Three browsers at once: the DOM without scripts, the filter probe, the screenshot.
    let w = work.path();
    let (dom, probe, shot) = std::thread::scope(|s| {
        let dom = s.spawn(|| headless(w, "dom", &nojs_page, &["--dump-dom".into()]));
        let probe = s.spawn(|| headless(w, "probe", &probe_page, &["--dump-dom".into()]));
        let shot = s.spawn(|| {
            headless(
                w,
                "screenshot",
                &page,
                &[
                    format!("--screenshot={}", png.display()),
                    "--window-size=1280,2000".into(),
                    "--hide-scrollbars".into(),
                ],
            )
        });
        (dom.join().unwrap(), probe.join().unwrap(), shot.join().unwrap())
    });
    println!(
        "html report: {} bytes, rendered in {render_time:?}; chromium: DOM without scripts {:?}, filter probe {:?}, screenshot {:?} (in parallel, {:?} in all)",
        html.len(),
        dom.elapsed,
        probe.elapsed,
        shot.elapsed,
        started.elapsed()
    );

    // Nothing was fetched, or tried: the report's policy would have refused it, and said so.
    assert_eq!(shot.csp_violations(), Vec::<&str>::new(), "the report as it is: no violation");
    let violations = dom.csp_violations();
    assert!(
        !violations.is_empty() && violations.iter().all(|l| l.contains("Executing inline script")),
        "without scripts, the report's own script was refused, and nothing else: {violations:#?}"
    );

    // The DOM Chromium built, with scripts off.
    let doc = Html::parse_document(&dom.stdout);
    let tools = doc.select(&sel(".tools")).next().expect("the tools bar is in the DOM");
    assert!(
        tools.value().attr("hidden").is_some(),
        "scripts were off: the script-only tools stay hidden"
    );
    let header = text(doc.select(&sel("header")).next().expect("a header"));
    for want in [
        report.provider.issuer.as_str(),
        report.provider.name.as_str(),
        "id-token-aud-api",
        "Not conformant",
        &format!("oidc-conform {}", report.tool_version),
    ] {
        assert!(header.contains(want), "{want:?} in the rendered header: {header}");
    }
    let case = doc
        .select(&sel(&format!("details.case#{}", anchor(FAILING_CASE))))
        .next()
        .expect("the failing case is rendered");
    assert_eq!(case.value().attr("data-status"), Some("fail"));
    assert!(case.value().attr("open").is_some(), "a failing case starts open");
    assert!(text(case).contains(FAILING_CASE));
    let row = case
        .select(&sel("tr[data-check='id_token.aud'].row-fail"))
        .next()
        .expect("the failing check has a row");
    let row = text(row);
    assert!(
        row.contains("id_token.aud") && row.contains("fail") && row.contains("OIDC Core §3.1.3.7"),
        "{row}"
    );
    // Its reproduction, under the check: the exchange and the curl command that replays it.
    let repro = case
        .select(&sel("tr[data-repro='id_token.aud'] details.repro"))
        .map(text)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        repro.contains("token request: POST") && repro.contains("curl -sS -i") && repro.contains("\"$CLIENT_SECRET\""),
        "{repro}"
    );
    let passing = report.cases.iter().find(|c| c.status == Status::Pass).unwrap();
    let passing = doc.select(&sel(&format!("details.case#{}", anchor(&passing.id)))).next().unwrap();
    assert!(passing.value().attr("open").is_none(), "a passing case starts collapsed");
    // The matrix: every area × flow cell says what the report's cases say.
    let mut areas: Vec<&str> = report.cases.iter().map(|c| c.area.as_str()).collect();
    let mut flows: Vec<&str> = report.cases.iter().map(|c| c.flow.as_str()).collect();
    areas.sort_unstable();
    areas.dedup();
    flows.sort_unstable();
    flows.dedup();
    let cells: BTreeMap<(String, String), String> = doc
        .select(&sel(".matrix td[data-area][data-flow]"))
        .map(|td| {
            let v = td.value();
            (
                (v.attr("data-area").unwrap().to_owned(), v.attr("data-flow").unwrap().to_owned()),
                text(td),
            )
        })
        .collect();
    assert_eq!(cells.len(), (areas.len() + 1) * (flows.len() + 1), "{cells:#?}");
    for a in areas.iter().copied().map(Some).chain([None]) {
        for f in flows.iter().copied().map(Some).chain([None]) {
            let key = (a.unwrap_or("*").to_owned(), f.unwrap_or("*").to_owned());
            assert_eq!(cells[&key], cell_text(&report, a, f), "matrix cell {key:?}");
        }
    }
    assert_eq!(cells[&("*".to_owned(), "*".to_owned())], cell_text(&report, None, None));

    // The filter, measured in the browser.
    let doc = Html::parse_document(&probe.stdout);
    let probe = text(doc.select(&sel("pre#probe")).next().expect("the probe ran"));
    let probe: serde_json::Value = serde_json::from_str(&probe).unwrap();
    let list = |k: &str| -> Vec<String> { serde_json::from_value(probe[k].clone()).unwrap() };
    let all = anchors(&report, &[Status::Pass, Status::Warn, Status::Skip, Status::Fail, Status::Error]);
    assert_eq!(probe["checked"], "all", "the filter starts at all");
    assert_eq!(list("initial"), all);
    assert_eq!(list("all"), all);
    assert_eq!(list("problems"), anchors(&report, &[Status::Fail, Status::Error, Status::Warn]));
    assert_eq!(list("fail"), anchors(&report, &[Status::Fail]));
    assert_eq!(list("pass"), anchors(&report, &[Status::Pass]));
    assert_eq!(list("error"), anchors(&report, &[Status::Error]));
    for k in ["error", "warn", "skip"] {
        if list(k).is_empty() {
            assert_eq!(probe[format!("{k}_areas")], 0, "no area is left for {k}: {probe}");
            assert_eq!(probe[format!("{k}_empty")], 1, "an empty filter says so: {probe}");
        }
    }
    assert_eq!(probe["all_empty"], 0);
    // Passing checks are collapsed by default; failing ones always show.
    assert_eq!(probe["passing_rows_collapsed"], 0, "passing checks start hidden: {probe}");
    assert!(probe["failing_rows_collapsed"].as_u64().unwrap() > 0, "{probe}");
    assert!(
        probe["passing_rows"].as_u64().unwrap() > 0,
        "`Show passing checks` shows them: {probe}"
    );

    // The screenshot, kept for people.
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot at {}: {e}\n{}", png.display(), shot.stderr));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is a PNG", png.display());
    assert!(bytes.len() > 50_000, "the screenshot has content: {} bytes", bytes.len());
    println!("screenshot: {} ({} bytes)", png.display(), bytes.len());
}

/// `report matrix` over three saved runs (a clean provider and two with a
/// fault each) renders in headless Chromium: a column per run, a row per
/// check, each fault in its own run's column with its evidence, the rest met,
/// and the per-document conformance of each run; no CSP violation.
#[test]
fn report_matrix_of_three_runs_renders_in_headless_chromium() {
    chromium();
    let work = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for (name, quirk) in [
        ("clean", None),
        ("nonce", Some("nonce-wrong")),
        ("azp", Some("id-token-multi-aud-no-azp")),
    ] {
        let dir = work.path().join(name);
        let mut args = vec!["run", "basics", "--output", dir.to_str().unwrap(), "--format", "json"];
        if let Some(q) = quirk {
            args.extend(["--quirk", q]);
        }
        let run = oidc_conform(&args);
        assert!(run.code() <= 1, "{}", run.describe());
        runs.push(dir.join("run.json"));
    }
    let out = work.path().join("matrix");
    let mut args = vec!["report", "matrix"];
    let paths: Vec<String> = runs.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    args.extend(["--output", out.to_str().unwrap()]);
    oidc_conform(&args).expect_code(0);
    let md = std::fs::read_to_string(out.join("matrix.md")).unwrap();
    assert!(md.contains("| `id_token.nonce` | MUST |"), "{md}");

    let browsed = headless(work.path(), "matrix", &out.join("matrix.html"), &["--dump-dom".into()]);
    assert!(browsed.csp_violations().is_empty(), "{:?}", browsed.csp_violations());
    let d = Html::parse_document(&browsed.stdout);
    let heads: Vec<String> = d.select(&sel("table.matrix thead th")).map(text).collect();
    assert_eq!(
        heads,
        ["check", "rule", "reference", "reference (2)", "reference (3)"],
        "a column per run"
    );
    let row = |check: &str| -> Vec<String> {
        let r = d
            .select(&sel(&format!("table.matrix tr[data-check='{check}']")))
            .next()
            .unwrap_or_else(|| panic!("no row for {check}"));
        r.select(&sel("td[data-status]"))
            .map(|c| c.value().attr("data-status").unwrap().to_owned())
            .collect()
    };
    assert_eq!(row("id_token.nonce"), ["pass", "fail", "pass"]);
    // `azp` is judged only where `aud` has several values: here, in the third run.
    assert_eq!(row("id_token.azp"), ["none", "none", "warn"]);
    assert_eq!(row("id_token.signature"), ["pass", "pass", "pass"]);
    // The failing cell holds its first evidence (hover title, and a details to open).
    let cell = d
        .select(&sel("tr[data-check='id_token.nonce'] td[data-status='fail']"))
        .next()
        .unwrap();
    assert!(cell.value().attr("title").unwrap_or("").contains("nonce"), "{}", cell.html());
    assert!(text(cell).contains("of"), "{}", cell.html());
    // Per-document conformance per run.
    let docs: Vec<String> = d
        .select(&sel("table.documents tr[data-document='OIDC Core'] td"))
        .map(text)
        .collect();
    assert_eq!(docs.len(), 3, "{docs:?}");
    assert!(docs[0].contains("MUST met") && docs[1] != docs[0], "{docs:?}");
}

/// Cases of the large report: the saved failing run's cases once, then copies
/// of its passing cases (under new ids) up to this many.
const LARGE: usize = 10_000;

/// Writes a run of [`LARGE`] cases as `run.json` streams it — the header, then
/// one case after another — from the saved 45-case run with failures; returns
/// the numbers of failing and passing cases.
fn write_large_run(path: &Path) -> (usize, usize) {
    use std::io::Write as _;
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(crate::util::root().join("fixtures/reports/failing-run.json")).unwrap()).unwrap();
    let cases = saved["cases"].as_array().unwrap();
    let failing: Vec<&serde_json::Value> = cases.iter().filter(|c| c["status"] == "fail").collect();
    let passing: Vec<&serde_json::Value> = cases.iter().filter(|c| c["status"] == "pass").collect();
    assert!(!failing.is_empty() && !passing.is_empty());
    let mut header = saved.as_object().unwrap().clone();
    // Findings and the conformance statement are worked out again from the cases when read.
    for key in ["cases", "findings", "conformance"] {
        header.remove(key);
    }
    let pass = LARGE - failing.len();
    header.insert(
        "summary".into(),
        serde_json::json!({"total": LARGE, "pass": pass, "warn": 0, "skip": 0, "fail": failing.len(), "error": 0, "known": 0}),
    );
    let head = serde_json::to_string(&header).unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    write!(out, "{},\"cases\":[", &head[..head.len() - 1]).unwrap();
    let mut first = true;
    let mut put = |case: &serde_json::Value| {
        if !first {
            out.write_all(b",").unwrap();
        }
        first = false;
        serde_json::to_writer(&mut out, case).unwrap();
    };
    for c in &failing {
        put(c);
    }
    for i in 0..pass {
        let mut c = passing[i % passing.len()].clone();
        let name = format!("{}-copy-{i:05}", c["name"].as_str().unwrap());
        c["id"] = format!("{}::{name}", c["suite"].as_str().unwrap()).into();
        c["name"] = name.into();
        put(&c);
    }
    out.write_all(b"]}").unwrap();
    out.flush().unwrap();
    (failing.len(), pass)
}

/// Follows the first finding's link to its first failing case, as a reader
/// would, and records what the browser painted and where the link landed.
const LARGE_PROBE: &str = r##"<script>
window.addEventListener("load", function () {
  var out = {};
  var fcp = performance.getEntriesByName("first-contentful-paint")[0];
  out.first_paint_ms = fcp ? fcp.startTime : null;
  out.dom_ms = performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd;
  out.cases = document.querySelectorAll(".case").length;
  out.full = document.querySelectorAll("details.case").length;
  out.lines = document.querySelectorAll("div.case.line").length;
  var link = document.querySelector("#findings a[href^='#case-']");
  out.link = link ? link.getAttribute("href") : null;
  if (link) {
    link.click();
    var target = document.querySelector(link.getAttribute("href"));
    out.target_tag = target ? target.tagName.toLowerCase() : null;
    out.target_status = target ? target.getAttribute("data-status") : null;
    out.target_open = target ? target.open === true : null;
    out.target_shown = target ? getComputedStyle(target).display !== "none" : null;
    out.hash = location.hash;
  }
  var line = document.querySelector("div.case.line[data-status=pass] a[href^='#checkset-']");
  out.checkset = line ? line.getAttribute("href") : null;
  out.checkset_exists = line ? document.querySelector(line.getAttribute("href")) !== null : null;
  document.getElementById("show-problems").click();
  out.problems_shown = Array.from(document.querySelectorAll(".case")).filter(function (e) { return getComputedStyle(e).display !== "none"; }).length;
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"##;

/// A report of 10 000 cases, written from a saved stream (not by running 10 000
/// flows), rendered by `report render` and opened in headless Chromium: one file
/// of at most 15 MB, painted, and its failing cases reachable from the findings.
#[test]
fn a_report_of_ten_thousand_cases_opens_in_headless_chromium() {
    chromium();
    let work = tempfile::tempdir().unwrap();
    let saved = work.path().join("large-run.json");
    let (failing, passing) = write_large_run(&saved);
    let out = work.path().join("out");
    let render = oidc_conform(&["report", "render", saved.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    render.expect_code(0);
    let page = out.join("report.html");
    let size = std::fs::metadata(&page).unwrap().len();
    assert!(size <= 15 * 1024 * 1024, "report.html of {LARGE} cases is {size} bytes, over 15 MB");
    let html = std::fs::read_to_string(&page).unwrap();
    // Every case is on the page, and the run.json written again holds them all.
    let again = Report::read_json(&out.join("run.json")).unwrap();
    assert_eq!(again.cases.len(), LARGE);
    assert_eq!((again.summary.fail, again.summary.pass), (failing, passing));
    assert!(
        !again.findings.is_empty() && !again.conformance.is_empty(),
        "worked out from the cases"
    );
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), LARGE);

    // The probe is a script of ours: without the report's policy.
    let csp_at = html.find("<meta http-equiv=\"Content-Security-Policy\"").unwrap();
    let csp_end = csp_at + html[csp_at..].find('>').unwrap() + 1;
    let probe_html = format!("{}{}", &html[..csp_at], &html[csp_end..]).replace("</body>", &format!("{LARGE_PROBE}\n</body>"));
    drop(html);
    let probe_page = work.path().join("probe.html");
    std::fs::write(&probe_page, probe_html).unwrap();
    let browsed = headless(work.path(), "large", &probe_page, &["--dump-dom".into()]);
    let dom = Html::parse_document(&browsed.stdout);
    let probe = dom
        .select(&sel("pre#probe"))
        .next()
        .unwrap_or_else(|| panic!("the probe ran: {}", browsed.stderr));
    let p: serde_json::Value = serde_json::from_str(&text(probe)).unwrap();
    eprintln!(
        "{LARGE} cases: report.html {:.1} MB, first paint {} ms, DOM ready {} ms (Chromium run {:?}, not a test criterion)",
        size as f64 / 1e6,
        p["first_paint_ms"],
        p["dom_ms"],
        browsed.elapsed
    );
    assert!(p["first_paint_ms"].is_number(), "the browser painted the page: {p}");
    assert_eq!(p["cases"], LARGE, "{p}");
    assert_eq!(p["full"], failing, "the failing cases in full, the passing ones in a line: {p}");
    assert_eq!(p["lines"], passing, "{p}");
    assert!(p["link"].as_str().is_some_and(|l| l.starts_with("#case-")), "{p}");
    assert_eq!(p["target_tag"], "details", "{p}");
    assert_eq!(p["target_status"], "fail", "{p}");
    assert_eq!(p["target_open"], true, "a failing case opens with its details: {p}");
    assert_eq!(p["target_shown"], true, "{p}");
    assert_eq!(p["checkset_exists"], true, "a one-line case links to what it checked: {p}");
    assert_eq!(p["problems_shown"], failing, "the filter leaves the failing cases: {p}");
    let _ = std::fs::copy(&page, artifacts().join("report-10000.html"));
}
