//! Versioned schema migrations, tracked in SQLite's `PRAGMA user_version`.
//!
//! Migrations are append-only: a released migration is never edited, a change
//! is a new entry. Each runs in its own transaction together with the version
//! bump, so a failed migration leaves the database at the previous version.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// One schema step: the SQL that takes the database from `version - 1` to `version`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

/// The newest schema this code knows.
pub const SCHEMA_VERSION: i64 = 2;

pub(super) const MIGRATIONS: &[Migration] = &[Migration { version: 1, sql: V1 }, Migration { version: 2, sql: V2 }];

/// Runs, their per-account outcomes, findings with history, suppressions and
/// the outbox. Tables are STRICT so a wrongly typed value is an error, not a
/// silent conversion; CHECKs keep enumerations to their known values.
const V1: &str = r#"
CREATE TABLE runs (
    id                  TEXT PRIMARY KEY,
    started             TEXT NOT NULL,
    finished            TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('ok', 'partial', 'failed')),
    source              TEXT NOT NULL,
    findings_reported   INTEGER NOT NULL DEFAULT 0,
    findings_new        INTEGER NOT NULL DEFAULT 0,
    findings_resolved   INTEGER NOT NULL DEFAULT 0,
    findings_reappeared INTEGER NOT NULL DEFAULT 0,
    active_critical     INTEGER NOT NULL DEFAULT 0,
    active_high         INTEGER NOT NULL DEFAULT 0,
    active_medium       INTEGER NOT NULL DEFAULT 0,
    active_low          INTEGER NOT NULL DEFAULT 0,
    active_info         INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX runs_by_start ON runs (started);

CREATE TABLE run_accounts (
    run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    account TEXT NOT NULL,
    status  TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error   TEXT,
    PRIMARY KEY (run_id, account),
    CHECK ((status = 'ok') = (error IS NULL))
) STRICT;

CREATE TABLE accounts (
    account     TEXT PRIMARY KEY,
    first_seen  TEXT NOT NULL,
    last_run_id TEXT NOT NULL REFERENCES runs (id),
    last_status TEXT NOT NULL CHECK (last_status IN ('ok', 'failed')),
    last_error  TEXT,
    last_ok     TEXT
) STRICT;

CREATE TABLE suppressions (
    id            INTEGER PRIMARY KEY,
    finding_id    TEXT,
    rule          TEXT,
    resource_glob TEXT,
    account       TEXT,
    reason        TEXT NOT NULL CHECK (reason <> ''),
    author        TEXT NOT NULL CHECK (author <> ''),
    created       TEXT NOT NULL,
    expires       TEXT,
    removed       TEXT,
    -- Either one finding, or a rule with optional narrowing; never both.
    CHECK ((finding_id IS NULL) <> (rule IS NULL)),
    CHECK (finding_id IS NULL OR (resource_glob IS NULL AND account IS NULL))
) STRICT;

CREATE TABLE findings (
    id               TEXT PRIMARY KEY,
    rule             TEXT NOT NULL,
    severity         TEXT NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low', 'info')),
    status           TEXT NOT NULL CHECK (status IN ('active', 'archived', 'resolved')),
    account          TEXT NOT NULL,
    resource         TEXT NOT NULL,
    first_seen       TEXT NOT NULL,
    last_seen        TEXT NOT NULL,
    -- The rules reported it archived (a trusted vendor, say): no suppression needed.
    archived_by_rule INTEGER NOT NULL DEFAULT 0 CHECK (archived_by_rule IN (0, 1)),
    -- The suppression that archived it, so removing that suppression knows what to reactivate.
    suppression_id   INTEGER REFERENCES suppressions (id),
    payload          TEXT NOT NULL CHECK (json_valid(payload))
) STRICT;
CREATE INDEX findings_by_status ON findings (status, severity);
CREATE INDEX findings_by_account ON findings (account, status);
CREATE INDEX findings_by_rule ON findings (rule, status);
CREATE INDEX findings_by_suppression ON findings (suppression_id) WHERE suppression_id IS NOT NULL;

