//! The OIDC issuer table (rules/oidc-issuers.toml): per identity provider,
//! the token claims that bind a token to your own identities, the shape of
//! their values, the trusted lists that name your tenants and owners, and
//! the severities. Parsed once, strictly (`deny_unknown_fields`), then
//! compiled: URL patterns and claim shapes become types the federation
//! analysis matches against.

use std::ops::Range;
use std::sync::{Arc, LazyLock};

use serde::Deserialize;

use crate::findings::Severity;

/// The name of the table's file in a rules directory.
pub const OIDC_ISSUERS_FILE: &str = "oidc-issuers.toml";

/// The table built into the binary.
const BUILTIN_TEXT: &str = include_str!("../../rules/oidc-issuers.toml");

/// Parsed once; the test suite checks it, so an error here is a build defect,
/// reported rather than panicking.
static BUILTIN: LazyLock<Result<Arc<IssuerTable>, BuiltinIssuersInvalid>> =
    LazyLock::new(|| IssuerTable::parse(BUILTIN_TEXT).map(Arc::new).map_err(|e| BuiltinIssuersInvalid(e.to_string())));

/// The table built into the binary does not parse.
#[derive(Clone, Debug, thiserror::Error)]
#[error("the built-in {OIDC_ISSUERS_FILE} is invalid: {0}")]
pub struct BuiltinIssuersInvalid(String);

/// Why an issuer table cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IssuerTableError {
    /// Not TOML, or a field of the wrong type or name; toml's span locates it.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// A well-formed entry that does not make sense.
    #[error("{field}: {message}")]
    Invalid {
        /// The 1-based position of the `[[issuer]]` entry.
        issuer: usize,
        /// Dotted path of the field (`issuer[2].binding[0].shape`).
        field: String,
        message: String,
    },
}

/// The compiled table. `Default` is an empty table, a placeholder only:
/// `RulePack` always carries the built-in or a loaded table, and
/// `TrustRules::from_pack` takes it from there.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IssuerTable {
    issuers: Vec<Issuer>,
}

/// One issuer, compiled.
#[derive(Clone, Debug, PartialEq)]
pub struct Issuer {
    pub name: String,
    urls: Vec<UrlPattern>,
    /// The trusted list naming tenants (`{tenant}` in a URL).
    pub tenants: Option<String>,
    pub shared: bool,
    /// The trusted list naming owners (`{owner}` in a shape).
    pub owners: Option<String>,
    pub binding: Vec<Binding>,
    pub audiences: Vec<String>,
    /// Lower-cased claim names the issuer's tokens carry; empty: unknown.
    pub claims: Vec<String>,
    pub guests: Option<GuestClaim>,
    pub severity: IssuerSeverity,
    pub references: Vec<String>,
}

/// A binding claim and the form of its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    /// Lower-cased claim name (`sub`, `repository_owner`).
    pub claim: String,
    pub shape: Shape,
}

