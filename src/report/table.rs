//! The terminal summary of `trustwarden audit`: the run, each account's
//! status and counts, counts by severity and status, then one line per
//! finding, aligned to fit 120 columns. Plain text, no colour.

use std::io::Write;

use crate::findings::{Finding, Severity};

use super::{Format, Report, ReportError, STATUSES, display};

/// The widest line the table writes.
pub const WIDTH: usize = 120;

/// The gap between columns.
const GAP: &str = "  ";

pub(super) fn render(report: &Report, out: &mut dyn Write) -> Result<(), ReportError> {
    let mut text = String::new();
    header(report, &mut text);
    text.push('\n');
    accounts(report, &mut text);
    text.push('\n');
    severities(report, &mut text);
    text.push('\n');
    findings(report, &mut text);
    out.write_all(text.as_bytes()).map_err(ReportError::write(Format::Table))
}

fn header(report: &Report, text: &mut String) {
    let run = &report.run;
    let lines = [
        format!("trustwarden audit  run {}  status {}", display::inert(&run.id), run.status.as_str()),
        format!("source    {}", display::inert(&run.source)),
        format!(
            "started   {}  finished {} ({})",
            display::time(&run.started),
            display::time(&run.finished),
            display::duration(run)
        ),
    ];
    for line in lines {
        text.push_str(&display::truncate_end(&line, WIDTH));
        text.push('\n');
    }
}

fn accounts(report: &Report, text: &mut String) {
    let mut columns = vec![Column::left("ACCOUNT", Cut::Middle), Column::left("STATUS", Cut::End)];
    columns.extend(Severity::ALL.iter().map(|s| Column::right(s.as_str().to_uppercase())));
    columns.push(Column::right("TOTAL"));
    columns.push(Column::left("ERROR", Cut::End).flexible());
    let rows = report
        .counts_by_account()
        .into_iter()
        .map(|(account, counts)| {
            let state = report.run.accounts.iter().find(|a| a.account == account);
            let mut row = vec![display::inert(&account), state.map_or("not in run", |a| a.status.as_str()).to_owned()];
            row.extend(Severity::ALL.iter().map(|&s| counts.get(s).to_string()));
            row.push(counts.total().to_string());
            row.push(state.and_then(|a| a.error.as_deref()).map(display::inert).unwrap_or_default());
            row
        })
        .collect::<Vec<_>>();
    if rows.is_empty() {
        text.push_str("No accounts in this run.\n");
    } else {
        layout(&columns, &rows, text);
    }
}

fn severities(report: &Report, text: &mut String) {
    let mut columns = vec![Column::left("SEVERITY", Cut::End)];
    columns.extend(STATUSES.iter().map(|s| Column::right(s.as_str().to_uppercase())));
    columns.push(Column::right("TOTAL"));
    let count = |severity: Option<Severity>, status: Option<crate::findings::Status>| {
        report
            .findings
            .iter()
            .filter(|f| severity.is_none_or(|s| f.severity == s) && status.is_none_or(|s| f.status == s))
            .count()
            .to_string()
    };
    let rows = Severity::ALL
        .iter()
        .map(|&s| Some(s))
        .chain([None])
        .map(|severity| {
            let mut row = vec![severity.map_or("total", Severity::as_str).to_owned()];
            row.extend(STATUSES.iter().map(|&status| count(severity, Some(status))));
            row.push(count(severity, None));
            row
        })
        .collect::<Vec<_>>();
    layout(&columns, &rows, text);
}

fn findings(report: &Report, text: &mut String) {
    if report.findings.is_empty() {
        text.push_str("No findings.\n");
        return;
    }
    let columns = [
        Column::left("SEVERITY", Cut::End),
        Column::left("STATUS", Cut::End),
        Column::left("RULE", Cut::Middle).flexible(),
        Column::left("ACCOUNT", Cut::Middle),
        Column::left("RESOURCE", Cut::Middle).flexible(),
        Column::left("PRINCIPAL / CREDENTIAL", Cut::Middle).flexible(),
    ];
    let rows = report.findings_by_severity().into_iter().map(finding_row).collect::<Vec<_>>();
    layout(&columns, &rows, text);
}

fn finding_row(f: &Finding) -> Vec<String> {
    let account = Some(f.account.as_str());
    let subject = match (&f.principal, f.credential, f.due) {
        (Some(principal), _, _) => display::short_arn(principal, account).into_owned(),
        (None, Some(credential), Some(due)) => format!("{} due {due}", credential.as_str()),
        (None, Some(credential), None) => credential.as_str().to_owned(),
        (None, None, _) => String::new(),
    };
    let subject = if f.path.len() > 2 { format!("{subject} ({} hops)", f.path.len() - 1) } else { subject };
    vec![
        f.severity.as_str().to_owned(),
        f.status.as_str().to_owned(),
        display::inert(&f.rule),
        display::inert(&f.account),
        display::inert(&display::short_arn(&f.resource, account)),
        display::inert(&subject),
    ]
}

/// How a column too narrow for a cell cuts it.
#[derive(Clone, Copy)]
enum Cut {
    /// Keep both ends: ARNs, whose account and name both matter.
    Middle,
    /// Keep the start: words.
    End,
}

struct Column {
    header: String,
    right: bool,
    cut: Cut,
    /// Gives up width when the table is too wide.
    flexible: bool,
}

impl Column {
    fn left(header: impl Into<String>, cut: Cut) -> Self {
        Column { header: header.into(), right: false, cut, flexible: false }
    }

    fn right(header: impl Into<String>) -> Self {
        Column { header: header.into(), right: true, cut: Cut::End, flexible: false }
    }

    fn flexible(self) -> Self {
        Column { flexible: true, ..self }
    }
}

/// Write `rows` under `columns`, each column as wide as its widest cell,
/// narrowing the widest flexible column step by step until a line fits
/// [`WIDTH`].
fn layout(columns: &[Column], rows: &[Vec<String>], text: &mut String) {
    let len = |s: &str| s.chars().count();
    let mut widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| rows.iter().map(|r| r.get(i).map_or(0, |cell| len(cell))).fold(len(&c.header), usize::max))
        .collect();
    let total = |widths: &[usize]| widths.iter().sum::<usize>() + GAP.len() * widths.len().saturating_sub(1);
    while total(&widths) > WIDTH {
        // The widest flexible column that can still give; the leftmost on ties.
        let mut widest: Option<usize> = None;
        for (i, column) in columns.iter().enumerate() {
            let can_give = column.flexible && widths[i] > len(&column.header).max(8);
            if can_give && widest.is_none_or(|w| widths[i] > widths[w]) {
                widest = Some(i);
            }
        }
        match widest {
            Some(i) => widths[i] -= 1,
            None => break,
        }
    }
    let header: Vec<String> = columns.iter().map(|c| c.header.clone()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (column, &width)) in columns.iter().zip(&widths).enumerate() {
            let cell = row.get(i).map_or("", String::as_str);
            let cell = match column.cut {
                Cut::Middle => display::truncate_middle(cell, width),
                Cut::End => display::truncate_end(cell, width),
            };
            if i > 0 {
                line.push_str(GAP);
            }
            let pad = width.saturating_sub(len(&cell));
            if column.right {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(&cell);
            } else {
                line.push_str(&cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
}
