//! The findings lifecycle across several runs in a real SQLite file: new,
//! still active, resolved, reappeared, suppressed, suppression expired; and
//! the rule that a failed or absent account never resolves anything.

use chrono::{DateTime, Duration, Utc};
use trustwarden::findings::{EvidenceRef, Finding, Severity, Status, finding_id};
use trustwarden::store::{FindingFilter, NewSuppression, RunAccount, RunRecord, RunStatus, Store, SuppressionScope};

const A: &str = "111111111111";
const B: &str = "222222222222";
const C: &str = "333333333333";

fn at(day: u32) -> DateTime<Utc> {
    format!("2025-03-{day:02}T10:00:00Z").parse().unwrap()
}

fn finding(rule: &str, account: &str, role: &str, severity: Severity) -> Finding {
    let resource = format!("arn:aws:iam::{account}:role/{role}");
    Finding {
        id: finding_id(rule, &resource, "888888888888"),
        rule: rule.to_owned(),
        title: format!("{role} is trusted by 888888888888"),
        severity,
        status: Status::Active,
        account: account.to_owned(),
        resource,
        principal: Some("888888888888".to_owned()),
        credential: None,
        actions: vec!["sts:AssumeRole".to_owned()],
        conditions: vec![],
        is_public: false,
        path: vec![],
        evidence: vec![EvidenceRef { policy: format!("role/{role} trust policy"), statement: 0, sid: None }],
        explanation: "An account outside the organization can assume this role.".to_owned(),
        // The store owns these; whatever the rules put here is replaced.
        first_seen: DateTime::UNIX_EPOCH,
        last_seen: DateTime::UNIX_EPOCH,
        owner: None,
        due: None,
    }
}

fn run(day: u32, accounts: Vec<RunAccount>) -> RunRecord {
    RunRecord {
        id: None,
        started: at(day),
        finished: at(day) + Duration::minutes(2),
        source: "snapshot:test".to_owned(),
        accounts,
    }
}

fn reasons(store: &Store, id: &str) -> Vec<(Option<Status>, Status, String)> {
    store.finding(id).unwrap().unwrap().history.into_iter().map(|h| (h.from, h.to, h.reason)).collect()
}

fn ids(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.id.as_str()).collect()
}

