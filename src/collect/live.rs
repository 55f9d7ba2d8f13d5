//! Live collection from AWS: finding the accounts (the caller's, or an
//! organization's through an audit role in each), then the IAM calls that
//! fill one account's documents, several accounts at a time.

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, SystemTime};

use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_iam::primitives::DateTime as AwsDateTime;
use aws_sdk_iam::types as iam;
use aws_sdk_iam::types::ReportStateType;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use tokio::task::JoinSet;

use super::inventory::{Inventory, PasswordPolicy};
use super::snapshot::SnapshotWriter;
use super::wire::{self, AccountDocuments, OrganizationFile};
use super::{AccountOutcome, CollectError, Collection};

/// IAM needs a region to sign requests even though it is global.
const DEFAULT_REGION: &str = "us-east-1";
/// Shows in the member accounts' CloudTrail as the assumed-role session.
const SESSION_NAME: &str = "trustwarden";

/// How to collect from live AWS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveOptions {
    pub scope: AccountScope,
    /// The role assumed in each account in organization scope.
    pub audit_role: String,
    /// `sts:ExternalId` to present when assuming the audit role.
    pub external_id: Option<String>,
    /// Accounts collected at once.
    pub concurrency: usize,
    /// Attempts per API call, the first included. Throttled and transient
    /// failures are retried with exponential backoff and jitter.
    pub max_attempts: u32,
    /// Bound on one API call, retries included.
    pub call_timeout: Duration,
    /// How long to wait for IAM to generate an account's credential report.
    pub credential_report_timeout: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            scope: AccountScope::default(),
            audit_role: "TrustwardenAudit".into(),
            external_id: None,
            concurrency: 8,
            max_attempts: 5,
            call_timeout: Duration::from_secs(120),
            credential_report_timeout: Duration::from_secs(300),
        }
    }
}

/// Which accounts a live collection covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AccountScope {
    /// The account the credentials belong to, read with those credentials.
    #[default]
    Caller,
    /// Every active account of the caller's organization, each read through
    /// the audit role (the caller's own account included).
    Organization,
}

/// An account to collect, and how to get in.
struct Target {
    account_id: String,
    name: Option<String>,
    /// `None`: use the caller's own credentials.
    role_arn: Option<String>,
}

pub(super) async fn collect(options: &LiveOptions, out: Option<&Path>) -> Result<Collection, CollectError> {
    let collected_at = Utc::now();
    let config = load_config(options).await;
    let writer = out.map(SnapshotWriter::create).transpose()?;
    let (organization, targets) = targets(&config, options).await?;
    if let (Some(writer), Some(organization)) = (&writer, &organization) {
        writer.write_organization(organization)?;
    }

    let sts = aws_sdk_sts::Client::new(&config);
    let mut progress = Progress::new(targets.len());
    let mut pending = targets.into_iter();
    let mut running = JoinSet::new();
    let mut accounts = Vec::new();
    let mut outcomes = Vec::new();
    loop {
        while running.len() < options.concurrency.max(1) {
            let Some(target) = pending.next() else { break };
            let (config, sts, external_id) = (config.clone(), sts.clone(), options.external_id.clone());
            let report_timeout = options.credential_report_timeout;
            running.spawn(async move {
                let documents = fetch_account(&config, &sts, &target, external_id.as_deref(), report_timeout).await;
                (target, documents)
            });
        }
        let Some(joined) = running.join_next().await else { break };
        let (target, documents) = joined.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
        let result = match documents {
            Ok(documents) => {
                if let Some(writer) = &writer {
                    writer.write_account(&target.account_id, &documents)?;
                }
                documents
                    .into_inventory(target.account_id.clone(), target.name)
                    .map(|account| accounts.push(account))
                    .map_err(|error| CollectError::MalformedResponse {
                        call: "iam:GetCredentialReport",
                        message: error.to_string(),
                    })
            }
            Err(error) => Err(error),
        };
        progress.account_done(&target.account_id, &result);
        outcomes.push(AccountOutcome { account_id: target.account_id, result });
    }
    progress.finish();
    if let Some(writer) = writer {
        writer.finish(collected_at)?;
    }

    accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    outcomes.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    let organization = organization.map(Into::into);
    Ok(Collection { inventory: Inventory { organization, accounts, collected_at: Some(collected_at) }, outcomes })
}

