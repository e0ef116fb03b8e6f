//! The page oracle: what a login-flow page is and which of its controls to
//! use.
//!
//! Given an HTML page (as served, or as a live browser page serialised by
//! [`super::browser`]), the oracle finds:
//!
//! 1. an OAuth 2.0 Form Post Response Mode page (a form of hidden inputs whose
//!    action is the redirect URI);
//! 2. a login form (a form with a password field, or an identifier-first step
//!    asking only for the username): the username and password fields and the
//!    submit button;
//! 3. a consent form: its approving button (and, in [`super::consent`], its
//!    denying control and per-scope boxes);
//! 4. anything else: a summary of the page for error messages.
//!
//! One rule set serves both drivers. The form driver applies it to the page
//! as served ([`super::form::analyse_for`]); the browser driver applies the
//! same rules to a snapshot of the live page ([`live`]), with what is not
//! shown left out, and only then looks, with the same words, at what no form
//! rule can reach (fields outside a form or without a name, controls a script
//! handles). Where the form driver cannot act as a browser would (a login form
//! only its script can send), it says so and the page goes to the browser.
//! A link is followed only where it goes on with signing in ([`way_on_link`]).
//!
//! There is no per-provider code: forms are read the way a browser with
//! JavaScript disabled reads them (form owners, the `form` attribute,
//! disabled fieldsets, checked boxes, selected options, `formaction` and
//! `formmethod` on the pressed button, `<base href>`, `<noscript>` content),
//! and the provider profile can override detection with CSS [`Selectors`].
//! The form driver ([`super::form`]) builds the submission from the oracle's
//! answer.

use std::collections::HashMap;

use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::consent::DENY;
use super::form::{FormError, Page};

/// Optional CSS selectors from the provider profile that override detection.
///
/// A selector that matches nothing usable on a page leaves that page to
/// detection, so one profile can serve every page of a flow; the exception is
/// `consent`, which is an error when it matches something that is not a
/// submit button in a form (pressing some other button instead would be a
/// guess).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selectors {
    /// The username (login, email) input.
    pub username: Option<String>,
    /// The password input.
    pub password: Option<String>,
    /// The submit button to press to approve a consent page.
    pub consent: Option<String>,
    /// Which driver gets through login and consent pages.
    pub driver: super::browser::Driver,
    /// What the browser driver does first on a login page (profile `login.steps`).
    pub steps: Vec<super::browser::Step>,
    /// Every case signs in itself: no shared session where sign-ins need the
    /// browser (`run --fresh-sign-ins`; not a profile setting).
    pub fresh_sign_ins: bool,
}

// Selectors

pub(super) const USERNAME: usize = 0;
pub(super) const PASSWORD: usize = 1;
pub(super) const CONSENT: usize = 2;
pub(super) const FIELD_NAMES: [&str; 3] = ["username", "password", "consent"];

/// The profile's selectors, parsed.
pub(super) struct Compiled {
    pub(super) selectors: [Option<(String, Selector)>; 3],
}

impl Compiled {
    pub(super) fn new(selectors: &Selectors) -> Result<Self, FormError> {
        let parse = |index: usize, source: &Option<String>| match source {
            None => Ok(None),
            Some(source) => match Selector::parse(source) {
                Ok(selector) => Ok(Some((source.clone(), selector))),
                Err(error) => Err(FormError::InvalidSelector {
                    field: FIELD_NAMES[index],
                    selector: shown_selector(source),
                    reason: selector_error_reason(&error),
                }),
            },
        };
        Ok(Self {
            selectors: [
                parse(USERNAME, &selectors.username)?,
                parse(PASSWORD, &selectors.password)?,
                parse(CONSENT, &selectors.consent)?,
            ],
        })
    }
}

/// What is wrong with a CSS selector, in plain words. (scraper's own message
/// for errors from the selectors crate asks to report a bug; the kind it
/// carries names the real problem.)
pub fn selector_error_reason(error: &scraper::error::SelectorErrorKind) -> String {
    use scraper::error::SelectorErrorKind as K;
    let reason = match error {
        K::UnexpectedToken => "a character is out of place (check the brackets, quotes and combinators)",
        K::EndOfLine => "it ends too early (an unclosed `[`, `(` or quote, or nothing after a combinator)",
        K::InvalidAtRule | K::InvalidAtRuleBody => "`@` rules are not selectors",
        K::QualRuleInvalid => "it is not a selector",
        K::TooManyNestedBlocks => "it nests brackets too deeply",
        K::ExpectedColonOnPseudoElement => "a pseudo-element needs `::` before its name",
        K::ExpectedIdentityOnPseudoElement => "a pseudo-element needs a name after `::`",
        // The selectors crate's kind is not re-exported: its name says it.
        K::UnexpectedSelectorParseError(kind) => match format!("{kind:?}").as_str() {
            "EmptySelector" => "it is empty, or a part of it is (nothing between commas, or a `#` or `.` without a name)",
            "DanglingCombinator" => "a combinator (`>`, `+`, `~`) has no selector after it (`>>` is not CSS)",
            "NonCompoundSelector" => "only a simple selector (no combinator) is allowed here",
            "NoQualifiedNameInAttributeSelector" => "an attribute selector `[…]` names no attribute",
            "UnexpectedTokenInAttributeSelector" => {
                "an attribute selector `[…]` has something out of place (write `[name=value]` or `[name=\"a value\"]`)"
            }
            "BadValueInAttr" => "an attribute value is neither a word nor a quoted string (quote it: `[name=\"a value\"]`)",
            "ExpectedBarInAttr" | "InvalidQualNameInAttr" | "ExpectedNamespace" | "ExplicitNamespaceUnexpectedToken" => {
                "a namespace prefix (`ns|name`) is malformed"
            }
            "PseudoElementExpectedColon" => "a pseudo-element needs `::` before its name",
            "PseudoElementExpectedIdent" => "a pseudo-element needs a name after `::`",
            "NoIdentForPseudo" => "a `:` has no pseudo-class name after it",
            "UnsupportedPseudoClassOrElement" => {
                "it uses a pseudo-class or pseudo-element that is not standard CSS (e.g. jQuery's `:contains` or `:visible`)"
            }
            "UnexpectedIdent" => "a name is out of place",
            "ClassNeedsIdent" => "a `.` has no class name after it",
            _ => "a pseudo-element stands where it is not allowed",
        },
    };
    reason.to_owned()
}

/// A selector as messages quote it: control characters escaped, cut short.
pub fn shown_selector(selector: &str) -> String {
    let cut: String = selector.chars().take(160).collect();
    let more = if selector.chars().count() > 160 { "…" } else { "" };
    let escaped: String = cut
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    format!("{escaped}{more}")
}

// ---------------------------------------------------------------------------
// Reading the document

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum InputType {
    Hidden,
    Text,
    Search,
    Tel,
    Url,
    Email,
    Password,
    Checkbox,
    Radio,
    File,
    Submit,
    Image,
    Reset,
    Button,
    /// Dates, numbers, colours, ranges: typed values sent as they are.
    Other,
}