/// A claim value's form: literal text and placeholders.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    pub parts: Vec<ShapePart>,
    written: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShapePart {
    Literal(String),
    /// The owner: written out, and trusted when the owners list is not empty.
    Owner,
    /// An opaque id that changes with the owner: written out.
    OwnerId,
    /// Must be written out.
    Pin,
    /// Anything.
    Any,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestClaim {
    pub claim: String,
    pub value: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerSeverity {
    pub unbound: Severity,
    pub foreign: Severity,
    pub audience: Severity,
}

/// A provider URL pattern: literal text, `*` (any text without `/`) and `{tenant}`.
#[derive(Clone, Debug, PartialEq)]
enum UrlPattern {
    /// A lone `*`: every issuer.
    Everything,
    Parts(Vec<UrlPart>),
}

#[derive(Clone, Debug, PartialEq)]
enum UrlPart {
    Literal(String),
    Star,
    Tenant,
}

// Wire form of the file.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    issuer: Vec<IssuerEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerEntry {
    name: String,
    urls: Vec<String>,
    #[serde(default)]
    tenants: Option<String>,
    #[serde(default)]
    shared: bool,
    #[serde(default)]
    owners: Option<String>,
    binding: Vec<BindingEntry>,
    #[serde(default)]
    audiences: Vec<String>,
    #[serde(default)]
    claims: Vec<String>,
    #[serde(default)]
    guests: Option<GuestClaim>,
    severity: IssuerSeverity,
    #[serde(default)]
    references: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BindingEntry {
    claim: String,
    shape: String,
}

impl IssuerTable {
    /// The table built into the binary.
    pub fn builtin() -> Result<Arc<IssuerTable>, BuiltinIssuersInvalid> {
        BUILTIN.clone()
    }

    /// Parse and check a table's text.
    pub fn parse(text: &str) -> Result<IssuerTable, IssuerTableError> {
        let file: TableFile = toml::from_str(text)?;
        let count = file.issuer.len();
        let mut issuers = Vec::with_capacity(count);
        for (i, entry) in file.issuer.into_iter().enumerate() {
            issuers.push(Issuer::compile(i, entry)?);
        }
        let invalid = |field: String, message: &str| IssuerTableError::Invalid {
            issuer: count.max(1),
            field,
            message: message.to_owned(),
        };
        match issuers.last() {
            None => return Err(invalid("issuer".into(), "the table has no [[issuer]]")),
            Some(last) if !last.urls.contains(&UrlPattern::Everything) => {
                return Err(invalid(
                    format!("issuer[{}].urls", count - 1),
                    "the last issuer must be the catch-all (urls = [\"*\"]), so every provider is judged",
                ));
            }
            Some(_) => {}
        }
        Ok(IssuerTable { issuers })
    }

    pub fn issuers(&self) -> &[Issuer] {
        &self.issuers
    }

    /// The entry for a provider URL (host and path, any case) and the tenant it names.
    pub fn find(&self, url: &str) -> Option<(usize, Option<String>)> {
        let url = url.trim_end_matches('/');
        // Hosts compare without case; the tenant keeps the case it is written in
        // (ASCII lower-casing keeps every byte offset).
        let lower = url.to_ascii_lowercase();
        self.issuers.iter().enumerate().find_map(|(i, issuer)| {
            let found = issuer.urls.iter().find_map(|p| p.matches(&lower))?;
            Some((i, found.and_then(|range| url.get(range)).map(str::to_string)))
        })
    }
}

impl Issuer {
    fn compile(index: usize, entry: IssuerEntry) -> Result<Issuer, IssuerTableError> {
        let invalid = |field: &str, message: String| IssuerTableError::Invalid {
            issuer: index + 1,
            field: format!("issuer[{index}].{field}"),
            message,
        };
        if entry.name.trim().is_empty() {
            return Err(invalid("name", "must not be empty".into()));
        }
        if entry.urls.is_empty() {
            return Err(invalid("urls", "at least one provider URL pattern".into()));
        }
        let urls = entry
            .urls
            .iter()
            .map(|u| UrlPattern::compile(u))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|message| invalid("urls", message))?;
        let has_tenant = urls.iter().any(UrlPattern::has_tenant);
        for (field, list) in [("tenants", &entry.tenants), ("owners", &entry.owners)] {
            if let Some(name) = list
                && !is_list_name(name)
            {
                return Err(invalid(
                    field,
                    format!("{name:?} is not a trusted list name (trusted_ followed by lower-case letters, digits, _)"),
                ));
            }
        }
        if entry.tenants.is_some() && !has_tenant {
            return Err(invalid("tenants", "names a trusted list, but no URL has a {tenant}".into()));
        }
        if entry.binding.is_empty() {
            return Err(invalid("binding", "at least one binding claim".into()));
        }
        let mut binding = Vec::with_capacity(entry.binding.len());
        for (b, raw) in entry.binding.iter().enumerate() {
            let claim = raw.claim.trim().to_ascii_lowercase();
            if claim.is_empty() || claim.contains(':') {
                return Err(invalid(&format!("binding[{b}].claim"), format!("{:?} is not a claim name", raw.claim)));
            }
            let shape = Shape::compile(&raw.shape).map_err(|m| invalid(&format!("binding[{b}].shape"), m))?;
            if shape.parts.contains(&ShapePart::Owner) && entry.owners.is_none() {
                return Err(invalid(
                    &format!("binding[{b}].shape"),
                    "uses {owner}, so the issuer needs an `owners` list".into(),
                ));
            }
            binding.push(Binding { claim, shape });
        }
        if let Some(guests) = &entry.guests
            && (guests.claim.is_empty() || guests.value.is_empty())
        {
            return Err(invalid("guests", "needs a claim and a value".into()));
        }
        Ok(Issuer {
            name: entry.name,
            urls,
            tenants: entry.tenants,
            shared: entry.shared,
            owners: entry.owners,
            binding,
            audiences: entry.audiences,
            claims: entry.claims.iter().map(|c| c.to_ascii_lowercase()).collect(),
            guests: entry.guests.map(|g| GuestClaim { claim: g.claim.to_ascii_lowercase(), value: g.value }),
            severity: entry.severity,
            references: entry.references,
        })
    }

    /// Whether the issuer's tokens carry `claim` (lower-case); unknown claim lists carry everything.
    pub fn carries(&self, claim: &str) -> bool {
        self.claims.is_empty() || self.claims.iter().any(|c| c == claim)
    }

    /// Whether `claim` is one of the binding claims.
    pub fn binds_with(&self, claim: &str) -> bool {
        self.binding.iter().any(|b| b.claim == claim)
    }

    /// Whether any binding shape has a placeholder of this kind.
    pub fn has_placeholder(&self, part: &ShapePart) -> bool {
        self.binding.iter().any(|b| b.shape.parts.contains(part))
    }
}

fn is_list_name(name: &str) -> bool {
    name.strip_prefix("trusted_").is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    })
}

