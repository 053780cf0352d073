#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, the Whisper model
# (fetched and converted once, cached), all tests including the ones that
# run the real model, and the benchmarks compile.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
. scripts/env.sh

cargo fmt --check
cargo clippy --release --all-targets -- -D warnings
cargo build --release
"$CARGO_TARGET_DIR/release/callscope" model fetch
export CALLSCOPE_MODEL_TESTS=1
cargo test --release -- --test-threads=2
cargo bench --no-run
