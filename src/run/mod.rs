//! The runner: loads the input, connects to the provider, runs every case as
//! a task of one tokio runtime with `cargo test`'s console lines
//! ([`trials`]), and writes the report.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::FutureExt as _;
use trials::Outcome;

mod trials;

use crate::check::{self, Status, jwt};
use crate::diag::{Diagnostic, Diagnostics, Source};
use crate::flow::{self, Evidence, Provider};
use crate::profile::{self, Profile};
use crate::reference::{self, Quirk, ReferenceProvider};
use crate::report::exchange::{self, Exchange, Step};
use crate::report::{CaseReport, Format, ProviderInfo, Report, TokenView, console};
use crate::suite::{self, Case};

/// The profile of the embedded reference provider (its issuer is replaced by
/// the address it binds).
pub const REFERENCE_PROFILE: &str = include_str!("../../fixtures/profiles/reference.yaml");
pub const REFERENCE_PROFILE_PATH: &str = "fixtures/profiles/reference.yaml";

/// What `run` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub suites: Vec<PathBuf>,
    pub provider: Option<PathBuf>,
    /// The profile written inside a project file (`provider` is that file's path).
    pub inline_profile: Option<Source>,
    pub quirks: Vec<Quirk>,
    pub output: PathBuf,
    pub jobs: Option<usize>,
    pub filter: Option<String>,
    pub exact: bool,
    pub skip: Vec<String>,
    pub list: bool,
    /// `(k, n)`: run only the k-th of n stable slices of the cases (1-based).
    pub shard: Option<(u32, u32)>,
    pub baseline: Option<PathBuf>,
    pub strict_baseline: bool,
    pub formats: Vec<Format>,
    /// PEM file of a private CA to trust (overrides the profile's `http.ca_file`).
    pub ca_file: Option<PathBuf>,
    /// Accept any TLS certificate.
    pub insecure: bool,
    /// Allow secrets over plain http to hosts that are not loopback.
    pub allow_http: bool,
    /// At most this many requests to the provider per second/minute.
    pub rate: Option<crate::flow::http::Rate>,
    /// Run the cases that wait (`slow: true`), whatever the profile says.
    pub waits: bool,
    /// `--login-driver`: overrides the profile's `login.driver`.
    pub login_driver: Option<crate::login::browser::Driver>,
    /// Every case signs the user in itself (no shared session).
    pub fresh_sign_ins: bool,
    /// The closing summary lists every failing check of every case.
    pub verbose: bool,
    /// `--no-preflight`: skip proving the profile's declarations (`doctor`)
    /// before the cases of a run against a provider profile.
    pub no_preflight: bool,
    /// `--rerun-failed`: the saved run whose failed, errored and not-run cases run again.
    pub rerun: Option<Rerun>,
}

/// A saved run to rerun (`--rerun-failed RUN_JSON`): its cases that failed,
/// errored or did not run, with what it was run against.
#[derive(Clone, Debug)]
pub struct Rerun {
    /// The saved run's file, for messages.
    pub file: String,
    /// The cases to run again; `None` when the saved run never started (every
    /// selected case runs).
    pub ids: Option<std::collections::BTreeSet<String>>,
    /// Why the saved run never started.
    pub not_started: Option<String>,
    pub summary: crate::report::Summary,
    pub provider: ProviderInfo,
    pub definition: Option<crate::report::RunDefinition>,
    /// `--rerun-any-provider`: rerun even when the provider, profile or suites differ.
    pub any_provider: bool,
}

impl Rerun {
    /// Reads a saved run: the cases it failed, errored or did not run (interrupted).
    pub fn read(path: &std::path::Path, any_provider: bool) -> Result<Rerun, RunError> {
        let saved = Report::read_json(path).map_err(|e| RunError::Input(Diagnostic::new(e).into()))?;
        let ids = saved.not_started.is_none().then(|| {
            saved
                .cases
                .iter()
                .filter(|c| matches!(c.status, Status::Fail | Status::Error))
                .map(|c| c.id.clone())
                .chain(saved.not_run.iter().cloned())
                .collect()
        });
        Ok(Rerun {
            file: path.display().to_string(),
            ids,
            not_started: saved.not_started.clone(),
            summary: saved.summary.clone(),
            provider: saved.provider.clone(),
            definition: saved.definition.clone(),
            any_provider,
        })
    }

    /// The saved run is of this provider, profile and suites; else why not
    /// (unless `--rerun-any-provider`, which says what differs on stderr).
    fn check_same(&self, info: &ProviderInfo, profile_digest: &str, suites_digest: &str) -> Result<(), RunError> {
        use crate::report::escape_controls as esc;
        let describe = |p: &ProviderInfo| {
            if p.embedded {
                "the embedded reference provider".to_owned()
            } else {
                format!("`{}` ({})", esc(&p.name), esc(&p.issuer))
            }
        };
        let same_provider = match (self.provider.embedded, info.embedded) {
            (true, true) => true,
            (false, false) => self.provider.issuer == info.issuer && self.provider.name == info.name,
            _ => false,
        };
        let mut differ = Vec::new();
        if !same_provider {
            differ.push(format!(
                "provider: the saved run's is {}, this run's is {}",
                describe(&self.provider),
                describe(info)
            ));
        }
        let mut unrecorded = Vec::new();
        let saved = self.definition.as_ref();
        for (what, theirs, ours) in [
            ("profile", saved.and_then(|d| d.profile_digest.as_deref()), profile_digest),
            ("suites", saved.and_then(|d| d.suites_digest.as_deref()), suites_digest),
        ] {
            match theirs {
                None => unrecorded.push(what),
                Some(d) if d != ours => differ.push(format!("{what} digest: the saved run's is {}, this run's is {ours}", esc(d))),
                Some(_) => {}
            }
        }
        if differ.is_empty() && unrecorded.is_empty() {
            return Ok(());
        }
        let file = &self.file;
        let mut why = differ.clone();
        if !unrecorded.is_empty() {
            why.push(format!(
                "`{file}` records no {} digest (it was saved by an earlier oidc-conform): whether it is a run of this profile and these suites cannot be told",
                unrecorded.join(" or ")
            ));
        }
        if self.any_provider {
            eprintln!(
                "warning: --rerun-any-provider: rerunning the cases of `{file}` here although:\n  {}",
                why.join("\n  ")
            );
            return Ok(());
        }
        let head = if differ.is_empty() {
            format!("cannot tell whether `{file}` is a run of this provider, profile and suites")
        } else {
            format!("`{file}` is a run of another provider, profile or suites")
        };
        Err(Diagnostic::new(format!("{head}:\n  {}", why.join("\n  ")))
            .with_hint(
                "rerun with the saved run's profile and suite files, or pass `--rerun-any-provider` to rerun its cases here all the same",
            )
            .into())
    }
}

