#!/usr/bin/env bash
# Fresh PostgreSQL cost: N gates (default 50), each with `database: postgres` and one `sql`
# step, run one at a time on the throw-away cluster. Reports the cluster start and the cost per
# gate once the cluster is up (create + the step + drop), from results.json.
#
#   bench/postgres.sh [gates=50]
set -euo pipefail
n=${1:-50}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${GATERUN:-$root/target/release/gaterun}
[ -x "$bin" ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/gates"
{
  echo "stage: 0"
  echo "name: Fresh PostgreSQL"
  echo "gates:"
  for i in $(seq 1 "$n"); do
    printf '  - id: g%s\n    title: fresh\n    database: postgres\n    sql: SELECT count(*) FROM pg_class\n    expect: { count: 1 }\n' "$i"
  done
} > "$work/gates/pg.yaml"
(cd "$work" && env -u GATERUN_POSTGRES_URL "$bin" stage 0 --jobs 1 --quiet --progress never >/dev/null)
python3 - "$work/evidence/phase-1/stage-00/results.json" "$n" <<'PY'
import json, statistics, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2])
gates = r["gates"]
create = [g["steps"][0]["duration_ms"] for g in gates]
later = create[1:]
cluster = create[0] - statistics.median(later)
per_gate = (r["duration_ms"] - cluster) / n
print(f"postgres ({n} gates, --jobs 1): cluster start {cluster:.0f} ms; "
      f"CREATE DATABASE median {statistics.median(later):.0f} ms; "
      f"per gate once up (create + step + drop) {per_gate:.1f} ms; whole stage {r['duration_ms']} ms")
PY