#[test]
fn findings_live_through_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("trustwarden.db")).unwrap();
    let vendor = finding("external-access", A, "vendor-datadog", Severity::High);
    let app = finding("external-access", A, "app", Severity::Critical);
    let deploy = finding("external-access", B, "deploy", Severity::Medium);
    let legacy = finding("external-access", C, "legacy", Severity::Low);

    // Run 1: everything is new.
    let r1 = store
        .record_run(
            &run(1, vec![RunAccount::ok(A), RunAccount::ok(B), RunAccount::ok(C)]),
            vec![vendor.clone(), app.clone(), deploy.clone(), legacy.clone()],
            vec![],
        )
        .unwrap();
    assert_eq!(r1.run.status, RunStatus::Ok);
    // Worst first.
    assert_eq!(ids(&r1.new), [&app.id, &vendor.id, &deploy.id, &legacy.id]);
    assert!(r1.new.iter().all(|f| f.status == Status::Active && f.first_seen == at(1) && f.last_seen == at(1)));
    assert_eq!(r1.run.counts.new, 4);
    assert_eq!((r1.run.counts.active.critical, r1.run.counts.active.total()), (1, 4));

    // Run 2: `app` is gone from a collected account, so it is resolved; C is
    // not part of this run, so `legacy` is left alone.
    let r2 = store
        .record_run(&run(2, vec![RunAccount::ok(A), RunAccount::ok(B)]), vec![vendor.clone(), deploy.clone()], vec![])
        .unwrap();
    assert!(r2.new.is_empty());
    assert_eq!(ids(&r2.resolved), [&app.id]);
    assert_eq!(r2.resolved[0].status, Status::Resolved);
    let stored_vendor = store.finding(&vendor.id).unwrap().unwrap().finding;
    assert_eq!(
        (stored_vendor.status, stored_vendor.first_seen, stored_vendor.last_seen),
        (Status::Active, at(1), at(2))
    );

    // Run 3: B fails, so `deploy`, though not reported, stays active; `app` reappears.
    let r3 = store
        .record_run(
            &run(
                3,
                vec![
                    RunAccount::ok(A),
                    RunAccount::failed(B, "iam:GetAccountAuthorizationDetails failed: AccessDenied"),
                ],
            ),
            vec![vendor.clone(), app.clone()],
            vec![],
        )
        .unwrap();
    assert_eq!(r3.run.status, RunStatus::Partial);
    assert_eq!(ids(&r3.reappeared), [&app.id]);
    assert!(r3.resolved.is_empty(), "nothing of the failed account B may be resolved: {:?}", r3.resolved);
    let stored_app = store.finding(&app.id).unwrap().unwrap().finding;
    assert_eq!((stored_app.status, stored_app.first_seen, stored_app.last_seen), (Status::Active, at(1), at(3)));
    let stored_deploy = store.finding(&deploy.id).unwrap().unwrap().finding;
    assert_eq!((stored_deploy.status, stored_deploy.last_seen), (Status::Active, at(2)));

    // A suppression for the vendor roles archives `vendor` at once, not `app`.
    let change = store
        .add_suppression(&NewSuppression {
            scope: SuppressionScope::Rule {
                rule: "external-access".to_owned(),
                resource: Some("arn:aws:iam::*:role/vendor-*".to_owned()),
                account: Some(A.to_owned()),
            },
            reason: "vendor access reviewed".to_owned(),
            author: "alice".to_owned(),
            created: at(4),
            expires: Some(at(10)),
        })
        .unwrap();
    assert_eq!(ids(&change.findings), [&vendor.id]);
    assert_eq!(change.findings[0].status, Status::Archived);
    let detail = store.finding(&vendor.id).unwrap().unwrap();
    assert_eq!(detail.suppression.as_ref().map(|s| s.id), Some(change.id));
    assert_eq!(detail.suppression.as_ref().map(|s| s.archived), Some(1));

    // Run 4: still reported, still archived, no news.
    let r4 = store
        .record_run(
            &run(5, vec![RunAccount::ok(A), RunAccount::ok(B)]),
            vec![vendor.clone(), app.clone(), deploy.clone()],
            vec![],
        )
        .unwrap();
    assert!(r4.new.is_empty() && r4.archived.is_empty() && r4.reactivated.is_empty() && r4.resolved.is_empty());
    let stored_vendor = store.finding(&vendor.id).unwrap().unwrap().finding;
    assert_eq!((stored_vendor.status, stored_vendor.last_seen), (Status::Archived, at(5)));
    assert_eq!(r4.run.counts.active.total(), 3, "app, deploy, legacy");

    // Run 5: after the expiry the vendor finding is active again.
    let r5 = store
        .record_run(
            &run(11, vec![RunAccount::ok(A), RunAccount::ok(B)]),
            vec![vendor.clone(), app.clone(), deploy.clone()],
            vec![],
        )
        .unwrap();
    assert_eq!(ids(&r5.reactivated), [&vendor.id]);
    assert_eq!(r5.reactivated[0].status, Status::Active);
    assert_eq!(store.finding(&vendor.id).unwrap().unwrap().suppression, None);
    assert!(store.suppressions(at(11), false).unwrap().is_empty());
    assert_eq!(store.suppressions(at(11), true).unwrap().len(), 1);

    use Status::{Active, Archived, Resolved};
    assert_eq!(
        reasons(&store, &vendor.id),
        [
            (None, Active, "new".to_owned()),
            (Some(Active), Archived, "suppressed: vendor access reviewed by alice".to_owned()),
            (Some(Archived), Active, "suppression expired".to_owned()),
        ]
    );
    assert_eq!(
        reasons(&store, &app.id),
        [
            (None, Active, "new".to_owned()),
            (Some(Active), Resolved, "resolved".to_owned()),
            (Some(Resolved), Active, "reappeared".to_owned()),
        ]
    );
    assert_eq!(reasons(&store, &deploy.id), [(None, Active, "new".to_owned())]);
    assert_eq!(reasons(&store, &legacy.id), [(None, Active, "new".to_owned())]);
    let history = store.finding(&app.id).unwrap().unwrap().history;
    assert_eq!(history[1].run_id.as_deref(), Some(r2.run.id.as_str()));
    assert_eq!(history[1].at, at(2) + Duration::minutes(2));

    // The payload comes back as the rules reported it, with the store's lifecycle fields.
    let stored_legacy = store.finding(&legacy.id).unwrap().unwrap().finding;
    assert_eq!(stored_legacy, Finding { first_seen: at(1), last_seen: at(1), ..legacy.clone() });

    let runs = store.runs(10).unwrap();
    assert_eq!(
        runs.iter().map(|r| (r.id.as_str(), r.status)).collect::<Vec<_>>(),
        [
            ("20250311T100000Z", RunStatus::Ok),
            ("20250305T100000Z", RunStatus::Ok),
            ("20250303T100000Z", RunStatus::Partial),
            ("20250302T100000Z", RunStatus::Ok),
            ("20250301T100000Z", RunStatus::Ok),
        ]
    );
    assert_eq!(runs[2].accounts[1].error.as_deref(), Some("iam:GetAccountAuthorizationDetails failed: AccessDenied"));
    assert_eq!(runs[3].counts.resolved, 1);
    assert_eq!(store.last_run().unwrap().unwrap(), r5.run);
    let accounts = store.accounts().unwrap();
    assert_eq!(accounts.iter().map(|a| a.account.as_str()).collect::<Vec<_>>(), [A, B, C]);
    assert_eq!((accounts[1].last_error.is_none(), accounts[1].last_ok), (true, Some(at(11))));
    assert_eq!((accounts[2].last_run_id.as_str(), accounts[2].last_ok), ("20250301T100000Z", Some(at(1))));
}

