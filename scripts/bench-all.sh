#!/usr/bin/env bash
# Re-runs every figure of BENCHMARKS.md: generates the synthetic snapshots
# (examples/generate_org.rs), audits each with the release binary under
# /usr/bin/time -v pinned to one core, measures load / graph / analysis phase
# by phase (benches/scale.rs), the 100,000-principal graph of issue 5, the
# Cloudsplaining comparison (scripts/bench-cloudsplaining.sh) and, with
# --criterion, the criterion benches. Results: target/bench-results/.
#
#   scripts/bench-all.sh [--criterion] [--quick] [--fresh]
#
#   --criterion  also run `cargo bench` for evaluator, snapshot_load, analysis
#   --quick      skip the largest runs (20,000 roles, 1,000 accounts, the 100k graph)
#   --fresh      regenerate the snapshots even when present
#
# Environment: BENCH_DATA (snapshots, default target/bench-data), BENCH_OUT
# (default target/bench-results), BENCH_CPU (core for audits, default 1),
# GRAPH_CPU (core for the issue-5 graph run, default 0), REPEAT (audit runs
# per size, the median is reported; default 3).
set -euo pipefail
cd "$(dirname "$0")/.."

criterion=false quick=false fresh=false
for arg in "$@"; do
    case $arg in
        --criterion) criterion=true ;;
        --quick) quick=true ;;
        --fresh) fresh=true ;;
        *) echo "usage: $0 [--criterion] [--quick] [--fresh]" >&2; exit 2 ;;
    esac
done

DATA=${BENCH_DATA:-target/bench-data}
OUT=${BENCH_OUT:-target/bench-results}
CPU=${BENCH_CPU:-1}
GRAPH_CPU=${GRAPH_CPU:-0}
REPEAT=${REPEAT:-3}
mkdir -p "$DATA" "$OUT"

if [[ ! -x /usr/bin/time ]]; then
    echo "bench-all: installing GNU time (Debian package time) for peak RSS" >&2
    apt-get install -y time >/dev/null
fi

echo "bench-all: building (release)" >&2
cargo build --release --quiet --bin trustwarden --example generate_org
cargo bench --quiet --no-run --bench scale 2>/dev/null
# The scale harness binary: the newest target/release/deps/scale-*.
SCALE=$(ls -t target/release/deps/scale-* | grep -v '\.d$' | head -1)
TW=target/release/trustwarden
GEN=target/release/examples/generate_org

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "rustc: $(rustc --version)"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|CPU max MHz|L2|L3)' || true
    free -m | head -2
} >"$OUT/machine.txt"

# gen NAME GENERATOR-ARGS...: a snapshot, generated once.
gen() {
    local name=$1
    shift
    if $fresh || [[ ! -f $DATA/$name/snapshot.json ]]; then
        rm -rf "${DATA:?}/$name"
        "$GEN" --out "$DATA/$name" "$@"
    fi
}

# name | generator arguments | audit? ("audit" or "-")
SETS=(
    "acct-100|--accounts 1 --roles 100 --users 10"
    "acct-2000|--accounts 1 --roles 2000 --users 200"
    "acct-20000|--accounts 1 --roles 20000 --users 2000"
    "org-10|--accounts 10 --roles 50 --users 5"
    "org-100|--accounts 100 --roles 50 --users 5"
    "org-1000|--accounts 1000 --roles 50 --users 5"
    "acct-20000-flat|--accounts 1 --roles 20000 --users 2000 --flat-density"
)
big() { [[ $1 == acct-20000* || $1 == org-1000 || $1 == graph-* ]]; }

# audit NAME: REPEAT audits with a fresh database each; appends one TSV line
# per run to audits.tsv: name, wall seconds, peak RSS MB, user s, sys s.
audit() {
    local name=$1 run db
    for run in $(seq "$REPEAT"); do
        db=$(mktemp -d)
        /usr/bin/time -v -o "$OUT/$name.time" taskset -c "$CPU" "$TW" audit \
            --source "snapshot:$DATA/$name" --db "$db/trustwarden.db" --format json --out "$db/report.json" \
            >/dev/null 2>"$OUT/$name.stderr" || [[ $? == 1 ]]
        awk -v name="$name" -F': ' '
            /Elapsed \(wall clock\)/ { n = split($2, t, ":"); wall = (n == 3) ? t[1] * 3600 + t[2] * 60 + t[3] : t[1] * 60 + t[2] }
            /Maximum resident set size/ { rss = $2 / 1024 }
            /User time/ { user = $2 } /System time/ { sys = $2 }
            END { printf "%s\t%.2f\t%.0f\t%.2f\t%.2f\n", name, wall, rss, user, sys }' "$OUT/$name.time" >>"$OUT/audits.tsv"
        rm -rf "$db"
    done
}

