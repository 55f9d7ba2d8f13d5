//! Live collection end to end against a real moto server: an organization of
//! accounts seeded through moto's API, one without the audit role, collected
//! and compared with what was seeded; then written as a snapshot and loaded
//! back.

// Shared by every integration test; this one uses the moto part.
#[allow(dead_code)]
mod support;

use std::collections::BTreeMap;
use std::fs;
use std::time::Duration;

use support::{MotoServer, SeededAccount, SeededGroup, SeededOidcProvider, SeededOrganization, SeededRole, SeededUser};
use trustwarden::collect::{
    self, AccountInventory, AccountScope, CollectError, Collection, LiveOptions, ReportValue, SourceSpec,
};

const AUDIT_ROLE: &str = "TrustwardenAudit";

/// One test, so one process environment: the AWS SDK reads its endpoint and
/// credentials from the environment, and this binary sets them once.
#[test]
fn collects_an_organization_from_aws() {
    let moto = MotoServer::start();
    let seed = support::seed_organization(&moto);
    let environment = moto.client_env(&seed.auditor.access_key_id, &seed.auditor.secret_access_key);
    // SAFETY: this binary's only test, running before any other thread of
    // this process (the tokio runtime below included) reads the environment.
    unsafe {
        std::env::remove_var("AWS_PROFILE");
        for (key, value) in environment {
            std::env::set_var(key, value);
        }
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let organization = LiveOptions { scope: AccountScope::Organization, concurrency: 2, ..LiveOptions::default() };
        let live = collect::collect(&SourceSpec::Aws(organization.clone())).await.expect("collect the organization");
        check_organization(&live, &seed);
        check_snapshot_round_trip(&organization, &live).await;
        check_caller_scope(&seed).await;
        check_timeout().await;
    });
}

fn check_organization(live: &Collection, seed: &SeededOrganization) {
    let organization = live.inventory.organization.as_ref().expect("organization");
    assert_eq!(organization.id, seed.organization_id);
    assert_eq!(organization.master_account_id, seed.management_account);
    let suspended = organization
        .accounts
        .iter()
        .find(|account| account.id == seed.suspended)
        .expect("the closed account is still listed");
    assert_eq!(suspended.status, "SUSPENDED");

    // Every active account has an outcome; the suspended one is skipped.
    let outcomes: BTreeMap<_, _> =
        live.outcomes.iter().map(|outcome| (outcome.account_id.as_str(), &outcome.result)).collect();
    let mut attempted = seed.audited.clone();
    attempted.push(seed.without_audit_role.clone());
    attempted.sort();
    assert_eq!(outcomes.keys().copied().collect::<Vec<_>>(), attempted);

    let refused = outcomes[seed.without_audit_role.as_str()];
    let role_arn = format!("arn:aws:iam::{}:role/{AUDIT_ROLE}", seed.without_audit_role);
    match refused {
        Err(CollectError::AssumeRole { role_arn: arn, message }) => {
            assert_eq!(*arn, role_arn);
            assert!(message.starts_with("AccessDenied: "), "{message}");
        }
        other => panic!("expected a refused AssumeRole, got {other:?}"),
    }
    assert!(refused.as_ref().unwrap_err().to_string().starts_with(&format!("cannot assume {role_arn}: AccessDenied")),);

    let collected: Vec<_> = live.inventory.accounts.iter().map(|a| a.account_id.clone()).collect();
    assert_eq!(collected, seed.audited, "{:#?}", live.outcomes);
    for account in &live.inventory.accounts {
        assert!(outcomes[account.account_id.as_str()].is_ok());
        assert_eq!(observed(account), seed.accounts[&account.account_id], "account {}", account.account_id);
        assert_eq!(account.problems, []);
    }

    // A managed policy is read at its default version: v2 added s3:GetObject.
    let prod =
        live.inventory.accounts.iter().find(|account| account.name.as_deref() == Some("prod")).expect("prod collected");
    let deploy = prod.managed_policies.iter().find(|p| p.name == "deploy").expect("deploy policy");
    assert_eq!(deploy.default_version_id, "v2");
    assert!(format!("{:?}", deploy.policy).contains("GetObject"));
    assert!(!deploy.is_aws_managed());
    assert!(prod.saml_providers[0].metadata_document.len() > 1000);
}

