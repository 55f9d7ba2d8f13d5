//! The shared IAM policy evaluator: pure, synchronous, no I/O, no clock.
//! Every rule, the trust graph and `simulate` decide access here. The
//! semantics are specified in docs/evaluator.md.

pub mod case;
mod condition;
pub mod request;

use crate::policy::{Effect, Policy, PrincipalElement, PrincipalSet, ResourceElement, Statement};

pub use condition::holds as condition_holds;
pub use request::{Caller, CallerError, Context, ContextValue, Request, ResourcePolicyKind};

/// The policies that bear on one request. Identity policies, boundaries and
/// the session policy apply to AWS principals only; SCPs and RCPs are given
/// per organization level, root first.
#[derive(Clone, Copy, Debug, Default)]
pub struct PolicySet<'p> {
    pub identity: &'p [&'p Policy],
    /// The permissions boundary; several documents are read as one boundary.
    pub boundaries: &'p [&'p Policy],
    pub session: Option<&'p Policy>,
    pub resource: Option<&'p Policy>,
    pub scps: &'p [&'p [&'p Policy]],
    pub rcps: &'p [&'p [&'p Policy]],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// Which kind of policy a statement belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layer {
    Identity,
    Boundary,
    Session,
    Resource,
    Scp,
    Rcp,
}

/// A statement that took part in a decision: layer, organization level (SCP
/// and RCP only), position of the policy in its list, statement index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StatementRef {
    pub layer: Layer,
    pub level: u16,
    pub policy: u16,
    pub statement: u32,
}

/// How a resource policy's Allow names the caller; stronger grants override
/// more of the caller's own limits in the same account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grant {
    /// The caller's account: a delegation to its identity policies.
    Account,
    /// `"*"`: everyone.
    Wildcard,
    /// The caller's role.
    Role,
    /// The caller itself: user, session, federated-user ARN, service or provider.
    Exact,
}

/// Why the decision came out as it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    GetCallerIdentity,
    ExplicitDeny,
    NoScpAllow { level: u16 },
    NoRcpAllow { level: u16 },
    NoResourceGrant,
    CrossAccountWithoutResourceGrant,
    ResourcePolicyMustAllow,
    NoIdentityAllow,
    BoundaryWithoutAllow,
    SessionPolicyWithoutAllow,
    AllowedByIdentity,
    AllowedByResource(Grant),
    AllowedByBoth,
}

impl Reason {
    pub fn describe(self) -> String {
        match self {
            Reason::GetCallerIdentity => "sts:GetCallerIdentity needs no permission and cannot be denied".into(),
            Reason::ExplicitDeny => "an applicable Deny statement".into(),
            Reason::NoScpAllow { level } => {
                format!("no service control policy at organization level {level} allows the request")
            }
            Reason::NoRcpAllow { level } => {
                format!("no resource control policy at organization level {level} allows the request")
            }
            Reason::NoResourceGrant => {
                "the caller is not an IAM principal and no resource policy statement grants it access".into()
            }
            Reason::CrossAccountWithoutResourceGrant => {
                "cross-account request: the resource policy must allow it and does not".into()
            }
            Reason::ResourcePolicyMustAllow => {
                "role trust policies and KMS key policies must themselves allow the caller, and this one does not"
                    .into()
            }
            Reason::NoIdentityAllow => "no identity-based policy allows the request".into(),
            Reason::BoundaryWithoutAllow => "the permissions boundary does not allow the request".into(),
            Reason::SessionPolicyWithoutAllow => "the session policy does not allow the request".into(),
            Reason::AllowedByIdentity => "allowed by identity-based policy".into(),
            Reason::AllowedByResource(grant) => format!("allowed by the resource policy ({} grant)", grant_name(grant)),
            Reason::AllowedByBoth => "cross-account: allowed by both the identity-based and the resource policy".into(),
        }
    }
}

fn grant_name(grant: Grant) -> &'static str {
    match grant {
        Grant::Account => "account",
        Grant::Wildcard => "wildcard",
        Grant::Role => "role",
        Grant::Exact => "principal",
    }
}

