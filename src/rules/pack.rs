//! The rule pack: `rules/*.toml` read into typed rules (a kind with its
//! parameters, plus the text a finding shows), from a directory or from the
//! copies built into the binary.
//!
//! A rule file is parsed twice: once for its `kind`, then as the file of that
//! kind, so every field, including the parameters, is checked with
//! `deny_unknown_fields` and an error keeps toml's position in the file.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::findings::Severity;
use crate::graph::issuers::{IssuerTable, IssuerTableError, OIDC_ISSUERS_FILE};

/// One rule: what it checks (`kind` with its parameters) and what its
/// findings say.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Also the file name (`<id>.toml`) and a finding's `rule`.
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// `enabled = false` in the file (or a config override) turns the rule off.
    pub enabled: bool,
    pub kind: RuleKind,
    pub description: String,
    pub remediation: String,
    /// CIS AWS Foundations Benchmark ids where they exist, then AWS documentation.
    pub references: Vec<String>,
    /// Where the rule was read from (`rules/<id>.toml` for the built-in pack).
    pub file: PathBuf,
}

/// What a rule checks, with its typed parameters. Rust implements the kinds;
/// a rule file instantiates one, so two files may share a kind with
/// different thresholds.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleKind {
    ExternalAccess(ExternalAccessParameters),
    ChainToPrivileged(ChainToPrivilegedParameters),
    OidcTrustWithoutSub(OidcTrustWithoutSubParameters),
    ConfusedDeputy(ConfusedDeputyParameters),
    AccessKeyNotRotated(AccessKeyNotRotatedParameters),
    AccessKeyUnused(AccessKeyUnusedParameters),
    AccessKeyNeverUsed(AccessKeyNeverUsedParameters),
    TwoActiveAccessKeys,
    ConsoleWithoutMfa,
    PasswordUnused(PasswordUnusedParameters),
    RootAccessKey,
    RootWithoutMfa,
    RootUsedRecently(RootUsedRecentlyParameters),
    WeakPasswordPolicy(WeakPasswordPolicyParameters),
    RoleUnused(RoleUnusedParameters),
    IdentityBroker(IdentityBrokerParameters),
    MfaConditionPitfall,
}

/// The `kind` field of a rule file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKindName {
    ExternalAccess,
    ChainToPrivileged,
    OidcTrustWithoutSub,
    ConfusedDeputy,
    AccessKeyNotRotated,
    AccessKeyUnused,
    AccessKeyNeverUsed,
    TwoActiveAccessKeys,
    ConsoleWithoutMfa,
    PasswordUnused,
    RootAccessKey,
    RootWithoutMfa,
    RootUsedRecently,
    WeakPasswordPolicy,
    RoleUnused,
    IdentityBroker,
    MfaConditionPitfall,
}

