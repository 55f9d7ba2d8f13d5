//! Key-rotation reminders: who owns a key (its owner tag, the owners file,
//! or the fallback recipient), which reminder is due on a given day, and the
//! message. Each key gets each reminder once: the dedupe key names the key,
//! the rotation it belongs to, and the threshold.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use super::{NotifyError, check_mailbox, escape_html, message_id};
use crate::config::RemindersConfig;
use crate::rules::credentials::KeyDeadline;
use crate::store::NewMessage;

/// Which reminder a key is due on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReminderStage {
    /// The deadline is at most this many days away.
    Before(u32),
    /// The deadline has passed.
    Overdue,
}

impl fmt::Display for ReminderStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReminderStage::Before(days) => write!(f, "{days}d"),
            ReminderStage::Overdue => f.write_str("overdue"),
        }
    }
}

/// The reminder due on `today` for a key due on `due`: the tightest
/// threshold reached, so a key first seen 5 days before its deadline gets
/// the 7-day reminder and never the 14-day one. `None` when no threshold is
/// reached yet (or the key is overdue and overdue reminders are off).
pub fn reminder_stage(due: NaiveDate, today: NaiveDate, days_before: &[u32], overdue: bool) -> Option<ReminderStage> {
    let left = (due - today).num_days();
    if left < 0 {
        return overdue.then_some(ReminderStage::Overdue);
    }
    days_before.iter().copied().filter(|days| left <= i64::from(*days)).min().map(ReminderStage::Before)
}

/// Where reminders go for users whose owner tag is not an address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owners {
    /// User ARN, user name or owner-tag value → email address.
    map: BTreeMap<String, String>,
}

impl Owners {
    /// Reads an owners file: a TOML table of strings,
    /// `"arn:aws:iam::111111111111:user/alice" = "alice@example.com"`.
    pub fn load(path: &Path) -> Result<Owners, NotifyError> {
        let error = |message: String| NotifyError::Owners { path: path.to_owned(), message };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        Owners::parse(&text).map_err(error)
    }

    pub fn parse(text: &str) -> Result<Owners, String> {
        let map: BTreeMap<String, String> = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())?;
        for (who, address) in &map {
            check_mailbox(address).map_err(|e| format!("{who}: {e}"))?;
        }
        Ok(Owners { map })
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }
}

/// The reminder settings with the owners file read.
#[derive(Debug)]
pub(super) struct ReminderPlan {
    days_before: Vec<u32>,
    overdue: bool,
    owners: Owners,
    fallback: Option<String>,
    owner_tag: String,
}

impl ReminderPlan {
    pub(super) fn from_config(config: &RemindersConfig, owner_tag: &str) -> Result<ReminderPlan, NotifyError> {
        let owners = match &config.owners_file {
            Some(path) => Owners::load(path)?,
            None => Owners::default(),
        };
        Ok(ReminderPlan {
            days_before: config.days_before.clone(),
            overdue: config.overdue,
            owners,
            fallback: config.fallback_recipient.clone(),
            owner_tag: owner_tag.to_owned(),
        })
    }

    /// The owner tag when it is an address, else the owners file by tag
    /// value, user ARN or user name, else the fallback.
    fn recipient(&self, key: &KeyDeadline) -> Option<String> {
        let tagged = key.owner.as_deref().map(str::trim).filter(|o| !o.is_empty());
        if let Some(owner) = tagged.filter(|o| check_mailbox(o).is_ok()) {
            return Some(owner.to_owned());
        }
        tagged
            .and_then(|owner| self.owners.get(owner))
            .or_else(|| self.owners.get(&key.user_arn))
            .or_else(|| self.owners.get(&key.user))
            .or(self.fallback.as_deref())
            .map(str::to_owned)
    }

