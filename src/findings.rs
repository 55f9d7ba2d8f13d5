//! Findings: what a rule reports, with a stable id, evidence and lifecycle.
//! The JSON shape is the documented report interface (docs/report-json.md).

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How bad a finding is. Ordered: `Info < Low < ... < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] =
        [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Info];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown severity {s:?} (expected critical, high, medium, low or info)"))
    }
}

/// Where a finding is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Seen in the latest run that collected its account.
    Active,
    /// Matched by a suppression (or a trusted vendor): kept, not alerted on.
    Archived,
    /// Not seen again in a run that collected its account successfully.
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Archived => "archived",
            Status::Resolved => "resolved",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [Status::Active, Status::Archived, Status::Resolved]
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown status {s:?} (expected active, archived or resolved)"))
    }
}

/// The credential a hygiene finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    // snake_case alone would give `access_key1`; design.md says `access_key_1`.
    #[serde(rename = "access_key_1")]
    AccessKey1,
    #[serde(rename = "access_key_2")]
    AccessKey2,
    Password,
    Root,
}

impl Credential {
    pub fn as_str(self) -> &'static str {
        match self {
            Credential::AccessKey1 => "access_key_1",
            Credential::AccessKey2 => "access_key_2",
            Credential::Password => "password",
            Credential::Root => "root",
        }
    }
}

/// What a condition on a grant does to who can use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionClass {
    /// sts:ExternalId: chosen by the caller; a shared secret, not a boundary.
    ExternalId,
    /// aws:PrincipalOrgID / aws:PrincipalOrgPaths: set by AWS.
    PrincipalOrg,
    /// aws:PrincipalAccount / aws:PrincipalArn: set by AWS.
    PrincipalAccount,
    /// aws:SourceAccount / aws:SourceArn / aws:SourceOrgID: set by AWS for service requests.
    SourceAccount,
    /// aws:MultiFactorAuthPresent / aws:MultiFactorAuthAge.
    Mfa,
    /// An OIDC token's subject (`...:sub`), set by the identity provider.
    OidcSub,
    /// An OIDC token's audience (`...:aud`, `...:azp`).
    OidcAud,
    /// Other OIDC claims (repository_owner, job_workflow_ref, amr, ...).
    OidcClaim,
    /// SAML:aud and other SAML assertion keys.
    SamlAud,
    /// aws:SourceIp / aws:SourceVpc / aws:SourceVpce.
    SourceIp,
    Other,
}

/// One condition as a finding reports it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConditionSummary {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
    pub class: ConditionClass,
}

/// A statement a finding rests on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EvidenceRef {
    /// Policy ARN or name (`role/app trust policy`, `arn:aws:iam::aws:policy/...`).
    pub policy: String,
    /// Statement index in the document.
    pub statement: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// A finding, as rules report it and the store keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub account: String,
    /// ARN of the role, user or account.
    pub resource: String,
    /// The outside principal, for trust findings.
    pub principal: Option<String>,
    pub credential: Option<Credential>,
    pub actions: Vec<String>,
    pub conditions: Vec<ConditionSummary>,
    pub is_public: bool,
    /// For chains: ARNs from the outside principal to the privileged role.
    pub path: Vec<String>,
    pub evidence: Vec<EvidenceRef>,
    /// Why this is a finding, in a sentence or two.
    pub explanation: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Who should act (credential findings: the key's owner).
    pub owner: Option<String>,
    /// When it must be fixed by (credential findings: the rotation deadline).
    pub due: Option<NaiveDate>,
}

/// Stable finding id: the hash of rule, resource and subject (principal or
/// credential), so the same problem keeps its id across runs.
pub fn finding_id(rule: &str, resource: &str, subject: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [rule, resource, subject] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    format!("tw-{}", hex::encode(&digest[..10]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = finding_id("external-access", "arn:aws:iam::1:role/a", "888888888888");
        assert_eq!(a, finding_id("external-access", "arn:aws:iam::1:role/a", "888888888888"));
        assert_ne!(a, finding_id("external-access", "arn:aws:iam::1:role/a8", "88888888888"));
        assert!(a.starts_with("tw-") && a.len() == 23);
    }

    #[test]
    fn credentials_serialize_as_documented() {
        for c in [Credential::AccessKey1, Credential::AccessKey2, Credential::Password, Credential::Root] {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!("urgent".parse::<Severity>().is_err());
    }
}
