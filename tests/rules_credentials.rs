//! Credential-hygiene rules: positive and negative cases at each threshold,
//! from small credential reports, and the demo organization's expected
//! findings (examples/demo-org/README.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use trustwarden::collect::CREDENTIAL_REPORT_COLUMNS;
use trustwarden::collect::{AccountInventory, Collection, CredentialReport, PasswordPolicy, Role, SourceSpec, User};
use trustwarden::findings::{Credential, Finding, Severity, Status, finding_id};
use trustwarden::rules::{KeyDeadline, RuleOverride, RulePack, access_key_deadlines, credential_findings};

const ACCOUNT: &str = "123456789012";

const OWNER_TAG: &str = "owner";

/// The audit time of every case: the demo snapshot's.
fn now() -> DateTime<Utc> {
    time("2026-11-20T06:00:00Z")
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// A credential-report time `days` calendar days before `now()`, at `clock`.
fn days_ago(days: u64, clock: &str) -> String {
    let day = now().date_naive().checked_sub_days(chrono::Days::new(days)).unwrap();
    format!("{day}T{clock}+00:00")
}

/// One credential report row, every credential absent unless set.
struct Row(BTreeMap<&'static str, String>);

impl Row {
    fn user(name: &str) -> Row {
        let mut fields: BTreeMap<&'static str, String> =
            CREDENTIAL_REPORT_COLUMNS.iter().map(|column| (*column, "N/A".to_owned())).collect();
        for flag in ["password_enabled", "mfa_active", "access_key_1_active", "access_key_2_active"] {
            fields.insert(flag, "false".into());
        }
        for flag in ["cert_1_active", "cert_2_active"] {
            fields.insert(flag, "false".into());
        }
        fields.insert("user", name.into());
        fields.insert("arn", format!("arn:aws:iam::{ACCOUNT}:user/{name}"));
        fields.insert("user_creation_time", "2020-01-01T00:00:00+00:00".into());
        Row(fields)
    }

    fn root() -> Row {
        let mut row =
            Row::user("<root_account>").set("arn", &format!("arn:aws:iam::{ACCOUNT}:root")).set("mfa_active", "true");
        for column in ["password_enabled", "password_last_changed", "password_next_rotation"] {
            row = row.set(column, "not_supported");
        }
        row
    }

    fn set(mut self, column: &'static str, value: &str) -> Row {
        assert!(self.0.contains_key(column), "no column {column}");
        self.0.insert(column, value.to_owned());
        self
    }

    /// An active key `n`, created (last rotated) and last used at these times
    /// (`N/A`: never used).
    fn key(self, n: u8, rotated: &str, used: &str) -> Row {
        let column = |suffix: &str| -> &'static str {
            CREDENTIAL_REPORT_COLUMNS.iter().find(|c| **c == format!("access_key_{n}_{suffix}")).unwrap()
        };
        let used_somewhere = used != "N/A";
        self.set(column("active"), "true")
            .set(column("last_rotated"), rotated)
            .set(column("last_used_date"), used)
            .set(column("last_used_region"), if used_somewhere { "us-east-1" } else { "N/A" })
            .set(column("last_used_service"), if used_somewhere { "s3" } else { "N/A" })
    }

    fn inactive_key(self, n: u8, rotated: &str) -> Row {
        let active = if n == 1 { "access_key_1_active" } else { "access_key_2_active" };
        self.key(n, rotated, "N/A").set(active, "false")
    }

    /// A console password set at `changed` and last used at `used` (or `no_information`).
    fn password(self, changed: &str, used: &str, mfa: bool) -> Row {
        self.set("password_enabled", "true")
            .set("password_last_changed", changed)
            .set("password_last_used", used)
            .set("mfa_active", if mfa { "true" } else { "false" })
    }

    fn arn(&self) -> &str {
        &self.0["arn"]
    }

    fn csv_line(&self) -> String {
        CREDENTIAL_REPORT_COLUMNS.iter().map(|column| self.0[column].as_str()).collect::<Vec<_>>().join(",")
    }
}

fn strong_policy() -> PasswordPolicy {
    PasswordPolicy {
        minimum_password_length: Some(14),
        require_symbols: true,
        require_numbers: true,
        require_uppercase_characters: true,
        require_lowercase_characters: true,
        allow_users_to_change_password: true,
        expire_passwords: false,
        max_password_age: None,
        password_reuse_prevention: Some(24),
        hard_expiry: None,
    }
}

fn user(row: &Row, owner: Option<&str>) -> User {
    let name = row.0["user"].clone();
    User {
        arn: row.arn().to_owned(),
        path: "/".into(),
        id: format!("AIDA{}", name.to_uppercase()),
        name,
        create_date: time("2020-01-01T00:00:00Z"),
        inline_policies: Vec::new(),
        attached_policies: Vec::new(),
        permissions_boundary: None,
        tags: owner.map(|owner| (OWNER_TAG.to_owned(), owner.to_owned())).into_iter().collect(),
        groups: Vec::new(),
    }
}

fn role(path: &str, name: &str, created: &str, last_used: Option<&str>) -> Role {
    Role {
        arn: format!("arn:aws:iam::{ACCOUNT}:role{path}{name}"),
        name: name.into(),
        path: path.into(),
        id: format!("AROA{}", name.len()),
        create_date: time(created),
        trust_policy: None,
        inline_policies: Vec::new(),
        attached_policies: Vec::new(),
        permissions_boundary: None,
        tags: BTreeMap::new(),
        last_used: last_used.map(time),
    }
}

/// An account with a root user (MFA, no keys, unused), a strong password
/// policy, these users (`owner` tag: `<name>@example.com`) and roles.
fn account(rows: Vec<Row>, roles: Vec<Role>) -> AccountInventory {
    let has_root = rows.iter().any(|row| row.0["user"] == "<root_account>");
    let mut lines = vec![CREDENTIAL_REPORT_COLUMNS.join(",")];
    if !has_root {
        lines.push(Row::root().csv_line());
    }
    lines.extend(rows.iter().map(Row::csv_line));
    let (credential_report, errors) = CredentialReport::parse(lines.join("\n").as_bytes()).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let users = rows
        .iter()
        .filter(|row| row.0["user"] != "<root_account>")
        .map(|row| user(row, Some(&format!("{}@example.com", row.0["user"]))))
        .collect();
    AccountInventory {
        account_id: ACCOUNT.into(),
        alias: None,
        name: None,
        users,
        roles,
        groups: Vec::new(),
        managed_policies: Vec::new(),
        credential_report,
        password_policy: Some(strong_policy()),
        oidc_providers: Vec::new(),
        saml_providers: Vec::new(),
        problems: Vec::new(),
    }
}

fn findings(account: &AccountInventory) -> Vec<Finding> {
    credential_findings(&RulePack::builtin().unwrap(), account, now(), OWNER_TAG)
}

/// (rule, resource, credential) of each finding, sorted.
fn keys(findings: &[Finding]) -> Vec<(String, String, Option<&'static str>)> {
    let mut keys: Vec<_> =
        findings.iter().map(|f| (f.rule.clone(), f.resource.clone(), f.credential.map(Credential::as_str))).collect();
    keys.sort();
    keys
}

fn key(rule: &str, resource: &str, credential: Option<&'static str>) -> (String, String, Option<&'static str>) {
    (rule.to_owned(), resource.to_owned(), credential)
}

fn only(findings: Vec<Finding>, rule: &str) -> Vec<Finding> {
    findings.into_iter().filter(|finding| finding.rule == rule).collect()
}

fn user_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{name}")
}

