//! The CSV report: one row per finding, in the report's order, for
//! spreadsheets and ad-hoc scripts. Lists are flattened (`;` between actions
//! and conditions, ` -> ` between path steps); cells a spreadsheet would run
//! as a formula are defused.

use std::borrow::Cow;
use std::io::Write;

use crate::findings::Finding;

use super::{Report, ReportError, display};

/// The header row; docs/report-json.md lists what each column holds.
pub const COLUMNS: [&str; 19] = [
    "id",
    "rule",
    "severity",
    "status",
    "account",
    "resource",
    "principal",
    "credential",
    "is_public",
    "actions",
    "conditions",
    "path",
    "evidence",
    "first_seen",
    "last_seen",
    "owner",
    "due",
    "title",
    "explanation",
];

pub(super) fn render(report: &Report, out: &mut dyn Write) -> Result<(), ReportError> {
    let mut writer = ::csv::WriterBuilder::new().from_writer(out);
    writer.write_record(COLUMNS)?;
    for finding in &report.findings {
        let cells = row(finding);
        writer.write_record(
            cells.iter().map(|cell| defuse(cell)).collect::<Vec<_>>().iter().map(|cell| cell.as_bytes()),
        )?;
    }
    writer.flush().map_err(|source| ReportError::Write { format: "csv", source })?;
    Ok(())
}

fn row(f: &Finding) -> [String; 19] {
    [
        f.id.clone(),
        f.rule.clone(),
        f.severity.as_str().to_owned(),
        f.status.as_str().to_owned(),
        f.account.clone(),
        f.resource.clone(),
        f.principal.clone().unwrap_or_default(),
        f.credential.map(|c| c.as_str().to_owned()).unwrap_or_default(),
        f.is_public.to_string(),
        f.actions.join(";"),
        f.conditions.iter().map(display::condition).collect::<Vec<_>>().join(";"),
        f.path.join(" -> "),
        f.evidence.iter().map(evidence).collect::<Vec<_>>().join(";"),
        display::rfc3339(&f.first_seen),
        display::rfc3339(&f.last_seen),
        f.owner.clone().unwrap_or_default(),
        f.due.map(|d| d.to_string()).unwrap_or_default(),
        f.title.clone(),
        f.explanation.clone(),
    ]
}

/// `policy#statement` or `policy#statement (Sid)`.
fn evidence(e: &crate::findings::EvidenceRef) -> String {
    match &e.sid {
        Some(sid) => format!("{}#{} ({sid})", e.policy, e.statement),
        None => format!("{}#{}", e.policy, e.statement),
    }
}

/// Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` (or a tab or
/// carriage return before one) as a formula, and owner tags, role names and
/// policy text come from whoever can write IAM data. Such cells get a leading
/// `'`, as OWASP recommends; no trustwarden-generated value starts that way.
fn defuse(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_plain_cells_kept() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("arn:aws:iam::1:role/a"), "arn:aws:iam::1:role/a");
        assert_eq!(defuse(""), "");
    }
}
