//! Principals inside the zone with their effective policies gathered once:
//! inline, attached managed and (for users) group policies, and the
//! permissions boundary, each with the name evidence cites.

use std::sync::Arc;

use crate::collect::{AccountInventory, Inventory, NamedPolicy};
use crate::eval::{Caller, Context, ContextValue, Decision, Layer, PolicySet, Request, evaluate};
use crate::policy::{ActionElement, Effect, Policy, ResourceElement};

use super::Access;
use super::conditions::CALLER_CHOSEN_KEYS;

/// A role or user of a collected account.
pub struct ZonePrincipal {
    pub arn: String,
    pub name: String,
    /// The IAM path (`/`, `/aws-reserved/sso.amazonaws.com/`).
    pub path: String,
    pub account: String,
    pub is_role: bool,
    pub caller: Caller,
    /// What AWS puts in the request context for this principal.
    pub context: Context,
    pub policies: PrincipalPolicies,
}

/// One principal's identity policies and boundary, with evidence names.
#[derive(Default)]
pub struct PrincipalPolicies {
    pub identity: Vec<(String, Arc<Policy>)>,
    pub boundary: Option<(String, Arc<Policy>)>,
}

impl PrincipalPolicies {
    /// Borrowed lists for the evaluator; build once per principal, reuse per request.
    pub fn refs(&self) -> (Vec<&Policy>, Vec<&Policy>) {
        (self.identity.iter().map(|(_, p)| &**p).collect(), self.boundary.iter().map(|(_, p)| &**p).collect())
    }

    /// The name and document behind an evidence reference.
    pub fn describe(&self, layer: Layer, index: usize) -> Option<(String, &Policy)> {
        let (name, policy) = match layer {
            Layer::Identity => self.identity.get(index)?,
            Layer::Boundary => self.boundary.as_ref()?,
            _ => return None,
        };
        Some((name.clone(), &**policy))
    }

    /// Whether any identity statement could allow sts:AssumeRole at all (a
    /// cheap filter before indexed candidates are evaluated).
    pub fn may_assume_roles(&self) -> bool {
        self.may_allow("sts:AssumeRole")
    }

    /// Whether any identity Allow statement names `action` (before resources
    /// and conditions are looked at).
    pub fn may_allow(&self, action: &str) -> bool {
        self.identity
            .iter()
            .flat_map(|(_, p)| p.statements.iter())
            .any(|s| s.effect == Effect::Allow && s.action.covers(action))
    }

    /// Whether the policies allow `action` on every resource (`"*"` taken literally
    /// matches only statements written for all resources).
    pub fn allows_everywhere(&self, caller: &Caller, context: &Context, action: &str) -> bool {
        self.decide(caller, context, action, "*").is_allowed()
    }

    /// The decision of the principal's own policies (identity and boundary)
    /// on `action` over `resource`, in the principal's account.
    pub fn decide(&self, caller: &Caller, context: &Context, action: &str, resource: &str) -> Decision {
        let (identity, boundaries) = self.refs();
        let request = Request::new(caller.clone(), action, resource, caller.account(), context.clone());
        evaluate(&request, &PolicySet { identity: &identity, boundaries: &boundaries, ..PolicySet::default() })
    }

    /// What the identity policies let the principal do, read from their
    /// Allow statements: whether any action beyond reading is allowed, and
    /// whether on every resource. Deny statements and the boundary are not
    /// subtracted, so this errs towards more.
    pub fn access(&self) -> Access {
        let mut access = Access::None;
        for statement in self.identity.iter().flat_map(|(_, p)| p.statements.iter()) {
            if statement.effect != Effect::Allow {
                continue;
            }
            let writes = match &statement.action {
                ActionElement::Action(list) => list.patterns().iter().any(|p| !is_read_action(p.as_str())),
                ActionElement::NotAction(_) => true,
            };
            let everywhere = match &statement.resource {
                ResourceElement::Any | ResourceElement::NotResource(_) => true,
                ResourceElement::Resource(patterns) => patterns.iter().any(|p| p.as_str() == "*"),
            };
            let level = match (writes, everywhere) {
                (true, true) => Access::WriteAll,
                (true, false) => Access::Write,
                (false, true) => Access::ReadAll,
                (false, false) => Access::Read,
            };
            access = access.max(level);
        }
        access
    }
}

/// Action-name prefixes that only read (AWS's List, Read and most Describe
/// access levels follow these verbs).
const READ_VERBS: [&str; 13] = [
    "Get", "List", "Describe", "Head", "Query", "Scan", "Select", "BatchGet", "Search", "Lookup", "View", "Filter",
    "Check",
];

/// Actions named like reads that hand out credentials.
const CREDENTIAL_ACTIONS: [&str; 6] = [
    "sts:getfederationtoken",
    "sts:getsessiontoken",
    "sso:getrolecredentials",
    "cognito-identity:getcredentialsforidentity",
    "cognito-identity:getopenidtoken",
    "cognito-identity:getopenidtokenfordeveloperidentity",
];