fn root_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT}:root")
}

#[test]
fn healthy_account_has_no_findings() {
    let alice = Row::user("alice").password(&days_ago(30, "09:00:00"), &days_ago(1, "09:00:00"), true).key(
        1,
        &days_ago(10, "09:00:00"),
        &days_ago(0, "05:00:00"),
    );
    let account = account(vec![alice], vec![role("/", "app", "2024-01-01T00:00:00Z", Some("2026-11-19T00:00:00Z"))]);
    assert_eq!(keys(&findings(&account)), []);
}

#[test]
fn access_key_not_rotated_after_more_than_90_calendar_days() {
    let rows = vec![
        // 90 calendar days, late in the day: due today, not yet a finding.
        Row::user("on-time").key(1, &days_ago(90, "00:00:00"), &days_ago(0, "01:00:00")),
        // 91 calendar days, although less than 91 × 24 hours ago.
        Row::user("late").key(1, &days_ago(91, "23:00:00"), &days_ago(0, "01:00:00")),
        // Key 2 is judged like key 1; an inactive key is not judged.
        Row::user("second").inactive_key(1, &days_ago(400, "12:00:00")).key(
            2,
            &days_ago(120, "12:00:00"),
            &days_ago(1, "12:00:00"),
        ),
    ];
    let account = account(rows, Vec::new());
    let found = only(findings(&account), "access-key-not-rotated");
    assert_eq!(
        keys(&found),
        [
            key("access-key-not-rotated", &user_arn("late"), Some("access_key_1")),
            key("access-key-not-rotated", &user_arn("second"), Some("access_key_2")),
        ]
    );
    let late = &found[0];
    assert_eq!(late.due, Some(date("2026-11-19")));
    assert_eq!(late.owner.as_deref(), Some("late@example.com"));
    assert_eq!(
        late.explanation,
        "access key 1 of late was last rotated 2026-08-21 (91 days ago); the limit is 90 days, so it was due 2026-11-19"
    );
}

