//! The SARIF 2.1.0 report, for code-scanning dashboards: one run whose tool
//! driver is trustwarden with one reporting descriptor per rule, and one
//! result per finding located logically at the resource ARN (IAM findings
//! have no source file). Chains become code flows; archived findings carry an
//! external suppression; resolved findings are `pass` results, absent from
//! the baseline.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};

use crate::findings::{Finding, Severity, Status};

use super::{AccountState, Format, Report, ReportError, display};

/// The SARIF schema a log names in its `$schema`.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key of the finding id in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "trustwardenFindingId/v1";

pub(super) fn render(report: &Report, out: &mut dyn Write) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut *out, &log(report)).map_err(ReportError::json(Format::Sarif))?;
    out.write_all(b"\n").map_err(ReportError::write(Format::Sarif))
}

/// SARIF `level` for a severity: critical/high are errors, medium a warning,
/// low and info notes.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The CVSS-like score GitHub code scanning reads from
/// `properties.security-severity` (a number in a string; over 9.0 is
/// critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low).
pub fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

fn log(report: &Report) -> Value {
    let rules = rules(report);
    let rule_index: BTreeMap<&str, usize> = rules.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let results: Vec<Value> = report.findings.iter().map(|f| result(f, rule_index.get(f.rule.as_str()))).collect();
    let run = &report.run;
    let notifications: Vec<Value> = run
        .accounts
        .iter()
        .filter(|a| a.status == AccountState::Failed)
        .map(|a| {
            json!({
                "level": "error",
                "message": {"text": format!(
                    "account {} could not be collected: {}",
                    a.account,
                    a.error.as_deref().unwrap_or("no error recorded")
                )},
                "descriptor": {"id": "account-collection-failed"},
                "properties": {"account": a.account},
            })
        })
        .collect();
    let mut invocation = json!({
        "executionSuccessful": run.status != super::RunStatus::Failed,
        "startTimeUtc": display::rfc3339(&run.started),
        "endTimeUtc": display::rfc3339(&run.finished),
    });
    if !notifications.is_empty() {
        invocation["toolExecutionNotifications"] = Value::Array(notifications);
    }
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "trustwarden",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(RuleSummary::descriptor).collect::<Vec<_>>(),
            }},
            "automationDetails": {"id": format!("trustwarden/{}", run.id)},
            "invocations": [invocation],
            "results": results,
            "properties": {
                "run": run.id,
                "source": run.source,
                "status": run.status.as_str(),
                "accounts": run.accounts,
            },
        }],
    })
}

/// What the report knows about one rule: its id, the title its findings
/// carry, and the worst severity among them.
struct RuleSummary<'a> {
    id: &'a str,
    title: &'a str,
    severity: Severity,
}

fn rules(report: &Report) -> Vec<RuleSummary<'_>> {
    let mut rules: BTreeMap<&str, RuleSummary<'_>> = BTreeMap::new();
    for f in &report.findings {
        let rule = rules.entry(&f.rule).or_insert(RuleSummary { id: &f.rule, title: &f.title, severity: f.severity });
        rule.severity = rule.severity.max(f.severity);
    }
    rules.into_values().collect()
}

impl RuleSummary<'_> {
    fn descriptor(&self) -> Value {
        let help = format!(
            "{title}. trustwarden's `{id}` rule reports one result per affected role, user, key or account: its \
             logical location is that ARN, and its properties carry the finding (outside principal or credential, \
             conditions, chain path, evidence, owner, due date). Remediation and references are in rules/{id}.toml; \
             `trustwarden findings show ID` prints a finding with its history.",
            title = self.title.trim_end_matches('.'),
            id = self.id,
        );
        json!({
            "id": self.id,
            "name": pascal_case(self.id),
            "shortDescription": {"text": self.title},
            "help": {"text": help},
            "defaultConfiguration": {"level": level(self.severity)},
            "properties": {
                "security-severity": security_severity(self.severity),
                "severity": self.severity.as_str(),
                "tags": ["security", "iam", "aws"],
            },
        })
    }
}

fn result(f: &Finding, rule_index: Option<&usize>) -> Value {
    let resolved = f.status == Status::Resolved;
    let mut result = json!({
        "ruleId": f.rule,
        "kind": if resolved { "pass" } else { "fail" },
        // SARIF: a result that is not a failure has level "none".
        "level": if resolved { "none" } else { level(f.severity) },
        "message": {"text": f.explanation},
        "locations": [{"logicalLocations": [logical_location(&f.resource)]}],
        "partialFingerprints": {FINGERPRINT_KEY: f.id},
        "baselineState": match f.status {
            Status::Resolved => "absent",
            _ if f.first_seen == f.last_seen => "new",
            _ => "unchanged",
        },
        "properties": {
            "id": f.id,
            "title": f.title,
            "severity": f.severity.as_str(),
            "security-severity": security_severity(f.severity),
            "account": f.account,
            "principal": f.principal,
            "credential": f.credential.map(|c| c.as_str()),
            "status": f.status.as_str(),
            "is_public": f.is_public,
            "path": f.path,
            "actions": f.actions,
            "conditions": f.conditions,
            "evidence": f.evidence,
            "first_seen": display::rfc3339(&f.first_seen),
            "last_seen": display::rfc3339(&f.last_seen),
            "owner": f.owner,
            "due": f.due,
        },
    });
    if let Some(&index) = rule_index {
        result["ruleIndex"] = json!(index);
    }
    if f.status == Status::Archived {
        result["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": "archived by a trustwarden suppression",
        }]);
    }
    if !f.path.is_empty() {
        let steps = f.path.len();
        let locations: Vec<Value> = f
            .path
            .iter()
            .enumerate()
            .map(|(i, arn)| {
                let role = match i {
                    0 => "outside principal".to_owned(),
                    i if i + 1 == steps => "privileged target".to_owned(),
                    i => format!("step {i}"),
                };
                json!({"location": {
                    "logicalLocations": [logical_location(arn)],
                    "message": {"text": format!("{role}: {arn}")},
                }})
            })
            .collect();
        result["codeFlows"] = json!([{
            "message": {"text": "who can become whom, outside principal first"},
            "threadFlows": [{"locations": locations}],
        }]);
    }
    result
}

fn logical_location(arn: &str) -> Value {
    json!({"name": display::arn_name(arn), "fullyQualifiedName": arn, "kind": "resource"})
}

/// `chain-to-privileged` -> `ChainToPrivileged`: SARIF's `name` is an
/// identifier, not a sentence.
fn pascal_case(id: &str) -> String {
    id.split(['-', '_'])
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_identifiers() {
        assert_eq!(pascal_case("chain-to-privileged"), "ChainToPrivileged");
        assert_eq!(pascal_case("oidc-trust-without-sub"), "OidcTrustWithoutSub");
    }

    #[test]
    fn levels_follow_severity() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "note");
        assert_eq!(level(Severity::Info), "note");
    }
}
