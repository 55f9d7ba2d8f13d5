//! What is asked: the caller, the action, the resource and the request context.

use std::fmt;

use crate::policy::arn::{Arn, is_account_id};

/// Who makes the request (see docs/evaluator.md, "The caller").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    User {
        arn: Box<str>,
        account: Box<str>,
    },
    /// A role session whose name is known: `arn:aws:sts::A:assumed-role/R/S`.
    Session {
        arn: Box<str>,
        account: Box<str>,
        role: Box<str>,
    },
    /// A session of this role whose name is not known.
    Role {
        arn: Box<str>,
        account: Box<str>,
        role: Box<str>,
    },
    FederatedUser {
        arn: Box<str>,
        account: Box<str>,
    },
    Root {
        account: Box<str>,
    },
    Anonymous,
    /// An AWS service principal, lower-cased.
    Service(Box<str>),
    /// A web identity or SAML provider, as a trust policy's `Federated` names it.
    Federated(Box<str>),
}

/// Identity providers AWS names without an ARN.
const WELL_KNOWN_PROVIDERS: [&str; 4] =
    ["cognito-identity.amazonaws.com", "accounts.google.com", "graph.facebook.com", "www.amazon.com"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "unrecognised principal {0:?}: expected an IAM user, role, assumed-role session, federated user or root ARN, \"*\", a service principal or an identity provider"
)]
pub struct CallerError(pub String);

impl Caller {
    pub fn parse(text: &str) -> Result<Self, CallerError> {
        let bad = || CallerError(text.into());
        if text == "*" {
            return Ok(Caller::Anonymous);
        }
        if WELL_KNOWN_PROVIDERS.contains(&text) {
            return Ok(Caller::Federated(text.into()));
        }
        if let Some(arn) = Arn::parse(text) {
            if !is_account_id(arn.account) {
                return Err(bad());
            }
            let account: Box<str> = arn.account.into();
            let (kind, rest) = arn.resource.split_once('/').unwrap_or((arn.resource, ""));
            return match (arn.service, kind) {
                ("iam", "user") if !rest.is_empty() => Ok(Caller::User { arn: text.into(), account }),
                ("iam", "role") if !rest.is_empty() => {
                    Ok(Caller::Role { arn: text.into(), account, role: last_segment(rest).into() })
                }
                ("iam", "root") if rest.is_empty() => Ok(Caller::Root { account }),
                ("iam", "oidc-provider" | "saml-provider") if !rest.is_empty() => Ok(Caller::Federated(text.into())),
                ("sts", "assumed-role") => match rest.split_once('/') {
                    Some((role, session)) if !role.is_empty() && !session.is_empty() => {
                        Ok(Caller::Session { arn: text.into(), account, role: role.into() })
                    }
                    _ => Err(bad()),
                },
                ("sts", "federated-user") if !rest.is_empty() => {
                    Ok(Caller::FederatedUser { arn: text.into(), account })
                }
                _ => Err(bad()),
            };
        }
        if text.ends_with(".amazonaws.com") || text.ends_with(".amazonaws.com.cn") {
            return Ok(Caller::Service(text.to_ascii_lowercase().into()));
        }
        Err(bad())
    }

    /// The caller's account, for AWS principals.
    pub fn account(&self) -> Option<&str> {
        match self {
            Caller::User { account, .. }
            | Caller::Session { account, .. }
            | Caller::Role { account, .. }
            | Caller::FederatedUser { account, .. }
            | Caller::Root { account } => Some(account),
            Caller::Anonymous | Caller::Service(_) | Caller::Federated(_) => None,
        }
    }

    /// IAM users, roles, sessions, federated users and root: the callers that
    /// identity policies, boundaries, session policies and SCPs apply to.
    pub fn is_aws_principal(&self) -> bool {
        self.account().is_some()
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::User { arn, .. }
            | Caller::Session { arn, .. }
            | Caller::Role { arn, .. }
            | Caller::FederatedUser { arn, .. } => f.write_str(arn),
            Caller::Root { account } => write!(f, "arn:aws:iam::{account}:root"),
            Caller::Anonymous => f.write_str("*"),
            Caller::Service(s) | Caller::Federated(s) => f.write_str(s),
        }
    }
}

