# Sourced by the scripts: where builds and models are cached, outside the
# clone, so a fresh clone on the same machine reuses them.
export CALLSCOPE_CACHE="${CALLSCOPE_CACHE:-$HOME/.cache/callscope}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CALLSCOPE_CACHE/target}"
mkdir -p "$CALLSCOPE_CACHE"
