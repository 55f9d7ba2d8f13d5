//! The daemon and its service manager: READY, WATCHDOG and STOPPING over
//! `$NOTIFY_SOCKET`; SIGHUP reloads a valid configuration and keeps the
//! running one when the new file is invalid. Audits a snapshot, mails a real
//! SMTP server.

#[allow(dead_code)]
mod support;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use support::daemon::Daemon;
use support::smtp::SmtpSink;

fn config(snapshot: &Path, db: &Path, smtp_port: u16, host: &str, notify: &str) -> String {
    format!(
        r#"source = "snapshot:{snapshot}"

[store]
path = "{db}"

[schedule]
audit = "*/2 * * * * *"
reminders = ""

[daemon]
outbox_interval_secs = 1

[notify]
from = "trustwarden@example.com"

[notify.smtp]
host = "{host}"
port = {smtp_port}
security = "plain"

{notify}

[reminders]
enabled = false
"#,
        snapshot = snapshot.display(),
        db = db.display(),
    )
}

/// Plays systemd's side: collects every notification sent to `socket`.
fn listen(socket: UnixDatagram) -> Arc<Mutex<Vec<String>>> {
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&received);
    thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = socket.recv(&mut buffer) {
            sink.lock().unwrap().push(String::from_utf8_lossy(&buffer[..n]).into_owned());
        }
    });
    received
}

#[test]
fn reloads_on_sighup_and_talks_to_systemd() {
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&dir.path().join("mail"));
    let db = dir.path().join("trustwarden.db");
    let path = dir.path().join("trustwarden.toml");
    let first = "[notify.digest]\nrecipients = [\"first@example.com\"]\n";
    std::fs::write(&path, config(&dir.path().join("none"), &db, sink.port, "127.0.0.1", first)).unwrap();
    // A source that does not exist is caught when the daemon starts.
    let mut refused = Daemon::start(&path, &[]);
    let status = refused.wait_exit(Duration::from_secs(30));
    assert!(refused.log().iter().any(|l| l.contains("none")), "{:?}", refused.log());
    assert_eq!(status.code(), Some(3), "{:?}", refused.log());

    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-org");
    std::fs::write(&path, config(&demo, &db, sink.port, "127.0.0.1", first)).unwrap();
    let socket_path = dir.path().join("notify.sock");
    let notifications = listen(UnixDatagram::bind(&socket_path).unwrap());
    let env = [("NOTIFY_SOCKET", socket_path.display().to_string()), ("WATCHDOG_USEC", "400000".to_owned())];
    let mut daemon = Daemon::start(&path, &env);
    daemon.wait_for("audit run finished", 2, Duration::from_secs(30));
    let messages = notifications.lock().unwrap().clone();
    assert!(messages.first().is_some_and(|m| m.starts_with("READY=1\n")), "{messages:?}");

    // An invalid file (plain SMTP to a remote host) is refused; the daemon goes on as it was.
    std::fs::write(&path, config(&demo, &db, 25, "smtp.example.com", first)).unwrap();
    daemon.signal("HUP");
    daemon.wait_for("configuration not reloaded", 1, Duration::from_secs(10));
    let runs = daemon.count("audit run finished");
    daemon.wait_for("audit run finished", runs + 1, Duration::from_secs(30));
    assert!(daemon.log().iter().any(|l| l.contains("notify.smtp.security")), "{:?}", daemon.log());

    // A valid one takes effect: digests now go to someone else, changed or not.
    let second = "[notify.digest]\nrecipients = [\"second@example.com\"]\nsend_when_unchanged = true\n";
    std::fs::write(&path, config(&demo, &db, sink.port, "127.0.0.1", second)).unwrap();
    daemon.signal("HUP");
    daemon.wait_for("configuration reloaded", 1, Duration::from_secs(10));
    let runs = daemon.count("audit run finished");
    daemon.wait_for("audit run finished", runs + 2, Duration::from_secs(30));
    sink.wait_for(3, Duration::from_secs(10));
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(Duration::from_secs(30)).code(), Some(0));
    let messages = notifications.lock().unwrap().clone();

    let mail = sink.messages();
    assert_eq!(mail.iter().filter(|m| m.to == "first@example.com").count(), 1, "the unchanged runs sent nothing");
    let unchanged: Vec<_> = mail.iter().filter(|m| m.to == "second@example.com").collect();
    assert!(unchanged.len() >= 2, "{mail:#?}");
    for digest in unchanged {
        assert!(digest.subject.starts_with("[trustwarden] 0 new, 0 resolved"), "{}", digest.subject);
        assert!(digest.text.as_deref().unwrap().contains("Nothing changed since the last run."));
    }
    assert!(messages.iter().any(|m| m == "WATCHDOG=1"), "{messages:?}");
    assert!(messages.last().is_some_and(|m| m.starts_with("STOPPING=1")), "{messages:?}");
}
