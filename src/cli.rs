//! The command line: clap definitions and the thin dispatch to the library.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::check::catalogue::CATALOGUE;
use crate::check::spec;
use crate::diag::{Diagnostics, Source};
use crate::reference::{self, Quirk, ReferenceProvider};
use crate::report::{Format, Report};
use crate::run::{self, RunError, RunOptions};

/// Conformance test harness for OpenID Connect providers.
#[derive(Debug, Parser)]
#[command(name = "oidc-conform", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colour the console output: `auto` (a terminal, unless `NO_COLOR` is set; `CLICOLOR_FORCE` colours a pipe too), `always`, `never`.
    #[arg(long, global = true, value_enum, default_value = "auto", value_name = "WHEN")]
    pub color: crate::color::ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run suites against a provider (default: the embedded reference provider) and write reports.
    Run(Box<RunArgs>),
    /// Check suites, profiles and project files for mistakes, without any network.
    Validate {
        /// Suite, profile and project files or directories (default: the project file
        /// `oidc-conform.yaml` here when there is one, else suites/). A file named
        /// `oidc-conform.yaml` or `NAME.oidc-conform.yaml` is a project file: it is checked
        /// with its profile, suites and baseline.
        files: Vec<PathBuf>,
        /// Bind suites to this profile (default: the reference provider's).
        #[arg(long)]
        provider: Option<PathBuf>,
        /// Check this project file too, with its profile, suites and baseline.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// List the cases `run` would run.
    List {
        /// Suite files or directories (default: suites/).
        suites: Vec<PathBuf>,
        #[arg(long)]
        provider: Option<PathBuf>,
    },
    /// Print the catalogue of built-in checks: id, area, level, whom the rule binds, spec section, why.
    Checks {
        /// `text` (a line per check) or `markdown` (the manual's catalogue page, docs/checks.md).
        #[arg(long, value_enum, default_value = "text")]
        format: ChecksFormat,
    },
    /// Explain one check: the rule, its level and the party it binds, the spec section, what a conformant provider does, the cases that probe it and the faults that make it fire.
    Explain {
        /// The check's id, as reports name it (e.g. `id_token.aud`).
        check: String,
        /// Also show a real verdict: the shipped cases against the embedded provider with a fault that makes the check fire.
        #[arg(long)]
        example: bool,
    },
    /// Render or merge saved reports.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Baselines of known failures.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Print a JSON Schema: of suites, profiles, project files or `run.json` (for editors and other tools).
    Schema {
        #[arg(value_enum)]
        what: SchemaKind,
    },
    /// Compare two saved runs: regressions, fixes, new and removed cases (exit 1 on regressions).
    Compare {
        old: PathBuf,
        new: PathBuf,
        /// Cases of the old run missing from the new one are not a failure.
        #[arg(long)]
        allow_removed: bool,
    },
    /// Write a starting profile for a provider from its discovery document.
    Init {
        /// The provider's issuer, e.g. https://login.example.com/
        issuer: String,
        /// Where to write the profile.
        #[arg(long, short, default_value = "profile.yaml")]
        output: PathBuf,
        /// Overwrite the file if it exists.
        #[arg(long)]
        force: bool,
        /// Trust the CA certificates in this PEM file too (a private CA).
        #[arg(long, value_name = "PEM")]
        ca_file: Option<PathBuf>,
        /// Run the pre-flight first, with the client and user in the
        /// environment (OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI,
        /// OIDC_USERNAME, OIDC_PASSWORD), and write what it observed as facts.
        #[arg(long)]
        probe: bool,
        /// Also write the project file `oidc-conform.yaml` in the current
        /// directory, naming the profile, so that `oidc-conform run` with no
        /// arguments runs against it.
        #[arg(long)]
        project: bool,
    },
    /// Prove a profile's declarations against its provider before a run trusts
    /// them: each client's authentication and redirect URI (exit 2 when the
    /// provider contradicts one, at its place in the profile).
    Doctor {
        /// The provider profile.
        #[arg(long, value_name = "PROFILE")]
        provider: PathBuf,
        /// Allow secrets over plain http to hosts that are not loopback.
        #[arg(long)]
        allow_http: bool,
    },
    /// Print a shell completion script, e.g. `oidc-conform completions bash > /etc/bash_completion.d/oidc-conform`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `oidc-conform man > oidc-conform.1`; `--dir` writes a page per command.
    Man {
        /// Write `oidc-conform.1` and a page per command (`oidc-conform-run.1`, …) into this directory instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Run the reference provider on its own (to try the tool or write suites).
    Serve {
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 8787)]
        port: u16,
        /// Switch on a fault (repeatable); `--quirk list` prints them.
        #[arg(long = "quirk", value_name = "NAME")]
        quirks: Vec<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Suite files or directories (default: suites/), and at most one FILTER:
    /// an argument that is not an existing path runs only the cases whose id contains it.
    #[arg(value_name = "SUITES|FILTER")]
    pub suites: Vec<PathBuf>,
    /// The project file (default: `oidc-conform.yaml` in the current directory, when there is
    /// one): the profile, suites, filters, baseline, formats, output and run options; a flag
    /// given here wins over the file's value.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Do not read `oidc-conform.yaml` from the current directory.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Provider profile (default: start the embedded reference provider).
    #[arg(long, value_name = "PROFILE")]
    pub provider: Option<PathBuf>,
    /// Switch on a fault of the embedded reference provider (repeatable).
    #[arg(long = "quirk", value_name = "NAME")]
    pub quirks: Vec<String>,
    /// Directory for the reports (default: `reports`).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Cases run at once, 1 to 1024 (default: 8, or the number of CPUs where more).
    #[arg(long, visible_alias = "test-threads", value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Match the filter exactly.
    #[arg(long)]
    pub exact: bool,
    /// Skip cases whose id contains this text (repeatable).
    #[arg(long)]
    pub skip: Vec<String>,
    /// List the cases instead of running them.
    #[arg(long)]
    pub list: bool,
    /// Run only shard K of N (a stable slice of the cases, for CI matrices), e.g. `2/3`;
    /// `auto` reads the CI system's parallelism variables (GitLab's CI_NODE_INDEX/CI_NODE_TOTAL,
    /// Buildkite's, CircleCI's, a Kubernetes Indexed Job's JOB_COMPLETION_INDEX with
    /// OIDC_CONFORM_SHARD_TOTAL, or OIDC_CONFORM_SHARD_INDEX/OIDC_CONFORM_SHARD_TOTAL set by the
    /// workflow, e.g. from GitHub's strategy.job-index and strategy.job-total).
    #[arg(long, value_name = "K/N|auto", value_parser = crate::shard::parse)]
    pub shard: Option<crate::shard::ShardArg>,
    /// Known failures (`{case, check, reason}` entries): the run exits 0 when they are the only ones.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// With a baseline: also exit 1 when baseline entries now pass (stale).
    #[arg(long)]
    pub strict_baseline: bool,
    /// Report formats to write (default: all), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "FORMATS")]
    pub format: Vec<Format>,
    /// Trust the CA certificates in this PEM file too (a private CA).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify TLS certificates. Dangerous; recorded in the report.
    #[arg(long)]
    pub insecure: bool,
    /// Send client secrets and passwords over plain http to hosts that are not loopback.
    #[arg(long)]
    pub allow_http: bool,
    /// At most this many requests to the provider, e.g. `10/s` or `600/m` (with `--jobs` for concurrency).
    #[arg(long, value_name = "N/s")]
    pub rate: Option<crate::flow::http::Rate>,
    /// Run the cases that wait too (`max_age` expiry, code reuse after 30 s); same as `waits: true` in the profile.
    #[arg(long)]
    pub waits: bool,
    /// Which driver gets through login and consent pages (overrides the profile's `login.driver`):
    /// `auto` (the form driver; the browser for pages that need JavaScript), `form`, `browser`.
    #[arg(long, value_enum, value_name = "DRIVER")]
    pub login_driver: Option<crate::login::browser::Driver>,
    /// Every case signs the user in itself. By default, where a sign-in needs the browser
    /// (a JavaScript login), the user signs in once and the cases whose verdict does not rest
    /// on their own sign-in start from that session; each such case's trace says so.
    #[arg(long)]
    pub fresh_sign_ins: bool,
    /// The closing summary lists every failing and warning check of every case, after the
    /// findings, each with the exchange that shows it and a `curl` command that replays it.
    #[arg(long, short)]
    pub verbose: bool,
    /// Do not prove the profile's client declarations against the provider
    /// before the cases (the pre-flight `doctor` runs by default with --provider).
    #[arg(long)]
    pub no_preflight: bool,
    /// Run exactly the cases that failed, errored or did not run (an interrupted
    /// run) in this saved run (`reports/run.json`), by id, out of the suites
    /// selected as usual; every selected case when it never started. Refused
    /// when the saved run is of another provider, profile or suites.
    #[arg(long, value_name = "RUN_JSON")]
    pub rerun_failed: Option<PathBuf>,
    /// With `--rerun-failed`: rerun the saved run's cases even when it is of
    /// another provider, profile or suites (or does not say).
    #[arg(long, requires = "rerun_failed")]
    pub rerun_any_provider: bool,
}

