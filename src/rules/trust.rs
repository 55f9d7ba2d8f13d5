//! The trust rule kinds: external access, OIDC trusts without a subject,
//! confused deputies and chains to privileged roles, read off the trust graph.
//! Severities (README, "Findings and severities"): public or open OIDC
//! critical; an outside account without gate high; with an external id, MFA
//! or source-IP gate medium; a SAML provider low; a provider the account
//! does not have info.

use chrono::{DateTime, Utc};
use petgraph::visit::EdgeRef;

use super::{Rule as PackRule, RuleKind, RulePack};
use crate::config::Config;
use crate::findings::{ConditionClass, ConditionSummary, EvidenceRef, Finding, Severity, Status, finding_id};
use crate::graph::{Edge, Node, ProviderKind, TrustGraph};

/// The shared fields of a rule as its TOML file defines them.
#[derive(Clone, Debug)]
pub struct RuleHead {
    pub id: String,
    pub title: String,
    /// The rule's severity; external access grades its own (see the module doc).
    pub severity: Severity,
}

/// The trust rules that are enabled, with their parameters (the first
/// enabled rule of each kind; configuration lists are added to the rule's).
#[derive(Clone, Debug, Default)]
pub struct TrustRules {
    pub external_access: Option<(RuleHead, ExternalAccessParams)>,
    /// Trusted GitHub organizations.
    pub oidc_without_sub: Option<(RuleHead, Vec<String>)>,
    /// Services that act for every customer.
    pub confused_deputy: Option<(RuleHead, Vec<String>)>,
    pub chain: Option<(RuleHead, ChainParams)>,
    pub identity_center_is_external: bool,
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
        for rule in pack.enabled() {
            match &rule.kind {
                RuleKind::ExternalAccess(p) if rules.external_access.is_none() => {
                    rules.identity_center_is_external |= p.identity_center_is_external;
                    let trusted_accounts = union(&p.trusted_accounts, &config.zone.trusted_accounts);
                    rules.external_access = Some((head(rule), ExternalAccessParams { trusted_accounts }));
                }
                RuleKind::OidcTrustWithoutSub(p) if rules.oidc_without_sub.is_none() => {
                    rules.oidc_without_sub =
                        Some((head(rule), union(&p.trusted_github_orgs, &config.zone.trusted_github_orgs)));
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
                _ => {}
            }
        }
        rules
    }

    /// The actions that make a principal privileged (none when the chain rule is off).
    pub fn privileged_actions(&self) -> Vec<String> {
        self.chain.as_ref().map_or_else(Vec::new, |(_, p)| p.privileged_actions.clone())
    }
}

/// What the analysis of one edge into a role concludes.
struct Verdict {
    rule: Rule,
    severity: Severity,
    is_public: bool,
    why: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    ExternalAccess,
    OidcWithoutSub,
    ConfusedDeputy,
}

