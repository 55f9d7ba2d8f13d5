//! Every report format over one fixed report (tests/fixtures/report/report.json):
//! insta snapshots of each rendering, the SARIF log validated against the
//! OASIS SARIF 2.1.0 schema, and the properties each format promises (JSON
//! round-trips, CSV columns, table width, untrusted text kept inert).

use std::path::Path;

use trustwarden::findings::Status;
use trustwarden::report::{Format, Report, RunStatus, render_to_string};

fn fixture_path(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report").join(name)
}

fn fixture() -> Report {
    let text = std::fs::read_to_string(fixture_path("report.json")).expect("read report fixture");
    serde_json::from_str(&text).expect("report fixture parses as a Report")
}

fn empty() -> Report {
    let mut report = fixture();
    report.findings.clear();
    report.run.accounts.clear();
    report.run.status = RunStatus::Failed;
    report
}

fn rendered(format: Format) -> String {
    render_to_string(&fixture(), format).unwrap_or_else(|e| panic!("render {format:?}: {e}"))
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!("report.json", rendered(Format::Json));
}

#[test]
fn csv_snapshot() {
    insta::assert_snapshot!("report.csv", rendered(Format::Csv));
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!("report.md", rendered(Format::Markdown));
}

#[test]
fn table_snapshot() {
    insta::assert_snapshot!("report.txt", rendered(Format::Table));
}

#[test]
fn sarif_snapshot() {
    insta::assert_snapshot!("report.sarif", rendered(Format::Sarif));
}

#[test]
fn html_snapshot() {
    insta::assert_snapshot!("report.html", rendered(Format::Html));
}

#[test]
fn json_round_trips_to_the_same_report() {
    let back: Report = serde_json::from_str(&rendered(Format::Json)).expect("JSON report parses");
    assert_eq!(back, fixture());
}

#[test]
fn json_has_every_documented_field() {
    let value: serde_json::Value = serde_json::from_str(&rendered(Format::Json)).expect("JSON report parses");
    for key in ["id", "started", "finished", "status", "source", "accounts"] {
        assert!(value["run"].get(key).is_some(), "run.{key}");
    }
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-json.md"))
        .expect("read docs/report-json.md");
    for finding in value["findings"].as_array().expect("findings array") {
        for (key, _) in finding.as_object().expect("finding object") {
            assert!(docs.contains(&format!("`{key}`")), "docs/report-json.md does not document findings[].{key}");
        }
        for key in [
            "id",
            "rule",
            "title",
            "severity",
            "status",
            "account",
            "resource",
            "principal",
            "credential",
            "actions",
            "conditions",
            "is_public",
            "path",
            "evidence",
            "explanation",
            "first_seen",
            "last_seen",
            "owner",
            "due",
        ] {
            assert!(finding.get(key).is_some(), "findings[].{key} is always present");
        }
    }
}

fn sarif_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(fixture_path("sarif-schema-2.1.0.json")).expect("read SARIF schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("SARIF schema is JSON");
    jsonschema::draft7::options().should_validate_formats(true).build(&schema).expect("SARIF schema compiles")
}

fn assert_valid_sarif(text: &str) {
    let log: serde_json::Value = serde_json::from_str(text).expect("SARIF log is JSON");
    let validator = sarif_validator();
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| format!("{}: {e}", e.instance_path)).collect();
    assert!(errors.is_empty(), "SARIF log violates the SARIF 2.1.0 schema:\n{}", errors.join("\n"));
}

#[test]
fn sarif_is_valid_against_the_sarif_2_1_0_schema() {
    assert_valid_sarif(&rendered(Format::Sarif));
    assert_valid_sarif(&render_to_string(&empty(), Format::Sarif).expect("render empty SARIF"));
}

#[test]
fn sarif_schema_check_rejects_a_broken_log() {
    // The validation above means something only if the schema rejects what
    // SARIF forbids.
    let mut log: serde_json::Value = serde_json::from_str(&rendered(Format::Sarif)).expect("SARIF log is JSON");
    log["runs"][0]["results"][0]["level"] = "severe".into();
    log["runs"][0]["tool"]["driver"]["rules"][0]["unknownProperty"] = true.into();
    assert!(!sarif_validator().is_valid(&log));
}

