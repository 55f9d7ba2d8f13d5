//! Access-key rotation deadlines as the latest run that collected each
//! account saw them, so the reminder pass can run between audits (and after
//! a restart) without collecting again.

use std::collections::HashSet;

use chrono::NaiveDate;
use rusqlite::{Connection, params};

use super::{Ctx, Store, StoreError, time_text};
use crate::findings::Credential;
use crate::rules::credentials::KeyDeadline;

const DATE_FORMAT: &str = "%Y-%m-%d";

/// Replaces the stored deadlines of every account in `collected` with
/// `deadlines` (an account collected with no active key keeps none).
pub(super) fn replace(
    conn: &Connection,
    ctx: Ctx<'_>,
    run_id: &str,
    collected: &HashSet<&str>,
    deadlines: &[KeyDeadline],
) -> Result<(), StoreError> {
    for account in collected {
        conn.prepare_cached("DELETE FROM key_deadlines WHERE account = ?1")
            .and_then(|mut stmt| stmt.execute([account]))
            .map_err(ctx.sql("clear key deadlines"))?;
    }
    for deadline in deadlines.iter().filter(|d| collected.contains(d.account.as_str())) {
        let credential = match deadline.key {
            Credential::AccessKey1 | Credential::AccessKey2 => deadline.key.as_str(),
            other => {
                return Err(StoreError::InvalidFinding(format!(
                    "key deadline of {} names {}, not an access key",
                    deadline.user_arn,
                    other.as_str()
                )));
            }
        };
        conn.prepare_cached(
            "INSERT OR REPLACE INTO key_deadlines
                 (account, user_name, user_arn, credential, last_rotated, due, owner, run_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                deadline.account,
                deadline.user,
                deadline.user_arn,
                credential,
                time_text(deadline.last_rotated),
                deadline.due.format(DATE_FORMAT).to_string(),
                deadline.owner,
                run_id,
            ])
        })
        .map_err(ctx.sql("store key deadline"))?;
    }
    Ok(())
}

impl Store {
    /// Every stored key deadline, by account, user and key.
    pub fn key_deadlines(&self) -> Result<Vec<KeyDeadline>, StoreError> {
        let ctx = self.ctx();
        type Row = (String, String, String, String, String, String, Option<String>);
        let rows: Vec<Row> = self
            .conn
            .prepare_cached(
                "SELECT account, user_name, user_arn, credential, last_rotated, due, owner FROM key_deadlines
                 ORDER BY account, user_arn, credential",
            )
            .and_then(|mut stmt| {
                stmt.query_map([], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?))
                })?
                .collect()
            })
            .map_err(ctx.sql("read key deadlines"))?;
        rows.into_iter()
            .map(|(account, user, user_arn, credential, last_rotated, due, owner)| {
                let key = match credential.as_str() {
                    "access_key_1" => Credential::AccessKey1,
                    "access_key_2" => Credential::AccessKey2,
                    other => return Err(ctx.corrupt(format!("key deadline credential {other:?} is unknown"))),
                };
                Ok(KeyDeadline {
                    last_rotated: ctx.time("key_deadlines.last_rotated", &last_rotated)?,
                    due: NaiveDate::parse_from_str(&due, DATE_FORMAT)
                        .map_err(|_| ctx.corrupt(format!("key deadline due {due:?} is not a date")))?,
                    account,
                    user,
                    user_arn,
                    key,
                    owner,
                })
            })
            .collect()
    }
}
