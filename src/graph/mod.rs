//! The cross-account trust graph: who can become whom. An edge A → B means
//! "A can assume B" (sts:AssumeRole, AssumeRoleWithWebIdentity or
//! AssumeRoleWithSAML), decided by the shared evaluator on both sides: B's
//! trust policy, and for principals inside the zone A's identity policies
//! and permissions boundary. Outside principals are assumed to allow
//! themselves anything, as Access Analyzer assumes.
//!
//! The build never evaluates every principal against every role: trust
//! statements are indexed by the principals they name, and roles trusting a
//! wildcard are checked only against principals allowed to assume roles.

pub mod conditions;
pub mod export;
mod principals;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, LazyLock};

use petgraph::Direction;
use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};

use crate::collect::{AccountInventory, Inventory, Role};
use crate::eval::{Caller, Context, Decision, Layer, PolicySet, Request, evaluate};
use crate::findings::{ConditionSummary, EvidenceRef};
use crate::policy::{ActionElement, Effect, Policy, PrincipalElement};
use principals::PrincipalPolicies;

/// The accounts whose principals are trusted, and the organization if known.
#[derive(Clone, Debug, Default)]
pub struct ZoneOfTrust {
    pub organization_id: Option<String>,
    pub accounts: BTreeSet<String>,
    /// The IAM Identity Center provider counts as outside (config switch).
    pub identity_center_is_external: bool,
}

impl ZoneOfTrust {
    /// The organization when known (every member account, whatever its
    /// status), else the collected accounts.
    pub fn from_inventory(inventory: &Inventory) -> Self {
        let accounts = match &inventory.organization {
            Some(org) => org.accounts.iter().map(|a| a.id.clone()).chain([org.master_account_id.clone()]).collect(),
            None => inventory.accounts.iter().map(|a| a.account_id.clone()).collect(),
        };
        ZoneOfTrust {
            organization_id: inventory.organization.as_ref().map(|o| o.id.clone()),
            accounts,
            identity_center_is_external: false,
        }
    }

    pub fn contains(&self, account: &str) -> bool {
        self.accounts.contains(account)
    }
}

/// What kind of identity provider a federated principal is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Oidc,
    Saml,
    /// The `AWSSSO_*_DO_NOT_DELETE` SAML provider of IAM Identity Center.
    IdentityCenter,
    Cognito,
    /// Google, Facebook or Login with Amazon, named without an ARN.
    WebIdentity,
}

/// A node of the trust graph.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Node {
    Role {
        arn: String,
        account: String,
        privileged: bool,
        broker: bool,
    },
    User {
        arn: String,
        account: String,
        privileged: bool,
        broker: bool,
    },
    /// Any principal of an account outside the zone.
    OutsideAccount {
        account: String,
    },
    /// A named role or user of an outside account.
    OutsidePrincipal {
        arn: String,
        account: String,
    },
    /// `"*"`: any AWS principal anywhere.
    Public,
    IdentityProvider {
        id: String,
        provider: ProviderKind,
        inside: bool,
        exists: Option<bool>,
    },
    Service {
        name: String,
    },
}

impl Node {
    /// The name findings and exports use: an ARN, account id, `*`, provider or service.
    pub fn id(&self) -> &str {
        match self {
            Node::Role { arn, .. } | Node::User { arn, .. } | Node::OutsidePrincipal { arn, .. } => arn,
            Node::OutsideAccount { account } => account,
            Node::Public => "*",
            Node::IdentityProvider { id, .. } => id,
            Node::Service { name } => name,
        }
    }

    /// A starting point for an attacker: outside the zone of trust.
    pub fn is_outside(&self) -> bool {
        match self {
            Node::OutsideAccount { .. } | Node::OutsidePrincipal { .. } | Node::Public => true,
            Node::IdentityProvider { inside, .. } => !inside,
            Node::Role { .. } | Node::User { .. } | Node::Service { .. } => false,
        }
    }

    pub fn is_privileged(&self) -> bool {
        matches!(self, Node::Role { privileged: true, .. } | Node::User { privileged: true, .. })
    }
}

