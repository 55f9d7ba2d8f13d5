//! Command-line interface: argument definitions and the commands. Exit codes
//! (README): 0 done, 1 findings at or above --fail-on, 2 operational error,
//! 3 invalid config or rules.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::audit::{self, AuditError};
use crate::collect::{self, CollectError, Collection};
use crate::config::{Config, ConfigError};
use crate::eval::case::{Case, error_answer};
use crate::findings::{Severity, Status};
use crate::graph::export::{Selection, UnknownNode};
use crate::report::{self, Format, Report, ReportError};
use crate::rules::{RulePack, RulesError};
use crate::store::{FindingFilter, NewSuppression, Store, StoreError, SuppressionScope};

#[derive(Parser, Debug)]
#[command(
    name = "trustwarden",
    version,
    about = "IAM audit: cross-account trust and credential hygiene for AWS accounts and organizations"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by the commands that read a configuration.
#[derive(Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// Configuration file (TOML); without one, defaults apply.
    #[arg(long, short, env = "TRUSTWARDEN_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Options for commands that open the findings database.
#[derive(Args, Debug, Clone, Default)]
pub struct StoreArgs {
    /// The SQLite database (default: the config's store.path, else $STATE_DIRECTORY/trustwarden.db, else ./trustwarden.db).
    #[arg(long)]
    pub db: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Collect, analyse, store and report: the main job.
    Audit {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        store: StoreArgs,
        /// `aws` or `snapshot:DIR` (default: the config's source, else aws).
        #[arg(long)]
        source: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Write the report here instead of standard output (the summary table still goes to the terminal).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Exit 1 when an active finding is at least this severe.
        #[arg(long)]
        fail_on: Option<Severity>,
    },
    /// Show what a source holds, account by account.
    Inventory {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long)]
        source: Option<String>,
    },
    /// Collect from live AWS and write a snapshot directory.
    Snapshot {
        #[command(flatten)]
        config: ConfigArgs,
        /// A new or empty directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Export the trust graph (or the part between two principals).
    Graph {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long)]
        source: Option<String>,
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphFormat,
        /// Only what this principal reaches (ARN, account id, `*`, provider or service).
        #[arg(long)]
        from: Option<String>,
        /// Only what reaches this role ARN.
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a configuration and a rules directory; exit 3 when invalid.
    Validate {
        #[command(flatten)]
        config: ConfigArgs,
        /// Rules directory (default: the config's rules.dir, else the built-in rules).
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Evaluate authorization requests (JSON lines, see docs/evaluator.md) with the shared evaluator.
    Simulate {
        /// Case file, or - for standard input.
        #[arg(long, short, default_value = "-")]
        input: PathBuf,
        /// Add the deciding statements and the reason to each answer.
        #[arg(long)]
        explain: bool,
    },
    /// Run unattended: audits and reminder passes on the configured schedule,
    /// email sent from the outbox; SIGHUP reloads the config, SIGTERM stops.
    Daemon {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The email outbox: list queued messages, or send them again.
    Outbox {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Stored findings: list, show, suppress.
    Findings {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: FindingsCommand,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum FindingsCommand {
    /// List stored findings, worst first.
    List {
        #[arg(long)]
        status: Option<Status>,
        /// This severity or worse.
        #[arg(long)]
        severity: Option<Severity>,
        #[arg(long)]
        account: Option<String>,
        #[arg(long)]
        rule: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// One finding: evidence, explanation and history.
    Show { id: String },
    /// Archive findings: one by id, or a rule's (narrowed by resource glob and account).
    Suppress {
        #[arg(long, conflicts_with_all = ["rule", "resource", "account"], required_unless_present = "rule")]
        id: Option<String>,
        #[arg(long)]
        rule: Option<String>,
        /// Resource ARN glob (`*`, `?`), with --rule.
        #[arg(long, requires = "rule")]
        resource: Option<String>,
        #[arg(long, requires = "rule")]
        account: Option<String>,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        by: String,
        /// Expiry (YYYY-MM-DD or RFC 3339); the findings become active again after it.
        #[arg(long)]
        until: Option<String>,
    },
    /// List suppressions.
    Suppressions {
        /// Include expired and removed ones.
        #[arg(long)]
        all: bool,
    },
    /// Remove a suppression; findings it alone archived become active again.
    Unsuppress { id: i64 },
}

/// Which outbox messages `outbox list` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutboxState {
    Pending,
    Sent,
    Abandoned,
}

#[derive(Subcommand, Debug)]
pub enum OutboxCommand {
    /// Queued messages, newest first.
    List {
        #[arg(long, value_enum)]
        state: Option<OutboxState>,
        /// `digest` or `reminder`.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Make unsent messages (waiting or given up on) due now, then send what is due.
    Retry {
        /// Message ids (from `outbox list`); none: every unsent message.
        ids: Vec<i64>,
        /// Only queue them again; the daemon sends them at its next round.
        #[arg(long)]
        no_send: bool,
    },
}

/// What can go wrong in a command, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Collect(#[from] CollectError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Graph(#[from] UnknownNode),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{0}")]
    Operational(String),
    #[error(transparent)]
    Daemon(#[from] crate::daemon::DaemonError),
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
}

impl CliError {
    /// 3 for invalid configuration or rules, 2 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::Rules(_) | CliError::Invalid(_) => 3,
            CliError::Daemon(error) if error.is_invalid_config() => 3,
            _ => 2,
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> CliError + '_ {
    move |source| CliError::Io { path: path.to_path_buf(), source }
}

/// Load the configuration, or defaults when no file is given.
pub fn load_config(args: &ConfigArgs) -> Result<Config, CliError> {
    Ok(match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    })
}

/// The rule pack the configuration asks for.
pub fn load_rules(config: &Config) -> Result<RulePack, CliError> {
    Ok(RulePack::for_config(config)?)
}

fn open_store(config: &Config, args: &StoreArgs) -> Result<Store, CliError> {
    let path = args.db.clone().or_else(|| config.store.path.clone()).unwrap_or_else(crate::store::default_path);
    Ok(Store::open(path)?)
}

fn output(out: Option<&Path>) -> Result<Box<dyn Write>, CliError> {
    Ok(match out {
        Some(path) => Box::new(io::BufWriter::new(File::create(path).map_err(io_error(path))?)),
        None => Box::new(io::stdout().lock()),
    })
}

/// `trustwarden audit`.
pub async fn run_audit(
    config: &ConfigArgs,
    store: &StoreArgs,
    source: Option<&str>,
    format: Format,
    out: Option<&Path>,
    fail_on: Option<Severity>,
) -> Result<u8, CliError> {
    let config = load_config(config)?;
    let pack = load_rules(&config)?;
    let source = config.source(source)?;
    let mut db = open_store(&config, store)?;
    let outcome = audit::audit(&config, &pack, &source, &mut db).await?;
    for problem in &outcome.problems {
        eprintln!("trustwarden: warning: {problem}");
    }
    let mut writer = output(out)?;
    report::render(&outcome.report, format, &mut writer)?;
    writer.flush().map_err(|source| CliError::Io { path: out.map_or("stdout".into(), Path::to_path_buf), source })?;
    drop(writer);
    if out.is_some() || format != Format::Table {
        let mut stderr = io::stderr().lock();
        report::render(&outcome.report, Format::Table, &mut stderr)?;
    }
    let changes = &outcome.changes;
    eprintln!(
        "trustwarden: run {} ({}): {} new, {} resolved, {} reappeared; database {}",
        changes.run.id,
        changes.run.status,
        changes.new.len(),
        changes.resolved.len(),
        changes.reappeared.len(),
        db.path().display()
    );
    if config.notify.enabled() && changes.messages_queued > 0 {
        send_outbox(&config, &mut db).await;
    }
    if outcome.report.run.status == crate::report::RunStatus::Failed {
        return Err(CliError::Operational("no account could be collected".into()));
    }
    let failing = fail_on.is_some_and(|threshold| {
        outcome.report.findings.iter().any(|f| f.status == Status::Active && f.severity >= threshold)
    });
    Ok(if failing { 1 } else { 0 })
}

async fn collect_from(config: &Config, source: Option<&str>) -> Result<Collection, CliError> {
    let source = config.source(source)?;
    Ok(collect::collect(&source).await?)
}

/// `trustwarden inventory`: one block per account.
pub async fn run_inventory(config: &ConfigArgs, source: Option<&str>) -> Result<u8, CliError> {
    let config = load_config(config)?;
    let collection = collect_from(&config, source).await?;
    let mut out = io::stdout().lock();
    let write = |out: &mut io::StdoutLock<'_>, line: String| {
        writeln!(out, "{line}").map_err(|source| CliError::Io { path: "stdout".into(), source })
    };
    if let Some(org) = &collection.inventory.organization {
        let active = org.accounts.iter().filter(|a| a.is_active()).count();
        write(
            &mut out,
            format!(
                "organization {} (management account {}), {} accounts, {active} active",
                org.id,
                org.master_account_id,
                org.accounts.len()
            ),
        )?;
    }
    if let Some(at) = collection.inventory.collected_at {
        write(&mut out, format!("collected at {}", at.to_rfc3339()))?;
    }
    for outcome in &collection.outcomes {
        let Some(account) = collection.inventory.accounts.iter().find(|a| a.account_id == outcome.account_id) else {
            let error = outcome.result.as_ref().err().map_or_else(String::new, ToString::to_string);
            write(&mut out, format!("\naccount {}: FAILED: {error}", outcome.account_id))?;
            continue;
        };
        let name =
            [account.name.as_deref(), account.alias.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" / ");
        write(&mut out, format!("\naccount {} {name}", account.account_id))?;
        let customer = account.managed_policies.iter().filter(|p| !p.is_aws_managed()).count();
        let rows = account.credential_report.users.len() + usize::from(account.credential_report.root.is_some());
        let keys = account
            .credential_report
            .users
            .iter()
            .chain(account.credential_report.root.as_ref())
            .map(|r| r.access_keys.iter().filter(|k| k.active).count())
            .sum::<usize>();
        for line in [
            format!(
                "  users {:>6}   roles {:>6}   groups {:>5}",
                account.users.len(),
                account.roles.len(),
                account.groups.len()
            ),
            format!(
                "  managed policies {} ({customer} customer, {} AWS)",
                account.managed_policies.len(),
                account.managed_policies.len() - customer
            ),
            format!("  credential report {rows} rows, {keys} active access keys"),
            format!(
                "  password policy {}",
                if account.password_policy.is_some() { "set" } else { "none (AWS default applies)" }
            ),
            format!(
                "  identity providers {} OIDC, {} SAML",
                account.oidc_providers.len(),
                account.saml_providers.len()
            ),
        ] {
            write(&mut out, line)?;
        }
        for problem in &account.problems {
            write(&mut out, format!("  problem: {problem}"))?;
        }
    }
    let failed = collection.outcomes.iter().filter(|o| o.result.is_err()).count();
    Ok(if failed > 0 && failed == collection.outcomes.len() { 2 } else { 0 })
}

/// `trustwarden snapshot --out DIR`.
pub async fn run_snapshot(config: &ConfigArgs, out: &Path) -> Result<u8, CliError> {
    let config = load_config(config)?;
    let collection = collect::write_snapshot(&config.live_options(), out).await?;
    let failed: Vec<String> = collection
        .outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().err().map(|e| format!("{}: {e}", o.account_id)))
        .collect();
    eprintln!(
        "trustwarden: wrote {} accounts to {}{}",
        collection.inventory.accounts.len(),
        out.display(),
        if failed.is_empty() { String::new() } else { format!("; failed: {}", failed.join("; ")) }
    );
    Ok(if !failed.is_empty() && collection.inventory.accounts.is_empty() { 2 } else { 0 })
}

/// `trustwarden graph`.
pub async fn run_graph(
    config: &ConfigArgs,
    source: Option<&str>,
    format: GraphFormat,
    selection: Selection,
    out: Option<&Path>,
) -> Result<u8, CliError> {
    let config = load_config(config)?;
    let pack = load_rules(&config)?;
    let collection = collect_from(&config, source).await?;
    let trust_rules = crate::rules::trust::TrustRules::from_pack(&pack, &config);
    let graph = audit::trust_graph(&collection.inventory, &config, &trust_rules);
    let text = match format {
        GraphFormat::Dot => graph.to_dot(&selection)?,
        GraphFormat::Json => serde_json::to_string_pretty(&graph.to_json(&selection)?)
            .map_err(|e| CliError::Operational(format!("graph JSON: {e}")))?,
    };
    let mut writer = output(out)?;
    writer
        .write_all(text.as_bytes())
        .and_then(|()| writer.flush())
        .map_err(|source| CliError::Io { path: out.map_or("stdout".into(), Path::to_path_buf), source })?;
    Ok(0)
}

/// `trustwarden validate`: every problem, not just the first.
pub fn run_validate(config: &ConfigArgs, rules: Option<&Path>) -> Result<u8, CliError> {
    let mut problems = Vec::new();
    let config = match &config.config {
        Some(path) => match Config::load(path) {
            Ok(c) => {
                println!("{}: ok", path.display());
                Some(c)
            }
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        },
        None => Some(Config::default()),
    };
    let dir = rules.map(Path::to_path_buf).or_else(|| config.as_ref().and_then(|c| c.rules.dir.clone()));
    match &dir {
        Some(dir) => {
            let errors = RulePack::validate_dir(dir);
            if errors.is_empty() {
                println!("{}: ok", dir.display());
            }
            problems.extend(errors.iter().map(ToString::to_string));
        }
        None => match RulePack::builtin() {
            Ok(pack) => println!("built-in rules: ok ({} rules)", pack.len()),
            Err(error) => problems.push(error.to_string()),
        },
    }
    for problem in &problems {
        eprintln!("trustwarden: invalid: {problem}");
    }
    Ok(if problems.is_empty() { 0 } else { 3 })
}

/// Totals of a simulate run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SimulateSummary {
    pub cases: usize,
    pub failed: usize,
    /// Cases whose `expected` differs from the decision.
    pub unexpected: usize,
}

/// Run every case of `input`, writing one answer line per case in input order.
/// A malformed line gets an error answer and the rest still run.
pub fn simulate(input: impl BufRead, mut output: impl Write, explain: bool) -> io::Result<SimulateSummary> {
    let mut summary = SimulateSummary::default();
    for (index, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        summary.cases += 1;
        let answer = match Case::parse(&line) {
            Ok(case) => {
                let decision = case.evaluate();
                if case.expected.is_some_and(|e| e != decision.outcome) {
                    summary.unexpected += 1;
                }
                case.answer(&decision, explain)
            }
            Err(error) => {
                summary.failed += 1;
                error_answer(&error, index + 1)
            }
        };
        serde_json::to_writer(&mut output, &answer)?;
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(summary)
}

/// `trustwarden simulate`.
pub fn run_simulate(input: &Path, explain: bool) -> Result<u8, CliError> {
    let stdout = io::stdout().lock();
    let summary = if input.as_os_str() == "-" {
        simulate(io::stdin().lock(), stdout, explain)
    } else {
        let file = File::open(input).map_err(io_error(input))?;
        simulate(BufReader::new(file), stdout, explain)
    }
    .map_err(io_error(input))?;
    if summary.failed > 0 {
        eprintln!("trustwarden: {} of {} cases could not be evaluated", summary.failed, summary.cases);
        return Ok(2);
    }
    Ok(0)
}

/// `trustwarden findings ...`.
pub fn run_findings(config: &ConfigArgs, store: &StoreArgs, command: FindingsCommand) -> Result<u8, CliError> {
    let config = load_config(config)?;
    let mut db = open_store(&config, store)?;
    let now = Utc::now();
    match command {
        FindingsCommand::List { status, severity, account, rule, format } => {
            let filter = FindingFilter { status, severity: None, min_severity: severity, account, rule };
            let findings = db.findings(&filter)?;
            let run = db.last_run()?;
            let report = Report {
                run: crate::report::RunInfo {
                    id: run.as_ref().map_or_else(String::new, |r| r.id.clone()),
                    started: run.as_ref().map_or(now, |r| r.started),
                    finished: run.as_ref().map_or(now, |r| r.finished),
                    status: crate::report::RunStatus::Ok,
                    source: run.as_ref().map_or_else(|| "store".into(), |r| r.source.clone()),
                    accounts: Vec::new(),
                },
                findings,
            };
            report::render(&report, format, &mut io::stdout().lock())?;
        }
        FindingsCommand::Show { id } => {
            let Some(detail) = db.finding(&id)? else {
                return Err(CliError::Operational(format!("no finding {id:?} in {}", db.path().display())));
            };
            let f = &detail.finding;
            let mut lines = vec![
                format!("{}  {}  [{}] {}", f.id, f.severity, f.status.as_str(), f.title),
                format!("rule       {}", f.rule),
                format!("account    {}", f.account),
                format!("resource   {}", f.resource),
            ];
            lines.extend(f.principal.as_ref().map(|p| format!("principal  {p}")));
            lines.extend(f.credential.map(|c| format!("credential {}", c.as_str())));
            lines.extend(f.owner.as_ref().map(|o| format!("owner      {o}")));
            lines.extend(f.due.map(|d| format!("due        {d}")));
            lines.push(format!("seen       {} .. {}", f.first_seen.to_rfc3339(), f.last_seen.to_rfc3339()));
            lines.push(format!("\n{}", f.explanation));
            if !f.path.is_empty() {
                lines.push(format!("\npath: {}", f.path.join(" → ")));
            }
            if !f.conditions.is_empty() {
                lines.push("\nconditions:".into());
                lines.extend(
                    f.conditions.iter().map(|c| format!("  {} {} {:?} ({:?})", c.operator, c.key, c.values, c.class)),
                );
            }
            if !f.evidence.is_empty() {
                lines.push("\nevidence:".into());
                lines.extend(f.evidence.iter().map(|e| match &e.sid {
                    Some(sid) => format!("  {}, statement {} (Sid {sid})", e.policy, e.statement),
                    None => format!("  {}, statement {}", e.policy, e.statement),
                }));
            }
            if let Some(s) = &detail.suppression {
                lines.push(format!("\nsuppressed by #{}: {} (by {})", s.id, s.reason, s.author));
            }
            lines.push("\nhistory:".into());
            lines.extend(detail.history.iter().map(|h| {
                format!(
                    "  {}  {} -> {}  {}",
                    h.at.to_rfc3339(),
                    h.from.map_or("-", Status::as_str),
                    h.to.as_str(),
                    h.reason
                )
            }));
            println!("{}", lines.join("\n"));
        }
        FindingsCommand::Suppress { id, rule, resource, account, reason, by, until } => {
            let scope = match (id, rule) {
                (Some(id), _) => SuppressionScope::Finding(id),
                (None, Some(rule)) => SuppressionScope::Rule { rule, resource, account },
                (None, None) => return Err(CliError::Invalid("give --id or --rule".into())),
            };
            let expires = until.as_deref().map(parse_until).transpose()?;
            let change = db.add_suppression(&NewSuppression { scope, reason, author: by, created: now, expires })?;
            println!("suppression #{} archived {} findings", change.id, change.findings.len());
        }
        FindingsCommand::Suppressions { all } => {
            for s in db.suppressions(now, all)? {
                let scope = match &s.scope {
                    SuppressionScope::Finding(id) => format!("finding {id}"),
                    SuppressionScope::Rule { rule, resource, account } => format!(
                        "rule {rule}{}{}",
                        resource.as_ref().map_or_else(String::new, |r| format!(" resource {r}")),
                        account.as_ref().map_or_else(String::new, |a| format!(" account {a}"))
                    ),
                };
                let until = s.expires.map_or_else(|| "no expiry".into(), |e| format!("until {}", e.to_rfc3339()));
                let state = if s.in_force(now) { "" } else { " (not in force)" };
                println!("#{}  {scope}  {until}  by {}: {}{state}", s.id, s.author, s.reason);
            }
        }
        FindingsCommand::Unsuppress { id } => {
            let change = db.remove_suppression(id, now)?;
            println!("suppression #{id} removed; {} findings active again", change.findings.len());
        }
    }
    Ok(0)
}

fn parse_until(text: &str) -> Result<DateTime<Utc>, CliError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| CliError::Invalid(format!("--until {text:?}: expected YYYY-MM-DD or an RFC 3339 time")))
}

