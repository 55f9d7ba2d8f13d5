//! The SQLite store: runs, findings with their lifecycle, suppressions and the
//! email outbox. The only module that imports rusqlite.
//!
//! One [`Store`] owns one connection. Writes that belong together (a run's
//! results, a suppression and the findings it archives) are one transaction,
//! so a crash at any moment leaves the previous state intact.

mod delivery;
mod findings;
mod glob;
mod keys;
mod outbox;
mod runs;
mod schema;
mod suppressions;

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags};

use crate::findings::{Severity, Status};

pub use delivery::RecordedRun;
pub use findings::{FindingDetail, FindingFilter, HistoryEntry};
pub use outbox::{MessageFilter, MessageState, NewMessage, OutboxMessage};
pub use runs::{AccountState, RunAccount, RunCounts, RunRecord, RunResult, RunStatus, RunSummary, SeverityCounts};
pub use schema::SCHEMA_VERSION;
pub use suppressions::{NewSuppression, Suppression, SuppressionChange, SuppressionScope};

/// File name of the database inside the state directory.
pub const DB_FILE_NAME: &str = "trustwarden.db";

/// How long a writer waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors from the store, each naming the database and what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create database file {}: {source}", path.display())]
    Create { path: PathBuf, source: std::io::Error },
    #[error("cannot open database {}: {source}", path.display())]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error(
        "database {} has schema version {found}, newer than this trustwarden supports ({supported}); \
         upgrade trustwarden or point it at another database",
        path.display()
    )]
    TooNew { path: PathBuf, found: i64, supported: i64 },
    #[error("database {}: migration to schema version {version} failed: {source}", path.display())]
    Migration { path: PathBuf, version: i64, source: rusqlite::Error },
    #[error("database {}: {operation} failed: {source}", path.display())]
    Sqlite { path: PathBuf, operation: &'static str, source: rusqlite::Error },
    #[error("database {}: finding {id}: stored payload is unusable: {source}", path.display())]
    Payload { path: PathBuf, id: String, source: serde_json::Error },
    #[error("database {}: {what}", path.display())]
    Corrupt { path: PathBuf, what: String },
    #[error("run {0} is already recorded")]
    DuplicateRun(String),
    #[error("invalid finding: {0}")]
    InvalidFinding(String),
    #[error("invalid suppression: {0}")]
    InvalidSuppression(String),
    #[error("no finding with id {0}")]
    UnknownFinding(String),
    #[error("no suppression with id {0}")]
    UnknownSuppression(i64),
    #[error("suppression {0} was already removed")]
    SuppressionAlreadyRemoved(i64),
    #[error("no outbox message with id {0}")]
    UnknownMessage(i64),
    #[error("outbox message {0} was already sent")]
    MessageAlreadySent(i64),
}

/// An open trustwarden database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// `$STATE_DIRECTORY/trustwarden.db` (the first entry when systemd passes
/// several), else `./trustwarden.db`.
pub fn default_path() -> PathBuf {
    default_path_from(std::env::var_os("STATE_DIRECTORY").as_deref())
}

fn default_path_from(state_directory: Option<&OsStr>) -> PathBuf {
    state_directory
        .and_then(|dirs| std::env::split_paths(dirs).next())
        .filter(|dir| !dir.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from(DB_FILE_NAME), |dir| dir.join(DB_FILE_NAME))
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema
    /// up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::open_with(path.as_ref(), schema::MIGRATIONS)
    }

    fn open_with(path: &Path, migrations: &[schema::Migration]) -> Result<Store, StoreError> {
        // Findings describe how to get into the organization's accounts: the
        // file must never be readable by other users, so it is created 0600
        // before SQLite sees it (SQLite gives the -wal and -shm files the
        // database file's mode).
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|source| StoreError::Create { path: path.to_owned(), source })?;
        // No SQLITE_OPEN_URI: a configured path is a file name, never a `file:` URI.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|source| StoreError::Open { path: path.to_owned(), source })?;
        let ctx = Ctx { path };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(ctx.sql("set busy timeout"))?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(ctx.sql("switch to WAL journal mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(ctx.corrupt(format!("journal mode is {mode}, WAL could not be enabled")));
        }
        conn.pragma_update(None, "foreign_keys", true).map_err(ctx.sql("enable foreign keys"))?;
        // Recording a run cycles through a couple of dozen statements; the
        // default cache of 16 would re-prepare some for every finding.
        conn.set_prepared_statement_cache_capacity(64);
        let mut store = Store { conn, path: path.to_owned() };
        schema::migrate(&mut store.conn, path, migrations)?;
        Ok(store)
    }

    /// Where this database lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version recorded in the database file.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        schema::user_version(&self.conn).map_err(self.ctx().sql("read schema version"))
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx { path: &self.path }
    }
}

/// Error context that does not borrow the connection, so it can be used while
/// a transaction holds `&mut Connection`.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    path: &'a Path,
}

impl Ctx<'_> {
    fn sql(self, operation: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
        move |source| StoreError::Sqlite { path: self.path.to_owned(), operation, source }
    }

    fn corrupt(self, what: String) -> StoreError {
        StoreError::Corrupt { path: self.path.to_owned(), what }
    }

    fn payload(self, id: &str) -> impl Fn(serde_json::Error) -> StoreError {
        move |source| StoreError::Payload { path: self.path.to_owned(), id: id.to_owned(), source }
    }

    fn time(self, column: &str, text: &str) -> Result<DateTime<Utc>, StoreError> {
        parse_time(text).ok_or_else(|| self.corrupt(format!("{column} {text:?} is not an RFC 3339 time")))
    }

    fn opt_time(self, column: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, StoreError> {
        text.map(|text| self.time(column, text)).transpose()
    }

    fn status(self, text: &str) -> Result<Status, StoreError> {
        text.parse().map_err(|_| self.corrupt(format!("finding status {text:?} is unknown")))
    }

    fn severity(self, text: &str) -> Result<Severity, StoreError> {
        text.parse().map_err(|_| self.corrupt(format!("severity {text:?} is unknown")))
    }
}

/// Times are stored as RFC 3339 UTC text with a fixed nine-digit fraction, so
/// that SQLite's text comparison orders them as time does.
fn time_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|time| time.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_prefers_the_first_state_directory() {
        assert_eq!(default_path_from(None), PathBuf::from("trustwarden.db"));
        assert_eq!(default_path_from(Some(OsStr::new(""))), PathBuf::from("trustwarden.db"));
        assert_eq!(
            default_path_from(Some(OsStr::new("/var/lib/trustwarden"))),
            PathBuf::from("/var/lib/trustwarden/trustwarden.db")
        );
        assert_eq!(
            default_path_from(Some(OsStr::new("/var/lib/a:/var/lib/b"))),
            PathBuf::from("/var/lib/a/trustwarden.db")
        );
    }

    #[test]
    fn time_text_sorts_like_time() {
        let early = parse_time("2025-03-01T10:00:00Z").unwrap();
        let later = parse_time("2025-03-01T10:00:00.5Z").unwrap();
        assert!(time_text(early) < time_text(later));
        assert_eq!(parse_time(&time_text(later)), Some(later));
    }
}
