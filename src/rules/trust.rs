//! The trust rule kinds, read off the trust graph: external access, OIDC
//! trusts that do not bind tokens to your own identities, confused
//! deputies, chains to privileged roles and identity brokers.
//!
//! Severities (README, "Findings and severities" and "Federation"): public
//! (`*`) critical; another account, role or organization high, medium when
//! an external id, MFA or a source network gates it; a SAML provider low; a
//! provider the account does not have low. OIDC, Google and Cognito trusts
//! take their severities from the issuer table (rules/oidc-issuers.toml):
//! unbound (the binding claims name nobody) per issuer, foreign owner or
//! tenant critical, audience left open low; Cognito guest access follows
//! what the role can do.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use petgraph::visit::EdgeRef;

use super::{Rule as PackRule, RuleKind, RulePack};
use crate::config::Config;
use crate::findings::{ConditionClass, ConditionSummary, EvidenceRef, Finding, Severity, Status, finding_id};
use crate::graph::federation::{Admission, TokenBinding};
use crate::graph::issuers::{Issuer, IssuerTable};
use crate::graph::{Access, Edge, GraphOptions, Node, ProviderKind, TrustGraph};

/// The shared fields of a rule as its TOML file defines them.
#[derive(Clone, Debug)]
pub struct RuleHead {
    pub id: String,
    pub title: String,
    /// The rule's severity; external access and OIDC grade their own (see the module doc).
    pub severity: Severity,
}

/// The trust rules that are enabled, with their parameters (the first
/// enabled rule of each kind; configuration lists are added to the rule's).
#[derive(Clone, Debug, Default)]
pub struct TrustRules {
    pub external_access: Option<(RuleHead, ExternalAccessParams)>,
    pub oidc_without_sub: Option<RuleHead>,
    /// Services that act for every customer.
    pub confused_deputy: Option<(RuleHead, Vec<String>)>,
    pub chain: Option<(RuleHead, ChainParams)>,
    pub identity_broker: Option<(RuleHead, usize)>,
    pub identity_center_is_external: bool,
    pub federation: FederationRules,
}

#[derive(Clone, Debug, Default)]
pub struct ExternalAccessParams {
    /// Vendors: their findings are archived with that reason.
    pub trusted_accounts: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct ChainParams {
    pub max_hops: usize,
    pub privileged_actions: Vec<String>,
}

/// What federated trusts are judged with: the issuer table and the trusted
/// lists it names (GitHub organizations, EKS clusters, Cognito pools, ...).
#[derive(Clone, Debug, Default)]
pub struct FederationRules {
    pub issuers: Arc<IssuerTable>,
    /// Trusted lists by name (`trusted_github_orgs`): rule parameters plus configuration.
    pub trusted: BTreeMap<String, Vec<String>>,
}

impl FederationRules {
    /// The named list; empty when nobody filled it in.
    pub fn list(&self, name: &str) -> &[String] {
        self.trusted.get(name).map_or(&[], Vec::as_slice)
    }
}

impl TrustRules {
    /// The trust rules of `pack`, tuned by the configuration's zone settings.
    pub fn from_pack(pack: &RulePack, config: &Config) -> Self {
        let head =
            |rule: &PackRule| RuleHead { id: rule.id.clone(), title: rule.title.clone(), severity: rule.severity };
        let mut rules =
            TrustRules { identity_center_is_external: config.zone.identity_center_is_external, ..Self::default() };
        let union = |a: &[String], b: &[String]| {
            let mut all: Vec<String> = a.iter().chain(b).cloned().collect();
            all.sort();
            all.dedup();
            all
        };
        // The trusted lists say what is yours; they hold whether or not the
        // OIDC rule itself reports.
        let lists = pack
            .iter()
            .filter_map(|rule| match &rule.kind {
                RuleKind::OidcTrustWithoutSub(p) => Some((rule.enabled, p.lists())),
                _ => None,
            })
            .max_by_key(|(enabled, _)| *enabled)
            .map(|(_, lists)| lists)
            .unwrap_or_default();
        rules.federation.trusted = lists;
        for (name, configured) in config.zone.trusted_lists() {
            let merged = union(rules.federation.list(name), configured);
            rules.federation.trusted.insert(name.into(), merged);
        }
        rules.federation.issuers = pack.oidc_issuers();
        for rule in pack.enabled() {
            match &rule.kind {
                RuleKind::ExternalAccess(p) if rules.external_access.is_none() => {
                    rules.identity_center_is_external |= p.identity_center_is_external;
                    let trusted_accounts = union(&p.trusted_accounts, &config.zone.trusted_accounts);
                    rules.external_access = Some((head(rule), ExternalAccessParams { trusted_accounts }));
                }
                RuleKind::OidcTrustWithoutSub(_) if rules.oidc_without_sub.is_none() => {
                    rules.oidc_without_sub = Some(head(rule));
                }
                RuleKind::ConfusedDeputy(p) if rules.confused_deputy.is_none() => {
                    rules.confused_deputy = Some((head(rule), p.services.clone()));
                }
                RuleKind::ChainToPrivileged(p) if rules.chain.is_none() => {
                    let params = ChainParams {
                        max_hops: usize::try_from(p.max_hops).unwrap_or(usize::MAX),
                        privileged_actions: p.privileged_actions.clone(),
                    };
                    rules.chain = Some((head(rule), params));
                }
                RuleKind::IdentityBroker(p) if rules.identity_broker.is_none() => {
                    rules.identity_broker = Some((head(rule), usize::try_from(p.min_roles).unwrap_or(usize::MAX)));
                }
                _ => {}
            }
        }
        rules
    }

