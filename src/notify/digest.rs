//! The digest sent after a run: what is new, what was resolved, what came
//! back, how many findings are still active by severity, and the worst ones
//! in full; a plain-text part and an HTML part saying the same.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::{escape_html, message_id};
use crate::config::DigestConfig;
use crate::findings::{Finding, Severity, Status};
use crate::store::{NewMessage, RecordedRun, RunResult, StoreError};

/// The digest for each recipient, or none when the run changed nothing and
/// `send_when_unchanged` is off.
pub(super) fn messages(
    config: &DigestConfig,
    domain: &str,
    run: &RecordedRun<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<NewMessage>, StoreError> {
    if config.recipients.is_empty() {
        return Ok(Vec::new());
    }
    let digest = Digest::of(run.result());
    if !digest.changed() && !config.send_when_unchanged {
        return Ok(Vec::new());
    }
    let detailed = run.active_findings(config.detail_severity)?;
    let subject = digest.subject(run.result());
    let body_text = digest.text(run.result(), &detailed, config);
    let body_html = digest.html(run.result(), &detailed, config);
    let run_id = &run.result().run.id;
    Ok(config
        .recipients
        .iter()
        .map(|recipient| NewMessage {
            message_id: message_id("digest", &format!("{run_id}\n{recipient}"), domain),
            kind: "digest".into(),
            recipient: recipient.clone(),
            subject: subject.clone(),
            body_text: body_text.clone(),
            body_html: Some(body_html.clone()),
            created: now,
            dedupe_key: Some(format!("digest:{run_id}:{recipient}")),
        })
        .collect())
}

/// One titled list of findings.
struct Section<'a> {
    title: &'static str,
    findings: Vec<&'a Finding>,
}

struct Digest<'a> {
    sections: Vec<Section<'a>>,
    failed_accounts: Vec<(&'a str, &'a str)>,
}

