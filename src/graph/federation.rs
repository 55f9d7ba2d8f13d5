//! Federation: which identities of an identity provider a trust policy lets
//! in, decided by the evaluator on concrete tokens rather than by reading
//! condition names.
//!
//! Every claim of a token is the identity provider's to set, and an outsider
//! who holds a token of the same issuer chooses every claim that does not
//! name who it is (branch, environment, audience). So the analysis builds
//! tokens of identities the trust should not admit, an owner nobody named,
//! a namespace or client nobody pinned, and asks the evaluator whether the
//! whole trust policy (Deny statements, several statements, every operator)
//! lets them in. The claim values are taken from the trust's own conditions:
//! for each condition value, the shortest value that both matches it and has
//! the probed identity in the issuer's claim shape (rules/oidc-issuers.toml).

use std::collections::BTreeMap;

use crate::eval::{Caller, Context, ContextValue, Decision, PolicySet, Request, evaluate};
use crate::findings::{ConditionSummary, EvidenceRef};
use crate::policy::{BaseOperator, Policy};

use super::issuers::{Issuer, ShapePart};

/// An owner nobody writes in a trust: a stand-in for any outsider.
const FRESH_OWNER: &str = "zz-untrusted-owner";
const FRESH_ID: &str = "zz-untrusted-id";
const FRESH_PIN: &str = "zz-unpinned";
const FRESH_AUDIENCE: &str = "zz-unpinned-audience";
/// Filler for a wildcard inside an owner written in a trust (`demo-*`).
const FILLER: &str = "zz";
/// Upper bound on the claim-value combinations tried per probe.
const MAX_COMBINATIONS: usize = 256;

/// What a trust admits of one issuer's tokens.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TokenBinding {
    /// The issuer table entry's name.
    pub issuer: String,
    /// Its position in the table.
    #[serde(skip)]
    pub issuer_index: usize,
    /// The tenant the issuer is per (EKS cluster id, workspace), lower-case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// A token whose binding claims name nobody the trust names gets in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unbound: Option<Admission>,
    /// Owners written in the trust whose tokens get in.
    pub owners: Vec<OwnerAdmission>,
    /// A token with an audience nobody wrote gets in (issuers whose
    /// audience is not a binding claim).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience_open: Option<Admission>,
    /// An unauthenticated (guest) token gets in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guests: Option<Admission>,
}

/// The statement that let a probe token in, with its conditions.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Admission {
    pub conditions: Vec<ConditionSummary>,
    pub evidence: Vec<EvidenceRef>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OwnerAdmission {
    pub owner: String,
    #[serde(flatten)]
    pub admission: Admission,
}

/// What a probe token says in place of each placeholder.
#[derive(Clone, Copy, Debug)]
enum Fill<'a> {
    /// Whatever the trust's condition value says there.
    Keep,
    Value(&'a str),
}

#[derive(Clone, Copy, Debug)]
struct Assignment<'a> {
    owner: Fill<'a>,
    owner_id: Fill<'a>,
    /// The claim and placeholder position (among its `{pin}`s) given a fresh value.
    fresh_pin: Option<(&'a str, usize)>,
}

/// One analysis: an issuer's tokens against one trust policy.
pub(super) struct Federation<'a> {
    issuer: &'a Issuer,
    issuer_index: usize,
    tenant: Option<String>,
    /// Lower-cased condition key prefix: the provider URL and `:`.
    prefix: String,
    trust: &'a Policy,
    role_arn: &'a str,
    caller: Caller,
    /// Lower-cased claims the trust has conditions on.
    claims_in_trust: Vec<String>,
    /// Per binding claim, the string values written in the trust's conditions.
    patterns: BTreeMap<String, Vec<Written>>,
    /// Turns a decision into the evidence findings cite.
    admission: &'a dyn Fn(&Decision) -> Admission,
}

/// A condition value on a binding claim.
#[derive(Clone, Debug)]
struct Written {
    text: String,
    /// `*` and `?` are wildcards (StringLike and its negation).
    wildcards: bool,
    fold_case: bool,
}

