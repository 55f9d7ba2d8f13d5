//! Analysis without I/O: the trust graph build (`audit::trust_graph`) and the
//! whole pure analysis (`audit::analyse`: graph, zone of trust, chains, trust
//! and credential rules) on inventories already loaded, for one account of
//! 100 and 2,000 roles and organizations of 10 and 100 accounts × 50 roles.
//! Larger inventories (20,000 roles, 1,000 accounts, the 100,000-principal
//! graph) take seconds per run and are measured by `benches/scale.rs`.
//!
//! Run: `cargo bench --bench analysis`

#[allow(dead_code)]
#[path = "../examples/generate_org.rs"]
mod generate_org;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use trustwarden::audit::{analyse, trust_graph};
use trustwarden::collect::{Inventory, SourceSpec, collect};
use trustwarden::config::Config;
use trustwarden::rules::RulePack;
use trustwarden::rules::trust::TrustRules;

fn inventory(runtime: &tokio::runtime::Runtime, dir: &std::path::Path, accounts: usize, roles: usize) -> Inventory {
    let mut options = generate_org::Options::new(dir);
    (options.accounts, options.roles, options.users) = (accounts, roles, roles / 10);
    generate_org::generate(&options).expect("snapshot generated");
    runtime.block_on(collect(&SourceSpec::Snapshot(dir.to_owned()))).expect("snapshot loads").inventory
}

fn bench_analysis(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let data = tempfile::tempdir().expect("tempdir");
    let config = Config::default();
    let pack = RulePack::builtin().unwrap();
    let trust_rules = TrustRules::from_pack(&pack, &config);
    let mut group = c.benchmark_group("analysis");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(10));
    for (label, accounts, roles) in
        [("one-account", 1, 100), ("one-account", 1, 2_000), ("organization", 10, 50), ("organization", 100, 50)]
    {
        let name = format!("{accounts}x{roles}");
        let inventory = inventory(&runtime, &data.path().join(&name), accounts, roles);
        let now = inventory.collected_at.expect("the generator writes collected_at");
        let principals: usize = inventory.accounts.iter().map(|a| a.roles.len() + a.users.len()).sum();
        group.throughput(Throughput::Elements(principals as u64));
        group.bench_with_input(BenchmarkId::new(format!("{label}/trust-graph"), &name), &inventory, |b, inventory| {
            b.iter(|| black_box(trust_graph(inventory, &config, &trust_rules)))
        });
        group.bench_with_input(BenchmarkId::new(format!("{label}/analyse"), &name), &inventory, |b, inventory| {
            b.iter(|| black_box(analyse(inventory, &config, &pack, now)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_analysis);
criterion_main!(benches);
