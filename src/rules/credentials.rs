//! Credential hygiene: access keys, console passwords, the root user, the
//! password policy and unused roles, judged from one account's credential
//! report and authorization details.
//!
//! Ages are whole UTC calendar days from `now` (the snapshot's collected_at
//! or the run's start). A staleness limit of N days is exceeded when the age
//! is more than N: a key rotated on 2026-01-01 with a 90-day limit is due
//! 2026-04-01 and is a finding from 2026-04-02 on. Root use is the exception:
//! a look-back window measured exactly, so "within 7 days" means at most
//! 7 × 24 hours before `now`.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use serde::Serialize;

use super::pack::{
    AccessKeyNeverUsedParameters, AccessKeyNotRotatedParameters, AccessKeyUnusedParameters, PasswordUnusedParameters,
    RoleUnusedParameters, RootUsedRecentlyParameters, Rule, RuleKind, RulePack, WeakPasswordPolicyParameters,
};
use crate::collect::{AccountInventory, CredentialReportRow, PasswordPolicy, ReportValue};
use crate::findings::{Credential, Finding, Status, finding_id};

/// The finding subject of an account's password policy (it has no credential).
const PASSWORD_POLICY_SUBJECT: &str = "password_policy";

/// The minimum length IAM uses when a password policy omits it
/// (UpdateAccountPasswordPolicy's default).
const POLICY_DEFAULT_MINIMUM_LENGTH: u32 = 6;

/// Every credential-hygiene finding of one account, for the enabled rules of
/// the pack: one per key, per user, per role, and for the account itself
/// only the root and password-policy ones (resource `arn:aws:iam::ACCOUNT:root`).
/// Trust kinds in the pack are skipped: they are evaluated from the trust graph.
pub fn credential_findings(
    pack: &RulePack,
    account: &AccountInventory,
    now: DateTime<Utc>,
    owner_tag: &str,
) -> Vec<Finding> {
    let audit = AccountAudit::new(account, now, owner_tag);
    let mut findings = Vec::new();
    for rule in pack.enabled() {
        let mut report = |finding: Draft| findings.push(audit.finish(rule, finding));
        match &rule.kind {
            RuleKind::AccessKeyNotRotated(parameters) => audit.keys_not_rotated(parameters, &mut report),
            RuleKind::AccessKeyUnused(parameters) => audit.keys_unused(parameters, &mut report),
            RuleKind::AccessKeyNeverUsed(parameters) => audit.keys_never_used(parameters, &mut report),
            RuleKind::TwoActiveAccessKeys => audit.two_active_keys(&mut report),
            RuleKind::ConsoleWithoutMfa => audit.console_without_mfa(&mut report),
            RuleKind::PasswordUnused(parameters) => audit.passwords_unused(parameters, &mut report),
            RuleKind::RootAccessKey => audit.root_access_keys(&mut report),
            RuleKind::RootWithoutMfa => audit.root_without_mfa(&mut report),
            RuleKind::RootUsedRecently(parameters) => audit.root_used_recently(parameters, &mut report),
            RuleKind::WeakPasswordPolicy(parameters) => audit.weak_password_policy(parameters, &mut report),
            RuleKind::RoleUnused(parameters) => audit.roles_unused(parameters, &mut report),
            RuleKind::ExternalAccess(_)
            | RuleKind::ChainToPrivileged(_)
            | RuleKind::OidcTrustWithoutSub(_)
            | RuleKind::ConfusedDeputy(_)
            | RuleKind::IdentityBroker(_)
            | RuleKind::MfaConditionPitfall => {}
        }
    }
    findings
}

/// When an active access key must be rotated, whether or not it is overdue:
/// what owner reminders are built from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyDeadline {
    pub account: String,
    pub user: String,
    pub user_arn: String,
    pub key: Credential,
    pub last_rotated: DateTime<Utc>,
    /// `last_rotated` + the rotation limit; the key is overdue from the next day.
    pub due: NaiveDate,
    pub owner: Option<String>,
}