/// The inventory, reduced to what the seed script records.
fn observed(account: &AccountInventory) -> SeededAccount {
    let report = &account.credential_report;
    let users = account
        .users
        .iter()
        .map(|user| {
            let row = report.users.iter().find(|row| row.user == user.name).expect("credential report row");
            let keys = row.access_keys.iter().map(|key| key.active);
            let key_count = row.access_keys.iter().filter(|key| key.last_rotated != ReportValue::NotApplicable).count();
            let user_view = SeededUser {
                groups: sorted(user.groups.clone()),
                inline_policies: sorted(user.inline_policies.iter().map(|p| p.name.clone()).collect()),
                attached_policies: sorted(user.attached_policies.clone()),
                permissions_boundary: user.permissions_boundary.clone(),
                tags: user.tags.clone(),
                access_keys_active: keys.take(key_count).collect(),
                password_enabled: row.password_enabled == ReportValue::Value(true),
            };
            (user.name.clone(), user_view)
        })
        .collect();
    let groups = account
        .groups
        .iter()
        .map(|group| {
            let group_view = SeededGroup {
                inline_policies: sorted(group.inline_policies.iter().map(|p| p.name.clone()).collect()),
                attached_policies: sorted(group.attached_policies.clone()),
            };
            (group.name.clone(), group_view)
        })
        .collect();
    let roles = account
        .roles
        .iter()
        .map(|role| {
            let role_view = SeededRole {
                trust_policy: role.trust_policy.as_deref().expect("trust policy").clone(),
                inline_policies: sorted(role.inline_policies.iter().map(|p| p.name.clone()).collect()),
                attached_policies: sorted(role.attached_policies.clone()),
                permissions_boundary: role.permissions_boundary.clone(),
                tags: role.tags.clone(),
            };
            (role.name.clone(), role_view)
        })
        .collect();
    SeededAccount {
        name: account.name.clone().expect("organization account name"),
        alias: account.alias.clone(),
        users,
        groups,
        roles,
        managed_policies: account.managed_policies.iter().map(|p| p.arn.clone()).collect(),
        password_policy_min_length: account.password_policy.as_ref().and_then(|p| p.minimum_password_length),
        oidc_providers: account
            .oidc_providers
            .iter()
            .map(|p| SeededOidcProvider { arn: p.arn.clone(), url: p.url.clone(), client_ids: p.client_ids.clone() })
            .collect(),
        saml_providers: account.saml_providers.iter().map(|p| p.arn.clone()).collect(),
    }
}

fn sorted(mut list: Vec<String>) -> Vec<String> {
    list.sort();
    list
}

async fn check_snapshot_round_trip(options: &LiveOptions, live: &Collection) {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("snapshot");
    let written = collect::write_snapshot(options, &dir).await.expect("write snapshot");
    let loaded = collect::collect(&SourceSpec::Snapshot(dir.clone())).await.expect("load snapshot");

    assert_eq!(loaded.inventory, written.inventory);
    // Not equal to the first collection's inventory: collecting uses the
    // audit roles and the auditor's key, so their last-used times move.
    let ids = |collection: &Collection| -> Vec<String> {
        collection.inventory.accounts.iter().map(|a| a.account_id.clone()).collect()
    };
    assert_eq!(ids(&written), ids(live));

    let failed: Vec<_> = loaded.outcomes.iter().filter(|o| o.result.is_err()).collect();
    let [failed] = failed[..] else { panic!("{:?}", loaded.outcomes) };
    let missing = failed.result.as_ref().unwrap_err().to_string();
    assert!(missing.contains(&format!("{}/authorization-details.json", failed.account_id)), "{missing}");

    for account in &written.inventory.accounts {
        let account_dir = dir.join(&account.account_id);
        for file in
            ["authorization-details.json", "credential-report.csv", "oidc-providers.json", "saml-providers.json"]
        {
            assert!(account_dir.join(file).is_file(), "{}/{file}", account.account_id);
        }
    }
    let organization: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("organization.json")).expect("organization.json")).expect("JSON");
    assert_eq!(organization["Accounts"].as_array().map(Vec::len), Some(5));
    assert!(dir.join("snapshot.json").is_file());
    // Written the way the AWS CLI prints them: documents as JSON objects, not URL-encoded text.
    let details =
        fs::read_to_string(dir.join(&written.inventory.accounts[0].account_id).join("authorization-details.json"))
            .expect("authorization details");
    assert!(details.contains(r#""AssumeRolePolicyDocument": {"#), "{details}");

    let again = collect::write_snapshot(options, &dir).await.unwrap_err();
    assert!(matches!(again, CollectError::OutputNotEmpty(_)), "{again}");
}

async fn check_caller_scope(seed: &SeededOrganization) {
    let caller = collect::collect(&"aws".parse().expect("source")).await.expect("collect the caller's account");
    assert!(caller.inventory.organization.is_none());
    let [account] = &caller.inventory.accounts[..] else { panic!("{:?}", caller.outcomes) };
    assert_eq!(account.account_id, seed.management_account);
    assert!(account.users.iter().any(|user| user.name == "trustwarden-auditor"));
    assert_eq!(account.alias.as_deref(), Some("acme-management"));
}

async fn check_timeout() {
    let hurried = LiveOptions { call_timeout: Duration::from_millis(1), max_attempts: 1, ..LiveOptions::default() };
    let error = collect::collect(&SourceSpec::Aws(hurried)).await.unwrap_err();
    assert_eq!(error.to_string(), "sts:GetCallerIdentity failed: timed out");
}
