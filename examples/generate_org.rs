//! A deterministic synthetic AWS organization for benchmarks: writes a
//! snapshot directory in the layout of design.md (organization.json,
//! snapshot.json, and per account authorization-details.json,
//! credential-report.csv, password-policy.json, alias.txt and the identity
//! provider files) with N accounts, R roles and U users per account.
//!
//! ```sh
//! cargo run --release --example generate_org -- --out DIR --accounts N --roles R --users U [--seed S]
//! ```
//!
//! What it holds, so that every code path of an audit runs at scale:
//! - trust policies of every shape the trust analysis reads: services with and
//!   without aws:SourceAccount (some acting for every customer), the same
//!   account (root, with MFA, a role, a user), named roles and account roots
//!   of other accounts in the organization, `*` with aws:PrincipalOrgID,
//!   outside accounts with and without sts:ExternalId, outside role ARNs,
//!   GitHub OIDC with and without `sub`, EKS OIDC, SAML (an outside IdP and
//!   IAM Identity Center), Cognito with and without `aud`, a provider the
//!   account does not have, and (rarely) `*` with no condition;
//! - permission policies with wildcards, NotAction and conditions, real AWS
//!   managed policies (from shared/real-world) attached by ARN and listed in
//!   `Policies` as the API does, customer managed policies with several
//!   versions, permissions boundaries;
//! - role chains across accounts (outside → role → role → privileged role),
//!   brokers (sts:AssumeRole on `*`), automation roles that assume named roles
//!   of other accounts;
//! - credential reports (22 columns, root row first) with every hygiene case:
//!   stale, unused and never-used keys, two active keys, console users without
//!   MFA, unused and never-used passwords, root access keys, root without MFA,
//!   root used recently.
//!
//! The output depends only on the arguments (and the managed policy corpus):
//! every account, role and user draws from its own PRNG stream, seeded from
//! `--seed` and its position, so a role in one account can name a role of
//! another without generating it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use clap::Parser;
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde_json::{Value, json};
use trustwarden::collect::CREDENTIAL_REPORT_COLUMNS;

/// What to generate. The benches include this file as a module
/// (`#[path = "../examples/generate_org.rs"]`) and call [`generate`].
#[derive(Parser, Debug, Clone)]
#[command(about = "Write a deterministic synthetic AWS organization as a trustwarden snapshot directory")]
pub struct Options {
    /// The snapshot directory to write (new or empty).
    #[arg(long)]
    pub out: PathBuf,
    /// Accounts in the organization (the first is the management account).
    #[arg(long, default_value_t = 4)]
    pub accounts: usize,
    /// Roles per account.
    #[arg(long, default_value_t = 50)]
    pub roles: usize,
    /// IAM users per account.
    #[arg(long, default_value_t = 10)]
    pub users: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Per mille of the drawn roles whose trust policy names roles of other
    /// accounts of the organization (raise it for a dense cross-account graph).
    #[arg(long, default_value_t = 120)]
    pub in_org_trust: u32,
    /// How many role ARNs such a trust policy names.
    #[arg(long, default_value_t = 2)]
    pub fanout: usize,
    /// Keep every kind of role at the same share whatever the account's size.
    /// By default the roles people use (trusting the account root, brokers,
    /// SAML) grow with the square root of the account's size, as in real
    /// accounts, where the bulk of a large account is service roles made by
    /// infrastructure as code. With this flag the trust graph's inside edges
    /// (brokers × roles trusting their account) grow with the square of it.
    #[arg(long)]
    pub flat_density: bool,
    /// Per mille of policy documents written as URL-encoded JSON strings (as
    /// the raw IAM API returns them) instead of JSON objects (as the AWS CLI
    /// prints them). 0 gives files other tools (Cloudsplaining) read.
    #[arg(long, default_value_t = 100)]
    pub url_encoded: u32,
    /// Write no organization.json: a standalone account (or accounts).
    #[arg(long)]
    pub no_organization: bool,
    /// The AWS managed policy corpus (default: ../shared/real-world/aws-managed-policies.json.gz
    /// beside the crate).
    #[arg(long)]
    pub managed_policies: Option<PathBuf>,
}

impl Options {
    /// The defaults of the command line, writing to `out`.
    pub fn new(out: impl Into<PathBuf>) -> Options {
        let mut options = Options::parse_from(["generate_org", "--out", "."]);
        options.out = out.into();
        options
    }
}

// ---------------------------------------------------------------------------
// A small deterministic PRNG (SplitMix64): no crate, same output everywhere.

#[derive(Clone)]
struct Rng(u64);

const STREAM_ORG: u64 = 1;
const STREAM_ACCOUNT: u64 = 2;
const STREAM_ROLE_HEAD: u64 = 3;
const STREAM_ROLE_BODY: u64 = 4;
const STREAM_USER: u64 = 5;

impl Rng {
    /// The stream for one thing: the seed mixed with the thing's coordinates.
    fn stream(seed: u64, coordinates: &[u64]) -> Rng {
        let mut rng = Rng(seed ^ 0x5851_F42D_4C95_7F2D);
        for &c in coordinates {
            rng.0 ^= c.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            rng.next();
        }
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }

    fn range(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as usize) as i64
    }

    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u32) -> bool {
        self.below(1000) < per_mille as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// An index drawn by weight.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut at = self.below(total as usize) as u32;
        for (i, &w) in weights.iter().enumerate() {
            if at < w {
                return i;
            }
            at -= w;
        }
        weights.len() - 1
    }

    /// `len` characters of `alphabet`.
    fn text(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len).map(|_| alphabet[self.below(alphabet.len())] as char).collect()
    }

    /// An IAM unique id: `prefix` + 17 characters (AROA..., AIDA..., ANPA..., AGPA...).
    fn unique_id(&mut self, prefix: &str) -> String {
        format!("{prefix}{}", self.text(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 17))
    }
}

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";
const UPPER_HEX: &[u8] = b"0123456789ABCDEF";

// ---------------------------------------------------------------------------
// The organization: what every account needs to know about the others.

struct Org {
    seed: u64,
    id: String,
    /// Account ids, by position; position 0 is the management account.
    accounts: Vec<String>,
    names: Vec<String>,
    roles: usize,
    users: usize,
    in_org_trust: u32,
    fanout: usize,
    url_encoded: u32,
    /// DRAWN_WEIGHTS, with the people-facing kinds scaled to the account size.
    weights: [u32; DRAWN_KINDS.len()],
    /// Outside AWS accounts: vendors, partners, a former acquisition.
    vendors: Vec<String>,
    collected_at: DateTime<Utc>,
    managed: ManagedCorpus,
}

const MANAGEMENT: usize = 0;
/// Roles 0..6 of every account are the platform's (SSO, audit, deploy, ...).
const PLATFORM_ROLES: usize = 6;

impl Org {
    fn new(args: &Options, managed: ManagedCorpus) -> Org {
        let mut rng = Rng::stream(args.seed, &[STREAM_ORG]);
        let id = format!("o-{}", rng.text(b"abcdefghijklmnopqrstuvwxyz0123456789", 10));
        let mut taken = std::collections::BTreeSet::new();
        let mut draw_account = |rng: &mut Rng| loop {
            let id = format!("{:012}", 100_000_000_000 + rng.below(899_999_999_999));
            if taken.insert(id.clone()) {
                return id;
            }
        };
        let accounts: Vec<String> = (0..args.accounts).map(|_| draw_account(&mut rng)).collect();
        let vendors: Vec<String> = (0..25).map(|_| draw_account(&mut rng)).collect();
        let teams = ["payments", "orders", "search", "identity", "data", "ml", "web", "mobile", "ledger", "growth"];
        let envs = ["prod", "staging", "dev", "sandbox"];
        let names = (0..args.accounts)
            .map(|i| match i {
                0 => "management".to_string(),
                1 => "security".to_string(),
                2 => "shared-services".to_string(),
                _ => format!("{}-{}-{i:04}", rng.pick(&teams), rng.pick(&envs)),
            })
            .collect();
        // Roles people use: √(500 / R) of their share in accounts above 500 roles.
        let people_scale = if args.flat_density { 1.0 } else { (500.0 / args.roles.max(1) as f64).sqrt().min(1.0) };
        let mut weights = DRAWN_WEIGHTS;
        for (weight, kind) in weights.iter_mut().zip(DRAWN_KINDS) {
            if kind.is_for_people() {
                *weight = ((f64::from(*weight) * people_scale).round() as u32).max(1);
            }
        }
        Org {
            seed: args.seed,
            weights,
            id,
            accounts,
            names,
            roles: args.roles,
            users: args.users,
            in_org_trust: args.in_org_trust,
            fanout: args.fanout,
            url_encoded: args.url_encoded,
            vendors,
            collected_at: Utc.with_ymd_and_hms(2026, 11, 20, 6, 0, 0).single().expect("valid date"),
            managed,
        }
    }

