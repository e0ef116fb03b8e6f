//! The form driver: gets through server-rendered login and consent pages
//! without a browser.
//!
//! When the flow engine, following a provider's authorization redirects, lands
//! on an HTML page, [`analyse`] asks the [oracle](super::oracle) what the page
//! is and which controls to use, and builds what a browser would submit to get
//! past it:
//!
//! 1. an OAuth 2.0 Form Post Response Mode page → [`Page::FormPost`];
//! 2. a login form or an identifier-first step → [`Page::Login`], filled in;
//! 3. a consent form → [`Page::Consent`], with the approving (or denying)
//!    control pressed and the boxes ticked as [`ConsentChoice`] says;
//! 4. anything else → [`Page::Unknown`], with a summary for error messages.
//!
//! The submission is the form's entry list as the HTML standard builds it:
//! form owners, disabled fieldsets, checked boxes, selected options,
//! `formaction`, `formmethod` and `formenctype` on the pressed button.

use std::collections::HashMap;
use std::fmt;

use scraper::{ElementRef, Html};
use url::Url;

pub use super::consent::ConsentChoice;
use super::consent::{OPT_IN_EXTRA, checkbox_words, deny_link};
use super::oracle::{
    ButtonType, Compiled, Doc, InputType, Kind, LoginStep, REFUSE, SIGN_IN, SIGN_OUT, STAY_SIGNED_IN, collapse_whitespace, label_text,
    neutralise_noscript, text_of, trim_ascii_whitespace, truncate, way_on_link, words,
};
pub use super::oracle::{Selectors, selector_error_reason, shown_selector};
use crate::secret::Secret;

/// The HTTP method of a form submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
}

/// How a form asks for its fields to be encoded (the `enctype` attribute,
/// or `formenctype` on the pressed button). Only meaningful for POST.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Enctype {
    /// `application/x-www-form-urlencoded`, the default.
    #[default]
    UrlEncoded,
    /// `multipart/form-data`.
    Multipart,
    /// `text/plain`.
    TextPlain,
}

/// One value to send. Password values are [`Secret`] so `Debug` never shows
/// them.
#[derive(Clone, PartialEq, Eq)]
pub enum FieldValue {
    Plain(String),
    Secret(Secret),
}

impl FieldValue {
    /// The value to send. For [`FieldValue::Secret`] this exposes the secret:
    /// call it only where the value is sent.
    pub fn expose(&self) -> &str {
        match self {
            FieldValue::Plain(value) => value,
            FieldValue::Secret(secret) => secret.expose(),
        }
    }

    pub fn is_secret(&self) -> bool {
        matches!(self, FieldValue::Secret(_))
    }
}

impl fmt::Debug for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Plain(value) => f.debug_tuple("Plain").field(value).finish(),
            FieldValue::Secret(_) => f.write_str("Secret([redacted])"),
        }
    }
}

/// A form submission: what a browser would send.
#[derive(Clone, PartialEq, Eq)]
pub struct Submission {
    pub method: Method,
    /// Where to send it, resolved against the page (fragment removed). For
    /// [`Method::Get`] a browser replaces this URL's query with the fields:
    /// see [`Submission::request_url`].
    pub action: Url,
    /// How the form asks for the fields to be encoded (POST only).
    pub enctype: Enctype,
    /// Every field a browser would send, in document order.
    pub fields: Vec<(String, FieldValue)>,
}

impl Submission {
    /// The first value of the field `name`.
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        self.fields.iter().find(|(field, _)| field == name).map(|(_, value)| value)
    }

    /// Whether any field carries a secret (the password).
    pub fn contains_secret(&self) -> bool {
        self.fields.iter().any(|(_, value)| value.is_secret())
    }

    /// The fields as `application/x-www-form-urlencoded`. This exposes the
    /// secrets: call it only to send the submission.
    pub fn encoded(&self) -> String {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.fields {
            serializer.append_pair(name, value.expose());
        }
        serializer.finish()
    }

    /// The URL a browser requests: for GET, the action with its query
    /// replaced by the encoded fields (which exposes any secret in the URL);
    /// for POST, the action.
    pub fn request_url(&self) -> Url {
        let mut url = self.action.clone();
        if self.method == Method::Get {
            url.set_query(Some(&self.encoded()));
        }
        url
    }
}

impl fmt::Debug for Submission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Submission")
            .field("method", &self.method)
            .field("action", &self.action.as_str())
            .field("enctype", &self.enctype)
            .field("fields", &FieldsDebug(&self.fields))
            .finish()
    }
}

/// `name: "value"` pairs with secrets redacted.
struct FieldsDebug<'a>(&'a [(String, FieldValue)]);

impl fmt::Debug for FieldsDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, value)| FieldDebug(name, value)))
            .finish()
    }
}

struct FieldDebug<'a>(&'a str, &'a FieldValue);

impl fmt::Debug for FieldDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            FieldValue::Plain(value) => write!(f, "{:?}={value:?}", self.0),
            FieldValue::Secret(_) => write!(f, "{:?}=[redacted]", self.0),
        }
    }
}

/// What an HTML page is, and what to submit to get past it.
#[derive(Clone)]
pub enum Page {
    /// A login form (has a password field, or is an identifier-first step
    /// asking only for the username): filled with the username and password.
    Login(Submission),
    /// A consent / approval form: the approve button pressed.
    Consent(Submission),
    /// OAuth 2.0 Form Post Response Mode: an auto-submitting form whose action
    /// is the redirect URI. Always sent as a POST by browsers.
    FormPost { action: Url, fields: Vec<(String, String)> },
    /// Nothing the driver can act on; `summary` says what the page is (title,
    /// first heading, any visible error text), for error messages.
    Unknown { summary: String },
    /// Asked to deny: a consent page with no control that denies (no deny,
    /// cancel or reject button or link).
    ConsentWithoutDeny,
    /// Asked to approve only some scopes: a consent page with no box to
    /// untick for the scopes left out.
    ConsentWithoutScopeChoice,
}

/// Form post fields whose values `Debug` may show: the rest carry codes and
/// tokens.
const FORM_POST_SHOWN: &[&str] = &["error", "error_description", "error_uri", "state", "iss"];

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Page::Login(submission) => f.debug_tuple("Login").field(submission).finish(),
            Page::Consent(submission) => f.debug_tuple("Consent").field(submission).finish(),
            Page::FormPost { action, fields } => {
                let fields: Vec<_> = fields
                    .iter()
                    .map(|(name, value)| {
                        if FORM_POST_SHOWN.contains(&name.as_str()) {
                            format!("{name}={value:?}")
                        } else {
                            format!("{name}=[redacted]")
                        }
                    })
                    .collect();
                f.debug_struct("FormPost")
                    .field("action", &action.as_str())
                    .field("fields", &fields)
                    .finish()
            }
            Page::Unknown { summary } => f.debug_struct("Unknown").field("summary", summary).finish(),
            Page::ConsentWithoutDeny => f.write_str("ConsentWithoutDeny"),
            Page::ConsentWithoutScopeChoice => f.write_str("ConsentWithoutScopeChoice"),
        }
    }
}

/// Why a page could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error(
        "`{selector}` (the provider profile's `{field}` selector) is not a valid CSS selector: {reason}; \
         hint: use a plain CSS selector such as `#username` or `input[name=\"login\"]`"
    )]
    InvalidSelector {
        field: &'static str,
        selector: String,
        reason: String,
    },
    #[error(
        "the `{field}` selector `{selector}` from the provider profile matched {found}, which is \
         not {expected}; hint: point the selector at {expected}, or remove it to use detection"
    )]
    SelectorMismatch {
        field: &'static str,
        selector: String,
        found: String,
        expected: &'static str,
    },
    #[error(
        "form action `{action}` is not a valid url (resolved against `{base}`): {reason}; \
         hint: the page may build its form with javascript, which this driver does not run"
    )]
    InvalidAction { action: String, base: String, reason: String },
    #[error(
        "form action `{action}` is not an http(s) url; hint: the page submits this form with \
         javascript, which this driver does not run"
    )]
    UnsupportedAction { action: String },
}

/// Decide what an HTML page is and what to submit.
///
/// `page_url` is the URL the page was fetched from (relative form actions are
/// resolved against it), `redirect_uri` the client's redirect URI (a form
/// posting to it is a form post response).
pub fn analyse(
    html: &str,
    page_url: &Url,
    username: &str,
    password: &Secret,
    selectors: &Selectors,
    redirect_uri: &str,
) -> Result<Page, FormError> {
    analyse_for(html, page_url, username, password, selectors, redirect_uri, &ConsentChoice::Approve)
}