/// The rotation deadline of every active user access key, from the
/// strictest enabled `access-key-not-rotated` rule; none when no such rule
/// is enabled.
pub fn access_key_deadlines(pack: &RulePack, account: &AccountInventory, owner_tag: &str) -> Vec<KeyDeadline> {
    let Some(max_age_days) = pack
        .enabled()
        .filter_map(|rule| match &rule.kind {
            RuleKind::AccessKeyNotRotated(parameters) => Some(parameters.max_age_days),
            _ => None,
        })
        .min()
    else {
        return Vec::new();
    };
    let owners = owners(account, owner_tag);
    let mut deadlines = Vec::new();
    for row in &account.credential_report.users {
        for (key, columns) in KEYS.iter().zip(&row.access_keys) {
            let ReportValue::Value(last_rotated) = columns.last_rotated else { continue };
            if columns.active {
                deadlines.push(KeyDeadline {
                    account: account.account_id.clone(),
                    user: row.user.clone(),
                    user_arn: row.arn.clone(),
                    key: *key,
                    last_rotated,
                    due: plus_days(last_rotated, max_age_days),
                    owner: owners.get(row.arn.as_str()).map(|owner| (*owner).to_owned()),
                });
            }
        }
    }
    deadlines
}

const KEYS: [Credential; 2] = [Credential::AccessKey1, Credential::AccessKey2];

/// A finding before the rule's text and the common fields are filled in.
struct Draft {
    resource: String,
    /// What the finding is about within the resource: the credential, the
    /// role, or the password policy. Part of the finding's id.
    subject: String,
    credential: Option<Credential>,
    explanation: String,
    owner: Option<String>,
    due: Option<NaiveDate>,
}

struct AccountAudit<'a> {
    account: &'a AccountInventory,
    now: DateTime<Utc>,
    today: NaiveDate,
    /// User ARN → the value of the owner tag.
    owners: HashMap<&'a str, &'a str>,
    owner_tag: &'a str,
    root_arn: String,
}

fn owners<'a>(account: &'a AccountInventory, owner_tag: &str) -> HashMap<&'a str, &'a str> {
    account.users.iter().filter_map(|user| Some((user.arn.as_str(), user.tags.get(owner_tag)?.as_str()))).collect()
}

/// Whole UTC calendar days from `then` to `today` (negative if `then` is later).
fn age_days(today: NaiveDate, then: DateTime<Utc>) -> i64 {
    (today - then.date_naive()).num_days()
}

fn plus_days(time: DateTime<Utc>, days: u32) -> NaiveDate {
    time.date_naive().checked_add_days(Days::new(days.into())).unwrap_or(NaiveDate::MAX)
}

fn date(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d").to_string()
}

fn days(n: i64) -> String {
    if n == 1 { "1 day".to_owned() } else { format!("{n} days") }
}

/// A non-negative duration in days and hours, or hours and minutes under a day.
fn duration(elapsed: TimeDelta) -> String {
    let elapsed = elapsed.max(TimeDelta::zero());
    let unit = |n: i64, name: &str| if n == 1 { format!("1 {name}") } else { format!("{n} {name}s") };
    let (days, hours, minutes) = (elapsed.num_days(), elapsed.num_hours() % 24, elapsed.num_minutes() % 60);
    if days > 0 {
        format!("{} {}", unit(days, "day"), unit(hours, "hour"))
    } else {
        format!("{} {}", unit(hours, "hour"), unit(minutes, "minute"))
    }
}

fn key_number(key: Credential) -> u8 {
    if key == Credential::AccessKey2 { 2 } else { 1 }
}

impl<'a> AccountAudit<'a> {
    fn new(account: &'a AccountInventory, now: DateTime<Utc>, owner_tag: &'a str) -> Self {
        AccountAudit {
            account,
            now,
            today: now.date_naive(),
            owners: owners(account, owner_tag),
            owner_tag,
            // The report's root row carries the partition (aws-cn, aws-us-gov).
            root_arn: account
                .credential_report
                .root
                .as_ref()
                .map_or_else(|| format!("arn:aws:iam::{}:root", account.account_id), |root| root.arn.clone()),
        }
    }

