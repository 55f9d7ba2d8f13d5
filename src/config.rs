//! The TOML configuration: parse, then validate. Every section is optional;
//! with no file at all trustwarden audits the caller's own account with the
//! built-in rules. examples/trustwarden.toml documents every setting.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::collect::{AccountScope, LiveOptions, SourceSpec};
use crate::findings::Severity;
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
    /// When the daemon audits and sends reminders.
    pub schedule: ScheduleConfig,
    pub daemon: DaemonConfig,
    /// Email: the SMTP relay, the digest after each run, retries.
    pub notify: NotifyConfig,
    /// Access-key rotation reminders to each key's owner.
    pub reminders: RemindersConfig,
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
    /// EKS OIDC issuer ids (`oidc.eks.REGION.amazonaws.com/id/ID`: the ID) of your own clusters.
    pub trusted_eks_issuers: Vec<String>,
    /// Cognito identity pool ids (`REGION:GUID`) of your own applications.
    pub trusted_cognito_pools: Vec<String>,
    /// GitLab groups whose projects may assume roles.
    pub trusted_gitlab_groups: Vec<String>,
    /// HCP Terraform organizations whose workspaces may assume roles.
    pub trusted_terraform_organizations: Vec<String>,
    /// Bitbucket workspaces whose pipelines may assume roles.
    pub trusted_bitbucket_workspaces: Vec<String>,
    /// CircleCI organization ids whose jobs may assume roles.
    pub trusted_circleci_orgs: Vec<String>,
    /// OIDC audiences (client ids) of your own applications, for other issuers.
    pub trusted_oidc_audiences: Vec<String>,
    /// Treat IAM Identity Center sign-in as outside the zone.
    pub identity_center_is_external: bool,
}

impl ZoneConfig {
    /// The trusted-identity lists by the name the issuer table uses for them.
    pub fn trusted_lists(&self) -> [(&'static str, &[String]); 8] {
        [
            ("trusted_github_orgs", &self.trusted_github_orgs),
            ("trusted_eks_issuers", &self.trusted_eks_issuers),
            ("trusted_cognito_pools", &self.trusted_cognito_pools),
            ("trusted_gitlab_groups", &self.trusted_gitlab_groups),
            ("trusted_terraform_organizations", &self.trusted_terraform_organizations),
            ("trusted_bitbucket_workspaces", &self.trusted_bitbucket_workspaces),
            ("trusted_circleci_orgs", &self.trusted_circleci_orgs),
            ("trusted_oidc_audiences", &self.trusted_oidc_audiences),
        ]
    }
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

/// `[schedule]`: cron expressions with seconds (`sec min hour day-of-month
/// month day-of-week`), read in `timezone`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// An IANA time zone name (`Europe/Berlin`) or `UTC`.
    pub timezone: String,
    pub audit: String,
    /// The reminder pass between audits; empty: reminders only after audits.
    pub reminders: String,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig { timezone: "UTC".into(), audit: "0 0 2 * * *".into(), reminders: "0 0 9 * * *".into() }
    }
}

impl ScheduleConfig {
    /// The configured time zone (validated at load).
    pub fn tz(&self) -> Result<chrono_tz::Tz, String> {
        self.timezone.parse::<chrono_tz::Tz>().map_err(|_| format!("{:?} is not an IANA time zone name", self.timezone))
    }
}

/// How the daemon logs.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

/// `[daemon]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// On SIGTERM/SIGINT, how long a running audit may take to finish before it is cancelled.
    pub shutdown_grace_secs: u64,
    /// How often the outbox is checked for messages due to be sent.
    pub outbox_interval_secs: u64,
    pub log_format: LogFormat,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig { shutdown_grace_secs: 30, outbox_interval_secs: 60, log_format: LogFormat::Human }
    }
}

/// `[notify]`: nothing is queued or sent unless `from` is set.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// The sender, `Name <address>` or `address`; its domain also names Message-IDs.
    pub from: Option<String>,
    pub smtp: SmtpConfig,
    pub digest: DigestConfig,
    pub retry: RetryConfig,
}

impl NotifyConfig {
    pub fn enabled(&self) -> bool {
        self.from.is_some()
    }
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Connect in clear, then STARTTLS (required, never skipped); port 587 by default.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS); port 465 by default.
    Tls,
    /// No TLS: allowed only for a relay on this machine; port 25 by default.
    Plain,
}