/// The error or alert messages a page shows (what a login form that came back
/// says, such as "Wrong username or password"), at most three, each cut short.
pub fn page_errors(html: &str, page_url: &Url) -> Vec<String> {
    let Ok(compiled) = Compiled::new(&Selectors::default()) else {
        return Vec::new();
    };
    let source = neutralise_noscript(html);
    let document = Html::parse_document(&source);
    let doc = Doc::build(&document, page_url, &compiled);
    let mut errors: Vec<String> = Vec::new();
    for alert in &doc.alerts {
        let text = text_of(*alert);
        if text.is_empty() || errors.iter().any(|seen| seen.contains(&text)) {
            continue;
        }
        errors.retain(|seen| !text.contains(seen.as_str()));
        errors.push(text);
    }
    errors.truncate(3);
    errors.into_iter().map(|e| truncate(&e, 200)).collect()
}

/// [`analyse`], with the decision to take on a consent page.
pub fn analyse_for(
    html: &str,
    page_url: &Url,
    username: &str,
    password: &Secret,
    selectors: &Selectors,
    redirect_uri: &str,
    choice: &ConsentChoice,
) -> Result<Page, FormError> {
    let compiled = Compiled::new(selectors)?;
    let source = neutralise_noscript(html);
    let document = Html::parse_document(&source);
    let doc = Doc::build(&document, page_url, &compiled);

    if let Some(page) = doc.form_post(redirect_uri) {
        return Ok(page);
    }
    if let Some(step) = doc.login() {
        if let Some(reason) = doc.login_needs_script(&step) {
            return Ok(Page::Unknown {
                summary: doc.summary_saying(Some(reason)),
            });
        }
        return doc.login_submission(step, username, password).map(Page::Login);
    }
    if let Some((form, button)) = doc.consent()? {
        let mut submission = doc.submission(form, Some(button), &Fills::consent())?;
        match choice {
            ConsentChoice::Approve => {}
            ConsentChoice::Deny => {
                if let Some((form, button)) = doc.deny()
                    && let Ok(refusal) = doc.submission(form, Some(button), &Fills::default())
                {
                    return Ok(Page::Consent(refusal));
                }
                return Ok(match deny_link(&document, &doc.base) {
                    Some(target) => Page::Consent(Submission {
                        method: Method::Get,
                        action: target,
                        enctype: Enctype::UrlEncoded,
                        fields: Vec::new(),
                    }),
                    None => Page::ConsentWithoutDeny,
                });
            }
            ConsentChoice::Only { requested, approved } => {
                let left_out: Vec<&String> = requested.iter().filter(|s| !approved.contains(s)).collect();
                let unticked = doc.scope_boxes(&left_out);
                if unticked.is_empty() {
                    return Ok(Page::ConsentWithoutScopeChoice);
                }
                submission
                    .fields
                    .retain(|(name, value)| !matches!(value, FieldValue::Plain(v) if unticked.iter().any(|(n, uv)| n == name && uv == v)));
            }
        }
        return Ok(Page::Consent(submission));
    }
    // An interstitial whose only way on is a link (a connector choice, an
    // expired page's "continue"): followed as a browser would.
    if let Some((_, target)) = way_on_link(&document, &doc.base, false) {
        return Ok(Page::Consent(Submission {
            method: Method::Get,
            action: target,
            enctype: Enctype::UrlEncoded,
            fields: Vec::new(),
        }));
    }
    Ok(Page::Unknown { summary: doc.summary() })
}

/// A logout confirmation page (OIDC RP-Initiated Logout §2: the provider
/// "SHOULD ask the End-User whether to log out"): the submission of the button
/// that says yes ("Yes, sign me out", "Log out", "Confirm"), never one that
/// keeps the user signed in, and never a form with a password field. `None`:
/// the page has no such button.
pub fn logout_confirmation(html: &str, page_url: &Url) -> Option<Submission> {
    let compiled = Compiled::new(&Selectors::default()).ok()?;
    let source = neutralise_noscript(html);
    let document = Html::parse_document(&source);
    let doc = Doc::build(&document, page_url, &compiled);
    (0..doc.forms.len())
        .filter(|&form| !doc.has_password_field(form) && !doc.is_utility_form(form))
        .find_map(|form| {
            let button = doc.pick_button(form, &SIGN_OUT, &STAY_SIGNED_IN).positive?;
            doc.submission(form, Some(button), &Fills::default()).ok()
        })
}

/// A page asking for the user code of the device authorization grant (RFC
/// 8628 §3.3: the user "enters the user_code"): a form with no password field
/// and exactly one visible text field, whose name, id, placeholder or label
/// speaks of a code. The submission has the code in that field (as a
/// secret: never shown) and the continuing button pressed; `None`: no such
/// form (a login, consent or any other page).
pub fn user_code_entry(html: &str, page_url: &Url, user_code: &Secret) -> Option<Submission> {
    let compiled = Compiled::new(&Selectors::default()).ok()?;
    let source = neutralise_noscript(html);
    let document = Html::parse_document(&source);
    let doc = Doc::build(&document, page_url, &compiled);
    (0..doc.forms.len())
        .filter(|&form| !doc.has_password_field(form) && !doc.is_utility_form(form))
        .find_map(|form| {
            let typed: Vec<(usize, bool)> = doc
                .form_controls(form)
                .filter(|(_, c)| c.is_typed() && c.enabled() && c.visible() && !c.readonly() && !c.name.is_empty())
                .map(|(index, c)| (index, c.is_username_like_type() && asks_for_code(c.element)))
                .collect();
            let [(field, true)] = typed.as_slice() else {
                return None;
            };
            let buttons = doc.pick_button(form, &SIGN_IN, &REFUSE);
            let button = buttons.positive.or(buttons.first_neutral);
            if button.is_none() && buttons.total > 0 {
                // Only buttons that cancel: not a form to go on with.
                return None;
            }
            let fills = Fills {
                password: Some((*field, user_code)),
                ..Fills::default()
            };
            doc.submission(form, button, &fills).ok()
        })
}

/// Whether a text field asks for a code: `code` among the words of its name,
/// id, placeholder, aria-label or label (`user_code`, `userCode`, "Enter code").
fn asks_for_code(element: ElementRef<'_>) -> bool {
    let mut text = String::new();
    for attr in ["name", "id", "placeholder", "aria-label"] {
        if let Some(value) = element.attr(attr) {
            text.push_str(value);
            text.push(' ');
        }
    }
    text.push_str(&label_text(element));
    words(&text).iter().any(|w| w == "code" || w == "usercode")
}