impl InputType {
    pub(super) fn of(element: ElementRef<'_>) -> Self {
        let Some(kind) = element.attr("type") else {
            return InputType::Text;
        };
        match kind.trim().to_ascii_lowercase().as_str() {
            "hidden" => InputType::Hidden,
            "search" => InputType::Search,
            "tel" => InputType::Tel,
            "url" => InputType::Url,
            "email" => InputType::Email,
            "password" => InputType::Password,
            "checkbox" => InputType::Checkbox,
            "radio" => InputType::Radio,
            "file" => InputType::File,
            "submit" => InputType::Submit,
            "image" => InputType::Image,
            "reset" => InputType::Reset,
            "button" => InputType::Button,
            "date" | "month" | "week" | "time" | "datetime-local" | "number" | "range" | "color" => InputType::Other,
            // Unknown types are text inputs, as in browsers.
            _ => InputType::Text,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum ButtonType {
    Submit,
    Reset,
    Button,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kind {
    Input(InputType),
    Button(ButtonType),
    Select,
    Textarea,
}

/// A form-associated element (input, button, select, textarea).
pub(super) struct Control<'a> {
    pub(super) element: ElementRef<'a>,
    pub(super) kind: Kind,
    /// The `name` attribute, "" when absent.
    pub(super) name: &'a str,
    /// Index of the owning form in [`Doc::forms`].
    pub(super) owner: Option<usize>,
    pub(super) disabled: bool,
    /// Hidden by the `hidden` attribute, inline style or a hiding class, on
    /// itself or an ancestor.
    pub(super) css_hidden: bool,
    pub(super) in_datalist: bool,
    /// Matched by the profile's username / password / consent selector.
    pub(super) hits: [bool; 3],
    pub(super) form_attr: Option<&'a str>,
    pub(super) ancestor_form: Option<usize>,
    pub(super) table_form: Option<usize>,
}

impl Control<'_> {
    pub(super) fn enabled(&self) -> bool {
        !self.disabled && !self.in_datalist
    }

    pub(super) fn is_submit_button(&self) -> bool {
        matches!(
            self.kind,
            Kind::Button(ButtonType::Submit) | Kind::Input(InputType::Submit) | Kind::Input(InputType::Image)
        )
    }

    /// A field the user types into.
    pub(super) fn is_typed(&self) -> bool {
        matches!(
            self.kind,
            Kind::Textarea
                | Kind::Input(
                    InputType::Text
                        | InputType::Search
                        | InputType::Tel
                        | InputType::Url
                        | InputType::Email
                        | InputType::Password
                        | InputType::Other
                )
        )
    }

    /// A text input a username can go into.
    pub(super) fn is_username_like_type(&self) -> bool {
        matches!(self.kind, Kind::Input(InputType::Text | InputType::Email | InputType::Tel))
    }

    pub(super) fn readonly(&self) -> bool {
        self.element.attr("readonly").is_some()
    }

    pub(super) fn visible(&self) -> bool {
        !self.css_hidden
    }

    /// The words of a button: name, value, text, label, id, title.
    pub(super) fn button_words(&self) -> Vec<String> {
        let mut text = String::new();
        for attr in ["name", "value", "aria-label", "id", "title", "alt"] {
            if let Some(value) = self.element.attr(attr) {
                text.push_str(value);
                text.push(' ');
            }
        }
        if matches!(self.kind, Kind::Button(_)) {
            text.push_str(&text_of(self.element));
        }
        words(&text)
    }
}

pub(super) struct Form<'a> {
    pub(super) element: ElementRef<'a>,
    /// Indexes into [`Doc::controls`], in tree order.
    pub(super) controls: Vec<usize>,
}

/// Per-element state of the walk, undone when the element closes.
#[derive(Default)]
pub(super) struct Frame {
    hidden: bool,
    disabled_fieldset: bool,
    legend_exempt: bool,
    datalist: bool,
    foreign: bool,
    form: bool,
    table: bool,
}

/// Everything [`analyse`] needs from a parsed page.
pub(super) struct Doc<'a> {
    pub(super) page_url: &'a Url,
    pub(super) base: Url,
    pub(super) compiled: &'a Compiled,
    pub(super) forms: Vec<Form<'a>>,
    pub(super) controls: Vec<Control<'a>>,
    pub(super) title: Option<ElementRef<'a>>,
    pub(super) headings: Vec<ElementRef<'a>>,
    pub(super) alerts: Vec<ElementRef<'a>>,
    pub(super) refresh: Option<&'a str>,
    pub(super) body: Option<ElementRef<'a>>,
    /// First element each profile selector matched that is not a control.
    pub(super) other_hits: [Option<ElementRef<'a>>; 3],
}

/// The controls of a login or identifier-first step: indexes into
/// [`Doc::controls`] (and [`Doc::forms`] for the form).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct LoginStep {
    pub(super) form: usize,
    pub(super) username: Option<usize>,
    pub(super) password: Option<usize>,
    pub(super) submitter: Option<usize>,
}

/// Builds a [`Doc`] in one iterative walk over the tree (no recursion, so
/// deeply nested garbage cannot overflow the stack).
pub(super) struct Walker<'a> {
    /// Reading a live page's snapshot: its [`LIVE_HIDDEN`] marks count.
    live: bool,
    doc: Doc<'a>,
    stack: Vec<Frame>,
    hidden: usize,
    disabled: usize,
    datalist: usize,
    foreign: usize,
    form_stack: Vec<usize>,
    /// A form the parser put, empty, directly in a table (`<table><form>`):
    /// browsers associate the table's controls with it. (form, depth of the
    /// table in `stack`).
    table_form: Option<(usize, usize)>,
    ordinal: usize,
    ids: HashMap<&'a str, usize>,
    form_at: HashMap<usize, usize>,
    base_href: Option<&'a str>,
}

impl<'a> Doc<'a> {
    pub(super) fn build(document: &'a Html, page_url: &'a Url, compiled: &'a Compiled) -> Self {
        Self::build_from(document, page_url, compiled, false)
    }

    /// [`Doc::build`] over a live page's snapshot: a control the snapshot
    /// marks as not shown ([`LIVE_HIDDEN`]) is hidden.
    pub(super) fn build_live(document: &'a Html, page_url: &'a Url, compiled: &'a Compiled) -> Self {
        Self::build_from(document, page_url, compiled, true)
    }

    fn build_from(document: &'a Html, page_url: &'a Url, compiled: &'a Compiled, live: bool) -> Self {
        let mut walker = Walker {
            live,
            doc: Doc {
                page_url,
                base: page_url.clone(),
                compiled,
                forms: Vec::new(),
                controls: Vec::new(),
                title: None,
                headings: Vec::new(),
                alerts: Vec::new(),
                refresh: None,
                body: None,
                other_hits: [None, None, None],
            },
            stack: Vec::new(),
            hidden: 0,
            disabled: 0,
            datalist: 0,
            foreign: 0,
            form_stack: Vec::new(),
            table_form: None,
            ordinal: 0,
            ids: HashMap::new(),
            form_at: HashMap::new(),
            base_href: None,
        };

        let root = document.tree.root();
        let mut next = root.first_child();
        while let Some(node) = next {
            let mut descend = true;
            if let Some(element) = ElementRef::wrap(node) {
                walker.open(element);
                // Template contents are inert: no forms, no controls.
                descend = element.value().name() != "template";
            }
            if descend && let Some(child) = node.first_child() {
                next = Some(child);
                continue;
            }
            let mut node = node;
            next = loop {
                if let Some(element) = ElementRef::wrap(node) {
                    walker.close(element);
                }
                if let Some(sibling) = node.next_sibling() {
                    break Some(sibling);
                }
                match node.parent() {
                    Some(parent) if parent.parent().is_some() => node = parent,
                    _ => break None,
                }
            };
        }
        walker.finish()
    }
}

impl<'a> Walker<'a> {
    pub(super) fn open(&mut self, element: ElementRef<'a>) {
        let ordinal = self.ordinal;
        self.ordinal += 1;
        let name = element.value().name();
        let mut frame = Frame::default();

        if name == "svg" || name == "math" {
            frame.foreign = true;
        }
        if hides(element) || (self.live && element.attr(LIVE_HIDDEN).is_some()) {
            frame.hidden = true;
        }
        if name == "fieldset" && element.attr("disabled").is_some() {
            frame.disabled_fieldset = true;
        }
        if name == "legend" && self.disabled > 0 && is_first_legend_of_disabled_fieldset(element) {
            frame.legend_exempt = true;
        }
        if name == "datalist" {
            frame.datalist = true;
        }
        if name == "table" {
            frame.table = true;
        }

        if let Some(id) = element.attr("id") {
            self.ids.entry(id).or_insert(ordinal);
        }

        let html_element = self.foreign == 0 && !frame.foreign;
        if html_element {
            self.record(element, ordinal, name, &mut frame);
        }
        for (index, selector) in self.doc.compiled.selectors.iter().enumerate() {
            if let Some((_, selector)) = selector
                && selector.matches(&element)
            {
                let is_control = html_element
                    && matches!(name, "input" | "button" | "select" | "textarea")
                    && self.doc.controls.last().is_some_and(|control| control.element == element);
                if is_control {
                    if let Some(control) = self.doc.controls.last_mut() {
                        control.hits[index] = true;
                    }
                } else if self.doc.other_hits[index].is_none() {
                    self.doc.other_hits[index] = Some(element);
                }
            }
        }

        self.hidden += usize::from(frame.hidden);
        self.disabled += usize::from(frame.disabled_fieldset);
        self.disabled -= usize::from(frame.legend_exempt);
        self.datalist += usize::from(frame.datalist);
        self.foreign += usize::from(frame.foreign);
        self.stack.push(frame);
    }