#[test]
fn a_failed_run_resolves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("t.db")).unwrap();
    let f = finding("external-access", A, "app", Severity::High);
    store.record_run(&run(1, vec![RunAccount::ok(A)]), vec![f.clone()], vec![]).unwrap();
    let failed = store.record_run(&run(2, vec![RunAccount::failed(A, "cannot assume role")]), vec![], vec![]).unwrap();
    assert_eq!(failed.run.status, RunStatus::Failed);
    assert!(failed.resolved.is_empty());
    // An account listed both ways counts as failed.
    let mixed =
        store.record_run(&run(3, vec![RunAccount::ok(A), RunAccount::failed(A, "throttled")]), vec![], vec![]).unwrap();
    assert!(mixed.resolved.is_empty());
    assert_eq!(mixed.run.accounts, [RunAccount::failed(A, "throttled")]);
    let nothing = store.record_run(&run(4, vec![]), vec![], vec![]).unwrap();
    assert_eq!(nothing.run.status, RunStatus::Failed);
    assert_eq!(store.finding(&f.id).unwrap().unwrap().finding.status, Status::Active);
}

#[test]
fn rules_can_archive_their_own_findings() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("t.db")).unwrap();
    let trusted = Finding {
        status: Status::Archived,
        explanation: "Trusted vendor: Datadog (account 464622532012).".to_owned(),
        ..finding("external-access", A, "datadog", Severity::Medium)
    };
    let r1 = store.record_run(&run(1, vec![RunAccount::ok(A)]), vec![trusted.clone()], vec![]).unwrap();
    assert_eq!(ids(&r1.new), [&trusted.id]);
    assert_eq!(r1.new[0].status, Status::Archived, "a new finding may arrive archived; callers check status");
    assert_eq!(r1.run.counts.active.total(), 0);
    let r2 = store.record_run(&run(2, vec![RunAccount::ok(A)]), vec![trusted.clone()], vec![]).unwrap();
    assert!(r2.archived.is_empty() && r2.reactivated.is_empty());
    // The vendor is no longer trusted: the rule reports it active.
    let r3 = store
        .record_run(
            &run(3, vec![RunAccount::ok(A)]),
            vec![Finding { status: Status::Active, ..trusted.clone() }],
            vec![],
        )
        .unwrap();
    assert_eq!(ids(&r3.reactivated), [&trusted.id]);
    use Status::{Active, Archived};
    assert_eq!(
        reasons(&store, &trusted.id),
        [
            (None, Active, "new".to_owned()),
            (Some(Active), Archived, "archived by rule: Trusted vendor: Datadog (account 464622532012).".to_owned()),
            (Some(Archived), Active, "no longer archived by rule".to_owned()),
        ]
    );
}

