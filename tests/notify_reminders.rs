//! Key-rotation reminders end to end, through the real binary and a real
//! SMTP server: across many audits each key's owner (tag, owners file,
//! fallback) gets the 14-, 7- and 1-day reminders and the overdue one, each
//! exactly once; a rotated key starts over; and the daemon's reminder pass
//! sends from the stored deadlines between audits.

#[allow(dead_code)]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use support::daemon::Daemon;
use support::smtp::{ReceivedMail, SmtpSink};

const ACCOUNT: &str = "111111111111";

/// An IAM user with one active access key.
struct User<'a> {
    name: &'a str,
    owner_tag: Option<&'a str>,
    rotated: DateTime<Utc>,
}

fn time(text: &str) -> DateTime<Utc> {
    text.parse().expect("RFC 3339 time")
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A one-account snapshot taken at `collected_at`.
fn write_snapshot(dir: &Path, collected_at: DateTime<Utc>, users: &[User<'_>]) {
    let account = dir.join(ACCOUNT);
    std::fs::create_dir_all(&account).unwrap();
    std::fs::write(dir.join("snapshot.json"), format!("{{\"collected_at\": \"{}\"}}", rfc3339(collected_at))).unwrap();
    let details: Vec<serde_json::Value> = users
        .iter()
        .map(|user| {
            let tags: Vec<serde_json::Value> =
                user.owner_tag.iter().map(|owner| serde_json::json!({"Key": "owner", "Value": owner})).collect();
            serde_json::json!({
                "Path": "/", "UserName": user.name, "UserId": format!("AIDA{}", user.name.to_uppercase()),
                "Arn": format!("arn:aws:iam::{ACCOUNT}:user/{}", user.name), "CreateDate": "2020-01-01T00:00:00Z",
                "UserPolicyList": [], "GroupList": [], "AttachedManagedPolicies": [], "Tags": tags,
            })
        })
        .collect();
    let document =
        serde_json::json!({"UserDetailList": details, "GroupDetailList": [], "RoleDetailList": [], "Policies": []});
    std::fs::write(account.join("authorization-details.json"), document.to_string()).unwrap();
    let mut report = String::from(
        "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,\
         mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,\
         access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,\
         access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,\
         cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n",
    );
    report.push_str(&format!(
        "<root_account>,arn:aws:iam::{ACCOUNT}:root,2019-01-01T00:00:00+00:00,not_supported,N/A,not_supported,\
         not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
    ));
    let used = (collected_at - TimeDelta::days(1)).format("%Y-%m-%dT%H:%M:%S+00:00");
    for user in users {
        report.push_str(&format!(
            "{name},arn:aws:iam::{ACCOUNT}:user/{name},2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,\
             true,{rotated},{used},us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
            name = user.name,
            rotated = user.rotated.format("%Y-%m-%dT%H:%M:%S+00:00"),
        ));
    }
    std::fs::write(account.join("credential-report.csv"), report).unwrap();
}

fn write_config(dir: &Path, smtp_port: u16, extra: &str) -> PathBuf {
    let owners = dir.join("owners.toml");
    std::fs::write(&owners, "team-bob = \"bob@example.com\"\n").unwrap();
    let config = dir.join("trustwarden.toml");
    std::fs::write(
        &config,
        format!(
            r#"[store]
path = "{db}"

[notify]
from = "trustwarden <trustwarden@example.com>"

[notify.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "plain"

[reminders]
owners_file = "{owners}"
fallback_recipient = "iam-admins@example.com"
{extra}"#,
            db = dir.join("trustwarden.db").display(),
            owners = owners.display(),
        ),
    )
    .unwrap();
    config
}

fn audit(config: &Path, snapshot: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_trustwarden"))
        .args(["audit", "--format", "json", "--config"])
        .arg(config)
        .arg("--source")
        .arg(format!("snapshot:{}", snapshot.display()))
        .output()
        .expect("run trustwarden audit");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "audit failed: {stderr}");
    assert!(!stderr.contains("relay unreachable"), "{stderr}");
}

/// Reminder subjects by recipient, in the order received.
fn by_recipient(messages: &[ReceivedMail]) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for message in messages {
        map.entry(message.to.clone()).or_default().push(message.subject.clone());
    }
    map
}

fn assert_each_message_once(messages: &[ReceivedMail]) {
    let mut ids: Vec<&str> = messages.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort_unstable();
    let total = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), total, "a Message-ID arrived twice: {messages:#?}");
}

