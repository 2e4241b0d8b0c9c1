#!/usr/bin/env bash
# Builds the real-code corpus for `catga lint` (issue 3, "Real code" and "Speed"): the hand-written
# sources of tokio, hyper, serde, regex, clap, rustls and the ecosystem crates they pull in, vendored
# under target/corpus/ (gitignored, outside version control).
#
# Usage: scripts/lint-corpus.sh            # build (or reuse) target/corpus/src, print what is in it
#        CORPUS_REBUILD=1 scripts/lint-corpus.sh
#
# Output: target/corpus/src/<crate>/ (a copy of each included crate's .rs files) and
# target/corpus/MANIFEST.txt (one line per crate: name, files, lines).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$root/target/corpus"
src="$corpus/src"

# Generated platform bindings and FFI tables: machine-written, not what a lint should be judged on.
excluded='^(windows-sys|windows_[a-z0-9_]+|windows-targets|windows-link|windows-core|winapi|winapi-[a-z0-9-]+|libc|linux-raw-sys|wasi|wasip2|wit-bindgen|wit-bindgen-rt|r-efi|js-sys|web-sys|wasm-bindgen|wasm-bindgen-[a-z-]+|aws-lc-sys|unicode-ident)$'
# Generated tables inside otherwise hand-written crates (regex-syntax's Unicode tables).
excluded_dirs='unicode_tables' 

if [[ -d "$src" && -z "${CORPUS_REBUILD:-}" ]]; then
    echo "corpus exists at $src (CORPUS_REBUILD=1 to rebuild)"
else
    rm -rf "$corpus"
    mkdir -p "$corpus/manifest/src"
    cat >"$corpus/manifest/Cargo.toml" <<'TOML'
[package]
name = "catga-lint-corpus"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
tokio = { version = "1", features = ["full"] }
hyper = { version = "1", features = ["full"] }
serde = { version = "1", features = ["derive"] }
regex = "1"
clap = { version = "4", features = ["derive"] }
rustls = "0.23"
# The six projects' own ecosystem crates (same organisations), to reach the issue's ~1.2M lines.
tokio-stream = { version = "0.1", features = ["full"] }
tokio-test = "0.4"
tracing-subscriber = { version = "0.3", features = ["env-filter", "json"] }
axum = "0.8"
hyper-util = { version = "0.1", features = ["full"] }
http-body-util = "0.1"
serde_json = "1"
regex-lite = "0.1"
clap_complete = "4"
clap_mangen = "0.2"
tokio-rustls = "0.26"
rustls-native-certs = "0.8"

[workspace]
TOML
    echo 'fn main() {}' >"$corpus/manifest/src/main.rs"
    (cd "$corpus/manifest" && cargo vendor --versioned-dirs --quiet "$corpus/vendor" >/dev/null)

    mkdir -p "$src"
    for dir in "$corpus"/vendor/*/; do
        dir="${dir%/}"
        crate="$(basename "$dir")"
        # `name-1.2.3`: strip the version cargo vendor --versioned-dirs appends.
        name="$(sed -E 's/-[0-9]+\.[0-9]+\.[0-9]+.*$//' <<<"$crate")"
        if grep -Eq "$excluded" <<<"$name"; then
            continue
        fi
        # Hand-written library sources only: skip build outputs and vendored test data.
        mkdir -p "$src/$crate"
        (cd "$dir" && find . -name '*.rs' -not -path './target/*' -not -path "*/$excluded_dirs/*" -print0 |
            xargs -0 --no-run-if-empty cp --parents -t "$src/$crate")
    done
fi

{
    total_files=0
    total_lines=0
    for dir in "$src"/*/; do
        crate="$(basename "$dir")"
        files="$(find "$dir" -name '*.rs' | wc -l)"
        lines="$(find "$dir" -name '*.rs' -print0 | xargs -0 cat | wc -l)"
        total_files=$((total_files + files))
        total_lines=$((total_lines + lines))
        printf '%-40s %6d files %9d lines\n' "$crate" "$files" "$lines"
    done
    printf '%-40s %6d files %9d lines\n' "TOTAL" "$total_files" "$total_lines"
} | tee "$corpus/MANIFEST.txt"
echo "excluded (generated bindings/tables): $(ls "$corpus/vendor" | sed -E 's/-[0-9]+\.[0-9]+\.[0-9]+.*$//' | grep -E "$excluded" | sort -u | tr '\n' ' ')"