/// Every trust finding of the graph.
pub fn trust_findings(graph: &TrustGraph, rules: &TrustRules, now: DateTime<Utc>) -> Vec<Finding> {
    let mut out = Vec::new();
    let trusted_orgs = rules.oidc_without_sub.as_ref().map_or(&[][..], |(_, orgs)| orgs.as_slice());
    for edge in graph.graph.edge_references() {
        let (source, target) = (&graph.graph[edge.source()], &graph.graph[edge.target()]);
        let Node::Role { arn: role, account, privileged, .. } = target else { continue };
        let Some(verdict) = judge(source, edge.weight(), trusted_orgs, rules) else { continue };
        let (head, archived_by) = match verdict.rule {
            Rule::ExternalAccess => match &rules.external_access {
                Some((head, params)) => {
                    let vendor = outside_account(source).filter(|a| params.trusted_accounts.iter().any(|t| t == a));
                    (head, vendor.map(|a| format!("{a} is a trusted vendor (external-access trusted_accounts)")))
                }
                None => continue,
            },
            Rule::OidcWithoutSub => match &rules.oidc_without_sub {
                Some((head, _)) => (head, None),
                None => continue,
            },
            Rule::ConfusedDeputy => match &rules.confused_deputy {
                Some((head, _)) => (head, None),
                None => continue,
            },
        };
        let severity = if verdict.rule == Rule::ExternalAccess { verdict.severity } else { head.severity };
        let principal = source.id().to_string();
        let mut explanation = format!("{principal} can assume {role} ({}): {}", edge.weight().action, verdict.why);
        if *privileged {
            explanation.push_str(" The role is privileged.");
        }
        if let Some(reason) = &archived_by {
            explanation.push_str(&format!(" Archived: {reason}."));
        }
        out.push(Finding {
            id: finding_id(&head.id, role, &principal),
            rule: head.id.clone(),
            title: head.title.clone(),
            severity,
            status: if archived_by.is_some() { Status::Archived } else { Status::Active },
            account: account.clone(),
            resource: role.clone(),
            principal: Some(principal),
            credential: None,
            actions: vec![edge.weight().action.to_string()],
            conditions: edge.weight().conditions.clone(),
            is_public: verdict.is_public,
            path: Vec::new(),
            evidence: edge.weight().evidence.clone(),
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
    out.sort_by(|a, b| {
        (a.account.as_str(), a.resource.as_str(), a.rule.as_str()).cmp(&(&b.account, &b.resource, &b.rule))
    });
    out
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

fn judge(source: &Node, edge: &Edge, trusted_github_orgs: &[String], rules: &TrustRules) -> Option<Verdict> {
    let conditions = &edge.conditions;
    let verdict = |rule, severity, is_public, why: String| Some(Verdict { rule, severity, is_public, why });
    match source {
        Node::Public => verdict(
            Rule::ExternalAccess,
            Severity::Critical,
            true,
            "the trust policy names \"*\" and no condition keeps callers inside the zone of trust.".into(),
        ),
        Node::OutsideAccount { .. } | Node::OutsidePrincipal { .. } => {
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
                verdict(Rule::ExternalAccess, Severity::High, false, "an account outside the zone of trust, with no external id or other gate.".into())
            } else {
                verdict(Rule::ExternalAccess, Severity::Medium, false, format!("an account outside the zone of trust; it requires {}.", gates.join(", ")))
            }
        }
        Node::IdentityProvider { exists: Some(false), id, .. } => verdict(
            Rule::ExternalAccess,
            Severity::Info,
            false,
            format!("the trust names the identity provider {id}, which the account does not have: no one can use it today, but whoever creates that provider can."),
        ),
        Node::IdentityProvider { inside: true, .. } => None,
        Node::IdentityProvider { provider: ProviderKind::Oidc, id, .. } => judge_oidc(id, conditions, trusted_github_orgs),
        Node::IdentityProvider { provider: ProviderKind::Cognito, .. } => {
            if has_class(conditions, ConditionClass::OidcAud) {
                return None;
            }
            let guests = conditions.iter().any(|c| c.key.to_ascii_lowercase().ends_with(":amr") && c.values.iter().any(|v| v.contains("unauthenticated")));
            verdict(
                Rule::ExternalAccess,
                Severity::Critical,
                guests,
                if guests {
                    "no cognito-identity.amazonaws.com:aud condition, and unauthenticated identities are allowed: any identity pool of any AWS account, and anyone on the internet through it, gets the role.".into()
                } else {
                    "no cognito-identity.amazonaws.com:aud condition: identities of any identity pool in any AWS account can assume the role.".into()
                },
            )
        }
        Node::IdentityProvider { provider: ProviderKind::WebIdentity, id, .. } => {
            if has_class(conditions, ConditionClass::OidcAud) {
                return None;
            }
            verdict(Rule::ExternalAccess, Severity::Critical, true, format!("no audience condition: any application signed in with {id} can assume the role."))
        }
        Node::IdentityProvider { .. } => verdict(
            Rule::ExternalAccess,
            Severity::Low,
            false,
            "users of an outside SAML identity provider can assume the role; SAML:aud only names the AWS sign-in endpoint, it does not restrict who signs in.".into(),
        ),
        Node::Service { name } => {
            let services = rules.confused_deputy.as_ref().map_or(&[][..], |(_, s)| s.as_slice());
            (edge.open_to_other_customers && services.iter().any(|s| s.eq_ignore_ascii_case(name))).then(|| Verdict {
                rule: Rule::ConfusedDeputy,
                severity: Severity::Medium,
                is_public: false,
                why: format!("{name} acts for every AWS customer and the trust has no aws:SourceAccount or aws:SourceArn condition, so another customer's resource can make {name} use this role."),
            })
        }
        Node::Role { .. } | Node::User { .. } => None,
    }
}

/// OIDC: the subject claim binds a token to an identity of your own; without
/// it (or with a pattern matching every subject) any identity of the issuer
/// gets in.
fn judge_oidc(provider: &str, conditions: &[ConditionSummary], trusted_github_orgs: &[String]) -> Option<Verdict> {
    let subjects: Vec<&ConditionSummary> = conditions.iter().filter(|c| c.class == ConditionClass::OidcSub).collect();
    let negated = |c: &ConditionSummary| c.operator.contains("Not");
    let open_value = |v: &str| {
        let v = v.trim();
        v == "*"
            || v == "repo:*"
            || v.starts_with("repo:*")
            || v == "system:serviceaccount:*"
            || v.starts_with("system:serviceaccount:*")
    };
    let unrestricted =
        subjects.is_empty() || subjects.iter().any(|c| negated(c) || c.values.iter().any(|v| open_value(v)));
    if unrestricted {
        return Some(Verdict {
            rule: Rule::OidcWithoutSub,
            severity: Severity::Critical,
            is_public: true,
            why: format!(
                "no condition restricts the token subject (sub) of {provider}: every identity the issuer signs for gets the role."
            ),
        });
    }
    if provider.ends_with("token.actions.githubusercontent.com") && !trusted_github_orgs.is_empty() {
        let foreign: Vec<&str> = subjects
            .iter()
            .flat_map(|c| c.values.iter())
            .filter_map(|v| v.strip_prefix("repo:"))
            .filter_map(|rest| rest.split('/').next())
            .filter(|owner| {
                owner.contains(['*', '?']) || !trusted_github_orgs.iter().any(|t| t.eq_ignore_ascii_case(owner))
            })
            .collect();
        if !foreign.is_empty() {
            return Some(Verdict {
                rule: Rule::ExternalAccess,
                severity: Severity::Critical,
                is_public: false,
                why: format!(
                    "the GitHub subject names repository owners that are not trusted GitHub organizations: {}.",
                    foreign.join(", ")
                ),
            });
        }
    }
    None
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
            explanation: format!(
                "{principal} reaches the privileged role {role} in {} hops: {}.",
                chain.edges.len(),
                path.join(" → ")
            ),
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

/// How a node appears in a chain's path: an ARN where there is one.
fn path_name(node: &Node) -> String {
    match node {
        Node::OutsideAccount { account } => format!("arn:aws:iam::{account}:root"),
        other => other.id().to_string(),
    }
}
