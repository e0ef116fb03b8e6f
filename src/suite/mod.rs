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
use indexmap::IndexMap;

use crate::profile::{Client, ClientAuth, Profile, User, spanned_pos, var_diagnostic};
use crate::vars;

pub use model::{
    ApiNeed, Area, ClientKind, ConsentDecision, Device as DeviceProbe, Dpop as DpopProbe, Feature, Flow, Lifecycle as LifecycleProbe,
    Logout as LogoutProbe, Misuse, Par as ParProbe, RawNeeds, RawPkce, RawSession, RawSuite, RequestObjectAlg, RequestObjectBy,
    UserinfoMethod,
};
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
    let raw: RawSuite = crate::diag::parse_yaml(&source)?;
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
        // The place of `suite:` (the model keeps the name as a plain string).
        let pos = source.text.lines().enumerate().find_map(|(i, l)| {
            let rest = l.strip_prefix("suite:")?;
            let col = l.len() - rest.trim_start().len() + 1;
            Some(crate::diag::Pos {
                line: i as u32 + 1,
                col: col as u32,
            })
        });
        diags.push(
            source
                .error_at(
                    pos,
                    raw.suite.chars().count(),
                    format!("suite name `{}` is not a plain identifier", raw.suite),
                )
                .with_hint("use letters, digits, `-` and `_` only"),
        );
    }
    diags.into_result(SuiteFile { source, raw })
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The shipped suites, built into the binary: `run` works from any directory
/// (a local `suites/` directory or explicit paths win).
pub const BUILTIN: &[(&str, &str)] = &[
    ("suites/audience.yaml", include_str!("../../suites/audience.yaml")),
    ("suites/basics.yaml", include_str!("../../suites/basics.yaml")),
    ("suites/client-auth.yaml", include_str!("../../suites/client-auth.yaml")),
    ("suites/consent.yaml", include_str!("../../suites/consent.yaml")),
    ("suites/dpop.yaml", include_str!("../../suites/dpop.yaml")),
    ("suites/device.yaml", include_str!("../../suites/device.yaml")),
    ("suites/flows.yaml", include_str!("../../suites/flows.yaml")),
    ("suites/lifecycle.yaml", include_str!("../../suites/lifecycle.yaml")),
    ("suites/logout.yaml", include_str!("../../suites/logout.yaml")),
    ("suites/namespacing.yaml", include_str!("../../suites/namespacing.yaml")),
    ("suites/negative.yaml", include_str!("../../suites/negative.yaml")),
    ("suites/par.yaml", include_str!("../../suites/par.yaml")),
    ("suites/parameters.yaml", include_str!("../../suites/parameters.yaml")),
    ("suites/redirect_uri.yaml", include_str!("../../suites/redirect_uri.yaml")),
    ("suites/request_object.yaml", include_str!("../../suites/request_object.yaml")),
    ("suites/registration.yaml", include_str!("../../suites/registration.yaml")),
    ("suites/scopes.yaml", include_str!("../../suites/scopes.yaml")),
    ("suites/security.yaml", include_str!("../../suites/security.yaml")),
    ("suites/session.yaml", include_str!("../../suites/session.yaml")),
    ("suites/userinfo.yaml", include_str!("../../suites/userinfo.yaml")),
];

/// The built-in suites, parsed.
pub fn builtin() -> Result<Vec<SuiteFile>, Diagnostics> {
    BUILTIN.iter().map(|(path, text)| parse(Source::new(*path, *text))).collect()
}

/// Every `*.yaml`/`*.yml` file under the given paths (files are taken as they are), sorted;
/// a file given twice (`suites suites/basics.yaml`, `a.yaml ./a.yaml`) is taken once.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostic> {
    let mut out: Vec<PathBuf> = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries = std::fs::read_dir(p).map_err(|e| Diagnostic::new(format!("cannot read directory `{}`: {e}", p.display())))?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && matches!(f.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")))
                // A project file in a directory of suites is not a suite.
                .filter(|f| !crate::project::is_project_file(f))
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
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    Ok(out)
}

/// Where a suite file's top-level `suite:` key is.
pub fn suite_key_pos(source: &crate::diag::Source) -> Option<crate::diag::Pos> {
    let line = source.text.lines().position(|l| l.starts_with("suite:"))?;
    Some(crate::diag::Pos {
        line: line as u32 + 1,
        col: 1,
    })
}

