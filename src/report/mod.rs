//! One `Report` type; JSON, CSV, Markdown, HTML, SARIF and the terminal table
//! are renderings of it. The JSON shape is a stable, documented interface
//! (docs/report-json.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::findings::{Finding, Severity};

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
}
