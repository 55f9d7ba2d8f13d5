//! The rule pack: the built-in rules (rules/*.toml), and loading and
//! validating rule directories, including broken files
//! (tests/fixtures/rules/broken).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use trustwarden::findings::Severity;
use trustwarden::rules::{
    AccessKeyNeverUsedParameters, AccessKeyNotRotatedParameters, AccessKeyUnusedParameters,
    ChainToPrivilegedParameters, ConfusedDeputyParameters, ExternalAccessParameters, IdentityBrokerParameters,
    OidcTrustWithoutSubParameters, PasswordUnusedParameters, RoleUnusedParameters, RootUsedRecentlyParameters,
    RuleKind, RuleKindName, RuleOverride, RulePack, RulesError, WeakPasswordPolicyParameters,
};

const IDS: [&str; 17] = [
    "external-access",
    "chain-to-privileged",
    "oidc-trust-without-sub",
    "confused-deputy",
    "access-key-not-rotated",
    "access-key-unused",
    "access-key-never-used",
    "two-active-access-keys",
    "console-without-mfa",
    "password-unused",
    "root-access-key",
    "root-without-mfa",
    "root-used-recently",
    "weak-password-policy",
    "role-unused",
    "identity-broker",
    "mfa-condition-pitfall",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures(name: &str) -> PathBuf {
    root().join("tests/fixtures/rules").join(name)
}

#[test]
fn builtin_pack_has_the_seventeen_rules_each_of_its_own_kind() {
    let pack = RulePack::builtin().unwrap();
    let ids: BTreeSet<&str> = pack.iter().map(|rule| rule.id.as_str()).collect();
    assert_eq!(ids, IDS.into_iter().collect());
    assert_eq!(pack.len(), 17);
    for rule in &pack {
        assert_eq!(rule.kind.name().as_str(), rule.id, "the built-in rule {} is its kind's default", rule.id);
        assert!(rule.enabled, "{}", rule.id);
        assert!(!rule.title.is_empty() && !rule.description.is_empty() && !rule.remediation.is_empty(), "{}", rule.id);
        assert!(
            rule.references.iter().any(|reference| reference.starts_with("https://docs.aws.amazon.com/")),
            "{} cites AWS documentation",
            rule.id
        );
        assert!(
            !rule.description.contains("  ") && !rule.description.ends_with(' '),
            "{}: {:?}",
            rule.id,
            rule.description
        );
    }
    assert_eq!(
        pack.iter().map(|rule| rule.kind.name()).collect::<BTreeSet<_>>(),
        RuleKindName::ALL.into_iter().collect(),
        "every kind has a built-in rule"
    );
}

/// The "Choices" of examples/demo-org/README.md.
#[test]
fn builtin_severities_and_cis_references() {
    let pack = RulePack::builtin().unwrap();
    let expected = [
        ("chain-to-privileged", Severity::Critical, None),
        ("oidc-trust-without-sub", Severity::Critical, None),
        ("root-access-key", Severity::Critical, Some("CIS AWS Foundations 1.4")),
        ("root-without-mfa", Severity::Critical, Some("CIS AWS Foundations 1.5")),
        ("root-used-recently", Severity::High, Some("CIS AWS Foundations 1.7")),
        ("console-without-mfa", Severity::High, Some("CIS AWS Foundations 1.10")),
        ("access-key-not-rotated", Severity::Medium, Some("CIS AWS Foundations 1.14")),
        ("access-key-unused", Severity::Medium, Some("CIS AWS Foundations 1.12")),
        ("access-key-never-used", Severity::Medium, Some("CIS AWS Foundations 1.11")),
        ("two-active-access-keys", Severity::Medium, Some("CIS AWS Foundations 1.13")),
        ("password-unused", Severity::Medium, Some("CIS AWS Foundations 1.12")),
        ("weak-password-policy", Severity::Medium, Some("CIS AWS Foundations 1.8")),
        ("confused-deputy", Severity::Medium, None),
        ("role-unused", Severity::Low, None),
    ];
    for (id, severity, cis) in expected {
        let rule = pack.get(id).unwrap();
        assert_eq!(rule.severity, severity, "{id}");
        if let Some(cis) = cis {
            assert!(rule.references.iter().any(|r| r == cis), "{id} cites {cis}: {:?}", rule.references);
        }
    }
}

/// The parameters written in rules/*.toml are the documented defaults, the
/// same as a file that leaves them out.
#[test]
fn builtin_parameters_are_the_defaults() {
    let pack = RulePack::builtin().unwrap();
    let kind = |id: &str| pack.get(id).unwrap().kind.clone();
    assert_eq!(kind("external-access"), RuleKind::ExternalAccess(ExternalAccessParameters::default()));
    assert_eq!(kind("chain-to-privileged"), RuleKind::ChainToPrivileged(ChainToPrivilegedParameters::default()));
    assert_eq!(kind("oidc-trust-without-sub"), RuleKind::OidcTrustWithoutSub(OidcTrustWithoutSubParameters::default()));
    assert_eq!(kind("confused-deputy"), RuleKind::ConfusedDeputy(ConfusedDeputyParameters::default()));
    assert_eq!(
        kind("access-key-not-rotated"),
        RuleKind::AccessKeyNotRotated(AccessKeyNotRotatedParameters { max_age_days: 90 })
    );
    assert_eq!(kind("access-key-unused"), RuleKind::AccessKeyUnused(AccessKeyUnusedParameters { max_unused_days: 45 }));
    assert_eq!(
        kind("access-key-never-used"),
        RuleKind::AccessKeyNeverUsed(AccessKeyNeverUsedParameters { grace_days: 7 })
    );
    assert_eq!(kind("password-unused"), RuleKind::PasswordUnused(PasswordUnusedParameters { max_unused_days: 45 }));
    assert_eq!(kind("root-used-recently"), RuleKind::RootUsedRecently(RootUsedRecentlyParameters { window_days: 7 }));
    assert_eq!(
        kind("weak-password-policy"),
        RuleKind::WeakPasswordPolicy(WeakPasswordPolicyParameters {
            minimum_length: 14,
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: true,
            require_symbols: true,
            reuse_prevention: 24,
            max_password_age_days: None,
        })
    );
    assert_eq!(
        kind("role-unused"),
        RuleKind::RoleUnused(RoleUnusedParameters {
            max_unused_days: 90,
            exempt_path_prefixes: vec!["/aws-service-role/".into(), "/aws-reserved/".into()],
        })
    );
    assert_eq!(kind("identity-broker"), RuleKind::IdentityBroker(IdentityBrokerParameters { min_roles: 10 }));
    for id in [
        "two-active-access-keys",
        "console-without-mfa",
        "root-access-key",
        "root-without-mfa",
        "mfa-condition-pitfall",
    ] {
        assert!(kind(id).parameters().unwrap().is_empty(), "{id}");
    }
    let ChainToPrivilegedParameters { privileged_actions, max_hops } = ChainToPrivilegedParameters::default();
    assert_eq!((privileged_actions.len(), privileged_actions[0].as_str(), max_hops), (8, "*:*", 6));
    assert_eq!(ConfusedDeputyParameters::default().services.len(), 10);
}

/// The files embedded in the binary are the files in rules/.
#[test]
fn rules_directory_is_the_builtin_pack() {
    let dir = root().join("rules");
    let loaded = RulePack::load_dir(&dir).unwrap_or_else(|error| panic!("{error}"));
    let builtin = RulePack::builtin().unwrap();
    assert_eq!(loaded.len(), builtin.len(), "every rules/*.toml is listed in BUILTIN (src/rules/pack.rs)");
    for (on_disk, embedded) in loaded.iter().zip(&builtin) {
        assert_eq!(on_disk.file, dir.join(format!("{}.toml", on_disk.id)));
        assert_eq!(embedded.file, Path::new("rules").join(format!("{}.toml", embedded.id)));
        let mut on_disk = on_disk.clone();
        on_disk.file = embedded.file.clone();
        assert_eq!(&on_disk, embedded);
    }
    assert_eq!(loaded.oidc_issuers(), builtin.oidc_issuers(), "rules/oidc-issuers.toml is the built-in issuer table");
    assert!(RulePack::validate_dir(&dir).is_empty());
}

/// A rules directory's oidc-issuers.toml replaces the built-in issuer table
/// (a new CI provider is data), and is checked like a rule file.
#[test]
fn a_rules_directory_may_bring_its_own_issuer_table() {
    let dir = tempfile::tempdir().unwrap();
    let rule = std::fs::read_to_string(root().join("rules/oidc-trust-without-sub.toml")).unwrap();
    std::fs::write(dir.path().join("oidc-trust-without-sub.toml"), rule).unwrap();
    let table = r#"
[[issuer]]
name = "Buildkite"
urls = ["agent.buildkite.com"]
shared = true
owners = "trusted_buildkite_orgs"
binding = [{ claim = "sub", shape = "organization:{owner}:{any}" }]
severity = { unbound = "critical", foreign = "critical", audience = "low" }

[[issuer]]
name = "Other"
urls = ["*"]
owners = "trusted_oidc_audiences"
binding = [{ claim = "aud", shape = "{owner}" }]
severity = { unbound = "high", foreign = "high", audience = "low" }
"#;
    std::fs::write(dir.path().join("oidc-issuers.toml"), table).unwrap();
    let pack = RulePack::load_dir(dir.path()).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(pack.len(), 1, "the issuer table is not a rule");
    let names: Vec<String> = pack.oidc_issuers().issuers().iter().map(|i| i.name.clone()).collect();
    assert_eq!(names, ["Buildkite", "Other"]);

    std::fs::write(dir.path().join("oidc-issuers.toml"), table.replace("{owner}:{any}", "{owner}:{repo}")).unwrap();
    let errors = RulePack::validate_dir(dir.path());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0].line(), errors[0].field()), (Some(2), Some("issuer[0].binding[0].shape")), "{}", errors[0]);
    assert!(RulePack::load_dir(dir.path()).is_err());
    std::fs::write(dir.path().join("oidc-issuers.toml"), table.replace("shared = true", "shared = true\ncolour = 1"))
        .unwrap();
    let errors = RulePack::validate_dir(dir.path());
    assert!(errors[0].to_string().contains("unknown field `colour`"), "{}", errors[0]);
}