/// The statements behind a decision, kept inline (no allocation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    items: [Option<StatementRef>; 4],
}

impl Evidence {
    fn push(&mut self, item: Option<StatementRef>) {
        if let Some(slot) = self.items.iter_mut().find(|s| s.is_none()) {
            *slot = item;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = StatementRef> + '_ {
        self.items.iter().flatten().copied()
    }
}

/// The evaluator's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    pub reason: Reason,
    pub evidence: Evidence,
}

impl Decision {
    fn new(outcome: Outcome, reason: Reason, evidence: Evidence) -> Self {
        Decision { outcome, reason, evidence }
    }

    fn deny(statement: StatementRef) -> Self {
        let mut evidence = Evidence::default();
        evidence.push(Some(statement));
        Decision::new(Outcome::ExplicitDeny, Reason::ExplicitDeny, evidence)
    }

    fn implicit(reason: Reason) -> Self {
        Decision::new(Outcome::ImplicitDeny, reason, Evidence::default())
    }

    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }
}

/// How a statement's `Principal` element is read.
#[derive(Clone, Copy)]
enum PrincipalMode {
    /// Identity policies, boundaries, session policies, SCPs, RCPs: the principal is implied.
    Implied,
    /// A resource policy: the element must name the caller.
    Named { caller_has_boundary: bool },
}

/// The first Deny and the strongest Allow that apply in one policy.
#[derive(Default)]
struct Scan {
    deny: Option<u32>,
    allow: Option<(u32, Grant)>,
}