    fn finish(&self, rule: &Rule, draft: Draft) -> Finding {
        Finding {
            id: finding_id(&rule.id, &draft.resource, &draft.subject),
            rule: rule.id.clone(),
            title: rule.title.clone(),
            severity: rule.severity,
            status: Status::Active,
            account: self.account.account_id.clone(),
            resource: draft.resource,
            principal: None,
            credential: draft.credential,
            actions: Vec::new(),
            conditions: Vec::new(),
            is_public: false,
            path: Vec::new(),
            // The credential report is the evidence; it has no policy statement to cite.
            evidence: Vec::new(),
            explanation: draft.explanation,
            first_seen: self.now,
            last_seen: self.now,
            owner: draft.owner,
            due: draft.due,
        }
    }

    fn owner(&self, row: &CredentialReportRow) -> Option<String> {
        self.owners.get(row.arn.as_str()).map(|owner| (*owner).to_owned())
    }

    fn user_draft(&self, row: &CredentialReportRow, credential: Credential, explanation: String) -> Draft {
        Draft {
            resource: row.arn.clone(),
            subject: credential.as_str().to_owned(),
            credential: Some(credential),
            explanation,
            owner: self.owner(row),
            due: None,
        }
    }

    /// Active keys of IAM users (the root user's keys have rules of their own).
    fn active_keys(
        &self,
    ) -> impl Iterator<Item = (&'a CredentialReportRow, Credential, &'a crate::collect::AccessKeyColumns)> {
        self.account.credential_report.users.iter().flat_map(|row| {
            KEYS.iter()
                .zip(&row.access_keys)
                .filter(|(_, columns)| columns.active)
                .map(move |(key, columns)| (row, *key, columns))
        })
    }

    fn keys_not_rotated(&self, parameters: &AccessKeyNotRotatedParameters, report: &mut impl FnMut(Draft)) {
        let limit = parameters.max_age_days;
        for (row, key, columns) in self.active_keys() {
            let ReportValue::Value(rotated) = columns.last_rotated else { continue };
            let age = age_days(self.today, rotated);
            if age > i64::from(limit) {
                let due = plus_days(rotated, limit);
                let explanation = format!(
                    "access key {} of {} was last rotated {} ({} ago); the limit is {}, so it was due {due}",
                    key_number(key),
                    row.user,
                    date(rotated),
                    days(age),
                    days(limit.into()),
                );
                report(Draft { due: Some(due), ..self.user_draft(row, key, explanation) });
            }
        }
    }

    fn keys_unused(&self, parameters: &AccessKeyUnusedParameters, report: &mut impl FnMut(Draft)) {
        let limit = parameters.max_unused_days;
        for (row, key, columns) in self.active_keys() {
            // A key never used is access-key-never-used's.
            let ReportValue::Value(used) = columns.last_used_date else { continue };
            let age = age_days(self.today, used);
            if age > i64::from(limit) {
                let explanation = format!(
                    "active access key {} of {} was last used {} ({} ago); the limit is {} without use",
                    key_number(key),
                    row.user,
                    date(used),
                    days(age),
                    days(limit.into()),
                );
                report(self.user_draft(row, key, explanation));
            }
        }
    }

    fn keys_never_used(&self, parameters: &AccessKeyNeverUsedParameters, report: &mut impl FnMut(Draft)) {
        let grace = parameters.grace_days;
        for (row, key, columns) in self.active_keys() {
            if matches!(columns.last_used_date, ReportValue::Value(_)) {
                continue;
            }
            // last_rotated is the key's creation time until it is rotated.
            let ReportValue::Value(created) = columns.last_rotated else { continue };
            let age = age_days(self.today, created);
            if age > i64::from(grace) {
                let explanation = format!(
                    "active access key {} of {} was created {} ({} ago) and has never been used; \
                     an unused key is allowed {}",
                    key_number(key),
                    row.user,
                    date(created),
                    days(age),
                    days(grace.into()),
                );
                report(self.user_draft(row, key, explanation));
            }
        }
    }

    fn two_active_keys(&self, report: &mut impl FnMut(Draft)) {
        for row in &self.account.credential_report.users {
            let [first, second] = &row.access_keys;
            if first.active && second.active {
                let rotated = |columns: &crate::collect::AccessKeyColumns| {
                    columns.last_rotated.value().map_or_else(|| "unknown".to_owned(), |time| date(*time))
                };
                let explanation = format!(
                    "{} has two active access keys (key 1 rotated {}, key 2 rotated {}); \
                     a second key should be active only while rotating",
                    row.user,
                    rotated(first),
                    rotated(second),
                );
                report(self.user_draft(row, Credential::AccessKey2, explanation));
            }
        }
    }