    fn security(&self) -> usize {
        1.min(self.accounts.len() - 1)
    }

    /// The shared-services account whose `pipeline` role deploys everywhere
    /// (organizations of three accounts or more).
    fn tooling(&self) -> Option<usize> {
        (self.accounts.len() >= 3).then_some(2)
    }

    fn date(&self, days_ago: i64) -> String {
        aws_date(self.collected_at - Duration::days(days_ago) - Duration::seconds(days_ago * 7919 % 86_400))
    }

    fn role_arn(&self, account: usize, role: usize) -> String {
        let (kind, name) = self.role_head(account, role);
        format!("arn:aws:iam::{}:role{}{name}", self.accounts[account], kind.path())
    }

    /// A role's kind and name: a pure function of its position, so trust
    /// policies elsewhere can name it.
    fn role_head(&self, account: usize, role: usize) -> (RoleKind, String) {
        let mut rng = Rng::stream(self.seed, &[STREAM_ROLE_HEAD, account as u64, role as u64]);
        let platform = match role {
            0 if account == MANAGEMENT => Some((RoleKind::BreakGlass, "breakglass-admin".to_string())),
            0 => Some((RoleKind::OrgAccess, "OrganizationAccountAccessRole".to_string())),
            1 => Some((RoleKind::SsoAdmin, format!("AWSReservedSSO_AdministratorAccess_{}", rng.text(HEX, 16)))),
            2 => Some((RoleKind::SsoReadOnly, format!("AWSReservedSSO_ReadOnlyAccess_{}", rng.text(HEX, 16)))),
            3 => Some((RoleKind::Audit, "TrustwardenAudit".to_string())),
            4 if Some(account) == self.tooling() => Some((RoleKind::Pipeline, "pipeline".to_string())),
            4 => Some((RoleKind::Deploy, "deploy".to_string())),
            5 => Some((RoleKind::GithubDeploy, "github-actions-deploy".to_string())),
            _ => None,
        };
        if let Some(head) = platform {
            return head;
        }
        // The last account has one role of every kind, rare ones included, so
        // any snapshot shows every case; elsewhere kinds are drawn by weight.
        let showcase = role - PLATFORM_ROLES;
        let kind = if account == self.accounts.len() - 1 && showcase < DRAWN_KINDS.len() {
            DRAWN_KINDS[showcase]
        } else if rng.chance(self.in_org_trust) {
            RoleKind::InOrgRoles
        } else {
            DRAWN_KINDS[rng.weighted(&self.weights)]
        };
        let word = rng.pick(&WORDS);
        (kind, format!("{}-{word}-{role:05}", kind.prefix(&mut rng)))
    }

    fn is_assumer(&self, account: usize, role: usize) -> bool {
        matches!(self.role_head(account, role).0, RoleKind::Automation | RoleKind::OutsideAssumer | RoleKind::Broker)
    }
}

fn aws_date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

const WORDS: [&str; 24] = [
    "orders", "billing", "search", "ingest", "reports", "etl", "api", "web", "worker", "sync", "export", "audit",
    "metrics", "events", "ledger", "catalog", "images", "mailer", "notify", "backup", "scanner", "feeds", "profile",
    "checkout",
];

/// What a role is for; decides its trust and permission policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RoleKind {
    // Platform roles, at fixed positions in every account.
    BreakGlass,
    OrgAccess,
    SsoAdmin,
    SsoReadOnly,
    Audit,
    Pipeline,
    Deploy,
    GithubDeploy,
    // Drawn roles.
    Service { pinned: bool },
    ServiceDeputy { pinned: bool },
    SameAccountRoot { mfa: bool },
    SameAccountPrincipal,
    InOrgRoles,
    InOrgRoot,
    OrgWildcard,
    VendorExternalId,
    VendorOpen,
    VendorRole,
    Public,
    GithubWithSub,
    GithubWithoutSub,
    Eks,
    Okta,
    Cognito { aud: bool },
    MissingProvider,
    Automation,
    OutsideAssumer,
    Broker,
}

const DRAWN_KINDS: [RoleKind; 23] = [
    RoleKind::Service { pinned: false },
    RoleKind::Service { pinned: true },
    RoleKind::ServiceDeputy { pinned: true },
    RoleKind::ServiceDeputy { pinned: false },
    RoleKind::SameAccountRoot { mfa: false },
    RoleKind::SameAccountRoot { mfa: true },
    RoleKind::SameAccountPrincipal,
    RoleKind::InOrgRoot,
    RoleKind::OrgWildcard,
    RoleKind::VendorExternalId,
    RoleKind::VendorOpen,
    RoleKind::VendorRole,
    RoleKind::Public,
    RoleKind::GithubWithSub,
    RoleKind::GithubWithoutSub,
    RoleKind::Eks,
    RoleKind::Okta,
    RoleKind::Cognito { aud: true },
    RoleKind::Cognito { aud: false },
    RoleKind::MissingProvider,
    RoleKind::Automation,
    RoleKind::OutsideAssumer,
    RoleKind::Broker,
];

/// Weights (per 10,000) of DRAWN_KINDS: mostly service roles; `*` without a
/// condition is rare, as in real accounts.
const DRAWN_WEIGHTS: [u32; 23] =
    [3300, 600, 500, 200, 450, 450, 700, 400, 10, 350, 80, 60, 2, 400, 40, 400, 350, 60, 10, 15, 1400, 50, 173];

impl RoleKind {
    /// Roles that people (rather than services or pipelines) assume.
    fn is_for_people(self) -> bool {
        matches!(
            self,
            RoleKind::SameAccountRoot { .. }
                | RoleKind::SameAccountPrincipal
                | RoleKind::InOrgRoot
                | RoleKind::Okta
                | RoleKind::Broker
        )
    }

    fn path(self) -> &'static str {
        match self {
            RoleKind::SsoAdmin | RoleKind::SsoReadOnly => "/aws-reserved/sso.amazonaws.com/",
            RoleKind::Service { .. } | RoleKind::ServiceDeputy { .. } => "/service-role/",
            _ => "/",
        }
    }

    fn prefix(self, rng: &mut Rng) -> &'static str {
        match self {
            RoleKind::Service { .. } => ["lambda", "ec2", "ecs-task", "glue", "batch", "sagemaker"][rng.below(6)],
            RoleKind::ServiceDeputy { .. } => ["sns-delivery", "events-target", "scheduler", "backup"][rng.below(4)],
            RoleKind::SameAccountRoot { .. } => "ops",
            RoleKind::SameAccountPrincipal => "app",
            RoleKind::InOrgRoles => "xacct",
            RoleKind::InOrgRoot => "shared",
            RoleKind::OrgWildcard => "org-shared",
            RoleKind::VendorExternalId | RoleKind::VendorOpen | RoleKind::VendorRole => "vendor",
            RoleKind::Public => "public-demo",
            RoleKind::GithubWithSub | RoleKind::GithubWithoutSub => "gha",
            RoleKind::Eks => "irsa",
            RoleKind::Okta => "okta",
            RoleKind::Cognito { .. } => "cognito",
            RoleKind::MissingProvider => "circleci",
            RoleKind::Automation => "automation",
            RoleKind::OutsideAssumer => "vendor-bridge",
            RoleKind::Broker => "broker",
            _ => "platform",
        }
    }
}

// ---------------------------------------------------------------------------
// AWS managed policies: real documents, attached by ARN.

struct ManagedDoc {
    arn: String,
    version: String,
    create: String,
    update: String,
    document: Value,
}

struct ManagedCorpus {
    by_name: BTreeMap<String, ManagedDoc>,
}

/// The AWS managed policies the generator attaches.
const MANAGED_USED: [&str; 22] = [
    "AdministratorAccess",
    "PowerUserAccess",
    "ReadOnlyAccess",
    "ViewOnlyAccess",
    "SecurityAudit",
    "AmazonS3ReadOnlyAccess",
    "AmazonS3FullAccess",
    "AWSLambdaBasicExecutionRole",
    "AWSLambdaVPCAccessExecutionRole",
    "AWSXRayDaemonWriteAccess",
    "AmazonSSMManagedInstanceCore",
    "CloudWatchAgentServerPolicy",
    "AmazonECSTaskExecutionRolePolicy",
    "AWSGlueServiceRole",
    "AmazonDynamoDBFullAccess",
    "AmazonSQSFullAccess",
    "AmazonSNSFullAccess",
    "AmazonEC2ContainerRegistryReadOnly",
    "Billing",
    "IAMUserChangePassword",
    "SecretsManagerReadWrite",
    "AWSSupportAccess",
];

