//! Data-driven trust-graph tests: every line of tests/cases/trust/*.jsonl is a
//! small organization (a target role's trust policy, optional other roles,
//! users and identity providers) and the exact findings it must give. Each
//! case is written out as a snapshot directory and audited through the real
//! snapshot reader, graph and rules, so adding a case needs no code.
//!
//! Case fields:
//!   id, note, trust (the trust policy of arn:aws:iam::111111111111:role/target),
//!   targetPolicies (inline identity policies of the target), targetBoundary
//!   (its permissions boundary document), roles ([{arn, trust, policies,
//!   boundary}] elsewhere), users ([{arn, policies, boundary, groups}]),
//!   groups ([{arn, policies}]), managedPolicies ([{arn, document}]: customer
//!   managed policies attached to nothing), oidcProviders / samlProviders
//!   (provider ARNs that exist in 111111111111; when both are empty the
//!   account's providers are unknown), organization (default true:
//!   o-test000001 = 111111111111 and 222222222222; false: the collected
//!   accounts are the zone), config (trusted_accounts, trusted_github_orgs,
//!   identity_center_is_external, trusted: {list: [...]} for the trusted lists
//!   of oidc-trust-without-sub, rules: {rule id: {enabled, severity,
//!   parameters}}), expected ([{rule, severity, principal?, resource?,
//!   classes?, is_public?, status?, hops?}]: exactly the findings of the trust
//!   rules, identity-broker and mfa-condition-pitfall, in any order; no
//!   principal: the finding has none; resource defaults to the target).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};
use trustwarden::audit::analyse;
use trustwarden::collect::{SourceSpec, collect};
use trustwarden::config::Config;
use trustwarden::findings::Finding;
use trustwarden::rules::{RuleOverride, RulePack};

