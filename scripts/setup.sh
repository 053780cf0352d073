#!/usr/bin/env bash
# Fresh machine to a working demo: installs what callscope needs, builds it,
# and runs the main job on the bundled demo into ./callscope-data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
. scripts/env.sh

cargo build --release
BIN="$CARGO_TARGET_DIR/release/callscope"
mkdir -p bin && ln -sf "$BIN" bin/callscope

export CALLSCOPE_DATA="${CALLSCOPE_DATA:-./callscope-data}"
"$BIN" import corpora/demo/transcripts.jsonl
"$BIN" stats
echo
echo "demo workspace ready in $CALLSCOPE_DATA; try: bin/callscope show DEMO-0001"