    /// The actions that make a principal privileged (none when the chain rule is off).
    pub fn privileged_actions(&self) -> Vec<String> {
        self.chain.as_ref().map_or_else(Vec::new, |(_, p)| p.privileged_actions.clone())
    }

    /// How the trust graph is built for these rules.
    pub fn graph_options(&self) -> GraphOptions {
        GraphOptions {
            privileged_actions: self.privileged_actions(),
            broker_min_roles: self.identity_broker.as_ref().map_or(usize::MAX, |(_, min)| *min),
            issuers: Arc::clone(&self.federation.issuers),
        }
    }
}

/// What the analysis of one edge into a role concludes.
struct Verdict {
    rule: Rule,
    severity: Severity,
    is_public: bool,
    why: String,
    /// The statement behind this verdict, when it is not the edge's.
    grant: Option<Admission>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rule {
    ExternalAccess,
    OidcWithoutSub,
    ConfusedDeputy,
}

/// One finding being assembled from the verdicts on (rule, role, principal).
struct Draft<'g> {
    head: &'g RuleHead,
    account: &'g str,
    action: &'static str,
    severity: Severity,
    is_public: bool,
    whys: Vec<String>,
    conditions: Vec<ConditionSummary>,
    evidence: Vec<EvidenceRef>,
    privileged: bool,
    archived_by: Option<String>,
}

/// Every trust finding of the graph.
pub fn trust_findings(graph: &TrustGraph, rules: &TrustRules, now: DateTime<Utc>) -> Vec<Finding> {
    let mut drafts: BTreeMap<(Rule, String, String), Draft<'_>> = BTreeMap::new();
    for edge in graph.graph.edge_references() {
        let (source, target) = (&graph.graph[edge.source()], &graph.graph[edge.target()]);
        let Node::Role { arn: role, account, privileged, .. } = target else { continue };
        for verdict in judge(source, target, edge.weight(), rules) {
            let (head, archived_by) = match verdict.rule {
                Rule::ExternalAccess => match &rules.external_access {
                    Some((head, params)) => {
                        let vendor = outside_account(source).filter(|a| params.trusted_accounts.iter().any(|t| t == a));
                        (head, vendor.map(|a| format!("{a} is a trusted vendor (external-access trusted_accounts)")))
                    }
                    None => continue,
                },
                Rule::OidcWithoutSub => match &rules.oidc_without_sub {
                    Some(head) => (head, None),
                    None => continue,
                },
                Rule::ConfusedDeputy => match &rules.confused_deputy {
                    Some((head, _)) => (head, None),
                    None => continue,
                },
            };
            let (conditions, evidence) = match verdict.grant {
                Some(Admission { conditions, evidence }) => (conditions, evidence),
                None => (edge.weight().conditions.clone(), edge.weight().evidence.clone()),
            };
            let draft = drafts.entry((verdict.rule, role.clone(), source.id().to_string())).or_insert_with(|| Draft {
                head,
                account,
                action: edge.weight().action,
                severity: verdict.severity,
                is_public: false,
                whys: Vec::new(),
                conditions: Vec::new(),
                evidence: Vec::new(),
                privileged: *privileged,
                archived_by,
            });
            draft.severity = draft.severity.max(verdict.severity);
            draft.is_public |= verdict.is_public;
            push_new(&mut draft.whys, [verdict.why]);
            push_new(&mut draft.conditions, conditions);
            push_new(&mut draft.evidence, evidence);
        }
    }

    let mut out = Vec::new();
    for ((rule, role, principal), draft) in drafts {
        let severity = if rule == Rule::ConfusedDeputy { draft.head.severity } else { draft.severity };
        let mut explanation = format!("{principal} can assume {role} ({}): {}", draft.action, draft.whys.join(" "));
        if draft.privileged {
            explanation.push_str(" The role is privileged.");
        }
        if let Some(reason) = &draft.archived_by {
            explanation.push_str(&format!(" Archived: {reason}."));
        }
        out.push(Finding {
            id: finding_id(&draft.head.id, &role, &principal),
            rule: draft.head.id.clone(),
            title: draft.head.title.clone(),
            severity,
            status: if draft.archived_by.is_some() { Status::Archived } else { Status::Active },
            account: draft.account.to_string(),
            resource: role,
            principal: Some(principal),
            credential: None,
            actions: vec![draft.action.to_string()],
            conditions: draft.conditions,
            is_public: draft.is_public,
            path: Vec::new(),
            evidence: draft.evidence,
            explanation,
            first_seen: now,
            last_seen: now,
            owner: None,
            due: None,
        });
    }
    if let Some((head, params)) = &rules.chain {
        out.extend(chain_findings(graph, head, params, now));
    }
    if let Some((head, _)) = &rules.identity_broker {
        out.extend(broker_findings(graph, head, now));
    }
    out.sort_by(|a, b| {
        (a.account.as_str(), a.resource.as_str(), a.rule.as_str(), a.principal.as_deref()).cmp(&(
            &b.account,
            &b.resource,
            &b.rule,
            b.principal.as_deref(),
        ))
    });
    out
}

fn push_new<T: PartialEq>(into: &mut Vec<T>, items: impl IntoIterator<Item = T>) {
    for item in items {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

fn outside_account(node: &Node) -> Option<&str> {
    match node {
        Node::OutsideAccount { account } | Node::OutsidePrincipal { account, .. } => Some(account),
        _ => None,
    }
}

fn has_class(conditions: &[ConditionSummary], class: ConditionClass) -> bool {
    conditions.iter().any(|c| c.class == class)
}

fn verdict(rule: Rule, severity: Severity, is_public: bool, why: String) -> Verdict {
    Verdict { rule, severity, is_public, why, grant: None }
}

fn judge(source: &Node, target: &Node, edge: &Edge, rules: &TrustRules) -> Vec<Verdict> {
    let conditions = &edge.conditions;
    match source {
        Node::Public => vec![verdict(
            Rule::ExternalAccess,
            Severity::Critical,
            true,
            "the trust policy names \"*\" and no condition keeps callers inside the zone of trust.".into(),
        )],
        Node::OutsideAccount { .. } | Node::OutsidePrincipal { .. } | Node::OutsideOrganization { .. } => {
            let who = match source {
                Node::OutsideOrganization { .. } => "principals of an AWS organization outside the zone of trust",
                Node::OutsidePrincipal { .. } => "a principal of an account outside the zone of trust",
                _ => "an account outside the zone of trust",
            };
            let gates: Vec<&str> = [
                (ConditionClass::ExternalId, "an external id (sts:ExternalId, chosen by the caller)"),
                (ConditionClass::Mfa, "MFA"),
                (ConditionClass::SourceIp, "a source network"),
            ]
            .iter()
            .filter(|(class, _)| has_class(conditions, *class))
            .map(|(_, what)| *what)
            .collect();
            if gates.is_empty() {
                vec![verdict(
                    Rule::ExternalAccess,
                    Severity::High,
                    false,
                    format!("{who}, with no external id or other gate."),
                )]
            } else {
                vec![verdict(
                    Rule::ExternalAccess,
                    Severity::Medium,
                    false,
                    format!("{who}; it requires {}.", gates.join(", ")),
                )]
            }
        }
        Node::IdentityProvider { exists: Some(false), id, .. } => vec![verdict(
            Rule::ExternalAccess,
            Severity::Low,
            false,
            format!(
                "the trust names the identity provider {id}, which the account does not have: no one can use it today, but whoever creates that provider can."
            ),
        )],
        Node::IdentityProvider { inside: true, .. } => Vec::new(),
        Node::IdentityProvider { provider: ProviderKind::IdentityCenter, .. } => {
            let set = match target {
                Node::Role { permission_set: Some(set), .. } => format!("the permission set {set}"),
                _ => "this role".into(),
            };
            vec![verdict(
                Rule::ExternalAccess,
                Severity::Low,
                false,
                format!(
                    "IAM Identity Center users, configured as outside the zone of trust (identity_center_is_external), can use {set}. Identity Center users can always obtain CLI credentials for the roles they can use in the console, so its permissions are programmatic permissions too."
                ),
            )]
        }
        Node::IdentityProvider { provider: ProviderKind::Saml, .. } => {
            let audience = conditions.iter().find(|c| c.key.eq_ignore_ascii_case("saml:aud")).map_or_else(
                || " The trust has no SAML:aud condition.".to_string(),
                |c| format!(" SAML:aud is {} (recorded).", c.values.join(", ")),
            );
            vec![verdict(
                Rule::ExternalAccess,
                Severity::Low,
                false,
                format!(
                    "users of an outside SAML identity provider can assume the role; SAML:aud only names the AWS sign-in endpoint, it does not restrict who signs in.{audience}"
                ),
            )]
        }
        Node::IdentityProvider { provider, id, .. } => match &edge.federation {
            Some(binding) => judge_federated(binding, *provider, id, target, &rules.federation),
            None => Vec::new(),
        },
        Node::Service { name } => {
            let services = rules.confused_deputy.as_ref().map_or(&[][..], |(_, s)| s.as_slice());
            if edge.open_to_other_customers && services.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                vec![verdict(
                    Rule::ConfusedDeputy,
                    Severity::Medium,
                    false,
                    format!(
                        "{name} acts for every AWS customer and the trust has no aws:SourceAccount or aws:SourceArn condition pinning it to the zone of trust, so another customer's resource can make {name} use this role."
                    ),
                )]
            } else {
                Vec::new()
            }
        }
        Node::Role { .. } | Node::User { .. } => Vec::new(),
    }
}

/// An OIDC, Google, Facebook, Amazon or Cognito trust, by what the probe
/// tokens found (graph::federation) and the issuer table's severities.
fn judge_federated(
    binding: &TokenBinding,
    provider: ProviderKind,
    id: &str,
    target: &Node,
    federation: &FederationRules,
) -> Vec<Verdict> {
    let Some(issuer) = federation.issuers.issuers().get(binding.issuer_index) else { return Vec::new() };
    let name = &issuer.name;
    let mut verdicts = Vec::new();
    let with = |rule, severity, is_public, why: String, grant: &Admission| Verdict {
        rule,
        severity,
        is_public,
        why,
        grant: Some(grant.clone()),
    };

    // A tenant that is not yours: every token it signs is someone else's.
    if let (Some(list), Some(tenant)) = (&issuer.tenants, &binding.tenant) {
        let trusted = federation.list(list);
        if !trusted.is_empty() && !trusted.iter().any(|t| tenant_matches(t, tenant)) {
            verdicts.push(verdict(
                Rule::ExternalAccess,
                issuer.severity.foreign,
                false,
                format!("the {name} issuer {id} belongs to the tenant {tenant}, which is not in {list}: whoever runs it decides who gets a token."),
            ));
            return verdicts;
        }
    }
    let unbound_rule = if provider == ProviderKind::Oidc { Rule::OidcWithoutSub } else { Rule::ExternalAccess };
    if let Some(grant) = &binding.unbound {
        verdicts.push(with(unbound_rule, issuer.severity.unbound, issuer.shared, unbound_why(issuer, id), grant));
    } else {
        if let Some(list) = &issuer.owners {
            let trusted = federation.list(list);
            for owner in binding
                .owners
                .iter()
                .filter(|o| !trusted.is_empty() && !trusted.iter().any(|t| t.eq_ignore_ascii_case(&o.owner)))
            {
                verdicts.push(with(
                    Rule::ExternalAccess,
                    issuer.severity.foreign,
                    false,
                    format!("the trust admits {name} tokens of {}, which is not in {list}.", owner.owner),
                    &owner.admission,
                ));
            }
        }
        if let Some(grant) = &binding.audience_open {
            verdicts.push(with(
                Rule::ExternalAccess,
                issuer.severity.audience,
                false,
                format!(
                    "the trust does not pin the token audience (aud) to {}: tokens your own identities obtain for other audiences are accepted too.",
                    issuer.audiences.join(" or ")
                ),
                grant,
            ));
        }
    }
    if let Some(grant) = &binding.guests {
        let (severity, does) = guest_severity(target);
        verdicts.push(with(
            Rule::ExternalAccess,
            severity,
            true,
            format!("unauthenticated (guest) identities are admitted, so anyone on the internet who uses the app gets the role, which {does}."),
            grant,
        ));
    }
    verdicts
}

fn unbound_why(issuer: &Issuer, id: &str) -> String {
    let claims: Vec<&str> = issuer.binding.iter().map(|b| b.claim.as_str()).fold(Vec::new(), |mut all, c| {
        if !all.contains(&c) {
            all.push(c);
        }
        all
    });
    let who = if issuer.shared {
        format!("every identity {} signs tokens for, in any organization,", issuer.name)
    } else {
        format!("every identity of the issuer {id}")
    };
    // GitHub has nine binding claims; naming the first few says enough.
    let named = if claims.len() > 3 {
        format!("{} or another owner claim", claims[..3].join(", "))
    } else {
        claims.join(" / ")
    };
    format!(
        "no condition on {named} binds the token to an identity of yours (missing, or matching any value): {who} can assume the role."
    )
}

/// A tenant list entry matches the tenant id, or the whole issuer URL ending in it.
fn tenant_matches(entry: &str, tenant: &str) -> bool {
    let entry = entry.trim().trim_end_matches('/');
    let entry = entry.rsplit('/').next().unwrap_or(entry);
    entry.eq_ignore_ascii_case(tenant)
}

/// Guest access is as bad as what the role can do.
fn guest_severity(target: &Node) -> (Severity, &'static str) {
    match target {
        Node::Role { privileged: true, .. } => (Severity::Critical, "is privileged"),
        Node::Role { access: Access::WriteAll, .. } => (Severity::High, "can change resources of every kind"),
        Node::Role { access: Access::Write | Access::ReadAll, .. } => {
            (Severity::Medium, "can change named resources or read every resource")
        }
        _ => (Severity::Low, "can only read named resources"),
    }
}

fn chain_findings(graph: &TrustGraph, head: &RuleHead, params: &ChainParams, now: DateTime<Utc>) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for chain in graph.chains_from_outside(params.max_hops) {
        let (Some(&start), Some(&end)) = (chain.nodes.first(), chain.nodes.last()) else { continue };
        let Node::Role { arn: role, account, privileged: true, .. } = &graph.graph[end] else { continue };
        // One hop is an external-access finding already; a chain has two or more.
        if chain.edges.len() < 2 || !seen.insert((start, end)) {
            continue;
        }
        let principal = graph.graph[start].id().to_string();
        let path: Vec<String> = chain.nodes.iter().map(|&n| path_name(&graph.graph[n])).collect();
        let evidence: Vec<EvidenceRef> =
            chain.edges.iter().flat_map(|&e| graph.graph[e].evidence.iter().cloned()).collect();
        let actions: Vec<String> = chain.edges.iter().map(|&e| graph.graph[e].action.to_string()).collect();
        let conditions: Vec<ConditionSummary> =
            chain.edges.iter().flat_map(|&e| graph.graph[e].conditions.iter().cloned()).collect();
        let brokers: Vec<&str> = chain.nodes[1..chain.nodes.len() - 1]
            .iter()
            .filter(|&&n| graph.graph[n].is_broker())
            .map(|&n| graph.graph[n].id())
            .collect();
        let mut explanation = format!(
            "{principal} reaches the privileged role {role} in {} hops: {}.",
            chain.edges.len(),
            path.join(" → ")
        );
        if !brokers.is_empty() {
            explanation.push_str(&format!(" Through the identity broker {}.", brokers.join(", ")));
        }
        out.push(Finding {
            id: finding_id(&head.id, role, &principal),
            rule: head.id.clone(),
            title: head.title.clone(),
            severity: head.severity,
            status: Status::Active,
            account: account.clone(),
            resource: role.clone(),
            principal: Some(principal.clone()),
            credential: None,
            actions,
            conditions,
            is_public: matches!(graph.graph[start], Node::Public),
            explanation,
            path,
            evidence,
            first_seen: now,
            last_seen: now,
            owner: None,
            due: None,
        });
    }
    out
}

/// One info finding per identity broker, administrators and AWS's own
/// service-linked roles left out.
fn broker_findings(graph: &TrustGraph, head: &RuleHead, now: DateTime<Utc>) -> Vec<Finding> {
    let mut out = Vec::new();
    for broker in graph.brokers.iter().filter(|b| !b.administrator) {
        let (arn, account) = match &graph.graph[broker.node] {
            Node::Role { arn, account, .. } | Node::User { arn, account, .. } => (arn, account),
            _ => continue,
        };
        if arn.contains(":role/aws-service-role/") {
            continue;
        }
        let mut how = Vec::new();
        if broker.actions.contains(&"sts:GetFederationToken") {
            how.push("call sts:GetFederationToken (federated-user sessions with any session policy it passes, up to its own permissions)".to_string());
        }
        if broker.any_role {
            how.push("call sts:AssumeRole on roles it does not name one by one".to_string());
        }
        if broker.roles > 0 {
            how.push(format!("assume {} role(s) of the zone today", broker.roles));
        }
        out.push(Finding {
            id: finding_id(&head.id, arn, "broker"),
            rule: head.id.clone(),
            title: head.title.clone(),
            severity: head.severity,
            status: Status::Active,
            account: account.clone(),
            resource: arn.clone(),
            principal: None,
            credential: None,
            actions: broker.actions.iter().map(|a| a.to_string()).collect(),
            conditions: Vec::new(),
            is_public: false,
            path: Vec::new(),
            evidence: broker.evidence.clone(),
            explanation: format!(
                "{arn} is an identity broker: it can {}. Whoever holds its credentials can become those identities; chains through it are followed.",
                how.join(", and ")
            ),
            first_seen: now,
            last_seen: now,
            owner: None,
            due: None,
        });
    }
    out
}

/// How a node appears in a chain's path: an ARN where there is one.
fn path_name(node: &Node) -> String {
    match node {
        Node::OutsideAccount { account } => format!("arn:aws:iam::{account}:root"),
        other => other.id().to_string(),
    }
}
