//! The daemon against AWS (a moto server seeded with an organization) and a
//! real SMTP server: audits on a schedule of a few seconds with the digest
//! arriving, and SIGTERM in the middle of a run, both when the run can
//! finish within the grace period and when it must be cancelled.

#[allow(dead_code)]
mod support;

use std::path::Path;
use std::time::Duration;

use support::daemon::{Daemon, signal};
use support::smtp::SmtpSink;
use support::{MotoServer, SeededOrganization};
use trustwarden::findings::{Severity, Status};
use trustwarden::store::{FindingFilter, MessageFilter, MessageState, Store};

fn write_config(dir: &Path, smtp_port: u16, audit: &str, grace_secs: u64) -> std::path::PathBuf {
    let config = dir.join("trustwarden.toml");
    std::fs::write(
        &config,
        format!(
            r#"source = "aws"

[aws]
scope = "organization"
concurrency = 2
max_attempts = 2

[store]
path = "{db}"

[schedule]
timezone = "Europe/Berlin"
audit = "{audit}"
reminders = ""

[daemon]
shutdown_grace_secs = {grace_secs}
outbox_interval_secs = 1
log_format = "json"

[notify]
from = "trustwarden <trustwarden@example.com>"

[notify.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "plain"

[notify.digest]
recipients = ["secops@example.com"]
"#,
            db = dir.join("trustwarden.db").display(),
        ),
    )
    .unwrap();
    config
}

fn aws_env(moto: &MotoServer, seed: &SeededOrganization) -> Vec<(&'static str, String)> {
    moto.client_env(&seed.auditor.access_key_id, &seed.auditor.secret_access_key)
}

#[test]
fn audits_on_a_schedule_and_sends_the_digest() {
    let moto = MotoServer::start();
    let seed = support::seed_organization(&moto);
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&dir.path().join("mail"));
    let config = write_config(dir.path(), sink.port, "*/3 * * * * *", 30);

    let mut daemon = Daemon::start(&config, &aws_env(&moto, &seed));
    daemon.wait_for("audit run finished", 2, Duration::from_secs(90));
    let mail = sink.wait_for(1, Duration::from_secs(30));
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(Duration::from_secs(60)).code(), Some(0));
    // JSON logs, one object a line.
    for line in daemon.log() {
        serde_json::from_str::<serde_json::Value>(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }

    let store = Store::open(dir.path().join("trustwarden.db")).unwrap();
    let runs = store.runs(10).unwrap();
    assert!(runs.len() >= 2, "{runs:#?}");
    let first = runs.last().unwrap();
    assert_eq!(first.source, "aws");
    let mut accounts: Vec<&str> = first.accounts.iter().map(|a| a.account.as_str()).collect();
    accounts.sort_unstable();
    let mut attempted: Vec<&str> = seed.audited.iter().map(String::as_str).collect();
    attempted.push(&seed.without_audit_role);
    attempted.sort_unstable();
    assert_eq!(accounts, attempted);

    // The first run's digest: its new findings, the account that failed, the criticals in full.
    let digest = mail.iter().find(|m| m.to == "secops@example.com").expect("a digest");
    assert!(
        digest.subject.starts_with(&format!("[trustwarden] {} new, 0 resolved", first.counts.new)),
        "{}",
        digest.subject
    );
    assert!(digest.subject.ends_with("; 1 accounts failed"), "{}", digest.subject);
    let text = digest.text.as_deref().unwrap();
    assert!(text.contains(&format!("run {} (partial)", first.id)), "{text}");
    assert!(text.contains(&format!("{}: cannot assume", seed.without_audit_role)), "{text}");
    assert!(text.contains(&format!("New ({})", first.counts.new)), "{text}");
    let critical = store
        .findings(&FindingFilter {
            status: Some(Status::Active),
            severity: Some(Severity::Critical),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(first.counts.active.critical, critical.len());
    for finding in &critical {
        assert!(text.contains(&format!("id          {}", finding.id)), "{} not in full in {text}", finding.id);
    }
    let html = digest.html.as_deref().unwrap();
    assert!(html.contains(&format!("<h2>New ({})</h2>", first.counts.new)), "{html}");

    // Later runs that changed nothing sent nothing: every run after the
    // first is as partial as it, so only a changed run would add a digest.
    let digests = store.messages(&MessageFilter { kind: Some("digest".into()), ..Default::default() }).unwrap();
    let changed_runs = runs.iter().filter(|r| r.counts.new + r.counts.resolved + r.counts.reappeared > 0).count();
    assert!(digests.len() <= runs.len() && digests.len() >= changed_runs, "{digests:#?}");
    assert!(digests.iter().all(|m| m.state() == MessageState::Sent), "{digests:#?}");
    assert_eq!(sink.messages().len(), digests.len());
}

#[test]
fn sigterm_during_a_run_exits_cleanly_and_keeps_the_database_consistent() {
    let moto = MotoServer::start();
    let seed = support::seed_organization(&moto);
    let moto_pid = moto.pid();
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&dir.path().join("mail"));
    let db = dir.path().join("trustwarden.db");

    // AWS stops answering: the run hangs, further ticks are skipped, and
    // SIGTERM cancels the run when the 2-second grace period is over.
    let config = write_config(dir.path(), sink.port, "* * * * * *", 2);
    signal(moto_pid, "STOP");
    let mut daemon = Daemon::start(&config, &aws_env(&moto, &seed));
    daemon.wait_for("audit run started", 1, Duration::from_secs(30));
    daemon.wait_for("scheduled audit skipped", 1, Duration::from_secs(30));
    daemon.signal("TERM");
    let status = daemon.wait_exit(Duration::from_secs(30));
    signal(moto_pid, "CONT");
    assert_eq!(status.code(), Some(0), "{}", daemon.log().join("\n"));
    assert_eq!(daemon.count("audit cancelled"), 1, "{}", daemon.log().join("\n"));
    assert_eq!(daemon.count("audit run finished"), 0);
    let store = Store::open(&db).unwrap();
    assert_eq!(store.runs(10).unwrap(), []);
    assert_eq!(store.findings(&FindingFilter::default()).unwrap(), []);
    assert_eq!(store.messages(&MessageFilter::default()).unwrap(), []);
    drop(store);

    // Again, but AWS answers soon after SIGTERM: the run finishes within the
    // grace period, is recorded whole, and its digest goes out before exit.
    let config = write_config(dir.path(), sink.port, "* * * * * *", 60);
    signal(moto_pid, "STOP");
    let mut daemon = Daemon::start(&config, &aws_env(&moto, &seed));
    daemon.wait_for("audit run started", 1, Duration::from_secs(30));
    daemon.signal("TERM");
    daemon.wait_for("shutting down", 1, Duration::from_secs(10));
    signal(moto_pid, "CONT");
    let status = daemon.wait_exit(Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "{}", daemon.log().join("\n"));
    assert_eq!(daemon.count("audit run finished"), 1, "{}", daemon.log().join("\n"));
    assert_eq!(daemon.count("audit run started"), 1, "no audit may start after SIGTERM");
    let store = Store::open(&db).unwrap();
    let runs = store.runs(10).unwrap();
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let findings = store.findings(&FindingFilter::default()).unwrap();
    assert_eq!(findings.len(), runs[0].counts.reported);
    let messages = store.messages(&MessageFilter::default()).unwrap();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(messages[0].run_id.as_deref(), Some(runs[0].id.as_str()));
    assert_eq!(messages[0].state(), MessageState::Sent, "{messages:#?}");
    assert_eq!(sink.messages().len(), 1);
}
