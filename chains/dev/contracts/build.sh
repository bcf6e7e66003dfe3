#!/usr/bin/env bash
# Rebuilds BraidToken.json and PvmReader.json from their sources. Runnable from any directory:
#   bash chains/dev/contracts/build.sh
set -euo pipefail

SOLC_VERSION="0.8.30" # pinned: changing it changes the committed bytecode
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

command -v node >/dev/null 2>&1 || { echo "build.sh: node is required" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "build.sh: npm is required" >&2; exit 1; }

installed=""
if [[ -f "$DIR/node_modules/solc/package.json" ]]; then
  installed="$(node -p 'require(process.argv[1]).version' "$DIR/node_modules/solc/package.json")"
fi
if [[ "$installed" != "$SOLC_VERSION" ]]; then
  echo "build.sh: installing solc@$SOLC_VERSION into $DIR/node_modules" >&2
  npm install --no-save --no-audit --no-fund --prefix "$DIR" "solc@$SOLC_VERSION" >&2
fi

node "$DIR/compile.js"
