/*
 * square.c — a service for the orchestrator pattern (CAPS.md T34): input
 * [n, fault]; stores "sq" = n*n (one byte) and halts with it, or traps after
 * the write when fault is non-zero.
 *
 * Host calls: storage_write(5), revert(14).
 */
#include "braid_pvm.h"

static uint8_t square;

BRAID_ENTRY(square_main) {
    if (len != 2) braid_revert("bad input", 9);
    square = (uint8_t)(input[0] * input[0]);
    if (braid_storage_write("sq", 2, &square, 1) != BRAID_OK) braid_revert("storage full", 12);
    if (input[1]) __builtin_trap();
    return braid_return(&square, 1);
}
