#!/usr/bin/env bash
# How long `catga new` takes, beside `cargo new` measured in the same run (the reference: the
# command users already accept as instant). Both write a fresh project with `git init`.
#
#   RUNS=30 scripts/bench-new.sh
#   CATGA=~/.cargo/bin/catga scripts/bench-new.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-30}"
# CATGA=/path/to/catga measures an installed binary instead of building one.
if [ -n "${CATGA:-}" ]; then
    catga="$CATGA"
else
    CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" cargo build --release --quiet -p catga-cli
    catga="$PWD/target/release/catga"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Median wall time in milliseconds of `$@ <dir>` over RUNS fresh directories, interleaved by the
# caller so both commands see the same machine.
declare -a catga_ms cargo_ms
elapsed_ms() {
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    echo $(( (end - start) / 1000 ))
}
for i in $(seq "$RUNS"); do
    catga_ms+=("$(elapsed_ms "$catga" new "svc$i" --path "$work/catga$i")")
    cargo_ms+=("$(elapsed_ms cargo new --quiet --name "svc$i" "$work/cargo$i")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
catga_median=$(median "${catga_ms[@]}")
cargo_median=$(median "${cargo_ms[@]}")
awk -v a="$catga_median" -v b="$cargo_median" -v n="$RUNS" 'BEGIN {
    printf "catga new: median %.1f ms, cargo new: median %.1f ms, over %d runs each; ratio %.2f\n",
        a / 1000, b / 1000, n, a / b
}'