    pub(super) fn record(&mut self, element: ElementRef<'a>, ordinal: usize, name: &str, frame: &mut Frame) {
        match name {
            "form" => {
                let index = self.doc.forms.len();
                self.doc.forms.push(Form {
                    element,
                    controls: Vec::new(),
                });
                self.form_at.insert(ordinal, index);
                frame.form = true;
                self.form_stack.push(index);
                let in_table = element
                    .parent()
                    .and_then(ElementRef::wrap)
                    .is_some_and(|parent| matches!(parent.value().name(), "table" | "tbody" | "thead" | "tfoot" | "tr"));
                if in_table
                    && element.first_child().is_none()
                    && let Some(depth) = self.stack.iter().rposition(|frame| frame.table)
                {
                    self.table_form = Some((index, depth));
                }
            }
            "input" | "button" | "select" | "textarea" => {
                let kind = match name {
                    "input" => Kind::Input(InputType::of(element)),
                    "button" => Kind::Button(match element.attr("type").map(|kind| kind.trim().to_ascii_lowercase()).as_deref() {
                        Some("reset") => ButtonType::Reset,
                        Some("button") => ButtonType::Button,
                        _ => ButtonType::Submit,
                    }),
                    "select" => Kind::Select,
                    _ => Kind::Textarea,
                };
                let css_hidden = self.hidden > 0 || frame.hidden;
                self.doc.controls.push(Control {
                    element,
                    kind,
                    name: element.attr("name").unwrap_or(""),
                    owner: None,
                    disabled: self.disabled > 0 || element.attr("disabled").is_some(),
                    css_hidden,
                    in_datalist: self.datalist > 0,
                    hits: [false; 3],
                    form_attr: element.attr("form"),
                    ancestor_form: self.form_stack.last().copied(),
                    table_form: self.table_form.map(|(form, _)| form),
                });
            }
            "title" if self.doc.title.is_none() => self.doc.title = Some(element),
            "h1" | "h2" | "h3" if self.hidden == 0 && !frame.hidden && self.doc.headings.len() < 8 => {
                self.doc.headings.push(element);
            }
            "base" if self.base_href.is_none() => self.base_href = element.attr("href"),
            "meta"
                if self.doc.refresh.is_none()
                    && element
                        .attr("http-equiv")
                        .is_some_and(|value| value.trim().eq_ignore_ascii_case("refresh")) =>
            {
                self.doc.refresh = element.attr("content");
            }
            "body" if self.doc.body.is_none() => self.doc.body = Some(element),
            _ => {}
        }
        if self.hidden == 0
            && !frame.hidden
            && self.doc.alerts.len() < 16
            && !matches!(name, "input" | "button" | "select" | "textarea" | "form" | "html" | "body")
            && is_alert(element)
        {
            self.doc.alerts.push(element);
        }
    }

    pub(super) fn close(&mut self, _element: ElementRef<'a>) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        self.hidden -= usize::from(frame.hidden);
        self.disabled -= usize::from(frame.disabled_fieldset);
        self.disabled += usize::from(frame.legend_exempt);
        self.datalist -= usize::from(frame.datalist);
        self.foreign -= usize::from(frame.foreign);
        if frame.form {
            self.form_stack.pop();
        }
        if frame.table
            && let Some((_, depth)) = self.table_form
            && depth >= self.stack.len()
        {
            self.table_form = None;
        }
    }

    pub(super) fn finish(mut self) -> Doc<'a> {
        // The form owner: the form named by the `form` attribute (if that id
        // is a form), else the nearest form ancestor, else a form the parser
        // left empty in a table around the control.
        for index in 0..self.doc.controls.len() {
            let control = &self.doc.controls[index];
            let owner = match control.form_attr {
                Some(id) => self.ids.get(id).and_then(|ordinal| self.form_at.get(ordinal)).copied(),
                None => control.ancestor_form.or(control.table_form),
            };
            self.doc.controls[index].owner = owner;
            if let Some(form) = owner
                && let Some(form) = self.doc.forms.get_mut(form)
            {
                form.controls.push(index);
            }
        }
        if let Some(href) = self.base_href
            && let Ok(base) = self.doc.page_url.join(href.trim())
        {
            self.doc.base = base;
        }
        self.doc
    }
}

pub(super) fn is_first_legend_of_disabled_fieldset(legend: ElementRef<'_>) -> bool {
    let Some(parent) = legend.parent().and_then(ElementRef::wrap) else {
        return false;
    };
    parent.value().name() == "fieldset"
        && parent.attr("disabled").is_some()
        && !legend
            .prev_siblings()
            .filter_map(ElementRef::wrap)
            .any(|sibling| sibling.value().name() == "legend")
}

/// Whether an element hides itself and its content: the `hidden` attribute,
/// `display: none` / `visibility: hidden` inline, or a common hiding class.
pub(super) fn hides(element: ElementRef<'_>) -> bool {
    if element.attr("hidden").is_some() {
        return true;
    }
    if let Some(style) = element.attr("style") {
        let style: String = style
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        if style.contains("display:none") || style.contains("visibility:hidden") {
            return true;
        }
    }
    element.value().classes().any(|class| {
        matches!(
            class.to_ascii_lowercase().as_str(),
            "hidden" | "d-none" | "hide" | "is-hidden" | "visually-hidden" | "sr-only" | "invisible"
        )
    })
}

/// Whether an element looks like an error or alert message.
pub(super) fn is_alert(element: ElementRef<'_>) -> bool {
    if element.attr("role").is_some_and(|role| role.eq_ignore_ascii_case("alert")) {
        return true;
    }
    let mut text = String::new();
    if let Some(id) = element.attr("id") {
        text.push_str(id);
        text.push(' ');
    }
    if let Some(class) = element.attr("class") {
        text.push_str(class);
    }
    words(&text).iter().any(|word| {
        matches!(
            word.as_str(),
            "error" | "errors" | "errorlist" | "alert" | "danger" | "invalid" | "warning"
        ) || word.starts_with("feedback")
    })
}

// ---------------------------------------------------------------------------
// Decisions

/// Words (prefixes unless marked exact) that classify buttons and forms.
pub(super) struct Lexicon {
    pub(super) prefixes: &'static [&'static str],
    pub(super) exact: &'static [&'static str],
}

impl Lexicon {
    pub(super) fn matches(&self, words: &[String]) -> bool {
        words
            .iter()
            .any(|word| self.exact.contains(&word.as_str()) || self.prefixes.iter().any(|prefix| word.starts_with(prefix)))
    }
}

pub(super) const APPROVE: Lexicon = Lexicon {
    prefixes: &[
        "allow", "accept", "approv", "authoriz", "authoris", "consent", "continu", "yes", "grant", "agree", "confirm", "proceed",
    ],
    exact: &["ok", "okay"],
};

pub(super) const REFUSE: Lexicon = Lexicon {
    prefixes: &[
        "deny", "denied", "cancel", "reject", "declin", "refus", "abort", "disallow", "disagree", "logout", "signout", "forgot", "revok",
    ],
    exact: &[
        "no",
        "not",
        "don",
        "dont",
        "never",
        "nope",
        "false",
        "back",
        "out",
        "switch",
        "another",
        "different",
        "retry",
        "again",
        "home",
        "return",
        "reset",
    ],
};

pub(super) const SIGN_IN: Lexicon = Lexicon {
    prefixes: &[
        "login",
        "logon",
        "signin",
        "submit",
        "continu",
        "next",
        "proceed",
        "verify",
        "authenticat",
    ],
    exact: &["log", "sign", "in", "go", "enter", "ok"],
};

