//! The JSON report: the serde form of [`Report`], pretty-printed. Its shape is
//! a stable interface, documented field by field in docs/report-json.md.

use std::io::Write;

use super::{Format, Report, ReportError};

pub(super) fn render(report: &Report, out: &mut dyn Write) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(ReportError::json(Format::Json))?;
    out.write_all(b"\n").map_err(ReportError::write(Format::Json))
}