impl Doc<'_> {
    /// The submission of a login or identifier step: its fields filled in.
    fn login_submission(&self, step: LoginStep, username: &str, password: &Secret) -> Result<Submission, FormError> {
        let fills = Fills {
            username: step.username.map(|index| (index, username)),
            password: step.password.map(|index| (index, password)),
            tick_boxes: false,
        };
        self.submission(step.form, step.submitter, &fills)
    }

    /// The submission of `form` with `submitter` pressed and the fills
    /// applied.
    fn submission(&self, form: usize, submitter: Option<usize>, fills: &Fills<'_>) -> Result<Submission, FormError> {
        let Some(form_element) = self.forms.get(form).map(|form| form.element) else {
            return Err(FormError::InvalidAction {
                action: String::new(),
                base: crate::flow::http::redact_url(&self.base),
                reason: "no such form".to_owned(),
            });
        };
        let button = submitter.and_then(|index| self.controls.get(index));
        let button_attr = |attr: &str| button.and_then(|control| control.element.attr(attr));

        let raw_action = button_attr("formaction").or(form_element.attr("action"));
        let mut action = self.resolve(raw_action)?;
        if !matches!(action.scheme(), "http" | "https") {
            return Err(FormError::UnsupportedAction {
                action: crate::flow::http::redact_str(raw_action.unwrap_or("")),
            });
        }
        action.set_fragment(None);

        let method = match button_attr("formmethod").or(form_element.attr("method")) {
            Some(method) if method.trim().eq_ignore_ascii_case("post") => Method::Post,
            _ => Method::Get,
        };
        let enctype = match button_attr("formenctype")
            .or(form_element.attr("enctype"))
            .map(|enctype| enctype.trim().to_ascii_lowercase())
            .as_deref()
        {
            Some("multipart/form-data") => Enctype::Multipart,
            Some("text/plain") => Enctype::TextPlain,
            _ => Enctype::UrlEncoded,
        };

        Ok(Submission {
            method,
            action,
            enctype,
            fields: self.entries(form, submitter, fills),
        })
    }

    /// The form's entry list as the HTML standard builds it: every enabled,
    /// named control, checked boxes, selected options, the pressed button.
    fn entries(&self, form: usize, submitter: Option<usize>, fills: &Fills<'_>) -> Vec<(String, FieldValue)> {
        // Of several checked radio buttons in a group only the last is.
        let mut last_checked_radio: HashMap<&str, usize> = HashMap::new();
        for (index, control) in self.form_controls(form) {
            if control.kind == Kind::Input(InputType::Radio) && control.element.attr("checked").is_some() {
                last_checked_radio.insert(control.name, index);
            }
        }

        let mut fields = Vec::new();
        let plain = |fields: &mut Vec<(String, FieldValue)>, name: &str, value: &str| {
            fields.push((normalise_newlines(name), FieldValue::Plain(normalise_newlines(value))));
        };
        for (index, control) in self.form_controls(form) {
            if !control.enabled() {
                continue;
            }
            let element = control.element;
            let name = control.name;
            let value = element.attr("value").unwrap_or("");

            if control.is_submit_button() || matches!(control.kind, Kind::Button(_) | Kind::Input(InputType::Reset | InputType::Button)) {
                if Some(index) != submitter {
                    continue;
                }
                match control.kind {
                    Kind::Input(InputType::Image) => {
                        let prefix = if name.is_empty() { String::new() } else { format!("{name}.") };
                        plain(&mut fields, &format!("{prefix}x"), "0");
                        plain(&mut fields, &format!("{prefix}y"), "0");
                    }
                    Kind::Button(ButtonType::Submit) | Kind::Input(InputType::Submit) if !name.is_empty() => {
                        plain(&mut fields, name, value);
                    }
                    _ => {}
                }
                continue;
            }
            if name.is_empty() {
                continue;
            }
            if let Some((field, password)) = fills.password
                && field == index
            {
                fields.push((name.to_owned(), FieldValue::Secret(password.clone())));
                continue;
            }
            if let Some((field, username)) = fills.username
                && field == index
            {
                fields.push((name.to_owned(), FieldValue::Plain(username.to_owned())));
                push_dirname(&mut fields, element);
                continue;
            }
            match control.kind {
                Kind::Input(InputType::Checkbox) => {
                    if element.attr("checked").is_some() || (fills.tick_boxes && !OPT_IN_EXTRA.matches(&checkbox_words(element))) {
                        plain(&mut fields, name, element.attr("value").unwrap_or("on"));
                    }
                }
                Kind::Input(InputType::Radio) => {
                    if last_checked_radio.get(name) == Some(&index) {
                        plain(&mut fields, name, element.attr("value").unwrap_or("on"));
                    }
                }
                Kind::Input(InputType::File) => plain(&mut fields, name, ""),
                Kind::Input(InputType::Hidden) => {
                    if name.eq_ignore_ascii_case("_charset_") {
                        plain(&mut fields, name, "UTF-8");
                    } else {
                        plain(&mut fields, name, value);
                    }
                }
                Kind::Input(InputType::Password) => {
                    let value: String = value.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
                    fields.push((name.to_owned(), FieldValue::Secret(Secret::new(value))));
                }
                Kind::Input(InputType::Text | InputType::Search | InputType::Tel) => {
                    let value: String = value.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
                    plain(&mut fields, name, &value);
                    push_dirname(&mut fields, element);
                }
                Kind::Input(InputType::Email | InputType::Url) => {
                    let value: String = value.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
                    plain(&mut fields, name, trim_ascii_whitespace(&value));
                }
                Kind::Input(_) => plain(&mut fields, name, value),
                Kind::Select => {
                    for option in selected_options(element) {
                        plain(&mut fields, name, &option);
                    }
                }
                Kind::Textarea => {
                    plain(&mut fields, name, &element.text().collect::<String>());
                    push_dirname(&mut fields, element);
                }
                Kind::Button(_) => {}
            }
        }
        fields
    }
}

/// Values to put into a form's fields: (control index, value).
#[derive(Default)]
struct Fills<'v> {
    username: Option<(usize, &'v str)>,
    password: Option<(usize, &'v Secret)>,
    /// Approving a consent page: tick its boxes (scope grants, "I agree"), as a
    /// user who approves does, except those that opt into something else.
    tick_boxes: bool,
}

impl Fills<'_> {
    fn consent() -> Self {
        Fills {
            tick_boxes: true,
            ..Fills::default()
        }
    }
}

fn push_dirname(fields: &mut Vec<(String, FieldValue)>, element: ElementRef<'_>) {
    if let Some(dirname) = element.attr("dirname")
        && !dirname.is_empty()
    {
        let dir = match element.attr("dir").map(str::to_ascii_lowercase).as_deref() {
            Some("rtl") => "rtl",
            _ => "ltr",
        };
        fields.push((dirname.to_owned(), FieldValue::Plain(dir.to_owned())));
    }
}