/// `[notify.smtp]`. The password is never in this file: it comes from an
/// environment variable or a file (systemd's LoadCredential).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    pub host: String,
    /// Default: 587 (starttls), 465 (tls), 25 (plain).
    pub port: Option<u16>,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    /// The environment variable holding the password.
    pub password_env: Option<String>,
    /// A file holding the password; a relative name is looked up in
    /// `$CREDENTIALS_DIRECTORY` (systemd LoadCredential), else the working directory.
    pub password_file: Option<PathBuf>,
    /// PEM certificates to trust besides the system's (a private relay's CA).
    pub ca_file: Option<PathBuf>,
    pub timeout_secs: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: "localhost".into(),
            port: None,
            security: SmtpSecurity::Starttls,
            username: None,
            password_env: None,
            password_file: None,
            ca_file: None,
            timeout_secs: 30,
        }
    }
}

impl SmtpConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::Plain => 25,
        })
    }
}

/// `[notify.digest]`: the summary sent after each run.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DigestConfig {
    /// Who gets it; empty: no digest.
    pub recipients: Vec<String>,
    /// Send one even when the run changed nothing.
    pub send_when_unchanged: bool,
    /// Active findings at least this severe are shown in full.
    pub detail_severity: Severity,
    /// At most this many findings per list (new, resolved, ...); the rest are counted.
    pub max_listed: usize,
}

impl Default for DigestConfig {
    fn default() -> Self {
        DigestConfig {
            recipients: Vec::new(),
            send_when_unchanged: false,
            detail_severity: Severity::Critical,
            max_listed: 50,
        }
    }
}

/// `[notify.retry]`: a failed send is tried again after `initial_secs`,
/// doubling up to `max_secs`, at most `max_attempts` times in all.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    pub initial_secs: u64,
    pub max_secs: u64,
    pub max_attempts: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig { initial_secs: 60, max_secs: 3600, max_attempts: 48 }
    }
}

/// `[reminders]`: each active access key's owner is told before its
/// rotation deadline and once it is overdue, each reminder once.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RemindersConfig {
    pub enabled: bool,
    /// Days before the deadline (the key's last rotation + the
    /// access-key-not-rotated limit) a reminder goes out.
    pub days_before: Vec<u32>,
    /// Also remind once the deadline has passed.
    pub overdue: bool,
    /// A TOML table mapping a user ARN, a user name, or an owner-tag value
    /// to an email address, for users whose owner tag is not an address.
    pub owners_file: Option<PathBuf>,
    /// Who is reminded when no owner is known; none: such keys are skipped.
    pub fallback_recipient: Option<String>,
}

impl Default for RemindersConfig {
    fn default() -> Self {
        RemindersConfig {
            enabled: true,
            days_before: vec![14, 7, 1],
            overdue: true,
            owners_file: None,
            fallback_recipient: None,
        }
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
        self.validate_daemon().map_err(|(field, message)| invalid(field, message))
    }