impl<'a> Federation<'a> {
    pub(super) fn new(
        issuer: (&'a Issuer, usize, Option<String>),
        url: &str,
        trust: &'a Policy,
        role_arn: &'a str,
        caller: Caller,
        admission: &'a dyn Fn(&Decision) -> Admission,
    ) -> Self {
        let prefix = format!("{}:", url.trim_end_matches('/').to_ascii_lowercase());
        let mut claims_in_trust = Vec::new();
        let mut patterns: BTreeMap<String, Vec<Written>> = BTreeMap::new();
        for condition in trust.statements.iter().flat_map(|s| s.conditions.iter()) {
            let Some(claim) = condition.key.strip_prefix(prefix.as_str()) else { continue };
            if !claims_in_trust.iter().any(|c| c == claim) {
                claims_in_trust.push(claim.to_string());
            }
            let base = condition.operator.base;
            let (wildcards, fold_case) = match base {
                BaseOperator::StringLike | BaseOperator::StringNotLike => (true, false),
                BaseOperator::StringEquals | BaseOperator::StringNotEquals => (false, false),
                BaseOperator::StringEqualsIgnoreCase | BaseOperator::StringNotEqualsIgnoreCase => (false, true),
                _ => continue,
            };
            if issuer.0.binds_with(claim) {
                let list = patterns.entry(claim.to_string()).or_default();
                for value in condition.values_written.iter() {
                    list.push(Written { text: value.to_string(), wildcards, fold_case });
                }
            }
        }
        Federation {
            issuer: issuer.0,
            issuer_index: issuer.1,
            tenant: issuer.2,
            prefix,
            trust,
            role_arn,
            caller,
            claims_in_trust,
            patterns,
            admission,
        }
    }

    /// Probe the trust with tokens of identities it should not admit.
    pub(super) fn analyse(&self) -> TokenBinding {
        let mut binding = TokenBinding {
            issuer: self.issuer.name.clone(),
            issuer_index: self.issuer_index,
            tenant: self.tenant.clone(),
            unbound: None,
            owners: Vec::new(),
            audience_open: None,
            guests: None,
        };
        // Tokens admitted so far, to try guest and audience variants on.
        let mut admitted: Vec<Assignment<'_>> = Vec::new();

        let (wild_owners, literal_owners) = self.owners_written();
        if self.issuer.has_placeholder(&ShapePart::Owner) || self.issuer.has_placeholder(&ShapePart::OwnerId) {
            for owner in std::iter::once(FRESH_OWNER).chain(wild_owners.iter().map(String::as_str)) {
                let assignment =
                    Assignment { owner: Fill::Value(owner), owner_id: Fill::Value(FRESH_ID), fresh_pin: None };
                if let Some(decision) = self.try_token(&assignment, &[]) {
                    binding.unbound = Some((self.admission)(&decision));
                    admitted.push(assignment);
                    break;
                }
            }
        }
        if binding.unbound.is_none() {
            'pins: for b in &self.issuer.binding {
                let pins = b.shape.parts.iter().filter(|p| **p == ShapePart::Pin).count();
                for position in 0..pins {
                    let assignment =
                        Assignment { owner: Fill::Keep, owner_id: Fill::Keep, fresh_pin: Some((&b.claim, position)) };
                    if let Some(decision) = self.try_token(&assignment, &[]) {
                        binding.unbound = Some((self.admission)(&decision));
                        admitted.push(assignment);
                        break 'pins;
                    }
                }
            }
        }
        for owner in &literal_owners {
            let assignment = Assignment { owner: Fill::Value(owner), owner_id: Fill::Keep, fresh_pin: None };
            if let Some(decision) = self.try_token(&assignment, &[]) {
                binding.owners.push(OwnerAdmission { owner: owner.clone(), admission: (self.admission)(&decision) });
                admitted.push(assignment);
            }
        }
        if admitted.is_empty() {
            // The trust pins values of a form the table does not describe
            // (a customised subject): a token of that form is the only way in.
            let assignment = Assignment { owner: Fill::Keep, owner_id: Fill::Keep, fresh_pin: None };
            if self.try_token(&assignment, &[]).is_some() {
                admitted.push(assignment);
            }
        }

        if let Some(guests) = &self.issuer.guests {
            let value = ContextValue::Multi(Box::new([guests.value.as_str().into()]));
            binding.guests = admitted
                .iter()
                .find_map(|a| self.try_token(a, &[(guests.claim.as_str(), value.clone())]))
                .map(|d| (self.admission)(&d));
        }
        if binding.unbound.is_none() && !self.issuer.audiences.is_empty() && !self.issuer.binds_with("aud") {
            let value = ContextValue::Single(FRESH_AUDIENCE.into());
            binding.audience_open = admitted
                .iter()
                .find_map(|a| self.try_token(a, &[("aud", value.clone())]))
                .map(|d| (self.admission)(&d));
        }
        binding
    }