impl<'a> Digest<'a> {
    fn of(result: &'a RunResult) -> Digest<'a> {
        let sections = vec![
            // A new finding that arrives archived (a trusted vendor, an
            // existing suppression) is not news.
            Section { title: "New", findings: result.new.iter().filter(|f| f.status == Status::Active).collect() },
            Section { title: "Reappeared", findings: result.reappeared.iter().collect() },
            Section { title: "Active again (suppression ended)", findings: result.reactivated.iter().collect() },
            Section { title: "Resolved", findings: result.resolved.iter().collect() },
            Section { title: "Archived", findings: result.archived.iter().collect() },
        ];
        let failed_accounts = result
            .run
            .accounts
            .iter()
            .filter_map(|a| a.error.as_deref().map(|error| (a.account.as_str(), error)))
            .collect();
        Digest { sections, failed_accounts }
    }

    fn changed(&self) -> bool {
        !self.failed_accounts.is_empty() || self.sections.iter().any(|s| !s.findings.is_empty())
    }

    fn count(&self, title: &str) -> usize {
        self.sections.iter().find(|s| s.title == title).map_or(0, |s| s.findings.len())
    }

    fn subject(&self, result: &RunResult) -> String {
        let active = &result.run.counts.active;
        let mut subject = format!(
            "[trustwarden] {} new, {} resolved; {} critical and {} high active",
            self.count("New") + self.count("Reappeared") + self.count("Active again (suppression ended)"),
            self.count("Resolved"),
            active.critical,
            active.high
        );
        if !self.failed_accounts.is_empty() {
            let _ = write!(subject, "; {} accounts failed", self.failed_accounts.len());
        }
        subject
    }

    fn text(&self, result: &RunResult, detailed: &[Finding], config: &DigestConfig) -> String {
        let run = &result.run;
        let mut out = String::new();
        let _ = writeln!(out, "trustwarden audit run {} ({}), source {}", run.id, run.status, run.source);
        let _ = writeln!(
            out,
            "started {}, finished {}, {} accounts",
            run.started.to_rfc3339(),
            run.finished.to_rfc3339(),
            run.accounts.len()
        );
        let _ = writeln!(out, "\nStill active, by severity:");
        for severity in Severity::ALL {
            let _ = writeln!(out, "  {:<9} {}", severity.as_str(), run.counts.active.get(severity));
        }
        if !self.failed_accounts.is_empty() {
            let _ = writeln!(out, "\nAccounts that could not be collected (their findings are unchanged):");
            for (account, error) in &self.failed_accounts {
                let _ = writeln!(out, "  {account}: {error}");
            }
        }
        for section in self.sections.iter().filter(|s| !s.findings.is_empty()) {
            let _ = writeln!(out, "\n{} ({})", section.title, section.findings.len());
            for finding in section.findings.iter().take(config.max_listed) {
                let _ = writeln!(out, "  [{}] {}", finding.severity, finding.title);
                let _ = writeln!(
                    out,
                    "      {} in {} ({}, {})",
                    finding.resource, finding.account, finding.rule, finding.id
                );
            }
            if section.findings.len() > config.max_listed {
                let _ = writeln!(out, "  ... and {} more", section.findings.len() - config.max_listed);
            }
        }
        if !self.changed() {
            let _ = writeln!(out, "\nNothing changed since the last run.");
        }
        if !detailed.is_empty() {
            let _ = writeln!(out, "\nActive {} and worse, in full ({})", config.detail_severity, detailed.len());
            for finding in detailed.iter().take(config.max_listed) {
                let _ = writeln!(out);
                for (label, value) in details(finding) {
                    let _ = writeln!(out, "  {label:<11} {value}");
                }
            }
            if detailed.len() > config.max_listed {
                let _ = writeln!(out, "\n  ... and {} more", detailed.len() - config.max_listed);
            }
        }
        let _ = writeln!(out, "\n`trustwarden findings show ID` explains a finding; `findings suppress` archives one.");
        out
    }

    fn html(&self, result: &RunResult, detailed: &[Finding], config: &DigestConfig) -> String {
        let run = &result.run;
        let mut out = String::from(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>trustwarden digest</title></head><body style=\"font-family: sans-serif\">\n",
        );
        let _ = writeln!(
            out,
            "<h1>trustwarden audit run {}</h1>\n<p>Status <b>{}</b>, source <code>{}</code>, {} accounts, finished {}.</p>",
            escape_html(&run.id),
            run.status,
            escape_html(&run.source),
            run.accounts.len(),
            escape_html(&run.finished.to_rfc3339())
        );
        out.push_str(
            "<h2>Still active</h2>\n<table border=\"1\" cellpadding=\"4\" style=\"border-collapse: collapse\"><tr>",
        );
        for severity in Severity::ALL {
            let _ = write!(out, "<th>{severity}</th>");
        }
        out.push_str("</tr><tr>");
        for severity in Severity::ALL {
            let _ = write!(out, "<td>{}</td>", run.counts.active.get(severity));
        }
        out.push_str("</tr></table>\n");
        if !self.failed_accounts.is_empty() {
            out.push_str("<h2>Accounts that could not be collected</h2>\n<ul>\n");
            for (account, error) in &self.failed_accounts {
                let _ = writeln!(out, "<li><code>{}</code>: {}</li>", escape_html(account), escape_html(error));
            }
            out.push_str("</ul>\n");
        }
        for section in self.sections.iter().filter(|s| !s.findings.is_empty()) {
            let _ = writeln!(out, "<h2>{} ({})</h2>\n<ul>", section.title, section.findings.len());
            for finding in section.findings.iter().take(config.max_listed) {
                let _ = writeln!(
                    out,
                    "<li><b>[{}]</b> {}<br><code>{}</code> in {} ({}, <code>{}</code>)</li>",
                    finding.severity,
                    escape_html(&finding.title),
                    escape_html(&finding.resource),
                    escape_html(&finding.account),
                    escape_html(&finding.rule),
                    escape_html(&finding.id)
                );
            }
            if section.findings.len() > config.max_listed {
                let _ = writeln!(out, "<li>... and {} more</li>", section.findings.len() - config.max_listed);
            }
            out.push_str("</ul>\n");
        }
        if !self.changed() {
            out.push_str("<p>Nothing changed since the last run.</p>\n");
        }
        if !detailed.is_empty() {
            let _ = writeln!(out, "<h2>Active {} and worse, in full ({})</h2>", config.detail_severity, detailed.len());
            for finding in detailed.iter().take(config.max_listed) {
                out.push_str(
                    "<table border=\"1\" cellpadding=\"4\" style=\"border-collapse: collapse; margin-bottom: 1em\">\n",
                );
                for (label, value) in details(finding) {
                    let _ = writeln!(out, "<tr><th align=\"left\">{label}</th><td>{}</td></tr>", escape_html(&value));
                }
                out.push_str("</table>\n");
            }
        }
        out.push_str("</body></html>\n");
        out
    }
}

/// Every field of a finding worth reading, as label and text.
fn details(finding: &Finding) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("finding", format!("[{}] {}", finding.severity, finding.title)),
        ("id", finding.id.clone()),
        ("rule", finding.rule.clone()),
        ("account", finding.account.clone()),
        ("resource", finding.resource.clone()),
    ];
    rows.extend(finding.principal.clone().map(|p| ("principal", p)));
    rows.extend(finding.credential.map(|c| ("credential", c.as_str().to_owned())));
    if !finding.actions.is_empty() {
        rows.push(("actions", finding.actions.join(", ")));
    }
    for condition in &finding.conditions {
        rows.push(("condition", format!("{} {} {:?}", condition.operator, condition.key, condition.values)));
    }
    if !finding.path.is_empty() {
        rows.push(("path", finding.path.join(" -> ")));
    }
    for evidence in &finding.evidence {
        rows.push((
            "evidence",
            match &evidence.sid {
                Some(sid) => format!("{}, statement {} (Sid {sid})", evidence.policy, evidence.statement),
                None => format!("{}, statement {}", evidence.policy, evidence.statement),
            },
        ));
    }
    rows.extend(finding.owner.clone().map(|o| ("owner", o)));
    rows.extend(finding.due.map(|d| ("due", d.to_string())));
    rows.push(("first seen", finding.first_seen.to_rfc3339()));
    rows.push(("why", finding.explanation.clone()));
    rows
}
