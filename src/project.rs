//! The project file, `oidc-conform.yaml`: what `run` does in this directory —
//! the provider profile (a path, or the profile inline), the suites and
//! filters, the baseline, the report formats and directory, and the run
//! options. `run` reads it from the current directory (or `--config FILE`);
//! a flag on the command line wins over the file's value.
//!
//! The file is loaded like suites and profiles: YAML with positions, so every
//! mistake is a [`Diagnostic`] at `file:line:col` with a hint. Relative paths
//! are relative to the file's directory.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::diag::{Diagnostic, Diagnostics, Pos, Source};
use crate::flow::http::Rate;
use crate::login::browser::Driver;
use crate::reference::Quirk;
use crate::report::Format;
use crate::shard::ShardArg;

/// The name `run` and `validate` look for in the current directory.
pub const FILE_NAME: &str = "oidc-conform.yaml";

/// Whether `path` is named as a project file: `oidc-conform.yaml` (or `.yml`),
/// or `NAME.oidc-conform.yaml` for a second project in one directory.
pub fn is_project_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    ["oidc-conform.yaml", "oidc-conform.yml"]
        .iter()
        .any(|base| name == *base || name.ends_with(&format!(".{base}")))
}

// ---------------------------------------------------------------- raw YAML

/// The project file `oidc-conform.yaml`: what `oidc-conform run` does in its
/// directory. Every key is optional; a command-line flag wins over the key it
/// matches. Relative paths are relative to this file's directory.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawProject {
    /// The provider profile: a path to a profile file, or the profile itself
    /// written here as a mapping. Absent: the embedded reference provider.
    /// `--provider` wins.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    profile: Option<Spanned<ProfileValue>>,
    /// Faults of the embedded reference provider to switch on (only without
    /// `profile`). `--quirk` wins.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    quirks: Vec<Spanned<String>>,
    /// Suite files or directories. Absent: a `suites/` directory of the
    /// current directory, else the built-in suites. Suite paths on the
    /// command line win.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    suites: Vec<Spanned<String>>,
    /// Run only the cases whose id contains this text. A filter on the
    /// command line wins.
    #[serde(default)]
    filter: Option<String>,
    /// Match `filter` exactly.
    #[serde(default)]
    exact: bool,
    /// Skip the cases whose id contains any of these texts. `--skip` wins.
    #[serde(default)]
    skip: Vec<String>,
    /// Known failures (`{case, check, reason}` entries): the run exits 0 when
    /// they are the only ones. `--baseline` wins.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    baseline: Option<Spanned<String>>,
    /// With `baseline`: also fail when baseline entries now pass (stale).
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    strict_baseline: Option<Spanned<bool>>,
    /// Directory for the reports (default: `reports`). `--output` wins.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    output: Option<Spanned<String>>,
    /// Report formats to write (default: all). `--format` wins.
    #[serde(default)]
    formats: Vec<FormatName>,
    /// Cases run at once, 1 to 1024 (default: 8, or the number of CPUs where more). `--jobs` wins.
    #[serde(default)]
    #[schemars(with = "Option<u64>")]
    jobs: Option<Spanned<u64>>,
    /// Run only shard `K/N` of the cases, or `auto` (from the CI system's
    /// variables). `--shard` wins.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    shard: Option<Spanned<String>>,
    /// At most this many requests to the provider, e.g. `10/s` or `600/m`. `--rate` wins.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    rate: Option<Spanned<String>>,
    /// Run the cases that wait too (`max_age` expiry, code reuse after 30 s).
    #[serde(default)]
    waits: bool,
    /// Which driver gets through login and consent pages: `auto`, `form` or
    /// `browser` (overrides the profile's `login.driver`). `--login-driver` wins.
    #[serde(default)]
    login_driver: Option<Driver>,
    /// Every case signs the user in itself, never through the run's shared
    /// session (used where sign-ins need the browser). `--fresh-sign-ins` too.
    #[serde(default)]
    fresh_sign_ins: bool,
    /// Prove the profile's client declarations before the cases (default:
    /// true). `--no-preflight` turns it off.
    #[serde(default)]
    preflight: Option<bool>,
    /// Trust the CA certificates in this PEM file too (a private CA). `--ca-file` wins.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    ca_file: Option<Spanned<String>>,
    /// The closing summary lists every failing check of every case.
    #[serde(default)]
    verbose: bool,
}

