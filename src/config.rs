//! The TOML configuration: parse, then validate. Every section is optional;
//! with no file at all trustwarden audits the caller's own account with the
//! built-in rules. examples/trustwarden.toml documents every setting.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::collect::{AccountScope, LiveOptions, SourceSpec};
use crate::policy::arn::is_account_id;

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `aws` (default) or `snapshot:DIR`; the command line's `--source` wins.
    pub source: Option<String>,
    pub aws: AwsConfig,
    pub zone: ZoneConfig,
    pub rules: RulesConfig,
    pub store: StoreConfig,
    pub credentials: CredentialsConfig,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AwsConfig {
    /// `account`: the caller's account; `organization`: every active account
    /// of the caller's organization, through `audit_role`.
    pub scope: Scope,
    pub audit_role: String,
    pub external_id: Option<String>,
    pub concurrency: usize,
    pub max_attempts: u32,
    pub call_timeout_secs: u64,
    pub credential_report_timeout_secs: u64,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    #[default]
    Account,
    Organization,
}

impl Default for AwsConfig {
    fn default() -> Self {
        let live = LiveOptions::default();
        AwsConfig {
            scope: Scope::Account,
            audit_role: live.audit_role,
            external_id: live.external_id,
            concurrency: live.concurrency,
            max_attempts: live.max_attempts,
            call_timeout_secs: live.call_timeout.as_secs(),
            credential_report_timeout_secs: live.credential_report_timeout.as_secs(),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ZoneConfig {
    /// The accounts inside the zone of trust. Empty: the organization when it
    /// is known, else the collected accounts.
    pub accounts: Vec<String>,
    /// Outside accounts you trust (vendors): their external-access findings
    /// are archived with that reason.
    pub trusted_accounts: Vec<String>,
    /// GitHub organizations whose repositories may assume roles over OIDC.
    pub trusted_github_orgs: Vec<String>,
    /// Treat IAM Identity Center sign-in as outside the zone.
    pub identity_center_is_external: bool,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// A directory of rule files replacing the built-in rules.
    pub dir: Option<PathBuf>,
    /// Rule ids not to run.
    pub disabled: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// The SQLite database. Default: `$STATE_DIRECTORY/trustwarden.db`, else `./trustwarden.db`.
    pub path: Option<PathBuf>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CredentialsConfig {
    /// The IAM user tag naming a credential's owner (an email address).
    pub owner_tag: String,
}

impl Default for CredentialsConfig {
    fn default() -> Self {
        CredentialsConfig { owner_tag: "owner".into() }
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// toml's message names the line, column and field.
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("{}: {field}: {message}", path.display())]
    Invalid { path: PathBuf, field: String, message: String },
}

impl Config {
    /// Read, parse and validate a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        Config::parse(&text, path)
    }

    /// Parse and validate configuration text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |field: &str, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            field: field.into(),
            message,
        };
        if let Some(source) = &self.source {
            source.parse::<SourceSpec>().map_err(|e| invalid("source", e.to_string()))?;
        }
        for (field, list) in
            [("zone.accounts", &self.zone.accounts), ("zone.trusted_accounts", &self.zone.trusted_accounts)]
        {
            if let Some(bad) = list.iter().find(|a| !is_account_id(a)) {
                return Err(invalid(field, format!("{bad:?} is not a 12-digit AWS account id")));
            }
        }
        if self.aws.concurrency == 0 {
            return Err(invalid("aws.concurrency", "must be at least 1".into()));
        }
        if self.aws.max_attempts == 0 {
            return Err(invalid("aws.max_attempts", "must be at least 1".into()));
        }
        if self.aws.audit_role.is_empty() {
            return Err(invalid("aws.audit_role", "must name a role".into()));
        }
        if self.credentials.owner_tag.is_empty() {
            return Err(invalid("credentials.owner_tag", "must name a tag key".into()));
        }
        Ok(())
    }

    /// The source to collect from: `override_source` (the command line), else
    /// the file's `source`, else live AWS with the `[aws]` settings.
    pub fn source(&self, override_source: Option<&str>) -> Result<SourceSpec, crate::collect::CollectError> {
        let spec: SourceSpec = override_source.or(self.source.as_deref()).unwrap_or("aws").parse()?;
        Ok(match spec {
            SourceSpec::Aws(_) => SourceSpec::Aws(self.live_options()),
            snapshot => snapshot,
        })
    }

    pub fn live_options(&self) -> LiveOptions {
        LiveOptions {
            scope: match self.aws.scope {
                Scope::Account => AccountScope::Caller,
                Scope::Organization => AccountScope::Organization,
            },
            audit_role: self.aws.audit_role.clone(),
            external_id: self.aws.external_id.clone(),
            concurrency: self.aws.concurrency,
            max_attempts: self.aws.max_attempts,
            call_timeout: Duration::from_secs(self.aws.call_timeout_secs),
            credential_report_timeout: Duration::from_secs(self.aws.credential_report_timeout_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("trustwarden.toml"))
    }

    #[test]
    fn empty_config_has_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.aws.audit_role, "TrustwardenAudit");
        assert_eq!(c.credentials.owner_tag, "owner");
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let e = parse("[zone]\naccounts = [\"123\"]\n").unwrap_err().to_string();
        assert_eq!(e, "trustwarden.toml: zone.accounts: \"123\" is not a 12-digit AWS account id");
        let e = parse("[aws]\nscope = \"account\"\naudit_rol = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("audit_rol"), "{e}");
        let e = parse("[aws]\nconcurrency = \"eight\"\n").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("concurrency"), "{e}");
        assert!(parse("source = \"ftp:x\"").unwrap_err().to_string().contains("source"));
    }
}