    /// The `[schedule]`, `[daemon]`, `[notify]` and `[reminders]` checks.
    fn validate_daemon(&self) -> Result<(), (&'static str, String)> {
        let schedule = &self.schedule;
        let tz = schedule.tz().map_err(|e| ("schedule.timezone", e))?;
        check_cron(&schedule.audit, tz).map_err(|e| ("schedule.audit", e))?;
        if !schedule.reminders.trim().is_empty() {
            check_cron(&schedule.reminders, tz).map_err(|e| ("schedule.reminders", e))?;
        }
        if self.daemon.outbox_interval_secs == 0 {
            return Err(("daemon.outbox_interval_secs", "must be at least 1".into()));
        }
        let notify = &self.notify;
        if let Some(from) = &notify.from {
            crate::notify::check_mailbox(from).map_err(|e| ("notify.from", e))?;
        }
        let smtp = &notify.smtp;
        if smtp.host.trim().is_empty() {
            return Err(("notify.smtp.host", "must name the relay".into()));
        }
        if smtp.security == SmtpSecurity::Plain && !is_local_host(&smtp.host) {
            return Err((
                "notify.smtp.security",
                format!("\"plain\" sends in clear and is allowed only for localhost, not {:?}", smtp.host),
            ));
        }
        if smtp.password_env.is_some() && smtp.password_file.is_some() {
            return Err(("notify.smtp.password_file", "give password_env or password_file, not both".into()));
        }
        let has_password = smtp.password_env.is_some() || smtp.password_file.is_some();
        if has_password != smtp.username.is_some() {
            return Err((
                "notify.smtp.username",
                "a username and a password (password_env or password_file) go together".into(),
            ));
        }
        if smtp.timeout_secs == 0 {
            return Err(("notify.smtp.timeout_secs", "must be at least 1".into()));
        }
        for recipient in &notify.digest.recipients {
            crate::notify::check_mailbox(recipient).map_err(|e| ("notify.digest.recipients", e))?;
        }
        if !notify.enabled() && !notify.digest.recipients.is_empty() {
            return Err(("notify.from", "digest recipients are set, so the sender must be too".into()));
        }
        let retry = &notify.retry;
        if retry.initial_secs == 0 || retry.max_secs < retry.initial_secs {
            return Err(("notify.retry", "needs 1 <= initial_secs <= max_secs".into()));
        }
        if retry.max_attempts == 0 {
            return Err(("notify.retry.max_attempts", "must be at least 1".into()));
        }
        let reminders = &self.reminders;
        let mut days = reminders.days_before.clone();
        days.sort_unstable();
        days.dedup();
        if days.len() != reminders.days_before.len() {
            return Err(("reminders.days_before", "lists a day twice".into()));
        }
        if let Some(fallback) = &reminders.fallback_recipient {
            crate::notify::check_mailbox(fallback).map_err(|e| ("reminders.fallback_recipient", e))?;
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

    /// Whether `[notify]` is on and reminders are enabled.
    pub fn reminders_enabled(&self) -> bool {
        self.notify.enabled() && self.reminders.enabled
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

/// Checks a cron expression with seconds, as the daemon's scheduler reads it.
fn check_cron(expression: &str, tz: chrono_tz::Tz) -> Result<(), String> {
    tokio_cron_scheduler::Job::new_async_tz(expression, tz, |_, _| Box::pin(async {})).map(|_| ()).map_err(|_| {
        format!(
            "{expression:?} is not a cron expression with seconds (\"sec min hour day-of-month month day-of-week\")"
        )
    })
}

/// `localhost` or a loopback address: the only hosts plain SMTP may go to.
fn is_local_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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

    #[test]
    fn the_example_documents_the_defaults() {
        let example = parse(include_str!("../examples/trustwarden.toml")).unwrap();
        assert_eq!(Config { source: None, ..example }, Config::default());
    }

    #[test]
    fn daemon_and_notify_settings_are_checked() {
        let field = |text: &str| match parse(text).unwrap_err() {
            ConfigError::Invalid { field, .. } => field,
            other => panic!("{other}"),
        };
        assert_eq!(field("[schedule]\ntimezone = \"Mars/Olympus\""), "schedule.timezone");
        assert_eq!(field("[schedule]\naudit = \"0 2 * * *\""), "schedule.audit");
        assert_eq!(field("[notify]\nfrom = \"nobody\""), "notify.from");
        assert_eq!(field("[notify.digest]\nrecipients = [\"a@example.com\"]"), "notify.from");
        assert_eq!(
            field(
                "[notify]\nfrom = \"a@example.com\"\n[notify.smtp]\nhost = \"smtp.example.com\"\nsecurity = \"plain\""
            ),
            "notify.smtp.security"
        );
        assert_eq!(field("[notify.smtp]\nusername = \"u\""), "notify.smtp.username");
        assert_eq!(
            field("[notify.smtp]\nusername = \"u\"\npassword_env = \"P\"\npassword_file = \"p\""),
            "notify.smtp.password_file"
        );
        assert_eq!(field("[notify.retry]\ninitial_secs = 10\nmax_secs = 5"), "notify.retry");
        assert_eq!(field("[reminders]\ndays_before = [7, 7]"), "reminders.days_before");
        assert_eq!(field("[reminders]\nfallback_recipient = \"x\""), "reminders.fallback_recipient");
        for local in ["localhost", "127.0.0.1", "::1", "[::1]"] {
            let text = format!("[notify.smtp]\nhost = \"{local}\"\nsecurity = \"plain\"");
            assert!(parse(&text).is_ok(), "{local}");
        }
        assert!(check_cron("0 0 2 * * Mon-Fri", chrono_tz::UTC).is_ok());
        assert!(check_cron("nightly", chrono_tz::UTC).is_err());
        let c = parse("[schedule]\ntimezone = \"Europe/Berlin\"\naudit = \"*/5 * * * * *\"\nreminders = \"\"").unwrap();
        assert_eq!(c.schedule.tz().unwrap(), chrono_tz::Europe::Berlin);
        assert_eq!(c.notify.smtp.port(), 587);
    }
}