#[test]
fn sarif_results_carry_what_code_scanning_needs() {
    let log: serde_json::Value = serde_json::from_str(&rendered(Format::Sarif)).expect("SARIF log is JSON");
    let report = fixture();
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "trustwarden");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), report.findings.len());
    for (result, finding) in results.iter().zip(&report.findings) {
        assert_eq!(result["ruleId"], finding.rule.as_str());
        let rule = &rules[result["ruleIndex"].as_u64().expect("ruleIndex") as usize];
        assert_eq!(rule["id"], finding.rule.as_str());
        assert!(rule["properties"]["security-severity"].as_str().is_some_and(|s| s.parse::<f64>().is_ok()));
        assert_eq!(result["partialFingerprints"]["trustwardenFindingId/v1"], finding.id.as_str());
        assert_eq!(result["message"]["text"], finding.explanation.as_str());
        assert_eq!(result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], finding.resource.as_str());
        assert_eq!(result["properties"]["account"], finding.account.as_str());
        assert_eq!(result["properties"]["is_public"], finding.is_public);
        assert_eq!(result["properties"]["status"], finding.status.as_str());
        assert_eq!(result.get("suppressions").is_some(), finding.status == Status::Archived);
        assert_eq!(result.get("codeFlows").is_some(), !finding.path.is_empty());
        let expected_level = match (finding.status, finding.severity.as_str()) {
            (Status::Resolved, _) => "none",
            (_, "critical" | "high") => "error",
            (_, "medium") => "warning",
            _ => "note",
        };
        assert_eq!(result["level"], expected_level, "{}", finding.id);
    }
    let notifications = run["invocations"][0]["toolExecutionNotifications"].as_array().expect("notifications");
    assert_eq!(notifications.len(), 1, "one account failed to collect");
}

#[test]
fn csv_has_one_row_per_finding_with_every_column() {
    let text = rendered(Format::Csv);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().expect("CSV header").clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "id",
            "rule",
            "severity",
            "status",
            "account",
            "resource",
            "principal",
            "credential",
            "is_public",
            "actions",
            "conditions",
            "path",
            "evidence",
            "first_seen",
            "last_seen",
            "owner",
            "due",
            "title",
            "explanation"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("CSV rows parse");
    let report = fixture();
    assert_eq!(rows.len(), report.findings.len());
    let chain = rows.iter().find(|r| &r[1] == "chain-to-privileged").expect("chain row");
    assert_eq!(
        &chain[11],
        "arn:aws:iam::999988887777:root -> arn:aws:iam::111111111111:role/vendor-audit -> \
         arn:aws:iam::111111111111:role/ci-runner -> arn:aws:iam::111111111111:role/ops-admin"
    );
    assert_eq!(&chain[10], "sts:ExternalId StringEquals vendor-7f3a");
    // A spreadsheet would run the owner tag as a formula; it is defused.
    let formula = rows.iter().find(|r| &r[1] == "access-key-unused").expect("access-key-unused row");
    assert!(formula[15].starts_with("'="), "{}", &formula[15]);
}

#[test]
fn table_fits_120_columns() {
    let text = rendered(Format::Table);
    for line in text.lines() {
        assert!(line.chars().count() <= 120, "{} columns: {line}", line.chars().count());
    }
    // One line per finding, most severe first.
    let severities: Vec<&str> = text
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some(severity), Some("active" | "archived" | "resolved")) => Some(severity),
                _ => None,
            }
        })
        .collect();
    assert_eq!(severities.len(), fixture().findings.len());
    let rank = |s: &str| ["critical", "high", "medium", "low", "info"].iter().position(|&x| x == s).expect("severity");
    assert!(severities.windows(2).all(|w| rank(w[0]) <= rank(w[1])), "{severities:?}");
}

#[test]
fn untrusted_text_stays_inert_in_markdown_and_table() {
    let md = rendered(Format::Markdown);
    // Every `<` and `[` from IAM data is backslash-escaped, so no HTML and no link.
    for (i, c) in md.char_indices() {
        if c == '<' || c == '[' {
            assert!(md[..i].ends_with('\\'), "unescaped {c:?} in Markdown: {}", &md[i.saturating_sub(40)..i + 1]);
        }
    }
    assert!(md.contains("\\<img src=x onerror=alert(1)\\>"), "the owner tag is shown as text");
    assert!(md.contains("→"), "chains are drawn as a → b → c");
    let table = rendered(Format::Table);
    assert!(!table.chars().any(|c| c.is_control() && c != '\n'), "control characters in the table");
}

#[test]
fn html_data_block_cannot_close_its_script_element() {
    let html = rendered(Format::Html);
    let start = html.find(r#"<script type="application/json" id="report-data">"#).expect("data block");
    let block = &html[start..];
    let end = block.find("</script>").expect("data block end");
    let data = &block[block.find('>').expect("tag end") + 1..end];
    assert!(!data.contains('<') && !data.contains('>'), "raw angle brackets in the data block");
    let value: serde_json::Value = serde_json::from_str(data).expect("data block is JSON");
    let back: Report = serde_json::from_value(value["report"].clone()).expect("data block holds the report");
    assert_eq!(back, fixture());
    assert!(!html.contains("{{"), "unreplaced template placeholder");
    assert!(html.contains("script-src 'sha256-"), "CSP pins the script by hash");
}

#[test]
fn every_format_renders_an_empty_report() {
    let report = empty();
    for format in [Format::Table, Format::Json, Format::Csv, Format::Markdown, Format::Html, Format::Sarif] {
        let text = render_to_string(&report, format).unwrap_or_else(|e| panic!("render empty {format:?}: {e}"));
        assert!(!text.is_empty(), "{format:?}");
    }
    assert!(render_to_string(&report, Format::Table).expect("table").contains("No findings."));
}
