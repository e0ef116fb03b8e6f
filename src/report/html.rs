//! The self-contained HTML report (being written: replaced by the real renderer).

use super::Report;

#[derive(Debug, thiserror::Error)]
#[error("html rendering failed: {0}")]
pub struct HtmlError(String);

pub fn render(_report: &Report) -> Result<String, HtmlError> {
    Err(HtmlError("the HTML renderer is not built yet".into()))
}