/// The digest of a profile as loaded: its content with variables expanded and
/// secrets redacted (their `Debug` form), without the file's path, and for the
/// embedded provider without the port it happened to bind.
pub fn profile_digest(profile: &Profile, embedded: bool) -> String {
    let mut p = profile.clone();
    p.source = String::new();
    if embedded {
        p.issuer = "embedded".into();
    }
    crate::report::sha256_hex(format!("{p:?}").as_bytes())
}

/// Why a run could not produce a verdict.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad suites, profile or arguments (exit code 2).
    #[error("{0}")]
    Input(Diagnostics),
    /// The provider could not be reached or started (exit code 3).
    #[error("{0}")]
    Provider(String),
}

impl RunError {
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Input(_) => 2,
            RunError::Provider(_) => 3,
        }
    }
}

impl From<Diagnostics> for RunError {
    fn from(d: Diagnostics) -> Self {
        RunError::Input(d)
    }
}

impl From<Diagnostic> for RunError {
    fn from(d: Diagnostic) -> Self {
        RunError::Input(d.into())
    }
}

/// A tokio runtime for the harness.
pub fn runtime() -> Result<tokio::runtime::Runtime, RunError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| RunError::Provider(format!("cannot start the async runtime: {e}")))
}

/// The reference provider's profile with its issuer set to `issuer`.
pub fn reference_profile(issuer: &str) -> Result<Profile, Diagnostics> {
    let source = Source::new(REFERENCE_PROFILE_PATH, REFERENCE_PROFILE);
    let mut p = profile::parse(&source)?;
    p.issuer = issuer.to_owned();
    p.source = "embedded".into();
    Ok(p)
}

/// Loads every suite under `paths` and binds it to the profile.
/// No paths: the built-in suites.
pub fn load_cases(paths: &[PathBuf], profile: &Profile) -> Result<Vec<Case>, Diagnostics> {
    load_cases_with_digest(paths, profile).map(|(cases, _)| cases)
}

/// [`load_cases`], and the digest of the suites' sources (SHA-256 over each
/// suite's name and text, in suite name order: where the files are does not count).
pub fn load_cases_with_digest(paths: &[PathBuf], profile: &Profile) -> Result<(Vec<Case>, String), Diagnostics> {
    let loaded: Vec<Result<suite::SuiteFile, Diagnostics>> = if paths.is_empty() {
        suite::builtin()?.into_iter().map(Ok).collect()
    } else {
        let files = suite::discover(paths)?;
        if files.is_empty() {
            return Err(Diagnostic::new("no suite files found")
                .with_hint("pass `*.yaml` suite files or a directory of them, e.g. `suites/`")
                .into());
        }
        files.iter().map(|f| suite::load(f)).collect()
    };
    let mut diags = Diagnostics::default();
    let mut cases = Vec::new();
    let mut suites_seen: std::collections::BTreeMap<String, Source> = std::collections::BTreeMap::new();
    let mut sources: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for loaded in loaded {
        if let Ok(s) = &loaded {
            sources.insert(s.raw.suite.clone(), s.source.text.clone());
        }
        match loaded.and_then(|s| {
            if let Some(prev) = suites_seen.get(&s.raw.suite) {
                return Err(suite::duplicate_name(&s.raw.suite, prev, &s.source).into());
            }
            suites_seen.insert(s.raw.suite.clone(), s.source.clone());
            suite::expand(&s, profile)
        }) {
            Ok(c) => cases.extend(c),
            Err(d) => diags.0.extend(d.0),
        }
    }
    let mut text = String::new();
    for (name, source) in &sources {
        text.push_str(&format!("suite={name}\n{}\n{source}\n", source.len()));
    }
    diags.into_result((cases, crate::report::sha256_hex(text.as_bytes())))
}