#[test]
fn suppressions_by_id_overlap_and_removal() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("t.db")).unwrap();
    let f = finding("external-access", A, "app", Severity::High);
    let g = finding("external-access", B, "app", Severity::High);
    store.record_run(&run(1, vec![RunAccount::ok(A), RunAccount::ok(B)]), vec![f.clone(), g.clone()], vec![]).unwrap();

    let by_id = store
        .add_suppression(&NewSuppression {
            scope: SuppressionScope::Finding(f.id.clone()),
            reason: "accepted risk, ticket SEC-12".to_owned(),
            author: "bob".to_owned(),
            created: at(2),
            expires: None,
        })
        .unwrap();
    assert_eq!(ids(&by_id.findings), [&f.id]);
    let by_rule = store
        .add_suppression(&NewSuppression {
            scope: SuppressionScope::Rule { rule: "external-access".to_owned(), resource: None, account: None },
            reason: "migration window".to_owned(),
            author: "carol".to_owned(),
            created: at(3),
            expires: Some(at(20)),
        })
        .unwrap();
    assert_eq!(ids(&by_rule.findings), [&g.id], "f is already archived");

    // Removing the id suppression: the rule suppression still covers f.
    let removed = store.remove_suppression(by_id.id, at(4)).unwrap();
    assert!(removed.findings.is_empty());
    let detail = store.finding(&f.id).unwrap().unwrap();
    assert_eq!((detail.finding.status, detail.suppression.map(|s| s.id)), (Status::Archived, Some(by_rule.id)));
    assert_eq!(detail.history.last().unwrap().reason, "suppressed: migration window by carol");
    assert!(matches!(
        store.remove_suppression(by_id.id, at(4)),
        Err(trustwarden::store::StoreError::SuppressionAlreadyRemoved(_))
    ));

    // Removing the last one brings both back.
    let removed = store.remove_suppression(by_rule.id, at(5)).unwrap();
    assert_eq!(removed.findings.len(), 2);
    assert!(removed.findings.iter().all(|f| f.status == Status::Active));
    assert_eq!(store.finding(&g.id).unwrap().unwrap().history.last().unwrap().reason, "suppression removed");

    // A new finding that arrives while a suppression is in force is archived in the same run.
    store
        .add_suppression(&NewSuppression {
            scope: SuppressionScope::Rule {
                rule: "external-access".to_owned(),
                resource: Some("arn:aws:iam::111111111111:role/ci-?".to_owned()),
                account: None,
            },
            reason: "CI roles".to_owned(),
            author: "dave".to_owned(),
            created: at(6),
            expires: Some(at(8)),
        })
        .unwrap();
    let ci = finding("external-access", A, "ci-1", Severity::Critical);
    let ci_long = finding("external-access", A, "ci-10", Severity::Critical);
    let r = store
        .record_run(
            &run(7, vec![RunAccount::ok(A), RunAccount::ok(B)]),
            vec![f.clone(), g.clone(), ci.clone(), ci_long.clone()],
            vec![],
        )
        .unwrap();
    let new: Vec<(&str, Status)> = r.new.iter().map(|f| (f.id.as_str(), f.status)).collect();
    assert!(new.contains(&(ci.id.as_str(), Status::Archived)) && new.contains(&(ci_long.id.as_str(), Status::Active)));

    // Expiry between runs is applied on request.
    let changed = store.apply_suppressions(at(9)).unwrap();
    assert_eq!(ids(&changed), [&ci.id]);
}

