#!/usr/bin/env bash
# Speed of `catga lint` over the real-code corpus (issue 3, "Speed"), measured in one run against
# a bare syn parse-and-visit pass over the same files on the same cores:
#   cold = `catga lint --no-cache --format json src`   target: cold / baseline <= 1.25
#   warm = `catga lint --format json src` (cache full) target: cold / warm     >= 10
#
# Usage: scripts/bench-lint.sh            (RUNS=N for more runs; default 5; INTERLEAVE=1 to
#                                         alternate the commands round by round)
# Needs the corpus (scripts/lint-corpus.sh, run automatically when missing). Uses hyperfine when
# installed (`apt-get install -y hyperfine`), else times repeated runs itself; both report
# medians. Raw timings are kept in target/corpus/bench-lint.json.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$root/target/corpus"
runs="${RUNS:-5}"
results="$corpus/bench-lint.json"

[[ -d "$corpus/src" ]] || "$root/scripts/lint-corpus.sh"

echo "== release build"
(cd "$root" && CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" cargo build --release --quiet \
    -p catga-cli -p catga-lints --bin catga --example syn_baseline)
catga="$root/target/release/catga"
baseline="$root/target/release/examples/syn_baseline"

# Run from the corpus directory with a relative path, as a user would run it in their checkout.
cd "$corpus"
lines="$(awk '$1 == "TOTAL" { print $4 }' MANIFEST.txt)"
echo "== corpus: $(awk '$1 == "TOTAL" { print $2 " files, " $4 " lines" }' MANIFEST.txt), $(nproc) cores"
echo "   baseline sees: $("$baseline" src)"
scanned="$("$catga" lint --no-cache --format json src | python3 -c 'import json,sys; print(json.load(sys.stdin)["files_scanned"])' || true)"
echo "   catga lint scans: ${scanned:-?} files"

# The warm command's warm-up run fills the cache; the cold command never reads it.
# INTERLEAVE=1 (or no hyperfine): run baseline, cold and warm in turn, round after round, so load
# from other work on a shared machine hits all three alike; hyperfine runs each command's runs
# back to back.
if command -v hyperfine >/dev/null && [[ -z "${INTERLEAVE:-}" ]]; then
    hyperfine --style basic --warmup 1 --runs "$runs" --ignore-failure --export-json "$results" \
        -n baseline "$baseline src" \
        -n cold "$catga lint --no-cache --format json src" \
        -n warm "$catga lint --format json src"
else
    python3 - "$runs" "$results" "$baseline src" "$catga lint --no-cache --format json src" \
        "$catga lint --format json src" <<'PY'
import json, os, resource, shlex, statistics, subprocess, sys, time
runs, out, commands = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
names = ["baseline", "cold", "warm"]

def run(command):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(shlex.split(command), stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime

for command in commands:
    run(command)  # warm-up (fills the cache for warm)
samples = {name: [] for name in names}
for round_ in range(runs):
    # Alternate the order so neither command always runs right after the other.
    order = names if round_ % 2 == 0 else ["cold", "baseline", "warm"]
    for name in order:
        samples[name].append(run(commands[names.index(name)]))
    walls = {name: samples[name][-1][0] for name in names}
    print(f"round {round_ + 1}/{runs}: " + "  ".join(f"{n} {walls[n]:.3f} s" for n in names)
          + f"  cold/baseline {walls['cold'] / walls['baseline']:.2f}  load {os.getloadavg()[0]:.2f}")
report = {"results": [
    {"command": name,
     "times": [wall for wall, _, _ in samples[name]],
     "median": statistics.median(wall for wall, _, _ in samples[name]),
     "user": statistics.mean(user for _, user, _ in samples[name]),
     "system": statistics.mean(system for _, _, system in samples[name])}
    for name in names]}
json.dump(report, open(out, "w"), indent=2)
PY
fi

python3 - "$results" "$lines" <<'PY'
import json, statistics, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
lines = int(sys.argv[2])
median = {name: statistics.median(r["times"]) for name, r in results.items()}
fastest = {name: min(r["times"]) for name, r in results.items()}
for name in ("baseline", "cold", "warm"):
    print(f"{name:>9}: median {median[name]:.3f} s  {lines / median[name]:>12,.0f} lines/s"
          f"   (fastest {fastest[name]:.3f} s)")
cold_baseline = median["cold"] / median["baseline"]
cold_warm = median["cold"] / median["warm"]
print(f"cold / baseline = {cold_baseline:.2f}  (target <= 1.25: {'met' if cold_baseline <= 1.25 else 'NOT met'})")
print(f"cold / warm     = {cold_warm:.1f}  (target >= 10: {'met' if cold_warm >= 10 else 'NOT met'})")
# On a shared machine the fastest run is the least disturbed one, and CPU time (user + system)
# does not count time spent waiting for a core: both are steadier than the median wall time.
print(f"cold / baseline, fastest runs = {fastest['cold'] / fastest['baseline']:.2f}")
if all("user" in results[name] for name in ("baseline", "cold")):
    cpu = {name: results[name]["user"] + results[name]["system"] for name in ("baseline", "cold")}
    print(f"cold / baseline, CPU time     = {cpu['cold'] / cpu['baseline']:.2f}  (mean user+system: {cpu['cold']:.2f} s / {cpu['baseline']:.2f} s)")
PY