/// Decide `request` under `policies`.
pub fn evaluate(request: &Request, policies: &PolicySet<'_>) -> Decision {
    if request.get_caller_identity {
        return Decision::new(Outcome::Allow, Reason::GetCallerIdentity, Evidence::default());
    }
    let aws_principal = request.caller.is_aws_principal();
    let applicable = |layer: Layer| match layer {
        Layer::Scp | Layer::Identity | Layer::Boundary | Layer::Session => aws_principal,
        Layer::Rcp | Layer::Resource => true,
    };
    let caller_has_boundary = aws_principal && !policies.boundaries.is_empty();

    // Organization levels: a Deny anywhere wins; each level needs an Allow.
    let mut org_gap = None;
    for (layer, levels) in [(Layer::Scp, policies.scps), (Layer::Rcp, policies.rcps)] {
        if !applicable(layer) {
            continue;
        }
        for (level, level_policies) in levels.iter().enumerate() {
            let mut allowed = false;
            for (index, policy) in level_policies.iter().enumerate() {
                let scan = scan(policy, request, PrincipalMode::Implied);
                if let Some(statement) = scan.deny {
                    return Decision::deny(statement_ref(layer, level, index, statement));
                }
                allowed |= scan.allow.is_some();
            }
            if !allowed && org_gap.is_none() {
                let level = level as u16;
                org_gap =
                    Some(if layer == Layer::Scp { Reason::NoScpAllow { level } } else { Reason::NoRcpAllow { level } });
            }
        }
    }

    let resource = match policies.resource {
        Some(policy) => {
            let scan = scan(policy, request, PrincipalMode::Named { caller_has_boundary });
            if let Some(statement) = scan.deny {
                return Decision::deny(statement_ref(Layer::Resource, 0, 0, statement));
            }
            scan.allow.map(|(statement, grant)| (statement_ref(Layer::Resource, 0, 0, statement), grant))
        }
        None => None,
    };

    let layer_allow = |layer: Layer, list: &[&Policy]| -> Result<Option<StatementRef>, Decision> {
        let mut first_allow = None;
        if !applicable(layer) {
            return Ok(None);
        }
        for (index, policy) in list.iter().enumerate() {
            let scan = scan(policy, request, PrincipalMode::Implied);
            if let Some(statement) = scan.deny {
                return Err(Decision::deny(statement_ref(layer, 0, index, statement)));
            }
            if first_allow.is_none() {
                first_allow = scan.allow.map(|(statement, _)| statement_ref(layer, 0, index, statement));
            }
        }
        Ok(first_allow)
    };
    let session_list: &[&Policy] = policies.session.as_slice();
    let (boundary, session, identity) = match (
        layer_allow(Layer::Boundary, policies.boundaries),
        layer_allow(Layer::Session, session_list),
        layer_allow(Layer::Identity, policies.identity),
    ) {
        (Ok(b), Ok(s), Ok(i)) => (b, s, i),
        (Err(d), _, _) | (_, Err(d), _) | (_, _, Err(d)) => return d,
    };

    if let Some(reason) = org_gap {
        return Decision::implicit(reason);
    }
    if !aws_principal {
        return match resource {
            Some((statement, grant)) => {
                let mut evidence = Evidence::default();
                evidence.push(Some(statement));
                Decision::new(Outcome::Allow, Reason::AllowedByResource(grant), evidence)
            }
            None => Decision::implicit(Reason::NoResourceGrant),
        };
    }

    // The root user holds every identity permission of its account implicitly.
    let identity_allows = identity.is_some() || matches!(request.caller, Caller::Root { .. });
    let boundary_ok = policies.boundaries.is_empty() || boundary.is_some();
    // A federated user (GetFederationToken) without a session policy has no
    // permissions of its own; a role session without one is unrestricted.
    let session_ok = match policies.session {
        Some(_) => session.is_some(),
        None => !matches!(request.caller, Caller::FederatedUser { .. }),
    };
    let own_limits_ok = boundary_ok && session_ok;
    let own_side_gap = if !identity_allows {
        Reason::NoIdentityAllow
    } else if !boundary_ok {
        Reason::BoundaryWithoutAllow
    } else {
        Reason::SessionPolicyWithoutAllow
    };
    let identity_side_ok = identity_allows && own_limits_ok;
    let own_evidence = |evidence: &mut Evidence| {
        evidence.push(identity);
        evidence.push(boundary);
        evidence.push(session);
    };

    if !request.is_same_account() {
        return match resource {
            Some((statement, _)) if identity_side_ok => {
                let mut evidence = Evidence::default();
                own_evidence(&mut evidence);
                evidence.push(Some(statement));
                Decision::new(Outcome::Allow, Reason::AllowedByBoth, evidence)
            }
            Some(_) => Decision::implicit(own_side_gap),
            None => Decision::implicit(Reason::CrossAccountWithoutResourceGrant),
        };
    }

    let both_must_allow = request.resource_policy_kind == ResourcePolicyKind::BothMustAllow;
    match resource {
        Some((statement, grant))
            if !both_must_allow && (grant == Grant::Exact || (grant > Grant::Account && own_limits_ok)) =>
        {
            let mut evidence = Evidence::default();
            evidence.push(Some(statement));
            Decision::new(Outcome::Allow, Reason::AllowedByResource(grant), evidence)
        }
        None if request.resource_policy_kind == ResourcePolicyKind::MustAllow => {
            Decision::implicit(Reason::ResourcePolicyMustAllow)
        }
        _ if identity_side_ok => {
            let mut evidence = Evidence::default();
            own_evidence(&mut evidence);
            if let Some((statement, _)) = resource {
                evidence.push(Some(statement));
            }
            Decision::new(Outcome::Allow, Reason::AllowedByIdentity, evidence)
        }
        _ => Decision::implicit(own_side_gap),
    }
}

fn statement_ref(layer: Layer, level: usize, policy: usize, statement: u32) -> StatementRef {
    // Policies hold at most a few thousand statements and lists a few dozen
    // policies; saturate rather than wrap if a document is absurd.
    let narrow = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
    StatementRef { layer, level: narrow(level), policy: narrow(policy), statement }
}

