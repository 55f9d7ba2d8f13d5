//! Stored findings: the payload and its lifecycle columns, their history, and
//! the queries `findings list` and `findings show` answer from.
//!
//! The payload is the finding as the rules reported it; `status`,
//! `first_seen` and `last_seen` belong to the store, so reads always take
//! them from their columns, never from the payload.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::suppressions::{self, Suppression};
use super::{Ctx, Store, StoreError, time_text};
use crate::findings::{Finding, Severity, Status};

/// Which findings `findings` returns; `None` fields do not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FindingFilter {
    pub status: Option<Status>,
    /// Exactly this severity.
    pub severity: Option<Severity>,
    /// This severity or worse.
    pub min_severity: Option<Severity>,
    pub account: Option<String>,
    pub rule: Option<String>,
}

/// One change in a finding's status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    /// The run that made the change; `None` for a suppression added or removed by hand.
    pub run_id: Option<String>,
    /// `None` when the finding was first stored.
    pub from: Option<Status>,
    pub to: Status,
    /// `new`, `resolved`, `reappeared`, `suppressed: <reason> by <author>`, ...
    pub reason: String,
}

/// A finding with everything `findings show` prints.
#[derive(Clone, Debug, PartialEq)]
pub struct FindingDetail {
    pub finding: Finding,
    /// Oldest first.
    pub history: Vec<HistoryEntry>,
    /// The suppression that keeps it archived, if that is why it is archived.
    pub suppression: Option<Suppression>,
}

/// Columns [`RawFinding`] reads, in its order.
const FINDING_COLUMNS: &str = "id, status, first_seen, last_seen, payload";

/// Worst first, then stable by rule and resource, so lists read the same every time.
const FINDING_ORDER: &str = "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 \
     WHEN 'low' THEN 3 ELSE 4 END, rule, resource, id";

/// A findings row as SQLite hands it over, before it is checked.
struct RawFinding {
    id: String,
    status: String,
    first_seen: String,
    last_seen: String,
    payload: String,
}

impl RawFinding {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawFinding> {
        Ok(RawFinding {
            id: row.get(0)?,
            status: row.get(1)?,
            first_seen: row.get(2)?,
            last_seen: row.get(3)?,
            payload: row.get(4)?,
        })
    }

    fn into_finding(self, ctx: Ctx<'_>) -> Result<Finding, StoreError> {
        let mut finding: Finding = serde_json::from_str(&self.payload).map_err(ctx.payload(&self.id))?;
        if finding.id != self.id {
            return Err(ctx.corrupt(format!("finding {} has the payload of finding {}", self.id, finding.id)));
        }
        finding.status = ctx.status(&self.status)?;
        finding.first_seen = ctx.time("first_seen", &self.first_seen)?;
        finding.last_seen = ctx.time("last_seen", &self.last_seen)?;
        Ok(finding)
    }
}

/// The finding with this id, as stored now.
pub(super) fn load(conn: &Connection, ctx: Ctx<'_>, id: &str) -> Result<Option<Finding>, StoreError> {
    conn.prepare_cached(&format!("SELECT {FINDING_COLUMNS} FROM findings WHERE id = ?1"))
        .and_then(|mut stmt| stmt.query_row([id], RawFinding::from_row).optional())
        .map_err(ctx.sql("read finding"))?
        .map(|raw| raw.into_finding(ctx))
        .transpose()
}

/// Loads each of `ids` as stored now, worst first.
pub(super) fn load_all(conn: &Connection, ctx: Ctx<'_>, ids: &[String]) -> Result<Vec<Finding>, StoreError> {
    let mut findings = Vec::with_capacity(ids.len());
    for id in ids {
        match load(conn, ctx, id)? {
            Some(finding) => findings.push(finding),
            None => return Err(ctx.corrupt(format!("finding {id} vanished while it was being recorded"))),
        }
    }
    sort_worst_first(&mut findings);
    Ok(findings)
}

pub(super) fn sort_worst_first(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity.cmp(&a.severity).then_with(|| (&a.rule, &a.resource, &a.id).cmp(&(&b.rule, &b.resource, &b.id)))
    });
}

