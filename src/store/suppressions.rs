//! Suppressions: a person's decision, with a reason and an author, that a
//! finding (or a rule's findings, narrowed by resource glob and account) is
//! accepted until an expiry. Archived findings stay stored and listed; they
//! are only kept out of alerts.
//!
//! Whether a finding is archived is never set directly: [`reconcile`] works
//! it out from the rules' own verdict and the suppressions in force, and
//! records each change in the finding's history. Runs, new suppressions and
//! removed ones all go through it, so they cannot disagree.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::findings::{self, Change};
use super::{Ctx, Store, StoreError, glob, time_text};
use crate::findings::{Finding, Status};

/// What a suppression covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SuppressionScope {
    /// One finding, by its stable id.
    Finding(String),
    /// Every finding of a rule, optionally only on resources matching a glob
    /// (`*`, `?`) and only in one account.
    Rule { rule: String, resource: Option<String>, account: Option<String> },
}

impl SuppressionScope {
    fn covers(&self, finding: &FindingKey<'_>) -> bool {
        match self {
            SuppressionScope::Finding(id) => id == finding.id,
            SuppressionScope::Rule { rule, resource, account } => {
                rule == finding.rule
                    && account.as_deref().is_none_or(|account| account == finding.account)
                    && resource.as_deref().is_none_or(|glob| glob::matches(glob, finding.resource))
            }
        }
    }
}

/// A suppression to add. `created` is also the moment matching findings are archived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSuppression {
    pub scope: SuppressionScope,
    pub reason: String,
    pub author: String,
    pub created: DateTime<Utc>,
    /// `None`: until removed.
    pub expires: Option<DateTime<Utc>>,
}

/// A stored suppression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    pub id: i64,
    pub scope: SuppressionScope,
    pub reason: String,
    pub author: String,
    pub created: DateTime<Utc>,
    pub expires: Option<DateTime<Utc>>,
    pub removed: Option<DateTime<Utc>>,
    /// Findings it keeps archived right now.
    pub archived: usize,
}

impl Suppression {
    /// Neither removed nor expired at `now`.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.removed.is_none() && self.expires.is_none_or(|expires| expires > now)
    }
}

/// What adding or removing a suppression did.
#[derive(Clone, Debug, PartialEq)]
pub struct SuppressionChange {
    /// The suppression added or removed.
    pub id: i64,
    /// Findings whose status changed, as they are now, worst first.
    pub findings: Vec<Finding>,
}

/// What a suppression is matched against.
struct FindingKey<'a> {
    id: &'a str,
    rule: &'a str,
    resource: &'a str,
    account: &'a str,
}

const SUPPRESSION_COLUMNS: &str = "s.id, s.finding_id, s.rule, s.resource_glob, s.account, s.reason, s.author, \
     s.created, s.expires, s.removed, \
     (SELECT count(*) FROM findings f WHERE f.suppression_id = s.id AND f.status = 'archived')";

struct RawSuppression {
    id: i64,
    finding_id: Option<String>,
    rule: Option<String>,
    resource: Option<String>,
    account: Option<String>,
    reason: String,
    author: String,
    created: String,
    expires: Option<String>,
    removed: Option<String>,
    archived: i64,
}

impl RawSuppression {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawSuppression> {
        Ok(RawSuppression {
            id: row.get(0)?,
            finding_id: row.get(1)?,
            rule: row.get(2)?,
            resource: row.get(3)?,
            account: row.get(4)?,
            reason: row.get(5)?,
            author: row.get(6)?,
            created: row.get(7)?,
            expires: row.get(8)?,
            removed: row.get(9)?,
            archived: row.get(10)?,
        })
    }

    fn into_suppression(self, ctx: Ctx<'_>) -> Result<Suppression, StoreError> {
        let scope = match (self.finding_id, self.rule) {
            (Some(id), None) => SuppressionScope::Finding(id),
            (None, Some(rule)) => SuppressionScope::Rule { rule, resource: self.resource, account: self.account },
            _ => return Err(ctx.corrupt(format!("suppression {} has no single scope", self.id))),
        };
        Ok(Suppression {
            id: self.id,
            scope,
            reason: self.reason,
            author: self.author,
            created: ctx.time("suppressions.created", &self.created)?,
            expires: ctx.opt_time("suppressions.expires", self.expires.as_deref())?,
            removed: ctx.opt_time("suppressions.removed", self.removed.as_deref())?,
            archived: usize::try_from(self.archived).unwrap_or(0),
        })
    }
}