impl UrlPattern {
    fn compile(text: &str) -> Result<UrlPattern, String> {
        let text = text.trim().trim_end_matches('/');
        if text == "*" {
            return Ok(UrlPattern::Everything);
        }
        if text.is_empty() || text.contains("://") {
            return Err(format!("{text:?}: write the provider URL without https://, as an OIDC provider ARN ends"));
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("{tenant}") {
                parts.push(UrlPart::Tenant);
                rest = after;
            } else if let Some(after) = rest.strip_prefix('*') {
                parts.push(UrlPart::Star);
                rest = after;
            } else {
                let end = rest.find(['*', '{']).unwrap_or(rest.len());
                if end == 0 {
                    return Err(format!("{text:?}: only {{tenant}} and * are placeholders"));
                }
                parts.push(UrlPart::Literal(rest[..end].to_ascii_lowercase()));
                rest = &rest[end..];
            }
        }
        if parts.iter().filter(|p| **p == UrlPart::Tenant).count() > 1 {
            return Err(format!("{text:?}: at most one {{tenant}}"));
        }
        Ok(UrlPattern::Parts(parts))
    }

    fn has_tenant(&self) -> bool {
        matches!(self, UrlPattern::Parts(parts) if parts.contains(&UrlPart::Tenant))
    }

    /// `Some(where the tenant is)` when `url` (lower-case) matches.
    fn matches(&self, url: &str) -> Option<Option<Range<usize>>> {
        match self {
            UrlPattern::Everything => Some(None),
            UrlPattern::Parts(parts) => match_parts(parts, url, 0),
        }
    }
}

/// Backtracking match of `text`, which starts at byte `at` of the URL; `*`
/// and `{tenant}` take one or more characters other than `/`.
fn match_parts(parts: &[UrlPart], text: &str, at: usize) -> Option<Option<Range<usize>>> {
    let Some((first, rest)) = parts.split_first() else {
        return text.is_empty().then_some(None);
    };
    match first {
        UrlPart::Literal(literal) => {
            text.strip_prefix(literal.as_str()).and_then(|after| match_parts(rest, after, at + literal.len()))
        }
        UrlPart::Star | UrlPart::Tenant => {
            let limit = text.find('/').unwrap_or(text.len());
            (1..=limit).filter(|&n| text.is_char_boundary(n)).find_map(|n| {
                let found = match_parts(rest, &text[n..], at + n)?;
                Some(if *first == UrlPart::Tenant { Some(at..at + n) } else { found })
            })
        }
    }
}