    /// Owners written in the binding claims' values: those with a wildcard,
    /// filled in (anyone can register such a name), and literal ones.
    fn owners_written(&self) -> (Vec<String>, Vec<String>) {
        let (mut wild, mut literal) = (Vec::new(), Vec::new());
        for (claim, values) in &self.patterns {
            for written in values {
                // The first shape of the claim the value fits says where its owner is.
                let owner = self
                    .issuer
                    .binding
                    .iter()
                    .filter(|b| &b.claim == claim)
                    .find_map(|b| owner_segment(&b.shape.parts, &written.text).map(|o| (b, o)));
                let Some((binding, owner)) = owner else { continue };
                if !binding.shape.parts.contains(&ShapePart::Owner) {
                    continue;
                }
                let list = match (owner.contains(['*', '?']), written.wildcards) {
                    (true, true) => &mut wild,
                    // A literal `*` under StringEquals: no token has it.
                    (true, false) => continue,
                    (false, _) => &mut literal,
                };
                let owner = owner.replace('*', FILLER).replace('?', "z");
                if !owner.is_empty() && !list.contains(&owner) {
                    list.push(owner);
                }
            }
        }
        (wild, literal)
    }

    /// The first combination of claim values for `assignment` (plus `extra`
    /// claims) that the trust admits, with the decision.
    fn try_token(&self, assignment: &Assignment<'_>, extra: &[(&str, ContextValue)]) -> Option<Decision> {
        let mut concrete: Vec<(String, Vec<String>)> = Vec::new();
        for (claim, written) in &self.patterns {
            if extra.iter().any(|(c, _)| c == claim) {
                continue;
            }
            let mut values: Vec<String> = Vec::new();
            for b in self.issuer.binding.iter().filter(|b| &b.claim == claim) {
                let fresh_pin = assignment.fresh_pin.filter(|(c, _)| *c == claim.as_str()).map(|(_, p)| p);
                let Some(target) = shape_glob(&b.shape.parts, assignment, fresh_pin) else { continue };
                let generic = Written { text: "*".into(), wildcards: true, fold_case: false };
                for w in written.iter().chain([&generic]) {
                    if let Some(value) = intersect(&w.text, w.wildcards, w.fold_case, &target)
                        && !values.contains(&value)
                    {
                        values.push(value);
                    }
                }
            }
            if values.is_empty() {
                // No shape of this claim can hold the probed identity: leave
                // it as the holder of such a token would have it, unknown.
                continue;
            }
            concrete.push((claim.clone(), values));
        }

        let mut indices = vec![0usize; concrete.len()];
        for _ in 0..MAX_COMBINATIONS {
            let mut context = Context::new();
            for ((claim, values), &i) in concrete.iter().zip(&indices) {
                context.insert(&format!("{}{claim}", self.prefix), ContextValue::Single(values[i].as_str().into()));
            }
            for (claim, value) in extra {
                context.insert(&format!("{}{claim}", self.prefix), value.clone());
            }
            let free: Vec<String> = self
                .claims_in_trust
                .iter()
                .filter(|c| self.issuer.carries(c))
                .filter(|c| !concrete.iter().any(|(k, _)| k == *c) && !extra.iter().any(|(k, _)| k == c))
                .map(|c| format!("{}{c}", self.prefix))
                .collect();
            let context = context.with_free_keys(
                free.iter().map(String::as_str).chain(super::conditions::CALLER_CHOSEN_KEYS.iter().copied()),
            );
            let request =
                Request::new(self.caller.clone(), "sts:AssumeRoleWithWebIdentity", self.role_arn, None, context);
            let decision = evaluate(&request, &PolicySet { resource: Some(self.trust), ..PolicySet::default() });
            if decision.is_allowed() {
                return Some(decision);
            }
            // Next combination (odometer order).
            let mut position = 0;
            loop {
                let index = indices.get_mut(position)?;
                *index += 1;
                if *index < concrete[position].1.len() {
                    break;
                }
                *index = 0;
                position += 1;
            }
        }
        None
    }
}

