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
//! Outside principals are tried once per trust statement, as the callers the
//! statement and its conditions name (an account, a role, an organization in
//! aws:PrincipalOrgID, an account in aws:PrincipalAccount); identity
//! providers are probed with tokens of identities the trust should not admit
//! (`federation`).

pub mod conditions;
pub mod export;
pub mod federation;
pub mod issuers;
mod principals;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, LazyLock};

use petgraph::Direction;
use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::collect::{AccountInventory, Inventory, Role};
use crate::eval::{Caller, Context, ContextValue, Decision, Layer, Outcome, PolicySet, Request, evaluate};
use crate::findings::{ConditionSummary, EvidenceRef};
use crate::policy::{ActionElement, Effect, Policy, PrincipalElement, PrincipalSet, Statement};
use federation::{Admission, Federation, TokenBinding};
use issuers::IssuerTable;
use principals::{PrincipalPolicies, ZonePrincipal};

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

    fn is_own_organization(&self, id: &str) -> bool {
        self.organization_id.as_deref().is_some_and(|own| own.eq_ignore_ascii_case(id))
    }
}

/// How the graph is built.
#[derive(Clone, Debug)]
pub struct GraphOptions {
    /// A principal whose policies allow any of these on every resource is privileged.
    pub privileged_actions: Vec<String>,
    /// A principal that can assume at least this many roles is an identity broker.
    pub broker_min_roles: usize,
    /// The OIDC issuer table (rules/oidc-issuers.toml).
    pub issuers: Arc<IssuerTable>,
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

/// What a principal's identity policies let it do, coarsely: the most of
/// any Allow statement. Ordered from nothing to writing everywhere.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    #[default]
    None,
    /// Read actions (Get*, List*, Describe*, ...) on named resources.
    Read,
    /// Read actions on every resource.
    ReadAll,
    /// Other actions on named resources.
    Write,
    /// Other actions on every resource.
    WriteAll,
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
        access: Access,
        /// For IAM Identity Center roles (`AWSReservedSSO_<set>_<id>`): the permission set.
        #[serde(skip_serializing_if = "Option::is_none")]
        permission_set: Option<String>,
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
    /// Any principal of another AWS organization (a trust's aws:PrincipalOrgID).
    OutsideOrganization {
        id: String,
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
            Node::OutsideOrganization { id } => id,
            Node::Public => "*",
            Node::IdentityProvider { id, .. } => id,
            Node::Service { name } => name,
        }
    }

    /// A starting point for an attacker: outside the zone of trust.
    pub fn is_outside(&self) -> bool {
        match self {
            Node::OutsideAccount { .. }
            | Node::OutsidePrincipal { .. }
            | Node::OutsideOrganization { .. }
            | Node::Public => true,
            Node::IdentityProvider { inside, .. } => !inside,
            Node::Role { .. } | Node::User { .. } | Node::Service { .. } => false,
        }
    }

    pub fn is_privileged(&self) -> bool {
        matches!(self, Node::Role { privileged: true, .. } | Node::User { privileged: true, .. })
    }

    pub fn is_broker(&self) -> bool {
        matches!(self, Node::Role { broker: true, .. } | Node::User { broker: true, .. })
    }
}

/// An edge: how the source can become the target.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Edge {
    /// `sts:AssumeRole`, `sts:AssumeRoleWithWebIdentity` or `sts:AssumeRoleWithSAML`.
    pub action: &'static str,
    /// The conditions of the trust statement that grants it, and of Deny
    /// statements the caller has to keep clear of (an external id a Deny
    /// requires gates the grant as much as one the Allow requires).
    pub conditions: Vec<ConditionSummary>,
    /// The trust statement, and for principals inside the zone the identity statement.
    pub evidence: Vec<EvidenceRef>,
    /// For service principals: the trust also lets the service act for other
    /// customers (no aws:SourceAccount / aws:SourceArn pinning it to the zone).
    pub open_to_other_customers: bool,
    /// For identity providers: which of the issuer's identities get in.
    /// Boxed: few edges have one, and inline it would triple every edge's size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federation: Option<Box<TokenBinding>>,
}

