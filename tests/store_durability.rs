//! What the store promises about the file itself: it is private (0600), a
//! run is all or nothing even when the process is killed mid-write,
//! migrations run once, and a database from a newer trustwarden is refused.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use trustwarden::findings::{Finding, Severity, Status, finding_id};
use trustwarden::store::{
    FindingFilter, MessageFilter, NewMessage, RunAccount, RunRecord, SCHEMA_VERSION, Store, StoreError,
};

const A: &str = "111111111111";

fn at(day: u32) -> DateTime<Utc> {
    format!("2025-03-{day:02}T10:00:00Z").parse().unwrap()
}

fn finding(n: usize) -> Finding {
    let resource = format!("arn:aws:iam::{A}:user/user-{n}");
    Finding {
        id: finding_id("access-key-not-rotated", &resource, "access_key_1"),
        rule: "access-key-not-rotated".to_owned(),
        title: format!("user-{n}'s access key 1 is 120 days old"),
        severity: Severity::Medium,
        status: Status::Active,
        account: A.to_owned(),
        resource,
        principal: None,
        credential: Some(trustwarden::findings::Credential::AccessKey1),
        actions: vec![],
        conditions: vec![],
        is_public: false,
        path: vec![],
        evidence: vec![],
        explanation: "Keys older than 90 days must be rotated.".to_owned(),
        first_seen: DateTime::UNIX_EPOCH,
        last_seen: DateTime::UNIX_EPOCH,
        owner: Some(format!("user-{n}@example.com")),
        due: None,
    }
}

fn run(day: u32) -> RunRecord {
    RunRecord {
        id: None,
        started: at(day),
        finished: at(day) + Duration::minutes(1),
        source: "snapshot:test".to_owned(),
        accounts: vec![RunAccount::ok(A)],
    }
}

fn message(message_id: &str, dedupe_key: Option<&str>, day: u32) -> NewMessage {
    NewMessage {
        message_id: message_id.to_owned(),
        kind: "digest".to_owned(),
        recipient: "security@example.com".to_owned(),
        subject: "trustwarden digest".to_owned(),
        body_text: "3 new findings".to_owned(),
        body_html: None,
        created: at(day),
        dedupe_key: dedupe_key.map(str::to_owned),
    }
}

/// Everything observable through the store's API, to compare before and after.
fn state(store: &Store) -> String {
    let findings = store.findings(&FindingFilter::default()).unwrap();
    let details: Vec<_> = findings.iter().map(|f| store.finding(&f.id).unwrap()).collect();
    format!(
        "{details:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        store.runs(100).unwrap(),
        store.accounts().unwrap(),
        store.suppressions(at(1), true).unwrap(),
        store.messages(&MessageFilter::default()).unwrap()
    )
}

#[test]
fn the_file_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trustwarden.db");
    let mut store = Store::open(&path).unwrap();
    store.record_run(&run(1), vec![finding(1)], vec![]).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    // WAL: the write-ahead log holds findings too, and must be as private.
    let wal = dir.path().join("trustwarden.db-wal");
    assert_eq!(fs::metadata(&wal).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_run_that_fails_midway_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut store = Store::open(&path).unwrap();
    store.record_run(&run(1), (0..10).map(finding).collect(), vec![message("<m1@tw>", None, 1)]).unwrap();
    let before = state(&store);

    // The run itself, the new and resolved findings and their history are
    // written before the outbox; the second message repeats a Message-ID,
    // so the last insert fails.
    let error = store
        .record_run(
            &run(2),
            (5..20).map(finding).collect(),
            vec![message("<m2@tw>", Some("digest:2"), 2), message("<m2@tw>", Some("digest:2b"), 2)],
        )
        .unwrap_err();
    assert!(matches!(error, StoreError::Sqlite { operation: "queue outbox message", .. }), "{error}");
    assert!(error.to_string().contains("t.db"), "the error names the database: {error}");
    assert_eq!(state(&store), before);
    assert!(!store.is_queued("digest:2").unwrap());

    // Invalid input is refused before anything is written.
    let mut bad = finding(30);
    bad.id = String::new();
    assert!(matches!(store.record_run(&run(3), vec![finding(1), bad], vec![]), Err(StoreError::InvalidFinding(_))));
    let first_id = store.last_run().unwrap().unwrap().id;
    let duplicate = RunRecord { id: Some(first_id.clone()), ..run(4) };
    assert!(
        matches!(store.record_run(&duplicate, vec![], vec![]), Err(StoreError::DuplicateRun(id)) if id == first_id)
    );
    assert_eq!(state(&store), before);

    // And it is the same after reopening.
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(state(&store), before);
}

