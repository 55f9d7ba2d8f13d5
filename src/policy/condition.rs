//! The `Condition` element, typed: operators parsed once, values pre-parsed
//! into the type their operator compares (numbers, instants, CIDRs, ARN parts).

use std::net::IpAddr;

use base64::Engine;
use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::pattern::{Pattern, Syntax};

/// The comparison an operator makes, without set qualifier or `IfExists`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BaseOperator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

use BaseOperator as B;

const OPERATORS: [(&str, BaseOperator); 27] = [
    ("StringEquals", B::StringEquals),
    ("StringNotEquals", B::StringNotEquals),
    ("StringEqualsIgnoreCase", B::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", B::StringNotEqualsIgnoreCase),
    ("StringLike", B::StringLike),
    ("StringNotLike", B::StringNotLike),
    ("NumericEquals", B::NumericEquals),
    ("NumericNotEquals", B::NumericNotEquals),
    ("NumericLessThan", B::NumericLessThan),
    ("NumericLessThanEquals", B::NumericLessThanEquals),
    ("NumericGreaterThan", B::NumericGreaterThan),
    ("NumericGreaterThanEquals", B::NumericGreaterThanEquals),
    ("DateEquals", B::DateEquals),
    ("DateNotEquals", B::DateNotEquals),
    ("DateLessThan", B::DateLessThan),
    ("DateLessThanEquals", B::DateLessThanEquals),
    ("DateGreaterThan", B::DateGreaterThan),
    ("DateGreaterThanEquals", B::DateGreaterThanEquals),
    ("Bool", B::Bool),
    ("BinaryEquals", B::BinaryEquals),
    ("IpAddress", B::IpAddress),
    ("NotIpAddress", B::NotIpAddress),
    ("ArnEquals", B::ArnEquals),
    ("ArnLike", B::ArnLike),
    ("ArnNotEquals", B::ArnNotEquals),
    ("ArnNotLike", B::ArnNotLike),
    ("Null", B::Null),
];

impl BaseOperator {
    /// Negated operators hold when the positive form matches none of the values,
    /// and hold when the key is absent.
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            B::StringNotEquals
                | B::StringNotEqualsIgnoreCase
                | B::StringNotLike
                | B::NumericNotEquals
                | B::DateNotEquals
                | B::NotIpAddress
                | B::ArnNotEquals
                | B::ArnNotLike
        )
    }

    pub fn name(self) -> &'static str {
        OPERATORS.iter().find(|(_, op)| *op == self).map_or("", |(name, _)| name)
    }

    fn lookup(name: &str) -> Option<Self> {
        OPERATORS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, op)| *op)
    }
}

/// `ForAnyValue:` / `ForAllValues:` or neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    Single,
    ForAnyValue,
    ForAllValues,
}

/// A full condition operator such as `ForAnyValue:StringLikeIfExists`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Operator {
    pub base: BaseOperator,
    pub set: SetQualifier,
    pub if_exists: bool,
}

impl Operator {
    /// Parse an operator name; `None` when it is not an IAM condition operator.
    pub fn parse(name: &str) -> Option<Self> {
        let (set, rest) = if let Some(rest) = strip_prefix_ci(name, "ForAnyValue:") {
            (SetQualifier::ForAnyValue, rest)
        } else if let Some(rest) = strip_prefix_ci(name, "ForAllValues:") {
            (SetQualifier::ForAllValues, rest)
        } else {
            (SetQualifier::Single, name)
        };
        if let Some(base) = BaseOperator::lookup(rest) {
            return Some(Operator { base, set, if_exists: false });
        }
        let stem =
            rest.len().checked_sub("IfExists".len()).filter(|&n| rest.is_char_boundary(n)).map(|n| rest.split_at(n))?;
        match stem {
            (stem, suffix) if suffix.eq_ignore_ascii_case("IfExists") => {
                let base = BaseOperator::lookup(stem).filter(|b| *b != B::Null)?;
                Some(Operator { base, set, if_exists: true })
            }
            _ => None,
        }
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    (text.len() >= prefix.len()
        && text.is_char_boundary(prefix.len())
        && text[..prefix.len()].eq_ignore_ascii_case(prefix))
    .then(|| &text[prefix.len()..])
}

/// An IPv4 or IPv6 network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    bits: u128,
    prefix: u8,
    v4: bool,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let (bits, width, v4) = ip_bits(addr.trim().parse().ok()?);
        let prefix = prefix.unwrap_or(width);
        if prefix > width {
            return None;
        }
        Some(Cidr { bits: bits & mask(prefix, width), prefix, v4 })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (bits, width, v4) = ip_bits(ip);
        v4 == self.v4 && bits & mask(self.prefix, width) == self.bits
    }
}