fn scan(policy: &Policy, request: &Request, mode: PrincipalMode) -> Scan {
    let mut out = Scan::default();
    for statement in policy.statements.iter() {
        let Some(grant) = applies(statement, request, mode) else {
            continue;
        };
        let index = u32::try_from(statement.index).unwrap_or(u32::MAX);
        match statement.effect {
            Effect::Deny => {
                out.deny = Some(index);
                return out;
            }
            Effect::Allow => {
                if out.allow.is_none_or(|(_, best)| grant > best) {
                    out.allow = Some((index, grant));
                }
            }
        }
    }
    out
}

/// Whether a statement applies to the request, and how it names the caller.
fn applies(statement: &Statement, request: &Request, mode: PrincipalMode) -> Option<Grant> {
    if !statement.action.covers(&request.action) {
        return None;
    }
    let resolve = |key: &str| request.context.single(key);
    let resource_matches = match &statement.resource {
        ResourceElement::Any => true,
        ResourceElement::Resource(patterns) => patterns.iter().any(|p| p.matches_with(&request.resource, &resolve)),
        ResourceElement::NotResource(patterns) => !patterns.iter().any(|p| p.matches_with(&request.resource, &resolve)),
    };
    if !resource_matches {
        return None;
    }
    let grant = match mode {
        PrincipalMode::Implied => Grant::Exact,
        PrincipalMode::Named { caller_has_boundary } => match &statement.principal {
            None => return None,
            Some(PrincipalElement::Principal(set)) => principal_grant(set, &request.caller)?,
            Some(PrincipalElement::NotPrincipal(set)) => {
                let always = statement.effect == Effect::Deny && caller_has_boundary;
                if !always && not_principal_excludes(set, &request.caller) {
                    return None;
                }
                Grant::Wildcard
            }
        },
    };
    statement.conditions.iter().all(|c| condition::holds_for(c, &request.context, statement.effect)).then_some(grant)
}

/// The strongest way `set` names `caller`, if it does.
pub fn principal_grant(set: &PrincipalSet, caller: &Caller) -> Option<Grant> {
    let exact = |arn: &str| set.exact.iter().any(|e| **e == *arn);
    let role = |account: &str, name: &str| set.roles.iter().any(|r| *r.account == *account && *r.name == *name);
    let account = |a: &str| set.accounts.iter().any(|x| **x == *a);
    let best = match caller {
        Caller::User { arn, .. } | Caller::FederatedUser { arn, .. } if exact(arn) => Some(Grant::Exact),
        Caller::Session { arn, .. } if exact(arn) => Some(Grant::Exact),
        Caller::Session { account, role: name, .. } | Caller::Role { account, role: name, .. }
            if role(account, name) =>
        {
            Some(Grant::Role)
        }
        Caller::Service(service) if set.services.iter().any(|s| **s == **service) => Some(Grant::Exact),
        Caller::Federated(provider) if set.federated.iter().any(|f| **f == **provider) => Some(Grant::Exact),
        _ => None,
    };
    best.or(set.any.then_some(Grant::Wildcard))
        .or_else(|| caller.account().filter(|a| account(a)).map(|_| Grant::Account))
}

/// Whether a `NotPrincipal` element lists every identity the caller carries.
fn not_principal_excludes(set: &PrincipalSet, caller: &Caller) -> bool {
    if set.any {
        return true;
    }
    let exact = |arn: &str| set.exact.iter().any(|e| **e == *arn);
    let account = |a: &str| set.accounts.iter().any(|x| **x == *a);
    match caller {
        Caller::User { arn, account: a } | Caller::FederatedUser { arn, account: a } => exact(arn) && account(a),
        Caller::Session { arn, account: a, role } => {
            exact(arn) && account(a) && set.roles.iter().any(|r| *r.account == **a && r.name == *role)
        }
        Caller::Root { account: a } => account(a),
        Caller::Service(service) => set.services.iter().any(|s| **s == **service),
        Caller::Federated(provider) => set.federated.iter().any(|f| **f == **provider),
        // A role's session name is unknown, so its session ARN cannot be listed.
        Caller::Role { .. } | Caller::Anonymous => false,
    }
}