#[test]
fn access_key_unused_after_more_than_45_days() {
    let rows = vec![
        Row::user("recent").key(1, &days_ago(60, "12:00:00"), &days_ago(45, "00:00:01")),
        Row::user("stale").key(1, &days_ago(60, "12:00:00"), &days_ago(46, "23:59:59")),
        // Never used: access-key-never-used's, not this rule's.
        Row::user("never").key(1, &days_ago(60, "12:00:00"), "N/A"),
        // Inactive: not judged.
        Row::user("off").inactive_key(2, &days_ago(300, "12:00:00")),
    ];
    let account = account(rows, Vec::new());
    let found = only(findings(&account), "access-key-unused");
    assert_eq!(keys(&found), [key("access-key-unused", &user_arn("stale"), Some("access_key_1"))]);
    assert_eq!(found[0].due, None);
    assert!(found[0].explanation.contains("(46 days ago); the limit is 45 days"), "{}", found[0].explanation);
}

#[test]
fn access_key_never_used_after_a_7_day_grace() {
    let rows = vec![
        Row::user("new").key(1, &days_ago(7, "00:00:00"), "N/A"),
        Row::user("forgotten").key(1, &days_ago(8, "23:00:00"), "N/A"),
        Row::user("no-information").key(2, &days_ago(30, "12:00:00"), "no_information"),
        Row::user("used").key(1, &days_ago(30, "12:00:00"), &days_ago(29, "12:00:00")),
    ];
    let account = account(rows, Vec::new());
    let found = only(findings(&account), "access-key-never-used");
    assert_eq!(
        keys(&found),
        [
            key("access-key-never-used", &user_arn("forgotten"), Some("access_key_1")),
            key("access-key-never-used", &user_arn("no-information"), Some("access_key_2")),
        ]
    );
    assert!(found[0].explanation.contains("was created 2026-11-12 (8 days ago) and has never been used"));
}

