#!/usr/bin/env bash
# Rebuilds the dev chain's artifacts:
#  1. Braid's Solidity contracts (solc from npm) -> contracts/BraidToken.json, PvmReader.json
#  2. the stack plugin engine, stripped -> plugins/libbraid_plugin_stack.so,
#     and its SHA-256 pinned in chain.toml
#  3. the bundled blocks (signed with the public dev keys; byte-for-byte
#     reproducible), which deploy contracts/Snapshot.stack on the plugin.
# The state roots `braid run` prints change when any of these change.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
bash "$here/contracts/build.sh"
cd "$root"
cargo build --release --workspace --all-targets
strip -o "$here/plugins/libbraid_plugin_stack.so" target/release/libbraid_plugin_stack.so
sha=$(sha256sum "$here/plugins/libbraid_plugin_stack.so" | cut -d' ' -f1)
sed -i "s/^sha256 = \"[0-9a-f]*\"/sha256 = \"$sha\"/" "$here/chain.toml"
echo "plugin sha256 $sha"
./target/release/braid-dev blocks chains/dev
