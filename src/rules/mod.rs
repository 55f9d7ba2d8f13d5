//! Rules: the rule kinds trustwarden implements, instantiated and tuned by
//! the TOML files in `rules/` (one file per rule, the file name is its id).
//! The pack (`pack`) loads and checks the files; credential-hygiene kinds are
//! evaluated from the credential report (`credentials`), the trust kinds from
//! the trust graph (`trust`), the MFA condition pitfall from the identity
//! policies themselves (`mfa`).

pub mod credentials;
pub mod mfa;
pub mod pack;
pub mod trust;

pub use credentials::{KeyDeadline, access_key_deadlines, credential_findings};
pub use mfa::mfa_pitfall_findings;
pub use pack::{
    AccessKeyNeverUsedParameters, AccessKeyNotRotatedParameters, AccessKeyUnusedParameters,
    ChainToPrivilegedParameters, ConfusedDeputyParameters, ExternalAccessParameters, IdentityBrokerParameters,
    OidcTrustWithoutSubParameters, PasswordUnusedParameters, RoleUnusedParameters, RootUsedRecentlyParameters, Rule,
    RuleKind, RuleKindName, RuleOverride, RulePack, RulesError, WeakPasswordPolicyParameters,
};