#[test]
fn two_active_access_keys_reported_on_the_second() {
    let rows = vec![
        Row::user("both").key(1, &days_ago(20, "12:00:00"), &days_ago(0, "01:00:00")).key(
            2,
            &days_ago(5, "12:00:00"),
            &days_ago(0, "02:00:00"),
        ),
        Row::user("rotating").inactive_key(1, &days_ago(20, "12:00:00")).key(
            2,
            &days_ago(5, "12:00:00"),
            &days_ago(0, "02:00:00"),
        ),
    ];
    let account = account(rows, Vec::new());
    let found = only(findings(&account), "two-active-access-keys");
    assert_eq!(keys(&found), [key("two-active-access-keys", &user_arn("both"), Some("access_key_2"))]);
    assert_eq!(found[0].owner.as_deref(), Some("both@example.com"));
}

#[test]
fn console_password_without_mfa() {
    let rows = vec![
        Row::user("erin").password(&days_ago(100, "12:00:00"), &days_ago(2, "12:00:00"), false),
        Row::user("frank").password(&days_ago(100, "12:00:00"), &days_ago(2, "12:00:00"), true),
        Row::user("robot"),
    ];
    let account = account(rows, Vec::new());
    let found = only(findings(&account), "console-without-mfa");
    assert_eq!(keys(&found), [key("console-without-mfa", &user_arn("erin"), Some("password"))]);
    assert_eq!(found[0].severity, Severity::High);
}

#[test]
fn password_unused_after_more_than_45_days_or_never_used() {
    let rows = vec![
        Row::user("recent").password(&days_ago(300, "12:00:00"), &days_ago(45, "00:00:00"), true),
        Row::user("away").password(&days_ago(300, "12:00:00"), &days_ago(46, "23:00:00"), true),
        // Never used: counted from when the password was set.
        Row::user("new").password(&days_ago(45, "00:00:00"), "no_information", true),
        Row::user("never").password(&days_ago(46, "00:00:00"), "N/A", true),
    ];
    let account = account(rows, Vec::new());
    let found = only(findings(&account), "password-unused");
    assert_eq!(
        keys(&found),
        [
            key("password-unused", &user_arn("away"), Some("password")),
            key("password-unused", &user_arn("never"), Some("password")),
        ]
    );
    let never = found.iter().find(|f| f.resource == user_arn("never")).unwrap();
    assert!(
        never.explanation.contains("has never been used; it was set 2026-10-05 (46 days ago)"),
        "{}",
        never.explanation
    );
}

#[test]
fn root_access_keys_one_finding_per_active_key() {
    let root = Row::root()
        .key(1, &days_ago(50, "12:00:00"), &days_ago(18, "08:15:00"))
        .inactive_key(2, &days_ago(500, "12:00:00"));
    let account = account(vec![root], Vec::new());
    let found = only(findings(&account), "root-access-key");
    assert_eq!(keys(&found), [key("root-access-key", &root_arn(), Some("access_key_1"))]);
    assert_eq!(found[0].severity, Severity::Critical);
    assert_eq!(found[0].owner, None);
    assert!(found[0].explanation.contains("last used 2026-11-02 (s3, us-east-1)"), "{}", found[0].explanation);

    let clean = account_with_root(Row::root());
    assert!(only(findings(&clean), "root-access-key").is_empty());
}

fn account_with_root(root: Row) -> AccountInventory {
    account(vec![root], Vec::new())
}

#[test]
fn root_without_mfa() {
    let found = only(findings(&account_with_root(Row::root().set("mfa_active", "false"))), "root-without-mfa");
    assert_eq!(keys(&found), [key("root-without-mfa", &root_arn(), Some("root"))]);
    assert_eq!(found[0].id, finding_id("root-without-mfa", &root_arn(), "root"));
    assert!(only(findings(&account_with_root(Row::root())), "root-without-mfa").is_empty());

    // The root ARN is the report's, partition included.
    let china = Row::root().set("arn", "arn:aws-cn:iam::123456789012:root").set("mfa_active", "false");
    let found = findings(&account_with_root(china));
    assert!(found.iter().all(|f| f.resource == "arn:aws-cn:iam::123456789012:root"), "{found:?}");

    // No root row (a report cut short): nothing to judge, nothing invented.
    let mut no_root = account_with_root(Row::root().set("mfa_active", "false"));
    no_root.credential_report.root = None;
    assert!(findings(&no_root).iter().all(|f| !f.rule.starts_with("root-")));
}