/// Buttons that confirm a logout ("Yes, sign me out", "Log out", "Confirm").
pub(super) const SIGN_OUT: Lexicon = Lexicon {
    prefixes: &["logout", "logoff", "signout", "signoff", "yes", "confirm", "continu", "proceed"],
    exact: &["out", "off", "ok", "okay"],
};

/// Buttons of a logout confirmation that keep the user signed in.
pub(super) const STAY_SIGNED_IN: Lexicon = Lexicon {
    prefixes: &["cancel", "stay", "abort", "keep", "remain", "declin", "refus"],
    exact: &["no", "not", "don", "dont", "never", "back", "return", "home"],
};

/// Buttons of a login form that leave it or pick another way to sign in.
pub(super) const NOT_SIGN_IN: Lexicon = Lexicon {
    prefixes: &[
        "cancel",
        "forgot",
        "reset",
        "regist",
        "signup",
        "recover",
        "passkey",
        "webauthn",
        "logout",
        "signout",
        "creat",
        "instead",
        "magic",
        "passwordless",
    ],
    exact: &[
        "back", "up", "out", "help", "another", "switch", "new", "link", "code", "sms", "otp",
    ],
};

/// Forms that are not a login or consent step: language pickers, search,
/// password recovery, sign-up, newsletters.
pub(super) const UTILITY_FORM: Lexicon = Lexicon {
    prefixes: &[
        "lang",
        "locale",
        "search",
        "forgot",
        "reset",
        "recover",
        "regist",
        "signup",
        "subscri",
        "newsletter",
    ],
    exact: &["q", "lng", "hl", "i18n", "setlang"],
};

pub(super) const USERNAME_HINTS: &[&str] = &["username", "login", "email", "user", "identifier", "mail"];
pub(super) const NOT_USERNAME_HINTS: &[&str] = &["otp", "code", "captcha", "search", "token", "totp", "mfa", "pin"];

impl<'a> Doc<'a> {
    pub(super) fn form_controls(&self, form: usize) -> impl Iterator<Item = (usize, &Control<'a>)> {
        self.forms
            .get(form)
            .map(|form| form.controls.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|&index| self.controls.get(index).map(|control| (index, control)))
    }

    /// Rule 1: a form of hidden inputs posting to the redirect URI.
    pub(super) fn form_post(&self, redirect_uri: &str) -> Option<Page> {
        let redirect_uri = redirect_uri.trim();
        if redirect_uri.is_empty() {
            return None;
        }
        let normalised = Url::parse(redirect_uri).ok();
        for (index, form) in self.forms.iter().enumerate() {
            let Ok(mut action) = self.resolve(form.element.attr("action")) else {
                continue;
            };
            action.set_fragment(None);
            let targets = action.as_str().starts_with(redirect_uri)
                || normalised.as_ref().is_some_and(|uri| action.as_str().starts_with(uri.as_str()));
            if !targets {
                continue;
            }
            let all_hidden = self.form_controls(index).all(|(_, control)| {
                matches!(
                    control.kind,
                    Kind::Button(_)
                        | Kind::Input(InputType::Hidden | InputType::Submit | InputType::Image | InputType::Reset | InputType::Button)
                )
            });
            if !all_hidden {
                continue;
            }
            let fields = self
                .form_controls(index)
                .filter(|(_, control)| control.kind == Kind::Input(InputType::Hidden) && control.enabled() && !control.name.is_empty())
                .map(|(_, control)| (control.name.to_owned(), control.element.attr("value").unwrap_or("").to_owned()))
                .collect();
            return Some(Page::FormPost { action, fields });
        }
        None
    }

    /// Rule 2: a password form, else an identifier-first step.
    pub(super) fn login(&self) -> Option<LoginStep> {
        let usable = |control: &Control<'_>| {
            control.owner.is_some() && control.enabled() && !control.name.is_empty() && control.is_typed() && control.kind != Kind::Textarea
        };
        let mut candidates: Vec<usize> = (0..self.controls.len())
            .filter(|&index| self.controls[index].hits[PASSWORD] && usable(&self.controls[index]))
            .collect();
        if candidates.is_empty() {
            candidates = (0..self.controls.len())
                .filter(|&index| {
                    let control = &self.controls[index];
                    control.kind == Kind::Input(InputType::Password) && usable(control)
                })
                .collect();
        }

        // The form: one with a single password field (not a sign-up or
        // change-password form) and a visible one, first in the page.
        let mut per_form: HashMap<usize, (usize, bool)> = HashMap::new();
        for &index in &candidates {
            let control = &self.controls[index];
            if let Some(form) = control.owner {
                let entry = per_form.entry(form).or_default();
                entry.0 += 1;
                entry.1 |= control.visible();
            }
        }
        // A form that posts to the page's own origin first: a second password
        // form elsewhere on the page (a partner's widget) is not the login.
        let cross_origin = |form: usize| -> bool {
            let action = self.forms.get(form).and_then(|f| f.element.attr("action"));
            self.resolve(action).map_or(true, |u| u.origin() != self.page_url.origin())
        };
        let form = per_form
            .iter()
            .map(|(&form, &(count, any_visible))| (count != 1, cross_origin(form), !any_visible, form))
            .min()
            .map(|(_, _, _, form)| form);

