//! The page corpus: login, identifier-first, consent, error, account-selection
//! and interstitial pages modelled on widely deployed identity products
//! (`fixtures/pages/`), each run through both login drivers and compared with
//! its golden entry in `fixtures/pages/expected.yaml`.
//!
//! The golden file records what the page is and what each driver must answer.
//! A driver that gets a page wrong today is listed under `known_wrong` with
//! its current answer and the cause: the tests pass with those exceptions, and
//! fail when a listed page is answered right (the entry is to be removed) or
//! answered differently (the entry is to be updated).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use oidc_conform::login::browser::{Browser, OriginPolicy};
use oidc_conform::login::form::{self, ConsentChoice, Page, Selectors};
use oidc_conform::secret::Secret;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

const REDIRECT_URI: &str = "https://app.example.test/cb";
/// The user both drivers sign in as.
const USERNAME: &str = "jane";
/// The browser classifies this many pages at a time.
const AT_ONCE: usize = 3;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Golden {
    pages: BTreeMap<String, Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// What a person would say the page is: login, identifier, consent, end, interstitial.
    truth: String,
    /// What the form driver must answer: login, identifier, consent, unknown, browser.
    form: String,
    /// What the browser driver's `classify` must answer: login, identifier, consent, end, unknown.
    browser: String,
    /// Fields (`name` or `name=value`) the form driver's submission must carry.
    #[serde(default)]
    form_sends: Vec<String>,
    /// The path the form driver's submission must go to.
    #[serde(default)]
    form_action: Option<String>,
    /// On a consent page, whether the browser finds an approving control.
    #[serde(default)]
    approve: Option<bool>,
    /// On a consent page, whether the browser finds a denying control.
    #[serde(default)]
    deny: Option<bool>,
    /// What the control the browser would press says (the submit of a login or
    /// identifier step, the approving control of a consent page).
    #[serde(default)]
    browser_presses: Option<String>,
    #[serde(default)]
    known_wrong: KnownWrong,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KnownWrong {
    form: Option<Wrong>,
    browser: Option<Wrong>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrong {
    /// What the driver answers today.
    answers: String,
    /// Why.
    why: String,
}

const TRUTHS: &[&str] = &["login", "identifier", "consent", "end", "interstitial"];
const FORM_ANSWERS: &[&str] = &["login", "identifier", "consent", "unknown", "browser"];
const BROWSER_ANSWERS: &[&str] = &["login", "identifier", "consent", "end", "unknown"];

fn dir() -> PathBuf {
    crate::util::root().join("fixtures/pages")
}

fn golden() -> &'static Golden {
    static GOLDEN: OnceLock<Golden> = OnceLock::new();
    GOLDEN.get_or_init(|| {
        let text = std::fs::read_to_string(dir().join("expected.yaml")).expect("fixtures/pages/expected.yaml");
        serde_saphyr::from_str(&text).expect("expected.yaml parses")
    })
}

/// The pages of the corpus: file name and HTML.
fn pages() -> &'static Vec<(String, String)> {
    static PAGES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    PAGES.get_or_init(|| {
        let mut pages: Vec<(String, String)> = std::fs::read_dir(dir())
            .expect("fixtures/pages")
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "html"))
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&p).expect("the page reads"))
            })
            .collect();
        pages.sort();
        pages
    })
}

/// Where a page is served from: its own path on one made-up origin.
fn page_url(name: &str) -> Url {
    Url::parse(&format!("https://idp.example.test/{}", name.trim_end_matches(".html"))).unwrap()
}

/// What the form driver answers, and the submission it would send.
fn form_answer(name: &str, html: &str) -> (String, Option<form::Submission>) {
    let page = form::analyse_for(
        html,
        &page_url(name),
        USERNAME,
        &Secret::new("jane-password-corpus-7a1c"),
        &Selectors::default(),
        REDIRECT_URI,
        &ConsentChoice::Approve,
    );
    match page {
        Ok(Page::Login(sub)) if sub.contains_secret() => ("login".into(), Some(sub)),
        Ok(Page::Login(sub)) => ("identifier".into(), Some(sub)),
        Ok(Page::Consent(sub)) => ("consent".into(), Some(sub)),
        // What `login.driver: auto` does with it: a page with scripts goes to the browser.
        Ok(Page::Unknown { .. }) if html.to_ascii_lowercase().contains("<script") => ("browser".into(), None),
        Ok(Page::Unknown { .. }) => ("unknown".into(), None),
        Ok(Page::FormPost { .. }) => ("form_post".into(), None),
        Ok(Page::ConsentWithoutDeny) => ("consent_without_deny".into(), None),
        Ok(Page::ConsentWithoutScopeChoice) => ("consent_without_scope_choice".into(), None),
        Err(e) => (format!("error: {e}"), None),
    }
}

