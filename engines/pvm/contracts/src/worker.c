/*
 * worker.c — the worker of the orchestrator pattern (CAPS.md T34,
 * rfcs/0010): keeps the YieldRef its caller put in slot 0, writes x = 1,
 * yields the request "call a with 7" (Data in slot 0), and stores what the
 * handler resumed it with (the Data in slot 0) under y.
 *
 * Host calls: storage_write(5), revert(14), yield(16), data_read(22),
 * data_mint(23), slot_move(28).
 */
#include "braid_pvm.h"

static uint8_t answer[64];

BRAID_ENTRY(worker_main) {
    (void)input;
    (void)len;
    if (braid_slot_move(0, 0xF0) != BRAID_OK) braid_revert("no yieldref", 11);
    const uint8_t one = 1;
    if (braid_storage_write("x", 1, &one, 1) != BRAID_OK) braid_revert("storage full", 12);
    static const char request[] = "call a with \x07";
    if (braid_data_mint(request, sizeof request - 1, 0, 0) != BRAID_OK) braid_revert("mint", 4);
    if (braid_yield(0xF0) != BRAID_OK) braid_revert("refused", 7);
    uint64_t size = braid_data_read(0, answer, 0, sizeof answer);
    if (size > sizeof answer) braid_revert("answer too long", 15);
    if (braid_storage_write("y", 1, answer, size) != BRAID_OK) braid_revert("storage full", 12);
    return braid_return(answer, size);
}
