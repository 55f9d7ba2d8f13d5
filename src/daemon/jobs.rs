//! The daemon's three kinds of work, each a task that opens its own store
//! connection and reports through the log: an audit run, a reminder pass
//! from the stored key deadlines, and one round of sending the outbox.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;

use super::Loaded;
use crate::audit;

/// One audit run, recorded with its messages; failures are logged, the daemon goes on.
pub(super) async fn audit(loaded: Arc<Loaded>) {
    let started = Instant::now();
    tracing::info!(source = %loaded.source, "audit run started");
    let mut store = match loaded.open_store() {
        Ok(store) => store,
        Err(error) => {
            tracing::error!(%error, "audit run not started");
            return;
        }
    };
    match audit::audit(&loaded.config, &loaded.pack, &loaded.source, &mut store).await {
        Ok(outcome) => {
            for problem in &outcome.problems {
                tracing::warn!(problem = %problem, "document not audited");
            }
            let changes = &outcome.changes;
            for account in changes.run.accounts.iter().filter(|a| !a.is_ok()) {
                tracing::warn!(account = %account.account, error = account.error.as_deref().unwrap_or(""), "account not collected");
            }
            let active = &changes.run.counts.active;
            tracing::info!(
                run = %changes.run.id,
                status = %changes.run.status,
                new = changes.new.len(),
                resolved = changes.resolved.len(),
                reappeared = changes.reappeared.len(),
                active_critical = active.critical,
                active_high = active.high,
                messages_queued = changes.messages_queued,
                seconds = started.elapsed().as_secs_f64(),
                "audit run finished"
            );
        }
        Err(error) => tracing::error!(%error, "audit run failed; nothing was recorded"),
    }
}

/// Queues the reminders the stored key deadlines call for today.
pub(super) async fn reminders(loaded: Arc<Loaded>) {
    let Some(composer) = loaded.composer.as_ref().filter(|_| loaded.config.reminders_enabled()) else {
        tracing::debug!("reminder pass: reminders are off");
        return;
    };
    let result = loaded.open_store().and_then(|mut store| {
        let deadlines = store.key_deadlines()?;
        let now = Utc::now();
        let messages = composer.reminder_messages(&deadlines, now.date_naive(), now);
        let queued = store.queue_messages(&messages)?;
        Ok((deadlines.len(), messages.len(), queued))
    });
    match result {
        Ok((keys, due, queued)) => tracing::info!(keys, due, queued, "reminder pass finished"),
        Err(error) => tracing::error!(%error, "reminder pass failed"),
    }
}

/// Sends what is due in the outbox, if mail is configured.
pub(super) async fn flush(loaded: Arc<Loaded>) {
    let Some(mailer) = &loaded.mailer else {
        return;
    };
    let mut store = match loaded.open_store() {
        Ok(store) => store,
        Err(error) => {
            tracing::error!(%error, "outbox round not started");
            return;
        }
    };
    match crate::notify::flush(&mut store, mailer, &loaded.retry).await {
        Ok(report) if report == Default::default() => {}
        Ok(report) => tracing::info!(
            sent = report.sent,
            retrying = report.retrying,
            abandoned = report.abandoned,
            relay_unreachable = report.relay_unreachable,
            "outbox round finished"
        ),
        Err(error) => tracing::error!(%error, "outbox round failed"),
    }
}