#[test]
fn validate_reports_every_broken_file_with_line_and_field() {
    let dir = fixtures("broken");
    let messages: Vec<String> = RulePack::validate_dir(&dir)
        .iter()
        .map(|error| error.to_string().replace(&format!("{}/", dir.display()), ""))
        .collect();
    assert_eq!(
        messages,
        [
            "access-key-not-rotated.toml:11:16: parameters.max_age_days: invalid type: string \"ninety\", expected u32",
            "access-key-unused.toml:11:1: parameters.max_unused_day: unknown field `max_unused_day`, expected `max_unused_days`",
            "key-age.toml:5:8: kind: unknown variant `access-key-age`, expected one of `external-access`, \
             `chain-to-privileged`, `oidc-trust-without-sub`, `confused-deputy`, `access-key-not-rotated`, \
             `access-key-unused`, `access-key-never-used`, `two-active-access-keys`, `console-without-mfa`, \
             `password-unused`, `root-access-key`, `root-without-mfa`, `root-used-recently`, \
             `weak-password-policy`, `role-unused`, `identity-broker`, `mfa-condition-pitfall`",
            "role-unused.toml:3:21: invalid basic string, expected `\"`",
            "root-without-mfa.toml:9:1: owner: unknown field `owner`, expected one of `id`, `title`, `severity`, \
             `kind`, `enabled`, `parameters`, `description`, `remediation`, `references`",
            "two-active-access-keys.toml:11:1: parameters.max_active_keys: unknown field `max_active_keys`, \
             there are no fields",
            "root-access-key-copy.toml:2: id: \"root-access-key\" is not the file name \"root-access-key-copy.toml\"",
            "root-access-key-copy.toml:2: id: \"root-access-key\" is already the id of root-access-key.toml",
        ]
    );
}

