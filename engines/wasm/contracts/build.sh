#!/usr/bin/env bash
# Rebuilds Braid's C WASM contracts: src/<name>.c -> build/<name>.wasm (and
# build/<name>.wat, a disassembly for review). CI never runs this; it uses the
# committed build/*.wasm. Idempotent and deterministic (a rebuild gives
# byte-identical files). Usage: ./build.sh
#
# Every module is checked after the link (see README.md, "Checks"): WASM MVP
# only (wasm-validate with every post-MVP feature disabled), imports only from
# module "braid" with exactly the rfcs/0004 signatures, exports exactly
# `memory` and `call: () -> i64`, one memory of 2 pages (max 256), no custom
# sections. The same import check runs on a probe that calls every host
# function, so the whole of include/braid_wasm.h is checked.
set -euo pipefail

HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

CLANG=clang-19
WASMLD=wasm-ld-19

need=()
command -v "$CLANG" >/dev/null 2>&1 || need+=(clang-19)
command -v "$WASMLD" >/dev/null 2>&1 || need+=(lld-19)
for t in wasm2wat wasm-validate wasm-objdump; do
    command -v "$t" >/dev/null 2>&1 || { need+=(wabt); break; }
done
if [ "${#need[@]}" -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
    echo "> installing ${need[*]}"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${need[@]}"
fi

CFLAGS=(
    --target=wasm32 -mcpu=mvp
    -O2 -nostdlib -ffreestanding -fno-builtin
    -fno-exceptions -fno-asynchronous-unwind-tables
    -Wall -Wextra -Werror
    -I include -I ../../common/include -I src
)
# Stack first (64 KiB at [0, 0x10000): an overflow traps instead of running
# into the data), then data, then the heap (__heap_base: the input copy).
# 2 pages initial, 256 pages (16 MiB) max. `call` is exported by
# __attribute__((export_name)), `memory` by default.
LDFLAGS=(
    --no-entry --stack-first -z stack-size=65536
    --initial-memory=131072 --max-memory=16777216
    --export-memory --strip-all
)

# rfcs/0004 signatures, as wasm-objdump prints them.
declare -A SIG=(
    [gas]="() -> i64"
    [input]="(i32, i32, i32) -> i64"
    [caller]="(i32) -> i64"
    [self_identity]="(i32) -> i64"
    [storage_read]="(i32, i32, i32, i32, i32) -> i64"
    [storage_write]="(i32, i32, i32, i32) -> i64"
    [storage_delete]="(i32, i32) -> i64"
    [evm_storage_read]="(i32, i32, i32) -> i64"
    [state_read]="(i32, i32, i32, i32, i32, i32) -> i64"
    [log]="(i32, i32, i32, i32) -> i64"
    [blake2b_256]="(i32, i32, i32) -> i64"
    [keccak_256]="(i32, i32, i32) -> i64"
    [ed25519_verify]="(i32, i32, i32, i32) -> i64"
    [call]="(i32, i32, i32, i64, i32, i32) -> i64"
    [revert]="(i32, i32) -> nil"
)

fail() { echo "error: $*" >&2; exit 1; }

# check <file.wasm>: prints the imported host functions.
check() {
    local f="$1" dump line sig types
    wasm-validate --disable-mutable-globals --disable-saturating-float-to-int \
        --disable-sign-extension --disable-simd --disable-multi-value \
        --disable-bulk-memory --disable-reference-types "$f" \
        || fail "$f: not a valid WASM MVP module"
    dump="$(wasm-objdump -x "$f")"
    declare -A types=()
    while read -r idx rest; do types[$idx]="$rest"; done < <(
        sed -n 's/^ - type\[\([0-9]*\)\] \(.*\)$/\1 \2/p' <<<"$dump")
    local imports=()
    while read -r line; do
        [[ "$line" =~ ^-\ func\[[0-9]+\]\ sig=([0-9]+)\ .*\<-\ ([^.]+)\.(.+)$ ]] \
            || fail "$f: unexpected import: $line"
        local s="${BASH_REMATCH[1]}" mod="${BASH_REMATCH[2]}" name="${BASH_REMATCH[3]}"
        [ "$mod" = braid ] || fail "$f: import from module '$mod'"
        [ -n "${SIG[$name]+x}" ] || fail "$f: unknown host function '$name'"
        [ "${types[$s]}" = "${SIG[$name]}" ] \
            || fail "$f: braid.$name has type ${types[$s]}, rfcs/0004 says ${SIG[$name]}"
        imports+=("$name")
    done < <(awk '/^Import\[/{on=1; next} /^[A-Z][a-z]*\[/{on=0} on' <<<"$dump")
    local exports
    exports="$(awk '/^Export\[/{on=1; next} /^[A-Z][a-z]*\[/{on=0} on' <<<"$dump")"
    [ "$(wc -l <<<"$exports")" = 2 ] || fail "$f: exports are not exactly memory and call"
    grep -q '^ - memory\[0\] -> "memory"$' <<<"$exports" || fail "$f: no memory export"
    local call_fn
    call_fn="$(sed -n 's/^ - func\[\([0-9]*\)\] .*-> "call"$/\1/p' <<<"$exports")"
    [ -n "$call_fn" ] || fail "$f: no call export"
    sig="$(sed -n "s/^ - func\[$call_fn\] sig=\([0-9]*\).*/\1/p" <<<"$dump" | head -1)"
    [ "${types[$sig]}" = "() -> i64" ] || fail "$f: call has type ${types[$sig]}"
    grep -q '^Memory\[1\]:$' <<<"$dump" || fail "$f: not exactly one memory"
    grep -q '^ - memory\[0\] pages: initial=2 max=256$' <<<"$dump" || fail "$f: memory limits"
    ! grep -q '^Custom' <<<"$dump" || fail "$f: has custom sections"
    ! grep -q '^Start' <<<"$dump" || fail "$f: has a start function"
    echo "${imports[*]}"
}

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# The header: a probe importing every host function must match the table.
cat >"$TMP/probe.c" <<'EOF'
#include "braid_wasm.h"
BRAID_ENTRY(probe) {
    uint8_t b[64] = {0};
    uint64_t r = braid_gas() + braid_input(b, 0, 1) + braid_caller(b) + braid_self_identity(b)
        + braid_storage_read(b, 1, b, 0, 1) + braid_storage_write(b, 1, b, 1)
        + braid_storage_delete(b, 1) + braid_evm_storage_read(b, b, b)
        + braid_state_read(2, b, b, 1, b, 1) + braid_log(b, 1, b, 1) + braid_blake2b_256(b, 1, b)
        + braid_keccak_256(b, 1, b) + braid_ed25519_verify(b, b, 1, b)
        + braid_call(b, b, 1, 1000, b, 1);
    if (r == 7) braid_revert(b, 1);
    return braid_return(b, 1);
}
EOF
"$CLANG" "${CFLAGS[@]}" -c "$TMP/probe.c" -o "$TMP/probe.o"
"$WASMLD" "${LDFLAGS[@]}" "$TMP/probe.o" -o "$TMP/probe.wasm"
probe_imports="$(check "$TMP/probe.wasm")"
[ "$(wc -w <<<"$probe_imports")" = "${#SIG[@]}" ] \
    || fail "header probe imports $probe_imports, expected all ${#SIG[@]}"
echo "> include/braid_wasm.h: all ${#SIG[@]} host functions match rfcs/0004"

mkdir -p build
for src in src/*.c; do
    name="$(basename "$src" .c)"
    "$CLANG" "${CFLAGS[@]}" -c "$src" -o "$TMP/$name.o"
    "$WASMLD" "${LDFLAGS[@]}" "$TMP/$name.o" -o "$TMP/$name.wasm"
    imports="$(check "$TMP/$name.wasm")"
    install -m 644 "$TMP/$name.wasm" "build/$name.wasm"
    wasm2wat "build/$name.wasm" -o "build/$name.wat"
    echo "> build/$name.wasm ($(wc -c <"build/$name.wasm") bytes; imports: $imports)"
done
