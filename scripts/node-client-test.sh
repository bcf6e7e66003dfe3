#!/usr/bin/env bash
# braid node driven by real Ethereum clients from npm (viem and ethers v6,
# pinned by chains/node/tests/client/package-lock.json): installs them with
# `npm ci` and runs chains/node/tests/client/client.test.mjs, which starts
# `braid node chains/dev` on a free port with a fresh database. Needs the
# release build (`cargo build --release --workspace`) and ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=chains/node/tests/client
bin="$PWD/target/release/braid"
[ -x "$bin" ] || { echo "node-client-test: $bin is missing; run cargo build --release --workspace first" >&2; exit 1; }
command -v npm >/dev/null || { echo "node-client-test: npm is required (Node 20)" >&2; exit 1; }
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
BRAID_BIN="$bin" node --test --test-concurrency=1 "$dir/client.test.mjs"