pub(super) fn load(conn: &Connection, ctx: Ctx<'_>, id: i64) -> Result<Option<Suppression>, StoreError> {
    conn.prepare_cached(&format!("SELECT {SUPPRESSION_COLUMNS} FROM suppressions s WHERE s.id = ?1"))
        .and_then(|mut stmt| stmt.query_row([id], RawSuppression::from_row).optional())
        .map_err(ctx.sql("read suppression"))?
        .map(|raw| raw.into_suppression(ctx))
        .transpose()
}

fn load_all(conn: &Connection, ctx: Ctx<'_>) -> Result<Vec<Suppression>, StoreError> {
    let raws: Vec<RawSuppression> = conn
        .prepare_cached(&format!("SELECT {SUPPRESSION_COLUMNS} FROM suppressions s ORDER BY s.id"))
        .and_then(|mut stmt| stmt.query_map([], RawSuppression::from_row)?.collect())
        .map_err(ctx.sql("read suppressions"))?;
    raws.into_iter().map(|raw| raw.into_suppression(ctx)).collect()
}

/// A finding whose status `reconcile` changed, and what it was before.
pub(super) struct Reconciled {
    pub id: String,
    pub from: Status,
}

/// Brings every active or archived finding in line with the rules' verdict
/// and the suppressions in force at `now`. Resolved findings are left alone:
/// they are reconciled again when they reappear.
pub(super) fn reconcile(
    conn: &Connection,
    ctx: Ctx<'_>,
    now: DateTime<Utc>,
    run_id: Option<&str>,
) -> Result<Vec<Reconciled>, StoreError> {
    let all = load_all(conn, ctx)?;
    let by_id: HashMap<i64, &Suppression> = all.iter().map(|s| (s.id, s)).collect();
    // Oldest first, so which suppression a finding is credited to does not
    // flip between runs when several match.
    let in_force: Vec<&Suppression> = all.iter().filter(|s| s.in_force(now)).collect();

    type Row = (String, String, String, String, String, bool, Option<i64>, Option<String>);
    let rows: Vec<Row> = conn
        .prepare_cached(
            "SELECT id, status, rule, resource, account, archived_by_rule, suppression_id,
                    CASE WHEN archived_by_rule THEN json_extract(payload, '$.explanation') END
             FROM findings WHERE status IN ('active', 'archived') ORDER BY id",
        )
        .and_then(|mut stmt| {
            stmt.query_map([], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                    row.get(7)?,
                ))
            })?
            .collect()
        })
        .map_err(ctx.sql("read findings to reconcile"))?;

    let mut changed = Vec::new();
    for (id, status, rule, resource, account, archived_by_rule, suppression_id, explanation) in rows {
        let status = ctx.status(&status)?;
        let key = FindingKey { id: &id, rule: &rule, resource: &resource, account: &account };
        // The rules' own verdict comes first: it needs no one's sign-off and
        // does not expire.
        let (wanted, wanted_suppression, reason) = if archived_by_rule {
            let reason = match explanation.as_deref().map(str::trim) {
                Some(explanation) if !explanation.is_empty() => format!("archived by rule: {explanation}"),
                _ => "archived by rule".to_owned(),
            };
            (Status::Archived, None, reason)
        } else if let Some(suppression) = in_force.iter().find(|s| s.scope.covers(&key)) {
            (
                Status::Archived,
                Some(suppression.id),
                format!("suppressed: {} by {}", suppression.reason, suppression.author),
            )
        } else {
            let reason = match suppression_id.and_then(|old| by_id.get(&old)) {
                Some(old) if old.removed.is_some() => "suppression removed",
                Some(old) if !old.in_force(now) => "suppression expired",
                Some(_) => "suppression no longer applies",
                None => "no longer archived by rule",
            };
            (Status::Active, None, reason.to_owned())
        };
        if wanted == status && wanted_suppression == suppression_id {
            continue;
        }
        conn.prepare_cached("UPDATE findings SET status = ?2, suppression_id = ?3 WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute(params![id, wanted.as_str(), wanted_suppression]))
            .map_err(ctx.sql("update finding status"))?;
        // A switch from one suppression to another is recorded too, though
        // the status stays archived: who accepted the risk has changed.
        findings::record_history(
            conn,
            ctx,
            &Change { finding_id: &id, run_id, at: now, from: Some(status), to: wanted, reason: &reason },
        )?;
        if wanted != status {
            changed.push(Reconciled { id, from: status });
        }
    }
    Ok(changed)
}