        if let Some(form) = form {
            let in_form: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&index| self.controls[index].owner == Some(form))
                .collect();
            let password_field = in_form
                .iter()
                .copied()
                .find(|&index| self.controls[index].visible())
                .or_else(|| in_form.first().copied());
            let username_field = self.username_field(form, password_field);
            let submitter = self.pick_button(form, &SIGN_IN, &NOT_SIGN_IN).chosen();
            return Some(LoginStep {
                form,
                username: username_field,
                password: password_field,
                submitter,
            });
        }

        // Identifier-first: one visible text field that takes a username,
        // and a submit button.
        for form in 0..self.forms.len() {
            if self.has_password_field(form) || self.is_utility_form(form) {
                continue;
            }
            let typed: Vec<usize> = self
                .form_controls(form)
                .filter(|(_, control)| control.is_typed() && control.enabled() && control.visible())
                .map(|(index, _)| index)
                .collect();
            let [field] = typed.as_slice() else {
                continue;
            };
            let control = &self.controls[*field];
            let takes_username = control.hits[USERNAME] || (control.is_username_like_type() && username_score(control) > 0);
            if !takes_username || control.name.is_empty() || control.readonly() {
                continue;
            }
            let buttons = self.pick_button(form, &SIGN_IN, &NOT_SIGN_IN);
            let Some(submitter) = buttons.chosen() else {
                continue;
            };
            return Some(LoginStep {
                form,
                username: Some(*field),
                password: None,
                submitter: Some(submitter),
            });
        }
        None
    }

    /// The username field of a login form: the profile's selector, else the
    /// best visible text-like input.
    pub(super) fn username_field(&self, form: usize, password_field: Option<usize>) -> Option<usize> {
        let fillable = |index: usize, control: &Control<'_>| {
            Some(index) != password_field && control.enabled() && !control.name.is_empty() && !control.readonly()
        };
        if let Some(index) = self
            .form_controls(form)
            .find_map(|(index, control)| (control.hits[USERNAME] && fillable(index, control) && control.is_typed()).then_some(index))
        {
            return Some(index);
        }
        self.form_controls(form)
            .filter(|&(index, control)| fillable(index, control) && control.is_username_like_type() && username_score(control) >= 0)
            .max_by_key(|&(index, control)| (control.visible(), username_score(control), std::cmp::Reverse(index)))
            .map(|(index, _)| index)
    }

    /// Rule 3: the approving button of a consent form: (form, button).
    pub(super) fn consent(&self) -> Result<Option<(usize, usize)>, FormError> {
        if let Some((source, _)) = &self.compiled.selectors[CONSENT] {
            let pressed =
                self.controls.iter().enumerate().find(|(_, control)| {
                    control.hits[CONSENT] && control.is_submit_button() && control.enabled() && control.owner.is_some()
                });
            if let Some((index, control)) = pressed
                && let Some(form) = control.owner
            {
                return Ok(Some((form, index)));
            }
            let found = self
                .controls
                .iter()
                .find(|control| control.hits[CONSENT])
                .map(|control| control.element)
                .or(self.other_hits[CONSENT]);
            if let Some(found) = found {
                return Err(FormError::SelectorMismatch {
                    field: FIELD_NAMES[CONSENT],
                    selector: source.clone(),
                    found: describe(found),
                    expected: "an enabled submit button inside a form",
                });
            }
        }

        let consent_forms = || (0..self.forms.len()).filter(|&form| !self.has_password_field(form));
        for form in consent_forms() {
            if let Some(button) = self.pick_button(form, &APPROVE, &REFUSE).positive {
                return Ok(Some((form, button)));
            }
        }
        // A form whose only button is neutral ("Submit", "OK"-less wording):
        // node oidc-provider's consent page has just "Continue", others just
        // a verb. Not for forms where the user is asked to type something,
        // nor for language pickers and the like.
        for form in consent_forms() {
            let buttons = self.pick_button(form, &APPROVE, &REFUSE);
            let asks_input = self
                .form_controls(form)
                .any(|(_, control)| control.is_typed() && control.enabled() && control.visible());
            if buttons.total == 1
                && let Some(button) = buttons.first_neutral
                && !asks_input
                && !self.is_utility_form(form)
            {
                return Ok(Some((form, button)));
            }
        }
        Ok(None)
    }

    /// Whether a form has a password field a browser would send.
    pub(super) fn has_password_field(&self, form: usize) -> bool {
        self.form_controls(form)
            .any(|(_, control)| control.kind == Kind::Input(InputType::Password) && control.enabled() && !control.name.is_empty())
    }

    /// The submit buttons of a form, classified.
    pub(super) fn pick_button(&self, form: usize, positive: &Lexicon, negative: &Lexicon) -> Buttons {
        // Among equals, one that does not name another way through ("Sign in
        // with Google", "Continue with GitHub" beside "Sign in"), then the
        // button styled as the primary one, then the first.
        let mut buttons = Buttons::default();
        let mut best_positive: Option<((bool, bool), usize)> = None;
        let mut best_neutral: Option<((bool, bool), usize)> = None;
        for (index, control) in self.form_controls(form) {
            if !control.is_submit_button() || !control.enabled() {
                continue;
            }
            buttons.total += 1;
            let words = control.button_words();
            if negative.matches(&words) {
                continue;
            }
            let primary = control
                .element
                .attr("class")
                .is_some_and(|class| words_of(class).any(|word| word == "primary"));
            let rank = (!words.iter().any(|word| word == "with"), primary);
            if positive.matches(&words) && best_positive.is_none_or(|(best, _)| rank > best) {
                best_positive = Some((rank, index));
            }
            if best_neutral.is_none_or(|(best, _)| rank > best) {
                best_neutral = Some((rank, index));
            }
        }
        buttons.positive = best_positive.map(|(_, index)| index);
        buttons.first_neutral = best_neutral.map(|(_, index)| index);
        buttons
    }

    pub(super) fn is_utility_form(&self, form: usize) -> bool {
        let Some(form_element) = self.forms.get(form).map(|form| form.element) else {
            return false;
        };
        let mut text = String::new();
        for attr in ["id", "name", "class", "action", "aria-label"] {
            if let Some(value) = form_element.attr(attr) {
                text.push_str(value);
                text.push(' ');
            }
        }
        // What the form asks for says what it is: its buttons do not (a login
        // form offers "Register" or "Forgot password" beside "Next").
        for (_, control) in self.form_controls(form) {
            if matches!(
                control.kind,
                Kind::Input(InputType::Hidden | InputType::Submit | InputType::Image | InputType::Reset | InputType::Button)
                    | Kind::Button(_)
            ) {
                continue;
            }
            for attr in ["name", "id"] {
                if let Some(value) = control.element.attr(attr) {
                    text.push_str(value);
                    text.push(' ');
                }
            }
        }
        UTILITY_FORM.matches(&words(&text))
    }

    /// Resolve a form action as a browser does: empty or absent is the
    /// page itself, anything else is relative to the base URL.
    pub(super) fn resolve(&self, action: Option<&str>) -> Result<Url, FormError> {
        let action = action.map(trim_ascii_whitespace).unwrap_or("");
        if action.is_empty() {
            return Ok(self.page_url.clone());
        }
        self.base.join(action).map_err(|error| FormError::InvalidAction {
            action: crate::flow::http::redact_str(action),
            base: crate::flow::http::redact_url(&self.base),
            reason: error.to_string(),
        })
    }

    /// Why a login form the oracle found cannot be sent as a browser without
    /// scripts would send it, if it cannot: then only a script can go on.
    /// - No submit button and more than one field to type into: the HTML
    ///   standard's implicit submission (Enter in a field) needs a single
    ///   field, so the form's own script (a "Sign On" link) must send it.
    /// - An empty hidden field named for the username beside the visible
    ///   one, in a form with a submit handler: the handler copies it over.
    pub(super) fn login_needs_script(&self, step: &LoginStep) -> Option<&'static str> {
        let blocking = self
            .form_controls(step.form)
            .filter(|(_, c)| c.enabled() && c.is_typed() && c.kind != Kind::Textarea)
            .count();
        if step.submitter.is_none() && blocking > 1 {
            return Some("its login form has no submit button and more than one field, so only its script can send it");
        }
        let handler = self
            .forms
            .get(step.form)
            .is_some_and(|f| f.element.attr("onsubmit").is_some_and(|h| !h.trim().is_empty()));
        let hidden_username = self.form_controls(step.form).any(|(index, c)| {
            Some(index) != step.username
                && c.kind == Kind::Input(InputType::Hidden)
                && c.element.attr("value").unwrap_or("").is_empty()
                && matches!(
                    c.name.to_ascii_lowercase().as_str(),
                    "username" | "user" | "login" | "email" | "userid" | "user_id"
                )
        });
        (handler && hidden_username && step.username.is_some())
            .then_some("its login form sends the username in an empty hidden field that its submit handler fills in")
    }

    /// Rule 4: what the page is, for an error message.
    pub(super) fn summary(&self) -> String {
        self.summary_saying(None)
    }

    /// [`Doc::summary`], with `forms` said of the page's forms instead of
    /// that none is a login, consent or form post form.
    pub(super) fn summary_saying(&self, forms: Option<&str>) -> String {
        let mut parts = Vec::new();
        if let Some(title) = self.title.map(text_of).filter(|text| !text.is_empty()) {
            parts.push(format!("title {:?}", truncate(&title, 120)));
        }
        let title_text = self.title.map(text_of).unwrap_or_default();
        if let Some(heading) = self
            .headings
            .iter()
            .map(|heading| text_of(*heading))
            .find(|text| !text.is_empty() && *text != title_text)
        {
            parts.push(format!("heading {:?}", truncate(&heading, 120)));
        }
        let mut errors: Vec<String> = Vec::new();
        for alert in &self.alerts {
            let text = text_of(*alert);
            if text.is_empty() || errors.iter().any(|seen| seen.contains(&text)) {
                continue;
            }
            errors.retain(|seen| !text.contains(seen.as_str()));
            errors.push(text);
        }
        for error in errors.iter().take(3) {
            parts.push(format!("error {:?}", truncate(error, 200)));
        }
        if parts.is_empty()
            && let Some(body) = self.body.map(text_of).filter(|text| !text.is_empty())
        {
            parts.push(format!("text {:?}", truncate(&body, 200)));
        }
        if let Some(refresh) = self.refresh {
            parts.push(format!("meta refresh {:?}", truncate(refresh.trim(), 200)));
        }

        let count = self.forms.len();
        parts.push(match forms {
            Some(said) => said.to_owned(),
            None => match count {
                0 => "no form".to_owned(),
                1 => "1 form, not a login, consent or form post form".to_owned(),
                _ => format!("{count} forms, none a login, consent or form post form"),
            },
        });
        if self
            .controls
            .iter()
            .any(|control| control.kind == Kind::Input(InputType::Password) && control.owner.is_none())
        {
            parts.push("a password field outside any form (the page probably needs javascript)".to_owned());
        } else if self
            .controls
            .iter()
            .any(|control| control.kind == Kind::Input(InputType::Password) && control.name.is_empty())
        {
            parts.push("a password field without a name (the page probably needs javascript)".to_owned());
        }
        for (index, field) in FIELD_NAMES.iter().enumerate() {
            if let Some((source, _)) = &self.compiled.selectors[index] {
                let matched = self.controls.iter().any(|control| control.hits[index]) || self.other_hits[index].is_some();
                if !matched {
                    parts.push(format!("the profile's {field} selector `{source}` matches nothing"));
                }
            }
        }
        parts.join("; ")
    }
}