/// A report format, as the file names it.
#[derive(Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum FormatName {
    /// `run.json`, the report model every other format is rendered from.
    Json,
    /// `junit.xml` for CI systems.
    Junit,
    /// `report.html`, self-contained.
    Html,
    /// `summary.md` for pull requests and release notes.
    #[serde(alias = "md")]
    Markdown,
}

impl From<FormatName> for Format {
    fn from(f: FormatName) -> Format {
        match f {
            FormatName::Json => Format::Json,
            FormatName::Junit => Format::Junit,
            FormatName::Html => Format::Html,
            FormatName::Markdown => Format::Markdown,
        }
    }
}

/// `profile:` as written: a path, or a mapping (read again as a profile).
enum ProfileValue {
    Path(String),
    Inline,
}

impl<'de> Deserialize<'de> for ProfileValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ProfileValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a path to a profile file, or a profile mapping")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ProfileValue, E> {
                Ok(ProfileValue::Path(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ProfileValue, A::Error> {
                while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                Ok(ProfileValue::Inline)
            }
        }
        d.deserialize_any(V)
    }
}

/// The project file `init --project` writes: the profile (or, without one,
/// the embedded reference provider) and every other setting commented out
/// at its default.
pub fn template(profile: Option<&str>) -> String {
    let profile = match profile {
        Some(p) => format!("profile: {}\n", yaml_scalar(p)),
        None => "# profile: profile.yaml          # default: the embedded reference provider\n".to_owned(),
    };
    format!(
        "# oidc-conform.yaml: what `oidc-conform run` does in this directory.
# A flag on the command line wins over the value here; paths are relative to
# this file. `oidc-conform validate` checks it; `oidc-conform schema project`
# prints its JSON Schema.
{profile}# suites: [suites/]               # default: suites/ here, else the built-in suites
# filter: \"basics::\"             # only the cases whose id contains this (quoted: it ends in `:`)
# skip: [negative::code-reuse-30s]
# baseline: baseline.yaml          # known failures, reviewed
# strict_baseline: true            # fail when a baseline entry now passes
output: reports
# formats: [json, junit, html, markdown]
# jobs: 4
# shard: auto                      # or 2/3
# rate: 10/s
# waits: false
# login_driver: auto               # form, browser
# fresh_sign_ins: false            # true: no shared browser session
# preflight: true
"
    )
}

/// `s` as a YAML scalar: plain when that reads back as the same text.
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c)) && !s.starts_with(['-', '.']);
    if plain {
        s.to_owned()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

// ---------------------------------------------------------------- loaded

/// Where the project's profile is.
#[derive(Clone, Debug)]
pub enum ProfileRef {
    /// A profile file (resolved against the project file's directory).
    File(PathBuf),
    /// The profile written in the project file: a source with the project
    /// file's path whose other lines are blank, so positions are the file's.
    Inline(Source),
}

/// A loaded project file, its paths resolved against its directory.
#[derive(Clone, Debug, Default)]
pub struct Project {
    pub path: PathBuf,
    pub profile: Option<ProfileRef>,
    pub quirks: Vec<Quirk>,
    pub suites: Vec<PathBuf>,
    pub filter: Option<String>,
    pub exact: bool,
    pub skip: Vec<String>,
    pub baseline: Option<PathBuf>,
    pub strict_baseline: bool,
    pub output: Option<PathBuf>,
    pub formats: Vec<Format>,
    pub jobs: Option<usize>,
    pub shard: Option<ShardArg>,
    pub rate: Option<Rate>,
    pub waits: bool,
    pub login_driver: Option<Driver>,
    pub fresh_sign_ins: bool,
    pub preflight: bool,
    pub ca_file: Option<PathBuf>,
    pub verbose: bool,
}

/// The JSON Schema of project files (for editor completion and validation):
/// `profile` is a path or a profile, whose schema is the profile's.
pub fn json_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(RawProject)).unwrap_or_default();
    let mut profile = crate::profile::json_schema();
    let defs = profile.as_object_mut().and_then(|p| p.remove("$defs"));
    if let Some(p) = profile.as_object_mut() {
        p.remove("$schema");
    }
    if let Some(root) = schema.as_object_mut() {
        let all = root.entry("$defs").or_insert_with(|| serde_json::json!({}));
        if let (Some(all), Some(serde_json::Value::Object(defs))) = (all.as_object_mut(), defs) {
            all.extend(defs);
            all.insert("Profile".into(), profile);
        }
    }
    if let Some(p) = schema.pointer_mut("/properties/profile") {
        let description = p.get("description").cloned().unwrap_or_default();
        *p = serde_json::json!({
            "description": description,
            "anyOf": [{ "type": "string" }, { "$ref": "#/$defs/Profile" }, { "type": "null" }],
        });
    }
    schema
}

