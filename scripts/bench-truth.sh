#!/usr/bin/env bash
# Bench truth: does `catga bench --compare` tell a real slowdown from a noisy machine?
#
# Scaffolds a project with `catga new`, adds two scenarios to its bench target, `work`, whose
# cost the variable CATGA_TRUTH_SLOWDOWN (percent) raises, and `steady`, which nothing changes,
# then, with `stress-ng --cpu 1` hogging a core beside every run:
#   1. same build:  RUNS compares with `--compare` against a saved baseline; exit 1 is a false
#                   alarm;
#   2. 10% slower:  RUNS compares; caught when it exits 1 with `work` regressed and nothing else;
#   3. 5% slower:   RUNS compares with `--instructions` (instructions per operation under
#                   callgrind); caught likewise.
# A wrong blame is a compare in which a scenario other than `work` regressed.
# The last line: `bench truth: false alarms F/10, 10% caught C/10, 5% caught D/10, wrong blame W`.
#
#   RUNS=10 DURATION=4s SAMPLES=20 scripts/bench-truth.sh   (needs stress-ng, valgrind, python3)
#   PARTS="same slow10" ...                                   (some of `same slow10 slow5`)
#
# A benchmark of the tool, not a test: it takes a while (about a minute a compare).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
runs="${RUNS:-10}"
duration="${DURATION:-4s}"
samples="${SAMPLES:-20}"
parts="${PARTS:-same slow10 slow5}"
part() { [[ " $parts " == *" $1 "* ]]; }
out="${OUT:-$root/target/bench-truth}"
mkdir -p "$out"
for tool in stress-ng valgrind python3; do
    command -v "$tool" >/dev/null || { echo "bench-truth: $tool is needed (apt-get install $tool)" >&2; exit 2; }
done

CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" cargo build --release --quiet -p catga-cli
# A copy of the CLI and of the sources the project depends on: edits to the checkout while
# this runs must not change what is measured.
cp target/release/catga "$out/catga"
catga="$out/catga"
mkdir -p "$out/source"
tar --exclude=./target --exclude=./.git -cf - . | tar -xf - -C "$out/source"

# The project, made once and kept (with its target directory) between runs of this script.
project="$out/truthproj"
if [ ! -d "$project" ]; then
    (cd "$out" && "$catga" new truthproj --no-git --runtime-path "$out/source" >/dev/null)
    python3 - "$project/benches/scenarios.rs" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
main = "fn main() -> std::process::ExitCode {\n    catga_bench::project::main(scenarios())\n}"
assert main in text, "the scaffolded bench target changed: update bench-truth.sh"
text = text.replace(main, """fn main() -> std::process::ExitCode {
    let mut all = scenarios();
    all.extend(truth::scenarios());
    catga_bench::project::main(all)
}""")
text += '''
/// bench-truth.sh's scenarios: `work` costs CATGA_TRUTH_SLOWDOWN percent more than `steady`.
mod truth {
    use catga_bench::{Group, Scenario, Workload};

    const ROUNDS: u64 = 2_000;

    pub struct Work(u64);

    impl Workload for Work {
        async fn op(&self) -> catga::Result<()> {
            let mut x = 0x9e37_79b9_7f4a_7c15_u64;
            for round in 0..self.0 {
                x = std::hint::black_box((x ^ (x >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ round);
            }
            std::hint::black_box(x);
            Ok(())
        }
    }

    fn slowdown_percent() -> u64 {
        std::env::var("CATGA_TRUTH_SLOWDOWN").ok().and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    pub fn scenarios() -> Vec<Scenario> {
        vec![
            Scenario::new("work", Group::Project, || async {
                Work(ROUNDS * (100 + slowdown_percent()) / 100)
            }),
            Scenario::new("steady", Group::Project, || async { Work(ROUNDS) }),
        ]
    }
}
'''
open(path, "w").write(text)
PY
fi
cd "$project"
# Build it now, so the first measured run does not include the build.
CATGA_TRUTH_SLOWDOWN=0 "$catga" bench --list >/dev/null

stress-ng --cpu 1 --quiet &
hog=$!
trap 'kill "$hog" 2>/dev/null || true' EXIT

bench=("$catga" bench --quiet --duration "$duration" --samples "$samples" --warmup 500ms)
# Scenarios other than `work` that regressed, and whether `work` did, in a JSON comparison.
verdicts() {
    python3 - "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
regressed = sorted({s["name"] for s in doc["comparison"]["scenarios"]
                    for m in s["metrics"] if m["verdict"] == "regressed"})
print("work" if "work" in regressed else "-", " ".join(n for n in regressed if n != "work") or "-")
PY
}

false_alarms=0 caught10=0 caught5=0 wrong_blame=0
# compare LABEL SLOWDOWN BASELINE EXTRA...: one compare; sets `code`, `work` and `others`.
compare() {
    local label=$1 slowdown=$2 baseline=$3
    shift 3
    set +e
    CATGA_TRUTH_SLOWDOWN=$slowdown "${bench[@]}" "$@" --compare "$baseline" --format json \
        > "$out/$label.json" 2> "$out/$label.err"
    code=$?
    set -e
    if [ "$code" -eq 2 ]; then cat "$out/$label.err" >&2; exit 2; fi
    read -r work others < <(verdicts "$out/$label.json")
    if [ "$others" != "-" ]; then wrong_blame=$((wrong_blame + 1)); fi
    echo "$label: exit $code, work regressed: $work, others regressed: $others"
}

if part same || part slow10; then
    CATGA_TRUTH_SLOWDOWN=0 "${bench[@]}" --save "$out/baseline.json" > /dev/null
fi
if part same; then
    for run in $(seq 1 "$runs"); do
        compare "same-$run" 0 "$out/baseline.json" --threshold 5%
        if [ "$code" -ne 0 ]; then false_alarms=$((false_alarms + 1)); fi
    done
fi
if part slow10; then
    for run in $(seq 1 "$runs"); do
        compare "slow10-$run" 10 "$out/baseline.json" --threshold 5%
        if [ "$code" -eq 1 ] && [ "$work" = work ] && [ "$others" = - ]; then
            caught10=$((caught10 + 1))
        fi
    done
fi
if part slow5; then
    CATGA_TRUTH_SLOWDOWN=0 "${bench[@]}" --instructions --save "$out/baseline-instructions.json" > /dev/null
    for run in $(seq 1 "$runs"); do
        compare "slow5-$run" 5 "$out/baseline-instructions.json" --instructions --threshold 2%
        if [ "$code" -eq 1 ] && [ "$work" = work ] && [ "$others" = - ]; then
            caught5=$((caught5 + 1))
        fi
    done
fi
echo "bench truth: false alarms $false_alarms/$runs, 10% caught $caught10/$runs, 5% caught $caught5/$runs, wrong blame $wrong_blame"
