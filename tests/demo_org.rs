//! End to end on the embedded demo organization, through the real binary:
//! the audit gives exactly the findings listed in tests/expected/demo-org.txt
//! (the table of examples/demo-org/README.md), a second run changes nothing,
//! and the documented exit codes hold.

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

fn audit_json(db: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let db = db.to_str().unwrap();
    let mut args = vec!["audit", "--source", "snapshot:examples/demo-org", "--db", db, "--format", "json"];
    args.extend_from_slice(extra);
    let output = trustwarden(&args);
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("JSON report: {e}\nstderr: {}", String::from_utf8_lossy(&output.stderr)));
    (output, report)
}

/// One line per finding: `severity rule resource subject`, sorted.
fn summary(report: &serde_json::Value) -> Vec<String> {
    let mut lines: Vec<String> = report["findings"]
        .as_array()
        .expect("findings list")
        .iter()
        .map(|f| {
            let subject = f["principal"].as_str().or(f["credential"].as_str()).unwrap_or("-");
            format!(
                "{} {} {} {}",
                f["severity"].as_str().unwrap(),
                f["rule"].as_str().unwrap(),
                f["resource"].as_str().unwrap(),
                subject
            )
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn demo_audit_gives_exactly_the_documented_findings() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let (output, report) = audit_json(&db, &[]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let expected_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expected/demo-org.txt");
    let expected: Vec<String> = std::fs::read_to_string(&expected_path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let actual = summary(&report);
    if actual != expected {
        let missing: Vec<_> = expected.iter().filter(|l| !actual.contains(l)).collect();
        let extra: Vec<_> = actual.iter().filter(|l| !expected.contains(l)).collect();
        panic!("demo findings differ from {}\nmissing: {missing:#?}\nunexpected: {extra:#?}", expected_path.display());
    }
    assert_eq!(report["run"]["status"], "ok");
    assert_eq!(report["run"]["accounts"].as_array().unwrap().len(), 4, "the suspended account is skipped");
    let chain = report["findings"].as_array().unwrap().iter().find(|f| f["rule"] == "chain-to-privileged").unwrap();
    assert_eq!(chain["path"].as_array().unwrap().len(), 4, "outside account and three roles");
    assert!(chain["evidence"].as_array().unwrap().len() >= 3, "each hop cites its statements");

    // A second run over the same data: the same ids, nothing new, nothing resolved.
    let (second, again) = audit_json(&db, &[]);
    assert_eq!(second.status.code(), Some(0));
    assert_eq!(summary(&again), actual);
    let ids = |r: &serde_json::Value| -> Vec<String> {
        let mut ids: Vec<String> =
            r["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_owned()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&again), ids(&report), "finding ids are stable across runs");
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("0 new, 0 resolved"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
}

#[test]
fn exit_codes_follow_the_readme() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let (fails, _) = audit_json(&db, &["--fail-on", "critical"]);
    assert_eq!(fails.status.code(), Some(1), "critical findings with --fail-on critical");

    let bad_config = dir.path().join("bad.toml");
    std::fs::write(&bad_config, "[zone]\naccounts = [\"not-an-account\"]\n").unwrap();
    let invalid = trustwarden(&["validate", "--config", bad_config.to_str().unwrap()]);
    assert_eq!(invalid.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("zone.accounts"));

    let missing = trustwarden(&["audit", "--source", "snapshot:/nonexistent/snapshot", "--db", db.to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2), "stderr: {}", String::from_utf8_lossy(&missing.stderr));
}