/// Two suite files with one `suite:` name: pointing at the second file's key,
/// and naming the first file's place.
pub fn duplicate_name(name: &str, first: &crate::diag::Source, second: &crate::diag::Source) -> Diagnostic {
    let first_at = match suite_key_pos(first) {
        Some(p) => format!("{}:{}:{}", first.path.display(), p.line, p.col),
        None => first.path.display().to_string(),
    };
    second
        .error_at(
            suite_key_pos(second),
            "suite:".len(),
            format!("suite name `{name}` is used by `{first_at}` too"),
        )
        .with_hint("give each suite file its own `suite:` name: case ids are `suite::case`")
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
    /// Assertions left out because they need data the profile does not have (the reasons).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

impl TokenExpect {
    /// How many assertions remain.
    pub fn len(&self) -> usize {
        self.present.len()
            + self.absent.len()
            + self.equals.len()
            + self.aud_contains.len()
            + self.scope_includes.len()
            + self.scope_excludes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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
    /// The `state` to send (default: a random one).
    pub state: Option<String>,
    /// Extra parameters sent as they are.
    pub params: BTreeMap<String, String>,
    /// Deliberate mistakes (negative cases).
    pub misuse: Vec<Misuse>,
    /// How userinfo is called.
    pub userinfo: UserinfoMethod,
    /// Left out of the authorization request.
    pub drop: Vec<String>,
    /// How PKCE is done.
    pub pkce: RawPkce,
    /// Set at the code exchange (`${pkce.verifier}`, `${pkce.challenge}` filled in by the engine).
    pub token_params: BTreeMap<String, String>,
    /// Left out of the code exchange.
    pub token_drop: Vec<String>,
    /// The code exchange is sent as a GET with its parameters in the URL.
    pub token_get: bool,
    /// The client's credentials go into the URL query of the code exchange.
    pub token_credentials_in_query: bool,
    /// Parameters of the code exchange sent twice.
    pub token_duplicate: Vec<String>,
    /// The profile's key of another client that redeems the code.
    pub token_client: Option<String>,
    /// The code is redeemed this many times at once (0: once, as usual).
    pub token_parallel: usize,
    /// The authorization and code exchange run this many times (0 or 1: once).
    pub samples: usize,
    /// The profile's key of another client that presents the refresh token.
    pub refresh_client: Option<String>,
    /// The profile's declared code lifetime, to wait out before the exchange.
    pub code_lifetime: Option<std::time::Duration>,
    /// The browser session the case's authorization runs in (signed in first).
    pub session: Option<Session>,
    /// Waited between redeeming the code and reusing it (`misuse: [reuse_code]`).
    pub reuse_wait: std::time::Duration,
    /// Register a client first (RFC 7591), with these overrides of the request's members.
    pub register: Option<BTreeMap<String, Value>>,
    /// What to decide on the consent page.
    pub consent: model::ConsentDecision,
    /// The authorization parameters go in a request object.
    pub request_object: Option<model::RawRequestObject>,
    /// A token-lifecycle probe after the tokens are issued.
    pub lifecycle: Option<model::Lifecycle>,
    /// The authorization request is pushed first (RFC 9126), with this probe.
    pub par: Option<model::Par>,
    /// An RP-initiated logout probe after the tokens are issued.
    pub logout: Option<model::Logout>,
    /// A DPoP probe: the code exchange carries a proof (RFC 9449).
    pub dpop: Option<model::Dpop>,
    /// The device authorization grant probe (`flow: device`).
    pub device: Option<model::Device>,
    /// Client-assertion probes after the tokens are issued.
    pub client_assertions: bool,
    /// Before a refresh: another sign-in of the same user, in another browser.
    pub sign_in_elsewhere: bool,
    /// The case is marked `slow`: it waits (a `max_age` to pass, a poll interval).
    pub slow: bool,
    /// The case is marked `fresh_sign_in`: it never takes the run's shared session.
    pub fresh_sign_in: bool,
}

/// A sign-in made before the case's own authorization, in the same browser.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Session {
    /// The profile's key of the client the user signs in through.
    pub client: String,
    /// `true`: another client than the case's (single sign-on).
    pub other_client: bool,
    /// Waited after the sign-in.
    pub wait: std::time::Duration,
}

/// The longest wait a session may ask for.
pub const SESSION_WAIT_LIMIT: u64 = 60;

/// Codes older than this are not waited out: RFC 6749 §4.1.2 recommends at most 10 minutes.
pub const CODE_LIFETIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

impl Request {
    /// How long the engine waits before redeeming the code (the lifetime probe).
    pub fn code_wait(&self) -> Option<std::time::Duration> {
        self.code_lifetime
            .filter(|d| *d <= CODE_LIFETIME_LIMIT)
            .map(|d| d + std::time::Duration::from_secs(2))
    }

    /// Every deliberate wait of the case (added to its time limit).
    pub fn waits(&self) -> std::time::Duration {
        let par_expiry = if self.par == Some(model::Par::Expire) {
            crate::flow::par::MAX_EXPIRY_WAIT
        } else {
            std::time::Duration::ZERO
        };
        self.code_wait().unwrap_or_default() + self.session.as_ref().map(|s| s.wait).unwrap_or_default() + self.reuse_wait + par_expiry
    }

    /// The case edits the code exchange: the refusal under test happens there.
    pub fn edits_token_request(&self) -> bool {
        !self.token_params.is_empty()
            || !self.token_drop.is_empty()
            || self.token_get
            || self.token_credentials_in_query
            || !self.token_duplicate.is_empty()
            || self.token_client.is_some()
            || self.refresh_client.is_some()
            || self.code_lifetime.is_some()
            || self.pkce.verifier_length.is_some()
            || self.pkce.verifier_illegal
            || self.pkce.challenge == Some(false)
    }

    /// The case edits the code exchange itself (not a later request).
    pub fn edits_code_exchange(&self) -> bool {
        self.edits_token_request() && self.refresh_client.is_none()
    }

    pub fn misuses(&self, m: Misuse) -> bool {
        self.misuse.contains(&m)
    }

    /// The requested scope values.
    pub fn scopes(&self) -> Vec<&str> {
        self.scope.split_whitespace().collect()
    }

    pub fn openid(&self) -> bool {
        self.scopes().contains(&"openid")
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
    /// Key of the client in the profile (empty when [`Case::skip`] says none fits).
    pub client: String,
    /// How the client authenticates at the token endpoint in this case.
    pub auth: ClientAuth,
    /// Other clients that fit, tried in turn when `client` turns out not to
    /// have what the probe needs (a refresh token that rotates).
    pub other_clients: Vec<String>,
    /// Key of the user in the profile (flows with a login).
    pub user: Option<String>,
    /// Key of the API in the profile; selects it with the profile's parameter.
    pub api: Option<String>,
    /// Why the case cannot run on this profile: it is reported as skipped, with this reason.
    pub skip: Option<String>,
    /// Optional provider features the case needs (judged against discovery at run time).
    pub features: Vec<Feature>,
    /// The check a refusal case is reported under (default `negative.refused`).
    pub check: Option<String>,
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

    /// The response type the case sends (none for client credentials).
    /// A refusal case that tests the registration itself (its check is a
    /// `registration.*` one): the registration is what is judged. Any other
    /// case that registers runs its flow with the registered client.
    /// The case signs the user in and needs no other sign-in of that user
    /// until it ends (a session probe: SSO, `prompt`, logout; a refresh,
    /// whose ID token must keep the `auth_time` of the sign-in, OIDC Core
    /// §12.2, which a provider that keeps one per user moves at every other
    /// sign-in): it runs alone among the cases that sign the same user in.
    pub fn needs_session_alone(&self) -> bool {
        self.request.session.is_some() || self.flow == Flow::Refresh
    }

    /// Why the case must sign the user in itself rather than start from the
    /// run's shared session (`None`: it may). A case whose verdict rests on
    /// the sign-in, the session or the pages of its own authorization keeps
    /// a fresh one: everything that asks about the authentication (`prompt`,
    /// `max_age`, hints, `acr_values`, `claims`, locales), a case that starts
    /// or ends a session, answers consent other than by approving, judges
    /// the login pages, or refreshes (whose `auth_time` is judged against the
    /// case's own sign-in), and any case marked `fresh_sign_in`.
    pub fn own_sign_in(&self) -> Option<String> {
        let r = &self.request;
        if self.flow == Flow::Refresh {
            return Some("a refreshed ID token's `auth_time` is judged against the case's own sign-in".into());
        }
        if !matches!(self.flow, Flow::Code | Flow::Implicit | Flow::Hybrid) || self.user.is_none() {
            return Some("it signs no one in through an authorization request".into());
        }
        if r.fresh_sign_in {
            return Some("the suite marks it `fresh_sign_in`".into());
        }
        if r.session.is_some() || r.sign_in_elsewhere {
            return Some("it judges a session it signs in itself".into());
        }
        if let Some(p) = &r.prompt {
            return Some(format!("it sends prompt={p}, which is about the sign-in"));
        }
        // (A request object carries the same parameters.)
        const ABOUT_SIGN_IN: [&str; 9] = [
            "prompt",
            "max_age",
            "login_hint",
            "id_token_hint",
            "acr_values",
            "claims",
            "ui_locales",
            "display",
            "request",
        ];
        if let Some(k) = r.params.keys().find(|k| ABOUT_SIGN_IN.contains(&k.as_str())) {
            return Some(format!("it sends `{k}`, which is about the sign-in"));
        }
        if r.consent != model::ConsentDecision::Approve {
            return Some("it answers the consent page other than by approving".into());
        }
        if r.logout.is_some() {
            return Some("it ends the session".into());
        }
        if self.check.as_deref().is_some_and(|c| c.starts_with("pages.")) {
            return Some("it judges the login and consent pages".into());
        }
        // A mistake with a code or a token may make the provider revoke the
        // grant it came from (RFC 6749 §4.1.2, RFC 9700 §4.14.2), and a grant
        // is the session's: the tokens of every case sharing it would go too.
        use model::Dpop as D;
        let token_mistake = r.edits_token_request()
            || r.misuse.iter().any(|m| *m != Misuse::UnregisteredApi)
            || r.token_parallel > 1
            || !r.reuse_wait.is_zero()
            || r.lifecycle.is_some()
            // Every DPoP probe but those of userinfo errs at the token endpoint.
            // (`pushed_jkt_mismatch` errs at the pushed request endpoint.)
            || r.dpop.is_some_and(|d| {
                !(matches!(
                    d,
                    D::Token | D::Userinfo | D::Bearer | D::SchemeCase | D::PushedJktMismatch | D::Introspect
                ) || d.faulty_userinfo())
            });
        if token_mistake {
            return Some(
                "its mistake with a code or token may make the provider revoke the grant, which a shared session's cases share".into(),
            );
        }
        None
    }

    /// The case waits for seconds on end (a code to age, a code to reuse
    /// later, a `max_age` to pass, the device grant's polls): started early,
    /// its wait runs beside the other cases instead of after them.
    pub fn waits_long(&self) -> bool {
        let r = &self.request;
        r.slow || r.code_lifetime.is_some() || !r.reuse_wait.is_zero() || self.flow == Flow::Device
    }

    pub fn judges_registration(&self) -> bool {
        self.request.register.is_some()
            && self.expect.error.is_some()
            && self.check.as_deref().is_some_and(|c| c.starts_with("registration."))
    }

    pub fn response_type(&self) -> Option<String> {
        self.request
            .response_type
            .clone()
            .or_else(|| self.flow.default_response_type().map(str::to_owned))
    }
}

/// Binds a parsed suite to a profile: references and variables resolved, and
/// the client, API and user each case needs picked from the profile.
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

/// The grants a flow uses (OIDC Dynamic Registration §2: response types imply grant types).
fn grants_of(flow: Flow) -> &'static [&'static str] {
    match flow {
        Flow::Code => &["authorization_code"],
        Flow::Implicit => &["implicit"],
        Flow::Hybrid => &["authorization_code", "implicit"],
        Flow::Refresh => &["authorization_code", "refresh_token"],
        Flow::ClientCredentials => &["client_credentials"],
        Flow::Password => &["password"],
        Flow::Device => &[crate::flow::device::GRANT_TYPE],
        Flow::Metadata => &[],
    }
}

/// Why `client` does not fit what the case needs, or `Ok`.
fn client_fits(
    key: &str,
    c: &Client,
    needs: &RawNeeds,
    flow: Flow,
    response_type: Option<&str>,
    expects_error: bool,
) -> Result<(), String> {
    match needs.client {
        Some(ClientKind::Confidential) if c.secret.is_none() || c.auth == ClientAuth::None => {
            return Err(format!("client `{key}` is not confidential"));
        }
        Some(ClientKind::Public) if !c.is_public() => return Err(format!("client `{key}` is not public (`auth: none`, no secret)")),
        Some(ClientKind::Machine) => c.grant(key, "client_credentials")?,
        Some(ClientKind::ThirdParty) if !c.third_party => {
            return Err(format!("client `{key}` is not marked `third_party: true`"));
        }
        _ => {}
    }
    if let Some(a) = needs.auth
        && !c.auth_methods.contains(&a)
    {
        return Err(format!(
            "client `{key}` is not registered for `{}` (its auth methods: {})",
            a.as_str(),
            c.auth_methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    // A case about an unregistered response type needs a browser client, not the grant.
    let grants: &[&str] = if needs.lacks_response_type.is_some() {
        &["authorization_code"]
    } else {
        grants_of(flow)
    };
    for g in grants {
        c.grant(key, g)?;
    }
    if flow.needs_browser() && c.redirect_uri.as_deref().is_none_or(str::is_empty) {
        return Err(format!("client `{key}` has no `redirect_uri` in the profile"));
    }
    let has_query = c
        .redirect_uri
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .is_some_and(|u| u.query().is_some_and(|q| !q.is_empty()));
    if needs.redirect_uri_query && !has_query {
        return Err(format!("client `{key}`'s registered redirect URI has no query"));
    }
    if needs.post_logout_redirect_uri && c.post_logout_redirect_uri.as_deref().is_none_or(str::is_empty) {
        return Err(format!("client `{key}` has no `post_logout_redirect_uri` in the profile"));
    }
    if let Some(lack) = &needs.lacks_response_type {
        if !c.lacks_response_type(lack) {
            return Err(format!(
                "client `{key}` is not declared as unregistered for response_type `{lack}` (declare its `response_types`)"
            ));
        }
    } else if let (Some(rt), false) = (response_type, expects_error) {
        c.response_type(key, rt)?;
    }
    Ok(())
}

fn describe_need(needs: &RawNeeds, flow: Flow, response_type: Option<&str>) -> String {
    let kind = match needs.client {
        Some(ClientKind::Confidential) => "a confidential client",
        Some(ClientKind::Public) => "a public client",
        Some(ClientKind::Machine) => "a machine client (client credentials)",
        Some(ClientKind::ThirdParty) => "a third-party client (`third_party: true`)",
        _ => "a client",
    };
    let mut s = kind.to_owned();
    if let Some(a) = needs.auth {
        s.push_str(&format!(" authenticating with `{}`", a.as_str()));
    }
    if flow != Flow::ClientCredentials {
        s.push_str(&format!(" registered for the {} flow", flow.as_str()));
        if let Some(rt) = response_type {
            s.push_str(&format!(" (response_type `{rt}`)"));
        }
    }
    if let Some(l) = &needs.lacks_response_type {
        s.push_str(&format!(" and declared as NOT registered for `{l}`"));
    }
    if needs.redirect_uri_query {
        s.push_str(" whose registered redirect URI has a query");
    }
    if needs.post_logout_redirect_uri {
        s.push_str(" with a registered `post_logout_redirect_uri`");
    }
    s
}

fn expand_case(file: &SuiteFile, raw: &RawCase, profile: &Profile, diags: &mut Diagnostics) -> Option<Case> {
    let src = &file.source;
    let defaults = &file.raw.defaults;
    let before = diags.0.len();
    let flow = raw.flow.or(defaults.flow).unwrap_or(Flow::Code);
    let needs = raw.needs.clone().or_else(|| defaults.needs.clone()).unwrap_or_default();
    let expects_error = raw.expect.error.is_some();
    let response_type = raw
        .request
        .response_type
        .as_ref()
        .map(|t| t.value.clone())
        .or_else(|| flow.default_response_type().map(str::to_owned));
    let mut skip: Option<String> = None;
    let mut skip_because = |why: String| {
        if skip.is_none() {
            skip = Some(why);
        }
    };

    // The client: named, or the first that fits what the case needs.
    let named_client = raw.client.as_ref().or(defaults.client.as_ref());
    let mut client = String::new();
    let mut other_fits: Vec<String> = Vec::new();
    if flow == Flow::Metadata || raw.request.register.is_some() {
        // Judges the provider's documents, or registers its own client: none of the profile's.
    } else if let Some(named) = named_client {
        if let Some(key) = resolve_ref(src, Some(named), &profile.clients, "client", diags) {
            if let Err(why) = client_fits(&key, &profile.clients[&key], &needs, flow, response_type.as_deref(), expects_error) {
                skip_because(why);
            }
            client = key;
        }
    } else {
        let mut reasons = Vec::new();
        // The reuse of a rotated-out refresh token needs a client whose tokens
        // rotate: a public one must rotate them (RFC 9700 §4.14.2), a
        // confidential one may not. Public clients are tried first, the
        // others in turn where one turns out not to rotate.
        let reuses_refresh = raw.request.misuse.contains(&Misuse::ReuseRefreshToken) && needs.client.is_none();
        let mut order: Vec<(&String, &Client)> = profile.clients.iter().collect();
        if reuses_refresh {
            order.sort_by_key(|(_, c)| !c.is_public());
        }
        for (key, c) in order {
            match client_fits(key, c, &needs, flow, response_type.as_deref(), expects_error) {
                Ok(()) if client.is_empty() => client = key.clone(),
                Ok(()) if reuses_refresh && !std::iter::once(&client).chain(&other_fits).any(|k| profile.clients[k].id == c.id) => {
                    other_fits.push(key.clone())
                }
                Ok(()) => {}
                Err(why) if client.is_empty() => reasons.push(why),
                Err(_) => {}
            }
            if !client.is_empty() && !reuses_refresh {
                break;
            }
        }
        if client.is_empty() {
            let need = describe_need(&needs, flow, response_type.as_deref());
            skip_because(if reasons.is_empty() {
                format!("the profile declares no clients; the case needs {need}")
            } else {
                let shown: Vec<&str> = reasons.iter().take(2).map(String::as_str).collect();
                format!(
                    "the profile declares no {} ({}{})",
                    need.trim_start_matches("a "),
                    shown.join("; "),
                    if reasons.len() > 2 { "; …" } else { "" }
                )
            });
        }
    }
    let auth = match (profile.clients.get(&client), needs.auth) {
        (Some(c), Some(a)) if c.auth_methods.contains(&a) => a,
        (Some(c), _) => c.auth,
        (None, _) => ClientAuth::default(),
    };

    // The user, for flows with a login.
    let user = if flow.needs_user() {
        let has = |u: &User| needs.user_claims.iter().all(|c| u.claims.contains_key(c));
        match raw.user.as_ref().or(defaults.user.as_ref()) {
            Some(named) => {
                let key = resolve_ref(src, Some(named), &profile.users, "user", diags);
                if let Some(k) = &key
                    && !has(&profile.users[k])
                {
                    skip_because(format!(
                        "user `{k}` lacks claims the case needs ({}): the profile lists the user's claims",
                        needs.user_claims.join(", ")
                    ));
                }
                key
            }
            None => {
                let found = profile.users.iter().find(|(_, u)| has(u)).map(|(k, _)| k.clone());
                if found.is_none() {
                    skip_because(if profile.users.is_empty() {
                        "the profile declares no user to log in with (`users:`)".to_owned()
                    } else {
                        format!(
                            "no user in the profile has the claims the case needs ({})",
                            needs.user_claims.join(", ")
                        )
                    });
                }
                found
            }
        }
    } else {
        None
    };

    // The API: named, or by what the case needs.
    let selects_api = profile.audience_param.param_name().is_some();
    let api = match (raw.api.as_ref().or(defaults.api.as_ref()), needs.api) {
        (Some(named), _) => {
            let key = resolve_ref(src, Some(named), &profile.apis, "api", diags);
            if key.is_some() && !selects_api {
                skip_because("the case selects an API, and the profile selects none (`audience_param: none`)".to_owned());
            }
            key
        }
        (None, None) => None,
        (None, Some(ApiNeed::Optional)) => {
            if selects_api {
                profile.apis.keys().next().cloned()
            } else {
                None
            }
        }
        (None, Some(need)) => {
            let nth = if need == ApiNeed::Second { 1 } else { 0 };
            if !selects_api {
                skip_because("the case tests API selection, and the profile selects no API (`audience_param: none`)".to_owned());
                None
            } else {
                let key = profile.apis.keys().nth(nth).cloned();
                if key.is_none() {
                    skip_because(if nth == 0 {
                        "the profile declares no API (`apis:`)".to_owned()
                    } else {
                        format!("the case needs a second API, and the profile declares {}", profile.apis.len())
                    });
                }
                key
            }
        }
    };
    if needs.custom_claims && profile.namespaces.claims.is_empty() {
        skip_because("the profile declares no custom claims (`namespaces.claims`)".to_owned());
    }
    if let Some(place) = needs.custom_claim_in
        && !profile
            .namespaces
            .claims
            .iter()
            .any(|c| c.places.as_ref().is_none_or(|p| p.contains(&place)))
    {
        skip_because(format!(
            "the profile puts none of its custom claims in {} (`namespaces.claims[].in`)",
            place.describe()
        ));
    }

    let ctx = Ctx {
        profile,
        client: profile.clients.get(&client).map(|_| client.as_str()),
        user: user.as_deref(),
        api: api.as_deref(),
        api_optional: needs.api == Some(ApiNeed::Optional),
    };
    // Variables in the request: a value the profile lacks skips the case.
    let mut missing: Option<String> = None;
    let mut text = |s: &Spanned<String>, what: &str| -> String {
        match ctx.expand(src, s, what) {
            Ok(v) => v,
            Err(Unresolved::Missing(why)) => {
                missing.get_or_insert(why);
                String::new()
            }
            Err(Unresolved::Bad(d)) => {
                diags.push(*d);
                String::new()
            }
        }
    };

    let r = &raw.request;
    // Every value the case sends, as written and expanded, to check after expansion.
    let mut sent: Vec<Sent> = Vec::new();
    let mut params = BTreeMap::new();
    for (k, v) in &r.params {
        let value = text(v, "request parameter");
        sent.push(Sent::new(format!("request.params.{k}"), k, v, &value, Stage::Authorization));
        params.insert(k.clone(), value);
    }
    for (name, given) in [
        ("audience", &r.audience),
        ("resource", &r.resource),
        ("redirect_uri", &r.redirect_uri),
    ] {
        if let Some(a) = given {
            let value = text(a, name);
            sent.push(Sent::new(format!("request.{name}"), name, a, &value, Stage::Authorization));
            params.insert(name.into(), value);
        }
    }
    for (name, given) in [
        ("response_type", &r.response_type),
        ("response_mode", &r.response_mode),
        ("prompt", &r.prompt),
        ("state", &r.state),
    ] {
        if let Some(v) = given {
            sent.push(Sent::new(format!("request.{name}"), name, v, &v.value, Stage::Authorization));
        }
    }
    if let Some(v) = r.redirect_uri_variant {
        match profile.clients.get(&client).and_then(|c| c.redirect_uri.as_deref()) {
            Some(registered) => match crate::flow::redirect::variant(registered, v) {
                Ok(uri) => {
                    params.insert("redirect_uri".into(), uri);
                }
                Err(why) => skip_because(format!("the redirect URI variant does not apply: {why}")),
            },
            None => skip_because("the client has no registered redirect URI to vary".to_owned()),
        }
    }
    let scope = match &r.scope {
        Some(s) => {
            let value = text(s, "scope");
            sent.push(Sent::new("request.scope".into(), "scope", s, &value, Stage::Authorization));
            value.split_whitespace().collect::<Vec<_>>().join(" ")
        }
        None if matches!(flow, Flow::ClientCredentials | Flow::Metadata) => String::new(),
        None => "openid".into(),
    };
    let mut offline_without_consent = None;
    // OIDC Core §11: a client asking for `offline_access` MUST also send
    // `prompt=consent` (a provider ignores the scope otherwise, or refuses).
    if let Some(s) = &r.scope
        && flow.needs_browser()
        && !expects_error
        && scope.split(' ').any(|v| v == "offline_access")
        && !r
            .prompt
            .as_ref()
            .is_some_and(|p| p.value.split_whitespace().any(|v| v == "consent"))
    {
        offline_without_consent = Some(
            src.error_at(
                spanned_pos(s),
                s.value.chars().count(),
                "the request asks for `offline_access` without `prompt: consent`, which OIDC Core §11 says the client MUST send with it (a provider then ignores the scope, or refuses the request)".to_owned(),
            )
            .with_hint("add `prompt: consent` to the request; to test a refusal, give the case `expect: { error: \"*\" }`"),
        );
    }
    // Client credentials without an API: the scopes the profile declares for the client.
    let scope = match profile.clients.get(&client) {
        Some(c) if flow == Flow::ClientCredentials && api.is_none() && scope.is_empty() => c.scopes.join(" "),
        _ => scope,
    };
    // Another client to redeem the code (or refresh) with: registered for the grant, not the case's.
    let mut other_client = |asked: Option<model::OtherClient>, grant: &str, what: &str| -> Option<String> {
        asked?;
        let found = profile
            .clients
            .iter()
            // Another registration, not the same client id under another key.
            .filter(|(k, c)| profile.clients.get(&client).is_none_or(|own| own.id != c.id) && c.grant(k, grant).is_ok())
            // A confidential one first: it authenticates, so only the binding can refuse it.
            .min_by_key(|(_, c)| c.is_public())
            .map(|(k, _)| k.clone());
        if found.is_none() && !client.is_empty() {
            skip_because(format!(
                "the case {what} as another client, and the profile declares no client besides `{client}` registered for the {grant} grant (declare a second one to run it)"
            ));
        }
        found
    };
    let token_client = other_client(r.token.client, "authorization_code", "redeems a code");
    let session = r.session.as_ref().map(|sess| Session {
        client: other_client(sess.client, "authorization_code", "signs the user in").unwrap_or_else(|| client.clone()),
        other_client: sess.client.is_some(),
        wait: std::time::Duration::from_secs(sess.wait.min(SESSION_WAIT_LIMIT)),
    });
    let refresh_client = other_client(r.refresh.client, "refresh_token", "refreshes");
    let mut token_params = BTreeMap::new();
    for (k, v) in &r.token.params {
        let value = text(v, "token parameter");
        sent.push(Sent::new(format!("request.token.params.{k}"), k, v, &value, Stage::Token));
        token_params.insert(k.clone(), value);
    }

    let request = Request {
        scope,
        response_type: r.response_type.as_ref().map(|t| t.value.clone()),
        response_mode: r.response_mode.as_ref().map(|t| t.value.clone()),
        prompt: r.prompt.as_ref().map(|t| t.value.clone()),
        nonce: r.nonce.unwrap_or(true),
        state: r.state.as_ref().map(|t| t.value.clone()),
        params,
        misuse: r.misuse.clone(),
        userinfo: r.userinfo,
        drop: r.drop.clone(),
        pkce: r.pkce.clone(),
        token_params,
        token_drop: r.token.drop.clone(),
        token_get: r.token.method == Some(model::TokenMethod::Get),
        token_credentials_in_query: r.token.credentials == Some(model::CredentialsPlace::Query),
        token_duplicate: r.token.duplicate.clone(),
        token_client,
        token_parallel: r.token.parallel.unwrap_or(0),
        samples: r.samples.unwrap_or(0),
        refresh_client,
        code_lifetime: if r.token.after_code_lifetime { profile.code_lifetime } else { None },
        session,
        reuse_wait: std::time::Duration::from_secs(r.token.reuse_wait.min(SESSION_WAIT_LIMIT)),
        register: r.register.as_ref().map(|reg| reg.metadata.clone()),
        consent: r.consent.clone().unwrap_or_default(),
        request_object: r.request_object.clone(),
        lifecycle: r.lifecycle,
        par: r.par,
        logout: r.logout,
        dpop: r.dpop,
        device: r.device,
        client_assertions: r.client_assertions,
        sign_in_elsewhere: r.sign_in_elsewhere,
        slow: raw.slow,
        fresh_sign_in: raw.fresh_sign_in,
    };
    if let Some(ro) = &r.request_object {
        let problem = if ro.alg == model::RequestObjectAlg::RS256 && r.register.is_none() {
            Some(
                "`request.request_object.alg: RS256` needs `register`: the harness signs with its own key, which it registers with the client",
            )
        } else if ro.bad_signature && ro.alg != model::RequestObjectAlg::RS256 {
            Some("`request.request_object.bad_signature` needs `alg: RS256`: an unsigned request object has no signature to corrupt")
        } else {
            None
        };
        if let Some(problem) = problem {
            diags.push(
                src.error_at(spanned_pos(&raw.name), raw.name.value.chars().count(), problem.to_owned())
                    .with_hint("e.g. `request_object: { by: value, alg: RS256 }` with `register: {}`"),
            );
        }
    }
    if let Some(model::ConsentDecision::ApproveOnly(approved)) = &r.consent {
        let requested: Vec<&str> = request.scope.split_whitespace().collect();
        let stray: Vec<&String> = approved.iter().filter(|s| !requested.contains(&s.as_str())).collect();
        if approved.is_empty() || !stray.is_empty() {
            diags.push(
                src.error_at(spanned_pos(&raw.name), raw.name.value.chars().count(), {
                    if approved.is_empty() {
                        "`request.consent.approve_only` is empty".to_owned()
                    } else {
                        format!(
                            "`request.consent.approve_only` names {} that the case does not request (scope `{}`)",
                            stray.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "),
                            request.scope
                        )
                    }
                })
                .with_hint("list some of the case's requested scopes: the boxes of the others are left unticked"),
            );
        }
    }
    if r.token.reuse_wait > SESSION_WAIT_LIMIT || (r.token.reuse_wait > 0 && !r.misuse.contains(&Misuse::ReuseCode)) {
        diags.push(
            src.error_at(
                spanned_pos(&raw.name),
                raw.name.value.chars().count(),
                format!(
                    "`request.token.reuse_wait: {}` needs `misuse: [reuse_code]` and at most {SESSION_WAIT_LIMIT} s",
                    r.token.reuse_wait
                ),
            )
            .with_hint("wait 0 to 60 seconds before reusing the code, in a case that reuses it"),
        );
    }
    if let Some(d) = offline_without_consent {
        diags.push(d);
    }
    // Request fields that belong to one flow.
    for (set, field, what, wanted) in [
        (r.device.is_some(), "device", "is a probe of the device grant", Flow::Device),
        (
            r.sign_in_elsewhere,
            "sign_in_elsewhere",
            "signs the user in again before a refresh",
            Flow::Refresh,
        ),
    ] {
        if set && flow != wanted {
            diags.push(
                src.error_at(
                    spanned_pos(&raw.name),
                    raw.name.value.chars().count(),
                    format!("`request.{field}` {what}, and this case's flow is `{}`", flow.as_str()),
                )
                .with_hint(format!(
                    "set `flow: {}` on the case, or leave `request.{field}` out",
                    wanted.as_str()
                )),
            );
        }
    }
    // DPoP probes that need another request field (RFC 9449 §10.1, §5.2).
    let bound_client = r
        .register
        .as_ref()
        .is_some_and(|reg| reg.metadata.get("dpop_bound_access_tokens") == Some(&Value::Bool(true)));
    let pushed = match r.dpop {
        Some(model::Dpop::PushedProof) => Some("pushed_proof"),
        Some(model::Dpop::PushedJktMismatch) => Some("pushed_jkt_mismatch"),
        _ => None,
    };
    for (missing, what, hint) in [
        (
            pushed.is_some() && r.par.is_none(),
            format!(
                "`request.dpop: {}` sends its DPoP proof with the pushed request, and this case pushes none",
                pushed.unwrap_or_default()
            ),
            "add `par: push` to the case's request",
        ),
        (
            r.par == Some(model::Par::RequestObjectOtherClient)
                && !r
                    .request_object
                    .as_ref()
                    .is_some_and(|ro| ro.by == RequestObjectBy::Value && ro.alg == RequestObjectAlg::RS256 && !ro.bad_signature),
            "`request.par: request_object_other_client` pushes the case's signed request object with another client's `client_id`, and this case sends no request object signed by value".to_owned(),
            "add `register: {}` and `request_object: { by: value, alg: RS256 }` to the case's request",
        ),
        (
            r.par == Some(model::Par::Expire) && !raw.slow,
            "`request.par: expire` waits out the pushed request_uri's lifetime, and this case is not marked as one that waits".to_owned(),
            "add `slow: true` to the case (it then runs only where the profile opts in with `waits: true`, or with `run --waits`)",
        ),
        (
            r.dpop == Some(model::Dpop::BoundClient) && !bound_client,
            "`request.dpop: bound_client` is about a client registered with `dpop_bound_access_tokens: true`, and this case registers none"
                .to_owned(),
            "add `register: { metadata: { dpop_bound_access_tokens: true } }` to the case's request",
        ),
    ] {
        if missing {
            diags.push(
                src.error_at(spanned_pos(&raw.name), raw.name.value.chars().count(), what)
                    .with_hint(hint),
            );
        }
    }
    if r.token.after_code_lifetime && profile.code_lifetime.is_none() {
        skip_because("opt-in: the probe waits out the code lifetime; set `code_lifetime` in the profile (e.g. `60s`) to run it".to_owned());
    }
    if let Some(sess) = &r.session
        && sess.wait > SESSION_WAIT_LIMIT
    {
        diags.push(
            src.error_at(
                spanned_pos(&raw.name),
                raw.name.value.chars().count(),
                format!("`request.session.wait: {}` is out of range", sess.wait),
            )
            .with_hint(format!("wait 0 to {SESSION_WAIT_LIMIT} seconds after the sign-in")),
        );
    }
    if raw.slow && !profile.waits {
        skip_because("opt-in: the case waits; set `waits: true` in the profile (or pass `--waits`) to run it".to_owned());
    }
    if let Some(n) = r.token.parallel
        && !(2..=32).contains(&n)
    {
        diags.push(
            src.error_at(
                spanned_pos(&raw.name),
                raw.name.value.chars().count(),
                format!("`request.token.parallel: {n}` is out of range"),
            )
            .with_hint("redeem the code 2 to 32 times at once"),
        );
    }
    if let Some(n) = r.samples
        && !(2..=32).contains(&n)
    {
        diags.push(
            src.error_at(
                spanned_pos(&raw.name),
                raw.name.value.chars().count(),
                format!("`request.samples: {n}` is out of range"),
            )
            .with_hint("take 2 to 32 samples"),
        );
    }
    let check = raw.check.as_ref().and_then(|c| {
        if crate::check::catalogue::find(&c.value).is_some() {
            Some(c.value.clone())
        } else {
            let ids = crate::check::catalogue::CATALOGUE.iter().map(|d| d.id);
            let hint = match did_you_mean(&c.value, ids) {
                Some(best) => format!("did you mean `{best}`? (`oidc-conform checks` lists them)"),
                None => "name a check of the catalogue (`oidc-conform checks`)".to_owned(),
            };
            diags.push(
                src.error_at(spanned_pos(c), c.value.chars().count(), format!("unknown check `{}`", c.value))
                    .with_hint(hint),
            );
            None
        }
    });
    match missing {
        // The case is skipped: what it would send is not known.
        Some(why) => skip_because(why),
        None => {
            for s in &sent {
                if let Some(d) = s.problem(src, expects_error) {
                    diags.push(d);
                }
            }
        }
    }
    let mut bad = Vec::new();
    let ctx = Ctx {
        api_optional: false,
        ..ctx
    };
    let expect = expand_expect(src, &raw.expect, &ctx, &mut bad);
    diags.0.extend(bad);

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
        client,
        auth,
        user,
        api,
        skip,
        other_clients: other_fits,
        features: needs.features.clone(),
        check,
        request,
        expect,
        location: format!("{}:{line}", src.path.display()),
    })
}

/// Where a request parameter is sent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Authorization,
    Token,
}

/// One value a case sends, as written and as expanded.
struct Sent<'a> {
    /// Where the suite sets it, e.g. `request.params.max_age`.
    key: String,
    /// The parameter's name.
    name: String,
    written: &'a Spanned<String>,
    value: String,
    stage: Stage,
}

