//! The typed inventory every source yields: what the audit knows about an
//! organization and each of its accounts, with documents already parsed.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::credential_report::CredentialReport;
use crate::policy::Policy;

/// Everything collected in one run, from live AWS or a snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct Inventory {
    /// Known when collecting an organization, or from a snapshot's `organization.json`.
    pub organization: Option<Organization>,
    /// The accounts that were collected, ordered by account id. Accounts that
    /// failed are absent here and recorded in the run's outcomes.
    pub accounts: Vec<AccountInventory>,
    /// When the data was taken: the start of a live collection, or a
    /// snapshot's `snapshot.json` `collected_at`. Age-based checks measure from
    /// this, so an old snapshot is judged as of the day it was taken.
    pub collected_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    pub id: String,
    pub master_account_id: String,
    /// Every member account, whatever its status: a suspended account is still
    /// inside the organization's zone of trust.
    pub accounts: Vec<OrganizationAccount>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganizationAccount {
    pub id: String,
    pub name: String,
    pub email: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, as AWS Organizations says it.
    pub status: String,
}

impl OrganizationAccount {
    /// Only active accounts can be collected; the others are skipped.
    pub fn is_active(&self) -> bool {
        self.status == "ACTIVE"
    }
}

/// One account's IAM configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountInventory {
    pub account_id: String,
    pub alias: Option<String>,
    /// The account's name in the organization, when known.
    pub name: Option<String>,
    pub users: Vec<User>,
    pub roles: Vec<Role>,
    pub groups: Vec<Group>,
    /// Customer managed policies, and the AWS managed policies attached to
    /// something in the account.
    pub managed_policies: Vec<ManagedPolicy>,
    pub credential_report: CredentialReport,
    /// `None`: the account has no password policy, so AWS's defaults apply.
    pub password_policy: Option<PasswordPolicy>,
    pub oidc_providers: Vec<OidcProvider>,
    pub saml_providers: Vec<SamlProvider>,
    /// Documents that could not be read. Everything else in the account is kept.
    pub problems: Vec<DocumentProblem>,
}

/// An inline policy: its name and the parsed document.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedPolicy {
    pub name: String,
    pub policy: Arc<Policy>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub arn: String,
    pub name: String,
    pub path: String,
    pub id: String,
    pub create_date: DateTime<Utc>,
    pub inline_policies: Vec<NamedPolicy>,
    pub attached_policies: Vec<String>,
    pub permissions_boundary: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Names of the groups the user belongs to.
    pub groups: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    pub arn: String,
    pub name: String,
    pub path: String,
    pub id: String,
    pub create_date: DateTime<Utc>,
    /// `None` only when the document could not be parsed (see `problems`).
    pub trust_policy: Option<Arc<Policy>>,
    pub inline_policies: Vec<NamedPolicy>,
    pub attached_policies: Vec<String>,
    pub permissions_boundary: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// `None`: not used within IAM's tracking period (400 days).
    pub last_used: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub arn: String,
    pub name: String,
    pub path: String,
    pub id: String,
    pub create_date: DateTime<Utc>,
    pub inline_policies: Vec<NamedPolicy>,
    pub attached_policies: Vec<String>,
}

/// A managed policy with its default version's document.
#[derive(Clone, Debug, PartialEq)]
pub struct ManagedPolicy {
    pub arn: String,
    pub name: String,
    pub path: String,
    pub default_version_id: String,
    pub attachment_count: u32,
    pub create_date: DateTime<Utc>,
    pub update_date: DateTime<Utc>,
    pub policy: Arc<Policy>,
}

impl ManagedPolicy {
    /// AWS managed policies live in the pseudo-account `aws`
    /// (`arn:aws:iam::aws:policy/...`), in every partition.
    pub fn is_aws_managed(&self) -> bool {
        self.arn.split(':').nth(4) == Some("aws")
    }
}

/// `aws iam get-account-password-policy` `.PasswordPolicy`. The same shape
/// serves the snapshot file and the inventory: every field is plain data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PasswordPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_password_length: Option<u32>,
    #[serde(default)]
    pub require_symbols: bool,
    #[serde(default)]
    pub require_numbers: bool,
    #[serde(default)]
    pub require_uppercase_characters: bool,
    #[serde(default)]
    pub require_lowercase_characters: bool,
    #[serde(default)]
    pub allow_users_to_change_password: bool,
    #[serde(default)]
    pub expire_passwords: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_password_age: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_reuse_prevention: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hard_expiry: Option<bool>,
}

/// An IAM OpenID Connect identity provider, which trust policies name as
/// `Federated`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcProvider {
    pub arn: String,
    pub url: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub create_date: Option<DateTime<Utc>>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamlProvider {
    pub arn: String,
    pub metadata_document: String,
    pub create_date: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub tags: BTreeMap<String, String>,
}

/// A document in an account that could not be read, kept so the run can
/// report it while the rest of the account is audited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentProblem {
    pub account_id: String,
    /// The snapshot file the document lives in (also for live data, so both
    /// sources report a problem identically).
    pub file: &'static str,
    /// Which document: `role app, trust policy`, `line 7`, ...
    pub location: String,
    pub message: String,
}

impl fmt::Display for DocumentProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "account {}: {}: {}: {}", self.account_id, self.file, self.location, self.message)
    }
}
