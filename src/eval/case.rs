//! The evaluator case format (`trustwarden simulate`, tests/cases/eval): one
//! JSON object per line describing a request and its policies. Pure: parses
//! a line, evaluates it, renders the answer line.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Caller, Context, ContextValue, Decision, Layer, Outcome, PolicySet, Request, StatementRef, evaluate};
use crate::policy::{Effect, Policy};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CaseWire {
    id: Value,
    #[serde(default)]
    #[allow(dead_code)] // documentation for people reading the case file
    note: Option<String>,
    request: RequestWire,
    #[serde(default)]
    identity_policies: Vec<Value>,
    #[serde(default)]
    permission_boundaries: Vec<Value>,
    #[serde(default)]
    session_policy: Option<Value>,
    #[serde(default)]
    resource_policy: Option<Value>,
    #[serde(default)]
    service_control_policies: Vec<Vec<Value>>,
    #[serde(default)]
    resource_control_policies: Vec<Vec<Value>>,
    #[serde(default)]
    expected: Option<Outcome>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RequestWire {
    principal: String,
    action: String,
    resource: String,
    #[serde(default)]
    resource_account: Option<String>,
    #[serde(default)]
    context: Map<String, Value>,
}

/// A parsed case: the request and its policies, compiled.
#[derive(Debug)]
pub struct Case {
    pub id: String,
    pub request: Request,
    pub identity: Vec<Policy>,
    pub boundaries: Vec<Policy>,
    pub session: Option<Policy>,
    pub resource: Option<Policy>,
    pub scps: Vec<Vec<Policy>>,
    pub rcps: Vec<Vec<Policy>>,
    pub expected: Option<Outcome>,
}

/// A line that could not be read as a case.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CaseError {
    /// The case id, when the line got that far.
    pub id: Option<String>,
    pub message: String,
}

impl Case {
    /// Parse one line of the case format.
    pub fn parse(line: &str) -> Result<Case, CaseError> {
        let value: Value =
            serde_json::from_str(line).map_err(|e| CaseError { id: None, message: format!("not valid JSON: {e}") })?;
        let id = value.get("id").map(id_text);
        let fail = |message: String| CaseError { id: id.clone(), message };
        let wire: CaseWire = serde_json::from_value(value).map_err(|e| fail(e.to_string()))?;
        let caller = Caller::parse(&wire.request.principal).map_err(|e| fail(format!("request.principal: {e}")))?;
        let context = parse_context(&wire.request.context).map_err(|e| fail(format!("request.context: {e}")))?;
        let request = Request::new(
            caller,
            &wire.request.action,
            &wire.request.resource,
            wire.request.resource_account.as_deref(),
            context,
        );
        let parse = |label: String, doc: &Value| Policy::from_value(doc).map_err(|e| fail(format!("{label}: {e}")));
        let list = |name: &str, docs: &[Value]| {
            docs.iter().enumerate().map(|(i, d)| parse(format!("{name}[{i}]"), d)).collect::<Result<Vec<_>, _>>()
        };
        let levels = |name: &str, levels: &[Vec<Value>]| {
            levels
                .iter()
                .enumerate()
                .map(|(l, docs)| list(&format!("{name}[{l}]"), docs))
                .collect::<Result<Vec<_>, _>>()
        };
        let optional = |name: &str, doc: &Option<Value>| match doc {
            None | Some(Value::Null) => Ok(None),
            Some(d) => parse(name.to_string(), d).map(Some),
        };
        Ok(Case {
            id: id_text(&wire.id),
            identity: list("identityPolicies", &wire.identity_policies)?,
            boundaries: list("permissionBoundaries", &wire.permission_boundaries)?,
            session: optional("sessionPolicy", &wire.session_policy)?,
            resource: optional("resourcePolicy", &wire.resource_policy)?,
            scps: levels("serviceControlPolicies", &wire.service_control_policies)?,
            rcps: levels("resourceControlPolicies", &wire.resource_control_policies)?,
            request,
            expected: wire.expected,
        })
    }

