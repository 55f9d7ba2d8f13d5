//! The snapshot source on a hand-made snapshot (tests/fixtures/collect/org):
//! what is read, what is skipped, and how unreadable files and documents are
//! reported without losing the rest.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use trustwarden::collect::{self, CollectError, Collection, ReportValue, SourceSpec};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/collect/org")
}

async fn load(dir: &Path) -> Result<Collection, CollectError> {
    collect::collect(&SourceSpec::Snapshot(dir.to_owned())).await
}

fn time(text: &str) -> DateTime<Utc> {
    text.parse().expect("RFC 3339 time")
}

#[tokio::test]
async fn reads_accounts_and_records_the_ones_that_fail() {
    let collection = load(&fixture()).await.expect("load the fixture");
    let inventory = &collection.inventory;
    assert_eq!(inventory.collected_at, Some(time("2026-01-10T12:00:00Z")));
    let organization = inventory.organization.as_ref().expect("organization.json");
    assert_eq!((organization.id.as_str(), organization.accounts.len()), ("o-fixture1", 5));

    // 333333333333 is SUSPENDED: skipped, its unreadable file never opened.
    let outcomes: Vec<_> = collection
        .outcomes
        .iter()
        .map(|outcome| (outcome.account_id.as_str(), outcome.result.as_ref().map_err(ToString::to_string)))
        .collect();
    let root = fixture();
    assert_eq!(
        outcomes,
        [
            ("111111111111", Ok(&())),
            ("222222222222", Ok(&())),
            (
                "444444444444",
                Err(format!(
                    "{}: EOF while parsing an object at line 3 column 0",
                    root.join("444444444444/authorization-details.json").display()
                ))
            ),
            (
                "555555555555",
                Err(format!(
                    "{}: No such file or directory (os error 2)",
                    root.join("555555555555/credential-report.csv").display()
                ))
            ),
        ]
    );
    let names: Vec<_> = inventory.accounts.iter().map(|a| (a.account_id.as_str(), a.name.as_deref())).collect();
    assert_eq!(names, [("111111111111", Some("management")), ("222222222222", Some("workloads"))]);

    let empty = &inventory.accounts[1];
    assert!(empty.users.is_empty() && empty.credential_report.root.is_none());
    assert_eq!((empty.alias.as_ref(), empty.password_policy.as_ref()), (None, None));
}

#[tokio::test]
async fn reads_every_document_of_an_account() {
    let collection = load(&fixture()).await.expect("load the fixture");
    let account = &collection.inventory.accounts[0];
    assert_eq!(account.alias.as_deref(), Some("acme-management"));
    assert_eq!(account.password_policy.as_ref().and_then(|p| p.minimum_password_length), Some(8));

    let [alice] = &account.users[..] else { panic!("{:?}", account.users) };
    assert_eq!(alice.groups, ["admins"]);
    assert_eq!(alice.permissions_boundary.as_deref(), Some("arn:aws:iam::111111111111:policy/boundary"));
    assert_eq!(alice.tags.get("team").map(String::as_str), Some("platform"));
    // Stored URL-encoded, as the IAM API returns it.
    let [read_reports] = &alice.inline_policies[..] else { panic!("{:?}", alice.inline_policies) };
    assert_eq!(read_reports.name, "read-reports");
    assert_eq!(read_reports.policy.statements.len(), 1);

    let partner = account.roles.iter().find(|r| r.name == "partner").expect("partner role");
    assert!(partner.trust_policy.is_some());
    assert_eq!(partner.last_used, Some(time("2025-12-31T23:00:00Z")));
    let bad = account.roles.iter().find(|r| r.name == "bad-trust").expect("the role is kept");
    assert_eq!((bad.path.as_str(), bad.trust_policy.is_none()), ("/service/", true));

    let [admins] = &account.groups[..] else { panic!("{:?}", account.groups) };
    assert!(admins.inline_policies.is_empty(), "the unreadable inline policy is left out");
    assert_eq!(admins.attached_policies, ["arn:aws:iam::111111111111:policy/boundary"]);

    let managed: Vec<_> = account
        .managed_policies
        .iter()
        .map(|p| (p.name.as_str(), p.default_version_id.as_str(), p.is_aws_managed()))
        .collect();
    assert_eq!(managed, [("boundary", "v2", false), ("ReadOnlyAccess", "v120", true)]);

    let report = &account.credential_report;
    let root = report.root.as_ref().expect("root row");
    assert!(root.access_keys[0].active);
    assert_eq!(root.password_enabled, ReportValue::NotSupported);
    let users: Vec<_> = report.users.iter().map(|row| row.user.as_str()).collect();
    assert_eq!(users, ["alice"]);

    assert_eq!(account.oidc_providers[0].client_ids, ["sts.amazonaws.com"]);
    assert_eq!(account.saml_providers[0].valid_until, Some(time("2124-03-01T00:00:00Z")));

    let problems: Vec<_> = account.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "account 111111111111: authorization-details.json: group admins, inline policy broken: \
             statement 0: Effect must be \"Allow\" or \"Deny\", not \"Maybe\"",
            "account 111111111111: authorization-details.json: role bad-trust, trust policy: \
             not valid JSON: key must be a string at line 1 column 2",
            "account 111111111111: authorization-details.json: managed policy \
             arn:aws:iam::111111111111:policy/orphan: no document for default version v3",
            "account 111111111111: credential-report.csv: line 4: \
             user_creation_time: expected an ISO-8601 time, found \"last tuesday\"",
        ]
    );
}

