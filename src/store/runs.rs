//! Audit runs: recording one run's results in a single transaction, and the
//! run history queries.
//!
//! Recording a run is where the findings lifecycle happens: new findings
//! become active, reported ones are refreshed, resolved ones that reappear
//! become active again, and findings not reported for an account that was
//! collected successfully are resolved. An account that failed, or was not
//! part of the run, tells nothing about its findings, so they are left alone.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::findings::{self as stored, Change};
use super::outbox::{self, NewMessage};
use super::suppressions;
use super::{Ctx, Store, StoreError, time_text};
use crate::findings::{Finding, Severity, Status};

/// How a run went, from its accounts' outcomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// Every account was collected.
    Ok,
    /// Some accounts failed, some were collected.
    Partial,
    /// No account was collected.
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
        }
    }

    /// No account collected is a failed run, even when none was attempted:
    /// such a run says nothing about any finding.
    pub fn of(accounts: &[RunAccount]) -> RunStatus {
        let failed = accounts.iter().filter(|a| !a.is_ok()).count();
        if accounts.is_empty() || failed == accounts.len() {
            RunStatus::Failed
        } else if failed > 0 {
            RunStatus::Partial
        } else {
            RunStatus::Ok
        }
    }

    fn parse(text: &str) -> Option<RunStatus> {
        [RunStatus::Ok, RunStatus::Partial, RunStatus::Failed].into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One account's outcome in a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAccount {
    pub account: String,
    /// Why collecting it failed; `None` when it was collected.
    pub error: Option<String>,
}

impl RunAccount {
    pub fn ok(account: impl Into<String>) -> RunAccount {
        RunAccount { account: account.into(), error: None }
    }

    pub fn failed(account: impl Into<String>, error: impl Into<String>) -> RunAccount {
        RunAccount { account: account.into(), error: Some(error.into()) }
    }

    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

/// A run to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRecord {
    /// `None`: the store names it after `started`.
    pub id: Option<String>,
    /// When collection began: new findings are first seen, reported ones last seen, at this time.
    pub started: DateTime<Utc>,
    /// When the run's results were known: status changes and suppression expiry are dated by it.
    pub finished: DateTime<Utc>,
    /// `aws` or `snapshot:DIR`.
    pub source: String,
    /// Every account the run attempted.
    pub accounts: Vec<RunAccount>,
}

impl RunRecord {
    pub fn status(&self) -> RunStatus {
        RunStatus::of(&self.accounts)
    }
}

/// Counts per severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeverityCounts {
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
}

impl SeverityCounts {
    pub fn get(&self, severity: Severity) -> usize {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }

    fn slot(&mut self, severity: Severity) -> &mut usize {
        match severity {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Info => &mut self.info,
        }
    }

    pub fn total(&self) -> usize {
        Severity::ALL.iter().map(|s| self.get(*s)).sum()
    }
}

/// A run's headline numbers, as stored with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Distinct findings the run reported.
    pub reported: usize,
    pub new: usize,
    pub resolved: usize,
    pub reappeared: usize,
    /// Every active finding after the run, any account, by severity.
    pub active: SeverityCounts,
}

/// A recorded run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSummary {
    pub id: String,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub status: RunStatus,
    pub source: String,
    /// Ordered by account id.
    pub accounts: Vec<RunAccount>,
    pub counts: RunCounts,
}

/// What recording a run changed. Each list holds findings as stored after
/// the run, worst first; together they are the diff a digest reports.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    pub run: RunSummary,
    /// First seen in this run. Check `status`: a new finding may arrive
    /// archived (by its rule or an existing suppression) and is then not news.
    pub new: Vec<Finding>,
    /// Resolved before, reported again (and active or archived now).
    pub reappeared: Vec<Finding>,
    /// Active or archived before, not reported now for a collected account.
    pub resolved: Vec<Finding>,
    /// Active before, archived now (a suppression or its rule archived it).
    pub archived: Vec<Finding>,
    /// Archived before, active now (its suppression expired or was removed).
    pub reactivated: Vec<Finding>,
    /// Outbox messages queued (duplicates by dedupe key are not counted).
    pub messages_queued: usize,
}

/// What the store knows of an account across runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountState {
    pub account: String,
    /// Start of the first run that attempted it.
    pub first_seen: DateTime<Utc>,
    pub last_run_id: String,
    /// The error of the last run that attempted it, `None` if that run collected it.
    pub last_error: Option<String>,
    /// Start of the last run that collected it.
    pub last_ok: Option<DateTime<Utc>>,
}