    /// Evaluate the case.
    pub fn evaluate(&self) -> Decision {
        self.with_policy_set(|set| evaluate(&self.request, set))
    }

    /// Build the borrowed policy set and hand it to `f` (the benchmark reuses it).
    pub fn with_policy_set<T>(&self, f: impl FnOnce(&PolicySet<'_>) -> T) -> T {
        let identity: Vec<&Policy> = self.identity.iter().collect();
        let boundaries: Vec<&Policy> = self.boundaries.iter().collect();
        let scp_levels: Vec<Vec<&Policy>> = self.scps.iter().map(|l| l.iter().collect()).collect();
        let rcp_levels: Vec<Vec<&Policy>> = self.rcps.iter().map(|l| l.iter().collect()).collect();
        let scps: Vec<&[&Policy]> = scp_levels.iter().map(Vec::as_slice).collect();
        let rcps: Vec<&[&Policy]> = rcp_levels.iter().map(Vec::as_slice).collect();
        f(&PolicySet {
            identity: &identity,
            boundaries: &boundaries,
            session: self.session.as_ref(),
            resource: self.resource.as_ref(),
            scps: &scps,
            rcps: &rcps,
        })
    }

    /// The answer line: `{"id", "decision"}`, plus `"explanation"` when asked.
    pub fn answer(&self, decision: &Decision, explain: bool) -> Value {
        let mut out = json!({"id": self.id, "decision": decision.outcome});
        if explain {
            let statements: Vec<Value> = decision.evidence.iter().map(|r| self.describe(r)).collect();
            out["explanation"] = json!({"reason": decision.reason.describe(), "statements": statements});
        }
        out
    }

    fn describe(&self, r: StatementRef) -> Value {
        let (label, policy) = match r.layer {
            Layer::Identity => (format!("identityPolicies[{}]", r.policy), self.identity.get(usize::from(r.policy))),
            Layer::Boundary => {
                (format!("permissionBoundaries[{}]", r.policy), self.boundaries.get(usize::from(r.policy)))
            }
            Layer::Session => ("sessionPolicy".to_string(), self.session.as_ref()),
            Layer::Resource => ("resourcePolicy".to_string(), self.resource.as_ref()),
            Layer::Scp => (
                format!("serviceControlPolicies[{}][{}]", r.level, r.policy),
                self.scps.get(usize::from(r.level)).and_then(|l| l.get(usize::from(r.policy))),
            ),
            Layer::Rcp => (
                format!("resourceControlPolicies[{}][{}]", r.level, r.policy),
                self.rcps.get(usize::from(r.level)).and_then(|l| l.get(usize::from(r.policy))),
            ),
        };
        let statement = policy.and_then(|p| p.statements.iter().find(|s| s.index as u64 == u64::from(r.statement)));
        json!({
            "policy": label,
            "statement": r.statement,
            "sid": statement.and_then(|s| s.sid.as_deref()),
            "effect": statement.map(|s| if s.effect == Effect::Allow { "Allow" } else { "Deny" }),
        })
    }
}

/// The error line for a case that could not be read (`line` is 1-based).
pub fn error_answer(error: &CaseError, line: usize) -> Value {
    match &error.id {
        Some(id) => json!({"id": id, "error": error.message}),
        None => json!({"line": line, "error": error.message}),
    }
}

fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn parse_context(map: &Map<String, Value>) -> Result<Context, String> {
    let scalar = |key: &str, v: &Value| match v {
        Value::String(s) => Ok(s.as_str().into()),
        Value::Bool(b) => Ok(b.to_string().into()),
        Value::Number(n) => Ok(n.to_string().into()),
        other => Err(format!("{key}: values must be strings or lists of strings, not {other}")),
    };
    let mut context = Context::new();
    for (key, value) in map {
        let value = match value {
            Value::Array(items) => ContextValue::Multi(items.iter().map(|i| scalar(key, i)).collect::<Result<_, _>>()?),
            v => ContextValue::Single(scalar(key, v)?),
        };
        context.insert(key, value);
    }
    Ok(context)
}