#[tokio::test]
async fn a_directory_of_accounts_is_enough() {
    let temp = tempfile::tempdir().expect("temp dir");
    let account = temp.path().join("222222222222");
    fs::create_dir(&account).expect("account dir");
    for file in ["authorization-details.json", "credential-report.csv"] {
        fs::copy(fixture().join("222222222222").join(file), account.join(file)).expect("copy");
    }
    fs::create_dir(temp.path().join("not-an-account")).expect("other dir");

    let collection = load(temp.path()).await.expect("load");
    assert_eq!(collection.inventory.organization, None);
    assert_eq!(collection.inventory.collected_at, None);
    let [only] = &collection.inventory.accounts[..] else { panic!("{:?}", collection.outcomes) };
    assert_eq!((only.account_id.as_str(), only.name.as_deref()), ("222222222222", None));
}

#[tokio::test]
async fn a_wrong_credential_report_header_fails_the_account() {
    let temp = tempfile::tempdir().expect("temp dir");
    let account = temp.path().join("222222222222");
    fs::create_dir(&account).expect("account dir");
    fs::copy(fixture().join("222222222222/authorization-details.json"), account.join("authorization-details.json"))
        .expect("copy");
    fs::write(account.join("credential-report.csv"), "user,arn,created\n").expect("write");

    let collection = load(temp.path()).await.expect("load");
    let error = collection.outcomes[0].result.as_ref().unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: header column 3 is \"created\", expected \"user_creation_time\"",
            account.join("credential-report.csv").display()
        )
    );
}

#[tokio::test]
async fn a_missing_snapshot_is_an_error() {
    let error = load(Path::new("/nonexistent/snapshot")).await.unwrap_err();
    assert_eq!(error.to_string(), "/nonexistent/snapshot: No such file or directory (os error 2)");
}

// Generated snapshots at the sizes the issue names. They print load times
// and memory; measure in release, one at a time so that neither's memory
// shows in the other's figures:
// `cargo test --release --test collect_snapshot -- --ignored --nocapture --exact <name>`.

#[tokio::test]
#[ignore = "measurement; run in release"]
async fn loads_an_account_of_20_000_roles() {
    let temp = tempfile::tempdir().expect("temp dir");
    write_account(&temp.path().join("111111111111"), 20_000);
    let started = std::time::Instant::now();
    let collection = load(temp.path()).await.expect("load");
    let elapsed = started.elapsed();
    assert_eq!(collection.inventory.accounts[0].roles.len(), 20_000);
    println!("1 account, 20,000 roles ({} MB): {elapsed:?}", megabytes(temp.path()));
    if !cfg!(debug_assertions) {
        assert!(elapsed.as_secs_f64() <= 1.0, "{elapsed:?}");
    }
}

#[tokio::test]
#[ignore = "measurement; run in release"]
async fn loads_1_000_accounts_one_at_a_time() {
    let temp = tempfile::tempdir().expect("temp dir");
    for account in 0..1_000u64 {
        write_account(&temp.path().join(format!("{:012}", 200_000_000_000 + account)), 200);
    }
    reset_peak_memory();
    let before = memory_megabytes("VmRSS:");
    let started = std::time::Instant::now();
    let collection = load(temp.path()).await.expect("load");
    println!(
        "1,000 accounts x 200 roles ({} MB): {:?}; memory before {before} MB, peak {} MB, after {} MB",
        megabytes(temp.path()),
        started.elapsed(),
        memory_megabytes("VmHWM:"),
        memory_megabytes("VmRSS:"),
    );
    assert_eq!(collection.inventory.accounts.len(), 1_000);
}

/// An account of `roles` roles, each with a trust policy and an inline policy
/// of its own, and one user.
fn write_account(dir: &Path, roles: usize) {
    use serde_json::json;
    fs::create_dir_all(dir).expect("account dir");
    let account = dir.file_name().and_then(|name| name.to_str()).expect("account id");
    let roles: Vec<_> = (0..roles)
        .map(|i| {
            json!({
                "Path": "/", "RoleName": format!("role-{i}"), "RoleId": format!("AROA{i:016}"),
                "Arn": format!("arn:aws:iam::{account}:role/role-{i}"),
                "CreateDate": "2024-01-01T00:00:00+00:00",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{:012}:root", i % 97)},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": format!("id-{i}")}}}]},
                "RolePolicyList": [{"PolicyName": "data", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                    "Resource": format!("arn:aws:s3:::bucket-{i}/*")}]}}],
                "AttachedManagedPolicies": [{"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
                "Tags": [{"Key": "owner", "Value": format!("team-{}", i % 13)}],
                "RoleLastUsed": {"LastUsedDate": "2025-06-01T00:00:00+00:00", "Region": "us-east-1"}
            })
        })
        .collect();
    let details = json!({"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": []});
    fs::write(dir.join("authorization-details.json"), serde_json::to_vec_pretty(&details).expect("JSON"))
        .expect("write");
    let report = fs::read(fixture().join("111111111111/credential-report.csv")).expect("report");
    fs::write(dir.join("credential-report.csv"), report).expect("write");
}

fn megabytes(dir: &Path) -> u64 {
    fn size(path: &Path) -> u64 {
        match fs::read_dir(path) {
            Ok(entries) => entries.flatten().map(|entry| size(&entry.path())).sum(),
            Err(_) => fs::metadata(path).map_or(0, |meta| meta.len()),
        }
    }
    size(dir) / 1_000_000
}

/// Resets the process's peak resident memory (VmHWM), so that what follows is measured alone.
fn reset_peak_memory() {
    let _ = fs::write("/proc/self/clear_refs", "5");
}

/// A memory figure from /proc/self/status: `VmRSS:` now, `VmHWM:` the peak.
fn memory_megabytes(field: &str) -> u64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with(field))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kilobytes| kilobytes / 1024)
}