impl ManagedCorpus {
    fn load(path: &Path) -> std::io::Result<ManagedCorpus> {
        let mut text = String::new();
        let read = File::open(path).and_then(|f| flate2::read::GzDecoder::new(f).read_to_string(&mut text));
        let all: serde_json::Map<String, Value> = match read.map(|_| serde_json::from_str(&text)) {
            Ok(Ok(all)) => all,
            Ok(Err(e)) => return Err(std::io::Error::other(format!("{}: {e}", path.display()))),
            Err(e) => {
                eprintln!("generate_org: warning: {}: {e}; using small built-in stand-ins", path.display());
                serde_json::Map::new()
            }
        };
        let mut by_name = BTreeMap::new();
        for name in MANAGED_USED {
            let doc = match all.get(name) {
                Some(entry) => ManagedDoc {
                    arn: entry["Arn"].as_str().unwrap_or_default().to_string(),
                    version: entry["VersionId"].as_str().unwrap_or("v1").to_string(),
                    create: api_date(entry["CreateDate"].as_str().unwrap_or("2015-02-06T18:39:46.000Z")),
                    update: api_date(entry["UpdateDate"].as_str().unwrap_or("2015-02-06T18:39:46.000Z")),
                    document: entry["Document"].clone(),
                },
                None => ManagedDoc {
                    arn: format!("arn:aws:iam::aws:policy/{name}"),
                    version: "v1".into(),
                    create: "2015-02-06T18:39:46+00:00".into(),
                    update: "2015-02-06T18:39:46+00:00".into(),
                    document: json!({"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": if name == "AdministratorAccess" { "*" } else { "s3:Get*" }, "Resource": "*"}
                    ]}),
                },
            };
            by_name.insert(name.to_string(), doc);
        }
        Ok(ManagedCorpus { by_name })
    }

    fn get(&self, name: &str) -> &ManagedDoc {
        &self.by_name[name]
    }
}

/// `2015-02-06T18:39:46.000Z` as the CLI prints it.
fn api_date(text: &str) -> String {
    DateTime::parse_from_rfc3339(text).map_or_else(|_| text.to_string(), |d| aws_date(d.with_timezone(&Utc)))
}

// ---------------------------------------------------------------------------
// One account.

/// Which managed policies something in the account attaches, and how often:
/// the API lists AWS managed policies only when attached.
#[derive(Default)]
struct Attachments {
    count: BTreeMap<String, u32>,
    boundary: BTreeMap<String, u32>,
}

struct Account<'a> {
    org: &'a Org,
    index: usize,
    id: &'a str,
    github: String,
    eks: String,
    eks_host: String,
    okta: String,
    sso: String,
    cognito_pool: String,
    attachments: RefCell<Attachments>,
}

/// A customer managed policy of an account.
struct CustomerPolicy {
    name: &'static str,
    document: Value,
    versions: usize,
}