/// An edge: how the source can become the target.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Edge {
    /// `sts:AssumeRole`, `sts:AssumeRoleWithWebIdentity` or `sts:AssumeRoleWithSAML`.
    pub action: &'static str,
    /// The conditions of the trust statement that grants it.
    pub conditions: Vec<ConditionSummary>,
    /// The trust statement, and for principals inside the zone the identity statement.
    pub evidence: Vec<EvidenceRef>,
    /// For service principals: the trust also lets the service act for other
    /// customers (no aws:SourceAccount / aws:SourceArn pinning it).
    pub open_to_other_customers: bool,
}

/// The trust graph of one inventory.
#[derive(Debug, Default)]
pub struct TrustGraph {
    pub graph: DiGraph<Node, Edge>,
    index: HashMap<String, NodeIndex>,
    pub zone: ZoneOfTrust,
    /// Trust documents that name something the evaluator cannot read as a principal.
    pub problems: Vec<String>,
}

/// A way from an outside principal to a role: every hop's edge.
#[derive(Clone, Debug)]
pub struct Chain {
    pub nodes: Vec<NodeIndex>,
    pub edges: Vec<EdgeIndex>,
}

/// An account id that is in no zone: stands for "some account outside".
pub const SOMEONE_OUTSIDE: &str = "000000000000";
const OUTSIDE_ORGANIZATION: &str = "o-outsidezone";

/// An outside principal's own identity policy: everything (its account is not ours to see).
/// `NotAction: []` excludes no action, so the statement applies to all of them.
static ALLOW_ALL: LazyLock<Policy> = LazyLock::new(|| Policy {
    version: crate::policy::Version::V2012_10_17,
    id: None,
    statements: Box::new([crate::policy::Statement {
        index: 0,
        sid: Some("OutsidePrincipalAssumedToAllowItself".into()),
        effect: Effect::Allow,
        principal: None,
        action: ActionElement::NotAction(crate::policy::ActionList::default()),
        resource: crate::policy::ResourceElement::Any,
        conditions: Box::default(),
    }]),
});

impl TrustGraph {
    pub fn node(&self, id: &str) -> Option<NodeIndex> {
        self.index.get(id).copied()
    }

    fn add_node(&mut self, node: Node) -> NodeIndex {
        if let Some(&existing) = self.index.get(node.id()) {
            return existing;
        }
        let id = node.id().to_string();
        let index = self.graph.add_node(node);
        self.index.insert(id, index);
        index
    }