/// The status each touched finding had before the run, in the order touched.
#[derive(Default)]
struct Before {
    order: Vec<String>,
    status: HashMap<String, Option<Status>>,
}

impl Before {
    fn note(&mut self, id: &str, status: Option<Status>) {
        if !self.status.contains_key(id) {
            self.status.insert(id.to_owned(), status);
            self.order.push(id.to_owned());
        }
    }
}

impl Store {
    /// Records a run, its findings and the messages it queues, all in one
    /// transaction. `findings` are the run's complete report; their `status`
    /// is only read for `Archived`, which means the rule itself archived the
    /// finding (a trusted vendor, say) and the store keeps it archived.
    pub fn record_run(
        &mut self,
        run: &RunRecord,
        findings: Vec<Finding>,
        outbox: Vec<NewMessage>,
    ) -> Result<RunResult, StoreError> {
        let ctx = Ctx { path: &self.path };
        // IMMEDIATE: take the write lock now. A deferred transaction that
        // reads first and writes later can fail to upgrade under WAL without
        // the busy timeout being any help.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(ctx.sql("begin run transaction"))?;
        let result = record(&tx, ctx, run, findings, &outbox)?;
        tx.commit().map_err(ctx.sql("commit run"))?;
        Ok(result)
    }

    /// The most recent runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunSummary>, StoreError> {
        let ctx = self.ctx();
        let ids: Vec<String> = self
            .conn
            .prepare_cached("SELECT id FROM runs ORDER BY started DESC, rowid DESC LIMIT ?1")
            .and_then(|mut stmt| {
                stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |row| row.get(0))?.collect()
            })
            .map_err(ctx.sql("list runs"))?;
        ids.iter()
            .map(|id| load_run(&self.conn, ctx, id)?.ok_or_else(|| ctx.corrupt(format!("run {id} vanished"))))
            .collect()
    }

    /// The most recent run, if any.
    pub fn last_run(&self) -> Result<Option<RunSummary>, StoreError> {
        Ok(self.runs(1)?.into_iter().next())
    }

    /// One run by id.
    pub fn run(&self, id: &str) -> Result<Option<RunSummary>, StoreError> {
        load_run(&self.conn, self.ctx(), id)
    }

    /// Every account any run attempted, by account id.
    pub fn accounts(&self) -> Result<Vec<AccountState>, StoreError> {
        let ctx = self.ctx();
        type Row = (String, String, String, Option<String>, Option<String>);
        let rows: Vec<Row> = self
            .conn
            .prepare_cached(
                "SELECT account, first_seen, last_run_id, last_error, last_ok FROM accounts ORDER BY account",
            )
            .and_then(|mut stmt| {
                stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))?
                    .collect()
            })
            .map_err(ctx.sql("list accounts"))?;
        rows.into_iter()
            .map(|(account, first_seen, last_run_id, last_error, last_ok)| {
                Ok(AccountState {
                    account,
                    first_seen: ctx.time("accounts.first_seen", &first_seen)?,
                    last_run_id,
                    last_error,
                    last_ok: ctx.opt_time("accounts.last_ok", last_ok.as_deref())?,
                })
            })
            .collect()
    }
}

