/*
 * reader.c — the cross-engine read benchmark's PVM contract (the WASM
 * engine has the same contract in engines/wasm/contracts/src/reader.c).
 *
 * Input: mode byte ‖ count u32 (little-endian) ‖ arguments
 *   mode 0  native:  storage_read of own key `key` (arguments: key), count times
 *   mode 1  state:   state_read(engine, identity, key) count times
 *                    (arguments: engine u8 ‖ identity[20] ‖ key)
 *   mode 2  evm:     evm_storage_read(address, slot) count times
 *                    (arguments: address[20] ‖ slot[32])
 *   mode 3  setup:   storage_write(key, value) once
 *                    (arguments: key length u8 ‖ key ‖ value)
 * Output: the last value read (at most 64 bytes; empty if none was read or
 * the key is absent), so a benchmark can check what it read. Anything else
 * reverts "bad input". The loops do nothing but the read.
 *
 * Host calls: storage_read(4), storage_write(5), evm_storage_read(7),
 * state_read(8), revert(14).
 */
#include "braid_pvm.h"

static uint8_t value[64];

BRAID_ENTRY(reader_main) {
    if (len < 5) braid_revert("bad input", 9);
    uint8_t mode = input[0];
    uint32_t count = (uint32_t)input[1] | (uint32_t)input[2] << 8 | (uint32_t)input[3] << 16 |
                     (uint32_t)input[4] << 24;
    const uint8_t *args = input + 5;
    uint64_t args_len = len - 5;
    uint64_t got = 0;
    switch (mode) {
    case 0:
        for (uint32_t i = 0; i < count; i++) got = braid_storage_read(args, args_len, value, 0, 64);
        break;
    case 1:
        if (args_len < 21) braid_revert("bad input", 9);
        for (uint32_t i = 0; i < count; i++)
            got = braid_state_read(args[0], args + 1, args + 21, args_len - 21, value, 64);
        break;
    case 2:
        if (args_len != 52) braid_revert("bad input", 9);
        for (uint32_t i = 0; i < count; i++) braid_evm_storage_read(args, args + 20, value);
        got = count ? 32 : 0;
        break;
    case 3: {
        if (args_len < 1 || args_len < 1 + (uint64_t)args[0]) braid_revert("bad input", 9);
        uint64_t key_len = args[0];
        if (braid_storage_write(args + 1, key_len, args + 1 + key_len, args_len - 1 - key_len) != BRAID_OK)
            braid_revert("storage full", 12);
        return braid_return(value, 0);
    }
    default:
        braid_revert("bad input", 9);
    }
    if (got == BRAID_NONE || count == 0) return braid_return(value, 0);
    return braid_return(value, got < 64 ? got : 64);
}
