/*
 * recorder.c — the dev-chain demo: one WASM invocation reads a value from
 * EVM state AND a value from PVM state, records both in its own storage and
 * returns them.
 *
 * Input (61 + k bytes, k = 0..255):
 *   token address[20] ‖ holder[20] ‖ PVM module identity[20] ‖ k: u8 ‖ PVM key[k]
 * - EVM: the ERC-20 balance of `holder` in `token`, with `_balances` at
 *   storage slot 0 (OpenZeppelin layout): mapping slot
 *   keccak256(pad32(holder) ‖ pad32(0)) (pad32 = left-padded with zero bytes
 *   to 32), computed with `keccak_256`, read with `evm_storage_read`
 *   (32 bytes, big-endian, zero if unset).
 * - PVM: `state_read(2, identity, key)` = that PVM module's own-storage key
 *   `key` (what its `storage_read(key)` sees). At most 1024 bytes, else
 *   reverts "pvm value too large".
 * Own storage written:
 *   "evm"       -> the 32-byte balance
 *   "pvm"       -> the PVM value bytes (deleted if the PVM key is unset)
 *   "pvm_found" -> one byte, 0x01 if the PVM key is set, else 0x00
 * Output: balance[32] ‖ PVM value (empty if unset).
 * Reverts "bad input" on another input length, "storage full" if a write
 * fails.
 *
 * Imports: input, keccak_256, evm_storage_read, state_read, storage_write,
 * storage_delete, revert.
 */
#include "braid_wasm.h"

#define PVM_VALUE_CAP 1024

static uint8_t out[32 + PVM_VALUE_CAP];

BRAID_ENTRY(recorder_main) {
    uint32_t len;
    const uint8_t *input = braid_load_input(&len);
    if (len < 61 || len != 61u + input[60]) BRAID_REVERT_STR("bad input");
    const uint8_t *token = input, *holder = input + 20, *pvm_id = input + 40;
    uint32_t key_len = input[60];
    const uint8_t *key = input + 61;

    /* EVM: balances[holder] with the mapping at slot 0. */
    uint8_t preimage[64];
    memset(preimage, 0, sizeof preimage);
    memcpy(preimage + 12, holder, 20);
    uint8_t slot[32];
    braid_keccak_256(preimage, 64, slot);
    braid_evm_storage_read(token, slot, out);

    /* PVM: the module's own key. */
    uint64_t n = braid_state_read(BRAID_ENGINE_PVM, pvm_id, key, key_len, out + 32, PVM_VALUE_CAP);
    uint8_t found = n != BRAID_NONE;
    if (!found) n = 0;
    else if (n > PVM_VALUE_CAP) BRAID_REVERT_STR("pvm value too large");

    if (braid_storage_write("evm", 3, out, 32) != BRAID_OK) BRAID_REVERT_STR("storage full");
    uint64_t r = found ? braid_storage_write("pvm", 3, out + 32, (uint32_t)n)
                       : braid_storage_delete("pvm", 3);
    if (r != BRAID_OK) BRAID_REVERT_STR("storage full");
    if (braid_storage_write("pvm_found", 9, &found, 1) != BRAID_OK) BRAID_REVERT_STR("storage full");

    return braid_return(out, 32 + (uint32_t)n);
}
