//! Snapshot load: reading and parsing one account's snapshot (authorization
//! details, credential report, password policy, providers) into the typed
//! inventory, for accounts of 100, 2,000 and 20,000 roles (users: a tenth of
//! the roles). The snapshots come from examples/generate_org.rs, seed 1.
//!
//! Run: `cargo bench --bench snapshot_load` (issue 4's target: 20,000 roles ≤ 1 s).

#[allow(dead_code)]
#[path = "../examples/generate_org.rs"]
mod generate_org;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use trustwarden::collect::{SourceSpec, collect};

fn bench_load(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let data = tempfile::tempdir().expect("tempdir");
    let mut group = c.benchmark_group("snapshot-load");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(10));
    for roles in [100usize, 2_000, 20_000] {
        let dir = data.path().join(format!("acct-{roles}"));
        let mut options = generate_org::Options::new(&dir);
        (options.accounts, options.roles, options.users) = (1, roles, roles / 10);
        generate_org::generate(&options).expect("snapshot generated");
        let source = SourceSpec::Snapshot(dir);
        group.throughput(Throughput::Elements(roles as u64));
        group.bench_with_input(BenchmarkId::new("one-account", format!("{roles}-roles")), &source, |b, source| {
            b.iter(|| black_box(runtime.block_on(collect(source)).expect("snapshot loads")))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_load);
criterion_main!(benches);
