//! The email outbox: messages are queued in the same transaction as the run
//! that caused them and sent later, so a crash can neither lose a digest nor
//! send one for a run that was never recorded. Notify owns what a message
//! says and when to retry; the store keeps the queue.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, params_from_iter};

use super::{Ctx, Store, StoreError, time_text};

/// A message to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    /// The RFC 5322 Message-ID; unique.
    pub message_id: String,
    /// What the message is (`digest`, `reminder`, ...), for listing.
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    /// Also the first moment it may be sent.
    pub created: DateTime<Utc>,
    /// A message whose key is already in the outbox, sent or not, is not
    /// queued again (`reminder:<key id>:<threshold>`: one reminder, ever).
    pub dedupe_key: Option<String>,
}

/// Where a message is in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageState {
    /// Waiting for its next attempt.
    Pending,
    Sent,
    /// Failed with no further attempt planned.
    Abandoned,
}

/// A queued message and how sending it has gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    pub message_id: String,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub created: DateTime<Utc>,
    /// The run that queued it, if one did.
    pub run_id: Option<String>,
    pub attempts: u32,
    pub next_attempt: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub dedupe_key: Option<String>,
}

impl OutboxMessage {
    pub fn state(&self) -> MessageState {
        match (self.sent_at, self.next_attempt) {
            (Some(_), _) => MessageState::Sent,
            (None, Some(_)) => MessageState::Pending,
            (None, None) => MessageState::Abandoned,
        }
    }
}

/// Which messages `messages` returns, newest first; `None` fields do not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageFilter {
    pub state: Option<MessageState>,
    pub kind: Option<String>,
    pub run_id: Option<String>,
    pub limit: Option<usize>,
}

const MESSAGE_COLUMNS: &str = "id, message_id, kind, recipient, subject, body_text, body_html, created, run_id, \
     attempts, next_attempt, last_error, sent_at, dedupe_key";

struct RawMessage {
    id: i64,
    message_id: String,
    kind: String,
    recipient: String,
    subject: String,
    body_text: String,
    body_html: Option<String>,
    created: String,
    run_id: Option<String>,
    attempts: i64,
    next_attempt: Option<String>,
    last_error: Option<String>,
    sent_at: Option<String>,
    dedupe_key: Option<String>,
}

impl RawMessage {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawMessage> {
        Ok(RawMessage {
            id: row.get(0)?,
            message_id: row.get(1)?,
            kind: row.get(2)?,
            recipient: row.get(3)?,
            subject: row.get(4)?,
            body_text: row.get(5)?,
            body_html: row.get(6)?,
            created: row.get(7)?,
            run_id: row.get(8)?,
            attempts: row.get(9)?,
            next_attempt: row.get(10)?,
            last_error: row.get(11)?,
            sent_at: row.get(12)?,
            dedupe_key: row.get(13)?,
        })
    }

    fn into_message(self, ctx: Ctx<'_>) -> Result<OutboxMessage, StoreError> {
        Ok(OutboxMessage {
            created: ctx.time("outbox.created", &self.created)?,
            next_attempt: ctx.opt_time("outbox.next_attempt", self.next_attempt.as_deref())?,
            sent_at: ctx.opt_time("outbox.sent_at", self.sent_at.as_deref())?,
            attempts: u32::try_from(self.attempts)
                .map_err(|_| ctx.corrupt(format!("outbox message {} has {} attempts", self.id, self.attempts)))?,
            id: self.id,
            message_id: self.message_id,
            kind: self.kind,
            recipient: self.recipient,
            subject: self.subject,
            body_text: self.body_text,
            body_html: self.body_html,
            run_id: self.run_id,
            last_error: self.last_error,
            dedupe_key: self.dedupe_key,
        })
    }
}

pub(super) fn dedupe_key_seen(conn: &Connection, ctx: Ctx<'_>, key: &str) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM outbox WHERE dedupe_key = ?1")
        .and_then(|mut stmt| stmt.query_row([key], |_| Ok(())).optional())
        .map(|found| found.is_some())
        .map_err(ctx.sql("look up outbox dedupe key"))
}

/// Queues `message` unless its dedupe key is already in the outbox; returns
/// the new row id, or `None` when it was a duplicate.
pub(super) fn queue(
    conn: &Connection,
    ctx: Ctx<'_>,
    message: &NewMessage,
    run_id: Option<&str>,
) -> Result<Option<i64>, StoreError> {
    // Checked before inserting, not left to ON CONFLICT alone: a repeat of a
    // deduplicated message may well carry a repeated Message-ID too, and that
    // constraint could be the one SQLite reports first.
    if let Some(key) = &message.dedupe_key {
        if dedupe_key_seen(conn, ctx, key)? {
            return Ok(None);
        }
    }
    let inserted = conn
        .prepare_cached(
            "INSERT INTO outbox (message_id, kind, recipient, subject, body_text, body_html, created, run_id,
                                 next_attempt, dedupe_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?7, ?9)
             ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                message.message_id,
                message.kind,
                message.recipient,
                message.subject,
                message.body_text,
                message.body_html,
                time_text(message.created),
                run_id,
                message.dedupe_key,
            ])
        })
        .map_err(ctx.sql("queue outbox message"))?;
    Ok((inserted > 0).then(|| conn.last_insert_rowid()))
}