/// A principal that can obtain credentials for other identities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broker {
    pub node: NodeIndex,
    /// `sts:GetFederationToken` and/or `sts:AssumeRole`.
    pub actions: Vec<&'static str>,
    /// The identity statements that allow it.
    pub evidence: Vec<EvidenceRef>,
    /// sts:AssumeRole is allowed on roles not named one by one (`*`, `role/*`).
    pub any_role: bool,
    /// The roles it can assume (edges of the graph).
    pub roles: usize,
    /// Allowed every action: a broker because it is an administrator.
    pub administrator: bool,
}

/// The trust graph of one inventory.
#[derive(Debug, Default)]
pub struct TrustGraph {
    pub graph: DiGraph<Node, Edge>,
    index: HashMap<String, NodeIndex>,
    pub zone: ZoneOfTrust,
    /// Trust documents that name something the evaluator cannot read as a principal.
    pub problems: Vec<String>,
    /// Identity brokers, by node.
    pub brokers: Vec<Broker>,
    /// The issuer table the federated edges were judged with.
    pub issuers: Arc<IssuerTable>,
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
/// Stands for a resource name nobody wrote in a policy.
const PROBE_NAME: &str = "zz-probe";
/// The path of IAM Identity Center's permission-set roles.
const IDENTITY_CENTER_PATH: &str = "/aws-reserved/sso.amazonaws.com/";

/// An outside principal's own identity policy: everything (its account is not ours to see).
/// `NotAction: []` excludes no action, so the statement applies to all of them.
static ALLOW_ALL: LazyLock<Policy> = LazyLock::new(|| Policy {
    version: crate::policy::Version::V2012_10_17,
    id: None,
    statements: Box::new([Statement {
        index: 0,
        sid: Some("OutsidePrincipalAssumedToAllowItself".into()),
        effect: Effect::Allow,
        principal: None,
        action: ActionElement::NotAction(crate::policy::ActionList::default()),
        resource: crate::policy::ResourceElement::Any,
        conditions: Box::default(),
    }]),
});

/// A resource policy that lets every principal do everything: stands in for
/// the far side when only a principal's own policies are in question.
static TRUSTS_ANYONE: LazyLock<Policy> = LazyLock::new(|| Policy {
    version: crate::policy::Version::V2012_10_17,
    id: None,
    statements: Box::new([Statement {
        index: 0,
        sid: Some("AnyoneMayAssume".into()),
        effect: Effect::Allow,
        principal: Some(PrincipalElement::Principal(PrincipalSet { any: true, ..PrincipalSet::default() })),
        action: ActionElement::NotAction(crate::policy::ActionList::default()),
        resource: crate::policy::ResourceElement::Any,
        conditions: Box::default(),
    }]),
});

/// One way an outside principal may call: who, and with which request context.
struct Attempt {
    caller: Caller,
    context: Context,
}

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

