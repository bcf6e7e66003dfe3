#!/usr/bin/env bash
# Installs the system packages Braid's build needs on a fresh Debian machine
# that has only the Rust toolchain. Idempotent: installs nothing when all is there.
#   libclang-dev  bindgen in the `rocksdb` crate's build script needs libclang.
set -euo pipefail
needed=()
dpkg -s libclang-dev >/dev/null 2>&1 || needed+=(libclang-dev)
if [ ${#needed[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing ${needed[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${needed[@]}" >/dev/null
fi