    pub(super) fn messages(
        &self,
        domain: &str,
        deadlines: &[KeyDeadline],
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Vec<NewMessage> {
        let mut messages = Vec::new();
        for key in deadlines {
            let Some(stage) = reminder_stage(key.due, today, &self.days_before, self.overdue) else {
                continue;
            };
            let Some(recipient) = self.recipient(key) else {
                tracing::warn!(
                    user = %key.user_arn,
                    key = key.key.as_str(),
                    "no owner for a key due for a rotation reminder: no {} tag, no owners-file entry, no fallback_recipient",
                    self.owner_tag
                );
                continue;
            };
            let dedupe_key = format!(
                "reminder:{}:{}:{}:{stage}",
                key.user_arn,
                key.key.as_str(),
                key.last_rotated.to_rfc3339_opts(SecondsFormat::Secs, true)
            );
            let (subject, body_text, body_html) = reminder_text(key, stage, today);
            messages.push(NewMessage {
                message_id: message_id("reminder", &dedupe_key, domain),
                kind: "reminder".into(),
                recipient,
                subject,
                body_text,
                body_html: Some(body_html),
                created: now,
                dedupe_key: Some(dedupe_key),
            });
        }
        messages
    }
}

fn reminder_text(key: &KeyDeadline, stage: ReminderStage, today: NaiveDate) -> (String, String, String) {
    let slot = if key.key.as_str().ends_with('2') { 2 } else { 1 };
    let what = format!("Access key {slot} of IAM user {} in account {}", key.user, key.account);
    let left = (key.due - today).num_days();
    let when = match stage {
        ReminderStage::Overdue => format!("was due for rotation on {} and is {} overdue", key.due, plural(-left)),
        ReminderStage::Before(_) if left == 0 => format!("must be rotated today, {}", key.due),
        ReminderStage::Before(_) => format!("must be rotated by {}, in {}", key.due, plural(left)),
    };
    let subject = match stage {
        ReminderStage::Overdue => {
            format!("[trustwarden] overdue: rotate access key {slot} of {} ({})", key.user, key.account)
        }
        ReminderStage::Before(_) => {
            format!("[trustwarden] rotate access key {slot} of {} ({}) by {}", key.user, key.account, key.due)
        }
    };
    let steps = [
        format!("aws iam create-access-key --user-name {}", key.user),
        "move every client to the new key".to_owned(),
        format!("aws iam update-access-key --user-name {} --access-key-id OLD_KEY_ID --status Inactive", key.user),
        format!("aws iam delete-access-key --user-name {} --access-key-id OLD_KEY_ID", key.user),
    ];
    let text = format!(
        "{what} {when}.\n\nUser: {}\nLast rotated: {}\nDeadline: {}\n\nTo rotate it:\n{}\n\nYou get this because you own the user; \
         trustwarden sends each reminder once.\n",
        key.user_arn,
        key.last_rotated.to_rfc3339_opts(SecondsFormat::Secs, true),
        key.due,
        steps.iter().enumerate().map(|(n, step)| format!("  {}. {step}", n + 1)).collect::<Vec<_>>().join("\n"),
    );
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Access key rotation</title></head>\
         <body style=\"font-family: sans-serif\">\n<p><b>{}</b> {}.</p>\n<table>\
         <tr><th align=\"left\">User</th><td><code>{}</code></td></tr>\
         <tr><th align=\"left\">Last rotated</th><td>{}</td></tr>\
         <tr><th align=\"left\">Deadline</th><td>{}</td></tr></table>\n<p>To rotate it:</p>\n<ol>{}</ol>\n\
         <p>You get this because you own the user; trustwarden sends each reminder once.</p>\n</body></html>\n",
        escape_html(&what),
        escape_html(&when),
        escape_html(&key.user_arn),
        key.last_rotated.to_rfc3339_opts(SecondsFormat::Secs, true),
        key.due,
        steps.iter().map(|step| format!("<li><code>{}</code></li>", escape_html(step))).collect::<String>(),
    );
    (subject, text, html)
}

