/*
 * gate.c — a cross-engine read: decides on an ERC-20 balance held in EVM
 * state and stores the decision in its own storage.
 *
 * Input (104 bytes):
 *   token address[20] ‖ holder[20] ‖ mapping slot index (32 bytes,
 *   big-endian; 0 for OpenZeppelin-style `_balances` at slot 0) ‖
 *   threshold (32 bytes, big-endian)
 * It computes the Solidity mapping slot keccak256(pad32(holder) ‖ slot)
 * (pad32 = 12 zero bytes then the address) with the keccak_256 host call,
 * reads the 32-byte balance with evm_storage_read, and stores under its own
 * key `holder` (20 bytes) the 33-byte value
 *   balance (32 bytes, big-endian) ‖ decision (1 if balance >= threshold else 0)
 * Output: the same 33 bytes. A wrong input length reverts "bad input".
 *
 * Host calls: evm_storage_read(7), keccak_256(11), storage_write(5), revert(14).
 */
#include "braid_pvm.h"

static uint8_t result[33];

BRAID_ENTRY(gate_main) {
    if (len != 104) braid_revert("bad input", 9);
    const uint8_t *token = input, *holder = input + 20, *slot = input + 40, *threshold = input + 72;

    uint8_t preimage[64];
    memset(preimage, 0, 12);
    memcpy(preimage + 12, holder, 20);
    memcpy(preimage + 32, slot, 32);
    uint8_t key[32];
    braid_keccak_256(preimage, 64, key);

    braid_evm_storage_read(token, key, result);
    result[32] = memcmp(result, threshold, 32) >= 0; /* big-endian: bytewise order = numeric order */
    if (braid_storage_write(holder, 20, result, 33) != BRAID_OK) braid_revert("storage full", 12);
    return braid_return(result, 33);
}