fn ip_bits(ip: IpAddr) -> (u128, u8, bool) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32, true),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (u128::from(u32::from(v4)), 32, true),
            None => (u128::from(v6), 128, false),
        },
    }
}

fn mask(prefix: u8, width: u8) -> u128 {
    let all = if width == 32 { u128::from(u32::MAX) } else { u128::MAX };
    if prefix == 0 { 0 } else { all & !((1u128 << (width - prefix)) - 1) }
}

/// Parse an IAM date: epoch seconds, or ISO 8601 (with or without time and zone).
/// Returns milliseconds since the epoch.
pub fn parse_date(text: &str) -> Option<i64> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().enumerate().all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-')) {
        return text.parse::<i64>().ok()?.checked_mul(1000);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M%#z", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.timestamp_millis());
        }
        if let Ok(t) = NaiveDateTime::parse_from_str(text.trim_end_matches('Z'), format) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis())
}

/// Parse an IAM number (integer or decimal).
pub fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Parse an IAM boolean (`true` / `false`, any case).
pub fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

pub fn parse_binary(text: &str) -> Option<Box<[u8]>> {
    base64::engine::general_purpose::STANDARD.decode(text.trim()).ok().map(Vec::into_boxed_slice)
}

/// An ARN pattern compared part by part (ArnEquals / ArnLike).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArnPattern {
    /// The six colon-separated parts, each a glob.
    Parts(Box<[Pattern; 6]>),
    /// A lone `*`: every value.
    Any,
    /// Not six parts: no ARN has that shape, so nothing matches.
    Malformed,
}

impl ArnPattern {
    fn compile(text: &str, syntax: Syntax) -> Result<Self, String> {
        let parts = split_arn_outside_variables(text);
        if let Ok(parts) = <[&str; 6]>::try_from(parts.as_slice()) {
            let compiled = parts.map(|p| Pattern::compile(p, syntax));
            let mut out = Vec::with_capacity(6);
            for p in compiled {
                out.push(p.map_err(|e| e.to_string())?);
            }
            let boxed: Box<[Pattern; 6]> = out.into_boxed_slice().try_into().map_err(|_| "ARN pattern".to_string())?;
            Ok(ArnPattern::Parts(boxed))
        } else if text == "*" {
            Ok(ArnPattern::Any)
        } else {
            Ok(ArnPattern::Malformed)
        }
    }
}

/// Split at the first five colons that are not inside `${...}`.
fn split_arn_outside_variables(text: &str) -> Vec<&str> {
    let mut parts = Vec::with_capacity(6);
    let (mut depth, mut start) = (0usize, 0usize);
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'{' if i > 0 && bytes[i - 1] == b'$' => depth += 1,
            b'}' if depth > 0 => depth -= 1,
            b':' if depth == 0 && parts.len() < 5 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// One policy value, pre-parsed for its operator.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// String operators (exact, case-folded or glob, per the pattern's syntax).
    Text(Pattern),
    Number(f64),
    /// Milliseconds since the epoch.
    Date(i64),
    Bool(bool),
    Binary(Box<[u8]>),
    Ip(Cidr),
    Arn(ArnPattern),
    /// `Null`: true = the key must be absent.
    Null(bool),
    /// A typed value written with a policy variable: parsed after substitution.
    Deferred(Pattern),
    /// A value its operator cannot read (`NumericEquals: "ten"`). IAM accepts
    /// such documents; the value matches nothing.
    Unreadable(Box<str>),
}

/// One `operator → key → values` entry of a `Condition` block.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub operator: Operator,
    /// The operator as written, for reports.
    pub operator_name: Box<str>,
    /// The key, lower-cased (keys are case-insensitive).
    pub key: Box<str>,
    /// The key as written, for reports.
    pub key_written: Box<str>,
    pub values: Box<[Operand]>,
    /// The values as written, for reports.
    pub values_written: Box<[Box<str>]>,
}