impl<'a> Sent<'a> {
    fn new(key: String, name: &str, written: &'a Spanned<String>, value: &str, stage: Stage) -> Self {
        Sent {
            key,
            name: name.to_owned(),
            written,
            value: value.to_owned(),
            stage,
        }
    }

    /// A value no provider can accept, in a case that does not expect a refusal
    /// (the provider would be right to refuse it: the suite is wrong, not the
    /// provider); or one the harness cannot run with at all.
    fn problem(&self, src: &Source, expects_error: bool) -> Option<Diagnostic> {
        let v = self.value.as_str();
        let redirect = self.name == "redirect_uri";
        // An empty authorization redirect_uri: the harness could not tell the redirect back from any page.
        let (what, hint) = if redirect && self.stage == Stage::Authorization && v.trim().is_empty() {
            (
                "is empty".to_owned(),
                "write a redirect URI (e.g. `https://attacker.example.test/callback` for a refusal case), or leave `redirect_uri` out to send the client's registered one",
            )
        } else if expects_error {
            return None;
        } else if let Some(c) = v.chars().find(|c| c.is_control()) {
            (
                format!("contains a control character (U+{:04X})", u32::from(c)),
                "remove it; to test that the provider refuses such a value, give the case `expect: { error: [invalid_request] }`",
            )
        } else {
            self.syntax_problem()?
        };
        let shown = if self.written.value == self.value {
            format!("`{}`", shown(v))
        } else {
            format!("`{}` (`{}`)", shown(&self.written.value), shown(v))
        };
        Some(
            src.error_at(
                crate::profile::value_pos(src, self.written),
                self.written.value.chars().count().max(1),
                format!("`{}` {shown} {what}", self.key),
            )
            .with_hint(hint),
        )
    }