/// Words of a link that goes on with signing in: "Log in with Email", a
/// "Click here" whose id says `loginContinueLink`, "Proceed to sign-in".
pub(super) const WAY_ON: Lexicon = Lexicon {
    prefixes: &["login", "logon", "signin", "continu", "proceed"],
    exact: &[],
};

/// Words that name a way of signing in with the password the harness holds,
/// as opposed to another provider's ("Log in with GitHub").
pub(super) const LOCAL_METHOD: &[&str] = &["email", "mail", "password", "username", "local", "ldap", "credentials"];

/// On a page with nothing else to act on, the same-origin link that goes on
/// with signing in (a connector choice, "To continue the login process click
/// here"): one whose text, id, title or label reads as going on with the
/// login (two words "log in" / "sign in" count as one), and not as going back,
/// out or again ("Back to login", "Log in again", "Go to portal" are ends).
/// A "with" names another way through: only one naming the password is taken.
/// Links to the same page, scripts' links and links hidden are left out.
pub(super) fn way_on_link<'a>(document: &'a Html, base: &Url, live: bool) -> Option<(ElementRef<'a>, Url)> {
    let links = Selector::parse("a[href]").ok()?;
    let mut best: Option<(bool, ElementRef<'a>, Url)> = None;
    for link in document.select(&links) {
        let hidden = hides(link) || link.ancestors().filter_map(ElementRef::wrap).any(hides) || (live && link.attr(LIVE_HIDDEN).is_some());
        if hidden {
            continue;
        }
        let href = link.attr("href").unwrap_or("").trim();
        if href.is_empty() || href.starts_with('#') || href.to_ascii_lowercase().starts_with("javascript:") {
            continue;
        }
        let Ok(mut target) = base.join(href) else { continue };
        target.set_fragment(None);
        let mut here = base.clone();
        here.set_fragment(None);
        if target.origin() != base.origin() || target == here {
            continue;
        }
        let mut text = link.attr(LIVE_TEXT).map_or_else(|| text_of(link), str::to_owned);
        for attr in ["id", "title", "aria-label"] {
            if let Some(value) = link.attr(attr) {
                text.push(' ');
                text.push_str(value);
            }
        }
        let mut said = words(&text);
        // "log in" / "sign in" / "sign on" read as one word.
        let mut joined = Vec::with_capacity(said.len());
        let mut i = 0;
        while i < said.len() {
            if matches!(said[i].as_str(), "log" | "sign") && said.get(i + 1).is_some_and(|w| matches!(w.as_str(), "in" | "on")) {
                joined.push(format!("{}in", said[i]));
                i += 2;
            } else {
                joined.push(std::mem::take(&mut said[i]));
                i += 1;
            }
        }
        if !WAY_ON.matches(&joined)
            || REFUSE.matches(&joined)
            || joined.iter().any(|w| matches!(w.as_str(), "restart" | "register" | "help"))
        {
            continue;
        }
        if joined.iter().any(|w| w == "with") && !joined.iter().any(|w| LOCAL_METHOD.contains(&w.as_str())) {
            continue;
        }
        let goes_on = joined.iter().any(|w| w.starts_with("continu") || w.starts_with("proceed"));
        if best.as_ref().is_none_or(|(b, _, _)| goes_on && !b) {
            best = Some((goes_on, link, target));
        }
    }
    best.map(|(_, link, target)| (link, target))
}

/// The submit buttons of a form: the best approving one, the best one that
/// is not refusing, and how many there are.
#[derive(Default)]
pub(super) struct Buttons {
    pub(super) positive: Option<usize>,
    pub(super) first_neutral: Option<usize>,
    pub(super) total: usize,
}

impl Buttons {
    pub(super) fn chosen(&self) -> Option<usize> {
        self.positive.or(self.first_neutral)
    }
}

/// The text of a control's label: a wrapping `<label>`, or a `<label for=id>`
/// anywhere in the page; "" without one.
pub(super) fn label_text(element: ElementRef<'_>) -> String {
    if let Some(label) = element
        .ancestors()
        .filter_map(ElementRef::wrap)
        .find(|a| a.value().name() == "label")
    {
        return text_of(label);
    }
    if let (Some(id), Some(root)) = (element.attr("id"), element.ancestors().filter_map(ElementRef::wrap).last())
        && let Ok(sel) = scraper::Selector::parse("label[for]")
        && let Some(label) = root.select(&sel).find(|l| l.attr("for") == Some(id))
    {
        return text_of(label);
    }
    String::new()
}

/// How much a text input looks like a username field: positive for names,
/// ids and autocomplete hints like username or email, negative for one-time
/// codes and the like.
pub(super) fn username_score(control: &Control<'_>) -> i32 {
    let element = control.element;
    let autocomplete = element.attr("autocomplete").unwrap_or("").to_ascii_lowercase();
    let mut score = 0;
    if autocomplete
        .split_ascii_whitespace()
        .any(|token| matches!(token, "username" | "email" | "webauthn"))
    {
        score += 4;
    }
    if control.kind == Kind::Input(InputType::Email) {
        score += 2;
    }
    let mut names = String::new();
    for attr in ["name", "id"] {
        if let Some(value) = element.attr(attr) {
            names.push_str(&value.to_ascii_lowercase());
            names.push(' ');
        }
    }
    let positive = USERNAME_HINTS.iter().any(|hint| names.contains(hint));
    if positive {
        score += 2;
    }
    let negative = NOT_USERNAME_HINTS.iter().any(|hint| names.contains(hint)) || autocomplete.contains("one-time-code");
    if negative && score == 0 {
        return -1;
    }
    score
}

// Text helpers

/// Lowercase words of a string, split at non-alphanumerics and camelCase
/// humps: `btnAllowAccess` → `btn`, `allow`, `access`.
pub(super) fn words(text: &str) -> Vec<String> {
    words_of(text).collect()
}

pub(super) fn words_of(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut chars = text.chars().peekable();
    std::iter::from_fn(move || {
        let mut current = String::new();
        let mut previous_lower = false;
        while let Some(&c) = chars.peek() {
            if c.is_alphanumeric() {
                if c.is_uppercase() && previous_lower && !current.is_empty() {
                    return Some(current);
                }
                previous_lower = c.is_lowercase() || c.is_numeric();
                current.extend(c.to_lowercase());
                chars.next();
            } else {
                chars.next();
                if !current.is_empty() {
                    return Some(current);
                }
            }
        }
        (!current.is_empty()).then_some(current)
    })
}

/// The rendered-ish text of an element: its text with scripts and styles
/// left out and whitespace collapsed.
pub(super) fn text_of(element: ElementRef<'_>) -> String {
    let mut text = String::new();
    let mut next = element.first_child();
    while let Some(node) = next {
        let skip = ElementRef::wrap(node).is_some_and(|child| {
            matches!(
                child.value().name(),
                "script" | "style" | "template" | "head" | "select" | "option" | "noscript"
            ) || hides(child)
        });
        if let Some(fragment) = node.value().as_text() {
            text.push_str(fragment);
            text.push(' ');
        } else if ElementRef::wrap(node).is_some_and(|child| matches!(child.value().name(), "br" | "p" | "div" | "li")) {
            text.push(' ');
        }
        if !skip && let Some(child) = node.first_child() {
            next = Some(child);
            continue;
        }
        let mut node = node;
        next = loop {
            if let Some(sibling) = node.next_sibling() {
                break Some(sibling);
            }
            match node.parent() {
                Some(parent) if parent.id() != element.id() => node = parent,
                _ => break None,
            }
        };
    }
    collapse_whitespace(&text)
}

pub(super) fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn trim_ascii_whitespace(text: &str) -> &str {
    text.trim_matches(|c: char| matches!(c, '\t' | '\n' | '\x0C' | '\r' | ' '))
}

pub(super) fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max_chars).collect();
    out.push('…');
    out
}