/// The accounts to collect, and the organization when collecting one.
async fn targets(
    config: &SdkConfig,
    options: &LiveOptions,
) -> Result<(Option<OrganizationFile>, Vec<Target>), CollectError> {
    let (caller_account, caller_arn) = caller_identity(config).await?;
    tracing::info!(caller = %caller_arn, scope = ?options.scope, "collecting from AWS");
    match options.scope {
        AccountScope::Caller => Ok((None, vec![Target { account_id: caller_account, name: None, role_arn: None }])),
        AccountScope::Organization => {
            let organization = describe_organization(config).await?;
            // The role ARN's partition (aws, aws-cn, aws-us-gov) is the caller's.
            let partition = caller_arn.split(':').nth(1).unwrap_or("aws");
            let targets = organization
                .accounts
                .iter()
                .filter(|account| account.status == "ACTIVE")
                .map(|account| Target {
                    role_arn: Some(format!("arn:{partition}:iam::{}:role/{}", account.id, options.audit_role)),
                    account_id: account.id.clone(),
                    name: Some(account.name.clone()),
                })
                .collect();
            Ok((Some(organization), targets))
        }
    }
}

/// The standard credential and region chain (environment, profiles with SSO
/// and credential_process, web identity, container and instance metadata),
/// `AWS_ENDPOINT_URL` included.
async fn load_config(options: &LiveOptions) -> SdkConfig {
    let region = RegionProviderChain::default_provider().or_else(Region::from_static(DEFAULT_REGION));
    aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .retry_config(RetryConfig::standard().with_max_attempts(options.max_attempts))
        .timeout_config(TimeoutConfig::builder().operation_timeout(options.call_timeout).build())
        .load()
        .await
}

/// The caller's account id and ARN.
async fn caller_identity(config: &SdkConfig) -> Result<(String, String), CollectError> {
    const CALL: &str = "sts:GetCallerIdentity";
    let identity = aws_sdk_sts::Client::new(config).get_caller_identity().send().await.map_err(aws_error(CALL))?;
    Ok((text(identity.account(), CALL, "Account")?, text(identity.arn(), CALL, "Arn")?))
}

async fn describe_organization(config: &SdkConfig) -> Result<OrganizationFile, CollectError> {
    const DESCRIBE: &str = "organizations:DescribeOrganization";
    const LIST: &str = "organizations:ListAccounts";
    let client = aws_sdk_organizations::Client::new(config);
    let described = client.describe_organization().send().await.map_err(aws_error(DESCRIBE))?;
    let organization = required(described.organization(), DESCRIBE, "Organization")?;
    let mut accounts = Vec::new();
    let mut pages = client.list_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        for account in page.map_err(aws_error(LIST))?.accounts() {
            accounts.push(wire::AccountDetail {
                id: text(account.id(), LIST, "Id")?,
                name: text(account.name(), LIST, "Name")?,
                email: text(account.email(), LIST, "Email")?,
                status: required(account.status(), LIST, "Status")?.as_str().to_owned(),
            });
        }
    }
    Ok(OrganizationFile {
        organization: wire::OrganizationDetail {
            id: text(organization.id(), DESCRIBE, "Id")?,
            master_account_id: text(organization.master_account_id(), DESCRIBE, "MasterAccountId")?,
        },
        accounts,
    })
}

async fn fetch_account(
    config: &SdkConfig,
    sts: &aws_sdk_sts::Client,
    target: &Target,
    external_id: Option<&str>,
    report_timeout: Duration,
) -> Result<AccountDocuments, CollectError> {
    let iam = match &target.role_arn {
        Some(role_arn) => assume_role(config, sts, role_arn, external_id).await?,
        None => aws_sdk_iam::Client::new(config),
    };
    // Independent calls: run together, fail together.
    let (report, details, password_policy, alias, oidc, saml) = tokio::try_join!(
        credential_report(&iam, report_timeout),
        authorization_details(&iam),
        password_policy(&iam),
        account_alias(&iam),
        oidc_providers(&iam),
        saml_providers(&iam),
    )?;
    Ok(AccountDocuments {
        authorization_details: details,
        credential_report: report,
        password_policy,
        alias,
        oidc_providers: oidc,
        saml_providers: saml,
    })
}

