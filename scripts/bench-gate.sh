#!/usr/bin/env bash
# Checks that `catga bench --compare` tells noise from a regression on this machine:
#   1. saves a baseline, then compares RUNS more runs of the same build with it (every one must
#      exit 0: no false alarm);
#   2. compares a run with a copy of the baseline whose runtime scenarios (not the references:
#      they stand for the machine) had latencies and CPU time 30% lower and throughput 30% higher
#      (it must exit 1, naming those scenarios).
# Usage: RUNS=5 DURATION=3s scripts/bench-gate.sh   (needs python3 for the synthetic baseline)
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${RUNS:-5}"
duration="${DURATION:-3s}"
out="${OUT:-target/bench-gate}"
mkdir -p "$out"
cargo build --release -q -p catga-cli
catga=target/release/catga
bench=("$catga" bench --quiet --duration "$duration" --warmup 500ms)

"${bench[@]}" --save "$out/baseline.json" > "$out/baseline.txt"
false_alarms=0
for run in $(seq 1 "$runs"); do
    if "${bench[@]}" --compare "$out/baseline.json" --save "$out/run$run.json" > "$out/run$run.txt"; then
        echo "same build, run $run: no regression"
    else
        echo "same build, run $run: FALSE ALARM (exit $?)"; false_alarms=$((false_alarms + 1))
        grep REGRESSED "$out/run$run.txt" || true
    fi
done

python3 - "$out/baseline.json" "$out/faster.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
for s in report["scenarios"]:
    if s["group"] == "baseline":
        continue
    for k in list(s["latency_ns"]): s["latency_ns"][k] *= 0.7
    s["throughput_ops_s"] *= 1.3
    if "cpu_ns_per_op" in s: s["cpu_ns_per_op"] *= 0.7
    for sample in s["samples"]:
        sample["p50_ns"] *= 0.7; sample["p99_ns"] *= 0.7; sample["throughput_ops_s"] *= 1.3
        if "cpu_ns_per_op" in sample: sample["cpu_ns_per_op"] *= 0.7
json.dump(report, open(sys.argv[2], "w"), indent=1)
PY
set +e
"${bench[@]}" --compare "$out/faster.json" > "$out/faster.txt"
code=$?
set -e
regressed=$(grep -c REGRESSED "$out/faster.txt" || true)
echo "30% faster baseline: exit $code, $regressed regressed metrics"
echo "false alarms: $false_alarms of $runs"
[ "$false_alarms" -eq 0 ] && [ "$code" -eq 1 ]