    /// Build the graph of `inventory` for `zone`.
    pub fn build_with(inventory: &Inventory, zone: ZoneOfTrust, options: &GraphOptions) -> TrustGraph {
        let mut graph = TrustGraph { zone, issuers: Arc::clone(&options.issuers), ..TrustGraph::default() };
        let principals = principals::collect(inventory);
        let roles: Vec<(&AccountInventory, &Role)> =
            inventory.accounts.iter().flat_map(|a| a.roles.iter().map(move |r| (a, r))).collect();
        let role_nodes: HashMap<&str, usize> =
            principals.iter().enumerate().map(|(i, p)| (p.arn.as_str(), i)).collect();

        // Nodes for every principal inside, marked privileged / broker.
        let mut zone_nodes = Vec::with_capacity(principals.len());
        let mut brokers = Vec::new();
        for p in &principals {
            let allows = |action: &str| p.policies.allows_everywhere(&p.caller, &p.context, action);
            let privileged = options.privileged_actions.iter().any(|a| allows(a));
            let broker = broker_of(p);
            let node = if p.is_role {
                Node::Role {
                    arn: p.arn.clone(),
                    account: p.account.clone(),
                    privileged,
                    broker: broker.is_some(),
                    access: p.policies.access(),
                    permission_set: permission_set(&p.path, &p.name),
                }
            } else {
                Node::User { arn: p.arn.clone(), account: p.account.clone(), privileged, broker: broker.is_some() }
            };
            let index = graph.add_node(node);
            zone_nodes.push(index);
            brokers.push(broker.map(|b| Broker { node: index, ..b }));
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
                    Some(PrincipalElement::NotPrincipal(_)) => {
                        // Everyone but the listed principals: as `*` for
                        // outsiders; the evaluator applies the exclusion.
                        index.wildcard.push(role_index);
                        let everyone = PrincipalSet { any: true, ..PrincipalSet::default() };
                        graph.add_outside_edges(account, role, &everyone, trust);
                    }
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
            // One request per principal, pointed at each candidate in turn.
            let mut request = Request::new(p.caller.clone(), "sts:AssumeRole", "*", None, p.context.clone());
            for &role_index in &candidates {
                let (_, role) = roles[role_index];
                let Some(trust) = &role.trust_policy else { continue };
                if role.arn == p.arn {
                    continue;
                }
                request.set_resource(&role.arn, None);
                let set = PolicySet {
                    identity: &identity,
                    boundaries: &boundaries,
                    resource: Some(trust),
                    ..PolicySet::default()
                };
                let decision = evaluate(&request, &set);
                if let (true, Some(&target)) = (decision.is_allowed(), role_nodes.get(role.arn.as_str())) {
                    let (evidence, conditions) = cite(&decision, &role.arn, trust, Some(&p.policies));
                    let edge = Edge {
                        action: "sts:AssumeRole",
                        conditions,
                        evidence,
                        open_to_other_customers: false,
                        federation: None,
                    };
                    graph.graph.add_edge(source, zone_nodes[target], edge);
                }
            }
        }

        // Brokers by reach: a principal that can assume many roles.
        for (slot, (&node, p)) in brokers.iter_mut().zip(zone_nodes.iter().zip(&principals)) {
            let edges: Vec<&Edge> = graph.graph.edges_directed(node, Direction::Outgoing).map(|e| e.weight()).collect();
            let targets: HashSet<NodeIndex> =
                graph.graph.edges_directed(node, Direction::Outgoing).map(|e| e.target()).collect();
            if let Some(broker) = slot {
                broker.roles = targets.len();
            } else if targets.len() >= options.broker_min_roles.max(1) {
                let identity_policy = |e: &&EvidenceRef| !e.policy.ends_with(" trust policy");
                let mut evidence: Vec<EvidenceRef> = Vec::new();
                for e in edges.iter().flat_map(|e| e.evidence.iter()).filter(identity_policy) {
                    if !evidence.contains(e) {
                        evidence.push(e.clone());
                    }
                }
                let administrator = p.policies.allows_everywhere(&p.caller, &p.context, ANY_ACTION);
                *slot = Some(Broker {
                    node,
                    actions: vec!["sts:AssumeRole"],
                    evidence,
                    any_role: false,
                    roles: targets.len(),
                    administrator,
                });
                if let Node::Role { broker, .. } | Node::User { broker, .. } = &mut graph.graph[node] {
                    *broker = true;
                }
            }
        }
        graph.brokers = brokers.into_iter().flatten().collect();
        graph
    }