/// An IAM client acting as the audit role. The session lasts an hour, far
/// longer than one account's collection.
async fn assume_role(
    config: &SdkConfig,
    sts: &aws_sdk_sts::Client,
    role_arn: &str,
    external_id: Option<&str>,
) -> Result<aws_sdk_iam::Client, CollectError> {
    let failed = |message| CollectError::AssumeRole { role_arn: role_arn.to_owned(), message };
    let assumed = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(SESSION_NAME)
        .set_external_id(external_id.map(str::to_owned))
        .send()
        .await
        .map_err(|error| failed(describe(&error)))?;
    let credentials = assumed.credentials().ok_or_else(|| failed("the response holds no credentials".into()))?;
    let credentials = aws_sdk_iam::config::Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        Some(credentials.session_token().to_owned()),
        SystemTime::try_from(*credentials.expiration()).ok(),
        "trustwarden-audit-role",
    );
    let iam_config = aws_sdk_iam::config::Builder::from(config).credentials_provider(credentials).build();
    Ok(aws_sdk_iam::Client::from_conf(iam_config))
}

/// Asks IAM to (re)generate the report and polls until it is complete, with
/// a doubling delay: a report takes from a moment to minutes to build.
async fn credential_report(iam: &aws_sdk_iam::Client, timeout: Duration) -> Result<Vec<u8>, CollectError> {
    const MAX_DELAY: Duration = Duration::from_secs(10);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut delay = Duration::from_millis(200);
    loop {
        let generated =
            iam.generate_credential_report().send().await.map_err(aws_error("iam:GenerateCredentialReport"))?;
        if generated.state() == Some(&ReportStateType::Complete) {
            break;
        }
        if tokio::time::Instant::now() + delay > deadline {
            return Err(CollectError::CredentialReportTimeout(timeout));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_DELAY);
    }
    const GET: &str = "iam:GetCredentialReport";
    let report = iam.get_credential_report().send().await.map_err(aws_error(GET))?;
    Ok(required(report.content(), GET, "Content")?.as_ref().to_vec())
}

async fn authorization_details(iam: &aws_sdk_iam::Client) -> Result<wire::AuthorizationDetails, CollectError> {
    let mut details = wire::AuthorizationDetails::default();
    // 1,000 is the largest page IAM serves: the fewest calls for big accounts.
    let mut pages = iam.get_account_authorization_details().max_items(1000).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws_error(DETAILS))?;
        for user in page.user_detail_list() {
            details.user_detail_list.push(user_detail(user)?);
        }
        for group in page.group_detail_list() {
            details.group_detail_list.push(group_detail(group)?);
        }
        for role in page.role_detail_list() {
            details.role_detail_list.push(role_detail(role)?);
        }
        for policy in page.policies() {
            details.policies.push(managed_policy_detail(policy)?);
        }
    }
    Ok(details)
}

async fn password_policy(iam: &aws_sdk_iam::Client) -> Result<Option<PasswordPolicy>, CollectError> {
    let policy = match iam.get_account_password_policy().send().await {
        Ok(output) => output.password_policy().cloned(),
        // An account that never set a password policy has none: AWS's defaults apply.
        Err(error) if error.as_service_error().is_some_and(|error| error.is_no_such_entity_exception()) => None,
        Err(error) => return Err(aws_error("iam:GetAccountPasswordPolicy")(error)),
    };
    let count = |value: Option<i32>| value.and_then(|value| u32::try_from(value).ok());
    Ok(policy.map(|policy| PasswordPolicy {
        minimum_password_length: count(policy.minimum_password_length()),
        require_symbols: policy.require_symbols(),
        require_numbers: policy.require_numbers(),
        require_uppercase_characters: policy.require_uppercase_characters(),
        require_lowercase_characters: policy.require_lowercase_characters(),
        allow_users_to_change_password: policy.allow_users_to_change_password(),
        expire_passwords: policy.expire_passwords(),
        max_password_age: count(policy.max_password_age()),
        password_reuse_prevention: count(policy.password_reuse_prevention()),
        hard_expiry: policy.hard_expiry(),
    }))
}