fn last_segment(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A request context value: single-valued keys are strings, multi-valued keys lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContextValue {
    Single(Box<str>),
    Multi(Box<[Box<str>]>),
}

impl ContextValue {
    /// The values as a slice (a single value is a one-element set).
    pub fn as_slice(&self) -> &[Box<str>] {
        match self {
            ContextValue::Single(v) => std::slice::from_ref(v),
            ContextValue::Multi(vs) => vs,
        }
    }
}

/// The request context. Keys are case-insensitive; a handful of keys per
/// request makes a linear scan faster than hashing.
///
/// Besides concrete values, a context can declare *free* keys: keys whose value
/// the caller (or its identity provider) chooses, such as `sts:ExternalId`,
/// session tags or OIDC token claims. The question then becomes "is there a
/// choice of those values that gets the request in": a condition on a free
/// key holds in an Allow statement and does not hold in a Deny statement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    entries: Vec<(Box<str>, ContextValue)>,
    /// Lower-cased free keys; an entry ending in `/` or `:` is a prefix.
    free: Vec<Box<str>>,
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    /// Set `key` (any case) to `value`, replacing an earlier value.
    pub fn insert(&mut self, key: &str, value: ContextValue) {
        let key = key.to_ascii_lowercase();
        match self.entries.iter_mut().find(|(k, _)| **k == *key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.into(), value)),
        }
    }

    /// Builder form of [`Context::insert`] for a single value.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.insert(key, ContextValue::Single(value.into()));
        self
    }

    /// Look up a lower-cased key.
    pub fn get(&self, key_lower: &str) -> Option<&ContextValue> {
        self.entries.iter().find(|(k, _)| **k == *key_lower).map(|(_, v)| v)
    }

    /// A single-valued key's value (what policy variables substitute).
    pub fn single(&self, key_lower: &str) -> Option<&str> {
        match self.get(key_lower)? {
            ContextValue::Single(v) => Some(v),
            ContextValue::Multi(_) => None,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.entries.iter().map(|(k, v)| (&**k, v))
    }

    /// Declare keys (or prefixes ending in `/` or `:`) whose value the caller chooses.
    pub fn with_free_keys<'k>(mut self, keys: impl IntoIterator<Item = &'k str>) -> Self {
        self.free.extend(keys.into_iter().map(|k| k.to_ascii_lowercase().into()));
        self
    }

    /// Whether the caller chooses the value of this (lower-cased) key.
    pub fn is_free(&self, key_lower: &str) -> bool {
        self.free.iter().any(|f| if f.ends_with(['/', ':']) { key_lower.starts_with(&**f) } else { **f == *key_lower })
    }
}

/// What a resource's policy must do on its own in the same account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourcePolicyKind {
    /// S3, SQS, SNS, ...: the identity side or the resource side suffices.
    Ordinary,
    /// Role trust policies (sts:AssumeRole*, sts:TagSession) and KMS key
    /// policies must themselves let the caller in.
    MustAllow,
    /// sts:SetSourceIdentity on a role: the trust policy and the caller's own
    /// policies must both allow it, even in the same account.
    BothMustAllow,
}

/// One authorization request, normalised once so evaluation does not allocate.
#[derive(Clone, Debug)]
pub struct Request {
    pub caller: Caller,
    pub action: Box<str>,
    pub resource: Box<str>,
    /// The account owning the resource: explicit, from the resource ARN, or the caller's.
    pub resource_account: Option<Box<str>>,
    pub context: Context,
    pub resource_policy_kind: ResourcePolicyKind,
    pub(crate) get_caller_identity: bool,
}

impl Request {
    pub fn new(caller: Caller, action: &str, resource: &str, resource_account: Option<&str>, context: Context) -> Self {
        let mut request = Request {
            get_caller_identity: action.eq_ignore_ascii_case("sts:GetCallerIdentity"),
            caller,
            action: action.into(),
            resource: Box::default(),
            resource_account: None,
            context,
            resource_policy_kind: ResourcePolicyKind::Ordinary,
        };
        request.set_resource(resource, resource_account);
        request
    }

