//! The SMTP connection against a real server: STARTTLS to a relay whose
//! certificate a configured private CA signed; no mail at all when the
//! certificate cannot be verified or the relay offers no STARTTLS (never a
//! fall back to clear text); the message kept queued for a later try.

#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::smtp::{SmtpSink, make_certificates};
use trustwarden::store::{MessageFilter, MessageState, Store};

fn config(dir: &Path, port: u16, extra: &str) -> PathBuf {
    let path = dir.join("trustwarden.toml");
    std::fs::write(
        &path,
        format!(
            r#"source = "snapshot:{snapshot}"

[store]
path = "{db}"

[notify]
from = "trustwarden@example.com"

[notify.smtp]
host = "localhost"
port = {port}
security = "starttls"
timeout_secs = 10
{extra}

[notify.digest]
recipients = ["secops@example.com"]

[reminders]
enabled = false
"#,
            snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-org").display(),
            db = dir.join("trustwarden.db").display(),
        ),
    )
    .unwrap();
    path
}

fn audit(config: &Path) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_trustwarden"))
        .args(["audit", "--format", "json", "--config"])
        .arg(config)
        .output()
        .expect("run trustwarden audit");
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    output
}

fn digest_state(dir: &Path) -> (MessageState, Option<String>) {
    let store = Store::open(dir.join("trustwarden.db")).unwrap();
    let messages = store.messages(&MessageFilter::default()).unwrap();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    (messages[0].state(), messages[0].last_error.clone())
}

#[test]
fn starttls_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certificates(&dir.path().join("certs"));
    let sink = SmtpSink::start_tls(&dir.path().join("mail"), &cert, &key);
    let config = config(dir.path(), sink.port, &format!("ca_file = \"{}\"", ca.display()));
    audit(&config);
    let mail = sink.wait_for(1, std::time::Duration::from_secs(10));
    assert_eq!(mail.len(), 1);
    assert!(mail[0].tls, "the message went over STARTTLS");
    assert_eq!(mail[0].rcpt_tos, ["secops@example.com"]);
    assert_eq!(digest_state(dir.path()).0, MessageState::Sent);
}

#[test]
fn an_unverifiable_certificate_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, key) = make_certificates(&dir.path().join("certs"));
    let sink = SmtpSink::start_tls(&dir.path().join("mail"), &cert, &key);
    let config = config(dir.path(), sink.port, "");
    let output = audit(&config);
    assert!(String::from_utf8_lossy(&output.stderr).contains("relay unreachable"));
    assert!(sink.messages().is_empty());
    let (state, error) = digest_state(dir.path());
    assert_eq!(state, MessageState::Pending, "kept for a later try");
    assert!(error.is_some());
}

#[test]
fn a_relay_without_starttls_gets_nothing_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&dir.path().join("mail"));
    let config = config(dir.path(), sink.port, "");
    audit(&config);
    assert!(sink.messages().is_empty());
    assert_eq!(digest_state(dir.path()).0, MessageState::Pending);
}
