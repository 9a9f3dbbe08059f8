#!/usr/bin/env bash
# Readiness latency: a service starts listening DELAY_MS after launch and records that moment;
# the gate's first step records when it ran. The difference bounds how late gaterun saw the
# service ready (it includes starting the step's `sh`). Prints the median, min and max in ms.
#
#   bench/readiness.sh [runs=20] [delay_ms=300] [probe=http|tcp]
set -euo pipefail
runs=${1:-20}
delay=${2:-300}
probe=${3:-http}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${GATERUN:-$root/target/release/gaterun}
[ -x "$bin" ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/gates" "$work/marks"
case "$probe" in
  http) ready='{ http: "${SVC_URL}/", timeout: 30s }' ;;
  tcp) ready='{ tcp: "127.0.0.1:${SVC_PORT}", timeout: 30s }' ;;
  *) echo "probe: http or tcp" >&2; exit 2 ;;
esac
{
  echo "stage: 0"
  echo "name: Readiness"
  echo "serial: true"
  echo "gates:"
  for i in $(seq 1 "$runs"); do
    cat <<GATE
  - id: r$i
    title: ready
    services:
      svc:
        run: [python3, "$here/late_listener.py"]
        env: { DELAY_MS: "$delay", MARK: "$work/marks/listen-$i" }
        ready: $ready
    run: 'date +%s%N > "$work/marks/seen-$i"'
GATE
  done
} > "$work/gates/readiness.yaml"
(cd "$work" && "$bin" stage 0 --quiet --progress never >/dev/null)
python3 - "$work/marks" "$runs" "$probe" "$delay" <<'PY'
import statistics, sys
marks, runs, probe, delay = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lat = []
for i in range(1, runs + 1):
    listen = int(open(f"{marks}/listen-{i}").read())
    seen = int(open(f"{marks}/seen-{i}").read())
    lat.append((seen - listen) / 1e6)
print(f"readiness ({probe} probe, listen after {delay} ms, {runs} runs): "
      f"median {statistics.median(lat):.1f} ms, min {min(lat):.1f} ms, max {max(lat):.1f} ms")
PY
