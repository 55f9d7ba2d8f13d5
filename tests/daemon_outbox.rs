//! The outbox across a relay outage: the daemon audits on a schedule of a
//! few seconds while the SMTP server is down, the digests and reminders wait
//! in the outbox, and once the server is up every message arrives exactly
//! once, with the Message-ID it was queued with.

#[allow(dead_code)]
mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use support::daemon::Daemon;
use support::smtp::{SmtpSink, free_port};
use trustwarden::store::{MessageFilter, MessageState, OutboxMessage, Store};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Removes a role from a snapshot account, so the next run resolves its findings.
fn remove_role(snapshot: &Path, account: &str, role: &str) {
    let path = snapshot.join(account).join("authorization-details.json");
    let mut details: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let roles = details["RoleDetailList"].as_array_mut().unwrap();
    let before = roles.len();
    roles.retain(|r| r["RoleName"] != role);
    assert_eq!(roles.len(), before - 1, "no role {role} in {account}");
    std::fs::write(&path, serde_json::to_vec(&details).unwrap()).unwrap();
}

fn outbox(db: &Path) -> Vec<OutboxMessage> {
    Store::open(db).unwrap().messages(&MessageFilter::default()).unwrap()
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < timeout, "not within {timeout:?}: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn messages_wait_for_the_relay_and_arrive_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("snapshot");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-org"), &snapshot);
    let db = dir.path().join("trustwarden.db");
    let mail = dir.path().join("mail");
    // The relay's port, with nothing listening on it yet.
    let port = free_port();
    let config = dir.path().join("trustwarden.toml");
    std::fs::write(
        &config,
        format!(
            r#"source = "snapshot:{snapshot}"

[store]
path = "{db}"

[schedule]
timezone = "America/New_York"
audit = "*/2 * * * * *"
reminders = ""

[daemon]
outbox_interval_secs = 1
shutdown_grace_secs = 10

[notify]
from = "trustwarden@example.com"

[notify.smtp]
host = "localhost"
port = {port}
security = "plain"
timeout_secs = 5

[notify.digest]
recipients = ["secops@example.com", "Chief Security <cso@example.com>"]

[notify.retry]
initial_secs = 1
max_secs = 2
max_attempts = 1000

[reminders]
fallback_recipient = "iam-admins@example.com"
"#,
            snapshot = snapshot.display(),
            db = db.display(),
        ),
    )
    .unwrap();

    let mut daemon = Daemon::start(&config, &[]);
    // The first run: two digests and the two overdue keys' reminders, unsent.
    daemon.wait_for("audit run finished", 1, Duration::from_secs(60));
    daemon.wait_for("will retry", 1, Duration::from_secs(30));
    // A run that changes something while the relay is still down: a second digest.
    remove_role(&snapshot, "333333333333", "legacy-public-reader");
    let runs = daemon.count("audit run finished");
    daemon.wait_for("audit run finished", runs + 2, Duration::from_secs(60));
    let queued = outbox(&db);
    assert!(queued.iter().all(|m| m.sent_at.is_none()), "{queued:#?}");
    let kinds: Vec<&str> = queued.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "digest").count(), 4, "{queued:#?}");
    assert_eq!(kinds.iter().filter(|k| **k == "reminder").count(), 2, "{queued:#?}");
    assert!(queued.iter().any(|m| m.attempts > 0 && m.last_error.is_some()), "{queued:#?}");

    // The relay comes up: everything goes out.
    let sink = SmtpSink::start_on(port, &mail);
    wait_until("every message sent", Duration::from_secs(60), || {
        outbox(&db).iter().all(|m| m.state() == MessageState::Sent)
    });
    // More runs, more rounds: nothing is sent twice.
    let runs = daemon.count("audit run finished");
    daemon.wait_for("audit run finished", runs + 2, Duration::from_secs(60));
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(Duration::from_secs(30)).code(), Some(0));

    let stored = outbox(&db);
    assert_eq!(stored.len(), 6, "{stored:#?}");
    let received = sink.messages();
    let subjects: Vec<(&str, &str)> = received.iter().map(|m| (m.to.as_str(), m.subject.as_str())).collect();
    let received_ids: Vec<&str> = received.iter().map(|m| m.message_id.as_str()).collect();
    let unique: BTreeSet<&str> = received_ids.iter().copied().collect();
    assert_eq!(unique.len(), received_ids.len(), "a message arrived twice: {subjects:#?}");
    let stored_ids: BTreeSet<&str> = stored.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(unique, stored_ids);

    let resolved: Vec<_> = received.iter().filter(|m| m.subject.contains("0 new, 1 resolved")).collect();
    assert_eq!(resolved.len(), 2, "{subjects:#?}");
    for digest in resolved {
        let text = digest.text.as_deref().unwrap();
        assert!(text.contains("Resolved (1)") && text.contains("legacy-public-reader"), "{text}");
        assert!(digest.html.as_deref().unwrap().contains("<h2>Resolved (1)</h2>"));
    }
    let to: BTreeSet<&str> = received.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(
        to,
        BTreeSet::from([
            "secops@example.com",
            "Chief Security <cso@example.com>",
            "alice@example.com",
            "bob@example.com"
        ]),
        "{subjects:#?}"
    );
}