fn plural(days: i64) -> String {
    if days == 1 { "1 day".to_owned() } else { format!("{days} days") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Credential;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_tightest_threshold_reached_is_due() {
        let due = day("2026-12-31");
        let stage = |today: &str| reminder_stage(due, day(today), &[14, 7, 1], true);
        assert_eq!(stage("2026-12-01"), None);
        assert_eq!(stage("2026-12-16"), None);
        assert_eq!(stage("2026-12-17"), Some(ReminderStage::Before(14)));
        assert_eq!(stage("2026-12-24"), Some(ReminderStage::Before(7)));
        assert_eq!(stage("2026-12-26"), Some(ReminderStage::Before(7)));
        assert_eq!(stage("2026-12-30"), Some(ReminderStage::Before(1)));
        assert_eq!(stage("2026-12-31"), Some(ReminderStage::Before(1)));
        assert_eq!(stage("2027-01-01"), Some(ReminderStage::Overdue));
        assert_eq!(reminder_stage(due, day("2027-01-01"), &[14], false), None);
    }

    fn key(owner: Option<&str>) -> KeyDeadline {
        KeyDeadline {
            account: "111111111111".into(),
            user: "alice".into(),
            user_arn: "arn:aws:iam::111111111111:user/alice".into(),
            key: Credential::AccessKey1,
            last_rotated: "2026-10-02T07:55:13Z".parse().unwrap(),
            due: day("2026-12-31"),
            owner: owner.map(str::to_owned),
        }
    }

    fn plan(owners: &str, fallback: Option<&str>) -> ReminderPlan {
        ReminderPlan {
            days_before: vec![14, 7, 1],
            overdue: true,
            owners: Owners::parse(owners).unwrap(),
            fallback: fallback.map(str::to_owned),
            owner_tag: "owner".into(),
        }
    }

    #[test]
    fn owners_come_from_the_tag_the_file_or_the_fallback() {
        let owners = "team-payments = \"payments@example.com\"\n\"arn:aws:iam::111111111111:user/alice\" = \"alice@example.com\"\n";
        let plan = plan(owners, Some("iam@example.com"));
        assert_eq!(plan.recipient(&key(Some("a.owner@example.com"))).as_deref(), Some("a.owner@example.com"));
        assert_eq!(plan.recipient(&key(Some("team-payments"))).as_deref(), Some("payments@example.com"));
        assert_eq!(plan.recipient(&key(Some("someone"))).as_deref(), Some("alice@example.com"));
        assert_eq!(plan.recipient(&key(None)).as_deref(), Some("alice@example.com"));
        let plan = self::plan("", Some("iam@example.com"));
        assert_eq!(plan.recipient(&key(None)).as_deref(), Some("iam@example.com"));
        assert_eq!(self::plan("", None).recipient(&key(None)), None);
        assert!(Owners::parse("bob = \"not an address\"").unwrap_err().contains("bob"));
    }

    #[test]
    fn one_message_per_key_and_stage_with_a_stable_key() {
        let plan = plan("", None);
        let now = "2026-12-20T06:00:00Z".parse().unwrap();
        let first = plan.messages("example.com", &[key(Some("alice@example.com"))], day("2026-12-20"), now);
        assert_eq!(first.len(), 1);
        let message = &first[0];
        assert_eq!(
            message.dedupe_key.as_deref(),
            Some("reminder:arn:aws:iam::111111111111:user/alice:access_key_1:2026-10-02T07:55:13Z:14d")
        );
        assert!(message.body_text.contains("must be rotated by 2026-12-31, in 11 days"), "{}", message.body_text);
        let again = plan.messages("example.com", &[key(Some("alice@example.com"))], day("2026-12-21"), now);
        assert_eq!(again[0].message_id, message.message_id);
        let overdue = plan.messages("example.com", &[key(Some("alice@example.com"))], day("2027-01-02"), now);
        assert!(overdue[0].subject.contains("overdue"), "{}", overdue[0].subject);
        assert!(overdue[0].body_text.contains("2 days overdue"), "{}", overdue[0].body_text);
    }
}
