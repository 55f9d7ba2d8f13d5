//! Runs every evaluator case in tests/cases/eval/*.jsonl (and the README's
//! examples/evaluator-cases.jsonl) and checks each decision against its
//! `expected` value. Adding a case needs no code.

use std::fs;
use std::path::Path;

use trustwarden::eval::case::Case;

fn case_files() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = fs::read_dir(root.join("tests/cases/eval"))
        .expect("tests/cases/eval exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files.push(root.join("examples/evaluator-cases.jsonl"));
    files
}

#[test]
fn every_case_gets_its_expected_decision() {
    let mut total = 0;
    let mut failures = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for file in case_files() {
        let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            total += 1;
            let case = match Case::parse(line) {
                Ok(case) => case,
                Err(e) => {
                    failures.push(format!("{name}:{}: cannot parse: {e}", n + 1));
                    continue;
                }
            };
            assert!(ids.insert(case.id.clone()), "{name}:{}: duplicate case id {}", n + 1, case.id);
            let Some(expected) = case.expected else {
                failures.push(format!("{name}:{}: case {} has no expected decision", n + 1, case.id));
                continue;
            };
            let decision = case.evaluate();
            if decision.outcome != expected {
                let note = serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("note").and_then(|n| n.as_str()).map(str::to_owned))
                    .unwrap_or_default();
                failures.push(format!(
                    "{name}:{}: {}: expected {expected:?}, got {:?} ({}) — {note}",
                    n + 1,
                    case.id,
                    decision.outcome,
                    decision.reason.describe()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {total} cases failed:\n{}", failures.len(), failures.join("\n"));
    assert!(total >= 600, "the evaluator corpus should hold at least 600 cases, found {total}");
    println!("{total} evaluator cases passed");
}
