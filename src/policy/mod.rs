//! IAM policy documents: AWS's JSON (plain or URL-encoded) parsed once into a
//! typed AST with compiled action, resource and condition patterns.

pub mod arn;
pub mod condition;
pub mod pattern;
pub mod principal;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};

pub use condition::{BaseOperator, Condition, Operand, Operator, SetQualifier};
pub use pattern::{Pattern, Syntax};
pub use principal::{PrincipalElement, PrincipalSet, RoleRef};

/// The policy language version. Without a `Version` element AWS reads a
/// document as 2008-10-17, where `${...}` is literal text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V2008_10_17,
    V2012_10_17,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action` or `NotAction`: case-insensitive globs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionElement {
    Action(ActionList),
    NotAction(ActionList),
}

impl ActionElement {
    /// Whether the element covers `action` (any case).
    pub fn covers(&self, action: &str) -> bool {
        match self {
            ActionElement::Action(list) => list.matches(action),
            ActionElement::NotAction(list) => !list.matches(action),
        }
    }
}

/// Action patterns, indexed by service: a statement listing thousands of
/// actions (ReadOnlyAccess) is matched by looking only at the patterns of the
/// request's service and those whose service part has a wildcard.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ActionList {
    patterns: Box<[Pattern]>,
    /// Lower-cased service → positions of the patterns naming exactly it.
    /// Empty for short lists, which a scan matches faster.
    by_service: HashMap<Box<str>, Box<[u32]>>,
    /// Positions of patterns whose service part has a wildcard.
    wildcard_service: Box<[u32]>,
}

/// Below this many patterns a linear scan beats hashing the service.
const INDEX_FROM: usize = 8;

impl ActionList {
    pub fn new(patterns: Vec<Pattern>) -> Self {
        let mut by_service: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        let mut wildcard_service = Vec::new();
        if patterns.len() >= INDEX_FROM {
            for (i, p) in patterns.iter().enumerate() {
                let i = u32::try_from(i).unwrap_or(u32::MAX);
                match p.as_str().split_once(':') {
                    Some((service, _)) if !service.contains(['*', '?']) => {
                        by_service.entry(service.to_ascii_lowercase().into()).or_default().push(i)
                    }
                    _ => wildcard_service.push(i),
                }
            }
        }
        ActionList {
            patterns: patterns.into_boxed_slice(),
            by_service: by_service.into_iter().map(|(k, v)| (k, v.into_boxed_slice())).collect(),
            wildcard_service: wildcard_service.into_boxed_slice(),
        }
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether any pattern matches `action` (any case).
    pub fn matches(&self, action: &str) -> bool {
        if self.by_service.is_empty() {
            return self.patterns.iter().any(|p| p.matches(action));
        }
        let at = |i: &u32| &self.patterns[*i as usize];
        if self.wildcard_service.iter().any(|i| at(i).matches(action)) {
            return true;
        }
        let service = action.split_once(':').map_or(action, |(s, _)| s);
        // Lower-case the service on the stack: no allocation on the hot path.
        let mut buffer = [0u8; 64];
        let Some(slot) = buffer.get_mut(..service.len()) else {
            return self
                .by_service
                .get(service.to_ascii_lowercase().as_str())
                .is_some_and(|ps| ps.iter().any(|i| at(i).matches(action)));
        };
        slot.copy_from_slice(service.as_bytes());
        slot.make_ascii_lowercase();
        let Ok(lower) = std::str::from_utf8(slot) else { return false };
        self.by_service.get(lower).is_some_and(|ps| ps.iter().any(|i| at(i).matches(action)))
    }
}

/// `Resource` or `NotResource`: case-sensitive globs (with variables in 2012-10-17).
/// Absent in trust policies and most resource policies: any resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourceElement {
    Any,
    Resource(Box<[Pattern]>),
    NotResource(Box<[Pattern]>),
}

/// One statement, compiled.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// Position in the document's `Statement` list (0-based).
    pub index: usize,
    pub sid: Option<Box<str>>,
    pub effect: Effect,
    pub principal: Option<PrincipalElement>,
    pub action: ActionElement,
    pub resource: ResourceElement,
    pub conditions: Box<[Condition]>,
}

/// A parsed IAM policy document.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub version: Version,
    pub id: Option<Box<str>>,
    pub statements: Box<[Statement]>,
}

/// Which statement an error is about: its index and, when it has one, its Sid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementLabel {
    pub index: usize,
    pub sid: Option<String>,
}

impl fmt::Display for StatementLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sid {
            Some(sid) => write!(f, "statement {} (Sid {sid:?})", self.index),
            None => write!(f, "statement {}", self.index),
        }
    }
}

/// Why a document is not a valid IAM policy.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("URL-encoded document is not UTF-8")]
    Encoding,
    #[error("{0}")]
    Document(String),
    #[error("{statement}: {problem}")]
    Statement { statement: StatementLabel, problem: StatementProblem },
}

/// What is wrong with one statement.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatementProblem {
    #[error("statement is not a JSON object")]
    NotAnObject,
    #[error("missing Effect")]
    MissingEffect,
    #[error("Effect must be \"Allow\" or \"Deny\", not {0}")]
    UnknownEffect(String),
    #[error("has both {0} and Not{0}")]
    Both(&'static str),
    #[error("has neither Action nor NotAction")]
    NoAction,
    #[error("unknown element {0:?}")]
    UnknownElement(String),
    #[error("{element} must be a string or a list of strings")]
    NotStrings { element: &'static str },
    #[error("invalid action {0:?} (expected \"*\" or \"service:Action\")")]
    BadAction(String),
    #[error("invalid resource ARN pattern {0:?}")]
    BadArn(String),
    #[error("{0}")]
    BadPrincipal(String),
    #[error("condition: {0}")]
    BadCondition(String),
    #[error("{0}")]
    BadVariable(String),
}

impl Policy {
    /// Parse a document given as text: JSON, or URL-encoded JSON as the IAM API returns it.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let decoded = decode_text(text)?;
        let value: Value = serde_json::from_str(&decoded).map_err(|e| PolicyError::Json(e.to_string()))?;
        Self::from_value(&value)
    }

    /// Parse a document given as a JSON value: an object, or a string holding
    /// the document (JSON text or URL-encoded JSON text).
    pub fn from_value(value: &Value) -> Result<Self, PolicyError> {
        match value {
            Value::Object(map) => Self::from_object(map),
            Value::String(text) => Self::parse(text),
            other => {
                Err(PolicyError::Document(format!("a policy document must be a JSON object, not {}", json_kind(other))))
            }
        }
    }

    fn from_object(map: &Map<String, Value>) -> Result<Self, PolicyError> {
        let doc_err = |m: String| PolicyError::Document(m);
        for key in map.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return Err(doc_err(format!("unknown top-level element {key:?}")));
            }
        }
        let version = match map.get("Version") {
            None => Version::V2008_10_17,
            Some(Value::String(v)) if v == "2012-10-17" => Version::V2012_10_17,
            Some(Value::String(v)) if v == "2008-10-17" => Version::V2008_10_17,
            Some(other) => {
                return Err(doc_err(format!(
                    "unsupported Version {other} (expected \"2012-10-17\" or \"2008-10-17\")"
                )));
            }
        };
        let id = match map.get("Id") {
            None => None,
            Some(Value::String(id)) => Some(id.as_str().into()),
            Some(other) => return Err(doc_err(format!("Id must be a string, not {}", json_kind(other)))),
        };
        let raw: &[Value] = match map.get("Statement") {
            Some(Value::Array(list)) => list,
            Some(single @ Value::Object(_)) => std::slice::from_ref(single),
            Some(other) => {
                return Err(doc_err(format!("Statement must be an object or a list, not {}", json_kind(other))));
            }
            None => return Err(doc_err("missing Statement".into())),
        };
        let statements = raw
            .iter()
            .enumerate()
            .map(|(index, s)| parse_statement(index, s, version))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy { version, id, statements: statements.into_boxed_slice() })
    }
}

/// Percent-decode a document unless it already is JSON text.
fn decode_text(text: &str) -> Result<Cow<'_, str>, PolicyError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || !trimmed.contains('%') {
        return Ok(Cow::Borrowed(text));
    }
    percent_encoding::percent_decode_str(text).decode_utf8().map_err(|_| PolicyError::Encoding)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn parse_statement(index: usize, value: &Value, version: Version) -> Result<Statement, PolicyError> {
    let sid = value.get("Sid").and_then(Value::as_str).map(str::to_owned);
    let fail = |problem| PolicyError::Statement { statement: StatementLabel { index, sid: sid.clone() }, problem };
    let map = value.as_object().ok_or_else(|| fail(StatementProblem::NotAnObject))?;
    for key in map.keys() {
        if !matches!(
            key.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return Err(fail(StatementProblem::UnknownElement(key.clone())));
        }
    }
    let effect = match map.get("Effect") {
        None => return Err(fail(StatementProblem::MissingEffect)),
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => return Err(fail(StatementProblem::UnknownEffect(other.to_string()))),
    };
    let variables = version == Version::V2012_10_17;

    let action = match (map.get("Action"), map.get("NotAction")) {
        (Some(_), Some(_)) => return Err(fail(StatementProblem::Both("Action"))),
        (None, None) => return Err(fail(StatementProblem::NoAction)),
        (Some(v), None) => ActionElement::Action(compile_actions(v, "Action").map_err(fail)?),
        (None, Some(v)) => ActionElement::NotAction(compile_actions(v, "NotAction").map_err(fail)?),
    };
    let resource = match (map.get("Resource"), map.get("NotResource")) {
        (Some(_), Some(_)) => return Err(fail(StatementProblem::Both("Resource"))),
        (None, None) => ResourceElement::Any,
        (Some(v), None) => ResourceElement::Resource(compile_resources(v, "Resource", variables).map_err(fail)?),
        (None, Some(v)) => ResourceElement::NotResource(compile_resources(v, "NotResource", variables).map_err(fail)?),
    };
    let principal = match (map.get("Principal"), map.get("NotPrincipal")) {
        (Some(_), Some(_)) => return Err(fail(StatementProblem::Both("Principal"))),
        (None, None) => None,
        (Some(v), None) => Some(PrincipalElement::Principal(parse_principal(v).map_err(fail)?)),
        (None, Some(v)) => Some(PrincipalElement::NotPrincipal(parse_principal(v).map_err(fail)?)),
    };
    let conditions = match map.get("Condition") {
        None => Box::default(),
        Some(v) => parse_conditions(v, variables).map_err(|m| fail(StatementProblem::BadCondition(m)))?,
    };
    Ok(Statement { index, sid: sid.as_deref().map(Into::into), effect, principal, action, resource, conditions })
}

/// A string or a list of strings.
fn strings<'v>(value: &'v Value, element: &'static str) -> Result<Vec<&'v str>, StatementProblem> {
    match value {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) => {
            items.iter().map(|i| i.as_str().ok_or(StatementProblem::NotStrings { element })).collect()
        }
        _ => Err(StatementProblem::NotStrings { element }),
    }
}

const ACTION_SYNTAX: Syntax = Syntax { wildcards: true, variables: false, fold_case: true };

fn compile_actions(value: &Value, element: &'static str) -> Result<ActionList, StatementProblem> {
    let patterns = strings(value, element)?
        .into_iter()
        .map(|a| {
            let valid = a == "*"
                || a.split_once(':').is_some_and(|(service, name)| {
                    !service.is_empty() && !name.is_empty() && !service.contains(char::is_whitespace)
                });
            if !valid {
                return Err(StatementProblem::BadAction(a.into()));
            }
            Pattern::compile(a, ACTION_SYNTAX).map_err(|e| StatementProblem::BadVariable(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ActionList::new(patterns))
}

fn compile_resources(
    value: &Value,
    element: &'static str,
    variables: bool,
) -> Result<Box<[Pattern]>, StatementProblem> {
    let syntax = Syntax { wildcards: true, variables, fold_case: false };
    strings(value, element)?
        .into_iter()
        .map(|r| {
            // An ARN has six colon-separated parts; a wildcard may stand for several.
            let valid = r == "*" || (r.starts_with("arn:") && (r.matches(':').count() >= 5 || r.contains('*')));
            if !valid {
                return Err(StatementProblem::BadArn(r.into()));
            }
            Pattern::compile(r, syntax).map_err(|e| StatementProblem::BadVariable(e.to_string()))
        })
        .collect()
}

fn parse_principal(value: &Value) -> Result<PrincipalSet, StatementProblem> {
    let mut set = PrincipalSet::default();
    match value {
        Value::String(s) if s == "*" => set.any = true,
        Value::Object(map) => {
            for (kind, entries) in map {
                let element: &'static str = match kind.as_str() {
                    "AWS" => "Principal AWS",
                    "Service" => "Principal Service",
                    "Federated" => "Principal Federated",
                    "CanonicalUser" => "Principal CanonicalUser",
                    _ => {
                        return Err(StatementProblem::BadPrincipal(format!(
                            "unknown principal type {kind:?} (expected AWS, Service, Federated or CanonicalUser)"
                        )));
                    }
                };
                for entry in strings(entries, element)? {
                    match kind.as_str() {
                        "AWS" => set.add_aws(entry).map_err(StatementProblem::BadPrincipal)?,
                        "Service" => set.services.push(entry.to_ascii_lowercase().into()),
                        "Federated" => set.federated.push(entry.into()),
                        _ => set.canonical_users.push(entry.into()),
                    }
                }
            }
        }
        other => {
            return Err(StatementProblem::BadPrincipal(format!(
                "Principal must be \"*\" or an object, not {}",
                json_kind(other)
            )));
        }
    }
    Ok(set)
}

fn parse_conditions(value: &Value, variables: bool) -> Result<Box<[Condition]>, String> {
    let blocks = value.as_object().ok_or("Condition must be an object of operators")?;
    let mut out = Vec::new();
    for (operator, keys) in blocks {
        let keys = keys.as_object().ok_or_else(|| format!("{operator} must map condition keys to values"))?;
        for (key, values) in keys {
            let values = condition_values(values).ok_or_else(|| {
                format!("{operator} {key}: values must be strings, numbers, booleans or a list of them")
            })?;
            out.push(Condition::compile(operator, key, values, variables)?);
        }
    }
    Ok(out.into_boxed_slice())
}

fn condition_values(value: &Value) -> Option<Vec<String>> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        v => scalar(v).map(|s| vec![s]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(doc: Value) -> String {
        Policy::from_value(&doc).unwrap_err().to_string()
    }

    #[test]
    fn parses_full_statement() {
        let p = Policy::from_value(&json!({
            "Version": "2012-10-17", "Id": "x",
            "Statement": {"Sid": "A", "Effect": "Allow", "Principal": {"AWS": ["123456789012", "arn:aws:iam::210987654321:role/p/r"], "Service": "EC2.amazonaws.com"},
                          "Action": ["s3:Get*"], "Resource": "arn:aws:s3:::b/*",
                          "Condition": {"Bool": {"aws:SecureTransport": true}, "NumericLessThan": {"s3:max-keys": 10}}}
        }))
        .unwrap();
        let s = &p.statements[0];
        assert_eq!(s.sid.as_deref(), Some("A"));
        let set = s.principal.as_ref().unwrap().set();
        assert_eq!(set.accounts[0].as_ref(), "123456789012");
        assert_eq!(set.roles[0].name.as_ref(), "r");
        assert_eq!(set.services[0].as_ref(), "ec2.amazonaws.com");
        assert_eq!(s.conditions.len(), 2);
    }

    #[test]
    fn indexed_action_lists_match_like_a_scan() {
        let actions = [
            "s3:Get*",
            "S3:List*",
            "ec2:Describe*",
            "iam:Get?ser",
            "*:Tag*",
            "sts:AssumeRole",
            "kms:*",
            "lambda:Invoke*",
            "dynamodb:Query",
        ];
        let p = Policy::from_value(&json!({"Statement": {"Effect": "Allow", "Action": actions}})).unwrap();
        let ActionElement::Action(list) = &p.statements[0].action else { panic!("Action") };
        for (request, expected) in [
            ("s3:GetObject", true),
            ("S3:LISTBUCKET", true),
            ("iam:GetUser", true),
            ("iam:GetUsers", false),
            ("rds:TagResource", true),
            ("STS:assumerole", true),
            ("kms:Decrypt", true),
            ("sqs:SendMessage", false),
            ("nocolon", false),
        ] {
            assert_eq!(list.matches(request), expected, "{request}");
            assert_eq!(list.patterns().iter().any(|p| p.matches(request)), expected, "{request}");
        }
    }

    #[test]
    fn url_encoded_documents() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        let p = Policy::from_value(&Value::String(encoded.into())).unwrap();
        assert_eq!(p.statements.len(), 1);
        assert!(Policy::parse("{\"Statement\": []}").is_ok());
    }

    #[test]
    fn errors_name_the_statement() {
        let e = err(
            json!({"Statement": [{"Effect": "Allow", "Action": "*"}, {"Sid": "Bad", "Effect": "Allow", "Action": "a:b", "NotAction": "c:d"}]}),
        );
        assert_eq!(e, "statement 1 (Sid \"Bad\"): has both Action and NotAction");
        assert_eq!(err(json!({"Statement": {"Action": "*"}})), "statement 0: missing Effect");
        assert!(err(json!({"Statement": {"Effect": "allow", "Action": "*"}})).contains("Effect must be"));
        assert!(
            err(json!({"Statement": {"Effect": "Allow", "Action": "*", "Condition": {"StringEqualz": {"a": "b"}}}}))
                .contains("unknown condition operator \"StringEqualz\"")
        );
        assert!(
            err(json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "bucket"}}))
                .contains("invalid resource ARN pattern")
        );
        assert!(err(json!({"Statement": {"Effect": "Allow", "Action": "*", "Principal": {"AWS": "arn:aws:iam::123456789012:role/*"}}})).contains("wildcards are not allowed"));
        assert!(err(json!({"Statement": {"Effect": "Allow", "Action": "s3"}})).contains("invalid action"));
        assert!(err(json!({"Version": "2020-01-01", "Statement": []})).contains("unsupported Version"));
        assert!(err(json!([1])).contains("must be a JSON object"));
        assert!(Policy::parse("{not json").unwrap_err().to_string().starts_with("not valid JSON"));
    }
}