impl RuleKindName {
    pub const ALL: [RuleKindName; 17] = [
        RuleKindName::ExternalAccess,
        RuleKindName::ChainToPrivileged,
        RuleKindName::OidcTrustWithoutSub,
        RuleKindName::ConfusedDeputy,
        RuleKindName::AccessKeyNotRotated,
        RuleKindName::AccessKeyUnused,
        RuleKindName::AccessKeyNeverUsed,
        RuleKindName::TwoActiveAccessKeys,
        RuleKindName::ConsoleWithoutMfa,
        RuleKindName::PasswordUnused,
        RuleKindName::RootAccessKey,
        RuleKindName::RootWithoutMfa,
        RuleKindName::RootUsedRecently,
        RuleKindName::WeakPasswordPolicy,
        RuleKindName::RoleUnused,
        RuleKindName::IdentityBroker,
        RuleKindName::MfaConditionPitfall,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleKindName::ExternalAccess => "external-access",
            RuleKindName::ChainToPrivileged => "chain-to-privileged",
            RuleKindName::OidcTrustWithoutSub => "oidc-trust-without-sub",
            RuleKindName::ConfusedDeputy => "confused-deputy",
            RuleKindName::AccessKeyNotRotated => "access-key-not-rotated",
            RuleKindName::AccessKeyUnused => "access-key-unused",
            RuleKindName::AccessKeyNeverUsed => "access-key-never-used",
            RuleKindName::TwoActiveAccessKeys => "two-active-access-keys",
            RuleKindName::ConsoleWithoutMfa => "console-without-mfa",
            RuleKindName::PasswordUnused => "password-unused",
            RuleKindName::RootAccessKey => "root-access-key",
            RuleKindName::RootWithoutMfa => "root-without-mfa",
            RuleKindName::RootUsedRecently => "root-used-recently",
            RuleKindName::WeakPasswordPolicy => "weak-password-policy",
            RuleKindName::RoleUnused => "role-unused",
            RuleKindName::IdentityBroker => "identity-broker",
            RuleKindName::MfaConditionPitfall => "mfa-condition-pitfall",
        }
    }

    /// Parses the parameters of this kind from `source` and builds the kind.
    /// The one place that maps a kind's name to its parameter type.
    fn build<S: ParameterSource>(self, source: S) -> Result<(RuleKind, S::Rest), toml::de::Error> {
        // Kinds without parameters still parse `NoParameters`, so that any
        // key under `[parameters]` is reported.
        let unit = |kind: RuleKind| move |_: NoParameters| kind;
        match self {
            RuleKindName::ExternalAccess => source.parse(RuleKind::ExternalAccess),
            RuleKindName::ChainToPrivileged => source.parse(RuleKind::ChainToPrivileged),
            RuleKindName::OidcTrustWithoutSub => source.parse(RuleKind::OidcTrustWithoutSub),
            RuleKindName::ConfusedDeputy => source.parse(RuleKind::ConfusedDeputy),
            RuleKindName::AccessKeyNotRotated => source.parse(RuleKind::AccessKeyNotRotated),
            RuleKindName::AccessKeyUnused => source.parse(RuleKind::AccessKeyUnused),
            RuleKindName::AccessKeyNeverUsed => source.parse(RuleKind::AccessKeyNeverUsed),
            RuleKindName::TwoActiveAccessKeys => source.parse(unit(RuleKind::TwoActiveAccessKeys)),
            RuleKindName::ConsoleWithoutMfa => source.parse(unit(RuleKind::ConsoleWithoutMfa)),
            RuleKindName::PasswordUnused => source.parse(RuleKind::PasswordUnused),
            RuleKindName::RootAccessKey => source.parse(unit(RuleKind::RootAccessKey)),
            RuleKindName::RootWithoutMfa => source.parse(unit(RuleKind::RootWithoutMfa)),
            RuleKindName::RootUsedRecently => source.parse(RuleKind::RootUsedRecently),
            RuleKindName::WeakPasswordPolicy => source.parse(RuleKind::WeakPasswordPolicy),
            RuleKindName::RoleUnused => source.parse(RuleKind::RoleUnused),
            RuleKindName::IdentityBroker => source.parse(RuleKind::IdentityBroker),
            RuleKindName::MfaConditionPitfall => source.parse(unit(RuleKind::MfaConditionPitfall)),
        }
    }
}

impl fmt::Display for RuleKindName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RuleKind {
    pub fn name(&self) -> RuleKindName {
        match self {
            RuleKind::ExternalAccess(_) => RuleKindName::ExternalAccess,
            RuleKind::ChainToPrivileged(_) => RuleKindName::ChainToPrivileged,
            RuleKind::OidcTrustWithoutSub(_) => RuleKindName::OidcTrustWithoutSub,
            RuleKind::ConfusedDeputy(_) => RuleKindName::ConfusedDeputy,
            RuleKind::AccessKeyNotRotated(_) => RuleKindName::AccessKeyNotRotated,
            RuleKind::AccessKeyUnused(_) => RuleKindName::AccessKeyUnused,
            RuleKind::AccessKeyNeverUsed(_) => RuleKindName::AccessKeyNeverUsed,
            RuleKind::TwoActiveAccessKeys => RuleKindName::TwoActiveAccessKeys,
            RuleKind::ConsoleWithoutMfa => RuleKindName::ConsoleWithoutMfa,
            RuleKind::PasswordUnused(_) => RuleKindName::PasswordUnused,
            RuleKind::RootAccessKey => RuleKindName::RootAccessKey,
            RuleKind::RootWithoutMfa => RuleKindName::RootWithoutMfa,
            RuleKind::RootUsedRecently(_) => RuleKindName::RootUsedRecently,
            RuleKind::WeakPasswordPolicy(_) => RuleKindName::WeakPasswordPolicy,
            RuleKind::RoleUnused(_) => RuleKindName::RoleUnused,
            RuleKind::IdentityBroker(_) => RuleKindName::IdentityBroker,
            RuleKind::MfaConditionPitfall => RuleKindName::MfaConditionPitfall,
        }
    }

    /// The parameters as a TOML table, defaults filled in: what the rule
    /// runs with, and the base a config override is merged into.
    pub fn parameters(&self) -> Result<toml::Table, toml::ser::Error> {
        match self {
            RuleKind::ExternalAccess(p) => toml::Table::try_from(p),
            RuleKind::ChainToPrivileged(p) => toml::Table::try_from(p),
            RuleKind::OidcTrustWithoutSub(p) => toml::Table::try_from(p),
            RuleKind::ConfusedDeputy(p) => toml::Table::try_from(p),
            RuleKind::AccessKeyNotRotated(p) => toml::Table::try_from(p),
            RuleKind::AccessKeyUnused(p) => toml::Table::try_from(p),
            RuleKind::AccessKeyNeverUsed(p) => toml::Table::try_from(p),
            RuleKind::PasswordUnused(p) => toml::Table::try_from(p),
            RuleKind::RootUsedRecently(p) => toml::Table::try_from(p),
            RuleKind::WeakPasswordPolicy(p) => toml::Table::try_from(p),
            RuleKind::RoleUnused(p) => toml::Table::try_from(p),
            RuleKind::IdentityBroker(p) => toml::Table::try_from(p),
            RuleKind::TwoActiveAccessKeys
            | RuleKind::ConsoleWithoutMfa
            | RuleKind::RootAccessKey
            | RuleKind::RootWithoutMfa
            | RuleKind::MfaConditionPitfall => Ok(toml::Table::new()),
        }
    }
}

