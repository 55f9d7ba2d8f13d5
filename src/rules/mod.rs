//! Rules: the rule kinds trustwarden implements, instantiated and tuned by
//! the TOML files in `rules/` (one file per rule, the file name is its id).
//! The pack (`pack`) loads and checks the files; credential-hygiene kinds are
//! evaluated from the credential report (`credentials`), the trust kinds from
//! the trust graph (`trust`).

pub mod credentials;
pub mod pack;
pub mod trust;

pub use credentials::{KeyDeadline, access_key_deadlines, credential_findings};
pub use pack::{
    AccessKeyNeverUsedParameters, AccessKeyNotRotatedParameters, AccessKeyUnusedParameters,
    ChainToPrivilegedParameters, ConfusedDeputyParameters, ExternalAccessParameters, OidcTrustWithoutSubParameters,
    PasswordUnusedParameters, RoleUnusedParameters, RootUsedRecentlyParameters, Rule, RuleKind, RuleKindName,
    RuleOverride, RulePack, RulesError, WeakPasswordPolicyParameters,
};
