//! Large runs, one at a time, phase by phase: load a snapshot directory, build
//! the trust graph, then run the whole pure analysis (`audit::analyse`), and
//! print one JSON line with the times, the graph's size and the peak resident
//! memory (VmHWM). The snapshot comes from examples/generate_org.rs;
//! scripts/bench-all.sh runs this for every size in BENCHMARKS.md, pinned to
//! one core with taskset.
//!
//! Run: `cargo bench --bench scale -- --snapshot DIR [--label NAME]`

use std::path::PathBuf;
use std::time::Instant;

use trustwarden::audit::{analyse, trust_graph};
use trustwarden::collect::{SourceSpec, collect};
use trustwarden::config::Config;
use trustwarden::rules::RulePack;
use trustwarden::rules::trust::TrustRules;

/// Peak resident set size so far, in MB (Linux).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    kb / 1024.0
}

fn main() {
    // `cargo bench` adds `--bench`; anything else unknown is an error.
    let mut snapshot = None;
    let mut label = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--snapshot" => snapshot = args.next().map(PathBuf::from),
            "--label" => label = args.next(),
            "--bench" => {}
            other => {
                eprintln!("scale: unknown argument {other:?}; usage: --snapshot DIR [--label NAME]");
                std::process::exit(2);
            }
        }
    }
    let Some(snapshot) = snapshot else {
        eprintln!("scale: usage: cargo bench --bench scale -- --snapshot DIR [--label NAME]");
        std::process::exit(2);
    };
    let label = label.unwrap_or_else(|| snapshot.display().to_string());

    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let started = Instant::now();
    let collection = runtime.block_on(collect(&SourceSpec::Snapshot(snapshot.clone()))).unwrap_or_else(|error| {
        eprintln!("scale: {}: {error}", snapshot.display());
        std::process::exit(2)
    });
    let load_s = started.elapsed().as_secs_f64();
    let load_rss = peak_rss_mb();
    let inventory = collection.inventory;
    let now = inventory.collected_at.unwrap_or_else(chrono::Utc::now);
    let accounts = inventory.accounts.len();
    let roles: usize = inventory.accounts.iter().map(|a| a.roles.len()).sum();
    let users: usize = inventory.accounts.iter().map(|a| a.users.len()).sum();

    let config = Config::default();
    let pack = RulePack::builtin().unwrap();
    let trust_rules = TrustRules::from_pack(&pack, &config);
    let started = Instant::now();
    let graph = trust_graph(&inventory, &config, &trust_rules);
    let graph_s = started.elapsed().as_secs_f64();
    let (nodes, edges) = (graph.graph.node_count(), graph.graph.edge_count());
    drop(graph);

    let started = Instant::now();
    let analysis = analyse(&inventory, &config, &pack, now);
    let analyse_s = started.elapsed().as_secs_f64();
    let findings = analysis.findings.len();
    let peak = peak_rss_mb();

    let line = serde_json::json!({
        "label": label, "accounts": accounts, "roles": roles, "users": users, "principals": roles + users,
        "nodes": nodes, "edges": edges, "findings": findings,
        "load_s": load_s, "graph_s": graph_s, "analyse_s": analyse_s,
        "load_peak_rss_mb": load_rss, "peak_rss_mb": peak,
        // The graph's own slots, before anything they own on the heap.
        "edge_bytes": std::mem::size_of::<trustwarden::graph::Edge>(),
        "node_bytes": std::mem::size_of::<trustwarden::graph::Node>(),
    });
    println!("{line}");
    eprintln!(
        "scale {label}: {accounts} accounts, {} principals → load {load_s:.2}s ({load_rss:.0} MB), graph {nodes} nodes / {edges} edges in {graph_s:.2}s, analyse {analyse_s:.2}s ({findings} findings), peak {peak:.0} MB",
        roles + users
    );
}
