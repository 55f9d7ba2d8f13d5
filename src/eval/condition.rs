//! Condition evaluation: does one `operator → key → values` entry hold for a
//! request context? The rules for absent keys, set qualifiers and negation are
//! those of docs/evaluator.md.

use std::net::IpAddr;

use crate::policy::Effect;
use crate::policy::condition::{
    ArnPattern, BaseOperator as B, Condition, Operand, SetQualifier, compile_operand, parse_binary, parse_bool,
    parse_date, parse_number,
};

use super::request::Context;

/// Whether `condition` holds in `context` for a statement with `effect`. A
/// condition on a key the caller chooses (see [`Context::with_free_keys`])
/// can be met in an Allow and avoided in a Deny.
pub fn holds_for(condition: &Condition, context: &Context, effect: Effect) -> bool {
    if context.is_free(&condition.key) {
        return effect == Effect::Allow;
    }
    holds(condition, context)
}

/// Whether `condition` holds in `context`.
pub fn holds(condition: &Condition, context: &Context) -> bool {
    let present = context.get(&condition.key).map(|v| v.as_slice()).filter(|v| !v.is_empty());
    let op = condition.operator;
    if op.base == B::Null {
        let absent = present.is_none();
        return condition.values.iter().any(|v| matches!(v, Operand::Null(want_absent) if *want_absent == absent));
    }
    let Some(request_values) = present else {
        return match (op.if_exists, op.set) {
            (true, _) => true,
            (false, SetQualifier::ForAnyValue) => false,
            (false, SetQualifier::ForAllValues) => true,
            (false, SetQualifier::Single) => op.base.is_negated(),
        };
    };
    // A request value "matches" when the positive comparison holds for some
    // policy value; for a negated operator, when it holds for none.
    let value_matches =
        |v: &str| condition.values.iter().any(|operand| compare(op.base, operand, v, context)) != op.base.is_negated();
    match op.set {
        SetQualifier::ForAnyValue => request_values.iter().any(|v| value_matches(v)),
        SetQualifier::ForAllValues => request_values.iter().all(|v| value_matches(v)),
        SetQualifier::Single if op.base.is_negated() => request_values.iter().all(|v| value_matches(v)),
        SetQualifier::Single => request_values.iter().any(|v| value_matches(v)),
    }
}

#[derive(Clone, Copy)]
enum Ordering {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

fn ordering(base: B) -> Ordering {
    match base {
        B::NumericLessThan | B::DateLessThan => Ordering::Lt,
        B::NumericLessThanEquals | B::DateLessThanEquals => Ordering::Le,
        B::NumericGreaterThan | B::DateGreaterThan => Ordering::Gt,
        B::NumericGreaterThanEquals | B::DateGreaterThanEquals => Ordering::Ge,
        _ => Ordering::Eq,
    }
}

fn ordered<T: PartialOrd>(request: T, policy: T, ord: Ordering) -> bool {
    match ord {
        Ordering::Eq => request == policy,
        Ordering::Lt => request < policy,
        Ordering::Le => request <= policy,
        Ordering::Gt => request > policy,
        Ordering::Ge => request >= policy,
    }
}

/// The positive comparison of one request value with one policy value.
fn compare(base: B, operand: &Operand, value: &str, context: &Context) -> bool {
    let resolve = |key: &str| context.single(key);
    match operand {
        Operand::Text(pattern) => pattern.matches_with(value, &resolve),
        Operand::Number(n) => parse_number(value).is_some_and(|v| ordered(v, *n, ordering(base))),
        Operand::Date(d) => parse_date(value).is_some_and(|v| ordered(v, *d, ordering(base))),
        Operand::Bool(b) => parse_bool(value) == Some(*b),
        Operand::Binary(bytes) => parse_binary(value).is_some_and(|v| *v == **bytes),
        Operand::Ip(cidr) => value.trim().parse::<IpAddr>().is_ok_and(|ip| cidr.contains(ip)),
        Operand::Arn(ArnPattern::Any) => true,
        Operand::Arn(ArnPattern::Malformed) => false,
        Operand::Arn(ArnPattern::Parts(parts)) => {
            let mut actual = value.splitn(6, ':');
            parts.iter().all(|p| actual.next().is_some_and(|part| p.matches_with(part, &resolve)))
        }
        // Null is decided before any comparison; unreadable values match nothing.
        Operand::Null(_) | Operand::Unreadable(_) => false,
        Operand::Deferred(pattern) => pattern
            .render(&resolve)
            .and_then(|text| compile_operand(base, &text, false).ok())
            .is_some_and(|resolved| compare(base, &resolved, value, context)),
    }
}