    fn console_without_mfa(&self, report: &mut impl FnMut(Draft)) {
        for row in &self.account.credential_report.users {
            if row.password_enabled == ReportValue::Value(true) && !row.mfa_active {
                let used = match row.password_last_used {
                    ReportValue::Value(used) => format!("last signed in {}", date(used)),
                    _ => "has never signed in".to_owned(),
                };
                let explanation = format!(
                    "{} has a console password ({used}) and no MFA device: the password alone signs in",
                    row.user
                );
                report(self.user_draft(row, Credential::Password, explanation));
            }
        }
    }

    fn passwords_unused(&self, parameters: &PasswordUnusedParameters, report: &mut impl FnMut(Draft)) {
        let limit = parameters.max_unused_days;
        for row in &self.account.credential_report.users {
            if row.password_enabled != ReportValue::Value(true) {
                continue;
            }
            let (since, what) = match (&row.password_last_used, &row.password_last_changed) {
                (ReportValue::Value(used), _) => (*used, "was last used"),
                // Never used: counted from when the password was set.
                (_, ReportValue::Value(set)) => (*set, "has never been used; it was set"),
                _ => (row.user_creation_time, "has never been used; the user was created"),
            };
            let age = age_days(self.today, since);
            if age > i64::from(limit) {
                let explanation = format!(
                    "the console password of {} {what} {} ({} ago); the limit is {} without use",
                    row.user,
                    date(since),
                    days(age),
                    days(limit.into()),
                );
                report(self.user_draft(row, Credential::Password, explanation));
            }
        }
    }

    fn root_draft(&self, credential: Credential, explanation: String) -> Draft {
        Draft {
            resource: self.root_arn.clone(),
            subject: credential.as_str().to_owned(),
            credential: Some(credential),
            explanation,
            owner: None,
            due: None,
        }
    }

    fn root_access_keys(&self, report: &mut impl FnMut(Draft)) {
        let Some(root) = &self.account.credential_report.root else { return };
        for (key, columns) in KEYS.iter().zip(&root.access_keys).filter(|(_, columns)| columns.active) {
            let rotated = columns.last_rotated.value().map_or_else(|| "unknown".to_owned(), |time| date(*time));
            let used = match (&columns.last_used_date, &columns.last_used_service, &columns.last_used_region) {
                (ReportValue::Value(used), ReportValue::Value(service), ReportValue::Value(region)) => {
                    format!("last used {} ({service}, {region})", date(*used))
                }
                (ReportValue::Value(used), _, _) => format!("last used {}", date(*used)),
                _ => "never used".to_owned(),
            };
            let explanation = format!(
                "the root user of account {} has active access key {} (created {rotated}, {used}); \
                 root keys cannot be limited by any policy",
                self.account.account_id,
                key_number(*key),
            );
            report(self.root_draft(*key, explanation));
        }
    }

    fn root_without_mfa(&self, report: &mut impl FnMut(Draft)) {
        let Some(root) = &self.account.credential_report.root else { return };
        if !root.mfa_active {
            let explanation = format!("the root user of account {} has no MFA device", self.account.account_id);
            report(self.root_draft(Credential::Root, explanation));
        }
    }

    fn root_used_recently(&self, parameters: &RootUsedRecentlyParameters, report: &mut impl FnMut(Draft)) {
        let Some(root) = &self.account.credential_report.root else { return };
        let window = TimeDelta::days(parameters.window_days.into());
        let mut uses = vec![(Credential::Password, &root.password_last_used, "signed in with its password".to_owned())];
        for (key, columns) in KEYS.iter().zip(&root.access_keys) {
            uses.push((*key, &columns.last_used_date, format!("used access key {}", key_number(*key))));
        }
        for (credential, last_used, how) in uses {
            let ReportValue::Value(used) = last_used else { continue };
            // A look-back window, measured exactly (unlike the staleness limits,
            // which have due dates and count calendar days).
            let elapsed = self.now - *used;
            if elapsed <= window {
                let explanation = format!(
                    "the root user of account {} {how} on {}, {} before the audit; \
                     root use within the last {} is reported",
                    self.account.account_id,
                    used.format("%Y-%m-%d %H:%M UTC"),
                    duration(elapsed),
                    days(parameters.window_days.into()),
                );
                report(self.root_draft(credential, explanation));
            }
        }
    }