/// The values a `<select>` submits: its selected, enabled options (for a
/// single-choice list box with none selected, the first enabled option, as
/// browsers select it).
fn selected_options(select: ElementRef<'_>) -> Vec<String> {
    let multiple = select.attr("multiple").is_some();
    let size = select.attr("size").and_then(|size| size.trim().parse::<u32>().ok()).unwrap_or(1);
    let options: Vec<(ElementRef<'_>, bool)> = select
        .descendent_elements()
        .filter(|element| element.value().name() == "option")
        .map(|option| {
            let in_disabled_group = option
                .parent()
                .and_then(ElementRef::wrap)
                .is_some_and(|parent| parent.value().name() == "optgroup" && parent.attr("disabled").is_some());
            (option, option.attr("disabled").is_some() || in_disabled_group)
        })
        .collect();
    let value = |option: ElementRef<'_>| match option.attr("value") {
        Some(value) => value.to_owned(),
        None => collapse_whitespace(&option.text().collect::<String>()),
    };
    if multiple {
        return options
            .iter()
            .filter(|(option, disabled)| !disabled && option.attr("selected").is_some())
            .map(|(option, _)| value(*option))
            .collect();
    }
    let selected = options
        .iter()
        .rev()
        .find(|(option, _)| option.attr("selected").is_some())
        .or_else(|| {
            if size <= 1 {
                options.iter().find(|(_, disabled)| !disabled)
            } else {
                None
            }
        });
    match selected {
        Some((option, false)) => vec![value(*option)],
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------

/// CR, LF and CRLF as CRLF, as browsers send form values.
fn normalise_newlines(text: &str) -> String {
    if !text.contains(['\r', '\n']) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\r\n");
            }
            '\n' => out.push_str("\r\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::login::oracle::{APPROVE, REFUSE, words};

    const USERNAME_VALUE: &str = "alice@example.test";
    const PASSWORD_VALUE: &str = "correct horse battery staple";
    const REDIRECT_URI: &str = "https://rp.test/callback";

    const PLAIN_LOGIN: &str = include_str!("../../fixtures/html/plain_login.html");
    const DJANGO_LOGIN: &str = include_str!("../../fixtures/html/django_login.html");
    const OIDC_PROVIDER_LOGIN: &str = include_str!("../../fixtures/html/oidc_provider_login.html");
    const OIDC_PROVIDER_CONSENT: &str = include_str!("../../fixtures/html/oidc_provider_consent.html");
    const DOT_CONSENT: &str = include_str!("../../fixtures/html/dot_consent.html");
    const KEYCLOAK_LOGIN: &str = include_str!("../../fixtures/html/keycloak_login.html");
    const IDENTIFIER_FIRST: &str = include_str!("../../fixtures/html/identifier_first.html");
    const CONSENT_DENY_FIRST: &str = include_str!("../../fixtures/html/consent_deny_first.html");
    const FORM_POST: &str = include_str!("../../fixtures/html/form_post.html");
    const ERROR_PAGE: &str = include_str!("../../fixtures/html/error_page.html");
    const FORMACTION_LOGIN: &str = include_str!("../../fixtures/html/formaction_login.html");

    const FIXTURES: &[&str] = &[
        PLAIN_LOGIN,
        DJANGO_LOGIN,
        OIDC_PROVIDER_LOGIN,
        OIDC_PROVIDER_CONSENT,
        DOT_CONSENT,
        KEYCLOAK_LOGIN,
        IDENTIFIER_FIRST,
        CONSENT_DENY_FIRST,
        FORM_POST,
        ERROR_PAGE,
        FORMACTION_LOGIN,
    ];

    fn url(text: &str) -> Url {
        Url::parse(text).expect("test url")
    }

    #[test]
    fn a_logout_confirmation_is_answered_yes_and_never_stay_signed_in() {
        let page = url("https://op.test/session/end?x=1");
        // Buttons outside the form, tied to it by `form=`: the yes button's name and value go along.
        let outside = r#"<h1>Do you want to sign-out from op.test?</h1>
            <form id="lf" method="post" action="/session/end/confirm"><input type="hidden" name="xsrf" value="t1"></form>
            <button type="submit" form="lf">No, stay signed in</button>
            <button autofocus type="submit" form="lf" value="yes" name="logout">Yes, sign me out</button>"#;
        let s = logout_confirmation(outside, &page).expect("a yes button");
        assert_eq!(s.method, Method::Post);
        assert_eq!(s.action.as_str(), "https://op.test/session/end/confirm");
        assert_eq!(s.encoded(), "xsrf=t1&logout=yes");
        // An input button that says what it does.
        let input = r#"<form action="confirm" method="POST"><input type="hidden" name="session_code" value="c">
            <input name="confirmLogout" id="do-logout" type="submit" value="Logout"></form>"#;
        let s = logout_confirmation(input, &page).expect("a logout button");
        assert_eq!(s.action.as_str(), "https://op.test/session/confirm");
        assert_eq!(s.encoded(), "session_code=c&confirmLogout=Logout");
        // Nothing that says yes: nothing pressed.
        for html in [
            r#"<form method="post" action="/x"><button name="logout" value="no">No, stay signed in</button></form>"#,
            r#"<form method="post" action="/x"><button>Cancel</button></form>"#,
            // A form that asks for the password again is not a confirmation.
            r#"<form method="post" action="/x"><input type="password" name="password"><button>Confirm sign out</button></form>"#,
            "<p>You are signed out.</p>",
        ] {
            assert!(logout_confirmation(html, &page).is_none(), "{html}");
        }
    }

    fn password() -> Secret {
        Secret::new(PASSWORD_VALUE)
    }

    fn analyse_with(html: &str, page_url: &str, selectors: &Selectors) -> Page {
        analyse(html, &url(page_url), USERNAME_VALUE, &password(), selectors, REDIRECT_URI).expect("analyse")
    }

    fn analyse_page(html: &str, page_url: &str) -> Page {
        analyse_with(html, page_url, &Selectors::default())
    }

    fn deny_page(html: &str, page_url: &str) -> Page {
        let url = Url::parse(page_url).unwrap();
        analyse_for(
            html,
            &url,
            "jane",
            &Secret::new("pw"),
            &Selectors::default(),
            "https://rp.test/cb",
            &ConsentChoice::Deny,
        )
        .unwrap()
    }

    #[test]
    fn a_link_is_followed_only_where_it_goes_on_with_signing_in() {
        let page = |body: &str| format!("<html><head><title>t</title></head><body>{body}</body></html>");
        let followed = |body: &str| match analyse_page(&page(body), "https://op.test/flow/step") {
            Page::Consent(sub) if sub.method == Method::Get && sub.fields.is_empty() => Some(sub.action.path().to_owned()),
            Page::Unknown { .. } => None,
            other => panic!("{body}: {other:?}"),
        };
        // A connector choice: the password's way, never another provider's.
        assert_eq!(
            followed(
                r#"<a href="/auth/github"><button>Log in with GitHub</button></a><a href="/auth/local"><button>Log in with Email</button></a>"#
            ),
            Some("/auth/local".into())
        );
        assert_eq!(followed(r#"<a href="/auth/github">Log in with GitHub</a>"#), None);
        // "Continue" before "restart"; a click-here link read by its id.
        assert_eq!(
            followed(
                r#"<a id="loginRestartLink" href="/restart">Click here</a> <a id="loginContinueLink" href="/continue">Click here</a>"#
            ),
            Some("/continue".into())
        );
        // Ends: back, again, home, another origin, a script, the page itself, hidden.
        for end in [
            r#"<p>Unauthorized URL</p><a href="/portal">Go to portal</a>"#,
            r#"<a href="/login">Back to login</a>"#,
            r#"<a href="/login">Log in again</a>"#,
            r#"<a href="/">Return to sign in</a>"#,
            r#"<a href="https://elsewhere.test/login">Continue to sign in</a>"#,
            r#"<a href="javascript:go()">Continue</a>"#,
            r#"<a href="/flow/step#top">Continue to sign in</a>"#,
            r#"<a href="/next" style="display:none">Continue</a>"#,
            r#"<a href="/register">Sign in or register</a>"#,
        ] {
            assert_eq!(followed(end), None, "{end}");
        }
    }

    #[test]
    fn a_login_form_only_a_script_can_send_is_handed_over() {
        // Two fields and no submit button: Enter cannot send it (HTML implicit submission).
        let linked = r#"<form method="post" action="/login"><input name="u"><input type="password" name="p"><input type="hidden" name="ok"><a href="javascript:void(0)" onclick="go()">Sign On</a></form>"#;
        match analyse_page(linked, "https://op.test/login") {
            Page::Unknown { summary } => assert!(summary.contains("no submit button"), "{summary}"),
            other => panic!("{other:?}"),
        }
        // One field and no button: Enter sends it.
        let single = r#"<form method="post" action="/login"><input type="password" name="p"></form>"#;
        assert!(matches!(analyse_page(single, "https://op.test/login"), Page::Login(_)));
        // The username copied into an empty hidden field by the submit handler.
        let copied = r#"<form method="post" action="/login" onsubmit="return copy()"><input name="userInput" autocomplete="username"><input type="hidden" name="username" value=""><input type="password" name="password"><button>Sign in</button></form>"#;
        match analyse_page(copied, "https://op.test/login") {
            Page::Unknown { summary } => assert!(summary.contains("hidden field"), "{summary}"),
            other => panic!("{other:?}"),
        }
        // Without the handler (a hidden field the server fills), the form is sent.
        let plain = copied.replace(r#" onsubmit="return copy()""#, "");
        assert!(matches!(analyse_page(&plain, "https://op.test/login"), Page::Login(_)));
    }

    #[test]
    fn denying_presses_the_cancel_button_or_follows_the_cancel_link() {
        // django-oauth-toolkit: a Cancel button beside Authorize, no boxes ticked.
        match deny_page(DOT_CONSENT, "https://auth.test/o/authorize/?client_id=portal") {
            Page::Consent(sub) => {
                assert!(sub.fields.iter().all(|(name, _)| name != "allow"), "{:?}", sub.fields);
            }
            other => panic!("expected the deny submission, got {other:?}"),
        }
        // node oidc-provider: only "Continue" in the form, and a "[ Cancel ]" link to …/abort.
        match deny_page(OIDC_PROVIDER_CONSENT, "https://op.test/interaction/Yb8zQ3kLm0") {
            Page::Consent(sub) => {
                assert_eq!(sub.method, Method::Get);
                assert_eq!(sub.action.as_str(), "https://op.test/interaction/Yb8zQ3kLm0/abort");
            }
            other => panic!("expected the abort link, got {other:?}"),
        }
        // A consent page with no way to say no.
        let html = r#"<form method="post" action="/consent"><button type="submit">Allow</button></form>"#;
        assert!(matches!(deny_page(html, "https://op.test/consent"), Page::ConsentWithoutDeny));
    }

    fn plain(name: &str, value: &str) -> (String, FieldValue) {
        (name.to_owned(), FieldValue::Plain(value.to_owned()))
    }

    fn secret(name: &str) -> (String, FieldValue) {
        (name.to_owned(), FieldValue::Secret(password()))
    }

    fn login(page: Page) -> Submission {
        match page {
            Page::Login(submission) => submission,
            other => panic!("expected a login page, got {other:?}"),
        }
    }

    fn consent(page: Page) -> Submission {
        match page {
            Page::Consent(submission) => submission,
            other => panic!("expected a consent page, got {other:?}"),
        }
    }

    fn unknown(page: Page) -> String {
        match page {
            Page::Unknown { summary } => summary,
            other => panic!("expected an unknown page, got {other:?}"),
        }
    }

    /// The password goes as a secret and never shows in `Debug`.
    fn assert_password_redacted(submission: &Submission, field: &str) {
        assert_eq!(
            submission.field(field),
            Some(&FieldValue::Secret(password())),
            "{field} is sent as a secret"
        );
        let debug = format!("{submission:?}");
        assert!(!debug.contains(PASSWORD_VALUE), "{debug}");
        assert!(debug.contains("[redacted]"), "{debug}");
        assert!(!format!("{:?}", Page::Login(submission.clone())).contains(PASSWORD_VALUE));
    }

    #[test]
    fn plain_login_page() {
        let submission = login(analyse_page(PLAIN_LOGIN, "https://id.acme.test/login?req=req_7Hq2LxP0"));
        assert_eq!(submission.method, Method::Post);
        assert_eq!(submission.action, url("https://id.acme.test/login"));
        assert_eq!(submission.enctype, Enctype::UrlEncoded);
        assert_eq!(
            submission.fields,
            vec![
                plain("request_id", "req_7Hq2LxP0"),
                plain("csrf_token", "c3JmLXRva2VuLTQyNDI"),
                plain("username", USERNAME_VALUE),
                secret("password"),
            ]
        );
        assert_password_redacted(&submission, "password");
        let debug = format!("{submission:?}");
        assert!(debug.contains("https://id.acme.test/login"), "{debug}");
        assert!(debug.contains("\"csrf_token\"=\"c3JmLXRva2VuLTQyNDI\""), "{debug}");
        assert!(debug.contains(USERNAME_VALUE), "{debug}");
    }

    #[test]
    fn django_login_page() {
        let submission = login(analyse_page(
            DJANGO_LOGIN,
            "https://django.test/accounts/login/?next=/o/authorize/%3Fresponse_type%3Dcode",
        ));
        assert_eq!(submission.method, Method::Post);
        assert_eq!(submission.action, url("https://django.test/accounts/login/"));
        assert_eq!(
            submission.fields,
            vec![
                plain("csrfmiddlewaretoken", "Zk3vQm1xT2dWc0pLc3RyYW5nZXJUaGluZ3M5OTk"),
                plain("username", USERNAME_VALUE),
                secret("password"),
                plain(
                    "next",
                    "/o/authorize/?response_type=code&client_id=conform\
                     &redirect_uri=https%3A%2F%2Frp.test%2Fcallback&scope=openid"
                ),
            ]
        );
        assert_password_redacted(&submission, "password");
    }

    #[test]
    fn oidc_provider_login_page() {
        let submission = login(analyse_page(OIDC_PROVIDER_LOGIN, "https://op.test/interaction/Yb8zQ3kLm0"));
        assert_eq!(submission.method, Method::Post);
        assert_eq!(submission.action, url("https://op.test/interaction/Yb8zQ3kLm0/login"));
        assert_eq!(
            submission.fields,
            vec![plain("prompt", "login"), plain("login", USERNAME_VALUE), secret("password"),]
        );
        assert_password_redacted(&submission, "password");
    }

    #[test]
    fn oidc_provider_consent_page() {
        let submission = consent(analyse_page(OIDC_PROVIDER_CONSENT, "https://op.test/interaction/Yb8zQ3kLm0"));
        assert_eq!(submission.method, Method::Post);
        assert_eq!(submission.action, url("https://op.test/interaction/Yb8zQ3kLm0/confirm"));
        assert_eq!(submission.fields, vec![plain("prompt", "consent")]);
        assert!(!submission.contains_secret());
    }

    #[test]
    fn single_neutral_button_counts_as_consent() {
        let html = r#"<html><head><title>Confirm</title></head><body>
            <p>Conformance RP asks for openid and profile.</p>
            <form method="post" action="/consent/decide">
              <input type="hidden" name="txn" value="t-1">
              <button type="submit">Submit</button>
            </form></body></html>"#;
        let submission = consent(analyse_page(html, "https://op.test/consent"));
        assert_eq!(submission.action, url("https://op.test/consent/decide"));
        assert_eq!(submission.fields, vec![plain("txn", "t-1")]);
    }

    #[test]
    fn django_oauth_toolkit_consent_page() {
        let page_url = "https://django.test/o/authorize/?response_type=code&client_id=conform\
                        &redirect_uri=https%3A%2F%2Frp.test%2Fcallback&scope=openid+profile+email\
                        &state=af0ifjsldkj&nonce=n-0S6_WzA2Mj#fragment";
        let submission = consent(analyse_page(DOT_CONSENT, page_url));
        assert_eq!(submission.method, Method::Post);
        // No action attribute: the page itself, without the fragment.
        assert_eq!(submission.action.as_str(), page_url.trim_end_matches("#fragment"));
        assert_eq!(
            submission.fields,
            vec![
                plain("csrfmiddlewaretoken", "d0tC5rfT0k3nAAAAbbbbCCCCddddEEEEffffGGGG"),
                plain("redirect_uri", "https://rp.test/callback"),
                plain("scope", "openid profile email"),
                plain("nonce", "n-0S6_WzA2Mj"),
                plain("client_id", "conform"),
                plain("state", "af0ifjsldkj"),
                plain("response_type", "code"),
                plain("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
                plain("code_challenge_method", "S256"),
                plain("claims", ""),
                plain("allow", "Authorize"),
            ]
        );
    }

    #[test]
    fn keycloak_login_page_with_language_form() {
        let submission = login(analyse_page(
            KEYCLOAK_LOGIN,
            "https://sso.test/realms/conform/protocol/openid-connect/auth?client_id=conform\
             &response_type=code&scope=openid&redirect_uri=https%3A%2F%2Frp.test%2Fcallback",
        ));
        assert_eq!(submission.method, Method::Post);
        assert_eq!(
            submission.action,
            url("https://sso.test/realms/conform/login-actions/authenticate\
                 ?session_code=Qm9ndXNTZXNzaW9uQ29kZQ\
                 &execution=6f1d0a2e-5b7c-4d3a-9e8f-0a1b2c3d4e5f&client_id=conform&tab_id=x1Y2z3W4")
        );
        assert_eq!(
            submission.fields,
            vec![
                plain("username", USERNAME_VALUE),
                secret("password"),
                plain("credentialId", ""),
                plain("login", "Sign In"),
            ]
        );
        assert_password_redacted(&submission, "password");
    }

    #[test]
    fn identifier_first_email_step() {
        let page_url = "https://login.test/u/login/identifier?state=hKFo2SBkUjNlZ0tWcnZ0WGhOcGpmM3FNQnZ6";
        let submission = login(analyse_page(IDENTIFIER_FIRST, page_url));
        assert_eq!(submission.method, Method::Post);
        assert_eq!(submission.action, url(page_url));
        assert_eq!(
            submission.fields,
            vec![
                plain("state", "hKFo2SBkUjNlZ0tWcnZ0WGhOcGpmM3FNQnZ6"),
                plain("username", USERNAME_VALUE),
                plain("js-available", "false"),
                plain("webauthn-available", "false"),
                plain("is-brave", "false"),
                plain("webauthn-platform-available", "false"),
                plain("action", "default"),
            ]
        );
        assert!(!submission.contains_secret());
    }

    #[test]
    fn a_register_button_beside_next_does_not_make_the_identifier_step_a_sign_up_form() {
        let html = r#"<html><body>
            <form action="/ui/login/loginname" method="post">
              <input type="hidden" name="csrf" value="c1">
              <label for="loginName">Login Name</label><input type="text" id="loginName" name="loginName" autocomplete="username">
              <button id="submit-button" type="submit">Next</button>
              <button id="register-button" type="submit" name="register" value="true" formaction="/ui/login/register">Register</button>
            </form>
            <form action="/ui/login/externalidp" method="post">
              <input type="hidden" name="csrf" value="c1"><button type="submit" name="idp" value="9">Sign in with Google</button>
            </form>
            </body></html>"#;
        let submission = login(analyse_page(html, "https://idp.test/ui/login/loginname"));
        assert_eq!(submission.action, url("https://idp.test/ui/login/loginname"));
        assert_eq!(submission.fields, vec![plain("csrf", "c1"), plain("loginName", USERNAME_VALUE)]);
        // A sign-up form is still one by what it asks for.
        let html = r#"<html><body><form action="/join" method="post"><input type="email" name="signup_email" autocomplete="email">
            <button type="submit">Next</button></form></body></html>"#;
        assert!(matches!(analyse_page(html, "https://idp.test/join"), Page::Unknown { .. }));
    }

    #[test]
    fn sign_in_with_a_provider_first_in_the_login_form_is_not_the_submit() {
        let html = r#"<html><body><form action="/self-service/login?flow=f1" method="post">
            <input type="hidden" name="csrf_token" value="t1">
            <button type="submit" name="provider" value="google">Sign in with Google</button>
            <button type="submit" name="provider" value="github">Continue with GitHub</button>
            <input name="identifier" autocomplete="username"><input type="password" name="password">
            <button type="submit" name="method" value="password">Sign in</button>
            </form></body></html>"#;
        let submission = login(analyse_page(html, "https://auth.test/login"));
        assert_eq!(submission.field("method"), Some(&FieldValue::Plain("password".into())));
        assert!(submission.field("provider").is_none());
        // Alone, it is still the button.
        let html = r#"<html><body><form method="post"><input name="state" type="hidden" value="s">
            <input name="username" autocomplete="username"><button type="submit" name="go" value="1">Continue with email</button>
            </form></body></html>"#;
        let submission = login(analyse_page(html, "https://auth.test/login"));
        assert_eq!(submission.field("go"), Some(&FieldValue::Plain("1".into())));
    }

    #[test]
    fn of_two_password_forms_the_same_origin_one_is_the_login() {
        let html = r#"<html><body>
            <form method="post" action="https://partner.example.test/signin"><input name="user"><input type="password" name="pw"><button>Sign in with Partner</button></form>
            <form method="post" action="/login"><input name="username"><input type="password" name="password"><button>Sign in</button></form>
            </body></html>"#;
        let page = analyse_page(html, "https://auth.test/login?state=1");
        let Page::Login(sub) = page else { panic!("a login page: {page:?}") };
        assert_eq!(sub.action, url("https://auth.test/login"));
    }

    #[test]
    fn consent_page_with_an_agree_box_gets_it_ticked_but_not_the_newsletter() {
        let html = r#"<html><body><h1>Authorize portal?</h1>
            <form method="post">
              <input type="hidden" name="csrfmiddlewaretoken" value="t">
              <fieldset><legend>It asks for:</legend>
                <div><input type="checkbox" id="scope-1" name="scopes" value="openid" checked><label for="scope-1">Sign you in</label></div>
                <div><input type="checkbox" id="scope-2" name="scopes" value="email"><label for="scope-2">Your email</label></div>
              </fieldset>
              <p><input type="checkbox" id="agree" name="agree" value="yes"><label for="agree">I agree to share my data with portal</label></p>
              <p><label><input type="checkbox" name="news" value="1"> Send me the newsletter</label></p>
              <button type="submit" name="cancel" value="Cancel">Cancel</button>
              <button type="submit" name="allow" value="Authorize">Authorize</button>
            </form></body></html>"#;
        let submission = consent(analyse_page(html, "https://auth.test/o/authorize/?client_id=portal"));
        assert_eq!(
            submission.fields,
            vec![
                plain("csrfmiddlewaretoken", "t"),
                plain("scopes", "openid"),
                plain("scopes", "email"),
                plain("agree", "yes"),
                plain("allow", "Authorize"),
            ]
        );
    }

    fn approve_only(html: &str, requested: &[&str], approved: &[&str]) -> Page {
        let url = Url::parse("https://auth.test/consent").unwrap();
        let choice = ConsentChoice::Only {
            requested: requested.iter().map(|s| (*s).to_owned()).collect(),
            approved: approved.iter().map(|s| (*s).to_owned()).collect(),
        };
        analyse_for(
            html,
            &url,
            "jane",
            &Secret::new("pw"),
            &Selectors::default(),
            "https://rp.test/cb",
            &choice,
        )
        .unwrap()
    }

    #[test]
    fn approving_some_scopes_leaves_the_boxes_of_the_others_unticked() {
        // Boxes named by value, by a name suffix, or by a label that reads the scope.
        let html = r#"<html><body><h1>Authorize portal?</h1>
            <form method="post">
              <input type="hidden" name="tx" value="t">
              <label><input type="checkbox" name="scopes" value="profile" checked> profile</label>
              <label><input type="checkbox" name="grant.email" value="yes" checked> Your email address</label>
              <input type="checkbox" id="p" name="g3" checked><label for="p"> phone </label>
              <label><input type="checkbox" name="agree" value="yes"> I agree</label>
              <button type="submit" name="decision" value="allow">Allow</button>
            </form></body></html>"#;
        let Page::Consent(sub) = approve_only(html, &["openid", "profile", "email", "phone"], &["openid", "profile"]) else {
            panic!("a consent page")
        };
        assert_eq!(
            sub.fields,
            vec![
                plain("tx", "t"),
                plain("scopes", "profile"),
                plain("agree", "yes"),
                plain("decision", "allow")
            ]
        );
        // A page that lists scopes without boxes gives no choice.
        let plain_page = r#"<html><body><h1>Authorize portal?</h1><ul><li>email</li></ul>
            <form method="post"><button type="submit" name="decision" value="allow">Allow</button></form></body></html>"#;
        assert!(matches!(
            approve_only(plain_page, &["openid", "email"], &["openid"]),
            Page::ConsentWithoutScopeChoice
        ));
    }

    #[test]
    fn consent_page_with_deny_button_first() {
        let submission = consent(analyse_page(
            CONSENT_DENY_FIRST,
            "https://auth.test/oauth2/consent?consent_challenge=4c3f0e5d7a8b9c1d2e3f",
        ));
        assert_eq!(submission.method, Method::Post);
        assert_eq!(submission.action, url("https://auth.test/oauth2/consent"));
        assert_eq!(
            submission.fields,
            vec![
                plain("consent_challenge", "4c3f0e5d7a8b9c1d2e3f"),
                plain("_csrf", "lO2Xk9pQ-7bVzA"),
                plain("grant_scope", "openid"),
                plain("grant_scope", "profile"),
                // Boxes the user did not tick yet are ticked: the harness approves what it asked for.
                plain("grant_scope", "email"),
                plain("remember_for", "0"),
                plain("decision", "allow"),
            ]
        );
    }

    #[test]
    fn form_post_response() {
        let page = analyse_page(FORM_POST, "https://op.test/authorize?response_mode=form_post");
        let debug = format!("{page:?}");
        let Page::FormPost { action, fields } = page else {
            panic!("expected a form post, got {debug}");
        };
        assert_eq!(action, url(REDIRECT_URI));
        assert_eq!(
            fields,
            vec![
                ("code".to_owned(), "SplxlOBeZQQYbYS6WxSbIA".to_owned()),
                ("state".to_owned(), "af0ifjsldkj".to_owned()),
                ("iss".to_owned(), "https://op.test".to_owned()),
            ]
        );
        // The code is a credential: Debug shows the state, not the code.
        assert!(!debug.contains("SplxlOBeZQQYbYS6WxSbIA"), "{debug}");
        assert!(debug.contains("af0ifjsldkj"), "{debug}");
    }

    #[test]
    fn form_post_needs_the_redirect_uri_and_only_hidden_inputs() {
        let html = r#"<form method="post" action="https://rp.test/callback?tenant=a">
            <input type="hidden" name="error" value="access_denied"></form>"#;
        let page = analyse_page(html, "https://op.test/authorize");
        assert!(
            matches!(&page, Page::FormPost { action, fields }
                if action.as_str() == "https://rp.test/callback?tenant=a"
                    && fields == &[("error".to_owned(), "access_denied".to_owned())]),
            "{page:?}"
        );

        // The same form, posting elsewhere, is not a form post response.
        let html = html.replace("rp.test/callback", "elsewhere.test/callback");
        let page = analyse_page(&html, "https://op.test/authorize");
        assert!(matches!(page, Page::Unknown { .. }), "{page:?}");

        // A visible field makes it something else.
        let html = r#"<form method="post" action="https://rp.test/callback">
            <input type="hidden" name="state" value="s"><input type="text" name="note"></form>"#;
        let page = analyse_page(html, "https://op.test/authorize");
        assert!(!matches!(page, Page::FormPost { .. }), "{page:?}");
    }

    #[test]
    fn error_page_is_unknown_with_title_heading_and_error() {
        let summary = unknown(analyse_page(
            ERROR_PAGE,
            "https://sso.test/realms/conform/protocol/openid-connect/auth",
        ));
        assert!(summary.contains("title \"Conform SSO - Error\""), "{summary}");
        assert!(summary.contains("heading \"We are sorry...\""), "{summary}");
        assert!(summary.contains("Invalid parameter: redirect_uri"), "{summary}");
        assert!(summary.contains("no form"), "{summary}");
        assert!(!summary.contains("dataLayer"), "{summary}");
        assert!(!summary.contains("#c00"), "{summary}");
    }

    #[test]
    fn language_picker_alone_is_not_consent() {
        let html = r#"<html><head><title>Page not found</title></head><body>
            <form id="lang" action="/set-language" method="post">
              <select name="locale"><option>en</option><option>de</option></select>
              <button type="submit">Go</button>
            </form>
            <div class="alert alert-danger" role="alert">The page you asked for does not exist.</div>
            </body></html>"#;
        let summary = unknown(analyse_page(html, "https://op.test/nowhere"));
        assert!(summary.contains("Page not found"), "{summary}");
        assert!(summary.contains("does not exist"), "{summary}");
        assert!(summary.contains("1 form"), "{summary}");
    }

    #[test]
    fn approve_and_deny_in_separate_forms() {
        // Deny first, each decision its own form with a hidden flag.
        let html = r#"<h2>Do you authorize "conform" to access your protected resources?</h2>
            <form id="denialForm" name="denialForm" action="/oauth/authorize" method="post">
              <input name="user_oauth_approval" value="false" type="hidden"/>
              <label><input name="deny" value="Deny" type="submit"/></label></form>
            <form id="confirmationForm" name="confirmationForm" action="/oauth/authorize" method="post">
              <input name="user_oauth_approval" value="true" type="hidden"/>
              <input type="hidden" name="_csrf" value="8f0c"/>
              <label><input name="authorize" value="Authorize" type="submit"/></label></form>"#;
        let submission = consent(analyse_page(html, "https://legacy.test/oauth/authorize?client_id=conform"));
        assert_eq!(
            submission.fields,
            vec![
                plain("user_oauth_approval", "true"),
                plain("_csrf", "8f0c"),
                plain("authorize", "Authorize")
            ]
        );

        // Yes / No inputs named accept / cancel.
        let html = r#"<form class="form-actions" action="/realms/c/login-actions/consent?code=x" method="POST">
            <input type="hidden" name="code" value="x">
            <input name="accept" id="kc-login" type="submit" value="Yes"/>
            <input name="cancel" id="kc-cancel" type="submit" value="No"/></form>"#;
        let submission = consent(analyse_page(html, "https://sso.test/realms/c/login-actions/consent"));
        assert_eq!(submission.fields, vec![plain("code", "x"), plain("accept", "Yes")]);
    }

    #[test]
    fn refusing_buttons_are_never_pressed() {
        let html = r#"<form method="post" action="/decide">
            <input type="hidden" name="t" value="1">
            <button type="submit" name="deny">Deny</button>
            <input type="submit" name="cancel" value="Cancel">
            <button type="submit">No thanks</button>
            </form>
            <form action="/logout" method="post"><button>Sign out</button></form>"#;
        let page = analyse_page(html, "https://op.test/consent");
        assert!(matches!(page, Page::Unknown { .. }), "{page:?}");
    }

    #[test]
    fn login_with_formaction_and_formmethod() {
        let submission = login(analyse_page(FORMACTION_LOGIN, "https://accounts.test/signin"));
        assert_eq!(submission.method, Method::Post);
        assert_eq!(submission.action, url("https://accounts.test/signin/password"));
        assert_eq!(
            submission.fields,
            vec![
                plain("flow_id", "f-91c2e6a0"),
                plain("return_to", "/oauth2/auth?client_id=conform&response_type=code"),
                plain("email", USERNAME_VALUE),
                secret("passwd"),
                plain("method", "password"),
            ]
        );
        assert_password_redacted(&submission, "passwd");
    }

    #[test]
    fn get_form_puts_fields_in_the_query() {
        let html = r#"<form action="/login?old=query#top">
            <input name="user"><input type="password" name="pass">
            <input type="hidden" name="flow" value="a b&c"><button>Sign in</button></form>"#;
        let submission = login(analyse_page(html, "https://op.test/start"));
        assert_eq!(submission.method, Method::Get);
        assert_eq!(submission.action, url("https://op.test/login?old=query"));
        assert_eq!(
            submission.encoded(),
            "user=alice%40example.test&pass=correct+horse+battery+staple&flow=a+b%26c"
        );
        assert_eq!(
            submission.request_url().as_str(),
            "https://op.test/login?user=alice%40example.test\
             &pass=correct+horse+battery+staple&flow=a+b%26c"
        );
    }

    #[test]
    fn browser_form_semantics() {
        let html = r#"<!doctype html><html><head><base href="https://op.test/app/"></head><body>
            <form id="f" action="session" method="POST" enctype="multipart/form-data">
              <input type="hidden" name="_charset_">
              <input name="login" value="ignored">
              <input type="password" name="password">
              <input type="text" name="disabled_one" value="x" disabled>
              <fieldset disabled>
                <legend><input name="in_legend" value="sent"></legend>
                <input name="in_disabled_fieldset" value="not sent">
              </fieldset>
              <input type="checkbox" name="remember">
              <input type="checkbox" name="terms" checked>
              <input type="radio" name="r" value="1" checked><input type="radio" name="r" value="2" checked>
              <select name="country"><option value="">Choose</option><option>Germany</option></select>
              <select name="tz"><option>UTC</option><option selected> Europe/Berlin </option></select>
              <select name="multi" multiple><option selected>a</option><option>b</option><option selected disabled>c</option></select>
              <textarea name="note">line one
line two</textarea>
              <input type="reset" name="reset" value="Reset"><input type="button" name="b" value="B">
              <input type="submit" name="go" value="Sign in">
              <template><input name="inert" value="template"></template>
              <datalist id="dl"><input name="in_datalist" value="x"></datalist>
              <input name="" value="nameless">
            </form>
            <input form="f" name="outside" value="associated">
            </body></html>"#;
        let submission = login(analyse_page(html, "https://op.test/start"));
        assert_eq!(submission.method, Method::Post);
        assert_eq!(submission.enctype, Enctype::Multipart);
        assert_eq!(submission.action, url("https://op.test/app/session"));
        assert_eq!(
            submission.fields,
            vec![
                plain("_charset_", "UTF-8"),
                plain("login", USERNAME_VALUE),
                secret("password"),
                plain("in_legend", "sent"),
                plain("terms", "on"),
                plain("r", "2"),
                plain("country", ""),
                plain("tz", "Europe/Berlin"),
                plain("multi", "a"),
                plain("note", "line one\r\nline two"),
                plain("go", "Sign in"),
                plain("outside", "associated"),
            ]
        );
    }

    #[test]
    fn form_in_a_table_owns_the_table_controls() {
        let html = r#"<table><form method="post" action="/auth"><tr><td>
            <input name="uid"></td></tr><tr><td><input type="password" name="pw">
            </td></tr><tr><td><input type="submit" value="Login"></td></tr></table>"#;
        let submission = login(analyse_page(html, "https://legacy.test/"));
        assert_eq!(submission.action, url("https://legacy.test/auth"));
        assert_eq!(submission.fields, vec![plain("uid", USERNAME_VALUE), secret("pw")]);
    }

    #[test]
    fn username_field_preference() {
        // A honeypot hidden by style, a search box and a one-time code field
        // lose against the field that says it is the username.
        let html = r#"<form method="post">
            <input type="text" name="website" style="display:none">
            <input type="text" name="q" placeholder="Search">
            <input type="text" name="otp_code">
            <input type="email" name="identifier" autocomplete="username">
            <input type="password" name="password">
            <button>Log in</button></form>"#;
        let submission = login(analyse_page(html, "https://op.test/login"));
        assert_eq!(
            submission.fields,
            vec![
                plain("website", ""),
                plain("q", ""),
                plain("otp_code", ""),
                plain("identifier", USERNAME_VALUE),
                secret("password"),
            ]
        );
    }

    #[test]
    fn password_only_step_fills_only_the_password() {
        let html = r#"<form method="post" action="/login/password">
            <p>Signed in as alice@example.test</p>
            <input type="hidden" name="username" value="alice@example.test">
            <input type="text" name="username_display" value="alice@example.test" readonly>
            <input type="password" name="password"><button type="submit">Next</button></form>"#;
        let submission = login(analyse_page(html, "https://op.test/login/password"));
        assert_eq!(
            submission.fields,
            vec![
                plain("username", "alice@example.test"),
                plain("username_display", "alice@example.test"),
                secret("password"),
            ]
        );
    }

    #[test]
    fn login_form_is_chosen_among_several() {
        // Search, a sign-up form with two password fields, the login form and
        // a forgotten-password form, in that order.
        let html = r#"<form action="/search"><input name="q"><button>Search</button></form>
            <form action="/signup" method="post"><input name="email" type="email">
              <input type="password" name="new_password"><input type="password" name="confirm">
              <button>Create account</button></form>
            <form action="/login" method="post"><input name="user">
              <input type="password" name="pass"><button>Sign in</button></form>
            <form action="/forgot" method="post"><input name="email" type="email">
              <button>Reset password</button></form>"#;
        let submission = login(analyse_page(html, "https://op.test/"));
        assert_eq!(submission.action, url("https://op.test/login"));
        assert_eq!(submission.fields, vec![plain("user", USERNAME_VALUE), secret("pass")]);

        // Without a login form, the forgotten-password form is not an
        // identifier-first step.
        let html = r#"<form action="/password/forgot" method="post">
            <input name="email" type="email"><button>Send reset link</button></form>"#;
        let page = analyse_page(html, "https://op.test/");
        assert!(matches!(page, Page::Unknown { .. }), "{page:?}");
    }

    #[test]
    fn profile_selectors_override_detection() {
        let html = r#"<form method="post" action="/authn">
            <input type="text" name="tenant" value="">
            <input type="text" name="acct" id="acct">
            <input type="text" name="pin" class="secret-pin">
            <button type="submit" name="go" value="1">Weiter</button></form>"#;
        let selectors = Selectors {
            username: Some("#acct".to_owned()),
            password: Some("input.secret-pin".to_owned()),
            consent: None,
            ..Selectors::default()
        };
        let submission = login(analyse_with(html, "https://op.test/", &selectors));
        assert_eq!(
            submission.fields,
            vec![plain("tenant", ""), plain("acct", USERNAME_VALUE), secret("pin"), plain("go", "1"),]
        );
        assert_password_redacted(&submission, "pin");

        let html = r#"<form method="post" action="/grant">
            <button type="submit" name="x" value="1">Ja, zulassen</button>
            <button type="submit" name="x" value="0" id="approve">Weiter</button></form>"#;
        let selectors = Selectors {
            consent: Some("#approve".to_owned()),
            ..Selectors::default()
        };
        let submission = consent(analyse_with(html, "https://op.test/", &selectors));
        assert_eq!(submission.fields, vec![plain("x", "0")]);
    }

    #[test]
    fn selector_errors_name_the_selector() {
        let selectors = Selectors {
            password: Some("input[type=password]]".to_owned()),
            ..Selectors::default()
        };
        let error = analyse(
            PLAIN_LOGIN,
            &url("https://id.acme.test/login"),
            USERNAME_VALUE,
            &password(),
            &selectors,
            REDIRECT_URI,
        )
        .map(|_| ())
        .expect_err("invalid selector");
        let message = error.to_string();
        assert!(matches!(error, FormError::InvalidSelector { field: "password", .. }));
        assert!(message.contains("`password`"), "{message}");
        assert!(message.contains("input[type=password]]"), "{message}");
        assert!(message.contains("hint"), "{message}");

        let selectors = Selectors {
            consent: Some("a.approve".to_owned()),
            ..Selectors::default()
        };
        let html = r#"<p>Allow access?</p><a class="approve" href="/yes">Allow</a>"#;
        let error = analyse(
            html,
            &url("https://op.test/"),
            USERNAME_VALUE,
            &password(),
            &selectors,
            REDIRECT_URI,
        )
        .map(|_| ())
        .expect_err("consent selector on a link");
        assert!(matches!(error, FormError::SelectorMismatch { field: "consent", .. }), "{error}");
        assert!(error.to_string().contains("<a class=\"approve\">"), "{error}");
    }

    #[test]
    fn unusable_actions_are_errors() {
        let analyse_error = |html: &str| {
            analyse(
                html,
                &url("https://op.test/login"),
                USERNAME_VALUE,
                &password(),
                &Selectors::default(),
                REDIRECT_URI,
            )
            .map(|_| ())
            .expect_err("bad action")
        };
        let error = analyse_error(
            r#"<form action="javascript:void(0)"><input name="u"><input type="password" name="p"><button>Sign in</button></form>"#,
        );
        assert!(matches!(error, FormError::UnsupportedAction { .. }), "{error}");
        assert!(error.to_string().contains("javascript:void(0)"), "{error}");

        let error = analyse_error(
            r#"<form action="http://[::1/login"><input name="u"><input type="password" name="p"><button>Sign in</button></form>"#,
        );
        assert!(matches!(error, FormError::InvalidAction { .. }), "{error}");
        let message = error.to_string();
        assert!(message.starts_with("form action `http://[::1/login`"), "{message}");
        assert!(message.contains("hint"), "{message}");
    }

    #[test]
    fn javascript_only_login_is_unknown_with_a_note() {
        let html = r#"<html><head><title>Sign in</title></head><body><div id="app">
            <input type="email" id="email"><input type="password" id="pw">
            <button onclick="signIn()">Sign in</button></div>
            <noscript>You need to enable JavaScript to run this app.</noscript></body></html>"#;
        let summary = unknown(analyse_page(html, "https://spa.test/login"));
        assert!(summary.contains("outside any form"), "{summary}");
        assert!(summary.contains("title \"Sign in\""), "{summary}");
    }

    #[test]
    fn noscript_is_read_as_markup() {
        assert_eq!(
            neutralise_noscript("<NoScript class=x>a</noscript ><noscripts></p>"),
            "<x-NoScript class=x>a</x-noscript ><noscripts></p>"
        );
        assert!(matches!(neutralise_noscript("no tags here"), std::borrow::Cow::Borrowed(_)));
        // A login form offered only to browsers without JavaScript.
        let html = r#"<div id="root"></div><noscript><form method="post" action="/nojs/login">
            <input name="username"><input type="password" name="password">
            <input type="submit" value="Sign in"></form></noscript>"#;
        let submission = login(analyse_page(html, "https://spa.test/"));
        assert_eq!(submission.action, url("https://spa.test/nojs/login"));
    }

    #[test]
    fn words_split_names_and_camel_case() {
        assert_eq!(words("btnAllowAccess"), ["btn", "allow", "access"]);
        assert_eq!(words("kc_locale-select"), ["kc", "locale", "select"]);
        assert_eq!(words("Don't allow"), ["don", "t", "allow"]);
        assert!(REFUSE.matches(&words("Don't allow")));
        assert!(APPROVE.matches(&words("Yes, authorise")));
        assert!(!REFUSE.matches(&words("Authorize now")));
    }

    /// A tiny deterministic generator for the robustness test.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn char_prefix(text: &str, len: usize) -> &str {
        let mut end = len.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        &text[..end]
    }

    #[test]
    fn never_panics_on_garbage() {
        let selectors = Selectors {
            username: Some("#username, input[name=login]".to_owned()),
            password: Some("input[type=password]".to_owned()),
            consent: Some("button[value=allow]".to_owned()),
            ..Selectors::default()
        };
        // Odd but valid selectors.
        let odd = Selectors {
            username: Some("\\".to_owned()),
            password: Some("*|*".to_owned()),
            consent: Some("a:has(b), |a, :is(".to_owned()),
            ..Selectors::default()
        };
        let page_url = url("https://op.test/a/b?c=d");
        let check = |html: &str| {
            for selectors in [&selectors, &odd, &Selectors::default()] {
                // Errors are fine; panics are not.
                let _ = analyse(html, &page_url, USERNAME_VALUE, &password(), selectors, REDIRECT_URI);
            }
        };

        let mut inputs = 0;
        // Prefixes of every fixture: truncated pages.
        for fixture in FIXTURES {
            let step = (fixture.len() / 60).max(1);
            for len in (0..=fixture.len()).step_by(step) {
                check(char_prefix(fixture, len));
                inputs += 1;
            }
        }

        // Splices of fixture pieces and markup fragments.
        const PIECES: &[&str] = &[
            "<form",
            "</form>",
            "<form action=\"",
            "https://rp.test/callback",
            "\">",
            "<input",
            " type=password",
            " type=hidden",
            " type=submit",
            " name=",
            "\"",
            "'",
            ">",
            "<",
            "<button>",
            "</button>",
            "Allow",
            "Deny",
            "<select>",
            "<option selected>",
            "</select>",
            "<textarea>",
            "<table>",
            "<tr><td>",
            "<template>",
            "</template>",
            "<noscript>",
            "</noscript>",
            "<fieldset disabled>",
            "<legend>",
            "<svg><title>",
            "</svg>",
            "<base href=\"//[\">",
            " formaction=\"\u{0}\"",
            " form=f",
            " id=f",
            "&amp;",
            "&#0;",
            "\u{feff}",
            "é",
            "日本",
            "<!--",
            "-->",
            "<![CDATA[",
            "<script>",
            "</script>",
            " disabled",
            " checked",
            " hidden",
            " style=\"display:none\"",
            "<datalist>",
            "<math><mi>",
            "\r\n",
            "\0",
        ];
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..400 {
            let mut html = String::new();
            for _ in 0..rng.below(40) {
                if rng.below(4) == 0 {
                    let fixture = FIXTURES[rng.below(FIXTURES.len())];
                    let start = char_prefix(fixture, rng.below(fixture.len())).len();
                    let rest = &fixture[start..];
                    html.push_str(char_prefix(rest, rng.below(200)));
                } else {
                    html.push_str(PIECES[rng.below(PIECES.len())]);
                }
            }
            check(&html);
            inputs += 1;
        }

        // Deep nesting.
        check(&"<div><form><fieldset>".repeat(2000));
        check(&"<table><form>".repeat(500));
        assert!(inputs > 600, "{inputs}");
    }

    /// oidc-provider's user code page: the button outside the form (`form=`).
    const NODE_USER_CODE: &str = r#"<!DOCTYPE html><html><head><title>Sign-in</title></head><body><div class="container"><h1>Sign-in</h1>
        <p>Enter the code displayed on your device</p>
        <form id="op.deviceInputForm" novalidate method="post" action="/device">
          <input type="hidden" name="xsrf" value="x1"/>
          <input type="text" name="user_code" placeholder="Enter code" onfocus="this.select()" autofocus autocomplete="off"></input>
        </form>
        <button type="submit" form="op.deviceInputForm">Continue</button></div></body></html>"#;

    #[test]
    fn a_user_code_page_gets_the_code_as_a_secret() {
        let url = Url::parse("https://op.test/device").unwrap();
        let code = Secret::new("WDJB-MJHT");
        let sub = user_code_entry(NODE_USER_CODE, &url, &code).expect("the code form is found");
        assert_eq!(sub.method, Method::Post);
        assert_eq!(sub.action.as_str(), "https://op.test/device");
        assert_eq!(sub.field("xsrf"), Some(&FieldValue::Plain("x1".into())));
        assert!(matches!(sub.field("user_code"), Some(FieldValue::Secret(s)) if s.expose() == "WDJB-MJHT"));
        assert!(!format!("{sub:?}").contains("WDJB"), "the code is never shown");

        let labelled = r#"<form method="post" action="/device/verify"><label for="c">Code from your TV</label><input id="c" name="c">
            <button name="cancel" value="1">Cancel</button><button>Next</button></form>"#;
        let sub = user_code_entry(labelled, &url, &code).expect("a field labelled as a code");
        assert!(matches!(sub.field("c"), Some(FieldValue::Secret(_))));
        assert_eq!(sub.field("cancel"), None, "the continuing button is pressed, not cancel");
    }

    #[test]
    fn other_pages_are_no_user_code_page() {
        let url = Url::parse("https://op.test/x").unwrap();
        let code = Secret::new("WDJB-MJHT");
        for html in FIXTURES {
            assert!(user_code_entry(html, &url, &code).is_none());
        }
        let two_fields = r#"<form method="post"><input name="user_code"><input name="nickname"><button>Go</button></form>"#;
        assert!(user_code_entry(two_fields, &url, &code).is_none());
        let hidden_code = r#"<form method="post"><input type="hidden" name="user_code" value="A"><button>Continue</button></form>"#;
        assert!(user_code_entry(hidden_code, &url, &code).is_none());
        let cancel_only = r#"<form method="post"><input name="user_code"><button>Cancel</button></form>"#;
        assert!(user_code_entry(cancel_only, &url, &code).is_none());
        let search = r#"<form action="/search"><input name="q" placeholder="Search code"><button>Search</button></form>"#;
        assert!(user_code_entry(search, &url, &code).is_none());
    }
}
