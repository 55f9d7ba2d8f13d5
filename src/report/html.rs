//! The HTML report: one self-contained page for dashboards, from the template
//! reports/report.html. The report goes into the page as a JSON data block
//! that the page's own script draws with text nodes only; the page's
//! Content-Security-Policy allows exactly its own style and script (by
//! hash) and nothing from outside, so IAM-sourced text cannot become markup
//! or code even if a bug let it through.

use std::io::Write;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{Format, Report, ReportError};

const TEMPLATE: &str = include_str!("../../reports/report.html");
const DATA: &str = "{{REPORT_DATA}}";
const STYLE_HASH: &str = "{{STYLE_HASH}}";
const SCRIPT_HASH: &str = "{{SCRIPT_HASH}}";

pub(super) fn render(report: &Report, out: &mut dyn Write) -> Result<(), ReportError> {
    let page = page(report)?;
    out.write_all(page.as_bytes()).map_err(ReportError::write(Format::Html))
}

fn page(report: &Report) -> Result<String, ReportError> {
    let style = between(TEMPLATE, "<style>", "</style>").ok_or(ReportError::Template("no <style> block"))?;
    let script = between(TEMPLATE, "<script>", "</script>").ok_or(ReportError::Template("no <script> block"))?;
    if !TEMPLATE.contains(STYLE_HASH) || !TEMPLATE.contains(SCRIPT_HASH) {
        return Err(ReportError::Template("no {{STYLE_HASH}} or {{SCRIPT_HASH}} placeholder"));
    }
    // The hashes go in first and the data last, in one place, so nothing in
    // the data is ever searched for a placeholder.
    let template = TEMPLATE.replacen(STYLE_HASH, &csp_hash(style), 1).replacen(SCRIPT_HASH, &csp_hash(script), 1);
    let (head, tail) = template.split_once(DATA).ok_or(ReportError::Template("no {{REPORT_DATA}} placeholder"))?;
    let data = data_block(report)?;
    Ok([head, &data, tail].concat())
}

/// The report as the text of a `<script type="application/json">` element:
/// `<`, `>` and `&` are written as JSON escapes (they only ever occur inside
/// JSON strings), so no value can close the element or open a comment.
fn data_block(report: &Report) -> Result<String, ReportError> {
    let value = serde_json::json!({
        "generator": concat!("trustwarden ", env!("CARGO_PKG_VERSION")),
        "report": report,
    });
    let json = serde_json::to_string(&value).map_err(ReportError::json(Format::Html))?;
    let mut escaped = String::with_capacity(json.len() + 64);
    for c in json.chars() {
        match c {
            '<' => escaped.push_str("\\u003c"),
            '>' => escaped.push_str("\\u003e"),
            '&' => escaped.push_str("\\u0026"),
            '\u{2028}' => escaped.push_str("\\u2028"),
            '\u{2029}' => escaped.push_str("\\u2029"),
            c => escaped.push(c),
        }
    }
    Ok(escaped)
}

/// The text between the first `open` and the `close` after it.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

/// A CSP source expression allowing exactly this inline content.
fn csp_hash(content: &str) -> String {
    let digest = Sha256::digest(content.as_bytes());
    format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_has_every_placeholder_once() {
        for placeholder in [DATA, STYLE_HASH, SCRIPT_HASH] {
            assert_eq!(TEMPLATE.matches(placeholder).count(), 1, "{placeholder}");
        }
        assert_eq!(TEMPLATE.matches("<script>").count(), 1, "one code block, hashed for the CSP");
        assert_eq!(TEMPLATE.matches("<style>").count(), 1, "one style block, hashed for the CSP");
    }

    #[test]
    fn template_loads_nothing_from_outside() {
        for needle in ["http://", "https://", "src=", "href=", "@import", "url("] {
            assert!(!TEMPLATE.contains(needle), "reports/report.html mentions {needle}");
        }
    }
}
