/*
 * reader.c — the cross-engine read benchmark: the same read `count` times in
 * one invocation, natively or across engines.
 *
 * Input: mode u8 ‖ count u32le ‖ args
 *   mode 0  native read:   args = key (the rest of the input)
 *           storage_read(key) of its own storage, `count` times
 *   mode 1  cross-engine:  args = engine u8 ‖ identity[20] ‖ key (the rest)
 *           state_read(engine, identity, key), `count` times
 *   mode 2  EVM slot:      args = address[20] ‖ slot[32] (exactly)
 *           evm_storage_read(address, slot), `count` times
 *   mode 3  setup:         args = k u8 ‖ key[k] ‖ value (the rest)
 *           storage_write(key, value) once (`count` is ignored)
 * Output: the value of the last read, at most 64 bytes (longer values are
 * truncated) — modes 0/1: empty if the key is unset; mode 2: the 32 bytes
 * (zero if the slot is unset); empty if count = 0; mode 3: empty. This is
 * the PVM twin engines/pvm/contracts/src/reader.c, with the same 64-byte
 * read buffer, so a read costs the same host-call gas in both engines
 * (storage_read 200 + 2, state_read 2100 + 2).
 * Reverts "bad input" (unknown mode, short or malformed input), "read failed"
 * (mode 1: the host answered FULL or WHAT), "storage full" (mode 3).
 *
 * The loops do nothing but the host call; every read copies into the same
 * buffer, so the last one is what is returned.
 *
 * Imports: input, storage_read, state_read, evm_storage_read, storage_write,
 * revert.
 */
#include "braid_wasm.h"

#define VALUE_CAP 64

static uint8_t value[VALUE_CAP];

static uint32_t value_len(uint64_t n) {
    if (n == BRAID_NONE) return 0;
    if (n >= BRAID_FULL) BRAID_REVERT_STR("read failed"); /* FULL or WHAT */
    return n < VALUE_CAP ? (uint32_t)n : VALUE_CAP;
}

BRAID_ENTRY(reader_main) {
    uint32_t len;
    const uint8_t *input = braid_load_input(&len);
    if (len < 5) BRAID_REVERT_STR("bad input");
    uint32_t count = braid_load_u32le(input + 1);
    const uint8_t *args = input + 5;
    uint32_t args_len = len - 5;

    switch (input[0]) {
    case 0: { /* native: storage_read(key) */
        uint64_t n = BRAID_NONE;
        for (uint32_t i = 0; i < count; i++) n = braid_storage_read(args, args_len, value, 0, VALUE_CAP);
        return braid_return(value, value_len(n));
    }
    case 1: { /* cross-engine: state_read(engine, identity, key) */
        if (args_len < 21) BRAID_REVERT_STR("bad input");
        uint32_t engine = args[0];
        const uint8_t *identity = args + 1, *key = args + 21;
        uint32_t key_len = args_len - 21;
        uint64_t n = BRAID_NONE;
        for (uint32_t i = 0; i < count; i++)
            n = braid_state_read(engine, identity, key, key_len, value, VALUE_CAP);
        return braid_return(value, value_len(n));
    }
    case 2: { /* EVM: evm_storage_read(address, slot) */
        if (args_len != 52) BRAID_REVERT_STR("bad input");
        for (uint32_t i = 0; i < count; i++) braid_evm_storage_read(args, args + 20, value);
        return braid_return(value, count ? 32 : 0);
    }
    case 3: { /* setup: storage_write(key, value) */
        if (args_len < 1 || args_len - 1 < args[0]) BRAID_REVERT_STR("bad input");
        uint32_t key_len = args[0];
        const uint8_t *key = args + 1, *val = args + 1 + key_len;
        if (braid_storage_write(key, key_len, val, args_len - 1 - key_len) != BRAID_OK)
            BRAID_REVERT_STR("storage full");
        return braid_return(value, 0);
    }
    default:
        BRAID_REVERT_STR("bad input");
    }
}