/// An argument written as a path: with a directory separator or a YAML extension.
fn looks_like_path(p: &std::path::Path) -> bool {
    let s = p.to_string_lossy();
    s.contains('/') || s.contains('\\') || s.ends_with(".yaml") || s.ends_with(".yml")
}

/// "no such file", with the closest file of the same directory.
fn missing_path(p: &std::path::Path) -> crate::diag::Diagnostic {
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let hint = match crate::diag::did_you_mean(&name, names.iter().map(String::as_str)) {
        Some(best) => format!("did you mean `{}`?", dir.join(best).display()),
        None if names.is_empty() => format!("`{}` does not exist either", dir.display()),
        None => "pass an existing suite file or directory; an argument without `/` or `.yaml` is a name filter".to_owned(),
    };
    crate::diag::Diagnostic::new(format!("no such suite file or directory: `{}`", p.display())).with_hint(hint)
}

fn parse_jobs(s: &str) -> Result<usize, String> {
    let max = crate::profile::MAX_JOBS;
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{s}` is not a number of cases at once: write a whole number from 1 to {max}"
        )),
    }
}

/// The shard `--shard` names: as written, or read from the CI's variables.
fn resolve_shard(arg: Option<crate::shard::ShardArg>) -> Result<Option<(u32, u32)>, RunError> {
    match arg {
        None => Ok(None),
        Some(crate::shard::ShardArg::Fixed(k, n)) => Ok(Some((k, n))),
        Some(crate::shard::ShardArg::Auto) => {
            let d = crate::shard::detect(|k| std::env::var(k).ok()).map_err(|e| RunError::Input(crate::diag::Diagnostic::new(e).into()))?;
            eprintln!("shard {}/{} (from {})", d.shard.0, d.shard.1, d.from);
            Ok(Some(d.shard))
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ChecksFormat {
    /// A line per check.
    Text,
    /// The catalogue page of the manual: a table per area.
    Markdown,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SchemaKind {
    /// Suite files.
    Suite,
    /// Provider profile files.
    Profile,
    /// Project files (`oidc-conform.yaml`).
    Project,
    /// The report model (`run.json`).
    Report,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Join the reports of several shards into one and render it.
    Merge {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, short, default_value = "reports")]
        output: PathBuf,
        #[arg(long, value_delimiter = ',')]
        format: Vec<Format>,
    },
    /// Render a saved report again.
    Render {
        file: PathBuf,
        #[arg(long, short, default_value = "reports")]
        output: PathBuf,
        #[arg(long, value_delimiter = ',')]
        format: Vec<Format>,
    },
    /// Several saved runs side by side (a provider per column, a check per row,
    /// the per-document conformance of each): `matrix.html` and `matrix.md`.
    Matrix {
        #[arg(required = true, num_args = 2..)]
        files: Vec<PathBuf>,
        #[arg(long, short, default_value = "reports")]
        output: PathBuf,
    },
    /// Print a saved report's closing summary, as `run` prints it: the
    /// conformance statement and the findings.
    Summary {
        file: PathBuf,
        /// Every failing and warning check of every case too, after the findings, with its
        /// exchange and `curl` command.
        #[arg(long, short)]
        verbose: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Write a baseline expecting every failure of a saved run (review the reasons!).
    Write {
        /// The saved run.
        #[arg(long, default_value = "reports/run.json")]
        from: PathBuf,
        /// Where to write the baseline (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// No paths: a local `suites/` directory when there is one, else the built-in suites (none).
fn default_suites(v: Vec<PathBuf>) -> Vec<PathBuf> {
    if !v.is_empty() {
        v
    } else if std::path::Path::new("suites").is_dir() {
        vec![PathBuf::from("suites")]
    } else {
        Vec::new()
    }
}

fn parse_quirks(names: &[String]) -> Result<Vec<Quirk>, RunError> {
    names
        .iter()
        .map(|n| {
            n.parse::<Quirk>().map_err(|e| {
                RunError::Input(
                    crate::diag::Diagnostic::new(format!("{e}"))
                        .with_hint("`oidc-conform serve --quirk list` prints every quirk")
                        .into(),
                )
            })
        })
        .collect()
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    // Standard output that fails (`| head`, `> /dev/full`) never ends a command:
    // every line goes through `output`, which does not panic.
    let cli = Cli::parse();
    crate::color::init(cli.color);
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprint!("{}", crate::color::diagnostics(&e.to_string()));
            if !e.to_string().ends_with('\n') {
                eprintln!();
            }
            e.exit_code()
        }
    }
}

fn dispatch(cli: Cli) -> Result<i32, RunError> {
    match cli.command {
        Command::Run(a) => run::run(&run_options(a)?),
        Command::List { suites, provider } => {
            let profile = bind_profile(provider.as_ref())?;
            for c in run::load_cases(&default_suites(suites), &profile)? {
                crate::outln!("{:<50} {:<18} {}", c.id(), c.flow.as_str(), c.area.as_str());
            }
            Ok(0)
        }
        Command::Validate { files, provider, config } => validate(files, provider, config),
        Command::Checks {
            format: ChecksFormat::Markdown,
        } => {
            crate::out!("{}", crate::docs::checks_markdown());
            Ok(0)
        }
        Command::Checks {
            format: ChecksFormat::Text,
        } => {
            for c in CATALOGUE {
                crate::outln!(
                    "{:<24} {:<13} {:<6} {:<8} {:<22} {}",
                    c.id,
                    c.area.as_str(),
                    c.level.as_str(),
                    c.binds.as_str(),
                    spec::title(c.spec),
                    c.rationale
                );
            }
            Ok(0)
        }
        Command::Explain { check, example } => {
            let def = crate::explain::find(&check).map_err(|why| RunError::Input(crate::diag::Diagnostic::new(why).into()))?;
            crate::out!("{}", crate::explain::explain(def, &crate::explain::aimed_cases(def.id)));
            if example {
                let rt = crate::run::runtime()?;
                match rt.block_on(crate::explain::example(def)) {
                    Ok(Some(text)) => crate::out!("\n{text}"),
                    Ok(None) => {}
                    Err(why) => return Err(RunError::Input(crate::diag::Diagnostic::new(why).into())),
                }
            }
            Ok(0)
        }
        Command::Serve { port, quirks } => serve(port, &quirks),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "oidc-conform", &mut buf);
            crate::out!("{}", String::from_utf8_lossy(&buf));
            Ok(0)
        }
        Command::Man { dir } => man(dir.as_deref()),
        Command::Doctor { provider, allow_http } => doctor(&provider, allow_http),
        Command::Init {
            issuer,
            output,
            force,
            ca_file,
            probe,
            project,
        } => {
            let project_file = std::path::Path::new(crate::project::FILE_NAME);
            if project && project_file.exists() && !force {
                return Err(input_hint(
                    format!("`{}` exists", project_file.display()),
                    "pass `--force` to overwrite it, or leave out `--project`",
                ));
            }
            let ca_pem = match ca_file {
                Some(f) => Some(std::sync::Arc::new(crate::flow::http::read_ca_file(&f).map_err(|why| {
                    RunError::from(
                        crate::diag::Diagnostic::new(why).with_hint("pass a PEM file of CA certificates (`-----BEGIN CERTIFICATE-----`)"),
                    )
                })?)),
                None => None,
            };
            let tls = crate::flow::http::Tls { ca_pem, insecure: false };
            crate::out!("{}", crate::init::init_with(&issuer, &output, force, &tls, probe)?);
            if project {
                let text = crate::project::template(Some(&output.display().to_string()));
                std::fs::write(project_file, text).map_err(|e| input(format!("cannot write `{}`: {e}", project_file.display())))?;
                crate::outln!(
                    "wrote {}: `oidc-conform run` here runs against {}",
                    project_file.display(),
                    output.display()
                );
            }
            Ok(0)
        }
        Command::Report(ReportCommand::Merge { files, output, format }) => {
            let reports = files
                .iter()
                .map(|f| Report::read_json(f))
                .collect::<Result<Vec<_>, _>>()
                .map_err(input)?;
            // The shards' screenshots go next to the merged report, where its run.json says they are.
            for r in &reports {
                if let Some(dir) = &r.source_dir {
                    copy_screenshots(dir, &output)?;
                }
            }
            let mut merged = crate::report::merge(reports).map_err(input)?;
            merged.source_dir = None;
            write_reports(&merged, &output, &format)?;
            Ok(0)
        }
        Command::Report(ReportCommand::Matrix { files, output }) => {
            let reports = files
                .iter()
                .map(|f| Report::read_json(f))
                .collect::<Result<Vec<_>, _>>()
                .map_err(input)?;
            let m = crate::report::matrix::build(&reports);
            let html = crate::report::matrix::render_html(&m).map_err(|e| input(format!("cannot render the matrix: {e}")))?;
            std::fs::create_dir_all(&output).map_err(|e| input(format!("cannot create `{}`: {e}", output.display())))?;
            for (name, text) in [("matrix.html", html), ("matrix.md", crate::report::matrix::render_markdown(&m))] {
                let path = output.join(name);
                std::fs::write(&path, text).map_err(|e| input(format!("cannot write `{}`: {e}", path.display())))?;
                crate::outln!("report: {}", path.display());
            }
            Ok(0)
        }
        Command::Report(ReportCommand::Summary { file, verbose }) => {
            let report = Report::read_json(&file).map_err(input)?;
            crate::out!("{}", crate::color::summary(&crate::report::console::summary(&report, verbose)));
            Ok(0)
        }
        Command::Report(ReportCommand::Render { file, output, format }) => {
            let mut report = Report::read_json(&file).map_err(input)?;
            if let Some(dir) = report.source_dir.take() {
                copy_screenshots(&dir, &output)?;
            }
            write_reports(&report, &output, &format)?;
            Ok(0)
        }
        Command::Baseline(BaselineCommand::Write { from, output }) => {
            let report = Report::read_json(&from).map_err(input)?;
            let text = crate::report::baseline::to_yaml(&crate::report::baseline::from_report(&report));
            match output {
                Some(path) => {
                    std::fs::write(&path, text).map_err(|e| input(format!("cannot write `{}`: {e}", path.display())))?;
                    eprintln!("baseline written to {}: review every reason before committing it", path.display());
                }
                None => crate::out!("{text}"),
            }
            Ok(0)
        }
        Command::Schema { what } => {
            let schema = match what {
                SchemaKind::Suite => crate::suite::json_schema(),
                SchemaKind::Profile => crate::profile::json_schema(),
                SchemaKind::Project => crate::project::json_schema(),
                SchemaKind::Report => crate::report::json_schema(),
            };
            crate::outln!("{}", serde_json::to_string_pretty(&schema).unwrap_or_default());
            Ok(0)
        }
        Command::Compare { old, new, allow_removed } => {
            let (a, b) = (Report::read_json(&old).map_err(input)?, Report::read_json(&new).map_err(input)?);
            let cmp = crate::report::compare::compare(&a, &b);
            crate::out!("{}", cmp.render());
            Ok(cmp.exit_code(allow_removed))
        }
    }
}

fn input(msg: impl Into<String>) -> RunError {
    RunError::Input(crate::diag::Diagnostic::new(msg).into())
}

fn input_hint(msg: impl Into<String>, hint: impl Into<String>) -> RunError {
    RunError::Input(crate::diag::Diagnostic::new(msg).with_hint(hint).into())
}

/// The run's options: the project file's settings (`--config`, or
/// `oidc-conform.yaml` here), with every flag given on the command line winning.
fn run_options(a: Box<RunArgs>) -> Result<RunOptions, RunError> {
    let a = *a;
    use crate::project::{self, ProfileRef, Project};
    let found = if a.no_config {
        None
    } else {
        project::find(a.config.as_deref(), std::path::Path::new("."))?
    };
    let file = match &found {
        Some(path) => {
            let p = project::load(path)?;
            eprintln!("project file: {}", path.display());
            p
        }
        None => Project {
            preflight: true,
            ..Project::default()
        },
    };
    // libtest style: an argument that is not a path is the name filter.
    let (suites, filters): (Vec<PathBuf>, Vec<PathBuf>) = a.suites.into_iter().partition(|p| p.exists());
    // A path that does not exist is a mistake, not a filter that runs nothing.
    if let Some(missing) = filters.iter().find(|p| looks_like_path(p)) {
        return Err(RunError::Input(missing_path(missing).into()));
    }
    if filters.len() > 1 {
        let names: Vec<String> = filters.iter().map(|p| p.display().to_string()).collect();
        return Err(input_hint(
            format!("more than one filter, or suite paths that do not exist: {}", names.join(", ")),
            "pass existing suite files or directories, and at most one name filter",
        ));
    }
    let filter = filters.into_iter().next().map(|p| p.display().to_string()).or(file.filter);
    let rerun = match &a.rerun_failed {
        Some(path) => Some(run::Rerun::read(path, a.rerun_any_provider)?),
        None => None,
    };
    let suites = if !suites.is_empty() { suites } else { default_suites(file.suites) };
    let (provider, inline_profile) = match (a.provider.clone(), file.profile) {
        (Some(flag), _) => (Some(flag), None),
        (None, Some(ProfileRef::File(f))) => (Some(f), None),
        (None, Some(ProfileRef::Inline(src))) => (Some(file.path.clone()), Some(src)),
        (None, None) => (None, None),
    };
    // The file's quirks are the embedded provider's: `--provider` leaves them out.
    let quirks = if !a.quirks.is_empty() {
        parse_quirks(&a.quirks)?
    } else if a.provider.is_some() {
        Vec::new()
    } else {
        file.quirks
    };
    let baseline = a.baseline.or(file.baseline);
    let strict_baseline = a.strict_baseline || file.strict_baseline;
    if strict_baseline && baseline.is_none() {
        return Err(input_hint(
            "--strict-baseline without a baseline",
            "pass `--baseline FILE` (or set `baseline:` in the project file)",
        ));
    }
    Ok(RunOptions {
        suites,
        provider,
        inline_profile,
        quirks,
        output: a.output.or(file.output).unwrap_or_else(|| PathBuf::from("reports")),
        jobs: a.jobs.or(file.jobs),
        filter,
        exact: a.exact || file.exact,
        skip: if a.skip.is_empty() { file.skip } else { a.skip },
        list: a.list,
        shard: resolve_shard(a.shard.or(file.shard))?,
        baseline,
        strict_baseline,
        formats: if a.format.is_empty() { file.formats } else { a.format },
        ca_file: a.ca_file.or(file.ca_file),
        insecure: a.insecure,
        allow_http: a.allow_http,
        rate: a.rate.or(file.rate),
        waits: a.waits || file.waits,
        login_driver: a.login_driver.or(file.login_driver),
        fresh_sign_ins: a.fresh_sign_ins || file.fresh_sign_ins,
        verbose: a.verbose || file.verbose,
        no_preflight: a.no_preflight || !file.preflight,
        rerun,
    })
}

/// Copies a saved run's `screenshots/` into `output` (where the run.json written
/// there says they are); nothing when the run has none or it is the same directory.
fn copy_screenshots(from: &std::path::Path, output: &std::path::Path) -> Result<(), RunError> {
    let src = from.join("screenshots");
    let Ok(entries) = std::fs::read_dir(&src) else { return Ok(()) };
    let dst = output.join("screenshots");
    if std::fs::canonicalize(&src).ok() == std::fs::canonicalize(&dst).ok() {
        return Ok(());
    }
    std::fs::create_dir_all(&dst).map_err(|e| input(format!("cannot create `{}`: {e}", dst.display())))?;
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "png") && path.is_file() {
            let to = dst.join(e.file_name());
            std::fs::copy(&path, &to).map_err(|err| input(format!("cannot copy `{}` to `{}`: {err}", path.display(), to.display())))?;
        }
    }
    Ok(())
}

fn write_reports(report: &Report, output: &std::path::Path, format: &[Format]) -> Result<(), RunError> {
    let formats = if format.is_empty() { Format::ALL } else { format };
    for path in report
        .write_all(output, formats)
        .map_err(|e| input(format!("cannot write into `{}`: {e}", output.display())))?
    {
        crate::outln!("report: {}", path.display());
    }
    Ok(())
}

fn bind_profile(provider: Option<&PathBuf>) -> Result<crate::profile::Profile, RunError> {
    Ok(match provider {
        Some(p) => crate::profile::load(p)?,
        None => run::reference_profile("http://127.0.0.1:8787")?,
    })
}

/// `validate`: project files, then profiles (suites are bound to one), then suites.
fn validate(files: Vec<PathBuf>, provider: Option<PathBuf>, config: Option<PathBuf>) -> Result<i32, RunError> {
    let mut projects: Vec<PathBuf> = Vec::new();
    if let Some(c) = config {
        projects.extend(crate::project::find(Some(&c), std::path::Path::new("."))?);
    } else if files.is_empty() {
        projects.extend(crate::project::find(None, std::path::Path::new("."))?);
    }
    let mut diags = Diagnostics::default();
    if files.is_empty() && !projects.is_empty() {
        for p in &projects {
            validate_project(p, &mut diags)?;
        }
        return Ok(finish_validate(diags));
    }
    let files = default_suites(files);
    if files.is_empty() {
        // The built-in suites.
        let profile = bind_profile(provider.as_ref())?;
        return match run::load_cases(&[], &profile) {
            Ok(cases) => {
                crate::outln!("ok: the built-in suites ({} cases)", cases.len());
                Ok(finish_validate(diags))
            }
            Err(d) => {
                eprintln!("{d}");
                Ok(2)
            }
        };
    }
    let given = files.clone();
    let files = crate::suite::discover(&files)?;
    if files.is_empty() {
        let shown: Vec<String> = given.iter().map(|p| format!("`{}`", p.display())).collect();
        return Err(RunError::Input(
            crate::diag::Diagnostic::new(format!("no YAML files in {}", shown.join(", ")))
                .with_hint("suites and profiles are `*.yaml` or `*.yml` files")
                .into(),
        ));
    }
    let mut profiles = Vec::new();
    let mut suites = Vec::new();
    let (named, files): (Vec<PathBuf>, Vec<PathBuf>) = files.into_iter().partition(|f| crate::project::is_project_file(f));
    projects.extend(named);
    for p in &projects {
        validate_project(p, &mut diags)?;
    }
    for f in files {
        let src = Source::read(&f)?;
        // A profile names an issuer at the top level; a suite names its suite.
        if src.text.lines().any(|l| l.starts_with("issuer:")) {
            profiles.push(f);
        } else {
            suites.push(f);
        }
    }
    for p in &profiles {
        match crate::profile::load(p) {
            Ok(_) => crate::outln!("ok: {} (profile)", p.display()),
            Err(d) => diags.0.extend(d.0),
        }
    }
    let profile = match bind_profile(provider.as_ref()) {
        Ok(p) => Some(p),
        Err(RunError::Input(d)) => {
            diags.0.extend(d.0);
            None
        }
        Err(e) => return Err(e),
    };
    // One `suite:` name per file: case ids are `suite::case`.
    let mut names: std::collections::BTreeMap<String, Source> = std::collections::BTreeMap::new();
    let mut doubled = std::collections::BTreeSet::new();
    for f in &suites {
        if let Ok(parsed) = crate::suite::load(f) {
            match names.get(&parsed.raw.suite) {
                Some(first) => {
                    diags.push(crate::suite::duplicate_name(&parsed.raw.suite, first, &parsed.source));
                    doubled.insert(f.clone());
                }
                None => {
                    names.insert(parsed.raw.suite.clone(), parsed.source);
                }
            }
        }
    }
    if let Some(profile) = profile {
        for s in &suites {
            match run::load_cases(std::slice::from_ref(s), &profile) {
                Ok(_) if doubled.contains(s) => {}
                Ok(cases) => crate::outln!("ok: {} ({} cases)", s.display(), cases.len()),
                Err(d) => diags.0.extend(d.0),
            }
        }
    }
    Ok(finish_validate(diags))
}

/// `validate`'s verdict: 0, or the diagnostics on standard error and 2.
fn finish_validate(diags: Diagnostics) -> i32 {
    if diags.is_empty() {
        return 0;
    }
    let n = diags.0.len();
    eprintln!(
        "{}\n{n} problem{} found",
        crate::color::diagnostics(&diags.to_string()),
        if n == 1 { "" } else { "s" }
    );
    2
}

/// A project file with what it names: its profile (a file, inline, or the
/// embedded provider's), its baseline, and its suites bound to the profile.
fn validate_project(path: &std::path::Path, diags: &mut Diagnostics) -> Result<(), RunError> {
    use crate::project::ProfileRef;
    let project = match crate::project::load(path) {
        Ok(p) => p,
        Err(d) => {
            diags.0.extend(d.0);
            return Ok(());
        }
    };
    let profile = match &project.profile {
        None => run::reference_profile("http://127.0.0.1:8787"),
        Some(ProfileRef::File(f)) => crate::profile::load(f),
        Some(ProfileRef::Inline(src)) => crate::profile::parse(src),
    };
    let profile = match profile {
        Ok(p) => p,
        Err(d) => {
            diags.0.extend(d.0);
            return Ok(());
        }
    };
    if let Some(b) = &project.baseline
        && let Err(d) = crate::report::baseline::load(b)
    {
        diags.0.extend(d.0);
    }
    match run::load_cases(&default_suites(project.suites.clone()), &profile) {
        Ok(cases) => {
            let against = match &project.profile {
                None => "the embedded reference provider".to_owned(),
                Some(ProfileRef::File(f)) => format!("profile {}", f.display()),
                Some(ProfileRef::Inline(_)) => "its inline profile".to_owned(),
            };
            crate::outln!("ok: {} (project file: {} cases, {against})", path.display(), cases.len());
        }
        Err(d) => diags.0.extend(d.0),
    }
    Ok(())
}

/// `doctor`: each declaration of the profile with what the provider showed;
/// exit 2 when the provider contradicts one.
fn doctor(path: &std::path::Path, allow_http: bool) -> Result<i32, RunError> {
    let profile = crate::profile::load(path)?;
    let rt = run::runtime()?;
    let mut tls = crate::flow::http::Tls::default();
    if let Some(ca) = &profile.ca_file {
        let pem = crate::flow::http::read_ca_file(ca).map_err(|why| RunError::from(crate::diag::Diagnostic::new(why)))?;
        tls.ca_pem = Some(std::sync::Arc::new(pem));
    }
    let provider = rt
        .block_on(crate::flow::Provider::connect(profile, tls, allow_http, None))
        .map_err(|e| RunError::Provider(crate::secret::scrub(&format!("provider `{}`: {e}", path.display()))))?;
    let lines = rt.block_on(crate::doctor::check(&provider));
    for l in &lines {
        let (mark, why) = match &l.finding {
            crate::doctor::Finding::Proven(w) => ("ok  ", w.clone()),
            crate::doctor::Finding::Contradicted { what, .. } => ("FAIL", what.clone()),
            crate::doctor::Finding::NotProven(w) => ("??  ", format!("not proven: {w}")),
        };
        crate::outln!(
            "{mark} {}: {}",
            crate::report::escape_controls(&l.declaration),
            crate::report::escape_controls(&crate::secret::scrub(&why))
        );
    }
    let diags = crate::doctor::diagnostics(&lines, Some(path));
    if diags.is_empty() {
        crate::outln!("the provider agrees with every declaration it was asked about");
        return Ok(0);
    }
    eprintln!("{diags}");
    Ok(2)
}

/// `man`: the manual page on standard output, or a page per command in `dir`.
fn man(dir: Option<&std::path::Path>) -> Result<i32, RunError> {
    let cmd = <Cli as clap::CommandFactory>::command();
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| input(format!("cannot create `{}`: {e}", dir.display())))?;
            clap_mangen::generate_to(cmd, dir)
                .map_err(|e| input(format!("cannot write the manual pages into `{}`: {e}", dir.display())))?;
            crate::outln!("manual pages written to {}", dir.display());
        }
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut buf)
                .map_err(|e| input(format!("cannot render the manual page: {e}")))?;
            crate::out!("{}", String::from_utf8_lossy(&buf));
        }
    }
    Ok(0)
}

fn serve(port: u16, quirks: &[String]) -> Result<i32, RunError> {
    if quirks.iter().any(|q| q == "list") {
        for q in Quirk::ALL {
            crate::outln!("{:<34} {}", q.name(), q.description());
        }
        return Ok(0);
    }
    let quirks = parse_quirks(quirks)?;
    let rt = run::runtime()?;
    rt.block_on(async {
        let config = reference::Config {
            port,
            quirks: quirks.iter().copied().collect(),
            ..reference::Config::default()
        };
        let rp = ReferenceProvider::start(config)
            .await
            .map_err(|e| RunError::Provider(format!("cannot start the reference provider: {e}")))?;
        crate::outln!("reference provider listening; issuer: {}", rp.issuer());
        crate::outln!("profile: {} (issuer {})", run::REFERENCE_PROFILE_PATH, rp.issuer());
        if !quirks.is_empty() {
            crate::outln!("quirks: {}", quirks.iter().map(|q| q.name()).collect::<Vec<_>>().join(", "));
        }
        crate::outln!("press Ctrl-C to stop");
        let _ = tokio::signal::ctrl_c().await;
        rp.shutdown().await;
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
