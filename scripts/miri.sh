#!/usr/bin/env bash
# Runs the runtime's `unsafe` code under Miri: the in-place future slot's unit tests and the
# send paths that go through it (ready at once, suspended, dropped mid-flight, panicking), with
# both of Miri's aliasing models. Needs a nightly toolchain with the miri component:
#   rustup toolchain install nightly --component miri
set -euo pipefail
cd "$(dirname "$0")/.."

tests=(--test send_future --test handler_panic --test context_propagation --test missing_handler)
# Thousands of ids from several threads: no `unsafe` involved, and minutes under Miri.
slow=(--skip message_ids_are_unique_across_threads)

echo "== miri (tree borrows)"
MIRIFLAGS=-Zmiri-tree-borrows cargo +nightly miri test -q -p catga --lib future_slot
MIRIFLAGS=-Zmiri-tree-borrows cargo +nightly miri test -q -p catga "${tests[@]}" -- "${slow[@]}"

# Stacked borrows rejects `futures_util::future::join_all` over any self-referential future
# (plain `async` blocks that yield twice reproduce it), so `send_batch` is left to tree borrows.
echo "== miri (stacked borrows)"
cargo +nightly miri test -q -p catga --lib future_slot
cargo +nightly miri test -q -p catga "${tests[@]}" -- "${slow[@]}" --skip a_batch_of_suspended_handlers