/// Runs the suites; returns the exit code.
pub fn run(opts: &RunOptions) -> Result<i32, RunError> {
    let rt = Arc::new(runtime()?);
    let started = Instant::now();
    let started_at = crate::report::timestamp();

    let mut embedded: Option<ReferenceProvider> = None;
    let (profile, info) = match &opts.provider {
        Some(path) => {
            if !opts.quirks.is_empty() {
                return Err(Diagnostic::new("`--quirk` applies to the embedded reference provider only")
                    .with_hint("drop `--provider` to run against the embedded provider, or drop `--quirk`")
                    .into());
            }
            let p = match &opts.inline_profile {
                Some(source) => profile::parse(source)?,
                None => profile::load(path)?,
            };
            let info = ProviderInfo {
                name: p.name.clone(),
                issuer: p.issuer.clone(),
                profile: path.display().to_string(),
                embedded: false,
                quirks: vec![],
                insecure: opts.insecure,
                allow_http: opts.allow_http,
                trusted_origins: p.trusted_origins.clone(),
                weak_secrets: weak_secrets(&p),
            };
            (p, info)
        }
        None => {
            let config = reference::Config {
                quirks: opts.quirks.iter().copied().collect(),
                ..reference::Config::default()
            };
            let rp = rt
                .block_on(ReferenceProvider::start(config))
                .map_err(|e| RunError::Provider(format!("cannot start the embedded reference provider: {e}")))?;
            let p = reference_profile(rp.issuer())?;
            let info = ProviderInfo {
                name: p.name.clone(),
                issuer: p.issuer.clone(),
                profile: "embedded".into(),
                embedded: true,
                quirks: opts.quirks.iter().map(|q| q.name().to_owned()).collect(),
                insecure: opts.insecure,
                allow_http: opts.allow_http,
                trusted_origins: p.trusted_origins.clone(),
                weak_secrets: weak_secrets(&p),
            };
            embedded = Some(rp);
            (p, info)
        }
    };

    let mut profile = profile;
    profile.waits |= opts.waits;
    if let Some(d) = opts.login_driver {
        profile.login.driver = d;
    }
    profile.login.fresh_sign_ins |= opts.fresh_sign_ins;
    let baseline = match &opts.baseline {
        Some(path) => Some(crate::report::baseline::load(path)?),
        None => None,
    };
    // A private CA: PEM certificates, checked before anything runs.
    let ca_pem = match opts.ca_file.as_ref().or(profile.ca_file.as_ref()) {
        Some(ca) => Some(Arc::new(crate::flow::http::read_ca_file(ca).map_err(|why| {
            RunError::from(Diagnostic::new(why).with_hint("pass a PEM file of CA certificates (`-----BEGIN CERTIFICATE-----`)"))
        })?)),
        None => None,
    };
    let (cases, suites_digest) = load_cases_with_digest(&opts.suites, &profile)?;
    let profile_digest = profile_digest(&profile, info.embedded);
    let loaded = cases.len();
    let loaded_ids: std::collections::BTreeSet<String> = cases.iter().map(Case::id).collect();
    if let Some(rerun) = &opts.rerun {
        rerun.check_same(&info, &profile_digest, &suites_digest)?;
        let file = &rerun.file;
        match &rerun.ids {
            None => eprintln!(
                "`{file}` never started ({}): running every selected case",
                crate::report::escape_controls(rerun.not_started.as_deref().unwrap_or_default())
            ),
            Some(ids) => {
                let known: std::collections::BTreeSet<String> = cases.iter().map(Case::id).collect();
                let gone: Vec<&str> = ids.iter().filter(|id| !known.contains(*id)).map(String::as_str).collect();
                if !gone.is_empty() {
                    eprintln!(
                        "warning: {} failed or not-run case(s) of `{file}` are not in the selected suites (renamed, removed, or from other suite files: pass those files): {}",
                        gone.len(),
                        crate::report::escape_controls(&gone.join(", "))
                    );
                }
            }
        }
    }
    let filtered: Vec<String> = cases.iter().map(Case::id).filter(|id| selected(opts, id)).collect();
    let definition = crate::report::RunDefinition::of(&filtered, &info, &profile_digest, &suites_digest);
    let selected: Vec<Case> = cases
        .into_iter()
        .filter(|c| selected(opts, &c.id()) && in_shard(opts.shard, &c.id()))
        .collect();
    if opts.list {
        for c in &selected {
            crate::outln!("{}: test", c.id());
        }
        return Ok(0);
    }
    // Before the first request: the reports must have somewhere to go.
    check_output(&opts.output)?;
    let formats = if opts.formats.is_empty() {
        Format::ALL.to_vec()
    } else {
        opts.formats.clone()
    };
    let not_started = |why: &str| -> Result<(), RunError> {
        let mut report = Report::new(info.clone(), started_at.clone(), started.elapsed().as_millis() as u64);
        report.not_started = Some(why.to_owned());
        report.shard = opts.shard.map(|(k, n)| format!("{k}/{n}"));
        report.definition = Some(definition.clone());
        report.resummarise();
        let written = report.write_all(&opts.output, &formats).map_err(|e| {
            RunError::Input(Diagnostic::new(format!("cannot write the reports into `{}`: {e}", opts.output.display())).into())
        })?;
        for path in written {
            crate::outln!("report: {}", path.display());
        }
        Ok(())
    };
    if selected.is_empty() {
        let nothing_to_rerun = opts.rerun.as_ref().filter(|r| r.ids.as_ref().is_some_and(|ids| ids.is_empty()));
        let why = if let Some(r) = nothing_to_rerun {
            format!(
                "nothing to rerun: `{}` has no failed, errored or not-run case ({} passed, {} warned, {} skipped)",
                r.file, r.summary.pass, r.summary.warn, r.summary.skip
            )
        } else if loaded == 0 {
            "the suites hold no cases".to_owned()
        } else {
            let mut parts = Vec::new();
            if let Some(f) = &opts.filter {
                parts.push(format!("the filter `{f}`"));
            }
            if !opts.skip.is_empty() {
                parts.push(format!("--skip {}", opts.skip.join(", ")));
            }
            if let Some((k, n)) = opts.shard {
                parts.push(format!("shard {k}/{n}"));
            }
            if let Some(r) = &opts.rerun {
                parts.push(format!("--rerun-failed {}", r.file));
            }
            format!("{} selected none of the {loaded} cases", parts.join(" and "))
        };
        eprintln!("no case was run: {why}");
        not_started(&format!("no case was selected: {why}"))?;
        return Ok(EXIT_NOTHING_RUN);
    }

    let (rate, max_concurrency) = (profile.rate, profile.max_concurrency);
    let tls = crate::flow::http::Tls {
        ca_pem,
        insecure: opts.insecure,
    };
    if opts.insecure {
        eprintln!(
            "WARNING: --insecure: TLS certificates are NOT verified; anyone on the network path can impersonate the provider. The report records this."
        );
    }
    let provider = match rt.block_on(Provider::connect(profile, tls, opts.allow_http, opts.rate.or(rate))) {
        Ok(p) => p,
        Err(e) => {
            let why = crate::secret::scrub(&format!("provider `{}`: {e}", info.name));
            // The reports are written also when the run cannot start.
            not_started(&why)?;
            return Err(RunError::Provider(why));
        }
    };
    // Ctrl-C / SIGTERM: cases not started yet are not run; the reports are still written.
    rt.spawn(async {
        interrupted().await;
        INTERRUPTED.store(true, Ordering::SeqCst);
        eprintln!("\ninterrupted: finishing the cases under way, then writing the reports (press Ctrl-C again to quit now)");
        interrupted().await;
        // Exiting now skips destructors: the browser is stopped by hand.
        crate::login::browser::stop_all();
        std::process::exit(130);
    });
    // The profile is proven before it is trusted: a declaration the provider
    // contradicts is a profile error (exit 2), not a failure of every case.
    if embedded.is_none() && !opts.no_preflight {
        let lines = rt.block_on(crate::doctor::check(&provider));
        let diags = crate::doctor::diagnostics(&lines, opts.provider.as_deref());
        if !diags.is_empty() {
            return Err(RunError::Input(diags));
        }
        let unsettled = lines
            .iter()
            .filter(|l| matches!(l.finding, crate::doctor::Finding::NotProven(_)))
            .count();
        eprintln!(
            "pre-flight: {} of the profile's client declarations proven against the provider{} (`oidc-conform doctor` says more; --no-preflight skips it)",
            lines.len() - unsettled,
            if unsettled > 0 {
                format!(", {unsettled} not settled")
            } else {
                String::new()
            }
        );
    }
    let provider = Arc::new(provider);
    let results: Arc<Mutex<Vec<crate::report::CaseEntry>>> = Arc::new(Mutex::new(Vec::with_capacity(selected.len())));

    let all_ids: Vec<String> = selected.iter().map(Case::id).collect();
    // On a terminal (and not in CI): a progress bar, failures as they happen, and the
    // libtest-style lines go to `console.log` in the output directory. Elsewhere: the lines.
    let progress = progress_bar(all_ids.len(), &opts.output);
    // One case, start to finish: run, keep, and its libtest verdict.
    let run_one = {
        let (provider, results, output) = (provider.clone(), results.clone(), opts.output.clone());
        let bar = progress.as_ref().map(|(b, _)| b.clone());
        move |case: Arc<Case>| -> trials::Trial {
            let (provider, results, output, bar) = (provider.clone(), results.clone(), output.clone(), bar.clone());
            trials::Trial {
                name: case.id(),
                kind: case.flow.as_str().to_owned(),
                run: Box::new(move || {
                    Box::pin(async move {
                        if INTERRUPTED.load(Ordering::SeqCst) {
                            return Outcome::Ignored("not run: the run was interrupted".into());
                        }
                        // A panic in a case is an error of that case, never a case gone missing.
                        let mut report = std::panic::AssertUnwindSafe(run_case(&provider, &case))
                            .catch_unwind()
                            .await
                            .unwrap_or_else(|panic| panicked(&case, panic.as_ref()));
                        keep_screenshot(&mut report, &output);
                        let verdict = trial_verdict(&report);
                        if let Some(bar) = &bar {
                            if let Outcome::Failed(f) = &verdict {
                                let first = f.lines().next().unwrap_or_default();
                                bar.println(format!("{} {}: {first}", report.status.as_str().to_uppercase(), report.id));
                            }
                            bar.set_message(report.id.clone());
                            bar.inc(1);
                        }
                        // Kept small from here on: the whole case goes to the spool.
                        let entry = crate::report::CaseEntry::new(report);
                        if let Ok(mut r) = results.lock() {
                            r.push(entry);
                        }
                        verdict
                    })
                }),
            }
        }
    };
    let mut selected: Vec<Arc<Case>> = selected.into_iter().map(Arc::new).collect();
    // The cases that run alone among their user's sign-ins go first, one after
    // another: started later, each would wait for every case under way (the
    // opt-in waits hold their sign-in for a minute) while the cases after it
    // queue behind it. Then the cases that wait for long (a code to age, the
    // device grant's polls): started last, a minute's wait would come after
    // everything else instead of beside it. The reports keep the cases in their own order.
    selected.sort_by_key(|c| schedule_rank(c));
    let trials: Vec<trials::Trial> = selected.iter().cloned().map(&run_one).collect();
    let jobs = opts.jobs.or(max_concurrency).unwrap_or_else(default_jobs);
    // The libtest lines: on standard output, or into the log behind the progress bar.
    let console = match progress.as_ref().and_then(|(_, log)| std::fs::File::create(log).ok()) {
        Some(log) => trials::Console::new(trials::Sink::File(log), false),
        None => trials::Console::new(trials::Sink::Stdout, crate::color::stdout()),
    };
    trials::run(&rt, jobs, console, trials);
    if let Some((bar, _)) = &progress {
        bar.finish_and_clear();
    }

    let mut cases = std::mem::take(&mut *results.lock().unwrap_or_else(|e| e.into_inner()));
    cases.sort_by(|a, b| a.id.cmp(&b.id));
    let finished: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    let not_run: Vec<String> = all_ids.iter().filter(|id| !finished.contains(id.as_str())).cloned().collect();
    let mut report = Report::new(info, started_at, started.elapsed().as_millis() as u64);
    report.interrupted = INTERRUPTED.load(Ordering::SeqCst);
    report.not_run = not_run;
    report.shard = opts.shard.map(|(k, n)| format!("{k}/{n}"));
    report.definition = Some(definition);
    // The summary is computed below, once the baseline has marked the known failures.
    report.cases = cases;
    if let (Some(b), Some(path)) = (&baseline, &opts.baseline) {
        crate::report::baseline::apply(&mut report, b, &path.display().to_string(), &loaded_ids);
    }
    report.resummarise();
    let written = report
        .write_all(&opts.output, &formats)
        .map_err(|e| RunError::Input(Diagnostic::new(format!("cannot write the reports into `{}`: {e}", opts.output.display())).into()))?;
    crate::out!("{}", crate::color::summary(&console::summary(&report, opts.verbose)));
    if INTERRUPTED.load(Ordering::SeqCst) {
        crate::outln!("interrupted: {} case(s) finished; the others were not run", report.cases.len());
    }
    for path in written {
        crate::outln!("report: {}", path.display());
    }
    if let Some(rp) = embedded {
        rt.block_on(rp.shutdown());
    }
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Ok(130);
    }
    Ok(report.exit_code(opts.strict_baseline))
}

