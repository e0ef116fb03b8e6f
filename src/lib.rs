//! oidc-conform: a conformance test harness for OpenID Connect providers.
//!
//! The pipeline, one module per stage: [`suite`] and [`profile`] load the YAML
//! input (with [`diag`]nostics for bad input), [`flow`] drives the provider
//! through a flow and collects evidence ([`login`] gets it through the login
//! and consent pages), [`check`] turns evidence into check
//! results, [`run`] runs the cases as tasks with libtest-style lines, and [`report`] writes what
//! happened. [`reference`] is the embedded reference provider. The command
//! line entry point is [`cli::main`].

pub mod check;
pub mod cli;
pub mod color;
pub mod diag;
pub mod docs;
pub mod doctor;
pub mod explain;
pub mod flow;
pub mod init;
pub mod login;
pub mod output;
pub mod profile;
pub mod project;
pub mod reference;
pub mod report;
pub mod run;
pub mod secret;
pub mod shard;
pub mod suite;
pub mod vars;