/// Sends what is due in the outbox after a one-off audit; a relay that is
/// down is a warning, not a failed audit (the messages stay queued).
async fn send_outbox(config: &Config, db: &mut Store) {
    let sent = match crate::notify::Mailer::new(&config.notify) {
        Ok(mailer) => {
            crate::notify::flush(db, &mailer, &crate::notify::RetryPolicy::from_config(&config.notify.retry)).await
        }
        Err(error) => {
            eprintln!("trustwarden: warning: messages stay queued: {error}");
            return;
        }
    };
    match sent {
        Ok(report) => eprintln!(
            "trustwarden: mail: {} sent, {} to retry, {} given up{}",
            report.sent,
            report.retrying,
            report.abandoned,
            if report.relay_unreachable { " (relay unreachable; queued messages wait)" } else { "" }
        ),
        Err(error) => eprintln!("trustwarden: warning: sending the outbox: {error}"),
    }
}

/// `trustwarden daemon`.
pub async fn run_daemon(config: &ConfigArgs, store: &StoreArgs) -> Result<u8, CliError> {
    let Some(config_path) = config.config.clone() else {
        return Err(CliError::Invalid("the daemon needs --config FILE (it reloads that file on SIGHUP)".into()));
    };
    crate::daemon::run(crate::daemon::DaemonOptions { config_path, db: store.db.clone() }).await?;
    Ok(0)
}