impl Condition {
    /// Compile one entry. `variables` is whether the policy's version enables `${...}`.
    pub fn compile(operator_name: &str, key: &str, values: Vec<String>, variables: bool) -> Result<Self, String> {
        let operator =
            Operator::parse(operator_name).ok_or_else(|| format!("unknown condition operator {operator_name:?}"))?;
        if key.is_empty() {
            return Err(format!("empty condition key under {operator_name}"));
        }
        let operands =
            values.iter().map(|v| compile_operand(operator.base, v, variables)).collect::<Result<Vec<_>, _>>()?;
        Ok(Condition {
            operator,
            operator_name: operator_name.into(),
            key: key.to_ascii_lowercase().into(),
            key_written: key.into(),
            values: operands.into_boxed_slice(),
            values_written: values.into_iter().map(String::into_boxed_str).collect(),
        })
    }
}

pub(crate) fn compile_operand(base: BaseOperator, value: &str, variables: bool) -> Result<Operand, String> {
    let exact = Syntax { wildcards: false, variables, fold_case: false };
    let glob = Syntax { wildcards: true, ..exact };
    let text_pattern = |syntax| Pattern::compile(value, syntax).map_err(|e| e.to_string());
    let typed = |parsed: Option<Operand>| parsed.unwrap_or_else(|| Operand::Unreadable(value.into()));
    if variables
        && value.contains("${")
        && !matches!(
            base,
            B::StringEquals
                | B::StringNotEquals
                | B::StringEqualsIgnoreCase
                | B::StringNotEqualsIgnoreCase
                | B::StringLike
                | B::StringNotLike
                | B::ArnEquals
                | B::ArnLike
                | B::ArnNotEquals
                | B::ArnNotLike
        )
    {
        return text_pattern(exact).map(Operand::Deferred);
    }
    Ok(match base {
        B::StringEquals | B::StringNotEquals => Operand::Text(text_pattern(exact)?),
        B::StringEqualsIgnoreCase | B::StringNotEqualsIgnoreCase => {
            Operand::Text(text_pattern(Syntax { fold_case: true, ..exact })?)
        }
        B::StringLike | B::StringNotLike => Operand::Text(text_pattern(glob)?),
        B::NumericEquals
        | B::NumericNotEquals
        | B::NumericLessThan
        | B::NumericLessThanEquals
        | B::NumericGreaterThan
        | B::NumericGreaterThanEquals => typed(parse_number(value).map(Operand::Number)),
        B::DateEquals
        | B::DateNotEquals
        | B::DateLessThan
        | B::DateLessThanEquals
        | B::DateGreaterThan
        | B::DateGreaterThanEquals => typed(parse_date(value).map(Operand::Date)),
        B::Bool => typed(parse_bool(value).map(Operand::Bool)),
        B::BinaryEquals => typed(parse_binary(value).map(Operand::Binary)),
        B::IpAddress | B::NotIpAddress => typed(Cidr::parse(value).map(Operand::Ip)),
        // ArnEquals behaves as ArnLike: both accept wildcards in each part.
        B::ArnEquals | B::ArnLike | B::ArnNotEquals | B::ArnNotLike => Operand::Arn(ArnPattern::compile(value, glob)?),
        B::Null => typed(parse_bool(value).map(Operand::Null)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_parse() {
        let op = Operator::parse("ForAnyValue:StringLikeIfExists").unwrap();
        assert_eq!((op.base, op.set, op.if_exists), (B::StringLike, SetQualifier::ForAnyValue, true));
        assert_eq!(Operator::parse("Bool").unwrap().base, B::Bool);
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("StringEqualz").is_none());
        assert!(Operator::parse("IfExists").is_none());
        assert!(B::NotIpAddress.is_negated() && !B::IpAddress.is_negated());
    }

    #[test]
    fn cidrs() {
        let net = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("10.1.0.1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.1").unwrap().contains("::ffff:10.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
    }

    #[test]
    fn dates() {
        let iso = parse_date("2025-03-01T10:00:00Z").unwrap();
        assert_eq!(parse_date("1740823200"), Some(iso));
        assert_eq!(parse_date("2025-03-01T10:00:00.000Z"), Some(iso));
        assert_eq!(parse_date("2025-03-01T12:00:00+02:00"), Some(iso));
        assert_eq!(parse_date("2025-03-01"), Some(iso - 10 * 3600 * 1000));
        assert!(parse_date("yesterday").is_none());
    }

    #[test]
    fn arn_split_keeps_variables_whole() {
        assert_eq!(
            split_arn_outside_variables("arn:aws:iam::${aws:PrincipalAccount}:role/x"),
            ["arn", "aws", "iam", "", "${aws:PrincipalAccount}", "role/x"]
        );
        assert_eq!(split_arn_outside_variables("arn:aws:s3:::b/a:c"), ["arn", "aws", "s3", "", "", "b/a:c"]);
    }
}