    /// Edges from outside principals, providers and services named by one trust statement.
    fn add_outside_edges(&mut self, account: &AccountInventory, role: &Role, set: &PrincipalSet, trust: &Arc<Policy>) {
        let named = NamedInConditions::read(trust);
        let mut outsiders: Vec<(Node, Vec<Attempt>)> = Vec::new();
        if set.any {
            let caller = Caller::Root { account: SOMEONE_OUTSIDE.into() };
            outsiders.push((Node::Public, vec![Attempt::aws(caller, OUTSIDE_ORGANIZATION, &[])]));
            // A wildcard narrowed by conditions to principals outside the zone:
            // those principals get in, and the finding names them.
            for a in named.accounts.iter().filter(|a| !self.zone.contains(a)) {
                outsiders.push((Node::OutsideAccount { account: a.clone() }, named.attempts_in(a)));
            }
            for arn in named.principal_arns.iter().filter(|a| !a.contains(['*', '?'])) {
                if let Ok(caller) = Caller::parse(arn)
                    && let Some(a) = caller.account().filter(|a| !self.zone.contains(a)).map(str::to_string)
                {
                    let node = Node::OutsidePrincipal { arn: arn.clone(), account: a };
                    outsiders.push((node, vec![Attempt::aws(caller, OUTSIDE_ORGANIZATION, &[])]));
                }
            }
            for org in named.organizations.iter().filter(|o| !self.zone.is_own_organization(o)) {
                let caller = Caller::Root { account: SOMEONE_OUTSIDE.into() };
                let paths: Vec<String> =
                    named.org_paths.iter().filter(|p| p.starts_with(org.as_str())).cloned().collect();
                let attempt = Attempt::aws(caller, org, &paths);
                outsiders.push((Node::OutsideOrganization { id: org.clone() }, vec![attempt]));
            }
        }
        for a in set.accounts.iter().filter(|a| !self.zone.contains(a)) {
            outsiders.push((Node::OutsideAccount { account: a.to_string() }, named.attempts_in(a)));
        }
        for r in set.roles.iter().filter(|r| !self.zone.contains(&r.account)) {
            let caller = Caller::Role { arn: r.arn.clone(), account: r.account.clone(), role: r.name.clone() };
            let node = Node::OutsidePrincipal { arn: r.arn.to_string(), account: r.account.to_string() };
            outsiders.push((node, vec![Attempt::aws(caller, OUTSIDE_ORGANIZATION, &[])]));
        }
        for e in set.exact.iter() {
            match Caller::parse(e) {
                Ok(caller) if caller.account().is_some_and(|a| !self.zone.contains(a)) => {
                    let account = caller.account().unwrap_or_default().to_string();
                    let node = Node::OutsidePrincipal { arn: e.to_string(), account };
                    outsiders.push((node, vec![Attempt::aws(caller, OUTSIDE_ORGANIZATION, &[])]));
                }
                Ok(_) => {}
                Err(error) => self.problems.push(format!("{}: trust policy: {error}", role.arn)),
            }
        }
        for provider in set.federated.iter() {
            let (kind, exists) = provider_kind(provider, account);
            let inside = kind == ProviderKind::IdentityCenter && !self.zone.identity_center_is_external;
            let node = Node::IdentityProvider { id: provider.to_string(), provider: kind, inside, exists };
            outsiders.push((node, vec![Attempt::federated(Caller::Federated(provider.clone()), kind)]));
        }

        let allow_all: [&Policy; 1] = [&ALLOW_ALL];
        for (node, attempts) in outsiders {
            let action = match &node {
                Node::IdentityProvider { provider: ProviderKind::Saml | ProviderKind::IdentityCenter, .. } => {
                    "sts:AssumeRoleWithSAML"
                }
                Node::IdentityProvider { .. } => "sts:AssumeRoleWithWebIdentity",
                _ => "sts:AssumeRole",
            };
            let decided = attempts.into_iter().find_map(|attempt| {
                let request = Request::new(attempt.caller.clone(), action, &role.arn, None, attempt.context);
                let identity: &[&Policy] = if attempt.caller.is_aws_principal() { &allow_all } else { &[] };
                let decision =
                    evaluate(&request, &PolicySet { identity, resource: Some(trust), ..PolicySet::default() });
                decision.is_allowed().then_some((decision, request))
            });
            let Some((decision, request)) = decided else { continue };
            let (evidence, mut conditions) = cite(&decision, &role.arn, trust, None);
            conditions.extend(deny_gates(trust, &request, &conditions));
            let federation = match &node {
                Node::IdentityProvider { id, provider, exists, .. }
                    if matches!(provider, ProviderKind::Oidc | ProviderKind::WebIdentity | ProviderKind::Cognito)
                        && *exists != Some(false) =>
                {
                    self.token_binding(id, trust, &role.arn, &request.caller).map(Box::new)
                }
                _ => None,
            };
            let edge = Edge { action, conditions, evidence, open_to_other_customers: false, federation };
            self.connect(node, &role.arn, edge);
        }
        for service in set.services.iter() {
            self.add_service_edge(account, role, service, trust);
        }
    }