    /// The same request on another resource, as [`Request::new`] would make
    /// it. Asking one caller about many resources this way keeps the caller
    /// and its context instead of cloning them for every question (the trust
    /// graph asks each principal about every role it may assume).
    pub fn set_resource(&mut self, resource: &str, resource_account: Option<&str>) {
        let arn = Arn::parse(resource);
        self.resource_account = resource_account
            .map(Into::into)
            .or_else(|| arn.filter(|a| !a.account.is_empty()).map(|a| a.account.into()))
            .or_else(|| self.caller.account().map(Into::into));
        let action = &*self.action;
        let (service, _) = action.split_once(':').unwrap_or((action, ""));
        let is = |name: &str| action.eq_ignore_ascii_case(name);
        let on_role = arn.is_some_and(|a| a.service == "iam" && a.resource.starts_with("role/"));
        let assume = action.get(..14).is_some_and(|p| p.eq_ignore_ascii_case("sts:AssumeRole"));
        self.resource_policy_kind = if on_role && is("sts:SetSourceIdentity") {
            ResourcePolicyKind::BothMustAllow
        } else if (on_role && (assume || is("sts:TagSession")))
            || arn.is_some_and(|a| {
                a.service == "kms" && a.resource.starts_with("key/") && service.eq_ignore_ascii_case("kms")
            })
        {
            ResourcePolicyKind::MustAllow
        } else {
            ResourcePolicyKind::Ordinary
        };
        self.resource = resource.into();
    }

    /// Same account when the caller is an AWS principal of the resource's account.
    pub fn is_same_account(&self) -> bool {
        self.caller.account().is_some_and(|a| self.resource_account.as_deref() == Some(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_parse() {
        assert!(
            matches!(Caller::parse("arn:aws:sts::111111111111:assumed-role/app/s1"), Ok(Caller::Session { role, .. }) if &*role == "app")
        );
        assert!(
            matches!(Caller::parse("arn:aws:iam::111111111111:role/a/b/app"), Ok(Caller::Role { role, .. }) if &*role == "app")
        );
        assert_eq!(Caller::parse("*"), Ok(Caller::Anonymous));
        assert_eq!(Caller::parse("Events.amazonaws.com"), Ok(Caller::Service("events.amazonaws.com".into())));
        assert!(matches!(
            Caller::parse("arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"),
            Ok(Caller::Federated(_))
        ));
        assert!(Caller::parse("bob").is_err());
        assert!(Caller::parse("arn:aws:sts::111111111111:assumed-role/app").is_err());
    }

    #[test]
    fn resource_account_and_kind() {
        let caller = Caller::parse("arn:aws:iam::111111111111:user/u").unwrap();
        let r = Request::new(caller.clone(), "s3:GetObject", "arn:aws:s3:::b/k", None, Context::new());
        assert!(r.is_same_account());
        let t =
            Request::new(caller.clone(), "sts:AssumeRole", "arn:aws:iam::222222222222:role/x", None, Context::new());
        assert!(!t.is_same_account());
        assert_eq!(t.resource_policy_kind, ResourcePolicyKind::MustAllow);
        let k = Request::new(caller, "KMS:Decrypt", "arn:aws:kms:us-east-1:111111111111:key/1", None, Context::new());
        assert_eq!(k.resource_policy_kind, ResourcePolicyKind::MustAllow);
    }

    #[test]
    fn set_resource_is_new_on_that_resource() {
        let caller = Caller::parse("arn:aws:iam::111111111111:user/u").unwrap();
        let context = Context::new().with("aws:SourceIp", "10.0.0.1");
        let mut reused = Request::new(caller.clone(), "sts:AssumeRole", "*", None, context.clone());
        for (resource, account) in [
            ("arn:aws:iam::222222222222:role/x", None),
            ("arn:aws:iam::111111111111:role/y", None),
            ("arn:aws:s3:::bucket/key", None),
            ("arn:aws:iam::222222222222:role/z", Some("333333333333")),
            ("*", None),
        ] {
            reused.set_resource(resource, account);
            let fresh = Request::new(caller.clone(), "sts:AssumeRole", resource, account, context.clone());
            assert_eq!(
                (&reused.resource, &reused.resource_account, reused.resource_policy_kind, reused.is_same_account()),
                (&fresh.resource, &fresh.resource_account, fresh.resource_policy_kind, fresh.is_same_account()),
                "{resource}"
            );
        }
    }

    #[test]
    fn context_keys_fold_case() {
        let c = Context::new().with("aws:SourceIp", "10.0.0.1");
        assert_eq!(c.single("aws:sourceip"), Some("10.0.0.1"));
    }

    #[test]
    fn free_keys_and_prefixes() {
        let c = Context::new().with_free_keys([
            "sts:ExternalId",
            "aws:RequestTag/",
            "token.actions.githubusercontent.com:",
        ]);
        assert!(
            c.is_free("sts:externalid")
                && c.is_free("aws:requesttag/team")
                && c.is_free("token.actions.githubusercontent.com:sub")
        );
        assert!(!c.is_free("aws:principalorgid") && !c.is_free("sts:externalidx"));
    }
}