/// Why the form driver's submission is not what the golden entry asks for, if it is not.
fn submission_mismatch(entry: &Entry, sub: Option<&form::Submission>) -> Option<String> {
    if entry.form_sends.is_empty() && entry.form_action.is_none() {
        return None;
    }
    let Some(sub) = sub else {
        return Some("no submission".into());
    };
    for want in &entry.form_sends {
        let found = match want.split_once('=') {
            Some((n, v)) => sub.fields.iter().any(|(fname, fv)| fname == n && fv.expose() == v),
            None => sub.field(want).is_some(),
        };
        if !found {
            return Some(format!("sends no `{want}`"));
        }
    }
    if let Some(path) = &entry.form_action
        && sub.action.path() != path
    {
        return Some(format!("goes to {} instead of {path}", sub.action.path()));
    }
    None
}

/// The form driver's answer as the golden file spells it: its kind, or
/// `<kind> (<what is off>)` when the submission is not the golden one.
fn form_verdict(name: &str, html: &str, entry: &Entry) -> String {
    let (kind, sub) = form_answer(name, html);
    match submission_mismatch(entry, sub.as_ref()) {
        Some(off) if kind == entry.form => format!("{kind} ({off})"),
        _ => kind,
    }
}

/// The browser driver's answers for every page, from one browser.
fn browser_answers() -> &'static BTreeMap<String, Value> {
    static ANSWERS: OnceLock<BTreeMap<String, Value>> = OnceLock::new();
    ANSWERS.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let browser = Browser::start(OriginPolicy::default())
                .await
                .expect("Chromium starts (scripts/install-chromium)");
            let mut answers = BTreeMap::new();
            for chunk in pages().chunks(AT_ONCE) {
                let done = futures_util::future::join_all(chunk.iter().map(|(name, html)| {
                    let browser = &browser;
                    async move {
                        let url = page_url(name);
                        let answer = browser
                            .classify_as(&url, html.as_bytes(), Some(USERNAME))
                            .await
                            .unwrap_or_else(|e| serde_json::json!({"kind": format!("error: {e}")}));
                        (name.clone(), answer)
                    }
                }))
                .await;
                answers.extend(done);
            }
            answers
        })
    })
}

/// The browser driver's answer as the golden file spells it: its kind, or
/// `<kind> (presses ..)` / `consent (approve: .., deny: ..)` when the controls
/// found are not the golden ones.
fn browser_verdict(name: &str, entry: &Entry) -> String {
    let answer = &browser_answers()[name];
    let kind = answer["kind"].as_str().unwrap_or("none").to_owned();
    if kind != entry.browser {
        return kind;
    }
    if let Some(want) = &entry.browser_presses {
        let press = answer["press"].as_str();
        if press != Some(want.as_str()) {
            return match press {
                Some(p) => format!("{kind} (presses `{p}`)"),
                None => format!("{kind} (presses nothing)"),
            };
        }
    }
    if kind == "consent" {
        let approve = answer["approve"].as_bool();
        let deny = answer["deny"].as_bool();
        let off = |want: Option<bool>, got: Option<bool>| want.is_some() && want != got;
        if off(entry.approve, approve) || off(entry.deny, deny) {
            return format!("consent (approve: {approve:?}, deny: {deny:?})");
        }
    }
    kind
}

/// Checks one driver's answer against the golden entry: a mismatch not listed
/// as known wrong, a known-wrong page answered right, or one answered
/// differently from what the list says, is a failure.
fn judge(failures: &mut Vec<String>, name: &str, driver: &str, golden: &str, answer: &str, wrong: Option<&Wrong>) {
    match wrong {
        None if answer != golden => failures.push(format!("{name}: the {driver} driver answers `{answer}`, golden `{golden}`")),
        None => {}
        Some(w) if answer == golden => failures.push(format!(
            "{name}: the {driver} driver now answers `{answer}` as golden: remove its known_wrong entry ({})",
            w.why
        )),
        Some(w) if answer != w.answers => failures.push(format!(
            "{name}: the {driver} driver answers `{answer}`, not `{}` as known_wrong says (golden `{golden}`)",
            w.answers
        )),
        Some(_) => {}
    }
}