/// Where a case starts in a run: 0 the cases that run alone among their
/// user's sign-ins, 1 the cases that wait for long, 2 the others.
fn schedule_rank(case: &Case) -> u8 {
    if case.needs_session_alone() {
        0
    } else if case.waits_long() {
        1
    } else {
        2
    }
}

/// Cases run at once without `--jobs` or `http.max_concurrency`: a case
/// spends most of its time waiting for the provider (its pages, its tokens,
/// the waits of the cases that wait), not computing, so more of them run than
/// there are CPUs: 8, or the number of CPUs where more.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from).max(8)
}

/// The report of a case whose run panicked: an `error` naming the panic, so
/// that the case stays in every format and the run's exit code is not 0.
fn panicked(case: &Case, panic: &(dyn std::any::Any + Send)) -> CaseReport {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    let checks = vec![check::CheckResult::error(
        "harness.panic",
        format!("the harness failed inside this case ({what}); the case could not be judged: please report it with the case's data"),
    )];
    case_report(case, Evidence::default(), checks, 0)
}

/// The profile's credentials too short to be scrubbed by value from report
/// text (named, never shown), with a warning on stderr.
fn weak_secrets(p: &Profile) -> Vec<String> {
    let short = |s: &crate::secret::Secret| !s.is_empty() && s.expose().len() < crate::secret::MIN_SCRUBBED;
    let mut out: Vec<String> = p
        .clients
        .iter()
        .filter(|(_, c)| c.secret.as_ref().is_some_and(short))
        .map(|(name, _)| format!("the secret of client `{name}`"))
        .collect();
    out.extend(
        p.users
            .iter()
            .filter(|(_, u)| short(&u.password))
            .map(|(name, _)| format!("the password of user `{name}`")),
    );
    if !out.is_empty() {
        eprintln!(
            "warning: {} shorter than {} characters: weak, and redacted only where sent as a credential (form fields, parameters and headers), not wherever the value appears in report text",
            out.join(", "),
            crate::secret::MIN_SCRUBBED
        );
    }
    out
}