pub(super) fn record(
    conn: &Connection,
    ctx: Ctx<'_>,
    run: &RunRecord,
    findings: Vec<Finding>,
    outbox: &[NewMessage],
) -> Result<RunResult, StoreError> {
    // A failure anywhere in the run's report for an account wins over a
    // success, so a listed-twice account is never treated as collected by mistake.
    let mut accounts: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for outcome in &run.accounts {
        let entry = accounts.entry(outcome.account.as_str()).or_insert(None);
        if let Some(error) = &outcome.error {
            entry.get_or_insert(error.as_str());
        }
    }
    let accounts: Vec<RunAccount> = accounts
        .into_iter()
        .map(|(account, error)| RunAccount { account: account.to_owned(), error: error.map(str::to_owned) })
        .collect();
    let status = RunStatus::of(&accounts);
    let findings = distinct(findings)?;

    let run_id = insert_run(conn, ctx, run, status)?;
    for outcome in &accounts {
        insert_account_outcome(conn, ctx, &run_id, run.started, outcome)?;
    }

    let mut before = Before::default();
    let reported: HashSet<String> = findings.iter().map(|f| f.id.clone()).collect();
    for finding in findings {
        upsert_finding(conn, ctx, &run_id, run, finding, &mut before)?;
    }
    for outcome in accounts.iter().filter(|a| a.is_ok()) {
        resolve_unreported(conn, ctx, &run_id, run.finished, &outcome.account, &reported, &mut before)?;
    }
    for change in suppressions::reconcile(conn, ctx, run.finished, Some(&run_id))? {
        before.note(&change.id, Some(change.from));
    }

    let mut messages_queued = 0;
    for message in outbox {
        if outbox::queue(conn, ctx, message, Some(&run_id))?.is_some() {
            messages_queued += 1;
        }
    }

    let mut result = RunResult {
        run: RunSummary {
            id: run_id.clone(),
            started: run.started,
            finished: run.finished,
            status,
            source: run.source.clone(),
            accounts,
            counts: RunCounts { reported: reported.len(), ..RunCounts::default() },
        },
        new: Vec::new(),
        reappeared: Vec::new(),
        resolved: Vec::new(),
        archived: Vec::new(),
        reactivated: Vec::new(),
        messages_queued,
    };
    for id in &before.order {
        let Some(after) = stored::current_status(conn, ctx, id)? else {
            return Err(ctx.corrupt(format!("finding {id} vanished while the run was recorded")));
        };
        let list = match (before.status.get(id).copied().flatten(), after) {
            (None, _) => &mut result.new,
            (Some(Status::Resolved), Status::Active | Status::Archived) => &mut result.reappeared,
            (Some(Status::Active | Status::Archived), Status::Resolved) => &mut result.resolved,
            (Some(Status::Active), Status::Archived) => &mut result.archived,
            (Some(Status::Archived), Status::Active) => &mut result.reactivated,
            _ => continue,
        };
        list.push(stored::load(conn, ctx, id)?.ok_or_else(|| ctx.corrupt(format!("finding {id} vanished")))?);
    }
    for list in
        [&mut result.new, &mut result.reappeared, &mut result.resolved, &mut result.archived, &mut result.reactivated]
    {
        stored::sort_worst_first(list);
    }
    let counts = &mut result.run.counts;
    counts.new = result.new.len();
    counts.resolved = result.resolved.len();
    counts.reappeared = result.reappeared.len();
    counts.active = active_counts(conn, ctx)?;
    update_run_counts(conn, ctx, &run_id, counts)?;
    Ok(result)
}

/// The run's findings with one per id. Rules give each problem its own id,
/// so a repeat is a rule bug; it is dropped with a warning rather than
/// failing the whole run.
fn distinct(findings: Vec<Finding>) -> Result<Vec<Finding>, StoreError> {
    let mut seen = HashSet::new();
    let mut kept = Vec::with_capacity(findings.len());
    for finding in findings {
        for (field, value) in [("id", &finding.id), ("rule", &finding.rule), ("account", &finding.account)] {
            if value.trim().is_empty() {
                return Err(StoreError::InvalidFinding(format!(
                    "finding {:?} of rule {:?} has an empty {field}",
                    finding.id, finding.rule
                )));
            }
        }
        if seen.insert(finding.id.clone()) {
            kept.push(finding);
        } else {
            tracing::warn!(finding = %finding.id, rule = %finding.rule, "finding reported twice in one run; keeping the first");
        }
    }
    Ok(kept)
}

/// Inserts the run row and returns its id. Counts are filled in at the end.
fn insert_run(conn: &Connection, ctx: Ctx<'_>, run: &RunRecord, status: RunStatus) -> Result<String, StoreError> {
    let exists = |id: &str| -> Result<bool, StoreError> {
        conn.query_row("SELECT 1 FROM runs WHERE id = ?1", [id], |_| Ok(()))
            .optional()
            .map(|found| found.is_some())
            .map_err(ctx.sql("look up run id"))
    };
    let id = match &run.id {
        Some(id) if exists(id)? => return Err(StoreError::DuplicateRun(id.clone())),
        Some(id) => id.clone(),
        None => {
            // Sortable and readable (`20250301T100000Z`); a suffix only when
            // two runs start within the same second.
            let base = run.started.format("%Y%m%dT%H%M%SZ").to_string();
            let mut id = base.clone();
            let mut n = 1;
            while exists(&id)? {
                n += 1;
                id = format!("{base}-{n}");
            }
            id
        }
    };
    conn.execute(
        "INSERT INTO runs (id, started, finished, status, source) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, time_text(run.started), time_text(run.finished), status.as_str(), run.source],
    )
    .map_err(ctx.sql("insert run"))?;
    Ok(id)
}

