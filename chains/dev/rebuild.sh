#!/usr/bin/env bash
# Rebuilds the dev chain's artifacts: the token contract (solc from npm), then
# the bundled blocks (signed with the public dev keys; byte-for-byte reproducible).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/contracts/build.sh"
cd "$here/../.."
cargo run --release -q -p braid -- dev-blocks chains/dev