const TARGET: &str = "arn:aws:iam::111111111111:role/target";
const CHECKED_RULES: [&str; 6] = [
    "external-access",
    "oidc-trust-without-sub",
    "confused-deputy",
    "chain-to-privileged",
    "identity-broker",
    "mfa-condition-pitfall",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Case {
    id: String,
    #[allow(dead_code)] // for people reading the case
    note: String,
    trust: Value,
    #[serde(default)]
    target_policies: Vec<Value>,
    #[serde(default)]
    target_boundary: Option<Value>,
    #[serde(default)]
    roles: Vec<ExtraRole>,
    #[serde(default)]
    users: Vec<ExtraUser>,
    #[serde(default)]
    groups: Vec<ExtraGroup>,
    #[serde(default)]
    managed_policies: Vec<ExtraManagedPolicy>,
    #[serde(default)]
    oidc_providers: Vec<String>,
    #[serde(default)]
    saml_providers: Vec<String>,
    #[serde(default = "yes")]
    organization: bool,
    #[serde(default)]
    config: ZoneSettings,
    expected: Vec<Expected>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtraRole {
    arn: String,
    trust: Value,
    #[serde(default)]
    policies: Vec<Value>,
    #[serde(default)]
    boundary: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtraUser {
    arn: String,
    #[serde(default)]
    policies: Vec<Value>,
    #[serde(default)]
    boundary: Option<Value>,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtraGroup {
    arn: String,
    #[serde(default)]
    policies: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtraManagedPolicy {
    arn: String,
    document: Value,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ZoneSettings {
    #[serde(default)]
    trusted_accounts: Vec<String>,
    #[serde(default)]
    trusted_github_orgs: Vec<String>,
    #[serde(default)]
    identity_center_is_external: bool,
    #[serde(default)]
    trusted: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    rules: BTreeMap<String, RuleOverride>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Expected {
    rule: String,
    severity: String,
    principal: Option<String>,
    resource: Option<String>,
    classes: Option<Vec<String>>,
    is_public: Option<bool>,
    status: Option<String>,
    hops: Option<usize>,
}

/// The name, path and account of an IAM ARN (`arn:aws:iam::A:role/p/name`).
fn split_arn(arn: &str) -> (String, String, String) {
    let account = arn.split(':').nth(4).expect("an IAM ARN has an account").to_string();
    let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
    let after_kind = resource.split_once('/').map_or("", |(_, rest)| rest);
    let (path, name) =
        after_kind.rsplit_once('/').map_or(("/".to_string(), after_kind), |(p, n)| (format!("/{p}/"), n));
    (name.to_string(), path, account)
}

fn inline(policies: &[Value]) -> Vec<Value> {
    policies
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"PolicyName": format!("inline-{i}"), "PolicyDocument": p}))
        .collect()
}

/// A customer managed policy as get-account-authorization-details lists it.
fn managed_policy(arn: &str, document: &Value, boundary_uses: u32) -> Value {
    let (name, path, _) = split_arn(arn);
    json!({
        "PolicyName": name, "PolicyId": format!("ANPA{:0>17}", name.len()), "Arn": arn, "Path": path,
        "DefaultVersionId": "v1", "AttachmentCount": 0, "PermissionsBoundaryUsageCount": boundary_uses,
        "IsAttachable": true, "CreateDate": "2026-01-01T00:00:00Z", "UpdateDate": "2026-01-01T00:00:00Z",
        "PolicyVersionList": [{"Document": document, "VersionId": "v1", "IsDefaultVersion": true, "CreateDate": "2026-01-01T00:00:00Z"}]
    })
}

/// The boundary reference of a principal, and the managed policy it names.
fn boundary(owner_arn: &str, document: Option<&Value>) -> (Option<Value>, Option<Value>) {
    let Some(document) = document else { return (None, None) };
    let (name, _, account) = split_arn(owner_arn);
    let arn = format!("arn:aws:iam::{account}:policy/{name}-boundary");
    let reference = json!({"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn});
    (Some(reference), Some(managed_policy(&arn, document, 1)))
}

fn role_detail(arn: &str, trust: &Value, policies: &[Value], boundary: Option<Value>) -> Value {
    let (name, path, _) = split_arn(arn);
    let mut role = json!({
        "Path": path, "RoleName": name, "RoleId": format!("AROA{:0>17}", name.len()), "Arn": arn,
        "CreateDate": "2026-01-01T00:00:00Z", "AssumeRolePolicyDocument": trust,
        "InstanceProfileList": [], "RolePolicyList": inline(policies),
        "AttachedManagedPolicies": [], "Tags": [], "RoleLastUsed": {}
    });
    if let Some(b) = boundary {
        role["PermissionsBoundary"] = b;
    }
    role
}

fn user_detail(user: &ExtraUser, boundary: Option<Value>) -> Value {
    let (name, path, _) = split_arn(&user.arn);
    let mut detail = json!({
        "Path": path, "UserName": name, "UserId": format!("AIDA{:0>17}", name.len()), "Arn": user.arn,
        "CreateDate": "2026-01-01T00:00:00Z", "UserPolicyList": inline(&user.policies),
        "GroupList": user.groups, "AttachedManagedPolicies": [], "Tags": []
    });
    if let Some(b) = boundary {
        detail["PermissionsBoundary"] = b;
    }
    detail
}

fn group_detail(group: &ExtraGroup) -> Value {
    let (name, path, _) = split_arn(&group.arn);
    json!({
        "Path": path, "GroupName": name, "GroupId": format!("AGPA{:0>17}", name.len()), "Arn": group.arn,
        "CreateDate": "2026-01-01T00:00:00Z", "GroupPolicyList": inline(&group.policies),
        "AttachedManagedPolicies": []
    })
}

/// One account's get-account-authorization-details, being assembled.
#[derive(Default)]
struct AccountDetails {
    users: Vec<Value>,
    groups: Vec<Value>,
    roles: Vec<Value>,
    policies: Vec<Value>,
}

const REPORT_HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

fn write_snapshot(case: &Case, dir: &Path) {
    let mut accounts: BTreeMap<String, AccountDetails> = BTreeMap::new();
    let (reference, policy) = boundary(TARGET, case.target_boundary.as_ref());
    let target = accounts.entry("111111111111".into()).or_default();
    target.roles.push(role_detail(TARGET, &case.trust, &case.target_policies, reference));
    target.policies.extend(policy);
    for role in &case.roles {
        let (reference, policy) = boundary(&role.arn, role.boundary.as_ref());
        let account = accounts.entry(split_arn(&role.arn).2).or_default();
        account.roles.push(role_detail(&role.arn, &role.trust, &role.policies, reference));
        account.policies.extend(policy);
    }
    for user in &case.users {
        let (reference, policy) = boundary(&user.arn, user.boundary.as_ref());
        let account = accounts.entry(split_arn(&user.arn).2).or_default();
        account.users.push(user_detail(user, reference));
        account.policies.extend(policy);
    }
    for group in &case.groups {
        accounts.entry(split_arn(&group.arn).2).or_default().groups.push(group_detail(group));
    }
    for policy in &case.managed_policies {
        let account = accounts.entry(split_arn(&policy.arn).2).or_default();
        account.policies.push(managed_policy(&policy.arn, &policy.document, 0));
    }
    if case.organization {
        let members: Vec<Value> = ["111111111111", "222222222222"]
            .iter()
            .map(|id| json!({"Id": id, "Arn": format!("arn:aws:organizations::111111111111:account/o-test000001/{id}"), "Email": format!("{id}@example.com"), "Name": id, "Status": "ACTIVE", "JoinedMethod": "CREATED", "JoinedTimestamp": "2024-01-01T00:00:00Z"}))
            .collect();
        let org = json!({"Organization": {"Id": "o-test000001", "Arn": "arn:aws:organizations::111111111111:organization/o-test000001", "FeatureSet": "ALL", "MasterAccountArn": "arn:aws:organizations::111111111111:account/o-test000001/111111111111", "MasterAccountId": "111111111111", "MasterAccountEmail": "m@example.com"}, "Accounts": members});
        fs::write(dir.join("organization.json"), org.to_string()).unwrap();
        accounts.entry("222222222222".into()).or_default();
    }
    fs::write(dir.join("snapshot.json"), r#"{"collected_at": "2026-11-20T06:00:00Z", "source": "test"}"#).unwrap();
    for (account, details) in accounts {
        let account_dir = dir.join(&account);
        fs::create_dir_all(&account_dir).unwrap();
        let details = json!({"UserDetailList": details.users, "GroupDetailList": details.groups, "RoleDetailList": details.roles, "Policies": details.policies});
        fs::write(account_dir.join("authorization-details.json"), details.to_string()).unwrap();
        let root = format!(
            "<root_account>,arn:aws:iam::{account}:root,2020-01-01T00:00:00+00:00,not_supported,2026-01-01T00:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
        );
        fs::write(account_dir.join("credential-report.csv"), format!("{REPORT_HEADER}\n{root}\n")).unwrap();
        if account == "111111111111" {
            let oidc: Vec<Value> = case.oidc_providers.iter().map(|arn| {
                let url = arn.split_once(":oidc-provider/").map_or("", |(_, u)| u);
                json!({"Arn": arn, "Url": url, "ClientIDList": ["sts.amazonaws.com"], "ThumbprintList": [], "CreateDate": "2025-01-01T00:00:00Z", "Tags": []})
            }).collect();
            let saml: Vec<Value> = case.saml_providers.iter().map(|arn| json!({"Arn": arn, "SAMLMetadataDocument": "<EntityDescriptor entityID=\"https://idp.example.com\"/>", "CreateDate": "2025-01-01T00:00:00Z", "ValidUntil": "2030-01-01T00:00:00Z", "Tags": []})).collect();
            if !oidc.is_empty() {
                fs::write(account_dir.join("oidc-providers.json"), Value::Array(oidc).to_string()).unwrap();
            }
            if !saml.is_empty() {
                fs::write(account_dir.join("saml-providers.json"), Value::Array(saml).to_string()).unwrap();
            }
        }
    }
}

fn describe(f: &Finding) -> String {
    format!("{} {} {} <- {}", f.rule, f.severity, f.resource, f.principal.as_deref().unwrap_or("-"))
}

fn check(case: &Case, findings: &[Finding]) -> Result<(), String> {
    let mut unmatched: Vec<&Finding> = findings.iter().filter(|f| CHECKED_RULES.contains(&f.rule.as_str())).collect();
    let mut problems = Vec::new();
    for e in &case.expected {
        let resource = e.resource.as_deref().unwrap_or(TARGET);
        let position = unmatched.iter().position(|f| {
            f.rule == e.rule
                && f.severity.as_str() == e.severity
                && f.resource == resource
                && f.principal == e.principal
        });
        let Some(position) = position else {
            let principal = e.principal.as_deref().unwrap_or("-");
            problems.push(format!("missing: {} {} {resource} <- {principal}", e.rule, e.severity));
            continue;
        };
        let f = unmatched.remove(position);
        if let Some(classes) = &e.classes {
            let have: Vec<String> = f
                .conditions
                .iter()
                .map(|c| serde_json::to_value(c.class).unwrap().as_str().unwrap().to_string())
                .collect();
            for class in classes {
                if !have.contains(class) {
                    problems.push(format!("{}: no condition of class {class} (has {have:?})", describe(f)));
                }
            }
        }
        if e.is_public.is_some_and(|p| p != f.is_public) {
            problems.push(format!("{}: is_public {}", describe(f), f.is_public));
        }
        if e.status.as_deref().is_some_and(|s| s != f.status.as_str()) {
            problems.push(format!("{}: status {}", describe(f), f.status.as_str()));
        }
        if e.hops.is_some_and(|h| f.path.len() != h + 1) {
            problems.push(format!("{}: path {:?}", describe(f), f.path));
        }
    }
    problems.extend(unmatched.iter().map(|f| format!("unexpected: {} ({})", describe(f), f.explanation)));
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

/// The built-in pack with the case's trusted lists and rule changes.
fn pack_for(case: &Case, builtin: &RulePack) -> Result<RulePack, String> {
    let mut pack = builtin.clone();
    let mut trusted = toml::Table::new();
    for (list, values) in &case.config.trusted {
        trusted.insert(list.clone(), toml::Value::Array(values.iter().cloned().map(toml::Value::String).collect()));
    }
    if !trusted.is_empty() {
        let changes = RuleOverride { parameters: trusted, ..RuleOverride::default() };
        pack.apply_override("oidc-trust-without-sub", &changes).map_err(|e| e.to_string())?;
    }
    for (id, changes) in &case.config.rules {
        pack.apply_override(id, changes).map_err(|e| e.to_string())?;
    }
    Ok(pack)
}

#[tokio::test]
async fn every_trust_case_gives_exactly_its_findings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/trust");
    let mut files: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let builtin = RulePack::builtin().unwrap();
    let (mut total, mut failures) = (0, Vec::new());
    let mut ids = std::collections::HashSet::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for (n, line) in fs::read_to_string(&file).unwrap().lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            total += 1;
            let case: Case = serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}:{}: {e}", n + 1));
            assert!(ids.insert(case.id.clone()), "{name}:{}: duplicate id {}", n + 1, case.id);
            let dir = tempfile::tempdir().unwrap();
            write_snapshot(&case, dir.path());
            let source: SourceSpec = format!("snapshot:{}", dir.path().display()).parse().unwrap();
            let collection = collect(&source).await.unwrap();
            let problems: Vec<String> =
                collection.inventory.accounts.iter().flat_map(|a| a.problems.iter().map(|p| p.to_string())).collect();
            assert!(
                problems.is_empty(),
                "{name}:{}: {}: the case's documents do not parse: {problems:?}",
                n + 1,
                case.id
            );
            let pack = pack_for(&case, &builtin).unwrap_or_else(|e| panic!("{name}:{}: {}: {e}", n + 1, case.id));
            let mut config = Config::default();
            config.zone.trusted_accounts = case.config.trusted_accounts.clone();
            config.zone.trusted_github_orgs = case.config.trusted_github_orgs.clone();
            config.zone.identity_center_is_external = case.config.identity_center_is_external;
            let now = collection.inventory.collected_at.unwrap();
            let analysis = analyse(&collection.inventory, &config, &pack, now);
            if let Err(why) = check(&case, &analysis.findings) {
                failures.push(format!("{name}:{}: {}: {why}", n + 1, case.id));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {total} trust cases failed:\n{}", failures.len(), failures.join("\n"));
    println!("{total} trust cases passed");
}