/// The stored status of a finding, `None` when it was never stored.
pub(super) fn current_status(conn: &Connection, ctx: Ctx<'_>, id: &str) -> Result<Option<Status>, StoreError> {
    let status: Option<String> = conn
        .prepare_cached("SELECT status FROM findings WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([id], |row| row.get(0)).optional())
        .map_err(ctx.sql("read finding status"))?;
    status.map(|status| ctx.status(&status)).transpose()
}

/// Appends one status change to a finding's history.
pub(super) struct Change<'a> {
    pub finding_id: &'a str,
    pub run_id: Option<&'a str>,
    pub at: DateTime<Utc>,
    pub from: Option<Status>,
    pub to: Status,
    pub reason: &'a str,
}

pub(super) fn record_history(conn: &Connection, ctx: Ctx<'_>, change: &Change<'_>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO finding_history (finding_id, run_id, at, from_status, to_status, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            change.finding_id,
            change.run_id,
            time_text(change.at),
            change.from.map(Status::as_str),
            change.to.as_str(),
            change.reason,
        ])
    })
    .map_err(ctx.sql("record finding history"))?;
    Ok(())
}

fn history(conn: &Connection, ctx: Ctx<'_>, id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
    type Row = (String, Option<String>, Option<String>, String, String);
    let rows: Vec<Row> = conn
        .prepare_cached(
            "SELECT at, run_id, from_status, to_status, reason FROM finding_history
             WHERE finding_id = ?1 ORDER BY id",
        )
        .and_then(|mut stmt| {
            stmt.query_map([id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))?.collect()
        })
        .map_err(ctx.sql("read finding history"))?;
    rows.into_iter()
        .map(|(at, run_id, from, to, reason)| {
            Ok(HistoryEntry {
                at: ctx.time("finding_history.at", &at)?,
                run_id,
                from: from.as_deref().map(|from| ctx.status(from)).transpose()?,
                to: ctx.status(&to)?,
                reason,
            })
        })
        .collect()
}

impl Store {
    /// Stored findings matching `filter`, worst first.
    pub fn findings(&self, filter: &FindingFilter) -> Result<Vec<Finding>, StoreError> {
        let mut equal: Vec<(&str, String)> = Vec::new();
        if let Some(status) = filter.status {
            equal.push(("status", status.as_str().to_owned()));
        }
        if let Some(severity) = filter.severity {
            equal.push(("severity", severity.as_str().to_owned()));
        }
        if let Some(account) = &filter.account {
            equal.push(("account", account.clone()));
        }
        if let Some(rule) = &filter.rule {
            equal.push(("rule", rule.clone()));
        }
        let mut clauses: Vec<String> =
            equal.iter().enumerate().map(|(index, (column, _))| format!("{column} = ?{}", index + 1)).collect();
        let values: Vec<String> = equal.into_iter().map(|(_, value)| value).collect();
        if let Some(min) = filter.min_severity {
            // Severities are few and fixed: spell the accepted ones out rather
            // than keep a numeric rank column in step with the enum.
            let accepted: Vec<String> =
                Severity::ALL.iter().filter(|s| **s >= min).map(|s| format!("'{}'", s.as_str())).collect();
            clauses.push(format!("severity IN ({})", accepted.join(", ")));
        }
        let filter_sql = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
        let sql = format!("SELECT {FINDING_COLUMNS} FROM findings {filter_sql} ORDER BY {FINDING_ORDER}");
        let ctx = self.ctx();
        let raws: Vec<RawFinding> = self
            .conn
            .prepare(&sql)
            .and_then(|mut stmt| stmt.query_map(params_from_iter(values.iter()), RawFinding::from_row)?.collect())
            .map_err(ctx.sql("list findings"))?;
        raws.into_iter().map(|raw| raw.into_finding(ctx)).collect()
    }

    /// One finding with its history and, when archived by one, its suppression.
    pub fn finding(&self, id: &str) -> Result<Option<FindingDetail>, StoreError> {
        let ctx = self.ctx();
        let Some(finding) = load(&self.conn, ctx, id)? else {
            return Ok(None);
        };
        let suppression_id: Option<i64> = self
            .conn
            .query_row("SELECT suppression_id FROM findings WHERE id = ?1", [id], |row| row.get(0))
            .map_err(ctx.sql("read finding suppression"))?;
        let suppression = match suppression_id {
            Some(suppression_id) => suppressions::load(&self.conn, ctx, suppression_id)?,
            None => None,
        };
        Ok(Some(FindingDetail { history: history(&self.conn, ctx, id)?, finding, suppression }))
    }
}