/// `<tag id=… name=… class=…>` for error messages.
pub(super) fn describe(element: ElementRef<'_>) -> String {
    let mut out = format!("<{}", element.value().name());
    for attr in ["id", "name", "type", "class"] {
        if let Some(value) = element.attr(attr) {
            out.push_str(&format!(" {attr}={:?}", truncate(value, 40)));
        }
    }
    out.push('>');
    out
}

/// Parse `<noscript>` content as markup, as a browser with JavaScript off
/// does (the parser treats it as text when scripting is on, and scraper
/// parses with scripting on): the tags are renamed `<x-noscript>`.
pub(super) fn neutralise_noscript(html: &str) -> std::borrow::Cow<'_, str> {
    const TAG: &[u8] = b"noscript";
    let bytes = html.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] != b'<' {
            index += 1;
            continue;
        }
        let mut start = index + 1;
        if bytes.get(start) == Some(&b'/') {
            start += 1;
        }
        let end = start + TAG.len();
        let is_tag = bytes.get(start..end).is_some_and(|name| name.eq_ignore_ascii_case(TAG))
            && bytes
                .get(end)
                .is_none_or(|&b| matches!(b, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ' | b'/' | b'>'));
        if is_tag {
            // All the bytes around `start` are ASCII, so it is a char boundary.
            let out = out.get_or_insert_with(|| String::with_capacity(html.len() + 64));
            out.push_str(&html[copied..start]);
            out.push_str("x-");
            copied = start;
            index = end;
        } else {
            index += 1;
        }
    }
    match out {
        None => std::borrow::Cow::Borrowed(html),
        Some(mut out) => {
            out.push_str(&html[copied..]);
            std::borrow::Cow::Owned(out)
        }
    }
}

// ---------------------------------------------------------------------------
// The live page

/// The attribute the browser driver's snapshot gives every element: its index
/// in the snapshot, by which the driver reaches the element the oracle chose.
pub const LIVE_ID: &str = "data-oidc-conform-id";
/// The attribute the snapshot adds to a control, link or widget that is not
/// shown (no box, `display: none`, `visibility: hidden`, off the page).
pub const LIVE_HIDDEN: &str = "data-oidc-conform-hidden";
/// The attribute the snapshot adds to a control with its text as rendered.
pub const LIVE_TEXT: &str = "data-oidc-conform-text";

/// What the oracle makes of a live page (the browser driver's snapshot: the
/// document after its scripts ran, open shadow roots inline, every element
/// numbered with [`LIVE_ID`], hidden controls marked with [`LIVE_HIDDEN`],
/// fields' current values as their `value`, passwords' never): the kind of
/// page and the elements to type into and press, by their [`LIVE_ID`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Live {
    /// `login`, `identifier`, `consent`, `account` (an account chooser with a
    /// tile that names the user), or `none` (nothing to act on).
    pub kind: &'static str,
    /// The username field, when it is to be filled in (empty).
    pub user: Option<String>,
    pub password: Option<String>,
    /// The submit of a login or identifier step.
    pub submit: Option<String>,
    /// The approving / denying control of a consent page.
    pub approve: Option<String>,
    pub deny: Option<String>,
    /// The account tile to press.
    pub account: Option<String>,
    /// What the control the driver would press says (for evidence).
    pub press: Option<String>,
    /// A summary of the page's controls, to tell a page that came back.
    pub signature: String,
}

fn live_shown(e: &ElementRef<'_>) -> bool {
    e.attr(LIVE_HIDDEN).is_none() && !hides(*e)
}

fn live_enabled(e: &ElementRef<'_>) -> bool {
    e.attr("disabled").is_none() && e.attr("aria-disabled").is_none_or(|v| !v.trim().eq_ignore_ascii_case("true"))
}

fn live_input_type(e: &ElementRef<'_>) -> String {
    if e.value().name() == "textarea" {
        return "textarea".into();
    }
    let t = e.attr("type").unwrap_or("").trim().to_ascii_lowercase();
    if t.is_empty() { "text".into() } else { t }
}

/// What a control says: its text, else its value, label or title.
fn live_text(e: &ElementRef<'_>) -> String {
    let inner = e.attr(LIVE_TEXT).map_or_else(|| text_of(*e), str::to_owned);
    let t = [Some(inner.as_str()), e.attr("value"), e.attr("aria-label"), e.attr("title")]
        .into_iter()
        .flatten()
        .find(|t| !t.trim().is_empty())
        .unwrap_or("");
    collapse_whitespace(t)
}

/// The words a pressable control is judged by: what it says first, then its
/// name, id, label and title (as [`Control::button_words`] reads a form's
/// buttons).
fn live_words(e: &ElementRef<'_>) -> Vec<String> {
    let mut text = live_text(e);
    for attr in ["name", "value", "aria-label", "id", "title", "alt"] {
        if let Some(value) = e.attr(attr) {
            text.push(' ');
            text.push_str(value);
        }
    }
    words(&text)
}

/// Among `candidates`, the first control whose words read as `positive` and
/// not as `negative`, one that does not name another way through ("Sign in
/// with Google") before one that does: the rule [`Doc::pick_button`] applies
/// to a form's buttons.
fn live_pick<'a>(candidates: &[ElementRef<'a>], positive: &Lexicon, negative: &Lexicon) -> Option<ElementRef<'a>> {
    let fitting: Vec<(ElementRef<'a>, Vec<String>)> = candidates
        .iter()
        .map(|e| (*e, live_words(e)))
        .filter(|(_, w)| positive.matches(w) && !negative.matches(w))
        .collect();
    fitting
        .iter()
        .find(|(_, w)| !w.iter().any(|w| w == "with"))
        .or_else(|| fitting.first())
        .map(|(e, _)| *e)
}