: >"$OUT/audits.tsv"
: >"$OUT/scale.jsonl"
for set in "${SETS[@]}"; do
    name=${set%%|*}
    args=${set#*|}
    if $quick && big "$name"; then continue; fi
    # shellcheck disable=SC2086 # the arguments are words
    gen "$name" $args
    echo "bench-all: $name: audit ×$REPEAT, then phases" >&2
    audit "$name"
    taskset -c "$CPU" "$SCALE" --snapshot "$DATA/$name" --label "$name" >>"$OUT/scale.jsonl"
done

# Issue 5: ~100,000 principals and ~500,000 edges, graph build + analysis on one core.
if ! $quick; then
    gen graph-200x500 --accounts 200 --roles 500 --users 0 --in-org-trust 600 --fanout 8
    echo "bench-all: graph-200x500 on core $GRAPH_CPU" >&2
    taskset -c "$GRAPH_CPU" "$SCALE" --snapshot "$DATA/graph-200x500" --label graph-200x500 >>"$OUT/scale.jsonl"
fi

compare_args=()
if $quick; then compare_args+=(--quick); fi
scripts/bench-cloudsplaining.sh "${compare_args[@]}" || echo "bench-all: the Cloudsplaining comparison failed" >&2

if $criterion; then
    echo "bench-all: criterion benches (several minutes)" >&2
    taskset -c "$CPU" cargo bench --bench evaluator --bench snapshot_load --bench analysis 2>&1 |
        grep -E '^[a-z].*/|time:|thrpt:' >"$OUT/criterion.txt" || true
fi

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
python3 - "$OUT" <<'PY'
import collections, json, math, statistics, sys
out = sys.argv[1]
runs = collections.defaultdict(list)
for line in open(f"{out}/audits.tsv"):
    name, wall, rss, user, sys_ = line.split("\t")
    runs[name].append((float(wall), float(rss), float(user), float(sys_)))
scale = {}
for line in open(f"{out}/scale.jsonl"):
    row = json.loads(line)
    scale[row["label"]] = row
lines = ["## trustwarden audit (release binary, one core, median of runs)", "",
         "| snapshot | principals | edges | findings | wall s (median) | runs | peak RSS MiB | load s | graph s | analyse s |",
         "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
for name, rs in runs.items():
    s = scale.get(name, {})
    walls = sorted(r[0] for r in rs)
    lines.append(f"| {name} | {s.get('principals', '')} | {s.get('edges', '')} | {s.get('findings', '')} | "
                 f"{statistics.median(walls):.2f} | {', '.join(f'{w:.2f}' for w in walls)} | {max(r[1] for r in rs):.0f} | "
                 f"{s.get('load_s', 0):.2f} | {s.get('graph_s', 0):.2f} | {s.get('analyse_s', 0):.2f} |")
lines += ["", "## growth", "", "time ∝ data^k: k = 1 is linear; the target (10× data ≤ 11× time) is k ≤ 1.04.", "",
          "| from → to | principals | wall | k (wall) | graph | edges |", "|---|---:|---:|---:|---:|---:|"]
med = {n: statistics.median(r[0] for r in rs) for n, rs in runs.items()}
for a, b in [("acct-100", "acct-2000"), ("acct-2000", "acct-20000"), ("org-10", "org-100"), ("org-100", "org-1000")]:
    if a in med and b in med:
        ga, gb = scale.get(a, {}), scale.get(b, {})
        ratio = lambda k: (gb.get(k, 0) / ga[k]) if ga.get(k) else float("nan")
        data, wall = ratio("principals"), med[b] / med[a]
        k = math.log(wall) / math.log(data) if data > 1 else float("nan")
        lines.append(f"| {a} → {b} | {data:.0f}× | {wall:.1f}× | {k:.2f} | {ratio('graph_s'):.1f}× | {ratio('edges'):.1f}× |")
if "graph-200x500" in scale:
    g = scale["graph-200x500"]
    lines += ["", "## issue 5 graph (one core)", "",
              f"{g['principals']} principals, {g['nodes']} nodes, {g['edges']} edges: graph build {g['graph_s']:.2f} s, "
              f"graph + analysis {g['analyse_s']:.2f} s, peak {g['peak_rss_mb']:.0f} MB (load {g['load_s']:.2f} s)."]
try:
    lines += ["", open(f"{out}/cloudsplaining.md").read()]
except FileNotFoundError:
    pass
open(f"{out}/summary.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