    /// Build the graph of `inventory` for `zone`. A principal is privileged when
    /// its policies allow any of `privileged_actions` on every resource.
    pub fn build(inventory: &Inventory, zone: ZoneOfTrust, privileged_actions: &[String]) -> TrustGraph {
        let mut graph = TrustGraph { zone, ..TrustGraph::default() };
        let principals = principals::collect(inventory);
        let roles: Vec<(&AccountInventory, &Role)> =
            inventory.accounts.iter().flat_map(|a| a.roles.iter().map(move |r| (a, r))).collect();
        let role_nodes: HashMap<&str, usize> =
            principals.iter().enumerate().map(|(i, p)| (p.arn.as_str(), i)).collect();

        // Nodes for every principal inside, marked privileged / broker.
        let mut zone_nodes = Vec::with_capacity(principals.len());
        for p in &principals {
            let allows = |action: &str| p.policies.allows_everywhere(&p.caller, &p.context, action);
            let privileged = privileged_actions.iter().any(|a| allows(a));
            let broker = allows("sts:AssumeRole") || allows("sts:GetFederationToken");
            let node = if p.is_role {
                Node::Role { arn: p.arn.clone(), account: p.account.clone(), privileged, broker }
            } else {
                Node::User { arn: p.arn.clone(), account: p.account.clone(), privileged, broker }
            };
            zone_nodes.push(graph.add_node(node));
        }

        // Index trust statements by the principals they name.
        let mut index = TrustIndex::default();
        for (role_index, (account, role)) in roles.iter().enumerate() {
            let Some(trust) = &role.trust_policy else { continue };
            for statement in trust.statements.iter().filter(|s| s.effect == Effect::Allow) {
                match &statement.principal {
                    Some(PrincipalElement::Principal(set)) => {
                        if set.any {
                            index.wildcard.push(role_index);
                        }
                        for a in &set.accounts {
                            index.by_account.entry(a.to_string()).or_default().push(role_index);
                        }
                        for r in &set.roles {
                            index.by_role.entry(format!("{}/{}", r.account, r.name)).or_default().push(role_index);
                        }
                        for e in &set.exact {
                            index.by_exact.entry(e.to_string()).or_default().push(role_index);
                        }
                        graph.add_outside_edges(account, role, set, trust);
                    }
                    Some(PrincipalElement::NotPrincipal(_)) => index.wildcard.push(role_index),
                    None => {}
                }
            }
        }
        index.dedup();

        // Inside principals: candidates from the index, decided by the evaluator.
        let mut candidates = Vec::new();
        for (p, &source) in principals.iter().zip(&zone_nodes) {
            candidates.clear();
            if p.policies.may_assume_roles() {
                candidates.extend_from_slice(index.by_account.get(&p.account).map_or(&[][..], Vec::as_slice));
                candidates.extend_from_slice(&index.wildcard);
            }
            let named = if p.is_role {
                index.by_role.get(&format!("{}/{}", p.account, p.name))
            } else {
                index.by_exact.get(&p.arn)
            };
            candidates.extend_from_slice(named.map_or(&[][..], Vec::as_slice));
            if candidates.is_empty() {
                continue;
            }
            candidates.sort_unstable();
            candidates.dedup();
            let (identity, boundaries) = p.policies.refs();
            for &role_index in &candidates {
                let (_, role) = roles[role_index];
                let Some(trust) = &role.trust_policy else { continue };
                if role.arn == p.arn {
                    continue;
                }
                let request = Request::new(p.caller.clone(), "sts:AssumeRole", &role.arn, None, p.context.clone());
                let set = PolicySet {
                    identity: &identity,
                    boundaries: &boundaries,
                    resource: Some(trust),
                    ..PolicySet::default()
                };
                let decision = evaluate(&request, &set);
                if let (true, Some(&target)) = (decision.is_allowed(), role_nodes.get(role.arn.as_str())) {
                    let edge = edge_from(&decision, "sts:AssumeRole", trust, &role.arn, Some(&p.policies), false);
                    graph.graph.add_edge(source, zone_nodes[target], edge);
                }
            }
        }
        graph
    }

    /// Edges from outside principals, providers and services named by one trust statement.
    fn add_outside_edges(
        &mut self,
        account: &AccountInventory,
        role: &Role,
        set: &crate::policy::PrincipalSet,
        trust: &Arc<Policy>,
    ) {
        let mut outsiders: Vec<(Node, Caller)> = Vec::new();
        if set.any {
            let caller = Caller::Root { account: SOMEONE_OUTSIDE.into() };
            outsiders.push((Node::Public, caller));
        }
        for a in set.accounts.iter().filter(|a| !self.zone.contains(a)) {
            outsiders.push((Node::OutsideAccount { account: a.to_string() }, Caller::Root { account: a.clone() }));
        }
        for r in set.roles.iter().filter(|r| !self.zone.contains(&r.account)) {
            let caller = Caller::Role { arn: r.arn.clone(), account: r.account.clone(), role: r.name.clone() };
            outsiders.push((Node::OutsidePrincipal { arn: r.arn.to_string(), account: r.account.to_string() }, caller));
        }
        for e in set.exact.iter() {
            match Caller::parse(e) {
                Ok(caller) if caller.account().is_some_and(|a| !self.zone.contains(a)) => {
                    let account = caller.account().unwrap_or_default().to_string();
                    outsiders.push((Node::OutsidePrincipal { arn: e.to_string(), account }, caller));
                }
                Ok(_) => {}
                Err(error) => self.problems.push(format!("{}: trust policy: {error}", role.arn)),
            }
        }
        for provider in set.federated.iter() {
            let (kind, exists) = provider_kind(provider, account);
            let inside = kind == ProviderKind::IdentityCenter && !self.zone.identity_center_is_external;
            outsiders.push((
                Node::IdentityProvider { id: provider.to_string(), provider: kind, inside, exists },
                Caller::Federated(provider.clone()),
            ));
        }
        for service in set.services.iter() {
            outsiders.push((Node::Service { name: service.to_string() }, Caller::Service(service.clone())));
        }

        let allow_all: [&Policy; 1] = [&ALLOW_ALL];
        for (node, caller) in outsiders {
            let (action, context) = outsider_request(&node, &caller, &account.account_id);
            let request = Request::new(caller.clone(), action, &role.arn, None, context);
            let identity: &[&Policy] = if caller.is_aws_principal() { &allow_all } else { &[] };
            let decision = evaluate(&request, &PolicySet { identity, resource: Some(trust), ..PolicySet::default() });
            if !decision.is_allowed() {
                continue;
            }
            let open = match &node {
                Node::Service { .. } => {
                    let context = service_context(SOMEONE_OUTSIDE);
                    let request = Request::new(caller, action, &role.arn, None, context);
                    evaluate(&request, &PolicySet { resource: Some(trust), ..PolicySet::default() }).is_allowed()
                }
                _ => false,
            };
            let edge = edge_from(&decision, action, trust, &role.arn, None, open);
            let source = self.add_node(node);
            if let Some(target) = self.node(&role.arn)
                && !self.graph.edges_connecting(source, target).any(|e| e.weight().evidence == edge.evidence)
            {
                self.graph.add_edge(source, target, edge);
            }
        }
    }