#[test]
fn suppressions_are_validated() {
    use trustwarden::store::StoreError;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("t.db")).unwrap();
    let base = NewSuppression {
        scope: SuppressionScope::Rule { rule: "external-access".to_owned(), resource: None, account: None },
        reason: "why".to_owned(),
        author: "who".to_owned(),
        created: at(2),
        expires: None,
    };
    let invalid = [
        NewSuppression { reason: " ".to_owned(), ..base.clone() },
        NewSuppression { author: String::new(), ..base.clone() },
        NewSuppression { expires: Some(at(1)), ..base.clone() },
        NewSuppression {
            scope: SuppressionScope::Rule { rule: String::new(), resource: None, account: None },
            ..base.clone()
        },
    ];
    for new in invalid {
        assert!(matches!(store.add_suppression(&new), Err(StoreError::InvalidSuppression(_))), "{new:?}");
    }
    let unknown = NewSuppression { scope: SuppressionScope::Finding("tw-nope".to_owned()), ..base.clone() };
    assert!(matches!(store.add_suppression(&unknown), Err(StoreError::UnknownFinding(id)) if id == "tw-nope"));
    assert!(matches!(store.remove_suppression(42, at(2)), Err(StoreError::UnknownSuppression(42))));
    assert!(store.suppressions(at(2), true).unwrap().is_empty());
}

#[test]
fn findings_are_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("t.db")).unwrap();
    let findings = vec![
        finding("external-access", A, "a", Severity::Critical),
        finding("external-access", B, "b", Severity::Medium),
        finding("oidc-trust-without-sub", A, "gh", Severity::Critical),
        finding("role-unused", A, "old", Severity::Low),
    ];
    store.record_run(&run(1, vec![RunAccount::ok(A), RunAccount::ok(B)]), findings, vec![]).unwrap();
    store
        .record_run(
            &run(2, vec![RunAccount::ok(A), RunAccount::ok(B)]),
            vec![
                finding("external-access", A, "a", Severity::Critical),
                finding("external-access", B, "b", Severity::Medium),
                finding("oidc-trust-without-sub", A, "gh", Severity::Critical),
            ],
            vec![],
        )
        .unwrap();
    let list = |filter: FindingFilter| -> Vec<String> {
        store
            .findings(&filter)
            .unwrap()
            .into_iter()
            .map(|f| f.resource.rsplit('/').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(list(FindingFilter::default()), ["a", "gh", "b", "old"]);
    assert_eq!(list(FindingFilter { status: Some(Status::Resolved), ..Default::default() }), ["old"]);
    assert_eq!(list(FindingFilter { min_severity: Some(Severity::Medium), ..Default::default() }), ["a", "gh", "b"]);
    assert_eq!(list(FindingFilter { severity: Some(Severity::Medium), ..Default::default() }), ["b"]);
    assert_eq!(list(FindingFilter { account: Some(A.to_owned()), ..Default::default() }), ["a", "gh", "old"]);
    assert_eq!(
        list(FindingFilter {
            rule: Some("external-access".to_owned()),
            status: Some(Status::Active),
            account: Some(B.to_owned()),
            ..Default::default()
        }),
        ["b"]
    );
    assert!(store.finding("tw-unknown").unwrap().is_none());
}