/// `trustwarden outbox ...`.
pub async fn run_outbox(config: &ConfigArgs, store: &StoreArgs, command: OutboxCommand) -> Result<u8, CliError> {
    let config = load_config(config)?;
    let mut db = open_store(&config, store)?;
    match command {
        OutboxCommand::List { state, kind, limit } => {
            let filter = crate::store::MessageFilter {
                state: state.map(|state| match state {
                    OutboxState::Pending => crate::store::MessageState::Pending,
                    OutboxState::Sent => crate::store::MessageState::Sent,
                    OutboxState::Abandoned => crate::store::MessageState::Abandoned,
                }),
                kind,
                run_id: None,
                limit: Some(limit),
            };
            let mut out = io::stdout().lock();
            for message in db.messages(&filter)? {
                let state = match message.state() {
                    crate::store::MessageState::Pending => match message.next_attempt {
                        Some(at) => format!("pending (next {})", at.to_rfc3339()),
                        None => "pending".into(),
                    },
                    crate::store::MessageState::Sent => {
                        format!("sent {}", message.sent_at.map_or_else(String::new, |at| at.to_rfc3339()))
                    }
                    crate::store::MessageState::Abandoned => "abandoned".into(),
                };
                let mut line = format!(
                    "#{}  {}  {}  to {}  {}  attempts {}  {}\n      {}",
                    message.id,
                    message.created.to_rfc3339(),
                    message.kind,
                    message.recipient,
                    state,
                    message.attempts,
                    message.message_id,
                    message.subject
                );
                if let Some(error) = message.last_error.as_ref().filter(|_| message.sent_at.is_none()) {
                    line.push_str(&format!("\n      last error: {error}"));
                }
                writeln!(out, "{line}").map_err(|source| CliError::Io { path: "stdout".into(), source })?;
            }
        }
        OutboxCommand::Retry { ids, no_send } => {
            let queued = db.retry_messages(&ids, Utc::now())?;
            println!("{queued} messages due now");
            if !no_send {
                let mailer = crate::notify::Mailer::new(&config.notify)?;
                let policy = crate::notify::RetryPolicy::from_config(&config.notify.retry);
                let report = crate::notify::flush(&mut db, &mailer, &policy).await?;
                println!(
                    "{} sent, {} to retry, {} given up{}",
                    report.sent,
                    report.retrying,
                    report.abandoned,
                    if report.relay_unreachable { "; the relay could not be reached" } else { "" }
                );
                if report.relay_unreachable || report.abandoned > 0 {
                    return Ok(2);
                }
            }
        }
    }
    Ok(0)
}