/// Writes a case's screenshot next to the report (`screenshots/<case>.png`)
/// and records where; a screenshot that cannot be written is dropped, and
/// the page text says so.
fn keep_screenshot(report: &mut CaseReport, output: &std::path::Path) {
    let Some(page) = &mut report.page else { return };
    let Some(png) = page.png.take() else { return };
    let name: String = report
        .id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect();
    let file = format!("screenshots/{name}.png");
    let written = std::fs::create_dir_all(output.join("screenshots")).and_then(|_| std::fs::write(output.join(&file), png));
    match written {
        Ok(()) => page.screenshot = Some(file),
        Err(e) => {
            let note = format!("(the screenshot could not be written: {e})");
            page.text = Some(match page.text.take() {
                Some(t) => format!("{t} {note}"),
                None => note,
            });
        }
    }
}

/// Exit code of a run that selected no case (documented in docs/reports.md).
pub const EXIT_NOTHING_RUN: i32 = 4;

/// The output directory exists (or can be made) and takes files.
fn check_output(dir: &std::path::Path) -> Result<(), RunError> {
    let fail = |e: std::io::Error| {
        RunError::Input(
            Diagnostic::new(format!("cannot write the reports into `{}`: {e}", dir.display()))
                .with_hint("pass a writable directory with `--output DIR`")
                .into(),
        )
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".oidc-conform-write-test");
    std::fs::write(&probe, b"").map_err(fail)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// A progress bar when stdout is a terminal and `CI` is not set, with the path the
/// libtest-style log goes to instead of the screen.
fn progress_bar(len: usize, output: &std::path::Path) -> Option<(indicatif::ProgressBar, PathBuf)> {
    use std::io::IsTerminal as _;
    if !std::io::stdout().is_terminal() || std::env::var_os("CI").is_some() {
        return None;
    }
    std::fs::create_dir_all(output).ok()?;
    let log = output.join("console.log");
    std::fs::File::create(&log).ok()?;
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} cases  {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some((bar, log))
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Whether a case belongs to shard `k` of `n`: a stable slice by a hash of the case id,
/// so a case stays in its shard whatever other cases are added.
pub fn in_shard(shard: Option<(u32, u32)>, id: &str) -> bool {
    let Some((k, n)) = shard else { return true };
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, id.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d.as_ref()[..8]);
    (u64::from_be_bytes(b) % u64::from(n)) as u32 == k - 1
}

fn selected(opts: &RunOptions, id: &str) -> bool {
    let matches = |pat: &str| if opts.exact { id == pat } else { id.contains(pat) };
    opts.filter.as_deref().is_none_or(matches)
        && !opts.skip.iter().any(|s| matches(s))
        && opts.rerun.as_ref().and_then(|r| r.ids.as_ref()).is_none_or(|ids| ids.contains(id))
}

/// The libtest line of a case: `ok` for pass and warn, `ignored` with the reason
/// for a skip, `FAILED` for fail and error.
fn trial_verdict(report: &CaseReport) -> Outcome {
    match report.status {
        Status::Pass | Status::Warn => Outcome::Passed,
        Status::Skip => {
            // The reason the case is skipped: not runnable here, else its own assertions'.
            let skips = || report.checks.iter().filter(|c| c.status == Status::Skip);
            let why = skips()
                .find(|c| c.id == "flow.supported")
                .or_else(|| skips().find(|c| c.id.starts_with("assert.")))
                .or_else(|| skips().next())
                .map(|c| crate::report::escape_controls(&c.message).into_owned())
                .unwrap_or_else(|| "nothing was checked".into());
            Outcome::Ignored(format!("skip: {why}"))
        }
        Status::Fail | Status::Error => {
            let lines: Vec<String> = report.problems().map(crate::report::describe_check_with_rule).collect();
            Outcome::Failed(lines.join("\n"))
        }
    }
}

/// Why the run of a probe with its client did not reach the request under
/// test for want of what another client may have: no refresh token, or one a
/// confidential client does not rotate (RFC 9700 §4.14.2 requires rotation, or
/// a sender constraint, of public clients only).
fn lacks_what_the_probe_needs(p: &Provider, case: &Case, ev: &Evidence) -> Option<String> {
    if ev.misuse_attempted || !case.request.misuses(crate::suite::Misuse::ReuseRefreshToken) {
        return None;
    }
    let public = p.profile.clients.get(&case.client).is_some_and(|c| c.is_public());
    match ev.refresh_rotated {
        Some(false) if !public => Some(format!(
            "client `{}` is confidential and its refresh token was not rotated (which RFC 9700 §4.14.2 allows it)",
            case.client
        )),
        None if ev.not_applicable.is_some() && ev.harness_error.is_none() => Some(format!("client `{}` got no refresh token", case.client)),
        _ => None,
    }
}

/// Runs one case: flow, then checks; always produces a report.
pub async fn run_case(provider: &Provider, case: &Case) -> CaseReport {
    let started = Instant::now();
    // Debug builds only: the tests prove that a panic in a case is an error of that case.
    #[cfg(debug_assertions)]
    if std::env::var("OIDC_CONFORM_TEST_PANIC_IN").is_ok_and(|id| id == case.id()) {
        panic!("a panic injected by OIDC_CONFORM_TEST_PANIC_IN");
    }
    let supported = match &case.skip {
        // A family the provider does not offer is that, before any want of the profile's.
        Some(why) if case.request.client_assertions => check::unsupported(provider, case).and(Err(why.clone())),
        Some(why) => Err(why.clone()),
        None => check::unsupported(provider, case),
    };
    let (ev, checks) = match supported {
        Err(why) => (Evidence::default(), vec![check::CheckResult::skip("flow.supported", why)]),
        Ok(notes) => {
            // A case that registers its client runs with it (and is judged with it).
            let mut registered = None;
            let mut first = Evidence::default();
            if case.request.register.is_some() {
                match flow::register::register(provider, case, &mut first).await {
                    Ok(Some(client)) if !case.judges_registration() => {
                        let view = provider.with_client(flow::register::REGISTERED, client).await;
                        let mut own = case.clone();
                        own.client = flow::register::REGISTERED.to_owned();
                        own.auth = view.profile.clients[&own.client].auth;
                        registered = Some((view, own));
                    }
                    Ok(Some(_)) => {}
                    Ok(None) if case.judges_registration() => {}
                    // The client the case runs with could not be registered: nothing
                    // else of the case can run (RFC 7591 §3 lets a provider require
                    // an initial access token, so this is not judged as a failure).
                    Ok(None) => {
                        let answer = first
                            .error
                            .as_ref()
                            .map(|e| {
                                format!(
                                    "HTTP {} `{}`{}",
                                    e.status.map(|s| s.to_string()).unwrap_or_default(),
                                    e.error,
                                    e.description.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
                                )
                            })
                            .unwrap_or_else(|| "no usable client".into());
                        first.harness_error = Some(format!(
                            "the client this case runs with could not be registered ({answer}); if the provider requires an initial access token, set `registration.initial_access_token` in the profile"
                        ));
                    }
                    Err(e) => first.harness_error = Some(e),
                }
            }
            let (provider, case) = match &registered {
                Some((view, own)) => (view, own),
                None => (provider, case),
            };
            let mut switched: Option<Case> = None;
            // No other sign-in of the user between a session case's sign-in and its end.
            let hold = provider.session_hold(case).await;
            let ev = if case.request.register.is_some() && registered.is_none() {
                first
            } else {
                let mut ev = flow::run(provider, case).await;
                // A client without what the probe needs: the next one that fits.
                for next in &case.other_clients {
                    let Some(why) = lacks_what_the_probe_needs(provider, switched.as_ref().unwrap_or(case), &ev) else {
                        break;
                    };
                    let mut other = case.clone();
                    other.client = next.clone();
                    other.auth = provider.profile.clients[next].auth;
                    other.other_clients.clear();
                    let mut again = flow::run(provider, &other).await;
                    ev.trace.push(format!("{why}: the case runs again with client `{next}`"));
                    ev.trace.append(&mut again.trace);
                    again.trace = std::mem::take(&mut ev.trace);
                    ev = again;
                    switched = Some(other);
                }
                let mut trace = std::mem::take(&mut first.trace);
                trace.append(&mut ev.trace);
                ev.trace = trace;
                let mut exchanges = std::mem::take(&mut first.exchanges);
                exchanges.append(&mut ev.exchanges);
                ev.exchanges = exchanges;
                ev.registration = first.registration.take();
                ev
            };
            drop(hold);
            let case = switched.as_ref().unwrap_or(case);
            // Judged only with a client the profile knows (a registration that
            // failed leaves the case with none).
            let unregistered = case.request.register.is_some() && registered.is_none() && !case.judges_registration();
            let mut checks = if !unregistered {
                check::judge(provider, case, &ev).await
            } else {
                vec![check::CheckResult::error(
                    "registration.register",
                    ev.harness_error
                        .clone()
                        .unwrap_or_else(|| format!("client `{}` is not in the profile", case.client)),
                )]
            };
            for note in notes {
                checks.insert(
                    0,
                    check::CheckResult::pass("flow.supported", format!("runs by the profile's word: {note}")),
                );
            }
            if let Some(why) = &ev.not_applicable {
                // What was found on the way still counts; the passes do not make the case.
                check::keep_findings(&mut checks);
                checks.insert(0, check::CheckResult::skip("flow.supported", why.clone()));
            } else if ev.trace.is_empty() && ev.harness_error.is_none() {
                checks.push(check::CheckResult::error(
                    "flow.authorization",
                    "the case never reached the provider: no request was sent",
                ));
            }
            (ev, check::apply_levels(&provider.profile, checks))
        }
    };
    case_report(case, ev, checks, started.elapsed().as_millis() as u64)
}

/// A case's report from its evidence and checks, scrubbed.
fn case_report(case: &Case, mut ev: Evidence, checks: Vec<check::CheckResult>, duration_ms: u64) -> CaseReport {
    let own = case_secrets(&ev);
    let fallback = match ev.stage {
        flow::Stage::Authorization => Step::Authorization,
        flow::Stage::Token => Step::Token,
        flow::Stage::Userinfo => Step::Userinfo,
    };
    let exchanges = link_exchanges(std::mem::take(&mut ev.exchanges), &checks, fallback);
    let mut report = CaseReport {
        id: case.id(),
        suite: case.suite.clone(),
        name: case.name.clone(),
        about: case.about.clone(),
        area: case.area.as_str().into(),
        flow: case.flow.as_str().into(),
        spec: case.spec.clone(),
        location: case.location.clone(),
        status: check::case_status(&checks),
        duration_ms,
        checks,
        request: ev.request.clone(),
        authorization_response: ev.authorization_response.clone(),
        tokens: token_views(&ev),
        userinfo: ev.userinfo.as_ref().and_then(|u| u.claims.clone()),
        trace: ev.trace,
        exchanges,
        page: ev.browser_page.map(|(png, text)| crate::report::PageCapture {
            text,
            screenshot: None,
            png,
        }),
    };
    scrub(&mut report, &own);
    report
}

/// The last line of defence: no credential of the profile, nor any raw token
/// or code of the case, in any text of a case's report, whatever path it took
/// there (every format renders from this) — claims and userinfo values
/// included, where a provider may echo a secret back.
fn scrub(report: &mut CaseReport, own: &[String]) {
    let s = |text: &str| -> String {
        let mut out = crate::secret::scrub(text);
        for v in own {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), "[redacted]");
            }
        }
        out
    };
    for c in &mut report.checks {
        c.message = s(&c.message);
        c.expected = c.expected.as_deref().map(s);
        c.found = c.found.as_deref().map(s);
    }
    for line in &mut report.trace {
        *line = s(line);
    }
    for x in &mut report.exchanges {
        let params = x
            .query
            .iter_mut()
            .chain(&mut x.form)
            .chain(&mut x.headers)
            .chain(x.basic.as_mut().map(|(_, p)| p));
        for p in params {
            p.name = s(&p.name);
            p.value = s(&p.value);
        }
        if let Some((user, _)) = &mut x.basic {
            *user = s(user);
        }
        for text in [&mut x.url, &mut x.method]
            .into_iter()
            .chain(x.json.as_mut())
            .chain(x.body.as_mut())
            .chain(x.answer.as_mut())
            .chain(x.note.as_mut())
        {
            *text = s(text);
        }
        for (_, v) in &mut x.response_headers {
            *v = s(v);
        }
    }
    if let Some(page) = &mut report.page {
        page.text = page.text.as_deref().map(s);
    }
    for v in report.request.values_mut() {
        *v = s(v);
    }
    if let Some(r) = &mut report.authorization_response {
        for v in r.values_mut() {
            *v = s(v);
        }
    }
    for t in &mut report.tokens {
        if let Some(h) = &mut t.header {
            scrub_map(h, &s);
        }
        if let Some(c) = &mut t.claims {
            scrub_map(c, &s);
        }
        t.note = t.note.as_deref().map(s);
    }
    if let Some(u) = &mut report.userinfo {
        scrub_map(u, &s);
    }
}

