//! Email: what a run's digest and an owner's key-rotation reminder say, and
//! sending the outbox over SMTP with retry. The only module that imports lettre.
//!
//! Messages are built here and queued by the store in the same transaction
//! as the run that caused them ([`Composer::run_messages`]); [`flush`] then
//! sends whatever is due. Each message keeps the Message-ID it was queued
//! with, so a retry after an uncertain failure is recognisably the same mail.

mod digest;
mod mailer;
mod outbox;
mod reminders;

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use lettre::message::Mailbox;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::rules::credentials::KeyDeadline;
use crate::store::{NewMessage, RecordedRun, StoreError};

pub use mailer::{Mailer, SendError, SendFailure};
pub use outbox::{FlushReport, RetryPolicy, flush};
pub use reminders::{Owners, ReminderStage, reminder_stage};

/// Why notification could not be set up or carried out.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("notify.from is not set: notification is off")]
    Disabled,
    #[error("{field}: {message}")]
    Address { field: String, message: String },
    #[error("owners file {}: {message}", path.display())]
    Owners { path: PathBuf, message: String },
    #[error("SMTP password: {0}")]
    Credentials(String),
    #[error("SMTP relay {host}: {message}")]
    Relay { host: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks that `text` is an email address, optionally with a display name
/// (`Security Team <secops@example.com>`).
pub fn check_mailbox(text: &str) -> Result<(), String> {
    parse_mailbox(text).map(|_| ())
}

fn parse_mailbox(text: &str) -> Result<Mailbox, String> {
    text.trim().parse::<Mailbox>().map_err(|e| format!("{text:?} is not an email address ({e})"))
}

/// Builds the messages a run or a reminder pass causes, from the configuration.
#[derive(Debug)]
pub struct Composer {
    /// The sender's domain: the right-hand side of every Message-ID.
    domain: String,
    digest: crate::config::DigestConfig,
    reminders: Option<reminders::ReminderPlan>,
}

impl Composer {
    /// `None` when `[notify]` is off (no `from`). Reads the owners file.
    pub fn from_config(config: &Config) -> Result<Option<Composer>, NotifyError> {
        let Some(from) = &config.notify.from else {
            return Ok(None);
        };
        let from =
            parse_mailbox(from).map_err(|message| NotifyError::Address { field: "notify.from".into(), message })?;
        for recipient in &config.notify.digest.recipients {
            parse_mailbox(recipient)
                .map_err(|message| NotifyError::Address { field: "notify.digest.recipients".into(), message })?;
        }
        let reminders = if config.reminders.enabled {
            Some(reminders::ReminderPlan::from_config(&config.reminders, &config.credentials.owner_tag)?)
        } else {
            None
        };
        Ok(Some(Composer { domain: from.email.domain().to_owned(), digest: config.notify.digest.clone(), reminders }))
    }

    /// Everything a just-recorded run sends: the digest to each recipient
    /// (unless nothing changed and that is not wanted), and the reminders
    /// its key deadlines call for on `today`. Called inside the run's transaction.
    pub fn run_messages(
        &self,
        run: &RecordedRun<'_>,
        deadlines: &[KeyDeadline],
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Vec<NewMessage>, StoreError> {
        let mut messages = digest::messages(&self.digest, &self.domain, run, now)?;
        messages.extend(self.reminder_messages(deadlines, today, now));
        Ok(messages)
    }

    /// The reminders `deadlines` call for on `today`. Each carries a dedupe
    /// key, so queueing one that went out before does nothing.
    pub fn reminder_messages(
        &self,
        deadlines: &[KeyDeadline],
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Vec<NewMessage> {
        match &self.reminders {
            Some(plan) => plan.messages(&self.domain, deadlines, today, now),
            None => Vec::new(),
        }
    }
}

/// A stable Message-ID: the same `seed` always gives the same id.
fn message_id(kind: &str, seed: &str, domain: &str) -> String {
    let hash = Sha256::digest(seed.as_bytes());
    format!("<{kind}.{}@{domain}>", hex::encode(&hash[..12]))
}

/// Text for HTML element content and attribute values.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_are_checked() {
        assert!(check_mailbox("secops@example.com").is_ok());
        assert!(check_mailbox("Security Team <secops@example.com>").is_ok());
        assert!(check_mailbox("secops").is_err());
        assert!(check_mailbox("a@b@c").is_err());
    }

    #[test]
    fn message_ids_are_stable() {
        let a = message_id("digest", "run-1/a@example.com", "example.com");
        assert_eq!(a, message_id("digest", "run-1/a@example.com", "example.com"));
        assert_ne!(a, message_id("digest", "run-1/b@example.com", "example.com"));
        assert!(a.starts_with("<digest.") && a.ends_with("@example.com>"), "{a}");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape_html("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
