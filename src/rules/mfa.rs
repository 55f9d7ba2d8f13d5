//! The MFA condition pitfall (rule kind `mfa-condition-pitfall`): a Deny
//! meant to require MFA that tests aws:MultiFactorAuthPresent with `Bool`
//! (or aws:MultiFactorAuthAge with a Numeric operator) without `IfExists`.
//! Requests signed with a long-term access key carry neither key, so such a
//! Deny never applies to them. Each candidate statement is confirmed with
//! the evaluator: denied when the key says "no MFA", not denied when the key
//! is absent, with the policy's other Deny statements still in force (a
//! sibling `Null` Deny fixes the pitfall).

use chrono::{DateTime, Utc};

use super::pack::{RuleKind, RulePack};
use crate::collect::{AccountInventory, NamedPolicy};
use crate::eval::{Caller, Context, Outcome, PolicySet, Request, evaluate};
use crate::findings::{EvidenceRef, Finding, Status, finding_id};
use crate::graph::conditions::summarize;
use crate::policy::{ActionElement, BaseOperator, Condition, Effect, Policy, ResourceElement, Statement};

const MFA_PRESENT: &str = "aws:multifactorauthpresent";
const MFA_AGE: &str = "aws:multifactorauthage";
/// Actions tried for a `NotAction` Deny, in order: common actions an MFA
/// policy does not exempt.
const PROBE_ACTIONS: [&str; 5] =
    ["s3:GetObject", "ec2:DescribeInstances", "dynamodb:GetItem", "ssm:GetParameter", "lambda:InvokeFunction"];

/// What is wrong with a statement, in words and as the fixed condition.
struct Pitfall {
    what: &'static str,
    fix: &'static str,
    /// The request context of a session without MFA, or with MFA too old.
    without_mfa: Context,
}

/// Findings of the first enabled `mfa-condition-pitfall` rule for one account.
pub fn mfa_pitfall_findings(pack: &RulePack, account: &AccountInventory, now: DateTime<Utc>) -> Vec<Finding> {
    let Some(rule) = pack.enabled().find(|r| matches!(r.kind, RuleKind::MfaConditionPitfall)) else {
        return Vec::new();
    };
    // (owner or policy ARN, the name evidence cites, document)
    let mut documents: Vec<(String, String, &Policy)> = Vec::new();
    let owners = account
        .users
        .iter()
        .map(|u| ("user", &u.name, &u.arn, &u.inline_policies))
        .chain(account.groups.iter().map(|g| ("group", &g.name, &g.arn, &g.inline_policies)))
        .chain(account.roles.iter().map(|r| ("role", &r.name, &r.arn, &r.inline_policies)));
    for (kind, name, arn, policies) in owners {
        documents.extend(
            policies
                .iter()
                .map(|p: &NamedPolicy| (arn.clone(), format!("{kind}/{name} inline policy {}", p.name), &*p.policy)),
        );
    }
    for managed in account.managed_policies.iter().filter(|m| !m.is_aws_managed()) {
        documents.push((managed.arn.clone(), managed.arn.clone(), &*managed.policy));
    }

    let mut out = Vec::new();
    for (resource, policy_name, policy) in documents {
        for statement in policy.statements.iter().filter(|s| s.effect == Effect::Deny) {
            let Some(pitfall) = pitfall_of(statement) else { continue };
            if !confirmed(account, policy, statement, &pitfall) {
                continue;
            }
            let label = match &statement.sid {
                Some(sid) => format!("statement {} (Sid {sid:?})", statement.index),
                None => format!("statement {}", statement.index),
            };
            out.push(Finding {
                id: finding_id(&rule.id, &resource, &format!("{policy_name}#{}", statement.index)),
                rule: rule.id.clone(),
                title: rule.title.clone(),
                severity: rule.severity,
                status: Status::Active,
                account: account.account_id.clone(),
                resource: resource.clone(),
                principal: None,
                credential: None,
                actions: written_actions(&statement.action),
                conditions: summarize(&statement.conditions),
                is_public: false,
                path: Vec::new(),
                evidence: vec![EvidenceRef {
                    policy: policy_name.clone(),
                    statement: statement.index,
                    sid: statement.sid.as_deref().map(str::to_owned),
                }],
                explanation: format!(
                    "The Deny {label} of {policy_name} {}: a request signed with a long-term access key carries \
                     neither aws:MultiFactorAuthPresent nor aws:MultiFactorAuthAge, so the Deny does not apply to \
                     it and the access keys work without MFA. Use {} instead.",
                    pitfall.what, pitfall.fix
                ),
                first_seen: now,
                last_seen: now,
                owner: None,
                due: None,
            });
        }
    }
    out
}

