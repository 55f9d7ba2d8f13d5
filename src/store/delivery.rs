//! What notify needs from the store beyond the plain outbox queue: recording
//! a run together with the messages it causes (built from the run's own
//! result, inside its transaction), queueing a batch at once, and putting
//! messages back in line by hand.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior, params, params_from_iter};

use super::findings as stored;
use super::outbox::{self, NewMessage};
use super::runs::{self, RunRecord, RunResult};
use super::{Ctx, Store, StoreError, keys, time_text};
use crate::findings::{Finding, Severity};
use crate::rules::credentials::KeyDeadline;

/// A run as recorded, seen from inside its transaction: what a message
/// builder reads to say what the run changed.
pub struct RecordedRun<'a> {
    result: &'a RunResult,
    conn: &'a Connection,
    ctx: Ctx<'a>,
}

impl RecordedRun<'_> {
    /// What recording the run changed.
    pub fn result(&self) -> &RunResult {
        self.result
    }

    /// Every active finding at least this severe after the run, any account, worst first.
    pub fn active_findings(&self, min_severity: Severity) -> Result<Vec<Finding>, StoreError> {
        let accepted: Vec<&str> = Severity::ALL.iter().filter(|s| **s >= min_severity).map(|s| s.as_str()).collect();
        let placeholders: Vec<String> = (1..=accepted.len()).map(|n| format!("?{n}")).collect();
        let ids: Vec<String> = self
            .conn
            .prepare(&format!(
                "SELECT id FROM findings WHERE status = 'active' AND severity IN ({})",
                placeholders.join(", ")
            ))
            .and_then(|mut stmt| stmt.query_map(params_from_iter(accepted.iter()), |row| row.get(0))?.collect())
            .map_err(self.ctx.sql("read active findings"))?;
        stored::load_all(self.conn, self.ctx, &ids)
    }

    /// Whether a message with this dedupe key was ever queued.
    pub fn is_queued(&self, dedupe_key: &str) -> Result<bool, StoreError> {
        outbox::dedupe_key_seen(self.conn, self.ctx, dedupe_key)
    }
}

impl Store {
    /// Records a run like [`Store::record_run`], and in the same transaction
    /// the access-key deadlines of the accounts it collected and the messages
    /// `compose` builds from the recorded result. If `compose` fails, nothing
    /// of the run is stored.
    pub fn record_run_with<F>(
        &mut self,
        run: &RunRecord,
        findings: Vec<Finding>,
        deadlines: &[KeyDeadline],
        compose: F,
    ) -> Result<RunResult, StoreError>
    where
        F: FnOnce(&RecordedRun<'_>) -> Result<Vec<NewMessage>, StoreError>,
    {
        let ctx = Ctx { path: &self.path };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(ctx.sql("begin run transaction"))?;
        let mut result = runs::record(&tx, ctx, run, findings, &[])?;
        let collected: HashSet<&str> =
            result.run.accounts.iter().filter(|a| a.is_ok()).map(|a| a.account.as_str()).collect();
        keys::replace(&tx, ctx, &result.run.id, &collected, deadlines)?;
        let messages = compose(&RecordedRun { result: &result, conn: &tx, ctx })?;
        let mut queued = 0;
        for message in &messages {
            if outbox::queue(&tx, ctx, message, Some(&result.run.id))?.is_some() {
                queued += 1;
            }
        }
        result.messages_queued = queued;
        tx.commit().map_err(ctx.sql("commit run"))?;
        Ok(result)
    }

    /// Queues messages outside a run, all or none; returns how many were new
    /// (the others' dedupe keys were already queued).
    pub fn queue_messages(&mut self, messages: &[NewMessage]) -> Result<usize, StoreError> {
        let ctx = Ctx { path: &self.path };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(ctx.sql("begin transaction"))?;
        let mut queued = 0;
        for message in messages {
            if outbox::queue(&tx, ctx, message, None)?.is_some() {
                queued += 1;
            }
        }
        tx.commit().map_err(ctx.sql("commit outbox messages"))?;
        Ok(queued)
    }

    /// Makes unsent messages (pending or abandoned) due at `now`: those in
    /// `ids`, or every one when `ids` is empty. Returns how many.
    pub fn retry_messages(&mut self, ids: &[i64], now: DateTime<Utc>) -> Result<usize, StoreError> {
        let ctx = Ctx { path: &self.path };
        if ids.is_empty() {
            let updated = self
                .conn
                .execute("UPDATE outbox SET next_attempt = ?1 WHERE sent_at IS NULL", params![time_text(now)])
                .map_err(ctx.sql("retry outbox messages"))?;
            return Ok(updated);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(ctx.sql("begin transaction"))?;
        for id in ids {
            let sent: Option<Option<String>> = tx
                .query_row("SELECT sent_at FROM outbox WHERE id = ?1", [id], |row| row.get(0))
                .map(Some)
                .or_else(|error| match error {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    other => Err(other),
                })
                .map_err(ctx.sql("look up outbox message"))?;
            match sent {
                None => return Err(StoreError::UnknownMessage(*id)),
                Some(Some(_)) => return Err(StoreError::MessageAlreadySent(*id)),
                Some(None) => {
                    tx.execute("UPDATE outbox SET next_attempt = ?2 WHERE id = ?1", params![id, time_text(now)])
                        .map_err(ctx.sql("retry outbox message"))?;
                }
            }
        }
        tx.commit().map_err(ctx.sql("commit outbox retry"))?;
        Ok(ids.len())
    }
}
