//! The `Principal` / `NotPrincipal` element, typed: who a statement names.

use super::arn::{Arn, is_account_id};

/// The principals one `Principal` (or `NotPrincipal`) element names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrincipalSet {
    /// `"*"` or `{"AWS": "*"}`.
    pub any: bool,
    /// Accounts, from a bare account id or `arn:aws:iam::ID:root`.
    pub accounts: Vec<Box<str>>,
    /// Roles by account and name (the path of a role ARN does not take part in matching).
    pub roles: Vec<RoleRef>,
    /// IAM user, role-session and federated-user ARNs, matched exactly.
    pub exact: Vec<Box<str>>,
    /// Service principals, lower-cased (`events.amazonaws.com`).
    pub services: Vec<Box<str>>,
    /// Identity providers as written: provider ARNs, `cognito-identity.amazonaws.com`, ...
    pub federated: Vec<Box<str>>,
    /// S3 canonical user ids.
    pub canonical_users: Vec<Box<str>>,
    /// Unique ids (`AROA...`, `AIDA...`) that IAM shows when a named principal was deleted.
    pub deleted: Vec<Box<str>>,
    /// Every AWS-principal entry exactly as written, for reports.
    pub aws_written: Vec<Box<str>>,
}

/// A role named by account and role name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleRef {
    pub account: Box<str>,
    pub name: Box<str>,
    pub arn: Box<str>,
}

/// Whether the element is `Principal` or `NotPrincipal`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrincipalElement {
    Principal(PrincipalSet),
    NotPrincipal(PrincipalSet),
}

impl PrincipalElement {
    pub fn set(&self) -> &PrincipalSet {
        match self {
            PrincipalElement::Principal(s) | PrincipalElement::NotPrincipal(s) => s,
        }
    }
}

impl PrincipalSet {
    /// Add one `AWS` entry; `Err` explains why it is not a principal.
    pub(super) fn add_aws(&mut self, entry: &str) -> Result<(), String> {
        self.aws_written.push(entry.into());
        if entry == "*" {
            self.any = true;
            return Ok(());
        }
        if is_account_id(entry) {
            self.accounts.push(entry.into());
            return Ok(());
        }
        if let Some(arn) = Arn::parse(entry) {
            if entry.contains(['*', '?']) {
                return Err(format!("wildcards are not allowed in a principal ARN: {entry:?}"));
            }
            if !is_account_id(arn.account) {
                return Err(format!("principal ARN has no account id: {entry:?}"));
            }
            match (arn.service, arn.resource.split_once('/')) {
                ("iam", None) if arn.resource == "root" => self.accounts.push(arn.account.into()),
                ("iam", Some(("role", path_and_name))) => {
                    let name = path_and_name.rsplit('/').next().unwrap_or(path_and_name);
                    self.roles.push(RoleRef { account: arn.account.into(), name: name.into(), arn: entry.into() });
                }
                ("iam", Some(("user", _))) | ("sts", Some(("assumed-role" | "federated-user", _))) => {
                    self.exact.push(entry.into())
                }
                _ => {
                    return Err(format!(
                        "not an AWS principal ARN (account, user, role, assumed-role or federated-user): {entry:?}"
                    ));
                }
            }
            return Ok(());
        }
        if entry.len() >= 16
            && entry.starts_with('A')
            && entry.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            self.deleted.push(entry.into());
            return Ok(());
        }
        Err(format!("not an AWS principal: {entry:?} (expected \"*\", an account id or an IAM/STS ARN)"))
    }
}