#[test]
fn errors_expose_file_line_and_field() {
    let dir = fixtures("broken");
    let errors = RulePack::validate_dir(&dir);
    let wrong_type = &errors[0];
    assert_eq!(wrong_type.file(), Some(dir.join("access-key-not-rotated.toml").as_path()));
    assert_eq!(wrong_type.line(), Some(11));
    assert_eq!(wrong_type.field(), Some("parameters.max_age_days"));
    assert!(matches!(errors.last(), Some(RulesError::DuplicateId { id, .. }) if id == "root-access-key"));
}

#[test]
fn load_dir_fails_on_the_first_problem() {
    let error = RulePack::load_dir(&fixtures("broken")).unwrap_err();
    assert_eq!(error.line(), Some(11), "{error}");
    assert!(error.to_string().contains("access-key-not-rotated.toml:11:16:"), "{error}");

    let empty = tempfile::tempdir().unwrap();
    let error = RulePack::load_dir(empty.path()).unwrap_err();
    assert!(matches!(error, RulesError::NoRules { .. }), "{error}");
    assert!(error.to_string().ends_with(": no rule files (*.toml)"), "{error}");

    let missing = empty.path().join("missing");
    assert!(matches!(RulePack::load_dir(&missing), Err(RulesError::Io { .. })));
}