/// Finds the project file: `--config FILE` (which must exist), else
/// `oidc-conform.yaml` in `dir` when there is one.
pub fn find(config: Option<&Path>, dir: &Path) -> Result<Option<PathBuf>, Diagnostic> {
    if let Some(path) = config {
        if path.is_file() {
            return Ok(Some(path.to_owned()));
        }
        return Err(missing(path));
    }
    let at = |name: &str| {
        if dir == Path::new(".") {
            PathBuf::from(name)
        } else {
            dir.join(name)
        }
    };
    let found: Vec<PathBuf> = [FILE_NAME, "oidc-conform.yml"]
        .into_iter()
        .map(at)
        .filter(|p| p.is_file())
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => Err(Diagnostic::new(format!(
            "two project files here: `{}` and `{}`",
            found[0].display(),
            found[1].display()
        ))
        .with_hint("keep one of them, or name the one to use with `--config FILE`")),
    }
}

/// "no such project file", with the closest name in its directory.
fn missing(path: &Path) -> Diagnostic {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let what = if path.is_dir() {
        "is a directory, not a project file"
    } else {
        "does not exist"
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let names = yaml_names(dir);
    let hint = match crate::diag::did_you_mean(&name, names.iter().map(String::as_str)) {
        Some(best) if best != name => format!("did you mean `{}`?", path.with_file_name(best).display()),
        _ => format!("pass the path of a project file, or write one with `oidc-conform init ISSUER --project` (it is named `{FILE_NAME}`)"),
    };
    Diagnostic::new(format!("the project file `{}` {what}", path.display())).with_hint(hint)
}

fn yaml_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
                .collect()
        })
        .unwrap_or_default()
}

/// Loads a project file.
pub fn load(path: &Path) -> Result<Project, Diagnostics> {
    let source = Source::read(path)?;
    parse(&source)
}

