//! Every one of the 1,594 AWS managed policies in shared/real-world must parse,
//! and evaluating requests against them must behave as their text says.

use std::io::Read;
use std::path::PathBuf;

use serde_json::Value;
use trustwarden::eval::{Caller, Context, PolicySet, Request, evaluate};
use trustwarden::policy::Policy;

fn managed_policies() -> serde_json::Map<String, Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/real-world/aws-managed-policies.json.gz");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).expect("gzip JSON");
    match serde_json::from_str(&text).expect("JSON object") {
        Value::Object(map) => map,
        _ => panic!("expected an object keyed by policy name"),
    }
}

#[test]
fn every_aws_managed_policy_parses() {
    let policies = managed_policies();
    assert!(policies.len() >= 1594, "expected the full corpus, found {}", policies.len());
    let mut statements = 0;
    let mut errors = Vec::new();
    for (name, entry) in &policies {
        match Policy::from_value(&entry["Document"]) {
            Ok(p) => statements += p.statements.len(),
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    assert!(errors.is_empty(), "{} managed policies failed to parse:\n{}", errors.len(), errors.join("\n"));
    assert_eq!(statements, 8853);
}

#[test]
fn managed_policies_decide_as_written() {
    let policies = managed_policies();
    let parse = |name: &str| Policy::from_value(&policies[name]["Document"]).unwrap();
    let admin = parse("AdministratorAccess");
    let read_only = parse("ReadOnlyAccess");
    let caller = Caller::parse("arn:aws:iam::111111111111:role/ops").unwrap();
    let decide = |policy: &Policy, action: &str, resource: &str| {
        let request = Request::new(caller.clone(), action, resource, None, Context::new());
        evaluate(&request, &PolicySet { identity: &[policy], ..Default::default() }).outcome
    };
    use trustwarden::eval::Outcome::*;
    assert_eq!(decide(&admin, "iam:CreateUser", "arn:aws:iam::111111111111:user/x"), Allow);
    assert_eq!(decide(&read_only, "s3:GetObject", "arn:aws:s3:::bucket/key"), Allow);
    assert_eq!(decide(&read_only, "s3:PutObject", "arn:aws:s3:::bucket/key"), ImplicitDeny);
    assert_eq!(decide(&read_only, "iam:CreateUser", "arn:aws:iam::111111111111:user/x"), ImplicitDeny);
}
