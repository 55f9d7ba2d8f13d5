//! AWS's JSON as the AWS CLI prints it (PascalCase, field for field), and its
//! conversion into the inventory. Both sources go through these structs: the
//! snapshot reader deserializes them, live collection builds them from SDK
//! responses, and the snapshot writer serializes them, so live → snapshot →
//! load yields the same inventory.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::credential_report::{CredentialReport, CredentialReportError};
use super::inventory::{
    AccountInventory, DocumentProblem, Group, ManagedPolicy, NamedPolicy, OidcProvider, Organization,
    OrganizationAccount, PasswordPolicy, Role, SamlProvider, User,
};
use super::snapshot::{AUTHORIZATION_DETAILS, CREDENTIAL_REPORT};
use crate::policy::Policy;

/// `aws organizations describe-organization` `.Organization` with
/// `list-accounts` `.Accounts`: the snapshot's `organization.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct OrganizationFile {
    pub organization: OrganizationDetail,
    pub accounts: Vec<AccountDetail>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct OrganizationDetail {
    pub id: String,
    pub master_account_id: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AccountDetail {
    pub id: String,
    pub name: String,
    pub email: String,
    pub status: String,
}

impl From<OrganizationFile> for Organization {
    fn from(file: OrganizationFile) -> Self {
        Organization {
            id: file.organization.id,
            master_account_id: file.organization.master_account_id,
            accounts: file
                .accounts
                .into_iter()
                .map(|account| OrganizationAccount {
                    id: account.id,
                    name: account.name,
                    email: account.email,
                    status: account.status,
                })
                .collect(),
        }
    }
}

/// `aws iam get-account-authorization-details`, all pages merged.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AuthorizationDetails {
    #[serde(default)]
    pub user_detail_list: Vec<UserDetail>,
    #[serde(default)]
    pub group_detail_list: Vec<GroupDetail>,
    #[serde(default)]
    pub role_detail_list: Vec<RoleDetail>,
    #[serde(default)]
    pub policies: Vec<ManagedPolicyDetail>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct UserDetail {
    pub path: String,
    pub user_name: String,
    pub user_id: String,
    pub arn: String,
    pub create_date: DateTime<Utc>,
    #[serde(default)]
    pub user_policy_list: Vec<PolicyDetail>,
    #[serde(default)]
    pub group_list: Vec<String>,
    #[serde(default)]
    pub attached_managed_policies: Vec<AttachedPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<PermissionsBoundary>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct GroupDetail {
    pub path: String,
    pub group_name: String,
    pub group_id: String,
    pub arn: String,
    pub create_date: DateTime<Utc>,
    #[serde(default)]
    pub group_policy_list: Vec<PolicyDetail>,
    #[serde(default)]
    pub attached_managed_policies: Vec<AttachedPolicy>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RoleDetail {
    pub path: String,
    pub role_name: String,
    pub role_id: String,
    pub arn: String,
    pub create_date: DateTime<Utc>,
    /// A JSON object, or a string holding the (URL-encoded) JSON text.
    pub assume_role_policy_document: Value,
    #[serde(default)]
    pub role_policy_list: Vec<PolicyDetail>,
    #[serde(default)]
    pub attached_managed_policies: Vec<AttachedPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<PermissionsBoundary>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub role_last_used: RoleLastUsed,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RoleLastUsed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_date: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ManagedPolicyDetail {
    pub policy_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    pub arn: String,
    pub path: String,
    pub default_version_id: String,
    #[serde(default)]
    pub attachment_count: u32,
    pub create_date: DateTime<Utc>,
    pub update_date: DateTime<Utc>,
    #[serde(default)]
    pub policy_version_list: Vec<PolicyVersion>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PolicyVersion {
    pub document: Value,
    pub version_id: String,
    pub is_default_version: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_date: Option<DateTime<Utc>>,
}

/// An inline policy.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PolicyDetail {
    pub policy_name: String,
    pub policy_document: Value,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct AttachedPolicy {
    pub policy_name: String,
    pub policy_arn: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PermissionsBoundary {
    pub permissions_boundary_type: String,
    pub permissions_boundary_arn: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Tag {
    pub key: String,
    pub value: String,
}

/// `aws iam get-account-password-policy`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PasswordPolicyFile {
    pub password_policy: PasswordPolicy,
}

/// `aws iam get-open-id-connect-provider`, with the provider's ARN.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct OidcProviderDetail {
    pub arn: String,
    pub url: String,
    #[serde(rename = "ClientIDList", default)]
    pub client_id_list: Vec<String>,
    #[serde(default)]
    pub thumbprint_list: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// `aws iam get-saml-provider`, with the provider's ARN.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct SamlProviderDetail {
    pub arn: String,
    #[serde(rename = "SAMLMetadataDocument")]
    pub saml_metadata_document: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_date: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// Everything read for one account, as AWS returned it: one snapshot account
/// directory.
#[derive(Clone, Debug, Default)]
pub(super) struct AccountDocuments {
    pub authorization_details: AuthorizationDetails,
    /// The decoded CSV.
    pub credential_report: Vec<u8>,
    pub password_policy: Option<PasswordPolicy>,
    pub alias: Option<String>,
    pub oidc_providers: Vec<OidcProviderDetail>,
    pub saml_providers: Vec<SamlProviderDetail>,
}

impl AccountDocuments {
    /// Parses every document. Only a credential report whose header is wrong
    /// fails the account; any other unreadable document becomes a problem.
    pub fn into_inventory(
        self,
        account_id: String,
        name: Option<String>,
    ) -> Result<AccountInventory, CredentialReportError> {
        let (credential_report, row_errors) = CredentialReport::parse(&self.credential_report)?;
        let mut reader = DocumentReader { account_id: &account_id, problems: Vec::new() };
        let details = self.authorization_details;
        let users = details.user_detail_list.into_iter().map(|user| reader.user(user)).collect();
        let groups = details.group_detail_list.into_iter().map(|group| reader.group(group)).collect();
        let roles = details.role_detail_list.into_iter().map(|role| reader.role(role)).collect();
        let managed_policies =
            details.policies.into_iter().filter_map(|policy| reader.managed_policy(policy)).collect();
        let mut problems = reader.problems;
        problems.extend(row_errors.into_iter().map(|error| DocumentProblem {
            account_id: account_id.clone(),
            file: CREDENTIAL_REPORT,
            location: format!("line {}", error.line),
            message: error.message,
        }));
        Ok(AccountInventory {
            account_id,
            alias: self.alias,
            name,
            users,
            roles,
            groups,
            managed_policies,
            credential_report,
            password_policy: self.password_policy,
            oidc_providers: self.oidc_providers.into_iter().map(Into::into).collect(),
            saml_providers: self.saml_providers.into_iter().map(Into::into).collect(),
            problems,
        })
    }
}

/// Parses an account's policy documents, recording the ones that fail.
struct DocumentReader<'a> {
    account_id: &'a str,
    problems: Vec<DocumentProblem>,
}

impl DocumentReader<'_> {
    fn policy(&mut self, document: &Value, location: impl FnOnce() -> String) -> Option<Arc<Policy>> {
        match Policy::from_value(document) {
            Ok(policy) => Some(Arc::new(policy)),
            Err(error) => {
                self.problems.push(DocumentProblem {
                    account_id: self.account_id.to_owned(),
                    file: AUTHORIZATION_DETAILS,
                    location: location(),
                    message: error.to_string(),
                });
                None
            }
        }
    }

    fn inline_policies(&mut self, owner: &str, list: Vec<PolicyDetail>) -> Vec<NamedPolicy> {
        list.into_iter()
            .filter_map(|detail| {
                let policy =
                    self.policy(&detail.policy_document, || format!("{owner}, inline policy {}", detail.policy_name))?;
                Some(NamedPolicy { name: detail.policy_name, policy })
            })
            .collect()
    }

    fn user(&mut self, user: UserDetail) -> User {
        let owner = format!("user {}", user.user_name);
        User {
            inline_policies: self.inline_policies(&owner, user.user_policy_list),
            attached_policies: attached_arns(user.attached_managed_policies),
            permissions_boundary: user.permissions_boundary.map(|b| b.permissions_boundary_arn),
            tags: tag_map(user.tags),
            groups: user.group_list,
            arn: user.arn,
            name: user.user_name,
            path: user.path,
            id: user.user_id,
            create_date: user.create_date,
        }
    }

    fn group(&mut self, group: GroupDetail) -> Group {
        let owner = format!("group {}", group.group_name);
        Group {
            inline_policies: self.inline_policies(&owner, group.group_policy_list),
            attached_policies: attached_arns(group.attached_managed_policies),
            arn: group.arn,
            name: group.group_name,
            path: group.path,
            id: group.group_id,
            create_date: group.create_date,
        }
    }

    fn role(&mut self, role: RoleDetail) -> Role {
        let owner = format!("role {}", role.role_name);
        Role {
            trust_policy: self.policy(&role.assume_role_policy_document, || format!("{owner}, trust policy")),
            inline_policies: self.inline_policies(&owner, role.role_policy_list),
            attached_policies: attached_arns(role.attached_managed_policies),
            permissions_boundary: role.permissions_boundary.map(|b| b.permissions_boundary_arn),
            tags: tag_map(role.tags),
            last_used: role.role_last_used.last_used_date,
            arn: role.arn,
            name: role.role_name,
            path: role.path,
            id: role.role_id,
            create_date: role.create_date,
        }
    }

    /// Only the default version is in force; a policy whose default document
    /// is missing or unreadable is left out and recorded.
    fn managed_policy(&mut self, detail: ManagedPolicyDetail) -> Option<ManagedPolicy> {
        let location = || format!("managed policy {}", detail.arn);
        let Some(version) = detail.policy_version_list.iter().find(|version| version.is_default_version) else {
            self.problems.push(DocumentProblem {
                account_id: self.account_id.to_owned(),
                file: AUTHORIZATION_DETAILS,
                location: location(),
                message: format!("no document for default version {}", detail.default_version_id),
            });
            return None;
        };
        let policy = self.policy(&version.document, location)?;
        Some(ManagedPolicy {
            arn: detail.arn,
            name: detail.policy_name,
            path: detail.path,
            default_version_id: detail.default_version_id,
            attachment_count: detail.attachment_count,
            create_date: detail.create_date,
            update_date: detail.update_date,
            policy,
        })
    }
}

fn attached_arns(list: Vec<AttachedPolicy>) -> Vec<String> {
    list.into_iter().map(|attached| attached.policy_arn).collect()
}

fn tag_map(tags: Vec<Tag>) -> BTreeMap<String, String> {
    tags.into_iter().map(|tag| (tag.key, tag.value)).collect()
}

impl From<OidcProviderDetail> for OidcProvider {
    fn from(detail: OidcProviderDetail) -> Self {
        OidcProvider {
            arn: detail.arn,
            url: detail.url,
            client_ids: detail.client_id_list,
            thumbprints: detail.thumbprint_list,
            create_date: detail.create_date,
            tags: tag_map(detail.tags),
        }
    }
}

impl From<SamlProviderDetail> for SamlProvider {
    fn from(detail: SamlProviderDetail) -> Self {
        SamlProvider {
            arn: detail.arn,
            metadata_document: detail.saml_metadata_document,
            create_date: detail.create_date,
            valid_until: detail.valid_until,
            tags: tag_map(detail.tags),
        }
    }
}
