//! Suites: YAML files of cases, each an authorization request and what the
//! resulting tokens must (or must not) contain.
//!
//! Loading has two steps. [`load`] parses a file and checks its shape (unknown
//! keys, wrong types), with `file:line:col` for every problem. [`expand`] binds a
//! parsed suite to a provider [`Profile`]: it resolves client, user and API
//! references and `${…}` variables into runnable [`Case`]s.

mod model;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use serde_saphyr::Spanned;

use crate::diag::{Diagnostic, Diagnostics, Source, did_you_mean};
use crate::profile::{Profile, spanned_pos, var_diagnostic};
use crate::vars;

pub use model::{Area, Flow, Misuse, RawSuite, UserinfoMethod};
use model::{RawCase, RawExpect, RawTokenExpect};

/// A parsed suite file, not yet bound to a provider.
#[derive(Debug)]
pub struct SuiteFile {
    pub source: Source,
    pub raw: RawSuite,
}

/// The JSON Schema of suite files (for editor completion and validation).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RawSuite)).unwrap_or_default()
}

/// Loads one suite file.
pub fn load(path: &Path) -> Result<SuiteFile, Diagnostics> {
    let source = Source::read(path)?;
    parse(source)
}

/// Parses a suite from text already read.
pub fn parse(source: Source) -> Result<SuiteFile, Diagnostics> {
    let raw: RawSuite = serde_saphyr::from_str(&source.text).map_err(|e| crate::diag::from_yaml_error(&source, &e))?;
    let mut diags = Diagnostics::default();
    let mut seen = BTreeMap::new();
    for case in &raw.cases {
        if let Some(first) = seen.insert(case.name.value.clone(), spanned_pos(&case.name)) {
            let line = first.map(|p| p.line).unwrap_or(0);
            diags.push(
                source
                    .error_at(
                        spanned_pos(&case.name),
                        case.name.value.chars().count(),
                        format!("duplicate case name `{}`", case.name.value),
                    )
                    .with_hint(format!("case names are unique within a suite; the first is on line {line}")),
            );
        }
        if !valid_name(&case.name.value) {
            diags.push(
                source
                    .error_at(
                        spanned_pos(&case.name),
                        case.name.value.chars().count(),
                        format!("case name `{}` is not a plain identifier", case.name.value),
                    )
                    .with_hint("use letters, digits, `-` and `_` only, e.g. `openid-profile-email`"),
            );
        }
    }
    if !valid_name(&raw.suite) {
        diags.push(
            Diagnostic::new(format!("suite name `{}` is not a plain identifier", raw.suite))
                .with_hint("use letters, digits, `-` and `_` only"),
        );
    }
    diags.into_result(SuiteFile { source, raw })
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Every `*.yaml`/`*.yml` file under the given paths (files are taken as they are), sorted.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostic> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries = std::fs::read_dir(p).map_err(|e| Diagnostic::new(format!("cannot read directory `{}`: {e}", p.display())))?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && matches!(f.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")))
                .collect();
            files.sort();
            out.extend(files);
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(Diagnostic::new(format!("no such file or directory: `{}`", p.display()))
                .with_hint("pass suite files or directories; the shipped suites are in `suites/`"));
        }
    }
    Ok(out)
}

/// What a token (or JSON response) must satisfy, variables resolved.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct TokenExpect {
    pub present: Vec<String>,
    pub absent: Vec<String>,
    pub equals: BTreeMap<String, Value>,
    pub aud_contains: Vec<String>,
    pub scope_includes: Vec<String>,
    pub scope_excludes: Vec<String>,
}

/// The expectations of a case.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Expect {
    pub id_token: Option<TokenExpect>,
    pub access_token: Option<TokenExpect>,
    pub userinfo: Option<TokenExpect>,
    pub token_response: Option<TokenExpect>,
    /// The provider must refuse with one of these OAuth error codes.
    pub error: Option<Vec<String>>,
    /// Refusing with one of these codes is conformant too.
    pub or_error: Vec<String>,
}

/// The request parameters of a case, resolved.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Request {
    pub scope: String,
    pub response_type: Option<String>,
    pub response_mode: Option<String>,
    pub prompt: Option<String>,
    /// Send a nonce (default: yes).
    pub nonce: bool,
    /// Extra parameters sent as they are.
    pub params: BTreeMap<String, String>,
    /// Deliberate mistakes (negative cases).
    pub misuse: Vec<Misuse>,
    /// How userinfo is called.
    pub userinfo: UserinfoMethod,
}

impl Request {
    pub fn misuses(&self, m: Misuse) -> bool {
        self.misuse.contains(&m)
    }
}

/// One runnable case.
#[derive(Clone, Debug)]
pub struct Case {
    pub suite: String,
    pub name: String,
    pub about: Option<String>,
    pub area: Area,
    pub spec: Vec<String>,
    pub flow: Flow,
    /// Key of the client in the profile.
    pub client: String,
    /// Key of the user in the profile (flows with a login).
    pub user: Option<String>,
    /// Key of the API in the profile; selects it with the profile's parameter.
    pub api: Option<String>,
    pub request: Request,
    pub expect: Expect,
    /// `file:line` of the case, for messages.
    pub location: String,
}