    /// A service's edge: when it can use the role for the role's own account,
    /// or for another customer (then the trust is open to a confused deputy).
    fn add_service_edge(&mut self, account: &AccountInventory, role: &Role, service: &str, trust: &Arc<Policy>) {
        let caller = Caller::Service(service.into());
        let named = NamedInConditions::read(trust);
        let decide = |source_account: &str, organization: &str| {
            service_attempts(service, source_account, organization, &named).into_iter().find_map(|context| {
                let request = Request::new(caller.clone(), "sts:AssumeRole", &role.arn, None, context);
                let decision = evaluate(&request, &PolicySet { resource: Some(trust), ..PolicySet::default() });
                decision.is_allowed().then_some(decision)
            })
        };
        let own_organization = self.zone.organization_id.clone().unwrap_or_else(|| OUTSIDE_ORGANIZATION.into());
        let own = decide(&account.account_id, &own_organization);
        let others: Vec<&String> = std::iter::once(&named.someone_outside)
            .chain(named.source_accounts.iter().filter(|a| !self.zone.contains(a)))
            .collect();
        let open = others.into_iter().find_map(|a| decide(a, OUTSIDE_ORGANIZATION));
        let open_to_other_customers = open.is_some();
        let Some(decision) = open.or(own) else { return };
        let (evidence, conditions) = cite(&decision, &role.arn, trust, None);
        let edge = Edge { action: "sts:AssumeRole", conditions, evidence, open_to_other_customers, federation: None };
        self.connect(Node::Service { name: service.to_string() }, &role.arn, edge);
    }

    fn connect(&mut self, node: Node, role_arn: &str, edge: Edge) {
        let source = self.add_node(node);
        // Look from the role's side: a service or outside account may already
        // have tens of thousands of edges out (edges_connecting walks those),
        // a role has few in from outside.
        if let Some(target) = self.node(role_arn)
            && !self
                .graph
                .edges_directed(target, Direction::Incoming)
                .any(|e| e.source() == source && e.weight().evidence == edge.evidence)
        {
            self.graph.add_edge(source, target, edge);
        }
    }