/// An account has at most one alias.
async fn account_alias(iam: &aws_sdk_iam::Client) -> Result<Option<String>, CollectError> {
    let aliases = iam.list_account_aliases().send().await.map_err(aws_error("iam:ListAccountAliases"))?;
    Ok(aliases.account_aliases().first().cloned())
}

async fn oidc_providers(iam: &aws_sdk_iam::Client) -> Result<Vec<wire::OidcProviderDetail>, CollectError> {
    const GET: &str = "iam:GetOpenIDConnectProvider";
    let listed =
        iam.list_open_id_connect_providers().send().await.map_err(aws_error("iam:ListOpenIDConnectProviders"))?;
    let mut providers = Vec::new();
    for entry in listed.open_id_connect_provider_list() {
        let arn = text(entry.arn(), "iam:ListOpenIDConnectProviders", "Arn")?;
        let provider = iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await
            .map_err(aws_error(GET))?;
        providers.push(wire::OidcProviderDetail {
            url: text(provider.url(), GET, "Url")?,
            client_id_list: provider.client_id_list().to_vec(),
            thumbprint_list: provider.thumbprint_list().to_vec(),
            create_date: provider.create_date().map(|time| timestamp(time, GET)).transpose()?,
            tags: tags(provider.tags()),
            arn,
        });
    }
    Ok(providers)
}

async fn saml_providers(iam: &aws_sdk_iam::Client) -> Result<Vec<wire::SamlProviderDetail>, CollectError> {
    const GET: &str = "iam:GetSAMLProvider";
    let listed = iam.list_saml_providers().send().await.map_err(aws_error("iam:ListSAMLProviders"))?;
    let mut providers = Vec::new();
    for entry in listed.saml_provider_list() {
        let arn = text(entry.arn(), "iam:ListSAMLProviders", "Arn")?;
        let provider = iam.get_saml_provider().saml_provider_arn(&arn).send().await.map_err(aws_error(GET))?;
        providers.push(wire::SamlProviderDetail {
            saml_metadata_document: text(provider.saml_metadata_document(), GET, "SAMLMetadataDocument")?,
            create_date: provider.create_date().map(|time| timestamp(time, GET)).transpose()?,
            valid_until: provider.valid_until().map(|time| timestamp(time, GET)).transpose()?,
            tags: tags(provider.tags()),
            arn,
        });
    }
    Ok(providers)
}

const DETAILS: &str = "iam:GetAccountAuthorizationDetails";

fn user_detail(user: &iam::UserDetail) -> Result<wire::UserDetail, CollectError> {
    Ok(wire::UserDetail {
        path: text(user.path(), DETAILS, "Path")?,
        user_name: text(user.user_name(), DETAILS, "UserName")?,
        user_id: text(user.user_id(), DETAILS, "UserId")?,
        arn: text(user.arn(), DETAILS, "Arn")?,
        create_date: timestamp(required(user.create_date(), DETAILS, "CreateDate")?, DETAILS)?,
        user_policy_list: inline_policies(user.user_policy_list())?,
        group_list: user.group_list().to_vec(),
        attached_managed_policies: attached_policies(user.attached_managed_policies())?,
        permissions_boundary: user.permissions_boundary().map(permissions_boundary).transpose()?,
        tags: tags(user.tags()),
    })
}

fn group_detail(group: &iam::GroupDetail) -> Result<wire::GroupDetail, CollectError> {
    Ok(wire::GroupDetail {
        path: text(group.path(), DETAILS, "Path")?,
        group_name: text(group.group_name(), DETAILS, "GroupName")?,
        group_id: text(group.group_id(), DETAILS, "GroupId")?,
        arn: text(group.arn(), DETAILS, "Arn")?,
        create_date: timestamp(required(group.create_date(), DETAILS, "CreateDate")?, DETAILS)?,
        group_policy_list: inline_policies(group.group_policy_list())?,
        attached_managed_policies: attached_policies(group.attached_managed_policies())?,
    })
}