#[test]
fn root_used_within_the_last_7_days() {
    let exactly_seven_days = (now() - TimeDelta::days(7)).to_rfc3339();
    let just_over = (now() - TimeDelta::days(7) - TimeDelta::seconds(1)).to_rfc3339();
    let used = |password: &str, key: &str| {
        let root = Row::root().set("password_last_used", password);
        let root = if key == "N/A" { root } else { root.key(1, "2026-01-01T00:00:00+00:00", key) };
        only(findings(&account_with_root(root)), "root-used-recently")
    };
    assert_eq!(keys(&used(&exactly_seven_days, "N/A")), [key("root-used-recently", &root_arn(), Some("password"))]);
    assert!(used(&just_over, "N/A").is_empty());
    assert!(used("N/A", "N/A").is_empty());
    let both = used("2026-11-17T08:12:45+00:00", "2026-11-19T06:00:00+00:00");
    assert_eq!(
        keys(&both),
        [
            key("root-used-recently", &root_arn(), Some("access_key_1")),
            key("root-used-recently", &root_arn(), Some("password")),
        ]
    );
    let password = both.iter().find(|f| f.credential == Some(Credential::Password)).unwrap();
    assert_eq!(
        password.explanation,
        "the root user of account 123456789012 signed in with its password on 2026-11-17 08:12 UTC, \
         2 days 21 hours before the audit; root use within the last 7 days is reported"
    );
}

#[test]
fn weak_password_policy_at_each_requirement() {
    let judge = |policy: Option<PasswordPolicy>| {
        let mut account = account(vec![Row::user("p").password("2026-11-01T00:00:00+00:00", "N/A", true)], Vec::new());
        account.password_policy = policy;
        only(findings(&account), "weak-password-policy")
    };
    assert!(judge(Some(strong_policy())).is_empty());

    let missing = judge(None);
    assert_eq!(keys(&missing), [key("weak-password-policy", &root_arn(), None)]);
    assert_eq!(missing[0].id, finding_id("weak-password-policy", &root_arn(), "password_policy"));
    assert_eq!(
        missing[0].explanation,
        "account 123456789012 has no password policy, so AWS's default applies (8 characters minimum, no reuse \
         prevention); \
         1 user has a console password"
    );

    let weaken = |change: fn(&mut PasswordPolicy)| {
        let mut policy = strong_policy();
        change(&mut policy);
        judge(Some(policy))
    };
    assert_eq!(weaken(|p| p.minimum_password_length = Some(13)).len(), 1);
    assert!(weaken(|p| p.minimum_password_length = Some(15)).is_empty());
    assert_eq!(weaken(|p| p.require_symbols = false).len(), 1);
    assert_eq!(weaken(|p| p.require_numbers = false).len(), 1);
    assert_eq!(weaken(|p| p.require_uppercase_characters = false).len(), 1);
    assert_eq!(weaken(|p| p.require_lowercase_characters = false).len(), 1);
    assert_eq!(weaken(|p| p.password_reuse_prevention = Some(23)).len(), 1);
    assert_eq!(weaken(|p| p.password_reuse_prevention = None).len(), 1);

    let demo_development = weaken(|p| {
        p.minimum_password_length = Some(8);
        p.require_symbols = false;
        p.password_reuse_prevention = None;
    });
    assert_eq!(
        demo_development[0].explanation,
        "the password policy of account 123456789012 is weak: minimum length 8 (at least 14 required), \
         symbols not required, no reuse prevention (the last 24 passwords must be refused); 1 user has a console password"
    );
}

