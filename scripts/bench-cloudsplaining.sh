#!/usr/bin/env bash
# Side by side on the same file: Cloudsplaining (PyPI `cloudsplaining`, in a
# virtualenv under ~/.cache/trustwarden/bench-venv) scanning one account's
# authorization-details.json, and `trustwarden audit` of the snapshot that
# file belongs to, both pinned to one core under /usr/bin/time -v. The
# snapshots are generated with --url-encoded 0: Cloudsplaining reads policy
# documents only as JSON objects (as the AWS CLI prints them), not as the
# URL-encoded strings of the raw API. Writes target/bench-results/cloudsplaining.md.
#
#   scripts/bench-cloudsplaining.sh [--quick]     (--quick: 2,000 roles only)
set -euo pipefail
cd "$(dirname "$0")/.."

readonly PIN="cloudsplaining==0.9.1"
readonly VENV="${TRUSTWARDEN_BENCH_VENV:-$HOME/.cache/trustwarden/bench-venv}"
DATA=${BENCH_DATA:-target/bench-data}
OUT=${BENCH_OUT:-target/bench-results}
CPU=${BENCH_CPU:-1}
CS_TIMEOUT=${CS_TIMEOUT:-3600}
sizes=(2000 20000)
[[ ${1:-} == --quick ]] && sizes=(2000)
mkdir -p "$DATA" "$OUT"

if [[ "$(cat "$VENV/.trustwarden-pin" 2>/dev/null)" != "$PIN" ]]; then
    echo "bench-cloudsplaining: installing $PIN into $VENV" >&2
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$PIN" >&2
    printf '%s' "$PIN" >"$VENV/.trustwarden-pin"
fi
[[ -x /usr/bin/time ]] || apt-get install -y time >/dev/null
cargo build --release --quiet --bin trustwarden --example generate_org

# timed LABEL COMMAND...: wall seconds and peak RSS MB of one run; a run
# stopped after CS_TIMEOUT seconds prints ">TIMEOUT".
timed() {
    local label=$1 status=0
    shift
    /usr/bin/time -v -o "$OUT/$label.time" timeout "$CS_TIMEOUT" taskset -c "$CPU" "$@" \
        >"$OUT/$label.stdout" 2>"$OUT/$label.stderr" || status=$?
    case $status in
        0) ;;
        1) [[ $label == trustwarden-* ]] || { echo "bench-cloudsplaining: $label failed, see $OUT/$label.stderr" >&2; return 1; } ;;
        124) echo ">$CS_TIMEOUT ?"; return 0 ;;
        *) echo "bench-cloudsplaining: $label failed ($status), see $OUT/$label.stderr" >&2; return 1 ;;
    esac
    awk -F': ' '
        /Elapsed \(wall clock\)/ { n = split($2, t, ":"); wall = (n == 3) ? t[1] * 3600 + t[2] * 60 + t[3] : t[1] * 60 + t[2] }
        /Maximum resident set size/ { rss = $2 / 1024 }
        END { printf "%.2f %.0f\n", wall, rss }' "$OUT/$label.time"
}

{
    echo "## Cloudsplaining side by side (one core, same authorization-details.json)"
    echo
    echo "$("$VENV/bin/cloudsplaining" --version), $("$VENV/bin/python" --version)"
    echo
    echo "| roles (users) | file MB | cloudsplaining scan s | MiB | trustwarden audit s | MiB | ratio (cloudsplaining / trustwarden) |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
} >"$OUT/cloudsplaining.md"

for roles in "${sizes[@]}"; do
    name=cmp-$roles
    if [[ ! -f $DATA/$name/snapshot.json ]]; then
        rm -rf "${DATA:?}/$name"
        target/release/examples/generate_org --out "$DATA/$name" --accounts 1 --roles "$roles" --users $((roles / 10)) --url-encoded 0
    fi
    file=$(ls -d "$DATA/$name"/[0-9]*)/authorization-details.json
    work=$(mktemp -d)
    echo "bench-cloudsplaining: $roles roles" >&2
    read -r cs_wall cs_rss < <(timed "cloudsplaining-$roles" "$VENV/bin/cloudsplaining" scan \
        --input-file "$file" --output "$work" --skip-open-report)
    read -r tw_wall tw_rss < <(timed "trustwarden-$roles" target/release/trustwarden audit \
        --source "snapshot:$DATA/$name" --db "$work/trustwarden.db" --format json --out "$work/report.json")
    rm -rf "$work"
    mb=$(du -m "$file" | cut -f1)
    ratio=$(awk -v a="${cs_wall#>}" -v b="$tw_wall" -v more="${cs_wall//[^>]/}" 'BEGIN { printf "%s%.1f×", more, a / b }')
    echo "| $roles ($((roles / 10))) | $mb | $cs_wall | $cs_rss | $tw_wall | $tw_rss | $ratio |" >>"$OUT/cloudsplaining.md"
done
cat "$OUT/cloudsplaining.md"