impl Shape {
    fn compile(text: &str) -> Result<Shape, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(open) = rest.strip_prefix('{') {
                let Some(end) = open.find('}') else {
                    return Err(format!("{text:?}: unclosed {{"));
                };
                let part = match &open[..end] {
                    "owner" => ShapePart::Owner,
                    "owner_id" => ShapePart::OwnerId,
                    "pin" => ShapePart::Pin,
                    "any" => ShapePart::Any,
                    other => {
                        return Err(format!(
                            "{text:?}: unknown placeholder {{{other}}} (expected {{owner}}, {{owner_id}}, {{pin}} or {{any}})"
                        ));
                    }
                };
                // Two placeholders in a row cannot be told apart in a value.
                if parts.last().is_some_and(|p| !matches!(p, ShapePart::Literal(_))) {
                    return Err(format!("{text:?}: placeholders must be separated by literal text"));
                }
                parts.push(part);
                rest = &open[end + 1..];
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                let literal = &rest[..end];
                if literal.contains(['*', '?', '}']) {
                    return Err(format!("{text:?}: literal text may not contain *, ? or }}"));
                }
                parts.push(ShapePart::Literal(literal.to_string()));
                rest = &rest[end..];
            }
        }
        if !parts.iter().any(|p| matches!(p, ShapePart::Owner | ShapePart::OwnerId | ShapePart::Pin)) {
            return Err(format!("{text:?}: a binding shape needs an {{owner}}, {{owner_id}} or {{pin}}"));
        }
        Ok(Shape { parts, written: text.to_string() })
    }

    pub fn as_str(&self) -> &str {
        &self.written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses_and_ends_with_the_catch_all() {
        let table = IssuerTable::builtin().unwrap();
        assert!(table.issuers().len() >= 10);
        let name = |url: &str| table.find(url).map(|(i, tenant)| (table.issuers()[i].name.clone(), tenant));
        assert_eq!(name("token.actions.githubusercontent.com"), Some(("GitHub Actions".into(), None)));
        assert_eq!(
            name("oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"),
            Some((
                "Amazon EKS (IAM roles for service accounts)".into(),
                Some("EXAMPLED539D4633E53DE1B71EXAMPLE".into())
            ))
        );
        assert_eq!(
            name("api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc").map(|n| n.1),
            Some(Some("acme".into()))
        );
        assert_eq!(name("oidc.circleci.com/org/1234").map(|n| n.1), Some(Some("1234".into())));
        assert_eq!(name("login.example.com/oauth2").map(|n| n.0), Some("Other OIDC issuer".into()));
        // `*` does not span a `/`: a deeper path is not the EKS issuer.
        assert_eq!(name("oidc.eks.a/b.amazonaws.com/id/X").map(|n| n.0), Some("Other OIDC issuer".into()));
    }

    #[test]
    fn problems_name_the_field() {
        let base = r#"
[[issuer]]
name = "x"
urls = ["*"]
owners = "trusted_x"
binding = [{ claim = "aud", shape = "{owner}" }]
severity = { unbound = "critical", foreign = "critical", audience = "low" }
"#;
        assert!(IssuerTable::parse(base).is_ok());
        let bad = |from: &str, to: &str| IssuerTable::parse(&base.replace(from, to)).unwrap_err().to_string();
        assert!(bad("{owner}\" }", "{who}\" }").contains("issuer[0].binding[0].shape: "), "unknown placeholder");
        assert!(bad("owners = \"trusted_x\"", "owners = \"github\"").contains("issuer[0].owners"));
        assert!(bad("owners = \"trusted_x\"\n", "").contains("needs an `owners` list"));
        assert!(bad("urls = [\"*\"]", "urls = [\"a.example\"]").contains("catch-all"));
        assert!(bad("name = \"x\"", "name = \"x\"\ncolour = 1").contains("unknown field `colour`"));
        assert!(bad("\"critical\", foreign", "\"urgent\", foreign").contains("urgent"));
    }

    #[test]
    fn shapes_compile() {
        let shape = Shape::compile("repo:{owner}/{any}").unwrap();
        assert_eq!(
            shape.parts,
            vec![ShapePart::Literal("repo:".into()), ShapePart::Owner, ShapePart::Literal("/".into()), ShapePart::Any]
        );
        assert!(Shape::compile("{any}").is_err());
        assert!(Shape::compile("{owner}{any}").is_err());
        assert!(Shape::compile("repo:*").is_err());
    }
}
