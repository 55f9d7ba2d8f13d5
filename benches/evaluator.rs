//! Evaluator throughput: decisions per second on one core, over (1) the whole
//! evaluator case corpus and (2) realistic identity-policy sets made of AWS
//! managed policies from shared/real-world.
//!
//! Run: `cargo bench --bench evaluator`

use std::hint::black_box;
use std::io::Read;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use trustwarden::eval::case::Case;
use trustwarden::eval::{Caller, Context, PolicySet, Request, evaluate};
use trustwarden::policy::Policy;

fn corpus() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cases = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(root.join("tests/cases/eval"))
        .expect("case directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable case file");
        cases.extend(text.lines().filter(|l| !l.trim().is_empty()).filter_map(|l| Case::parse(l).ok()));
    }
    cases
}

fn managed_policies() -> serde_json::Map<String, serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/real-world/aws-managed-policies.json.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).expect("real-world corpus"))
        .read_to_string(&mut text)
        .expect("gzip");
    serde_json::from_str(&text).expect("JSON object")
}

/// One organization level's policies, borrowed.
type Levels<'a> = Vec<&'a [&'a Policy]>;

/// Borrowed policy lists for one case, built once outside the timed loop.
struct Lists<'a> {
    identity: Vec<&'a Policy>,
    boundaries: Vec<&'a Policy>,
    scps: Vec<Vec<&'a Policy>>,
    rcps: Vec<Vec<&'a Policy>>,
}

fn bench_corpus(c: &mut Criterion) {
    let cases = corpus();
    let lists: Vec<Lists> = cases
        .iter()
        .map(|case| Lists {
            identity: case.identity.iter().collect(),
            boundaries: case.boundaries.iter().collect(),
            scps: case.scps.iter().map(|l| l.iter().collect()).collect(),
            rcps: case.rcps.iter().map(|l| l.iter().collect()).collect(),
        })
        .collect();
    let levels: Vec<(Levels, Levels)> = lists
        .iter()
        .map(|l| (l.scps.iter().map(Vec::as_slice).collect(), l.rcps.iter().map(Vec::as_slice).collect()))
        .collect();
    let sets: Vec<(&Request, PolicySet)> = cases
        .iter()
        .zip(&lists)
        .zip(&levels)
        .map(|((case, l), (scps, rcps))| {
            let set = PolicySet {
                identity: &l.identity,
                boundaries: &l.boundaries,
                session: case.session.as_ref(),
                resource: case.resource.as_ref(),
                scps,
                rcps,
            };
            (&case.request, set)
        })
        .collect();

    let mut group = c.benchmark_group("evaluator");
    group.throughput(Throughput::Elements(sets.len() as u64));
    group.bench_function(format!("case-corpus/{}-cases", sets.len()), |b| {
        b.iter(|| {
            for (request, set) in &sets {
                black_box(evaluate(request, set));
            }
        })
    });
    group.finish();
}

/// A role with several large AWS managed policies attached, asked a mix of
/// allowed and denied questions: the shape of the trust graph's and the rules'
/// questions on real accounts.
fn bench_managed(c: &mut Criterion) {
    let all = managed_policies();
    let parse = |name: &str| Policy::from_value(&all[name]["Document"]).expect("managed policy parses");
    let names = [
        "ReadOnlyAccess",
        "AmazonS3FullAccess",
        "AWSLambda_FullAccess",
        "AmazonEC2FullAccess",
        "IAMUserChangePassword",
        "AmazonSSMManagedInstanceCore",
        "CloudWatchAgentServerPolicy",
        "AmazonDynamoDBReadOnlyAccess",
    ];
    let policies: Vec<Policy> = names.iter().map(|n| parse(n)).collect();
    let identity: Vec<&Policy> = policies.iter().collect();
    let caller = Caller::parse("arn:aws:sts::111111111111:assumed-role/app/session").expect("caller");
    let context = Context::new()
        .with("aws:PrincipalArn", "arn:aws:iam::111111111111:role/app")
        .with("aws:SourceIp", "10.1.2.3")
        .with("aws:CurrentTime", "2026-11-20T06:00:00Z");
    let requests: Vec<Request> = [
        ("s3:GetObject", "arn:aws:s3:::bucket/key"),
        ("s3:PutObject", "arn:aws:s3:::bucket/key"),
        ("iam:CreateUser", "arn:aws:iam::111111111111:user/x"),
        ("iam:PassRole", "arn:aws:iam::111111111111:role/admin"),
        ("ec2:RunInstances", "arn:aws:ec2:us-east-1:111111111111:instance/*"),
        ("sts:AssumeRole", "arn:aws:iam::111111111111:role/admin"),
        ("kms:Decrypt", "arn:aws:kms:us-east-1:111111111111:key/1"),
        ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:111111111111:table/t"),
        ("organizations:LeaveOrganization", "*"),
        ("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:111111111111:function:f"),
    ]
    .iter()
    .map(|(action, resource)| Request::new(caller.clone(), action, resource, None, context.clone()))
    .collect();
    let set = PolicySet { identity: &identity, ..Default::default() };
    let mut group = c.benchmark_group("evaluator");
    group.throughput(Throughput::Elements(requests.len() as u64));
    let statements: usize = policies.iter().map(|p| p.statements.len()).sum();
    group.bench_function(format!("managed-policies/{}-policies-{statements}-statements", policies.len()), |b| {
        b.iter(|| {
            for request in &requests {
                black_box(evaluate(request, &set));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_corpus, bench_managed);
criterion_main!(benches);