/// Parses a project file already read; every problem at its place.
pub fn parse(source: &Source) -> Result<Project, Diagnostics> {
    let raw: RawProject = crate::diag::parse_yaml(source)?;
    let mut diags = Diagnostics::default();
    let base = source.path.parent().unwrap_or(Path::new("")).to_path_buf();
    let at = |s: &Spanned<String>| value_pos(source, s);
    let len = |s: &Spanned<String>| s.value.chars().count().max(1);
    // A path of the file: relative to the file's directory; `must_exist`: `file` or `dir`.
    let path = |s: &Spanned<String>, what: &str, kind: PathKind, diags: &mut Diagnostics| -> Option<PathBuf> {
        if s.value.trim().is_empty() {
            diags.push(
                source
                    .error_at(at(s), 1, format!("`{what}` is empty"))
                    .with_hint(format!("write the path of the {}, relative to this file", kind.noun())),
            );
            return None;
        }
        let p = base.join(&s.value);
        let ok = match kind {
            PathKind::Output => true,
            PathKind::File => p.is_file(),
            PathKind::FileOrDir => p.exists(),
        };
        if ok {
            return Some(p);
        }
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let names: Vec<String> = std::fs::read_dir(dir)
            .map(|e| {
                e.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let hint = match crate::diag::did_you_mean(&name, names.iter().map(String::as_str)) {
            Some(best) => {
                let written = Path::new(&s.value)
                    .parent()
                    .map(|d| d.join(best))
                    .unwrap_or_else(|| PathBuf::from(best));
                format!(
                    "did you mean `{}`? (paths are relative to this file's directory)",
                    written.display()
                )
            }
            None => format!("write the path of an existing {}, relative to this file's directory", kind.noun()),
        };
        let found = if p.exists() { "is not a file" } else { "does not exist" };
        diags.push(
            source
                .error_at(at(s), len(s), format!("{what} `{}` {found}", s.value))
                .with_hint(hint),
        );
        None
    };

    let profile = match &raw.profile {
        None => None,
        Some(s) => match &s.value {
            ProfileValue::Path(p) => {
                let spanned = Spanned::new(p.clone(), s.referenced, s.defined);
                path(&spanned, "profile", PathKind::File, &mut diags).map(ProfileRef::File)
            }
            ProfileValue::Inline => Some(ProfileRef::Inline(inline_source(source, crate::profile::spanned_pos(s)))),
        },
    };
    let mut quirks = Vec::new();
    for q in &raw.quirks {
        match q.value.parse::<Quirk>() {
            Ok(quirk) => quirks.push(quirk),
            Err(_) => {
                let names: Vec<&str> = Quirk::ALL.iter().map(|q| q.name()).collect();
                let hint = match crate::diag::did_you_mean(&q.value, names) {
                    Some(best) => format!("did you mean `{best}`? (`oidc-conform serve --quirk list` prints every quirk)"),
                    None => "`oidc-conform serve --quirk list` prints every quirk".to_owned(),
                };
                diags.push(
                    source
                        .error_at(at(q), len(q), format!("unknown quirk `{}`", q.value))
                        .with_hint(hint),
                );
            }
        }
    }
    if let (Some(first), Some(_)) = (raw.quirks.first(), &raw.profile) {
        diags.push(
            source
                .error_at(at(first), len(first), "`quirks` apply to the embedded reference provider only")
                .with_hint("remove `profile` to run against the embedded provider, or remove `quirks`"),
        );
    }
    let suites = raw
        .suites
        .iter()
        .filter_map(|s| path(s, "suite path", PathKind::FileOrDir, &mut diags))
        .collect();
    let baseline = raw.baseline.as_ref().and_then(|b| path(b, "baseline", PathKind::File, &mut diags));
    if let (Some(strict), None) = (&raw.strict_baseline, &raw.baseline)
        && strict.value
    {
        diags.push(
            source
                .error_at(crate::profile::spanned_pos(strict), 4, "`strict_baseline` without a `baseline`")
                .with_hint("add `baseline: FILE` (or remove `strict_baseline`)"),
        );
    }
    let output = raw.output.as_ref().and_then(|o| path(o, "output", PathKind::Output, &mut diags));
    let ca_file = raw.ca_file.as_ref().and_then(|c| path(c, "ca_file", PathKind::File, &mut diags));
    let jobs = raw.jobs.as_ref().and_then(|j| {
        let max = crate::profile::MAX_JOBS as u64;
        if (1..=max).contains(&j.value) {
            Some(j.value as usize)
        } else {
            diags.push(
                source
                    .error_at(
                        crate::profile::spanned_pos(j),
                        j.value.to_string().len(),
                        format!("`jobs` is {}", j.value),
                    )
                    .with_hint(format!("write a whole number from 1 to {max}")),
            );
            None
        }
    });
    let shard = raw.shard.as_ref().and_then(|s| match crate::shard::parse(&s.value) {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(
                source
                    .error_at(at(s), len(s), e)
                    .with_hint("e.g. `shard: 2/3`, or `shard: auto` in a CI job with parallelism"),
            );
            None
        }
    });
    let rate = raw.rate.as_ref().and_then(|r| match r.value.parse::<Rate>() {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(source.error_at(at(r), len(r), e).with_hint("e.g. `rate: 10/s` or `rate: 600/m`"));
            None
        }
    });
    let project = Project {
        path: source.path.clone(),
        profile,
        quirks,
        suites,
        filter: raw.filter.filter(|f| !f.is_empty()),
        exact: raw.exact,
        skip: raw.skip,
        baseline,
        strict_baseline: raw.strict_baseline.is_some_and(|s| s.value),
        output,
        formats: raw.formats.into_iter().map(Format::from).collect(),
        jobs,
        shard,
        rate,
        waits: raw.waits,
        login_driver: raw.login_driver,
        fresh_sign_ins: raw.fresh_sign_ins,
        preflight: raw.preflight.unwrap_or(true),
        ca_file,
        verbose: raw.verbose,
    };
    diags.0.sort_by_key(|d| d.pos);
    diags.into_result(project)
}

