//! Sending the outbox: every due message is sent and marked sent; a failed
//! one is tried again later with exponential backoff, or given up on when
//! the relay refused it for good or it ran out of attempts. When the relay
//! cannot be reached at all the round stops, so a relay outage costs one
//! connection attempt per round, not one per message.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::mailer::{Mailer, SendFailure};
use crate::config::RetryConfig;
use crate::store::{Store, StoreError};

/// How many due messages are read from the store at a time.
const BATCH: usize = 50;

/// When a failed message is tried again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max: Duration,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
}

impl RetryPolicy {
    pub fn from_config(config: &RetryConfig) -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_secs(config.initial_secs),
            max: Duration::from_secs(config.max_secs),
            max_attempts: config.max_attempts,
        }
    }

    /// The wait after the `attempts`-th failed attempt: `initial`, doubling, at most `max`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(32);
        self.initial.saturating_mul(1u32 << doublings.min(31)).min(self.max)
    }

    /// When to try again after `attempts` failed attempts; `None`: give up.
    fn next_attempt(&self, attempts: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        (attempts < self.max_attempts)
            .then(|| now + TimeDelta::from_std(self.backoff(attempts)).unwrap_or(TimeDelta::MAX))
    }
}

/// What one round of sending did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlushReport {
    pub sent: usize,
    /// Failed, with another attempt planned.
    pub retrying: usize,
    /// Failed for good: left in the outbox for `trustwarden outbox retry`.
    pub abandoned: usize,
    /// The round stopped because the relay could not be reached.
    pub relay_unreachable: bool,
}

/// Sends every message due now. Store errors end the round; send errors
/// are recorded on their message.
pub async fn flush(store: &mut Store, mailer: &Mailer, policy: &RetryPolicy) -> Result<FlushReport, StoreError> {
    let mut report = FlushReport::default();
    loop {
        let due = store.pending_messages(Utc::now(), BATCH)?;
        let batch_len = due.len();
        for message in due {
            match mailer.send(&message).await {
                Ok(()) => {
                    store.mark_sent(message.id, Utc::now())?;
                    report.sent += 1;
                    tracing::info!(
                        id = message.id,
                        kind = %message.kind,
                        recipient = %message.recipient,
                        message_id = %message.message_id,
                        "message sent"
                    );
                }
                Err(error) => {
                    let attempts = message.attempts + 1;
                    let next = match error.failure {
                        SendFailure::Permanent => None,
                        SendFailure::Transient | SendFailure::Unreachable => policy.next_attempt(attempts, Utc::now()),
                    };
                    store.mark_failed(message.id, &error.message, next)?;
                    match next {
                        Some(at) => {
                            report.retrying += 1;
                            tracing::warn!(id = message.id, attempts, retry_at = %at.to_rfc3339(), error = %error, "message not sent; will retry");
                        }
                        None => {
                            report.abandoned += 1;
                            tracing::error!(id = message.id, attempts, error = %error, "message not sent; giving up (`trustwarden outbox retry` queues it again)");
                        }
                    }
                    if error.failure == SendFailure::Unreachable {
                        report.relay_unreachable = true;
                        return Ok(report);
                    }
                }
            }
        }
        if batch_len < BATCH {
            return Ok(report);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum_then_gives_up() {
        let policy = RetryPolicy { initial: Duration::from_secs(60), max: Duration::from_secs(600), max_attempts: 6 };
        let waits: Vec<u64> = (1..=6).map(|n| policy.backoff(n).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 600, 600]);
        assert_eq!(policy.backoff(u32::MAX).as_secs(), 600);
        let now = Utc::now();
        assert_eq!(policy.next_attempt(1, now), Some(now + TimeDelta::seconds(60)));
        assert_eq!(policy.next_attempt(6, now), None);
    }
}