    /// Shortest chains (by hops, at most `max_hops`) from every outside node to
    /// every node it reaches, keeping the first path found to each.
    pub fn chains_from_outside(&self, max_hops: usize) -> Vec<Chain> {
        let mut chains = Vec::new();
        for start in self.graph.node_indices().filter(|&n| self.graph[n].is_outside()) {
            let mut previous: HashMap<NodeIndex, (NodeIndex, EdgeIndex)> = HashMap::new();
            let mut depth: HashMap<NodeIndex, usize> = HashMap::from([(start, 0)]);
            let mut queue = VecDeque::from([start]);
            while let Some(node) = queue.pop_front() {
                let d = depth[&node];
                if d >= max_hops {
                    continue;
                }
                for edge in self.graph.edges_directed(node, Direction::Outgoing) {
                    use petgraph::visit::EdgeRef;
                    let next = edge.target();
                    if depth.contains_key(&next) || self.graph[next].is_outside() {
                        continue;
                    }
                    depth.insert(next, d + 1);
                    previous.insert(next, (node, edge.id()));
                    queue.push_back(next);
                }
            }
            for (&end, _) in previous.iter() {
                let mut nodes = vec![end];
                let mut edges = Vec::new();
                let mut at = end;
                while let Some(&(prev, edge)) = previous.get(&at) {
                    nodes.push(prev);
                    edges.push(edge);
                    at = prev;
                }
                nodes.reverse();
                edges.reverse();
                chains.push(Chain { nodes, edges });
            }
        }
        chains.sort_by(|a, b| (a.nodes.len(), &a.nodes).cmp(&(b.nodes.len(), &b.nodes)));
        chains
    }
}

#[derive(Default)]
struct TrustIndex {
    by_account: HashMap<String, Vec<usize>>,
    by_role: HashMap<String, Vec<usize>>,
    by_exact: HashMap<String, Vec<usize>>,
    wildcard: Vec<usize>,
}

impl TrustIndex {
    fn dedup(&mut self) {
        for list in self.by_account.values_mut().chain(self.by_role.values_mut()).chain(self.by_exact.values_mut()) {
            list.dedup();
        }
        self.wildcard.dedup();
    }
}