#[test]
fn role_unused_after_more_than_90_days_skipping_aws_managed_roles() {
    let mut owned = role("/", "used-91-days-ago", "2020-01-01T00:00:00Z", Some(&days_ago(91, "23:00:00")));
    owned.tags.insert(OWNER_TAG.into(), "ops@example.com".into());
    let roles = vec![
        role("/", "used-90-days-ago", "2020-01-01T00:00:00Z", Some(&days_ago(90, "00:00:00"))),
        owned,
        role("/", "never-used-created-90-days-ago", &days_ago(90, "00:00:00"), None),
        role("/ci/", "never-used-created-91-days-ago", &days_ago(91, "12:00:00"), None),
        role("/aws-service-role/support.amazonaws.com/", "AWSServiceRoleForSupport", "2019-01-01T00:00:00Z", None),
        role(
            "/aws-reserved/sso.amazonaws.com/",
            "AWSReservedSSO_ReadOnly_0123456789abcdef",
            "2019-01-01T00:00:00Z",
            Some("2020-01-01T00:00:00Z"),
        ),
    ];
    let account = account(Vec::new(), roles);
    let found = only(findings(&account), "role-unused");
    let arn = |path_and_name: &str| format!("arn:aws:iam::{ACCOUNT}:role{path_and_name}");
    assert_eq!(
        keys(&found),
        [
            key("role-unused", &arn("/ci/never-used-created-91-days-ago"), None),
            key("role-unused", &arn("/used-91-days-ago"), None),
        ]
    );
    let owned = found.iter().find(|f| f.resource.ends_with("/used-91-days-ago")).unwrap();
    assert_eq!(owned.owner.as_deref(), Some("ops@example.com"));
    assert_eq!(owned.severity, Severity::Low);
    assert_eq!(owned.id, finding_id("role-unused", &owned.resource, &owned.resource));
}

#[test]
fn every_field_of_a_finding_is_filled() {
    let rows = vec![Row::user("late").key(1, "2025-12-01T09:30:00+00:00", "2026-11-19T22:14:00+00:00")];
    let found = only(findings(&account(rows, Vec::new())), "access-key-not-rotated");
    let [finding] = &found[..] else { panic!("{found:?}") };
    let resource = user_arn("late");
    assert_eq!(finding.id, finding_id("access-key-not-rotated", &resource, "access_key_1"));
    assert_eq!(finding.rule, "access-key-not-rotated");
    assert_eq!(finding.title, RulePack::builtin().unwrap().get("access-key-not-rotated").unwrap().title);
    assert_eq!(finding.severity, Severity::Medium);
    assert_eq!(finding.status, Status::Active);
    assert_eq!(finding.account, ACCOUNT);
    assert_eq!(finding.resource, resource);
    assert_eq!(finding.principal, None);
    assert_eq!(finding.credential, Some(Credential::AccessKey1));
    assert!(finding.actions.is_empty() && finding.conditions.is_empty() && finding.path.is_empty());
    assert!(!finding.is_public);
    assert_eq!((finding.first_seen, finding.last_seen), (now(), now()));
    assert_eq!(finding.owner.as_deref(), Some("late@example.com"));
    assert_eq!(finding.due, Some(date("2026-03-01")));
    assert_eq!(
        finding.explanation,
        "access key 1 of late was last rotated 2025-12-01 (354 days ago); the limit is 90 days, so it was due 2026-03-01"
    );
}

#[test]
fn disabled_and_overridden_rules() {
    let rows = vec![Row::user("late").key(1, &days_ago(100, "12:00:00"), &days_ago(1, "12:00:00"))];
    let account = account(rows, Vec::new());
    let mut pack = RulePack::builtin().unwrap();
    let overrides: RuleOverride = toml::from_str("[parameters]\nmax_age_days = 100").unwrap();
    pack.apply_override("access-key-not-rotated", &overrides).unwrap();
    assert!(only(credential_findings(&pack, &account, now(), OWNER_TAG), "access-key-not-rotated").is_empty());

    let mut pack = RulePack::builtin().unwrap();
    assert_eq!(only(credential_findings(&pack, &account, now(), OWNER_TAG), "access-key-not-rotated").len(), 1);
    pack.get_mut("access-key-not-rotated").unwrap().enabled = false;
    assert!(only(credential_findings(&pack, &account, now(), OWNER_TAG), "access-key-not-rotated").is_empty());
    assert!(access_key_deadlines(&pack, &account, OWNER_TAG).is_empty());
}