/// The exchanges that show the failing and warning checks, each naming the
/// checks it shows: for each check, the last [`exchange::PER_CHECK`] exchanges
/// of the steps it judges ([`exchange::steps_of`]); a check of no such step,
/// or whose steps left no exchange, gets the last exchange of the step the
/// flow ended in (`fallback`). The other exchanges are not kept.
fn link_exchanges(mut exchanges: Vec<Exchange>, checks: &[check::CheckResult], fallback: Step) -> Vec<Exchange> {
    let notable = checks
        .iter()
        .filter(|c| matches!(c.status, check::Status::Fail | check::Status::Warn | check::Status::Error));
    for c in notable {
        let matches = |x: &Exchange, step: Step, note: Option<&str>| {
            x.step == Some(step)
                && match note {
                    None => true,
                    Some("") => x.note.is_none(),
                    Some(n) => x.note.as_deref() == Some(n),
                }
        };
        let mut linked: Vec<usize> = (0..exchanges.len())
            .filter(|&i| {
                exchange::steps_of(&c.id)
                    .iter()
                    .any(|(step, note)| matches(&exchanges[i], *step, *note))
            })
            .collect();
        if linked.is_empty()
            && let Some(i) = exchanges.iter().rposition(|x| x.step == Some(fallback))
        {
            linked.push(i);
        }
        let skip = linked.len().saturating_sub(exchange::PER_CHECK);
        for &i in &linked[skip..] {
            if !exchanges[i].checks.contains(&c.id) {
                exchanges[i].checks.push(c.id.clone());
            }
        }
    }
    exchanges.retain(|x| !x.checks.is_empty());
    exchanges
}

