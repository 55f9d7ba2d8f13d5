//! Principals inside the zone with their effective policies gathered once:
//! inline, attached managed and (for users) group policies, and the
//! permissions boundary, each with the name evidence cites.

use std::sync::Arc;

use crate::collect::{AccountInventory, Inventory, NamedPolicy};
use crate::eval::{Caller, Context, ContextValue, Layer, PolicySet, Request, evaluate};
use crate::policy::{Effect, Policy};

use super::conditions::CALLER_CHOSEN_KEYS;

/// A role or user of a collected account.
pub struct ZonePrincipal {
    pub arn: String,
    pub name: String,
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
        self.identity
            .iter()
            .flat_map(|(_, p)| p.statements.iter())
            .any(|s| s.effect == Effect::Allow && s.action.covers("sts:AssumeRole"))
    }

    /// Whether the policies allow `action` on every resource (`"*"` taken literally
    /// matches only statements written for all resources).
    pub fn allows_everywhere(&self, caller: &Caller, context: &Context, action: &str) -> bool {
        let (identity, boundaries) = self.refs();
        let request = Request::new(caller.clone(), action, "*", caller.account(), context.clone());
        evaluate(&request, &PolicySet { identity: &identity, boundaries: &boundaries, ..PolicySet::default() })
            .is_allowed()
    }
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