/// A rule file instantiates a kind: several rules may share one, each with
/// its own id, thresholds and severity.
#[test]
fn custom_rules_share_a_kind_and_can_be_disabled_or_overridden() {
    let mut pack = RulePack::load_dir(&fixtures("custom")).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        pack.iter().map(|rule| rule.id.as_str()).collect::<Vec<_>>(),
        ["access-key-not-rotated", "admin-key-not-rotated-30"]
    );
    let strict = pack.get("admin-key-not-rotated-30").unwrap();
    assert_eq!(strict.kind, RuleKind::AccessKeyNotRotated(AccessKeyNotRotatedParameters { max_age_days: 30 }));
    assert_eq!((strict.enabled, strict.severity), (false, Severity::High));
    assert_eq!(pack.enabled().count(), 1);

    let changes: RuleOverride = toml::from_str("enabled = true\n[parameters]\nmax_age_days = 14").unwrap();
    pack.apply_override("admin-key-not-rotated-30", &changes).unwrap();
    let strict = pack.get("admin-key-not-rotated-30").unwrap();
    assert!(strict.enabled);
    assert_eq!(strict.kind, RuleKind::AccessKeyNotRotated(AccessKeyNotRotatedParameters { max_age_days: 14 }));

    let wrong_type: RuleOverride = toml::from_str("[parameters]\nmax_age_days = -1").unwrap();
    let error = pack.apply_override("access-key-not-rotated", &wrong_type).unwrap_err();
    assert!(error.to_string().starts_with("rule \"access-key-not-rotated\": parameters: "), "{error}");
    assert!(toml::from_str::<RuleOverride>("enable = false").is_err(), "overrides reject unknown fields too");
}

#[test]
fn parameters_are_checked_beyond_their_type() {
    let text = |parameters: &str| {
        format!(
            "id = \"x\"\ntitle = \"t\"\nseverity = \"high\"\nkind = \"{}\"\ndescription = \"d\"\nremediation = \"r\"\n\
             references = []\n\n[parameters]\n{parameters}\n",
            if parameters.starts_with("max_hops") { "chain-to-privileged" } else { "external-access" }
        )
    };
    let parse = |parameters: &str| trustwarden::rules::Rule::parse(Path::new("x.toml"), &text(parameters));
    let error = parse("trusted_accounts = [\"99999999999\"]").unwrap_err();
    assert_eq!(
        error.to_string(),
        "x.toml:10:20: parameters.trusted_accounts: \"99999999999\" is not a 12-digit AWS account id"
    );
    let error = parse("max_hops = 0").unwrap_err();
    assert_eq!(error.to_string(), "x.toml:10:12: parameters.max_hops: must be at least 1");
    let rule = parse("trusted_accounts = [\"999999999999\"]").unwrap();
    assert_eq!(
        rule.kind,
        RuleKind::ExternalAccess(ExternalAccessParameters {
            trusted_accounts: vec!["999999999999".into()],
            identity_center_is_external: false
        })
    );
}
