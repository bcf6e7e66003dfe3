#!/usr/bin/env bash
# Rebuilds Braid's C PVM contracts: src/*.c -> build/<name>.pvm (JAM standard
# programs, Gray Paper 0.7.2 §A.7). CI never runs this; it uses the committed
# build/*.pvm. Idempotent. Usage: ./build.sh [--check]
#   --check  also run tool's self-check (contracts in polkavm's interpreter).
set -euo pipefail

HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

CLANG=clang-19
LLD=ld.lld-19

if ! command -v "$CLANG" >/dev/null 2>&1 || ! command -v "$LLD" >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
    echo "> installing clang-19 and lld-19"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y clang-19 lld-19
fi

TOOL_DIR="$HERE/tool"
export CARGO_TARGET_DIR="$TOOL_DIR/target"
echo "> building the link tool"
cargo build --quiet --locked --manifest-path "$TOOL_DIR/Cargo.toml"
TOOL="$CARGO_TARGET_DIR/debug/braid-pvm-contracts-tool"

OBJ="$CARGO_TARGET_DIR/contracts"
mkdir -p "$OBJ" build

CFLAGS=(
    --target=riscv64 -march=rv64emac -mabi=lp64e
    -O2 -ffreestanding -nostdlib -fno-builtin
    -fPIE -fvisibility=hidden -mno-relax
    -fno-stack-protector -fno-exceptions
    -fno-asynchronous-unwind-tables -fno-unwind-tables
    -ffunction-sections -fdata-sections
    -Wall -Wextra -Werror
    -I include -I ../../common/include -I src
)

for src in src/*.c; do
    name="$(basename "$src" .c)"
    echo "> $name"
    "$CLANG" "${CFLAGS[@]}" -c "$src" -o "$OBJ/$name.o"
    # A relocatable link keeps every relocation, which polkavm-linker needs.
    "$LLD" -r --emit-relocs --no-relax "$OBJ/$name.o" -o "$OBJ/$name.elf"
    "$TOOL" link "$OBJ/$name.elf" "build/$name.pvm"
done

if [ "${1:-}" = "--check" ]; then
    "$TOOL" check build
fi