fn summary(rows: &[[String; 4]]) -> String {
    let widths: Vec<usize> = (0..4)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn every_page_has_a_golden_entry_and_every_entry_a_page() {
    let golden = golden();
    let names: Vec<&String> = pages().iter().map(|(n, _)| n).collect();
    let missing: Vec<&&String> = names.iter().filter(|n| !golden.pages.contains_key(n.as_str())).collect();
    let orphans: Vec<&String> = golden.pages.keys().filter(|k| !names.contains(k)).collect();
    assert!(missing.is_empty(), "pages without a golden entry: {missing:?}");
    assert!(orphans.is_empty(), "golden entries without a page: {orphans:?}");
    assert!(names.len() >= 30, "the corpus has {} pages", names.len());
    for (name, e) in &golden.pages {
        assert!(TRUTHS.contains(&e.truth.as_str()), "{name}: truth `{}`", e.truth);
        assert!(FORM_ANSWERS.contains(&e.form.as_str()), "{name}: form `{}`", e.form);
        assert!(BROWSER_ANSWERS.contains(&e.browser.as_str()), "{name}: browser `{}`", e.browser);
        for w in [&e.known_wrong.form, &e.known_wrong.browser].into_iter().flatten() {
            assert!(!w.why.trim().is_empty(), "{name}: a known_wrong entry says why");
        }
    }
    // Each page names the product it is modelled on.
    for (name, html) in pages() {
        assert!(
            html.trim_start().starts_with("<!-- Modelled on: "),
            "{name} starts with the product it is modelled on"
        );
    }
}

#[test]
fn the_form_driver_classifies_the_corpus_as_the_golden_file_says() {
    let golden = golden();
    let mut failures = Vec::new();
    for (name, html) in pages() {
        let Some(e) = golden.pages.get(name) else { continue };
        let answer = form_verdict(name, html, e);
        judge(&mut failures, name, "form", &e.form, &answer, e.known_wrong.form.as_ref());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_browser_driver_classifies_the_corpus_as_the_golden_file_says() {
    let golden = golden();
    let mut rows = vec![["page".to_owned(), "truth".to_owned(), "form".to_owned(), "browser".to_owned()]];
    let (mut form_right, mut browser_right) = (0, 0);
    let mut failures = Vec::new();
    for (name, html) in pages() {
        let Some(e) = golden.pages.get(name) else { continue };
        let form = form_verdict(name, html, e);
        let browser = browser_verdict(name, e);
        form_right += usize::from(form == e.form);
        browser_right += usize::from(browser == e.browser);
        let shown = |answer: &str, golden: &str| {
            if answer == golden {
                answer.to_owned()
            } else {
                format!("{answer} [golden {golden}]")
            }
        };
        rows.push([name.clone(), e.truth.clone(), shown(&form, &e.form), shown(&browser, &e.browser)]);
        judge(&mut failures, name, "browser", &e.browser, &browser, e.known_wrong.browser.as_ref());
    }
    println!("{}", summary(&rows));
    println!(
        "{} pages: the form driver answers {form_right} as golden, the browser driver {browser_right}",
        rows.len() - 1
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Where neither driver is known wrong, they agree on what the page is: the
/// form driver's login, identifier or consent is the browser's, and a page
/// the form driver finds nothing on and that has no scripts is an end in the
/// browser. (A page the form driver hands over is the browser's to judge.)
#[test]
fn the_two_drivers_agree_where_neither_is_known_wrong() {
    let golden = golden();
    let mut failures = Vec::new();
    for (name, html) in pages() {
        let Some(e) = golden.pages.get(name) else { continue };
        if e.known_wrong.form.is_some() || e.known_wrong.browser.is_some() {
            continue;
        }
        let (form, _) = form_answer(name, html);
        let browser = browser_answers()[name]["kind"].as_str().unwrap_or("none").to_owned();
        let expected = match form.as_str() {
            "browser" => continue,
            "unknown" => "end",
            other => other,
        };
        if browser != expected {
            failures.push(format!("{name}: the form driver answers `{form}`, the browser `{browser}`"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