/// Whether an action pattern can only match reading actions: its name starts
/// with a read verb before any wildcard (`s3:Get*` reads, `s3:*` does not),
/// and it cannot match an action that hands out credentials.
fn is_read_action(pattern: &str) -> bool {
    let Some((_, name)) = pattern.split_once(':') else { return false };
    let lower = pattern.to_ascii_lowercase();
    let prefix = lower.split(['*', '?']).next().unwrap_or_default();
    if CREDENTIAL_ACTIONS.iter().any(|a| a.starts_with(prefix)) {
        return false;
    }
    let literal = name.split(['*', '?']).next().unwrap_or_default();
    READ_VERBS.iter().any(|verb| literal.get(..verb.len()).is_some_and(|start| start.eq_ignore_ascii_case(verb)))
}

/// Every user and role of the inventory, with policies resolved.
pub fn collect(inventory: &Inventory) -> Vec<ZonePrincipal> {
    let organization = inventory.organization.as_ref().map(|o| o.id.as_str());
    let mut out = Vec::new();
    for account in &inventory.accounts {
        let lookup = ManagedPolicies::new(account);
        for role in &account.roles {
            let mut policies = PrincipalPolicies::default();
            lookup.add(&mut policies, &format!("role/{}", role.name), &role.inline_policies, &role.attached_policies);
            policies.boundary = role.permissions_boundary.as_deref().and_then(|arn| lookup.get(arn));
            let caller = Caller::Role {
                arn: role.arn.as_str().into(),
                account: account.account_id.as_str().into(),
                role: role.name.as_str().into(),
            };
            let context =
                principal_context(&account.account_id, &role.arn, organization, "AssumedRole", None, &role.tags);
            out.push(ZonePrincipal {
                arn: role.arn.clone(),
                name: role.name.clone(),
                path: role.path.clone(),
                account: account.account_id.clone(),
                is_role: true,
                caller,
                context,
                policies,
            });
        }
        for user in &account.users {
            let mut policies = PrincipalPolicies::default();
            lookup.add(&mut policies, &format!("user/{}", user.name), &user.inline_policies, &user.attached_policies);
            for group in account.groups.iter().filter(|g| user.groups.contains(&g.name)) {
                lookup.add(
                    &mut policies,
                    &format!("group/{}", group.name),
                    &group.inline_policies,
                    &group.attached_policies,
                );
            }
            policies.boundary = user.permissions_boundary.as_deref().and_then(|arn| lookup.get(arn));
            let caller = Caller::User { arn: user.arn.as_str().into(), account: account.account_id.as_str().into() };
            let context =
                principal_context(&account.account_id, &user.arn, organization, "User", Some(&user.name), &user.tags);
            out.push(ZonePrincipal {
                arn: user.arn.clone(),
                name: user.name.clone(),
                path: user.path.clone(),
                account: account.account_id.clone(),
                is_role: false,
                caller,
                context,
                policies,
            });
        }
    }
    out
}

fn principal_context(
    account: &str,
    arn: &str,
    organization: Option<&str>,
    principal_type: &str,
    username: Option<&str>,
    tags: &std::collections::BTreeMap<String, String>,
) -> Context {
    let mut context = Context::new()
        .with("aws:PrincipalAccount", account)
        .with("aws:PrincipalArn", arn)
        .with("aws:PrincipalType", principal_type)
        .with("aws:PrincipalIsAWSService", "false");
    if let Some(org) = organization {
        context.insert("aws:PrincipalOrgID", ContextValue::Single(org.into()));
    }
    if let Some(name) = username {
        context.insert("aws:username", ContextValue::Single(name.into()));
    }
    for (key, value) in tags {
        context.insert(&format!("aws:PrincipalTag/{key}"), ContextValue::Single(value.as_str().into()));
    }
    context.with_free_keys(CALLER_CHOSEN_KEYS.iter().copied())
}

/// Managed policies of one account by ARN.
struct ManagedPolicies<'a> {
    by_arn: std::collections::HashMap<&'a str, &'a Arc<Policy>>,
}

impl<'a> ManagedPolicies<'a> {
    fn new(account: &'a AccountInventory) -> Self {
        ManagedPolicies { by_arn: account.managed_policies.iter().map(|m| (m.arn.as_str(), &m.policy)).collect() }
    }

    fn get(&self, arn: &str) -> Option<(String, Arc<Policy>)> {
        self.by_arn.get(arn).map(|p| (arn.to_string(), Arc::clone(p)))
    }

    fn add(&self, into: &mut PrincipalPolicies, owner: &str, inline: &[NamedPolicy], attached: &[String]) {
        for p in inline {
            into.identity.push((format!("{owner} inline policy {}", p.name), Arc::clone(&p.policy)));
        }
        into.identity.extend(attached.iter().filter_map(|arn| self.get(arn)));
    }
}