impl<'a> Account<'a> {
    fn new(org: &'a Org, index: usize) -> Account<'a> {
        let id = org.accounts[index].as_str();
        let mut rng = Rng::stream(org.seed, &[STREAM_ACCOUNT, index as u64]);
        let cluster = rng.text(UPPER_HEX, 32);
        let eks_host = format!("oidc.eks.us-east-1.amazonaws.com/id/{cluster}");
        let pool = format!(
            "us-east-1:{}-{}-{}-{}-{}",
            rng.text(HEX, 8),
            rng.text(HEX, 4),
            rng.text(HEX, 4),
            rng.text(HEX, 4),
            rng.text(HEX, 12)
        );
        Account {
            org,
            index,
            id,
            github: format!("arn:aws:iam::{id}:oidc-provider/token.actions.githubusercontent.com"),
            eks: format!("arn:aws:iam::{id}:oidc-provider/{eks_host}"),
            eks_host,
            okta: format!("arn:aws:iam::{id}:saml-provider/okta"),
            sso: format!("arn:aws:iam::{id}:saml-provider/AWSSSO_{}_DO_NOT_DELETE", rng.text(HEX, 16)),
            cognito_pool: pool,
            attachments: RefCell::default(),
        }
    }

    fn root(&self) -> String {
        format!("arn:aws:iam::{}:root", self.id)
    }

    fn customer_arn(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:policy/{name}", self.id)
    }

    /// Attach an AWS managed policy by name; returns the AttachedManagedPolicies entry.
    fn aws_managed(&self, name: &str) -> Value {
        let arn = self.org.managed.get(name).arn.clone();
        *self.attachments.borrow_mut().count.entry(arn.clone()).or_default() += 1;
        json!({"PolicyName": name, "PolicyArn": arn})
    }

    fn customer_managed(&self, name: &str) -> Value {
        let arn = self.customer_arn(name);
        *self.attachments.borrow_mut().count.entry(arn.clone()).or_default() += 1;
        json!({"PolicyName": name, "PolicyArn": arn})
    }

    fn boundary(&self, name: &str) -> Value {
        let arn = self.customer_arn(name);
        *self.attachments.borrow_mut().boundary.entry(arn.clone()).or_default() += 1;
        json!({"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn})
    }

    fn customer_policies(&self) -> Vec<CustomerPolicy> {
        let id = self.id;
        vec![
            CustomerPolicy {
                name: "app-data-access",
                versions: 3,
                document: json!({"Version": "2012-10-17", "Statement": [
                    {"Sid": "Objects", "Effect": "Allow", "Action": ["s3:GetObject*", "s3:PutObject", "s3:DeleteObject"],
                     "Resource": [format!("arn:aws:s3:::app-{id}-*/*")]},
                    {"Sid": "Tables", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:BatchGet*"],
                     "Resource": [format!("arn:aws:dynamodb:*:{id}:table/app-*"), format!("arn:aws:dynamodb:*:{id}:table/app-*/index/*")]},
                    {"Sid": "Keys", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": format!("arn:aws:kms:*:{id}:key/*"),
                     "Condition": {"StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com", "dynamodb.us-east-1.amazonaws.com"]}}}
                ]}),
            },
            CustomerPolicy {
                name: "ci-deploy",
                versions: 5,
                document: json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": ["cloudformation:*", "s3:*", "lambda:*", "ecr:*", "ecs:*"], "Resource": "*"},
                    {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
                     "Condition": {"StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "cloudformation.amazonaws.com"]}}},
                    {"Effect": "Deny", "Action": ["iam:CreateUser", "iam:CreateAccessKey", "organizations:*"], "Resource": "*"}
                ]}),
            },
            CustomerPolicy {
                name: "developer-boundary",
                versions: 2,
                document: json!({"Version": "2012-10-17", "Statement": [
                    {"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"},
                    {"Sid": "NoIdentityAdmin", "Effect": "Deny", "Action": ["iam:*User*", "iam:*AccessKey*", "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary", "organizations:*", "account:*"], "Resource": "*"},
                    {"Sid": "BoundaryStays", "Effect": "Deny", "Action": ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"], "Resource": "*",
                     "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": self.customer_arn("developer-boundary")}}}
                ]}),
            },
            CustomerPolicy {
                name: "network-admin",
                versions: 1,
                document: json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": ["ec2:*Vpc*", "ec2:*Subnet*", "ec2:*Route*", "ec2:*Gateway*", "ec2:Describe*", "route53:*"], "Resource": "*",
                     "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}
                ]}),
            },
            CustomerPolicy {
                name: "logs-read",
                versions: 1,
                document: json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "NotAction": ["logs:Delete*", "logs:Put*", "logs:Create*"], "Resource": format!("arn:aws:logs:*:{id}:log-group:*")}
                ]}),
            },
            CustomerPolicy {
                name: "legacy-unused",
                versions: 1,
                document: json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sqs:*", "Resource": format!("arn:aws:sqs:*:{id}:legacy-*")}}),
            },
        ]
    }

    // -- roles ---------------------------------------------------------------

    fn role(&self, j: usize) -> Value {
        let org = self.org;
        let (kind, name) = org.role_head(self.index, j);
        let mut rng = Rng::stream(org.seed, &[STREAM_ROLE_BODY, self.index as u64, j as u64]);
        let id = self.id;
        let arn = format!("arn:aws:iam::{id}:role{}{name}", kind.path());
        let trust = self.trust_policy(kind, &name, &mut rng);
        let mut inline: Vec<(String, Value)> = Vec::new();
        let mut attached: Vec<Value> = Vec::new();
        let mut boundary = None;
        let mut tags: Vec<Value> = Vec::new();
        let mut instance_profiles: Vec<Value> = Vec::new();
        match kind {
            RoleKind::BreakGlass | RoleKind::OrgAccess | RoleKind::SsoAdmin => {
                attached.push(self.aws_managed("AdministratorAccess"))
            }
            RoleKind::SsoReadOnly => attached.push(self.aws_managed("ReadOnlyAccess")),
            RoleKind::Audit => {
                attached.push(self.aws_managed("SecurityAudit"));
                attached.push(self.aws_managed("ViewOnlyAccess"));
            }
            RoleKind::Pipeline => {
                inline.push(named("assume-deploy", assume_policy(json!("arn:aws:iam::*:role/deploy"))));
                attached.push(self.customer_managed("ci-deploy"));
            }
            RoleKind::Deploy => {
                attached.push(self.aws_managed("PowerUserAccess"));
                inline.push(named(
                    "pass-any-role",
                    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iam:PassRole", "iam:GetRole"], "Resource": "*"}]}),
                ));
            }
            RoleKind::GithubDeploy => {
                inline.push(named(
                    "assume-deploy",
                    assume_policy(json!(format!("arn:aws:iam::{id}:role/deploy"))),
                ));
                inline.push(named("artifacts", s3_policy(&format!("artifacts-{id}"), &mut rng)));
            }
            RoleKind::Service { .. } => {
                let name_prefix = name.split('-').next().unwrap_or("lambda");
                match name_prefix {
                    "lambda" => {
                        attached.push(self.aws_managed("AWSLambdaBasicExecutionRole"));
                        if rng.chance(300) {
                            attached.push(self.aws_managed("AWSLambdaVPCAccessExecutionRole"));
                        }
                        if rng.chance(200) {
                            attached.push(self.aws_managed("AWSXRayDaemonWriteAccess"));
                        }
                    }
                    "ec2" => {
                        attached.push(self.aws_managed("AmazonSSMManagedInstanceCore"));
                        attached.push(self.aws_managed("CloudWatchAgentServerPolicy"));
                        instance_profiles.push(json!({"Path": "/", "InstanceProfileName": name, "InstanceProfileId": rng.unique_id("AIPA"),
                            "Arn": format!("arn:aws:iam::{id}:instance-profile/{name}"), "CreateDate": org.date(rng.range(30, 900)), "Roles": []}));
                    }
                    "ecs" => attached.push(self.aws_managed("AmazonECSTaskExecutionRolePolicy")),
                    "glue" => attached.push(self.aws_managed("AWSGlueServiceRole")),
                    _ => attached.push(self.aws_managed("AmazonS3ReadOnlyAccess")),
                }
                inline.push(named("app", self.app_policy(&mut rng)));
                if rng.chance(300) {
                    attached.push(self.customer_managed("app-data-access"));
                }
                if rng.chance(150) {
                    boundary = Some(self.boundary("developer-boundary"));
                }
            }
            RoleKind::ServiceDeputy { .. } => {
                inline.push(named("deliver", self.app_policy(&mut rng)));
            }
            RoleKind::SameAccountRoot { .. } => {
                let policy = ["ReadOnlyAccess", "ViewOnlyAccess", "AmazonS3FullAccess", "PowerUserAccess"][rng.weighted(&[40, 30, 20, 10])];
                attached.push(self.aws_managed(policy));
                if rng.chance(200) {
                    attached.push(self.customer_managed("network-admin"));
                }
            }
            RoleKind::SameAccountPrincipal | RoleKind::Okta | RoleKind::Eks => {
                inline.push(named("app", self.app_policy(&mut rng)));
                if rng.chance(250) {
                    attached.push(self.customer_managed("logs-read"));
                }
                if kind == RoleKind::Okta && rng.chance(150) {
                    attached.push(self.aws_managed("AdministratorAccess"));
                }
            }
            RoleKind::InOrgRoles | RoleKind::InOrgRoot => {
                match rng.weighted(&[450, 250, 200, 50, 50]) {
                    0 => attached.push(self.aws_managed("AmazonS3ReadOnlyAccess")),
                    1 => attached.push(self.aws_managed("ReadOnlyAccess")),
                    2 => inline.push(named("app", self.app_policy(&mut rng))),
                    3 => attached.push(self.aws_managed("AdministratorAccess")),
                    _ => inline.push(named(
                        "iam-admin",
                        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}),
                    )),
                }
            }
            RoleKind::OrgWildcard => {
                inline.push(named("shared-read", s3_policy(&format!("org-shared-{id}"), &mut rng)));
            }
            RoleKind::VendorExternalId | RoleKind::VendorOpen | RoleKind::VendorRole => {
                attached.push(self.aws_managed("SecurityAudit"));
                if rng.chance(500) {
                    attached.push(self.aws_managed("ViewOnlyAccess"));
                } else {
                    attached.push(self.aws_managed("ReadOnlyAccess"));
                }
            }
            RoleKind::Public => inline.push(named("demo", s3_policy(&format!("public-demo-{id}"), &mut rng))),
            RoleKind::GithubWithSub | RoleKind::GithubWithoutSub | RoleKind::MissingProvider => {
                inline.push(named("deploy", s3_policy(&format!("artifacts-{id}"), &mut rng)));
                attached.push(self.customer_managed("ci-deploy"));
            }
            RoleKind::Cognito { .. } => inline.push(named("user-files", self.app_policy(&mut rng))),
            RoleKind::Automation => {
                let targets = if rng.chance(30) { json!("arn:aws:iam::*:role/*") } else { json!("arn:aws:iam::*:role/xacct-*") };
                inline.push(named("assume-targets", assume_policy(targets)));
                inline.push(named("app", self.app_policy(&mut rng)));
            }
            RoleKind::OutsideAssumer => {
                inline.push(named("assume-targets", assume_policy(json!("arn:aws:iam::*:role/xacct-*"))));
                attached.push(self.aws_managed("SecurityAudit"));
            }
            RoleKind::Broker => {
                inline.push(named("broker", assume_policy(json!("*"))));
            }
        }
        if rng.chance(400) {
            tags.push(json!({"Key": "team", "Value": rng.pick(&WORDS)}));
            tags.push(json!({"Key": "cost-center", "Value": format!("cc-{:04}", rng.below(10_000))}));
        }
        let last_used = match rng.weighted(&[700, 200, 100]) {
            0 => {
                json!({"LastUsedDate": org.date(rng.range(0, 30)), "Region": rng.pick(&["us-east-1", "eu-west-1", "us-west-2"])})
            }
            1 => json!({"LastUsedDate": org.date(rng.range(100, 380)), "Region": "us-east-1"}),
            _ => json!({}),
        };
        let mut role = json!({
            "Path": kind.path(),
            "RoleName": name,
            "RoleId": rng.unique_id("AROA"),
            "Arn": arn,
            "CreateDate": org.date(rng.range(1, 2500)),
            "AssumeRolePolicyDocument": maybe_encoded(trust, org.url_encoded, &mut rng),
            "InstanceProfileList": instance_profiles,
            "RolePolicyList": inline.into_iter().map(|p| encode_inline(p, org.url_encoded, &mut rng)).collect::<Vec<_>>(),
            "AttachedManagedPolicies": attached,
            "Tags": tags,
            "RoleLastUsed": last_used,
        });
        if let Some(boundary) = boundary {
            role["PermissionsBoundary"] = boundary;
        }
        role
    }

    fn trust_policy(&self, kind: RoleKind, name: &str, rng: &mut Rng) -> Value {
        let org = self.org;
        let id = self.id;
        let statement = |principal: Value, action: &str, condition: Option<Value>| {
            let mut s = json!({"Effect": "Allow", "Principal": principal, "Action": action});
            if let Some(c) = condition {
                s["Condition"] = c;
            }
            s
        };
        let doc = |statements: Vec<Value>| json!({"Version": "2012-10-17", "Statement": statements});
        let vendor = |rng: &mut Rng| org.vendors[rng.below(org.vendors.len())].clone();
        match kind {
            RoleKind::BreakGlass => doc(vec![statement(
                json!({"AWS": self.root()}),
                "sts:AssumeRole",
                Some(
                    json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}, "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}),
                ),
            )]),
            RoleKind::OrgAccess => doc(vec![statement(
                json!({"AWS": format!("arn:aws:iam::{}:root", org.accounts[MANAGEMENT])}),
                "sts:AssumeRole",
                None,
            )]),
            RoleKind::SsoAdmin | RoleKind::SsoReadOnly => doc(vec![json!({
                "Effect": "Allow", "Principal": {"Federated": self.sso},
                "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
            })]),
            RoleKind::Audit => doc(vec![statement(
                json!({"AWS": format!("arn:aws:iam::{}:root", org.accounts[org.security()])}),
                "sts:AssumeRole",
                None,
            )]),
            RoleKind::Pipeline => doc(vec![statement(
                json!({"Service": "codebuild.amazonaws.com"}),
                "sts:AssumeRole",
                Some(json!({"StringEquals": {"aws:SourceAccount": id}})),
            )]),
            RoleKind::Deploy => {
                let mut trusted: Vec<String> = org.tooling().map(|t| org.role_arn(t, 4)).into_iter().collect();
                trusted.push(format!("arn:aws:iam::{id}:role/github-actions-deploy"));
                doc(vec![statement(json!({"AWS": trusted}), "sts:AssumeRole", None)])
            }
            RoleKind::GithubDeploy => doc(vec![statement(
                json!({"Federated": self.github}),
                "sts:AssumeRoleWithWebIdentity",
                Some(json!({
                    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                    "StringLike": {"token.actions.githubusercontent.com:sub": format!("repo:example-corp/{}:ref:refs/heads/main", org.names[self.index])}
                })),
            )]),
            RoleKind::Service { pinned } => {
                let service = match name.split('-').next() {
                    Some("ec2") => "ec2.amazonaws.com",
                    Some("ecs") => "ecs-tasks.amazonaws.com",
                    Some("glue") => "glue.amazonaws.com",
                    Some("batch") => "batch.amazonaws.com",
                    Some("sagemaker") => "sagemaker.amazonaws.com",
                    _ => "lambda.amazonaws.com",
                };
                let condition = pinned.then(|| json!({"StringEquals": {"aws:SourceAccount": id}}));
                doc(vec![statement(json!({"Service": service}), "sts:AssumeRole", condition)])
            }
            RoleKind::ServiceDeputy { pinned } => {
                let service = match name.split('-').next() {
                    Some("sns") => "sns.amazonaws.com",
                    Some("events") => "events.amazonaws.com",
                    Some("scheduler") => "scheduler.amazonaws.com",
                    _ => "backup.amazonaws.com",
                };
                let condition = pinned.then(|| {
                    json!({"StringEquals": {"aws:SourceAccount": id},
                           "ArnLike": {"aws:SourceArn": format!("arn:aws:*:*:{id}:*")}})
                });
                doc(vec![statement(json!({"Service": [service]}), "sts:AssumeRole", condition)])
            }
            RoleKind::SameAccountRoot { mfa } => doc(vec![statement(
                json!({"AWS": if rng.chance(300) { json!(id) } else { json!(self.root()) }}),
                "sts:AssumeRole",
                mfa.then(|| json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}})),
            )]),
            RoleKind::SameAccountPrincipal => {
                let principal = if org.users > 0 && rng.chance(300) {
                    self.user_arn(rng.below(org.users))
                } else {
                    org.role_arn(self.index, rng.below(org.roles))
                };
                doc(vec![statement(json!({"AWS": principal}), "sts:AssumeRole", None)])
            }
            RoleKind::InOrgRoles => {
                let mut named: Vec<String> = (0..org.fanout.max(1)).map(|_| self.in_org_role(rng)).collect();
                named.sort();
                named.dedup();
                let mut s = statement(json!({"AWS": named}), "sts:AssumeRole", None);
                if rng.chance(300) {
                    s["Action"] = json!(["sts:AssumeRole", "sts:TagSession"]);
                }
                doc(vec![s])
            }
            RoleKind::InOrgRoot => {
                let other = match org.tooling() {
                    Some(tooling) if rng.chance(500) => tooling,
                    _ => rng.below(org.accounts.len()),
                };
                doc(vec![statement(
                    json!({"AWS": format!("arn:aws:iam::{}:root", org.accounts[other])}),
                    "sts:AssumeRole",
                    None,
                )])
            }
            RoleKind::OrgWildcard => {
                let condition = if rng.chance(800) {
                    json!({"StringEquals": {"aws:PrincipalOrgID": org.id}})
                } else {
                    json!({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": format!("{}/r-ab12/ou-ab12-{}/*", org.id, rng.text(LOWER_ALNUM, 8))}})
                };
                doc(vec![statement(json!({"AWS": "*"}), "sts:AssumeRole", Some(condition))])
            }
            RoleKind::VendorExternalId | RoleKind::OutsideAssumer => doc(vec![statement(
                json!({"AWS": format!("arn:aws:iam::{}:root", vendor(rng))}),
                "sts:AssumeRole",
                Some(json!({"StringEquals": {"sts:ExternalId": rng.text(LOWER_ALNUM, 24)}})),
            )]),
            RoleKind::VendorOpen => doc(vec![statement(json!({"AWS": vendor(rng)}), "sts:AssumeRole", None)]),
            RoleKind::VendorRole => {
                let role = format!("arn:aws:iam::{}:role/integration-{}", vendor(rng), rng.pick(&WORDS));
                doc(vec![statement(json!({"AWS": role}), "sts:AssumeRole", None)])
            }
            RoleKind::Public => doc(vec![statement(json!({"AWS": "*"}), "sts:AssumeRole", None)]),
            RoleKind::GithubWithSub => doc(vec![statement(
                json!({"Federated": self.github}),
                "sts:AssumeRoleWithWebIdentity",
                Some(json!({
                    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                    "StringLike": {"token.actions.githubusercontent.com:sub": format!("repo:example-corp/{}-{}:*", rng.pick(&WORDS), rng.below(100))}
                })),
            )]),
            RoleKind::GithubWithoutSub => doc(vec![statement(
                json!({"Federated": self.github}),
                "sts:AssumeRoleWithWebIdentity",
                Some(json!({"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}})),
            )]),
            RoleKind::Eks => {
                let host = &self.eks_host;
                doc(vec![statement(
                    json!({"Federated": self.eks}),
                    "sts:AssumeRoleWithWebIdentity",
                    Some(json!({"StringEquals": {
                        format!("{host}:sub"): format!("system:serviceaccount:{}:{}", rng.pick(&WORDS), rng.pick(&WORDS)),
                        format!("{host}:aud"): "sts.amazonaws.com"
                    }})),
                )])
            }
            RoleKind::Okta => doc(vec![statement(
                json!({"Federated": self.okta}),
                "sts:AssumeRoleWithSAML",
                Some(json!({"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}})),
            )]),
            RoleKind::Cognito { aud } => {
                let mut condition = json!({"ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": if rng.chance(500) { "unauthenticated" } else { "authenticated" }}});
                if aud {
                    condition["StringEquals"] = json!({"cognito-identity.amazonaws.com:aud": self.cognito_pool});
                }
                doc(vec![statement(
                    json!({"Federated": "cognito-identity.amazonaws.com"}),
                    "sts:AssumeRoleWithWebIdentity",
                    Some(condition),
                )])
            }
            RoleKind::MissingProvider => doc(vec![statement(
                json!({"Federated": format!("arn:aws:iam::{id}:oidc-provider/oidc.circleci.com/org/{}", rng.text(HEX, 8))}),
                "sts:AssumeRoleWithWebIdentity",
                Some(json!({"StringEquals": {"oidc.circleci.com/org:aud": "circleci"}})),
            )]),
            RoleKind::Automation => {
                let service =
                    *rng.pick(&["lambda.amazonaws.com", "codebuild.amazonaws.com", "ecs-tasks.amazonaws.com"]);
                doc(vec![statement(
                    json!({"Service": service}),
                    "sts:AssumeRole",
                    Some(json!({"StringEquals": {"aws:SourceAccount": id}})),
                )])
            }
            RoleKind::Broker => doc(vec![statement(json!({"AWS": self.root()}), "sts:AssumeRole", None)]),
        }
    }

    /// A role of the organization for an in-org trust to name: mostly one
    /// that can assume roles (so the trust is used), sometimes any.
    fn in_org_role(&self, rng: &mut Rng) -> String {
        let org = self.org;
        let first = PLATFORM_ROLES.min(org.roles.saturating_sub(1));
        let draw = |rng: &mut Rng| (rng.below(org.accounts.len()), first + rng.below(org.roles - first));
        let (mut account, mut role) = draw(rng);
        if rng.chance(800) {
            for _ in 0..24 {
                if org.is_assumer(account, role) {
                    break;
                }
                (account, role) = draw(rng);
            }
        }
        org.role_arn(account, role)
    }

    /// An application's inline policy: wildcards and conditions.
    fn app_policy(&self, rng: &mut Rng) -> Value {
        let id = self.id;
        let word = rng.pick(&WORDS);
        let mut statements = vec![json!({
            "Sid": "Logs", "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": format!("arn:aws:logs:*:{id}:log-group:/aws/*/{word}*")
        })];
        match rng.below(6) {
            0 => statements.push(json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": format!("arn:aws:s3:::{word}-{id}/*")})),
            1 => statements.push(json!({"Effect": "Allow", "Action": "dynamodb:*Item", "Resource": format!("arn:aws:dynamodb:us-east-1:{id}:table/{word}"),
                "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["${aws:PrincipalTag/team}*"]}}})),
            2 => statements.push(json!({"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueue*"], "Resource": format!("arn:aws:sqs:*:{id}:{word}-*")})),
            3 => statements.push(json!({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
                "Condition": {"StringEquals": {"secretsmanager:ResourceTag/app": word}}})),
            4 => statements.push(json!({"Effect": "Allow", "Action": ["ec2:Describe*", "ec2:StartInstances", "ec2:StopInstances"], "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}, "Bool": {"aws:SecureTransport": "true"}}})),
            _ => statements.push(json!({"Effect": "Allow", "Action": "iam:PassRole", "Resource": format!("arn:aws:iam::{id}:role/service-role/*"),
                "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}})),
        }
        if rng.chance(150) {
            statements.push(json!({"Sid": "DenyOutsideNetwork", "Effect": "Deny", "NotAction": ["sts:GetCallerIdentity"], "Resource": "*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/24"]}, "Bool": {"aws:ViaAWSService": "false"}}}));
        }
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    // -- users and groups ----------------------------------------------------

    fn user_arn(&self, u: usize) -> String {
        let spec = self.user_spec(u);
        format!("arn:aws:iam::{}:user{}{}", self.id, spec.case.path(), spec.name)
    }

    fn user_spec(&self, u: usize) -> UserSpec {
        let org = self.org;
        let mut rng = Rng::stream(org.seed, &[STREAM_USER, self.index as u64, u as u64]);
        let first = [
            "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar",
            "peggy", "trent", "victor", "wendy",
        ];
        let case = if u < CredentialCase::ALL.len() {
            CredentialCase::ALL[u]
        } else {
            CredentialCase::ALL[rng.weighted(&CredentialCase::WEIGHTS)]
        };
        let name = match case {
            CredentialCase::ProgrammaticOnly | CredentialCase::InactiveKey | CredentialCase::Certificate => {
                format!("svc-{}-{u:05}", rng.pick(&WORDS))
            }
            _ => format!("{}.{}{u:05}", rng.pick(&first), rng.pick(&WORDS)),
        };
        UserSpec { name, case, created_days_ago: rng.range(400, 2500), rng }
    }

    fn user(&self, u: usize) -> Value {
        let org = self.org;
        let UserSpec { name, case, created_days_ago, mut rng } = self.user_spec(u);
        let human = case.is_human();
        let groups: Vec<&str> = if human {
            let mut g = vec![["developers", "readonly", "admins", "billing"][rng.weighted(&[35, 35, 5, 25])]];
            if rng.chance(300) {
                g.push("readonly");
            }
            g.dedup();
            g
        } else {
            Vec::new()
        };
        let mut attached = Vec::new();
        if human {
            attached.push(self.aws_managed("IAMUserChangePassword"));
        }
        let mut inline = Vec::new();
        if !human {
            inline.push(named("service", self.app_policy(&mut rng)));
        } else if rng.chance(80) {
            inline.push(named("assume-xacct", assume_policy(json!("arn:aws:iam::*:role/xacct-*"))));
        }
        let mut tags = Vec::new();
        if rng.chance(850) {
            tags.push(json!({"Key": "owner", "Value": if human { format!("{}@example.com", name.split('.').next().unwrap_or("x")) } else { "platform-team@example.com".into() }}));
        }
        let mut user = json!({
            "Path": case.path(),
            "UserName": name,
            "UserId": rng.unique_id("AIDA"),
            "Arn": format!("arn:aws:iam::{}:user{}{name}", self.id, case.path()),
            "CreateDate": org.date(created_days_ago),
            "UserPolicyList": inline.into_iter().map(|p| encode_inline(p, org.url_encoded, &mut rng)).collect::<Vec<_>>(),
            "GroupList": groups,
            "AttachedManagedPolicies": attached,
            "Tags": tags,
        });
        if human && rng.chance(100) {
            user["PermissionsBoundary"] = self.boundary("developer-boundary");
        }
        user
    }

    fn groups(&self) -> Vec<Value> {
        let mut rng = Rng::stream(self.org.seed, &[STREAM_ACCOUNT, self.index as u64, 99]);
        let group = |name: &str, inline: Vec<(String, Value)>, attached: Vec<Value>, rng: &mut Rng| {
            let inline: Vec<Value> = inline
                .into_iter()
                .map(|(name, document)| json!({"PolicyName": name, "PolicyDocument": document}))
                .collect();
            json!({"Path": "/", "GroupName": name, "GroupId": rng.unique_id("AGPA"),
                   "Arn": format!("arn:aws:iam::{}:group/{name}", self.id), "CreateDate": self.org.date(rng.range(400, 2500)),
                   "GroupPolicyList": inline, "AttachedManagedPolicies": attached})
        };
        let require_mfa = named(
            "require-mfa",
            json!({"Version": "2012-10-17", "Statement": [{"Sid": "DenyWithoutMfa", "Effect": "Deny",
                "NotAction": ["iam:ChangePassword", "iam:GetUser", "iam:*MFADevice*", "iam:ListVirtualMFADevices", "sts:GetSessionToken"],
                "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]}),
        );
        let billing = named(
            "billing-console",
            json!({"Version": "2012-10-17", "Statement": [{"Sid": "BillingRead", "Effect": "Allow",
                "Action": ["aws-portal:View*", "billing:Get*", "billing:List*", "ce:*", "budgets:*", "cur:Describe*"], "Resource": "*"}]}),
        );
        vec![
            group("admins", vec![require_mfa.clone()], vec![self.aws_managed("AdministratorAccess")], &mut rng),
            group("billing", vec![billing], vec![self.aws_managed("Billing")], &mut rng),
            group("developers", vec![require_mfa], vec![self.aws_managed("PowerUserAccess")], &mut rng),
            group("readonly", vec![], vec![self.aws_managed("ReadOnlyAccess")], &mut rng),
        ]
    }

    // -- managed policies ----------------------------------------------------

    /// `Policies`: every customer managed policy, and each AWS managed policy
    /// something in the account attaches (as get-account-authorization-details lists them).
    fn policies(&self) -> Vec<Value> {
        let attachments = self.attachments.borrow();
        let count = |arn: &str| attachments.count.get(arn).copied().unwrap_or(0);
        let boundary = |arn: &str| attachments.boundary.get(arn).copied().unwrap_or(0);
        let mut rng = Rng::stream(self.org.seed, &[STREAM_ACCOUNT, self.index as u64, 98]);
        let mut out = Vec::new();
        for (name, doc) in &self.org.managed.by_name {
            let (attached, as_boundary) = (count(&doc.arn), boundary(&doc.arn));
            if attached + as_boundary == 0 {
                continue;
            }
            let path = doc
                .arn
                .trim_start_matches("arn:aws:iam::aws:policy")
                .rsplit_once('/')
                .map_or("/".to_string(), |(p, _)| format!("{p}/"));
            out.push(json!({
                "PolicyName": name, "PolicyId": rng.unique_id("ANPA"), "Arn": doc.arn, "Path": path,
                "DefaultVersionId": doc.version, "AttachmentCount": attached, "PermissionsBoundaryUsageCount": as_boundary,
                "IsAttachable": true, "CreateDate": doc.create, "UpdateDate": doc.update,
                "PolicyVersionList": [{"Document": doc.document, "VersionId": doc.version, "IsDefaultVersion": true, "CreateDate": doc.update}]
            }));
        }
        for policy in self.customer_policies() {
            let arn = self.customer_arn(policy.name);
            let created = rng.range(200, 2000);
            let versions: Vec<Value> = (1..=policy.versions)
                .rev()
                .map(|v| {
                    let document = if v == policy.versions {
                        policy.document.clone()
                    } else {
                        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]})
                    };
                    json!({"Document": maybe_encoded(document, self.org.url_encoded, &mut rng), "VersionId": format!("v{v}"),
                           "IsDefaultVersion": v == policy.versions, "CreateDate": self.org.date(created - v as i64 * 20)})
                })
                .collect();
            out.push(json!({
                "PolicyName": policy.name, "PolicyId": rng.unique_id("ANPA"), "Arn": arn, "Path": "/",
                "DefaultVersionId": format!("v{}", policy.versions), "AttachmentCount": count(&arn),
                "PermissionsBoundaryUsageCount": boundary(&arn), "IsAttachable": true,
                "CreateDate": self.org.date(created), "UpdateDate": self.org.date(created - policy.versions as i64 * 20),
                "PolicyVersionList": versions
            }));
        }
        out
    }

    // -- files ---------------------------------------------------------------

    fn write(&self, dir: &Path) -> std::io::Result<u64> {
        fs::create_dir(dir)?;
        let details = AuthorizationDetails { account: self };
        let mut bytes = write_json(&dir.join("authorization-details.json"), &details)?;
        bytes += self.write_credential_report(&dir.join("credential-report.csv"))?;
        let mut rng = Rng::stream(self.org.seed, &[STREAM_ACCOUNT, self.index as u64, 97]);
        match rng.below(3) {
            0 => {
                bytes += write_json(
                    &dir.join("password-policy.json"),
                    &json!({"PasswordPolicy": {
                    "MinimumPasswordLength": 14, "RequireSymbols": true, "RequireNumbers": true,
                    "RequireUppercaseCharacters": true, "RequireLowercaseCharacters": true,
                    "AllowUsersToChangePassword": true, "ExpirePasswords": true, "MaxPasswordAge": 90,
                    "PasswordReusePrevention": 24, "HardExpiry": false}}),
                )?;
            }
            1 => {
                bytes += write_json(
                    &dir.join("password-policy.json"),
                    &json!({"PasswordPolicy": {
                    "MinimumPasswordLength": 8, "RequireSymbols": false, "RequireNumbers": true,
                    "RequireUppercaseCharacters": false, "RequireLowercaseCharacters": true,
                    "AllowUsersToChangePassword": true, "ExpirePasswords": false}}),
                )?;
            }
            _ => {} // no password policy: AWS's defaults apply
        }
        let alias = format!("example-{}\n", self.org.names[self.index]);
        fs::write(dir.join("alias.txt"), &alias)?;
        bytes += alias.len() as u64;
        let created = self.org.date(rng.range(300, 1500));
        bytes += write_json(
            &dir.join("oidc-providers.json"),
            &json!([
                {"Arn": self.github, "Url": "token.actions.githubusercontent.com", "ClientIDList": ["sts.amazonaws.com"],
                 "ThumbprintList": ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"],
                 "CreateDate": created, "Tags": []},
                {"Arn": self.eks, "Url": self.eks_host, "ClientIDList": ["sts.amazonaws.com"],
                 "ThumbprintList": ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"], "CreateDate": created,
                 "Tags": [{"Key": "alpha.eksctl.io/cluster-name", "Value": format!("{}-cluster", self.org.names[self.index])}]}
            ]),
        )?;
        let metadata = |entity: &str| {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"{entity}\"><md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"/></md:EntityDescriptor>"
            )
        };
        bytes += write_json(
            &dir.join("saml-providers.json"),
            &json!([
                {"Arn": self.okta, "SAMLMetadataDocument": metadata("http://www.okta.com/exk-example"), "CreateDate": created,
                 "ValidUntil": "2122-04-11T15:20:31+00:00", "Tags": []},
                {"Arn": self.sso, "SAMLMetadataDocument": metadata("https://portal.sso.us-east-1.amazonaws.com/saml/assertion/example"),
                 "CreateDate": created, "ValidUntil": "2121-06-07T09:14:02+00:00", "Tags": []}
            ]),
        )?;
        Ok(bytes)
    }

    fn write_credential_report(&self, path: &Path) -> std::io::Result<u64> {
        let org = self.org;
        let mut out = BufWriter::with_capacity(1 << 16, File::create(path)?);
        let mut bytes = 0u64;
        let mut line = |out: &mut BufWriter<File>, cells: &[String]| -> std::io::Result<()> {
            let text = cells.join(",");
            bytes += text.len() as u64 + 1;
            writeln!(out, "{text}")
        };
        line(&mut out, &CREDENTIAL_REPORT_COLUMNS.iter().map(|c| c.to_string()).collect::<Vec<_>>())?;
        let na = || "N/A".to_string();
        let no_key = || vec!["false".into(), na(), na(), na(), na()];
        let key = |rotated: i64, used: Option<i64>| -> Vec<String> {
            match used {
                Some(used) => vec!["true".into(), org.date(rotated), org.date(used), "us-east-1".into(), "s3".into()],
                None => vec!["true".into(), org.date(rotated), na(), na(), na()],
            }
        };

        // Root first.
        let mut rng = Rng::stream(org.seed, &[STREAM_ACCOUNT, self.index as u64, 96]);
        // Root: used recently (the management account), an access key, no
        // MFA, then drawn (mostly clean).
        let root_case = match self.index {
            0 => 2,
            1 => 0,
            2 => 1,
            _ => rng.below(10),
        };
        let mut root = vec![
            "<root_account>".to_string(),
            self.root(),
            org.date(rng.range(1500, 3000)),
            "not_supported".into(),
            if root_case == 2 {
                org.date(1)
            } else if rng.chance(500) {
                "no_information".into()
            } else {
                org.date(rng.range(60, 900))
            },
            "not_supported".into(),
            "not_supported".into(),
            (root_case != 1).to_string(),
        ];
        root.extend(if root_case == 0 { key(rng.range(400, 1500), Some(rng.range(100, 300))) } else { no_key() });
        root.extend(no_key());
        root.extend(["false".into(), na(), "false".into(), na()]);
        line(&mut out, &root)?;

        for u in 0..org.users {
            let spec = self.user_spec(u);
            let mut rng = spec.rng.clone();
            let path = spec.case.path();
            let mut row = vec![
                spec.name.clone(),
                format!("arn:aws:iam::{}:user{path}{}", self.id, spec.name),
                org.date(spec.created_days_ago),
            ];
            let password = |used: String, mfa: bool, rng: &mut Rng| -> Vec<String> {
                vec!["true".into(), used, org.date(rng.range(1, 35)), na(), mfa.to_string()]
            };
            let no_password = |mfa: bool| vec!["false".into(), na(), na(), na(), mfa.to_string()];
            let created = spec.created_days_ago;
            let (console, key1, key2, cert1) = match spec.case {
                CredentialCase::Healthy => (
                    password(org.date(rng.range(0, 5)), true, &mut rng),
                    key(rng.range(5, 60).min(created), Some(rng.range(0, 3))),
                    no_key(),
                    false,
                ),
                CredentialCase::StaleKey => (
                    password(org.date(rng.range(0, 10)), true, &mut rng),
                    key(rng.range(120, 900).min(created), Some(rng.range(0, 5))),
                    no_key(),
                    false,
                ),
                CredentialCase::UnusedKey => (
                    no_password(false),
                    key(rng.range(50, 85).min(created), Some(rng.range(46, 49).min(created))),
                    no_key(),
                    false,
                ),
                CredentialCase::NeverUsedKey => {
                    (no_password(false), key(rng.range(10, 80).min(created), None), no_key(), false)
                }
                CredentialCase::TwoKeys => (
                    password(org.date(rng.range(0, 5)), true, &mut rng),
                    key(rng.range(10, 60).min(created), Some(1)),
                    key(rng.range(1, 9), Some(0)),
                    false,
                ),
                CredentialCase::ConsoleWithoutMfa => {
                    (password(org.date(rng.range(0, 20)), false, &mut rng), no_key(), no_key(), false)
                }
                CredentialCase::PasswordUnused => {
                    (password(org.date(rng.range(60, 400).min(created)), true, &mut rng), no_key(), no_key(), false)
                }
                CredentialCase::PasswordNeverUsed => {
                    (password("no_information".into(), true, &mut rng), no_key(), no_key(), false)
                }
                CredentialCase::ProgrammaticOnly => {
                    (no_password(false), key(rng.range(5, 80).min(created), Some(rng.range(0, 3))), no_key(), false)
                }
                CredentialCase::InactiveKey => {
                    let mut k = key(rng.range(200, 900).min(created), Some(rng.range(150, 199).min(created)));
                    k[0] = "false".into();
                    (no_password(false), k, no_key(), false)
                }
                CredentialCase::Certificate => (no_password(false), no_key(), no_key(), true),
            };
            row.extend(console);
            row.extend(key1);
            row.extend(key2);
            row.extend(if cert1 {
                vec!["true".into(), org.date(rng.range(10, 300))]
            } else {
                vec!["false".into(), na()]
            });
            row.extend(["false".into(), na()]);
            debug_assert_eq!(row.len(), 22);
            line(&mut out, &row)?;
        }
        out.flush()?;
        Ok(bytes)
    }
}

struct UserSpec {
    name: String,
    case: CredentialCase,
    created_days_ago: i64,
    /// The user's stream, after the draws above: the report and the
    /// authorization details read the same values from copies of it.
    rng: Rng,
}

/// The credential hygiene case a user illustrates. The first users of every
/// account take one case each, so any account with ≥ 11 users has them all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CredentialCase {
    Healthy,
    StaleKey,
    UnusedKey,
    NeverUsedKey,
    TwoKeys,
    ConsoleWithoutMfa,
    PasswordUnused,
    PasswordNeverUsed,
    ProgrammaticOnly,
    InactiveKey,
    Certificate,
}

impl CredentialCase {
    const ALL: [CredentialCase; 11] = [
        CredentialCase::Healthy,
        CredentialCase::StaleKey,
        CredentialCase::UnusedKey,
        CredentialCase::NeverUsedKey,
        CredentialCase::TwoKeys,
        CredentialCase::ConsoleWithoutMfa,
        CredentialCase::PasswordUnused,
        CredentialCase::PasswordNeverUsed,
        CredentialCase::ProgrammaticOnly,
        CredentialCase::InactiveKey,
        CredentialCase::Certificate,
    ];
    const WEIGHTS: [u32; 11] = [450, 100, 60, 40, 40, 60, 50, 20, 120, 40, 20];

    /// People sign in to the console; the other users are services.
    fn is_human(self) -> bool {
        !matches!(self, CredentialCase::ProgrammaticOnly | CredentialCase::InactiveKey | CredentialCase::Certificate)
    }

    fn path(self) -> &'static str {
        if self.is_human() { "/" } else { "/service/" }
    }
}

fn named(name: &str, document: Value) -> (String, Value) {
    (name.to_string(), document)
}

fn assume_policy(resource: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "AssumeRoles", "Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": resource}]})
}

fn s3_policy(bucket: &str, rng: &mut Rng) -> Value {
    let mut statements = vec![
        json!({"Effect": "Allow", "Action": ["s3:GetObject*", "s3:PutObject*"], "Resource": format!("arn:aws:s3:::{bucket}/*")}),
        json!({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": format!("arn:aws:s3:::{bucket}"),
               "Condition": {"StringLike": {"s3:prefix": ["", "releases/*", "${aws:username}/*"]}}}),
    ];
    if rng.chance(300) {
        statements.push(json!({"Effect": "Deny", "Action": "s3:*", "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// `per_mille` of the documents (one in ten by default) are written as the raw
/// API returns them: a URL-encoded JSON string.
fn maybe_encoded(document: Value, per_mille: u32, rng: &mut Rng) -> Value {
    if rng.chance(per_mille) {
        let text = serde_json::to_string(&document).expect("JSON");
        Value::String(percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC).to_string())
    } else {
        document
    }
}

fn encode_inline((name, document): (String, Value), per_mille: u32, rng: &mut Rng) -> Value {
    json!({"PolicyName": name, "PolicyDocument": maybe_encoded(document, per_mille, rng)})
}

// ---------------------------------------------------------------------------
// Streaming output: each role and user is built, written and dropped.

struct AuthorizationDetails<'a, 'o> {
    account: &'a Account<'o>,
}

struct Lazy<F>(F);

impl<F: Fn() -> Value> Serialize for Lazy<F> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.0)().serialize(serializer)
    }
}

struct Each<F>(usize, F);

impl<F: Fn(usize) -> Value> Serialize for Each<F> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0))?;
        for i in 0..self.0 {
            seq.serialize_element(&(self.1)(i))?;
        }
        seq.end()
    }
}

impl Serialize for AuthorizationDetails<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let account = self.account;
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("UserDetailList", &Each(account.org.users, |u| account.user(u)))?;
        map.serialize_entry("GroupDetailList", &Lazy(|| Value::Array(account.groups())))?;
        map.serialize_entry("RoleDetailList", &Each(account.org.roles, |j| account.role(j)))?;
        // After the lists above, which count the attachments the API reports.
        map.serialize_entry("Policies", &Lazy(|| Value::Array(account.policies())))?;
        map.end()
    }
}

/// Writes pretty JSON (4-space indent, as the AWS CLI prints) and returns its size.
fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<u64> {
    let file = File::create(path)?;
    let mut counter = CountingWriter { inner: BufWriter::with_capacity(1 << 20, file), bytes: 0 };
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut counter, formatter);
    value.serialize(&mut serializer).map_err(std::io::Error::other)?;
    counter.write_all(b"\n")?;
    counter.flush()?;
    Ok(counter.bytes)
}

struct CountingWriter<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

// ---------------------------------------------------------------------------

fn organization_file(org: &Org) -> Value {
    let management = &org.accounts[MANAGEMENT];
    let mut accounts: Vec<Value> = org
        .accounts
        .iter()
        .zip(&org.names)
        .enumerate()
        .map(|(i, (id, name))| {
            json!({"Id": id, "Arn": format!("arn:aws:organizations::{management}:account/{}/{id}", org.id),
                   "Email": format!("aws+{name}@example.com"), "Name": name, "Status": "ACTIVE",
                   "JoinedMethod": if i == MANAGEMENT { "INVITED" } else { "CREATED" },
                   "JoinedTimestamp": org.date(2000 - i as i64 % 1500)})
        })
        .collect();
    if org.accounts.len() >= 3 {
        // A suspended member: inside the zone, not collected.
        let id = "999999999990";
        accounts.push(json!({"Id": id, "Arn": format!("arn:aws:organizations::{management}:account/{}/{id}", org.id),
            "Email": "aws+closed@example.com", "Name": "closed", "Status": "SUSPENDED", "JoinedMethod": "CREATED",
            "JoinedTimestamp": org.date(2100)}));
    }
    json!({
        "Organization": {"Id": org.id, "Arn": format!("arn:aws:organizations::{management}:organization/{}", org.id),
            "FeatureSet": "ALL", "MasterAccountArn": format!("arn:aws:organizations::{management}:account/{}/{management}", org.id),
            "MasterAccountId": management, "MasterAccountEmail": "aws+management@example.com",
            "AvailablePolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]},
        "Accounts": accounts
    })
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub bytes: u64,
    pub seconds: f64,
}

/// Writes the snapshot `options` describe.
pub fn generate(options: &Options) -> std::io::Result<Summary> {
    let invalid = |message: &str| Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, message.to_string()));
    if options.accounts == 0 {
        return invalid("--accounts must be at least 1");
    }
    if options.in_org_trust > 1000 || options.url_encoded > 1000 {
        return invalid("--in-org-trust and --url-encoded are per mille (0..=1000)");
    }
    let started = Instant::now();
    let corpus = options.managed_policies.clone().unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/real-world/aws-managed-policies.json.gz")
    });
    let org = Org::new(options, ManagedCorpus::load(&corpus)?);

    let out = &options.out;
    let in_out = |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", out.display()));
    fs::create_dir_all(out).map_err(in_out)?;
    if fs::read_dir(out).map_err(in_out)?.next().is_some() {
        return invalid(&format!("{}: the snapshot must go to an empty or new directory", out.display()));
    }
    let mut bytes = 0u64;
    if !options.no_organization {
        bytes += write_json(&out.join("organization.json"), &organization_file(&org))?;
    }
    for index in 0..org.accounts.len() {
        let account = Account::new(&org, index);
        bytes += account.write(&out.join(account.id))?;
    }
    // Written last, as `trustwarden snapshot` does: a directory without it is unfinished.
    bytes += write_json(
        &out.join("snapshot.json"),
        &json!({"collected_at": org.collected_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "source": "generate_org",
                "seed": options.seed, "accounts": options.accounts, "roles_per_account": options.roles,
                "users_per_account": options.users, "in_org_trust_per_mille": options.in_org_trust,
                "fanout": options.fanout, "flat_density": options.flat_density, "url_encoded_per_mille": options.url_encoded}),
    )?;
    Ok(Summary { bytes, seconds: started.elapsed().as_secs_f64() })
}

#[allow(dead_code)] // The benches include this file for `generate`.
fn main() {
    let options = Options::parse();
    match generate(&options) {
        Ok(summary) => eprintln!(
            "generate_org: {} accounts × {} roles × {} users (seed {}) → {} ({:.1} MB) in {:.2}s",
            options.accounts,
            options.roles,
            options.users,
            options.seed,
            options.out.display(),
            summary.bytes as f64 / 1e6,
            summary.seconds
        ),
        Err(error) => {
            eprintln!("generate_org: error: {error}");
            std::process::exit(2)
        }
    }
}
