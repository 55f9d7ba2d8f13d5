//! The commands people drive by hand, through the real binary: findings
//! suppress / list / show / unsuppress, graph export, inventory, validate and
//! simulate's error lines.

use std::path::Path;
use std::process::{Command, Output};

fn trustwarden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustwarden"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "warn")
        .output()
        .expect("the trustwarden binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn audited_db(dir: &Path) -> String {
    let db = dir.join("demo.db").to_str().unwrap().to_owned();
    let out = trustwarden(&["audit", "--source", "snapshot:examples/demo-org", "--db", &db, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    db
}

fn listed(db: &str, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["findings", "--db", db, "list", "--format", "json"];
    all.extend_from_slice(args);
    let out = trustwarden(&all);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["findings"].as_array().unwrap().clone()
}

#[test]
fn suppress_list_show_and_unsuppress() {
    let dir = tempfile::tempdir().unwrap();
    let db = audited_db(dir.path());
    assert_eq!(listed(&db, &["--rule", "weak-password-policy", "--status", "active"]).len(), 3);

    let out = trustwarden(&[
        "findings",
        "--db",
        &db,
        "suppress",
        "--rule",
        "weak-password-policy",
        "--account",
        "444444444444",
        "--reason",
        "break-glass only account",
        "--by",
        "alice@example.com",
        "--until",
        "2099-01-01",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("archived 1 findings"), "{}", stdout(&out));
    let archived = listed(&db, &["--status", "archived"]);
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0]["account"], "444444444444");

    let id = archived[0]["id"].as_str().unwrap();
    let show = trustwarden(&["findings", "--db", &db, "show", id]);
    let text = stdout(&show);
    assert!(text.contains("suppressed by #1: break-glass only account (by alice@example.com)"), "{text}");
    assert!(text.contains("history:") && text.contains("active -> archived"), "{text}");

    let suppressions = stdout(&trustwarden(&["findings", "--db", &db, "suppressions"]));
    assert!(suppressions.contains("rule weak-password-policy account 444444444444"), "{suppressions}");
    let out = trustwarden(&["findings", "--db", &db, "unsuppress", "1"]);
    assert!(stdout(&out).contains("1 findings active again"), "{}", stdout(&out));
    assert!(listed(&db, &["--status", "archived"]).is_empty());

    let critical = listed(&db, &["--severity", "critical"]);
    assert!(!critical.is_empty() && critical.iter().all(|f| f["severity"] == "critical"));
    let missing = trustwarden(&["findings", "--db", &db, "show", "tw-nope"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn graph_export_selects_the_chain() {
    let out = trustwarden(&[
        "graph",
        "--source",
        "snapshot:examples/demo-org",
        "--format",
        "json",
        "--from",
        "888888888888",
        "--to",
        "arn:aws:iam::222222222222:role/org-admin",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let graph: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut nodes: Vec<&str> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["arn"].as_str().or(n["account"].as_str()).unwrap())
        .collect();
    nodes.sort();
    assert_eq!(
        nodes,
        [
            "888888888888",
            "arn:aws:iam::222222222222:role/org-admin",
            "arn:aws:iam::333333333333:role/ci-runner",
            "arn:aws:iam::333333333333:role/partner-gateway"
        ]
    );
    assert_eq!(graph["edges"].as_array().unwrap().len(), 3);

    let dot = trustwarden(&["graph", "--source", "snapshot:examples/demo-org", "--format", "dot"]);
    let text = stdout(&dot);
    assert!(
        text.starts_with("digraph trust {")
            && text.contains("\"888888888888\" -> \"arn:aws:iam::333333333333:role/partner-gateway\""),
        "{text}"
    );
    let unknown =
        trustwarden(&["graph", "--source", "snapshot:examples/demo-org", "--from", "arn:aws:iam::1:role/none"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn inventory_shows_every_account() {
    let out = trustwarden(&["inventory", "--source", "snapshot:examples/demo-org"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.contains("organization o-demo1example"), "{text}");
    for account in ["111111111111", "222222222222", "333333333333", "444444444444"] {
        assert!(text.contains(&format!("account {account}")), "{text}");
    }
    assert!(!text.contains("555555555555"), "the suspended account is skipped");
}

#[test]
fn validate_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("access-key-unused.toml"),
        "id = \"access-key-unused\"\ntitle = \"t\"\nseverity = \"medium\"\nkind = \"access-key-unused\"\ndescription = \"d\"\nremediation = \"r\"\nreferences = []\n\n[parameters]\nmax_unused_day = 3\n",
    )
    .unwrap();
    let out = trustwarden(&["validate", "--rules", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("access-key-unused.toml:10") && err.contains("max_unused_day"), "{err}");
    let ok = trustwarden(&["validate"]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(stdout(&ok).contains("built-in rules: ok"));
}

#[test]
fn simulate_reports_bad_lines_and_runs_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.jsonl");
    std::fs::write(
        &input,
        concat!(
            "{\"id\":\"ok\",\"request\":{\"principal\":\"arn:aws:iam::111111111111:user/a\",\"action\":\"s3:GetObject\",\"resource\":\"arn:aws:s3:::b/k\"},\"identityPolicies\":[{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}]}\n",
            "not json\n",
            "{\"id\":\"bad-policy\",\"request\":{\"principal\":\"arn:aws:iam::111111111111:user/a\",\"action\":\"s3:GetObject\",\"resource\":\"*\"},\"identityPolicies\":[{\"Statement\":{\"Sid\":\"X\",\"Effect\":\"Permit\",\"Action\":\"*\"}}]}\n",
        ),
    )
    .unwrap();
    let out = trustwarden(&["simulate", "--input", input.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0], serde_json::json!({"id": "ok", "decision": "Allow"}));
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[2]["id"], "bad-policy");
    assert!(
        lines[2]["error"].as_str().unwrap().contains("identityPolicies[0]: statement 0 (Sid \"X\"): Effect must be")
    );
}