/// The pitfall a Deny statement's MFA condition has, if any.
fn pitfall_of(statement: &Statement) -> Option<Pitfall> {
    let plain = |c: &&Condition| !c.operator.if_exists && c.operator.set == crate::policy::SetQualifier::Single;
    if statement.conditions.iter().filter(plain).any(|c| {
        &*c.key == MFA_PRESENT
            && c.operator.base == BaseOperator::Bool
            && c.values_written.iter().any(|v| v.trim().eq_ignore_ascii_case("false"))
    }) {
        return Some(Pitfall {
            what: "tests \"Bool\": {\"aws:MultiFactorAuthPresent\": \"false\"}",
            fix: "\"BoolIfExists\": {\"aws:MultiFactorAuthPresent\": \"false\"}",
            without_mfa: Context::new().with("aws:MultiFactorAuthPresent", "false"),
        });
    }
    if statement.conditions.iter().filter(plain).any(|c| {
        &*c.key == MFA_AGE
            && matches!(c.operator.base, BaseOperator::NumericGreaterThan | BaseOperator::NumericGreaterThanEquals)
    }) {
        return Some(Pitfall {
            what: "tests aws:MultiFactorAuthAge with a Numeric operator without IfExists",
            fix: "\"NumericGreaterThanIfExists\": {\"aws:MultiFactorAuthAge\": ...} (or a second Deny with \
                  \"Null\": {\"aws:MultiFactorAuthAge\": \"true\"})",
            // Signed in with MFA long ago: older than any age a policy sets.
            without_mfa: Context::new()
                .with("aws:MultiFactorAuthPresent", "true")
                .with("aws:MultiFactorAuthAge", "31536000"),
        });
    }
    None
}

/// Whether the evaluator agrees: the statement (keeping only its MFA
/// conditions, so other conditions do not hide the question) denies a
/// session without MFA, and nothing in the policy denies a request made
/// with an access key.
fn confirmed(account: &AccountInventory, policy: &Policy, statement: &Statement, pitfall: &Pitfall) -> bool {
    let Some(action) = probe_action(&statement.action) else { return false };
    let Some(resource) = probe_resource(&statement.resource) else { return false };
    let mfa_only = Statement {
        conditions: statement
            .conditions
            .iter()
            .filter(|c| [MFA_PRESENT, MFA_AGE].contains(&&*c.key))
            .cloned()
            .collect(),
        ..statement.clone()
    };
    let statements: Vec<Statement> = std::iter::once(mfa_only)
        .chain(policy.statements.iter().filter(|s| s.effect == Effect::Deny && s.index != statement.index).cloned())
        .collect();
    let document = Policy { version: policy.version, id: None, statements: statements.into_boxed_slice() };
    let caller = Caller::User {
        arn: format!("arn:aws:iam::{}:user/zz-probe", account.account_id).into(),
        account: account.account_id.as_str().into(),
    };
    let denied = |context: Context| {
        let request = Request::new(caller.clone(), &action, &resource, Some(&account.account_id), context);
        evaluate(&request, &PolicySet { identity: &[&document], ..PolicySet::default() }).outcome
            == Outcome::ExplicitDeny
    };
    denied(pitfall.without_mfa.clone()) && !denied(Context::new())
}

/// An action the statement covers.
fn probe_action(action: &ActionElement) -> Option<String> {
    match action {
        ActionElement::Action(list) => list.patterns().first().map(|p| match p.as_str() {
            "*" => PROBE_ACTIONS[0].to_string(),
            written => written.replace('*', "Probe").replace('?', "Z"),
        }),
        ActionElement::NotAction(_) => PROBE_ACTIONS.iter().find(|a| action.covers(a)).map(|a| a.to_string()),
    }
}

/// A resource the statement covers.
fn probe_resource(resource: &ResourceElement) -> Option<String> {
    match resource {
        ResourceElement::Any => Some("*".into()),
        ResourceElement::Resource(patterns) => {
            patterns.first().map(|p| p.as_str().replace('*', "zz-probe").replace('?', "z"))
        }
        ResourceElement::NotResource(patterns) => {
            let candidate = "arn:aws:s3:::zz-probe/zz-probe";
            (!patterns.iter().any(|p| p.matches(candidate))).then(|| candidate.to_string())
        }
    }
}

/// The statement's actions as written (`NotAction` ones marked).
fn written_actions(action: &ActionElement) -> Vec<String> {
    match action {
        ActionElement::Action(list) => list.patterns().iter().map(|p| p.as_str().to_string()).collect(),
        ActionElement::NotAction(list) => list.patterns().iter().map(|p| format!("NotAction {}", p.as_str())).collect(),
    }
}
