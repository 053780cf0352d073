#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, all tests (the
# real-model ones included), and the benchmarks compile.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
. scripts/env.sh

cargo fmt --check
cargo clippy --release --all-targets -- -D warnings
cargo test --release -- --test-threads=2
cargo bench --no-run
