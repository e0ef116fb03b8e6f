//! The integration tests: one binary, with a module per area.

mod util;

mod cli;
mod diagnostics;
mod flows;
mod matrix;
mod reports;
