//! The cron schedule: tokio-cron-scheduler jobs that do no work themselves,
//! they only tell the daemon's loop that an audit or a reminder pass is due,
//! so that the loop alone decides what runs (one audit at a time).
//!
//! tokio-cron-scheduler fixes a job's UTC offset when the job is created; the
//! loop calls [`Schedule::offset_changed`] now and then and rebuilds the jobs
//! when daylight saving time has moved the zone's offset.

use chrono::{Offset, TimeZone, Utc};
use chrono_tz::Tz;
use tokio::sync::mpsc;
use tokio_cron_scheduler::{Job, JobScheduler};

use super::DaemonError;
use crate::config::ScheduleConfig;

/// What a schedule says is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tick {
    Audit,
    Reminders,
}

/// The running scheduler and its jobs.
pub struct Schedule {
    scheduler: JobScheduler,
    tz: Tz,
    /// The zone's UTC offset, in seconds, when the jobs were made.
    offset: i32,
}

fn utc_offset(tz: Tz) -> i32 {
    tz.offset_from_utc_datetime(&Utc::now().naive_utc()).fix().local_minus_utc()
}

fn schedule_error(what: &str) -> impl FnOnce(tokio_cron_scheduler::JobSchedulerError) -> DaemonError + '_ {
    move |error| DaemonError::Schedule(format!("{what}: {error}"))
}

impl Schedule {
    /// Starts a scheduler with `config`'s jobs, each sending its [`Tick`] to `ticks`.
    pub async fn start(config: &ScheduleConfig, ticks: mpsc::Sender<Tick>) -> Result<Schedule, DaemonError> {
        let scheduler = JobScheduler::new().await.map_err(schedule_error("create the scheduler"))?;
        let tz = config.tz().map_err(DaemonError::Schedule)?;
        let mut schedule = Schedule { scheduler, tz, offset: utc_offset(tz) };
        schedule.add_jobs(config, ticks).await?;
        schedule.scheduler.start().await.map_err(schedule_error("start the scheduler"))?;
        Ok(schedule)
    }

    async fn add_jobs(&mut self, config: &ScheduleConfig, ticks: mpsc::Sender<Tick>) -> Result<(), DaemonError> {
        let mut wanted = vec![(Tick::Audit, config.audit.as_str())];
        if !config.reminders.trim().is_empty() {
            wanted.push((Tick::Reminders, config.reminders.as_str()));
        }
        for (tick, expression) in wanted {
            let ticks = ticks.clone();
            let job = Job::new_async_tz(expression, self.tz, move |_, _| {
                let ticks = ticks.clone();
                Box::pin(async move {
                    // The loop is busy only for a moment at a time; a full
                    // queue means ticks are piling up, and one more is no news.
                    if ticks.try_send(tick).is_err() {
                        tracing::warn!(?tick, "schedule tick dropped: the daemon has not taken the previous ones yet");
                    }
                })
            })
            .map_err(schedule_error(expression))?;
            self.scheduler.add(job).await.map_err(schedule_error("add a job"))?;
        }
        tracing::info!(
            timezone = %self.tz,
            audit = %config.audit,
            reminders = %config.reminders,
            "schedule set"
        );
        Ok(())
    }

    /// Replaces the schedule with `config`'s: a new scheduler is started
    /// first, so a failure leaves the old one running.
    pub async fn replace(&mut self, config: &ScheduleConfig, ticks: mpsc::Sender<Tick>) -> Result<(), DaemonError> {
        let old = std::mem::replace(self, Schedule::start(config, ticks).await?);
        old.shutdown().await;
        Ok(())
    }

    /// Whether the zone's UTC offset differs from when the jobs were made.
    pub fn offset_changed(&self) -> bool {
        utc_offset(self.tz) != self.offset
    }

    /// Stops scheduling.
    pub async fn shutdown(mut self) {
        if let Err(error) = self.scheduler.shutdown().await {
            tracing::warn!(%error, "scheduler shutdown");
        }
    }
}