#[test]
fn owner_comes_from_the_configured_tag_matched_by_arn() {
    let rows = vec![Row::user("late").key(1, &days_ago(100, "12:00:00"), &days_ago(1, "12:00:00"))];
    let mut account = account(rows, Vec::new());
    account.users[0].tags.insert("team".into(), "platform".into());
    let found = credential_findings(&RulePack::builtin().unwrap(), &account, now(), "team");
    assert_eq!(found[0].owner.as_deref(), Some("platform"));
    // A report row without a user in the authorization details has no owner.
    account.users.clear();
    assert_eq!(findings(&account)[0].owner, None);
}

#[test]
fn deadlines_for_every_active_user_key() {
    let rows = vec![
        Row::user("alice").key(1, "2026-10-02T07:55:13+00:00", "2026-11-19T17:03:00+00:00"),
        Row::user("deploy")
            .key(1, "2025-12-01T09:30:00+00:00", "2026-11-19T22:14:00+00:00")
            .inactive_key(2, "2024-01-01T00:00:00+00:00"),
        Row::root().key(1, "2026-10-01T13:45:00+00:00", "N/A"),
    ];
    let account = account(rows, Vec::new());
    assert_eq!(
        access_key_deadlines(&RulePack::builtin().unwrap(), &account, OWNER_TAG),
        [
            KeyDeadline {
                account: ACCOUNT.into(),
                user: "alice".into(),
                user_arn: user_arn("alice"),
                key: Credential::AccessKey1,
                last_rotated: time("2026-10-02T07:55:13Z"),
                due: date("2026-12-31"),
                owner: Some("alice@example.com".into()),
            },
            KeyDeadline {
                account: ACCOUNT.into(),
                user: "deploy".into(),
                user_arn: user_arn("deploy"),
                key: Credential::AccessKey1,
                last_rotated: time("2025-12-01T09:30:00Z"),
                due: date("2026-03-01"),
                owner: Some("deploy@example.com".into()),
            },
        ]
    );
}

