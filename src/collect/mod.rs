//! Collection: the one module that talks to AWS. It yields the same
//! [`Inventory`] from live AWS or from a snapshot directory, and records each
//! account's outcome so that one failing account never stops the others.

mod credential_report;
mod inventory;
mod live;
mod snapshot;
mod wire;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

pub use credential_report::COLUMNS as CREDENTIAL_REPORT_COLUMNS;
pub use credential_report::{
    AccessKeyColumns, CertColumns, CredentialReport, CredentialReportError, CredentialReportRow, ReportValue, RowError,
};
pub use inventory::{
    AccountInventory, DocumentProblem, Group, Inventory, ManagedPolicy, NamedPolicy, OidcProvider, Organization,
    OrganizationAccount, PasswordPolicy, Role, SamlProvider, User,
};
pub use live::{AccountScope, LiveOptions};

/// Where an inventory comes from: `aws` or `snapshot:DIR`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    Aws(LiveOptions),
    Snapshot(PathBuf),
}

impl FromStr for SourceSpec {
    type Err = CollectError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        match spec.split_once(':') {
            None if spec == "aws" => Ok(SourceSpec::Aws(LiveOptions::default())),
            Some(("snapshot", dir)) if !dir.is_empty() => Ok(SourceSpec::Snapshot(dir.into())),
            _ => Err(CollectError::UnknownSource(spec.to_owned())),
        }
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Aws(_) => f.write_str("aws"),
            SourceSpec::Snapshot(dir) => write!(f, "snapshot:{}", dir.display()),
        }
    }
}

/// What one collection yields: the inventory of the accounts that could be
/// read, and an outcome for every account that was attempted.
#[derive(Debug)]
pub struct Collection {
    pub inventory: Inventory,
    /// Ordered by account id.
    pub outcomes: Vec<AccountOutcome>,
}

/// One account's result. A failed account is absent from the inventory.
#[derive(Debug)]
pub struct AccountOutcome {
    pub account_id: String,
    pub result: Result<(), CollectError>,
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("unknown source {0:?}: expected \"aws\" or \"snapshot:DIR\"")]
    UnknownSource(String),
    /// An AWS API call failed; `call` is the IAM action name (`iam:GetCredentialReport`),
    /// which is also the permission the audit role needs.
    #[error("{call} failed: {message}")]
    Aws { call: &'static str, message: String },
    #[error("cannot assume {role_arn}: {message}")]
    AssumeRole { role_arn: String, message: String },
    #[error("{call} returned an unusable response: {message}")]
    MalformedResponse { call: &'static str, message: String },
    #[error("the credential report was still not ready after {}s", .0.as_secs())]
    CredentialReportTimeout(Duration),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {source}", path.display())]
    Json { path: PathBuf, source: serde_json::Error },
    #[error("{}: {source}", path.display())]
    CredentialReport { path: PathBuf, source: CredentialReportError },
    #[error("{}: a snapshot must go to an empty or new directory", .0.display())]
    OutputNotEmpty(PathBuf),
}

/// Collects an inventory from either source.
pub async fn collect(source: &SourceSpec) -> Result<Collection, CollectError> {
    match source {
        SourceSpec::Aws(options) => live::collect(options, None).await,
        SourceSpec::Snapshot(dir) => {
            let dir = dir.clone();
            // Reading and parsing are blocking work; keep them off the runtime's workers.
            match tokio::task::spawn_blocking(move || snapshot::load(&dir)).await {
                Ok(collection) => collection,
                Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
            }
        }
    }
}

/// Collects from live AWS and writes what was read to `out` in the snapshot
/// layout (`trustwarden snapshot --out DIR`). `out` must be new or empty.
/// Returns the same collection [`collect`] would.
pub async fn write_snapshot(options: &LiveOptions, out: &Path) -> Result<Collection, CollectError> {
    live::collect(options, Some(out)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sources() {
        assert_eq!("aws".parse::<SourceSpec>().unwrap(), SourceSpec::Aws(LiveOptions::default()));
        assert_eq!(
            "snapshot:examples/demo-org".parse::<SourceSpec>().unwrap(),
            SourceSpec::Snapshot("examples/demo-org".into())
        );
        for bad in ["", "aws:", "snapshot:", "s3://bucket", "AWS"] {
            let error = bad.parse::<SourceSpec>().unwrap_err();
            assert_eq!(error.to_string(), format!("unknown source {bad:?}: expected \"aws\" or \"snapshot:DIR\""));
        }
        assert_eq!(SourceSpec::Snapshot("d/x".into()).to_string(), "snapshot:d/x");
    }
}