/// The pressable controls of a live page a script may act on: buttons (of any
/// type but reset), submit and button inputs, `role=button` widgets and links,
/// each shown and enabled.
fn live_pressables<'a>(document: &'a Html) -> Vec<ElementRef<'a>> {
    Selector::parse("button, input[type=submit], input[type=button], input[type=image], [role=button], a[href]")
        .map(|s| {
            document
                .select(&s)
                .filter(|e| live_shown(e) && live_enabled(e) && e.attr("type").is_none_or(|t| !t.trim().eq_ignore_ascii_case("reset")))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a pressable is a link that is only a link: a way to another
/// address, never the control that approves. A link a script handles (its
/// address `javascript:…` or a bare `#`, or a click handler of its own) or a
/// widget with a role is a button.
fn plain_link(e: &ElementRef<'_>) -> bool {
    let href = e.attr("href").unwrap_or("").trim().to_ascii_lowercase();
    let scripted = href.is_empty() || href.starts_with('#') || href.starts_with("javascript:") || e.attr("onclick").is_some();
    e.value().name() == "a" && e.attr("role").is_none() && !scripted
}

/// Classifies a live page (see [`Live`]) with the rules the form driver
/// applies to a served page ([`Doc::login`], [`Doc::consent`], [`Doc::deny`]),
/// read on the snapshot with what is not shown left out; then, for what only a
/// browser can act on (fields outside any form or without a name, controls a
/// script handles), the same words ([`SIGN_IN`], [`APPROVE`], [`DENY`])
/// applied to every control shown. `selectors` go before detection; `account`
/// is the user's username, for an account chooser. `page_url` is the page's
/// address (where its forms post, for the form rules).
pub fn live(html: &str, page_url: &Url, selectors: &Selectors, account: Option<&str>) -> Live {
    let document = Html::parse_document(html);
    let compiled = Compiled::new(selectors).unwrap_or(Compiled {
        selectors: [None, None, None],
    });
    let doc = Doc::build_live(&document, page_url, &compiled);
    let pressables = live_pressables(&document);
    let mut out =
        live_by_form_rules(&doc, &pressables).unwrap_or_else(|| live_by_controls(&document, &doc.base, &pressables, selectors, account));
    let inputs = Selector::parse("input, textarea")
        .map(|s| {
            document
                .select(&s)
                .filter(|e| live_shown(e) && live_enabled(e) && live_input_type(e) != "hidden")
                .count()
        })
        .unwrap_or(0);
    let title = doc.title.map(text_of).unwrap_or_default();
    out.signature = format!("{}:{inputs}:{}:{title}", out.kind, pressables.len());
    out
}

fn live_id(e: ElementRef<'_>) -> Option<String> {
    e.attr(LIVE_ID).map(str::to_owned)
}

fn live_said(e: &ElementRef<'_>) -> String {
    live_text(e).chars().take(80).collect()
}

/// The form rules on a live page: a login or identifier step, or a consent
/// form, whose fields and approving button are shown.
fn live_by_form_rules(doc: &Doc<'_>, pressables: &[ElementRef<'_>]) -> Option<Live> {
    let shown = |index: usize| doc.controls.get(index).is_some_and(|c| c.visible() && c.enabled());
    let element = |index: usize| doc.controls[index].element;
    if let Some(step) = doc.login() {
        let password = step.password.filter(|&i| shown(i));
        let user = step.username.filter(|&i| shown(i));
        if step.password.is_some() == password.is_some() && (password.is_some() || user.is_some()) {
            // A form whose submit is a script's link or widget ("Sign On" that
            // sets a field and submits): the control that reads as a sign-in.
            let submit = step
                .submitter
                .filter(|&i| shown(i))
                .map(element)
                .or_else(|| live_pick(pressables, &SIGN_IN, &NOT_SIGN_IN));
            return Some(Live {
                kind: if password.is_some() { "login" } else { "identifier" },
                user: user
                    .map(element)
                    .filter(|e| e.attr("value").unwrap_or("").is_empty())
                    .and_then(live_id),
                password: password.map(element).and_then(live_id),
                submit: submit.and_then(live_id),
                press: submit.as_ref().map(live_said),
                ..Live::default()
            });
        }
    }
    if let Ok(Some((_, button))) = doc.consent()
        && shown(button)
    {
        let approve = element(button);
        let deny = doc
            .deny()
            .map(|(_, b)| b)
            .filter(|&b| shown(b))
            .map(element)
            .or_else(|| live_pick(pressables, &DENY, &NONE));
        return Some(Live {
            kind: "consent",
            press: Some(live_said(&approve)),
            approve: live_id(approve),
            deny: deny.and_then(live_id),
            ..Live::default()
        });
    }
    None
}

/// No word is negative.
const NONE: Lexicon = Lexicon { prefixes: &[], exact: &[] };

/// What only a browser can act on: fields outside any form or without a
/// name, and controls a script handles.
fn live_by_controls(document: &Html, base: &Url, pressables: &[ElementRef<'_>], selectors: &Selectors, account: Option<&str>) -> Live {
    let pick = |source: &Option<String>| -> Option<ElementRef<'_>> {
        let selector = Selector::parse(source.as_deref()?).ok()?;
        document.select(&selector).next()
    };
    let all = |source: &str| -> Vec<ElementRef<'_>> { Selector::parse(source).map(|s| document.select(&s).collect()).unwrap_or_default() };
    let inputs: Vec<ElementRef<'_>> = all("input, textarea")
        .into_iter()
        .filter(|e| live_enabled(e) && e.attr("readonly").is_none() && live_input_type(e) != "hidden" && live_shown(e))
        .collect();
    let password = pick(&selectors.password).or_else(|| inputs.iter().copied().find(|e| live_input_type(e) == "password"));
    let autocomplete = |e: &ElementRef<'_>| {
        e.attr("autocomplete")
            .unwrap_or("")
            .split_whitespace()
            .last()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    // What a field is for: its name, id, label, aria-label and placeholder
    // (a script's field often has only a label).
    let user_like = |e: &ElementRef<'_>| {
        let hay = format!(
            "{} {} {} {} {}",
            e.attr("name").unwrap_or(""),
            e.attr("id").unwrap_or(""),
            label_text(*e),
            e.attr("aria-label").unwrap_or(""),
            e.attr("placeholder").unwrap_or("")
        )
        .to_lowercase();
        let negative = NOT_USERNAME_HINTS.iter().any(|w| words(&hay).iter().any(|x| x == w));
        !negative
            && ["user", "email", "e-mail", "login", "identifier", "account", "name", "phone"]
                .iter()
                .any(|w| hay.contains(w))
    };
    let user = pick(&selectors.username)
        .or_else(|| {
            inputs
                .iter()
                .copied()
                .find(|e| matches!(autocomplete(e).as_str(), "username" | "email"))
        })
        .or_else(|| inputs.iter().copied().find(|e| live_input_type(e) == "email"))
        .or_else(|| {
            inputs
                .iter()
                .copied()
                .find(|e| matches!(live_input_type(e).as_str(), "text" | "tel") && Some(*e) != password && user_like(e))
        });
    let blank = |e: &ElementRef<'_>| e.attr("value").unwrap_or("").is_empty();
    let mut out = Live {
        kind: "none",
        ..Live::default()
    };
    let field = password.or(user);
    if let Some(field) = field {
        out.kind = if password.is_some() { "login" } else { "identifier" };
        out.user = user.filter(blank).and_then(live_id);
        out.password = password.and_then(live_id);
        let submit = live_submit_for(document, pressables, field);
        out.submit = submit.and_then(live_id);
        out.press = submit.as_ref().map(live_said);
        return out;
    }
    let buttons: Vec<ElementRef<'_>> = pressables.iter().copied().filter(|e| !plain_link(e)).collect();
    let approve = pick(&selectors.consent).or_else(|| live_pick(&buttons, &APPROVE, &REFUSE));
    let deny = live_pick(pressables, &DENY, &NONE);
    if approve.is_some() || deny.is_some() {
        out.kind = "consent";
        out.press = approve.as_ref().map(live_said);
        out.approve = approve.and_then(live_id);
        out.deny = deny.and_then(live_id);
        return out;
    }
    if let Some((link, _)) = way_on_link(document, base, true) {
        out.kind = "consent";
        out.press = Some(live_said(&link));
        out.approve = live_id(link);
        return out;
    }
    if let Some(who) = account.filter(|a| a.chars().count() >= 3).map(str::to_lowercase) {
        // An account chooser: the control that names the user is the account to go on with.
        let tile = all("button, a[href], [role=button], [role=link], [role=option], [role=listitem], li[tabindex], [data-test-id]")
            .into_iter()
            .filter(|e| live_shown(e) && live_enabled(e))
            .find(|e| {
                let t = live_text(e).to_lowercase();
                t.contains(&who) && t.chars().count() < 200
            });
        if let Some(tile) = tile {
            out.kind = "account";
            out.press = Some(live_said(&tile));
            out.account = live_id(tile);
        }
    }
    out
}

/// The submit for a field: its form's own submit button, one that does not
/// name another way through ("Sign in with Google") first, else a control
/// that reads as a sign-in, else any submit button.
fn live_submit_for<'a>(document: &'a Html, pressables: &[ElementRef<'a>], field: ElementRef<'a>) -> Option<ElementRef<'a>> {
    let form = match field.attr("form") {
        Some(owner) => Selector::parse("form")
            .ok()
            .and_then(|s| document.select(&s).find(|f| f.attr("id") == Some(owner))),
        None => field.ancestors().filter_map(ElementRef::wrap).find(|a| a.value().name() == "form"),
    };
    let own: Vec<ElementRef<'a>> = form
        .map(|f| {
            Selector::parse("button:not([type=button]):not([type=reset]), input[type=submit], input[type=image]")
                .map(|s| f.select(&s).filter(|e| live_shown(e) && live_enabled(e)).collect())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    live_pick(&own, &SIGN_IN, &NOT_SIGN_IN)
        .or_else(|| own.iter().copied().find(|b| !NOT_SIGN_IN.matches(&live_words(b))))
        .or_else(|| live_pick(pressables, &SIGN_IN, &NOT_SIGN_IN))
        .or_else(|| {
            pressables.iter().copied().find(|b| {
                let t = live_input_type(b);
                !NOT_SIGN_IN.matches(&live_words(b))
                    && match b.value().name() {
                        "button" => !matches!(t.as_str(), "button" | "reset" | "menu"),
                        "input" => matches!(t.as_str(), "submit" | "image"),
                        _ => false,
                    }
            })
        })
}
