//! `trustwarden daemon`: audits and reminder passes on a cron schedule, the
//! outbox sent as messages come due, all driven by one `select!` loop that
//! also answers signals (SIGTERM/SIGINT stop, SIGHUP reloads) and keeps
//! systemd informed (READY, STOPPING, WATCHDOG).
//!
//! Audits, reminder passes and outbox rounds run as tasks, each with its own
//! store connection; the loop starts at most one of each kind at a time, so
//! an audit that would overlap the running one is skipped. A run's findings,
//! key deadlines and messages are one transaction that holds no await
//! point, so cancelling an audit at shutdown leaves either the whole run or
//! none of it.

mod jobs;
mod schedule;
mod sd_notify;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::audit::AuditError;
use crate::collect::{CollectError, SourceSpec};
use crate::config::{Config, ConfigError};
use crate::notify::{Composer, Mailer, NotifyError, RetryPolicy};
use crate::rules::{RulePack, RulesError};
use crate::store::{Store, StoreError};

pub use schedule::Tick;
pub use sd_notify::SdNotify;

/// How long the last outbox round at shutdown may take when the grace
/// period was used up by the audit.
const FINAL_FLUSH_MINIMUM: Duration = Duration::from_secs(5);

/// How often the loop checks whether daylight saving time moved the schedule's zone.
const OFFSET_CHECK: Duration = Duration::from_secs(300);

/// Why the daemon could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error("source: {0}")]
    Source(#[from] CollectError),
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("schedule: {0}")]
    Schedule(String),
    #[error("reloading the configuration: {0}")]
    Reload(String),
    #[error("cannot listen for {signal}: {source}")]
    Signal { signal: &'static str, source: std::io::Error },
}

impl DaemonError {
    /// Whether the configuration (or what it names) is at fault, not the environment.
    pub fn is_invalid_config(&self) -> bool {
        matches!(
            self,
            DaemonError::Config(_)
                | DaemonError::Rules(_)
                | DaemonError::Source(_)
                | DaemonError::Notify(NotifyError::Address { .. } | NotifyError::Owners { .. })
                | DaemonError::Schedule(_)
        )
    }
}

/// How the daemon was started.
#[derive(Clone, Debug)]
pub struct DaemonOptions {
    pub config_path: PathBuf,
    /// The database; `None`: the config's `store.path`, else the default.
    pub db: Option<PathBuf>,
}

/// A configuration that passed every check: what each task works from. A
/// reload builds a new one and swaps it in only when it is complete.
#[derive(Debug)]
struct Loaded {
    config: Config,
    pack: RulePack,
    source: SourceSpec,
    db_path: PathBuf,
    /// `None` when `[notify]` is off.
    mailer: Option<Mailer>,
    composer: Option<Composer>,
    retry: RetryPolicy,
}

impl Loaded {
    /// Reads and checks the configuration and everything it names: rules,
    /// source, owners file, SMTP password.
    fn load(options: &DaemonOptions) -> Result<Loaded, DaemonError> {
        let config = Config::load(&options.config_path)?;
        let pack = RulePack::for_config(&config)?;
        let source = config.source(None)?;
        if let SourceSpec::Snapshot(dir) = &source {
            if !dir.is_dir() {
                let source = std::io::Error::new(std::io::ErrorKind::NotFound, "no such snapshot directory");
                return Err(CollectError::Io { path: dir.clone(), source }.into());
            }
        }
        let db_path =
            options.db.clone().or_else(|| config.store.path.clone()).unwrap_or_else(crate::store::default_path);
        let mailer = if config.notify.enabled() { Some(Mailer::new(&config.notify)?) } else { None };
        let composer = Composer::from_config(&config)?;
        let retry = RetryPolicy::from_config(&config.notify.retry);
        Ok(Loaded { config, pack, source, db_path, mailer, composer, retry })
    }

    fn open_store(&self) -> Result<Store, StoreError> {
        Store::open(&self.db_path)
    }
}