impl Store {
    /// Queues a message outside a run; `None` when its dedupe key was already queued.
    pub fn queue_message(&mut self, message: &NewMessage) -> Result<Option<i64>, StoreError> {
        let ctx = Ctx { path: &self.path };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(ctx.sql("begin transaction"))?;
        let id = queue(&tx, ctx, message, None)?;
        tx.commit().map_err(ctx.sql("commit outbox message"))?;
        Ok(id)
    }

    /// Whether a message with this dedupe key was ever queued.
    pub fn is_queued(&self, dedupe_key: &str) -> Result<bool, StoreError> {
        dedupe_key_seen(&self.conn, self.ctx(), dedupe_key)
    }

    /// Unsent messages whose next attempt is due at `now`, longest waiting first.
    pub fn pending_messages(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxMessage>, StoreError> {
        let ctx = self.ctx();
        let raws: Vec<RawMessage> = self
            .conn
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM outbox
                 WHERE sent_at IS NULL AND next_attempt IS NOT NULL AND next_attempt <= ?1
                 ORDER BY next_attempt, id LIMIT ?2"
            ))
            .and_then(|mut stmt| {
                stmt.query_map(params![time_text(now), i64::try_from(limit).unwrap_or(i64::MAX)], RawMessage::from_row)?
                    .collect()
            })
            .map_err(ctx.sql("read pending outbox messages"))?;
        raws.into_iter().map(|raw| raw.into_message(ctx)).collect()
    }

    /// Records that a message went out.
    pub fn mark_sent(&mut self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        let updated = self
            .conn
            .execute(
                "UPDATE outbox SET sent_at = ?2, next_attempt = NULL, attempts = attempts + 1 WHERE id = ?1",
                params![id, time_text(at)],
            )
            .map_err(self.ctx().sql("mark outbox message sent"))?;
        if updated == 0 {
            return Err(StoreError::UnknownMessage(id));
        }
        Ok(())
    }

    /// Records a failed attempt; `next_attempt: None` gives up on the message.
    pub fn mark_failed(&mut self, id: i64, error: &str, next_attempt: Option<DateTime<Utc>>) -> Result<(), StoreError> {
        let updated = self
            .conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt = ?3
                 WHERE id = ?1 AND sent_at IS NULL",
                params![id, error, next_attempt.map(time_text)],
            )
            .map_err(self.ctx().sql("mark outbox message failed"))?;
        if updated == 0 {
            let exists = self
                .conn
                .query_row("SELECT 1 FROM outbox WHERE id = ?1", [id], |_| Ok(()))
                .optional()
                .map_err(self.ctx().sql("look up outbox message"))?
                .is_some();
            return Err(if exists { StoreError::MessageAlreadySent(id) } else { StoreError::UnknownMessage(id) });
        }
        Ok(())
    }

    /// Queued messages matching `filter`, newest first.
    pub fn messages(&self, filter: &MessageFilter) -> Result<Vec<OutboxMessage>, StoreError> {
        let mut clauses: Vec<&str> = Vec::new();
        let mut values: Vec<String> = Vec::new();
        match filter.state {
            Some(MessageState::Pending) => clauses.push("sent_at IS NULL AND next_attempt IS NOT NULL"),
            Some(MessageState::Sent) => clauses.push("sent_at IS NOT NULL"),
            Some(MessageState::Abandoned) => clauses.push("sent_at IS NULL AND next_attempt IS NULL"),
            None => {}
        }
        let mut numbered = Vec::new();
        if let Some(kind) = &filter.kind {
            values.push(kind.clone());
            numbered.push(format!("kind = ?{}", values.len()));
        }
        if let Some(run_id) = &filter.run_id {
            values.push(run_id.clone());
            numbered.push(format!("run_id = ?{}", values.len()));
        }
        let all: Vec<&str> = clauses.into_iter().chain(numbered.iter().map(String::as_str)).collect();
        let filter_sql = if all.is_empty() { String::new() } else { format!("WHERE {}", all.join(" AND ")) };
        let limit_sql = filter.limit.map(|limit| format!("LIMIT {limit}")).unwrap_or_default();
        let sql =
            format!("SELECT {MESSAGE_COLUMNS} FROM outbox {filter_sql} ORDER BY created DESC, id DESC {limit_sql}");
        let ctx = self.ctx();
        let raws: Vec<RawMessage> = self
            .conn
            .prepare(&sql)
            .and_then(|mut stmt| stmt.query_map(params_from_iter(values.iter()), RawMessage::from_row)?.collect())
            .map_err(ctx.sql("list outbox messages"))?;
        raws.into_iter().map(|raw| raw.into_message(ctx)).collect()
    }
}