#[test]
fn reopening_migrates_once_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    store.record_run(&run(1), vec![finding(1)], vec![]).unwrap();
    let before = state(&store);
    drop(store);
    for _ in 0..3 {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(state(&store), before);
    }
}

#[test]
fn a_database_from_a_newer_trustwarden_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    drop(Store::open(&path).unwrap());
    // The closed database is checkpointed into the main file; user_version
    // is the big-endian u32 at offset 60 of its header.
    let mut file = fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
    let mut header = [0u8; 100];
    file.read_exact(&mut header).unwrap();
    assert_eq!(&header[..16], b"SQLite format 3\0");
    assert_eq!(u32::from_be_bytes(header[60..64].try_into().unwrap()), SCHEMA_VERSION as u32);
    file.seek(SeekFrom::Start(60)).unwrap();
    file.write_all(&(SCHEMA_VERSION as u32 + 1).to_be_bytes()).unwrap();
    drop(file);
    let error = Store::open(&path).unwrap_err();
    assert!(
        matches!(error, StoreError::TooNew { found, supported, .. } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{error}"
    );
    let text = error.to_string();
    assert!(text.contains("t.db") && text.contains("newer than this trustwarden supports"), "{text}");
}

#[test]
fn a_missing_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = Store::open(dir.path().join("nope/t.db")).unwrap_err();
    assert!(matches!(error, StoreError::Create { .. }), "{error}");
    assert!(error.to_string().contains("nope/t.db"), "{error}");
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    fs::write(&path, "these are not the findings you are looking for\n".repeat(100)).unwrap();
    let error = Store::open(&path).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("notes.txt") && text.contains("not a database"), "{text}");
}

/// Run by `a_killed_writer_leaves_a_whole_run` in a child process: records
/// runs as fast as it can until it is killed.
#[test]
#[ignore = "child process of a_killed_writer_leaves_a_whole_run"]
fn killed_writer_child() {
    let Some(path) = std::env::var_os("TW_STORE_CRASH_DB") else {
        return;
    };
    let mut store = Store::open(Path::new(&path)).unwrap();
    for day in 1..=28 {
        // A sliding window: each run resolves 200 findings and adds 200.
        let findings = (day as usize * 200..day as usize * 200 + 1000).map(finding).collect();
        let messages = vec![message(&format!("<d{day}@tw>"), Some(&format!("digest:{day}")), day)];
        store.record_run(&run(day), findings, messages).unwrap();
    }
}

/// Kills a writer at different moments; whatever was committed last must be
/// there entirely, and nothing of the run in progress.
#[test]
fn a_killed_writer_leaves_a_whole_run() {
    let exe = std::env::current_exe().unwrap();
    for (trial, wait_for_runs) in [0usize, 1, 2, 4, 7].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        // Created first so the child never races the schema migration against the kill.
        let watcher = Store::open(&path).unwrap();
        let mut child = Command::new(&exe)
            .args(["--ignored", "--exact", "killed_writer_child", "--test-threads=1"])
            .env("TW_STORE_CRASH_DB", &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + StdDuration::from_secs(120);
        while watcher.runs(100).unwrap().len() < wait_for_runs {
            assert!(Instant::now() < deadline, "the child recorded no run in time");
            std::thread::sleep(StdDuration::from_millis(2));
        }
        drop(watcher);
        // A run takes tens of milliseconds, nearly all inside its
        // transaction: these land at different points of the next one.
        std::thread::sleep(StdDuration::from_millis(3 + 11 * trial as u64));
        child.kill().unwrap();
        child.wait().unwrap();

        let store = Store::open(&path).unwrap();
        let runs = store.runs(100).unwrap();
        let active = store.findings(&FindingFilter { status: Some(Status::Active), ..Default::default() }).unwrap();
        let resolved = store.findings(&FindingFilter { status: Some(Status::Resolved), ..Default::default() }).unwrap();
        let messages = store.messages(&MessageFilter::default()).unwrap();
        assert!(runs.len() >= wait_for_runs);
        let Some(last) = runs.first() else {
            assert!(active.is_empty() && resolved.is_empty() && messages.is_empty(), "no run, no data");
            continue;
        };
        let day = runs.len() as u32;
        assert_eq!(last.started, at(day), "trial {trial}");
        assert_eq!(active.len(), 1000, "trial {trial}: the last run's findings, all of them");
        assert!(active.iter().all(|f| f.last_seen == at(day)));
        assert_eq!(resolved.len(), 200 * (day as usize - 1));
        assert_eq!(messages.len(), runs.len());
        assert_eq!(last.counts.active.medium, 1000);
    }
}
