#!/usr/bin/env bash
# Fresh machine to a working demo: installs what callscope needs, builds it,
# fetches and converts the Whisper model, and runs the main job on the
# bundled demo calls into ./callscope-data (transcribe, QA, index), then a
# search and a VOC digest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
. scripts/env.sh

cargo build --release -p callscope
BIN="$CARGO_TARGET_DIR/release/callscope"
mkdir -p bin && ln -sf "$BIN" bin/callscope

"$BIN" model fetch
export CALLSCOPE_DATA="${CALLSCOPE_DATA:-./callscope-data}"
"$BIN" run corpora/demo/manifest.csv
"$BIN" stats
echo
"$BIN" search 投诉 --facets --limit 5
"$BIN" digest --from 2026-09-04 --to 2026-09-06 --baseline-from 2026-09-01 --baseline-to 2026-09-03 \
  --html "$CALLSCOPE_DATA/digest.html"
echo
echo "demo workspace ready in $CALLSCOPE_DATA (report: $CALLSCOPE_DATA/digest.html)"
echo "try: bin/callscope show C20260902-0004; bin/callscope search '\"按钮位置\"'"