fn validate(new: &NewSuppression, conn: &Connection, ctx: Ctx<'_>) -> Result<(), StoreError> {
    let invalid = |what: &str| Err(StoreError::InvalidSuppression(what.to_owned()));
    if new.reason.trim().is_empty() {
        return invalid("a reason is required");
    }
    if new.author.trim().is_empty() {
        return invalid("an author is required");
    }
    if new.expires.is_some_and(|expires| expires <= new.created) {
        return invalid("it would already have expired");
    }
    match &new.scope {
        SuppressionScope::Finding(id) => {
            // A mistyped id would otherwise be accepted and silently match nothing.
            if findings::current_status(conn, ctx, id)?.is_none() {
                return Err(StoreError::UnknownFinding(id.clone()));
            }
        }
        SuppressionScope::Rule { rule, resource, account } => {
            if rule.trim().is_empty() {
                return invalid("the rule is empty");
            }
            if resource.as_deref().is_some_and(|glob| glob.trim().is_empty()) {
                return invalid("the resource pattern is empty");
            }
            if account.as_deref().is_some_and(|account| account.trim().is_empty()) {
                return invalid("the account is empty");
            }
        }
    }
    Ok(())
}

impl Store {
    /// Stores a suppression and archives the active findings it matches, in one transaction.
    pub fn add_suppression(&mut self, new: &NewSuppression) -> Result<SuppressionChange, StoreError> {
        let ctx = Ctx { path: &self.path };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(ctx.sql("begin transaction"))?;
        validate(new, &tx, ctx)?;
        let (finding_id, rule, resource, account) = match &new.scope {
            SuppressionScope::Finding(id) => (Some(id.as_str()), None, None, None),
            SuppressionScope::Rule { rule, resource, account } => {
                (None, Some(rule.as_str()), resource.as_deref(), account.as_deref())
            }
        };
        tx.execute(
            "INSERT INTO suppressions (finding_id, rule, resource_glob, account, reason, author, created, expires)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                finding_id,
                rule,
                resource,
                account,
                new.reason.trim(),
                new.author.trim(),
                time_text(new.created),
                new.expires.map(time_text),
            ],
        )
        .map_err(ctx.sql("insert suppression"))?;
        let id = tx.last_insert_rowid();
        let changed = reconcile(&tx, ctx, new.created, None)?;
        let ids: Vec<String> = changed.into_iter().map(|c| c.id).collect();
        let findings = findings::load_all(&tx, ctx, &ids)?;
        tx.commit().map_err(ctx.sql("commit suppression"))?;
        Ok(SuppressionChange { id, findings })
    }

    /// Suppressions, oldest first; expired and removed ones only when asked for.
    pub fn suppressions(&self, now: DateTime<Utc>, include_inactive: bool) -> Result<Vec<Suppression>, StoreError> {
        let mut all = load_all(&self.conn, self.ctx())?;
        if !include_inactive {
            all.retain(|s| s.in_force(now));
        }
        Ok(all)
    }

    /// One suppression, whatever its state.
    pub fn suppression(&self, id: i64) -> Result<Option<Suppression>, StoreError> {
        load(&self.conn, self.ctx(), id)
    }

    /// Marks a suppression removed at `at` (it is kept, for the record) and
    /// reactivates the findings that only it kept archived.
    pub fn remove_suppression(&mut self, id: i64, at: DateTime<Utc>) -> Result<SuppressionChange, StoreError> {
        let ctx = Ctx { path: &self.path };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(ctx.sql("begin transaction"))?;
        match load(&tx, ctx, id)? {
            None => return Err(StoreError::UnknownSuppression(id)),
            Some(suppression) if suppression.removed.is_some() => {
                return Err(StoreError::SuppressionAlreadyRemoved(id));
            }
            Some(_) => {}
        }
        tx.execute("UPDATE suppressions SET removed = ?2 WHERE id = ?1", params![id, time_text(at)])
            .map_err(ctx.sql("remove suppression"))?;
        let changed = reconcile(&tx, ctx, at, None)?;
        let ids: Vec<String> = changed.into_iter().map(|c| c.id).collect();
        let findings = findings::load_all(&tx, ctx, &ids)?;
        tx.commit().map_err(ctx.sql("commit suppression removal"))?;
        Ok(SuppressionChange { id, findings })
    }

    /// Reactivates findings whose suppression has expired by `now`, without
    /// waiting for the next run (for `findings list` between runs, say).
    /// Returns the findings whose status changed.
    pub fn apply_suppressions(&mut self, now: DateTime<Utc>) -> Result<Vec<Finding>, StoreError> {
        let ctx = Ctx { path: &self.path };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(ctx.sql("begin transaction"))?;
        let changed = reconcile(&tx, ctx, now, None)?;
        let ids: Vec<String> = changed.into_iter().map(|c| c.id).collect();
        let findings = findings::load_all(&tx, ctx, &ids)?;
        tx.commit().map_err(ctx.sql("commit suppression changes"))?;
        Ok(findings)
    }
}