#[derive(Clone, Copy)]
enum PathKind {
    File,
    FileOrDir,
    Output,
}

impl PathKind {
    fn noun(self) -> &'static str {
        match self {
            PathKind::File => "file",
            PathKind::FileOrDir => "file or directory",
            PathKind::Output => "directory",
        }
    }
}

/// Where a scalar's text starts (a quoted one: at its quote).
fn value_pos(source: &Source, s: &Spanned<String>) -> Option<Pos> {
    crate::profile::value_pos(source, s)
}

/// The inline profile as a source of its own: the project file's path and
/// text with every line outside the `profile:` value blanked (and the key
/// before a value on its line replaced by spaces), so a diagnostic's
/// `file:line:col` is the project file's.
fn inline_source(source: &Source, start: Option<Pos>) -> Source {
    let start = start.unwrap_or(Pos { line: 1, col: 1 });
    let mut out = String::with_capacity(source.text.len());
    let mut inside = false;
    let mut done = false;
    for (i, line) in source.text.lines().enumerate() {
        let n = i as u32 + 1;
        if n == start.line {
            inside = true;
            let skip = start.col.saturating_sub(1) as usize;
            out.extend(line.chars().enumerate().map(|(j, c)| if j < skip { ' ' } else { c }));
        } else if inside && !done {
            // The value ends at the next top-level key.
            let top_level = line.chars().next().is_some_and(|c| !c.is_whitespace() && c != '#');
            if top_level {
                done = true;
            } else {
                out.push_str(line);
            }
        }
        out.push('\n');
    }
    Source::new(source.path.clone(), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Project, Diagnostics> {
        parse(&Source::new("p/oidc-conform.yaml", text))
    }

    #[test]
    fn an_inline_profile_keeps_the_file_positions() {
        let text = "output: out\nprofile:\n  name: x\n  issuer: https://a.example/\nformats: [json]\n";
        let p = parse_text(text).unwrap();
        let Some(ProfileRef::Inline(src)) = p.profile else {
            panic!("inline")
        };
        assert_eq!(src.text, "\n\n  name: x\n  issuer: https://a.example/\n\n");
        let flow = "profile: { name: x,\n  issuer: y }\njobs: 2\n";
        let p = parse_text(flow).unwrap();
        let Some(ProfileRef::Inline(src)) = p.profile else {
            panic!("inline")
        };
        assert_eq!(src.text, "         { name: x,\n  issuer: y }\n\n", "{:?}", src.text);
    }

    #[test]
    fn values_are_checked_at_their_place() {
        let e = parse_text("jobs: 0\nshard: 4/3\nrate: fast\nquirks: [no-such-quirk]\n").unwrap_err();
        let text = e.to_string();
        for want in [":1:7", ":2:8", ":3:7", ":4:10", "not a shard", "not a rate"] {
            assert!(text.contains(want), "{want} in {text}");
        }
        let e = parse_text("formats: [jsn]\n").unwrap_err().to_string();
        assert!(e.contains("did you mean `json`"), "{e}");
        let e = parse_text("jbos: 2\n").unwrap_err().to_string();
        assert!(e.contains("unknown key `jbos`") && e.contains("did you mean `jobs`"), "{e}");
    }

    #[test]
    fn the_template_loads() {
        let p = parse_text(&template(None)).unwrap();
        assert_eq!(p.output, Some(PathBuf::from("p/reports")));
        assert!(p.profile.is_none() && p.preflight);
        assert_eq!(yaml_scalar("a b: c"), "\"a b: c\"");
        assert_eq!(yaml_scalar("profiles/acme.yaml"), "profiles/acme.yaml");
    }

    #[test]
    fn project_files_are_known_by_name() {
        assert!(is_project_file(Path::new("a/oidc-conform.yaml")));
        assert!(is_project_file(Path::new("staging.oidc-conform.yml")));
        assert!(!is_project_file(Path::new("profile.yaml")));
    }
}
