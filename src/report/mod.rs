//! One `Report` type; JSON, CSV, Markdown, HTML, SARIF and the terminal table
//! are renderings of it. The JSON shape is a stable, documented interface
//! (docs/report-json.md).

mod csv;
mod display;
mod html;
mod json;
mod markdown;
mod sarif;
mod table;

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::findings::{Finding, Severity, Status};

/// A run and its findings, as every format renders them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub run: RunInfo,
    pub findings: Vec<Finding>,
}

/// What was collected, from where, and how each account went.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub id: String,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub status: RunStatus,
    /// `aws` or `snapshot:DIR`.
    pub source: String,
    pub accounts: Vec<AccountStatus>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Every account collected.
    Ok,
    /// Some accounts failed; the others were analysed.
    Partial,
    /// No account could be collected.
    Failed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountStatus {
    pub account: String,
    pub status: AccountState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountState {
    Ok,
    Failed,
}

/// The output formats of `audit --format` and `findings list --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
    Markdown,
    Html,
    Sarif,
}

impl Report {
    /// Findings counted per severity, most severe first.
    pub fn counts_by_severity(&self) -> Vec<(Severity, usize)> {
        Severity::ALL.iter().map(|&s| (s, self.findings.iter().filter(|f| f.severity == s).count())).collect()
    }

    /// Findings counted per account and severity, ordered by account id. Every
    /// account of the run appears, with zeros if it has no findings.
    pub fn counts_by_account(&self) -> Vec<(String, SeverityCounts)> {
        let mut counts: BTreeMap<&str, SeverityCounts> =
            self.run.accounts.iter().map(|a| (a.account.as_str(), SeverityCounts::default())).collect();
        for finding in &self.findings {
            counts.entry(finding.account.as_str()).or_default().add(finding.severity);
        }
        counts.into_iter().map(|(account, c)| (account.to_owned(), c)).collect()
    }

    /// Findings counted per rule, most findings first, then by rule id.
    pub fn counts_by_rule(&self) -> Vec<(String, SeverityCounts)> {
        let mut counts: BTreeMap<&str, SeverityCounts> = BTreeMap::new();
        for finding in &self.findings {
            counts.entry(finding.rule.as_str()).or_default().add(finding.severity);
        }
        let mut counts: Vec<(String, SeverityCounts)> =
            counts.into_iter().map(|(rule, c)| (rule.to_owned(), c)).collect();
        counts.sort_by_key(|(rule, c)| (Reverse(c.total()), rule.clone()));
        counts
    }

    /// How many findings have `status`.
    pub fn count_with_status(&self, status: Status) -> usize {
        self.findings.iter().filter(|f| f.status == status).count()
    }

    /// The findings in the order people read them: most severe first, then
    /// active before archived before resolved, then by rule, account, resource
    /// and id, so the order is the same on every run.
    pub fn findings_by_severity(&self) -> Vec<&Finding> {
        let mut findings: Vec<&Finding> = self.findings.iter().collect();
        findings.sort_by(|a, b| {
            (Reverse(a.severity), status_rank(a.status), &a.rule, &a.account, &a.resource, &a.id).cmp(&(
                Reverse(b.severity),
                status_rank(b.status),
                &b.rule,
                &b.account,
                &b.resource,
                &b.id,
            ))
        });
        findings
    }
}

/// Finding counts split by severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeverityCounts {
    /// Indexed like [`Severity::ALL`]: critical first.
    pub by_severity: [usize; 5],
}

impl SeverityCounts {
    fn add(&mut self, severity: Severity) {
        self.by_severity[severity_index(severity)] += 1;
    }

    pub fn get(&self, severity: Severity) -> usize {
        self.by_severity[severity_index(severity)]
    }

    pub fn total(&self) -> usize {
        self.by_severity.iter().sum()
    }
}

fn severity_index(severity: Severity) -> usize {
    match severity {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low => 3,
        Severity::Info => 4,
    }
}

fn status_rank(status: Status) -> u8 {
    match status {
        Status::Active => 0,
        Status::Archived => 1,
        Status::Resolved => 2,
    }
}

/// Every finding status, in the order reports list them.
pub const STATUSES: [Status; 3] = [Status::Active, Status::Archived, Status::Resolved];

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
        }
    }
}

impl AccountState {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::Ok => "ok",
            AccountState::Failed => "failed",
        }
    }
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Sarif => "sarif",
        }
    }

    /// The usual file extension for `--out` paths in this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Table => "txt",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Sarif => "sarif",
        }
    }
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write the {format} report: {source}")]
    Write {
        format: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode the {format} report as JSON: {source}")]
    Json {
        format: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write the CSV report: {0}")]
    Csv(#[from] ::csv::Error),
    #[error("the HTML template reports/report.html is malformed: {0}")]
    Template(&'static str),
}

impl ReportError {
    fn write(format: Format) -> impl FnOnce(std::io::Error) -> ReportError {
        move |source| ReportError::Write { format: format.as_str(), source }
    }

    fn json(format: Format) -> impl FnOnce(serde_json::Error) -> ReportError {
        move |source| ReportError::Json { format: format.as_str(), source }
    }
}

/// Render `report` in `format` to `out`. Every format renders the same
/// [`Report`]; machine formats (JSON, CSV, SARIF) keep the report's finding
/// order, the formats for people sort by severity.
pub fn render(report: &Report, format: Format, out: &mut dyn Write) -> Result<(), ReportError> {
    match format {
        Format::Table => table::render(report, out),
        Format::Json => json::render(report, out),
        Format::Csv => csv::render(report, out),
        Format::Markdown => markdown::render(report, out),
        Format::Html => html::render(report, out),
        Format::Sarif => sarif::render(report, out),
    }
    .and_then(|()| out.flush().map_err(ReportError::write(format)))
}

/// [`render`] into a string (every format is UTF-8 text).
pub fn render_to_string(report: &Report, format: Format) -> Result<String, ReportError> {
    let mut out = Vec::new();
    render(report, format, &mut out)?;
    // Every renderer writes only `str` data, so this cannot fail; lossy keeps it total.
    Ok(String::from_utf8_lossy(&out).into_owned())
}