impl Case {
    /// The stable id: `suite::case`.
    pub fn id(&self) -> String {
        format!("{}::{}", self.suite, self.name)
    }
}

/// Binds a parsed suite to a profile: references and variables resolved.
pub fn expand(file: &SuiteFile, profile: &Profile) -> Result<Vec<Case>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut cases = Vec::new();
    for raw in &file.raw.cases {
        if let Some(case) = expand_case(file, raw, profile, &mut diags) {
            cases.push(case);
        }
    }
    diags.into_result(cases)
}

fn expand_case(file: &SuiteFile, raw: &RawCase, profile: &Profile, diags: &mut Diagnostics) -> Option<Case> {
    let src = &file.source;
    let defaults = &file.raw.defaults;
    let before = diags.0.len();
    let flow = raw.flow.or(defaults.flow).unwrap_or(Flow::Code);

    let client = resolve_ref(
        src,
        raw.client.as_ref().or(defaults.client.as_ref()),
        &profile.clients,
        "client",
        diags,
    )
    .or_else(|| {
        // Only a missing reference (not a wrong one) falls back to the sole client.
        let missing = raw.client.is_none() && defaults.client.is_none();
        if missing && profile.clients.len() == 1 {
            profile.clients.keys().next().cloned()
        } else {
            if missing {
                diags.push(
                    src.error_at(
                        spanned_pos(&raw.name),
                        raw.name.value.chars().count(),
                        format!("case `{}` names no client", raw.name.value),
                    )
                    .with_hint(format!(
                        "add `client:` to the case or to `defaults:` (clients in the profile: {})",
                        keys(&profile.clients)
                    )),
                );
            }
            None
        }
    });
    let user = if flow.needs_user() {
        let user_ref = raw.user.as_ref().or(defaults.user.as_ref());
        match user_ref {
            Some(_) => resolve_ref(src, user_ref, &profile.users, "user", diags),
            None if profile.users.len() == 1 => profile.users.keys().next().cloned(),
            None => {
                diags.push(
                    src.error_at(
                        spanned_pos(&raw.name),
                        raw.name.value.chars().count(),
                        format!("case `{}` needs a user to log in", raw.name.value),
                    )
                    .with_hint(format!(
                        "add `user:` to the case or to `defaults:` (users in the profile: {})",
                        keys(&profile.users)
                    )),
                );
                None
            }
        }
    } else {
        None
    };
    let api = resolve_ref(src, raw.api.as_ref().or(defaults.api.as_ref()), &profile.apis, "api", diags);

    let scope_ctx = Ctx {
        profile,
        client: client.as_deref(),
        user: user.as_deref(),
        api: api.as_deref(),
    };
    let mut text = |s: &Spanned<String>, what: &str| -> String {
        match vars::expand(&s.value, |name| scope_ctx.lookup(name)) {
            Ok(v) => v,
            Err(e) => {
                let mut d = var_diagnostic(src, s, &e, what);
                if e.kind == vars::VarErrorKind::Undefined && !e.name.starts_with("env:") && !e.name.starts_with("file:") {
                    let known = scope_ctx.known();
                    d.hint = Some(match did_you_mean(&e.name, known.iter().map(String::as_str)) {
                        Some(best) => format!("did you mean `${{{best}}}`?"),
                        None => format!(
                            "suites know: {}",
                            known.iter().map(|k| format!("${{{k}}}")).collect::<Vec<_>>().join(", ")
                        ),
                    });
                }
                diags.push(d);
                String::new()
            }
        }
    };

    let r = &raw.request;
    let mut params = BTreeMap::new();
    for (k, v) in &r.params {
        params.insert(k.clone(), text(v, "request parameter"));
    }
    if let Some(a) = &r.audience {
        params.insert("audience".into(), text(a, "audience"));
    }
    if let Some(a) = &r.resource {
        params.insert("resource".into(), text(a, "resource"));
    }
    if let Some(a) = &r.redirect_uri {
        params.insert("redirect_uri".into(), text(a, "redirect_uri"));
    }
    let request = Request {
        scope: r.scope.clone().unwrap_or_else(|| {
            if flow == Flow::ClientCredentials {
                String::new()
            } else {
                "openid".into()
            }
        }),
        response_type: r.response_type.clone(),
        response_mode: r.response_mode.clone(),
        prompt: r.prompt.clone(),
        nonce: r.nonce.unwrap_or(true),
        params,
        misuse: r.misuse.clone(),
        userinfo: r.userinfo,
    };
    let expect = expand_expect(&raw.expect, &mut text);

    if diags.0.len() > before {
        return None;
    }
    let line = spanned_pos(&raw.name).map(|p| p.line).unwrap_or(0);
    Some(Case {
        suite: file.raw.suite.clone(),
        name: raw.name.value.clone(),
        about: raw.about.clone(),
        area: raw.area.or(defaults.area).unwrap_or(Area::Flows),
        spec: raw
            .spec
            .clone()
            .or_else(|| file.raw.spec.clone())
            .map(|s| s.into_vec())
            .unwrap_or_default(),
        flow,
        client: client?,
        user,
        api,
        request,
        expect,
        location: format!("{}:{line}", src.path.display()),
    })
}

