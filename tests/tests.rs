//! The integration tests: one binary, with a module per area.

mod fixture;
mod util;

mod attribution;
mod browser;
mod ci;
mod cli;
mod client_auth;
mod device;
mod diagnostics;
mod docs;
mod doctor;
mod flows;
mod fuzz;
mod hostile;
mod hostile_login;
mod html;
mod init;
mod matrix;
mod package;
mod page_corpus;
mod par;
mod probes;
mod profiles;
mod project;
mod provider_django;
mod provider_idpyoidc;
mod provider_node;
mod reports;
mod reproduce;
mod rerun;
mod secrets;
mod security;
mod selection;
mod session;
mod variants;