fn provider_kind(provider: &str, account: &AccountInventory) -> (ProviderKind, Option<bool>) {
    let listed = |arn: &str| {
        let known = !account.oidc_providers.is_empty() || !account.saml_providers.is_empty();
        let found =
            account.oidc_providers.iter().any(|p| p.arn == arn) || account.saml_providers.iter().any(|p| p.arn == arn);
        known.then_some(found)
    };
    if let Some((_, name)) = provider.split_once(":saml-provider/") {
        let kind = if name.starts_with("AWSSSO_") && name.ends_with("_DO_NOT_DELETE") {
            ProviderKind::IdentityCenter
        } else {
            ProviderKind::Saml
        };
        return (kind, listed(provider));
    }
    if provider.contains(":oidc-provider/") {
        return (ProviderKind::Oidc, listed(provider));
    }
    if provider == "cognito-identity.amazonaws.com" {
        return (ProviderKind::Cognito, Some(true));
    }
    (ProviderKind::WebIdentity, Some(true))
}

/// The request an outside node makes, with what it controls left free.
fn outsider_request(node: &Node, caller: &Caller, role_account: &str) -> (&'static str, Context) {
    match node {
        Node::IdentityProvider { provider: ProviderKind::Saml | ProviderKind::IdentityCenter, .. } => (
            "sts:AssumeRoleWithSAML",
            Context::new().with_free_keys(["saml:"].into_iter().chain(conditions::CALLER_CHOSEN_KEYS.iter().copied())),
        ),
        Node::IdentityProvider { id, .. } => {
            // Every claim of the provider's tokens is the provider's to set.
            let host = id.split_once(":oidc-provider/").map_or(id.as_str(), |(_, host)| host);
            let prefix = format!("{host}:");
            let context = Context::new().with_free_keys(
                [prefix.as_str(), "accounts.google.com:", "graph.facebook.com:", "www.amazon.com:"]
                    .into_iter()
                    .chain(conditions::CALLER_CHOSEN_KEYS.iter().copied()),
            );
            ("sts:AssumeRoleWithWebIdentity", context)
        }
        Node::Service { .. } => ("sts:AssumeRole", service_context(role_account)),
        _ => {
            let account = caller.account().unwrap_or(SOMEONE_OUTSIDE);
            let context = Context::new()
                .with("aws:PrincipalAccount", account)
                .with("aws:PrincipalArn", &caller.to_string())
                .with("aws:PrincipalOrgID", OUTSIDE_ORGANIZATION)
                .with("aws:PrincipalIsAWSService", "false")
                .with_free_keys(conditions::CALLER_CHOSEN_KEYS.iter().chain(conditions::OUTSIDER_CHOSEN_KEYS).copied());
            ("sts:AssumeRole", context)
        }
    }
}

/// A service assuming a role on behalf of a resource in `source_account`.
fn service_context(source_account: &str) -> Context {
    Context::new()
        .with("aws:SourceAccount", source_account)
        .with("aws:SourceArn", &format!("arn:aws:*:*:{source_account}:*"))
        .with("aws:SourceOrgID", OUTSIDE_ORGANIZATION)
        .with("aws:PrincipalIsAWSService", "true")
        .with_free_keys(conditions::CALLER_CHOSEN_KEYS.iter().copied())
}

fn edge_from(
    decision: &Decision,
    action: &'static str,
    trust: &Policy,
    role_arn: &str,
    identity: Option<&PrincipalPolicies>,
    open_to_other_customers: bool,
) -> Edge {
    let mut evidence = Vec::new();
    let mut conditions = Vec::new();
    for r in decision.evidence.iter() {
        let found = match r.layer {
            Layer::Resource => Some((format!("{role_arn} trust policy"), trust)),
            Layer::Identity | Layer::Boundary => identity.and_then(|p| p.describe(r.layer, usize::from(r.policy))),
            _ => None,
        };
        let Some((policy_name, policy)) = found else { continue };
        let Some(statement) = policy.statements.iter().find(|s| s.index as u64 == u64::from(r.statement)) else {
            continue;
        };
        if r.layer == Layer::Resource {
            conditions = conditions::summarize(&statement.conditions);
        }
        evidence.push(EvidenceRef {
            policy: policy_name,
            statement: statement.index,
            sid: statement.sid.as_deref().map(str::to_owned),
        });
    }
    Edge { action, conditions, evidence, open_to_other_customers }
}