    fn weak_password_policy(&self, parameters: &WeakPasswordPolicyParameters, report: &mut impl FnMut(Draft)) {
        let console_users = self
            .account
            .credential_report
            .users
            .iter()
            .filter(|row| row.password_enabled == ReportValue::Value(true))
            .count();
        let users = match console_users {
            0 => "no user has a console password yet".to_owned(),
            1 => "1 user has a console password".to_owned(),
            n => format!("{n} users have console passwords"),
        };
        let explanation = match &self.account.password_policy {
            None => format!(
                "account {} has no password policy, so AWS's default applies \
                 (8 characters minimum, no reuse prevention); {users}",
                self.account.account_id
            ),
            Some(policy) => {
                let shortfalls = password_policy_shortfalls(policy, parameters);
                if shortfalls.is_empty() {
                    return;
                }
                format!(
                    "the password policy of account {} is weak: {}; {users}",
                    self.account.account_id,
                    shortfalls.join(", ")
                )
            }
        };
        report(Draft {
            resource: self.root_arn.clone(),
            subject: PASSWORD_POLICY_SUBJECT.to_owned(),
            credential: None,
            explanation,
            owner: None,
            due: None,
        });
    }

    fn roles_unused(&self, parameters: &RoleUnusedParameters, report: &mut impl FnMut(Draft)) {
        let limit = parameters.max_unused_days;
        for role in &self.account.roles {
            if parameters.exempt_path_prefixes.iter().any(|prefix| role.path.starts_with(prefix.as_str())) {
                continue;
            }
            let (since, what) = match role.last_used {
                Some(used) => (used, "was last used".to_owned()),
                None => (role.create_date, "has never been used; it was created".to_owned()),
            };
            let age = age_days(self.today, since);
            if age > i64::from(limit) {
                let explanation = format!(
                    "role {} {what} {} ({} ago); the limit is {} without use",
                    role.name,
                    date(since),
                    days(age),
                    days(limit.into()),
                );
                report(Draft {
                    resource: role.arn.clone(),
                    subject: role.arn.clone(),
                    credential: None,
                    explanation,
                    owner: role.tags.get(self.owner_tag).cloned(),
                    due: None,
                });
            }
        }
    }
}

/// What a password policy lacks against the rule's requirements, in words.
fn password_policy_shortfalls(policy: &PasswordPolicy, required: &WeakPasswordPolicyParameters) -> Vec<String> {
    let mut shortfalls = Vec::new();
    let length = policy.minimum_password_length.unwrap_or(POLICY_DEFAULT_MINIMUM_LENGTH);
    if length < required.minimum_length {
        shortfalls.push(format!("minimum length {length} (at least {} required)", required.minimum_length));
    }
    for (required, present, class) in [
        (required.require_uppercase, policy.require_uppercase_characters, "uppercase letters"),
        (required.require_lowercase, policy.require_lowercase_characters, "lowercase letters"),
        (required.require_numbers, policy.require_numbers, "numbers"),
        (required.require_symbols, policy.require_symbols, "symbols"),
    ] {
        if required && !present {
            shortfalls.push(format!("{class} not required"));
        }
    }
    let reuse = policy.password_reuse_prevention.unwrap_or(0);
    if reuse < required.reuse_prevention {
        shortfalls.push(if reuse == 0 {
            format!("no reuse prevention (the last {} passwords must be refused)", required.reuse_prevention)
        } else {
            format!("reuse prevention {reuse} (at least {} required)", required.reuse_prevention)
        });
    }
    if let Some(limit) = required.max_password_age_days {
        match policy.max_password_age.filter(|_| policy.expire_passwords) {
            Some(age) if age <= limit => {}
            Some(age) => shortfalls.push(format!("passwords expire after {age} days (at most {limit} allowed)")),
            None => shortfalls.push(format!("passwords never expire (at most {limit} days allowed)")),
        }
    }
    shortfalls
}