fn role_detail(role: &iam::RoleDetail) -> Result<wire::RoleDetail, CollectError> {
    let last_used = role.role_last_used();
    Ok(wire::RoleDetail {
        path: text(role.path(), DETAILS, "Path")?,
        role_name: text(role.role_name(), DETAILS, "RoleName")?,
        role_id: text(role.role_id(), DETAILS, "RoleId")?,
        arn: text(role.arn(), DETAILS, "Arn")?,
        create_date: timestamp(required(role.create_date(), DETAILS, "CreateDate")?, DETAILS)?,
        assume_role_policy_document: document(required(
            role.assume_role_policy_document(),
            DETAILS,
            "AssumeRolePolicyDocument",
        )?),
        role_policy_list: inline_policies(role.role_policy_list())?,
        attached_managed_policies: attached_policies(role.attached_managed_policies())?,
        permissions_boundary: role.permissions_boundary().map(permissions_boundary).transpose()?,
        tags: tags(role.tags()),
        role_last_used: wire::RoleLastUsed {
            last_used_date: last_used
                .and_then(iam::RoleLastUsed::last_used_date)
                .map(|time| timestamp(time, DETAILS))
                .transpose()?,
            region: last_used.and_then(iam::RoleLastUsed::region).map(str::to_owned),
        },
    })
}

fn managed_policy_detail(policy: &iam::ManagedPolicyDetail) -> Result<wire::ManagedPolicyDetail, CollectError> {
    let versions = policy
        .policy_version_list()
        .iter()
        .map(|version| {
            Ok(wire::PolicyVersion {
                document: document(required(version.document(), DETAILS, "Document")?),
                version_id: text(version.version_id(), DETAILS, "VersionId")?,
                is_default_version: version.is_default_version(),
                create_date: version.create_date().map(|time| timestamp(time, DETAILS)).transpose()?,
            })
        })
        .collect::<Result<_, CollectError>>()?;
    let arn = text(policy.arn(), DETAILS, "Arn")?;
    Ok(wire::ManagedPolicyDetail {
        // A policy's name is the last segment of its ARN, which serves when a
        // response lacks PolicyName (moto's does).
        policy_name: match policy.policy_name() {
            Some(name) => name.to_owned(),
            None => arn.rsplit('/').next().unwrap_or_default().to_owned(),
        },
        policy_id: policy.policy_id().map(str::to_owned),
        arn,
        path: text(policy.path(), DETAILS, "Path")?,
        default_version_id: text(policy.default_version_id(), DETAILS, "DefaultVersionId")?,
        attachment_count: policy.attachment_count().and_then(|count| u32::try_from(count).ok()).unwrap_or_default(),
        create_date: timestamp(required(policy.create_date(), DETAILS, "CreateDate")?, DETAILS)?,
        update_date: timestamp(required(policy.update_date(), DETAILS, "UpdateDate")?, DETAILS)?,
        policy_version_list: versions,
    })
}

fn inline_policies(list: &[iam::PolicyDetail]) -> Result<Vec<wire::PolicyDetail>, CollectError> {
    list.iter()
        .map(|policy| {
            Ok(wire::PolicyDetail {
                policy_name: text(policy.policy_name(), DETAILS, "PolicyName")?,
                policy_document: document(required(policy.policy_document(), DETAILS, "PolicyDocument")?),
            })
        })
        .collect()
}

fn attached_policies(list: &[iam::AttachedPolicy]) -> Result<Vec<wire::AttachedPolicy>, CollectError> {
    list.iter()
        .map(|attached| {
            Ok(wire::AttachedPolicy {
                policy_name: text(attached.policy_name(), DETAILS, "PolicyName")?,
                policy_arn: text(attached.policy_arn(), DETAILS, "PolicyArn")?,
            })
        })
        .collect()
}