// ---------------------------------------------------------------------------
// Parameters, one struct per kind. Every field has a default, so a rule file
// names only what it changes; an unknown field is an error.
// ---------------------------------------------------------------------------

/// A kind without parameters: any key under `[parameters]` is an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParameters {}

/// external-access: per-finding severities come from the analysis (public
/// critical, cross-account high, external id medium, federated provider low,
/// missing provider info); the rule's severity is the nominal one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExternalAccessParameters {
    /// Vendor accounts (12 digits) whose findings are kept but archived.
    #[serde(deserialize_with = "account_ids")]
    pub trusted_accounts: Vec<String>,
    /// Treat the organization's IAM Identity Center provider as outside.
    pub identity_center_is_external: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainToPrivilegedParameters {
    /// A role whose identity policies allow any of these actions is privileged.
    pub privileged_actions: Vec<String>,
    /// Longest chain followed, in AssumeRole hops (at least 1).
    #[serde(deserialize_with = "at_least_one")]
    pub max_hops: u32,
}

impl Default for ChainToPrivilegedParameters {
    fn default() -> Self {
        ChainToPrivilegedParameters {
            privileged_actions: [
                "*:*",
                "iam:*",
                "iam:PassRole",
                "sts:AssumeRole",
                "organizations:*",
                "iam:CreateAccessKey",
                "iam:AttachRolePolicy",
                "iam:PutRolePolicy",
            ]
            .map(String::from)
            .to_vec(),
            max_hops: 6,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcTrustWithoutSubParameters {
    /// GitHub organizations whose `repo:ORG/...` subjects are inside the zone.
    pub trusted_github_orgs: Vec<String>,
    /// EKS clusters of the zone, by OIDC issuer id (`EXAMPLED539D4633E53DE1B71EXAMPLE`)
    /// or issuer URL (`oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE`).
    pub trusted_eks_issuers: Vec<String>,
    /// Cognito identity pools of the zone (`us-east-1:1a2b...`).
    pub trusted_cognito_pools: Vec<String>,
    /// GitLab.com top-level groups of the zone.
    pub trusted_gitlab_groups: Vec<String>,
    /// HCP Terraform organizations of the zone.
    pub trusted_terraform_organizations: Vec<String>,
    /// Bitbucket workspaces of the zone.
    pub trusted_bitbucket_workspaces: Vec<String>,
    /// CircleCI organization ids of the zone.
    pub trusted_circleci_orgs: Vec<String>,
    /// OAuth client ids (aud) of the zone's own applications at Google,
    /// Facebook, Login with Amazon and other OIDC issuers.
    pub trusted_oidc_audiences: Vec<String>,
    /// Further trusted lists, for issuers added to oidc-issuers.toml
    /// (`owners = "trusted_buildkite_orgs"` reads `trusted_lists.trusted_buildkite_orgs`).
    pub trusted_lists: BTreeMap<String, Vec<String>>,
}

impl OidcTrustWithoutSubParameters {
    /// Every trusted list by the name oidc-issuers.toml uses.
    pub fn lists(&self) -> BTreeMap<String, Vec<String>> {
        let mut lists = self.trusted_lists.clone();
        for (name, list) in [
            ("trusted_github_orgs", &self.trusted_github_orgs),
            ("trusted_eks_issuers", &self.trusted_eks_issuers),
            ("trusted_cognito_pools", &self.trusted_cognito_pools),
            ("trusted_gitlab_groups", &self.trusted_gitlab_groups),
            ("trusted_terraform_organizations", &self.trusted_terraform_organizations),
            ("trusted_bitbucket_workspaces", &self.trusted_bitbucket_workspaces),
            ("trusted_circleci_orgs", &self.trusted_circleci_orgs),
            ("trusted_oidc_audiences", &self.trusted_oidc_audiences),
        ] {
            lists.entry(name.to_string()).or_default().extend(list.iter().cloned());
        }
        lists
    }
}

/// identity-broker: principals that can obtain credentials for others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityBrokerParameters {
    /// A principal that can assume at least this many roles is a broker, as
    /// one allowed sts:AssumeRole on `*` or sts:GetFederationToken is.
    #[serde(deserialize_with = "at_least_one")]
    pub min_roles: u32,
}

impl Default for IdentityBrokerParameters {
    fn default() -> Self {
        IdentityBrokerParameters { min_roles: 10 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfusedDeputyParameters {
    /// Service principals that act for many customers, so a trust to them
    /// needs aws:SourceAccount or aws:SourceArn.
    pub services: Vec<String>,
}

impl Default for ConfusedDeputyParameters {
    fn default() -> Self {
        ConfusedDeputyParameters {
            services: [
                "sns.amazonaws.com",
                "events.amazonaws.com",
                "ecs-tasks.amazonaws.com",
                "cloudtrail.amazonaws.com",
                "config.amazonaws.com",
                "s3.amazonaws.com",
                "logs.amazonaws.com",
                "scheduler.amazonaws.com",
                "states.amazonaws.com",
                "backup.amazonaws.com",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessKeyNotRotatedParameters {
    /// An active key whose `last_rotated` is more than this many days old is a finding.
    pub max_age_days: u32,
}

impl Default for AccessKeyNotRotatedParameters {
    fn default() -> Self {
        AccessKeyNotRotatedParameters { max_age_days: 90 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessKeyUnusedParameters {
    /// An active key last used more than this many days ago is a finding.
    pub max_unused_days: u32,
}

impl Default for AccessKeyUnusedParameters {
    fn default() -> Self {
        AccessKeyUnusedParameters { max_unused_days: 45 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessKeyNeverUsedParameters {
    /// An active, never-used key created more than this many days ago is a finding.
    pub grace_days: u32,
}

impl Default for AccessKeyNeverUsedParameters {
    fn default() -> Self {
        AccessKeyNeverUsedParameters { grace_days: 7 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordUnusedParameters {
    /// A console password not used for more than this many days is a finding
    /// (never used: counted from when it was set).
    pub max_unused_days: u32,
}

impl Default for PasswordUnusedParameters {
    fn default() -> Self {
        PasswordUnusedParameters { max_unused_days: 45 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RootUsedRecentlyParameters {
    /// Root's password or a root key used at most this many days (× 24 hours)
    /// before the audit is a finding.
    pub window_days: u32,
}

impl Default for RootUsedRecentlyParameters {
    fn default() -> Self {
        RootUsedRecentlyParameters { window_days: 7 }
    }
}

/// What a strong password policy requires. An account without a policy is
/// weak: AWS then applies its default (8 characters minimum, no reuse prevention).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WeakPasswordPolicyParameters {
    pub minimum_length: u32,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
    /// Number of previous passwords that cannot be reused (0: not required).
    pub reuse_prevention: u32,
    /// When set, passwords must expire after at most this many days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_password_age_days: Option<u32>,
}

impl Default for WeakPasswordPolicyParameters {
    fn default() -> Self {
        WeakPasswordPolicyParameters {
            minimum_length: 14,
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: true,
            require_symbols: true,
            reuse_prevention: 24,
            max_password_age_days: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoleUnusedParameters {
    /// A role last used (or, never used, created) more than this many days ago is a finding.
    pub max_unused_days: u32,
    /// Roles whose path starts with one of these are not judged: AWS owns
    /// service-linked roles, IAM Identity Center owns its permission-set roles.
    pub exempt_path_prefixes: Vec<String>,
}

impl Default for RoleUnusedParameters {
    fn default() -> Self {
        RoleUnusedParameters {
            max_unused_days: 90,
            exempt_path_prefixes: vec!["/aws-service-role/".into(), "/aws-reserved/".into()],
        }
    }
}

fn account_ids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let ids = Vec::<String>::deserialize(deserializer)?;
    if let Some(bad) = ids.iter().find(|id| id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit())) {
        return Err(serde::de::Error::custom(format!("{bad:?} is not a 12-digit AWS account id")));
    }
    Ok(ids)
}

fn at_least_one<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    match u32::deserialize(deserializer)? {
        0 => Err(serde::de::Error::custom("must be at least 1")),
        n => Ok(n),
    }
}

// ---------------------------------------------------------------------------
// Reading rule files
// ---------------------------------------------------------------------------

/// First pass: only the kind, to know which file type to parse.
#[derive(Deserialize)]
struct KindOnly {
    kind: RuleKindName,
}

/// Second pass: the whole file, typed by its kind's parameters `P`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile<P> {
    id: toml::Spanned<String>,
    title: String,
    severity: Severity,
    #[allow(dead_code, reason = "read in the first pass; listed so that it is a known field")]
    kind: RuleKindName,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    #[serde(default)]
    parameters: P,
    description: String,
    remediation: String,
    references: Vec<String>,
}

fn enabled_by_default() -> bool {
    true
}

/// Where a kind's parameters are read from: a whole rule file, or a merged
/// parameter table (config overrides).
trait ParameterSource {
    /// What the source yields besides the kind.
    type Rest;
    fn parse<P: DeserializeOwned + Default>(
        self,
        build: impl FnOnce(P) -> RuleKind,
    ) -> Result<(RuleKind, Self::Rest), toml::de::Error>;
}

/// The common fields of a rule file, once its parameters are typed.
struct RuleHeader {
    id: toml::Spanned<String>,
    title: String,
    severity: Severity,
    enabled: bool,
    description: String,
    remediation: String,
    references: Vec<String>,
}

struct FileText<'a>(&'a str);

impl ParameterSource for FileText<'_> {
    type Rest = RuleHeader;
    fn parse<P: DeserializeOwned + Default>(
        self,
        build: impl FnOnce(P) -> RuleKind,
    ) -> Result<(RuleKind, RuleHeader), toml::de::Error> {
        let file: RuleFile<P> = toml::from_str(self.0)?;
        let header = RuleHeader {
            id: file.id,
            title: file.title,
            severity: file.severity,
            enabled: file.enabled,
            description: file.description,
            remediation: file.remediation,
            references: file.references,
        };
        Ok((build(file.parameters), header))
    }
}

struct ParameterTable(toml::Table);

impl ParameterSource for ParameterTable {
    type Rest = ();
    fn parse<P: DeserializeOwned + Default>(
        self,
        build: impl FnOnce(P) -> RuleKind,
    ) -> Result<(RuleKind, ()), toml::de::Error> {
        Ok((build(self.0.try_into()?), ()))
    }
}

impl Rule {
    /// Parses one rule file. `file` names it in errors and must be
    /// `<id>.toml`.
    pub fn parse(file: &Path, text: &str) -> Result<Rule, RulesError> {
        let invalid = |error: toml::de::Error| RulesError::invalid(file, text, &error);
        let KindOnly { kind } = toml::from_str(text).map_err(invalid)?;
        let (kind, header) = kind.build(FileText(text)).map_err(invalid)?;
        let rule = Rule {
            id: header.id.get_ref().clone(),
            title: header.title,
            severity: header.severity,
            enabled: header.enabled,
            kind,
            description: header.description,
            remediation: header.remediation,
            references: header.references,
            file: file.to_owned(),
        };
        let stem = file.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
        if rule.id != stem {
            let (line, _) = line_and_column(text, header.id.span().start);
            return Err(RulesError::IdMismatch { file: file.to_owned(), line, id: rule.id, stem });
        }
        Ok(rule)
    }
}

/// The rule files built into the binary: `rules/*.toml` as of the build.
const BUILTIN: [(&str, &str); 17] = [
    ("access-key-never-used.toml", include_str!("../../rules/access-key-never-used.toml")),
    ("access-key-not-rotated.toml", include_str!("../../rules/access-key-not-rotated.toml")),
    ("access-key-unused.toml", include_str!("../../rules/access-key-unused.toml")),
    ("chain-to-privileged.toml", include_str!("../../rules/chain-to-privileged.toml")),
    ("confused-deputy.toml", include_str!("../../rules/confused-deputy.toml")),
    ("console-without-mfa.toml", include_str!("../../rules/console-without-mfa.toml")),
    ("external-access.toml", include_str!("../../rules/external-access.toml")),
    ("identity-broker.toml", include_str!("../../rules/identity-broker.toml")),
    ("mfa-condition-pitfall.toml", include_str!("../../rules/mfa-condition-pitfall.toml")),
    ("oidc-trust-without-sub.toml", include_str!("../../rules/oidc-trust-without-sub.toml")),
    ("password-unused.toml", include_str!("../../rules/password-unused.toml")),
    ("role-unused.toml", include_str!("../../rules/role-unused.toml")),
    ("root-access-key.toml", include_str!("../../rules/root-access-key.toml")),
    ("root-used-recently.toml", include_str!("../../rules/root-used-recently.toml")),
    ("root-without-mfa.toml", include_str!("../../rules/root-without-mfa.toml")),
    ("two-active-access-keys.toml", include_str!("../../rules/two-active-access-keys.toml")),
    ("weak-password-policy.toml", include_str!("../../rules/weak-password-policy.toml")),
];

/// The rules an audit runs, ordered by id, and the OIDC issuer table the
/// federation rules read (`oidc-issuers.toml` beside the rule files).
#[derive(Clone, Debug, PartialEq)]
pub struct RulePack {
    rules: Vec<Rule>,
    oidc_issuers: Arc<IssuerTable>,
}

impl RulePack {
    /// The pack built into the binary, so trustwarden runs with defaults
    /// anywhere. Its files are checked by the test suite.
    pub fn builtin() -> Result<RulePack, RulesError> {
        let files = BUILTIN.iter().map(|(name, text)| (Path::new("rules").join(name), (*text).to_owned()));
        let (rules, errors) = Self::from_files(files);
        if let Some(error) = errors.into_iter().next() {
            return Err(RulesError::Builtin(error.to_string()));
        }
        let oidc_issuers = IssuerTable::builtin().map_err(|e| RulesError::Builtin(e.to_string()))?;
        Ok(RulePack { rules, oidc_issuers })
    }

    /// The pack a configuration asks for: `rules.dir` or the built-in rules,
    /// with `rules.disabled` turned off (a name that is no rule is an error).
    pub fn for_config(config: &crate::config::Config) -> Result<RulePack, RulesError> {
        let mut pack = match &config.rules.dir {
            Some(dir) => Self::load_dir(dir)?,
            None => Self::builtin()?,
        };
        for id in &config.rules.disabled {
            let rule = pack.get_mut(id).ok_or_else(|| RulesError::UnknownRule { id: id.clone() })?;
            rule.enabled = false;
        }
        Ok(pack)
    }

    /// Loads every `*.toml` file of `dir` (other files are ignored); the
    /// first problem is the error. [`RulePack::validate_dir`] reports all.
    pub fn load_dir(dir: &Path) -> Result<RulePack, RulesError> {
        let (rules, errors) = Self::read_dir(dir);
        if let Some(error) = errors.into_iter().next() {
            return Err(error);
        }
        let oidc_issuers = Self::read_issuers(dir).map_err(|mut errors| errors.remove(0))?;
        Ok(RulePack { rules, oidc_issuers })
    }

    /// `oidc-issuers.toml` of a rules directory, or the built-in table when
    /// the directory has none.
    fn read_issuers(dir: &Path) -> Result<Arc<IssuerTable>, Vec<RulesError>> {
        let path = dir.join(OIDC_ISSUERS_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return IssuerTable::builtin().map_err(|e| vec![RulesError::Builtin(e.to_string())]);
            }
            Err(source) => return Err(vec![RulesError::Io { path, source }]),
        };
        IssuerTable::parse(&text).map(Arc::new).map_err(|error| {
            let error = match error {
                IssuerTableError::Toml(error) => RulesError::invalid(&path, &text, &error),
                IssuerTableError::Invalid { issuer, field, message } => {
                    let line = text
                        .match_indices("[[issuer]]")
                        .nth(issuer.saturating_sub(1))
                        .map_or(1, |(at, _)| text[..at].matches('\n').count() + 1);
                    RulesError::Invalid { file: path.clone(), line, column: 1, field: Some(field), message }
                }
            };
            vec![error]
        })
    }

    /// The OIDC issuer table.
    pub fn oidc_issuers(&self) -> Arc<IssuerTable> {
        Arc::clone(&self.oidc_issuers)
    }

    /// Every problem in `dir`, one or more per bad file; empty when the
    /// directory loads.
    pub fn validate_dir(dir: &Path) -> Vec<RulesError> {
        let mut errors = Self::read_dir(dir).1;
        if let Err(issuers) = Self::read_issuers(dir) {
            errors.extend(issuers);
        }
        errors
    }

    fn read_dir(dir: &Path) -> (Vec<Rule>, Vec<RulesError>) {
        let io_error = |source| RulesError::Io { path: dir.to_owned(), source };
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(source) => return (Vec::new(), vec![io_error(source)]),
        };
        let mut paths = Vec::new();
        let mut errors = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => {
                    let path = entry.path();
                    // The issuer table is data the rules read, not a rule.
                    let issuer_table = path.file_name().is_some_and(|name| name == OIDC_ISSUERS_FILE);
                    if path.extension().is_some_and(|ext| ext == "toml") && path.is_file() && !issuer_table {
                        paths.push(path);
                    }
                }
                Err(source) => errors.push(io_error(source)),
            }
        }
        if paths.is_empty() && errors.is_empty() {
            return (Vec::new(), vec![RulesError::NoRules { dir: dir.to_owned() }]);
        }
        paths.sort();
        let mut files = Vec::new();
        for path in paths {
            match fs::read_to_string(&path) {
                Ok(text) => files.push((path, text)),
                Err(source) => errors.push(RulesError::Io { path, source }),
            }
        }
        let (rules, parse_errors) = Self::from_files(files);
        errors.extend(parse_errors);
        (rules, errors)
    }

    /// Parses rule files, keeping the good ones and every error.
    fn from_files(files: impl IntoIterator<Item = (PathBuf, String)>) -> (Vec<Rule>, Vec<RulesError>) {
        let mut rules: Vec<Rule> = Vec::new();
        let mut errors = Vec::new();
        // A file whose id is not its name is wrong anyway; it is still checked
        // against the others, so a copied file that kept its original's id
        // says which file it collides with.
        let mut misnamed = Vec::new();
        for (path, text) in files {
            match Rule::parse(&path, &text) {
                Ok(rule) => rules.push(rule),
                Err(error @ RulesError::IdMismatch { .. }) => {
                    misnamed.push(error);
                }
                Err(error) => errors.push(error),
            }
        }
        let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
        rules.retain(|rule| match seen.get(&rule.id) {
            Some(first) => {
                errors.push(RulesError::DuplicateId {
                    file: rule.file.clone(),
                    line: 1,
                    id: rule.id.clone(),
                    first: first.clone(),
                });
                false
            }
            None => {
                seen.insert(rule.id.clone(), rule.file.clone());
                true
            }
        });
        for error in misnamed {
            if let RulesError::IdMismatch { file, line, id, .. } = &error
                && let Some(first) = seen.get(id)
            {
                let duplicate =
                    RulesError::DuplicateId { file: file.clone(), line: *line, id: id.clone(), first: first.clone() };
                errors.push(error);
                errors.push(duplicate);
            } else {
                errors.push(error);
            }
        }
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        (rules, errors)
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.id == id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Rule> {
        self.rules.iter_mut().find(|rule| rule.id == id)
    }

    /// Every rule, enabled or not, ordered by id.
    pub fn iter(&self) -> std::slice::Iter<'_, Rule> {
        self.rules.iter()
    }

    pub fn enabled(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(|rule| rule.enabled)
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Applies a config's changes to one rule: parameters are merged into the
    /// rule's current ones and checked as strictly as in a rule file.
    pub fn apply_override(&mut self, id: &str, changes: &RuleOverride) -> Result<(), RulesError> {
        let rule = self.get_mut(id).ok_or_else(|| RulesError::UnknownRule { id: id.to_owned() })?;
        if !changes.parameters.is_empty() {
            let mut parameters = rule
                .kind
                .parameters()
                .map_err(|error| RulesError::Override { id: id.to_owned(), message: error.to_string() })?;
            parameters.extend(changes.parameters.clone());
            let (kind, ()) = rule
                .kind
                .name()
                .build(ParameterTable(parameters))
                .map_err(|error| RulesError::Override { id: id.to_owned(), message: error.message().to_owned() })?;
            rule.kind = kind;
        }
        if let Some(enabled) = changes.enabled {
            rule.enabled = enabled;
        }
        if let Some(severity) = changes.severity {
            rule.severity = severity;
        }
        Ok(())
    }
}

impl<'a> IntoIterator for &'a RulePack {
    type Item = &'a Rule;
    type IntoIter = std::slice::Iter<'a, Rule>;
    fn into_iter(self) -> Self::IntoIter {
        self.rules.iter()
    }
}

/// What a config may change in a rule (a `[rules.<id>]` table, say).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOverride {
    pub enabled: Option<bool>,
    pub severity: Option<Severity>,
    /// Parameter values that replace the rule file's.
    #[serde(default)]
    pub parameters: toml::Table,
}

/// Why rules cannot be loaded. File errors name the file, the line and,
/// where there is one, the field.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The rules built into the binary do not load (a build defect the test suite catches).
    #[error("the built-in rules are invalid: {0}")]
    Builtin(String),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: no rule files (*.toml)", dir.display())]
    NoRules { dir: PathBuf },
    #[error("{}:{line}:{column}: {}{message}", file.display(), field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default())]
    Invalid {
        file: PathBuf,
        /// 1-based.
        line: usize,
        /// 1-based, in characters.
        column: usize,
        /// Dotted path of the field (`parameters.max_age_days`), when the error is about one.
        field: Option<String>,
        message: String,
    },
    #[error("{}:{line}: id: {id:?} is not the file name {:?}", file.display(), format!("{stem}.toml"))]
    IdMismatch { file: PathBuf, line: usize, id: String, stem: String },
    #[error("{}:{line}: id: {id:?} is already the id of {}", file.display(), first.display())]
    DuplicateId { file: PathBuf, line: usize, id: String, first: PathBuf },
    #[error("rule {id:?}: no such rule")]
    UnknownRule { id: String },
    #[error("rule {id:?}: parameters: {message}")]
    Override { id: String, message: String },
}

impl RulesError {
    fn invalid(file: &Path, text: &str, error: &toml::de::Error) -> RulesError {
        let offset = error.span().map_or(0, |span| span.start);
        let (line, column) = line_and_column(text, offset);
        let message = error.message().trim_end().to_owned();
        let field = field_at(text, error.span(), &message);
        RulesError::Invalid { file: file.to_owned(), line, column, field, message }
    }

    /// The file the error is about, if any.
    pub fn file(&self) -> Option<&Path> {
        match self {
            RulesError::Io { path, .. } => Some(path),
            RulesError::NoRules { dir } => Some(dir),
            RulesError::Invalid { file, .. }
            | RulesError::IdMismatch { file, .. }
            | RulesError::DuplicateId { file, .. } => Some(file),
            RulesError::UnknownRule { .. } | RulesError::Override { .. } | RulesError::Builtin(_) => None,
        }
    }

    /// The 1-based line in [`RulesError::file`], when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            RulesError::Invalid { line, .. }
            | RulesError::IdMismatch { line, .. }
            | RulesError::DuplicateId { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The field the error is about, when known (`parameters.max_age_days`).
    pub fn field(&self) -> Option<&str> {
        match self {
            RulesError::Invalid { field, .. } => field.as_deref(),
            RulesError::IdMismatch { .. } | RulesError::DuplicateId { .. } => Some("id"),
            RulesError::Override { .. } => Some("parameters"),
            _ => None,
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The dotted key path an error is about: the innermost key whose key or
/// value holds the error's position; for a missing field, its name.
fn field_at(text: &str, span: Option<Range<usize>>, message: &str) -> Option<String> {
    // Parameters all have defaults, so only top-level fields can be missing;
    // toml then points at the document, not at a key.
    if let Some(missing) = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()) {
        return Some(missing.to_owned());
    }
    let mut path = Vec::new();
    let document = toml::de::DeTable::parse(text).ok()?;
    key_path_at(document.get_ref(), span?.start, &mut path).then(|| path.join("."))
}

/// Pushes onto `path` the keys leading to the innermost key or value that
/// holds `offset`. A `[table]` header's span covers only the header, so
/// every subtable is searched, not only the ones whose span holds `offset`.
fn key_path_at(table: &toml::de::DeTable<'_>, offset: usize, path: &mut Vec<String>) -> bool {
    let holds = |range: Range<usize>| range.start <= offset && offset < range.end.max(range.start + 1);
    for (key, value) in table {
        path.push(key.get_ref().to_string());
        let inner = value.get_ref().as_table();
        if inner.is_some_and(|inner| key_path_at(inner, offset, path)) {
            return true;
        }
        if holds(key.span()) || holds(value.span()) {
            return true;
        }
        path.pop();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(text: &str) -> RulesError {
        Rule::parse(Path::new("rules/access-key-not-rotated.toml"), text).unwrap_err()
    }

    const GOOD: &str = r#"id = "access-key-not-rotated"
title = "Access key not rotated"
severity = "medium"
kind = "access-key-not-rotated"
description = "d"
remediation = "r"
references = []

[parameters]
max_age_days = 30
"#;

    #[test]
    fn parses_a_rule_with_typed_parameters() {
        let rule = Rule::parse(Path::new("rules/access-key-not-rotated.toml"), GOOD).unwrap();
        assert_eq!(rule.kind, RuleKind::AccessKeyNotRotated(AccessKeyNotRotatedParameters { max_age_days: 30 }));
        assert!(rule.enabled);
        let defaults =
            Rule::parse(Path::new("access-key-not-rotated.toml"), GOOD.split("[parameters]").next().unwrap()).unwrap();
        assert_eq!(defaults.kind, RuleKind::AccessKeyNotRotated(AccessKeyNotRotatedParameters { max_age_days: 90 }));
    }

    #[test]
    fn errors_name_line_and_field() {
        let error = invalid(&GOOD.replace("max_age_days = 30", "max_age = 30"));
        assert_eq!(
            error.to_string(),
            "rules/access-key-not-rotated.toml:10:1: parameters.max_age: unknown field `max_age`, expected `max_age_days`"
        );
        let error = invalid(&GOOD.replace("= 30", "= \"thirty\""));
        assert_eq!((error.line(), error.field()), (Some(10), Some("parameters.max_age_days")), "{error}");
        let error = invalid(&GOOD.replace("severity = \"medium\"", "severity = \"urgent\""));
        assert_eq!((error.line(), error.field()), (Some(3), Some("severity")), "{error}");
        let error = invalid(&GOOD.replace("title = \"Access key not rotated\"\n", ""));
        assert_eq!(error.field(), Some("title"), "{error}");
        let error = invalid(&GOOD.replace("kind = \"access-key-not-rotated\"", "kind = \"key-age\""));
        assert_eq!((error.line(), error.field()), (Some(4), Some("kind")), "{error}");
        let error = invalid(&GOOD.replace("references = []", "references = []\nrefs = []"));
        assert_eq!((error.line(), error.field()), (Some(8), Some("refs")), "{error}");
    }

    #[test]
    fn overrides_merge_and_are_checked() {
        let mut pack = RulePack {
            rules: vec![Rule::parse(Path::new("access-key-not-rotated.toml"), GOOD).unwrap()],
            oidc_issuers: IssuerTable::builtin().unwrap(),
        };
        let changes: RuleOverride =
            toml::from_str("enabled = false\nseverity = \"high\"\n[parameters]\nmax_age_days = 60").unwrap();
        pack.apply_override("access-key-not-rotated", &changes).unwrap();
        let rule = pack.get("access-key-not-rotated").unwrap();
        assert_eq!((rule.enabled, rule.severity), (false, Severity::High));
        assert_eq!(rule.kind, RuleKind::AccessKeyNotRotated(AccessKeyNotRotatedParameters { max_age_days: 60 }));

        let typo: RuleOverride = toml::from_str("[parameters]\nmax_age = 60").unwrap();
        let error = pack.apply_override("access-key-not-rotated", &typo).unwrap_err();
        assert!(error.to_string().contains("unknown field `max_age`"), "{error}");
        assert!(matches!(pack.apply_override("nope", &typo), Err(RulesError::UnknownRule { .. })));
    }
}
