#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, the Whisper model
# (fetched and converted once, cached), all tests including the ones that
# run the real model, and the benchmark binary compiles.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
. scripts/env.sh

cargo fmt --all --check
cargo clippy --release --workspace --all-targets -- -D warnings
# Every crate, the callscope and callscope-bench binaries included.
cargo build --release --workspace
"$CARGO_TARGET_DIR/release/callscope" model fetch
export CALLSCOPE_MODEL_TESTS=1
# NATS JetStream and PostgreSQL on loopback for the scale-out tests.
eval "$(scripts/services.sh)"
# A hung test fails the run here, with cargo's "has been running for over
# 60 seconds" lines naming it, well inside CI's limit.
timeout --kill-after=30s 45m cargo test --release --workspace -- --test-threads=2