CREATE TABLE finding_history (
    id          INTEGER PRIMARY KEY,
    finding_id  TEXT NOT NULL REFERENCES findings (id) ON DELETE CASCADE,
    run_id      TEXT REFERENCES runs (id),
    at          TEXT NOT NULL,
    from_status TEXT CHECK (from_status IN ('active', 'archived', 'resolved')),
    to_status   TEXT NOT NULL CHECK (to_status IN ('active', 'archived', 'resolved')),
    reason      TEXT NOT NULL
) STRICT;
CREATE INDEX finding_history_by_finding ON finding_history (finding_id, id);

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    message_id   TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    subject      TEXT NOT NULL,
    body_text    TEXT NOT NULL,
    body_html    TEXT,
    created      TEXT NOT NULL,
    run_id       TEXT REFERENCES runs (id),
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- NULL once sent or given up on.
    next_attempt TEXT,
    last_error   TEXT,
    sent_at      TEXT,
    -- e.g. reminder:<key id>:<threshold>; unique so a reminder is queued once, ever.
    dedupe_key   TEXT UNIQUE
) STRICT;
CREATE INDEX outbox_due ON outbox (next_attempt, id) WHERE sent_at IS NULL AND next_attempt IS NOT NULL;
"#;

/// Each active access key's rotation deadline as the latest run that
/// collected its account saw it: what the reminder pass reads between runs.
const V2: &str = r#"
CREATE TABLE key_deadlines (
    account      TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    user_arn     TEXT NOT NULL,
    credential   TEXT NOT NULL CHECK (credential IN ('access_key_1', 'access_key_2')),
    last_rotated TEXT NOT NULL,
    -- YYYY-MM-DD: the last day the key is within its rotation limit.
    due          TEXT NOT NULL,
    owner        TEXT,
    run_id       TEXT NOT NULL REFERENCES runs (id),
    PRIMARY KEY (account, user_arn, credential)
) STRICT;
"#;

pub(super) fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Brings the database up to the newest of `migrations`; refuses a database
/// written by a newer trustwarden rather than guess at its schema.
pub(super) fn migrate(conn: &mut Connection, path: &Path, migrations: &[Migration]) -> Result<(), StoreError> {
    let supported = migrations.last().map_or(0, |m| m.version);
    let sql_error = |source| StoreError::Sqlite { path: path.to_owned(), operation: "read schema version", source };
    let found = user_version(conn).map_err(sql_error)?;
    if found > supported {
        return Err(StoreError::TooNew { path: path.to_owned(), found, supported });
    }
    for migration in migrations.iter().filter(|m| m.version > found) {
        let failed = |source| StoreError::Migration { path: path.to_owned(), version: migration.version, source };
        // IMMEDIATE takes the write lock up front, and the version is read
        // again under it: two processes opening a new database at once must
        // not both run the same migration.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(failed)?;
        let current = user_version(&tx).map_err(failed)?;
        if current > supported {
            return Err(StoreError::TooNew { path: path.to_owned(), found: current, supported });
        }
        if current >= migration.version {
            continue;
        }
        tx.execute_batch(migration.sql).map_err(failed)?;
        tx.pragma_update(None, "user_version", migration.version).map_err(failed)?;
        tx.commit().map_err(failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn migrations_are_numbered_in_order() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, index as i64 + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }

    #[test]
    fn a_failing_migration_leaves_the_previous_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let broken = [
            MIGRATIONS[0],
            // The first statement succeeds, the second fails: neither may stick.
            Migration { version: 2, sql: "CREATE TABLE extra (x INTEGER); INSERT INTO no_such_table VALUES (1);" },
        ];
        let error = Store::open_with(&path, &broken).unwrap_err();
        assert!(matches!(error, StoreError::Migration { version: 2, .. }), "{error}");
        let conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 1);
        let extra: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'extra'", [], |row| row.get(0)).unwrap();
        assert_eq!(extra, 0);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        drop(conn);
        let error = Store::open(&path).unwrap_err();
        assert!(
            matches!(error, StoreError::TooNew { found, supported, .. } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION)
        );
        assert!(error.to_string().contains("newer than this trustwarden supports"), "{error}");
    }
}
