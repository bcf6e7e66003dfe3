/*
 * braid_wasm.h — host functions of Braid's WASM engine (rfcs/0004) for C
 * contracts compiled with clang --target=wasm32.
 *
 * Freestanding, no libc. Include it from exactly ONE translation unit per
 * contract (every contract here is a single .c file): it defines
 * memcpy/memset/memmove/memcmp (the compiler may emit calls to them).
 *
 * Guest ABI (rfcs/0004)
 * ---------------------
 * - every import comes from module "braid" with the exact signature of the
 *   RFC table: pointers and lengths are i32 (read as u32 by the host), the
 *   results are i64 (`revert` returns nothing), `call`'s gas is i64;
 * - the module exports its memory as "memory" (wasm-ld does by default) and
 *   `call: () -> i64`, whose result is (ptr << 32) | len of the output range.
 *
 * BRAID_ENTRY(fn) defines `uint64_t fn(void)` exported as "call";
 * braid_return(ptr, len) packs the result. The input is NOT passed to the
 * entry point: braid_load_input() copies it (host function `input`) to the
 * heap (from __heap_base, growing the memory if needed).
 *
 * Every import is declared as `braid_<name>` in C (the host function `call`
 * is `braid_call`, `revert` is `braid_revert_raw` behind the noreturn
 * `braid_revert`); the attributes give the wasm import module and name, so
 * no --allow-undefined list is needed and any other undefined symbol fails
 * the link.
 */
#ifndef BRAID_WASM_H
#define BRAID_WASM_H

typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
typedef long long int64_t;
typedef unsigned long size_t;
typedef unsigned long uintptr_t;

_Static_assert(sizeof(uint32_t) == 4, "wasm32 expected");
_Static_assert(sizeof(uint64_t) == 8, "wasm32 expected");
_Static_assert(sizeof(void *) == 4, "wasm32 expected");
_Static_assert(sizeof(size_t) == 4, "wasm32 expected");

/* ---- result sentinels (as i64, rfcs/0003 and 0004) ---- */
#define BRAID_OK   ((uint64_t)0)
#define BRAID_NONE ((uint64_t)-1)
#define BRAID_WHAT ((uint64_t)-2)
#define BRAID_FULL ((uint64_t)-5)

/* ---- `call` statuses (low 32 bits of the result) ---- */
#define BRAID_CALL_HALT   0
#define BRAID_CALL_REVERT 1
#define BRAID_CALL_FAULT  2

/* ---- engine ids (state/src/key.rs) ---- */
#define BRAID_ENGINE_EVM  1
#define BRAID_ENGINE_PVM  2
#define BRAID_ENGINE_WASM 3

/* ---- host imports: module "braid", exact rfcs/0004 signatures ---- */
#define BRAID_IMPORT(name) __attribute__((import_module("braid"), import_name(#name)))

/* () -> i64: gas (fuel) left */
BRAID_IMPORT(gas) uint64_t braid_gas(void);
/* (buf, offset, len) -> i64: input length; copies input[offset..], at most len bytes */
BRAID_IMPORT(input) uint64_t braid_input(void *buf, uint32_t offset, uint32_t len);
/* (buf) -> i64: writes the caller's 20-byte identity; 0 */
BRAID_IMPORT(caller) uint64_t braid_caller(uint8_t *buf);
/* (buf) -> i64: writes the running instance's 20-byte identity; 0 */
BRAID_IMPORT(self_identity) uint64_t braid_self_identity(uint8_t *buf);
/* (key, key_len, buf, offset, len) -> i64: value length or NONE; copies value[offset..], at most len */
BRAID_IMPORT(storage_read)
uint64_t braid_storage_read(const void *key, uint32_t key_len, void *buf, uint32_t offset,
                            uint32_t len);
/* (key, key_len, value, value_len) -> i64: 0 or FULL */
BRAID_IMPORT(storage_write)
uint64_t braid_storage_write(const void *key, uint32_t key_len, const void *value,
                             uint32_t value_len);
