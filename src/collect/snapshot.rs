//! The snapshot directory (layout in design.md): reading it as a source, one
//! account at a time, and writing it from live data.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::inventory::{AccountInventory, Inventory, Organization};
use super::wire::{
    AccountDocuments, AuthorizationDetails, OidcProviderDetail, OrganizationFile, PasswordPolicyFile,
    SamlProviderDetail,
};
use super::{AccountOutcome, CollectError, Collection};
use crate::policy::Policy;

pub(super) const ORGANIZATION: &str = "organization.json";
pub(super) const SNAPSHOT_META: &str = "snapshot.json";
pub(super) const AUTHORIZATION_DETAILS: &str = "authorization-details.json";
pub(super) const CREDENTIAL_REPORT: &str = "credential-report.csv";
pub(super) const PASSWORD_POLICY: &str = "password-policy.json";
pub(super) const ALIAS: &str = "alias.txt";
pub(super) const OIDC_PROVIDERS: &str = "oidc-providers.json";
pub(super) const SAML_PROVIDERS: &str = "saml-providers.json";

/// `snapshot.json`: trustwarden's own record of when the snapshot was taken.
#[derive(Deserialize)]
struct SnapshotMeta {
    collected_at: DateTime<Utc>,
}

/// Reads a snapshot. Only the account list is read up front; each account's
/// files are read, parsed and dropped before the next, so memory holds the
/// typed inventory and one account's raw JSON at a time.
pub(super) fn load(dir: &Path) -> Result<Collection, CollectError> {
    let collected_at = read_optional_json::<SnapshotMeta>(&dir.join(SNAPSHOT_META))?.map(|meta| meta.collected_at);
    let organization = read_optional_json::<OrganizationFile>(&dir.join(ORGANIZATION))?.map(Organization::from);

    let mut account_ids = account_directories(dir)?;
    let mut names = BTreeMap::new();
    if let Some(organization) = &organization {
        for account in &organization.accounts {
            if account.is_active() {
                // An active member without a directory is reported as failed below.
                account_ids.insert(account.id.clone());
                names.insert(account.id.as_str(), account.name.as_str());
            } else {
                account_ids.remove(&account.id);
            }
        }
    }

    let mut accounts = Vec::new();
    let mut outcomes = Vec::new();
    let mut aws_managed = AwsManagedPolicies::default();
    for account_id in account_ids {
        let name = names.get(account_id.as_str()).map(|name| (*name).to_owned());
        let result = load_account(&dir.join(&account_id), &account_id, name, &mut aws_managed)
            .map(|account| accounts.push(account));
        if let Err(error) = &result {
            tracing::warn!(account = %account_id, %error, "account not loaded from snapshot");
        }
        outcomes.push(AccountOutcome { account_id, result });
    }
    Ok(Collection { inventory: Inventory { organization, accounts, collected_at }, outcomes })
}

/// The subdirectories named by a 12-digit account id; anything else in the
/// snapshot (a README, say) is not an account.
fn account_directories(dir: &Path) -> Result<BTreeSet<String>, CollectError> {
    let io_error = |source| CollectError::Io { path: dir.to_owned(), source };
    let mut ids = BTreeSet::new();
    for entry in fs::read_dir(dir).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_account_id(name) && entry.file_type().map_err(io_error)?.is_dir() {
            ids.insert(name.to_owned());
        }
    }
    Ok(ids)
}

fn is_account_id(name: &str) -> bool {
    name.len() == 12 && name.bytes().all(|b| b.is_ascii_digit())
}

fn load_account(
    dir: &Path,
    account_id: &str,
    name: Option<String>,
    aws_managed: &mut AwsManagedPolicies,
) -> Result<AccountInventory, CollectError> {
    let credential_report_path = dir.join(CREDENTIAL_REPORT);
    let mut authorization_details = read_json(&dir.join(AUTHORIZATION_DETAILS))?;
    let known = aws_managed.take_known(&mut authorization_details);
    let documents = AccountDocuments {
        authorization_details,
        credential_report: read(&credential_report_path)?,
        password_policy: read_optional_json::<PasswordPolicyFile>(&dir.join(PASSWORD_POLICY))?
            .map(|file| file.password_policy),
        alias: read_optional(&dir.join(ALIAS))?
            .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
            .filter(|alias| !alias.is_empty()),
        oidc_providers: read_optional_json::<Vec<OidcProviderDetail>>(&dir.join(OIDC_PROVIDERS))?.unwrap_or_default(),
        saml_providers: read_optional_json::<Vec<SamlProviderDetail>>(&dir.join(SAML_PROVIDERS))?.unwrap_or_default(),
    };
    let new_documents = aws_managed.new_documents(&documents.authorization_details, &known);
    let mut account = documents
        .into_inventory(account_id.to_owned(), name)
        .map_err(|source| CollectError::CredentialReport { path: credential_report_path, source })?;
    aws_managed.share(&mut account, &known, new_documents);
    Ok(account)
}