fn insert_account_outcome(
    conn: &Connection,
    ctx: Ctx<'_>,
    run_id: &str,
    started: DateTime<Utc>,
    outcome: &RunAccount,
) -> Result<(), StoreError> {
    let status = if outcome.is_ok() { "ok" } else { "failed" };
    conn.prepare_cached("INSERT INTO run_accounts (run_id, account, status, error) VALUES (?1, ?2, ?3, ?4)")
        .and_then(|mut stmt| stmt.execute(params![run_id, outcome.account, status, outcome.error]))
        .map_err(ctx.sql("insert run account outcome"))?;
    conn.prepare_cached(
        "INSERT INTO accounts (account, first_seen, last_run_id, last_status, last_error, last_ok)
         VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?4 = 'ok' THEN ?2 END)
         ON CONFLICT (account) DO UPDATE SET
             last_run_id = excluded.last_run_id,
             last_status = excluded.last_status,
             last_error = excluded.last_error,
             last_ok = coalesce(excluded.last_ok, accounts.last_ok)",
    )
    .and_then(|mut stmt| stmt.execute(params![outcome.account, time_text(started), run_id, status, outcome.error]))
    .map_err(ctx.sql("update account"))?;
    Ok(())
}

/// Stores one reported finding: new ones become active, resolved ones
/// reappear, the others are refreshed. Archiving is left to the suppression
/// reconciliation that follows, which has the whole picture.
fn upsert_finding(
    conn: &Connection,
    ctx: Ctx<'_>,
    run_id: &str,
    run: &RunRecord,
    mut finding: Finding,
    before: &mut Before,
) -> Result<(), StoreError> {
    let archived_by_rule = finding.status == Status::Archived;
    let existing: Option<(String, String)> = conn
        .prepare_cached("SELECT status, first_seen FROM findings WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([&finding.id], |row| Ok((row.get(0)?, row.get(1)?))).optional())
        .map_err(ctx.sql("read finding"))?;
    let existing = match existing {
        Some((status, first_seen)) => Some((ctx.status(&status)?, ctx.time("first_seen", &first_seen)?)),
        None => None,
    };
    before.note(&finding.id, existing.map(|(status, _)| status));

    let (status, first_seen, history) = match existing {
        None => (Status::Active, run.started, Some((None, "new"))),
        Some((Status::Resolved, first_seen)) => {
            (Status::Active, first_seen, Some((Some(Status::Resolved), "reappeared")))
        }
        Some((status, first_seen)) => (status, first_seen, None),
    };
    finding.status = status;
    finding.first_seen = first_seen;
    finding.last_seen = run.started;
    let payload = serde_json::to_string(&finding).map_err(ctx.payload(&finding.id))?;
    conn.prepare_cached(
        "INSERT INTO findings (id, rule, severity, status, account, resource, first_seen, last_seen,
                               archived_by_rule, suppression_id, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, ?10)
         ON CONFLICT (id) DO UPDATE SET
             rule = excluded.rule,
             severity = excluded.severity,
             status = excluded.status,
             account = excluded.account,
             resource = excluded.resource,
             last_seen = excluded.last_seen,
             archived_by_rule = excluded.archived_by_rule,
             -- A reappearing finding starts over; reconciliation decides afresh.
             suppression_id = CASE WHEN findings.status = 'resolved' THEN NULL ELSE findings.suppression_id END,
             payload = excluded.payload",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            finding.id,
            finding.rule,
            finding.severity.as_str(),
            status.as_str(),
            finding.account,
            finding.resource,
            time_text(first_seen),
            time_text(run.started),
            archived_by_rule,
            payload,
        ])
    })
    .map_err(ctx.sql("store finding"))?;
    if let Some((from, reason)) = history {
        stored::record_history(
            conn,
            ctx,
            &Change {
                finding_id: &finding.id,
                run_id: Some(run_id),
                at: run.finished,
                from,
                to: Status::Active,
                reason,
            },
        )?;
    }
    Ok(())
}