/* (key, key_len) -> i64: 0 or FULL */
BRAID_IMPORT(storage_delete) uint64_t braid_storage_delete(const void *key, uint32_t key_len);
/* (address, slot, buf) -> i64: writes the 32-byte big-endian slot value (zero if unset); 0 */
BRAID_IMPORT(evm_storage_read)
uint64_t braid_evm_storage_read(const uint8_t *address, const uint8_t *slot, uint8_t *buf);
/* (engine, identity, key, key_len, buf, len) -> i64: value length or NONE; copies at most len */
BRAID_IMPORT(state_read)
uint64_t braid_state_read(uint32_t engine, const uint8_t *identity, const void *key,
                          uint32_t key_len, void *buf, uint32_t len);
/* (topics, topic_count, data, data_len) -> i64: 0, or WHAT for more than 4 topics */
BRAID_IMPORT(log)
uint64_t braid_log(const void *topics, uint32_t topic_count, const void *data, uint32_t data_len);
/* (data, len, out) -> i64: writes 32 bytes; 0 */
BRAID_IMPORT(blake2b_256) uint64_t braid_blake2b_256(const void *data, uint32_t len, uint8_t *out);
/* (data, len, out) -> i64: writes 32 bytes; 0 */
BRAID_IMPORT(keccak_256) uint64_t braid_keccak_256(const void *data, uint32_t len, uint8_t *out);
/* (public_key, message, message_len, signature) -> i64: 0 valid, 1 invalid */
BRAID_IMPORT(ed25519_verify)
uint64_t braid_ed25519_verify(const uint8_t *public_key, const void *message, uint32_t message_len,
                              const uint8_t *signature);
/* (identity, input, input_len, gas: i64, out, out_len) -> i64:
 * status in the low 32 bits, callee output length in the high 32 bits */
BRAID_IMPORT(call)
uint64_t braid_call(const uint8_t *identity, const void *input, uint32_t input_len, uint64_t gas,
                    void *out, uint32_t out_len);
/* (data, len) -> (): ends the invocation with Outcome::Revert(data) */
BRAID_IMPORT(revert) void braid_revert_raw(const void *data, uint32_t len);

/* Never returns (the host ends the invocation); traps if it did. */
static inline __attribute__((noreturn)) void braid_revert(const void *data, uint32_t len) {
    braid_revert_raw(data, len);
    __builtin_trap(); /* `unreachable`: not reached, the host ends the invocation */
}
#define BRAID_REVERT_STR(s) braid_revert((s), sizeof(s) - 1)

/* ---- entry point ---- */

/* Defines `uint64_t fn(void)`, exported as "call". */
#define BRAID_ENTRY(fn) __attribute__((export_name("call"))) uint64_t fn(void)

/* The `call` result: (ptr << 32) | len. */
static inline uint64_t braid_return(const void *ptr, uint32_t len) {
    return ((uint64_t)(uintptr_t)ptr << 32) | (uint64_t)len;
}

/* ---- input ---- */

extern uint8_t __heap_base; /* defined by wasm-ld: end of data + stack */

/*
 * Copies the whole input to the heap (at __heap_base, growing the memory by
 * as many 64 KiB pages as needed) and returns it; *len gets its length.
 * Traps (`unreachable`) if the memory cannot grow.
 */
static inline const uint8_t *braid_load_input(uint32_t *len) {
    uint8_t *buf = &__heap_base;
    uint32_t n = (uint32_t)braid_input(buf, 0, 0);
    uint32_t end = (uint32_t)(uintptr_t)buf + n;
    uint32_t have = (uint32_t)__builtin_wasm_memory_size(0) << 16;
    if (end > have) {
        uint32_t pages = (end - have + 0xFFFFu) >> 16;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) __builtin_trap();
    }
    if (n) braid_input(buf, 0, n);
    *len = n;
    return buf;
}

/* ---- freestanding helpers (the compiler may emit calls to these) ---- */

#define BRAID_NOBUILTIN __attribute__((no_builtin, noinline))

#include "braid_freestanding.h" /* engines/common/include */

static inline uint64_t braid_load_u64le(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static inline uint32_t braid_load_u32le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void braid_store_u64le(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

#endif /* BRAID_WASM_H */
