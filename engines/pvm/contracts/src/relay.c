/*
 * relay.c — calls another PVM module (host call 13); used to test reentrancy
 * (A calls B calls A) and fault isolation.
 *
 * Input: callee identity[20] ‖ own key byte k ‖ callee input (the rest).
 * It first writes its own storage key [k] (1 byte) = 0x01, then calls the
 * callee with the rest of the input, passing as gas limit what the `gas`
 * host call reports as left, and returns
 *   status byte (0 halt, 1 revert, 2 fault) ‖ callee output
 * (the callee output is truncated to RELAY_MAX_OUT bytes). Input shorter than
 * 21 bytes reverts "bad input". A callee revert or fault does not revert the
 * relay: its own write of [k] stays.
 *
 * Host calls: storage_write(5), gas(0), call(13), revert(14).
 */
#include "braid_pvm.h"

#define RELAY_MAX_OUT 65536
static uint8_t out[1 + RELAY_MAX_OUT];

BRAID_ENTRY(relay_main) {
    if (len < 21) braid_revert("bad input", 9);
    const uint8_t one = 0x01;
    if (braid_storage_write(input + 20, 1, &one, 1) != BRAID_OK) braid_revert("storage full", 12);
    uint64_t total = 0;
    uint64_t status = braid_call(input, input + 21, len - 21, braid_gas(), out + 1, RELAY_MAX_OUT, &total);
    out[0] = (uint8_t)status;
    return braid_return(out, 1 + (total < RELAY_MAX_OUT ? total : RELAY_MAX_OUT));
}