    /// What is wrong with the value's syntax for its parameter, and the fix.
    fn syntax_problem(&self) -> Option<(String, &'static str)> {
        const REFUSE: &str = "; to test that the provider refuses it, give the case `expect: { error: [invalid_request] }`";
        let v = self.value.as_str();
        let words = |ok: fn(u8) -> bool| !v.trim().is_empty() && v.split_whitespace().all(|t| t.bytes().all(ok));
        let url = |v: &str| {
            url::Url::parse(v)
                .ok()
                .filter(|u| u.fragment().is_none() && !v.contains(char::is_whitespace))
        };
        match self.name.as_str() {
            "scope" if !self.written.value.is_empty() && self.written.value.trim().is_empty() => Some((
                "is only spaces".into(),
                "write the scope values, e.g. `openid profile`, or leave `scope` out to send `openid`",
            )),
            "scope" => v.split_whitespace().find(|t| !t.bytes().all(scope_char)).map(|t| {
                (
                    format!("holds `{}`, which is not a scope value (RFC 6749 §3.3: printable ASCII without `\"` or `\\`)", shown(t)),
                    "write scope values separated by spaces, e.g. `openid profile`; to test a refusal, give the case `expect: { error: [invalid_scope] }`",
                )
            }),
            "response_type" if !words(name_char) => Some((
                "is not a response type (names of letters, digits and `_`, separated by spaces)".into(),
                "write e.g. `code`, `id_token` or `code id_token`; to test a refusal, give the case `expect: { error: [unsupported_response_type] }`",
            )),
            "response_mode" if !words(|b| name_char(b) || b == b'.' || b == b'-') || v.contains(' ') => Some((
                "is not a response mode".into(),
                "write `query`, `fragment` or `form_post`, or leave it out",
            )),
            "prompt" if !words(name_char) => Some((
                "is not a list of prompt values".into(),
                "write `none`, `login`, `consent` or `select_account` (several separated by spaces), or leave it out",
            )),
            "state" if v.is_empty() => Some(("is empty".into(), "write a value, or leave `state` out to send a random one")),
            "redirect_uri" if url(v).is_none() => Some((
                "is not an absolute URL without a fragment".into(),
                "write an absolute URL such as `https://app.example.test/callback`, or `${client.redirect_uri}`; to test that the provider refuses it, give the case `expect: { error: [invalid_request] }`",
            )),
            "resource" if url(v).is_none() => Some((
                "is not an absolute URI without a fragment (RFC 8707 §2)".into(),
                "write an absolute URI such as `https://api.example.test/`, or `${api.identifier}`; to test a refusal, give the case `expect: { error: [invalid_target] }`",
            )),
            "audience" if v.trim().is_empty() => Some((
                "is empty".into(),
                "write the API's identifier, e.g. `${api.identifier}`, or leave `audience` out",
            )),
            "max_age" if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) => Some((
                "is not a whole number of seconds".into(),
                "write e.g. `\"3600\"`; to test a refusal, give the case `expect: { error: [invalid_request] }`",
            )),
            _ if self.name.is_empty() || self.name.contains(|c: char| c.is_whitespace() || c.is_control()) => {
                Some(("has a parameter name that is empty or contains spaces".into(), REFUSE.trim_start_matches("; ")))
            }
            _ => None,
        }
    }
}