/// AWS managed policies already parsed in an earlier account of the snapshot.
/// Every account lists the AWS managed policies it attaches, with their full
/// documents (ReadOnlyAccess alone is ~90 KB of JSON and thousands of action
/// patterns), so an organization of 1,000 accounts would parse and hold the
/// same few documents 1,000 times. An account whose document is the same, as
/// written, as one already parsed gets the parsed policy shared instead.
#[derive(Default)]
struct AwsManagedPolicies {
    /// By ARN: the default version's document as written, and its parsed policy.
    by_arn: HashMap<String, (serde_json::Value, Arc<Policy>)>,
}

impl AwsManagedPolicies {
    /// Marks the AWS managed policies whose default document is already known,
    /// and replaces that document by an empty one, so that parsing the
    /// account does not parse it again. Returns their ARNs.
    fn take_known(&self, details: &mut AuthorizationDetails) -> HashSet<String> {
        let mut known = HashSet::new();
        for policy in details.policies.iter_mut().filter(|p| is_aws_managed(&p.arn)) {
            let Some((document, _)) = self.by_arn.get(&policy.arn) else { continue };
            let default = policy.policy_version_list.iter_mut().find(|v| v.is_default_version);
            if let Some(version) = default.filter(|v| v.document == *document) {
                version.document = serde_json::json!({ "Statement": [] });
                known.insert(policy.arn.clone());
            }
        }
        known
    }

    /// The default documents of AWS managed policies seen for the first time,
    /// as written, to remember once they are parsed.
    fn new_documents(
        &self,
        details: &AuthorizationDetails,
        known: &HashSet<String>,
    ) -> Vec<(String, serde_json::Value)> {
        details
            .policies
            .iter()
            .filter(|p| is_aws_managed(&p.arn) && !known.contains(&p.arn) && !self.by_arn.contains_key(&p.arn))
            .filter_map(|p| {
                let version = p.policy_version_list.iter().find(|v| v.is_default_version)?;
                Some((p.arn.clone(), version.document.clone()))
            })
            .collect()
    }

    /// Gives the account the shared parsed policies, and remembers the new ones.
    fn share(
        &mut self,
        account: &mut AccountInventory,
        known: &HashSet<String>,
        new: Vec<(String, serde_json::Value)>,
    ) {
        let mut new: HashMap<String, serde_json::Value> = new.into_iter().collect();
        for policy in &mut account.managed_policies {
            if known.contains(&policy.arn) {
                if let Some((_, shared)) = self.by_arn.get(&policy.arn) {
                    policy.policy = Arc::clone(shared);
                }
            } else if let Some(document) = new.remove(&policy.arn) {
                self.by_arn.insert(policy.arn.clone(), (document, Arc::clone(&policy.policy)));
            }
        }
    }
}

/// AWS managed policies live in the pseudo-account `aws` (`arn:aws:iam::aws:policy/...`).
fn is_aws_managed(arn: &str) -> bool {
    arn.split(':').nth(4) == Some("aws")
}

fn read(path: &Path) -> Result<Vec<u8>, CollectError> {
    fs::read(path).map_err(|source| CollectError::Io { path: path.to_owned(), source })
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, CollectError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CollectError::Io { path: path.to_owned(), source }),
    }
}

