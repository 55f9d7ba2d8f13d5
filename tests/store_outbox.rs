//! The email outbox: dedupe keys queue a message once, ever; retries come
//! due in order; sent and abandoned messages leave the queue.

use chrono::{DateTime, Duration, Utc};
use trustwarden::store::{MessageFilter, MessageState, NewMessage, RunAccount, RunRecord, Store, StoreError};

fn at(hour: u32) -> DateTime<Utc> {
    format!("2025-03-01T{hour:02}:00:00Z").parse().unwrap()
}

fn message(message_id: &str, kind: &str, dedupe_key: Option<&str>, created: DateTime<Utc>) -> NewMessage {
    NewMessage {
        message_id: message_id.to_owned(),
        kind: kind.to_owned(),
        recipient: "owner@example.com".to_owned(),
        subject: format!("{kind} from trustwarden"),
        body_text: "Your access key AKIA... must be rotated by 2025-03-10.".to_owned(),
        body_html: Some("<p>Your access key must be rotated.</p>".to_owned()),
        created,
        dedupe_key: dedupe_key.map(str::to_owned),
    }
}

fn run(hour: u32) -> RunRecord {
    RunRecord {
        id: None,
        started: at(hour),
        finished: at(hour) + Duration::minutes(1),
        source: "aws".to_owned(),
        accounts: vec![RunAccount::ok("111111111111")],
    }
}

#[test]
fn a_dedupe_key_queues_once_ever() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("t.db")).unwrap();
    let key = "reminder:AKIAEXAMPLE1:7d";
    let first = store
        .record_run(
            &run(1),
            vec![],
            vec![message("<r1@tw>", "reminder", Some(key), at(1)), message("<d1@tw>", "digest", None, at(1))],
        )
        .unwrap();
    assert_eq!(first.messages_queued, 2);
    assert!(store.is_queued(key).unwrap());
    // The same reminder in a later run, even with the same Message-ID, is skipped.
    let second = store
        .record_run(
            &run(2),
            vec![],
            vec![message("<r1@tw>", "reminder", Some(key), at(2)), message("<r2@tw>", "reminder", Some(key), at(2))],
        )
        .unwrap();
    assert_eq!(second.messages_queued, 0);
    // Also after it was sent.
    let id = store.messages(&MessageFilter { kind: Some("reminder".to_owned()), ..Default::default() }).unwrap()[0].id;
    store.mark_sent(id, at(3)).unwrap();
    assert_eq!(store.queue_message(&message("<r3@tw>", "reminder", Some(key), at(4))).unwrap(), None);
    // Without a key every message is queued.
    assert!(store.queue_message(&message("<d2@tw>", "digest", None, at(4))).unwrap().is_some());

    let reminders = store.messages(&MessageFilter { kind: Some("reminder".to_owned()), ..Default::default() }).unwrap();
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].run_id.as_deref(), Some(first.run.id.as_str()));
    let of_first_run =
        store.messages(&MessageFilter { run_id: Some(first.run.id.clone()), ..Default::default() }).unwrap();
    assert_eq!(of_first_run.len(), 2);
}

#[test]
fn retries_come_due_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("t.db")).unwrap();
    let m1 = store.queue_message(&message("<m1@tw>", "digest", None, at(1))).unwrap().unwrap();
    let m2 = store.queue_message(&message("<m2@tw>", "digest", None, at(2))).unwrap().unwrap();
    let m3 = store.queue_message(&message("<m3@tw>", "digest", None, at(3))).unwrap().unwrap();
    let pending_ids = |store: &Store, hour: u32| -> Vec<i64> {
        store.pending_messages(at(hour), 10).unwrap().into_iter().map(|m| m.id).collect()
    };
    assert_eq!(pending_ids(&store, 0), Vec::<i64>::new(), "nothing is due before it was created");
    assert_eq!(pending_ids(&store, 2), [m1, m2]);
    assert_eq!(pending_ids(&store, 5), [m1, m2, m3]);
    assert_eq!(store.pending_messages(at(5), 2).unwrap().len(), 2);

    // m1 fails and is retried at 06:00, after m2 and m3.
    store.mark_failed(m1, "421 try again later", Some(at(6))).unwrap();
    assert_eq!(pending_ids(&store, 5), [m2, m3]);
    assert_eq!(pending_ids(&store, 6), [m2, m3, m1]);
    let retried = &store.pending_messages(at(6), 10).unwrap()[2];
    assert_eq!((retried.attempts, retried.last_error.as_deref()), (1, Some("421 try again later")));
    assert_eq!(retried.state(), MessageState::Pending);

    store.mark_sent(m2, at(6)).unwrap();
    store.mark_failed(m3, "550 no such user", None).unwrap();
    assert_eq!(pending_ids(&store, 23), [m1]);

    let state_of = |state| -> Vec<i64> {
        store
            .messages(&MessageFilter { state: Some(state), ..Default::default() })
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect()
    };
    assert_eq!(state_of(MessageState::Sent), [m2]);
    assert_eq!(state_of(MessageState::Abandoned), [m3]);
    assert_eq!(state_of(MessageState::Pending), [m1]);
    let sent = &store.messages(&MessageFilter { state: Some(MessageState::Sent), ..Default::default() }).unwrap()[0];
    assert_eq!((sent.sent_at, sent.attempts, sent.next_attempt), (Some(at(6)), 1, None));
    assert_eq!(
        store.messages(&MessageFilter { limit: Some(1), ..Default::default() }).unwrap()[0].id,
        m3,
        "newest first"
    );

    assert!(matches!(store.mark_sent(999, at(7)), Err(StoreError::UnknownMessage(999))));
    assert!(matches!(store.mark_failed(m2, "already sent", None), Err(StoreError::MessageAlreadySent(id)) if id == m2));
}