/// RFC 6749 §3.1.1: a response type's names (and prompt values): letters, digits and `_`.
fn name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn scope_char(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
}

/// A value as messages quote it: control characters escaped, cut short.
fn shown(v: &str) -> String {
    let mut out: String = v
        .chars()
        .take(120)
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    if v.chars().count() > 120 {
        out.push('…');
    }
    out
}

fn expand_expect(src: &Source, raw: &RawExpect, ctx: &Ctx, bad: &mut Vec<Diagnostic>) -> Expect {
    let mut tok = |t: &Option<RawTokenExpect>| -> Option<TokenExpect> {
        let t = t.as_ref()?;
        let mut skipped = Vec::new();
        // A list item may expand to several words (`${api.scopes}`); one the profile lacks is left out.
        let mut list = |items: &[Spanned<String>], what: &str, skipped: &mut Vec<String>| -> Vec<String> {
            let mut out = Vec::new();
            for item in items {
                match ctx.expand(src, item, what) {
                    Ok(v) => out.extend(v.split_whitespace().map(str::to_owned)),
                    Err(Unresolved::Missing(why)) => skipped.push(format!("`{}` {what}: {why}", item.value)),
                    Err(Unresolved::Bad(d)) => bad.push(*d),
                }
            }
            out
        };
        let present = list(&t.present, "present", &mut skipped);
        let absent = list(&t.absent, "absent", &mut skipped);
        let aud_contains = list(&t.aud_contains, "aud_contains", &mut skipped);
        let scope_includes = list(&t.scope_includes, "scope_includes", &mut skipped);
        let scope_excludes = list(&t.scope_excludes, "scope_excludes", &mut skipped);
        let mut equals = BTreeMap::new();
        for (k, v) in &t.equals {
            match expand_value(src, v, ctx) {
                Ok(v) => {
                    equals.insert(k.clone(), v);
                }
                Err(Unresolved::Missing(why)) => skipped.push(format!("`{k}` equals: {why}")),
                Err(Unresolved::Bad(d)) => bad.push(*d),
            }
        }
        Some(TokenExpect {
            present,
            absent,
            equals,
            aud_contains,
            scope_includes,
            scope_excludes,
            skipped,
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
fn expand_value(src: &Source, v: &Spanned<Value>, ctx: &Ctx) -> Result<Value, Unresolved> {
    fn walk(src: &Source, v: &Value, at: &Spanned<Value>, ctx: &Ctx) -> Result<Value, Unresolved> {
        Ok(match v {
            Value::String(s) => Value::String(ctx.expand(src, &Spanned::new(s.clone(), at.referenced, at.defined), "expected value")?),
            Value::Array(a) => Value::Array(a.iter().map(|x| walk(src, x, at, ctx)).collect::<Result<_, _>>()?),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| Ok((k.clone(), walk(src, x, at, ctx)?)))
                    .collect::<Result<_, Unresolved>>()?,
            ),
            other => other.clone(),
        })
    }
    walk(src, &v.value, v, ctx)
}

fn keys<T>(m: &IndexMap<String, T>) -> String {
    if m.is_empty() {
        "none".into()
    } else {
        m.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
    }
}

fn resolve_ref<T>(
    src: &Source,
    r: Option<&Spanned<String>>,
    known: &IndexMap<String, T>,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<String> {
    let r = r?;
    if known.contains_key(&r.value) {
        return Some(r.value.clone());
    }
    let hint = match did_you_mean(&r.value, known.keys().map(String::as_str)) {
        Some(best) => format!("did you mean `{best}`? ({what}s in the profile: {})", keys(known)),
        None => format!(
            "{what}s in the profile: {}; or leave `{what}:` out and say what the case needs with `needs:`",
            keys(known)
        ),
    };
    diags.push(
        src.error_at(spanned_pos(r), r.value.chars().count(), format!("unknown {what} `{}`", r.value))
            .with_hint(hint),
    );
    None
}

/// A variable that did not resolve.
enum Unresolved {
    /// A well-formed name whose value this profile does not have (the reason).
    Missing(String),
    /// A name that means nothing, or a malformed variable.
    Bad(Box<Diagnostic>),
}

/// What one name resolves to.
enum Lookup {
    Found(String),
    Missing(String),
    Unknown,
    /// A name suites may not use (the reason).
    Refused(String),
}

/// What `${…}` names mean inside one case.
struct Ctx<'a> {
    profile: &'a Profile,
    client: Option<&'a str>,
    user: Option<&'a str>,
    api: Option<&'a str>,
    /// `${api.…}` without an API expands to nothing (a request with `needs.api: optional`).
    api_optional: bool,
}

impl Ctx<'_> {
    fn expand(&self, src: &Source, s: &Spanned<String>, what: &str) -> Result<String, Unresolved> {
        let mut missing = None;
        let mut refused = None;
        let result = vars::expand(&s.value, |name| match self.lookup(name) {
            Lookup::Found(v) => Some(v),
            Lookup::Missing(why) => {
                missing.get_or_insert(why);
                Some(String::new())
            }
            Lookup::Unknown => None,
            Lookup::Refused(why) => {
                refused = Some(why);
                None
            }
        });
        if let (Err(e), Some(why)) = (&result, refused) {
            let mut d = var_diagnostic(src, s, e, what);
            d.message = format!("`${{{}}}` in {what}: not allowed in a suite", e.name);
            d.hint = Some(why);
            return Err(Unresolved::Bad(Box::new(d)));
        }
        match result {
            Ok(_) if missing.is_some() => Err(Unresolved::Missing(missing.unwrap_or_default())),
            Ok(v) => Ok(v),
            Err(e) => {
                let mut d = var_diagnostic(src, s, &e, what);
                if e.kind == vars::VarErrorKind::Undefined && !e.name.starts_with("env:") && !e.name.starts_with("file:") {
                    let known = self.known();
                    d.hint = Some(match did_you_mean(&e.name, known.iter().map(String::as_str)) {
                        Some(best) => format!("did you mean `${{{best}}}`?"),
                        None => format!(
                            "suites know: {}",
                            known.iter().map(|k| format!("${{{k}}}")).collect::<Vec<_>>().join(", ")
                        ),
                    });
                }
                Err(Unresolved::Bad(Box::new(d)))
            }
        }
    }

    fn lookup(&self, name: &str) -> Lookup {
        use Lookup::{Found, Missing, Refused, Unknown};
        // `${NAME|WORDS}`: NAME's value, or WORDS where the profile has none
        // (e.g. `${api.scope|profile}`: a plain OAuth scope without an API).
        if let Some((var, fallback)) = name.split_once('|') {
            return match self.lookup(var.trim()) {
                Found(v) if !v.trim().is_empty() => Found(v),
                Found(_) | Missing(_) => Found(fallback.trim().to_owned()),
                other => other,
            };
        }
        let p = self.profile;
        let parts: Vec<&str> = name.split('.').collect();
        let api = || self.api.and_then(|a| p.apis.get(a).map(|x| (a, x)));
        let no_api = || {
            if self.api_optional {
                Found(String::new())
            } else {
                Missing("no API is selected for this case (the profile selects none)".to_owned())
            }
        };
        let ns = &p.namespaces;
        match parts.as_slice() {
            ["issuer"] => Found(p.issuer.clone()),
            // Filled in by the engine for each run of the case.
            ["pkce", "verifier" | "challenge"] | ["session", "id_token"] => Found(format!("${{{name}}}")),
            ["client", "id"] => self
                .client
                .and_then(|c| p.clients.get(c))
                .map_or_else(|| Missing("no client fits this case".into()), |c| Found(c.id.clone())),
            ["client", "redirect_uri"] => match self.client.and_then(|c| p.clients.get(c)) {
                Some(c) => c.redirect_uri.clone().map_or_else(
                    || Missing(format!("client `{}` has no redirect_uri", self.client.unwrap_or(""))),
                    Found,
                ),
                None => Missing("no client fits this case".into()),
            },
            ["clients", c, "id"] => p.clients.get(*c).map_or(Unknown, |c| Found(c.id.clone())),
            ["api", "identifier"] => api().map_or_else(no_api, |(_, a)| Found(a.identifier.clone())),
            ["api", "scope"] => match api() {
                Some((k, a)) => a
                    .scopes
                    .first()
                    .cloned()
                    .map_or_else(|| Missing(format!("the profile's API `{k}` declares no scopes")), Found),
                None => no_api(),
            },
            ["api", "scopes"] => match api() {
                Some((k, a)) if a.scopes.is_empty() => Missing(format!("the profile's API `{k}` declares no scopes")),
                Some((_, a)) => Found(a.scopes.join(" ")),
                None => no_api(),
            },
            ["api", "other_scopes"] => match api() {
                Some((_, a)) => Found(a.scopes.iter().skip(1).cloned().collect::<Vec<_>>().join(" ")),
                None => no_api(),
            },
            ["api", a, "identifier"] => p.apis.get(*a).map_or(Unknown, |a| Found(a.identifier.clone())),
            ["user", "username"] => self.user.and_then(|u| p.users.get(u)).map_or_else(
                || Missing("no user is selected for this case".into()),
                |u| Found(u.username.clone()),
            ),
            ["user", "claims", claim] => match self.user.and_then(|u| p.users.get(u).map(|x| (u, x))) {
                Some((k, u)) => u
                    .claims
                    .get(*claim)
                    .and_then(claim_text)
                    .map_or_else(|| Missing(format!("the profile's user `{k}` has no `{claim}` claim")), Found),
                None => Missing("no user is selected for this case".into()),
            },
            ["custom", "claims" | "plain" | "scopes" | "scoped_claims"] if ns.claims.is_empty() || ns.custom.is_none() => {
                Missing("the profile declares no custom claims (`namespaces.custom` and `namespaces.claims`)".into())
            }
            ["custom", "claims"] => Found(ns.claims.iter().map(|c| ns.namespaced(c)).collect::<Vec<_>>().join(" ")),
            ["custom", "plain"] => Found(ns.claims.iter().map(|c| c.name.clone()).collect::<Vec<_>>().join(" ")),
            ["custom", "scopes"] => Found(ns.claims.iter().filter_map(|c| c.scope.clone()).collect::<Vec<_>>().join(" ")),
            ["custom", "scoped_claims"] => {
                let tied: Vec<String> = ns.claims.iter().filter(|c| c.scope.is_some()).map(|c| ns.namespaced(c)).collect();
                if tied.is_empty() {
                    Missing("the profile ties no custom claim to a scope".into())
                } else {
                    Found(tied.join(" "))
                }
            }
            _ if name.starts_with("env:") || name.starts_with("file:") => Refused(format!(
                "suites cannot read environment variables or files (`${{{name}}}`): values from outside belong to the profile, where secrets are typed and redacted"
            )),
            _ => Unknown,
        }
    }

    /// Names that resolve here, for "did you mean".
    fn known(&self) -> Vec<String> {
        let p = self.profile;
        let mut k = vec![
            "issuer".to_owned(),
            "client.id".into(),
            "client.redirect_uri".into(),
            "pkce.verifier".into(),
            "pkce.challenge".into(),
            "session.id_token".into(),
        ];
        k.extend(p.clients.keys().map(|c| format!("clients.{c}.id")));
        k.extend(["api.identifier", "api.scope", "api.scopes", "api.other_scopes"].map(String::from));
        k.extend(p.apis.keys().map(|a| format!("api.{a}.identifier")));
        k.push("user.username".into());
        if let Some(u) = self.user.and_then(|u| p.users.get(u)) {
            k.extend(u.claims.keys().map(|c| format!("user.claims.{c}")));
        }
        k.extend(["custom.claims", "custom.plain", "custom.scopes", "custom.scoped_claims"].map(String::from));
        k
    }
}

fn claim_text(v: &Value) -> Option<String> {
    Some(match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(text: &str) -> Profile {
        crate::profile::parse(&Source::new("p.yaml", format!("name: p\nissuer: http://127.0.0.1:1/\n{text}"))).unwrap()
    }

    fn cases(profile: &Profile, suite: &str) -> Vec<Case> {
        let file = parse(Source::new("s.yaml", suite)).unwrap();
        expand(&file, profile).unwrap()
    }

    const ONE_CLIENT: &str = "clients:\n  web: { id: w, secret: s, redirect_uri: https://a.test/cb }\nusers:\n  u: { username: u, password: p, claims: { email: u@a.test } }\n";

    #[test]
    fn a_case_needing_a_public_client_skips_on_a_profile_without_one() {
        let p = profile(ONE_CLIENT);
        let c = cases(&p, "suite: s\ncases:\n  - name: spa\n    needs: { client: public }\n");
        let why = c[0].skip.as_deref().unwrap();
        assert!(why.contains("no public client"), "{why}");
        assert!(why.contains("client `web` is not public"), "{why}");
    }

    #[test]
    fn the_first_client_that_fits_is_picked_with_the_method_the_case_needs() {
        let p = profile(
            "clients:\n  spa: { id: s, auth: none, redirect_uri: https://a.test/cb }\n  web: { id: w, secret: s, auth_methods: [client_secret_basic, client_secret_post], redirect_uri: https://a.test/cb }\n  m2m: { id: m, secret: s }\nusers:\n  u: { username: u, password: p }\n",
        );
        let c = cases(
            &p,
            "suite: s\ncases:\n  - name: any\n  - name: post\n    needs: { client: confidential, auth: client_secret_post }\n  - name: machine\n    flow: client_credentials\n",
        );
        assert_eq!((c[0].client.as_str(), c[0].skip.as_deref()), ("spa", None));
        assert_eq!((c[1].client.as_str(), c[1].auth), ("web", ClientAuth::ClientSecretPost));
        assert_eq!((c[2].client.as_str(), c[2].skip.as_deref()), ("m2m", None));
    }

    #[test]
    fn a_client_not_registered_for_the_flow_is_a_skip_not_a_failure() {
        let p = profile(
            "clients:\n  web: { id: w, secret: s, redirect_uri: https://a.test/cb, grant_types: [authorization_code], response_types: [code] }\nusers:\n  u: { username: u, password: p }\n",
        );
        let c = cases(&p, "suite: s\ncases:\n  - name: implicit\n    flow: implicit\n    client: web\n");
        assert!(c[0].skip.as_deref().unwrap().contains("not registered for the `implicit` grant"));
    }

    #[test]
    fn data_the_profile_lacks_skips_the_assertion_not_the_load() {
        let p = profile(ONE_CLIENT);
        let c = cases(
            &p,
            "suite: s\ncases:\n  - name: c\n    request: { scope: openid profile }\n    expect: { id_token: { equals: { name: \"${user.claims.name}\", email: \"${user.claims.email}\" } } }\n",
        );
        let t = c[0].expect.id_token.as_ref().unwrap();
        assert_eq!(t.equals.len(), 1);
        assert!(t.skipped[0].contains("has no `name` claim"), "{:?}", t.skipped);
        // An API the case needs and the profile lacks: the case skips.
        let c = cases(
            &p,
            "suite: s\ncases:\n  - name: c\n    needs: { api: required }\n    request: { scope: \"openid ${api.scope}\" }\n",
        );
        assert!(c[0].skip.as_deref().unwrap().contains("declares no API"));
        // An optional API: the request runs without one.
        let c = cases(
            &p,
            "suite: s\ncases:\n  - name: c\n    needs: { api: optional }\n    request: { scope: \"openid ${api.scope}\" }\n",
        );
        assert_eq!((c[0].skip.as_deref(), c[0].request.scope.as_str()), (None, "openid"));
    }

    #[test]
    fn the_refresh_reuse_probe_tries_public_clients_first_then_the_others() {
        let p = profile(
            "clients:\n  web: { id: w, secret: s, redirect_uri: https://a.test/cb }\n  web2: { id: w, secret: s, auth: client_secret_post, redirect_uri: https://a.test/cb }\n  spa: { id: s, auth: none, redirect_uri: https://a.test/cb }\n  conf: { id: c, secret: s, redirect_uri: https://a.test/cb }\nusers:\n  u: { username: u, password: p }\n",
        );
        let c = cases(
            &p,
            "suite: s\ncases:\n  - name: reuse\n    flow: refresh\n    request: { misuse: [reuse_refresh_token] }\n  - name: plain\n    flow: refresh\n",
        );
        assert_eq!(c[0].client, "spa");
        // `web2` is `web` under another key: one registration is tried once.
        assert_eq!(c[0].other_clients, ["web", "conf"]);
        assert_eq!((c[1].client.as_str(), c[1].other_clients.len()), ("web", 0));
    }

    #[test]
    fn a_fallback_stands_in_for_a_value_the_profile_lacks() {
        let p = profile(ONE_CLIENT);
        let c = cases(
            &p,
            "suite: s\ncases:\n  - name: c\n    needs: { api: optional }\n    request: { scope: \"${api.scope|profile}\" }\n",
        );
        assert_eq!((c[0].skip.as_deref(), c[0].request.scope.as_str()), (None, "profile"));
        let p = profile(&format!(
            "{ONE_CLIENT}apis:\n  a: {{ identifier: https://api.test/, scopes: [read:a] }}\n"
        ));
        let c = cases(
            &p,
            "suite: s\ncases:\n  - name: c\n    needs: { api: optional }\n    request: { scope: \"${api.scope|profile}\" }\n",
        );
        assert_eq!(c[0].request.scope, "read:a");
    }

    fn load_errors(profile: &Profile, suite: &str) -> Vec<String> {
        let file = parse(Source::new("s.yaml", suite)).unwrap();
        match expand(&file, profile) {
            Ok(_) => Vec::new(),
            Err(d) => {
                d.0.iter()
                    .map(|d| format!("{}@{:?}", d.message, d.pos.map(|p| (p.line, p.col))))
                    .collect()
            }
        }
    }

    #[test]
    fn a_request_the_suite_made_invalid_is_a_load_error_unless_the_case_expects_a_refusal() {
        let p = profile(ONE_CLIENT);
        for (request, words) in [
            (
                "{ scope: \"openid\\0\" }",
                "`request.scope` `openid\\u{0}` contains a control character (U+0000)@Some((4, 24))",
            ),
            ("{ scope: \" \" }", "`request.scope` ` ` is only spaces"),
            (
                "{ redirect_uri: \"not a url\" }",
                "`request.redirect_uri` `not a url` is not an absolute URL",
            ),
            ("{ redirect_uri: https://a.test/cb#x }", "is not an absolute URL without a fragment"),
            ("{ resource: api }", "`request.resource` `api` is not an absolute URI"),
            ("{ response_type: \"code\\nid_token\" }", "contains a control character (U+000A)"),
            ("{ response_mode: \"form post\" }", "is not a response mode"),
            (
                "{ state: \"a\\u0007b\" }",
                "`request.state` `a\\u{7}b` contains a control character (U+0007)",
            ),
            (
                "{ params: { max_age: \"-1\" } }",
                "`request.params.max_age` `-1` is not a whole number",
            ),
            (
                "{ params: { \"login hint\": x } }",
                "has a parameter name that is empty or contains spaces",
            ),
            (
                "{ token: { params: { code: \"a\\0\" } } }",
                "`request.token.params.code` `a\\u{0}` contains a control character",
            ),
        ] {
            let suite = format!("suite: s\ncases:\n  - name: c\n    request: {request}\n");
            let errors = load_errors(&p, &suite);
            assert!(errors.len() == 1 && errors[0].contains(words), "{request}: {errors:?}");
            // Deliberately invalid where the case expects a refusal: it runs.
            let refusal = format!("{suite}    expect: {{ error: \"*\" }}\n");
            assert_eq!(load_errors(&p, &refusal), Vec::<String>::new(), "{request}");
        }
        // An empty redirect URI matches every page: refused in any case.
        let suite = "suite: s\ncases:\n  - name: c\n    request: { redirect_uri: \"\" }\n    expect: { error: [invalid_request] }\n";
        assert!(load_errors(&p, suite)[0].contains("`request.redirect_uri` `` is empty"));
        // A variable the profile lacks skips the case: nothing is judged of what it would send.
        let suite = "suite: s\ncases:\n  - name: c\n    needs: { api: required }\n    request: { scope: \"${api.scope}\", resource: \"${api.identifier}\" }\n";
        assert_eq!(load_errors(&p, suite), Vec::<String>::new());
        // What the shipped suites send stays valid: odd states, two prompt values, extra parameters.
        let suite = "suite: s\ncases:\n  - name: c\n    request: { scope: \"openid  email\", state: 'a b+c&d=é€~', prompt: login consent, params: { max_age: \"0\", claims: '{\"a\":1}' } }\n";
        assert_eq!(load_errors(&p, suite), Vec::<String>::new());
    }

    #[test]
    fn a_variable_that_means_nothing_is_still_a_load_error() {
        let p = profile(ONE_CLIENT);
        let file = parse(Source::new(
            "s.yaml",
            "suite: s\ncases:\n  - name: c\n    request: { scope: \"${api.scopez}\" }\n",
        ))
        .unwrap();
        let err = expand(&file, &p).unwrap_err();
        assert!(err.0[0].message.contains("undefined variable"), "{}", err.0[0]);
    }
}