/// The case's own raw tokens and codes, longest first (a token that contains
/// another is removed whole), for [`scrub`].
fn case_secrets(ev: &Evidence) -> Vec<String> {
    let mut own: Vec<String> = ev
        .token_sets
        .iter()
        .flat_map(|t| [&t.id_token, &t.access_token, &t.refresh_token, &t.code])
        .flatten()
        .map(|s| s.expose().to_owned())
        .collect();
    if let Some(code) = ev.authorization_response.as_ref().and_then(|r| r.get("code")) {
        own.push(code.clone());
    }
    own.extend(ev.sent_assertions.iter().map(|a| a.expose().to_owned()));
    own.retain(|v| v.len() >= crate::secret::MIN_SCRUBBED);
    // Longest first: a token that contains another is removed whole.
    own.sort_by_key(|v| std::cmp::Reverse(v.len()));
    own.dedup();
    own
}

/// Every string in `m` (keys included) through `s`.
fn scrub_map(m: &mut serde_json::Map<String, serde_json::Value>, s: &impl Fn(&str) -> String) {
    let entries = std::mem::take(m);
    for (k, mut val) in entries {
        scrub_json(&mut val, s);
        m.insert(s(&k), val);
    }
}

/// Every string in `v` (keys included) through `s`.
fn scrub_json(v: &mut serde_json::Value, s: &impl Fn(&str) -> String) {
    match v {
        serde_json::Value::String(text) => *text = s(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|i| scrub_json(i, s)),
        serde_json::Value::Object(map) => scrub_map(map, s),
        _ => {}
    }
}