/// The text a written value has where the shape's `{owner}` is, when the
/// value has the shape's literal text around it.
fn owner_segment<'t>(parts: &[ShapePart], text: &'t str) -> Option<&'t str> {
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        match part {
            ShapePart::Literal(literal) => rest = rest.strip_prefix(literal.as_str())?,
            placeholder => {
                let end = match parts.get(i + 1) {
                    Some(ShapePart::Literal(next)) => rest.find(next.as_str()).or_else(|| {
                        // A trailing `*` may stand for the separator and what follows.
                        rest.ends_with('*').then_some(rest.len())
                    })?,
                    _ => rest.len(),
                };
                let (segment, after) = rest.split_at(end);
                if *placeholder == ShapePart::Owner {
                    return Some(segment);
                }
                rest = after;
            }
        }
    }
    None
}

/// The glob of the values a probe token can have for a claim of this shape:
/// literal text, the assigned owner, and `*` where the holder chooses.
/// `None` when an owner probe meets a shape without a place for the owner:
/// such a claim says nothing about the owner, so the probe leaves it to the
/// token's holder. A pin probe keeps the other claims' written values.
fn shape_glob(parts: &[ShapePart], assignment: &Assignment<'_>, fresh_pin: Option<usize>) -> Option<Vec<GlobChar>> {
    let mut glob = Vec::new();
    let mut pin = 0;
    let mut assigned = false;
    for part in parts {
        let fill = match part {
            ShapePart::Literal(text) => Fill::Value(text.as_str()),
            ShapePart::Owner => {
                assigned |= matches!(assignment.owner, Fill::Value(_));
                assignment.owner
            }
            ShapePart::OwnerId => {
                assigned |= matches!(assignment.owner_id, Fill::Value(_));
                assignment.owner_id
            }
            ShapePart::Pin => {
                let fresh = fresh_pin == Some(pin);
                pin += 1;
                assigned |= fresh;
                if fresh { Fill::Value(FRESH_PIN) } else { Fill::Keep }
            }
            ShapePart::Any => Fill::Keep,
        };
        match fill {
            Fill::Value(text) => glob.extend(text.chars().map(GlobChar::Literal)),
            Fill::Keep => glob.push(GlobChar::Star),
        }
    }
    let probing_owner = matches!(assignment.owner, Fill::Value(_)) || matches!(assignment.owner_id, Fill::Value(_));
    (assigned || !probing_owner).then_some(glob)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GlobChar {
    Literal(char),
    One,
    Star,
}

fn glob_chars(text: &str, wildcards: bool) -> Vec<GlobChar> {
    text.chars()
        .map(|c| match c {
            '*' if wildcards => GlobChar::Star,
            '?' if wildcards => GlobChar::One,
            c => GlobChar::Literal(c),
        })
        .collect()
}

/// The shortest string matched by both a written condition value and a
/// probe glob, if there is one: a breadth-first search over pairs of
/// positions (the product of the two patterns' automata).
fn intersect(written: &str, wildcards: bool, fold_case: bool, target: &[GlobChar]) -> Option<String> {
    let a = glob_chars(written, wildcards);
    let b = target;
    let width = b.len() + 1;
    let state = |i: usize, j: usize| i * width + j;
    let mut previous: Vec<Option<(usize, Option<char>)>> = vec![None; (a.len() + 1) * width];
    let mut seen = vec![false; (a.len() + 1) * width];
    let mut queue = std::collections::VecDeque::from([(0usize, 0usize)]);
    seen[0] = true;
    let same = |x: char, y: char| if fold_case { x.to_lowercase().eq(y.to_lowercase()) } else { x == y };
    while let Some((i, j)) = queue.pop_front() {
        if i == a.len() && j == b.len() {
            let mut out = Vec::new();
            let mut at = state(i, j);
            while let Some((from, emitted)) = previous[at] {
                out.extend(emitted);
                at = from;
            }
            out.reverse();
            return Some(out.into_iter().collect());
        }
        let mut moves: Vec<(usize, usize, Option<char>)> = Vec::new();
        if a.get(i) == Some(&GlobChar::Star) {
            moves.push((i + 1, j, None));
        }
        if b.get(j) == Some(&GlobChar::Star) {
            moves.push((i, j + 1, None));
        }
        if let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
            let step = |g: GlobChar, at: usize| if g == GlobChar::Star { at } else { at + 1 };
            let emitted = match (x, y) {
                (GlobChar::Literal(p), GlobChar::Literal(q)) => same(p, q).then_some(p),
                (GlobChar::Literal(p), _) => Some(p),
                (_, GlobChar::Literal(q)) => Some(q),
                _ => Some('z'),
            };
            // Two stars consuming together make no progress.
            if let Some(c) = emitted.filter(|_| !(x == GlobChar::Star && y == GlobChar::Star)) {
                moves.push((step(x, i), step(y, j), Some(c)));
            }
        }
        for (ni, nj, emitted) in moves {
            let s = state(ni, nj);
            if !seen[s] {
                seen[s] = true;
                previous[s] = Some((state(i, j), emitted));
                queue.push_back((ni, nj));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(text: &str) -> Vec<GlobChar> {
        glob_chars(text, true)
    }

    #[test]
    fn intersections_are_shortest_witnesses() {
        assert_eq!(intersect("repo:*", true, false, &glob("repo:evil/*")), Some("repo:evil/".into()));
        assert_eq!(
            intersect("repo:*:ref:refs/heads/main", true, false, &glob("repo:evil/*")),
            Some("repo:evil/:ref:refs/heads/main".into())
        );
        assert_eq!(intersect("repo:demo-corp/*", true, false, &glob("repo:evil/*")), None);
        assert_eq!(intersect("repo:*", false, false, &glob("repo:evil/*")), None, "StringEquals: * is literal");
        assert_eq!(intersect("Repo:Evil/x", false, true, &glob("repo:evil/*")), Some("Repo:Evil/x".into()));
        assert_eq!(
            intersect("system:serviceaccount:*", true, false, &glob("system:serviceaccount:zz:*")).as_deref(),
            Some("system:serviceaccount:zz:")
        );
        assert_eq!(intersect("a?c", true, false, &glob("*")), Some("azc".into()));
    }

    #[test]
    fn owner_segments() {
        let parts =
            vec![ShapePart::Literal("repo:".into()), ShapePart::Owner, ShapePart::Literal("/".into()), ShapePart::Any];
        assert_eq!(owner_segment(&parts, "repo:demo-corp/app:ref:refs/heads/main"), Some("demo-corp"));
        assert_eq!(owner_segment(&parts, "repo:demo-*/x"), Some("demo-*"));
        assert_eq!(owner_segment(&parts, "repo:*"), Some("*"));
        assert_eq!(owner_segment(&parts, "repository_owner:x"), None);
        assert_eq!(owner_segment(&[ShapePart::Owner], "demo-corp"), Some("demo-corp"));
    }
}
