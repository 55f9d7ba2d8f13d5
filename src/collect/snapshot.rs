//! The snapshot directory (layout in design.md): reading it as a source, one
//! account at a time, and writing it from live data.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::inventory::{AccountInventory, Inventory, Organization};
use super::wire::{AccountDocuments, OidcProviderDetail, OrganizationFile, PasswordPolicyFile, SamlProviderDetail};
use super::{AccountOutcome, CollectError, Collection};

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
    for account_id in account_ids {
        let name = names.get(account_id.as_str()).map(|name| (*name).to_owned());
        let result = load_account(&dir.join(&account_id), &account_id, name).map(|account| accounts.push(account));
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

fn load_account(dir: &Path, account_id: &str, name: Option<String>) -> Result<AccountInventory, CollectError> {
    let credential_report_path = dir.join(CREDENTIAL_REPORT);
    let documents = AccountDocuments {
        authorization_details: read_json(&dir.join(AUTHORIZATION_DETAILS))?,
        credential_report: read(&credential_report_path)?,
        password_policy: read_optional_json::<PasswordPolicyFile>(&dir.join(PASSWORD_POLICY))?
            .map(|file| file.password_policy),
        alias: read_optional(&dir.join(ALIAS))?
            .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
            .filter(|alias| !alias.is_empty()),
        oidc_providers: read_optional_json::<Vec<OidcProviderDetail>>(&dir.join(OIDC_PROVIDERS))?.unwrap_or_default(),
        saml_providers: read_optional_json::<Vec<SamlProviderDetail>>(&dir.join(SAML_PROVIDERS))?.unwrap_or_default(),
    };
    documents
        .into_inventory(account_id.to_owned(), name)
        .map_err(|source| CollectError::CredentialReport { path: credential_report_path, source })
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
