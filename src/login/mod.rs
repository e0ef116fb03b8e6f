//! Getting through a provider's login and consent pages.
//!
//! One [`oracle`] decides what a page is (login, identifier-first step,
//! consent, form post, or nothing to act on) and which of its controls to use;
//! two drivers act on its answer: the [`form`] driver submits what a browser
//! without JavaScript would, and the [`browser`] driver runs the page in
//! headless Chromium and presses and types into the controls the oracle chose
//! on a snapshot of the live page. [`consent`] holds the consent answers and
//! the rules for denying controls and per-scope boxes.

pub mod browser;
pub mod consent;
pub mod form;
pub mod frames;
pub mod gate;
pub mod oracle;