fn demo() -> Collection {
    let source = SourceSpec::Snapshot(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-org"));
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(trustwarden::collect::collect(&source)).unwrap()
}

/// examples/demo-org/README.md, "Expected findings": the credential-hygiene rows.
#[test]
fn demo_org_credential_findings_are_the_documented_ones() {
    let collection = demo();
    let now = collection.inventory.collected_at.expect("the demo snapshot has collected_at");
    assert_eq!(now, time("2026-11-20T06:00:00Z"));
    assert_eq!(collection.inventory.accounts.len(), 4);
    let pack = RulePack::builtin().unwrap();
    let found: Vec<Finding> = collection
        .inventory
        .accounts
        .iter()
        .flat_map(|account| credential_findings(&pack, account, now, OWNER_TAG))
        .collect();

    type Expected = (&'static str, &'static str, Option<&'static str>, Severity, Option<&'static str>, &'static str);
    // rule, resource, credential, severity, owner, a fragment of the explanation
    let expected: [Expected; 14] = [
        (
            "root-used-recently",
            "arn:aws:iam::111111111111:root",
            Some("password"),
            Severity::High,
            None,
            "2026-11-17 08:12 UTC",
        ),
        (
            "access-key-not-rotated",
            "arn:aws:iam::222222222222:user/automation/deploy-bot",
            Some("access_key_1"),
            Severity::Medium,
            Some("alice@example.com"),
            "last rotated 2025-12-01 (354 days ago)",
        ),
        (
            "access-key-not-rotated",
            "arn:aws:iam::222222222222:user/legacy-etl",
            Some("access_key_1"),
            Severity::Medium,
            Some("bob@example.com"),
            "last rotated 2026-07-23 (120 days ago)",
        ),
        (
            "access-key-never-used",
            "arn:aws:iam::222222222222:user/legacy-etl",
            Some("access_key_1"),
            Severity::Medium,
            Some("bob@example.com"),
            "created 2026-07-23 (120 days ago) and has never been used",
        ),
        (
            "weak-password-policy",
            "arn:aws:iam::222222222222:root",
            None,
            Severity::Medium,
            None,
            "has no password policy",
        ),
        (
            "root-access-key",
            "arn:aws:iam::333333333333:root",
            Some("access_key_1"),
            Severity::Critical,
            None,
            "last used 2026-11-02 (ec2, us-east-1)",
        ),
        ("root-without-mfa", "arn:aws:iam::333333333333:root", Some("root"), Severity::Critical, None, "no MFA device"),
        (
            "access-key-unused",
            "arn:aws:iam::333333333333:user/service/metrics-exporter",
            Some("access_key_1"),
            Severity::Medium,
            Some("carol@example.com"),
            "last used 2026-09-25 (56 days ago)",
        ),
        (
            "password-unused",
            "arn:aws:iam::333333333333:user/dave",
            Some("password"),
            Severity::Medium,
            Some("dave@example.com"),
            "last used 2026-08-28 (84 days ago)",
        ),
        (
            "weak-password-policy",
            "arn:aws:iam::333333333333:root",
            None,
            Severity::Medium,
            None,
            "minimum length 8 (at least 14 required), symbols not required, no reuse prevention",
        ),
        (
            "role-unused",
            "arn:aws:iam::333333333333:role/old-jenkins",
            None,
            Severity::Low,
            None,
            "has never been used; it was created 2025-08-14 (463 days ago)",
        ),
        (
            "console-without-mfa",
            "arn:aws:iam::444444444444:user/erin",
            Some("password"),
            Severity::High,
            Some("erin@example.com"),
            "last signed in 2026-11-18",
        ),
        (
            "two-active-access-keys",
            "arn:aws:iam::444444444444:user/service/siem-forwarder",
            Some("access_key_2"),
            Severity::Medium,
            Some("security-team@example.com"),
            "key 1 rotated 2026-10-12, key 2 rotated 2026-11-05",
        ),
        (
            "weak-password-policy",
            "arn:aws:iam::444444444444:root",
            None,
            Severity::Medium,
            None,
            "2 users have console passwords",
        ),
    ];
    let mut expected_keys: Vec<_> =
        expected.iter().map(|(rule, resource, credential, ..)| key(rule, resource, *credential)).collect();
    expected_keys.push(key(
        "role-unused",
        "arn:aws:iam::444444444444:role/service-role/guardduty-findings-export",
        None,
    ));
    expected_keys.sort();
    assert_eq!(keys(&found), expected_keys);

    for (rule, resource, credential, severity, owner, fragment) in expected {
        let finding = found
            .iter()
            .find(|f| f.rule == rule && f.resource == resource && f.credential.map(Credential::as_str) == credential)
            .unwrap();
        assert_eq!(finding.severity, severity, "{rule} {resource}");
        assert_eq!(finding.owner.as_deref(), owner, "{rule} {resource}");
        assert!(finding.explanation.contains(fragment), "{rule} {resource}: {}", finding.explanation);
        assert_eq!(finding.account, resource.split(':').nth(4).unwrap());
    }
    let guardduty = found.iter().find(|f| f.resource.ends_with("guardduty-findings-export")).unwrap();
    assert!(guardduty.explanation.contains("last used 2026-05-10 (194 days ago)"), "{}", guardduty.explanation);

    let due = |resource: &str| {
        found.iter().find(|f| f.rule == "access-key-not-rotated" && f.resource == resource).unwrap().due
    };
    assert_eq!(due("arn:aws:iam::222222222222:user/automation/deploy-bot"), Some(date("2026-03-01")));
    assert_eq!(due("arn:aws:iam::222222222222:user/legacy-etl"), Some(date("2026-10-21")));

    let ids: BTreeSet<&str> = found.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids.len(), found.len(), "finding ids are distinct");
}