    /// Which identities of an identity provider's issuer the trust admits.
    fn token_binding(&self, provider: &str, trust: &Policy, role_arn: &str, caller: &Caller) -> Option<TokenBinding> {
        let url = provider.split_once(":oidc-provider/").map_or(provider, |(_, url)| url);
        let (index, tenant) = self.issuers.find(url)?;
        let issuer = self.issuers.issuers().get(index)?;
        let admission = |decision: &Decision| {
            let (evidence, conditions) = cite(decision, role_arn, trust, None);
            Admission { conditions, evidence }
        };
        let federation = Federation::new((issuer, index, tenant), url, trust, role_arn, caller.clone(), &admission);
        Some(federation.analyse())
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

/// An action no policy names: allowed only by `"Action": "*"` (or NotAction).
const ANY_ACTION: &str = "trustwarden:AnyActionProbe";

/// A principal that can obtain credentials for others by its policies alone:
/// sts:GetFederationToken, or sts:AssumeRole on roles not named one by one.
fn broker_of(p: &ZonePrincipal) -> Option<Broker> {
    let account = &p.account;
    let probes: [(&'static str, [String; 3]); 2] = [
        (
            "sts:GetFederationToken",
            ["*".into(), format!("arn:aws:sts::{account}:federated-user/{PROBE_NAME}"), String::new()],
        ),
        (
            "sts:AssumeRole",
            [
                "*".into(),
                format!("arn:aws:iam::{account}:role/{PROBE_NAME}"),
                format!("arn:aws:iam::{SOMEONE_OUTSIDE}:role/{PROBE_NAME}"),
            ],
        ),
    ];
    let mut actions = Vec::new();
    let mut evidence: Vec<EvidenceRef> = Vec::new();
    let (identity, boundaries) = p.policies.refs();
    for (action, resources) in probes.iter().filter(|(action, _)| p.policies.may_allow(action)) {
        let allowed = resources.iter().filter(|r| !r.is_empty()).find_map(|resource| {
            // A role ARN makes the request a trust-policy request, which the
            // role must allow itself; asked as a cross-account request to a
            // role that trusts anyone, only the principal's own policies decide.
            let request = Request::new(p.caller.clone(), action, resource, Some(SOMEONE_OUTSIDE), p.context.clone());
            let set = PolicySet {
                identity: &identity,
                boundaries: &boundaries,
                resource: Some(&TRUSTS_ANYONE),
                ..PolicySet::default()
            };
            let decision = evaluate(&request, &set);
            decision.is_allowed().then_some(decision)
        });
        if let Some(decision) = allowed {
            actions.push(*action);
            for e in identity_evidence(&decision, &p.policies) {
                if !evidence.contains(&e) {
                    evidence.push(e);
                }
            }
        }
    }
    if actions.is_empty() {
        return None;
    }
    Some(Broker {
        node: NodeIndex::end(),
        any_role: actions.contains(&"sts:AssumeRole"),
        actions,
        evidence,
        roles: 0,
        administrator: p.policies.allows_everywhere(&p.caller, &p.context, ANY_ACTION),
    })
}

/// The Identity Center permission set of an `AWSReservedSSO_<set>_<id>` role.
fn permission_set(path: &str, name: &str) -> Option<String> {
    let rest = name.strip_prefix("AWSReservedSSO_")?;
    if !path.starts_with(IDENTITY_CENTER_PATH) {
        return None;
    }
    Some(rest.rsplit_once('_').map_or(rest, |(set, _)| set).to_string())
}

/// Principals and sources a trust's conditions name: the callers to try
/// besides the principals its `Principal` element names.
struct NamedInConditions {
    /// Accounts in aws:PrincipalAccount, and those of aws:PrincipalArn patterns.
    accounts: BTreeSet<String>,
    /// aws:PrincipalArn values as written.
    principal_arns: Vec<String>,
    /// aws:PrincipalOrgID values, and the organizations of aws:PrincipalOrgPaths values.
    organizations: BTreeSet<String>,
    /// aws:PrincipalOrgPaths values, wildcards filled in.
    org_paths: Vec<String>,
    /// Accounts in aws:SourceAccount / aws:SourceOwner and those of aws:SourceArn values.
    source_accounts: BTreeSet<String>,
    /// aws:SourceArn values as written.
    source_arns: Vec<String>,
    someone_outside: String,
}

impl NamedInConditions {
    fn read(trust: &Policy) -> Self {
        let mut named = NamedInConditions {
            accounts: BTreeSet::new(),
            principal_arns: Vec::new(),
            organizations: BTreeSet::new(),
            org_paths: Vec::new(),
            source_accounts: BTreeSet::new(),
            source_arns: Vec::new(),
            someone_outside: SOMEONE_OUTSIDE.into(),
        };
        let arn_account = |arn: &str| arn.split(':').nth(4).filter(|a| is_account(a)).map(str::to_string);
        for condition in trust.statements.iter().flat_map(|s| s.conditions.iter()) {
            for value in condition.values_written.iter().map(|v| v.trim()) {
                match &*condition.key {
                    "aws:principalaccount" if is_account(value) => {
                        named.accounts.insert(value.to_string());
                    }
                    "aws:principalarn" => {
                        // A written-out ARN is tried as that principal; a
                        // pattern stands for principals of its account.
                        if value.contains(['*', '?']) {
                            named.accounts.extend(arn_account(value));
                        }
                        named.principal_arns.push(value.to_string());
                    }
                    "aws:principalorgid" if value.starts_with("o-") && !value.contains(['*', '?']) => {
                        named.organizations.insert(value.to_string());
                    }
                    "aws:principalorgpaths" => {
                        let org = value.split('/').next().unwrap_or_default();
                        if org.starts_with("o-") && !org.contains(['*', '?']) {
                            named.organizations.insert(org.to_string());
                        }
                        named.org_paths.push(fill_wildcards(value));
                    }
                    "aws:sourceaccount" | "aws:sourceowner" if is_account(value) => {
                        named.source_accounts.insert(value.to_string());
                    }
                    "aws:sourcearn" => {
                        named.source_accounts.extend(arn_account(value));
                        named.source_arns.push(value.to_string());
                    }
                    _ => {}
                }
            }
        }
        named
    }

    /// Ways any principal of outside account `account` may call: as the
    /// account's root, and as the principals aws:PrincipalArn names there.
    fn attempts_in(&self, account: &str) -> Vec<Attempt> {
        let mut attempts = vec![Attempt::aws(Caller::Root { account: account.into() }, OUTSIDE_ORGANIZATION, &[])];
        for arn in &self.principal_arns {
            let concrete = fill_wildcards(arn);
            if let Ok(caller) = Caller::parse(&concrete)
                && caller.account() == Some(account)
                && !matches!(caller, Caller::Root { .. })
            {
                attempts.push(Attempt::aws(caller, OUTSIDE_ORGANIZATION, &[]));
            }
        }
        attempts
    }
}

fn is_account(text: &str) -> bool {
    crate::policy::arn::is_account_id(text)
}

/// A written pattern made concrete: every wildcard stands for a probe name.
fn fill_wildcards(text: &str) -> String {
    text.replace('*', PROBE_NAME).replace('?', "z")
}

impl Attempt {
    /// An outside AWS principal: AWS sets its account, ARN and organization;
    /// it chooses what conditions::CALLER_CHOSEN_KEYS and
    /// OUTSIDER_CHOSEN_KEYS list.
    fn aws(caller: Caller, organization: &str, org_paths: &[String]) -> Attempt {
        let account = caller.account().unwrap_or(SOMEONE_OUTSIDE).to_string();
        let principal_arn = match &caller {
            Caller::Session { account, role, .. } => format!("arn:aws:iam::{account}:role/{role}"),
            other => other.to_string(),
        };
        let mut context = Context::new()
            .with("aws:PrincipalAccount", &account)
            .with("aws:PrincipalArn", &principal_arn)
            .with("aws:PrincipalOrgID", organization)
            .with("aws:PrincipalIsAWSService", "false");
        if !org_paths.is_empty() {
            let paths: Vec<Box<str>> = org_paths.iter().map(|p| p.as_str().into()).collect();
            context.insert("aws:PrincipalOrgPaths", ContextValue::Multi(paths.into_boxed_slice()));
        }
        let context = context
            .with_free_keys(conditions::CALLER_CHOSEN_KEYS.iter().chain(conditions::OUTSIDER_CHOSEN_KEYS).copied());
        Attempt { caller, context }
    }

    /// An identity provider's token: every claim and SAML key is the provider's to set.
    fn federated(caller: Caller, kind: ProviderKind) -> Attempt {
        let id = caller.to_string();
        let context = match kind {
            ProviderKind::Saml | ProviderKind::IdentityCenter => Context::new()
                .with_free_keys(["saml:"].into_iter().chain(conditions::CALLER_CHOSEN_KEYS.iter().copied())),
            _ => {
                let host = id.split_once(":oidc-provider/").map_or(id.as_str(), |(_, host)| host);
                let prefix = format!("{host}:");
                Context::new().with_free_keys(
                    [prefix.as_str(), "accounts.google.com:", "graph.facebook.com:", "www.amazon.com:"]
                        .into_iter()
                        .chain(conditions::CALLER_CHOSEN_KEYS.iter().copied()),
                )
            }
        };
        Attempt { caller, context }
    }
}

/// Request contexts of a service acting for a resource of `source_account`:
/// aws:SourceArn as a resource of the service in that account, and as each
/// aws:SourceArn the trust names, moved into that account.
fn service_attempts(
    service: &str,
    source_account: &str,
    organization: &str,
    named: &NamedInConditions,
) -> Vec<Context> {
    let short = service.split('.').next().unwrap_or(service);
    let short = short.strip_suffix("-tasks").unwrap_or(short);
    let mut arns = vec![format!("arn:aws:{short}:us-east-1:{source_account}:{PROBE_NAME}")];
    for written in &named.source_arns {
        let mut parts: Vec<String> = written.splitn(6, ':').map(str::to_string).collect();
        if parts.len() != 6 {
            continue;
        }
        let account = &parts[4];
        if account.contains(['*', '?']) || account.is_empty() || account == source_account {
            parts[4] = source_account.to_string();
            let arn = fill_wildcards(&parts.join(":"));
            if !arns.contains(&arn) {
                arns.push(arn);
            }
        }
    }
    arns.into_iter()
        .map(|arn| {
            Context::new()
                .with("aws:SourceAccount", source_account)
                .with("aws:SourceOwner", source_account)
                .with("aws:SourceArn", &arn)
                .with("aws:SourceOrgID", organization)
                .with("aws:PrincipalIsAWSService", "true")
                .with_free_keys(conditions::CALLER_CHOSEN_KEYS.iter().copied())
        })
        .collect()
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
        // Without any provider file the account's providers are unknown
        // (an older snapshot), not absent.
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

/// The statements a decision rests on, as findings cite them, and the
/// conditions of the trust statement among them.
fn cite(
    decision: &Decision,
    role_arn: &str,
    trust: &Policy,
    identity: Option<&PrincipalPolicies>,
) -> (Vec<EvidenceRef>, Vec<ConditionSummary>) {
    // Sized exactly: a graph keeps millions of these (a growing Vec would reserve four).
    let mut evidence = Vec::with_capacity(decision.evidence.iter().count());
    let mut conditions = Vec::new();
    for r in decision.evidence.iter() {
        let found = match r.layer {
            // concat sizes the name exactly (format! reserves more): the graph keeps one per edge.
            Layer::Resource => Some(([role_arn, " trust policy"].concat(), trust)),
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
    (evidence, conditions)
}

/// The identity and boundary statements a decision of a principal's own policies rests on.
fn identity_evidence(decision: &Decision, policies: &PrincipalPolicies) -> Vec<EvidenceRef> {
    decision
        .evidence
        .iter()
        .filter_map(|r| {
            let (name, policy) = policies.describe(r.layer, usize::from(r.policy))?;
            let statement = policy.statements.iter().find(|s| s.index as u64 == u64::from(r.statement))?;
            Some(EvidenceRef {
                policy: name,
                statement: statement.index,
                sid: statement.sid.as_deref().map(str::to_owned),
            })
        })
        .collect()
}

/// Conditions of Deny statements that would stop this caller if it did not
/// keep clear of them: the caller meets the grant only by satisfying their
/// negation, so they gate it like the Allow's own conditions.
fn deny_gates(trust: &Policy, request: &Request, already: &[ConditionSummary]) -> Vec<ConditionSummary> {
    let mut gates = Vec::new();
    for statement in trust.statements.iter().filter(|s| s.effect == Effect::Deny && !s.conditions.is_empty()) {
        let unconditional = Policy {
            version: trust.version,
            id: None,
            statements: Box::new([Statement { conditions: Box::default(), ..statement.clone() }]),
        };
        let decision = evaluate(request, &PolicySet { resource: Some(&unconditional), ..PolicySet::default() });
        if decision.outcome == Outcome::ExplicitDeny {
            for c in conditions::summarize(&statement.conditions) {
                if !already.contains(&c) && !gates.contains(&c) {
                    gates.push(c);
                }
            }
        }
    }
    gates
}