fn parse_json<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, CollectError> {
    serde_json::from_slice(bytes).map_err(|source| CollectError::Json { path: path.to_owned(), source })
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, CollectError> {
    parse_json(path, &read(path)?)
}

fn read_optional_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, CollectError> {
    read_optional(path)?.map(|bytes| parse_json(path, &bytes)).transpose()
}

/// Writes a snapshot as live collection goes. `snapshot.json` is written
/// last, so a directory without it is an interrupted snapshot.
pub(super) struct SnapshotWriter {
    dir: PathBuf,
}

impl SnapshotWriter {
    /// Refuses a directory that already holds files: mixing a new snapshot
    /// with an old one's accounts would load as one organization.
    pub fn create(dir: &Path) -> Result<Self, CollectError> {
        let io_error = |source| CollectError::Io { path: dir.to_owned(), source };
        fs::create_dir_all(dir).map_err(io_error)?;
        if fs::read_dir(dir).map_err(io_error)?.next().is_some() {
            return Err(CollectError::OutputNotEmpty(dir.to_owned()));
        }
        Ok(SnapshotWriter { dir: dir.to_owned() })
    }

    pub fn write_organization(&self, organization: &OrganizationFile) -> Result<(), CollectError> {
        write_json(&self.dir.join(ORGANIZATION), organization)
    }

    pub fn write_account(&self, account_id: &str, documents: &AccountDocuments) -> Result<(), CollectError> {
        let dir = self.dir.join(account_id);
        fs::create_dir(&dir).map_err(|source| CollectError::Io { path: dir.clone(), source })?;
        write_json(&dir.join(AUTHORIZATION_DETAILS), &documents.authorization_details)?;
        write(&dir.join(CREDENTIAL_REPORT), &documents.credential_report)?;
        if let Some(password_policy) = &documents.password_policy {
            write_json(&dir.join(PASSWORD_POLICY), &PasswordPolicyFile { password_policy: password_policy.clone() })?;
        }
        if let Some(alias) = &documents.alias {
            write(&dir.join(ALIAS), format!("{alias}\n").as_bytes())?;
        }
        write_json(&dir.join(OIDC_PROVIDERS), &documents.oidc_providers)?;
        write_json(&dir.join(SAML_PROVIDERS), &documents.saml_providers)
    }

    pub fn finish(self, collected_at: DateTime<Utc>) -> Result<(), CollectError> {
        let meta = serde_json::json!({ "collected_at": collected_at, "source": "aws" });
        write_json(&self.dir.join(SNAPSHOT_META), &meta)
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CollectError> {
    fs::write(path, bytes).map_err(|source| CollectError::Io { path: path.to_owned(), source })
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), CollectError> {
    let mut bytes =
        serde_json::to_vec_pretty(value).map_err(|source| CollectError::Json { path: path.to_owned(), source })?;
    bytes.push(b'\n');
    write(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n";

    fn managed(arn: &str, action: &str) -> serde_json::Value {
        serde_json::json!({
            "PolicyName": arn.rsplit('/').next(), "Arn": arn, "Path": "/", "DefaultVersionId": "v2",
            "AttachmentCount": 1, "CreateDate": "2015-02-06T18:39:46Z", "UpdateDate": "2015-02-06T18:39:46Z",
            "PolicyVersionList": [
                {"Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]},
                 "VersionId": "v2", "IsDefaultVersion": true},
                {"Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]},
                 "VersionId": "v1", "IsDefaultVersion": false}
            ]
        })
    }

    fn account(dir: &Path, id: &str, policies: Vec<serde_json::Value>) {
        let account = dir.join(id);
        fs::create_dir(&account).unwrap();
        let details = serde_json::json!({"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": policies});
        fs::write(account.join(AUTHORIZATION_DETAILS), details.to_string()).unwrap();
        fs::write(account.join(CREDENTIAL_REPORT), REPORT).unwrap();
    }

    #[test]
    fn accounts_share_identical_aws_managed_policies() {
        let dir = tempfile::tempdir().unwrap();
        let read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess";
        let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
        let customer = |id: &str| format!("arn:aws:iam::{id}:policy/app");
        account(
            dir.path(),
            "111111111111",
            vec![managed(read_only, "s3:List*"), managed(&customer("111111111111"), "sqs:*")],
        );
        account(
            dir.path(),
            "222222222222",
            vec![managed(&customer("222222222222"), "sqs:*"), managed(read_only, "s3:List*")],
        );
        // Same ARN, another document (a snapshot taken across an AWS update): parsed on its own.
        account(dir.path(), "333333333333", vec![managed(read_only, "ec2:Describe*"), managed(admin, "*")]);

        let collection = load(dir.path()).unwrap();
        let accounts = &collection.inventory.accounts;
        assert_eq!(accounts.len(), 3);
        let policy = |a: usize, arn: &str| {
            accounts[a].managed_policies.iter().find(|p| p.arn == arn).map(|p| Arc::clone(&p.policy)).unwrap()
        };
        assert!(Arc::ptr_eq(&policy(0, read_only), &policy(1, read_only)));
        assert!(!Arc::ptr_eq(&policy(0, read_only), &policy(2, read_only)));
        assert_ne!(policy(0, read_only), policy(2, read_only));
        // The shared policy is the document as written, not the stand-in.
        let expected = Policy::from_value(&managed(read_only, "s3:List*")["PolicyVersionList"][0]["Document"]).unwrap();
        assert_eq!(*policy(1, read_only), expected);
        // Customer managed policies are never shared, and order is kept.
        assert!(!Arc::ptr_eq(&policy(0, &customer("111111111111")), &policy(1, &customer("222222222222"))));
        let arns: Vec<&str> = accounts[1].managed_policies.iter().map(|p| p.arn.as_str()).collect();
        assert_eq!(arns, [customer("222222222222").as_str(), read_only]);
        assert!(accounts.iter().all(|a| a.problems.is_empty()));
    }
}