/// Resolves the findings of a successfully collected account that the run did not report.
fn resolve_unreported(
    conn: &Connection,
    ctx: Ctx<'_>,
    run_id: &str,
    at: DateTime<Utc>,
    account: &str,
    reported: &HashSet<String>,
    before: &mut Before,
) -> Result<(), StoreError> {
    let open: Vec<(String, String)> = conn
        .prepare_cached("SELECT id, status FROM findings WHERE account = ?1 AND status IN ('active', 'archived')")
        .and_then(|mut stmt| stmt.query_map([account], |row| Ok((row.get(0)?, row.get(1)?)))?.collect())
        .map_err(ctx.sql("read account findings"))?;
    for (id, status) in open.into_iter().filter(|(id, _)| !reported.contains(id)) {
        let status = ctx.status(&status)?;
        before.note(&id, Some(status));
        conn.prepare_cached("UPDATE findings SET status = 'resolved', suppression_id = NULL WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute([&id]))
            .map_err(ctx.sql("resolve finding"))?;
        stored::record_history(
            conn,
            ctx,
            &Change {
                finding_id: &id,
                run_id: Some(run_id),
                at,
                from: Some(status),
                to: Status::Resolved,
                reason: "resolved",
            },
        )?;
    }
    Ok(())
}

fn active_counts(conn: &Connection, ctx: Ctx<'_>) -> Result<SeverityCounts, StoreError> {
    let rows: Vec<(String, i64)> = conn
        .prepare_cached("SELECT severity, count(*) FROM findings WHERE status = 'active' GROUP BY severity")
        .and_then(|mut stmt| stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect())
        .map_err(ctx.sql("count active findings"))?;
    let mut counts = SeverityCounts::default();
    for (severity, count) in rows {
        *counts.slot(ctx.severity(&severity)?) = usize::try_from(count).unwrap_or(0);
    }
    Ok(counts)
}

fn update_run_counts(conn: &Connection, ctx: Ctx<'_>, run_id: &str, counts: &RunCounts) -> Result<(), StoreError> {
    let n = |count: usize| i64::try_from(count).unwrap_or(i64::MAX);
    conn.execute(
        "UPDATE runs SET findings_reported = ?2, findings_new = ?3, findings_resolved = ?4, findings_reappeared = ?5,
             active_critical = ?6, active_high = ?7, active_medium = ?8, active_low = ?9, active_info = ?10
         WHERE id = ?1",
        params![
            run_id,
            n(counts.reported),
            n(counts.new),
            n(counts.resolved),
            n(counts.reappeared),
            n(counts.active.critical),
            n(counts.active.high),
            n(counts.active.medium),
            n(counts.active.low),
            n(counts.active.info),
        ],
    )
    .map_err(ctx.sql("update run counts"))?;
    Ok(())
}

fn load_run(conn: &Connection, ctx: Ctx<'_>, id: &str) -> Result<Option<RunSummary>, StoreError> {
    type Row = (String, String, String, String, String, [i64; 9]);
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT id, started, finished, status, source, findings_reported, findings_new, findings_resolved,
                    findings_reappeared, active_critical, active_high, active_medium, active_low, active_info
             FROM runs WHERE id = ?1",
        )
        .and_then(|mut stmt| {
            stmt.query_row([id], |row| {
                let mut counts = [0i64; 9];
                for (index, count) in counts.iter_mut().enumerate() {
                    *count = row.get(5 + index)?;
                }
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, counts))
            })
            .optional()
        })
        .map_err(ctx.sql("read run"))?;
    let Some((id, started, finished, status, source, counts)) = row else {
        return Ok(None);
    };
    let accounts: Vec<RunAccount> = conn
        .prepare_cached("SELECT account, error FROM run_accounts WHERE run_id = ?1 ORDER BY account")
        .and_then(|mut stmt| {
            stmt.query_map([&id], |row| Ok(RunAccount { account: row.get(0)?, error: row.get(1)? }))?.collect()
        })
        .map_err(ctx.sql("read run accounts"))?;
    let n = |count: i64| usize::try_from(count).unwrap_or(0);
    Ok(Some(RunSummary {
        started: ctx.time("runs.started", &started)?,
        finished: ctx.time("runs.finished", &finished)?,
        status: RunStatus::parse(&status).ok_or_else(|| ctx.corrupt(format!("run {id} has status {status:?}")))?,
        source,
        accounts,
        counts: RunCounts {
            reported: n(counts[0]),
            new: n(counts[1]),
            resolved: n(counts[2]),
            reappeared: n(counts[3]),
            active: SeverityCounts {
                critical: n(counts[4]),
                high: n(counts[5]),
                medium: n(counts[6]),
                low: n(counts[7]),
                info: n(counts[8]),
            },
        },
        id,
    }))
}
