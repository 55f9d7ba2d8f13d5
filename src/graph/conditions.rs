//! Who sets a condition key, and what class of gate it is. The trust analysis
//! must know what an outsider controls (sts:ExternalId, session name and tags,
//! source identity, its own tags), what AWS sets (aws:PrincipalOrgID,
//! aws:PrincipalAccount, service source keys), and what an identity provider
//! puts in its tokens (OIDC `sub`/`aud`, SAML `aud`).

use crate::findings::{ConditionClass, ConditionSummary};
use crate::policy::Condition;

/// Keys an AWS caller chooses for itself when calling sts:AssumeRole
/// (lower-case; a trailing `/` marks a prefix).
pub const CALLER_CHOSEN_KEYS: &[&str] = &[
    "sts:externalid",
    "sts:rolesessionname",
    "sts:sourceidentity",
    "sts:transitivetagkeys",
    "aws:requesttag/",
    "aws:tagkeys",
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:vpcsourceip",
    "aws:multifactorauthpresent",
    "aws:multifactorauthage",
    "aws:securetransport",
    "aws:currenttime",
    "aws:epochtime",
    "aws:tokenissuetime",
    "aws:useragent",
    "aws:referer",
    "aws:requestedregion",
    "aws:calledvia",
    "aws:calledviafirst",
    "aws:calledvialast",
    "aws:viaawsservice",
];

/// Keys an outside AWS principal also controls: the tags on its own
/// principal, and which of its own users or roles makes the call.
pub const OUTSIDER_CHOSEN_KEYS: &[&str] = &["aws:principaltag/", "aws:principaltype", "aws:userid", "aws:username"];

/// Classify a condition key (any case).
pub fn classify(key: &str) -> ConditionClass {
    let key = key.to_ascii_lowercase();
    match key.as_str() {
        "sts:externalid" => ConditionClass::ExternalId,
        "aws:principalorgid" | "aws:principalorgpaths" => ConditionClass::PrincipalOrg,
        "aws:principalaccount" | "aws:principalarn" | "aws:userid" | "aws:username" => ConditionClass::PrincipalAccount,
        "aws:sourceaccount" | "aws:sourcearn" | "aws:sourceorgid" | "aws:sourceorgpaths" | "aws:sourceowner" => {
            ConditionClass::SourceAccount
        }
        "aws:multifactorauthpresent" | "aws:multifactorauthage" => ConditionClass::Mfa,
        "aws:sourceip" | "aws:sourcevpc" | "aws:sourcevpce" | "aws:vpcsourceip" => ConditionClass::SourceIp,
        _ if key.starts_with("saml:") => ConditionClass::SamlAud,
        _ if key.starts_with("aws:") || key.starts_with("sts:") => ConditionClass::Other,
        _ => match key.rsplit_once(':').map(|(_, claim)| claim) {
            Some("sub") => ConditionClass::OidcSub,
            Some("aud" | "azp" | "oaud") => ConditionClass::OidcAud,
            Some(_) => ConditionClass::OidcClaim,
            None => ConditionClass::Other,
        },
    }
}

/// A statement's conditions as a finding reports them.
pub fn summarize(conditions: &[Condition]) -> Vec<ConditionSummary> {
    conditions
        .iter()
        .map(|c| ConditionSummary {
            key: c.key_written.to_string(),
            operator: c.operator_name.to_string(),
            values: c.values_written.iter().map(|v| v.to_string()).collect(),
            class: classify(&c.key_written),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(classify("sts:ExternalId"), ConditionClass::ExternalId);
        assert_eq!(classify("aws:PrincipalOrgID"), ConditionClass::PrincipalOrg);
        assert_eq!(classify("aws:SourceArn"), ConditionClass::SourceAccount);
        assert_eq!(classify("token.actions.githubusercontent.com:sub"), ConditionClass::OidcSub);
        assert_eq!(classify("oidc.eks.us-east-1.amazonaws.com/id/ABC:aud"), ConditionClass::OidcAud);
        assert_eq!(classify("cognito-identity.amazonaws.com:amr"), ConditionClass::OidcClaim);
        assert_eq!(classify("SAML:aud"), ConditionClass::SamlAud);
        assert_eq!(classify("aws:MultiFactorAuthAge"), ConditionClass::Mfa);
        assert_eq!(classify("aws:SourceIp"), ConditionClass::SourceIp);
        assert_eq!(classify("aws:RequestedRegion"), ConditionClass::Other);
    }
}
