#!/usr/bin/env bash
# Latency of `catga server` on the real-code corpus (issue 17): didChange -> publishDiagnostics for
# one file, p50 and p99 over 100 edits with the workspace index warm, and the server's memory.
#
# Usage: scripts/bench-server.sh [FILE]   (FILE relative to the corpus's src/; default: tokio's
#                                          net/tcp/stream.rs). EDITS=N for another count.
# Needs the corpus (scripts/lint-corpus.sh, run when missing). The corpus is copied outside this
# checkout first: inside it, the server would find catga's own Cargo.toml above the corpus and
# check catga's workspace instead.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$root/target/corpus"
[[ -d "$corpus/src" ]] || "$root/scripts/lint-corpus.sh"

echo "== release build"
(cd "$root" && CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" cargo build --release --quiet \
    -p catga-server --example latency)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$corpus/src" "$work/src"
file="${1:-$(cd "$work/src" && find . -path '*/tokio-1.*/src/net/tcp/stream.rs' | head -1)}"
file="src/${file#./}"
echo "== corpus: $(awk '$1 == "TOTAL" { print $2 " files, " $4 " lines" }' "$corpus/MANIFEST.txt"), $(nproc) cores; file: $file"
"$root/target/release/examples/latency" "$work" "$file" "${EDITS:-100}"