fn permissions_boundary(
    boundary: &iam::AttachedPermissionsBoundary,
) -> Result<wire::PermissionsBoundary, CollectError> {
    Ok(wire::PermissionsBoundary {
        permissions_boundary_type: required(boundary.permissions_boundary_type(), DETAILS, "PermissionsBoundaryType")?
            .as_str()
            .to_owned(),
        permissions_boundary_arn: text(boundary.permissions_boundary_arn(), DETAILS, "PermissionsBoundaryArn")?,
    })
}

fn tags(tags: &[iam::Tag]) -> Vec<wire::Tag> {
    tags.iter().map(|tag| wire::Tag { key: tag.key().to_owned(), value: tag.value().to_owned() }).collect()
}

/// The IAM API returns documents URL-encoded; the AWS CLI decodes them into
/// JSON objects, and so does this, so that a snapshot reads like the CLI's
/// output. Text that does not decode to JSON is kept as it came, for the
/// policy parser to report.
fn document(encoded: &str) -> Value {
    percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .ok()
        .and_then(|decoded| serde_json::from_str(&decoded).ok())
        .unwrap_or_else(|| Value::String(encoded.to_owned()))
}

/// AWS always sends these members, but the SDK models every member as optional.
fn required<'a, T: ?Sized>(value: Option<&'a T>, call: &'static str, field: &str) -> Result<&'a T, CollectError> {
    value.ok_or_else(|| CollectError::MalformedResponse { call, message: format!("no {field}") })
}

fn text(value: Option<&str>, call: &'static str, field: &str) -> Result<String, CollectError> {
    required(value, call, field).map(str::to_owned)
}

fn timestamp(time: &AwsDateTime, call: &'static str) -> Result<DateTime<Utc>, CollectError> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
        .ok_or_else(|| CollectError::MalformedResponse { call, message: format!("time out of range: {time}") })
}

fn aws_error<E>(call: &'static str) -> impl FnOnce(SdkError<E, HttpResponse>) -> CollectError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    move |error| CollectError::Aws { call, message: describe(&error) }
}

/// `AccessDenied: User ... is not authorized ...` for AWS's refusals; the
/// whole cause chain for failures to reach AWS at all.
fn describe<E>(error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match (error, error.code(), error.message()) {
        (SdkError::TimeoutError(_), ..) => "timed out".into(),
        (_, Some(code), Some(message)) => format!("{code}: {message}"),
        (_, Some(code), None) => code.to_owned(),
        (SdkError::ServiceError(service), None, _) => unmodeled(service.raw()),
        _ => DisplayErrorContext(error).to_string(),
    }
}

/// An error response the SDK could not parse: moto, for one, wraps query
/// protocol errors in an extra `<Errors>` element. Its `Code` and `Message`
/// are still in the body.
fn unmodeled(response: &HttpResponse) -> String {
    let body = response.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
    let element = |name: &str| {
        let (_, rest) = body.split_once(&format!("<{name}>"))?;
        rest.split_once(&format!("</{name}>")).map(|(text, _)| text.to_owned())
    };
    match (element("Code"), element("Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ => format!("HTTP {}", response.status().as_u16()),
    }
}

/// A bar on a terminal; log lines otherwise (a daemon's journal, CI).
enum Progress {
    Bar(ProgressBar),
    Log { total: usize, done: usize },
}

impl Progress {
    fn new(total: usize) -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress::Log { total, done: 0 };
        }
        let bar = ProgressBar::new(total as u64);
        if let Ok(style) = ProgressStyle::with_template("collecting accounts {bar:40} {pos}/{len} {elapsed}") {
            bar.set_style(style);
        }
        Progress::Bar(bar)
    }

    fn account_done(&mut self, account_id: &str, result: &Result<(), CollectError>) {
        match self {
            Progress::Bar(bar) => {
                if let Err(error) = result {
                    bar.suspend(|| tracing::warn!(account = account_id, %error, "account not collected"));
                }
                bar.inc(1);
            }
            Progress::Log { total, done } => {
                *done += 1;
                match result {
                    Ok(()) => tracing::info!(account = account_id, "collected account {done}/{total}"),
                    Err(error) => {
                        tracing::warn!(account = account_id, %error, "account not collected ({done}/{total})");
                    }
                }
            }
        }
    }

    fn finish(self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
