//! Consent pages: what the harness answers (approve, deny, approve only some
//! scopes), the controls that deny, and which boxes stand for which scope or
//! are extras an approval leaves alone.

use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::oracle::{Doc, InputType, Kind, Lexicon, label_text, words, words_of};

/// What the driver does on a consent page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ConsentChoice {
    /// Approve (tick the boxes, press the approving button).
    #[default]
    Approve,
    /// Deny (press the deny / cancel button, or follow such a link).
    Deny,
    /// Approve only these scopes: the boxes that stand for the other
    /// requested scopes are left unticked.
    Only { requested: Vec<String>, approved: Vec<String> },
}

/// Words of a control or link that deny a consent request.
pub(super) const DENY: Lexicon = Lexicon {
    prefixes: &[
        "deny", "denied", "cancel", "reject", "declin", "refus", "abort", "disallow", "disagree",
    ],
    exact: &["no", "don", "dont"],
};

/// A same-origin link that denies (node oidc-provider's "[ Cancel ]" → `…/abort`):
/// where it goes.
pub(super) fn deny_link(document: &Html, base: &Url) -> Option<Url> {
    let links = Selector::parse("a[href]").ok()?;
    document.select(&links).find_map(|a| {
        let mut text: String = a.text().collect::<Vec<_>>().join(" ");
        for attr in ["id", "class", "aria-label", "title", "href"] {
            if let Some(v) = a.attr(attr) {
                text.push(' ');
                text.push_str(v);
            }
        }
        let words: Vec<String> = words_of(&text).collect();
        if !DENY.matches(&words) {
            return None;
        }
        let target = base.join(a.attr("href")?).ok()?;
        (target.origin() == base.origin()).then_some(target)
    })
}

impl Doc<'_> {
    /// The checkboxes (name, value sent) that stand for one of `scopes`: the
    /// box's value is the scope, its name ends with it (`grant.email`,
    /// `scope[email]`), or its label reads exactly the scope.
    pub(super) fn scope_boxes(&self, scopes: &[&String]) -> Vec<(String, String)> {
        self.controls
            .iter()
            .filter(|control| matches!(control.kind, Kind::Input(InputType::Checkbox)) && !control.name.is_empty() && control.enabled())
            .filter(|control| {
                let value = control.element.attr("value").unwrap_or("on");
                let name_tail = control
                    .name
                    .trim_end_matches(']')
                    .rsplit(['.', ':', '[', '_', '-'])
                    .next()
                    .unwrap_or(control.name);
                let label = label_text(control.element);
                scopes
                    .iter()
                    .any(|s| value == s.as_str() || (name_tail == s.as_str() && name_tail != control.name) || label.trim() == s.as_str())
            })
            .map(|control| (control.name.to_owned(), control.element.attr("value").unwrap_or("on").to_owned()))
            .collect()
    }

    /// The denying button of a consent form (deny, cancel, reject…), pressed
    /// without ticking anything: (form, button).
    pub(super) fn deny(&self) -> Option<(usize, usize)> {
        (0..self.forms.len())
            .filter(|&form| !self.has_password_field(form))
            .find_map(|form| {
                let button = self
                    .form_controls(form)
                    .find(|(_, control)| control.is_submit_button() && control.enabled() && DENY.matches(&control.button_words()))?;
                Some((form, button.0))
            })
    }
}

/// Boxes on a consent page that a harness approving the request leaves alone:
/// newsletters and other offers, "keep me signed in" style extras are not
/// part of the approval.
pub(super) const OPT_IN_EXTRA: Lexicon = Lexicon {
    prefixes: &["newsletter", "marketing", "promot", "subscri", "advert"],
    exact: &["offers", "deny", "decline", "revoke", "not", "don", "dont"],
};

/// The words of a checkbox: name, value, id, aria-label, title and its label's text.
pub(super) fn checkbox_words(element: ElementRef<'_>) -> Vec<String> {
    let mut text = String::new();
    for attr in ["name", "value", "id", "aria-label", "title"] {
        if let Some(value) = element.attr(attr) {
            text.push_str(value);
            text.push(' ');
        }
    }
    text.push_str(&label_text(element));
    words(&text)
}