fn token_views(ev: &Evidence) -> Vec<TokenView> {
    let mut out = Vec::new();
    for set in &ev.token_sets {
        let origin = serde_json::to_value(set.origin)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        for (kind, tok) in [("id_token", &set.id_token), ("access_token", &set.access_token)] {
            let Some(tok) = tok else { continue };
            let view = if kind == "access_token" && !jwt::looks_like_jwt(tok.expose()) {
                TokenView {
                    kind: kind.into(),
                    origin: origin.clone(),
                    header: None,
                    claims: None,
                    note: Some("opaque".into()),
                }
            } else {
                match jwt::decode(tok.expose()) {
                    Ok(d) => TokenView {
                        kind: kind.into(),
                        origin: origin.clone(),
                        header: Some(d.header),
                        claims: Some(d.claims),
                        note: None,
                    },
                    Err(e) => TokenView {
                        kind: kind.into(),
                        origin: origin.clone(),
                        header: None,
                        claims: None,
                        note: Some(e),
                    },
                }
            };
            out.push(view);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The session probes and refreshes start first, then the cases that
    /// wait for long, then the others; each group in its own order.
    #[test]
    fn cases_that_run_alone_then_cases_that_wait_start_first() {
        let mut profile = reference_profile("http://127.0.0.1:1").unwrap();
        profile.code_lifetime = Some(std::time::Duration::from_secs(60));
        profile.waits = true;
        let cases = load_cases(&[], &profile).unwrap();
        let rank = |id: &str| schedule_rank(cases.iter().find(|c| c.id() == id).unwrap_or_else(|| panic!("{id}")));
        assert_eq!(rank("session::prompt-login"), 0);
        assert_eq!(rank("flows::refresh"), 0);
        assert_eq!(rank("security::code-lifetime"), 1);
        assert_eq!(rank("negative::code-reuse-30s"), 1);
        assert_eq!(rank("device::device-grant"), 1);
        assert_eq!(rank("basics::openid-only"), 2);
        let mut sorted: Vec<&Case> = cases.iter().collect();
        sorted.sort_by_key(|c| schedule_rank(c));
        let ranks: Vec<u8> = sorted.iter().map(|c| schedule_rank(c)).collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]));
        assert!(ranks.contains(&0) && ranks.contains(&1) && ranks.contains(&2));
    }

    /// The libtest lines of a failed and a skipped case carry the provider's
    /// text with its control characters written out.
    #[test]
    fn libtest_lines_show_control_characters_escaped() {
        let hostile = "access_denied\u{1b}]52;c;ZXZpbA==\u{7}\rtest result: ok";
        let failed = crate::report::findings::tests::case(
            "s::a",
            vec![check::CheckResult::fail("flow.authorization", hostile).ef("a code", hostile)],
        );
        let Outcome::Failed(message) = trial_verdict(&failed) else {
            panic!("a failed case fails")
        };
        assert!(!message.chars().any(char::is_control), "{message:?}");
        assert!(
            message.contains("access_denied\\u{1b}]52;c;ZXZpbA==\\u{7}\\rtest result: ok"),
            "{message}"
        );
        let skipped = crate::report::findings::tests::case("s::b", vec![check::CheckResult::skip("flow.supported", hostile)]);
        let Outcome::Ignored(shown) = trial_verdict(&skipped) else {
            panic!("a skip is ignored, with its reason")
        };
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(shown.contains("\\u{1b}]52"), "{shown}");
    }
}