#[test]
fn each_key_gets_each_reminder_once_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&dir.path().join("mail"));
    let config = write_config(dir.path(), sink.port, "");
    let rotated = time("2026-01-01T08:00:00Z"); // due 2026-04-01 under the 90-day rule
    let users = |carol_rotated: DateTime<Utc>| {
        vec![
            User { name: "alice", owner_tag: Some("alice@example.com"), rotated },
            User { name: "bob", owner_tag: Some("team-bob"), rotated },
            User { name: "carol", owner_tag: None, rotated: carol_rotated },
        ]
    };
    // Day by day: nothing yet; 14 days; 14 again (deduplicated); 7 days; 1 day;
    // 1 again on the due day; overdue; overdue again; carol rotated her key.
    let days = [
        "2026-03-10",
        "2026-03-20",
        "2026-03-21",
        "2026-03-26",
        "2026-03-31",
        "2026-04-01",
        "2026-04-05",
        "2026-04-10",
    ];
    for (n, day) in days.iter().enumerate() {
        let snapshot = dir.path().join(format!("snap-{n}"));
        write_snapshot(&snapshot, time(&format!("{day}T06:00:00Z")), &users(rotated));
        audit(&config, &snapshot);
    }
    let snapshot = dir.path().join("snap-rotated");
    write_snapshot(&snapshot, time("2026-04-12T06:00:00Z"), &users(time("2026-04-11T09:00:00Z")));
    audit(&config, &snapshot);

    let messages = sink.messages();
    assert_each_message_once(&messages);
    let expected = |user: &str| {
        vec![
            format!("[trustwarden] rotate access key 1 of {user} ({ACCOUNT}) by 2026-04-01"),
            format!("[trustwarden] rotate access key 1 of {user} ({ACCOUNT}) by 2026-04-01"),
            format!("[trustwarden] rotate access key 1 of {user} ({ACCOUNT}) by 2026-04-01"),
            format!("[trustwarden] overdue: rotate access key 1 of {user} ({ACCOUNT})"),
        ]
    };
    let received = by_recipient(&messages);
    assert_eq!(
        received,
        BTreeMap::from([
            ("alice@example.com".to_owned(), expected("alice")),
            ("bob@example.com".to_owned(), expected("bob")),
            ("iam-admins@example.com".to_owned(), expected("carol")),
        ]),
        "{messages:#?}"
    );
    let alice: Vec<&ReceivedMail> = messages.iter().filter(|m| m.to == "alice@example.com").collect();
    for (message, phrase) in alice.iter().zip(["in 12 days", "in 6 days", "in 1 day", "4 days overdue"]) {
        let text = message.text.as_deref().unwrap_or_default();
        assert!(text.contains(phrase), "{phrase:?} not in {text}");
        assert!(
            message.html.as_deref().unwrap_or_default().contains("<code>arn:aws:iam::111111111111:user/alice</code>")
        );
        assert_eq!(message.from, "trustwarden <trustwarden@example.com>");
    }

    // The outbox holds each of them once, all sent.
    let listed = Command::new(env!("CARGO_BIN_EXE_trustwarden"))
        .args(["outbox", "--config"])
        .arg(&config)
        .args(["list", "--kind", "reminder"])
        .output()
        .unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(listed.matches("  reminder  ").count(), 12, "{listed}");
    assert_eq!(listed.matches(" sent ").count(), 12, "{listed}");
}

#[test]
fn the_daemon_reminder_pass_uses_stored_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(&dir.path().join("mail"));
    // Audits only on 1 January at midnight; reminder passes every second.
    let schedule =
        "\n[schedule]\naudit = \"0 0 0 1 1 *\"\nreminders = \"* * * * * *\"\n\n[daemon]\noutbox_interval_secs = 1\n";
    let config = write_config(dir.path(), sink.port, schedule);
    // Ten days ago the key was due in 20 days: no reminder then. Today it is due in 10.
    let now = Utc::now();
    let snapshot = dir.path().join("snap");
    let rotated = now - TimeDelta::days(80);
    write_snapshot(
        &snapshot,
        now - TimeDelta::days(10),
        &[User { name: "dave", owner_tag: Some("dave@example.com"), rotated }],
    );
    audit(&config, &snapshot);
    assert!(sink.messages().is_empty(), "{:#?}", sink.messages());

    let mut daemon = Daemon::start(&config, &[]);
    daemon.wait_for("reminder pass finished", 3, Duration::from_secs(30));
    let messages = sink.wait_for(1, Duration::from_secs(10));
    daemon.wait_for("reminder pass finished", 6, Duration::from_secs(30));
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(Duration::from_secs(30)).code(), Some(0));
    let messages = if sink.messages().len() > messages.len() { sink.messages() } else { messages };
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(messages[0].to, "dave@example.com");
    let due = (rotated + TimeDelta::days(90)).date_naive();
    assert_eq!(messages[0].subject, format!("[trustwarden] rotate access key 1 of dave ({ACCOUNT}) by {due}"));
}