/// The configured log format, for setting up logging before the daemon
/// starts; `Human` when the file cannot be read (the daemon then says why).
pub fn log_format(config_path: &Path) -> crate::config::LogFormat {
    Config::load(config_path).map(|c| c.daemon.log_format).unwrap_or_default()
}

struct Signals {
    terminate: Signal,
    interrupt: Signal,
    hangup: Signal,
}

impl Signals {
    fn new() -> Result<Signals, DaemonError> {
        let listen = |kind: SignalKind, name: &'static str| {
            signal(kind).map_err(|source| DaemonError::Signal { signal: name, source })
        };
        Ok(Signals {
            terminate: listen(SignalKind::terminate(), "SIGTERM")?,
            interrupt: listen(SignalKind::interrupt(), "SIGINT")?,
            hangup: listen(SignalKind::hangup(), "SIGHUP")?,
        })
    }
}

/// A task the loop may be waiting for.
type Task = Option<JoinHandle<()>>;

/// Resolves when the task ends; never when there is none.
async fn finished(task: &mut Task) -> Result<(), JoinError> {
    match task {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

/// Ticks when there is an interval; never otherwise.
async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

fn interval(period: Duration) -> Interval {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}

fn spawn<F: Future<Output = ()> + Send + 'static>(task: &mut Task, future: F) {
    *task = Some(tokio::spawn(future));
}

fn log_task_end(what: &str, result: Result<(), JoinError>) {
    if let Err(error) = result {
        if error.is_panic() {
            tracing::error!(task = what, %error, "task panicked");
        }
    }
}

/// Runs the daemon until SIGTERM or SIGINT; returns once it has shut down cleanly.
pub async fn run(options: DaemonOptions) -> Result<(), DaemonError> {
    let mut loaded = Arc::new(Loaded::load(&options)?);
    // Fail now, not at the first audit, if the database cannot be used.
    drop(loaded.open_store()?);
    let mut signals = Signals::new()?;
    let (tick_sender, mut ticks) = mpsc::channel::<Tick>(16);
    let mut schedule = schedule::Schedule::start(&loaded.config.schedule, tick_sender.clone()).await?;
    let systemd = SdNotify::from_env();
    let mut watchdog = systemd.watchdog_interval().map(interval);
    let mut outbox_round = interval(Duration::from_secs(loaded.config.daemon.outbox_interval_secs));
    let mut offset_check = interval(OFFSET_CHECK);
    let (mut audit, mut reminders, mut flush): (Task, Task, Task) = (None, None, None);

    tracing::info!(
        config = %options.config_path.display(),
        database = %loaded.db_path.display(),
        source = %loaded.source,
        notify = loaded.mailer.is_some(),
        "trustwarden daemon started"
    );
    systemd.notify("READY=1\nSTATUS=waiting for the next scheduled audit");

    let stop = loop {
        tokio::select! {
            Some(due) = ticks.recv() => match due {
                Tick::Audit if audit.is_some() => {
                    tracing::warn!("scheduled audit skipped: the previous audit is still running");
                }
                Tick::Audit => {
                    systemd.notify("STATUS=auditing");
                    spawn(&mut audit, jobs::audit(Arc::clone(&loaded)));
                }
                Tick::Reminders if reminders.is_some() => {
                    tracing::warn!("scheduled reminder pass skipped: the previous one is still running");
                }
                Tick::Reminders => spawn(&mut reminders, jobs::reminders(Arc::clone(&loaded))),
            },
            result = finished(&mut audit) => {
                audit = None;
                log_task_end("audit", result);
                systemd.notify("STATUS=waiting for the next scheduled audit");
                if flush.is_none() {
                    spawn(&mut flush, jobs::flush(Arc::clone(&loaded)));
                }
            }
            result = finished(&mut reminders) => {
                reminders = None;
                log_task_end("reminders", result);
                if flush.is_none() {
                    spawn(&mut flush, jobs::flush(Arc::clone(&loaded)));
                }
            }
            result = finished(&mut flush) => {
                flush = None;
                log_task_end("outbox", result);
            }
            _ = outbox_round.tick() => {
                if flush.is_none() {
                    spawn(&mut flush, jobs::flush(Arc::clone(&loaded)));
                }
            }
            _ = signals.hangup.recv() => {
                match reload(&options, &loaded, &mut schedule, &tick_sender).await {
                    Ok(new) => {
                        if new.config.daemon.outbox_interval_secs != loaded.config.daemon.outbox_interval_secs {
                            outbox_round = interval(Duration::from_secs(new.config.daemon.outbox_interval_secs));
                        }
                        loaded = Arc::new(new);
                        tracing::info!(config = %options.config_path.display(), "configuration reloaded");
                    }
                    Err(error) => tracing::error!(
                        %error,
                        config = %options.config_path.display(),
                        "configuration not reloaded; keeping the running one"
                    ),
                }
            }
            _ = offset_check.tick() => {
                if schedule.offset_changed() {
                    tracing::info!("the time zone's UTC offset changed; rebuilding the schedule");
                    if let Err(error) = schedule.replace(&loaded.config.schedule, tick_sender.clone()).await {
                        tracing::error!(%error, "schedule not rebuilt");
                    }
                }
            }
            _ = tick(&mut watchdog) => systemd.notify("WATCHDOG=1"),
            _ = signals.terminate.recv() => break "SIGTERM",
            _ = signals.interrupt.recv() => break "SIGINT",
        }
    };

    let grace = Duration::from_secs(loaded.config.daemon.shutdown_grace_secs);
    tracing::info!(signal = stop, grace_secs = grace.as_secs(), "shutting down");
    systemd.notify("STOPPING=1\nSTATUS=shutting down");
    schedule.shutdown().await;
    let deadline = Instant::now() + grace;
    finish_or_cancel("audit", audit, deadline).await;
    finish_or_cancel("reminder pass", reminders, deadline).await;
    finish_or_cancel("outbox round", flush, deadline).await;
    // Whatever the run queued goes out now if the relay takes it; the rest
    // waits in the outbox for the next start.
    let last_round = deadline.saturating_duration_since(Instant::now()).max(FINAL_FLUSH_MINIMUM);
    if tokio::time::timeout(last_round, jobs::flush(Arc::clone(&loaded))).await.is_err() {
        tracing::warn!("last outbox round cut short; unsent messages stay queued");
    }
    tracing::info!("trustwarden daemon stopped");
    Ok(())
}

/// Lets a task finish until `deadline`, then cancels it.
async fn finish_or_cancel(what: &str, task: Task, deadline: Instant) {
    let Some(mut handle) = task else {
        return;
    };
    tracing::info!(task = what, "waiting for the running {what} to finish");
    match tokio::time::timeout_at(deadline, &mut handle).await {
        Ok(result) => log_task_end(what, result),
        Err(_) => {
            handle.abort();
            let _ = handle.await;
            tracing::warn!(task = what, "grace period over: {what} cancelled");
        }
    }
}

/// Loads the configuration again and, when it is valid, moves the schedule to it.
async fn reload(
    options: &DaemonOptions,
    current: &Loaded,
    schedule: &mut schedule::Schedule,
    ticks: &mpsc::Sender<Tick>,
) -> Result<Loaded, DaemonError> {
    let options = options.clone();
    // Reading files (config, rules, owners, password) is blocking work.
    let new = tokio::task::spawn_blocking(move || Loaded::load(&options))
        .await
        .map_err(|error| DaemonError::Reload(error.to_string()))??;
    drop(new.open_store()?);
    if new.config.schedule != current.config.schedule {
        schedule.replace(&new.config.schedule, ticks.clone()).await?;
    }
    Ok(new)
}
