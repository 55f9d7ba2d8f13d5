//! One audit run: collect → analyse (trust graph + rules) → store → report.
//! `analyse` is pure (no I/O, no clock): the benchmarks and tests call it
//! directly; `audit` adds collection, the store and the run record.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::collect::{CollectError, Collection, Inventory, SourceSpec, collect};
use crate::config::Config;
use crate::findings::Finding;
use crate::graph::{TrustGraph, ZoneOfTrust};
use crate::notify::{Composer, NotifyError};
use crate::report::{AccountState, AccountStatus, Report, RunInfo, RunStatus};
use crate::rules::RulePack;
use crate::rules::credentials::{KeyDeadline, access_key_deadlines, credential_findings};
use crate::rules::mfa::mfa_pitfall_findings;
use crate::rules::trust::{TrustRules, trust_findings};
use crate::store::{FindingFilter, RunAccount, RunRecord, RunResult, Store, StoreError};

/// What an analysis of one inventory yields.
#[derive(Debug)]
pub struct Analysis {
    pub graph: TrustGraph,
    pub findings: Vec<Finding>,
}

/// The zone of trust the configuration asks for, over what was collected.
pub fn zone_of_trust(config: &Config, trust_rules: &TrustRules, inventory: &Inventory) -> ZoneOfTrust {
    let mut zone = ZoneOfTrust::from_inventory(inventory);
    if !config.zone.accounts.is_empty() {
        zone.accounts = config.zone.accounts.iter().cloned().collect();
    }
    zone.identity_center_is_external = trust_rules.identity_center_is_external;
    zone
}

/// Build the trust graph of an inventory as the configuration and rules ask.
pub fn trust_graph(inventory: &Inventory, config: &Config, trust_rules: &TrustRules) -> TrustGraph {
    let zone = zone_of_trust(config, trust_rules, inventory);
    TrustGraph::build_with(inventory, zone, &trust_rules.graph_options())
}

/// Analyse an inventory: build the trust graph, run every enabled rule.
/// `now` is the reference time for credential ages.
pub fn analyse(inventory: &Inventory, config: &Config, pack: &RulePack, now: DateTime<Utc>) -> Analysis {
    let trust_rules = TrustRules::from_pack(pack, config);
    let graph = trust_graph(inventory, config, &trust_rules);
    let mut findings = trust_findings(&graph, &trust_rules, now);
    for account in &inventory.accounts {
        findings.extend(credential_findings(pack, account, now, &config.credentials.owner_tag));
        findings.extend(mfa_pitfall_findings(pack, account, now));
    }
    Analysis { graph, findings }
}

/// Why an audit could not run at all (a failing account is not one of these).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("collecting from {source_name}: {error}")]
    Collect { source_name: String, error: CollectError },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The messages the run would cause cannot be built (an unreadable owners file, say).
    #[error(transparent)]
    Notify(#[from] NotifyError),
}

/// A finished audit: the report, and what changed since the last run.
#[derive(Debug)]
pub struct AuditOutcome {
    pub report: Report,
    pub changes: RunResult,
    /// Documents that could not be parsed, per account (the rest was audited).
    pub problems: Vec<String>,
}

/// Run one audit: collect from `source`, analyse, record the run in `store`
/// together with the access-key deadlines it saw and, when `[notify]` is on,
/// the digest and reminders it causes (queued in the outbox, not sent).
pub async fn audit(
    config: &Config,
    pack: &RulePack,
    source: &SourceSpec,
    store: &mut Store,
) -> Result<AuditOutcome, AuditError> {
    let started = Utc::now();
    // Before collecting: a broken owners file should not cost a whole collection.
    let composer = Composer::from_config(config)?;
    let source_name = source_name(source);
    let Collection { inventory, outcomes } =
        collect(source).await.map_err(|error| AuditError::Collect { source_name: source_name.clone(), error })?;
    let now = inventory.collected_at.unwrap_or(started);
    let analysis = analyse(&inventory, config, pack, now);
    let problems: Vec<String> = inventory
        .accounts
        .iter()
        .flat_map(|a| a.problems.iter().map(ToString::to_string))
        .chain(analysis.graph.problems.iter().cloned())
        .collect();

    let accounts: Vec<RunAccount> = outcomes
        .iter()
        .map(|o| match &o.result {
            Ok(()) => RunAccount::ok(&o.account_id),
            Err(e) => RunAccount::failed(&o.account_id, e.to_string()),
        })
        .collect();
    let run = RunRecord { id: None, started, finished: Utc::now(), source: source_name.clone(), accounts };
    let reported: HashSet<String> = analysis.findings.iter().map(|f| f.id.clone()).collect();
    let deadlines: Vec<KeyDeadline> = inventory
        .accounts
        .iter()
        .flat_map(|account| access_key_deadlines(pack, account, &config.credentials.owner_tag))
        .collect();
    let today = now.date_naive();
    let changes = store.record_run_with(&run, analysis.findings, &deadlines, |recorded| match &composer {
        Some(composer) => composer.run_messages(recorded, &deadlines, today, Utc::now()),
        None => Ok(Vec::new()),
    })?;

    // The report shows this run's findings as stored (lifecycle included),
    // and those this run resolved.
    let mut findings: Vec<Finding> =
        store.findings(&FindingFilter::default())?.into_iter().filter(|f| reported.contains(&f.id)).collect();
    findings.extend(changes.resolved.iter().cloned());
    let report = Report { run: run_info(&changes, &source_name), findings };
    Ok(AuditOutcome { report, changes, problems })
}

/// `aws` or `snapshot:DIR`, as runs record it.
pub fn source_name(source: &SourceSpec) -> String {
    match source {
        SourceSpec::Aws(_) => "aws".into(),
        SourceSpec::Snapshot(dir) => format!("snapshot:{}", dir.display()),
    }
}

fn run_info(changes: &RunResult, source: &str) -> RunInfo {
    let run = &changes.run;
    RunInfo {
        id: run.id.clone(),
        started: run.started,
        finished: run.finished,
        status: match run.status {
            crate::store::RunStatus::Ok => RunStatus::Ok,
            crate::store::RunStatus::Partial => RunStatus::Partial,
            crate::store::RunStatus::Failed => RunStatus::Failed,
        },
        source: source.to_string(),
        accounts: run
            .accounts
            .iter()
            .map(|a| AccountStatus {
                account: a.account.clone(),
                status: if a.is_ok() { AccountState::Ok } else { AccountState::Failed },
                error: a.error.clone(),
            })
            .collect(),
    }
}