fn expand_expect(raw: &RawExpect, text: &mut impl FnMut(&Spanned<String>, &str) -> String) -> Expect {
    let mut tok = |t: &Option<RawTokenExpect>| -> Option<TokenExpect> {
        let t = t.as_ref()?;
        Some(TokenExpect {
            present: t.present.clone(),
            absent: t.absent.clone(),
            equals: t.equals.iter().map(|(k, v)| (k.clone(), expand_value(v, text))).collect(),
            aud_contains: t.aud_contains.iter().map(|s| text(s, "aud_contains")).collect(),
            scope_includes: t.scope_includes.clone(),
            scope_excludes: t.scope_excludes.clone(),
        })
    };
    Expect {
        id_token: tok(&raw.id_token),
        access_token: tok(&raw.access_token),
        userinfo: tok(&raw.userinfo),
        token_response: tok(&raw.token_response),
        error: raw.error.clone().map(|e| e.into_vec()),
        or_error: raw.or_error.clone().map(|e| e.into_vec()).unwrap_or_default(),
    }
}

/// Expands variables in every string of a JSON value; positions point at the value.
fn expand_value(v: &Spanned<Value>, text: &mut impl FnMut(&Spanned<String>, &str) -> String) -> Value {
    fn walk(v: &Value, at: &Spanned<Value>, text: &mut impl FnMut(&Spanned<String>, &str) -> String) -> Value {
        match v {
            Value::String(s) => Value::String(text(&Spanned::new(s.clone(), at.referenced, at.defined), "expected value")),
            Value::Array(a) => Value::Array(a.iter().map(|x| walk(x, at, text)).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), walk(x, at, text))).collect()),
            other => other.clone(),
        }
    }
    walk(&v.value, v, text)
}

fn keys<T>(m: &BTreeMap<String, T>) -> String {
    if m.is_empty() {
        "none".into()
    } else {
        m.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
    }
}

fn resolve_ref<T>(
    src: &Source,
    r: Option<&Spanned<String>>,
    known: &BTreeMap<String, T>,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<String> {
    let r = r?;
    if known.contains_key(&r.value) {
        return Some(r.value.clone());
    }
    let hint = match did_you_mean(&r.value, known.keys().map(String::as_str)) {
        Some(best) => format!("did you mean `{best}`? ({what}s in the profile: {})", keys(known)),
        None => format!("{what}s in the profile: {}", keys(known)),
    };
    diags.push(
        src.error_at(spanned_pos(r), r.value.chars().count(), format!("unknown {what} `{}`", r.value))
            .with_hint(hint),
    );
    None
}

/// What `${…}` names mean inside one case.
struct Ctx<'a> {
    profile: &'a Profile,
    client: Option<&'a str>,
    user: Option<&'a str>,
    api: Option<&'a str>,
}

impl Ctx<'_> {
    fn lookup(&self, name: &str) -> Option<String> {
        let p = self.profile;
        let parts: Vec<&str> = name.split('.').collect();
        match parts.as_slice() {
            ["issuer"] => Some(p.issuer.clone()),
            ["client", "id"] => Some(p.clients.get(self.client?)?.id.clone()),
            ["client", "redirect_uri"] => p.clients.get(self.client?)?.redirect_uri.clone(),
            ["clients", c, "id"] => Some(p.clients.get(*c)?.id.clone()),
            ["api", "identifier"] => Some(p.apis.get(self.api?)?.identifier.clone()),
            ["api", a, "identifier"] => Some(p.apis.get(*a)?.identifier.clone()),
            ["user", "username"] => Some(p.users.get(self.user?)?.username.clone()),
            ["user", "claims", claim] => claim_text(p.users.get(self.user?)?.claims.get(*claim)?),
            _ => vars::external(name),
        }
    }

    /// Names that resolve here, for "did you mean".
    fn known(&self) -> Vec<String> {
        let p = self.profile;
        let mut k = vec!["issuer".to_owned(), "client.id".into(), "client.redirect_uri".into()];
        k.extend(p.clients.keys().map(|c| format!("clients.{c}.id")));
        k.push("api.identifier".into());
        k.extend(p.apis.keys().map(|a| format!("api.{a}.identifier")));
        k.push("user.username".into());
        if let Some(u) = self.user.and_then(|u| p.users.get(u)) {
            k.extend(u.claims.keys().map(|c| format!("user.claims.{c}")));
        }
        k
    }
}

fn claim_text(v: &Value) -> Option<String> {
    Some(match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}
