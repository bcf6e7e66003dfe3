#!/bin/sh
# Builds the .wasm files of this folder: the .wat sources in src/ with
# wabt's wat2wasm (apt: wabt), and the malformed binaries byte by byte.
# Run from this folder: `sh build.sh`. The notes are in cases.toml.
set -eu

wat2wasm --no-check src/unknown-import.wat -o unknown-import.wasm
wat2wasm --no-check src/unknown-braid-import.wat -o unknown-braid-import.wasm
wat2wasm --no-check src/import-wrong-signature.wat -o import-wrong-signature.wasm
wat2wasm --no-check src/memory-import.wat -o memory-import.wasm
wat2wasm --no-check src/call-missing.wat -o call-missing.wasm
wat2wasm --no-check src/call-wrong-type.wat -o call-wrong-type.wasm
wat2wasm --no-check src/call-is-a-global.wat -o call-is-a-global.wasm
wat2wasm --no-check src/memory-missing.wat -o memory-missing.wasm
wat2wasm --no-check src/memory-not-exported.wat -o memory-not-exported.wasm
wat2wasm --no-check src/reserved-export-stack-height.wat -o reserved-export-stack-height.wasm
wat2wasm --no-check src/reserved-export-start.wat -o reserved-export-start.wasm
wat2wasm --no-check src/simd.wat -o simd.wasm
wat2wasm --enable-threads --no-check src/threads-shared-memory.wat -o threads-shared-memory.wasm
wat2wasm --enable-memory64 --no-check src/memory64.wat -o memory64.wasm
wat2wasm --enable-multi-memory --no-check src/multi-memory.wat -o multi-memory.wasm
wat2wasm --enable-tail-call --no-check src/tail-call.wat -o tail-call.wasm
wat2wasm --no-check src/saturating-float-to-int.wat -o saturating-float-to-int.wasm
wat2wasm --no-check src/too-many-memory-pages.wat -o too-many-memory-pages.wasm
wat2wasm --no-check src/too-many-table-elements.wat -o too-many-table-elements.wasm
wat2wasm --no-check src/too-many-globals.wat -o too-many-globals.wasm
wat2wasm --no-check src/too-many-locals.wat -o too-many-locals.wasm
wat2wasm --no-check src/type-mismatch.wat -o type-mismatch.wasm
wat2wasm --no-check src/undefined-function.wat -o undefined-function.wasm
wat2wasm --no-check src/function-too-large.wat -o function-too-large.wasm

OK=../genesis/files/ok.wasm  # (module (memory (export "memory") 1) (func (export "call") (result i64) i64.const 0))
: > empty.wasm
printf '\000asn\001\000\000\000' > bad-magic.wasm
printf '\000asm\002\000\000\000' > version-2.wasm
printf '\000asm\015\000\001\000' > component.wasm
head -c 20 "$OK" > truncated.wasm
{ cat "$OK"; printf '\377\377'; } > trailing-garbage.wasm
{ printf '\000asm\001\000\000\000\001\177\001\140\000\001\176'; } > section-past-end.wasm
{ printf '\000asm\001\000\000\000\003\002\001\000\001\005\001\140\000\001\176'; } > sections-out-of-order.wasm
