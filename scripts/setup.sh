#!/usr/bin/env bash
# Fresh machine to a working demo: installs what callscope needs, builds it,
# fetches and converts the Whisper model, and runs the main job on the
# bundled demo calls into ./callscope-data (transcribe, QA, index), imports
# and scores a labelled synthetic history beside them (six weeks of
# generated transcripts, team 合成历史, agents SYN-*: a rising complaint, a
# fix, an agent whose quality drops), then a search and a VOC digest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
. scripts/env.sh

cargo build --release -p callscope
cargo build --release -p callscope-testkit --example demo_history
BIN="$CARGO_TARGET_DIR/release/callscope"
mkdir -p bin && ln -sf "$BIN" bin/callscope

"$BIN" model fetch
export CALLSCOPE_DATA="${CALLSCOPE_DATA:-./callscope-data}"
"$BIN" run corpora/demo/manifest.csv
# The synthetic history (transcripts only, no audio; callscope-testkit's
# demo_history): 2026-07-27..2026-09-06, every call labelled 合成历史.
mkdir -p "$CALLSCOPE_DATA"
"$CARGO_TARGET_DIR/release/examples/demo_history" >"$CALLSCOPE_DATA/synthetic-history.jsonl"
"$BIN" import "$CALLSCOPE_DATA/synthetic-history.jsonl"
"$BIN" qa --scorecard corpora/scorecards/after_sales.toml --team 合成历史 --top 3
# The review queue (复核) by the sampling plan, for the web workspace.
"$BIN" review assign
"$BIN" stats
echo
"$BIN" search 投诉 --facets --limit 5
# The last week (2026-08-31..2026-09-06: the demo recordings and the
# history's last week) against the four weeks before.
"$BIN" digest --from 2026-08-31 --to 2026-09-06 --html "$CALLSCOPE_DATA/digest.html"
echo
echo "demo workspace ready in $CALLSCOPE_DATA (report: $CALLSCOPE_DATA/digest.html)"
echo "team 合成历史 (agents SYN-*) is a synthetic history of generated transcripts, not real calls"
echo "try: bin/callscope show C20260902-0004; bin/callscope search '\"按钮位置\"'"
